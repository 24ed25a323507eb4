/* report: query's JSON for machines and status's table for people (see report.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "format.h"
#include "history.h"
#include "report.h"

struct legacy_list {
	json_t *array;
};

struct legacy_list *
legacy_list_new(void)
{
	struct legacy_list *l = xcalloc(1, sizeof *l);

	l->array = json_array();
	if (l->array == NULL)
		fatal("out of memory building JSON");
	return l;
}

/* Set key to a new JSON string holding s (valid UTF-8). */
static void
set_string(json_t *obj, const char *key, const char *s)
{
	json_t *v = json_string(s);

	if (v == NULL || json_object_set_new(obj, key, v) < 0)
		fatal("cannot build JSON value for '%s'", key);
}

void
legacy_list_add(struct legacy_list *l, const struct legacy_row *row)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *obj = json_object();
	int percent = row->percent < 0 ? 0 : row->percent > 100 ? 100 : row->percent;

	if (obj == NULL)
		fatal("out of memory building JSON");
	display_path(&sb, row->address);
	set_string(obj, "recvAddress", sb.buf);
	strbuf_reset(&sb);
	display_path(&sb, row->file_path);
	set_string(obj, "filePath", sb.buf);
	strbuf_reset(&sb);
	fmt_thousands(&sb, row->bytes);
	set_string(obj, "transferSize", sb.buf);
	strbuf_reset(&sb);
	strbuf_addf(&sb, "%d%%", percent);
	set_string(obj, "progress", sb.buf);
	strbuf_reset(&sb);
	fmt_rate(&sb, row->rate);
	set_string(obj, "speed", sb.buf);
	strbuf_reset(&sb);
	fmt_hms(&sb, row->eta);
	set_string(obj, "leftTime", sb.buf);
	strbuf_release(&sb);
	if (json_array_append_new(l->array, obj) < 0)
		fatal("out of memory building JSON");
}

int
legacy_list_write(struct legacy_list *l, FILE *f)
{
	char *text = json_dumps(l->array, JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	size_t len;

	if (text == NULL)
		fatal("out of memory serialising JSON");
	len = strlen(text);
	if (fwrite(text, 1, len, f) != len) {
		free(text);
		return SYNC_ERR_SYSTEM;
	}
	free(text);
	return SYNC_OK;
}

void
legacy_list_free(struct legacy_list *l)
{
	if (l == NULL)
		return;
	json_decref(l->array);
	free(l);
}

/* ---- query --json ------------------------------------------------------ */


struct json_report {
	json_t *root;
	json_t *transfers;
};

struct json_report *
json_report_new(void)
{
	struct json_report *r = xcalloc(1, sizeof *r);

	r->root = json_object();
	r->transfers = json_array();
	if (r->root == NULL || r->transfers == NULL ||
	    json_object_set_new(r->root, "version", json_integer(QUERY_JSON_VERSION)) < 0 ||
	    json_object_set(r->root, "transfers", r->transfers) < 0)
		fatal("out of memory building JSON");
	return r;
}

static void
set_new(json_t *obj, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(obj, key, v) < 0)
		fatal("cannot build JSON value for '%s'", key);
}

static void
base64(struct strbuf *out, const unsigned char *s, size_t len)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		strbuf_addch(out, digits[s[i] >> 2]);
		strbuf_addch(out, digits[((s[i] & 3) << 4) | (s[i + 1] >> 4)]);
		strbuf_addch(out, digits[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)]);
		strbuf_addch(out, digits[s[i + 2] & 63]);
	}
	if (len - i == 1) {
		strbuf_addch(out, digits[s[i] >> 2]);
		strbuf_addch(out, digits[(s[i] & 3) << 4]);
		strbuf_addstr(out, "==");
	} else if (len - i == 2) {
		strbuf_addch(out, digits[s[i] >> 2]);
		strbuf_addch(out, digits[((s[i] & 3) << 4) | (s[i + 1] >> 4)]);
		strbuf_addch(out, digits[(s[i + 1] & 15) << 2]);
		strbuf_addch(out, '=');
	}
}

/*
 * A path as JSON: key holds it with invalid UTF-8 shown as U+FFFD; when
 * that lost something, key_base64 holds the exact bytes as well.
 */
