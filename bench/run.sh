#!/bin/bash
# bench/run.sh: scow-sync against plain rsync and fpsync on emulated links.
#
#   bench/run.sh [-p "direct wan far"] [-w "big ten small mixed text"] [-r REPS]
#                [-t "scow-sync scow-sync-cold scow-sync-portal rsync fpsync"] [-s SCALE]
#                [-b SECONDS]
#
# Needs a built tree (SCOW_SYNC_BUILDDIR, default ./), rsync, ssh, sshd,
# fpsync (Debian package fpart), openssl and python3. Starts a private sshd
# (tests/lib.sh) and, for each profile but direct, bench/linkem in front of
# it. For each workload and repetition the tools run interleaved, each into
# an empty destination and then again as a no-op re-sync; every copy is
# verified byte for byte. Prints one line per run and a table of medians,
# with ratios against plain rsync. SCALE divides every workload's size (for
# a quick trial: -s 16). -b makes every session on the far side start
# SECONDS late, as a .bashrc that sets up conda or modules does (sshd's
# ForceCommand sleeps), and prints how scow-sync judged the link each run.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
export SCOW_SYNC_SRCDIR=$here SCOW_SYNC_BUILDDIR=${SCOW_SYNC_BUILDDIR:-$here}
. "$here/tests/lib.sh"
# The tests turn kept connections off; the bench measures scow-sync as it
# ships (each run can take the connection of the run before it, within
# keep_connection), and as scow-sync-cold, every run paying its handshake.
# scow-sync-portal is the portal's path: scow-sync-start (by the name make
# install links), then scow-sync-query every second until the transfer
# has ended, the time the portal's user waits.
unset SCOW_SYNC_KEEP_CONNECTION

profiles="direct wan far"
workloads="big ten small mixed"
tools="scow-sync scow-sync-portal rsync fpsync"
reps=3
scale=1
slow_shell=0
while getopts p:w:r:t:s:b: opt; do
	case $opt in
	p) profiles=$OPTARG ;;
	w) workloads=$OPTARG ;;
	r) reps=$OPTARG ;;
	t) tools=$OPTARG ;;
	s) scale=$OPTARG ;;
	b) slow_shell=$OPTARG ;;
	*) exit 2 ;;
	esac
done
for prog in openssl $(case " $tools " in *" fpsync "*) echo fpsync ;; esac); do
	command -v $prog >/dev/null || { echo "bench: $prog is missing (apt-get install fpart openssl)"; exit 2; }
done
if [ "$slow_shell" != 0 ]; then
	slow_sessions "$slow_shell" || { echo "bench: -b needs an sftp-server program"; exit 2; }
	touch "$T/slow"
fi
cc -O2 -Wall -Wextra -o "$T/linkem" "$here/bench/linkem.c" || exit 2

. "$here/bench/workloads.sh"

port_of() {   # the port the tools connect to for a profile
	case $1 in
	direct) echo "$SSHD_PORT" ;;
	*) cat "$T/linkem.$1.port" ;;
	esac
}
start_link() {
	case $1 in
	direct) return ;;
	wan) "$T/linkem" --to "$SSHD_PORT" --port-file "$T/linkem.wan.port" \
		--delay-ms 25 --rate-mbit 100 & ;;
	far) "$T/linkem" --to "$SSHD_PORT" --port-file "$T/linkem.far.port" \
		--delay-ms 40 --rate-mbit 400 & ;;
	*) echo "bench: unknown profile $1"; exit 2 ;;
	esac
	LINK_PID=$!
	wait_for 5 test -s "$T/linkem.$1.port" || { echo "bench: linkem did not start"; exit 2; }
}

# As the portal waits for a transfer it started: scow-sync-query every
# second, until the transfer has ended (its end is in the log).
portal_wait() {
	while sleep 1; do
		scow-sync-query >/dev/null || return 1
		transfer_finished && return 0
	done
}

