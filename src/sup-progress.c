/* sup-progress: a transfer's progress to the store, the log and the terminal. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "sup-internal.h"
#include "util.h"

#define FLUSH_INTERVAL 1.0        /* seconds between progress writes */
/* Units said done by name at info; the others at -v, and counted in a line a minute. */
#define UNIT_LINES_MAX 100
#define UNIT_SUMMARY_EVERY 60.0

/*
 * The level of a unit's "done" line: info for the first UNIT_LINES_MAX,
 * debug (written at -v) after them, so that a transfer of a million units
 * does not rotate its own start out of the log; say_units_done counts them.
 */
enum log_level
unit_line_level(struct sup *s)
{
	if (s->unit_lines < UNIT_LINES_MAX) {
		s->unit_lines++;
		return LOG_INFO;
	}
	if (s->units_unsaid++ == 0 && s->units_said_at == 0)
		s->units_said_at = now_monotonic();
	return LOG_DEBUG;
}

/* Count the units done but not said, at most once a UNIT_SUMMARY_EVERY unless now. */
void
say_units_done(struct sup *s, bool now)
{
	if (s->units_unsaid == 0 ||
	    (!now && now_monotonic() - s->units_said_at < UNIT_SUMMARY_EVERY))
		return;
	log_info("%llu of %llu units done; %llu more since the last count (each by name at -v)",
		 (unsigned long long)s->units_done, (unsigned long long)s->units_total,
		 (unsigned long long)s->units_unsaid);
	s->units_unsaid = 0;
	s->units_said_at = now_monotonic();
}

/*
 * Bytes and files sent whole so far: finished batches plus what running
 * workers finished. Not the files in flight: a run cut off may leave their
 * data unfinished, and the run that finishes them counts them whole (the
 * views add what is in flight from the units' rows).
 */
void
running_totals(struct sup *s, uint64_t *bytes, uint64_t *files)
{
	int i;

	*bytes = s->bytes_done;
	*files = s->files_done;
	for (i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->workers[i];

		if (!w->job->busy || w->kind != JOB_UNIT)
			continue;
		*bytes += w->bytes_done;
		*files += w->files_done;
	}
}

/* Write the progress of running units to the store (bounded rate). */
void
flush_progress(struct sup *s, bool force)
{
	struct transfer_totals totals;
	struct unit_progress *p;
	double now = now_monotonic();
	uint64_t bytes, files;
	size_t n = 0;
	int i;

	if (!force && now - s->last_flush < FLUSH_INTERVAL)
		return;
	s->last_flush = now;
	/* A worker writes the row of its current unit, and clears the one before. */
	p = xcalloc((size_t)s->nworkers * 2, sizeof *p);
	for (i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->workers[i];
		struct batch_unit *b;

		if (!w->job->busy || w->kind != JOB_UNIT || !w->dirty || w->nunits == 0)
			continue;
		w->dirty = false;
		if (w->shown_unit != w->cur_unit && w->shown_unit < w->nunits) {
			b = &w->units[w->shown_unit];
			p[n].unit_id = b->unit.id;
			p[n].current_file = NULL;
			p[n].eta = -1;
			p[n].bytes_done = b->unit.bytes_sent + b->bytes_done;
			p[n].files_done = b->unit.files_sent + b->files_done;
			n++;
		}
		w->shown_unit = w->cur_unit < w->nunits ? w->cur_unit : 0;
		b = &w->units[w->shown_unit];
		p[n].unit_id = b->unit.id;
		p[n].current_file = w->current.len ? w->current.buf : NULL;
		p[n].node = nodes_of_worker(s, w);
		p[n].file_bytes = w->file_bytes;
		p[n].file_percent = w->file_percent;
		p[n].rate = w->rate;
		p[n].eta = w->eta;
		/* Read whole, not yet known to be there: in flight, never 100%. */
		if (w->current.len == 0 && w->last_file.len) {
			p[n].current_file = w->last_file.buf;
			p[n].file_bytes = w->last_file_bytes;
			p[n].file_percent = 99;
			p[n].eta = -1;
		}
		p[n].bytes_done = b->unit.bytes_sent + b->bytes_done;
		p[n].files_done = b->unit.files_sent + b->files_done;
		n++;
	}
	if (s->split.active) {
		struct split *sp = &s->split;
		double elapsed = now - sp->started;
		uint64_t got = split_bytes(s);

		p = xrealloc(p, ((size_t)s->nworkers * 2 + 1) * sizeof *p);
		memset(&p[n], 0, sizeof p[n]);
		p[n].unit_id = sp->unit.id;
		p[n].current_file = sp->unit.path;
		p[n].file_bytes = got;
		/*
		 * What the readers sent is not yet there: it may wait in buffers
		 * for a far side that does not take it. The file is whole only
		 * when the far side said so of every piece and it is under its
		 * name, and then it is no longer in flight: never 100% here,
		 * and no time left of 0 for bytes sent but not acknowledged.
		 */
		p[n].file_percent = sp->size ? (int)(got * 100 / sp->size) : 0;
		if (p[n].file_percent > 99)
			p[n].file_percent = 99;
		p[n].rate = elapsed > 0 ? (double)got / elapsed : 0;
		p[n].eta = p[n].rate > 0 && got < sp->size ?
			   (int64_t)((double)(sp->size - got) / p[n].rate) : -1;
		n++;
	}
	running_totals(s, &bytes, &files);
	totals.transfer_id = s->t.id;
	totals.bytes_done = bytes;
	totals.files_done = files;
	if (store_progress_write(s->st, p, n, &totals) < 0)
		log_warn("cannot record progress: %s", store_errmsg(s->st));
	free(p);
}

