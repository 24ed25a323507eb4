#!/bin/bash
# A file in pieces goes under its name only when the file on the far side,
# read back there, is what was sent: a far side that changes it between
# its pieces and the rename (here a wrapper of ssh, as a second writer
# would) ends with rsync checking it, and the copy is right. Two
# transfers of one file to one place (the host spelt two ways) write
# pieces' files of their own. The portal's path, as make install lays it
# out (hard links), moves files in pieces too, with no file name on any
# command line; a piece that fails is logged with each status once.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

export SCOW_SYNC_SPLIT_MIB=4 SCOW_SYNC_WORKERS=2
log=$HOME/scow/.scow-sync/scow-sync.log
src=$T/src/p
mkdir -p "$src"
name=secret-name-big
head -c 16777216 /dev/urandom > "$src/$name"
start() {   # start DEST [ADDRESS]
	scow-sync start -a "${2:-$SSH_HOST}" -u "$SSH_USER" -s "$src" -d "$1" -m 1 \
		-p "$SSHD_PORT" -k "$SSH_KEY"
}

# ssh for the far side of these tests: every piece's writer counts itself
# in $T/pieces-ended when it ends; with INJECT=corrupt, the first other
# command after both pieces ended first overwrites 4 bytes of whatever
# partial file of the big one there is; with INJECT=fail, the writer of
# the piece at offset 0 fails at once (exit 3).
cat >"$T/ssh-inject" <<EOF
#!/bin/bash
case "\$*" in
*'//dd '*)
	if [ "\${INJECT:-}" = fail ] && [[ "\${@: -1}" =~ \'\ 0\ [0-9a-z]+\$ ]]; then exit 3; fi
	ssh "\$@"; rc=\$?; echo x >>"$T/pieces-ended"; exit \$rc ;;
esac
if [ "\${INJECT:-}" = corrupt ] && [ "\$(wc -l <"$T/pieces-ended" 2>/dev/null)" = 2 ] &&
	[ ! -e "$T/corrupted" ]; then
	for f in "\$INJECT_DIR"/.scow-sync-partial/$name*; do
		[ -f "\$f" ] || continue
		printf XXXX | dd of="\$f" bs=1 seek=1000000 conv=notrunc status=none &&
			touch "$T/corrupted"
	done
fi
exec ssh "\$@"
EOF
chmod +x "$T/ssh-inject"

# 1. The file changed on the far side after its pieces: not renamed as it is.
rm -f "$T/pieces-ended"
id=$(SCOW_SYNC_SSH=$T/ssh-inject INJECT=corrupt INJECT_DIR=$T/dst1/p start "$T/dst1") ||
	fail "start 1 exited $?"
wait_for 60 transfer_ended "$id" || fail "transfer 1 did not end"
[ -e "$T/corrupted" ] || fail "the far side's file was never changed: the test did not test"
[ "$(transfer_state "$id")" = done ] || fail "transfer 1 is $(transfer_state "$id")"
cmp -s "$src/$name" "$T/dst1/p/$name" ||
	fail "a file changed on the far side after its pieces is under its name: $(cmp "$src/$name" "$T/dst1/p/$name" 2>&1)"
grep -q "\[$id\] warning: 'p/$name': its pieces' file on the far side is not what was sent" "$log" ||
	fail "the check of the far side's file is not logged"
[ -z "$(partial_files "$T/dst1")" ] || fail "partial files left: $(partial_files "$T/dst1")"

# 2. A piece fails: the log says the ssh's status and the reader's, each its own.
rm -f "$T/pieces-ended"
id=$(SCOW_SYNC_SSH=$T/ssh-inject INJECT=fail start "$T/dst2") || fail "start 2 exited $?"
wait_for 60 transfer_ended "$id" || fail "transfer 2 did not end"
[ "$(transfer_state "$id")" = done ] || fail "transfer 2 is $(transfer_state "$id")"
cmp -s "$src/$name" "$T/dst2/p/$name" || fail "the copy after a failed piece differs"
grep -q "\[$id\] warning: piece 0 of a large file: ssh exited 3, reader " "$log" ||
	fail "the failed piece's ssh status is not in the log: $(grep "\[$id\] warning: piece" "$log")"
grep -q "\[$id\] warning: piece 0 of a large file: ssh exited 3, reader exited 3" "$log" &&
	fail "the failed piece's log line says the ssh's status twice"
[ -z "$(partial_files "$T/dst2")" ] || fail "partial files left: $(partial_files "$T/dst2")"

# 3. Two transfers of the same file to the same place, the host spelt two
# ways: the second is the first (the same request, or refused by the far
# side's lock); were it let through, it would write a pieces' file of its
# own. A's pieces' file is its own (its name carries A's id) either way.
export SCOW_SYNC_BWLIMIT=2048
a=$(start "$T/dst3") || fail "start A exited $?"
wait_for 30 grep -q "\[$a\] info: 'p/$name': 16777216 bytes in 2 pieces" "$log" ||
	fail "A did not move the file in pieces"
own_file() { [ -e "$T/dst3/p/.scow-sync-partial/$name.scow-sync-pieces.$a" ]; }
wait_for 10 own_file ||
	fail "A's pieces' file is not its own: $(ls -a "$T/dst3/p/.scow-sync-partial" 2>&1)"
b=$(start "$T/dst3" localhost 2>"$T/b.err") || fail "start B exited $?: $(cat "$T/b.err")"
if [ -n "$b" ] && [ "$b" != "$a" ]; then
	wait_for 30 transfer_ended "$b" || fail "B did not end"
	if [ "$(transfer_state "$b")" = failed ]; then
		grep -q "being written by transfer $a" "$T/b.err" <(scow-sync query --json --id "$b") ||
			fail "B failed, but not for A's lock: $(scow-sync query --json --id "$b")"
	else
		fail "B, a second writer to A's destination, was let through: $(transfer_state "$b")"
	fi
fi
wait_for 60 transfer_ended "$a" || fail "A did not end"
[ "$(transfer_state "$a")" = done ] || fail "A is $(transfer_state "$a")"
cmp -s "$src/$name" "$T/dst3/p/$name" ||
	fail "two writers left a wrong file under the name: $(cmp "$src/$name" "$T/dst3/p/$name" 2>&1)"
unset SCOW_SYNC_BWLIMIT
no_processes_left || fail "processes left after the two writers"

# 4. The portal's path: scow-sync-start is a hard link, as make install
# makes it, and moves the file in pieces; no command line shows its name.
[ "$(stat -c %i "$(command -v scow-sync-start)")" = "$(stat -c %i "$(command -v scow-sync)")" ] ||
	fail "the test's scow-sync-start is not a hard link of scow-sync, as make install makes it"
export SCOW_SYNC_BWLIMIT=2048
scow-sync-start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst4" -m 1 \
	-p "$SSHD_PORT" -k "$SSH_KEY" || fail "scow-sync-start exited $?"
in_pieces() {
	id=$(grep "info: 'p/$name': 16777216 bytes in 2 pieces" "$log" | tail -1 |
		sed 's/.*\[\([0-9]*\)\].*/\1/')
	grep -q "\[$id\] info: transfer of '$src' to $SSH_USER@$SSH_HOST:[0-9]*:'$T/dst4'" "$log"
}
wait_for 30 in_pieces || fail "scow-sync-start did not move the file in pieces: $(tail -5 "$log")"
readers=0
for i in $(seq 1 10); do
	# While the pieces move (the rename after them is finish's, not theirs).
	grep -q "\[$id\] info: \('p/$name': 2 pieces moved\|done 'p/$name'\)" "$log" && break
	for f in /proc/[0-9]*/cmdline; do
		args=$(tr '\0' ' ' <"$f" 2>/dev/null) || continue
		case $args in
		*"$name"*) [ -n "${shown:-}" ] || fail "a command line shows the file's name: $args"
			shown=1 ;;
		*" __read-piece "*)
			readers=$((readers + 1))
			case $args in
			*/scow-sync" __read-piece "*) ;;
			*) fail "a piece reader does not run as scow-sync: $args" ;;
			esac ;;
		esac
	done
	sleep 0.2
