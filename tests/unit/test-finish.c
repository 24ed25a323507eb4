/*
 * test-finish: the finish command's words, and the command itself run by
 * the local sh on a scratch directory (it is what the far side runs).
 */
#include "config.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "finish.h"
#include "spawn.h"
#include "unit.h"
#include "util.h"

static char dir[64];

static char *
in_dir(const char *rel)
{
	return xasprintf("%s/%s", dir, rel);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* Run the command's words as the far side would (sh -c ...); its exit status. */
static int
run_words(const struct strvec *words)
{
	int status = -1;

	if (spawn_run((const char *const *)words->v, &status, NULL) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void
test_words(void)
{
	struct finish_attrs a;
	struct strvec words = STRVEC_INIT;
	struct stat sb;

	memset(&sb, 0, sizeof sb);
	sb.st_mode = S_IFDIR | 02750;
	sb.st_mtim.tv_sec = 1600000000;
	sb.st_mtim.tv_nsec = 5;
	sb.st_uid = 0;
	sb.st_gid = 0;
	CHECK(finish_attrs_from_stat(&a, "/far/it's a dir", &sb, NULL));
	/* Ids 0 never by name; the mode with five digits; nanoseconds padded. */
	CHECK(a.owner == NULL && a.group == NULL);
	finish_command(NULL, &a, 1, &words);
	CHECK_INT(words.nr, 12);
	CHECK_STR(words.v[0], "sh");
	CHECK_STR(words.v[1], "-c");
	CHECK(strchr(words.v[2], '!') == NULL);    /* csh's history, even inside quotes */
	CHECK(strchr(words.v[2], '\n') == NULL);
	CHECK_STR(words.v[4], "");
	CHECK_STR(words.v[5], "02750");
	CHECK_STR(words.v[6], "1600000000.000000005");
	CHECK_STR(words.v[7], "0");
	CHECK_STR(words.v[8], "");
	CHECK_STR(words.v[11], "/far/it's a dir");
	finish_attrs_release(&a);
	strvec_clear(&words);

	/* Before 1970: not for this command (rsync does it). */
	sb.st_mtim.tv_sec = -1;
	CHECK(!finish_attrs_from_stat(&a, "/x", &sb, NULL));
	finish_attrs_release(&a);
}

static void
test_run(void)
{
	struct finish_attrs a[2];
	struct strvec words = STRVEC_INIT;
	struct stat sb;
	char *part_dir = in_dir(".part"), *part = in_dir(".part/f"), *final = in_dir("f");
	char *sub = in_dir("sub dir's"), *missing = in_dir("missing");

	CHECK(mkdir(part_dir, 0700) == 0);
	CHECK(mkdir(sub, 0755) == 0);
	write_file(part, "the pieces\n");
	/* The attributes to give: this user's own, odd modes, nanoseconds. */
	CHECK(lstat(part, &sb) == 0);
	sb.st_mode = S_IFREG | 0604;
	sb.st_mtim.tv_sec = 1600000000;
	sb.st_mtim.tv_nsec = 123456789;
	CHECK(finish_attrs_from_stat(&a[0], final, &sb, NULL));
	CHECK(lstat(sub, &sb) == 0);
	sb.st_mode = S_IFDIR | 02711;
	sb.st_mtim.tv_sec = 1500000000;
	sb.st_mtim.tv_nsec = 1;
	CHECK(finish_attrs_from_stat(&a[1], sub, &sb, &a[0]));
	/* The same owner and group: the names of the one before. */
	CHECK_STR(a[1].owner, a[0].owner);
	CHECK_STR(a[1].group, a[0].group);
	finish_command(part, a, 2, &words);
	CHECK_INT(run_words(&words), 0);
	strvec_clear(&words);

	CHECK(access(part, F_OK) != 0);
	CHECK(access(part_dir, F_OK) != 0);   /* emptied: removed */
	CHECK(lstat(final, &sb) == 0);
	CHECK_INT(sb.st_mode & 07777, 0604);
	CHECK_INT(sb.st_mtim.tv_sec, 1600000000);
	CHECK_INT(sb.st_mtim.tv_nsec, 123456789);
	CHECK(lstat(sub, &sb) == 0);
	CHECK_INT(sb.st_mode & 07777, 02711);
	CHECK_INT(sb.st_mtim.tv_sec, 1500000000);
	CHECK_INT(sb.st_mtim.tv_nsec, 1);

	/* Never renamed into a directory of the file's name. */
	CHECK(mkdir(part_dir, 0700) == 0);
	write_file(part, "again\n");
	free(a[0].path);
	a[0].path = xstrdup(sub);
	finish_command(part, a, 1, &words);
	CHECK(run_words(&words) != 0);
	strvec_clear(&words);
	CHECK(access(part, F_OK) == 0);

	/* A path that is not there: not done, said by the exit status. */
	free(a[1].path);
	a[1].path = xstrdup(missing);
	finish_command(NULL, &a[1], 1, &words);
	CHECK(run_words(&words) != 0);
	strvec_clear(&words);

	finish_attrs_release(&a[0]);
	finish_attrs_release(&a[1]);
	unlink(part);
	rmdir(part_dir);
	unlink(final);
	rmdir(sub);
	free(part_dir);
	free(part);
	free(final);
	free(sub);
	free(missing);
}

int
main(void)
{
	snprintf(dir, sizeof dir, "/tmp/scow-sync-finish.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_words();
	test_run();
	rmdir(dir);
	return unit_done("test-finish");
}
