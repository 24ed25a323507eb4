#!/bin/bash
# --verify and scow-sync verify ID compare the far side by content: a file
# damaged there at the same size and time (which rsync's quick check and a
# plain re-sync take as the same) is found and sent again, and counted.
# --trust-record compares the source with the record the last run of the
# same request kept: only what changed is sent, and with nothing changed
# the far side is not asked at all (its ssh may as well be broken); what
# someone changed on the far side by hand is then not seen, until a plain
# run.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

log=$HOME/scow/.scow-sync/scow-sync.log
src=$T/src/top
dst=$T/dst
far=$dst/top
mkdir -p "$src/a/b" "$dst"

# run ARGS...: a run of $src into $dst; its status in $rc, stderr in $T/err.
run() {
	rc=0
	scow-sync run -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dst" -p "$SSHD_PORT" \
		-k "$SSH_KEY" "$@" 2>"$T/err" || rc=$?
}
last_id() { store_sql "SELECT max(id) FROM transfers"; }
json_field() {   # json_field ID FIELD
	scow-sync query --json --id "$1" | python3 -c '
import json, sys
print(json.load(sys.stdin)["transfers"][0][sys.argv[1]])' "$2"
}
# damage FILE: other bytes, the same size and modification time.
damage() {
	local size
	size=$(stat -c %s "$1")
	touch -r "$1" "$T/stamp"
	head -c "$size" /dev/zero | tr '\0' 'Z' >"$1"
	touch -r "$T/stamp" "$1"
}

for i in 1 2 3 4 5; do head -c 5000 /dev/urandom >"$src/a/f$i"; done
echo deep >"$src/a/b/deep"
printf 'odd name' >"$src/a/new
line"
run -q
[ "$rc" = 0 ] || fail "the first copy exited $rc: $(cat "$T/err")"
first=$(last_id)

damage "$far/a/f3"
damage "$far/a/new
line"
run -q
cmp -s "$src/a/f3" "$far/a/f3" && fail "test setup: a plain re-sync repaired the damage"

# A dry run by content names both, and changes nothing.
scow-sync run -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dst" -p "$SSHD_PORT" \
	-k "$SSH_KEY" --dry-run --verify >"$T/dry" 2>"$T/err" ||
	fail "--dry-run --verify exited $?: $(cat "$T/err")"
grep -q "^update .* top/a/f3$" "$T/dry" || fail "--dry-run --verify does not name f3: $(cat "$T/dry")"
grep -q 'top/a/new\\x0aline$' "$T/dry" ||
	fail "--dry-run --verify does not name the newline file: $(cat "$T/dry")"
[ "$(wc -l <"$T/dry")" = 2 ] || fail "--dry-run --verify names more than the two: $(cat "$T/dry")"
cmp -s "$src/a/f3" "$far/a/f3" && fail "--dry-run --verify repaired f3"

# verify ID: the same request compared by content; the two named, exit 1,
# nothing sent; --json gives them to programs; the request given as run
# takes it compares the same.
before=$(last_id)
scow-sync verify "$first" >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" = 1 ] || fail "verify of a damaged far side exited $rc: $(cat "$T/err")"
grep -q "^update .* top/a/f3$" "$T/out" || fail "verify does not name f3: $(cat "$T/out")"
[ "$(wc -l <"$T/out")" = 2 ] || fail "verify names more than the two: $(cat "$T/out")"
grep -q "2 paths differ from the source" "$T/err" || fail "verify says: $(cat "$T/err")"
cmp -s "$src/a/f3" "$far/a/f3" && fail "verify without --repair repaired f3"
[ "$(last_id)" = "$before" ] || fail "verify without --repair recorded a transfer"
scow-sync verify --json "$first" >"$T/out.json" 2>/dev/null; rc=$?
[ "$rc" = 1 ] || fail "verify --json exited $rc"
python3 - "$T/out.json" <<'PY' || fail "verify --json: $(cat "$T/out.json")"
import json, sys
changes = json.load(open(sys.argv[1]))
names = sorted(c["path"] for c in changes)
assert names == ["top/a/f3", "top/a/new\nline"], names
assert all(c["action"] == "update" for c in changes), changes
PY
scow-sync verify -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dst" -p "$SSHD_PORT" \
	-k "$SSH_KEY" >"$T/out2" 2>/dev/null; rc=$?
