#!/bin/bash
# The relay tree: to several hosts the source sends each byte once, to the
# first host, and the hosts forward to each other (h1 to h2 and h3, h2 to
# h4 and h5) as units arrive, with the key in a private agent of the
# request's (never a file on the hosts):
#   1. to 3 hosts with --relay: every copy is the source's, byte for byte,
#      and the source's uplink carries the payload about once; without the
#      relay, about three times;
#   2. to 5 hosts with a slow uplink, h2's processes killed with -9 while
#      it relays: its subtree (h4, h5) is fed another way and arrives;
#   3. kill -9 of the request's supervisor ends the agent too; resume
#      finishes every host;
#   4. nothing of the agent is left: no process, no socket, no private
#      directory (the killed supervisor's is removed by the resume).
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/hosts/lib.sh"

src=$T/src/tree
mkdir -p "$src/sub dir" "$src/empty"
for i in 1 2 3 4; do head -c 2097152 /dev/urandom >"$src/sub dir/part $i"; done
printf 'x\n' >"$src/$(printf 'new\nline')"
ln -s "sub dir/part 1" "$src/link"
payload=$(du -sb "$src" | awk '{ print $1 }')

src_tx() { on_src cat "/sys/class/net/$HOSTS_SRC_IFACE/statistics/tx_bytes"; }
key=(-u "$HOSTS_USER" -k "$HOSTS_KEY")

# 1. Three hosts, with and without the relay.
before=$(src_tx)
on_src scow-sync run -q --relay -a "$(addrs 1 2 3)" "${key[@]}" -s "$src" -d relay-relayed \
	>"$T/run1.out" 2>&1 || fail "1: run with the relay exited $?: $(cat "$T/run1.out")"
sent=$(( $(src_tx) - before ))
for k in 1 2 3; do
	home=HOSTS_HOME_$k
	tree_equal "$src" "${!home}/relay-relayed/tree" || fail "1: the tree on h$k differs"
done
echo "# relay: $sent bytes out of the source for $payload bytes to 3 hosts"
[ "$sent" -le $((payload * 13 / 10)) ] ||
	fail "1: the source sent $sent bytes for $payload with the relay (more than 1.3x)"
grep -q "fed from $HOSTS_ADDR_1" "$HOME/scow/.scow-sync/scow-sync.log" ||
	fail "1: the log does not say h2 and h3 were fed from h1"
before=$(src_tx)
on_src scow-sync run -q --no-relay -a "$(addrs 1 2 3)" "${key[@]}" -s "$src" -d relay-direct \
	>"$T/run1b.out" 2>&1 || fail "1: run without the relay exited $?: $(cat "$T/run1b.out")"
sent=$(( $(src_tx) - before ))
echo "# no relay: $sent bytes out of the source"
[ "$sent" -ge $((payload * 28 / 10)) ] ||
	fail "1: without the relay the source sent only $sent bytes for 3 x $payload"
for k in 1 2 3; do
	home=HOSTS_HOME_$k
	tree_equal "$src" "${!home}/relay-direct/tree" || fail "1: the direct tree on h$k differs"
done

# 2. Five hosts, a relay killed mid-transfer.
big=$T/src/big
mkdir -p "$big"
for i in 1 2 3 4 5 6 7 8; do head -c 3145728 /dev/urandom >"$big/f$i"; done
# h2's own link slow too: its relaying lasts long enough to be caught.
net shape src 40mbit
net shape h2 40mbit
on_src scow-sync start --relay -a "$(addrs 1 2 3 4 5)" "${key[@]}" -s "$big" -d relay-tree5 \
	>"$T/start2.out" 2>"$T/start2.err" || fail "2: start exited $?: $(cat "$T/start2.err")"
id=$(cat "$T/start2.out")
# h2 relays to h4 and h5 once it has a file: then kill everything of it there.
relaying() { [ -n "$(on_host 2 pgrep -f 'rsync .*--files-from=-')" ]; }
wait_for 60 relaying || fail "2: h2 never relayed"
for p in $(host_pids 2); do kill -9 "$p" 2>/dev/null; done
ended() {
	on_src scow-sync query --json --id "$id" | python3 -c '
import json, sys
sys.exit(0 if json.load(sys.stdin)["transfers"][0]["state"] != "running" else 1)'
}
wait_for 120 ended || fail "2: the transfer did not end"
net shape src none
net shape h2 none
on_src scow-sync query --json --id "$id" >"$T/q2.json"
for k in 4 5; do
	home=HOSTS_HOME_$k
	tree_equal "$big" "${!home}/relay-tree5/big" || fail "2: h$k (fed by h2) differs"
done
for k in 1 3; do
	home=HOSTS_HOME_$k
	tree_equal "$big" "${!home}/relay-tree5/big" || fail "2: h$k differs"
done
# h2 itself was retried: every host, h2 too, is done.
python3 - "$T/q2.json" <<'PY' || fail "2: $(cat "$T/q2.json")"
import json, sys
t = json.load(open(sys.argv[1]))["transfers"][0]
assert t["state"] == "done", t["state"]
for h in t["hosts"]:
    assert h["state"] == "done", "%s %s" % (h["host"], h["state"])
PY

