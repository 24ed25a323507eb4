/*
 * cmd-s3-dry-run: --dry-run to an object store (s3://, cos://): what a
 * transfer to the bucket would send, update and, with --delete, delete,
 * changing nothing; lines and JSON as cmd-dry-run.c prints rsync's.
 *
 * One listing of PREFIX/NAME gives what is there and its sizes; the
 * source is walked as a transfer walks it (the filters' exclusions left
 * out, links never followed). A file with no object is sent, one whose
 * object differs in size updated; one of the same size needs its
 * object's mtime (metadata, not in a listing): a HEAD, many in flight at
 * once; with --verify, one of the same size and time is read, and updated
 * unless its MD5 is what the ETag says. An empty directory is sent as its
 * marker ("dir/") where there is none. The deletions are those the transfer's mirror would make
 * (s3-mirror.h), judged by its guards.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "filter.h"
#include "options.h"
#include "plan.h"
#include "report.h"
#include "s3-client.h"
#include "s3-credentials.h"
#include "s3-list.h"
#include "s3-mirror.h"
#include "s3-target.h"
#include "s3-upload.h"
#include "supervisor.h"

#define DRY_HEADS_AT_ONCE 16      /* HEADs in flight, as many as a transfer's uploads */
#define DRY_BATCH 256             /* entries held before their HEADs run */

#define ITEM_SEND "<f+++++++++"
#define ITEM_UPDATE "<f.st......"
#define ITEM_DIR "cd+++++++++"
#define ITEM_DELETE "*deleting  "

struct dry_object {
	char *key;
	uint64_t size;
};

/* An entry of the walk, held until its HEAD (if any) has answered, to keep the walk's order. */
struct dry_entry {
	char *rel;                 /* below the source's parent; a marker's with its '/' */
	char *key;
	const char *itemized;      /* decided, or NULL: the HEAD decides */
	struct stat sb;
};

struct s3_dry {
	const struct cmd_ctx *ctx;
	struct s3_client *cl;
	struct s3_target target;
	struct change_list *changes;     /* --json, or NULL: lines */
	bool verify;                     /* --verify: the same size and time, and content */
	const char *root;                /* the source's parent */
	struct dry_object *objects;      /* the listing, sorted by key */
	size_t nobjects, alloc;
	struct dry_entry batch[DRY_BATCH];
	size_t nbatch;
	struct strbuf shown;
	char *error;                     /* the first failure, one line */
};

static int
dry_object_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dry_object *)a)->key, ((const struct dry_object *)b)->key);
}

static int
dry_listed(const struct s3_object *o, void *ctx)
{
	struct s3_dry *d = ctx;

	if (d->nobjects == d->alloc) {
		d->alloc = d->alloc ? 2 * d->alloc : 1024;
		d->objects = xrealloc(d->objects, d->alloc * sizeof *d->objects);
	}
	d->objects[d->nobjects].key = xstrdup(o->key);
	d->objects[d->nobjects].size = o->size;
	d->nobjects++;
	return 0;
}

static const struct dry_object *
dry_find(const struct s3_dry *d, const char *key)
{
	struct dry_object probe = { (char *)key, 0 };

	return d->nobjects ? bsearch(&probe, d->objects, d->nobjects, sizeof *d->objects,
				     dry_object_cmp) : NULL;
}

static void
dry_say(struct s3_dry *d, const char *action, const char *itemized, const char *rel)
{
	if (d->changes) {
		change_list_add(d->changes, action, itemized, rel);
	} else {
		strbuf_reset(&d->shown);
		escape_untrusted(&d->shown, rel, strlen(rel));
		printf("%-6s %s %s\n", action, itemized, d->shown.buf);
	}
}

/*
 * --verify: is the file of e (the same size and time as its object) the
 * content its ETag says? Without --verify, taken as the same. A file that
 * cannot be read is said, and taken as the same (the transfer says it too).
 */
