/*
 * Unit tests for notify: records posted to a real HTTP receiver (python3's
 * http.server, on 127.0.0.1) and given to a real command; signatures,
 * retries and their backoff, timeouts, a receiver that is down or hangs,
 * order, and a caller that is never held up.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"
#include "spawn.h"
#include "util.h"
#include "unit.h"

/*
 * The receiver. A POST to /PHASE/HOW is recorded as PHASE/K.body and
 * PHASE/K.head (K counting from 1 in each phase; the head written last)
 * and answered as HOW says: ok (200), 503-N (503 to the first N, then
 * 200), 503 (always), hang (no answer), 302 (to an ftp:// URL).
 */
static const char receiver_py[] =
	"import hashlib, hmac, http.server, os, sys, threading, time\n"
	"top = sys.argv[1]\n"
	"secret = os.environ.get('NOTIFY_TEST_SECRET', '').encode()\n"
	"counts = {}\n"
	"lock = threading.Lock()\n"
	"class H(http.server.BaseHTTPRequestHandler):\n"
	"    def log_message(self, *args):\n"
	"        pass\n"
	"    def do_POST(self):\n"
	"        t = time.monotonic()\n"
	"        body = self.rfile.read(int(self.headers.get('Content-Length', '0')))\n"
	"        parts = self.path.split('?')[0].strip('/').split('/')\n"
	"        phase, how = parts[0], parts[1] if len(parts) > 1 else 'ok'\n"
	"        with lock:\n"
	"            k = counts[phase] = counts.get(phase, 0) + 1\n"
	"        d = os.path.join(top, phase)\n"
	"        os.makedirs(d, exist_ok=True)\n"
	"        with open(os.path.join(d, '%d.body' % k), 'wb') as f:\n"
	"            f.write(body)\n"
	"        sig = self.headers.get('X-Scow-Sync-Signature')\n"
	"        want = 'sha256=' + hmac.new(secret, body, hashlib.sha256).hexdigest()\n"
	"        ok = '-' if sig is None else str(int(hmac.compare_digest(sig, want)))\n"
	"        head = 'path=%s\\ntype=%s\\nevent=%s\\nsig=%s\\nsigok=%s\\nt=%.3f\\n' % (\n"
	"            self.path, self.headers.get('Content-Type'),\n"
	"            self.headers.get('X-Scow-Sync-Event'), sig or '', ok, t)\n"
	"        with open(os.path.join(d, 'tmp%d' % k), 'w') as f:\n"
	"            f.write(head)\n"
	"        os.rename(os.path.join(d, 'tmp%d' % k), os.path.join(d, '%d.head' % k))\n"
	"        code = 200\n"
	"        if how == 'hang':\n"
	"            time.sleep(30)\n"
	"            return\n"
	"        if how == '503' or (how.startswith('503-') and k <= int(how[4:])):\n"
	"            code = 503\n"
	"        if how == '302':\n"
	"            self.send_response(302)\n"
	"            self.send_header('Location', 'ftp://127.0.0.1/x')\n"
	"        else:\n"
	"            self.send_response(code)\n"
	"        self.send_header('Content-Length', '0')\n"
	"        self.end_headers()\n"
	"class S(http.server.ThreadingHTTPServer):\n"
	"    daemon_threads = True\n"
	"s = S(('127.0.0.1', 0), H)\n"
	"with open(os.path.join(top, 'port.tmp'), 'w') as f:\n"
	"    f.write(str(s.server_address[1]))\n"
	"os.rename(os.path.join(top, 'port.tmp'), os.path.join(top, 'port'))\n"
	"s.serve_forever()\n";

#define SECRET "s3cret key"

static char tmp[] = "/tmp/scow-sync-test-notify-XXXXXX";
static char *log_path;
static int port;

/* The whole of file, or NULL when it cannot be read (caller frees). */
static char *
slurp(const char *file)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	ssize_t n;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		strbuf_add(&sb, buf, (size_t)n);
	close(fd);
	return strbuf_detach(&sb, NULL);
}

