/* sup-outcome: what a finished job means for its units, and how the transfer ends. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "rsync-parse.h"
#include "sup-internal.h"
#include "verdict.h"

/* Of those kept (PROBLEMS_KEPT), named in the transfer's reason. */
#define PROBLEMS_NAMED 10

/* Remember the first permanent failure as the transfer's reason. */
void
set_failure(struct sup *s, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	log_error("%s", sb.buf);
	if (s->failure == NULL)
		s->failure = strbuf_detach(&sb, NULL);
	strbuf_release(&sb);
}

/* A unit is done: count it, and its size towards the progress shown. */
void
count_done(struct sup *s, const struct unit *u)
{
	s->units_done++;
	s->settled_bytes += u->size.bytes;
	s->settled_files += u->size.files;
}

/* Record, once, a source file (relative to the source root) that was not sent. */
void
add_problem(struct sup *s, const char *rel, const char *cause, bool vanished)
{
	struct strbuf esc = STRBUF_INIT;
	size_t k;

	for (k = 0; k < s->nproblems; k++)
		if (strcmp(s->problems[k].path, rel) == 0)
			return;
	escape_untrusted(&esc, rel, strlen(rel));
	if (vanished)
		log_warn("'%s' was not sent: it vanished from the source", esc.buf);
	else
		log_error("'%s' was not sent: %s", esc.buf, cause);
	strbuf_release(&esc);
	s->problems_total++;
	s->problems_failed |= !vanished;
	if (s->nproblems >= PROBLEMS_KEPT)
		return;
	ALLOC_GROW(s->problems, s->nproblems, s->problems_alloc);
	s->problems[s->nproblems].path = xstrdup(rel);
	s->problems[s->nproblems].cause = xstrdup(cause);
	s->problems[s->nproblems].vanished = vanished;
	s->nproblems++;
}

/*
 * The unit u of w's batch has ended for good: the files of it that rsync
 * did not send are recorded. Returns how many.
 */
static size_t
outcome_take_problems(struct sup *s, struct worker *w, const struct unit *u)
{
	size_t root = strlen(s->source_root), k, n = 0;

	for (k = 0; k < w->nproblems; k++) {
		const char *p = w->problems[k].path;

		/* rsync names them from its working directory, the source root. */
		if (strncmp(p, s->source_root, root) == 0 && (p[root] == '/' || root == 1))
			p += root;
		while (*p == '/')
			p++;
		if (!path_is_within(p, u->path))
			continue;
		add_problem(s, p, w->problems[k].cause, w->problems[k].vanished);
		n++;
	}
	return n;
}

/*
 * What the transfer's record says of the files not sent: how many, and
 * the first of them by name.
 */
static void
outcome_problems_text(const struct sup *s, struct strbuf *out)
{
	struct strbuf esc = STRBUF_INIT;
	size_t k;

	strbuf_addf(out, "%llu source file%s not sent: ", (unsigned long long)s->problems_total,
		    s->problems_total == 1 ? " was" : "s were");
	for (k = 0; k < s->nproblems && k < PROBLEMS_NAMED; k++) {
		strbuf_reset(&esc);
		escape_untrusted(&esc, s->problems[k].path, strlen(s->problems[k].path));
		strbuf_addf(out, "%s'%s' (%s)", k ? ", " : "", esc.buf,
			    s->problems[k].vanished ? "vanished" : s->problems[k].cause);
	}
	if (s->problems_total > k)
		strbuf_addf(out, " and %llu more (all are in the error log)",
			    (unsigned long long)(s->problems_total - k));
	strbuf_release(&esc);
}

/*
 * w's run was cut off: the last files it counted may have been in its
 * buffers, lost. Remembered (in the store too, for a resumed run), so that
 * the run that sends one again does not count it twice.
 */
