#!/bin/bash
# --dry-run changes nothing and records nothing: it prints what a transfer
# would send, update and (with --delete) delete, one line each, or with
# --json an array of them, within the filters, for names of any bytes,
# and exits 0, also where the destination does not exist yet.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

src=$T/src/top
dst=$T/dst
far=$dst/top
mkdir -p "$src/sub" "$dst"
echo same >"$src/same"
echo old >"$src/changed"
echo skip >"$src/sub/skip.tmp"
run() {   # run DEST ARGS...: stdout in $T/out, stderr in $T/err, status in $rc
	local d=$1
	shift
	rc=0
	scow-sync run -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$d" -p "$SSHD_PORT" \
		-k "$SSH_KEY" -q "$@" >"$T/out" 2>"$T/err" || rc=$?
}
run "$dst"
[ "$rc" = 0 ] || fail "the first copy exited $rc: $(cat "$T/err")"
# Now: one file changes, one is new (with a newline and a byte that is not UTF-8 in its
# name), one goes from the source, the far side has one of its own.
echo newer-and-longer >"$src/changed"
printf 'n' >"$src/sub/new
name"$'\xff'
rm "$src/same"
echo extra >"$far/extra"
snapshot() { (cd "$T" && find dst -printf '%p %s %T@ %m\n' | sort); }
before=$(snapshot)
transfers=$(store_sql "SELECT count(*) FROM transfers")

run "$dst" --dry-run --delete --exclude '*.tmp'
[ "$rc" = 0 ] || fail "the dry run exited $rc: $(cat "$T/err")"
[ "$(snapshot)" = "$before" ] || fail "the dry run changed the far side"
[ "$(store_sql "SELECT count(*) FROM transfers")" = "$transfers" ] ||
	fail "the dry run recorded a transfer"
grep -q '^update <f\.s\.*t*\.* top/changed$' "$T/out" || fail "no update line: $(cat "$T/out")"
grep -qF 'send   <f+++++++++ top/sub/new\x0aname\xff' "$T/out" ||
	fail "no send line for the odd name: $(cat "$T/out")"
grep -q '^delete \*deleting   top/same$' "$T/out" || fail "no delete of same: $(cat "$T/out")"
grep -q '^delete \*deleting   top/extra$' "$T/out" || fail "no delete of extra: $(cat "$T/out")"
grep -q 'skip.tmp' "$T/out" && fail "an excluded file is listed: $(cat "$T/out")"
# Without --delete nothing is to be deleted.
run "$dst" --dry-run
grep -q '^delete' "$T/out" && fail "a dry run without --delete lists deletes"

# --json: the same as an array.
run "$dst" --dry-run --delete --json --exclude '*.tmp'
[ "$rc" = 0 ] || fail "the JSON dry run exited $rc: $(cat "$T/err")"
python3 - "$T/out" <<'PY' || fail "the JSON dry run: $(cat "$T/out")"
import base64, json, sys
changes = json.load(open(sys.argv[1]))
by_path = {c["path"]: c for c in changes}
assert by_path["top/changed"]["action"] == "update", by_path
assert by_path["top/same"]["action"] == "delete", by_path
assert by_path["top/extra"]["itemized"] == "*deleting  ", by_path
odd = [c for c in changes if c.get("path_base64")]
assert len(odd) == 1 and base64.b64decode(odd[0]["path_base64"]) == b"top/sub/new\nname\xff", odd
assert odd[0]["action"] == "send", odd
assert not any("skip.tmp" in c["path"] for c in changes), changes
PY

# The guards of deletes, as the transfer would apply them: said, exit 0.
run "$dst" --dry-run --delete --exclude '*.tmp' --max-delete 1
[ "$rc" = 0 ] || fail "a dry run over --max-delete exited $rc: $(cat "$T/err")"
grep -q '^delete \*deleting   top/extra$' "$T/out" ||
	fail "over the limit, no delete lines: $(cat "$T/out")"
