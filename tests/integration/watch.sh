#!/bin/bash
# scow-sync watch keeps DEST/NAME in sync with SOURCE until stopped, with
# real inotify: a full first cycle, then create, append, rename, delete,
# mkdir -p deep with a file in the new directory, a burst of 10,000
# creates, a file written for seconds, each
# reaching the far side in a cycle of its own (with --delete, what goes
# from the source goes from the far side); status and query --json show it
# watching with its cycles; terminate --id stops it for good; killed with
# -9 and started again, it continues under its id and catches up.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

log=$HOME/scow/.scow-sync/scow-sync.log
src=$T/src/top
dst=$T/dst
far=$dst/top
mkdir -p "$src/a/b" "$dst"
echo one >"$src/a/b/one"
echo keep >"$src/keep"

start_watch() {   # the watch, detached; its id in $id
	id=$(scow-sync watch -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dst" -p "$SSHD_PORT" \
		-k "$SSH_KEY" --delete --exclude '*.tmp' --detach 2>"$T/err") ||
		fail "watch --detach exited $?: $(cat "$T/err")"
}
field() {   # field NAME: of the watch's query --json record
	scow-sync query --json --id "$id" | python3 -c '
import json, sys
t = json.load(sys.stdin)["transfers"][0]
v = t
for k in sys.argv[1].split("."):
    v = v[k] if v is not None else None
print(v)' "$1"
}
# In sync but for what the rules exclude (*.tmp).
in_sync() { ! tree_equal "$src" "$far" 2>&1 | grep -v "\.tmp'" | grep -q .; }

start_watch
wait_for 30 in_sync || fail "the first cycle did not copy the tree: $(tree_equal "$src" "$far")"
wait_for 10 sh -c "[ \"\$(scow-sync query --json --id $id | python3 -c \
	'import json,sys; print(json.load(sys.stdin)[\"transfers\"][0][\"state\"])')\" = watching ]" ||
	fail "the watch is not shown watching: $(field state)"
[ "$(field watch)" = True ] || fail "query --json watch: $(field watch)"
# Shown watching from the start: the first cycle's record comes at its end.
wait_for 30 sh -c "[ \"\$(scow-sync query --json --id $id | python3 -c \
	'import json,sys; print(json.load(sys.stdin)[\"transfers\"][0][\"cycles\"])')\" -ge 1 ]" ||
	fail "the first cycle did not end"
[ "$(field last_cycle.full_scan)" = True ] || fail "the first cycle was not full"

# Each change arrives, in a cycle that sends only what changed.
cycles=$(field cycles)
echo two >"$src/a/two"
echo more >>"$src/a/b/one"
mv "$src/keep" "$src/kept"
mkdir -p "$src/new/deep/er"
echo inside >"$src/new/deep/er/file"
printf 'odd' >"$src/a/name
with newline"
echo skip >"$src/a/skip.tmp"
wait_for 30 in_sync || fail "the changes did not arrive: $(tree_equal "$src" "$far")"
[ -e "$far/a/skip.tmp" ] && fail "an excluded file was sent"
wait_for 10 sh -c "[ \$(scow-sync query --json --id $id | python3 -c \
	'import json,sys; print(json.load(sys.stdin)[\"transfers\"][0][\"cycles\"])') -gt $cycles ]" ||
	fail "no cycle after the changes"
[ "$(field last_cycle.full_scan)" = False ] || fail "a cycle of changes compared the whole tree"
[ -e "$far/keep" ] && fail "a renamed file stayed under its old name on the far side"

# The same size within the same second (rsync's quick check would see no
# change), and a directory deleted and made again within one cycle (what it
# had over there goes).
printf '00000001' >"$src/counter"
wait_for 30 in_sync || fail "the counter did not arrive"
printf '00000002' >"$src/counter"
touch -d "@$(stat -c %Y "$far/counter")" "$src/counter"
mkdir -p "$src/again"
echo old >"$src/again/old"
wait_for 30 in_sync || fail "the directory to remake did not arrive"
rm -rf "$src/again"
mkdir "$src/again"
echo new >"$src/again/new"
wait_for 30 in_sync || fail "a rewrite of the same size and second, or a directory made again, did not arrive: $(tree_equal "$src" "$far" | head -3)"

# A deletion, and a burst of 10,000 creates in a new directory.
rm -rf "$src/a/b"
mkdir "$src/burst"
(cd "$src/burst" && python3 -c 'for i in range(10000): open("f%d" % i, "w").close()')
wait_for 120 in_sync || fail "the deletion and the burst did not arrive: $(tree_equal "$src" "$far" | head -5)"

# A file written for several seconds (an event every 0.4 s): the cycle
# waits for the writes to settle, and the far side has all of it.
python3 - "$src/growing" <<'PY' &
import os, sys, time
with open(sys.argv[1], "wb") as f:
    for i in range(16):
        f.write(os.urandom(256 * 1024))
        f.flush()
        time.sleep(0.4)
PY
writer=$!
wait "$writer"
wait_for 60 in_sync || fail "a file written during cycles is not whole on the far side: $(tree_equal "$src" "$far" | head -3)"

# status shows it watching, with its cycles rather than the last cycle's units.
wait_for 10 sh -c "scow-sync status --id $id | grep -q 'ago:.*deleted'" ||
	fail "status does not show the cycles: $(scow-sync status --id "$id")"
scow-sync status --id "$id" | grep -q "^ *$id watching  *- " ||
	fail "status between cycles: $(scow-sync status --id "$id")"
scow-sync status --id "$id" | grep -q " 0 B " && fail "status shows 0 B: $(scow-sync status)"
# --state selects by the state shown: watching, not running.
for cmd in "status" "query --json"; do
	scow-sync $cmd --state watching >"$T/out" 2>"$T/err" ||
		fail "$cmd --state watching exited $?: $(cat "$T/err")"
	grep -q "$src\|top ->" "$T/out" || fail "$cmd --state watching: $(cat "$T/out")"
	scow-sync $cmd --state running >"$T/out" 2>"$T/err"
	grep -q "$src\|top ->" "$T/out" && fail "$cmd --state running lists the watch"
done

# Killed with -9, started again: the same id, and it catches up.
pid=$(store_sql "SELECT sup_pid FROM transfers WHERE id = $id")
kill -9 "$pid"
# Until it has gone it is running, and a start finds it so (and starts none).
wait_for 10 sh -c "! kill -0 $pid 2>/dev/null || grep -q '^State:.*Z' /proc/$pid/status" ||
	fail "the watch killed with -9 did not end"
echo while-down >"$src/while-down"
rm -f "$src/kept"
old=$id
start_watch
[ "$id" = "$old" ] || fail "the watch started again as $id, not $old"
wait_for 30 in_sync || fail "the watch started again did not catch up: $(tree_equal "$src" "$far")"

# terminate --id stops it for good.
scow-sync terminate --id "$id" 2>"$T/err" || fail "terminate exited $?: $(cat "$T/err")"
wait_for 20 sh -c "[ \"\$(scow-sync query --json --id $id | python3 -c \
	'import json,sys; print(json.load(sys.stdin)[\"transfers\"][0][\"state\"])')\" = terminated ]" ||
	fail "the watch is not terminated: $(field state)"
pid=$(store_sql "SELECT sup_pid FROM transfers WHERE id = $id")
wait_for 10 sh -c "! kill -0 $pid 2>/dev/null" || fail "the watch's process is still there"
echo after >"$src/after-stop"
sleep 3
[ -e "$far/after-stop" ] && fail "a stopped watch still sends"
# A full comparison every --interval seconds: with a record of what was
# synced, one that finds nothing changed never asks the far side (no run
# of the supervisor), and one that finds a change sends only it.
src2=$T/src2/top
mkdir -p "$src2/x"
echo a >"$src2/x/a"
rid=$(scow-sync watch -a "$SSH_HOST" -u "$SSH_USER" -s "$src2" -d "$T/dst-rescan" \
	-p "$SSHD_PORT" -k "$SSH_KEY" --interval 10 --detach 2>"$T/err") ||
	fail "watch --interval exited $?: $(cat "$T/err")"
wait_for 30 grep -q "\[$rid\] info: cycle 2 (the whole tree) done" "$log" ||
	fail "no second full cycle: $(grep "\[$rid\]" "$log" | tail -3)"
[ "$(grep -c "\[$rid\] info: transfer of" "$log")" = 1 ] ||
	fail "a full comparison that found nothing ran the transfer again"
grep -q "\[$rid\] info: the tree against its record: 2 directories, 2 entries, 0 changed" "$log" ||
	fail "the comparison with the record: $(grep "\[$rid\].*record" "$log" | tail -2)"
scow-sync terminate --id "$rid" 2>/dev/null

# --save keeps a watch's options under a name, for scow-sync-watch@NAME.service;
# --saved runs it in the foreground, and SIGTERM (systemctl stop) ends it
# interrupted, exit 4, which the unit takes as success.
scow-sync watch -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst-saved" -p "$SSHD_PORT" \
	-k "$SSH_KEY" --exclude '*.tmp' --save lab >"$T/out" 2>"$T/err" ||
	fail "watch --save exited $?: $(cat "$T/err")"
grep -q "systemctl --user enable --now scow-sync-watch@lab" "$T/out" ||
	fail "--save does not say how to start it: $(cat "$T/out")"
saved=$HOME/.config/scow-sync/watches/lab
[ "$(stat -c %a "$saved" 2>/dev/null)" = 600 ] || fail "the saved watch is not 0600"
[ -e "$T/dst-saved" ] && fail "--save ran the watch"
scow-sync watch --saved lab -q 2>"$T/err" &
saved_pid=$!
saved_in_sync() { ! tree_equal "$src" "$T/dst-saved/top" 2>&1 | grep -v "\.tmp'" | grep -q .; }
wait_for 60 saved_in_sync || fail "the saved watch did not sync: $(tree_equal "$src" "$T/dst-saved/top" | head -3)"
# Its first cycle over: stopped between cycles.
sid=$(store_sql "SELECT max(id) FROM transfers")
wait_for 10 grep -q "\[$sid\] info: cycle 1 (the whole tree) done" "$log" ||
	fail "the saved watch's cycle did not end"
kill -TERM "$saved_pid"
wait "$saved_pid"
rc=$?
[ "$rc" = 4 ] || fail "the saved watch stopped by SIGTERM exited $rc: $(cat "$T/err")"
# Saved from one directory with a relative source, run from another: the same source.
(cd "$T/src" && scow-sync watch -a "$SSH_HOST" -u "$SSH_USER" -s top -d "$T/dst-rel" \
	-p "$SSHD_PORT" -k "$SSH_KEY" --save rel >/dev/null 2>"$T/err") ||
	fail "--save with a relative source: $(cat "$T/err")"
tr '\0' '\n' <"$HOME/.config/scow-sync/watches/rel" | grep -qx "$T/src/top" ||
	fail "the saved source is not absolute: $(tr '\0' ' ' <"$HOME/.config/scow-sync/watches/rel")"
scow-sync watch -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/x" -p "$SSHD_PORT" \
	-k "$SSH_KEY" --detach --save bad 2>"$T/err"
[ $? = 2 ] || fail "--save with --detach did not exit 2"
scow-sync watch --saved lab --delete 2>"$T/err"
[ $? = 2 ] || fail "--saved with other options did not exit 2"
scow-sync watch --saved ../lab 2>"$T/err"
[ $? = 2 ] && grep -q "invalid watch name" "$T/err" || fail "a bad name: $(cat "$T/err")"
scow-sync watch --saved nosuch 2>"$T/err"
[ $? = 1 ] && grep -q "no saved watch" "$T/err" || fail "a missing watch: $(cat "$T/err")"
grep -q "watching with inotify" "$log" || fail "the log does not say how it watches"
grep -q "cycle 2 (what changed) done" "$log" || fail "the log does not show the cycles"
finish
