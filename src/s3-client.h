/*
 * s3-client: requests to an object store over HTTP, through libcurl.
 *
 * One client holds a multi handle, whose connections are kept alive and
 * reused from one request to the next (HTTP/1.1, or HTTP/2 where the
 * server offers it over TLS). Each request is signed (sigv4.h) at every
 * attempt; those that fail in a way that may pass (a dropped connection,
 * a timeout, 500, 502, 503, 504, 429, SlowDown) are tried again after a
 * growing pause, up to S3_ATTEMPTS; the others (403, NoSuchBucket, ...)
 * end at once with the server's reason. Several requests run at once with
 * s3_run: the parts of a multipart upload.
 *
 * A request's body comes from memory or from a range of a file, read as
 * it is sent (never copied to a temporary file). Its Content-MD5, where
 * the caller gives one, lets the server refuse data that is not what was
 * hashed (a file changed between the two reads: BadDigest).
 *
 * An answer's body goes to memory (reply), or, for a GET with reply_fd
 * set, into that file from reply_offset on (pwrite), so that an object
 * of any size never sits in memory. Only a 2xx answer's body goes to the
 * file; an error's goes to reply, where its XML is read. Each attempt
 * writes again from reply_offset: a retried call leaves exactly its last
 * attempt's bytes. A range of the object is asked for with the caller's
 * own "Range: bytes=A-B" header.
 */
#ifndef SCOW_SYNC_S3_CLIENT_H
#define SCOW_SYNC_S3_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "s3-credentials.h"
#include "s3-target.h"
#include "util.h"

#define S3_ATTEMPTS 6            /* tries of one request, the first included */

struct s3_client;

/* One request, and its answer once it has run. */
struct s3_call {
	/* the request */
	const char *method;          /* "GET", "PUT", "HEAD", "POST", "DELETE" */
	const char *key;             /* NULL: the bucket */
	const char *query;           /* URI-encoded pairs ("uploadId=X&partNumber=3"), or NULL */
	struct strvec headers;       /* "Name: value" lines to send and sign */
	const void *body;            /* the body from memory (body_len bytes), or ... */
	size_t body_len;
	int body_fd;                 /* ... from this file (-1: none), ... */
	uint64_t body_offset;        /* ... at this offset, */
	uint64_t body_size;          /* ... this many bytes */
	bool body_sha256;            /* sign the body's hash (XML bodies), not UNSIGNED-PAYLOAD */
	int reply_fd;                /* a 2xx answer's body to this file (-1: to reply), ... */
	uint64_t reply_offset;       /* ... from this offset on */
	/* the answer */
	long status;                 /* HTTP status; 0 when none came (see error) */
	struct strbuf reply;         /* the body of the answer (at most S3_REPLY_MAX) */
	struct strbuf etag;          /* its ETag header, quotes included */
	struct strvec reply_headers; /* "name: value", names lower-cased */
	char *error;                 /* why it failed, one line (caller frees), or NULL */
	char *code;                  /* ... the server's error code ("NoSuchBucket"), or NULL */
	bool retryable;              /* ... and trying again later may pass */
	bool body_unread;            /* ... the body's file could not be read (no answer's fault) */
	bool reply_unwritten;        /* ... reply_fd could not be written (reply_errno says why) */
	int reply_errno;
	int attempts;
	uint64_t sent;               /* body bytes sent by the last attempt so far */
	uint64_t received;           /* body bytes written to reply_fd by the last attempt so far */
	/* the client's */
	void *priv;
};
#define S3_REPLY_MAX (16u << 20)

/* Make c a request of method on key (NULL: the bucket) with no body. */
void s3_call_init(struct s3_call *c, const char *method, const char *key);
/* Release what c holds, the request's headers and the answer. */
void s3_call_release(struct s3_call *c);
/* The value of reply header name (lower case), or NULL (borrowed). */
const char *s3_call_header(const struct s3_call *c, const char *name);

/* A client of target with creds (both borrowed for its life). NULL: libcurl failed. */
struct s3_client *s3_client_new(const struct s3_target *target,
				const struct s3_credentials *creds);
void s3_client_free(struct s3_client *cl);

/*
 * Progress: called at most every few tenths of a second while calls run,
 * with the body bytes their attempts have sent, or written to reply_fd,
 * so far, all calls together.
 */
void s3_client_on_progress(struct s3_client *cl, void (*fn)(uint64_t sent, void *ctx),
			   void *ctx);
/* Send at most bytes_per_s bytes a second in each request (0: no limit). */
void s3_client_set_send_limit(struct s3_client *cl, uint64_t bytes_per_s);
/* Receive at most bytes_per_s bytes a second in each request (0: no limit). */
void s3_client_set_recv_limit(struct s3_client *cl, uint64_t bytes_per_s);
/* Try each request at most attempts times (default S3_ATTEMPTS). */
void s3_client_set_attempts(struct s3_client *cl, int attempts);
/* Stop at the next turn: calls not done end with error "stopped". *flag is read, never written. */
void s3_client_stop_flag(struct s3_client *cl, volatile int *flag);

/*
 * Run n calls, at most parallel at once, each tried again where that may
 * help, until every one has an answer or has failed: 0 when every call
 * got a 2xx answer, else SYNC_ERR_REMOTE (each call says how it went).
 */
int s3_run(struct s3_client *cl, struct s3_call *calls, size_t n, int parallel);

/*
 * The one line that says why call c failed: "HTTP 403 AccessDenied: Access
 * Denied", or libcurl's words. Borrowed from c (its error), or "" when it did not.
 */
const char *s3_call_reason(const struct s3_call *c);

/* The server's error code of a failed call ("NoSuchBucket"), or "" (borrowed). */
const char *s3_call_code(const struct s3_call *c);

/*
 * Read an HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT", and the older
 * forms HTTP allows) into *out, seconds since the epoch: 0, or
 * SYNC_ERR_INVALID.
 */
int s3_http_date(const char *text, int64_t *out);

#endif
