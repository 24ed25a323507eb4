#!/bin/bash
# Bad requests: one line naming the value, a non-zero exit, nothing started.
# Failures after detaching are recorded with their reason.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

src=$T/src
mkdir -p "$src"
echo data > "$src/f"

expect_usage() {
	local what=$1; shift
	local err rc
	err=$("$@" 2>&1 >/dev/null); rc=$?
	[ "$rc" = 2 ] || fail "$what: exit $rc, want 2"
	[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "$what: message is not one line: $err"
	case $err in *"$EXPECT"*) ;; *) fail "$what: message '$err' does not name '$EXPECT'";; esac
}

base=(-a "$SSH_HOST" -u "$SSH_USER" -d "$T/dst" -p "$SSHD_PORT" -k "$SSH_KEY")
EXPECT="$T/missing" expect_usage "missing source" scow-sync-start "${base[@]}" -s "$T/missing"
EXPECT="$T/nokey" expect_usage "missing key" scow-sync-start -a "$SSH_HOST" -u "$SSH_USER" \
	-s "$src" -d "$T/dst" -k "$T/nokey"
EXPECT="'70000'" expect_usage "bad port" scow-sync-start "${base[@]}" -s "$src" -p 70000
EXPECT="'x'" expect_usage "bad depth" scow-sync-start "${base[@]}" -s "$src" -m x
EXPECT="'-oProxyCommand=touch $T/pwned'" expect_usage "option as host" \
	scow-sync-start -a "-oProxyCommand=touch $T/pwned" -u "$SSH_USER" -s "$src" -d "$T/dst" -k "$SSH_KEY"
EXPECT="-d" expect_usage "no destination" scow-sync-start -a h -u u -s "$src" -k "$SSH_KEY"
ssh-keygen -q -t ed25519 -N 'a passphrase' -f "$T/locked_key"
EXPECT="protected by a passphrase" expect_usage "key with a passphrase" \
	scow-sync-start "${base[@]}" -s "$src" -k "$T/locked_key"
EXPECT="--bogus" expect_usage "unknown option" scow-sync-start --bogus
# A key open to others: ssh would refuse it.
ssh-keygen -q -t ed25519 -N '' -f "$T/open_key" && chmod 644 "$T/open_key"
EXPECT="bad permissions" expect_usage "key readable by others" \
	scow-sync-start "${base[@]}" -s "$src" -k "$T/open_key"
# Values with line breaks or escape sequences are named escaped, on one line.
EXPECT="'x\\x0a\\x1b[2Jy'" expect_usage "newline in a value" \
	scow-sync-start "${base[@]}" -s "$src" -m $'x\n\e[2Jy'
SCOW_SYNC_WORKERS=$'4\n5' EXPECT="SCOW_SYNC_WORKERS: invalid workers '4\\x0a5'" \
	expect_usage "newline in a setting" scow-sync start "${base[@]}" -s "$src"
[ ! -e "$T/pwned" ] || fail "an option was passed to ssh as a host"
[ ! -e "$HOME/scow/.scow-sync/scow-sync.db" ] || [ "$(scow-sync-query)" = "[]" ] ||
	fail "a rejected request started something"

# A host that refuses: start succeeds (it cannot know yet), the transfer
# fails with a reason in the error log.
scow-sync-start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst" -p 1 -k "$SSH_KEY" ||
	fail "start to a closed port exited $?"
wait_for 60 grep -q "transfer failed" "$HOME/scow/.scow-sync/scow-sync.err" ||
	fail "the failed transfer was not recorded in scow-sync.err"
grep -q "cannot connect" "$HOME/scow/.scow-sync/scow-sync.err" ||
	fail "the reason is not in scow-sync.err"

# The foreground form says so and exits 1. It starts its connection
# before it records the transfer: refused or failed, it leaves nothing in
# TMPDIR but its own empty directory for connections (nor a process, below).
mkdir "$T/tmp"
TMPDIR=$T/tmp scow-sync -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst" -p 1 -k "$SSH_KEY" \
	2>"$T/run.err"
