/*
 * record: compare a watch's source with its record of what it synced, so
 * that a full comparison that finds nothing changed never asks the far
 * side.
 *
 * The record (store.h, struct record_entry) holds each entry of the tree
 * (size, mtime to the nanosecond, mode, inode and device) as it was before
 * the cycle that sent it. record_scan() walks the tree as the transfers
 * do (the filter's exclusions left out, links never followed), compares
 * each directory with its recorded entries, and stages the directories
 * that differ as they are now; once the cycle that sends the differences
 * succeeds, store_record_apply() makes that the record (a failed one:
 * store_record_discard()). What is recorded is what was seen before the
 * send: a file written after the walk differs from it, and goes again.
 */
#ifndef SCOW_SYNC_RECORD_H
#define SCOW_SYNC_RECORD_H

#include <stdint.h>

#include "util.h"

struct store;
struct filter;

struct record_scan {
	/* Files and links new, changed or gone; directories changed or gone. */
	struct strvec changed;
	struct strvec trees;     /* directories new since the record: to send whole */
	uint64_t dirs, entries;  /* what the walk saw */
	bool top_changed;        /* the source's own attributes */
};

/* Where the record keeps the source's own entry ("."): no directory of it is "/". */
#define RECORD_TOP "/"

void record_scan_init(struct record_scan *r);
void record_scan_release(struct record_scan *r);

/*
 * Walk source (absolute, a directory) and compare it with transfer id's
 * record, staging what differs; paths relative to the source, each list
 * sorted as path_tree_cmp() sorts. An entry that cannot be read is taken
 * as changed (the cycle then says why). 0, or SYNC_ERR_* (the store, or
 * the source itself unreadable).
 */
int record_scan(struct store *st, int64_t id, const char *source, const struct filter *filter,
		struct record_scan *out);

#endif
