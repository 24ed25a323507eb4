/*
 * Unit tests for the process pool (pool.h) over plain sh -c children: it
 * runs no more jobs at once than its limit, hands back every byte and exit
 * status, waits for a job's helper too, reaps children that are not jobs,
 * stops jobs (SIGTERM, then SIGKILL to their group), and ends when asked.
 */
#include "config.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pool.h"
#include "spawn.h"
#include "unit.h"
#include "util.h"

#define JOBS_MAX 16

/* What a test asks of the pool, and what the pool told it. */
struct run {
	const char *cmds[JOBS_MAX];       /* the jobs, in the order they start */
	const char *helpers[JOBS_MAX];    /* a second process of the same job, or NULL */
	int ncmds, next;
	int fail_at;                      /* start fails for this job (-1: never) */
	int busy_max;                     /* the most jobs running at once, seen by start */
	struct pool *pool;
	struct strbuf out[JOBS_MAX];      /* job's stdout and stderr, "o:" and "e:" lines */
	int job_of_slot[JOBS_MAX];
	int status[JOBS_MAX], helper_status[JOBS_MAX];
	bool helper_exited[JOBS_MAX];
	bool finished[JOBS_MAX], stopped[JOBS_MAX], killed[JOBS_MAX];
	bool group_gone[JOBS_MAX];        /* at finished: nothing of the job's group is left */
	int ends[JOBS_MAX];               /* output of descriptor k ended */
	pid_t stranger;                   /* a child that is no job */
	int stranger_status;
	bool stranger_seen;
	int turns, end_after;             /* turn: POOL_END after this many (0: never) */
	int stop_at_turn;                 /* turn: pool_stop at this one (0: never) */
};

static int
start_sh(const char *cmd, struct spawn *sp, bool pipes, pid_t join)
{
	static const char *argv[] = { "sh", "-c", NULL, NULL };

	argv[2] = cmd;
	memset(sp, 0, sizeof *sp);
	sp->argv = argv;
	sp->pipe_stdout = sp->pipe_stderr = pipes;
	sp->new_pgroup = join == 0;
	sp->join_pgroup = join;
	return spawn_start(sp);
}

static int
on_start(void *ctx, int slot, struct pool_job *job)
{
	struct run *r = ctx;
	struct spawn sp, helper;
	int n = r->next;

	if (n >= r->ncmds)
		return 0;
	if (n == r->fail_at)
		return SYNC_ERR_SYSTEM;
	if (start_sh(r->cmds[n], &sp, true, 0) < 0)
		return SYNC_ERR_SYSTEM;
	job->pid[0] = sp.pid;
	job->fd[0] = sp.out_fd;
	job->fd[1] = sp.err_fd;
	if (r->helpers[n]) {
		if (start_sh(r->helpers[n], &helper, false, sp.pid) < 0)
			return SYNC_ERR_SYSTEM;
		job->pid[1] = helper.pid;
	}
	r->job_of_slot[slot] = n;
	r->next++;
	/* This one, and those running. */
	if (pool_busy(r->pool) + 1 > r->busy_max)
		r->busy_max = pool_busy(r->pool) + 1;
	return 1;
}

static void
on_output(void *ctx, int slot, int k, const char *buf, size_t n)
{
	struct run *r = ctx;
	int job = r->job_of_slot[slot];

	if (n == 0) {
		r->ends[job]++;
		return;
	}
	strbuf_addstr(&r->out[job], k == 0 ? "o:" : "e:");
	strbuf_add(&r->out[job], buf, n);
}

/* Is a process of group pgid still running (not a zombie)? Read from /proc. */
static bool
group_alive(pid_t pgid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool alive = false;

	while (d && !alive && (e = readdir(d)) != NULL) {
		char path[288], buf[512], *close_paren, state;
		int pgrp;
		FILE *f;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		/* pid (comm) state ppid pgrp: comm may hold spaces, so after its ')'. */
		if (fgets(buf, sizeof buf, f) && (close_paren = strrchr(buf, ')')) &&
		    sscanf(close_paren + 1, " %c %*d %d", &state, &pgrp) == 2)
			alive = pgrp == pgid && state != 'Z' && state != 'X';
		fclose(f);
	}
	if (d)
		closedir(d);
	return alive;
}

