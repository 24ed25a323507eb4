#!/bin/bash
# A part stopped on the feeding host only (terminate -a h1 -s SRC/a/f6):
# the hosts h1 feeds still get it, from the source, and end done.
RV_DEPTH=${RV_DEPTH:-}
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/hosts/lib.sh"
key=(-u "$HOSTS_USER" -k "$HOSTS_KEY")
src=$T/src/big
mkdir -p "$src/a" "$src/b"
for i in 1 2 3 4 5 6; do head -c 3145728 /dev/urandom >"$src/a/f$i"; done
for i in 1 2; do head -c 1000000 /dev/urandom >"$src/b/g$i"; done
net shape src 40mbit
on_src scow-sync start --relay ${RV_DEPTH:+-m $RV_DEPTH} -a "$(addrs 1 2 3)" "${key[@]}" -s "$src" -d rv-part$RV_DEPTH >"$T/start.out" 2>"$T/start.err" ||
	fail "start exited $?: $(cat "$T/start.err")"
id=$(cat "$T/start.out")
some() { [ -n "$(ls "$HOSTS_HOME_1/rv-part$RV_DEPTH/big/a" 2>/dev/null)" ]; }
wait_for 60 some || fail "nothing reached h1"
on_src scow-sync terminate -a "$HOSTS_ADDR_1" -u "$HOSTS_USER" -s "$src/a/f6" >"$T/term.out" 2>&1
echo "# terminate rc=$?: $(cat "$T/term.out")"
ended() {
	on_src scow-sync query --json --id "$id" | python3 -c '
import json, sys
sys.exit(0 if json.load(sys.stdin)["transfers"][0]["state"] != "running" else 1)'
}
wait_for 200 ended || fail "the transfer did not end"
net shape src none
on_src scow-sync query --json --id "$id" | sed 's/^/# /'
for k in 1 2 3; do
	home=HOSTS_HOME_$k
	echo "# h$k: $(cd "${!home}/rv-part$RV_DEPTH/big" && find . -type f | sort | tr '\n' ' ')"
done
for k in 2 3; do
	home=HOSTS_HOME_$k
	tree_equal "$src" "${!home}/rv-part$RV_DEPTH/big" || fail "h$k (not stopped) differs from the source"
done
grep -i "fed from\|relay\|stop\|part" "$HOME/scow/.scow-sync/scow-sync.log" | sed 's/^/# /' | head -30
finish
