/* pool: run jobs as child processes, a bounded number at once (see pool.h). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "pool.h"
#include "util.h"

#define POOL_WAIT_MS 1000          /* a turn waits at most this long by default */
#define POOL_GROUP_POLL_MS 20      /* how often a stopped group is looked at */

void
pool_init(struct pool *p, int njobs, const struct pool_ops *ops, void *ctx)
{
	int i, k;

	memset(p, 0, sizeof *p);
	p->jobs = xcalloc((size_t)njobs, sizeof *p->jobs);
	p->njobs = p->limit = njobs;
	p->ops = ops;
	p->ctx = ctx;
	p->wake_fd = -1;
	p->stop_grace = 5.0;
	p->pfd = xcalloc((size_t)njobs * POOL_JOB_FDS + 1, sizeof(struct pollfd));
	for (i = 0; i < njobs; i++) {
		for (k = 0; k < POOL_JOB_PROCS; k++)
			p->jobs[i].pid[k] = -1;
		for (k = 0; k < POOL_JOB_FDS; k++)
			p->jobs[i].fd[k] = -1;
	}
}

void
pool_watch_init(struct pool *p, int n)
{
	int k;

	free(p->watch);
	free(p->watch_out);
	p->watch = xcalloc((size_t)n, sizeof *p->watch);
	p->watch_out = xcalloc((size_t)n, sizeof *p->watch_out);
	p->nwatch = n;
	for (k = 0; k < n; k++)
		p->watch[k] = -1;
	free(p->pfd);
	p->pfd = xcalloc((size_t)p->njobs * POOL_JOB_FDS + 1 + (size_t)n, sizeof(struct pollfd));
}

void
pool_release(struct pool *p)
{
	int i, k;

	for (i = 0; i < p->njobs; i++)
		for (k = 0; k < POOL_JOB_FDS; k++)
			if (p->jobs[i].fd[k] >= 0)
				close(p->jobs[i].fd[k]);
	free(p->jobs);
	free(p->pfd);
	free(p->watch);
	free(p->watch_out);
	p->jobs = NULL;
	p->pfd = NULL;
	p->watch = NULL;
	p->watch_out = NULL;
	p->nwatch = 0;
	p->njobs = 0;
}

int
pool_busy(const struct pool *p)
{
	int i, n = 0;

	for (i = 0; i < p->njobs; i++)
		n += p->jobs[i].busy;
	return n;
}

/*
 * Signal slot's job: SIGKILL to its group, any other to the process
 * leading it. grace_over: a SIGKILL because it did not end in stop_grace.
 */
static void
pool_signal(struct pool *p, int slot, int sig, bool grace_over)
{
	struct pool_job *job = &p->jobs[slot];

	if (job->busy && !job->ended && job->remote) {
		p->ops->signal_remote(p->ctx, slot, sig, grace_over);
		return;
	}
	if (!job->busy || job->ended || job->pid[0] <= 0)
		return;
	if (grace_over && p->ops->killed)
		p->ops->killed(p->ctx, slot, job);
	kill(sig == SIGKILL ? -job->pid[0] : job->pid[0], sig);
}

void
pool_stop_job(struct pool *p, int slot, int sig)
{
	p->jobs[slot].stopped = true;
	pool_signal(p, slot, sig, false);
}

void
pool_stop(struct pool *p)
{
	int i;

	if (p->stopping)
		return;
	p->stopping = true;
	p->stop_deadline = now_monotonic() + p->stop_grace;
	for (i = 0; i < p->njobs; i++)
		pool_signal(p, i, SIGTERM, false);
}

