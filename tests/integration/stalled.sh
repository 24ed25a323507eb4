#!/bin/bash
# A far side that stops answering on a live connection (the link is up,
# ssh's keepalives pass) must not hold a transfer for ever:
#  (a) an rsync whose far side stops (SIGSTOP) ends after io_timeout with
#      rsync's timeout, and the unit is retried and arrives;
#  (b) a remote command that never answers (the first mkdir): SIGTERM to
#      the supervisor still ends it, and all of it, at once, also a
#      connection kept for the next transfer, which the stuck command holds;
#  (c) the same, with the supervisor killed (-9) and an ssh that outlived
#      it (its wrapper does not exec): nothing of the transfer is left
#      after terminate.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

log=$HOME/scow/.scow-sync/scow-sync.log

# The rsync servers our sshd runs (the far side).
far_rsyncs() { far_procs '^rsync --server'; }

# (b) and (c) first: after (a), the far side's answer is known, and the
# first rsync makes the directories, with no command of its own.

# An ssh whose first remote command never ends: a sleep of a length no one
# else uses, so that it can be ended at the end. Not the master, ssh -G,
# the SFTP session that times the link, nor the far side's lock (which
# holds its own session for the whole transfer): the mkdir that follows.
nap=599.$$
cat >"$T/ssh-hang" <<EOW
#!/bin/bash
case " \$* " in
*" -N "*|*" -O "*|*" -G "*|*" sftp "*|*flock*) ;;
*)	if mkdir "$T/hung" 2>/dev/null; then
		set -- "\${@:1:\$#-1}" "sleep $nap"
	fi ;;
esac
[ -n "\${NO_EXEC:-}" ] && { ssh "\$@"; exit; }
exec ssh "\$@"
EOW
chmod +x "$T/ssh-hang"
sup_of() {
	python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1], timeout=15).execute("SELECT sup_pid FROM transfers WHERE id = ?", (int(sys.argv[2]),)).fetchone()[0])' \
		"$HOME/scow/.scow-sync/scow-sync.db" "$1"
}
hung_start() {   # hung_start NAME: start a transfer whose mkdir (of NAME/sub) hangs
	rm -rf "$T/hung"
	mkdir -p "$T/src/$1/sub"
	echo x >"$T/src/$1/sub/f"
	SCOW_SYNC_SSH=$T/ssh-hang scow-sync start -a "$SSH_HOST" -u "$SSH_USER" \
		-p "$SSHD_PORT" -k "$SSH_KEY" -s "$T/src/$1" -d "$T/far-$1" -m 3
}
far_naps() { pgrep -fx "sleep $nap"; }

# SIGTERM to transfer $2's supervisor (case $1): it must be gone within $3 s.
term_supervisor() {
	local sup
	sup=$(sup_of "$2")
	kill -TERM "$sup"
	wait_for "$3" eval '! kill -0 "$sup" 2>/dev/null' ||
		fail "($1) supervisor still there $3 s after SIGTERM"
}

# (b)
id=$(hung_start b) || fail "(b) start failed"
wait_for 20 eval '[ -d "$T/hung" ] && [ -n "$(far_naps)" ]' || fail "(b) the mkdir did not hang"
term_supervisor b "$id" 10
wait_for 10 transfer_ended "$id" || fail "(b) the transfer did not end"
[ "$(transfer_state "$id")" = interrupted ] || fail "(b) state $(transfer_state "$id")"
no_processes_left || fail "(b) processes left after SIGTERM"
for p in $(far_naps); do kill "$p"; done

# (b) with a kept connection: the far side's command still holds a
# session of it, and a connection kept for the next transfer would stay
# as long as that (past keep_connection): it is ended instead.
(export SCOW_SYNC_KEEP_CONNECTION=60 TMPDIR=$T/tmp
mkdir -p "$TMPDIR"
id=$(hung_start b2) || fail "(b2) start failed"
wait_for 20 eval '[ -d "$T/hung" ] && [ -n "$(far_naps)" ]' || fail "(b2) the mkdir did not hang"
term_supervisor b2 "$id" 10
[ "$(transfer_state "$id")" = interrupted ] || fail "(b2) state $(transfer_state "$id")"
no_processes_left || fail "(b2) processes left after SIGTERM (a kept connection?)"
for p in $(far_naps); do kill "$p"; done
exit "$FAILURES") || FAILURES=$((FAILURES + $?))

# (c)
id=$(NO_EXEC=1 hung_start c) || fail "(c) start failed"
wait_for 20 eval '[ -d "$T/hung" ] && [ -n "$(far_naps)" ]' || fail "(c) the mkdir did not hang"
sup=$(sup_of "$id")
kill -KILL "$sup"
wait_for 10 eval '! kill -0 "$sup" 2>/dev/null' || fail "(c) supervisor survived SIGKILL"
scow-sync terminate --id "$id" || fail "(c) terminate failed"
[ "$(transfer_state "$id")" = terminated ] || fail "(c) state $(transfer_state "$id")"
no_processes_left || fail "(c) processes left after kill -9 and terminate"
for p in $(far_naps); do kill "$p"; done

# (d) The far side's lock command never answers: SIGTERM ends the
# supervisor at once all the same, and nothing of it is left.
cat >"$T/ssh-hang-lock" <<EOW
#!/bin/bash
case " \$* " in *flock*) set -- "\${@:1:\$#-1}" "sleep $nap" ;; esac
exec ssh "\$@"
EOW
chmod +x "$T/ssh-hang-lock"
mkdir -p "$T/src/d"
echo x >"$T/src/d/f"
id=$(SCOW_SYNC_SSH=$T/ssh-hang-lock scow-sync start -a "$SSH_HOST" -u "$SSH_USER" \
	-p "$SSHD_PORT" -k "$SSH_KEY" -s "$T/src/d" -d "$T/far-d" -m 1) || fail "(d) start failed"
wait_for 20 eval '[ -n "$(far_naps)" ]' || fail "(d) the lock command did not hang"
term_supervisor d "$id" 15
wait_for 10 transfer_ended "$id" || fail "(d) the transfer did not end"
no_processes_left || fail "(d) processes left after SIGTERM"
for p in $(far_naps); do kill "$p"; done

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
