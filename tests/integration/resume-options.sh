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

# Runs of transfer $1 that said they go at most $2 KiB/s in all (and the rate file has it).
runs_limited_to() { grep -c "\[$1\] info: at most $2.00kB/s for the whole transfer" "$log"; }
# Lines of transfer $1's runs that say they run $2 workers.
runs_with() { grep -c "\[$1\] info: .*; $2 workers" "$log"; }
# Transfer $1's runs: $2 limited to $3 KiB/s, $4 with $5 workers (once said).
runs_are() { [ "$(runs_limited_to "$1" "$3")" = "$2" ] && [ "$(runs_with "$1" "$5")" = "$4" ]; }
kill_supervisor() {
	kill -9 "$(supervisor_pid "$1")"
	no_processes_left || fail "processes outlived the supervisor"
}

# Its rsyncs go through the transfer's rate (sup-rate.c).
shaped_rsync() { pgrep -f -- "__shape $T/" >/dev/null; }

# No setting gives 5 workers by itself: the default is at most 4.
id=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst" -m 1 \
	-p "$SSHD_PORT" -k "$SSH_KEY" --workers 5 --bwlimit 300) || fail "start exited $?"
wait_for 30 runs_are "$id" 1 300 1 5 || fail "the first run: not 5 workers, 300 KiB/s in all"
wait_for 30 shaped_rsync || fail "the first run's rsync does not take the transfer's rate"
kill_supervisor "$id"

scow-sync resume "$id" >/dev/null || fail "resume exited $?"
wait_for 30 runs_are "$id" 2 300 2 5 || fail "the resumed run: not 5 workers, 300 KiB/s as started"
kill_supervisor "$id"

# Given to resume, they win, and stay for the next one.
scow-sync resume --workers 2 --bwlimit 400 "$id" >/dev/null || fail "resume with flags exited $?"
wait_for 30 runs_are "$id" 1 400 1 2 || fail "resume's --workers 2 and --bwlimit 400 did not win"
kill_supervisor "$id"
scow-sync resume "$id" >/dev/null || fail "the last resume exited $?"
wait_for 30 runs_are "$id" 2 400 2 2 || fail "the last resume forgot --workers 2 or --bwlimit 400"
scow-sync resume --bwlimit x "$id" 2>/dev/null; rc=$?
[ "$rc" = 2 ] || fail "resume with a bad --bwlimit exited $rc, want 2"
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src" || fail "terminate exited $?"
no_processes_left || fail "processes left"
finish
