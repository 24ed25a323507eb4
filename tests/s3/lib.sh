# tests/s3/lib.sh: what every S3 case (tests/s3/t-*.sh) sources (bash).
#
# tests/s3.tap runs each case with the server's STATE_DIR/env exported
# (S3_TEST_ENDPOINT, S3_TEST_REGION, S3_TEST_ACCESS_KEY and friends, see
# tests/s3/server.sh). A case that needs the private sshd too sources
# tests/lib.sh first; this file then only adds the S3 helpers to it.
#   S3T               the case's temporary directory, removed on exit
#   s3_aws ARGS...    aws --endpoint-url $S3_TEST_ENDPOINT ARGS, as the
#                     first user (S3_AWS_USER=2: the second)
#   s3_cmd ARGS...    s3cmd, path-style over http, likewise
#   s3_new_bucket     make a bucket of a name no other case uses; print it
#   fail MSG / finish / skip MSG / wait_for N CMD...   as in tests/lib.sh
# Nothing of the real HOME is read or written: aws and s3cmd get files of
# their own in $S3T.
set -u

for v in S3_TEST_ENDPOINT S3_TEST_REGION S3_TEST_ACCESS_KEY S3_TEST_SECRET_KEY \
	S3_TEST_ACCESS_KEY2 S3_TEST_SECRET_KEY2; do
	if [ -z "${!v:-}" ]; then
		echo "${0##*/}: $v is not set: run this through tests/s3.tap" >&2
		exit 99
	fi
done

if ! declare -F finish >/dev/null; then
	# Without tests/lib.sh: its reporting, without the sshd.
	FAILURES=0
	fail() {
		FAILURES=$((FAILURES + 1))
		printf 'FAIL: %s\n' "$*"
	}
	skip() {
		printf 'SKIP: %s\n' "$*"
		exit 77
	}
	finish() {
		check_private_dirs
		if [ "$FAILURES" -gt 0 ]; then
			printf '%s: %d expectation(s) failed; files in %s\n' \
				"${0##*/}" "$FAILURES" "$S3T"
			S3_KEEP_TEST_DIR=1
			exit 1
		fi
		printf '%s: all expectations held\n' "${0##*/}"
		exit 0
	}
	wait_for() {
		local seconds=$1 i
		shift
		for i in $(seq 1 $((seconds * 10))); do
			"$@" && return 0
			sleep 0.1
		done
		return 1
	}
fi

# Debian's awscli first: a newer one elsewhere on PATH may send checksum
# headers this gateway does not know.
S3_AWS_BIN=${S3_AWS_BIN:-$(command -v /usr/bin/aws || command -v aws)} ||
	skip "aws is not installed: run ./install.sh --test-deps"
command -v s3cmd >/dev/null || skip "s3cmd is not installed: run ./install.sh --test-deps"

S3T=$(mktemp -d /tmp/scow-sync-s3case.XXXXXX) || exit 99
# The supervisors' private directories, to be found gone by finish.
export TMPDIR=$S3T/tmp
mkdir -p "$TMPDIR"
. "${SCOW_SYNC_SRCDIR:-$(dirname "${BASH_SOURCE[0]}")/../..}/tests/private-dirs.sh"
S3_KEEP_TEST_DIR=${S3_KEEP_TEST_DIR:-0}

s3_cleanup() {
	s3_stop_proxy
	if [ "$S3_KEEP_TEST_DIR" = 1 ]; then
		echo "test files kept in $S3T"
	else
		rm -rf "$S3T"
	fi
}
if [ -n "$(trap -p EXIT)" ]; then
	# tests/lib.sh's cleanup runs first, then ours.
	eval "$(trap -p EXIT | sed "s/^trap -- '\(.*\)' EXIT\$/trap -- '\1; s3_cleanup' EXIT/")"
else
	trap s3_cleanup EXIT
fi

# The configuration of aws and s3cmd, one set for each user.
s3_write_config() {
	local n=$1 ak=$2 sk=$3 host=${S3_TEST_ENDPOINT#http://}
	mkdir -p "$S3T/cfg$n"
	# when_required: only where S3 demands a checksum, as this gateway expects.
	cat >"$S3T/cfg$n/aws-config" <<-EOF
	[default]
	region = $S3_TEST_REGION
	request_checksum_calculation = when_required
	response_checksum_validation = when_required
	s3 =
	    addressing_style = path
	EOF
	cat >"$S3T/cfg$n/aws-credentials" <<-EOF
	[default]
	aws_access_key_id = $ak
	aws_secret_access_key = $sk
	EOF
	cat >"$S3T/cfg$n/s3cfg" <<-EOF
	[default]
	access_key = $ak
	secret_key = $sk
	host_base = $host
	host_bucket = $host
	bucket_location = $S3_TEST_REGION
	use_https = False
	signature_v2 = False
	check_ssl_certificate = False
	progress_meter = False
	EOF
}
s3_write_config 1 "$S3_TEST_ACCESS_KEY" "$S3_TEST_SECRET_KEY"
s3_write_config 2 "$S3_TEST_ACCESS_KEY2" "$S3_TEST_SECRET_KEY2"

# S3_ENDPOINT may point one call elsewhere (through the faulty proxy).
s3_aws() {
	local n=${S3_AWS_USER:-1}
	env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
		AWS_CONFIG_FILE="$S3T/cfg$n/aws-config" \
		AWS_SHARED_CREDENTIALS_FILE="$S3T/cfg$n/aws-credentials" \
		AWS_DEFAULT_REGION="$S3_TEST_REGION" AWS_EC2_METADATA_DISABLED=true \
		AWS_PAGER= HOME="$S3T" \
		"$S3_AWS_BIN" --endpoint-url "${S3_ENDPOINT:-$S3_TEST_ENDPOINT}" "$@"
}

s3_cmd() {
	local n=${S3_AWS_USER:-1}
	HOME="$S3T" s3cmd -c "$S3T/cfg$n/s3cfg" "$@"
}

S3_BUCKETS=0
s3_new_bucket() {
	local name
	S3_BUCKETS=$((S3_BUCKETS + 1))
	name=$(printf 't-%s-%s-%s' "$$" "$S3_BUCKETS" "$RANDOM" | tr -c 'a-z0-9-\n' -)
	s3_aws s3api create-bucket --bucket "$name" >/dev/null || return 1
	echo "$name"
}

# tests/s3/faulty-proxy.py in front of the server, with the options given
# (--fail-rate R, --drop-rate R, --seed N): $S3_PROXY is then its URL, and
# its log of each request $S3T/proxy.log. Stopped by the next start and
# on exit.
S3_PROXY_PID= S3_PROXY=
s3_stop_proxy() {
	[ -n "$S3_PROXY_PID" ] || return 0
	kill "$S3_PROXY_PID" 2>/dev/null
	wait "$S3_PROXY_PID" 2>/dev/null
	S3_PROXY_PID=
}
s3_start_proxy() {
	s3_stop_proxy
	rm -f "$S3T/port"
	python3 "$(dirname "${BASH_SOURCE[0]}")/faulty-proxy.py" --upstream "$S3_TEST_ENDPOINT" \
		--port-file "$S3T/port" --log "$S3T/proxy.log" "$@" \
		>/dev/null 2>>"$S3T/proxy.err" &
	S3_PROXY_PID=$!
	if ! wait_for 10 test -s "$S3T/port"; then
		fail "the proxy did not start: $(cat "$S3T/proxy.err")"
		finish
	fi
	S3_PROXY=http://127.0.0.1:$(cat "$S3T/port")
}
