/* output: JSON for machines, lines for people (see output.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "history.h"
#include "output.h"

void
fmt_thousands(struct strbuf *out, uint64_t n)
{
	char digits[32];
	int len, i;

	len = snprintf(digits, sizeof digits, "%llu", (unsigned long long)n);
	for (i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			strbuf_addch(out, ',');
		strbuf_addch(out, digits[i]);
	}
}

void
fmt_rate(struct strbuf *out, double rate)
{
	static const char *const units[] = { "kB/s", "MB/s", "GB/s" };
	int u = 0;

	/*
	 * The portal reads /([\d.]+)([kMGB]?B\/s)/: no other units, no signs
	 * (and -0.0 >= 0 holds, but prints as "-0.00").
	 */
	if (!(rate > 0) || rate > 1e18)
		rate = 0;
	if (rate < 1024) {
		strbuf_addf(out, "%.2fB/s", rate);
		return;
	}
	rate /= 1024;
	while (u < 2 && rate >= 1024) {
		rate /= 1024;
		u++;
	}
	/* %.2f of 1023.999 rounds to 1024.00; that is still a valid number. */
	strbuf_addf(out, "%.2f%s", rate, units[u]);
}

void
fmt_hms(struct strbuf *out, int64_t seconds)
{
	if (seconds < 0)
		seconds = 0;
	strbuf_addf(out, "%lld:%02d:%02d", (long long)(seconds / 3600),
		    (int)(seconds / 60 % 60), (int)(seconds % 60));
}

void
fmt_bytes_human(struct strbuf *out, uint64_t n)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		strbuf_addf(out, "%llu B", (unsigned long long)n);
	else
		strbuf_addf(out, "%.1f %s", v, units[u]);
}

void
display_path(struct strbuf *out, const char *path)
{
	size_t len = strlen(path), i = 0;

	while (i < len) {
		size_t n = 1;

		/* Find the longest valid sequence starting here (1 to 4 bytes). */
		while (n <= 4 && i + n <= len && !utf8_valid(path + i, n))
			n++;
		if (n <= 4 && i + n <= len) {
			strbuf_add(out, path + i, n);
			i += n;
		} else {
			strbuf_addstr(out, "\xef\xbf\xbd");   /* U+FFFD */
			i++;
		}
	}
}

#define REPLACEMENT "\xef\xbf\xbd"   /* U+FFFD */

/* The one entry of dir shown as name: SYNC_OK and *found, or why not. */
static int
entry_shown_as(const char *dir, const char *name, char **found)
{
	struct strbuf sb = STRBUF_INIT;
	struct dirent *de;
	DIR *d = opendir(dir);
	int rc = SYNC_ERR_NOT_FOUND;

	if (d == NULL)
		return SYNC_ERR_NOT_FOUND;
	while ((de = readdir(d)) != NULL) {
		strbuf_reset(&sb);
		display_path(&sb, de->d_name);
		if (strcmp(sb.buf, name) != 0)
			continue;
		if (rc == SYNC_OK) {
			free(*found);
			rc = SYNC_ERR_AMBIGUOUS;
			break;
		}
		*found = xstrdup(de->d_name);
		rc = SYNC_OK;
	}
	closedir(d);
	strbuf_release(&sb);
	return rc;
}

int
path_from_shown(const char *shown, char **out)
{
	struct strbuf path = STRBUF_INIT, comp = STRBUF_INIT;
	const char *p = shown, *q;
	struct stat sb;
	int rc = SYNC_OK;

	if (*shown != '/')
		return SYNC_ERR_INVALID;
	strbuf_addch(&path, '/');
	while (*p) {
		size_t at = path.len;
		char *found = NULL;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		q = strchr(p, '/');
		if (q == NULL)
			q = p + strlen(p);
		strbuf_reset(&comp);
		strbuf_add(&comp, p, (size_t)(q - p));
		p = q;
		if (at > 1)
			strbuf_addch(&path, '/');
		strbuf_addstr(&path, comp.buf);
		/* A name as it is wins; only a shown one is looked for. */
		if (strstr(comp.buf, REPLACEMENT) == NULL || lstat(path.buf, &sb) == 0)
			continue;
		strbuf_setlen(&path, at);
		if ((rc = entry_shown_as(path.buf, comp.buf, &found)) < 0)
			break;
		if (at > 1)
			strbuf_addch(&path, '/');
		strbuf_addstr(&path, found);
		free(found);
	}
	strbuf_release(&comp);
	if (rc < 0) {
		strbuf_release(&path);
		return rc;
	}
	*out = strbuf_detach(&path, NULL);
	return SYNC_OK;
}

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

