/* format: numbers, times and names as scow-sync shows them (see format.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

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

size_t
text_columns(const char *s)
{
	struct glyphs g;

	glyphs_of(&g, s);
	free(g.offset);
	free(g.cols);
	return (size_t)g.width;
}

void
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

void
add_printable(struct strbuf *out, const char *s)
{
	struct strbuf shown = STRBUF_INIT;

	display_path(&shown, s);
	escape_untrusted(out, shown.buf, shown.len);
	strbuf_release(&shown);
}
