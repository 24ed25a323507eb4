#!/bin/bash
# A transfer over the 3 nodes (each rsync held to 2 MB/s, so that it is
# seen in flight), started as the portal starts one
# (scow-sync-start, then polled): the tree (big files, many small ones,
# odd names, an empty directory, a symlink) lands identical on h1; every
# node sent a share of it over its own link; query --json named the node
# of the files in flight, and status too; at the end Slurm has no job
# left, no process of the transfer runs on any node, and the workers'
# directories are gone.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/slurm/lib.sh"

src=$T/src/tree
mkdir -p "$src/big" "$src/small/deeper" "$src/empty" "$src/odd name"
for i in $(seq 1 12); do
	head -c $((2 << 20)) /dev/urandom >"$src/big/f$i"
done
for i in $(seq 1 300); do
	echo "small $i" >"$src/small/s$i"
done
echo deep >"$src/small/deeper/d"
printf 'nl\n' >"$src/odd name/new
line"
echo unicode >"$src/odd name/ünï ✓"
ln -s big/f1 "$src/link"

declare -A tx0
for k in $SLURM_NODES; do
	tx0[$k]=$(node_tx "$k")
done

on_src scow-sync-start -a "$DEST_ADDR" -u "$HOSTS_USER" -k "$HOSTS_KEY" -s "$src" \
	-d "$DEST" -m 3 --nodes 3 --bwlimit 2000 >"$T/start.out" 2>&1 ||
	fail "scow-sync-start exited $?: $(cat "$T/start.out")"
id=$(on_src scow-sync query --json --all | python3 -c '
import json, sys
print(json.load(sys.stdin)["transfers"][0]["id"])')

# Poll as the portal does, and note the nodes query --json and status name.
: >"$T/seen"
polls=0
while :; do
	state=$(json_state "$id")
	case $state in queued|running) ;; *) break ;; esac
	polls=$((polls + 1))
	[ "$polls" -le 600 ] || { fail "the transfer did not end in 60 s"; break; }
	on_src scow-sync-query >"$T/query.out" || fail "scow-sync-query exited $?"
	on_src scow-sync query --json --id "$id" | python3 -c '
import json, sys
for t in json.load(sys.stdin)["transfers"]:
    for f in t["current_files"]:
        if f.get("node"):
            print("json", f["node"])' >>"$T/seen"
	on_src scow-sync status | sed -n 's/^ *on \(h[0-9]*\) .*/status \1/p' >>"$T/seen"
	sleep 0.1
done
[ "$state" = done ] || fail "the transfer ended $state: $(tail -n 5 "$HOME"/scow/.scow-sync/scow-sync.log)"
tree_equal "$src" "$DEST/tree" || fail "the tree on h1 differs"

# Each node sent its share over its own link (some 24 MiB in all).
for k in $SLURM_NODES; do
	sent=$(( $(node_tx "$k") - ${tx0[$k]} ))
	[ "$sent" -gt $((2 << 20)) ] || fail "node $k sent $sent bytes: no share of the data"
done
[ "$(grep -c '^json h' "$T/seen")" -gt 0 ] || fail "query --json never named a node"
[ "$(grep '^json' "$T/seen" | sort -u | wc -l)" -ge 2 ] ||
	fail "query --json named fewer than 2 nodes: $(sort -u "$T/seen" | tr '\n' ' ')"
grep -q '^status h' "$T/seen" || fail "status never named a node"
log=$HOME/scow/.scow-sync/scow-sync.log
grep -q "sending from its nodes" "$log" || fail "the log does not say the nodes sent"

wait_for 10 eval '[ -z "$(slurm_jobs)" ]' || fail "Slurm still has jobs: $(slurm_jobs)"
no_processes_left || fail "processes of the transfer are left on the nodes"
[ -z "$(node_dirs)" ] || fail "workers' directories are left: $(node_dirs)"
finish
