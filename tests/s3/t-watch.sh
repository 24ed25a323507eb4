#!/bin/bash
# A watch to a bucket: the first cycle sends the tree, each change that
# inotify reports reaches the bucket (a new file, a changed one, a file
# removed with --delete), and terminate ends the watch.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/s3/scow.sh"

bucket=$(s3_new_bucket)
src=$T/src/top
mkdir -p "$src/a"
echo 1 >"$src/a/f"
echo 2 >"$src/a/gone"
has() { s3_aws s3api head-object --bucket "$bucket" --key "$1" >/dev/null 2>&1; }
content_is() { [ "$(s3_aws s3 cp --quiet "s3://$bucket/$1" - 2>/dev/null)" = "$2" ]; }

scow-sync watch -s "$src" -d "s3://$bucket/p" --endpoint "$S3_TEST_ENDPOINT" --delete \
	>"$T/watch.out" 2>&1 &
watcher=$!
wait_for 30 has p/top/a/gone || fail "the first cycle did not send the tree"

echo new >"$src/a/new"
echo changed >"$src/a/f"
rm "$src/a/gone"
wait_for 30 content_is p/top/a/new new || fail "a new file did not reach the bucket"
wait_for 30 content_is p/top/a/f changed || fail "a changed file did not reach the bucket"
wait_for 30 eval '! has p/top/a/gone' || fail "a removed file stays in the bucket"

id=$(scow-sync query --json --all | python3 -c '
import json, sys
print([t["id"] for t in json.load(sys.stdin)["transfers"] if t["state"] == "watching"][0])') ||
	fail "no watching transfer in query --json"
scow-sync terminate --id "$id" >/dev/null 2>&1 || fail "terminate of the watch exited $?"
wait_for 30 eval '! kill -0 $watcher 2>/dev/null' || fail "the watch did not end on terminate"
wait "$watcher" 2>/dev/null
s3_aws s3api list-multipart-uploads --bucket "$bucket" --query 'Uploads[].Key' \
	--output text >"$T/uploads"
grep -qv '^None$' "$T/uploads" && fail "multipart uploads left: $(cat "$T/uploads")"
finish
