/* supervisor: run one recorded transfer to its end (see supervisor.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "rsync-parse.h"
#include "s3-target.h"
#include "settings.h"
#include "slurm.h"
#include "sup-internal.h"

#define IO_TIMEOUT 300            /* seconds an rsync may go without data: none healthy does */
/* The automatic prune: at most once a day, by the supervisor that ends after a day. */
#define PRUNE_DAYS 90
#define PRUNE_KEEP 1000
#define PRUNE_EVERY (24 * 3600)

/*
 * Name the program that reads pieces scow-sync where that is the same
 * file: run as a legacy name (a hard link, as make install makes them),
 * /proc/self/exe says scow-sync-start, and the readers would show in ps
 * under the portal's command.
 */
static void
sup_reader_name(char *path, size_t size)
{
	struct stat self, sib;
	char *dir = path_dirname(path), *own = xasprintf("%s/scow-sync", dir);

	if (strcmp(path_basename(path), "scow-sync") != 0 && strlen(own) < size &&
	    stat(path, &self) == 0 && stat(own, &sib) == 0 &&
	    self.st_dev == sib.st_dev && self.st_ino == sib.st_ino)
		memcpy(path, own, strlen(own) + 1);
	free(dir);
	free(own);
}

int
supervisor_config_from_settings(struct supervisor_config *cfg, const struct settings *st,
				char *err, size_t errlen)
{
	const char *s;

	(void)err;
	(void)errlen;
	memset(cfg, 0, sizeof *cfg);
	/* The settings are checked as they are read: only ranges apply here. */
	cfg->workers_set = settings_get(st, SETTING_WORKERS) != NULL;
	cfg->workers = (int)settings_number(st, SETTING_WORKERS, 4);
	cfg->max_attempts = (int)settings_number(st, SETTING_RETRIES, 3);
	cfg->bwlimit_kib = (unsigned long)settings_number(st, SETTING_BWLIMIT, 0);
	cfg->io_timeout = (unsigned)settings_number(st, SETTING_IO_TIMEOUT, IO_TIMEOUT);
	/* Unset: files of 64 MiB and more, where the link is far; set: from this size. */
	cfg->split_mib = settings_number(st, SETTING_SPLIT_MIB, 0);
	cfg->split_never = settings_get(st, SETTING_SPLIT_MIB) != NULL && cfg->split_mib == 0;
	s = settings_get(st, SETTING_COMPRESS);
	cfg->compress = s == NULL || strcmp(s, "auto") == 0 ? COMPRESS_AUTO :
			strcmp(s, "always") == 0 ? COMPRESS_ALWAYS : COMPRESS_NEVER;
	/* From 3 hosts unless set: a hop that cannot go is routed around. */
	s = settings_get(st, SETTING_RELAY);
	cfg->relay_auto = s == NULL || strcmp(s, "auto") == 0;
	cfg->relay = s != NULL && strcmp(s, "yes") == 0;
	cfg->relay_fanout = (int)settings_number(st, SETTING_RELAY_FANOUT, 2);
	cfg->nodes = (int)settings_number(st, SETTING_SLURM_NODES, 0);
	cfg->slurm_partition = settings_get(st, SETTING_SLURM_PARTITION);
	cfg->slurm_wait = SLURM_WAIT_DEFAULT;
	cfg->log_rotate_bytes = settings_number(st, SETTING_LOG_MAX_MIB,
						LOG_ROTATE_BYTES >> 20) << 20;
	cfg->keep_connection = (unsigned)settings_number(st, SETTING_KEEP_CONNECTION, 60);
	cfg->prune_days = (unsigned)settings_number(st, SETTING_PRUNE_DAYS, PRUNE_DAYS);
	cfg->prune_keep = settings_number(st, SETTING_PRUNE_KEEP, PRUNE_KEEP);
	cfg->max_delete = settings_get(st, SETTING_MAX_DELETE) == NULL ? -1 :
			  (long long)settings_number(st, SETTING_MAX_DELETE, 0);
	s = settings_get(st, SETTING_NOTIFY_SECRET);
	snprintf(cfg->notify_secret, sizeof cfg->notify_secret, "%s", s ? s : "");
	/* Whoever reads the configuration claims the transfer: its owner until we run. */
	if (proc_self(&cfg->owner) < 0)
		memset(&cfg->owner, 0, sizeof cfg->owner);
	/* Our own program reads the pieces of large files. */
	{
		ssize_t n = readlink("/proc/self/exe", cfg->self_path_buf,
				     sizeof cfg->self_path_buf - 1);

		if (n > 0) {
			cfg->self_path_buf[n] = '\0';
			cfg->self_path = cfg->self_path_buf;
			sup_reader_name(cfg->self_path_buf, sizeof cfg->self_path_buf);
		}
	}
	cfg->s3_endpoint = settings_get(st, SETTING_S3_ENDPOINT);
	cfg->s3_region = settings_get(st, SETTING_S3_REGION);
	s = settings_get(st, SETTING_S3_ADDRESSING);
	cfg->s3_style = s == NULL || strcmp(s, "auto") == 0 ? S3_STYLE_AUTO :
			strcmp(s, "path") == 0 ? S3_STYLE_PATH : S3_STYLE_VIRTUAL;
	cfg->s3_multipart_mib = settings_number(st, SETTING_S3_MULTIPART_MIB, 16);
	/* Read before a detached supervisor takes 077 for its own files. */
	cfg->user_umask = umask(022);
	umask(cfg->user_umask);
	s = getenv("SCOW_SYNC_RSYNC");
	cfg->rsync_path = s && *s ? s : "rsync";
	s = getenv("SCOW_SYNC_SSH");
	cfg->ssh_path = s && *s ? s : "ssh";
	s = getenv("SCOW_SYNC_SSH_CONFIG");
	cfg->ssh_config = s && *s ? s : NULL;
	return 0;
}

