#!/bin/bash
# A transfer whose supervisor is killed outright (kill -9, a reboot, the OOM
# killer) is recognised as interrupted, and resume continues it: units
# already done are not sent again, a large file cut off mid-way continues
# from the data on the far side, and the result is byte-identical. A worker
# killed on its own is retried within the run. What was sent (files_done,
# bytes_done) counts every run, never goes back, and ends as the tree.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

# "files_done bytes_done state" of transfer $1, as query --json shows them.
counters() {
	scow-sync query --json --id "$1" | python3 -c '
import json, sys
t = json.load(sys.stdin)["transfers"][0]
print(t["files_done"], t["bytes_done"], t["state"])'
}
# Poll the counters of transfer $1 until it ends; fail if they fall below $2 $3.
counters_never_below() {
	local id=$1 files=$2 bytes=$3 f b state i
	for i in $(seq 1 300); do
		read -r f b state < <(counters "$id")
		[ "${f:-0}" -ge "$files" ] && [ "${b:-0}" -ge "$bytes" ] ||
			{ fail "transfer $id went back to $f files, $b bytes from $files, $bytes"; return; }
		[ "$state" = running ] || [ "$state" = queued ] || return 0
		sleep 0.1
	done
}

src=$T/src/run
mkdir -p "$src/d"
for i in 1 2 3; do head -c 200000 /dev/urandom > "$src/d/f$i"; done
head -c 6291456 /dev/urandom > "$src/big"
export SCOW_SYNC_BWLIMIT=1024 SCOW_SYNC_WORKERS=2
db=$HOME/scow/.scow-sync/scow-sync.db

id=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst" -m 2 \
	-p "$SSHD_PORT" -k "$SSH_KEY") || fail "start exited $?"

# Kill the supervisor once the small files are done and a good part of the
# big file has arrived.
small_done() {
	[ "$(grep -c "done 'run/d/.*': " "$HOME/scow/.scow-sync/scow-sync.log" 2>/dev/null)" -ge 3 ]
}
big_partial_over() {
	scow-sync-query | grep -q '"filePath": "'"$src"'/big".*"progress": "\(3[5-9]\|[4-7][0-9]\)%"'
}
wait_for 30 small_done || fail "the small files were not sent"
wait_for 30 big_partial_over || fail "the big file never got under way"
sup=$(supervisor_pid "$id")
[ -n "$sup" ] && kill -0 "$sup" || fail "cannot find the supervisor"
kill -9 $sup
no_processes_left || fail "processes outlived their supervisor"

[ "$(scow-sync-query 2>"$T/query.err")" = "[]" ] || fail "query shows files of a dead supervisor"
grep -q "transfer $id was interrupted" "$T/query.err" || fail "query did not say: $(cat "$T/query.err")"
[ "$(transfer_state "$id")" = interrupted ] ||
	fail "a dead supervisor's transfer is $(transfer_state "$id"), not interrupted"
part=$(stat -c %s "$T/dst/run/.scow-sync-partial/big" 2>/dev/null || echo 0)
[ "$part" -gt 1000000 ] || fail "no partial data of the big file on the far side ($part bytes)"
[ -e "$T/dst/run/big" ] && fail "the big file is under its final name before it is complete"

# A stale private directory of the dead supervisor is cleared by resume.
stale=$(transfer_workdir "$id")
[ -n "$stale" ] && [ -d "$stale" ] || fail "no private directory left to clear ('$stale')"

read -r files1 bytes1 _ < <(counters "$id")
[ "$files1" -ge 3 ] && [ "$bytes1" -ge 600000 ] ||
	fail "the small files sent are not counted: $files1 files, $bytes1 bytes"
unset SCOW_SYNC_BWLIMIT
out=$(scow-sync resume "$id") || fail "resume exited $?"
[ "$out" = "$id" ] || fail "resume printed '$out', not the id $id"
counters_never_below "$id" "$files1" "$bytes1"
wait_for 60 transfer_ended "$id" || fail "the resumed transfer did not end"
[ "$(counters "$id")" = "4 6891456 done" ] ||
	fail "the resumed transfer counts $(counters "$id"), not its 4 files, 6891456 bytes"
[ "$(transfer_state "$id")" = done ] || fail "resumed transfer ended $(transfer_state "$id")"
tree_equal "$src" "$T/dst/run" || fail "the resumed copy differs from the source"
[ -z "$(partial_files "$T/dst")" ] || fail "partial files left: $(partial_files "$T/dst")"
[ -n "$stale" ] && [ -e "$stale" ] && fail "the stale private directory $stale is still there"
[ -z "$(transfer_workdir "$id")" ] || fail "a private directory is still recorded"

