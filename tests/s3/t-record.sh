#!/bin/bash
# A run told --trust-record to a bucket: the first keeps the record of what
# it sent, the next one that finds nothing changed sends no request at all,
# and one that finds a file replaced sends it even though its size and
# mtime are what the object says.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/s3/scow.sh"

bucket=$(s3_new_bucket)
src=$T/src/top
mkdir -p "$src/sub" "$src/empty"
for i in $(seq 1 50); do echo "file $i" >"$src/sub/f$i"; done
echo same >"$src/same"
run() {
	scow-sync run -s "$src" -d "s3://$bucket/p" --endpoint "$S3_TEST_ENDPOINT" \
		--trust-record -q "$@"
}
keys() {
	s3_aws s3api list-objects-v2 --bucket "$bucket" --query 'Contents[].Key' \
		--output text | tr '\t' '\n' | sort
}
last_id() { scow-sync query --json --all | python3 -c '
import json, sys
print(max(t["id"] for t in json.load(sys.stdin)["transfers"]))'; }

run 2>"$T/err" || fail "the first run exited $?: $(cat "$T/err")"
[ "$(keys | wc -l)" = 52 ] || fail "the first run left $(keys | wc -l) objects, not 52"

# Nothing changed: the store is not asked. Objects removed behind the
# record's back show it: a run that asked would send them again.
s3_aws s3 rm --quiet "s3://$bucket/p/top/sub/f7" || fail "aws could not remove f7"
run 2>"$T/err" || fail "the second run exited $?: $(cat "$T/err")"
keys | grep -qx 'p/top/sub/f7' && fail "a run whose record says nothing changed asked the store"
scow-sync log "$(last_id)" | grep -q 'the far side was not asked' ||
	fail "the second run's log does not say it left the store alone: $(scow-sync log "$(last_id)")"

# A file replaced by one of the same size and mtime: the record sees a new
# inode, and the file goes even though the object looks the same.
echo SAME >"$T/new"
touch -r "$src/same" "$T/new"
mv "$T/new" "$src/same"
run 2>"$T/err" || fail "the third run exited $?: $(cat "$T/err")"
s3_aws s3 cp --quiet "s3://$bucket/p/top/same" "$T/back" || fail "aws could not read 'same'"
cmp -s "$src/same" "$T/back" || fail "the replaced file was not sent: the object holds '$(cat "$T/back")'"

# A mirror trusting its record: what went from the source goes from the
# bucket, found under the paths the record names as gone.
rm "$src/sub/f9"
rm -r "$src/empty"
run --delete 2>"$T/err" || fail "the trusting mirror exited $?: $(cat "$T/err")"
keys >"$T/keys"
grep -qx 'p/top/sub/f9' "$T/keys" && fail "the trusting mirror left sub/f9"
grep -qx 'p/top/empty/' "$T/keys" && fail "the trusting mirror left the marker of empty/"
grep -qx 'p/top/sub/f8' "$T/keys" || fail "the trusting mirror deleted sub/f8"

# Without --trust-record the store is compared: f7 comes back.
scow-sync run -s "$src" -d "s3://$bucket/p" --endpoint "$S3_TEST_ENDPOINT" -q 2>"$T/err" ||
	fail "the plain run exited $?: $(cat "$T/err")"
keys | grep -qx 'p/top/sub/f7' || fail "a plain run did not send f7 again"
finish
