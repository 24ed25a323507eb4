/*
 * s3-upload: one local file to one object, as a single PUT or as a
 * multipart upload whose parts go up in parallel.
 *
 * The object carries the file's mtime and mode in its metadata
 * (x-amz-meta-mtime, seconds since the epoch with nanoseconds, as rclone
 * writes it; x-amz-meta-mode, octal), so a later run compares size and
 * mtime with a HEAD and reads no data. Every PUT and part carries its
 * Content-MD5 and the ETag the server answers is checked against it (for
 * the whole of a multipart upload: the MD5 of the parts' MD5s, "-N"). A
 * multipart upload interrupted before goes on from the parts the server
 * has (ListParts), those whose MD5 still matches the file.
 */
#ifndef SCOW_SYNC_S3_UPLOAD_H
#define SCOW_SYNC_S3_UPLOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "s3-client.h"

#define S3_PART_MIN (8ULL << 20)       /* bytes of a part at least (S3's least is 5 MiB) */
#define S3_PARTS_MAX 10000
#define S3_PUT_MAX (5ULL << 30)        /* bytes of one PUT at most (S3's limit) */

struct s3_upload_opts {
	uint64_t multipart_from;       /* files this big go up in parts */
	int parallel;                  /* parts in flight at once */
	/* Progress of the current file: bytes of it the server has. */
	void (*progress)(uint64_t done, void *ctx);
	void *ctx;
};

enum s3_upload_outcome {
	S3_UPLOAD_SENT,        /* the object now has the file's data */
	S3_UPLOAD_SAME,        /* it had it already (size and mtime): nothing sent */
	S3_UPLOAD_CHANGED,     /* the file changed while it was read: send it again */
	S3_UPLOAD_UNREADABLE,  /* the file cannot be read (reason says why) */
	S3_UPLOAD_FAILED,      /* the server refused it or could not be reached */
};

struct s3_upload_result {
	enum s3_upload_outcome outcome;
	bool existed;          /* an object was under the key before */
	bool retryable;        /* FAILED: trying again later may pass */
	char *reason;          /* why, one line (caller frees), or NULL */
	char *code;            /* FAILED: the server's code ("AccessDenied"), or NULL */
	uint64_t resumed;      /* bytes of parts an earlier upload had left, reused */
	char *etag;            /* the object's ETag, where a HEAD found one */
};

/*
 * Is the object under key already the file sb describes (its size, mtime
 * and mode)? A HEAD: r->outcome S3_UPLOAD_SAME when it is, and r->existed
 * whether there is one at all. Below 0 when the store did not answer
 * (r says why, as S3_UPLOAD_FAILED).
 */
int s3_upload_check(struct s3_client *cl, const char *key, const struct stat *sb,
		    struct s3_upload_result *r);

/* Does the answer to a HEAD (a 2xx) describe the file sb describes: size, mtime and mode? */
bool s3_head_is_file(const struct s3_call *head, const struct stat *sb);

/*
 * Is etag (an object's, as answered) that of the size bytes of the file
 * fd is open on? A single PUT's is the file's MD5; a multipart upload's
 * the MD5 of its parts' MD5s and "-N", which depends on the part size
 * the uploader chose: ours, awscli's and rclone's defaults and the other
 * usual sizes are tried, those that make N parts. *same false when none
 * matches (another part size, or a store that encrypts and answers
 * another ETag): the content cannot be shown to be the same. 0, or -errno
 * (the file could not be read).
 */
int s3_file_has_etag(int fd, uint64_t size, const char *etag, bool *same);

/* Upload the file fd is open on (sb its fstat) to key. */
void s3_upload_file(struct s3_client *cl, int fd, const struct stat *sb, const char *key,
		    const struct s3_upload_opts *o, struct s3_upload_result *r);

/*
 * Abort every multipart upload of key: a file given up (not to be tried
 * again by this run) leaves no parts in the store. 0, or below 0.
 */
int s3_upload_abandon(struct s3_client *cl, const char *key);

/* Upload an empty directory's marker: a zero-byte object "key/". */
void s3_upload_dir_marker(struct s3_client *cl, const char *key, const struct stat *sb,
			  struct s3_upload_result *r);

void s3_upload_result_release(struct s3_upload_result *r);

/*
 * Does a file of size bytes go up in parts, with files from multipart_from
 * bytes so? Also those a single PUT cannot carry, whatever multipart_from.
 */
bool s3_upload_in_parts(uint64_t size, uint64_t multipart_from);

/* The part size for a file of size bytes: at least S3_PART_MIN, under S3_PARTS_MAX parts. */
uint64_t s3_part_size(uint64_t size);

/* Append the metadata value of a file's mtime: "1700000000.123456789". */
void s3_mtime_text(const struct stat *sb, struct strbuf *out);

#endif
