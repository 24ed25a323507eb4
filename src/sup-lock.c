/* sup-lock: a transfer's hold on the far side's lock of its destination (see farlock.h). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "farlock.h"
#include "log.h"
#include "proc.h"
#include "store.h"
#include "sup-internal.h"
#include "util.h"

/* Is the process a lock's tag names ("... (process PID)") alive on this node? */
bool
tag_process_alive(const char *tag)
{
	const char *p = strstr(tag, "(process "), *end;
	unsigned long long pid;
	char *num;
	bool alive = false;

	if (p == NULL || (end = strchr(p += strlen("(process "), ')')) == NULL)
		return false;
	num = xstrndup(p, (size_t)(end - p));
	if (parse_ullong(num, 1, INT32_MAX, &pid) == 0)
		alive = kill((pid_t)pid, 0) == 0 || errno == EPERM;
	free(num);
	return alive;
}

/* What the lock file says of its holder: this transfer, node and process. */
static char *
lock_tag(const struct sup *s)
{
	return xasprintf("transfer %lld on node %s (process %ld)", (long long)s->t.id,
			 proc_node_self()->host, (long)getpid());
}

/*
 * Ask the far side for the lock now and read its answer later
 * (take_far_lock), so that its round trips overlap the walk or the first
 * mkdir.
 * Until the answer is read nothing goes into the destination but the
 * directories above the cut, which a writer holding the lock makes too.
 */
void
ask_far_lock(struct sup *s)
{
	char msg[512], *tag;

	if (strchr(s->t.destination, '\n') || strchr(s->source_rel, '\n'))
		return;
	tag = lock_tag(s);
	s->lock_asked = far_lock_begin(&s->lock, &s->target, s->t.destination, s->source_rel,
				       tag, msg, sizeof msg) == SYNC_OK;
	free(tag);
}

/*
 * Take the far side's lock on what lands as DEST/NAME (farlock.h) before
 * anything is written there, and learn where the destination is: another
 * writer, from this node or any other, and under any spelling of the host
 * or the destination, makes this transfer fail and says which it is.
 * again: the lock was had and lost with the link, in the middle of the
 * transfer.
 */
int
take_far_lock(struct sup *s, bool again)
{
	char msg[512], *tag, *mine;
	double wait_until = 0;
	int rc, timeout = again ? 10 : CONNECT_TIMEOUT + 30;

	/* A newline cannot travel to a csh inside quotes. */
	if (strchr(s->t.destination, '\n') || strchr(s->source_rel, '\n')) {
		log_warn("the destination is not locked on the far side: its name holds a newline");
		return SYNC_OK;
	}
	tag = lock_tag(s);
	mine = xasprintf("transfer %lld on node %s (", (long long)s->t.id,
			 proc_node_self()->host);
	for (;;) {
		/* Again, in the middle of a transfer: a short wait, the units are waiting. */
		if (s->lock_asked)
			rc = far_lock_answer(&s->lock, timeout, msg, sizeof msg);
		else
			rc = far_lock_take(&s->lock, &s->target, s->t.destination, s->source_rel,
					   tag, timeout, msg, sizeof msg);
		s->lock_asked = false;
		/*
		 * Asked early over a kept connection without making the
		 * destination (ask_far_lock): it is not there yet. Asked again
		 * now, to make it: the transfer goes on.
		 */
		if (rc == SYNC_OK && s->lock.absent && s->lock.keep_absent && !again) {
			s->lock.keep_absent = false;
			continue;
		}
		/*
		 * This transfer's, from an earlier run of it here (killed while
		 * its link was down), or from this run, asked over a kept
		 * connection that ended (master_wait): the far side lets go once
		 * no heartbeat has come for FAR_LOCK_DEAD seconds. Wait for that.
		 */
		if (again || rc != SYNC_ERR_EXISTS || strncmp(msg, mine, strlen(mine)) != 0 ||
		    (tag_process_alive(msg) && strcmp(msg, tag) != 0) || got_stop_signal)
			break;
		if (wait_until == 0) {
			wait_until = now_monotonic() + FAR_LOCK_DEAD + 10;
			log_info("the far side still holds the lock of an earlier connection of "
				 "this transfer; waiting until it lets go");
		}
		if (now_monotonic() > wait_until)
			break;
		sleep(5);
	}
	/* Taken again after a dropped link, it makes the destination as any writer does. */
	s->lock.keep_absent = false;
	free(mine);
	/*
	 * Our own, from a connection that dropped: the far side lets it go
	 * when no heartbeat has come for a while (farlock.h).
	 */
	if (rc == SYNC_ERR_EXISTS && again && strcmp(msg, tag) == 0) {
		log_info("the far side still holds this transfer's lock from a dropped "
			 "connection; trying again later");
		msg[0] = '\0';
		rc = SYNC_ERR_REMOTE;
	}
	free(tag);
	if (rc == SYNC_ERR_EXISTS) {
		set_failure(s, "the destination '%s' is being written by %s", s->shown_dest, msg);
		s->aborting = true;
		return rc;
	}
	if (rc < 0) {
		if (again) {
			if (msg[0])
				log_warn("cannot lock the destination on the far side again: %s",
					 msg);
			return rc;
		}
		if (s->lock.no_destination)
			set_failure(s, "cannot create destination '%s': %s", s->shown_dest, msg);
		else
			set_failure(s, "cannot lock the destination '%s' on the far side: %s",
				    s->shown_dest, msg);
		return rc;
	}
	if (!s->lock.held) {
		log_warn("the destination is not locked on the far side: %s", msg);
		return SYNC_OK;
	}
	s->lock_wanted = true;
	s->changed |= s->lock.made;
	if (again)
		log_info("the lock on the destination is held again");
	/* Other spellings of this destination are now the same request. */
	if (!again && s->lock.where &&
	    store_transfer_set_far_destination(s->st, s->t.id, s->lock.where) < 0)
		log_warn("cannot record where the destination is: %s", store_errmsg(s->st));
	return SYNC_OK;
}

/*
 * May rsyncs start now, as far as the far side's lock goes? Its
 * connection may have ended (a dropped link): it is asked for again first,
 * at most every 2 s, and the answer holds for the rsyncs started right
 * after it. Held again: yes. Held by another writer: no, and the transfer
 * stops. The far side not reached: yes, since an rsync cannot reach it
 * either (it fails, and uses up an attempt, so that a link that stays
 * down ends the transfer as before); nor can one write there while this
 * transfer's own dropped holder still has the lock. Between two asks: no,
 * so that no rsync starts on an answer older than the link.
 */
bool
far_lock_ready(struct sup *s)
{
	int rc;

	if (!s->lock_wanted || s->lock.held)
		return true;
	if (s->aborting || now_monotonic() < s->lock_retry_at)
		return false;
	rc = take_far_lock(s, true);
	if (rc == SYNC_OK)
		return true;
	if (rc == SYNC_ERR_EXISTS)
		return false;
	s->lock_retry_at = now_monotonic() + 2;
	return true;
}
