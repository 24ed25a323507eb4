/* watcher: inotify on every directory of a tree (see watcher.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "watcher.h"

/*
 * IN_ONLYDIR and IN_DONT_FOLLOW: a name that became a link to a directory
 * between the readdir and the watch is an entry, never followed.
 * IN_EXCL_UNLINK: a file deleted while open for writing says nothing more.
 */
#define WATCH_MASK                                                                       \
	(IN_CREATE | IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | \
	 IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW |           \
	 IN_EXCL_UNLINK)

/*
 * A file's directory, for a watch of one file: what may change the file.
 * IN_DONT_FOLLOW is left out: the directory is reached as its path says.
 */
#define FILE_DIR_MASK                                                                    \
	(IN_CREATE | IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | \
	 IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)

/* Room for a few thousand events a read, so that a burst drains in a few calls. */
#define EVENT_BUF_SIZE (256 * 1024)

/* How long a directory moved from a watched one waits for the other half of its move. */
#define MOVE_GRACE_MS 10

/* Why the events since the last take may be incomplete. */
enum {
	LOST_OVERFLOW = 1 << 0,  /* the kernel dropped events: IN_Q_OVERFLOW */
	LOST_TOO_MANY = 1 << 1,  /* more changed paths than we keep */
	LOST_SOURCE = 1 << 2,    /* the source itself was moved, deleted or unmounted */
	LOST_UNMOUNT = 1 << 3,   /* a file system below the source went away */
	LOST_UNWATCHED = 1 << 4, /* a new directory could not be watched */
};

/*
 * A watched directory. Each knows only its own name and its parent, so a
 * rename moves a whole subtree by changing one node, and a path is made
 * when an event needs it.
 */
struct wdir {
	struct wdir *parent;       /* NULL for the source, and between a move's halves */
	struct wdir *child;        /* first watched subdirectory */
	struct wdir *next, *prev;  /* siblings */
	struct wdir *wd_next;      /* chain of the table by watch descriptor */
	struct wdir *name_next;    /* chain of the table by parent and name */
	char *name;                /* "" for the source */
	uint32_t gen;              /* the walk that saw it last */
	int wd;
	bool grew;                 /* mid-move, a directory was made below it */
};

/* A path changed since the last take; tree: a directory that came whole. */
struct change {
	char *path;
	uint32_t hash;
	bool tree;
};

/* A directory moved away from a watched one, waiting for its IN_MOVED_TO. */
struct move {
	uint32_t cookie;
	int wd;
};

struct watcher {
	int fd;
	char *source;
	char *file;                   /* a watch of one file: its name; its directory is watched */
	char *file_dir;               /* ... that directory's path */
	const struct filter *filter;
	char *buf;                    /* EVENT_BUF_SIZE bytes for read() */

	struct wdir *root;            /* NULL when the source is not watched */
	struct wdir **by_wd, **by_name;
	size_t buckets, ndirs;        /* a power of two; the nodes there are */
	uint32_t gen;
	bool full_walk;               /* the walk at hand is rewatch()'s */
	struct move *moves;
	size_t nmoves, moves_alloc;

	struct change *changes;       /* open addressing, changes_cap slots */
	size_t nchanges, changes_cap, max_changes;
	double first, last;
	struct strbuf path;           /* scratch for events' paths */

	unsigned lost;                /* LOST_*, since the last take */
	unsigned shown;               /* LOST_*, reported by the last take */
	/* What the walks since the last full one could not watch. */
	size_t needed;                /* directories the tree needs watched */
	bool limit_hit;
	size_t unwatchable;
	int unwatchable_errno, source_errno;
	char *unwatchable_path;
	struct strbuf status;
};

