#!/bin/bash
# A transfer whose supervisor is killed outright (kill -9, a reboot, the OOM
# killer) is recognised as interrupted, and resume continues it: units
# already done are not sent again, a large file cut off mid-way continues
# from the data on the far side, and the result is byte-identical. A worker
# killed on its own is retried within the run.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

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

unset SCOW_SYNC_BWLIMIT
out=$(scow-sync resume "$id") || fail "resume exited $?"
[ "$out" = "$id" ] || fail "resume printed '$out', not the id $id"
wait_for 60 transfer_ended "$id" || fail "the resumed transfer did not end"
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
