#!/bin/bash
# A bucket as the source: `run -s s3://B/P/NAME -d DIR` makes DIR/NAME as
# it was uploaded, byte for byte, with the files' mtimes and modes from
# their metadata; what awscli uploaded comes down identically; a second
# run fetches nothing, one after a change fetches that file; a key no
# local name can hold is a clear error that leaves the rest whole; a
# source with nothing in it fails with one line; a second writer into the
# same directory is refused; terminate of a download started as the portal
# starts it leaves no half file behind.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/s3/scow.sh"

bucket=$(s3_new_bucket)
up=$T/up/run1
mkdir -p "$up/a/empty" "$up/b" "$up/space dir"
echo one >"$up/a/f"
: >"$up/zero"
chmod 0640 "$up/a/f"
head -c $((20 * 1024 * 1024 + 5)) /dev/urandom >"$up/b/big"
echo nl >"$up/new
line"
echo odd >"$up/space dir/a+b&c=d?e#f%g ü"
touch -d '2020-02-02 12:34:56.123456789' "$up/a/f"
get() {
	scow-sync run -s "s3://$bucket/$1" -d "$2" --endpoint "$S3_TEST_ENDPOINT" "${@:3}"
}
debris() { find "$1" \( -name '.*.scow-*' -o -name .scow-sync-partial \) | head -5; }
last_id() { scow-sync query --json --all | python3 -c '
import json, sys
print(max(t["id"] for t in json.load(sys.stdin)["transfers"]))'; }
counts() {
	scow-sync query --json --id "$1" | python3 -c '
import json, sys
t = json.load(sys.stdin)["transfers"][0]
print(t["state"], t["created"], t["updated"])'
}

export SCOW_SYNC_S3_MULTIPART_MIB=8
scow-sync run -s "$up" -d "s3://$bucket/p" --endpoint "$S3_TEST_ENDPOINT" -q 2>"$T/err" ||
	fail "the upload exited $?: $(cat "$T/err")"

get p/run1 "$T/down" -q 2>"$T/err" || fail "the download exited $?: $(cat "$T/err")"
diff -r "$up" "$T/down/run1" >"$T/diff" || fail "the download differs: $(cat "$T/diff")"
[ -d "$T/down/run1/a/empty" ] || fail "the empty directory did not come down"
[ "$(stat -c %y "$T/down/run1/a/f")" = "$(stat -c %y "$up/a/f")" ] ||
	fail "the mtime did not come down: $(stat -c %y "$T/down/run1/a/f")"
[ "$(stat -c %a "$T/down/run1/a/f")" = 640 ] ||
	fail "the mode did not come down: $(stat -c %a "$T/down/run1/a/f")"
[ "$(counts "$(last_id)")" = "done 5 0" ] || fail "the download's counts: $(counts "$(last_id)")"

# A second run fetches nothing; one after a change fetches that file only.
get p/run1 "$T/down" -q 2>"$T/err" || fail "the second download exited $?: $(cat "$T/err")"
[ "$(counts "$(last_id)")" = "done 0 0" ] || fail "a second download fetched: $(counts "$(last_id)")"
echo changed >"$T/changed"
s3_aws s3 cp --quiet "$T/changed" "s3://$bucket/p/run1/a/f" || fail "aws could not change a/f"
get p/run1 "$T/down" -q 2>"$T/err" || fail "the third download exited $?: $(cat "$T/err")"
[ "$(counts "$(last_id)")" = "done 0 1" ] || fail "after a change: $(counts "$(last_id)")"
cmp -s "$T/changed" "$T/down/run1/a/f" || fail "the changed object did not come down"

# What awscli uploaded (no metadata of ours) comes down identically.
mkdir -p "$T/aws/tree/sub"
head -c 12345 /dev/urandom >"$T/aws/tree/sub/x"
echo y >"$T/aws/tree/y y"
s3_aws s3 cp --quiet --recursive "$T/aws/tree" "s3://$bucket/byaws/tree" ||
	fail "aws could not upload its tree"
get byaws/tree "$T/down2" -q 2>"$T/err" || fail "the download of awscli's tree exited $?: $(cat "$T/err")"
diff -r "$T/aws/tree" "$T/down2/tree" >"$T/diff" || fail "awscli's tree came down otherwise: $(cat "$T/diff")"

# One object: a file source.
get p/run1/b/big "$T/one" -q 2>"$T/err" || fail "the download of one object exited $?: $(cat "$T/err")"
cmp -s "$up/b/big" "$T/one/big" || fail "the one object came down otherwise"

# A key no local name can hold: said, the rest arrives, the transfer fails.
echo evil | s3_aws s3 cp --quiet - "s3://$bucket/bad/t/ok"
s3_aws s3api put-object --bucket "$bucket" --key 'bad/t/x/../../escape' >/dev/null
get bad/t "$T/down3" -q 2>"$T/err" && fail "a download with a '..' key ended done"
grep -q "t/x/../../escape" "$T/err" || fail "the bad key is not named: $(cat "$T/err")"
[ -f "$T/down3/t/ok" ] || fail "the good key did not come down beside the bad one"
[ -e "$T/escape" ] || [ -e "$T/down3/escape" ] && fail "a '..' key wrote outside the destination"

# Nothing there: one line, non-zero.
get nothing/here "$T/down4" 2>"$T/err" && fail "a download of nothing ended done"
grep -q "nothing in the store under" "$T/err" || fail "a download of nothing said: $(cat "$T/err")"

# Terminate mid-download, started as the portal starts it: no half file left.
head -c $((64 * 1024 * 1024)) /dev/urandom >"$T/slow"
s3_aws s3 cp --quiet "$T/slow" "s3://$bucket/slow/big" || fail "aws could not upload slow/big"
SCOW_SYNC_WORKERS=1 scow-sync-start -s "s3://$bucket/slow" -d "$T/down5" \
	--endpoint "$S3_TEST_ENDPOINT" --bwlimit 8192 2>"$T/err" ||
	fail "scow-sync-start of a download exited $?: $(cat "$T/err")"
in_flight() { scow-sync-query | grep -q '"filePath"'; }
wait_for 20 in_flight || fail "query never showed the download in flight"
wait_for 20 sh -c "[ -n \"\$(find '$T/down5' -name '.*.scow-*' 2>/dev/null)\" ]" ||
	fail "no temporary file while downloading"
# A second writer into the same directory (another source of that name) stops at once.
echo other | s3_aws s3 cp --quiet - "s3://$bucket/other/slow/x"
get other/slow "$T/down5" 2>"$T/err" && fail "a second download into a directory being written ran"
grep -q "is being written by another transfer" "$T/err" ||
	fail "the second writer was refused otherwise: $(cat "$T/err")"
[ -e "$T/down5/slow/x" ] && fail "the second writer wrote into the directory"
scow-sync-terminate -s "s3://$bucket/slow" 2>"$T/err" || fail "terminate exited $?: $(cat "$T/err")"
wait_for 20 sh -c "scow-sync query --json --all | grep -q '\"terminated\"'" ||
	fail "the download did not end terminated"
[ -z "$(debris "$T/down5")" ] || fail "terminate left: $(debris "$T/down5")"
[ -e "$T/down5/slow/big" ] && fail "the stopped file is there under its name"
[ -z "$(debris "$T/down")" ] || fail "downloads left: $(debris "$T/down")"
finish
