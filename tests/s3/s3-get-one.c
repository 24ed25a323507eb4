/*
 * s3-get-one: s3-download and s3-list from the shell, for tests/s3/t-download.sh
 * (there is no command that downloads yet).
 *
 *   s3-get-one [-f] [-n] [-m MULTIPART_FROM] [-p PARALLEL] [-x PROGRAM]
 *              s3://BUCKET KEY DIR NAME
 *   s3-get-one -l s3://BUCKET PREFIX
 *
 * -x runs PROGRAM (no arguments) once the temporary file exists, after the
 * HEAD and before the first GET: a test replaces the object there.
 * The endpoint and region are S3_TEST_ENDPOINT and S3_TEST_REGION; the
 * credential is found as scow-sync finds it (AWS_ACCESS_KEY_ID, ...).
 * A download prints "temp NAME" once its temporary file exists, then one
 * line "OUTCOME md5=0|1 errno=N reason"; it exits 0 for SENT and SAME, 1
 * otherwise. A listing prints "KEY\tSIZE\tETAG" a line (keys with no
 * newline), exits 0 when it read every page.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/s3-download.h"
#include "../../src/s3-list.h"

static const char *const outcomes[] = {
	[S3_DOWNLOAD_SENT] = "SENT",
	[S3_DOWNLOAD_SAME] = "SAME",
	[S3_DOWNLOAD_CHANGED] = "CHANGED",
	[S3_DOWNLOAD_FAILED] = "FAILED",
	[S3_DOWNLOAD_LOCAL_ERROR] = "LOCAL_ERROR",
};

static int
temp_made(int dirfd, const char *temp_name, void *ctx)
{
	const char *program = ctx;
	char *argv[2];
	pid_t pid;
	int st;

	(void)dirfd;
	printf("temp %s\n", temp_name);
	fflush(stdout);
	if (program == NULL)
		return 0;
	argv[0] = (char *)program;
	argv[1] = NULL;
	/* Not spawn.h's posix_spawn: the project's src/spawn.h shadows it. */
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		execv(program, argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int
print_object(const struct s3_object *obj, void *ctx)
{
	(void)ctx;
	printf("%s\t%llu\t%s\n", obj->key, (unsigned long long)obj->size,
	       obj->etag ? obj->etag : "-");
	return 0;
}

static int
usage(void)
{
	fprintf(stderr, "usage: s3-get-one [-f] [-n] [-m BYTES] [-p N] [-x PROGRAM] "
		"s3://BUCKET KEY DIR NAME\n"
		"       s3-get-one -l s3://BUCKET PREFIX\n");
	return 2;
}

int
main(int argc, char **argv)
{
	struct s3_download_opts o;
	struct s3_download_result r;
	struct s3_credentials creds;
	struct s3_target t;
	struct s3_client *cl;
	unsigned long long n;
	bool list = false;
	char err[512];
	int ch, rc = 1, dirfd;

	memset(&o, 0, sizeof o);
	memset(&t, 0, sizeof t);
	o.multipart_from = 16ULL << 20;
	o.parallel = 4;
	o.temp_made = temp_made;
	while ((ch = getopt(argc, argv, "flnm:p:x:")) != -1) {
		switch (ch) {
		case 'f':
			o.force = true;
			break;
		case 'l':
			list = true;
			break;
		case 'n':
			o.no_fsync = true;
			break;
		case 'x':
			o.ctx = optarg;
			break;
		case 'm':
			if (parse_ullong(optarg, 0, 1ULL << 62, &n) < 0)
				return usage();
			o.multipart_from = n;
			break;
		case 'p':
			if (parse_ullong(optarg, 1, 64, &n) < 0)
				return usage();
			o.parallel = (int)n;
			break;
		default:
			return usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != (list ? 2 : 4))
		return usage();
	if (s3_target_parse(argv[0], &t, err, sizeof err) < 0 ||
	    s3_target_resolve(&t, getenv("S3_TEST_ENDPOINT"), getenv("S3_TEST_REGION"),
			      S3_STYLE_PATH, err, sizeof err) < 0 ||
	    s3_credentials_find(false, &creds, err, sizeof err) < 0) {
		fprintf(stderr, "s3-get-one: %s\n", err);
		s3_target_release(&t);
		return 2;
	}
	if ((cl = s3_client_new(&t, &creds)) == NULL) {
		fprintf(stderr, "s3-get-one: cannot start libcurl\n");
		goto out;
	}
	if (list) {
		struct strbuf reason = STRBUF_INIT;

		rc = s3_list_prefix(cl, argv[1], print_object, NULL, &reason) == 0 ? 0 : 1;
		if (reason.len)
			fprintf(stderr, "s3-get-one: %s\n", reason.buf);
		strbuf_release(&reason);
	} else if ((dirfd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "s3-get-one: cannot open '%s': %s\n", argv[2], strerror(errno));
	} else {
		s3_download_file(cl, argv[1], dirfd, argv[3], &o, &r);
		printf("%s md5=%d errno=%d %s\n", outcomes[r.outcome], r.md5_checked,
		       r.local_errno, r.reason ? r.reason : "");
		rc = r.outcome == S3_DOWNLOAD_SENT || r.outcome == S3_DOWNLOAD_SAME ? 0 : 1;
		s3_download_result_release(&r);
		close(dirfd);
	}
	s3_client_free(cl);
out:
	s3_credentials_release(&creds);
	s3_target_release(&t);
	if (fflush(stdout) != 0)
		rc = 1;
	return rc;
}