static void
set_path(json_t *obj, const char *key, const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	size_t len = strlen(path);

	display_path(&sb, path);
	set_new(obj, key, json_string(sb.buf));
	if (!utf8_valid(path, len)) {
		char *raw_key = xasprintf("%s_base64", key);

		strbuf_reset(&sb);
		base64(&sb, (const unsigned char *)path, len);
		set_new(obj, raw_key, json_string(sb.buf));
		free(raw_key);
	}
	strbuf_release(&sb);
}

/* How a transfer's state shows: a watch alive between or in its cycles is watching. */
static const char *
shown_state(const struct transfer *t)
{
	return t->watch && t->state == TRANSFER_RUNNING ? "watching" :
	       transfer_state_name(t->state);
}

/* Epoch seconds as "2026-12-01T21:40:00Z", or null when unset. */
static json_t *
json_time(int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char buf[32];

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static json_t *
json_uint(uint64_t n)
{
	return json_integer(n > (uint64_t)INT64_MAX ? (json_int_t)INT64_MAX : (json_int_t)n);
}

/* A watch's cycle, as query --json shows its last one. */
static json_t *
json_cycle(const struct cycle *c)
{
	json_t *obj = json_object();

	if (obj == NULL)
		fatal("out of memory building JSON");
	set_new(obj, "n", json_uint(c->n));
	set_new(obj, "started_at", json_time(c->started_at));
	set_new(obj, "seconds", json_real(c->seconds));
	set_new(obj, "files", json_uint(c->files));
	set_new(obj, "created", json_uint(c->created));
	set_new(obj, "updated", json_uint(c->updated));
	set_new(obj, "bytes", json_uint(c->bytes));
	set_new(obj, "deleted", json_uint(c->deleted));
	set_new(obj, "failed", json_uint(c->failed));
	set_new(obj, "full_scan", json_boolean(c->full_scan));
	if (c->error)
		set_path(obj, "error", c->error);
	else
		set_new(obj, "error", json_null());
	return obj;
}

/* One transfer as query --json shows it; a request to several hosts with each host's. */
static json_t *
entry_object(const struct history_entry *e)
{
	const struct transfer *t = &e->t;
	json_t *obj = json_object(), *files = json_array();
	struct strbuf sb = STRBUF_INIT;
	char *root = path_dirname(t->source);
	size_t i;

	if (obj == NULL || files == NULL)
		fatal("out of memory building JSON");
	set_new(obj, "id", json_integer(t->id));
	set_new(obj, "state", json_string(shown_state(t)));
	set_path(obj, "source", t->source);
	set_path(obj, "destination", t->destination);
	set_path(obj, "host", t->address);
	set_new(obj, "port", json_integer(t->port));
	set_path(obj, "user", t->user);
	set_new(obj, "depth", json_integer(t->max_depth));
	set_new(obj, "created_at", json_time(t->created_at));
	set_new(obj, "started_at", json_time(t->started_at));
	set_new(obj, "finished_at", json_time(t->finished_at));
	/* Files sent whole are recorded; while it runs, the ones in flight count too. */
	set_new(obj, "bytes_done", json_uint(t->bytes_done + (t->state == TRANSFER_RUNNING ?
							      e->sizes.bytes_moving : 0)));
	set_new(obj, "bytes_total", json_uint(e->sizes.bytes_total));
	set_new(obj, "files_done", json_uint(t->files_done));
	set_new(obj, "files_total", json_uint(e->sizes.files_total));
	set_new(obj, "units_done", json_uint(e->sizes.units[UNIT_DONE]));
	set_new(obj, "units_failed", json_uint(e->sizes.units[UNIT_FAILED]));
	set_new(obj, "units_excluded", json_uint(e->sizes.units[UNIT_EXCLUDED]));
	set_new(obj, "units_total", json_uint(e->sizes.units[UNIT_PENDING] +
					      e->sizes.units[UNIT_RUNNING] +
					      e->sizes.units[UNIT_DONE] +
					      e->sizes.units[UNIT_FAILED] +
					      e->sizes.units[UNIT_EXCLUDED]));
	set_new(obj, "planned", json_boolean(t->planned));
	/* A mirror (--delete): what it removed from the far side, over all its runs. */
	set_new(obj, "mirror", json_boolean(t->mirror));
	set_new(obj, "deleted", json_uint(t->deleted));
	/* What its runs made on the far side, and what they changed there. */
	set_new(obj, "created", json_uint(t->created));
	set_new(obj, "updated", json_uint(t->updated));
	set_new(obj, "watch", json_boolean(t->watch));
	if (t->watch) {
		set_new(obj, "interval", json_integer(t->watch_interval));
		set_new(obj, "cycles", json_uint(t->cycles));
		set_new(obj, "last_cycle", e->has_last_cycle ? json_cycle(&e->last_cycle) :
			json_null());
	}
	/* Where its owner runs: a state directory may be shared by several nodes. */
	if (t->supervisor.node.boot[0])
		set_path(obj, "node", t->supervisor.node.host);
	else
		set_new(obj, "node", json_null());
	set_new(obj, "elsewhere", json_boolean(e->elsewhere));
	set_new(obj, "percent", json_integer(e->percent));
	set_new(obj, "rate", json_uint((uint64_t)(e->rate > 0 ? e->rate : 0)));
	set_new(obj, "remaining_seconds",
		e->remaining >= 0 ? json_integer(e->remaining) : json_null());
	for (i = 0; i < e->nfiles; i++) {
		json_t *f = json_object();

		if (f == NULL)
			fatal("out of memory building JSON");
		strbuf_reset(&sb);
		strbuf_addstr(&sb, root);
		if (sb.len == 0 || sb.buf[sb.len - 1] != '/')
			strbuf_addch(&sb, '/');
		strbuf_addstr(&sb, e->files[i].path);
		set_path(f, "path", sb.buf);
		set_new(f, "bytes_done", json_uint(e->files[i].bytes_done));
		set_new(f, "percent", json_integer(e->files[i].percent));
		if (e->files[i].node)
			set_path(f, "node", e->files[i].node);
		else
			set_new(f, "node", json_null());
		set_new(f, "rate",
			json_uint((uint64_t)(e->files[i].rate > 0 ? e->files[i].rate : 0)));
		if (json_array_append_new(files, f) < 0)
			fatal("out of memory building JSON");
	}
	set_new(obj, "current_files", files);
	if (t->error) {
		strbuf_reset(&sb);
		display_path(&sb, t->error);
		set_new(obj, "error", json_string(sb.buf));
	} else {
		set_new(obj, "error", json_null());
	}
	/* To several hosts: the request, and each host's transfer in it. */
	set_new(obj, "parent", t->parent_id ? json_integer(t->parent_id) : json_null());
	if (t->fanout) {
		json_t *hosts = json_array();

		if (hosts == NULL)
			fatal("out of memory building JSON");
		for (i = 0; i < e->nhosts; i++)
			if (json_array_append_new(hosts, entry_object(&e->hosts[i])) < 0)
				fatal("out of memory building JSON");
		set_new(obj, "hosts", hosts);
	}
	strbuf_release(&sb);
	free(root);
	return obj;
}

void
json_report_add(struct json_report *r, const struct history_entry *e)
{
	if (json_array_append_new(r->transfers, entry_object(e)) < 0)
		fatal("out of memory building JSON");
}

/* Write a document to f, indented, and a newline; 0 or SYNC_ERR_SYSTEM. */
static int
write_json(json_t *doc, FILE *f)
{
	char *text = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_INDENT(2));
	size_t len;
	int rc = SYNC_OK;

	if (text == NULL)
		fatal("out of memory serialising JSON");
	len = strlen(text);
	if (fwrite(text, 1, len, f) != len || fputc('\n', f) == EOF)
		rc = SYNC_ERR_SYSTEM;
	free(text);
	return rc;
}

