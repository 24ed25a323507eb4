/*
 * s3-list: every object under a prefix, a page of ListObjectsV2 at a time.
 *
 * Pages are asked for with encoding-type=url (s3-xml decodes the keys, so
 * a key with a control character comes through) and followed by their
 * continuation tokens; only one page is held at once, whatever the number
 * of objects. The callback sees each object in the order the store lists
 * them (by key, in UTF-8 byte order).
 */
#ifndef SCOW_SYNC_S3_LIST_H
#define SCOW_SYNC_S3_LIST_H

#include "s3-client.h"
#include "s3-xml.h"

/*
 * Called for each object (borrowed: valid during the call). Return 0 to
 * go on; anything else ends the listing, s3_list_prefix returning it.
 */
typedef int (*s3_list_fn)(const struct s3_object *obj, void *ctx);

/*
 * List the objects whose keys start with prefix ("" for all), calling fn
 * for each. 0 once every page is read; fn's value where it stopped the
 * listing; or SYNC_ERR_REMOTE (the store failed or answered what cannot be
 * read) with *reason saying why (caller frees).
 */
int s3_list_prefix(struct s3_client *cl, const char *prefix, s3_list_fn fn, void *ctx,
		   char **reason);

#endif
