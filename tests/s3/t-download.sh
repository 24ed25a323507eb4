#!/bin/bash
# Objects to local files with s3-download (through tests/s3/s3-get-one):
# empty, one byte, 20 MiB in ranges (a multipart upload's object, and a
# single PUT's, whose MD5 is then checked), odd names and a name of 255
# bytes, byte for byte; the mtime and mode of the metadata; a second run
# that reads nothing; and no temporary file left after a success, a
# missing key, an object replaced while read or a full disk; retries
# through cut connections. Then a listing of more objects than one page
# holds.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/s3/scow.sh"

get=${SCOW_SYNC_BUILDDIR:-$(dirname "$0")/../..}/tests/s3/s3-get-one
[ -x "$get" ] || skip "tests/s3/s3-get-one is not built: run make check"
bucket=$(s3_new_bucket) || { fail "cannot make a bucket"; finish; }
src=$T/src out=$T/out
mkdir -p "$src" "$out"

# get KEY NAME [OPTIONS...]: download to $out/NAME; its output in $T/got.
get() {
	local key=$1 name=$2
	shift 2
	"$get" "$@" "s3://$bucket" "$key" "$out" "$name" >"$T/got" 2>&1
}
outcome() { tail -n1 "$T/got"; }
# No hidden temporary file in $out.
no_debris() {
	local left
	left=$(cd "$out" && find . -name '.*.scow-*')
	[ -z "$left" ] || fail "$1: temporary files left: $left"
}

: >"$src/empty"
printf x >"$src/one"
head -c $((20 * 1024 * 1024 + 12345)) /dev/urandom >"$src/big"
echo odd >"$src/odd"
s3_aws s3 cp --quiet "$src/empty" "s3://$bucket/d/empty" || fail "cannot upload empty"
s3_aws s3 cp --quiet "$src/one" "s3://$bucket/d/one" \
	--metadata mtime=1600000000.250000000,mode=0640 || fail "cannot upload one"
# awscli sends 20 MiB in 8 MiB parts ("-3"); put-object in one PUT (an MD5 ETag).
s3_aws s3 cp --quiet "$src/big" "s3://$bucket/d/big" || fail "cannot upload big"
s3_aws s3api put-object --bucket "$bucket" --key d/big-whole --body "$src/big" >/dev/null ||
	fail "cannot put big-whole"
oddkey='d/a b+c&d=e%f?g#h ünï'
s3_aws s3 cp --quiet "$src/odd" "s3://$bucket/$oddkey" || fail "cannot upload the odd name"

for f in empty one big big-whole; do
	get "d/$f" "$f" || fail "$f: $(cat "$T/got")"
	want=$src/$f
	[ "$f" = big-whole ] && want=$src/big
	cmp -s "$want" "$out/$f" || fail "$f differs from what was uploaded"
	grep -q '^temp \.'"$f"'\.scow-' "$T/got" || fail "$f: no temporary name said: $(cat "$T/got")"
done
no_debris "after the downloads"
# The MD5 is checked where the ETag is one, and only there.
get d/big-whole big-whole -f && grep -q '^SENT md5=1 ' "$T/got" ||
	fail "the single PUT's MD5 was not checked: $(outcome)"
get d/big big -f && grep -q '^SENT md5=0 ' "$T/got" ||
	fail "the multipart object: $(outcome)"
get d/one one -f && grep -q '^SENT md5=1 ' "$T/got" || fail "one: $(outcome)"
# One GET when ranges start higher; ranges of 8 at once.
get d/big-whole big-one-get -m $((1 << 30)) && grep -q '^SENT md5=1 ' "$T/got" &&
	cmp -s "$src/big" "$out/big-one-get" || fail "in one GET: $(outcome)"
get d/big big-ranged -m 0 -p 8 && cmp -s "$src/big" "$out/big-ranged" ||
	fail "ranges of 8 at once: $(outcome)"

# Metadata: mtime to the nanosecond and the mode; else Last-Modified and 0666 less the umask.
[ "$(stat -c %a "$out/one")" = 640 ] || fail "one's mode is $(stat -c %a "$out/one"), not 640"
[ "$(python3 -c 'import os,sys; print(os.stat(sys.argv[1]).st_mtime_ns)' "$out/one")" = \
	1600000000250000000 ] || fail "one's mtime is not its metadata's: $got"
lm=$(s3_aws s3api head-object --bucket "$bucket" --key d/empty --query LastModified --output text)
[ "$(stat -c %Y "$out/empty")" = "$(date -d "$lm" +%s)" ] ||
	fail "empty's mtime $(stat -c %Y "$out/empty") is not Last-Modified ($lm)"
[ "$(stat -c %a "$out/empty")" = "$(printf '%o' $((0666 & ~$(umask))))" ] ||
	fail "empty's mode is $(stat -c %a "$out/empty")"

