/* output: JSON for machines, lines for people (see output.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <jansson.h>

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
	struct winsize ws;

	pl->tty = isatty(fd) == 1;
	pl->width = 80;
	if (pl->tty && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		pl->width = ws.ws_col;
	pl->last_draw = 0;
}

void
progress_line_draw(struct progress_line *pl, const char *file, uint64_t bytes,
		   int percent, double rate, int64_t eta, uint64_t files_done,
		   uint64_t units_done, uint64_t units_total)
{
	struct strbuf sb = STRBUF_INIT, name = STRBUF_INIT;
	double now = now_monotonic();
	int room;

	if (!pl->tty || now - pl->last_draw < 0.2)
		return;
	pl->last_draw = now;
	strbuf_addf(&sb, "\r[%llu/%llu] %llu files ", (unsigned long long)units_done,
		    (unsigned long long)units_total, (unsigned long long)files_done);
	fmt_bytes_human(&sb, bytes);
	strbuf_addf(&sb, " %3d%% ", percent);
	fmt_rate(&sb, rate);
	strbuf_addch(&sb, ' ');
	fmt_hms(&sb, eta);
	strbuf_addch(&sb, ' ');
	if (file) {
		escape_untrusted(&name, file, strlen(file));
		/* Show the end of a long name: that is the part that changes. */
		room = pl->width - (int)sb.len;   /* sb.len counts the \r */
		if (room > 4 && (int)name.len > room) {
			strbuf_addstr(&sb, "...");
			strbuf_add(&sb, name.buf + name.len - (size_t)(room - 3), (size_t)(room - 3));
		} else if (room > 4)
			strbuf_addstr(&sb, name.buf);
	}
	strbuf_addstr(&sb, "\033[K");
	(void)write_all(STDERR_FILENO, sb.buf, sb.len);
	strbuf_release(&sb);
	strbuf_release(&name);
}

void
progress_line_clear(struct progress_line *pl)
{
	if (pl->tty)
		(void)write_all(STDERR_FILENO, "\r\033[K", 4);
}