/*
 * Run a remote command through the shared connection and capture it, as
 * spawn_capture_limited does (input, when not NULL, on its stdin), but
 * never for ever: a far side that does not answer
 * (a hung file system under mkdir or stat, while the link itself is
 * alive) is given REMOTE_TIMEOUT_MS, a stop signal ends it at once, and
 * it does not outlive us. The far side's command may go on, holding a
 * session of the connection: a kept one is not left for the next
 * transfer then (stop_master).
 */
int
remote_capture(struct sup *s, const char *const *argv, const struct strbuf *input, int *status,
	       struct strbuf *out, struct strbuf *err)
{
	static const struct spawn_limits lim = {
		.timeout_ms = REMOTE_TIMEOUT_MS, .stop = &got_stop_signal, .die_with_parent = true,
	};
	int rc = spawn_capture_limited(argv, input, status, out, err, &lim);

	/*
	 * Ended at its deadline or by a stop before it answered: the far side
	 * may still hold the session (a stop cannot tell a hung file system
	 * from a slow one, and a connection made afresh costs one handshake).
	 */
	if (rc == SYNC_ERR_TIMEOUT)
		s->master_stuck = true;
	return rc;
}

/*
 * rsync has read the whole of its current file, sent bytes of it. rsync
 * sends the size the file had when it opened it and never looks again: a
 * file written to meanwhile arrives under its final name as a mix of old
 * and new data, or cut short, and checks as good. It changed if its
 * status changed since rsync named it, or its size is not what was sent;
 * its unit is then sent again (see finish_batch). No clocks compared, so
 * a file server's clock ahead of ours is no change.
 */
/*
 * Did terminate ask to stop the whole transfer for good (rather than a
 * signal from elsewhere, after which the partial data is kept for a
 * resume)?
 */
static bool
sup_stop_requested(struct sup *s)
{
	bool stop = false;

	if (store_transfer_stop_requested(s->st, s->t.id, &stop) < 0)
		log_warn("cannot read the stop request: %s", store_errmsg(s->st));
	return stop;
}

/* Return s escaped for a message; caller frees. */
static char *
sup_escaped(const char *s)
{
	struct strbuf sb = STRBUF_INIT;

	escape_untrusted(&sb, s, strlen(s));
	return strbuf_detach(&sb, NULL);
}

