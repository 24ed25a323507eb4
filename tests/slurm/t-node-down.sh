#!/bin/bash
# A node goes down mid-transfer: its slurmd is killed and its link cut, as
# when the machine dies. The supervisor hears nothing more from it, takes
# it as lost, and sends what it was sending from the other nodes: the
# transfer ends done, the tree identical, with nothing of the lost node's
# rsyncs left on the destination, and the log names the node. The worker's
# directory on the node that went down stays until the node is back: the
# next transfer's worker there removes it (Slurm no longer has that job).
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/slurm/lib.sh"

victim=h3
src=$T/src/tree
mkdir -p "$src/big"
for i in $(seq 1 30); do
	head -c $((2 << 20)) /dev/urandom >"$src/big/f$i"
done
# Each rsync held to 2 MB/s: some 10 s in all, the node's share in flight when it goes.
xfer start -s "$src" -d "$DEST" --nodes 3 --bwlimit 2000 >"$T/start.out" 2>&1 ||
	fail "start exited $?: $(cat "$T/start.out")"
id=$(head -n1 "$T/start.out")
wait_for 30 eval '[ "$(node_rsyncs '"$victim"')" -gt 0 ]' ||
	fail "no rsync ran on $victim"
cluster kill-slurmd "$victim"
net down "$victim"
trap 'node_back "$victim"; cleanup' EXIT

wait_for 120 eval 'case $(json_state '"$id"') in queued|running) false ;; esac' ||
	fail "the transfer did not end in 120 s"
log=$HOME/scow/.scow-sync/scow-sync.log
state=$(json_state "$id")
[ "$state" = done ] || fail "the transfer ended $state: $(tail -n 5 "$log")"
tree_equal "$src" "$DEST/tree" || fail "the tree on h1 differs"
grep -q "node $victim (task [0-9]*) is lost" "$log" || fail "the log does not name $victim as lost"
[ -z "$(debris "$DEST")" ] || fail "debris left on the destination: $(debris "$DEST")"

job=$(sed -n "s/.*\[$id\] info: Slurm job \([0-9]*\): sending.*/\1/p" "$log" | head -n1)
node_back "$victim"
trap cleanup EXIT
ls -d "$TMPDIR/scow-sync-node.$job".* >/dev/null 2>&1 ||
	fail "no worker directory of the node that went down (job $job): the case proves nothing"
mkdir -p "$T/src/small"
echo again >"$T/src/small/f"
xfer run -s "$T/src/small" -d "$DEST" --nodes 3 >"$T/run.out" 2>&1 ||
	fail "the next transfer exited $?: $(cat "$T/run.out")"
left=$(ls -d "$TMPDIR/scow-sync-node.$job".* 2>/dev/null)
[ -z "$left" ] || fail "the next transfer's workers left the directory of job $job: $left"
finish
