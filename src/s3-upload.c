/*
 * s3-upload: a file to an object, whole or in parallel parts, checked.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "s3-upload.h"
#include "s3-xml.h"

#define S3_READ_CHUNK (1u << 20)

uint64_t
s3_part_size(uint64_t size)
{
	uint64_t part = S3_PART_MIN;

	/* Whole MiBs, as few as keep the count under the limit. */
	while ((size + part - 1) / part >= S3_PARTS_MAX)
		part += 1ULL << 20;
	return part;
}

bool
s3_upload_in_parts(uint64_t size, uint64_t multipart_from)
{
	/* One part of a file no bigger than a part is a PUT with more requests. */
	return size > S3_PART_MIN && (size >= multipart_from || size > S3_PUT_MAX);
}

void
s3_mtime_text(const struct stat *sb, struct strbuf *out)
{
	strbuf_addf(out, "%lld.%09ld", (long long)sb->st_mtim.tv_sec, (long)sb->st_mtim.tv_nsec);
}

void
s3_upload_result_release(struct s3_upload_result *r)
{
	free(r->reason);
	free(r->code);
	free(r->etag);
	r->reason = r->code = NULL;
}

static bool
s3_same_file(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec && a->st_ino == b->st_ino;
}

/* The file as it is now against sb: false (and r says so) when it changed. */
static bool
s3_still_same(int fd, const struct stat *sb, struct s3_upload_result *r)
{
	struct stat now;

	if (fstat(fd, &now) == 0 && s3_same_file(&now, sb))
		return true;
	r->outcome = S3_UPLOAD_CHANGED;
	free(r->reason);
	r->reason = xstrdup("the file changed while it was read");
	return false;
}

/* MD5 of len bytes of fd from offset into md (16 bytes). 0, or -errno; -EIO when short. */
static int
s3_md5_range(int fd, uint64_t offset, uint64_t len, unsigned char *md, void *buf)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int mdlen = 0;
	int rc = 0;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return -ENOMEM;
	}
	while (len > 0) {
		size_t want = len > S3_READ_CHUNK ? S3_READ_CHUNK : (size_t)len;
		ssize_t got = pread(fd, buf, want, (off_t)offset);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			rc = got < 0 ? -errno : -EIO;
			break;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)got);
		offset += (uint64_t)got;
		len -= (uint64_t)got;
	}
	if (rc == 0)
		EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	return rc;
}

static void
s3_md5_mem(const void *data, size_t len, unsigned char *md)
{
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_md5(), NULL);
}

static void
s3_hex(const unsigned char *md, size_t n, struct strbuf *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t k;

	for (k = 0; k < n; k++) {
		strbuf_addch(out, hex[md[k] >> 4]);
		strbuf_addch(out, hex[md[k] & 15]);
	}
}

/* "Content-MD5: BASE64" for md. */
static void
s3_md5_header(const unsigned char *md, struct strvec *headers)
{
	unsigned char b64[32];

	EVP_EncodeBlock(b64, md, 16);
	strvec_pushf(headers, "Content-MD5: %s", (const char *)b64);
}

/* Does etag (as sent: quoted, or not by some servers) name md? */
static bool
s3_etag_is(const char *etag, const unsigned char *md, const char *suffix)
{
	struct strbuf want = STRBUF_INIT;
	size_t n;
	bool same;

	/* Blanks around it (an XML element's), then its quotes. */
	etag += strspn(etag, " \t\r\n");
	n = strlen(etag);
	while (n > 0 && strchr(" \t\r\n", etag[n - 1]))
		n--;
	if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"') {
		etag++;
		n -= 2;
	}
	s3_hex(md, 16, &want);
	strbuf_addstr(&want, suffix);
	same = n == want.len && strncasecmp(etag, want.buf, n) == 0;
	strbuf_release(&want);
	return same;
}

