/*
 * sup-delete: a mirror's last step (--delete): remove from the far side's
 * DEST/NAME what the source no longer has.
 *
 * It runs once every unit has arrived, so a copy that failed never leaves
 * the far side emptier. rsync does the deleting, as `rsync --delete` would,
 * in a pass that sends nothing (--existing --ignore-existing): it only
 * goes inside DEST/NAME, removes a symbolic link rather than what it
 * points to, and leaves what the filters or the parts stopped on request
 * exclude. A dry run names what would go first: the re-sync's check, when
 * it ran over the source whole with --delete (transport-rsync.c), or a dry
 * run of the same pass here. Its count is checked against --max-delete and
 * against an empty source (an unmounted file system) before anything
 * goes, and caps the real pass, which deletes only the names it gave.
 * Each deletion is recorded in the store and named in the log.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mirror-guard.h"
#include "rsync-parse.h"
#include "rsync.h"
#include "sup-internal.h"
#include "util.h"

#define DELETE_PREFIX "//*deleting"
#define RSYNC_EXIT_VANISHED 24          /* files vanished on the sending side */
#define RSYNC_EXIT_MAX_DELETE 25        /* --max-delete reached: some left */

/* The paths a pass named as deleted (or to delete), trailing '/' for directories. */
static void
delete_parse(const struct strbuf *out, struct strvec *names)
{
	struct strbuf name = STRBUF_INIT;
	const char *p = out->buf, *end = out->buf + out->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p), at;

		/* Our prefix, "*deleting" as the itemized field, a space and the name. */
		if (len > 2 && memcmp(p, DELETE_PREFIX, strlen(DELETE_PREFIX)) == 0 &&
		    rsync_itemized_name(p + 2, len - 2, &at)) {
			strbuf_reset(&name);
			rsync_unescape(&name, p + 2 + at, len - 2 - at);
			strvec_push(names, name.buf);
		}
		p += len + 1;
	}
	strbuf_release(&name);
}

/*
 * Run the mirror's pass: a dry run (max 0) or the deletes, at most max.
 * Its names in *names; false when it could not run or failed (the reason
 * recorded), with *reached set when it stopped at max.
 */
static bool
delete_pass(struct sup *s, const char *rules, const char *gone, unsigned long long max,
	    struct strvec *names, bool *reached)
{
	/* Every name it gives: a line each, kept whole. */
	static const struct spawn_limits lim = { .stop = &got_stop_signal,
						 .die_with_parent = true, .out_max = SIZE_MAX };
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT, tail = STRBUF_INIT;
	struct strvec argv = STRVEC_INIT;
	struct rsync_job job;
	int status = -1, rc, code;
	bool ok;

	memset(&job, 0, sizeof job);
	/* The parents it settles get all the transfer keeps of them. */
	job_preserve(s, &job);
	job.rsync_path = s->cfg->rsync_path;
	job.rsh = s->rsh.buf;
	job.host = s->t.address;
	job.source_root = s->source_root;
	job.remote_dir = s->t.destination;
	job.recursive = true;
	job.whole_list = true;
	job.dry_run = max == 0;
	if (gone) {
		/*
		 * Listed paths only: those gone from the source are deleted,
		 * and within the directories listed what the source lacks;
		 * nothing is sent.
		 */
		job.files_from = gone;
		job.delete_missing = job.delete = job.existing_only = true;
		/*
		 * Their parents go too, not deleted in (implied, not listed)
		 * but given their attributes once rsync has deleted in them:
		 * a deletion changes its directory's time, which the copy had
		 * set to the source's.
		 */
		job.implied_dirs = true;
	} else {
		job.source_name = s->source_rel;
		job.delete = job.existing_only = true;
	}
	job.max_delete = max;
	job.exclude_from = rules;
	/* What a cut-off rsync left to go on from is the cleanup's, not a deletion. */
	job.protect = PARTIAL_DIR "/";
	job.io_timeout = s->cfg->io_timeout;
	rsync_job_argv(&job, &argv);
	rc = spawn_capture_limited((const char *const *)argv.v, NULL, &status, &out, &err, &lim);
	strvec_clear(&argv);
	delete_parse(&out, names);
	code = rc == SYNC_OK && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	*reached = code == RSYNC_EXIT_MAX_DELETE;
	ok = code == 0 || code == RSYNC_EXIT_VANISHED || *reached;
	if (!ok && !got_stop_signal) {
		/* rsync's last line says why; escaped, as any byte may be in it. */
		const char *last;

		last = rsync_telling_line(&err);
		escape_untrusted(&tail, last, strlen(last));
		if (rc < 0)
			set_failure(s, "cannot run '%s' to delete: %s", s->cfg->rsync_path,
				    strerror(errno));
		else
			set_failure(s, "deleting on the far side failed (rsync %s)%s%s",
				    spawn_status_text(status), tail.len ? ": " : "", tail.buf);
	}
	strbuf_release(&out);
	strbuf_release(&err);
	strbuf_release(&tail);
	return ok;
}

