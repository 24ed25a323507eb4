/*
 * transport-s3-get: a transfer whose source is an object store (s3://,
 * cos://) and whose destination is a local directory, through the engine
 * like any other (transport.h): `scow-sync run -s s3://b/p/run1 -d /x`
 * makes /x/run1/..., as an upload of /x/run1 to s3://b/p laid it out.
 *
 * The walk is a listing (ListObjectsV2, a page at a time): each object
 * under PREFIX/NAME/ is a file unit of its own, each "dir/" marker a
 * directory, and the directories the keys pass through are made here
 * before the units run. A key no local name can hold (an empty, "." or
 * ".." element, an element over NAME_MAX) is said as an entry that
 * cannot be read, and the transfer does not end done. A source with no
 * object below it but an object under PREFIX/NAME itself is that one
 * file. Each batch goes to a download helper (scow-sync __s3-get,
 * cmd-s3-get.c), which writes each file under a hidden temporary name
 * beside it and renames it into place once checked (s3-download.h): a
 * file is there whole or not at all. What a helper killed outright
 * leaves (a ".NAME.scow-XXXXXX") is removed by the next supervisor of
 * the request, and by terminate.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filter.h"
#include "local-dir.h"
#include "log.h"
#include "plan.h"
#include "s3-download.h"
#include "s3-list.h"
#include "sup-internal.h"
#include "transport-s3.h"

/* The keys of this transfer: PREFIX/NAME (the source's), "" for a whole bucket. */
static const char *
get_key_base(struct sup *s)
{
	return s->s3->target.prefix;
}

/* The walk's state: the directories made so far along the current key. */
struct get_walk {
	struct sup *s;
	const struct plan_callbacks *cb;
	struct strvec dirs;          /* rel paths of the directories open, parents first */
	struct strbuf rel, shown;
	bool top_made;               /* the source's own directory reported */
	bool self;                   /* an object under PREFIX/NAME itself (a file source) */
	uint64_t self_size;
	int rc;
};

/* Report the directory rel (below the source's parent) and those above it, once each. */
static int
get_walk_dirs(struct get_walk *g, const char *rel, size_t len)
{
	struct strbuf dir = STRBUF_INIT;
	size_t at;
	int rc = 0;

	/* Those open that are not above rel are done with: keys come sorted. */
	while (g->dirs.nr > 0) {
		const char *top = g->dirs.v[g->dirs.nr - 1];
		size_t tl = strlen(top);

		if (tl <= len && strncmp(top, rel, tl) == 0 && (tl == len || rel[tl] == '/'))
			break;
		free(g->dirs.v[--g->dirs.nr]);
		g->dirs.v[g->dirs.nr] = NULL;
	}
	at = g->dirs.nr > 0 ? strlen(g->dirs.v[g->dirs.nr - 1]) : 0;
	while (at < len && rc == 0) {
		size_t end = at == 0 ? strcspn(rel, "/") : at + 1 + strcspn(rel + at + 1, "/");

		if (end > len)
			end = len;
		strbuf_reset(&dir);
		strbuf_add(&dir, rel, end);
		strvec_push(&g->dirs, dir.buf);
		rc = g->cb->dir(dir.buf, g->cb->ctx);
		at = end;
	}
	strbuf_release(&dir);
	return rc;
}

/*
 * Can below (the key's rest under PREFIX/NAME/, a marker's '/' off) be a
 * local path? 0, or the errno to say it with. Filtered: the filters leave
 * it (or a directory above it) out.
 */
static int
get_walk_name_ok(struct get_walk *g, const char *below, bool marker, bool *filtered)
{
	struct strbuf sub = STRBUF_INIT;
	const char *p = below;
	int err = 0;

	*filtered = false;
	for (;;) {
		size_t n = strcspn(p, "/");

		/* PARTIAL_DIR is where the helpers write: no object's name. */
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.') ||
		    (n == strlen(PARTIAL_DIR) && memcmp(p, PARTIAL_DIR, n) == 0)) {
			err = EINVAL;
			break;
		}
		if (n > NAME_MAX) {
			err = ENAMETOOLONG;
			break;
		}
		strbuf_reset(&sub);
		strbuf_add(&sub, below, (size_t)(p - below) + n);
		if (filter_excluded(&g->s->filter, sub.buf, p[n] == '/' || marker)) {
			*filtered = true;
			break;
		}
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	strbuf_release(&sub);
	return err;
}

