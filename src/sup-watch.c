/*
 * sup-watch: a watch, a transfer that keeps SOURCE in sync in cycles
 * until it is stopped (supervisor_watch, supervisor.h).
 *
 * Each cycle is one run of the supervisor on the watch's own record: the
 * first compares the whole tree, later ones only the paths inotify named
 * (watcher.h), and every --interval seconds, or when the events cannot be
 * trusted (a queue overflow, the watch limit), the whole tree again.
 * Between cycles the record stays running under the watch's process, so
 * that status shows it watching, terminate finds it and a watch killed
 * with -9 is seen as interrupted (started again, it continues with a full
 * cycle). Each cycle's counts are kept (store_cycle_add) and logged.
 *
 * What a cycle would otherwise pay each time is held from one to the next
 * (struct sup_hold): the shared connection (a handshake), the far side's
 * lock (which so keeps other writers out between cycles too), the link's
 * measure, and the knowledge that the far side has the tree's directories
 * (a cycle of what changed under them makes none), so that one changed
 * file costs one rsync.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "filter.h"
#include "log.h"
#include "record.h"
#include "sup-internal.h"
#include "watcher.h"

#define WATCH_QUIET 2.0      /* seconds without an event before a cycle starts ... */
#define WATCH_LATEST 30.0    /* ... or after the first event, at the latest */
#define WATCH_RETRY 30.0     /* a failed cycle: the whole tree again after this */
#define WATCH_REWATCH 2.0    /* the source gone: inotify tried again this often */

struct watch {
	struct store *st;
	int64_t id;
	const char *source;
	struct watcher *watcher;      /* NULL: full comparisons only */
	struct filter filter;
	unsigned interval;
	double next_full;             /* monotonic seconds */
	struct strvec trees, changed; /* the next cycle's paths, relative to the source */
	bool full;                    /* the next cycle compares the whole tree */
	bool trust_record;            /* ... against the record, not the far side */
	bool is_file;                 /* SOURCE is a file: every event means the whole of it */
	bool source_lost;             /* inotify lost the source: tried again at next_rewatch */
	double next_rewatch;
};

/*
 * Say when inotify loses the source (deleted, moved away, unmounted) and
 * when it has it again; the first time back, the next cycle compares the
 * whole tree, for nothing of what happened meanwhile was seen.
 */
static void
watch_check_source(struct watch *wt)
{
	bool has = wt->watcher != NULL && watcher_has_source(wt->watcher);

	if (wt->watcher == NULL || has == !wt->source_lost)
		return;
	if (!has) {
		log_warn("inotify lost the source (deleted, moved away or unmounted): "
			 "comparing the whole tree every %u s, and watching again as soon as "
			 "it is back (looked for every %.0f s)", wt->interval, WATCH_REWATCH);
		wt->source_lost = true;
		wt->next_rewatch = now_monotonic() + WATCH_REWATCH;
		return;
	}
	log_info("the source is back: watching with inotify again, and comparing the "
		 "whole tree once");
	wt->source_lost = false;
	wt->full = true;
}

/* Open inotify on the tree, unless its file system hides other hosts' writes; say which. */
static void
watch_open(struct watch *wt)
{
	const char *fs = NULL;
	char err[512];

	if (watcher_fs_is_shared(wt->source, &fs)) {
		log_info("watching by comparing the whole tree every %u s: the source is on "
			 "%s, whose writes from other hosts inotify cannot see", wt->interval, fs);
		return;
	}
	if (watcher_open(&wt->watcher, wt->source, &wt->filter, err, sizeof err) < 0) {
		log_warn("watching by comparing the whole tree every %u s: %s", wt->interval,
			 err);
		wt->watcher = NULL;
		return;
	}
	if (watcher_status(wt->watcher))
		log_warn("inotify cannot see all of the tree, so the whole of it is compared "
			 "after each event: %s", watcher_status(wt->watcher));
	log_info("watching with inotify, and comparing the whole tree every %u s",
		 wt->interval);
}

/* Take what the events gathered into the next cycle; false when nothing is left to send. */
static bool
watch_take(struct watch *wt)
{
	struct strvec changed = STRVEC_INIT, trees = STRVEC_INIT;
	bool rescan = false, any;
	size_t i;

	watcher_take(wt->watcher, &changed, &trees, &rescan);
	any = changed.nr > 0 || trees.nr > 0;
	/* The take watches again what it can: the source may be back, or gone. */
	watch_check_source(wt);
	if (wt->source_lost)
		rescan = false;   /* said once, when it went; the cycle compares the whole */
	if (rescan || wt->source_lost || (wt->is_file && any))
		wt->full = true;
	if (rescan) {
		log_warn("the events may have missed changes (%s): comparing the whole tree",
			 watcher_status(wt->watcher) ? watcher_status(wt->watcher) :
			 "reason unknown");
	}
	strvec_clear(&wt->trees);
	strvec_clear(&wt->changed);
	for (i = 0; i < trees.nr; i++)
		strvec_push(&wt->trees, trees.v[i]);
	/* The source's own attributes ("."): its directory is in every cycle anyway. */
	for (i = 0; i < changed.nr; i++)
		if (strcmp(changed.v[i], ".") != 0)
			strvec_push(&wt->changed, changed.v[i]);
	strvec_clear(&changed);
	strvec_clear(&trees);
	return wt->full || any;
}