int
progress_due_ms(struct sup *s)
{
	double left = s->last_flush + FLUSH_INTERVAL - now_monotonic();
	int i;

	for (i = 0; i < s->nworkers; i++) {
		const struct worker *w = &s->workers[i];

		if (w->job->busy && w->kind == JOB_UNIT && w->dirty)
			return left > 0 ? (int)(left * 1000) + 1 : 0;
	}
	return -1;
}

/*
 * Draw the foreground progress line: the units settled, what the running
 * ones moved so far, their rates together, and the first file in flight.
 */
void
draw_progress(struct sup *s)
{
	struct progress_view v;
	int i;

	if (!s->pline.tty)
		return;
	memset(&v, 0, sizeof v);
	v.bytes = s->settled_bytes;
	v.files = s->settled_files;
	v.bytes_total = s->size_bytes;
	v.files_total = s->size_files;
	for (i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->workers[i];

		if (!w->job->busy || w->kind != JOB_UNIT)
			continue;
		v.bytes += w->bytes_done + (w->current.len ? w->file_bytes : 0);
		v.files += w->files_done;
		if (w->current.len) {
			v.rate += w->rate;
			if (v.file == NULL)
				v.file = w->current.buf;
		}
	}
	if (s->split.active) {
		uint64_t got = split_bytes(s);
		double elapsed = now_monotonic() - s->split.started;

		v.bytes += got;
		v.rate += elapsed > 0 ? (double)got / elapsed : 0;
		if (v.file == NULL)
			v.file = s->split.unit.path;
	}
	if (v.bytes > v.bytes_total)
		v.bytes = v.bytes_total;
	if (v.files > v.files_total)
		v.files = v.files_total;
	progress_line_draw(&s->pline, &v);
}

void
commit_with_totals(struct sup *s, bool in_tx, const char *what)
{
	uint64_t bytes, files;

	running_totals(s, &bytes, &files);
	if (store_transfer_set_totals(s->st, s->t.id, bytes, files) < 0)
		log_warn("cannot record progress: %s", store_errmsg(s->st));
	if (in_tx && store_commit(s->st) < 0) {
		log_warn("cannot record %s: %s", what, store_errmsg(s->st));
		store_rollback(s->st);
	}
}
