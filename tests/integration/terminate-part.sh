#!/bin/bash
# scow-sync-terminate -s PATH with PATH inside a running transfer's source
# stops just that part, at any depth: a file moved by its own worker (depth
# 2), a directory inside a tree that a worker is moving whole (depth 3),
# and a directory above the cut that holds units (depth 1). The part's
# partial data is removed on the far side, and the rest of the transfer goes
# on to completion, byte-identical.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

src=$T/src/run
mkdir -p "$src/a" "$src/b/deep/sub"
for f in a/x1 a/x2 b/deep/sub/z; do head -c 3145728 /dev/urandom > "$src/$f"; done
for f in b/deep/y1 b/deep/y2 c; do head -c 300000 /dev/urandom > "$src/$f"; done
dst=$T/dst
export SCOW_SYNC_BWLIMIT=256 SCOW_SYNC_WORKERS=2
log=$HOME/scow/.scow-sync/scow-sync.log

id=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dst" -m 2 \
	-p "$SSHD_PORT" -k "$SSH_KEY") || fail "start exited $?"

# Depth 2: a file being moved by its own worker.
wait_for 30 query_has_file "$src/a/x1" || fail "a/x1 never got under way"
wait_for 10 test -f "$dst/run/a/.x1."* 2>/dev/null
# A unit still waiting in line (c, behind the big files): it never starts.
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src/c"; rc=$?
[ "$rc" = 0 ] || fail "terminate of the queued c exited $rc"
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src/a/x1"; rc=$?
[ "$rc" = 0 ] || fail "terminate of a/x1 exited $rc"
query_has_file "$src/a/x1" && fail "query still shows a/x1 after its terminate"
[ -e "$dst/run/a/x1" ] && fail "a/x1 arrived although it was stopped"
[ -e "$dst/run/a/.scow-sync-partial/x1" ] && fail "a/x1's partial data is still there"
wait_for 10 query_shows "$src" || fail "the rest of the transfer stopped too"

# Depth 3: inside the tree unit run/b/deep, which a worker moves whole.
wait_for 30 query_has_file "$src/b/deep/sub/z" || fail "b/deep/sub/z never got under way"
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src/b/deep/sub"; rc=$?
[ "$rc" = 0 ] || fail "terminate of b/deep/sub exited $rc"
query_shows "$src/b/deep/sub" && fail "query still shows b/deep/sub after its terminate"

# Depth 1: a directory above the cut; a/x2 is still on its way.
query_has_file "$src/a/x2" || fail "a/x2 is not being moved any more; the test is too slow"
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src/a"; rc=$?
[ "$rc" = 0 ] || fail "terminate of a exited $rc"
query_shows "$src/a" && fail "query still shows files of a after its terminate"

# Not part of the transfer, inside its source: exit 3, and it goes on.
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src/no-such" 2>"$T/err"; rc=$?
[ "$rc" = 3 ] || fail "terminate of a path the transfer does not have exited $rc, want 3"
[ "$(wc -l < "$T/err")" = 1 ] || fail "not one line: $(cat "$T/err")"

unset SCOW_SYNC_BWLIMIT
wait_for 90 transfer_ended "$id" || fail "the transfer did not end"
[ "$(transfer_state "$id")" = done ] || fail "the rest ended $(transfer_state "$id"), not done"
for f in a/x1 a/x2 b/deep/sub/z c; do
	[ -e "$dst/run/$f" ] && fail "$f arrived although it was stopped"
done
# Every unit not stopped is done, and counted once: "N of N units".
counts=$(sed -n "s/.*\[$id\] info: transfer done after .*: \([0-9]*\) of \([0-9]*\) units.*/\1 \2/p" "$log")
[ -n "$counts" ] && [ "${counts% *}" = "${counts#* }" ] || fail "the end counts units as '$counts'"
[ -z "$(partial_files "$dst")" ] || fail "partial files left: $(partial_files "$dst")"
tmp=$(find "$dst" -name '.*.??????' -type f)
[ -z "$tmp" ] || fail "rsync temporary files left: $tmp"
[ -z "$(find "$dst" -name .scow-sync-partial)" ] || fail "empty partial directories left"

# Everything else is byte-identical; what was stopped is absent (its
# directories may exist, empty).
cp -a "$src" "$T/expected"
rm -rf "$T/expected/a/x1" "$T/expected/a/x2" "$T/expected/b/deep/sub" "$T/expected/c"
[ -d "$dst/run/b/deep/sub" ] && { rmdir "$dst/run/b/deep/sub" || fail "b/deep/sub is not empty"; }
tree_equal "$T/expected" "$dst/run" || fail "the rest of the transfer differs from the source"
no_processes_left || fail "processes left after the transfer"

# A whole terminate removes the partial data of what was in flight.
export SCOW_SYNC_BWLIMIT=256
id2=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst2" -m 1 \
	-p "$SSHD_PORT" -k "$SSH_KEY") || fail "second start exited $?"
wait_for 30 query_has_file "$src/a/x1" || fail "the second transfer never got under way"
sleep 1
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src" || fail "whole terminate exited $?"
no_processes_left || fail "processes survived the whole terminate"
[ "$(transfer_state "$id2")" = terminated ] || fail "whole terminate left $(transfer_state "$id2")"
[ -z "$(partial_files "$T/dst2")" ] || fail "partial files left: $(partial_files "$T/dst2")"
[ -z "$(find "$T/dst2" -name '.*.??????' -type f)" ] || fail "temporary files left in dst2"
grep -q "removed [0-9]* partial files on the far side" "$log" ||
	fail "the log does not record the cleanup"
finish
