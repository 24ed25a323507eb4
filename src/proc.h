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

/*
 * The node a process runs on: the kernel's boot (a random id for each
 * boot), the PID namespace (its inode) and the host name. A state
 * directory on a file system shared by several nodes holds records of
 * processes that this node cannot see: pid and start time mean something
 * only on the same boot and in the same PID namespace. boot[0] == '\0':
 * not recorded (a record from before nodes were kept), taken as this node.
 */
#define PROC_BOOT_MAX 40
#define PROC_HOST_MAX 256
struct proc_node {
	char boot[PROC_BOOT_MAX];
	uint64_t pidns;
	char host[PROC_HOST_MAX];
};

struct proc_id {
	pid_t pid;
	uint64_t start;   /* start time, clock ticks since boot */
	uid_t uid;        /* effective owner */
	struct proc_node node;
};

/* The node this process runs on (borrowed; read once). */
const struct proc_node *proc_node_self(void);

/*
 * True when id was recorded on another node that may still run it: this
 * node can neither see it nor judge it dead, signal it or clean up after
 * it. False for a record of this node, one without a node, and one of
 * this host (same name) from an earlier boot: that process is gone.
 */
bool proc_elsewhere(const struct proc_id *id);

/*
 * True when id may still be alive: it runs here (proc_matches), or on
 * another node (proc_elsewhere). What "never two writers" asks of a record.
 */
bool proc_alive_anywhere(const struct proc_id *id);

/* Fill id for a running pid, on this node. SYNC_ERR_NOT_FOUND when there is none. */
int proc_lookup(pid_t pid, struct proc_id *id);

/* Fill id for the calling process. */
int proc_self(struct proc_id *id);

/*
 * True when id.pid is alive (not a zombie), started at id.start and is
 * owned by id.uid: the same process that was recorded. Always false for a
 * process recorded on another node or an earlier boot.
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
