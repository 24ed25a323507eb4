/*
 * notify: tell a web service, or a program, what became of a transfer.
 *
 * The supervisor starts one notifier (notify_start) and hands it records
 * (notify_post): each the transfer's JSON record, as `query --json` prints
 * it, with the event it is for (running, done, failed, cycle, ...). A
 * child process delivers them, one at a time, in the order given, so a
 * slow or dead receiver costs the transfer nothing: notify_post only
 * queues, and a record that finds the queue full is dropped with a
 * warning. notify_finish gives the child a bounded time to deliver the
 * rest, then ends it.
 *
 * Delivery:
 * - to the URL, a POST of the record with Content-Type: application/json,
 *   X-Scow-Sync-Event: EVENT and, when a secret is set,
 *   X-Scow-Sync-Signature: sha256=HEX (HMAC-SHA256 of the body keyed with
 *   the secret). Each attempt has a timeout (connecting, at most 5 s of
 *   it); after a failed one come NOTIFY_RETRIES more, 1, 2 and 4 s apart.
 *   A 2xx answer is success; any other, and any transport error, is a
 *   failure. Only http and https are spoken; redirects are not followed.
 * - to the command, run as one program without a shell (looked up in
 *   PATH) with the record on its stdin, stdout on /dev/null and the same
 *   timeout; it must exit 0. It is tried once. It leads a process group
 *   of its own, which is killed when it exits, at its timeout and when
 *   the notifier is stopped: nothing it starts outlives it (a helper that
 *   must, leaves the group).
 * A record a receiver did not take is logged once (a warning naming the
 * URL without its userinfo, or the command, and the reason); nothing is
 * ever reported to the caller.
 *
 * The child is forked by notify_start, before anything in it touches
 * libcurl. It closes every descriptor it inherited (the store, locks,
 * connections: none of them is its to hold), opens the logs again by path
 * (log_reopen), never returns into the caller's code, ignores SIGINT,
 * SIGHUP and SIGTERM (the records that tell of a stop must still go out)
 * and ends on SIGUSR1, which notify_finish sends it at its deadline and,
 * on Linux, its parent's death: it ends the command at work with its
 * group, then itself. Call notify_start from a process with one thread.
 */
#ifndef SCOW_SYNC_NOTIFY_H
#define SCOW_SYNC_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define NOTIFY_TIMEOUT_MS 10000          /* per attempt, by default */
#define NOTIFY_CONNECT_TIMEOUT_MS 5000   /* of an attempt's time, at most */
#define NOTIFY_RETRIES 3                 /* attempts after the first, for the URL */
#define NOTIFY_BACKOFF_MS 1000           /* before the first retry; doubled for each next */
#define NOTIFY_RECORD_MAX (1 << 20)      /* bytes of one record; a larger one is dropped */
#define NOTIFY_QUEUE_MAX (4 << 20)       /* bytes waiting for the child, beyond its socket */

/* What to tell, and how. The strings are borrowed for the call to notify_start only. */
struct notify_config {
	const char *url;       /* http:// or https:// (see notify_url_check), or NULL */
	const char *command;   /* a program to run for each record, or NULL */
	const char *secret;    /* the key that signs each POST; NULL or "": unsigned */
	int timeout_ms;        /* of each attempt, and of the command; <= 0: NOTIFY_TIMEOUT_MS */
};

struct notifier;

/*
 * Start the notifier. 0 with *out NULL when cfg names neither URL nor
 * command; SYNC_ERR_INVALID for a URL notify_url_check rejects,
 * SYNC_ERR_SYSTEM when the child cannot be started; each with a one-line
 * reason in err.
 */
int notify_start(struct notifier **out, const struct notify_config *cfg, char *err,
		 size_t errlen);

/*
 * Queue a record (body, len bytes) for event (1 to 32 of a-z, 0-9, '-'
 * and '_'). Never blocks. n may be NULL (nothing to tell).
 */
void notify_post(struct notifier *n, const char *event, const char *body, size_t len);

/*
 * A child of the caller has ended and was reaped by the caller (as the
 * pool reaps every child): true when it was the notifier, which then
 * takes no more records.
 */
bool notify_reaped(struct notifier *n, pid_t pid, int status);

/*
 * Let the notifier deliver what is queued, waiting at most wait_ms, then
 * end it (SIGKILL, if it is still at work) and reap it; logs how many
 * records were left undelivered. Frees n; n may be NULL.
 */
void notify_finish(struct notifier *n, int wait_ms);

/* The signature header's value for body: HMAC-SHA256 keyed with secret, in lower-case hex. */
void notify_signature(const char *secret, const char *body, size_t len, char out[65]);

/*
 * Check a URL for --notify: http or https, a host, a port in range if
 * given, no spaces or control bytes. 0, or -1 with a one-line reason in
 * err (which does not repeat the URL: it may hold a password).
 */
int notify_url_check(const char *url, char *err, size_t errlen);

#endif
