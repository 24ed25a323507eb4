/*
 * scow-sync __s3-get: the download helper a transfer from an object store
 * runs for each batch of units (transport-s3-get.c), as rsync runs for an
 * ssh one.
 *
 * It reads the batch's units from stdin (paths below the source's parent,
 * "NAME/a/b", each ended by a NUL: files, each the object of its key) and
 * brings each down into the destination (s3-download.h): under a hidden
 * temporary name, checked, then renamed into place. What it prints is what
 * the supervisor reads from rsync (rsync-speak.h): ">f+++++++++ NAME" for
 * each file it fetches, progress, and rsync's lines for a file it could
 * not (the object gone since the listing: "vanished"). It ends as rsync
 * would: 0 all fetched, 23 some files not, 24 some vanished, 10 the store
 * could not be reached or answered with an error that may pass, 5 it
 * refused (the reason on stderr), 20 stopped. Where it reads from comes
 * from the environment (S3_GET_* below); the credentials as the AWS tools
 * find them (s3-credentials.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "local-dir.h"
#include "rsync-speak.h"
#include "s3-client.h"
#include "s3-credentials.h"
#include "s3-download.h"
#include "s3-target.h"

#define S3_GET_CHANGED_TRIES 3    /* fetches of an object replaced while it is read */
#define S3_GET_STOPPED 20         /* rsync's exit when a signal stopped it */
#define S3_GET_PARTIAL ".scow-sync-partial"   /* sup-internal.h's PARTIAL_DIR */

struct s3_get {
	struct s3_client *cl;
	struct s3_target target;
	struct s3_download_opts opts;
	const char *dest;             /* the local directory the source's NAME goes into */
	const char *top;              /* NAME: units' paths start with it */
	struct speak_file cur;
	const char *rel;              /* the unit being fetched */
	bool is_new;                  /* ... and nothing was there before */
	int problems, vanished;
	bool fatal, retry;
};

static volatile sig_atomic_t s3_get_stop;

static void
s3_get_on_signal(int sig)
{
	(void)sig;
	s3_get_stop = 1;
}

static void
s3_get_on_progress(uint64_t done, void *ctx)
{
	struct s3_get *g = ctx;

	speak_progress(&g->cur, done, false);
}

/* The data is about to come: named now, as rsync names a file before it arrives. */
static int
s3_get_on_temp(int dirfd, const char *temp_name, void *ctx)
{
	struct s3_get *g = ctx;

	(void)dirfd;
	(void)temp_name;
	speak_name(g->is_new ? ">f+++++++++" : ">f.st......", g->rel, false);
	g->cur.started = now_monotonic();
	return 0;
}

/* A file not fetched: err ENOENT only for an object gone from the store (vanished). */
static void
s3_get_problem(struct s3_get *g, const char *rel, const char *cause, int err)
{
	if (speak_problem_as(err != ENOENT, rel, cause, err))
		g->vanished++;
	else
		g->problems++;
}

/* The key of unit rel: PREFIX/NAME and what follows NAME in rel. */
static void
s3_get_key(const struct s3_get *g, const char *rel, struct strbuf *key)
{
	const char *rest = rel + strlen(g->top);

	strbuf_addstr(key, g->target.prefix);
	if (*g->target.prefix == '\0' && *rest == '/')
		rest++;
	strbuf_addstr(key, rest);
}

/*
 * The directory rel goes into, opened (made if the supervisor's were
 * removed meanwhile), never through a symbolic link: its descriptor, or
 * -1 with errno.
 */
static int
s3_get_open_dir(const struct s3_get *g, const char *rel)
{
	const char *slash = strrchr(rel, '/');
	char *dir = slash ? xstrndup(rel, (size_t)(slash - rel)) : xstrdup("");
	int fd = local_dir_open(g->dest, dir, true, 0777);

	free(dir);
	return fd;
}

/*
 * The directory's private area (PARTIAL_DIR), where a file is written
 * until it is whole: made, and opened without following a link.
 */
