# tests/lib.sh: the harness every integration test sources (bash).
#
# It makes a private temporary directory $T and HOME inside it, generates a
# host key and a user key, starts a private sshd on 127.0.0.1 (own port,
# host key, authorized_keys and pid file, as the current user) and stops it
# on exit. Tests use:
#   SSH_HOST SSHD_PORT SSH_USER SSH_KEY T   where and how to log in
#   fail MSG     record a broken expectation (the test goes on)
#   finish       exit 1 if anything failed, else 0
#   skip MSG     exit 77: the test cannot run here
#   wait_for N CMD...   poll CMD for up to N seconds
#   tree_equal A B      byte-for-byte, mode, symlink and name comparison
#   make_sample_tree DIR
# A test never touches the real ~/.ssh, port 22 or any other host.
set -u
SCOW_SYNC_SRCDIR=${SCOW_SYNC_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

FAILURES=0

fail() {
	FAILURES=$((FAILURES + 1))
	printf 'FAIL: %s\n' "$*"
}

skip() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}

finish() {
	check_tool_reports
	check_private_dirs
	if [ "$FAILURES" -gt 0 ]; then
		printf '%s: %d expectation(s) failed; files in %s\n' "${0##*/}" "$FAILURES" "$T"
		KEEP_TEST_DIR=1
		exit 1
	fi
	printf '%s: all expectations held\n' "${0##*/}"
	exit 0
}