void
supervisor_remove_stale(struct store *st, int64_t transfer_id)
{
	char *dir = NULL, *prefix;

	if (store_transfer_workdir(st, transfer_id, &dir) < 0 || dir == NULL)
		return;
	/*
	 * Only a directory named as this transfer's are (sup_make_tmpdir),
	 * and ours (private_dir_remove). One that cannot go stays on record,
	 * for the next run to try again, and the log says why.
	 */
	prefix = xasprintf("scow-sync-%lld-", (long long)transfer_id);
	if (strncmp(path_basename(dir), prefix, strlen(prefix)) != 0) {
		log_warn("not removing '%s', recorded as the private directory of an earlier run: "
			 "not named as one", dir);
	} else if (private_dir_remove(dir, NULL) == 0) {
		log_info("removed the private directory of an earlier run: %s", dir);
	} else if (errno != ENOENT) {
		log_warn("cannot remove the private directory of an earlier run, '%s': %s", dir,
			 strerror(errno));
		goto out;
	}
	store_transfer_set_workdir(st, transfer_id, NULL);
out:
	free(prefix);
	free(dir);
}

/* Make a private directory for the control socket and the directory list. */
static int
sup_make_tmpdir(struct sup *s)
{
	const char *base = ssh_tmp_base();
	char *tmpl;
	int i;

	/* What a killed supervisor of this transfer left is ours now. */
	supervisor_remove_stale(s->st, s->t.id);
	tmpl = xasprintf("%s/scow-sync-%lld-XXXXXX", base, (long long)s->t.id);
	if (mkdtemp(tmpl) == NULL) {
		set_failure(s, "cannot create a private directory in '%s': %s", base,
			    strerror(errno));
		free(tmpl);
		return SYNC_ERR_SYSTEM;
	}
	s->tmpdir = tmpl;
	if (store_transfer_set_workdir(s->st, s->t.id, tmpl) < 0)
		log_warn("cannot record the private directory: %s", store_errmsg(s->st));
	s->control_path = xasprintf("%s/cm", tmpl);
	s->dirs_file = xasprintf("%s/dirs", tmpl);
	rate_setup(s);
	/* ssh's command lines name a link to the key, not the key (rsync.h). */
	s->key_link = xasprintf("%s/key", tmpl);
	if (*s->t.key_path == '\0')
		;   /* none: ssh's own identities */
	else if (key_link_make(s->t.key_path, s->key_link) == 0)
		s->target.key_given = s->key_link;
	else
		log_info("cannot link the key in the private directory: %s", strerror(errno));
	for (i = 0; i < s->nworkers; i++)
		s->workers[i].list_file = xasprintf("%s/list-%d", tmpl, i);
	return SYNC_OK;
}

/* The private directory, with whatever any part of the transfer wrote there. */
static void
sup_remove_tmpdir(struct sup *s)
{
	if (s->tmpdir == NULL)
		return;
	if (private_dir_remove(s->tmpdir, NULL) == 0)
		store_transfer_set_workdir(s->st, s->t.id, NULL);
	else
		log_warn("cannot remove the private directory '%s': %s", s->tmpdir,
			 strerror(errno));
}

