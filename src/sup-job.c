/* sup-job: how a job (an rsync of a batch, a directory pass, a dry run) is built and started. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compress.h"
#include "log.h"
#include "rsync.h"
#include "sup-internal.h"
#include "util.h"

/* A batch of this many bytes (see job_own_connection_pays), */
#define OWN_CONNECTION_BYTES (32ULL << 20)
#define OWN_CONNECTION_FILE (1ULL << 20)   /* ... of files this big on average */
/*
 * Up to this many files, an rsync gets its whole file list first (about
 * 100 bytes a file on each side): incremental recursion costs round trips.
 */
#define WHOLE_LIST_FILES_MAX 100000

/* Is w's batch big files enough to pay for a connection of its own? */
static bool
job_own_connection_pays(struct sup *s, const struct worker *w)
{
	uint64_t bytes = 0, files = 0;
	size_t k;

	for (k = 0; k < w->nunits; k++) {
		bytes += w->units[k].unit.size.bytes;
		files += w->units[k].unit.size.files;
	}
	if (bytes < OWN_CONNECTION_BYTES || files == 0 || bytes / files < OWN_CONNECTION_FILE)
		return false;
	return !(w->nunits == 1 && w->units[0].unit.kind == UNIT_FILE &&
		 remote_up_to_date(s, &w->units[0].unit));
}

/*
 * Write the paths of w's batch, NUL-terminated, to its list file. A file
 * rather than rsync's stdin: a long list written to a pipe could block us
 * while rsync, waiting for us to read its output, blocks too.
 */
int
job_write_list(struct worker *w)
{
	FILE *f;
	size_t i;
	int fd, rc = SYNC_OK;

	fd = open(w->list_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		return SYNC_ERR_SYSTEM;
	}
	for (i = 0; i < w->nunits; i++) {
		const char *path = w->units[i].unit.path;

		if (fwrite(path, 1, strlen(path) + 1, f) != strlen(path) + 1)
			rc = SYNC_ERR_SYSTEM;
	}
	if (fclose(f) != 0)
		rc = SYNC_ERR_SYSTEM;
	return rc;
}

/*
 * Write an rsync's rules to file: the parts stopped on request (paths,
 * rsync_exclude_rules), then the transfer's filters, in rsync's terms.
 */
int
write_job_rules(struct sup *s, const char *file, const char *const *paths)
{
	struct strbuf rules = STRBUF_INIT;
	int fd, rc = SYNC_OK, saved;

	if (paths)
		rsync_exclude_rules(paths, &rules);
	filter_rsync_rules(&s->filter, s->source_rel, &rules);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write_all(fd, rules.buf, rules.len) < 0)
		rc = SYNC_ERR_SYSTEM;
	saved = errno;
	if (fd >= 0 && close(fd) < 0 && rc == SYNC_OK) {
		rc = SYNC_ERR_SYSTEM;
		saved = errno;
	}
	strbuf_release(&rules);
	errno = saved;
	return rc;
}

/*
 * Compress w's batch on the wire? Never where the link is near (the CPU is
 * the limit there, and compressing only adds to it); elsewhere when a
 * sample of its data compresses well. rsync compresses a whole run or
 * nothing, so files whose names say they are compressed travel in batches
 * of their own (see next_batch).
 */
static bool
job_compresses(struct sup *s, const struct worker *w)
{
	const char *paths[8];
	size_t k, n = 0;
	bool yes;

	if (s->cfg->compress != COMPRESS_AUTO)
		return s->cfg->compress == COMPRESS_ALWAYS;
	if (s->near)
		return false;
	/* Spread the sample over the batch, from its first unit to its last. */
	for (k = 0; k < 8 && k < w->nunits; k++)
		paths[n++] = w->units[w->nunits <= 8 ? k : k * (w->nunits - 1) / 7].unit.path;
	yes = compress_worth(s->source_root, paths, n);
	if (yes != s->compressing) {
		struct strbuf esc = STRBUF_INIT;

		escape_untrusted(&esc, paths[0], strlen(paths[0]));
		log_info("%s from '%s' on: %s", yes ? "compressing" : "not compressing", esc.buf,
			 yes ? "a sample of its data compresses" :
			       "a sample of its data does not compress");
		strbuf_release(&esc);
		s->compressing = yes;
	}
	return yes;
}

