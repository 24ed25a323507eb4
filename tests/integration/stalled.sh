#!/bin/bash
# A far side that stops answering on a live connection (the link is up,
# ssh's keepalives pass) must not hold a transfer for ever:
#  (a) an rsync whose far side stops (SIGSTOP) ends after io_timeout with
#      rsync's timeout, and the unit is retried and arrives.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

log=$HOME/scow/.scow-sync/scow-sync.log
sshd_pid=$(cat "$T/sshd.pid")

# The rsync servers our sshd runs (the far side), by their ancestry.
far_rsyncs() {
	local p q
	for p in $(pgrep -x rsync); do
		q=$p
		while [ "$q" -gt 1 ]; do
			[ "$q" = "$sshd_pid" ] && { echo "$p"; break; }
			q=$(awk '{print $4}' "/proc/$q/stat" 2>/dev/null) || break
		done
	done
}

# (a) rsync's own timeout, from the setting.
mkdir -p "$T/src/a"
head -c 6000000 /dev/urandom >"$T/src/a/big"
id=$(SCOW_SYNC_IO_TIMEOUT=3 SCOW_SYNC_BWLIMIT=1000 scow-sync start -a "$SSH_HOST" \
	-u "$SSH_USER" -p "$SSHD_PORT" -k "$SSH_KEY" -s "$T/src/a" -d "$T/far-a" -m 1) ||
	fail "(a) start failed"
wait_for 20 eval '[ -n "$(far_rsyncs)" ] && query_has_file "$T/src/a/big"' ||
	fail "(a) the far side's rsync did not start"
stopped=$(far_rsyncs)
kill -STOP $stopped
wait_for 30 grep -q "timeout in data send/receive), retrying" "$log" ||
	fail "(a) no timeout and retry while the far side was stopped"
wait_for 60 transfer_ended "$id" || fail "(a) the transfer did not end"
[ "$(transfer_state "$id")" = done ] || fail "(a) state $(transfer_state "$id")"
cmp -s "$T/src/a/big" "$T/far-a/a/big" || fail "(a) the file differs"
kill -KILL $stopped 2>/dev/null
finish
