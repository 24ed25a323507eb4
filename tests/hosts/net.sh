#!/bin/bash
# Several hosts on this one machine, for the tests of one source to many
# hosts: a Linux bridge, and one network namespace for the source ("src",
# where scow-sync runs) and one for each host h1..hN, each joined to the
# bridge by a veth pair. Every host runs its own sshd on its own address,
# port 22, in a mount namespace of its own where the user's home directory
# is DIR/hK/home: ~ (known_hosts, locks, any state) is the host's own,
# while the rest of the file system is shared. Needs root.
#
#   net.sh check                  can it run here? the reason on stdout if not
#   net.sh start DIR N            build it all under DIR and write DIR/env
#   net.sh stop DIR               end every process in the namespaces, remove
#                                 namespaces, veths and bridge (again: no-op)
#   net.sh shape DIR WHAT RATE [in|out|both]
#                                 tbf at RATE (NUMBER{bit,kbit,mbit,gbit};
#                                 "none" removes it) on WHAT: src, hK or one
#                                 of our interfaces in the root namespace.
#                                 "out" is what the node sends, "in" what it
#                                 receives; the default: src out (its
#                                 uplink), a host both
#   net.sh down DIR HOST / up DIR HOST
#                                 take a node's link down (carrier off: its
#                                 connections hang, as when a host goes away)
#                                 or back up
#   net.sh pids DIR HOST          the processes in that node's namespace
#   net.sh exec DIR HOST CMD...   run CMD as on that node (see do_exec)
#
# Environment at start: SRC_RATE (the source's uplink) and HOST_RATE (each
# host's link, both ways), default unshaped; HOSTS_SUBNET, the first three
# octets of the private /24 (default 10.213.77). The root namespace has no
# address on the bridge, so the subnet is seen by nobody else and two
# networks of the same subnet on two bridges do not meet.
#
# DIR/env, for `set -a; . DIR/env` (every variable is exported):
#   HOSTS_DIR HOSTS_N HOSTS_TAG HOSTS_USER
#   HOSTS_KEY (the user key, RSA, in DIR/src/, which no host sees)
#   HOSTS_SRC_NS HOSTS_SRC_ADDR HOSTS_SRC_IFACE (the source's interface,
#     inside its namespace: tx_bytes counts what it sent)
#   HOSTS_NS_K HOSTS_ADDR_K HOSTS_HOME_K (hK's home, seen from outside)
#   HOSTS_NS HOSTS_ADDRS HOSTS_HOMES (space-separated lists, h1 first)
#   HOSTS_REMOTE_HOME (the home's path as the hosts see it)
#   HOSTS_KNOWN_HOSTS (every host's key by address, for the source's ~/.ssh)
set -u

SSHD=${SSHD:-/usr/sbin/sshd}
SUBNET=${HOSTS_SUBNET:-10.213.77}

die() {
	echo "net.sh: $*" >&2
	exit 1
}

usage() {
	echo "usage: $0 check | start DIR N | stop DIR | shape DIR WHAT RATE [in|out|both]" >&2
	echo "       $0 down|up|pids DIR HOST | exec DIR HOST CMD..." >&2
	exit 2
}

# What start needs, each a reason when missing.
check() {
	local prog
	[ "$(id -u)" = 0 ] || { echo "not root: network namespaces need root"; return 1; }
	for prog in ip tc unshare nsenter ssh ssh-keygen getent "$SSHD"; do
		command -v "$prog" >/dev/null || { echo "$prog is not installed"; return 1; }
	done
	ip netns list >/dev/null 2>&1 || { echo "ip netns does not work here"; return 1; }
	# The kernel's side, in a throwaway namespace that ends with the probe:
	# new network and mount namespaces, veth, bridge and tbf.
	unshare --net --mount sh -c 'ip link add p0 type veth peer name p1 &&
		ip link add b0 type bridge &&
		tc qdisc add dev p0 root tbf rate 1mbit burst 64kb latency 100ms' \
		>/dev/null 2>&1 ||
		{ echo "this kernel or container cannot make namespaces, veth, bridge or tbf"
		  return 1; }
}

