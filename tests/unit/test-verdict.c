/*
 * Unit tests for the verdict on a finished batch (verdict.h): one row per
 * branch of the retry policy, and the edge cases the supervisor relies on.
 */
#include "config.h"

#include "unit.h"
#include "verdict.h"

#define MAX 3   /* runs a unit gets at most, as in the tests' settings */

/* One row: how the rsync ended, what the unit went through, what it means. */
struct row {
	int line;
	struct batch_end end;
	struct unit_end unit;
	int max_attempts;
	enum unit_verdict want;
};

#define ROW(...) { __LINE__, __VA_ARGS__ }

static const struct row rows[] = {
	/* Sent. */
	ROW({ .code = 0, .nunits = 1 }, { .attempts = 0 }, MAX, VERDICT_DONE),
	ROW({ .code = 24, .nunits = 5 }, { .attempts = 2 }, MAX, VERDICT_DONE),
	/* Sent, and a part stopped too late to leave out: what arrived is done. */
	ROW({ .code = 0, .nunits = 2 }, { .excluded = true }, MAX, VERDICT_DONE),
	/* A file changed while read: again, until the last attempt. */
	ROW({ .code = 0, .nunits = 1 }, { .changed = true, .attempts = 0 }, MAX,
	    VERDICT_RESEND_CHANGED),
	ROW({ .code = 24, .nunits = 1 }, { .changed = true, .attempts = 1 }, MAX,
	    VERDICT_RESEND_CHANGED),
	ROW({ .code = 0, .nunits = 1 }, { .changed = true, .attempts = MAX - 1 }, MAX,
	    VERDICT_FAIL_CHANGED),
	ROW({ .code = 0, .nunits = 1 }, { .changed = true, .attempts = 0 }, 1,
	    VERDICT_FAIL_CHANGED),
	/* Stopped on request while its rsync ran. */
	ROW({ .code = 20, .stopped = true, .nunits = 3 }, { .excluded = true }, MAX,
	    VERDICT_EXCLUDED),
	ROW({ .code = -1, .stopping = true, .nunits = 1 }, { .excluded = true }, MAX,
	    VERDICT_EXCLUDED),
	/* Its rsync was stopped to leave another part out: again at once. */
	ROW({ .code = -1, .stopped = true, .nunits = 3 }, { .attempts = 0 }, MAX,
	    VERDICT_RUN_AGAIN_NOW),
	ROW({ .code = 20, .stopped = true, .disk_full = true, .nunits = 1 },
	    { .attempts = MAX - 1 }, MAX, VERDICT_RUN_AGAIN_NOW),
	/* The transfer is stopping: left pending, attempts unchanged. */
	ROW({ .code = -1, .stopped = true, .stopping = true, .nunits = 1 }, { 0 }, MAX,
	    VERDICT_LEAVE_PENDING),
	ROW({ .code = 12, .stopping = true, .nunits = 1 }, { .attempts = MAX - 1 }, MAX,
	    VERDICT_LEAVE_PENDING),
	ROW({ .code = 11, .stopping = true, .disk_full = true, .nunits = 1 }, { 0 }, MAX,
	    VERDICT_LEAVE_PENDING),
	/* Another batch's failure ends the transfer: pending, unless this one is full too. */
	ROW({ .code = 12, .aborting = true, .nunits = 4 }, { 0 }, MAX, VERDICT_LEAVE_PENDING),
	ROW({ .code = 11, .aborting = true, .disk_full = true, .nunits = 4 }, { 0 }, MAX,
	    VERDICT_FAIL),
	/* The link or far side went away: again later, while attempts last. */
	ROW({ .code = 12, .nunits = 1 }, { .attempts = 0 }, MAX, VERDICT_RETRY_LATER),
	ROW({ .code = 255, .nunits = 7 }, { .attempts = MAX - 2 }, MAX, VERDICT_RETRY_LATER),
	ROW({ .code = 30, .nunits = 1 }, { 0 }, MAX, VERDICT_RETRY_LATER),
	ROW({ .code = 10, .nunits = 1 }, { 0 }, MAX, VERDICT_RETRY_LATER),
	ROW({ .code = 35, .nunits = 1 }, { 0 }, MAX, VERDICT_RETRY_LATER),
	ROW({ .code = 20, .nunits = 1 }, { 0 }, MAX, VERDICT_RETRY_LATER),
	/* A signal we did not send counts as the link's going away. */
	ROW({ .code = -1, .nunits = 1 }, { 0 }, MAX, VERDICT_RETRY_LATER),
	/* ... but not at the last attempt: alone when in a batch, else failed. */
	ROW({ .code = 12, .nunits = 3 }, { .attempts = MAX - 1 }, MAX, VERDICT_RETRY_ALONE),
	ROW({ .code = 12, .nunits = 1 }, { .attempts = MAX - 1 }, MAX, VERDICT_FAIL),
	ROW({ .code = 12, .nunits = 1 }, { 0 }, 1, VERDICT_FAIL),
	/* Some files failed (23), or a fault retrying cannot cure: each alone, or failed. */
	ROW({ .code = 23, .nunits = 3 }, { 0 }, MAX, VERDICT_RETRY_ALONE),
	ROW({ .code = 23, .nunits = 1 }, { 0 }, MAX, VERDICT_FAIL),
	ROW({ .code = 11, .nunits = 2 }, { 0 }, MAX, VERDICT_RETRY_ALONE),
	ROW({ .code = 11, .nunits = 1 }, { 0 }, MAX, VERDICT_FAIL),
	ROW({ .code = 2, .nunits = 1 }, { 0 }, MAX, VERDICT_FAIL),
	/* A full far side fails every unit alike: no retry, not even alone. */
	ROW({ .code = 12, .disk_full = true, .nunits = 3 }, { 0 }, MAX, VERDICT_FAIL),
	ROW({ .code = 23, .disk_full = true, .nunits = 3 }, { 0 }, MAX, VERDICT_FAIL),
	ROW({ .code = 11, .disk_full = true, .nunits = 1 }, { 0 }, MAX, VERDICT_FAIL),
};

