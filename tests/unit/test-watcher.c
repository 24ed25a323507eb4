/* Unit tests for watcher: real inotify on a scratch tree. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "filter.h"
#include "util.h"
#include "watcher.h"
#include "unit.h"

static char root[] = "/tmp/scow-sync-test-watcher-XXXXXX";

static char *
at(const char *rel)
{
	return xasprintf("%s/%s", root, rel);
}

/* Create (or append to) a file; readonly: open it so that only IN_CREATE is queued. */
static void
put(const char *rel, bool readonly)
{
	char *p = at(rel);
	int fd = open(p, readonly ? O_RDONLY | O_CREAT : O_WRONLY | O_CREAT | O_APPEND, 0644);

	CHECK(fd >= 0);
	if (fd >= 0) {
		if (!readonly)
			CHECK(write_all(fd, "x", 1) == 0);
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

static void
mv(const char *from, const char *to)
{
	char *a = at(from), *b = at(to);

	CHECK(rename(a, b) == 0);
	free(a);
	free(b);
}

static void
run(const char *const *argv)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/*
 * Read what is pending and take it, as "T tree\n" and "C changed\n" lines
 * (trees first) and "rescan\n" last. Caller frees.
 */
static char *
take(struct watcher *w)
{
	struct strvec changed = STRVEC_INIT, trees = STRVEC_INIT;
	struct strbuf sb = STRBUF_INIT;
	bool rescan = false;
	size_t i;

	CHECK_INT(watcher_read(w), 0);
	watcher_take(w, &changed, &trees, &rescan);
	for (i = 0; i < trees.nr; i++)
		strbuf_addf(&sb, "T %s\n", trees.v[i]);
	for (i = 0; i < changed.nr; i++)
		strbuf_addf(&sb, "C %s\n", changed.v[i]);
	if (rescan)
		strbuf_addstr(&sb, "rescan\n");
	strvec_clear(&changed);
	strvec_clear(&trees);
	return strbuf_detach(&sb, NULL);
}

/* Take and compare in one go. */
#define CHECK_TAKE(w, want)                                                   \
	do {                                                                  \
		char *got_ = take(w);                                         \
		CHECK_STR(got_, want);                                        \
		free(got_);                                                   \
	} while (0)

static bool
status_has(struct watcher *w, const char *part)
{
	const char *s = watcher_status(w);

	return s != NULL && strstr(s, part) != NULL;
}

static struct watcher *
open_at(const char *rel, const struct filter *f)
{
	struct watcher *w = NULL;
	char err[256] = "", *p = at(rel);

	CHECK_INT(watcher_open(&w, p, f, err, sizeof err), 0);
	CHECK_STR(err, "");
	free(p);
	if (w == NULL)
		exit(unit_done("test-watcher"));
	return w;
}

/* Creates, writes, attributes, renames in, out and within, deletes. */
static void
test_events(void)
{
	struct watcher *w;
	char *p;

	mkd("src");
	mkd("src/d");
	mkd("src/d/sub");
	put("src/f", false);
	w = open_at("src", NULL);
	CHECK(watcher_status(w) == NULL);
	CHECK_TAKE(w, "");
	CHECK(watcher_first_event(w) == 0);

	put("src/new", false);
	CHECK_INT(watcher_read(w), 0);
	CHECK(watcher_first_event(w) > 0);
	CHECK(watcher_last_event(w) >= watcher_first_event(w));
	CHECK_TAKE(w, "C new\n");
	CHECK(watcher_first_event(w) == 0 && watcher_last_event(w) == 0);

	put("src/f", false);
	CHECK_TAKE(w, "C f\n");
	p = at("src/f");
	CHECK(chmod(p, 0600) == 0);
	free(p);
	p = at("src/d");
	CHECK(chmod(p, 0700) == 0);
	free(p);
	CHECK_TAKE(w, "C d\nC f\n");
	p = at("src");
	CHECK(chmod(p, 0750) == 0);
	free(p);
	CHECK_TAKE(w, "C .\n");

	/* A file renamed into a subdirectory: gone here, come there. */
	mv("src/f", "src/d/g");
	CHECK_TAKE(w, "C d/g\nC f\n");

	/* A directory renamed within: it comes whole, and its watches follow it. */
	mv("src/d", "src/e");
	CHECK_TAKE(w, "T e\nC d\n");
	put("src/e/sub/x", false);
	CHECK_TAKE(w, "C e/sub/x\n");

	/* Moved out of the tree: gone, and no longer watched. */
	mv("src/e", "out");
	CHECK_TAKE(w, "C e\n");
	put("out/sub/y", false);
	CHECK_TAKE(w, "");

	/* Moved in from outside: whole, and watched from then on. */
	mkd("in");
	mkd("in/deep");
	put("in/deep/z", false);
	mv("in", "src/in");
	CHECK_TAKE(w, "T in\n");
	put("src/in/deep/z2", false);
	CHECK_TAKE(w, "C in/deep/z2\n");

	/* Deletes, a directory's too. */
	p = at("src/in/deep/z");
	CHECK(unlink(p) == 0);
	free(p);
	p = at("src/in/deep/z2");
	CHECK(unlink(p) == 0);
	free(p);
	p = at("src/in/deep");
	CHECK(rmdir(p) == 0);
	free(p);
	CHECK_TAKE(w, "C in/deep\nC in/deep/z\nC in/deep/z2\n");
	p = at("src/new");
	CHECK(unlink(p) == 0);
	free(p);
	CHECK_TAKE(w, "C new\n");

	/* A deep new directory, written at once: all of it comes as its top. */
	{
		const char *argv[] = { "mkdir", "-p", NULL, NULL };

		p = at("src/a/b/c");
		argv[2] = p;
		run(argv);
		free(p);
		put("src/a/b/c/f", false);
		CHECK_TAKE(w, "T a\n");
		/* ... and its deepest directory is watched now. */
		put("src/a/b/c/f2", false);
		CHECK_TAKE(w, "C a/b/c/f2\n");
	}
	/* What is written in a new directory once it is watched goes with it too. */
	mkd("src/n");
	CHECK_INT(watcher_read(w), 0);
	mkd("src/n/m");
	put("src/n/f", false);
	put("src/n-after", false);
	CHECK_TAKE(w, "T n\nC n-after\n");

	/* Names are bytes: a newline, bytes that are not UTF-8. */
	put("src/new\nline", false);
	put("src/\xff\xfe", false);
	mkd("src/dir\nnl");
	CHECK_TAKE(w, "T dir\nnl\nC new\nline\nC \xff\xfe\n");
	put("src/dir\nnl/in", false);
	CHECK_TAKE(w, "C dir\nnl/in\n");

	/* A link to a directory is an entry, never followed. */
	p = at("src/link");
	CHECK(symlink("a", p) == 0);
	free(p);
	CHECK_TAKE(w, "C link\n");
	put("src/a/viaown", false);
	CHECK_TAKE(w, "C a/viaown\n");
	CHECK(watcher_status(w) == NULL);
	watcher_close(w);
}

/* Bursts: 10,000 files in a new directory, and in one watched already. */
static void
test_burst(void)
{
	struct strvec changed = STRVEC_INIT, trees = STRVEC_INIT;
	struct watcher *w;
	bool rescan = true, all = true;
	char name[64];
	int i;

	mkd("burst");
	mkd("burst/many");
	w = open_at("burst", NULL);
	mkd("burst/new");
	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof name, "burst/new/f%05d", i);
		put(name, false);
	}
	CHECK_TAKE(w, "T new\n");

	/* One IN_CREATE each: 10,000 fit the default queue of 16384 events. */
	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof name, "burst/many/f%05d", i);
		put(name, true);
	}
	CHECK_INT(watcher_read(w), 0);
	watcher_take(w, &changed, &trees, &rescan);
	CHECK(!rescan);
	CHECK_INT(trees.nr, 0);
	CHECK_INT(changed.nr, 10000);
	for (i = 0; i < 10000 && (size_t)i < changed.nr; i++) {
		snprintf(name, sizeof name, "many/f%05d", i);
		if (strcmp(changed.v[i], name) != 0)
			all = false;
	}
	CHECK(all);
	strvec_clear(&changed);
	strvec_clear(&trees);
	watcher_close(w);
}

