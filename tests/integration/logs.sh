#!/bin/bash
# The logs: one line per event with time, transfer id and level; rotated by
# size while several supervisors write at once, no line lost or torn;
# `scow-sync log ID` shows one transfer's lines, the rotated files included.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

state=$HOME/scow/.scow-sync
src=$T/src/data
make_sample_tree "$src"

# A log left open to others (by an older version, a copy) is made private.
mkdir -p -m 700 "$state"
: >"$state/scow-sync.log"
chmod 644 "$state/scow-sync.log"
# Its rotated files too.
: >"$state/scow-sync.log.2"
: >"$state/scow-sync.err.1"
chmod 644 "$state/scow-sync.log.2" "$state/scow-sync.err.1"
scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst1" -p "$SSHD_PORT" \
	-k "$SSH_KEY" || fail "run exited $?"
[ "$(stat -c %a "$state/scow-sync.log")" = 600 ] || fail "an existing log stayed open to others"
[ "$(stat -c %a "$state/scow-sync.log.2")" = 600 ] || fail "a rotated log stayed open to others"
[ "$(stat -c %a "$state/scow-sync.err.1")" = 600 ] || fail "a rotated error log stayed open to others"
scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst2" -p 1 \
	-k "$SSH_KEY" && fail "a run to a closed port succeeded"

# Every line: local time with its offset, [id], a level, a message.
python3 - "$state/scow-sync.log" "$state/scow-sync.err" <<'PY' || fail "a log line is malformed"
import re, sys
pat = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} \[\d+\] (debug|info|warning|error): .+")
for name in sys.argv[1:]:
    for line in open(name, encoding="utf-8", errors="strict"):
        assert pat.fullmatch(line.rstrip("\n")), (name, line)
PY
grep -q " \[2\] error: .*cannot connect" "$state/scow-sync.err" || fail "the failure is not in scow-sync.err"
grep -q " \[1\] " "$state/scow-sync.err" && fail "a clean transfer put lines into scow-sync.err"

# scow-sync log ID: exactly that transfer's lines.
scow-sync log 1 >"$T/log1" || fail "log 1 exited $?"
[ -s "$T/log1" ] && ! grep -qv " \[1\] " "$T/log1" || fail "log 1 shows other lines: $(head -3 "$T/log1")"
[ "$(grep -c " \[1\] " "$state/scow-sync.log")" = "$(wc -l <"$T/log1")" ] || fail "log 1 misses lines"
scow-sync log -e 2 | grep -q "cannot connect" || fail "log -e 2 does not show the failure"
[ -z "$(scow-sync log -e 1)" ] || fail "log -e 1 shows lines"
err=$(scow-sync log 99 2>&1); [ $? = 2 ] && [[ $err == *"no transfer with id 99"* ]] || fail "log 99: $err"
err=$(scow-sync log 2>&1); [ $? = 2 ] || fail "log without an id: $err"
err=$(scow-sync log x 2>&1); [ $? = 2 ] && [[ $err == *"'x'"* ]] || fail "log x: $err"
# Into a reader that stops early (| head): no complaint about the pipe.
head -c 200000 /dev/zero | tr '\0' 'x' | fold -w 99 |
	sed 's/^/2026-11-30T00:00:00+0000 [1] info: filler /' >>"$state/scow-sync.log"
scow-sync log 1 2>"$T/head.err" | head -1 >/dev/null
[ ! -s "$T/head.err" ] || fail "log into head complains: $(cat "$T/head.err")"

# Rotation: a limit of 1 MiB, a log already past it, and four transfers
# writing at once. Each line goes whole to one file; the oldest rotated
# file is the third; nothing else is lost than what went past it.
export SCOW_SYNC_LOG_MAX_MIB=1
head -c 1100000 /dev/zero | tr '\0' 'x' | fold -w 99 |
	sed 's/^/2026-11-30T00:00:00+0000 [0] info: filler /' >>"$state/scow-sync.log"
