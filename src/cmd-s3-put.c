/*
 * scow-sync __s3-put: the upload helper an object-store transfer runs for
 * each batch of units (transport-s3.c), as rsync runs for an ssh one.
 *
 * It reads the batch's units from stdin (paths below the source's parent,
 * each ended by a NUL), walks those that are directories, and uploads
 * every file to its key (s3-upload.h), one file at a time, a large one in
 * parallel parts. What it prints is what the supervisor reads from rsync
 * (rsync-parse.h): "//ITEMIZE NAME" for each file it sends, its progress on
 * "\r" records ending with "(xfr#N, to-chk=R/T)", and on stderr rsync's
 * lines for a file it could not read. It ends as rsync would: 0 all sent,
 * 23 some files not, 24 some vanished, 10 the store could not be reached
 * or answered with an error that may pass, 5 it refused (the reason on
 * stderr). Where it goes comes from the environment (S3_PUT_* below); the
 * credentials as the AWS tools find them (s3-credentials.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "filter.h"
#include "s3-client.h"
#include "s3-credentials.h"
#include "s3-target.h"
#include "rsync-speak.h"
#include "s3-upload.h"

#define S3_PUT_EXIT_FATAL SPEAK_EXIT_FATAL
#define S3_PUT_EXIT_RETRY SPEAK_EXIT_RETRY
#define S3_PUT_CHANGED_TRIES 3    /* sends of a file that changes while it is read */

struct s3_put {
	struct s3_client *cl;
	struct s3_target target;
	struct s3_upload_opts opts;
	struct filter filter;
	struct strvec excludes;       /* parts stopped on request (paths below root), sorted */
	const char *root;             /* the source's parent */
	const char *top;              /* the source's basename: filters apply below it */
	bool fresh;                   /* nothing is under the prefix: no HEAD before a PUT */
	bool always;                  /* the record says each file changed: sent even if the same */
	bool verify;                  /* --verify: the same size and time, by content too */
	int problems, vanished;
	bool fatal, retry;
	char *fatal_reason;
	struct speak_file cur;        /* the current file, for its progress records */
};

static volatile sig_atomic_t s3_put_stop;

static void
s3_put_on_signal(int sig)
{
	(void)sig;
	s3_put_stop = 1;
}

static void
s3_put_on_progress(uint64_t done, void *ctx)
{
	struct s3_put *p = ctx;

	speak_progress(&p->cur, done, false);
}

/* A file not sent, said as rsync says it, for the supervisor's list of them. */
static void
s3_put_problem(struct s3_put *p, const char *rel, const char *cause, int err)
{
	if (speak_problem(rel, cause, err))
		p->vanished++;
	else
		p->problems++;
}

/* Does the store's code refuse this one object (its name, size, data), not every one? */
static bool
s3_put_object_refused(const char *code)
{
	static const char *const codes[] = {
		"InvalidArgument", "KeyTooLongError", "InvalidObjectName", "EntityTooLarge",
		"EntityTooSmall", "MetadataTooLarge", "InvalidDigest", "BadDigest", "InvalidPart",
		"InvalidPartOrder", "NoSuchUpload", NULL,
	};
	size_t k;

	for (k = 0; code && codes[k]; k++)
		if (strcmp(code, codes[k]) == 0)
			return true;
	return false;
}

static void
s3_put_failed(struct s3_put *p, const struct s3_upload_result *r, const char *rel)
{
	/* That file alone is not sent: the others may be, and the transfer goes on. */
	if (!r->retryable && s3_put_object_refused(r->code)) {
		s3_put_problem(p, rel, r->reason ? r->reason : r->code, EINVAL);
		return;
	}
	speak_failure(rel, r->reason ? r->reason : "failed");
	if (r->retryable) {
		p->retry = true;
	} else {
		p->fatal = true;
	}
}

static void
s3_put_name(struct s3_put *p, const char *rel, bool is_new, bool dir)
{
	speak_name(dir ? "cd+++++++++" : is_new ? "<f+++++++++" : "<f.st......", rel, dir);
	(void)p;
}

/* Is rel (below root) stopped on request, or left out by the filters? */
static bool
s3_put_left_out(struct s3_put *p, const char *rel, bool is_dir)
{
	size_t k, tl = strlen(p->top);

	for (k = 0; k < p->excludes.nr; k++)
		if (path_is_within(rel, p->excludes.v[k]))
			return true;
	if (strncmp(rel, p->top, tl) == 0 && rel[tl] == '/')
		return filter_excluded(&p->filter, rel + tl + 1, is_dir);
	return false;
}

