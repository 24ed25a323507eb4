#!/bin/bash
# --notify URL posts the transfer's record (the object query --json shows)
# on each change of its state, and a watch's after each cycle, to a real
# HTTP receiver on 127.0.0.1 that checks the body and the signature made
# with notify_secret from the settings file; --notify-cmd gives the same
# to a program on its stdin. A receiver that fails or is down is logged and
# never stops or fails the transfer.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

log=$HOME/scow/.scow-sync/scow-sync.log
src=$T/src/top
mkdir -p "$src/d" "$HOME/.config/scow-sync"
echo one >"$src/d/f"
# A '#' in a word, ' #' (which needs the quotes) and more than 511 bytes:
# kept whole, the signatures match.
secret="s3cret with spaces, a#hash, a ' #' and $(printf 'x%.0s' $(seq 600))"
printf 'notify_secret = "%s"  # the key\n' "$secret" >"$HOME/.config/scow-sync/config"

# The receiver: each request's event, signature check and body, a line of
# JSON each in $T/received; the first $FAIL_FIRST requests get a 503.
cat >"$T/receiver.py" <<'PY'
import hashlib, hmac, http.server, json, sys
out, secret, fail_first, port_file = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3]), sys.argv[4]
seen = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        seen[0] += 1
        if seen[0] <= fail_first:
            self.send_response(503); self.end_headers(); return
        want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        rec = {"event": self.headers.get("X-Scow-Sync-Event"),
               "signed": self.headers.get("X-Scow-Sync-Signature") == want,
               "type": self.headers.get("Content-Type"),
               "record": json.loads(body)}
        with open(out, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(port_file, "w").write(str(s.server_address[1]))
s.serve_forever()
PY
start_receiver() {   # start_receiver FAIL_FIRST: its URL in $url
	rm -f "$T/port" "$T/received"
	python3 "$T/receiver.py" "$T/received" "$secret" "$1" "$T/port" &
	RECEIVER=$!
	wait_for 10 test -s "$T/port" || fail "the receiver did not start"
	url="http://127.0.0.1:$(cat "$T/port")/hook"
}
stop_receiver() { kill "$RECEIVER" 2>/dev/null; wait "$RECEIVER" 2>/dev/null; }
run() {   # run DEST ARGS...
	local d=$1
	shift
	rc=0
	scow-sync run -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$d" -p "$SSHD_PORT" \
		-k "$SSH_KEY" -q "$@" 2>"$T/err" || rc=$?
}
check_received() {   # check_received EXPECTED-EVENTS (space-separated, in order)
	python3 - "$T/received" "$1" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
events = [r["event"] for r in recs]
assert events == sys.argv[2].split(), events
keys = {"id", "state", "source", "destination", "host", "bytes_done", "files_total", "mirror",
        "deleted", "watch"}
for r in recs:
    assert r["signed"], "a bad or missing signature"
    assert r["type"] == "application/json", r["type"]
    assert keys <= set(r["record"]), sorted(r["record"])
    want = "watching" if r["event"] in ("cycle", "running") and r["record"]["watch"] else r["event"]
    assert r["record"]["state"] == want, (r["event"], r["record"]["state"])
PY
}

# A run: running, then done, each signed, each the record as query shows it.
start_receiver 0
run "$T/dst1" --notify "$url"
[ "$rc" = 0 ] || fail "the run exited $rc: $(cat "$T/err")"
wait_for 10 sh -c "[ \$(cat '$T/received' 2>/dev/null | wc -l) -ge 2 ]" ||
	fail "not every record arrived"
check_received "running done" || fail "the records: $(cat "$T/received")"
stop_receiver
id=$(store_sql "SELECT max(id) FROM transfers")
python3 - "$T/received" "$id" <<'PY' || fail "the done record is not the transfer's"
import json, sys
last = [json.loads(l) for l in open(sys.argv[1])][-1]["record"]
assert last["id"] == int(sys.argv[2]) and last["state"] == "done" and last["files_done"] == 1, last
PY

# Two 503s first: the retries deliver it, and the transfer waits for nothing.
echo two >"$src/d/g"
start_receiver 2
started=$(date +%s)
run "$T/dst1" --notify "$url"
[ "$rc" = 0 ] || fail "the run with a failing receiver exited $rc: $(cat "$T/err")"
wait_for 15 sh -c "[ \$(cat '$T/received' 2>/dev/null | wc -l) -ge 2 ]" ||
	fail "the retries did not deliver: $(cat "$T/received" 2>/dev/null)"
stop_receiver

# A receiver that is down: logged, and the transfer is done all the same.
run "$T/dst2" --notify "http://127.0.0.1:1/nobody"
[ "$rc" = 0 ] || fail "a dead receiver failed the transfer: $rc $(cat "$T/err")"
grep -q "notify: cannot post" "$log" || fail "a dead receiver is not logged"
[ "$(store_sql "SELECT state FROM transfers WHERE id = (SELECT max(id) FROM transfers)")" = done ] ||
	fail "the transfer with a dead receiver is not done"

# --notify-cmd: the program gets each record on its stdin, without a shell.
cat >"$T/take" <<EOF
#!/bin/sh
cat >>"$T/taken"
echo >>"$T/taken"
EOF
chmod +x "$T/take"
run "$T/dst3" --notify-cmd "$T/take"
[ "$rc" = 0 ] || fail "the run with --notify-cmd exited $rc: $(cat "$T/err")"
wait_for 10 sh -c "[ \$(grep -c . '$T/taken' 2>/dev/null || echo 0) -ge 2 ]" ||
	fail "the program did not get two records: $(cat "$T/taken" 2>/dev/null)"
python3 - "$T/taken" <<'PY' || fail "the program's records: $(cat "$T/taken")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert [r["state"] for r in recs] == ["running", "done"], recs
PY

# The program's own children go with it: when it exits, and when the
# transfer's process dies under it (kill -9) while it runs.
# (Their children name the test's directory, so that its cleanup finds any left.)
cat >"$T/leave" <<EOF
#!/bin/sh
tail -f "$T/leave" >/dev/null &
echo \$! >>"$T/left"
cat >/dev/null
EOF
chmod +x "$T/leave"
rm -f "$T/left"
run "$T/dst3" --notify-cmd "$T/leave"
[ "$rc" = 0 ] || fail "the run with a program that leaves a child exited $rc: $(cat "$T/err")"
wait_for 10 sh -c "[ \$(wc -l <'$T/left' 2>/dev/null || echo 0) -ge 2 ]" ||
	fail "the program did not run twice"
gone() { for p in $(cat "$1"); do ! kill -0 "$p" 2>/dev/null || return 1; done; }
wait_for 10 gone "$T/left" || fail "the program's children outlived it: $(cat "$T/left")"
cat >"$T/hang" <<EOF
#!/bin/sh
tail -f "$T/hang" >/dev/null &
echo \$! \$\$ >>"$T/hung"
tail -f "$T/hang" >/dev/null
EOF
chmod +x "$T/hang"
rm -f "$T/hung"
hid=$(scow-sync watch -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst6" -p "$SSHD_PORT" \
	-k "$SSH_KEY" --notify-cmd "$T/hang" --detach 2>"$T/err") || fail "watch: $(cat "$T/err")"
wait_for 10 test -s "$T/hung" || fail "the program of the watch did not start"
kill -9 "$(store_sql "SELECT sup_pid FROM transfers WHERE id = $hid")"
# Its private directory waits for a resume that never comes.
PRIVATE_DIRS_LEFT="scow-sync-$hid-*"
tr ' ' '\n' <"$T/hung" >"$T/hung.pids"
wait_for 10 gone "$T/hung.pids" || fail "the program's group outlived the watch: $(cat "$T/hung")"

# A watch: a record after each cycle.
start_receiver 0
id=$(scow-sync watch -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst4" -p "$SSHD_PORT" \
	-k "$SSH_KEY" --notify "$url" --detach 2>"$T/err") || fail "watch exited $?: $(cat "$T/err")"
wait_for 20 grep -qs '"cycle"' "$T/received" || fail "no record of the first cycle"
echo three >"$src/d/h"
wait_for 20 sh -c "[ \$(grep -cs '\"cycle\"' '$T/received') -ge 2 ]" ||
	fail "no record of the second cycle: $(cat "$T/received")"
scow-sync terminate --id "$id" 2>/dev/null
wait_for 20 grep -qs '"terminated"' "$T/received" || fail "no record of the watch's end"
python3 - "$T/received" <<'PY' || fail "the watch's records: $(cat "$T/received")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
cycles = [r["record"] for r in recs if r["event"] == "cycle"]
assert cycles[0]["watch"] is True and cycles[0]["last_cycle"]["full_scan"] is True, cycles[0]
# Between cycles a watch is watching, never done; its end is what it is.
assert all(c["state"] == "watching" and c["finished_at"] is None for c in cycles), cycles
assert [r["record"]["state"] for r in recs if r["event"] == "terminated"] == ["terminated"]
assert cycles[1]["last_cycle"]["files"] >= 1, cycles[1]
PY
stop_receiver

# A bad URL is refused before anything starts; the secret is never in a message.
run "$T/dst5" --notify "ftp://127.0.0.1/x"
[ "$rc" = 2 ] || fail "--notify ftp:// exited $rc"
scow-sync config >"$T/config" 2>&1
grep -q "s3cret" "$T/config" && fail "config shows the secret"
grep -rq "s3cret" "$HOME/scow/.scow-sync/" && fail "the secret is in the logs or the store"
finish
