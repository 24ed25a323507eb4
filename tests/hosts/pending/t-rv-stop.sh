#!/bin/bash
# Review attack: terminate --id while relays run; then kill -9 of the request's
# supervisor mid-relay and resume. Nothing left running, no debris, agent gone.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/hosts/lib.sh"
addrs() { local k out=; for k in "$@"; do out="$out${out:+,}$(eval echo "\$HOSTS_ADDR_$k")"; done; echo "$out"; }
key=(-u "$HOSTS_USER" -k "$HOSTS_KEY")
big=$T/src/big
mkdir -p "$big"
for i in 1 2 3 4 5 6 7 8; do head -c 3145728 /dev/urandom >"$big/f$i"; done
net shape src 40mbit
net shape h2 40mbit
state() { on_src scow-sync query --json --id "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["transfers"][0]["state"])'; }
relaying() { [ -n "$(on_host 2 pgrep -f 'rsync .*--files-from=-')" ]; }
debris() { local k home; for k in 1 2 3 4 5; do home=HOSTS_HOME_$k; find "${!home}/$1" \( -name '.scow-sync-partial' -o -name '.*.??????' \) 2>/dev/null | sed "s/^/h$k: /"; done; }

# 1. terminate --id
on_src scow-sync start -a "$(addrs 1 2 3 4 5)" "${key[@]}" -s "$big" -d rv-stop1 >"$T/s1" 2>"$T/e1" || fail "1: start: $(cat "$T/e1")"
id=$(cat "$T/s1")
wait_for 60 relaying || fail "1: h2 never relayed"
on_src scow-sync terminate --id "$id" >"$T/t1" 2>&1 || fail "1: terminate exited $?: $(cat "$T/t1")"
t0=$SECONDS
wait_for 60 eval '[ "$(state $id)" != running ]' || fail "1: not ended"
echo "# 1: state $(state "$id") after $((SECONDS - t0)) s"
sleep 1
echo "# 1: left right after: $(for p in $(all_host_pids); do ps -o pid=,args= -p $p; done | tr '\n' ';')"
wait_for 40 eval '[ -z "$(all_host_pids)" ]'
echo "# 1: all gone after $((SECONDS - t0)) s"
no_processes_left || fail "1: processes left"
d=$(debris rv-stop1); [ -n "$d" ] && fail "1: debris: $d"
pgrep -af "ssh-agent -D -a .*scow-sync-" | sed 's/^/# 1 agent: /'

# 2. kill -9 of the request's supervisor mid-relay, resume
on_src scow-sync start -a "$(addrs 1 2 3 4 5)" "${key[@]}" -s "$big" -d rv-stop2 >"$T/s2" 2>"$T/e2" || fail "2: start: $(cat "$T/e2")"
id=$(cat "$T/s2")
wait_for 60 relaying || fail "2: h2 never relayed"
sup=$(on_src pgrep -f "scow-sync: transfer $id\$" | head -1)
[ -z "$sup" ] && sup=$(python3 - "$HOME/scow/.scow-sync/scow-sync.db" "$id" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print([r for r in db.execute("select * from transfers where id=?", (int(sys.argv[2]),))][0])
PY
)
echo "# 2: supervisor $sup: $(ps -o pid=,args= -p "$sup" 2>/dev/null)"
kill -9 "$sup"
t0=$SECONDS
wait_for 60 eval '[ "$(state $id)" != running ]' || fail "2: not ended"
echo "# 2: state $(state "$id")"
sleep 2
pgrep -af "ssh-agent -D -a .*scow-sync-$id-" | sed 's/^/# 2 agent after kill -9: /'; pgrep -f "ssh-agent -D -a .*scow-sync-$id-" >/dev/null && fail "2: the agent outlives the killed supervisor"
wait_for 40 eval '[ -z "$(all_host_pids)" ]'
echo "# 2: left: $(for p in $(all_host_pids); do ps -o pid=,args= -p $p; done | tr '\n' ';')"
net shape src none
net shape h2 none
on_src scow-sync resume "$id" >"$T/r2" 2>&1 || fail "2: resume exited $?: $(cat "$T/r2")"
wait_for 120 eval '[ "$(state $id)" != running ]' || fail "2: resume not ended"
[ "$(state "$id")" = done ] || fail "2: after resume: $(state "$id")"
for k in 1 2 3 4 5; do home=HOSTS_HOME_$k; tree_equal "$big" "${!home}/rv-stop2/big" >/dev/null || fail "2: h$k differs"; done
d=$(debris rv-stop2); [ -n "$d" ] && fail "2: debris: $d"
wait_for 30 eval '[ -z "$(all_host_pids)" ]'
no_processes_left || fail "2: processes left"
pgrep -af "ssh-agent -D -a .*scow-sync-$id-" | sed 's/^/# 2 agent after resume: /'; pgrep -f "ssh-agent -D -a .*scow-sync-$id-" >/dev/null && fail "2: agent left after resume"
ls -d /tmp/scow-sync-$id-*/agent 2>/dev/null | grep -q . && fail "2: agent socket left: $(ls -d /tmp/scow-sync-$id-*/agent)"
for k in 1 2 3 4 5; do home=HOSTS_HOME_$k; grep -rl "PRIVATE KEY" "${!home}" 2>/dev/null | sed "s/^/# key on h$k: /"; done
cp "$HOME/scow/.scow-sync/scow-sync.log" /tmp/rv2-stop.log
finish
