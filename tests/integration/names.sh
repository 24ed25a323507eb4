#!/bin/bash
# Any file name: a tree whose names hold every awkward byte (spaces, tabs,
# quotes, backslashes, $(...), backticks, ; & | * ? [, leading dashes,
# newlines, invalid UTF-8, Chinese, emoji, names of 255 bytes, paths of
# thousands of bytes) arrives identical, as the -s source, as the -d
# destination and inside the tree, and nothing in any name is ever run,
# locally or by the far side's shell. The same for split units, pieces of a
# large file, terminate (whole and part), resume and the remote cleanup;
# query is valid JSON with invalid UTF-8 shown as U+FFFD; a name never
# breaks a log line. SCOW_SYNC_LONG=1 adds every single-byte name and
# random ones.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

state=$HOME/scow/.scow-sync
log=$state/scow-sync.log
# Every name that runs something leaves a file named like this wherever it
# runs; $T/pwned-* when the whole path reaches a shell.
TAG=pwned-${T##*.}

# The far side's shell starts in $T/rhome, with HOME there: a relative
# destination ("~", "$HOME/x", "*") lands inside the test, never in the
# real home. The key's forced command runs the requested command exactly
# as sshd would ($SHELL -c), and the sftp subsystem as its server.
RHOME=$T/rhome
mkdir -p "$RHOME"
SFTP_SERVER=
for p in /usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server \
	/usr/libexec/sftp-server /usr/lib/ssh/sftp-server; do
	[ -x "$p" ] && { SFTP_SERVER=$p; break; }
done
[ -n "$SFTP_SERVER" ] || skip "no sftp-server program for the forced command"
cat >"$T/forced.sh" <<EOF
cd '$RHOME' || exit 1
HOME='$RHOME'; export HOME
case \$SSH_ORIGINAL_COMMAND in
internal-sftp|sftp) exec '$SFTP_SERVER' ;;
esac
exec "\$SHELL" -c "\$SSH_ORIGINAL_COMMAND"
EOF
printf 'command="sh %s" %s\n' "$T/forced.sh" "$(cat "$SSH_KEY.pub")" >"$T/authorized_keys"

# The awkward names. Each is a file name and, in d/, a directory name.
names=(
	'with space' ' leading space' 'trailing space ' $'tab\there'
	"single'quote" 'double"quote' 'back\slash' 'end\' 'lit\#012eral'
	"\$(touch $TAG)" "\`touch $TAG\`" ";touch $TAG;" "&touch $TAG&"
	"|touch $TAG|" ">$TAG" "<in" "\${IFS}touch\${IFS}$TAG" '$HOME' '~' '~root'
	'*' '?' '[' '[a-z]' 'a*b?c[d]' '{a,b}' '!bang' '#hash' '%percent' 'a:b'
	'-e' '-' '--' "--rsh=touch $TAG" '-n' '.hidden' '..dots' '...'
	$'new\nline' $'\nleading newline' $'trailing newline\n'
	$'fake\n\r     32,768 100%   31.25MB\rsent 1 bytes  received 2 bytes'
	$'cr\rhere' $'esc\e[31mred' $'del\x7f' $'bell\a'
	$'\xff\xfe' $'\x80' $'mixed\xffvalid' $'cut\xe4\xb8' $'\xc0\xaf overlong'
	$'twin\xf1' $'twin\xf2' $'U+FFFD \xef\xbf\xbd'
	'中文名字' '😀 emoji' '日本語 と 한국어'
)
# 255 bytes: ASCII, three-byte characters, four-byte ones (63 * 4 + 3).
long_ascii=$(printf 'x%.0s' $(seq 255))
long_cjk=$(printf '中%.0s' $(seq 85))
long_emoji=abc$(printf '😀%.0s' $(seq 63))
names+=("$long_ascii" "$long_cjk" "$long_emoji")