wait_for() {
	local seconds=$1 i
	shift
	for i in $(seq 1 $((seconds * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

SSHD=$(command -v sshd || echo /usr/sbin/sshd)
for prog in ssh ssh-keygen rsync; do
	command -v "$prog" >/dev/null || skip "$prog is not installed"
done
[ -x "$SSHD" ] || skip "sshd is not installed"
command -v python3 >/dev/null || skip "python3 is not installed"
command -v pgrep >/dev/null || skip "pgrep is not installed"

# mktemp's default names are short: control sockets stay within 108 bytes.
T=$(mktemp -d /tmp/scow-sync-test.XXXXXX) || exit 99
KEEP_TEST_DIR=${KEEP_TEST_DIR:-0}

# Run one SQL statement on the test user's store, committed; print its rows,
# fields separated by spaces.
store_sql() {
	python3 - "$HOME/scow/.scow-sync/scow-sync.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=15)
cur = db.execute(sys.argv[2])
db.commit()
for row in cur.fetchall():
    print(*row)
PY
}

# The far side's processes (descendants of this test's sshd) whose command
# line matches the pattern $1 (pgrep -f).
far_procs() {
	local p q sshd_pid
	sshd_pid=$(cat "$T/sshd.pid")
	for p in $(pgrep -f -- "$1"); do
		q=$p
		while [ "$q" -gt 1 ]; do
			[ "$q" = "$sshd_pid" ] && { echo "$p"; break; }
			q=$(awk '{print $4}' "/proc/$q/stat" 2>/dev/null) || break
		done
	done
}

# The connections kept for later transfers (keep_connection), by their ssh.
kept_masters() { pgrep -f -- "ControlPersist=[1-9].*$T|$T.*ControlPersist=[1-9]"; }

# PIDs of processes of this test: those that name $T in their arguments,
# and the test's own scow-sync processes, whose environment names it (the
# test's HOME): a supervisor writes a neutral title over its arguments.
test_pids() {
	local p comm
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = "$BASHPID" ] && continue
		if names_test_dir "$p/cmdline"; then
			echo "${p#/proc/}"
			continue
		fi
		{ read -r comm <"$p/comm"; } 2>/dev/null || continue
		[[ $comm == scow-sync* ]] && names_test_dir "$p/environ" && echo "${p#/proc/}"
	done
	return 0
}
# True when one of the NUL-separated words in file $1 contains $T.
names_test_dir() {
	local x rc
	{
		# Once per word, the last one too; a read that fails (the process
		# ended under it) ends the loop: x is not to be taken again.
		while :; do
			x=
			IFS= read -r -d '' x
			rc=$?
			[[ $x == *"$T"* ]] && return 0
			[ "$rc" = 0 ] || break
		done <"$1"
	} 2>/dev/null
	return 1
}

cleanup() {
	local pid
	if [ -n "${RELAY_PID:-}" ]; then
		kill "$RELAY_PID" 2>/dev/null
		wait "$RELAY_PID" 2>/dev/null
	fi
	if [ -f "$T/sshd.pid" ]; then
		pid=$(cat "$T/sshd.pid")
		kill "$pid" 2>/dev/null
	fi
	# Whatever of this test still runs (a failed test may leave some).
	for pid in $(test_pids); do
		[ "$pid" = "$$" ] || kill -9 "$pid" 2>/dev/null
	done
	if [ "$KEEP_TEST_DIR" = 1 ]; then
		echo "test files kept in $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT

export HOME=$T/home
mkdir -p "$HOME"
# The supervisors' private directories, to be found gone by finish.
# (Open to all as /tmp is: some cases run a transfer as another user.)
export TMPDIR=$T/tmp
mkdir -p "$TMPDIR"
chmod 1777 "$TMPDIR"
. "$SCOW_SYNC_SRCDIR/tests/private-dirs.sh"
unset SCOW_SYNC_HOME SCOW_SYNC_WORKERS SCOW_SYNC_BWLIMIT SCOW_SYNC_RETRIES
# A connection kept for the next transfer outlives the transfer on purpose,
# which every test's count of connections and leftover processes would have
# to allow for: tests of that feature (keep-connection.sh) turn it on.
export SCOW_SYNC_KEEP_CONNECTION=0
export SCOW_SYNC_SSH_CONFIG=none
if [ -n "${SCOW_SYNC_BUILDDIR:-}" ]; then
	PATH=$SCOW_SYNC_BUILDDIR/tests/bin:$PATH
fi

# A sanitizer build (--enable-asan) reports into $T/sanitizer.PID from every
# process of the test, detached supervisors included, whose stderr nobody
# reads; finish fails on any report.
export ASAN_OPTIONS="log_path=$T/sanitizer:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="log_path=$T/sanitizer:print_stacktrace=1:${UBSAN_OPTIONS:-}"

# SCOW_SYNC_VALGRIND=1 (make valgrind-check) runs every scow-sync command of
# the test under valgrind; the supervisors forked by start stay under it.
# Reports go to $T/valgrind.PID, and finish fails on any. Programs scow-sync
# executes (rsync, ssh, its own piece readers) run natively.
if [ "${SCOW_SYNC_VALGRIND:-0}" = 1 ]; then
	command -v valgrind >/dev/null || skip "valgrind is not installed"
	mkdir -p "$T/valgrind-bin"
	for name in scow-sync scow-sync-start scow-sync-query scow-sync-terminate; do
		real=$(command -v "$name") || skip "$name is not built"
		printf '#!/bin/sh\nexec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --log-file=%s %s "$@"\n' \
			"'$T/valgrind.%p'" "'$real'" >"$T/valgrind-bin/$name"
		chmod +x "$T/valgrind-bin/$name"
	done
	PATH=$T/valgrind-bin:$PATH
fi
export PATH

# Sanitizer and valgrind reports left by any process of the test.
check_tool_reports() {
	local f
	for f in "$T"/sanitizer.* "$T"/valgrind.*; do
		[ -s "$f" ] || continue
		fail "${f##*/}: $(head -c 4000 "$f")"
	done
}

SSH_HOST=127.0.0.1
SSH_USER=$(id -un)
SSH_KEY=$T/id_rsa
ssh-keygen -q -t ed25519 -N '' -f "$T/host_key" || exit 99
# The portal's key: RSA in OpenSSH's default format.
ssh-keygen -q -t rsa -b 3072 -N '' -f "$SSH_KEY" || exit 99
cp "$SSH_KEY.pub" "$T/authorized_keys"
chmod 600 "$T/authorized_keys"

write_sshd_config() {
	cat >"$T/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $1
HostKey $T/host_key
PidFile $T/sshd.pid
AuthorizedKeysFile $T/authorized_keys
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AllowUsers $SSH_USER
Subsystem sftp internal-sftp
LogLevel ERROR
MaxSessions 100
MaxStartups 100:30:200
UseDNS no
# Remote commands run through the account's shell; bash reads ~/.bashrc
# under sshd only at shell level 1. Keep this machine's profile (which may
# be slow, or lock against itself when 20 sessions start at once) out of
# the tests.
SetEnv SHLVL=1
EOF
}

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# As root, sshd insists on its privilege separation directory.
[ "$(id -u)" != 0 ] || mkdir -p /run/sshd

start_sshd() {
	local try port
	for try in 1 2 3 4 5 6 7 8 9 10; do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		port_free "$port" || continue
		write_sshd_config "$port"
		"$SSHD" -t -f "$T/sshd_config" || { echo "sshd -t rejected the config"; exit 99; }
		rm -f "$T/sshd.pid"
		"$SSHD" -f "$T/sshd_config" -E "$T/sshd.log" || continue
		if wait_for 5 test -s "$T/sshd.pid" && wait_for 5 eval '! port_free $port'; then
			SSHD_PORT=$port
			return 0
		fi
		[ -f "$T/sshd.pid" ] && kill "$(cat "$T/sshd.pid")" 2>/dev/null
	done
	echo "cannot start a private sshd"
	exit 99
}
start_sshd

# slow_sessions SECONDS: from now on, while $T/slow exists, every session
# on the far side starts SECONDS late, as with a .bashrc that sets up conda
# or environment modules (sshd's ForceCommand sleeps; sftp goes straight to
# sftp-server, as sshd's Subsystem would). Returns 1 without an
# sftp-server program; exits 99 when sshd does not take the change.
slow_sessions() {
	local sftp_server= p
	for p in /usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server \
		/usr/libexec/sftp-server /usr/lib/ssh/sftp-server; do
		[ -x "$p" ] && sftp_server=$p && break
	done
	[ -n "$sftp_server" ] || return 1
	cat > "$T/wrapper" <<EOF
#!/bin/sh
[ -e "$T/slow" ] && sleep $1
case \$SSH_ORIGINAL_COMMAND in
sftp|internal-sftp|*/sftp-server) exec $sftp_server ;;
esac
exec /bin/sh -c "\$SSH_ORIGINAL_COMMAND"
EOF
	chmod 755 "$T/wrapper"
	echo "ForceCommand $T/wrapper" >> "$T/sshd_config"
	"$SSHD" -t -f "$T/sshd_config" || { echo "sshd -t rejected the ForceCommand"; exit 99; }
	kill -HUP "$(cat "$T/sshd.pid")"
	wait_for 10 ssh -F none -o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i "$SSH_KEY" \
		-p "$SSHD_PORT" "$SSH_USER@$SSH_HOST" true 2>/dev/null ||
		{ echo "sshd did not come back"; exit 99; }
}


# tree_equal, shared with the suites that start no sshd of this file's.
. "$SCOW_SYNC_SRCDIR/tests/tree-equal.sh"

# A small tree with what trips copies up: depth, an empty directory,
# symlinks (to a file, to a directory, dangling), odd names.
make_sample_tree() {
	local d=$1
	mkdir -p "$d/a/b/c" "$d/empty" "$d/with space/inner"
	echo one >"$d/a/f1"
	echo two >"$d/a/b/f2"
	head -c 1048576 /dev/urandom >"$d/a/b/c/random.bin"
	head -c 70000 /dev/urandom >"$d/with space/inner/it's here"
	: >"$d/zero-length"
	printf 'x' >"$d/-leading-dash"
	printf 'y' >"$d/a/b/new
line"
	chmod 640 "$d/a/f1"
	ln -s f1 "$d/a/link-to-file"
	ln -s ../a/b "$d/with space/link-to-dir"
	ln -s nowhere "$d/dangling"
	# rsync would drop this name as its own partial directory.
	mkdir -p "$d/a/.scow-sync-partial"
	echo mine >"$d/a/.scow-sync-partial/user-data"
}

# ---- helpers for scow-sync's own commands ---------------------------------

# True when every transfer this test started has logged its end.
transfer_finished() {
	local log=$HOME/scow/.scow-sync/scow-sync.log started ended
	[ -f "$log" ] || return 1
	started=$(grep -c "info: transfer of '" "$log")
	ended=$(grep -cE "transfer (done|failed|terminated|interrupted) after" "$log")
	[ "$started" -gt 0 ] && [ "$ended" -ge "$started" ]
}

# True when scow-sync-query shows a file under the given source.
query_shows() {
	scow-sync-query | grep -qF "\"filePath\": \"$1/"
}

# Check one scow-sync-query answer against the portal's contract: a JSON
# array of objects with exactly six string values, each well formed.
check_legacy_json() {
	python3 - "$1" "$2" "$3" <<'PY'
import json, re, sys
text, host, src = sys.argv[1:4]
rows = json.loads(text)
assert isinstance(rows, list), "not an array"
for o in rows:
    assert isinstance(o, dict), "not an object"
    assert set(o) == {"recvAddress", "filePath", "transferSize", "progress",
                      "speed", "leftTime"}, "keys %s" % sorted(o)
    assert all(isinstance(v, str) for v in o.values()), "a value is not a string"
    assert o["recvAddress"] == host, "recvAddress %r" % o["recvAddress"]
    assert o["filePath"].startswith(src + "/"), "filePath %r" % o["filePath"]
    assert re.fullmatch(r"\d{1,3}(,\d{3})*", o["transferSize"]), o["transferSize"]
    assert re.fullmatch(r"(\d|[1-9]\d|100)%", o["progress"]), o["progress"]
    # The portal's own pattern, and a number it can read.
    m = re.fullmatch(r"(\d+\.\d\d)(B|kB|MB|GB)/s", o["speed"])
    assert m and re.search(r"([\d.]+)([kMGB]?B\/s)", o["speed"]), o["speed"]
    assert re.fullmatch(r"\d+:[0-5]\d:[0-5]\d", o["leftTime"]), o["leftTime"]
PY
}

# PIDs of this test's processes other than its sshd: scow-sync, rsync and
# ssh all carry $T in their environment (test_pids); and the sessions our
# sshd still serves.
test_processes() {
	local sshd_pid
	sshd_pid=$(cat "$T/sshd.pid" 2>/dev/null)
	local pids
	pids=$(test_pids)
	printf '%s\n' $pids | grep -vx -e "$$" -e "${sshd_pid:-0}" -e "${RELAY_PID:-0}" \
		-e "${LINKEM_PID:-0}" || true
	# The far side: a session of our sshd still open (its processes carry no $T).
	[ -n "$sshd_pid" ] && pgrep -P "$sshd_pid" || true
}

# Wait a little for this test's transfer processes to end; list survivors.
no_processes_left() {
	local i left
	for i in $(seq 1 50); do
		left=$(test_processes)
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	echo "left running:" >&2
	for p in $left; do ps -o pid=,args= -p "$p" >&2; done
	return 1
}

# Hold the store's lock for $1 seconds from the background (its pid in
# LOCKER_PID): a transfer started meanwhile waits for the store, with its
# connection already coming up. False when the lock was not had in 5 s.
lock_store() {
	rm -f "$T/store-locked"
	python3 -c 'import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE"); open(sys.argv[2], "w").close(); time.sleep(float(sys.argv[3]))' \
		"$HOME/scow/.scow-sync/scow-sync.db" "$T/store-locked" "$1" &
	LOCKER_PID=$!
	wait_for 5 test -e "$T/store-locked"
}

# An ssh that notes each master it starts, in $T/masters: set SCOW_SYNC_SSH
# to $T/ssh-count, and masters_started counts them.
make_ssh_counter() {
	cat >"$T/ssh-count" <<EOF
#!/bin/sh
case " \$* " in *" ControlMaster=yes "*) echo master >>"$T/masters" ;; esac
exec ssh "\$@"
EOF
	chmod +x "$T/ssh-count"
	: >"$T/masters"
}
masters_started() { wc -l <"$T/masters"; }

# The recorded state of transfer $1 (queued, running, done, failed, ...).
transfer_state() {
	python3 - "${SCOW_SYNC_HOME:-$HOME/scow/.scow-sync}/scow-sync.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=15)
row = db.execute("SELECT state FROM transfers WHERE id = ?", (int(sys.argv[2]),)).fetchone()
print(row[0] if row else "none")
PY
}

# The supervisor's pid recorded for transfer $1 (empty when none).
supervisor_pid() {
	python3 - "${SCOW_SYNC_HOME:-$HOME/scow/.scow-sync}/scow-sync.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=15)
row = db.execute("SELECT sup_pid FROM transfers WHERE id = ?", (int(sys.argv[2]),)).fetchone()
print(row[0] if row and row[0] else "")
PY
}

# True when transfer $1 has reached a final state.
transfer_ended() {
	case $(transfer_state "$1") in
	done|failed|terminated|interrupted) return 0 ;;
	*) return 1 ;;
	esac
}