static void
s3_metadata_headers(const struct stat *sb, struct strvec *headers)
{
	struct strbuf m = STRBUF_INIT;

	s3_mtime_text(sb, &m);
	strvec_pushf(headers, "x-amz-meta-mtime: %s", m.buf);
	strvec_pushf(headers, "x-amz-meta-mode: %04o", (unsigned)(sb->st_mode & 07777));
	strbuf_release(&m);
}

/* The call failed: r says why, as FAILED. */
static void
s3_failed(struct s3_upload_result *r, const struct s3_call *c, const char *what)
{
	r->outcome = S3_UPLOAD_FAILED;
	r->retryable = c->retryable;
	free(r->reason);
	free(r->code);
	r->reason = xasprintf("%s: %s", what, s3_call_reason(c));
	r->code = c->code ? xstrdup(c->code) : NULL;
}

/*
 * A call whose body came from fd failed: the file changed under the read
 * (a BadDigest, a body cut short) or could not be read, which no store
 * refused and a later try may pass; else the store's failure.
 */
static void
s3_failed_reading(struct s3_upload_result *r, const struct s3_call *c, const char *what, int fd,
		  const struct stat *sb)
{
	if (!s3_still_same(fd, sb, r))
		return;
	if (c->body_unread) {
		r->outcome = S3_UPLOAD_UNREADABLE;
		free(r->reason);
		r->reason = xstrdup(s3_call_reason(c));
		return;
	}
	s3_failed(r, c, what);
}

bool
s3_head_is_file(const struct s3_call *head, const struct stat *sb)
{
	const char *len = s3_call_header(head, "content-length");
	const char *mtime = s3_call_header(head, "x-amz-meta-mtime");
	const char *mode = s3_call_header(head, "x-amz-meta-mode");
	struct strbuf m = STRBUF_INIT, o = STRBUF_INIT;
	bool same;

	s3_mtime_text(sb, &m);
	strbuf_addf(&o, "%04o", (unsigned)(sb->st_mode & 07777));
	same = len && mtime && mode && strtoull(len, NULL, 10) == (unsigned long long)sb->st_size &&
	       strcmp(mtime, m.buf) == 0 && strcmp(mode, o.buf) == 0;
	strbuf_release(&m);
	strbuf_release(&o);
	return same;
}

/*
 * Is the object under key already the file (size, mtime and mode)? Sets
 * r->existed.
 */
static int
s3_head_same(struct s3_client *cl, const char *key, const struct stat *sb,
	     struct s3_upload_result *r, bool *same)
{
	struct s3_call c;
	int rc = 0;

	*same = false;
	s3_call_init(&c, "HEAD", key);
	if (s3_run(cl, &c, 1, 1) == 0) {
		r->existed = true;
		free(r->etag);
		r->etag = c.etag.len ? xstrdup(c.etag.buf) : NULL;
		*same = s3_head_is_file(&c, sb);
	} else if (c.status == 404) {
		r->existed = false;
	} else {
		s3_failed(r, &c, "HEAD");
		rc = -1;
	}
	s3_call_release(&c);
	return rc;
}

