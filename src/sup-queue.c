/*
 * sup-queue: what runs next (the store's order, retries, the unit held
 * back, the batch gathered aside), and how big a batch is.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compress.h"
#include "log.h"
#include "sup-internal.h"
#include "util.h"

/* A unit counts as at least one file: it is one entry of rsync's list. */
uint64_t
unit_files(const struct unit *u)
{
	return u->size.files ? u->size.files : 1;
}

/* Run u again after delay seconds; *u is taken (zeroed). alone: in an rsync of its own. */
void
queue_retry(struct sup *s, struct unit *u, double delay, bool alone)
{
	ALLOC_GROW(s->retries, s->nretries, s->retries_alloc);
	s->retries[s->nretries].unit = *u;
	s->retries[s->nretries].not_before = now_monotonic() + delay;
	s->retries[s->nretries].alone = alone;
	/* A unit that ran once goes whole: rsync continues from what arrived. */
	s->retries[s->nretries].whole = true;
	s->nretries++;
	/* It is left to do again (see queue_take_from_left). */
	s->left_files += unit_files(u);
	s->left_bytes += u->size.bytes;
	memset(u, 0, sizeof *u);
}

/* w's batch goes back to be run again, as if it had not run (attempts unchanged). */
void
give_back_batch(struct sup *s, struct worker *w)
{
	size_t i;

	for (i = 0; i < w->nunits; i++) {
		store_unit_set_state(s->st, w->units[i].unit.id, UNIT_PENDING,
				     w->units[i].unit.attempts, NULL);
		queue_retry(s, &w->units[i].unit, 0, false);
	}
	w->nunits = 0;
}

/* Put a unit back to pending, as if it had not run (attempts unchanged). */
void
requeue_unit(struct sup *s, struct unit *u, bool run_again)
{
	store_unit_set_state(s->st, u->id, UNIT_PENDING, u->attempts, NULL);
	if (run_again)
		queue_retry(s, u, 0, false);
	else
		unit_release(u);
}

/*
 * A unit whose source is gone since the walk (deleted, or renamed, before
 * a resume) is done: there is nothing left to send, as when rsync reports
 * files that vanished while it ran.
 */
static bool
queue_unit_vanished(struct sup *s, struct unit *u)
{
	struct strbuf path = STRBUF_INIT, esc = STRBUF_INIT;
	struct stat sb;
	bool gone;

	/* A source that is not local is asked by its helpers, which say what vanished. */
	if (s->transport->walk)
		return false;
	strbuf_addstr(&path, s->source_root);
	if (path.len == 0 || path.buf[path.len - 1] != '/')
		strbuf_addch(&path, '/');
	strbuf_addstr(&path, u->path);
	gone = lstat(path.buf, &sb) < 0 && (errno == ENOENT || errno == ENOTDIR);
	if (gone) {
		escape_untrusted(&esc, u->path, strlen(u->path));
		add_problem(s, u->path, "vanished", true);
		store_unit_set_done(s->st, u->id, u->attempts, 0, 0);
		count_done(s, u);
		unit_release(u);
	}
	strbuf_release(&path);
	strbuf_release(&esc);
	return gone;
}

/* Read the next pending units from the store once those read are taken. */
static int
queue_refill(struct sup *s)
{
	if (s->batch_pos < s->batch_n || s->store_drained)
		return SYNC_OK;
	s->batch_pos = s->batch_n = 0;
	if (store_unit_next_pending(s->st, s->t.id, s->cursor, s->batch, UNIT_BATCH,
				    &s->batch_n) < 0) {
		log_error("%s", store_errmsg(s->st));
		return SYNC_ERR_STORE;
	}
	if (s->batch_n == 0) {
		s->store_drained = true;
		return SYNC_OK;
	}
	/*
	 * Fed from another host: in the store's order, as far as the units
	 * are done there (the rest waits for the next look); the feeding
	 * host's transfer sends them in that order too.
	 */
	if (s->relay.gate) {
		size_t k = 0, n = s->batch_n;

		while (k < n && relay_unit_ready(s, &s->batch[k]))
			k++;
		s->batch_n = k;
		while (k < n)
			unit_release(&s->batch[k++]);
		if (s->batch_n == 0)
			return SYNC_OK;
	}
	s->cursor = s->batch[s->batch_n - 1].id;
	return SYNC_OK;
}

