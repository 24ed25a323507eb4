#!/bin/bash
# A store that fails now and then: through tests/s3/faulty-proxy.py, which
# answers one request in five 503 SlowDown or 500 InternalError and cuts
# some connections mid-way, an upload of small files and files in parts
# still ends done, every object the file it should be. A store that
# never answers well fails the run in bounded time with its reason.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/s3/scow.sh"

bucket=$(s3_new_bucket)
src=$T/src/top
mkdir -p "$src/small" "$src/large"
for i in $(seq 1 60); do
	head -c $((RANDOM * 3)) /dev/urandom >"$src/small/f$i"
done
for i in 1 2; do
	head -c $((20 * 1024 * 1024 + i * 4321)) /dev/urandom >"$src/large/g$i"
done

s3_start_proxy --fail-rate 0.2 --drop-rate 0.03 --seed 11
proxy=$S3_PROXY
SCOW_SYNC_S3_MULTIPART_MIB=8 scow-sync run -s "$src" -d "s3://$bucket/p" --endpoint "$proxy" \
	--region "$S3_TEST_REGION" -q 2>"$T/err" || fail "the upload through faults exited $?: $(cat "$T/err")"
injected=$(grep -c "^fail\|^drop" "$T/proxy.log" 2>/dev/null)
[ "$injected" -gt 0 ] || fail "the proxy injected no fault"
# Read back from the gateway itself.
s3_aws s3 cp --recursive --quiet "s3://$bucket/p/top" "$T/back" || fail "cannot read back"
while IFS= read -r -d '' f; do
	cmp -s "$src/$f" "$T/back/$f" || fail "'$f' differs after the faults"
done < <(cd "$src" && find . -type f -print0)
n=$(cd "$T/back" && find . -type f | wc -l)
[ "$n" = 62 ] || fail "$n objects read back, want 62"
got=$(s3_aws s3api list-multipart-uploads --bucket "$bucket" --query 'Uploads[].Key' --output text)
[ -z "$got" ] || [ "$got" = None ] || fail "multipart uploads left: $got"

# Nothing but errors: the run ends, failed, with the store's reason.
s3_start_proxy --fail-rate 1
proxy=$S3_PROXY
t0=$(date +%s)
scow-sync run -s "$src" -d "s3://$bucket/q" --endpoint "$proxy" --region "$S3_TEST_REGION" \
	2>"$T/err"
rc=$?
[ "$rc" = 1 ] || fail "a store that only fails: exit $rc, want 1"
grep -q 'SlowDown\|InternalError\|HTTP 50[03]' "$T/err" || fail "the reason is not the store's: $(cat "$T/err")"
[ $(($(date +%s) - t0)) -lt 60 ] || fail "a store that only fails took over a minute to give up"
finish