int
json_report_write(struct json_report *r, FILE *f)
{
	return write_json(r->root, f);
}

void
json_report_free(struct json_report *r)
{
	if (r == NULL)
		return;
	json_decref(r->transfers);
	json_decref(r->root);
	free(r);
}

/* ---- one transfer's record, for notifications ---------------------------- */

static int
record_add(const struct history_entry *e, void *ctx)
{
	json_report_add(ctx, e);
	return 0;
}

int
report_transfer_json(struct store *st, int64_t id, struct strbuf *out)
{
	struct json_report *r = json_report_new();
	struct history_filter f;
	int64_t now = (int64_t)time(NULL);
	json_t *t;
	char *text;
	int rc;

	history_filter_init(&f, now);
	f.id = id;
	f.all = true;
	if ((rc = history_foreach(st, &f, now, record_add, r)) < 0 ||
	    (t = json_array_get(r->transfers, 0)) == NULL) {
		json_report_free(r);
		return rc < 0 ? rc : SYNC_ERR_NOT_FOUND;
	}
	/* One line: a program reading it line by line gets it whole. */
	if ((text = json_dumps(t, JSON_PRESERVE_ORDER | JSON_COMPACT)) == NULL)
		fatal("out of memory serialising JSON");
	strbuf_addstr(out, text);
	free(text);
	json_report_free(r);
	return SYNC_OK;
}

