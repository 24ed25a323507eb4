/* stop: stopping a transfer or a part of one from outside (see stop.h). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "proc.h"
#include "stop.h"
#include "store.h"
#include "supervisor.h"
#include "util.h"

#define STOP_SESSION_WAIT 5.0   /* seconds for what a dead supervisor left to end */

void
stop_report_init(struct stop_report *r)
{
	memset(r, 0, sizeof *r);
	strbuf_init(&r->why, 0);
}

void
stop_report_release(struct stop_report *r)
{
	strbuf_release(&r->why);
	free(r->address);
	r->address = NULL;
}

bool
stop_can_act(struct store *st, const struct transfer *t)
{
	uint64_t left = 0;

	if (!transfer_state_finished(t->state) || t->state == TRANSFER_INTERRUPTED)
		return true;
	return t->state == TRANSFER_TERMINATED &&
	       store_leftovers_count(st, t->id, &left) == SYNC_OK && left > 0;
}

/*
 * Does a transfer run on another node sharing the state directory? This
 * node can neither signal its supervisor nor tell whether it lives, and
 * its partial data is being written: it is stopped there.
 */
static bool
stop_runs_elsewhere(enum transfer_state state, const struct proc_id *sup)
{
	return !transfer_state_finished(state) && proc_elsewhere(sup);
}

void
stop_ask(struct store *st, int64_t id, enum transfer_state state, const struct proc_id *sup)
{
	if (stop_runs_elsewhere(state, sup) || store_transfer_request_stop(st, id) < 0)
		return;
	if (state == TRANSFER_RUNNING)
		proc_signal(sup, SIGTERM);
}

/* Wait until the process is gone; false on timeout. */
static bool
stop_wait_gone(const struct proc_id *p, double seconds)
{
	double deadline = now_monotonic() + seconds;

	while (proc_matches(p)) {
		if (now_monotonic() > deadline)
			return false;
		poll(NULL, 0, 50);
	}
	return true;
}

/*
 * End what a dead detached supervisor left running in its session (its
 * workers end on their own when it dies, but not at once): SIGTERM, then
 * SIGKILL, until none is left. With mark, only the processes that name
 * it (see proc_signal_session_marked).
 */
static void
stop_end_session(const struct transfer *t, const char *mark)
{
	double deadline = now_monotonic() + STOP_SESSION_WAIT;
	bool killed = false;
	size_t n = 0;

	if (t->session <= 0)
		return;
	if (proc_signal_session_marked(t->session, &t->supervisor, mark, SIGTERM, &n) < 0 ||
	    n == 0)
		return;
	while (proc_signal_session_marked(t->session, &t->supervisor, mark, 0, &n) == 0 &&
	       n > 0) {
		/* What outlives SIGKILL is stuck in the kernel: not waited for forever. */
		if (now_monotonic() > deadline && killed)
			return;
		if (now_monotonic() > deadline) {
			proc_signal_session_marked(t->session, &t->supervisor, mark, SIGKILL, &n);
			deadline = now_monotonic() + STOP_KILL_WAIT;
			killed = true;
		}
		poll(NULL, 0, 50);
	}
}

/*
 * End what a supervisor nobody saw alive left (an ssh whose wrapper or
 * parent died with it, or that ignored its end): only the processes of
 * its session that name its private directory, whose name no later
 * transfer shares, since the session's number may be a later one's.
 */
static void
stop_end_unseen_session(struct store *st, const struct transfer *t)
{
	struct strbuf mark = STRBUF_INIT;
	char *dir = NULL;

	if (store_transfer_workdir(st, t->id, &dir) < 0 || dir == NULL || *dir != '/') {
		free(dir);
		return;
	}
	/* The directory itself, not a longer name that begins with it. */
	strbuf_addf(&mark, "%s/", dir);
	stop_end_session(t, mark.buf);
	strbuf_release(&mark);
	free(dir);
}

/*
 * Remove the partial data a stopped transfer still has recorded on the far
 * side (its supervisor could not: the link was down, it was killed).
 * STOP_DONE, or STOP_DONE_UNCLEAN with r->left (and r->why when the
 * settings were the cause).
 */
static enum stop_result
stop_clean(struct store *st, const struct transfer *t, const struct stop_env *env,
	   struct stop_report *r)
{
	struct supervisor_config cfg;
	struct transfer now;
	uint64_t left = 0;
	char err[512];
	bool ours;

