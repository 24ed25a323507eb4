/* Unit tests for plan: cutting small trees by depth. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "filter.h"
#include "plan.h"
#include "util.h"
#include "unit.h"

static char root[] = "/tmp/scow-sync-test-plan-XXXXXX";
static bool show_sizes;   /* print "files/bytes" after each unit */

static void
touch(const char *rel)
{
	char *p = xasprintf("%s/%s", root, rel);
	int fd = open(p, O_WRONLY | O_CREAT, 0644);

	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	free(p);
}

/* Write a file of n bytes. */
static void
put(const char *rel, size_t n)
{
	char *p = xasprintf("%s/%s", root, rel);
	char *data = xcalloc(n ? n : 1, 1);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(write_all(fd, data, n) == 0);
		close(fd);
	}
	free(data);
	free(p);
}

static void
mkd(const char *rel)
{
	char *p = xasprintf("%s/%s", root, rel);

	CHECK(mkdir(p, 0755) == 0);
	free(p);
}

static int
on_dir(const char *rel, void *ctx)
{
	strbuf_addf(ctx, "dir %s\n", rel);
	return 0;
}

static int
on_unit(enum unit_kind kind, const char *rel, const struct unit_size *size, void *ctx)
{
	strbuf_addf(ctx, "%s %s", kind == UNIT_TREE ? "tree" : "file", rel);
	if (show_sizes)
		strbuf_addf(ctx, " %llu/%llu", (unsigned long long)size->files,
			    (unsigned long long)size->bytes);
	strbuf_addch(ctx, '\n');
	return 0;
}

static int
on_error(const char *rel, int errnum, void *ctx)
{
	strbuf_addf(ctx, "error %s %s\n", rel, errnum == EACCES ? "EACCES" : "other");
	return 0;
}

static struct filter *rules;   /* the filter plan() applies, or NULL */

static void
on_link(const char *rel, const struct stat *sb, void *ctx)
{
	strbuf_addf(ctx, "link %s %lu\n", rel, (unsigned long)sb->st_nlink);
}

