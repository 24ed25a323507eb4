/* sup-part: parts of a transfer stopped on request (terminate -s PART). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "sup-internal.h"

/* What stopping a part means for the units in the store. */
struct part_stop {
	enum exclusion_state result;
	int64_t holder_id;     /* the tree unit it lies in: to run again without it */
	uint64_t running;      /* units at or below it that are running */
	uint64_t excluded;     /* units newly excluded */
};

/* Is the unit with this id in the batch of w's running rsync? */
static bool
part_worker_has_unit(const struct worker *w, int64_t unit_id)
{
	size_t k;

	if (!w->job->busy || w->job->ended || w->kind != JOB_UNIT)
		return false;
	for (k = 0; k < w->nunits; k++)
		if (w->units[k].unit.id == unit_id)
			return true;
	return false;
}

/*
 * Decide what stopping the part at p (relative, like unit paths) means,
 * and record it in the store: pending and failed units at or below p are
 * excluded; a part inside a tree unit is for that unit's rsync to leave
 * out (p_listed: it already does). Running units are the caller's to stop.
 */
static int
part_stop_in_store(struct store *st, const struct transfer *t, const char *p, bool p_listed,
		   struct part_stop *out)
{
	struct strbuf prefix = STRBUF_INIT;
	uint64_t before[5];
	struct unit holder;
	const char *slash;
	bool held = false;
	int rc = SYNC_OK;

	memset(out, 0, sizeof *out);
	out->result = EXCLUSION_NOMATCH;
	/* A tree unit that p lies strictly below. */
	for (slash = strchr(p, '/'); slash && !held; slash = strchr(slash + 1, '/')) {
		strbuf_reset(&prefix);
		strbuf_add(&prefix, p, (size_t)(slash - p));
		if (store_unit_find(st, t->id, prefix.buf, &holder) != SYNC_OK)
			continue;
		held = true;
		if (holder.state == UNIT_DONE)
			out->result = EXCLUSION_DONE;
		else if (holder.state == UNIT_EXCLUDED || p_listed)
			out->result = EXCLUSION_ALREADY;
		else {
			out->result = EXCLUSION_APPLIED;
			out->holder_id = holder.id;
		}
		unit_release(&holder);
	}
	if (!held) {
		if ((rc = store_unit_counts_within(st, t->id, p, before)) < 0 ||
		    (rc = store_units_exclude(st, t->id, p, &out->excluded)) < 0)
			goto out;
		out->running = before[UNIT_RUNNING];
		if (out->excluded || out->running)
			out->result = EXCLUSION_APPLIED;
		else if (before[UNIT_EXCLUDED])
			out->result = EXCLUSION_ALREADY;
		else if (before[UNIT_DONE])
			out->result = EXCLUSION_DONE;
		else if (!t->planned)
			/* The walk did not finish: what it has not recorded yet stays out. */
			out->result = EXCLUSION_APPLIED;
	}
out:
	strbuf_release(&prefix);
	return rc;
}

static const char *
part_stop_text(enum exclusion_state r)
{
	return r == EXCLUSION_APPLIED ? "stopped; the rest goes on" :
	       r == EXCLUSION_DONE ? "it had already arrived" :
	       r == EXCLUSION_ALREADY ? "it was stopped before" :
	       r == EXCLUSION_UNCLEAN ? "stopped, but its partial data is still on the far side" :
	       "not part of this transfer";
}

/* Is partial data at or below p (or a directory marker) still recorded? */
static bool
part_leftovers_within(struct sup *s, const char *p)
{
	struct strvec rows = STRVEC_INIT;
	bool any = false;
	size_t i;

	if (store_leftovers_list(s->st, s->t.id, NULL, &rows) < 0)
		return true;
	for (i = 0; i < rows.nr && !any; i++)
		any = rows.v[i][strlen(rows.v[i]) - 1] == '/' || path_is_within(rows.v[i], p);
	strvec_clear(&rows);
	return any;
}

/*
 * Stop one part of the transfer (terminate of a path inside the source):
 * units at or below it are excluded (running ones stopped), a tree unit
 * that holds it runs again without it, and its partial data on the far
 * side is removed. The rest of the transfer goes on.
 */
