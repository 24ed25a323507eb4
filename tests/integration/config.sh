#!/bin/bash
# Settings: flags over the environment over the user's file over the system
# file over the defaults; `scow-sync config` says which won; bad files and
# values are one-line errors naming the file and line.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

export SCOW_SYNC_SYSTEM_CONFIG=$T/system.conf XDG_CONFIG_HOME=$T/xdg
mkdir -p "$XDG_CONFIG_HOME/scow-sync"
user_conf=$XDG_CONFIG_HOME/scow-sync/config

# setting_line KEY: the line config prints for KEY.
setting_line() { scow-sync config | grep -E "^(# )?$1( =|:)"; }
expect_setting() {
	local line
	line=$(setting_line "$1")
	# shellcheck disable=SC2254 # $2 is a pattern
	case $line in
	$2) ;;
	*) fail "config: '$line' does not match '$2'" ;;
	esac
}

# Nothing set: the defaults, and both files named as absent.
out=$(scow-sync config) || fail "config exited $?"
grep -qxF "# system file: $T/system.conf (none)" <<<"$out" || fail "config: $out"
grep -qxF "# user file: $user_conf (none)" <<<"$out" || fail "config: $out"
expect_setting retries "# retries: 3 * # default"
expect_setting state_dir "# state_dir: ~/scow/.scow-sync * # default"

cat >"$T/system.conf" <<EOF
# the site's defaults
workers = 2
retries = 5
compress = never
state_dir = ~/state-from-system
log_max_mib = 1
EOF
cat >"$user_conf" <<EOF
retries = 7
  bwlimit	=   "100"
EOF
expect_setting workers "workers = 2 * # system file, $T/system.conf:2"
expect_setting retries "retries = 7 * # user file, $user_conf:1"
expect_setting bwlimit "bwlimit = 100 * # user file, $user_conf:2"
expect_setting compress "compress = never * # system file, $T/system.conf:4"
SCOW_SYNC_RETRIES=9 expect_setting retries "retries = 9 * # environment, SCOW_SYNC_RETRIES"
SCOW_SYNC_IO_TIMEOUT=30 expect_setting io_timeout "io_timeout = 30 * # environment, SCOW_SYNC_IO_TIMEOUT"

# The state directory of the settings is the one every command uses.
src=$T/src/data
make_sample_tree "$src"
scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst" -p "$SSHD_PORT" \
	-k "$SSH_KEY" || fail "run exited $?"
tree_equal "$src" "$T/dst/data" || fail "the copy differs"
[ -f "$HOME/state-from-system/scow-sync.db" ] || fail "the store is not in the configured directory"
[ ! -e "$HOME/scow/.scow-sync" ] || fail "the default state directory was used"
[ "$(scow-sync query --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["transfers"]))')" = 1 ] ||
	fail "query does not read the configured state directory"
# The transfer ran with the settings: two workers, no compression.
grep -q "2 workers" "$HOME/state-from-system/scow-sync.log" ||
	fail "workers = 2 did not apply: $(grep workers "$HOME/state-from-system/scow-sync.log")"

# A flag wins over everything; a bad flag value names the flag.
SCOW_SYNC_WORKERS=3 scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/dst-flag" \
	-p "$SSHD_PORT" -k "$SSH_KEY" --workers 1 || fail "run --workers 1 exited $?"
tail -n 20 "$HOME/state-from-system/scow-sync.log" | grep -q "started (depth 2, 1 workers)" ||
	fail "--workers 1 did not win over SCOW_SYNC_WORKERS=3"
err=$(scow-sync run -a "$SSH_HOST" -s "$src" -d "$T/x" -k "$SSH_KEY" --workers 0 2>&1); rc=$?
[ "$rc" = 2 ] && [[ $err == *"--workers: invalid workers '0'"* ]] || fail "--workers 0: $rc $err"

# Bad settings: exit 2, one line naming where.
bad_setting() {
	local what=$1 want=$2 err rc
	err=$(scow-sync config 2>&1 >/dev/null); rc=$?
	[ "$rc" = 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && [[ $err == *"$want"* ]] ||
		fail "$what: exit $rc, '$err' (want '$want')"
}
cp "$user_conf" "$T/user.good"
echo "wokers = 3" >>"$user_conf"
bad_setting "a mistyped key" "$user_conf:3: unknown setting 'wokers'"
cp "$T/user.good" "$user_conf"; echo "compress = sometimes" >>"$user_conf"
bad_setting "a bad word" "$user_conf:3: invalid compress 'sometimes'"
cp "$T/user.good" "$user_conf"; echo "just words" >>"$user_conf"
bad_setting "a line without =" "$user_conf:3: expected 'key = value'"
cp "$T/user.good" "$user_conf"; echo "state_dir = relative/dir" >>"$user_conf"
bad_setting "a relative path in a file" "$user_conf:3: invalid state_dir 'relative/dir'"
cp "$T/user.good" "$user_conf"
SCOW_SYNC_RETRIES=lots bad_setting "a bad variable" "SCOW_SYNC_RETRIES: invalid retries 'lots'"
# ... config still shows the rest; the commands refuse to run on them,
# before doing anything.
echo "retries = 0" >>"$user_conf"
scow-sync config 2>/dev/null | grep -q "^bwlimit = 100 " || fail "config hides the good settings"
scow-sync config 2>/dev/null | grep -q "^retries = 7 " || fail "config shows the bad retries"
err=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/no" -p "$SSHD_PORT" \
	-k "$SSH_KEY" 2>&1); rc=$?
[ "$rc" = 2 ] && [[ $err == *"$user_conf:3: invalid retries '0'"* ]] || fail "start on a bad file: $rc $err"
[ ! -e "$T/no" ] || fail "start ran despite a bad settings file"
# The portal's commands go on without the bad setting, saying so on stderr:
# one typo in a site's file must not stop every user's transfers.
out=$(scow-sync-query 2>"$T/q.err"); rc=$?
[ "$rc" = 0 ] && [ "$out" = "[]" ] || fail "legacy query on a bad file: $rc $out"
grep -q "ignoring a bad setting: $user_conf:3: invalid retries '0'" "$T/q.err" ||
	fail "legacy query does not name the bad setting: $(cat "$T/q.err")"
scow-sync-start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/legacy" -p "$SSHD_PORT" \
	-k "$SSH_KEY" 2>"$T/s.err" || fail "legacy start on a bad file exited $?: $(cat "$T/s.err")"
wait_for 30 eval 'tree_equal "$src" "$T/legacy/data" >/dev/null 2>&1' ||
	fail "the legacy start's copy differs: $(tree_equal "$src" "$T/legacy/data")"
grep -q "ignoring a bad setting" "$T/s.err" || fail "legacy start did not name the bad setting"
cp "$T/user.good" "$user_conf"
# A comment after a value, a quoted '#', a byte order mark.
printf '\xef\xbb\xbfretries = 6   # six tries\nstate_dir = "~/state-from-system"  # same\n' >"$user_conf"
expect_setting retries "retries = 6 * # user file, $user_conf:1"
scow-sync config >/dev/null 2>&1 || fail "config on a file with comments after values: $(scow-sync config 2>&1 >/dev/null)"
no_processes_left || fail "processes left behind"
finish