static void
sup_release(struct sup *s)
{
	size_t k;
	int i;

	relay_release(s);
	for (i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->workers[i];

		for (k = 0; k < w->nunits; k++)
			unit_release(&w->units[k].unit);
		free(w->units);
		free(w->list_file);
		strbuf_release(&w->feeder_line);
		strvec_clear(&w->recent_dirs);
		rsync_parser_release(&w->parser);
		strbuf_release(&w->err_tail);
		strbuf_release(&w->err_line);
		strbuf_release(&w->current);
		strbuf_release(&w->last_file);
		worker_forget_problems(w);
		free(w->problems);
		strvec_clear(&w->changed_files);
		strvec_clear(&w->sent_tail);
		strvec_clear(&w->attr_dirs);
	}
	free(s->workers);
	pool_release(&s->pool);
	for (k = 0; k < s->nproblems; k++)
		problem_release(&s->problems[k]);
	free(s->problems);
	for (k = 0; k < s->nretries; k++)
		unit_release(&s->retries[k].unit);
	free(s->retries);
	for (k = s->batch_pos; k < s->batch_n; k++)
		unit_release(&s->batch[k]);
	if (s->have_held)
		unit_release(&s->held.unit);
	for (k = 0; k < s->napart; k++)
		unit_release(&s->apart[k]);
	free(s->apart);
	if (s->split.active)
		unit_release(&s->split.unit);
	free(s->split.sums);
	transfer_release(&s->t);
	free(s->shown_source);
	free(s->shown_dest);
	free(s->shown_address);
	free(s->source_root);
	ssh_master_release(&s->master);
	free(s->tmpdir);
	free(s->control_path);
	free(s->dirs_file);
	free(s->links_file);
	rate_release(s);
	free(s->key_link);
	free((char *)s->target.known_hosts);
	strbuf_release(&s->rsh);
	strbuf_release(&s->rsh_own);
	strbuf_release(&s->pieces_suffix);
	strvec_clear(&s->excludes);
	strvec_clear(&s->gone);
	link_groups_release(&s->links);
	strvec_clear(&s->check_deletions);
	free(s->deferred);
	filter_release(&s->filter);
	strvec_clear(&s->mkdirs);
	strvec_clear(&s->recheck);
	strvec_clear(&s->sent_unsure);
	free(s->walk_error_first);
	free(s->failure);
}

/*
 * Forget the transfers that ended more than prune_days ago, but the newest
 * prune_keep (and what store_prune always keeps), once a day: the history
 * and the database would grow without bound, and the portal never prunes.
 * The store's maintenance, not the transfer's: logged without its id.
 */
static void
sup_prune_history(struct store *st, const struct supervisor_config *cfg)
{
	int64_t now = (int64_t)time(NULL);
	uint64_t n = 0;
	bool due = false;

	if (cfg->prune_days == 0)
		return;
	log_set_transfer(0);
	if (store_prune_due(st, now, PRUNE_EVERY, &due) < 0 ||
	    (due && store_prune(st, now - (int64_t)cfg->prune_days * 86400, cfg->prune_keep,
				&n) < 0)) {
		log_warn("cannot prune the history: %s", store_errmsg(st));
		return;
	}
	if (n > 0)
		log_info("pruned %llu transfers that ended more than %u days ago (prune_days)",
			 (unsigned long long)n, cfg->prune_days);
}

/*
 * 1. Claim the transfer: mark it running under this process (never two
 * supervisors), read what its earlier runs left (totals, parts stopped,
 * partial data), and set up the workers. Below 0: nothing to finish (the
 * store says why, or another supervisor has it).
 */
static int
sup_claim(struct sup *s, struct store *st, const struct supervisor_config *cfg,
	  enum transfer_state *final)
{
	struct proc_id self;
	bool stop = false;
	int rc, i;

