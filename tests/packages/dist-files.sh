#!/bin/bash
# The release tarball holds every file of the git tree but those listed
# below: the packages build from it, and make check in it (or distcheck)
# must find what make check in the tree finds. A file added to the tree
# and forgotten in Makefile.am's EXTRA_DIST fails here.
#   tests/packages/dist-files.sh scow-sync-VERSION.tar.gz   (in the git tree)
set -u
[ $# = 1 ] || { echo "usage: $0 TARBALL" >&2; exit 2; }
tarball=$1
top=$(git rev-parse --show-toplevel) || exit 2
name=$(basename "$tarball" .tar.gz)

# Kept out on purpose: git's and editors' settings, and the benchmarks,
# which are run by hand from the git tree (bench/README.md).
left_out='^(\.gitignore|\.editorconfig|\.clang-format|bench/.*)$'

missing=$(comm -23 <(git -C "$top" ls-files | LC_ALL=C sort) \
	<(tar -tzf "$tarball" | sed -n "s|^$name/||p" | LC_ALL=C sort) | grep -Ev "$left_out")
if [ -n "$missing" ]; then
	echo "dist-files: in the git tree but not in $tarball (add them to EXTRA_DIST in Makefile.am):"
	sed 's/^/  /' <<<"$missing"
	exit 1
fi
echo "dist-files: $tarball holds every file of the git tree but .gitignore," \
	".editorconfig, .clang-format and bench/"
