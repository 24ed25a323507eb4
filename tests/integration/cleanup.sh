#!/bin/bash
# The far side's cleanup after terminate ends, and removes only what the
# transfer can prove it made:
#  - a far side whose sftp-server lists a directory without end (ever more
#    names like rsync's temporary, or ever more other names, slowly):
#    terminate returns within the cleanup's time, its memory bounded, says
#    the far side could not be cleaned, and keeps what is left recorded; a
#    later terminate --id, with a sane far side, removes it;
#  - a file named like rsync's temporary of a file in flight, written
#    seconds before the transfer started, stays; one written since goes.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

db=$HOME/scow/.scow-sync/scow-sync.db
[ -x /usr/bin/time ] || skip "no /usr/bin/time"
supervisor_of() {   # the pid of transfer $1's supervisor
	python3 - "$db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=15)
print(db.execute("SELECT sup_pid FROM transfers WHERE id = ?", (int(sys.argv[2]),)).fetchone()[0])
PY
}
leftovers_of() {   # how many paths transfer $1 has recorded for the cleanup
	python3 - "$db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=15)
print(db.execute("SELECT count(*) FROM leftovers WHERE transfer_id = ?", (int(sys.argv[2]),)).fetchone()[0])
PY
}
moving() {   # true when query shows file $1 at 10% or more
	scow-sync-query | grep -q '"filePath": "'"$1"'".*"progress": "\([1-9][0-9]\)%"'
}
# sftp goes to the hostile server while $T/evil names its mode.
cat > "$T/ssh-wrap" <<EOF2
#!/bin/sh
for a; do
	[ "\$a" = -s ] && [ -s "$T/evil" ] &&
		exec python3 "$SCOW_SYNC_SRCDIR/tests/integration/evil-sftp.py" "\$(cat "$T/evil")"
done
exec ssh "\$@"
EOF2
chmod +x "$T/ssh-wrap"
export SCOW_SYNC_SSH=$T/ssh-wrap

src=$T/src/data
mkdir -p "$src"
head -c 6000000 /dev/urandom > "$src/big"
for mode in match slow; do
	dst=$T/far-$mode
	id=$(SCOW_SYNC_BWLIMIT=300 scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" \
		-d "$dst" -p "$SSHD_PORT" -k "$SSH_KEY") || fail "$mode: start exited $?"
	wait_for 30 moving "$src/big" || fail "$mode: big never got under way"
	kill -9 "$(supervisor_of "$id")"
	wait_for 10 eval '[ -n "$(find "$dst" -path "*/.scow-sync-partial/big")" ]' ||
		fail "$mode: no partial data on the far side"
	echo "$mode" > "$T/evil"
	# The timeout only keeps a terminate that never returns from hanging the test.
	SCOW_SYNC_TEST_CLEANUP_WAIT=3 /usr/bin/time -f %M -o "$T/rss" \
		timeout 60 scow-sync terminate --id "$id" 2>"$T/err"
	rc=$?
	[ "$rc" = 0 ] || fail "$mode: terminate exited $rc (124: it never returned): $(cat "$T/err")"
	rss=$(tail -1 "$T/rss")
	echo "$mode: terminate returned $rc, at most $rss kB resident"
	[ "$rss" -lt 150000 ] || fail "$mode: terminate grew to $rss kB"
	grep -q "partial files on $SSH_HOST could not be removed" "$T/err" ||
		fail "$mode: terminate did not say the far side was not cleaned: $(cat "$T/err")"
	case $mode in
	match) why="more than 64 files in '.*' are named like rsync's temporary of one file" ;;
	slow) why="the far side did not finish in 3 s" ;;
	esac
	grep -q "warning: could not remove partial files on the far side: $why" "$T/err" ||
		fail "$mode: terminate does not say why: $(cat "$T/err")"
	[ "$(leftovers_of "$id")" -gt 0 ] || fail "$mode: the partial data is no longer recorded"
	: > "$T/evil"
	scow-sync terminate --id "$id" 2>"$T/err" || fail "$mode: terminate again exited $?: $(cat "$T/err")"
	[ -z "$(find "$dst" -path '*/.scow-sync-partial/*')" ] ||
		fail "$mode: partial data left: $(find "$dst" -path '*/.scow-sync-partial/*')"
	no_processes_left || fail "$mode: processes left"
done
unset SCOW_SYNC_SSH

# Files named like rsync's temporary of big: the user's, written a moment,
# 5 s and 10 minutes before the start, stay; one written well after it is
# taken for ours.
dst=$T/far-decoy
mkdir -p "$dst/data"
echo "the user's, 5 s before" > "$dst/data/.big.AbC123"
echo "the user's, 10 min before" > "$dst/data/.big.XyZ789"
touch -d "@$(($(date +%s) - 5))" "$dst/data/.big.AbC123"
touch -d "@$(($(date +%s) - 600))" "$dst/data/.big.XyZ789"
echo "the user's, a moment before" > "$dst/data/.big.Now000"
id=$(SCOW_SYNC_BWLIMIT=300 scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" \
	-d "$dst" -p "$SSHD_PORT" -k "$SSH_KEY") || fail "decoy: start exited $?"
wait_for 30 moving "$src/big" || fail "decoy: big never got under way"
sleep 4
echo "a receiver's" > "$dst/data/.big.Rcv001"
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src" || fail "decoy: terminate exited $?"
[ "$(cat "$dst/data/.big.AbC123" 2>/dev/null)" = "the user's, 5 s before" ] ||
	fail "decoy: the user's file written 5 s before the start is gone"
[ "$(cat "$dst/data/.big.Now000" 2>/dev/null)" = "the user's, a moment before" ] ||
	fail "decoy: the user's file written a moment before the start is gone"
[ "$(cat "$dst/data/.big.XyZ789" 2>/dev/null)" = "the user's, 10 min before" ] ||
	fail "decoy: the user's file written 10 minutes before the start is gone"
[ ! -e "$dst/data/.big.Rcv001" ] || fail "decoy: the temporary written since the start is left"
[ -z "$(find "$dst" -name '.scow-sync-clock.*')" ] || fail "decoy: the clock's probe is left"
no_processes_left || fail "decoy: processes left"
finish