/*
 * Is what self runs (or is about to) the last of the transfer: nothing
 * pending, due later, held, aside, running elsewhere, or in pieces still
 * to move (a split whose pieces have all ended is what ends now)?
 */
bool
nothing_else_left(struct sup *s, const struct worker *self)
{
	int i;

	if (s->have_held || s->nretries > 0 || s->napart > 0 ||
	    (s->split.active && (s->split.running > 0 || s->split.next < s->split.npieces)))
		return false;
	for (i = 0; i < s->nworkers; i++)
		if (&s->workers[i] != self && s->workers[i].job->busy)
			return false;
	return queue_refill(s) == SYNC_OK && s->batch_pos == s->batch_n && s->store_drained;
}

/*
 * Take the next unit to run: one held back from the last batch, a due
 * retry, then the store's order. *alone: it must run in an rsync of its own.
 */
static bool
queue_next_unit(struct sup *s, struct unit *out, bool *alone, bool *whole)
{
	long due;

	*alone = *whole = false;
	if (s->have_held) {
		*out = s->held.unit;
		*alone = s->held.alone;
		*whole = s->held.whole;
		memset(&s->held, 0, sizeof s->held);
		s->have_held = false;
		return true;
	}
	if ((due = batch_retry_due(s->retries, s->nretries, now_monotonic())) >= 0) {
		size_t i = (size_t)due;

		*out = s->retries[i].unit;
		*alone = s->retries[i].alone;
		*whole = s->retries[i].whole;
		/* Keep the order: units of one batch go on together. */
		memmove(&s->retries[i], &s->retries[i + 1],
			(s->nretries - i - 1) * sizeof *s->retries);
		s->nretries--;
		return true;
	}
	if (queue_refill(s) < 0)
		return false;
	if (s->batch_pos < s->batch_n) {
		*out = s->batch[s->batch_pos];
		memset(&s->batch[s->batch_pos], 0, sizeof s->batch[s->batch_pos]);
		s->batch_pos++;
		return true;
	}
	return false;
}

/*
 * Choose how much the next rsync moves: enough that its start (a remote
 * login, two processes on each side) is small beside its work. Where the
 * link is near, a start costs little: one batch per worker, of equal
 * shares. Elsewhere each batch takes a worker's share of what is left, so
 * batches shrink as the work does: the workers start their rsyncs at
 * different times, each start's round trips hidden behind the others'
 * data (equal batches ended together and left the link idle while all of
 * them started again), and the last batches, small, end close together.
 */
static void
queue_size_next_batch(struct sup *s, bool small)
{
	/* Batches of small files run fewer at once (see queue_small_unit). */
	int workers = small && s->small_cap < s->active_workers ? s->small_cap : s->active_workers;
	struct batch_size size;

	/* Over several nodes: smaller shares, so that the last batches spread over them. */
	if (nodes_pending(s))
		workers = nodes_scale(s, workers) * NODES_SHARES;
	size = batch_share(s->left_files, s->left_bytes,
			   s->feeds ? workers * RELAY_FEED_SHARES : workers);

	s->batch_files = size.files;
	s->batch_bytes = size.bytes;
}

/* Start the sizing of batches from what is pending now. */
void
choose_batch_size(struct sup *s)
{
	struct unit_size pending;

	if (store_units_pending_size(s->st, s->t.id, &pending) < 0)
		pending.files = pending.bytes = 0;
	s->left_files = pending.files;
	s->left_bytes = pending.bytes;
	queue_size_next_batch(s, false);
	log_debug("first batches of up to %llu files or %llu bytes",
		  (unsigned long long)s->batch_files, (unsigned long long)s->batch_bytes);
}

/*
 * What is left, after a part was stopped: what the store has pending, but
 * the big compressed files gathered aside (taken already, see queue_take_apart).
 */
void
recount_left(struct sup *s)
{
	struct unit_size pending;

	if (store_units_pending_size(s->st, s->t.id, &pending) < 0)
		return;
	s->left_files = pending.files > s->apart_files ? pending.files - s->apart_files : 0;
	s->left_bytes = pending.bytes > s->apart_bytes ? pending.bytes - s->apart_bytes : 0;
}

/* Count a unit taken into a batch off what is left. */
static void
queue_take_from_left(struct sup *s, const struct unit *u)
{
	uint64_t files = unit_files(u);

	s->left_files -= files < s->left_files ? files : s->left_files;
	s->left_bytes -= u->size.bytes < s->left_bytes ? u->size.bytes : s->left_bytes;
}