# 2b. The relaying host goes away (its link down) once it has relayed: h4
# and h5 are fed from here and arrive; h2 is stopped by hand, not waited for.
net shape src 40mbit
on_src scow-sync start --relay -a "$(addrs 1 2 3 4 5)" "${key[@]}" -s "$big" -d relay-gone \
	>"$T/start2b.out" 2>"$T/start2b.err" || fail "2b: start exited $?: $(cat "$T/start2b.err")"
id=$(cat "$T/start2b.out")
relayed_one() { [ -n "$(ls "$HOSTS_HOME_4/relay-gone/big" 2>/dev/null)" ]; }
wait_for 60 relayed_one || fail "2b: nothing reached h4 through h2"
net down h2
host_done() {
	on_src scow-sync query --json --id "$id" | python3 -c '
import json, sys
hs = json.load(sys.stdin)["transfers"][0]["hosts"]
sys.exit(0 if all(h["state"] == "done" for h in hs if h["host"] in sys.argv[1:]) else 1)' "$@"
}
wait_for 150 host_done "$HOSTS_ADDR_4" "$HOSTS_ADDR_5" "$HOSTS_ADDR_1" "$HOSTS_ADDR_3" ||
	fail "2b: h1, h3, h4 and h5 are not all done with h2 gone"
# A receiver of the relayed rsync cut off with h2 ends by its --timeout,
# removing its temporary file.
for k in 1 3 4 5; do
	home=HOSTS_HOME_$k
	wait_for 40 tree_equal "$big" "${!home}/relay-gone/big" >/dev/null 2>&1 ||
		tree_equal "$big" "${!home}/relay-gone/big" || fail "2b: h$k differs"
done
grep -E "(relay through $HOSTS_ADDR_2 failed|$HOSTS_ADDR_2 ended).*: the rest is sent from here" \
	"$HOME/scow/.scow-sync/scow-sync.log" >/dev/null ||
	fail "2b: the log does not say h4 and h5 were fed from here"
# h2 fails by itself once its retries are spent; stopped here if it has not.
on_src scow-sync terminate -a "$HOSTS_ADDR_2" -u "$HOSTS_USER" -s "$big" >"$T/term2b.out" 2>&1
wait_for 60 ended || fail "2b: the transfer did not end"
net up h2
net shape src none
# Interrupted when h2's supervisor, stopping, could not reach h2 to remove
# its partial data before terminate's wait ran out (a slow build): resume
# removes it later.
on_src scow-sync query --json --id "$id" | python3 -c '
import json, sys
t = json.load(sys.stdin)["transfers"][0]
assert t["state"] in ("terminated", "failed", "interrupted"), t["state"]
assert t["error"].startswith("1 of 5 hosts not done: " + sys.argv[1] + ":"), t["error"]
' "$HOSTS_ADDR_2" || fail "2b: the transfer does not end naming h2 alone"

# 3. kill -9 of the request's supervisor mid-relay: the agent (set-group-ID
# on Debian, where PR_SET_PDEATHSIG does not survive its exec) ends with
# it; resume finishes every host.
net shape src 40mbit
on_src scow-sync start --relay -a "$(addrs 1 2 3)" "${key[@]}" -s "$big" -d relay-killed \
	>"$T/start3.out" 2>"$T/start3.err" || fail "3: start exited $?: $(cat "$T/start3.err")"
id=$(cat "$T/start3.out")
agent_up() { pgrep -f "ssh-agent -D -a $TMPDIR/" >/dev/null; }
wait_for 20 agent_up || fail "3: no agent ran for the relay"
sleep 1
kill -9 "$(on_src scow-sync query --json --id "$id" >/dev/null; python3 - \
	"$HOME/scow/.scow-sync/scow-sync.db" "$id" <<'PY'
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute(
    "SELECT sup_pid FROM transfers WHERE id = ?", (int(sys.argv[2]),)).fetchone()[0])
PY
)"
wait_for 15 eval '! agent_up' || fail "3: the agent outlived the killed supervisor"
net shape src none
wait_for 20 eval '[ -z "$(host_pids src)" ]'
on_src scow-sync resume -q -f "$id" >"$T/resume3.out" 2>&1 ||
	fail "3: resume exited $?: $(cat "$T/resume3.out")"
for k in 1 2 3; do
	home=HOSTS_HOME_$k
	tree_equal "$big" "${!home}/relay-killed/big" || fail "3: h$k differs after resume"
done

# 4. The agent ended with the request. (h4's and h5's sessions from h2,
# gone under them, end by the sshd's ClientAliveInterval.)
wait_for 30 eval '[ -z "$(all_host_pids)" ]'
no_processes_left || fail "processes are left on the nodes"
pgrep -f "ssh-agent -D -a $TMPDIR/" >/dev/null && fail "an agent is left running"
ls -d "$TMPDIR"/scow-sync-*/agent 2>/dev/null | grep -q . &&
	fail "an agent's socket is left: $(ls -d "$TMPDIR"/scow-sync-*/agent)"
# Nor the private directory the killed supervisor made (the resume's own went as it ended).
left=$(ls -d "$TMPDIR"/scow-sync-* 2>/dev/null)
[ -z "$left" ] || fail "private directories are left: $left"
finish