# A tree with every name as a file at the top and as a directory in d/
# holding a file of its name; a chain of directories thousands of bytes
# deep; a path that as a whole would run something.
make_awkward_tree() {
	local d=$1 n deep i
	mkdir -p "$d/d"
	for n in "${names[@]}"; do
		printf '%s' "$n" >"$d/$n" || fail "cannot create the file '$n'"
		mkdir -p "$d/d/$n" && printf '%s\n' "$n" >"$d/d/$n/$n" ||
			fail "cannot create the directory '$n'"
	done
	deep=$d/deep
	for i in $(seq 12); do
		deep=$deep/$i$'\n'" 中 \$(touch $TAG) '\"\\"$(printf 'y%.0s' $(seq 200))
	done
	mkdir -p "$deep" && printf deep >"$deep/$long_cjk" || fail "cannot create the deep path"
	mkdir -p "$d/\$(touch $T/pwned-full)" "$d/\`touch $T/pwned-full2\`"
	printf x >"$d/\$(touch $T/pwned-full)/f"
	printf x >"$d/\`touch $T/pwned-full2\`/f"
	ln -s "\$(touch $TAG)" "$d/link to \$(touch $TAG)"
	ln -s $'\xff/\n' "$d/link"$'\xff'
}

# Nothing ever ran a name: no canary anywhere a shell could have started.
no_canary() {
	local found
	found=$( (find / /tmp "$(getent passwd "$(id -un)" | cut -d: -f6)" "$PWD" -maxdepth 1 \
		-name "$TAG" 2>/dev/null; find "$T" -name "$TAG" -o -path "$T/pwned-*") | sort -u)
	[ -z "$found" ] && return 0
	echo "names were run: $found"
	return 1
}

# The path as query shows it: each byte that is not part of valid UTF-8
# becomes U+FFFD (see display_path in src/format.c).
shown() {
	python3 - "$1" <<'PY'
import os, sys
b, out, i = os.fsencode(sys.argv[1]), [], 0
while i < len(b):
    for n in range(1, 5):
        try:
            out.append(b[i:i + n].decode("utf-8"))
            i += n
            break
        except UnicodeDecodeError:
            pass
    else:
        out.append("\ufffd")
        i += 1
sys.stdout.write("".join(out))
PY
}

# True when query answer $1 (valid, ASCII only) has a row for the file
# shown as $2, or with a third argument "under", for one under it.
query_lists() {
	python3 - "$@" <<'PY'
import json, sys
rows = json.loads(sys.argv[1].encode("ascii"))
want = sys.argv[2]
if len(sys.argv) > 3:
    sys.exit(0 if any(r["filePath"].startswith(want + "/") for r in rows) else 1)
sys.exit(0 if any(r["filePath"] == want for r in rows) else 1)
PY
}

# Ask query like the portal: fail unless the answer keeps the contract
# (filePaths under source $1); leaves it in $Q.
ask_query() {
	Q=$(scow-sync-query) || fail "scow-sync-query exited $?"
	check_legacy_json "$Q" "$SSH_HOST" "$(shown "$1")" || fail "bad query output: $Q"
}

# Poll query until it lists file $2 of source $1 (every answer checked).
query_until() {
	local i
	for i in $(seq 150); do
		ask_query "$1"
		query_lists "$Q" "$(shown "$2")" && return 0
		sleep 0.2
	done
	return 1
}

# Every log line is one event: "TIME [ID] LEVEL: ...", valid UTF-8, no
# control bytes; names with newlines never start a line of their own.
logs_clean() {
	python3 - "$log" "$state/scow-sync.err" <<'PY'
import re, sys
ok = True
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        print("%s: not UTF-8: %s" % (path, e)); ok = False
    for n, line in enumerate(data.split(b"\n")[:-1], 1):
        if not re.match(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} \[\d+\] (debug|info|warning|error): ", line):
            print("%s:%d: not an event line: %r" % (path, n, line[:200])); ok = False
        if re.search(rb"[\x00-\x1f\x7f]", line):
            print("%s:%d: control byte: %r" % (path, n, line[:200])); ok = False
sys.exit(0 if ok else 1)
PY
}

# The id of the newest transfer.
last_id() {
	python3 - "$state/scow-sync.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=15)
print(db.execute("SELECT max(id) FROM transfers").fetchone()[0])
PY
}

start_args=(-a "$SSH_HOST" -u "$SSH_USER" -p "$SSHD_PORT" -k "$SSH_KEY")

# ---- 1. the awkward tree, from an awkward source, split into units ---------
# The source directory's own name begins with a dash and holds a newline,
# $(...), invalid UTF-8 and emoji; it is given relative to the current
# directory, so -s's argument itself begins with '-'.
srcname=$'-src\n$(touch '"$TAG"$') `touch '"$TAG"$'` \xff 中😀'
mkdir -p "$T/src"
src=$T/src/$srcname
make_awkward_tree "$src"
(cd "$T/src" && scow-sync-start "${start_args[@]}" -s "$srcname" -d "$T/dst1" -m 2) ||
	fail "scow-sync-start of the awkward tree exited $?"
