#!/bin/bash
# --exclude, --include and --exclude-from mean what rsync makes of them: for
# each set of rules, the paths our matcher keeps walking a tree (as a
# walker does, not entering excluded directories) are the paths a real
# rsync copies,
#   - with the rules as given, relative to the source: rsync -a SRC/ DEST/;
#   - with filter_rsync_rules() for a transfer root at the source's parent:
#     rsync -a PARENT/TOP DEST/, and --files-from lists of "TOP/..."
#     entries one and two levels down.
# The tree's names hold spaces, *, ?, [, \, a newline; the source is named
# like a pattern, then has a backslash in its name. Local: no sshd.
srcdir=${SCOW_SYNC_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
walker=${SCOW_SYNC_BUILDDIR:-$srcdir}/tests/unit/filter-walk
status=0
fail() { echo "FAIL: $*"; status=1; }

for prog in rsync python3; do
	command -v "$prog" >/dev/null || { echo "SKIP: $prog is not installed"; exit 77; }
done
[ -x "$walker" ] || { echo "FAIL: no '$walker': make tests/unit/filter-walk"; exit 1; }
export LC_ALL=C

T=$(mktemp -d /tmp/scow-sync-test.XXXXXX) || exit 99
trap '[ "$status" -ne 0 ] || rm -rf "$T"' EXIT

TOP='da*ta[1]'
TOP2='pl\ain top'
PARENT=$T/parent
SRC=$PARENT/$TOP

# The tree: directories, then files (each name as it is, no globbing).
dirs=(a a/b a/b/c a/tmp tmp x x/tmp foo foo/bar foo/bar/baz q q/axb deep deep/a
	deep/a/b deep/a/b/c 'sp ace' 'st*ar' 'br[ack]et' 'back\slash' $'new\nline'
	"$TOP" "$TOP/in" .hidden B core keep keep/sub)
files=(f.o f.c a/f.o a/x.c a/b/y.c a/b/c/z.o a/b/c/c a/tmp/t tmp/t x/tmp/t x/b
	foo/f foo/bar/baz/q.c q/axb/c q/c deep/a/b/c/d.c deep/b 'sp ace/s p.o'
	'st*ar/*' 'br[ack]et/[' 'back\slash/x\y' $'new\nline/n\nl' "$TOP/in/d.o"
	"$TOP/e" .hidden/h 1.log 22.log A.TXT b 'trail ' '*' '?' 'x\' 'x\y' keep/k.o
	keep/sub/s.c aab ab)
mkdir -p "$SRC" "$T/dest" || exit 99
for d in "${dirs[@]}"; do mkdir -p "$SRC/$d" || exit 99; done
for f in "${files[@]}"; do : >"$SRC/$f" || exit 99; done
# Links are not directories, wherever they point.
ln -s a "$SRC/lnk" && ln -s ../x "$SRC/a/b2" || exit 99
cp -a "$SRC" "$PARENT/$TOP2" || exit 99

# An --exclude-from file with all a line can hold: comments, blank lines,
# CRLF and CR endings, prefixes, a pattern with a trailing space.
printf '%s\r\n' '# a comment' '; another' '' '+ *.c' '- /a/b/' 'trail ' >"$T/rules-crlf"
printf '%s\r' '*.o' '' '- x/b' >>"$T/rules-crlf"
printf '%s\n' '+ keep/***' 'k*' >>"$T/rules-crlf"
printf '%s\n' '/foo' '**/c' >"$T/rules-plain"

# One set of rules a line, its words separated by \x1f.
U=$'\x1f'
sets=(
	"--exclude${U}*.o"                                    # a name, wild
	"--exclude${U}tmp"                                  # a name, literal: files and dirs
	"--exclude${U}/tmp"                                   # anchored
	"--exclude${U}/a/b/c"                                 # anchored, deeper
	"--exclude${U}b/c"                                  # infix '/', literal
	"--exclude${U}a/*/c*"                               # infix '/', wild: last elements
	"--exclude${U}*/tmp/*"
	"--exclude${U}**/c"                                   # leading **
	"--exclude${U}**"
	"--exclude${U}a/**/y.c"                             # infix **
	"--exclude${U}foo/**"                               # trailing **
	"--exclude${U}a**b"                                 # ** and no '/'
	"--exclude${U}a/***"                                # a dir and all below
	"--exclude${U}/deep/a/***${U}--exclude${U}***/d.c"
	"--exclude${U}b/"                                   # directories only
	"--exclude${U}lnk/${U}--exclude${U}b2"                # links are files
	"--exclude${U}[ab]*.[co]"                             # sets
	"--exclude${U}[!a-c]*"
	"--exclude${U}[[:upper:]]*${U}--exclude${U}[[:digit:]]*"
	"--exclude${U}?.log"
	"--exclude${U}[]x]*${U}--exclude${U}[^q]/c"
	"--exclude${U}a[/x]b/c"                             # a '/' in a set is no '/'
	"--exclude${U}st\\*ar${U}--exclude${U}\\*"              # escapes
	"--exclude${U}back\\slash${U}--exclude${U}x\\"        # literal backslashes
	"--exclude${U}x\\y"
	"--exclude${U}back\\slash/x\\y"                 # ... in the last elements
	"--exclude${U}/back\\slash/x\\y"
	"--exclude${U}sp ace${U}--exclude${U}"$'new\nline'      # a space, a newline
	"--exclude${U}*line${U}--exclude${U}*l"
	"--exclude${U}$TOP"                                   # the source's name, wild
	"--exclude${U}da\\*ta\\[1]${U}--exclude${U}/da*ta?1]/in" # ... and escaped
	"--exclude${U}*${U}--include${U}*.c"                    # first match wins
	"--include${U}*/${U}--include${U}*.c${U}--exclude${U}*"       # include before exclude
	"--include${U}a/b/${U}--exclude${U}b"
	"--exclude${U}+ *.c${U}--exclude${U}*.?"                  # a prefix in --exclude
	"--include${U}- a${U}--include${U}a"
	"--exclude-from${U}$T/rules-crlf"
	"--exclude-from${U}$T/rules-plain${U}--exclude${U}core/"
	"--exclude${U}/"
	"--exclude${U}[z-a]*${U}--exclude${U}[${U}--exclude${U}[[:nope:]]"
)

# rsync's names (each line, \#ooo unescaped, a trailing '/' taken off) or
# the walker's (NUL-terminated): those below prefix (that taken off) at
# depth min or deeper, sorted and NUL-terminated; prefix itself must be one.
cat >"$T/names.py" <<'EOF'
import os, re, sys
kind, prefix, depth = sys.argv[1], os.fsencode(sys.argv[2]), int(sys.argv[3])
data = sys.stdin.buffer.read()
names, top_seen = [], False
for n in data.split(b"\n" if kind == "rsync" else b"\0")[:-1]:
	if kind == "rsync":
		n = re.sub(rb"\\#([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), n)
		n = n[:-1] if n.endswith(b"/") else n
	if prefix:
		if n == prefix:
			top_seen = True
			continue
		if not n.startswith(prefix + b"/"):
			sys.exit("not below the top: %r" % n)
		n = n[len(prefix) + 1:]
	if n != b"." and n.count(b"/") + 1 >= depth:
		names.append(n)
sys.stdout.buffer.write(b"".join(n + b"\0" for n in sorted(names)))
if prefix and not top_seen:
	sys.exit("the top itself is not there")
EOF
# A --files-from list: the walker's names at depth $2, below top $1.
cat >"$T/list.py" <<'EOF'
import os, sys
names = sys.stdin.buffer.read().split(b"\0")[:-1]
top, depth = os.fsencode(sys.argv[1]) + b"/", int(sys.argv[2])
sys.stdout.buffer.write(b"".join(top + n + b"\0" for n in names if n.count(b"/") + 1 == depth))
EOF
# What is in list $1 and not in $2, and the other way round.
cat >"$T/differ.py" <<'EOF'
import sys
a, b = (set(open(f, "rb").read().split(b"\0")[:-1]) for f in sys.argv[1:3])
for n in sorted(a - b):
	print("  only %s: %r" % (sys.argv[3], n))
for n in sorted(b - a):
	print("  only %s: %r" % (sys.argv[4], n))
EOF

# Compare the lists in files $1 (ours) and $2 (rsync's) for rule set $3.
compared=0 listed=0
compare() {
	compared=$((compared + 1))
	cmp -s "$1" "$2" && return 0
	fail "rules $3: $4"
	python3 "$T/differ.py" "$1" "$2" "our matcher" rsync
}

# Compare our walk ($out/ours) with rsync given filter_rsync_rules() for
# the source named $1 in $PARENT (results in directory $2; $3 the rules
# shown): rsync PARENT/TOP, and --files-from lists of the entries one and
# two levels down.
translated() {
	local top=$1 dir=$2 shown=$3 depth
	mkdir -p "$dir"
	"$walker" "${rules[@]}" rsync-rules "$top" >"$dir/rules" || fail "rsync-rules $shown"
	rsync -a -n -r --from0 --exclude-from="$dir/rules" --out-format='%n' \
		"$PARENT/$top" "$T/dest/" >"$dir/rsync" ||
		{ fail "rsync PARENT/TOP $shown"; return; }
	python3 "$T/names.py" rsync "$top" 1 <"$dir/rsync" >"$dir/theirs" ||
		fail "rules $shown: rsync's names for '$top'"
	compare "$out/ours" "$dir/theirs" "$shown" "rsync PARENT/TOP DEST/ for '$top'"

	for depth in 1 2; do
		python3 "$T/list.py" "$top" "$depth" <"$out/ours" >"$dir/list$depth"
		[ -s "$dir/list$depth" ] || continue
		python3 "$T/names.py" walk '' "$depth" <"$out/ours" >"$dir/ours$depth"
		listed=$((listed + 1))
		rsync -a -n -r --from0 --files-from="$dir/list$depth" \
			--exclude-from="$dir/rules" --out-format='%n' "$PARENT/" "$T/dest/" \
			>"$dir/rsync$depth" || { fail "rsync --files-from $shown"; continue; }
		python3 "$T/names.py" rsync "$top" "$depth" <"$dir/rsync$depth" \
			>"$dir/theirs$depth" || fail "rules $shown"
		compare "$dir/ours$depth" "$dir/theirs$depth" "$shown" \
			"rsync --files-from (depth $depth) for '$top'"
	done
}

n=0
for set in "${sets[@]}"; do
	n=$((n + 1))
	IFS=${U} read -r -d '' -a rules < <(printf '%s\0' "$set")
	shown=$(printf '%q ' "${rules[@]}")
	out=$T/$n
	mkdir -p "$out"

	"$walker" "${rules[@]}" walk "$SRC" >"$out/walk" || { fail "walk $shown"; continue; }
	python3 "$T/names.py" walk '' 1 <"$out/walk" >"$out/ours"

	# As given, relative to the source.
	rsync -a -n --out-format='%n' "${rules[@]}" "$SRC/" "$T/dest/" >"$out/rsync" ||
		{ fail "rsync $shown"; continue; }
	python3 "$T/names.py" rsync '' 1 <"$out/rsync" >"$out/theirs" || fail "rules $shown"
	compare "$out/ours" "$out/theirs" "$shown" "rsync SRC/ DEST/"

	# Translated, for the parent as the transfer root: a top named like a
	# pattern, and one whose backslash is literal.
	for top in "$TOP" "$TOP2"; do
		translated "$top" "$out/${top//[^a-z]/}" "$shown"
	done
done
[ "$n" -ge 15 ] || fail "only $n rule sets"
[ "$listed" -gt 0 ] || fail "no --files-from list was tried"

# The rules refused: rsync's "!" and no pattern.
for bad in '!' '- ' ''; do
	"$walker" --exclude "$bad" walk "$SRC" >/dev/null 2>&1
	[ $? -eq 2 ] || fail "--exclude '$bad' taken"
done

[ "$status" -eq 0 ] &&
	echo "filters-match.sh: $n rule sets as rsync has them ($compared comparisons)" ||
	echo "filters-match.sh: files in $T"
exit $status