static void
outcome_remember_sent(struct sup *s, struct worker *w)
{
	size_t k, at;
	char *added;

	for (k = 0; k < w->sent_tail.nr; k++) {
		const char *p = w->sent_tail.v[k];

		if (sorted_find(&s->sent_unsure, p, &at))
			continue;
		/* In its place: the list stays sorted. */
		strvec_push(&s->sent_unsure, p);
		added = s->sent_unsure.v[s->sent_unsure.nr - 1];
		memmove(s->sent_unsure.v + at + 1, s->sent_unsure.v + at,
			(s->sent_unsure.nr - 1 - at) * sizeof *s->sent_unsure.v);
		s->sent_unsure.v[at] = added;
		if (store_sent_unsure_add(s->st, s->t.id, p) < 0)
			log_warn("cannot record a file sent: %s", store_errmsg(s->st));
	}
	strvec_clear(&w->sent_tail);
}

/*
 * Carry out the verdict on unit i of w's batch: the store, the log, the
 * queue. what: the batch, for messages; reason: the last line rsync said.
 */
static void
outcome_apply_verdict(struct sup *s, struct worker *w, size_t i, enum unit_verdict v,
		      const struct batch_end *e, const char *what, const char *reason)
{
	struct batch_unit *b = &w->units[i];
	struct unit *u = &b->unit;
	struct strbuf path = STRBUF_INIT, esc = STRBUF_INIT;
	const char *exit_text = e->code >= 0 ? rsync_exit_text(e->code) : "signal";
	char *msg;

	escape_untrusted(&path, u->path, strlen(u->path));
	switch (v) {
	case VERDICT_RESEND_CHANGED:
		/* Again: rsync sees the new time or size. */
		escape_untrusted(&esc, changed_in(w, u), strlen(changed_in(w, u)));
		log_warn("'%s' changed while it was being sent; sending it again", esc.buf);
		u->attempts++;
		store_unit_set_state(s->st, u->id, UNIT_PENDING, u->attempts, NULL);
		/*
		 * Its copy has the size and time rsync saw first: a change
		 * within the same second, of the same size, looks sent.
		 */
		strvec_push(&s->recheck, u->path);
		queue_retry(s, u, 0, false);
		break;
	case VERDICT_FAIL_CHANGED:
		/* Still changing at the last attempt: its copy cannot be trusted. */
		msg = xasprintf("'%s': a file changed every time it was sent", path.buf);
		add_problem(s, changed_in(w, u), "changed while it was being sent", false);
		u->attempts++;
		store_unit_set_state(s->st, u->id, UNIT_FAILED, u->attempts, msg);
		s->units_failed++;
		set_failure(s, "%s", msg);
		free(msg);
		unit_release(u);
		break;
	case VERDICT_DONE:
		/* Files that vanished while it ran (24): said by name. */
		outcome_take_problems(s, w, u);
		store_unit_set_done(s->st, u->id, u->attempts + 1, u->bytes_sent, u->files_sent);
		/*
		 * Every byte of it sent by this rsync: the copy there is the
		 * source's as of now, which a relaying host may give on. Not
		 * when rsync kept some of it (its quick check found it the same).
		 */
		if (b->bytes_done == u->size.bytes &&
		    store_unit_set_received(s->st, u->id) < 0)
			log_warn("cannot record a unit received: %s", store_errmsg(s->st));
		/* Not after vanished files (24): one may be back, unsent. */
		if (e->code == 0)
			forget_leftovers(s, u);
		count_done(s, u);
		/* Sent much less than moved: the far side had (some of) it already. */
		if (w->nunits == 1)
			log_msg(unit_line_level(s),
				"done '%s': %llu files, %llu bytes, %llu bytes sent", path.buf,
				(unsigned long long)b->files_done,
				(unsigned long long)b->bytes_done, (unsigned long long)w->sent);
		else
			log_msg(unit_line_level(s), "done '%s': %llu files, %llu bytes",
				path.buf, (unsigned long long)b->files_done,
				(unsigned long long)b->bytes_done);
		unit_release(u);
		break;
	case VERDICT_EXCLUDED:
		store_unit_set_state(s->st, u->id, UNIT_EXCLUDED, u->attempts, NULL);
		s->units_total--;
		log_info("stopped '%s' on request", path.buf);
		unit_release(u);
		break;
	case VERDICT_RUN_AGAIN_NOW:
		requeue_unit(s, u, true);
		break;
	case VERDICT_LEAVE_PENDING:
		requeue_unit(s, u, false);
		break;
	case VERDICT_RETRY_LATER:
		u->attempts++;
		if (i == 0)
			log_warn("%s: rsync %s (%s), retrying in %.0f s%s%s", what,
				 spawn_status_text(w->job->status[0]), exit_text,
				 verdict_retry_delay(u->attempts), *reason ? ": " : "", reason);
		store_unit_set_state(s->st, u->id, UNIT_PENDING, u->attempts, reason);
		queue_retry(s, u, verdict_retry_delay(u->attempts), false);
		break;
	case VERDICT_RETRY_ALONE:
		if (i == 0)
			log_info("%s: rsync %s (%s); running them one by one", what,
				 spawn_status_text(w->job->status[0]), exit_text);
		store_unit_set_state(s->st, u->id, UNIT_PENDING, u->attempts, NULL);
		queue_retry(s, u, 0, true);
		break;
	case VERDICT_FAIL:
		msg = xasprintf("'%s': rsync %s (%s)%s%s", path.buf,
				spawn_status_text(w->job->status[0]), exit_text,
				*reason ? ": " : "", reason);
		/* Some of its files could not be read: named one by one. */
		if (!(e->code == 23 && !e->disk_full && outcome_take_problems(s, w, u) > 0))
			s->units_failed_other++;
		u->attempts++;
		store_unit_set_state(s->st, u->id, UNIT_FAILED, u->attempts, msg);
		s->units_failed++;
		/*
		 * A full disk is the cause to report, even when another worker
		 * failed first: its rsync may only have seen the far side go
		 * away ("Broken pipe").
		 */
		if (e->disk_full && !s->aborting && !s->failure_is_disk_full) {
			free(s->failure);
			s->failure = NULL;
			s->failure_is_disk_full = true;
		}
		set_failure(s, "%s", msg);
		free(msg);
		unit_release(u);
		break;
	}
	strbuf_release(&path);
	strbuf_release(&esc);
}

