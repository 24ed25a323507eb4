/* notify: deliver a transfer's records to a URL or a command from a child (see notify.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "log.h"
#include "notify.h"
#include "spawn.h"
#include "util.h"

#define NOTIFY_EVENT_MAX 32
#define NOTIFY_FD 3          /* the child's end of the socket, once it has closed the rest */
/* The child's stop signal, from notify_finish or at its parent's death (PR_SET_PDEATHSIG). */
#define NOTIFY_STOP_SIGNAL SIGUSR1
/* After the stop signal, the time the child has to end its command's group and exit. */
#define NOTIFY_STOP_WAIT_MS (SPAWN_KILL_GRACE_MS + 1000)

/*
 * What goes down the socket for each record, then the event's name and the
 * body. Both ends are one program on one machine: native byte order.
 */
struct notify_frame {
	uint32_t event_len;
	uint32_t body_len;
};

struct notifier {
	pid_t pid;
	int fd;                   /* our end of the socket pair with the child */
	struct strbuf pending;    /* frames the socket had no room for yet, in order */
	unsigned long queued;     /* records taken (in pending or sent) */
	unsigned long finished;   /* records the child has said it is done with */
	unsigned long dropped;    /* records not taken since the queue was last full */
	unsigned char ack[sizeof(uint64_t)];   /* a count from the child, as far as it came */
	size_t ack_len;
	bool shut;                /* the queue is all sent and its end too (notify_finish) */
	bool ended;               /* the child's end of the socket closed: it has exited */
	bool warned;              /* it ended early, said once; nothing more goes to it */
	bool reaped;
	int status;
};

/* Where the parts of a URL lie, as offsets into it. */
struct url_parts {
	size_t scheme_len;   /* "http" or "https" */
	size_t auth;         /* the authority, after "://" */
	size_t host;         /* the authority past any userinfo */
	size_t end;          /* the path, query or fragment, or the end */
};

/* Split url, checking what notify_url_check promises: 0, or -1 with the reason in err. */
static int
url_split(const char *url, struct url_parts *p, char *err, size_t errlen)
{
	const char *sep = strstr(url, "://"), *host, *host_end, *end, *at;
	size_t i;
	int port;

	for (i = 0; url[i]; i++) {
		if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f) {
			snprintf(err, errlen, "a URL has no spaces or control characters");
			return -1;
		}
	}
	for (i = 0; sep && url + i < sep; i++) {
		if (!isalnum((unsigned char)url[i]) && !strchr("+-.", url[i]))
			sep = NULL;
	}
	if (sep == NULL || sep == url) {
		snprintf(err, errlen, "not a URL: want http://HOST/PATH or https://HOST/PATH");
		return -1;
	}
	p->scheme_len = (size_t)(sep - url);
	if (!(p->scheme_len == 4 && strncasecmp(url, "http", 4) == 0) &&
	    !(p->scheme_len == 5 && strncasecmp(url, "https", 5) == 0)) {
		snprintf(err, errlen, "only http and https URLs are accepted, not '%.*s'",
			 (int)(p->scheme_len > 16 ? 16 : p->scheme_len), url);
		return -1;
	}
	p->auth = p->scheme_len + 3;
	p->end = p->auth + strcspn(url + p->auth, "/?#");
	end = url + p->end;
	host = url + p->auth;
	while ((at = memchr(host, '@', (size_t)(end - host))) != NULL)
		host = at + 1;
	p->host = (size_t)(host - url);
	if (*host == '[') {
		host_end = memchr(host, ']', (size_t)(end - host));
		if (host_end == NULL) {
			snprintf(err, errlen, "the URL's host has '[' but no ']'");
			return -1;
		}
		host_end++;
		if (host_end == host + 2)
			host_end = host;   /* "[]" names no host */
	} else {
		host_end = memchr(host, ':', (size_t)(end - host));
		if (host_end == NULL)
			host_end = end;
	}
	if (host_end == host) {
		snprintf(err, errlen, "the URL names no host");
		return -1;
	}
	if (host_end < end) {
		char *num = xstrndup(host_end + 1, (size_t)(end - host_end - 1));
		bool bad = *host_end != ':' || parse_int_range(num, 1, 65535, &port) < 0;

		if (bad)
			snprintf(err, errlen, "the URL's port is not a number from 1 to 65535");
		free(num);
		if (bad)
			return -1;
	}
	return 0;
}

