/* proc: identify processes by pid, start time and owner (see proc.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	pid_t sid;        /* its session */
	char state;       /* one letter, as in /proc/<pid>/stat */
};

/* Called for each process of the system by proc_each; non-zero stops. */
typedef int (*proc_each_fn)(const struct proc_info *pi, void *ctx);

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
enum { I_PID, I_TGID, I_BEGAN, I_EUID, I_STATE, I_RUID, I_SID, I_COUNT };
static enum pids_item proc_items[I_COUNT] = {
	[I_PID] = PIDS_ID_PID,
	[I_TGID] = PIDS_ID_TGID,
	[I_BEGAN] = PIDS_TICS_BEGAN,
	[I_EUID] = PIDS_ID_EUID,
	[I_STATE] = PIDS_STATE,
	[I_RUID] = PIDS_ID_RUID,
	[I_SID] = PIDS_ID_SESSION,
};

/* Fill pi from one libproc2 result stack. */
static void
proc_from_stack(const struct pids_result *r, struct proc_info *pi)
{
	pi->id.pid = r[I_PID].result.s_int;
	pi->id.start = r[I_BEGAN].result.ull_int;
	pi->id.uid = r[I_EUID].result.u_int;
	pi->tgid = r[I_TGID].result.s_int;
	pi->sid = r[I_SID].result.s_int;
	pi->state = (char)r[I_STATE].result.s_ch;
}

/* Call fn for every process (not thread) of the system. */
static int
proc_each(proc_each_fn fn, void *ctx)
{
	struct pids_info *info = NULL;
	struct pids_fetch *fetch;
	struct proc_info pi;
	int rc, saved_errno, i;

	if ((rc = procps_pids_new(&info, proc_items, I_COUNT)) < 0) {
		errno = -rc;
		return SYNC_ERR_SYSTEM;
	}
	errno = 0;
	if ((fetch = procps_pids_reap(info, PIDS_FETCH_TASKS_ONLY)) == NULL) {
		if (errno == 0)
			errno = EIO;
		rc = SYNC_ERR_SYSTEM;
		goto out;
	}
	rc = 0;
	for (i = 0; i < fetch->counts->total && rc == 0; i++) {
		if (fetch->stacks[i] == NULL)
			continue;
		proc_from_stack(fetch->stacks[i]->head, &pi);
		rc = fn(&pi, ctx);
	}
out:
	saved_errno = errno;
	procps_pids_unref(&info);
	errno = saved_errno;
	return rc < 0 ? rc : 0;
}

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
	proc_from_stack(r, pi);
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
	pi->sid = p->session;
	pi->state = p->state;
	rc = 0;
out:
	freeproc(p);   /* accepts NULL */
	closeproc(pt);
	return rc;
}

/* Call fn for every process of the system. */
static int
proc_each(proc_each_fn fn, void *ctx)
{
	struct proc_info pi;
	PROCTAB *pt;
	proc_t *p;
	int rc = 0;

	errno = 0;
	if ((pt = openproc(PROC_FILLSTAT | PROC_FILLSTATUS)) == NULL) {
		if (errno == 0)
			errno = EIO;
		return SYNC_ERR_SYSTEM;
	}
	while (rc == 0 && (p = readproc(pt, NULL)) != NULL) {
		pi.id.pid = p->tid;
		pi.id.start = p->start_time;
		pi.id.uid = (uid_t)p->euid;
		pi.tgid = p->tgid;
		pi.sid = p->session;
		pi.state = p->state;
		freeproc(p);
		rc = fn(&pi, ctx);
	}
	closeproc(pt);
	return rc < 0 ? rc : 0;
}

#endif

/* Return true for the states of a task that has exited. */
static bool
proc_state_dead(char state)
{
	/* Zombie, or dead ('x' on Linux 2.6.33 to 3.13). */
	return state == 'Z' || state == 'X' || state == 'x';
}

/* Read the first line of a small file into buf without its newline; "" on failure. */
static void
read_line_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	buf[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(buf, (int)len, f) == NULL)
		buf[0] = '\0';
	fclose(f);
	n = strcspn(buf, "\n");
	buf[n] = '\0';
}

/* Fill the node this process runs on. */
static void
node_read(struct proc_node *node)
{
	struct stat sb;

	memset(node, 0, sizeof *node);
	read_line_file("/proc/sys/kernel/random/boot_id", node->boot, sizeof node->boot);
	/*
	 * The inode of our PID namespace: two containers (or unshare(1)) on
	 * one kernel share the boot id but not the pids they see.
	 */
	if (stat("/proc/self/ns/pid", &sb) == 0)
		node->pidns = (uint64_t)sb.st_ino;
	if (gethostname(node->host, sizeof node->host - 1) < 0)
		node->host[0] = '\0';
	node->host[sizeof node->host - 1] = '\0';
	/* Never empty: an empty boot id means "not recorded". */
	if (node->boot[0] == '\0')
		snprintf(node->boot, sizeof node->boot, "unknown");
}

