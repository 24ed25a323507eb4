#!/bin/bash
# An upload started as the portal starts it, and stopped: query shows the
# file in flight with the bucket's URL as recvAddress; terminate leaves no
# multipart upload behind and no object under the stopped file's key; a
# supervisor killed with -9 mid-upload is resumed, and the upload goes on
# from the parts the store has.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/s3/scow.sh"

bucket=$(s3_new_bucket)
src=$T/src/top
mkdir -p "$src"
head -c $((96 * 1024 * 1024)) /dev/urandom >"$src/big"
export SCOW_SYNC_S3_MULTIPART_MIB=8 SCOW_SYNC_WORKERS=1
# 96 MiB in 8 MiB parts, eight at once, at 16 MiB/s: some six seconds in flight.
start() {
	scow-sync-start -s "$src" -d "s3://$bucket/p" --endpoint "$S3_TEST_ENDPOINT" \
		--bwlimit 16384
}
uploads() {
	s3_aws s3api list-multipart-uploads --bucket "$bucket" --query 'Uploads[].Key' \
		--output text
}
in_flight() { scow-sync-query | grep -q '"filePath"'; }
state() {
	scow-sync query --json --all | python3 -c '
import json, sys
print(json.load(sys.stdin)["transfers"][0]["state"])'
}

start 2>"$T/err" || fail "scow-sync-start exited $?: $(cat "$T/err")"
wait_for 20 in_flight || fail "query never showed the file in flight"
scow-sync-query >"$T/rows"
python3 - "$T/rows" "$S3_TEST_ENDPOINT/$bucket" "$src/big" <<'PY' || fail "query's row: $(cat "$T/rows")"
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == 1, rows
r = rows[0]
assert r["recvAddress"] == sys.argv[2], r
assert r["filePath"] == sys.argv[3], r
assert set(r) == {"recvAddress", "filePath", "transferSize", "progress", "speed", "leftTime"}, r
PY
sleep 2
[ -n "$(uploads)" ] && [ "$(uploads)" != None ] || fail "no multipart upload in flight to stop"

scow-sync-terminate -s "$src" 2>"$T/err" || fail "terminate exited $?: $(cat "$T/err")"
wait_for 20 sh -c '! scow-sync-query | grep -q filePath' || fail "still in flight after terminate"
wait_for 20 sh -c "scow-sync query --json --all | grep -q '\"terminated\"'" ||
	fail "the transfer did not end terminated"
got=$(uploads)
[ -z "$got" ] || [ "$got" = None ] || fail "multipart uploads left after terminate: $got"
s3_aws s3api head-object --bucket "$bucket" --key p/top/big >/dev/null 2>&1 &&
	fail "the stopped file is visible under its key"

# kill -9 of the supervisor mid-upload, then resume: it goes on from the parts there.
start 2>"$T/err" || fail "the second start exited $?: $(cat "$T/err")"
wait_for 20 in_flight || fail "the second start never showed the file in flight"
parts() {
	s3_aws s3api list-parts --bucket "$bucket" --key p/top/big \
		--upload-id "$(s3_aws s3api list-multipart-uploads --bucket "$bucket" \
			--query 'Uploads[0].UploadId' --output text)" \
		--query 'length(Parts)' --output text 2>/dev/null
}
some_parts() { [ "$(parts)" -gt 0 ] 2>/dev/null; }
wait_for 30 some_parts || fail "no part of the upload arrived before the kill"
pid=$(python3 - "$HOME/scow/.scow-sync/scow-sync.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=15)
print(db.execute("SELECT sup_pid FROM transfers ORDER BY id DESC LIMIT 1").fetchone()[0] or "")
PY
)
[ -n "$pid" ] || fail "no supervisor to kill"
kill -9 "$pid"
sleep 1
[ -n "$(uploads)" ] && [ "$(uploads)" != None ] || fail "no multipart upload left by the kill"
scow-sync resume -q 2>"$T/err" || fail "resume exited $?: $(cat "$T/err")"
wait_for 60 sh -c "scow-sync query --json --all | grep -q '\"done\"'" ||
	fail "the resumed transfer did not end done"
grep -q "went on from [0-9]* bytes of parts" "$HOME/scow/.scow-sync/scow-sync.log" ||
	fail "the resumed upload did not go on from the parts there"
s3_aws s3 cp --quiet "s3://$bucket/p/top/big" "$T/big" && cmp -s "$T/big" "$src/big" ||
	fail "the resumed upload is not the file"
got=$(uploads)
[ -z "$got" ] || [ "$got" = None ] || fail "multipart uploads left after the resume: $got"
finish
