/* history: the transfers query --json and status show (see history.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd-options.h"
#include "history.h"
#include "proc.h"
#include "util.h"

#define INTERRUPTED_REASON "the supervisor process ended unexpectedly"

void
history_filter_init(struct history_filter *f, int64_t now)
{
	memset(f, 0, sizeof *f);
	f->since = now - HISTORY_DEFAULT_WINDOW;
}

int
history_parse_states(const char *s, unsigned *out, char *err, size_t errlen)
{
	const char *p = s;

	*out = 0;
	for (;;) {
		size_t len = strcspn(p, ",");
		int i, found = -1;

		for (i = TRANSFER_QUEUED; i <= TRANSFER_INTERRUPTED; i++) {
			const char *name = transfer_state_name((enum transfer_state)i);

			if (strlen(name) == len && strncmp(name, p, len) == 0)
				found = i;
		}
		if (len == 8 && strncmp(p, "watching", 8) == 0) {
			*out |= HISTORY_STATE_WATCHING;
		} else if (found < 0) {
			snprintf(err, errlen, "unknown state '%.*s' in '%s' (states: queued, "
				 "running, watching, done, failed, terminated, interrupted)",
				 (int)len, p, s);
			return -1;
		} else {
			*out |= 1u << found;
		}
		if (p[len] == '\0')
			return 0;
		p += len + 1;
	}
}

int
history_parse_since(const char *s, int64_t now, int64_t *out, char *err, size_t errlen)
{
	unsigned long long n;
	struct tm tm;
	const char *end;
	char *num, unit;
	size_t len = strlen(s);

	if (s[0] == '@' && parse_ullong(s + 1, 0, INT64_MAX, &n) == 0) {
		*out = (int64_t)n;
		return 0;
	}
	/* An age: digits and one unit letter. */
	if (len >= 2 && strchr("smhd", s[len - 1]) != NULL) {
		static const struct { char unit; unsigned long long seconds; } units[] = {
			{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
		};
		size_t i;

		unit = s[len - 1];
		num = xstrndup(s, len - 1);
		for (i = 0; i < sizeof units / sizeof units[0]; i++) {
			if (units[i].unit != unit)
				continue;
			if (parse_ullong(num, 0, (unsigned long long)INT64_MAX / units[i].seconds,
					 &n) == 0) {
				free(num);
				*out = now - (int64_t)(n * units[i].seconds);
				return 0;
			}
		}
		free(num);
	}
	/* A local date, or date and time. */
	memset(&tm, 0, sizeof tm);
	if (((end = strptime(s, "%Y-%m-%d", &tm)) != NULL && *end == '\0') ||
	    ((end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) != NULL && *end == '\0') ||
	    ((end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm)) != NULL && *end == '\0') ||
	    ((end = strptime(s, "%Y-%m-%dT%H:%M", &tm)) != NULL && *end == '\0') ||
	    ((end = strptime(s, "%Y-%m-%d %H:%M", &tm)) != NULL && *end == '\0')) {
		time_t t;

		tm.tm_isdst = -1;
		if ((t = mktime(&tm)) != (time_t)-1) {
			*out = (int64_t)t;
			return 0;
		}
	}
	snprintf(err, errlen, "cannot read time '%s' (use a date 2026-11-30, a local time "
		 "2026-11-30T08:00, an age such as 12h or 7d, or @EPOCH)", s);
	return -1;
}

int
history_option(struct history_filter *f, int c, const char *arg, int64_t now,
	       char *err, size_t errlen)
{
	unsigned long long id;

	switch (c) {
	case CMD_OPT_ID:
		if (parse_ullong(arg, 1, INT64_MAX, &id) < 0) {
			snprintf(err, errlen, "invalid transfer id '%s'", arg);
			return -1;
		}
		f->id = (int64_t)id;
		return 1;
	case CMD_OPT_STATE:
		return history_parse_states(arg, &f->states, err, errlen) < 0 ? -1 : 1;
	case CMD_OPT_ALL:
		f->all = true;
		return 1;
	case CMD_OPT_SINCE:
		return history_parse_since(arg, now, &f->since, err, errlen) < 0 ? -1 : 1;
	default:
		return 0;
	}
}

/* The files in flight of every running transfer, read in one snapshot. */
struct live_set {
	struct {
		int64_t transfer_id;
		struct history_file f;
	} *rows;
	size_t n, alloc;
};

