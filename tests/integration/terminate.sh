#!/bin/bash
# scow-sync-terminate stops a whole transfer: every process ends before it
# returns, the transfer is recorded as terminated, nothing truncated sits
# under a final name, and query no longer shows it.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

src=$T/src/big
mkdir -p "$src/sub"
for i in 1 2 3 4; do head -c 3145728 /dev/urandom > "$src/sub/f$i"; done
head -c 3145728 /dev/urandom > "$src/top"
dst=$T/dst
mkdir -p "$dst"
export SCOW_SYNC_BWLIMIT=128

scow-sync-start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dst" -m 2 \
	-p "$SSHD_PORT" -k "$SSH_KEY" || fail "start exited $?"
wait_for 30 query_shows "$src" || fail "the transfer never showed up in query"

# Nothing matches: exit 3, and the transfer goes on.
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$T/src/other" 2>/dev/null
rc=$?
[ "$rc" = 3 ] || fail "terminate of an unknown source exited $rc, want 3"
query_shows "$src" || fail "terminating something else stopped this transfer"

scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src"
rc=$?
[ "$rc" = 0 ] || fail "terminate exited $rc"
no_processes_left || fail "processes of the transfer survived terminate"
[ "$(scow-sync-query)" = "[]" ] || fail "query still shows the terminated transfer"
grep -q "transfer terminated" "$HOME/scow/.scow-sync/scow-sync.log" ||
	fail "the log does not record the transfer as terminated"
# Whatever arrived under a final name is complete.
while IFS= read -r -d '' f; do
	rel=${f#"$dst/big/"}
	cmp -s "$f" "$src/$rel" || fail "truncated file under its final name: $rel"
done < <(find "$dst" -type f -not -path '*/.scow-sync-partial/*' -print0)

# Terminating it again: nothing is running any more. The portal's cancel
# of what has just ended is no error (it cannot see the race); one line
# says what was found. scow-sync terminate says nothing matched.
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src" 2>"$T/again.err"
rc=$?
[ "$rc" = 0 ] || fail "the portal's second terminate exited $rc, want 0"
[ "$(wc -l <"$T/again.err")" = 1 ] && grep -q "has already ended (terminated)" "$T/again.err" ||
	fail "the portal's second terminate said: $(cat "$T/again.err")"
scow-sync terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src" 2>/dev/null
rc=$?
[ "$rc" = 3 ] || fail "second scow-sync terminate exited $rc, want 3"
# A transfer done, and a file of it that has arrived: the same.
mkdir -p "$T/src/sub-done"
echo x >"$T/src/sub-done/f"
scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$T/src/sub-done" -d "$T/dst-done" \
	-p "$SSHD_PORT" -k "$SSH_KEY" || fail "the run to be cancelled late exited $?"
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$T/src/sub-done/f" 2>"$T/late.err"
rc=$?
[ "$rc" = 0 ] && grep -q "has already arrived" "$T/late.err" ||
	fail "the portal's cancel of an arrived file exited $rc: $(cat "$T/late.err")"
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$T/src/sub-done" 2>"$T/late.err"
rc=$?
[ "$rc" = 0 ] && grep -q "has already ended (done)" "$T/late.err" ||
	fail "the portal's cancel of a done transfer exited $rc: $(cat "$T/late.err")"
scow-sync terminate -s "$T/src/sub-done/f" 2>/dev/null
rc=$?
[ "$rc" = 3 ] || fail "scow-sync terminate of an arrived file exited $rc, want 3"
# A name no transfer ever had, inside a done one's source: still nothing.
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$T/src/sub-done/never" 2>/dev/null
rc=$?
[ "$rc" = 3 ] || fail "the portal's terminate of a name never sent exited $rc, want 3"

# By id, and everything at once.
mkdir -p "$T/src/two"
cp -r "$src/sub" "$T/src/two/"
id1=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst1" \
	-p "$SSHD_PORT" -k "$SSH_KEY") || fail "start 1 exited $?"
id2=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$T/src/two" -d "$T/dst2" \
	-p "$SSHD_PORT" -k "$SSH_KEY") || fail "start 2 exited $?"
[ -n "$id1" ] && [ "$id1" != "$id2" ] || fail "start printed ids '$id1' and '$id2'"
wait_for 30 query_shows "$src" || fail "transfer $id1 never showed up"
wait_for 30 query_shows "$T/src/two" || fail "transfer $id2 never showed up"
scow-sync terminate --id "$id1" || fail "terminate --id $id1 exited $?"
query_shows "$src" && fail "transfer $id1 still shows after terminate --id"
query_shows "$T/src/two" || fail "terminate --id $id1 stopped transfer $id2 too"
scow-sync terminate --all || fail "terminate --all exited $?"
[ "$(scow-sync-query)" = "[]" ] || fail "query not empty after terminate --all"
no_processes_left || fail "processes survived terminate --all"

for args in "--id $id1" "--id 999999" "--all"; do
	err=$(scow-sync terminate $args 2>&1); rc=$?
	[ "$rc" = 3 ] || fail "terminate $args exited $rc, want 3"
	[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "terminate $args: not one line: $err"
done
scow-sync terminate --id "$id1" 2>&1 | grep -q "already ended (terminated)" ||
	fail "terminate of an ended transfer does not say so"
for args in "--id x" "--id 0" "" "--all -s $src"; do
	scow-sync terminate $args 2>/dev/null; rc=$?
	[ "$rc" = 2 ] || fail "terminate $args exited $rc, want 2"
done
finish
