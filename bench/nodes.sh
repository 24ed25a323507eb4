#!/bin/bash
# bench/nodes.sh: one transfer spread over Slurm nodes, against one node
# (run by hand, as root; never in CI).
#
# The cluster is tests/slurm/cluster.sh's: slurmctld on the login node
# src, N nodes (default 4) with a slurmd each, every node's link shaped to
# NODE_RATE (100mbit), the destination h1's to DEST_RATE (1gbit). For each
# workload of bench/workloads.sh named (default: ten mixed small), on the
# same data, one row each:
#   rsync     plain rsync from one node (srun -N1), the peer
#   one       scow-sync --nodes 1
#   nodes     scow-sync --nodes N
# scow-sync runs as the portal starts it: scow-sync-start, then
# scow-sync-query once a second until it has ended, from an installed
# tree (make install DESTDIR=...). Each row: seconds, MB/s, the ratio to
# "one", and the supervisor's own CPU seconds and peak memory (VmHWM),
# sampled from /proc while it runs.
#
#   bench/nodes.sh [WORKLOAD...]     (NODES=4 scale=1)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
nodes=${NODES:-4}
NODE_RATE=${NODE_RATE:-100mbit}
DEST_RATE=${DEST_RATE:-1gbit}
[ "$(id -u)" = 0 ] || { echo "nodes.sh: run as root (network namespaces)" >&2; exit 2; }
workloads=("$@")
[ ${#workloads[@]} -gt 0 ] || workloads=(ten mixed small)
. "$top/bench/workloads.sh"

B=$(mktemp -d /tmp/scow-sync-bench-nodes.XXXXXX) || exit 1
net=$B/net
cleanup() {
	bash "$top/tests/slurm/cluster.sh" stop "$net" >/dev/null 2>&1
	rm -rf "$B"
}
trap cleanup EXIT

# The installed commands, as a site's make install lays them out.
make -C "$top" -s install DESTDIR="$B/root" >/dev/null || exit 1
bin=$B/root/usr/local/bin
[ -x "$bin/scow-sync-start" ] || { echo "nodes.sh: no scow-sync-start in $bin" >&2; exit 1; }

NODE_RATE=$NODE_RATE DEST_RATE=$DEST_RATE bash "$top/tests/slurm/cluster.sh" start "$net" \
	"$nodes" >"$B/cluster.log" 2>&1 || { cat "$B/cluster.log"; exit 1; }
set -a
. "$net/env"
set +a
export HOME=$B/home SCOW_SYNC_SSH_CONFIG=none SCOW_SYNC_KEEP_CONNECTION=0 TMPDIR=$B/tmp
mkdir -p "$HOME/.ssh" "$TMPDIR"
cp "$HOSTS_KNOWN_HOSTS" "$HOME/.ssh/known_hosts"
on_src() { ip netns exec "$HOSTS_SRC_NS" env PATH="$bin:$PATH" "$@"; }
dest=$B/dest
ssh_cmd="ssh -F none -o UserKnownHostsFile=$HOME/.ssh/known_hosts -o BatchMode=yes -i $HOSTS_KEY"

newest() {
	on_src scow-sync query --json --all | python3 -c '
import json, sys
t = json.load(sys.stdin)["transfers"][0]
print(t["id"], t["state"])'
}
sup_pid() {
	python3 - "$HOME/scow/.scow-sync/scow-sync.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=15)
r = db.execute("SELECT sup_pid FROM transfers WHERE id = ?", (int(sys.argv[2]),)).fetchone()
print(r[0] if r and r[0] else "")
PY
}
# The supervisor's CPU seconds (user + system) and peak memory (KiB), last seen.
cpu=0 hwm=0
sample() {
	local pid=$1 ticks s
	[ -r "/proc/$pid/stat" ] || return 0
	ticks=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null) || return 0
	s=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
	[ -n "$ticks" ] && cpu=$(echo "scale=2; $ticks / $(getconf CLK_TCK)" | bc)
	[ -n "$s" ] && [ "$s" -gt "$hwm" ] && hwm=$s
	return 0
}
# scow-sync-start, then scow-sync-query once a second, as the portal does.
portal_run() {
	local id state pid=
	on_src scow-sync-start -a "$DEST_ADDR" -u "$HOSTS_USER" -k "$HOSTS_KEY" -s "$src" \
		-d "$dest" "$@" >/dev/null || return 1
	cpu=0 hwm=0
	while :; do
		read -r id state < <(newest)
		[ -n "$pid" ] || pid=$(sup_pid "$id")
		[ -z "$pid" ] || sample "$pid"
		[ "$state" = queued ] || [ "$state" = running ] || break
		sleep 1
		on_src scow-sync-query >/dev/null
	done
	[ "$state" = done ] || { on_src scow-sync status --all | head -8 >&2; return 1; }
}
rsync_one() {
	on_src srun -N1 -n1 --quiet rsync -a -e "$ssh_cmd" "$src" "$HOSTS_USER@$DEST_ADDR:$dest/"
}

base=
row() {
	local name=$1 t0 t1 secs mbs ratio
	shift
	rm -rf "$dest"
	mkdir -p "$dest"
	sync
	cpu=- hwm=-
	t0=$(date +%s.%N)
	"$@" || echo "nodes.sh: $name failed" >&2
	t1=$(date +%s.%N)
	secs=$(echo "$t1 - $t0" | bc)
	mbs=$(echo "scale=1; $payload / $secs / 1000000" | bc)
	[ "$name" = one ] && base=$secs
	ratio=-
	[ -n "$base" ] && ratio=$(echo "scale=2; $base / $secs" | bc)
	printf '| %-6s | %-6s | %7.1f | %6s | %5s | %6s | %8s |\n' "$w" "$name" "$secs" "$mbs" \
		"$ratio" "$cpu" "$hwm"
}

echo "$nodes nodes, node links $NODE_RATE, destination $DEST_RATE, $(date -u +%F)"
echo
echo "| data | run | seconds | MB/s | x one | sup CPU s | sup KiB |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
for w in "${workloads[@]}"; do
	make_workload "$w" "$B/data"
	src=$B/data/$w
	payload=$(du -sb "$src" | awk '{ print $1 }')
	base=
	row rsync rsync_one
	row one portal_run --nodes 1
	row nodes portal_run --nodes "$nodes"
	rm -rf "$src"
done
