/*
 * s3-target: where an object-store destination (or source) is, as the
 * user names it and as HTTP reaches it.
 *
 * "s3://BUCKET/PREFIX" or "cos://BUCKET-APPID/PREFIX": a file of SOURCE
 * lands at the key PREFIX/basename(SOURCE)/..., as `aws s3 cp
 * --recursive` lays it out. The endpoint is the one given (--endpoint,
 * AWS_ENDPOINT_URL, the setting s3_endpoint), else AWS's for the region,
 * or for cos:// Tencent's (cos.REGION.myqcloud.com). Requests go path
 * style (ENDPOINT/BUCKET/KEY) or virtual-host style (BUCKET.HOST/KEY):
 * "auto" takes the virtual host at AWS and COS, whose DNS names every
 * bucket, and the path elsewhere (an on-site store, an IP address).
 *
 * Pure: strings in, strings out.
 */
#ifndef SCOW_SYNC_S3_TARGET_H
#define SCOW_SYNC_S3_TARGET_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

enum s3_style { S3_STYLE_AUTO, S3_STYLE_PATH, S3_STYLE_VIRTUAL };

struct s3_target {
	bool cos;               /* cos:// */
	char *bucket;
	char *prefix;           /* the keys' common start, without '/' at either end; "" for none */
	char *scheme;           /* "http" or "https" */
	char *host;             /* the endpoint's host[:port], as the Host header names it */
	char *region;
	bool path_style;
};

/* Does dest name an object store (s3:// or cos://)? */
bool s3_is_url(const char *dest);

/*
 * Read dest ("s3://BUCKET[/PREFIX]") into t's bucket and prefix. The
 * bucket must be a name S3 allows (3 to 63 of a-z 0-9 . -, starting and
 * ending with a letter or digit). 0, or SYNC_ERR_INVALID with err saying why.
 */
int s3_target_parse(const char *dest, struct s3_target *t, char *err, size_t errlen);

/*
 * Fill in where t's requests go: endpoint (NULL: AWS's or COS's for the
 * region), region (NULL: us-east-1 for s3://; cos:// needs one), style.
 * 0, or SYNC_ERR_INVALID with err saying why.
 */
int s3_target_resolve(struct s3_target *t, const char *endpoint, const char *region,
		      enum s3_style style, char *err, size_t errlen);

/*
 * The region AWS's or COS's endpoint host (host[:port]) names:
 * "s3.eu-west-1.amazonaws.com", "cos.ap-beijing.myqcloud.com". NULL for
 * any other host (caller frees).
 */
char *s3_host_region(const char *host);

void s3_target_release(struct s3_target *t);

/* The target in one spelling, "s3://BUCKET/PREFIX" (or cos://): caller frees. */
char *s3_target_url(const struct s3_target *t);

/*
 * Append the bucket's URL: "http://127.0.0.1:7480/bucket",
 * "https://b.s3.us-east-1.amazonaws.com".
 */
void s3_bucket_url(const struct s3_target *t, struct strbuf *out);

/*
 * Append the request's Host header's value (host) and path as sent
 * (path, URI-encoded) for key (NULL: the bucket itself).
 */
void s3_request_where(const struct s3_target *t, const char *key, struct strbuf *host,
		      struct strbuf *path);

/* Append the key of rel (a path below the source's parent): PREFIX/rel, or rel. */
void s3_key(const struct s3_target *t, const char *rel, struct strbuf *out);

/*
 * Append s URI-encoded as SigV4 and S3 want it: every byte but A-Z a-z
 * 0-9 - . _ ~ as %XX (upper-case hex), and '/' too unless keep_slash.
 */
void s3_uri_encode(struct strbuf *out, const char *s, bool keep_slash);

/* Can S3 hold rel as part of a key? Not when it is over 1024 bytes or not UTF-8. */
bool s3_key_ok(const char *key);

#endif
