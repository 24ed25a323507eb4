#!/bin/bash
# A far side that is not root (emulated: sshd runs every command as nobody),
# a directory above the cut read-only in the source, and a file in it that
# changes while the last rsync sends it: it is sent again, so that last
# rsync must not have made the directory read-only already. At the end the
# directory has its mode and time all the same.
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
no_processes_left || fail "processes left at the end"
finish
