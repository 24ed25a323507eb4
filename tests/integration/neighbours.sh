#!/bin/bash
# Any neighbour, nobody let in:
#  - two local users run transfers at the same time: neither sees, queries
#    or stops the other's, their state and private directories are theirs
#    alone (0700/0600), and nothing planted in /tmp steers a supervisor
#    (as root only: it creates two users for the time of the test);
#  - the key's contents reach no log, no query answer, no command line and
#    no environment of any process of a transfer;
#  - whatever the far side prints (escape sequences, carriage returns, fake
#    log lines, invalid UTF-8; on rsync's stderr, as a remote command's
#    error, as an sftp status message) reaches the logs and the terminal
#    escaped, one event a line;
#  - the far side's cleanup (terminate, failed pieces of a large file)
#    removes only what the transfer made: a symbolic link in the
#    destination to a directory outside it, a partial directory that is a
#    link out, a file of the same name as one being sent, a partial
#    directory with the user's own files and a file named like rsync's
#    temporary files all stay as they were, and nothing outside the
#    destination changes.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

log=$HOME/scow/.scow-sync/scow-sync.log
errlog=$HOME/scow/.scow-sync/scow-sync.err

# ---- a far side that prints what it likes ---------------------------------

# Every remote command goes through this wrapper (sshd's ForceCommand). It
# passes the command on untouched unless a flag file in $T/far asks it to
# misbehave.
SFTP_SERVER=
for p in /usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server /usr/libexec/sftp-server \
	/usr/lib/ssh/sftp-server; do
	[ -x "$p" ] && SFTP_SERVER=$p && break
done
[ -n "$SFTP_SERVER" ] || skip "no sftp-server program"
mkdir -p "$T/far"
printf '\033[2J\033]0;owned\007\rFAR\r\n2099-01-01T00:00:00+0000 [1] info: transfer done after 0.0 s\n\377\376 bad UTF-8\n' \
	> "$T/far/hostile.txt"
cat > "$T/far/wrapper" <<EOF
#!/bin/sh
flags=$T/far
cmd=\$SSH_ORIGINAL_COMMAND
[ -e "\$flags/noise" ] && cat "\$flags/hostile.txt" >&2
case \$cmd in
sftp|internal-sftp|*/sftp-server)
	[ -e "\$flags/sftp" ] && exec python3 "\$flags/sftp-proxy.py" "\$flags/hostile.txt" $SFTP_SERVER
	exec $SFTP_SERVER ;;
*"mkdir -p -v"*|*"'mkdir' '-p' '-v'"*)
	[ -e "\$flags/mkdir" ] && { cat "\$flags/hostile.txt" >&2; exit 1; } ;;
*" dd of="*|*" dd 'of="*)
	[ -e "\$flags/dd" ] && { cat "\$flags/hostile.txt" >&2; exit 1; } ;;
