#!/bin/bash
# A supervisor killed outright (kill -9, the OOM killer): query must stop
# showing its files, and none of its processes (rsync workers, the shared
# ssh connection) may live on, nor its lock on the destination on the far
# side. Terminating it afterwards stops it for good:
# the partial data its workers left on the far side is removed.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

src=$T/src/run
mkdir -p "$src/d"
for i in 1 2 3; do head -c 3145728 /dev/urandom > "$src/d/f$i"; done
head -c 3145728 /dev/urandom > "$src/top"
export SCOW_SYNC_BWLIMIT=128

scow-sync-start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst" -m 2 \
	-p "$SSHD_PORT" -k "$SSH_KEY" || fail "start exited $?"
wait_for 30 query_shows "$src" || fail "the transfer never showed up in query"
# Some data on its way, so that there is partial data to clean up.
wait_for 30 eval 'scow-sync-query | grep -q "\"transferSize\": \"[1-9]"' ||
	fail "no data ever moved"
id=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT max(id) FROM transfers").fetchone()[0])' \
	"$HOME/scow/.scow-sync/scow-sync.db")
sup=$(supervisor_pid "$id")
[ -n "$sup" ] && kill -0 "$sup" || fail "cannot find the supervisor"
pgrep -f -- "ControlMaster=yes" >/dev/null || fail "no shared ssh connection to watch"
kill -9 $sup
# kill returns before the process has finished exiting; query is only
# asked to see a supervisor that is gone.
gone() { local p; for p in $sup; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
wait_for 10 gone || fail "the supervisor outlived kill -9"

[ "$(scow-sync-query)" = "[]" ] || fail "query still shows files of a dead supervisor"
# Its lock on the destination went with it: the far side let go at once.
wait_for 10 eval '! test -e "$T/dst/.scow-sync-partial/.run.lock"' ||
	fail "the far side still holds a killed supervisor's lock"
no_processes_left || fail "processes outlived their supervisor"
[ "$(transfer_state "$id")" = interrupted ] || fail "the transfer is $(transfer_state "$id")"
[ -n "$(partial_files "$T/dst")" ] || fail "the killed workers left no partial data to clean up"
stale=$(transfer_workdir "$id")

scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src"; rc=$?
[ "$rc" = 0 ] || fail "terminate of the interrupted transfer exited $rc"
[ "$(transfer_state "$id")" = terminated ] || fail "after terminate: $(transfer_state "$id")"
[ -z "$(partial_files "$T/dst")" ] || fail "partial files left: $(partial_files "$T/dst")"
[ -n "$stale" ] && [ -e "$stale" ] && fail "the dead supervisor's private directory is still there"
no_processes_left || fail "terminate left processes"
finish
