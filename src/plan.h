/*
 * plan: walk the source and cut it into work units by the -m depth.
 *
 * The source itself is depth 0. A directory above the cut (depth < max)
 * is created on the far side and walked; every non-directory entry above
 * or at the cut is a unit of its own (UNIT_FILE); a directory at the cut
 * (depth == max) is a unit moved whole (UNIT_TREE). With -m 0 a directory
 * source is one unit. Symbolic links are never followed: a link is an entry
 * like a file, wherever it points.
 *
 * Each unit comes with its size: a tree unit's subtree is walked to count
 * its files and bytes (entries that cannot be read there are left to rsync
 * to report). The walk streams: it holds the names of one directory per
 * level above the cut and of the subdirectories per level below it (never
 * the tree) and reports entries through callbacks as it goes,
 * in a stable order (names sorted bytewise within a directory, so plans are
 * reproducible).
 * Paths handed to the callbacks are relative to the source's parent
 * directory ("src", "src/a", "src/a/f") and borrowed for the call.
 */
#ifndef SCOW_SYNC_PLAN_H
#define SCOW_SYNC_PLAN_H

#include <sys/stat.h>

#include "store.h"

struct plan_callbacks {
	/* A directory above the cut, to be created remotely; parents come first. */
	int (*dir)(const char *relpath, void *ctx);
	/* A unit to run, with the files and bytes it holds. */
	int (*unit)(enum unit_kind kind, const char *relpath, const struct unit_size *size,
		    void *ctx);
	/*
	 * An entry that could not be read (relpath, errno). Return 0 to go on,
	 * non-zero to stop the walk with that value.
	 */
	int (*error)(const char *relpath, int errnum, void *ctx);
	void *ctx;
	/*
	 * Or NULL: every entry that is not a directory and has more than one
	 * name (a hard link), above the cut and within tree units alike, with
	 * its lstat.
	 */
	void (*link)(const char *relpath, const struct stat *sb, void *ctx);
};

struct filter;
/*
 * Walk source (absolute, tidy) to max_depth, leaving out what filter
 * (NULL: none) excludes, below the source as well as within tree units,
 * whose sizes count only what is left. Returns 0, the first non-zero
 * callback result, or SYNC_ERR_SYSTEM when the source itself is unreadable.
 */
int plan_walk(const char *source, int max_depth, const struct filter *filter,
	      const struct plan_callbacks *cb);

/*
 * Plan only what changed since a watch's last cycle (paths relative to
 * source, each list sorted as path_tree_cmp() sorts, each path once): the
 * source itself and the parents of each path still there as directories
 * (dir); each of trees as a unit, a directory whole (a tree, whatever the
 * depth); each of changed as a file unit, or a directory (its own
 * attributes). A path that is gone is appended to gone (relative to the
 * source's parent, as units are), for a mirror to delete. Returns as
 * plan_walk does.
 */
int plan_paths(const char *source, const char *const *trees, size_t ntrees,
	       const char *const *changed, size_t nchanged, const struct filter *filter,
	       const struct plan_callbacks *cb, struct strvec *gone);

#endif
