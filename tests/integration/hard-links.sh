#!/bin/bash
# -H: names of one file arrive as names of one file, though the names of
# a group travel in different batches, units and depths, or in pieces.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

src=$T/src/data
# 300 groups of 2 to 5 names (1,000 names in all) spread over directories
# of depths 1 to 4, so that groups cross the cut at -m 2 and at -m 3; two
# of them large enough to go in pieces; and files named once beside them.
python3 - "$src" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(24)
dirs = [""]
for i in range(40):
    parent = rnd.choice([d for d in dirs if d.count("/") < 3])
    dirs.append(os.path.join(parent, "d%02d" % i) if parent else "d%02d" % i)
for d in dirs:
    os.makedirs(os.path.join(root, d), exist_ok=True)
sizes = [2, 3, 4, 5]
names = 0
for g in range(300):
    n = 1000 - names - 2 * (299 - g) if g == 299 else rnd.choice(sizes)
    n = max(2, min(n, 5 if g < 299 else n))
    first = os.path.join(root, rnd.choice(dirs), "g%03d-0" % g)
    with open(first, "wb") as f:
        f.write(os.urandom(20 << 20) if g in (7, 150) else ("group %d\n" % g).encode())
    for k in range(1, n):
        os.link(first, os.path.join(root, rnd.choice(dirs), "g%03d-%d" % (g, k)))
    names += n
for i in range(50):
    with open(os.path.join(root, rnd.choice(dirs), "single%02d" % i), "w") as f:
        f.write("single %d\n" % i)
print(names, file=sys.stderr)
PY

# The groups under $1: each file named more than once, its names sorted, one group a line.
groups() {
	python3 - "$1" <<'PY'
import collections, os, sys
root = sys.argv[1]
by = collections.defaultdict(list)
for d, _, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        st = os.lstat(p)
        if st.st_nlink > 1:
            by[(st.st_dev, st.st_ino)].append(os.path.relpath(p, root))
print("\n".join(sorted(" ".join(sorted(v)) for v in by.values())))
PY
}
want=$(groups "$src")
[ "$(wc -l <<<"$want")" = 300 ] || fail "the source has $(wc -l <<<"$want") groups, not 300"
[ "$(tr ' ' '\n' <<<"$want" | wc -l)" -ge 1000 ] || fail "the source has fewer than 1,000 names"

export SCOW_SYNC_SPLIT_MIB=4 SCOW_SYNC_WORKERS=3
for depth in 2 3; do
	far=$T/far-$depth
	scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -p "$SSHD_PORT" -k "$SSH_KEY" \
		-s "$src" -d "$far" -m "$depth" -H 2>"$T/run.err" || fail "-m $depth: $(cat "$T/run.err")"
	tree_equal "$src" "$far/data" || fail "-m $depth: the copy differs"
	[ "$(groups "$far/data")" = "$want" ] || fail "-m $depth: the groups differ on the far side"
done
log=$HOME/scow/.scow-sync/scow-sync.log
grep -q "in [0-9]* pieces" "$log" || fail "no file went in pieces: a group in pieces was not tested"
[ "$(grep -c "linking the [0-9]* names" "$log")" -ge 2 ] || fail "no link pass logged"

# A re-sync: nothing to do, the groups stay. A name that lost its link
# there (a copy in its place) is linked again.
f=$(find "$T/far-2/data" -name 'g010-1')
cp --preserve=all "$f" "$f.tmp" && mv -f "$f.tmp" "$f"
[ "$(groups "$T/far-2/data")" != "$want" ] || fail "breaking a link changed nothing: the test proves nothing"
scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -p "$SSHD_PORT" -k "$SSH_KEY" \
	-s "$src" -d "$T/far-2" -m 2 -H 2>"$T/again.err" || fail "re-sync: $(cat "$T/again.err")"
[ "$(groups "$T/far-2/data")" = "$want" ] || fail "re-sync: the broken link was not made again"
tree_equal "$src" "$T/far-2/data" || fail "re-sync: the copy differs (directory times?)"

# A part stopped on request (terminate -s) does not arrive by the link pass:
# its names are left out of it.
mkdir -p "$T/parts/p/keep" "$T/parts/p/stop/deep"
head -c $((3 << 20)) /dev/urandom >"$T/parts/p/keep/big"
echo a >"$T/parts/p/keep/a"
ln "$T/parts/p/keep/a" "$T/parts/p/stop/b"
echo x >"$T/parts/p/stop/deep/x"
ln "$T/parts/p/stop/deep/x" "$T/parts/p/stop/deep/y"
head -c $((3 << 20)) /dev/urandom >"$T/parts/p/stop/big"
id=$(SCOW_SYNC_WORKERS=2 scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -p "$SSHD_PORT" \
	-k "$SSH_KEY" -s "$T/parts/p" -d "$T/far-parts" -m 2 -H --bwlimit 1M) ||
	fail "start with a part to stop exited $?"
sleep 1
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$T/parts/p/stop" >/dev/null ||
	fail "terminate of a part exited $?"
wait_for 60 transfer_ended "$id" || fail "the transfer with a part stopped did not end"
[ "$(transfer_state "$id")" = done ] || fail "with a part stopped: $(transfer_state "$id")"
# (A directory its stopped rsync had made may stay, as without -H.)
[ -z "$(find "$T/far-parts/p/stop" ! -type d)" ] ||
	fail "the link pass sent names of the part stopped: $(find "$T/far-parts/p/stop" ! -type d)"
cmp "$T/parts/p/keep/big" "$T/far-parts/p/keep/big" || fail "the part kept differs"

# Without -H, as rsync -a: each name a file of its own.
scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -p "$SSHD_PORT" -k "$SSH_KEY" \
	-s "$src" -d "$T/plain" -m 2 2>"$T/plain.err" || fail "plain: $(cat "$T/plain.err")"
[ -z "$(groups "$T/plain/data")" ] || fail "links kept without -H"
finish