static void
check_rows(void)
{
	size_t i;

	for (i = 0; i < sizeof rows / sizeof *rows; i++) {
		const struct row *r = &rows[i];
		enum unit_verdict got = unit_verdict(&r->end, &r->unit, r->max_attempts);

		unit_checks++;
		if (got != r->want) {
			unit_failures++;
			fprintf(stderr, "FAIL %s:%d: verdict %s, want %s\n", __FILE__, r->line,
				unit_verdict_name(got), unit_verdict_name(r->want));
		}
	}
}

static void
check_batch(void)
{
	struct batch_end e = { .code = 0, .nunits = 1 };

	/* What counts as sent: all of it, unless the far side said a write failed. */
	CHECK(batch_end_ok(&e) && batch_end_counted(&e));
	e.code = 24;
	CHECK(batch_end_ok(&e));
	e = (struct batch_end){ .code = 23 };
	CHECK(!batch_end_ok(&e) && batch_end_counted(&e));
	e.far_failed = true;
	CHECK(!batch_end_counted(&e));
	e.stopped = true;                  /* cut off by us: what it said it sent may count */
	CHECK(batch_end_counted(&e));
	e = (struct batch_end){ .code = 11, .disk_full = true };
	CHECK(!batch_end_counted(&e));
	e.stopping = true;
	CHECK(batch_end_counted(&e));
	e = (struct batch_end){ .code = -1 };
	CHECK(!batch_end_ok(&e) && batch_end_counted(&e));

	/* A refused mkdir gives the batch back, unless the transfer is ending. */
	e = (struct batch_end){ .code = 1, .mkdir_refused = true };
	CHECK(batch_end_given_back(&e));
	e.stopped = true;
	CHECK(!batch_end_given_back(&e));
	e = (struct batch_end){ .code = 1, .mkdir_refused = true, .stopping = true };
	CHECK(!batch_end_given_back(&e));
	e = (struct batch_end){ .code = 1, .mkdir_refused = true, .aborting = true };
	CHECK(!batch_end_given_back(&e));
	e = (struct batch_end){ .code = 1 };
	CHECK(!batch_end_given_back(&e));

	/* A full far side stops the transfer, once, and not for a batch that got through. */
	e = (struct batch_end){ .code = 11, .disk_full = true };
	CHECK(batch_end_stops_transfer(&e));
	e.aborting = true;
	CHECK(!batch_end_stops_transfer(&e));
	e = (struct batch_end){ .code = 0, .disk_full = true };
	CHECK(!batch_end_stops_transfer(&e));
	e = (struct batch_end){ .code = 11, .disk_full = true, .stopped = true };
	CHECK(!batch_end_stops_transfer(&e));
	e = (struct batch_end){ .code = 11, .disk_full = true, .stopping = true };
	CHECK(!batch_end_stops_transfer(&e));
	e = (struct batch_end){ .code = 11 };
	CHECK(!batch_end_stops_transfer(&e));
}

static void
check_delay(void)
{
	/* The pause doubles with each failure, up to a minute and a bit. */
	CHECK_INT(verdict_retry_delay(1), 2);
	CHECK_INT(verdict_retry_delay(2), 4);
	CHECK_INT(verdict_retry_delay(5), 32);
	CHECK_INT(verdict_retry_delay(6), 64);
	CHECK_INT(verdict_retry_delay(7), 64);
	CHECK_INT(verdict_retry_delay(40), 64);
	CHECK_STR(unit_verdict_name(VERDICT_RETRY_ALONE), "retry-alone");
	CHECK_STR(unit_verdict_name((enum unit_verdict)99), "?");
}

int
main(void)
{
	check_rows();
	check_batch();
	check_delay();
	return unit_done("test-verdict");
}
