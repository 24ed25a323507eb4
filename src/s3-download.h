/*
 * s3-download: one object to one local file, whole or in parallel ranges,
 * checked, and never half there.
 *
 * A HEAD first says the object's size, ETag and metadata (x-amz-meta-mtime
 * and x-amz-meta-mode as s3-upload writes them, else Last-Modified). A
 * local file that already has the object's size and mtime is left alone
 * (SAME). Otherwise the data goes into a new hidden file beside the name,
 * ".NAME.scow-XXXXXX" (created 0600 with O_EXCL, NAME shortened where the
 * whole would pass NAME_MAX), by one GET below multipart_from, else by
 * ranged GETs, parallel at once, each written where it belongs. Every GET
 * sends If-Match with the HEAD's ETag: an object replaced meanwhile fails
 * the download (CHANGED) instead of mixing two versions in one file.
 *
 * Once all is there: the size is checked, and for a single-part ETag the
 * MD5 of the file as written; then the mode and mtime are set, the file
 * is flushed to disk (fsync) and renamed over NAME. On every failure the
 * temporary file is removed: nothing is left behind but what opts'
 * temp_made was told of, and that is gone too.
 *
 * The caller gives the key in full and the local name (one component,
 * relative to dirfd); it creates the directories.
 */
#ifndef SCOW_SYNC_S3_DOWNLOAD_H
#define SCOW_SYNC_S3_DOWNLOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "s3-client.h"

#define S3_RANGE_SIZE (8ULL << 20)      /* bytes of one ranged GET */
#define S3_TEMP_MARK ".scow-"            /* between NAME and the random part of a temporary name */
#define S3_TEMP_RANDOM 6                 /* random characters that end a temporary name */

struct s3_download_opts {
	uint64_t multipart_from;       /* objects this big come down in ranges (0: all do) */
	int parallel;                  /* ranges in flight at once */
	bool force;                    /* fetch even when the local file is already the object */
	bool no_fsync;                 /* skip the flush before the rename (see s3-download.c) */
	int temp_dirfd;                /* where the temporary file goes (0: beside NAME) */
	mode_t default_mode;           /* without x-amz-meta-mode; 0: 0666 less the umask */
	/*
	 * Called once the temporary file exists, before any data goes in
	 * (dirfd and its name, borrowed): a caller that records leftovers
	 * records it here. Not 0: the download stops, as LOCAL_ERROR.
	 */
	int (*temp_made)(int dirfd, const char *temp_name, void *ctx);
	/* Progress of the current file: bytes of it written so far. */
	void (*progress)(uint64_t done, void *ctx);
	void *ctx;
};

enum s3_download_outcome {
	S3_DOWNLOAD_SENT,        /* the file now has the object's data */
	S3_DOWNLOAD_SAME,        /* it had it already (size and mtime): nothing read */
	S3_DOWNLOAD_CHANGED,     /* the object changed while it was read: try again */
	S3_DOWNLOAD_FAILED,      /* the store refused it, could not be reached, or sent bad data */
	S3_DOWNLOAD_LOCAL_ERROR, /* the file cannot be written here (local_errno, reason) */
};

struct s3_download_result {
	enum s3_download_outcome outcome;
	bool retryable;          /* FAILED: trying again later may pass */
	char *reason;            /* why, one line (caller frees), or NULL */
	char *code;              /* FAILED: the server's code ("NoSuchKey"), or NULL */
	long status;             /* FAILED: the HTTP status, 0 when none came */
	int local_errno;         /* LOCAL_ERROR: the cause (ENOSPC, EACCES, ...), when one */
	char *temp_name;         /* the temporary file used, gone now (caller frees), or NULL */
	uint64_t size;           /* the object's, once the HEAD said it */
	bool md5_checked;        /* the data was checked against a single-part ETag */
};

/* What a HEAD says of an object. */
struct s3_object_info {
	uint64_t size;
	char *etag;              /* as sent, quotes included (caller frees with _release) */
	struct timespec mtime;
	bool has_mtime;          /* mtime is known, ... */
	bool mtime_exact;        /* ... to the nanosecond (x-amz-meta-mtime), else to the second */
	mode_t mode;             /* x-amz-meta-mode, within 07777, ... */
	bool has_mode;           /* ... when it is there */
};

/* Download the object under key to name in dirfd. r tells how it went (release it). */
void s3_download_file(struct s3_client *cl, const char *key, int dirfd, const char *name,
		      const struct s3_download_opts *o, struct s3_download_result *r);

void s3_download_result_release(struct s3_download_result *r);

/*
 * Read a HEAD's (or GET's) answer c into info: 0, or SYNC_ERR_INVALID
 * when it has no Content-Length. Metadata that cannot be read is taken as
 * absent.
 */
int s3_object_info_read(const struct s3_call *c, struct s3_object_info *info);
void s3_object_info_release(struct s3_object_info *info);

/*
 * Is the local file sb describes already the object: a regular file of its
 * size and mtime (to the nanosecond when the metadata has it, else to the
 * second)? Never when the object's mtime is unknown.
 */
bool s3_download_same(const struct stat *sb, const struct s3_object_info *info);

/*
 * Read x-amz-meta-mtime ("1700000000.123456789", as s3_mtime_text writes,
 * or fewer digits of the second): 0, or SYNC_ERR_INVALID.
 */
int s3_mtime_parse(const char *text, struct timespec *out);

/*
 * Read x-amz-meta-mode (octal: "0644", or a whole st_mode "0100644"),
 * masked to 07777: 0, or SYNC_ERR_INVALID (not octal, over 7 digits).
 */
int s3_mode_parse(const char *text, mode_t *out);

/*
 * Append the start of a temporary name for name: ".NAME.scow-", NAME cut
 * (never inside a UTF-8 sequence) so that it and S3_TEMP_RANDOM more
 * characters fit NAME_MAX.
 */
void s3_temp_prefix(const char *name, struct strbuf *out);

/* Is the ETag (quoted or not) a single part's, the MD5 of the data: 32 hex digits? */
bool s3_etag_is_md5(const char *etag);

#endif
