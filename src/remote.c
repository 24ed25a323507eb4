/* remote: control work on the far side over libssh2 (see remote.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libssh2.h>

#include "remote.h"
#include "util.h"

#define STDERR_KEEP 4096

struct remote {
	int fd;
	LIBSSH2_SESSION *session;
};

/* OpenSSH's default host key order, so that both clients use one key. */
static const char *const hostkey_order[] = {
	"ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
	"ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa",
};

static void
set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* libssh2's own words for the last error of the session (borrowed). */
static const char *
ssh_message(LIBSSH2_SESSION *session)
{
	char *msg = NULL;

	libssh2_session_last_error(session, &msg, NULL, 0);
	return msg && *msg ? msg : "unknown error";
}

/* Connect to one address within timeout_ms; the socket or -1 with errno. */
static int
connect_one(const struct addrinfo *ai, int timeout_ms)
{
	struct pollfd pfd;
	socklen_t len;
	int fd, soerr = 0, rc;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -1;
	set_nonblock(fd);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS)
			goto fail;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do
			rc = poll(&pfd, 1, timeout_ms);
		while (rc < 0 && errno == EINTR);
		if (rc == 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		len = sizeof soerr;
		if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
			goto fail;
		if (soerr != 0) {
			errno = soerr;
			goto fail;
		}
	}
	/* libssh2 runs in blocking mode with its own timeout. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
fail:
	rc = errno;
	close(fd);
	errno = rc;
	return -1;
}

/* Resolve host and connect to the first address that answers. */
static int
tcp_connect(const struct remote_params *p, int *fd_out, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[16];
	int gai, fd = -1, last_errno = ECONNREFUSED;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof port, "%d", p->port);
	if ((gai = getaddrinfo(p->host, port, &hints, &res)) != 0) {
		set_err(err, errlen, "cannot connect to '%s' port %d: %s", p->host, p->port,
			gai_strerror(gai));
		return SYNC_ERR_CONNECT;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		if ((fd = connect_one(ai, p->timeout_ms)) >= 0)
			break;
		last_errno = errno;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		set_err(err, errlen, "cannot connect to '%s' port %d: %s", p->host, p->port,
			strerror(last_errno));
		return last_errno == ETIMEDOUT ? SYNC_ERR_TIMEOUT : SYNC_ERR_CONNECT;
	}
	*fd_out = fd;
	return SYNC_OK;
}

/* The known_hosts key type bits for a libssh2 host key type. */
static int
knownhost_type(int hostkey_type)
{
	switch (hostkey_type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA: return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
	case LIBSSH2_HOSTKEY_TYPE_DSS: return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
#ifdef LIBSSH2_HOSTKEY_TYPE_ECDSA_256
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
#endif
#ifdef LIBSSH2_HOSTKEY_TYPE_ED25519
	case LIBSSH2_HOSTKEY_TYPE_ED25519: return LIBSSH2_KNOWNHOST_KEY_ED25519;
#endif
	}
	return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
}

/*
 * Check the session's host key against known_hosts: a match passes, a
 * different key or an unknown host is refused. Nothing is learned here:
 * libssh2 reads neither the site's known hosts nor ssh's configuration,
 * so only OpenSSH, which reads them all, may add a key.
 */
static int
check_host_key(LIBSSH2_SESSION *session, const struct remote_params *p,
	       char *err, size_t errlen)
{
	LIBSSH2_KNOWNHOSTS *kh = NULL;
	const char *key;
	size_t keylen;
	int type, ktype, check, rc = SYNC_ERR_SSH;

	key = libssh2_session_hostkey(session, &keylen, &type);
	if (key == NULL) {
		set_err(err, errlen, "no host key from '%s': %s", p->host, ssh_message(session));
		return SYNC_ERR_SSH;
	}
	ktype = knownhost_type(type);
	if ((kh = libssh2_knownhost_init(session)) == NULL) {
		set_err(err, errlen, "cannot check host keys: %s", ssh_message(session));
		return SYNC_ERR_SSH;
	}
	/* A missing file is an empty one; an unreadable one is an error. */
	if (access(p->known_hosts, F_OK) == 0 &&
	    libssh2_knownhost_readfile(kh, p->known_hosts, LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
		set_err(err, errlen, "cannot read '%s': %s", p->known_hosts, ssh_message(session));
		goto out;
	}
	check = libssh2_knownhost_checkp(kh, p->host, p->port == 22 ? -1 : p->port, key, keylen,
					 LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
					 ktype, NULL);
	switch (check) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		rc = SYNC_OK;
		break;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		set_err(err, errlen, "host key for '%s' port %d differs from the one in '%s'",
			p->host, p->port, p->known_hosts);
		rc = SYNC_ERR_HOSTKEY;
		break;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		set_err(err, errlen, "host key for '%s' port %d is not in '%s'", p->host, p->port,
			p->known_hosts);
		rc = SYNC_ERR_HOSTKEY;
		break;
	default:
		set_err(err, errlen, "cannot check the host key of '%s': %s", p->host,
			ssh_message(session));
		break;
	}
out:
	libssh2_knownhost_free(kh);
	return rc;
}

