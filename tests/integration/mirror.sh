#!/bin/bash
# A mirror (--delete): once everything has arrived, what DEST/NAME has and
# the source lacks goes, whatever its name, and only that: a symbolic link
# goes, not what it points to outside DEST; what the filters exclude stays
# on the far side and is not sent; a directory the source replaced by a
# file (and back) is replaced. Each deletion is recorded (path, kind,
# when), counted in query --json and named in the log. An empty source (an
# unmounted file system) deletes nothing unless --delete-all-ok;
# --max-delete fails the transfer before the first deletion.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

log=$HOME/scow/.scow-sync/scow-sync.log
src=$T/src/top
dst=$T/dst
far=$dst/top
mkdir -p "$src" "$dst" "$T/outside"

# run ARGS...: a mirror run of $src into $dst; its status in $rc, stderr in $T/err.
run() {
	rc=0
	scow-sync run -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dst" -p "$SSHD_PORT" \
		-k "$SSH_KEY" -q "$@" 2>"$T/err" || rc=$?
}
last_id() { store_sql "SELECT max(id) FROM transfers"; }
# dir_times A B: every directory of A has its modification time in B too.
dir_times() {
	python3 - "$1" "$2" <<'PY'
import os, sys
a, b = (os.fsencode(p) for p in sys.argv[1:3])
bad = []
for d, dirs, files in os.walk(a):
    rel = os.path.relpath(d, a)
    ta, tb = os.lstat(d).st_mtime_ns, os.lstat(os.path.join(b, rel)).st_mtime_ns
    if ta // 10**9 != tb // 10**9:
        bad.append(rel)
print(b" ".join(bad[:5]).decode(errors="replace"))
sys.exit(1 if bad else 0)
PY
}
json_field() {   # json_field ID FIELD
	scow-sync query --json --id "$1" | python3 -c '
import json, sys
print(json.load(sys.stdin)["transfers"][0][sys.argv[1]])' "$2"
}

# Names with every byte but NUL and '/', in files, directories and links.
python3 - "$src" <<'PY'
import os, sys
root = os.fsencode(sys.argv[1])
for b in range(1, 256):
    if b in (0x2f, 0x2e):
        continue
    os.makedirs(os.path.join(root, b"d" + bytes([b])), exist_ok=True)
    with open(os.path.join(root, b"d" + bytes([b]), b"f\n" + bytes([b])), "wb") as f:
        f.write(bytes([b]) * b)
os.makedirs(os.path.join(root, b"keep/deep"), exist_ok=True)
with open(os.path.join(root, b"keep/deep/file"), "wb") as f:
    f.write(b"stays")
PY
mkdir -p "$src/swap/inner"
echo in >"$src/swap/inner/f"
echo note >"$src/notes.log"
run
[ "$rc" = 0 ] || fail "the first copy exited $rc: $(cat "$T/err")"
tree_equal "$src" "$far" || fail "the first copy differs"

# The far side gets what the source lacks; the source loses some of what it had.
echo precious >"$T/outside/target"
ln -s "$T/outside/target" "$far/link-out"
ln -s "$T/outside" "$far/dirlink-out"
mkdir -p "$far/extra/sub"
echo x >"$far/extra/sub/f"
printf 'odd' >"$far/new
line *?[x] \\"
rm -rf "$src/d"$'\001' "$src/d "
rm -f "$src/d~/"*
echo kept >"$far/scratch.tmp"
echo also >"$src/local.tmp"
touch -d '2001-01-01' "$src" "$src/d~"
run --delete --exclude '*.tmp'
[ "$rc" = 0 ] || fail "the mirror exited $rc: $(cat "$T/err")"
id=$(last_id)
[ -e "$T/outside/target" ] && [ "$(cat "$T/outside/target")" = precious ] ||
	fail "a link's target outside DEST was touched"