/*
 * One try of a file: true when it is done with (sent, the same already,
 * or said not sent), false when it changed while it was read and goes again.
 */
static bool
s3_put_file_once(struct s3_put *p, const char *rel, const char *path, const char *key,
		 bool last)
{
	struct s3_upload_result r;
	struct stat sb;
	bool done = true, given_up = false;
	int fd;

	memset(&r, 0, sizeof r);
	/* Not held up by a FIFO put in the file's place since it was looked at. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		s3_put_problem(p, rel, strerror(errno), errno);
		return true;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		s3_put_problem(p, rel, "not a regular file any more", EINVAL);
		close(fd);
		return true;
	}
	p->cur.size = (uint64_t)sb.st_size;
	p->cur.started = now_monotonic();
	/*
	 * Named before it is read, as rsync does: the supervisor notes the
	 * file's times then, and sees whether it changed by the end.
	 */
	if (!p->fresh && s3_upload_check(p->cl, key, &sb, &r) < 0) {
		close(fd);
		s3_put_failed(p, &r, rel);
		s3_upload_result_release(&r);
		return true;
	}
	/*
	 * A run trusting its record is given only what changed since: a file
	 * rewritten with its size and mtime kept is sent all the same, as
	 * rsync's --ignore-times does for those runs (sup-job.c).
	 */
	if (!p->fresh && !p->always && r.outcome == S3_UPLOAD_SAME) {
		bool same = !p->verify;
		int rc = 0;

		/* --verify: the same size and time, and the content the ETag says too. */
		if (p->verify && r.etag &&
		    (rc = s3_file_has_etag(fd, (uint64_t)sb.st_size, r.etag, &same)) < 0) {
			s3_put_problem(p, rel, strerror(-rc), -rc);
			same = true;
		}
		if (same) {
			close(fd);
			s3_upload_result_release(&r);
			return true;
		}
	}
	s3_put_name(p, rel, p->fresh || !r.existed, false);
	s3_upload_result_release(&r);
	s3_upload_file(p->cl, fd, &sb, key, &p->opts, &r);
	close(fd);
	if (r.resumed) {
		/* For the log: an upload cut short went on from what the store had. */
		fputs("scow-sync: '", stderr);
		speak_escaped(stderr, rel);
		fprintf(stderr, "': went on from %llu bytes of parts already in the store\n",
			(unsigned long long)r.resumed);
	}
	switch (r.outcome) {
	case S3_UPLOAD_SENT:
		p->cur.xfr++;
		speak_progress(&p->cur, p->cur.size, true);
		break;
	case S3_UPLOAD_CHANGED:
		/*
		 * Not sent: the object may be the old one, or none. Counted as
		 * sent, it would be taken as done by a supervisor that saw the
		 * change before it stat'ed the file (the HEAD comes between).
		 */
		if (!last && !s3_put_stop) {
			done = false;
		} else {
			s3_put_problem(p, rel, "the file changed every time it was read", EAGAIN);
			given_up = true;
		}
		break;
	case S3_UPLOAD_UNREADABLE:
		s3_put_problem(p, rel, r.reason ? r.reason : "cannot be read", EIO);
		given_up = true;
		break;
	case S3_UPLOAD_FAILED:
		s3_put_failed(p, &r, rel);
		given_up = !p->fatal && !p->retry;
		break;
	case S3_UPLOAD_SAME:
		break;
	}
	/*
	 * The files after it go on, and the supervisor records as partial
	 * only the file a helper was at when it ended: its parts go now, or
	 * the helper ends here (tried again) with the file recorded.
	 */
	if (given_up && !s3_put_stop && s3_upload_in_parts(p->cur.size, p->opts.multipart_from) &&
	    s3_upload_abandon(p->cl, key) < 0) {
		fputs("scow-sync: '", stderr);
		speak_escaped(stderr, rel);
		fputs("': cannot abort its multipart upload\n", stderr);
		p->retry = true;
	}
	s3_upload_result_release(&r);
	return done;
}