/* Hash bytes (FNV-1a). */
static uint32_t
hash_bytes(const char *s, size_t len, uint32_t h)
{
	while (len-- > 0) {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h;
}

/* The bucket of watch wd. */
static size_t
wd_slot(const struct watcher *w, int wd)
{
	return ((uint32_t)wd * 2654435761u) & (w->buckets - 1);
}

/* The bucket of the directory name in parent. */
static size_t
name_slot(const struct watcher *w, const struct wdir *parent, const char *name)
{
	uint32_t h = hash_bytes(name, strlen(name), 2166136261u);

	h ^= (uint32_t)((uintptr_t)parent >> 4) * 2654435761u;
	return h & (w->buckets - 1);
}

/* The node of watch wd, or NULL. */
static struct wdir *
wd_find(const struct watcher *w, int wd)
{
	struct wdir *d;

	for (d = w->by_wd[wd_slot(w, wd)]; d != NULL; d = d->wd_next)
		if (d->wd == wd)
			return d;
	return NULL;
}

/* The node of the directory name in parent, or NULL. */
static struct wdir *
name_find(const struct watcher *w, const struct wdir *parent, const char *name)
{
	struct wdir *d;

	for (d = w->by_name[name_slot(w, parent, name)]; d != NULL; d = d->name_next)
		if (d->parent == parent && strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

/* Link d into its parent's children and the name table. */
static void
wdir_link(struct watcher *w, struct wdir *d, struct wdir *parent, const char *name)
{
	size_t slot;

	free(d->name);
	d->name = xstrdup(name);
	d->grew = false;
	d->parent = parent;
	d->prev = NULL;
	d->next = parent->child;
	if (parent->child != NULL)
		parent->child->prev = d;
	parent->child = d;
	slot = name_slot(w, parent, name);
	d->name_next = w->by_name[slot];
	w->by_name[slot] = d;
}

/* Take d out of its parent's children and the name table: it has no path until linked again. */
static void
wdir_unlink(struct watcher *w, struct wdir *d)
{
	struct wdir **pp;

	if (d->parent == NULL)
		return;
	for (pp = &w->by_name[name_slot(w, d->parent, d->name)]; *pp != d; pp = &(*pp)->name_next)
		;
	*pp = d->name_next;
	if (d->prev != NULL)
		d->prev->next = d->next;
	else
		d->parent->child = d->next;
	if (d->next != NULL)
		d->next->prev = d->prev;
	d->parent = d->next = d->prev = d->name_next = NULL;
}

/* Double the tables when they hold as many nodes as buckets, to keep chains short. */
static void
tables_grow(struct watcher *w)
{
	struct wdir **old_wd = w->by_wd, **old_name = w->by_name, *d, *next;
	size_t old = w->buckets, i, slot;

	w->buckets = old * 2;
	w->by_wd = xcalloc(w->buckets, sizeof *w->by_wd);
	w->by_name = xcalloc(w->buckets, sizeof *w->by_name);
	for (i = 0; i < old; i++) {
		for (d = old_wd[i]; d != NULL; d = next) {
			next = d->wd_next;
			slot = wd_slot(w, d->wd);
			d->wd_next = w->by_wd[slot];
			w->by_wd[slot] = d;
		}
		for (d = old_name[i]; d != NULL; d = next) {
			next = d->name_next;
			slot = name_slot(w, d->parent, d->name);
			d->name_next = w->by_name[slot];
			w->by_name[slot] = d;
		}
	}
	free(old_wd);
	free(old_name);
}

/* Add a node for watch wd, the directory name in parent (NULL: the source). */
static struct wdir *
wdir_new(struct watcher *w, struct wdir *parent, const char *name, int wd)
{
	struct wdir *d = xcalloc(1, sizeof *d);
	size_t slot;

	if (w->ndirs >= w->buckets)
		tables_grow(w);
	d->wd = wd;
	d->gen = w->gen;
	slot = wd_slot(w, wd);
	d->wd_next = w->by_wd[slot];
	w->by_wd[slot] = d;
	if (parent != NULL)
		wdir_link(w, d, parent, name);
	else {
		d->name = xstrdup("");
		w->root = d;
	}
	w->ndirs++;
	return d;
}

/*
 * Drop d and everything below it. The watches below go (rm_watch true for
 * d too); d's own is gone already when the kernel said IN_IGNORED.
 */
static void
wdir_forget(struct watcher *w, struct wdir *d, bool rm_watch)
{
	struct wdir **pp;

	while (d->child != NULL)
		wdir_forget(w, d->child, true);
	wdir_unlink(w, d);
	for (pp = &w->by_wd[wd_slot(w, d->wd)]; *pp != d; pp = &(*pp)->wd_next)
		;
	*pp = d->wd_next;
	/* EINVAL: the kernel dropped it already (its directory is gone). */
	if (rm_watch)
		inotify_rm_watch(w->fd, d->wd);
	if (d == w->root)
		w->root = NULL;
	w->ndirs--;
	free(d->name);
	free(d);
}

/* Append d's path below the source; false when d hangs outside the tree (mid-move). */
static bool
wdir_path_add(const struct watcher *w, const struct wdir *d, struct strbuf *out)
{
	if (d->parent == NULL)
		return d == w->root;
	if (!wdir_path_add(w, d->parent, out))
		return false;
	if (out->len > 0)
		strbuf_addch(out, '/');
	strbuf_addstr(out, d->name);
	return true;
}

/* Is a an ancestor of d, or d itself? */
static bool
wdir_is_within(const struct wdir *d, const struct wdir *a)
{
	for (; d != NULL; d = d->parent)
		if (d == a)
			return true;
	return false;
}

/* Do the rules exclude rel? */
static bool
excluded(const struct watcher *w, const char *rel, bool is_dir)
{
	return w->filter != NULL && !filter_empty(w->filter) &&
	       filter_excluded(w->filter, rel, is_dir);
}

/* Read a number from a /proc/sys file; 0 when there is none. */
static unsigned long long
read_sysctl(const char *path)
{
	char buf[32];
	unsigned long long v;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return parse_ullong(buf, 0, ~0ULL, &v) == 0 ? v : 0;
}

/* Compose the status line from what is amiss now. */
static void
status_update(struct watcher *w)
{
	unsigned why = w->lost | w->shown;
	struct strbuf *sb = &w->status;

	strbuf_reset(sb);
	if (w->root == NULL && w->source_errno != 0 && w->source_errno != ENOSPC)
		strbuf_addf(sb, "; cannot watch the source: %s", strerror(w->source_errno));
	if (w->limit_hit) {
		/*
		 * The limit is the user's across all processes; inside a user
		 * namespace the smaller of its own and the system's holds.
		 */
		unsigned long long sys = read_sysctl("/proc/sys/fs/inotify/max_user_watches");
		unsigned long long ns = read_sysctl("/proc/sys/user/max_inotify_watches");
		bool use_ns = ns != 0 && (sys == 0 || ns < sys);

		strbuf_addf(sb, "; inotify watch limit reached after %zu watches (%s = %llu); "
			    "%zu directories need watching", w->ndirs,
			    use_ns ? "user.max_inotify_watches" : "fs.inotify.max_user_watches",
			    use_ns ? ns : sys, w->needed);
	}
	if (w->unwatchable > 0) {
		strbuf_addf(sb, "; %zu %s cannot be watched, first '", w->unwatchable,
			    w->unwatchable > 1 ? "directories" : "directory");
		escape_untrusted(sb, w->unwatchable_path, strlen(w->unwatchable_path));
		strbuf_addf(sb, "': %s", strerror(w->unwatchable_errno));
	}
	if (why & LOST_OVERFLOW)
		strbuf_addf(sb, "; the inotify event queue overflowed "
			    "(fs.inotify.max_queued_events = %llu)",
			    read_sysctl("/proc/sys/fs/inotify/max_queued_events"));
	if (why & LOST_TOO_MANY)
		strbuf_addf(sb, "; more than %zu paths changed between two takes",
			    w->max_changes);
	if (why & LOST_SOURCE)
		strbuf_addstr(sb, "; the source was moved, deleted or unmounted");
	if (why & LOST_UNMOUNT)
		strbuf_addstr(sb, "; a file system below the source was unmounted");
	if (sb->len > 0)
		strbuf_remove_front(sb, 2);
}

/* Note a directory that could not be watched (errnum: why). */
static void
note_unwatched(struct watcher *w, const char *rel, int errnum)
{
	if (!w->full_walk)
		w->lost |= LOST_UNWATCHED;
	if (errnum == ENOSPC) {
		w->limit_hit = true;
		return;
	}
	if (w->unwatchable++ == 0) {
		free(w->unwatchable_path);
		w->unwatchable_path = xstrdup(rel[0] ? rel : ".");
		w->unwatchable_errno = errnum;
	}
}

/*
 * Read the names of the subdirectories of the directory at full that the
 * filter keeps (rel: its path below the source, restored on return).
 */
static int
read_subdirs(const struct watcher *w, const char *full, struct strbuf *rel, struct strvec *out)
{
	size_t len = rel->len;
	struct dirent *de;
	struct stat sb;
	DIR *dir;
	int fd, saved;

	fd = open(full, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return SYNC_ERR_SYSTEM;
	if ((dir = fdopendir(fd)) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
		return SYNC_ERR_SYSTEM;
	}
	for (errno = 0; (de = readdir(dir)) != NULL; errno = 0) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_type != DT_DIR &&
		    (de->d_type != DT_UNKNOWN ||
		     fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(sb.st_mode)))
			continue;
		if (len > 0)
			strbuf_addch(rel, '/');
		strbuf_addstr(rel, de->d_name);
		if (!excluded(w, rel->buf, true))
			strvec_push(out, de->d_name);
		strbuf_setlen(rel, len);
	}
	saved = errno;
	closedir(dir);
	errno = saved;
	return saved != 0 ? SYNC_ERR_SYSTEM : SYNC_OK;
}

/*
 * Find or make the node of watch wd, the directory name in parent. NULL
 * when it must not be walked: seen already in this walk (a bind mount
 * shows one directory twice), or watched already where it is outside a
 * full walk.
 */
static struct wdir *
place(struct watcher *w, struct wdir *parent, const char *name, int wd)
{
	struct wdir *d = wd_find(w, wd), *old;

	if (d != NULL) {
		if (d->gen == w->gen)
			return NULL;
		if (parent == NULL) {
			/* The source is now a directory that was elsewhere in the tree. */
			if (d != w->root) {
				wdir_unlink(w, d);
				free(d->name);
				d->name = xstrdup("");
				w->root = d;
			}
		} else if (d->parent != parent || strcmp(d->name, name) != 0) {
			/*
			 * Moved here, its events not read yet or lost; never
			 * under itself (a directory mounted inside itself).
			 */
			if (d == w->root || wdir_is_within(parent, d))
				return NULL;
			wdir_unlink(w, d);
			if ((old = name_find(w, parent, name)) != NULL)
				wdir_forget(w, old, true);
			wdir_link(w, d, parent, name);
		} else if (!w->full_walk) {
			return NULL;
		}
		d->gen = w->gen;
		return d;
	}
	/* A node left under this name is stale: its directory went unheard. */
	if (parent != NULL && (old = name_find(w, parent, name)) != NULL)
		wdir_forget(w, old, true);
	return wdir_new(w, parent, name, wd);
}

/*
 * Watch the directory at full (rel: its path below the source, "" for the
 * source), name in parent, and each directory below it the filter keeps.
 * counting: an ancestor could not be watched; only count what needs it.
 * The directory is read after its watch is set, so an entry made in
 * between is either read or reported; it is read whole and closed before
 * its subdirectories, so a deep tree holds one descriptor.
 */
static void
walk(struct watcher *w, struct wdir *parent, const char *name, struct strbuf *full,
     struct strbuf *rel, bool counting)
{
	struct strvec subdirs = STRVEC_INIT;
	struct wdir *d = NULL;
	size_t full_len = full->len, rel_len = rel->len, i;
	int wd;

	w->needed++;
	if (!counting) {
		wd = inotify_add_watch(w->fd, full->buf, WATCH_MASK);
		if (wd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
			/* Gone, or no longer a directory: nothing to watch. */
			w->needed--;
			if (parent == NULL)
				w->source_errno = errno;
			return;
		}
		if (wd < 0) {
			if (parent == NULL)
				w->source_errno = errno;
			note_unwatched(w, rel->buf, errno);
			counting = true;
		} else if ((d = place(w, parent, name, wd)) == NULL) {
			w->needed--;
			return;
		}
	}
	if (read_subdirs(w, full->buf, rel, &subdirs) < 0) {
		if (!counting && errno != ENOENT && errno != ENOTDIR)
			note_unwatched(w, rel->buf, errno);
		strvec_clear(&subdirs);
		return;
	}
	for (i = 0; i < subdirs.nr; i++) {
		strbuf_addch(full, '/');
		strbuf_addstr(full, subdirs.v[i]);
		if (rel->len > 0)
			strbuf_addch(rel, '/');
		strbuf_addstr(rel, subdirs.v[i]);
		walk(w, d, subdirs.v[i], full, rel, counting);
		strbuf_setlen(full, full_len);
		strbuf_setlen(rel, rel_len);
	}
	strvec_clear(&subdirs);
}

/* Watch the directory of the file the source is, as the root, and nothing below it. */
static void
watch_file_dir(struct watcher *w)
{
	int wd = inotify_add_watch(w->fd, w->file_dir, FILE_DIR_MASK);

	w->needed = 1;
	if (wd < 0) {
		w->source_errno = errno;
		if (errno == ENOSPC)
			w->limit_hit = true;
		return;
	}
	place(w, NULL, "", wd);
}

/* Watch the directory rel (not empty) of parent d, just come, and all below it. */
static void
walk_new(struct watcher *w, struct wdir *d, const char *rel)
{
	struct strbuf full = STRBUF_INIT, r = STRBUF_INIT;

	strbuf_addf(&full, "%s/%s", w->source, rel);
	strbuf_addstr(&r, rel);
	w->gen++;
	walk(w, d, path_basename(rel), &full, &r, false);
	strbuf_release(&full);
	strbuf_release(&r);
}

/*
 * Walk the whole tree again, watching what is not and dropping the
 * watches of directories that are gone or excluded: after events were
 * lost, and while the watch is degraded (the limit may have been raised,
 * a directory made readable).
 */
static void
rewatch(struct watcher *w)
{
	struct strbuf full = STRBUF_INIT, rel = STRBUF_INIT;
	struct wdir **stale = NULL, *d;
	size_t nstale = 0, alloc = 0, i;

	w->gen++;
	w->full_walk = true;
	w->needed = 0;
	w->limit_hit = false;
	w->unwatchable = 0;
	w->source_errno = 0;
	if (w->file != NULL)
		watch_file_dir(w);
	else {
		strbuf_addstr(&full, w->source);
		walk(w, NULL, "", &full, &rel, false);
	}
	w->full_walk = false;
	/* Each node not seen heads a subtree not seen, or sits below one. */
	for (i = 0; i < w->buckets; i++)
		for (d = w->by_wd[i]; d != NULL; d = d->wd_next)
			if (d->gen != w->gen && (d->parent == NULL || d->parent->gen == w->gen)) {
				ALLOC_GROW(stale, nstale, alloc);
				stale[nstale++] = d;
			}
	for (i = 0; i < nstale; i++)
		wdir_forget(w, stale[i], true);
	free(stale);
	w->nmoves = 0;
	strbuf_release(&full);
	strbuf_release(&rel);
}

/* Forget the changed paths, keeping the table. */
static void
changes_clear(struct watcher *w)
{
	size_t i;

	for (i = 0; i < w->changes_cap; i++)
		free(w->changes[i].path);
	memset(w->changes, 0, w->changes_cap * sizeof *w->changes);
	w->nchanges = 0;
}

/* Note that events arrived now: a cycle is due even when nothing is listed. */
static void
event_seen(struct watcher *w)
{
	double now = now_monotonic();

	if (w->first == 0)
		w->first = now;
	w->last = now;
}

/* Record path as changed (tree: a directory to compare whole). */
static void
change_add(struct watcher *w, const char *path, bool tree)
{
	size_t len = strlen(path), i;
	uint32_t h = hash_bytes(path, len, 2166136261u);
	struct change *c;

	event_seen(w);
	if (w->lost & LOST_TOO_MANY)
		return;
	for (i = h & (w->changes_cap - 1); w->changes[i].path != NULL;
	     i = (i + 1) & (w->changes_cap - 1)) {
		c = &w->changes[i];
		if (c->hash == h && strcmp(c->path, path) == 0) {
			c->tree |= tree;
			return;
		}
	}
	if (w->nchanges >= w->max_changes) {
		/* The rescan this asks for covers them all; keep the memory. */
		changes_clear(w);
		w->lost |= LOST_TOO_MANY;
		return;
	}
	if ((w->nchanges + 1) * 2 > w->changes_cap) {
		struct change *old = w->changes;
		size_t old_cap = w->changes_cap, j;

		w->changes_cap *= 2;
		w->changes = xcalloc(w->changes_cap, sizeof *w->changes);
		for (j = 0; j < old_cap; j++) {
			if (old[j].path == NULL)
				continue;
			for (i = old[j].hash & (w->changes_cap - 1); w->changes[i].path != NULL;
			     i = (i + 1) & (w->changes_cap - 1))
				;
			w->changes[i] = old[j];
		}
		free(old);
		for (i = h & (w->changes_cap - 1); w->changes[i].path != NULL;
		     i = (i + 1) & (w->changes_cap - 1))
			;
	}
	c = &w->changes[i];
	c->path = xstrndup(path, len);
	c->hash = h;
	c->tree = tree;
	w->nchanges++;
}

/* Note that events were lost (LOST_*): the next take asks for a rescan. */
static void
lose(struct watcher *w, unsigned why)
{
	w->lost |= why;
	event_seen(w);
}

/* Take the pending move of cookie; its node, or NULL. */
static struct wdir *
move_take(struct watcher *w, uint32_t cookie)
{
	struct wdir *d = NULL;
	size_t i;

	for (i = 0; i < w->nmoves; i++) {
		if (w->moves[i].cookie != cookie)
			continue;
		d = wd_find(w, w->moves[i].wd);
		w->moves[i] = w->moves[--w->nmoves];
		break;
	}
	/* Not when it was placed elsewhere since, by a walk. */
	return d != NULL && d->parent == NULL && d != w->root ? d : NULL;
}

/* A directory event of name in d: keep the watches in step with the tree. */
static void
digest_dir(struct watcher *w, struct wdir *d, const struct inotify_event *ev)
{
	struct wdir *c;

	if (ev->mask & IN_MOVED_FROM) {
		/* Out of the tree until its IN_MOVED_TO comes, if it does. */
		if ((c = name_find(w, d, ev->name)) != NULL) {
			wdir_unlink(w, c);
			ALLOC_GROW(w->moves, w->nmoves, w->moves_alloc);
			w->moves[w->nmoves].cookie = ev->cookie;
			w->moves[w->nmoves++].wd = c->wd;
		}
	} else if (ev->mask & IN_DELETE) {
		if ((c = name_find(w, d, ev->name)) != NULL)
			wdir_forget(w, c, true);
	} else if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
		c = ev->mask & IN_MOVED_TO ? move_take(w, ev->cookie) : NULL;
		/*
		 * Moved within the tree, its watches can stay; but where rules
		 * are, its new paths may be judged otherwise, and what was
		 * made in it mid-move is not watched: watch it anew.
		 */
		if (c != NULL && !c->grew && (w->filter == NULL || filter_empty(w->filter)) &&
		    name_find(w, d, ev->name) == NULL) {
			wdir_link(w, c, d, ev->name);
			return;
		}
		if (c != NULL)
			wdir_forget(w, c, true);
		walk_new(w, d, w->path.buf);
	}
}

/* Digest one event. */
static void
digest(struct watcher *w, const struct inotify_event *ev)
{
	bool is_dir = (ev->mask & IN_ISDIR) != 0;
	struct wdir *d;

	if (ev->mask & IN_Q_OVERFLOW) {
		lose(w, LOST_OVERFLOW);
		return;
	}
	if ((d = wd_find(w, ev->wd)) == NULL)
		return;   /* a watch removed since: its last events */
	if (ev->mask & IN_IGNORED) {
		if (d == w->root)
			lose(w, LOST_SOURCE);
		wdir_forget(w, d, false);
		return;
	}
	/*
	 * The source itself (or a file's directory) deleted or moved away:
	 * its watches no longer see the source's path, so they go at once,
	 * and watcher_retry() sets them up again when it is back.
	 */
	if (d == w->root && (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF))) {
		lose(w, LOST_SOURCE);
		wdir_forget(w, d, true);
		return;
	}
	if (w->file != NULL) {
		/* A watch of one file: only the events that name it count, as ".". */
		if (ev->mask & IN_UNMOUNT)
			lose(w, LOST_SOURCE);
		else if (ev->len > 0 && strcmp(ev->name, w->file) == 0)
			change_add(w, ".", false);
		return;
	}
	if (ev->mask & IN_UNMOUNT) {
		lose(w, d == w->root ? LOST_SOURCE : LOST_UNMOUNT);
		return;
	}
	if (ev->len == 0 || ev->name[0] == '\0') {
		/* On the directory itself: its parent's watch names it, the source's none. */
		if (d != w->root)
			return;
		if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF))
			lose(w, LOST_SOURCE);
		else if (ev->mask & IN_ATTRIB)
			change_add(w, ".", false);
		return;
	}
	strbuf_reset(&w->path);
	if (!wdir_path_add(w, d, &w->path)) {
		/*
		 * Below a directory mid-move, whose new place will name it
		 * whole; a directory made there now is not watched yet, so
		 * that one is walked anew when it lands.
		 */
		if (is_dir && (ev->mask & (IN_CREATE | IN_MOVED_TO))) {
			while (d->parent != NULL)
				d = d->parent;
			d->grew = true;
		}
		return;
	}
	if (w->path.len > 0)
		strbuf_addch(&w->path, '/');
	strbuf_addstr(&w->path, ev->name);
	/* A watched directory moved to an excluded name stays pending: moved out. */
	if (excluded(w, w->path.buf, is_dir))
		return;
	if (is_dir && (ev->mask & (IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_MOVED_TO)))
		digest_dir(w, d, ev);
	change_add(w, w->path.buf, is_dir && (ev->mask & (IN_CREATE | IN_MOVED_TO)));
}

