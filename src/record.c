/* record: a watch's source against its record of what it synced (see record.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filter.h"
#include "record.h"
#include "store.h"

struct scan {
	struct store *st;
	int64_t id;
	const struct filter *filter;
	struct record_scan *out;
	struct strbuf full;   /* the directory at hand, absolute */
	struct strbuf rel;    /* ... relative to the source ("" for it) */
	bool in_tx;           /* staging in a transaction begun at tx_started */
	double tx_started;
};

/*
 * Stage as store_record_stage does, in transactions of at most
 * RECORD_SLICE_SECONDS each: the store's write lock is never held for a
 * whole walk, and a large tree is not thousands of commits.
 */
#define RECORD_SLICE_SECONDS 0.05

static int
scan_stage(struct scan *sc, const char *dir, bool gone, const struct record_entry *e, size_t n)
{
	int rc;

	if (!sc->in_tx) {
		if ((rc = store_begin(sc->st)) < 0)
			return rc;
		sc->in_tx = true;
		sc->tx_started = now_monotonic();
	}
	if ((rc = store_record_stage(sc->st, sc->id, dir, gone, e, n)) < 0)
		return rc;
	if (now_monotonic() - sc->tx_started > RECORD_SLICE_SECONDS) {
		sc->in_tx = false;
		return store_commit(sc->st);
	}
	return SYNC_OK;
}

void
record_scan_init(struct record_scan *r)
{
	memset(r, 0, sizeof *r);
	strvec_init(&r->changed);
	strvec_init(&r->trees);
}

