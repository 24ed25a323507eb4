#!/bin/bash
# The form rsync and scp users type: scow-sync run SOURCE... [USER@]HOST:DEST,
# each source landing as DEST/basename(SOURCE), a transfer of its own.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

make_sample_tree "$T/src/data"
mkdir -p "$T/src/more"; echo two >"$T/src/more/f"
echo three >"$T/src/single file"
echo colon >"$T/src/a:b"

# Three sources, the flags before, between and after them; a trailing '/'
# changes nothing (the directory lands as itself, as with -s).
scow-sync run -q -k "$SSH_KEY" "$T/src/data" "$T/src/more/" -p "$SSHD_PORT" "$T/src/single file" \
	"$SSH_USER@$SSH_HOST:$T/far" -m 1 2>"$T/run.err" || fail "run: $(cat "$T/run.err")"
tree_equal "$T/src/data" "$T/far/data" || fail "data differs"
tree_equal "$T/src/more" "$T/far/more" || fail "more differs"
cmp "$T/src/single file" "$T/far/single file" || fail "the single file differs"
[ "$(store_sql "SELECT count(*) FROM transfers WHERE state = 'done'")" = 3 ] ||
	fail "not three transfers done: $(store_sql "SELECT id, source, state FROM transfers")"
# Each recorded as -a, -u, -d and -m asked, so resume and history name it so.
[ "$(store_sql "SELECT DISTINCT address, user, port, CAST(destination AS TEXT), max_depth FROM transfers")" = \
  "$SSH_HOST $SSH_USER $SSHD_PORT $T/far 1" ] ||
	fail "recorded: $(store_sql "SELECT address, user, port, destination, max_depth FROM transfers")"

# A local name with a ':' in it, written as rsync wants it; a relative DEST.
(cd "$T/src" && scow-sync run -q -k "$SSH_KEY" -p "$SSHD_PORT" ./a:b \
	"$SSH_HOST:$T/far2") 2>"$T/colon.err" || fail "./a:b: $(cat "$T/colon.err")"
cmp "$T/src/a:b" "$T/far2/a:b" || fail "a:b differs"

# One source missing: the others still go, and the exit says it.
scow-sync run -q -k "$SSH_KEY" -p "$SSHD_PORT" "$T/src/no-such" "$T/src/more" \
	"$SSH_HOST:$T/far3" 2>"$T/missing.err"; rc=$?
[ "$rc" = 2 ] || fail "a missing source: exit $rc, not 2"
grep -q "cannot read source '$T/src/no-such'" "$T/missing.err" ||
	fail "a missing source: $(cat "$T/missing.err")"
tree_equal "$T/src/more" "$T/far3/more" || fail "the source after a missing one was not sent"

# Operands that make no request: a clear line, exit 2, nothing recorded.
before=$(store_sql "SELECT count(*) FROM transfers")
for args in "$T/src/more" "$T/src/more $T/local" "-a $SSH_HOST $T/src/more $SSH_HOST:$T/x" \
	"$SSH_HOST:/a $SSH_HOST:/b" "$T/src/more :/x" "$T/src/more $T/src/x/more/ $SSH_HOST:$T/x" \
	"$T/src/more $SSH_HOST:$T/x -m" "$T/src/more -Q $SSH_HOST:$T/x"; do
	# shellcheck disable=SC2086
	scow-sync run -k "$SSH_KEY" -p "$SSHD_PORT" $args 2>"$T/bad.err"; rc=$?
	[ "$rc" = 2 ] || fail "'$args': exit $rc, not 2"
	[ "$(wc -l <"$T/bad.err")" = 1 ] || fail "'$args': not one line: $(cat "$T/bad.err")"
done
[ "$(store_sql "SELECT count(*) FROM transfers")" = "$before" ] ||
	fail "a refused request was recorded"
[ ! -e "$T/local" ] && [ ! -e "$T/x" ] || fail "a refused request wrote something"
finish