# Nothing done before is sent again; the big file only sends what was missing.
log=$HOME/scow/.scow-sync/scow-sync.log
for f in d/f1 d/f2 d/f3; do
	n=$(grep -c "done 'run/$f': " "$log")
	[ "$n" = 1 ] || fail "run/$f was sent $n times"
done
sent=$(sed -n "s/.*done 'run\/big': 1 files, [0-9]* bytes, \([0-9]*\) bytes sent.*/\1/p" "$log")
[ -n "$sent" ] || fail "no record of the big file's resumed run"
[ "${sent:-0}" -lt $((6291456 - part / 2)) ] ||
	fail "the big file sent $sent bytes again although $part were on the far side"

# Resuming what is done says so; an unknown id too.
scow-sync resume "$id" 2>"$T/err"; rc=$?
[ "$rc" = 3 ] || fail "resume of a done transfer exited $rc, not 3"
grep -q "already done" "$T/err" || fail "resume of a done transfer said: $(cat "$T/err")"
scow-sync resume 99999 2>/dev/null; rc=$?
[ "$rc" = 3 ] || fail "resume of an unknown transfer exited $rc, not 3"

# Stopped in the middle of a part: the files it sent are not sent again by
# the resumed run, but still counted, once.
src3=$T/src/third
mkdir -p "$src3/a" "$src3/b"
for i in $(seq 1 12); do
	head -c 50000 /dev/urandom > "$src3/a/f$i"
	head -c 50000 /dev/urandom > "$src3/b/g$i"
done
export SCOW_SYNC_BWLIMIT=200 SCOW_SYNC_WORKERS=1
id3=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src3" -d "$T/dst" -m 1 \
	-p "$SSHD_PORT" -k "$SSH_KEY") || fail "third start exited $?"
some_sent() { [ "$(counters "$id3" | cut -d' ' -f1)" -ge 2 ]; }
wait_for 30 some_sent || fail "the third transfer sent nothing"
kill -TERM "$(supervisor_pid "$id3")"
wait_for 30 transfer_ended "$id3" || fail "the third transfer did not stop"
read -r files3 bytes3 state3 < <(counters "$id3")
[ "$state3" != done ] && [ "$files3" -ge 2 ] && [ "$files3" -lt 24 ] ||
	fail "the third transfer was not stopped part-way: $files3 files, $state3"
unset SCOW_SYNC_BWLIMIT
scow-sync resume "$id3" >/dev/null || fail "resume of the third exited $?"
counters_never_below "$id3" "$files3" "$bytes3"
wait_for 60 transfer_ended "$id3" || fail "the third transfer did not end"
# The tree, exactly: a file whose last bytes the stop caught between the two
# sides was sent twice, but counts once.
read -r files3 bytes3 state3 < <(counters "$id3")
[ "$state3" = done ] && [ "$files3" = 24 ] && [ "$bytes3" = 1200000 ] ||
	fail "the third transfer counts $files3 files, $bytes3 bytes ($state3), not its 24, 1200000"
# With nothing left to send (stopped after its last part), a resume changes nothing.
python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=15)
db.execute("UPDATE transfers SET state = '"'interrupted'"' WHERE id = ?", (int(sys.argv[2]),))
db.commit()' "$db" "$id3"
scow-sync resume "$id3" >/dev/null || fail "resume with nothing left exited $?"
wait_for 30 transfer_ended "$id3" || fail "the resume with nothing left did not end"
[ "$(counters "$id3")" = "$files3 $bytes3 done" ] ||
	fail "with nothing left, the third transfer counts $(counters "$id3"), not $files3 $bytes3"
unset SCOW_SYNC_WORKERS
export SCOW_SYNC_WORKERS=2

# A worker killed on its own: the unit is retried and the transfer completes.
src2=$T/src/second
mkdir -p "$src2"
head -c 3145728 /dev/urandom > "$src2/one"
export SCOW_SYNC_BWLIMIT=512
id2=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src2" -d "$T/dst" -m 1 \
	-p "$SSHD_PORT" -k "$SSH_KEY") || fail "second start exited $?"
wait_for 30 query_shows "$src2" || fail "the second transfer never showed up"
sleep 1
worker=$(pgrep -f -- "^rsync .* -- $T/src/")
[ -n "$worker" ] || fail "cannot find the worker"
kill -9 $worker
wait_for 60 transfer_ended "$id2" || fail "the second transfer did not end"
[ "$(transfer_state "$id2")" = done ] || fail "after a killed worker: $(transfer_state "$id2")"
grep -q "retrying in" "$log" || fail "the killed worker's unit was not retried"
tree_equal "$src2" "$T/dst/second" || fail "the second copy differs from the source"
[ -z "$(partial_files "$T/dst")" ] || fail "partial files left: $(partial_files "$T/dst")"
no_processes_left || fail "processes left after the second transfer"
finish
