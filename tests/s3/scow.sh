# tests/s3/scow.sh: what an S3 case that runs scow-sync sources (bash):
# tests/s3/lib.sh, then T (the case's directory), a HOME of its own in it
# (scow-sync's store and log), the commands of the build on PATH as the
# portal's names, and the first user's credential in the environment, as
# a user would give it.
. "${SCOW_SYNC_SRCDIR:-$(dirname "${BASH_SOURCE[0]}")/../..}/tests/s3/lib.sh"

T=$S3T
export HOME=$T/home
mkdir -p "$HOME"
export PATH="${SCOW_SYNC_BUILDDIR:-$(dirname "${BASH_SOURCE[0]}")/../..}/tests/bin:$PATH"
export AWS_ACCESS_KEY_ID=$S3_TEST_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_TEST_SECRET_KEY
export AWS_REGION=$S3_TEST_REGION
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SHARED_CREDENTIALS_FILE AWS_ENDPOINT_URL
