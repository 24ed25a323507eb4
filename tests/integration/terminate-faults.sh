#!/bin/bash
# Terminate and resume after things went wrong on the way:
#  - the supervisor was killed (kill -9): terminate of a part removes that
#    part's partial data at once; a resumed run then terminated leaves no
#    partial data of the killed run's files either;
#  - a SIGTERM from elsewhere (a reboot): the transfer is interrupted, and
#    the identical start continues it under its id;
#  - the link is down when terminate runs: it stops the transfer but says
#    that the far side could not be cleaned (on stderr; exit 0, as it is
#    stopped); once the link is back,
#    terminate --id cleans it;
#  - the supervisor hangs (SIGSTOP): terminate kills it, and nothing of the
#    transfer runs any more when terminate returns;
#  - the destination was removed before the cleanup could run: the cleanup
#    does not make it again.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

start_relay
db=$HOME/scow/.scow-sync/scow-sync.db
start() {   # start SRC DST PORT [options]: print the id
	local src=$1 dst=$2 port=$3
	shift 3
	scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dst" \
		-p "$port" -k "$SSH_KEY" "$@"
}
terminate() {
	scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" "$@"
}
supervisor_of() {   # the pid of transfer $1's supervisor
	python3 - "$db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=15)
print(db.execute("SELECT sup_pid FROM transfers WHERE id = ?", (int(sys.argv[2]),)).fetchone()[0])
PY
}
# Partial and temporary files rsync leaves on the far side.
debris() {
	find "$1" \( -path '*/.scow-sync-partial/*' -o -name '.*.??????' \) -type f 2>/dev/null
}
moving() {   # true when query shows file $1 at 10% or more
	scow-sync-query | grep -q '"filePath": "'"$1"'".*"progress": "\([1-9][0-9]\)%"'
}

# (a) kill -9, then terminate a part, then resume.
export SCOW_SYNC_BWLIMIT=512 SCOW_SYNC_WORKERS=2
src=$T/src/a
mkdir -p "$src/d"
head -c 4000000 /dev/urandom > "$src/d/big"
head -c 4000000 /dev/urandom > "$src/other"
id=$(start "$src" "$T/dsta" "$SSHD_PORT" -m 2) || fail "start (a) exited $?"
wait_for 30 moving "$src/d/big" || fail "(a) the big file never got under way"
kill -9 "$(supervisor_of "$id")"
no_processes_left || fail "(a) processes outlived the killed supervisor"
[ -n "$(debris "$T/dsta/a/d")" ] || fail "(a) no partial data of d/big to clean up"
terminate -s "$src/d/big" 2>"$T/err" || fail "(a) terminate of a part exited $?: $(cat "$T/err")"
[ -z "$(debris "$T/dsta/a/d")" ] || fail "(a) partial data left: $(debris "$T/dsta/a/d")"
terminate -s "$src/d/big" 2>"$T/err"; rc=$?
[ "$rc" = 0 ] && grep -q "was stopped before" "$T/err" ||
	fail "(a) the portal's terminate of the part again exited $rc: $(cat "$T/err")"
scow-sync terminate -s "$src/d/big" 2>"$T/err"; rc=$?
[ "$rc" = 3 ] || fail "(a) scow-sync terminate of the part again exited $rc, want 3"
unset SCOW_SYNC_BWLIMIT
scow-sync resume "$id" >/dev/null || fail "(a) resume exited $?"
wait_for 60 transfer_ended "$id" || fail "(a) the resumed transfer did not end"
[ "$(transfer_state "$id")" = done ] || fail "(a) resumed transfer is $(transfer_state "$id")"
[ -e "$T/dsta/a/d/big" ] && fail "(a) the stopped part arrived after all"
cmp -s "$src/other" "$T/dsta/a/other" || fail "(a) the rest did not arrive"
[ -z "$(debris "$T/dsta")" ] || fail "(a) debris at the end: $(debris "$T/dsta")"

# (b) kill -9 with two files in flight; resume with one worker; terminate.
export SCOW_SYNC_BWLIMIT=512
src=$T/src/b
mkdir -p "$src"
head -c 4000000 /dev/urandom > "$src/x"
head -c 4000000 /dev/urandom > "$src/y"
id=$(start "$src" "$T/dstb" "$SSHD_PORT" -m 1) || fail "start (b) exited $?"
wait_for 30 moving "$src/x" || fail "(b) x never got under way"
wait_for 30 moving "$src/y" || fail "(b) y never got under way"
kill -9 "$(supervisor_of "$id")"
no_processes_left || fail "(b) processes outlived the killed supervisor"
SCOW_SYNC_WORKERS=1 scow-sync resume "$id" >/dev/null || fail "(b) resume exited $?"
wait_for 30 query_shows "$src" || fail "(b) the resumed transfer never showed up"
terminate -s "$src" || fail "(b) terminate exited $?"
no_processes_left || fail "(b) processes left after terminate"
[ "$(transfer_state "$id")" = terminated ] || fail "(b) transfer is $(transfer_state "$id")"
[ -z "$(debris "$T/dstb")" ] || fail "(b) debris left: $(debris "$T/dstb")"

