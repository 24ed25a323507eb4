/* farlock: one writer per destination, held on the far side (see farlock.h). */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <unistd.h>

#include "farlock.h"
#include "spawn.h"
#include "util.h"

/*
 * The holder, for sh -c: one line without '!' or '\'', since it travels
 * single-quoted through the remote user's login shell (csh, perhaps). It
 * reads DEST, NAME, TAG and MAKE as the first four lines of its input, not
 * from its command line, which any user of either host may read. It makes
 * the destination (unless MAKE is 0: then "//absent" when there is none)
 * and its private area (0700,
 * never through a link), says where the destination is ("//dest PATH")
 * and whether it made it ("//made 1"), then takes the lock: "//locked"
 * and it holds it while heartbeats come; "//busy TAG" (exit 75) when
 * another holds it; "//nolock" when the far side has no flock or no
 * private area can be made there. "[ A -ef /dev/fd/9 ]": the file locked
 * is still the one under that name, not one a holder removed meanwhile.
 */
static const char holder_script[] =
	/*
	 * Whoever asked may be gone by the time it says //locked (stopped
	 * while it waited): that write must not kill it with its file left,
	 * it goes on to the end of its input and removes the file.
	 */
	"trap '' PIPE; "
	"IFS= read -r d && IFS= read -r n && IFS= read -r g && IFS= read -r c || exit 6; m=0; "
	"if [ -d \"$d\" ]; then :; elif [ \"$c\" = 0 ]; then echo //absent; exit 0; "
	"else mkdir -p -- \"$d\" || exit 3; m=1; fi; "
	"cd -- \"$d\" || exit 3; w=$(pwd -P) || exit 3; "
	"printf \"//dest %s\\n//made %s\\n\" \"$w\" \"$m\"; "
	"p=.scow-sync-partial; mkdir -m 700 -- \"$p\" 2>/dev/null; "
	"if [ -h \"$p\" ] || [ -d \"$p\" ]; then :; else echo //nolock; exit 0; fi; "
	"if [ -h \"$p\" ]; then exit 4; fi; "
	"command -v flock >/dev/null 2>&1 || { echo //nolock; exit 0; }; "
	"l=$p/.$n.lock; "
	"while :; do exec 9>>\"$l\" || exit 5; "
	"if flock -n 9; then if [ \"$l\" -ef /dev/fd/9 ]; then break; fi; exec 9>&-; "
	"else printf \"//busy %s\\n\" \"$(head -c 300 -- \"$l\" | tr -d \"\\n\")\"; exit 75; fi; "
	"done; "
	"printf \"%s\\n\" \"$g\" >\"$l\"; echo //locked; "
	"if command -v timeout >/dev/null 2>&1; then "
	"while timeout " FAR_LOCK_DEAD_TEXT " sh -c \"read x\"; do :; done; "
	"else cat >/dev/null; fi; "
	"rm -f -- \"$l\"; rmdir -- \"$p\" 2>/dev/null; exit 0";

/*
 * The heartbeat: a child of ours (no exec, so nothing between fork and
 * its end but system calls) that writes a line into the holder's input
 * every FAR_LOCK_BEAT seconds, and dies with us.
 */
static pid_t
start_beat(int fd, int max_fd)
{
	pid_t parent = getpid(), pid = fork();
	struct sigaction sa;
	int i;

	if (pid != 0)
		return pid;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
#ifdef PR_SET_PDEATHSIG
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		_exit(1);
	if (getppid() != parent)
		_exit(0);
	/* In ps it shows the supervisor's command line; its name tells it apart. */
	prctl(PR_SET_NAME, "scow-sync-beat");
#endif
	/* Hold nothing of the supervisor's but the holder's input. */
	for (i = 3; i < max_fd; i++)
		if (i != fd)
			close(i);
	for (;;) {
		if (write(fd, "\n", 1) != 1 || getppid() != parent)
			_exit(0);
		sleep(FAR_LOCK_BEAT);
	}
}

/*
 * Read ssh's answer until a final line, EOF, the deadline or *stop; into
 * out. A far side that never answers is waited for in short naps, so that
 * a stop is seen at once.
 */
