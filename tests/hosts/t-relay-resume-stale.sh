#!/bin/bash
# terminate --id of the request while h1's batch of many small units runs:
# h1 has some of them whole (their bytes counted) but not done. Between
# the runs h1's copies of those change (same size and time; the source's
# do not). On resume h1's check finds them there and marks them done
# without sending them: the fed hosts, which never had them, must get the
# source's bytes, not h1's.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/hosts/lib.sh"
key=(-u "$HOSTS_USER" -k "$HOSTS_KEY")
log=$HOME/scow/.scow-sync/scow-sync.log
db=$HOME/scow/.scow-sync/scow-sync.db
src=$T/src/data
mkdir -p "$src"
for i in $(seq -w 1 40); do head -c 150000 /dev/urandom >"$src/f$i"; done
net shape src 3mbit
hstate() { on_src scow-sync query --json --id "$1" | python3 -c '
import json,sys
t=json.load(sys.stdin)["transfers"][0]
print(t["state"], " ".join(h["state"] for h in t["hosts"]))'; }
on_src scow-sync start -a "$(addrs 1 2 3)" "${key[@]}" -s "$src" -d rs >"$T/s" 2>"$T/e" || fail "start: $(cat "$T/e")"
id=$(cat "$T/s")
have_some() { [ "$(ls "$HOSTS_HOME_1/rs/data" 2>/dev/null | wc -l)" -ge 3 ]; }
wait_for 60 have_some || fail "h1 never had 3 files"
on_src scow-sync terminate --id "$id" >"$T/term" 2>&1 || fail "terminate: $(cat "$T/term")"
wait_for 30 eval '[ "$(hstate $id | cut -d" " -f1)" != running ]'
net shape src none
wait_for 30 eval '[ -z "$(all_host_pids)" ]'
changed=$(python3 - "$db" "$HOSTS_ADDR_1" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
rows = c.execute("SELECT u.path FROM units u JOIN transfers t ON t.id = u.transfer_id "
                 "WHERE t.address = ? AND u.state != 'done' AND u.bytes_total > 0 "
                 "AND u.bytes_done = u.bytes_total", (sys.argv[2],)).fetchall()
print(" ".join((r[0].decode() if isinstance(r[0], bytes) else r[0]).split("/", 1)[1] for r in rows))
PY
)
# The fed hosts get everything else beforehand (same bytes and times), so
# that what they need is only those units.
for k in 2 3; do
	home=HOSTS_HOME_$k
	mkdir -p "${!home}/rs/data"
	for f in "$src"/f*; do
		n=${f##*/}
		case " $changed " in *" $n "*) rm -f "${!home}/rs/data/$n"; continue ;; esac
		cp -p "$f" "${!home}/rs/data/$n"
	done
done
for n in $changed; do
	f=$src/$n
	g=$HOSTS_HOME_1/rs/data/$n
	touch -r "$g" "$T/stamp"
	head -c 150000 /dev/urandom >"$g"
	touch -r "$T/stamp" "$g"
done
[ -n "$changed" ] || skip "no unit of h1's was whole but not done when the request stopped"
sleep 1.1
on_src scow-sync resume "$id" >"$T/r" 2>&1 || fail "resume: $(cat "$T/r")"
wait_for 200 eval '[ "$(hstate $id | cut -d" " -f1)" != running ]' || fail "resume not ended"
[ "$(hstate "$id")" = "done done done done" ] || fail "after resume: $(hstate "$id")"
for k in 2 3; do
	home=HOSTS_HOME_$k
	for n in $changed; do
		if ! cmp -s "$src/$n" "${!home}/rs/data/$n"; then
			if cmp -s "$HOSTS_HOME_1/rs/data/$n" "${!home}/rs/data/$n"; then
				fail "h$k $n: h1's bytes from the earlier run, not the source's"
			else
				fail "h$k $n differs from the source"
			fi
		fi
	done
done
finish
