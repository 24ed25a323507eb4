#!/bin/bash
# Faults on the way, each ending with the transfer either complete and
# byte-identical, or failed (or interrupted) with a clear recorded reason;
# never a partial file under a final name, never a process left behind:
#  (a) a host that accepts and never answers: the connect timeout ends it;
#  (b) a key the far side refuses; (c) a key the user cannot read;
#  (d) the host key changed since the last transfer;
#  (e) unreadable source files: the rest arrives, the reason names them;
#  (f) source files vanishing during the transfer: the same;
#  (g) source files changing while they are sent;
#  (h) the store locked by another process for a while;
#  (i) the store's disk full (root: a small tmpfs);
#  (j) SIGTERM, SIGINT and SIGHUP to the supervisor.
# SCOW_SYNC_LONG=1 adds the slow variants: the real 30 s connect timeout,
# a store locked for longer than commands wait, and a 256 MiB file whose
# link drops three times.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

LONG=${SCOW_SYNC_LONG:-0}
state=$HOME/scow/.scow-sync
db=$state/scow-sync.db
start() {   # start SRC DST [options]: print the id
	local src=$1 dst=$2
	shift 2
	scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dst" -p "$SSHD_PORT" \
		-k "$SSH_KEY" "$@"
}
reason_of() {   # the recorded reason of transfer $1 in state directory $2
	python3 - "${2:-$state}/scow-sync.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=15)
row = db.execute("SELECT error FROM transfers WHERE id = ?", (int(sys.argv[2]),)).fetchone()
print(row[0] if row and row[0] is not None else "")
PY
}
state_in() {   # the state of transfer $1 in state directory $2
	HOME=${2%/scow/.scow-sync} transfer_state "$1"
}
moving() {   # true when query shows file $1 at 10% or more
	scow-sync-query | grep -q '"filePath": "'"$1"'".*"progress": "\([1-9][0-9]\)%"'
}
# Files under a final name (not in .scow-sync-partial, not rsync's
# temporary .NAME.XXXXXX) that differ from the source's.
wrong_finals() {   # wrong_finals SRC DST
	local f rel
	while IFS= read -r -d '' f; do
		rel=${f#"$2"/}
		case /$rel in */.scow-sync-partial/*) continue ;; esac
		cmp -s "$f" "$1/$rel" || printf '%s\n' "$rel"
	done < <(find "$2" -type f -print0 2>/dev/null)
}
integrity() {   # PRAGMA integrity_check of database $1
	python3 - "$1" <<'PY'
import sqlite3, sys
print(sqlite3.connect(sys.argv[1], timeout=30).execute("PRAGMA integrity_check").fetchone()[0])
PY
}

# ---- (a) a host that accepts connections and never answers -------------
# (A listener that never accepts: the kernel completes the handshake, ssh
# waits for a banner that never comes.) ssh's ConnectTimeout (30 s) ends
# it; the quick run shortens it with an ssh wrapper whose -o comes first.
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
print(s.getsockname()[1], flush=True)
time.sleep(600)' > "$T/hang.port" &
HANG_PID=$!
trap 'kill $HANG_PID 2>/dev/null; cleanup' EXIT
wait_for 10 test -s "$T/hang.port" || fail "(a) the silent listener did not start"
hang_port=$(cat "$T/hang.port")
printf '#!/bin/sh\nexec ssh -o ConnectTimeout=2 "$@"\n' > "$T/ssh-short"
chmod +x "$T/ssh-short"
mkdir -p "$T/src/a"
echo data > "$T/src/a/f"
if [ "$LONG" = 1 ]; then limit=75; wrapper=; else limit=20; wrapper=$T/ssh-short; fi
t0=$SECONDS
id=$(SCOW_SYNC_SSH=${wrapper:-ssh} scow-sync start -a "$SSH_HOST" -u "$SSH_USER" \
	-s "$T/src/a" -d "$T/dsta" -p "$hang_port" -k "$SSH_KEY") || fail "(a) start exited $?"
wait_for "$limit" transfer_ended "$id" || fail "(a) still $(transfer_state "$id") after $limit s"
[ "$(transfer_state "$id")" = failed ] || fail "(a) the transfer is $(transfer_state "$id")"
case $(reason_of "$id") in
*"port $hang_port"*"timed out"*) ;;
*) fail "(a) the reason does not say the connection timed out: $(reason_of "$id")" ;;
esac
echo "(a) a silent host failed the transfer after $((SECONDS - t0)) s"
[ ! -e "$T/dsta" ] || fail "(a) something arrived from nowhere"
no_processes_left || fail "(a) processes left"
if [ "$LONG" = 1 ]; then
	# start -c: no answer about the key is no reason to replace it.
	t0=$SECONDS
	out=$(scow-sync-start -a "$SSH_HOST" -u "$SSH_USER" -p "$hang_port" -k "$SSH_KEY" -c \
		2>"$T/check.err")
	[ "$out" = true ] || fail "(a) check of a silent host printed '$out'"
	[ $((SECONDS - t0)) -le 40 ] || fail "(a) check of a silent host took $((SECONDS - t0)) s"
	[ -s "$T/check.err" ] || fail "(a) check of a silent host gave no reason"
fi
kill $HANG_PID 2>/dev/null
wait $HANG_PID 2>/dev/null

# ---- (b) a key the far side refuses -----------------------------------
ssh-keygen -q -t ed25519 -N '' -f "$T/stranger"
id=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$T/src/a" -d "$T/dstb" \
	-p "$SSHD_PORT" -k "$T/stranger") || fail "(b) start with a refused key exited $?"
wait_for 30 transfer_ended "$id" || fail "(b) the transfer did not end"
[ "$(transfer_state "$id")" = failed ] || fail "(b) the transfer is $(transfer_state "$id")"
case $(reason_of "$id") in
*"Permission denied (publickey"*) ;;
*) fail "(b) the reason does not say the key was refused: $(reason_of "$id")" ;;
esac
grep -q "\[$id\] error: .*Permission denied (publickey" "$state/scow-sync.err" ||
	fail "(b) the refusal is not in scow-sync.err"
[ ! -e "$T/dstb/a/f" ] || fail "(b) the file arrived with a refused key"
no_processes_left || fail "(b) processes left"

# ---- the other user ----------------------------------------------------
# As root every file is readable: the cases about unreadable files run
# their local side as nobody (the far side stays this sshd's account).
if [ "$(id -u)" = 0 ]; then
	getent passwd nobody >/dev/null && command -v setpriv >/dev/null ||
		skip "as root, the unreadable-file cases need the user nobody and setpriv"
	chmod 711 "$T"
	U=$T/nobody
	mkdir -p "$U/home"
	# The build under test, where nobody can run it: a build directory
	# may be private to root, and PATH would then find another scow-sync.
	mkdir -p "$T/nobody-bin"
	cp "$(command -v scow-sync)" "$T/nobody-bin/scow-sync" || exit 99
	for name in scow-sync-start scow-sync-query scow-sync-terminate; do
		ln -s scow-sync "$T/nobody-bin/$name"
	done
	chmod -R a+rX "$T/nobody-bin"
	as_user() {
		setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
			env HOME="$U/home" PATH="$T/nobody-bin:$PATH" "$@"
	}
	own() { chown -R nobody "$@"; }
else
	U=$T/self
	mkdir -p "$U/home"
	as_user() { env HOME="$U/home" "$@"; }
	own() { :; }
fi
ustate=$U/home/scow/.scow-sync
cp "$SSH_KEY" "$U/key"
own "$U"
chmod 700 "$U"

# ---- (c) a key the user cannot read -------------------------------------
chmod 000 "$U/key"
err=$(as_user scow-sync-start -a "$SSH_HOST" -u "$SSH_USER" -s "$T/src/a" -d "$T/dstc" \
	-p "$SSHD_PORT" -k "$U/key" 2>&1 >/dev/null); rc=$?
[ "$rc" = 2 ] || fail "(c) start with an unreadable key exited $rc, want 2"
[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "(c) not one line: $err"
case $err in *"'$U/key'"*"ermission denied"*) ;; *) fail "(c) the message: $err" ;; esac
out=$(as_user scow-sync-start -a "$SSH_HOST" -u "$SSH_USER" -p "$SSHD_PORT" -k "$U/key" -c \
	2>/dev/null)
[ "$out" = false ] || fail "(c) check with an unreadable key printed '$out'"
[ ! -e "$ustate/scow-sync.db" ] || [ "$(as_user scow-sync-query)" = "[]" ] ||
	fail "(c) a rejected request started something"
chmod 600 "$U/key"

# ---- (e) unreadable source files ------------------------------------------
usrc=$U/src/e
mkdir -p "$usrc/d"
for i in 1 2 3 4 5; do
	head -c 20000 /dev/urandom > "$usrc/f$i"
	head -c 20000 /dev/urandom > "$usrc/d/g$i"
done
own "$U/src"
chmod 000 "$usrc/f2" "$usrc/d/g3" "$usrc/d/g4"
id=$(as_user scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$usrc" -d "$T/dste" \
	-p "$SSHD_PORT" -k "$U/key" -m 1) || fail "(e) start exited $?"
wait_for 30 eval '[ "$(state_in "$id" "$ustate")" != running ] &&
	[ "$(state_in "$id" "$ustate")" != queued ]' || fail "(e) the transfer did not end"
[ "$(state_in "$id" "$ustate")" = failed ] || fail "(e) the transfer is $(state_in "$id" "$ustate")"
want="3 source files were not sent: 'e/d/g3' (Permission denied), 'e/d/g4' (Permission denied), 'e/f2' (Permission denied)"
[ "$(reason_of "$id" "$ustate")" = "$want" ] ||
	fail "(e) the reason is '$(reason_of "$id" "$ustate")', want '$want'"
for f in e/d/g3 e/d/g4 e/f2; do
	grep -q "error: '$f' was not sent: Permission denied" "$ustate/scow-sync.err" ||
		fail "(e) scow-sync.err does not name $f"
done
[ "$(grep -c "was not sent" "$ustate/scow-sync.err")" = 3 ] ||
	fail "(e) scow-sync.err names other files: $(grep "was not sent" "$ustate/scow-sync.err")"
for f in f1 f3 f4 f5 d/g1 d/g2 d/g5; do
	cmp -s "$usrc/$f" "$T/dste/e/$f" || fail "(e) $f did not arrive"
done
for f in f2 d/g3 d/g4; do [ ! -e "$T/dste/e/$f" ] || fail "(e) unreadable $f arrived"; done
[ -z "$(wrong_finals "$usrc" "$T/dste/e")" ] || fail "(e) wrong files: $(wrong_finals "$usrc" "$T/dste/e")"
no_processes_left || fail "(e) processes left"
# Readable again: the same start continues it to an identical end.
chmod 644 "$usrc/f2" "$usrc/d/g3" "$usrc/d/g4"
again=$(as_user scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$usrc" -d "$T/dste" \
	-p "$SSHD_PORT" -k "$U/key" -m 1) || fail "(e) second start exited $?"
[ "$again" = "$id" ] || fail "(e) the same start gave transfer $again, not $id"
wait_for 30 eval '[ "$(state_in "$id" "$ustate")" = done ]' ||
	fail "(e) the continued transfer is $(state_in "$id" "$ustate")"
tree_equal "$usrc" "$T/dste/e" || fail "(e) the continued copy differs"
[ -z "$(partial_files "$T/dste")" ] || fail "(e) partial files left: $(partial_files "$T/dste")"
no_processes_left || fail "(e) processes left at the end"

# ---- (f) source files vanishing during the transfer ---------------------
# One worker, a slow link: once d/f02 has arrived, two files after it and
# the whole of z (a unit of its own, sent after d) go. The rest arrives;
# the transfer is done, and its reason names exactly those files.
src=$T/src/f
mkdir -p "$src/d" "$src/z"
for i in $(seq -w 1 12); do head -c 60000 /dev/urandom > "$src/d/f$i"; done
for i in 1 2; do head -c 60000 /dev/urandom > "$src/z/z$i"; done
head -c 60000 /dev/urandom > "$src/top"
id=$(SCOW_SYNC_WORKERS=1 SCOW_SYNC_BWLIMIT=200 start "$src" "$T/dstf" -m 1) ||
	fail "(f) start exited $?"
wait_for 30 test -e "$T/dstf/f/d/f02" || fail "(f) d/f02 never arrived"
rm -r "$src/d/f09" "$src/d/f10" "$src/z"
wait_for 60 transfer_ended "$id" || fail "(f) the transfer did not end"
[ "$(transfer_state "$id")" = done ] || fail "(f) the transfer is $(transfer_state "$id")"
reason=$(reason_of "$id")
case $reason in
"4 source files were not sent: "*) ;;
*) fail "(f) the reason does not count 4 files not sent: $reason" ;;
esac
for f in f/d/f09 f/d/f10 f/z/z1 f/z/z2; do
	case $reason in *"'$f' (vanished)"*) ;; *) fail "(f) the reason does not name $f: $reason" ;; esac
	grep -q "\[$id\] warning: '$f' was not sent: it vanished" "$state/scow-sync.err" ||
		fail "(f) scow-sync.err does not name $f"
done
# What is left of the source arrived (z's directory may have been made).
rmdir "$T/dstf/f/z" 2>/dev/null
tree_equal "$src" "$T/dstf/f" || fail "(f) what is left of the source did not arrive identical"
[ -z "$(partial_files "$T/dstf")" ] || fail "(f) partial files left: $(partial_files "$T/dstf")"
no_processes_left || fail "(f) processes left"

# ---- (g) source files changing while they are sent -----------------------
# a: rewritten in place (same size) while rsync reads it; b: appended to.
# Under its final name each is the old content or the new, whole: here the
# new, as the transfer sends a file again when it changed meanwhile.
# changing_while_sent CASE SIZE KIB_S SEEN APPEND: two files of SIZE bytes
# at KIB_S, each changed once rsync's temporary file of it has SEEN kB.
changing_while_sent() {
	local c=$1 size=$2 rate=$3 seen=$4 append=$5 src=$T/src/$1 dst=$T/dst$1 id f
	mkdir -p "$src"
	head -c "$size" /dev/urandom > "$src/a-rewritten"
	head -c "$size" /dev/urandom > "$src/b-growing"
	id=$(SCOW_SYNC_WORKERS=1 SCOW_SYNC_BWLIMIT=$rate SCOW_SYNC_COMPRESS=never start "$src" \
		"$dst" -m 1) || fail "($c) start exited $?"
	arriving() {   # rsync's temporary file of $1 is in $dst/$c, $seen kB or more
		find "$dst/$c" -maxdepth 1 -name ".$1.??????" -size +"$seen"k 2>/dev/null | grep -q .
	}
	wait_for 30 arriving a-rewritten || fail "($c) a-rewritten never got under way"
	python3 -c 'import os, sys; f = open(sys.argv[1], "r+b"); f.write(os.urandom(int(sys.argv[2])))' \
		"$src/a-rewritten" "$size"
	wait_for 30 arriving b-growing || fail "($c) b-growing never got under way"
	head -c "$append" /dev/urandom >> "$src/b-growing"
	wait_for 60 transfer_ended "$id" || fail "($c) the transfer did not end"
	[ "$(transfer_state "$id")" = done ] ||
		fail "($c) the transfer is $(transfer_state "$id"): $(reason_of "$id")"
	for f in a-rewritten b-growing; do
		grep -q "\[$id\] warning: '$c/$f' changed while it was being sent" "$state/scow-sync.err" ||
			fail "($c) the change of $f was not noticed"
	done
	tree_equal "$src" "$dst/$c" || fail "($c) the copy differs from the source"
	[ -z "$(partial_files "$dst")" ] || fail "($c) partial files left: $(partial_files "$dst")"
	no_processes_left || fail "($c) processes left"
}
changing_while_sent g 3000000 1024 300 100000
# The same for small files, whose batch goes without a partial directory.
changing_while_sent g2 400000 100 100 1000

# ---- (h) the store locked by another process for a while ---------------
# Another writer holds the store for 3 s: query and start wait and succeed.
hold_store() {   # hold_store SECONDS: an exclusive transaction, then commit
	python3 - "$db" "$1" "$T/held" <<'PY' &
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("BEGIN EXCLUSIVE")
db.execute("UPDATE transfers SET error = error WHERE id = 1")
open(sys.argv[3], "w").close()
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
PY
	HOLD_PID=$!
	wait_for 10 test -e "$T/held" || fail "(h) the store was never locked"
}
src=$T/src/h
mkdir -p "$src"
head -c 100000 /dev/urandom > "$src/f"
rm -f "$T/held"
hold_store 3
t0=$SECONDS
out=$(scow-sync-query 2>"$T/query.err"); rc=$?
[ "$rc" = 0 ] && [ "$out" = "[]" ] || fail "(h) query with the store locked: rc=$rc '$out' $(cat "$T/query.err")"
id=$(start "$src" "$T/dsth" 2>"$T/start.err") || fail "(h) start with the store locked exited $?: $(cat "$T/start.err")"
echo "(h) query and start waited $((SECONDS - t0)) s for the lock"
wait $HOLD_PID
wait_for 30 transfer_ended "$id" || fail "(h) the transfer did not end"
[ "$(transfer_state "$id")" = done ] || fail "(h) the transfer is $(transfer_state "$id")"
tree_equal "$src" "$T/dsth/h" || fail "(h) the copy differs"
if [ "$LONG" = 1 ]; then
	# Held past the 15 s commands wait: a one-line error, exit 1, no damage.
	rm -f "$T/held"
	hold_store 20
	rm -rf "$T/dsth"
	err=$(start "$src" "$T/dsth" 2>&1 >/dev/null); rc=$?
	[ "$rc" = 1 ] || fail "(h) start with the store locked for long exited $rc, want 1"
	[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "(h) not one line: $err"
	case $err in *locked*) ;; *) fail "(h) the message does not say locked: $err" ;; esac
	wait $HOLD_PID
fi
[ "$(integrity "$db")" = ok ] || fail "(h) the store is damaged: $(integrity "$db")"
no_processes_left || fail "(h) processes left"

# ---- (j) SIGTERM, SIGINT and SIGHUP to the supervisor ---------------------
n=0
for sig in TERM INT HUP; do
	n=$((n + 1))
	src=$T/src/j$n
	mkdir -p "$src"
	head -c 1500000 /dev/urandom > "$src/big"
	head -c 1000 /dev/urandom > "$src/small"
	id=$(SCOW_SYNC_BWLIMIT=512 start "$src" "$T/dstj" -m 1) || fail "(j $sig) start exited $?"
	wait_for 30 moving "$src/big" || fail "(j $sig) big never got under way"
	sup=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT sup_pid FROM transfers WHERE id=?", (int(sys.argv[2]),)).fetchone()[0])' "$db" "$id")
	kill -"$sig" "$sup"
	wait_for 30 transfer_ended "$id" || fail "(j $sig) the transfer did not stop"
	[ "$(transfer_state "$id")" = interrupted ] || fail "(j $sig) the transfer is $(transfer_state "$id")"
	case $(reason_of "$id") in
	*"SIG$sig"*resume*) ;;
	*) fail "(j $sig) the reason does not name the signal: $(reason_of "$id")" ;;
	esac
	no_processes_left || fail "(j $sig) processes left (rsync, ssh)"
	[ ! -e "$T/dstj/j$n/big" ] || fail "(j $sig) big is under its final name before it is complete"
	[ -z "$(wrong_finals "$src" "$T/dstj/j$n")" ] || fail "(j $sig) wrong files: $(wrong_finals "$src" "$T/dstj/j$n")"
	[ "$(scow-sync-query)" = "[]" ] || fail "(j $sig) query shows an interrupted transfer"
	scow-sync resume "$id" >/dev/null || fail "(j $sig) resume exited $?"
	wait_for 60 transfer_ended "$id" || fail "(j $sig) the resumed transfer did not end"
	[ "$(transfer_state "$id")" = done ] || fail "(j $sig) the resumed transfer is $(transfer_state "$id")"
	tree_equal "$src" "$T/dstj/j$n" || fail "(j $sig) the resumed copy differs"
	[ -z "$(partial_files "$T/dstj")" ] || fail "(j $sig) partial files left: $(partial_files "$T/dstj")"
	no_processes_left || fail "(j $sig) processes left at the end"
done

# ---- (i) the store's disk is full -------------------------------------------
if [ "$(id -u)" = 0 ] && mkdir -p "$T/storefs" &&
	mount -t tmpfs -o size=2m tmpfs "$T/storefs" 2>/dev/null; then
	trap 'umount "$T/storefs" 2>/dev/null; cleanup' EXIT
	export SCOW_SYNC_HOME=$T/storefs/state
	sdb=$SCOW_SYNC_HOME/scow-sync.db
	src=$T/src/i
	mkdir -p "$src"
	for k in 1 2 3 4 5 6; do head -c 500000 /dev/urandom > "$src/f$k"; done
	# Full before anything is recorded: one line, exit 1.
	head -c 3000000 /dev/zero > "$T/storefs/filler" 2>/dev/null
	err=$(start "$src" "$T/dsti" -m 1 2>&1 >/dev/null); rc=$?
	[ "$rc" = 1 ] || fail "(i) start with the store's disk full exited $rc, want 1"
	[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "(i) not one line: $err"
	case $err in *"disk is full"*|*"No space left"*) ;; *) fail "(i) the message: $err" ;; esac
	echo "(i) start with the store's disk full: $err"
	rm -f "$T/storefs/filler"
	# Fills up while a transfer runs: it cannot record its progress; the
	# store stays whole, and once there is room again it continues.
	id=$(SCOW_SYNC_BWLIMIT=1024 SCOW_SYNC_WORKERS=1 start "$src" "$T/dsti" -m 1) ||
		fail "(i) start exited $?"
	wait_for 30 test -e "$T/dsti/i/f1" || fail "(i) f1 never arrived"
	head -c 3000000 /dev/zero > "$T/storefs/filler" 2>/dev/null
	sup=$(supervisor_pid "$id")
	[ -n "$sup" ] || fail "(i) no supervisor recorded"
	wait_for 30 eval '! kill -0 "${sup:-0}" 2>/dev/null' || fail "(i) the supervisor did not end"
	# query answers, or fails with one line.
	out=$(scow-sync-query 2>"$T/query.err"); rc=$?
	if ! { [ "$rc" = 0 ] && [ "$out" = "[]" ]; } &&
		! { [ "$rc" = 1 ] && [ "$(wc -l < "$T/query.err")" = 1 ]; }; then
		fail "(i) query with the store's disk full: rc=$rc '$out' $(cat "$T/query.err")"
	fi
	echo "(i) query with the store's disk full: exit $rc $(cat "$T/query.err")"
	rm -f "$T/storefs/filler"
	[ "$(integrity "$sdb")" = ok ] || fail "(i) the store is damaged: $(integrity "$sdb")"
	[ -z "$(wrong_finals "$src" "$T/dsti/i")" ] || fail "(i) wrong files: $(wrong_finals "$src" "$T/dsti/i")"
	no_processes_left || fail "(i) processes left"
	st=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT state FROM transfers WHERE id=?", (int(sys.argv[2]),)).fetchone()[0])' "$sdb" "$id")
	echo "(i) the transfer whose store filled up is recorded as $st"
	if [ "$st" != done ]; then
		again=$(start "$src" "$T/dsti" -m 1) || fail "(i) start with room again exited $?"
		[ "$again" = "$id" ] || fail "(i) start with room again gave transfer $again, not $id"
		wait_for 60 eval '[ "$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT state FROM transfers WHERE id=?\", (int(sys.argv[2]),)).fetchone()[0])" "$sdb" "$id")" = done ]' ||
			fail "(i) the continued transfer did not end done"
	fi
	tree_equal "$src" "$T/dsti/i" || fail "(i) the copy differs"
	[ "$(integrity "$sdb")" = ok ] || fail "(i) the store is damaged at the end"
	no_processes_left || fail "(i) processes left at the end"
	unset SCOW_SYNC_HOME
	umount "$T/storefs"
	trap 'cleanup' EXIT
else
	echo "(i) skipped: mounting a small file system for the store needs root"
fi

# ---- (d) the host key changed since the last transfer --------------------
src=$T/src/d
mkdir -p "$src"
echo one > "$src/one"
id=$(start "$src" "$T/dstd") || fail "(d) first start exited $?"
wait_for 30 transfer_ended "$id" || fail "(d) the first transfer did not end"
[ "$(transfer_state "$id")" = done ] || fail "(d) the first transfer is $(transfer_state "$id")"
grep -q "^\[$SSH_HOST\]:$SSHD_PORT " "$HOME/.ssh/known_hosts" 2>/dev/null ||
	fail "(d) the transfer did not learn the host key into \$HOME/.ssh/known_hosts"
cp "$HOME/.ssh/known_hosts" "$T/known_hosts.before"
# The same host and port, reinstalled: a new host key.
old=$(cat "$T/sshd.pid")
kill "$old"
wait_for 10 eval '! kill -0 '"$old"' 2>/dev/null' || fail "(d) the old sshd did not stop"
rm -f "$T/host_key" "$T/host_key.pub" "$T/sshd.pid"
ssh-keygen -q -t ed25519 -N '' -f "$T/host_key"
"$SSHD" -f "$T/sshd_config" -E "$T/sshd.log" || fail "(d) sshd did not start again"
wait_for 10 test -s "$T/sshd.pid" && wait_for 10 eval '! port_free $SSHD_PORT' ||
	fail "(d) sshd does not listen again"
echo two > "$src/two"
id=$(start "$src" "$T/dstd") || fail "(d) second start exited $?"
wait_for 30 transfer_ended "$id" || fail "(d) the second transfer did not end"
[ "$(transfer_state "$id")" = failed ] || fail "(d) with a changed host key: $(transfer_state "$id")"
case $(reason_of "$id") in
*"host key has changed"*"known_hosts:1"*) ;;
*) fail "(d) the reason does not say the host key changed: $(reason_of "$id")" ;;
esac
cmp -s "$T/known_hosts.before" "$HOME/.ssh/known_hosts" || fail "(d) known_hosts was changed"
[ ! -e "$T/dstd/d/two" ] || fail "(d) a file went to a host whose key changed"
no_processes_left || fail "(d) processes left"
# check -c: the key is not the problem, so true; stderr says why it fails.
out=$(scow-sync-start -a "$SSH_HOST" -u "$SSH_USER" -p "$SSHD_PORT" -k "$SSH_KEY" -c \
	2>"$T/check.err")
[ "$out" = true ] || fail "(d) check with a changed host key printed '$out'"
grep -q "host key has changed" "$T/check.err" || fail "(d) check said: $(cat "$T/check.err")"
# The user accepts the new key: the same start continues the transfer.
ssh-keygen -q -R "[$SSH_HOST]:$SSHD_PORT" -f "$HOME/.ssh/known_hosts" >/dev/null 2>&1
again=$(start "$src" "$T/dstd") || fail "(d) start after the old key was removed exited $?"
[ "$again" = "$id" ] || fail "(d) it gave transfer $again, not $id"
wait_for 30 transfer_ended "$id" || fail "(d) the continued transfer did not end"
[ "$(transfer_state "$id")" = done ] || fail "(d) the continued transfer is $(transfer_state "$id")"
tree_equal "$src" "$T/dstd/d" || fail "(d) the copy differs"
no_processes_left || fail "(d) processes left at the end"

# ---- the link drops three times in the middle of a 256 MiB file (long) ----
if [ "$LONG" = 1 ]; then
	start_relay
	src=$T/src/k
	mkdir -p "$src"
	head -c 268435456 /dev/urandom > "$src/huge"
	id=$(SCOW_SYNC_BWLIMIT=40000 SCOW_SYNC_RETRIES=6 scow-sync start -a "$SSH_HOST" \
		-u "$SSH_USER" -s "$src" -d "$T/dstk" -p "$RELAY_PORT" -k "$SSH_KEY") ||
		fail "(k) start exited $?"
	for pct in 2 4 6; do
		wait_for 120 eval 'scow-sync-query | grep -q "\"progress\": \"\([$pct-9][0-9]\)%\""' ||
			fail "(k) never reached ${pct}0%"
		relay_drop
	done
	wait_for 300 transfer_ended "$id" || fail "(k) the transfer did not end"
	[ "$(transfer_state "$id")" = done ] || fail "(k) the transfer is $(transfer_state "$id")"
	[ "$(grep -c "\[$id\] warning: 'k/huge': rsync .*retrying in" "$state/scow-sync.log")" -ge 3 ] ||
		fail "(k) fewer than three retries"
	tree_equal "$src" "$T/dstk/k" || fail "(k) the copy differs"
	[ -z "$(partial_files "$T/dstk")" ] || fail "(k) partial files left"
	no_processes_left || fail "(k) processes left"
fi
finish