/* The files of w's batch, by the walk's count. */
static uint64_t
job_files_total(const struct worker *w)
{
	uint64_t n = 0;
	size_t k;

	for (k = 0; k < w->nunits; k++)
		n += unit_files(&w->units[k].unit);
	return n;
}

/* Is every unit of w's batch, and so every file in it, under PARTIAL_MIN_BYTES? */
static bool
job_files_small(const struct worker *w)
{
	size_t k;

	for (k = 0; k < w->nunits; k++)
		if (w->units[k].unit.size.bytes >= PARTIAL_MIN_BYTES)
			return false;
	return true;
}

/*
 * Does w's batch need rsync's partial directory? It keeps what arrived of
 * a file cut off mid-way, for the next attempt to go on from (or the
 * pieces of a file, as the basis of the rsync after them), and costs
 * rsync a look for it before each file: 20,000 small files up to date
 * took 0.15 s over loopback with it, 0.09 s without. Without it an
 * interrupted file is removed by its rsync, or is a temporary file that
 * the cleanup knows. Only a big file is worth going on from; a small one
 * is sent again. Partial data from before is used where there is some.
 */
static bool
job_keeps_partial(const struct sup *s, const struct worker *w)
{
	return s->leftovers || !job_files_small(w);
}

/*
 * Start rsync for a job on a free worker (its pool slot, w->job, is
 * free); a unit job's batch is in w->units.
 */
void
job_preserve(const struct sup *s, struct rsync_job *job)
{
	job->preserve = s->cfg->preserve;
	job->user_chmod = *s->cfg->chmod_rule ? s->cfg->chmod_rule : NULL;
	job->chown = *s->cfg->chown_spec ? s->cfg->chown_spec : NULL;
}

bool
attrs_need_rsync(const struct sup *s)
{
	return (s->cfg->preserve & (RSYNC_ACLS | RSYNC_XATTRS | RSYNC_NUMERIC_IDS)) ||
	       *s->cfg->chmod_rule || *s->cfg->chown_spec;
}

