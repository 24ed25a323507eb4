/* rsync-parse: read what rsync, ssh and the remote commands print. */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "rsync-parse.h"

int
piece_parse_digest(const char *line, size_t len, char hex[PIECE_DIGEST_HEX + 1])
{
	size_t plen = strlen(PIECE_DIGEST_PREFIX), i;

	if (len != plen + PIECE_DIGEST_HEX || memcmp(line, PIECE_DIGEST_PREFIX, plen) != 0)
		return SYNC_ERR_INVALID;
	for (i = 0; i < PIECE_DIGEST_HEX; i++) {
		char c = line[plen + i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return SYNC_ERR_INVALID;
		hex[i] = c;
	}
	hex[PIECE_DIGEST_HEX] = '\0';
	return SYNC_OK;
}

/* Read "PREFIX N", N a status of at most three digits. */
static int
parse_status_line(const char *prefix, const char *line, size_t len, int *status)
{
	size_t plen = strlen(prefix), i;
	int v = 0;

	if (len <= plen || len > plen + 3 || memcmp(line, prefix, plen) != 0)
		return SYNC_ERR_INVALID;
	for (i = plen; i < len; i++) {
		if (line[i] < '0' || line[i] > '9')
			return SYNC_ERR_INVALID;
		v = v * 10 + (line[i] - '0');
	}
	*status = v;
	return SYNC_OK;
}

int
piece_parse_written(const char *line, size_t len, int *status)
{
	return parse_status_line(PIECE_WRITTEN_PREFIX, line, len, status);
}

int
rsync_parse_then(const char *line, size_t len, int *status)
{
	return parse_status_line(RSYNC_THEN_PREFIX, line, len, status);
}

int
piece_parse_progress(const char *line, size_t len, uint64_t *bytes)
{
	uint64_t v = 0;
	size_t i = 0;

	while (i < len && line[i] >= '0' && line[i] <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return SYNC_ERR_INVALID;
		v = v * 10 + (uint64_t)(line[i++] - '0');
	}
	if (i == 0 || len - i < 6 || memcmp(line + i, " bytes", 6) != 0)
		return SYNC_ERR_INVALID;
	*bytes = v;
	return SYNC_OK;
}

const char *
rsync_telling_line(struct strbuf *err)
{
	char *end = err->buf + err->len, *line;

	/* From the last line up: rsync's closing summaries say less than what came before. */
	while (end > err->buf) {
		while (end > err->buf && (end[-1] == '\n' || end[-1] == '\r'))
			*--end = '\0';
		line = end;
		while (line > err->buf && line[-1] != '\n')
			line--;
		if (*line && strncmp(line, "rsync error: ", 13) != 0 &&
		    strstr(line, "connection unexpectedly closed") == NULL)
			return line;
		end = line;
	}
	/* Nothing better: the last line there was. */
	for (line = err->buf + err->len; line > err->buf && line[-1] == '\0'; line--)
		;
	while (line > err->buf && line[-1] != '\0' && line[-1] != '\n')
		line--;
	return line;
}

bool
rsync_itemized_name(const char *line, size_t len, size_t *name_at)
{
	/* The update type, the file type, then nine attribute letters. */
	const size_t width = 11;
	size_t i;

	if (len < width + 2 || line[width] != ' ' || !strchr("<>ch.*", line[0]) || line[0] == 0)
		return false;
	for (i = 0; i < width; i++)
		if ((unsigned char)line[i] <= ' ' && line[i] != ' ')
			return false;
	*name_at = width + 1;
	return true;
}

bool
rsync_itemized_new(const char *itemized)
{
	size_t i;

	/* "+++++++++" where the attributes go: it was not there before. */
	if (strlen(itemized) != 11 || itemized[0] == '*')
		return false;
	for (i = 2; i < 11; i++)
		if (itemized[i] != '+')
			return false;
	return true;
}

bool
rsync_itemized_data(const char *itemized)
{
	return itemized[0] == '\0' || itemized[0] == '<' || itemized[0] == '>';
}

/* Skip spaces; return the new position. */
static size_t
skip_spaces(const char *s, size_t i, size_t len)
{
	while (i < len && s[i] == ' ')
		i++;
	return i;
}

/* Read a run of digits into *v (no overflow); return the new position or 0. */
static size_t
read_uint(const char *s, size_t i, size_t len, uint64_t *v, bool commas)
{
	size_t start = i;
	uint64_t n = 0;

	while (i < len && (isdigit((unsigned char)s[i]) || (commas && s[i] == ',' && i > start))) {
		if (s[i] != ',') {
			unsigned d = (unsigned)(s[i] - '0');

			if (n > (UINT64_MAX - d) / 10)
				return 0;
			n = n * 10 + d;
		}
		i++;
	}
	if (i == start || s[i - 1] == ',')
		return 0;
	*v = n;
	return i;
}

int
rsync_parse_progress(const char *s, size_t len, struct rsync_progress *out)
{
	struct rsync_progress p;
	uint64_t v, frac = 0, scale = 1, h, m, sec;
	size_t i, j;
	double mult;

	memset(&p, 0, sizeof p);
	/* "%15s %3d%% %7.2f%s %s%s": bytes, percent, rate+unit, time, tail. */
	i = skip_spaces(s, 0, len);
	if ((j = read_uint(s, i, len, &p.bytes, true)) == 0)
		return SYNC_ERR_INVALID;
	i = j;
	/* With --human-readable rsync shows "1.50M": a fraction and a suffix. */
	if (i < len && (s[i] == '.' || (s[i] && strchr("KMGTP", s[i]) != NULL))) {
		double value = (double)p.bytes, scale_f = 0.1;
		const char *u;

		if (s[i] == '.') {
			for (i++; i < len && isdigit((unsigned char)s[i]); i++, scale_f /= 10)
				value += (s[i] - '0') * scale_f;
		}
		if (i >= len || (u = strchr("KMGTP", s[i])) == NULL || s[i] == '\0')
			return SYNC_ERR_INVALID;
		for (int k = 0; k <= u - "KMGTP"; k++)
			value *= 1024;
		/* More than 64 bits hold is no count rsync printed (and no value to convert). */
		if (!(value < 18446744073709551616.0))
			return SYNC_ERR_INVALID;
		p.bytes = (uint64_t)value;
		i++;
	}
	i = skip_spaces(s, i, len);
	if ((j = read_uint(s, i, len, &v, false)) == 0 || j >= len || s[j] != '%' || v > 100)
		return SYNC_ERR_INVALID;
	p.percent = (int)v;
	i = skip_spaces(s, j + 1, len);
	if ((j = read_uint(s, i, len, &v, false)) == 0)
		return SYNC_ERR_INVALID;
	i = j;
	if (i < len && s[i] == '.') {
		size_t k = ++i;

		while (i < len && isdigit((unsigned char)s[i]) && i - k < 9) {
			frac = frac * 10 + (uint64_t)(s[i] - '0');
			scale *= 10;
			i++;
		}
		if (i == k)
			return SYNC_ERR_INVALID;
	}
	if (len - i >= 4 && memcmp(s + i, "kB/s", 4) == 0) {
		mult = 1024.0;
		i += 4;
	} else if (len - i >= 4 && memcmp(s + i, "MB/s", 4) == 0) {
		mult = 1024.0 * 1024.0;
		i += 4;
	} else if (len - i >= 4 && memcmp(s + i, "GB/s", 4) == 0) {
		mult = 1024.0 * 1024.0 * 1024.0;
		i += 4;
	} else if (len - i >= 3 && memcmp(s + i, "B/s", 3) == 0) {
		mult = 1.0;
		i += 3;
	} else
		return SYNC_ERR_INVALID;
	p.rate = ((double)v + (double)frac / (double)scale) * mult;
	i = skip_spaces(s, i, len);
	if (len - i >= 8 && memcmp(s + i, "??:??:??", 8) == 0) {
		p.eta = -1;
		i += 8;
	} else {
		if ((j = read_uint(s, i, len, &h, false)) == 0 || j >= len || s[j] != ':')
			return SYNC_ERR_INVALID;
		if ((i = read_uint(s, j + 1, len, &m, false)) == 0 || i >= len || s[i] != ':' ||
		    m > 59)
			return SYNC_ERR_INVALID;
		if ((j = read_uint(s, i + 1, len, &sec, false)) == 0 || sec > 59 || h > 1000000)
			return SYNC_ERR_INVALID;
		p.eta = (int64_t)(h * 3600 + m * 60 + sec);
		i = j;
	}
	i = skip_spaces(s, i, len);
	if (i < len && s[i] == '(') {
		/* "(xfr#N, to-chk=R/T)" or ir-chk during incremental recursion. */
		if (len - i < 5 || memcmp(s + i, "(xfr#", 5) != 0)
			return SYNC_ERR_INVALID;
		if ((j = read_uint(s, i + 5, len, &p.xfr, false)) == 0)
			return SYNC_ERR_INVALID;
		i = j;
		if (len - i < 9 || (memcmp(s + i, ", to-chk=", 9) != 0 &&
				    memcmp(s + i, ", ir-chk=", 9) != 0))
			return SYNC_ERR_INVALID;
		if ((j = read_uint(s, i + 9, len, &p.to_check, false)) == 0 || j >= len ||
		    s[j] != '/')
			return SYNC_ERR_INVALID;
		if ((i = read_uint(s, j + 1, len, &p.total_files, false)) == 0 || i >= len ||
		    s[i] != ')')
			return SYNC_ERR_INVALID;
		i++;
		p.final = true;
	}
	if (skip_spaces(s, i, len) != len)
		return SYNC_ERR_INVALID;
	*out = p;
	return SYNC_OK;
}

/* Read a number that may have thousands separators; returns the end, 0 if none. */
static size_t
read_grouped(const char *s, size_t i, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t start = i;

	while (i < len && ((s[i] >= '0' && s[i] <= '9') || (s[i] == ',' && i > start))) {
		if (s[i] != ',') {
			if (v > (UINT64_MAX - 9) / 10)
				return 0;
			v = v * 10 + (uint64_t)(s[i] - '0');
		}
		i++;
	}
	if (i == start || s[i - 1] == ',')
		return 0;
	*out = v;
	return i;
}

int
rsync_parse_sent(const char *s, size_t len, uint64_t *sent, uint64_t *received)
{
	size_t i;

	if (len < 5 || memcmp(s, "sent ", 5) != 0)
		return SYNC_ERR_INVALID;
	if ((i = read_grouped(s, 5, len, sent)) == 0 || len - i < 18 ||
	    memcmp(s + i, " bytes  received ", 17) != 0)
		return SYNC_ERR_INVALID;
	if ((i = read_grouped(s, i + 17, len, received)) == 0 || len - i < 6 ||
	    memcmp(s + i, " bytes", 6) != 0)
		return SYNC_ERR_INVALID;
	return SYNC_OK;
}

void
rsync_unescape(struct strbuf *out, const char *in, size_t len)
{
	size_t i = 0;

	while (i < len) {
		if (in[i] == '\\' && len - i >= 5 && in[i + 1] == '#' &&
		    in[i + 2] >= '0' && in[i + 2] <= '3' &&
		    in[i + 3] >= '0' && in[i + 3] <= '7' &&
		    in[i + 4] >= '0' && in[i + 4] <= '7') {
			strbuf_addch(out, (in[i + 2] - '0') * 64 + (in[i + 3] - '0') * 8 +
					  (in[i + 4] - '0'));
			i += 5;
		} else
			strbuf_addch(out, in[i++]);
	}
}

void
rsync_parser_init(struct rsync_parser *p)
{
	strbuf_init(&p->pending, 0);
	strbuf_init(&p->scratch, 0);
	p->in_progress = false;
	p->pending_emitted = false;
}

void
rsync_parser_release(struct rsync_parser *p)
{
	strbuf_release(&p->pending);
	strbuf_release(&p->scratch);
}

/* Report a complete (or, for progress, possibly still growing) record. */
static void
emit_record(struct rsync_parser *p, bool complete, rsync_event_fn cb, void *ctx)
{
	struct rsync_event ev;
	const char *s = p->pending.buf;
	size_t len = p->pending.len, at;

	memset(&ev, 0, sizeof ev);
	if (p->in_progress) {
		if (rsync_parse_progress(s, len, &ev.progress) == SYNC_OK) {
			ev.kind = RSYNC_EV_PROGRESS;
			cb(&ev, ctx);
			p->pending_emitted = true;
			return;
		}
		if (!complete)
			return;
		/* Not a progress record after all: pass it on as a message. */
	}
	if (!complete)
		return;
	if (len == 0)
		return;
	if (!p->in_progress && len > strlen(RSYNC_NAME_PREFIX) &&
	    memcmp(s, RSYNC_NAME_PREFIX, strlen(RSYNC_NAME_PREFIX)) == 0) {
		strbuf_reset(&p->scratch);
		rsync_unescape(&p->scratch, s + strlen(RSYNC_NAME_PREFIX),
			       len - strlen(RSYNC_NAME_PREFIX));
		ev.kind = RSYNC_EV_NAME;
		ev.name = p->scratch.buf;
		ev.name_len = p->scratch.len;
		/* Every job names items as "%i %n": the change, then the name. */
		if (rsync_itemized_name(ev.name, ev.name_len, &at)) {
			memcpy(ev.itemized, ev.name, at - 1);
			ev.itemized[at - 1] = '\0';
			ev.name += at;
			ev.name_len -= at;
		}
		if (ev.name_len > 1 && ev.name[ev.name_len - 1] == '/') {
			ev.is_dir = true;
			ev.name_len--;
			strbuf_setlen(&p->scratch,
				      (size_t)(ev.name - p->scratch.buf) + ev.name_len);
		}
	} else if (!p->in_progress && rsync_parse_sent(s, len, &ev.sent, &ev.received) == 0) {
		ev.kind = RSYNC_EV_STATS;
	} else if (!p->in_progress && len >= 14 && memcmp(s, "total size is ", 14) == 0) {
		return;
	} else {
		ev.kind = RSYNC_EV_MESSAGE;
		ev.name = s;
		ev.name_len = len;
	}
	cb(&ev, ctx);
}

void
rsync_parser_feed(struct rsync_parser *p, const char *buf, size_t len,
		  rsync_event_fn cb, void *ctx)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		if (buf[i] != '\r' && buf[i] != '\n')
			continue;
		strbuf_add(&p->pending, buf + start, i - start);
		/* A progress record that was already reported is not repeated. */
		if (!(p->in_progress && p->pending_emitted))
			emit_record(p, true, cb, ctx);
		strbuf_reset(&p->pending);
		p->pending_emitted = false;
		p->in_progress = buf[i] == '\r';
		start = i + 1;
	}
	strbuf_add(&p->pending, buf + start, len - start);
	/*
	 * rsync leaves an update unterminated until the next one; report it as
	 * soon as it is whole (it ends in the two spaces after the time).
	 */
	if (p->in_progress && !p->pending_emitted && p->pending.len >= 2 &&
	    memcmp(p->pending.buf + p->pending.len - 2, "  ", 2) == 0)
		emit_record(p, false, cb, ctx);
	/*
	 * A record begun after a \r that runs past the longest progress line
	 * is none: report it as a message and read on as an ordinary line, so
	 * that what follows is bounded like any other line.
	 */
	if (p->in_progress && p->pending.len > RSYNC_PROGRESS_MAX) {
		if (!p->pending_emitted)
			emit_record(p, true, cb, ctx);
		strbuf_reset(&p->pending);
		p->in_progress = false;
		p->pending_emitted = false;
	}
	/* Keep a runaway line (no newline for megabytes) from growing forever. */
	if (p->pending.len > RSYNC_LINE_MAX && !p->in_progress) {
		emit_record(p, true, cb, ctx);
		strbuf_reset(&p->pending);
	}
}

