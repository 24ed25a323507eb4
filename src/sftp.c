/* sftp: a small SFTP version 3 client over OpenSSH (see sftp.h). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sftp.h"
#include "spawn.h"
#include "util.h"

/* Packet types and status codes of draft-ietf-secsh-filexfer-02. */
enum {
	FXP_INIT = 1, FXP_VERSION = 2, FXP_CLOSE = 4, FXP_LSTAT = 7, FXP_OPENDIR = 11,
	FXP_READDIR = 12, FXP_REMOVE = 13, FXP_MKDIR = 14, FXP_RMDIR = 15,
	FXP_STATUS = 101, FXP_HANDLE = 102, FXP_NAME = 104, FXP_ATTRS = 105,
};
enum { FX_OK = 0, FX_EOF = 1, FX_NO_SUCH_FILE = 2 };
enum {
	ATTR_SIZE = 0x1, ATTR_UIDGID = 0x2, ATTR_PERMISSIONS = 0x4, ATTR_ACMODTIME = 0x8,
	ATTR_EXTENDED = 0x80000000u,
};

#define MAX_PACKET (256 * 1024)   /* sftp-server's own limit is 256 KiB */
#define SFTP_STATUS_MAX 200       /* bytes of the far side's words kept in a message */

struct sftp {
	pid_t pid;
	int to_fd, from_fd, err_fd;
	uint32_t next_id;
	int timeout_ms;
	bool greeted;             /* the server's VERSION has been read */
	double deadline;          /* monotonic; 0: none (sftp_set_deadline) */
	int deadline_s;
	struct strbuf out;        /* packet being built */
	struct strbuf in;         /* packet received */
	size_t pos;               /* read position in in */
	struct strbuf errmsg;   /* why the last call failed, whole */
};

/* ---- encoding ----------------------------------------------------------- */