[ "$rc" = 1 ] && [ "$(wc -l <"$T/out2")" = 2 ] || fail "verify -a -s -d: exit $rc: $(cat "$T/out2")"
scow-sync verify --repair --json "$first" 2>"$T/err"; rc=$?
[ "$rc" = 2 ] || fail "verify --repair --json exited $rc"

# verify --repair ID: the damage is repaired and counted.
scow-sync verify --repair "$first" >"$T/out" 2>"$T/err" ||
	fail "verify --repair $first exited $?: $(cat "$T/err")"
grep -q "2 differed by content, 0 missing" "$T/err" || fail "verify does not say what differed: $(cat "$T/err")"
tree_equal "$src" "$far" || fail "verify left the far side different"
id=$(last_id)
[ "$(json_field "$id" updated)" = 2 ] || fail "verify counted $(json_field "$id" updated) updated"
grep -q "\[$id\] info: comparing with the far side by content" "$log" ||
	fail "the log does not say the comparison was by content"
# Nothing differs now: verify says nothing and exits 0.
scow-sync verify "$first" >"$T/out" 2>"$T/err" || fail "verify of a good copy exited $?: $(cat "$T/err")"
[ ! -s "$T/out" ] || fail "verify of a good copy names: $(cat "$T/out")"
# Nothing to repair: nothing differed. --checksum is rsync's name for it.
run -q --checksum
[ "$rc" = 0 ] || fail "run --verify exited $rc: $(cat "$T/err")"
[ "$(json_field "$(last_id)" updated)" = 0 ] || fail "a second verify found differences"
# --checksum finds one byte changed at the same size and time, and sends it.
touch -r "$far/a/f1" "$T/stamp"
printf 'Z' | dd of="$far/a/f1" bs=1 seek=100 conv=notrunc status=none
touch -r "$T/stamp" "$far/a/f1"
run -q
cmp -s "$src/a/f1" "$far/a/f1" && fail "test setup: a plain re-sync repaired one byte"
run -q --checksum
[ "$rc" = 0 ] || fail "run --checksum exited $rc: $(cat "$T/err")"
cmp -s "$src/a/f1" "$far/a/f1" || fail "run --checksum did not send the changed byte"
scow-sync verify 99999 2>"$T/err" && fail "verify of no transfer exited 0"
grep -q "no transfer 99999" "$T/err" || fail "verify of no transfer says: $(cat "$T/err")"

# --trust-record: the first such run has no record; it compares with the far
# side, and keeps one.
run -q --trust-record
[ "$rc" = 0 ] || fail "the first --trust-record run exited $rc: $(cat "$T/err")"
grep -q "\[$(last_id)\] info: no record of this request to trust yet" "$log" ||
	fail "the first --trust-record run does not say it has no record"
# Changes at the source, and one by hand on the far side.
echo changed >"$src/a/f1"
echo added >"$src/a/b/added"
rm "$far/a/f5"
run -q --trust-record
[ "$rc" = 0 ] || fail "a --trust-record run exited $rc: $(cat "$T/err")"
id=$(last_id)
grep -q "\[$id\] info: trusting the record kept by transfer" "$log" ||
	fail "the second --trust-record run did not trust the record"
cmp -s "$src/a/f1" "$far/a/f1" || fail "--trust-record did not send the changed file"
cmp -s "$src/a/b/added" "$far/a/b/added" || fail "--trust-record did not send the new file"
[ -e "$far/a/f5" ] && fail "--trust-record asked the far side (it restored f5)"
[ "$(json_field "$id" created) $(json_field "$id" updated)" = "1 1" ] ||
	fail "--trust-record counted $(json_field "$id" created) created, $(json_field "$id" updated) updated"
