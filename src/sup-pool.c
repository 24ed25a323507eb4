/*
 * sup-pool: the workers' loop: the signals it acts on, starting jobs on
 * free workers, reading their output, reaping and stopping them.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "sup-internal.h"
#include "util.h"

#define STOP_GRACE 5.0            /* seconds from SIGTERM to SIGKILL for workers */

/* Set from signal handlers, acted on by the main loop. */
volatile sig_atomic_t got_stop_signal;
volatile sig_atomic_t got_child;
volatile sig_atomic_t got_exclusion;   /* terminate recorded a part to stop */
static int wake_pipe[2] = { -1, -1 };

static void
on_signal(int sig)
{
	int saved = errno;

	if (sig == SIGCHLD)
		got_child = 1;
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

	if (xpipe_cloexec(wake_pipe) < 0)
		return SYNC_ERR_SYSTEM;
	set_nonblock(wake_pipe[0]);
	set_nonblock(wake_pipe[1]);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
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

/* Wait (boundedly) until every process of a stopped worker's group is gone. */
static void
wait_worker_group(pid_t pgid)
{
	double deadline = now_monotonic() + STOP_GRACE;

	while (kill(-pgid, 0) == 0) {
		if (now_monotonic() > deadline) {
			kill(-pgid, SIGKILL);
			break;
		}
		poll(NULL, 0, 20);
	}
}

/* Handle a worker whose rsync has exited and whose output is read. */
static int
finish_worker(struct sup *s, struct worker *w)
{
	int rc = SYNC_OK;

	drain_worker(w);
	spawn_close_fds(&w->sp);
	if (w->stopped || got_stop_signal || s->aborting)
		wait_worker_group(w->sp.pid);
	w->busy = false;
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
	if (!WIFEXITED(w->status) || WEXITSTATUS(w->status) != 0) {
		struct strbuf reason = STRBUF_INIT;

		last_error_line(w, &reason);
		if (!got_stop_signal)
			set_failure(s, "cannot create the directories above depth %d: rsync %s%s%s",
				    s->t.max_depth, spawn_status_text(w->status),
				    reason.len ? ": " : "", reason.buf);
		strbuf_release(&reason);
		rc = SYNC_ERR_REMOTE;
	}
	return rc;
}

/* Reap exited children and note which workers they were. */
static void
reap_children(struct sup *s)
{
	int status, i;
	pid_t pid;

	got_child = 0;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (ssh_master_detached(&s->master, pid, status))
			continue;
		if (far_lock_reaped(&s->lock, pid)) {
			if (s->lock_wanted && !s->lock.held && s->lock.ssh_pid < 0)
				log_warn("the connection holding the lock on the far side ended "
					 "(%s); it is asked for again before each rsync that "
					 "follows",
					 spawn_status_text(status));
			continue;
		}
		if (pid == s->master.pid) {
			log_warn("the shared ssh connection ended (%s); workers connect on "
				 "their own",
				 spawn_status_text(status));
			s->master.pid = -1;
			continue;
		}
		for (i = 0; i < s->nworkers; i++) {
			struct worker *w = &s->workers[i];

			if (!w->busy)
				continue;
			if (w->sp.pid == pid) {
				w->main_exited = true;
				w->status = status;
			} else if (w->kind == JOB_PIECE && w->feeder_pid == pid) {
				w->feeder_exited = true;
				w->feeder_status = status;
			} else
				continue;
			/* A piece is over when both its reader and its ssh are. */
			w->exited = w->main_exited && (w->kind != JOB_PIECE || w->feeder_exited);
		}
	}
}

/*
 * Stop a worker. SIGTERM goes to rsync alone: its ssh then sees the end of
 * its input, passes it on, and exits only once the far side's rsync has
 * saved its partial data and ended, so that when the worker's process group
 * is gone (wait_worker_group) nothing is still being written over there.
 * SIGKILL goes to the whole group.
 */
