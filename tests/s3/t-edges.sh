#!/bin/bash
# Object stores at their edges, each numbered step a promise:
#  1 a download whose temporary file is taken away is not reported done,
#    nor said as a source that vanished
#  2 a second download into one DEST/NAME is refused (no second writer),
#    and a second upload into one PREFIX/NAME on this node too
#  3 a download never writes through a symbolic link below DEST
#  4 a user's file that looks like a temporary one is not ours to remove
#  5 terminate of a download cleans up, and says so
#  6 start (the portal's way) makes what run makes, by the caller's umask
#  7 --delete removes objects below a source path that is a link
#  8 a mode-only change reaches the bucket, and comes back down
#  9 PREFIX/NAME both an object and a prefix: said, not done
# 10 the helper cannot make a directory whose parent is there
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/s3/scow.sh"

b=$(s3_new_bucket)
put() { printf '%s' "$2" | s3_aws s3 cp --quiet - "s3://$b/$1"; }
get() { scow-sync run -s "s3://$b/$1" -d "$2" --endpoint "$S3_TEST_ENDPOINT" "${@:3}"; }
state() { scow-sync query --json --id "$1" | python3 -c '
import json, sys
print(json.load(sys.stdin)["transfers"][0]["state"])'; }
head -c $((30 * 1024 * 1024)) /dev/urandom >"$T/big1"
head -c $((30 * 1024 * 1024)) /dev/urandom >"$T/big2"
s3_aws s3 cp --quiet "$T/big1" "s3://$b/p1/r/big"
s3_aws s3 cp --quiet "$T/big2" "s3://$b/p2/r/big"

# 1: the object is there all along; only the local temporary file goes.
get p1/r "$T/d1" -q --bwlimit 4000 2>"$T/err1" & pid=$!
wait_for 10 sh -c "ls -A '$T/d1/r/.scow-sync-partial' 2>/dev/null | grep -q scow-"
rm -f "$T"/d1/r/.scow-sync-partial/.big.scow-*
wait $pid && fail "1: a download whose file was never written exited 0: $(tail -1 "$T/err1")"
[ -f "$T/d1/r/big" ] || grep -q vanished "$T/err1" && fail "1: a local ENOENT is said as a vanished source"

# 2: two sources, one DEST/NAME, at once.
a=$(scow-sync start -s "s3://$b/p1/r" -d "$T/d2" --endpoint "$S3_TEST_ENDPOINT" --bwlimit 4000)
wait_for 10 sh -c "ls -A '$T/d2/r/.scow-sync-partial' 2>/dev/null | grep -q scow-"
c=$(scow-sync start -s "s3://$b/p2/r" -d "$T/d2" --endpoint "$S3_TEST_ENDPOINT" \
	--bwlimit 4000 2>"$T/err2")
wait_for 20 sh -c "[ \"\$(scow-sync query --json --id '$c' | grep -c '\"failed\"')\" -gt 0 ]" ||
	fail "2: a second download into $T/d2/r did not fail beside transfer $a"
scow-sync log -e "$c" | grep -q "is being written by another transfer" ||
	fail "2: the second writer's reason: $(scow-sync log -e "$c")"
wait_for 60 sh -c "! scow-sync query --json --all | grep -q '\"running\"'"
[ "$(state "$a")" = done ] && ! cmp -s "$T/big1" "$T/d2/r/big" &&
	fail "2: transfer $a is done but $T/d2/r/big is not its object"

# 2b: two sources of one name, uploaded to one prefix at once.
mkdir -p "$T/u2a/r" "$T/u2b/r"
cp "$T/big1" "$T/u2a/r/big"
echo other >"$T/u2b/r/other"
a=$(scow-sync start -s "$T/u2a/r" -d "s3://$b/up2" --endpoint "$S3_TEST_ENDPOINT" --bwlimit 4000)
wait_for 10 sh -c "scow-sync-query | grep -q filePath" || fail "2b: the first upload never ran"
scow-sync run -s "$T/u2b/r" -d "s3://$b/up2" --endpoint "$S3_TEST_ENDPOINT" 2>"$T/err2b" &&
	fail "2b: a second upload into s3://$b/up2/r ran beside transfer $a"
grep -q "is being written by another transfer" "$T/err2b" ||
	fail "2b: the second writer's reason: $(cat "$T/err2b")"
s3_aws s3 ls "s3://$b/up2/r/other" >/dev/null && fail "2b: the second writer wrote"
scow-sync terminate --id "$a" >/dev/null 2>&1

# 3: a symlinked directory inside DEST/NAME.
put p3/r/sub/f hello
mkdir -p "$T/d3/r" "$T/outside"
ln -s "$T/outside" "$T/d3/r/sub"
get p3/r "$T/d3" -q
[ -e "$T/outside/f" ] && fail "3: the download wrote $T/outside/f through the link d3/r/sub"

# 4: a user's file in DEST/NAME that the bucket does not have.
mkdir -p "$T/d4/r"
echo precious >"$T/d4/r/.notes.scow-backup"
get p3/r "$T/d4" -q
[ -f "$T/d4/r/.notes.scow-backup" ] || fail "4: a re-run removed .notes.scow-backup (no --delete)"

# 5: terminate of a download.
id=$(scow-sync start -s "s3://$b/p1/r" -d "$T/d5" --endpoint "$S3_TEST_ENDPOINT" --bwlimit 4000)
wait_for 10 sh -c "ls -A '$T/d5/r/.scow-sync-partial' 2>/dev/null | grep -q scow-"
scow-sync-terminate -s "s3://$b/p1/r" 2>"$T/err5"
grep -q "could not be removed" "$T/err5" && fail "5: terminate says: $(cat "$T/err5")"
scow-sync terminate --id "$id" 2>"$T/err5b"
[ $? = 1 ] && fail "5: terminate --id exits 1 after a clean stop: $(cat "$T/err5b")"

# 6: an object with no mode metadata (awscli's), started as the portal starts it.
put p6/r/f six
id=$(scow-sync start -s "s3://$b/p6/r" -d "$T/d6" --endpoint "$S3_TEST_ENDPOINT")
wait_for 20 sh -c "[ -f '$T/d6/r/f' ]"
get p6/r "$T/d6run" -q
[ "$(stat -c %a "$T/d6/r/f" "$T/d6/r")" = "$(stat -c %a "$T/d6run/r/f" "$T/d6run/r")" ] ||
	fail "6: start gives $(stat -c %a "$T/d6/r/f" "$T/d6/r" | tr '\n' ' ')where run gives" \
		"$(stat -c %a "$T/d6run/r/f" "$T/d6run/r" | tr '\n' ' ')"

# 7: a link to a directory in the source; the upload skips it.
src=$T/s7/r
mkdir -p "$src" "$T/elsewhere"
echo x >"$src/a"
echo y >"$T/elsewhere/y"
ln -s "$T/elsewhere" "$src/dirlink"
scow-sync run -s "$src" -d "s3://$b/u7" --endpoint "$S3_TEST_ENDPOINT" -q 2>/dev/null
put u7/r/dirlink/y stale
scow-sync run -s "$src" -d "s3://$b/u7" --endpoint "$S3_TEST_ENDPOINT" --delete -q 2>/dev/null
s3_aws s3 ls "s3://$b/u7/r/dirlink/y" >/dev/null &&
	fail "7: --delete kept u7/r/dirlink/y (the source has a link there, never uploaded)"

# 8: chmod only.
mkdir -p "$T/s8/r"
echo secret >"$T/s8/r/key"
chmod 644 "$T/s8/r/key"
scow-sync run -s "$T/s8/r" -d "s3://$b/u8" --endpoint "$S3_TEST_ENDPOINT" -q
chmod 600 "$T/s8/r/key"
scow-sync run -s "$T/s8/r" -d "s3://$b/u8" --endpoint "$S3_TEST_ENDPOINT" -q
get u8/r "$T/d8" -q
[ "$(stat -c %a "$T/d8/r/key")" = 600 ] ||
	fail "8: chmod 600 did not reach the bucket: the download is $(stat -c %a "$T/d8/r/key")"

# 9: q/r an object and a prefix.
put q/r obj
put q/r/in in
get q/r "$T/d9" -q 2>/dev/null && fail "9: the object q/r was left out and the download exited 0"

# 10: the helper by hand; DEST/r is there, DEST/r/sub is not.
put p10/r/sub/b b
mkdir -p "$T/d10/r"
printf 'r/sub/b\0' | S3_GET_SOURCE="s3://$b/p10/r" S3_GET_ENDPOINT=$S3_TEST_ENDPOINT \
	S3_GET_REGION=$S3_TEST_REGION S3_GET_STYLE=path S3_GET_TOP=r S3_GET_DEST="$T/d10" \
	scow-sync __s3-get >/dev/null 2>"$T/err10" ||
	fail "10: the helper could not make r/sub: $(cat "$T/err10")"
finish
