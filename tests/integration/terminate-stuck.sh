#!/bin/bash
# terminate returns, with a reason and exit 1, when the supervisor recorded
# for a transfer will not stop:
#  - the record names a live process of another user (a store copied, a
#    forged or stale row): it cannot be signalled, so it is not waited for;
#  - the supervisor outlives SIGKILL (in the kernel, on a hung file system;
#    here the init of a pid namespace, which ignores signals from inside
#    it): terminate gives up after SIGKILL and names the pid.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

db=$HOME/scow/.scow-sync/scow-sync.db
src=$T/src/s
mkdir -p "$src"
echo x > "$src/f"
# A store with one transfer, as a copy for the forged records.
scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/far" -p "$SSHD_PORT" \
	-k "$SSH_KEY" || fail "run exited $?"
# forge ID PID START UID: a running transfer whose supervisor is that process.
cat > "$T/forge.py" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=15)
tid, pid, start, uid = (int(a) for a in sys.argv[2:6])
db.execute("DELETE FROM transfers WHERE id = ?", (tid,))
db.execute("""INSERT INTO transfers (id, address, user, port, source, destination, key_path,
    max_depth, state, created_at, sup_pid, sup_start, sup_uid)
    SELECT ?, address, user, port, source || ?, destination, key_path, max_depth, 'running',
    created_at, ?, ?, ? FROM transfers WHERE id = 1""", (tid, str(tid), pid, start, uid))
db.commit()
PY
forge() {
	python3 "$T/forge.py" "$db" "$@"
}
start_of() {   # the start time of process $1, in clock ticks since boot
	sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20
}

# Another user's process.
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	setpriv --reuid=65534 --regid=65534 --clear-groups sleep 300 &
	victim=$!
	wait_for 5 eval '[ "$(stat -c %u /proc/$victim)" = 65534 ]' || fail "no process of uid 65534"
	forge 99 "$victim" "$(start_of "$victim")" 65534 || fail "cannot forge record 99"
	# The timeout only keeps a terminate that never returns from hanging the test.
	timeout 60 scow-sync terminate --id 99 2>"$T/err99"
	rc=$?
	[ "$rc" = 1 ] || fail "terminate of another user's process exited $rc (124: it never returned)"
	grep -q "pid $victim.*not a process of ours" "$T/err99" ||
		fail "terminate did not name the process it cannot stop: $(cat "$T/err99")"
	kill -0 "$victim" 2>/dev/null || fail "terminate stopped another user's process"
	kill "$victim"
	wait "$victim" 2>/dev/null
else
	echo "SKIP (part): a process of another user needs root and setpriv"
fi

# A supervisor that outlives SIGKILL: the init of a pid namespace of ours,
# which terminate signals from inside that namespace.
if unshare --pid --fork --mount-proc true 2>/dev/null; then
	SCOW_SYNC_TEST_STOP_WAIT=1 timeout 60 unshare --pid --fork --mount-proc bash -c '
		python3 "$1" "$2" 98 1 "$(sed "s/.*) //" /proc/1/stat | cut -d" " -f20)" "$(id -u)" ||
			exit 99
		scow-sync terminate --id 98 2>"$3"
		echo "rc=$?" >>"$3"' _ "$T/forge.py" "$db" "$T/err98"
	rc=$?
	[ "$rc" = 0 ] || fail "the namespace's init exited $rc (124: terminate never returned)"
	grep -q "^rc=1$" "$T/err98" || fail "terminate of a process that outlives SIGKILL: $(cat "$T/err98")"
	grep -q "pid 1) did not end .* after SIGKILL" "$T/err98" ||
		fail "terminate did not name the process that would not die: $(cat "$T/err98")"
else
	echo "SKIP (part): no pid namespaces here"
fi
finish
