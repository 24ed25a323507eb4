#!/bin/bash
# A far side that stops taking a large file's pieces on a live connection
# (its dd stopped, as a file system that hangs would stop it) must not
# hold the transfer for ever, nor show the file as all there:
#  (a) with io_timeout 3, the stopped pieces end after 3 s without
#      progress, as an rsync ends on its --timeout; the file goes on to an
#      rsync of its own (the far side's file system still answers rsync:
#      only the pieces' dd is stopped) and the transfer ends done, the
#      copy identical, while the dd stays stopped;
#  (b) query never shows the file at 100% while its pieces are not
#      acknowledged (their bytes are sent, into buffers, and the far side
#      takes none of it);
#  (c) the connection kept for the next transfer (keep_connection) is
#      ended instead: the stopped dd still holds a session of it;
#  (d) the same when the far side's lock holder does not let go at the
#      end of a transfer (stopped): its ssh is ended, and the connection
#      it ran over is not kept either;
#  (e) a healthy piece under a slow rate limit is not taken for a stalled
#      one.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

export SCOW_SYNC_SPLIT_MIB=1 SCOW_SYNC_WORKERS=2 SCOW_SYNC_IO_TIMEOUT=3
export SCOW_SYNC_KEEP_CONNECTION=60 TMPDIR=$T/tmp
mkdir -p "$TMPDIR"
log=$HOME/scow/.scow-sync/scow-sync.log

# The pieces' writers: the dd that writes into the pieces' file.
far_dds() { far_procs '^dd bs=1M seek=.* conv=notrunc'; }
stopped=
cont_stopped() { [ -n "$stopped" ] && kill -CONT $stopped 2>/dev/null; stopped=; }
trap 'cont_stopped; cleanup' EXIT

# (a) 2 MiB in 2 pieces of 1 MiB, 2 s each at this rate: the far side's
# dds are stopped as they start, and every byte the readers send then fits
# in the connection's buffers.
src=$T/src/p
mkdir -p "$src"
head -c 2097152 /dev/urandom >"$src/big"
id=$(SCOW_SYNC_BWLIMIT=512 scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -p "$SSHD_PORT" \
	-k "$SSH_KEY" -s "$src" -d "$T/dst" -m 1) || fail "(a) start exited $?"
for _ in $(seq 1 300); do
	new=$(far_dds)
	[ -n "$new" ] && kill -STOP $new && stopped="$stopped $new"
	[ "$(echo $stopped | wc -w)" -ge 2 ] && break
	transfer_ended "$id" && break
	sleep 0.05
done
[ "$(echo $stopped | wc -w)" -ge 2 ] || fail "(a) the far side's dds were not found: '$stopped'"
grep -q "\[$id\] info: 'p/big': 2097152 bytes in 2 pieces" "$log" ||
	fail "(a) the file did not move in 2 pieces"

# (b) While the pieces wait: query shows the file, never at 100%.
shown=0
for _ in $(seq 1 60); do
	scow-sync-query >"$T/q.json" || fail "(b) query exited $?"
	pct=$(python3 -c 'import json, sys
rows = [r for r in json.load(open(sys.argv[1])) if r["filePath"] == sys.argv[2]]
print(rows[0]["progress"] if rows else "")' "$T/q.json" "$src/big")
	if [ -n "$pct" ]; then
		shown=$((shown + 1))
		[ "$pct" = 100% ] && { fail "(b) query shows the stalled file at 100%: $(cat "$T/q.json")"; break; }
	fi
	grep -q "\[$id\] warning: piece [01] of a large file: nothing moved for 3 s" "$log" && break
	sleep 0.2
done
[ "$shown" -gt 0 ] || fail "(b) query never showed the file"

wait_for 30 transfer_ended "$id" || fail "(a) the transfer did not end while the far side's dd was stopped"
[ "$(transfer_state "$id")" = done ] || fail "(a) the transfer is $(transfer_state "$id")"
grep -q "\[$id\] warning: piece [01] of a large file: nothing moved for 3 s (io_timeout), ended" \
	"$log" || fail "(a) no piece was ended for want of progress"
cmp -s "$src/big" "$T/dst/p/big" || fail "(a) the copy differs"
# (c) The stopped dd is still there, and no connection was kept for it.
ps -o stat= -p "$(echo $stopped | tr ' ' ,)" | grep -q T ||
	fail "(c) no far side's dd is stopped any more (the test proves nothing)"
wait_for 5 eval '[ -z "$(kept_masters)" ]' ||
	fail "(c) a connection is kept while a stopped piece holds a session of it: $(kept_masters)"
cont_stopped
no_processes_left || fail "(a) processes left after the far side went on"

# (d) The far side's lock holder does not let go: a small transfer, kept
# connection, the holder stopped while it runs.
mkdir -p "$T/src/d"
head -c 300000 /dev/urandom >"$T/src/d/f"
id=$(SCOW_SYNC_BWLIMIT=100 scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -p "$SSHD_PORT" \
	-k "$SSH_KEY" -s "$T/src/d" -d "$T/dst-d" -m 1) || fail "(d) start exited $?"
wait_for 20 eval '[ -n "$(far_procs "flock -n 9")" ]' || fail "(d) no lock holder on the far side"
stopped=$(far_procs "flock -n 9")
kill -STOP $stopped
wait_for 30 transfer_ended "$id" || fail "(d) the transfer did not end"
[ "$(transfer_state "$id")" = done ] || fail "(d) the transfer is $(transfer_state "$id")"
wait_for 5 eval '[ -z "$(kept_masters)" ]' ||
	fail "(d) a connection is kept while a stopped lock holder holds a session of it"
cont_stopped
no_processes_left || fail "(d) processes left after the far side went on"

# (e) A healthy piece under a rate limit slow enough that one block of a
# full size (256 KiB at 100 KiB/s) would take longer than io_timeout: it
# reports as it goes, and is not taken for a stalled one.
mkdir -p "$T/src/e"
head -c 2097152 /dev/urandom >"$T/src/e/big"
id=$(SCOW_SYNC_IO_TIMEOUT=2 SCOW_SYNC_BWLIMIT=100 scow-sync start -a "$SSH_HOST" -u "$SSH_USER" \
	-p "$SSHD_PORT" -k "$SSH_KEY" -s "$T/src/e" -d "$T/dst-e" -m 2) || fail "(e) start exited $?"
wait_for 60 transfer_ended "$id" || fail "(e) the transfer did not end"
[ "$(transfer_state "$id")" = done ] || fail "(e) the transfer is $(transfer_state "$id")"
grep -q "\[$id\] info: 'e/big': 2097152 bytes in 2 pieces" "$log" ||
	fail "(e) the file did not move in 2 pieces"
grep -q "\[$id\] warning: piece .* nothing moved" "$log" &&
	fail "(e) a healthy piece under a rate limit was ended as stalled"
cmp -s "$T/src/e/big" "$T/dst-e/e/big" || fail "(e) the copy differs"
finish
