/*
 * transport-s3: a transfer whose destination is an object store (s3://,
 * cos://), through the engine like any other (transport.h).
 *
 * The supervisor itself speaks to the store only for what is asked once:
 * whether the bucket answers and to the key (connect, measure), whether
 * anything is under the destination's prefix yet (then no file needs a
 * HEAD first), the markers of empty directories above the cut (settle),
 * and the multipart uploads a stopped transfer leaves (clean). Each batch
 * of units goes to an upload helper (scow-sync __s3-put, cmd-s3-put.c),
 * a child the pool runs as it runs rsync, which prints what rsync prints
 * (sup-worker.c reads it): the names, progress, files not sent and exit
 * codes mean what they mean there.
 *
 * There is no far side's lock yet: the store is this transfer's alone by
 * the one supervisor a request has on this node (store_transfer_claim).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "s3-client.h"
#include "s3-credentials.h"
#include "s3-delete.h"
#include "s3-mirror.h"
#include "s3-target.h"
#include "s3-upload.h"
#include "s3-xml.h"
#include "sigv4.h"
#include "rsync-parse.h"
#include "rsync-speak.h"
#include "sup-internal.h"
#include "transport-s3.h"
#include "verdict.h"
#include "mirror-guard.h"
#include "log.h"

/* s's, made on first use. */
static struct s3_side *
s3_side(struct sup *s)
{
	if (s->s3 == NULL) {
		s->s3 = xcalloc(1, sizeof *s->s3);
		s->s3->lock_fd = -1;
	}
	return s->s3;
}

/*
 * Where a transfer's bucket is: its address, the bucket's URL the request
 * was recorded with (so that a resume goes where the start went), read
 * back into an endpoint and a style.
 */
static int
s3_target_of(struct sup *s, struct s3_target *t, char *err, size_t errlen)
{
	const char *url = s->t.address, *host;
	/* The bucket's side: the destination of an upload, the source of a download. */
	const char *bucket_url = s3_is_url(s->t.destination) ? s->t.destination : s->t.source;
	struct strbuf endpoint = STRBUF_INIT;
	char *region;
	enum s3_style style;
	size_t n;
	int rc;

	if ((rc = s3_target_parse(bucket_url, t, err, errlen)) < 0)
		return rc;
	host = strstr(url, "://");
	if (host == NULL) {
		snprintf(err, errlen, "the bucket's recorded URL '%s' cannot be read", url);
		return SYNC_ERR_INVALID;
	}
	host += 3;
	n = strcspn(host, "/");
	strbuf_add(&endpoint, url, (size_t)(host - url));
	if (host[n] == '/') {
		/* Path style: SCHEME://HOST/BUCKET. */
		strbuf_add(&endpoint, host, n);
		style = S3_STYLE_PATH;
	} else {
		/* Virtual host: SCHEME://BUCKET.HOST. */
		size_t bl = strlen(t->bucket);

		if (n <= bl + 1 || strncmp(host, t->bucket, bl) != 0 || host[bl] != '.') {
			snprintf(err, errlen, "the bucket's recorded URL '%s' cannot be read", url);
			strbuf_release(&endpoint);
			return SYNC_ERR_INVALID;
		}
		strbuf_add(&endpoint, host + bl + 1, n - bl - 1);
		style = S3_STYLE_VIRTUAL;
	}
	/*
	 * The region: the one AWS's or COS's host names, as the start had it.
	 * Resume and terminate run without the start's --region; signed for
	 * another, every request is refused, the cleanup's too.
	 */
	region = s3_host_region(endpoint.buf + (size_t)(host - url));
	rc = s3_target_resolve(t, endpoint.buf, region ? region : s->cfg->s3_region, style, err,
			       errlen);
	free(region);
	strbuf_release(&endpoint);
	return rc;
}

bool
s3_side_connect(struct sup *s)
{
	struct s3_side *x = s3_side(s);
	char err[512];

	if (s3_target_of(s, &x->target, err, sizeof err) < 0) {
		set_failure(s, "%s", err);
		return false;
	}
	if (s3_credentials_find(x->target.cos, &x->creds, err, sizeof err) < 0) {
		set_failure(s, "%s", err);
		return false;
	}
	if ((x->cl = s3_client_new(&x->target, &x->creds)) == NULL) {
		set_failure(s, "cannot start libcurl");
		return false;
	}
	s3_client_stop_flag(x->cl, (volatile int *)&got_stop_signal);
	return true;
}

