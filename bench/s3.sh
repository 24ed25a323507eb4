#!/bin/bash
# bench/s3.sh: scow-sync to an object store against `aws s3 cp --recursive`
# and `rclone copy`, all three on one private RADOS Gateway
# (tests/s3/server.sh), on the workloads of bench/workloads.sh.
#
#   bench/s3.sh [-w "big ten small mixed"] [-s SCALE] [-t "8 16 32"]
#
# scow-sync runs as make install lays it out (into a private prefix) and
# as the portal starts it: scow-sync-start, then scow-sync-query every
# second until the transfer has ended. rclone runs once per --transfers
# value of -t (with --s3-upload-concurrency 8), and the best is its time.
# Each copy goes to a bucket of its own and is checked by the count and
# the sizes of its objects. Then, on the small workload, a no-op re-sync:
# scow-sync run again (comparing with the bucket, then trusting the record
# the first run kept) against `aws s3 sync`. The peak memory of each
# upload (GNU time's maximum resident set of its processes) is printed.
# After each workload's uploads, the last bucket comes back down to a
# local directory: scow-sync run -s s3://..., aws s3 cp, rclone copy.
# Needs the S3 test dependencies (./install.sh --test-deps) and rclone.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
build=${SCOW_SYNC_BUILDDIR:-$here}
workloads="big ten small mixed"
transfers="8 16 32"
scale=1
while getopts w:s:t: opt; do
	case $opt in
	w) workloads=$OPTARG ;;
	s) scale=$OPTARG ;;
	t) transfers=$OPTARG ;;
	*) exit 2 ;;
	esac
done
for prog in rclone /usr/bin/aws /usr/bin/time openssl; do
	command -v $prog >/dev/null || { echo "bench: $prog is missing"; exit 2; }
done
. "$here/bench/workloads.sh"