	/* A resume may have taken it since: then its files are the new run's. */
	if (store_transfer_get(st, t->id, &now) < 0) {
		strbuf_addstr(&r->why, store_errmsg(st));
		return STOP_FAILED;
	}
	ours = now.state == TRANSFER_TERMINATED;
	transfer_release(&now);
	if (!ours)
		return STOP_DONE;
	supervisor_remove_stale(st, t->id);
	if (store_leftovers_count(st, t->id, &left) < 0 || left == 0)
		return STOP_DONE;
	r->left = left;
	free(r->address);
	r->address = xstrdup(t->address);
	if (supervisor_config_from_settings(&cfg, env->settings, err, sizeof err) < 0) {
		strbuf_addstr(&r->why, err);
		return STOP_DONE_UNCLEAN;
	}
	if (supervisor_clean_remote(st, t, &cfg) < 0 ||
	    (store_leftovers_count(st, t->id, &left) == 0 && left > 0)) {
		r->left = left;
		return STOP_DONE_UNCLEAN;
	}
	return STOP_DONE;
}

/*
 * A transfer whose owner is gone: finish it here, unless someone took it
 * over (SYNC_ERR_NOT_FOUND: look again). signalled: we saw it alive.
 */
static int
stop_orphan(struct store *st, const struct transfer *t, bool signalled, const struct stop_env *env,
	    struct stop_report *r, enum stop_result *result)
{
	int rc;

	if (signalled)
		stop_end_session(t, NULL);
	else
		stop_end_unseen_session(st, t);
	rc = store_transfer_finish_orphan(st, t->id, &t->supervisor, TRANSFER_TERMINATED,
					  signalled ? "terminated on request" :
					  "terminated on request after its supervisor had ended");
	if (rc == SYNC_ERR_NOT_FOUND)
		return rc;
	if (rc < 0) {
		strbuf_addstr(&r->why, store_errmsg(st));
		*result = STOP_FAILED;
		return SYNC_OK;
	}
	/* The files its units were moving when it died are among the leftovers. */
	store_units_reset_running(st, t->id);
	r->by_us = true;
	*result = stop_clean(st, t, env, r);
	/* It is stopped, recorded so: what could not be cleaned is what is left. */
	if (*result == STOP_FAILED)
		*result = STOP_DONE_UNCLEAN;
	return SYNC_OK;
}

enum stop_result
stop_transfer(struct store *st, int64_t id, const struct stop_env *env, struct stop_report *r)
{
	double start_deadline = now_monotonic() + STOP_START_WAIT, signalled_at = 0;
	struct proc_id signalled = { 0 };
	enum stop_result result = STOP_FAILED;
	bool requested = false;

	for (;;) {
		struct transfer t;

		if (store_transfer_get(st, id, &t) < 0) {
			strbuf_addstr(&r->why, store_errmsg(st));
			return STOP_FAILED;
		}
		r->sup = t.supervisor;
		if (stop_runs_elsewhere(t.state, &t.supervisor)) {
			transfer_release(&t);
			return STOP_ELSEWHERE;
		}
		if (transfer_state_finished(t.state) && t.state != TRANSFER_INTERRUPTED) {
			if (t.state == TRANSFER_TERMINATED) {
				/*
				 * Only a session we saw alive a moment ago is surely
				 * still its own.
				 */
				if (signalled.pid)
					stop_end_session(&t, NULL);
				r->by_us = requested;
				result = stop_clean(st, &t, env, r);
				if (result == STOP_FAILED && requested)
					result = STOP_DONE_UNCLEAN;   /* stopped by us */
			} else {
				r->state = t.state;
				result = STOP_ENDED_FIRST;
			}
			transfer_release(&t);
			return result;
		}
		if (!requested) {
			/* Say that this stop is for good (not a reboot's): no resume. */
			if (store_transfer_request_stop(st, id) < 0) {
				strbuf_addstr(&r->why, store_errmsg(st));
				transfer_release(&t);
				return STOP_FAILED;
			}
			requested = true;
			transfer_release(&t);
			continue;   /* look again: it may have moved on meanwhile */
		}
		if (!proc_matches(&t.supervisor)) {
			int rc = stop_orphan(st, &t, signalled.pid != 0, env, r, &result);

			transfer_release(&t);
			if (rc == SYNC_ERR_NOT_FOUND)
				continue;
			return result;
		}
		if (t.state == TRANSFER_RUNNING && (signalled.pid != t.supervisor.pid ||
						   signalled.start != t.supervisor.start)) {
			/*
			 * A live process we may not signal (a record naming
			 * another user's) never stops: say so, do not wait.
			 */
			if (proc_signal(&t.supervisor, SIGTERM) < 0 &&
			    proc_matches(&t.supervisor)) {
				transfer_release(&t);
				return STOP_NOT_OURS;
			}
			signalled = t.supervisor;
			signalled_at = now_monotonic();
		} else if (t.state == TRANSFER_RUNNING &&
			   now_monotonic() - signalled_at > env->stop_wait) {
			if (env->killing)
				env->killing(env->arg, id, env->stop_wait);
			proc_signal(&t.supervisor, SIGKILL);
			/*
			 * One that outlives SIGKILL is stuck in the kernel (a
			 * hung file system): waiting longer helps nobody.
			 */
			if (!stop_wait_gone(&t.supervisor, STOP_KILL_WAIT)) {
				transfer_release(&t);
				return STOP_STUCK;
			}
		} else if (t.state == TRANSFER_QUEUED && now_monotonic() > start_deadline) {
			/* Its start is stuck; the request stands, and the supervisor obeys it. */
			transfer_release(&t);
			return STOP_STARTING;
		}
		transfer_release(&t);
		poll(NULL, 0, 50);
	}
}

