#!/bin/bash
# bench/nodes.sh: one transfer spread over Slurm nodes, against one node
# (run by hand, as root; never in CI).
#
# The cluster is tests/slurm/cluster.sh's: slurmctld on the login node
# src, N nodes (default 4) with a slurmd each, every node's link shaped to
# NODE_RATE (100mbit), the destination h1's to DEST_RATE (1gbit). For each
# workload of bench/workloads.sh named (default: ten mixed small), on the
# same data, one row each:
#   rsync     plain rsync from one node (srun -N1)
#   fpsync    fpsync (fpart's) with the N nodes as its ssh workers, N jobs
#             at once: the peer that spreads rsyncs over nodes
#   one       scow-sync --nodes 1
#   nodes     scow-sync --nodes N
# scow-sync runs as the portal starts it: scow-sync-start, then
# scow-sync-query once a second until it has ended, from an installed
# tree (make install DESTDIR=...). Each row: seconds, MB/s, the ratio to
# "one", the busy CPU seconds of the whole machine (the nodes, the
# destination and the login node all share it), and the supervisor's own
# CPU seconds and peak memory (VmHWM), sampled from /proc while it runs.
# Every copy is compared with the source.
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
dest=
cleanup() {
	[ -z "${SSH_AGENT_PID:-}" ] || kill "$SSH_AGENT_PID" 2>/dev/null
	bash "$top/tests/slurm/cluster.sh" stop "$net" >/dev/null 2>&1
	rm -rf "$B" "${dest:-}"
}
trap cleanup EXIT
command -v fpsync >/dev/null || { echo "nodes.sh: fpsync is missing: apt-get install fpart" >&2; exit 2; }

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
# DEST_DIR: where h1 writes (default in the bench's directory, on /tmp's
# file system). Creating many small files there can cost more system time
# than the links take to carry them; /dev/shm takes the destination's disk
# out of the comparison.
dest=${DEST_DIR:-$B}/scow-sync-bench-dest.$$
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

# fpsync's workers are reached by ssh from the login node, and each one's
# rsync reaches the destination with the login node's key, through an agent
# forwarded as the hosts network does (no host has a key file of its own).
# Host keys are not checked on this private network.
workers=
fpsync_setup() {
	local i home
	mkdir -p "$B/fpsync-bin" "$B/fpsync-shared" "$B/fpsync-tmp"
	printf '#!/bin/sh\nexec /usr/bin/ssh -F none -A -o BatchMode=yes -o LogLevel=ERROR -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -i %q "$@"\n' \
		"$HOSTS_KEY" >"$B/fpsync-bin/ssh"
	chmod +x "$B/fpsync-bin/ssh"
	eval "$(ssh-agent -a "$B/agent" -s)" >/dev/null
	ssh-add -q "$HOSTS_KEY"
	for i in $(seq 2 $((nodes + 1))); do
		home=HOSTS_HOME_$i
		mkdir -p "${!home}/.ssh"
		printf 'Host *\n\tBatchMode yes\n\tLogLevel ERROR\n\tStrictHostKeyChecking no\n\tUserKnownHostsFile /dev/null\n' \
			>"${!home}/.ssh/config"
		addr=HOSTS_ADDR_$i
		workers="$workers $HOSTS_USER@${!addr}"
	done
}
# Its partitions (a job each) sized as scow-sync's first batches are, two
# shares a node, so that the jobs spread over the workers (by default one
# partition holds up to 2,000 files and 4 GB: ten 32 MiB files would all
# go to one worker).
fpsync_nodes() {
	local files
	files=$(find "$src" -type f | wc -l)
	rm -rf "$B/fpsync-shared"/* "$B/fpsync-tmp"/*
	on_src env PATH="$B/fpsync-bin:$PATH" fpsync -n "$nodes" -w "${workers# }" \
		-f $(((files + 2 * nodes - 1) / (2 * nodes))) -s $((payload / (2 * nodes) + 1)) \
		-d "$B/fpsync-shared" -t "$B/fpsync-tmp" "$src/" "$HOSTS_USER@$DEST_ADDR:$dest/$w/" \
		2>&1 | grep -v "job control turned off" >&2
	return "${PIPESTATUS[0]}"
}

# The machine's busy CPU seconds so far (/proc/stat: all but idle and iowait).
busy() { awk '/^cpu / { print ($2 + $3 + $4 + $7 + $8) / '"$(getconf CLK_TCK)"' }' /proc/stat; }

base=
row() {
	local name=$1 t0 t1 secs mbs ratio b0 b1
	shift
	rm -rf "$dest"
	mkdir -p "$dest"
	sync
	cpu=- hwm=-
	b0=$(busy)
	t0=$(date +%s.%N)
	"$@" || echo "nodes.sh: $name failed" >&2
	t1=$(date +%s.%N)
	b1=$(busy)
	secs=$(echo "$t1 - $t0" | bc)
	mbs=$(echo "scale=1; $payload / $secs / 1000000" | bc)
	[ "$name" = one ] && base=$secs
	ratio=-
	[ -n "$base" ] && ratio=$(echo "scale=2; $base / $secs" | bc)
	# The copy must be the source, whoever made it.
	diff -r "$src" "$dest/$w" >/dev/null || echo "nodes.sh: $name: the copy differs" >&2
	printf '| %-6s | %-6s | %7.1f | %6s | %5s | %7.1f | %6s | %8s |\n' "$w" "$name" "$secs" \
		"$mbs" "$ratio" "$(echo "$b1 - $b0" | bc)" "$cpu" "$hwm"
}

fpsync_setup
echo "$nodes nodes, node links $NODE_RATE, destination $DEST_RATE, $(date -u +%F)"
echo
echo "| data | run | seconds | MB/s | x one | machine CPU s | sup CPU s | sup KiB |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for w in "${workloads[@]}"; do
	make_workload "$w" "$B/data"
	src=$B/data/$w
	payload=$(du -sb "$src" | awk '{ print $1 }')
	base=
	row rsync rsync_one
	row fpsync fpsync_nodes
	row one portal_run --nodes 1
	row nodes portal_run --nodes "$nodes"
	rm -rf "$src"
done
