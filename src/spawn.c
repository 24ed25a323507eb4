/* spawn: start children from argv arrays (see spawn.h). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <unistd.h>

#include "spawn.h"
#include "util.h"

extern char **environ;

/* Build the child's environment: ours, with env_set replacing or adding. */
static char **
build_env(const char *const *env_set, struct strvec *store)
{
	char **e;
	size_t i;

	for (e = environ; *e; e++) {
		bool replaced = false;

		for (i = 0; env_set && env_set[i]; i++) {
			size_t n = strcspn(env_set[i], "=");

			if (strncmp(*e, env_set[i], n) == 0 && (*e)[n] == '=') {
				replaced = true;
				break;
			}
		}
		if (!replaced)
			strvec_push(store, *e);
	}
	for (i = 0; env_set && env_set[i]; i++)
		strvec_push(store, env_set[i]);
	return store->v;
}

char *
spawn_resolve(const char *prog)
{
	const char *path = getenv("PATH"), *p, *q;
	struct strbuf sb = STRBUF_INIT;
	int last_errno = ENOENT;

	if (strchr(prog, '/')) {
		if (access(prog, X_OK) < 0)
			return NULL;
		return xstrdup(prog);
	}
	if (path == NULL || *path == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; ; p = q + 1) {
		q = strchr(p, ':');
		if (q == NULL)
			q = p + strlen(p);
		strbuf_reset(&sb);
		if (q == p)
			strbuf_addch(&sb, '.');
		else
			strbuf_add(&sb, p, (size_t)(q - p));
		strbuf_addch(&sb, '/');
		strbuf_addstr(&sb, prog);
		if (access(sb.buf, X_OK) == 0)
			return strbuf_detach(&sb, NULL);
		if (errno != ENOENT && errno != ENOTDIR)
			last_errno = errno;
		if (*q == '\0')
			break;
	}
	strbuf_release(&sb);
	errno = last_errno;
	return NULL;
}

/* Close both ends of a pipe that are still open. */
static void
close_pair(int fds[2])
{
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	fds[0] = fds[1] = -1;
}

/* In the child: put fd on target, or /dev/null when fd < 0. Signal-safe. */
static int
child_dup(int fd, int target, int devnull)
{
	int src = fd >= 0 ? fd : devnull;

	if (src == target) {
		int flags = fcntl(src, F_GETFD);

		return fcntl(src, F_SETFD, flags & ~FD_CLOEXEC);
	}
	return dup2(src, target) < 0 ? -1 : 0;
}

int
spawn_start(struct spawn *sp)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int report[2] = { -1, -1 }, devnull = -1, child_errno = 0;
	struct strvec env = STRVEC_INIT;
	char **envp, *program;
	ssize_t n;
	pid_t pid, parent;
	int rc = SYNC_ERR_SYSTEM, saved;

	sp->pid = -1;
	sp->in_fd = sp->out_fd = sp->err_fd = -1;
	if ((program = spawn_resolve(sp->argv[0])) == NULL)
		return SYNC_ERR_SYSTEM;
	/* Found from here: in another working directory it must be absolute. */
	if (sp->cwd && program[0] != '/') {
		char *abs = realpath(program, NULL);

		free(program);
		if ((program = abs) == NULL)
			return SYNC_ERR_SYSTEM;
	}
	envp = build_env(sp->env_set, &env);
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		goto out;
	if ((sp->pipe_stdin && xpipe_cloexec(in) < 0) ||
	    (sp->pipe_stdout && xpipe_cloexec(out) < 0) ||
	    (sp->pipe_stderr && xpipe_cloexec(err) < 0) ||
	    xpipe_cloexec(report) < 0)
		goto out;

	parent = getpid();
	pid = fork();
	if (pid < 0)
		goto out;
	if (pid == 0) {
		/* Only async-signal-safe calls from here to exec. */
		struct sigaction sa;
		sigset_t none;
		int s;

		memset(&sa, 0, sizeof sa);
		sa.sa_handler = SIG_DFL;
		for (s = 1; s < NSIG; s++)
			sigaction(s, &sa, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (sp->join_pgroup > 0)
			setpgid(0, sp->join_pgroup);
		else if (sp->new_pgroup)
			setpgid(0, 0);
#ifdef PR_SET_PDEATHSIG
		/* A parent killed outright must not leave us running. */
		if (sp->die_with_parent &&
		    (prctl(PR_SET_PDEATHSIG, sp->death_signal ? sp->death_signal : SIGTERM) < 0 ||
		     getppid() != parent))
			_exit(127);
#endif
		if (sp->cwd && chdir(sp->cwd) < 0)
			goto child_fail;
		if (child_dup(sp->stdin_fd > 2 ? sp->stdin_fd : in[0], 0, devnull) < 0 ||
		    child_dup(sp->stdout_fd > 2 ? sp->stdout_fd : out[1], 1, devnull) < 0 ||
		    child_dup(err[1], 2, devnull) < 0)
			goto child_fail;
		/* Everything else we hold is close-on-exec. */
		execve(program, (char *const *)sp->argv, envp);
child_fail:
		child_errno = errno;
		(void)!write(report[1], &child_errno, sizeof child_errno);
		_exit(127);
	}

	close(report[1]);
	report[1] = -1;
	do
		n = read(report[0], &child_errno, sizeof child_errno);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof child_errno) {
		/* exec failed: reap the child and hand its errno to the caller. */
		spawn_wait(pid, NULL);
		errno = child_errno;
		goto out;
	}
	sp->pid = pid;
	sp->in_fd = in[1];
	in[1] = -1;
	sp->out_fd = out[0];
	out[0] = -1;
	sp->err_fd = err[0];
	err[0] = -1;
	rc = SYNC_OK;