int
start_worker(struct sup *s, struct worker *w, enum job_kind kind)
{
	struct rsync_job job;
	struct spawn sp;
	struct strvec argv = STRVEC_INIT, excludes = STRVEC_INIT;
	struct strbuf then = STRBUF_INIT, before = STRBUF_INIT, shaped = STRBUF_INIT;
	const char *env[] = { "LC_ALL=C", NULL };
	char *exclude_file = NULL;
	/* A mirror's check: the source whole, and what the mirror will delete. */
	bool whole_check = kind == JOB_CHECK && s->check_whole;
	size_t i, k;
	int rc;

	if ((kind == JOB_UNIT || kind == JOB_CHECK) && !whole_check && job_write_list(w) < 0) {
		set_failure(s, "cannot write '%s': %s", w->list_file, strerror(errno));
		return SYNC_ERR_SYSTEM;
	}
	/* Parts of these trees stopped on request stay behind. */
	for (k = 0; (kind == JOB_UNIT || kind == JOB_CHECK) && k < w->nunits; k++) {
		if (w->units[k].unit.kind != UNIT_TREE)
			continue;
		for (i = 0; i < s->excludes.nr; i++)
			if (path_is_within(s->excludes.v[i], w->units[k].unit.path))
				strvec_push(&excludes, s->excludes.v[i]);
	}
	if (whole_check) {
		/* Every part stopped, whenever: the mirror's rules. */
		exclude_file = xasprintf("%s/exclude-%d", s->tmpdir, (int)(w - s->workers));
		if (mirror_write_rules(s, exclude_file) < 0) {
			set_failure(s, "cannot write '%s': %s", exclude_file, strerror(errno));
			strvec_clear(&excludes);
			free(exclude_file);
			return SYNC_ERR_SYSTEM;
		}
	} else if ((kind == JOB_UNIT || kind == JOB_CHECK) &&
		   (excludes.nr || !filter_empty(&s->filter))) {
		/* In a file: rsync's command line is any local user's to read. */
		exclude_file = xasprintf("%s/exclude-%d", s->tmpdir, (int)(w - s->workers));
		if (write_job_rules(s, exclude_file, (const char *const *)excludes.v) < 0) {
			set_failure(s, "cannot write '%s': %s", exclude_file, strerror(errno));
			strvec_clear(&excludes);
			free(exclude_file);
			return SYNC_ERR_SYSTEM;
		}
	}
	memset(&job, 0, sizeof job);
	job_preserve(s, &job);
	job.exclude_from = exclude_file;
	job.rsync_path = s->cfg->rsync_path;
	job.rsh = s->rsh.buf;
	/*
	 * Through the shared connection every byte takes two more hops (the
	 * mux client, the master), and one master process encrypts for every
	 * worker: where the CPU is the limit (a near link) and several
	 * workers run at once, a batch of big files is worth a handshake of
	 * its own, which spreads the encryption over the cores (unless the far
	 * side has its one file already). With one worker at a time the hops
	 * cost less than the handshake: 64 MiB over loopback took 0.56-0.61 s
	 * through the master against 0.71-0.85 s over a connection of its own.
	 */
	if (kind == JOB_UNIT && s->near && s->active_workers > 1 && job_own_connection_pays(s, w))
		job.rsh = s->rsh_own.buf;
	if (kind == JOB_UNIT)
		job.compress = job_compresses(s, w);
	/*
	 * A watch's cycle sends only what changed: changed within the second
	 * at the same size, rsync's quick check would take it as the same.
	 */
	job.ignore_times = kind == JOB_UNIT && s->cfg->partial;
	/* --verify: the check and the units compare by content. */
	job.checksum = (kind == JOB_UNIT || kind == JOB_CHECK) && s->cfg->verify &&
		       !job.ignore_times;
	for (k = 0; kind == JOB_UNIT && k < w->nunits && !job.ignore_times; k++)
		for (i = 0; i < s->recheck.nr && !job.ignore_times; i++)
			job.ignore_times = strcmp(s->recheck.v[i], w->units[k].unit.path) == 0;
	job.host = s->t.address;
	job.source_root = s->source_root;
	job.remote_dir = s->t.destination;
	job.partial_dir = kind == JOB_CHECK || (kind == JOB_UNIT && !job_keeps_partial(s, w)) ?
			  NULL : PARTIAL_DIR;

	/* Where the transfer's bucket is out of reach (a node, a relaying host): a share. */
	job.bwlimit_kib = rate_share_kib(s);
	job.io_timeout = s->cfg->io_timeout;
	/*
	 * Something runs after the directories had their attributes: they
	 * need them again. The last rsync gives them theirs as it ends.
	 */
	w->settles = false;
	w->settles_itself = false;
	w->then_status = -1;
	w->carries_mkdir = w->mkdir_unlisted = false;
	w->mkdir_said = MKDIR_UNSAID;
	w->mkdir_created = false;
	if (kind == JOB_UNIT) {
		s->dirs_settled = false;
		if (s->have_dirs && nothing_else_left(s, w)) {
			/*
			 * rsync itself, in-process, when the directories are all
			 * parents of what it sends, or it sends the source whole:
			 * the closing command starts a few processes on the far
			 * side per directory.
			 */
			bool whole = batch_names_source(s, w);

			if (whole || batch_implies_dirs(s, w)) {
				w->settles = w->settles_itself = job.implied_dirs = true;
				/* All of the source: named, not listed. */
				if (whole)
					job.source_name = s->source_rel;
			} else if (settle_dirs_command(s, &then))
				w->settles = true;
		}
		job.then_command = w->settles && !w->settles_itself ? then.buf : NULL;
	}
	if (kind == JOB_UNIT && s->mkdir_in_unit && !s->mkdir_known) {
		/* Named whole, the source's directories are its rsync's to make (run_loop). */
		bool listed = mkdirs_are_source(s);

		mkdir_before(s, listed, &before);
		job.before_command = before.buf;
		w->carries_mkdir = true;
		w->mkdir_unlisted = !listed;
	}
	if (whole_check) {
		/*
		 * The source named whole, with --delete: its dry run names what
		 * differs and, as the mirror's own dry run would, what the far
		 * side has and the source lacks (the partial directories are
		 * the cleanup's, never a deletion).
		 */
		job.source_name = s->source_rel;
		job.recursive = true;
		job.dry_run = true;
		job.delete = true;
		job.protect = PARTIAL_DIR "/";
		job.whole_list = s->source_entries <= WHOLE_LIST_FILES_MAX;
	} else if (kind == JOB_UNIT || kind == JOB_CHECK) {
		/* Listed files are sent as they are; listed directories whole. */
		job.files_from = w->list_file;
		job.recursive = true;
		job.dry_run = kind == JOB_CHECK;
		job.whole_list = job_files_total(w) <= WHOLE_LIST_FILES_MAX;
	} else if (kind == JOB_LINKS) {
		/*
		 * The names of files named more than once, with -H: linked
		 * where they are not yet, their directories' times set again.
		 */
		job.files_from = s->links_file;
		job.implied_dirs = true;
	} else {
		/* Directories only: create them writable first, exact at the end. */
		job.files_from = s->dirs_file;
		if (kind == JOB_DIRS_CREATE)
			job.chmod = "Du+rwx";
	}
	/* Fed from another host: from there, its list without what the rules leave out. */
	if (kind == JOB_UNIT && relay_can_hop(s) && relay_batch_from_source_there(s, w)) {
		rc = relay_start_job(s, w, &job);
		strvec_clear(&excludes);
		free(exclude_file);
		strbuf_release(&then);
		strbuf_release(&before);
		return rc;
	}
	/* On a node of the transfer's Slurm job step. */
	if (kind == JOB_UNIT && nodes_task_of_slot(s, (int)(w - s->workers)) >= 0) {
		rc = nodes_start_job(s, w, &job);
		strvec_clear(&excludes);
		free(exclude_file);
		strbuf_release(&then);
		strbuf_release(&before);
		return rc;
	}
	/* Here: the bucket the transfer's rsyncs and pieces share, whatever their number. */
	job.rsh = rate_rsh(s, job.rsh, &shaped);
	if (job.rsh == shaped.buf)
		job.bwlimit_kib = 0;
	rsync_job_argv(&job, &argv);
	strvec_clear(&excludes);
	free(exclude_file);
	strbuf_release(&then);
	strbuf_release(&before);
	strbuf_release(&shaped);

	memset(&sp, 0, sizeof sp);
	sp.argv = (const char *const *)argv.v;
	sp.env_set = env;
	sp.pipe_stdout = true;
	sp.pipe_stderr = true;
	sp.new_pgroup = true;
	sp.die_with_parent = true;
	rc = spawn_start(&sp);
	strvec_clear(&argv);
	if (rc < 0) {
		set_failure(s, "cannot run '%s': %s", s->cfg->rsync_path, strerror(errno));
		return rc;
	}
	worker_job_started(s, w, kind, &sp);
	w->deletions = whole_check ? &s->check_deletions : NULL;
	return SYNC_OK;
}

