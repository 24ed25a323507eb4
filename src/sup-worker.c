/* sup-worker: what one worker's rsync says, on its standard output and error. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "rsync-parse.h"
#include "sup-internal.h"
#include "util.h"

#define ERR_TAIL_MAX 2048         /* bytes of a worker's stderr kept for the reason */
#define RECENT_DIRS 16            /* directories of recent files kept for the cleanup */
#define SENT_TAIL 8192            /* files counted last by a run: those in its buffers */
#define FAR_FAILED "rsync: [receiver] "   /* how the far side's errors begin */

/* The index of the unit of w's batch that path belongs to. */
static size_t
worker_unit_of(const struct worker *w, const char *path)
{
	size_t i, k;

	/*
	 * rsync goes through its list in order: the same unit as before, or
	 * one after it, so look from there on (not from the start each time,
	 * which made a batch of n units cost n * n / 2 comparisons).
	 */
	for (k = 0; k < w->nunits; k++) {
		i = (w->cur_unit + k) % w->nunits;
		if (path_is_within(path, w->units[i].unit.path))
			return i;
	}
	return w->cur_unit;
}

/*
 * Remember the directory of a file rsync is sending. Its receiver runs
 * behind the sender by whatever the connection holds, many small files
 * perhaps: when the rsync is stopped, the partial data may be of any of
 * the last files, so the cleanup looks at their directories.
 */
static void
worker_note_recent_dir(struct worker *w, const char *file)
{
	const char *slash = strrchr(file, '/');
	size_t len = slash ? (size_t)(slash - file) : 0;
	struct strvec *d = &w->recent_dirs;

	if (d->nr > 0 && strlen(d->v[d->nr - 1]) == len + 1 &&
	    memcmp(d->v[d->nr - 1], file, len) == 0)
		return;
	if (d->nr >= RECENT_DIRS) {
		free(d->v[0]);
		memmove(d->v, d->v + 1, (d->nr - 1) * sizeof *d->v);
		d->v[--d->nr] = NULL;
	}
	/* A marker: "DIR/" stands for the partial files of DIR (see clean_leftovers). */
	strvec_pushf(d, "%.*s/", (int)len, file);
}

/*
 * The unit of a checked batch (sorted by check_batch) that path is in, or
 * w->nunits. Units never hold one another, so it can only be the last one
 * at or before path in tree order.
 */
static size_t
worker_checked_unit_of(const struct worker *w, const char *path)
{
	size_t lo = 0, hi = w->nunits;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (path_tree_cmp(w->units[mid].unit.path, path) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0 && path_is_within(path, w->units[lo - 1].unit.path))
		return lo - 1;
	return w->nunits;
}

/*
 * A dry run names what would change: the unit it is in differs. A
 * mirror's check (w->deletions) also names what the far side has and the
 * source lacks, for the mirror: that is no difference of a unit's; and a
 * directory there whose attributes alone differ (".d") is kept aside:
 * where the mirror deletes in it, its deletes set them (finish_check).
 */
static void
worker_on_check_event(const struct rsync_event *ev, struct worker *w)
{
	static const char deleting[] = "*deleting";
	size_t k;

	if (ev->kind == RSYNC_EV_NAME && ev->itemized[0]) {
		if (memcmp(ev->itemized, deleting, strlen(deleting)) == 0) {
			if (w->deletions)
				strvec_pushf(w->deletions, "%.*s%s", (int)ev->name_len, ev->name,
					     ev->is_dir ? "/" : "");
			return;
		}
		k = worker_checked_unit_of(w, ev->name);
		if (k >= w->nunits) {
			/* In no pending unit: above the cut, settled at the end (rsync_settle). */
			w->outside_differs = true;
			w->outside_created |= ev->itemized[0] == 'c';
			return;
		}
		if (w->deletions && ev->is_dir && ev->itemized[0] == '.' && ev->itemized[1] == 'd')
			strvec_pushf(&w->attr_dirs, "%.*s", (int)ev->name_len, ev->name);
		else
			w->units[k].differs = true;
	} else if (ev->kind == RSYNC_EV_NAME || ev->kind == RSYNC_EV_MESSAGE)
		log_untrusted(LOG_INFO, "rsync", ev->name, ev->name_len);
}

