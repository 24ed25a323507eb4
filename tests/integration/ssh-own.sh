#!/bin/bash
# ssh as the user has it: from a shell, without -k and without the portal's
# key, a transfer logs in as `rsync -e ssh` would: a Host alias of the ssh
# configuration (its HostName, User, Port, IdentityFile, ProxyJump), the
# user's ssh-agent. The portal's names keep wanting the portal's key.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

make_sample_tree "$T/src/data"
[ ! -e "$HOME/scow/.scow-sync-ssh/id_rsa" ] || fail "the harness made the portal's key"

# A Host alias, as ~/.ssh/config has it (-F through SCOW_SYNC_SSH_CONFIG:
# ssh reads the account's own ~/.ssh/config, not $HOME's).
cat >"$T/ssh_config" <<EOF
Host far
	HostName $SSH_HOST
	Port $SSHD_PORT
	User $SSH_USER
	IdentityFile $SSH_KEY
	IdentitiesOnly yes
	# ssh reads the account's ~/.ssh, not $HOME's: the jump's ssh too.
	UserKnownHostsFile $HOME/.ssh/known_hosts
	StrictHostKeyChecking accept-new
	BatchMode yes
Host far-behind
	HostName $SSH_HOST
	Port $SSHD_PORT
	User $SSH_USER
	IdentityFile $SSH_KEY
	ProxyJump far
Host far-nokey
	HostName $SSH_HOST
	Port $SSHD_PORT
	User $SSH_USER
EOF
export SCOW_SYNC_SSH_CONFIG=$T/ssh_config

# No -u, -p or -k: all of it from the alias.
scow-sync run -q -a far -s "$T/src/data" -d "$T/far" 2>"$T/alias.err" ||
	fail "run to the alias: $(cat "$T/alias.err")"
tree_equal "$T/src/data" "$T/far/data" || fail "the alias's copy differs"
# Recorded as whom ssh logged in as, and where: the alias's User and Port.
recorded=$(store_sql "SELECT address, user, port, length(key_path) FROM transfers")
[ "$recorded" = "far $SSH_USER $SSHD_PORT 0" ] || fail "recorded: $recorded"

# The same from start, polled as the portal polls: it runs detached.
id=$(scow-sync start -a far -s "$T/src/data" -d "$T/far2" 2>"$T/start.err") ||
	fail "start to the alias: $(cat "$T/start.err")"
wait_for 60 transfer_ended "$id" || fail "start to the alias did not finish"
[ "$(transfer_state "$id")" = done ] || fail "start to the alias: $(transfer_state "$id")"
tree_equal "$T/src/data" "$T/far2/data" || fail "start's copy differs"

# -c answers for the alias too.
out=$(scow-sync start -a far -c 2>"$T/check.err"); rc=$?
[ "$rc" = 0 ] && [ "$out" = true ] || fail "-c for the alias: rc=$rc out='$out' $(cat "$T/check.err")"

# A User of the configuration's that cannot be taken: said, not replaced by
# the local account's name.
printf 'Host far-realm\n\tHostName %s\n\tPort %s\n\tUser nosuch@REALM.EXAMPLE\n' \
	"$SSH_HOST" "$SSHD_PORT" >>"$T/ssh_config"
scow-sync run -q -a far-realm -s "$T/src/data" -d "$T/realm" 2>"$T/realm.err"; rc=$?
[ "$rc" = 2 ] || fail "a configuration's user with '@': exit $rc: $(cat "$T/realm.err")"
grep -q "the ssh configuration's user for 'far-realm'" "$T/realm.err" ||
	fail "a configuration's user with '@' says: $(cat "$T/realm.err")"
[ ! -e "$T/realm" ] || fail "a configuration's user with '@': something arrived"

# A host behind a ProxyJump (its jump host is the alias).
scow-sync run -q -a far-behind -s "$T/src/data" -d "$T/behind" 2>"$T/behind.err" ||
	fail "run through ProxyJump: $(cat "$T/behind.err")"
tree_equal "$T/src/data" "$T/behind/data" || fail "the copy through ProxyJump differs"

# Flags win over the configuration, as with ssh: a -p nobody listens on.
scow-sync run -q -a far -p 1 -s "$T/src/data" -d "$T/flag-port" 2>"$T/port.err" &&
	fail "-p 1 went through: the configuration's Port won"
grep -q "port 1\b\|Connection refused" "$T/port.err" || fail "-p 1: $(cat "$T/port.err")"

# No identity at all: a clear error, no copy, and the record says failed.
scow-sync run -q -a far-nokey -s "$T/src/data" -d "$T/nokey" 2>"$T/nokey.err" &&
	fail "a login without any identity went through"
[ "$(wc -l <"$T/nokey.err")" -ge 1 ] || fail "no identity: nothing said"
grep -qi "permission denied\|cannot log in\|publickey" "$T/nokey.err" ||
	fail "no identity: unclear error: $(cat "$T/nokey.err")"
[ ! -e "$T/nokey/data" ] || fail "no identity: data arrived"

# The user's ssh-agent holds the key: the same alias now works.
eval "$(ssh-agent -s)" >/dev/null || fail "cannot start ssh-agent"
trap '[ -z "${SSH_AGENT_PID:-}" ] || kill "$SSH_AGENT_PID"; cleanup' EXIT
ssh-add -q "$SSH_KEY" 2>/dev/null || fail "ssh-add refused the key"
scow-sync run -q -a far-nokey -s "$T/src/data" -d "$T/agent" 2>"$T/agent.err" ||
	fail "run with the agent's key: $(cat "$T/agent.err")"
tree_equal "$T/src/data" "$T/agent/data" || fail "the copy through the agent differs"
# And so does a plain address, with -p, as `rsync -e 'ssh -p N'` would.
scow-sync run -q -a "$SSH_HOST" -p "$SSHD_PORT" -s "$T/src/data" -d "$T/plain" \
	2>"$T/plain.err" || fail "run by address with the agent: $(cat "$T/plain.err")"
tree_equal "$T/src/data" "$T/plain/data" || fail "the copy by address differs"
kill "$SSH_AGENT_PID"
unset SSH_AUTH_SOCK SSH_AGENT_PID

# The portal's name without -k still wants the portal's key, as it always did.
out=$(scow-sync-start -a far -u "$SSH_USER" -p "$SSHD_PORT" -s "$T/src/data" \
	-d "$T/legacy" -m 1 2>&1); rc=$?
[ "$rc" != 0 ] || fail "scow-sync-start without the portal's key started"
case $out in
*"cannot read key '$HOME/scow/.scow-sync-ssh/id_rsa'"*) ;;
*) fail "scow-sync-start without the portal's key said: $out" ;;
esac

# Where the portal's key is, a shell's transfer uses it, as before.
mkdir -p "$HOME/scow/.scow-sync-ssh"
cp "$SSH_KEY" "$HOME/scow/.scow-sync-ssh/id_rsa"
scow-sync run -q -a far-nokey -s "$T/src/data" -d "$T/portal-key" 2>"$T/portal-key.err" ||
	fail "run with the portal's key: $(cat "$T/portal-key.err")"
tree_equal "$T/src/data" "$T/portal-key/data" || fail "the copy with the portal's key differs"
finish