void
rsync_parser_finish(struct rsync_parser *p, rsync_event_fn cb, void *ctx)
{
	if (!(p->in_progress && p->pending_emitted))
		emit_record(p, true, cb, ctx);
	strbuf_reset(&p->pending);
	p->in_progress = false;
	p->pending_emitted = false;
}

enum rsync_exit_class
rsync_exit_classify(int code)
{
	switch (code) {
	case 0:
		return RSYNC_EXIT_OK;
	case 23: /* some files could not be transferred */
	case 24: /* some source files vanished */
		return RSYNC_EXIT_PARTIAL;
	case 10: /* error in socket I/O */
	case 12: /* error in rsync protocol data stream: usually a dropped link */
	case 20: /* received SIGUSR1 or SIGINT on the far side */
	case 30: /* timeout in data send/receive */
	case 35: /* timeout waiting for daemon connection */
	case 255: /* ssh could not connect or the connection broke */
		return RSYNC_EXIT_RETRY;
	default:
		return RSYNC_EXIT_FATAL;
	}
}

bool
rsync_error_is_permanent(const char *text, size_t len)
{
	/* strerror() texts rsync prints as "... : TEXT (errno)". */
	static const char *const permanent[] = {
		"No space left on device", "Disk quota exceeded", "Read-only file system",
		"File too large", NULL,
	};
	size_t i, n;

	for (i = 0; permanent[i]; i++) {
		n = strlen(permanent[i]);
		if (len >= n && memmem(text, len, permanent[i], n) != NULL)
			return true;
	}
	return false;
}

