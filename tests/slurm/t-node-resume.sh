#!/bin/bash
# The supervisor of a transfer spread over the nodes is killed with -9
# mid-flight: its srun goes with it, and Slurm's job with that; nothing is
# left on the nodes. resume asks Slurm again, sends only what is missing
# (the files that had arrived keep their inodes), and ends done, the tree
# identical.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/slurm/lib.sh"

src=$T/src/tree
mkdir -p "$src/big"
for i in $(seq 1 24); do
	head -c $((2 << 20)) /dev/urandom >"$src/big/f$i"
done
xfer start -s "$src" -d "$DEST" --nodes 3 --bwlimit 2000 >"$T/start.out" 2>&1 ||
	fail "start exited $?: $(cat "$T/start.out")"
id=$(head -n1 "$T/start.out")
# Files arrive whole, one at a time (rsync's temporary files are hidden).
arrived() { ls "$DEST/tree/big" 2>/dev/null | wc -l; }
wait_for 60 eval '[ "$(arrived)" -ge 4 ]' || fail "no file arrived in 60 s"
sup=$(store_sql "SELECT sup_pid FROM transfers WHERE id = $id")
[ -n "$sup" ] && kill -9 "$sup" || fail "no supervisor to kill"
[ "$(arrived)" -lt 24 ] || fail "every file had arrived before the kill"
wait_for 30 eval '[ -z "$(slurm_jobs)" ]' ||
	fail "Slurm keeps the job of a killed supervisor: $(slurm_jobs)"
no_processes_left || fail "processes of the killed transfer are left"
# The files whole there already, by inode: resume must not send them again.
ls -i "$DEST/tree/big" | sort >"$T/before"

on_src scow-sync resume "$id" >"$T/resume.out" 2>&1 || fail "resume exited $?: $(cat "$T/resume.out")"
wait_for 120 eval 'case $(json_state '"$id"') in queued|running) false ;; esac' ||
	fail "the resumed transfer did not end in 120 s"
log=$HOME/scow/.scow-sync/scow-sync.log
state=$(json_state "$id")
[ "$state" = done ] || fail "the resumed transfer ended $state: $(tail -n 5 "$log")"
tree_equal "$src" "$DEST/tree" || fail "the tree on h1 differs"
[ "$(grep -c 'asking Slurm for 3 nodes' "$log")" = 2 ] || fail "resume did not ask Slurm again"
ls -i "$DEST/tree/big" | sort | comm -23 "$T/before" - >"$T/resent"
[ ! -s "$T/resent" ] || fail "resume sent again files that had arrived: $(cat "$T/resent")"
[ -z "$(debris "$DEST")" ] || fail "debris left on the destination: $(debris "$DEST")"
wait_for 10 eval '[ -z "$(slurm_jobs)" ]' || fail "Slurm still has jobs: $(slurm_jobs)"
no_processes_left || fail "processes of the transfer are left"
# The killed run's workers left their directories; the resumed run's removed them.
[ -z "$(node_dirs)" ] || fail "workers' directories are left: $(node_dirs)"
finish
