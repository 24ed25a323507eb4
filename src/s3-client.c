/*
 * s3-client: signed requests to an object store, run through one libcurl
 * multi handle, with their retries.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "s3-client.h"
#include "s3-xml.h"
#include "sigv4.h"

#define S3_CONNECT_TIMEOUT 30      /* seconds */
#define S3_STALL_SECONDS 120       /* no byte either way for this long: the attempt failed */
#define S3_BACKOFF_FIRST 0.5       /* seconds before the second attempt, doubled after */
#define S3_BACKOFF_MAX 15.0
#define S3_SMALL_BODY (1u << 20)   /* below this, no "Expect: 100-continue" round trip */
#define S3_PROGRESS_EVERY 0.25     /* seconds between progress calls */

struct s3_client {
	const struct s3_target *target;
	const struct s3_credentials *creds;
	CURLM *multi;
	CURLSH *share;
	void (*progress)(uint64_t sent, void *ctx);
	void *progress_ctx;
	volatile int *stop;
	int attempts;                /* tries of one request at most */
	uint64_t send_limit;         /* bytes a second each request sends at most, or 0 */
	uint64_t recv_limit;         /* ... and receives at most, or 0 */
};

/* What the client keeps of one call while it runs. */
struct s3_pending {
	CURL *easy;
	struct curl_slist *headers;
	struct strbuf url;
	uint64_t pos;                /* of the body, read so far by this attempt */
	bool running, done, read_failed;
	int read_errno;
	int to_file;                 /* this attempt's body: to reply_fd 1, reply 0, unknown -1 */
	bool write_failed;
	int write_errno;
	double next_try;             /* when the next attempt may start */
	char curl_error[CURL_ERROR_SIZE];
};

void
s3_call_init(struct s3_call *c, const char *method, const char *key)
{
	memset(c, 0, sizeof *c);
	c->method = method;
	c->key = key;
	c->body_fd = -1;
	c->reply_fd = -1;
	strvec_init(&c->headers);
	strvec_init(&c->reply_headers);
	strbuf_init(&c->reply, 0);
	strbuf_init(&c->etag, 0);
}

static void
s3_pending_free(struct s3_pending *p)
{
	if (p == NULL)
		return;
	if (p->easy)
		curl_easy_cleanup(p->easy);
	curl_slist_free_all(p->headers);
	strbuf_release(&p->url);
	free(p);
}

void
s3_call_release(struct s3_call *c)
{
	strvec_clear(&c->headers);
	strvec_clear(&c->reply_headers);
	strbuf_release(&c->reply);
	strbuf_release(&c->etag);
	free(c->error);
	free(c->code);
	c->error = c->code = NULL;
	s3_pending_free(c->priv);
	c->priv = NULL;
}

const char *
s3_call_header(const struct s3_call *c, const char *name)
{
	size_t k, n = strlen(name);

	for (k = 0; k < c->reply_headers.nr; k++) {
		const char *h = c->reply_headers.v[k];

		if (strncmp(h, name, n) == 0 && h[n] == ':')
			return h + n + 1 + strspn(h + n + 1, " ");
	}
	return NULL;
}

const char *
s3_call_reason(const struct s3_call *c)
{
	return c->error ? c->error : "";
}

const char *
s3_call_code(const struct s3_call *c)
{
	return c->code ? c->code : "";
}

