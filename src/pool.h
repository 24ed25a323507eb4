/*
 * pool: run jobs as child processes, a bounded number at once, and tell
 * the caller what they print and when they end.
 *
 * It knows nothing of what the jobs are (git's run_processes_parallel is
 * the model). The caller starts a job's processes on a free slot and hands
 * the pool their pids and the descriptors to read; the pool polls and
 * reads them, reaps the processes, stops the jobs when asked, and calls
 * back:
 *   start     a slot is free: start the next job in it, or say none is due;
 *   output    bytes one of a job's descriptors gave (none: it has ended);
 *   finished  every process of a job has exited and its output is read;
 *   reaped    a child that is none of the jobs' has exited;
 *   turn      once before each turn: stop the pool, end the run, or say
 *             how long the turn may wait for news.
 * The supervisor's jobs are rsyncs and the pieces of large files
 * (sup-pool.c); tests/unit/test-pool.c runs sh -c children.
 *
 * A job may also run elsewhere (a node of a Slurm allocation, whose
 * worker the caller talks to over descriptors of its own): a remote job
 * has no process here. The pool polls the caller's descriptors too
 * (watch), the caller hands the job's output to pool_remote_output and
 * its end to pool_remote_end, and a stop is the caller's to carry
 * (signal_remote).
 */
#ifndef SCOW_SYNC_POOL_H
#define SCOW_SYNC_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define POOL_JOB_PROCS 2   /* processes of one job: the one that leads its group, a helper */
#define POOL_JOB_FDS 3     /* descriptors of one job the pool reads */
#define POOL_END (-1)      /* turn: end the run now */
#define POOL_SKIP 2        /* start: this slot takes nothing now; offer the next */

/* One slot of the pool, and the job running in it. */
struct pool_job {
	bool busy;                       /* a job runs in it */
	pid_t pid[POOL_JOB_PROCS];       /* -1: none; pid[0] leads the job's process group */
	int status[POOL_JOB_PROCS];      /* the wait status of each, once it has exited */
	bool exited[POOL_JOB_PROCS];
	int fd[POOL_JOB_FDS];            /* -1: none, or read to its end (then closed) */
	bool stopped;                    /* stopped by the caller (pool_stop_job) */
	bool ended;                      /* every process of it has exited */
	bool remote;                     /* it runs elsewhere: no process here (see above) */
};

struct pool;

struct pool_ops {
	/*
	 * Start the next job in free slot `slot`: fill job->pid and job->fd,
	 * or set job->remote (the rest is the pool's). 1: started; 0: none is
	 * due now (no more slots are offered this turn); POOL_SKIP: not in
	 * this slot, the next is offered; below 0: failed, the pool stops.
	 */
	int (*start)(void *ctx, int slot, struct pool_job *job);
	/* n bytes that descriptor k of slot's job gave; n == 0: it has ended. */
	void (*output)(void *ctx, int slot, int k, const char *buf, size_t n);
	/* Every process of slot's job has exited; below 0: a failure the run returns. */
	int (*finished)(void *ctx, int slot, struct pool_job *job);
	/* A child that is none of the jobs' has exited (may be NULL). */
	void (*reaped)(void *ctx, pid_t pid, int status);
	/*
	 * Before each turn (may be NULL): the most milliseconds the turn may
	 * wait for news, or POOL_END. May call pool_stop and pool_stop_job.
	 */
	int (*turn)(void *ctx, struct pool *p);
	/* With no job running and the pool not stopping: is there nothing left to start? */
	bool (*idle_done)(void *ctx);
	/* slot's job did not end within stop_grace and its group is killed (may be NULL). */
	void (*killed)(void *ctx, int slot, struct pool_job *job);
	/*
	 * Send sig to slot's remote job (SIGKILL: to all of it). grace_over:
	 * it did not end in stop_grace after a SIGTERM; the caller ends it
	 * (pool_remote_end) when it cannot be reached. May be NULL when no
	 * job is remote.
	 */
	void (*signal_remote)(void *ctx, int slot, int sig, bool grace_over);
	/*
	 * The caller's descriptor watch[k] is ready (readable, or writable
	 * where watch_out[k]; or at its end); then, once a turn, k == -1: a
	 * moment for the caller's timers (may be NULL).
	 */
	void (*watch_ready)(void *ctx, int k);
};

struct pool {
	struct pool_job *jobs;
	int njobs;
	int limit;                 /* jobs at once at most: slots 0 .. limit-1 are offered */
	const struct pool_ops *ops;
	void *ctx;
	int wake_fd;               /* polled too, and drained (a signal handler's pipe); -1: none */
	/*
	 * The caller's own descriptors, polled too (watch_ready): nwatch of
	 * them (pool_watch_init), each -1 when none; watch_out: for writing.
	 */
	int *watch;
	bool *watch_out;
	int nwatch;
	double stop_grace;         /* seconds from SIGTERM to SIGKILL when the pool stops */
	bool stopping;
	double stop_deadline;
	void *pfd;                 /* the poll set, kept between turns */
};

void pool_init(struct pool *p, int njobs, const struct pool_ops *ops, void *ctx);
void pool_release(struct pool *p);
/* Room for n descriptors of the caller's own in watch[], each -1 (none) for now. */
void pool_watch_init(struct pool *p, int n);

/*
 * Run until no job is running and either the pool is stopping or
 * idle_done says there is nothing left (or turn says POOL_END). Returns 0,
 * or the first code below 0 from start or finished, or from poll.
 */
int pool_run(struct pool *p);

/*
 * Stop every job: SIGTERM to the process leading each, SIGKILL to their
 * whole groups after stop_grace; no job starts after it in this run.
 */
void pool_stop(struct pool *p);

/*
 * Stop one job: SIGTERM goes to the process that leads it alone (so that
 * it can end its own helpers in order), SIGKILL to the whole group. It is
 * marked stopped.
 */
void pool_stop_job(struct pool *p, int slot, int sig);

/*
 * Wait (boundedly, stop_grace, then SIGKILL) until every process of group
 * pgid is gone: a job's leader has exited, but what it started may still
 * be writing. The pool does it for a job stopped, or stopped with it.
 */
void pool_wait_group(struct pool *p, pid_t pgid);

/*
 * slot's remote job gave n bytes on its descriptor k (the output
 * callback's, at once), or ended with wait status `status` (and status2,
 * its second process's, when it has one; -1: none): its descriptors are
 * at their end (output with n == 0), and it is finished at the end of
 * this turn.
 */
void pool_remote_output(struct pool *p, int slot, int k, const char *buf, size_t n);
void pool_remote_end(struct pool *p, int slot, int status, int status2);

/* Jobs running. */
int pool_busy(const struct pool *p);

/*
 * Wait (boundedly, stop_grace) for the stopped jobs to end, reading their
 * output and reaping, then finish them (the finished callback). For a
 * caller that stopped jobs and must know they have let go.
 */
void pool_settle_stopped(struct pool *p);

#endif
