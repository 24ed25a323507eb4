#!/bin/bash
# A tree to a bucket: every file an object under PREFIX/NAME/..., read back
# byte for byte by awscli; names of every kind S3 keys take (and a clear
# failure for one they cannot), empty files and directories (a "dir/"
# marker), a file in parts, each object's mtime in its metadata, and a
# re-sync that sends only what changed.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/s3/scow.sh"

bucket=$(s3_new_bucket)
src=$T/src/top
mkdir -p "$src/sub/deeper" "$src/empty/inner" "$src/space dir"
echo one >"$src/one"
: >"$src/zero"
printf 'x%.0s' $(seq 1 5000) >"$src/sub/x"
echo quoted >"$src/sub/q\"uote'd"
echo unicode >"$src/sub/deeper/ünï cödé ✓"
echo punct >"$src/space dir/a+b&c=d?e#f%g"
echo backslash >"$src/sub/back\\slash"
printf 'nl\n' >"$src/sub/new
line"
head -c $((20 * 1024 * 1024 + 12345)) /dev/urandom >"$src/big"
ln -s one "$src/link-to-one"

export SCOW_SYNC_S3_MULTIPART_MIB=8
run() {
	scow-sync run -s "$src" -d "s3://$bucket/pre/fix" --endpoint "$S3_TEST_ENDPOINT" -q "$@"
}
# counts ID: "created updated" of transfer ID, as query --json says.
counts() {
	scow-sync query --json --id "$1" | python3 -c '
import json, sys
t = json.load(sys.stdin)["transfers"][0]
print(t["state"], t["created"], t["updated"])'
}
last_id() { scow-sync query --json --all | python3 -c '
import json, sys
print(max(t["id"] for t in json.load(sys.stdin)["transfers"]))'; }

run 2>"$T/err" || fail "the upload exited $?: $(cat "$T/err")"

# What awscli reads back is the source, byte for byte.
out=$T/back
s3_aws s3 cp --recursive --quiet "s3://$bucket/pre/fix/top" "$out" ||
	fail "aws s3 cp could not read the objects back"
(cd "$src" && find . -type f -o -type l | sort) >"$T/want"
(cd "$out" && find . -type f | sort) >"$T/got"
diff "$T/want" "$T/got" >"$T/diff" || fail "the objects are not the source's files: $(cat "$T/diff")"
while IFS= read -r -d '' f; do
	cmp -s "$src/$f" "$out/$f" || fail "'$f' differs when read back"
done < <(cd "$src" && find . -type f -print0)
cmp -s "$src/one" "$out/link-to-one" || fail "the link did not go up as its file's data"

# Empty directories are "dir/" markers; the directory above them is not.
s3_aws s3api list-objects-v2 --bucket "$bucket" --prefix pre/fix/top/empty \
	--query 'Contents[].Key' --output text >"$T/markers"
grep -qx 'pre/fix/top/empty/inner/' "$T/markers" || fail "no marker for empty/inner: $(cat "$T/markers")"
grep -q 'pre/fix/top/empty/[[:space:]]' "$T/markers" &&
	fail "a marker for empty/, which is not empty"

# The mtime, as rclone writes it, and the mode.
meta=$(s3_aws s3api head-object --bucket "$bucket" --key pre/fix/top/sub/x \
	--query 'Metadata.[mtime,mode]' --output text)
want=$(python3 -c '
import os, sys
st = os.stat(sys.argv[1])
print("%d.%09d\t%04o" % (st.st_mtime_ns // 10**9, st.st_mtime_ns % 10**9, st.st_mode & 0o7777))' \
	"$src/sub/x")
[ "$meta" = "$want" ] || fail "the metadata says '$meta', want '$want'"

# The big file went up in parts: its ETag says how many (20 MiB in 8 MiB parts).
etag=$(s3_aws s3api head-object --bucket "$bucket" --key pre/fix/top/big --query ETag \
	--output text)
case $etag in *-3\"|*-3) ;; *) fail "the big file's ETag is $etag, not that of 3 parts" ;; esac

id=$(last_id)
got=$(counts "$id")
# one zero x q"uote'd ünï a+b back new-line big link: 10 files; the marker is a directory.
[ "$got" = "done 10 0" ] || fail "the first upload counted '$got', want 'done 10 0'"
scow-sync query --json --id "$id" | grep -q "\"host\": \"$S3_TEST_ENDPOINT/$bucket\"" ||
	fail "the transfer's address is not the bucket's URL"

# Nothing changed: nothing sent.
run 2>"$T/err" || fail "the re-sync exited $?: $(cat "$T/err")"
got=$(counts "$(last_id)")
[ "$got" = "done 0 0" ] || fail "a re-sync with nothing to do counted '$got', want 'done 0 0'"

# One file changed, one new: those, and the link to the changed file (its data).
sleep 1.1
echo "one, longer" >"$src/one"
echo three >"$src/sub/three"
run 2>"$T/err" || fail "the second re-sync exited $?: $(cat "$T/err")"
got=$(counts "$(last_id)")
[ "$got" = "done 1 2" ] || fail "the second re-sync counted '$got', want 'done 1 2'"
s3_aws s3 cp --quiet "s3://$bucket/pre/fix/top/one" "$T/one" && cmp -s "$T/one" "$src/one" ||
	fail "the changed file was not sent again"

# A name that is not UTF-8 cannot be a key: that file is named, the rest goes.
echo bad >"$src/bad-$(printf '\377')-name"
echo four >"$src/four"
run 2>"$T/err" && fail "a name that is not UTF-8 did not fail the run"
grep -q 'not UTF-8' "$T/err" "$HOME/scow/.scow-sync/scow-sync.log" ||
	fail "the failure does not say why: $(cat "$T/err")"
s3_aws s3 cp --quiet "s3://$bucket/pre/fix/top/four" "$T/four" && cmp -s "$T/four" "$src/four" ||
	fail "the other new file did not go up beside the bad name"
finish
