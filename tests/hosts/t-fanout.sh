#!/bin/bash
# One source to several hosts (-a h1,h2,h3), each host a network namespace
# with its own sshd and home (the source sending to each: 3 to 5 run
# --no-relay, so that every host has files in flight at once; the relay
# tree is t-relay's):
#   1. to 3 hosts with run: every host's copy is the source, byte for
#      byte, odd names included; query --json shows the transfer with its
#      3 hosts, all done; a second writer of the same request is refused;
#   2. to 5 hosts, one down from the start: the other 4 arrive, the
#      transfer fails naming the host that is down; once it is up, resume
#      sends it there and leaves the others;
#   3. terminate -a HOST -s SOURCE mid-transfer stops that host only: the
#      others arrive, it keeps no partial data;
#   4. terminate --id stops every host's transfer; nothing is left running
#      on any node;
#   5. kill -9 of the transfer's supervisor stops every host's (each
#      recorded interrupted); resume brings all to done;
#   6. a host's transfer stays its request's: a run to that host alone
#      makes a transfer of its own, and the request, resumed, sends the
#      host its copy (it never ends done without it);
#   7. kill -9 of one host's supervisor: that host and the request end
#      interrupted, and resume without an id continues them.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/hosts/lib.sh"

src=$T/src/tree
mkdir -p "$src/with space/deeper" "$src/empty"
echo one >"$src/one"
printf 'nl\n' >"$src/with space/new
line"
echo unicode >"$src/with space/deeper/ünï cödé ✓"
printf 'bytes \001\377' >"$src/$(printf 'ctl\001byte\377')"
head -c 2097152 /dev/urandom >"$src/random.bin"
ln -s one "$src/link-to-one"

# Big enough to be caught mid-way on a shaped uplink.
big=$T/src/big
mkdir -p "$big"
for i in 1 2 3 4 5 6; do head -c 4194304 /dev/urandom >"$big/part$i"; done

# query --json, one line per transfer: id state parent hosts(count)
transfers() {
	on_src scow-sync query --json --all | python3 -c '
import json, sys
for t in json.load(sys.stdin)["transfers"]:
    print(t["id"], t["state"], t["parent"], len(t.get("hosts", [])))'
}
# The state of transfer $1, as query --json shows it.
state_of() {
	on_src scow-sync query --json --id "$1" | python3 -c '
import json, sys
print(json.load(sys.stdin)["transfers"][0]["state"])'
}
# Host transfers of request $1: "id address state" a line.
hosts_of() {
	on_src scow-sync query --json --id "$1" | python3 -c '
import json, sys
for h in json.load(sys.stdin)["transfers"][0]["hosts"]:
    print(h["id"], h["host"], h["state"])'
}
store_sql() {
	python3 - "$HOME/scow/.scow-sync/scow-sync.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=15)
for row in db.execute(sys.argv[2]).fetchall():
    print(*row)
PY
}
# How many hosts the portal's query shows files in flight to.
hosts_in_flight() {
	on_src scow-sync-query | python3 -c '
import json, sys
print(len(set(r["recvAddress"] for r in json.load(sys.stdin))))'
}
# Nothing but the tree under a host's destination: no partial data.
no_debris() {
	local home=$1 dir=$2 extra
	extra=$(cd "$home/$dir" && find . -name '.scow-sync*' -o -name '.~tmp~' -o -name '*.scow-*')
	[ -z "$extra" ] || { echo "debris in $home/$dir: $extra"; return 1; }
}
key=(-u "$HOSTS_USER" -k "$HOSTS_KEY")

# 1. Three hosts.
on_src scow-sync run -q -a "$(addrs 1 2 3)" "${key[@]}" -s "$src" -d fanout-dst >"$T/run1.out" 2>&1 ||
	fail "run to 3 hosts exited $?: $(cat "$T/run1.out")"
for k in 1 2 3; do
	home=HOSTS_HOME_$k
	tree_equal "$src" "${!home}/fanout-dst/tree" || fail "1: the tree on h$k differs"
done
[ ! -e "$HOSTS_HOME_4/fanout-dst" ] || fail "1: h4 was written"
id1=$(transfers | awk '$3 == "None" { print $1; exit }')
[ "$(state_of "$id1")" = done ] || fail "1: the transfer is not done: $(transfers)"
[ "$(hosts_of "$id1" | awk '$3 == "done"' | wc -l)" = 3 ] ||
	fail "1: not 3 hosts done: $(hosts_of "$id1")"
[ "$(hosts_of "$id1" | awk '{ print $2 }' | tr '\n' ,)" = "$(addrs 1 2 3)," ] ||
	fail "1: the hosts are not in order: $(hosts_of "$id1")"
on_src scow-sync status --id "$id1" >"$T/status1.out" 2>&1 || fail "1: status exited $?"
[ "$(grep -c ' done ' "$T/status1.out")" = 4 ] ||
	fail "1: status does not show the transfer and its 3 hosts: $(cat "$T/status1.out")"