# run_tool TOOL PORT SRC DSTDIR: copy SRC to DSTDIR/basename(SRC) on the sshd.
run_tool() {
	local ssh="ssh -p $2 -i $SSH_KEY -o BatchMode=yes -o StrictHostKeyChecking=accept-new"
	ssh="$ssh -o UserKnownHostsFile=$HOME/.ssh/known_hosts -o IdentitiesOnly=yes -F none"
	case $1 in
	scow-sync)
		scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$3" -d "$4" -p "$2" -k "$SSH_KEY" ;;
	scow-sync-cold)
		SCOW_SYNC_KEEP_CONNECTION=0 scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$3" \
			-d "$4" -p "$2" -k "$SSH_KEY" ;;
	scow-sync-portal)
		scow-sync-start -a "$SSH_HOST" -u "$SSH_USER" -s "$3" -d "$4" -p "$2" \
			-k "$SSH_KEY" && portal_wait ;;
	rsync)
		rsync -a -e "$ssh" "$3" "$SSH_HOST:$4/" ;;
	fpsync)
		$ssh "$SSH_HOST" mkdir -p "$4/${3##*/}" &&
		RSYNC_RSH=$ssh fpsync -n 4 -t "$T/fpsync" "$3/" \
			"$SSH_HOST:$4/${3##*/}/" ;;
	esac
}

# The workloads are kept between runs (they take minutes to generate):
# BENCH_DATA, default /var/tmp/scow-sync-bench, one directory per scale.
data=${BENCH_DATA:-/var/tmp/scow-sync-bench}/scale-$scale
mkdir -p "$HOME/.ssh" "$T/fpsync" "$data"
results=$T/results
: > "$results"
for w in $workloads; do
	[ -f "$data/$w.ready" ] && continue
	echo "bench: generating $w (scale 1/$scale) in $data"
	rm -rf "${data:?}/$w"
	make_workload "$w" "$data" && touch "$data/$w.ready"
done
for p in $profiles; do
	start_link "$p"
	port=$(port_of "$p")
	for w in $workloads; do
		for r in $(seq 1 "$reps"); do
			# Each tool goes first in turn: the first copy of a
			# workload pays for what the one before left the disk
			# to do, sync or not.
			order=$tools
			for k in $(seq 2 "$r"); do
				case $order in *" "*) order="${order#* } ${order%% *}" ;; esac
			done
			for tool in $order; do
				dst=$T/dst/$tool
				rm -rf "$dst"; mkdir -p "$dst"
				for pass in copy noop; do
					# What the run before left to write back is not this one's.
					sync
					t0=$(date +%s.%N)
					run_tool "$tool" "$port" "$data/$w" "$dst" >/dev/null 2>"$T/err" ||
						{ echo "bench: $tool failed on $w/$p: $(tail -1 "$T/err")"; continue; }
					t1=$(date +%s.%N)
					secs=$(python3 -c "print('%.3f' % ($t1 - $t0))")
					ok=ok
					tree_equal "$data/$w" "$dst/$w" >/dev/null || ok=DIFFERS
					echo "$p $w $pass $tool $r $secs $ok" | tee -a "$results"
					case $tool in scow-sync*)
						grep "info: the far side answered in" \
							"$HOME/scow/.scow-sync/scow-sync.log" |
							tail -1 | sed 's/^[^ ]* \[[0-9]*\] info: /  /' ;;
					esac
				done
			done
		done
	done
	[ -n "${LINK_PID:-}" ] && kill "$LINK_PID" && wait "$LINK_PID" 2>/dev/null
	LINK_PID=
done

python3 - "$results" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
bad = set()
for line in open(sys.argv[1]):
    p, w, pas, tool, r, secs, ok = line.split()
    runs[(p, w, pas, tool)].append(float(secs))
    if ok != "ok":
        bad.add((p, w, pas, tool))
print("\n| profile | workload | pass | tool | median s | vs rsync |")
print("| --- | --- | --- | --- | --- | --- |")
for (p, w, pas, tool), v in sorted(runs.items()):
    m = statistics.median(v)
    base = runs.get((p, w, pas, "rsync"))
    ratio = "%.2fx" % (statistics.median(base) / m) if base else "-"
    flag = " (DIFFERS)" if (p, w, pas, tool) in bad else ""
    print("| %s | %s | %s | %s | %.2f%s | %s |" % (p, w, pas, tool, m, flag, ratio))
PY
finish
