#!/bin/bash
# The Debian package and the RPM install the same files:
#   tests/packages/compare-files.sh scow-sync_VERSION_ARCH.deb scow-sync-VERSION-1.ARCH.rpm
# Both are unpacked and every entry that is not a directory is listed with
# its type, mode, link count (the legacy names are hard links) and, for a
# symbolic link, its target. Where the two distributions legitimately put
# or make things differently, the lists are made alike first:
#   - zsh completions: Debian's zsh reads packages' completions from
#     vendor-completions, Fedora's and RHEL's from site-functions;
#   - Debian compresses the documents in /usr/share/doc (README.md.gz),
#     and every Debian package carries its copyright file and changelog
#     there (RPM keeps the changelog in the package's header);
#   - rpmbuild adds /usr/lib/.build-id links to the binaries.
# Any other difference fails, and both lists are shown.
set -u
[ $# = 2 ] || { echo "usage: $0 DEB RPM" >&2; exit 2; }
deb=$(realpath -- "$1") rpm=$(realpath -- "$2") || exit 2
for prog in dpkg-deb rpm2cpio cpio; do
	command -v "$prog" >/dev/null || { echo "compare-files: $prog is not installed" >&2; exit 2; }
done
dir=$(mktemp -d /tmp/scow-sync-compare.XXXXXX) || exit 2
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/deb" "$dir/rpm"

dpkg-deb -x "$deb" "$dir/deb" || { echo "compare-files: cannot unpack $deb" >&2; exit 2; }
rpm2cpio "$rpm" >"$dir/rpm.cpio" && (cd "$dir/rpm" && cpio -idm --quiet <"$dir/rpm.cpio") ||
	{ echo "compare-files: cannot unpack $rpm" >&2; exit 2; }

# One line per entry that is not a directory: type, mode, links, path, target.
list() {
	(cd "$1" && find . ! -type d -printf '%y %m %n %P %l\n') |
		sed -e 's| usr/share/zsh/vendor-completions/| usr/share/zsh/COMPLETIONS/|' \
			-e 's| usr/share/zsh/site-functions/| usr/share/zsh/COMPLETIONS/|' \
			-e '\| usr/share/doc/scow-sync/copyright |d' \
			-e '\| usr/share/doc/scow-sync/changelog\.gz |d' \
			-e 's|\( usr/share/doc/scow-sync/[^ ]*\)\.gz |\1 |' \
			-e '\| usr/lib/\.build-id/|d' |
		sort -k4
}
list "$dir/deb" >"$dir/deb.list"
list "$dir/rpm" >"$dir/rpm.list"
for f in deb rpm; do
	[ -s "$dir/$f.list" ] || { echo "compare-files: no files in the ${f} package" >&2; exit 1; }
done
if ! diff -u --label "${deb##*/}" --label "${rpm##*/}" "$dir/deb.list" "$dir/rpm.list"; then
	echo "compare-files: the packages differ (- only in the Debian package, + only in the RPM)"
	exit 1
fi
echo "compare-files: the same $(wc -l <"$dir/deb.list") files in both packages:"
sed 's/^/  /' "$dir/deb.list"
