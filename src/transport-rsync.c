/*
 * transport-rsync: the transport of today (transport.h): rsync over one
 * shared ssh connection, the far side's lock on the destination, the
 * directories above the cut made by a mkdir (or by the first rsync), a
 * re-sync's dry run, and large files in pieces. The work is done in
 * sup-link.c, sup-lock.c, sup-dirs.c, sup-job.c, sup-worker.c,
 * sup-split.c and sup-leftovers.c; this file is the order of it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rsync-parse.h"
#include "sup-internal.h"
#include "verdict.h"

/*
 * The answer is judged without the far side's shell, whose start-up (a
 * .bashrc that sets up conda or modules: 0.5-2 s) is no distance: as many
 * round trips of SFTP requests, which sftp-server answers itself. The
 * fastest of ROUND_TRIPS_TIMED.
 */
#define ANSWER_ROUND_TRIPS 2.5
#define ROUND_TRIPS_TIMED 3
/* An earlier answer of the far side is taken for this long (seconds). */
#define ANSWER_KEPT (7 * 24 * 3600)
#define CHECK_UNITS_MAX 16384     /* units one dry run checks at most */

/* The shared connection comes up while the source is walked. */
static bool
rsync_connect(struct sup *s)
{
	if (master_start(s) < 0)
		return false;
	/* A watch's cycle: the lock of the cycle before, held over its connection. */
	if (hold_take_lock(s))
		return true;
	/*
	 * Up already (kept from a transfer before): the lock's round trips
	 * overlap the walk. It makes nothing before the walk has gone well
	 * (a stop, a source gone): a destination not there yet is asked for
	 * again after it (take_far_lock).
	 */
	{
		struct stat sb;

		if (ssh_master_ready(&s->master) && lstat(s->t.source, &sb) == 0) {
			s->target.control_path = s->control_path;
			s->lock.keep_absent = true;
			ask_far_lock(s);
		}
	}
	return true;
}

/* After the walk: the connection is up, rsync's -e is known, the lock asked. */
static bool
rsync_connected(struct sup *s)
{
	if (master_wait(s) < 0 || got_stop_signal)
		return false;
	/* Asked (or held) over a connection that ended since: again, over the new one. */
	if ((s->lock_asked || s->lock_kept) && s->master_replaced) {
		far_lock_release(&s->lock, 0);
		s->lock_asked = s->lock_kept = s->lock_wanted = false;
	}
	s->target.control_path = s->control_path;
	ssh_rsh_command(&s->target, &s->rsh);
	{
		struct ssh_target own = s->target;

		own.control_path = NULL;
		ssh_rsh_command(&own, &s->rsh_own);
	}
	if (!s->lock_asked && !s->lock_kept) {
		s->lock.keep_absent = false;
		ask_far_lock(s);
	}
	return true;
}

/*
 * Time the link's round trip in an SFTP session begun over the shared
 * connection (sftp_begin): the fastest of a few requests, each answered
 * by sftp-server alone. -1 when the far side has no SFTP.
 */
static double
rsync_round_trip(struct sftp *session)
{
	struct sftp_attrs a;
	double best = -1, t0, took;
	int k;

	if (session == NULL || sftp_ready(session) < 0)
		return -1;
	for (k = 0; k < ROUND_TRIPS_TIMED && !got_stop_signal; k++) {
		t0 = now_monotonic();
		if (sftp_lstat(session, ".", &a) < 0)
			return -1;
		took = now_monotonic() - t0;
		if (best < 0 || took < best)
			best = took;
	}
	return best;
}

/*
 * Judge the link from the far side's answer (an earlier one, or the time
 * of the mkdir that makes the directories above the cut): how many
 * workers, pieces for large files or not, and whether the first rsync
 * makes the directories itself.
 */