/* Read what slot's job has for us, to the end or until it would block. */
static void
pool_drain(struct pool *p, int slot)
{
	struct pool_job *job = &p->jobs[slot];
	char buf[16384];
	ssize_t n;
	int k;

	for (k = 0; k < POOL_JOB_FDS; k++) {
		while (job->fd[k] >= 0) {
			n = read(job->fd[k], buf, sizeof buf);
			if (n > 0) {
				p->ops->output(p->ctx, slot, k, buf, (size_t)n);
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				break;
			/* Its end (or an error, taken as one). */
			p->ops->output(p->ctx, slot, k, buf, 0);
			close(job->fd[k]);
			job->fd[k] = -1;
		}
	}
}

/* Reap exited children: a job's, or (reaped callback) the caller's own. */
static void
pool_reap(struct pool *p)
{
	int status, i, k;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		bool ours = false;

		for (i = 0; i < p->njobs && !ours; i++) {
			struct pool_job *job = &p->jobs[i];

			if (!job->busy)
				continue;
			for (k = 0; k < POOL_JOB_PROCS; k++) {
				if (job->pid[k] != pid || job->exited[k])
					continue;
				job->exited[k] = true;
				job->status[k] = status;
				ours = true;
			}
			if (!ours)
				continue;
			/* A job is over when every process of it is. */
			job->ended = true;
			for (k = 0; k < POOL_JOB_PROCS; k++)
				job->ended &= job->pid[k] <= 0 || job->exited[k];
		}
		if (!ours && p->ops->reaped)
			p->ops->reaped(p->ctx, pid, status);
	}
}

void
pool_wait_group(struct pool *p, pid_t pgid)
{
	double deadline = now_monotonic() + p->stop_grace;

	/* A remote job's: nothing of it is here. */
	if (pgid <= 0)
		return;
	while (kill(-pgid, 0) == 0) {
		if (now_monotonic() > deadline) {
			kill(-pgid, SIGKILL);
			break;
		}
		poll(NULL, 0, POOL_GROUP_POLL_MS);
	}
}

/* slot's job has ended: read the rest of its output, and hand it back. */
static int
pool_finish(struct pool *p, int slot)
{
	struct pool_job *job = &p->jobs[slot];
	int k, rc;

	pool_drain(p, slot);
	for (k = 0; k < POOL_JOB_FDS; k++) {
		if (job->fd[k] >= 0) {
			close(job->fd[k]);
			job->fd[k] = -1;
		}
	}
	if ((job->stopped || p->stopping) && !job->remote)
		pool_wait_group(p, job->pid[0]);
	job->busy = false;
	rc = p->ops->finished(p->ctx, slot, job);
	for (k = 0; k < POOL_JOB_PROCS; k++) {
		job->pid[k] = -1;
		job->exited[k] = false;
	}
	job->remote = false;
	return rc;
}

void
pool_remote_output(struct pool *p, int slot, int k, const char *buf, size_t n)
{
	if (n > 0)
		p->ops->output(p->ctx, slot, k, buf, n);
}

void
pool_remote_end(struct pool *p, int slot, int status, int status2)
{
	struct pool_job *job = &p->jobs[slot];
	int k;

	if (!job->busy || !job->remote || job->ended)
		return;
	for (k = 0; k < POOL_JOB_FDS; k++)
		p->ops->output(p->ctx, slot, k, "", 0);
	job->status[0] = status;
	job->exited[0] = true;
	job->status[1] = status2 < 0 ? 0 : status2;
	job->exited[1] = status2 >= 0;
	job->ended = true;
}

/*
 * Poll the caller's descriptors (and the wake pipe) for up to timeout ms,
 * and tell it which are ready; k == -1: a turn of its own, for its timers.
 * Used where the pool waits without its main loop.
 */
static void
pool_poll_watch(struct pool *p, int timeout)
{
	struct pollfd *pfd;
	int *idx, n = 0, k;

	if (!p->ops->watch_ready || p->nwatch == 0) {
		poll(NULL, 0, timeout);
		return;
	}
	pfd = xcalloc((size_t)p->nwatch, sizeof *pfd);
	idx = xcalloc((size_t)p->nwatch, sizeof *idx);
	for (k = 0; k < p->nwatch; k++) {
		if (p->watch[k] < 0)
			continue;
		pfd[n].fd = p->watch[k];
		pfd[n].events = p->watch_out[k] ? POLLOUT : POLLIN;
		pfd[n].revents = 0;
		idx[n++] = k;
	}
	if (poll(pfd, (nfds_t)n, timeout) > 0)
		for (k = 0; k < n; k++)
			if (pfd[k].revents)
				p->ops->watch_ready(p->ctx, idx[k]);
	p->ops->watch_ready(p->ctx, -1);
	free(pfd);
	free(idx);
}