const struct proc_node *
proc_node_self(void)
{
	/* Constant for the life of the process: read once. */
	static struct proc_node self;
	static bool known;

	if (!known) {
		node_read(&self);
		known = true;
	}
	return &self;
}

/* Was id recorded on this node, in this boot? */
static bool
node_here(const struct proc_node *node)
{
	const struct proc_node *self = proc_node_self();

	return node->boot[0] == '\0' ||
	       (strcmp(node->boot, self->boot) == 0 && node->pidns == self->pidns);
}

bool
proc_elsewhere(const struct proc_id *id)
{
	const struct proc_node *self = proc_node_self();

	if (node_here(&id->node))
		return false;
	/*
	 * This host under the same name, booted since: everything it ran
	 * then is gone. (The same boot in another PID namespace is another
	 * node: a container, a simulated node.)
	 */
	if (strcmp(id->node.boot, self->boot) != 0 && strcmp(id->node.host, self->host) == 0)
		return false;
	return true;
}

bool
proc_alive_anywhere(const struct proc_id *id)
{
	return proc_elsewhere(id) || proc_matches(id);
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
	id->node = *proc_node_self();
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

	/* A pid and start time from another node or boot name nothing here. */
	if (!node_here(&id->node) || proc_lookup(id->pid, &now) < 0)
		return false;
	return now.start == id->start && now.uid == id->uid;
}

/* Send sig to the recorded process if it is still the same one, and ours. */
int
proc_signal(const struct proc_id *id, int sig)
{
	/* A record naming another user's process is never acted on. */
	if (id->uid != geteuid() || !proc_matches(id))
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

int
proc_session(const struct proc_id *id, pid_t *sid)
{
	struct proc_info pi;
	int rc;

	*sid = 0;
	if (!proc_matches(id))
		return SYNC_ERR_NOT_FOUND;
	if ((rc = proc_read(id->pid, &pi)) < 0)
		return rc;
	*sid = pi.sid;
	return 0;
}

struct session_ctx {
	pid_t sid;
	uid_t uid;
	uint64_t not_before;
	int sig;
	size_t n;
	const char *mark;   /* when set: only processes whose command line holds it */
};

#define CMDLINE_MAX 65536   /* of a command line, looked at for a mark */

/* Does pid's command line (one of our own processes) hold mark? */
static bool
cmdline_holds(pid_t pid, const char *mark)
{
	char path[64], *buf = xmalloc(CMDLINE_MAX);
	size_t len = 0;
	ssize_t n;
	bool found;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		free(buf);
		return false;
	}
	while (len < CMDLINE_MAX &&
	       ((n = read(fd, buf + len, CMDLINE_MAX - len)) > 0 || (n < 0 && errno == EINTR)))
		if (n > 0)
			len += (size_t)n;
	close(fd);
	found = memmem(buf, len, mark, strlen(mark)) != NULL;
	free(buf);
	return found;
}

static int
signal_member(const struct proc_info *pi, void *ctx)
{
	struct session_ctx *sc = ctx;

	if (pi->sid != sc->sid || pi->id.uid != sc->uid || pi->id.start < sc->not_before ||
	    pi->id.pid != pi->tgid || pi->id.pid == getpid() || proc_state_dead(pi->state))
		return 0;
	if (sc->mark && !cmdline_holds(pi->id.pid, sc->mark))
		return 0;
	if (sc->sig == 0 || kill(pi->id.pid, sc->sig) == 0)
		sc->n++;
	return 0;
}

int
proc_signal_session(pid_t sid, const struct proc_id *first, int sig, size_t *n)
{
	return proc_signal_session_marked(sid, first, NULL, sig, n);
}

int
proc_signal_session_marked(pid_t sid, const struct proc_id *first, const char *mark,
			   int sig, size_t *n)
{
	struct session_ctx sc = { sid, first->uid, first->start, sig, 0, mark };
	int rc;

	*n = 0;
	/* Never our own session, nor another user's processes. */
	if (sid <= 1 || sid == getsid(0) || first->uid != geteuid())
		return SYNC_ERR_INVALID;
	/*
	 * The leader of a session made for a detached supervisor exits at once.
	 * A live process with the session's number is a leader of a session of
	 * the same number made since: not ours.
	 */
	if (proc_lookup(sid, &(struct proc_id){ 0 }) == 0)
		return SYNC_ERR_INVALID;
	rc = proc_each(signal_member, &sc);
	*n = sc.n;
	return rc;
}