static void
put_u32(struct strbuf *sb, uint32_t v)
{
	char b[4] = { (char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v };

	strbuf_add(sb, b, 4);
}

static void
put_string(struct strbuf *sb, const char *s, size_t len)
{
	put_u32(sb, (uint32_t)len);
	strbuf_add(sb, s, len);
}

static bool
get_u32(struct sftp *s, uint32_t *v)
{
	const unsigned char *p = (const unsigned char *)s->in.buf + s->pos;

	if (s->in.len - s->pos < 4)
		return false;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	s->pos += 4;
	return true;
}

static bool
get_u64(struct sftp *s, uint64_t *v)
{
	uint32_t hi, lo;

	if (!get_u32(s, &hi) || !get_u32(s, &lo))
		return false;
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

/* A string in the packet: borrowed pointer and length. */
static bool
get_string(struct sftp *s, const char **p, uint32_t *len)
{
	if (!get_u32(s, len) || s->in.len - s->pos < *len)
		return false;
	*p = s->in.buf + s->pos;
	s->pos += *len;
	return true;
}

static bool
get_attrs(struct sftp *s, struct sftp_attrs *a)
{
	uint32_t flags, v, n, i, len;
	const char *p;
	uint64_t size;

	memset(a, 0, sizeof *a);
	if (!get_u32(s, &flags))
		return false;
	if (flags & ATTR_SIZE) {
		if (!get_u64(s, &size))
			return false;
		a->have_size = true;
		a->size = size;
	}
	if ((flags & ATTR_UIDGID) && (!get_u32(s, &v) || !get_u32(s, &v)))
		return false;
	if (flags & ATTR_PERMISSIONS) {
		if (!get_u32(s, &a->perm))
			return false;
		a->have_perm = true;
	}
	if (flags & ATTR_ACMODTIME) {
		if (!get_u32(s, &v) || !get_u32(s, &v))
			return false;
		a->have_mtime = true;
		a->mtime = v;
	}
	if (flags & ATTR_EXTENDED) {
		if (!get_u32(s, &n))
			return false;
		for (i = 0; i < n; i++)
			if (!get_string(s, &p, &len) || !get_string(s, &p, &len))
				return false;
	}
	return true;
}

/* ---- transport ---------------------------------------------------------- */

static int
fail(struct sftp *s, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
fail(struct sftp *s, int rc, const char *fmt, ...)
{
	va_list ap;

	strbuf_reset(&s->errmsg);
	va_start(ap, fmt);
	strbuf_vaddf(&s->errmsg, fmt, ap);
	va_end(ap);
	return rc;
}

/* Say why the connection ended, from what ssh printed. */
static int
connection_lost(struct sftp *s)
{
	struct strbuf err = STRBUF_INIT, esc = STRBUF_INIT;
	char buf[1024];
	ssize_t n;

	while (s->err_fd >= 0 && (n = read(s->err_fd, buf, sizeof buf)) > 0 && err.len < 4096)
		strbuf_add(&err, buf, (size_t)n);
	strbuf_trim_eol(&err);
	escape_untrusted(&esc, err.buf, err.len);
	fail(s, SYNC_ERR_CONNECT, "the sftp session ended%s%s", esc.len ? ": " : "", esc.buf);
	strbuf_release(&err);
	strbuf_release(&esc);
	return SYNC_ERR_CONNECT;
}

/*
 * Write all of buf within the time limit: a server that stops reading
 * (its pipe full) must not hold us for ever, any more than one that stops
 * answering.
 */
static int
write_within(struct sftp *s, const char *buf, size_t len)
{
	double deadline = now_monotonic() + s->timeout_ms / 1000.0;

	if (s->deadline > 0 && s->deadline < deadline)
		deadline = s->deadline;
	while (len > 0) {
		struct pollfd pfd = { s->to_fd, POLLOUT, 0 };
		ssize_t n = write(s->to_fd, buf, len);
		int left;

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return connection_lost(s);
		left = (int)((deadline - now_monotonic()) * 1000);
		if (left <= 0)
			return fail(s, SYNC_ERR_TIMEOUT, "the far side took no request in %d s",
				    s->deadline > 0 && deadline == s->deadline ? s->deadline_s :
				    s->timeout_ms / 1000);
		if (poll(&pfd, 1, left) < 0 && errno != EINTR)
			return fail(s, SYNC_ERR_SYSTEM, "poll: %s", strerror(errno));
	}
	return SYNC_OK;
}

/* Send the packet in s->out, whose first 5 bytes are room for the header. */
static int
send_packet(struct sftp *s, int type)
{
	uint32_t len = (uint32_t)s->out.len - 4;
	unsigned char *p = (unsigned char *)s->out.buf;

	p[0] = (unsigned char)(len >> 24);
	p[1] = (unsigned char)(len >> 16);
	p[2] = (unsigned char)(len >> 8);
	p[3] = (unsigned char)len;
	p[4] = (unsigned char)type;
	return write_within(s, s->out.buf, s->out.len);
}

/* Start a packet: header room, then the request id. */
static uint32_t
begin_packet(struct sftp *s)
{
	strbuf_reset(&s->out);
	strbuf_add(&s->out, "\0\0\0\0\0", 5);
	put_u32(&s->out, ++s->next_id);
	return s->next_id;
}

/* Read exactly n bytes into s->in within the time limit. */
static int
read_exact(struct sftp *s, size_t n, double deadline)
{
	char buf[16384];

	while (n > 0) {
		struct pollfd pfd = { s->from_fd, POLLIN, 0 };
		int left = (int)((deadline - now_monotonic()) * 1000);
		ssize_t got;

		if (left <= 0 && s->deadline > 0 && deadline == s->deadline)
			return fail(s, SYNC_ERR_TIMEOUT, "the far side did not finish in %d s",
				    s->deadline_s);
		if (left <= 0)
			return fail(s, SYNC_ERR_TIMEOUT, "the far side did not answer in %d s",
				    s->timeout_ms / 1000);
		if (poll(&pfd, 1, left) < 0) {
			if (errno == EINTR)
				continue;
			return fail(s, SYNC_ERR_SYSTEM, "poll: %s", strerror(errno));
		}
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		got = read(s->from_fd, buf, n < sizeof buf ? n : sizeof buf);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0)
			return connection_lost(s);
		strbuf_add(&s->in, buf, (size_t)got);
		n -= (size_t)got;
	}
	return SYNC_OK;
}

/* Read one packet; *type gets its type, s->pos points after it. */
static int
read_packet(struct sftp *s, int *type)
{
	double deadline = now_monotonic() + s->timeout_ms / 1000.0;
	uint32_t len = 0;
	int rc;

	if (s->deadline > 0 && s->deadline < deadline)
		deadline = s->deadline;
	strbuf_reset(&s->in);
	s->pos = 0;
	if ((rc = read_exact(s, 4, deadline)) < 0)
		return rc;
	get_u32(s, &len);
	if (len < 1 || len > MAX_PACKET)
		return fail(s, SYNC_ERR_REMOTE, "malformed sftp packet of %u bytes", len);
	if ((rc = read_exact(s, len, deadline)) < 0)
		return rc;
	*type = (unsigned char)s->in.buf[s->pos++];
	return SYNC_OK;
}

/* Read the server's VERSION (once: it answers INIT, before any request). */
static int
greet(struct sftp *s)
{
	uint32_t version;
	int type, rc;

	if (s->greeted)
		return SYNC_OK;
	if ((rc = read_packet(s, &type)) < 0)
		return rc;
	if (type != FXP_VERSION || !get_u32(s, &version) || version < 3)
		return fail(s, SYNC_ERR_REMOTE, "the far side does not speak sftp version 3");
	s->greeted = true;
	return SYNC_OK;
}

/* Read the answer to request id; *type gets its type. */
static int
read_reply(struct sftp *s, uint32_t id, int *type)
{
	uint32_t got;
	int rc;

	if ((rc = greet(s)) < 0 || (rc = read_packet(s, type)) < 0)
		return rc;
	if (!get_u32(s, &got) || got != id)
		return fail(s, SYNC_ERR_REMOTE, "sftp reply out of order");
	return SYNC_OK;
}

/* Turn a STATUS reply into a return code. */
static int
read_status(struct sftp *s, const char *what, const char *path)
{
	struct strbuf esc = STRBUF_INIT, why = STRBUF_INIT;
	const char *msg = "";
	uint32_t code, len = 0;
	int rc;

	if (!get_u32(s, &code))
		return fail(s, SYNC_ERR_REMOTE, "malformed sftp status");
	if (code == FX_OK)
		return SYNC_OK;
	if (!get_string(s, &msg, &len))
		len = 0;
	escape_untrusted(&esc, path, strlen(path));
	/* The far side's words go to the log and the terminal: escaped too. */
	escape_untrusted(&why, msg, text_cut(msg, len, SFTP_STATUS_MAX));
	rc = code == FX_NO_SUCH_FILE ? SYNC_ERR_NOT_FOUND : SYNC_ERR_REMOTE;
	fail(s, rc, "%s '%s': %s", what, esc.buf, why.len ? why.buf : "failed");
	strbuf_release(&esc);
	strbuf_release(&why);
	return rc;
}

/* ---- requests ----------------------------------------------------------- */

/* A session on the descriptors, INIT sent; NULL (err says why) when it cannot be sent. */
static struct sftp *
session_begin(int to_fd, int from_fd, int err_fd, pid_t pid, int timeout_ms, char *err,
	      size_t errlen)
{
	struct sftp *s = xcalloc(1, sizeof *s);

	s->pid = pid;
	s->to_fd = to_fd;
	s->from_fd = from_fd;
	s->err_fd = err_fd;
	if (s->err_fd >= 0)
		set_nonblock(s->err_fd);
	/* Ours alone (a pipe to ssh, or the caller's): written within a limit. */
	set_nonblock(s->to_fd);
	s->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
	strbuf_init(&s->out, 256);
	strbuf_init(&s->in, 256);
	strbuf_init(&s->errmsg, 0);

	/* INIT carries the version where other requests carry their id. */
	strbuf_add(&s->out, "\0\0\0\0\0", 5);
	put_u32(&s->out, 3);
	if (send_packet(s, FXP_INIT) < 0) {
		text_copy(err, errlen, s->errmsg.buf);
		sftp_close(s);
		return NULL;
	}
	return s;
}

/* Wait for the server's greeting; on failure, err says why and s is closed. */
static int
session_ready(struct sftp *s, char *err, size_t errlen)
{
	int rc = greet(s);

	if (rc < 0) {
		text_copy(err, errlen, s->errmsg.buf);
		sftp_close(s);
	}
	return rc;
}

int
sftp_open_fds(int to_fd, int from_fd, int err_fd, pid_t pid, int timeout_ms,
	      struct sftp **out, char *err, size_t errlen)
{
	struct sftp *s = session_begin(to_fd, from_fd, err_fd, pid, timeout_ms, err, errlen);
	int rc;

	*out = NULL;
	if (s == NULL)
		return SYNC_ERR_CONNECT;
	if ((rc = session_ready(s, err, errlen)) < 0)
		return rc;
	*out = s;
	return SYNC_OK;
}

int
sftp_begin(const struct ssh_target *t, int timeout_ms, struct sftp **out, char *err,
	   size_t errlen)
{
	struct strvec argv = STRVEC_INIT;
	struct spawn sp;
	int rc;

	*out = NULL;
	ssh_base_argv(t, &argv);
	strvec_push(&argv, "-s");
	strvec_push(&argv, t->host);
	strvec_push(&argv, "sftp");
	memset(&sp, 0, sizeof sp);
	sp.argv = (const char *const *)argv.v;
	sp.pipe_stdin = sp.pipe_stdout = sp.pipe_stderr = true;
	sp.new_pgroup = true;
	sp.die_with_parent = true;
	rc = spawn_start(&sp);
	strvec_clear(&argv);
	if (rc < 0) {
		snprintf(err, errlen, "cannot run '%s': %s", t->program ? t->program : "ssh",
			 strerror(errno));
		return SYNC_ERR_SYSTEM;
	}
	*out = session_begin(sp.in_fd, sp.out_fd, sp.err_fd, sp.pid, timeout_ms, err, errlen);
	return *out ? SYNC_OK : SYNC_ERR_CONNECT;
}

int
sftp_ready(struct sftp *s)
{
	return greet(s);
}

int
sftp_open(const struct ssh_target *t, int timeout_ms, struct sftp **out, char *err,
	  size_t errlen)
{
	int rc = sftp_begin(t, timeout_ms, out, err, errlen);

	if (rc < 0 || (rc = session_ready(*out, err, errlen)) < 0) {
		*out = NULL;
		return rc;
	}
	return SYNC_OK;
}

void
sftp_close(struct sftp *s)
{
	if (s == NULL)
		return;
	if (s->to_fd >= 0)
		close(s->to_fd);
	if (s->from_fd >= 0)
		close(s->from_fd);
	if (s->err_fd >= 0)
		close(s->err_fd);
	/* Closing its stdin ends the session; a stuck one is ended for it. */
	if (s->pid > 0) {
		double deadline = now_monotonic() + 5;
		int status;

		while (waitpid(s->pid, &status, WNOHANG) == 0) {
			if (now_monotonic() > deadline) {
				kill(-s->pid, SIGKILL);
				spawn_wait(s->pid, NULL);
				break;
			}
			poll(NULL, 0, 10);
		}
	}
	strbuf_release(&s->out);
	strbuf_release(&s->in);
	strbuf_release(&s->errmsg);
	free(s);
}

void
sftp_set_deadline(struct sftp *s, int seconds)
{
	s->deadline = seconds > 0 ? now_monotonic() + seconds : 0;
	s->deadline_s = seconds;
}

const char *
sftp_errmsg(struct sftp *s)
{
	return s->errmsg.buf;
}

/* Send a request whose only argument is path and read its STATUS. */
static int
path_request(struct sftp *s, int type, const char *what, const char *path)
{
	uint32_t id = begin_packet(s);
	int rtype, rc;

	put_string(&s->out, path, strlen(path));
	if ((rc = send_packet(s, type)) < 0 || (rc = read_reply(s, id, &rtype)) < 0)
		return rc;
	if (rtype != FXP_STATUS)
		return fail(s, SYNC_ERR_REMOTE, "unexpected sftp reply %d", rtype);
	return read_status(s, what, path);
}

int
sftp_lstat(struct sftp *s, const char *path, struct sftp_attrs *out)
{
	uint32_t id = begin_packet(s);
	int type, rc;

	put_string(&s->out, path, strlen(path));
	if ((rc = send_packet(s, FXP_LSTAT)) < 0 || (rc = read_reply(s, id, &type)) < 0)
		return rc;
	if (type == FXP_STATUS) {
		rc = read_status(s, "lstat", path);
		return rc == SYNC_OK ? fail(s, SYNC_ERR_REMOTE, "lstat without attributes") : rc;
	}
	if (type != FXP_ATTRS || !get_attrs(s, out))
		return fail(s, SYNC_ERR_REMOTE, "malformed sftp attributes");
	return SYNC_OK;
}

int
sftp_remove(struct sftp *s, const char *path)
{
	return path_request(s, FXP_REMOVE, "remove", path);
}

int
sftp_rmdir(struct sftp *s, const char *path)
{
	return path_request(s, FXP_RMDIR, "rmdir", path);
}

int
sftp_mkdir(struct sftp *s, const char *path, uint32_t mode)
{
	uint32_t id = begin_packet(s);
	int type, rc;

	put_string(&s->out, path, strlen(path));
	put_u32(&s->out, ATTR_PERMISSIONS);
	put_u32(&s->out, mode);
	if ((rc = send_packet(s, FXP_MKDIR)) < 0 || (rc = read_reply(s, id, &type)) < 0)
		return rc;
	if (type != FXP_STATUS)
		return fail(s, SYNC_ERR_REMOTE, "unexpected sftp reply %d", type);
	return read_status(s, "mkdir", path);
}

int
sftp_list(struct sftp *s, const char *path, sftp_name_fn fn, void *ctx)
{
	struct strbuf handle = STRBUF_INIT, name = STRBUF_INIT;
	const char *p;
	uint32_t id, len, count, i;
	size_t entries = 0;
	int type, rc, stop = 0;

	id = begin_packet(s);
	put_string(&s->out, path, strlen(path));
	if ((rc = send_packet(s, FXP_OPENDIR)) < 0 || (rc = read_reply(s, id, &type)) < 0)
		return rc;
	if (type == FXP_STATUS) {
		rc = read_status(s, "opendir", path);
		return rc == SYNC_OK ? fail(s, SYNC_ERR_REMOTE, "opendir without a handle") : rc;
	}
	if (type != FXP_HANDLE || !get_string(s, &p, &len))
		return fail(s, SYNC_ERR_REMOTE, "malformed sftp handle");
	strbuf_add(&handle, p, len);
	while (rc == SYNC_OK && !stop) {
		id = begin_packet(s);
		put_string(&s->out, handle.buf, handle.len);
		if ((rc = send_packet(s, FXP_READDIR)) < 0 || (rc = read_reply(s, id, &type)) < 0)
			break;
		if (type == FXP_STATUS) {
			size_t at = s->pos;
			uint32_t code;

			if (get_u32(s, &code) && code == FX_EOF)
				break;
			/* Back to the code, if there was one: never into the id. */
			s->pos = at;
			rc = read_status(s, "readdir", path);
			if (rc == SYNC_OK)
				rc = fail(s, SYNC_ERR_REMOTE, "readdir without names");
			break;
		}
		if (type != FXP_NAME || !get_u32(s, &count)) {
			rc = fail(s, SYNC_ERR_REMOTE, "malformed sftp names");
			break;
		}
		/* A server that never says EOF is not listened to forever. */
		if ((entries += count) > SFTP_LIST_MAX) {
			struct strbuf esc = STRBUF_INIT;

			escape_untrusted(&esc, path, strlen(path));
			rc = fail(s, SYNC_ERR_REMOTE, "readdir '%s': more than %d entries", esc.buf,
				  SFTP_LIST_MAX);
			strbuf_release(&esc);
			break;
		}
		for (i = 0; i < count && !stop; i++) {
			struct sftp_attrs a;
			const char *lp;
			uint32_t llen;

			if (!get_string(s, &p, &len) || !get_string(s, &lp, &llen) ||
			    !get_attrs(s, &a)) {
				rc = fail(s, SYNC_ERR_REMOTE, "malformed sftp name entry");
				break;
			}
			strbuf_reset(&name);
			strbuf_add(&name, p, len);
			if (strcmp(name.buf, ".") == 0 || strcmp(name.buf, "..") == 0 ||
			    memchr(p, '\0', len) != NULL)
				continue;
			stop = fn(name.buf, &a, ctx);
		}
	}
	/* Close the handle whatever happened, unless the session is gone. */
	if (rc != SYNC_ERR_CONNECT && rc != SYNC_ERR_TIMEOUT) {
		int crc;

		id = begin_packet(s);
		put_string(&s->out, handle.buf, handle.len);
		if ((crc = send_packet(s, FXP_CLOSE)) == 0 &&
		    (crc = read_reply(s, id, &type)) == 0 && type == FXP_STATUS)
			crc = read_status(s, "close", path);
		if (rc == SYNC_OK && crc < 0)
			rc = crc;
	}
	strbuf_release(&handle);
	strbuf_release(&name);
	return rc;
}
