#!/bin/bash
# A transfer whose link drops loses the far side's lock on its destination
# (the far side lets a holder go when its connection ends). Another writer
# of the same destination (a node with a state directory of its own) may
# take it meanwhile. When the link comes back, the first transfer must not
# send another byte without the lock: it finds the other writer, fails
# naming it, and the other ends with an identical copy. terminate of a
# transfer whose destination another writer holds leaves that writer's
# partial data alone.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

start_relay
src=$T/src/data
mkdir -p "$src"
for i in 1 2 3 4; do head -c 4194304 /dev/urandom >"$src/f$i"; done
export SCOW_SYNC_WORKERS=2 SCOW_SYNC_BWLIMIT=1024 SCOW_SYNC_RETRIES=20
log=$HOME/scow/.scow-sync/scow-sync.log
state2=$T/state2
log2=$state2/scow-sync.log

a=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -p "$RELAY_PORT" -k "$SSH_KEY" -m 1 \
	-s "$src" -d "$T/dst") || fail "start A exited $?"
wait_for 30 query_shows "$src" || fail "A never got under way"
sleep 1
relay_toggle
relay_drop
b=$(SCOW_SYNC_HOME=$state2 scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -p "$SSHD_PORT" \
	-k "$SSH_KEY" -m 1 -s "$src" -d "$T/dst") || fail "start B exited $?"
supb=$(SCOW_SYNC_HOME=$state2 supervisor_pid "$b")
b_holds() { grep -q "(process $supb)" "$T/dst/.scow-sync-partial/.data.lock" 2>/dev/null; }
wait_for 20 b_holds || fail "B never took the lock: $(cat "$log2")"
relay_toggle
supa=$(supervisor_pid "$a")

# While B holds the lock, A runs no rsync.
two=0
for _ in $(seq 1 40); do
	if [ -n "$supa" ] && pgrep -P "$supa" -x rsync >/dev/null && b_holds; then
		two=$((two + 1))
	fi
	transfer_ended "$a" && break
	sleep 0.25
done
[ "$two" = 0 ] || fail "A ran rsync while B held the lock ($two samples)"
wait_for 60 transfer_ended "$a" || fail "A did not end"
[ "$(transfer_state "$a")" = failed ] || fail "A is $(transfer_state "$a"), not failed"
grep -q "\[$a\] error: .*being written by transfer $b " "$log" ||
	fail "A's failure does not name B: $(grep "\[$a\] error" "$log")"

# terminate of A: the partial data it left is B's now, and stays.
scow-sync terminate --id "$a" >/dev/null 2>"$T/term.err"
SCOW_SYNC_HOME=$state2 wait_for 90 transfer_ended "$b" || fail "B did not end"
[ "$(SCOW_SYNC_HOME=$state2 transfer_state "$b")" = done ] ||
	fail "B is $(SCOW_SYNC_HOME=$state2 transfer_state "$b"): $(grep error "$log2")"
grep -q "No such file\|rename .* failed" "$log2" &&
	fail "B lost files under it: $(grep -E "No such file|rename" "$log2" | head -3)"
tree_equal "$src" "$T/dst/data" || fail "the copy differs"

# A transfer killed outright lets its lock go; the same data to the same
# place under another spelling (a link to it) takes the lock and goes on
# from the partial files. terminate of the dead one leaves them to it.
unset SCOW_SYNC_RETRIES
export SCOW_SYNC_WORKERS=1 SCOW_SYNC_BWLIMIT=2048
mkdir -p "$T/dst2"
ln -s "$T/dst2" "$T/dst2-link"
c=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -p "$SSHD_PORT" -k "$SSH_KEY" -m 1 \
	-s "$src" -d "$T/dst2") || fail "start C exited $?"
tmp_of() { ls -A "$T/dst2/data" 2>/dev/null | grep -qE '^\.f[0-9]\.[A-Za-z0-9]{6}$'; }
wait_for 30 tmp_of || fail "C never got under way"
kill -9 "$(supervisor_pid "$c")"
d=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -p "$SSHD_PORT" -k "$SSH_KEY" -m 1 \
	-s "$src" -d "$T/dst2-link") || fail "start D exited $?"
wait_for 30 grep -q "\[$d\] info: the far side answered" "$log" || fail "D never got under way"
sleep 1
scow-sync terminate --id "$c" >/dev/null 2>&1 || fail "terminate of the dead C exited $?"
wait_for 60 transfer_ended "$d" || fail "D did not end"
[ "$(transfer_state "$d")" = done ] || fail "D is $(transfer_state "$d")"
grep -E "\[$d\] warning: .*(No such file|rename)" "$log" &&
	fail "terminate of C removed what D was writing"
tree_equal "$src" "$T/dst2/data" || fail "D's copy differs"
no_processes_left || fail "processes left"
finish