/*
 * Wait until the next cycle is due: events settled, the full comparison's
 * time, or a stop (false).
 */
static bool
watch_wait(struct watch *wt)
{
	for (;;) {
		double now = now_monotonic(), due = wt->next_full;
		struct pollfd pfd = { -1, POLLIN, 0 };
		int timeout;

		if (got_stop_signal)
			return false;
		if (wt->full || now >= wt->next_full) {
			wt->full = true;
			return true;
		}
		/* The source gone: looked for again, and compared whole once it is back. */
		if (wt->watcher && wt->source_lost) {
			if (now >= wt->next_rewatch) {
				watcher_retry(wt->watcher);
				wt->next_rewatch = now + WATCH_REWATCH;
				watch_check_source(wt);
				continue;
			}
			if (wt->next_rewatch < due)
				due = wt->next_rewatch;
		}
		if (wt->watcher && watcher_first_event(wt->watcher) > 0) {
			double quiet = watcher_last_event(wt->watcher) + WATCH_QUIET;
			double latest = watcher_first_event(wt->watcher) + WATCH_LATEST;
			double ready = quiet < latest ? quiet : latest;

			if (now >= ready) {
				if (watch_take(wt))
					return true;
				continue;
			}
			if (ready < due)
				due = ready;
		}
		timeout = (int)((due - now) * 1000) + 1;
		if (wt->watcher)
			pfd.fd = watcher_fd(wt->watcher);
		/* A signal ends poll early (EINTR): a stop is seen at once. */
		if (poll(&pfd, 1, timeout) > 0 && wt->watcher &&
		    watcher_read(wt->watcher) < 0) {
			log_warn("cannot read inotify's events: comparing the whole tree every "
				 "%u s from now on", wt->interval);
			watcher_close(wt->watcher);
			wt->watcher = NULL;
		}
		watch_check_source(wt);
	}
}

/* Record cycle n's counts: what the record gained between before and now. */
static void
watch_record_cycle(struct watch *wt, uint64_t n, const struct transfer *before,
		   int64_t started_at, double seconds)
{
	struct transfer after;
	struct cycle c;

	memset(&c, 0, sizeof c);
	c.n = n;
	c.started_at = started_at;
	c.seconds = seconds;
	c.full_scan = wt->full;
	if (store_transfer_get(wt->st, wt->id, &after) == SYNC_OK) {
		c.files = after.files_done - before->files_done;
		c.bytes = after.bytes_done - before->bytes_done;
		c.deleted = after.deleted - before->deleted;
		c.created = after.created - before->created;
		c.updated = after.updated - before->updated;
		c.failed = after.units_failed;
		c.error = after.error;
		after.error = NULL;
		transfer_release(&after);
	}
	if (store_cycle_add(wt->st, wt->id, &c) < 0)
		log_warn("cannot record the cycle: %s", store_errmsg(wt->st));
	log_msg(c.error ? LOG_WARN : LOG_INFO,
		"cycle %llu (%s) %s after %.1f s: %llu files, %llu bytes, %llu created, "
		"%llu updated, %llu deleted%s%s",
		(unsigned long long)n, c.full_scan ? "the whole tree" : "what changed",
		c.error ? "failed" : "done", seconds, (unsigned long long)c.files,
		(unsigned long long)c.bytes, (unsigned long long)c.created,
		(unsigned long long)c.updated, (unsigned long long)c.deleted,
		c.error ? ": " : "", c.error ? c.error : "");
	cycle_release(&c);
}

int
supervisor_watch(struct store *st, const struct supervisor_config *cfg,
		 enum transfer_state *final)
{
	struct supervisor_config cycle = *cfg;
	struct sup_hold hold;
	struct watch wt;
	struct transfer t;
	struct proc_id self;
	uint64_t n;
	int rc;

