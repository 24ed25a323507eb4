/*
 * __shape: between an rsync and its ssh, the transfer's rate (shaper.h).
 *
 *   scow-sync __shape BUCKET PROGRAM [ARG...]
 *
 * Runs PROGRAM (the ssh that rsync's -e names, with the host and the
 * remote command rsync adds) with pipes for its stdin and stdout, and
 * copies between them and its own, both ways, taking from the bucket
 * BUCKET the tokens of every byte before it passes: the data rsync sends
 * and what it receives share the transfer's one rate with its other
 * rsyncs and pieces. PROGRAM's stderr is ours. Exits with PROGRAM's
 * status (128 + N when a signal N ended it); a stop signal is passed on
 * to PROGRAM. Internal: rsync runs it, as the supervisor's -e says.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "shaper.h"
#include "util.h"

#define SHAPE_BUF (128 * 1024)

/* One direction: from in to out, through buf, held back until ready_at. */
struct flow {
	int in, out;
	char buf[SHAPE_BUF];
	size_t len, off;
	double ready_at;      /* monotonic seconds: the bytes in buf may go then */
	bool in_done;
};

static volatile sig_atomic_t child_pid;

static void
pass_signal(int sig)
{
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read what may come into f's buffer, and take its tokens. -1: in's error. */
static int
flow_read(struct flow *f, struct shaper *sh)
{
	ssize_t n = read(f->in, f->buf, shaper_chunk(sh, sizeof f->buf));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0) {
		f->in_done = true;
		return 0;
	}
	f->len = (size_t)n;
	f->off = 0;
	f->ready_at = mono() + shaper_take(sh, (size_t)n);
	return 0;
}

/* Write what is ready of f's buffer. -1: out is gone. */
static int
flow_write(struct flow *f)
{
	ssize_t n = write(f->out, f->buf + f->off, f->len - f->off);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	f->off += (size_t)n;
	if (f->off == f->len)
		f->len = f->off = 0;
	return 0;
}

/* Copy both ways until the far end's output ends. */
static void
relay(struct flow *up, struct flow *down, struct shaper *sh)
{
	for (;;) {
		struct pollfd p[2];
		struct flow *f[2] = { up, down };
		double now = mono(), soonest = -1;
		int i, n = 0, slot[2] = { -1, -1 };

		if (down->in_done && down->len == 0)
			return;
		for (i = 0; i < 2; i++) {
			if (f[i]->len == 0 && f[i]->in_done) {
				if (f[i] == up && up->out >= 0) {
					close(up->out);   /* ssh sees the end of its input */
					up->out = -1;
				}
				continue;
			}
			if (f[i]->len && f[i]->ready_at > now) {
				if (soonest < 0 || f[i]->ready_at < soonest)
					soonest = f[i]->ready_at;
				continue;
			}
			p[n].fd = f[i]->len ? f[i]->out : f[i]->in;
			p[n].events = f[i]->len ? POLLOUT : POLLIN;
			slot[i] = n++;
		}
		if (poll(p, (nfds_t)n, soonest < 0 ? -1 :
			 (int)((soonest - now) * 1000) + 1) < 0 && errno != EINTR)
			return;
		for (i = 0; i < 2; i++) {
			if (slot[i] < 0 || p[slot[i]].revents == 0)
				continue;
			if (f[i]->len ? flow_write(f[i]) < 0 : flow_read(f[i], sh) < 0) {
				/* A side that is gone: the other side's end follows. */
				f[i]->in_done = true;
				f[i]->len = 0;
			}
		}
	}
}

int
cmd_shape(int argc, char **argv)
{
	static struct flow up, down;
	struct shaper *sh = NULL;
	int to_child[2], from_child[2], status = 0;
	struct sigaction sa;
	pid_t pid;

	if (argc < 4) {
		fprintf(stderr, "usage: scow-sync __shape BUCKET PROGRAM [ARG...]\n");
		return EXIT_USAGE;
	}
	if (shaper_open(argv[2], &sh) < 0) {
		fprintf(stderr, "scow-sync __shape: cannot open '%s': %s\n", argv[2],
			strerror(errno));
		return 255;
	}
	if (xpipe_cloexec(to_child) < 0 || xpipe_cloexec(from_child) < 0) {
		fprintf(stderr, "scow-sync __shape: cannot make a pipe: %s\n", strerror(errno));
		return 255;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = pass_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "scow-sync __shape: cannot fork: %s\n", strerror(errno));
		return 255;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		if (dup2(to_child[0], STDIN_FILENO) < 0 || dup2(from_child[1], STDOUT_FILENO) < 0)
			_exit(255);
		execvp(argv[3], argv + 3);
		_exit(255);
	}
	child_pid = pid;
	close(to_child[0]);
	close(from_child[1]);
	/*
	 * Each write only after poll says it may: a side that does not read
	 * never holds back the other direction.
	 */
	set_nonblock(STDIN_FILENO);
	set_nonblock(STDOUT_FILENO);
	set_nonblock(to_child[1]);
	set_nonblock(from_child[0]);
	up.in = STDIN_FILENO;
	up.out = to_child[1];
	down.in = from_child[0];
	down.out = STDOUT_FILENO;
	relay(&up, &down, sh);
	if (up.out >= 0)
		close(up.out);
	close(down.in);
	close(STDOUT_FILENO);
	shaper_close(sh);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}
