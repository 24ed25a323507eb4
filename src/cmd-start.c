/* start: record a transfer and run it in a detached supervisor. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "log.h"
#include "options.h"
#include "proctitle.h"
#include "spawn.h"
#include "store.h"
#include "supervisor.h"
#include "util.h"

#define HANDSHAKE_TIMEOUT_MS 30000

static const char usage[] =
	"usage: scow-sync-start -a HOST -u USER -s SOURCE -d DEST [-m DEPTH] [-p PORT] [-k KEY]\n"
	"       scow-sync-start -a HOST -u USER [-p PORT] [-k KEY] -c\n"
	"\n"
	"Start moving SOURCE (a file or directory) to DEST/basename(SOURCE) on HOST\n"
	"in the background, and return as soon as the transfer is recorded.\n";

/* The supervisor's end of the handshake with the waiting start command. */
struct handshake {
	int fd;
};

static void
report_running(void *ctx)
{
	struct handshake *h = ctx;

	if (h->fd >= 0) {
		(void)write_all(h->fd, "ok", 2);
		close(h->fd);
		h->fd = -1;
	}
}

/* Tell the waiting parent why the supervisor could not start. */
static void
report_error(struct handshake *h, const char *msg)
{
	if (h->fd >= 0) {
		(void)write_all(h->fd, msg, strlen(msg));
		close(h->fd);
		h->fd = -1;
	}
}

/* Point fd at file in dir (append), or at /dev/null when that fails. */
static void
redirect(int fd, const char *dir, const char *file)
{
	char *path = xasprintf("%s/%s", dir, file);
	int nfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0600);

	if (nfd < 0)
		nfd = open("/dev/null", O_WRONLY);
	if (nfd >= 0 && nfd != fd) {
		dup2(nfd, fd);
		close(nfd);
	}
	free(path);
}

/* Close every descriptor from 3 up except keep. */
static void
close_other_fds(int keep)
{
	long max = sysconf(_SC_OPEN_MAX);
	int fd;

	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = 3; fd < max; fd++)
		if (fd != keep)
			close(fd);
}

/*
 * In the detached grandchild: let go of the caller's terminal and stdio
 * (the portal's ssh exec returns only when every holder has closed them),
 * then run the transfer. Never returns.
 */
static _Noreturn void
run_detached(const char *state_dir, struct supervisor_config *cfg, int report_fd)
{
	struct handshake h = { report_fd };
	enum transfer_state final;
	struct store *st = NULL;
	char err[512];
	int devnull, rc;

	/*
	 * It lives as long as the transfer: the caller's arguments (source,
	 * destination, host, user, key) are no business of other users.
	 */
	proctitle_set("scow-sync: transfer %lld", (long long)cfg->transfer_id);
	umask(077);
	if (chdir("/") < 0)
		_exit(1);
	devnull = open("/dev/null", O_RDONLY);
	if (devnull >= 0 && devnull != STDIN_FILENO) {
		dup2(devnull, STDIN_FILENO);
		close(devnull);
	}
	redirect(STDOUT_FILENO, state_dir, "scow-sync.log");
	redirect(STDERR_FILENO, state_dir, "scow-sync.err");
	close_other_fds(report_fd);
	signal(SIGHUP, SIG_IGN);

	log_open(state_dir);
	log_set_rotate_bytes(cfg->log_rotate_bytes);
	if (store_open(state_dir, &st, err, sizeof err) < 0) {
		log_error("%s", err);
		report_error(&h, err);
		_exit(EXIT_FAILED);
	}
	cfg->on_running = report_running;
	cfg->on_running_ctx = &h;
	cfg->detached = true;
	if ((rc = supervisor_run(st, cfg, &final)) == SYNC_ERR_EXISTS)
		report_error(&h, "the transfer was taken over by another process");
	else if (rc < 0)
		report_error(&h, "cannot start the transfer: state database error");
	store_close(st);
	log_close();
	/* exit, not _exit: this process owns everything it holds, and a
	 * sanitizer build checks it for leaks on the way out. */
	exit(final == TRANSFER_DONE ? EXIT_OK : EXIT_FAILED);
}