static bool
rsync_measure(struct sup *s)
{
	double t0 = now_monotonic(), answer = -1, command = -1, rtt = -1;
	int64_t since = (int64_t)time(NULL) - ANSWER_KEPT;
	bool listable = s->have_dirs && !s->mkdirs_overflow &&
			s->mkdirs.nr <= SETTLE_DIRS_MAX && !strchr(s->t.destination, '\n') &&
			!strchr(s->source_rel, '\n');
	bool resync = false, known = false;
	struct sup_hold *hold = s->cfg->hold;
	const char *whence = " (the last time)";

	/*
	 * The far side's answer to an earlier transfer (to the same host,
	 * lately) tells the link without asking again. Then the first
	 * rsync makes the directories before it starts: the one rsync of
	 * everything, or the dry run that begins a re-sync of what went
	 * to the same place before. Otherwise one mkdir now makes them,
	 * and its answer tells the link.
	 */
	if (hold && hold->answer >= 0) {
		/* A watch's: judged once, for as long as the watch runs. */
		known = true;
		answer = hold->answer;
		whence = " (as the watch judged it)";
	} else if (listable) {
		resync = store_transfer_answer_before(s->st, &s->t, since, true, &answer) ==
				 SYNC_OK && answer >= 0;
		known = resync || (store_transfer_answer_before(s->st, &s->t, since, false,
								&answer) == SYNC_OK && answer >= 0);
	}
	if (known) {
		apply_answer(s, answer);
		s->one_rsync = listable && one_rsync_takes_all(s);
		s->mkdir_in_unit = s->one_rsync && mkdir_names_nothing_new(s);
	}
	if (known && hold_dirs_there(s)) {
		/*
		 * A watch's cycle of what changed under directories the far
		 * side has: nothing to make, no pass of directories. They get
		 * their attributes at the end, one of them may have changed
		 * alone (a chmod): from the last rsync itself where it names
		 * a path under each, else by settle_dirs.
		 */
		s->mkdir_in_unit = false;
		s->fresh = false;
		s->dirs_made = true;
		s->changed = true;
	} else if (s->mkdir_in_unit) {
		s->fresh = false;
		s->dirs_made = true;
	} else if (known) {
		/* The mkdir of its own, but no link to time. */
		if (create_remote_dirs(s, &s->dirs_made) < 0 || got_stop_signal)
			return false;
	} else {
		struct sftp *probe = NULL;
		char err[512];

		/* Its session gets ready while the mkdir runs. */
		if (sftp_begin(&s->target, SFTP_TIMEOUT_MS, &probe, err, sizeof err) < 0)
			log_info("cannot time the link over sftp: %s", err);
		if (create_remote_dirs(s, &s->dirs_made) < 0 || got_stop_signal) {
			sftp_close(probe);
			return false;
		}
		answer = command = now_monotonic() - t0;
		if (probe)
			sftp_set_deadline(probe, 10);
		rtt = rsync_round_trip(probe);
		if (probe && rtt < 0)
			log_info("cannot time the link over sftp: %s; the mkdir's answer "
				 "judges it", sftp_errmsg(probe));
		sftp_close(probe);
		if (rtt >= 0)
			answer = ANSWER_ROUND_TRIPS * rtt;
		apply_answer(s, answer);
		known = false;
		/*
		 * Recorded only when measured: a transfer that goes by an
		 * earlier answer does not pass it on, so that the link is
		 * timed again after ANSWER_KEPT.
		 */
		if (store_transfer_set_answer(s->st, s->t.id, answer) < 0)
			log_warn("cannot record the far side's answer: %s",
				 store_errmsg(s->st));
	}
	if (hold && answer >= 0)
		hold->answer = answer;
	if (rtt >= 0)
		log_info("the far side answered in %.3f s (a round trip of %.1f ms over "
			 "sftp; a command took %.3f s); pieces for large files %s; "
			 "%d workers%s", answer, rtt * 1000, command,
			 s->split_ok ? "on" : "off", s->active_workers,
			 s->one_rsync ? "; one rsync takes everything" : "");
	else
		log_info("the far side answered in %.3f s%s; pieces for large files %s; "
			 "%d workers%s", answer, known ? whence : "",
			 s->split_ok ? "on" : "off", s->active_workers,
			 s->one_rsync ? "; one rsync takes everything" : "");
	return true;
}

static int
rsync_compare_units(const void *a, const void *b)
{
	return path_tree_cmp(((const struct batch_unit *)a)->unit.path,
			     ((const struct batch_unit *)b)->unit.path);
}

