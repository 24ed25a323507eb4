#!/bin/bash
# Large files in pieces (SCOW_SYNC_SPLIT_MIB asks for them on loopback,
# where the link alone would not): the file arrives byte-identical, under
# its name only when complete (its pieces checked by SHA-1 at both ends),
# while query shows it as one file; a re-sync does not send it again;
# terminate during its pieces leaves no partial data and no process; a
# supervisor killed during its pieces is resumed from what the pieces had
# written; a file that changes while its pieces move is sent again.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

export SCOW_SYNC_SPLIT_MIB=4 SCOW_SYNC_WORKERS=3
log=$HOME/scow/.scow-sync/scow-sync.log
db=$HOME/scow/.scow-sync/scow-sync.db
src=$T/src/p
mkdir -p "$src/d"
head -c 20000000 /dev/urandom > "$src/d/big"
head -c 5000 /dev/urandom > "$src/small"
start() {
	scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$1" -m 2 \
		-p "$SSHD_PORT" -k "$SSH_KEY"
}
supervisor_of() {
	python3 - "$db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=15)
print(db.execute("SELECT sup_pid FROM transfers WHERE id = ?", (int(sys.argv[2]),)).fetchone()[0])
PY
}
# The big file at 20% to 70% in query, as one row.
big_midway() {
	scow-sync-query > "$T/q.json" || return 1
	python3 - "$T/q.json" "$src/d/big" <<'PY'
import json, sys
rows = [r for r in json.load(open(sys.argv[1])) if r["filePath"] == sys.argv[2]]
sys.exit(0 if len(rows) == 1 and 20 <= int(rows[0]["progress"][:-1]) <= 70 else 1)
PY
}

# Slowed down (the limit holds per piece too) so that it can be watched.
export SCOW_SYNC_BWLIMIT=1500
id=$(start "$T/dst1") || fail "start exited $?"
wait_for 30 big_midway || fail "query never showed the big file midway, as one row"
check_legacy_json "$(cat "$T/q.json")" "$SSH_HOST" "$src" || fail "query answer: $(cat "$T/q.json")"
[ -e "$T/dst1/p/d/big" ] && fail "the big file is under its name before it is complete"
wait_for 60 transfer_ended "$id" || fail "the transfer did not end"
[ "$(transfer_state "$id")" = done ] || fail "the transfer is $(transfer_state "$id")"
grep -q "\[$id\] info: 'p/d/big': 20000000 bytes in 3 pieces" "$log" ||
	fail "the big file did not move in 3 pieces"
# Every piece matched: the file is put under its name, no rsync reads it again.
grep -q "\[$id\] info: done 'p/d/big': 1 files, 20000000 bytes, in 3 pieces .* checked by its SHA-1" "$log" ||
	fail "the big file was not put under its name from its checked pieces"
tree_equal "$src" "$T/dst1/p" || fail "the copy differs"
[ -z "$(partial_files "$T/dst1")" ] || fail "partial files left: $(partial_files "$T/dst1")"
# The rsync after the pieces used their data up: nothing left to look for.
grep -q "\[$id\] info: done: looking for the partial data" "$log" &&
	fail "a clean transfer in pieces still looked for partial data at its end"
no_processes_left || fail "processes left after the transfer"

# A re-sync: nothing to send, no pieces.
unset SCOW_SYNC_BWLIMIT
id=$(start "$T/dst1") || fail "re-sync start exited $?"
wait_for 60 transfer_ended "$id" || fail "the re-sync did not end"
[ "$(transfer_state "$id")" = done ] || fail "the re-sync is $(transfer_state "$id")"
grep -q "\[$id\] info: 'p/d/big': .* in [0-9]* pieces" "$log" && fail "the re-sync sent pieces"

# Terminate during the pieces.
export SCOW_SYNC_BWLIMIT=1500
id=$(start "$T/dst2") || fail "start 2 exited $?"
wait_for 30 big_midway || fail "transfer 2 never got midway"
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src" || fail "terminate exited $?"
no_processes_left || fail "processes left after terminate"
[ "$(transfer_state "$id")" = terminated ] || fail "transfer 2 is $(transfer_state "$id")"
[ -z "$(partial_files "$T/dst2")" ] || fail "partial files after terminate: $(partial_files "$T/dst2")"
[ -e "$T/dst2/p/d/big" ] && fail "a part of the big file is under its name"

# kill -9 during the pieces, then resume: it goes on from the pieces' data.
id=$(start "$T/dst3") || fail "start 3 exited $?"
wait_for 30 big_midway || fail "transfer 3 never got midway"
kill -9 "$(supervisor_of "$id")"
no_processes_left || fail "processes outlived the killed supervisor"
# The pieces' file is the transfer's own, not rsync's partial file.
part=$(stat -c %s "$T/dst3/p/d/.scow-sync-partial/big.scow-sync-pieces.$id" 2>/dev/null || echo 0)
[ "$part" -gt 0 ] || fail "no partial data of the pieces on the far side"
unset SCOW_SYNC_BWLIMIT
scow-sync resume "$id" >/dev/null || fail "resume exited $?"
wait_for 60 transfer_ended "$id" || fail "the resumed transfer did not end"
[ "$(transfer_state "$id")" = done ] || fail "the resumed transfer is $(transfer_state "$id")"
[ "$(grep -c "\[$id\] info: 'p/d/big': 20000000 bytes in" "$log")" = 1 ] ||
	fail "the resumed run moved the big file in pieces again"
sent=$(sed -n "s/.*\[$id\] info: done 'p\/d\/big': 1 files, 20000000 bytes, \([0-9]*\) bytes sent.*/\1/p" "$log")
[ -n "$sent" ] && [ "$sent" -lt 19000000 ] ||
	fail "the resumed big file sent ${sent:-?} bytes: it did not go on from the pieces"
tree_equal "$src" "$T/dst3/p" || fail "the resumed copy differs"
[ -z "$(partial_files "$T/dst3")" ] || fail "partial files left: $(partial_files "$T/dst3")"

# The file changes while its pieces move: its pieces match what was read,
# but that is no state of the file; rsync sends it again, looking inside.
export SCOW_SYNC_BWLIMIT=1500
id=$(start "$T/dst4") || fail "start 4 exited $?"
wait_for 30 big_midway || fail "transfer 4 never got midway"
head -c 4096 /dev/urandom | dd of="$src/d/big" bs=4096 seek=1 conv=notrunc status=none
touch -d @1600000000 "$src/d/big"
unset SCOW_SYNC_BWLIMIT
wait_for 60 transfer_ended "$id" || fail "transfer 4 did not end"
[ "$(transfer_state "$id")" = done ] || fail "transfer 4 is $(transfer_state "$id")"
grep -q "\[$id\] warning: 'p/d/big' changed while it was being sent in pieces; sending it again" "$log" ||
	fail "the change during the pieces went unnoticed"
tree_equal "$src" "$T/dst4/p" || fail "the copy of the changed file differs"
cmp -s "$src/d/big" "$T/dst4/p/d/big" || fail "the changed big file's copy differs"
no_processes_left || fail "processes left at the end"
finish
