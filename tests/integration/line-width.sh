#!/bin/bash
# Every line of the C sources fits in 100 columns, a tab counted as 8 (the
# limit .editorconfig and .clang-format set). Reads the sources only: no
# build, no sshd.
srcdir=${SCOW_SYNC_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
status=0
fail() { echo "FAIL: $*"; status=1; }

cd "$srcdir" || { echo "FAIL: cannot enter '$srcdir'"; exit 1; }
checked=0
for f in src/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch]; do
	[ -f "$f" ] || continue
	checked=$((checked + 1))
	# A column per character: UTF-8 continuation bytes do not count.
	long=$(LC_ALL=C tr -d '\200-\277' <"$f" | expand -t8 |
		LC_ALL=C awk -v f="$f" 'length > 100 { print f ":" FNR ": " length " columns" }')
	[ -z "$long" ] || while IFS= read -r line; do fail "$line"; done <<<"$long"
done
[ "$checked" -gt 0 ] || fail "no C sources under '$srcdir'"
exit $status
