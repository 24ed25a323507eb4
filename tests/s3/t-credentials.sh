#!/bin/bash
# The credential of an object store: none is one line and exit 2, one the
# store refuses is one line and exit 1 (a wrong secret, another user's
# bucket, a bucket that is not there), and -c says true or false for it.
# Found in the environment, else in ~/.aws/credentials (AWS_PROFILE).
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/s3/scow.sh"

bucket=$(s3_new_bucket)
mkdir -p "$T/src/top"
echo one >"$T/src/top/one"
dest=s3://$bucket/p

up() {
	scow-sync run -s "$T/src/top" -d "$dest" --endpoint "$S3_TEST_ENDPOINT" "$@"
}
one_line() {
	[ "$(wc -l <"$1")" = 1 ] || fail "$2: not one line: $(cat "$1")"
}

# None anywhere: exit 2.
( unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE
  export AWS_SHARED_CREDENTIALS_FILE=$T/none
  up 2>"$T/err"; echo $? >"$T/rc" )
[ "$(cat "$T/rc")" = 2 ] || fail "no credential exited $(cat "$T/rc"), want 2"
one_line "$T/err" "no credential"
grep -q AWS_ACCESS_KEY_ID "$T/err" || fail "no credential: the message does not say where to put one"

# A wrong secret: refused, exit 1, and the secret is not in the message.
( export AWS_SECRET_ACCESS_KEY=not-the-secret-at-all
  up 2>"$T/err"; echo $? >"$T/rc" )
[ "$(cat "$T/rc")" = 1 ] || fail "a wrong secret exited $(cat "$T/rc"), want 1"
one_line "$T/err" "a wrong secret"
grep -q 'refused\|SignatureDoesNotMatch\|AccessDenied' "$T/err" ||
	fail "a wrong secret: the message does not say it was refused: $(cat "$T/err")"
grep -q not-the-secret "$T/err" && fail "the secret is in the message"

# Another user's bucket: AccessDenied, exit 1.
( export AWS_ACCESS_KEY_ID=$S3_TEST_ACCESS_KEY2 AWS_SECRET_ACCESS_KEY=$S3_TEST_SECRET_KEY2
  up 2>"$T/err"; echo $? >"$T/rc" )
[ "$(cat "$T/rc")" = 1 ] || fail "another user's bucket exited $(cat "$T/rc"), want 1"
grep -q AccessDenied "$T/err" || fail "another user's bucket: $(cat "$T/err")"

# No such bucket: exit 1, said.
dest=s3://no-such-bucket-$RANDOM/p
up 2>"$T/err"
rc=$?
[ "$rc" = 1 ] || fail "a missing bucket exited $rc, want 1"
grep -q NoSuchBucket "$T/err" || fail "a missing bucket: $(cat "$T/err")"
dest=s3://$bucket/p

# -c: true for a good credential, false for a refused one, exit 0 both.
got=$(scow-sync start -c -d "$dest" --endpoint "$S3_TEST_ENDPOINT" -q)
[ "$got" = true ] || fail "-c with a good credential said '$got'"
got=$(AWS_SECRET_ACCESS_KEY=wrong scow-sync start -c -d "$dest" --endpoint "$S3_TEST_ENDPOINT" -q)
rc=$?
[ "$got" = false ] && [ "$rc" = 0 ] || fail "-c with a wrong secret said '$got' (exit $rc)"

# The shared credentials file, in the profile AWS_PROFILE names.
mkdir -p "$HOME/.aws"
cat >"$HOME/.aws/credentials" <<EOC
[default]
aws_access_key_id = $S3_TEST_ACCESS_KEY2
aws_secret_access_key = $S3_TEST_SECRET_KEY2

[lab]
aws_access_key_id = $S3_TEST_ACCESS_KEY
aws_secret_access_key = $S3_TEST_SECRET_KEY
EOC
( unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  export AWS_PROFILE=lab
  unset AWS_SHARED_CREDENTIALS_FILE
  up -q 2>"$T/err"; echo $? >"$T/rc" )
[ "$(cat "$T/rc")" = 0 ] || fail "the profile's credential exited $(cat "$T/rc"): $(cat "$T/err")"
s3_aws s3 cp --quiet "s3://$bucket/p/top/one" "$T/one" && cmp -s "$T/one" "$T/src/top/one" ||
	fail "the upload with the profile's credential did not arrive"
finish
