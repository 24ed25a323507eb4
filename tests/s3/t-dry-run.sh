#!/bin/bash
# --dry-run to a bucket changes nothing and names what the transfer then
# does: the files it sends and updates, the markers it makes and, with
# --delete, the objects it deletes, by the same guards.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/s3/scow.sh"

bucket=$(s3_new_bucket)
src=$T/src/top
mkdir -p "$src/a/empty" "$src/b"
echo 1 >"$src/a/f"
echo 2 >"$src/b/g"
echo 3 >"$src/new
line"
echo log >"$src/b/skip.log"
run() {
	scow-sync run -s "$src" -d "s3://$bucket/p" --endpoint "$S3_TEST_ENDPOINT" \
		--exclude '*.log' "$@"
}
keys() {
	s3_aws s3api list-objects-v2 --bucket "$bucket" \
		--query 'Contents[].[Key,ETag,LastModified]' --output text | grep -vx None | sort
}
# The dry run's lines as "ACTION PATH", sorted.
said() { awk '{ print $1, $3 }' | sort; }

run --dry-run >"$T/dry1" 2>"$T/err" || fail "the first dry run exited $?: $(cat "$T/err")"
[ -z "$(keys)" ] || fail "the dry run put objects in the bucket: $(keys)"
printf '%s\n' 'send top/a/empty/' 'send top/a/f' 'send top/b/g' 'send top/new\x0aline' |
	sort >"$T/want1"
said <"$T/dry1" >"$T/got1"
diff "$T/want1" "$T/got1" >"$T/diff" || fail "the first dry run said: $(cat "$T/diff")"

run -q 2>"$T/err" || fail "the upload exited $?: $(cat "$T/err")"
run --dry-run >"$T/dry2" || fail "the dry run after the upload exited $?"
[ -s "$T/dry2" ] && fail "a dry run after the upload names changes: $(cat "$T/dry2")"

# Changes of every kind, and objects of others under the prefix.
echo 22 >"$src/b/g"
rm -r "$src/a/empty"
echo x >"$src/c"
echo x | s3_aws s3 cp --quiet - "s3://$bucket/p/top/stray"
echo x | s3_aws s3 cp --quiet - "s3://$bucket/p/top/b/other.log"
keys >"$T/before"
run --dry-run --delete >"$T/dry3" || fail "the mirror's dry run exited $?"
keys >"$T/after"
cmp -s "$T/before" "$T/after" || fail "the mirror's dry run changed the bucket"
printf '%s\n' 'update top/b/g' 'send top/c' 'delete top/a/empty/' 'delete top/stray' |
	sort >"$T/want3"
said <"$T/dry3" >"$T/got3"
diff "$T/want3" "$T/got3" >"$T/diff" || fail "the mirror's dry run said: $(cat "$T/diff")"

run --dry-run --delete --max-delete 1 --json >"$T/dry4" ||
	fail "the limited dry run exited $?"
python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))
assert a[-1]["action"] == "stop" and "limit of 1" in a[-1]["reason"], a[-1]
' "$T/dry4" || fail "the limited dry run does not end with the guard's stop: $(cat "$T/dry4")"

# What the transfer then does is what the dry run said.
run -q --delete 2>"$T/err" || fail "the mirror exited $?: $(cat "$T/err")"
s3_aws s3api list-objects-v2 --bucket "$bucket" --query 'Contents[].Key' --output json |
	python3 -c 'import json, sys
for k in json.load(sys.stdin) or []: print(k)' | sort >"$T/keys"
printf '%s\n' p/top/a/f p/top/b/g p/top/b/other.log p/top/c 'p/top/new
line' | sort >"$T/want-keys"
diff "$T/want-keys" "$T/keys" >"$T/diff" || fail "the bucket after the mirror: $(cat "$T/diff")"

# No credential: one line, exit 2, nothing listed.
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY scow-sync run -s "$src" \
	-d "s3://$bucket/p" --endpoint "$S3_TEST_ENDPOINT" --dry-run >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" = 2 ] || fail "a dry run without a credential exited $rc, not 2"
[ "$(wc -l <"$T/err")" = 1 ] || fail "a dry run without a credential said: $(cat "$T/err")"
finish
