/*
 * fuzz-sftp: the far side's answers to the SFTP client (src/sftp.c) and
 * the cleanup of partial files that acts on them (src/cleanup.c).
 *
 * Input: everything a (hostile or broken) sftp-server sends back, from
 * its VERSION on. The client's requests go to /dev/null and the answers
 * come from a memory file holding the input, so a session is a fixed
 * script: lstat, a directory listing, remove, rmdir, then a cleanup of two
 * files' partial data, each taking what answers are left. The source of
 * the cleanup is a directory that does not exist: nothing local is touched.
 * Whatever the far side said must reach the log escaped.
 */
#include "config.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fuzz.h"
#include "sftp.h"
#include "util.h"

static int devnull = -1;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if ((devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		abort();
	return 0;
}

/* A descriptor reading the input from its start. */
static int
input_fd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("sftp-replies", MFD_CLOEXEC);

	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) ||
	    lseek(fd, 0, SEEK_SET) != 0)
		abort();
	return fd;
}

static void
check_errmsg(struct sftp *s)
{
	const char *m = sftp_errmsg(s);

	FUZZ_CHECK(fuzz_no_controls(m, strlen(m)));
}

static int
on_name(const char *name, const struct sftp_attrs *a, void *ctx)
{
	size_t *names = ctx;

	fuzz_touch(name, strlen(name));
	FUZZ_CHECK(strcmp(name, ".") != 0 && strcmp(name, "..") != 0);
	(*names)++;
	return *names >= 1000;   /* a caller may stop early */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const files[] = { "src/d/f", "src/g" };
	struct cleanup_result r;
	struct sftp_attrs a;
	struct sftp *s;
	char err[256];
	size_t names = 0;
	int rc, to = dup(devnull);

	if (to < 0)
		abort();
	err[0] = '\0';
	rc = sftp_open_fds(to, input_fd(data, size), -1, -1, 1000, &s, err, sizeof err);
	if (rc < 0) {
		FUZZ_CHECK(s == NULL && err[0] != '\0');
		FUZZ_CHECK(fuzz_no_controls(err, strlen(err)));
		return 0;
	}
	rc = sftp_lstat(s, "dest/src", &a);
	FUZZ_CHECK(rc == SYNC_OK || rc < 0);
	check_errmsg(s);
	rc = sftp_list(s, "dest/src/d", on_name, &names);
	check_errmsg(s);
	rc = sftp_remove(s, "dest/src/g");
	check_errmsg(s);
	rc = sftp_rmdir(s, "dest/src/.scow-partial");
	check_errmsg(s);
	/* not_before 0: every file of the listing may be ours. */
	rc = cleanup_partials(s, "dest", "/nonexistent/scow-sync-fuzz", ".scow-partial", files, 2,
			      0, 0, &r);
	FUZZ_CHECK(rc == SYNC_OK || rc == SYNC_ERR_CONNECT);
	if (r.first_error)
		FUZZ_CHECK(fuzz_no_controls(r.first_error, strlen(r.first_error)));
	free(r.first_error);
	check_errmsg(s);
	sftp_close(s);
	return 0;
}
