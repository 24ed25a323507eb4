/*
 * sup-pool: the supervisor's jobs in the process pool (pool.h): the
 * signals the loop acts on, what runs next on a free worker, what a job's
 * output and end mean, and when a pass is over. The pool itself knows
 * nothing of rsync; this file is where the two meet.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "notify.h"
#include "sup-internal.h"

#define STOP_GRACE 5.0            /* seconds from SIGTERM to SIGKILL for workers */

/* Set from signal handlers, acted on by the main loop. */
volatile sig_atomic_t got_stop_signal;
volatile sig_atomic_t got_exclusion;   /* terminate recorded a part to stop */
static int wake_pipe[2] = { -1, -1 };

static void
sup_on_signal(int sig)
{
	int saved = errno;

	/* SIGCHLD only wakes the loop: the pool reaps. */
	if (sig == SIGCHLD)
		;
	else if (sig == SIGUSR1)
		got_exclusion = 1;
	else
		got_stop_signal = sig;
	if (wake_pipe[1] >= 0)
		(void)!write(wake_pipe[1], "", 1);
	errno = saved;
}

/* Install handlers for the signals the main loop acts on. */
int
install_signals(void)
{
	struct sigaction sa;

	/* A watch's cycles run with the handlers the watch installed. */
	if (wake_pipe[0] >= 0)
		return SYNC_OK;
	if (xpipe_cloexec(wake_pipe) < 0)
		return SYNC_ERR_SYSTEM;
	set_nonblock(wake_pipe[0]);
	set_nonblock(wake_pipe[1]);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = sup_on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return SYNC_OK;
}

void
restore_signals(void)
{
	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
	if (wake_pipe[0] >= 0)
		close(wake_pipe[0]);
	if (wake_pipe[1] >= 0)
		close(wake_pipe[1]);
	wake_pipe[0] = wake_pipe[1] = -1;
}

/* A worker's job has ended and its output is read: what that means, by its kind. */
static int
sup_job_finished(void *ctx, int slot, struct pool_job *job)
{
	struct sup *s = ctx;
	struct worker *w = &s->workers[slot];

	/*
	 * A stop that came during this turn, or another batch's failure: what
	 * the job started may still be writing over there (the pool waits for
	 * the group of a job it stopped itself).
	 */
	if (!job->stopped && !s->pool.stopping && (got_stop_signal || s->aborting))
		pool_wait_group(&s->pool, job->pid[0]);
	if (w->kind == JOB_UNIT) {
		finish_batch(s, w);
		return SYNC_OK;
	}
	if (w->kind == JOB_PIECE) {
		finish_piece(s, w);
		return SYNC_OK;
	}
	if (w->kind == JOB_CHECK) {
		finish_check(s, w);
		return SYNC_OK;
	}
	if (w->kind == JOB_LINKS)
		return links_job_finished(s, w, job->status[0]);
	if (!WIFEXITED(job->status[0]) || WEXITSTATUS(job->status[0]) != 0) {
		struct strbuf reason = STRBUF_INIT;

		last_error_line(w, &reason);
		if (!got_stop_signal)
			set_failure(s, "cannot create the directories above depth %d: rsync %s%s%s",
				    s->t.max_depth, spawn_status_text(job->status[0]),
				    reason.len ? ": " : "", reason.buf);
		strbuf_release(&reason);
		return SYNC_ERR_REMOTE;
	}
	return SYNC_OK;
}

static void
sup_job_output(void *ctx, int slot, int fd, const char *buf, size_t n)
{
	struct sup *s = ctx;

	s->transport->output(&s->workers[slot], fd, buf, n);
}