static bool
dry_same_content(struct s3_dry *d, const struct dry_entry *e, const struct s3_call *head)
{
	struct strbuf path = STRBUF_INIT;
	bool same = true;
	int fd, rc;

	if (!d->verify || head->etag.len == 0)
		return true;
	strbuf_addf(&path, "%s/%s", d->root, e->rel);
	fd = open(path.buf, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	rc = fd < 0 ? -errno : s3_file_has_etag(fd, (uint64_t)e->sb.st_size, head->etag.buf, &same);
	if (rc < 0) {
		strbuf_reset(&d->shown);
		escape_untrusted(&d->shown, e->rel, strlen(e->rel));
		cmd_error(d->ctx, "warning: cannot read '%s': %s", d->shown.buf, strerror(-rc));
		same = true;
	}
	if (fd >= 0)
		close(fd);
	strbuf_release(&path);
	return same;
}

/* Run the HEADs the batch needs, then say its entries in order. */
static int
dry_flush(struct s3_dry *d)
{
	struct s3_call calls[DRY_BATCH];
	size_t k, n = 0, at[DRY_BATCH];

	for (k = 0; k < d->nbatch; k++) {
		if (d->batch[k].itemized)
			continue;
		s3_call_init(&calls[n], "HEAD", d->batch[k].key);
		at[n++] = k;
	}
	if (n > 0)
		s3_run(d->cl, calls, n, DRY_HEADS_AT_ONCE);
	for (k = 0; k < n; k++) {
		struct dry_entry *e = &d->batch[at[k]];

		if (calls[k].status / 100 == 2)
			e->itemized = s3_head_is_file(&calls[k], &e->sb) &&
				      dry_same_content(d, e, &calls[k]) ? "" : ITEM_UPDATE;
		else if (calls[k].status == 404)
			e->itemized = ITEM_SEND;
		else if (d->error == NULL)
			d->error = xasprintf("HEAD: %s", s3_call_reason(&calls[k]));
		s3_call_release(&calls[k]);
	}
	for (k = 0; k < d->nbatch; k++) {
		struct dry_entry *e = &d->batch[k];

		if (d->error == NULL && e->itemized && *e->itemized)
			dry_say(d, strcmp(e->itemized, ITEM_UPDATE) == 0 ? "update" : "send",
				e->itemized, e->rel);
		free(e->rel);
		free(e->key);
	}
	d->nbatch = 0;
	return d->error ? SYNC_ERR_REMOTE : 0;
}

static int
dry_hold(struct s3_dry *d, const char *rel, const char *key, const char *itemized,
	 const struct stat *sb)
{
	struct dry_entry *e = &d->batch[d->nbatch++];

	e->rel = xstrdup(rel);
	e->key = xstrdup(key);
	e->itemized = itemized;
	e->sb = *sb;
	return d->nbatch == DRY_BATCH ? dry_flush(d) : 0;
}

/* Has the directory no entry at all (its marker is then what stands for it)? */
static bool
dry_dir_empty(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *de;
	bool empty = dir != NULL;

	while (dir && (de = readdir(dir)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			empty = false;
			break;
		}
	if (dir)
		closedir(dir);
	return empty;
}

static int
dry_dir(const char *relpath, void *ctx)
{
	struct s3_dry *d = ctx;
	struct strbuf path = STRBUF_INIT, key = STRBUF_INIT, rel = STRBUF_INIT;
	struct stat sb;
	int rc = 0;

	strbuf_addf(&path, "%s/%s", d->root, relpath);
	if (dry_dir_empty(path.buf) && lstat(path.buf, &sb) == 0) {
		s3_key(&d->target, relpath, &key);
		strbuf_addch(&key, '/');
		strbuf_addf(&rel, "%s/", relpath);
		if (dry_find(d, key.buf) == NULL)
			rc = dry_hold(d, rel.buf, key.buf, ITEM_DIR, &sb);
	}
	strbuf_release(&path);
	strbuf_release(&key);
	strbuf_release(&rel);
	return rc;
}

static int
dry_unit(enum unit_kind kind, const char *relpath, const struct unit_size *size, void *ctx)
{
	struct s3_dry *d = ctx;
	struct strbuf path = STRBUF_INIT, key = STRBUF_INIT;
	const struct dry_object *o;
	struct stat sb;
	int rc = 0;

	(void)kind;
	(void)size;
	strbuf_addf(&path, "%s/%s", d->root, relpath);
	/* A link to a file goes up as its data; other links and special files do not. */
	if (stat(path.buf, &sb) == 0 && S_ISREG(sb.st_mode)) {
		s3_key(&d->target, relpath, &key);
		o = dry_find(d, key.buf);
		rc = dry_hold(d, relpath, key.buf,
			      o == NULL ? ITEM_SEND :
			      o->size != (uint64_t)sb.st_size ? ITEM_UPDATE : NULL, &sb);
	}
	strbuf_release(&path);
	strbuf_release(&key);
	return rc;
}

static int
dry_walk_error(const char *relpath, int errnum, void *ctx)
{
	struct s3_dry *d = ctx;
	struct strbuf shown = STRBUF_INIT;

	/* As the transfer would: said, and the rest goes on. */
	escape_untrusted(&shown, relpath, strlen(relpath));
	cmd_error(d->ctx, "warning: cannot read '%s': %s", shown.buf, strerror(errnum));
	strbuf_release(&shown);
	return 0;
}

/* Say the deletions a mirror would make; how many. */
static unsigned long long
dry_deletions(struct s3_dry *d, const struct transfer_request *req, const struct filter *f)
{
	struct s3_mirror_scope scope = { &d->target, d->root, path_basename(req->source), f,
					 NULL };
	struct strbuf rel = STRBUF_INIT;
	unsigned long long n = 0;
	size_t k;
	bool marker;

	for (k = 0; k < d->nobjects; k++) {
		strbuf_reset(&rel);
		if (!s3_mirror_rel(&scope, d->objects[k].key, &rel, &marker) ||
		    s3_mirror_keeps(&scope, rel.buf, marker))
			continue;
		if (marker)
			strbuf_addch(&rel, '/');
		dry_say(d, "delete", ITEM_DELETE, rel.buf);
		n++;
	}
	strbuf_release(&rel);
	return n;
}

int
cmd_s3_dry_run(const struct cmd_ctx *ctx, const struct transfer_request *req,
	       const struct supervisor_config *cfg)
{
	struct plan_callbacks cb = { dry_dir, dry_unit, dry_walk_error, NULL, NULL };
	struct s3_dry d;
	struct s3_credentials creds;
	struct filter f;
	struct strbuf top = STRBUF_INIT, why = STRBUF_INIT;
	struct stat sb;
	char *root = path_dirname(req->source);
	int code = EXIT_OK, rc;

	memset(&d, 0, sizeof d);
	memset(&creds, 0, sizeof creds);
	filter_init(&f);
	d.ctx = ctx;
	d.root = root;
	d.changes = req->json ? change_list_new() : NULL;
	d.verify = req->verify;
	cb.ctx = &d;
	if (req->filters.len && filter_deserialize(&f, req->filters.buf, req->filters.len) < 0) {
		cmd_error(ctx, "the filters cannot be read");
		code = EXIT_FAILED;
		goto out;
	}
	if ((code = cmd_s3_client(ctx, req, cfg, &d.target, &creds, &d.cl)) != EXIT_OK)
		goto out;
	/* What is there now: the source's key as a path, and below it. */
	s3_key(&d.target, path_basename(req->source), &top);
	if (s3_list_prefix(d.cl, top.buf, dry_listed, &d, &why) < 0) {
		cmd_error(ctx, "cannot list the bucket: %s", why.buf);
		code = EXIT_FAILED;
		goto out;
	}
	if (d.nobjects > 1)
		qsort(d.objects, d.nobjects, sizeof *d.objects, dry_object_cmp);
	rc = plan_walk(req->source, INT_MAX, &f, &cb);
	if (rc == 0)
		rc = dry_flush(&d);
	if (rc < 0) {
		if (d.error)
			cmd_error(ctx, "the dry run failed: %s", d.error);
		else
			cmd_error(ctx, "cannot read '%s': %s", req->source, strerror(errno));
		code = EXIT_FAILED;
		goto out;
	}
	/* A source that is a file deletes nothing beside it. */
	if (req->mirror && lstat(req->source, &sb) == 0 && S_ISDIR(sb.st_mode))
		cmd_dry_run_guards(d.changes, req, cfg, dry_deletions(&d, req, &f));
	if (d.changes && change_list_write(d.changes, stdout) < 0)
		code = EXIT_FAILED;
	if (fflush(stdout) != 0)
		code = EXIT_FAILED;
out:
	while (d.nobjects > 0)
		free(d.objects[--d.nobjects].key);
	free(d.objects);
	if (d.cl)
		s3_client_free(d.cl);
	if (d.target.bucket)
		s3_target_release(&d.target);
	s3_credentials_release(&creds);
	change_list_free(d.changes);
	filter_release(&f);
	strbuf_release(&d.shown);
	strbuf_release(&top);
	strbuf_release(&why);
	free(d.error);
	free(root);
	return code;
}