void
record_scan_release(struct record_scan *r)
{
	strvec_clear(&r->changed);
	strvec_clear(&r->trees);
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct record_entry *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static void
stat_of(const struct stat *sb, struct record_stat *out)
{
	out->size = S_ISREG(sb->st_mode) || S_ISLNK(sb->st_mode) ? (uint64_t)sb->st_size : 0;
	out->mtime_ns = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
	out->ctime_ns = (int64_t)sb->st_ctim.tv_sec * 1000000000 + sb->st_ctim.tv_nsec;
	out->mode = sb->st_mode;
	out->ino = sb->st_ino;
	out->dev = sb->st_dev;
}

static bool
same_stat(const struct record_stat *a, const struct record_stat *b)
{
	/* The change time catches what the others do not: an owner, an ACL. */
	return a->size == b->size && a->mtime_ns == b->mtime_ns && a->mode == b->mode &&
	       a->ino == b->ino && a->dev == b->dev &&
	       (a->ctime_ns == 0 || b->ctime_ns == 0 || a->ctime_ns == b->ctime_ns);
}

/* The path of name in the directory at hand, relative to the source. */
static void
child_path(const struct scan *sc, const char *name, struct strbuf *out)
{
	strbuf_reset(out);
	if (sc->rel.len)
		strbuf_addf(out, "%s/", sc->rel.buf);
	strbuf_addstr(out, name);
}

/*
 * Read the directory at sc->full: its entries the filter keeps, sorted,
 * with their status. -1 when it cannot be read.
 */
static int
scan_read(struct scan *sc, struct record_entry **out, size_t *n)
{
	struct record_entry *e = NULL;
	struct strbuf path = STRBUF_INIT;
	struct dirent *de;
	size_t alloc = 0;
	struct stat sb;
	DIR *d;
	int fd;

	*n = 0;
	fd = open(sc->full.buf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue;   /* gone since it was listed: as if it never was */
		child_path(sc, de->d_name, &path);
		if (sc->filter && !filter_empty(sc->filter) &&
		    filter_excluded(sc->filter, path.buf, S_ISDIR(sb.st_mode)))
			continue;
		ALLOC_GROW(e, *n, alloc);
		e[*n].name = xstrdup(de->d_name);
		stat_of(&sb, &e[*n].st);
		(*n)++;
	}
	closedir(d);
	strbuf_release(&path);
	if (*n > 1)
		qsort(e, *n, sizeof *e, entry_cmp);
	*out = e;
	return 0;
}

/* Compare the directory at sc->full with its record; below it too, unless it is new. */
static int
scan_dir(struct scan *sc, bool is_new)
{
	struct record_entry *now = NULL, *was = NULL;
	struct strbuf path = STRBUF_INIT;
	struct strvec subdirs = STRVEC_INIT, new_subdirs = STRVEC_INIT;
	size_t nn = 0, nw = 0, i = 0, j = 0, k;
	size_t full_len = sc->full.len, rel_len = sc->rel.len;
	bool differs = is_new;
	int rc = 0;

	sc->out->dirs++;
	if (scan_read(sc, &now, &nn) < 0) {
		/* Unreadable: changed, so that the cycle tries and says why. */
		strvec_push(&sc->out->changed, sc->rel.len ? sc->rel.buf : ".");
		return 0;
	}
	sc->out->entries += nn;
	if (!is_new && (rc = store_record_dir(sc->st, sc->id, sc->rel.buf, &was, &nw)) < 0)
		goto out;
	/* Both sorted by name: one pass. */
	while (i < nn || j < nw) {
		int c = i == nn ? 1 : j == nw ? -1 : strcmp(now[i].name, was[j].name);

		if (c > 0) {
			/* Recorded, gone: with everything below it. */
			child_path(sc, was[j].name, &path);
			strvec_push(&sc->out->changed, path.buf);
			if (S_ISDIR(was[j].st.mode) &&
			    (rc = scan_stage(sc, path.buf, true, NULL, 0)) < 0)
				goto out;
			differs = true;
			j++;
			continue;
		}
		child_path(sc, now[i].name, &path);
		if (c < 0) {
			/* New: a directory is sent whole, anything else as it is. */
			if (S_ISDIR(now[i].st.mode)) {
				if (!is_new)
					strvec_push(&sc->out->trees, path.buf);
				strvec_push(&new_subdirs, now[i].name);
			} else if (!is_new)
				strvec_push(&sc->out->changed, path.buf);
			differs = true;
			i++;
			continue;
		}
		if (!same_stat(&now[i].st, &was[j].st)) {
			differs = true;
			/* Another type now: the old one goes, the new one comes whole. */
			if ((now[i].st.mode & S_IFMT) != (was[j].st.mode & S_IFMT) &&
			    S_ISDIR(now[i].st.mode)) {
				strvec_push(&sc->out->trees, path.buf);
				strvec_push(&new_subdirs, now[i].name);
				if ((rc = scan_stage(sc, path.buf, true, NULL, 0)) < 0)
					goto out;
				i++, j++;
				continue;
			}
			strvec_push(&sc->out->changed, path.buf);
		}
		if (S_ISDIR(now[i].st.mode))
			strvec_push(&subdirs, now[i].name);
		i++, j++;
	}
	if (differs &&
	    (rc = scan_stage(sc, sc->rel.buf, false, now, nn)) < 0)
		goto out;
	/* Below: the known directories compared, the new ones only recorded. */
	for (k = 0; k < subdirs.nr + new_subdirs.nr && rc == 0; k++) {
		bool fresh = k >= subdirs.nr;
		const char *name = fresh ? new_subdirs.v[k - subdirs.nr] : subdirs.v[k];

		strbuf_addf(&sc->full, "/%s", name);
		if (sc->rel.len)
			strbuf_addch(&sc->rel, '/');
		strbuf_addstr(&sc->rel, name);
		rc = scan_dir(sc, fresh || is_new);
		strbuf_setlen(&sc->full, full_len);
		strbuf_setlen(&sc->rel, rel_len);
	}
out:
	record_entries_free(now, nn);
	record_entries_free(was, nw);
	strvec_clear(&subdirs);
	strvec_clear(&new_subdirs);
	strbuf_release(&path);
	return rc;
}

static int
tree_cmp(const void *a, const void *b)
{
	return path_tree_cmp(*(const char *const *)a, *(const char *const *)b);
}

int
record_scan(struct store *st, int64_t id, const char *source, const struct filter *filter,
	    struct record_scan *out)
{
	struct scan sc;
	struct stat sb;
	int rc;

	if (lstat(source, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return SYNC_ERR_SYSTEM;
	memset(&sc, 0, sizeof sc);
	/* The source's own attributes, under "/" (no directory of it has that name). */
	{
		struct record_entry top = { (char *)".", { 0 } }, *was = NULL;
		size_t nw = 0;

		stat_of(&sb, &top.st);
		if ((rc = store_record_dir(st, id, RECORD_TOP, &was, &nw)) < 0)
			return rc;
		out->top_changed = nw != 1 || !same_stat(&was[0].st, &top.st);
		record_entries_free(was, nw);
		if (out->top_changed &&
		    (rc = store_record_stage(st, id, RECORD_TOP, false, &top, 1)) < 0)
			return rc;
	}
	sc.st = st;
	sc.id = id;
	sc.filter = filter;
	sc.out = out;
	strbuf_init(&sc.full, 256);
	strbuf_init(&sc.rel, 256);
	strbuf_addstr(&sc.full, source);
	rc = scan_dir(&sc, false);
	if (sc.in_tx && rc < 0)
		store_rollback(st);
	else if (sc.in_tx)
		rc = store_commit(st);
	if (out->changed.nr > 1)
		qsort(out->changed.v, out->changed.nr, sizeof *out->changed.v, tree_cmp);
	if (out->trees.nr > 1)
		qsort(out->trees.v, out->trees.nr, sizeof *out->trees.v, tree_cmp);
	strbuf_release(&sc.full);
	strbuf_release(&sc.rel);
	return rc;
}
