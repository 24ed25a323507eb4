/*
 * Unit tests for record: a tree against a watch's record of what it
 * synced, on a real directory and a real store.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "filter.h"
#include "record.h"
#include "store.h"
#include "util.h"
#include "unit.h"

static char root[] = "/tmp/scow-sync-test-record-XXXXXX";

static char *
at(const char *rel)
{
	return xasprintf("%s/src/%s", root, rel);
}

static void
put(const char *rel, const char *data)
{
	char *p = at(rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(write_all(fd, data, strlen(data)) == 0);
		close(fd);
	}
	free(p);
}

static void
mkd(const char *rel)
{
	char *p = at(rel);

	CHECK(mkdir(p, 0755) == 0);
	free(p);
}

/* Scan, and say what differs as "T path" and "C path" lines; apply when asked. */
static char *
scan(struct store *st, int64_t id, const struct filter *f, bool apply)
{
	struct record_scan r;
	struct strbuf sb = STRBUF_INIT;
	char *src = xasprintf("%s/src", root);
	size_t i;

	record_scan_init(&r);
	CHECK_INT(record_scan(st, id, src, f, &r), SYNC_OK);
	for (i = 0; i < r.trees.nr; i++)
		strbuf_addf(&sb, "T %s\n", r.trees.v[i]);
	for (i = 0; i < r.changed.nr; i++)
		strbuf_addf(&sb, "C %s\n", r.changed.v[i]);
	CHECK_INT(apply ? store_record_apply(st, id) : store_record_discard(st, id), SYNC_OK);
	record_scan_release(&r);
	free(src);
	return strbuf_detach(&sb, NULL);
}

int
main(void)
{
	struct store *st = NULL;
	struct transfer t;
	struct filter f;
	char err[256], *dir, *got, *p, *q;
	bool ready = true;

	if (mkdtemp(root) == NULL)
		return 99;
	dir = xasprintf("%s/state", root);
	CHECK_INT(store_open(dir, &st, err, sizeof err), SYNC_OK);
	if (st == NULL)
		return unit_done("test-record");
	memset(&t, 0, sizeof t);
	t.address = "h";
	t.user = "u";
	t.port = 22;
	t.source = "/src";
	t.destination = "/d";
	t.key_path = "/k";
	t.watch = true;
	CHECK(proc_self(&t.supervisor) == SYNC_OK);
	CHECK_INT(store_transfer_insert(st, &t), SYNC_OK);
	mkd("");
	mkd("a");
	mkd("a/b");
	put("a/b/f", "one");
	put("top", "x");
	put("skip.tmp", "excluded");
	filter_init(&f);
	CHECK_INT(filter_add(&f, false, "*.tmp", err, sizeof err), 0);

	/* Nothing recorded: all is new, and not trusted yet. */
	CHECK_INT(store_record_ready(st, t.id, &ready), SYNC_OK);
	CHECK(!ready);
	got = scan(st, t.id, &f, false);
	CHECK_STR(got, "T a\nC top\n");
	free(got);
	/* Discarded: still nothing recorded. */
	got = scan(st, t.id, &f, true);
	CHECK_STR(got, "T a\nC top\n");
	free(got);
	CHECK_INT(store_record_ready(st, t.id, &ready), SYNC_OK);
	CHECK(ready);

	/* Recorded: the same tree differs in nothing. */
	got = scan(st, t.id, &f, true);
	CHECK_STR(got, "");
	free(got);

	/* Each change, and only it: a write of the same size and time differs by its time. */
	put("a/b/f", "two");
	p = at("a/b/f");
	{
		struct timespec ts[2] = { { 1, 5 }, { 1, 5 } };

		CHECK(utimensat(AT_FDCWD, p, ts, 0) == 0);
	}
	free(p);
	put("top", "longer");
	mkd("a/new");
	put("a/new/inside", "n");
	put("other.tmp", "excluded too");
	got = scan(st, t.id, &f, true);
	CHECK_STR(got, "T a/new\nC a\nC a/b/f\nC top\n");
	free(got);
	got = scan(st, t.id, &f, true);
	CHECK_STR(got, "");
	free(got);

	/* A chmod, a rename, a deletion of a directory with what it holds. */
	p = at("top");
	CHECK(chmod(p, 0600) == 0);
	free(p);
	p = at("a/b/f");
	q = at("a/b/g");
	CHECK(rename(p, q) == 0);
	free(p);
	free(q);
	p = xasprintf("rm -rf '%s/src/a/new'", root);
	CHECK(system(p) == 0);
	free(p);
	got = scan(st, t.id, &f, true);
	CHECK_STR(got, "C a\nC a/b\nC a/b/f\nC a/b/g\nC a/new\nC top\n");
	free(got);
	got = scan(st, t.id, &f, true);
	CHECK_STR(got, "");
	free(got);

	/* Gone with all below it: a directory made again is new, not what was. */
	mkd("a/new");
	got = scan(st, t.id, &f, false);
	CHECK_STR(got, "T a/new\nC a\n");
	free(got);

	/* A file where a directory was: the directory goes, the file comes. */
	p = xasprintf("rm -rf '%s/src/a/b' '%s/src/a/new'", root, root);
	CHECK(system(p) == 0);
	free(p);
	put("a/b", "now a file");
	got = scan(st, t.id, &f, true);
	CHECK_STR(got, "C a\nC a/b\n");
	free(got);
	got = scan(st, t.id, &f, true);
	CHECK_STR(got, "");
	free(got);

	filter_release(&f);
	store_close(st);
	free(dir);
	{
		char *cmd[] = { "rm", "-rf", root, NULL };
		pid_t pid = fork();

		if (pid == 0) {
			execvp(cmd[0], cmd);
			_exit(127);
		}
		waitpid(pid, NULL, 0);
	}
	return unit_done("test-record");
}