rc=$?
[ "$rc" = 1 ] || fail "foreground run to a closed port exited $rc, want 1"
grep -q "cannot connect" "$T/run.err" || fail "foreground run gave no reason: $(cat "$T/run.err")"
# A refused request never connects: nothing learned, no ~/.ssh made.
mkdir "$T/home2"
HOME=$T/home2 TMPDIR=$T/tmp EXPECT="protected by a passphrase" \
	expect_usage "run with a passphrase key" scow-sync run "${base[@]}" -s "$src" -k "$T/locked_key"
[ ! -e "$T/home2/.ssh" ] || fail "a refused run connected: it made $T/home2/.ssh"
# (At most the private directory for connections, empty, kept for the next run.)
[ -z "$(find "$T/tmp" -mindepth 1 ! -name "scow-sync-$(id -u)")" ] ||
	fail "a refused or failed run left $(find "$T/tmp" -mindepth 1) in TMPDIR"

for cmd in scow-sync-start scow-sync-query scow-sync-terminate scow-sync; do
	"$cmd" --help >/dev/null || fail "$cmd --help exited $?"
	"$cmd" --version | grep -q '^scow-sync [0-9]' || fail "$cmd --version"
done
# A key ssh-keygen accepted is not checked again while neither it nor
# ssh-keygen changes; any change of the key, or another ssh-keygen, and
# it is. (An ssh-keygen that notes each call counts; the transfers go to
# a closed port: exit 1 is a key accepted, exit 2 one refused.)
mkdir -p "$T/counting"
cat >"$T/counting/ssh-keygen" <<EOF
#!/bin/sh
echo called >>"$T/keygen-calls"
exec $(command -v ssh-keygen) "\$@"
EOF
chmod +x "$T/counting/ssh-keygen"
calls() { if [ -f "$T/keygen-calls" ]; then wc -l <"$T/keygen-calls"; else echo 0; fi; }
cp "$SSH_KEY" "$T/cached_key"
chmod 600 "$T/cached_key"
sleep 2.1   # older than a change time can be mistaken for (see cmd.c)
run_key() {
	PATH=$T/counting:$PATH scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$src" \
		-d "$T/dst-cached" -p 1 -k "$1" 2>"$T/cached.err"
}
run_key "$T/cached_key"; rc=$?
[ "$rc" = 1 ] && [ "$(calls)" = 1 ] || fail "first use of a key: exit $rc, $(calls) checks"
run_key "$T/cached_key"; rc=$?
[ "$rc" = 1 ] && [ "$(calls)" = 1 ] || fail "an unchanged key was checked again: exit $rc, $(calls) checks"
grep -q "^key " "$HOME/scow/.scow-sync/keys-checked" || fail "no keys-checked list"
chmod 644 "$T/cached_key"
run_key "$T/cached_key"; rc=$?
[ "$rc" = 2 ] && [ "$(calls)" = 2 ] && grep -q "bad permissions" "$T/cached.err" ||
	fail "a key opened to others: exit $rc, $(calls) checks, $(cat "$T/cached.err")"
chmod 600 "$T/cached_key"
head -c 200 "$SSH_KEY" >"$T/cut_key" && cat "$T/cut_key" >"$T/cached_key"
run_key "$T/cached_key"; rc=$?
[ "$rc" = 2 ] && [ "$(calls)" = 3 ] || fail "a key cut short: exit $rc, $(calls) checks"
# Just written: accepted, but not noted (its change time could hide the next change).
cp "$SSH_KEY" "$T/fresh_key"
chmod 600 "$T/fresh_key"
run_key "$T/fresh_key"; run_key "$T/fresh_key"; rc=$?
[ "$rc" = 1 ] && [ "$(calls)" = 5 ] || fail "a key just written was noted: exit $rc, $(calls) checks"

no_processes_left || fail "processes left behind"
finish
