/*
 * fuzz-settings: the settings files (src/settings.c), whose text anyone
 * with write access to them chose: any bytes, any length of line.
 *
 * Input: the text of a file. Whatever it holds, parsing returns 0 or -1
 * with a one-line reason without control characters; every value it kept
 * passes the same checks a flag's value does, and a number setting reads
 * back within its range.
 */
#include "config.h"

#include "fuzz.h"
#include "settings.h"
#include "util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct settings s, again;
	char err[1024], err2[1024];
	int rc, k;

	memset(&s, 0, sizeof s);
	err[0] = '\0';
	rc = settings_parse(&s, (const char *)data, size, SOURCE_USER, "fuzz.conf", err,
			    sizeof err);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc < 0) {
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(fuzz_no_controls(err, strlen(err)));
	}
	memset(&again, 0, sizeof again);
	for (k = 0; k < SETTING_COUNT; k++) {
		const char *v = settings_get(&s, (enum setting)k);

		if (v == NULL)
			continue;
		FUZZ_CHECK(s.v[k].source == SOURCE_USER);
		FUZZ_CHECK(strncmp(s.v[k].where, "fuzz.conf:", 10) == 0);
		/* What a file may set, a flag may set too: the same checks. */
		FUZZ_CHECK(settings_set_flag(&again, (enum setting)k, "--x", v, err2,
					     sizeof err2) == 0);
		FUZZ_CHECK(strcmp(settings_get(&again, (enum setting)k), v) == 0);
		FUZZ_CHECK(fuzz_no_controls(v, strlen(v)));
		(void)settings_number(&s, (enum setting)k, 0);
	}
	free(settings_state_dir(&s));
	settings_release(&s);
	settings_release(&again);
	return 0;
}
