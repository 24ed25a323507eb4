#!/bin/bash
# The portal's start/query cycle: start returns at once without holding
# stdio, query is valid JSON with six well-formed strings at every poll, and
# the tree arrives identical (nested dirs, empty dir, symlinks, odd names).
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

src=$T/src/run1
make_sample_tree "$src"
dst=$T/dst
mkdir -p "$dst"
# Slow enough to be seen in flight: 2 MiB at 256 KiB/s per worker.
head -c 2097152 /dev/urandom > "$src/slow.bin"
export SCOW_SYNC_BWLIMIT=256

# stdout is a pipe that only closes when every holder closes it: if the
# detached supervisor kept it, this command substitution would wait for it.
out=$(scow-sync-start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dst" -m 2 \
	-p "$SSHD_PORT" -k "$SSH_KEY" 2>"$T/start.err")
rc=$?
[ "$rc" = 0 ] || fail "scow-sync-start exited $rc: $(cat "$T/start.err")"
[ -z "$out" ] || fail "scow-sync-start printed '$out' on stdout"

# Poll like the portal until nothing moves; every answer must be valid.
saw_rows=0
for i in $(seq 1 300); do
	q=$(scow-sync-query) || fail "scow-sync-query exited $?"
	check_legacy_json "$q" "$SSH_HOST" "$src" || fail "bad query output: $q"
	[ "$q" = "[]" ] || saw_rows=$((saw_rows + 1))
	if [ "$q" = "[]" ] && [ "$saw_rows" -gt 0 ] && transfer_finished; then
		break
	fi
	sleep 0.2
done
[ "$saw_rows" -gt 0 ] || fail "query never showed a file being moved"
[ "$(scow-sync-query)" = "[]" ] || fail "query not empty after the transfer"
wait_for 30 transfer_finished || fail "transfer did not finish"
tree_equal "$src" "$dst/run1" || fail "destination differs from source"
grep -q 'transfer done' "$HOME/scow/.scow-sync/scow-sync.log" ||
	fail "the log does not record the end of the transfer"
# State is private.
[ "$(stat -c %a "$HOME/scow/.scow-sync")" = 700 ] || fail "state dir not 0700"
[ "$(stat -c %a "$HOME/scow/.scow-sync/scow-sync.db")" = 600 ] || fail "database not 0600"
no_processes_left || fail "processes of the transfer are still running"
finish
