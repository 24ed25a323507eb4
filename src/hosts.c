/* hosts: the destination hosts of a fan-out (see hosts.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hosts.h"
#include "options.h"
#include "util.h"

/* One element "HOST", "HOST:PORT" or "[ADDR]:PORT", len bytes at s. */
static int
add_one(struct host_list *list, const char *s, size_t len, int default_port,
	char *err, size_t errlen)
{
	struct strbuf word = STRBUF_INIT, host = STRBUF_INIT, shown = STRBUF_INIT;
	const char *colon;
	int port = default_port, rc = -1;
	size_t i;

	strbuf_add(&word, s, len);
	escape_untrusted(&shown, word.buf, word.len);
	if (len == 0) {
		snprintf(err, errlen, "empty host in the list of hosts");
		goto out;
	}
	colon = strrchr(word.buf, ':');
	if (word.buf[0] == '[') {
		/* [fe80::1] or [fe80::1]:2222: brackets, as ssh and URLs write it. */
		const char *close = strchr(word.buf, ']');

		if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
			snprintf(err, errlen, "invalid host '%s': expected [ADDRESS] or "
				 "[ADDRESS]:PORT", shown.buf);
			goto out;
		}
		strbuf_add(&host, word.buf + 1, (size_t)(close - word.buf - 1));
		colon = close[1] == ':' ? close + 1 : NULL;
	} else if (colon && strchr(word.buf, ':') == colon) {
		strbuf_add(&host, word.buf, (size_t)(colon - word.buf));
	} else {
		/* No ':', or an IPv6 address without a port. */
		strbuf_addstr(&host, word.buf);
		colon = NULL;
	}
	if (colon && parse_int_range(colon + 1, 1, 65535, &port) < 0) {
		snprintf(err, errlen, "invalid port in host '%s': expected a number from 1 "
			 "to 65535", shown.buf);
		goto out;
	}
	if (validate_host(host.buf, err, errlen) < 0)
		goto out;
	for (i = 0; i < list->n; i++) {
		if (list->v[i].port == port && strcmp(list->v[i].address, host.buf) == 0) {
			snprintf(err, errlen, "host '%s' is given twice", shown.buf);
			goto out;
		}
	}
	if (list->n >= HOSTS_MAX) {
		snprintf(err, errlen, "more than %d hosts", HOSTS_MAX);
		goto out;
	}
	list->v = xrealloc(list->v, (list->n + 1) * sizeof *list->v);
	list->v[list->n].address = strbuf_detach(&host, NULL);
	list->v[list->n].port = port;
	list->n++;
	rc = 0;
out:
	strbuf_release(&word);
	strbuf_release(&host);
	strbuf_release(&shown);
	return rc;
}

int
hosts_parse(struct host_list *list, const char *spec, int default_port,
	    char *err, size_t errlen)
{
	const char *p = spec;

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (add_one(list, p, len, default_port, err, errlen) < 0)
			return -1;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

int
hosts_read_file(struct host_list *list, const char *path, int default_port,
		char *err, size_t errlen)
{
	struct strbuf text = STRBUF_INIT, shown = STRBUF_INIT;
	const char *p, *end;
	size_t before = list->n;
	int rc = -1;

	if (strbuf_read_file(&text, path) < 0) {
		escape_untrusted(&shown, path, strlen(path));
		snprintf(err, errlen, "cannot read hosts file '%s': %s", shown.buf,
			 strerror(errno));
		goto out;
	}
	for (p = text.buf, end = text.buf + text.len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		const char *next = nl ? nl + 1 : end;

		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if (e > p && *p != '#' &&
		    add_one(list, p, (size_t)(e - p), default_port, err, errlen) < 0)
			goto out;
		p = next;
	}
	if (list->n == before) {
		escape_untrusted(&shown, path, strlen(path));
		snprintf(err, errlen, "hosts file '%s' names no host", shown.buf);
		goto out;
	}
	rc = 0;
out:
	strbuf_release(&text);
	strbuf_release(&shown);
	return rc;
}

void
hosts_join(const struct host_list *list, int default_port, struct strbuf *out)
{
	size_t i;

	for (i = 0; i < list->n; i++) {
		const struct host *h = &list->v[i];
		bool v6 = strchr(h->address, ':') != NULL;

		if (i)
			strbuf_addch(out, ',');
		/* An IPv6 address in brackets, as an URL writes it: its ':' are no port. */
		if (h->port == default_port)
			strbuf_addf(out, v6 ? "[%s]" : "%s", h->address);
		else
			strbuf_addf(out, v6 ? "[%s]:%d" : "%s:%d", h->address, h->port);
	}
}

void
hosts_release(struct host_list *list)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		free(list->v[i].address);
	free(list->v);
	list->v = NULL;
	list->n = 0;
}
