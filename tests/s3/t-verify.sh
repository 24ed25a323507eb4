#!/bin/bash
# --verify with a bucket: an object damaged at the same size, with the
# file's mtime in its metadata, is taken as the same by the usual
# comparison; --verify reads the file, finds that its MD5 is not what the
# ETag says, and sends it again, for a single PUT and for an upload in
# parts. An intact object, ours or uploaded by awscli in its own parts,
# is left alone. --dry-run --verify names the damaged ones.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/s3/scow.sh"

bucket=$(s3_new_bucket)
src=$T/src/top
mkdir -p "$src"
echo small >"$src/small"
echo intact >"$src/intact"
head -c $((20 * 1024 * 1024 + 7)) /dev/urandom >"$src/big"
head -c $((17 * 1024 * 1024)) /dev/urandom >"$src/by-aws"
export SCOW_SYNC_S3_MULTIPART_MIB=8
run() {
	scow-sync run -s "$src" -d "s3://$bucket/p" --endpoint "$S3_TEST_ENDPOINT" "$@"
}
meta() {
	s3_aws s3api head-object --bucket "$bucket" --key "$1" \
		--query "Metadata.$2" --output text
}
etag() { s3_aws s3api head-object --bucket "$bucket" --key "$1" --query ETag --output text; }
# damage KEY FILE: put FILE's size of other bytes under KEY, with KEY's metadata.
damage() {
	local m mode
	m=$(meta "$1" mtime) mode=$(meta "$1" mode)
	head -c "$(stat -c %s "$2")" /dev/zero >"$T/zeros"
	s3_aws s3api put-object --bucket "$bucket" --key "$1" --body "$T/zeros" \
		--metadata "mtime=$m,mode=$mode" >/dev/null || fail "aws could not damage $1"
}

run -q 2>"$T/err" || fail "the upload exited $?: $(cat "$T/err")"
# awscli's own upload in parts (8 MiB), with our metadata: the same content.
m=$(meta p/top/by-aws mtime)
s3_aws s3 cp --quiet "$src/by-aws" "s3://$bucket/p/top/by-aws" --metadata "mtime=$m,mode=0644" ||
	fail "aws could not upload by-aws"
case $(etag p/top/by-aws) in *-3\"*) ;; *) fail "awscli's upload is not in 3 parts: $(etag p/top/by-aws)" ;; esac
damage p/top/small "$src/small"
damage p/top/big "$src/big"
before_intact=$(s3_aws s3api head-object --bucket "$bucket" --key p/top/intact \
	--query LastModified --output text)

# The usual comparison sees nothing.
run --dry-run >"$T/dry" || fail "the dry run exited $?"
[ -s "$T/dry" ] && fail "the dry run without --verify names changes: $(cat "$T/dry")"

run --dry-run --verify >"$T/dry" || fail "the dry run with --verify exited $?"
awk '{ print $1, $3 }' "$T/dry" | sort >"$T/got"
printf '%s\n' 'update top/big' 'update top/small' >"$T/want"
diff "$T/want" "$T/got" >"$T/diff" || fail "the dry run --verify said: $(cat "$T/diff")"

run --verify 2>"$T/err" >"$T/out" || fail "the run with --verify exited $?: $(cat "$T/err")"
grep -q '2 differed by content' "$T/err" "$T/out" ||
	fail "the summary does not say 2 differed: $(cat "$T/err" "$T/out")"
for f in small big by-aws intact; do
	s3_aws s3 cp --quiet "s3://$bucket/p/top/$f" "$T/back" || fail "aws could not read $f"
	cmp -s "$src/$f" "$T/back" || fail "$f in the bucket is not the source's after --verify"
done
after_intact=$(s3_aws s3api head-object --bucket "$bucket" --key p/top/intact \
	--query LastModified --output text)
[ "$before_intact" = "$after_intact" ] || fail "--verify sent the intact file again"
run --dry-run --verify >"$T/dry" || fail "the last dry run exited $?"
[ -s "$T/dry" ] && fail "after --verify, a dry run --verify still names: $(cat "$T/dry")"
finish
