/*
 * sup-leftovers: partial data on the far side, known from the store:
 * found, removed and forgotten (by the supervisor, and by terminate for a
 * transfer whose supervisor is gone).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "s3-target.h"
#include "sup-internal.h"

#define CLEANUP_SETTLE 5.0        /* seconds for stopped receivers to save their data */
/*
 * Seconds one cleanup of the far side may take in all: a far side that
 * keeps answering without end (a listing that never ends) is left, and
 * what it holds stays recorded for a later try.
 */
#define CLEANUP_WAIT 120
/* Entries named like a temporary one marker's directory is searched for, at most. */
#define LEFTOVER_TEMPS_MAX 256

/* What leftovers_marker_entry gathers, of one directory marker. */
struct marker_scan {
	const char *dir;              /* the marker's directory, relative */
	const char *local_dir;        /* the same in the source */
	const char *prefix;           /* only files at or below it, or NULL */
	struct strvec *out;
	size_t first;                 /* out's first entry of this marker */
	unsigned temps;               /* entries named like a temporary, so far */
};

/*
 * A unit is done: the rsync that completed it used up the partial data an
 * earlier attempt, or its pieces, left of the files it sent, so the
 * records of that data go. (Otherwise the done transfer's sweep would
 * open an SFTP session, a login of its own, to find nothing: 1.8 s over a
 * far link.) Kept: directory markers, parts stopped on request, and files
 * the source no longer has; the sweep sees to those.
 */
void
forget_leftovers(struct sup *s, const struct unit *u)
{
	struct strvec paths = STRVEC_INIT;
	struct strbuf local = STRBUF_INIT;
	struct stat sb;
	size_t i, k;

	if (!s->leftovers || store_leftovers_list(s->st, s->t.id, u->path, &paths) < 0)
		return;
	for (i = 0; i < paths.nr; i++) {
		const char *p = paths.v[i];
		bool keep = !path_is_within(p, u->path) || p[strlen(p) - 1] == '/';

		/* A stopped part's data is still to go, whatever its unit did. */
		for (k = 0; !keep && k < s->excludes.nr; k++)
			keep = path_is_within(p, s->excludes.v[k]);
		/* rsync used up the partial data only of files it sent. */
		strbuf_reset(&local);
		strbuf_addf(&local, "%s/%s", s->source_root, p);
		if (!keep && (lstat(local.buf, &sb) < 0 || !S_ISREG(sb.st_mode)))
			keep = true;
		if (!keep)
			store_leftover_remove(s->st, s->t.id, p);
	}
	strbuf_release(&local);
	strvec_clear(&paths);
}

