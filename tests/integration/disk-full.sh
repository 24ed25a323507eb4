#!/bin/bash
# The far side's disk fills up: the transfer fails at once (no retries,
# which cannot help) with a reason that says so, and nothing incomplete
# sits under a final name. Needs root to mount a small tmpfs.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "mounting a small file system needs root"
mkdir -p "$T/small"
mount -t tmpfs -o size=3m tmpfs "$T/small" 2>/dev/null || skip "cannot mount a tmpfs here"
unmount() { umount "$T/small" 2>/dev/null; }
trap 'unmount; cleanup' EXIT

src=$T/src/run
mkdir -p "$src"
for i in 1 2 3 4 5 6; do head -c 1048576 /dev/urandom > "$src/f$i"; done
export SCOW_SYNC_RETRIES=5 SCOW_SYNC_WORKERS=2

id=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/small/dst" -m 1 \
	-p "$SSHD_PORT" -k "$SSH_KEY") || fail "start exited $?"
wait_for 60 transfer_ended "$id" || fail "the transfer did not end"
[ "$(transfer_state "$id")" = failed ] || fail "with a full disk: $(transfer_state "$id")"
log=$HOME/scow/.scow-sync/scow-sync.log
grep -q "retrying in" "$log" && fail "a full disk was retried"
grep -q "no room left; stopping the transfer" "$log" || fail "the transfer did not stop at once"
reason=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT error FROM transfers WHERE id=?", (int(sys.argv[2]),)).fetchone()[0])' \
	"$HOME/scow/.scow-sync/scow-sync.db" "$id")
case $reason in
*"No space left on device"*) ;;
*) fail "the reason does not say the disk is full: $reason" ;;
esac
# Whatever is under a final name is complete.
while IFS= read -r -d '' f; do
	cmp -s "$f" "$src/${f##*/}" || fail "incomplete file under its final name: $f"
done < <(find "$T/small/dst/run" -maxdepth 1 -type f -print0 2>/dev/null)
no_processes_left || fail "processes left"

# Permission denied on the far side is as permanent: failed at once, with
# the cause as the reason. (As root only an immutable directory refuses.)
mkdir -p "$T/locked/dst/run"
if chattr +i "$T/locked/dst/run" 2>/dev/null; then
	unlock() { chattr -i "$T/locked/dst/run" 2>/dev/null; }
	trap 'unlock; unmount; cleanup' EXIT
	cp "$log" "$T/disk-full.log"   # kept for a failure's post-mortem
	: > "$log"
	id=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/locked/dst" -m 1 \
		-p "$SSHD_PORT" -k "$SSH_KEY") || fail "start into a locked directory exited $?"
	wait_for 60 transfer_ended "$id" || fail "the transfer into a locked directory did not end"
	[ "$(transfer_state "$id")" = failed ] || fail "into a locked directory: $(transfer_state "$id")"
	grep -q "retrying in" "$log" && fail "permission denied was retried"
	reason=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT error FROM transfers WHERE id=?", (int(sys.argv[2]),)).fetchone()[0])' \
		"$HOME/scow/.scow-sync/scow-sync.db" "$id")
	case $reason in
	*"Operation not permitted"*|*"Permission denied"*) ;;
	*) fail "the reason does not name the refusal: $reason" ;;
	esac
	unlock
	no_processes_left || fail "processes left after permission denied"
fi
finish
