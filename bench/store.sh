#!/bin/bash
# bench/store.sh: how fast the store answers while a large plan is written,
# and with a long history at rest.
#
#   bench/store.sh [-n FILES] [-t TRANSFERS] [-u UNITS]
#
# Needs a built tree (SCOW_SYNC_BUILDDIR, default ./), rsync, ssh, sshd and
# python3. Starts a private sshd (tests/lib.sh).
#
# 1. While a transfer of FILES files in one directory (default 1,000,000;
#    -m 1, one unit each) is planned: scow-sync-query, scow-sync query
#    --json and a small scow-sync-start, timed again and again (all must
#    answer; the portal shows any failure as an error).
# 2. At rest, with a history of TRANSFERS transfers (default 100,000) and
#    UNITS units in it (default 6,000,000, over 15 transfers), written into
#    the store directly: scow-sync-query and scow-sync query --json.
# Prints the median and the largest time of each.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
export SCOW_SYNC_SRCDIR=$here SCOW_SYNC_BUILDDIR=${SCOW_SYNC_BUILDDIR:-$here}
. "$here/tests/lib.sh"

files=1000000
transfers=100000
units=6000000
while getopts n:t:u: opt; do
	case $opt in
	n) files=$OPTARG ;;
	t) transfers=$OPTARG ;;
	u) units=$OPTARG ;;
	*) exit 2 ;;
	esac
done
state=$HOME/scow/.scow-sync
db=$state/scow-sync.db

# Run "$@" and print how long it took (seconds), or FAIL and its exit.
timed() {
	local t0 t1
	t0=$(date +%s.%N)
	if "$@" >/dev/null 2>"$T/timed.err"; then
		t1=$(date +%s.%N)
		echo "$t1 - $t0" | bc
	else
		echo "FAIL:$?:$(head -c 200 "$T/timed.err")"
	fi
}
# Median and largest of the numbers on stdin, and how many failed.
summary() {
	python3 -c '
import sys
v = [l.strip() for l in sys.stdin if l.strip()]
ok = sorted(float(x) for x in v if not x.startswith("FAIL"))
bad = [x for x in v if x.startswith("FAIL")]
med = ok[len(ok) // 2] * 1000 if ok else float("nan")
top = ok[-1] * 1000 if ok else float("nan")
print("%-28s n=%-4d median %7.1f ms   max %7.1f ms   failed %d %s" %
      (sys.argv[1], len(v), med, top, len(bad), bad[:1]))' "$1"
}

echo "== 1. while a plan of $files units is written"
big=$T/src/big
mkdir -p "$big" "$T/src/small"
python3 - "$big" "$files" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    os.close(os.open("%s/f%07d" % (d, i), os.O_CREAT | os.O_WRONLY, 0o644))
PY
echo small >"$T/src/small/x"
# Something in the store first, so that the opening is an ordinary one.
scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$T/src/small" -d "$T/dst0" \
	-p "$SSHD_PORT" -k "$SSH_KEY" || exit 1
scow-sync-start -a "$SSH_HOST" -u "$SSH_USER" -s "$big" -d "$T/dst" -m 1 \
	-p "$SSHD_PORT" -k "$SSH_KEY" || exit 1
id=$(python3 -c "import sqlite3; print(sqlite3.connect('$db').execute('SELECT max(id) FROM transfers').fetchone()[0])")
planned() {
	python3 -c "import sqlite3,sys; sys.exit(0 if sqlite3.connect('$db', timeout=30).execute('SELECT planned FROM transfers WHERE id = $id').fetchone()[0] else 1)"
}
t0=$(date +%s.%N)
: >"$T/q1"; : >"$T/q2"; : >"$T/q3"
i=0
while ! planned; do
	timed scow-sync-query >>"$T/q1"
	timed scow-sync query --json >>"$T/q2"
	if [ $((i % 10)) = 0 ]; then
		timed scow-sync-start -a "$SSH_HOST" -u "$SSH_USER" -s "$T/src/small" \
			-d "$T/dst$i" -p "$SSHD_PORT" -k "$SSH_KEY" >>"$T/q3"
	fi
	i=$((i + 1))
	sleep 0.1
done
echo "planning took $(echo "$(date +%s.%N) - $t0" | bc) s (seen from here)"
summary "scow-sync-query" <"$T/q1"
summary "scow-sync query --json" <"$T/q2"
summary "small scow-sync-start" <"$T/q3"
# ... and while it runs, with its units in the store.
: >"$T/q1"; : >"$T/q2"
for i in $(seq 20); do
	timed scow-sync-query >>"$T/q1"
	timed scow-sync query --json >>"$T/q2"
	sleep 0.2
done
summary "running: scow-sync-query" <"$T/q1"
summary "running: query --json" <"$T/q2"
scow-sync terminate --id "$id" >/dev/null 2>&1
rm -rf "$big" "$T/dst"

echo "== 2. at rest: $transfers transfers, $units units"
python3 - "$db" "$transfers" "$units" <<'PY' || exit 1
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=60)
n, units = int(sys.argv[2]), int(sys.argv[3])
have = db.execute("SELECT count(*) FROM transfers").fetchone()[0]
cols = [r[1] for r in db.execute("PRAGMA table_info(transfers)") if r[1] != "id"]
now = int(time.time())
for i in range(n - have):
    # Spread over 80 days: nothing old enough to be pruned.
    db.execute("INSERT INTO transfers (%s) SELECT %s FROM transfers WHERE id = 1" %
               (", ".join(cols), ", ".join(cols)))
db.execute("UPDATE transfers SET state = 'done', finished_at = ? - (? - id) * 69, "
           "created_at = ? - (? - id) * 69 - 10 WHERE state != 'done' OR id > 1",
           (now - 86400, n, now - 86400, n))
ids = [r[0] for r in db.execute("SELECT id FROM transfers ORDER BY id DESC LIMIT 15")]
per = units // len(ids)
for tid in ids:
    db.executemany("INSERT INTO units (transfer_id, kind, path, state, files_total, bytes_total) "
                   "VALUES (?, 'file', ?, 'done', 1, 1000)",
                   ((tid, "u%d" % k) for k in range(per)))
db.commit()
PY
ls -l "$db" | awk '{print "store: " $5 " bytes"}'
: >"$T/q1"; : >"$T/q2"; : >"$T/q3"
for i in $(seq 20); do
	timed scow-sync-query >>"$T/q1"
	timed scow-sync query --json >>"$T/q2"
	timed scow-sync status >>"$T/q3"
done
summary "rest: scow-sync-query" <"$T/q1"
summary "rest: query --json" <"$T/q2"
summary "rest: status" <"$T/q3"
finish
