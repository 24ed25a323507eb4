/*
 * master: the shared SSH connection of a transfer.
 *
 * One ssh runs as the ControlMaster of a socket in a private directory
 * (the transfer's, or for run's early start the user's): it checks the host key (learning a new one), logs in, and
 * then carries every rsync's session, so that a transfer pays for one
 * handshake. It is started as early as the request is known and waited
 * for only when the first rsync needs it, so that the handshake overlaps
 * all the local work (the key check, the store, the walk of the source).
 */
#ifndef SCOW_SYNC_MASTER_H
#define SCOW_SYNC_MASTER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "rsync.h"
#include "util.h"

struct ssh_master {
	pid_t pid;                 /* the ssh, or -1 when it is not running */
	int err_fd;                /* its stderr until it is up, or -1 */
	char *control_path;        /* its socket */
	struct strbuf said;        /* the tail of what it wrote on stderr */
	char *user, *host, *key_path;   /* whom it logged in as, where */
	int port;
};

#define SSH_MASTER_INIT { -1, -1, NULL, STRBUF_INIT, NULL, NULL, NULL, 0 }

/*
 * Make the directory of known_hosts when it is missing (ssh would not, and
 * would learn no host key). 0, or SYNC_ERR_SYSTEM with the reason in err.
 */
int ssh_prepare_known_hosts(const char *known_hosts, char *err, size_t errlen);

/*
 * Start ssh as the master of control_path for t (t's own control_path is
 * ignored). ssh removes the socket when it ends, however it is ended. 0,
 * or SYNC_ERR_SYSTEM with errno when ssh cannot be run.
 */
int ssh_master_start(struct ssh_master *m, const struct ssh_target *t,
		     const char *control_path);

/*
 * Wait until the master's socket answers: 0. When ssh ends first,
 * SYNC_ERR_CONNECT with its reason in why (one line, escaped); after
 * timeout seconds, SYNC_ERR_TIMEOUT; when *stop becomes non-zero (a
 * signal), SYNC_ERR_CONNECT with nothing in why.
 */
int ssh_master_wait(struct ssh_master *m, double timeout, const volatile sig_atomic_t *stop,
		    struct strbuf *why);

/* Does m connect where t does (the same user, host, port and key)? */
bool ssh_master_serves(const struct ssh_master *m, const struct ssh_target *t);

/* End the connection and wait for ssh; m can be started again. */
void ssh_master_stop(struct ssh_master *m);

/* Stop it, and free what m holds. */
void ssh_master_release(struct ssh_master *m);

#endif