struct s3_client *
s3_client_new(const struct s3_target *target, const struct s3_credentials *creds)
{
	struct s3_client *cl;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return NULL;
	cl = xcalloc(1, sizeof *cl);
	cl->target = target;
	cl->creds = creds;
	cl->attempts = S3_ATTEMPTS;
	cl->multi = curl_multi_init();
	/* Every handle of the client shares one DNS cache and one TLS session cache. */
	cl->share = curl_share_init();
	if (cl->multi == NULL || cl->share == NULL) {
		s3_client_free(cl);
		return NULL;
	}
	curl_share_setopt(cl->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(cl->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_multi_setopt(cl->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	return cl;
}

void
s3_client_free(struct s3_client *cl)
{
	if (cl == NULL)
		return;
	if (cl->multi)
		curl_multi_cleanup(cl->multi);
	if (cl->share)
		curl_share_cleanup(cl->share);
	free(cl);
}

void
s3_client_on_progress(struct s3_client *cl, void (*fn)(uint64_t sent, void *ctx), void *ctx)
{
	cl->progress = fn;
	cl->progress_ctx = ctx;
}

void
s3_client_set_send_limit(struct s3_client *cl, uint64_t bytes_per_s)
{
	cl->send_limit = bytes_per_s;
}

void
s3_client_set_recv_limit(struct s3_client *cl, uint64_t bytes_per_s)
{
	cl->recv_limit = bytes_per_s;
}

void
s3_client_set_attempts(struct s3_client *cl, int attempts)
{
	cl->attempts = attempts > 0 ? attempts : 1;
}

void
s3_client_stop_flag(struct s3_client *cl, volatile int *flag)
{
	cl->stop = flag;
}

/* Write n bytes of a 2xx answer's body to reply_fd, where this attempt has got to. */
static size_t
s3_body_to_file(struct s3_call *c, struct s3_pending *p, const char *data, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t w = pwrite(c->reply_fd, data + done, n - done,
				   (off_t)(c->reply_offset + c->received));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			p->write_failed = true;
			p->write_errno = w < 0 ? errno : EIO;
			return 0;
		}
		done += (size_t)w;
		c->received += (uint64_t)w;
	}
	return n;
}

static size_t
s3_on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct s3_call *c = ctx;
	struct s3_pending *p = c->priv;
	size_t n = size * nmemb;

	if (p->to_file < 0) {
		long status = 0;

		/* The status line has come: a success's body is data, an error's is XML. */
		curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &status);
		p->to_file = c->reply_fd >= 0 && status >= 200 && status < 300;
	}
	if (p->to_file)
		return s3_body_to_file(c, p, data, n);
	if (c->reply.len + n > S3_REPLY_MAX)
		return 0;
	strbuf_add(&c->reply, data, n);
	return n;
}

static size_t
s3_on_header(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct s3_call *c = ctx;
	size_t n = size * nmemb, len = n, colon, k;
	struct strbuf h = STRBUF_INIT;

	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	/* A new status line (after 100 Continue, or a retry): the headers start again. */
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		strvec_clear(&c->reply_headers);
		strbuf_reset(&c->etag);
		return n;
	}
	colon = 0;
	while (colon < len && data[colon] != ':')
		colon++;
	if (colon == len || colon == 0)
		return n;
	for (k = 0; k < colon; k++) {
		char ch = data[k];

		strbuf_addch(&h, ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch);
	}
	strbuf_add(&h, data + colon, len - colon);
	if (strncmp(h.buf, "etag:", 5) == 0) {
		const char *v = h.buf + 5;

		v += strspn(v, " \t");
		strbuf_addstr(&c->etag, v);
	}
	strvec_push(&c->reply_headers, h.buf);
	strbuf_release(&h);
	return n;
}

static size_t
s3_on_read(char *buf, size_t size, size_t nmemb, void *ctx)
{
	struct s3_call *c = ctx;
	struct s3_pending *p = c->priv;
	size_t want = size * nmemb;
	uint64_t left;

	if (c->body) {
		left = c->body_len - p->pos;
		if (want > left)
			want = (size_t)left;
		memcpy(buf, (const char *)c->body + p->pos, want);
		p->pos += want;
		return want;
	}
	left = c->body_size - p->pos;
	if (want > left)
		want = (size_t)left;
	if (want == 0)
		return 0;
	for (;;) {
		ssize_t got = pread(c->body_fd, buf, want, (off_t)(c->body_offset + p->pos));

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			/* Shorter than when it was measured: it changed, or cannot be read. */
			p->read_failed = true;
			p->read_errno = got < 0 ? errno : 0;
			return CURL_READFUNC_ABORT;
		}
		p->pos += (uint64_t)got;
		return (size_t)got;
	}
}