# DIR as an absolute path, without a trailing slash.
set_dir() {
	[ -n "$1" ] || die "DIR is empty"
	case $1 in
	/*) D=$1 ;;
	*) D=$PWD/$1 ;;
	esac
	D=${D%/}
}

# The names of everything made for tag $1. Interface names stay within
# the kernel's 15 characters: "s" + 5 hex + node name (h1..h999, src).
set_names() {
	TAG=$1
	BR=sb$TAG
	NS_PREFIX=scow-$TAG-
}
ns_of() { echo "$NS_PREFIX$1"; }
veth_of() { echo "s$TAG$1"; }
node_index() {
	case $1 in
	src) echo 0 ;;
	h[1-9]|h[1-9][0-9]|h[1-9][0-9][0-9]) echo "${1#h}" ;;
	*) return 1 ;;
	esac
}
addr_of() { echo "$SUBNET.$(($(node_index "$1") + 10))"; }

# Read DIR/tag (written first by start, so that stop can undo a start that
# failed half way).
load() {
	set_dir "$1"
	[ -s "$D/tag" ] || die "$D was not made by net.sh start (no $D/tag)"
	set_names "$(cat "$D/tag")"
	N=$(cat "$D/n" 2>/dev/null || echo 0)
}

# A node name given on the command line: src or h1..hN.
check_node() {
	node_index "$1" >/dev/null || die "no such node '$1': src or h1..h$N"
	[ "$1" = src ] || [ "${1#h}" -le "$N" ] || die "no such node '$1': src or h1..h$N"
}

# tc's rate to bytes a second: decimal units, as tc reads them.
rate_bytes() {
	local n unit
	[[ $1 =~ ^([0-9]+)(bit|kbit|mbit|gbit)$ ]] || return 1
	n=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2]}
	case $unit in
	bit) echo $((n / 8)) ;;
	kbit) echo $((n * 1000 / 8)) ;;
	mbit) echo $((n * 1000000 / 8)) ;;
	gbit) echo $((n * 1000000000 / 8)) ;;
	esac
}

# tbf at $3 on interface $2, run through $1 (a command prefix: "" or
# "ip netns exec NS"). The bucket holds at least 64 KiB: veth hands tbf
# packets of up to 64 KiB at once (GSO), and a bucket smaller than one
# makes tbf cut each up first. At high rates, 10 ms of the rate. The
# queue holds 100 ms, so TCP sees a bottleneck and not a wall.
set_tbf() {
	local prefix=$1 dev=$2 rate=$3 bytes burst
	if [ "$rate" = none ]; then
		$prefix tc qdisc del dev "$dev" root 2>/dev/null
		return 0
	fi
	bytes=$(rate_bytes "$rate") || die "bad rate '$rate': NUMBER then bit, kbit, mbit or gbit"
	[ "$bytes" -gt 0 ] || die "bad rate '$rate'"
	burst=$((bytes / 100))
	[ "$burst" -ge 65536 ] || burst=65536
	$prefix tc qdisc replace dev "$dev" root tbf rate "$rate" burst "$burst" latency 100ms ||
		die "tc refused tbf $rate on $dev"
}

# shape WHAT RATE [DIRECTION], DIR loaded.
shape_node() {
	local what=$1 rate=$2 way=${3:-}
	if node_index "$what" >/dev/null; then
		check_node "$what"
		if [ -z "$way" ]; then
			[ "$what" = src ] && way=out || way=both
		fi
		case $way in
		out|both) set_tbf "ip netns exec $(ns_of "$what")" eth0 "$rate" ;;
		in) ;;
		*) usage ;;
		esac
		case $way in
		in|both) set_tbf "" "$(veth_of "$what")" "$rate" ;;
		esac
	else
		# One of our interfaces in the root namespace: its egress.
		case $what in
		"s$TAG"*|"$BR") ;;
		*) die "'$what' is neither a node nor an interface of this network" ;;
		esac
		[ -z "$way" ] || [ "$way" = out ] ||
			die "an interface is shaped on its way out only"
		ip link show dev "$what" >/dev/null 2>&1 || die "no interface '$what'"
		set_tbf "" "$what" "$rate"
	fi
}

# Every process in namespace $1, ended: TERM, then KILL after 2 s.
kill_ns() {
	local ns=$1 pids i
	pids=$(ip netns pids "$ns" 2>/dev/null)
	[ -n "$pids" ] || return 0
	kill -TERM $pids 2>/dev/null
	for i in $(seq 1 20); do
		[ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	pids=$(ip netns pids "$ns" 2>/dev/null)
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null
	for i in $(seq 1 30); do
		[ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	return 1
}

our_namespaces() {
	ip netns list 2>/dev/null | awk -v p="$NS_PREFIX" 'index($1, p) == 1 { print $1 }'
}
our_links() {
	ip -o link show 2>/dev/null |
		awk -F': ' -v v="s$TAG" -v b="$BR" '{ sub(/@.*/, "", $2) }
			index($2, v) == 1 || $2 == b { print $2 }'
}

