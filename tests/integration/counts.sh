#!/bin/bash
# files_done and bytes_done, the transfer's and its units', are what
# arrived: (a) a batch that ends with rsync's 23 (one file the far side
# cannot take) counts the files it sent; (b) a part stopped while its batch
# runs, and (c) a transfer stopped by a signal and resumed, count once the
# files whose last bytes the stop caught in buffers, sent again after.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

db=$HOME/scow/.scow-sync/scow-sync.db
# "files bytes" of transfer $1: the transfer's, then the sum of its units'.
counters() {
	python3 - "$db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=15)
t = db.execute("SELECT files_done, bytes_done FROM transfers WHERE id = ?",
               (int(sys.argv[2]),)).fetchone()
u = db.execute("SELECT total(files_done), total(bytes_done) FROM units "
               "WHERE transfer_id = ? AND state != 'excluded'", (int(sys.argv[2]),)).fetchone()
print(t[0], t[1], int(u[0]), int(u[1]))
PY
}
# "files bytes" of the regular files under $1, partial data left out.
arrived() {
	find "$1" -path '*/.scow-sync-partial' -prune -o -type f -printf '%s\n' |
		awk '{ n++; b += $1 } END { print n + 0, b + 0 }'
}
# Transfer $1's counters are the files under $2, for it and for its units.
counts_arrived() {
	local want got
	want=$(arrived "$2")
	got=$(counters "$1")
	[ "$got" = "$want $want" ] ||
		fail "$3: counted '$got' (transfer, units), but '$want' arrived"
}
export SCOW_SYNC_COMPRESS=never

# (a) One file of twenty cannot be written (a directory that is not empty
# is in its way): rsync exits 23, the other nineteen arrived.
src=$T/src/a
mkdir -p "$src/d" "$T/dsta/a/d/f15/keep"
for i in $(seq 10 29); do head -c 10000 /dev/urandom > "$src/d/f$i"; done
id=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dsta" -m 2 \
	-p "$SSHD_PORT" -k "$SSH_KEY") || fail "(a) start exited $?"
wait_for 30 transfer_ended "$id" || fail "(a) the transfer did not end"
[ "$(transfer_state "$id")" = failed ] || fail "(a) the transfer is $(transfer_state "$id")"
rm -r "$T/dsta/a/d/f15"
counts_arrived "$id" "$T/dsta" "(a) after rsync's 23"

# Over a slow link, rsync says a small file is sent while it still waits
# in buffers; a stop loses what they hold.
start_linkem 8 10
src=$T/src/b
mkdir -p "$src/d"
for i in $(seq 100 299); do head -c 20000 /dev/urandom > "$src/d/f$i"; done
export SCOW_SYNC_WORKERS=1
some_sent() { [ "$(counters "$1" | cut -d' ' -f1)" -ge 20 ]; }

# (b) A part still to come in the running batch is stopped: the batch runs
# again without it.
id=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dstb" -m 2 \
	-p "$LINKEM_PORT" -k "$SSH_KEY") || fail "(b) start exited $?"
wait_for 30 some_sent "$id" || fail "(b) nothing was sent"
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src/d/f290" || fail "(b) terminate exited $?"
wait_for 60 transfer_ended "$id" || fail "(b) the transfer did not end"
[ "$(transfer_state "$id")" = done ] || fail "(b) the transfer is $(transfer_state "$id")"
[ -e "$T/dstb/b/d/f290" ] && fail "(b) the stopped part arrived"
counts_arrived "$id" "$T/dstb" "(b) after a part stopped while running"

# (c) The supervisor is stopped, and the transfer resumed.
id=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dstc" -m 2 \
	-p "$LINKEM_PORT" -k "$SSH_KEY") || fail "(c) start exited $?"
wait_for 30 some_sent "$id" || fail "(c) nothing was sent"
kill -TERM "$(supervisor_pid "$id")"
wait_for 30 transfer_ended "$id" || fail "(c) the transfer did not stop"
scow-sync resume "$id" >/dev/null || fail "(c) resume exited $?"
wait_for 60 transfer_ended "$id" || fail "(c) the resumed transfer did not end"
[ "$(transfer_state "$id")" = done ] || fail "(c) the transfer is $(transfer_state "$id")"
tree_equal "$src" "$T/dstc/b" || fail "(c) the copy differs from the source"
counts_arrived "$id" "$T/dstc" "(c) after a stop and a resume"
kill "$LINKEM_PID"
no_processes_left || fail "processes left"
finish