/* Excluded paths are neither reported nor watched, wherever they come from. */
static void
test_filter(void)
{
	struct filter f;
	struct watcher *w;
	char err[256] = "";

	filter_init(&f);
	CHECK_INT(filter_add(&f, false, "*.tmp", err, sizeof err), 0);
	mkd("flt");
	mkd("flt/old.tmp");
	mkd("flt/p");
	mkd("flt/keep");
	w = open_at("flt", &f);
	put("flt/x.tmp", false);
	put("flt/y", false);
	put("flt/old.tmp/inside", false);
	mkd("flt/cache.tmp");
	CHECK_TAKE(w, "C y\n");
	put("flt/cache.tmp/inside", false);
	CHECK_TAKE(w, "");

	/* Moved within under rules: watched anew at its new place. */
	mv("flt/p", "flt/q");
	CHECK_TAKE(w, "T q\nC p\n");
	put("flt/q/x", false);
	put("flt/q/x.tmp", false);
	CHECK_TAKE(w, "C q/x\n");

	/* Moved to an excluded name: gone from the tree, no longer watched. */
	mv("flt/keep", "flt/keep.tmp");
	CHECK_TAKE(w, "C keep\n");
	put("flt/keep.tmp/f", false);
	CHECK_TAKE(w, "");
	watcher_close(w);
	filter_release(&f);
}

