#!/bin/bash
# What any local user reads in the process table (ps, /proc/PID/cmdline)
# while a transfer runs, one of its parts is stopped and a re-sync follows:
# no source path, no file or directory name, no destination and no key
# path (ssh is given a private link to the key) on any command line of the
# transfer, here or on the far side (the same machine here). Only rsync's
# own operands show (the source's parent directory and host:destination),
# and, while they run, the far side's commands that take names as operands
# (mkdir, mv, chmod, ...), as README.md says; hidepid=2 hides those too.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

# Every name of the transfer carries the tag: a command line with it names
# something it should not.
tag=Qz7tag
src=$T/src/Project-$tag
mkdir -p "$src/records-$tag/deep-$tag" "$src/other-$tag" "$T/far"
for i in 1 2 3; do
	head -c 400000 /dev/urandom > "$src/records-$tag/deep-$tag/scan-$tag-$i"
	head -c 400000 /dev/urandom > "$src/other-$tag/visit $tag
$i"
done
dst=$T/far/in-$tag
key=$T/key-$tag
cp "$SSH_KEY" "$key"
chmod 600 "$key"

# Scan every process's command line until $T/scan.stop appears; write the
# offending ones to $T/scan.bad and a count of what was seen to $T/scan.seen.
scan() {
	TAG=$tag TEST_PID=$$ python3 - "$T" <<'PY'
import os, sys, time
t = sys.argv[1]
tag = os.environ["TAG"].encode()
me = str(os.getpid())
test_pid = os.environ["TEST_PID"]
# The far side's commands that take names as operands, for as long as they run.
tools = {b"mkdir", b"mv", b"rmdir", b"chmod", b"chown", b"chgrp", b"touch", b"stat"}
bad, seen = {}, {"supervisor": 0, "rsync": 0, "ssh": 0}
def proc(pid):
    """Its command line's words and its parent, or None when it is gone."""
    try:
        words = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")
        stat = open("/proc/%s/stat" % pid, "rb").read()
        exe = os.path.basename(os.readlink("/proc/%s/exe" % pid).encode())
    except OSError:
        return None
    while words and words[-1] == b"":
        words.pop()
    return words, stat[stat.rindex(b")") + 2:].split()[1].decode(), exe
def mine(pid, procs):
    """The test's own: a command it ran (the callers: start, terminate, the
    foreground run until it is a supervisor; grep), and what a caller runs
    to check its request (ssh-keygen), not a process of a transfer (rsync
    and ssh under a supervisor, the far side's)."""
    first = True
    while pid in procs:
        words, ppid, exe = procs[pid]
        if not first and exe.startswith(b"scow-sync") and \
                words[0].startswith(b"scow-sync: transfer "):
            return False
        if ppid == test_pid:
            return True
        pid, first = ppid, False
    return False
while not os.path.exists(t + "/scan.stop"):
    procs = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit() and pid != me:
            p = proc(pid)
            if p and p[0]:
                procs[pid] = p
    for pid, (words, ppid, exe) in procs.items():
        prog = os.path.basename(words[0])
        if words[0].startswith(b"scow-sync: transfer "):
            seen["supervisor"] += 1
        if prog == b"ssh":
            seen["ssh"] += 1
        if mine(pid, procs) or prog in tools:
            continue
        if prog == b"rsync" and b"--server" not in words:
            seen["rsync"] += 1
            # rsync's operands: the source (under its parent) and host:dest.
            if len(words) >= 3 and words[-3] == b"--":
                words = words[:-2]
        line = b" ".join(words)
        if tag in line:
            bad[pid] = line
    time.sleep(0.02)
with open(t + "/scan.bad", "wb") as f:
    for pid, line in bad.items():
        f.write(b"%s: %s\n" % (pid.encode(), line))
with open(t + "/scan.seen", "w") as f:
    f.write("%(supervisor)d %(rsync)d %(ssh)d\n" % seen)
PY
}
scan &
scan_pid=$!

export SCOW_SYNC_BWLIMIT=300 SCOW_SYNC_WORKERS=2
id=$(scow-sync start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dst" -m 2 \
	-p "$SSHD_PORT" -k "$key") || fail "start exited $?"
# A part inside the tree unit records/deep: its rsync goes on without it.
wait_for 30 query_has_file "$src/records-$tag/deep-$tag/scan-$tag-1" ||
	fail "records/deep never got under way"
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src/records-$tag/deep-$tag/scan-$tag-3" ||
	fail "terminate of a part exited $?"
wait_for 60 transfer_ended "$id" || fail "the transfer did not end"
# Again, in the foreground: the far side answered a moment ago, and the
# copy is there (a re-sync): the mkdir and the closing command could ride
# on rsync's command line.
unset SCOW_SYNC_BWLIMIT
scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dst" -m 2 -p "$SSHD_PORT" \
	-k "$key" || fail "the re-sync exited $?"
touch "$T/scan.stop"
wait "$scan_pid"

read -r sups rsyncs sshs < "$T/scan.seen"
# The scan saw the transfer: it can fail.
[ "${sups:-0}" -gt 0 ] || fail "no supervisor seen (its title is not 'scow-sync: transfer N')"
[ "${rsyncs:-0}" -gt 0 ] && [ "${sshs:-0}" -gt 0 ] || fail "no rsync or ssh seen"
if [ -s "$T/scan.bad" ]; then
	fail "names on command lines: $(cat -v "$T/scan.bad")"
fi
[ "$(transfer_state "$id")" = done ] || fail "the transfer is $(transfer_state "$id")"
tree_equal "$src" "$dst/Project-$tag" || fail "the copy differs from the source"
no_processes_left || fail "processes left"
finish
