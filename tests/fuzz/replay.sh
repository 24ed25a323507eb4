#!/bin/bash
# Replay the kept corpus of every fuzz target (tests/fuzz/corpus/NAME):
# the inputs that found bugs (regress-*), and the others that together
# reach every branch the fuzzer reached. Built with the normal compiler;
# no clang needed. Every target must have a corpus and every corpus a target.
set -u
build=${SCOW_SYNC_BUILDDIR:?} src=${SCOW_SYNC_SRCDIR:?}
status=0 targets=0
for prog in "$build"/tests/fuzz/replay-*; do
	[ -x "$prog" ] || continue
	name=${prog##*/replay-}
	[ -d "$src/tests/fuzz/corpus/$name" ] || { echo "FAIL: no corpus for '$name'"; status=1; }
done
for corpus in "$src"/tests/fuzz/corpus/*/; do
	name=$(basename "$corpus")
	targets=$((targets + 1))
	if [ ! -x "$build/tests/fuzz/replay-$name" ]; then
		echo "FAIL: no replay program for the corpus '$name'"
		status=1
		continue
	fi
	"$build/tests/fuzz/replay-$name" "$corpus" || { echo "FAIL: replay-$name"; status=1; }
done
[ "$targets" -gt 0 ] || { echo "FAIL: no corpus at all"; status=1; }
exit $status
