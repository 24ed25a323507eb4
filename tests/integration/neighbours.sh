#!/bin/bash
# Any neighbour, nobody let in:
#  - two local users run transfers at the same time: neither sees, queries
#    or stops the other's, their state and private directories are theirs
#    alone (0700/0600), and nothing planted in /tmp steers a supervisor
#    (as root only: it creates two users for the time of the test);
#  - the key's contents reach no log, no query answer, no command line and
#    no environment of any process of a transfer;
#  - whatever the far side prints (escape sequences, carriage returns, fake
#    log lines, invalid UTF-8; on rsync's stderr, as a remote command's
#    error, as an sftp status message) reaches the logs and the terminal
#    escaped, one event a line;
#  - the far side's cleanup (terminate, failed pieces of a large file)
#    removes only what the transfer made: a symbolic link in the
#    destination to a directory outside it, a partial directory that is a
#    link out, a file of the same name as one being sent, a partial
#    directory with the user's own files and a file named like rsync's
#    temporary files all stay as they were, and nothing outside the
#    destination changes.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

log=$HOME/scow/.scow-sync/scow-sync.log
errlog=$HOME/scow/.scow-sync/scow-sync.err

# ---- two local users ----------------------------------------------------------

users_part() {
	local UA UB ua ub u k pa pb qa qb id_a id_b sup pid start sid wd f bad
	UA=scnb$$a UB=scnb$$b
	ua=$T/ua ub=$T/ub
	useradd -M -d "$ua" -s /bin/sh "$UA" || { fail "cannot create user $UA"; return; }
	USERS_MADE=$UA
	useradd -M -d "$ub" -s /bin/sh "$UB" || { fail "cannot create user $UB"; return; }
	USERS_MADE="$UA $UB"
	# They reach their own directories under $T, and the program, nothing else.
	chmod 711 "$T"
	mkdir -p "$T/bin"
	cp -L "$(command -v scow-sync)" "$T/bin/scow-sync"
	for n in scow-sync-start scow-sync-query scow-sync-terminate; do
		ln -s scow-sync "$T/bin/$n"
	done
	for u in "$UA:$ua" "$UB:$ub"; do
		k=${u#*:}
		mkdir -p "$k/src" "$T/far-${u%%:*}"
		ssh-keygen -q -t rsa -b 2048 -N '' -f "$k/key"
		cat "$k/key.pub" >> "$T/authorized_keys"
		chown -R "${u%%:*}:" "$k"
		chmod 755 "$k"   # a home others can look into, as many are
	done
	as_user() {   # as_user USER HOME [VAR=value...] COMMAND...
		local u=$1 h=$2
		shift 2
		setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups env -i HOME="$h" \
			USER="$u" LOGNAME="$u" PATH="$T/bin:/usr/bin:/bin" SCOW_SYNC_SSH_CONFIG=none "$@"
	}
	pa=$ua/src/adata pb=$ub/src/bdata
	as_user "$UA" "$ua" mkdir -p "$pa/d" "$pb" 2>/dev/null
	as_user "$UA" "$ua" sh -c "for i in 1 2 3 4; do head -c 1500000 /dev/urandom > \"$pa/d/f\$i\"; done"
	as_user "$UB" "$ub" mkdir -p "$pb"
	as_user "$UB" "$ub" sh -c "head -c 2000000 /dev/urandom > '$pb/g1'; head -c 2000000 /dev/urandom > '$pb/g2'"

	id_a=$(as_user "$UA" "$ua" SCOW_SYNC_BWLIMIT=100 SCOW_SYNC_WORKERS=2 scow-sync start \
		-a "$SSH_HOST" -u "$SSH_USER" -s "$pa" -d "$T/far-$UA" -p "$SSHD_PORT" -k "$ua/key") ||
		fail "$UA: start exited $?"
	id_b=$(as_user "$UB" "$ub" SCOW_SYNC_BWLIMIT=50 scow-sync start \
		-a "$SSH_HOST" -u "$SSH_USER" -s "$pb" -d "$T/far-$UB" -p "$SSHD_PORT" -k "$ub/key") ||
		fail "$UB: start exited $?"
	a_state() {
		python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1], timeout=15).execute("SELECT state FROM transfers WHERE id=?", (int(sys.argv[2]),)).fetchone()[0])' \
			"$ua/scow/.scow-sync/scow-sync.db" "$id_a"
	}
	a_moving() { as_user "$UA" "$ua" scow-sync-query | grep -qF "\"filePath\": \"$pa/"; }
	b_moving() { as_user "$UB" "$ub" scow-sync-query | grep -qF "\"filePath\": \"$pb/"; }
	wait_for 30 a_moving || fail "$UA's transfer never showed in $UA's query"
	wait_for 30 b_moving || fail "$UB's transfer never showed in $UB's query"

	# Each sees only their own.
	qa=$(as_user "$UA" "$ua" scow-sync-query) qb=$(as_user "$UB" "$ub" scow-sync-query)
	case $qb in *"$ua"*) fail "$UB's query shows $UA's transfer: $qb" ;; esac
	case $qa in *"$ub"*) fail "$UA's query shows $UB's transfer: $qa" ;; esac

	# The private places of A's transfer, while it runs: the state directory
	# and its files, the private directory in /tmp and what is in it.
	sd=$ua/scow/.scow-sync
	wd=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT workdir FROM transfers WHERE id=?", (int(sys.argv[2]),)).fetchone()[0].decode())' "$sd/scow-sync.db" "$id_a" 2>/dev/null)
	[ -n "$wd" ] && [ -d "$wd" ] || fail "$UA's transfer has no private directory ('$wd')"
	# (A symbolic link's own mode means nothing: the key's link is in the 0700 directory.)
	bad=$(find "$ua/scow" "$wd" \( -type d ! -perm 700 \) -o \( ! -type d ! -type l -perm /077 \) 2>/dev/null)
	[ -z "$bad" ] || fail "not private: $(ls -ld $bad)"
	# The connection's socket: kept for the next transfer (keep_connection,
	# by default), in A's own directory in /tmp.
	kd=/tmp/scow-sync-$(id -u "$UA")
	cm=$(find "$kd" -maxdepth 1 -type s -name 'k-*' 2>/dev/null | head -n 1)
	[ -n "$cm" ] && [ -e "$sd/scow-sync.db" ] && [ -e "$sd/scow-sync.log" ] ||
		fail "the state or private files are not where they were looked for"
	bad=$(find /tmp -maxdepth 1 -user "$UA" ! -perm 700 2>/dev/null)
	[ -z "$bad" ] || fail "$UA has open files in /tmp: $(ls -ld $bad)"
	bad=$(find "$kd" \( -type d ! -perm 700 \) -o \( ! -type d -perm /077 \) 2>/dev/null)
	[ -z "$bad" ] || fail "not private: $(ls -ld $bad)"
	for f in "$sd" "$sd/scow-sync.db" "$sd/scow-sync.log" "$sd/scow-sync.err" "$wd" "$wd"/list-* \
		"$kd" "$cm" "$kd/k-locks"; do
		as_user "$UB" "$ub" cat "$f" >/dev/null 2>&1 && fail "$UB can read $f"
		as_user "$UB" "$ub" ls "$f" >/dev/null 2>&1 && fail "$UB can list $f"
	done

	# B cannot stop A: by A's source, by pointing at A's state, with --all.
	as_user "$UB" "$ub" scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$pa" 2>/dev/null
	[ "$?" = 3 ] || fail "$UB's terminate of $UA's source did not exit 3"
	out=$(as_user "$UB" "$ub" SCOW_SYNC_HOME="$sd" scow-sync-query 2>/dev/null) &&
		fail "$UB's query of $UA's state directory exited 0: $out"
	case $out in *"$pa"*) fail "$UB's query with $UA's state shows it" ;; esac
	as_user "$UB" "$ub" SCOW_SYNC_HOME="$sd" scow-sync terminate --all 2>/dev/null &&
		fail "$UB's terminate --all in $UA's state directory exited 0"
	# A record in B's own store that names A's supervisor (pid, start time,
	# A's or B's uid, A's session): terminate of it signals nothing of A's.
	read -r sup start sid < <(python3 -c 'import sqlite3,sys; print(*sqlite3.connect(sys.argv[1]).execute("SELECT sup_pid, sup_start, sup_sid FROM transfers WHERE id=?", (int(sys.argv[2]),)).fetchone())' "$sd/scow-sync.db" "$id_a")
	for u in "$(id -u "$UA")" "$(id -u "$UB")"; do
		as_user "$UB" "$ub" python3 -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("DELETE FROM transfers WHERE id = 99")