/* Write text to file, with mode. */
static void
put(const char *file, const char *text, mode_t mode)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write_all(fd, text, strlen(text)) < 0 || fchmod(fd, mode) < 0)
		fatal("cannot write %s", file);
	close(fd);
}

/* The file the receiver made for request k of phase, ext "body" or "head"; caller frees. */
static char *
request(const char *phase, int k, const char *ext)
{
	char *path = xasprintf("%s/%s/%d.%s", tmp, phase, k, ext);
	char *text = slurp(path);

	free(path);
	return text;
}

/* How many requests of phase the receiver has recorded. */
static int
requests(const char *phase)
{
	int k = 0;
	char *text;

	while ((text = request(phase, k + 1, "head")) != NULL) {
		free(text);
		k++;
	}
	return k;
}

/* The value of "name=" in a recorded head (caller frees); "(none)" when missing. */
static char *
field(const char *head, const char *name)
{
	char *key = xasprintf("\n%s=", name), *line;
	const char *p;

	line = xasprintf("\n%s", head ? head : "");
	p = strstr(line, key);
	p = p ? xstrndup(p + strlen(key), strcspn(p + strlen(key), "\n")) : xstrdup("(none)");
	free(key);
	free(line);
	return (char *)p;
}

/* The one field of request k of phase (caller frees). */
static char *
request_field(const char *phase, int k, const char *name)
{
	char *head = request(phase, k, "head"), *v = field(head, name);

	free(head);
	return v;
}

/* The log's size now: what a phase adds is read from here on. */
static size_t
log_mark(void)
{
	struct stat sb;

	return stat(log_path, &sb) == 0 ? (size_t)sb.st_size : 0;
}

/* What the log gained since mark (caller frees). */
static char *
log_since(size_t mark)
{
	char *all = slurp(log_path), *part;

	if (all == NULL)
		return xstrdup("");
	part = xstrdup(strlen(all) >= mark ? all + mark : "");
	free(all);
	return part;
}

/* Start a notifier on url (under the receiver's, unless absolute) and/or command. */
static struct notifier *
start(const char *path, const char *command, const char *secret, int timeout_ms)
{
	struct notify_config cfg;
	struct notifier *n = NULL;
	char err[256], *url = NULL;

	if (path)
		url = strstr(path, "://") ? xstrdup(path) :
		      xasprintf("http://127.0.0.1:%d%s", port, path);
	memset(&cfg, 0, sizeof cfg);
	cfg.url = url;
	cfg.command = command;
	cfg.secret = secret;
	cfg.timeout_ms = timeout_ms;
	err[0] = '\0';
	CHECK_INT(notify_start(&n, &cfg, err, sizeof err), SYNC_OK);
	CHECK(n != NULL);
	if (err[0])
		fprintf(stderr, "notify_start: %s\n", err);
	free(url);
	return n;
}

/* Does url pass notify_url_check? */
static bool
url_ok(const char *url)
{
	char err[256];

	return notify_url_check(url, err, sizeof err) == 0;
}