int
notify_url_check(const char *url, char *err, size_t errlen)
{
	struct url_parts p;

	return url_split(url, &p, err, errlen);
}

/* The URL as the log shows it: without the userinfo, which may hold a password. Caller frees. */
static char *
url_shown(const char *url)
{
	struct url_parts p;
	char err[128];

	if (url_split(url, &p, err, sizeof err) < 0)
		return xstrdup("(a bad URL)");
	return xasprintf("%.*s%s", (int)p.auth, url, url + p.host);
}

void
notify_signature(const char *secret, const char *body, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len,
		 mac, &n) == NULL || n != 32)
		fatal("HMAC-SHA256 failed");
	for (i = 0; i < n; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 0xf];
	}
	out[64] = '\0';
}

/* Is event a name that may go in a header as it is? */
static bool
event_ok(const char *event)
{
	size_t n = strlen(event);

	return n > 0 && n <= NOTIFY_EVENT_MAX &&
	       strspn(event, "abcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

/* ---- the child ------------------------------------------------------------ */

/* Set in the child by NOTIFY_STOP_SIGNAL: end the command at work, deliver no more. */
static volatile sig_atomic_t notifier_stop;

static void
on_stop_signal(int sig)
{
	(void)sig;
	notifier_stop = 1;
}

/* libcurl's progress callback: non-zero ends the transfer at hand when told to stop. */
static int
stop_check(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
	   curl_off_t ulnow)
{
	return notifier_stop != 0;
}

/* What the child needs, all of it set before the first record. */
struct deliverer {
	const struct notify_config *cfg;   /* the parent's, as copied by fork */
	int timeout_ms;
	int backoff_ms;
	CURL *curl;
	char *shown;                       /* the URL, without userinfo */
	char errbuf[CURL_ERROR_SIZE];
};

/* Read exactly len bytes: 1, 0 at the end before any, -1 on an error or a cut frame. */
static int
read_exact(int fd, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR && !notifier_stop)
			continue;
		if (n <= 0)
			return n == 0 && got == 0 ? 0 : -1;
		got += (size_t)n;
	}
	return 1;
}

/* Read the next len bytes of a frame into sb: 0, or -1 when the frame was cut. */
static int
read_part(struct strbuf *sb, size_t len)
{
	strbuf_reset(sb);
	strbuf_grow(sb, len);
	if (len > 0 && read_exact(NOTIFY_FD, sb->buf, len) <= 0)
		return -1;
	sb->len = len;
	sb->buf[len] = '\0';
	return 0;
}

/* libcurl's sink for the answer's body, which nothing reads. */
static size_t
discard(char *data, size_t size, size_t nmemb, void *ctx)
{
	return size * nmemb;
}