static void
s3_put_file(struct s3_put *p, const char *rel)
{
	struct strbuf path = STRBUF_INIT, key = STRBUF_INIT;
	int k;

	strbuf_addf(&path, "%s/%s", p->root, rel);
	s3_key(&p->target, rel, &key);
	if (!s3_key_ok(key.buf)) {
		s3_put_problem(p, rel, "cannot be an object's key (not UTF-8, or over 1024 bytes)",
			       EILSEQ);
		goto out;
	}
	/* A file that changed while it was read goes again, from its open on. */
	for (k = 1; !s3_put_file_once(p, rel, path.buf, key.buf, k == S3_PUT_CHANGED_TRIES); k++)
		;
out:
	strbuf_release(&path);
	strbuf_release(&key);
}

static void s3_put_tree(struct s3_put *p, const char *rel);

static void
s3_put_entry(struct s3_put *p, const char *rel)
{
	struct strbuf path = STRBUF_INIT;
	struct stat sb;

	if (p->fatal || p->retry || s3_put_stop)
		return;
	strbuf_addf(&path, "%s/%s", p->root, rel);
	if (lstat(path.buf, &sb) < 0) {
		s3_put_problem(p, rel, strerror(errno), errno);
	} else if (S_ISDIR(sb.st_mode)) {
		if (!s3_put_left_out(p, rel, true))
			s3_put_tree(p, rel);
	} else if (s3_put_left_out(p, rel, false)) {
		/* nothing */
	} else if (S_ISREG(sb.st_mode)) {
		s3_put_file(p, rel);
	} else if (S_ISLNK(sb.st_mode)) {
		struct stat target;

		/* A link to a file goes up as the file's data, as `aws s3 cp` sends it. */
		if (stat(path.buf, &target) == 0 && S_ISREG(target.st_mode)) {
			s3_put_file(p, rel);
		} else {
			/* Escaped: a newline in a name would make a line of its own. */
			fputs("skipping symbolic link \"", stderr);
			speak_escaped(stderr, rel);
			fputs("\": an object store has none\n", stderr);
		}
	} else {
		fputs("skipping non-regular file \"", stderr);
		speak_escaped(stderr, rel);
		fputs("\"\n", stderr);
	}
	strbuf_release(&path);
}

static int
s3_put_name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
s3_put_tree(struct s3_put *p, const char *rel)
{
	struct strbuf path = STRBUF_INIT, child = STRBUF_INIT;
	struct strvec names = STRVEC_INIT;
	struct dirent *de;
	size_t k, kept = 0;
	DIR *d;

	strbuf_addf(&path, "%s/%s", p->root, rel);
	if ((d = opendir(path.buf)) == NULL) {
		s3_put_problem(p, rel, strerror(errno), errno);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		strvec_push(&names, de->d_name);
	}
	closedir(d);
	qsort(names.v, names.nr, sizeof *names.v, s3_put_name_cmp);
	for (k = 0; k < names.nr; k++) {
		struct strbuf full = STRBUF_INIT;
		struct stat sb;
		bool is_dir;

		strbuf_reset(&child);
		strbuf_addf(&child, "%s/%s", rel, names.v[k]);
		strbuf_addf(&full, "%s/%s", p->root, child.buf);
		is_dir = lstat(full.buf, &sb) == 0 && S_ISDIR(sb.st_mode);
		strbuf_release(&full);
		if (s3_put_left_out(p, child.buf, is_dir))
			continue;
		kept++;
		s3_put_entry(p, child.buf);
	}
	/* An empty directory is a zero-byte "dir/" object, as the consoles make it. */
	if (kept == 0 && !p->fatal && !p->retry) {
		struct strbuf key = STRBUF_INIT;
		struct s3_upload_result r;
		struct stat sb;

		s3_key(&p->target, rel, &key);
		if (lstat(path.buf, &sb) == 0) {
			s3_put_name(p, rel, true, true);
			s3_upload_dir_marker(p->cl, key.buf, &sb, &r);
			if (r.outcome != S3_UPLOAD_SENT)
				s3_put_failed(p, &r, rel);
			s3_upload_result_release(&r);
		}
		strbuf_release(&key);
	}
out:
	strvec_clear(&names);
	strbuf_release(&path);
	strbuf_release(&child);
}

static const char *
s3_put_env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

