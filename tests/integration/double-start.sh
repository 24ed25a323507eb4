#!/bin/bash
# Never two writers: identical starts arriving at once (the portal's
# double click) make one transfer; the others report it and exit 0. A
# different destination is another transfer, and once the first has ended
# the same request starts anew. Other spellings of one request are the same
# request: the host by another name (127.0.0.1, localhost), the destination
# relative to the far side's home or absolute; where a start cannot tell
# (the destination spelled otherwise for the first time), the far side's
# lock on the destination refuses the second writer.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

src=$T/src/run
make_sample_tree "$src"
head -c 2097152 /dev/urandom > "$src/slow.bin"
export SCOW_SYNC_BWLIMIT=512
log=$HOME/scow/.scow-sync/scow-sync.log

start() {
	scow-sync-start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$1" -m 2 \
		-p "$SSHD_PORT" -k "$SSH_KEY" 2>>"$T/start.err"
}

pids=()
for i in 1 2 3 4 5; do
	start "$T/dst" & pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || fail "a simultaneous start exited $?"
done
[ "$(grep -c "info: transfer of '$src' .*:'$T/dst' started" "$log")" = 1 ] ||
	fail "simultaneous identical starts made $(grep -c "info: transfer of '" "$log") transfers"
[ "$(grep -c 'already running as transfer' "$T/start.err")" = 4 ] ||
	fail "the other starts did not report the running transfer: $(cat "$T/start.err")"

# Another destination is another request.
start "$T/dst-b" || fail "start to another destination exited $?"
wait_for 120 transfer_finished || fail "transfers did not finish"
tree_equal "$src" "$T/dst/run" || fail "destination differs"
tree_equal "$src" "$T/dst-b/run" || fail "second destination differs"

# Finished: the same request starts a new transfer.
start "$T/dst" || fail "restart exited $?"
wait_for 60 transfer_finished || fail "the restarted transfer did not finish"
[ "$(grep -c "info: transfer of '" "$log")" = 3 ] || fail "expected 3 transfers in all"

home=$(getent passwd "$SSH_USER" | cut -d: -f6)
relative() { python3 -c 'import os, sys; print(os.path.relpath(*sys.argv[1:]))' "$1" "$home"; }
startx() {
	scow-sync start -a "$1" -u "$SSH_USER" -s "$src" -d "$2" -m 2 -p "$SSHD_PORT" \
		-k "$SSH_KEY" 2>>"$T/start-x.err"
}
started() { grep -c "info: transfer of '$src' .*:'$1' started" "$log"; }
locked() { test -e "$1/.scow-sync-partial/.run.lock"; }

# The first spelling relative; then another host name, and the absolute path.
rel=$(relative "$T/dst-c")
a=$(startx 127.0.0.1 "$rel") || fail "start to '$rel' exited $?"
wait_for 30 locked "$T/dst-c" || fail "the far side's lock was never taken"
b=$(startx localhost "$rel"); rc=$?
[ "$rc" = 0 ] && [ "$b" = "$a" ] || fail "-a localhost: rc=$rc id '$b', want 0 and '$a'"
b=$(startx localhost "$T/dst-c"); rc=$?
[ "$rc" = 0 ] && [ "$b" = "$a" ] || fail "the absolute destination: rc=$rc id '$b', want 0 and '$a'"
[ "$(started "$rel")" = 1 ] && [ "$(started "$T/dst-c")" = 0 ] ||
	fail "other spellings started a second writer: $(grep "info: transfer of '" "$log")"

# The first spelling absolute: a relative one is a new request to the start,
# and the far side's lock stops its supervisor before it writes.
a=$(startx 127.0.0.1 "$T/dst-d") || fail "start to dst-d exited $?"
wait_for 30 locked "$T/dst-d" || fail "the far side's lock on dst-d was never taken"
b=$(startx localhost "$(relative "$T/dst-d")"); rc=$?
[ "$rc" = 0 ] || fail "the relative spelling of dst-d exited $rc"
if [ "$b" != "$a" ]; then
	wait_for 30 transfer_ended "$b" || fail "the second writer to dst-d did not stop"
	[ "$(transfer_state "$b")" = failed ] || fail "the second writer to dst-d: $(transfer_state "$b")"
	scow-sync query --json | grep -q "being written by transfer $a on node" ||
		fail "the second writer's failure does not name the first: $(scow-sync query --json)"
fi
wait_for 120 transfer_finished || fail "transfers did not finish"
[ "$(transfer_state "$a")" = done ] || fail "the first writer to dst-d ended $(transfer_state "$a")"
tree_equal "$src" "$T/dst-c/run" || fail "dst-c differs"
tree_equal "$src" "$T/dst-d/run" || fail "dst-d differs"
[ -e "$T/dst-d/.scow-sync-partial" ] && fail "the lock's private directory stayed"

# A destination whose private directory is a link: nothing is written
# through it, and the failure says why.
mkdir -p "$T/dst-e" "$T/elsewhere"
ln -s "$T/elsewhere" "$T/dst-e/.scow-sync-partial"
scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst-e" -m 2 \
	-p "$SSHD_PORT" -k "$SSH_KEY" 2>"$T/e.err" && fail "a transfer went through a linked lock directory"
grep -q "'.scow-sync-partial' in the destination is a symbolic link" "$T/e.err" ||
	fail "the failure does not say why: $(cat "$T/e.err")"
[ -z "$(ls -A "$T/elsewhere")" ] || fail "something was written through the link: $(ls -A "$T/elsewhere")"
no_processes_left || fail "processes left behind"
finish
