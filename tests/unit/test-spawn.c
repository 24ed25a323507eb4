/* Unit tests for spawn: argv children, exec errors, environment, pipes. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
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

/* Has pid ended (gone, or a zombie nobody reaped yet) within a second? */
static bool
gone(pid_t pid)
{
	char path[64], state = 0;
	int i;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	for (i = 0; i < 100; i++) {
		char text[512], *p;
		ssize_t n;
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return true;
		n = read(fd, text, sizeof text - 1);
		close(fd);
		text[n > 0 ? n : 0] = '\0';
		p = strrchr(text, ')');
		state = p && p[1] ? p[2] : 0;
		if (state == 'Z')
			return true;
		usleep(10000);
	}
	return false;
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
	/*
	 * A bounded capture ends a child that does not answer at the deadline,
	 * with everything it started (its group), and at once on a stop flag;
	 * one that ignores SIGTERM is killed after the grace.
	 */
	{
		const char *argv[] = { "sh", "-c", "sleep 30 & echo $! >&2; wait", NULL };
		struct spawn_limits lim = { .timeout_ms = 300 };
		static volatile sig_atomic_t stop;
		pid_t child;

		strbuf_reset(&err);
		CHECK_INT(spawn_capture_limited(argv, NULL, &status, NULL, &err, &lim),
			  SYNC_ERR_TIMEOUT);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
		child = (pid_t)strtol(err.buf, NULL, 10);
		CHECK(child > 0);
		if (child > 0)
			CHECK(gone(child));
		lim.timeout_ms = 0;
		stop = 1;
		lim.stop = &stop;
		CHECK_INT(spawn_capture_limited(argv, NULL, &status, NULL, NULL, &lim),
			  SYNC_ERR_TIMEOUT);
		CHECK(WIFSIGNALED(status));
	}
	{
		const char *argv[] = { "sh", "-c", "trap '' TERM; echo up; sleep 30", NULL };
		struct spawn_limits lim = { .timeout_ms = 300 };
		struct strbuf cap = STRBUF_INIT;

		CHECK_INT(spawn_capture_limited(argv, NULL, &status, &cap, NULL, &lim),
			  SYNC_ERR_TIMEOUT);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		CHECK_STR(cap.buf, "up\n");
		strbuf_release(&cap);
	}
	/*
	 * Bounded by silence: a child that keeps saying something runs past
	 * idle_ms, one that falls silent is ended idle_ms after its last word
	 * (the pieces' check on a far side whose file system hangs).
	 */
	{
		const char *talks[] = { "sh", "-c", "for i in 1 2 3 4 5 6 7 8; do echo . >&2; "
					"sleep 0.2; done", NULL };
		const char *stops[] = { "sh", "-c", "echo . >&2; sleep 30", NULL };
		struct spawn_limits lim = { .idle_ms = 1000 };

		CHECK_INT(spawn_capture_limited(talks, NULL, &status, NULL, NULL, &lim), SYNC_OK);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		CHECK_INT(spawn_capture_limited(stops, NULL, &status, NULL, NULL, &lim),
			  SYNC_ERR_TIMEOUT);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	}
	/*
	 * Its end counts, not its pipes': ssh's ControlMaster holds a killed
	 * client's pipes while the remote command runs (here: a child that
	 * outlives it holds them).
	 */
	{
		const char *argv[] = { "sh", "-c", "sleep 30 & echo $!", NULL };
		struct spawn_limits lim = { .timeout_ms = 20000 };
		struct strbuf cap = STRBUF_INIT;
		pid_t held;

		CHECK_INT(spawn_capture_limited(argv, NULL, &status, &cap, NULL, &lim), SYNC_OK);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		held = (pid_t)strtol(cap.buf, NULL, 10);
		CHECK(held > 0);
		if (held > 0)
			kill(held, SIGKILL);
		strbuf_release(&cap);
	}
	/*
	 * spawn_end: a child that ends within the grace keeps its own end; one
	 * that ignores SIGTERM is killed, and neither is waited for unbounded.
	 */
	{
		const char *quick[] = { "sh", "-c", "exit 0", NULL };
		const char *stubborn[] = { "sh", "-c", "trap '' TERM; while :; do sleep 1; done",
					   NULL };
		struct spawn end_sp;
		double began;

		memset(&end_sp, 0, sizeof end_sp);
		end_sp.argv = quick;
		CHECK_INT(spawn_start(&end_sp), SYNC_OK);
		CHECK(spawn_wait_for(end_sp.pid, 10, &status));
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		memset(&end_sp, 0, sizeof end_sp);
		end_sp.argv = stubborn;
		CHECK_INT(spawn_start(&end_sp), SYNC_OK);
		CHECK(!spawn_wait_for(end_sp.pid, 0.2, &status));
		began = now_monotonic();
		spawn_end(&end_sp.pid, 0);
		CHECK_INT(end_sp.pid, -1);
		CHECK(now_monotonic() - began < 10);
	}
	/* Within its bounds it is an ordinary capture. */
	{
		const char *argv[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
		struct spawn_limits lim = { .timeout_ms = 30000, .die_with_parent = true };
		struct strbuf cap = STRBUF_INIT;

		strbuf_reset(&err);
		CHECK_INT(spawn_capture_limited(argv, NULL, &status, &cap, &err, &lim), SYNC_OK);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);
		CHECK_STR(cap.buf, "out\n");
		CHECK_STR(err.buf, "err\n");
		strbuf_release(&cap);
	}
	strbuf_release(&err);
	return unit_done("test-spawn");
}