	memset(s, 0, sizeof *s);
	strbuf_init(&s->pieces_suffix, 0);
	s->st = st;
	s->cfg = cfg;
	s->transport = &transport_rsync;
	s->master = (struct ssh_master)SSH_MASTER_INIT;
	s->lock = (struct far_lock)FAR_LOCK_INIT;
	s->lock.stop = &got_stop_signal;
	*final = TRANSFER_FAILED;
	/* A watch's stop that came between its cycles ends the next one at once. */
	if (!cfg->watch_cycle)
		got_stop_signal = 0;
	if ((rc = store_transfer_get(st, cfg->transfer_id, &s->t)) < 0)
		return rc;
	/* An object store (s3://, cos://) is known by its destination, or its source. */
	if (s3_is_url(s->t.destination))
		s->transport = &transport_s3;
	else if (s3_is_url(s->t.source))
		s->transport = &transport_s3_get;
	log_set_transfer(s->t.id);
	/* Before terminate can see us: its signal must find our handlers. */
	if ((rc = install_signals()) < 0) {
		transfer_release(&s->t);
		return rc;
	}
	if ((rc = proc_self(&self)) < 0 ||
	    (rc = store_transfer_set_running(st, s->t.id, &self, cfg->detached ? getsid(0) : 0,
					     cfg->owner.pid ? &cfg->owner : NULL)) < 0) {
		/* Never two supervisors: the one that took it over goes on alone. */
		if (rc == SYNC_ERR_EXISTS)
			log_error("transfer %lld was taken over or ended while this supervisor "
				  "started; leaving it", (long long)s->t.id);
		else
			log_error("cannot mark the transfer running: %s", store_errmsg(st));
		transfer_release(&s->t);
		if (!cfg->watch_cycle)
			restore_signals();
		return rc;
	}
	/* Terminated while it was still being started: stop at once. */
	if (store_transfer_stop_requested(st, s->t.id, &stop) == SYNC_OK && stop)
		got_stop_signal = SIGTERM;
	piece_suffix(s->t.id, &s->pieces_suffix);
	/* A resumed transfer may have partial data recorded from before. */
	{
		uint64_t left = 0;

		s->leftovers = store_leftovers_count(st, s->t.id, &left) != SYNC_OK || left > 0;
	}
	/* A resumed transfer counts on from what its earlier runs sent. */
	if (store_transfer_done_totals(st, s->t.id, &s->bytes_done, &s->files_done) < 0 ||
	    store_sent_unsure_list(st, s->t.id, &s->sent_unsure) < 0)
		log_warn("cannot read earlier totals: %s", store_errmsg(st));
	if (cfg->on_running)
		cfg->on_running(cfg->on_running_ctx);
	/* A watch's cycles tell its own notifier; a run has one of its own. */
	s->notifier = cfg->notifier;
	if (!cfg->watch_cycle) {
		s->notifier = notify_for_transfer(&s->t, cfg);
		s->own_notifier = s->notifier != NULL;
	}
	if (!cfg->watch_cycle || cfg->first_cycle)
		notify_transfer(s->notifier, st, s->t.id, "running");
	s->shown_source = sup_escaped(s->t.source);
	s->shown_dest = sup_escaped(s->t.destination);
	s->shown_address = sup_escaped(s->t.address);
	log_info("transfer of '%s' to %s@%s:%d:'%s' started (depth %d, %d workers)",
		 s->shown_source, s->t.user, s->shown_address, s->t.port, s->shown_dest,
		 s->t.max_depth, cfg->workers);

	s->source_root = path_dirname(s->t.source);
	s->source_rel = path_basename(s->t.source);
	filter_init(&s->filter);
	if (s->t.filters_len &&
	    filter_deserialize(&s->filter, s->t.filters, s->t.filters_len) < 0) {
		/* Only ours write them: a record this version cannot read. Nothing runs. */
		set_failure(s, "its recorded filters cannot be read");
	}
	{
		struct exclusion *xs;
		size_t n, k;

		/*
		 * Parts stopped on request before a resume stay stopped. (An
		 * exclusion of the source itself is how earlier versions asked
		 * to stop the whole transfer: not a part.)
		 */
		if (store_exclusions_list(st, s->t.id, EXCLUSION_APPLIED, &xs, &n) == SYNC_OK) {
			for (k = 0; k < n; k++) {
				if (strcmp(xs[k].path, s->source_rel) != 0)
					strvec_push(&s->excludes, xs[k].path);
				exclusion_release(&xs[k]);
			}
			free(xs);
		}
	}
	s->nworkers = s->active_workers = cfg->workers;
	/* Uploads wait on the store's answers more than on the link: many at once. */
	if ((s->transport == &transport_s3 || s->transport == &transport_s3_get) &&
	    !cfg->workers_set)
		s->nworkers = s->active_workers = S3_UPLOADS_DEFAULT;
	/* The nodes' slots after this node's own (--nodes). */
	nodes_init(s);
	s->workers = xcalloc((size_t)s->nworkers, sizeof *s->workers);
	for (i = 0; i < s->nworkers; i++)
		rsync_parser_init(&s->workers[i].parser);
	sup_pool_init(s);
	supervisor_ssh_target(&s->target, cfg, s->t.user, s->t.address, s->t.port, s->t.key_path);
	relay_init(s);
	progress_line_init(&s->pline, STDERR_FILENO);
	if (!cfg->progress_display)
		s->pline.tty = false;
	return SYNC_OK;
}