/* Log in with the key; tell a refused key from one we cannot use. */
static int
authenticate(LIBSSH2_SESSION *session, const struct remote_params *p, char *err, size_t errlen)
{
	int fd, rc;

	fd = open(p->key_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		set_err(err, errlen, "cannot read key '%s': %s", p->key_path, strerror(errno));
		return SYNC_ERR_SYSTEM;
	}
	close(fd);
	rc = libssh2_userauth_publickey_fromfile_ex(session, p->user, (unsigned)strlen(p->user),
						    NULL, p->key_path, p->passphrase);
	if (rc == 0)
		return SYNC_OK;
	if (rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED || rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED) {
		set_err(err, errlen, "server refused key '%s' for user '%s'", p->key_path, p->user);
		return SYNC_ERR_AUTH;
	}
	if (rc == LIBSSH2_ERROR_FILE || rc == LIBSSH2_ERROR_PUBLICKEY_UNRECOGNIZED) {
		/* The key is the problem all the same: the portal should replace it. */
		set_err(err, errlen, "cannot use key '%s': it is encrypted or in an "
			"unsupported format", p->key_path);
		return SYNC_ERR_AUTH;
	}
	if (rc == LIBSSH2_ERROR_TIMEOUT) {
		set_err(err, errlen, "timed out logging in to '%s'", p->host);
		return SYNC_ERR_TIMEOUT;
	}
	set_err(err, errlen, "cannot log in to '%s' as '%s': %s", p->host, p->user,
		ssh_message(session));
	return SYNC_ERR_SSH;
}

/*
 * Prefer host key algorithms in OpenSSH's order, naming only those this
 * libssh2 supports: libssh2 1.10 corrupts memory (an overlapping memcpy)
 * when it has to drop an unsupported name from the list itself.
 */
static void
set_hostkey_order(LIBSSH2_SESSION *session)
{
	struct strbuf prefs = STRBUF_INIT;
	const char **algs = NULL;
	int n, i;
	size_t k;

	n = libssh2_session_supported_algs(session, LIBSSH2_METHOD_HOSTKEY, &algs);
	if (n <= 0)
		return;
	for (k = 0; k < sizeof hostkey_order / sizeof *hostkey_order; k++) {
		for (i = 0; i < n; i++) {
			if (strcmp(algs[i], hostkey_order[k]) == 0) {
				if (prefs.len)
					strbuf_addch(&prefs, ',');
				strbuf_addstr(&prefs, hostkey_order[k]);
				break;
			}
		}
	}
	libssh2_free(session, algs);
	if (prefs.len)
		libssh2_session_method_pref(session, LIBSSH2_METHOD_HOSTKEY, prefs.buf);
	strbuf_release(&prefs);
}

