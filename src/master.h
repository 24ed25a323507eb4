/*
 * master: the shared SSH connection of a transfer.
 *
 * One ssh runs as the ControlMaster of a socket in a private directory
 * (the transfer's, or the user's for run's early start and for a kept
 * connection): it checks the host key (learning a new one), logs in, and
 * then carries every rsync's session, so that a transfer pays for one
 * handshake. It is started as early as the request is known and waited
 * for only when the first rsync needs it, so that the handshake overlaps
 * all the local work (the key check, the store, the walk of the source).
 * Kept (keep_connection), it stays for the next transfer to the same
 * place, which then pays no handshake at all: on loopback a no-op re-sync
 * of one 256 MiB file takes 0.07 s instead of 0.26 s.
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
	bool kept;                 /* outlives us for the next transfer (keep_connection) */
	int lock_fd;               /* a kept connection's lock, held while we use it, or -1 */
	int hold_fd;               /* a kept connection's socket, held open while we use it */
	int key_fd;                /* the key, open for ssh to read by /proc, until it is up */
};

#define SSH_MASTER_INIT { -1, -1, NULL, STRBUF_INIT, NULL, NULL, NULL, 0, false, -1, -1, -1 }

/*
 * The directory private directories go in: $TMPDIR when it makes a short,
 * plain socket path (ssh splits ControlPath at spaces and expands % in
 * it), else /tmp.
 */
const char *ssh_tmp_base(void);

/*
 * The user's private directory for control sockets, $TMPDIR/scow-sync-UID
 * (0700, checked to be a directory of ours that no one else can enter: no
 * one else can put a socket where our workers connect). Made when missing
 * and kept. Anyone can make that name first in /tmp: then (or when it is
 * open to others) one no one else can make, short and plain enough for a
 * socket: $XDG_RUNTIME_DIR/scow-sync when that is private, else
 * state_dir/sockets, else a random name in TMPDIR noted in
 * state_dir/socket-dir; and why in why (empty when the usual one is
 * had), for the caller to log. NULL when none can be had; the caller
 * frees.
 */
char *ssh_socket_dir(const char *state_dir, char *why, size_t whylen);

/*
 * Make link (in a private directory) point at key_path, replacing what is
 * there, with links beside it to the key's .pub and -cert.pub where they
 * exist (ssh finds them by the name it is given): what ssh_target.key_given
 * names. 0, or SYNC_ERR_SYSTEM with errno (and no link).
 */
int key_link_make(const char *key_path, const char *link);
/* Remove link and the links beside it (key_link_make). */
void key_link_remove(const char *link);

/*
 * Make the directory of known_hosts when it is missing (ssh would not, and
 * would learn no host key). 0, or SYNC_ERR_SYSTEM with the reason in err.
 */
int ssh_prepare_known_hosts(const char *known_hosts, char *err, size_t errlen);

/*
 * Start ssh as the master of control_path for t (t's own control_path is
 * ignored). ssh removes the socket when it ends, however it is ended. 0,
 * or SYNC_ERR_SYSTEM with errno when ssh cannot be run. Without
 * t->key_given, ssh is given the key as /proc/PID/fd/N of a descriptor we
 * hold until it is up (ssh_master_wait) or stopped: its command line does
 * not name the key, and nothing is left behind however we end. (Without
 * the key's .pub or certificate beside it: where those are needed, the
 * supervisor's own connection, given a link, logs in.)
 */
int ssh_master_start(struct ssh_master *m, const struct ssh_target *t,
		     const char *control_path);

/*
 * Take the kept connection to where t goes, for one transfer at a time:
 * its socket in socket_dir (ssh_socket_dir(); NULL: none) is named by everything that decides the
 * login (ssh, its configuration, known_hosts, user, host, port and key),
 * and a lock on it (in k-locks beside it) is held until ssh_master_stop.
 * When its ssh still answers there, m is that connection, held open so
 * that it does not run out while we use it, and nothing is started. A
 * stale one (older than KEEP_AGE_MAX, or the key, a known_hosts file or
 * ssh's configuration changed since its handshake) is ended, so that a
 * new handshake checks them again. Otherwise a master is started that
 * ends keep_seconds after its last session, however long after us
 * (ControlPersist): the next transfer to the same place in that time pays
 * no handshake. 0 when m is the connection (wait for it as for any); -1
 * when it is in use by another transfer or cannot be had, and the caller
 * starts one of its own.
 */
int ssh_master_take_kept(struct ssh_master *m, const struct ssh_target *t,
			 const char *socket_dir, unsigned keep_seconds);

/*
 * Seconds a kept connection is taken again after its handshake: how long
 * a key removed from the far side's authorized_keys (which only a
 * handshake can tell) may go unnoticed.
 */
#define KEEP_AGE_MAX 300

/*
 * Wait until the master's socket answers: 0. When ssh ends first,
 * SYNC_ERR_CONNECT with its reason in why (one line, escaped); after
 * timeout seconds, SYNC_ERR_TIMEOUT; when *stop becomes non-zero (a
 * signal), SYNC_ERR_CONNECT with nothing in why.
 */
int ssh_master_wait(struct ssh_master *m, double timeout, const volatile sig_atomic_t *stop,
		    struct strbuf *why);

/*
 * Did pid end as a kept master's ssh does once its master has gone to the
 * background (exit 0)? Then m no longer has a process of ours.
 */
bool ssh_master_detached(struct ssh_master *m, pid_t pid, int status);

/*
 * Does m's socket answer already, without waiting (a kept connection
 * taken up)? Then sessions can start before ssh_master_wait.
 */
bool ssh_master_ready(const struct ssh_master *m);

/* Does m connect where t does (the same user, host, port and key)? */
bool ssh_master_serves(const struct ssh_master *m, const struct ssh_target *t);

/*
 * End the connection and wait for ssh; m can be started again. A kept
 * connection that is up is left to end by itself; its lock is let go.
 */
void ssh_master_stop(struct ssh_master *m);

/*
 * ssh_master_stop, ending a kept connection too (ssh -O exit; t says
 * where it goes): one that still carries a session of a remote command
 * we gave up on would stay for as long as the far side is stuck, however
 * short keep_connection is. Only for a connection we hold the lock of.
 */
void ssh_master_end(struct ssh_master *m, const struct ssh_target *t);

/* Stop it, and free what m holds. */
void ssh_master_release(struct ssh_master *m);

#endif