/*
 * A unit worker's rsync has ended: decide what that means for each unit
 * of its batch (verdict.h), and carry it out.
 */
void
finish_batch(struct sup *s, struct worker *w)
{
	struct strbuf reason = STRBUF_INIT, what = STRBUF_INIT;
	struct batch_end e;
	bool ok, in_tx, counted;
	size_t i;

	s->transport->batch_end(s, w, &e);
	ok = batch_end_ok(&e);
	/*
	 * It made the directories first; or its mkdir refused (a link) or
	 * failed, no rsync ran, and the mkdir of its own sees to it (and says
	 * why). Said nothing (the link failed first): an rsync that failed,
	 * retried as any other, with the mkdir again.
	 */
	if (w->carries_mkdir) {
		w->carries_mkdir = false;
		if (w->mkdir_said == MKDIR_NEW || w->mkdir_said == MKDIR_OLD) {
			s->mkdir_known = true;
			s->changed |= w->mkdir_created;
			/*
			 * It made only the destination and the source: an rsync
			 * cut short may have left directories above the cut
			 * unmade. The next rsync carries the mkdir again, or, not
			 * of everything, the mkdir of its own comes first (run_loop).
			 */
			if (w->mkdir_unlisted && !ok)
				s->mkdir_known = false;
		} else if (batch_end_given_back(&e)) {
			log_info("the directories were not made before the rsync%s; "
				 "making them first",
				 w->mkdir_said == MKDIR_IN_WAY ?
					 " (one is a symbolic link or not a directory)" : "");
			s->mkdir_unit_failed = true;
			w->settles = w->settles_itself = false;
			give_back_batch(s, w);
			strvec_clear(&w->recent_dirs);
			worker_forget_problems(w);
			strvec_clear(&w->changed_files);
			return;
		}
	}
	/* The last files of a run cut off may not have arrived: see outcome_remember_sent. */
	counted = batch_end_counted(&e);
	if (counted) {
		s->bytes_done += w->bytes_done;
		s->files_done += w->files_done;
		s->created += w->created;
		s->updated += w->updated;
	}
	s->changed |= w->changed || !ok;
	w->changed = false;
	last_error_line(w, &reason);
	/* The batch, for messages: its first unit, and how many others. */
	strbuf_addch(&what, '\'');
	if (w->nunits > 0)
		escape_untrusted(&what, w->units[0].unit.path, strlen(w->units[0].unit.path));
	strbuf_addch(&what, '\'');
	if (w->nunits > 1)
		strbuf_addf(&what, " and %zu more units", w->nunits - 1);
	/* Files cut off mid-way may have left partial data on the far side. */
	if (e.code != 0) {
		size_t k;

		s->leftovers = true;
		if (w->current.len && store_leftover_add(s->st, s->t.id, w->current.buf) < 0)
			log_warn("cannot record a partial file: %s", store_errmsg(s->st));
		/* Read whole here, it may still have been written there. */
		if (w->last_file.len &&
		    store_leftover_add(s->st, s->t.id, w->last_file.buf) < 0)
			log_warn("cannot record a partial file: %s", store_errmsg(s->st));
		for (k = 0; k < w->recent_dirs.nr; k++)
			store_leftover_add(s->st, s->t.id, w->recent_dirs.v[k]);
	}
	strvec_clear(&w->recent_dirs);
	in_tx = store_begin(s->st) == SYNC_OK;
	if (!ok && counted)
		outcome_remember_sent(s, w);
	strvec_clear(&w->sent_tail);
	for (i = 0; i < w->nunits; i++) {
		struct batch_unit *b = &w->units[i];
		struct unit *u = &b->unit;
		struct unit_end ue = {
			.changed = b->changed, .excluded = b->excluded, .attempts = u->attempts,
		};

		/* What it sent counts for it, whether or not it runs again (see counted). */
		if (counted) {
			u->bytes_sent += b->bytes_done;
			u->files_sent += b->files_done;
			if ((!ok || b->changed) && (b->files_done > 0 || b->bytes_done > 0))
				store_unit_set_sent(s->st, u->id, u->bytes_sent, u->files_sent);
		}
		outcome_apply_verdict(s, w, i, unit_verdict(&e, &ue, s->cfg->max_attempts), &e,
				      what.buf, reason.buf);
	}
	/*
	 * With the units done, what they sent: killed before the next write
	 * of progress, a resumed run would find their files up to date and
	 * count them nowhere.
	 */
	commit_with_totals(s, in_tx, "the end of a batch");
	/* The far side is full: every other unit would fail the same way. */
	if (batch_end_stops_transfer(&e)) {
		log_error("the far side has no room left; stopping the transfer");
		s->aborting = true;
	}
	/* The last rsync gave the directories above the cut their attributes. */
	if (w->settles && !w->job->stopped && !got_stop_signal) {
		if (ok && (w->settles_itself || w->then_status == 0)) {
			s->dirs_settled = true;
			log_info("the last rsync%s gave the directories above the cut their "
				 "attributes", w->settles_itself ? "" : "'s closing command");
		} else if (ok) {
			log_info("cannot set the attributes of the directories above the cut after "
				 "the last rsync (%d); rsync does it", w->then_status);
			/* The same command at the end would fail the same way. */
			s->settle_failed = w->then_status > 0;
		}
	}
	w->settles = w->settles_itself = false;
	if (ok && w->nunits > 1)
		log_info("rsync of %zu units done: %llu files, %llu bytes, %llu bytes sent",
			 w->nunits, (unsigned long long)w->files_done,
			 (unsigned long long)w->bytes_done, (unsigned long long)w->sent);
	say_units_done(s, false);
	w->nunits = 0;
	/* Those of units that run again are said again, or not, by that run. */
	worker_forget_problems(w);
	strvec_clear(&w->changed_files);
	strbuf_release(&reason);
	strbuf_release(&what);
}