void
progress_line_init(struct progress_line *pl, int fd)
{
	const char *term = getenv("TERM");
	const char *no_color = getenv("NO_COLOR");

	memset(pl, 0, sizeof *pl);
	pl->fd = fd;
	pl->tty = isatty(fd) == 1;
	pl->plain = (no_color && no_color[0]) || (term && strcmp(term, "dumb") == 0);
	pl->width = 80;
}

/* Which part of a text too wide to show whole is kept. */
enum fit { KEEP_ENDS, KEEP_START, KEEP_END };

static void add_fitted(struct strbuf *out, const char *text, int width, enum fit fit);

/* The parts of the line, from the first to go when it is narrow to the last. */
enum { PART_FILE = 1, PART_FILES = 2, PART_TOTAL = 4, PART_LEFT = 8, PART_RATE = 16 };

static void
format_parts(struct strbuf *out, const struct progress_view *v, unsigned parts)
{
	int percent = 0;

	if (v->bytes_total > 0) {
		uint64_t p = v->bytes * 100 / v->bytes_total;

		percent = p > 99 ? 99 : (int)p;   /* 100% once it is done */
	}
	strbuf_addf(out, "%3d%% ", percent);
	fmt_bytes_human(out, v->bytes);
	if (parts & PART_TOTAL) {
		strbuf_addstr(out, " of ");
		fmt_bytes_human(out, v->bytes_total);
	}
	if (parts & PART_RATE) {
		strbuf_addstr(out, ", ");
		fmt_bytes_human(out, (uint64_t)(v->rate > 0 ? v->rate : 0));
		strbuf_addstr(out, "/s");
	}
	if (parts & PART_LEFT) {
		strbuf_addstr(out, ", ");
		if (v->rate > 0 && v->bytes_total >= v->bytes)
			fmt_hms(out, (int64_t)((double)(v->bytes_total - v->bytes) / v->rate));
		else
			strbuf_addstr(out, "-:--:--");
		strbuf_addstr(out, " left");
	}
	if (parts & PART_FILES)
		strbuf_addf(out, ", %llu/%llu files", (unsigned long long)v->files,
			    (unsigned long long)v->files_total);
}

void
progress_line_format(struct strbuf *out, const struct progress_view *v, int width)
{
	static const unsigned tries[] = {
		PART_FILES | PART_TOTAL | PART_LEFT | PART_RATE,
		PART_TOTAL | PART_LEFT | PART_RATE,
		PART_LEFT | PART_RATE,
		PART_RATE,
		0,
	};
	struct strbuf line = STRBUF_INIT;
	size_t i;

	/* The most that fits in width: the parts first, then the name in what is left. */
	for (i = 0; i < sizeof tries / sizeof tries[0]; i++) {
		strbuf_reset(&line);
		format_parts(&line, v, tries[i]);
		if ((int)line.len <= width || tries[i] == 0)
			break;
	}
	if (v->file && i == 0) {
		int room = width - (int)line.len - 1;

		/* The end of a long name is the part that changes: keep it. */
		if (room >= 8) {
			struct strbuf shown = STRBUF_INIT, name = STRBUF_INIT;

			display_path(&shown, v->file);
			escape_untrusted(&name, shown.buf, shown.len);
			strbuf_addch(&line, ' ');
			add_fitted(&line, name.buf, room, KEEP_ENDS);
			strbuf_release(&shown);
			strbuf_release(&name);
		}
	}
	if ((int)line.len > width)
		strbuf_setlen(&line, width > 0 ? (size_t)width : 0);   /* ASCII here: a cut is safe */
	strbuf_addstr(out, line.buf);
	strbuf_release(&line);
}

