/*
 * Unit tests for the queue's decisions (batching.h): batch sizes from what
 * is left, where the next unit goes (one row per branch), when a batch is
 * full, whether one rsync takes everything, and which retry is due.
 */
#include "config.h"

#include "batching.h"
#include "unit.h"

#define MIB (1ULL << 20)

static void
check_share(void)
{
	struct batch_size b;

	/* A worker's share of what is left... */
	b = batch_share(40000, 4000 * MIB, 4);
	CHECK_INT(b.files, 10000);
	CHECK_INT(b.bytes, 1000 * MIB);
	/* ... at least the minimum, so that a start is small beside its work ... */
	b = batch_share(10, 100, 4);
	CHECK_INT(b.files, BATCH_FILES_MIN);
	CHECK_INT(b.bytes, BATCH_BYTES_MIN);
	/* ... and at most the maximum. */
	b = batch_share(10000000, 100000 * MIB, 2);
	CHECK_INT(b.files, BATCH_FILES_MAX);
	CHECK_INT(b.bytes, BATCH_BYTES_MAX);
	/* No workers is taken as one. */
	b = batch_share(1000, 10 * MIB, 0);
	CHECK_INT(b.files, 1000);
	CHECK_INT(b.bytes, 10 * MIB);
}

/* One row: the batch so far, the unit, what runs, and where it goes. */
struct place_row {
	int line;
	struct batch_fill fill;
	struct batch_candidate unit;
	int small_running, small_cap;
	enum batch_place want;
};

#define ROW(...) { __LINE__, __VA_ARGS__ }

static const struct place_row place_rows[] = {
	/* Into an empty batch, and into one with room. */
	ROW({ 0, 0, 0 }, { .files = 1, .bytes = 100 }, 0, 2, PLACE_ADD),
	ROW({ 3, 30, 3000 }, { .files = 10, .bytes = 1000 }, 0, 2, PLACE_ADD),
	/* Just to the limits: files equal, bytes equal. */
	ROW({ 3, 90, 9000 }, { .files = 10, .bytes = 1000 }, 0, 2, PLACE_ADD),
	/* Over the files, or over the bytes: held for the next batch. */
	ROW({ 3, 95, 100 }, { .files = 10, .bytes = 100 }, 0, 2, PLACE_HOLD),
	ROW({ 3, 10, 9500 }, { .files = 1, .bytes = 600 }, 0, 2, PLACE_HOLD),
	/* A unit too big for any batch still goes, alone, into an empty one. */
	ROW({ 0, 0, 0 }, { .files = 500, .bytes = 50000 }, 0, 2, PLACE_ADD),
	/* One that must run alone: held after others, taken first. */
	ROW({ 1, 1, 1 }, { .files = 1, .bytes = 1, .alone = true }, 0, 2, PLACE_HOLD),
	ROW({ 0, 0, 0 }, { .files = 1, .bytes = 1, .alone = true }, 0, 2, PLACE_ADD),
	/* In pieces: not after others; first, it begins the pieces. */
	ROW({ 2, 2, 2 }, { .files = 1, .bytes = 1, .pieces = true }, 0, 2, PLACE_HOLD),
	ROW({ 0, 0, 0 }, { .files = 1, .bytes = 1, .pieces = true }, 2, 2, PLACE_PIECES),
	/* A big compressed file goes aside, unless alone or in pieces. */
	ROW({ 2, 2, 2 }, { .files = 1, .bytes = 1, .compressed_apart = true }, 0, 2, PLACE_APART),
	ROW({ 0, 0, 0 }, { .files = 1, .bytes = 1, .compressed_apart = true }, 0, 2, PLACE_APART),
	ROW({ 0, 0, 0 }, { .files = 1, .bytes = 1, .compressed_apart = true, .alone = true },
	    0, 2, PLACE_ADD),
	ROW({ 0, 0, 0 }, { .files = 1, .bytes = 1, .compressed_apart = true, .pieces = true },
	    0, 2, PLACE_PIECES),
	/* Small files: a new batch of them waits while the cap is reached ... */
	ROW({ 0, 0, 0 }, { .files = 1, .bytes = 1, .small = true }, 2, 2, PLACE_HOLD),
	ROW({ 0, 0, 0 }, { .files = 1, .bytes = 1, .small = true }, 1, 2, PLACE_ADD),
	/* ... a batch begun takes more of them, and big files are not capped. */
	ROW({ 1, 1, 1 }, { .files = 1, .bytes = 1, .small = true }, 5, 2, PLACE_ADD),
	ROW({ 0, 0, 0 }, { .files = 1, .bytes = 1 }, 5, 2, PLACE_ADD),
};