/* Record and log what the pass deleted (sup-internal.h). */
void
sup_record_deletions(struct sup *s, const struct strvec *names)
{
	struct deletion *d = xcalloc(names->nr ? names->nr : 1, sizeof *d);
	struct strbuf shown = STRBUF_INIT;
	struct strvec lines = STRVEC_INIT;
	int64_t now = (int64_t)time(NULL);
	size_t i;

	for (i = 0; i < names->nr; i++) {
		size_t len = strlen(names->v[i]);
		bool dir = len > 1 && names->v[i][len - 1] == '/';

		d[i].path = xstrndup(names->v[i], dir ? len - 1 : len);
		/*
		 * rsync tells no more of a deletion than whether it was a
		 * directory: the far side's rsync sends the client its name
		 * (a directory's with a NUL after it, shown with a trailing
		 * '/'), and the itemized field is "*deleting" whatever was
		 * deleted (seen with rsync 3.2 to 3.5). A symbolic link, a
		 * device or a socket is a "file" here.
		 */
		d[i].kind = (char *)(dir ? "directory" : "file");
		d[i].at = now;
		strbuf_reset(&shown);
		escape_untrusted(&shown, d[i].path, strlen(d[i].path));
		strvec_pushf(&lines, "deleted '%s' (%s): the source has no such entry", shown.buf,
			     d[i].kind);
	}
	/* Thousands of them: in a few writes. */
	log_many(LOG_INFO, (const char *const *)lines.v, lines.nr);
	if (store_deletions_add(s->st, s->t.id, d, names->nr) < 0)
		log_warn("cannot record the deletions: %s", store_errmsg(s->st));
	s->deleted += names->nr;
	for (i = 0; i < names->nr; i++)
		free(d[i].path);
	free(d);
	strvec_clear(&lines);
	strbuf_release(&shown);
}

/*
 * Every part stopped on request, whenever it was (the store's exclusions,
 * in any state, but the whole source): never deleted on the far side. A
 * part stopped during this run is not in s->excludes when it was a unit
 * of its own.
 */
void
sup_stopped_parts(struct sup *s, struct strvec *out)
{
	static const enum exclusion_state states[] = {
		EXCLUSION_PENDING, EXCLUSION_APPLIED, EXCLUSION_DONE, EXCLUSION_ALREADY,
		EXCLUSION_UNCLEAN,
	};
	struct exclusion *xs;
	size_t i, k, n;

	for (i = 0; i < s->excludes.nr; i++)
		strvec_push(out, s->excludes.v[i]);
	for (i = 0; i < sizeof states / sizeof *states; i++) {
		if (store_exclusions_list(s->st, s->t.id, states[i], &xs, &n) < 0) {
			log_warn("cannot read the parts stopped: %s", store_errmsg(s->st));
			continue;
		}
		for (k = 0; k < n; k++) {
			if (strcmp(xs[k].path, s->source_rel) != 0)
				strvec_push(out, xs[k].path);
			exclusion_release(&xs[k]);
		}
		free(xs);
	}
}

int
mirror_write_rules(struct sup *s, const char *file)
{
	struct strvec stopped = STRVEC_INIT;
	int rc;

	sup_stopped_parts(s, &stopped);
	rc = write_job_rules(s, file, (const char *const *)stopped.v);
	strvec_clear(&stopped);
	return rc;
}

bool
names_below(const struct strvec *sorted, const char *dir)
{
	struct strbuf prefix = STRBUF_INIT;
	size_t at;
	bool below;

	strbuf_addf(&prefix, "%s/", dir);
	sorted_find(sorted, prefix.buf, &at);
	below = at < sorted->nr && strncmp(sorted->v[at], prefix.buf, prefix.len) == 0;
	strbuf_release(&prefix);
	return below;
}

