/* batching: the queue's decisions (see batching.h). */
#include "config.h"

#include "batching.h"

/* A worker's share of what is left, within [min, max]. */
static uint64_t
batching_share_of(uint64_t left, int workers, uint64_t min, uint64_t max)
{
	uint64_t v = left / (uint64_t)(workers > 0 ? workers : 1);

	return v < min ? min : v > max ? max : v;
}

struct batch_size
batch_share(uint64_t left_files, uint64_t left_bytes, int workers)
{
	struct batch_size b = {
		batching_share_of(left_files, workers, BATCH_FILES_MIN, BATCH_FILES_MAX),
		batching_share_of(left_bytes, workers, BATCH_BYTES_MIN, BATCH_BYTES_MAX),
	};

	return b;
}

enum batch_place
batch_place(const struct batch_size *lim, const struct batch_fill *fill,
	    const struct batch_candidate *u, int small_running, int small_cap)
{
	/*
	 * Compression is decided batch by batch: side by side with other
	 * files, a compressed one must not make a batch of each file.
	 */
	if (!u->alone && !u->pieces && u->compressed_apart)
		return PLACE_APART;
	/* What does not fit a batch begun is the next one's. */
	if (fill->nunits > 0 && (u->alone || u->pieces || fill->files + u->files > lim->files ||
				 fill->bytes + u->bytes > lim->bytes))
		return PLACE_HOLD;
	/* A batch of small files waits for one of those running to end. */
	if (fill->nunits == 0 && !u->pieces && u->small && small_running >= small_cap)
		return PLACE_HOLD;
	return u->pieces ? PLACE_PIECES : PLACE_ADD;
}

bool
batch_full(const struct batch_size *lim, const struct batch_fill *fill, bool alone)
{
	return alone || fill->nunits >= BATCH_UNITS_MAX || fill->files >= lim->files ||
	       fill->bytes > lim->bytes;
}

bool
batch_takes_all(uint64_t units, uint64_t files, uint64_t bytes, int workers)
{
	/* An empty unit counts as a file in a batch. */
	return units > 0 && units <= BATCH_UNITS_MAX &&
	       batching_share_of(files + units, workers, BATCH_FILES_MIN, BATCH_FILES_MAX) >=
		       files + units &&
	       batching_share_of(bytes, workers, BATCH_BYTES_MIN, BATCH_BYTES_MAX) >= bytes;
}

long
batch_retry_due(const struct retry *r, size_t n, double now)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (r[i].not_before <= now)
			return (long)i;
	return -1;
}

int
batch_retry_wait_ms(const struct retry *r, size_t n, double now, int max_ms)
{
	double first;
	size_t i;
	int ms;

	if (n == 0)
		return max_ms;
	first = r[0].not_before;
	for (i = 1; i < n; i++)
		if (r[i].not_before < first)
			first = r[i].not_before;
	ms = (int)((first - now) * 1000) + 1;
	return ms < 0 ? 0 : ms > max_ms ? max_ms : ms;
}
