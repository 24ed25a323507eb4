/*
 * sup-fanout: one source to several hosts (scow-sync run -a h1,h2,h3).
 *
 * The request is a transfer with no units of its own; each host has a
 * transfer of its own (a child in the store), with its units, state,
 * progress, lock and partial data, run by a supervisor of its own: a
 * process forked from this one, which dies with it (a kill -9 here stops
 * every host's, each recording itself interrupted, for resume). This
 * supervisor starts them, keeps the request's totals, passes a stop on,
 * and records the end: done when every host is done, otherwise naming
 * the hosts that are not. One host failing never stops the others.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <unistd.h>

#include "format.h"
#include "proc.h"
#include "proctitle.h"
#include "sup-internal.h"

#define FANOUT_TICK_MS 200        /* how often children are reaped and looked at */

/* One host's transfer as the request's supervisor sees it. */
struct fanout_host {
	struct transfer t;      /* as last read */
	pid_t pid;              /* its supervisor, our child; 0: none of ours runs */
	bool adopted;           /* a supervisor not ours runs it: waited for, not started */
	bool skipped;           /* done before this run: nothing to do */
	bool started;           /* a supervisor of ours was started for it */
};

struct fanout {
	struct store *st;
	const struct supervisor_config *cfg;
	struct transfer t;      /* the request */
	struct proc_id self;
	struct fanout_host *h;
	size_t n;
	bool stopping;          /* the stop was passed on */
	struct progress_line pline;
	double last_totals;
};

static void
fanout_release(struct fanout *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		transfer_release(&f->h[i].t);
	free(f->h);
	transfer_release(&f->t);
}

/*
 * In the forked child: run host h's transfer to its end and exit. It
 * takes the transfer over from owner (whoever queued it last).
 */
static _Noreturn void
run_host(struct fanout *f, struct fanout_host *h, const struct proc_id *owner, pid_t parent)
{
	struct supervisor_config c = *f->cfg;
	enum transfer_state final = TRANSFER_FAILED;
	struct store *st;
	char err[512];

	/* The request's handlers and wake pipe are not this process's. */
	restore_signals();
#ifdef __linux__
	/* Never a writer without the request's supervisor: it stops with it. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
	if (getppid() != parent)
		_exit(EXIT_FAILURE);
	proctitle_set("scow-sync: transfer %lld", (long long)h->t.id);
	/* A connection of its own: an SQLite handle never crosses a fork. */
	if (store_open(c.state_dir, &st, err, sizeof err) < 0) {
		log_error("host %s: %s", h->t.address, err);
		_exit(EXIT_FAILURE);
	}
	c.transfer_id = h->t.id;
	c.owner = *owner;
	c.on_running = NULL;
	c.on_running_ctx = NULL;
	c.detached = false;       /* its session is the request's */
	c.progress_display = false;
	c.early = NULL;
	c.hold = NULL;
	if (supervisor_run(st, &c, &final) < 0)
		log_error("host %s: %s", h->t.address, store_errmsg(st));
	store_close(st);
	log_close();
	exit(final == TRANSFER_DONE ? EXIT_SUCCESS : EXIT_FAILURE);
}

/*
 * Make host h's transfer ready to run under a supervisor of ours and start
 * one, or find it done, or running under another. Returns 0, or a negative
 * code when the store failed.
 */
static int
start_host(struct fanout *f, struct fanout_host *h)
{
	enum transfer_state was;
	struct proc_id owner;
	int64_t running = 0;
	pid_t pid;
	int rc;

	if (h->t.state == TRANSFER_DONE) {
		h->skipped = true;
		log_info("host %s: done before (transfer %lld)", h->t.address, (long long)h->t.id);
		return SYNC_OK;
	}
	if (h->t.state == TRANSFER_QUEUED && f->cfg->owner.pid &&
	    h->t.supervisor.pid == f->cfg->owner.pid &&
	    h->t.supervisor.start == f->cfg->owner.start) {
		/* Queued by the command that asked for the request: taken over from it. */
		owner = f->cfg->owner;
	} else {
		/* From before (resume, or a failed request asked again): queued under us. */
		rc = store_transfer_resume(f->st, h->t.id, &f->self, proc_alive_anywhere, &was,
					   &running);
		if (rc == SYNC_ERR_INVALID) {
			h->skipped = true;
			return SYNC_OK;
		}
		if (rc == SYNC_ERR_EXISTS) {
			h->adopted = true;
			log_warn("host %s: transfer %lld of the same request is running; waiting "
				 "for it", h->t.address, (long long)running);
			return SYNC_OK;
		}
		if (rc < 0)
			return rc;
		owner = f->self;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		log_error("host %s: cannot start its supervisor: %s", h->t.address,
			  strerror(errno));
		store_transfer_finish_orphan(f->st, h->t.id, &owner, TRANSFER_FAILED,
					     "its supervisor could not be started");
		return SYNC_OK;
	}
	if (pid == 0)
		run_host(f, h, &owner, getppid());
	h->pid = pid;
	h->started = true;
	return SYNC_OK;
}

