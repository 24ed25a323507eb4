#!/bin/bash
# What rsync -a keeps, scow-sync keeps, also where it sets it without an
# rsync (finish.h): the directories above the cut (by the last rsync as it
# ends, or by a command of their own) and a file moved in pieces get their
# modes (set-group-ID included), their times to the nanosecond and, as
# root, their owners and groups by name. A far side
# whose sha1sum lies or whose touch fails gets the same result through
# rsync, and a piece that does not match is never taken as the file.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

export SCOW_SYNC_SPLIT_MIB=2 SCOW_SYNC_WORKERS=3
log=$HOME/scow/.scow-sync/scow-sync.log
src=$T/src/top
mkdir -p "$src/a/b/c" "$src/x"
head -c 9000000 /dev/urandom > "$src/a/big"
head -c 7000000 /dev/urandom > "$src/a/b/c/big2"
echo small > "$src/a/b/small"
echo other > "$src/x/f"
chmod 0640 "$src/a/big"
chmod 0755 "$src/a/b/c/big2"
chmod 2750 "$src/a"
chmod 0700 "$src/a/b"
chmod 0751 "$src/x"
root=no
if [ "$(id -u)" = 0 ] && getent passwd daemon >/dev/null && getent group daemon >/dev/null; then
	root=yes
	chown daemon:daemon "$src/a/big" "$src/a/b"
	chgrp daemon "$src/a"
fi
# Times with nanoseconds, directories last (writing into one changes its time).
touch -d @1600000000.123456789 "$src/a/big"
touch -d @1600000001.987654321 "$src/a/b/c/big2" "$src/a/b/small" "$src/x/f"
touch -d @1500000000.000000001 "$src/a/b/c" "$src/x"
touch -d @1500000002.5 "$src/a/b"
touch -d @1500000003.25 "$src/a" "$src"

run() {   # run DEST DEPTH
	scow-sync -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$1" -m "$2" \
		-p "$SSHD_PORT" -k "$SSH_KEY" -q 2>"$T/err" || fail "run into $1 exited $?: $(cat "$T/err")"
}
last_id() {
	python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT max(id) FROM transfers").fetchone()[0])' \
		"$HOME/scow/.scow-sync/scow-sync.db"
}
# Every entry's mode, time in nanoseconds, owner and group: the same on both sides.
attrs_equal() {
	python3 - "$1" "$2" <<'PY'
import os, sys
a, b = sys.argv[1:3]
def listing(root):
    out = {}
    for d, dirs, files in os.walk(root):
        for n in [""] + dirs + files if d == root else dirs + files:
            p = os.path.join(d, n) if n else d
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (oct(st.st_mode), st.st_mtime_ns, st.st_uid, st.st_gid)
    return out
la, lb = listing(a), listing(b)
bad = [r for r in sorted(set(la) | set(lb)) if la.get(r) != lb.get(r)]
for r in bad:
    print("differs: %s: %r vs %r" % (r, la.get(r), lb.get(r)))
sys.exit(1 if bad else 0)
PY
}

# A re-sync of DEST (-m 3) with x/f changed and all else as it was; its
# copy and attributes are the source's. WHAT names the case in failures.
resync_changed_file() {   # resync_changed_file DEST WHAT
	head -c 100 /dev/urandom > "$src/x/f"
	touch -d @1600000001.987654321 "$src/x/f"
	touch -d @1500000000.000000001 "$src/x"
	SCOW_SYNC_SPLIT_MIB=0 run "$1" 3
	id=$(last_id)
	tree_equal "$src" "$1/top" || fail "$2: the copy differs"
	attrs_equal "$src" "$1/top" || fail "$2: attributes differ from the source"
}

# Plain rsync -a is the reference: it keeps all of it here.
rsync -a "$src" "$T/plain/"
attrs_equal "$src" "$T/plain/top" || fail "plain rsync -a does not keep what this test compares"

for depth in 2 3; do
	dst=$T/dst$depth
	run "$dst" "$depth"
	id=$(last_id)
	tree_equal "$src" "$dst/top" || fail "-m $depth: the copy differs"
	attrs_equal "$src" "$dst/top" || fail "-m $depth: attributes differ from the source"
	grep -q "\[$id\] info: done 'top/a/big': 1 files, 9000000 bytes, in [0-9]* pieces .* checked by its SHA-1" "$log" ||
		fail "-m $depth: the big file was not put under its name from its checked pieces"
	grep -q "\[$id\] info: cannot set the attributes" "$log" &&
		fail "-m $depth: the one-command finish failed: $(grep "\[$id\] info: cannot set" "$log")"
	[ -z "$(partial_files "$dst")" ] || fail "-m $depth: partial files left: $(partial_files "$dst")"
