#!/bin/bash
# Never two writers: identical starts arriving at once (the portal's
# double click) make one transfer; the others report it and exit 0. A
# different destination is another transfer, and once the first has ended
# the same request starts anew.
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
no_processes_left || fail "processes left behind"
finish