wait_for 60 transfer_ended 1 || fail "the awkward tree did not arrive in time"
[ "$(transfer_state 1)" = done ] || fail "the awkward tree ended $(transfer_state 1)"
tree_equal "$src" "$T/dst1/$srcname" || fail "the awkward tree differs from its source"
ask_query "$src"
[ "$Q" = "[]" ] || fail "query not empty after the awkward tree arrived: $Q"
units=$(grep -c "\[1\] info: done '" "$log")
[ "$units" -ge "${#names[@]}" ] || fail "only $units units: the names were not split"

# Depth 3: the directories of d/ are above the cut, created on the far side
# by one remote mkdir (no newline among them) and their files units of
# their own, batched in --files-from lists.
small=$T/src/small
mkdir -p "$small"
for n in "${names[@]}"; do
	case $n in *$'\n'*) continue ;; esac
	mkdir -p "$small/d/$n" && printf '%s' "$n" >"$small/d/$n/$n"
done
scow-sync run "${start_args[@]}" -s "$small" -d "$T/dst-small" -m 3 -q ||
	fail "scow-sync run of the small tree exited $?"
tree_equal "$small" "$T/dst-small/small" || fail "the small tree differs from its source"
no_canary || fail "a name was run by the shell"

# ---- 2. awkward destinations --------------------------------------------------
# Absolute ones, and relative ones that the far side's shell would expand
# if it ever saw them bare (they land in its home, $RHOME, by name).
mkdir -p "$RHOME/aaa" "$RHOME/bbb" "$T/dst-glob/aaa"
dests=(
	"$T/dst-a/\$HOME x" "$T/dst-b/it's \"q\" \\ x" "$T/dst-c/\$(touch $T/pwned-d)"
	"$T/dst-d/\`touch $T/pwned-e\`;touch $T/pwned-f;|&>$T/pwned-g" "$T/dst-e/new"$'\n'"line"
	"$T/dst-f/"$'\xff\xfe 中😀' "$T/dst-glob/*" "$T/dst-h/[a-z]*?" "$T/dst-i//x/./"
	'~' '~/sub' '$HOME' '*' '-dash dest' '--' "\$(touch $TAG)"
)
i=0
for d in "${dests[@]}"; do
	i=$((i + 1))
	case $d in
	/*) where=$(python3 -c 'import os,sys; print(os.path.normpath(sys.argv[1]))' "$d") ;;
	*) where=$RHOME/$d ;;
	esac
	# Each of the three ways in: the portal's, run, and bare flags.
	case $((i % 3)) in
	0) scow-sync-start "${start_args[@]}" -s "$small" -d "$d" -m 3 ||
		fail "scow-sync-start to '$d' exited $?"
	   id=$(last_id)
	   wait_for 30 transfer_ended "$id" || fail "the transfer to '$d' did not end" ;;
	1) scow-sync run "${start_args[@]}" -s "$small" -d "$d" -m 3 -q ||
		fail "scow-sync run to '$d' exited $?" ;;
	2) scow-sync "${start_args[@]}" -m 3 -q -d "$d" -s "$small" ||
		fail "scow-sync to '$d' exited $?" ;;
	esac
	tree_equal "$small" "$where/small" || fail "the copy in '$d' differs from the source"
done
# Nothing went where an expansion would have taken it.
for d in aaa bbb; do
	[ -z "$(ls -A "$RHOME/$d")" ] || fail "something landed in $RHOME/$d"
done
[ -z "$(ls -A "$T/dst-glob/aaa")" ] || fail "something landed in dst-glob/aaa"
[ -e "$RHOME/small" ] && fail "a destination was expanded to the far side's home"
[ -e "$RHOME/sub" ] && fail "~/sub was expanded"

# -s and -d that getopt could take for "--": the directory named "--".
mkdir -p "$T/src2/--"
cp -a "$small/d" "$T/src2/--/"
(cd "$T/src2" && scow-sync run "${start_args[@]}" -s -- -d -- -q) ||
	fail "scow-sync run -s -- -d -- exited $?"
tree_equal "$T/src2/--" "$RHOME/--/--" || fail "-s -- -d -- did not arrive as --/--"
no_canary || fail "a name was run by the shell"

# ---- 3. a large file in pieces, with an awkward name --------------------------
big=$T/src/$'big \x80;|&'
# (A name with a newline never goes in pieces: csh cannot quote it.)
bigname=$'-big $(touch '"$TAG"$') \xff\t中😀 \'"`touch '"$TAG"'`;|& *?['
bigdir=$big/$'-d \xfe $(touch '"$TAG"')'
bigdst="$T/dst-big/it's \$(touch $T/pwned-p) *"
mkdir -p "$bigdir"
head -c 5242880 /dev/urandom >"$bigdir/$bigname"
SCOW_SYNC_SPLIT_MIB=1 SCOW_SYNC_WORKERS=3 scow-sync "${start_args[@]}" -s "$big" -d "$bigdst" -m 2 -q ||
	fail "the large file's transfer exited $?"
tree_equal "$big" "$bigdst/${big##*/}" || fail "the large file differs from its source"
grep -qa "bytes in [0-9]* pieces" "$log" || fail "the large file was not moved in pieces"
no_canary || fail "a name was run by the shell"

