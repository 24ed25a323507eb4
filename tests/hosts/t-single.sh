#!/bin/bash
# Today's scow-sync, one host per transfer, from the source's namespace: a
# tree with odd names (spaces, a newline, unicode), an empty directory and
# a symlink lands byte for byte in h1's private home, then in h2's, with
# `scow-sync run`; then in h3's with scow-sync-start, polled with
# scow-sync-query to its end, as the portal does. Nothing of a transfer
# is left running on any node.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/hosts/lib.sh"

src=$T/src/tree
mkdir -p "$src/with space/deeper" "$src/empty"
echo one >"$src/one"
printf 'nl\n' >"$src/with space/new
line"
echo unicode >"$src/with space/deeper/ünï cödé ✓"
head -c 1048576 /dev/urandom >"$src/random.bin"
: >"$src/zero"
ln -s one "$src/link-to-one"

for k in 1 2; do
	addr=HOSTS_ADDR_$k home=HOSTS_HOME_$k
	on_src scow-sync run -q -a "${!addr}" -u "$HOSTS_USER" -k "$HOSTS_KEY" -s "$src" -d dst \
		>"$T/run$k.out" 2>&1 || fail "run to h$k exited $?: $(cat "$T/run$k.out")"
	tree_equal "$src" "${!home}/dst/tree" || fail "the tree on h$k differs"
done
[ ! -e "$HOSTS_HOME_3/dst" ] || fail "a transfer to h1 or h2 wrote in h3's home"

# The portal's way: start, then poll until nothing moves.
on_src scow-sync-start -a "$HOSTS_ADDR_3" -u "$HOSTS_USER" -k "$HOSTS_KEY" -s "$src" -d dst \
	>"$T/start.out" 2>&1 || fail "scow-sync-start to h3 exited $?: $(cat "$T/start.out")"
ended() {
	on_src scow-sync query --json --all | python3 -c '
import json, sys
t = json.load(sys.stdin)["transfers"]
sys.exit(0 if t and t[0]["state"] not in ("queued", "running") else 1)'
}
polls=0
until ended; do
	polls=$((polls + 1))
	[ "$polls" -le 300 ] || { fail "the transfer to h3 did not end in 30 s"; break; }
	on_src scow-sync-query >"$T/query.out" || fail "scow-sync-query exited $?"
	python3 -c 'import json, sys; assert isinstance(json.load(sys.stdin), list)' \
		<"$T/query.out" ||
		fail "scow-sync-query printed no JSON array: $(cat "$T/query.out")"
	sleep 0.1
done
state=$(on_src scow-sync query --json --all | python3 -c '
import json, sys
print(json.load(sys.stdin)["transfers"][0]["state"])')
[ "$state" = done ] || fail "the transfer to h3 ended $state"
[ "$(on_src scow-sync-query)" = "[]" ] || fail "scow-sync-query shows a transfer after the end"
tree_equal "$src" "$HOSTS_HOME_3/dst/tree" || fail "the tree on h3 differs"

no_processes_left || fail "processes of the transfers are left on the nodes"
finish
