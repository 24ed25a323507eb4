/* master: the shared SSH connection of a transfer. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "master.h"
#include "rsync-parse.h"
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

/* Is p a path ssh takes as ControlPath as it is (it splits at spaces and expands %)? */
static bool
plain_path(const char *p)
{
	return *p == '/' &&
	       p[strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-")] ==
	       '\0';
}

const char *
ssh_tmp_base(void)
{
	const char *base = getenv("TMPDIR");

	/* Unix socket paths are short (108 bytes): keep this one short too. */
	if (base == NULL || strlen(base) > 60 || !plain_path(base))
		base = "/tmp";
	return base;
}

/* A kept connection's name in its directory ("/k-" and 16 hex), and ssh's longer temporary one. */
#define KEPT_NAME_MAX (19 + 17)

/* Can dir hold the sockets of kept connections? */
static bool
socket_dir_fits(const char *dir)
{
	return plain_path(dir) &&
	       strlen(dir) + KEPT_NAME_MAX < sizeof(((struct sockaddr_un *)0)->sun_path);
}

/*
 * Make dir (0700) when missing: 0 when it is a directory of ours no one
 * else can enter. Otherwise -1, and why it is not in why (when given).
 */
static int
own_dir(const char *dir, char *why, size_t whylen)
{
	struct stat sb;

	if ((mkdir(dir, 0700) < 0 && errno != EEXIST) || lstat(dir, &sb) < 0) {
		if (why)
			snprintf(why, whylen, "cannot use '%s': %s", dir, strerror(errno));
		return -1;
	}
	if (S_ISDIR(sb.st_mode) && sb.st_uid == geteuid() && (sb.st_mode & 077) == 0)
		return 0;
	if (why == NULL)
		return -1;
	if (sb.st_uid != geteuid())
		snprintf(why, whylen, "'%s' belongs to another user (uid %u)", dir,
			 (unsigned)sb.st_uid);
	else
		snprintf(why, whylen, "'%s' is not a directory only we can enter", dir);
	return -1;
}

/*
 * The private directory named in the state directory's socket-dir, made
 * under a random name (mkdtemp) the first time or when the one named
 * cannot be had: no one else can know the name, so no one can take it
 * first. NULL when there is none to be had.
 */
static char *
recorded_socket_dir(const char *state_dir)
{
	char *file = xasprintf("%s/socket-dir", state_dir), *tmp = NULL, *dir = NULL;
	char buf[128];
	ssize_t n = -1;
	int fd;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0) {
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
	}
	if (n > 1 && buf[n - 1] == '\n') {
		buf[n - 1] = '\0';
		if (!memchr(buf, '\0', (size_t)(n - 1)) && socket_dir_fits(buf) &&
		    own_dir(buf, NULL, 0) == 0) {
			free(file);
			return xstrdup(buf);
		}
	}
	dir = xasprintf("%s/scow-sync-%u-XXXXXX", ssh_tmp_base(), (unsigned)geteuid());
	if (!socket_dir_fits(dir) || mkdtemp(dir) == NULL)
		goto fail;
	/* Written aside and renamed: a reader never sees half a name. */
	tmp = xasprintf("%s.%d", file, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write_all(fd, dir, strlen(dir)) < 0 || write_all(fd, "\n", 1) < 0 ||
	    close(fd) < 0 || rename(tmp, file) < 0) {
		if (fd >= 0)
			unlink(tmp);
		rmdir(dir);
		goto fail;
	}
	free(tmp);
	free(file);
	return dir;
fail:
	free(tmp);
	free(file);
	free(dir);
	return NULL;
}

