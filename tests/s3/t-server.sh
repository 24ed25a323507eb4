#!/bin/bash
# The test S3 server itself, through two independent clients: awscli puts
# a small file, a multipart one and a key with a space and non-ASCII
# letters, lists and gets them back byte for byte; s3cmd lists and gets the
# same; the second user is refused the first user's bucket.
set -u
. "$(dirname "$0")/lib.sh"

bucket=$(s3_new_bucket) || { fail "create-bucket failed"; finish; }

head -c 1000 /dev/urandom >"$S3T/small"
# Past awscli's 8 MiB multipart threshold: three parts at least.
head -c $((21 * 1024 * 1024)) /dev/urandom >"$S3T/big"
key_odd='dir with space/naïve é 文件.bin'

s3_aws s3 cp --only-show-errors "$S3T/small" "s3://$bucket/small" || fail "cp small up"
s3_aws s3 cp --only-show-errors "$S3T/big" "s3://$bucket/big" || fail "cp big up"
s3_aws s3 cp --only-show-errors "$S3T/small" "s3://$bucket/$key_odd" || fail "cp odd key up"

# A multipart object's ETag is the digest of its parts' digests, "-N".
etag=$(s3_aws s3api head-object --bucket "$bucket" --key big --query ETag --output text)
[[ $etag == *-[0-9]* ]] || fail "big was not uploaded in parts: ETag $etag"

s3_aws s3 ls --recursive "s3://$bucket" >"$S3T/ls" || fail "ls"
for k in small big "$key_odd"; do
	grep -qF " $k" "$S3T/ls" || fail "ls does not list '$k': $(cat "$S3T/ls")"
done
[ "$(wc -l <"$S3T/ls")" = 3 ] || fail "ls lists $(wc -l <"$S3T/ls") objects, not 3"

mkdir "$S3T/back" "$S3T/back2"
s3_aws s3 cp --only-show-errors "s3://$bucket/small" "$S3T/back/small" || fail "cp small down"
s3_aws s3 cp --only-show-errors "s3://$bucket/big" "$S3T/back/big" || fail "cp big down"
s3_aws s3 cp --only-show-errors "s3://$bucket/$key_odd" "$S3T/back/odd" || fail "cp odd key down"
cmp "$S3T/small" "$S3T/back/small" || fail "small differs after the round trip"
cmp "$S3T/big" "$S3T/back/big" || fail "big differs after the round trip"
cmp "$S3T/small" "$S3T/back/odd" || fail "the odd key differs after the round trip"

# s3cmd signs and parses on its own: the same objects, seen by it.
s3_cmd ls --recursive "s3://$bucket" >"$S3T/ls2" || fail "s3cmd ls"
grep -qF "s3://$bucket/$key_odd" "$S3T/ls2" || fail "s3cmd ls lacks the odd key: $(cat "$S3T/ls2")"
grep -qF "s3://$bucket/big" "$S3T/ls2" || fail "s3cmd ls lacks big"
s3_cmd get --quiet "s3://$bucket/big" "$S3T/back2/big" || fail "s3cmd get big"
s3_cmd get --quiet "s3://$bucket/$key_odd" "$S3T/back2/odd" || fail "s3cmd get odd key"
cmp "$S3T/big" "$S3T/back2/big" || fail "big differs through s3cmd"
cmp "$S3T/small" "$S3T/back2/odd" || fail "the odd key differs through s3cmd"

# The second user: refused, with S3's own code for it.
if S3_AWS_USER=2 s3_cmd ls "s3://$bucket" >"$S3T/other" 2>&1; then
	fail "the second user may list the first user's bucket"
fi
grep -q '403 (AccessDenied)' "$S3T/other" || fail "s3cmd as user 2: $(cat "$S3T/other")"
# This awscli prints no code for an error without a message, as the
# gateway sends them: the code is read from the response in its debug log.
if S3_AWS_USER=2 s3_aws --debug s3api get-object --bucket "$bucket" --key small \
	"$S3T/stolen" >"$S3T/other2" 2>&1; then
	fail "the second user may read the first user's object"
fi
grep -q '<Code>AccessDenied</Code>' "$S3T/other2" ||
	fail "aws as user 2: $(grep -i -m3 'error\|status' "$S3T/other2")"
# And a wrong secret is refused as such.
if S3_TEST_SECRET_KEY=wrong s3_write_config 3 "$S3_TEST_ACCESS_KEY" wrong &&
	S3_AWS_USER=3 s3_cmd ls "s3://$bucket" >"$S3T/wrong" 2>&1; then
	fail "a wrong secret key is accepted"
fi
grep -q 'SignatureDoesNotMatch' "$S3T/wrong" || fail "wrong secret: $(cat "$S3T/wrong")"

finish
