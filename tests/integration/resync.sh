#!/bin/bash
# A re-sync onto a copy the far side has: one dry run finds the units with
# something to change, the rest are done without an rsync of their own.
# Whatever changed arrives (contents, a time alone, a mode alone, a new
# file, under an odd name); a new destination is never checked first.
# Where one rsync takes everything, it is the check itself, and no dry
# run or mkdir of its own goes before it.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

log=$HOME/scow/.scow-sync/scow-sync.log
src=$T/src/tree
for i in $(seq -w 1 30); do
	mkdir -p "$src/d$i"
	for j in 1 2 3; do echo "file $i $j" >"$src/d$i/f$j"; done
done
# 6 MB for four workers: several batches, so the dry run pays.
for i in 01 02 03 04; do head -c 1500000 /dev/urandom >"$src/d$i/big"; done
export SCOW_SYNC_WORKERS=4
mkdir -p "$src/odd
dir"
echo odd >"$src/odd
dir/it's"
echo top >"$src/top-file"

run() {
	scow-sync -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$1" -m 1 \
		-p "$SSHD_PORT" -k "$SSH_KEY" -q 2>"$T/err" || fail "run into $1 exited $?: $(cat "$T/err")"
}
last_id() {
	python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT max(id) FROM transfers").fetchone()[0])' \
		"$HOME/scow/.scow-sync/scow-sync.db"
}
# The "checked N units ... M to send" line of transfer $1, or nothing.
checked() { grep "\[$1\] info: checked " "$log" | sed 's/.*info: //'; }
unit_rsyncs() { grep -c "\[$1\] info: \(done '.* bytes sent\|rsync of \)" "$log"; }

# A new destination: everything is new there, nothing to check.
run "$T/dst"
tree_equal "$src" "$T/dst/tree" || fail "first copy differs"
id=$(last_id)
[ -z "$(checked "$id")" ] || fail "a new destination was checked first: $(checked "$id")"

# Nothing changed: 32 units checked, none sent, no rsync for any of them.
run "$T/dst"
id=$(last_id)
[ "$(checked "$id" | sed 's/ in [0-9.]* s//')" = "checked 32 units against the far side: 0 to send" ] ||
	fail "no-op re-sync: '$(checked "$id")'"
[ "$(transfer_state "$id")" = done ] || fail "no-op re-sync is $(transfer_state "$id")"
grep "\[$id\] info: transfer done" "$log" | grep -q "32 of 32 units" ||
	fail "no-op re-sync did not count its units done: $(grep "\[$id\] info: transfer done" "$log")"
tree_equal "$src" "$T/dst/tree" || fail "no-op re-sync differs"

# Five units change, each in another way; the others stay as they are.
echo "file 05 X" >"$src/d05/f1"                 # same size, new contents
touch -d 2001-02-03 "$src/d10/f2"               # the time alone
chmod 700 "$src/d15"                            # a directory's mode alone
echo new >"$src/d20/f4"                         # a new file
echo changed >"$src/odd
dir/it's"
run "$T/dst"
id=$(last_id)
[ "$(checked "$id" | sed 's/ in [0-9.]* s//')" = "checked 32 units against the far side: 5 to send" ] ||
	fail "re-sync of five changes: '$(checked "$id")'"
tree_equal "$src" "$T/dst/tree" || fail "re-sync of five changes differs"
n=$(unit_rsyncs "$id")
[ "$n" -ge 1 ] && [ "$n" -le 5 ] || fail "re-sync of five changes ran $n unit rsyncs"

# The far side lost a file: its unit is sent again.
rm "$T/dst/tree/d25/f3"
run "$T/dst"
id=$(last_id)
[ "$(checked "$id" | sed 's/ in [0-9.]* s//')" = "checked 32 units against the far side: 1 to send" ] ||
	fail "re-sync after a far-side loss: '$(checked "$id")'"
tree_equal "$src" "$T/dst/tree" || fail "re-sync after a far-side loss differs"

