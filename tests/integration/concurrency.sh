#!/bin/bash
# Many starts, queries and terminates at once: 20 transfers, each started
# twice at the same moment (as a double click does), while query runs in a
# loop and a few transfers are terminated. Every query answer is valid JSON,
# every request has exactly one transfer, and each ends done (identical
# copy) or terminated.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

N=20
export SCOW_SYNC_BWLIMIT=128 SCOW_SYNC_WORKERS=1
for i in $(seq 1 $N); do
	mkdir -p "$T/src/s$i"
	for f in 1 2 3; do head -c 400000 /dev/urandom > "$T/src/s$i/f$f"; done
done

mkdir -p "$T/q"
( n=0; while [ ! -e "$T/q/stop" ]; do
	scow-sync-query > "$T/q/$n" 2>"$T/q/$n.err"; echo $? > "$T/q/$n.rc"; n=$((n + 1))
	sleep 0.1
done ) &
looper=$!

for i in $(seq 1 $N); do
	for twice in a b; do
		scow-sync-start -a "$SSH_HOST" -u "$SSH_USER" -s "$T/src/s$i" -d "$T/dst" \
			-p "$SSHD_PORT" -k "$SSH_KEY" 2>"$T/start.$i.$twice.err" &
	done
done
rcs=0
for pid in $(jobs -p); do
	[ "$pid" = "$looper" ] && continue
	wait "$pid" || rcs=$((rcs + 1))
done
[ "$rcs" = 0 ] || fail "$rcs starts exited non-zero: $(cat "$T"/start.*.err | sort | uniq -c)"

for i in 1 2 3 4 5; do
	(scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$T/src/s$i" 2>"$T/term.$i.err"
	 echo $? > "$T/term.$i.rc") &
done
wait $(jobs -p | grep -vx "$looper") 2>/dev/null

all_ended() {
	python3 - "$HOME/scow/.scow-sync/scow-sync.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=15)
n = db.execute("SELECT count(*) FROM transfers WHERE state IN ('queued', 'running')").fetchone()[0]
sys.exit(1 if n else 0)
PY
}
wait_for 120 all_ended || fail "transfers still running after 120 s"
touch "$T/q/stop"
wait "$looper"

python3 - "$HOME/scow/.scow-sync/scow-sync.db" "$T/src" $N > "$T/states" <<'PY' || fail "$(cat "$T/states")"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT source, state FROM transfers").fetchall()
want = {("%s/s%d" % (sys.argv[2], i)).encode() for i in range(1, int(sys.argv[3]) + 1)}
got = [bytes(r[0]) if isinstance(r[0], (bytes, memoryview)) else r[0].encode() for r in rows]
bad = False
if sorted(got) != sorted(want):
    print("transfers recorded: %d for %d requests" % (len(got), len(want)))
    bad = True
for src, state in rows:
    print(bytes(src).decode() if not isinstance(src, str) else src, state)
    if state not in ("done", "terminated"):
        bad = True
sys.exit(1 if bad else 0)
PY
while read -r src state; do
	i=${src##*/s}
	if [ "$state" = done ]; then
		tree_equal "$src" "$T/dst/s$i" || fail "s$i differs from its source"
	elif [ "$i" -gt 5 ]; then
		fail "s$i ended $state but was never terminated"
	fi
	# A terminate said what happened: it stopped it, or it had ended already.
	if [ "$i" -le 5 ]; then
		rc=$(cat "$T/term.$i.rc")
		case $rc/$state in
		0/terminated|3/done) ;;
		*) fail "s$i: terminate exited $rc, transfer $state: $(cat "$T/term.$i.err")" ;;
		esac
	fi
done < "$T/states"

# Every answer: exit 0, and valid by the portal's contract (one python for all).
for rc in "$T"/q/*.rc; do
	[ "$(cat "$rc")" = 0 ] || fail "query exited $(cat "$rc"): $(cat "${rc%.rc}.err")"
done
queries=$(ls "$T"/q/*.rc | wc -l)
[ "$queries" -gt 10 ] || fail "only $queries query answers were taken"
python3 - "$T/q" "$SSH_HOST" "$T/src" <<'PY' || fail "query answers broke the contract"
import json, os, re, sys
qdir, host, src = sys.argv[1:4]
bad = 0
for name in os.listdir(qdir):
    if not name.isdigit():
        continue
    text = open(os.path.join(qdir, name), encoding="utf-8").read()
    try:
        rows = json.loads(text)
        assert isinstance(rows, list)
        for o in rows:
            assert set(o) == {"recvAddress", "filePath", "transferSize", "progress",
                              "speed", "leftTime"}
            assert all(isinstance(v, str) for v in o.values())
            assert o["recvAddress"] == host and o["filePath"].startswith(src + "/")
            assert re.fullmatch(r"\d{1,3}(,\d{3})*", o["transferSize"])
            assert re.fullmatch(r"(\d|[1-9]\d|100)%", o["progress"])
            assert re.fullmatch(r"\d+\.\d\d(B|kB|MB|GB)/s", o["speed"])
            assert re.fullmatch(r"\d+:[0-5]\d:[0-5]\d", o["leftTime"])
    except (AssertionError, ValueError) as e:
        print("answer %s: %r: %s" % (name, e, text[:200]))
        bad += 1
sys.exit(1 if bad else 0)
PY
[ -z "$(partial_files "$T/dst")" ] || fail "partial files left: $(partial_files "$T/dst")"
no_processes_left || fail "processes left"
finish