static void
part_apply(struct sup *s, const struct exclusion *ex)
{
	struct strbuf esc = STRBUF_INIT;
	const char *p = ex->path;
	struct part_stop ps;
	bool listed = false, victims = false;
	uint64_t arrived = 0;
	size_t k;
	int i;

	escape_untrusted(&esc, p, strlen(p));
	for (k = 0; k < s->excludes.nr; k++)
		listed |= strcmp(s->excludes.v[k], p) == 0;
	if (part_stop_in_store(s->st, &s->t, p, listed, &ps) < 0) {
		log_warn("cannot exclude '%s': %s", esc.buf, store_errmsg(s->st));
		strbuf_release(&esc);
		return;
	}
	if (ps.holder_id) {
		strvec_push(&s->excludes, p);
		/* The rsync moving it starts again, with the new exclusion. */
		for (i = 0; i < s->nworkers; i++) {
			struct worker *w = &s->workers[i];

			if (part_worker_has_unit(w, ps.holder_id) && !w->job->stopped) {
				pool_stop_job(&s->pool, i, SIGTERM);
				victims = true;
			}
		}
	} else if (ps.result == EXCLUSION_APPLIED) {
		/* The store excluded the queued units too: ps.excluded counts them. */
		drop_queued(s, p);
		s->units_total -= ps.excluded;
		recount_left(s);
		/* A file in pieces: its pieces stop. */
		if (s->split.active && path_is_within(s->split.unit.path, p)) {
			s->split.excluded = true;
			for (i = 0; i < s->nworkers; i++) {
				struct worker *w = &s->workers[i];

				if (w->job->busy && !w->job->ended && w->kind == JOB_PIECE) {
					pool_stop_job(&s->pool, i, SIGKILL);
					victims = true;
				}
			}
		}
		/*
		 * Units of it in flight stop, but for those whose every file has
		 * been sent (they arrive with their batch); the rest of their
		 * batches run again.
		 */
		for (i = 0; i < s->nworkers; i++) {
			struct worker *w = &s->workers[i];

			if (!w->job->busy || w->job->ended || w->kind != JOB_UNIT)
				continue;
			for (k = 0; k < w->nunits; k++) {
				struct batch_unit *b = &w->units[k];

				if (!path_is_within(b->unit.path, p))
					continue;
				if (b->unit.size.files > 0 && b->files_done >= b->unit.size.files) {
					arrived++;
					continue;
				}
				b->excluded = true;
				victims = true;
				if (!w->job->stopped)
					pool_stop_job(&s->pool, i, SIGTERM);
			}
		}
		if (arrived && !victims && ps.excluded == 0 && ps.running <= arrived)
			ps.result = EXCLUSION_DONE;
	}
	if (victims)
		pool_settle_stopped(&s->pool);
	/* Its partial data goes (also when stopped before, if that cleanup failed). */
	if ((ps.result == EXCLUSION_APPLIED || ps.result == EXCLUSION_ALREADY) &&
	    part_leftovers_within(s, p) &&
	    s->transport->clean(s, p) < 0)
		ps.result = EXCLUSION_UNCLEAN;
	store_exclusion_set_state(s->st, ex->id, ps.result);
	log_info("terminate of '%s': %s", esc.buf, part_stop_text(ps.result));
	strbuf_release(&esc);
}

/* Act on the parts terminate asked to stop since we last looked. */
void
apply_exclusions(struct sup *s)
{
	struct exclusion *xs;
	size_t n, i;

	got_exclusion = 0;
	if (store_exclusions_list(s->st, s->t.id, EXCLUSION_PENDING, &xs, &n) < 0) {
		log_warn("cannot read what to stop: %s", store_errmsg(s->st));
		return;
	}
	for (i = 0; i < n; i++) {
		/* The whole transfer stops by signal; its request is read at the end. */
		if (strcmp(xs[i].path, s->source_rel) != 0)
			part_apply(s, &xs[i]);
		exclusion_release(&xs[i]);
	}
	free(xs);
}

int
supervisor_stop_part(struct store *st, const struct transfer *t,
		     const struct supervisor_config *cfg, int64_t exclusion_id,
		     const char *rel, enum exclusion_state *result)
{
	struct exclusion *xs;
	struct part_stop ps;
	bool listed = false;
	size_t n = 0, k;
	int rc;

	*result = EXCLUSION_PENDING;
	/* Units its dead workers were moving run no more: they can be excluded. */
	if ((rc = store_units_reset_running(st, t->id)) < 0)
		return rc;
	if (store_exclusions_list(st, t->id, EXCLUSION_APPLIED, &xs, &n) == SYNC_OK) {
		for (k = 0; k < n; k++) {
			listed |= strcmp(xs[k].path, rel) == 0;
			exclusion_release(&xs[k]);
		}
		free(xs);
	}
	if ((rc = part_stop_in_store(st, t, rel, listed, &ps)) < 0 ||
	    (rc = store_exclusion_set_state(st, exclusion_id, ps.result)) < 0)
		return rc;
	*result = ps.result;
	/* What its dead workers were writing there is removed now. */
	if (ps.result == EXCLUSION_APPLIED)
		return clean_remote_prefix(st, t, cfg, rel);
	return SYNC_OK;
}