bool
mirror_settles_dirs(struct sup *s)
{
	size_t i;

	/* Only a mirror that will run, of names the check gave (sorted by check_attr_dirs). */
	if (!s->t.mirror || !s->check_named_deletions || s->cfg->partial || s->mkdirs_overflow ||
	    s->mkdirs.nr == 0 || s->walk_errors || s->units_failed ||
	    s->units_done < s->units_total)
		return false;
	for (i = 0; i < s->mkdirs.nr; i++)
		if (!names_below(&s->check_deletions, s->mkdirs.v[i]))
			return false;
	s->dirs_by_mirror = true;
	return true;
}

/*
 * The directories above the cut were left to the deletes (mirror_settles_dirs),
 * which did not run, or not below each: settled now, as rsync_settle would.
 */
static void
delete_settle_dirs(struct sup *s, const struct strvec *listed)
{
	size_t i;

	if (!s->dirs_by_mirror || got_stop_signal)
		return;
	s->dirs_by_mirror = false;
	for (i = 0; listed && i < s->mkdirs.nr; i++)
		if (!names_below(listed, s->mkdirs.v[i]))
			break;
	if (listed && i == s->mkdirs.nr)
		return;
	if (s->settle_failed || !settle_dirs(s))
		run_loop(s, JOB_DIRS_FINAL);
}

void
mirror_undefer(struct sup *s)
{
	bool in_tx;
	size_t i;

	if (s->ndeferred == 0)
		return;
	in_tx = store_begin(s->st) == SYNC_OK;
	for (i = 0; i < s->ndeferred; i++) {
		const struct deferred_unit *d = &s->deferred[i];

		if (store_unit_set_state(s->st, d->id, UNIT_PENDING, d->attempts, NULL) < 0)
			continue;
		s->units_done--;
		s->settled_bytes -= d->size.bytes;
		s->settled_files -= d->size.files;
	}
	if (in_tx && store_commit(s->st) < 0) {
		log_warn("cannot record units pending again: %s", store_errmsg(s->st));
		store_rollback(s->st);
	}
	log_info("%zu units whose directories' attributes the deletes were to set are pending "
		 "again", s->ndeferred);
	s->ndeferred = 0;
}

/*
 * Take the names the check gave (s->check_deletions) into names, but those
 * at or below a part stopped since (its rules left out only the parts
 * stopped before it ran). The directories they were to be deleted from are
 * in that part too, which stays as it is.
 */
static void
delete_take_checked(struct sup *s, struct strvec *names)
{
	struct strvec stopped = STRVEC_INIT;
	struct strbuf path = STRBUF_INIT;
	size_t i, k;

	sup_stopped_parts(s, &stopped);
	for (i = 0; i < s->check_deletions.nr; i++) {
		const char *name = s->check_deletions.v[i];
		size_t len = strlen(name);
		bool kept = true;

		strbuf_reset(&path);
		strbuf_add(&path, name, len > 1 && name[len - 1] == '/' ? len - 1 : len);
		for (k = 0; kept && k < stopped.nr; k++)
			kept = !path_is_within(path.buf, stopped.v[k]);
		if (kept)
			strvec_push(names, name);
	}
	strvec_clear(&s->check_deletions);
	s->check_named_deletions = false;
	strvec_clear(&stopped);
	strbuf_release(&path);
}

static int
delete_name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
delete_path_cmp(const void *a, const void *b)
{
	return path_tree_cmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Write paths (a trailing '/' off) to file, NUL-separated, in the order of
 * a walk, each once and none below another: rsync takes a directory with
 * what it holds, and counts each entry once.
 */
static int
delete_write_list(const struct strvec *paths, const char *file)
{
	struct strbuf list = STRBUF_INIT;
	struct strvec v = STRVEC_INIT;
	const char *kept = NULL;
	size_t i;
	int fd, rc = SYNC_OK;

	for (i = 0; i < paths->nr; i++) {
		size_t len = strlen(paths->v[i]);
		char *path;

		if (len > 1 && paths->v[i][len - 1] == '/')
			len--;
		path = xstrndup(paths->v[i], len);
		strvec_push(&v, path);
		free(path);
	}
	if (v.nr > 1)
		qsort(v.v, v.nr, sizeof *v.v, delete_path_cmp);
	for (i = 0; i < v.nr; i++) {
		if (kept && path_is_within(v.v[i], kept))
			continue;
		kept = v.v[i];
		strbuf_add(&list, v.v[i], strlen(v.v[i]) + 1);
	}
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write_all(fd, list.buf, list.len) < 0)
		rc = SYNC_ERR_SYSTEM;
	if (fd >= 0 && close(fd) < 0)
		rc = SYNC_ERR_SYSTEM;
	strbuf_release(&list);
	strvec_clear(&v);
	return rc;
}

