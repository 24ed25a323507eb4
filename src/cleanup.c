/* cleanup: remove what a stopped transfer left on the far side (see cleanup.h). */
#include "config.h"

#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "rsync.h"
#include "util.h"

struct target {
	char *dir;             /* dest/dirname(file) */
	char *local_dir;       /* the same directory in the source */
	char *partial_dir;     /* dir/PARTIAL */
	char *partial;         /* dir/PARTIAL/NAME */
	char *tmp_prefix;      /* ".NAME." as rsync cuts it; NULL when it makes none */
	bool active;           /* a real directory: look here */
	bool keep_partial;     /* the source has dir/PARTIAL/NAME itself: data */
	bool keep_partial_dir; /* the source has dir/PARTIAL: data */
	int clock;             /* dir's clock: 0 not read yet, 1 read, -1 cannot be */
	int64_t clock_offset;  /* dir's clock minus ours, in seconds */
};

static void
note_error(struct cleanup_result *r, struct sftp *s)
{
	r->failed++;
	if (r->first_error == NULL)
		r->first_error = xstrdup(sftp_errmsg(s));
}

/*
 * Is every directory from dest down to dest/rel a real directory?
 * SYNC_ERR_NOT_FOUND when one is missing (nothing can be there).
 */
static int
real_dirs(struct sftp *s, const char *dest, const char *rel, struct cleanup_result *r)
{
	struct strbuf path = STRBUF_INIT;
	struct sftp_attrs a;
	const char *p = rel, *slash;
	int rc = SYNC_OK;

	strbuf_addstr(&path, dest);
	while (*p) {
		slash = strchr(p, '/');
		if (path.len == 0 || path.buf[path.len - 1] != '/')
			strbuf_addch(&path, '/');
		strbuf_add(&path, p, slash ? (size_t)(slash - p) : strlen(p));
		if ((rc = sftp_lstat(s, path.buf, &a)) < 0)
			break;
		if (!a.have_perm || !S_ISDIR(a.perm)) {
			r->refused++;
			rc = SYNC_ERR_INVALID;
			break;
		}
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	strbuf_release(&path);
	return rc;
}

static void
target_release(struct target *t)
{
	free(t->dir);
	free(t->local_dir);
	free(t->partial_dir);
	free(t->partial);
	free(t->tmp_prefix);
}

/*
 * Is name (or dir/name) an entry of the source directory local_dir? Then
 * the file of that name on the far side is data that arrived, however
 * much it looks like rsync's own, and is never removed.
 */
static bool
in_source(const char *local_dir, const char *name)
{
	struct stat sb;
	char *path = xasprintf("%s/%s", local_dir, name);
	bool found = lstat(path, &sb) == 0;

	free(path);
	return found;
}

/* Work out where file's leftovers would be, and whether it is safe to look. */
static int
target_init(struct sftp *s, const char *dest, const char *source_root, const char *partial_dir,
	    const char *file, struct target *t, struct cleanup_result *r)
{
	char *dir = path_dirname(file);
	const char *base = path_basename(file);
	struct strbuf prefix = STRBUF_INIT;
	struct sftp_attrs a;
	int rc;

	memset(t, 0, sizeof *t);
	t->dir = strcmp(dir, ".") == 0 ? xstrdup(dest) : xasprintf("%s/%s", dest, dir);
	t->local_dir = strcmp(dir, ".") == 0 ? xstrdup(source_root) :
		       xasprintf("%s/%s", source_root, dir);
	t->partial_dir = xasprintf("%s/%s", t->dir, partial_dir);
	t->partial = xasprintf("%s/%s", t->partial_dir, base);
	/*
	 * Named as rsync names it, not as ".NAME.": a dot-file's has one dot,
	 * a long name's is cut (a name of 255 bytes of CJK to nothing), so
	 * that a receiver still saving is waited for and its file removed.
	 */
	if (rsync_tmpname_prefix(&prefix, strcmp(dir, ".") == 0 ? 0 : strlen(dir) + 1, base))
		t->tmp_prefix = strbuf_detach(&prefix, NULL);
	strbuf_release(&prefix);
	t->keep_partial_dir = in_source(t->local_dir, partial_dir);
	if (t->keep_partial_dir) {
		char *p = xasprintf("%s/%s", partial_dir, base);

		t->keep_partial = in_source(t->local_dir, p);
		free(p);
	}
	rc = strcmp(dir, ".") == 0 ? SYNC_OK : real_dirs(s, dest, dir, r);
	if (rc == SYNC_OK) {
		/* The partial directory must be a real one too, if it is there. */
		rc = sftp_lstat(s, t->partial_dir, &a);
		if (rc == SYNC_OK && (!a.have_perm || !S_ISDIR(a.perm))) {
			r->refused++;
			rc = SYNC_ERR_INVALID;
		} else if (rc == SYNC_ERR_NOT_FOUND)
			rc = SYNC_OK;
	}
	t->active = rc == SYNC_OK;
	free(dir);
	return rc == SYNC_ERR_CONNECT || rc == SYNC_ERR_TIMEOUT ? SYNC_ERR_CONNECT : SYNC_OK;
}

static bool
session_lost(int rc)
{
	return rc == SYNC_ERR_CONNECT || rc == SYNC_ERR_TIMEOUT;
}

/*
 * Files named like rsync's temporary kept per file at most: a receiver
 * makes one, and each of a few tries cut off hard may leave one. More are
 * not rsync's doing (or come from a far side that never ends its list).
 */
#define TMP_FOUND_MAX 64

struct tmp_scan {
	const char *prefix;
	size_t prefix_len;
	const char *local_dir;
	struct strvec found;   /* regular files named like rsync's temporary */
	int64_t *mtimes;       /* the time of each, on the far side's clock; -1: none */
	size_t mtimes_alloc;
	bool overflow;         /* more than TMP_FOUND_MAX */
};

static int
match_tmp(const char *name, const struct sftp_attrs *a, void *ctx)
{
	struct tmp_scan *ts = ctx;
	size_t i, len = strlen(name);

	if (len != ts->prefix_len + 6 || memcmp(name, ts->prefix, ts->prefix_len) != 0)
		return 0;
	for (i = ts->prefix_len; i < len; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9')))
			return 0;
	if (!a->have_perm || !S_ISREG(a->perm) || in_source(ts->local_dir, name))
		return 0;
	if (ts->found.nr >= TMP_FOUND_MAX) {
		ts->overflow = true;
		return 1;
	}
	ALLOC_GROW(ts->mtimes, ts->found.nr, ts->mtimes_alloc);
	ts->mtimes[ts->found.nr] = a->have_mtime ? a->mtime : -1;
	strvec_push(&ts->found, name);
	return 0;
}

/*
 * Read the clock that dates files in dir (the far side's, or its file
 * server's): make a directory there and look at its time. *offset gets
 * that clock minus ours, in seconds; it errs by a second at most, plus
 * the round trip.
 */
static int
far_clock(struct sftp *s, const char *dir, int64_t *offset)
{
	static unsigned serial;
	struct sftp_attrs a;
	int64_t before = (int64_t)time(NULL);
	char *probe = xasprintf("%s/.scow-sync-clock.%ld.%u", dir, (long)getpid(), serial++);
	int rc, drc;

	if ((rc = sftp_mkdir(s, probe, 0700)) == SYNC_OK) {
		rc = sftp_lstat(s, probe, &a);
		drc = sftp_rmdir(s, probe);
		if (rc == SYNC_OK && !a.have_mtime)
			rc = SYNC_ERR_REMOTE;
		if (rc == SYNC_OK && session_lost(drc))
			rc = drc;
		if (rc == SYNC_OK)
			*offset = a.mtime - before;
	}
	free(probe);
	return rc;
}

/*
 * rsync's temporary files for t's file, still in its directory. With
 * not_before (when the transfer was first started, our clock), only those
 * written since, on the clock of the directory's own files: rsync writes
 * into its temporary as it goes, and a file of the user's named so that
 * was last written before is not ours, however little before, and however
 * far the far side's clock is from ours. Where that clock cannot be read,
 * nothing is ours. More than TMP_FOUND_MAX is a failure (r says so).
 */
/*
 * Seconds beyond the start before a file counts as written since: both
 * clocks are read to the second (far_clock errs by one, the start's time
 * by one), and a file of the user's written a moment before the start is
 * never to be taken for ours. The price: a temporary last written in the
 * transfer's first seconds stays.
 */
#define CLOCK_MARGIN 2

static int
find_tmp(struct sftp *s, struct target *t, int64_t not_before, struct strvec *found,
	 struct cleanup_result *r)
{
	struct tmp_scan ts = { t->tmp_prefix, t->tmp_prefix ? strlen(t->tmp_prefix) : 0,
			       t->local_dir, STRVEC_INIT, NULL, 0, false };
	size_t k;
	int rc;

	strvec_init(found);
	if (t->tmp_prefix == NULL)
		return SYNC_OK;
	if ((rc = sftp_list(s, t->dir, match_tmp, &ts)) == SYNC_OK && ts.overflow) {
		struct strbuf esc = STRBUF_INIT;

		escape_untrusted(&esc, t->dir, strlen(t->dir));
		r->failed++;
		if (r->first_error == NULL)
			r->first_error = xasprintf("more than %d files in '%s' are named like "
						   "rsync's temporary of one file: left alone",
						   TMP_FOUND_MAX, esc.buf);
		strbuf_release(&esc);
		rc = SYNC_ERR_REMOTE;
	} else if (rc < 0 && rc != SYNC_ERR_NOT_FOUND && !session_lost(rc))
		note_error(r, s);   /* not looked through: its temporaries stay */
	if (rc == SYNC_OK && ts.found.nr > 0 && not_before > 0 && t->clock == 0) {
		rc = far_clock(s, t->dir, &t->clock_offset);
		t->clock = rc == SYNC_OK ? 1 : -1;
		if (!session_lost(rc))
			rc = SYNC_OK;
	}
	if (rc == SYNC_OK) {
		for (k = 0; k < ts.found.nr; k++)
			if (not_before <= 0 ||
			    (t->clock == 1 &&
			     ts.mtimes[k] > not_before + t->clock_offset + CLOCK_MARGIN))
				strvec_push(found, ts.found.v[k]);
	}
	strvec_clear(&ts.found);
	free(ts.mtimes);
	return rc;
}

/* Remove path if it is a regular file. */
static int
remove_file(struct sftp *s, const char *path, struct cleanup_result *r)
{
	struct sftp_attrs a;
	int rc;

	if ((rc = sftp_lstat(s, path, &a)) == SYNC_ERR_NOT_FOUND)
		return SYNC_OK;
	if (rc < 0) {
		note_error(r, s);
		return rc;
	}
	if (!a.have_perm || !S_ISREG(a.perm)) {
		r->refused++;
		return SYNC_OK;
	}
	if ((rc = sftp_remove(s, path)) == SYNC_OK)
		r->removed++;
	else if (rc != SYNC_ERR_NOT_FOUND)
		note_error(r, s);
	return rc == SYNC_ERR_NOT_FOUND ? SYNC_OK : rc;
}

int
cleanup_partials(struct sftp *s, const char *dest, const char *source_root,
		 const char *partial_dir, const char *const *files, size_t n, double settle,
		 int64_t not_before, struct cleanup_result *r)
{
	struct target *t = xcalloc(n ? n : 1, sizeof *t);
	double deadline = now_monotonic() + settle;
	struct strvec tmp = STRVEC_INIT;
	size_t i, k;
	int rc = SYNC_OK;
	bool busy;

	memset(r, 0, sizeof *r);
	for (i = 0; i < n && rc == SYNC_OK; i++)
		rc = target_init(s, dest, source_root, partial_dir, files[i], &t[i], r);
	/*
	 * A receiver still saving a cut-off file has its temporary file; its
	 * partial file appears when it is done. Look for the temporary first,
	 * then remove the partial, until no receiver is busy.
	 */
	do {
		busy = false;
		for (i = 0; i < n && rc == SYNC_OK; i++) {
			if (!t[i].active)
				continue;
			strvec_clear(&tmp);
			if ((rc = find_tmp(s, &t[i], not_before, &tmp, r)) == SYNC_ERR_NOT_FOUND) {
				t[i].active = false;
				rc = SYNC_OK;
				continue;
			}
			if (rc < 0 && session_lost(rc))
				break;
			/* Its directory cannot be looked through (find_tmp said why). */
			if (rc < 0) {
				t[i].active = false;
				rc = SYNC_OK;
			}
			busy |= tmp.nr > 0;
			if (!t[i].keep_partial)
				rc = remove_file(s, t[i].partial, r);
			if (rc < 0 && !session_lost(rc))
				rc = SYNC_OK;
		}
		if (busy && rc == SYNC_OK && now_monotonic() < deadline)
			poll(NULL, 0, 200);
	} while (busy && rc == SYNC_OK && now_monotonic() < deadline);

	/* Whatever receiver still has a temporary file is not coming back for it. */
	for (i = 0; i < n && rc == SYNC_OK; i++) {
		if (!t[i].active)
			continue;
		strvec_clear(&tmp);
		if ((rc = find_tmp(s, &t[i], not_before, &tmp, r)) < 0) {
			rc = session_lost(rc) ? rc : SYNC_OK;
			continue;
		}
		for (k = 0; k < tmp.nr && rc == SYNC_OK; k++) {
			char *path = xasprintf("%s/%s", t[i].dir, tmp.v[k]);

			rc = remove_file(s, path, r);
			if (rc < 0 && !session_lost(rc))
				rc = SYNC_OK;
			free(path);
		}
		/* Only when it is empty: other files' partial data may be in it. */
		if (rc == SYNC_OK && !t[i].keep_partial_dir) {
			int drc = sftp_rmdir(s, t[i].partial_dir);

			if (session_lost(drc))
				rc = drc;
		}
	}
	if (rc < 0 && r->first_error == NULL)
		r->first_error = xstrdup(sftp_errmsg(s));
	strvec_clear(&tmp);
	for (i = 0; i < n; i++)
		target_release(&t[i]);
	free(t);
	return session_lost(rc) ? SYNC_ERR_CONNECT : SYNC_OK;
}