/*
 * A re-sync: the far side may have most of the source already. One dry run
 * over the pending units (plain rsync's own check: a walk on each side)
 * finds those with something to change, and the others are done at once.
 * A re-sync with little to do then costs one rsync, not one per batch.
 */
static int
rsync_check_pending(struct sup *s)
{
	struct worker *w = &s->workers[0];
	struct unit chunk[UNIT_BATCH];
	double t0 = now_monotonic();
	uint64_t before = s->units_done, checked = 0;
	int64_t cursor = 0;
	size_t got = 0, k;
	int rc = SYNC_OK;

	do {
		w->nunits = 0;
		while (w->nunits + UNIT_BATCH <= CHECK_UNITS_MAX) {
			if (store_unit_next_pending(s->st, s->t.id, cursor, chunk, UNIT_BATCH,
						    &got) < 0) {
				set_failure(s, "%s", store_errmsg(s->st));
				rc = SYNC_ERR_STORE;
				break;
			}
			if (got == 0)
				break;
			for (k = 0; k < got; k++) {
				ALLOC_GROW(w->units, w->nunits, w->units_alloc);
				memset(&w->units[w->nunits], 0, sizeof *w->units);
				w->units[w->nunits++].unit = chunk[k];
			}
			cursor = chunk[got - 1].id;
		}
		/*
		 * A single unit's own rsync is as good a check, unless it may
		 * move in pieces (then the check also saves asking the far side
		 * for the file's size and time, remote_up_to_date), or the
		 * check names a mirror's deletes too.
		 */
		if (rc == SYNC_OK && (w->nunits > 1 || (checked > 0 && w->nunits > 0) ||
				      (w->nunits == 1 && may_split(s, &w->units[0].unit)) ||
				      s->check_whole)) {
			/* A mirror's check may have none pending (and no array). */
			if (w->nunits > 1)
				qsort(w->units, w->nunits, sizeof *w->units, rsync_compare_units);
			checked += w->nunits;
			rc = run_loop(s, JOB_CHECK);
		}
		for (k = 0; k < w->nunits; k++)
			unit_release(&w->units[k].unit);
		w->nunits = 0;
		/* The source whole was checked at once: every pending unit was in it. */
	} while (rc == SYNC_OK && !got_stop_signal && got > 0 && checked > 0 && !s->fresh &&
		 !s->check_whole);
	if (checked > 0 && !s->fresh)
		log_info("checked %llu units against the far side in %.2f s: %llu to send",
			 (unsigned long long)checked, now_monotonic() - t0,
			 (unsigned long long)(checked - (s->units_done - before)));
	return rc;
}

/*
 * Does a mirror's re-sync check the source whole, in one dry run with
 * --delete, so that the same walk of both sides names the units that
 * differ and what the mirror will delete? Only when the mirror is to
 * come (every pending unit in that one dry run, no walk errors) and the
 * far side may have something to delete (DEST/NAME not new).
 */
static bool
rsync_check_names_deletions(struct sup *s)
{
	uint64_t c[5];

	return s->t.mirror && s->source_is_dir && !s->cfg->partial && !s->fresh &&
	       s->walk_errors == 0 && store_unit_counts(s->st, s->t.id, c) == SYNC_OK &&
	       c[UNIT_PENDING] <= CHECK_UNITS_MAX;
}

/*
 * The far side's lock: its answer, before anything is written into the
 * destination; held since the cycle before: had.
 */
static bool
rsync_lock(struct sup *s)
{
	return s->lock_kept || take_far_lock(s, false) >= 0;
}

/*
 * Before the units: the directories above the cut by an rsync pass where
 * the mkdir did not make them, and a re-sync's dry run.
 */
static bool
rsync_prepare(struct sup *s)
{
	if (s->have_dirs && !s->dirs_made && (run_loop(s, JOB_DIRS_CREATE) < 0 || got_stop_signal))
		return false;
	if (s->cfg->verify && !s->fresh && !s->cfg->partial)
		log_info("comparing with the far side by content (--verify): every file is read "
			 "on both sides");
	/*
	 * One rsync of everything is its own check: the same walk on both
	 * sides. A watch's cycle of what changed has nothing to check: its
	 * rsyncs ignore size and time (the check would, as they do not).
	 * A mirror's check also names what it will delete: it saves the
	 * mirror's dry run, a walk of both sides after the copy, and then
	 * goes before one rsync of everything as well (which then sends
	 * only what differs, if anything).
	 */
	s->check_whole = rsync_check_names_deletions(s);
	if (!s->fresh && (!s->one_rsync || s->check_whole) && !s->cfg->partial &&
	    (rsync_check_pending(s) < 0 || got_stop_signal))
		return false;
	return true;
}

