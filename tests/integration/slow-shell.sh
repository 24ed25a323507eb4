#!/bin/bash
# The link is judged by its round trip, not by the far side's shell: a far
# side where every session starts 1 s late (as with a .bashrc that sets up
# conda or environment modules; here a ForceCommand that sleeps) gets the
# same decisions as one that starts at once: pieces for large files,
# workers, one rsync for everything.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

slow_sessions 1 || skip "no sftp-server program"

src=$T/src/s
make_sample_tree "$src"
# judge NAME: run a transfer with a store of its own (no answer of an
# earlier transfer to go by), print its log's line about the link.
judge() {
	SCOW_SYNC_HOME=$T/state-$1 scow-sync run -q -a "$SSH_HOST" -u "$SSH_USER" -s "$src" \
		-d "$T/dst-$1" -p "$SSHD_PORT" -k "$SSH_KEY" || fail "$1: run exited $?"
	grep "info: the far side answered in" "$T/state-$1/scow-sync.log"
}
decisions() {   # what was decided, without the times
	sed 's/.*; pieces/pieces/'
}
for try in 1 2; do
	rm -f "$T/slow"
	fast=$(judge "fast-$try")
	touch "$T/slow"
	slow=$(judge "slow-$try")
	[ "$(decisions <<<"$fast")" = "$(decisions <<<"$slow")" ] && break
	# A busy machine can make one round trip slow: once more before failing.
done
printf 'at once: %s\n1 s late: %s\n' "$fast" "$slow"
[ -n "$fast" ] || fail "no line about the link"
[ "$(decisions <<<"$fast")" = "$(decisions <<<"$slow")" ] ||
	fail "a slow shell changed the decisions: '$fast' vs '$slow'"
# The far side's shell was slow indeed: the mkdir took its second.
command=$(sed -n 's/.*a command took \([0-9.]*\) s.*/\1/p' <<<"$slow")
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 1 else 1)' "${command:-0}" ||
	fail "the far side's commands were not slow: '$slow'"
tree_equal "$src" "$T/dst-slow-$try/s" || fail "the copy differs"
no_processes_left || fail "processes left"
finish
