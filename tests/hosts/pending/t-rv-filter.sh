#!/bin/bash
# Review attack: a filter with the relay: does the uplink still carry the payload once?
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/hosts/lib.sh"
addrs() { local k out=; for k in "$@"; do out="$out${out:+,}$(eval echo "\$HOSTS_ADDR_$k")"; done; echo "$out"; }
key=(-u "$HOSTS_USER" -k "$HOSTS_KEY")
src_tx() { on_src cat "/sys/class/net/$HOSTS_SRC_IFACE/statistics/tx_bytes"; }
src=$T/src/tree
mkdir -p "$src/a"
for i in 1 2 3 4; do head -c 2000000 /dev/urandom >"$src/a/f$i"; done
payload=$(du -sb "$src" | awk '{print $1}')
b=$(src_tx)
on_src scow-sync run -q --relay --exclude '*.nomatch' -a "$(addrs 1 2 3)" "${key[@]}" -s "$src" -d rv-filt >"$T/o" 2>&1 || fail "run: $(cat "$T/o")"
sent=$(( $(src_tx) - b )); echo "# with an exclude that matches nothing: source sent $sent for $payload"
[ "$sent" -le $((payload * 13 / 10)) ] || fail "the relay with a filter sends $sent bytes for $payload (x$((sent * 10 / payload))/10): every batch goes direct"
grep "fed from" "$HOME/scow/.scow-sync/scow-sync.log" | sed 's/^/# /'
for k in 1 2 3; do home=HOSTS_HOME_$k; tree_equal "$src" "${!home}/rv-filt/tree" >/dev/null || fail "h$k differs"; done
finish
