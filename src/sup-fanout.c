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
#include <sys/stat.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <unistd.h>

#include "format.h"
#include "master.h"
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

/*
 * The private agent of a request with a relay: it holds the user's key for
 * the hosts' ssh to each other, for this request only; its socket is in a
 * directory of ours (0700), and it ends with us.
 */
struct relay_agent {
	pid_t pid;
	char *dir;
	char *socket;
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
	struct relay_agent agent;
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

static void
agent_stop(struct relay_agent *a)
{
	if (a->pid > 0) {
		kill(a->pid, SIGTERM);
		waitpid(a->pid, NULL, 0);
	}
	if (a->socket)
		unlink(a->socket);
	if (a->dir)
		rmdir(a->dir);
	free(a->socket);
	free(a->dir);
	memset(a, 0, sizeof *a);
}

/*
 * Start the request's agent and give it the key. 0, or -1 (logged): the
 * hosts are then fed from here.
 */
static int
agent_start(struct fanout *f)
{
	struct relay_agent *a = &f->agent;
	struct strbuf err = STRBUF_INIT;
	char *old_sock;
	/*
	 * Under a shell that ends it: ssh-agent is set-group-ID on some
	 * systems, and the exec of one drops PR_SET_PDEATHSIG, so an agent
	 * started by us would outlive a killed supervisor with the key. The
	 * shell keeps it (die_with_parent), and kills the agent as it goes.
	 */
	const char *agent_argv[] = {
		"sh", "-c", "ssh-agent -D -a \"$0\" >/dev/null & a=$!; "
		"trap 'kill $a 2>/dev/null; exit 0' TERM HUP INT; wait $a", NULL, NULL
	};
	const char *add_argv[] = { "ssh-add", "-q", f->t.key_path, NULL };
	struct spawn sp;
	struct stat sb;
	int status = -1, i;

	if (*f->t.key_path == '\0') {
		log_warn("no relay: the transfer has no key of its own to lend the hosts "
			 "(it uses ssh's own identities)");
		return -1;
	}
	a->dir = xasprintf("%s/scow-sync-%lld-XXXXXX", ssh_tmp_base(), (long long)f->t.id);
	if (mkdtemp(a->dir) == NULL) {
		log_warn("no relay: cannot create a private directory: %s", strerror(errno));
		free(a->dir);
		a->dir = NULL;
		return -1;
	}
	/* A killed supervisor's is removed by the next (supervisor_remove_stale). */
	if (store_transfer_set_workdir(f->st, f->t.id, a->dir) < 0)
		log_warn("cannot record the private directory: %s", store_errmsg(f->st));
	a->socket = xasprintf("%s/agent", a->dir);
	agent_argv[3] = a->socket;
	memset(&sp, 0, sizeof sp);
	sp.argv = agent_argv;
	sp.die_with_parent = true;
	if (spawn_start(&sp) < 0) {
		log_warn("no relay: cannot run ssh-agent: %s", strerror(errno));
		agent_stop(a);
		return -1;
	}
	a->pid = sp.pid;
	for (i = 0; i < 100 && (stat(a->socket, &sb) < 0 || !S_ISSOCK(sb.st_mode)); i++)
		poll(NULL, 0, 50);
	/* ssh-add finds the agent in its environment; ours is put back after. */
	old_sock = getenv("SSH_AUTH_SOCK") ? xstrdup(getenv("SSH_AUTH_SOCK")) : NULL;
	setenv("SSH_AUTH_SOCK", a->socket, 1);
	setenv("SSH_ASKPASS_REQUIRE", "never", 1);
	if (spawn_run(add_argv, &status, &err) < 0)
		status = -1;
	if (old_sock)
		setenv("SSH_AUTH_SOCK", old_sock, 1);
	else
		unsetenv("SSH_AUTH_SOCK");
	unsetenv("SSH_ASKPASS_REQUIRE");
	free(old_sock);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		strbuf_trim_eol(&err);
		log_warn("no relay: the agent did not take the key: %s",
			 err.len ? err.buf : "ssh-add failed");
		strbuf_release(&err);
		agent_stop(a);
		return -1;
	}
	strbuf_release(&err);
	log_info("relay: a private agent holds the key for the hosts' ssh to each other");
	return 0;
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
	c.relay_agent = f->agent.socket;
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
	pid_t pid, parent;
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
	parent = getpid();
	pid = fork();
	if (pid < 0) {
		log_error("host %s: cannot start its supervisor: %s", h->t.address,
			  strerror(errno));
		store_transfer_finish_orphan(f->st, h->t.id, &owner, TRANSFER_FAILED,
					     "its supervisor could not be started");
		return SYNC_OK;
	}
	if (pid == 0)
		run_host(f, h, &owner, parent);
	h->pid = pid;
	h->started = true;
	return SYNC_OK;
}

