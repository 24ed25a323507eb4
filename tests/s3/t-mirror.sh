#!/bin/bash
# --delete to a bucket: what the source no longer has goes from under
# PREFIX/NAME (files, "dir/" markers, objects put there by others), and
# nothing else: not what the filters leave out, not what is beside the
# destination ("NAMEX/..."), not what the source has as a directory where
# a marker says so. The guards hold: --max-delete and an empty source
# delete nothing. Each deletion is recorded.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/s3/scow.sh"

bucket=$(s3_new_bucket)
src=$T/src/top
mkdir -p "$src/keep/deep" "$src/gone-dir/sub" "$src/empty-gone" "$src/logs"
echo a >"$src/keep/a"
echo b >"$src/keep/deep/b"
echo g >"$src/gone-dir/sub/g"
echo f >"$src/gone-file"
echo l >"$src/logs/x.log"
echo n >"$src/new
line"
run() {
	scow-sync run -s "$src" -d "s3://$bucket/p" --endpoint "$S3_TEST_ENDPOINT" -q "$@"
}
keys() {
	s3_aws s3api list-objects-v2 --bucket "$bucket" --query 'Contents[].Key' \
		--output json | python3 -c 'import json, sys
for k in json.load(sys.stdin) or []: print(k.replace("\n", "\\n"))' | sort
}
last_id() { scow-sync query --json --all | python3 -c '
import json, sys
print(max(t["id"] for t in json.load(sys.stdin)["transfers"]))'; }

run --exclude '*.log' 2>"$T/err" || fail "the first run exited $?: $(cat "$T/err")"
# Objects of others: one beside the destination, one a walk never makes,
# one under an excluded name, and one where the source has a directory.
echo x | s3_aws s3 cp --quiet - "s3://$bucket/p/topX/beside"
echo x | s3_aws s3 cp --quiet - "s3://$bucket/p/top/logs/other.log"
echo x | s3_aws s3 cp --quiet - "s3://$bucket/p/top/keep"
echo x | s3_aws s3 cp --quiet - "s3://$bucket/p/top/stray"
s3_aws s3api put-object --bucket "$bucket" --key 'p/top/a//b' >/dev/null
keys >"$T/before"

rm -rf "$src/gone-dir" "$src/gone-file" "$src/empty-gone" "$src/new
line"
run --delete --exclude '*.log' --max-delete 3 2>"$T/err" &&
	fail "a mirror of 7 deletions ran past --max-delete 3"
keys >"$T/after-limit"
cmp -s "$T/before" "$T/after-limit" || fail "--max-delete stopped the mirror, but objects went"

run --delete --exclude '*.log' 2>"$T/err" || fail "the mirror exited $?: $(cat "$T/err")"
keys >"$T/after"
cat >"$T/want" <<'LIST'
p/top/keep/a
p/top/keep/deep/b
p/top/logs/other.log
p/topX/beside
LIST
diff "$T/want" "$T/after" >"$T/diff" || fail "the bucket after the mirror: $(cat "$T/diff")"
id=$(last_id)
n=$(scow-sync query --json --id "$id" | python3 -c '
import json, sys
print(json.load(sys.stdin)["transfers"][0]["deleted"])')
[ "$n" = 7 ] || fail "the mirror recorded $n deletions, not 7"

# The source emptied (an unmounted file system looks so): nothing goes.
mkdir "$T/hidden" && mv "$src"/* "$T/hidden/"
run --delete --exclude '*.log' 2>"$T/err" && fail "a mirror of an empty source ran"
# (The empty source's own marker is all it adds.)
keys | grep -vx 'p/top/' >"$T/after-empty"
cmp -s "$T/after" "$T/after-empty" || fail "a mirror of an empty source deleted objects"
grep -q 'delete-all-ok' "$T/err" || fail "the refusal does not name --delete-all-ok: $(cat "$T/err")"
finish