/* A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
static int
dead_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), p = 0;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		p = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return p;
}

/* The checks that need no receiver: the signature, URLs, nothing to do. */
static void
test_offline(void)
{
	char sig[65], err[256];
	struct notifier *n = (struct notifier *)&n;
	struct notify_config cfg;

	/* RFC 4231, test cases 1 and 2. */
	notify_signature("Jefe", "what do ya want for nothing?", 28, sig);
	CHECK_STR(sig, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	notify_signature("\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b"
			 "\x0b\x0b\x0b\x0b", "Hi There", 8, sig);
	CHECK_STR(sig, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");

	CHECK(url_ok("http://127.0.0.1:8080/x"));
	CHECK(url_ok("https://h/p"));
	CHECK(url_ok("HTTPS://h"));
	CHECK(url_ok("http://h?x=1"));
	CHECK(url_ok("http://[::1]:8080/hook"));
	CHECK(url_ok("https://user:pw@portal.example/hook"));
	CHECK(!url_ok("ftp://h/x"));
	CHECK(!url_ok("file:///etc/passwd"));
	CHECK(!url_ok("http:///x"));
	CHECK(!url_ok("http://"));
	CHECK(!url_ok("https://user@/x"));
	CHECK(!url_ok("http://:8080/x"));
	CHECK(!url_ok("http://[]/x"));
	CHECK(!url_ok("http://[::1/x"));
	CHECK(!url_ok("http://h:0/x"));
	CHECK(!url_ok("http://h:65536/x"));
	CHECK(!url_ok("http://h:x/x"));
	CHECK(!url_ok("http://h x/"));
	CHECK(!url_ok("http://h/x\n"));
	CHECK(!url_ok("h/x"));
	CHECK(!url_ok("://h/x"));
	CHECK(!url_ok(""));
	/* The reason never repeats the URL: it may hold a password. */
	CHECK_INT(notify_url_check("ftp://user:pw@h/x", err, sizeof err), -1);
	CHECK(strstr(err, "pw") == NULL && strstr(err, "'ftp'") != NULL);
	CHECK_INT(notify_url_check("https://u:pw@/x", err, sizeof err), -1);
	CHECK(strstr(err, "pw") == NULL && strstr(err, "no host") != NULL);

	/* Nothing to tell: no notifier, and NULL is taken everywhere. */
	memset(&cfg, 0, sizeof cfg);
	CHECK_INT(notify_start(&n, &cfg, err, sizeof err), SYNC_OK);
	CHECK(n == NULL);
	notify_post(NULL, "done", "{}", 2);
	CHECK(!notify_reaped(NULL, 1, 0));
	notify_finish(NULL, 1000);
	/* A URL notify_url_check rejects starts nothing. */
	n = (struct notifier *)&n;
	cfg.url = "file:///etc/passwd";
	CHECK_INT(notify_start(&n, &cfg, err, sizeof err), SYNC_ERR_INVALID);
	CHECK(n == NULL);
	CHECK(strstr(err, "'file'") != NULL);
}

/* A record, with its headers and signature; one without a secret; records in order. */
static void
test_delivered(void)
{
	const char *body = "{\"id\":7,\"state\":\"running\",\"source\":\"/d/a b\\u00e9\"}";
	struct notifier *n;
	char *got, *v, sig[65];
	int i;

	n = start("/basic/ok?x=1", NULL, SECRET, 0);
	notify_post(n, "running", body, strlen(body));
	notify_finish(n, 10000);
	CHECK_INT(requests("basic"), 1);
	got = request("basic", 1, "body");
	CHECK_STR(got, body);
	if (got) {
		notify_signature(SECRET, got, strlen(got), sig);
		v = request_field("basic", 1, "sig");
		CHECK(strncmp(v, "sha256=", 7) == 0 && strcmp(v + 7, sig) == 0);
		free(v);
	}
	free(got);
	v = request_field("basic", 1, "sigok");
	CHECK_STR(v, "1");   /* python's hmac agrees */
	free(v);
	v = request_field("basic", 1, "path");
	CHECK_STR(v, "/basic/ok?x=1");
	free(v);
	v = request_field("basic", 1, "type");
	CHECK_STR(v, "application/json");
	free(v);
	v = request_field("basic", 1, "event");
	CHECK_STR(v, "running");
	free(v);

	/* Without a secret, no signature at all. */
	n = start("/unsigned/ok", NULL, NULL, 0);
	notify_post(n, "done", body, strlen(body));
	notify_finish(n, 10000);
	CHECK_INT(requests("unsigned"), 1);
	v = request_field("unsigned", 1, "sigok");
	CHECK_STR(v, "-");
	free(v);
	v = request_field("unsigned", 1, "event");
	CHECK_STR(v, "done");
	free(v);

	/* In order, each with its own event. */
	n = start("/order/ok", NULL, SECRET, 0);
	for (i = 0; i < 8; i++) {
		char *rec = xasprintf("{\"n\":%d}", i), *ev = xasprintf("cycle-%d", i);

		notify_post(n, ev, rec, strlen(rec));
		free(rec);
		free(ev);
	}
	notify_finish(n, 10000);
	CHECK_INT(requests("order"), 8);
	for (i = 0; i < 8; i++) {
		char *want = xasprintf("{\"n\":%d}", i), *ev = xasprintf("cycle-%d", i);

		got = request("order", i + 1, "body");
		CHECK_STR(got, want);
		free(got);
		v = request_field("order", i + 1, "event");
		CHECK_STR(v, ev);
		free(v);
		v = request_field("order", i + 1, "sigok");
		CHECK_STR(v, "1");
		free(v);
		free(want);
		free(ev);
	}
}

/* Failures: retries that succeed, retries that do not, a dead receiver, a hung one. */
static void
test_failures(void)
{
	struct notifier *n;
	size_t mark;
	char *log, *want, *v;
	double t0, t;
	int dead = dead_port(), i;

	/* 503 twice, then 200: taken at the third attempt, and no warning. */
	mark = log_mark();
	n = start("/flaky/503-2", NULL, SECRET, 0);
	notify_post(n, "failed", "{\"flaky\":1}", 11);
	notify_finish(n, 10000);
	CHECK_INT(requests("flaky"), 3);
	for (i = 1; i <= 3; i++) {
		char *body = request("flaky", i, "body");

		CHECK_STR(body, "{\"flaky\":1}");
		free(body);
	}
	log = log_since(mark);
	CHECK(strstr(log, "/flaky/") == NULL);
	free(log);

	/* 503 always: four attempts, then one warning, within the wait. */
	mark = log_mark();
	n = start("/broken/503", NULL, NULL, 0);
	notify_post(n, "done", "{}", 2);
	t0 = now_monotonic();
	notify_finish(n, 10000);
	t = now_monotonic() - t0;
	CHECK_INT(requests("broken"), 4);
	CHECK(t < 3);
	log = log_since(mark);
	want = xasprintf("warning: notify: cannot post the 'done' record to "
			 "http://127.0.0.1:%d/broken/503 (4 attempts): the answer was HTTP 503\n",
			 port);
	CHECK(strstr(log, want) != NULL);
	CHECK(strstr(log, "not delivered") == NULL);
	free(want);
	free(log);

	/* A redirect is not followed, least of all to another protocol. */
	mark = log_mark();
	n = start("/moved/302", NULL, NULL, 0);
	notify_post(n, "done", "{}", 2);
	notify_finish(n, 10000);
	CHECK_INT(requests("moved"), 4);
	log = log_since(mark);
	CHECK(strstr(log, "the answer was HTTP 302") != NULL);
	free(log);

	/* Down: given up soon; the URL is shown without its password. */
	CHECK(dead > 0);
	mark = log_mark();
	v = xasprintf("http://user:pw@127.0.0.1:%d/down", dead);
	n = start(v, NULL, SECRET, 0);
	free(v);
	notify_post(n, "running", "{}", 2);
	t0 = now_monotonic();
	notify_finish(n, 10000);
	t = now_monotonic() - t0;
	printf("a receiver that is down: notify_finish took %.2f s (backoff 50 ms)\n", t);
	CHECK(t < 3);
	log = log_since(mark);
	want = xasprintf("notify: cannot post the 'running' record to http://127.0.0.1:%d/down "
			 "(4 attempts): ", dead);
	CHECK(strstr(log, want) != NULL);
	CHECK(strstr(log, "pw") == NULL);
	free(want);
	free(log);

	/* A receiver that never answers: each attempt ends at the timeout. */
	mark = log_mark();
	n = start("/silent/hang", NULL, NULL, 300);
	notify_post(n, "running", "{}", 2);
	t0 = now_monotonic();
	notify_finish(n, 10000);
	t = now_monotonic() - t0;
	printf("a receiver that hangs (timeout 300 ms): notify_finish took %.2f s\n", t);
	CHECK(t > 4 * 0.3 && t < 4);
	CHECK_INT(requests("silent"), 4);
	log = log_since(mark);
	CHECK(strstr(log, "cannot post the 'running' record") != NULL);
	CHECK(strstr(log, "imed out") != NULL);
	free(log);
}

/* The caller is never held up: posting to a hung receiver, past a full queue, and finishing. */
static void
test_never_blocks(void)
{
	struct strbuf big = STRBUF_INIT;
	struct notifier *n;
	size_t mark = log_mark();
	const char *first;
	char *log;
	double t0, t;
	int i;

	n = start("/stuck/hang", NULL, SECRET, 0);
	for (i = 0; i < 1000; i++)
		strbuf_addch(&big, 'x');
	t0 = now_monotonic();
	for (i = 0; i < 100; i++)
		notify_post(n, "running", big.buf, big.len);
	t = now_monotonic() - t0;
	printf("100 posts of 1 KB to a hung receiver: %.3f ms\n", t * 1000);
	/*
	 * Posts that waited for the receiver would take its timeout (10 s)
	 * each; the bounds leave room for valgrind (make valgrind), which
	 * makes the copies of the large ones below slow.
	 */
	CHECK(t < 0.5);
	/* Far more than the queue holds: dropped, with warnings, still at once. */
	while (big.len < 256 * 1024)
		strbuf_addch(&big, 'x');
	t0 = now_monotonic();
	for (i = 0; i < 40; i++)
		notify_post(n, "running", big.buf, big.len);
	t = now_monotonic() - t0;
	printf("40 posts of %zu KB past a full queue: %.3f ms\n", big.len / 1024, t * 1000);
	CHECK(t < 2);
	t0 = now_monotonic();
	notify_finish(n, 500);
	t = now_monotonic() - t0;
	printf("notify_finish(500 ms) with a hung receiver: %.3f s\n", t);
	CHECK(t >= 0.45 && t < 1.5);
	log = log_since(mark);
	CHECK(strstr(log, "the receiver is behind and the queue is full: records are dropped "
			  "until it has room, the 'running' record first") != NULL);
	/*
	 * Said once a spell, however many go: again only after the queue had
	 * room (a receiver that read a little, on a busy machine) and said so.
	 */
	{
		int behind = 0, room = 0;

		for (first = log; (first = strstr(first, "the receiver is behind")); first++)
			behind++;
		for (first = log; (first = strstr(first, "the queue has room again")); first++)
			room++;
		CHECK(behind >= 1 && behind <= room + 1);
	}
	CHECK(strstr(log, " records were dropped, the queue being full") != NULL);
	CHECK(strstr(log, "records not delivered within 500 ms, dropped") != NULL);
	free(log);
	strbuf_release(&big);
	/* An event name that cannot go in a header as it is. */
	mark = log_mark();
	n = start("/badevent/ok", NULL, NULL, 0);
	notify_post(n, "done\r\nX-Evil: 1", "{}", 2);
	notify_post(n, "", "{}", 2);
	notify_finish(n, 5000);
	CHECK_INT(requests("badevent"), 0);
	log = log_since(mark);
	CHECK(strstr(log, "without a valid name") != NULL);
	free(log);
}

/* --notify-cmd: the exact record on stdin, no shell; a failing, missing or hung command. */
static void
test_command(void)
{
	const char *body = "{\"a\":1,\n\"b\":\"it's $(x) `y` \\\"z\\\"\"}";
	char *script = xasprintf("%s/take.sh", tmp), *out = xasprintf("%s/taken", tmp);
	char *fail = xasprintf("%s/fail.sh", tmp), *hang = xasprintf("%s/hang.sh", tmp);
	char *text, *log;
	struct notifier *n;
	size_t mark = log_mark();
	double t0, t;

	text = xasprintf("#!/bin/sh\ncat > '%s'\n", out);
	put(script, text, 0755);
	free(text);
	put(fail, "#!/bin/sh\ncat >/dev/null; echo 'boom: no portal' >&2; exit 3\n", 0755);
	put(hang, "#!/bin/sh\nexec sleep 30\n", 0755);

	n = start(NULL, script, NULL, 0);
	notify_post(n, "done", body, strlen(body));
	notify_finish(n, 10000);
	text = slurp(out);
	CHECK_STR(text, body);
	free(text);

	/* URL and command both get it. */
	CHECK(unlink(out) == 0);
	n = start("/both/ok", script, SECRET, 0);
	notify_post(n, "cycle", body, strlen(body));
	notify_finish(n, 10000);
	text = slurp(out);
	CHECK_STR(text, body);
	free(text);
	CHECK_INT(requests("both"), 1);

	n = start(NULL, fail, NULL, 0);
	notify_post(n, "failed", "{}", 2);
	notify_finish(n, 10000);
	n = start(NULL, "scow-sync-no-such-notify-command", NULL, 0);
	notify_post(n, "failed", "{}", 2);
	notify_finish(n, 10000);
	n = start(NULL, hang, NULL, 300);
	notify_post(n, "failed", "{}", 2);
	t0 = now_monotonic();
	notify_finish(n, 10000);
	t = now_monotonic() - t0;
	CHECK(t >= 0.25 && t < 3);
	log = log_since(mark);
	text = xasprintf("notify: the command '%s' did not take the 'failed' record: "
			 "exited 3: boom: no portal\n", fail);
	CHECK(strstr(log, text) != NULL);
	free(text);
	CHECK(strstr(log, "notify: the command 'scow-sync-no-such-notify-command' did not take "
			  "the 'failed' record: cannot run it: No such file or directory") != NULL);
	text = xasprintf("notify: the command '%s' did not take the 'failed' record: "
			 "it did not end within 300 ms", hang);
	CHECK(strstr(log, text) != NULL);
	free(text);
	CHECK(strstr(log, script) == NULL);
	free(log);
	free(script);
	free(out);
	free(fail);
	free(hang);
}

/* Our children's pids, " PID PID ... " (Linux's /proc/PID/task/PID/children); caller frees. */
static char *
children(void)
{
	char *path = xasprintf("/proc/%d/task/%d/children", (int)getpid(), (int)getpid());
	char *text = slurp(path), *list = xasprintf(" %s ", text ? text : "");

	free(text);
	free(path);
	return list;
}

/* The one child of ours that is not in before (from children()); -1 when none. */
static pid_t
new_child(const char *before)
{
	char *now = children(), *p, *end, *word;
	long pid = -1, found = -1;

	for (p = now; *p; p = end) {
		pid = strtol(p, &end, 10);
		if (end == p)
			break;
		word = xasprintf(" %ld ", pid);
		if (strstr(before, word) == NULL)
			found = found == -1 ? pid : -2;
		free(word);
	}
	free(now);
	return (pid_t)(found > 0 ? found : -1);
}

/* A notifier that dies early: said once, and the caller goes on unharmed (no SIGPIPE). */
static void
test_early_end(void)
{
	struct notifier *n;
	size_t mark;
	char *log, *before;
	pid_t pid;
	int status = 0;
	double t0;

	/* Reaped by the caller, who tells. */
	mark = log_mark();
	before = children();
	n = start("/early/ok", NULL, NULL, 0);
	pid = new_child(before);
	free(before);
	CHECK(pid > 0 && kill(pid, SIGKILL) == 0);
	CHECK_INT(spawn_wait(pid, &status), SYNC_OK);
	CHECK(!notify_reaped(n, getpid(), 0));
	CHECK(notify_reaped(n, pid, status));
	notify_post(n, "done", "{}", 2);
	t0 = now_monotonic();
	notify_finish(n, 5000);
	CHECK(now_monotonic() - t0 < 0.5);
	log = log_since(mark);
	CHECK(strstr(log, "notify: the notifier ended (killed by signal 9); 0 records not "
			  "delivered, and none from now on") != NULL);
	free(log);

	/* Reaped by the caller, who does not tell: the next post finds it gone. */
	mark = log_mark();
	before = children();
	n = start("/early/ok", NULL, NULL, 0);
	pid = new_child(before);
	free(before);
	CHECK(pid > 0 && kill(pid, SIGKILL) == 0);
	CHECK_INT(spawn_wait(pid, &status), SYNC_OK);
	notify_post(n, "done", "{}", 2);
	notify_post(n, "done", "{}", 2);
	t0 = now_monotonic();
	notify_finish(n, 5000);
	CHECK(now_monotonic() - t0 < 0.5);
	log = log_since(mark);
	CHECK(strstr(log, "notify: the notifier ended (its socket closed)") != NULL);
	free(log);
	CHECK_INT(requests("early"), 0);
}

/* The child holds none of the caller's descriptors: a pipe's end closed here is closed. */
static void
test_descriptors(void)
{
	struct notifier *n;
	struct pollfd pfd;
	int fds[2];
	char c;

	CHECK(pipe(fds) == 0);
	n = start("/fds/ok", NULL, NULL, 0);
	close(fds[1]);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	CHECK_INT(poll(&pfd, 1, 2000), 1);
	CHECK_INT(read(fds[0], &c, 1), 0);
	close(fds[0]);
	notify_finish(n, 5000);
}

/* The receiver's pid, once it has said its port; -1 when it could not start. */
static pid_t
start_receiver(void)
{
	char *script = xasprintf("%s/receiver.py", tmp), *port_file, *text = NULL;
	const char *argv[] = { "python3", script, tmp, NULL };
	const char *env[] = { "NOTIFY_TEST_SECRET=" SECRET, NULL };
	struct spawn sp;
	int i;

	put(script, receiver_py, 0644);
	memset(&sp, 0, sizeof sp);
	sp.argv = argv;
	sp.env_set = env;
	sp.pipe_stderr = false;
	sp.die_with_parent = true;
	if (spawn_start(&sp) < 0) {
		free(script);
		return -1;
	}
	port_file = xasprintf("%s/port", tmp);
	for (i = 0; i < 1000 && (text = slurp(port_file)) == NULL; i++)
		usleep(10000);
	if (text == NULL || parse_int_range(text, 1, 65535, &port) < 0) {
		kill(sp.pid, SIGKILL);
		spawn_wait(sp.pid, NULL);
		sp.pid = -1;
	}
	free(text);
	free(port_file);
	free(script);
	return sp.pid;
}

int
main(void)
{
	struct notifier *slow;
	pid_t receiver;
	char *cmd, *log, *v, *want;
	double t[4];
	size_t mark;
	int i;

	/* A notifier that holds up its caller hangs the test: fail it instead. */
	alarm(300);
	if (mkdtemp(tmp) == NULL)
		return 99;
	/* The receiver is on 127.0.0.1, never behind a proxy. */
	unsetenv("http_proxy");
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	log_path = xasprintf("%s/scow-sync.log", tmp);
	CHECK_INT(log_open(tmp), SYNC_OK);
	log_set_file_level(LOG_INFO);
	test_offline();

	receiver = start_receiver();
	if (receiver < 0) {
		printf("test-notify: no python3 receiver; the delivery tests are skipped\n");
		unit_done("test-notify");
		return unit_failures ? 1 : 77;
	}
	/* The real backoff (1, 2, 4 s), measured while the rest runs with a short one. */
	unsetenv("SCOW_SYNC_TEST_NOTIFY_BACKOFF_MS");
	mark = log_mark();
	slow = start("/backoff/503", NULL, NULL, 0);
	notify_post(slow, "done", "{}", 2);
	setenv("SCOW_SYNC_TEST_NOTIFY_BACKOFF_MS", "50", 1);

	test_delivered();
	test_failures();
	test_never_blocks();
	test_command();
	test_early_end();
	test_descriptors();

	notify_finish(slow, 15000);
	CHECK_INT(requests("backoff"), 4);
	for (i = 0; i < 4; i++) {
		v = request_field("backoff", i + 1, "t");
		t[i] = strtod(v, NULL);
		free(v);
	}
	printf("backoff between attempts: %.2f s, %.2f s, %.2f s\n", t[1] - t[0], t[2] - t[1],
	       t[3] - t[2]);
	for (i = 1; i < 4; i++) {
		double gap = t[i] - t[i - 1], want_gap = 1 << (i - 1);

		CHECK(gap > want_gap - 0.05 && gap < want_gap + 0.8);
	}
	log = log_since(mark);
	want = xasprintf("cannot post the 'done' record to http://127.0.0.1:%d/backoff/503 "
			 "(4 attempts)", port);
	CHECK(strstr(log, want) != NULL);
	free(want);
	free(log);

	kill(receiver, SIGTERM);
	spawn_wait(receiver, NULL);
	log_close();
	cmd = xasprintf("rm -rf '%s'", tmp);
	CHECK(system(cmd) == 0);
	free(cmd);
	free(log_path);
	return unit_done("test-notify");
}
