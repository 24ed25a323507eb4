/*
 * proc: identify processes without trusting a pid alone.
 *
 * A process is named by (pid, start time, owner). The start time is the
 * kernel's start time in clock ticks since boot, which does not change for
 * the life of the process and differs for a later process that reuses the
 * pid. Built on libproc2 (procps-ng 4) or, where that is what the system
 * has, libprocps.
 */
#ifndef SCOW_SYNC_PROC_H
#define SCOW_SYNC_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_id {
	pid_t pid;
	uint64_t start;   /* start time, clock ticks since boot */
	uid_t uid;        /* effective owner */
};

/* Fill id for a running pid. SYNC_ERR_NOT_FOUND when there is none. */
int proc_lookup(pid_t pid, struct proc_id *id);

/* Fill id for the calling process. */
int proc_self(struct proc_id *id);

/*
 * True when id.pid is alive (not a zombie), started at id.start and is
 * owned by id.uid: the same process that was recorded.
 */
bool proc_matches(const struct proc_id *id);

/*
 * Send sig to the recorded process only if proc_matches() holds.
 * SYNC_ERR_NOT_FOUND when it is gone or is another process now.
 */
int proc_signal(const struct proc_id *id, int sig);

/*
 * The session id of the recorded process; SYNC_ERR_NOT_FOUND when it is
 * gone or is another process now.
 */
int proc_session(const struct proc_id *id, pid_t *sid);

/*
 * Send sig (0: only count) to every live process of session sid that is
 * owned by first->uid and started no earlier than first: the processes a
 * detached supervisor (first) left behind, when the session was made for
 * it. Refuses (SYNC_ERR_INVALID) the caller's own session, another user's,
 * and a session whose leader is alive (one made since with the same
 * number: the leader of ours exited at once). *n gets how many there were.
 */
int proc_signal_session(pid_t sid, const struct proc_id *first, int sig, size_t *n);

/*
 * proc_signal_session for a supervisor nobody saw alive, whose session's
 * number may belong to a later session of ours by now: only the members
 * whose command line holds mark (the transfer's private directory, a
 * mkdtemp name, which the ssh and rsync of no other transfer name).
 */
int proc_signal_session_marked(pid_t sid, const struct proc_id *first, const char *mark,
			       int sig, size_t *n);

#endif