T=$(mktemp -d /tmp/scow-sync-s3bench.XXXXXX)
cleanup() {
	bash "$here/tests/s3/server.sh" stop "$T/gw" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
make -C "$build" install prefix="$T/inst" >/dev/null || { echo "bench: make install failed"; exit 2; }
bash "$here/tests/s3/server.sh" start "$T/gw" >/dev/null || { echo "bench: no gateway"; exit 2; }
set -a
. "$T/gw/env"
set +a
export HOME=$T/home PATH=$T/inst/bin:$PATH
mkdir -p "$HOME/.aws"
export AWS_ACCESS_KEY_ID=$S3_TEST_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_TEST_SECRET_KEY
export AWS_REGION=$S3_TEST_REGION AWS_DEFAULT_REGION=$S3_TEST_REGION AWS_ENDPOINT_URL=$S3_TEST_ENDPOINT
cat >"$HOME/.aws/config" <<EOC
[default]
region = $S3_TEST_REGION
request_checksum_calculation = when_required
response_checksum_validation = when_required
s3 =
    addressing_style = path
EOC
# The machine's own CA bundle variables make rclone's S3 client refuse to start.
unset AWS_CA_BUNDLE
export RCLONE_CONFIG_GW_TYPE=s3 RCLONE_CONFIG_GW_PROVIDER=Ceph RCLONE_CONFIG_GW_ENV_AUTH=true
export RCLONE_CONFIG_GW_ENDPOINT=$S3_TEST_ENDPOINT RCLONE_CONFIG_GW_REGION=$S3_TEST_REGION
aws() { /usr/bin/aws --endpoint-url "$S3_TEST_ENDPOINT" "$@"; }

n=0
new_bucket() {   # sets $b
	n=$((n + 1))
	b=bench-$n
	aws s3api create-bucket --bucket "$b" >/dev/null
}
# objects BUCKET PREFIX: "COUNT BYTES" of the objects under it.
objects() {
	{ aws s3api list-objects-v2 --bucket "$1" --prefix "$2" --output json || echo '{}'; } |
		python3 -c '
import json, sys
c = json.load(sys.stdin).get("Contents", [])
print(len(c), sum(o["Size"] for o in c))'
}
# Time a command: seconds on stdout, its peak memory (KiB) in $T/rss.
timed() {
	local t0 t1
	t0=$(date +%s.%N)
	/usr/bin/time -f %M -o "$T/rss" bash -c '"$@"' run "$@" >/dev/null 2>"$T/err" ||
		{ cat "$T/err" >&2; echo fail; return; }
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc
}
portal() {   # the portal's way: start, then a query every second until it has ended
	scow-sync-start -s "$1" -d "$2" -q || return 1
	while scow-sync-query >/dev/null &&
		scow-sync query --json --state running,queued | grep -q '"id"'; do
		sleep 1
	done
}

export -f aws portal
export T
printf '%-8s %-24s %9s %9s %s\n' workload tool seconds "peak MiB" objects
for w in $workloads; do
	make_workload "$w" "$T/data"
	want=$(cd "$T/data/$w" && find . -type f | wc -l) bytes=$(du -sb --apparent-size "$T/data/$w" | cut -f1)
	declare -A took=()
	run_one() {   # run_one TOOL COMMAND...
		local tool=$1 secs got rss
		shift
		new_bucket || return
		secs=$(timed "$@" "$b")
		got=$(objects "$b" "p/$w")
		rss=$(tail -1 "$T/rss" | tr -cd 0-9)
		printf '%-8s %-24s %9s %9s %s\n' "$w" "$tool" "$secs" "$(( ${rss:-0} / 1024 ))" "$got"
		[ "${got%% *}" = "$want" ] || echo "  ($tool: $want files in the source)"
		took[$tool]=$secs
	}
	scow() { portal "$T/data/$w" "s3://$1/p"; }
	scowrun() { scow-sync run -s "$T/data/$w" -d "s3://$1/p" -q; }
	awscp() { aws s3 cp --recursive --quiet "$T/data/$w" "s3://$1/p/$w"; }
	export -f scow scowrun awscp
	export w
	run_one scow-sync-portal scow
	run_one "scow-sync run" scowrun
	run_one "aws s3 cp" awscp
	for k in $transfers; do
		rc() { rclone copy --transfers "$k" --s3-upload-concurrency 8 "$T/data/$w" "gw:$1/p/$w"; }
		export -f rc
		export k
		run_one "rclone --transfers $k" rc
	done
	# Back down from the last bucket filled: each tool into a directory of its own.
	down_one() {   # down_one TOOL COMMAND...
		local tool=$1 secs got rss
		shift
		rm -rf "$T/down"
		secs=$(timed "$@")
		got=$(cd "$T/down" 2>/dev/null && find . -type f | wc -l)
		rss=$(tail -1 "$T/rss" | tr -cd 0-9)
		printf '%-8s %-24s %9s %9s %s\n' "$w" "$tool" "$secs" "$(( ${rss:-0} / 1024 ))" "$got"
		[ "$got" = "$want" ] || echo "  ($tool: $want files in the bucket)"
		diff -rq "$T/data/$w" "$T/down/$w" >/dev/null || echo "  ($tool: the copy differs)"
	}
	sget() { scow-sync run -s "s3://$b/p/$w" -d "$T/down" -q; }
	awsget() { aws s3 cp --recursive --quiet "s3://$b/p/$w" "$T/down/$w"; }
	export -f sget awsget
	export b
	down_one "download scow-sync run" sget
	down_one "download aws s3 cp" awsget
	for k in $transfers; do
		rget() { rclone copy --transfers "$k" --multi-thread-streams 8 "gw:$b/p/$w" "$T/down/$w"; }
		export -f rget
		down_one "download rclone --t $k" rget
	done
	if [ "$w" = small ]; then
		new_bucket || exit 2
		scow-sync run -s "$T/data/$w" -d "s3://$b/p" -q --trust-record
		aws s3 sync --quiet "$T/data/$w" "s3://$b/q/$w"
		# Trusting first: a plain run in between leaves the record untrusted.
		printf '%-8s %-24s %9s\n' "$w" "no-op ... --trust-record" \
			"$(timed scow-sync run -s "$T/data/$w" -d "s3://$b/p" -q --trust-record)"
		printf '%-8s %-24s %9s\n' "$w" "no-op scow-sync run" \
			"$(timed scow-sync run -s "$T/data/$w" -d "s3://$b/p" -q)"
		printf '%-8s %-24s %9s\n' "$w" "no-op aws s3 sync" \
			"$(timed aws s3 sync --quiet "$T/data/$w" "s3://$b/q/$w")"
	fi
	rm -rf "${T:?}/data/$w"
done