void
pool_settle_stopped(struct pool *p)
{
	double deadline = now_monotonic() + p->stop_grace;
	bool killed = false, left;
	int i;

	for (;;) {
		left = false;
		for (i = 0; i < p->njobs; i++) {
			struct pool_job *job = &p->jobs[i];

			if (job->busy && job->stopped && !job->ended) {
				left = true;
				if (!killed && now_monotonic() > deadline)
					pool_signal(p, i, SIGKILL, true);
			}
		}
		if (!left)
			break;
		killed = now_monotonic() > deadline;
		for (i = 0; i < p->njobs; i++)
			if (p->jobs[i].busy)
				pool_drain(p, i);
		pool_reap(p);
		pool_poll_watch(p, POOL_GROUP_POLL_MS);
	}
	for (i = 0; i < p->njobs; i++) {
		struct pool_job *job = &p->jobs[i];

		if (job->busy && job->stopped && job->ended)
			pool_finish(p, i);
	}
}

/* Offer the free slots, in order, until a start says none is due. */
static int
pool_fill(struct pool *p)
{
	int i, k, started;

	for (i = 0; i < p->limit && i < p->njobs && !p->stopping; i++) {
		struct pool_job *job = &p->jobs[i];

		if (job->busy)
			continue;
		for (k = 0; k < POOL_JOB_PROCS; k++) {
			job->pid[k] = -1;
			job->exited[k] = false;
			job->status[k] = 0;
		}
		for (k = 0; k < POOL_JOB_FDS; k++)
			job->fd[k] = -1;
		job->stopped = job->ended = job->remote = false;
		started = p->ops->start(p->ctx, i, job);
		if (started < 0) {
			pool_stop(p);
			return started;
		}
		if (started == 0)
			break;
		if (started == POOL_SKIP)
			continue;
		job->busy = true;
		for (k = 0; k < POOL_JOB_FDS; k++)
			if (job->fd[k] >= 0)
				set_nonblock(job->fd[k]);
	}
	return 0;
}

int
pool_run(struct pool *p)
{
	struct pollfd *pfd = p->pfd;
	int rc = 0, i, k;

	p->stopping = false;
	for (;;) {
		int nfds = 0, timeout = POOL_WAIT_MS, r, watch_at;

		if (p->ops->turn && (timeout = p->ops->turn(p->ctx, p)) == POOL_END)
			break;
		if (p->stopping && now_monotonic() > p->stop_deadline)
			for (i = 0; i < p->njobs; i++)
				pool_signal(p, i, SIGKILL, true);
		if ((r = pool_fill(p)) < 0 && rc == 0)
			rc = r;
		if (pool_busy(p) == 0 && (p->stopping || p->ops->idle_done(p->ctx)))
			break;

		if (p->wake_fd >= 0) {
			pfd[nfds].fd = p->wake_fd;
			pfd[nfds++].events = POLLIN;
		}
		watch_at = nfds;
		for (k = 0; k < p->nwatch; k++) {
			pfd[nfds].fd = p->watch[k];   /* poll skips one below 0 */
			pfd[nfds].revents = 0;
			pfd[nfds++].events = p->watch_out[k] ? POLLOUT : POLLIN;
		}
		for (i = 0; i < p->njobs; i++) {
			if (!p->jobs[i].busy)
				continue;
			for (k = 0; k < POOL_JOB_FDS; k++) {
				if (p->jobs[i].fd[k] < 0)
					continue;
				pfd[nfds].fd = p->jobs[i].fd[k];
				pfd[nfds++].events = POLLIN;
			}
		}
		if (poll(pfd, (nfds_t)nfds, timeout < 0 ? 0 : timeout) < 0 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			rc = SYNC_ERR_SYSTEM;
			break;
		}
		if (p->wake_fd >= 0 && (pfd[0].revents & POLLIN)) {
			char buf[64];

			while (read(p->wake_fd, buf, sizeof buf) > 0)
				;
		}
		if (p->ops->watch_ready) {
			for (k = 0; k < p->nwatch; k++)
				if (p->watch[k] >= 0 && pfd[watch_at + k].revents)
					p->ops->watch_ready(p->ctx, k);
			p->ops->watch_ready(p->ctx, -1);
		}
		for (i = 0; i < p->njobs; i++)
			if (p->jobs[i].busy)
				pool_drain(p, i);
		pool_reap(p);
		for (i = 0; i < p->njobs; i++)
			if (p->jobs[i].busy && p->jobs[i].ended && (r = pool_finish(p, i)) < 0 &&
			    rc == 0)
				rc = r;
	}
	return rc;
}