/*
 * The first rsync's mkdir did not run (a link above the cut): the mkdir of
 * its own, then the units it gave back.
 */
static int
rsync_after_units(struct sup *s)
{
	if (!s->mkdir_unit_failed || got_stop_signal || s->failure != NULL)
		return 0;
	s->mkdir_in_unit = s->mkdir_unit_failed = false;
	if (create_remote_dirs(s, &s->dirs_made) < 0 || got_stop_signal)
		return -1;
	if (s->have_dirs && !s->dirs_made && (run_loop(s, JOB_DIRS_CREATE) < 0 || got_stop_signal))
		return -1;
	return 1;
}

/*
 * The directories above the cut get their times and modes back, unless
 * nothing was created or sent under them (a re-sync with nothing to do),
 * or a mirror's deletes below each of them will (mirror_settles_dirs):
 * after this, they would change the times again.
 */
static void
rsync_settle(struct sup *s)
{
	links_pass(s);
	if (!s->have_dirs || got_stop_signal || s->failure != NULL ||
	    !(s->changed || !s->dirs_made) || s->dirs_settled)
		return;
	if (s->dirs_made && mirror_settles_dirs(s))
		return;
	if (!(s->dirs_made && !s->settle_failed && settle_dirs(s)))
		run_loop(s, JOB_DIRS_FINAL);
}

/* How an rsync of a batch ended: its code, and what it said of the far side. */
static void
rsync_batch_end(struct sup *s, const struct worker *w, struct batch_end *e)
{
	int status = w->job->status[0];

	memset(e, 0, sizeof *e);
	e->code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	e->disk_full = rsync_error_is_permanent(w->err_tail.buf, w->err_tail.len);
	e->far_failed = w->far_failed;
	e->mkdir_refused = w->carries_mkdir &&
			   (w->mkdir_said == MKDIR_IN_WAY || w->mkdir_said == MKDIR_FAILED);
	e->stopped = w->job->stopped;
	e->stopping = got_stop_signal;
	e->aborting = s->aborting;
	e->nunits = w->nunits;
	relay_job_ended(s, w, e);
	nodes_job_ended(s, w, e);
}

/* The partial data recorded (at or below prefix, if given), removed over SFTP. */
static int
rsync_clean(struct sup *s, const char *prefix)
{
	return clean_leftovers(s->st, s->t.id, s->t.created_at, &s->target, s->t.destination,
			       s->source_root, &s->sftp, prefix);
}

static void
rsync_close(struct sup *s)
{
	sftp_close(s->sftp);
	s->sftp = NULL;
	/* A watch's cycle: the connection and the lock stay for the next. */
	if (hold_give_back(s))
		return;
	/*
	 * Before the connection it runs over ends: the far side lets go at
	 * once. The holder ends on the end of its input, in a round trip;
	 * where it does not (seen beside a stopped stale kept connection), its
	 * ssh is ended after 2 s, and the far side lets go as the session
	 * closes (the lock file may stay, to be taken by the next). Stopped by
	 * a signal: after 1 s. Ended so, it may hold a session of a kept
	 * connection.
	 */
	if (far_lock_release(&s->lock, got_stop_signal ? 1 : 2))
		s->master_stuck = true;
	stop_master(s);
}

const struct transport transport_rsync = {
	.name = "rsync over ssh",
	.connect = rsync_connect,
	.connected = rsync_connected,
	.measure = rsync_measure,
	.lock = rsync_lock,
	.prepare = rsync_prepare,
	.start_job = start_worker,
	.start_piece = start_piece,
	.output = worker_output,
	.batch_end = rsync_batch_end,
	.after_units = rsync_after_units,
	.settle = rsync_settle,
	.mirror = rsync_mirror,
	.clean = rsync_clean,
	.close = rsync_close,
};