done
[ "$readers" -gt 0 ] || fail "no piece reader was seen"
unset SCOW_SYNC_BWLIMIT
wait_for 60 eval '[ "$(scow-sync-query)" = "[]" ] && transfer_finished' ||
	fail "the portal's transfer did not end"
grep -q "info: done 'p/$name': 1 files, 16777216 bytes, in 2 pieces .* checked by its SHA-1" "$log" ||
	fail "the portal's path did not put the file under its name from its checked pieces"
grep -q "unexpected argument '__read-piece'" "$log" && fail "a piece reader was run as a start"
cmp -s "$src/$name" "$T/dst4/p/$name" || fail "the portal's copy differs"

# 5. A destination relative to the far side's home moves in pieces too.
farhome=$(getent passwd "$SSH_USER" | cut -d: -f6)
rel=$(python3 -c 'import os, sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' \
	"$T/dst5" "$farhome")
id=$(start "$rel") || fail "start to '$rel' exited $?"
wait_for 60 transfer_ended "$id" || fail "transfer 5 did not end"
[ "$(transfer_state "$id")" = done ] || fail "transfer 5 is $(transfer_state "$id")"
grep -q "\[$id\] info: done 'p/$name': .* in 2 pieces .* checked by its SHA-1" "$log" ||
	fail "a relative destination did not take the file's pieces: $(grep "\[$id\].*piece" "$log")"
cmp -s "$src/$name" "$T/dst5/p/$name" || fail "the copy to a relative destination differs"
no_processes_left || fail "processes left at the end"
finish