/* Reap the hosts' supervisors that ended. */
static void
reap_hosts(struct fanout *f)
{
	size_t i;

	/* Each by its pid: the agent is a child of ours too. */
	for (i = 0; i < f->n; i++) {
		struct fanout_host *h = &f->h[i];
		struct transfer t;

		if (h->pid <= 0 || waitpid(h->pid, NULL, WNOHANG) != h->pid)
			continue;
		h->pid = 0;
		/* Ended without recording its end (killed): interrupted, for resume. */
		if (store_transfer_get(f->st, h->t.id, &t) < 0)
			continue;
		if (!transfer_state_finished(t.state) &&
		    store_transfer_mark_interrupted(f->st, t.id, &t.supervisor,
						    "its supervisor ended unexpectedly") ==
		    SYNC_ERR_NOT_FOUND && t.state == TRANSFER_QUEUED)
			store_transfer_finish(f->st, t.id, TRANSFER_INTERRUPTED,
					      "its supervisor ended before it started");
		transfer_release(&t);
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
	size_t i, not_done = 0, stopped = 0, interrupted = 0;
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
		interrupted += h->t.state == TRANSFER_INTERRUPTED;
		strbuf_addf(&list, "%s%s: %s", list.len ? "; " : "", h->t.address,
			    h->t.error ? h->t.error : transfer_state_name(h->t.state));
	}
	/* Every host has a transfer of the request's, or the request is not done. */
	if (f->n < f->t.fanout) {
		not_done += f->t.fanout - f->n;
		strbuf_addf(&list, "%s%u hosts' transfers are missing", list.len ? "; " : "",
			    f->t.fanout - (unsigned)f->n);
	}
	if (not_done == 0)
		end = TRANSFER_DONE;
	else if (f->stopping)
		end = for_good ? TRANSFER_TERMINATED : TRANSFER_INTERRUPTED;
	else if (interrupted)
		/* A host's supervisor was killed: resume (without an id too) goes on. */
		end = TRANSFER_INTERRUPTED;
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
	{
		/* A name may hold a line break: one log line, as every message's. */
		struct strbuf shown = STRBUF_INIT;

		escape_untrusted(&shown, f.t.source, strlen(f.t.source));
		log_info("transfer of '%s' to %zu hosts (%s) started", shown.buf, f.n, f.t.address);
		strbuf_release(&shown);
	}
	/* What a killed supervisor of the request left (its agent's directory). */
	supervisor_remove_stale(st, f.t.id);
	/* A relay tree: the hosts' ssh to each other use the request's agent. */
	for (i = 0; i < f.n; i++)
		if (f.h[i].t.feed_id && f.h[i].t.state != TRANSFER_DONE) {
			agent_start(&f);
			break;
		}
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
	/* Every host's supervisor has ended: nothing forwards the key any more. */
	agent_stop(&f.agent);
	strbuf_release(&why);
	restore_signals();
	fanout_release(&f);
	return rc;
}
