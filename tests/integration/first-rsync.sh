#!/bin/bash
# A small transfer goes by one rsync of everything, which makes the
# directories above the cut itself: the mkdir it carries names only the
# destination and the source, never a directory above the cut (any local
# user reads a command line). When a part is stopped before that rsync
# starts, it would no longer send the source whole: the mkdir of its own
# makes the directories first, and the rest arrives all the same. Every
# session on the far side starts 1 s late here (a ForceCommand that
# sleeps), which leaves the stop the time to come first.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

log=$HOME/scow/.scow-sync/scow-sync.log
slow_sessions 1 || skip "no sftp-server program"

cat > "$T/rsync-args.sh" <<EOF
#!/bin/bash
printf '%s\n' //rsync "\$@" >> "$T/rsync-args"
exec rsync "\$@"
EOF
chmod +x "$T/rsync-args.sh"
export SCOW_SYNC_RSYNC=$T/rsync-args.sh
src=$T/src/top
for d in a/deep b/deep c/deep; do
	mkdir -p "$src/$d"
	for i in 1 2 3; do head -c 3000 /dev/urandom > "$src/$d/f$i"; done
done
last_id() { store_sql "SELECT max(id) FROM transfers"; }
names_above_cut() {   # DEST: the lines of rsync's arguments that name one
	grep -e "$1/top/a" -e "$1/top/b" -e "$1/top/c" "$T/rsync-args"
}

# The first transfer to the host times the link; the next go by its answer.
scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/first" -m 3 \
	-p "$SSHD_PORT" -k "$SSH_KEY" || fail "the first transfer exited $?"
tree_equal "$src" "$T/first/top" || fail "the first copy differs"

# One rsync of everything, carrying the mkdir.
: > "$T/rsync-args"
scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/one" -m 3 \
	-p "$SSHD_PORT" -k "$SSH_KEY" || fail "the one-rsync transfer exited $?"
id=$(last_id)
grep -q "\[$id\] info: .*(the last time).*one rsync takes everything" "$log" ||
	fail "the transfer did not go by the last answer and one rsync: $(grep "\[$id\] info: the far" "$log")"
[ "$(grep -c -- "--rsync-path=.*scow_mkdirs" "$T/rsync-args")" = 1 ] ||
	fail "the one rsync did not carry the mkdir"
[ "$(grep -cx //rsync "$T/rsync-args")" = 1 ] ||
	fail "more than one rsync ran: $(grep -cx //rsync "$T/rsync-args")"
names_above_cut "$T/one" && fail "the one rsync named a directory above the cut"
tree_equal "$src" "$T/one/top" || fail "the one-rsync copy differs"

# Empty files and directories last in the walk's order still go with the
# one rsync (its bytes at the batch's limit before them), copy and re-sync.
sample=$T/src/sample
make_sample_tree "$sample"
for pass in copy re-sync; do
	: > "$T/rsync-args"
	scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$sample" -d "$T/sample" -m 2 \
		-p "$SSHD_PORT" -k "$SSH_KEY" || fail "$pass of the sample tree exited $?"
	[ "$(grep -cx //rsync "$T/rsync-args")" = 1 ] ||
		fail "$pass of the sample tree ran $(grep -cx //rsync "$T/rsync-args") rsyncs, not one"
	# Its empty directory above the cut is in the list of an rsync of the
	# source whole: no mkdir of its own is needed for it.
	grep -q "\[$(last_id)\] info: the next rsync does not send the source whole" "$log" &&
		fail "$pass of the sample tree gave its batch back for an empty directory"
done
tree_equal "$sample" "$T/sample/sample" || fail "the sample tree's copy differs"

# A part stopped before the rsync starts: the far side's sessions are 1 s
# late, so the lock's answer comes after the stop.
: > "$T/rsync-args"
touch "$T/slow"
scow-sync-start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/part" -m 3 -p "$SSHD_PORT" \
	-k "$SSH_KEY" >/dev/null || fail "start exited $?"
id=$(last_id)
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src/b" || fail "terminate of b exited $?"
wait_for 60 transfer_ended "$id" || fail "the transfer did not end"
[ "$(transfer_state "$id")" = done ] || fail "the transfer ended $(transfer_state "$id")"
grep -q "\[$id\] info: the next rsync does not send the source whole; making the directories above the cut first" "$log" ||
	fail "the mkdir of its own did not come first: $(grep "\[$id\]" "$log")"
names_above_cut "$T/part" && fail "an rsync named a directory above the cut"
[ -e "$T/part/top/b/deep/f1" ] && fail "the stopped part arrived"
for d in a c; do
	tree_equal "$src/$d" "$T/part/top/$d" || fail "$d differs after a part was stopped"
done
rm -f "$T/slow"
no_processes_left || fail "processes left"
finish
