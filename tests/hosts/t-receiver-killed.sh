#!/bin/bash
# kill -9 of the receiver (rsync --server on host h3) while a file is in
# flight: with the relay (h3 fed by h1), without it, and to h3 alone. The
# file may have been read whole on the sending side long before (it waits
# in the link's buffers), and its temporary file there must still be
# removed; the copy completes and nothing is left running. (A temporary
# last written in the transfer's first 2 s is left, as the user's might
# be: the kill comes later.)
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/hosts/lib.sh"
key=(-u "$HOSTS_USER" -k "$HOSTS_KEY")

src=$T/src/data
mkdir -p "$src/a"
for i in 1 2 3 4 5 6 7 8; do head -c 3000000 /dev/urandom >"$src/a/f$i"; done

receivers() {
	local p a
	for p in $(host_pids 3); do
		a=$(tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null)
		case $a in "rsync --server"*) echo "$p" ;; esac
	done
}
ended() {
	on_src scow-sync query --json --id "$1" | python3 -c '
import json, sys
sys.exit(0 if json.load(sys.stdin)["transfers"][0]["state"] != "running" else 1)'
}

n=0
for mode in "relay:1 2 3" "no-relay:1 2 3" "alone:3"; do
	n=$((n + 1))
	name=${mode%%:*}
	hosts=${mode#*:}
	flag=
	[ "$name" = no-relay ] && flag=--no-relay
	dst=rk$n
	net shape h3 16mbit
	t0=$SECONDS
	on_src scow-sync start $flag -m 0 -a "$(addrs $hosts)" "${key[@]}" -s "$src" -d "$dst" \
		>"$T/s$n" 2>&1 || fail "$name: start: $(cat "$T/s$n")"
	id=$(cat "$T/s$n")
	in_flight() { ls -A "$HOSTS_HOME_3/$dst/data/a" 2>/dev/null | grep -q '^\.f'; }
	wait_for 60 in_flight || fail "$name: no temporary file seen on h3"
	while [ $((SECONDS - t0)) -lt 5 ]; do sleep 0.2; done
	in_flight || fail "$name: no temporary file on h3 5 s in"
	pids=$(receivers)
	[ -n "$pids" ] || fail "$name: no receiver on h3"
	kill -9 $pids
	wait_for 200 ended "$id" || fail "$name: did not end"
	net shape h3 none
	for k in $hosts; do
		home=HOSTS_HOME_$k
		tree_equal "$src" "${!home}/$dst/data" || fail "$name: h$k differs"
		left=$(cd "${!home}/$dst" && find . -name '.scow-sync-partial' -o -name '.*.??????')
		[ -z "$left" ] || fail "$name: debris on h$k: $left"
	done
	no_processes_left || fail "$name: processes left"
done
finish