char *
ssh_socket_dir(const char *state_dir, char *why, size_t whylen)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char *dir = xasprintf("%s/scow-sync-%u", ssh_tmp_base(), (unsigned)geteuid());
	char reason[512];

	if (why && whylen)
		why[0] = '\0';
	if (own_dir(dir, reason, sizeof reason) == 0)
		return dir;
	/*
	 * Someone else made it first (in /tmp anyone can), or it is open to
	 * others: a directory no one else can make for us instead. The
	 * session's runtime directory, private by design; the state directory;
	 * else a random name in TMPDIR, noted in the state directory.
	 */
	free(dir);
	dir = NULL;
	if (xdg && *xdg) {
		struct stat sb;

		dir = xasprintf("%s/scow-sync", xdg);
		if (!socket_dir_fits(dir) || lstat(xdg, &sb) < 0 || !S_ISDIR(sb.st_mode) ||
		    sb.st_uid != geteuid() || (sb.st_mode & 077) != 0 ||
		    own_dir(dir, NULL, 0) < 0) {
			free(dir);
			dir = NULL;
		}
	}
	if (dir == NULL && state_dir) {
		dir = xasprintf("%s/sockets", state_dir);
		if (!socket_dir_fits(dir) || own_dir(dir, NULL, 0) < 0) {
			free(dir);
			dir = recorded_socket_dir(state_dir);
		}
	}
	if (why && whylen)
		snprintf(why, whylen, "%s: %s", reason,
			 dir ? "the connections' sockets go elsewhere" : "no connection is kept");
	if (why && whylen && dir) {
		size_t len = strlen(why);

		snprintf(why + len, whylen - len, " ('%s')", dir);
	}
	return dir;
}

/* ssh's options for where t goes, through (or serving) the socket at control_path. */
static void
control_argv(const struct ssh_target *target, const char *control_path, struct strvec *argv)
{
	struct ssh_target t = *target;

	t.control_path = NULL;
	ssh_base_argv(&t, argv);
	strvec_push(argv, "-o");
	strvec_pushf(argv, "ControlPath=%s", control_path);
}

/* Note in m the socket and whom it serves, to tell whether a transfer can take it over. */
static void
note_target(struct ssh_master *m, const struct ssh_target *t, const char *control_path)
{
	free(m->control_path);
	free(m->user);
	free(m->host);
	free(m->key_path);
	m->control_path = xstrdup(control_path);
	m->user = xstrdup(t->user);
	m->host = xstrdup(t->host);
	m->key_path = xstrdup(t->key_path);
	m->port = t->port;
	strbuf_reset(&m->said);
}

/* What ssh looks for beside a key, by its name: its public half, a certificate. */
static const char *const key_companions[] = { "", ".pub", "-cert.pub", NULL };

int
key_link_make(const char *key_path, const char *link)
{
	size_t i;
	int rc = SYNC_OK;

	key_link_remove(link);
	for (i = 0; rc == SYNC_OK && key_companions[i]; i++) {
		char *to = xasprintf("%s%s", key_path, key_companions[i]);
		char *at = xasprintf("%s%s", link, key_companions[i]);
		struct stat sb;

		if ((i == 0 || stat(to, &sb) == 0) && symlink(to, at) < 0)
			rc = SYNC_ERR_SYSTEM;
		free(to);
		free(at);
	}
	if (rc < 0) {
		int saved = errno;

		key_link_remove(link);
		errno = saved;
	}
	return rc;
}

void
key_link_remove(const char *link)
{
	size_t i;

	for (i = 0; key_companions[i]; i++) {
		char *at = xasprintf("%s%s", link, key_companions[i]);

		unlink(at);
		free(at);
	}
}

/* Close the key m held for ssh: ssh has read it, or is gone. */
static void
drop_key_fd(struct ssh_master *m)
{
	if (m->key_fd >= 0) {
		close(m->key_fd);
		m->key_fd = -1;
	}
}

/*
 * Start ssh as the master of control_path; with keep_seconds, one that
 * goes to the background once it is up and stays keep_seconds after its
 * last session.
 */
