#!/bin/bash
# bench/sync.sh: the targets of keeping a directory in sync, measured on the
# wan link (linkem: 25 ms each way, 100 Mbit/s) against plain rsync.
#
#   bench/sync.sh [-n FILES] [-d DELETES] [-b BIGFILES] [-c CHANGES] [-s BYTES] [-p "1 2 3"]
#
# 1. A watch's full comparison that finds nothing changed, on FILES small
#    files (default 20,000 in 20 x 20 directories): last_cycle.seconds,
#    against plain rsync's no-op re-sync of the same tree.
# 2. DELETES deletions (default 10,000): run --delete against
#    rsync -a --delete, both from the same far state.
# 3. One changed file in a watched tree of BIGFILES files (default
#    200,000): from the write to its arrival on the far side, against a
#    plain rsync re-sync of the tree (what rsync needs to notice it); the
#    watch's resident memory and its CPU over 30 s with nothing changing.
#    CHANGES (default 5) changes, each to another file and each waited
#    for; their median, and each one's cycle (last_cycle.seconds).
# -s: each file's size (default 4096, a multiple of 8): smaller files let
# a tree of 1,000,000 be made and first sent within minutes.
# -p runs only the parts named.
# Run by hand, as installed (PATH) or from the build tree (tests/bin).
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

files=20000 deletes=10000 bigfiles=200000 changes=5 parts="1 2 3" size=4096
while getopts n:d:b:c:s:p: o; do
	case $o in
	n) files=$OPTARG ;;
	d) deletes=$OPTARG ;;
	b) bigfiles=$OPTARG ;;
	c) changes=$OPTARG ;;
	s) size=$OPTARG ;;
	p) parts=$OPTARG ;;
	*) exit 2 ;;
	esac
done
start_linkem 100 25
port=$LINKEM_PORT
ssh="ssh -p $port -i $SSH_KEY -o BatchMode=yes -o StrictHostKeyChecking=accept-new"
ssh="$ssh -o UserKnownHostsFile=$HOME/.ssh/known_hosts -o IdentitiesOnly=yes -F none"
log=$HOME/scow/.scow-sync/scow-sync.log

now() { date +%s.%N; }
since() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(now)"; }
tree() {   # tree DIR N [PREFIX]: N files of $size bytes in 20 x 20 directories
	python3 - "$1" "$2" "${3:-f}" "$size" <<'PY'
import os, sys
root, n, prefix, words = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]) // 8
for i in range(n):
    d = os.path.join(root, "d%02d" % (i % 20), "e%02d" % (i // 20 % 20))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "%s%07d" % (prefix, i)), "wb") as f:
        f.write(i.to_bytes(8, "little") * words)
PY
}
field() {   # field ID KEY.SUB
	scow-sync query --json --id "$1" | python3 -c '
import json, sys
v = json.load(sys.stdin)["transfers"][0]
for k in sys.argv[1].split("."):
    v = v[k] if v is not None else None
print(v)' "$2"
}

part() { case " $parts " in *" $1 "*) return 0 ;; esac; return 1; }

if part 1; then
echo "== 1. a full comparison that finds nothing: $files files over wan"
tree "$T/small/top" "$files"
rsync -a -e "$ssh" "$T/small/top" "$SSH_HOST:$T/far-rsync/"
t0=$(now); rsync -a -e "$ssh" "$T/small/top" "$SSH_HOST:$T/far-rsync/"; rsync_noop=$(since "$t0")
id=$(scow-sync watch -a "$SSH_HOST" -u "$SSH_USER" -s "$T/small/top" -d "$T/far-watch" -p "$port" \
	-k "$SSH_KEY" --interval 10 --detach) || exit 1
wait_for 120 grep -q "\[$id\] info: cycle 2 (the whole tree) done" "$log" || { echo "no second cycle"; exit 1; }
echo "watch full comparison (last_cycle.seconds): $(field "$id" last_cycle.seconds) s; plain rsync no-op re-sync: $rsync_noop s"
scow-sync terminate --id "$id" >/dev/null 2>&1
fi

