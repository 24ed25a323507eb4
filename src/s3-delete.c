/* s3-delete: remove objects by key, in batches (s3-delete.h). */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "s3-delete.h"
#include "s3-xml.h"

/* "Content-MD5: BASE64" of len bytes of data, to headers. */
static void
s3_delete_md5(const void *data, size_t len, struct strvec *headers)
{
	unsigned char md[EVP_MAX_MD_SIZE], b64[32];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_md5(), NULL);
	EVP_EncodeBlock(b64, md, (int)mdlen);
	strvec_pushf(headers, "Content-MD5: %s", (const char *)b64);
}

/* The first failure's words, once. */
static void
s3_delete_note(struct strbuf *why, const char *key, const char *code, const char *message)
{
	if (why->len > 0)
		return;
	strbuf_addch(why, '\'');
	escape_untrusted(why, key, strlen(key));
	strbuf_addstr(why, "': ");
	strbuf_addstr(why, code && *code ? code : "not deleted");
	if (message && *message) {
		strbuf_addstr(why, ": ");
		escape_untrusted(why, message, strlen(message));
	}
}

/* One key by a DELETE of its own. */
static bool
s3_delete_one(struct s3_client *cl, const char *key, struct strvec *deleted,
	      struct strbuf *why)
{
	struct s3_call c;
	bool ok;

	s3_call_init(&c, "DELETE", key);
	/* 204 when it went, and S3 answers so for a key that was not there too. */
	ok = s3_run(cl, &c, 1, 1) == 0 || c.status == 404;
	if (ok)
		strvec_push(deleted, key);
	else
		s3_delete_note(why, key, s3_call_code(&c), s3_call_reason(&c));
	s3_call_release(&c);
	return ok;
}

/* n keys (at most S3_DELETE_BATCH, each one the XML carries) by one DeleteObjects. */
static bool
s3_delete_batch(struct s3_client *cl, const char *const *keys, size_t n,
		struct strvec *deleted, struct strbuf *why)
{
	struct strbuf body = STRBUF_INIT;
	struct s3_delete_error *errs = NULL;
	struct s3_call c;
	size_t bad, nerrs = 0, k, e;
	bool ok = false;

	if (s3_xml_delete_body(keys, n, &body, &bad) < 0) {
		strbuf_release(&body);
		return false;
	}
	s3_call_init(&c, "POST", NULL);
	c.query = "delete=";
	c.body = body.buf;
	c.body_len = body.len;
	c.body_sha256 = true;
	strvec_push(&c.headers, "Content-Type: application/xml");
	s3_delete_md5(body.buf, body.len, &c.headers);
	if (s3_run(cl, &c, 1, 1) < 0) {
		s3_delete_note(why, keys[0], s3_call_code(&c), s3_call_reason(&c));
	} else if (s3_xml_delete_errors(c.reply.buf, c.reply.len, &errs, &nerrs) < 0) {
		s3_delete_note(why, keys[0], "DeleteObjects", "an answer that cannot be read");
	} else {
		ok = nerrs == 0;
		for (k = 0; k < n; k++) {
			for (e = 0; e < nerrs && strcmp(errs[e].key, keys[k]) != 0; e++)
				;
			if (e == nerrs)
				strvec_push(deleted, keys[k]);
			else
				s3_delete_note(why, keys[k], errs[e].code, errs[e].message);
		}
	}
	s3_delete_errors_release(errs, nerrs);
	s3_call_release(&c);
	strbuf_release(&body);
	return ok;
}

int
s3_delete_keys(struct s3_client *cl, const char *const *keys, size_t n,
	       struct strvec *deleted, struct strbuf *why)
{
	struct strbuf probe = STRBUF_INIT;
	size_t at = 0;
	bool ok = true;

	while (at < n) {
		size_t take = n - at < S3_DELETE_BATCH ? n - at : S3_DELETE_BATCH, bad;

		/* A key the XML cannot carry ends the batch before it, and goes alone. */
		strbuf_reset(&probe);
		if (s3_xml_delete_body(keys + at, take, &probe, &bad) < 0) {
			if (bad > 0 && !s3_delete_batch(cl, keys + at, bad, deleted, why))
				ok = false;
			if (!s3_delete_one(cl, keys[at + bad], deleted, why))
				ok = false;
			at += bad + 1;
			continue;
		}
		if (!s3_delete_batch(cl, keys + at, take, deleted, why))
			ok = false;
		at += take;
	}
	strbuf_release(&probe);
	return ok ? 0 : -1;
}
