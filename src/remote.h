/*
 * remote: control work on the far side over one libssh2 session.
 *
 * For work that is not data: a login, a remote command, mkdir -p. Data
 * always goes through rsync.
 *
 * The host key is checked against known_hosts: a known and matching key
 * passes, an unknown host or one whose key changed is refused with
 * SYNC_ERR_HOSTKEY. Nothing is ever learned here: libssh2 reads neither
 * the site's known hosts nor ssh's configuration, so only OpenSSH, which
 * reads them all, adds keys (the key check, -c, logs in with OpenSSH for
 * that reason). Host key algorithms are
 * preferred in OpenSSH's default order so that both clients learn and check
 * the same key.
 *
 * Errors: functions return 0 or a negative SYNC_ERR_* code and write a
 * one-line explanation into the caller's err buffer (never key material).
 *   SYNC_ERR_CONNECT  name resolution failed, refused, unreachable
 *   SYNC_ERR_TIMEOUT  no answer within the timeout
 *   SYNC_ERR_HOSTKEY  known_hosts has another key for the host, or none
 *   SYNC_ERR_AUTH     the server refused the key
 *   SYNC_ERR_SYSTEM   the key file cannot be read (errno set)
 *   SYNC_ERR_SSH      anything else libssh2 reports
 *   SYNC_ERR_REMOTE   a remote command ran and failed (exit status != 0)
 */
#ifndef SCOW_SYNC_REMOTE_H
#define SCOW_SYNC_REMOTE_H

#include <stddef.h>

struct remote_params {
	const char *host;
	int port;
	const char *user;
	const char *key_path;      /* private key file (OpenSSH or PEM format) */
	const char *passphrase;    /* NULL for none */
	const char *known_hosts;   /* file to check host keys in (never written) */
	int timeout_ms;            /* for connecting and for each blocking step */
};

struct remote;

/* Connect, verify the host key and authenticate. *out is owned by caller. */
int remote_open(const struct remote_params *params, struct remote **out,
		char *err, size_t errlen);
void remote_close(struct remote *r);

/*
 * Run argv on the far side through its shell, every word single-quoted.
 * Stores the exit status in *status (-1 when killed by a signal) and up to
 * a few KiB of its standard error in err when non-zero.
 */
int remote_run(struct remote *r, const char *const *argv, int *status,
	       char *err, size_t errlen);

/* Create path and its missing parents (mkdir -p). */
int remote_mkdir_p(struct remote *r, const char *path, char *err, size_t errlen);

/*
 * Check that key login works: 0 when it does, SYNC_ERR_AUTH when the key is
 * refused, other codes when the answer is unknown (host down, host key).
 */
int remote_check_login(const struct remote_params *params, char *err, size_t errlen);

#endif