# A host list with a host twice, and an empty element, are refused.
on_src scow-sync run -q -a "$(addrs 1 1)" "${key[@]}" -s "$src" -d fanout-dst 2>"$T/err" &&
	fail "a host given twice was accepted"
grep -q 'given twice' "$T/err" || fail "no clear error for a host given twice: $(cat "$T/err")"
on_src scow-sync run -q -a "$(addrs 1)," "${key[@]}" -s "$src" -d fanout-dst 2>"$T/err" &&
	fail "an empty host was accepted"

# 2. Five hosts, h5 down from the start.
net down h5
printf '%s\n' "# the five" "$HOSTS_ADDR_1" "$HOSTS_ADDR_2" "" "$HOSTS_ADDR_3" \
	"  $HOSTS_ADDR_4  " "$HOSTS_ADDR_5" >"$T/hosts"
on_src scow-sync run -q --hosts-from "$T/hosts" "${key[@]}" \
	-s "$src" -d fanout-dst2 >"$T/run2.out" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "2: run with a host down exited $rc, not 1"
for k in 1 2 3 4; do
	home=HOSTS_HOME_$k
	tree_equal "$src" "${!home}/fanout-dst2/tree" || fail "2: the tree on h$k differs"
done
id2=$(store_sql "SELECT id FROM transfers WHERE fanout = 5 ORDER BY id DESC LIMIT 1")
[ "$(state_of "$id2")" = failed ] || fail "2: the transfer is $(state_of "$id2"), not failed"
store_sql "SELECT error FROM transfers WHERE id = $id2" | grep -q "1 of 5 hosts not done: $HOSTS_ADDR_5:" ||
	fail "2: the error does not name h5: $(store_sql "SELECT error FROM transfers WHERE id = $id2")"
before=$(store_sql "SELECT group_concat(finished_at) FROM transfers WHERE parent_id = $id2 AND state = 'done'")
net up h5
on_src scow-sync resume -q -f "$id2" >"$T/resume2.out" 2>&1 ||
	fail "2: resume exited $?: $(cat "$T/resume2.out")"
tree_equal "$src" "$HOSTS_HOME_5/fanout-dst2/tree" || fail "2: the tree on h5 differs after resume"
[ "$(state_of "$id2")" = done ] || fail "2: not done after resume: $(hosts_of "$id2")"
after=$(store_sql "SELECT group_concat(finished_at) FROM transfers WHERE parent_id = $id2 AND address != '$HOSTS_ADDR_5'")
[ "$before" = "$after" ] || fail "2: resume ran the hosts that were done again"

# 3. terminate one host mid-transfer: a slow uplink keeps every host busy.
net shape src 40mbit
on_src scow-sync-start --no-relay -a "$(addrs 1 2 3)" "${key[@]}" -s "$big" -d fanout-dst3 >"$T/start3.out" 2>&1 ||
	fail "3: start exited $?: $(cat "$T/start3.out")"
id3=$(store_sql "SELECT id FROM transfers WHERE fanout = 3 ORDER BY id DESC LIMIT 1")
h2_running() { hosts_of "$id3" | grep -q "^[0-9]* $HOSTS_ADDR_2 running"; }
some_data() { [ -n "$(on_src scow-sync-query | grep "$HOSTS_ADDR_2")" ]; }
wait_for 20 h2_running && wait_for 20 some_data || fail "3: h2 never showed a file in flight"
on_src scow-sync-terminate -a "$HOSTS_ADDR_2" -u "$HOSTS_USER" -s "$big" >"$T/term3.out" 2>&1 ||
	fail "3: terminate of h2 exited $?: $(cat "$T/term3.out")"
hosts_of "$id3" | grep -q "^[0-9]* $HOSTS_ADDR_2 terminated" ||
	fail "3: h2 is not terminated: $(hosts_of "$id3")"
wait_for 60 eval '[ "$(state_of "$id3")" != running ]' || fail "3: the transfer did not end"
for k in 1 3; do
	home=HOSTS_HOME_$k
	tree_equal "$big" "${!home}/fanout-dst3/big" || fail "3: the tree on h$k differs"
done
[ "$(state_of "$id3")" = terminated ] || fail "3: the transfer ended $(state_of "$id3")"
no_debris "$HOSTS_HOME_2" fanout-dst3 || fail "3: h2 keeps partial data"

# 4. terminate --id: every host's transfer stops; nothing runs anywhere.
on_src scow-sync-start --no-relay -a "$(addrs 1 2 3)" "${key[@]}" -s "$big" -d fanout-dst4 >"$T/start4.out" 2>&1 ||
	fail "4: start exited $?"
id4=$(store_sql "SELECT id FROM transfers WHERE fanout = 3 ORDER BY id DESC LIMIT 1")
wait_for 20 eval '[ "$(hosts_in_flight)" -ge 3 ]' ||
	fail "4: not every host had a file in flight"
