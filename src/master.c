/* master: the shared SSH connection of a transfer. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "master.h"
#include "spawn.h"

#define SAID_MAX 65536   /* a changed host key is a banner of 1 KiB; the cause is last */

/*
 * Make the directory of known_hosts (~/.ssh, private) when it is missing.
 * OpenSSH creates it only when it is the ~/.ssh of the account's home in
 * the password database: with $HOME elsewhere (sudo, a state directory
 * made for a service) it learns no host key at all, silently, so a host
 * key that changes later would go unnoticed.
 */
int
ssh_prepare_known_hosts(const char *known_hosts, char *err, size_t errlen)
{
	char *dir;
	int rc = 0;

	if (known_hosts == NULL)
		return 0;
	dir = path_dirname(known_hosts);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create '%s' for the host keys: %s", dir,
			 strerror(errno));
		rc = SYNC_ERR_SYSTEM;
	}
	free(dir);
	return rc;
}

int
ssh_master_start(struct ssh_master *m, const struct ssh_target *target,
		 const char *control_path)
{
	struct ssh_target t = *target;
	struct strvec argv = STRVEC_INIT;
	struct spawn sp;
	int rc;

	t.control_path = NULL;
	ssh_base_argv(&t, &argv);
	strvec_push(&argv, "-o");
	strvec_push(&argv, "ControlMaster=yes");
	strvec_push(&argv, "-o");
	strvec_pushf(&argv, "ControlPath=%s", control_path);
	strvec_push(&argv, "-o");
	strvec_push(&argv, "ControlPersist=no");
	strvec_push(&argv, "-N");
	strvec_push(&argv, t.host);

	memset(&sp, 0, sizeof sp);
	sp.argv = (const char *const *)argv.v;
	sp.pipe_stderr = true;
	sp.new_pgroup = true;
	sp.die_with_parent = true;
	rc = spawn_start(&sp);
	strvec_clear(&argv);
	if (rc < 0)
		return rc;
	m->pid = sp.pid;
	m->err_fd = sp.err_fd;
	set_nonblock(sp.err_fd);
	free(m->control_path);
	m->control_path = xstrdup(control_path);
	/* Who it serves, to tell whether a transfer can take it over. */
	free(m->user);
	free(m->host);
	free(m->key_path);
	m->user = xstrdup(t.user);
	m->host = xstrdup(t.host);
	m->key_path = xstrdup(t.key_path);
	m->port = t.port;
	strbuf_reset(&m->said);
	return 0;
}

/* Keep the tail of what ssh says; false once it has closed its stderr. */
static bool
read_said(struct ssh_master *m)
{
	char buf[4096];
	ssize_t n;

	if (m->err_fd < 0)
		return false;
	while ((n = read(m->err_fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
		if (n > 0)
			strbuf_add(&m->said, buf, (size_t)n);
		if (m->said.len > SAID_MAX)
			strbuf_remove_front(&m->said, m->said.len - SAID_MAX);
	}
	return n < 0;
}

/* Is path a socket, and ours (no one else's in a shared directory)? */
static bool
socket_is_up(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode) && sb.st_uid == geteuid();
}

int
ssh_master_wait(struct ssh_master *m, double timeout, const volatile sig_atomic_t *stop,
		struct strbuf *why)
{
	double deadline = now_monotonic() + timeout;
	struct pollfd pfd[1];
	int rc = SYNC_ERR_TIMEOUT, status;
	bool err_open = m->err_fd >= 0;

	/*
	 * ssh links the socket into place once it has logged in; the first
	 * rsync waits for it here. Naps of 1 ms for the first second (about
	 * what a handshake takes), then longer. (An inotify watch would wake
	 * us at once, but closing one waits for the kernel's grace period,
	 * 10-20 ms.)
	 */
	for (;;) {
		double left;
		int n = 0;

		if (m->pid <= 0) {
			rc = SYNC_ERR_CONNECT;
			break;
		}
		if (socket_is_up(m->control_path)) {
			rc = 0;
			break;
		}
		if (waitpid(m->pid, &status, WNOHANG) == m->pid) {
			struct strbuf cause = STRBUF_INIT;

			m->pid = -1;
			read_said(m);
			ssh_error_summary(m->said.buf, m->said.len, &cause);
			strbuf_addf(why, "ssh %s", spawn_status_text(status));
			if (cause.len) {
				strbuf_addstr(why, ": ");
				escape_untrusted(why, cause.buf, cause.len);
			}
			strbuf_release(&cause);
			rc = SYNC_ERR_CONNECT;
			break;
		}
		left = deadline - now_monotonic();
		if (left <= 0 || (stop && *stop)) {
			rc = left <= 0 ? SYNC_ERR_TIMEOUT : SYNC_ERR_CONNECT;
			break;
		}
		if (err_open) {
			pfd[n].fd = m->err_fd;
			pfd[n++].events = POLLIN;
		}
		/* What it says is kept; a signal (stop) ends the nap early. */
		if (poll(pfd, (nfds_t)n, timeout - left < 1.0 ? 1 : 20) > 0 && !read_said(m))
			err_open = false;
	}
	/* Its stderr is not read again: let writes to it fail, not block. */
	if (m->err_fd >= 0) {
		close(m->err_fd);
		m->err_fd = -1;
	}
	return rc;
}

bool
ssh_master_serves(const struct ssh_master *m, const struct ssh_target *t)
{
	return m->pid > 0 && m->port == t->port && strcmp(m->user, t->user) == 0 &&
	       strcmp(m->host, t->host) == 0 && strcmp(m->key_path, t->key_path) == 0;
}

void
ssh_master_stop(struct ssh_master *m)
{
	if (m->err_fd >= 0) {
		close(m->err_fd);
		m->err_fd = -1;
	}
	if (m->pid > 0) {
		kill(m->pid, SIGTERM);
		spawn_wait(m->pid, NULL);
		m->pid = -1;
		/* ssh removes it as it ends; unless it was killed outright. */
		if (m->control_path)
			unlink(m->control_path);
	}
}

void
ssh_master_release(struct ssh_master *m)
{
	ssh_master_stop(m);
	free(m->control_path);
	free(m->user);
	free(m->host);
	free(m->key_path);
	strbuf_release(&m->said);
	m->control_path = m->user = m->host = m->key_path = NULL;
}