static void
s3_put_whole(struct s3_client *cl, int fd, const struct stat *sb, const char *key,
	     const struct s3_upload_opts *o, struct s3_upload_result *r)
{
	size_t size = (size_t)sb->st_size, got = 0;
	char *data = xmalloc(size ? size : 1);
	unsigned char md[16];
	struct s3_call c;

	/* Read whole: what is hashed is what is sent. */
	while (got < size) {
		ssize_t n = pread(fd, data + got, size - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0) {
				r->outcome = S3_UPLOAD_UNREADABLE;
				r->reason = xstrdup(strerror(errno));
			} else {
				s3_still_same(fd, sb, r);
				r->outcome = S3_UPLOAD_CHANGED;
			}
			free(data);
			return;
		}
		got += (size_t)n;
	}
	if (!s3_still_same(fd, sb, r)) {
		free(data);
		return;
	}
	s3_md5_mem(data, size, md);
	s3_call_init(&c, "PUT", key);
	c.body = data;
	c.body_len = size;
	s3_md5_header(md, &c.headers);
	strvec_push(&c.headers, "Content-Type: application/octet-stream");
	s3_metadata_headers(sb, &c.headers);
	if (s3_run(cl, &c, 1, 1) < 0) {
		s3_failed(r, &c, "PUT");
	} else if (c.etag.len && !s3_etag_is(c.etag.buf, md, "")) {
		/* A server that encrypts may answer another ETag; ours must say the MD5. */
		r->outcome = S3_UPLOAD_FAILED;
		r->retryable = true;
		r->reason = xasprintf("PUT: the server's ETag %s is not the data's MD5",
				      c.etag.buf);
	} else {
		r->outcome = S3_UPLOAD_SENT;
		if (o->progress)
			o->progress(size, o->ctx);
	}
	s3_call_release(&c);
	free(data);
}

/* Is the object under key now the one whose ETag names md (and suffix)? A HEAD. */
static bool
s3_object_is(struct s3_client *cl, const char *key, const unsigned char *md, const char *suffix)
{
	struct s3_call c;
	bool is;

	s3_call_init(&c, "HEAD", key);
	is = s3_run(cl, &c, 1, 1) == 0 && c.etag.len && s3_etag_is(c.etag.buf, md, suffix);
	s3_call_release(&c);
	return is;
}

/* One part of a multipart upload: its number, range and MD5, and whether it is there. */
struct s3_part_state {
	uint64_t offset, len;
	unsigned char md[16];
	bool hashed, there;
	char *etag;
};

/*
 * The upload of key an earlier run began and left: its id (caller
 * frees), or NULL. Other uploads of the key are aborted; with keep
 * false, all of them are (after a completion: one whose creation was
 * asked again after its answer was lost is left over otherwise).
 */
static char *
s3_find_upload(struct s3_client *cl, const char *key, bool keep, struct s3_upload_result *r,
	       int *rc)
{
	struct strbuf q = STRBUF_INIT;
	struct s3_uploads ups;
	struct s3_call c;
	char *found = NULL;
	size_t k;

	*rc = 0;
	strbuf_addstr(&q, "encoding-type=url&prefix=");
	s3_uri_encode(&q, key, false);
	strbuf_addstr(&q, "&uploads=");
	s3_call_init(&c, "GET", NULL);
	c.query = q.buf;
	if (s3_run(cl, &c, 1, 1) < 0) {
		s3_failed(r, &c, "ListMultipartUploads");
		*rc = -1;
		goto out;
	}
	if (s3_xml_uploads(c.reply.buf, c.reply.len, &ups) < 0) {
		r->outcome = S3_UPLOAD_FAILED;
		r->retryable = true;
		r->reason = xstrdup("ListMultipartUploads: the server's answer cannot be read");
		*rc = -1;
		goto out;
	}
	for (k = 0; k < ups.nuploads; k++) {
		struct strbuf aq = STRBUF_INIT;
		struct s3_call a;
		char *drop;

		if (strcmp(ups.uploads[k].key, key) != 0)
			continue;
		/* Kept: the newest (listed last); the one before it goes. */
		if (keep) {
			drop = found;
			found = xstrdup(ups.uploads[k].upload_id);
		} else {
			drop = xstrdup(ups.uploads[k].upload_id);
		}
		if (drop == NULL)
			continue;
		strbuf_addstr(&aq, "uploadId=");
		s3_uri_encode(&aq, drop, false);
		s3_call_init(&a, "DELETE", key);
		a.query = aq.buf;
		s3_run(cl, &a, 1, 1);
		s3_call_release(&a);
		strbuf_release(&aq);
		free(drop);
	}
	s3_uploads_release(&ups);
out:
	s3_call_release(&c);
	strbuf_release(&q);
	return found;
}