/* Set what every POST shares; 0, or -1 with the reason logged. */
static int
curl_setup(struct deliverer *d)
{
	const struct notify_config *cfg = d->cfg;
	long connect_ms = d->timeout_ms < NOTIFY_CONNECT_TIMEOUT_MS ?
			  d->timeout_ms : NOTIFY_CONNECT_TIMEOUT_MS;
	CURLcode rc;

	if ((rc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK ||
	    (d->curl = curl_easy_init()) == NULL) {
		log_warn("notify: cannot set up libcurl (%s); nothing is posted to %s",
			 rc != CURLE_OK ? curl_easy_strerror(rc) : "no handle", d->shown);
		return -1;
	}
	/* One handle for all: its connection is kept from one record to the next. */
	rc = curl_easy_setopt(d->curl, CURLOPT_URL, cfg->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(d->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(d->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(d->curl, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(d->curl, CURLOPT_REDIR_PROTOCOLS,
				      CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
	/* A receiver that moved answers 3xx, which counts as a failure. */
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(d->curl, CURLOPT_FOLLOWLOCATION, 0L);
	/* No SIGALRM to bound name lookups: curl's siglongjmp out of them is not safe. */
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(d->curl, CURLOPT_NOSIGNAL, 1L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(d->curl, CURLOPT_TIMEOUT_MS, (long)d->timeout_ms);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(d->curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(d->curl, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, discard);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(d->curl, CURLOPT_ERRORBUFFER, d->errbuf);
	/* A stop ends a post at once, not at its timeout. */
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(d->curl, CURLOPT_XFERINFOFUNCTION, stop_check);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(d->curl, CURLOPT_NOPROGRESS, 0L);
	if (rc != CURLE_OK) {
		log_warn("notify: cannot set up libcurl for %s: %s", d->shown,
			 curl_easy_strerror(rc));
		curl_easy_cleanup(d->curl);
		d->curl = NULL;
		return -1;
	}
	return 0;
}

/* Make one attempt to POST the record: 0, or -1 with the reason in why. */
static int
post_once(struct deliverer *d, const char *body, size_t len, struct strbuf *why)
{
	long code = 0;
	CURLcode rc;

	d->errbuf[0] = '\0';
	rc = curl_easy_setopt(d->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(d->curl, CURLOPT_POSTFIELDS, body);
	if (rc == CURLE_OK)
		rc = curl_easy_perform(d->curl);
	strbuf_reset(why);
	if (rc != CURLE_OK) {
		strbuf_addstr(why, d->errbuf[0] ? d->errbuf : curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code <= 299)
		return 0;
	strbuf_addf(why, "the answer was HTTP %ld", code);
	return -1;
}

/* Append line to the header list; false when out of memory (the list stays as it was). */
static bool
add_header(struct curl_slist **list, const char *line)
{
	struct curl_slist *l = curl_slist_append(*list, line);

	if (l == NULL)
		return false;
	*list = l;
	return true;
}

/* POST the record, with its retries; log it once if it never got through. */
static void
post_record(struct deliverer *d, const char *event, const char *body, size_t len)
{
	struct curl_slist *headers = NULL;
	struct strbuf why = STRBUF_INIT;
	char *line = xasprintf("X-Scow-Sync-Event: %s", event), *sig_line = NULL;
	int attempt = 0, ok = -1;
	bool built;

	if (d->cfg->secret && d->cfg->secret[0]) {
		char sig[65];

		notify_signature(d->cfg->secret, body, len, sig);
		sig_line = xasprintf("X-Scow-Sync-Signature: sha256=%s", sig);
	}
	/* "Expect:": no waiting for a "100 Continue" that some receivers never send. */
	built = add_header(&headers, "Content-Type: application/json") &&
		add_header(&headers, "Expect:") && add_header(&headers, line) &&
		(sig_line == NULL || add_header(&headers, sig_line)) &&
		curl_easy_setopt(d->curl, CURLOPT_HTTPHEADER, headers) == CURLE_OK;
	if (!built)
		strbuf_addstr(&why, "out of memory for the headers");
	for (attempt = 0; built && attempt <= NOTIFY_RETRIES && !notifier_stop; attempt++) {
		if (attempt > 0)
			poll(NULL, 0, d->backoff_ms << (attempt - 1));
		if ((ok = post_once(d, body, len, &why)) == 0)
			break;
		log_debug("notify: attempt %d to post the '%s' record to %s failed: %s",
			  attempt + 1, event, d->shown, why.buf);
	}
	if (ok < 0)
		log_warn("notify: cannot post the '%s' record to %s (%d attempts): %s", event,
			 d->shown, attempt, why.buf);
	/* The list is the handle's until replaced: let go of it first. */
	curl_easy_setopt(d->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	strbuf_release(&why);
	free(line);
	free(sig_line);
}

/* Run the command with the record on its stdin; log it if it did not take it. */
static void
run_command(struct deliverer *d, const char *event, const char *body, size_t len)
{
	const char *argv[] = { d->cfg->command, NULL };
	struct strbuf input = STRBUF_INIT, err = STRBUF_INIT, why = STRBUF_INIT;
	struct spawn_limits lim;
	int rc, status = 0;

	/*
	 * In a process group of its own, which goes with it: when it exits,
	 * at its timeout and when the notifier is stopped, nothing it started
	 * is left behind.
	 */
	memset(&lim, 0, sizeof lim);
	lim.timeout_ms = d->timeout_ms;
	lim.die_with_parent = true;
	lim.end_group = true;
	lim.stop = &notifier_stop;
	strbuf_add(&input, body, len);
	rc = spawn_capture_limited(argv, &input, &status, NULL, &err, &lim);
	if (rc == SYNC_ERR_TIMEOUT && notifier_stop)
		strbuf_addstr(&why, "the notifier was stopped while it ran");
	else if (rc == SYNC_ERR_TIMEOUT)
		strbuf_addf(&why, "it did not end within %d ms", d->timeout_ms);
	else if (rc < 0)
		strbuf_addf(&why, "cannot run it: %s", sync_strerror(rc));
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		strbuf_addstr(&why, spawn_status_text(status));
	if (why.len > 0 && rc != SYNC_ERR_SYSTEM && err.len > 0) {
		/* What it said of itself, its first line. */
		size_t n = strcspn(err.buf, "\n");

		strbuf_addstr(&why, ": ");
		escape_untrusted(&why, err.buf, text_cut(err.buf, n, 200));
	}
	if (why.len > 0)
		log_warn("notify: the command '%s' did not take the '%s' record: %s",
			 d->cfg->command, event, why.buf);
	strbuf_release(&input);
	strbuf_release(&err);
	strbuf_release(&why);
}

/* Leave only what the child needs open: stdin and stdout on /dev/null, stderr, and fd. */
static int
child_descriptors(int fd)
{
	int null, i;

	if (fd != NOTIFY_FD && dup2(fd, NOTIFY_FD) < 0)
		return -1;
	if (set_cloexec(NOTIFY_FD) < 0)
		return -1;
#if defined(HAVE_CLOSEFROM)
	closefrom(NOTIFY_FD + 1);
#else
	{
		long max = sysconf(_SC_OPEN_MAX);

#if defined(HAVE_CLOSE_RANGE)
		if (close_range(NOTIFY_FD + 1, ~0U, 0) == 0)
			max = 0;
#endif
		for (i = NOTIFY_FD + 1; i < max; i++)
			close(i);
	}
#endif
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		return -1;
	for (i = 0; i < 2; i++)
		if (dup2(null, i) < 0)
			return -1;
	close(null);
	return 0;
}

/* The child: deliver each record that comes down fd, in order, until its end. */
static _Noreturn void
notifier_main(int fd, const struct notify_config *cfg, pid_t parent)
{
	struct deliverer d;
	struct notify_frame head;
	struct strbuf event = STRBUF_INIT, body = STRBUF_INIT;
	uint64_t done = 0;
	struct sigaction sa;
	sigset_t none;
	int s;

	/* The caller's handlers would act on the caller's state: ours is a copy. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (s = 1; s < NSIG; s++)
		sigaction(s, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	/*
	 * terminate (and systemctl stop) signal the transfer's whole session:
	 * the record of that stop must still go out. The notifier ends when
	 * its parent has given it its time (notify_finish), or with it.
	 */
	signal(SIGTERM, SIG_IGN);
	/*
	 * Stopped (by notify_finish, or by its parent's death), it ends the
	 * command at work with all its group, then itself. No SA_RESTART: a
	 * read waiting for the next record ends too.
	 */
	sa.sa_handler = on_stop_signal;
	sigaction(NOTIFY_STOP_SIGNAL, &sa, NULL);
#ifdef PR_SET_PDEATHSIG
	if (prctl(PR_SET_PDEATHSIG, NOTIFY_STOP_SIGNAL) < 0 || getppid() != parent)
		_exit(0);
#endif
	if (child_descriptors(fd) < 0)
		_exit(1);
	log_reopen();

	memset(&d, 0, sizeof d);
	d.cfg = cfg;
	d.timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : NOTIFY_TIMEOUT_MS;
	d.backoff_ms = (int)env_number("SCOW_SYNC_TEST_NOTIFY_BACKOFF_MS", 0, 60000,
				       NOTIFY_BACKOFF_MS);
	if (cfg->url && cfg->url[0]) {
		d.shown = url_shown(cfg->url);
		(void)curl_setup(&d);
	}
	while (!notifier_stop && read_exact(NOTIFY_FD, &head, sizeof head) > 0) {
		if (head.event_len > NOTIFY_EVENT_MAX || head.body_len > NOTIFY_RECORD_MAX)
			break;
		if (read_part(&event, head.event_len) < 0 || read_part(&body, head.body_len) < 0)
			break;
		if (d.curl)
			post_record(&d, event.buf, body.buf, body.len);
		if (cfg->command && cfg->command[0])
			run_command(&d, event.buf, body.buf, body.len);
		/*
		 * How many are done, for the parent to say how many were not.
		 * Never waited for; a count it had no room for is carried by the next.
		 */
		done++;
		(void)send(NOTIFY_FD, &done, sizeof done, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	/* The memory goes with the process; the connection is closed politely. */
	if (d.curl)
		curl_easy_cleanup(d.curl);
	_exit(0);
}

/* ---- the parent ----------------------------------------------------------- */

int
notify_start(struct notifier **out, const struct notify_config *cfg, char *err,
	     size_t errlen)
{
	struct notifier *n;
	bool url = cfg->url && cfg->url[0], command = cfg->command && cfg->command[0];
	pid_t pid, parent = getpid();
	int sv[2];

	*out = NULL;
	if (!url && !command)
		return SYNC_OK;
	if (url && notify_url_check(cfg->url, err, errlen) < 0)
		return SYNC_ERR_INVALID;
	/* A socket, not a pipe: send() can be told never to block and never to raise SIGPIPE. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "cannot make a socket for the notifier: %s",
			 strerror(errno));
		return SYNC_ERR_SYSTEM;
	}
	/* What stdio holds would be written twice if the child ever exit()ed (fatal). */
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int saved = errno;

		close(sv[0]);
		close(sv[1]);
		snprintf(err, errlen, "cannot start the notifier: %s", strerror(saved));
		errno = saved;
		return SYNC_ERR_SYSTEM;
	}
	if (pid == 0)
		notifier_main(sv[1], cfg, parent);
	close(sv[1]);
	n = xcalloc(1, sizeof *n);
	n->pid = pid;
	n->fd = sv[0];
	strbuf_init(&n->pending, 0);
	*out = n;
	return SYNC_OK;
}

/* "s" after a count other than one. */
static const char *
plural(unsigned long count)
{
	return count == 1 ? "" : "s";
}

/* The child ended before it was told to: say so once; nothing more goes to it. */
static void
ended_early(struct notifier *n, const char *why)
{
	if (n->warned)
		return;
	n->warned = true;
	log_warn("notify: the notifier ended (%s); %lu record%s not delivered, "
		 "and none from now on", why, n->queued - n->finished,
		 plural(n->queued - n->finished));
	strbuf_reset(&n->pending);
}

/* Take the child's counts of the records it is done with, and notice its end. */
static void
read_acks(struct notifier *n)
{
	unsigned char buf[256];
	ssize_t r, i;

	while (!n->ended) {
		r = recv(n->fd, buf, sizeof buf, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r <= 0) {
			n->ended = true;
			break;
		}
		/* Each count a uint64_t, which may come in parts; the last is what counts. */
		for (i = 0; i < r; i++) {
			n->ack[n->ack_len++] = buf[i];
			if (n->ack_len == sizeof(uint64_t)) {
				uint64_t v;

				memcpy(&v, n->ack, sizeof v);
				n->finished = (unsigned long)v;
				n->ack_len = 0;
			}
		}
	}
	if (n->ended && !n->shut)
		ended_early(n, "its socket closed");
}

/* Send what the socket takes of the pending frames now, without waiting. */
static void
flush_pending(struct notifier *n)
{
	ssize_t r;

	while (!n->ended && !n->warned && n->pending.len > 0) {
		r = send(n->fd, n->pending.buf, n->pending.len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r > 0)
			strbuf_remove_front(&n->pending, (size_t)r);
		else if (r < 0 && errno == EINTR)
			continue;
		else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		else
			ended_early(n, r < 0 ? strerror(errno) : "its socket closed");
	}
}

void
notify_post(struct notifier *n, const char *event, const char *body, size_t len)
{
	struct notify_frame head;
	size_t elen;

	if (n == NULL)
		return;
	if (!event_ok(event)) {
		log_warn("notify: not sent: a record for an event without a valid name");
		return;
	}
	read_acks(n);
	flush_pending(n);
	if (n->ended || n->warned)
		return;
	elen = strlen(event);
	if (len > NOTIFY_RECORD_MAX) {
		log_warn("notify: the '%s' record is not sent: %zu bytes is more than %d", event,
			 len, NOTIFY_RECORD_MAX);
		return;
	}
	/* Said when it begins and when it ends: a receiver gone for hours is two lines. */
	if (n->pending.len + sizeof head + elen + len > NOTIFY_QUEUE_MAX) {
		if (n->dropped++ == 0)
			log_warn("notify: the receiver is behind and the queue is full: records "
				 "are dropped until it has room, the '%s' record first", event);
		return;
	}
	if (n->dropped > 0) {
		log_warn("notify: the queue has room again; %lu record%s dropped", n->dropped,
			 n->dropped == 1 ? " was" : "s were");
		n->dropped = 0;
	}
	head.event_len = (uint32_t)elen;
	head.body_len = (uint32_t)len;
	strbuf_add(&n->pending, &head, sizeof head);
	strbuf_add(&n->pending, event, elen);
	strbuf_add(&n->pending, body, len);
	n->queued++;
	flush_pending(n);
}

bool
notify_reaped(struct notifier *n, pid_t pid, int status)
{
	if (n == NULL || n->reaped || pid != n->pid)
		return false;
	n->reaped = true;
	n->status = status;
	if (!n->shut)
		ended_early(n, spawn_status_text(status));
	n->ended = true;
	return true;
}

void
notify_finish(struct notifier *n, int wait_ms)
{
	double deadline;
	struct pollfd pfd;
	int ms;

	if (n == NULL)
		return;
	deadline = now_monotonic() + (wait_ms > 0 ? wait_ms : 0) / 1000.0;
	read_acks(n);
	/* The rest of the queue, then its end; the child ends when it is done with it. */
	while (!n->ended && !n->warned && (ms = (int)((deadline - now_monotonic()) * 1000)) > 0) {
		flush_pending(n);
		if (!n->shut && n->pending.len == 0 && !n->warned) {
			shutdown(n->fd, SHUT_WR);
			n->shut = true;
		}
		pfd.fd = n->fd;
		pfd.events = POLLIN | (n->pending.len > 0 ? POLLOUT : 0);
		if (poll(&pfd, 1, ms) < 0 && errno != EINTR)
			break;
		read_acks(n);
	}
	if (n->dropped > 0)
		log_warn("notify: %lu record%s dropped, the queue being full", n->dropped,
			 n->dropped == 1 ? " was" : "s were");
	if (!n->ended) {
		/* Its socket is open: it is still there, and the pid is still its own. */
		if (n->finished < n->queued)
			log_warn("notify: %lu record%s not delivered within %d ms, dropped",
				 n->queued - n->finished, plural(n->queued - n->finished), wait_ms);
		/*
		 * Asked first, so that it ends its command's process group;
		 * killed when it does not end in time. Unreaped, its pid is
		 * still its own.
		 */
		kill(n->pid, NOTIFY_STOP_SIGNAL);
		if (!n->reaped && spawn_wait_for(n->pid, NOTIFY_STOP_WAIT_MS / 1000.0, &n->status))
			n->reaped = true;
		else
			kill(n->pid, SIGKILL);
		n->warned = true;
	}
	/* ECHILD: reaped by a waitpid(-1) of the caller's that did not tell us. */
	while (!n->reaped && waitpid(n->pid, &n->status, 0) < 0 && errno == EINTR)
		;
	close(n->fd);
	strbuf_release(&n->pending);
	free(n);
}
