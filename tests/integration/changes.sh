#!/bin/bash
# What a run made on the far side: query --json counts the non-directories
# it created (files and links new there) and those it updated (data or
# attributes), apart; a re-sync that changes nothing counts
# nothing; a file moved in pieces counts too. A watch's last cycle carries
# the same counts.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

src=$T/src/top
dst=$T/dst
mkdir -p "$src/a/b" "$src/empty" "$dst"

run() {
	scow-sync run -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dst" -p "$SSHD_PORT" \
		-k "$SSH_KEY" -q "$@" 2>"$T/err" || fail "run $* exited $?: $(cat "$T/err")"
}
last_id() { store_sql "SELECT max(id) FROM transfers"; }
# counts ID: "created updated" of transfer ID, as query --json says.
counts() {
	scow-sync query --json --id "$1" | python3 -c '
import json, sys
t = json.load(sys.stdin)["transfers"][0]
print(t["created"], t["updated"])'
}

echo one >"$src/a/one"
echo two >"$src/a/b/two"
printf 'line\nname' >"$src/a/new
line"
ln -s one "$src/a/link"
# Created: one, two, the newline name, link (directories are not counted).
run
tree_equal "$src" "$dst/top" || fail "the first copy differs"
got=$(counts "$(last_id)")
[ "$got" = "4 0" ] || fail "the first copy counted '$got' (created updated), want '4 0'"

# Nothing changed: nothing counted.
run
got=$(counts "$(last_id)")
[ "$got" = "0 0" ] || fail "a re-sync with nothing to do counted '$got', want '0 0'"

# One file's data changed, one file's mode alone, one file new.
echo "two, longer" >"$src/a/b/two"
chmod 600 "$src/a/one"
echo three >"$src/a/three"
run
tree_equal "$src" "$dst/top" || fail "the re-sync differs"
got=$(counts "$(last_id)")
[ "$got" = "1 2" ] || fail "the re-sync counted '$got', want '1 2' (three; two and one)"

# A large file in pieces, new on the far side, then changed.
head -c $((9 * 1024 * 1024)) /dev/urandom >"$src/big"
SCOW_SYNC_SPLIT_MIB=2 SCOW_SYNC_WORKERS=3 run
grep -q "in [0-9]* pieces" "$HOME/scow/.scow-sync/scow-sync.log" ||
	skip "the big file did not move in pieces here"
got=$(counts "$(last_id)")
[ "$got" = "1 0" ] || fail "a new file in pieces counted '$got', want '1 0'"
finish
