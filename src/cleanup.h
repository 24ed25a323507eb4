/*
 * cleanup: remove what a stopped transfer left on the far side.
 *
 * While rsync receives NAME it writes a temporary ".NAME.XXXXXX" next to
 * it; when it is cut off, it keeps the data as DIR/PARTIAL/NAME (our
 * --partial-dir) so that a later run continues from there. When a transfer,
 * or a part of it, is stopped for good, cleanup_partials() removes for each
 * file that was in flight: the partial file, the temporary file if its
 * receiver is gone without removing it, and the partial directory once it
 * is empty.
 *
 * Nothing else is touched: a file there that the source has too (in
 * source_root, the same coordinates as dest) is data that arrived, however
 * much its name looks like rsync's, and stays; so does a file named like
 * rsync's temporary that was last written before the transfer was first
 * started (not_before: a file of the user's, there before). Its time is
 * compared on the clock that dates files in its directory (the far side's,
 * or its file server's), which is read, only when such a file is there, by
 * making a directory ".scow-sync-clock.PID.N" beside it, looking at its
 * time and removing it; where that cannot be done, no such file is taken
 * for rsync's. Every directory from the destination down to the
 * file's must be a real directory, never a symbolic link (which could lead
 * out of the destination), and only regular files are removed. A receiver
 * that is still saving its data (its temporary file still exists) is given
 * up to settle seconds to finish, so that its partial file is not created
 * after the cleanup has looked.
 *
 * What the far side says is bounded: more than a few dozen files named
 * like one file's temporary, or a directory that cannot be listed, is a
 * failure (they stay, and r says so); the caller bounds the time of the
 * whole cleanup with the session's deadline (sftp_set_deadline).
 */
#ifndef SCOW_SYNC_CLEANUP_H
#define SCOW_SYNC_CLEANUP_H

#include <stddef.h>
#include <stdint.h>

#include "sftp.h"

struct cleanup_result {
	unsigned removed;      /* files removed */
	unsigned refused;      /* left alone: a symbolic link or not a directory on the way */
	unsigned failed;       /* the server refused, or the session failed */
	char *first_error;     /* for the log; caller frees */
};

/*
 * files: paths relative to dest of files that may have partial data (the
 * units' own coordinates: "SOURCE-BASENAME/dir/file"). partial_dir is
 * rsync's --partial-dir name. Returns 0, or SYNC_ERR_CONNECT when the
 * session failed (what was removed stays removed).
 */
int cleanup_partials(struct sftp *s, const char *dest, const char *source_root,
		     const char *partial_dir, const char *const *files, size_t n, double settle,
		     int64_t not_before, struct cleanup_result *r);

#endif
