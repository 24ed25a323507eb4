/* proc: identify processes by pid, start time and owner (see proc.h). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

#if defined(HAVE_LIBPROC2)
#include <libproc2/pids.h>
#elif defined(HAVE_LIBPROCPS)
#include <proc/readproc.h>
#else
#error "proc.c needs libproc2 or libprocps"
#endif

#include "proc.h"
#include "util.h"

/* What one look at /proc/<pid> yields. */
struct proc_info {
	struct proc_id id;
	pid_t tgid;       /* the process a task belongs to */
	char state;       /* one letter, as in /proc/<pid>/stat */
};

#if defined(HAVE_LIBPROC2)

/*
 * The items we ask libproc2 for, in stack order.
 *
 * PIDS_ID_EUID alone is the owner of the /proc/<pid> directory, which
 * kernels before 4.11 make root for a process that is not dumpable (one
 * that changed its uid, or called prctl(PR_SET_DUMPABLE, 0)); containers
 * on old HPC hosts run such kernels. Asking for an item from the status
 * file as well makes libproc2 read it, and then the euid comes from its
 * "Uid:" line. PIDS_ID_RUID is that item; we do not use its value.
 */
enum { I_PID, I_TGID, I_BEGAN, I_EUID, I_STATE, I_RUID, I_COUNT };
static enum pids_item proc_items[I_COUNT] = {
	[I_PID] = PIDS_ID_PID,
	[I_TGID] = PIDS_ID_TGID,
	[I_BEGAN] = PIDS_TICS_BEGAN,
	[I_EUID] = PIDS_ID_EUID,
	[I_STATE] = PIDS_STATE,
	[I_RUID] = PIDS_ID_RUID,
};

/*
 * Read pid with libproc2. The stack is read directly rather than through
 * PIDS_VAL, whose arguments changed in procps-ng 4.0.5.
 */
static int
proc_read(pid_t pid, struct proc_info *pi)
{
	struct pids_info *info = NULL;
	struct pids_fetch *fetch;
	struct pids_result *r;
	unsigned int want = (unsigned int)pid;
	int rc, saved_errno;

	if ((rc = procps_pids_new(&info, proc_items, I_COUNT)) < 0) {
		errno = -rc;
		return SYNC_ERR_SYSTEM;
	}
	errno = 0;
	if ((fetch = procps_pids_select(info, &want, 1, PIDS_SELECT_PID)) == NULL) {
		if (errno == 0)
			errno = EIO;
		rc = SYNC_ERR_SYSTEM;
		goto out;
	}
	if (fetch->counts->total < 1 || fetch->stacks[0] == NULL) {
		rc = SYNC_ERR_NOT_FOUND;
		goto out;
	}
	r = fetch->stacks[0]->head;
	pi->id.pid = r[I_PID].result.s_int;
	pi->id.start = r[I_BEGAN].result.ull_int;
	pi->id.uid = r[I_EUID].result.u_int;
	pi->tgid = r[I_TGID].result.s_int;
	pi->state = (char)r[I_STATE].result.s_ch;
	rc = 0;
out:
	saved_errno = errno;
	procps_pids_unref(&info);
	errno = saved_errno;
	return rc;
}

#elif defined(HAVE_LIBPROCPS)

/*
 * Read pid with libprocps (procps-ng 3.3). PROC_FILLSTATUS makes euid and
 * tgid come from the status file rather than from the directory's owner
 * and the pid we asked for. The library exits on allocation failure.
 */
static int
proc_read(pid_t pid, struct proc_info *pi)
{
	pid_t list[2] = { pid, 0 };   /* PROC_PID takes a 0-terminated list */
	PROCTAB *pt;
	proc_t *p;
	int rc;

	errno = 0;
	pt = openproc(PROC_FILLSTAT | PROC_FILLSTATUS | PROC_PID, list);
	if (pt == NULL) {
		if (errno == 0)
			errno = EIO;
		return SYNC_ERR_SYSTEM;
	}
	if ((p = readproc(pt, NULL)) == NULL) {
		rc = SYNC_ERR_NOT_FOUND;
		goto out;
	}
	pi->id.pid = p->tid;
	pi->id.start = p->start_time;
	pi->id.uid = (uid_t)p->euid;
	pi->tgid = p->tgid;
	pi->state = p->state;
	rc = 0;
out:
	freeproc(p);   /* accepts NULL */
	closeproc(pt);
	return rc;
}

#endif

/* Return true for the states of a task that has exited. */
static bool
proc_state_dead(char state)
{
	/* Zombie, or dead ('x' on Linux 2.6.33 to 3.13). */
	return state == 'Z' || state == 'X' || state == 'x';
}

/* Fill id for a running process; threads and zombies are not found. */
int
proc_lookup(pid_t pid, struct proc_id *id)
{
	struct proc_info pi;
	int rc;

	/* 0 and negative pids name groups for kill(2), never one process. */
	if (pid <= 0)
		return SYNC_ERR_NOT_FOUND;
	if ((rc = proc_read(pid, &pi)) < 0)
		return rc;
	/*
	 * /proc/<tid> exists for every thread, though it is not listed; a
	 * thread is not a process. An exited process is not running.
	 */
	if (pi.id.pid != pid || pi.tgid != pid || proc_state_dead(pi.state))
		return SYNC_ERR_NOT_FOUND;
	*id = pi.id;
	return 0;
}

/* Fill id for the calling process. */
int
proc_self(struct proc_id *id)
{
	return proc_lookup(getpid(), id);
}

/* Check that the recorded process is still alive and is the same one. */
bool
proc_matches(const struct proc_id *id)
{
	struct proc_id now;

	if (proc_lookup(id->pid, &now) < 0)
		return false;
	return now.start == id->start && now.uid == id->uid;
}

/* Send sig to the recorded process if it is still the same one. */
int
proc_signal(const struct proc_id *id, int sig)
{
	if (!proc_matches(id))
		return SYNC_ERR_NOT_FOUND;
	/*
	 * Race: between the check and kill() the process could exit and,
	 * only if the kernel then cycled through every other free pid to
	 * hand this one out again, a newcomer would get the signal. Nothing
	 * runs between the two calls to widen that window of microseconds.
	 * (pidfd_open and pidfd_send_signal, Linux 5.3, would close it.)
	 */
	if (kill(id->pid, sig) == -1)
		return errno == ESRCH ? SYNC_ERR_NOT_FOUND : SYNC_ERR_SYSTEM;
	return 0;
}