/* Columns of valid UTF-8 text. */
static size_t text_columns(const char *s);

void
progress_line_draw(struct progress_line *pl, const struct progress_view *v)
{
	struct strbuf sb = STRBUF_INIT;
	double now = now_monotonic();
	size_t cols;

	struct winsize ws;

	if (!pl->tty || now - pl->last_draw < 0.2)
		return;
	pl->last_draw = now;
	/* Asked every time: the terminal may have been resized. */
	if (ioctl(pl->fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		pl->width = ws.ws_col;
	strbuf_addch(&sb, '\r');
	progress_line_format(&sb, v, pl->width - 1);
	if (pl->plain) {
		/* Cover what is left of a longer line drawn before. */
		cols = text_columns(sb.buf + 1);
		if (cols < pl->last_len)
			strbuf_addf(&sb, "%*s", (int)(pl->last_len - cols), "");
		pl->last_len = cols;
	} else {
		strbuf_addstr(&sb, "\033[K");
	}
	(void)write_all(STDERR_FILENO, sb.buf, sb.len);
	strbuf_release(&sb);
}

void
progress_line_clear(struct progress_line *pl)
{
	struct strbuf sb = STRBUF_INIT;

	if (!pl->tty || pl->last_draw == 0)
		return;
	if (pl->plain) {
		strbuf_addf(&sb, "\r%*s\r", (int)pl->last_len, "");
		(void)write_all(STDERR_FILENO, sb.buf, sb.len);
	} else {
		(void)write_all(STDERR_FILENO, "\r\033[K", 4);
	}
	pl->last_len = 0;
	strbuf_release(&sb);
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

void
json_report_add(struct json_report *r, const struct history_entry *e)
{
	const struct transfer *t = &e->t;
	json_t *obj = json_object(), *files = json_array();
	struct strbuf sb = STRBUF_INIT;
	char *root = path_dirname(t->source);
	size_t i;

	if (obj == NULL || files == NULL)
		fatal("out of memory building JSON");
	set_new(obj, "id", json_integer(t->id));
	set_new(obj, "state", json_string(transfer_state_name(t->state)));
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
	/* Where its owner runs: a state directory may be shared by several nodes. */
	if (t->supervisor.node.boot[0])
		set_path(obj, "node", t->supervisor.node.host);
	else
		set_new(obj, "node", json_null());
	set_new(obj, "elsewhere", json_boolean(e->elsewhere));
	set_new(obj, "percent", json_integer(e->percent));
	set_new(obj, "rate", json_uint((uint64_t)(e->rate > 0 ? e->rate : 0)));
	set_new(obj, "remaining_seconds", e->remaining >= 0 ? json_integer(e->remaining) : json_null());
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
		set_new(f, "rate", json_uint((uint64_t)(e->files[i].rate > 0 ? e->files[i].rate : 0)));
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
	if (json_array_append_new(r->transfers, obj) < 0)
		fatal("out of memory building JSON");
	strbuf_release(&sb);
	free(root);
}

int
json_report_write(struct json_report *r, FILE *f)
{
	char *text = json_dumps(r->root, JSON_PRESERVE_ORDER | JSON_INDENT(2));
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

void
json_report_free(struct json_report *r)
{
	if (r == NULL)
		return;
	json_decref(r->transfers);
	json_decref(r->root);
	free(r);
}

/* ---- status ------------------------------------------------------------ */

/* Decode the UTF-8 sequence at s (valid, n bytes) to a code point. */
static uint32_t
code_point(const unsigned char *s, size_t n)
{
	uint32_t c = n == 1 ? s[0] : n == 2 ? s[0] & 0x1f : n == 3 ? s[0] & 0x0f : s[0] & 0x07;
	size_t i;

	for (i = 1; i < n; i++)
		c = (c << 6) | (s[i] & 0x3f);
	return c;
}

/* Terminal columns of a code point: 2 for East Asian wide ones and emoji. */
static int
columns_of(uint32_t c)
{
	return (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) ||
	       (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
	       (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
	       (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1faff) ||
	       (c >= 0x20000 && c <= 0x3fffd) ? 2 : 1;
}

/* Characters of valid UTF-8 text: byte offset and columns of each. */
struct glyphs {
	size_t *offset;        /* n + 1 entries: the last is the length */
	int *cols;
	size_t n;
	int width;
};

static void
glyphs_of(struct glyphs *g, const char *s)
{
	size_t len = strlen(s), i = 0, alloc = 0, calloc_ = 0;

	memset(g, 0, sizeof *g);
	while (i < len) {
		size_t n = 1;

		while (n < 4 && i + n < len && ((unsigned char)s[i + n] & 0xc0) == 0x80)
			n++;
		ALLOC_GROW(g->offset, g->n, alloc);
		ALLOC_GROW(g->cols, g->n, calloc_);
		g->offset[g->n] = i;
		g->cols[g->n] = columns_of(code_point((const unsigned char *)s + i, n));
		g->width += g->cols[g->n];
		g->n++;
		i += n;
	}
	ALLOC_GROW(g->offset, g->n, alloc);
	g->offset[g->n] = len;
}

static size_t
text_columns(const char *s)
{
	struct glyphs g;

	glyphs_of(&g, s);
	free(g.offset);
	free(g.cols);
	return (size_t)g.width;
}

/*
 * Append text (valid UTF-8 without control characters) in at most width
 * columns, cutting out the part that fit does not keep as "...".
 */
static void
add_fitted(struct strbuf *out, const char *text, int width, enum fit fit)
{
	struct glyphs g;
	size_t head, tail;
	int room, used, head_room;

	glyphs_of(&g, text);
	if (g.width <= width) {
		strbuf_addstr(out, text);
	} else if (width >= 5) {
		room = width - 3;
		head_room = fit == KEEP_START ? room : fit == KEEP_END ? 0 : room / 2;
		for (head = 0, used = 0; head < g.n && used + g.cols[head] <= head_room; head++)
			used += g.cols[head];
		for (tail = g.n; tail > head && used + g.cols[tail - 1] <= room; tail--)
			used += g.cols[tail - 1];
		strbuf_add(out, text, g.offset[head]);
		strbuf_addstr(out, "...");
		strbuf_add(out, text + g.offset[tail], g.offset[g.n] - g.offset[tail]);
	}
	free(g.offset);
	free(g.cols);
}

/* A name from outside, made safe and valid for a terminal. */
static void
add_printable(struct strbuf *out, const char *s)
{
	struct strbuf shown = STRBUF_INIT;

	display_path(&shown, s);
	escape_untrusted(out, shown.buf, shown.len);
	strbuf_release(&shown);
}


void
status_table_header(struct strbuf *out, int width)
{
	(void)width;
	strbuf_addf(out, "%4s %-11s %4s %10s %12s %8s  %s\n", "ID", "STATE", "DONE", "SIZE",
		    "RATE", "LEFT", "TRANSFER");
}

void
status_table_row(struct strbuf *out, const struct history_entry *e, int width)
{
	const struct transfer *t = &e->t;
	struct strbuf cell = STRBUF_INIT, what = STRBUF_INIT;
	size_t row_start = out->len;
	int room;

	strbuf_addf(out, "%4lld %-11s %3d%% ", (long long)t->id, transfer_state_name(t->state),
		    e->percent);
	fmt_bytes_human(&cell, e->sizes.bytes_total);
	strbuf_addf(out, "%10s ", cell.buf);
	strbuf_reset(&cell);
	if (e->rate > 0) {
		fmt_bytes_human(&cell, (uint64_t)e->rate);
		strbuf_addstr(&cell, "/s");
	} else {
		strbuf_addch(&cell, '-');
	}
	strbuf_addf(out, "%12s ", cell.buf);
	strbuf_reset(&cell);
	if (t->state == TRANSFER_RUNNING && e->remaining >= 0)
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
	if (t->error && t->error[0]) {
		strbuf_reset(&what);
		add_printable(&what, t->error);
		strbuf_addstr(out, "     ");
		add_fitted(out, what.buf, width - 6, KEEP_START);
		strbuf_addch(out, '\n');
	}
	strbuf_release(&cell);
	strbuf_release(&what);
}