static int
on_finished(void *ctx, int slot, struct pool_job *job)
{
	struct run *r = ctx;
	int n = r->job_of_slot[slot], k;

	r->finished[n] = true;
	r->stopped[n] = job->stopped;
	/* Killed a moment ago, a process may take a few milliseconds to be gone. */
	for (k = 0; k < 50 && group_alive(job->pid[0]); k++)
		usleep(10000);
	r->group_gone[n] = k < 50;
	r->status[n] = job->status[0];
	r->helper_exited[n] = job->pid[1] > 0 && job->exited[1];
	r->helper_status[n] = job->status[1];
	return WIFEXITED(job->status[0]) && WEXITSTATUS(job->status[0]) == 99 ? -99 : 0;
}

static void
on_reaped(void *ctx, pid_t pid, int status)
{
	struct run *r = ctx;

	if (pid == r->stranger) {
		r->stranger_seen = true;
		r->stranger_status = status;
	}
}

static int
on_turn(void *ctx, struct pool *p)
{
	struct run *r = ctx;

	r->turns++;
	if (r->stop_at_turn && r->turns == r->stop_at_turn)
		pool_stop(p);
	if (r->end_after && r->turns > r->end_after)
		return POOL_END;
	return 100;
}

static bool
on_idle_done(void *ctx)
{
	struct run *r = ctx;

	return r->next >= r->ncmds;
}

static void
on_killed(void *ctx, int slot, struct pool_job *job)
{
	struct run *r = ctx;

	(void)job;
	r->killed[r->job_of_slot[slot]] = true;
}

static const struct pool_ops ops = {
	.start = on_start,
	.output = on_output,
	.finished = on_finished,
	.reaped = on_reaped,
	.turn = on_turn,
	.idle_done = on_idle_done,
	.killed = on_killed,
};

static void
run_init(struct run *r, struct pool *p, int slots)
{
	int i;

	memset(r, 0, sizeof *r);
	r->fail_at = -1;
	for (i = 0; i < JOBS_MAX; i++)
		strbuf_init(&r->out[i], 0);
	pool_init(p, slots, &ops, r);
	r->pool = p;
}

static void
run_release(struct run *r)
{
	int i;

	for (i = 0; i < JOBS_MAX; i++)
		strbuf_release(&r->out[i]);
	pool_release(r->pool);
}

