/* Unit tests for log: the first lines of a transfer survive rotation; modes. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "unit.h"

/* The whole of file, or "" when it cannot be read (caller frees). */
static char *
slurp(const char *file)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	size_t n;
	FILE *f = fopen(file, "r");

	if (f) {
		while ((n = fread(buf, 1, sizeof buf, f)) > 0)
			strbuf_add(&sb, buf, n);
		fclose(f);
	}
	return strbuf_detach(&sb, NULL);
}

int
main(void)
{
	char tmp[] = "/tmp/scow-sync-test-log-XXXXXX";
	char *all, *old, *cmd, *path;
	struct stat sb;
	int i, fd;

	if (mkdtemp(tmp) == NULL)
		return 99;
	/* A log left open to others (an older version, a copy) is made private. */
	path = xasprintf("%s/scow-sync.log", tmp);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0 && fchmod(fd, 0644) == 0);
	close(fd);
	CHECK_INT(log_open(tmp), SYNC_OK);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);

	/* A transfer that writes far more than rotation keeps. */
	log_set_rotate_bytes(4096);
	log_set_transfer(7);
	log_info("transfer of 'x' started");
	log_info("planned 1000 units");
	log_info("the far side answered");
	for (i = 0; i < 400; i++)
		log_info("done 'unit %d': 1 files, 10 bytes", i);
	log_info("transfer done after 1.0 s");
	log_close();
	all = slurp(path);
	old = xasprintf("%s.3", path);
	/* Its start went out with the oldest file ... */
	CHECK(strstr(all, "] info: transfer of 'x' started") == NULL);
	/* ... but is written again at the top of the newest, with its end. */
	CHECK(strstr(all, "[7] info: (from the start) transfer of 'x' started\n") == all + 25);
	CHECK(strstr(all, "[7] info: (from the start) planned 1000 units\n") != NULL);
	CHECK(strstr(all, "[7] info: (from the start) the far side answered\n") != NULL);
	CHECK(strstr(all, "(from the start) done") == NULL);
	CHECK(strstr(all, "transfer done after") != NULL);
	/* Rotated files are private too. */
	CHECK(stat(old, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	free(all);
	free(old);

	/* Another transfer's first lines are its own. */
	CHECK_INT(log_open(tmp), SYNC_OK);
	log_set_transfer(8);
	log_info("transfer of 'y' started");
	for (i = 0; i < 100; i++)
		log_info("done 'unit %d': 1 files, 10 bytes", i);
	log_close();
	all = slurp(path);
	CHECK(strstr(all, "[7] info: (from the start)") == NULL);
	CHECK(strstr(all, "[8] info: (from the start) transfer of 'y' started") != NULL);
	free(all);

	/*
	 * Many lines at once: each as log_info writes it, the first of a
	 * transfer kept as such, and rotation still in force.
	 */
	{
		struct strvec msgs = STRVEC_INIT;
		char *want;

		CHECK_INT(log_open(tmp), SYNC_OK);
		log_set_rotate_bytes(0);
		log_set_transfer(9);
		for (i = 0; i < 3000; i++)
			strvec_pushf(&msgs, "deleted 'f%d' (file)", i);
		log_many(LOG_INFO, (const char *const *)msgs.v, msgs.nr);
		log_close();
		all = slurp(path);
		CHECK(strstr(all, "[9] info: deleted 'f0' (file)\n") != NULL);
		CHECK(strstr(all, "[9] info: deleted 'f1234' (file)\n") != NULL);
		CHECK(strstr(all, "[9] info: deleted 'f2999' (file)\n") != NULL);
		CHECK(strstr(all, "[9] info: deleted 'f3000'") == NULL);
		want = all;
		for (i = 0; (want = strstr(want, "[9] info: deleted ")) != NULL; i++)
			want++;
		CHECK_INT(i, 3000);
		free(all);

		/* The first lines of transfer 10 are kept, the rest rotate. */
		CHECK_INT(log_open(tmp), SYNC_OK);
		log_set_rotate_bytes(4096);
		log_set_transfer(10);
		log_many(LOG_INFO, (const char *const *)msgs.v, msgs.nr);
		log_close();
		all = slurp(path);
		CHECK(strstr(all, "[10] info: (from the start) deleted 'f0' (file)\n") == all + 25);
		CHECK(strstr(all, "[10] info: (from the start) deleted 'f2' (file)\n") != NULL);
		CHECK(strstr(all, "(from the start) deleted 'f3'") == NULL);
		CHECK(strstr(all, "[10] info: deleted 'f2999' (file)\n") != NULL);
		CHECK(strlen(all) < 4096 + LOG_BATCH_BYTES + 1024);
		free(all);
		strvec_clear(&msgs);
	}

	cmd = xasprintf("rm -rf '%s'", tmp);
	CHECK(system(cmd) == 0);
	free(cmd);
	free(path);
	return unit_done("test-log");
}
