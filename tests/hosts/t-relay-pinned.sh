#!/bin/bash
# The hop's ssh on a relaying host goes where the source's ssh goes and
# accepts only the keys the source knows for the host it feeds: neither
# that host's ssh configuration nor its idea of where an address leads can
# send a host's data to another machine, which would then be counted done.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/hosts/lib.sh"
key=(-u "$HOSTS_USER" -k "$HOSTS_KEY")
log=$HOME/scow/.scow-sync/scow-sync.log

src=$T/src/tree
mkdir -p "$src/a"
for i in 1 2 3; do head -c 300000 /dev/urandom >"$src/a/f$i"; done

# A single file, relayed: the hop's list and the pinning for one entry.
on_src scow-sync run -q --relay -a "$(addrs 1 2 3)" "${key[@]}" -s "$src/a/f1" -d pin-one \
	>"$T/o" 2>&1 || fail "one file: $(cat "$T/o")"
for k in 1 2 3; do
	home=HOSTS_HOME_$k
	cmp -s "$src/a/f1" "${!home}/pin-one/f1" || fail "one file: h$k differs"
done
grep -q "the rest is sent from here" "$log" && fail "one file: the relay was turned off: $(grep 'sent from here' "$log")"
: >"$log"

# 1. h1's ssh configuration names h3 for h2's address.
mkdir -p "$HOSTS_HOME_1/.ssh"
printf 'Host %s\n  HostName %s\n' "$HOSTS_ADDR_2" "$HOSTS_ADDR_3" >"$HOSTS_HOME_1/.ssh/config"
chmod 600 "$HOSTS_HOME_1/.ssh/config"
on_src scow-sync run -q --relay -a "$(addrs 1 2)" "${key[@]}" -s "$src" -d pin-config >"$T/o" 2>&1 ||
	fail "config: $(cat "$T/o")"
rm -f "$HOSTS_HOME_1/.ssh/config"
tree_equal "$src" "$HOSTS_HOME_2/pin-config/tree" || fail "config: h2 differs though its transfer ended done"
[ -e "$HOSTS_HOME_3/pin-config" ] && fail "config: h3, not in the request, received h2's data"
# The configuration is not read at all: the hop itself went through.
grep -q "the rest is sent from here" "$log" && fail "config: the relay was turned off: $(grep 'sent from here' "$log")"
: >"$log"

# 2. From h1, h2's address leads to h3: a second sshd of h3's listens on
# it there, with h3's key, and h1 routes the address to h3.
on_host 3 sysctl -qw net.ipv4.conf.all.arp_ignore=1 || fail "arp_ignore on h3"
on_host 3 ip addr add "$HOSTS_ADDR_2/32" dev lo || fail "h2's address on h3"
on_host 3 /usr/sbin/sshd -f "$HOSTS_DIR/h3/sshd_config" -o "ListenAddress=$HOSTS_ADDR_2" \
	-o "PidFile=$T/sshd-h3-as-h2.pid" || fail "the second sshd of h3"
on_host 1 ip route add "$HOSTS_ADDR_2/32" via "$HOSTS_ADDR_3" || fail "route on h1"
undo_redirect() {
	on_host 1 ip route del "$HOSTS_ADDR_2/32" via "$HOSTS_ADDR_3" 2>/dev/null
	[ -s "$T/sshd-h3-as-h2.pid" ] && kill "$(cat "$T/sshd-h3-as-h2.pid")" 2>/dev/null
	on_host 3 ip addr del "$HOSTS_ADDR_2/32" dev lo 2>/dev/null
	on_host 3 sysctl -qw net.ipv4.conf.all.arp_ignore=0
}
# Seen from h1, the address answers with h3's key (the trap works as meant).
on_host 1 ssh-keyscan -t ed25519 "$HOSTS_ADDR_2" >"$T/seen" 2>/dev/null
grep -qF "$(cut -d' ' -f2 "$HOSTS_DIR/h3/host_key.pub")" "$T/seen" ||
	{ undo_redirect; fail "from h1, h2's address does not lead to h3: $(cat "$T/seen")"; }
on_src scow-sync run -q --relay -a "$(addrs 1 2)" "${key[@]}" -s "$src" -d pin-route >"$T/o" 2>&1
rc=$?
undo_redirect
[ $rc = 0 ] || fail "route: exited $rc: $(cat "$T/o")"
tree_equal "$src" "$HOSTS_HOME_2/pin-route/tree" || fail "route: h2 differs though its transfer ended done"
[ -e "$HOSTS_HOME_3/pin-route" ] && fail "route: h3, not in the request, received h2's data"
# The hop's probe met a key it does not take: the rest went from the source.
grep -q "$HOSTS_ADDR_1 cannot reach $HOSTS_ADDR_2 as a relay (exit [0-9]*: Host key verification failed" "$log" ||
	fail "route: the probe did not fail on the host key: $(grep -i 'relay\|fed from' "$log" | head -5)"
grep -q "relay through" "$log" && fail "route: a hop ran: $(grep 'relay through' "$log")"
# Nothing of the hops' is left on h1.
left=$(hop_leftovers)
[ -z "$left" ] || fail "the hop's known hosts are left behind on h1: $left"
finish
