#!/bin/bash
# A far side that is not root (emulated: sshd runs every command as nobody),
# a directory above the cut read-only in the source, and a file in it that
# changes while the last rsync sends it: it is sent again, so that last
# rsync must not have made the directory read-only already. At the end the
# directory has its mode and time all the same.
# Then, above the cut and below it, at two depths: directories of a group
# the far user is not in (kept as its own, as a plain rsync -a as that user
# does, with no error and no second try), a read-only one that gets a new
# directory and file under it on a run after the first, and modes and
# times changed alone: each run leaves the copy's modes and times the
# source's.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root to run the far side as another user"
command -v setpriv >/dev/null || skip "setpriv is not installed"
log=$HOME/scow/.scow-sync/scow-sync.log
chmod 755 "$T"
echo "ForceCommand setpriv --reuid=65534 --regid=65534 --clear-groups sh -c \"\$SSH_ORIGINAL_COMMAND\"" \
	>>"$T/sshd_config"
"$SSHD" -t -f "$T/sshd_config" || { echo "sshd -t rejected the ForceCommand"; exit 99; }
kill -HUP "$(cat "$T/sshd.pid")"
far_id() {
	ssh -F none -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o LogLevel=ERROR -i "$SSH_KEY" -p "$SSHD_PORT" "$SSH_USER@$SSH_HOST" 'id -u' 2>/dev/null |
		grep -qx 65534
}
wait_for 10 far_id || { echo "the far side does not run as nobody"; exit 99; }
mkdir -p "$T/dst"
chown 65534:65534 "$T/dst"
src=$T/src/top
mkdir -p "$src/a"
head -c 4000000 /dev/urandom > "$src/a/f"
touch -d @1500000000.5 "$src/a"
chmod 0555 "$src/a"
export SCOW_SYNC_SPLIT_MIB=0 SCOW_SYNC_WORKERS=1 SCOW_SYNC_BWLIMIT=1000
id=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst" -m 2 \
	-p "$SSHD_PORT" -k "$SSH_KEY") || fail "start exited $?"
sleep 1.5
chmod 0755 "$src/a"
head -c 1000 /dev/urandom >> "$src/a/f"
touch -d @1500000000.5 "$src/a"
chmod 0555 "$src/a"
wait_for 60 transfer_ended "$id" || fail "the transfer did not end"
grep -q "\[$id\] warning: 'top/a/f' changed while it was being sent; sending it again" "$log" ||
	fail "the file was not sent again (the change came too late?)"
[ "$(transfer_state "$id")" = done ] || fail "the transfer is $(transfer_state "$id"): $(grep "\[$id\] error" "$log" | head -1)"
cmp -s "$src/a/f" "$T/dst/top/a/f" || fail "the copy differs"
[ "$(stat -c '%a %.9Y' "$T/dst/top/a")" = "555 1500000000.500000000" ] ||
	fail "the directory is $(stat -c '%a %.9Y' "$T/dst/top/a")"

# Every entry's mode and time, to the nanosecond.
modes_times() { (cd "$1" && find . -exec stat -c '%n %a %.9Y' {} + | sort); }
src=$T/src2/top
mkdir -p "$src/ro/sub" "$src/x/y/z"
echo f >"$src/ro/sub/f"
echo g >"$src/ro/g"
echo h >"$src/x/y/z/h"
chgrp -R daemon "$src"
chmod 0555 "$src/ro"
chmod 0750 "$src/x"
touch -d @1500000000.25 "$src/ro/sub" "$src/x/y/z" "$src/x/y" "$src/x" "$src/ro" "$src"
export SCOW_SYNC_WORKERS=2
unset SCOW_SYNC_BWLIMIT
mkdir "$T/dst2-2" "$T/dst2-3"
chown 65534:65534 "$T/dst2-2" "$T/dst2-3"
run2() {   # run2 DEPTH WHAT
	local id
	scow-sync -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst2-$1" -m "$1" \
		-p "$SSHD_PORT" -k "$SSH_KEY" -q 2>"$T/err" || fail "-m $1, $2: exited $?: $(cat "$T/err")"
	id=$(sed -n 's/.*\[\([0-9]*\)\] info: transfer of .*/\1/p' "$log" | tail -n 1)
	diff <(modes_times "$src") <(modes_times "$T/dst2-$1/top") >"$T/diff" ||
		fail "-m $1, $2: modes or times differ: $(cat "$T/diff")"
	grep -E "\[$id\] (warning|error)|\[$id\] info: cannot set the attributes" "$log" &&
		fail "-m $1, $2: warned, failed or tried twice"
}
for depth in 2 3; do
	run2 "$depth" "fresh"
done
# Something new in the read-only directory above the cut.
chmod 0755 "$src/ro"
mkdir "$src/ro/new"
echo n >"$src/ro/new/n"
echo m >"$src/ro/m"
touch -d @1500000000.25 "$src/ro/new"
chmod 0555 "$src/ro"
touch -d @1500000001.5 "$src/ro"
for depth in 2 3; do
	run2 "$depth" "new under a read-only directory"
done
# A mode and a time alone, of a directory above the cut at both depths
# (nothing else to send: no rsync runs), then of directories at the cut,
# below it and above it (x/y at -m 3).
chmod 0700 "$src/x"
touch -d @1400000000.75 "$src/x"
for depth in 2 3; do
	run2 "$depth" "a mode and time changed alone"
done
chmod 0555 "$src/x/y"
touch -d @1400000000.75 "$src/x/y/z" "$src/ro/sub"
touch -d @1400000001 "$src/x/y"
for depth in 2 3; do
	run2 "$depth" "modes and times below the cut"
done
chmod 0755 "$src/x/y" "$src/ro"

no_processes_left || fail "processes left at the end"
finish
