# tests/tree-equal.sh: tree_equal A B (bash), sourced by tests/lib.sh and
# by the suites that must not start its sshd (tests/hosts/lib.sh).
#
# Compare two trees: types, modes, symlink targets, names (any bytes) and
# the contents of every regular file. Prints what differs.
tree_equal() {
	python3 - "$1" "$2" <<'PY'
import os, stat, sys
a, b = (os.fsencode(p) for p in sys.argv[1:3])
def listing(root):
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode))
            else:
                out[rel] = ("file", stat.S_IMODE(st.st_mode), st.st_size, int(st.st_mtime))
    return out
la, lb = listing(a), listing(b)
ok = True
for rel in sorted(set(la) | set(lb)):
    if la.get(rel) != lb.get(rel):
        print("differs: %r: %r vs %r" % (rel, la.get(rel), lb.get(rel)))
        ok = False
    elif la[rel][0] == "file":
        with open(os.path.join(a, rel), "rb") as fa, open(os.path.join(b, rel), "rb") as fb:
            if fa.read() != fb.read():
                print("contents differ: %r" % rel)
                ok = False
sys.exit(0 if ok else 1)
PY
}
