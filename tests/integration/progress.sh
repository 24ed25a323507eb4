#!/bin/bash
# The foreground run on a terminal (a pseudo-terminal here): a live line
# with the overall percent, rate, time left and files, redrawn in place;
# no escape sequence with NO_COLOR or TERM=dumb; nothing of it when stderr
# is not a terminal; a summary at the end either way.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

src=$T/src/data
mkdir -p "$src/d"
head -c 2500000 /dev/urandom >"$src/big.bin"
for i in 1 2 3 4 5; do echo "small $i" >"$src/d/f$i"; done
ln -s big.bin "$src/link"
start_linkem 4 5

# on_pty OUT CMD...: run CMD with a pseudo-terminal of 80 columns as its
# terminal, stdin, stdout and stderr; save everything it wrote to OUT.
on_pty() {
	python3 - "$@" <<'PY'
import fcntl, os, pty, struct, sys, termios
out, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, int(os.environ.get("PTY_COLS", "80")), 0, 0))
data = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    data += chunk
_, status = os.waitpid(pid, 0)
open(out, "wb").write(data)
sys.exit(os.waitstatus_to_exitcode(status))
PY
}

# --bwlimit: the link's deep queue would take the whole file at once.
run_args=(-a "$SSH_HOST" -u "$SSH_USER" -d "$T/dst" -p "$LINKEM_PORT" -k "$SSH_KEY" -m 1
	--bwlimit 800)

# check_output FILE MODE: MODE ansi (redrawn with \r and ESC[K) or plain.
check_output() {
	python3 - "$1" "$2" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
mode = sys.argv[2]
# Every redraw starts with a carriage return; the last is the summary.
frames = [f for f in data.replace("\r\n", "\n").split("\r") if f.strip()]
lines = [re.sub(r"\x1b\[K", "", f) for f in frames]
bar = re.compile(r"^ *(\d+)% [\d.]+ (B|KiB|MiB) of [\d.]+ (B|KiB|MiB), [\d.]+ (B|KiB|MiB)/s, "
                 r"(\d+:\d\d:\d\d|-:--:--) left, (\d+)/(\d+) files( .*)?$")
shown = [bar.match(l.rstrip(" \n")) for l in lines]
shown = [m for m in shown if m]
assert len(shown) >= 3, "fewer than 3 progress lines: %r" % data[-2000:]
percents = [int(m.group(1)) for m in shown]
assert percents == sorted(percents), "the percent goes back: %s" % percents
assert percents[-1] >= 30 and max(percents) <= 99, percents
assert any(m.group(8) and "big.bin" in m.group(8) for m in shown), "no file name shown"
rated = [l for l in lines if bar.match(l.rstrip(" \n")) and ", 0 B/s," not in l
         and "-:--:-- left" not in l]
assert len(rated) >= 2, "no line with a rate and a time left: %r" % lines[-5:]
assert all(int(m.group(7)) == 7 for m in shown), "files total is not 7"
assert all(len(m.group(0)) <= 79 for m in shown), "a progress line wider than 79 columns"
if mode == "ansi":
    assert "\x1b[K" in data, "no erase-line code on a terminal"
else:
    assert "\x1b" not in data, "an escape sequence with NO_COLOR or TERM=dumb"
summary = data.rstrip().splitlines()[-1].split("\r")[-1]
assert re.search(r"transfer \d+ done: [\d,]+ files sent, [\d,]+ skipped, 0 failed; "
                 r"[\d.]+ MiB in [\d.]+ s, [\d.]+ (KiB|MiB)/s$", summary), repr(summary)
PY
}

on_pty "$T/tty.out" scow-sync run "${run_args[@]}" -s "$src" || fail "run on a terminal exited $?"
check_output "$T/tty.out" ansi || fail "the terminal output is not as it should be"
tree_equal "$src" "$T/dst/data" || fail "the copy differs"

rm -rf "$T/dst"
on_pty "$T/nocolor.out" env NO_COLOR=1 scow-sync run "${run_args[@]}" -s "$src" ||
	fail "run with NO_COLOR exited $?"
check_output "$T/nocolor.out" plain || fail "NO_COLOR: the output is not as it should be"

rm -rf "$T/dst"
on_pty "$T/dumb.out" env TERM=dumb scow-sync run "${run_args[@]}" -s "$src" ||
	fail "run with TERM=dumb exited $?"
check_output "$T/dumb.out" plain || fail "TERM=dumb: the output is not as it should be"

# A narrow terminal: every line fits, the least useful parts gone first.
rm -rf "$T/dst"
PTY_COLS=40 on_pty "$T/narrow.out" scow-sync run "${run_args[@]}" -s "$src" ||
	fail "run on a narrow terminal exited $?"
python3 - "$T/narrow.out" <<'PY' || fail "a line wider than a 40-column terminal"
import re, sys
data = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
frames = [re.sub(r"\x1b\[K", "", f) for f in data.replace("\r\n", "\n").split("\r")]
frames = [f for f in frames if f.strip() and "files sent" not in f]
assert len(frames) >= 3, frames
assert all(len(f.rstrip("\n")) <= 39 for f in frames), [f for f in frames if len(f) > 39]
assert all(re.match(r"^ *\d+% ", f) for f in frames), frames
PY

# Not a terminal: the summary only, no carriage return, no escape.
rm -rf "$T/dst"
scow-sync run "${run_args[@]}" -s "$src" 2>"$T/pipe.err" || fail "run into a pipe exited $?"
grep -q $'[\r\033]' "$T/pipe.err" && fail "control codes when stderr is not a terminal"
[ "$(wc -l <"$T/pipe.err")" = 1 ] && grep -q "files sent, .* skipped, 0 failed" "$T/pipe.err" ||
	fail "the summary is not the one line written: $(cat "$T/pipe.err")"
# -q: nothing at all.
rm -rf "$T/dst"
on_pty "$T/quiet.out" scow-sync run -q "${run_args[@]}" -s "$src" || fail "run -q exited $?"
[ ! -s "$T/quiet.out" ] || fail "run -q wrote: $(cat -v "$T/quiet.out")"
# Again onto the complete copy: everything skipped.
scow-sync run "${run_args[@]}" -s "$src" 2>"$T/again.err" || fail "the re-run exited $?"
grep -q "done: 0 files sent, 7 skipped, 0 failed" "$T/again.err" ||
	fail "the re-run's summary: $(cat "$T/again.err")"
no_processes_left || fail "processes left behind"
finish