# Nothing changed: done without the far side (its ssh fails, unused).
SCOW_SYNC_SSH=/bin/false run -q --trust-record
[ "$rc" = 0 ] || fail "an unchanged --trust-record run exited $rc: $(cat "$T/err")"
grep -q "\[$(last_id)\] info: nothing changed since the record: the far side was not asked" \
	"$log" || fail "an unchanged --trust-record run does not say it did not ask"
[ "$(json_field "$(last_id)" state)" = done ] || fail "an unchanged --trust-record run is not done"
# A plain run compares with the far side, and restores what was removed there.
run -q
[ "$rc" = 0 ] || fail "a plain run exited $rc: $(cat "$T/err")"
tree_equal "$src" "$far" || fail "a plain run after --trust-record left the far side different"

# That plain run wrote there: the record before it is not trusted any more.
run -q --trust-record
grep -q "\[$(last_id)\] info: no record of this request to trust yet" "$log" ||
	fail "a record older than a plain run was trusted"
# A record kept without --delete says nothing of extra entries: a mirror
# compares with the far side.
echo junk >"$far/junk"
run -q --trust-record --delete
[ "$rc" = 0 ] || fail "--trust-record --delete exited $rc: $(cat "$T/err")"
[ -e "$far/junk" ] && fail "a mirror trusted a record kept without --delete"
# The source's own attributes are in the record.
chmod 700 "$src"
run -q --trust-record --delete
[ "$(stat -c %a "$far")" = 700 ] || fail "the source's own mode did not reach the far side"
# A run that fails leaves the far side unknown: its record is not trusted.
echo again >"$src/a/f2"
SCOW_SYNC_SSH=/bin/false run -q --trust-record --delete
[ "$rc" != 0 ] || fail "a run whose ssh fails exited 0"
run -q --trust-record --delete
grep -q "\[$(last_id)\] info: no record of this request to trust yet" "$log" ||
	fail "the record of a failed run was trusted"
tree_equal "$src" "$far" || fail "the run after a failed one left the far side different"
# An empty source (an unmounted file system) deletes nothing, record or not.
mv "$src" "$T/src/away"
mkdir "$src"
run -q --trust-record --delete
[ "$rc" != 0 ] || fail "a mirror of an empty source trusting its record exited 0"
[ -e "$far/a/f1" ] || fail "a mirror of an empty source trusting its record deleted"
grep -q "the source is empty" "$T/err" || fail "the empty source is not named: $(cat "$T/err")"
rmdir "$src"
mv "$T/src/away" "$src"

# verify never runs beside a running transfer of the request.
head -c $((4 * 1024 * 1024)) /dev/urandom >"$src/slow"
SCOW_SYNC_BWLIMIT=256 scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dst" \
	-p "$SSHD_PORT" -k "$SSH_KEY" >"$T/id" 2>"$T/err" || fail "start exited $?: $(cat "$T/err")"
running=$(cat "$T/id")
wait_for 10 sh -c "[ \"\$(scow-sync query --json --id $running | python3 -c \
	'import json,sys; print(json.load(sys.stdin)[\"transfers\"][0][\"state\"])')\" = running ]" ||
	fail "the slow transfer did not start"
scow-sync verify "$first" 2>"$T/err" && fail "verify beside a running transfer exited 0"
grep -q "is running as transfer $running" "$T/err" ||
	fail "verify beside a running transfer says: $(cat "$T/err")"
# Nor --repair of the request given as run takes it: nothing repaired, exit 1.
scow-sync verify --repair -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dst" \
	-p "$SSHD_PORT" -k "$SSH_KEY" >/dev/null 2>"$T/err"; rc=$?
[ "$rc" = 1 ] || fail "verify --repair -a -s -d beside a running transfer exited $rc"
grep -q "running as transfer $running.*verify it once it has ended" "$T/err" ||
	fail "verify --repair -a -s -d beside a running transfer says: $(cat "$T/err")"
scow-sync terminate --id "$running" >/dev/null 2>&1
finish
