#!/bin/bash
# A watch holds from one cycle to the next what each would pay for again:
# one connection (one handshake for all its cycles), the far side's lock
# (another writer of the destination is kept out between cycles too), and
# the link's measure (judged once). A cycle of one changed file sends that
# file alone, in one rsync, and touches nothing else over there; a cycle
# of a directory's mode alone makes no directory but gives it. When the
# far side drops the connection between cycles (its sshd restarted, every
# session with it), the next change connects again and arrives. At the
# watch's end the lock is let go: the other writer gets in.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

make_ssh_counter
export SCOW_SYNC_SSH=$T/ssh-count
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
change_arrives() {   # change_arrives WHAT
	local before=$1
	wait_for 30 in_sync || fail "$2 did not arrive: $(tree_equal "$src" "$far" | head -3)"
	wait_for 10 sh -c "[ \$(grep -c '\[$id\] info: cycle [0-9]* (.*) done' '$log') -gt $before ]" ||
		fail "no cycle ended after $2: $(grep "\[$id\]" "$log" | tail -3)"
}
# A second writer of the same destination, from a store of its own (another node).
other_writer() {
	SCOW_SYNC_HOME=$T/state2 SCOW_SYNC_SSH=ssh scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$src" \
		-d "$dst" -p "$SSHD_PORT" -k "$SSH_KEY" 2>"$T/other.err"
}

id=$(scow-sync watch -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dst" -p "$SSHD_PORT" \
	-k "$SSH_KEY" --detach 2>"$T/err") || fail "watch --detach exited $?: $(cat "$T/err")"
wait_for 30 grep -q "\[$id\] info: cycle 1 (the whole tree) done" "$log" ||
	fail "the first cycle did not end: $(grep "\[$id\]" "$log" | tail -3)"
in_sync || fail "the first cycle did not copy the tree: $(tree_equal "$src" "$far")"
inode=$(stat -c %i "$far/c/other")

# One changed file: that file alone, one rsync, over the first cycle's connection.
n=$(cycles_done)
echo more >>"$src/a/b/f3"
change_arrives "$n" "one changed file"
[ "$(field last_cycle.files)" = 1 ] || fail "a cycle of one changed file sent $(field last_cycle.files) files"
[ "$(stat -c %i "$far/c/other")" = "$inode" ] || fail "a cycle of one changed file rewrote another"
[ "$(masters_started)" = 1 ] || fail "$(masters_started) connections for two cycles"
[ "$(grep -c "\[$id\] info: the far side answered in .* over sftp" "$log")" = 1 ] ||
	fail "the link was judged again: $(grep "\[$id\] info: the far side answered" "$log")"
# A directory's mode alone: no directory is made, but it gets its mode.
n=$(cycles_done)
chmod 700 "$src/c"
change_arrives "$n" "a directory's new mode"

# Between cycles the lock stays the watch's: another writer is kept out.
other_writer && fail "another writer got in between the watch's cycles"
grep -q "being written by transfer $id " "$T/state2/scow-sync.log" ||
	fail "the other writer was not told who writes: $(tail -3 "$T/state2/scow-sync.log")"

# The far side restarts sshd, and every connection with it ends (a reboot).
sshd_pid=$(cat "$T/sshd.pid")
kill -9 $(far_procs .) 2>/dev/null
wait_for 10 sh -c "! kill -0 $sshd_pid 2>/dev/null" || fail "sshd did not end"
rm -f "$T/sshd.pid"
"$SSHD" -f "$T/sshd_config" -E "$T/sshd.log" || fail "sshd did not start again"
wait_for 10 test -s "$T/sshd.pid" || fail "sshd did not come back"
n=$(cycles_done)
echo after-restart >"$src/a/new"
change_arrives "$n" "a change after the far side's restart"
grep -q "\[$id\] info: the connection to '$SSH_HOST' kept from the last cycle has ended" "$log" ||
	fail "the log does not say the kept connection ended"
[ "$(masters_started)" = 2 ] || fail "$(masters_started) connections after one restart"
[ "$(transfer_state "$id")" = running ] || fail "the watch is $(transfer_state "$id")"

# terminate --id: the watch ends and lets the lock go; the other writer gets in.
scow-sync terminate --id "$id" 2>"$T/err" || fail "terminate exited $?: $(cat "$T/err")"
[ "$(transfer_state "$id")" = terminated ] || fail "the watch is $(transfer_state "$id")"
[ -e "$dst/.scow-sync-partial/.top.lock" ] && fail "the far side's lock file is left"
other_writer || fail "the other writer did not get in after the watch: $(cat "$T/other.err")"
no_processes_left || fail "processes left running"
finish