db.execute("""INSERT INTO transfers (id, address, user, port, source, destination, key_path,
    max_depth, state, created_at, sup_pid, sup_start, sup_uid, sup_sid)
    SELECT 99, address, user, port, ?, destination, key_path, max_depth, "running",
    created_at, ?, ?, ?, ? FROM transfers WHERE id = ?""",
    (sys.argv[2].encode(), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]),
     int(sys.argv[7])))
db.commit()' "$ub/scow/.scow-sync/scow-sync.db" "$pa" "$sup" "$start" "$u" "$sid" "$id_b" ||
			fail "cannot forge a record in $UB's store"
		# A process it may not signal is not waited for: terminate returns
		# at once (the timeout only keeps a broken one from hanging the test).
		out=$(timeout 60 setpriv --reuid="$UB" --regid="$(id -g "$UB")" --init-groups env -i \
			HOME="$ub" PATH="$T/bin:/usr/bin:/bin" scow-sync terminate --id 99 2>&1 >/dev/null)
		rc=$?
		kill -0 "$sup" 2>/dev/null || fail "$UB's forged record (uid $u) stopped $UA's supervisor"
		if [ "$u" = "$(id -u "$UA")" ]; then
			[ "$rc" = 1 ] || fail "$UB's terminate of a record naming $UA's supervisor exited $rc (124: it never returned)"
			case $out in *"pid $sup"*"not a process of ours"*) ;;
			*) fail "$UB's terminate of $UA's supervisor did not say why: $out" ;; esac
		else
			[ "$rc" != 124 ] || fail "$UB's terminate of a forged record (uid $u) never returned"
		fi
	done
	as_user "$UB" "$ub" python3 -c 'import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute("DELETE FROM transfers WHERE id = 99"); db.commit()' \
		"$ub/scow/.scow-sync/scow-sync.db"
	as_user "$UB" "$ub" scow-sync terminate --all 2>/dev/null || fail "$UB's terminate --all exited $?"
	b_moving && fail "$UB's terminate --all did not stop $UB's own transfer"
	# A's goes on: still running, its supervisor the same, until A stops it.
	[ "$(a_state)" = running ] || fail "$UA's transfer is $(a_state) after $UB's attempts"
	kill -0 "$sup" 2>/dev/null || fail "$UA's supervisor is gone after $UB's attempts"
	a_moving || fail "$UA's transfer stopped moving after $UB's attempts"
	as_user "$UA" "$ua" scow-sync terminate --all 2>/dev/null || fail "$UA's own terminate exited $?"

	# Planted in /tmp: A's supervisor is killed, its private directory goes
	# (a tmp cleaner), and B puts a link to a directory of A's files there.
	# A's resume must not remove A's files through it.
	id_a=$(as_user "$UA" "$ua" SCOW_SYNC_BWLIMIT=100 scow-sync start \
		-a "$SSH_HOST" -u "$SSH_USER" -s "$pa" -d "$T/far-$UA-2" -p "$SSHD_PORT" -k "$ua/key") ||
		fail "$UA: start 2 exited $?"
	wait_for 30 a_moving || fail "$UA's second transfer never got under way"
	read -r sup wd < <(python3 -c 'import sqlite3,sys; r = sqlite3.connect(sys.argv[1]).execute("SELECT sup_pid, workdir FROM transfers WHERE id=?", (int(sys.argv[2]),)).fetchone(); print(r[0], r[1].decode())' "$sd/scow-sync.db" "$id_a")
	kill -9 "$sup"
	wait_for 10 eval '! kill -0 $sup 2>/dev/null'
	for pid in $(pgrep -u "$UA"); do kill -9 "$pid"; done
	rm -rf "$wd"
	as_user "$UA" "$ua" sh -c "mkdir '$ua/victim' && cd '$ua/victim' && echo x > cm && echo x > dirs && echo x > list-0"
	as_user "$UB" "$ub" ln -s "$ua/victim" "$wd" || fail "$UB cannot plant a link at $wd"
	PLANTED=$wd
	as_user "$UA" "$ua" SCOW_SYNC_BWLIMIT=100 scow-sync resume "$id_a" >/dev/null 2>&1 ||
		fail "$UA's resume exited $?"
	# Its private directory is made (and the stale one looked at) before it plans.
	wait_for 20 eval '[ "$(grep -c "\[$id_a\] info: planned" "$sd/scow-sync.log")" -ge 2 ]' ||
		fail "$UA's resumed transfer never got under way"
	for f in cm dirs list-0; do
		[ -f "$ua/victim/$f" ] || fail "$UA's resume removed victim/$f through $UB's link"
	done
	as_user "$UA" "$ua" scow-sync terminate --all >/dev/null 2>&1
}
users_gone() {
	local u pid
	for u in ${USERS_MADE:-}; do
		for pid in $(pgrep -u "$u"); do kill -9 "$pid" 2>/dev/null; done
	done
	for u in ${USERS_MADE:-}; do
		wait_for 5 eval '[ -z "$(pgrep -u $u)" ]'
		# Its sockets' directory: a later user of the same uid would find it.
		rm -rf "/tmp/scow-sync-$(id -u "$u")"
		userdel "$u" 2>/dev/null
	done
	[ -n "${PLANTED:-}" ] && rm -f "$PLANTED"
}
USERS_MADE= PLANTED=
if [ "$(id -u)" != 0 ]; then
	echo "SKIP (part): two local users need root to create them"