/* ---- a dry run's changes ------------------------------------------------ */

struct change_list {
	json_t *changes;
};

struct change_list *
change_list_new(void)
{
	struct change_list *l = xcalloc(1, sizeof *l);

	if ((l->changes = json_array()) == NULL)
		fatal("out of memory building JSON");
	return l;
}

void
change_list_add(struct change_list *l, const char *action, const char *itemized,
		const char *path)
{
	json_t *obj = json_object();

	if (obj == NULL)
		fatal("out of memory building JSON");
	set_new(obj, "action", json_string(action));
	set_path(obj, "path", path);
	set_new(obj, "itemized", json_string(itemized));
	if (json_array_append_new(l->changes, obj) < 0)
		fatal("out of memory building JSON");
}

void
change_list_add_stop(struct change_list *l, const char *reason)
{
	json_t *obj = json_object();

	if (obj == NULL)
		fatal("out of memory building JSON");
	set_new(obj, "action", json_string("stop"));
	set_new(obj, "reason", json_string(reason));
	if (json_array_append_new(l->changes, obj) < 0)
		fatal("out of memory building JSON");
}

int
change_list_write(struct change_list *l, FILE *f)
{
	return write_json(l->changes, f);
}

void
change_list_free(struct change_list *l)
{
	if (l == NULL)
		return;
	json_decref(l->changes);
	free(l);
}

/* ---- status ------------------------------------------------------------ */

void
status_table_header(struct strbuf *out, int width)
{
	(void)width;
	strbuf_addf(out, "%4s %-11s %4s %10s %12s %8s  %s\n", "ID", "STATE", "DONE", "SIZE",
		    "RATE", "LEFT", "TRANSFER");
}

/* How long ago, for people: "12 s", "5 min", "3 h", "2 d". */
static void
add_age(struct strbuf *out, int64_t seconds)
{
	if (seconds < 0)
		seconds = 0;
	if (seconds < 120)
		strbuf_addf(out, "%lld s", (long long)seconds);
	else if (seconds < 2 * 3600)
		strbuf_addf(out, "%lld min", (long long)(seconds / 60));
	else if (seconds < 2 * 86400)
		strbuf_addf(out, "%lld h", (long long)(seconds / 3600));
	else
		strbuf_addf(out, "%lld d", (long long)(seconds / 86400));
}

/*
 * A watch's line under its row: the cycle at work, the last one's counts,
 * and what all its cycles sent ("cycle 6 at work; 5 ended 12 s ago: 3
 * files, 1.2 MiB, 0 deleted; 12.0 GiB in all"). Least telling last, for
 * a narrow terminal cuts the end.
 */
static void
add_watch_line(struct strbuf *out, const struct history_entry *e, bool watching)
{
	const struct transfer *t = &e->t;
	const struct cycle *c = &e->last_cycle;

	if (!e->has_last_cycle) {
		strbuf_addstr(out, watching ? "cycle 1 at work" : "no cycle ended");
		return;
	}
	if (watching && (e->sizes.bytes_total > 0 || e->nfiles > 0))
		strbuf_addf(out, "cycle %llu at work; ", (unsigned long long)t->cycles + 1);
	else
		strbuf_addstr(out, "cycle ");
	strbuf_addf(out, "%llu %s ", (unsigned long long)c->n, c->error ? "failed" : "ended");
	add_age(out, e->now - (c->started_at + (int64_t)c->seconds));
	strbuf_addf(out, " ago: %llu file%s, ", (unsigned long long)c->files,
		    c->files == 1 ? "" : "s");
	fmt_bytes_human(out, c->bytes);
	strbuf_addf(out, ", %llu deleted", (unsigned long long)c->deleted);
	if (c->failed > 0)
		strbuf_addf(out, ", %llu failed", (unsigned long long)c->failed);
	strbuf_addstr(out, "; ");
	fmt_bytes_human(out, t->bytes_done);
	strbuf_addstr(out, " in all");
}