stop() {
	local ns link i left=
	for ns in $(our_namespaces); do
		kill_ns "$ns" || left="$left $ns"
	done
	[ -z "$left" ] ||
		die "processes still run in:$left: $(for ns in $left; do ip netns pids "$ns"; done |
			tr '\n' ' ')"
	for ns in $(our_namespaces); do
		ip netns del "$ns" || die "cannot delete namespace $ns"
	done
	# A veth goes with the namespace of its peer, as the namespace is freed.
	for link in $(our_links); do
		ip link del "$link" 2>/dev/null
	done
	for i in $(seq 1 50); do
		[ -z "$(our_links)$(our_namespaces)" ] && return 0
		sleep 0.1
	done
	die "still there after stop: $(our_namespaces | tr '\n' ' ')$(our_links | tr '\n' ' ')"
}

# Fail the start: say why, show the sshd logs, undo what was made.
start_failed() {
	local f
	echo "net.sh: $*" >&2
	for f in "$D"/h*/sshd.log; do
		[ -s "$f" ] || continue
		echo "---- $f" >&2
		tail -n 10 "$f" >&2
	done
	stop
	exit 1
}

# The node $1 gets a namespace, its veth on the bridge and its address.
make_node() {
	local node=$1 ns veth
	ns=$(ns_of "$node") veth=$(veth_of "$node")
	ip netns add "$ns" || start_failed "cannot add namespace $ns"
	# The peer is made inside the namespace, so that every node calls its
	# link eth0 and no name in the root namespace is taken for it.
	ip link add "$veth" type veth peer name eth0 netns "$ns" &&
		ip link set "$veth" master "$BR" up &&
		ip -n "$ns" addr add "$(addr_of "$node")/24" dev eth0 &&
		ip -n "$ns" link set eth0 up &&
		ip -n "$ns" link set lo up || start_failed "cannot set up the link of $node"
}

write_sshd_config() {
	local node=$1 h=$D/$1
	# tests/lib.sh's choices, on the host's own address and port 22.
	cat >"$h/sshd_config" <<-EOF
	ListenAddress $(addr_of "$node")
	Port 22
	HostKey $h/host_key
	PidFile $h/sshd.pid
	AuthorizedKeysFile $h/authorized_keys
	UsePAM no
	StrictModes no
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	PubkeyAuthentication yes
	PermitRootLogin prohibit-password
	AllowUsers $USER_NAME
	AllowAgentForwarding yes
	Subsystem sftp internal-sftp
	LogLevel ERROR
	MaxSessions 100
	MaxStartups 100:30:200
	UseDNS no
	# A session whose client went away with its host (net.sh down) ends
	# within 15 s, as on sites that set it; else it waits for TCP.
	ClientAliveInterval 5
	ClientAliveCountMax 3
	# bash reads ~/.bashrc under sshd only at shell level 1: keep any
	# profile out of the sessions.
	SetEnv SHLVL=1
	EOF
}

# The host's sshd, in the host's network namespace and a mount namespace
# of its own (private: its mounts never reach the root namespace, nor the
# root namespace's later mounts it) where DIR/hK/home covers the user's
# home and an empty tmpfs covers DIR/src, the user key's directory: a host
# reaches another with an agent forwarded from src, never with a key file
# of its own. And a UTS namespace where the host name is hK. sshd
# detaches; its pid file names the daemon, whose namespaces every session
# inherits.
start_sshd() {
	local node=$1 h=$D/$1
	rm -f "$h/sshd.pid"
	ip netns exec "$(ns_of "$node")" \
		unshare --mount --uts --propagation private -- \
		/bin/sh -c 'hostname "$1" && mount --bind "$2" "$3" &&
			mount -t tmpfs -o size=64k,mode=700 scow-hosts "$4" &&
			exec "$5" -f "$6" -E "$7"' \
		sh "$node" "$h/home" "$USER_HOME" "$D/src" "$SSHD" "$h/sshd_config" "$h/sshd.log" ||
		start_failed "sshd of $node did not start"
}