on_src scow-sync terminate --id "$id4" >"$T/term4.out" 2>&1 ||
	fail "4: terminate --id exited $?: $(cat "$T/term4.out")"
[ "$(state_of "$id4")" = terminated ] || fail "4: the transfer is $(state_of "$id4")"
[ "$(hosts_of "$id4" | awk '$3 == "terminated"' | wc -l)" = 3 ] ||
	fail "4: not every host terminated: $(hosts_of "$id4")"
no_processes_left || fail "4: processes are left on the nodes"
for k in 1 2 3; do
	home=HOSTS_HOME_$k
	no_debris "${!home}" fanout-dst4 || fail "4: h$k keeps partial data"
done

# 5. kill -9 of the supervisor, then resume.
on_src scow-sync-start --no-relay -a "$(addrs 1 2)" "${key[@]}" -s "$big" -d fanout-dst5 >"$T/start5.out" 2>&1 ||
	fail "5: start exited $?"
id5=$(store_sql "SELECT id FROM transfers WHERE fanout = 2 ORDER BY id DESC LIMIT 1")
wait_for 20 eval '[ "$(hosts_in_flight)" -ge 2 ]' ||
	fail "5: not every host had a file in flight"
kill -9 "$(store_sql "SELECT sup_pid FROM transfers WHERE id = $id5")"
wait_for 20 eval '[ -z "$(host_pids src)" ]' || fail "5: the hosts' supervisors outlived it"
[ "$(state_of "$id5")" = interrupted ] || fail "5: the transfer is $(state_of "$id5")"
net shape src none
on_src scow-sync resume -q -f "$id5" >"$T/resume5.out" 2>&1 ||
	fail "5: resume exited $?: $(cat "$T/resume5.out")"
for k in 1 2; do
	home=HOSTS_HOME_$k
	tree_equal "$big" "${!home}/fanout-dst5/big" || fail "5: the tree on h$k differs"
	no_debris "${!home}" fanout-dst5 || fail "5: h$k keeps partial data"
done
[ "$(state_of "$id5")" = done ] || fail "5: not done after resume: $(hosts_of "$id5")"

# 6. A failed host's transfer is not taken from its request.
net down h4
on_src scow-sync run -q --no-relay -a "$(addrs 3 4)" "${key[@]}" -s "$src" -d fanout-dst6 \
	>/dev/null 2>&1 && fail "6: a run with h4 down succeeded"
id6=$(store_sql "SELECT id FROM transfers WHERE fanout = 2 ORDER BY id DESC LIMIT 1")
on_src scow-sync run -q -a "$HOSTS_ADDR_4" "${key[@]}" -s "$src" -d fanout-dst6 >/dev/null 2>&1 &&
	fail "6: a run to h4 alone, down, succeeded"
[ "$(hosts_of "$id6" | wc -l)" = 2 ] || fail "6: the request lost a host: $(hosts_of "$id6")"
net up h4
on_src scow-sync resume -q -f "$id6" >"$T/resume6.out" 2>&1 ||
	fail "6: resume exited $?: $(cat "$T/resume6.out")"
tree_equal "$src" "$HOSTS_HOME_4/fanout-dst6/tree" || fail "6: h4 has no copy after the resume"
[ "$(state_of "$id6")" = done ] || fail "6: the request is $(state_of "$id6")"

# 7. One host's supervisor killed: interrupted, and resumed by a plain resume.
net shape src 40mbit
on_src scow-sync-start --no-relay -a "$(addrs 1 2)" "${key[@]}" -s "$big" -d fanout-dst7 \
	>/dev/null 2>&1 || fail "7: start exited $?"
id7=$(store_sql "SELECT id FROM transfers WHERE fanout = 2 ORDER BY id DESC LIMIT 1")
wait_for 20 eval '[ "$(hosts_in_flight)" -ge 2 ]' || fail "7: not every host had a file in flight"
kill -9 "$(store_sql "SELECT sup_pid FROM transfers WHERE parent_id = $id7 AND
	address = '$HOSTS_ADDR_2'")"
wait_for 60 eval '[ "$(state_of "$id7")" != running ]' || fail "7: the request did not end"
[ "$(state_of "$id7")" = interrupted ] || fail "7: the request is $(state_of "$id7")"
net shape src none
on_src scow-sync resume -q >"$T/resume7.out" 2>&1 ||
	fail "7: resume exited $?: $(cat "$T/resume7.out")"
wait_for 60 eval '[ "$(state_of "$id7")" = done ]' ||
	fail "7: not done after resume: $(hosts_of "$id7")"
for k in 1 2; do
	home=HOSTS_HOME_$k
	tree_equal "$big" "${!home}/fanout-dst7/big" || fail "7: the tree on h$k differs"
	no_debris "${!home}" fanout-dst7 || fail "7: h$k keeps partial data"
done

no_processes_left || fail "processes of the transfers are left on the nodes"
finish