void
status_table_row(struct strbuf *out, const struct history_entry *e, int width)
{
	const struct transfer *t = &e->t;
	struct strbuf cell = STRBUF_INIT, what = STRBUF_INIT;
	size_t row_start = out->len;
	/* A watch's units are the cycle at work's, none between cycles. */
	bool watching = t->watch && t->state == TRANSFER_RUNNING;
	bool between_cycles = watching && e->sizes.bytes_total == 0 && e->nfiles == 0;
	int room;

	strbuf_addf(out, "%4lld %-11s ", (long long)t->id, shown_state(t));
	/* A watch between cycles has nothing at work: its cycles go on the line below. */
	if (between_cycles) {
		strbuf_addf(out, "%4s %10s ", "-", "-");
	} else {
		strbuf_addf(out, "%3d%% ", e->percent);
		fmt_bytes_human(&cell, e->sizes.bytes_total);
		strbuf_addf(out, "%10s ", cell.buf);
	}
	strbuf_reset(&cell);
	if (e->rate > 0 && !between_cycles) {
		fmt_bytes_human(&cell, (uint64_t)e->rate);
		strbuf_addstr(&cell, "/s");
	} else {
		strbuf_addch(&cell, '-');
	}
	strbuf_addf(out, "%12s ", cell.buf);
	strbuf_reset(&cell);
	if (t->state == TRANSFER_RUNNING && e->remaining >= 0 && !between_cycles)
		fmt_hms(&cell, e->remaining);
	else
		strbuf_addch(&cell, '-');
	strbuf_addf(out, "%8s  ", cell.buf);

	/*
	 * What goes where: the source's name (query --json has its whole
	 * path), the host and the destination. Where that is too wide, the
	 * host goes first, then the middle, so that both ends stay readable.
	 */
	add_printable(&what, path_basename(t->source));
	strbuf_addstr(&what, " -> ");
	add_printable(&what, t->address);
	strbuf_addch(&what, ':');
	add_printable(&what, t->destination);
	/* An id or a time left longer than its column takes from the last one. */
	room = width - (int)(out->len - row_start);
	if (room < 0)
		room = 0;
	if ((int)text_columns(what.buf) > room) {
		strbuf_reset(&what);
		add_printable(&what, path_basename(t->source));
		strbuf_addstr(&what, " -> ");
		/* The source's name whole when it is short, and the end of the destination. */
		if ((int)text_columns(what.buf) <= room / 2) {
			struct strbuf dest = STRBUF_INIT;

			add_printable(&dest, t->destination);
			strbuf_addstr(out, what.buf);
			add_fitted(out, dest.buf, room - (int)text_columns(what.buf), KEEP_END);
			strbuf_reset(&what);
			strbuf_release(&dest);
		} else {
			add_printable(&what, t->destination);
		}
	}
	add_fitted(out, what.buf, room, KEEP_ENDS);
	strbuf_addch(out, '\n');
	if (e->elsewhere) {
		strbuf_reset(&what);
		strbuf_addstr(&what, "runs on node ");
		add_printable(&what, t->supervisor.node.host[0] ? t->supervisor.node.host :
				     "(unnamed)");
		strbuf_addstr(out, "     ");
		add_fitted(out, what.buf, width - 6, KEEP_START);
		strbuf_addch(out, '\n');
	}
	if (t->watch) {
		strbuf_reset(&what);
		add_watch_line(&what, e, watching);
		strbuf_addstr(out, "     ");
		add_fitted(out, what.buf, width - 6, KEEP_START);
		strbuf_addch(out, '\n');
	}
	/* Spread over Slurm's nodes: each file in flight, and the node moving it. */
	for (size_t i = 0; i < e->nfiles; i++) {
		if (e->files[i].node == NULL)
			continue;
		strbuf_reset(&what);
		strbuf_addstr(&what, "on ");
		add_printable(&what, e->files[i].node);
		strbuf_addf(&what, " %3d%% ", e->files[i].percent);
		add_printable(&what, e->files[i].path);
		strbuf_addstr(out, "     ");
		add_fitted(out, what.buf, width - 6, KEEP_START);
		strbuf_addch(out, '\n');
	}
	if (t->error && t->error[0]) {
		strbuf_reset(&what);
		add_printable(&what, t->error);
		strbuf_addstr(out, "     ");
		add_fitted(out, what.buf, width - 6, KEEP_START);
		strbuf_addch(out, '\n');
	}
	strbuf_release(&cell);
	strbuf_release(&what);
	/* To several hosts: each host's transfer below the request's. */
	for (size_t i = 0; i < e->nhosts; i++)
		status_table_row(out, &e->hosts[i], width);
}
