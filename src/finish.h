/*
 * finish: the remote command that gives paths on the far side the
 * attributes rsync -a would give them, without an rsync.
 *
 * An rsync costs its own start and about seven round trips of protocol
 * (0.6 s over a link of 80 ms), which is most of what is left at the end
 * of a transfer: the directories above the cut get their modes and times
 * back, and a large file whose pieces all arrived and matched needs only
 * to be put under its name. One remote sh through the shared connection
 * does either in one round trip.
 *
 * What it sets is what rsync -a sets, the way rsync sets it:
 *   - the owner only when the far side runs as root; the group always,
 *     where the remote user may (a group it is not in stays as it was);
 *   - both by name, as rsync maps them, the local id where the far side
 *     has no such name, and ids 0 never by name;
 *   - the mode with every bit (chmod with five digits: GNU chmod keeps a
 *     directory's set-group-ID bit for four);
 *   - the modification time to the nanosecond;
 * in that order, since chown clears the set-ID bits. The command exits 0
 * only when all of it was done; on anything else (a far side without GNU
 * touch or getent, say) the caller falls back to rsync, which always
 * works.
 */
#ifndef SCOW_SYNC_FINISH_H
#define SCOW_SYNC_FINISH_H

#include <stdbool.h>
#include <sys/stat.h>

#include "util.h"

struct finish_attrs {
	char *path;                   /* on the far side */
	unsigned mode;                /* permission bits, with the set-ID and sticky bits */
	long long mtime_sec;
	long mtime_nsec;
	char *owner, *group;          /* names, or NULL: by id */
	unsigned long uid, gid;
};

/*
 * Fill a from the local lstat sb, for the remote path: the names of its
 * owner and group as this system has them, taken from like when it has
 * the same ids (so that a list of paths of one owner asks the user
 * database once; like may be NULL). False for what the command cannot give
 * (a time before 1970).
 */
bool finish_attrs_from_stat(struct finish_attrs *a, const char *remote_path,
			    const struct stat *sb, const struct finish_attrs *like);
void finish_attrs_release(struct finish_attrs *a);

/*
 * Append the words of the remote command (for ssh_command_argv): when
 * from is not NULL, first rename from to attrs[0].path (never into a
 * directory of that name) and remove the directory from was in if that
 * leaves it empty; then set the attributes of every path, in order.
 */
void finish_command(const char *from, const struct finish_attrs *attrs, size_t n,
		    struct strvec *words);

#endif