static int
get_walk_object(const struct s3_object *o, void *ctx)
{
	struct get_walk *g = ctx;
	struct sup *s = g->s;
	const char *base = get_key_base(s), *below;
	size_t bl = strlen(base), kl = strlen(o->key);
	struct unit_size size = { 1, o->size };
	bool marker, filtered;
	int err;

	if (got_stop_signal)
		return 1;
	/* PREFIX/NAME itself: a file, unless objects below make it a directory. */
	if (bl > 0 && strcmp(o->key, base) == 0) {
		g->self = true;
		g->self_size = o->size;
		return 0;
	}
	/* Below PREFIX/NAME/ only: "p/run10" is not in "p/run1". */
	if (bl > 0 && (strncmp(o->key, base, bl) != 0 || o->key[bl] != '/'))
		return 0;
	below = bl > 0 ? o->key + bl + 1 : o->key;
	marker = kl > 0 && o->key[kl - 1] == '/';
	strbuf_reset(&g->rel);
	strbuf_addstr(&g->rel, s->source_rel);
	if (!g->top_made) {
		g->top_made = true;
		if ((g->rc = get_walk_dirs(g, s->source_rel, strlen(s->source_rel))) != 0)
			return g->rc;
	}
	/* The source's own marker ("PREFIX/NAME/"): its directory, made above. */
	if (*below == '\0' || (marker && below[1] == '\0' && below[0] == '/'))
		return 0;
	strbuf_addch(&g->rel, '/');
	strbuf_add(&g->rel, below, strlen(below) - (marker ? 1 : 0));
	err = get_walk_name_ok(g, g->rel.buf + strlen(s->source_rel) + 1, marker, &filtered);
	if (err)
		return g->cb->error(g->rel.buf, err, g->cb->ctx);
	if (filtered)
		return 0;
	if (marker)
		return get_walk_dirs(g, g->rel.buf, g->rel.len);
	/* The directories above it, then the file: a unit of its own. */
	if ((g->rc = get_walk_dirs(g, g->rel.buf, (size_t)(strrchr(g->rel.buf, '/') -
							  g->rel.buf))) != 0)
		return g->rc;
	return g->cb->unit(UNIT_FILE, g->rel.buf, &size, g->cb->ctx);
}

static int
s3_get_walk(struct sup *s, const struct plan_callbacks *cb)
{
	struct get_walk g;
	struct strbuf why = STRBUF_INIT;
	int rc;

	memset(&g, 0, sizeof g);
	g.s = s;
	g.cb = cb;
	strvec_init(&g.dirs);
	strbuf_init(&g.rel, 0);
	strbuf_init(&g.shown, 0);
	/* PREFIX/NAME and what is below it; "PREFIX/NAMEX" is left out one by one. */
	rc = s3_list_prefix(s->s3->cl, get_key_base(s), get_walk_object, &g, &why);
	if (rc < 0 && why.len) {
		if (!got_stop_signal)
			set_failure(s, "cannot list %s: %s", s->shown_source, why.buf);
	} else if (rc == 0 && !g.top_made && g.self) {
		struct unit_size size = { 1, g.self_size };

		rc = cb->unit(UNIT_FILE, s->source_rel, &size, cb->ctx);
	} else if (rc == 0 && !g.top_made) {
		set_failure(s, "nothing in the store under %s", s->shown_source);
		rc = SYNC_ERR_NOT_FOUND;
	} else if (rc == 0 && g.self) {
		/* No local name holds both: said as an entry that cannot be read. */
		log_error("%s is an object and a directory of objects too: the object is left out",
			  s->shown_source);
		if (s->walk_error_first == NULL)
			s->walk_error_first = xasprintf("%s is an object and a directory of "
							"objects too", s->shown_source);
		s->walk_errors++;
	}
	strvec_clear(&g.dirs);
	strbuf_release(&g.rel);
	strbuf_release(&g.shown);
	strbuf_release(&why);
	return rc < 0 ? rc : 0;
}