/* Remember u, done, as left to the mirror's deletes (mirror_undefer). */
static void
outcome_defer(struct sup *s, const struct unit *u)
{
	struct deferred_unit *d;

	ALLOC_GROW(s->deferred, s->ndeferred + 1, s->deferred_alloc);
	d = &s->deferred[s->ndeferred++];
	d->id = u->id;
	d->attempts = u->attempts;
	d->size = u->size;
}

/*
 * The dry run has ended: the units it found nothing to change in are done.
 * If it failed, or was stopped, every unit stays pending: the real runs
 * find out for themselves. A mirror's check (w->deletions) leaves some to
 * its deletes (check_attr_dirs).
 */
void
finish_check(struct sup *s, struct worker *w)
{
	int code = WIFEXITED(w->job->status[0]) ? WEXITSTATUS(w->job->status[0]) : -1;
	uint64_t same = 0, deferred = 0;
	bool in_tx;
	size_t k;

	if (!got_stop_signal && (code == 0 || code == 24)) {
		if (w->deletions)
			check_attr_dirs(w);
		/*
		 * The source named whole shows the directories above the cut
		 * too: where one differs, they get their attributes at the end
		 * (no rsync of everything may run that would set them).
		 */
		if (w->deletions && w->outside_differs)
			s->changed = true;
		/*
		 * Nor is any missing there: the mkdir the first rsync was to
		 * carry has nothing to make (and would cost a round trip of
		 * its own when that rsync is not of everything).
		 */
		if (w->deletions && !w->outside_created && s->mkdir_in_unit)
			s->mkdir_known = true;
		in_tx = store_begin(s->st) == SYNC_OK;
		for (k = 0; k < w->nunits; k++) {
			if (w->units[k].differs)
				continue;
			/* With what earlier runs sent of it: they were cut off after. */
			const struct unit *u = &w->units[k].unit;

			if (store_unit_set_done(s->st, u->id, u->attempts, u->bytes_sent,
						u->files_sent) == SYNC_OK) {
				count_done(s, &w->units[k].unit);
				same++;
				if (w->units[k].attrs_by_mirror) {
					outcome_defer(s, u);
					deferred++;
				}
			}
		}
		if (in_tx && store_commit(s->st) < 0) {
			log_warn("cannot record what the far side has: %s", store_errmsg(s->st));
			store_rollback(s->st);
			s->units_done -= same;
			same = 0;
			s->ndeferred -= deferred;
			deferred = 0;
		}
		log_info("the far side has %llu of %zu units already",
			 (unsigned long long)(same - deferred), w->nunits);
		if (deferred > 0)
			log_info("%llu more differ only in the attributes of directories the "
				 "mirror deletes in: its deletes set them, no copy does",
				 (unsigned long long)deferred);
		/* What it named for the mirror is complete. */
		s->check_named_deletions = w->deletions != NULL;
	} else if (!got_stop_signal) {
		struct strbuf reason = STRBUF_INIT;

		last_error_line(w, &reason);
		log_warn("cannot check what the far side has: rsync %s%s%s; sending everything",
			 spawn_status_text(w->job->status[0]), reason.len ? ": " : "", reason.buf);
		strbuf_release(&reason);
	}
	/* Cut short: the mirror runs a dry run of its own. */
	if (w->deletions && !s->check_named_deletions)
		strvec_clear(w->deletions);
	w->deletions = NULL;
	strvec_clear(&w->attr_dirs);
	for (k = 0; k < w->nunits; k++)
		unit_release(&w->units[k].unit);
	w->nunits = 0;
}