	*final = TRANSFER_FAILED;
	if ((rc = store_transfer_get(st, cfg->transfer_id, &t)) < 0)
		return rc;
	sup_hold_init(&hold);
	cycle.hold = &hold;
	memset(&wt, 0, sizeof wt);
	wt.st = st;
	wt.id = t.id;
	wt.source = t.source;
	wt.interval = t.watch_interval ? t.watch_interval : 600;
	{
		struct stat sb;

		wt.is_file = lstat(t.source, &sb) == 0 && !S_ISDIR(sb.st_mode);
	}
	strvec_init(&wt.trees);
	strvec_init(&wt.changed);
	filter_init(&wt.filter);
	if (t.filters_len)
		filter_deserialize(&wt.filter, t.filters, t.filters_len);
	if ((rc = install_signals()) < 0 || (rc = proc_self(&self)) < 0)
		goto out;
	got_stop_signal = 0;
	log_set_transfer(t.id);
	/* Before the first cycle: what changes while it runs is seen. */
	watch_open(&wt);
	/* Started again (after kill -9, say): the first cycle compares everything afresh. */
	if (store_units_forget(st, t.id) < 0 || store_record_discard(st, t.id) < 0)
		log_warn("cannot forget the last cycle: %s", store_errmsg(st));
	cycle.watch_cycle = true;
	cycle.first_cycle = true;
	cycle.notifier = notify_for_transfer(&t, cfg);
	wt.full = true;
	for (n = t.cycles + 1;; n++) {
		struct transfer before;
		int64_t started_at = (int64_t)time(NULL);
		double started = now_monotonic();
		bool staged = false, ran = true;

		if (wt.full)
			wt.next_full = started + wt.interval;
		if (store_transfer_get(st, t.id, &before) < 0)
			memset(&before, 0, sizeof before);
		/*
		 * The whole tree: compared with the record first, which also
		 * stages what the cycle makes of it. Trusted (a full cycle
		 * recorded it, and none failed since), a record that finds
		 * nothing means a cycle that asks the far side nothing.
		 */
		if (wt.full) {
			/* A file has no tree to keep a record of: each cycle asks the far side. */
			bool top = false;

			staged = !wt.is_file &&
				 sup_record_compare(st, t.id, wt.source, &wt.filter, &wt.trees,
						    &wt.changed, &top) == SYNC_OK;
			if (staged && wt.trust_record && wt.trees.nr == 0 && wt.changed.nr == 0 &&
			    !top) {
				ran = false;
				*final = TRANSFER_DONE;
			}
		}
		cycle.partial = !wt.full || (staged && wt.trust_record);
		cycle.only_trees = &wt.trees;
		cycle.only_changed = &wt.changed;
		if (ran)
			rc = supervisor_run(st, &cycle, final);
		cycle.first_cycle = false;
		/* --verify: the first full cycle that succeeds compares by content. */
		if (*final == TRANSFER_DONE)
			cycle.verify = false;
		/* A failed cycle leaves the far side's directories unknown until a full one. */
		hold.dirs_there = *final == TRANSFER_DONE && (hold.dirs_there || wt.full);
		if (staged && ran && *final == TRANSFER_DONE &&
		    store_record_apply(st, t.id) < 0)
			log_warn("cannot keep the record of the cycle: %s", store_errmsg(st));
		else if (staged && *final != TRANSFER_DONE)
			store_record_discard(st, t.id);
		/* A failed cycle leaves the far side unknown: the next compares with it. */
		wt.trust_record = *final == TRANSFER_DONE && (wt.trust_record || staged);
		watch_record_cycle(&wt, n, &before, started_at, now_monotonic() - started);
		transfer_release(&before);
		notify_transfer(cycle.notifier, st, t.id, "cycle");
		if ((ran && rc < 0) || got_stop_signal || *final == TRANSFER_TERMINATED ||
		    *final == TRANSFER_INTERRUPTED)
			break;
		rc = SYNC_OK;
		/* From now on the watch itself owns the record, between cycles and in them. */
		memset(&cycle.owner, 0, sizeof cycle.owner);
		cycle.on_running = NULL;
		if (ran && (rc = store_transfer_next_cycle(st, t.id, &self)) < 0) {
			log_error("cannot make the watch ready for its next cycle: %s",
				  store_errmsg(st));
			break;
		}
		/* A failed cycle (a link down, a full disk): the whole tree again, later. */
		wt.full = false;
		if (*final != TRANSFER_DONE)
			wt.next_full = now_monotonic() + WATCH_RETRY;
		if (!watch_wait(&wt)) {
			bool stop = false;

			/*
			 * Stopped between cycles: for good by terminate, else to
			 * be resumed. The lock let go first, as a run's end does:
			 * whoever sees the watch ended finds it free.
			 */
			sup_hold_release(&hold, cfg, &t);
			store_transfer_stop_requested(st, t.id, &stop);
			*final = stop ? TRANSFER_TERMINATED : TRANSFER_INTERRUPTED;
			if (store_transfer_finish(st, t.id, *final, stop ? "terminated on request" :
						  "stopped by a signal; resume continues it") < 0)
				log_error("cannot record the end of the watch: %s",
					  store_errmsg(st));
			log_info("watch %s after %llu cycles", transfer_state_name(*final),
				 (unsigned long long)n);
			break;
		}
	}
	sup_hold_release(&hold, cfg, &t);
	notify_transfer(cycle.notifier, st, t.id, transfer_state_name(*final));
out:
	notify_end(cycle.notifier);
	watcher_close(wt.watcher);
	filter_release(&wt.filter);
	strvec_clear(&wt.trees);
	strvec_clear(&wt.changed);
	transfer_release(&t);
	restore_signals();
	return rc < 0 ? rc : SYNC_OK;
}