/* Remove dir (a private area, PARTIAL_DIR) and the files in it: how many in *n. */
static int
get_remove_partial(const char *dir, uint64_t *n)
{
	unsigned long removed = 0;
	int rc = private_dir_remove(dir, &removed);

	*n += removed;
	return rc < 0 && errno != ENOENT ? -1 : 0;
}

/*
 * Remove the helpers' private areas under path (a directory, walked
 * without following links) with what they hold, how many files in *n.
 * Below 0 when one could not be.
 */
static int
get_remove_temps(const char *path, uint64_t *n)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int rc = 0;

	if (d == NULL)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		char *sub;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		sub = xasprintf("%s/%s", path, de->d_name);
		if (lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			if (strcmp(de->d_name, PARTIAL_DIR) == 0 ? get_remove_partial(sub, n) < 0 :
			    get_remove_temps(sub, n) < 0)
				rc = -1;
		}
		free(sub);
	}
	closedir(d);
	return rc;
}

/*
 * A file source's unfinished download: its temporary files in DEST's
 * private area (others' there are theirs), and the area if it is empty.
 */
static int
get_remove_file_temps(const char *dest, const char *name, uint64_t *n)
{
	char *area = xasprintf("%s/%s", dest, PARTIAL_DIR);
	struct strbuf mine = STRBUF_INIT;
	DIR *d = opendir(area);
	struct dirent *de;
	int rc = 0;

	s3_temp_prefix(name, &mine);
	while (d && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, mine.buf, mine.len) != 0 ||
		    strlen(de->d_name) != mine.len + S3_TEMP_RANDOM)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			(*n)++;
		else if (errno != ENOENT)
			rc = -1;
	}
	if (d) {
		closedir(d);
		rmdir(area);
	} else if (errno != ENOENT) {
		rc = -1;
	}
	strbuf_release(&mine);
	free(area);
	return rc;
}

/*
 * The unfinished downloads under DEST/rel (rel: the source's name, or a
 * part), or of the file source file_name (rel then "").
 */
static int
get_clean_under(const char *dest, const char *rel, const char *file_name)
{
	char *path = xasprintf("%s/%s", dest, rel);
	struct strbuf shown = STRBUF_INIT;
	uint64_t n = 0;
	int rc = file_name ? get_remove_file_temps(dest, file_name, &n) :
			     get_remove_temps(path, &n);

	escape_untrusted(&shown, path, strlen(path));
	if (rc < 0)
		log_warn("cannot remove every unfinished download under '%s'", shown.buf);
	else if (n > 0)
		log_info("removed %llu unfinished downloads under '%s'", (unsigned long long)n,
			 shown.buf);
	strbuf_release(&shown);
	free(path);
	return rc;
}

static bool
s3_get_measure(struct sup *s)
{
	struct s3_side *x = s->s3;
	struct strbuf url = STRBUF_INIT, local = STRBUF_INIT;
	struct s3_call c;
	struct stat sb;
	double t0 = now_monotonic(), answer;
	bool ok = false;

	/* The listing said the bucket answers; this, how fast. */
	s3_call_init(&c, "HEAD", NULL);
	s3_bucket_url(&x->target, &url);
	if (s3_run(x->cl, &c, 1, 1) < 0) {
		if (!got_stop_signal)
			set_failure(s, "bucket %s: %s", url.buf, s3_call_reason(&c));
		goto out;
	}
	answer = now_monotonic() - t0;
	strbuf_addf(&local, "%s/%s", s->t.destination, s->source_rel);
	/* Nothing here yet: no file needs comparing first. */
	s->fresh = lstat(local.buf, &sb) < 0 && errno == ENOENT;
	s->split_ok = false;
	s->active_workers = s->small_cap = s->nworkers;
	s->near = false;
	log_info("the bucket %s answered in %.3f s; %s; %d downloads at once", url.buf, answer,
		 s->fresh ? "nothing is in the destination yet" :
			    "each file is compared with its object first",
		 s->active_workers);
	ok = true;
out:
	s3_call_release(&c);
	strbuf_release(&url);
	strbuf_release(&local);
	return ok;
}

