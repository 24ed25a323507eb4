#!/bin/bash
# tests/s3/faulty-proxy.py in front of the test server: a client's signature
# holds through it, S3 clients that retry get a file up and back whole
# although three requests in ten are answered 503 SlowDown or 500
# InternalError, and curl sees those answers as S3 sends them.
set -u
. "$(dirname "$0")/lib.sh"

bucket=$(s3_new_bucket) || { fail "create-bucket failed"; finish; }
head -c $((20 * 1024 * 1024 + 12345)) /dev/urandom >"$S3T/big"

# Bad options are refused, each with one line.
python3 "$(dirname "$0")/faulty-proxy.py" --upstream "$S3_TEST_ENDPOINT" --fail-rate 2 \
	>/dev/null 2>"$S3T/bad" && fail "--fail-rate 2 is accepted"
grep -q 'not between 0 and 1' "$S3T/bad" || fail "--fail-rate 2: $(cat "$S3T/bad")"

# Nothing injected: the signature made for the proxy's address holds upstream.
s3_start_proxy --fail-rate 0
S3_ENDPOINT=$S3_PROXY
export S3_ENDPOINT
s3_aws s3 cp --only-show-errors "$S3T/big" "s3://$bucket/clean" || fail "cp through a clean proxy"
s3_aws s3 ls "s3://$bucket/clean" >/dev/null || fail "ls through a clean proxy"

# Three in ten refused: awscli retries each request up to ten times
# (0.3^10: one upload in a hundred thousand would still fail).
s3_start_proxy --fail-rate 0.3 --seed 7
S3_ENDPOINT=$S3_PROXY
export AWS_MAX_ATTEMPTS=10 AWS_RETRY_MODE=standard
s3_aws s3 cp --only-show-errors "$S3T/big" "s3://$bucket/big" || fail "cp up through faults"
s3_aws s3 cp --only-show-errors "s3://$bucket/big" "$S3T/back" || fail "cp down through faults"
cmp "$S3T/big" "$S3T/back" || fail "the file differs after a round trip through faults"
n503=$(grep -c '^fail 503' "$S3T/proxy.log")
n500=$(grep -c '^fail 500' "$S3T/proxy.log")
[ "$n503" -gt 0 ] && [ "$n500" -gt 0 ] ||
	fail "no faults injected ($n503 503s, $n500 500s): $(head -20 "$S3T/proxy.log")"
echo "through the proxy: $n503 SlowDown and $n500 InternalError, retried"

# Connections cut halfway through a body: the download is retried whole.
s3_start_proxy --drop-rate 0.3 --seed 3
S3_ENDPOINT=$S3_PROXY
s3_aws s3 cp --only-show-errors "s3://$bucket/big" "$S3T/back2" || fail "cp down through drops"
cmp "$S3T/big" "$S3T/back2" || fail "the file differs after a download through drops"
grep -q '^drop' "$S3T/proxy.log" || fail "no connection was dropped"
unset AWS_MAX_ATTEMPTS AWS_RETRY_MODE

# curl retries nothing: some of its requests get S3's 503 body, as it is.
s3_start_proxy --fail-rate 0.3 --seed 11
S3_ENDPOINT=$S3_PROXY
for i in $(seq 1 30); do
	curl -s -o "$S3T/curl.$i" -w '%{http_code}\n' "$S3_ENDPOINT/$bucket/big" \
		--aws-sigv4 "aws:amz:$S3_TEST_REGION:s3" -r 0-99 \
		--user "$S3_TEST_ACCESS_KEY:$S3_TEST_SECRET_KEY" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD"
done >"$S3T/codes"
grep -q '^503$' "$S3T/codes" || fail "curl saw no 503: $(sort "$S3T/codes" | uniq -c)"
grep -q '^206$' "$S3T/codes" || fail "curl got no object: $(sort "$S3T/codes" | uniq -c)"
grep -l '<Code>SlowDown</Code>' "$S3T"/curl.* >/dev/null || fail "no SlowDown body seen by curl"
for f in $(grep -l '<Code>' "$S3T"/curl.*); do
	grep -q '<Code>\(SlowDown\|InternalError\)</Code>' "$f" || fail "${f##*/}: $(cat "$f")"
done

finish
