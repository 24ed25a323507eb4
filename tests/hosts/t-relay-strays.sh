#!/bin/bash
# A feeding host's destination holds files the source lacks, partial data
# and a temporary file (no --delete): none of them reaches the hosts it
# feeds, which get exactly the source's entries.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/hosts/lib.sh"
key=(-u "$HOSTS_USER" -k "$HOSTS_KEY")

src=$T/src/tree
mkdir -p "$src/a/deep" "$src/b"
for i in 1 2 3; do head -c 300000 /dev/urandom >"$src/a/f$i"; head -c 300000 /dev/urandom >"$src/b/g$i"; done
echo deep >"$src/a/deep/x"
# h1 already has extra files (not the source's), and partial debris.
mkdir -p "$HOSTS_HOME_1/rv-stray/tree/a/deep/.scow-sync-partial" "$HOSTS_HOME_1/rv-stray/tree/b"
echo h1-only >"$HOSTS_HOME_1/rv-stray/tree/a/h1-only-in-a"
echo h1-only >"$HOSTS_HOME_1/rv-stray/tree/a/deep/h1-only-deep"
echo h1-only >"$HOSTS_HOME_1/rv-stray/tree/h1-only-top"
echo junk >"$HOSTS_HOME_1/rv-stray/tree/a/deep/.scow-sync-partial/x"
echo junk >"$HOSTS_HOME_1/rv-stray/tree/b/.g1.AbCdEf"

on_src scow-sync run -q --relay -a "$(addrs 1 2 3)" "${key[@]}" -s "$src" -d rv-stray >"$T/run.out" 2>&1 ||
	fail "run exited $?: $(cat "$T/run.out")"
for k in 2 3; do
	home=HOSTS_HOME_$k
	tree_equal "$src" "${!home}/rv-stray/tree" || fail "h$k differs from the source: $(cd "${!home}/rv-stray/tree" && find . | sort | tr '\n' ' ')"
done
echo "# h1: $(cd "$HOSTS_HOME_1/rv-stray/tree" && find . | sort | tr '\n' ' ')"
grep -i "fed from\|relay" "$HOME/scow/.scow-sync/scow-sync.log" | sed 's/^/# /' | head -20

# Same, -m 0 (one unit)
mkdir -p "$HOSTS_HOME_1/rv-stray0/tree/a"
echo h1-only >"$HOSTS_HOME_1/rv-stray0/tree/a/h1-only-in-a"
echo h1-only >"$HOSTS_HOME_1/rv-stray0/tree/h1-only-top"
on_src scow-sync run -q --relay -m 0 -a "$(addrs 1 2 3)" "${key[@]}" -s "$src" -d rv-stray0 >"$T/run0.out" 2>&1 ||
	fail "run -m0 exited $?: $(cat "$T/run0.out")"
for k in 2 3; do
	home=HOSTS_HOME_$k
	tree_equal "$src" "${!home}/rv-stray0/tree" || fail "-m0: h$k differs from the source: $(cd "${!home}/rv-stray0/tree" && find . | sort | tr '\n' ' ')"
done
finish