int
watcher_read(struct watcher *w)
{
	bool waited = false;
	ssize_t n, off;
	size_t i;

	for (;;) {
		n = read(w->fd, w->buf, EVENT_BUF_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { w->fd, POLLIN, 0 };

			/* The halves of a move may be split across reads. */
			if (w->nmoves == 0 || waited)
				break;
			waited = true;
			if (poll(&pfd, 1, MOVE_GRACE_MS) > 0)
				continue;
			break;
		}
		if (n < 0)
			return SYNC_ERR_SYSTEM;
		if (n == 0)
			break;
		for (off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;) {
			const struct inotify_event *ev = (const void *)(w->buf + off);

			digest(w, ev);
			off += (ssize_t)(sizeof *ev + ev->len);
		}
	}
	/* Moved out of the tree: what is there no longer concerns us. */
	for (i = 0; i < w->nmoves; i++) {
		struct wdir *d = wd_find(w, w->moves[i].wd);

		if (d != NULL && d->parent == NULL && d != w->root)
			wdir_forget(w, d, true);
	}
	w->nmoves = 0;
	status_update(w);
	return SYNC_OK;
}

int
watcher_open(struct watcher **out, const char *source, const struct filter *filter, char *err,
	     size_t errlen)
{
	struct watcher *w = xcalloc(1, sizeof *w);
	int saved;

	*out = NULL;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		saved = errno;
		snprintf(err, errlen, "cannot start inotify: %s%s", strerror(saved),
			 saved == EMFILE ? " (fs.inotify.max_user_instances)" : "");
		free(w);
		errno = saved;
		return SYNC_ERR_SYSTEM;
	}
	w->source = xstrdup(source);
	w->filter = filter;
	{
		struct stat sb;

		/* A file (or a link): its directory's events that name it. */
		if (lstat(source, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
			w->file = xstrdup(path_basename(source));
			w->file_dir = path_dirname(source);
		}
	}
	w->buf = xmalloc(EVENT_BUF_SIZE);
	w->buckets = 64;
	w->by_wd = xcalloc(w->buckets, sizeof *w->by_wd);
	w->by_name = xcalloc(w->buckets, sizeof *w->by_name);
	w->changes_cap = 64;
	w->changes = xcalloc(w->changes_cap, sizeof *w->changes);
	w->max_changes = env_number("SCOW_SYNC_WATCH_MAX_CHANGES", 1, SIZE_MAX / 4, 100000);
	strbuf_init(&w->path, 256);
	strbuf_init(&w->status, 0);
	rewatch(w);
	/* Out of watches at the very top is a degraded watch: scans still work. */
	if (w->root == NULL && w->source_errno != ENOSPC) {
		saved = w->source_errno ? w->source_errno : EINVAL;
		snprintf(err, errlen, "cannot watch '%s': %s", source, strerror(saved));
		watcher_close(w);
		errno = saved;
		return SYNC_ERR_SYSTEM;
	}
	status_update(w);
	*out = w;
	return SYNC_OK;
}

