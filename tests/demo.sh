#!/bin/bash
# A real transfer on a machine with no remote host: start a private sshd on
# 127.0.0.1, make a sample tree, and move it with the portal's own calls
# (scow-sync-start, scow-sync-query, then a byte-for-byte comparison).
# Uses the installed commands unless SCOW_SYNC_BUILDDIR points at a build;
#   tests/demo.sh --bindir DIR
# uses those in DIR and no others (a package's, in /usr/bin).
bindir=
case ${1:-} in
--bindir) [ $# = 2 ] || { echo "usage: $0 [--bindir DIR]" >&2; exit 2; }; bindir=$2 ;;
'') ;;
*) echo "usage: $0 [--bindir DIR]" >&2; exit 2 ;;
esac
[ -z "$bindir" ] || unset SCOW_SYNC_BUILDDIR
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
if [ -n "$bindir" ]; then
	PATH=$bindir:$PATH
	for name in scow-sync scow-sync-start scow-sync-query; do
		[ "$(command -v "$name")" = "$bindir/$name" ] ||
			{ echo "$bindir/$name is not there to run"; exit 1; }
	done
fi

src=$T/cluster-a/run1
make_sample_tree "$src"
for i in 1 2 3 4 5 6; do head -c 4194304 /dev/urandom > "$src/result-$i.bin"; done
dst=$T/cluster-b/inbox
mkdir -p "$dst"
# Slow it down so that the progress can be watched: 1 MiB/s per worker.
export SCOW_SYNC_BWLIMIT=1024

echo "== $(scow-sync --version), run as $(dirname "$(command -v scow-sync-start)")/scow-sync-start"
echo "== a private sshd listens on $SSH_HOST port $SSHD_PORT"
echo "== key check:  scow-sync-start -a $SSH_HOST -u $SSH_USER -p $SSHD_PORT -k KEY -c"
echo "   -> $(scow-sync-start -a "$SSH_HOST" -u "$SSH_USER" -p "$SSHD_PORT" -k "$SSH_KEY" -c)"
echo "== start:      scow-sync-start -a $SSH_HOST -u $SSH_USER -s $src -d $dst -m 2 -p $SSHD_PORT -k KEY"
scow-sync-start -a "$SSH_HOST" -u "$SSH_USER" -s "$src" -d "$dst" -m 2 \
	-p "$SSHD_PORT" -k "$SSH_KEY" || { echo "start failed"; exit 1; }
echo "   -> returned at once, exit 0; the transfer runs in the background"
echo "== query, as the portal polls it:"
seen=0
for i in $(seq 1 600); do
	q=$(scow-sync-query)
	if [ "$q" != "[]" ]; then
		printf '   %s\n' "$q"
		seen=1
	elif [ "$seen" = 1 ] && transfer_finished; then
		break
	fi
	sleep 1
done
echo "   $(scow-sync-query)   (nothing moving any more)"
echo "== the log says:"
tail -n 2 "$HOME/scow/.scow-sync/scow-sync.log" | sed 's/^/   /'
if tree_equal "$src" "$dst/run1"; then
	echo "== $dst/run1 is identical to $src, byte for byte: demo passed"
	exit 0
fi
echo "== the copy differs from the source: demo FAILED"
exit 1