bool
s3_side_connected(struct sup *s)
{
	return !got_stop_signal && s->s3 != NULL;
}

/* The keys' common start of this transfer: PREFIX/basename(SOURCE). */
static void
s3_top_key(struct sup *s, struct strbuf *out)
{
	s3_key(&s->s3->target, s->source_rel, out);
}

static bool
s3_measure(struct sup *s)
{
	struct s3_side *x = s->s3;
	struct strbuf q = STRBUF_INIT, top = STRBUF_INIT, url = STRBUF_INIT;
	struct s3_listing l;
	struct s3_call c;
	double t0 = now_monotonic(), answer;
	bool ok = false;

	/* Is the bucket there, and ours to write? (The reason otherwise: AccessDenied, ...) */
	s3_call_init(&c, "HEAD", NULL);
	s3_bucket_url(&x->target, &url);
	if (s3_run(x->cl, &c, 1, 1) < 0) {
		if (!got_stop_signal)
			set_failure(s, "bucket %s: %s", url.buf, s3_call_reason(&c));
		goto out;
	}
	answer = now_monotonic() - t0;
	s3_call_release(&c);
	/* Nothing under the prefix yet: no file needs a HEAD before its PUT. */
	s3_top_key(s, &top);
	strbuf_addstr(&q, "list-type=2&max-keys=1&prefix=");
	s3_uri_encode(&q, top.buf, false);
	s3_call_init(&c, "GET", NULL);
	c.query = q.buf;
	if (s3_run(x->cl, &c, 1, 1) < 0) {
		if (!got_stop_signal)
			set_failure(s, "bucket %s: %s", url.buf, s3_call_reason(&c));
		goto out;
	}
	if (s3_xml_listing(c.reply.buf, c.reply.len, &l) == 0) {
		s->fresh = l.nobjects == 0 && l.nprefixes == 0;
		s3_listing_release(&l);
	}
	s->split_ok = false;
	/* Every helper waits on the store more than on a CPU: all of them, small files too. */
	s->active_workers = s->small_cap = s->nworkers;
	s->near = false;
	log_info("the bucket %s answered in %.3f s; %s; %d uploads at once", url.buf, answer,
		 s->fresh ? "nothing is under the destination yet" :
			    "each file is compared with its object first",
		 s->active_workers);
	ok = true;
out:
	s3_call_release(&c);
	strbuf_release(&q);
	strbuf_release(&top);
	strbuf_release(&url);
	return ok;
}

/*
 * Nothing is written before this holds: the keys under PREFIX/NAME are
 * this transfer's alone on this node, by a lock file in the state
 * directory named after the bucket's URL and the key (flock), so that a
 * second upload there (another source of that name) stops with one line
 * instead of mixing its files with ours. A store has no lock of its own
 * that every S3 server keeps; writers on other nodes are not seen.
 */
