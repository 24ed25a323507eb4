/*
 * fuzz-options: the transfer flags (src/options.c), as the portal and
 * people give them to scow-sync-start and scow-sync run.
 *
 * Input: the arguments, NUL-separated (at most 24); argv[0] is the
 * legacy name. They are parsed, and when that succeeds, checked as start
 * checks them. The check looks at the file system (the key, the source):
 * it runs in a directory of its own holding a key "k" and a source "s"
 * with a file "s/f", so that relative paths lead somewhere; nothing is
 * written after the set-up.
 */
#include "config.h"

#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "options.h"
#include "util.h"

#define MAX_ARGS 24

static char workdir[] = "/tmp/scow-sync-fuzz-options.XXXXXX";

static void
remove_workdir(void)
{
	if (chdir("/") == 0) {
		char *p;

		p = xasprintf("%s/s/f", workdir); unlink(p); free(p);
		p = xasprintf("%s/s", workdir); rmdir(p); free(p);
		p = xasprintf("%s/k", workdir); unlink(p); free(p);
		rmdir(workdir);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *f;

	if (mkdtemp(workdir) == NULL || chdir(workdir) != 0 || mkdir("s", 0700) != 0)
		abort();
	atexit(remove_workdir);
	if ((f = fopen("k", "w")) == NULL || fputs("not a key\n", f) < 0 || fclose(f) != 0)
		abort();
	if ((f = fopen("s/f", "w")) == NULL || fclose(f) != 0)
		abort();
	return 0;
}

/* A message for the user: one line, no control bytes, never empty. */
static void
check_message(const char *err)
{
	FUZZ_CHECK(err[0] != '\0');
	FUZZ_CHECK(fuzz_no_controls(err, strlen(err)));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	struct transfer_request req;
	char *argv[MAX_ARGS + 2];
	char err[1024];
	int argc = 1, verbosity = 0, rc, i;

	argv[0] = xstrdup("scow-sync-start");
	while (in.left > 0 && argc < MAX_ARGS + 1)
		argv[argc++] = fuzz_string(&in);
	argv[argc] = NULL;

	err[0] = '\0';
	rc = options_parse_transfer(argc, argv, &req, &verbosity, err, sizeof err);
	FUZZ_CHECK(rc == OPTIONS_OK || rc == OPTIONS_HELP || rc == OPTIONS_VERSION ||
		   rc == OPTIONS_ERROR);
	if (rc == OPTIONS_ERROR)
		check_message(err);
	if (rc == OPTIONS_OK) {
		err[0] = '\0';
		if (options_validate_transfer(&req, !req.check, err, sizeof err) < 0) {
			check_message(err);
		} else {
			FUZZ_CHECK(req.port >= 1 && req.port <= 65535);
			FUZZ_CHECK(req.max_depth >= 0 && req.max_depth <= MAX_DEPTH_LIMIT);
			FUZZ_CHECK(req.address && req.address[0] != '-');
			FUZZ_CHECK(req.user && req.user[0] != '-');
			FUZZ_CHECK(req.key_path && req.key_path[0] == '/');
			if (!req.check) {
				FUZZ_CHECK(req.source && req.source[0] == '/');
				FUZZ_CHECK(strcmp(req.source, "/") != 0);
				FUZZ_CHECK(req.destination && req.destination[0] != '\0');
			}
		}
		transfer_request_release(&req);
	}
	for (i = 0; i < argc; i++)
		free(argv[i]);
	return 0;
}