static int
start_master(struct ssh_master *m, const struct ssh_target *t, const char *control_path,
	     unsigned keep_seconds)
{
	struct strvec argv = STRVEC_INIT;
	struct ssh_target given = *t;
	struct spawn sp;
	char *by_fd = NULL;
	int rc;

	drop_key_fd(m);
	if (t->key_given == NULL && (m->key_fd = open(t->key_path, O_RDONLY | O_CLOEXEC)) >= 0)
		given.key_given = by_fd = xasprintf("/proc/%ld/fd/%d", (long)getpid(), m->key_fd);
	control_argv(&given, control_path, &argv);
	free(by_fd);
	strvec_push(&argv, "-o");
	strvec_push(&argv, "ControlMaster=yes");
	strvec_push(&argv, "-o");
	if (keep_seconds > 0)
		strvec_pushf(&argv, "ControlPersist=%u", keep_seconds);
	else
		strvec_push(&argv, "ControlPersist=no");
	strvec_push(&argv, "-N");
	strvec_push(&argv, t->host);

	memset(&sp, 0, sizeof sp);
	sp.argv = (const char *const *)argv.v;
	sp.pipe_stderr = true;
	sp.new_pgroup = true;
	sp.die_with_parent = true;
	/*
	 * Kept, it outlives us: it must not hold the caller's working
	 * directory (a file system that could not be unmounted meanwhile).
	 * Every path it is given is absolute (ssh_master_take_kept).
	 */
	if (keep_seconds > 0)
		sp.cwd = "/";
	rc = spawn_start(&sp);
	strvec_clear(&argv);
	if (rc < 0) {
		drop_key_fd(m);
		return rc;
	}
	m->pid = sp.pid;
	m->err_fd = sp.err_fd;
	set_nonblock(sp.err_fd);
	note_target(m, t, control_path);
	m->kept = keep_seconds > 0;
	return 0;
}

int
ssh_master_start(struct ssh_master *m, const struct ssh_target *t, const char *control_path)
{
	return start_master(m, t, control_path, 0);
}

/* FNV-1a, over s and its NUL: fields in a row cannot run into each other. */
static uint64_t
hash_field(uint64_t h, const char *s)
{
	do {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	} while (*s++);
	return h;
}

/* Is path a socket, and ours (no one else's in a shared directory)? */
static bool
socket_is_up(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode) && sb.st_uid == geteuid();
}

/*
 * A connection to the master on the socket at path, or -1 when none
 * answers. Held open (it never says hello), it counts as a session of
 * the master: a kept one does not run out of time while we use it.
 */
static int
socket_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	if (strlen(path) >= sizeof sa.sun_path)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Did the file at path change after the time made? */
static bool
changed_after(const char *path, const struct timespec *made)
{
	struct stat sb;

	/*
	 * Missing: missing then too, or removed since, which lets no key in
	 * that was not before. (A file made since has a later change time.)
	 */
	if (path == NULL || stat(path, &sb) < 0)
		return false;
	return sb.st_ctim.tv_sec > made->tv_sec ||
	       (sb.st_ctim.tv_sec == made->tv_sec && sb.st_ctim.tv_nsec > made->tv_nsec);
}

/*
 * Must the kept connection at path not be taken again? When it was made
 * more than KEEP_AGE_MAX seconds ago, or since then the key, a known_hosts
 * file (a host key changed or revoked) or ssh's configuration changed: a
 * new handshake checks them. The socket's change time is when ssh renamed
 * it into place, once logged in, after it had learned a new host key.
 */
static bool
kept_stale(const char *path, const struct ssh_target *t)
{
	struct stat sb;
	bool own_config = t->ssh_config && strcmp(t->ssh_config, "none") != 0;
	char *user_config = xasprintf("%s/.ssh/config", home_dir());
	bool stale;

	stale = lstat(path, &sb) < 0 || time(NULL) - sb.st_ctime > KEEP_AGE_MAX ||
		changed_after(t->key_path, &sb.st_ctim) ||
		changed_after(t->known_hosts, &sb.st_ctim) ||
		changed_after("/etc/ssh/ssh_known_hosts", &sb.st_ctim) ||
		changed_after("/etc/ssh/ssh_known_hosts2", &sb.st_ctim) ||
		(own_config && changed_after(t->ssh_config, &sb.st_ctim)) ||
		(t->ssh_config == NULL && (changed_after(user_config, &sb.st_ctim) ||
					   changed_after("/etc/ssh/ssh_config", &sb.st_ctim)));
	free(user_config);
	return stale;
}

