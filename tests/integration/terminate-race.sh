#!/bin/bash
# Terminate and resume where they race with a start, or where one request
# could get a second writer:
#  - terminate fired right behind each of ten starts: when it says it
#    stopped a transfer (exit 0), that transfer ends terminated with no
#    process left; when it says nothing matched (exit 3), the transfer was
#    not there yet and runs to a byte-identical end;
#  - resume of an old transfer while the same request runs under a new id
#    starts no second writer, and names the running one;
#  - "d", "d/" and "./d" are one destination, "x/../s" and "s" one source:
#    one transfer;
#  - a terminated transfer at -m 0, resumed, sends everything.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

export SCOW_SYNC_BWLIMIT=256
start() {   # start SRC DST [options]: print the id
	local src=$1 dst=$2
	shift 2
	scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dst" \
		-p "$SSHD_PORT" -k "$SSH_KEY" "$@"
}
terminate() {   # terminate SRC
	scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$1"
}
id_of() {   # the newest transfer of source $1
	python3 - "$HOME/scow/.scow-sync/scow-sync.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=15)
row = db.execute("SELECT max(id) FROM transfers WHERE source = ?",
                 (sys.argv[2].encode(),)).fetchone()
print(row[0] if row and row[0] else "")
PY
}

# Ten starts, each with a terminate 0-90 ms behind it.
for i in $(seq 0 9); do
	mkdir -p "$T/src/r$i/d"
	head -c 300000 /dev/urandom > "$T/src/r$i/a"
	head -c 300000 /dev/urandom > "$T/src/r$i/d/b"
done
for i in $(seq 0 9); do
	(start "$T/src/r$i" "$T/dst" -m 1 >/dev/null) &
	(sleep "0.0$i"; terminate "$T/src/r$i" 2>"$T/term$i.err"; echo $? > "$T/term$i.rc") &
done
wait
for i in $(seq 0 9); do
	id=$(id_of "$T/src/r$i")
	[ -n "$id" ] || { fail "r$i: no transfer recorded"; continue; }
	wait_for 60 transfer_ended "$id" || fail "r$i: transfer $id did not end"
	rc=$(cat "$T/term$i.rc")
	state=$(transfer_state "$id")
	case $rc/$state in
	0/terminated) ;;
	3/done)
		grep -q "no running transfer" "$T/term$i.err" ||
			fail "r$i: terminate exited 3 saying: $(cat "$T/term$i.err")"
		tree_equal "$T/src/r$i" "$T/dst/r$i" || fail "r$i: the copy differs" ;;
	*) fail "r$i: terminate exited $rc and transfer $id ended $state: $(cat "$T/term$i.err")" ;;
	esac
done
no_processes_left || fail "processes left after the racing terminates"
[ -z "$(partial_files "$T/dst")" ] || fail "partial files left: $(partial_files "$T/dst")"

# Resume of an old transfer while the same request runs as a new one.
src=$T/src/twin
mkdir -p "$src"
for f in a b; do head -c 2000000 /dev/urandom > "$src/$f"; done
old=$(start "$src" "$T/dst2" -m 1) || fail "start exited $?"
wait_for 30 query_shows "$src" || fail "the first transfer never showed up"
terminate "$src" || fail "terminate exited $?"
new=$(start "$src" "$T/dst2" -m 1) || fail "second start exited $?"
[ "$new" != "$old" ] || fail "a terminated transfer was continued by a new start"
wait_for 30 query_shows "$src" || fail "the second transfer never showed up"
out=$(scow-sync resume "$old" 2>&1); rc=$?
[ "$rc" = 0 ] || fail "resume while the same request runs exited $rc"
case $out in
*"running as transfer $new"*) ;;
*) fail "resume did not name the running transfer: $out" ;;
esac
[ "$(transfer_state "$old")" = terminated ] || fail "transfer $old is $(transfer_state "$old")"
n=$(scow-sync-query | python3 -c 'import json,sys; print(len([r for r in json.load(sys.stdin) if r["filePath"].endswith("/twin/a")]))')
[ "$n" -le 1 ] || fail "two writers of twin/a in query"

# One destination, however it is spelled.
src=$T/src/spell
mkdir -p "$src"
head -c 2000000 /dev/urandom > "$src/a"
first=$(start "$src" "$T/dst3" -m 1) || fail "start exited $?"
for d in "$T/dst3/" "$T//dst3" "$T/./dst3/."; do
	again=$(start "$src" "$d" -m 1 2>/dev/null) || fail "start -d $d exited $?"
	[ "$again" = "$first" ] || fail "-d '$d' started transfer $again beside $first"
done
mkdir -p "$T/src/other"
for s in "$T/src/other/../spell" "$T/src/./spell/"; do
	again=$(start "$s" "$T/dst3" -m 1 2>/dev/null) || fail "start -s $s exited $?"
	[ "$again" = "$first" ] || fail "-s '$s' started transfer $again beside $first"
done
scow-sync terminate --all >/dev/null 2>&1
no_processes_left || fail "processes left after terminate --all"

# -m 0: terminated, then resumed: everything arrives.
src=$T/src/zero
mkdir -p "$src/d"
for f in 1 2 3; do head -c 400000 /dev/urandom > "$src/d/f$f"; done
id=$(start "$src" "$T/dst4" -m 0) || fail "start -m 0 exited $?"
wait_for 30 query_shows "$src" || fail "the -m 0 transfer never showed up"
terminate "$src" || fail "terminate of the -m 0 transfer exited $?"
unset SCOW_SYNC_BWLIMIT
scow-sync resume "$id" >/dev/null || fail "resume of the -m 0 transfer exited $?"
wait_for 60 transfer_ended "$id" || fail "the resumed -m 0 transfer did not end"
[ "$(transfer_state "$id")" = done ] || fail "the resumed -m 0 transfer is $(transfer_state "$id")"
tree_equal "$src" "$T/dst4/zero" || fail "the resumed -m 0 copy differs"
no_processes_left || fail "processes left at the end"
finish
