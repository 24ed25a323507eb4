#!/bin/bash
# The portal's query while the relay runs, polled as the portal polls it:
# always a valid array of rows of six strings, and every host's files seen
# in flight, the relaying host's too (its batches are one file each, which
# rsync reads whole into the link's buffers long before it is there).
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/hosts/lib.sh"
key=(-u "$HOSTS_USER" -k "$HOSTS_KEY")
big=$T/src/big
mkdir -p "$big"
for i in 1 2 3 4 5 6 7 8; do head -c 3145728 /dev/urandom >"$big/f$i"; done
net shape src 40mbit
net shape h1 20mbit
state() { on_src scow-sync query --json --id "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["transfers"][0]["state"])'; }
on_src scow-sync start -a "$(addrs 1 2 3)" "${key[@]}" -s "$big" -d rv-q >"$T/s1" 2>"$T/e1" || fail "start: $(cat "$T/e1")"
id=$(cat "$T/s1")
n=0
while [ "$(state "$id")" = running ] && [ $n -lt 200 ]; do
	on_src scow-sync-query >"$T/q.$n.json" 2>/dev/null
	on_src scow-sync status >"$T/st.$n.txt" 2>&1
	n=$((n + 1)); sleep 0.3
done
net shape src none; net shape h1 none
python3 - "$T" "$big" "$(addrs 1 2 3)" <<'PY' || fail "query output wrong"
import json, glob, re, sys
d, big, addrs = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
bad = 0; seen = set(); rows = 0
for f in sorted(glob.glob(d + "/q.*.json")):
    txt = open(f).read()
    try:
        arr = json.loads(txt)
    except Exception as e:
        print("# invalid JSON in", f, repr(txt[:200])); bad += 1; continue
    for r in arr:
        rows += 1
        seen.add(r["recvAddress"])
        if not r["filePath"].startswith(big + "/"):
            print("# filePath not under the source:", r); bad += 1
        if r["recvAddress"] not in addrs:
            print("# recvAddress:", r); bad += 1
        if not re.fullmatch(r"\d{1,3}%", r["progress"]) or int(r["progress"][:-1]) > 100:
            print("# progress:", r); bad += 1
        if not re.fullmatch(r"[\d.]+(B|kB|MB|GB)/s", r["speed"]) or r["speed"].count(".") > 1:
            print("# speed:", r); bad += 1
        if not re.fullmatch(r"\d+:\d\d:\d\d", r["leftTime"]):
            print("# leftTime:", r); bad += 1
print("# rows", rows, "hosts seen", sorted(seen))
for a in addrs:
    if a not in seen:
        print("# never seen in flight:", a); bad += 1
sys.exit(1 if bad else 0)
PY
grep -q "$HOSTS_ADDR_3" "$T/st.$((n / 2)).txt" ||
	fail "status while running does not list the hosts: $(cat "$T/st.$((n / 2)).txt")"
for k in 1 2 3; do home=HOSTS_HOME_$k; tree_equal "$big" "${!home}/rv-q/big" >/dev/null || fail "h$k differs"; done
finish