static int
worker_cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void
check_attr_dirs(struct worker *w)
{
	size_t i, k;

	/* In strcmp's order, for names_below (the mirror sorts them anyway). */
	if (w->deletions->nr > 1)
		qsort(w->deletions->v, w->deletions->nr, sizeof *w->deletions->v, worker_cmp_str);
	for (i = 0; i < w->attr_dirs.nr; i++) {
		k = worker_checked_unit_of(w, w->attr_dirs.v[i]);
		if (k >= w->nunits)
			continue;
		if (names_below(w->deletions, w->attr_dirs.v[i]))
			w->units[k].attrs_by_mirror = true;
		else
			w->units[k].differs = true;
	}
	strvec_clear(&w->attr_dirs);
}

/* lstat the worker's current file in the source. */
static bool
worker_source_stat(struct worker *w, struct stat *sb)
{
	struct strbuf path = STRBUF_INIT;
	bool ok;

	if (w->source_root == NULL)
		return false;
	strbuf_addstr(&path, w->source_root);
	if (path.len == 0 || path.buf[path.len - 1] != '/')
		strbuf_addch(&path, '/');
	strbuf_add(&path, w->current.buf, w->current.len);
	ok = lstat(path.buf, sb) == 0;
	strbuf_release(&path);
	return ok;
}