static int
collect_live(const struct live_file *lf, void *ctx)
{
	struct live_set *ls = ctx;

	ALLOC_GROW(ls->rows, ls->n, ls->alloc);
	ls->rows[ls->n].transfer_id = lf->transfer_id;
	ls->rows[ls->n].f.path = xstrdup(lf->current_file);
	ls->rows[ls->n].f.node = lf->node ? xstrdup(lf->node) : NULL;
	ls->rows[ls->n].f.bytes_done = lf->file_bytes;
	ls->rows[ls->n].f.percent = lf->file_percent;
	ls->rows[ls->n].f.rate = lf->rate;
	ls->n++;
	return 0;
}

struct walk {
	struct store *st;
	const struct history_filter *f;
	int64_t now;
	struct live_set live;
	history_fn fn;
	void *ctx;
	int rc;
};

/* The bit of the state t is shown in (a watch alive is watching, not running). */
static unsigned
shown_state_bit(const struct transfer *t)
{
	return t->watch && t->state == TRANSFER_RUNNING ? HISTORY_STATE_WATCHING :
	       1u << t->state;
}

static bool
selected(const struct walk *w, const struct transfer *t)
{
	if (w->f->id != 0 && t->id != w->f->id)
		return false;
	if (w->f->states != 0 && !(w->f->states & shown_state_bit(t)))
		return false;
	/* Interrupted ones wait for a resume: as much news as running ones. */
	if (w->f->id != 0 || w->f->all || !transfer_state_finished(t->state) ||
	    t->state == TRANSFER_INTERRUPTED)
		return true;
	return (t->finished_at ? t->finished_at : t->created_at) >= w->f->since;
}

static void
entry_release(struct history_entry *e)
{
	size_t i;

	for (i = 0; i < e->nhosts; i++)
		entry_release(&e->hosts[i]);
	free(e->hosts);
	transfer_release(&e->t);
	cycle_release(&e->last_cycle);
	free(e->files);
	memset(e, 0, sizeof *e);
}

/*
 * found as it is shown, into *t: a running transfer without its
 * supervisor has been interrupted (recorded so here); one that runs on
 * another node is not ours to judge. 1 when it moved on meanwhile (shown
 * next time), else 0 or a negative code.
 */
static int
shown_transfer(struct walk *w, const struct transfer *found, struct transfer *t)
{
	if (found->state == TRANSFER_RUNNING && !proc_alive_anywhere(&found->supervisor)) {
		if (store_transfer_mark_interrupted(w->st, found->id, &found->supervisor,
						    INTERRUPTED_REASON) < 0)
			return 1;
		return store_transfer_get(w->st, found->id, t);
	}
	/* The callback's record is borrowed. */
	transfer_copy(t, found);
	return 0;
}

static int build_entry(struct walk *w, struct transfer *t, struct history_entry *e);

/* The hosts of a transfer to several, each an entry; e's sizes are theirs summed. */
static int
build_hosts(struct walk *w, struct history_entry *e)
{
	struct transfer *rows;
	size_t n, i, k;
	int rc;

	if ((rc = store_transfer_children(w->st, e->t.id, &rows, &n)) < 0)
		return rc;
	e->hosts = xcalloc(n ? n : 1, sizeof *e->hosts);
	for (i = 0; i < n && rc >= 0; i++) {
		struct history_entry *h = &e->hosts[e->nhosts];
		struct transfer t;

		if ((rc = shown_transfer(w, &rows[i], &t)) < 0)
			break;
		if (rc == 1)
			transfer_copy(&t, &rows[i]);
		rc = build_entry(w, &t, h);
		e->nhosts++;
		if (rc < 0)
			break;
		for (k = 0; k < sizeof e->sizes.units / sizeof *e->sizes.units; k++)
			e->sizes.units[k] += h->sizes.units[k];
		e->sizes.files_total += h->sizes.files_total;
		e->sizes.bytes_total += h->sizes.bytes_total;
		e->sizes.files_settled += h->sizes.files_settled;
		e->sizes.bytes_settled += h->sizes.bytes_settled;
		e->sizes.bytes_moving += h->sizes.bytes_moving;
		e->sizes.files_failed += h->sizes.files_failed;
		e->sizes.rate += h->sizes.rate;
	}
	for (i = 0; i < n; i++)
		transfer_release(&rows[i]);
	free(rows);
	return rc < 0 ? rc : SYNC_OK;
}