/*
 * More events than the kernel queues (max_queued_events, 16384 unless
 * raised), read late: IN_Q_OVERFLOW, a rescan, and the directory whose
 * IN_CREATE was dropped is watched by the take.
 */
static void
test_overflow(void)
{
	unsigned long long max = 0;
	struct watcher *w;
	char buf[32] = "";
	int fd, fds[2];
	ssize_t n;
	unsigned long long i;

	fd = open("/proc/sys/fs/inotify/max_queued_events", O_RDONLY);
	if (fd >= 0) {
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n > 0) {
			buf[strcspn(buf, "\n")] = '\0';
			parse_ullong(buf, 1, ~0ULL, &max);
		}
	}
	if (max == 0 || max > 200000) {
		printf("test-watcher: skipped the overflow, max_queued_events is %llu\n", max);
		return;
	}
	mkd("ovf");
	put("ovf/a", false);
	put("ovf/b", false);
	w = open_at("ovf", NULL);
	/* Writes to two files in turn: the kernel merges only repeats of the last event. */
	for (i = 0; i < 2; i++) {
		char *p = xasprintf("%s/ovf/%c", root, i ? 'b' : 'a');

		fds[i] = open(p, O_WRONLY | O_APPEND);
		CHECK(fds[i] >= 0);
		free(p);
	}
	for (i = 0; i < max + 100; i++)
		CHECK(write_all(fds[i % 2], "x", 1) == 0);
	close(fds[0]);
	close(fds[1]);
	mkd("ovf/late");
	CHECK_INT(watcher_read(w), 0);
	CHECK(watcher_first_event(w) > 0);
	{
		char *got = take(w);

		CHECK(strstr(got, "rescan\n") != NULL);
		free(got);
	}
	CHECK(status_has(w, "the inotify event queue overflowed"));
	CHECK(status_has(w, "max_queued_events = "));
	put("ovf/late/x", false);
	CHECK_TAKE(w, "C late/x\n");
	CHECK(watcher_status(w) == NULL);
	watcher_close(w);
}

/* More changed paths than kept: a rescan instead of the list. */
static void
test_too_many(void)
{
	struct watcher *w;
	char name[64];
	int i;

	mkd("many");
	setenv("SCOW_SYNC_WATCH_MAX_CHANGES", "5", 1);
	w = open_at("many", NULL);
	unsetenv("SCOW_SYNC_WATCH_MAX_CHANGES");
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof name, "many/f%d", i);
		put(name, true);
	}
	CHECK_TAKE(w, "C f0\nC f1\nC f2\nC f3\nC f4\n");
	for (i = 0; i < 6; i++) {
		snprintf(name, sizeof name, "many/g%d", i);
		put(name, true);
	}
	CHECK_TAKE(w, "rescan\n");
	CHECK(status_has(w, "more than 5 paths changed"));
	CHECK_TAKE(w, "");
	watcher_close(w);
}

