/*
 * link-groups: the names of files with more than one name (hard links),
 * gathered during the walk, for the one rsync -H that makes each group
 * one file on the far side again: a transfer's parallel rsyncs each see
 * only the names in their batch.
 *
 * Pure: data in, data out. Memory: one entry (24 bytes) and the path per
 * name of a file whose link count is above 1.
 */
#ifndef SCOW_SYNC_LINK_GROUPS_H
#define SCOW_SYNC_LINK_GROUPS_H

#include <stddef.h>
#include <sys/types.h>

#include "util.h"

struct link_name {
	dev_t dev;
	ino_t ino;
	size_t at;    /* of its path in names */
};

struct link_groups {
	struct link_name *v;
	size_t nr, alloc;
	struct strbuf names;   /* the paths, each NUL-terminated */
};

#define LINK_GROUPS_INIT { NULL, 0, 0, STRBUF_INIT }

void link_groups_release(struct link_groups *lg);
/* One name of the file (dev, ino); path copied. */
void link_groups_add(struct link_groups *lg, dev_t dev, ino_t ino, const char *path);
/*
 * Append to out, each NUL-terminated, the names of every file that has at
 * least two among those added (the others have their other names out of
 * the walk's reach: nothing to link), a group's names together, groups by
 * (dev, ino), names in the order added. Returns how many were appended.
 */
size_t link_groups_names(struct link_groups *lg, struct strbuf *out);

#endif