/* The last occurrence of needle in [p, p + len), or NULL. */
static const char *
last_of(const char *p, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	const char *q, *found = NULL;

	while (len >= n && (q = memmem(p, len, needle, n)) != NULL) {
		found = q;
		len -= (size_t)(q + 1 - p);
		p = q + 1;
	}
	return found;
}

enum rsync_file_problem
rsync_file_problem(const char *line, size_t len, struct strbuf *path, struct strbuf *cause)
{
	static const char vanished[] = "file has vanished: \"";
	static const char sender[] = "rsync: [sender] ";
	const char *end = line + len, *q1, *a, *b, *c;
	size_t n;

	if (len > sizeof vanished && memcmp(line, vanished, sizeof vanished - 1) == 0 &&
	    line[len - 1] == '"') {
		q1 = line + sizeof vanished - 1;
		rsync_unescape(path, q1, (size_t)(end - 1 - q1));
		strbuf_addstr(cause, "vanished");
		return RSYNC_FILE_VANISHED;
	}
	if (len < sizeof sender || memcmp(line, sender, sizeof sender - 1) != 0 ||
	    (q1 = memchr(line, '"', len)) == NULL)
		return RSYNC_FILE_NONE;
	q1++;
	/*
	 * The name may hold quotes; the errno text after it does not:
	 * 'open "P": E (13)' or 'link_stat "P" failed: E (2)'.
	 */
	a = last_of(q1, (size_t)(end - q1), "\": ");
	b = last_of(q1, (size_t)(end - q1), "\" failed: ");
	if (a == NULL && b == NULL)
		return RSYNC_FILE_NONE;
	if (b != NULL && (a == NULL || b > a))
		c = b + strlen("\" failed: ");
	else {
		b = a;
		c = a + strlen("\": ");
	}
	rsync_unescape(path, q1, (size_t)(b - q1));
	n = (size_t)(end - c);
	/* Without rsync's " (13)". */
	if (n > 0 && c[n - 1] == ')') {
		const char *open = last_of(c, n, " (");

		if (open != NULL && open + 2 < c + n - 1 &&
		    strspn(open + 2, "0123456789") == (size_t)(c + n - 1 - (open + 2)))
			n = (size_t)(open - c);
	}
	strbuf_add(cause, c, n);
	if (n == strlen("No such file or directory") &&
	    memcmp(c, "No such file or directory", n) == 0)
		return RSYNC_FILE_VANISHED;
	return RSYNC_FILE_FAILED;
}

