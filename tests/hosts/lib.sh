# tests/hosts/lib.sh: what every case of the hosts suite (tests/hosts/t-*.sh)
# sources (bash).
#
# tests/hosts.tap runs each case with DIR/env of tests/hosts/net.sh
# exported (HOSTS_DIR, HOSTS_N, HOSTS_SRC_NS, HOSTS_ADDR_K, HOSTS_HOME_K and
# the rest: see net.sh). A case gets:
#   T                 its own directory, removed on exit
#   HOME              $T/home: scow-sync's store and log, and ~/.ssh with
#                     every host's key, as the source's user
#   PATH              the build's tests/bin first
#   on_src CMD...     CMD in the source's namespace, with this environment
#   on_host K CMD...  CMD on host hK, as a session there sees it (HOME is
#                     the host's private one)
#   src_ssh K CMD...  ssh from src to hK with the user key
#   host_pids K       processes on hK other than its sshd (src: any at all)
#   no_processes_left  wait up to 5 s for every node to have none; list them
#   hop_leftovers     relay hops' directories left in /tmp holding this network's keys
#   net ARGS...       tests/hosts/net.sh ARGS, on this network
#   addrs K...        the addresses of hosts K..., comma-separated (-a's list)
#   fail MSG / finish / skip MSG / wait_for N CMD...   as in tests/lib.sh
#   tree_equal A B    tests/tree-equal.sh
# The source's namespace sees the real file system, the hosts all of it
# but the user's home (each its own, $HOSTS_HOME_K outside) and DIR/src.
set -u

for v in HOSTS_DIR HOSTS_N HOSTS_SRC_NS HOSTS_KEY HOSTS_USER HOSTS_KNOWN_HOSTS; do
	if [ -z "${!v:-}" ]; then
		echo "${0##*/}: $v is not set: run this through tests/hosts.tap" >&2
		exit 99
	fi