static size_t
count_of(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

static bool
exited_with(int status, int code)
{
	return WIFEXITED(status) && WEXITSTATUS(status) == code;
}

/* Six jobs through two slots: each runs, says its words, and ends with its code. */
static void
check_limit_output_status(void)
{
	struct pool p;
	struct run r;
	int i;

	run_init(&r, &p, 3);
	p.limit = 2;
	r.cmds[0] = "echo a; echo b >&2; sleep 0.2; exit 0";
	r.cmds[1] = "printf 'no newline'; exit 3";
	r.cmds[2] = "sleep 0.1; echo c";
	r.cmds[3] = "head -c 100000 /dev/zero | tr '\\0' x; exit 5";
	r.cmds[4] = "exit 7";
	r.cmds[5] = "echo last";
	r.ncmds = 6;
	CHECK_INT(pool_run(&p), 0);
	CHECK_INT(r.busy_max, 2);
	for (i = 0; i < r.ncmds; i++) {
		CHECK(r.finished[i]);
		CHECK(!r.stopped[i]);
		CHECK_INT(r.ends[i], 2);      /* stdout and stderr, each to its end */
	}
	CHECK(exited_with(r.status[0], 0));
	CHECK(exited_with(r.status[1], 3));
	CHECK(exited_with(r.status[3], 5));
	CHECK(exited_with(r.status[4], 7));
	CHECK_STR(r.out[1].buf, "o:no newline");
	CHECK_STR(r.out[2].buf, "o:c\n");
	CHECK_STR(r.out[5].buf, "o:last\n");
	/* Both streams, whole, whatever the order they came in. */
	CHECK(strstr(r.out[0].buf, "o:a\n") && strstr(r.out[0].buf, "e:b\n"));
	CHECK_INT(count_of(r.out[3].buf, 'x'), 100000);
	CHECK_INT(pool_busy(&p), 0);
	run_release(&r);
}

/* A job with a helper ends when both have: the helper outlives the leader here. */
static void
check_helper(void)
{
	struct pool p;
	struct run r;

	run_init(&r, &p, 1);
	r.cmds[0] = "exit 0";
	r.helpers[0] = "sleep 0.3; exit 4";
	r.ncmds = 1;
	CHECK_INT(pool_run(&p), 0);
	CHECK(r.finished[0]);
	CHECK(r.helper_exited[0]);
	CHECK(exited_with(r.helper_status[0], 4));
	run_release(&r);
}

/* A child that is no job is handed to reaped, not taken for one. */
static void
check_stranger(void)
{
	struct pool p;
	struct run r;
	struct spawn sp;

	run_init(&r, &p, 1);
	r.cmds[0] = "sleep 0.3";
	r.ncmds = 1;
	CHECK_INT(start_sh("exit 6", &sp, false, 0), 0);
	r.stranger = sp.pid;
	CHECK_INT(pool_run(&p), 0);
	CHECK(r.stranger_seen);
	CHECK(exited_with(r.stranger_status, 6));
	CHECK(r.finished[0]);
	run_release(&r);
}

/*
 * Stopped: a job that ends on SIGTERM ends so; one that ignores it, and
 * its helper in its group, are killed after the grace.
 */
static void
check_stop(void)
{
	struct pool p;
	struct run r;
	double t0 = now_monotonic();

	run_init(&r, &p, 2);
	p.stop_grace = 0.5;
	r.cmds[1] = "trap '' TERM; sleep 30 & wait; sleep 30";
	r.helpers[1] = "trap '' TERM; sleep 30";
	r.cmds[2] = "echo never";
	r.ncmds = 3;
	r.stop_at_turn = 3;
	/* Its leader ends on SIGTERM; what it started does not, and is killed after the grace. */
	r.cmds[0] = "trap 'exit 0' TERM; sh -c \"trap '' TERM; sleep 30\" & sleep 30 & wait";
	CHECK_INT(pool_run(&p), 0);
	CHECK(now_monotonic() - t0 < 10);
	CHECK(r.finished[0] && r.finished[1]);
	CHECK(!r.finished[2]);               /* nothing starts once the pool stops */
	CHECK(exited_with(r.status[0], 0));
	CHECK(r.group_gone[0] && r.group_gone[1]);
	CHECK(!r.killed[0]);
	CHECK(r.killed[1]);
	CHECK(WIFSIGNALED(r.status[1]) && WTERMSIG(r.status[1]) == SIGKILL);
	CHECK(r.helper_exited[1]);
	run_release(&r);
}

/* One job stopped alone, settled: finished as stopped while the other runs on. */
static void
check_stop_one(void)
{
	struct pool p;
	struct run r;

	run_init(&r, &p, 2);
	p.stop_grace = 0.5;
	r.cmds[0] = "exec sleep 30";
	r.cmds[1] = "sleep 0.5; echo on";
	r.ncmds = 2;
	r.end_after = 1;                     /* start both, then hand back */
	CHECK_INT(pool_run(&p), 0);
	CHECK_INT(pool_busy(&p), 2);
	pool_stop_job(&p, 0, SIGTERM);
	pool_settle_stopped(&p);
	CHECK(r.finished[0] && r.stopped[0]);
	CHECK(WIFSIGNALED(r.status[0]) && WTERMSIG(r.status[0]) == SIGTERM);
	CHECK(!r.finished[1]);
	CHECK_INT(pool_busy(&p), 1);
	/* The other goes on to its end. */
	r.end_after = 0;
	CHECK_INT(pool_run(&p), 0);
	CHECK(r.finished[1] && !r.stopped[1]);
	CHECK_STR(r.out[1].buf, "o:on\n");
	run_release(&r);
}

/* A start that fails stops the pool: running jobs are stopped and the code returned. */
static void
check_start_fails(void)
{
	struct pool p;
	struct run r;

	run_init(&r, &p, 2);
	p.stop_grace = 0.5;
	r.cmds[0] = "exec sleep 30";
	r.cmds[1] = "exit 0";
	r.ncmds = 2;
	r.fail_at = 1;
	CHECK_INT(pool_run(&p), SYNC_ERR_SYSTEM);
	CHECK(r.finished[0]);
	CHECK(WIFSIGNALED(r.status[0]) && WTERMSIG(r.status[0]) == SIGTERM);
	run_release(&r);
}

/* A finished callback's failure is the run's result; the other jobs still end. */
static void
check_finished_fails(void)
{
	struct pool p;
	struct run r;

	run_init(&r, &p, 2);
	r.cmds[0] = "exit 99";
	r.cmds[1] = "sleep 0.2; exit 0";
	r.cmds[2] = "exit 0";
	r.ncmds = 3;
	CHECK_INT(pool_run(&p), -99);
	CHECK(r.finished[0] && r.finished[1] && r.finished[2]);
	run_release(&r);
}

/*
 * A remote job: no process of its own; the caller's descriptor (watch)
 * brings its words ("o TEXT" output, "x STATUS" its end, "s SIG" the
 * signal the pool sent it), and the caller hands them to the pool. Slot 0
 * is skipped (POOL_SKIP), so the job runs in slot 1.
 */
struct remote_run {
	struct pool *pool;
	int news[2];                      /* what the "far side" says */
	bool started, finished, skipped;
	int slot, status, signalled, ticks;
	struct strbuf out;
};

static int
remote_start(void *ctx, int slot, struct pool_job *job)
{
	struct remote_run *r = ctx;

	if (slot == 0) {
		r->skipped = true;
		return POOL_SKIP;
	}
	if (r->started)
		return 0;
	r->started = true;
	r->slot = slot;
	job->remote = true;
	return 1;
}

static void
remote_output(void *ctx, int slot, int k, const char *buf, size_t n)
{
	struct remote_run *r = ctx;

	(void)slot;
	if (k == 0)
		strbuf_add(&r->out, buf, n);
}

static int
remote_finished(void *ctx, int slot, struct pool_job *job)
{
	struct remote_run *r = ctx;

	r->finished = slot == r->slot;
	r->status = job->status[0];
	return 0;
}

static bool
remote_idle_done(void *ctx)
{
	return ((struct remote_run *)ctx)->finished;
}

static void
remote_signal(void *ctx, int slot, int sig, bool grace_over)
{
	struct remote_run *r = ctx;

	(void)grace_over;
	r->signalled = sig;
	/* The far side answers a stop by ending, with the signal as its status. */
	pool_remote_end(r->pool, slot, sig, -1);
}

static void
remote_watch_ready(void *ctx, int k)
{
	struct remote_run *r = ctx;
	char buf[256];
	ssize_t n;

	if (k < 0) {
		r->ticks++;
		return;
	}
	n = read(r->news[0], buf, sizeof buf - 1);
	if (n <= 0) {
		r->pool->watch[k] = -1;
		return;
	}
	buf[n] = '\0';
	if (buf[0] == 'o')
		pool_remote_output(r->pool, r->slot, 0, buf + 2, (size_t)n - 2);
	else if (buf[0] == 'x')
		pool_remote_end(r->pool, r->slot, (int)strtol(buf + 2, NULL, 10), -1);
	else if (buf[0] == 's')
		pool_stop_job(r->pool, r->slot, SIGTERM);
}

static const struct pool_ops remote_ops = {
	.start = remote_start,
	.output = remote_output,
	.finished = remote_finished,
	.idle_done = remote_idle_done,
	.signal_remote = remote_signal,
	.watch_ready = remote_watch_ready,
};

/* One remote run: say each of words on the watch, one a turn; the pool runs until it ends. */
static void
run_remote(struct remote_run *r, const char *const *words)
{
	struct pool p;
	pid_t child;

	memset(r, 0, sizeof *r);
	strbuf_init(&r->out, 0);
	CHECK(pipe(r->news) == 0);
	child = fork();
	if (child == 0) {
		for (; *words; words++) {
			usleep(50000);
			if (write(r->news[1], *words, strlen(*words)) < 0)
				_exit(1);
		}
		_exit(0);
	}
	close(r->news[1]);
	pool_init(&p, 2, &remote_ops, r);
	pool_watch_init(&p, 1);
	r->pool = &p;
	p.watch[0] = r->news[0];
	CHECK_INT(pool_run(&p), 0);
	pool_release(&p);
	close(r->news[0]);
	waitpid(child, NULL, 0);
}

static void
check_remote(void)
{
	static const char *const ends[] = { "o hello", "o  there", "x 256", NULL };
	static const char *const stopped[] = { "o a", "s", NULL };
	struct remote_run r;

	run_remote(&r, ends);
	CHECK(r.skipped);
	CHECK_INT(r.slot, 1);
	CHECK(r.finished);
	CHECK_STR(r.out.buf, "hello there");
	CHECK_INT(r.status, 256);
	CHECK_INT(r.signalled, 0);
	/* The caller's timers had their moments. */
	CHECK(r.ticks > 0);
	strbuf_release(&r.out);

	/* A stop of a remote job is the caller's to carry: its end comes from there. */
	run_remote(&r, stopped);
	CHECK(r.finished);
	CHECK_INT(r.signalled, SIGTERM);
	CHECK_INT(r.status, SIGTERM);
	strbuf_release(&r.out);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	check_remote();
	check_limit_output_status();
	check_helper();
	check_stranger();
	check_stop();
	check_stop_one();
	check_start_fails();
	check_finished_fails();
	return unit_done("test-pool");
}