# One worker: one rsync takes all of it, and is its own check.
unset SCOW_SYNC_WORKERS
echo "one more" >"$src/d07/f1"
run "$T/dst"
id=$(last_id)
[ -z "$(checked "$id")" ] || fail "one rsync of everything was checked first: $(checked "$id")"
grep -q "\[$id\] info: the far side answered in [0-9.]* s (the last time); .*; one rsync takes everything" "$log" ||
	fail "a re-sync that one rsync takes did not go by the last answer"
grep -q "\[$id\] info: rsync of 32 units done: 1 files" "$log" ||
	fail "one rsync of a re-sync with one change: $(grep "\[$id\] info: rsync of" "$log")"
tree_equal "$src" "$T/dst/tree" || fail "one rsync's re-sync differs"
# With directories above the cut to make: the mkdir of its own makes them
# (their names on its stdin, not on the rsync's command line), and the one
# rsync is still its own check.
small=$T/src/small
mkdir -p "$small/a/x" "$small/b/y"
echo 1 >"$small/a/x/f"
echo 2 >"$small/b/y/g"
runs() { scow-sync -a "$SSH_HOST" -u "$SSH_USER" -s "$small" -d "$T/dst" -m 2 \
	-p "$SSHD_PORT" -k "$SSH_KEY" -q || fail "-m 2 run of small exited $?"; }
runs
echo "3, longer" >"$small/a/x/f"
runs
id=$(last_id)
[ -z "$(checked "$id")" ] || fail "one rsync of everything at -m 2 was checked first: $(checked "$id")"
grep -qE "\[$id\] info: the far side answered in [0-9.]* s( \([^)]*\))?; .*; one rsync takes everything" "$log" ||
	fail "one rsync at -m 2 did not make the directories by a mkdir of its own first"
tree_equal "$small" "$T/dst/small" || fail "one rsync's re-sync at -m 2 differs"
# A new destination on the same host: the link is known, the rsync makes the directories.
run "$T/dst-new"
id=$(last_id)
grep -q "\[$id\] info: the far side answered in [0-9.]* s (the last time); .*; one rsync takes everything" "$log" ||
	fail "a new destination on a known host asked the far side first"
tree_equal "$src" "$T/dst-new/tree" || fail "one rsync into a new destination differs"
# Two levels of it new, more than rsync makes itself: the mkdir before it does.
run "$T/dst-deep/new/er"
tree_equal "$src" "$T/dst-deep/new/er/tree" || fail "one rsync into a deep new destination differs"
# A new destination under a link: the rsync's mkdir refuses, the mkdir of its own makes it.
mkdir -p "$T/elsewhere" "$T/dst-link"
ln -s "$T/elsewhere" "$T/dst-link/tree"
run "$T/dst-link"
id=$(last_id)
grep -q "\[$id\] info: the directories were not made before the rsync (one is a symbolic link or not a directory)" "$log" ||
	fail "a link above the cut was not left to the mkdir of its own"
grep -q "\[$id\] warning" "$log" && fail "the link above the cut warned: $(grep "\[$id\] warning" "$log")"
[ -d "$T/dst-link/tree" ] && [ ! -h "$T/dst-link/tree" ] || fail "the link above the cut is still a link"
[ -z "$(ls "$T/elsewhere")" ] || fail "the link's target was written to"
tree_equal "$src" "$T/dst-link/tree" || fail "one rsync over a link differs"
[ "$(transfer_state "$id")" = done ] || fail "one rsync over a link is $(transfer_state "$id")"

# One unit (-m 0) needs no check: its own rsync is one.
scow-sync -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst" -m 0 \
	-p "$SSHD_PORT" -k "$SSH_KEY" -q || fail "-m 0 re-sync exited $?"
id=$(last_id)
[ -z "$(checked "$id")" ] || fail "a single unit was checked first: $(checked "$id")"
tree_equal "$src" "$T/dst/tree" || fail "-m 0 re-sync differs"
no_processes_left || fail "processes left behind"
finish
