/*
 * sigv4: AWS Signature Version 4 for one HTTP request (see sigv4.h).
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sigv4.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"

/* One query pair, pointing into a copy of the query string. */
struct query_pair {
	const char *name;
	const char *value;
};

/* One header to sign: its name in lower case and its tidied value. */
struct canon_header {
	char *name;
	char *value;
	size_t order;   /* position in the request, so that repeated names keep it */
};

static int
query_pair_cmp(const void *a, const void *b)
{
	const struct query_pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

static int
canon_header_cmp(const void *a, const void *b)
{
	const struct canon_header *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Return value without leading and trailing blanks, inner runs made one space. */
static char *
tidy_value(const char *value)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p = value;

	while (is_blank(*p))
		p++;
	while (*p) {
		if (is_blank(*p)) {
			while (is_blank(*p))
				p++;
			if (*p)
				strbuf_addch(&sb, ' ');
			continue;
		}
		strbuf_addch(&sb, *p++);
	}
	return strbuf_detach(&sb, NULL);
}

static char *
lower_name(const char *name)
{
	char *s = xstrdup(name);

	for (char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return s;
}

/* Append the canonical query string: pairs sorted by name, then value. */
static void
add_canonical_query(const char *query, struct strbuf *out)
{
	struct query_pair *pairs = NULL;
	size_t n = 0, alloc = 0;
	char *copy, *p;

	if (!query || !*query)
		return;
	/* Split a copy in place; the pairs point into it. */
	copy = xstrdup(query);
	p = copy;
	while (p) {
		char *amp = strchr(p, '&'), *eq;

		if (amp)
			*amp = '\0';
		if (*p) {
			ALLOC_GROW(pairs, n, alloc);
			eq = strchr(p, '=');
			if (eq)
				*eq = '\0';
			pairs[n].name = p;
			pairs[n].value = eq ? eq + 1 : "";
			n++;
		}
		p = amp ? amp + 1 : NULL;
	}
	qsort(pairs, n, sizeof(*pairs), query_pair_cmp);
	for (size_t i = 0; i < n; i++)
		strbuf_addf(out, "%s%s=%s", i ? "&" : "", pairs[i].name, pairs[i].value);
	free(pairs);
	free(copy);
}

void
sigv4_canonical_request(const struct sigv4_request *r, struct strbuf *out,
			struct strbuf *signed_headers)
{
	struct canon_header *h = xcalloc(r->nheaders ? r->nheaders : 1, sizeof(*h));
	struct strbuf names = STRBUF_INIT;

	strbuf_addf(out, "%s\n%s\n", r->method, r->path);
	add_canonical_query(r->query, out);
	strbuf_addch(out, '\n');

	for (size_t i = 0; i < r->nheaders; i++) {
		h[i].name = lower_name(r->headers[i].name);
		h[i].value = tidy_value(r->headers[i].value);
		h[i].order = i;
	}
	qsort(h, r->nheaders, sizeof(*h), canon_header_cmp);
	for (size_t i = 0; i < r->nheaders; i++) {
		bool same = i > 0 && !strcmp(h[i].name, h[i - 1].name);

		if (same) {
			strbuf_addf(out, ",%s", h[i].value);
			continue;
		}
		if (i > 0)
			strbuf_addch(out, '\n');
		strbuf_addf(out, "%s:%s", h[i].name, h[i].value);
		strbuf_addf(&names, "%s%s", names.len ? ";" : "", h[i].name);
	}
	if (r->nheaders)
		strbuf_addch(out, '\n');
	strbuf_addf(out, "\n%s\n%s", names.buf, r->payload_hash);

	if (signed_headers)
		strbuf_addstr(signed_headers, names.buf);
	for (size_t i = 0; i < r->nheaders; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
	strbuf_release(&names);
}

static void
add_hex(struct strbuf *out, const unsigned char *md, size_t len)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		strbuf_addch(out, digits[md[i] >> 4]);
		strbuf_addch(out, digits[md[i] & 0xf]);
	}
}

void
sigv4_sha256_hex(const void *data, size_t len, struct strbuf *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL))
		fatal("SHA-256 failed");
	add_hex(out, md, mdlen);
}

/* The scope's date: the first eight characters of amz_date. */
static void
add_scope(struct strbuf *out, const char *amz_date, const struct sigv4_key *k)
{
	strbuf_addf(out, "%.8s/%s/%s/aws4_request", amz_date, k->region, k->service);
}

void
sigv4_string_to_sign(const char *canonical_request, const char *amz_date,
		     const struct sigv4_key *k, struct strbuf *out)
{
	strbuf_addf(out, SIGV4_ALGORITHM "\n%s\n", amz_date);
	add_scope(out, amz_date, k);
	strbuf_addch(out, '\n');
	sigv4_sha256_hex(canonical_request, strlen(canonical_request), out);
}

/* HMAC-SHA256 of data under key into md (32 bytes). */
static void
hmac(const void *key, size_t keylen, const char *data, unsigned char *md)
{
	unsigned int mdlen = 0;

	if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)data, strlen(data),
		  md, &mdlen) || mdlen != 32)
		fatal("HMAC-SHA256 failed");
}

void
sigv4_signature(const char *string_to_sign, const char *amz_date, const struct sigv4_key *k,
		struct strbuf *out)
{
	struct strbuf secret = STRBUF_INIT;
	char date[9];
	unsigned char key[32], sig[32];

	/* The signing key: the secret, narrowed by date, region, service. */
	strbuf_addf(&secret, "AWS4%s", k->secret_key);
	snprintf(date, sizeof(date), "%.8s", amz_date);
	hmac(secret.buf, secret.len, date, key);
	hmac(key, sizeof(key), k->region, key);
	hmac(key, sizeof(key), k->service, key);
	hmac(key, sizeof(key), "aws4_request", key);
	hmac(key, sizeof(key), string_to_sign, sig);
	add_hex(out, sig, sizeof(sig));

	/* The secret and what derives from it do not linger in freed memory. */
	OPENSSL_cleanse(secret.buf, secret.len);
	OPENSSL_cleanse(key, sizeof(key));
	strbuf_release(&secret);
}

void
sigv4_authorization(const struct sigv4_request *r, const char *amz_date,
		    const struct sigv4_key *k, struct strbuf *out)
{
	struct strbuf creq = STRBUF_INIT, names = STRBUF_INIT, sts = STRBUF_INIT;

	sigv4_canonical_request(r, &creq, &names);
	sigv4_string_to_sign(creq.buf, amz_date, k, &sts);
	strbuf_addf(out, SIGV4_ALGORITHM " Credential=%s/", k->access_key);
	add_scope(out, amz_date, k);
	strbuf_addf(out, ", SignedHeaders=%s, Signature=", names.buf);
	sigv4_signature(sts.buf, amz_date, k, out);
	strbuf_release(&creq);
	strbuf_release(&names);
	strbuf_release(&sts);
}

void
sigv4_amz_date(long long t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (size == 0)
		return;
	buf[0] = '\0';
	if (size < 17 || !gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y%m%dT%H%M%SZ", &tm))
		buf[0] = '\0';
}