/* Record the units of w's batch as running, in one transaction. */
void
mark_batch_running(struct sup *s, struct worker *w)
{
	bool in_tx = store_begin(s->st) == SYNC_OK;
	size_t k;

	for (k = 0; k < w->nunits; k++)
		store_unit_set_state(s->st, w->units[k].unit.id, UNIT_RUNNING,
				     w->units[k].unit.attempts, NULL);
	if (in_tx && store_commit(s->st) < 0)
		store_rollback(s->st);
	log_debug("started %zu units, the first '%lld'", w->nunits,
		  (long long)w->units[0].unit.id);
}

/* The batch of w could not start: its units fail with the reason. */
void
fail_batch(struct sup *s, struct worker *w)
{
	size_t k;

	for (k = 0; k < w->nunits; k++) {
		store_unit_set_state(s->st, w->units[k].unit.id, UNIT_FAILED,
				     w->units[k].unit.attempts, s->failure);
		s->units_failed++;
		unit_release(&w->units[k].unit);
	}
	w->nunits = 0;
}

/* Was every unit of the transfer stopped on request? */
static bool
outcome_all_excluded(struct sup *s)
{
	uint64_t c[5];

	if (store_unit_counts(s->st, s->t.id, c) < 0)
		return false;
	return c[UNIT_EXCLUDED] > 0 &&
	       c[UNIT_PENDING] + c[UNIT_RUNNING] + c[UNIT_DONE] + c[UNIT_FAILED] == 0;
}

