#!/bin/bash
# A file in pieces is put under its name only with exactly the source's
# bytes: partial data an earlier transfer left on the far side, longer than
# the file is now, does not stay at its end; and a file that grew between
# the walk and its pieces is not cut at the size the walk saw.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

export SCOW_SYNC_SPLIT_MIB=4 SCOW_SYNC_WORKERS=3
log=$HOME/scow/.scow-sync/scow-sync.log
src=$T/src/p
mkdir -p "$src/d"
head -c 20000000 /dev/urandom > "$src/d/big"
start() {
	scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$1" -m 2 \
		-p "$SSHD_PORT" -k "$SSH_KEY"
}

# Left by an earlier transfer of a longer version of the file (rsync keeps
# its partial file when cut off; so do pieces).
mkdir -p "$T/dst1/p/d/.scow-sync-partial"
head -c 30000000 /dev/urandom > "$T/dst1/p/d/.scow-sync-partial/big"
id=$(start "$T/dst1") || fail "start exited $?"
wait_for 60 transfer_ended "$id" || fail "the transfer did not end"
[ "$(transfer_state "$id")" = done ] || fail "the transfer is $(transfer_state "$id")"
grep -q "\[$id\] info: 'p/d/big': 20000000 bytes in [0-9]* pieces" "$log" ||
	fail "the big file did not move in pieces"
cmp -s "$src/d/big" "$T/dst1/p/d/big" ||
	fail "over a longer partial file the copy differs: $(stat -c %s "$T/dst1/p/d/big") bytes for 20000000"

# The file grows after the walk, before its pieces start: here a transfer
# that failed before it sent anything (its destination could not be made)
# and is resumed; its unit has the size of the first walk.
: > "$T/blocker"
id=$(start "$T/blocker/dst") || fail "start 2 exited $?"
wait_for 60 transfer_ended "$id" || fail "transfer 2 did not end"
[ "$(transfer_state "$id")" = failed ] || fail "transfer 2 is $(transfer_state "$id")"
head -c 5000000 /dev/urandom >> "$src/d/big"
rm -f "$T/blocker"
scow-sync resume "$id" >/dev/null || fail "resume exited $?"
wait_for 60 transfer_ended "$id" || fail "the resumed transfer did not end"
[ "$(transfer_state "$id")" = done ] || fail "the resumed transfer is $(transfer_state "$id")"
cmp -s "$src/d/big" "$T/blocker/dst/p/d/big" ||
	fail "a file grown since the walk was cut: $(stat -c %s "$T/blocker/dst/p/d/big") bytes for 25000000"
tree_equal "$src" "$T/blocker/dst/p" || fail "the resumed copy differs"
no_processes_left || fail "processes left at the end"
finish
