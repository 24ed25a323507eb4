#!/bin/bash
# The history prunes itself: a transfer's end forgets the transfers that
# ended more than prune_days ago (with their units), keeping the newest
# prune_keep, the interrupted ones and the ones whose partial data is still
# to be removed; at most once a day; never with prune_days 0.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

db=$HOME/scow/.scow-sync/scow-sync.db
sql() { store_sql "$1"; }
src=$T/src/data
make_sample_tree "$src"
run() {
	scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst$1" -p "$SSHD_PORT" \
		-k "$SSH_KEY" || fail "run $1 exited $?"
}

run 1
# Old ones, as a long history leaves them: copies of transfer 1, with 3,000
# units for one of them (more than one slice of the prune).
old=$(($(date +%s) - 100 * 86400))
python3 - "$db" "$old" <<'PY' || fail "cannot make the history"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=15)
old = int(sys.argv[2])
cols = [r[1] for r in db.execute("PRAGMA table_info(transfers)") if r[1] != "id"]
def copy(state, finished):
    db.execute("INSERT INTO transfers (%s) SELECT %s FROM transfers WHERE id = 1" %
               (", ".join(cols), ", ".join(cols)))
    tid = db.execute("SELECT max(id) FROM transfers").fetchone()[0]
    db.execute("UPDATE transfers SET state = ?, finished_at = ?, created_at = ? WHERE id = ?",
               (state, finished, finished - 60, tid))
    return tid
big = copy("done", old)                      # 2: goes, with its units
db.executemany("INSERT INTO units (transfer_id, kind, path, state, files_total, bytes_total) "
               "VALUES (?, 'file', ?, 'done', 1, 10)", [(big, "f%d" % i) for i in range(3000)])
copy("failed", old)                          # 3: goes
left = copy("terminated", old)               # 4: its partial data is still to be removed
db.execute("INSERT INTO leftovers (transfer_id, path) VALUES (?, 'x')", (left,))
copy("done", old + 80 * 86400)               # 5: ended 20 days ago
copy("interrupted", old)                     # 6: can be resumed
copy("done", old)                            # 7: among the newest two after run 8
db.execute("UPDATE store_notes SET value = value - 2 * 86400 WHERE name = 'pruned_at'")
db.commit()
PY
[ "$(sql "SELECT count(*) FROM store_notes WHERE name = 'pruned_at'")" = 1 ] ||
	fail "the first transfer's end did not note a prune"

SCOW_SYNC_PRUNE_KEEP=2 run 8
[ "$(sql "SELECT id FROM transfers ORDER BY id" | tr '\n' ' ')" = "1 4 5 6 7 8 " ] ||
	fail "the prune kept $(sql "SELECT id FROM transfers ORDER BY id" | tr '\n' ' ')"
[ "$(sql "SELECT count(*) FROM units WHERE transfer_id IN (2, 3)")" = 0 ] ||
	fail "the units of a pruned transfer stayed"
[ "$(sql "SELECT count(*) FROM unit_totals WHERE transfer_id IN (2, 3)")" = 0 ] ||
	fail "the totals of a pruned transfer stayed"
grep -q " \[0\] info: pruned 2 transfers" "$HOME/scow/.scow-sync/scow-sync.log" ||
	fail "the prune is not in the log"
scow-sync log 8 | grep -q "transfer done after" || fail "transfer 8's end is not in its log"

# Once a day: the next end the same day prunes nothing.
sql "UPDATE transfers SET finished_at = $old WHERE id = 1"
SCOW_SYNC_PRUNE_KEEP=2 run 9
[ "$(sql "SELECT count(*) FROM transfers WHERE id = 1")" = 1 ] || fail "pruned twice in a day"
# prune_days 0: never.
sql "UPDATE store_notes SET value = value - 2 * 86400 WHERE name = 'pruned_at'"
SCOW_SYNC_PRUNE_DAYS=0 SCOW_SYNC_PRUNE_KEEP=2 run 10
[ "$(sql "SELECT count(*) FROM transfers WHERE id = 1")" = 1 ] || fail "pruned with prune_days 0"
SCOW_SYNC_PRUNE_KEEP=2 run 11
[ "$(sql "SELECT count(*) FROM transfers WHERE id = 1")" = 0 ] || fail "not pruned a day later"
[ "$(sql "PRAGMA integrity_check")" = ok ] || fail "the store is damaged"
# The counts of the transfers that stay are still right.
[ "$(sql "SELECT count(*) FROM unit_totals t WHERE units != (SELECT count(*) FROM units u
	WHERE u.transfer_id = t.transfer_id AND u.state = t.state)")" = 0 ] ||
	fail "the kept totals are wrong"
no_processes_left || fail "processes left behind"
finish
