/* Unit tests for spawn: argv children, exec errors, environment, pipes. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"
#include "util.h"
#include "unit.h"

/* Read everything from fd into a new string. */
static char *
slurp(int fd)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[512];
	ssize_t n;

	while ((n = read(fd, buf, sizeof buf)) > 0)
		strbuf_add(&sb, buf, (size_t)n);
	return strbuf_detach(&sb, NULL);
}

int
main(void)
{
	struct spawn sp;
	struct strbuf err = STRBUF_INIT;
	char *out;
	int status = -1, leak_fd;

	/* A program that does not exist fails in the parent, with its errno. */
	{
		const char *argv[] = { "scow-sync-no-such-program", NULL };

		memset(&sp, 0, sizeof sp);
		sp.argv = argv;
		errno = 0;
		CHECK_INT(spawn_start(&sp), SYNC_ERR_SYSTEM);
		CHECK_INT(errno, ENOENT);
		CHECK_INT(sp.pid, -1);
	}
	/* Exit codes and signals are told apart. */
	{
		const char *argv[] = { "false", NULL };

		CHECK_INT(spawn_run(argv, &status, NULL), SYNC_OK);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
		CHECK_STR(spawn_status_text(status), "exited 1");
		CHECK_STR(spawn_status_text(9), "killed by signal 9");
	}
	/* stderr is captured; arguments are passed as they are, no shell. */
	{
		const char *argv[] = { "ls", "/no such dir; $(touch /tmp/x)", NULL };

		CHECK_INT(spawn_run(argv, &status, &err), SYNC_OK);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 0);
		CHECK(strstr(err.buf, "/no such dir; $(touch /tmp/x)") != NULL);
	}
	/* env_set overrides, and a close-on-exec descriptor does not leak. */
	{
		const char *argv[] = { "sh", "-c", "echo \"$LC_ALL\"; ls /proc/self/fd", NULL };
		const char *env[] = { "LC_ALL=C", NULL };

		setenv("LC_ALL", "en_US.UTF-8", 1);
		/* A high number that nothing else in the child would use. */
		leak_fd = fcntl(open("/dev/null", O_RDONLY | O_CLOEXEC), F_DUPFD_CLOEXEC, 57);
		CHECK(leak_fd >= 57);
		memset(&sp, 0, sizeof sp);
		sp.argv = argv;
		sp.env_set = env;
		sp.pipe_stdout = true;
		CHECK_INT(spawn_start(&sp), SYNC_OK);
		out = slurp(sp.out_fd);
		spawn_close_fds(&sp);
		CHECK_INT(spawn_wait(sp.pid, &status), SYNC_OK);
		CHECK(strncmp(out, "C\n", 2) == 0);
		{
			char mark[16];

			snprintf(mark, sizeof mark, "\n%d\n", leak_fd);
			CHECK(strstr(out, mark) == NULL);
		}
		free(out);
		close(leak_fd);
	}
	/* stdin pipe: what we write is what the child reads. */
	{
		const char *argv[] = { "cat", NULL };

		memset(&sp, 0, sizeof sp);
		sp.argv = argv;
		sp.pipe_stdin = true;
		sp.pipe_stdout = true;
		CHECK_INT(spawn_start(&sp), SYNC_OK);
		CHECK_INT(write_all(sp.in_fd, "a\0b", 3), SYNC_OK);
		close(sp.in_fd);
		sp.in_fd = -1;
		{
			char buf[8];
			ssize_t n = read(sp.out_fd, buf, sizeof buf);

			CHECK_INT(n, 3);
			CHECK(n == 3 && memcmp(buf, "a\0b", 3) == 0);
		}
		spawn_close_fds(&sp);
		CHECK_INT(spawn_wait(sp.pid, &status), SYNC_OK);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	strbuf_release(&err);
	return unit_done("test-spawn");
}