# ---- 4. errors naming an awkward path are one line --------------------------
bad=$T/$'no\nsuch \xff $(touch '"$TAG"')'
scow-sync-start "${start_args[@]}" -s "$bad" -d "$T/dst-x" 2>"$T/err"; rc=$?
[ "$rc" = 2 ] || fail "start of a missing awkward source exited $rc, want 2"
[ "$(wc -l <"$T/err")" = 1 ] || fail "start's error is not one line: $(cat "$T/err")"
grep -qF 'no\x0asuch \xff' "$T/err" || fail "start's error does not name the source: $(cat "$T/err")"
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$bad" 2>"$T/err"; rc=$?
[ "$rc" = 3 ] || fail "terminate of a missing awkward source exited $rc, want 3"
[ "$(wc -l <"$T/err")" = 1 ] || fail "terminate's error is not one line: $(cat "$T/err")"
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$src/no"$'\n'"such" 2>"$T/err"; rc=$?
[ "$rc" = 3 ] || fail "terminate of a part of an ended transfer exited $rc, want 3"
[ "$(wc -l <"$T/err")" = 1 ] || fail "terminate's error is not one line: $(cat "$T/err")"
# A key whose path has spaces, quotes and what ssh would expand (%h, %%):
# login is checked true, and the transfer goes through. One with what ssh
# cannot take in any quoting ('"', '\', "${") is refused at once.
akey=$T/$'key dir %h %% \'q\' $HOME 中 \xff'/'id rsa'
mkdir -p "${akey%/*}" && cp "$SSH_KEY" "$akey" && cp "$SSH_KEY.pub" "$akey.pub"
out=$(scow-sync-start -a "$SSH_HOST" -u "$SSH_USER" -p "$SSHD_PORT" -k "$akey" -c 2>"$T/err")
[ "$out" = true ] || fail "key check with an awkward key path said '$out': $(cat "$T/err")"
scow-sync run -a "$SSH_HOST" -u "$SSH_USER" -p "$SSHD_PORT" -k "$akey" -s "$small" \
	-d "$T/dst-key" -q || fail "a transfer with an awkward key path exited $?"
tree_equal "$small" "$T/dst-key/small" || fail "the copy with an awkward key path differs"
# A home with a space: known_hosts under it is one file to ssh.
mkdir -p "$T/home x/.ssh"
HOME="$T/home x" scow-sync run "${start_args[@]}" -s "$small" -d "$T/dst-homex" -q ||
	fail "a transfer from a home with a space exited $?"
tree_equal "$small" "$T/dst-homex/small" || fail "the copy from a home with a space differs"
[ -s "$T/home x/.ssh/known_hosts" ] || fail "the host key was not learned into the home with a space"
# A TMPDIR that ssh would split or expand is not used for the socket.
mkdir -p "$T/tmp x%h"
TMPDIR="$T/tmp x%h" scow-sync run "${start_args[@]}" -s "$small" -d "$T/dst-tmpx" -q ||
	fail "a transfer with an awkward TMPDIR exited $?"
tree_equal "$small" "$T/dst-tmpx/small" || fail "the copy with an awkward TMPDIR differs"
for k in '"' '\' '${HOME}'; do
	bkey=$T/"key $k"
	cp "$SSH_KEY" "$bkey"
	scow-sync-start "${start_args[@]}" -k "$bkey" -s "$small" -d "$T/dst-key2" 2>"$T/err"; rc=$?
	[ "$rc" = 2 ] && [ "$(wc -l <"$T/err")" = 1 ] ||
		fail "a key path with $k: exit $rc, $(cat "$T/err")"
