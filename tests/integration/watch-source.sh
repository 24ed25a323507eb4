#!/bin/bash
# A watch whose source goes and comes back, and a watch of one file, both
# on inotify rather than on the --interval comparisons (an hour here):
# - the source directory deleted is logged; made again, inotify watches it
#   again (logged), the whole of it arrives, and so do the changes after;
# - a change to a single file as SOURCE starts a cycle within seconds.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

log=$HOME/scow/.scow-sync/scow-sync.log
src=$T/src/top
mkdir -p "$src" "$T/dst" "$T/fsrc" "$T/fdst"
echo one >"$src/one"
watch() {   # watch SOURCE DEST: detached, an hour between comparisons; its id in $id
	id=$(scow-sync watch -a "$SSH_HOST" -u "$SSH_USER" -s "$1" -d "$2" -p "$SSHD_PORT" \
		-k "$SSH_KEY" --interval 3600 --detach 2>"$T/err") ||
		fail "watch exited $?: $(cat "$T/err")"
}
same() { cmp -s "$1" "$2"; }

watch "$src" "$T/dst"
wait_for 30 same "$src/one" "$T/dst/top/one" || fail "the first cycle did not copy the tree"
wait_for 10 grep -q "\[$id\] info: cycle 1 (the whole tree) done" "$log" ||
	fail "the first cycle did not end"
rm -rf "$src"
wait_for 10 grep -q "\[$id\] warning: inotify lost the source" "$log" ||
	fail "the source's removal is not logged: $(grep "\[$id\]" "$log" | tail -3)"
mkdir "$src"
echo back >"$src/back"
wait_for 15 grep -q "\[$id\] info: the source is back: watching with inotify again" "$log" ||
	fail "the source's return is not logged: $(grep "\[$id\]" "$log" | tail -3)"
wait_for 20 same "$src/back" "$T/dst/top/back" ||
	fail "what the source held when it came back did not arrive"
echo later >"$src/later"
wait_for 20 same "$src/later" "$T/dst/top/later" ||
	fail "a change after the source came back did not arrive: $(grep "\[$id\]" "$log" | tail -3)"
scow-sync terminate --id "$id" 2>/dev/null

# One file.
echo v1 >"$T/fsrc/file.txt"
watch "$T/fsrc/file.txt" "$T/fdst"
wait_for 30 same "$T/fsrc/file.txt" "$T/fdst/file.txt" || fail "the file's first cycle"
wait_for 10 grep -q "\[$id\] info: cycle 1 (the whole tree) done" "$log" ||
	fail "the file's first cycle did not end"
grep -q "\[$id\] info: watching with inotify" "$log" ||
	fail "a file is not watched with inotify: $(grep "\[$id\]" "$log" | head -3)"
echo "v2, longer" >"$T/fsrc/file.txt"
wait_for 20 same "$T/fsrc/file.txt" "$T/fdst/file.txt" ||
	fail "a change to the file did not arrive: $(grep "\[$id\]" "$log" | tail -3)"
echo v3 >"$T/fsrc/file.new"
mv "$T/fsrc/file.new" "$T/fsrc/file.txt"
wait_for 20 same "$T/fsrc/file.txt" "$T/fdst/file.txt" || fail "a file renamed over it"
grep "\[$id\]" "$log" | grep -q "cannot compare the tree with its record" &&
	fail "a file's cycles warn of a record: $(grep "\[$id\].*record" "$log" | head -1)"
scow-sync terminate --id "$id" 2>/dev/null
finish
