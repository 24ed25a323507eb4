#!/bin/bash
# A Slurm cluster on this one machine, for the tests of a transfer spread
# over several nodes: the hosts network of tests/hosts/net.sh (a source
# "src" and hosts h1..hN+1, each in its own network namespace), where
#   - src is the login node: munged and slurmctld run there (a UTS
#     namespace of its own named src), and so does scow-sync;
#   - h1 is the destination, with its sshd (net.sh's);
#   - h2..hN+1 are the nodes n1..nN of partition "xfer": each runs a
#     slurmd in its own network and UTS namespaces (host name hK), on the
#     real file system, as compute nodes share homes and project space.
# Slurm comes from Debian's packages (slurmctld, slurmd, slurm-client,
# munge), with its own key, socket, state and logs under DIR/slurm. Needs
# root.
#
#   cluster.sh check               can it run here? the reason on stdout if not
#   cluster.sh start DIR N         N nodes; writes DIR/env (net.sh's, and the below)
#   cluster.sh stop DIR            everything ended and removed (again: no-op)
#   cluster.sh kill-slurmd DIR K   end node K's slurmd (its jobs' processes stay)
#   cluster.sh start-slurmd DIR K  start it again (the node returns to service)
#
# Environment at start: NODE_RATE, each node's link both ways (tc tbf,
# default unshaped); DEST_RATE, the destination's.
#
# DIR/env adds to net.sh's:
#   SLURM_CONF        the cluster's slurm.conf (srun, sinfo, squeue read it)
#   SLURM_DIR         DIR/slurm: logs, state, pid files
#   SLURM_NODES       the nodes' host names, space-separated (h2 h3 ...)
#   SLURM_PARTITION   xfer
#   DEST_ADDR         the destination's address (h1)
set -u

here=$(cd "$(dirname "$0")" && pwd)
NET=$here/../hosts/net.sh

die() {
	echo "cluster.sh: $*" >&2
	exit 1
}

check() {
	local prog why
	why=$(bash "$NET" check) || { echo "$why"; return 1; }
	for prog in munged slurmctld slurmd srun sinfo squeue scancel; do
		command -v "$prog" >/dev/null ||
			{ echo "$prog is not installed (Debian: munge, slurmctld, slurmd, slurm-client)"
			  return 1; }
	done
}

