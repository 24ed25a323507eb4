#!/bin/bash
# Install scow-sync's build and run-time dependencies with the system's
# package manager, then build and install it. Safe to run again.
#
#   ./install.sh [--prefix DIR] [--deps-only] [--test-deps]
set -u

prefix=/usr/local
deps_only=no
test_deps=no

usage() {
	cat <<EOF
usage: $0 [--prefix DIR] [--deps-only] [--test-deps]

Install the packages scow-sync needs (apt, dnf, yum or apk), then build it
from this directory and install it under DIR (default /usr/local).

  --prefix DIR   install under DIR; DIR/bin must be on the default PATH
                 for the SCOW portal to find the commands
  --deps-only    install the packages only; do not build
  --test-deps    also install what the test suite needs beyond the build:
                 Ceph's RADOS Gateway, monitor and OSD for the S3 tests,
                 awscli and s3cmd, iproute2 for the hosts tests, Slurm
                 and munge for the Slurm tests, and what CI's package
                 step needs: debhelper and lintian for the Debian
                 package, rpm, rpmlint and cpio for the RPM (Debian and
                 Ubuntu only)
  -h, --help     show this help
EOF
}

die() {
	echo "install.sh: $*" >&2
	exit 1
}

# Run one step; on failure say which one and stop.
step() {
	local name=$1; shift
	echo "==> $name"
	"$@" || die "$name failed (exit $?)"
}

while [ $# -gt 0 ]; do
	case $1 in
	--prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix=$2; shift 2 ;;
	--prefix=*) prefix=${1#--prefix=}; shift ;;
	--deps-only) deps_only=yes; shift ;;
	--test-deps) test_deps=yes; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument '$1'" ;;
	esac
done
case $prefix in
/) ;;
/*) prefix=${prefix%/} ;;
*) die "--prefix must be an absolute path, not '$prefix'" ;;
esac

# Run a command as root: directly when we are root, else through sudo.
as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	else
		sudo "$@"
	fi
}
[ "$(id -u)" = 0 ] || command -v sudo >/dev/null 2>&1 ||
	die "installing packages needs root: run this as root, or install sudo"

install_apt() {
	local proc=libprocps-dev
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update || return
	# openssh-server, procps and python3 serve the tests and the demo.
	# procps-ng 4 (Debian 12+, Ubuntu 22.04+) ships libproc2.
	if apt-cache show libproc2-dev >/dev/null 2>&1; then
		proc=libproc2-dev
	fi
	as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends \
		build-essential autoconf automake pkg-config \
		libssl-dev libjansson-dev libsqlite3-dev "$proc" libcurl4-openssl-dev \
		libxml2-dev libinih-dev \
		rsync openssh-client openssh-server mandoc \
		procps python3 || return
	[ "$test_deps" = yes ] || return 0
	# The S3 tests' server (tests/s3/server.sh) and the clients that check
	# it; radosgw-admin comes with ceph-common.
	# The hosts tests' network (tests/hosts/net.sh): ip and tc; unshare
	# and nsenter come with util-linux, which every Debian has.
	# The Slurm tests' cluster (tests/slurm/cluster.sh): Debian's Slurm and munge.
	# setfacl and getfacl for the tests of -A (tests/integration/preserve.sh).
	# CI's package step (.ci/run): dpkg-buildpackage (debhelper brings
	# dpkg-dev and dh-autoreconf) and lintian; rpmbuild and rpmlint, file
	# for rpmbuild's brp-strip, cpio for tests/packages/compare-files.sh.
	as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends \
		radosgw ceph-mon ceph-osd ceph-common awscli s3cmd python3 curl iproute2 \
		slurmctld slurmd slurm-client munge acl \
		debhelper lintian rpm rpmlint file cpio
}

install_rpm() {
	as_root "$1" install -y \
		gcc make autoconf automake pkgconf-pkg-config \
		openssl-devel jansson-devel sqlite-devel procps-ng-devel libcurl-devel \
		libxml2-devel inih-devel \
		rsync openssh-clients openssh-server procps-ng python3 && return
	# RHEL and Rocky keep some of these in EPEL and CRB (PowerTools).
	echo "install.sh: on RHEL or Rocky, enable EPEL and CRB first" >&2
	return 1
}

install_apk() {
	as_root apk add --no-cache \
		build-base autoconf automake pkgconf \
		openssl-dev jansson-dev sqlite-dev procps-dev curl-dev \
		libxml2-dev inih-dev \
		rsync openssh-client openssh-server procps python3
}

if [ "$test_deps" = yes ] && ! command -v apt-get >/dev/null 2>&1; then
	die "--test-deps knows only apt-get (Debian, Ubuntu):" \
		"install radosgw, ceph-mon, ceph-osd, awscli, s3cmd and iproute2 by hand"
fi
if command -v apt-get >/dev/null 2>&1; then
	step "installing packages with apt-get" install_apt
elif command -v dnf >/dev/null 2>&1; then
	step "installing packages with dnf" install_rpm dnf
elif command -v yum >/dev/null 2>&1; then
	step "installing packages with yum" install_rpm yum
elif command -v apk >/dev/null 2>&1; then
	step "installing packages with apk" install_apk
else
	die "no known package manager (apt-get, dnf, yum, apk): install the dependencies listed in README.md by hand"
fi
[ "$deps_only" = yes ] && exit 0

cd "$(dirname "$0")" || die "cannot enter the source directory"
jobs=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)

# Regenerate configure only when it is missing or older than configure.ac.
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
	step "autoreconf -fi" autoreconf -fi
fi
step "./configure --prefix=$prefix" ./configure --prefix="$prefix"
step "make" make -j"$jobs"

# Install as root only when the prefix is not ours to write.
parent=$prefix
while [ ! -e "$parent" ]; do parent=$(dirname "$parent"); done
if [ -w "$parent" ]; then
	step "make install" make install
else
	step "make install (as root)" as_root make install
fi

echo "==> installed scow-sync under $prefix"
# sshd's default PATH for a non-login shell.
case ${prefix%/}/bin in
/usr/local/bin|/usr/bin|/bin) ;;
*) echo "note: $prefix/bin is not on the default PATH; the SCOW portal runs" \
	"scow-sync-start through a non-login shell and will not find it there" >&2 ;;
esac