/* Pick the state and reason the transfer ends with. */
enum transfer_state
final_state(struct sup *s, char **reason)
{
	*reason = NULL;
	if (s->stopped_on_request) {
		*reason = xstrdup("terminated on request");
		return TRANSFER_TERMINATED;
	}
	if (got_stop_signal) {
		/* By name: "signal 1" says little to whoever reads the history. */
		*reason = xasprintf("stopped by %s (signal %d); resume continues it",
				    got_stop_signal == SIGTERM ? "SIGTERM" :
				    got_stop_signal == SIGINT ? "SIGINT" :
				    got_stop_signal == SIGHUP ? "SIGHUP" : "a signal",
				    (int)got_stop_signal);
		return TRANSFER_INTERRUPTED;
	}
	if (s->failure && s->problems_failed && s->units_failed_other == 0) {
		/* Every failed unit failed by files it could not read: those are the reason. */
		struct strbuf sb = STRBUF_INIT;

		outcome_problems_text(s, &sb);
		*reason = strbuf_detach(&sb, NULL);
		return TRANSFER_FAILED;
	}
	if (s->failure) {
		struct strbuf sb = STRBUF_INIT;

		strbuf_addstr(&sb, s->failure);
		if (s->units_failed > 1)
			strbuf_addf(&sb, " (and %llu more failed units)",
				    (unsigned long long)(s->units_failed - 1));
		if (s->problems_total) {
			strbuf_addstr(&sb, "; ");
			outcome_problems_text(s, &sb);
		}
		*reason = strbuf_detach(&sb, NULL);
		return TRANSFER_FAILED;
	}
	if (s->walk_errors) {
		*reason = xasprintf("%llu entries could not be read; first: %s",
				    (unsigned long long)s->walk_errors, s->walk_error_first);
		return TRANSFER_FAILED;
	}
	if (outcome_all_excluded(s)) {
		*reason = xstrdup("every part of it was stopped on request");
		return TRANSFER_TERMINATED;
	}
	/* Done, as what vanished has nothing left to send; but not silently. */
	if (s->problems_total) {
		struct strbuf sb = STRBUF_INIT;

		outcome_problems_text(s, &sb);
		*reason = strbuf_detach(&sb, NULL);
	}
	return TRANSFER_DONE;
}