/* The source itself deleted: a rescan, and a status that says so. */
static void
test_source_gone(void)
{
	struct watcher *w;
	char *p, err[256] = "";

	mkd("gone");
	w = open_at("gone", NULL);
	p = at("gone");
	CHECK(rmdir(p) == 0);
	CHECK_TAKE(w, "rescan\n");
	CHECK(status_has(w, "the source was moved, deleted or unmounted"));
	CHECK(status_has(w, "cannot watch the source: No such file or directory"));
	watcher_close(w);
	w = NULL;
	CHECK_INT(watcher_open(&w, p, NULL, err, sizeof err), SYNC_ERR_SYSTEM);
	CHECK(w == NULL);
	CHECK(strstr(err, "No such file or directory") != NULL);
	free(p);
}

/*
 * The source deleted, or moved away, and made again: no event says it is
 * back, so the caller retries; once watched again, its events come again,
 * and the tree moved away says nothing more.
 */
static void
test_source_back(void)
{
	const char *rm[] = { "rm", "-rf", NULL, NULL };
	struct watcher *w;

	mkd("back");
	put("back/a", false);
	w = open_at("back", NULL);
	CHECK(watcher_has_source(w));
	rm[2] = at("back");
	run(rm);
	free((char *)rm[2]);
	free(take(w));
	CHECK(!watcher_has_source(w));
	CHECK(!watcher_retry(w));
	mkd("back");
	CHECK(watcher_retry(w));
	CHECK(watcher_has_source(w));
	put("back/b", false);
	CHECK_TAKE(w, "C b\n");

	mv("back", "back-old");
	free(take(w));
	CHECK(!watcher_has_source(w));
	mkd("back");
	put("back-old/x", false);
	CHECK(watcher_retry(w));
	put("back/c", false);
	put("back-old/y", false);
	CHECK_TAKE(w, "C c\n");
	watcher_close(w);
}

/* A file: its directory's events that name it, as ".", and no others. */
static void
test_file(void)
{
	struct watcher *w;
	char *p, *q, err[256] = "";

	mkd("fdir");
	put("fdir/file", false);
	put("fdir/other", false);
	w = open_at("fdir/file", NULL);
	CHECK(watcher_has_source(w));
	CHECK_TAKE(w, "");
	put("fdir/file", false);
	CHECK_TAKE(w, "C .\n");
	put("fdir/other", false);
	mkd("fdir/sub");
	CHECK_TAKE(w, "");
	mv("fdir/other", "fdir/file");
	CHECK_TAKE(w, "C .\n");
	p = at("fdir/file");
	CHECK(chmod(p, 0600) == 0);
	CHECK_TAKE(w, "C .\n");
	CHECK(unlink(p) == 0);
	CHECK_TAKE(w, "C .\n");
	put("fdir/file", true);
	CHECK_TAKE(w, "C .\n");
	watcher_close(w);
	free(p);
	/* A link is an entry like a file: watched as one, never followed. */
	p = at("src-link");
	q = at("fdir/file");
	CHECK(symlink("fdir", p) == 0);
	w = NULL;
	CHECK_INT(watcher_open(&w, p, NULL, err, sizeof err), 0);
	put("fdir/file", false);
	CHECK_TAKE(w, "");
	CHECK(unlink(p) == 0);
	CHECK_TAKE(w, "C .\n");
	watcher_close(w);
	free(p);
	free(q);
}

/* Write a string to a file (of /proc); 0 or -1. */
static int
write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), rc;

	if (fd < 0)
		return -1;
	rc = write_all(fd, s, strlen(s));
	close(fd);
	return rc < 0 ? -1 : 0;
}

/*
 * The watch limit, lowered in a user namespace of our own (its limit is
 * its own; the system's is left alone): the watch opens degraded, says
 * how many directories need watching, asks for rescans, and heals when
 * the limit is raised. Run in a child, which exits with its failures.
 */
