/* Unit tests for shaper (the transfer's token bucket) and parse_rate_kib. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shaper.h"
#include "util.h"
#include "unit.h"

static void
test_rates(void)
{
	static const struct { const char *in; unsigned long long kib; } ok[] = {
		{ "0", 0 }, { "500", 500 }, { "500K", 500 }, { "50M", 51200 }, { "50m", 51200 },
		{ "1G", 1048576 }, { "1GiB", 1048576 }, { "1.5M", 1536 }, { "10M/s", 10240 },
		{ "1MB", 977 }, { "1kb", 1 }, { "0.1", 1 }, { "2T", 2147483648ULL },
	};
	static const char *const bad[] = {
		"", "M", "-1", "1Q", "1 M", "1M/h", "1.5.5M", " 5", "5 ", "1e3", "1MiBs",
	};
	unsigned long long kib;
	size_t i;

	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		kib = 12345;
		CHECK_INT(parse_rate_kib(ok[i].in, 1ULL << 40, &kib), SYNC_OK);
		CHECK_INT(kib, ok[i].kib);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_INT(parse_rate_kib(bad[i], 1ULL << 40, &kib), SYNC_ERR_INVALID);
	CHECK_INT(parse_rate_kib("2G", 1048576, &kib), SYNC_ERR_INVALID);
	CHECK_INT(parse_rate_kib(NULL, 1, &kib), SYNC_ERR_INVALID);
}

static void
test_bucket(void)
{
	char dir[] = "/tmp/scow-sync-test-shaper-XXXXXX";
	struct shaper *a = NULL, *b = NULL;
	char *path;
	double w;

	if (mkdtemp(dir) == NULL) {
		CHECK(0);
		return;
	}
	path = xasprintf("%s/bw", dir);
	CHECK_INT(shaper_open(path, &a), SYNC_ERR_SYSTEM);
	CHECK_INT(shaper_create(path, 1 << 20), SYNC_OK);
	CHECK_INT(shaper_open(path, &a), SYNC_OK);
	CHECK_INT(shaper_open(path, &b), SYNC_OK);
	if (a == NULL || b == NULL)
		goto out;
	CHECK_INT(shaper_rate(b), 1 << 20);
	/* Two processes' takes come out of one bucket: half a second each, in turn. */
	w = shaper_take(a, 512 << 10);
	CHECK(w > 0.4 && w <= 0.5);
	w = shaper_take(b, 512 << 10);
	CHECK(w > 0.9 && w <= 1.0);
	CHECK_INT(shaper_chunk(a, 1 << 20), (1 << 20) / 10);
	/* A new rate holds for both at once, and what was owed is forgiven. */
	shaper_set_rate(a, 0);
	CHECK_INT(shaper_rate(b), 0);
	CHECK(shaper_take(b, 1 << 30) == 0);
	CHECK_INT(shaper_chunk(b, 4096), 4096);
	shaper_set_rate(b, 10 << 20);
	w = shaper_take(a, 1 << 20);
	CHECK(w > 0.05 && w <= 0.1);
	/* Idle time buys at most SHAPER_BURST_S of tokens. */
	usleep(300000);
	w = shaper_take(a, 1 << 20);
	CHECK(w > 0.1 - SHAPER_BURST_S - 0.01 && w <= 0.1);
out:
	shaper_close(a);
	shaper_close(b);
	shaper_close(NULL);
	unlink(path);
	rmdir(dir);
	free(path);
}

int
main(void)
{
	test_rates();
	test_bucket();
	return unit_done("test-shaper");
}