/* mkdir, and a directory already there is as good. */
static int
get_mkdir(const char *path)
{
	struct stat sb;

	if (mkdir(path, 0777) == 0)
		return 0;
	if (errno == EEXIST && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		return 0;
	if (errno == EEXIST)
		errno = ENOTDIR;
	return -1;
}

/* mkdir -p of path (absolute): 0, or -1 with errno. */
static int
get_make_path(const char *path)
{
	struct strbuf part = STRBUF_INIT;
	size_t k;
	int rc = 0;

	for (k = 1; path[k - 1] && rc == 0; k++) {
		if (path[k] != '/' && path[k] != '\0')
			continue;
		strbuf_reset(&part);
		strbuf_add(&part, path, k);
		rc = get_mkdir(part.buf);
	}
	strbuf_release(&part);
	return rc;
}

/* Say why the directory rel (below DEST) cannot be made or opened. */
static void
get_dir_failure(struct sup *s, const char *rel)
{
	struct strbuf path = STRBUF_INIT, shown = STRBUF_INIT;
	int err = errno;

	strbuf_addstr(&path, s->t.destination);
	if (*rel)
		strbuf_addf(&path, "/%s", rel);
	escape_untrusted(&shown, path.buf, path.len);
	set_failure(s, "cannot make '%s': %s", shown.buf,
		    err == ELOOP ? "a symbolic link stands where a directory goes (not followed)" :
		    strerror(err));
	strbuf_release(&path);
	strbuf_release(&shown);
}

/*
 * Nothing is written before this holds: DEST/NAME, made and locked
 * (flock), so that a second transfer into it (another bucket's NAME, or
 * this request from another spelling) stops here with one line. A file
 * source needs none: its rename is all it writes. DEST is the caller's
 * and may be a link; nothing below it is followed.
 */
static bool
s3_get_lock(struct sup *s)
{
	mode_t old = umask(s->cfg->user_umask);
	bool ok = true;

	if (get_make_path(s->t.destination) < 0) {
		get_dir_failure(s, "");
		ok = false;
	} else if (s->source_is_dir &&
		   (s->s3->lock_fd = local_dir_open(s->t.destination, s->source_rel, true,
						    0777)) < 0) {
		get_dir_failure(s, s->source_rel);
		ok = false;
	} else if (s->source_is_dir && flock(s->s3->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		struct strbuf path = STRBUF_INIT, shown = STRBUF_INIT;
		int err = errno;

		strbuf_addf(&path, "%s/%s", s->t.destination, s->source_rel);
		escape_untrusted(&shown, path.buf, path.len);
		set_failure(s, "'%s' is being written by another transfer%s", shown.buf,
			    err == EWOULDBLOCK ? "" : ": cannot lock it");
		strbuf_release(&path);
		strbuf_release(&shown);
		ok = false;
	}
	umask(old);
	return ok;
}

/* Call fn for each directory of the walk (below DEST), parents first. */
static bool
get_each_dir(struct sup *s, bool (*fn)(struct sup *s, const char *rel))
{
	struct strbuf all = STRBUF_INIT;
	char buf[65536];
	size_t k, start = 0;
	ssize_t n;
	bool ok = true;
	int fd;

	if (!s->have_dirs || (fd = open(s->dirs_file, O_RDONLY | O_CLOEXEC)) < 0)
		return true;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		strbuf_add(&all, buf, (size_t)n);
	close(fd);
	for (k = 0; k < all.len && ok; k++) {
		if (all.buf[k] != '\0')
			continue;
		ok = fn(s, all.buf + start);
		start = k + 1;
	}
	strbuf_release(&all);
	return ok;
}

static bool
get_make_dir(struct sup *s, const char *rel)
{
	int fd = local_dir_open(s->t.destination, rel, true, 0777);

	if (fd < 0) {
		get_dir_failure(s, rel);
		return false;
	}
	close(fd);
	return true;
}

/* The directories, what an earlier run cut short left, and the helpers' environment. */
static bool
s3_get_prepare(struct sup *s)
{
	struct s3_side *x = s->s3;
	struct strbuf ep = STRBUF_INIT;
	mode_t old = umask(s->cfg->user_umask);
	bool made = get_each_dir(s, get_make_dir);

	umask(old);
	if (!made)
		return false;
	/* A helper killed outright leaves its file half there, in a private area. */
	if (!s->fresh)
		get_clean_under(s->t.destination, s->source_is_dir ? s->source_rel : "",
				s->source_is_dir ? NULL : s->source_rel);
	strbuf_addf(&ep, "%s://%s", x->target.scheme, x->target.host);
	strvec_pushf(&x->env, "S3_GET_SOURCE=%s", s->t.source);
	strvec_pushf(&x->env, "S3_GET_ENDPOINT=%s", ep.buf);
	strvec_pushf(&x->env, "S3_GET_REGION=%s", x->target.region);
	strvec_pushf(&x->env, "S3_GET_STYLE=%s", x->target.path_style ? "path" : "virtual");
	strvec_pushf(&x->env, "S3_GET_TOP=%s", s->source_rel);
	strvec_pushf(&x->env, "S3_GET_DEST=%s", s->t.destination);
	strvec_pushf(&x->env, "S3_GET_UMASK=%u", (unsigned)s->cfg->user_umask);
	strvec_pushf(&x->env, "S3_GET_MULTIPART=%llu",
		     (unsigned long long)s->cfg->s3_multipart_mib << 20);
	if (s->cfg->partial)
		strvec_push(&x->env, "S3_GET_ALWAYS=1");
	if (s->cfg->bwlimit_kib)
		strvec_pushf(&x->env, "S3_GET_BWLIMIT=%llu",
			     (unsigned long long)s->cfg->bwlimit_kib * 1024);
	strbuf_release(&ep);
	return true;
}

static int
s3_get_start_job(struct sup *s, struct worker *w, enum job_kind kind)
{
	return s3_side_start_helper(s, w, kind, "__s3-get");
}

/* The private area of rel's directory, empty once every helper has ended: removed. */
static bool
get_remove_area(struct sup *s, const char *rel)
{
	int fd = local_dir_open(s->t.destination, rel, false, 0);

	if (fd >= 0) {
		unlinkat(fd, PARTIAL_DIR, AT_REMOVEDIR);
		close(fd);
	}
	return true;
}

static void
s3_get_settle(struct sup *s)
{
	if (s->source_is_dir)
		get_each_dir(s, get_remove_area);
	else
		get_remove_area(s, "");
}

static bool
s3_get_mirror(struct sup *s)
{
	set_failure(s, "--delete from an object store is not supported yet");
	return false;
}

/*
 * A stopped transfer's unfinished files, those in the helpers' private
 * areas under DEST/NAME (dir) or the part prefix, or a file source's in
 * DEST's, and then the store's rows of partial data there.
 */
static int
get_clean(struct store *st, const struct transfer *t, bool dir, const char *prefix)
{
	struct strvec rows = STRVEC_INIT;
	const char *name = path_basename(t->source);
	size_t k;
	int rc = get_clean_under(t->destination, prefix ? prefix : dir ? name : "",
				 dir || prefix ? NULL : name);

	if (rc == 0 && store_leftovers_list(st, t->id, prefix, &rows) == SYNC_OK)
		for (k = 0; k < rows.nr; k++)
			store_leftover_remove(st, t->id, rows.v[k]);
	strvec_clear(&rows);
	return rc;
}

static int
s3_get_clean(struct sup *s, const char *prefix)
{
	return get_clean(s->st, &s->t, s->source_is_dir, prefix);
}

int
s3_get_clean_transfer(struct store *st, const struct transfer *t, const char *prefix)
{
	struct stat sb;
	char *top = xasprintf("%s/%s", t->destination, path_basename(t->source));
	/* A file source's area is DEST's own. */
	bool dir = lstat(top, &sb) == 0 && S_ISDIR(sb.st_mode);
	int rc = get_clean(st, t, dir, prefix);

	free(top);
	return rc;
}

const struct transport transport_s3_get = {
	.name = "object store (S3) as the source",
	.walk = s3_get_walk,
	.connect = s3_side_connect,
	.connected = s3_side_connected,
	.measure = s3_get_measure,
	.lock = s3_get_lock,
	.prepare = s3_get_prepare,
	.start_job = s3_get_start_job,
	.start_piece = s3_side_start_piece,
	.output = worker_output,
	.batch_end = s3_side_batch_end,
	.after_units = s3_side_after_units,
	.settle = s3_get_settle,
	.mirror = s3_get_mirror,
	.clean = s3_get_clean,
	.close = s3_side_close,
};
