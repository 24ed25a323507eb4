#!/bin/bash
# Each command's --help lists every option `scow-sync __options` gives the
# completions, and nothing else; and the parser takes each one, with a
# value exactly where the help shows one. The three come from one table
# per command (src/cmd-options.h): this is where they would be seen to
# part. The portal's names are checked as well. Parsing only: no sshd.
srcdir=${SCOW_SYNC_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PATH="${SCOW_SYNC_BUILDDIR:-$srcdir}/tests/bin:$PATH"
status=0
fail() { echo "FAIL: $*"; status=1; }

# Nothing of the caller's: no settings, a HOME of its own.
for var in $(compgen -e); do
	case $var in SCOW_SYNC_*) unset "$var" ;; esac
done
export SCOW_SYNC_CONFIG=/nonexistent SCOW_SYNC_SYSTEM_CONFIG=/nonexistent
HOME=$(mktemp -d /tmp/scow-sync-test.XXXXXX) || exit 99
export HOME
trap 'rm -rf "$HOME"' EXIT

# An option line: "  -a, --address HOST      ...", "      --all   ...", "  -x N  ...".
option_line='^ +(-[[:alnum:]])?(, )?(--[[:alnum:]-]+)?( [A-Z]+)?( |$)'

commands=$(scow-sync __commands) || { echo "FAIL: scow-sync __commands"; exit 1; }
for cmd in $commands; do
	case $cmd in help|version) continue ;; esac
	spellings=$(scow-sync __options "$cmd") || fail "scow-sync __options $cmd"
	names=("scow-sync $cmd")
	case $cmd in start|query|terminate) names+=("scow-sync-$cmd") ;; esac
	for name in "${names[@]}"; do
		# shellcheck disable=SC2086 # split the name into words
		help=$($name --help) || fail "$name --help exited $?"
		[ -n "$help" ] || fail "$name --help printed nothing"
		[ "$name" != "scow-sync $cmd" ] || [ "$(scow-sync help "$cmd")" = "$help" ] ||
			fail "scow-sync help $cmd is not $name --help"
		options=$(grep -E -- "$option_line" <<<"$help" | grep -E -- '^ +-')

		# Every line of the options lists spellings the completions know.
		while read -r first second _; do
			for word in "$first" "$second"; do
				word=${word%,}
				case $word in -*) ;; *) continue ;; esac
				grep -qxF -- "$word" <<<"$spellings" ||
					fail "$name --help lists $word, which __options does not"
			done
		done <<<"$options"

		for opt in $spellings; do
			if [ "${opt#--}" != "$opt" ]; then
				line=$(grep -E -- "^ +(-[[:alnum:]], )?$opt( |$)" <<<"$options")
			else
				line=$(grep -E -- "^ +$opt(,| |$)" <<<"$options")
			fi
			if [ -z "$line" ]; then
				fail "$name --help does not list $opt"
				continue
			fi
			# Its value's name: one space after the spelling, before the help's two.
			value=$(sed -E 's/^ +(-[[:alnum:]], )?--?[[:alnum:]-]+( ([A-Z]+))?( .*)?$/\3/' \
				<<<"$line")
			if [ -n "$value" ]; then
				# shellcheck disable=SC2086
				err=$($name "$opt" 2>&1 >/dev/null)
				rc=$?
				want="$name: option '$opt' needs a value"
			else
				# The option is taken, and the parser goes on to the next.
				# shellcheck disable=SC2086
				err=$($name "$opt" --no-such-option 2>&1 >/dev/null)
				rc=$?
				want="$name: unknown option '--no-such-option'"
				[ "$rc" = 0 ] && [ -z "$err" ] && continue   # -h, --version
			fi
			if [ "$rc" != 2 ] || [ "$err" != "$want" ]; then
				fail "$name $opt: exit $rc, '$err'; want exit 2, '$want'"
			fi
		done
	done
done
exit $status
