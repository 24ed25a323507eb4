#!/bin/bash
# A cycle of one changed file sends that file alone, and touches nothing
# else over there.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

log=$HOME/scow/.scow-sync/scow-sync.log
src=$T/src/top
dst=$T/dst
far=$dst/top
mkdir -p "$src/a/b" "$src/c" "$dst"
for i in 1 2 3 4 5; do echo "file $i" >"$src/a/b/f$i"; done
echo other >"$src/c/other"

field() {   # field NAME: of the watch's query --json record
	scow-sync query --json --id "$id" | python3 -c '
import json, sys
v = json.load(sys.stdin)["transfers"][0]
for k in sys.argv[1].split("."):
    v = v[k] if v is not None else None
print(v)' "$1"
}
cycles_done() { grep -c "\[$id\] info: cycle [0-9]* (.*) done" "$log"; }
in_sync() { tree_equal "$src" "$far" >/dev/null; }
# The change arrives, and its cycle's end is recorded.
change_arrives() {   # change_arrives CYCLES-BEFORE WHAT
	local before=$1
	wait_for 30 in_sync || fail "$2 did not arrive: $(tree_equal "$src" "$far" | head -3)"
	wait_for 10 sh -c "[ \$(grep -c '\[$id\] info: cycle [0-9]* (.*) done' '$log') -gt $before ]" ||
		fail "no cycle ended after $2: $(grep "\[$id\]" "$log" | tail -3)"
}

id=$(scow-sync watch -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dst" -p "$SSHD_PORT" \
	-k "$SSH_KEY" --detach 2>"$T/err") || fail "watch --detach exited $?: $(cat "$T/err")"
wait_for 30 grep -q "\[$id\] info: cycle 1 (the whole tree) done" "$log" ||
	fail "the first cycle did not end: $(grep "\[$id\]" "$log" | tail -3)"
in_sync || fail "the first cycle did not copy the tree: $(tree_equal "$src" "$far")"
inode=$(stat -c %i "$far/c/other")

# One changed file: that file alone.
n=$(cycles_done)
echo more >>"$src/a/b/f3"
change_arrives "$n" "one changed file"
[ "$(field last_cycle.files)" = 1 ] || fail "a cycle of one changed file sent $(field last_cycle.files) files"
[ "$(stat -c %i "$far/c/other")" = "$inode" ] || fail "a cycle of one changed file rewrote another"

scow-sync terminate --id "$id" 2>"$T/err" || fail "terminate exited $?: $(cat "$T/err")"
no_processes_left || fail "processes left running"
finish
