#!/bin/bash
# The feeding host h1 done, h2 interrupted, then files added to the
# source: resume sends h2 the new files from the source (h1, done before,
# is skipped and never had them).
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/hosts/lib.sh"
key=(-u "$HOSTS_USER" -k "$HOSTS_KEY")
big=$T/src/big
mkdir -p "$big/a"
for i in 1 2 3 4 5 6; do head -c 2097152 /dev/urandom >"$big/a/f$i"; done
net shape h2 8mbit
net shape h3 8mbit
hstate() { on_src scow-sync query --json --id "$1" | python3 -c '
import json,sys
t=json.load(sys.stdin)["transfers"][0]
print(t["state"], " ".join(h["state"] for h in t["hosts"]))'; }
on_src scow-sync start --relay -a "$(addrs 1 2 3)" "${key[@]}" -s "$big" -d rv-rn >"$T/s" 2>"$T/e" || fail "start: $(cat "$T/e")"
id=$(cat "$T/s")
wait_for 60 eval '[ "$(hstate $id | cut -d" " -f2)" = done ]' || fail "h1 not done first: $(hstate $id)"
echo "# before kill: $(hstate $id)"
# Its supervisor by the store: a title is every store's ("transfer 1"), and
# other suites run beside this one.
sup=$(python3 - "$HOME/scow/.scow-sync/scow-sync.db" "$id" <<'PY'
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute(
    "SELECT sup_pid FROM transfers WHERE id = ?", (int(sys.argv[2]),)).fetchone()[0])
PY
)
kill -9 "$sup"
wait_for 30 eval '[ "$(hstate $id | cut -d" " -f1)" != running ]'
echo "# after kill: $(hstate $id)"
[ "$(hstate $id | cut -d" " -f1)" = interrupted ] || fail "not interrupted by the kill: $(hstate $id)"
net shape h2 none; net shape h3 none
mkdir -p "$big/new"; echo new >"$big/new/x"; echo new2 >"$big/a/f7"
wait_for 30 eval '[ -z "$(all_host_pids)" ]'
on_src scow-sync resume "$id" >"$T/r" 2>&1 || fail "resume: $(cat "$T/r")"
wait_for 120 eval '[ "$(hstate $id | cut -d" " -f1)" != running ]' || fail "resume not ended"
echo "# after resume: $(hstate $id)"
on_src scow-sync query --json --id "$id" | python3 -c 'import json,sys; print("# error:", json.load(sys.stdin)["transfers"][0]["error"])'
for k in 2 3; do home=HOSTS_HOME_$k; tree_equal "$big" "${!home}/rv-rn/big" || fail "h$k differs after resume"; done
tail -25 "$HOME/scow/.scow-sync/scow-sync.log" | cut -c1-220 | sed 's/^/# /'
wait_for 30 eval '[ -z "$(all_host_pids)" ]'
finish