static void
read_answer(int fd, double deadline, const volatile sig_atomic_t *stop, struct strbuf *out)
{
	char buf[512];

	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		double left = deadline - now_monotonic();
		ssize_t n;

		if (strstr(out->buf, "//locked\n") || strstr(out->buf, "//busy ") ||
		    strstr(out->buf, "//nolock\n") || left <= 0 || out->len > 64 * 1024 ||
		    (stop && *stop))
			return;
		if (poll(&pfd, 1, left > 0.2 ? 200 : (int)(left * 1000) + 1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (pfd.revents == 0)
			continue;
		n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		strbuf_add(out, buf, (size_t)n);
	}
}

/* The value of the line "PREFIXvalue" in text, up to its end (caller frees), or NULL. */
static char *
line_value(const char *text, const char *prefix)
{
	const char *p = strstr(text, prefix), *end;

	if (p == NULL || (p != text && p[-1] != '\n'))
		return NULL;
	p += strlen(prefix);
	end = strchr(p, '\n');
	return end ? xstrndup(p, (size_t)(end - p)) : NULL;
}

int
far_lock_begin(struct far_lock *l, const struct ssh_target *t, const char *dest,
	       const char *name, const char *tag, char *msg, size_t msglen)
{
	struct strvec words = STRVEC_INIT, argv = STRVEC_INIT;
	struct spawn sp;
	int beat[2] = { -1, -1 }, rc = SYNC_OK;
	long max_fd = sysconf(_SC_OPEN_MAX);

	msg[0] = '\0';
	l->held = l->made = l->no_destination = l->absent = false;
	free(l->where);
	l->where = NULL;
	if (pipe2(beat, O_CLOEXEC) < 0) {
		snprintf(msg, msglen, "cannot make a pipe: %s", strerror(errno));
		return SYNC_ERR_SYSTEM;
	}
	/* The words first, ahead of every heartbeat (a few bytes: the pipe takes them). */
	{
		struct strbuf head = STRBUF_INIT;

		strbuf_addf(&head, "%s\n%s\n%s\n%d\n", dest, name, tag, l->keep_absent ? 0 : 1);
		if (write_all(beat[1], head.buf, head.len) < 0) {
			snprintf(msg, msglen, "cannot write to a pipe: %s", strerror(errno));
			strbuf_release(&head);
			close(beat[0]);
			close(beat[1]);
			return SYNC_ERR_SYSTEM;
		}
		strbuf_release(&head);
	}
	if (max_fd < 0 || max_fd > 65536)
		max_fd = 65536;
	if ((l->beat_pid = start_beat(beat[1], (int)max_fd)) < 0) {
		snprintf(msg, msglen, "cannot start the heartbeat: %s", strerror(errno));
		close(beat[0]);
		close(beat[1]);
		return SYNC_ERR_SYSTEM;
	}
	close(beat[1]);
	strvec_push(&words, "sh");
	strvec_push(&words, "-c");
	strvec_push(&words, holder_script);
	strvec_push(&words, "sh");
	ssh_command_argv(t, (const char *const *)words.v, &argv);
	memset(&sp, 0, sizeof sp);
	sp.argv = (const char *const *)argv.v;
	sp.stdin_fd = beat[0];
	sp.pipe_stdout = sp.pipe_stderr = true;
	sp.die_with_parent = true;
	if (spawn_start(&sp) < 0) {
		snprintf(msg, msglen, "cannot run ssh: %s", strerror(errno));
		close(beat[0]);
		spawn_end(&l->beat_pid, 0);
		rc = SYNC_ERR_SYSTEM;
		goto out;
	}
	close(beat[0]);
	l->ssh_pid = sp.pid;
	l->out_fd = sp.out_fd;
	l->err_fd = sp.err_fd;
out:
	strvec_clear(&words);
	strvec_clear(&argv);
	return rc;
}

int
far_lock_answer(struct far_lock *l, int timeout, char *msg, size_t msglen)
{
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT, esc = STRBUF_INIT;
	int rc = SYNC_ERR_REMOTE, status = 0;
	char *v;

	msg[0] = '\0';
	if (l->out_fd < 0) {
		snprintf(msg, msglen, "no lock was asked for");
		return SYNC_ERR_SYSTEM;
	}
	strbuf_addstr(&out, "");
	read_answer(l->out_fd, now_monotonic() + timeout, l->stop, &out);
	if ((v = line_value(out.buf, "//dest ")) != NULL && v[0] == '/')
		l->where = v;
	else
		free(v);
	if ((v = line_value(out.buf, "//made ")) != NULL)
		l->made = strcmp(v, "1") == 0;
	free(v);
	close(l->out_fd);
	l->out_fd = -1;
	if (strstr(out.buf, "//locked\n")) {
		l->held = true;
		rc = SYNC_OK;
		goto out;
	}
	/* Not held: the holder has ended (or is ended now); say why. */
	spawn_end(&l->beat_pid, 0);
	if (!spawn_wait_for(l->ssh_pid, 2, &status)) {
		kill(l->ssh_pid, SIGTERM);
		spawn_wait_for(l->ssh_pid, 5, NULL);
		status = -1;
	}
	l->ssh_pid = -1;
	/* The script's "exit 3": the destination could not be made or entered. */
	l->no_destination = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 3;
	if ((v = line_value(out.buf, "//busy ")) != NULL) {
		strbuf_reset(&esc);
		escape_untrusted(&esc, v, strlen(v));
		snprintf(msg, msglen, "%s", esc.len ? esc.buf : "another transfer");
		free(v);
		rc = SYNC_ERR_EXISTS;
	} else if (strstr(out.buf, "//absent\n")) {
		/* Asked not to make it: nothing there to lock, nor to clean. */
		l->absent = true;
		snprintf(msg, msglen, "the destination does not exist");
		rc = SYNC_OK;
	} else if (strstr(out.buf, "//nolock\n")) {
		snprintf(msg, msglen, "the far side has no flock(1), or no private directory "
			 "can be made in the destination");
		rc = SYNC_OK;
	} else {
		/*
		 * What ssh said, if anything is there: a shared connection's
		 * master may hold the other end open while the far side's
		 * command lives, so nothing is waited for.
		 */
		struct pollfd pfd = { l->err_fd, POLLIN, 0 };
		char buf[1024];
		ssize_t n = poll(&pfd, 1, 0) == 1 ? read(l->err_fd, buf, sizeof buf) : 0;

		if (n > 0)
			strbuf_add(&err, buf, (size_t)n);
		strbuf_trim_eol(&err);
		escape_untrusted(&esc, err.buf, err.len);
		/* The script's own exits, where ssh said nothing. */
		int code = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;

		snprintf(msg, msglen, "%s", esc.len ? esc.buf :
			 status < 0 ? "no answer in time" :
			 code == 4 ? "'.scow-sync-partial' in the destination is a symbolic link" :
			 code == 5 ? "cannot write the lock file in the destination's "
				     "'.scow-sync-partial'" :
			 "the lock command failed");
	}
	close(l->err_fd);
	l->err_fd = -1;
out:
	strbuf_release(&out);
	strbuf_release(&err);
	strbuf_release(&esc);
	return rc;
}

int
far_lock_take(struct far_lock *l, const struct ssh_target *t, const char *dest,
	      const char *name, const char *tag, int timeout, char *msg, size_t msglen)
{
	int rc = far_lock_begin(l, t, dest, name, tag, msg, msglen);

	return rc < 0 ? rc : far_lock_answer(l, timeout, msg, msglen);
}

bool
far_lock_reaped(struct far_lock *l, pid_t pid)
{
	if (pid <= 0)
		return false;
	if (pid == l->beat_pid) {
		l->beat_pid = -1;
		return true;
	}
	if (pid == l->ssh_pid) {
		l->ssh_pid = -1;
		l->held = false;
		return true;
	}
	return false;
}

bool
far_lock_release(struct far_lock *l, double grace)
{
	bool forced = false;

	/* The end of its input: the holder removes the file and lets go. */
	if (l->beat_pid > 0) {
		kill(l->beat_pid, SIGKILL);
		spawn_wait_for(l->beat_pid, 5, NULL);
		l->beat_pid = -1;
	}
	if (l->ssh_pid > 0 && spawn_wait_for(l->ssh_pid, grace, NULL))
		l->ssh_pid = -1;
	else if (l->ssh_pid > 0) {
		/* The far side did not let go: its session may outlive our ssh. */
		forced = true;
		spawn_end(&l->ssh_pid, 0);
	}
	if (l->out_fd >= 0)
		close(l->out_fd);
	l->out_fd = -1;
	if (l->err_fd >= 0)
		close(l->err_fd);
	l->err_fd = -1;
	l->held = false;
	free(l->where);
	l->where = NULL;
	return forced;
}

int
far_host_parse(const char *text, struct strbuf *host, struct strbuf *port,
	       struct strbuf *user, bool *proxied)
{
	const char *p = text;
	bool got_host = false, got_port = false, got_user = false;

	*proxied = false;
	while (*p) {
		const char *end = strchr(p, '\n'), *sp;
		size_t n = end ? (size_t)(end - p) : strlen(p);

		sp = memchr(p, ' ', n);
		if (sp) {
			size_t klen = (size_t)(sp - p), vlen = n - klen - 1;
			const char *v = sp + 1;

			if (klen == 8 && memcmp(p, "hostname", 8) == 0 && !got_host) {
				strbuf_add(host, v, vlen);
				got_host = true;
			} else if (klen == 4 && memcmp(p, "port", 4) == 0 && !got_port) {
				strbuf_add(port, v, vlen);
				got_port = true;
			} else if (klen == 4 && memcmp(p, "user", 4) == 0 && !got_user) {
				strbuf_add(user, v, vlen);
				got_user = true;
			} else if (((klen == 9 && memcmp(p, "proxyjump", 9) == 0) ||
				    (klen == 12 && memcmp(p, "proxycommand", 12) == 0)) &&
				   !(vlen == 4 && memcmp(v, "none", 4) == 0))
				*proxied = true;
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	return got_host && got_port && got_user && host->len ? SYNC_OK : SYNC_ERR_INVALID;
}

/* The lowest of name's addresses, numeric, into out; false when it has none here. */
static bool
lowest_address(const char *name, struct strbuf *out)
{
	struct addrinfo hints, *res = NULL, *ai;
	char buf[NI_MAXHOST];
	bool found = false;

	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return false;
	/* A name with several addresses (round robin) gives them in any order. */
	for (ai = res; ai; ai = ai->ai_next) {
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, buf, sizeof buf, NULL, 0,
				NI_NUMERICHOST) != 0)
			continue;
		if (!found || strcmp(buf, out->buf) < 0) {
			strbuf_reset(out);
			strbuf_addstr(out, buf);
			found = true;
		}
	}
	freeaddrinfo(res);
	return found;
}

/* What ssh -G, with the transfers' own options, says of t's host: its text into out. */
static int
ssh_settings(const struct ssh_target *t, struct strbuf *out)
{
	struct strvec argv = STRVEC_INIT;
	struct spawn sp;
	int rc = SYNC_ERR_REMOTE, status;
	char buf[4096];
	ssize_t n;

	/* The options every connection of the transfer uses, then -G: print, connect not. */
	ssh_base_argv(t, &argv);
	strvec_push(&argv, "-G");
	strvec_push(&argv, t->host);
	memset(&sp, 0, sizeof sp);
	sp.argv = (const char *const *)argv.v;
	sp.pipe_stdout = true;
	if (spawn_start(&sp) < 0)
		goto out;
	while (out->len < 256 * 1024 &&
	       ((n = read(sp.out_fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)))
		if (n > 0)
			strbuf_add(out, buf, (size_t)n);
	close(sp.out_fd);
	if (spawn_wait(sp.pid, &status) == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		rc = SYNC_OK;
out:
	strvec_clear(&argv);
	return rc;
}

int
far_host_resolve(const struct ssh_target *t, struct strbuf *out)
{
	struct strbuf text = STRBUF_INIT, host = STRBUF_INIT, port = STRBUF_INIT;
	struct strbuf user = STRBUF_INIT, addr = STRBUF_INIT;
	bool proxied;
	int rc = SYNC_ERR_REMOTE;

	if (ssh_settings(t, &text) < 0 ||
	    far_host_parse(text.buf, &host, &port, &user, &proxied) < 0)
		goto out;
	if (proxied || !lowest_address(host.buf, &addr)) {
		strbuf_reset(&addr);
		strbuf_add(&addr, host.buf, host.len);
	}
	strbuf_reset(out);
	strbuf_addf(out, "%s@%s:%s", user.buf, addr.buf, port.buf);
	rc = SYNC_OK;
out:
	strbuf_release(&text);
	strbuf_release(&host);
	strbuf_release(&port);
	strbuf_release(&user);
	strbuf_release(&addr);
	return rc;
}

int
far_host_login(const struct ssh_target *t, char **user, int *port)
{
	struct strbuf text = STRBUF_INIT, host = STRBUF_INIT, port_text = STRBUF_INIT;
	struct strbuf who = STRBUF_INIT;
	bool proxied;
	int rc = SYNC_ERR_REMOTE, n;

	if (ssh_settings(t, &text) < 0 ||
	    far_host_parse(text.buf, &host, &port_text, &who, &proxied) < 0 ||
	    parse_int_range(port_text.buf, 1, 65535, &n) < 0)
		goto out;
	*port = n;
	*user = strbuf_detach(&who, NULL);
	rc = SYNC_OK;
out:
	strbuf_release(&text);
	strbuf_release(&host);
	strbuf_release(&port_text);
	strbuf_release(&who);
	return rc;
}
