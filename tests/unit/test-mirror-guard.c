/*
 * Unit tests for the guards of a mirror's deletes (mirror-guard.h): one
 * row per way through them, the reasons as the supervisor and --dry-run
 * give them, and what counts as an empty source.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mirror-guard.h"
#include "unit.h"

struct row {
	int line;
	unsigned long long n;
	bool empty, all_ok;
	long long max;
	enum mirror_verdict want;
	const char *reason;
};

#define ROW(...) { __LINE__, __VA_ARGS__ }

static const struct row rows[] = {
	/* Nothing to delete: nothing to stop, whatever the source looks like. */
	ROW(0, true, false, 0, MIRROR_GO, ""),
	ROW(0, false, false, -1, MIRROR_GO, ""),
	/* No limit, a source with entries. */
	ROW(10000, false, false, -1, MIRROR_GO, ""),
	/* At the limit goes; one more stops. */
	ROW(3, false, false, 3, MIRROR_GO, ""),
	ROW(3, false, false, 2, MIRROR_STOP_LIMIT,
	    "3 entries to delete, more than the limit of 2 (--max-delete, max_delete): "
	    "nothing deleted"),
	ROW(1, false, false, 0, MIRROR_STOP_LIMIT,
	    "1 entry to delete, more than the limit of 0 (--max-delete, max_delete): "
	    "nothing deleted"),
	/* An empty source stops, first, unless --delete-all-ok. */
	ROW(508, true, false, -1, MIRROR_STOP_EMPTY,
	    "the source is empty and the far side has 508 entries it lacks: nothing deleted "
	    "(an unmounted file system?); --delete-all-ok deletes them"),
	ROW(1, true, false, 0, MIRROR_STOP_EMPTY,
	    "the source is empty and the far side has 1 entry it lacks: nothing deleted "
	    "(an unmounted file system?); --delete-all-ok deletes them"),
	ROW(508, true, true, -1, MIRROR_GO, ""),
	/* --delete-all-ok is no way past the limit. */
	ROW(508, true, true, 100, MIRROR_STOP_LIMIT,
	    "508 entries to delete, more than the limit of 100 (--max-delete, max_delete): "
	    "nothing deleted"),
};

int
main(void)
{
	char tmp[] = "/tmp/scow-sync-test-guard-XXXXXX";
	struct strbuf why = STRBUF_INIT;
	char *path;
	size_t i;
	int fd;

	for (i = 0; i < sizeof rows / sizeof *rows; i++) {
		const struct row *r = &rows[i];
		enum mirror_verdict v = mirror_guard(r->n, r->empty, r->all_ok, r->max);

		if (v != r->want)
			fprintf(stderr, "row at line %d\n", r->line);
		CHECK_INT(v, r->want);
		strbuf_reset(&why);
		mirror_stop_reason(&why, v, r->n, r->max);
		if (strcmp(why.buf, r->reason) != 0)
			fprintf(stderr, "row at line %d\n", r->line);
		CHECK_STR(why.buf, r->reason);
	}

	/* Empty: no entry, or cannot be read; one entry of any kind is not. */
	if (mkdtemp(tmp) == NULL)
		return 99;
	CHECK(mirror_source_empty(tmp));
	path = xasprintf("%s/missing", tmp);
	CHECK(mirror_source_empty(path));
	free(path);
	path = xasprintf("%s/.hidden", tmp);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK(!mirror_source_empty(tmp));
	CHECK(unlink(path) == 0);
	free(path);
	path = xasprintf("%s/dir", tmp);
	CHECK(mkdir(path, 0700) == 0);
	CHECK(!mirror_source_empty(tmp));
	CHECK(rmdir(path) == 0);
	free(path);
	CHECK(rmdir(tmp) == 0);
	strbuf_release(&why);
	return unit_done("test-mirror-guard");
}
