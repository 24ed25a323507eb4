/*
 * s3-delete: remove objects by key, a thousand in a request
 * (DeleteObjects, quiet: the store answers only what it could not
 * remove), so that a mirror's deletes cost a request per thousand, not
 * one each. A key the request's XML cannot carry (bytes that are not
 * UTF-8, a character XML 1.0 lacks) goes by a DELETE of its own. Every
 * request carries its Content-MD5, which S3 requires of DeleteObjects.
 */
#ifndef SCOW_SYNC_S3_DELETE_H
#define SCOW_SYNC_S3_DELETE_H

#include <stddef.h>

#include "s3-client.h"
#include "util.h"

#define S3_DELETE_BATCH 1000     /* keys of one DeleteObjects at most (S3's limit) */

/*
 * Delete the n keys: those gone (a key that was not there is gone as
 * well) appended to deleted, in the order given. 0 when every one is
 * gone; below 0 when some are not, why holding the first reason ("KEY:
 * AccessDenied: ...", the key escaped for a log line).
 */
int s3_delete_keys(struct s3_client *cl, const char *const *keys, size_t n,
		   struct strvec *deleted, struct strbuf *why);

#endif