done

# A destination that cannot be made (a file is in the way): the transfer
# fails, its reason names the destination escaped, and query stays valid.
printf x >"$T/"$'afile\n\xff'
scow-sync run "${start_args[@]}" -s "$small" -d "$T/"$'afile\n\xff/$(touch '"$TAG"')' -q 2>"$T/err"; rc=$?
[ "$rc" = 1 ] || fail "a transfer to an impossible destination exited $rc, want 1"
[ "$(transfer_state "$(last_id)")" = failed ] || fail "it ended $(transfer_state "$(last_id)")"
grep -aqF "cannot create destination '$T/afile\x0a\xff/\$(touch $TAG)'" "$log" ||
	fail "the log does not name the destination escaped"
ask_query "$small"
[ "$Q" = "[]" ] || fail "query not empty after a failed transfer: $Q"
# A path as query shows it, where two names differ only in bytes that
# are not UTF-8: terminate cannot tell which is meant, and says so.
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$(shown "$src/twin"$'\xf1')" 2>"$T/err"; rc=$?
[ "$rc" = 2 ] || fail "terminate of an ambiguous shown path exited $rc, want 2"
grep -q "more than one" "$T/err" && [ "$(wc -l <"$T/err")" = 1 ] ||
	fail "terminate of an ambiguous shown path said: $(cat "$T/err")"

# ---- 5. terminate a part and the whole, resume ------------------------------
# Files on the far side under $1 that the source $2 does not have (rsync's
# temporary files, their names cut short or not), one repr a line.
extra_files() {
	python3 - "$2" "$1" <<'PY'
import os, sys
src, dst = (os.fsencode(p) for p in sys.argv[1:3])
for d, dirs, files in os.walk(dst):
    for n in files:
        rel = os.path.relpath(os.path.join(d, n), dst)
        if not os.path.lexists(os.path.join(src, rel)):
            print(repr(rel))
PY
}

# Slowed to 256 KiB/s per worker so that there is something to stop.
slow=$T/src/$'slow \xff\n$(touch '"$TAG"')'
part=$'-a part \xfe\n$(touch '"$TAG"') *'
keep=$'-b keep \x80 "q" 中'
mkdir -p "$slow/$part" "$slow/$keep"
for f in "$part/"$'a \xff;|&' "$part/"$'b\n`touch '"$TAG"'`' "$keep/c \$HOME"; do
	head -c 1048576 /dev/urandom >"$slow/$f"
done
# These two are on their way for 12 s, long enough to be caught.
for f in "$keep/$long_cjk" "$long_emoji"; do
	head -c 3145728 /dev/urandom >"$slow/$f"
