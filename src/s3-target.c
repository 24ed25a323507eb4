/*
 * s3-target: where an object store is, and how its URLs are spelled.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3-target.h"

#define S3_KEY_MAX 1024

bool
s3_is_url(const char *dest)
{
	return dest && (strncmp(dest, "s3://", 5) == 0 || strncmp(dest, "cos://", 6) == 0);
}

static bool
s3_bucket_name_ok(const char *b, size_t len)
{
	size_t k;

	if (len < 3 || len > 63)
		return false;
	for (k = 0; k < len; k++) {
		char c = b[k];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return false;
	}
	return b[0] != '.' && b[0] != '-' && b[len - 1] != '.' && b[len - 1] != '-';
}

int
s3_target_parse(const char *dest, struct s3_target *t, char *err, size_t errlen)
{
	const char *rest, *slash;
	size_t blen, plen;

	memset(t, 0, sizeof *t);
	if (!s3_is_url(dest)) {
		snprintf(err, errlen, "'%s' is not an s3:// or cos:// URL", dest);
		return SYNC_ERR_INVALID;
	}
	t->cos = dest[0] == 'c';
	rest = dest + (t->cos ? 6 : 5);
	slash = strchr(rest, '/');
	blen = slash ? (size_t)(slash - rest) : strlen(rest);
	if (!s3_bucket_name_ok(rest, blen)) {
		snprintf(err, errlen, "invalid bucket '%.*s' in '%s': 3 to 63 of a-z, 0-9, "
			 "'.' and '-'", (int)(blen > 80 ? 80 : blen), rest, dest);
		return SYNC_ERR_INVALID;
	}
	if (t->cos && !strchr(rest, '-')) {
		snprintf(err, errlen, "invalid bucket in '%s': a COS bucket is named "
			 "BUCKET-APPID", dest);
		return SYNC_ERR_INVALID;
	}
	t->bucket = xstrndup(rest, blen);
	/* The prefix without '/' at either end, and no empty steps ("a//b"). */
	{
		struct strbuf p = STRBUF_INIT;
		const char *s = slash ? slash : "";

		while (*s) {
			size_t n;

			while (*s == '/')
				s++;
			n = strcspn(s, "/");
			if (n == 0)
				break;
			if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) {
				snprintf(err, errlen, "invalid prefix in '%s': '.' and '..' are "
					 "not steps of a key", dest);
				strbuf_release(&p);
				s3_target_release(t);
				return SYNC_ERR_INVALID;
			}
			if (p.len)
				strbuf_addch(&p, '/');
			strbuf_add(&p, s, n);
			s += n;
		}
		plen = p.len;
		t->prefix = strbuf_detach(&p, NULL);
	}
	if (plen > S3_KEY_MAX / 2 || !utf8_valid(t->prefix, plen)) {
		snprintf(err, errlen, "invalid prefix in '%s': a key is UTF-8 of at most %d bytes",
			 dest, S3_KEY_MAX);
		s3_target_release(t);
		return SYNC_ERR_INVALID;
	}
	return 0;
}

/* Is host (without its port) an IP address or localhost, which names no bucket? */
static bool
s3_host_is_address(const char *host)
{
	size_t n = strcspn(host, ":");

	if (host[0] == '[')
		return true;
	if (n == 9 && strncmp(host, "localhost", 9) == 0)
		return true;
	return strspn(host, "0123456789.") == n;
}

static bool
s3_host_ends(const char *host, const char *suffix)
{
	size_t n = strcspn(host, ":"), k = strlen(suffix);

	return n > k && strncmp(host + n - k, suffix, k) == 0;
}

int
s3_target_resolve(struct s3_target *t, const char *endpoint, const char *region,
		  enum s3_style style, char *err, size_t errlen)
{
	const char *host;
	size_t n;