static int
leftovers_marker_entry(const char *name, const struct sftp_attrs *a, void *ctx)
{
	struct marker_scan *ms = ctx;
	struct stat sb;
	char *local, *rel;

	if (!a->have_perm || !S_ISREG(a->perm))
		return 0;
	rel = *ms->dir ? xasprintf("%s/%s", ms->dir, name) : xstrdup(name);
	local = xasprintf("%s/%s", ms->local_dir, name);
	/* Partial data of a file the source has, and that we are to stop. */
	if (lstat(local, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (ms->prefix == NULL || path_is_within(rel, ms->prefix)))
		strvec_push(ms->out, rel);
	free(local);
	free(rel);
	return 0;
}

/*
 * An entry of the marker's directory itself named like rsync's temporary
 * of a file the source has there (".NAME.XXXXXX"): a receiver ended by
 * force leaves it beside the file, not in the partial directory, and the
 * file it was writing need not be the one the sender last named (several
 * may wait in the link's buffers). The file's own rules remove it (only
 * one newer than the transfer). A name rsync cut short is not found.
 */
static int
leftovers_temp_entry(const char *name, const struct sftp_attrs *a, void *ctx)
{
	struct marker_scan *ms = ctx;
	size_t len = strlen(name), i;
	struct stat sb;
	char *base, *local, *rel;

	if (!a->have_perm || !S_ISREG(a->perm) || len < 9 || name[0] != '.' ||
	    name[len - 7] != '.')
		return 0;
	for (i = len - 6; i < len; i++)
		if (!isalnum((unsigned char)name[i]))
			return 0;
	/*
	 * A far side that names endless temporaries: enough to hand the
	 * file's own rules, which bound what they take and say why.
	 */
	if (++ms->temps > LEFTOVER_TEMPS_MAX)
		return 1;
	base = xstrndup(name + 1, len - 8);
	rel = *ms->dir ? xasprintf("%s/%s", ms->dir, base) : xstrdup(base);
	local = xasprintf("%s/%s", ms->local_dir, base);
	for (i = ms->first; i < ms->out->nr; i++)
		if (strcmp(ms->out->v[i], rel) == 0)
			break;
	if (i == ms->out->nr && lstat(local, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (ms->prefix == NULL || path_is_within(rel, ms->prefix)))
		strvec_push(ms->out, rel);
	free(base);
	free(local);
	free(rel);
	return 0;
}

/*
 * Expand a directory marker ("DIR/") into the files of DIR whose partial
 * data is on the far side: one listing of DIR's partial directory, and
 * one of DIR, not a look per file. A source with a directory of that name itself is left to
 * the per-file rules.
 */
static void
leftovers_expand_marker(struct sftp *session, const char *dest, const char *source_root,
			const char *marker, const char *prefix, struct strvec *out)
{
	char *dir = xstrndup(marker, strlen(marker) - 1);
	char *remote = *dir ? xasprintf("%s/%s/%s", dest, dir, PARTIAL_DIR) :
		       xasprintf("%s/%s", dest, PARTIAL_DIR);
	char *local = *dir ? xasprintf("%s/%s", source_root, dir) : xstrdup(source_root);
	char *local_partial = xasprintf("%s/%s", local, PARTIAL_DIR);
	struct marker_scan ms = { dir, local, prefix, out, out->nr, 0 };
	struct stat sb;

	if (lstat(local_partial, &sb) < 0)
		sftp_list(session, remote, leftovers_marker_entry, &ms);
	/* And rsync's temporaries beside the files (a receiver ended by force). */
	free(remote);
	remote = *dir ? xasprintf("%s/%s", dest, dir) : xstrdup(dest);
	sftp_list(session, remote, leftovers_temp_entry, &ms);
	free(dir);
	free(remote);
	free(local);
	free(local_partial);
}

/* CLEANUP_WAIT, or less for the tests (SCOW_SYNC_TEST_CLEANUP_WAIT). */
static int
leftovers_wait(void)
{
	return (int)env_number("SCOW_SYNC_TEST_CLEANUP_WAIT", 1, 3600, CLEANUP_WAIT);
}

/*
 * Remove the far side's partial data of the leftovers at or below prefix
 * (all when NULL) and forget them. *session is opened when first needed
 * (through the master when target has its socket); the caller closes it.
 * created_at is when the transfer was first started: a file named like
 * rsync's temporary that is older is the user's (see cleanup.h).
 */
int
clean_leftovers(struct store *st, int64_t transfer_id, int64_t created_at,
		const struct ssh_target *target, const char *dest, const char *source_root,
		struct sftp **session, const char *prefix)
{
	struct strvec files = STRVEC_INIT, rows = STRVEC_INIT, done = STRVEC_INIT;
	struct cleanup_result r;
	char err[512];
	size_t i;
	int rc;

	/* Directory markers lie above a part's prefix: take them all, filter below. */
	if ((rc = store_leftovers_list(st, transfer_id, NULL, &rows)) < 0) {
		log_warn("cannot list partial files: %s", store_errmsg(st));
		return rc;
	}
	for (i = 0; i < rows.nr; i++)
		if (prefix == NULL || rows.v[i][strlen(rows.v[i]) - 1] == '/' ||
		    path_is_within(rows.v[i], prefix) ||
		    pieces_row_within(rows.v[i], transfer_id, prefix))
			strvec_push(&done, rows.v[i]);
	strvec_clear(&rows);
	if (done.nr == 0)
		return SYNC_OK;
	if (*session == NULL &&
	    (rc = sftp_open(target, SFTP_TIMEOUT_MS, session, err, sizeof err)) < 0) {
		log_warn("cannot open an sftp session to remove %zu partial files: %s",
			 done.nr, err);
		strvec_clear(&done);
		return rc;
	}
	sftp_set_deadline(*session, leftovers_wait());
	for (i = 0; i < done.nr; i++) {
		if (done.v[i][strlen(done.v[i]) - 1] == '/')
			leftovers_expand_marker(*session, dest, source_root, done.v[i], prefix,
						&files);
		else
			strvec_push(&files, done.v[i]);
	}
	rc = cleanup_partials(*session, dest, source_root, PARTIAL_DIR,
			      (const char *const *)files.v,
			      files.nr, CLEANUP_SETTLE, created_at, &r);
	if (r.removed)
		log_info("removed %u partial files on the far side", r.removed);
	if (r.refused)
		log_warn("left %u partial files alone: a symbolic link or a non-directory "
			 "on the way", r.refused);
	if (r.failed || rc < 0)
		log_warn("could not remove partial files on the far side: %s",
			 r.first_error ? r.first_error : "the session failed");
	else
		for (i = 0; i < done.nr; i++) {
			/* A marker goes only with the last part that could need it. */
			if (prefix && done.v[i][strlen(done.v[i]) - 1] == '/')
				continue;
			store_leftover_remove(st, transfer_id, done.v[i]);
		}
	free(r.first_error);
	strvec_clear(&files);
	strvec_clear(&done);
	if (rc < 0) {
		sftp_close(*session);
		*session = NULL;
	} else
		sftp_set_deadline(*session, 0);
	return rc < 0 || r.failed ? SYNC_ERR_REMOTE : SYNC_OK;
}

/* Forget the leftovers of a transfer at or below prefix (all: NULL) without removing them. */
static void
leftovers_forget_below(struct store *st, int64_t id, const char *prefix)
{
	struct strvec left = STRVEC_INIT;
	size_t i;

	if (store_leftovers_list(st, id, prefix, &left) == SYNC_OK)
		for (i = 0; i < left.nr; i++)
			store_leftover_remove(st, id, left.v[i]);
	strvec_clear(&left);
}

/*
 * Remove the leftovers at or below prefix (all: NULL) over a connection of
 * our own, holding the far side's lock on the destination meanwhile: a
 * writer that holds it (this request started again, from another node or
 * under another spelling) may be going on from those very files, which
 * are then its own. They are forgotten here, not removed.
 */
int
clean_remote_prefix(struct store *st, const struct transfer *t,
		    const struct supervisor_config *cfg, const char *prefix)
{
	struct far_lock lock = FAR_LOCK_INIT;
	struct ssh_target target;
	struct sftp *session = NULL;
	char *root = path_dirname(t->source), msg[512];
	const char *name = path_basename(t->source);
	int rc = SYNC_OK;

	/* An object store's: its multipart uploads, aborted (transport-s3.c). */
	if (s3_is_url(t->destination)) {
		free(root);
		return s3_clean_transfer(st, t, cfg, prefix);
	}
	/* A download's: the helpers' temporary files (transport-s3-get.c). */
	if (s3_is_url(t->source)) {
		free(root);
		return s3_get_clean_transfer(st, t, prefix);
	}
	supervisor_ssh_target(&target, cfg, t->user, t->address, t->port, t->key_path);
	/* A newline cannot travel to a csh inside quotes (as take_far_lock). */
	if (!strchr(t->destination, '\n') && !strchr(name, '\n')) {
		char *tag = xasprintf("the cleanup of transfer %lld on node %s (process %ld)",
				      (long long)t->id, proc_node_self()->host, (long)getpid());

		char *mine = xasprintf("transfer %lld on node %s (", (long long)t->id,
				       proc_node_self()->host);

		/* A destination removed meanwhile is not made again for the cleanup. */
		lock.keep_absent = true;
		rc = far_lock_take(&lock, &target, t->destination, name, tag, CONNECT_TIMEOUT + 30,
				   msg, sizeof msg);
		free(tag);
		/*
		 * Held for this very transfer (its process is gone, but the far
		 * side has not let go yet) or by another cleanup: not now, the
		 * leftovers stay recorded for a later try. The same id with a
		 * live process is another store's transfer.
		 */
		if (rc == SYNC_ERR_EXISTS &&
		    ((strncmp(msg, mine, strlen(mine)) == 0 && !tag_process_alive(msg)) ||
		     strncmp(msg, "transfer ", 9) != 0)) {
			log_warn("cannot clean the far side yet: the lock on the destination is "
				 "held by %s", msg);
			rc = SYNC_ERR_REMOTE;
		}
		free(mine);
		if (rc == SYNC_ERR_EXISTS) {
			log_warn("the destination is being written by %s: the partial data of "
				 "transfer %lld there is left to it", msg, (long long)t->id);
			leftovers_forget_below(st, t->id, prefix);
			rc = SYNC_OK;
			goto out;
		}
		if (rc < 0) {
			log_warn("cannot lock the destination on the far side for the cleanup: %s",
				 msg);
			goto out;
		}
		/* Gone, and the partial data in it: nothing is left to remove. */
		if (lock.absent) {
			log_info("the destination is gone from the far side: nothing to clean");
			leftovers_forget_below(st, t->id, prefix);
			goto out;
		}
	}
	rc = clean_leftovers(st, t->id, t->created_at, &target, t->destination, root, &session,
			     prefix);
	sftp_close(session);
out:
	far_lock_release(&lock, 10);
	free((char *)target.known_hosts);
	free(root);
	return rc;
}

int
supervisor_clean_remote(struct store *st, const struct transfer *t,
			const struct supervisor_config *cfg)
{
	int rc = clean_remote_prefix(st, t, cfg, NULL);

	supervisor_remove_stale(st, t->id);
	return rc;
}
