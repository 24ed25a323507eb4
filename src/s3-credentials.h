/*
 * s3-credentials: the key an object store is signed with, found where
 * the AWS tools look for it, and never taken from a command line.
 *
 * In order: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (with
 * AWS_SESSION_TOKEN when set); else the shared credentials file
 * (AWS_SHARED_CREDENTIALS_FILE, or ~/.aws/credentials), in the profile
 * AWS_PROFILE names (default "default"), its aws_access_key_id,
 * aws_secret_access_key and aws_session_token, read with inih; else, for
 * a cos:// destination, COS_SECRET_ID and COS_SECRET_KEY.
 */
#ifndef SCOW_SYNC_S3_CREDENTIALS_H
#define SCOW_SYNC_S3_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>

struct s3_credentials {
	char *access_key;
	char *secret_key;
	char *session_token;   /* or NULL */
	char *source;          /* where they came from, for messages: "AWS_ACCESS_KEY_ID",
				* "/home/u/.aws/credentials [default]", "COS_SECRET_ID" */
};

/*
 * Find the credentials (cos: also look at COS_SECRET_ID/COS_SECRET_KEY).
 * 0; SYNC_ERR_NOT_FOUND when none is set anywhere; SYNC_ERR_INVALID when
 * one is half set (an id without its secret) or the file cannot be read
 * or parsed; err (size errlen) then says what, in one line, never quoting
 * a secret.
 */
int s3_credentials_find(bool cos, struct s3_credentials *out, char *err, size_t errlen);
void s3_credentials_release(struct s3_credentials *c);

#endif
