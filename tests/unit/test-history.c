/* Unit tests for history: the selection values of query --json and status. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "history.h"
#include "unit.h"

static void
test_states(void)
{
	unsigned mask;
	char err[256];

	CHECK_INT(history_parse_states("done", &mask, err, sizeof err), 0);
	CHECK_INT(mask, 1u << TRANSFER_DONE);
	CHECK_INT(history_parse_states("failed,interrupted,queued", &mask, err, sizeof err), 0);
	CHECK_INT(mask, (1u << TRANSFER_FAILED) | (1u << TRANSFER_INTERRUPTED) |
		  (1u << TRANSFER_QUEUED));
	CHECK_INT(history_parse_states("done,bogus", &mask, err, sizeof err), -1);
	CHECK(strstr(err, "'bogus'") != NULL);
	CHECK_INT(history_parse_states("", &mask, err, sizeof err), -1);
	CHECK_INT(history_parse_states("done,", &mask, err, sizeof err), -1);
	CHECK_INT(history_parse_states("don", &mask, err, sizeof err), -1);
}

static void
test_since(void)
{
	const int64_t now = 1764581400;
	struct tm tm;
	int64_t t;
	char err[256];

	CHECK_INT(history_parse_since("@1700000000", now, &t, err, sizeof err), 0);
	CHECK_INT(t, 1700000000);
	CHECK_INT(history_parse_since("90s", now, &t, err, sizeof err), 0);
	CHECK_INT(t, now - 90);
	CHECK_INT(history_parse_since("30m", now, &t, err, sizeof err), 0);
	CHECK_INT(t, now - 1800);
	CHECK_INT(history_parse_since("12h", now, &t, err, sizeof err), 0);
	CHECK_INT(t, now - 12 * 3600);
	CHECK_INT(history_parse_since("7d", now, &t, err, sizeof err), 0);
	CHECK_INT(t, now - 7 * 86400);
	/* Local times: compare with what mktime makes of them. */
	memset(&tm, 0, sizeof tm);
	tm.tm_year = 2026 - 1900;
	tm.tm_mon = 10;
	tm.tm_mday = 30;
	tm.tm_isdst = -1;
	CHECK_INT(history_parse_since("2026-11-30", now, &t, err, sizeof err), 0);
	CHECK_INT(t, (int64_t)mktime(&tm));
	tm.tm_hour = 8;
	tm.tm_min = 5;
	tm.tm_isdst = -1;
	CHECK_INT(history_parse_since("2026-11-30T08:05", now, &t, err, sizeof err), 0);
	CHECK_INT(t, (int64_t)mktime(&tm));
	tm.tm_sec = 9;
	tm.tm_isdst = -1;
	CHECK_INT(history_parse_since("2026-11-30 08:05:09", now, &t, err, sizeof err), 0);
	CHECK_INT(t, (int64_t)mktime(&tm));
	/* Not times. */
	CHECK_INT(history_parse_since("yesterday", now, &t, err, sizeof err), -1);
	CHECK(strstr(err, "'yesterday'") != NULL);
	CHECK_INT(history_parse_since("12x", now, &t, err, sizeof err), -1);
	CHECK_INT(history_parse_since("h", now, &t, err, sizeof err), -1);
	CHECK_INT(history_parse_since("-5d", now, &t, err, sizeof err), -1);
	CHECK_INT(history_parse_since("2026-11-30T", now, &t, err, sizeof err), -1);
	CHECK_INT(history_parse_since("@", now, &t, err, sizeof err), -1);
	CHECK_INT(history_parse_since("99999999999999999999d", now, &t, err, sizeof err), -1);
}

static void
test_options(void)
{
	struct history_filter f;
	char err[256];

	history_filter_init(&f, 1000000);
	CHECK_INT(f.since, 1000000 - HISTORY_DEFAULT_WINDOW);
	CHECK(!f.all && f.id == 0 && f.states == 0);
	CHECK_INT(history_option(&f, 'i', "42", 1000000, err, sizeof err), 1);
	CHECK_INT(f.id, 42);
	CHECK_INT(history_option(&f, 'i', "0", 1000000, err, sizeof err), -1);
	CHECK_INT(history_option(&f, 'i', "4x", 1000000, err, sizeof err), -1);
	CHECK_INT(history_option(&f, 'A', NULL, 1000000, err, sizeof err), 1);
	CHECK(f.all);
	CHECK_INT(history_option(&f, 'x', NULL, 1000000, err, sizeof err), 0);
}

int
main(void)
{
	test_states();
	test_since();
	test_options();
	return unit_done("test-history");
}
