#!/bin/bash
# Large files go in pieces over the nodes, one piece a node idle: the
# file arrives whole and identical (each piece checked by its digest),
# with no pieces' file or partial data left. Then a node is lost while
# pieces are in flight (its slurmd killed, its link cut): the file is
# finished by an rsync from another node, from what the pieces left, and
# ends identical, with nothing left over.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/slurm/lib.sh"

log=$HOME/scow/.scow-sync/scow-sync.log
victim=$(echo $SLURM_NODES | cut -d' ' -f2)
# 1. Two files of 40 MiB: each is one of the last few, and goes in pieces.
src=$T/src/one
mkdir -p "$src"
head -c $((40 << 20)) /dev/urandom >"$src/a.bin"
head -c $((40 << 20)) /dev/urandom >"$src/b.bin"
xfer run -s "$src" -d "$DEST" --nodes 3 >"$T/1.out" 2>&1 || fail "1: exited $?: $(cat "$T/1.out")"
tree_equal "$src" "$DEST/one" || fail "1: the files differ"
grep -q "in [2-9] pieces in .*checked by its SHA-1" "$log" || fail "1: no file went in pieces"
[ -z "$(debris "$DEST")$(find "$DEST" -name '*scow-sync-pieces*')" ] ||
	fail "1: left on the destination: $(debris "$DEST") $(find "$DEST" -name '*pieces*')"

# 2. A node lost mid-piece, each rsync and piece held to 2 MB/s.
: >"$log"
src=$T/src/two
mkdir -p "$src"
head -c $((48 << 20)) /dev/urandom >"$src/c.bin"
xfer start -s "$src" -d "$DEST" --nodes 3 --bwlimit 2000 >"$T/2.out" 2>&1 ||
	fail "2: start exited $?: $(cat "$T/2.out")"
id=$(head -n1 "$T/2.out")
reading() {
	local p
	for p in $(host_pids "$(node_index "$victim")"); do
		grep -q "__read-piece" "/proc/$p/cmdline" 2>/dev/null && return 0
	done
	return 1
}
wait_for 30 reading || fail "2: no piece ran on $victim"
cluster kill-slurmd "$victim"
net down "$victim"
trap 'node_back "$victim"; cleanup' EXIT
wait_for 120 eval 'case $(json_state '"$id"') in queued|running) false ;; esac' ||
	fail "2: the transfer did not end in 120 s"
state=$(json_state "$id")
[ "$state" = done ] || fail "2: the transfer ended $state: $(tail -n 5 "$log")"
tree_equal "$src" "$DEST/two" || fail "2: the file differs"
grep -q "node $victim (task [0-9]*) is lost" "$log" || fail "2: the log does not name $victim as lost"
[ -z "$(debris "$DEST")$(find "$DEST" -name '*scow-sync-pieces*')" ] ||
	fail "2: left on the destination: $(debris "$DEST") $(find "$DEST" -name '*pieces*')"
# The worker's directory on the node that is down stays until a later
# worker of ours runs there (t-node-down); no other node's.
job=$(sed -n "s/.*\[$id\] info: Slurm job \([0-9]*\): sending.*/\1/p" "$log" | head -n1)
task=$(sed -n "s/.*\[$id\] warning: node $victim (task \([0-9]*\)) is lost.*/\1/p" "$log" | head -n1)
PRIVATE_DIRS_LEFT="scow-sync-node.$job.$task"
finish
