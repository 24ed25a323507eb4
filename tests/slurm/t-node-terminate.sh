#!/bin/bash
# terminate of a part of a transfer spread over the nodes, then of the
# whole, mid-flight. The part stops on the node sending it and is left
# out; the rest goes on. The whole ends terminated: Slurm has no job of it
# left, no process of it runs on any node (nor here), the workers'
# directories are gone, and the destination holds no partial data or
# temporary file, only whole files of the source, none of the part.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/slurm/lib.sh"

src=$T/src/tree
mkdir -p "$src/big" "$src/part"
for i in $(seq 1 20); do
	head -c $((2 << 20)) /dev/urandom >"$src/big/f$i"
done
for i in $(seq 1 4); do
	head -c $((2 << 20)) /dev/urandom >"$src/part/p$i"
done
xfer start -s "$src" -d "$DEST" --nodes 3 --bwlimit 1000 >"$T/start.out" 2>&1 ||
	fail "start exited $?: $(cat "$T/start.out")"
id=$(head -n1 "$T/start.out")
busy() {
	local k n=0
	for k in $SLURM_NODES; do
		[ "$(node_rsyncs "$k")" -gt 0 ] && n=$((n + 1))
	done
	[ "$n" -ge 2 ]
}
wait_for 30 busy || fail "rsyncs did not run on 2 nodes at once"
on_src scow-sync terminate -a "$DEST_ADDR" -s "$src/part" >"$T/part.out" 2>&1 ||
	fail "terminate of the part exited $?: $(cat "$T/part.out")"
# A file in flight on a node, stopped alone.
in_flight() {
	flying=$(on_src scow-sync query --json --id "$id" | python3 -c '
import json, sys
for f in json.load(sys.stdin)["transfers"][0]["current_files"]:
    if f.get("node") and "/big/" in f["path"]:
        print(f["path"]); break')
	[ -n "$flying" ]
}
wait_for 10 in_flight || fail "no file in flight on a node"
[ -z "$flying" ] || on_src scow-sync terminate -a "$DEST_ADDR" -s "$flying" >"$T/file.out" 2>&1 ||
	fail "terminate of '$flying' exited $?: $(cat "$T/file.out")"
sleep 2
[ "$(json_state "$id")" = running ] || fail "the transfer did not go on after its part stopped"
on_src scow-sync terminate --id "$id" >"$T/terminate.out" 2>&1 ||
	fail "terminate exited $?: $(cat "$T/terminate.out")"
wait_for 30 eval 'case $(json_state '"$id"') in queued|running) false ;; esac' ||
	fail "the transfer did not end in 30 s"
state=$(json_state "$id")
[ "$state" = terminated ] || fail "the transfer ended $state"
wait_for 10 eval '[ -z "$(slurm_jobs)" ]' || fail "Slurm still has jobs: $(slurm_jobs)"
no_processes_left || fail "processes of the transfer are left"
[ -z "$(node_dirs)" ] || fail "workers' directories are left: $(node_dirs)"
[ -z "$(debris "$DEST")" ] || fail "debris left on the destination: $(debris "$DEST")"
[ -z "$(ls "$DEST/tree/part" 2>/dev/null)" ] ||
	fail "files of the part stopped arrived: $(ls "$DEST/tree/part")"
[ -z "$flying" ] || [ ! -e "$DEST/tree/${flying#"$src"/}" ] ||
	fail "the file stopped in flight arrived: ${flying#"$src"/}"
# What arrived is whole.
for f in "$DEST"/tree/big/*; do
	[ -e "$f" ] || continue
	cmp -s "$f" "$src/big/${f##*/}" || fail "${f##*/} arrived cut or different"
done
finish
