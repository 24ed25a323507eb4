/*
 * sigv4: AWS Signature Version 4 for one HTTP request (the S3 flavour).
 *
 * Pure: data in, data out (HMAC-SHA256 and SHA-256 from libcrypto). The
 * caller says what goes on the wire; this module builds the canonical
 * request, the string to sign and the Authorization header's value, as
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 * describes, with S3's rules for the path: it is signed as sent (already
 * URI-encoded once by the caller, every byte but A-Z a-z 0-9 - . _ ~ and
 * '/'), never normalised or encoded a second time.
 */
#ifndef SCOW_SYNC_SIGV4_H
#define SCOW_SYNC_SIGV4_H

#include <stddef.h>

#include "util.h"

#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct sigv4_header {
	const char *name;    /* any case; signed in lower case */
	const char *value;   /* leading and trailing blanks trimmed, runs of blanks made one */
};

struct sigv4_request {
	const char *method;          /* "GET", "PUT", ... */
	const char *path;            /* as sent, URI-encoded: "/bucket/a%20b.txt" */
	/*
	 * The query string as sent (without '?'), or NULL: name=value pairs
	 * joined by '&', each URI-encoded by the caller; a name without '='
	 * signs as "name=". The signer sorts them by name, then value.
	 */
	const char *query;
	/*
	 * Every header to sign, host and x-amz-date among them (and
	 * x-amz-content-sha256, x-amz-security-token where sent). Names that
	 * repeat are signed as one, their values joined by ',' in order.
	 */
	const struct sigv4_header *headers;
	size_t nheaders;
	/* The lower-case hex SHA-256 of the body, or SIGV4_UNSIGNED_PAYLOAD. */
	const char *payload_hash;
};

struct sigv4_key {
	const char *access_key;
	const char *secret_key;
	const char *region;          /* "us-east-1" */
	const char *service;         /* "s3" */
};

/*
 * Append the canonical request of r to out, and its signed headers'
 * names ("host;x-amz-date") to signed_headers (NULL: not wanted).
 */
void sigv4_canonical_request(const struct sigv4_request *r, struct strbuf *out,
			     struct strbuf *signed_headers);

/*
 * Append the string to sign of a canonical request made at amz_date
 * ("20130524T000000Z", UTC): the algorithm, the date, the scope
 * (DATE/REGION/SERVICE/aws4_request) and the canonical request's hash.
 */
void sigv4_string_to_sign(const char *canonical_request, const char *amz_date,
			  const struct sigv4_key *k, struct strbuf *out);

/* Append the lower-case hex signature of string_to_sign, made at amz_date. */
void sigv4_signature(const char *string_to_sign, const char *amz_date, const struct sigv4_key *k,
		     struct strbuf *out);

/*
 * Append the whole Authorization header's value for r made at amz_date:
 * "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
 * SignedHeaders=..., Signature=..." (", " between the parts, as the AWS
 * SDKs send it; S3 accepts "," alone too).
 */
void sigv4_authorization(const struct sigv4_request *r, const char *amz_date,
			 const struct sigv4_key *k, struct strbuf *out);

/* Append the lower-case hex SHA-256 of len bytes at data. */
void sigv4_sha256_hex(const void *data, size_t len, struct strbuf *out);

/* Format t (seconds since the epoch) as "YYYYMMDDTHHMMSSZ" into buf (at least 17 bytes). */
void sigv4_amz_date(long long t, char *buf, size_t size);

#endif