static void
check_place(void)
{
	const struct batch_size lim = { 100, 10000 };
	size_t i;

	for (i = 0; i < sizeof place_rows / sizeof *place_rows; i++) {
		const struct place_row *r = &place_rows[i];
		enum batch_place got = batch_place(&lim, &r->fill, &r->unit, r->small_running,
						   r->small_cap);

		unit_checks++;
		if (got != r->want) {
			unit_failures++;
			fprintf(stderr, "FAIL %s:%d: place %d, want %d\n", __FILE__, r->line,
				(int)got, (int)r->want);
		}
	}
}

static void
check_full(void)
{
	const struct batch_size lim = { 100, 10000 };
	struct batch_fill f = { 5, 50, 5000 };

	CHECK(!batch_full(&lim, &f, false));
	CHECK(batch_full(&lim, &f, true));          /* alone: nothing joins it */
	f.files = 100;
	CHECK(batch_full(&lim, &f, false));         /* files at the limit */
	f.files = 50;
	f.bytes = 10000;
	/* Bytes at the limit: an empty one still fits. */
	CHECK(!batch_full(&lim, &f, false));
	f.bytes = 10001;
	CHECK(batch_full(&lim, &f, false));
	f = (struct batch_fill){ BATCH_UNITS_MAX, 1, 1 };
	CHECK(batch_full(&lim, &f, false));         /* the most units one rsync moves */
}

static void
check_takes_all(void)
{
	/* 3,000 small files, one unit each: one worker's rsync takes them, not four's. */
	CHECK(batch_takes_all(3000, 3000, 3000 * 4096, 1));
	CHECK(!batch_takes_all(3000, 3000, 3000 * 4096, 4));
	/* Within every minimum, whatever the workers. */
	CHECK(batch_takes_all(10, 20, MIB / 2, 8));
	/* Empty units count as files. */
	CHECK(batch_takes_all(BATCH_FILES_MIN, 0, 0, 8));
	CHECK(!batch_takes_all(BATCH_FILES_MIN + 1, 0, 0, 8));
	/* Nothing pending, or more units than one rsync moves. */
	CHECK(!batch_takes_all(0, 0, 0, 1));
	CHECK(!batch_takes_all(BATCH_UNITS_MAX + 1, 0, 0, 1));
	/* More bytes than a batch holds. */
	CHECK(!batch_takes_all(1, 1, BATCH_BYTES_MAX + 1, 1));
}

static void
check_retries(void)
{
	struct retry r[4] = {
		{ .not_before = 10.0 }, { .not_before = 5.0 }, { .not_before = 7.0 },
		{ .not_before = 5.0 },
	};

	/* The first due in their order, not the earliest. */
	CHECK_INT(batch_retry_due(r, 4, 4.0), -1);
	CHECK_INT(batch_retry_due(r, 4, 5.0), 1);
	CHECK_INT(batch_retry_due(r, 4, 10.0), 0);
	CHECK_INT(batch_retry_due(r, 0, 100.0), -1);
	/* The wait: until the earliest, within [0, max]. */
	CHECK_INT(batch_retry_wait_ms(r, 4, 4.5, 1000), 501);
	CHECK_INT(batch_retry_wait_ms(r, 4, 2.0, 1000), 1000);
	CHECK_INT(batch_retry_wait_ms(r, 4, 6.0, 1000), 0);
	CHECK_INT(batch_retry_wait_ms(r, 0, 6.0, 200), 200);
}

int
main(void)
{
	check_share();
	check_place();
	check_full();
	check_takes_all();
	check_retries();
	return unit_done("test-batching");
}