/* The result for what a supervisor recorded of a part. */
static enum stop_result
stop_part_result(enum exclusion_state state)
{
	switch (state) {
	case EXCLUSION_APPLIED: return STOP_DONE;
	case EXCLUSION_UNCLEAN: return STOP_DONE_UNCLEAN;
	case EXCLUSION_DONE: return STOP_ARRIVED;
	case EXCLUSION_ALREADY: return STOP_BEFORE;
	case EXCLUSION_NOMATCH: return STOP_NOT_PART;
	default: return STOP_FAILED;
	}
}

/* Stop a part of a transfer that has no supervisor: here, and for when it is resumed. */
static enum stop_result
stop_part_offline(struct store *st, int64_t id, enum transfer_state state,
		  const struct proc_id *sup, int64_t ex, const char *rel,
		  const struct stop_env *env, struct stop_report *r)
{
	enum exclusion_state done = EXCLUSION_PENDING;
	struct supervisor_config cfg;
	struct transfer t;
	char err[512];
	int rc;

	if (state == TRANSFER_RUNNING)
		store_transfer_mark_interrupted(st, id, sup,
						"the supervisor process ended unexpectedly");
	if (store_transfer_get(st, id, &t) < 0) {
		strbuf_addstr(&r->why, store_errmsg(st));
		return STOP_FAILED;
	}
	if (supervisor_config_from_settings(&cfg, env->settings, err, sizeof err) < 0) {
		strbuf_addstr(&r->why, err);
		transfer_release(&t);
		return STOP_FAILED;
	}
	rc = supervisor_stop_part(st, &t, &cfg, ex, rel, &done);
	transfer_release(&t);
	if (done == EXCLUSION_PENDING) {
		strbuf_addstr(&r->why, store_errmsg(st));
		return STOP_FAILED;
	}
	if (done == EXCLUSION_APPLIED)
		return rc < 0 ? STOP_DONE_UNCLEAN : STOP_DONE_OFFLINE;
	return stop_part_result(done);
}

enum stop_result
stop_part(struct store *st, int64_t id, enum transfer_state state, const struct proc_id *sup,
	  const char *rel, const char *path, const struct stop_env *env, struct stop_report *r)
{
	double deadline = now_monotonic() + STOP_PART_WAIT;
	enum exclusion_state done = EXCLUSION_PENDING;
	bool live, ended = false;
	struct stat sb;
	int64_t ex;

	r->sup = *sup;
	if (stop_runs_elsewhere(state, sup))
		return STOP_ELSEWHERE;
	if (store_exclusion_add(st, id, rel, &ex) < 0) {
		strbuf_addstr(&r->why, store_errmsg(st));
		return STOP_FAILED;
	}
	/* A supervisor still starting acts on it once its walk is done. */
	live = (state == TRANSFER_RUNNING || state == TRANSFER_QUEUED) && proc_matches(sup);
	if (live && state == TRANSFER_RUNNING && proc_signal(sup, SIGUSR1) < 0)
		live = false;
	if (!live)
		return stop_part_offline(st, id, state, sup, ex, rel, env, r);
	while (store_exclusion_state(st, ex, &done) == SYNC_OK && done == EXCLUSION_PENDING) {
		struct transfer t;

		if (store_transfer_get(st, id, &t) == SYNC_OK) {
			ended = transfer_state_finished(t.state);
			transfer_release(&t);
		}
		if (ended || now_monotonic() > deadline)
			break;
		poll(NULL, 0, 50);
	}
	if (done != EXCLUSION_PENDING)
		return stop_part_result(done);
	if (ended)
		/* What never existed was not part of it either. */
		return lstat(path, &sb) == 0 ? STOP_ENDED_FIRST : STOP_NOT_PART;
	return STOP_TIMEOUT;
}
