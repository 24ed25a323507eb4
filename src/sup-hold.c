/*
 * sup-hold: what a watch holds from one cycle to the next (struct
 * sup_hold): its shared connection, the far side's lock on its
 * destination, the far side's answer time, and whether the far side has
 * the directories of the cycles so far. A cycle takes the connection and
 * the lock when they are still good, and gives them back at its end
 * unless they are in doubt; the watch ends them at its own end.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "log.h"
#include "sup-internal.h"

void
sup_hold_init(struct sup_hold *h)
{
	memset(h, 0, sizeof *h);
	h->master = (struct ssh_master)SSH_MASTER_INIT;
	h->lock = (struct far_lock)FAR_LOCK_INIT;
	h->answer = -1;
}

/*
 * Has child *pid ended? Nobody reaps between cycles, and a cycle's
 * reaper of all children may have reaped it already (ECHILD). Reaped, it
 * is -1.
 */
static bool
hold_child_ended(pid_t *pid)
{
	pid_t r;
	int status;

	if (*pid <= 0)
		return true;
	while ((r = waitpid(*pid, &status, WNOHANG)) < 0 && errno == EINTR)
		;
	if (r == 0)
		return false;
	*pid = -1;
	return true;
}

/* End the lock and the connection held, the lock first: the far side lets go over it. */
static void
hold_drop(struct sup_hold *h, const struct ssh_target *t, double grace)
{
	bool stuck = far_lock_release(&h->lock, grace);

	/* The far side's holder may still hold a session of a kept connection. */
	if (stuck && t)
		ssh_master_end(&h->master, t);
	ssh_master_release(&h->master);
	h->master = (struct ssh_master)SSH_MASTER_INIT;
	h->lock = (struct far_lock)FAR_LOCK_INIT;
}

void
sup_hold_release(struct sup_hold *h, const struct supervisor_config *cfg,
		 const struct transfer *t)
{
	struct ssh_target target;

	supervisor_ssh_target(&target, cfg, t->user, t->address, t->port, t->key_path);
	/* The far side's letting go is waited for as at a run's end (rsync_close). */
	hold_drop(h, &target, got_stop_signal ? 1 : 2);
	free((char *)target.known_hosts);
}

bool
hold_take_master(struct sup *s)
{
	struct sup_hold *h = s->cfg->hold;
	struct ssh_master *m;
	pid_t r;
	int status;

	if (h == NULL)
		return false;
	m = &h->master;
	if (m->pid <= 0 && !m->kept)
		return false;
	/* Ended between cycles? A kept one gone to the background exits 0 (ssh_master_detached). */
	if (m->pid > 0) {
		while ((r = waitpid(m->pid, &status, WNOHANG)) < 0 && errno == EINTR)
			;
		if ((r == m->pid && !ssh_master_detached(m, m->pid, status)) ||
		    (r < 0 && errno == ECHILD))
			m->pid = -1;
	}
	if (!ssh_master_serves(m, &s->target) || !ssh_master_ready(m)) {
		/* The link dropped, or the far side restarted its sshd: the lock went with it. */
		log_info("the connection to '%s' kept from the last cycle has ended; "
			 "connecting again", s->shown_address);
		hold_drop(h, NULL, 0);
		return false;
	}
	s->master = *m;
	*m = (struct ssh_master)SSH_MASTER_INIT;
	free(s->control_path);
	s->control_path = xstrdup(s->master.control_path);
	s->master_lasts = s->master_from_hold = true;
	return true;
}

bool
hold_take_lock(struct sup *s)
{
	struct sup_hold *h = s->cfg->hold;
	struct far_lock *l;
	bool lost;

	if (h == NULL || !h->lock.held)
		return false;
	l = &h->lock;
	/* Its ssh ran over the connection held with it: one made afresh carries no lock. */
	lost = !s->master_from_hold;
	lost |= hold_child_ended(&l->ssh_pid);
	lost |= hold_child_ended(&l->beat_pid);
	if (lost) {
		log_info("the far side's lock held since the last cycle is lost; asking again");
		far_lock_release(l, 0);
		*l = (struct far_lock)FAR_LOCK_INIT;
		return false;
	}
	s->lock = *l;
	*l = (struct far_lock)FAR_LOCK_INIT;
	s->lock.stop = &got_stop_signal;
	/* Made by the cycle that took it, not by this one. */
	s->lock.made = false;
	s->lock_wanted = true;
	s->lock_kept = true;
	return true;
}

bool
hold_give_back(struct sup *s)
{
	struct sup_hold *h = s->cfg->hold;
	struct far_lock *l = &s->lock;
	bool lock_good;

	/*
	 * A stop ends the watch after this cycle, which then ends as a run
	 * does: the lock let go before its end is recorded.
	 */
	if (h == NULL || got_stop_signal || !s->master_lasts || s->master_stuck ||
	    !ssh_master_ready(&s->master))
		return false;
	lock_good = l->held && l->out_fd < 0 && !hold_child_ended(&l->ssh_pid) &&
		    !hold_child_ended(&l->beat_pid);
	/* Asked and never answered, or lost: ended now, as at a run's end. */
	if (!lock_good && far_lock_release(l, 2)) {
		s->master_stuck = true;
		return false;
	}
	if (lock_good) {
		h->lock = *l;
		*l = (struct far_lock)FAR_LOCK_INIT;
	}
	h->master = s->master;
	s->master = (struct ssh_master)SSH_MASTER_INIT;
	return true;
}

/* Is path in sv, sorted as path_tree_cmp() sorts? */
static bool
hold_tree_listed(const struct strvec *sv, const char *path)
{
	size_t at;

	return sorted_find_by(sv, path, path_tree_cmp, &at);
}

bool
hold_dirs_there(const struct sup *s)
{
	const struct sup_hold *h = s->cfg->hold;
	const struct strvec *trees = s->cfg->only_trees, *lists[2];
	struct strbuf prefix = STRBUF_INIT;
	bool there;
	size_t i, k;

	if (h == NULL || !h->dirs_there || !s->cfg->partial || !s->have_dirs || trees == NULL)
		return false;
	/*
	 * What is new on the far side lies in this cycle's new trees: a path
	 * below one of them would need the tree's directory made first.
	 */
	lists[0] = trees;
	lists[1] = s->cfg->only_changed;
	there = true;
	for (k = 0; k < 2 && there && trees->nr > 0; k++) {
		for (i = 0; lists[k] && i < lists[k]->nr && there; i++) {
			const char *p = lists[k]->v[i], *slash;

			for (slash = strchr(p, '/'); slash && there;
			     slash = strchr(slash + 1, '/')) {
				strbuf_reset(&prefix);
				strbuf_add(&prefix, p, (size_t)(slash - p));
				there = !hold_tree_listed(trees, prefix.buf);
			}
		}
	}
	strbuf_release(&prefix);
	return there;
}