/* A child that is no worker's ended: the shared connection, or the far side's lock. */
static void
sup_child_reaped(void *ctx, pid_t pid, int status)
{
	struct sup *s = ctx;

	if (ssh_master_detached(&s->master, pid, status) ||
	    notify_reaped(s->notifier, pid, status) || nodes_reaped(s, pid, status))
		return;
	if (far_lock_reaped(&s->lock, pid)) {
		if (s->lock_wanted && !s->lock.held && s->lock.ssh_pid < 0)
			log_warn("the connection holding the lock on the far side ended (%s); "
				 "it is asked for again before each rsync that follows",
				 spawn_status_text(status));
		return;
	}
	if (pid == s->master.pid) {
		log_warn("the shared ssh connection ended (%s); workers connect on their own",
			 spawn_status_text(status));
		s->master.pid = -1;
	}
}

/* A piece that had to be killed: its far side may hold a session of the connection still. */
static void
sup_job_killed(void *ctx, int slot, struct pool_job *job)
{
	struct sup *s = ctx;

	(void)job;
	if (s->workers[slot].kind == JOB_PIECE)
		s->master_stuck = true;
}

/*
 * End the pieces that moved nothing for io_timeout seconds, as rsync's
 * --timeout ends an rsync: a far side whose writer is stopped, or whose
 * file system hangs, on a link that is alive. Neither end of a piece
 * would notice: the reader waits on a full pipe, or for the far side's
 * word once all was sent. The piece fails, and the rsync after the
 * pieces (with its own --timeout) sends what it did not. The far side's
 * writer may go on holding a session of the shared connection, which is
 * then not kept for the next transfer (stop_master).
 */
static void
sup_end_stalled_pieces(struct sup *s)
{
	double now = now_monotonic();
	int i;

	if (s->cfg->io_timeout == 0)
		return;
	for (i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->workers[i];

		if (!w->job->busy || w->kind != JOB_PIECE || w->job->ended || w->timed_out ||
		    now - w->moved_at < (double)s->cfg->io_timeout)
			continue;
		w->timed_out = true;
		/* The reader and the ssh of the piece: nothing of theirs to save. */
		if (w->job->remote) {
			nodes_signal(s, i, SIGKILL, false);
			continue;
		}
		s->master_stuck = true;
		kill(-w->job->pid[0], SIGKILL);
	}
}

/*
 * Before each turn of the pool: progress, a stop, parts stopped on
 * request, whether the pass is over, whether free workers may start, and
 * how long to wait for news.
 */
static int
sup_turn(void *ctx, struct pool *p)
{
	struct sup *s = ctx;
	int timeout = 1000;

	if (s->pass == JOB_UNIT) {
		flush_progress(s, false);
		draw_progress(s);
	}
	if ((got_stop_signal || s->aborting) && !p->stopping) {
		if (got_stop_signal)
			log_info("stopping on signal %d", (int)got_stop_signal);
		pool_stop(p);
	}
	sup_end_stalled_pieces(s);
	if (got_exclusion && s->pass == JOB_UNIT && !p->stopping)
		apply_exclusions(s);
	/* The rsync that makes the directories could not: the mkdir of its own first. */
	if (s->pass == JOB_UNIT && s->mkdir_unit_failed && pool_busy(p) == 0)
		return POOL_END;
	/* Free workers start while the far side's lock is held (asked once). */
	s->fill_ok = s->pass != JOB_UNIT || p->stopping || pool_busy(p) >= s->active_workers ||
		     far_lock_ready(s);
	/* Only retries are left: sleep until the first is due. */
	if (pool_busy(p) == 0 && s->nretries > 0)
		timeout = batch_retry_wait_ms(s->retries, s->nretries, now_monotonic(), timeout);
	if (s->pline.tty && timeout > 200)
		timeout = 200;
	if (s->pass == JOB_UNIT) {
		int due = progress_due_ms(s);

		if (due >= 0 && timeout > due)
			timeout = due;
	}
	/* Waiting for Slurm's nodes: its answer, or --slurm-wait, wakes us. */
	if (s->pass == JOB_UNIT && nodes_pending(s) && (!s->nodes.on || nodes_gathering(s)) &&
	    timeout > 250)
		timeout = 250;
	/* Waiting for units to arrive on the feeding host: look again soon. */
	if (s->relay.gate && timeout > 250)
		timeout = 250;
	return timeout;
}

