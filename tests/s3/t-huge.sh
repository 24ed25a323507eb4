#!/bin/bash
# A file over 5 GiB, S3's limit for one PUT (a sparse one, with data at a
# few places so that parts differ): it goes up in parts, and the object's
# ETag is the MD5 of the parts' MD5s that Python computes from the file,
# whatever part size the upload chose (found from the part count).
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/s3/scow.sh"

bucket=$(s3_new_bucket)
src=$T/src/top
mkdir -p "$src"
truncate -s $((5 * 1024 * 1024 * 1024 + 12345)) "$src/huge"
for off in 0 1234567890 4000000000 $((5 * 1024 * 1024 * 1024 - 65536)); do
	head -c 65536 /dev/urandom | dd of="$src/huge" bs=1 seek="$off" conv=notrunc status=none
done
[ "$(stat -c %s "$src/huge")" = $((5 * 1024 * 1024 * 1024 + 12345)) ] || fail "the file grew"

# Above the threshold anyone would set, to show it is not what decides.
SCOW_SYNC_S3_MULTIPART_MIB=8192 scow-sync run -s "$src" -d "s3://$bucket/p" \
	--endpoint "$S3_TEST_ENDPOINT" -q 2>"$T/err" ||
	fail "the upload exited $?: $(cat "$T/err")"
etag=$(s3_aws s3api head-object --bucket "$bucket" --key p/top/huge --query ETag --output text)
size=$(s3_aws s3api head-object --bucket "$bucket" --key p/top/huge --query ContentLength \
	--output text)
[ "$size" = $((5 * 1024 * 1024 * 1024 + 12345)) ] || fail "the object has $size bytes"
python3 - "$src/huge" "$etag" <<'PY' || fail "the object's ETag $etag is not the file's"
import hashlib, sys
path, etag = sys.argv[1], sys.argv[2].strip('"')
digest, n = etag.split("-")
n = int(n)
size = __import__("os").path.getsize(path)
part = -(-size // n)
part = -(-part // (1 << 20)) * (1 << 20)   # whole MiBs, as the upload chose
mds = b""
with open(path, "rb") as f:
    while True:
        chunk = f.read(part)
        if not chunk:
            break
        mds += hashlib.md5(chunk).digest()
sys.exit(0 if hashlib.md5(mds).hexdigest() == digest and len(mds) == 16 * n else 1)
PY
got=$(s3_aws s3api list-multipart-uploads --bucket "$bucket" --query 'Uploads[].Key' --output text)
[ -z "$got" ] || [ "$got" = None ] || fail "multipart uploads left: $got"
finish