/*
 * Is u a file whose name says it is compressed, where compression is being
 * decided batch by batch? Such files are batched apart from the others,
 * when they are big enough to be worth an rsync of their own: a small one
 * only weighs in the batch's sample as data that does not compress.
 */
static bool
queue_compressed_already(const struct sup *s, const struct unit *u)
{
	return !s->near && s->cfg->compress == COMPRESS_AUTO && u->kind == UNIT_FILE &&
	       u->size.bytes >= COMPRESS_APART_MIN && compress_suffix_skipped(u->path);
}

/*
 * Is u mostly small files? Their cost is the CPU's, per file, not the
 * link's: more batches of them at once than half the CPUs take turns.
 */
static bool
queue_small_unit(const struct unit *u)
{
	return u->size.bytes / unit_files(u) < SMALL_FILE_BYTES;
}

/* How many workers are running a batch of small files? */
static int
queue_busy_small(const struct sup *s)
{
	int i, n = 0;

	for (i = 0; i < s->nworkers; i++) {
		const struct worker *w = &s->workers[i];

		n += w->job->busy && w->kind == JOB_UNIT && w->small;
	}
	return n;
}

/* Has the batch of compressed files gathered aside its share? */
static bool
queue_apart_full(const struct sup *s)
{
	return s->napart >= BATCH_UNITS_MAX || s->apart_files >= s->batch_files ||
	       s->apart_bytes >= s->batch_bytes;
}

/* Make the batch gathered aside w's batch. */
static bool
queue_take_apart(struct sup *s, struct worker *w)
{
	size_t k;

	for (k = 0; k < s->napart; k++) {
		ALLOC_GROW(w->units, w->nunits, w->units_alloc);
		memset(&w->units[w->nunits], 0, sizeof *w->units);
		w->units[w->nunits++].unit = s->apart[k];
	}
	s->napart = 0;
	s->apart_files = s->apart_bytes = 0;
	return w->nunits > 0;
}

/*
 * Fill w's batch with the next units: in order, until the batch holds its
 * share of files or bytes. A unit that would overflow a non-empty batch is
 * held for the next one. Big files named as compressed formats, where
 * compression is decided batch by batch, gather in a batch of their own
 * aside (side by side with other files, they must not make a batch of each
 * file). Returns false when nothing is due.
 */
bool
next_batch(struct sup *s, struct worker *w)
{
	struct batch_fill fill = { 0, 0, 0 };
	struct batch_size lim;
	struct unit u;
	bool alone, whole, exhausted = true;

	w->nunits = 0;
	w->small = false;
	if (s->napart > 0 && queue_apart_full(s))
		return queue_take_apart(s, w);
	for (;;) {
		struct batch_candidate c;
		struct batch_unit *b;

		if (!queue_next_unit(s, &u, &alone, &whole))
			break;
		if (queue_unit_vanished(s, &u)) {
			queue_take_from_left(s, &u);
			continue;
		}
		reclaim_pieces(s, &u);
		c.files = unit_files(&u);
		c.bytes = u.size.bytes;
		c.alone = alone;
		c.pieces = !whole && split_candidate(s, &u);
		/* One of the last files over the nodes: after the file in pieces now, in pieces. */
		if (!c.pieces && !whole && fill.nunits == 0 && nodes_split_waits(s, &u)) {
			s->held.unit = u;
			s->held.alone = alone;
			s->held.whole = whole;
			s->have_held = true;
			exhausted = false;
			goto out;
		}
		c.compressed_apart = queue_compressed_already(s, &u);
		c.small = queue_small_unit(&u);
		lim.files = s->batch_files;
		lim.bytes = s->batch_bytes;
		switch (batch_place(&lim, &fill, &c, queue_busy_small(s),
				    nodes_scale(s, s->small_cap))) {
		case PLACE_APART:
			ALLOC_GROW(s->apart, s->napart, s->apart_alloc);
			s->apart[s->napart++] = u;
			s->apart_files += c.files;
			s->apart_bytes += c.bytes;
			queue_take_from_left(s, &u);
			if (queue_apart_full(s)) {
				exhausted = false;
				goto out;
			}
			continue;
		case PLACE_HOLD:
			s->held.unit = u;
			s->held.alone = alone;
			s->held.whole = whole;
			s->have_held = true;
			exhausted = false;
			goto out;
		case PLACE_PIECES:
		case PLACE_ADD:
			break;
		}
		/* Far, the batch's size follows from what is left (see queue_size_next_batch). */
		if (fill.nunits == 0 && (!s->near || nodes_pending(s)))
			queue_size_next_batch(s, c.small);
		if (c.pieces) {
			/* It moves in pieces, on this worker and the next free ones. */
			queue_take_from_left(s, &u);
			begin_split(s, &u);
			return false;
		}
		/* The batch counts against the small-file cap as its first unit says. */
		if (fill.nunits == 0)
			w->small = c.small;
		ALLOC_GROW(w->units, w->nunits, w->units_alloc);
		b = &w->units[w->nunits++];
		memset(b, 0, sizeof *b);
		b->unit = u;
		fill.nunits++;
		fill.files += c.files;
		fill.bytes += c.bytes;
		queue_take_from_left(s, &b->unit);
		lim.files = s->batch_files;
		lim.bytes = s->batch_bytes;
		if (batch_full(&lim, &fill, alone)) {
			exhausted = false;
			break;
		}
	}
out:
	/* Nothing else due, or the batch aside is full: it goes now. */
	if (w->nunits == 0 && s->napart > 0 && (exhausted || queue_apart_full(s)))
		return queue_take_apart(s, w);
	return w->nunits > 0;
}

