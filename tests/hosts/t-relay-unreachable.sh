#!/bin/bash
# The relay is the default from 3 hosts, but hosts that cannot reach each
# other (a firewall that drops their traffic) must cost one try, asked
# before anything waits for the feeding host: then every host is sent
# everything from the source, and the transfer ends done.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/hosts/lib.sh"
key=(-u "$HOSTS_USER" -k "$HOSTS_KEY")
log=$HOME/scow/.scow-sync/scow-sync.log

src=$T/src/tree
mkdir -p "$src/a" "$src/empty"
for i in 1 2 3 4; do head -c 500000 /dev/urandom >"$src/a/f$i"; done

# h1 (the first host, which would feed h2 and h3) drops what it sends them.
for k in 2 3; do
	addr=HOSTS_ADDR_$k
	on_host 1 ip route add blackhole "${!addr}/32" || fail "blackhole route to h$k on h1"
done
unblock() {
	local k addr
	for k in 2 3; do
		addr=HOSTS_ADDR_$k
		on_host 1 ip route del blackhole "${!addr}/32" 2>/dev/null
	done
}
on_src scow-sync run -q -a "$(addrs 1 2 3)" "${key[@]}" -s "$src" -d unreach >"$T/o" 2>&1
rc=$?
unblock
[ $rc = 0 ] || fail "run exited $rc: $(cat "$T/o")"
for k in 1 2 3; do
	home=HOSTS_HOME_$k
	tree_equal "$src" "${!home}/unreach/tree" || fail "h$k differs"
done
# Each fed host found it out by the probe, and was sent everything from here.
n=$(grep -c "cannot reach .* as a relay" "$log")
[ "$n" = 2 ] || fail "$n hosts, not 2, said the feeding host cannot reach them: $(grep -i 'relay\|fed from' "$log")"
grep "cannot reach" "$log" | sed 's/^/# /'
# No hop ran: nothing was sent from h1.
grep -q "relay through" "$log" && fail "a hop ran though its probe failed: $(grep 'relay through' "$log")"
left=$(hop_leftovers)
[ -z "$left" ] || fail "the hop's known hosts are left behind on h1: $left"
finish