[ -e "$far/scratch.tmp" ] || fail "an excluded file on the far side was deleted"
[ -e "$far/local.tmp" ] && fail "an excluded file was sent"
# Deleting changed the directories deleted in: they have their times back.
dir_times "$src" "$far" >/dev/null ||
	fail "directories' times differ after the mirror: $(dir_times "$src" "$far")"
rm -f "$far/scratch.tmp" "$src/local.tmp"
tree_equal "$src" "$far" || fail "the mirror is not the source"
# d\001 and "d " with their files (2 each), d~'s file, two links, extra (3
# entries), the odd name: 11.
n=$(store_sql "SELECT count(*) FROM deletions WHERE transfer_id = $id")
[ "$n" = 11 ] || fail "deletions recorded: $n, expected 11"
[ "$(json_field "$id" deleted)" = 11 ] || fail "query --json deleted: $(json_field "$id" deleted)"
[ "$(json_field "$id" mirror)" = True ] || fail "query --json mirror: $(json_field "$id" mirror)"
kinds=$(store_sql "SELECT kind FROM deletions WHERE transfer_id = $id AND
	(path = CAST('top/extra/sub' AS BLOB) OR path = CAST('top/link-out' AS BLOB)) ORDER BY kind")
[ "$kinds" = "directory
file" ] || fail "deletion kinds: $kinds"
at=$(store_sql "SELECT min(at) FROM deletions WHERE transfer_id = $id")
[ "$at" -ge "$(($(date +%s) - 120))" ] || fail "deletion time: $at"
grep -qF "deleted 'top/new\\x0aline *?[x] \\\\' (file)" "$log" ||
	fail "the log does not name the odd deletion: $(grep deleted "$log" | tail -3)"

# A directory the source made a file: the copy cannot put the file in its
# place without deleting it, which only the mirror's guarded deletes may
# do; so it fails, and nothing is deleted.
rm -rf "$src/swap"
echo now-a-file >"$src/swap"
run --delete
[ "$rc" = 0 ] && fail "a directory replaced by a file did not fail"
[ -f "$far/swap/inner/f" ] || fail "the copy deleted a directory to put a file in its place"
grep -q "swap" "$T/err" || fail "the reason does not name the path: $(cat "$T/err")"
rm -f "$src/swap"
mkdir -p "$src/swap/inner"
echo in >"$src/swap/inner/f"
run --delete
[ "$rc" = 0 ] || fail "the mirror back exited $rc: $(cat "$T/err")"
tree_equal "$src" "$far" || fail "the mirror back is not the source"

# Nothing to delete: nothing recorded, done.
run --delete
[ "$rc" = 0 ] || fail "a mirror with nothing to do exited $rc: $(cat "$T/err")"
[ "$(json_field "$(last_id)" deleted)" = 0 ] || fail "a no-op mirror deleted something"

# What a mirror walks: a re-sync's check names what the mirror will delete,
# so no dry run follows the copy. With nothing to do, a mirror is that one
# dry run; with something to send and something to delete, the check
# (--delete, -n), the copy and the deletes, in that order. (The passes over
# the directories above the cut, --no-r, walk no tree.)
mkdir -p "$T/rsyncs"
cat >"$T/rsync-log.sh" <<W
#!/bin/bash
case " \$* " in *" -r "*) printf '%s\n' "\$@" >"$T/rsyncs/\$(date +%s%N)-\$\$" ;; esac
exec rsync "\$@"
W
chmod +x "$T/rsync-log.sh"
rsyncs() { ls "$T/rsyncs" | wc -l; }
SCOW_SYNC_RSYNC=$T/rsync-log.sh run --delete
[ "$rc" = 0 ] || fail "a logged mirror with nothing to do exited $rc: $(cat "$T/err")"
[ "$(rsyncs)" = 1 ] || fail "a mirror with nothing to do walked $(rsyncs) times, not once"
rm -f "$T/rsyncs"/*
echo changed-note >"$src/notes.log"
echo more >"$far/one-more"
SCOW_SYNC_RSYNC=$T/rsync-log.sh run --delete
[ "$rc" = 0 ] || fail "a logged mirror exited $rc: $(cat "$T/err")"
tree_equal "$src" "$far" || fail "the logged mirror is not the source"
[ "$(rsyncs)" = 3 ] || fail "a mirror that sends and deletes walked $(rsyncs) times, not 3"
first=$(ls "$T/rsyncs" | sort | head -1) last=$(ls "$T/rsyncs" | sort | tail -1)
grep -qx -- -n "$T/rsyncs/$first" && grep -qx -- --delete "$T/rsyncs/$first" ||
	fail "the mirror's first rsync was not a dry run with --delete: $(tr '\n' ' ' <"$T/rsyncs/$first")"
grep -qx -- --delete-missing-args "$T/rsyncs/$last" && ! grep -qx -- -n "$T/rsyncs/$last" ||
	fail "the mirror's last rsync did not delete: $(tr '\n' ' ' <"$T/rsyncs/$last")"
grep -q "\[$(last_id)\] info: mirror: deleting 1 entry the source lacks (as the check named them)" \
	"$log" || fail "the mirror's deletes were not those the check named"
# A source that only lost files: the directory they were in differs only in
# its time, which the deletes set (rsync's implied directories): no copy.
mkdir -p "$src/lose/in"
echo a >"$src/lose/in/a"
echo b >"$src/lose/in/b"
run --delete
rm "$src/lose/in/b"
touch -d '2001-01-01' "$src/lose/in"
# The deletes stopped by a guard: the unit left to them is not done.
run --delete --max-delete 0
[ "$rc" = 0 ] && fail "a mirror of lost files over --max-delete 0 did not fail"
state=$(store_sql "SELECT state FROM units WHERE transfer_id = $(last_id) AND
	path = CAST('top/lose/in' AS BLOB)")
[ "$state" = pending ] || fail "the unit left to deletes that did not run is $state"
rm -f "$T/rsyncs"/*
SCOW_SYNC_RSYNC=$T/rsync-log.sh run --delete
[ "$rc" = 0 ] || fail "a mirror of lost files exited $rc: $(cat "$T/err")"
tree_equal "$src" "$far" || fail "the mirror of lost files is not the source"
dir_times "$src" "$far" >/dev/null ||
	fail "the mirror of lost files left times: $(dir_times "$src" "$far")"
[ "$(rsyncs)" = 2 ] || fail "a mirror of lost files walked $(rsyncs) times, not twice"
grep -q "\[$(last_id)\] info: 1 more differ only in the attributes of directories" "$log" ||
	fail "the unit of lost files was not left to the deletes: $(grep "\[$(last_id)\]" "$log")"

# What the check named goes only while the source still lacks it: a file
# that appears in the source before the deletes (made here by the rsync
# that deletes, before it starts) stays on the far side.
echo far-only >"$far/appears"
echo far-too >"$far/goes"
cat >"$T/rsync-appear.sh" <<W
#!/bin/bash
case " \$* " in *" -n "*) ;; *" --delete "*) echo now-here >"$src/appears" ;; esac
exec rsync "\$@"
W
chmod +x "$T/rsync-appear.sh"
SCOW_SYNC_RSYNC=$T/rsync-appear.sh run --delete
[ "$rc" = 0 ] || fail "a mirror with a file appearing exited $rc: $(cat "$T/err")"
[ "$(cat "$far/appears" 2>/dev/null)" = far-only ] ||
	fail "a file that appeared in the source before the deletes was deleted"
[ -e "$far/goes" ] && fail "the mirror with a file appearing left what it was to delete"
grep -q "\[$(last_id)\] info: deleted 'top/appears'" "$log" &&
	fail "a deletion of a file that stayed was recorded"
rm -f "$src/appears" "$far/appears"

# A destination the mirror made: nothing there to delete, no walk for it.
rm -f "$T/rsyncs"/*
dst=$T/dst-new SCOW_SYNC_RSYNC=$T/rsync-log.sh run --delete
[ "$rc" = 0 ] || fail "a mirror into a new destination exited $rc: $(cat "$T/err")"
tree_equal "$src" "$T/dst-new/top" || fail "the mirror into a new destination is not the source"
[ "$(rsyncs)" = 1 ] || fail "a mirror into a new destination walked $(rsyncs) times, not once"
grep -q "\[$(last_id)\] info: mirror: .* is new on the far side; nothing there to delete" \
	"$log" || fail "the mirror into a new destination did not say it had nothing to delete"
# The same where one rsync of everything is its own check (few directories
# above the cut, the link known from the run before): for a mirror the
# check goes first all the same, and names the deletes.
small=$T/src-small/top
mkdir -p "$small/a" "$small/b" "$T/dst-small"
echo f >"$small/a/f"
echo g >"$small/b/g"
src=$small dst=$T/dst-small run --delete
[ "$rc" = 0 ] || fail "the small mirror's copy exited $rc: $(cat "$T/err")"
echo x >"$T/dst-small/top/a/extra"
echo changed >"$small/b/g"
rm -f "$T/rsyncs"/*
src=$small dst=$T/dst-small SCOW_SYNC_RSYNC=$T/rsync-log.sh run --delete
[ "$rc" = 0 ] || fail "the small logged mirror exited $rc: $(cat "$T/err")"
tree_equal "$small" "$T/dst-small/top" || fail "the small mirror is not the source"
grep -q "\[$(last_id)\] info: .*one rsync takes everything" "$log" ||
	fail "the small mirror did not go by one rsync: $(grep "\[$(last_id)\] info: the far" "$log")"
first=$(ls "$T/rsyncs" | sort | head -1)
[ "$(rsyncs)" = 3 ] && grep -qx -- -n "$T/rsyncs/$first" ||
	fail "the small mirror walked $(rsyncs) times, the first: $(tr '\n' ' ' <"$T/rsyncs/$first")"
# The check saw the directories above the cut there: no mkdir first.
grep -q "\[$(last_id)\] info: the next rsync does not send the source whole" "$log" &&
	fail "the small mirror made the directories the check had seen"
rm -f "$T/rsyncs"/*
src=$small dst=$T/dst-small SCOW_SYNC_RSYNC=$T/rsync-log.sh run --delete
[ "$(rsyncs)" = 1 ] || fail "the small mirror with nothing to do walked $(rsyncs) times, not once"
# Only the source's own directory changed: no unit differs, it is settled all the same.
touch -d '2002-02-02' "$small"
src=$small dst=$T/dst-small run --delete
[ "$rc" = 0 ] || fail "the small mirror of a directory's time exited $rc: $(cat "$T/err")"
dir_times "$small" "$T/dst-small/top" >/dev/null ||
	fail "the small mirror left a directory's time: $(dir_times "$small" "$T/dst-small/top")"
# With something to delete below each directory above the cut, the
# deletes set them; stopped by a guard, they are settled without them.
touch -d '2003-03-03' "$small"
echo y >"$T/dst-small/top/a/extra"
echo y >"$T/dst-small/top/b/extra"
src=$small dst=$T/dst-small run --delete --max-delete 0
[ "$rc" = 0 ] && fail "the small mirror over --max-delete 0 did not fail"
dir_times "$small" "$T/dst-small/top" >/dev/null ||
	fail "a stopped mirror left a directory's time: $(dir_times "$small" "$T/dst-small/top")"
touch -d '2004-04-04' "$small"
src=$small dst=$T/dst-small run --delete
[ "$rc" = 0 ] || fail "the small mirror with a directory's time exited $rc: $(cat "$T/err")"
[ -e "$T/dst-small/top/a/extra" ] || [ -e "$T/dst-small/top/b/extra" ] &&
	fail "the small mirror left a/extra or b/extra"
dir_times "$small" "$T/dst-small/top" >/dev/null ||
	fail "the small mirror's deletes left times: $(dir_times "$small" "$T/dst-small/top")"

# --max-delete: more than N fails before any goes.
echo a >"$far/m1"; echo b >"$far/m2"; echo c >"$far/m3"
run --delete --max-delete 2
[ "$rc" = 0 ] && fail "more deletions than --max-delete did not fail"
[ -e "$far/m1" ] && [ -e "$far/m2" ] && [ -e "$far/m3" ] || fail "--max-delete deleted some"
grep -q "3 entries to delete, more than the limit of 2 (--max-delete, max_delete): nothing deleted" "$T/err" ||
	fail "--max-delete's reason: $(cat "$T/err")"
# The limit was that request's: the same request without it (which
# continues the failed transfer) is not held to it.
run --delete
[ "$rc" = 0 ] || fail "a mirror after a failed --max-delete exited $rc: $(cat "$T/err")"
[ -e "$far/m1" ] && fail "the mirror after a failed --max-delete left m1"
echo a >"$far/m1"; echo b >"$far/m2"; echo c >"$far/m3"
run --delete --max-delete 3
[ "$rc" = 0 ] || fail "--max-delete 3 of 3 exited $rc: $(cat "$T/err")"
[ -e "$far/m1" ] && fail "--max-delete 3 left m1"

# An empty source (an unmounted file system) deletes nothing.
mv "$src" "$T/src/saved"
mkdir "$src"
run --delete
[ "$rc" = 0 ] && fail "an empty source's mirror did not fail"
grep -q "the source is empty" "$T/err" || fail "the empty source's reason: $(cat "$T/err")"
[ -e "$far/keep/deep/file" ] || fail "an empty source deleted the far side"
run --delete --delete-all-ok
[ "$rc" = 0 ] || fail "--delete-all-ok exited $rc: $(cat "$T/err")"
[ -z "$(ls -A "$far")" ] || fail "--delete-all-ok left: $(ls -A "$far" | head -3)"
[ -d "$far" ] || fail "--delete-all-ok removed DEST/NAME itself"

# Without --delete nothing goes.
rm -rf "$src"
mv "$T/src/saved" "$src"
run
echo extra >"$far/not-in-source"
run
[ -e "$far/not-in-source" ] || fail "a copy without --delete deleted"

# What the rules exclude stays, also inside a directory gone from the
# source (which then stays, holding it), as with rsync --delete.
mkdir -p "$src/gone/sub"
echo g >"$src/gone/sub/f"
run --delete --exclude '*.log'
echo results >"$far/gone/sub/results.log"
rm -rf "$src/gone"
run --delete --exclude '*.log'
[ "$rc" = 0 ] || fail "the mirror around an excluded file exited $rc: $(cat "$T/err")"
[ -e "$far/gone/sub/results.log" ] || fail "an excluded file in a directory gone from the source was deleted"
[ -e "$far/gone/sub/f" ] && fail "the rest of a directory gone from the source stayed"
rm -rf "$far/gone"

# A link on the far side where the source has a directory: the link is
# replaced, and nothing is written or deleted through it.
mkdir -p "$src/was-link"
echo in >"$src/was-link/f"
ln -s "$T/outside" "$far/was-link"
rm -f "$far/not-in-source"
run --delete
[ "$rc" = 0 ] || fail "the mirror over a link exited $rc: $(cat "$T/err")"
tree_equal "$src" "$far" || fail "the mirror over a link is not the source"
[ "$(ls -A "$T/outside")" = target ] || fail "the link's target changed: $(ls -A "$T/outside")"

# --max-delete and --delete-all-ok need --delete.
run --max-delete 3
[ "$rc" = 2 ] || fail "--max-delete without --delete exited $rc"
grep -q "needs --delete" "$T/err" || fail "--max-delete alone: $(cat "$T/err")"
finish
