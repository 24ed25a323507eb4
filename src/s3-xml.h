/*
 * s3-xml: the XML of the S3 API, read with libxml2 and written for the
 * requests that carry a body.
 *
 * Pure: a reply's body in, plain structs out (caller frees with the
 * matching _release). Listings are asked for with encoding-type=url, so
 * that a key with a byte XML 1.0 cannot hold (a control character) comes
 * through: where the reply says <EncodingType>url</EncodingType>, keys and
 * prefixes are URL-decoded here. Nothing else but only this file includes
 * libxml2's headers. Each reader returns 0, or SYNC_ERR_INVALID when the
 * body is not well-formed XML or not the document expected (its root
 * element named otherwise, a field that must be there missing, a number
 * that is not one). A document with a DTD is refused: S3 sends none.
 */
#ifndef SCOW_SYNC_S3_XML_H
#define SCOW_SYNC_S3_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* <Error><Code>..</Code><Message>..</Message>...</Error>; absent fields are NULL. */
struct s3_error {
	char *code;          /* "NoSuchBucket", "AccessDenied", "SlowDown", ... */
	char *message;
	char *resource;
	char *request_id;
};
int s3_xml_error(const char *xml, size_t len, struct s3_error *out);
void s3_error_release(struct s3_error *e);

/* One object of a ListObjectsV2 reply (ListBucketResult). */
struct s3_object {
	char *key;
	uint64_t size;
	char *etag;          /* as sent, quotes included, or NULL */
	char *last_modified; /* ISO 8601, as sent, or NULL */
};
struct s3_listing {
	struct s3_object *objects;
	size_t nobjects;
	char **prefixes;     /* CommonPrefixes (with a delimiter) */
	size_t nprefixes;
	bool truncated;      /* IsTruncated */
	char *next_token;    /* NextContinuationToken, or NULL (truncated without: invalid) */
};
int s3_xml_listing(const char *xml, size_t len, struct s3_listing *out);
void s3_listing_release(struct s3_listing *l);

/* InitiateMultipartUploadResult's UploadId (caller frees). */
int s3_xml_upload_id(const char *xml, size_t len, char **upload_id);

/* One part of a ListParts reply (ListPartsResult). */
struct s3_part {
	int number;
	uint64_t size;
	char *etag;          /* as sent, quotes included */
};
struct s3_parts {
	struct s3_part *parts;
	size_t nparts;
	bool truncated;
	int next_marker;     /* NextPartNumberMarker, 0 when absent */
};
int s3_xml_parts(const char *xml, size_t len, struct s3_parts *out);
void s3_parts_release(struct s3_parts *p);

/* One upload of a ListMultipartUploads reply (ListMultipartUploadsResult). */
struct s3_upload {
	char *key;
	char *upload_id;
	char *initiated;     /* ISO 8601, as sent, or NULL */
};
struct s3_uploads {
	struct s3_upload *uploads;
	size_t nuploads;
	bool truncated;
	char *next_key_marker;        /* or NULL */
	char *next_upload_id_marker;  /* or NULL */
};
int s3_xml_uploads(const char *xml, size_t len, struct s3_uploads *out);
void s3_uploads_release(struct s3_uploads *u);

/*
 * A CompleteMultipartUpload reply: 0 and *etag (caller frees) from
 * CompleteMultipartUploadResult (NULL when it is empty or missing: Ceph's
 * RADOS Gateway sends it only as the ETag header), or 1 and *err filled when the server
 * answered 200 with an <Error> document (S3 does so when the completion
 * fails after it began), or SYNC_ERR_INVALID.
 */
int s3_xml_complete(const char *xml, size_t len, char **etag, struct s3_error *err);

/*
 * Append the body of CompleteMultipartUpload for n parts (in part number
 * order, as given): <CompleteMultipartUpload><Part><PartNumber>N
 * </PartNumber><ETag>..</ETag></Part>...</CompleteMultipartUpload>, every
 * value escaped for XML.
 */
void s3_xml_complete_body(const struct s3_part *parts, size_t n, struct strbuf *out);

/*
 * Append the body of DeleteObjects for n keys, quietly (only errors
 * answered): <Delete><Quiet>true</Quiet><Object><Key>..</Key></Object>...
 * </Delete>, every key escaped for XML (a CR as &#13;, which a parser
 * keeps, where a raw CR would become a newline). Keys holding a character
 * XML 1.0 cannot carry, or bytes that are not UTF-8, are refused:
 * SYNC_ERR_INVALID, *bad set to its index, out left as it was.
 */
int s3_xml_delete_body(const char *const *keys, size_t n, struct strbuf *out, size_t *bad);

/* One failure of a DeleteObjects reply (DeleteResult's <Error>). */
struct s3_delete_error {
	char *key;
	char *code;
	char *message;
};
int s3_xml_delete_errors(const char *xml, size_t len, struct s3_delete_error **out, size_t *n);
void s3_delete_errors_release(struct s3_delete_error *v, size_t n);

#endif
