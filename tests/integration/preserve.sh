#!/bin/bash
# What rsync -a leaves out, where a transfer asks for it: ACLs (-A),
# extended attributes (-X), holes (-S, in pieces too), --chmod, --chown;
# on every rsync of the transfer and kept for resume.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

command -v setfacl >/dev/null && command -v getfacl >/dev/null ||
	skip "setfacl and getfacl are not installed (the acl package)"
src=$T/src/data
mkdir -p "$src/d1/d2" "$src/d3"
setfacl -m u:nobody:r "$src/d1" 2>/dev/null ||
	skip "this file system takes no ACLs"
# xattrs through Python: no attr package needed.
setx() { python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user." + sys.argv[2], sys.argv[3].encode(), follow_symlinks=False)' "$@"; }
getx() { python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user." + sys.argv[2], follow_symlinks=False).decode())' "$@" 2>/dev/null; }
setx "$src/d1" probe yes 2>/dev/null || skip "this file system takes no user xattrs"

for i in 1 2 3 4 5 6; do
	echo "file $i" >"$src/d1/d2/f$i"
	setfacl -m "u:nobody:rw" "$src/d1/d2/f$i"
	setx "$src/d1/d2/f$i" tag "value $i"
done
setfacl -m d:u:nobody:rx "$src/d3"
echo top >"$src/top"
setx "$src/top" tag "top"
# 4 MiB that take a while at --bwlimit 300, so the supervisor can be killed mid-way.
head -c 4194304 /dev/urandom >"$src/d3/big"
setx "$src/d3/big" tag big
unset SCOW_SYNC_WORKERS SCOW_SYNC_BWLIMIT

acl_of() { getfacl -cp "$1" 2>/dev/null | grep -v '^$'; }
check_copy() {
	local what=$1 f rel
	tree_equal "$src" "$T/far/data" || fail "$what: the copy differs"
	while IFS= read -r -d '' f; do
		rel=${f#"$src"}
		[ "$(acl_of "$f")" = "$(acl_of "$T/far/data$rel")" ] ||
			fail "$what: the ACL of '$rel' differs: $(acl_of "$T/far/data$rel" | tr '\n' ' ')"
		[ "$(getx "$f" tag)" = "$(getx "$T/far/data$rel" tag)" ] ||
			fail "$what: the xattr of '$rel' differs"
	done < <(find "$src" -print0)
}

rsync_with() { pgrep -f -- "^rsync .*$1.* -- $src" >/dev/null; }
id=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/far" -m 1 \
	-p "$SSHD_PORT" -k "$SSH_KEY" -A -X --bwlimit 300) || fail "start exited $?"
wait_for 30 rsync_with "-a -s -A -X" || fail "the first run's rsync has no -A -X"
kill -9 "$(supervisor_pid "$id")"
no_processes_left || fail "processes outlived the supervisor"
[ "$(transfer_state "$id")" != done ] || fail "done before it was killed: the test proves nothing"

# Resumed without them: as started.
scow-sync resume -f --bwlimit 0 "$id" 2>"$T/resume.err" || fail "resume: $(cat "$T/resume.err")"
[ "$(transfer_state "$id")" = done ] || fail "resumed: $(transfer_state "$id")"
check_copy "resumed"

# The same request again, with nothing new at the source, changes nothing;
# an ACL changed at the source alone reaches the far side.
setfacl -m u:nobody:r "$src/d1/d2/f3"
setx "$src/top" tag "changed"
scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/far" -m 1 \
	-p "$SSHD_PORT" -k "$SSH_KEY" -A -X 2>"$T/again.err" || fail "again: $(cat "$T/again.err")"
check_copy "a changed ACL and xattr"

# Without -A and -X, as rsync -a: none of them.
scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/plain" -m 1 \
	-p "$SSHD_PORT" -k "$SSH_KEY" 2>"$T/plain.err" || fail "plain: $(cat "$T/plain.err")"
[ -z "$(getx "$T/plain/data/top" tag)" ] || fail "an xattr arrived without -X"
getfacl -cp "$T/plain/data/d1/d2/f1" 2>/dev/null | grep -q nobody && fail "an ACL arrived without -A"

# Sparse: 64 MiB with 1 MiB of data in it, whole and in pieces.
mkdir -p "$T/sparse/s"
truncate -s 64M "$T/sparse/s/holes"
head -c 1048576 /dev/urandom | dd of="$T/sparse/s/holes" bs=1M seek=20 conv=notrunc status=none
src_kib=$(du -k "$T/sparse/s/holes" | cut -f1)
for split in 0 8; do
	SCOW_SYNC_SPLIT_MIB=$split SCOW_SYNC_WORKERS=3 scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" \
		-s "$T/sparse/s" -d "$T/far-sparse-$split" -p "$SSHD_PORT" -k "$SSH_KEY" -S \
		2>"$T/sparse.err" || fail "-S, pieces from ${split} MiB: $(cat "$T/sparse.err")"
	cmp "$T/sparse/s/holes" "$T/far-sparse-$split/s/holes" || fail "-S: the copy differs"
	far_kib=$(du -k "$T/far-sparse-$split/s/holes" | cut -f1)
	[ "$far_kib" -le $((src_kib + src_kib / 10 + 64)) ] ||
		fail "-S, pieces from ${split} MiB: ${far_kib} KiB on the far side, ${src_kib} here"
done
grep -q "in [0-9]* pieces" "$HOME/scow/.scow-sync/scow-sync.log" ||
	fail "no file went in pieces: the sparse pieces were not tested"

# --chmod and --chown, as rsync has them.
scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$src/d1" -d "$T/modes" -p "$SSHD_PORT" \
	-k "$SSH_KEY" --chmod=D750,F600 --chown=nobody: 2>"$T/modes.err" ||
	fail "--chmod: $(cat "$T/modes.err")"
[ "$(stat -c %a "$T/modes/d1/d2")" = 750 ] || fail "--chmod D750: $(stat -c %a "$T/modes/d1/d2")"
[ "$(stat -c %a "$T/modes/d1/d2/f1")" = 600 ] || fail "--chmod F600: $(stat -c %a "$T/modes/d1/d2/f1")"
if [ "$(id -u)" = 0 ]; then
	[ "$(stat -c %U "$T/modes/d1/d2/f1")" = nobody ] || fail "--chown nobody: $(stat -c %U "$T/modes/d1/d2/f1")"
fi

# Refused before anything is recorded.
before=$(store_sql "SELECT count(*) FROM transfers")
for bad in "--chmod=D7;5" "--chown=a:b:c" "--chown=" "--chmod="; do
	scow-sync run -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$T/bad" -p "$SSHD_PORT" \
		-k "$SSH_KEY" "$bad" 2>"$T/bad.err"; rc=$?
	[ "$rc" = 2 ] && [ "$(wc -l <"$T/bad.err")" = 1 ] || fail "'$bad': exit $rc: $(cat "$T/bad.err")"
done
[ "$(store_sql "SELECT count(*) FROM transfers")" = "$before" ] || fail "a refused request was recorded"
finish