# True when $2:22 accepts a connection from the source's namespace.
answers() {
	ip netns exec "$(ns_of src)" bash -c 'exec 3<>"/dev/tcp/$1/22"' sh "$1" 2>/dev/null
}

# How many mounts this namespace has on directory $1 (mountinfo's fifth
# field; octal escapes as the kernel writes them).
mounts_on() {
	M=$(printf '%s' "$1" | sed 's/ /\\040/g') awk '$5 == ENVIRON["M"] { n++ }
		END { print n + 0 }' /proc/self/mountinfo
}

wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

start() {
	local n=$1 i node tag try why homes_mounted t0=$SECONDS ns_list= addrs= homes=
	[[ $n =~ ^[1-9][0-9]*$ ]] && [ "$n" -le 240 ] || die "N must be 1 to 240, not '$n'"
	why=$(check) || die "$why"
	if [ -e "$D" ] && [ -n "$(ls -A "$D")" ]; then
		die "$D is not empty"
	fi
	mkdir -p "$D" || die "cannot make $D"
	D=$(cd "$D" && pwd -P)
	USER_NAME=$(id -un)
	USER_HOME=$(getent passwd "$USER_NAME" | cut -d: -f6)
	[ -d "$USER_HOME" ] || die "the home of $USER_NAME ('$USER_HOME') is not a directory"
	case $D/ in
	"$USER_HOME"/*) die "$D is inside $USER_HOME, which each host covers" ;;
	esac
	homes_mounted=$(mounts_on "$USER_HOME")

	# A tag no network on this machine has yet.
	for try in 1 2 3 4 5 6 7 8 9 10; do
		tag=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n' | cut -c1-5)
		set_names "$tag"
		[ -z "$(our_links)$(our_namespaces)" ] && break
		tag=
	done
	[ -n "$tag" ] || die "no free tag"
	echo "$TAG" >"$D/tag" && echo "$n" >"$D/n" || die "cannot write in $D"
	N=$n

	ip link add "$BR" type bridge && ip link set "$BR" up ||
		start_failed "cannot add bridge $BR"
	make_node src
	for i in $(seq 1 "$n"); do
		make_node "h$i"
	done
	[ -z "${SRC_RATE:-}" ] || shape_node src "$SRC_RATE" out
	if [ -n "${HOST_RATE:-}" ]; then
		for i in $(seq 1 "$n"); do
			shape_node "h$i" "$HOST_RATE" both
		done
	fi

	# The portal's kind of key: RSA in OpenSSH's format, no passphrase.
	mkdir -m 700 "$D/src" || start_failed "cannot make $D/src"
	ssh-keygen -q -t rsa -b 3072 -N '' -C scow-sync-hosts -f "$D/src/id_rsa" ||
		start_failed "ssh-keygen failed"
	: >"$D/known_hosts"
	for i in $(seq 1 "$n"); do
		node=h$i
		mkdir -p "$D/$node/home/.ssh" && chmod 700 "$D/$node/home" "$D/$node/home/.ssh" ||
			start_failed "cannot make $D/$node/home"
		ssh-keygen -q -t ed25519 -N '' -C "$node" -f "$D/$node/host_key" ||
			start_failed "ssh-keygen failed"
		echo "$(addr_of "$node") $(cut -d' ' -f1-2 "$D/$node/host_key.pub")" \
			>>"$D/known_hosts"
		install -m 600 "$D/src/id_rsa.pub" "$D/$node/authorized_keys" ||
			start_failed "cannot write $D/$node/authorized_keys"
	done
	for i in $(seq 1 "$n"); do
		node=h$i
		install -m 600 "$D/known_hosts" "$D/$node/home/.ssh/known_hosts" ||
			start_failed "cannot write known_hosts of $node"
		write_sshd_config "$node"
		"$SSHD" -t -f "$D/$node/sshd_config" 2>"$D/$node/sshd.log" ||
			start_failed "sshd -t rejected the configuration of $node"
	done
	# As root, sshd insists on its privilege separation directory.
	[ "$(id -u)" != 0 ] || mkdir -p /run/sshd
	for i in $(seq 1 "$n"); do
		start_sshd "h$i"
	done
	for i in $(seq 1 "$n"); do
		node=h$i
		wait_for 10 test -s "$D/$node/sshd.pid" ||
			start_failed "sshd of $node wrote no pid file"
		wait_for 10 answers "$(addr_of "$node")" ||
			start_failed "$node:22 does not answer from src (a firewall on bridges," \
				"net.bridge.bridge-nf-call-iptables?)"
	done
	# The hosts' homes are theirs alone: none of their mounts is seen here.
	[ "$(mounts_on "$USER_HOME")" = "$homes_mounted" ] ||
		start_failed "a host's home is mounted in the root namespace"
	[ "$(mounts_on "$D/src")" = 0 ] ||
		start_failed "a host's tmpfs is mounted in the root namespace"

	{
		echo "# written by tests/hosts/net.sh start"
		printf 'export HOSTS_DIR=%q HOSTS_N=%q HOSTS_TAG=%q\n' "$D" "$n" "$TAG"
		printf 'export HOSTS_USER=%q HOSTS_KEY=%q\n' "$USER_NAME" "$D/src/id_rsa"
		printf 'export HOSTS_REMOTE_HOME=%q HOSTS_KNOWN_HOSTS=%q\n' \
			"$USER_HOME" "$D/known_hosts"
		printf 'export HOSTS_SRC_NS=%q HOSTS_SRC_ADDR=%q HOSTS_SRC_IFACE=eth0\n' \
			"$(ns_of src)" "$(addr_of src)"
		for i in $(seq 1 "$n"); do
			node=h$i
			printf 'export HOSTS_NS_%d=%q HOSTS_ADDR_%d=%q HOSTS_HOME_%d=%q\n' "$i" \
				"$(ns_of "$node")" "$i" "$(addr_of "$node")" "$i" "$D/$node/home"
			ns_list="$ns_list $(ns_of "$node")"
			addrs="$addrs $(addr_of "$node")"
			homes="$homes $D/$node/home"
		done
		printf 'export HOSTS_NS=%q HOSTS_ADDRS=%q HOSTS_HOMES=%q\n' \
			"${ns_list# }" "${addrs# }" "${homes# }"
	} >"$D/env.tmp" && mv "$D/env.tmp" "$D/env" || start_failed "cannot write $D/env"
	echo "net.sh: src and $n hosts on $SUBNET.0/24 (tag $TAG), started in $((SECONDS - t0)) s"
}

# Run a command as on node $1. On a host, in the sshd's own namespaces
# (nsenter on its pid): network, mounts and host name are exactly those a
# session there has, so a check sees what a transfer saw, and no second
# mount namespace is made that could drift from the first. HOME is the
# user's (the host's private one) and the command starts in it. On src,
# in its network namespace only: the source sees the real file system,
# with the HOME the caller set.
do_exec() {
	local node=$1 pid home
	shift
	[ $# -gt 0 ] || usage
	if [ "$node" = src ]; then
		exec ip netns exec "$(ns_of src)" "$@"
	fi
	pid=$(cat "$D/$node/sshd.pid" 2>/dev/null) && [ -n "$pid" ] ||
		die "the sshd of $node is not running (no pid file)"
	home=$(getent passwd "$(id -un)" | cut -d: -f6)
	exec nsenter -t "$pid" -n -m -u --wd="$home" -- env HOME="$home" "$@"
}

[ $# -ge 1 ] || usage
action=$1
shift
case $action in
check)
	check
	;;
start)
	[ $# = 2 ] || usage
	set_dir "$1"
	start "$2"
	;;
stop)
	[ $# = 1 ] || usage
	set_dir "$1"
	# Nothing was made, or it is gone already.
	[ -s "$D/tag" ] || exit 0
	load "$1"
	stop
	;;
shape)
	[ $# = 3 ] || [ $# = 4 ] || usage
	load "$1"
	shape_node "$2" "$3" "${4:-}"
	;;
down|up)
	[ $# = 2 ] || usage
	load "$1"
	check_node "$2"
	ip link set "$(veth_of "$2")" "$action" || die "cannot set $2 $action"
	;;
pids)
	[ $# = 2 ] || usage
	load "$1"
	check_node "$2"
	ip netns pids "$(ns_of "$2")"
	;;
exec)
	[ $# -ge 3 ] || usage
	load "$1"
	check_node "$2"
	node=$2
	shift 2
	do_exec "$node" "$@"
	;;
*)
	usage
	;;
esac
