#!/bin/bash
# query --json, status and prune over a history of done, failed, running,
# terminated and interrupted transfers; the legacy query stays as it was.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

sql() { store_sql "$1"; }

# The schema of query --json, checked field by field; prints "id state" lines.
check_json() {
	python3 -c '
import base64, json, re, sys
doc = json.load(sys.stdin)
assert set(doc) == {"version", "transfers"}, sorted(doc)
assert doc["version"] == 1, doc["version"]
ints = ["id", "port", "depth", "bytes_done", "bytes_total", "files_done", "files_total",
        "units_done", "units_failed", "units_excluded", "units_total", "percent", "rate",
        "deleted", "created", "updated"]
strs = ["state", "source", "destination", "host", "user"]
times = ["created_at", "started_at", "finished_at"]
keys = set(ints + strs + times + ["planned", "remaining_seconds", "current_files", "error",
                                  "node", "elsewhere", "mirror", "watch", "parent"])
watch_keys = {"interval", "cycles", "last_cycle"}
ids = [t["id"] for t in doc["transfers"]]
assert ids == sorted(ids, reverse=True), "not newest first: %s" % ids
for t in doc["transfers"]:
    extra = set(k for k in t if k.endswith("_base64"))
    want = keys | (watch_keys if t["watch"] else set()) | ({"hosts"} if "hosts" in t else set())
    assert set(t) - extra == want, "keys %s" % sorted(set(t) ^ want)
    assert type(t["mirror"]) is bool and type(t["watch"]) is bool
    for k in ints:
        assert type(t[k]) is int and t[k] >= 0, (k, t[k])
    for k in strs:
        assert type(t[k]) is str, (k, t[k])
    for k in times:
        assert t[k] is None or re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", t[k]), (k, t[k])
    assert t["created_at"] is not None
    assert t["state"] in ("queued", "running", "done", "failed", "terminated", "interrupted",
                          "watching")
    assert type(t["planned"]) is bool
    assert t["node"] is None or type(t["node"]) is str, t["node"]
    assert t["elsewhere"] is False, "a transfer of this node shown as elsewhere"
    assert t["remaining_seconds"] is None or type(t["remaining_seconds"]) is int
    assert t["error"] is None or type(t["error"]) is str
    assert 0 <= t["percent"] <= 100
    assert (t["percent"] == 100) == (t["state"] == "done"), (t["state"], t["percent"])
    if t["state"] == "done":
        assert t["bytes_done"] <= t["bytes_total"] and t["finished_at"] is not None
    if t["state"] == "failed":
        assert t["error"], "a failed transfer without a reason"
    for k in extra:
        assert type(t[k]) is str and base64.b64decode(t[k]), k
    for f in t["current_files"]:
        assert set(f) == {"path", "bytes_done", "percent", "rate"} | set(
            k for k in f if k.endswith("_base64")), sorted(f)
        assert t["state"] == "running"
    print(t["id"], t["state"])
'
}

# 1: done, from a source whose name is not UTF-8.
bad=$(printf 'bad-\xff\xfe-name')
src=$T/src/$bad
make_sample_tree "$src"
scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst1" -m 1 \
	-p "$SSHD_PORT" -k "$SSH_KEY" || fail "first transfer exited $?"
# 2: failed.
scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst2" -p 1 \
	-k "$SSH_KEY" 2>/dev/null && fail "a transfer to a closed port succeeded"