# (c) SIGTERM from elsewhere: interrupted, and the same start continues it.
src=$T/src/c
mkdir -p "$src"
head -c 3000000 /dev/urandom > "$src/f"
id=$(start "$src" "$T/dstc" "$SSHD_PORT" -m 1) || fail "start (c) exited $?"
wait_for 30 moving "$src/f" || fail "(c) f never got under way"
kill -TERM "$(supervisor_of "$id")"
wait_for 30 transfer_ended "$id" || fail "(c) the transfer did not stop on SIGTERM"
[ "$(transfer_state "$id")" = interrupted ] ||
	fail "(c) after SIGTERM the transfer is $(transfer_state "$id"), not interrupted"
unset SCOW_SYNC_BWLIMIT
again=$(start "$src" "$T/dstc" "$SSHD_PORT" -m 1) || fail "(c) second start exited $?"
[ "$again" = "$id" ] || fail "(c) the same start gave transfer $again, not $id"
wait_for 60 transfer_ended "$id" || fail "(c) the continued transfer did not end"
[ "$(transfer_state "$id")" = done ] || fail "(c) continued transfer is $(transfer_state "$id")"
tree_equal "$src" "$T/dstc/c" || fail "(c) the continued copy differs"

# Take the link down, then terminate -s $1 (case $2): it is stopped, exit 0
# (the portal's contract), and stderr says the partial data is still there.
terminate_link_down() {
	local rc
	relay_toggle
	relay_drop
	sleep 1
	terminate -s "$1" 2>"$T/err"; rc=$?
	[ "$rc" = 0 ] || fail "($2) terminate with the link down exited $rc, want 0"
	grep -q "could not be removed" "$T/err" || fail "($2) terminate said: $(cat "$T/err")"
}

# Start a transfer of a new $T/src/$1 (one file of 3 MB) to $2 through the
# relay, and stop it once under way with the link down (terminate_link_down);
# sets src and id.
stop_with_link_down() {
	src=$T/src/$1
	mkdir -p "$src"
	head -c 3000000 /dev/urandom > "$src/f"
	id=$(start "$src" "$2" "$RELAY_PORT" -m 1) || fail "start ($1) exited $?"
	wait_for 30 moving "$src/f" || fail "($1) f never got under way"
	terminate_link_down "$src" "$1"
}

# (d) the link is down when terminate runs.
export SCOW_SYNC_BWLIMIT=256
stop_with_link_down d "$T/dstd"
no_processes_left || fail "(d) processes left with the link down"
[ "$(transfer_state "$id")" = terminated ] || fail "(d) transfer is $(transfer_state "$id")"
[ -n "$(debris "$T/dstd")" ] || fail "(d) no partial data was left to clean (test too fast)"
relay_toggle
scow-sync terminate --id "$id" || fail "(d) terminate --id with the link back exited $?"
[ -z "$(debris "$T/dstd")" ] || fail "(d) debris left: $(debris "$T/dstd")"
scow-sync terminate --id "$id" 2>/dev/null; rc=$?
[ "$rc" = 3 ] || fail "(d) terminate --id of a clean terminated transfer exited $rc, want 3"

# (f) a file that arrived and is named like rsync's temporary file of the
# part being stopped (".notes.XXXXXX") is data: the cleanup leaves it.
export SCOW_SYNC_BWLIMIT=256
src=$T/src/f
mkdir -p "$src"
head -c 3000000 /dev/urandom > "$src/notes"
echo "mine" > "$src/.notes.backup"
id=$(start "$src" "$T/dstf" "$SSHD_PORT" -m 1) || fail "start (f) exited $?"
wait_for 30 moving "$src/notes" || fail "(f) notes never got under way"
wait_for 10 test -f "$T/dstf/f/.notes.backup" || fail "(f) .notes.backup did not arrive"
terminate -s "$src/notes" || fail "(f) terminate of notes exited $?"
wait_for 30 transfer_ended "$id" || fail "(f) the transfer did not end"
[ "$(transfer_state "$id")" = done ] || fail "(f) the transfer is $(transfer_state "$id")"
cmp -s "$src/.notes.backup" "$T/dstf/f/.notes.backup" ||
	fail "(f) the cleanup removed the arrived .notes.backup"
