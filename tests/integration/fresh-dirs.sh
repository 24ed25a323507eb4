#!/bin/bash
# A tree made just before the transfer: every directory's time arrives to
# the nanosecond. rsync -a compares a directory's time by the second, so a
# copy the far side makes in the same second as the source directory last
# changed keeps its own time; the rsyncs of such directories compare times
# to the nanosecond. Each round starts at the top of a second, so that the
# copies are made in the source's second; at three depths (directories
# above the cut, units that are directories, the source as one unit) with
# three workers. A tree changed long ago is copied as before.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

export SCOW_SYNC_WORKERS=3
log=$HOME/scow/.scow-sync/scow-sync.log

# Sleep until the current second is less than 50 ms old.
top_of_second() {
	python3 -c 'import time; f = time.time() % 1; f > 0.05 and time.sleep(1.0 - f)'
}
make_tree() {   # make_tree DIR
	local d f
	mkdir -p "$1"
	for d in a b c d; do
		mkdir -p "$1/$d/sub1" "$1/$d/sub2/deeper"
		for f in 1 2 3; do head -c 300000 /dev/urandom > "$1/$d/sub1/f$f"; done
		echo x > "$1/$d/sub2/deeper/g"
	done
}
# Every directory's and file's time, in nanoseconds: the same on both sides.
times_equal() {   # times_equal SRC COPY
	python3 - "$1" "$2" <<'PY'
import os, sys
a, b = sys.argv[1:3]
bad = []
for d, dirs, files in os.walk(a):
    for n in [""] + dirs + files:
        p = os.path.join(d, n) if n else d
        q = os.path.join(b, os.path.relpath(p, a))
        try:
            ta, tb = os.lstat(p).st_mtime_ns, os.lstat(q).st_mtime_ns
        except OSError as e:
            bad.append("%s: %s" % (os.path.relpath(p, a), e)); continue
        if ta != tb:
            bad.append("%s: %d, copy %d" % (os.path.relpath(p, a), ta, tb))
print("\n".join(bad[:10]))
sys.exit(1 if bad else 0)
PY
}

round=0
for depth in 2 1 0; do
	for k in 1 2; do
		round=$((round + 1))
		src=$T/src$round/top dest=$T/dest$round
		top_of_second
		make_tree "$src"
		scow-sync -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dest" -m "$depth" \
			-p "$SSHD_PORT" -k "$SSH_KEY" -q 2>"$T/err" ||
			fail "depth $depth: run exited $?: $(cat "$T/err")"
		out=$(times_equal "$src" "$dest/top") ||
			fail "depth $depth, round $k: times differ from the source's:
$out"
	done
done
grep -q "directories changed just before the transfer: [0-9]* units" "$log" ||
	fail "the log never says which units hold directories changed just before"

# A re-sync with nothing to send leaves them as they are.
scow-sync -a "$SSH_HOST" -u "$SSH_USER" -s "$T/src1/top" -d "$T/dest1" -m 2 \
	-p "$SSHD_PORT" -k "$SSH_KEY" -q 2>"$T/err" || fail "re-sync exited $?: $(cat "$T/err")"
out=$(times_equal "$T/src1/top" "$T/dest1/top") || fail "after a re-sync: $out"

# Old directories are not recent: a tree changed long ago is copied as before.
mkdir -p "$T/old"
make_tree "$T/old/top"
find "$T/old/top" -exec touch -h -d @1500000000.5 {} +
before=$(grep -c "directories changed just before" "$log")
scow-sync -a "$SSH_HOST" -u "$SSH_USER" -s "$T/old/top" -d "$T/dest-old" -m 2 \
	-p "$SSHD_PORT" -k "$SSH_KEY" -q 2>"$T/err" || fail "old tree: exited $?: $(cat "$T/err")"
[ "$(grep -c "directories changed just before" "$log")" = "$before" ] ||
	fail "a tree changed long ago was taken for a recent one"
out=$(times_equal "$T/old/top" "$T/dest-old/top") || fail "old tree: $out"
finish
