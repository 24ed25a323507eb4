#!/bin/bash
# A fed host takes from its feeding host only what that host received from
# the source, whole, in this run. What the feeding host kept (rsync's quick
# check found it the same), received in an earlier run, or holds in a part
# stopped there, goes from the source: the hosts it feeds never get bytes
# that are not the source's.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/hosts/lib.sh"
key=(-u "$HOSTS_USER" -k "$HOSTS_KEY")
log=$HOME/scow/.scow-sync/scow-sync.log

# 1. h1 holds a/f2 already: same size and time as the source's, other bytes.
src=$T/src/tree
mkdir -p "$src/a"
for i in 1 2 3 4; do head -c 200000 /dev/urandom >"$src/a/f$i"; done
mkdir -p "$HOSTS_HOME_1/stale/tree/a"
head -c 200000 /dev/urandom >"$HOSTS_HOME_1/stale/tree/a/f2"
touch -r "$src/a/f2" "$HOSTS_HOME_1/stale/tree/a/f2"
on_src scow-sync run -q -a "$(addrs 1 2 3)" "${key[@]}" -s "$src" -d stale >"$T/o" 2>&1 ||
	fail "1: run: $(cat "$T/o")"
for k in 2 3; do
	home=HOSTS_HOME_$k
	tree_equal "$src" "${!home}/stale/tree" || fail "1: h$k got h1's a/f2, not the source's"
done
grep -q "'tree/a/f2' from here: $HOSTS_ADDR_1 did not receive it whole" "$log" ||
	fail "1: no batch said why it went from here: $(grep -i 'from here' "$log" | head -3)"
# The rest still came from h1.
grep -q "the rest is sent from here" "$log" && fail "1: the relay was turned off"
: >"$log"

# 2. A part stopped on h1 only, inside a tree unit, where h1 holds an old copy.
src=$T/src/data
mkdir -p "$src/a" "$src/b"
for i in 1 2 3 4 5 6; do head -c 3000000 /dev/urandom >"$src/a/f$i"; done
head -c 1000 /dev/urandom >"$src/b/g"
mkdir -p "$HOSTS_HOME_1/part/data/a"
head -c 1234 /dev/urandom >"$HOSTS_HOME_1/part/data/a/f6"
net shape src 40mbit
on_src scow-sync start -m 1 -a "$(addrs 1 2 3)" "${key[@]}" -s "$src" -d part >"$T/s" 2>&1 ||
	fail "2: start: $(cat "$T/s")"
id=$(cat "$T/s")
sleep 0.7
on_src scow-sync terminate -a "$HOSTS_ADDR_1" -u "$HOSTS_USER" -s "$src/a/f6" >"$T/t" 2>&1 ||
	fail "2: terminate of a part on h1: $(cat "$T/t")"
ended() {
	on_src scow-sync query --json --id "$id" | python3 -c '
import json, sys
sys.exit(0 if json.load(sys.stdin)["transfers"][0]["state"] != "running" else 1)'
}
wait_for 200 ended || fail "2: did not end"
net shape src none
for k in 2 3; do
	home=HOSTS_HOME_$k
	tree_equal "$src" "${!home}/part/data" || fail "2: h$k (nothing stopped there) differs"
done
: >"$log"

# 3. Asked again after h2 and h3 failed (h1 done), the source's a/f1
# changed in between: a re-ask continues, so h1 keeps what it had (as one
# host's transfer keeps its units done before); h2 and h3, which never
# had a/f1, get the source's, not h1's from the earlier run.
src=$T/src/again
mkdir -p "$src/a"
for i in 1 2 3; do head -c 100000 /dev/urandom >"$src/a/f$i"; done
echo blocker >"$HOSTS_HOME_2/again"
echo blocker >"$HOSTS_HOME_3/again"
on_src scow-sync run -q -a "$(addrs 1 2 3)" "${key[@]}" -s "$src" -d again >"$T/o1" 2>&1 &&
	fail "3: the first run ended done though h2 and h3 are blocked"
rm -f "$HOSTS_HOME_2/again" "$HOSTS_HOME_3/again"
head -c 150000 /dev/urandom >"$src/a/f1"
on_src scow-sync run -q -a "$(addrs 1 2 3)" "${key[@]}" -s "$src" -d again >"$T/o2" 2>&1 ||
	fail "3: asked again: $(cat "$T/o2")"
for k in 2 3; do
	home=HOSTS_HOME_$k
	tree_equal "$src" "${!home}/again/again" || fail "3: h$k differs from the changed source"
done
finish