static int
s3_get_open_partial(int dirfd)
{
	if (mkdirat(dirfd, S3_GET_PARTIAL, 0700) < 0 && errno != EEXIST)
		return -1;
	return openat(dirfd, S3_GET_PARTIAL, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Does the store's code refuse this one object, not every one? */
static bool
s3_get_object_refused(const char *code)
{
	static const char *const codes[] = { "InvalidObjectState", "InvalidRange",
					     "PreconditionFailed", NULL };
	size_t k;

	for (k = 0; code && codes[k]; k++)
		if (strcmp(code, codes[k]) == 0)
			return true;
	return false;
}

/*
 * One try of a unit: false when it goes again (the object changed while
 * it was read, or the directory's private area went as it was used).
 */
static bool
s3_get_once(struct s3_get *g, const char *rel, const char *key, bool last)
{
	struct s3_download_result r;
	struct stat sb;
	const char *slash = strrchr(rel, '/'), *name = slash ? slash + 1 : rel;
	bool done = true;
	int dirfd;

	memset(&r, 0, sizeof r);
	if ((dirfd = s3_get_open_dir(g, rel)) < 0) {
		s3_get_problem(g, rel, errno == ELOOP ? "a symbolic link stands where a directory "
			       "goes" : strerror(errno), errno == ENOENT ? EIO : errno);
		return true;
	}
	if ((g->opts.temp_dirfd = s3_get_open_partial(dirfd)) < 0) {
		s3_get_problem(g, rel, errno == ELOOP ? "'" S3_GET_PARTIAL "' is a symbolic link" :
			       strerror(errno), errno == ENOENT ? EIO : errno);
		close(dirfd);
		return true;
	}
	g->rel = rel;
	g->is_new = fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0;
	g->cur.size = 0;
	s3_download_file(g->cl, key, dirfd, name, &g->opts, &r);
	close(g->opts.temp_dirfd);
	g->opts.temp_dirfd = 0;
	close(dirfd);
	/* Its private area removed by another helper as it emptied: made again. */
	if (r.outcome == S3_DOWNLOAD_LOCAL_ERROR && r.local_errno == ENOENT && !r.temp_name &&
	    !last) {
		s3_download_result_release(&r);
		return false;
	}
	switch (r.outcome) {
	case S3_DOWNLOAD_SENT:
		g->cur.xfr++;
		g->cur.size = r.size;
		speak_progress(&g->cur, r.size, true);
		break;
	case S3_DOWNLOAD_SAME:
		break;
	case S3_DOWNLOAD_CHANGED:
		if (!last) {
			done = false;
			break;
		}
		s3_get_problem(g, rel, "the object changed while it was read", EAGAIN);
		break;
	case S3_DOWNLOAD_LOCAL_ERROR:
		/* Not the object's: a file of ours gone (ENOENT) is no vanished source. */
		s3_get_problem(g, rel, r.reason ? r.reason : strerror(r.local_errno),
			       r.local_errno && r.local_errno != ENOENT ? r.local_errno : EIO);
		break;
	case S3_DOWNLOAD_FAILED:
		if (s3_get_stop)
			break;
		/* Deleted since the listing: as rsync's file that vanished. */
		if (r.status == 404) {
			s3_get_problem(g, rel, "no such object", ENOENT);
		} else if (!r.retryable && s3_get_object_refused(r.code)) {
			s3_get_problem(g, rel, r.reason ? r.reason : r.code, EINVAL);
		} else {
			speak_failure(rel, r.reason ? r.reason : "failed");
			if (r.retryable)
				g->retry = true;
			else
				g->fatal = true;
		}
		break;
	}
	s3_download_result_release(&r);
	return done;
}

static void
s3_get_unit(struct s3_get *g, const char *rel)
{
	struct strbuf key = STRBUF_INIT;
	int k;

	s3_get_key(g, rel, &key);
	for (k = 1; !s3_get_once(g, rel, key.buf, k == S3_GET_CHANGED_TRIES) && !s3_get_stop; k++)
		;
	strbuf_release(&key);
}

static const char *
s3_get_env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

int
cmd_s3_get(int argc, char **argv)
{
	struct s3_get g;
	struct s3_credentials creds;
	struct strvec units = STRVEC_INIT;
	const char *source = s3_get_env("S3_GET_SOURCE"), *style = s3_get_env("S3_GET_STYLE");
	char err[512];
	size_t k;
	int code = 0;

	(void)argc;
	(void)argv;
	memset(&g, 0, sizeof g);
	memset(&creds, 0, sizeof creds);
	signal(SIGTERM, s3_get_on_signal);
	signal(SIGINT, s3_get_on_signal);
	g.dest = s3_get_env("S3_GET_DEST");
	/* The files and directories as the caller's umask makes them, not the supervisor's. */
	if (s3_get_env("S3_GET_UMASK"))
		umask((mode_t)env_number("S3_GET_UMASK", 0, 0777, 022));
	g.top = s3_get_env("S3_GET_TOP");
	g.opts.multipart_from = env_number("S3_GET_MULTIPART", 1, 1ULL << 62, 16ULL << 20);
	g.opts.parallel = (int)env_number("S3_GET_PARALLEL", 1, 64, 8);
	/* Fresh: nothing here to compare with. A partial run's files changed: fetched anyway. */
	g.opts.force = s3_get_env("S3_GET_ALWAYS") != NULL;
	g.opts.progress = s3_get_on_progress;
	g.opts.temp_made = s3_get_on_temp;
	g.opts.ctx = &g;
	if (source == NULL || g.dest == NULL || g.top == NULL) {
		fprintf(stderr, "scow-sync __s3-get: run by a transfer only\n");
		return SPEAK_EXIT_FATAL;
	}
	if (s3_target_parse(source, &g.target, err, sizeof err) < 0 ||
	    s3_target_resolve(&g.target, s3_get_env("S3_GET_ENDPOINT"),
			      s3_get_env("S3_GET_REGION"),
			      style && strcmp(style, "path") == 0 ? S3_STYLE_PATH :
			      style && strcmp(style, "virtual") == 0 ? S3_STYLE_VIRTUAL :
			      S3_STYLE_AUTO, err, sizeof err) < 0 ||
	    s3_credentials_find(g.target.cos, &creds, err, sizeof err) < 0) {
		fprintf(stderr, "scow-sync: %s\n", err);
		code = SPEAK_EXIT_FATAL;
		goto out;
	}
	if ((g.cl = s3_client_new(&g.target, &creds)) == NULL) {
		fprintf(stderr, "scow-sync: cannot start libcurl\n");
		code = SPEAK_EXIT_FATAL;
		goto out;
	}
	s3_client_stop_flag(g.cl, (volatile int *)&s3_get_stop);
	/* --bwlimit is each worker's, as it is each rsync's: shared by its ranges. */
	if (env_number("S3_GET_BWLIMIT", 0, 1ULL << 50, 0))
		s3_client_set_recv_limit(g.cl, env_number("S3_GET_BWLIMIT", 0, 1ULL << 50, 0) /
					       (uint64_t)g.opts.parallel);
	if (speak_read_list(STDIN_FILENO, &units) < 0) {
		fprintf(stderr, "scow-sync: cannot read the batch: %s\n", strerror(errno));
		code = SPEAK_EXIT_FATAL;
		goto out;
	}
	for (k = 0; k < units.nr && !g.fatal && !g.retry && !s3_get_stop; k++)
		s3_get_unit(&g, units.v[k]);
	fflush(stdout);
	code = s3_get_stop ? S3_GET_STOPPED : g.fatal ? SPEAK_EXIT_FATAL :
	       g.retry ? SPEAK_EXIT_RETRY : g.problems ? SPEAK_EXIT_SOME_FAILED :
	       g.vanished ? SPEAK_EXIT_VANISHED : 0;
out:
	s3_client_free(g.cl);
	s3_credentials_release(&creds);
	s3_target_release(&g.target);
	strvec_clear(&units);
	return code;
}