static int
s3_on_seek(void *ctx, curl_off_t offset, int origin)
{
	struct s3_call *c = ctx;
	struct s3_pending *p = c->priv;

	if (origin != SEEK_SET || offset < 0)
		return CURL_SEEKFUNC_CANTSEEK;
	p->pos = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

static int
s3_on_xfer(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct s3_call *c = ctx;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	if (ulnow > 0)
		c->sent = (uint64_t)ulnow;
	return 0;
}

/* The header line's name, lower case, and its value, trimmed, for the signer. */
static void
s3_split_header(const char *line, struct strbuf *name, const char **value)
{
	size_t n = strcspn(line, ":");
	size_t k;

	for (k = 0; k < n; k++) {
		char ch = line[k];

		strbuf_addch(name, ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch);
	}
	*value = line[n] ? line + n + 1 + strspn(line + n + 1, " ") : "";
}

/* Set up c's next attempt on its easy handle: URL, method, body, signed headers. */
static int
s3_prepare(struct s3_client *cl, struct s3_call *c)
{
	struct s3_pending *p = c->priv;
	struct strbuf host = STRBUF_INIT, path = STRBUF_INIT, hash = STRBUF_INIT;
	struct strbuf auth = STRBUF_INIT, line = STRBUF_INIT;
	struct strbuf *names = NULL;
	struct sigv4_header *sh = NULL;
	struct sigv4_request req;
	struct sigv4_key key;
	char date[32];
	uint64_t body_size = c->body ? c->body_len : c->body_fd >= 0 ? c->body_size : 0;
	bool has_body = c->body != NULL || c->body_fd >= 0;
	size_t nh, k;
	int rc = 0;

	if (p->easy == NULL && (p->easy = curl_easy_init()) == NULL)
		return SYNC_ERR_SYSTEM;
	curl_easy_reset(p->easy);
	curl_slist_free_all(p->headers);
	p->headers = NULL;
	p->pos = 0;
	p->read_failed = false;
	p->to_file = -1;
	p->write_failed = false;
	p->curl_error[0] = '\0';
	c->sent = 0;
	c->received = 0;
	c->status = 0;
	strbuf_reset(&c->reply);
	strbuf_reset(&c->etag);
	strvec_clear(&c->reply_headers);

	s3_request_where(cl->target, c->key, &host, &path);
	strbuf_reset(&p->url);
	strbuf_addf(&p->url, "%s://%s%s", cl->target->scheme, host.buf, path.buf);
	if (c->query && *c->query)
		strbuf_addf(&p->url, "?%s", c->query);

	if (c->body_sha256 && c->body)
		sigv4_sha256_hex(c->body, c->body_len, &hash);
	else if (has_body && body_size > 0)
		strbuf_addstr(&hash, SIGV4_UNSIGNED_PAYLOAD);
	else
		strbuf_addstr(&hash, SIGV4_EMPTY_SHA256);
	sigv4_amz_date((long long)time(NULL), date, sizeof date);

	/* host, x-amz-date, x-amz-content-sha256, the token, then the caller's. */
	nh = 3 + (cl->creds->session_token ? 1 : 0) + c->headers.nr;
	sh = xcalloc(nh, sizeof *sh);
	names = xcalloc(nh, sizeof *names);
	for (k = 0; k < nh; k++)
		strbuf_init(&names[k], 0);
	k = 0;
	sh[k].name = "host";
	sh[k++].value = host.buf;
	sh[k].name = "x-amz-date";
	sh[k++].value = date;
	sh[k].name = "x-amz-content-sha256";
	sh[k++].value = hash.buf;
	if (cl->creds->session_token) {
		sh[k].name = "x-amz-security-token";
		sh[k++].value = cl->creds->session_token;
	}
	for (size_t j = 0; j < c->headers.nr; j++, k++) {
		s3_split_header(c->headers.v[j], &names[k], &sh[k].value);
		sh[k].name = names[k].buf;
	}
	memset(&req, 0, sizeof req);
	req.method = c->method;
	req.path = path.buf;
	req.query = c->query;
	req.headers = sh;
	req.nheaders = nh;
	req.payload_hash = hash.buf;
	key.access_key = cl->creds->access_key;
	key.secret_key = cl->creds->secret_key;
	key.region = cl->target->region;
	key.service = "s3";
	sigv4_authorization(&req, date, &key, &auth);

	for (k = 0; k < nh; k++) {
		strbuf_reset(&line);
		strbuf_addf(&line, "%s: %s", sh[k].name, sh[k].value);
		p->headers = curl_slist_append(p->headers, line.buf);
	}
	strbuf_reset(&line);
	strbuf_addf(&line, "Authorization: %s", auth.buf);
	p->headers = curl_slist_append(p->headers, line.buf);
	/* libcurl's own defaults that would go unsigned, or cost a round trip. */
	p->headers = curl_slist_append(p->headers, "Accept:");
	if (!has_body || body_size < S3_SMALL_BODY)
		p->headers = curl_slist_append(p->headers, "Expect:");
	if (strcmp(c->method, "POST") == 0 && !has_body)
		p->headers = curl_slist_append(p->headers, "Content-Type:");

	curl_easy_setopt(p->easy, CURLOPT_URL, p->url.buf);
	curl_easy_setopt(p->easy, CURLOPT_HTTPHEADER, p->headers);
	curl_easy_setopt(p->easy, CURLOPT_PRIVATE, c);
	curl_easy_setopt(p->easy, CURLOPT_SHARE, cl->share);
	curl_easy_setopt(p->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(p->easy, CURLOPT_ERRORBUFFER, p->curl_error);
	curl_easy_setopt(p->easy, CURLOPT_CONNECTTIMEOUT, (long)S3_CONNECT_TIMEOUT);
	curl_easy_setopt(p->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(p->easy, CURLOPT_LOW_SPEED_TIME, (long)S3_STALL_SECONDS);
	curl_easy_setopt(p->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(p->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(p->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(p->easy, CURLOPT_WRITEFUNCTION, s3_on_body);
	curl_easy_setopt(p->easy, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(p->easy, CURLOPT_HEADERFUNCTION, s3_on_header);
	curl_easy_setopt(p->easy, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(p->easy, CURLOPT_XFERINFOFUNCTION, s3_on_xfer);
	curl_easy_setopt(p->easy, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(p->easy, CURLOPT_NOPROGRESS, 0L);
	if (cl->send_limit)
		curl_easy_setopt(p->easy, CURLOPT_MAX_SEND_SPEED_LARGE,
				 (curl_off_t)cl->send_limit);
	if (cl->recv_limit)
		curl_easy_setopt(p->easy, CURLOPT_MAX_RECV_SPEED_LARGE,
				 (curl_off_t)cl->recv_limit);
	if (strcmp(c->method, "HEAD") == 0) {
		curl_easy_setopt(p->easy, CURLOPT_NOBODY, 1L);
	} else if (strcmp(c->method, "PUT") == 0) {
		curl_easy_setopt(p->easy, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(p->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body_size);
		curl_easy_setopt(p->easy, CURLOPT_READFUNCTION, s3_on_read);
		curl_easy_setopt(p->easy, CURLOPT_READDATA, c);
		curl_easy_setopt(p->easy, CURLOPT_SEEKFUNCTION, s3_on_seek);
		curl_easy_setopt(p->easy, CURLOPT_SEEKDATA, c);
	} else if (strcmp(c->method, "POST") == 0) {
		curl_easy_setopt(p->easy, CURLOPT_POST, 1L);
		curl_easy_setopt(p->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_size);
		curl_easy_setopt(p->easy, CURLOPT_POSTFIELDS, c->body ? c->body : "");
	} else if (strcmp(c->method, "GET") != 0) {
		curl_easy_setopt(p->easy, CURLOPT_CUSTOMREQUEST, c->method);
	}

	for (k = 0; k < nh; k++)
		strbuf_release(&names[k]);
	free(names);
	free(sh);
	strbuf_release(&host);
	strbuf_release(&path);
	strbuf_release(&hash);
	strbuf_release(&auth);
	strbuf_release(&line);
	return rc;
}

static bool
s3_code_retryable(const char *code)
{
	static const char *const codes[] = {
		/* A clock that is off (RequestTimeTooSkewed) stays off: not retried. */
		"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable",
		"OperationAborted", "Throttling", "ThrottlingException", NULL,
	};
	size_t k;

	for (k = 0; codes[k]; k++)
		if (strcmp(code, codes[k]) == 0)
			return true;
	return false;
}

static bool
s3_curl_retryable(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

/* An attempt of c has ended with rc: done (true), or to be tried again (false). */
static bool
s3_attempt_ended(struct s3_call *c, CURLcode rc, double now, int attempts)
{
	struct s3_pending *p = c->priv;
	struct s3_error e;
	bool retry;
	double pause;
	int k;

	free(c->error);
	free(c->code);
	c->error = c->code = NULL;
	c->body_unread = false;
	c->reply_unwritten = false;
	c->reply_errno = 0;
	curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &c->status);
	if (rc == CURLE_OK && c->status >= 200 && c->status < 300)
		return true;
	if (rc == CURLE_ABORTED_BY_CALLBACK && p->read_failed) {
		c->error = p->read_errno ? xasprintf("cannot read the file: %s",
						     strerror(p->read_errno)) :
					   xstrdup("the file became shorter while it was read");
		c->retryable = false;
		c->body_unread = true;
		return true;
	}
	if (rc == CURLE_WRITE_ERROR && p->write_failed) {
		/* A full disk stays full for the next attempt: the caller decides. */
		c->error = xasprintf("cannot write the file: %s", strerror(p->write_errno));
		c->retryable = false;
		c->reply_unwritten = true;
		c->reply_errno = p->write_errno;
		return true;
	}
	if (rc != CURLE_OK) {
		c->status = 0;
		c->error = xstrdup(p->curl_error[0] ? p->curl_error : curl_easy_strerror(rc));
		retry = s3_curl_retryable(rc);
	} else {
		memset(&e, 0, sizeof e);
		if (c->reply.len && s3_xml_error(c->reply.buf, c->reply.len, &e) == 0 && e.code) {
			c->code = xstrdup(e.code);
			c->error = xasprintf("HTTP %ld %s%s%s", c->status, e.code,
					     e.message ? ": " : "", e.message ? e.message : "");
		} else {
			/* HEAD has no body: name the usual codes by their status. */
			const char *name = c->status == 403 ? "AccessDenied" : NULL;

			if (c->status == 404)
				name = c->key ? "NoSuchKey" : "NoSuchBucket";

			if (name)
				c->code = xstrdup(name);
			c->error = xasprintf("HTTP %ld%s%s", c->status, name ? " " : "",
					     name ? name : "");
		}
		s3_error_release(&e);
		retry = c->status == 429 || c->status == 500 || c->status == 502 ||
			c->status == 503 || c->status == 504 ||
			(c->code && s3_code_retryable(c->code));
	}
	c->retryable = retry;
	if (!retry || c->attempts >= attempts)
		return true;
	/* A growing pause, with a random share so that workers do not come back together. */
	pause = S3_BACKOFF_FIRST;
	for (k = 1; k < c->attempts && pause < S3_BACKOFF_MAX; k++)
		pause *= 2;
	if (pause > S3_BACKOFF_MAX)
		pause = S3_BACKOFF_MAX;
	pause *= 0.5 + (double)(rand() % 1000) / 1000.0;
	p->next_try = now + pause;
	return false;
}

int
s3_run(struct s3_client *cl, struct s3_call *calls, size_t n, int parallel)
{
	size_t k, left = n;
	int running = 0, failed = 0;
	double last_progress = 0;

	if (parallel < 1)
		parallel = 1;
	for (k = 0; k < n; k++) {
		struct s3_pending *p = calls[k].priv;

		if (p == NULL) {
			p = xcalloc(1, sizeof *p);
			strbuf_init(&p->url, 0);
			calls[k].priv = p;
		}
		p->running = p->done = false;
		p->next_try = 0;
		calls[k].attempts = 0;
	}
	while (left > 0) {
		double now = now_monotonic(), wake = -1;
		int still, msgs;
		long timeout_ms;
		CURLMsg *m;

		if (cl->stop && *cl->stop) {
			for (k = 0; k < n; k++) {
				struct s3_pending *p = calls[k].priv;

				if (p->done)
					continue;
				if (p->running)
					curl_multi_remove_handle(cl->multi, p->easy);
				p->running = false;
				p->done = true;
				free(calls[k].error);
				calls[k].error = xstrdup("stopped");
				calls[k].retryable = true;
				failed++;
			}
			break;
		}
		/* Start what may start. */
		for (k = 0; k < n && running < parallel; k++) {
			struct s3_pending *p = calls[k].priv;

			if (p->done || p->running)
				continue;
			if (p->next_try > now) {
				if (wake < 0 || p->next_try < wake)
					wake = p->next_try;
				continue;
			}
			calls[k].attempts++;
			if (s3_prepare(cl, &calls[k]) < 0 ||
			    curl_multi_add_handle(cl->multi, p->easy) != CURLM_OK) {
				p->done = true;
				free(calls[k].error);
				calls[k].error = xstrdup("cannot start an HTTP request");
				left--;
				failed++;
				continue;
			}
			p->running = true;
			running++;
		}
		curl_multi_perform(cl->multi, &still);
		while ((m = curl_multi_info_read(cl->multi, &msgs)) != NULL) {
			struct s3_call *c = NULL;
			struct s3_pending *p;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
			p = c->priv;
			curl_multi_remove_handle(cl->multi, p->easy);
			p->running = false;
			running--;
			if (s3_attempt_ended(c, m->data.result, now_monotonic(), cl->attempts)) {
				p->done = true;
				left--;
				if (c->error)
					failed++;
			}
		}
		if (cl->progress && now - last_progress >= S3_PROGRESS_EVERY) {
			uint64_t sent = 0;

			for (k = 0; k < n; k++)
				sent += calls[k].sent + calls[k].received;
			cl->progress(sent, cl->progress_ctx);
			last_progress = now;
		}
		if (left == 0)
			break;
		timeout_ms = 200;
		if (running == 0 && wake > 0) {
			double d = wake - now_monotonic();

			timeout_ms = d <= 0 ? 0 : d > 1 ? 1000 : (long)(d * 1000);
		}
		curl_multi_poll(cl->multi, NULL, 0, (int)timeout_ms, NULL);
	}
	if (cl->progress) {
		uint64_t sent = 0;

		for (k = 0; k < n; k++)
			sent += calls[k].sent + calls[k].received;
		cl->progress(sent, cl->progress_ctx);
	}
	return failed ? SYNC_ERR_REMOTE : 0;
}

int
s3_http_date(const char *text, int64_t *out)
{
	time_t t = curl_getdate(text, NULL);

	/* curl_getdate reads the forms of RFC 9110 in English whatever the locale. */
	if (t == (time_t)-1)
		return SYNC_ERR_INVALID;
	*out = (int64_t)t;
	return 0;
}