# A second run reads nothing: the files are the objects already.
for f in empty one big big-whole; do
	get "d/$f" "$f" && [ "$(outcome)" = "SAME md5=0 errno=0 " ] ||
		fail "$f again: $(cat "$T/got")"
done
touch -d @1600000001 "$out/one"
get d/one one && grep -q '^SENT ' "$T/got" || fail "one with another mtime was not fetched"

# Odd bytes in the key and the name; the longest name a file may have.
get "$oddkey" 'a b+c&d=e%f?g#h ünï' && cmp -s "$src/odd" "$out/a b+c&d=e%f?g#h ünï" ||
	fail "the odd name: $(cat "$T/got")"
long=$(printf 'L%.0s' $(seq 1 255))
get d/one "$long" && cmp -s "$src/one" "$out/$long" || fail "a 255-byte name: $(cat "$T/got")"
no_debris "after the odd names"

# A missing key: a failure that says so, and nothing left.
ls -A "$out" >"$T/before"
get d/none none && fail "a missing key did not fail"
grep -q '^FAILED .*404 NoSuchKey' "$T/got" || fail "a missing key: $(outcome)"
ls -A "$out" >"$T/after"
cmp -s "$T/before" "$T/after" || fail "a missing key left: $(diff "$T/before" "$T/after")"

# Replaced between the HEAD and the GETs: If-Match refuses, the old file stays.
cat >"$T/replace" <<-EOF2
	#!/bin/bash
	head -c 5000 /dev/urandom >"$T/other"
	AWS_CONFIG_FILE="$S3T/cfg1/aws-config" AWS_SHARED_CREDENTIALS_FILE="$S3T/cfg1/aws-credentials" \\
		HOME="$S3T" "$S3_AWS_BIN" --endpoint-url "$S3_TEST_ENDPOINT" \\
		s3 cp --quiet "$T/other" "s3://$bucket/d/big-whole"
EOF2
chmod +x "$T/replace"
for opts in "-m 0" "-m $((1 << 30))"; do
	get d/big-whole big-whole -f $opts -x "$T/replace" &&
		fail "an object replaced while read did not fail ($opts)"
	grep -q '^CHANGED ' "$T/got" || fail "an object replaced while read ($opts): $(outcome)"
	cmp -s "$src/big" "$out/big-whole" || fail "the file was touched by a failed download"
	s3_aws s3 cp --quiet "$src/big" "s3://$bucket/d/big-whole"
done
no_debris "after the changed object"

# A full disk: a clear local error, nothing left.
full=$T/full
mkdir -p "$full"
if mount -t tmpfs -o size=1m tmpfs "$full" 2>/dev/null; then
	for opts in "" "-m 0"; do
		"$get" $opts "s3://$bucket" d/big "$full" big >"$T/got" 2>&1 &&
			fail "a full disk did not fail ($opts)"
		grep -q '^LOCAL_ERROR errno=28 .*No space left on device' \
			<(sed 's/md5=[01] //' "$T/got") || fail "a full disk ($opts): $(outcome)"
		[ -z "$(ls -A "$full")" ] || fail "a full disk left: $(ls -A "$full")"
	done
	umount "$full" || fail "cannot unmount $full"
else
	echo "no tmpfs mount (not root?): the full disk is not tried"
fi
no_debris "at the end"

# Through connections cut halfway through a body, and 503s: each retry
# writes its range again from its start, and the file is the object.
s3_start_proxy --drop-rate 0.25 --fail-rate 0.1 --seed 11
for opts in "-m 0 -p 4" "-m $((1 << 30))"; do
	S3_TEST_ENDPOINT=$S3_PROXY get d/big-whole big-faults -f $opts &&
		cmp -s "$src/big" "$out/big-faults" ||
		fail "through the faulty proxy ($opts): $(outcome)"
done
grep -q '^drop GET' "$T/proxy.log" || fail "the proxy cut no GET: $(cat "$T/proxy.log")"
s3_stop_proxy
no_debris "after the faults"

# A listing longer than a page (1000 keys): every key once, decoded.
mkdir -p "$src/many"
for i in $(seq 1 1003); do : >"$src/many/f$i"; done
: >"$src/many/with space %41"
s3_aws s3 cp --quiet --recursive "$src/many" "s3://$bucket/many" ||
	fail "cannot upload the many files"
"$get" -l "s3://$bucket" many/ >"$T/list" 2>"$T/list.err" || fail "listing: $(cat "$T/list.err")"
[ "$(wc -l <"$T/list")" = 1004 ] || fail "the listing has $(wc -l <"$T/list") objects, not 1004"
grep -q $'^many/with space %41\t0\t' "$T/list" || fail "the key with a space is not decoded"
[ "$(cut -f1 "$T/list" | sort -u | wc -l)" = 1004 ] || fail "a key is listed twice"
finish
