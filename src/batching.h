/*
 * batching: the queue's decisions, apart from its bookkeeping (the store's
 * cursor, the retries and the held unit live in sup-queue.c): how big a
 * batch is, where the next unit goes, when a batch is full, which retry is
 * due, and whether one rsync takes everything. Pure functions, tested row
 * by row in tests/unit/test-batching.c.
 */
#ifndef SCOW_SYNC_BATCHING_H
#define SCOW_SYNC_BATCHING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define BATCH_UNITS_MAX 4096      /* units one rsync moves at most */
#define BATCH_FILES_MIN 64        /* files one rsync moves at least, when there are */
#define BATCH_FILES_MAX 65536     /* ... and at most, unless a unit is bigger */
#define BATCH_BYTES_MIN (1ULL << 20)
#define BATCH_BYTES_MAX (1ULL << 30)

/* How much one batch takes at most. */
struct batch_size {
	uint64_t files, bytes;
};

/*
 * The size of the next batch: a worker's share of what is left (files and
 * bytes), within [BATCH_*_MIN, BATCH_*_MAX].
 */
struct batch_size batch_share(uint64_t left_files, uint64_t left_bytes, int workers);

/* A unit as the queue weighs it. */
struct batch_candidate {
	uint64_t files;            /* as a batch counts it: at least 1 (an entry of the list) */
	uint64_t bytes;
	bool alone;                /* must run in an rsync of its own */
	bool pieces;               /* moves in pieces */
	bool compressed_apart;     /* a big compressed file, batched apart from the others */
	bool small;                /* mostly small files: fewer such batches run at once */
};

/* The batch being filled. */
struct batch_fill {
	size_t nunits;
	uint64_t files, bytes;
};

enum batch_place {
	PLACE_ADD,     /* into this batch */
	PLACE_HOLD,    /* held for the next batch */
	PLACE_APART,   /* gathered aside, with the other compressed files */
	PLACE_PIECES,  /* moved in pieces, on this worker and the next free ones */
};

/*
 * Where the next unit goes. small_running: batches of small files running
 * now; small_cap: how many may.
 */
enum batch_place batch_place(const struct batch_size *lim, const struct batch_fill *fill,
			     const struct batch_candidate *u, int small_running, int small_cap);

/*
 * With the unit just added, is the batch full? The next unit could not come
 * too; with its bytes just at the limit, an empty one still can (an empty
 * file or directory, last in the walk's order), rather than be left to an
 * rsync of its own.
 */
bool batch_full(const struct batch_size *lim, const struct batch_fill *fill, bool alone);

/*
 * Would one rsync take everything that is pending (units, their files and
 * bytes), with workers sharing it? In doubt, no.
 */
bool batch_takes_all(uint64_t units, uint64_t files, uint64_t bytes, int workers);

/* A unit to run again, once it is due. */
struct retry {
	struct unit unit;
	double not_before;            /* monotonic time */
	bool alone;                   /* run in an rsync of its own */
	bool whole;                   /* never in pieces (its pieces have moved) */
};

/*
 * Of the retries r, the first one due at now or before, in their order
 * (the units of one batch go on together); -1: none is due.
 */
long batch_retry_due(const struct retry *r, size_t n, double now);

/* Milliseconds until the first of the retries r is due, within [0, max_ms]. */
int batch_retry_wait_ms(const struct retry *r, size_t n, double now, int max_ms);

#endif