int
cmd_s3_put(int argc, char **argv)
{
	struct s3_put p;
	struct s3_credentials creds;
	struct strvec units = STRVEC_INIT;
	const char *dest = s3_put_env("S3_PUT_DEST"), *style = s3_put_env("S3_PUT_STYLE");
	const char *filters = s3_put_env("S3_PUT_FILTERS"), *excl = s3_put_env("S3_PUT_EXCLUDES");
	char err[512];
	size_t k;
	int code = 0;

	(void)argc;
	(void)argv;
	memset(&p, 0, sizeof p);
	memset(&creds, 0, sizeof creds);
	filter_init(&p.filter);
	signal(SIGTERM, s3_put_on_signal);
	signal(SIGINT, s3_put_on_signal);
	p.root = s3_put_env("S3_PUT_ROOT");
	p.top = s3_put_env("S3_PUT_TOP");
	p.fresh = s3_put_env("S3_PUT_FRESH") != NULL;
	p.always = s3_put_env("S3_PUT_ALWAYS") != NULL;
	p.verify = s3_put_env("S3_PUT_VERIFY") != NULL;
	p.opts.multipart_from = env_number("S3_PUT_MULTIPART", 1, 1ULL << 62, 16ULL << 20);
	p.opts.parallel = (int)env_number("S3_PUT_PARALLEL", 1, 64, 8);
	p.opts.progress = s3_put_on_progress;
	p.opts.ctx = &p;
	if (dest == NULL || p.root == NULL || p.top == NULL) {
		fprintf(stderr, "scow-sync __s3-put: run by a transfer only\n");
		return S3_PUT_EXIT_FATAL;
	}
	if (s3_target_parse(dest, &p.target, err, sizeof err) < 0 ||
	    s3_target_resolve(&p.target, s3_put_env("S3_PUT_ENDPOINT"), s3_put_env("S3_PUT_REGION"),
			      style && strcmp(style, "path") == 0 ? S3_STYLE_PATH :
			      style && strcmp(style, "virtual") == 0 ? S3_STYLE_VIRTUAL :
			      S3_STYLE_AUTO, err, sizeof err) < 0 ||
	    s3_credentials_find(p.target.cos, &creds, err, sizeof err) < 0) {
		fprintf(stderr, "scow-sync: %s\n", err);
		code = S3_PUT_EXIT_FATAL;
		goto out;
	}
	if (filters) {
		struct strbuf f = STRBUF_INIT;
		int fd = open(filters, O_RDONLY | O_CLOEXEC);
		char buf[4096];
		ssize_t n;

		while (fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0)
			strbuf_add(&f, buf, (size_t)n);
		if (fd < 0 || filter_deserialize(&p.filter, f.buf, f.len) < 0) {
			fprintf(stderr, "scow-sync: cannot read the transfer's filters\n");
			code = S3_PUT_EXIT_FATAL;
		}
		if (fd >= 0)
			close(fd);
		strbuf_release(&f);
		if (code)
			goto out;
	}
	if (excl) {
		int fd = open(excl, O_RDONLY | O_CLOEXEC);

		if (fd < 0 || speak_read_list(fd, &p.excludes) < 0) {
			fprintf(stderr, "scow-sync: cannot read the parts stopped\n");
			code = S3_PUT_EXIT_FATAL;
			if (fd >= 0)
				close(fd);
			goto out;
		}
		close(fd);
	}
	if ((p.cl = s3_client_new(&p.target, &creds)) == NULL) {
		fprintf(stderr, "scow-sync: cannot start libcurl\n");
		code = S3_PUT_EXIT_FATAL;
		goto out;
	}
	s3_client_stop_flag(p.cl, (volatile int *)&s3_put_stop);
	/* --bwlimit is each worker's, as it is each rsync's: shared by its parts. */
	if (env_number("S3_PUT_BWLIMIT", 0, 1ULL << 50, 0))
		s3_client_set_send_limit(p.cl, env_number("S3_PUT_BWLIMIT", 0, 1ULL << 50, 0) /
					       (uint64_t)p.opts.parallel);
	if (speak_read_list(STDIN_FILENO, &units) < 0) {
		fprintf(stderr, "scow-sync: cannot read the batch: %s\n", strerror(errno));
		code = S3_PUT_EXIT_FATAL;
		goto out;
	}
	for (k = 0; k < units.nr && !p.fatal && !p.retry && !s3_put_stop; k++)
		s3_put_entry(&p, units.v[k]);
	fflush(stdout);
	code = s3_put_stop ? 20 : p.fatal ? S3_PUT_EXIT_FATAL : p.retry ? S3_PUT_EXIT_RETRY :
	       p.problems ? 23 : p.vanished ? 24 : 0;
out:
	s3_client_free(p.cl);
	s3_credentials_release(&creds);
	s3_target_release(&p.target);
	filter_release(&p.filter);
	strvec_clear(&p.excludes);
	strvec_clear(&units);
	return code;
}
