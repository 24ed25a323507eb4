/* node-proto: the words between a supervisor and its workers (see node-proto.h). */
#include "config.h"

#include <string.h>

#include "node-proto.h"

static bool
word_byte_plain(unsigned char c)
{
	return c >= '!' && c <= '~' && c != '%';
}

void
node_word(struct strbuf *out, const char *buf, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	if (n == 0) {
		strbuf_add(out, "%%", 2);
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (word_byte_plain(c)) {
			strbuf_addch(out, (char)c);
			continue;
		}
		strbuf_addch(out, '%');
		strbuf_addch(out, hex[c >> 4]);
		strbuf_addch(out, hex[c & 15]);
	}
}

void
node_add_word(struct strbuf *out, const char *s)
{
	strbuf_addch(out, ' ');
	node_word(out, s, strlen(s));
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode the word at w (n bytes) in place; its new length, or -1. */
static long
word_decode(char *w, size_t n)
{
	size_t i, o = 0;

	if (n == 2 && w[0] == '%' && w[1] == '%') {
		w[0] = '\0';
		return 0;
	}
	for (i = 0; i < n; i++) {
		int hi, lo;

		if (w[i] != '%') {
			if (!word_byte_plain((unsigned char)w[i]))
				return -1;
			w[o++] = w[i];
			continue;
		}
		if (i + 2 >= n)
			return -1;
		if ((hi = hex_value(w[i + 1])) < 0 || (lo = hex_value(w[i + 2])) < 0)
			return -1;
		w[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	w[o] = '\0';
	return (long)o;
}

int
node_split(char *line, char **words, size_t *len, int max)
{
	char *p = line;
	int n = 0;

	if (*p == '\0')
		return 0;
	for (;;) {
		char *end = strchr(p, ' ');
		size_t wl = end ? (size_t)(end - p) : strlen(p);
		long dl;

		if (wl == 0 || n == max)
			return -1;
		if (end)
			*end = '\0';
		if ((dl = word_decode(p, wl)) < 0)
			return -1;
		words[n] = p;
		len[n++] = (size_t)dl;
		if (!end)
			return n;
		p = end + 1;
	}
}
