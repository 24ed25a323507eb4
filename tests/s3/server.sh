#!/bin/bash
# A private S3 server for the tests: Ceph's RADOS Gateway over a one-monitor,
# one-OSD cluster on 127.0.0.1, everything (configuration, data, logs, pid
# files) inside STATE_DIR.
#
#   tests/s3/server.sh start STATE_DIR   start it, make two S3 users, and
#                                        write STATE_DIR/env (see below)
#   tests/s3/server.sh stop STATE_DIR    stop every daemon it started and
#                                        remove STATE_DIR
#
# STATE_DIR/env, for `set -a; . STATE_DIR/env`:
#   S3_TEST_ENDPOINT  S3_TEST_REGION
#   S3_TEST_ACCESS_KEY  S3_TEST_SECRET_KEY     the first user
#   S3_TEST_ACCESS_KEY2  S3_TEST_SECRET_KEY2   a second user, for refusals
#
# The OSD keeps its objects in BlueStore on a sparse file of S3_TEST_CAPACITY
# (default 16G): room for a multipart upload of more than 5 GiB beside the
# other tests, while the disk holds only what is written. Ceph's own cephx is
# off (nothing but this machine talks to the cluster); the gateway's S3
# signatures are checked as on any S3 service.
# S3_SERVER_KEEP=1 leaves a start that failed as it was, to be looked into
# (stop it with stop STATE_DIR).
set -u

die() {
	echo "server.sh: $*" >&2
	exit 1
}

usage() {
	echo "usage: $0 start|stop STATE_DIR" >&2
	exit 2
}