done
cp -a "$small/d" "$slow/d"
# Relative, under the far side's home: the cleanup over SFTP finds it too.
sdst="~/dst-slow 'q' \$(touch $TAG) *"
scopy=$RHOME/$sdst/${slow##*/}
export SCOW_SYNC_BWLIMIT=256 SCOW_SYNC_WORKERS=2
scow-sync-start "${start_args[@]}" -s "$slow" -d "$sdst" -m 2 || fail "start of the slow tree exited $?"
id=$(last_id)
query_until "$slow" "$slow/$part/"$'a \xff;|&' ||
	fail "query never showed the part's file in flight (invalid bytes as U+FFFD)"
wait_for 10 eval '[ -n "$(extra_files "$scopy/$part" "$slow/$part")" ]'

# The file in flight, named as the portal names it: by the filePath of
# its row, with U+FFFD for the bytes that are not UTF-8.
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$(shown "$slow/$part/"$'a \xff;|&')"; rc=$?
[ "$rc" = 0 ] || fail "terminate of the file by its filePath exited $rc"
ask_query "$slow"
query_lists "$Q" "$(shown "$slow/$part/"$'a \xff;|&')" && fail "query still shows the stopped file: $Q"
grep -aqF "stopped 'slow \xff\x0a\$(touch $TAG)/-a part \xfe\x0a\$(touch $TAG) */a \xff;|&' on request" "$log" ||
	fail "the log does not say that the file was stopped"
# The part, named by its own (awkward) path: it stops, the rest goes on.
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$slow/$part"; rc=$?
[ "$rc" = 0 ] || fail "terminate of the part exited $rc"
ask_query "$slow"
query_lists "$Q" "$(shown "$slow/$part")" under && fail "query still shows the stopped part: $Q"
# (Other files cut off with the part's batch keep theirs, to go on from.)
[ -z "$(partial_files "$scopy/$part")" ] ||
	fail "the part's partial data is left: $(partial_files "$scopy/$part")"
[ -z "$(extra_files "$scopy/$part" "$slow/$part")" ] ||
	fail "the part left: $(extra_files "$scopy/$part" "$slow/$part")"
[ "$(transfer_state "$id")" = running ] || fail "the rest stopped too: $(transfer_state "$id")"

# The file of 255 bytes of Chinese on its way: rsync names its temporary
# file with the name cut short (here to nothing: ".XXXXXX"; the emoji
# name's to ".abc.XXXXXX"). The far side's rsyncs hang (SIGSTOP): the
# cleanup of the terminate waits for them to settle, then removes their
# temporary files, which it must know by those names.
query_until "$slow" "$slow/$keep/$long_cjk" || fail "the long name never got under way"
wait_for 10 eval '[ -n "$(extra_files "$scopy/$keep" "$slow/$keep" | grep -v scow-sync-partial)" ]' ||
	fail "no temporary file of the long name"
stopped=
for p in $(pgrep -x rsync); do
	case $(readlink "/proc/$p/cwd") in "$RHOME/$sdst"*) kill -STOP "$p" && stopped="$stopped $p" ;; esac
done
[ -n "$stopped" ] || fail "no rsync of the far side to stop"
scow-sync-terminate -a "$SSH_HOST" -u "$SSH_USER" -s "$slow"; rc=$?
[ "$rc" = 0 ] || fail "terminate of the whole exited $rc"
[ "$(transfer_state "$id")" = terminated ] || fail "the whole ended $(transfer_state "$id")"
[ -z "$(extra_files "$scopy" "$slow")" ] ||
	fail "left on the far side after the terminate: $(extra_files "$scopy" "$slow")"
kill -9 $stopped
no_processes_left || fail "processes left after the terminate"
ask_query "$slow"
[ "$Q" = "[]" ] || fail "query not empty after the terminate: $Q"
[ -z "$(partial_files "$RHOME/$sdst")" ] || fail "partial files left: $(partial_files "$RHOME/$sdst")"

unset SCOW_SYNC_BWLIMIT
scow-sync resume -f -q "$id" || fail "resume of the terminated transfer exited $?"
[ "$(transfer_state "$id")" = done ] || fail "the resumed transfer ended $(transfer_state "$id")"
# Everything but the part stopped on its own; its directory may be there, empty.
rm -rf "$T/expected" && cp -a "$slow" "$T/expected" && rm -rf "$T/expected/$part"
[ -d "$scopy/$part" ] && { rmdir "$scopy/$part" || fail "the part arrived"; }
tree_equal "$T/expected" "$scopy" || fail "the resumed copy differs"
# The same request again moves everything, the part too.
scow-sync-start "${start_args[@]}" -s "$slow" -d "$sdst" -m 2 || fail "the new start exited $?"
id2=$(last_id)
wait_for 60 transfer_ended "$id2" || fail "the new start did not end"
tree_equal "$slow" "$scopy" || fail "the copy differs after the new start"
no_processes_left || fail "processes left at the end"
no_canary || fail "a name was run by the shell"

# ---- 6. a supervisor killed (interrupted), and the same start again ----------
intr=$T/src/$'int \xfe $(touch '"$TAG"')'
cp -a "$small" "$intr"
head -c 2097152 /dev/urandom >"$intr/"$'-big \n\xff `touch '"$TAG"'`'
export SCOW_SYNC_BWLIMIT=256
scow-sync-start "${start_args[@]}" -s "$intr" -d "$T/dst-int \$(touch $T/pwned-i)" -m 1 ||
	fail "start of the transfer to interrupt exited $?"