# The remote partial files under directory $1 (none after a clean end).
partial_files() {
	find "$1" -path '*/.scow-sync-partial/*' -type f 2>/dev/null
}

# True when scow-sync-query shows exactly the file $1 being moved.
query_has_file() {
	scow-sync-query | grep -qF "\"filePath\": \"$1\""
}

# Start tests/relay.py in front of the private sshd: RELAY_PORT forwards to
# it; relay_drop breaks every open connection, relay_toggle takes the link
# down (new connections are cut) or back up.
start_relay() {
	python3 "$SCOW_SYNC_SRCDIR/tests/relay.py" "$T/relay.port" "$SSHD_PORT" &
	RELAY_PID=$!
	wait_for 10 test -s "$T/relay.port" || { echo "the relay did not start"; exit 99; }
	RELAY_PORT=$(cat "$T/relay.port")
}
relay_drop() { kill -USR1 "$RELAY_PID"; }

# Start bench/linkem (built here) in front of the private sshd, as a slow
# link with a deep queue: start_linkem RATE_MBIT DELAY_MS; LINKEM_PORT.
start_linkem() {
	cc -O2 -o "$T/linkem" "$SCOW_SYNC_SRCDIR/bench/linkem.c" || skip "cannot build linkem"
	"$T/linkem" --to "$SSHD_PORT" --port-file "$T/linkem.port" --rate-mbit "$1" \
		--delay-ms "$2" &
	LINKEM_PID=$!
	wait_for 10 test -s "$T/linkem.port" || { echo "linkem did not start"; exit 99; }
	LINKEM_PORT=$(cat "$T/linkem.port")
}
relay_toggle() { kill -USR2 "$RELAY_PID"; }

# The private directory recorded for transfer $1 (empty when none).
transfer_workdir() {
	python3 - "$HOME/scow/.scow-sync/scow-sync.db" "$1" <<'PY'
import os, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=15)
row = db.execute("SELECT workdir FROM transfers WHERE id = ?", (int(sys.argv[2]),)).fetchone()
if row and row[0] is not None:
    sys.stdout.buffer.write(bytes(row[0]) if not isinstance(row[0], str) else os.fsencode(row[0]))
PY
}