/* Do two stats of a file show the same modification and change times? */
bool
same_change_times(const struct stat *a, const struct stat *b)
{
	return a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void
worker_note_changed(struct worker *w, uint64_t bytes)
{
	struct batch_unit *b;
	struct stat now;

	if (w->current.len == 0 || w->cur_unit >= w->nunits || !S_ISREG(w->current_st.st_mode))
		return;
	b = &w->units[w->cur_unit];
	if (b->changed || !w->current_st_ok)
		return;
	if (!worker_source_stat(w, &now))
		return;   /* gone: rsync read it all before it went, or says it vanished */
	if (!same_change_times(&now, &w->current_st) || (uint64_t)now.st_size != bytes) {
		b->changed = true;
		strvec_push(&w->changed_files, w->current.buf);
	}
}

/* The first file of unit u that changed while w's rsync read it. */
const char *
changed_in(const struct worker *w, const struct unit *u)
{
	size_t k;

	for (k = 0; k < w->changed_files.nr; k++)
		if (path_is_within(w->changed_files.v[k], u->path))
			return w->changed_files.v[k];
	return u->path;
}

/* Is name in sv, sorted by cmp? Its place, or where it would go, in *at. */
bool
sorted_find_by(const struct strvec *sv, const char *name, int (*cmp)(const char *, const char *),
	       size_t *at)
{
	size_t lo = 0, hi = sv->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp(sv->v[mid], name);

		if (c == 0) {
			*at = mid;
			return true;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return false;
}

bool
sorted_find(const struct strvec *sv, const char *name, size_t *at)
{
	return sorted_find_by(sv, name, strcmp, at);
}

/*
 * The current file was sent whole: count it, to its unit too, once. The
 * sender says so when the file's last bytes are in its buffers: a run cut
 * off then (stopped, a dropped link) may lose them, and the run that sends
 * the file again must not count it again (see outcome_remember_sent).
 */
static void
worker_count_file_sent(struct worker *w, uint64_t bytes)
{
	size_t at;

	if (w->current.len)
		strvec_push(&w->sent_tail, w->current.buf);
	if (w->sent_tail.nr >= 2 * SENT_TAIL) {
		/* Far older than what buffers hold: they arrived. */
		for (at = 0; at < SENT_TAIL; at++)
			free(w->sent_tail.v[at]);
		memmove(w->sent_tail.v, w->sent_tail.v + SENT_TAIL,
			(w->sent_tail.nr - SENT_TAIL + 1) * sizeof *w->sent_tail.v);
		w->sent_tail.nr -= SENT_TAIL;
	}
	if (w->current.len && w->sent_unsure && w->sent_unsure->nr &&
	    sorted_find(w->sent_unsure, w->current.buf, &at)) {
		free(w->sent_unsure->v[at]);
		memmove(w->sent_unsure->v + at, w->sent_unsure->v + at + 1,
			(w->sent_unsure->nr - at) * sizeof *w->sent_unsure->v);
		w->sent_unsure->nr--;
		return;
	}
	w->bytes_done += bytes;
	w->files_done++;
	if (w->current_new)
		w->created++;
	else
		w->updated++;
	if (w->cur_unit < w->nunits) {
		w->units[w->cur_unit].bytes_done += bytes;
		w->units[w->cur_unit].files_done++;
	}
}

/* Rsync event callback: keep the worker's view of its current file. */
static void
worker_on_rsync_event(const struct rsync_event *ev, void *ctx)
{
	struct worker *w = ctx;

	if (w->kind == JOB_CHECK) {
		worker_on_check_event(ev, w);
		return;
	}
	switch (ev->kind) {
	case RSYNC_EV_NAME:
		/* rsync names only what it changes on the far side. */
		w->changed = true;
		strbuf_reset(&w->current);
		strbuf_reset(&w->last_file);
		w->current_new = rsync_itemized_new(ev->itemized);
		if (!rsync_itemized_data(ev->itemized)) {
			/*
			 * Made or changed there as named: no data follows.
			 * Directories are not counted: those above the cut are
			 * made by a mkdir that names none.
			 */
			if (w->current_new && !ev->is_dir)
				w->created++;
			else if (!ev->is_dir)
				w->updated++;
			/* Attributes alone: nothing is in flight. */
			if (ev->itemized[0] == '.')
				break;
		}
		if (!ev->is_dir) {
			strbuf_add(&w->current, ev->name, ev->name_len);
			w->cur_unit = worker_unit_of(w, w->current.buf);
			worker_note_recent_dir(w, w->current.buf);
			w->current_st_ok = worker_source_stat(w, &w->current_st);
		}
		w->file_bytes = 0;
		w->file_percent = 0;
		w->rate = 0;
		w->eta = -1;
		break;
	case RSYNC_EV_PROGRESS:
		w->file_bytes = ev->progress.bytes;
		w->file_percent = ev->progress.percent;
		w->rate = ev->progress.rate;
		w->eta = ev->progress.eta;
		if (ev->progress.final) {
			strbuf_reset(&w->last_file);
			strbuf_add(&w->last_file, w->current.buf, w->current.len);
			w->last_file_bytes = ev->progress.bytes;
			worker_note_changed(w, ev->progress.bytes);
			worker_count_file_sent(w, ev->progress.bytes);
			strbuf_reset(&w->current);
		}
		break;
	case RSYNC_EV_STATS:
		w->sent = ev->sent;
		return;
	case RSYNC_EV_MESSAGE:
		log_untrusted(LOG_INFO, "rsync", ev->name, ev->name_len);
		break;
	}
	w->dirty = true;
}

void
problem_release(struct file_problem *p)
{
	free(p->path);
	free(p->cause);
	memset(p, 0, sizeof *p);
}

void
worker_forget_problems(struct worker *w)
{
	size_t k;

	for (k = 0; k < w->nproblems; k++)
		problem_release(&w->problems[k]);
	w->nproblems = 0;
}

/*
 * Remember a source file that rsync says it did not send; what becomes
 * of it is decided with its unit's result (see outcome_take_problems).
 */
static void
worker_note_file_problem(struct worker *w, const char *line, size_t len)
{
	struct strbuf path = STRBUF_INIT, cause = STRBUF_INIT;
	enum rsync_file_problem kind = rsync_file_problem(line, len, &path, &cause);

	if (kind != RSYNC_FILE_NONE && w->nproblems < PROBLEMS_KEPT) {
		ALLOC_GROW(w->problems, w->nproblems, w->problems_alloc);
		w->problems[w->nproblems].path = strbuf_detach(&path, NULL);
		w->problems[w->nproblems].cause = strbuf_detach(&cause, NULL);
		w->problems[w->nproblems].vanished = kind == RSYNC_FILE_VANISHED;
		w->nproblems++;
	}
	strbuf_release(&path);
	strbuf_release(&cause);
}

/* Keep the tail of stderr and log it line by line, escaped. */
void
take_stderr(struct worker *w, const char *buf, size_t n)
{
	size_t i;

	strbuf_add(&w->err_tail, buf, n);
	if (w->err_tail.len > ERR_TAIL_MAX)
		strbuf_remove_front(&w->err_tail, w->err_tail.len - ERR_TAIL_MAX);
	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			/*
			 * An rsync stopped before it began, by its mkdir (a link
			 * above the cut): rsync's complaint says nothing.
			 */
			if (w->carries_mkdir && (w->mkdir_said == MKDIR_IN_WAY ||
						 w->mkdir_said == MKDIR_FAILED)) {
				strbuf_reset(&w->err_line);
				continue;
			}
			/* What the far side's writer of a piece says of it. */
			if (w->kind == JOB_PIECE &&
			    (piece_parse_written(w->err_line.buf, w->err_line.len,
						 &w->piece_written) == 0 ||
			     piece_parse_digest(w->err_line.buf, w->err_line.len,
						w->piece_digest) == 0)) {
				w->moved_at = now_monotonic();
				strbuf_reset(&w->err_line);
				continue;
			}
			if (w->carries_mkdir &&
			    take_mkdir_report(w, w->err_line.buf, w->err_line.len)) {
				strbuf_reset(&w->err_line);
				continue;
			}
			/* What the closing command after the last rsync says of itself. */
			if (w->settles && rsync_parse_then(w->err_line.buf, w->err_line.len,
							   &w->then_status) == 0) {
				strbuf_reset(&w->err_line);
				continue;
			}
			if (w->err_line.len) {
				log_untrusted(LOG_WARN, "rsync", w->err_line.buf, w->err_line.len);
				worker_note_file_problem(w, w->err_line.buf, w->err_line.len);
				/* It may not have written what our side counted as sent. */
				if (w->err_line.len > strlen(FAR_FAILED) &&
				    memcmp(w->err_line.buf, FAR_FAILED, strlen(FAR_FAILED)) == 0)
					w->far_failed = true;
			}
			strbuf_reset(&w->err_line);
		} else if (w->err_line.len < 4096)
			strbuf_addch(&w->err_line, buf[i]);
	}
}

/*
 * Take n bytes the pool read from descriptor fd of w's job (n == 0: its
 * end): rsync's progress and names, its errors, or a piece reader's count.
 */
void
worker_output(struct worker *w, int fd, const char *buf, size_t n)
{
	switch (fd) {
	case WORKER_OUT:
		if (n > 0)
			rsync_parser_feed(&w->parser, buf, n, worker_on_rsync_event, w);
		else
			rsync_parser_finish(&w->parser, worker_on_rsync_event, w);
		break;
	case WORKER_ERR:
		if (n > 0)
			take_stderr(w, buf, n);
		break;
	case WORKER_FEEDER_ERR:
		if (n > 0 && w->kind == JOB_PIECE) {
			take_feeder_output(w, buf, n);
			w->dirty = true;
		}
		break;
	}
}

/* The line of what w's rsync printed on stderr that says why it failed. */
void
last_error_line(struct worker *w, struct strbuf *out)
{
	rsync_error_reason(w->err_tail.buf, w->err_tail.len, out);
}