out=$(scow-sync query --json) || fail "query --json exited $?"
[ "$(printf '%s' "$out" | check_json)" = "2 failed
1 done" ] || fail "query --json: $(printf '%s' "$out" | check_json 2>&1)"
# The exact bytes of a name that is not UTF-8, and a readable form.
printf '%s' "$out" | python3 -c '
import base64, json, os, sys
t = [t for t in json.load(sys.stdin)["transfers"] if t["id"] == 1][0]
assert base64.b64decode(t["source_base64"]) == os.fsencode(sys.argv[1]), t["source_base64"]
assert t["source"] == sys.argv[1].encode("utf-8", "surrogateescape").decode("utf-8", "replace"), t["source"]
assert "destination_base64" not in t
assert t["files_total"] == 11 and t["units_total"] >= 5, t
assert t["bytes_total"] == t["bytes_done"] > 1048576, t
' "$src" || fail "query --json: the source's name is not kept exactly"

# 3: running over a slow link, then terminated.
head -c 3000000 /dev/urandom >"$T/src/slow.bin"
start_linkem 2 5
scow-sync-start -a "$SSH_HOST" -u "$SSH_USER" -s "$T/src/slow.bin" -d "$T/dst3" \
	-p "$LINKEM_PORT" -k "$SSH_KEY" >/dev/null || fail "start exited $?"
running() {
	scow-sync query --json --state running | python3 -c '
import json, sys
t = json.load(sys.stdin)["transfers"]
sys.exit(0 if t and t[0]["current_files"] and t[0]["rate"] > 0 and t[0]["percent"] > 0 and
         t[0]["current_files"][0]["path"].endswith("/slow.bin") and
         type(t[0]["remaining_seconds"]) is int else 1)'
}
wait_for 30 running || fail "query --json never showed the running transfer with its file and rate"
COLUMNS=80 scow-sync status >"$T/status" || fail "status exited $?"
grep -q '^ *3 running ' "$T/status" || fail "status does not show transfer 3 running: $(cat "$T/status")"
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$T/src/slow.bin" >/dev/null ||
	fail "terminate exited $?"
[ "$(scow-sync query --json --id 3 | check_json)" = "3 terminated" ] ||
	fail "transfer 3 is not shown terminated"

# 4: interrupted: its supervisor killed.
scow-sync-start -a "$SSH_HOST" -u "$SSH_USER" -s "$T/src/slow.bin" -d "$T/dst4" \
	-p "$LINKEM_PORT" -k "$SSH_KEY" >/dev/null || fail "start exited $?"
wait_for 30 running || fail "the fourth transfer did not run"
sup=$(sql "SELECT sup_pid FROM transfers WHERE id = 4")
kill -9 "$sup" 2>/dev/null
pkill -9 -f -- "$T/dst4"
# Its private directory waits for a resume that never comes.
PRIVATE_DIRS_LEFT='scow-sync-4-*'
wait_for 10 eval '! kill -0 "$sup" 2>/dev/null' || fail "the supervisor does not die"
[ "$(scow-sync query --json --id 4 | check_json)" = "4 interrupted" ] ||
	fail "a transfer without its supervisor is not shown interrupted"
no_processes_left || fail "processes left behind"

# Selection.
all=$(scow-sync query --json --all | check_json | cut -d' ' -f1 | tr '\n' ' ')
[ "$all" = "4 3 2 1 " ] || fail "--all: $all"
[ "$(scow-sync query --json --state done,failed | check_json | cut -d' ' -f1 | tr '\n' ' ')" = "2 1 " ] ||
	fail "--state done,failed"
# Transfer 1 ended ten days ago: out of the default window and of --since 2d.
sql "UPDATE transfers SET created_at = created_at - 864000, started_at = started_at - 864000,
	finished_at = finished_at - 864000 WHERE id IN (1, 4)"
[ "$(scow-sync query --json | check_json | cut -d' ' -f1 | tr '\n' ' ')" = "4 3 2 " ] ||
	fail "the default window shows an old transfer (or hides an unfinished one)"
[ "$(scow-sync query --json --since 2d | check_json | cut -d' ' -f1 | tr '\n' ' ')" = "4 3 2 " ] ||
	fail "--since 2d"
[ "$(scow-sync query --json --since "$(date -d '-11 days' +%Y-%m-%d)" | check_json |
	cut -d' ' -f1 | tr '\n' ' ')" = "4 3 2 1 " ] || fail "--since DATE"
[ "$(scow-sync query --json --id 1 | check_json)" = "1 done" ] || fail "--id of an old transfer"

# Bad selections: one line, exit 2.
for args in "--json --id 99" "--json --id x" "--json --state bogus" "--json --since later" \
	"--all" "--json --id"; do
	# shellcheck disable=SC2086
	err=$(scow-sync query $args 2>&1 >/dev/null); rc=$?
	[ "$rc" = 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] ||
		fail "query $args: exit $rc, '$err'"
done

# status: fits the width, every transfer a line, a failed one says why.
for width in 80 120; do
	COLUMNS=$width scow-sync status --all >"$T/status" || fail "status exited $?"
	python3 - "$T/status" "$width" <<'PY' || fail "status at $width columns: $(cat "$T/status")"
import sys, unicodedata
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
width = int(sys.argv[2])
cols = lambda s: sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
assert all(cols(l) <= width for l in lines), [l for l in lines if cols(l) > width]
assert lines[0].split()[:3] == ["ID", "STATE", "DONE"], lines[0]
states = [l.split()[1] for l in lines[1:] if l[:4].strip().isdigit()]
assert states == ["interrupted", "terminated", "failed", "done"], states
assert any("cannot connect" in l for l in lines), "no reason under the failed one"
assert all(0x20 <= ord(c) != 0x7f for l in lines for c in l), "a control character"
PY
done

# prune: ended ones older than the limit go, with their units; an
# interrupted one stays, however old.
[ "$(scow-sync prune --older-than 5)" = "removed 1 transfer" ] || fail "prune did not remove one"
[ "$(sql "SELECT id FROM transfers ORDER BY id" | tr '\n' ' ')" = "2 3 4 " ] ||
	fail "prune removed the wrong transfers"
[ "$(sql "SELECT count(*) FROM units WHERE transfer_id = 1")" = 0 ] ||
	fail "prune left the units of a removed transfer"
[ "$(scow-sync prune --older-than 5)" = "removed 0 transfers" ] || fail "prune again"
# The newest stays, whatever its age: ids are never given out twice.
sql "UPDATE transfers SET finished_at = finished_at - 864000 WHERE id IN (2, 3)"
[ "$(scow-sync prune --older-than 5)" = "removed 2 transfers" ] || fail "prune of 2 and 3"
sql "UPDATE transfers SET state = 'failed' WHERE id = 4"
[ "$(scow-sync prune --older-than 5)" = "removed 0 transfers" ] ||
	fail "prune removed the newest transfer"
[ "$(sql "SELECT id FROM transfers ORDER BY id" | tr '\n' ' ')" = "4 " ] ||
	fail "prune kept the wrong transfers: $(sql "SELECT id FROM transfers")"
err=$(scow-sync prune 2>&1); [ $? = 2 ] || fail "prune without --older-than: $err"
[ "$(sql "PRAGMA integrity_check")" = ok ] || fail "the store is damaged"

# The portal's query did not change: nothing moving is exactly [].
[ "$(scow-sync-query)" = "[]" ] || fail "legacy query: $(scow-sync-query)"
no_processes_left || fail "processes left behind"
finish
