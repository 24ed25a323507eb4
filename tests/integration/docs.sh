#!/bin/bash
# The manual pages are lint-clean, and scow-sync(1) documents every command,
# every option and every setting the program knows (from its own tables).
srcdir=${SCOW_SYNC_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PATH="${SCOW_SYNC_BUILDDIR:-$srcdir}/tests/bin:$PATH"
page=$srcdir/man/scow-sync.1
status=0
fail() { echo "FAIL: $*"; status=1; }

if command -v mandoc >/dev/null; then
	for f in "$srcdir"/man/*.1; do
		# Warnings and worse; style notes about pages not installed here are not.
		out=$(mandoc -Tlint -Wwarning "$f" 2>&1) || fail "mandoc -Tlint: $f: $out"
		[ -z "$out" ] || fail "mandoc -Tlint: $out"
	done
else
	echo "mandoc is not installed: lint not checked"
fi

commands=$(scow-sync __commands) || { echo "FAIL: scow-sync __commands"; exit 1; }
for cmd in $commands; do
	grep -Eq "^\.It Cm $cmd( |$)" "$page" || fail "$page: command $cmd is not described"
	case $cmd in help|version) continue ;; esac
	for opt in $(scow-sync __options "$cmd"); do
		# .Fl a, .Fl -address (mdoc writes the dashes after the first).
		grep -Eq -- "Fl ${opt#-}( |$)" "$page" || fail "$page: $cmd's option $opt is not described"
	done
done

# Every setting: in CONFIGURATION, and shown by `scow-sync config`.
keys=$(SCOW_SYNC_SYSTEM_CONFIG=/nonexistent SCOW_SYNC_CONFIG=/nonexistent \
	env -u SCOW_SYNC_WORKERS -u SCOW_SYNC_RETRIES -u SCOW_SYNC_BWLIMIT -u SCOW_SYNC_SPLIT_MIB \
	-u SCOW_SYNC_COMPRESS -u SCOW_SYNC_HOME -u SCOW_SYNC_LOG_MAX_MIB -u SCOW_SYNC_IO_TIMEOUT \
	scow-sync config | sed -n 's/^# \([a-z_]*\): .*/\1/p')
[ "$(wc -w <<<"$keys")" -ge 7 ] || fail "config lists too few settings: $keys"
for key in $keys; do
	sed -n '/^\.Sh CONFIGURATION/,/^\.Sh /p' "$page" | grep -q "^\.It Cm $key$" ||
		fail "$page: setting $key is not described under CONFIGURATION"
done
exit $status
