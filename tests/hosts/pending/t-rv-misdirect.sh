#!/bin/bash
# Review attack: h2's name means another machine on h1 (simulated with
# h1's ~/.ssh/config sending h2's address to h3). The hop's ssh pins no
# host key the source verified: h2's data goes to h3.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/hosts/lib.sh"
addrs() { local k out=; for k in "$@"; do out="$out${out:+,}$(eval echo "\$HOSTS_ADDR_$k")"; done; echo "$out"; }
key=(-u "$HOSTS_USER" -k "$HOSTS_KEY")
src=$T/src/tree
mkdir -p "$src/a"
for i in 1 2 3; do head -c 300000 /dev/urandom >"$src/a/f$i"; done
# a single file source, relayed
on_src scow-sync run -q --relay -a "$(addrs 1 2 3)" "${key[@]}" -s "$src/a/f1" -d rv-onefile >"$T/o" 2>&1 || fail "onefile: $(cat "$T/o")"
for k in 1 2 3; do home=HOSTS_HOME_$k; cmp -s "$src/a/f1" "${!home}/rv-onefile/f1" || fail "onefile: h$k differs"; done
mkdir -p "$HOSTS_HOME_1/.ssh"
printf 'Host %s\n  HostName %s\n' "$HOSTS_ADDR_2" "$HOSTS_ADDR_3" >"$HOSTS_HOME_1/.ssh/config"
chmod 600 "$HOSTS_HOME_1/.ssh/config"
on_src scow-sync run -q --relay -a "$(addrs 1 2)" "${key[@]}" -s "$src" -d rv-mis >"$T/o" 2>&1 || fail "run: $(cat "$T/o")"
rm -f "$HOSTS_HOME_1/.ssh/config"
echo "# h2: $(cd "$HOSTS_HOME_2/rv-mis" 2>/dev/null && find . | sort | tr '\n' ' ')"
echo "# h3: $(cd "$HOSTS_HOME_3/rv-mis" 2>/dev/null && find . | sort | tr '\n' ' ')"
tree_equal "$src" "$HOSTS_HOME_2/rv-mis/tree" >/dev/null || fail "h2 differs though its transfer ended done"
[ -e "$HOSTS_HOME_3/rv-mis" ] && fail "h3, not in the request, received h2's data"
on_src scow-sync query --json --all | python3 -c '
import json,sys
for t in json.load(sys.stdin)["transfers"][:2]: print("#", t["id"], t["host"], t["state"], [ (h["host"],h["state"]) for h in t.get("hosts",[])])'
finish