bool
rsync_mirror(struct sup *s)
{
	struct strvec names = STRVEC_INIT, deleted = STRVEC_INIT;
	char *rules = NULL, *gone = NULL, *checked = NULL;
	enum mirror_verdict verdict;
	unsigned long long n;
	bool ok = false, reached = false, named, passed = false;

	if (!s->source_is_dir) {
		log_info("mirror: the source is a file; nothing is deleted beside it");
		return true;
	}
	/*
	 * DEST/NAME was made by this run: all it holds came from the source.
	 * (What left the source after it was sent stays until the next
	 * mirror, as with rsync --delete, which looks once.)
	 */
	if (s->fresh) {
		log_info("mirror: '%s' is new on the far side; nothing there to delete",
			 s->shown_dest);
		return true;
	}
	/*
	 * A watch's cycle knows where to look: what went, and the directories
	 * it sends whole (made anew, they may have lost what they had).
	 */
	if (s->cfg->partial) {
		size_t i;

		for (i = 0; i < s->cfg->only_trees->nr; i++)
			strvec_pushf(&s->gone, "%s/%s", s->source_rel, s->cfg->only_trees->v[i]);
		if (s->gone.nr == 0)
			return true;
	}
	rules = xasprintf("%s/mirror-rules", s->tmpdir);
	if (mirror_write_rules(s, rules) < 0) {
		set_failure(s, "cannot write '%s': %s", rules, strerror(errno));
		goto out;
	}
	if (s->cfg->partial) {
		gone = xasprintf("%s/mirror-gone", s->tmpdir);
		if (delete_write_list(&s->gone, gone) < 0) {
			set_failure(s, "cannot write '%s': %s", gone, strerror(errno));
			goto out;
		}
	}
	/*
	 * What would go, before anything does: as the check named it (a
	 * walk of both sides saved), or by a dry run now.
	 */
	named = s->check_named_deletions && !s->cfg->partial;
	if (named)
		delete_take_checked(s, &names);
	else if (!delete_pass(s, rules, gone, 0, &names, &reached) || got_stop_signal)
		goto out;
	n = names.nr;
	if (n == 0) {
		log_info("mirror: the far side has nothing the source lacks");
		ok = true;
		goto out;
	}
	/*
	 * The guards, before the first deletion; the emptiness of the source
	 * in a partial run too: what it names as gone may be all there was.
	 */
	verdict = mirror_guard(n, mirror_source_empty(s->t.source),
			       s->cfg->delete_all_ok, s->cfg->max_delete);
	if (verdict != MIRROR_GO) {
		struct strbuf why = STRBUF_INIT;

		mirror_stop_reason(&why, verdict, n, s->cfg->max_delete);
		set_failure(s, "%s", why.buf);
		strbuf_release(&why);
		goto out;
	}
	log_info("mirror: deleting %llu %s the source lacks%s", n, n == 1 ? "entry" : "entries",
		 named ? " (as the check named them)" : "");
	/*
	 * Only what was checked goes, and only what the source still lacks:
	 * the names the dry run gave, each deleted if it is still missing
	 * here (--delete-missing-args), whatever changed meanwhile.
	 */
	checked = xasprintf("%s/mirror-checked", s->tmpdir);
	if (delete_write_list(&names, checked) < 0) {
		set_failure(s, "cannot write '%s': %s", checked, strerror(errno));
		goto out;
	}
	ok = delete_pass(s, rules, checked, n, &deleted, &reached);
	passed = ok;
	sup_record_deletions(s, &deleted);
out:
	/* Their directories' attributes not set: not done. */
	if (!ok)
		mirror_undefer(s);
	if (s->dirs_by_mirror) {
		if (names.nr > 1)
			qsort(names.v, names.nr, sizeof *names.v, delete_name_cmp);
		delete_settle_dirs(s, passed ? &names : NULL);
	}
	if (rules)
		unlink(rules);
	if (gone)
		unlink(gone);
	if (checked)
		unlink(checked);
	free(rules);
	free(gone);
	free(checked);
	strvec_clear(&names);
	strvec_clear(&deleted);
	return ok;
}