/*
 * 2-3. Bring the connection up while the source is walked into the store
 * (the transport asks for the destination's lock as soon as it can).
 * False: the transfer goes no further (a failure, recorded, or a stop), as
 * for every phase below.
 */
static bool
sup_connect_and_walk(struct sup *s)
{
	if (s->failure || sup_make_tmpdir(s) < 0 || !s->transport->connect(s) || got_stop_signal)
		return false;
	/* Slurm's answer comes while the source is walked. */
	nodes_ask(s);
	if (plan_transfer(s) < 0 || got_stop_signal || !s->transport->connected(s))
		return false;
	s->connected = true;
	return true;
}

/*
 * 4. Judge the link (how many workers, pieces for large files or not) and
 * make the destination.
 */
static bool
sup_measure_link(struct sup *s)
{
	return s->transport->measure(s);
}

/*
 * 5. Before anything is sent: the lock's answer, the parts stopped before,
 * and what the transport does first (rsync: the directories' pass, and on
 * a re-sync the dry run that finds what differs).
 */
static bool
sup_prepare(struct sup *s)
{
	size_t k;

	/* Its answer, before anything is written into the destination. */
	if (!s->transport->lock(s) || got_stop_signal)
		return false;
	/* Parts stopped before stay out, whatever the walk found again. */
	for (k = 0; k < s->excludes.nr; k++) {
		uint64_t n = 0;

		if (store_units_exclude(s->st, s->t.id, s->excludes.v[k], &n) < 0)
			log_warn("cannot exclude a stopped part: %s", store_errmsg(s->st));
		s->units_total -= n;
	}
	/* Parts stopped while no supervisor was running. */
	apply_exclusions(s);
	return s->transport->prepare(s) && !got_stop_signal;
}

/*
 * 6. Send every pending unit; and what the transport gave back (rsync: the
 * first rsync could not make the directories above the cut) once it is
 * ready.
 */
static bool
sup_send(struct sup *s)
{
	int rc;

	/* From what is left to send: after the check, only what differs. */
	choose_batch_size(s);
	run_loop(s, JOB_UNIT);
	rc = s->transport->after_units(s);
	if (rc < 0)
		return false;
	if (rc > 0)
		run_loop(s, JOB_UNIT);
	return true;
}

/* 7. What the destination needs at the end (rsync: the directories' attributes again). */
static void
sup_settle(struct sup *s)
{
	flush_progress(s, true);
	s->transport->settle(s);
}

/*
 * 8. A mirror: what the source lacks goes from the far side, only once
 * every unit has arrived (a failed copy never leaves it emptier).
 */
static void
sup_mirror(struct sup *s)
{
	if (!s->t.mirror || got_stop_signal || s->failure || s->walk_errors || s->units_failed ||
	    s->units_done < s->units_total)
		return;
	s->transport->mirror(s);
}

/*
 * The state a run's end leaves recorded: a watch's cycle that ended done or
 * failed leaves the watch running (its reason kept), so that there is no
 * moment in which a terminate, a prune or a second watch takes it for
 * ended.
 */
static enum transfer_state
sup_recorded_state(const struct sup *s, enum transfer_state final)
{
	if (s->cfg->watch_cycle && (final == TRANSFER_DONE || final == TRANSFER_FAILED))
		return TRANSFER_RUNNING;
	return final;
}

/*
 * The end, whatever came before: the leftovers of a transfer stopped for
 * good or done, the lock, the connection, and the final state recorded.
 */