/* Reap the hosts' supervisors that ended. */
static void
reap_hosts(struct fanout *f)
{
	pid_t pid;
	size_t i;

	while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
		for (i = 0; i < f->n; i++)
			if (f->h[i].pid == pid)
				f->h[i].pid = 0;
	}
}

/* Whether host h's transfer is still being run (by us or another). */
static bool
host_running(struct fanout *f, struct fanout_host *h)
{
	if (h->pid > 0)
		return true;
	if (!h->adopted)
		return false;
	return !transfer_state_finished(h->t.state) && proc_alive_anywhere(&h->t.supervisor);
}

/* Pass a stop on: for good when terminate asked for the request's. */
static void
pass_stop(struct fanout *f)
{
	bool for_good = false;
	size_t i;

	f->stopping = true;
	if (store_transfer_stop_requested(f->st, f->t.id, &for_good) < 0)
		log_warn("cannot read the stop request: %s", store_errmsg(f->st));
	log_info("stopping every host's transfer (signal %d)", (int)got_stop_signal);
	for (i = 0; i < f->n; i++) {
		struct fanout_host *h = &f->h[i];

		if (!host_running(f, h))
			continue;
		if (for_good && store_transfer_request_stop(f->st, h->t.id) < 0)
			log_warn("host %s: cannot record the stop: %s", h->t.address,
				 store_errmsg(f->st));
		if (h->pid > 0)
			kill(h->pid, SIGTERM);
		else
			proc_signal(&h->t.supervisor, SIGTERM);
	}
}

/* Read every host's transfer again; the request's totals are theirs summed. */
static void
refresh_hosts(struct fanout *f, bool draw)
{
	struct progress_view v;
	uint64_t bytes = 0, files = 0;
	size_t i, done = 0;
	char label[64];

	memset(&v, 0, sizeof v);
	for (i = 0; i < f->n; i++) {
		struct fanout_host *h = &f->h[i];
		struct transfer_sizes sz;
		struct transfer t;

		if (store_transfer_get(f->st, h->t.id, &t) == SYNC_OK) {
			transfer_release(&h->t);
			h->t = t;
		}
		bytes += h->t.bytes_done;
		files += h->t.files_done;
		done += h->t.state == TRANSFER_DONE;
		if (draw && store_transfer_sizes(f->st, h->t.id, &sz) == SYNC_OK) {
			v.bytes += sz.bytes_settled;
			v.bytes_total += sz.bytes_total;
			v.files += sz.files_settled;
			v.files_total += sz.files_total;
		}
	}
	if (store_transfer_set_totals(f->st, f->t.id, bytes, files) < 0)
		log_warn("cannot record the totals: %s", store_errmsg(f->st));
	if (draw) {
		snprintf(label, sizeof label, "%zu of %zu hosts done", done, f->n);
		v.file = label;
		progress_line_draw(&f->pline, &v);
	}
}

/*
 * The request's end from its hosts': its state, and the reason in *why.
 * A host never started (the stop came first) ends as the request does.
 */
