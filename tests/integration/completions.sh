#!/bin/bash
# Every command and every option spelling that the program knows is offered
# by each completion file. The lists come from the program's own command
# table (`scow-sync __commands`, `scow-sync __options CMD`), so a new option
# without its completions fails here.
#
# bash: the completion function is run for each command, as bash would.
# zsh and fish: the spellings are looked for in their specs (and fish's
# completions are run too when fish is installed).
srcdir=${SCOW_SYNC_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PATH="${SCOW_SYNC_BUILDDIR:-$srcdir}/tests/bin:$PATH"
bash_file=$srcdir/completions/scow-sync
zsh_file=$srcdir/completions/_scow-sync
fish_file=$srcdir/completions/scow-sync.fish

status=0
fail() { echo "FAIL: $*"; status=1; }

# A bash without programmable completion cannot run the bash half.
if [ "$(type -t complete)" != builtin ] || [ "$(type -t compgen)" != builtin ]; then
	echo "SKIP: this bash has no programmable completion"
	exit 77
fi

if ! commands=$(scow-sync __commands) || [ -z "$commands" ]; then
	echo "FAIL: 'scow-sync __commands' did not list the commands"
	exit 1
fi

# The option spellings of each command (help and version take none).
declare -A opts
for cmd in $commands; do
	case $cmd in help|version) continue ;; esac
	if ! opts[$cmd]=$(scow-sync __options "$cmd") || [ -z "${opts[$cmd]}" ]; then
		fail "'scow-sync __options $cmd' did not list the options"
	fi
done

# Run the bash completion for the words given (the last one is being
# completed) and print what it offers, one per line.
# shellcheck source=/dev/null
source "$bash_file" || { echo "FAIL: cannot source $bash_file"; exit 1; }
bash_func=$(complete -p scow-sync 2>/dev/null | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
[ -n "$bash_func" ] || { echo "FAIL: $bash_file defines no completion for scow-sync"; exit 1; }
for name in scow-sync-start scow-sync-query scow-sync-terminate; do
	complete -p "$name" >/dev/null 2>&1 || fail "$bash_file: no completion for $name"
done
bash_offers() {
	COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	"$bash_func" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
	printf '%s\n' "${COMPREPLY[@]}"
}

# fish's own answer, when fish is here to give it.
have_fish=no
fish -N -c true 2>/dev/null && have_fish=yes
fish_offers() {
	# shellcheck disable=SC2016 # $argv is fish's, not ours
	fish -N -c 'source $argv[1]; complete -C $argv[2]' "$fish_file" "$*" | cut -f1
}

# The spellings as each file writes them: zsh in _arguments specs
# ({-a+,--address=}, --version[...]), fish as -s a / -l address.
in_zsh() { grep -Eq -- "[{,')*]$1[]+=,}[]" "$zsh_file"; }
in_fish() {
	case $1 in
	--*) grep -Eq -- "(^|[[:space:]])-l ${1#--}([[:space:]]|$)" "$fish_file" ;;
	*) grep -Eq -- "(^|[[:space:]])-s ${1#-}([[:space:]]|$)" "$fish_file" ;;
	esac
}

offered=$(bash_offers scow-sync '')
[ "$have_fish" = yes ] && fish_offered=$(fish_offers scow-sync '')
for cmd in $commands; do
	grep -qxF -- "$cmd" <<<"$offered" || fail "$bash_file: command $cmd not offered"
	grep -qF -- "'$cmd:" "$zsh_file" || fail "$zsh_file: command $cmd missing"
	grep -Eq -- "-a '?$cmd( |'|$)" "$fish_file" || fail "$fish_file: command $cmd missing"
	[ "$have_fish" = no ] || grep -qxF -- "$cmd" <<<"$fish_offered" ||
		fail "$fish_file: fish does not offer command $cmd"
done

for cmd in "${!opts[@]}"; do
	# scow-sync CMD -, and the legacy name scow-sync-CMD - where there is one.
	lines=("scow-sync $cmd -")
	case $cmd in start|query|terminate) lines+=("scow-sync-$cmd -") ;; esac
	for line in "${lines[@]}"; do
		# shellcheck disable=SC2086 # split the line into words
		offered=$(bash_offers $line)
		# shellcheck disable=SC2086
		[ "$have_fish" = yes ] && fish_offered=$(fish_offers $line)
		for opt in ${opts[$cmd]}; do
			grep -qxF -- "$opt" <<<"$offered" ||
				fail "$bash_file: '$line' does not offer $opt"
			[ "$have_fish" = no ] || grep -qxF -- "$opt" <<<"$fish_offered" ||
				fail "$fish_file: '$line' does not offer $opt"
		done
	done
	for opt in ${opts[$cmd]}; do
		grep -Fqw -- "$opt" "$bash_file" || fail "$bash_file: $opt of $cmd missing"
		in_zsh "$opt" || fail "$zsh_file: $opt of $cmd missing"
		in_fish "$opt" || fail "$fish_file: $opt of $cmd missing"
	done
done

# scow-sync with an option first is run: it offers run's options.
offered=$(bash_offers scow-sync -)
for opt in ${opts[run]}; do
	grep -qxF -- "$opt" <<<"$offered" || fail "$bash_file: 'scow-sync -' does not offer $opt"
done
exit $status