before=$(cat "$state/scow-sync.log" | wc -l)
for i in 1 2 3 4; do
	scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/rot$i" -m 3 \
		-p "$SSHD_PORT" -k "$SSH_KEY" &
done
wait
[ -f "$state/scow-sync.log.1" ] || fail "the log was not rotated"
[ "$(stat -c %s "$state/scow-sync.log")" -lt 1048576 ] || fail "the new log is already too big"
for f in "$state"/scow-sync.log*; do
	[ "$(stat -c %a "$f")" = 600 ] || [[ $f == *.lock ]] || fail "$f is not private"
done
# Each of the four transfers logged its start and end, into one of the files.
for id in 3 4 5 6; do
	scow-sync log "$id" | grep -q "transfer of '" || fail "transfer $id's start is lost"
	scow-sync log "$id" | grep -qE "transfer done after" || fail "transfer $id's end is lost"
done
after=$(cat "$state"/scow-sync.log.[0-9] "$state/scow-sync.log" | grep -c .)
[ "$after" -gt "$before" ] || fail "lines were lost in the rotation ($before, then $after)"
cat "$state"/scow-sync.log* 2>/dev/null | grep -av '^2026-11-30T00:00:00+0000 \[0\] info: filler x*$' |
	grep -avE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[+-][0-9]{4} \[[0-9]+\] (info|warning|error): ' &&
	fail "a torn line in the logs"
unset SCOW_SYNC_LOG_MAX_MIB

# A transfer of many units names the first 100 done, then counts the rest
# (all of them by name at -v): it cannot rotate its own start away.
many=$T/src/many
mkdir -p "$many"
for i in $(seq 300); do echo "$i" >"$many/f$i"; done
scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$many" -d "$T/many1" -m 1 \
	-p "$SSHD_PORT" -k "$SSH_KEY" || fail "run of many units exited $?"
id=$(scow-sync query --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["transfers"][0]["id"])')
n=$(scow-sync log "$id" | grep -c "info: done '")
[ "$n" = 100 ] || fail "$n units named in the log, not 100"
scow-sync log "$id" | grep -q "info: 300 of 300 units done; 200 more since the last count" ||
	fail "the units done are not counted: $(scow-sync log "$id" | tail -3)"
scow-sync run -v -a "$SSH_HOST" -u "$SSH_USER" -s "$many" -d "$T/many2" -m 1 \
	-p "$SSHD_PORT" -k "$SSH_KEY" 2>/dev/null || fail "run -v of many units exited $?"
n=$(scow-sync log "$((id + 1))" | grep -c "] \(info\|debug\): done '")
[ "$n" = 300 ] || fail "$n units named in the log at -v, not 300"

# The first lines written again after a rotation show only where the lines
# they repeat are gone: 90 lost its start, 91 did not.
state2=$T/state2
mkdir -m 700 "$state2"
line() { echo "2026-11-30T00:00:0$1+0000 [$2] info: $3"; }
{ line 0 91 "transfer of 'b' started"; } >"$state2/scow-sync.log.2"
{ line 1 90 "(from the start) transfer of 'a' started"; line 1 91 "(from the start) transfer of 'b' started"
  line 1 90 "middle"; line 1 91 "middle"; } >"$state2/scow-sync.log.1"
{ line 2 90 "(from the start) transfer of 'a' started"; line 2 91 "(from the start) transfer of 'b' started"
  line 3 90 "transfer done"; line 3 91 "transfer done"; } >"$state2/scow-sync.log"
[ "$(SCOW_SYNC_HOME=$state2 scow-sync log 90 | cut -d' ' -f3-)" = "info: (from the start) transfer of 'a' started
info: middle
info: transfer done" ] || fail "log 90: $(SCOW_SYNC_HOME=$state2 scow-sync log 90)"
[ "$(SCOW_SYNC_HOME=$state2 scow-sync log 91 | cut -d' ' -f3-)" = "info: transfer of 'b' started
info: middle
info: transfer done" ] || fail "log 91: $(SCOW_SYNC_HOME=$state2 scow-sync log 91)"

no_processes_left || fail "processes left behind"
finish
