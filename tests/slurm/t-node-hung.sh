#!/bin/bash
# A node's worker hangs mid-transfer (SIGSTOP, as a worker stuck on a file
# system): the other nodes go on (their input is their own), the hung node
# is lost once silent, its step is ended (the rsync it had started is
# ended with it, and its writers on the far side), and its work goes
# again elsewhere: the transfer ends done and identical, nothing is left
# running on any node, and nothing is left on the destination. Then a
# terminate while a worker hangs: the transfer ends terminated by itself
# (a stopped job that does not end makes its node lost), in time.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/slurm/lib.sh"

victim=$(echo $SLURM_NODES | cut -d' ' -f2)
log=$HOME/scow/.scow-sync/scow-sync.log
src=$T/src/tree
mkdir -p "$src/big"
for i in $(seq 1 30); do
	head -c $((2 << 20)) /dev/urandom >"$src/big/f$i"
done
xfer start -s "$src" -d "$DEST" --nodes 3 --bwlimit 2000 >"$T/start.out" 2>&1 ||
	fail "start exited $?: $(cat "$T/start.out")"
id=$(head -n1 "$T/start.out")
worker_on() {
	local p
	for p in $(host_pids "$(node_index "$1")"); do
		grep -q "__node-worker" "/proc/$p/cmdline" 2>/dev/null && { echo "$p"; return 0; }
	done
	return 1
}
wait_for 30 eval '[ "$(node_rsyncs '"$victim"')" -gt 0 ]' || fail "no rsync ran on $victim"
hung=$(worker_on "$victim") || fail "no worker on $victim"
[ -z "$hung" ] || kill -STOP "$hung"
wait_for 120 eval 'case $(json_state '"$id"') in queued|running) false ;; esac' ||
	fail "the transfer did not end in 120 s"
state=$(json_state "$id")
[ "$state" = done ] || fail "the transfer ended $state: $(tail -n 5 "$log")"
tree_equal "$src" "$DEST/tree" || fail "the tree on h1 differs"
grep -q "node $victim (task [0-9]*) is lost" "$log" || fail "the log does not name $victim as lost"
[ -z "$(debris "$DEST")" ] || fail "debris left on the destination: $(debris "$DEST")"
wait_for 10 eval '[ -z "$(slurm_jobs)" ]' || fail "Slurm still has jobs: $(slurm_jobs)"
no_processes_left || fail "processes of the transfer are left"

# 2. terminate while a worker hangs.
xfer start -s "$src" -d "$DEST/2" --nodes 3 --bwlimit 2000 >"$T/start2.out" 2>&1 ||
	fail "2: start exited $?: $(cat "$T/start2.out")"
id=$(head -n1 "$T/start2.out")
wait_for 30 eval '[ "$(node_rsyncs '"$victim"')" -gt 0 ]' || fail "2: no rsync ran on $victim"
hung=$(worker_on "$victim") || fail "2: no worker on $victim"
[ -z "$hung" ] || kill -STOP "$hung"
on_src scow-sync terminate --id "$id" >"$T/terminate.out" 2>&1 ||
	fail "2: terminate exited $?: $(cat "$T/terminate.out")"
grep -q "killing it" "$T/terminate.out" && fail "2: terminate had to kill the supervisor"
state=$(json_state "$id")
[ "$state" = terminated ] || fail "2: the transfer ended $state"
wait_for 10 eval '[ -z "$(slurm_jobs)" ]' || fail "2: Slurm still has jobs: $(slurm_jobs)"
no_processes_left || fail "2: processes of the transfer are left"
[ -z "$(debris "$DEST/2")" ] || fail "2: debris left on the destination: $(debris "$DEST/2")"
finish