done
SCOW_SYNC_SRCDIR=${SCOW_SYNC_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
HOSTS_NET=$SCOW_SYNC_SRCDIR/tests/hosts/net.sh
. "$SCOW_SYNC_SRCDIR/tests/tree-equal.sh"

FAILURES=0
fail() {
	FAILURES=$((FAILURES + 1))
	printf 'FAIL: %s\n' "$*"
}
skip() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}
finish() {
	local f
	# What a sanitizer build (--enable-asan) reported from any process of
	# the case, detached supervisors included (see tests/lib.sh).
	for f in "$T"/sanitizer.*; do
		[ -s "$f" ] && fail "${f##*/}: $(head -c 4000 "$f")"
	done
	check_private_dirs
	if [ "$FAILURES" -gt 0 ]; then
		printf '%s: %d expectation(s) failed; files in %s\n' "${0##*/}" "$FAILURES" "$T"
		KEEP_TEST_DIR=1
		exit 1
	fi
	printf '%s: all expectations held\n' "${0##*/}"
	exit 0
}
wait_for() {
	local seconds=$1 i
	shift
	for i in $(seq 1 $((seconds * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# The addresses of hosts K..., as -a takes them: "addrs 1 2" is "ADDR1,ADDR2".
addrs() {
	local k out=
	for k in "$@"; do
		out="$out${out:+,}$(eval echo "\$HOSTS_ADDR_$k")"
	done
	echo "$out"
}
net() { bash "$HOSTS_NET" "$1" "$HOSTS_DIR" "${@:2}"; }
on_src() { bash "$HOSTS_NET" exec "$HOSTS_DIR" src "$@"; }
on_host() {
	local k=$1
	shift
	bash "$HOSTS_NET" exec "$HOSTS_DIR" "h$k" "$@"
}
src_ssh() {
	local k=$1 addr
	shift
	addr=HOSTS_ADDR_$k
	on_src ssh "${SRC_SSH_OPTS[@]}" -i "$HOSTS_KEY" "$HOSTS_USER@${!addr}" "$@"
}

# The sshd's pid on hK.
host_sshd_pid() { cat "$HOSTS_DIR/h$1/sshd.pid" 2>/dev/null; }
# The daemons of a Slurm cluster on the network (tests/slurm/cluster.sh),
# which outlive every case: munged and slurmctld (with its slurmscriptd)
# on src, a slurmd on a node.
daemon_pids() {
	[ -n "${SLURM_DIR:-}" ] || return 0
	if [ "$1" = src ]; then
		cat "$SLURM_DIR/munged.pid" "$SLURM_DIR/ctld.pid" 2>/dev/null
		# slurmctld's own helper, slurmscriptd.
		pgrep -P "$(cat "$SLURM_DIR/ctld.pid" 2>/dev/null || echo 0)" -x slurmscriptd
	else
		cat "$SLURM_DIR/d-h$1.pid" 2>/dev/null
	fi
	return 0
}
host_pids() {
	local keep
	keep=$(daemon_pids "$1"; [ "$1" = src ] || host_sshd_pid "$1")
	if [ -z "$keep" ]; then
		net pids "$([ "$1" = src ] && echo src || echo "h$1")"
	else
		net pids "$([ "$1" = src ] && echo src || echo "h$1")" | grep -vxF "$keep"
	fi
	return 0
}
all_host_pids() {
	local k
	host_pids src
	for k in $(seq 1 "$HOSTS_N"); do
		host_pids "$k"
	done
}
no_processes_left() {
	local left p
	wait_for 5 eval '[ -z "$(all_host_pids)" ]' && return 0
	left=$(all_host_pids)
	echo "left running:" >&2
	for p in $left; do ps -o pid=,args= -p "$p" >&2; done
	return 1
}

# The relay hops' private directories left in /tmp (the machine's, seen by
# every network on it) that hold a key of this network's hosts: ours.
hop_leftovers() {
	local f k
	for f in /tmp/scow-sync-hop.*/known_hosts; do
		[ -f "$f" ] || continue
		for k in $(seq 1 "$HOSTS_N"); do
			if grep -qF "$(cut -d' ' -f2 "$HOSTS_DIR/h$k/host_key.pub")" "$f"; then
				echo "${f%/known_hosts}"
				break
			fi
		done
	done
}

if [ -n "$(host_pids src)" ]; then
	echo "processes run in src before the case: $(host_pids src)" >&2
	exit 99
fi

T=$(mktemp -d /tmp/scow-sync-hosts.XXXXXX) || exit 99
KEEP_TEST_DIR=${KEEP_TEST_DIR:-0}
cleanup() {
	local k p
	# What this case left in the source's namespace (where nothing else
	# runs), and the sessions it left on the hosts.
	for k in src $(seq 1 "$HOSTS_N"); do
		for p in $(host_pids "$k"); do
			kill -9 "$p" 2>/dev/null
		done
	done
	if [ "$KEEP_TEST_DIR" = 1 ]; then
		echo "test files kept in $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
# A case timed out (TERM) still cleans up.
trap 'exit 143' TERM
trap 'exit 130' INT

export HOME=$T/home
# The supervisors' private directories (sockets, the relay's agent) too.
export TMPDIR=$T/tmp
mkdir -p "$TMPDIR"
. "$SCOW_SYNC_SRCDIR/tests/private-dirs.sh"
export ASAN_OPTIONS="log_path=$T/sanitizer:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="log_path=$T/sanitizer:print_stacktrace=1:${UBSAN_OPTIONS:-}"
mkdir -p "$HOME/.ssh"
chmod 700 "$HOME/.ssh"
cp "$HOSTS_KNOWN_HOSTS" "$HOME/.ssh/known_hosts"
# ssh reads ~/.ssh of the account (getpwuid), not of $HOME: the source's
# known_hosts is named, and -F none keeps ssh from making the account's
# ~/.ssh.
SRC_SSH_OPTS=(-F none -o BatchMode=yes -o "UserKnownHostsFile=$HOME/.ssh/known_hosts"
	-o StrictHostKeyChecking=yes -o ConnectTimeout=5 -o LogLevel=ERROR)
unset SCOW_SYNC_HOME SCOW_SYNC_WORKERS SCOW_SYNC_BWLIMIT SCOW_SYNC_RETRIES SSH_AUTH_SOCK
# As tests/lib.sh: no connection outlives its transfer, and no ssh
# configuration of this machine's.
export SCOW_SYNC_KEEP_CONNECTION=0
export SCOW_SYNC_SSH_CONFIG=none
export PATH="${SCOW_SYNC_BUILDDIR:-$SCOW_SYNC_SRCDIR}/tests/bin:$PATH"