/* Mark the parts the server has of upload id: those whose size and MD5 still match. */
static int
s3_parts_there(struct s3_client *cl, const char *key, const char *id, struct s3_part_state *parts,
	       size_t nparts, struct s3_upload_result *r)
{
	int marker = 0;

	for (;;) {
		struct strbuf q = STRBUF_INIT;
		struct s3_parts got;
		struct s3_call c;
		size_t k;
		bool more;

		strbuf_addf(&q, "part-number-marker=%d&uploadId=", marker);
		s3_uri_encode(&q, id, false);
		s3_call_init(&c, "GET", key);
		c.query = q.buf;
		if (s3_run(cl, &c, 1, 1) < 0) {
			s3_failed(r, &c, "ListParts");
			s3_call_release(&c);
			strbuf_release(&q);
			return -1;
		}
		if (s3_xml_parts(c.reply.buf, c.reply.len, &got) < 0) {
			r->outcome = S3_UPLOAD_FAILED;
			r->retryable = true;
			r->reason = xstrdup("ListParts: the server's answer cannot be read");
			s3_call_release(&c);
			strbuf_release(&q);
			return -1;
		}
		for (k = 0; k < got.nparts; k++) {
			int n = got.parts[k].number;

			if (n >= 1 && (size_t)n <= nparts &&
			    got.parts[k].size == parts[n - 1].len && got.parts[k].etag) {
				free(parts[n - 1].etag);
				parts[n - 1].etag = xstrdup(got.parts[k].etag);
			}
		}
		more = got.truncated && got.next_marker > marker;
		marker = got.next_marker;
		s3_parts_release(&got);
		s3_call_release(&c);
		strbuf_release(&q);
		if (!more)
			return 0;
	}
}

struct s3_window_progress {
	const struct s3_upload_opts *o;
	uint64_t base;
};

static void
s3_window_progress(uint64_t sent, void *ctx)
{
	struct s3_window_progress *wp = ctx;

	if (wp->o->progress)
		wp->o->progress(wp->base + sent, wp->o->ctx);
}

