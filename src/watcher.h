/*
 * watcher: inotify on every directory of a tree, for watch mode.
 *
 * watcher_open() watches the source and every directory below it that the
 * filter keeps, one watch per directory (the kernel's limit counts
 * watches, fs.inotify.max_user_watches, never files). The caller then
 * polls watcher_fd(), calls watcher_read() whenever it is readable, and
 * when it decides a cycle is due (watcher_first_event(),
 * watcher_last_event()) calls watcher_take() for the paths to send.
 * Memory grows with the directories watched and with the paths changed
 * between two takes (at most SCOW_SYNC_WATCH_MAX_CHANGES of them, 100000
 * unless set; beyond that the take asks for a rescan), never with the
 * files of the tree.
 *
 * inotify sees only what this host's kernel does: writes made on other
 * nodes to NFS, Lustre, GPFS, ... never show (watcher_fs_is_shared()), and
 * only the caller's periodic full comparison finds them. The watcher
 * never misses changes silently: whenever its events may be incomplete
 * (the event queue overflowed, a directory could not be watched, the
 * watch limit was reached), watcher_take() sets *rescan and
 * watcher_status() says why.
 *
 * Symbolic links are never followed: a link is an entry like a file.
 * Paths are relative to the source ("a", "a/b"), any bytes but '/' and NUL.
 */
#ifndef SCOW_SYNC_WATCHER_H
#define SCOW_SYNC_WATCHER_H

#include <stdbool.h>
#include <stddef.h>

#include "filter.h"
#include "util.h"

struct watcher;

/*
 * Watch every directory of the tree at source (absolute and tidy; a
 * directory, not a link to one) that filter (NULL: none; borrowed, it
 * must outlive the watcher) keeps: an excluded directory is neither
 * watched nor descended into, and events on excluded paths are dropped.
 * 0, or SYNC_ERR_* with a one-line reason in err (the source cannot be
 * watched, no inotify instance is left). A watch that cannot cover the
 * whole tree (the watch limit reached, a directory that cannot be read)
 * still opens, degraded: watcher_status() says so.
 */
int watcher_open(struct watcher **out, const char *source, const struct filter *filter,
		 char *err, size_t errlen);
/*
 * A source that is not a directory (a file, a link) is watched through
 * its directory, for the events that name it (written, its attributes,
 * moved in or away, deleted): each is the change "." (watcher_take).
 */

/*
 * Is the source watched? It stops being when it is deleted, moved away or
 * unmounted (for a file: its directory); the take after that asks for a
 * rescan. Nothing sets the watches up again by itself: no event comes
 * from a source that is not watched.
 */
bool watcher_has_source(const struct watcher *w);
/*
 * Try to watch the source again, when it is not: true when it is watched
 * now (or was). Then what was gathered before is dropped and nothing
 * asks for a rescan: the caller must compare the whole tree.
 */
bool watcher_retry(struct watcher *w);
/* Remove the watches and free w; NULL is fine. */
void watcher_close(struct watcher *w);
/* The inotify descriptor (non-blocking, close-on-exec) to poll for POLLIN. */
int watcher_fd(const struct watcher *w);

/*
 * Read and digest every pending event without blocking. A new directory
 * (created, or moved in) is watched at once and read, so that what was
 * made in it before its watch came is not missed: it is reported whole.
 * 0, or SYNC_ERR_SYSTEM when the descriptor cannot be read.
 */
int watcher_read(struct watcher *w);

/*
 * Monotonic seconds (now_monotonic()) of the first and of the last event
 * not taken yet, 0 when there is none: for the caller's rule of when a
 * cycle starts. Events on excluded paths do not count.
 */
double watcher_first_event(const struct watcher *w);
double watcher_last_event(const struct watcher *w);

/*
 * Take what changed since the last take, replacing the contents of both
 * vectors, each path once, each vector sorted as path_tree_cmp() sorts:
 * - trees: directories created or moved in (from outside the tree or from
 *   elsewhere in it), to compare whole, with all they hold;
 * - changed: every other path created, written, whose attributes changed,
 *   moved away or deleted; "." for the source's own attributes.
 * Nothing below a path of trees is listed in either. A path may no longer
 * exist, or be of another type by now: the caller looks.
 * *rescan: the events since the last take may be incomplete (the queue
 * overflowed, too many paths changed, a directory could not be watched,
 * the tree is degraded): the caller must compare the whole tree. Before
 * it says so, the watcher walks the tree again and watches what it can,
 * so that a comparison begun after the take misses nothing.
 */
void watcher_take(struct watcher *w, struct strvec *changed, struct strvec *trees,
		  bool *rescan);

/*
 * Why the watch is or was lately incomplete, one line for the log ("inotify
 * watch limit reached after 8000 watches (fs.inotify.max_user_watches =
 * 8192); 12345 directories need watching"), or NULL when nothing is
 * amiss. A reason for a past rescan stays until the take after the one
 * that reported it. Borrowed, valid until the next call on w.
 */
const char *watcher_status(const struct watcher *w);

/*
 * Is the file system at path one whose writes from other hosts inotify
 * cannot see? When it is, true and *name its kind ("nfs", "lustre", ...,
 * static). False when it is not or when path cannot be reached.
 */
bool watcher_fs_is_shared(const char *path, const char **name);
/* The name of such a file system by statfs(2)'s f_type, or NULL. */
const char *watcher_fs_shared_name(unsigned long f_type);

#endif