id=$(last_id)
query_until "$intr" "$intr/"$'-big \n\xff `touch '"$TAG"'`' || fail "the big file never got under way"
kill -9 "$(python3 - "$state/scow-sync.db" "$id" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=15)
print(db.execute("SELECT sup_pid FROM transfers WHERE id = ?", (int(sys.argv[2]),)).fetchone()[0])
PY
)"
no_processes_left || fail "processes outlived their supervisor"
ask_query "$intr"
[ "$Q" = "[]" ] || fail "query shows files of a dead supervisor: $Q"
[ "$(transfer_state "$id")" = interrupted ] || fail "the killed transfer is $(transfer_state "$id")"
unset SCOW_SYNC_BWLIMIT
scow-sync-start "${start_args[@]}" -s "$intr" -d "$T/dst-int \$(touch $T/pwned-i)" -m 1 ||
	fail "the same start again exited $?"
[ "$(last_id)" = "$id" ] || fail "the same start did not continue transfer $id"
wait_for 30 transfer_ended "$id" || fail "the continued transfer did not end"
[ "$(transfer_state "$id")" = done ] || fail "the continued transfer ended $(transfer_state "$id")"
tree_equal "$intr" "$T/dst-int \$(touch $T/pwned-i)/${intr##*/}" || fail "the continued copy differs"
no_processes_left || fail "processes left after the continued transfer"
no_canary || fail "a name was run by the shell"

# ---- 7. SCOW_SYNC_LONG=1: every byte, and random names ----------------------
if [ "${SCOW_SYNC_LONG:-0}" = 1 ]; then
	seed=${SCOW_SYNC_SEED:-$RANDOM}
	echo "random names from seed $seed (SCOW_SYNC_SEED)"
	every=$T/src/every
	# Every byte but '/' (and '.', which is no name) alone, then random
	# names of 1 to 255 bytes, some built of the awkward pieces above:
	# files in f/, directories in d/.
	python3 - "$every" "$seed" "$TAG" >"$T/dest-names" <<'PY' || fail "cannot make every name"
import os, random, sys
root, seed, tag = os.fsencode(sys.argv[1]), int(sys.argv[2]), os.fsencode(sys.argv[3])
rnd = random.Random(seed)
pieces = [b"$(touch " + tag + b")", b"`touch " + tag + b"`", b";", b"&", b"|", b"*", b"?",
          b"[", b"'", b'"', b"\\", b" ", b"\t", b"\n", b"-", b"--", b"\xff", b"\x80",
          "中".encode(), "😀".encode(), b"~", b"$HOME", b"\\#012", b".."]
def valid(n):
    return n not in (b".", b"..") and b"/" not in n and b"\0" not in n and 0 < len(n) <= 255
names = [bytes([b]) for b in range(1, 256) if b not in (0x2e, 0x2f)]
while len(names) < 800:
    if rnd.random() < 0.5:
        n = bytes(rnd.choice([b for b in range(1, 256) if b != 0x2f])
                  for _ in range(rnd.choice([1, 2, 5, 20, 100, 255])))
    else:
        n = b"".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 12)))[:255]
    if valid(n) and n not in names:
        names.append(n)
os.makedirs(os.path.join(root, b"d"))
os.makedirs(os.path.join(root, b"f"))
for n in names:
    with open(os.path.join(root, b"f", n), "wb") as f:
        f.write(n)
    os.mkdir(os.path.join(root, b"d", n))
    with open(os.path.join(root, b"d", n, n), "wb") as f:
        f.write(n)
# Twenty of them as destinations, NUL-separated.
for n in rnd.sample(names, 20):
    sys.stdout.buffer.write(n + b"\0")
PY
	for m in 0 1 2 3; do
		scow-sync run "${start_args[@]}" -s "$every" -d "$T/dst-every-$m" -m "$m" -q ||
			fail "the transfer of every name with -m $m exited $?"
		tree_equal "$every" "$T/dst-every-$m/every" || fail "every name with -m $m differs"
	done
	# (bash's read takes a byte such as \xf9 with the NUL after it as one
	# character unless the locale is C.)
	i=0
	while LC_ALL=C IFS= read -r -d '' d; do
		i=$((i + 1))
		mkdir -p "$T/dst-rand-$i"
		scow-sync "${start_args[@]}" -s "$small" -d "$T/dst-rand-$i/$d" -m 3 -q ||
			fail "the transfer to random destination $i exited $?"
		tree_equal "$small" "$T/dst-rand-$i/$d/small" ||
			fail "the copy in random destination $i differs"
	done <"$T/dest-names"
	[ "$i" = 20 ] || fail "only $i random destinations were tried"
	no_canary || fail "a name was run by the shell"
fi

logs_clean || fail "the logs hold lines that names broke"

finish
