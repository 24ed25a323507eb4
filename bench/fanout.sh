#!/bin/bash
# bench/fanout.sh: one source to 4 hosts, against plain rsync (run by hand,
# as root; never in CI).
#
# The hosts are network namespaces with their own sshd (tests/hosts/net.sh);
# the source's uplink is shaped to SRC_RATE (100mbit), each host's link to
# HOST_RATE (1gbit). The workload is 10 files of 32 MiB. Each row is one
# run, in this order, on the same data:
#   one      scow-sync to one host (the baseline of the relay's target)
#   relay    scow-sync to the 4 hosts as the portal asks (the relay is the
#            default from 3 hosts: no flag)
#   direct   scow-sync to the 4 hosts, --no-relay
#   rsync-seq  four plain rsyncs, one after another
#   rsync-par  four plain rsyncs at once
# scow-sync runs as the portal starts it: scow-sync-start, then
# scow-sync-query once a second until it is no longer listed, from an
# installed tree (make install DESTDIR=...). For each row: the seconds, and
# the bytes out of the source's uplink over the payload.
#
#   bench/fanout.sh [FILES] [MIB]      (default 10 32)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
files=${1:-10}
mib=${2:-32}
SRC_RATE=${SRC_RATE:-100mbit}
HOST_RATE=${HOST_RATE:-1gbit}
[ "$(id -u)" = 0 ] || { echo "fanout.sh: run as root (network namespaces)" >&2; exit 2; }

B=$(mktemp -d /tmp/scow-sync-bench-fanout.XXXXXX) || exit 1
net=$B/net
cleanup() {
	bash "$top/tests/hosts/net.sh" stop "$net" >/dev/null 2>&1
	rm -rf "$B"
}
trap cleanup EXIT

# The installed commands, as a site's make install lays them out.
make -C "$top" -s install DESTDIR="$B/root" >/dev/null || exit 1
bin=$B/root/usr/local/bin
[ -x "$bin/scow-sync-start" ] || { echo "fanout.sh: no scow-sync-start in $bin" >&2; exit 1; }

SRC_RATE=$SRC_RATE HOST_RATE=$HOST_RATE bash "$top/tests/hosts/net.sh" start "$net" 4 \
	>"$B/net.log" 2>&1 || { cat "$B/net.log"; exit 1; }
set -a
. "$net/env"
set +a
bash "$top/tests/hosts/net.sh" shape "$net" src "$SRC_RATE" >/dev/null
for k in 1 2 3 4; do
	bash "$top/tests/hosts/net.sh" shape "$net" "h$k" "$HOST_RATE" >/dev/null
done

src=$B/data/set
mkdir -p "$src"
for i in $(seq 1 "$files"); do
	head -c $((mib << 20)) /dev/urandom >"$src/f$i"
done
payload=$(du -sb "$src" | awk '{ print $1 }')
export HOME=$B/home SCOW_SYNC_SSH_CONFIG=none SCOW_SYNC_KEEP_CONNECTION=0
mkdir -p "$HOME/.ssh"
cp "$HOSTS_KNOWN_HOSTS" "$HOME/.ssh/known_hosts"
on_src() { ip netns exec "$HOSTS_SRC_NS" env PATH="$bin:$PATH" "$@"; }
tx() { on_src cat "/sys/class/net/$HOSTS_SRC_IFACE/statistics/tx_bytes"; }
addr() { eval echo "\$HOSTS_ADDR_$1"; }
clear_hosts() {
	local k
	for k in 1 2 3 4; do
		eval rm -rf "\$HOSTS_HOME_$k/bench"
	done
}
ssh_cmd="ssh -F none -o UserKnownHostsFile=$HOME/.ssh/known_hosts -o BatchMode=yes -i $HOSTS_KEY"

# The state of the newest transfer.
newest_state() {
	on_src scow-sync query --json --all | python3 -c '
import json, sys
print(json.load(sys.stdin)["transfers"][0]["state"])'
}
# scow-sync-start, then poll scow-sync-query once a second, as the portal
# does, until the transfer has ended.
portal_run() {
	local state
	on_src scow-sync-start "$@" -u "$HOSTS_USER" -k "$HOSTS_KEY" -s "$src" -d bench >/dev/null ||
		return 1
	while :; do
		sleep 1
		on_src scow-sync-query >/dev/null
		state=$(newest_state)
		[ "$state" = queued ] || [ "$state" = running ] || break
	done
	[ "$state" = done ] || { on_src scow-sync status --all | head -8 >&2; return 1; }
}
row() {
	local name=$1 t0 t1 b0 b1
	shift
	clear_hosts
	sync
	b0=$(tx)
	t0=$(date +%s.%N)
	"$@" || echo "fanout.sh: $name failed" >&2
	t1=$(date +%s.%N)
	b1=$(tx)
	printf '| %-10s | %7.1f | %5.2f |\n' "$name" "$(echo "$t1 - $t0" | bc)" \
		"$(echo "scale=3; ($b1 - $b0) / $payload" | bc)"
}
rsync_one() { on_src rsync -a -e "$ssh_cmd" "$src" "$HOSTS_USER@$(addr "$1"):bench/"; }
rsync_seq() { local k; for k in 1 2 3 4; do rsync_one "$k" || return 1; done; }
rsync_par() {
	local k rc=0
	for k in 1 2 3 4; do rsync_one "$k" & done
	for k in 1 2 3 4; do wait -n || rc=1; done
	return $rc
}

echo "$files x $mib MiB, source uplink $SRC_RATE, host links $HOST_RATE, $(date -u +%F)"
echo
echo "| run        | seconds | bytes out / payload |"
echo "| --- | ---: | ---: |"
all="$(addr 1),$(addr 2),$(addr 3),$(addr 4)"
row one portal_run -a "$(addr 1)"
row relay portal_run -a "$all"
row direct portal_run --no-relay -a "$all"
row rsync-seq rsync_seq
row rsync-par rsync_par
