#!/bin/bash
# keep_connection: the connection of a transfer stays for the next transfer
# to the same place, which then pays no SSH handshake; one transfer uses it
# at a time; it ends by itself; a dead one is replaced.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

export SCOW_SYNC_KEEP_CONNECTION=60
export TMPDIR=$T/tmp
mkdir -p "$TMPDIR"
sockets=$TMPDIR/scow-sync-$(id -u)

make_ssh_counter
export SCOW_SYNC_SSH=$T/ssh-count
masters() { masters_started; }
no_kept() { [ -z "$(kept_masters)" ]; }

src=$T/src/data
make_sample_tree "$src"
run_to() {   # run_to DST [more flags]: a foreground transfer of $src
	local dst=$1
	shift
	mkdir -p "$dst"
	scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dst" -m 1 \
		-p "$SSHD_PORT" -k "$SSH_KEY" "$@"
}

# Two transfers in a row: one handshake.
run_to "$T/dst1" || fail "first run exited $?"
tree_equal "$src" "$T/dst1/data" || fail "first run: destination differs"
run_to "$T/dst1" || fail "re-sync exited $?"
run_to "$T/dst2" || fail "second copy exited $?"
tree_equal "$src" "$T/dst2/data" || fail "second copy: destination differs"
[ "$(masters)" = 1 ] || fail "three transfers started $(masters) connections, want 1"

# What stays is one ssh, in a session of its own (a terminal's ^C or a
# hang-up of the caller's session does not reach it), and its socket.
kept=$(kept_masters)
[ "$(echo "$kept" | grep -c .)" = 1 ] || fail "kept connections: '$kept', want one"
if [ -n "$kept" ]; then
	sid=$(ps -o sid= -p "$kept" | tr -d ' ')
	[ "$sid" = "$kept" ] || fail "the kept connection is in session $sid, not its own"
fi
[ -n "$(find "$sockets" -maxdepth 1 -type s -name 'k-*')" ] || fail "no kept socket in $sockets"