esac
exec /bin/sh -c "\$cmd"
EOF
chmod 755 "$T/far/wrapper"
# An sftp-server whose every REMOVE fails with a hostile message.
cat > "$T/far/sftp-proxy.py" <<'PY'
import os, struct, subprocess, sys, threading
msg = open(sys.argv[1], "rb").read()
srv = subprocess.Popen([sys.argv[2]], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
removes = set()
def read_exact(f, n):
    b = b""
    while len(b) < n:
        c = f.read(n - len(b))
        if not c:
            return None
        b += c
    return b
def packets(f):
    while True:
        h = read_exact(f, 4)
        if h is None:
            return
        body = read_exact(f, struct.unpack(">I", h)[0])
        if body is None:
            return
        yield body
def upstream():
    for body in packets(sys.stdin.buffer):
        if body[0] == 13:   # REMOVE
            removes.add(body[1:5])
        srv.stdin.write(struct.pack(">I", len(body)) + body)
        srv.stdin.flush()
    srv.stdin.close()
threading.Thread(target=upstream, daemon=True).start()
out = sys.stdout.buffer
for body in packets(srv.stdout):
    if body[0] == 101 and body[1:5] in removes:
        body = (bytes([101]) + body[1:5] + struct.pack(">I", 4) +
                struct.pack(">I", len(msg)) + msg + struct.pack(">I", 0))
    out.write(struct.pack(">I", len(body)) + body)
    out.flush()
PY
echo "ForceCommand $T/far/wrapper" >> "$T/sshd_config"
"$SSHD" -t -f "$T/sshd_config" || { echo "sshd -t rejected the ForceCommand"; exit 99; }
kill -HUP "$(cat "$T/sshd.pid")"
# sshd re-executes itself on SIGHUP: wait until it answers again.
wait_for 10 ssh -F none -o BatchMode=yes -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i "$SSH_KEY" -p "$SSHD_PORT" \
	"$SSH_USER@$SSH_HOST" true 2>/dev/null || { echo "sshd did not come back"; exit 99; }

# Every line of a log is one event of ours: a time, a transfer id, a level,
# then text without control bytes, in valid UTF-8; none begins with the far
# side's fake time. $2: a text that must be there (the hostile bytes, escaped).
log_lines_clean() {
	python3 - "$1" "${2:-}" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
ok = True
for n, line in enumerate(data.split(b"\n")[:-1], 1):
    if not re.match(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} \[\d+\] (info|warning|error): ", line) \
            or line.startswith(b"2099") or re.search(rb"[\x00-\x1f\x7f]", line):
        print("%s:%d: not one clean event: %r" % (sys.argv[1], n, line)); ok = False
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        print("%s:%d: invalid UTF-8: %r" % (sys.argv[1], n, line)); ok = False
if data and not data.endswith(b"\n"):
    print("%s: last line unterminated" % sys.argv[1]); ok = False
if sys.argv[2] and sys.argv[2].encode() not in data:
    print("%s: %r is not in it" % (sys.argv[1], sys.argv[2])); ok = False
sys.exit(0 if ok else 1)
PY
}
# The same for what a command printed on a terminal: each line begins with
# the program's name.
tty_lines_clean() {
	python3 - "$1" "${2:-}" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
ok = True
for n, line in enumerate(data.split(b"\n")[:-1], 1):
    if not re.match(rb"scow-sync([- ][a-z]+)?: ", line) or re.search(rb"[\x00-\x1f\x7f]", line):
        print("%s:%d: not one clean line: %r" % (sys.argv[1], n, line)); ok = False
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        print("%s:%d: invalid UTF-8: %r" % (sys.argv[1], n, line)); ok = False
if sys.argv[2] and sys.argv[2].encode() not in data:
    print("%s: %r is not in it" % (sys.argv[1], sys.argv[2])); ok = False
sys.exit(0 if ok else 1)
PY
}
ESCAPED='\x1b[2J\x1b]0;owned\x07\x0dFAR\x0d'

# rsync's stderr: the far side's shell prints before every command. The
# transfer goes on; each line is logged (and shown) escaped.
src3=$T/src3/h
mkdir -p "$src3/d"
head -c 200000 /dev/urandom > "$src3/d/f"
printf 'x' > "$src3/name
2099-01-01T00:00:00+0000 [1] info: transfer done after 0.0 s $(printf '\033[2J')"
touch "$T/far/noise"
scow-sync -a "$SSH_HOST" -u "$SSH_USER" -s "$src3" -d "$T/dst3" -m 2 -p "$SSHD_PORT" \
	-k "$SSH_KEY" 2> "$T/run3.err"
rc=$?
rm -f "$T/far/noise"
[ "$rc" = 0 ] || fail "a transfer with a noisy far side exited $rc: $(cat -v "$T/run3.err")"
tree_equal "$src3" "$T/dst3/h" || fail "the copy from a noisy far side differs"
log_lines_clean "$log" "$ESCAPED" || fail "the log has raw far-side bytes"
log_lines_clean "$errlog" "$ESCAPED" || fail "scow-sync.err has raw far-side bytes"
tty_lines_clean "$T/run3.err" "$ESCAPED" || fail "the terminal got raw far-side bytes"

# Names are data too: a source and a destination whose names hold a line
# break, a fake event and an escape sequence make no line of their own.
odd=$(printf 'odd\n2099-01-01T00:00:00+0000 [1] info: transfer done after 0.0 s \033[2J')
mkdir -p "$T/src3o/$odd"
printf 'y' > "$T/src3o/$odd/f"
scow-sync -a "$SSH_HOST" -u "$SSH_USER" -s "$T/src3o/$odd" -d "$T/dst3o/$odd" -p "$SSHD_PORT" \
	-k "$SSH_KEY" 2> "$T/run3o.err"
rc=$?
[ "$rc" = 0 ] || fail "a transfer of odd names exited $rc: $(cat -v "$T/run3o.err")"
cmp -s "$T/src3o/$odd/f" "$T/dst3o/$odd/$odd/f" || fail "the odd names did not arrive"
log_lines_clean "$log" 'odd\x0a2099' || fail "odd names reached the log raw"
tty_lines_clean "$T/run3o.err" || fail "odd names reached the terminal raw"

# A remote command that fails with a hostile message: the reason, in the
# log, on the terminal and in terminate's answer, is escaped.
touch "$T/far/mkdir"
scow-sync -a "$SSH_HOST" -u "$SSH_USER" -s "$src3" -d "$T/dst3b" -p "$SSHD_PORT" \
	-k "$SSH_KEY" 2> "$T/run3b.err"
rc=$?
rm -f "$T/far/mkdir"
[ "$rc" = 1 ] || fail "a transfer whose remote mkdir failed exited $rc"
grep -qF "cannot create destination" "$T/run3b.err" ||
	fail "the failed mkdir is not named: $(cat -v "$T/run3b.err")"
tty_lines_clean "$T/run3b.err" "$ESCAPED" || fail "the failure reached the terminal raw"
log_lines_clean "$log" || fail "the failure reached the log raw"
id3b=$(sed -n 's/^scow-sync: transfer \([0-9]*\) failed.*/\1/p' "$T/run3b.err")
scow-sync terminate --id "${id3b:-0}" 2> "$T/term3b.err"
[ "$?" = 3 ] || fail "terminate of the failed transfer did not exit 3"
tty_lines_clean "$T/term3b.err" || fail "terminate showed the reason raw"

# An sftp server whose removals fail with a hostile message: the cleanup's
# complaint is escaped too.
src3c=$T/src3c/c
mkdir -p "$src3c"
head -c 4000000 /dev/urandom > "$src3c/big"
touch "$T/far/sftp"
export SCOW_SYNC_BWLIMIT=300
id=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src3c" -d "$T/dst3c" \
	-p "$SSHD_PORT" -k "$SSH_KEY") || fail "start exited $?"
wait_for 30 query_shows "$src3c" || fail "transfer $id never got under way"
wait_for 10 test -s "$T/dst3c/c/.big."*
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src3c" 2> "$T/term3c.err"
rc=$?
unset SCOW_SYNC_BWLIMIT
rm -f "$T/far/sftp"
[ "$rc" = 0 ] || fail "terminate with a failing sftp server exited $rc"
grep -qF "could not remove partial files" "$log" || fail "the failed removal is not logged"
log_lines_clean "$log" "$ESCAPED" || fail "the sftp server's message reached the log raw"
log_lines_clean "$errlog" || fail "the sftp server's message reached scow-sync.err raw"
tty_lines_clean "$T/term3c.err" || fail "terminate showed the sftp message raw"
# (The files went: the server did remove them, whatever it said.)
[ -z "$(partial_files "$T/dst3c")" ] || fail "partial files left: $(partial_files "$T/dst3c")"
no_processes_left || fail "processes left after the hostile far side"

# ---- the far side's cleanup removes only what the transfer made -------------

# A listing of a tree (types, link targets, sizes, contents' digests, mtimes)
# to compare before and after.
snapshot() {
	python3 - "$1" <<'PY'
import hashlib, os, stat, sys
root = os.fsencode(sys.argv[1])
for d, dirs, files in sorted(os.walk(root)):
    dirs.sort()
    for n in sorted(dirs + files):
        p = os.path.join(d, n)
        st = os.lstat(p)
        rel = os.path.relpath(p, root)
        if stat.S_ISLNK(st.st_mode):
            what = b"link " + os.readlink(p)
        elif stat.S_ISDIR(st.st_mode):
            what = b"dir"
        else:
            what = b"file %d %d " % (st.st_size, st.st_mtime_ns) + \
                hashlib.sha256(open(p, "rb").read()).hexdigest().encode()
        sys.stdout.buffer.write(rel + b" " + what + b"\n")
PY
}
src4=$T/src4/p
mkdir -p "$src4/sub" "$src4/tree"
head -c 24000000 /dev/urandom > "$src4/sub/big"
head -c 100000 /dev/urandom > "$src4/sub/small"
head -c 3000000 /dev/urandom > "$src4/top"
head -c 3000000 /dev/urandom > "$src4/tree/t1"
# The far side before the transfer: the destination holds a link out to a
# directory with what looks like the partial data of sub/big and a file
# named like rsync's temporary of sub/small; a partial directory that is a
# link out, with what looks like t1's partial data; a top of the same name
# as one being sent; a partial directory with the user's own files; and a
# file named like rsync's temporary of t1 in a real directory.
far_setup() {
	local d=$1 o=$2
	rm -rf "$d" "$o"
	mkdir -p "$o/linked/.scow-sync-partial" "$o/pdir" "$d/p/tree" "$d/p/.scow-sync-partial/keep"
	echo "outside partial" > "$o/linked/.scow-sync-partial/big"
	echo "outside small" > "$o/linked/small"
	echo "outside tmp" > "$o/linked/.small.AbC123"
	echo "outside t1 partial" > "$o/pdir/t1"
	ln -s "$o/linked" "$d/p/sub"
	ln -s "$o/pdir" "$d/p/tree/.scow-sync-partial"
	echo "old top" > "$d/p/top"
	echo "mine" > "$d/p/.scow-sync-partial/user-data"
	echo "nested" > "$d/p/.scow-sync-partial/keep/nested"
	echo "looks like a temporary" > "$d/p/tree/.t1.Zz9Yy8"
	touch -d '2001-01-01' "$d/p/top" "$d/p/tree/.t1.Zz9Yy8" "$o/pdir/t1" \
		"$o/linked/.scow-sync-partial/big"
	snapshot "$o" > "$T/outside.before"
}
# What must hold on the far side after a run, done or stopped.
far_check() {
	local d=$1 o=$2 what=$3
	snapshot "$o" > "$T/outside.after"
	cmp -s "$T/outside.before" "$T/outside.after" ||
		fail "$what: outside the destination changed: $(diff "$T/outside.before" "$T/outside.after")"
	[ "$(cat "$d/p/.scow-sync-partial/user-data" 2>/dev/null)" = mine ] ||
		fail "$what: the user's file in a partial directory is gone"
	[ "$(cat "$d/p/.scow-sync-partial/keep/nested" 2>/dev/null)" = nested ] ||
		fail "$what: the user's directory in a partial directory is gone"
	[ "$(cat "$d/p/tree/.t1.Zz9Yy8" 2>/dev/null)" = "looks like a temporary" ] ||
		fail "$what: a file named like rsync's temporary, there before, is gone"
	if ! echo "old top" | cmp -s - "$d/p/top" && ! cmp -s "$d/p/top" "$src4/top"; then
		fail "$what: top is neither as it was nor complete ($(stat -c %s "$d/p/top" 2>&1))"
	fi
	for f in sub/big sub/small tree/t1; do
		[ -e "$d/p/$f" ] && ! cmp -s "$d/p/$f" "$src4/$f" && fail "$what: $f is there incomplete"
	done
	# The partial directory that was a link out: still a link, or gone.
	[ -L "$d/p/tree/.scow-sync-partial" ] || [ ! -e "$d/p/tree/.scow-sync-partial" ] ||
		fail "$what: tree/.scow-sync-partial is something else now"
}
export SCOW_SYNC_SPLIT_MIB=4 SCOW_SYNC_WORKERS=3
far4=$T/far4 out4=$T/outside4
big_moving() {   # sub/big at 10% or more
	scow-sync-query | grep -q '"filePath": "'"$src4/sub/big"'".*"progress": "\([1-9][0-9]\)%"'
}

# Stopped while sub/big moves in pieces.
far_setup "$far4" "$out4"
export SCOW_SYNC_BWLIMIT=1500
id=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src4" -d "$far4" -m 2 \
	-p "$SSHD_PORT" -k "$SSH_KEY") || fail "start exited $?"
wait_for 30 big_moving || fail "transfer $id: sub/big never got under way"
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src4" || fail "terminate exited $?"
no_processes_left || fail "processes left after terminate"
[ "$(transfer_state "$id")" = terminated ] || fail "transfer $id is $(transfer_state "$id")"
far_check "$far4" "$out4" "terminated"
[ -z "$(find "$far4" -path '*/.scow-sync-partial/*' -newer "$T/outside.before" -type f)" ] ||
	fail "partial data of this transfer left: $(find "$far4" -path '*/.scow-sync-partial/*' -newer "$T/outside.before" -type f)"
unset SCOW_SYNC_BWLIMIT

# Every piece fails (the far side's dd refuses): the rsync that follows
# sends the file; then the transfer is done.
far_setup "$far4" "$out4"
touch "$T/far/dd"
id=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src4" -d "$far4" -m 2 \
	-p "$SSHD_PORT" -k "$SSH_KEY") || fail "start exited $?"
wait_for 60 transfer_ended "$id" || fail "transfer $id did not end"
rm -f "$T/far/dd"
grep -q "\[$id\] warning: piece 0 of a large file" "$log" || fail "no piece failed"
[ "$(transfer_state "$id")" = done ] || fail "transfer $id with failed pieces is $(transfer_state "$id")"
far_check "$far4" "$out4" "failed pieces"
for f in sub/big sub/small top tree/t1; do
	cmp -s "$far4/p/$f" "$src4/$f" || fail "failed pieces: $f did not arrive"
done
no_processes_left || fail "processes left after the failed pieces"

# The partial directory of sub/big is a link out, with what looks like
# big's partial data there: the pieces do not write through it, and the
# cleanup leaves it alone.
far_setup "$far4" "$out4"
rm "$far4/p/sub"
mkdir -p "$far4/p/sub" "$out4/pdir2"
echo "outside big partial" > "$out4/pdir2/big"
ln -s "$out4/pdir2" "$far4/p/sub/.scow-sync-partial"
snapshot "$out4" > "$T/outside.before"
export SCOW_SYNC_BWLIMIT=1500
id=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src4" -d "$far4" -m 2 \
	-p "$SSHD_PORT" -k "$SSH_KEY") || fail "start exited $?"
wait_for 30 big_moving || fail "transfer $id: sub/big never got under way"
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src4" || fail "terminate exited $?"
unset SCOW_SYNC_BWLIMIT
no_processes_left || fail "processes left after terminate"
far_check "$far4" "$out4" "partial directory a link"
# (rsync itself replaces a partial directory that is not one: the link may go.)
unset SCOW_SYNC_SPLIT_MIB SCOW_SYNC_WORKERS

finish