/*
 * A worker is free: start what runs next on it. A pass other than the
 * units' runs one job, on the first worker. Units: a piece of a large file
 * first, then the next batch.
 */
static int
sup_start_job(void *ctx, int slot, struct pool_job *job)
{
	struct sup *s = ctx;
	struct worker *w = &s->workers[slot];
	int rc;

	(void)job;
	if (s->pass != JOB_UNIT) {
		if (slot != 0 || s->pass_started)
			return 0;
		s->pass_started = true;
		return (rc = s->transport->start_job(s, w, s->pass)) < 0 ? rc : 1;
	}
	if (!s->fill_ok)
		return 0;
	/* The nodes take the batches while they are up, each as it has a slot free. */
	if (nodes_slot_open(s, slot) != NODE_SLOT_OPEN)
		return POOL_SKIP;
	/* Nothing else runs before the directories are made. */
	if (s->mkdir_in_unit && !s->mkdir_known &&
	    (pool_busy(&s->pool) > 0 || s->mkdir_unit_failed))
		return 0;
	/* A file in pieces first: every free worker takes one. */
	if (split_piece_ready(s) || (!next_batch(s, w) && split_piece_ready(s)))
		return (rc = s->transport->start_piece(s, w)) < 0 ? rc : 1;
	if (w->nunits == 0)
		return 0;
	/*
	 * Its mkdir names no directory above the cut, which only an rsync of
	 * the source whole makes: not so after all (a part stopped, a mode
	 * changed since the walk), the mkdir of its own first.
	 */
	if (s->mkdir_in_unit && !s->mkdir_known && !mkdirs_are_source(s) &&
	    !batch_names_source(s, w)) {
		log_info("the next rsync does not send the source whole; "
			 "making the directories above the cut first");
		s->mkdir_unit_failed = true;
		give_back_batch(s, w);
		return 0;
	}
	if ((rc = s->transport->start_job(s, w, JOB_UNIT)) < 0) {
		fail_batch(s, w);
		return rc;
	}
	mark_batch_running(s, w);
	return 1;
}

/* With no worker busy: is the pass over? */
static bool
sup_pass_done(void *ctx)
{
	struct sup *s = ctx;

	return s->pass != JOB_UNIT ||
	       (s->store_drained && s->nretries == 0 && !s->have_held && !s->split.active &&
		s->napart == 0 && s->batch_pos == s->batch_n);
}

static void
sup_signal_remote(void *ctx, int slot, int sig, bool grace_over)
{
	nodes_signal(ctx, slot, sig, grace_over);
}

static void
sup_watch_ready(void *ctx, int k)
{
	nodes_watch_ready(ctx, k);
}

static const struct pool_ops sup_pool_ops = {
	.start = sup_start_job,
	.output = sup_job_output,
	.finished = sup_job_finished,
	.reaped = sup_child_reaped,
	.turn = sup_turn,
	.idle_done = sup_pass_done,
	.killed = sup_job_killed,
	.signal_remote = sup_signal_remote,
	.watch_ready = sup_watch_ready,
};

/* Give the supervisor's workers their slots in a pool of their own. */
void
sup_pool_init(struct sup *s)
{
	int i;

	pool_init(&s->pool, s->nworkers, &sup_pool_ops, s);
	s->pool.stop_grace = STOP_GRACE;
	for (i = 0; i < s->nworkers; i++)
		s->workers[i].job = &s->pool.jobs[i];
}

/*
 * Run a pass: the units (JOB_UNIT) on up to active_workers workers, or one
 * job of another kind. Returns 0, or below 0 when a job could not start or
 * a pass other than the units' failed (set_failure says why).
 */
int
run_loop(struct sup *s, enum job_kind pass)
{
	s->pass = pass;
	s->pass_started = false;
	s->pool.limit = pass != JOB_UNIT ? 1 : nodes_pending(s) ? s->nworkers : s->active_workers;
	s->pool.wake_fd = wake_pipe[0];
	return pool_run(&s->pool);
}