static void
s3_put_parts(struct s3_client *cl, int fd, const struct stat *sb, const char *key,
	     const struct s3_upload_opts *o, struct s3_upload_result *r)
{
	uint64_t size = (uint64_t)sb->st_size, part = s3_part_size(size), done = 0;
	size_t nparts = (size_t)((size + part - 1) / part), k, first;
	struct s3_part_state *parts = xcalloc(nparts, sizeof *parts);
	int parallel = o->parallel > 0 ? o->parallel : 1;
	size_t window = (size_t)parallel * 2;
	struct s3_call *calls = xcalloc(window, sizeof *calls);
	void *buf = xmalloc(S3_READ_CHUNK);
	struct strbuf q = STRBUF_INIT;
	char *id = NULL;
	bool resumed = false;
	int rc;

	for (k = 0; k < nparts; k++) {
		parts[k].offset = (uint64_t)k * part;
		parts[k].len = k + 1 < nparts ? part : size - parts[k].offset;
	}
	id = s3_find_upload(cl, key, true, r, &rc);
	if (rc < 0)
		goto out;
	resumed = id != NULL;
	if (id && s3_parts_there(cl, key, id, parts, nparts, r) < 0)
		goto out;
	if (id == NULL) {
		struct s3_call c;

		s3_call_init(&c, "POST", key);
		c.query = "uploads=";
		strvec_push(&c.headers, "Content-Type: application/octet-stream");
		s3_metadata_headers(sb, &c.headers);
		if (s3_run(cl, &c, 1, 1) < 0) {
			s3_failed(r, &c, "CreateMultipartUpload");
			s3_call_release(&c);
			goto out;
		}
		if (s3_xml_upload_id(c.reply.buf, c.reply.len, &id) < 0) {
			r->outcome = S3_UPLOAD_FAILED;
			r->retryable = true;
			r->reason = xstrdup("CreateMultipartUpload: the server's answer cannot "
					    "be read");
			s3_call_release(&c);
			goto out;
		}
		s3_call_release(&c);
	}
	/* In windows of parts: each hashed just before it goes, while it is in the cache. */
	for (first = 0; first < nparts; first += window) {
		size_t last = first + window < nparts ? first + window : nparts, n = 0;
		struct s3_window_progress wp = { o, 0 };
		struct strvec queries = STRVEC_INIT;

		for (k = first; k < last; k++) {
			int e = s3_md5_range(fd, parts[k].offset, parts[k].len, parts[k].md, buf);

			if (e < 0) {
				if (e == -EIO) {
					s3_still_same(fd, sb, r);
					r->outcome = S3_UPLOAD_CHANGED;
				} else {
					r->outcome = S3_UPLOAD_UNREADABLE;
					r->reason = xstrdup(strerror(-e));
				}
				strvec_clear(&queries);
				goto out;
			}
			parts[k].hashed = true;
			if (parts[k].etag && s3_etag_is(parts[k].etag, parts[k].md, "")) {
				parts[k].there = true;
				r->resumed += parts[k].len;
				done += parts[k].len;
			}
		}
		for (k = first; k < last; k++) {
			if (parts[k].there)
				continue;
			strbuf_reset(&q);
			strbuf_addf(&q, "partNumber=%zu&uploadId=", k + 1);
			s3_uri_encode(&q, id, false);
			strvec_push(&queries, q.buf);
			s3_call_init(&calls[n], "PUT", key);
			calls[n].query = queries.v[queries.nr - 1];
			calls[n].body_fd = fd;
			calls[n].body_offset = parts[k].offset;
			calls[n].body_size = parts[k].len;
			s3_md5_header(parts[k].md, &calls[n].headers);
			calls[n].priv = NULL;
			n++;
		}
		wp.base = done;
		s3_client_on_progress(cl, s3_window_progress, &wp);
		rc = n ? s3_run(cl, calls, n, parallel) : 0;
		s3_client_on_progress(cl, NULL, NULL);
		for (k = first, n = 0; k < last; k++) {
			struct s3_call *c;

			if (parts[k].there)
				continue;
			c = &calls[n++];
			if (c->error == NULL && c->etag.len &&
			    s3_etag_is(c->etag.buf, parts[k].md, "")) {
				free(parts[k].etag);
				parts[k].etag = xstrdup(c->etag.buf);
				parts[k].there = true;
				done += parts[k].len;
			} else if (r->outcome == S3_UPLOAD_SENT) {
				/* The first failure says why. */
				if (c->error)
					s3_failed_reading(r, c, "UploadPart", fd, sb);
				else {
					r->outcome = S3_UPLOAD_FAILED;
					r->retryable = true;
					r->reason = xasprintf("UploadPart: the server's ETag %s is "
							      "not the part's MD5", c->etag.buf);
				}
			}
		}
		for (k = 0; k < n; k++)
			s3_call_release(&calls[k]);
		strvec_clear(&queries);
		if (r->outcome != S3_UPLOAD_SENT)
			goto out;
		if (!s3_still_same(fd, sb, r))
			goto out;
	}
	/* Every part is there: complete, and check the whole's ETag. */
	{
		struct s3_part *list = xcalloc(nparts, sizeof *list);
		struct strbuf body = STRBUF_INIT;
		unsigned char *mds = xmalloc(nparts * 16), whole[16];
		struct s3_error err;
		char *etag = NULL;
		struct s3_call c;
		char suffix[32];

		for (k = 0; k < nparts; k++) {
			list[k].number = (int)k + 1;
			list[k].etag = parts[k].etag;
			list[k].size = parts[k].len;
			memcpy(mds + k * 16, parts[k].md, 16);
		}
		s3_xml_complete_body(list, nparts, &body);
		s3_md5_mem(mds, nparts * 16, whole);
		snprintf(suffix, sizeof suffix, "-%zu", nparts);
		strbuf_reset(&q);
		strbuf_addstr(&q, "uploadId=");
		s3_uri_encode(&q, id, false);
		s3_call_init(&c, "POST", key);
		c.query = q.buf;
		c.body = body.buf;
		c.body_len = body.len;
		c.body_sha256 = true;
		strvec_push(&c.headers, "Content-Type: application/xml");
		memset(&err, 0, sizeof err);
		if (s3_run(cl, &c, 1, 1) < 0) {
			/*
			 * An attempt whose answer was lost may have completed it:
			 * the next finds no upload. The object tells.
			 */
			if (c.attempts > 1 && c.status == 404 &&
			    strcmp(s3_call_code(&c), "NoSuchUpload") == 0 &&
			    s3_object_is(cl, key, whole, suffix))
				r->outcome = S3_UPLOAD_SENT;
			else
				s3_failed(r, &c, "CompleteMultipartUpload");
		} else if ((rc = s3_xml_complete(c.reply.buf, c.reply.len, &etag, &err)) != 0) {
			r->outcome = S3_UPLOAD_FAILED;
			r->retryable = rc == 1 && err.code &&
				       (strcmp(err.code, "InternalError") == 0 ||
					strcmp(err.code, "SlowDown") == 0);
			r->reason = xasprintf("CompleteMultipartUpload: %s%s%s",
					      rc == 1 && err.code ? err.code : "an answer that "
					      "cannot be read", err.message ? ": " : "",
					      err.message ? err.message : "");
		} else if ((etag || c.etag.len) &&
			   !s3_etag_is(etag ? etag : c.etag.buf, whole, suffix)) {
			r->outcome = S3_UPLOAD_FAILED;
			r->retryable = true;
			r->reason = xasprintf("CompleteMultipartUpload: the server's ETag %s "
					      "is not that of the parts sent",
					      etag ? etag : c.etag.buf);
		} else {
			r->outcome = S3_UPLOAD_SENT;
		}
		s3_error_release(&err);
		free(etag);
		s3_call_release(&c);
		strbuf_release(&body);
		free(mds);
		free(list);
	}
	if (r->outcome == S3_UPLOAD_SENT) {
		struct s3_upload_result extra;

		/* No other upload of the key stays behind (a creation whose answer was lost). */
		memset(&extra, 0, sizeof extra);
		free(s3_find_upload(cl, key, false, &extra, &rc));
		s3_upload_result_release(&extra);
		s3_still_same(fd, sb, r);
	}
	if (r->outcome == S3_UPLOAD_SENT && resumed) {
		bool same = false;

		/*
		 * The metadata is the creation's: an upload gone on from was
		 * created for the file as it was then, maybe with another mtime
		 * or mode and the same data. Sent fresh, the object gets these.
		 */
		if (s3_head_same(cl, key, sb, r, &same) == 0 && !same) {
			r->outcome = S3_UPLOAD_CHANGED;
			free(r->reason);
			r->reason = xstrdup("the upload gone on from had an earlier mtime "
					    "or mode");
		}
	}
out:
	for (k = 0; k < nparts; k++)
		free(parts[k].etag);
	free(parts);
	free(calls);
	free(buf);
	free(id);
	strbuf_release(&q);
}