static bool
s3_lock(struct sup *s)
{
	struct strbuf what = STRBUF_INIT, hash = STRBUF_INIT, path = STRBUF_INIT;
	bool ok = true;

	if (s->cfg->state_dir == NULL)
		return true;
	s3_bucket_url(&s->s3->target, &what);
	strbuf_addch(&what, '\n');
	s3_top_key(s, &what);
	sigv4_sha256_hex(what.buf, what.len, &hash);
	strbuf_addf(&path, "%s/s3-locks", s->cfg->state_dir);
	if ((mkdir(path.buf, 0700) < 0 && errno != EEXIST) ||
	    (strbuf_addf(&path, "/%s", hash.buf),
	     (s->s3->lock_fd = open(path.buf, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
				    0600)) < 0)) {
		set_failure(s, "cannot lock the destination: '%s': %s", path.buf,
			    strerror(errno));
		ok = false;
	} else if (flock(s->s3->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		set_failure(s, "%s/%s is being written by another transfer on this node%s",
			    s->shown_dest, s->source_rel,
			    errno == EWOULDBLOCK ? "" : ": cannot lock it");
		ok = false;
	}
	strbuf_release(&what);
	strbuf_release(&hash);
	strbuf_release(&path);
	return ok;
}

/* Write the helpers' files (filters, parts stopped) and their environment. */
static bool
s3_prepare(struct sup *s)
{
	struct s3_side *x = s->s3;
	struct strbuf buf = STRBUF_INIT, url = STRBUF_INIT, ep = STRBUF_INIT;
	size_t k;
	int fd;

	x->filters_file = xasprintf("%s/s3-filters", s->tmpdir);
	x->excludes_file = xasprintf("%s/s3-excludes", s->tmpdir);
	filter_serialize(&s->filter, &buf);
	fd = open(x->filters_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write_all(fd, buf.buf, buf.len) < 0 || close(fd) < 0) {
		set_failure(s, "cannot write '%s': %s", x->filters_file, strerror(errno));
		strbuf_release(&buf);
		return false;
	}
	strbuf_reset(&buf);
	for (k = 0; k < s->excludes.nr; k++)
		strbuf_add(&buf, s->excludes.v[k], strlen(s->excludes.v[k]) + 1);
	fd = open(x->excludes_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write_all(fd, buf.buf, buf.len) < 0 || close(fd) < 0) {
		set_failure(s, "cannot write '%s': %s", x->excludes_file, strerror(errno));
		strbuf_release(&buf);
		return false;
	}
	strbuf_release(&buf);
	strvec_pushf(&x->env, "S3_PUT_DEST=%s", s->t.destination);
	strbuf_addf(&ep, "%s://%s", x->target.scheme, x->target.host);
	strvec_pushf(&x->env, "S3_PUT_ENDPOINT=%s", ep.buf);
	strvec_pushf(&x->env, "S3_PUT_REGION=%s", x->target.region);
	strvec_pushf(&x->env, "S3_PUT_STYLE=%s", x->target.path_style ? "path" : "virtual");
	strvec_pushf(&x->env, "S3_PUT_ROOT=%s", s->source_root);
	strvec_pushf(&x->env, "S3_PUT_TOP=%s", s->source_rel);
	strvec_pushf(&x->env, "S3_PUT_MULTIPART=%llu",
		     (unsigned long long)s->cfg->s3_multipart_mib << 20);
	strvec_pushf(&x->env, "S3_PUT_FILTERS=%s", x->filters_file);
	strvec_pushf(&x->env, "S3_PUT_EXCLUDES=%s", x->excludes_file);
	if (s->fresh)
		strvec_push(&x->env, "S3_PUT_FRESH=1");
	if (s->cfg->partial)
		strvec_push(&x->env, "S3_PUT_ALWAYS=1");
	if (s->cfg->verify && !s->fresh) {
		strvec_push(&x->env, "S3_PUT_VERIFY=1");
		log_info("comparing with the bucket by content (--verify): every file whose object "
			 "has its size and time is read and its MD5 checked against the ETag");
	}
	if (s->cfg->bwlimit_kib)
		strvec_pushf(&x->env, "S3_PUT_BWLIMIT=%llu",
			     (unsigned long long)s->cfg->bwlimit_kib * 1024);
	strbuf_release(&url);
	strbuf_release(&ep);
	return true;
}

int
s3_side_start_helper(struct sup *s, struct worker *w, enum job_kind kind, const char *verb)
{
	struct s3_side *x = s->s3;
	const char *argv[] = { s->cfg->self_path, verb, NULL };
	struct spawn sp;
	int fd, rc;

	if (kind != JOB_UNIT) {
		set_failure(s, "an object store has no job of kind %d", (int)kind);
		return SYNC_ERR_INVALID;
	}
	if (s->cfg->self_path == NULL) {
		set_failure(s, "cannot find our own program to run %s", verb);
		return SYNC_ERR_INVALID;
	}
	if (job_write_list(w) < 0 ||
	    (fd = open(w->list_file, O_RDONLY | O_CLOEXEC)) < 0) {
		set_failure(s, "cannot write '%s': %s", w->list_file, strerror(errno));
		return SYNC_ERR_SYSTEM;
	}
	memset(&sp, 0, sizeof sp);
	sp.argv = argv;
	sp.env_set = (const char *const *)x->env.v;
	sp.stdin_fd = fd;
	sp.pipe_stdout = true;
	sp.pipe_stderr = true;
	sp.new_pgroup = true;
	sp.die_with_parent = true;
	rc = spawn_start(&sp);
	close(fd);
	if (rc < 0) {
		set_failure(s, "cannot run '%s': %s", s->cfg->self_path, strerror(errno));
		return rc;
	}
	worker_job_started(s, w, kind, &sp);
	return SYNC_OK;
}

static int
s3_start_job(struct sup *s, struct worker *w, enum job_kind kind)
{
	return s3_side_start_helper(s, w, kind, "__s3-put");
}

int
s3_side_start_piece(struct sup *s, struct worker *w)
{
	(void)w;
	set_failure(s, "an object store takes large files in parts of its own");
	return SYNC_ERR_INVALID;
}

void
s3_side_batch_end(struct sup *s, const struct worker *w, struct batch_end *e)
{
	int status = w->job->status[0];

	memset(e, 0, sizeof *e);
	e->code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	e->stopped = w->job->stopped;
	e->stopping = got_stop_signal;
	e->nunits = w->nunits;
	/* The store refused (a key, the bucket): every other batch would fail the same way. */
	if (e->code == SPEAK_EXIT_FATAL && !got_stop_signal) {
		struct strbuf reason = STRBUF_INIT;
		struct strbuf tail = STRBUF_INIT;

		strbuf_add(&tail, w->err_tail.buf, w->err_tail.len);
		strbuf_addstr(&reason, rsync_telling_line(&tail));
		set_failure(s, "%s", reason.len ? reason.buf : "the object store refused");
		s->aborting = true;
		strbuf_release(&reason);
		strbuf_release(&tail);
	}
	e->aborting = s->aborting;
}

int
s3_side_after_units(struct sup *s)
{
	(void)s;
	return 0;
}

/* Is the source's directory rel (below its parent) empty? */
static bool
s3_dir_empty(struct sup *s, const char *rel)
{
	char *path = xasprintf("%s/%s", s->source_root, rel);
	DIR *d = opendir(path);
	struct dirent *de;
	bool empty = d != NULL;

	while (d && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			empty = false;
			break;
		}
	}
	if (d)
		closedir(d);
	free(path);
	return empty;
}