stop="would stop: 2 entries to delete, more than the limit of 1 (--max-delete, max_delete)"
[ "$(tail -1 "$T/out")" = "$stop: nothing deleted" ] ||
	fail "no stop line for --max-delete: $(tail -1 "$T/out")"
run "$dst" --dry-run --delete --exclude '*.tmp' --max-delete 2
grep -q '^would stop' "$T/out" && fail "within the limit, a stop line: $(cat "$T/out")"
SCOW_SYNC_MAX_DELETE=1 run "$dst" --dry-run --delete --exclude '*.tmp'
grep -q '^would stop: 2 entries to delete, more than the limit of 1 ' "$T/out" ||
	fail "the max_delete setting gave no stop line: $(tail -1 "$T/out")"
run "$dst" --dry-run --delete --exclude '*.tmp' --max-delete 1 --json
[ "$rc" = 0 ] || fail "a JSON dry run over --max-delete exited $rc: $(cat "$T/err")"
python3 - "$T/out" <<'PY' || fail "the JSON stop: $(cat "$T/out")"
import json, sys
changes = json.load(open(sys.argv[1]))
assert changes[-1] == {"action": "stop", "reason": "2 entries to delete, more than the limit of 1 "
                       "(--max-delete, max_delete): nothing deleted"}, changes[-1]
assert sum(c["action"] == "delete" for c in changes) == 2, changes
PY
# An empty source (an unmounted file system) would delete nothing, but
# with --delete-all-ok.
mkdir -p "$T/empty/top"
src_saved=$src
src=$T/empty/top
run "$dst" --dry-run --delete
[ "$rc" = 0 ] || fail "an empty source's dry run exited $rc: $(cat "$T/err")"
grep -q '^delete \*deleting   top/changed$' "$T/out" ||
	fail "an empty source's deletes: $(cat "$T/out")"
stop='^would stop: the source is empty and the far side has [0-9]* entries it lacks: nothing'
grep -q "$stop deleted" "$T/out" || fail "no stop line for an empty source: $(tail -1 "$T/out")"
run "$dst" --dry-run --delete --delete-all-ok
grep -q '^would stop' "$T/out" && fail "an empty source with --delete-all-ok: a stop line"
src=$src_saved
[ "$(snapshot)" = "$before" ] || fail "the dry runs of the guards changed the far side"

# A destination that does not exist: everything would be sent, nothing is made.
run "$T/nowhere/deeper" --dry-run
[ "$rc" = 0 ] || fail "a dry run into a missing destination exited $rc: $(cat "$T/err")"
[ -e "$T/nowhere" ] && fail "a dry run made the destination"
grep -qF 'send   <f+++++++++ top/changed' "$T/out" || fail "missing destination: $(cat "$T/out")"

# --json alone is refused.
run "$dst" --json
[ "$rc" = 2 ] || fail "--json without --dry-run exited $rc"

# Ended by a signal while rsync runs (Ctrl-C, a closed terminal, a kill):
# the rules travel on rsync's stdin, and nothing is left in TMPDIR
# (finish checks it). rsync starts slowly: it is still running when the
# signal comes.
mkdir -p "$T/slowbin"
printf '#!/bin/sh\nsleep 2\nexec rsync "$@"\n' >"$T/slowbin/rsync-slow"
chmod +x "$T/slowbin/rsync-slow"
for sig in TERM INT HUP; do
	SCOW_SYNC_RSYNC=$T/slowbin/rsync-slow scow-sync run -a "$SSH_HOST" -u "$SSH_USER" \
		-s "$src" -d "$dst" -p "$SSHD_PORT" -k "$SSH_KEY" -q --dry-run --exclude '*.tmp' \
		>/dev/null 2>&1 &
	pid=$!
	wait_for 10 eval '[ -n "$(pgrep -f -- "rsync-slow")" ]' ||
		fail "$sig: the dry run's rsync did not start"
	kill -"$sig" "$pid"
	wait "$pid"
	wait_for 10 eval '[ -z "$(pgrep -f -- "rsync-slow")" ]'
done
finish
