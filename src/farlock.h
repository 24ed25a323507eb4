/*
 * farlock: one writer per destination, held on the far side.
 *
 * The store keeps two starts of one request on one node apart, but not
 * two spellings of a host, two nodes with stores of their own, or two
 * machines. The far side is the one place every writer to a destination
 * passes through: a remote process takes flock(1) on a file in the
 * destination's private area (DEST/.scow-sync-partial/.NAME.lock, NAME the
 * source's name: what lands as DEST/NAME) and holds it for as long as the
 * supervisor that asked lives and reaches it.
 *
 * Why flock held by a live remote process, and not a lock directory with
 * an owner's name in it: a lock that a process holds ends with the
 * process, so a stale one needs no rule that could guess wrong. The
 * holder ends, and the kernel (or the NFS server) drops the lock, when:
 * - the supervisor ends, or is killed (kill -9 included): the heartbeat
 *   process dies with it, ssh reads the end of its input, the far side
 *   reads it too;
 * - the link drops: the far side hears no heartbeat (one line every
 *   FAR_LOCK_BEAT seconds) for FAR_LOCK_DEAD seconds and gives up the lock,
 *   even where sshd never notices a dead connection.
 * On its way out the holder removes the file while it still holds the
 * lock; a taker checks that the file it locked is still the one under
 * that name, so a file removed meanwhile is never locked by two.
 *
 * The same command makes the destination and says where it is, absolute
 * and with links resolved (pwd -P): two spellings of one destination are
 * then one request (see store.h, far_destination).
 *
 * A far side without flock(1) gets no lock (held false, a warning for the
 * caller to log); one without timeout(1) keeps the lock until ssh ends.
 */
#ifndef SCOW_SYNC_FARLOCK_H
#define SCOW_SYNC_FARLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <sys/types.h>

#include "rsync.h"
#include "util.h"

#define FAR_LOCK_BEAT 15    /* seconds between heartbeats */
#define FAR_LOCK_DEAD 90    /* seconds without one after which the far side lets go */
#define FAR_LOCK_DEAD_TEXT "90"   /* the same, for the remote script */

struct far_lock {
	pid_t ssh_pid;          /* the remote holder's ssh, or -1 */
	pid_t beat_pid;         /* the heartbeat into its input, or -1 */
	int out_fd;             /* ssh's stdout until the answer is read, or -1 */
	int err_fd;             /* ssh's stderr, kept open (never read once held) */
	bool held;
	bool made;              /* the command created the destination */
	bool no_destination;    /* it failed: the destination cannot be made or entered */
	bool keep_absent;       /* set by the caller: do not make a missing destination */
	bool absent;            /* so it was: nothing locked (SYNC_OK, held false) */
	char *where;            /* the destination, absolute on the far side, or NULL */
	const volatile sig_atomic_t *stop;  /* when set: stop waiting for an answer */
};
#define FAR_LOCK_INIT { -1, -1, -1, -1, false, false, false, false, false, NULL, NULL }

/*
 * Take the lock for dest/name on t's host, tag (a line naming this
 * transfer and node) written in it for whoever finds it taken. Blocks
 * for one round trip (at most timeout seconds). SYNC_OK: held (or, with
 * held false, the far side has no flock: msg says so). SYNC_ERR_EXISTS:
 * another writer holds it, msg names it. SYNC_ERR_REMOTE: the command
 * failed, msg says how. dest and name must not hold a newline.
 */
int far_lock_take(struct far_lock *l, const struct ssh_target *t, const char *dest,
		  const char *name, const char *tag, int timeout, char *msg, size_t msglen);

/*
 * far_lock_take in two steps, so that its round trip can overlap other
 * work: far_lock_begin sends the request and returns at once (SYNC_OK, or
 * SYNC_ERR_SYSTEM with msg); far_lock_answer then waits for the answer
 * and returns as far_lock_take does. far_lock_release ends a request
 * whose answer is never read.
 */
int far_lock_begin(struct far_lock *l, const struct ssh_target *t, const char *dest,
		   const char *name, const char *tag, char *msg, size_t msglen);
int far_lock_answer(struct far_lock *l, int timeout, char *msg, size_t msglen);

/*
 * For a reaper of all children: true when pid was one of the lock's (the
 * lock is then no longer held if it was its ssh).
 */
bool far_lock_reaped(struct far_lock *l, pid_t pid);

/*
 * Give the lock up and wait up to grace seconds until the far side has
 * (so that the next transfer finds it free), then end the holder's ssh;
 * frees l's contents. True when the holder's ssh had to be ended so: the
 * far side's holder may still hold a session of the connection it ran
 * over, which is then not to be kept for another transfer.
 */
bool far_lock_release(struct far_lock *l, double grace);

/*
 * The host of a request as ssh reaches it, for telling one request from
 * another: "user@ADDRESS:port" into out, from what ssh -G (with the
 * transfers' own options) says of t: its HostName, Port and User, the
 * host name then resolved here to its lowest address, so that an alias,
 * a name and its address are one host. Behind a ProxyJump or ProxyCommand
 * the name stays as ssh -G says it (it is resolved beyond the proxy).
 * SYNC_ERR_REMOTE when ssh -G fails: the caller goes by the spelling.
 */
int far_host_resolve(const struct ssh_target *t, struct strbuf *out);

/*
 * The user and port ssh logs in with to t's host, from what ssh -G says
 * of it: for a target without them (user NULL, port 0), the User and Port
 * of the user's ssh configuration, else ssh's defaults (the account's
 * name, 22). *user: caller frees. SYNC_ERR_REMOTE when ssh -G fails.
 */
int far_host_login(const struct ssh_target *t, char **user, int *port);

/*
 * Read ssh -G's output: hostname, port and user into the given buffers,
 * *proxied when a ProxyJump or ProxyCommand is set. SYNC_ERR_INVALID when
 * one of the three is missing.
 */
int far_host_parse(const char *text, struct strbuf *host, struct strbuf *port,
		   struct strbuf *user, bool *proxied);

#endif
