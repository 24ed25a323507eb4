#!/bin/bash
# The --workers and --bwlimit a transfer was started with hold after its
# supervisor is killed and the transfer resumed; given to resume, others
# win, and are kept for the next resume.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

src=$T/src/run
mkdir -p "$src"
head -c 4194304 /dev/urandom > "$src/big"
unset SCOW_SYNC_WORKERS SCOW_SYNC_BWLIMIT
log=$HOME/scow/.scow-sync/scow-sync.log

# An rsync of this test runs with --bwlimit=$1.
rsync_limited_to() { pgrep -f -- "^rsync .*--bwlimit=$1 .* -- $src" >/dev/null; }
# Lines of transfer $1's runs that say they run $2 workers.
runs_with() { grep -c "\[$1\] info: .*; $2 workers" "$log"; }
kill_supervisor() {
	kill -9 "$(supervisor_pid "$1")"
	no_processes_left || fail "processes outlived the supervisor"
}

# No setting gives 5 workers by itself: the default is at most 4.
id=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst" -m 1 \
	-p "$SSHD_PORT" -k "$SSH_KEY" --workers 5 --bwlimit 300) || fail "start exited $?"
wait_for 30 rsync_limited_to 300 || fail "the first run's rsync is not limited to 300"
[ "$(runs_with "$id" 5)" = 1 ] || fail "the first run does not say 5 workers"
kill_supervisor "$id"

scow-sync resume "$id" >/dev/null || fail "resume exited $?"
wait_for 30 rsync_limited_to 300 || fail "the resumed rsync is not limited to 300 as started"
wait_for 10 test "$(runs_with "$id" 5)" = 2 || fail "the resumed run does not say 5 workers"
kill_supervisor "$id"

# Given to resume, they win, and stay for the next one.
scow-sync resume --workers 2 --bwlimit 400 "$id" >/dev/null || fail "resume with flags exited $?"
wait_for 30 rsync_limited_to 400 || fail "resume's --bwlimit 400 did not win"
wait_for 10 test "$(runs_with "$id" 2)" = 1 || fail "resume's --workers 2 did not win"
kill_supervisor "$id"
scow-sync resume "$id" >/dev/null || fail "the last resume exited $?"
wait_for 30 rsync_limited_to 400 || fail "the last resume forgot --bwlimit 400"
scow-sync resume --bwlimit x "$id" 2>/dev/null; rc=$?
[ "$rc" = 2 ] || fail "resume with a bad --bwlimit exited $rc, want 2"
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src" || fail "terminate exited $?"
no_processes_left || fail "processes left"
finish