out:
	saved = errno;
	close_pair(in);
	close_pair(out);
	close_pair(err);
	close_pair(report);
	if (devnull >= 0)
		close(devnull);
	strvec_clear(&env);
	free(program);
	errno = saved;
	return rc;
}

void
spawn_close_fds(struct spawn *sp)
{
	if (sp->in_fd >= 0)
		close(sp->in_fd);
	if (sp->out_fd >= 0)
		close(sp->out_fd);
	if (sp->err_fd >= 0)
		close(sp->err_fd);
	sp->in_fd = sp->out_fd = sp->err_fd = -1;
}

int
spawn_run(const char *const *argv, int *status, struct strbuf *err_out)
{
	return spawn_capture(argv, status, NULL, err_out);
}

int
spawn_capture(const char *const *argv, int *status, struct strbuf *out,
	      struct strbuf *err_out)
{
	return spawn_capture_limited(argv, NULL, status, out, err_out, NULL);
}

#define SPAWN_DRAIN_MS 1000   /* for the output of a bounded child that has ended */

/* Milliseconds on the monotonic clock. */
static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A close-on-exec descriptor that reads data from its start; -1 with errno set. */
static int
input_fd(const struct strbuf *data)
{
	int fd, saved;

#ifdef MFD_CLOEXEC
	fd = memfd_create("scow-sync-input", MFD_CLOEXEC);
#else
	{
		FILE *f = tmpfile();

		fd = f ? fcntl(fileno(f), F_DUPFD_CLOEXEC, 3) : -1;
		if (f)
			fclose(f);
	}
#endif
	if (fd < 0)
		return -1;
	if (write_all(fd, data->buf, data->len) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/*
 * When the group leader pid has ended, SIGKILL the rest of its group. It
 * is left unreaped (WNOWAIT) meanwhile, so that its pid, the group's id,
 * cannot have been given to another process.
 */
static void
end_group_of_ended(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
		kill(-pid, SIGKILL);
}

int
spawn_capture_limited(const char *const *argv, const struct strbuf *input, int *status,
		      struct strbuf *out, struct strbuf *err_out, const struct spawn_limits *lim)
{
	struct strbuf *sinks[2] = { out, err_out };
	struct pollfd pfd[2];
	struct spawn sp;
	char buf[16384];
	int64_t deadline = -1, kill_at = -1, drain_until = 0, now;
	ssize_t n;
	pid_t r;
	int rc, i, st, in = -1, naps = 0;
	bool ended = false, reaped = false, flowing = false;
	size_t keep[2] = { lim && lim->out_max ? lim->out_max : SPAWN_CAPTURE_MAX,
			   SPAWN_CAPTURE_MAX };

	memset(&sp, 0, sizeof sp);
	sp.argv = argv;
	sp.pipe_stdout = out != NULL;
	sp.pipe_stderr = true;
	if (lim) {
		/* A group of its own: what it started (a ProxyCommand) ends with it. */
		sp.new_pgroup = true;
		sp.die_with_parent = lim->die_with_parent;
		if (lim->timeout_ms > 0)
			deadline = now_ms() + lim->timeout_ms;
		else if (lim->idle_ms > 0)
			deadline = now_ms() + lim->idle_ms;
	}
	if (input && (in = sp.stdin_fd = input_fd(input)) < 0)
		return SYNC_ERR_SYSTEM;
	rc = spawn_start(&sp);
	if (in >= 0) {
		int saved = errno;

		close(in);
		errno = saved;
	}
	if (rc < 0)
		return rc;
	pfd[0].fd = sp.out_fd;
	pfd[1].fd = sp.err_fd;
	/* Both at once: a child blocked on a full pipe we do not read would hang. */
	for (;;) {
		if (lim) {
			now = now_ms();
			if (!ended && !reaped && ((deadline >= 0 && now >= deadline) ||
						  (lim->stop && *lim->stop))) {
				kill(-sp.pid, SIGTERM);
				ended = true;
				kill_at = now + SPAWN_KILL_GRACE_MS;
			}
			if (kill_at >= 0 && now >= kill_at) {
				kill(-sp.pid, SIGKILL);
				kill_at = -1;
			}
		}
		if (pfd[0].fd < 0 && pfd[1].fd < 0 && !lim)
			break;
		/*
		 * Bounded, it is the child's end that counts, not the pipes':
		 * they may close before it ends, or stay open after (ssh hands
		 * them to its ControlMaster, which holds them while the remote
		 * command runs, also after its client was killed). What is
		 * still coming when it ends gets a moment.
		 */
		if (lim && !reaped) {
			if (lim->end_group)
				end_group_of_ended(sp.pid);
			r = waitpid(sp.pid, &st, WNOHANG);
			if (r == sp.pid) {
				reaped = true;
				drain_until = now_ms() + (ended ? 0 : SPAWN_DRAIN_MS);
			} else if (r < 0 && errno != EINTR)
				break;
		}
		/* Past the moment, only while what it wrote before it ended still flows. */
		if (reaped && ((pfd[0].fd < 0 && pfd[1].fd < 0) ||
			       (now_ms() >= drain_until && !flowing)))
			break;
		/*
		 * Its pipes closed and it is not reaped yet: it is ending, a
		 * moment from now. Looked for every 0.1 ms at first: the first
		 * mkdir's time judges the link, and a 1 ms poll added 1-2 ms.
		 */
		if (lim && !reaped && pfd[0].fd < 0 && pfd[1].fd < 0 && naps < 100) {
			struct timespec nap = { 0, 100000 };

			nanosleep(&nap, NULL);
			naps++;
			continue;
		}
		pfd[0].events = pfd[1].events = POLLIN;
		/* Short waits when bounded: a signal just before poll is seen soon. */
		if (poll(pfd, 2, lim ? 100 : -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		flowing = false;
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			n = read(pfd[i].fd, buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				pfd[i].fd = -1;
				continue;
			}
			/* Idle-bounded: what it says shows it is moving. */
			if (lim && lim->timeout_ms <= 0 && lim->idle_ms > 0 && !ended)
				deadline = now_ms() + lim->idle_ms;
			flowing = true;
			if (sinks[i] && sinks[i]->len < keep[i])
				strbuf_add(sinks[i], buf, (size_t)n);
		}
	}
	spawn_close_fds(&sp);
	if (reaped) {
		if (status)
			*status = st;
		rc = SYNC_OK;
	} else {
		if (lim && ended)
			kill(-sp.pid, SIGKILL);
		rc = spawn_wait(sp.pid, status);
	}
	return rc == SYNC_OK && ended ? SYNC_ERR_TIMEOUT : rc;
}

int
spawn_wait(pid_t pid, int *status)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return SYNC_ERR_SYSTEM;
	}
	if (status)
		*status = st;
	return SYNC_OK;
}

bool
spawn_wait_for(pid_t pid, double seconds, int *status)
{
	double deadline = now_monotonic() + seconds;
	int st = -1;

	if (status)
		*status = -1;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid && status)
			*status = st;
		if (r == pid || (r < 0 && errno != EINTR))
			return true;
		if (now_monotonic() > deadline)
			return false;
		poll(NULL, 0, 20);
	}
}

void
spawn_end(pid_t *pid, double grace)
{
	if (*pid <= 0)
		return;
	if (!spawn_wait_for(*pid, grace, NULL)) {
		kill(*pid, SIGTERM);
		/* A process that does not end on SIGTERM within 2 s is not waited for longer. */
		if (!spawn_wait_for(*pid, 2, NULL)) {
			kill(*pid, SIGKILL);
			spawn_wait_for(*pid, 5, NULL);
		}
	}
	*pid = -1;
}

const char *
spawn_status_text(int status)
{
	static char buf[64];

	if (WIFEXITED(status))
		snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, sizeof buf, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, sizeof buf, "status 0x%x", (unsigned)status);
	return buf;
}