static void
test_limit(void)
{
	pid_t pid;
	int st;

	mkd("lim");
	mkd("lim/a");
	mkd("lim/a/a1");
	mkd("lim/a/a2");
	mkd("lim/b");
	mkd("lim/b/b1");
	mkd("lim/c");
	pid = fork();
	if (pid == 0) {
		struct watcher *w;
		char *s;

		unit_failures = 0;
		if (unshare(CLONE_NEWUSER) < 0 ||
		    write_file("/proc/self/setgroups", "deny") < 0 ||
		    write_file("/proc/self/uid_map", "0 0 1") < 0 ||
		    write_file("/proc/self/gid_map", "0 0 1") < 0 ||
		    write_file("/proc/sys/user/max_inotify_watches", "3") < 0)
			_exit(77);
		w = open_at("lim", NULL);
		s = xasprintf("inotify watch limit reached after 3 watches "
			      "(user.max_inotify_watches = 3); 7 directories need watching");
		CHECK_STR(watcher_status(w), s);
		free(s);
		CHECK_TAKE(w, "rescan\n");
		CHECK(write_file("/proc/sys/user/max_inotify_watches", "100") == 0);
		CHECK_TAKE(w, "rescan\n");
		CHECK(watcher_status(w) == NULL);
		put("lim/b/b1/x", false);
		CHECK_TAKE(w, "C b/b1/x\n");
		watcher_close(w);
		_exit(unit_failures > 100 ? 100 : unit_failures);
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		printf("test-watcher: skipped the watch limit, no user namespace here\n");
	else
		CHECK_INT(WEXITSTATUS(st), 0);
}

/* A directory that cannot be read: degraded, named, and a rescan. */
static void
test_unreadable(void)
{
	pid_t pid;
	int st;
	char *p;

	mkd("perm");
	mkd("perm/open");
	p = at("perm/open");
	CHECK(chmod(p, 0777) == 0);
	free(p);
	mkd("perm/locked");
	mkd("perm/locked/below");
	p = at("perm/locked");
	CHECK(chmod(p, geteuid() == 0 ? 0700 : 0) == 0);
	CHECK(chmod(root, 0755) == 0);
	pid = fork();
	if (pid == 0) {
		struct watcher *w;

		unit_failures = 0;
		/* root reads everything: be nobody. */
		if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setgid(65534) < 0 ||
				       setuid(65534) < 0))
			_exit(77);
		w = open_at("perm", NULL);
		CHECK_STR(watcher_status(w), "1 directory cannot be watched, first 'locked': "
			  "Permission denied");
		CHECK_TAKE(w, "rescan\n");
		put("perm/open/x", false);
		CHECK_TAKE(w, "C open/x\nrescan\n");
		watcher_close(w);
		free(p);
		_exit(unit_failures > 100 ? 100 : unit_failures);
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	CHECK_INT(WEXITSTATUS(st), 0);
	CHECK(chmod(p, 0755) == 0);
	CHECK(chmod(root, 0700) == 0);
	free(p);
}

/* Shared file systems: the local ones here, and the table for the others. */
static void
test_fs(void)
{
	const char *name = "unset";

	CHECK(!watcher_fs_is_shared("/tmp", &name));
	CHECK(name == NULL);
	CHECK(!watcher_fs_is_shared("/proc", &name));
	CHECK(!watcher_fs_is_shared("/dev/shm", NULL));
	CHECK(!watcher_fs_is_shared("/no/such/path", &name));
	CHECK_STR(watcher_fs_shared_name(0x6969), "nfs");
	CHECK_STR(watcher_fs_shared_name(0x0BD00BD0), "lustre");
	CHECK_STR(watcher_fs_shared_name(0x47504653), "gpfs");
	CHECK_STR(watcher_fs_shared_name(0x19830326), "beegfs");
	CHECK_STR(watcher_fs_shared_name(0xFF534D42), "cifs");
	CHECK_STR(watcher_fs_shared_name(0x01021997), "9p");
	CHECK_STR(watcher_fs_shared_name(0x65735546), "fuse");
	/* f_type sign-extended from 32 bits, as some machines give it. */
	CHECK_STR(watcher_fs_shared_name((unsigned long)(long)(int)0xFF534D42), "cifs");
	CHECK(watcher_fs_shared_name(0xEF53) == NULL);       /* ext4 */
	CHECK(watcher_fs_shared_name(0x01021994) == NULL);   /* tmpfs */
	CHECK(watcher_fs_shared_name(0x58465342) == NULL);   /* xfs */
}

int
main(void)
{
	if (mkdtemp(root) == NULL)
		return 99;
	test_events();
	test_burst();
	test_filter();
	test_overflow();
	test_too_many();
	test_source_gone();
	test_source_back();
	test_file();
	test_limit();
	test_unreadable();
	test_fs();
	{
		const char *argv[] = { "rm", "-rf", root, NULL };

		run(argv);
	}
	return unit_done("test-watcher");
}