/* Fill e from t (taken over) and what the store knows of its units. */
static int
build_entry(struct walk *w, struct transfer *t, struct history_entry *e)
{
	size_t i, alloc = 0;
	int rc;

	memset(e, 0, sizeof *e);
	e->t = *t;
	memset(t, 0, sizeof *t);
	if ((rc = e->t.fanout ? build_hosts(w, e) :
		  store_transfer_sizes(w->st, e->t.id, &e->sizes)) < 0)
		return rc;
	if (e->t.watch && e->t.cycles > 0) {
		if ((rc = store_cycle_last(w->st, e->t.id, &e->last_cycle)) < 0 &&
		    rc != SYNC_ERR_NOT_FOUND)
			return rc;
		e->has_last_cycle = rc == SYNC_OK;
	}
	e->remaining = -1;
	e->now = w->now;
	e->elsewhere = !transfer_state_finished(e->t.state) && proc_elsewhere(&e->t.supervisor);
	if (e->t.state == TRANSFER_RUNNING) {
		e->rate = e->sizes.rate;
		for (i = 0; i < w->live.n; i++)
			if (w->live.rows[i].transfer_id == e->t.id) {
				ALLOC_GROW(e->files, e->nfiles, alloc);
				e->files[e->nfiles++] = w->live.rows[i].f;
			}
		if (e->t.planned && e->rate > 0 && e->sizes.bytes_total >= e->sizes.bytes_settled)
			e->remaining = (int64_t)((double)(e->sizes.bytes_total -
							  e->sizes.bytes_settled) / e->rate);
		/* Several hosts: done when the last is. */
		for (i = 0; i < e->nhosts; i++)
			if (e->hosts[i].remaining > e->remaining)
				e->remaining = e->hosts[i].remaining;
	} else if (e->t.started_at > 0 && e->t.finished_at > e->t.started_at) {
		e->rate = (double)e->t.bytes_done / (double)(e->t.finished_at - e->t.started_at);
	}
	if (e->t.state == TRANSFER_DONE) {
		e->percent = 100;
		e->remaining = 0;
	} else if (e->sizes.bytes_total > 0) {
		/* Of what is settled: a file found up to date counts as much as one sent. */
		uint64_t p = e->sizes.bytes_settled * 100 / e->sizes.bytes_total;

		/* 100% only once it is done. */
		e->percent = p >= 100 ? 99 : (int)p;
	}
	return SYNC_OK;
}

static int
visit(const struct transfer *found, void *ctx)
{
	struct walk *w = ctx;
	struct history_entry e;
	struct transfer t;
	int rc;

	/* A host's transfer is shown with its request's, unless named by id. */
	if (found->parent_id && w->f->id == 0)
		return 0;
	if ((rc = shown_transfer(w, found, &t)) == 1)
		return 0;
	if (rc < 0) {
		w->rc = rc;
		return 1;
	}
	if (!selected(w, &t)) {
		transfer_release(&t);
		return 0;
	}
	if ((rc = build_entry(w, &t, &e)) < 0) {
		w->rc = rc;
		entry_release(&e);
		return 1;
	}
	rc = w->fn(&e, w->ctx);
	entry_release(&e);
	if (rc != 0) {
		w->rc = rc;
		return 1;
	}
	return 0;
}

int
history_foreach(struct store *st, const struct history_filter *f, int64_t now,
		history_fn fn, void *ctx)
{
	struct walk w;
	size_t i;
	int rc;

	memset(&w, 0, sizeof w);
	w.st = st;
	w.f = f;
	w.now = now;
	w.fn = fn;
	w.ctx = ctx;
	if ((rc = store_live_foreach(st, collect_live, &w.live)) < 0)
		goto out;
	if (f->id != 0) {
		struct transfer t;

		if ((rc = store_transfer_get(st, f->id, &t)) < 0)
			goto out;
		visit(&t, &w);
		transfer_release(&t);
	} else {
		/* The store reads only what is shown; selected() decides on the state shown. */
		struct transfer_filter tf;

		memset(&tf, 0, sizeof tf);
		/* A watch alive is running in the store. */
		tf.states = f->states & ~HISTORY_STATE_WATCHING;
		if (f->states & HISTORY_STATE_WATCHING)
			tf.states |= 1u << TRANSFER_RUNNING;
		tf.windowed = !f->all;
		tf.since = f->since;
		if ((rc = store_transfer_foreach(st, &tf, visit, &w)) < 0)
			goto out;
	}
	rc = w.rc;
out:
	for (i = 0; i < w.live.n; i++) {
		free(w.live.rows[i].f.path);
		free(w.live.rows[i].f.node);
	}
	free(w.live.rows);
	return rc;
}
