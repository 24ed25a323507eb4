#!/bin/bash
# --bwlimit is the whole transfer's, however many rsyncs and pieces run,
# and `scow-sync limit` changes it while they run.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

unset SCOW_SYNC_WORKERS SCOW_SYNC_BWLIMIT SCOW_SYNC_SPLIT_MIB
mkdir -p "$T/src/four"
for i in 1 2 3 4; do head -c $((40 << 20)) /dev/urandom >"$T/src/four/f$i"; done

# Bytes the far side holds under $1 (what arrived, blocks written).
far_bytes() { du -s -B1 "$1" 2>/dev/null | cut -f1; }
# The rate into $1 over $2 seconds, bytes a second.
rate_into() {
	local a b
	a=$(far_bytes "$1")
	sleep "$2"
	b=$(far_bytes "$1")
	echo $(((b - a) / $2))
}
# Is $1 within 10% of $2?
near() { [ "$1" -ge $(($2 * 9 / 10)) ] && [ "$1" -le $(($2 * 11 / 10)) ]; }
# The rsyncs' ssh, each through the transfer's bucket (the shaper's own process).
shaped() { pgrep -fc -- "__shape $T/" || true; }
four_at_once() { [ "$(shaped)" -ge 4 ]; }

id=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -p "$SSHD_PORT" -k "$SSH_KEY" \
	-s "$T/src/four" -d "$T/far" -m 1 --workers 4 --bwlimit 4M) || fail "start exited $?"
wait_for 30 four_at_once || fail "not 4 rsyncs through the bucket at once: $(shaped)"
sleep 1
r=$(rate_into "$T/far" 10)
near "$r" $((4 << 20)) || fail "4 rsyncs under --bwlimit 4M: $r bytes/s over 10 s"

# Changed while they run: at once, for all of them.
out=$(scow-sync limit "$id" 8M) || fail "limit exited $?"
[ "$out" = "transfer $id: 8.00MB/s, from now on" ] || fail "limit said '$out'"
sleep 1
r=$(rate_into "$T/far" 6)
near "$r" $((8 << 20)) || fail "after limit 8M: $r bytes/s over 6 s"
[ "$(store_sql "SELECT opt_bwlimit FROM transfers WHERE id = $id")" = 8192 ] ||
	fail "the new limit is not recorded for resume"
scow-sync-terminate --id "$id" >/dev/null || fail "terminate exited $?"

# Pieces share the bucket with the rsyncs: one 64 MiB file in pieces.
mkdir -p "$T/src/one"
head -c $((64 << 20)) /dev/urandom >"$T/src/one/big"
id=$(SCOW_SYNC_SPLIT_MIB=8 scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -p "$SSHD_PORT" \
	-k "$SSH_KEY" -s "$T/src/one" -d "$T/far-pieces" --workers 4 --bwlimit 2M) ||
	fail "start in pieces exited $?"
pieces() { pgrep -fc -- "__read-piece .*/bw" || true; }
two_pieces() { [ "$(pieces)" -ge 2 ]; }
wait_for 30 two_pieces || fail "not 2 pieces through the bucket at once: $(pieces)"
sleep 1
r=$(rate_into "$T/far-pieces" 6)
near "$r" $((2 << 20)) || fail "pieces under --bwlimit 2M: $r bytes/s over 6 s"
scow-sync limit "$id" 0 >/dev/null || fail "limit 0 exited $?"
wait_for 30 transfer_ended "$id" || fail "no limit: not done in 30 s"
[ "$(transfer_state "$id")" = done ] || fail "in pieces: $(transfer_state "$id")"
cmp "$T/src/one/big" "$T/far-pieces/one/big" || fail "the file in pieces differs"

# An ended transfer: recorded for its next run. Bad input: one line, exit 2 or 3.
out=$(scow-sync limit "$id" 100K) || fail "limit of an ended transfer exited $?"
[ "$out" = "transfer $id: 100.00kB/s from its next run" ] || fail "ended: limit said '$out'"
scow-sync limit 999 1M 2>/dev/null; [ $? = 3 ] || fail "limit of no transfer: not exit 3"
for bad in "1Q" "-1" "M" ""; do
	scow-sync limit "$id" "$bad" 2>"$T/bad.err"; rc=$?
	[ "$rc" = 2 ] && [ "$(wc -l <"$T/bad.err")" = 1 ] || fail "limit '$bad': exit $rc"
done
no_processes_left || fail "processes left"
finish