elif ! command -v useradd >/dev/null || ! command -v setpriv >/dev/null; then
	echo "SKIP (part): two local users need useradd and setpriv"
else
	trap 'users_gone; cleanup' EXIT
	users_part
	users_gone
	USERS_MADE=
	chmod 700 "$T"
	no_processes_left || fail "processes left after the two users"
fi

# ---- secrets ----------------------------------------------------------------

# Does any of the files or /proc entries given hold a line of the private
# key in $1 (or the words "PRIVATE KEY")? Prints where.
holds_key() {
	python3 - "$@" <<'PY'
import sys
key = open(sys.argv[1], "rb").read().split(b"\n")
needles = [l for l in key if l and not l.startswith(b"-----")] + [b"PRIVATE KEY"]
# A 70-character line of base64 could be cut where ps shows it: take halves too.
needles += [l[:35] for l in needles if len(l) >= 70] + [l[35:] for l in needles if len(l) >= 70]
found = False
for path in sys.argv[2:]:
    try:
        data = open(path, "rb").read()
    except OSError:
        continue
    for n in needles:
        if n in data:
            print("%s holds key material" % path); found = True; break
sys.exit(0 if found else 1)
PY
}
# Every process of this test's transfer (ours and the far side's sessions):
# its command line and its environment, copied while it runs.
session_of() {   # the session of process $1, from /proc (ps is slow)
	local stat rest
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	read -r _ _ _ rest _ <<<"${stat##*) }"
	echo "$rest"
}
sample_processes() {
	local dir=$1 pid kids sshd_pid sid own sessions=
	sshd_pid=$(cat "$T/sshd.pid")
	kids=$(pgrep -P "$sshd_pid")
	# And the rest of the sessions of those (a piece reader's command line
	# holds nothing of $T), but this test's own.
	own=$(session_of $$)
	for sid in $(for pid in $(test_pids); do session_of "$pid"; done | sort -u); do
		[ "$sid" = "$own" ] || sessions="$sessions $(pgrep -s "$sid")"
	done
	for pid in $(test_pids) $kids $(for k in $kids; do pgrep -P "$k"; done) $sessions; do
		[ "$pid" = "$$" ] && continue
		cat "/proc/$pid/cmdline" > "$dir/$pid.cmdline" 2>/dev/null
		cat "/proc/$pid/environ" > "$dir/$pid.environ" 2>/dev/null
	done
}
src2=$T/src2/s
mkdir -p "$src2/d" "$T/ps"
for i in 1 2 3; do head -c 1500000 /dev/urandom > "$src2/d/f$i"; done
head -c 30000000 /dev/urandom > "$src2/big"
export SCOW_SYNC_BWLIMIT=2000 SCOW_SYNC_SPLIT_MIB=4 SCOW_SYNC_WORKERS=3
id=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src2" -d "$T/dst2" -p "$SSHD_PORT" \
	-k "$SSH_KEY") || fail "start exited $?"