int
s3_upload_check(struct s3_client *cl, const char *key, const struct stat *sb,
		struct s3_upload_result *r)
{
	bool same = false;

	memset(r, 0, sizeof *r);
	r->outcome = S3_UPLOAD_FAILED;
	/* The mode too: a chmod alone reaches the bucket (its data sent again with it). */
	if (s3_head_same(cl, key, sb, r, &same) < 0)
		return -1;
	r->outcome = same ? S3_UPLOAD_SAME : S3_UPLOAD_SENT;
	return 0;
}

void
s3_upload_file(struct s3_client *cl, int fd, const struct stat *sb, const char *key,
	       const struct s3_upload_opts *o, struct s3_upload_result *r)
{
	memset(r, 0, sizeof *r);
	/* Until something fails: each failure says so, with its reason. */
	r->outcome = S3_UPLOAD_SENT;
	if (s3_upload_in_parts((uint64_t)sb->st_size, o->multipart_from))
		s3_put_parts(cl, fd, sb, key, o, r);
	else
		s3_put_whole(cl, fd, sb, key, o, r);
}

int
s3_upload_abandon(struct s3_client *cl, const char *key)
{
	struct s3_upload_result r;
	int rc;

	memset(&r, 0, sizeof r);
	free(s3_find_upload(cl, key, false, &r, &rc));
	s3_upload_result_release(&r);
	return rc;
}