void
watcher_close(struct watcher *w)
{
	struct wdir *d, *next;
	size_t i;

	if (w == NULL)
		return;
	/* Closing the descriptor removes every watch at once. */
	close(w->fd);
	for (i = 0; i < w->buckets; i++)
		for (d = w->by_wd[i]; d != NULL; d = next) {
			next = d->wd_next;
			free(d->name);
			free(d);
		}
	free(w->by_wd);
	free(w->by_name);
	changes_clear(w);
	free(w->changes);
	free(w->moves);
	free(w->buf);
	free(w->source);
	free(w->file);
	free(w->file_dir);
	free(w->unwatchable_path);
	strbuf_release(&w->path);
	strbuf_release(&w->status);
	free(w);
}

int
watcher_fd(const struct watcher *w)
{
	return w->fd;
}

double
watcher_first_event(const struct watcher *w)
{
	return w->first;
}

double
watcher_last_event(const struct watcher *w)
{
	return w->last;
}

/* Order changes as path_tree_cmp() orders their paths. */
static int
cmp_changes(const void *a, const void *b)
{
	return path_tree_cmp((*(const struct change *const *)a)->path,
			     (*(const struct change *const *)b)->path);
}

void
watcher_take(struct watcher *w, struct strvec *changed, struct strvec *trees, bool *rescan)
{
	struct change **sorted = xcalloc(w->nchanges ? w->nchanges : 1, sizeof *sorted);
	const char *top = NULL;
	size_t i, n = 0;

	strvec_clear(changed);
	strvec_clear(trees);
	for (i = 0; i < w->changes_cap; i++)
		if (w->changes[i].path != NULL)
			sorted[n++] = &w->changes[i];
	qsort(sorted, n, sizeof *sorted, cmp_changes);
	/* Below a directory that came whole, everything is sent with it. */
	for (i = 0; i < n; i++) {
		if (top != NULL && path_is_within(sorted[i]->path, top))
			continue;
		if (sorted[i]->tree) {
			strvec_push(trees, sorted[i]->path);
			top = trees->v[trees->nr - 1];
		} else
			strvec_push(changed, sorted[i]->path);
	}
	free(sorted);
	changes_clear(w);
	/* A burst's table goes with it: clearing it costs its size each take. */
	if (w->changes_cap > 4096) {
		free(w->changes);
		w->changes_cap = 64;
		w->changes = xcalloc(w->changes_cap, sizeof *w->changes);
	}
	w->first = w->last = 0;
	*rescan = w->lost != 0 || w->limit_hit || w->unwatchable > 0 || w->root == NULL;
	w->shown = w->lost;
	w->lost = 0;
	if (*rescan)
		rewatch(w);
	status_update(w);
}