/*
 * End the ssh serving the stale kept connection at path (ssh -O exit)
 * and wait (2 s at most, for a master that does not answer) for it to
 * remove its socket: one that ended later would remove the socket of the
 * master started in its place. True when the socket is gone.
 */
static bool
end_stale(const char *path, const struct ssh_target *t)
{
	struct strvec argv = STRVEC_INIT;
	struct spawn sp;
	struct stat sb;
	int i, status;

	control_argv(t, path, &argv);
	strvec_push(&argv, "-O");
	strvec_push(&argv, "exit");
	strvec_push(&argv, t->host);
	memset(&sp, 0, sizeof sp);
	sp.argv = (const char *const *)argv.v;
	sp.die_with_parent = true;
	if (spawn_start(&sp) == 0) {
		for (i = 0; i < 400 && waitpid(sp.pid, &status, WNOHANG) == 0; i++)
			usleep(5000);
		if (i == 400) {
			kill(sp.pid, SIGKILL);
			spawn_wait(sp.pid, NULL);
		}
	}
	strvec_clear(&argv);
	for (i = 0; i < 400 && lstat(path, &sb) == 0; i++)
		usleep(5000);
	return lstat(path, &sb) < 0;
}

static int
take_kept(struct ssh_master *m, const struct ssh_target *t, const char *dir,
	  unsigned keep_seconds)
{
	uint64_t h = 14695981039346656037ULL;
	char port[16], *path, *lock;
	struct flock fl;
	int fd, hold = -1;

	if (dir == NULL)
		return -1;
	snprintf(port, sizeof port, "%d", t->port);
	h = hash_field(h, t->program ? t->program : "ssh");
	h = hash_field(h, t->ssh_config ? t->ssh_config : "");
	h = hash_field(h, t->known_hosts ? t->known_hosts : "");
	h = hash_field(h, t->user);
	h = hash_field(h, t->host);
	h = hash_field(h, port);
	h = hash_field(h, t->key_path);
	path = xasprintf("%s/k-%016llx", dir, (unsigned long long)h);
	/* ssh binds the socket under a name 17 bytes longer, then renames it. */
	if (strlen(path) + 17 >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		free(path);
		return -1;
	}
	lock = xasprintf("%s/k-locks", dir);
	/*
	 * One transfer at a time: a connection carries as many sessions as the
	 * far side allows (sshd's MaxSessions, 10 by default), and a transfer
	 * sizes its workers for a connection of its own. Each connection's
	 * lock is one byte of one file (at an offset named by the same hash),
	 * so no lock file is left per host; the kernel lets it go however we
	 * end.
	 */
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	free(lock);
	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = (off_t)(h >> 2);
	fl.l_len = 1;
	if (fd < 0 || fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		if (fd >= 0)
			close(fd);
		free(path);
		return -1;
	}
	if (socket_is_up(path) && (hold = socket_connect(path)) >= 0 && kept_stale(path, t)) {
		close(hold);
		hold = -1;
		/* Still there: its path is not ours to reuse; a connection of our own. */
		if (!end_stale(path, t)) {
			close(fd);
			free(path);
			return -1;
		}
	}
	if (hold >= 0) {
		/* Still up from an earlier transfer: nothing to start or wait for. */
		ssh_master_stop(m);
		note_target(m, t, path);
		free(path);
		m->kept = true;
		m->lock_fd = fd;
		m->hold_fd = hold;
		return 0;
	}
	/* Left by an ssh killed outright (it removes its socket otherwise). */
	unlink(path);
	if (start_master(m, t, path, keep_seconds) < 0) {
		close(fd);
		free(path);
		return -1;
	}
	m->lock_fd = fd;
	free(path);
	return 0;
}

