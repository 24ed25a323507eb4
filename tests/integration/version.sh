#!/bin/bash
# The version is set in one place, AC_INIT in configure.ac. The program
# says it, and the packages' records of it (debian/changelog's newest
# entry; the spec's Version and its newest %changelog entry) must say the
# same, or a package would carry another version than the program in it.
# Reads files only: no sshd.
srcdir=${SCOW_SYNC_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PATH="${SCOW_SYNC_BUILDDIR:-$srcdir}/tests/bin:$PATH"
status=0
fail() { echo "FAIL: $*"; status=1; }

version=$(sed -n 's/^AC_INIT(\[scow-sync\], *\[\([^]]*\)\].*/\1/p' "$srcdir/configure.ac")
[ -n "$version" ] || { echo "FAIL: configure.ac: no AC_INIT([scow-sync], [VERSION], ...)"; exit 1; }

said=$(scow-sync --version) || fail "scow-sync --version exited $?"
[ "$said" = "scow-sync $version" ] ||
	fail "scow-sync --version says '$said', configure.ac's AC_INIT '$version'"

# "scow-sync (VERSION) unstable; urgency=medium": a native package, whose
# version has no Debian revision.
deb=$(sed -n '1s/^scow-sync (\([^)]*\)) .*/\1/p' "$srcdir/debian/changelog")
[ "$deb" = "$version" ] ||
	fail "debian/changelog's newest entry is '$deb', configure.ac's AC_INIT '$version'"

spec=$srcdir/scow-sync.spec
spec_version=$(sed -n 's/^Version:[[:space:]]*//p' "$spec")
[ "$spec_version" = "$version" ] ||
	fail "scow-sync.spec's Version is '$spec_version', configure.ac's AC_INIT '$version'"
# "* Mon Dec 07 2026 Name <address> - VERSION-RELEASE", RELEASE without %{?dist}.
release=$(sed -n 's/^Release:[[:space:]]*\([^%[:space:]]*\).*/\1/p' "$spec")
entry=$(sed -n '/^%changelog/,${/^\* /{s/.* - \([^ ]*\)$/\1/p;q}}' "$spec")
[ "$entry" = "$version-$release" ] ||
	fail "scow-sync.spec's newest %changelog entry is for '$entry', not '$version-$release'"
exit $status
