/* plan: cut the source into work units by depth (see plan.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filter.h"
#include "plan.h"
#include "util.h"

struct walk {
	const struct plan_callbacks *cb;
	const struct filter *filter;   /* NULL or empty: every entry */
	size_t source_len;             /* of the source's path in full */
	int max_depth;
	struct strbuf full;   /* absolute path of the entry at hand */
	struct strbuf rel;    /* the same, relative to the source's parent */
	size_t tree_full_len; /* of full at the tree unit size_tree walks */
};

/*
 * A name of a file with others, within the tree unit at w->rel (name in
 * the directory at w->full): to the link callback, relative as units are.
 */
static void
report_tree_link(struct walk *w, const char *name, const struct stat *sb)
{
	size_t len = w->rel.len;

	strbuf_addstr(&w->rel, w->full.buf + w->tree_full_len);
	strbuf_addch(&w->rel, '/');
	strbuf_addstr(&w->rel, name);
	w->cb->link(w->rel.buf, sb, w->cb->ctx);
	strbuf_setlen(&w->rel, len);
}

struct entry {
	char *name;
	unsigned char type;   /* d_type: DT_DIR, DT_UNKNOWN, ... */
};

static int
cmp_entries(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/* Report an unreadable entry; 0 to carry on. */
static int
walk_error(struct walk *w, int errnum)
{
	if (w->cb->error == NULL)
		return -errnum;
	return w->cb->error(w->rel.buf, errnum, w->cb->ctx);
}

/* Do the rules leave out the entry at w->full (a directory or not)? */
static bool
walk_excluded(const struct walk *w, bool is_dir)
{
	if (w->filter == NULL || filter_empty(w->filter))
		return false;
	/* The rules speak of paths below the source: "a/b" for SOURCE/a/b. */
	return filter_excluded(w->filter, w->full.buf + w->source_len + 1, is_dir);
}

static void
free_entries(struct entry *e, size_t n)
{
	while (n > 0)
		free(e[--n].name);
	free(e);
}

/* Read the entries of the directory at w->full, sorted by name; caller frees. */
static int
read_entries(struct walk *w, struct entry **out, size_t *n_out)
{
	struct entry *e = NULL;
	size_t n = 0, alloc = 0;
	struct dirent *de;
	DIR *dir;
	int fd, saved;

	fd = open(w->full.buf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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
		ALLOC_GROW(e, n, alloc);
		e[n].name = xstrdup(de->d_name);
		e[n].type = de->d_type;
		n++;
	}
	saved = errno;
	closedir(dir);
	if (saved != 0) {
		free_entries(e, n);
		errno = saved;
		return SYNC_ERR_SYSTEM;
	}
	if (n > 1)
		qsort(e, n, sizeof *e, cmp_entries);
	*out = e;
	*n_out = n;
	return SYNC_OK;
}

/*
 * Add the files and bytes below the directory at w->full to size. The
 * directory is read whole and closed before its subdirectories are, so a
 * deep tree never holds more than one descriptor; unreadable parts count
 * as empty (rsync reports them when it gets there).
 */
static void
size_tree(struct walk *w, struct unit_size *size)
{
	struct strvec subdirs = STRVEC_INIT;
	struct dirent *de;
	struct stat sb;
	size_t len = w->full.len, i;
	DIR *dir;
	int fd;

	fd = open(w->full.buf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_type == DT_DIR) {
			sb.st_mode = S_IFDIR;
		} else if (fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (w->filter && !filter_empty(w->filter)) {
			bool out;

			strbuf_addch(&w->full, '/');
			strbuf_addstr(&w->full, de->d_name);
			out = walk_excluded(w, S_ISDIR(sb.st_mode));
			strbuf_setlen(&w->full, len);
			if (out)
				continue;
		}
		if (S_ISDIR(sb.st_mode)) {
			strvec_push(&subdirs, de->d_name);
			continue;
		}
		size->files++;
		if (S_ISREG(sb.st_mode))
			size->bytes += (uint64_t)sb.st_size;
		if (sb.st_nlink > 1 && w->cb->link)
			report_tree_link(w, de->d_name, &sb);
	}
	closedir(dir);
	for (i = 0; i < subdirs.nr; i++) {
		strbuf_addch(&w->full, '/');
		strbuf_addstr(&w->full, subdirs.v[i]);
		size_tree(w, size);
		strbuf_setlen(&w->full, len);
	}
	strvec_clear(&subdirs);
}

/* Report the entry at w->full / w->rel as a unit, with its size. */
static int
report_unit(struct walk *w, enum unit_kind kind, const struct stat *sb)
{
	struct unit_size size = { 0, 0 };

	if (kind == UNIT_TREE) {
		w->tree_full_len = w->full.len;
		size_tree(w, &size);
	} else {
		size.files = 1;
		if (S_ISREG(sb->st_mode))
			size.bytes = (uint64_t)sb->st_size;
	}
	return w->cb->unit(kind, w->rel.buf, &size, w->cb->ctx);
}

/* Walk the directory at w->full, which is at depth (0 for the source). */
static int
walk_dir(struct walk *w, int depth)
{
	struct entry *e = NULL;
	size_t n = 0, i, full_len, rel_len;
	int rc = 0;

	if (read_entries(w, &e, &n) < 0)
		return walk_error(w, errno);
	full_len = w->full.len;
	rel_len = w->rel.len;
	for (i = 0; i < n && rc == 0; i++) {
		struct stat sb;
		bool is_dir;

		strbuf_setlen(&w->full, full_len);
		strbuf_setlen(&w->rel, rel_len);
		strbuf_addch(&w->full, '/');
		strbuf_addstr(&w->full, e[i].name);
		strbuf_addch(&w->rel, '/');
		strbuf_addstr(&w->rel, e[i].name);
		/* A file's size is needed anyway; a directory's type is enough. */
		if (e[i].type != DT_DIR) {
			if (lstat(w->full.buf, &sb) < 0) {
				/* Gone since the directory was read: nothing to send. */
				if (errno != ENOENT)
					rc = walk_error(w, errno);
				continue;
			}
			is_dir = S_ISDIR(sb.st_mode);
		} else
			is_dir = true;

		/* Left out by the rules: not planned, and a directory not walked. */
		if (walk_excluded(w, is_dir))
			continue;
		if (!is_dir && sb.st_nlink > 1 && w->cb->link)
			w->cb->link(w->rel.buf, &sb, w->cb->ctx);
		if (!is_dir)
			rc = report_unit(w, UNIT_FILE, &sb);
		else if (depth + 1 >= w->max_depth)
			rc = report_unit(w, UNIT_TREE, NULL);
		else if ((rc = w->cb->dir(w->rel.buf, w->cb->ctx)) == 0)
			rc = walk_dir(w, depth + 1);
	}
	strbuf_setlen(&w->full, full_len);
	strbuf_setlen(&w->rel, rel_len);
	free_entries(e, n);
	return rc;
}

int
plan_walk(const char *source, int max_depth, const struct filter *filter,
	  const struct plan_callbacks *cb)
{
	struct walk w;
	struct stat sb;
	int rc;

	if (lstat(source, &sb) < 0)
		return SYNC_ERR_SYSTEM;
	w.cb = cb;
	w.filter = filter;
	w.source_len = strlen(source);
	w.max_depth = max_depth;
	strbuf_init(&w.full, 256);
	strbuf_init(&w.rel, 256);
	strbuf_addstr(&w.full, source);
	strbuf_addstr(&w.rel, path_basename(source));
	if (!S_ISDIR(sb.st_mode))
		rc = report_unit(&w, UNIT_FILE, &sb);
	else if (max_depth == 0)
		rc = report_unit(&w, UNIT_TREE, NULL);
	else if ((rc = cb->dir(w.rel.buf, cb->ctx)) == 0)
		rc = walk_dir(&w, 0);
	strbuf_release(&w.full);
	strbuf_release(&w.rel);
	return rc;
}

/* One list of plan_paths: trees (directories whole) or changed (directories' attributes). */
static int
plan_list(struct walk *w, const char *source, const char *const *paths, size_t n, bool trees,
	  struct strvec *gone);

int
plan_paths(const char *source, const char *const *trees, size_t ntrees,
	   const char *const *changed, size_t nchanged, const struct filter *filter,
	   const struct plan_callbacks *cb, struct strvec *gone)
{
	struct walk w;
	struct stat sb;
	int rc;

	if (lstat(source, &sb) < 0)
		return SYNC_ERR_SYSTEM;
	w.cb = cb;
	w.filter = filter;
	w.source_len = strlen(source);
	w.max_depth = 0;
	strbuf_init(&w.full, 256);
	strbuf_init(&w.rel, 256);
	strbuf_addstr(&w.rel, path_basename(source));
	if ((rc = cb->dir(w.rel.buf, cb->ctx)) == 0 &&
	    (rc = plan_list(&w, source, trees, ntrees, true, gone)) == 0)
		rc = plan_list(&w, source, changed, nchanged, false, gone);
	strbuf_release(&w.full);
	strbuf_release(&w.rel);
	return rc;
}

static int
plan_list(struct walk *w, const char *source, const char *const *paths, size_t n, bool trees,
	  struct strvec *gone)
{
	struct strvec chain = STRVEC_INIT;   /* the directories said for the path before */
	const struct plan_callbacks *cb = w->cb;
	struct stat sb;
	size_t i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		const char *p = paths[i], *slash;
		size_t depth = 0;

		/*
		 * Its parents, from the top, unless the path before had them
		 * said; only those still there (what was deleted may have
		 * gone with its directory).
		 */
		for (slash = strchr(p, '/'); slash; slash = strchr(slash + 1, '/'), depth++) {
			strbuf_reset(&w->rel);
			strbuf_addf(&w->rel, "%s/", path_basename(source));
			strbuf_add(&w->rel, p, (size_t)(slash - p));
			if (depth < chain.nr && strcmp(chain.v[depth], w->rel.buf) == 0)
				continue;
			strvec_truncate(&chain, depth);
			strbuf_reset(&w->full);
			strbuf_addf(&w->full, "%s/", source);
			strbuf_add(&w->full, p, (size_t)(slash - p));
			if (lstat(w->full.buf, &sb) < 0 || !S_ISDIR(sb.st_mode))
				break;
			strvec_push(&chain, w->rel.buf);
			if ((rc = cb->dir(w->rel.buf, cb->ctx)) != 0)
				goto out;
		}
		strvec_truncate(&chain, depth);
		strbuf_reset(&w->full);
		strbuf_addf(&w->full, "%s/%s", source, p);
		strbuf_reset(&w->rel);
		strbuf_addf(&w->rel, "%s/%s", path_basename(source), p);
		if (lstat(w->full.buf, &sb) < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				strvec_push(gone, w->rel.buf);
			else
				rc = walk_error(w, errno);
			continue;
		}
		if (walk_excluded(w, S_ISDIR(sb.st_mode)))
			continue;
		/* A directory that changed itself: its attributes, with the others'. */
		if (S_ISDIR(sb.st_mode) && !trees)
			rc = cb->dir(w->rel.buf, cb->ctx);
		else
			rc = report_unit(w, S_ISDIR(sb.st_mode) ? UNIT_TREE : UNIT_FILE, &sb);
	}
out:
	strvec_clear(&chain);
	return rc;
}