int
ssh_master_take_kept(struct ssh_master *m, const struct ssh_target *t, const char *socket_dir,
		     unsigned keep_seconds)
{
	struct ssh_target target = *t;
	char *config = NULL;
	int rc;

	if (keep_seconds == 0)
		return -1;
	/*
	 * The kept ssh works in / (it outlives us: it must not hold the
	 * caller's working directory), so its configuration is named by its
	 * absolute path, in the connection's name too.
	 */
	if (t->ssh_config && strcmp(t->ssh_config, "none") != 0) {
		if ((config = realpath(t->ssh_config, NULL)) == NULL)
			return -1;
		target.ssh_config = config;
	}
	rc = take_kept(m, &target, socket_dir, keep_seconds);
	free(config);
	return rc;
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

/*
 * Has the master on the other end of fd gone? (What it has sent, its
 * hello, stays unread.) A master killed outright leaves its socket.
 */
static bool
hung_up(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };

	return fd >= 0 && poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR));
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

		if ((m->pid <= 0 && !m->kept) || hung_up(m->hold_fd)) {
			rc = SYNC_ERR_CONNECT;
			break;
		}
		if (socket_is_up(m->control_path)) {
			rc = 0;
			break;
		}
		if (m->pid <= 0) {
			rc = SYNC_ERR_CONNECT;
			break;
		}
		if (waitpid(m->pid, &status, WNOHANG) == m->pid) {
			struct strbuf cause = STRBUF_INIT;

			/* A kept master in the background now: up if its socket is. */
			if (ssh_master_detached(m, m->pid, status) &&
			    socket_is_up(m->control_path)) {
				rc = 0;
				break;
			}

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
	/* Logged in (or gone): the key is read. */
	drop_key_fd(m);
	/* A kept one: held, so that it does not run out of time while we use it. */
	if (rc == 0 && m->kept && m->hold_fd < 0)
		m->hold_fd = socket_connect(m->control_path);
	/* Its stderr is not read again: let writes to it fail, not block. */
	if (m->err_fd >= 0) {
		close(m->err_fd);
		m->err_fd = -1;
	}
	return rc;
}

bool
ssh_master_detached(struct ssh_master *m, pid_t pid, int status)
{
	if (pid != m->pid || !m->kept || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return false;
	m->pid = -1;
	return true;
}

bool
ssh_master_ready(const struct ssh_master *m)
{
	return (m->pid > 0 || m->kept) && m->control_path && !hung_up(m->hold_fd) &&
	       socket_is_up(m->control_path);
}

bool
ssh_master_serves(const struct ssh_master *m, const struct ssh_target *t)
{
	return (m->pid > 0 || (m->kept && m->control_path)) && m->port == t->port &&
	       strcmp(m->user, t->user) == 0 && strcmp(m->host, t->host) == 0 &&
	       strcmp(m->key_path, t->key_path) == 0;
}

void
ssh_master_stop(struct ssh_master *m)
{
	drop_key_fd(m);
	if (m->err_fd >= 0) {
		close(m->err_fd);
		m->err_fd = -1;
	}
	if (m->pid > 0) {
		/*
		 * An ssh that ignores SIGTERM for long (seen under load beside a
		 * stopped stale master) does not hold the transfer's end.
		 */
		spawn_end(&m->pid, 0);
		/*
		 * ssh removes it as it ends; unless it was killed outright. A
		 * kept master may be in the background by now and serving it:
		 * the next transfer tells a stale one (ssh_master_take_kept).
		 */
		if (m->control_path && !m->kept)
			unlink(m->control_path);
	}
	if (m->hold_fd >= 0) {
		close(m->hold_fd);
		m->hold_fd = -1;
	}
	if (m->lock_fd >= 0) {
		close(m->lock_fd);
		m->lock_fd = -1;
	}
	m->kept = false;
}

void
ssh_master_end(struct ssh_master *m, const struct ssh_target *t)
{
	if (m->kept && m->lock_fd >= 0 && m->control_path)
		end_stale(m->control_path, t);
	ssh_master_stop(m);
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