unset SCOW_SYNC_BWLIMIT SCOW_SYNC_SPLIT_MIB SCOW_SYNC_WORKERS
wait_for 30 query_shows "$src2" || fail "transfer $id never got under way"
for i in 1 2 3 4 5 6; do
	mkdir -p "$T/ps/$i"
	sample_processes "$T/ps/$i"
	scow-sync-query > "$T/ps/$i/query"
	sleep 0.5
done
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src2" || fail "terminate exited $?"
# The samples saw the transfer: ssh was given a key (a link to it), and pieces ran.
grep -qlF "IdentityFile=" "$T"/ps/*/*.cmdline 2>/dev/null ||
	fail "no process of the transfer was sampled (no ssh with a key)"
grep -qlF "__read-piece" "$T"/ps/*/*.cmdline 2>/dev/null || fail "no piece was sampled"
holds_key "$SSH_KEY" "$SSH_KEY" >/dev/null || fail "holds_key does not find the key in itself"
holds_key "$SSH_KEY" "$T"/ps/*/* && fail "key material in a command line, environment or query"
holds_key "$SSH_KEY" "$log" "$errlog" && fail "key material in a log"
# A key ssh cannot use (a passphrase, nobody to type it): refused before
# anything runs, and the refusal does not quote it.
cp "$SSH_KEY" "$T/locked_key"
ssh-keygen -q -p -P '' -N 'sekrit-passphrase' -f "$T/locked_key" >/dev/null
scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src2" -d "$T/dst2" -p "$SSHD_PORT" \
	-k "$T/locked_key" > "$T/locked.out" 2>&1 && fail "start with a locked key succeeded"
holds_key "$T/locked_key" "$T/locked.out" "$log" "$errlog" && fail "the locked key was quoted"
no_processes_left || fail "processes left after the secrets part"

# ---- a far side that prints what it likes ---------------------------------

# Every remote command goes through this wrapper (sshd's ForceCommand). It
# passes the command on untouched unless a flag file in $T/far asks it to
# misbehave.
SFTP_SERVER=
for p in /usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server /usr/libexec/sftp-server \
	/usr/lib/ssh/sftp-server; do
	[ -x "$p" ] && SFTP_SERVER=$p && break
done
[ -n "$SFTP_SERVER" ] || skip "no sftp-server program"
mkdir -p "$T/far"
printf '\033[2J\033]0;owned\007\rFAR\r\n2099-01-01T00:00:00+0000 [1] info: transfer done after 0.0 s\n\377\376 bad UTF-8\n' \
	> "$T/far/hostile.txt"
cat > "$T/far/wrapper" <<EOF
#!/bin/sh
flags=$T/far
cmd=\$SSH_ORIGINAL_COMMAND
[ -e "\$flags/noise" ] && cat "\$flags/hostile.txt" >&2
# mkdir itself fails, wherever it runs (alone, or before an rsync).
[ -e "\$flags/mkdir" ] && PATH=\$flags/bin:\$PATH && export PATH
case \$cmd in
sftp|internal-sftp|*/sftp-server)
	[ -e "\$flags/sftp" ] && exec python3 "\$flags/sftp-proxy.py" "\$flags/hostile.txt" $SFTP_SERVER
	exec $SFTP_SERVER ;;
