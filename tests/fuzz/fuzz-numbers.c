/*
 * fuzz-numbers: every number read from outside (src/util.c, src/rsync.c,
 * src/supervisor.c): -p and -m, transfer ids of terminate --id and
 * resume, __read-piece's offsets, the byte counts a piece's reader prints,
 * and the SCOW_SYNC_* settings of the environment (src/settings.c).
 *
 * Input: two 8-byte bounds, then NUL-separated strings. Each string goes
 * through parse_ullong and is compared with a plain reading of the rule
 * (only digits, no overflow, within the bounds); the first five are also
 * set as the environment settings the supervisor reads.
 */
#include "config.h"

#include <limits.h>
#include <stdbool.h>

#include "fuzz.h"
#include "rsync-parse.h"
#include "settings.h"
#include "supervisor.h"
#include "util.h"

/* The rule parse_ullong promises, spelt out the slow way. */
static bool
reference_ullong(const char *s, unsigned long long min, unsigned long long max,
		 unsigned long long *out)
{
	unsigned __int128 v = 0;
	const char *p;

	if (*s == '\0')
		return false;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (unsigned)(*p - '0');
		if (v > ULLONG_MAX)
			return false;
	}
	if (v < min || v > max)
		return false;
	*out = (unsigned long long)v;
	return true;
}

static void
check_ullong(const char *s, unsigned long long min, unsigned long long max)
{
	unsigned long long got = 12345, want = 0;
	bool ok = reference_ullong(s, min, max, &want);
	int rc = parse_ullong(s, min, max, &got);

	FUZZ_CHECK(rc == SYNC_OK || rc == SYNC_ERR_INVALID);
	FUZZ_CHECK((rc == SYNC_OK) == ok);
	if (ok)
		FUZZ_CHECK(got == want);
	else
		FUZZ_CHECK(got == 12345);   /* untouched on failure */
}

static void
check_int_range(const char *s, int min, int max)
{
	unsigned long long want;
	int got = -7;
	bool ok = reference_ullong(s, (unsigned long long)min, (unsigned long long)max, &want);

	FUZZ_CHECK((parse_int_range(s, min, max, &got) == SYNC_OK) == ok);
	FUZZ_CHECK(ok ? got == (int)want : got == -7);
}

/* "N bytes..." as dd and our own reader print it. */
static void
check_piece_line(const char *s, size_t len)
{
	uint64_t got = 0;
	unsigned __int128 v = 0;
	size_t i = 0;
	bool ok = true;

	while (i < len && s[i] >= '0' && s[i] <= '9') {
		v = v * 10 + (unsigned)(s[i++] - '0');
		if (v > UINT64_MAX)
			ok = false;
	}
	ok = ok && i > 0 && len - i >= 6 && memcmp(s + i, " bytes", 6) == 0;
	FUZZ_CHECK((piece_parse_progress(s, len, &got) == SYNC_OK) == ok);
	if (ok)
		FUZZ_CHECK(got == (uint64_t)v);
}

static const char *const settings[] = {
	"SCOW_SYNC_WORKERS", "SCOW_SYNC_RETRIES", "SCOW_SYNC_BWLIMIT", "SCOW_SYNC_SPLIT_MIB",
	"SCOW_SYNC_COMPRESS",
};
#define NSETTINGS (sizeof settings / sizeof *settings)

static void
check_environment(char *const *values, size_t n)
{
	struct supervisor_config cfg;
	struct settings st;
	char err[1024];
	size_t i;

	/*
	 * putenv with buffers of our own: glibc's setenv keeps every value it
	 * was ever given, which grows without end over millions of runs.
	 */
	static char entries[NSETTINGS][512];

	for (i = 0; i < NSETTINGS; i++) {
		if (i < n) {
			snprintf(entries[i], sizeof entries[i], "%s=%s", settings[i], values[i]);
			putenv(entries[i]);
		} else
			unsetenv(settings[i]);
	}
	/* No settings file of this machine's: only the variables. */
	putenv((char *)"SCOW_SYNC_SYSTEM_CONFIG=/nonexistent/scow-sync.conf");
	putenv((char *)"SCOW_SYNC_CONFIG=/nonexistent/config");
	err[0] = '\0';
	/* A bad value is named, and left out: the others still apply. */
	if (settings_load(&st, err, sizeof err) < 0) {
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(fuzz_no_controls(err, strlen(err)));
	}
	FUZZ_CHECK(supervisor_config_from_settings(&cfg, &st, err, sizeof err) == 0);
	FUZZ_CHECK(cfg.workers >= 1 && cfg.workers <= WORKERS_MAX);
	FUZZ_CHECK(cfg.max_attempts >= 1 && cfg.max_attempts <= 100);
	settings_release(&st);
	for (i = 0; i < NSETTINGS; i++)
		unsetenv(settings[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	unsigned long long a = fuzz_u64(&in), b = fuzz_u64(&in);
	unsigned long long min = a < b ? a : b, max = a < b ? b : a;
	char *values[8];
	size_t n = 0, i;

	while (in.left > 0 && n < 8)
		values[n++] = fuzz_string(&in);
	for (i = 0; i < n; i++) {
		const char *s = values[i];

		check_ullong(s, min, max);
		check_ullong(s, 0, ULLONG_MAX);
		check_ullong(s, 1, INT64_MAX);          /* transfer ids */
		check_int_range(s, 1, 65535);           /* -p */
		check_int_range(s, 0, 64);              /* -m */
		check_int_range(s, (int)(min % 1000), (int)(min % 1000) + (int)(max % 100000));
		check_piece_line(s, strlen(s));
	}
	/* The settings cost a look at /proc/self: only when there are some. */
	if (n > 0 && data[size - 1] == '\0')
		check_environment(values, n);
	for (i = 0; i < n; i++)
		free(values[i]);
	return 0;
}