/* The line of text (without its end) that starts at p. */
static size_t
line_len(const char *p, const char *end)
{
	const char *q = memchr(p, '\n', (size_t)(end - p));
	size_t n = (size_t)((q ? q : end) - p);

	while (n > 0 && p[n - 1] == '\r')
		n--;
	return n;
}

void
ssh_error_summary(const char *text, size_t len, struct strbuf *out)
{
	static const char changed[] = "REMOTE HOST IDENTIFICATION HAS CHANGED";
	static const char offending[] = "Offending ";
	const char *end = text + len, *p, *last = NULL;
	size_t n, last_len = 0;

	if (memmem(text, len, changed, sizeof changed - 1) != NULL) {
		strbuf_addstr(out, "the host key has changed since it was recorded "
			      "(a reinstalled host, or someone in between)");
		/* "Offending ED25519 key in /home/a/.ssh/known_hosts:3" */
		p = memmem(text, len, offending, sizeof offending - 1);
		if (p != NULL) {
			const char *in = memmem(p, (size_t)(end - p), " key in ", 8);

			n = line_len(p, end);
			if (in != NULL && in < p + n) {
				strbuf_addstr(out, "; the recorded key is at ");
				strbuf_add(out, in + 8, n - (size_t)(in + 8 - p));
			}
		}
		return;
	}
	for (p = text; p < end; ) {
		n = line_len(p, end);
		if (n > 0 && !(n >= 8 && memcmp(p, "Warning:", 8) == 0)) {
			last = p;
			last_len = n;
		}
		p = memchr(p, '\n', (size_t)(end - p));
		if (p == NULL)
			break;
		p++;
	}
	if (last)
		strbuf_add(out, last, last_len);
}