static int
cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The names of files named more than once that a walk to depth reports,
 * one a line, sorted (within a tree unit they come in readdir's order).
 */
static char *
plan_links(const char *source, int depth)
{
	struct strbuf sb = STRBUF_INIT, all = STRBUF_INIT;
	struct strvec lines = STRVEC_INIT;
	struct plan_callbacks cb = { on_dir, on_unit, on_error, &all, on_link };
	char *p = xasprintf("%s/%s", root, source);
	const char *line = NULL, *end;
	size_t i;

	CHECK_INT(plan_walk(p, depth, rules, &cb), 0);
	free(p);
	for (line = all.len ? all.buf : ""; *line; line = end + 1) {
		end = strchr(line, '\n');
		if (strncmp(line, "link ", 5) == 0)
			strvec_pushf(&lines, "%.*s", (int)(end - line + 1), line);
	}
	qsort(lines.v, lines.nr, sizeof *lines.v, cmp_lines);
	for (i = 0; i < lines.nr; i++)
		strbuf_addstr(&sb, lines.v[i]);
	strvec_clear(&lines);
	strbuf_release(&all);
	return strbuf_detach(&sb, NULL);
}

static char *
plan(const char *source, int depth)
{
	struct strbuf sb = STRBUF_INIT;
	struct plan_callbacks cb = { on_dir, on_unit, on_error, &sb, NULL };
	char *p = xasprintf("%s/%s", root, source);

	CHECK_INT(plan_walk(p, depth, rules, &cb), 0);
	free(p);
	return strbuf_detach(&sb, NULL);
}

int
main(void)
{
	char *got, *link;

	if (mkdtemp(root) == NULL)
		return 99;
	mkd("src");
	mkd("src/a");
	mkd("src/a/deep");
	touch("src/a/deep/f");
	touch("src/a/x y");
	mkd("src/empty");
	touch("src/b");
	touch("src/-dash");
	touch("src/new\nline");
	link = xasprintf("%s/src/link", root);
	CHECK(symlink("a", link) == 0);
	free(link);

	/* Depth 0: the whole directory is one unit. */
	got = plan("src", 0);
	CHECK_STR(got, "tree src\n");
	free(got);

	/* Depth 1: entries of the source move separately, directories whole. */
	got = plan("src", 1);
	CHECK_STR(got, "dir src\nfile src/-dash\ntree src/a\nfile src/b\ntree src/empty\n"
		  "file src/link\nfile src/new\nline\n");
	free(got);

	/* Depth 2, the portal's: one level further; the symlink is never followed. */
	got = plan("src", 2);
	CHECK_STR(got, "dir src\nfile src/-dash\ndir src/a\ntree src/a/deep\nfile src/a/x y\n"
		  "file src/b\ndir src/empty\nfile src/link\nfile src/new\nline\n");
	free(got);

	/*
	 * Names of one file, above the cut and inside tree units alike, with
	 * the path a unit would have; every other file is not reported.
	 */
	{
		char *a = xasprintf("%s/src/b", root), *b = xasprintf("%s/src/a/deep/b2", root);
		char *c = xasprintf("%s/src/a/deep/b3", root);

		CHECK(linkat(AT_FDCWD, a, AT_FDCWD, b, 0) == 0);
		CHECK(linkat(AT_FDCWD, a, AT_FDCWD, c, 0) == 0);
		got = plan_links("src", 1);
		CHECK_STR(got, "link src/a/deep/b2 3\nlink src/a/deep/b3 3\nlink src/b 3\n");
		free(got);
		got = plan_links("src", 5);
		CHECK_STR(got, "link src/a/deep/b2 3\nlink src/a/deep/b3 3\nlink src/b 3\n");
		free(got);
		got = plan_links("src", 0);
		CHECK_STR(got, "link src/a/deep/b2 3\nlink src/a/deep/b3 3\nlink src/b 3\n");
		free(got);
		CHECK(unlink(b) == 0 && unlink(c) == 0);
		got = plan_links("src", 1);
		CHECK_STR(got, "");
		free(got);
		free(a);
		free(b);
		free(c);
	}

	/* A file source is a file unit at any depth. */
	got = plan("src/b", 5);
	CHECK_STR(got, "file b\n");
	free(got);

	/* An unreadable directory above the cut is reported, the rest goes on. */
	if (geteuid() != 0) {
		char *p = xasprintf("%s/src/a", root);

		chmod(p, 0);
		got = plan("src", 2);
		CHECK(strstr(got, "error src/a EACCES\n") != NULL);
		CHECK(strstr(got, "file src/b\n") != NULL);
		free(got);
		chmod(p, 0755);
		free(p);
	}

	/*
	 * Sizes: a file unit is one file of its size; a tree unit counts every
	 * non-directory below it (links too, as entries of no bytes), at any
	 * depth, and an empty tree is 0/0.
	 */
	mkd("sz");
	put("sz/top", 10);
	mkd("sz/t");
	put("sz/t/a", 100);
	mkd("sz/t/d1");
	mkd("sz/t/d1/d2");
	put("sz/t/d1/d2/b", 1000);
	put("sz/t/d1/c", 7);
	link = xasprintf("%s/sz/t/d1/l", root);
	CHECK(symlink("c", link) == 0);
	free(link);
	mkd("sz/t/empty");
	mkd("sz/e");
	show_sizes = true;
	got = plan("sz", 1);
	CHECK_STR(got, "dir sz\ntree sz/e 0/0\ntree sz/t 4/1107\nfile sz/top 1/10\n");
	free(got);
	got = plan("sz", 0);
	CHECK_STR(got, "tree sz 5/1117\n");
	free(got);
	got = plan("sz/top", 2);
	CHECK_STR(got, "file top 1/10\n");
	free(got);

	/*
	 * The rules leave out what they exclude, above the cut (no unit, a
	 * directory not walked) and within a tree (not counted); paths are
	 * the source's own ("/t" is sz/t).
	 */
	{
		struct filter f;
		char err[256];

		filter_init(&f);
		CHECK_INT(filter_add(&f, false, "/t/d1/d2/", err, sizeof err), 0);
		CHECK_INT(filter_add(&f, false, "c", err, sizeof err), 0);
		CHECK_INT(filter_add(&f, false, "/e", err, sizeof err), 0);
		rules = &f;
		got = plan("sz", 1);
		CHECK_STR(got, "dir sz\ntree sz/t 2/100\nfile sz/top 1/10\n");
		free(got);
		got = plan("sz", 3);
		CHECK_STR(got, "dir sz\ndir sz/t\nfile sz/t/a 1/100\ndir sz/t/d1\n"
			  "file sz/t/d1/l 1/0\ndir sz/t/empty\nfile sz/top 1/10\n");
		free(got);
		/* Anchored at the source given: here "/t/d1/d2/" is d1/t/d1/d2. */
		got = plan("sz/t/d1", 1);
		CHECK_STR(got, "dir d1\ntree d1/d2 1/1000\nfile d1/l 1/0\n");
		free(got);
		/* The source itself is never matched, whatever its name. */
		CHECK_INT(filter_add(&f, false, "d1", err, sizeof err), 0);
		got = plan("sz/t/d1", 1);
		CHECK_STR(got, "dir d1\ntree d1/d2 1/1000\nfile d1/l 1/0\n");
		free(got);
		rules = NULL;
		filter_release(&f);
	}
	show_sizes = false;

	{
		struct strbuf sb = STRBUF_INIT;
		struct plan_callbacks cb = { on_dir, on_unit, on_error, &sb, NULL };
		char *p = xasprintf("%s/missing", root);

		CHECK_INT(plan_walk(p, 2, NULL, &cb), SYNC_ERR_SYSTEM);
		free(p);
		strbuf_release(&sb);
	}
	{
		/* Clean up the scratch tree. */
		char *cmd[] = { "rm", "-rf", root, NULL };
		pid_t pid = fork();

		if (pid == 0) {
			execvp(cmd[0], cmd);
			_exit(127);
		}
		waitpid(pid, NULL, 0);
	}
	return unit_done("test-plan");
}