static int
sup_finish(struct sup *s, enum transfer_state *final, double started)
{
	char *reason = NULL, deleted[40] = "", changes[64] = "";
	int rc;

	progress_line_clear(&s->pline);
	/* Nothing of the transfer runs on the nodes before the cleanup and the lock's end. */
	nodes_end(s);
	/* Stopped for good by terminate: no partial data stays on the far side. */
	if (got_stop_signal && sup_stop_requested(s)) {
		s->stopped_on_request = true;
		s->transport->clean(s, NULL);
	}
	/* Done: whatever partial data is still recorded (of stopped parts) goes. */
	if (!got_stop_signal && s->failure == NULL && s->walk_errors == 0 && s->connected) {
		uint64_t left = 0;

		if (store_leftovers_count(s->st, s->t.id, &left) == SYNC_OK && left > 0) {
			log_info("done: looking for the partial data of %llu recorded paths",
				 (unsigned long long)left);
			s->transport->clean(s, NULL);
		}
	}
	s->transport->close(s);
	sup_remove_tmpdir(s);
	*final = final_state(s, &reason);
	say_units_done(s, true);
	/* Done, nothing is sent again: what runs cut off counted need not be kept. */
	if (*final == TRANSFER_DONE && store_sent_unsure_clear(s->st, s->t.id) < 0)
		log_warn("cannot forget the files sent: %s", store_errmsg(s->st));
	if (store_transfer_add_changes(s->st, s->t.id, s->created, s->updated) < 0)
		log_warn("cannot record what was created and updated: %s", store_errmsg(s->st));
	if (store_transfer_set_totals(s->st, s->t.id, s->bytes_done, s->files_done) < 0 ||
	    store_transfer_finish(s->st, s->t.id, sup_recorded_state(s, *final), reason) < 0) {
		log_error("cannot record the end of the transfer: %s", store_errmsg(s->st));
		rc = SYNC_ERR_STORE;
	} else
		rc = SYNC_OK;
	/* A watch tells of its cycles, and of its own end (sup-watch.c). */
	if (!s->cfg->watch_cycle)
		notify_transfer(s->notifier, s->st, s->t.id, transfer_state_name(*final));
	if (s->t.mirror)
		snprintf(deleted, sizeof deleted, ", %llu deleted", (unsigned long long)s->deleted);
	if (s->created || s->updated)
		snprintf(changes, sizeof changes, " (%llu created, %llu updated)",
			 (unsigned long long)s->created, (unsigned long long)s->updated);
	log_msg(*final == TRANSFER_DONE ? LOG_INFO : LOG_ERROR,
		"transfer %s after %.1f s: %llu of %llu units, %llu files, %llu bytes%s%s%s%s",
		transfer_state_name(*final), now_monotonic() - started,
		(unsigned long long)s->units_done, (unsigned long long)s->units_total,
		(unsigned long long)s->files_done, (unsigned long long)s->bytes_done,
		changes, deleted,
		reason ? ": " : "", reason ? reason : "");
	free(reason);
	if (s->own_notifier)
		notify_end(s->notifier);
	s->notifier = NULL;
	sup_prune_history(s->st, s->cfg);
	log_set_transfer(s->t.id);
	return rc;
}

int
supervisor_run(struct store *st, const struct supervisor_config *cfg,
	       enum transfer_state *final)
{
	struct sup s;
	double started = now_monotonic();
	int rc;

	/* A watch runs in cycles, each of them a run of its own (sup-watch.c). */
	if (!cfg->watch_cycle) {
		struct transfer t;
		unsigned hosts;
		bool watch;

		if ((rc = store_transfer_get(st, cfg->transfer_id, &t)) < 0)
			return rc;
		watch = t.watch;
		hosts = t.fanout;
		transfer_release(&t);
		if (watch)
			return supervisor_watch(st, cfg, final);
		/* To several hosts: a supervisor for each (sup-fanout.c). */
		if (hosts)
			return supervisor_fanout(st, cfg, final);
		if (cfg->trust_record)
			return supervisor_run_trusting(st, cfg, final);
	}
	if ((rc = sup_claim(&s, st, cfg, final)) < 0)
		return rc;
	if (cfg->unchanged) {
		if (store_transfer_set_planned(st, s.t.id) < 0)
			log_warn("cannot record the plan: %s", store_errmsg(st));
		log_info("nothing changed since the record: the far side was not asked");
	} else if (sup_connect_and_walk(&s) && !got_stop_signal && sup_measure_link(&s) &&
	    !got_stop_signal && sup_prepare(&s) && !got_stop_signal && sup_send(&s)) {
		sup_settle(&s);
		sup_mirror(&s);
	}
	rc = sup_finish(&s, final, started);
	sup_release(&s);
	if (!cfg->watch_cycle)
		restore_signals();
	return rc;
}