void
s3_upload_dir_marker(struct s3_client *cl, const char *key, const struct stat *sb,
		     struct s3_upload_result *r)
{
	struct strbuf k = STRBUF_INIT;
	struct s3_call c;

	memset(r, 0, sizeof *r);
	strbuf_addf(&k, "%s/", key);
	s3_call_init(&c, "PUT", k.buf);
	c.body = "";
	c.body_len = 0;
	strvec_push(&c.headers, "Content-Type: application/x-directory");
	s3_metadata_headers(sb, &c.headers);
	if (s3_run(cl, &c, 1, 1) < 0)
		s3_failed(r, &c, "PUT");
	else
		r->outcome = S3_UPLOAD_SENT;
	s3_call_release(&c);
	strbuf_release(&k);
}

/*
 * The ETag of a file that went up in parts of part bytes: the MD5 of the
 * parts' MD5s, "-N". 0, or -errno.
 */
static int
s3_parts_etag_is(int fd, uint64_t size, uint64_t part, const char *etag, void *buf, bool *same)
{
	size_t nparts = (size_t)((size + part - 1) / part), k;
	unsigned char *mds = xmalloc(nparts * 16), whole[16];
	char suffix[32];
	int rc = 0;

	for (k = 0; k < nparts && rc == 0; k++) {
		uint64_t off = (uint64_t)k * part, len = size - off < part ? size - off : part;

		rc = s3_md5_range(fd, off, len, mds + k * 16, buf);
	}
	if (rc == 0) {
		s3_md5_mem(mds, nparts * 16, whole);
		snprintf(suffix, sizeof suffix, "-%zu", nparts);
		*same = s3_etag_is(etag, whole, suffix);
	}
	free(mds);
	return rc;
}

int
s3_file_has_etag(int fd, uint64_t size, const char *etag, bool *same)
{
	/* Ours first, then awscli's and rclone's defaults, then the other usual sizes. */
	const uint64_t sizes[] = {
		s3_part_size(size), 8ULL << 20, 5ULL << 20, 16ULL << 20, 64ULL << 20,
	};
	const char *dash = strrchr(etag, '-');
	void *buf = xmalloc(S3_READ_CHUNK);
	unsigned long n;
	size_t k;
	int rc = 0;

	*same = false;
	if (dash == NULL) {
		unsigned char md[16];

		if ((rc = s3_md5_range(fd, 0, size, md, buf)) == 0)
			*same = s3_etag_is(etag, md, "");
		free(buf);
		return rc;
	}
	n = strtoul(dash + 1, NULL, 10);
	for (k = 0; k < sizeof sizes / sizeof *sizes && !*same && rc == 0; k++) {
		/* A part size that makes as many parts, and not one tried already. */
		if (n == 0 || (size + sizes[k] - 1) / sizes[k] != n ||
		    (k > 0 && sizes[k] == sizes[0]))
			continue;
		rc = s3_parts_etag_is(fd, size, sizes[k], etag, buf, same);
	}
	free(buf);
	return rc;
}