void
worker_job_started(struct sup *s, struct worker *w, enum job_kind kind, const struct spawn *sp)
{
	/* The pool reads and reaps it from here on. */
	w->job->pid[0] = sp->pid;
	w->job->fd[WORKER_OUT] = sp->out_fd;
	w->job->fd[WORKER_ERR] = sp->err_fd;
	w->kind = kind;
	/* Where the files' times are noted while they are read: only a local source's. */
	w->source_root = s->transport->walk ? NULL : s->source_root;
	w->sent_unsure = &s->sent_unsure;
	w->deletions = NULL;
	strvec_clear(&w->attr_dirs);
	w->outside_differs = w->outside_created = false;
	strvec_clear(&w->sent_tail);
	w->far_failed = false;
	w->relayed = false;
	w->current_st_ok = false;
	strvec_clear(&w->changed_files);
	w->cur_unit = w->shown_unit = 0;
	w->file_bytes = w->bytes_done = w->files_done = w->sent = 0;
	w->created = w->updated = 0;
	w->file_percent = 0;
	w->rate = 0;
	w->eta = -1;
	w->dirty = true;
	strbuf_reset(&w->current);
	strbuf_reset(&w->last_file);
	strbuf_reset(&w->err_tail);
	strbuf_reset(&w->err_line);
	worker_forget_problems(w);
}
