/*
 * s3-list: the objects under a prefix, a page (ListObjectsV2, up to a
 * thousand keys) at a time, so that a listing of a million keys holds
 * one page in memory. Keys come decoded (encoding-type=url: any byte a
 * key may hold), in the store's order (bytewise by key).
 */
#ifndef SCOW_SYNC_S3_LIST_H
#define SCOW_SYNC_S3_LIST_H

#include "s3-client.h"
#include "s3-xml.h"

/*
 * Call fn(object, ctx) for each object whose key begins with prefix (""
 * for the whole bucket). fn returns 0 to go on, anything else to stop the
 * listing with that value. 0 when all were listed; below 0 when the store
 * could not list (why says why, one line), or fn's value.
 */
int s3_list_prefix(struct s3_client *cl, const char *prefix,
		   int (*fn)(const struct s3_object *o, void *ctx), void *ctx,
		   struct strbuf *why);

#endif
