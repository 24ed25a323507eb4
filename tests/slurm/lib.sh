# tests/slurm/lib.sh: what every case of the Slurm suite (tests/slurm/t-*.sh)
# sources (bash), after tests/hosts/lib.sh's (T, HOME, on_src, fail, ...).
#
# tests/slurm.tap runs each case on one cluster (tests/slurm/cluster.sh):
# the destination is h1 ($DEST_ADDR), the nodes are h2.. ($SLURM_NODES),
# of partition xfer, each link shaped. A case gets, beside hosts/lib.sh's:
#   DEST              $T/dest, a directory h1 sees (the file system is shared)
#   xfer ARGS...      scow-sync ARGS to h1 with the user key, from src
#   node_index NAME   hK -> K (for host_pids, net)
#   node_tx NAME      bytes node NAME has sent on its link
#   node_rsyncs NAME  rsyncs running on node NAME (count)
#   slurm_jobs        our jobs Slurm still has (squeue), one id a line
#   nodes_idle        every node idle (sinfo)
#   node_dirs         the workers' directories left ($TMPDIR/scow-sync-node.*)
#   json_state ID     query --json's state of transfer ID
#   store_sql SQL     the rows of SQL on the case's store, '|' between columns
#   node_back NAME    a node taken down by the case back in service: what ran on
#                     it ended (cut off, it stays so) before its link is up,
#                     its slurmd started again, every node idle
#   cluster ARGS...   tests/slurm/cluster.sh ARGS on this cluster (kill-slurmd K, ...)
#   debris DIR        what a transfer must not leave in DIR: partial data, rsync's
#                     temporary files
. "$SCOW_SYNC_SRCDIR/tests/hosts/lib.sh"

for v in SLURM_CONF SLURM_DIR SLURM_NODES DEST_ADDR; do
	if [ -z "${!v:-}" ]; then
		echo "${0##*/}: $v is not set: run this through tests/slurm.tap" >&2
		exit 99
	fi
done

DEST=$T/dest
mkdir -p "$DEST"
export SCOW_SYNC_NODE_SILENT=${SCOW_SYNC_NODE_SILENT:-6}

xfer() {
	local cmd=$1
	shift
	on_src scow-sync "$cmd" -a "$DEST_ADDR" -u "$HOSTS_USER" -k "$HOSTS_KEY" "$@"
}
node_index() { echo "${1#h}"; }
node_tx() {
	local ns=HOSTS_NS_${1#h}
	ip netns exec "${!ns}" cat /sys/class/net/eth0/statistics/tx_bytes
}
node_rsyncs() {
	local p n=0
	for p in $(host_pids "${1#h}"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = rsync ] && n=$((n + 1))
	done
	echo "$n"
}
slurm_jobs() { on_src squeue --noheader --format=%i 2>/dev/null; }
nodes_idle() {
	local n want
	want=$(echo $SLURM_NODES | wc -w)
	n=$(on_src sinfo --noheader --states=idle --format=%D 2>/dev/null)
	[ "${n:-0}" = "$want" ]
}
node_dirs() { ls -d "$TMPDIR"/scow-sync-node.* 2>/dev/null; }
json_state() {
	on_src scow-sync query --json --id "$1" | python3 -c '
import json, sys
print(json.load(sys.stdin)["transfers"][0]["state"])'
}

store_sql() {
	python3 - "$HOME/scow/.scow-sync/scow-sync.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=15)
for row in db.execute(sys.argv[2]).fetchall():
    print("|".join("" if v is None else str(v) for v in row))
PY
}
cluster() { bash "$SCOW_SYNC_SRCDIR/tests/slurm/cluster.sh" "$1" "$HOSTS_DIR" "${@:2}"; }
node_back() {
	local p
	for p in $(host_pids "$(node_index "$1")"); do
		kill -9 "$p" 2>/dev/null
	done
	net up "$1"
	cluster start-slurmd "$1" || echo "cannot start the slurmd of $1 again" >&2
	wait_for 60 nodes_idle || echo "$1 did not return to service" >&2
}
debris() {
	find "$1" \( -name .scow-sync-partial -o -name '.*.??????' \) -print 2>/dev/null
}

# Every case starts on a cluster at rest: its nodes idle, no job of an earlier case.
wait_for 60 nodes_idle || { echo "the nodes are not idle: $(on_src sinfo 2>&1)" >&2; exit 99; }
# A job with a node that was down completes once the node is back (its slurmd asked).
wait_for 60 eval '[ -z "$(slurm_jobs)" ]' ||
	{ echo "jobs of an earlier case: $(slurm_jobs)" >&2; exit 99; }