enum ssh_failure
ssh_failure_kind(const char *text, size_t len)
{
	static const char *const hostkey[] = {
		"Host key verification failed.",
		"REMOTE HOST IDENTIFICATION HAS CHANGED",
	};
	/* sshconnect2.c: fatal("%s@%s: Permission denied (%s).", ...) */
	static const char denied[] = ": Permission denied (";
	size_t i;

	for (i = 0; i < sizeof hostkey / sizeof *hostkey; i++)
		if (memmem(text, len, hostkey[i], strlen(hostkey[i])) != NULL)
			return SSH_FAILURE_HOSTKEY;
	if (memmem(text, len, denied, sizeof denied - 1) != NULL)
		return SSH_FAILURE_AUTH;
	return SSH_FAILURE_OTHER;
}

/*
 * Is this line of rsync's stderr only a consequence of another (its
 * closing "rsync error: ... (code N)", or a note that it skips a
 * directory it could not make)? Then the cause is in an earlier line.
 */
static bool
consequence_line(const char *p, size_t len)
{
	return (len >= 12 && strncmp(p, "rsync error:", 12) == 0) ||
	       (len >= 12 && strncmp(p, "*** Skipping", 12) == 0);
}

void
rsync_error_reason(const char *s, size_t len, struct strbuf *out)
{
	const char *end = s + len, *p, *fallback = NULL;
	size_t fallback_len = 0;

	if (rsync_error_is_permanent(s, len)) {
		for (p = end; p > s; p = end) {
			while (p > s && p[-1] != '\n')
				p--;
			if (rsync_error_is_permanent(p, (size_t)(end - p))) {
				while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
					end--;
				escape_untrusted(out, p, (size_t)(end - p));
				return;
			}
			if (p == s)
				break;
			end = p - 1;
		}
		end = s + len;
	}
	for (;;) {
		while (end > s && (end[-1] == '\n' || end[-1] == '\r'))
			end--;
		if (end == s)
			break;
		p = end;
		while (p > s && p[-1] != '\n')
			p--;
		if (!consequence_line(p, (size_t)(end - p))) {
			escape_untrusted(out, p, (size_t)(end - p));
			return;
		}
		if (fallback == NULL) {
			fallback = p;
			fallback_len = (size_t)(end - p);
		}
		end = p;
	}
	if (fallback)
		escape_untrusted(out, fallback, fallback_len);
}

const char *
rsync_exit_text(int code)
{
	switch (code) {
	case 0: return "success";
	case 1: return "syntax or usage error";
	case 2: return "protocol incompatibility";
	case 3: return "errors selecting input/output files, dirs";
	case 4: return "requested action not supported";
	case 5: return "error starting client-server protocol";
	case 6: return "daemon unable to append to log-file";
	case 10: return "error in socket I/O";
	case 11: return "error in file I/O";
	case 12: return "error in rsync protocol data stream";
	case 13: return "errors with program diagnostics";
	case 14: return "error in IPC code";
	case 20: return "received SIGUSR1 or SIGINT";
	case 21: return "some error returned by waitpid()";
	case 22: return "error allocating core memory buffers";
	case 23: return "partial transfer due to error";
	case 24: return "partial transfer due to vanished source files";
	case 25: return "the --max-delete limit stopped deletions";
	case 30: return "timeout in data send/receive";
	case 35: return "timeout waiting for daemon connection";
	case 127: return "rsync or ssh program not found";
	case 255: return "ssh connection failed";
	}
	return "unexplained error";
}