static enum transfer_state
fanout_outcome(struct fanout *f, struct strbuf *why)
{
	struct strbuf list = STRBUF_INIT;
	enum transfer_state end;
	size_t i, not_done = 0, stopped = 0;
	bool for_good = false;

	if (f->stopping)
		store_transfer_stop_requested(f->st, f->t.id, &for_good);
	for (i = 0; i < f->n; i++) {
		struct fanout_host *h = &f->h[i];

		if (!h->started && !h->skipped && !h->adopted &&
		    !transfer_state_finished(h->t.state)) {
			h->t.state = for_good ? TRANSFER_TERMINATED : TRANSFER_INTERRUPTED;
			if (store_transfer_finish(f->st, h->t.id, h->t.state,
						  "stopped before it started") < 0)
				log_warn("host %s: %s", h->t.address, store_errmsg(f->st));
		}
		if (h->t.state == TRANSFER_DONE)
			continue;
		not_done++;
		stopped += h->t.state == TRANSFER_TERMINATED;
		strbuf_addf(&list, "%s%s: %s", list.len ? "; " : "", h->t.address,
			    h->t.error ? h->t.error : transfer_state_name(h->t.state));
	}
	if (not_done == 0)
		end = TRANSFER_DONE;
	else if (f->stopping)
		end = for_good ? TRANSFER_TERMINATED : TRANSFER_INTERRUPTED;
	else
		end = stopped == not_done ? TRANSFER_TERMINATED : TRANSFER_FAILED;
	if (not_done)
		strbuf_addf(why, "%zu of %zu hosts not done: %s", not_done, f->n, list.buf);
	strbuf_release(&list);
	return end;
}

int
supervisor_fanout(struct store *st, const struct supervisor_config *cfg,
		  enum transfer_state *final)
{
	struct strbuf why = STRBUF_INIT;
	struct fanout f;
	bool stop = false;
	size_t i;
	int rc;

	memset(&f, 0, sizeof f);
	f.st = st;
	f.cfg = cfg;
	*final = TRANSFER_FAILED;
	if ((rc = store_transfer_get(st, cfg->transfer_id, &f.t)) < 0)
		return rc;
	log_set_transfer(f.t.id);
	got_stop_signal = 0;
	if ((rc = install_signals()) < 0 || (rc = proc_self(&f.self)) < 0) {
		transfer_release(&f.t);
		return rc;
	}
	if ((rc = store_transfer_set_running(st, f.t.id, &f.self, cfg->detached ? getsid(0) : 0,
					     cfg->owner.pid ? &cfg->owner : NULL)) < 0) {
		if (rc == SYNC_ERR_EXISTS)
			log_error("transfer %lld was taken over or ended while this supervisor "
				  "started; leaving it", (long long)f.t.id);
		restore_signals();
		transfer_release(&f.t);
		return rc;
	}
	if (store_transfer_stop_requested(st, f.t.id, &stop) == SYNC_OK && stop)
		got_stop_signal = SIGTERM;
	{
		struct transfer *rows;

		if ((rc = store_transfer_children(st, f.t.id, &rows, &f.n)) < 0)
			goto out;
		f.h = xcalloc(f.n ? f.n : 1, sizeof *f.h);
		for (i = 0; i < f.n; i++)
			f.h[i].t = rows[i];
		free(rows);
	}
	if (cfg->on_running)
		cfg->on_running(cfg->on_running_ctx);
	progress_line_init(&f.pline, STDERR_FILENO);
	if (!cfg->progress_display)
		f.pline.tty = false;
	log_info("transfer of '%s' to %zu hosts (%s) started", f.t.source, f.n, f.t.address);
	for (i = 0; i < f.n && !got_stop_signal; i++)
		if ((rc = start_host(&f, &f.h[i])) < 0)
			goto out;
	for (;;) {
		bool any = false;

		reap_hosts(&f);
		if (got_stop_signal && !f.stopping)
			pass_stop(&f);
		refresh_hosts(&f, f.pline.tty);
		for (i = 0; i < f.n; i++)
			any |= host_running(&f, &f.h[i]);
		if (!any)
			break;
		poll(NULL, 0, FANOUT_TICK_MS);
	}
	progress_line_clear(&f.pline);
	if (got_stop_signal && !f.stopping)
		pass_stop(&f);
	*final = f.n ? fanout_outcome(&f, &why) : TRANSFER_FAILED;
	if (f.n == 0)
		strbuf_addstr(&why, "no host is recorded for it");
	if (store_transfer_finish(st, f.t.id, *final, why.len ? why.buf : NULL) < 0)
		rc = SYNC_ERR_STORE;
	else
		rc = SYNC_OK;
	if (*final == TRANSFER_DONE)
		log_info("transfer done on %zu hosts", f.n);
	else
		log_error("transfer %s: %s", transfer_state_name(*final), why.buf);
out:
	strbuf_release(&why);
	restore_signals();
	fanout_release(&f);
	return rc;
}