bool
watcher_has_source(const struct watcher *w)
{
	return w->root != NULL;
}

bool
watcher_retry(struct watcher *w)
{
	if (w->root != NULL)
		return true;
	rewatch(w);
	if (w->root == NULL)
		return false;
	/* The caller compares the whole tree now: what was gathered is in it. */
	changes_clear(w);
	w->first = w->last = 0;
	w->lost = w->shown = 0;
	status_update(w);
	return true;
}

const char *
watcher_status(const struct watcher *w)
{
	return w->status.len > 0 ? w->status.buf : NULL;
}

const char *
watcher_fs_shared_name(unsigned long f_type)
{
	/*
	 * statfs(2)'s f_type of file systems other hosts write to: the
	 * store's list (store_fs_shared()) with names, and VirtualBox's
	 * shared folders. FUSE covers GlusterFS, sshfs, virtiofs, WekaFS
	 * clients and any other FUSE file system, local ones too.
	 */
	static const struct {
		unsigned long type;
		const char *name;
	} shared[] = {
		{ 0x6969, "nfs" },
		{ 0x0BD00BD0, "lustre" },
		{ 0x47504653, "gpfs" },
		{ 0x19830326, "beegfs" },
		{ 0x00C36400, "ceph" },
		{ 0xAAD7AAEA, "panfs" },
		{ 0x01161970, "gfs2" },
		{ 0x7461636F, "ocfs2" },
		{ 0x5346414F, "afs" },
		{ 0x6B414653, "afs" },
		{ 0x517B, "smb" },
		{ 0xFF534D42, "cifs" },
		{ 0xFE534D42, "smb2" },
		{ 0x01021997, "9p" },
		{ 0x13661366, "orangefs" },
		{ 0x65735546, "fuse" },
		{ 0x786F4256, "vboxsf" },
	};
	size_t i;

	/* f_type is a signed long on some machines: compare its 32 bits. */
	f_type &= 0xFFFFFFFFUL;
	for (i = 0; i < sizeof shared / sizeof *shared; i++)
		if (f_type == shared[i].type)
			return shared[i].name;
	return NULL;
}

bool
watcher_fs_is_shared(const char *path, const char **name)
{
	struct statfs fs;
	const char *n = NULL;

	if (statfs(path, &fs) == 0)
		n = watcher_fs_shared_name((unsigned long)fs.f_type);
	if (name != NULL)
		*name = n;
	return n != NULL;
}
