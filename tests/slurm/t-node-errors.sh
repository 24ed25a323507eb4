#!/bin/bash
# What goes wrong with Slurm, said clearly:
#   1. a partition Slurm does not have: a one-line error, exit 2, nothing
#      recorded, no job asked for;
#   2. --nodes where srun is not installed: a one-line error, exit 2;
#   3. bad values of --nodes, --slurm-wait, --time: a one-line error each;
#   4. Slurm unreachable (its controller is not where slurm.conf says):
#      after --slurm-wait this node sends alone, the log says why, and the
#      transfer ends done, the tree identical;
#   5. more nodes than the cluster has: Slurm queues the request, and after
#      --slurm-wait the same.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/slurm/lib.sh"

src=$T/src/tree
mkdir -p "$src/d"
for i in $(seq 1 20); do
	echo "file $i" >"$src/d/f$i"
done
log=$HOME/scow/.scow-sync/scow-sync.log

# 1.
xfer run -s "$src" -d "$DEST" --nodes 2 --partition nope >"$T/1.out" 2>&1
rc=$?
[ "$rc" = 2 ] || fail "1: a partition that does not exist exited $rc"
[ "$(wc -l <"$T/1.out")" = 1 ] && grep -q "no Slurm partition 'nope'" "$T/1.out" ||
	fail "1: not one clear line: $(cat "$T/1.out")"
[ -z "$(store_sql 'SELECT id FROM transfers' 2>/dev/null)" ] || fail "1: a transfer was recorded"
[ -z "$(slurm_jobs)" ] || fail "1: a job was asked for: $(slurm_jobs)"

# 2. A PATH with scow-sync and nothing else.
mkdir "$T/nosrun"
ln -s "$(command -v scow-sync)" "$T/nosrun/scow-sync"
on_src env PATH="$T/nosrun" scow-sync run -a "$DEST_ADDR" -u "$HOSTS_USER" -k "$HOSTS_KEY" \
	-s "$src" -d "$DEST" --nodes 2 >"$T/2.out" 2>&1
rc=$?
[ "$rc" = 2 ] || fail "2: --nodes without srun exited $rc"
[ "$(wc -l <"$T/2.out")" = 1 ] && grep -q "srun is not installed" "$T/2.out" ||
	fail "2: not one clear line: $(cat "$T/2.out")"

# 3.
for bad in "--nodes x" "--nodes 513" "--slurm-wait 0" "--time 1h" "--time :::" "--partition -x" \
	"--nodes 2 --delete --dry-run"; do
	# shellcheck disable=SC2086
	xfer run -s "$src" -d "$DEST" $bad >"$T/3.out" 2>&1
	rc=$?
	[ "$rc" = 2 ] && [ "$(wc -l <"$T/3.out")" = 1 ] ||
		fail "3: '$bad' exited $rc: $(cat "$T/3.out")"
done

# 4. The controller moved to an address nobody has.
sed 's/^SlurmctldHost=.*/SlurmctldHost=src(10.213.77.250)/' "$SLURM_CONF" >"$T/away.conf"
SLURM_CONF=$T/away.conf xfer run -s "$src" -d "$DEST/4" --nodes 2 --slurm-wait 3 \
	>"$T/4.out" 2>&1 || fail "4: exited $?: $(cat "$T/4.out")"
tree_equal "$src" "$DEST/4/tree" || fail "4: the tree differs"
grep -q "this node sends alone" "$log" || fail "4: the log does not say this node sent alone"
grep "this node sends alone" "$log" | grep -q "3 s" || fail "4: the log does not say why"

# 5. Four nodes of three.
: >"$log"
xfer run -s "$src" -d "$DEST/5" --nodes 4 --slurm-wait 3 >"$T/5.out" 2>&1 ||
	fail "5: exited $?: $(cat "$T/5.out")"
tree_equal "$src" "$DEST/5/tree" || fail "5: the tree differs"
grep -q "this node sends alone" "$log" || fail "5: the log does not say this node sent alone"
wait_for 10 eval '[ -z "$(slurm_jobs)" ]' || fail "Slurm still has jobs: $(slurm_jobs)"
no_processes_left || fail "processes of the transfers are left"
finish
