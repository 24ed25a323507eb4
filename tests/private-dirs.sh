# tests/private-dirs.sh: sourced by every harness (tests/lib.sh, and the
# S3 and hosts suites' lib.sh), which point TMPDIR at a directory of the
# case's own.
#
# A transfer's private directory (scow-sync-ID-XXXXXX in $TMPDIR: sockets,
# lists, the key's link, an object store's filter files) goes with its
# supervisor, and the next run of a transfer removes what a killed one
# left; a Slurm node's worker directory goes with its worker. Whatever is
# still there when a case finishes is debris: check_private_dirs fails for
# each, after giving supervisors that are still ending 10 s. A case that
# leaves one on purpose (a supervisor killed and never resumed) sets
# PRIVATE_DIRS_LEFT to its name pattern. Not debris: scow-sync-UID, a
# user's directory for connections kept between transfers (master.c), like
# ssh-agent's or tmux's.
PRIVATE_DIRS_LEFT=

# The names left that are debris, one a line.
private_dirs_left() {
	local d name
	for d in "$TMPDIR"/scow-sync-*; do
		[ -e "$d" ] || continue
		name=${d##*/}
		[[ $name =~ ^scow-sync-[0-9]+$ ]] && continue
		# shellcheck disable=SC2053
		[ -n "$PRIVATE_DIRS_LEFT" ] && [[ $name == $PRIVATE_DIRS_LEFT ]] && continue
		echo "$name"
	done
}

check_private_dirs() {
	local name
	[ -n "${TMPDIR:-}" ] && [ -d "$TMPDIR" ] || return 0
	wait_for 10 eval '[ -z "$(private_dirs_left)" ]' && return 0
	# One a line; a name with a newline shows as two lines, and still fails.
	while IFS= read -r name; do
		fail "left behind in TMPDIR: $name ($(ls -A "$TMPDIR/$name" 2>&1 | tr '\n' ' '))"
	done < <(private_dirs_left)
}