done

# Re-syncs onto dst3: the mkdir of its own makes the directories first (on
# rsync's command line before the dry run, they would be any local user's
# to read); a directory above the cut deleted on the far side comes back
# with its attributes; one that became a symbolic link there is made a
# directory again, the link's target untouched.
dst=$T/dst3
cat > "$T/rsync-args.sh" <<W
#!/bin/bash
printf '%s\n' "\$@" >> "$T/rsync-args"
exec rsync "\$@"
W
chmod +x "$T/rsync-args.sh"
SCOW_SYNC_RSYNC=$T/rsync-args.sh run "$dst" 3
id=$(last_id)
[ -s "$T/rsync-args" ] || fail "the re-sync ran no rsync"
grep -q -e "$dst/top/a" -e "$dst/top/x" "$T/rsync-args" &&
	fail "a directory above the cut was named on rsync's command line: $(grep -e "$dst/top/a" -e "$dst/top/x" "$T/rsync-args" | head -c 300)"
grep -q "\[$id\] info: checked 4 units against the far side .* 0 to send" "$log" ||
	fail "the re-sync's dry run did not find all 4 units there: $(grep "\[$id\] info: checked" "$log")"
attrs_equal "$src" "$dst/top" || fail "re-sync: attributes differ"
rm -rf "$dst/top/x"
run "$dst" 3
id=$(last_id)
tree_equal "$src" "$dst/top" || fail "re-sync after a deleted directory: the copy differs"
attrs_equal "$src" "$dst/top" || fail "re-sync after a deleted directory: attributes differ"
# The whole copy deleted: nothing to check, it is sent as a new one.
rm -rf "$dst/top"
run "$dst" 3
id=$(last_id)
grep -q "\[$id\] info: checked " "$log" && fail "a re-sync onto a deleted copy still ran its dry run"
grep -q "\[$id\] warning" "$log" && fail "a re-sync onto a deleted copy warned: $(grep "\[$id\] warning" "$log")"
tree_equal "$src" "$dst/top" || fail "re-sync onto a deleted copy: the copy differs"
attrs_equal "$src" "$dst/top" || fail "re-sync onto a deleted copy: attributes differ"
rm -rf "$dst/top/x"
mkdir -p "$T/elsewhere"
echo keep > "$T/elsewhere/f"
ln -s "$T/elsewhere" "$dst/top/x"
run "$dst" 3
id=$(last_id)
grep -q "\[$id\] info: a directory above the cut is a symbolic link or not a directory on the far side; the directory pass makes it a directory" "$log" ||
	fail "a directory above the cut that is a link was not left to the directory pass"
[ -d "$dst/top/x" ] && [ ! -h "$dst/top/x" ] || fail "the link above the cut is still a link"
[ "$(cat "$T/elsewhere/f")" = keep ] && [ "$(ls "$T/elsewhere")" = f ] ||
	fail "the link's target was written to"
tree_equal "$src" "$dst/top" || fail "re-sync over a link: the copy differs"
attrs_equal "$src" "$dst/top" || fail "re-sync over a link: attributes differ"
# A file where a directory above the cut belongs: replaced, as rsync -a
# does, whether the mkdir of its own or the first rsync meets it.
rm -rf "$dst/top/x"
echo in-the-way > "$dst/top/x"
run "$dst" 3
id=$(last_id)
grep -q "\[$id\] info: a directory above the cut is a symbolic link or not a directory on the far side; the directory pass makes it a directory" "$log" ||
	fail "a file above the cut was not left to the directory pass: $(grep "\[$id\]" "$log" | grep -v "done '")"
tree_equal "$src" "$dst/top" || fail "re-sync over a file above the cut: the copy differs"
attrs_equal "$src" "$dst/top" || fail "re-sync over a file above the cut: attributes differ"

# No pieces: the last rsync gives the directories their attributes as it ends.
# It is the one rsync of everything, and makes the directories above the
# cut itself: the mkdir it carries names only the destination and the source.
dst=$T/dst-nopieces
: > "$T/rsync-args"
SCOW_SYNC_SPLIT_MIB=0 SCOW_SYNC_WORKERS=1 SCOW_SYNC_RSYNC=$T/rsync-args.sh run "$dst" 3
id=$(last_id)
grep -q "scow_mkdirs" "$T/rsync-args" || fail "the one rsync did not carry the mkdir"
grep -q -e "$dst/top/a" -e "$dst/top/x" "$T/rsync-args" &&
	fail "the one rsync named a directory above the cut: $(grep -e "$dst/top/a" -e "$dst/top/x" "$T/rsync-args" | head -c 300)"
