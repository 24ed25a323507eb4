#!/bin/bash
# A state directory shared by two nodes (a home on a network file system):
# node 2, with its own PID and UTS namespaces on the same store, cannot see
# node 1's supervisor. It must not take the transfer for dead: its query
# leaves it running and shows its files, its identical start starts no
# second writer and names the running transfer, its terminate says where
# the transfer runs and exits non-zero without stopping or cleaning it,
# and status and query --json name the node. With a store of its own, node
# 2 meets the far side's lock instead, and its transfer fails at once.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

command -v unshare >/dev/null || skip "unshare is not installed"
unshare --pid --uts --fork --mount-proc true 2>/dev/null ||
	skip "unshare of PID and UTS namespaces is not permitted here"
# Node 2: the same store, files and network, its own processes and name.
node2() {
	unshare --pid --uts --fork --mount-proc \
		sh -c 'hostname scow-node2 && exec "$@"' sh "$@"
}

src=$T/src/run
mkdir -p "$src"
for i in 1 2 3; do head -c 1572864 /dev/urandom > "$src/f$i"; done
export SCOW_SYNC_BWLIMIT=384 SCOW_SYNC_WORKERS=1
log=$HOME/scow/.scow-sync/scow-sync.log
args=(-a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst" -m 2 -p "$SSHD_PORT" -k "$SSH_KEY")
# This test's supervisors (titled "scow-sync: transfer N"), not their
# heartbeats (children with the same title and a name of their own).
supervisors() {
	local p
	for p in $(test_pids); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = scow-sync-start ] &&
			tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q '^scow-sync: transfer ' &&
			echo "$p"
	done | wc -l
}

scow-sync-start "${args[@]}" || fail "start on node 1 exited $?"
wait_for 30 query_shows "$src" || fail "the transfer never showed up in query"

out=$(node2 scow-sync-query); rc=$?
[ "$rc" = 0 ] || fail "query on node 2 exited $rc"
[ "$(transfer_state 1)" = running ] ||
	fail "node 2's query judged node 1's transfer: $(transfer_state 1)"
case $out in *"\"filePath\": \"$src/"*) ;; *) fail "node 2's query hides node 1's files: $out" ;; esac

json=$(node2 scow-sync query --json) || fail "query --json on node 2 exited $?"
python3 - "$json" "$(hostname)" <<'PY' || fail "query --json on node 2: $json"
import json, sys
t = json.loads(sys.argv[1])["transfers"][0]
assert t["state"] == "running", t["state"]
assert t["node"] == sys.argv[2] and t["elsewhere"] is True, (t["node"], t["elsewhere"])
PY
node2 scow-sync status 2>&1 | grep -q "runs on node $(hostname)" ||
	fail "status on node 2 does not say where the transfer runs"

node2 scow-sync-start "${args[@]}" 2>"$T/start2.err"; rc=$?
[ "$rc" = 0 ] || fail "the identical start on node 2 exited $rc"
grep -q "already running as transfer 1 on node $(hostname)" "$T/start2.err" ||
	fail "node 2's start did not name the running transfer: $(cat "$T/start2.err")"
[ "$(grep -c "info: transfer of '" "$log")" = 1 ] || fail "node 2's start started a second writer"
[ "$(supervisors)" = 1 ] || fail "$(supervisors) supervisors"

node2 scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src" 2>"$T/term2.err"; rc=$?
[ "$rc" != 0 ] || fail "terminate on node 2 claimed to stop node 1's transfer"
grep -q "runs on node $(hostname)" "$T/term2.err" ||
	fail "terminate on node 2 did not say where it runs: $(cat "$T/term2.err")"
[ "$(transfer_state 1)" = running ] || fail "after node 2's terminate: $(transfer_state 1)"
node2 scow-sync resume 1 2>/dev/null
[ "$(grep -c "info: transfer of '" "$log")" = 1 ] || fail "node 2's resume started a second writer"

# Node 2 with a state directory of its own (another machine, as far as the
# store can tell): the far side's lock alone keeps a second writer out.
node2 bash -c 'export SCOW_SYNC_HOME=$1; shift; scow-sync-start "$@" || exit
	for i in $(seq 300); do
		grep -q "transfer [a-z]* after" "$SCOW_SYNC_HOME/scow-sync.log" && exit
		sleep 0.1
	done' _ "$T/state2" "${args[@]}" || fail "start on node 2 with its own store exited $?"
grep -q "transfer failed after .*being written by transfer 1 on node $(hostname)" \
	"$T/state2/scow-sync.log" || fail "node 2 with its own store wrote too: $(cat "$T/state2/scow-sync.log")"
# Undisturbed: still running, or (on a slow machine) ended well since.
case $(transfer_state 1) in running|done) ;; *) fail "after node 2's own transfer: $(transfer_state 1)" ;; esac

wait_for 60 transfer_finished || fail "the transfer did not finish"
[ "$(transfer_state 1)" = done ] || fail "the transfer ended $(transfer_state 1)"
tree_equal "$src" "$T/dst/run" || fail "destination differs"
no_processes_left || fail "processes left behind"
finish