[ $# = 2 ] || usage
action=$1
[ -n "$2" ] || die "STATE_DIR is empty"
case $2 in
/*) S=$2 ;;
*) S=$PWD/$2 ;;
esac
S=${S%/}
conf=$S/ceph.conf

# The processes started for STATE_DIR: each was given -c $conf.
our_pids() {
	pgrep -f -- "-c $conf( |\$)"
}

stop() {
	local pid i
	# The data goes with STATE_DIR, so nothing needs a clean shutdown, and
	# radosgw takes some ten seconds over one: every daemon is killed.
	for pid in $(our_pids); do
		kill -KILL "$pid" 2>/dev/null
	done
	for i in $(seq 1 50); do
		[ -z "$(our_pids)" ] && break
		sleep 0.1
	done
	[ -z "$(our_pids)" ] || die "processes of $S are still running: $(our_pids | tr '\n' ' ')"
	rm -rf "$S"
}

# Fail the start: name the step, show the end of the daemon logs, stop.
start_failed() {
	local f
	echo "server.sh: $*" >&2
	for f in "$S"/log/*.log "$S"/*.out; do
		[ -s "$f" ] || continue
		echo "---- tail of $f" >&2
		tail -n 15 "$f" >&2
	done
	[ "${S3_SERVER_KEEP:-0}" = 1 ] && exit 1
	stop
	exit 1
}

# A TCP port free on 127.0.0.1 now. Another program may take it before the
# daemon binds it; the daemon then fails to start, and the start with it.
free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Poll CMD for up to $1 seconds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# An S3 key of $1 characters from the alphabet $2.
gen_key() {
	python3 -c 'import secrets, sys
print("".join(secrets.choice(sys.argv[2]) for _ in range(int(sys.argv[1]))))' "$@"
}

# Create an S3 user with uid $1 and keys $2 and $3.
make_user() {
	radosgw-admin -c "$conf" user create --uid="$1" --display-name="$1" \
		--access-key="$2" --secret-key="$3" >"$S/user-$1.json" 2>>"$S/admin.out"
}

s3_answers() {
	# Any HTTP status means the gateway serves requests.
	curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$rgw_port/" |
		grep -q '^[1-5][0-9][0-9]$'
}

start() {
	local prog fsid uuid osd_id ak sk ak2 sk2 t0=$SECONDS
	for prog in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool ceph-authtool \
		python3 curl; do
		command -v "$prog" >/dev/null ||
			die "$prog is not installed: run ./install.sh --test-deps"
	done
	if [ -e "$S" ] && [ -n "$(ls -A "$S")" ]; then
		die "$S is not empty"
	fi
	mkdir -p "$S"/run "$S"/log "$S"/mon.a "$S"/osd.0 "$S"/rgw "$S"/crash ||
		die "cannot make $S"
	S=$(cd "$S" && pwd -P) conf=$S/ceph.conf

	mon_port=$(free_port) || die "no free port"
	rgw_port=$(free_port) || die "no free port"
	fsid=$(python3 -c 'import uuid; print(uuid.uuid4())')

	# Only v2 of the messenger (what monmaptool writes), on loopback,
	# without cephx and so in crc mode (secure mode needs cephx's keys);
	# pools of one copy; small placement groups; every path inside $S.
	cat >"$conf" <<-EOF
	[global]
	fsid = $fsid
	mon host = v2:127.0.0.1:$mon_port
	public addr = 127.0.0.1
	ms bind msgr1 = false
ms mon client mode = crc
ms mon service mode = crc
ms mon cluster mode = crc
ms client mode = crc
ms service mode = crc
ms cluster mode = crc
	auth cluster required = none
	auth service required = none
	auth client required = none
	keyring = $S/keyring
	run dir = $S/run
	crash dir = $S/crash
	log file = $S/log/\$name.log
	admin socket = $S/run/\$name.\$pid.asok
	pid file = $S/run/\$name.pid
	osd pool default size = 1
	osd pool default min size = 1
	mon allow pool size one = true
	mon warn on pool no redundancy = false
	osd pool default pg num = 8
	osd pool default pgp num = 8
	osd pool default pg autoscale mode = off
	osd crush chooseleaf type = 0
	mon max pg per osd = 1000
	mon data avail crit = 1
	mon data avail warn = 2
	# The gateway's first start makes its pools one map change after
	# another; the monitor's default of one change a second is most of
	# the start.
	paxos propose interval = 0.05

	[mon]
	mon data = $S/\$name
	mon allow pool delete = true

	[osd]
	osd data = $S/\$name
	osd objectstore = bluestore
	bluestore block create = true
	bluestore block size = ${S3_TEST_CAPACITY:-16G}
	bluestore fsck on mount = false
	bluestore fsck on mkfs = false
	osd memory target = 1073741824

	[client.rgw.a]
	rgw data = $S/rgw
	rgw frontends = beast endpoint=127.0.0.1:$rgw_port
	rgw dns name = 127.0.0.1
	rgw enable usage log = false
	EOF

	# The monitor: a map with one member, its store, then the daemon.
	ceph-authtool --create-keyring "$S/keyring" --gen-key -n mon. --cap mon 'allow *' \
		>"$S/mkfs.out" 2>&1 || start_failed "ceph-authtool failed"
	monmaptool --create --fsid "$fsid" --add a "127.0.0.1:$mon_port" "$S/monmap" \
		>>"$S/mkfs.out" 2>&1 || start_failed "monmaptool failed"
	ceph-mon -c "$conf" -i a --mkfs --monmap "$S/monmap" --keyring "$S/keyring" \
		>>"$S/mkfs.out" 2>&1 || start_failed "ceph-mon --mkfs failed"
	ceph-mon -c "$conf" -i a >>"$S/daemons.out" 2>&1 ||
		start_failed "ceph-mon did not start"

	# The OSD: registered with the monitor (which places it in the CRUSH
	# map as it boots), its BlueStore made, then the daemon.
	uuid=$(python3 -c 'import uuid; print(uuid.uuid4())')
	osd_id=$(timeout 30 ceph -c "$conf" osd new "$uuid" 2>>"$S/mkfs.out") ||
		start_failed "the monitor does not answer (ceph osd new)"
	[ "$osd_id" = 0 ] || start_failed "the new OSD is $osd_id, not 0"
	ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$uuid" >>"$S/mkfs.out" 2>&1 ||
		start_failed "ceph-osd --mkfs failed"
	ceph-osd -c "$conf" -i 0 >>"$S/daemons.out" 2>&1 ||
		start_failed "ceph-osd did not start"

	# The gateway makes its pools as it starts, which needs the OSD up.
	radosgw -c "$conf" -n client.rgw.a >>"$S/daemons.out" 2>&1 ||
		start_failed "radosgw did not start"
	wait_for 120 s3_answers || start_failed "radosgw does not answer on port $rgw_port"

	ak=$(gen_key 20 ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789) &&
	sk=$(gen_key 40 ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789) &&
	ak2=$(gen_key 20 ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789) &&
	sk2=$(gen_key 40 ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789) ||
		start_failed "cannot generate keys"
	make_user tester "$ak" "$sk" || start_failed "radosgw-admin user create failed"
	make_user other "$ak2" "$sk2" || start_failed "radosgw-admin user create failed"

	cat >"$S/env" <<-EOF
	S3_TEST_ENDPOINT=http://127.0.0.1:$rgw_port
	S3_TEST_REGION=us-east-1
	S3_TEST_ACCESS_KEY=$ak
	S3_TEST_SECRET_KEY=$sk
	S3_TEST_ACCESS_KEY2=$ak2
	S3_TEST_SECRET_KEY2=$sk2
	EOF
	echo "server.sh: S3 on http://127.0.0.1:$rgw_port, started in $((SECONDS - t0)) s"
}

case $action in
start) start ;;
stop)
	[ -d "$S" ] || die "$S is not a directory"
	stop
	;;
*) usage ;;
esac