if part 2; then
echo "== 2. $deletes deletions over wan"
tree "$T/del/top" 100
for tool in scow-sync rsync; do
	$ssh "$SSH_HOST" "rm -rf $T/far-del-$tool"
	rsync -a -e "$ssh" "$T/del/top" "$SSH_HOST:$T/far-del-$tool/"
	tree "$T/extra-$tool/top" "$deletes" x
	rsync -a -e "$ssh" "$T/extra-$tool/top" "$SSH_HOST:$T/far-del-$tool/"
	# Only what the source has, and the extra files over there.
	$ssh "$SSH_HOST" "find $T/far-del-$tool -type f | wc -l" | sed "s/^/  $tool far files before: /"
done
t0=$(now)
scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$T/del/top" -d "$T/far-del-scow-sync" -p "$port" \
	-k "$SSH_KEY" --delete || echo "scow-sync --delete failed"
sc=$(since "$t0")
t0=$(now)
rsync -a --delete -e "$ssh" "$T/del/top" "$SSH_HOST:$T/far-del-rsync/"
rs=$(since "$t0")
for tool in scow-sync rsync; do
	tree_equal "$T/del/top" "$T/far-del-$tool/top" >/dev/null || echo "  $tool: not a mirror"
done
echo "scow-sync run --delete: $sc s; rsync -a --delete: $rs s"
fi
part 3 || finish

echo "== 3. one change in a watched tree of $bigfiles files"
tree "$T/big/top" "$bigfiles"
id=$(scow-sync watch -a "$SSH_HOST" -u "$SSH_USER" -s "$T/big/top" -d "$T/far-big" -p "$port" \
	-k "$SSH_KEY" --detach) || exit 1
wait_for 900 grep -q "\[$id\] info: cycle 1 (the whole tree) done" "$log" || { echo "no first cycle"; exit 1; }
pid=$(store_sql "SELECT sup_pid FROM transfers WHERE id = $id")
echo "watch resident memory: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
cpu0=$(awk '{print $14 + $15}' /proc/$pid/stat)
sleep 30
cpu1=$(awk '{print $14 + $15}' /proc/$pid/stat)
echo "watch CPU over 30 s with nothing changing: $(( (cpu1 - cpu0) * 100 / $(getconf CLK_TCK) / 30 ))% of a core ($((cpu1 - cpu0)) ticks)"
took=
for k in $(seq 1 "$changes"); do
	# Each time another file, in another directory.
	rel=$(printf 'd%02d/e%02d/f%07d' $((k * 7 % 20)) $((k * 7 % 20)) $((k * 7 % 20 + k * 7 % 20 * 20 + 400 * k)))
	f=$T/big/top/$rel
	[ -f "$f" ] || { echo "no file $rel in the tree"; break; }
	cycles=$(grep -c "\[$id\] .*: cycle [0-9]* (.*) \(done\|failed\)" "$log")
	t0=$(now)
	echo "changed $k" >>"$f"
	wait_for 300 sh -c "cmp -s '$f' '$T/far-big/top/$rel'" || echo "the change did not arrive in 300 s"
	t=$(since "$t0")
	took="$took $t"
	wait_for 300 sh -c "[ \$(grep -c '\[$id\] .*: cycle [0-9]* (.*) \(done\|failed\)' '$log') -gt $cycles ]"
	echo "change $k ($rel) reached the far side after $t s; its cycle: $(printf %.2f "$(field "$id" last_cycle.seconds)") s"
	sleep 3
done
echo "one change reached the far side after $(printf '%s\n' $took | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}') s, the median of$took (a cycle starts 2 s after the last event)"
rsync -a -e "$ssh" "$T/big/top" "$SSH_HOST:$T/far-big-rsync/"
f=$T/big/top/d07/e07/f0000147
echo changed-again >>"$f"
t0=$(now)
rsync -a -e "$ssh" "$T/big/top" "$SSH_HOST:$T/far-big-rsync/"
echo "plain rsync re-sync of the tree to notice it: $(since "$t0") s"
scow-sync terminate --id "$id" >/dev/null 2>&1
finish
