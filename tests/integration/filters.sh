#!/bin/bash
# --exclude, --include and --exclude-from leave out of a transfer exactly
# what rsync leaves out with the same rules (rsync -a RULES SOURCE/ X/),
# at every depth of the cut: above it, where our walk plans the units, and
# below it, where rsync sends a tree whole; a mirror deletes within them;
# the rules are kept with the transfer, and --dry-run applies them too.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

src=$T/src/top
mkdir -p "$src"
python3 - "$src" <<'PY'
import os, sys
root = sys.argv[1]
files = ["a.o", "keep.o", "b.c", "build/out.o", "build/log", "sub/build/x", "sub/c.o",
         "sub/keep.o", "cache/f", "sub/cache/g", "deep/1/2/x", "deep/1/x", "deep/x",
         "deep/1/2/y", "notes.bak", "important.bak", "sub/deeper/important.bak",
         "sub/deeper/z.bak", "we ird/[x]*?.o", "we ird/plain", "top/inner"]
for f in files:
    p = os.path.join(root, f)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as fh:
        fh.write(f)
os.makedirs(os.path.join(root, "cache-not/empty"), exist_ok=True)
PY
printf '# comment\n; another\n\n+ important.bak\n- *.bak\n' >"$T/rules"
rules=(--include keep.o --exclude '*.o' --exclude /build/ --exclude cache/
	--exclude 'deep/**/x' --exclude-from "$T/rules" --exclude top)

rsync -a "${rules[@]}" "$src/" "$T/expected/"
for depth in 0 1 2 3; do
	dst=$T/dst-$depth
	scow-sync run -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dst" -p "$SSHD_PORT" \
		-k "$SSH_KEY" -q -m "$depth" "${rules[@]}" 2>"$T/err" ||
		fail "depth $depth exited $?: $(cat "$T/err")"
	tree_equal "$T/expected" "$dst/top" || fail "depth $depth: not what rsync leaves"
done
# The rules are the transfer's: the walk's totals count only what is sent.
id=$(store_sql "SELECT max(id) FROM transfers")
files=$(scow-sync query --json --id "$id" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["transfers"][0]["files_total"])')
want=$(cd "$T/expected" && find . -type f | wc -l)
[ "$files" = "$want" ] || fail "files_total $files, expected $want"

# A mirror leaves what the rules exclude on the far side, and deletes the rest.
dst=$T/dst-2
echo far >"$dst/top/extra.o"
mkdir -p "$dst/top/sub/cache"
echo far >"$dst/top/sub/cache/far-only"
echo far >"$dst/top/not-excluded"
scow-sync run -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dst" -p "$SSHD_PORT" \
	-k "$SSH_KEY" -q "${rules[@]}" --delete 2>"$T/err" || fail "the mirror exited $?: $(cat "$T/err")"
[ -e "$dst/top/extra.o" ] && [ -e "$dst/top/sub/cache/far-only" ] ||
	fail "the mirror deleted what the rules exclude"
[ -e "$dst/top/not-excluded" ] && fail "the mirror left what the source lacks"

# A file of rules that cannot be read, a rule that is not one: one line, exit 2.
scow-sync run -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/x" -p "$SSHD_PORT" \
	-k "$SSH_KEY" --exclude-from "$T/missing" 2>"$T/err"
rc=$?
[ "$rc" = 2 ] || fail "--exclude-from a missing file exited $rc"
[ "$(wc -l <"$T/err")" = 1 ] && grep -q missing "$T/err" ||
	fail "--exclude-from a missing file: $(cat "$T/err")"
[ -e "$T/x" ] && fail "a refused rule made the destination"
finish