# The portal's start: the detached supervisor takes the same connection,
# and the command's stdout still closes (the kept ssh holds none of it).
out=$(timeout 20 scow-sync-start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst3" -m 1 \
	-p "$SSHD_PORT" -k "$SSH_KEY" 2>"$T/start.err")
rc=$?
[ "$rc" = 0 ] || fail "scow-sync-start exited $rc: $(cat "$T/start.err")"
wait_for 30 transfer_finished || fail "the started transfer did not finish"
tree_equal "$src" "$T/dst3/data" || fail "started transfer: destination differs"
[ "$(masters)" = 1 ] || fail "start made a connection of its own ($(masters) in all)"

# In use by one transfer, the connection is not shared: a second transfer
# at the same time makes its own, which ends with it.
head -c 3145728 /dev/urandom >"$T/src/slow.bin"
mkdir -p "$T/dst-slow"
SCOW_SYNC_BWLIMIT=1024 scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$T/src/slow.bin" \
	-d "$T/dst-slow" -p "$SSHD_PORT" -k "$SSH_KEY" &
slow=$!
slow_begun() { [ -n "$(find "$T/dst-slow" -name '*slow.bin*' 2>/dev/null)" ]; }
wait_for 10 slow_begun || fail "the slow transfer did not begin"
run_to "$T/dst4" || fail "a transfer beside another exited $?"
tree_equal "$src" "$T/dst4/data" || fail "a transfer beside another: destination differs"
[ "$(masters)" = 2 ] || fail "a transfer beside another used the busy connection ($(masters))"
wait "$slow" || fail "the slow transfer exited $?"
cmp -s "$T/src/slow.bin" "$T/dst-slow/slow.bin" || fail "slow.bin differs"
[ "$(kept_masters | grep -c .)" = 1 ] || fail "after two at once: $(kept_masters | grep -c .) kept"

# Killed outright, it leaves its socket: the next transfer starts another.
kill -9 $(kept_masters) 2>/dev/null
wait_for 5 no_kept || fail "the kept connection did not die"
run_to "$T/dst5" || fail "a transfer after the kept connection was killed exited $?"
tree_equal "$src" "$T/dst5/data" || fail "after a kill: destination differs"
[ "$(masters)" = 3 ] || fail "after a kill: $(masters) connections, want 3"

# Its working directory is /, not the caller's (a file system the caller
# is in could not be unmounted while it stays).
[ "$(readlink "/proc/$(kept_masters | head -n 1)/cwd")" = / ] ||
	fail "the kept connection works in $(readlink "/proc/$(kept_masters | head -n 1)/cwd")"

# Ended after a transfer took it, before its first rsync (here killed while
# the transfer waits for a busy store): the transfer connects again and sends
# everything, instead of ending "done" with nothing sent.
lock_store 3 || fail "the store was not locked"
locker=$LOCKER_PID
run_to "$T/dst-lost" &
lost=$!
sleep 1
# Outright: its socket stays, and only the connection held to it tells.
kill -9 $(kept_masters) 2>/dev/null
wait "$locker"
wait "$lost" || fail "a transfer whose kept connection ended exited $?"
tree_equal "$src" "$T/dst-lost/data" || fail "a transfer whose kept connection ended: destination differs"
grep -q "kept connection .* ended before its use; connecting again" \
	"$HOME/scow/.scow-sync/scow-sync.log" || fail "the lost kept connection is not in the log"
[ "$(masters)" = 4 ] || fail "after the lost connection: $(masters) connections, want 4"

# Taken, it does not run out of time while the transfer gets ready (here
# 4 s waiting for a busy store, with keep_connection=2).
kill $(kept_masters) 2>/dev/null
wait_for 5 no_kept || fail "the kept connection did not stop on SIGTERM"
SCOW_SYNC_KEEP_CONNECTION=2 run_to "$T/dst-short" || fail "a transfer with keep_connection=2 exited $?"
before=$(masters)
lock_store 4 || fail "the store was not locked"
locker=$LOCKER_PID
run_to "$T/dst-short2" || fail "a transfer that waited with a short kept connection exited $?"
wait "$locker"
tree_equal "$src" "$T/dst-short2/data" || fail "a transfer that waited: destination differs"
[ "$(masters)" = "$before" ] || fail "the kept connection ran out while it was taken"
[ "$(grep -c "ended before its use" "$HOME/scow/.scow-sync/scow-sync.log")" = 1 ] ||
	fail "a kept connection ended while it was taken"

# known_hosts changed since the connection was made (here: the host's key
# replaced by another): not taken again, the new handshake checks the host
# key and refuses.
kill $(kept_masters) 2>/dev/null   # the one of keep_connection=2 would end by itself
wait_for 5 no_kept || fail "the kept connection did not stop on SIGTERM"
run_to "$T/dst-hk1" || fail "a transfer before known_hosts changed exited $?"
[ -n "$(kept_masters)" ] || fail "nothing kept before known_hosts changed"
cp "$HOME/.ssh/known_hosts" "$T/known_hosts.good"
ssh-keygen -q -t ed25519 -N '' -f "$T/other_host_key"
echo "[$SSH_HOST]:$SSHD_PORT $(cut -d' ' -f1,2 "$T/other_host_key.pub")" >"$HOME/.ssh/known_hosts"
run_to "$T/dst-hk2" 2>"$T/hk.err" && fail "a transfer with a changed host key exited 0"
grep -q "host key has changed" "$T/hk.err" "$HOME/scow/.scow-sync/scow-sync.log" ||
	fail "a changed host key is not reported: $(cat "$T/hk.err")"
[ ! -e "$T/dst-hk2/data" ] || fail "data went to a host whose key changed"
# The stale one was ended (had it stayed, its end would remove the socket
# of the one that took its place).
wait_for 5 no_kept || fail "the connection made before known_hosts changed still runs"
cp "$T/known_hosts.good" "$HOME/.ssh/known_hosts"

# Stale and not answering (stopped): ended or not, the transfer goes on,
# over a connection of its own, in bounded time.
run_to "$T/dst-frozen1" || fail "a transfer before the freeze exited $?"
frozen=$(kept_masters)
kill -STOP $frozen
touch "$HOME/.ssh/known_hosts"
sleep 0.01
SECONDS=0
run_to "$T/dst-frozen2" &
beside=$!
wait_for 30 eval '! kill -0 $beside 2>/dev/null' || kill "$beside"
wait "$beside" || fail "a transfer beside a stopped stale connection exited $?"
[ "$SECONDS" -le 10 ] || fail "a stopped stale connection held a transfer for $SECONDS s"
tree_equal "$src" "$T/dst-frozen2/data" || fail "beside a stopped connection: destination differs"
kill -CONT $frozen 2>/dev/null
kill $(kept_masters) 2>/dev/null
wait_for 5 no_kept || fail "the kept connections did not stop on SIGTERM"

# No known_hosts of the user's (the host key known system-wide, say):
# nothing changed, taken again.
mv "$HOME/.ssh/known_hosts" "$T/known_hosts.moved"
printf 'Host *\n  GlobalKnownHostsFile %s\n' "$T/known_hosts.moved" >"$T/ssh_config"
before=$(masters)
SCOW_SYNC_SSH_CONFIG=$T/ssh_config run_to "$T/dst-global1" || fail "a transfer with global host keys exited $?"
SCOW_SYNC_SSH_CONFIG=$T/ssh_config run_to "$T/dst-global2" || fail "a second one exited $?"
[ "$(masters)" = $((before + 1)) ] ||
	fail "with no known_hosts of the user's: $(( $(masters) - before )) connections, want 1"
[ ! -e "$HOME/.ssh/known_hosts" ] || fail "a host key known system-wide was learned again"
mv "$T/known_hosts.moved" "$HOME/.ssh/known_hosts"
kill $(kept_masters) 2>/dev/null
wait_for 5 no_kept || fail "the kept connections did not stop on SIGTERM"

# A TMPDIR that leaves no room for ssh's longer temporary socket name: a
# connection of the transfer's own, as with keep_connection=0.
long=$T/tmp/$(printf "x%.0s" $(seq 1 $((60 - ${#T} - 5))))
mkdir -p "$long"
[ "${#long}" = 60 ] || fail "test setup: TMPDIR of ${#long} bytes, want 60 (the longest taken)"
TMPDIR=$long run_to "$T/dst-long" || fail "a transfer with a long TMPDIR exited $?"
tree_equal "$src" "$T/dst-long/data" || fail "a long TMPDIR: destination differs"

# It ends by itself keep_connection seconds after its last transfer, and
# removes its socket.
kill $(kept_masters) 2>/dev/null
wait_for 5 no_kept || fail "the kept connection did not stop on SIGTERM"
SCOW_SYNC_KEEP_CONNECTION=2 run_to "$T/dst6" || fail "a transfer with keep_connection=2 exited $?"
[ -n "$(kept_masters)" ] || fail "keep_connection=2: nothing kept"
wait_for 10 no_kept || fail "keep_connection=2: still there after 10 s"
[ -z "$(find "$sockets" -type s)" ] || fail "a socket outlived its connection: $(ls "$sockets")"

# keep_connection=0: the connection ends with the transfer.
SCOW_SYNC_KEEP_CONNECTION=0 run_to "$T/dst7" || fail "a transfer with keep_connection=0 exited $?"
tree_equal "$src" "$T/dst7/data" || fail "keep_connection=0: destination differs"
no_processes_left || fail "keep_connection=0 left processes"
[ -z "$(find "$sockets" -type s)" ] || fail "keep_connection=0 left a socket"
SCOW_SYNC_KEEP_CONNECTION=0 scow-sync config | grep -q "^keep_connection = 0 " ||
	fail "config does not show keep_connection: $(scow-sync config | grep keep)"

# Another user made the socket directory's name first (in /tmp anyone
# can): the connection is kept all the same, in a directory no one else
# can make (the session's runtime directory, else the state directory),
# and the log says why.
squat=$T/squat/scow-sync-$(id -u)
mkdir -p "$squat"
if [ "$(id -u)" = 0 ] && chown 65534 "$squat"; then
	chmod 755 "$squat"
	before=$(masters)
	(unset XDG_RUNTIME_DIR; TMPDIR=$T/squat run_to "$T/dst-squat1" &&
		TMPDIR=$T/squat run_to "$T/dst-squat2") || fail "a transfer beside a squat exited $?"
	[ "$(masters)" = $((before + 1)) ] ||
		fail "beside a squat: $(( $(masters) - before )) connections, want 1"
	[ -n "$(find "$HOME/scow/.scow-sync/sockets" -type s 2>/dev/null)" ] ||
		fail "beside a squat: no socket in the state directory"
	grep -q "warning: '$squat' belongs to another user (uid 65534)" \
		"$HOME/scow/.scow-sync/scow-sync.log" || fail "the log does not say why"
	[ -z "$(find "$squat" -mindepth 1)" ] || fail "something of ours in the squat"
	kill $(kept_masters) 2>/dev/null
	wait_for 5 no_kept || fail "the kept connection did not stop on SIGTERM"
	mkdir -m 700 "$T/xdg"
	before=$(masters)
	(XDG_RUNTIME_DIR=$T/xdg TMPDIR=$T/squat run_to "$T/dst-squat3" &&
		XDG_RUNTIME_DIR=$T/xdg TMPDIR=$T/squat run_to "$T/dst-squat4") ||
		fail "a transfer beside a squat, with XDG_RUNTIME_DIR, exited $?"
	[ "$(masters)" = $((before + 1)) ] ||
		fail "beside a squat, with XDG_RUNTIME_DIR: $(( $(masters) - before )) connections"
	[ -n "$(find "$T/xdg/scow-sync" -type s 2>/dev/null)" ] ||
		fail "beside a squat: no socket in XDG_RUNTIME_DIR"
	kill $(kept_masters) 2>/dev/null
	wait_for 5 no_kept || fail "the kept connection did not stop on SIGTERM"
else
	echo "not root: the squatted socket directory is not tried"
fi

finish