/*
 * Drop queued units (read ahead, held, waiting for a retry, or gathered
 * aside) at or below path. They are all pending in the store, which has
 * excluded and counted them already.
 */
void
drop_queued(struct sup *s, const char *path)
{
	size_t i, k;

	for (i = k = s->batch_pos; i < s->batch_n; i++) {
		if (path_is_within(s->batch[i].path, path))
			unit_release(&s->batch[i]);
		else
			s->batch[k++] = s->batch[i];
	}
	s->batch_n = k;
	for (i = k = 0; i < s->nretries; i++) {
		if (path_is_within(s->retries[i].unit.path, path)) {
			store_unit_set_state(s->st, s->retries[i].unit.id, UNIT_EXCLUDED,
					     s->retries[i].unit.attempts, NULL);
			unit_release(&s->retries[i].unit);
		} else
			s->retries[k++] = s->retries[i];
	}
	s->nretries = k;
	if (s->have_held && path_is_within(s->held.unit.path, path)) {
		store_unit_set_state(s->st, s->held.unit.id, UNIT_EXCLUDED,
				     s->held.unit.attempts, NULL);
		unit_release(&s->held.unit);
		s->have_held = false;
	}
	for (i = k = 0; i < s->napart; i++) {
		if (path_is_within(s->apart[i].path, path)) {
			store_unit_set_state(s->st, s->apart[i].id, UNIT_EXCLUDED,
					     s->apart[i].attempts, NULL);
			s->apart_files -= unit_files(&s->apart[i]);
			s->apart_bytes -= s->apart[i].size.bytes;
			unit_release(&s->apart[i]);
		} else
			s->apart[k++] = s->apart[i];
	}
	s->napart = k;
}

/* Could u move in pieces, by its size and the link (split_candidate asks more)? */
bool
may_split(const struct sup *s, const struct unit *u)
{
	/* A relayed file comes whole from the host that has it. */
	return s->split_ok && !s->relay.on && u->kind == UNIT_FILE &&
	       u->size.bytes >= s->split_min;
}

/*
 * Would one rsync take everything that is pending (see next_batch and
 * queue_size_next_batch; in doubt, no)? Then a dry run first only doubles the
 * walk on both sides that rsync does anyway.
 */
bool
one_rsync_takes_all(struct sup *s)
{
	struct unit_size pending;
	uint64_t counts[5], units;
	int workers = s->active_workers;

	if (s->feeds || (s->split_ok && s->largest_file >= s->split_min) ||
	    (!s->near && s->cfg->compress == COMPRESS_AUTO && s->compressed_files > 0) ||
	    s->excludes.nr > 0 ||
	    store_units_pending_size(s->st, s->t.id, &pending) < 0 ||
	    store_unit_counts(s->st, s->t.id, counts) < 0)
		return false;
	units = counts[UNIT_PENDING];
	/* Far, batches of small files are sized for fewer workers. */
	if (!s->near && s->units_not_small == 0 && s->small_cap < workers)
		workers = s->small_cap;
	workers = nodes_scale(s, workers);
	return batch_takes_all(units, pending.files, pending.bytes, workers);
}