int
remote_open(const struct remote_params *params, struct remote **out, char *err, size_t errlen)
{
	static int initialised;
	struct remote *r;
	int rc;

	*out = NULL;
	if (!initialised) {
		if (libssh2_init(0) != 0) {
			set_err(err, errlen, "cannot initialise libssh2");
			return SYNC_ERR_SSH;
		}
		initialised = 1;
	}
	r = xcalloc(1, sizeof *r);
	r->fd = -1;
	if ((rc = tcp_connect(params, &r->fd, err, errlen)) < 0)
		goto fail;
	if ((r->session = libssh2_session_init()) == NULL) {
		set_err(err, errlen, "cannot create an ssh session");
		rc = SYNC_ERR_SSH;
		goto fail;
	}
	libssh2_session_set_blocking(r->session, 1);
	libssh2_session_set_timeout(r->session, params->timeout_ms);
	set_hostkey_order(r->session);
	if ((rc = libssh2_session_handshake(r->session, r->fd)) != 0) {
		set_err(err, errlen, "ssh handshake with '%s' port %d failed: %s", params->host,
			params->port, ssh_message(r->session));
		rc = rc == LIBSSH2_ERROR_TIMEOUT ? SYNC_ERR_TIMEOUT : SYNC_ERR_SSH;
		goto fail;
	}
	if ((rc = check_host_key(r->session, params, err, errlen)) < 0 ||
	    (rc = authenticate(r->session, params, err, errlen)) < 0)
		goto fail;
	*out = r;
	return SYNC_OK;
fail:
	remote_close(r);
	return rc;
}

void
remote_close(struct remote *r)
{
	if (r == NULL)
		return;
	if (r->session) {
		libssh2_session_disconnect(r->session, "done");
		libssh2_session_free(r->session);
	}
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

int
remote_run(struct remote *r, const char *const *argv, int *status, char *err, size_t errlen)
{
	struct strbuf cmd = STRBUF_INIT, errout = STRBUF_INIT;
	LIBSSH2_CHANNEL *ch;
	char buf[4096];
	char *signame = NULL;
	ssize_t n;
	int rc = SYNC_ERR_SSH;
	bool out_open = true, err_open = true;

	for (; *argv; argv++) {
		if (cmd.len)
			strbuf_addch(&cmd, ' ');
		sq_quote(&cmd, *argv);
	}
	if ((ch = libssh2_channel_open_session(r->session)) == NULL) {
		set_err(err, errlen, "cannot open an ssh channel: %s", ssh_message(r->session));
		goto out;
	}
	if (libssh2_channel_exec(ch, cmd.buf) != 0) {
		set_err(err, errlen, "cannot run a remote command: %s", ssh_message(r->session));
		goto close;
	}
	/* Blocking reads: drain stdout (unused) and keep the start of stderr. */
	while (out_open || err_open) {
		if (out_open) {
			n = libssh2_channel_read(ch, buf, sizeof buf);
			if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
				set_err(err, errlen, "reading a remote command: %s",
					ssh_message(r->session));
				goto close;
			}
			if (n == 0 && libssh2_channel_eof(ch))
				out_open = false;
		}
		n = libssh2_channel_read_stderr(ch, buf, sizeof buf);
		if (n > 0 && errout.len < STDERR_KEEP)
			strbuf_add(&errout, buf, (size_t)n);
		if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
			set_err(err, errlen, "reading a remote command: %s", ssh_message(r->session));
			goto close;
		}
		if (n == 0 && libssh2_channel_eof(ch))
			err_open = false;
	}
	libssh2_channel_close(ch);
	libssh2_channel_wait_closed(ch);
	libssh2_channel_get_exit_signal(ch, &signame, NULL, NULL, NULL, NULL, NULL);
	*status = signame ? -1 : libssh2_channel_get_exit_status(ch);
	if (signame)
		libssh2_free(r->session, signame);
	if (*status != 0) {
		struct strbuf esc = STRBUF_INIT;

		strbuf_trim_eol(&errout);
		escape_untrusted(&esc, errout.buf, errout.len);
		set_err(err, errlen, "%s", esc.len ? esc.buf : "remote command failed");
		strbuf_release(&esc);
		rc = SYNC_ERR_REMOTE;
	} else
		rc = SYNC_OK;
close:
	libssh2_channel_free(ch);
out:
	strbuf_release(&cmd);
	strbuf_release(&errout);
	return rc;
}

int
remote_mkdir_p(struct remote *r, const char *path, char *err, size_t errlen)
{
	const char *argv[] = { "mkdir", "-p", "--", path, NULL };
	int status = 0, rc;

	if (path == NULL || *path == '\0') {
		set_err(err, errlen, "empty remote path");
		return SYNC_ERR_INVALID;
	}
	rc = remote_run(r, argv, &status, err, errlen);
	return rc;
}

int
remote_check_login(const struct remote_params *params, char *err, size_t errlen)
{
	struct remote *r;
	int rc = remote_open(params, &r, err, errlen);

	remote_close(r);
	return rc;
}
