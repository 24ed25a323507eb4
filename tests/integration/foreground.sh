#!/bin/bash
# scow-sync in the foreground: depths 0 to 3, a single file, odd names,
# re-running onto an existing copy.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

src=$T/src/data
make_sample_tree "$src"
for depth in 0 1 2 3; do
	dst=$T/dst$depth
	mkdir -p "$dst"
	scow-sync -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dst" -m "$depth" \
		-p "$SSHD_PORT" -k "$SSH_KEY" -q 2>"$T/err$depth" ||
		fail "run at depth $depth exited $?: $(cat "$T/err$depth")"
	tree_equal "$src" "$dst/data" || fail "depth $depth: destination differs"
done

# The same again onto the complete copy: nothing breaks, still identical.
# It makes one connection: the one started before the transfer was
# recorded carries it (an ssh that notes each master it starts counts).
make_ssh_counter
SCOW_SYNC_SSH=$T/ssh-count scow-sync run -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst2" \
	-m 2 -p "$SSHD_PORT" -k "$SSH_KEY" -q || fail "re-run exited $?"
tree_equal "$src" "$T/dst2/data" || fail "re-run: destination differs"
[ "$(masters_started)" = 1 ] || fail "a run started $(masters_started) connections, want 1"

# Stopped while it waits for a busy store (its connection already coming
# up): it leaves no socket or directory in TMPDIR, and no process.
mkdir "$T/tmp"
lock_store 4 || fail "the store was not locked"
locker=$LOCKER_PID
TMPDIR=$T/tmp scow-sync run -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst-stopped" \
	-p "$SSHD_PORT" -k "$SSH_KEY" -q 2>/dev/null &
runner=$!
sleep 1
kill -TERM "$runner"
wait "$runner"
wait "$locker"
wait_for 5 eval '[ -z "$(find "$T/tmp" -mindepth 1 ! -name "scow-sync-$(id -u)")" ]' ||
	fail "a run stopped while starting left $(find "$T/tmp" -mindepth 1) in TMPDIR"
[ "$(stat -c %a "$T/tmp/scow-sync-$(id -u)")" = 700 ] || fail "the connections' directory is not private"

# One file, into a destination that does not exist yet, with names that a
# shell would execute: if anything ran them, scow-sync-pwned-* files appear
# in the working directory or a home directory.
real_home=$(getent passwd "$SSH_USER" | cut -d: -f6)
odd="$T/src/it's a \$(touch scow-sync-pwned-1) \`touch scow-sync-pwned-2\`; file"
head -c 100000 /dev/urandom > "$odd"
dst="$T/new dir/with 'quotes' and \$HOME; \$(touch scow-sync-pwned-3)"
(cd "$T" && scow-sync -a "$SSH_HOST" -u "$SSH_USER" -s "$odd" -d "$dst" -p "$SSHD_PORT" \
	-k "$SSH_KEY" -q) || fail "single file run exited $?"
cmp -s "$odd" "$dst/$(basename "$odd")" || fail "single file differs"
for d in "$T" "$HOME" "$real_home" /; do
	ls "$d"/scow-sync-pwned-* >/dev/null 2>&1 && fail "a name was executed by a shell (in $d)"
done

# A source given with a trailing slash lands under its name all the same.
scow-sync -a "$SSH_HOST" -u "$SSH_USER" -s "$src/" -d "$T/dst-slash" -m 1 \
	-p "$SSHD_PORT" -k "$SSH_KEY" -q || fail "trailing slash run exited $?"
tree_equal "$src" "$T/dst-slash/data" || fail "trailing slash: destination differs"
no_processes_left || fail "processes left behind"
finish
