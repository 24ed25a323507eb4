#!/bin/bash
# A link that drops in the middle of a large file: the unit is retried with
# backoff and continues from the data that had arrived. A link that stays
# down: the transfer fails after a bounded number of attempts, with the
# reason; starting the same request again once the link is back continues
# that transfer to a byte-identical end.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

start_relay
src=$T/src/run
mkdir -p "$src"
head -c 6291456 /dev/urandom > "$src/big"
head -c 100000 /dev/urandom > "$src/small"
export SCOW_SYNC_BWLIMIT=512 SCOW_SYNC_RETRIES=4 SCOW_SYNC_WORKERS=2
log=$HOME/scow/.scow-sync/scow-sync.log
start() {
	scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst" -m 1 \
		-p "$RELAY_PORT" -k "$SSH_KEY"
}
big_over() {
	scow-sync-query | grep -q '"filePath": "'"$src"'/big".*"progress": "\(3[0-9]\|[4-7][0-9]\)%"'
}

# The link drops once, mid-file.
id=$(start) || fail "start exited $?"
wait_for 30 big_over || fail "the big file never got under way"
relay_drop
wait_for 60 transfer_ended "$id" || fail "the transfer did not end after the drop"
[ "$(transfer_state "$id")" = done ] || fail "after a dropped link: $(transfer_state "$id")"
grep -q "'run/big': rsync .*retrying in" "$log" || fail "the dropped unit was not retried"
sent=$(sed -n "s/.*done 'run\/big': 1 files, [0-9]* bytes, \([0-9]*\) bytes sent.*/\1/p" "$log")
[ -n "$sent" ] && [ "$sent" -lt 5000000 ] ||
	fail "the retried big file sent ${sent:-?} bytes: it did not continue from its partial data"
tree_equal "$src" "$T/dst/run" || fail "the copy differs after a dropped link"
[ -z "$(partial_files "$T/dst")" ] || fail "partial files left: $(partial_files "$T/dst")"
no_processes_left || fail "processes left after the first transfer"

# The link goes down and stays down: bounded retries, then failed with a reason.
rm -rf "$T/dst"
id=$(start) || fail "second start exited $?"
wait_for 30 big_over || fail "the second transfer never got under way"
relay_toggle
wait_for 90 transfer_ended "$id" || fail "the transfer did not give up"
[ "$(transfer_state "$id")" = failed ] || fail "with the link down: $(transfer_state "$id")"
attempts=$(grep -c "\[$id\] warning: 'run/big': rsync .*retrying in" "$log")
[ "$attempts" = 3 ] || fail "$attempts retries with SCOW_SYNC_RETRIES=4, want 3"
reason=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT error FROM transfers WHERE id=?", (int(sys.argv[2]),)).fetchone()[0])' \
	"$HOME/scow/.scow-sync/scow-sync.db" "$id")
case $reason in
*run/big*rsync*) ;;
*) fail "the failure's reason does not name the file and rsync: $reason" ;;
esac
no_processes_left || fail "processes left after the failed transfer"

# Back up: the same request continues the failed transfer, under its id.
relay_toggle
unset SCOW_SYNC_BWLIMIT
again=$(start) || fail "third start exited $?"
[ "$again" = "$id" ] || fail "starting the failed request again gave transfer $again, not $id"
wait_for 60 transfer_ended "$id" || fail "the continued transfer did not end"
[ "$(transfer_state "$id")" = done ] || fail "the continued transfer: $(transfer_state "$id")"
tree_equal "$src" "$T/dst/run" || fail "the continued copy differs"
[ "$(grep -c "\[$id\] info: done 'run/small'" "$log")" = 1 ] || fail "run/small was sent again"
[ -z "$(partial_files "$T/dst")" ] || fail "partial files left: $(partial_files "$T/dst")"
no_processes_left || fail "processes left at the end"

# The link drops just as the one rsync of a small transfer starts, which
# makes the directories before it: that is a failed rsync, retried, not a
# failed mkdir.
unset SCOW_SYNC_RETRIES
cat > "$T/drop-first.sh" <<W
#!/bin/bash
if [ ! -e "$T/dropped" ]; then
	touch "$T/dropped"
	kill -USR2 $RELAY_PID; kill -USR1 $RELAY_PID
	# Out of rsync's process group: the supervisor ends that group
	# when the rsync fails, and the link must come back all the same.
	setsid sh -c 'sleep 3; kill -USR2 $RELAY_PID' </dev/null >/dev/null 2>&1 &
fi
exec rsync "\$@"
W
chmod +x "$T/drop-first.sh"
src1=$T/src/one
mkdir -p "$src1/a"
for i in 1 2 3; do echo "$i" > "$src1/a/f$i"; done
SCOW_SYNC_RSYNC=$T/drop-first.sh scow-sync -a "$SSH_HOST" -u "$SSH_USER" -s "$src1" -d "$T/dst1" \
	-m 2 -p "$RELAY_PORT" -k "$SSH_KEY" -q 2>"$T/err1" ||
	fail "a link that dropped as the one rsync started failed the transfer: $(cat "$T/err1")"
[ -e "$T/dropped" ] || fail "the link was never dropped"
id=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT max(id) FROM transfers").fetchone()[0])' \
	"$HOME/scow/.scow-sync/scow-sync.db")
grep -q "\[$id\] info: .*one rsync takes everything" "$log" ||
	fail "the small transfer did not go by one rsync"
grep -q "\[$id\] warning: .*retrying in" "$log" || fail "the dropped link was not retried"
tree_equal "$src1" "$T/dst1/one" || fail "the copy after the dropped link differs"
no_processes_left || fail "processes left after the dropped link"
finish
