#!/bin/bash
# A relay with filters: the hops send what the source's own rsync would
# (the rules leave the same entries out), so the uplink still carries the
# payload once, and every host has exactly the filtered tree.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/hosts/lib.sh"
key=(-u "$HOSTS_USER" -k "$HOSTS_KEY")
log=$HOME/scow/.scow-sync/scow-sync.log
src_tx() { on_src cat "/sys/class/net/$HOSTS_SRC_IFACE/statistics/tx_bytes"; }

src=$T/src/tree
mkdir -p "$src/a/cache" "$src/b/keep/cache" "$src/c"
for i in 1 2 3 4; do head -c 1500000 /dev/urandom >"$src/a/f$i"; done
for i in 1 2; do
	head -c 700000 /dev/urandom >"$src/a/s$i.skip"
	head -c 700000 /dev/urandom >"$src/a/cache/x$i"
	head -c 400000 /dev/urandom >"$src/b/keep/g$i"
	head -c 300000 /dev/urandom >"$src/b/keep/cache/y$i"
done
head -c 500000 /dev/urandom >"$src/c/only.skip"
# What the hosts should have: the source as rsync's own rules leave it.
want=$T/want
mkdir -p "$want"
rsync -a --exclude '*.skip' --exclude 'cache/' "$src" "$want/" || fail "rsync of the wanted tree"
payload=$(du -sb --apparent-size "$want/tree" | awk '{print $1}')

b=$(src_tx)
on_src scow-sync run -q --relay --exclude '*.skip' --exclude 'cache/' -a "$(addrs 1 2 3)" \
	"${key[@]}" -s "$src" -d filt >"$T/o" 2>&1 || fail "run: $(cat "$T/o")"
sent=$(( $(src_tx) - b ))
echo "# the source sent $sent bytes for a filtered payload of $payload"
[ "$sent" -le $((payload * 13 / 10)) ] ||
	fail "the relay with a filter sends $sent bytes for $payload: batches went from the source"
grep -q "the rest is sent from here" "$log" && fail "the relay was turned off: $(grep 'sent from here' "$log")"
for k in 1 2 3; do
	home=HOSTS_HOME_$k
	tree_equal "$want/tree" "${!home}/filt/tree" || fail "h$k is not the filtered tree"
done
finish