/*
 * Directories above the cut have no unit of their own: those that are
 * empty get their marker ("dir/") here, as a helper gives those below.
 */
static void
s3_settle(struct sup *s)
{
	struct s3_side *x = s->s3;
	struct strbuf all = STRBUF_INIT, key = STRBUF_INIT;
	char buf[65536];
	size_t start = 0, k;
	ssize_t n;
	int fd;

	if (!s->have_dirs || got_stop_signal || s->failure != NULL || s->dirs_file == NULL)
		return;
	if ((fd = open(s->dirs_file, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		strbuf_add(&all, buf, (size_t)n);
	close(fd);
	for (k = 0; k < all.len; k++) {
		const char *rel = all.buf + start;
		struct s3_upload_result r;
		struct stat sb;
		char *path;

		if (all.buf[k] != '\0')
			continue;
		start = k + 1;
		if (!s3_dir_empty(s, rel))
			continue;
		path = xasprintf("%s/%s", s->source_root, rel);
		if (lstat(path, &sb) < 0) {
			free(path);
			continue;
		}
		free(path);
		strbuf_reset(&key);
		s3_key(&x->target, rel, &key);
		/* The helper's marker, with the directory's mtime and mode. */
		s3_upload_dir_marker(x->cl, key.buf, &sb, &r);
		if (r.outcome != S3_UPLOAD_SENT) {
			struct strbuf shown = STRBUF_INIT;

			escape_untrusted(&shown, rel, strlen(rel));
			set_failure(s, "cannot make the marker of empty directory '%s': %s",
				    shown.buf, r.reason ? r.reason : "failed");
			strbuf_release(&shown);
		} else {
			s->created++;
		}
		s3_upload_result_release(&r);
	}
	strbuf_release(&all);
	strbuf_release(&key);
}

/* The deletions to the store's record and the log, as sup-delete.c records rsync's. */
static void
s3_mirror_record(struct sup *s, const struct strvec *keys)
{
	struct strvec names = STRVEC_INIT;
	struct strbuf base = STRBUF_INIT;
	size_t k;

	s3_key(&s->s3->target, "", &base);
	for (k = 0; k < keys->nr; k++)
		strvec_push(&names, keys->v[k] + base.len);
	sup_record_deletions(s, &names);
	strvec_clear(&names);
	strbuf_release(&base);
}

/*
 * A mirror's deletes (--delete), once every unit has arrived: the objects
 * under PREFIX/NAME that the source has no entry for, within the filters
 * and outside the parts stopped on request. They are listed first and
 * judged by the guards (mirror-guard.h) before the first goes; a run
 * trusting its record lists only under what the record says went, and
 * under the directories it sent whole. Only the keys listed go.
 */
static bool
s3_mirror(struct sup *s)
{
	struct strvec stopped = STRVEC_INIT, keys = STRVEC_INIT, deleted = STRVEC_INIT;
	struct strbuf why = STRBUF_INIT;
	struct s3_mirror_scope scope;
	enum mirror_verdict verdict;
	bool ok = false;
	size_t i;
	int rc = 0;

	if (!s->source_is_dir)
		return true;
	if (s->fresh) {
		log_info("mirror: nothing was under the destination; nothing there to delete");
		return true;
	}
	sup_stopped_parts(s, &stopped);
	scope.target = &s->s3->target;
	scope.source_root = s->source_root;
	scope.source_rel = s->source_rel;
	scope.filter = &s->filter;
	scope.stopped = &stopped;
	if (s->cfg->partial) {
		struct strvec where = STRVEC_INIT;

		strvec_pushv(&where, (const char *const *)s->gone.v);
		for (i = 0; i < s->cfg->only_trees->nr; i++)
			strvec_pushf(&where, "%s/%s", s->source_rel, s->cfg->only_trees->v[i]);
		for (i = 0; i < where.nr && rc == 0; i++)
			rc = s3_mirror_extra(s->s3->cl, &scope, where.v[i], &keys, &why);
		strvec_clear(&where);
	} else {
		rc = s3_mirror_extra(s->s3->cl, &scope, s->source_rel, &keys, &why);
	}
	if (rc < 0) {
		if (!got_stop_signal)
			set_failure(s, "mirror: cannot list the bucket: %s", why.buf);
		goto out;
	}
	if (keys.nr == 0) {
		log_info("mirror: the bucket has nothing the source lacks");
		ok = true;
		goto out;
	}
	verdict = mirror_guard(keys.nr, mirror_source_empty(s->t.source), s->cfg->delete_all_ok,
			       s->cfg->max_delete);
	if (verdict != MIRROR_GO) {
		mirror_stop_reason(&why, verdict, keys.nr, s->cfg->max_delete);
		set_failure(s, "%s", why.buf);
		goto out;
	}
	log_info("mirror: deleting %zu %s the source lacks", keys.nr,
		 keys.nr == 1 ? "object" : "objects");
	ok = s3_delete_keys(s->s3->cl, (const char *const *)keys.v, keys.nr, &deleted,
			    &why) == 0;
	s3_mirror_record(s, &deleted);
	if (!ok)
		set_failure(s, "mirror: %zu of %zu objects not deleted: %s",
			    keys.nr - deleted.nr, keys.nr, why.buf);
out:
	strvec_clear(&stopped);
	strvec_clear(&keys);
	strvec_clear(&deleted);
	strbuf_release(&why);
	return ok;
}

/*
 * A stopped transfer's partial data in the store: the multipart uploads
 * begun under its keys (all, or those at or below the part prefix),
 * aborted, so that no part of a file stopped stays billed or visible.
 */
static int
s3_clean(struct sup *s, const char *prefix)
{
	struct s3_side *x = s->s3;
	struct strbuf top = STRBUF_INIT, q = STRBUF_INIT, shown = STRBUF_INIT;
	struct s3_uploads ups;
	struct strvec left = STRVEC_INIT;
	char *key_marker = NULL, *id_marker = NULL;
	int rc = 0;
	size_t k;

	if (x == NULL || x->cl == NULL)
		return -1;
	/* A stop is what this cleans up after: its requests are not stopped by it. */
	s3_client_stop_flag(x->cl, NULL);
	if (prefix)
		s3_key(&x->target, prefix, &top);
	else
		s3_top_key(s, &top);
	for (;;) {
		struct s3_call c;
		bool more;

		strbuf_reset(&q);
		strbuf_addstr(&q, "encoding-type=url");
		if (key_marker) {
			strbuf_addstr(&q, "&key-marker=");
			s3_uri_encode(&q, key_marker, false);
		}
		strbuf_addstr(&q, "&prefix=");
		s3_uri_encode(&q, top.buf, false);
		if (id_marker) {
			strbuf_addstr(&q, "&upload-id-marker=");
			s3_uri_encode(&q, id_marker, false);
		}
		strbuf_addstr(&q, "&uploads=");
		s3_call_init(&c, "GET", NULL);
		c.query = q.buf;
		if (s3_run(x->cl, &c, 1, 1) < 0 ||
		    s3_xml_uploads(c.reply.buf, c.reply.len, &ups) < 0) {
			log_warn("cannot list the multipart uploads left: %s", s3_call_reason(&c));
			s3_call_release(&c);
			rc = -1;
			break;
		}
		s3_call_release(&c);
		for (k = 0; k < ups.nuploads; k++) {
			const char *key = ups.uploads[k].key;
			size_t tl = top.len;

			/* At or below the prefix as a path: "a/b" is not below "a/bc". */
			if (strncmp(key, top.buf, tl) != 0 || (key[tl] != '\0' && key[tl] != '/'))
				continue;
			strvec_push(&left, key);
			strvec_push(&left, ups.uploads[k].upload_id);
		}
		more = ups.truncated && ups.next_key_marker;
		free(key_marker);
		free(id_marker);
		key_marker = more ? xstrdup(ups.next_key_marker) : NULL;
		id_marker = more && ups.next_upload_id_marker ? xstrdup(ups.next_upload_id_marker) :
								NULL;
		s3_uploads_release(&ups);
		if (!more)
			break;
	}
	for (k = 0; k + 1 < left.nr; k += 2) {
		struct s3_call c;

		strbuf_reset(&q);
		strbuf_addstr(&q, "uploadId=");
		s3_uri_encode(&q, left.v[k + 1], false);
		s3_call_init(&c, "DELETE", left.v[k]);
		c.query = q.buf;
		strbuf_reset(&shown);
		escape_untrusted(&shown, left.v[k], strlen(left.v[k]));
		if (s3_run(x->cl, &c, 1, 1) < 0 && c.status != 404) {
			log_warn("cannot abort the multipart upload of '%s': %s", shown.buf,
				 s3_call_reason(&c));
			rc = -1;
		} else {
			log_info("aborted the multipart upload of '%s'", shown.buf);
		}
		s3_call_release(&c);
	}
	if (rc == 0) {
		struct strvec rows = STRVEC_INIT;

		/* Nothing of them is left: forget them. */
		if (store_leftovers_list(s->st, s->t.id, prefix, &rows) == SYNC_OK)
			for (k = 0; k < rows.nr; k++)
				store_leftover_remove(s->st, s->t.id, rows.v[k]);
		strvec_clear(&rows);
	}
	free(key_marker);
	free(id_marker);
	strvec_clear(&left);
	strbuf_release(&top);
	strbuf_release(&q);
	strbuf_release(&shown);
	return rc;
}

void
s3_side_close(struct sup *s)
{
	struct s3_side *x = s->s3;

	if (x == NULL)
		return;
	if (x->lock_fd >= 0)
		close(x->lock_fd);
	s3_client_free(x->cl);
	s3_credentials_release(&x->creds);
	s3_target_release(&x->target);
	free(x->filters_file);
	free(x->excludes_file);
	strvec_clear(&x->env);
	free(x);
	s->s3 = NULL;
}

int
s3_clean_transfer(struct store *st, const struct transfer *t,
		  const struct supervisor_config *cfg, const char *prefix)
{
	struct sup s;
	int rc;

	/* A supervisor of its own for the cleanup: what connect and clean read. */
	memset(&s, 0, sizeof s);
	s.st = st;
	s.cfg = cfg;
	s.t = *t;
	s.source_rel = path_basename(t->source);
	if (!s3_side_connect(&s)) {
		log_warn("cannot clean the object store: %s", s.failure ? s.failure : "?");
		rc = -1;
	} else {
		rc = s3_clean(&s, prefix);
	}
	s3_side_close(&s);
	free(s.failure);
	return rc;
}

const struct transport transport_s3 = {
	.name = "object store (S3)",
	.connect = s3_side_connect,
	.connected = s3_side_connected,
	.measure = s3_measure,
	.lock = s3_lock,
	.prepare = s3_prepare,
	.start_job = s3_start_job,
	.start_piece = s3_side_start_piece,
	.output = worker_output,
	.batch_end = s3_side_batch_end,
	.after_units = s3_side_after_units,
	.settle = s3_settle,
	.mirror = s3_mirror,
	.clean = s3_clean,
	.close = s3_side_close,
};