	free(t->scheme);
	free(t->host);
	free(t->region);
	t->scheme = t->host = t->region = NULL;
	if (region && *region) {
		if (strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(region)) {
			snprintf(err, errlen, "invalid region '%s'", region);
			return SYNC_ERR_INVALID;
		}
		t->region = xstrdup(region);
	} else if (t->cos) {
		snprintf(err, errlen, "a cos:// destination needs a region: --region, AWS_REGION "
			 "or the setting s3_region (ap-beijing, say)");
		return SYNC_ERR_INVALID;
	} else {
		t->region = xstrdup("us-east-1");
	}
	if (endpoint && *endpoint) {
		if (strncmp(endpoint, "http://", 7) == 0) {
			t->scheme = xstrdup("http");
			host = endpoint + 7;
		} else if (strncmp(endpoint, "https://", 8) == 0) {
			t->scheme = xstrdup("https");
			host = endpoint + 8;
		} else if (strstr(endpoint, "://")) {
			snprintf(err, errlen, "invalid endpoint '%s': http:// or https:// only",
				 endpoint);
			return SYNC_ERR_INVALID;
		} else {
			t->scheme = xstrdup("https");
			host = endpoint;
		}
		n = strcspn(host, "/");
		/* Only the root: a path in the endpoint would be signed wrongly. */
		if (n == 0 || strspn(host + n, "/") != strlen(host + n) ||
		    strpbrk(host, " \t\r\n@?#")) {
			snprintf(err, errlen, "invalid endpoint '%s': expected "
				 "[http[s]://]HOST[:PORT]", endpoint);
			return SYNC_ERR_INVALID;
		}
		t->host = xstrndup(host, n);
	} else {
		t->scheme = xstrdup("https");
		t->host = t->cos ? xasprintf("cos.%s.myqcloud.com", t->region) :
				   xasprintf("s3.%s.amazonaws.com", t->region);
	}
	if (style == S3_STYLE_AUTO)
		t->path_style = s3_host_is_address(t->host) ||
				!(s3_host_ends(t->host, ".amazonaws.com") ||
				  s3_host_ends(t->host, ".myqcloud.com"));
	else
		t->path_style = style == S3_STYLE_PATH;
	/* A dotted bucket's virtual host would not match the certificate's one level. */
	if (!t->path_style && strchr(t->bucket, '.') && strcmp(t->scheme, "https") == 0 &&
	    style == S3_STYLE_AUTO)
		t->path_style = true;
	return 0;
}

char *
s3_host_region(const char *host)
{
	static const struct {
		const char *start, *end;
	} known[] = {
		{ "s3.", ".amazonaws.com" },
		{ "cos.", ".myqcloud.com" },
	};
	size_t n = strcspn(host, ":"), k;

	for (k = 0; k < sizeof known / sizeof *known; k++) {
		size_t sl = strlen(known[k].start), el = strlen(known[k].end), rl;
		const char *r = host + sl;

		if (n <= sl + el || strncmp(host, known[k].start, sl) != 0 ||
		    strncmp(host + n - el, known[k].end, el) != 0)
			continue;
		rl = n - sl - el;
		/* One label of a-z 0-9 -: not "s3.dualstack.x" nor "s3.amazonaws.com". */
		if (memchr(r, '.', rl) != NULL ||
		    strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789-") < rl)
			return NULL;
		return xstrndup(r, rl);
	}
	return NULL;
}

void
s3_target_release(struct s3_target *t)
{
	free(t->bucket);
	free(t->prefix);
	free(t->scheme);
	free(t->host);
	free(t->region);
	memset(t, 0, sizeof *t);
}

void
s3_bucket_url(const struct s3_target *t, struct strbuf *out)
{
	if (t->path_style)
		strbuf_addf(out, "%s://%s/%s", t->scheme, t->host, t->bucket);
	else
		strbuf_addf(out, "%s://%s.%s", t->scheme, t->bucket, t->host);
}

void
s3_uri_encode(struct strbuf *out, const char *s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || (c == '/' && keep_slash)) {
			strbuf_addch(out, (char)c);
		} else {
			strbuf_addch(out, '%');
			strbuf_addch(out, hex[c >> 4]);
			strbuf_addch(out, hex[c & 15]);
		}
	}
}

void
s3_request_where(const struct s3_target *t, const char *key, struct strbuf *host,
		 struct strbuf *path)
{
	if (t->path_style) {
		strbuf_addstr(host, t->host);
		strbuf_addch(path, '/');
		strbuf_addstr(path, t->bucket);
		if (key) {
			strbuf_addch(path, '/');
			s3_uri_encode(path, key, true);
		}
	} else {
		strbuf_addf(host, "%s.%s", t->bucket, t->host);
		strbuf_addch(path, '/');
		if (key)
			s3_uri_encode(path, key, true);
	}
}

char *
s3_target_url(const struct s3_target *t)
{
	return xasprintf("%s://%s%s%s", t->cos ? "cos" : "s3", t->bucket, *t->prefix ? "/" : "",
			 t->prefix);
}

void
s3_key(const struct s3_target *t, const char *rel, struct strbuf *out)
{
	if (t->prefix && *t->prefix) {
		strbuf_addstr(out, t->prefix);
		strbuf_addch(out, '/');
	}
	strbuf_addstr(out, rel);
}

bool
s3_key_ok(const char *key)
{
	size_t n = strlen(key);

	return n > 0 && n <= S3_KEY_MAX && utf8_valid(key, n);
}
