/* Unit tests for proc: lookups, matching and signalling by identity. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"
#include "util.h"
#include "unit.h"

/* A child that waits for its pipe to close, then exits 0. */
struct child {
	pid_t pid;
	int fd;           /* write end; closing it lets the child exit */
};

/* Start a child and wait until it is running (and, if asked, not dumpable). */
static void
child_start(struct child *c, bool undumpable)
{
	int go[2], ready[2];
	char b;

	if (pipe(go) == -1 || pipe(ready) == -1)
		fatal("pipe: %s", strerror(errno));
	if ((c->pid = fork()) == -1)
		fatal("fork: %s", strerror(errno));
	if (c->pid == 0) {
		close(go[1]);
		close(ready[0]);
		if (undumpable)
			prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		while (read(go[0], &b, 1) == -1 && errno == EINTR)
			;
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	while (read(ready[0], &b, 1) == -1 && errno == EINTR)
		;
	close(ready[0]);
	c->fd = go[1];
}

/* Reap the child and return its wait status. */
static int
child_reap(struct child *c)
{
	int st = -1;

	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	while (waitpid(c->pid, &st, 0) == -1 && errno == EINTR)
		;
	return st;
}

/* Return true while the child has not exited (it is not even a zombie). */
static bool
child_running(const struct child *c)
{
	siginfo_t si;

	si.si_pid = 0;
	if (waitid(P_PID, c->pid, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
		return false;
	return si.si_pid == 0;
}

/* Check the calling process looks itself up. */
static void
test_self(void)
{
	struct proc_id a, b;

	CHECK_INT(proc_self(&a), SYNC_OK);
	CHECK_INT(a.pid, getpid());
	CHECK_INT(a.uid, geteuid());
	CHECK(a.start != 0);
	CHECK_INT(proc_lookup(getpid(), &b), SYNC_OK);
	CHECK(b.start == a.start);
	CHECK(proc_matches(&a));
	CHECK_INT(proc_signal(&a, 0), SYNC_OK);
}

/* Check a live child matches, is signalled and is gone once reaped. */
static void
test_child(void)
{
	struct proc_id self, id;
	struct child c;
	int st;

	CHECK_INT(proc_self(&self), SYNC_OK);
	child_start(&c, false);
	CHECK_INT(proc_lookup(c.pid, &id), SYNC_OK);
	CHECK_INT(id.pid, c.pid);
	CHECK_INT(id.uid, geteuid());
	CHECK(id.start >= self.start);
	CHECK(proc_matches(&id));

	CHECK_INT(proc_signal(&id, SIGTERM), SYNC_OK);
	st = child_reap(&c);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);

	CHECK(!proc_matches(&id));
	CHECK_INT(proc_signal(&id, SIGTERM), SYNC_ERR_NOT_FOUND);
	CHECK_INT(proc_lookup(c.pid, &id), SYNC_ERR_NOT_FOUND);
}

/* Check a record that differs in start time or owner is left alone. */
static void
test_wrong_identity(void)
{
	struct proc_id id, other;
	struct child c;
	int st;

	child_start(&c, false);
	CHECK_INT(proc_lookup(c.pid, &id), SYNC_OK);

	other = id;
	other.start = id.start + 1;
	CHECK(!proc_matches(&other));
	CHECK_INT(proc_signal(&other, SIGKILL), SYNC_ERR_NOT_FOUND);
	other.start = id.start - 1;
	CHECK(!proc_matches(&other));
	CHECK_INT(proc_signal(&other, SIGKILL), SYNC_ERR_NOT_FOUND);

	other = id;
	other.uid = id.uid + 1;
	CHECK(!proc_matches(&other));
	CHECK_INT(proc_signal(&other, SIGKILL), SYNC_ERR_NOT_FOUND);

	/* Still there, untouched. */
	CHECK(child_running(&c));
	CHECK(proc_matches(&id));

	st = child_reap(&c);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Check an exited child that is not reaped yet counts as gone. */
static void
test_zombie(void)
{
	struct proc_id id, tmp;
	struct child c;
	siginfo_t si;
	int st;

	child_start(&c, false);
	CHECK_INT(proc_lookup(c.pid, &id), SYNC_OK);
	close(c.fd);
	c.fd = -1;
	/* Wait for it to exit but leave it a zombie. */
	si.si_pid = 0;
	while (waitid(P_PID, c.pid, &si, WEXITED | WNOWAIT) == -1 && errno == EINTR)
		;
	CHECK_INT(si.si_pid, c.pid);
	CHECK_INT(kill(c.pid, 0), 0);   /* the pid is still taken */

	CHECK(!proc_matches(&id));
	CHECK_INT(proc_signal(&id, SIGKILL), SYNC_ERR_NOT_FOUND);
	CHECK_INT(proc_lookup(c.pid, &tmp), SYNC_ERR_NOT_FOUND);

	st = child_reap(&c);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/*
 * Check a process that is not dumpable keeps its owner. Before Linux 4.11
 * its /proc/<pid> directory is root's; only then does this test bite.
 */
static void
test_undumpable(void)
{
	struct proc_id id;
	struct child c;

	child_start(&c, true);
	CHECK_INT(proc_lookup(c.pid, &id), SYNC_OK);
	CHECK_INT(id.uid, geteuid());
	CHECK(proc_matches(&id));
	child_reap(&c);
}

/* Check pid 1 is found but is not ours unless we are root. */
static void
test_init(void)
{
	struct proc_id id, mine;

	CHECK_INT(proc_lookup(1, &id), SYNC_OK);
	CHECK_INT(id.pid, 1);
	CHECK(proc_matches(&id));
	if (geteuid() != 0 && id.uid != geteuid()) {
		mine = id;
		mine.uid = geteuid();
		CHECK(!proc_matches(&mine));
		CHECK_INT(proc_signal(&mine, 0), SYNC_ERR_NOT_FOUND);
	}
}

/*
 * Check pids that kill(2) reads as groups are never looked up or signalled.
 * Signal 0 only: should this fail, kill(-1, SIGKILL) would be a disaster.
 */
static void
test_bad_pids(void)
{
	static const pid_t bad[] = { 0, -1, -2, (pid_t)0x7fffffff };
	struct proc_id self, id;
	size_t k;

	CHECK_INT(proc_self(&self), SYNC_OK);
	for (k = 0; k < sizeof bad / sizeof *bad; k++) {
		CHECK_INT(proc_lookup(bad[k], &id), SYNC_ERR_NOT_FOUND);
		id = self;
		id.pid = bad[k];
		CHECK(!proc_matches(&id));
		CHECK_INT(proc_signal(&id, 0), SYNC_ERR_NOT_FOUND);
	}
}

/* A record that names another owner is never signalled, even for a live pid. */
static void
test_other_owner(void)
{
	struct child c;
	struct proc_id id;

	child_start(&c, false);
	CHECK_INT(proc_lookup(c.pid, &id), 0);
	id.uid = geteuid() + 1;
	CHECK_INT(proc_signal(&id, SIGKILL), SYNC_ERR_NOT_FOUND);
	CHECK(child_running(&c));
	CHECK(WIFEXITED(child_reap(&c)));
}

/*
 * What a detached supervisor leaves in the session made for it is found
 * and signalled, once the session's leader has gone (as start's middle
 * child does); a session whose leader is alive, and our own, never are.
 */
static void
test_session(void)
{
	int ready[2];
	struct proc_id leader, self;
	pid_t pid;
	size_t n = 0;
	char b;
	int i;

	CHECK(pipe(ready) == 0);
	if ((pid = fork()) == 0) {
		/* A session leader with two children; it waits to be told to go. */
		close(ready[0]);
		setsid();
		for (i = 0; i < 2; i++) {
			if (fork() == 0) {
				(void)!write(ready[1], "c", 1);
				for (;;)
					pause();
			}
		}
		(void)!write(ready[1], "l", 1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	for (i = 0; i < 3; i++)
		CHECK(read(ready[0], &b, 1) == 1);
	close(ready[0]);
	CHECK_INT(proc_lookup(pid, &leader), 0);
	/* Its leader alive: a session that may not be the one we knew. */
	CHECK_INT(proc_signal_session(pid, &leader, 0, &n), SYNC_ERR_INVALID);
	kill(pid, SIGTERM);
	child_reap(&(struct child){ pid, -1 });
	CHECK_INT(proc_signal_session(pid, &leader, 0, &n), 0);
	CHECK_INT(n, 2);
	CHECK_INT(proc_signal_session(pid, &leader, SIGKILL, &n), 0);
	CHECK_INT(n, 2);
	for (i = 0; i < 100; i++) {
		/* The orphans are reaped by init, in its own time. */
		if (proc_signal_session(pid, &leader, 0, &n) == 0 && n == 0)
			break;
		usleep(20000);
	}
	CHECK_INT(n, 0);
	CHECK_INT(proc_self(&self), 0);
	CHECK_INT(proc_signal_session(getsid(0), &self, 0, &n), SYNC_ERR_INVALID);
}

/* Records of other nodes are never judged here; this host after a reboot is. */
static void
test_nodes(void)
{
	struct proc_id self, id;

	CHECK_INT(proc_self(&self), SYNC_OK);
	CHECK(self.node.boot[0] != '\0');
	CHECK(!proc_elsewhere(&self));
	CHECK(proc_alive_anywhere(&self));
	/* Before nodes were recorded: this node, as before. */
	id = self;
	memset(&id.node, 0, sizeof id.node);
	CHECK(!proc_elsewhere(&id));
	CHECK(proc_matches(&id));
	/* Another PID namespace on this kernel: a container, another node. */
	id = self;
	id.node.pidns++;
	CHECK(proc_elsewhere(&id));
	CHECK(!proc_matches(&id));
	CHECK(proc_alive_anywhere(&id));
	CHECK_INT(proc_signal(&id, 0), SYNC_ERR_NOT_FOUND);
	/* Another machine. */
	id = self;
	snprintf(id.node.boot, sizeof id.node.boot, "another-boot");
	snprintf(id.node.host, sizeof id.node.host, "another-host");
	CHECK(proc_elsewhere(&id));
	CHECK(!proc_matches(&id));
	/* This host, booted since: the process is gone, whatever the pid now is. */
	snprintf(id.node.host, sizeof id.node.host, "%s", self.node.host);
	CHECK(!proc_elsewhere(&id));
	CHECK(!proc_matches(&id));
	CHECK(!proc_alive_anywhere(&id));
}

int
main(void)
{
	test_self();
	test_child();
	test_wrong_identity();
	test_zombie();
	test_undumpable();
	test_init();
	test_bad_pids();
	test_other_owner();
	test_session();
	test_nodes();
	return unit_done("test-proc");
}