void
signal_worker(struct worker *w, int sig)
{
	if (w->busy && !w->exited)
		kill(sig == SIGKILL ? -w->sp.pid : w->sp.pid, sig);
}

static void
signal_workers(struct sup *s, int sig)
{
	int i;

	for (i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->workers[i];

		/* A piece that had to be killed: its far side may hold a session still. */
		if (sig == SIGKILL && w->busy && !w->exited && w->kind == JOB_PIECE)
			s->master_stuck = true;
		signal_worker(w, sig);
	}
}

static int
busy_workers(struct sup *s)
{
	int i, n = 0;

	for (i = 0; i < s->nworkers; i++)
		n += s->workers[i].busy;
	return n;
}

/* Wait for the workers asked to stop (w->stop) to end, and settle them. */
void
settle_stopped_workers(struct sup *s)
{
	double deadline = now_monotonic() + STOP_GRACE;
	bool killed = false, left;
	int i;

	for (;;) {
		left = false;
		for (i = 0; i < s->nworkers; i++) {
			struct worker *w = &s->workers[i];

			if (w->busy && w->stopped && !w->exited) {
				left = true;
				if (killed == false && now_monotonic() > deadline) {
					kill(-w->sp.pid, SIGKILL);
					if (w->kind == JOB_PIECE)
						s->master_stuck = true;
				}
			}
		}
		if (!left)
			break;
		killed = now_monotonic() > deadline;
		for (i = 0; i < s->nworkers; i++)
			if (s->workers[i].busy)
				drain_worker(&s->workers[i]);
		reap_children(s);
		poll(NULL, 0, 20);
	}
	for (i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->workers[i];

		if (w->busy && w->stopped && w->exited)
			finish_worker(s, w);
	}
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
end_stalled_pieces(struct sup *s)
{
	double now = now_monotonic();
	int i;

	if (s->cfg->io_timeout == 0)
		return;
	for (i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->workers[i];

		if (!w->busy || w->kind != JOB_PIECE || w->exited || w->timed_out ||
		    now - w->moved_at < (double)s->cfg->io_timeout)
			continue;
		w->timed_out = true;
		s->master_stuck = true;
		/* The reader and the ssh of the piece: nothing of theirs to save. */
		kill(-w->sp.pid, SIGKILL);
	}
}

/*
 * Run jobs until there is nothing left (or, for a directory pass, until it
 * ends). Returns 0, or a negative code when the pass failed.
 */
int
run_loop(struct sup *s, enum job_kind pass)
{
	struct pollfd *pfd = xcalloc((size_t)s->nworkers * 3 + 1, sizeof *pfd);
	double stop_deadline = 0;
	bool stopping = false;
	int rc = SYNC_OK, i;

	if (pass != JOB_UNIT && (rc = start_worker(s, &s->workers[0], pass)) < 0) {
		free(pfd);
		return rc;
	}
	for (;;) {
		int nfds = 0, timeout = 1000;
		bool lock_ok;

		if ((got_stop_signal || s->aborting) && !stopping) {
			stopping = true;
			stop_deadline = now_monotonic() + STOP_GRACE;
			if (got_stop_signal)
				log_info("stopping on signal %d", (int)got_stop_signal);
			signal_workers(s, SIGTERM);
		}
		if (stopping && now_monotonic() > stop_deadline)
			signal_workers(s, SIGKILL);
		if (got_exclusion && pass == JOB_UNIT && !stopping)
			apply_exclusions(s);

		/* The rsync that makes the directories could not: the mkdir of its own first. */
		if (pass == JOB_UNIT && s->mkdir_unit_failed && busy_workers(s) == 0)
			break;
		/* Fill free workers, while the far side's lock is held (asked once). */
		lock_ok = pass != JOB_UNIT || stopping || busy_workers(s) >= s->active_workers ||
			  far_lock_ready(s);
		for (i = 0; pass == JOB_UNIT && !stopping && lock_ok && i < s->active_workers;
		     i++) {
			if (s->workers[i].busy)
				continue;
			/* Nothing else runs before the directories are made. */
			if (s->mkdir_in_unit && !s->mkdir_known &&
			    (busy_workers(s) > 0 || s->mkdir_unit_failed))
				break;
			/* A file in pieces first: every free worker takes one. */
			if (split_piece_ready(s) || (!next_batch(s, &s->workers[i]) &&
						     split_piece_ready(s))) {
				if (start_piece(s, &s->workers[i]) < 0) {
					stopping = true;
					stop_deadline = now_monotonic() + STOP_GRACE;
					break;
				}
				continue;
			}
			if (s->workers[i].nunits == 0)
				break;
			/*
			 * Its mkdir names no directory above the cut, which only an
			 * rsync of the source whole makes: not so after all (a part
			 * stopped, a mode changed since the walk), the mkdir of its
			 * own first.
			 */
			if (s->mkdir_in_unit && !s->mkdir_known && !mkdirs_are_source(s) &&
			    !batch_names_source(s, &s->workers[i])) {
				log_info("the next rsync does not send the source whole; "
					 "making the directories above the cut first");
				s->mkdir_unit_failed = true;
				give_back_batch(s, &s->workers[i]);
				break;
			}
			if (start_worker(s, &s->workers[i], JOB_UNIT) < 0) {
				fail_batch(s, &s->workers[i]);
				stopping = true;
				stop_deadline = now_monotonic() + STOP_GRACE;
				break;
			}
			mark_batch_running(s, &s->workers[i]);
		}
		if (busy_workers(s) == 0 &&
		    (pass != JOB_UNIT || stopping || (s->store_drained && s->nretries == 0 &&
						      !s->have_held && !s->split.active &&
						      s->napart == 0 &&
						      s->batch_pos == s->batch_n)))
			break;
		if (busy_workers(s) == 0 && s->nretries > 0) {
			/* Only retries are left: sleep until the first is due. */
			double first = s->retries[0].not_before;

			for (size_t k = 1; k < s->nretries; k++)
				if (s->retries[k].not_before < first)
					first = s->retries[k].not_before;
			timeout = (int)((first - now_monotonic()) * 1000) + 1;
			if (timeout < 0)
				timeout = 0;
			if (timeout > 1000)
				timeout = 1000;
		}

		pfd[nfds].fd = wake_pipe[0];
		pfd[nfds++].events = POLLIN;
		for (i = 0; i < s->nworkers; i++) {
			struct worker *w = &s->workers[i];

			if (!w->busy)
				continue;
			if (w->sp.out_fd >= 0) {
				pfd[nfds].fd = w->sp.out_fd;
				pfd[nfds++].events = POLLIN;
			}
			if (w->sp.err_fd >= 0) {
				pfd[nfds].fd = w->sp.err_fd;
				pfd[nfds++].events = POLLIN;
			}
			if (w->kind == JOB_PIECE && w->feeder_err >= 0) {
				pfd[nfds].fd = w->feeder_err;
				pfd[nfds++].events = POLLIN;
			}
		}
		if (s->pline.tty && timeout > 200)
			timeout = 200;
		if (poll(pfd, (nfds_t)nfds, timeout) < 0 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			rc = SYNC_ERR_SYSTEM;
			break;
		}
		if (pfd[0].revents & POLLIN) {
			char buf[64];

			while (read(wake_pipe[0], buf, sizeof buf) > 0)
				;
		}
		for (i = 0; i < s->nworkers; i++)
			if (s->workers[i].busy)
				drain_worker(&s->workers[i]);
		end_stalled_pieces(s);
		reap_children(s);
		for (i = 0; i < s->nworkers; i++) {
			struct worker *w = &s->workers[i];

			if (w->busy && w->exited && finish_worker(s, w) < 0)
				rc = SYNC_ERR_REMOTE;
		}
		if (pass == JOB_UNIT) {
			flush_progress(s, false);
			draw_progress(s);
		}
	}
	free(pfd);
	return rc;
}