[ -z "$(debris "$T/dstf" | grep -v '/.notes.backup$')" ] || fail "(f) debris: $(debris "$T/dstf")"

# (g) many small files in one batch over a slow link with a deep queue, so
# that the receiver is many files behind the sender: terminate leaves no
# partial data of any of them (twice, as the lag differs).
start_linkem 2 5
for round in 1 2; do
	src=$T/src/g$round
	mkdir -p "$src"
	for i in $(seq -w 1 30); do head -c 150000 /dev/urandom > "$src/f$i"; done
	id=$(SCOW_SYNC_WORKERS=1 start "$src" "$T/dstg" "$LINKEM_PORT" -m 1) ||
		fail "start (g$round) exited $?"
	wait_for 30 eval '[ "$(ls "$T/dstg/g$round" 2>/dev/null | wc -l)" -ge 2 ]' ||
		fail "(g$round) nothing arrived"
	sleep 0.$((round * 4))
	terminate -s "$src" || fail "(g$round) terminate exited $?"
	[ "$(transfer_state "$id")" = terminated ] || fail "(g$round) transfer is $(transfer_state "$id")"
	[ -z "$(debris "$T/dstg")" ] || fail "(g$round) debris: $(debris "$T/dstg")"
	while IFS= read -r -d '' f; do
		cmp -s "$f" "$src/${f##*/}" || fail "(g$round) incomplete file under its name: $f"
	done < <(find "$T/dstg/g$round" -type f -not -path "*/.scow-sync-partial/*" -print0)
done

# (d2) the link is down when a part is stopped: terminate says the partial
# data is still there (exit 0: it is stopped); the transfer goes on once
# the link is back,
# and when it ends, that partial data is gone too.
src=$T/src/d2
mkdir -p "$src"
head -c 3000000 /dev/urandom > "$src/part"
head -c 3000000 /dev/urandom > "$src/rest"
id=$(SCOW_SYNC_RETRIES=6 start "$src" "$T/dstd2" "$RELAY_PORT" -m 1) || fail "start (d2) exited $?"
wait_for 30 moving "$src/part" || fail "(d2) part never got under way"
terminate_link_down "$src/part" d2
relay_toggle
unset SCOW_SYNC_BWLIMIT
wait_for 90 transfer_ended "$id" || fail "(d2) the transfer did not end"
[ "$(transfer_state "$id")" = done ] || fail "(d2) transfer is $(transfer_state "$id")"
cmp -s "$src/rest" "$T/dstd2/d2/rest" || fail "(d2) the rest did not arrive"
[ -e "$T/dstd2/d2/part" ] && fail "(d2) the stopped part arrived"
[ -z "$(debris "$T/dstd2")" ] || fail "(d2) debris at the end: $(debris "$T/dstd2")"
export SCOW_SYNC_BWLIMIT=256

# (e) a hung supervisor.
src=$T/src/e
mkdir -p "$src"
head -c 3000000 /dev/urandom > "$src/f"
head -c 3000000 /dev/urandom > "$src/g"
id=$(start "$src" "$T/dste" "$SSHD_PORT" -m 1) || fail "start (e) exited $?"
wait_for 30 moving "$src/f" || fail "(e) f never got under way"
kill -STOP "$(supervisor_of "$id")"
terminate -s "$src" 2>"$T/err"; rc=$?
[ "$rc" = 0 ] || fail "(e) terminate of a hung supervisor exited $rc: $(cat "$T/err")"
left=$(test_processes)
[ -z "$left" ] || fail "(e) still running when terminate returned: $(ps -o args= -p "${left//$'\n'/,}")"
[ "$(transfer_state "$id")" = terminated ] || fail "(e) transfer is $(transfer_state "$id")"
[ -z "$(debris "$T/dste")" ] || fail "(e) debris left: $(debris "$T/dste")"

# (g) stopped with the link down, then the user removes the destination:
# the cleanup once the link is back finds nothing to remove, and makes no
# empty destination again.
stop_with_link_down g "$T/dstg/sub"
[ -n "$(debris "$T/dstg")" ] || fail "(g) no partial data was left to clean (test too fast)"
rm -rf "$T/dstg"
relay_toggle
scow-sync terminate --id "$id" 2>"$T/err" || fail "(g) terminate --id exited $?: $(cat "$T/err")"
[ ! -e "$T/dstg" ] || fail "(g) the cleanup made the removed destination again: $(find "$T/dstg")"
scow-sync terminate --id "$id" 2>/dev/null; rc=$?
[ "$rc" = 3 ] || fail "(g) the partial data is still recorded (terminate --id exited $rc, want 3)"
finish