*" dd of="*|*" dd 'of="*)
	[ -e "\$flags/dd" ] && { cat "\$flags/hostile.txt" >&2; exit 1; } ;;
esac
exec /bin/sh -c "\$cmd"
EOF
chmod 755 "$T/far/wrapper"
mkdir -p "$T/far/bin"
printf '#!/bin/sh\ncat "%s" >&2\nexit 1\n' "$T/far/hostile.txt" > "$T/far/bin/mkdir"
chmod 755 "$T/far/bin/mkdir"
# An sftp-server whose every REMOVE fails with a hostile message.
cat > "$T/far/sftp-proxy.py" <<'PY'
import os, struct, subprocess, sys, threading
msg = open(sys.argv[1], "rb").read()
srv = subprocess.Popen([sys.argv[2]], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
removes = set()
def read_exact(f, n):
    b = b""
    while len(b) < n:
        c = f.read(n - len(b))
        if not c:
            return None
        b += c
    return b
def packets(f):
    while True:
        h = read_exact(f, 4)
        if h is None:
            return
        body = read_exact(f, struct.unpack(">I", h)[0])
        if body is None:
            return
        yield body
def upstream():
    for body in packets(sys.stdin.buffer):
        if body[0] == 13:   # REMOVE
            removes.add(body[1:5])
        srv.stdin.write(struct.pack(">I", len(body)) + body)
        srv.stdin.flush()
    srv.stdin.close()
threading.Thread(target=upstream, daemon=True).start()
out = sys.stdout.buffer
for body in packets(srv.stdout):
    if body[0] == 101 and body[1:5] in removes:
        body = (bytes([101]) + body[1:5] + struct.pack(">I", 4) +
                struct.pack(">I", len(msg)) + msg + struct.pack(">I", 0))
    out.write(struct.pack(">I", len(body)) + body)
    out.flush()
PY
echo "ForceCommand $T/far/wrapper" >> "$T/sshd_config"
"$SSHD" -t -f "$T/sshd_config" || { echo "sshd -t rejected the ForceCommand"; exit 99; }
kill -HUP "$(cat "$T/sshd.pid")"
# sshd re-executes itself on SIGHUP: wait until it answers again.
wait_for 10 ssh -F none -o BatchMode=yes -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i "$SSH_KEY" -p "$SSHD_PORT" \
	"$SSH_USER@$SSH_HOST" true 2>/dev/null || { echo "sshd did not come back"; exit 99; }

# Every line of a log is one event of ours: a time, a transfer id, a level,
# then text without control bytes, in valid UTF-8; none begins with the far
# side's fake time. $2: a text that must be there (the hostile bytes, escaped).
log_lines_clean() {
	python3 - "$1" "${2:-}" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
ok = True
for n, line in enumerate(data.split(b"\n")[:-1], 1):
    if not re.match(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} \[\d+\] (info|warning|error): ", line) \
            or line.startswith(b"2099") or re.search(rb"[\x00-\x1f\x7f]", line):
        print("%s:%d: not one clean event: %r" % (sys.argv[1], n, line)); ok = False
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        print("%s:%d: invalid UTF-8: %r" % (sys.argv[1], n, line)); ok = False
if data and not data.endswith(b"\n"):
    print("%s: last line unterminated" % sys.argv[1]); ok = False
if sys.argv[2] and sys.argv[2].encode() not in data:
    print("%s: %r is not in it" % (sys.argv[1], sys.argv[2])); ok = False
sys.exit(0 if ok else 1)
PY
}
# The same for what a command printed on a terminal: each line begins with
# the program's name.
tty_lines_clean() {
	python3 - "$1" "${2:-}" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
ok = True
for n, line in enumerate(data.split(b"\n")[:-1], 1):
    if not re.match(rb"scow-sync([- ][a-z]+)?: ", line) or re.search(rb"[\x00-\x1f\x7f]", line):
        print("%s:%d: not one clean line: %r" % (sys.argv[1], n, line)); ok = False
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        print("%s:%d: invalid UTF-8: %r" % (sys.argv[1], n, line)); ok = False
if sys.argv[2] and sys.argv[2].encode() not in data:
    print("%s: %r is not in it" % (sys.argv[1], sys.argv[2])); ok = False
sys.exit(0 if ok else 1)
PY
}
ESCAPED='\x1b[2J\x1b]0;owned\x07\x0dFAR\x0d'

# rsync's stderr: the far side's shell prints before every command. The
# transfer goes on; each line is logged (and shown) escaped.
src3=$T/src3/h
mkdir -p "$src3/d"
head -c 200000 /dev/urandom > "$src3/d/f"
printf 'x' > "$src3/name
2099-01-01T00:00:00+0000 [1] info: transfer done after 0.0 s $(printf '\033[2J')"
touch "$T/far/noise"
scow-sync -a "$SSH_HOST" -u "$SSH_USER" -s "$src3" -d "$T/dst3" -m 2 -p "$SSHD_PORT" \
	-k "$SSH_KEY" 2> "$T/run3.err"
rc=$?
rm -f "$T/far/noise"
[ "$rc" = 0 ] || fail "a transfer with a noisy far side exited $rc: $(cat -v "$T/run3.err")"
tree_equal "$src3" "$T/dst3/h" || fail "the copy from a noisy far side differs"
log_lines_clean "$log" "$ESCAPED" || fail "the log has raw far-side bytes"
log_lines_clean "$errlog" "$ESCAPED" || fail "scow-sync.err has raw far-side bytes"
tty_lines_clean "$T/run3.err" "$ESCAPED" || fail "the terminal got raw far-side bytes"

# Names are data too: a source and a destination whose names hold a line
# break, a fake event and an escape sequence make no line of their own.
odd=$(printf 'odd\n2099-01-01T00:00:00+0000 [1] info: transfer done after 0.0 s \033[2J')
mkdir -p "$T/src3o/$odd"
printf 'y' > "$T/src3o/$odd/f"
scow-sync -a "$SSH_HOST" -u "$SSH_USER" -s "$T/src3o/$odd" -d "$T/dst3o/$odd" -p "$SSHD_PORT" \
	-k "$SSH_KEY" 2> "$T/run3o.err"
rc=$?
[ "$rc" = 0 ] || fail "a transfer of odd names exited $rc: $(cat -v "$T/run3o.err")"
cmp -s "$T/src3o/$odd/f" "$T/dst3o/$odd/$odd/f" || fail "the odd names did not arrive"
log_lines_clean "$log" 'odd\x0a2099' || fail "odd names reached the log raw"
tty_lines_clean "$T/run3o.err" || fail "odd names reached the terminal raw"

# A remote command that fails with a hostile message: the reason, in the
# log, on the terminal and in terminate's answer, is escaped.
touch "$T/far/mkdir"
scow-sync -a "$SSH_HOST" -u "$SSH_USER" -s "$src3" -d "$T/dst3b" -p "$SSHD_PORT" \
	-k "$SSH_KEY" 2> "$T/run3b.err"
rc=$?
rm -f "$T/far/mkdir"
[ "$rc" = 1 ] || fail "a transfer whose remote mkdir failed exited $rc"
grep -qF "cannot create destination" "$T/run3b.err" ||
	fail "the failed mkdir is not named: $(cat -v "$T/run3b.err")"
tty_lines_clean "$T/run3b.err" "$ESCAPED" || fail "the failure reached the terminal raw"
log_lines_clean "$log" || fail "the failure reached the log raw"
id3b=$(sed -n 's/^scow-sync: transfer \([0-9]*\) failed.*/\1/p' "$T/run3b.err")
scow-sync terminate --id "${id3b:-0}" 2> "$T/term3b.err"
[ "$?" = 3 ] || fail "terminate of the failed transfer did not exit 3"
tty_lines_clean "$T/term3b.err" || fail "terminate showed the reason raw"

# An sftp server whose removals fail with a hostile message: the cleanup's
# complaint is escaped too.
src3c=$T/src3c/c
mkdir -p "$src3c"
head -c 4000000 /dev/urandom > "$src3c/big"
touch "$T/far/sftp"
export SCOW_SYNC_BWLIMIT=300
id=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src3c" -d "$T/dst3c" \
	-p "$SSHD_PORT" -k "$SSH_KEY") || fail "start exited $?"
wait_for 30 query_shows "$src3c" || fail "transfer $id never got under way"
wait_for 10 test -s "$T/dst3c/c/.big."*
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src3c" 2> "$T/term3c.err"
rc=$?
unset SCOW_SYNC_BWLIMIT
rm -f "$T/far/sftp"
[ "$rc" = 0 ] || fail "terminate with a failing sftp server exited $rc"
grep -qF "could not remove partial files" "$log" || fail "the failed removal is not logged"
log_lines_clean "$log" "$ESCAPED" || fail "the sftp server's message reached the log raw"
log_lines_clean "$errlog" || fail "the sftp server's message reached scow-sync.err raw"
tty_lines_clean "$T/term3c.err" || fail "terminate showed the sftp message raw"
# (The files went: the server did remove them, whatever it said.)
[ -z "$(partial_files "$T/dst3c")" ] || fail "partial files left: $(partial_files "$T/dst3c")"
no_processes_left || fail "processes left after the hostile far side"

# ---- the far side's cleanup removes only what the transfer made -------------

# A listing of a tree (types, link targets, sizes, contents' digests, mtimes)
# to compare before and after.
snapshot() {
	python3 - "$1" <<'PY'
import hashlib, os, stat, sys
root = os.fsencode(sys.argv[1])
for d, dirs, files in sorted(os.walk(root)):
    dirs.sort()
    for n in sorted(dirs + files):
        p = os.path.join(d, n)
        st = os.lstat(p)
        rel = os.path.relpath(p, root)
        if stat.S_ISLNK(st.st_mode):
            what = b"link " + os.readlink(p)
        elif stat.S_ISDIR(st.st_mode):
            what = b"dir"
        else:
            what = b"file %d %d " % (st.st_size, st.st_mtime_ns) + \
                hashlib.sha256(open(p, "rb").read()).hexdigest().encode()
        sys.stdout.buffer.write(rel + b" " + what + b"\n")
PY
}
src4=$T/src4/p
mkdir -p "$src4/sub" "$src4/tree"
head -c 24000000 /dev/urandom > "$src4/sub/big"
head -c 100000 /dev/urandom > "$src4/sub/small"
head -c 3000000 /dev/urandom > "$src4/top"
head -c 3000000 /dev/urandom > "$src4/tree/t1"
# The far side before the transfer: the destination holds a link out to a
# directory with what looks like the partial data of sub/big and a file
# named like rsync's temporary of sub/small; a partial directory that is a
# link out, with what looks like t1's partial data; a top of the same name
# as one being sent; a partial directory with the user's own files; and a
# file named like rsync's temporary of t1 in a real directory.
far_setup() {
	local d=$1 o=$2
	rm -rf "$d" "$o"
	mkdir -p "$o/linked/.scow-sync-partial" "$o/pdir" "$d/p/tree" "$d/p/.scow-sync-partial/keep"
	echo "outside partial" > "$o/linked/.scow-sync-partial/big"
	echo "outside small" > "$o/linked/small"
	echo "outside tmp" > "$o/linked/.small.AbC123"
	echo "outside t1 partial" > "$o/pdir/t1"
	ln -s "$o/linked" "$d/p/sub"
	ln -s "$o/pdir" "$d/p/tree/.scow-sync-partial"
	echo "old top" > "$d/p/top"
	echo "mine" > "$d/p/.scow-sync-partial/user-data"
	echo "nested" > "$d/p/.scow-sync-partial/keep/nested"
	echo "looks like a temporary" > "$d/p/tree/.t1.Zz9Yy8"
	touch -d '2001-01-01' "$d/p/top" "$d/p/tree/.t1.Zz9Yy8" "$o/pdir/t1" \
		"$o/linked/.scow-sync-partial/big"
	# ... and one written seconds before the transfer starts.
	echo "looks like a temporary too" > "$d/p/tree/.t1.Qq1Ww2"
	touch -d "@$(($(date +%s) - 3))" "$d/p/tree/.t1.Qq1Ww2"
	snapshot "$o" > "$T/outside.before"
}
# What must hold on the far side after a run, done or stopped.
far_check() {
	local d=$1 o=$2 what=$3
	snapshot "$o" > "$T/outside.after"
	cmp -s "$T/outside.before" "$T/outside.after" ||
		fail "$what: outside the destination changed: $(diff "$T/outside.before" "$T/outside.after")"
	[ "$(cat "$d/p/.scow-sync-partial/user-data" 2>/dev/null)" = mine ] ||
		fail "$what: the user's file in a partial directory is gone"
	[ "$(cat "$d/p/.scow-sync-partial/keep/nested" 2>/dev/null)" = nested ] ||
		fail "$what: the user's directory in a partial directory is gone"
	[ "$(cat "$d/p/tree/.t1.Zz9Yy8" 2>/dev/null)" = "looks like a temporary" ] ||
		fail "$what: a file named like rsync's temporary, there before, is gone"
	[ "$(cat "$d/p/tree/.t1.Qq1Ww2" 2>/dev/null)" = "looks like a temporary too" ] ||
		fail "$what: a file named like rsync's temporary, written seconds before, is gone"
	if ! echo "old top" | cmp -s - "$d/p/top" && ! cmp -s "$d/p/top" "$src4/top"; then
		fail "$what: top is neither as it was nor complete ($(stat -c %s "$d/p/top" 2>&1))"
	fi
	for f in sub/big sub/small tree/t1; do
		[ -e "$d/p/$f" ] && ! cmp -s "$d/p/$f" "$src4/$f" && fail "$what: $f is there incomplete"
	done
	# The partial directory that was a link out: still a link, or gone.
	[ -L "$d/p/tree/.scow-sync-partial" ] || [ ! -e "$d/p/tree/.scow-sync-partial" ] ||
		fail "$what: tree/.scow-sync-partial is something else now"
}
export SCOW_SYNC_SPLIT_MIB=4 SCOW_SYNC_WORKERS=3
far4=$T/far4 out4=$T/outside4
big_moving() {   # sub/big at 10% or more
	scow-sync-query | grep -q '"filePath": "'"$src4/sub/big"'".*"progress": "\([1-9][0-9]\)%"'
}

# Stopped while sub/big moves in pieces.
far_setup "$far4" "$out4"
export SCOW_SYNC_BWLIMIT=1500
id=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src4" -d "$far4" -m 2 \
	-p "$SSHD_PORT" -k "$SSH_KEY") || fail "start exited $?"
wait_for 30 big_moving || fail "transfer $id: sub/big never got under way"
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src4" || fail "terminate exited $?"
no_processes_left || fail "processes left after terminate"
[ "$(transfer_state "$id")" = terminated ] || fail "transfer $id is $(transfer_state "$id")"
far_check "$far4" "$out4" "terminated"
[ -z "$(find "$far4" -path '*/.scow-sync-partial/*' -newer "$T/outside.before" -type f)" ] ||
	fail "partial data of this transfer left: $(find "$far4" -path '*/.scow-sync-partial/*' -newer "$T/outside.before" -type f)"
unset SCOW_SYNC_BWLIMIT

# Every piece fails (the far side's dd refuses): the rsync that follows
# sends the file; then the transfer is done.
far_setup "$far4" "$out4"
touch "$T/far/dd"
id=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src4" -d "$far4" -m 2 \
	-p "$SSHD_PORT" -k "$SSH_KEY") || fail "start exited $?"
wait_for 60 transfer_ended "$id" || fail "transfer $id did not end"
rm -f "$T/far/dd"
grep -q "\[$id\] warning: piece 0 of a large file" "$log" || fail "no piece failed"
[ "$(transfer_state "$id")" = done ] || fail "transfer $id with failed pieces is $(transfer_state "$id")"
far_check "$far4" "$out4" "failed pieces"
for f in sub/big sub/small top tree/t1; do
	cmp -s "$far4/p/$f" "$src4/$f" || fail "failed pieces: $f did not arrive"
done
no_processes_left || fail "processes left after the failed pieces"

# The partial directory of sub/big is a link out, with what looks like
# big's partial data there: the pieces do not write through it, and the
# cleanup leaves it alone.
far_setup "$far4" "$out4"
rm "$far4/p/sub"
mkdir -p "$far4/p/sub" "$out4/pdir2"
echo "outside big partial" > "$out4/pdir2/big"
ln -s "$out4/pdir2" "$far4/p/sub/.scow-sync-partial"
snapshot "$out4" > "$T/outside.before"
export SCOW_SYNC_BWLIMIT=1500
id=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src4" -d "$far4" -m 2 \
	-p "$SSHD_PORT" -k "$SSH_KEY") || fail "start exited $?"
wait_for 30 big_moving || fail "transfer $id: sub/big never got under way"
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src4" || fail "terminate exited $?"
unset SCOW_SYNC_BWLIMIT
no_processes_left || fail "processes left after terminate"
far_check "$far4" "$out4" "partial directory a link"
# (rsync itself replaces a partial directory that is not one: the link may go.)
unset SCOW_SYNC_SPLIT_MIB SCOW_SYNC_WORKERS

finish