set_dir() {
	case $1 in
	/*) D=${1%/} ;;
	*) D=$PWD/${1%/} ;;
	esac
	S=$D/slurm
}

# Run a command in node $1's network namespace (not ip netns exec, which
# mounts a /sys of its own without the cgroups slurmd looks for).
in_ns() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

write_conf() {
	local k
	cat >"$S/slurm.conf" <<-EOF
	# written by tests/slurm/cluster.sh
	ClusterName=scowtest
	SlurmctldHost=src($HOSTS_SRC_ADDR)
	SlurmUser=root
	SlurmdUser=root
	AuthType=auth/munge
	CredType=cred/munge
	AuthInfo=socket=$S/munge.sock
	StateSaveLocation=$S/ctld
	SlurmdSpoolDir=$S/d-%n
	SlurmctldPidFile=$S/ctld.pid
	SlurmdPidFile=$S/d-%n.pid
	SlurmctldLogFile=$S/ctld.log
	SlurmdLogFile=$S/d-%n.log
	ProctrackType=proctrack/linuxproc
	TaskPlugin=task/none
	MpiDefault=none
	JobAcctGatherType=jobacct_gather/none
	AccountingStorageType=accounting_storage/none
	SchedulerType=sched/backfill
	SelectType=select/cons_tres
	SelectTypeParameters=CR_CPU
	ReturnToService=2
	SlurmdTimeout=10
	MessageTimeout=5
	KillWait=5
	MailProg=/bin/true
	EOF
	for k in $NODES; do
		echo "NodeName=$k NodeAddr=$(addr "$k") CPUs=2 State=UNKNOWN" >>"$S/slurm.conf"
	done
	echo "PartitionName=xfer Nodes=$(echo $NODES | tr ' ' ',') Default=YES" \
		"MaxTime=INFINITE State=UP" >>"$S/slurm.conf"
}

# The address of host $1 (hK), from net.sh's env.
addr() { eval echo "\$HOSTS_ADDR_${1#h}"; }
ns() { eval echo "\$HOSTS_NS_${1#h}"; }

start_slurmd() {
	local k=$1
	mkdir -p "$S/d-$k"
	in_ns "$(ns "$k")" unshare --uts -- sh -c 'hostname "$1" && exec slurmd' sh "$k" ||
		return 1
}

all_idle() {
	local n
	n=$(in_ns "$HOSTS_SRC_NS" sinfo --noheader --states=idle --format=%D 2>/dev/null)
	[ "${n:-0}" = "$N" ]
}

start_failed() {
	local f
	echo "cluster.sh: $*" >&2
	for f in "$S"/*.log; do
		[ -s "$f" ] || continue
		echo "---- $f" >&2
		tail -n 8 "$f" >&2
	done
	stop
	exit 1
}

start() {
	local n=$1 k i
	[[ $n =~ ^[1-9][0-9]?$ ]] || die "N must be 1 to 99"
	why=$(check) || die "$why"
	bash "$NET" start "$D" $((n + 1)) >"$D.start.log" 2>&1 ||
		{ cat "$D.start.log" >&2; rm -f "$D.start.log"; die "net.sh start failed"; }
	mv "$D.start.log" "$D/net.start.log"
	set -a
	. "$D/env"
	set +a
	N=$n
	NODES=
	for i in $(seq 2 $((n + 1))); do
		NODES="$NODES h$i"
	done
	NODES=${NODES# }
	mkdir -m 755 "$S" "$S/ctld" || start_failed "cannot make $S"
	[ -z "${NODE_RATE:-}" ] || for k in $NODES; do
		bash "$NET" shape "$D" "$k" "$NODE_RATE" both || start_failed "cannot shape $k"
	done
	[ -z "${DEST_RATE:-}" ] || bash "$NET" shape "$D" h1 "$DEST_RATE" both ||
		start_failed "cannot shape h1"
	write_conf
	export SLURM_CONF=$S/slurm.conf
	dd if=/dev/urandom of="$S/munge.key" bs=1024 count=1 2>/dev/null &&
		chmod 400 "$S/munge.key" || start_failed "cannot make the munge key"
	in_ns "$HOSTS_SRC_NS" munged --force --key-file="$S/munge.key" --socket="$S/munge.sock" \
		--pid-file="$S/munged.pid" --log-file="$S/munged.log" \
		--seed-file="$S/munged.seed" || start_failed "munged did not start"
	in_ns "$HOSTS_SRC_NS" unshare --uts -- sh -c 'hostname src && exec slurmctld -i' ||
		start_failed "slurmctld did not start"
	for k in $NODES; do
		start_slurmd "$k" || start_failed "slurmd of $k did not start"
	done
	wait_for 30 all_idle || start_failed "the nodes did not come up idle: $(in_ns \
		"$HOSTS_SRC_NS" sinfo 2>&1 | tr '\n' ' ')"
	{
		cat "$D/env"
		echo "# written by tests/slurm/cluster.sh start"
		printf 'export SLURM_CONF=%q SLURM_DIR=%q\n' "$S/slurm.conf" "$S"
		printf 'export SLURM_NODES=%q SLURM_PARTITION=xfer DEST_ADDR=%q\n' "$NODES" \
			"$(addr h1)"
	} >"$D/env.tmp" && mv "$D/env.tmp" "$D/env" || start_failed "cannot write $D/env"
	echo "cluster.sh: slurmctld on src, $n nodes ($NODES) idle, destination h1"
}

stop() {
	[ -s "$D/tag" ] || return 0
	# Every daemon runs in one of the network's namespaces: net.sh ends them all.
	bash "$NET" stop "$D"
}

[ $# -ge 1 ] || die "usage: cluster.sh check | start DIR N | stop DIR | kill-slurmd DIR K"
action=$1
shift
case $action in
check)
	check
	;;
start)
	[ $# = 2 ] || die "usage: cluster.sh start DIR N"
	set_dir "$1"
	start "$2"
	;;
stop)
	[ $# = 1 ] || die "usage: cluster.sh stop DIR"
	set_dir "$1"
	stop
	;;
kill-slurmd)
	[ $# = 2 ] || die "usage: cluster.sh kill-slurmd DIR K"
	set_dir "$1"
	pid=$(cat "$S/d-$2.pid" 2>/dev/null) && [ -n "$pid" ] || die "no slurmd pid for $2"
	kill -KILL "$pid"
	;;
start-slurmd)
	[ $# = 2 ] || die "usage: cluster.sh start-slurmd DIR K"
	set_dir "$1"
	set -a
	. "$D/env"
	set +a
	start_slurmd "$2" || die "slurmd of $2 did not start"
	;;
*)
	die "unknown action '$action'"
	;;
esac