tree_equal "$src" "$dst/top" || fail "without pieces: the copy differs"
attrs_equal "$src" "$dst/top" || fail "without pieces: attributes differ from the source"
grep -q "\[$id\] info: the last rsync gave the directories above the cut their attributes" "$log" ||
	fail "without pieces, the last rsync did not settle the directories"
# A re-sync of one changed file, with workers enough for a dry run first:
# its rsync's parents are not all the directories, the command at the end
# settles them (their names on its stdin, not on the rsync's command line).
cp -p "$src/x/f" "$T/x-f.kept"
resync_changed_file "$dst" "a re-sync of one file"
grep -q "\[$id\] info: the last rsync's closing command" "$log" &&
	fail "a re-sync of one file: the names of the directories rode on the last rsync's command line"
grep -q "\[$id\] info: cannot set the attributes" "$log" &&
	fail "a re-sync of one file: the command at the end did not settle the directories"
cp -p "$T/x-f.kept" "$src/x/f"
touch -d @1500000000.000000001 "$src/x"

# A far side whose sha1sum says something else, and whose touch fails:
# nothing is taken on trust, rsync checks the file and sets the times.
mkdir -p "$T/fakebin"
printf '#!/bin/sh\ncat >/dev/null\necho 0000000000000000000000000000000000000000 -\n' >"$T/fakebin/sha1sum"
printf '#!/bin/sh\nexit 1\n' >"$T/fakebin/touch"
chmod +x "$T/fakebin/sha1sum" "$T/fakebin/touch"
sed -i "s|^SetEnv SHLVL=1\$|SetEnv SHLVL=1 PATH=$T/fakebin:/usr/local/bin:/usr/bin:/bin|" "$T/sshd_config"
"$SSHD" -t -f "$T/sshd_config" || { echo "sshd -t rejected the SetEnv"; exit 99; }
kill -HUP "$(cat "$T/sshd.pid")"
wait_for 10 ssh -F none -o BatchMode=yes -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i "$SSH_KEY" -p "$SSHD_PORT" \
	"$SSH_USER@$SSH_HOST" true 2>/dev/null || { echo "sshd did not come back"; exit 99; }
[ "$(ssh -F none -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o LogLevel=ERROR -i "$SSH_KEY" -p "$SSHD_PORT" "$SSH_USER@$SSH_HOST" 'command -v sha1sum')" = "$T/fakebin/sha1sum" ] ||
	{ echo "the far side's PATH did not change"; exit 99; }
dst=$T/dst-fake
run "$dst" 3
id=$(last_id)
tree_equal "$src" "$dst/top" || fail "with a lying sha1sum: the copy differs"
attrs_equal "$src" "$dst/top" || fail "with a failing touch: attributes differ from the source"
grep -q "\[$id\] info: 'top/a/big': [0-9]* pieces moved in .* 0 checked); checking it with rsync" "$log" ||
	fail "with a lying sha1sum, the pieces were not left to rsync to check"
grep -q "\[$id\] info: done 'top/a/big': .* checked by its SHA-1" "$log" &&
	fail "with a lying sha1sum, the pieces were taken as the file"
# ... and that rsync found the pieces' data as its basis: it sent little.
sent=$(sed -n "s/.*\[$id\] info: done 'top\/a\/big': 1 files, 9000000 bytes, \([0-9]*\) bytes sent.*/\1/p" "$log")
[ -n "$sent" ] && [ "$sent" -lt 500000 ] ||
	fail "the rsync after the pieces sent ${sent:-?} bytes: the pieces were not its basis"
grep -q "\[$id\] info: cannot set the attributes of the directories above the cut" "$log" ||
	fail "with a failing touch, the directories were not left to rsync"
# The same without pieces: one rsync sends everything and the directories
# above the cut as the parents of what it lists, so it needs no touch.
dst=$T/dst-fake-nopieces
SCOW_SYNC_SPLIT_MIB=0 SCOW_SYNC_WORKERS=1 run "$dst" 3
id=$(last_id)
attrs_equal "$src" "$dst/top" || fail "with a failing touch, no pieces: attributes differ"
grep -q "\[$id\] info: the last rsync gave the directories above the cut their attributes" "$log" ||
	fail "the one rsync of everything did not settle the directories itself"
grep -q "\[$id\] info: cannot set the attributes" "$log" &&
	fail "the one rsync of everything ran a closing command"
# A re-sync of one changed file: its rsync's parents are not all the
# directories, the command at the end does the others and fails; rsync sees
# to them, once.
resync_changed_file "$dst" "with a failing touch, a re-sync of one file"
[ "$(grep -c "\[$id\] info: cannot set the attributes of the directories above the cut by one command" "$log")" = 1 ] ||
	fail "with a failing touch, the command at the end did not fail once as it should"
no_processes_left || fail "processes left at the end"
finish
