#!/bin/bash
# scow-sync-start -c: exactly true or false, exit 0 either way, and false
# only when the key itself is the problem.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

check() {
	scow-sync-start -a "$1" -u "$SSH_USER" -p "$2" -k "$3" -c 2>>"$T/check.err"
}

# A site that publishes its hosts' keys (GlobalKnownHostsFile, as
# /etc/ssh/ssh_known_hosts) names another key for this host: whoever
# answers is not that host. The check must refuse it as OpenSSH does,
# learn nothing, and say true (no answer about the key, which is not the
# problem), and the transfers that follow must refuse it too.
ssh-keygen -q -t ed25519 -N '' -f "$T/real_host_key"
echo "[$SSH_HOST]:$SSHD_PORT $(cut -d' ' -f1,2 "$T/real_host_key.pub")" >"$T/site_known_hosts"
printf 'GlobalKnownHostsFile %s\n' "$T/site_known_hosts" >"$T/site_config"
out=$(SCOW_SYNC_SSH_CONFIG=$T/site_config check "$SSH_HOST" "$SSHD_PORT" "$SSH_KEY"); rc=$?
[ "$rc" = 0 ] && [ "$out" = true ] || fail "impostor: rc=$rc out='$out'"
[ ! -s "$HOME/.ssh/known_hosts" ] ||
	fail "impostor's key learned: $(cat "$HOME/.ssh/known_hosts")"
grep -q "host key" "$T/check.err" || fail "impostor: no reason on stderr"
mkdir -p "$T/src/data"; echo hello >"$T/src/data/f"
SCOW_SYNC_SSH_CONFIG=$T/site_config scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" \
	-p "$SSHD_PORT" -k "$SSH_KEY" -s "$T/src/data" -d "$T/far" -m 1 2>/dev/null &&
	fail "a transfer went to the impostor after the check"
[ ! -e "$T/far/data/f" ] || fail "the impostor received data"

# The same key in the user's known_hosts2, which ssh reads beside
# known_hosts: the check must not learn the impostor's into known_hosts.
mkdir -p "$HOME/.ssh"
cp "$T/site_known_hosts" "$HOME/.ssh/known_hosts2"
out=$(check "$SSH_HOST" "$SSHD_PORT" "$SSH_KEY"); rc=$?
[ "$rc" = 0 ] && [ "$out" = true ] || fail "impostor, known_hosts2: rc=$rc out='$out'"
[ ! -s "$HOME/.ssh/known_hosts" ] ||
	fail "impostor's key learned beside known_hosts2: $(cat "$HOME/.ssh/known_hosts")"
rm -f "$HOME/.ssh/known_hosts2" "$HOME/.ssh/known_hosts"

out=$(check "$SSH_HOST" "$SSHD_PORT" "$SSH_KEY"); rc=$?
[ "$rc" = 0 ] || fail "check with the right key exited $rc"
[ "$out" = true ] || fail "check with the right key printed '$out'"
# No newline when stdout is not a terminal.
[ "$(check "$SSH_HOST" "$SSHD_PORT" "$SSH_KEY" | od -An -c | tr -d ' \n')" = true ] ||
	fail "check printed more than 'true'"
# The unknown host was learned, as OpenSSH's accept-new does, and ssh agrees.
grep -q "^\[$SSH_HOST\]:$SSHD_PORT " "$HOME/.ssh/known_hosts" ||
	fail "host key not learned into \$HOME/.ssh/known_hosts"
ssh -F none -o BatchMode=yes -o StrictHostKeyChecking=yes \
	-o UserKnownHostsFile="$HOME/.ssh/known_hosts" -i "$SSH_KEY" -p "$SSHD_PORT" \
	"$SSH_USER@$SSH_HOST" true || fail "ssh does not accept the learned host key"

ssh-keygen -q -t rsa -b 2048 -N '' -f "$T/other_key"
out=$(check "$SSH_HOST" "$SSHD_PORT" "$T/other_key"); rc=$?
[ "$rc" = 0 ] || fail "check with a refused key exited $rc"
[ "$out" = false ] || fail "check with a refused key printed '$out'"

out=$(check "$SSH_HOST" "$SSHD_PORT" "$T/no-such-key"); rc=$?
[ "$rc" = 0 ] && [ "$out" = false ] || fail "missing key: rc=$rc out='$out'"

# Nobody listens here: no answer about the key, so no reason to replace it.
out=$(check "$SSH_HOST" 1 "$SSH_KEY"); rc=$?
[ "$rc" = 0 ] && [ "$out" = true ] || fail "closed port: rc=$rc out='$out'"
grep -q "cannot connect" "$T/check.err" || fail "closed port: no reason on stderr"
finish