/*
 * Fork the supervisor twice (so it is no session leader and belongs to no
 * terminal) and wait until it reports the transfer running.
 */
int
cmd_detach_supervisor(const struct cmd_ctx *ctx, const char *state_dir,
		  struct supervisor_config *cfg)
{
	struct strbuf answer = STRBUF_INIT;
	struct pollfd pfd;
	int report[2];
	pid_t pid;
	double deadline;

	if (xpipe_cloexec(report) < 0) {
		cmd_error(ctx, "cannot create a pipe: %s", strerror(errno));
		return EXIT_FAILED;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		cmd_error(ctx, "cannot start the supervisor: %s", strerror(errno));
		close(report[0]);
		close(report[1]);
		return EXIT_FAILED;
	}
	if (pid == 0) {
		close(report[0]);
		setsid();
		pid = fork();
		if (pid != 0)
			_exit(pid < 0 ? EXIT_FAILED : EXIT_OK);
		/* -v: each unit done by name too. */
		if (ctx->verbosity > 0)
			log_set_file_level(LOG_DEBUG);
		run_detached(state_dir, cfg, report[1]);
	}
	close(report[1]);
	/* The middle child exits at once; the supervisor reports on the pipe. */
	spawn_wait(pid, NULL);

	deadline = now_monotonic() + HANDSHAKE_TIMEOUT_MS / 1000.0;
	pfd.fd = report[0];
	pfd.events = POLLIN;
	for (;;) {
		char buf[512];
		ssize_t n;
		int left = (int)((deadline - now_monotonic()) * 1000);

		if (left <= 0)
			break;
		if (poll(&pfd, 1, left) < 0 && errno != EINTR)
			break;
		n = read(report[0], buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		strbuf_add(&answer, buf, (size_t)n);
	}
	close(report[0]);
	if (strcmp(answer.buf, "ok") == 0) {
		strbuf_release(&answer);
		return EXIT_OK;
	}
	if (answer.len)
		cmd_error(ctx, "%s", answer.buf);
	else {
		struct store *st;
		char err[512];

		cmd_error(ctx, "the supervisor did not start; see %s/scow-sync.err", state_dir);
		/*
		 * While it is still ours, say so in the record: a supervisor that
		 * comes up late finds it failed and leaves it, and the request can
		 * be made again.
		 */
		if (store_open(state_dir, &st, err, sizeof err) == SYNC_OK) {
			store_transfer_finish_orphan(st, cfg->transfer_id, &cfg->owner,
						     TRANSFER_FAILED,
						     "the supervisor did not start in time");
			store_close(st);
		}
	}
	strbuf_release(&answer);
	return EXIT_FAILED;
}

static int
cmd_start_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct transfer_request req;
	struct supervisor_config cfg;
	char *state_dir = NULL;
	bool done;
	int code;

	/*
	 * Before any child is started: the supervisor, forked without exec,
	 * and a child forked to exec would show our arguments until they
	 * write their own title or exec.
	 */
	proctitle_set("scow-sync: start");
	code = cmd_prepare_transfer(ctx, &cmd_start_entry, argc, argv, &req, &cfg, NULL,
				    &state_dir, &done);
	if (done)
		goto out;
	if ((code = cmd_detach_supervisor(ctx, state_dir, &cfg)) != EXIT_OK)
		goto out;
	if (!ctx->legacy)
		printf("%lld\n", (long long)cfg.transfer_id);
	code = cmd_finish_stdout(ctx, EXIT_OK);
out:
	free(state_dir);
	transfer_request_release(&req);
	return code;
}

const struct cmd_entry cmd_start_entry = {
	"start", "start a transfer in the background", usage, transfer_flags,
	cmd_start_exec,
};
