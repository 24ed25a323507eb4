/* supervisor: run one recorded transfer to its end (see supervisor.h). */
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

#include "cleanup.h"
#include "log.h"
#include "output.h"
#include "plan.h"
#include "proc.h"
#include "remote.h"
#include "rsync.h"
#include "sftp.h"
#include "spawn.h"
#include "supervisor.h"
#include "util.h"

#define PARTIAL_DIR ".scow-sync-partial"
#define FLUSH_INTERVAL 1.0        /* seconds between progress writes */
#define STOP_GRACE 5.0            /* seconds from SIGTERM to SIGKILL for workers */
#define MASTER_WAIT 60.0          /* seconds for the SSH master to come up */
#define ERR_TAIL_MAX 2048         /* bytes of a worker's stderr kept for the reason */
#define CONNECT_TIMEOUT 30        /* seconds */
#define UNIT_BATCH 64             /* units read from the store at a time */
#define CLEANUP_SETTLE 5.0        /* seconds for stopped receivers to save their data */
#define SFTP_TIMEOUT_MS 30000

/* Set from signal handlers, acted on by the main loop. */
static volatile sig_atomic_t got_stop_signal;
static volatile sig_atomic_t got_child;
static volatile sig_atomic_t got_exclusion;   /* terminate recorded a part to stop */
static int wake_pipe[2] = { -1, -1 };

enum job_kind { JOB_UNIT, JOB_DIRS_CREATE, JOB_DIRS_FINAL };

/* Why the supervisor stopped a worker that was still running. */
enum stop_reason {
	STOP_NONE,
	STOP_EXCLUDED,   /* its unit was stopped on request */
	STOP_REQUEUE,    /* to run its unit again without a part stopped on request */
};

struct worker {
	bool busy;
	enum job_kind kind;
	struct unit unit;
	enum stop_reason stop;
	struct spawn sp;
	struct rsync_parser parser;
	struct strbuf err_tail;       /* last bytes of stderr, for the reason */
	struct strbuf err_line;       /* stderr line being assembled, for the log */
	struct strbuf current;        /* file being moved, relative to source root */
	bool exited;
	int status;
	uint64_t file_bytes;
	int file_percent;
	double rate;
	int64_t eta;
	uint64_t bytes_done;          /* of files this unit finished */
	uint64_t files_done;
	uint64_t sent;                /* bytes rsync wrote to the connection */
	bool dirty;                   /* progress changed since the last write */
};

struct retry {
	struct unit unit;
	double not_before;            /* monotonic time */
};

struct sup {
	struct store *st;
	const struct supervisor_config *cfg;
	struct transfer t;
	char *source_root;            /* dirname of the source */
	const char *source_rel;       /* the source as a unit path: its basename */
	struct strvec excludes;       /* applied exclusions, for tree units */
	struct sftp *sftp;            /* for the cleanup, opened when first needed */
	char *tmpdir;                 /* private: control socket, directory list */
	char *control_path;
	char *dirs_file;
	bool have_dirs;
	pid_t master_pid;
	struct ssh_target target;
	struct strbuf rsh;
	struct worker *workers;
	int nworkers;
	struct retry *retries;
	size_t nretries, retries_alloc;
	struct unit batch[UNIT_BATCH];
	size_t batch_n, batch_pos;
	int64_t cursor;               /* highest unit id taken from the store */
	bool store_drained;
	uint64_t units_total, units_done, units_failed;
	uint64_t bytes_done, files_done;
	uint64_t walk_errors;
	char *walk_error_first;
	char *failure;                /* first permanent failure, for the record */
	bool aborting;                /* a failure that every unit would share: stop */
	bool stopped_on_request;      /* by terminate, not by some other signal */
	double last_flush;
	struct progress_line pline;
};

static void
on_signal(int sig)
{
	int saved = errno;

	if (sig == SIGCHLD)
		got_child = 1;
	else if (sig == SIGUSR1)
		got_exclusion = 1;
	else
		got_stop_signal = sig;
	if (wake_pipe[1] >= 0)
		(void)!write(wake_pipe[1], "", 1);
	errno = saved;
}

/* Install handlers for the signals the main loop acts on. */
static int
install_signals(void)
{
	struct sigaction sa;

	if (xpipe_cloexec(wake_pipe) < 0)
		return SYNC_ERR_SYSTEM;
	set_nonblock(wake_pipe[0]);
	set_nonblock(wake_pipe[1]);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return SYNC_OK;
}

static void
restore_signals(void)
{
	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
	if (wake_pipe[0] >= 0)
		close(wake_pipe[0]);
	if (wake_pipe[1] >= 0)
		close(wake_pipe[1]);
	wake_pipe[0] = wake_pipe[1] = -1;
}

/* Read an unsigned environment setting in [min, max], or def. */
static int
env_number(const char *name, unsigned long long min, unsigned long long max,
	   unsigned long long def, unsigned long long *out, char *err, size_t errlen)
{
	const char *v = getenv(name);

	*out = def;
	if (v == NULL || *v == '\0')
		return 0;
	if (parse_ullong(v, min, max, out) < 0) {
		snprintf(err, errlen, "invalid %s '%s': expected a number from %llu to %llu",
			 name, v, min, max);
		return -1;
	}
	return 0;
}

int
supervisor_config_from_env(struct supervisor_config *cfg, char *err, size_t errlen)
{
	unsigned long long v;
	const char *s;

	memset(cfg, 0, sizeof *cfg);
	if (env_number("SCOW_SYNC_WORKERS", 1, 64, 4, &v, err, errlen) < 0)
		return -1;
	cfg->workers = (int)v;
	if (env_number("SCOW_SYNC_RETRIES", 1, 100, 3, &v, err, errlen) < 0)
		return -1;
	cfg->max_attempts = (int)v;
	if (env_number("SCOW_SYNC_BWLIMIT", 0, 1ULL << 40, 0, &v, err, errlen) < 0)
		return -1;
	cfg->bwlimit_kib = (unsigned long)v;
	s = getenv("SCOW_SYNC_RSYNC");
	cfg->rsync_path = s && *s ? s : "rsync";
	s = getenv("SCOW_SYNC_SSH");
	cfg->ssh_path = s && *s ? s : "ssh";
	s = getenv("SCOW_SYNC_SSH_CONFIG");
	cfg->ssh_config = s && *s ? s : NULL;
	return 0;
}

/* Remember the first permanent failure as the transfer's reason. */
static void
set_failure(struct sup *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_failure(struct sup *s, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	log_error("%s", sb.buf);
	if (s->failure == NULL)
		s->failure = strbuf_detach(&sb, NULL);
	strbuf_release(&sb);
}

/* Plan callbacks: record directories in the list file and units in the store. */
struct plan_ctx {
	struct sup *s;
	FILE *dirs;
	uint64_t new_units;
	uint64_t since_commit;
	double last_commit;
};

static int
plan_dir(const char *relpath, void *ctx)
{
	struct plan_ctx *pc = ctx;

	if (fwrite(relpath, 1, strlen(relpath) + 1, pc->dirs) != strlen(relpath) + 1)
		return SYNC_ERR_SYSTEM;
	pc->s->have_dirs = true;
	return 0;
}

static int
plan_unit(enum unit_kind kind, const char *relpath, void *ctx)
{
	struct plan_ctx *pc = ctx;
	int64_t id;
	int rc;

	/* A resumed transfer walks again: units it has already are kept as they are. */
	if ((rc = store_unit_add(pc->s->st, pc->s->t.id, kind, relpath, &id)) < 0)
		return rc;
	pc->new_units += id != 0;
	/* Commit in slices so that other writers are never kept waiting long. */
	if (++pc->since_commit >= 1000 || now_monotonic() - pc->last_commit > 0.2) {
		if ((rc = store_commit(pc->s->st)) < 0 || (rc = store_begin(pc->s->st)) < 0)
			return rc;
		pc->since_commit = 0;
		pc->last_commit = now_monotonic();
	}
	return got_stop_signal ? 1 : 0;
}

static int
plan_error(const char *relpath, int errnum, void *ctx)
{
	struct plan_ctx *pc = ctx;
	struct strbuf sb = STRBUF_INIT;

	escape_untrusted(&sb, relpath, strlen(relpath));
	log_error("cannot read '%s': %s", sb.buf, strerror(errnum));
	if (pc->s->walk_error_first == NULL)
		pc->s->walk_error_first = xasprintf("cannot read '%s': %s", sb.buf,
						    strerror(errnum));
	pc->s->walk_errors++;
	strbuf_release(&sb);
	return 0;
}

/* Read how many units there are to do, and how many are done already. */
static int
count_units(struct sup *s)
{
	uint64_t counts[5];
	int rc;

	if ((rc = store_unit_counts(s->st, s->t.id, counts)) < 0) {
		set_failure(s, "%s", store_errmsg(s->st));
		return rc;
	}
	s->units_total = counts[UNIT_PENDING] + counts[UNIT_RUNNING] + counts[UNIT_DONE] +
			 counts[UNIT_FAILED];
	s->units_done = counts[UNIT_DONE];
	return SYNC_OK;
}

/* Walk the source into units and the list of directories above the cut. */
static int
plan_transfer(struct sup *s)
{
	struct plan_callbacks cb = { plan_dir, plan_unit, plan_error, NULL };
	struct plan_ctx pc = { s, NULL, 0, 0, 0 };
	int fd, rc;

	fd = open(s->dirs_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (pc.dirs = fdopen(fd, "w")) == NULL) {
		set_failure(s, "cannot write '%s': %s", s->dirs_file, strerror(errno));
		if (fd >= 0)
			close(fd);
		return SYNC_ERR_SYSTEM;
	}
	cb.ctx = &pc;
	pc.last_commit = now_monotonic();
	if ((rc = store_begin(s->st)) < 0) {
		fclose(pc.dirs);
		set_failure(s, "%s", store_errmsg(s->st));
		return rc;
	}
	rc = plan_walk(s->t.source, s->t.max_depth, &cb);
	if (rc < 0) {
		store_rollback(s->st);
		if (rc == SYNC_ERR_STORE)
			set_failure(s, "%s", store_errmsg(s->st));
		else
			set_failure(s, "cannot read source '%s': %s", s->t.source,
				    strerror(errno));
	} else if ((rc = store_commit(s->st)) < 0)
		set_failure(s, "%s", store_errmsg(s->st));
	if (fclose(pc.dirs) != 0 && rc >= 0) {
		set_failure(s, "cannot write '%s': %s", s->dirs_file, strerror(errno));
		rc = SYNC_ERR_SYSTEM;
	}
	if (rc < 0)
		return rc;
	if (rc == 0 && s->walk_errors == 0 && (rc = store_transfer_set_planned(s->st, s->t.id)) < 0) {
		set_failure(s, "%s", store_errmsg(s->st));
		return rc;
	}
	if ((rc = count_units(s)) < 0)
		return rc;
	log_info("planned %llu units (%llu new), %llu done before",
		 (unsigned long long)s->units_total, (unsigned long long)pc.new_units,
		 (unsigned long long)s->units_done);
	return 0;
}

/*
 * Check the host, learn its key if new, and create the destination over
 * libssh2. When libssh2 cannot log in with a key OpenSSH may still accept
 * (libssh2 before 1.11 signs RSA keys only with SHA-1, which OpenSSH 8.8
 * and later refuse), *use_openssh asks for the mkdir through the master.
 */
static int
prepare_remote(struct sup *s, bool *use_openssh)
{
	struct remote_params rp = {
		.host = s->t.address, .port = s->t.port, .user = s->t.user,
		.key_path = s->t.key_path, .passphrase = NULL,
		.known_hosts = s->target.known_hosts, .timeout_ms = CONNECT_TIMEOUT * 1000,
	};
	struct remote *r = NULL;
	char err[512];
	int rc;

	*use_openssh = false;
	if ((rc = remote_open(&rp, &r, err, sizeof err)) == SYNC_ERR_AUTH) {
		log_info("%s; trying OpenSSH", err);
		*use_openssh = true;
		return SYNC_OK;
	}
	if (rc < 0) {
		set_failure(s, "%s", err);
		return rc;
	}
	if ((rc = remote_mkdir_p(r, s->t.destination, err, sizeof err)) < 0)
		set_failure(s, "cannot create destination '%s': %s", s->t.destination, err);
	remote_close(r);
	return rc;
}

/* Create the destination through the shared OpenSSH connection. */
static int
mkdir_through_master(struct sup *s)
{
	const char *words[] = { "mkdir", "-p", "--", s->t.destination, NULL };
	struct strvec argv = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT, esc = STRBUF_INIT;
	int status = -1, rc;

	ssh_command_argv(&s->target, words, &argv);
	rc = spawn_run((const char *const *)argv.v, &status, &err);
	strvec_clear(&argv);
	if (rc == SYNC_OK && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		strbuf_release(&err);
		return SYNC_OK;
	}
	strbuf_trim_eol(&err);
	escape_untrusted(&esc, err.buf, err.len);
	set_failure(s, "cannot create destination '%s': %s", s->t.destination,
		    esc.len ? esc.buf : spawn_status_text(status));
	strbuf_release(&err);
	strbuf_release(&esc);
	return SYNC_ERR_REMOTE;
}

/* Start the shared SSH connection and wait until its socket answers. */
static int
start_master(struct sup *s)
{
	struct ssh_target t = s->target;
	struct strvec argv = STRVEC_INIT;
	struct spawn sp;
	double deadline = now_monotonic() + MASTER_WAIT;
	struct stat sb;
	char buf[512];
	ssize_t n;
	int rc = SYNC_ERR_CONNECT, status;

	t.control_path = NULL;
	ssh_base_argv(&t, &argv);
	strvec_push(&argv, "-o");
	strvec_push(&argv, "ControlMaster=yes");
	strvec_push(&argv, "-o");
	strvec_pushf(&argv, "ControlPath=%s", s->control_path);
	strvec_push(&argv, "-o");
	strvec_push(&argv, "ControlPersist=no");
	strvec_push(&argv, "-N");
	strvec_push(&argv, s->t.address);

	memset(&sp, 0, sizeof sp);
	sp.argv = (const char *const *)argv.v;
	sp.pipe_stderr = true;
	sp.new_pgroup = true;
	sp.die_with_parent = true;
	if (spawn_start(&sp) < 0) {
		set_failure(s, "cannot run '%s': %s", s->cfg->ssh_path, strerror(errno));
		strvec_clear(&argv);
		return SYNC_ERR_SYSTEM;
	}
	strvec_clear(&argv);
	s->master_pid = sp.pid;
	set_nonblock(sp.err_fd);
	while (now_monotonic() < deadline && !got_stop_signal) {
		if (stat(s->control_path, &sb) == 0 && S_ISSOCK(sb.st_mode)) {
			rc = SYNC_OK;
			break;
		}
		if (waitpid(sp.pid, &status, WNOHANG) == sp.pid) {
			struct strbuf out = STRBUF_INIT, e = STRBUF_INIT;

			s->master_pid = -1;
			n = read(sp.err_fd, buf, sizeof buf);
			if (n > 0)
				strbuf_add(&out, buf, (size_t)n);
			strbuf_trim_eol(&out);
			escape_untrusted(&e, out.buf, out.len);
			set_failure(s, "cannot connect to '%s' port %d: ssh %s%s%s",
				    s->t.address, s->t.port, spawn_status_text(status),
				    e.len ? ": " : "", e.buf);
			strbuf_release(&out);
			strbuf_release(&e);
			break;
		}
		poll(NULL, 0, 20);
	}
	if (rc < 0 && s->master_pid > 0 && s->failure == NULL)
		set_failure(s, "timed out connecting to '%s' port %d", s->t.address, s->t.port);
	/* Its stderr is not read again: let writes to it fail, not block. */
	close(sp.err_fd);
	return rc;
}

/* End the shared connection. */
static void
stop_master(struct sup *s)
{
	if (s->master_pid <= 0)
		return;
	kill(s->master_pid, SIGTERM);
	spawn_wait(s->master_pid, NULL);
	s->master_pid = -1;
}

/* Rsync event callback: keep the worker's view of its current file. */
static void
on_rsync_event(const struct rsync_event *ev, void *ctx)
{
	struct worker *w = ctx;

	switch (ev->kind) {
	case RSYNC_EV_NAME:
		strbuf_reset(&w->current);
		if (!ev->is_dir)
			strbuf_add(&w->current, ev->name, ev->name_len);
		w->file_bytes = 0;
		w->file_percent = 0;
		w->rate = 0;
		w->eta = -1;
		break;
	case RSYNC_EV_PROGRESS:
		w->file_bytes = ev->progress.bytes;
		w->file_percent = ev->progress.percent;
		w->rate = ev->progress.rate;
		w->eta = ev->progress.eta;
		if (ev->progress.final) {
			w->bytes_done += ev->progress.bytes;
			w->files_done++;
			strbuf_reset(&w->current);
		}
		break;
	case RSYNC_EV_STATS:
		w->sent = ev->sent;
		return;
	case RSYNC_EV_MESSAGE:
		log_untrusted(LOG_INFO, "rsync", ev->name, ev->name_len);
		break;
	}
	w->dirty = true;
}

/* Keep the tail of stderr and log it line by line, escaped. */
static void
take_stderr(struct worker *w, const char *buf, size_t n)
{
	size_t i;

	strbuf_add(&w->err_tail, buf, n);
	if (w->err_tail.len > ERR_TAIL_MAX)
		strbuf_remove_front(&w->err_tail, w->err_tail.len - ERR_TAIL_MAX);
	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			if (w->err_line.len)
				log_untrusted(LOG_WARN, "rsync", w->err_line.buf, w->err_line.len);
			strbuf_reset(&w->err_line);
		} else if (w->err_line.len < 4096)
			strbuf_addch(&w->err_line, buf[i]);
	}
}

/* Read what a worker printed; returns false at end of file on both pipes. */
static void
drain_worker(struct worker *w)
{
	char buf[16384];
	ssize_t n;

	while (w->sp.out_fd >= 0) {
		n = read(w->sp.out_fd, buf, sizeof buf);
		if (n > 0) {
			rsync_parser_feed(&w->parser, buf, (size_t)n, on_rsync_event, w);
			continue;
		}
		if (n < 0 && (errno == EINTR))
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		rsync_parser_finish(&w->parser, on_rsync_event, w);
		close(w->sp.out_fd);
		w->sp.out_fd = -1;
	}
	while (w->sp.err_fd >= 0) {
		n = read(w->sp.err_fd, buf, sizeof buf);
		if (n > 0) {
			take_stderr(w, buf, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EINTR))
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		close(w->sp.err_fd);
		w->sp.err_fd = -1;
	}
}

/* Start rsync for a job on a free worker. */
static int
start_worker(struct sup *s, struct worker *w, enum job_kind kind, struct unit *u)
{
	struct rsync_job job;
	struct strvec argv = STRVEC_INIT, excludes = STRVEC_INIT;
	const char *env[] = { "LC_ALL=C", NULL };
	size_t i;
	int rc;

	memset(&job, 0, sizeof job);
	job.rsync_path = s->cfg->rsync_path;
	job.rsh = s->rsh.buf;
	job.host = s->t.address;
	job.source_root = s->source_root;
	job.remote_dir = s->t.destination;
	job.partial_dir = PARTIAL_DIR;
	job.bwlimit_kib = s->cfg->bwlimit_kib;
	if (kind == JOB_UNIT) {
		job.recursive = u->kind == UNIT_TREE;
		/* Parts of this tree stopped on request stay behind. */
		for (i = 0; job.recursive && i < s->excludes.nr; i++)
			if (path_is_within(s->excludes.v[i], u->path))
				strvec_push(&excludes, s->excludes.v[i]);
		job.excludes = excludes.nr ? (const char *const *)excludes.v : NULL;
	} else {
		/* Directories only: create them writable first, exact at the end. */
		job.files_from = s->dirs_file;
		if (kind == JOB_DIRS_CREATE)
			job.chmod = "Du+rwx";
	}
	rsync_job_argv(&job, &argv);
	strvec_clear(&excludes);

	memset(&w->sp, 0, sizeof w->sp);
	w->sp.argv = (const char *const *)argv.v;
	w->sp.env_set = env;
	w->sp.pipe_stdin = kind == JOB_UNIT;
	w->sp.pipe_stdout = true;
	w->sp.pipe_stderr = true;
	w->sp.new_pgroup = true;
	w->sp.die_with_parent = true;
	rc = spawn_start(&w->sp);
	strvec_clear(&argv);
	if (rc < 0) {
		set_failure(s, "cannot run '%s': %s", s->cfg->rsync_path, strerror(errno));
		return rc;
	}
	if (kind == JOB_UNIT) {
		/* One NUL-terminated path: far below the pipe's capacity. */
		if (write_all(w->sp.in_fd, u->path, strlen(u->path) + 1) < 0)
			log_warn("cannot hand the file list to rsync: %s", strerror(errno));
		close(w->sp.in_fd);
		w->sp.in_fd = -1;
		w->unit = *u;
		memset(u, 0, sizeof *u);
	}
	set_nonblock(w->sp.out_fd);
	set_nonblock(w->sp.err_fd);
	w->busy = true;
	w->kind = kind;
	w->stop = STOP_NONE;
	w->exited = false;
	w->status = 0;
	w->file_bytes = w->bytes_done = w->files_done = w->sent = 0;
	w->file_percent = 0;
	w->rate = 0;
	w->eta = -1;
	w->dirty = true;
	strbuf_reset(&w->current);
	strbuf_reset(&w->err_tail);
	strbuf_reset(&w->err_line);
	return SYNC_OK;
}

/* The last line rsync printed on stderr, escaped, for a reason. */
static void
last_error_line(struct worker *w, struct strbuf *out)
{
	const char *s = w->err_tail.buf, *end = s + w->err_tail.len, *p;

	while (end > s && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	/* rsync ends with "rsync error: ... (code N) at main.c(...)"; the cause is before. */
	p = end;
	while (p > s && p[-1] != '\n')
		p--;
	if (p > s && strncmp(p, "rsync error:", 12) == 0) {
		const char *q = p - 1;

		while (q > s && q[-1] != '\n')
			q--;
		if (q < p - 1)
			p = q, end = p + strcspn(p, "\r\n");
	}
	escape_untrusted(out, p, (size_t)(end - p));
}

static void
queue_retry(struct sup *s, struct unit *u, double delay)
{
	ALLOC_GROW(s->retries, s->nretries, s->retries_alloc);
	s->retries[s->nretries].unit = *u;
	s->retries[s->nretries].not_before = now_monotonic() + delay;
	s->nretries++;
	memset(u, 0, sizeof *u);
}

/* Decide what a finished unit worker's exit means. */
static void
finish_unit(struct sup *s, struct worker *w)
{
	struct unit *u = &w->unit;
	struct strbuf reason = STRBUF_INIT, path = STRBUF_INIT;
	int code = WIFEXITED(w->status) ? WEXITSTATUS(w->status) : -1;
	enum rsync_exit_class cls = code >= 0 ? rsync_exit_classify(code) : RSYNC_EXIT_RETRY;
	bool disk_full = rsync_error_is_permanent(w->err_tail.buf, w->err_tail.len);

	u->attempts++;
	/*
	 * rsync's sender counts a file as sent even when the far side failed
	 * to write it: count what a failed run moved only when it did not fail.
	 */
	if (cls == RSYNC_EXIT_OK || code == 24 || w->stop != STOP_NONE || got_stop_signal) {
		s->bytes_done += w->bytes_done;
		s->files_done += w->files_done;
	}
	escape_untrusted(&path, u->path, strlen(u->path));
	last_error_line(w, &reason);
	/* A file cut off mid-way may have left partial data on the far side. */
	if (code != 0 && w->current.len &&
	    store_leftover_add(s->st, s->t.id, w->current.buf) < 0)
		log_warn("cannot record a partial file: %s", store_errmsg(s->st));
	if (cls == RSYNC_EXIT_OK || code == 24) {
		if (code == 24)
			log_warn("'%s': some source files vanished while being sent", path.buf);
		store_unit_set_done(s->st, u->id, u->attempts, w->bytes_done, w->files_done);
		s->units_done++;
		/* Sent much less than moved: the far side had (some of) it already. */
		log_info("done '%s': %llu files, %llu bytes, %llu bytes sent", path.buf,
			 (unsigned long long)w->files_done, (unsigned long long)w->bytes_done,
			 (unsigned long long)w->sent);
		unit_release(u);
	} else if (w->stop == STOP_EXCLUDED) {
		store_unit_set_state(s->st, u->id, UNIT_EXCLUDED, u->attempts, NULL);
		s->units_total--;
		log_info("stopped '%s' on request", path.buf);
		unit_release(u);
	} else if (w->stop == STOP_REQUEUE && !got_stop_signal) {
		/* Not its fault: run it again at once, without the stopped part. */
		store_unit_set_state(s->st, u->id, UNIT_PENDING, u->attempts - 1, NULL);
		u->attempts--;
		queue_retry(s, u, 0);
	} else if (got_stop_signal || (s->aborting && !disk_full)) {
		/* Stopped on request or by another unit's failure: it may run again. */
		store_unit_set_state(s->st, u->id, UNIT_PENDING, u->attempts - 1, NULL);
		unit_release(u);
	} else if (cls == RSYNC_EXIT_RETRY && !disk_full && u->attempts < s->cfg->max_attempts) {
		double delay = (double)(1 << (u->attempts < 6 ? u->attempts : 6));

		log_warn("'%s': rsync %s (%s), retrying in %.0f s%s%s", path.buf,
			 spawn_status_text(w->status), code >= 0 ? rsync_exit_text(code) : "signal",
			 delay, reason.len ? ": " : "", reason.buf);
		store_unit_set_state(s->st, u->id, UNIT_PENDING, u->attempts, reason.buf);
		queue_retry(s, u, delay);
	} else {
		char *msg = xasprintf("'%s': rsync %s (%s)%s%s", path.buf,
				      spawn_status_text(w->status),
				      code >= 0 ? rsync_exit_text(code) : "signal",
				      reason.len ? ": " : "", reason.buf);

		store_unit_set_state(s->st, u->id, UNIT_FAILED, u->attempts, msg);
		s->units_failed++;
		set_failure(s, "%s", msg);
		free(msg);
		unit_release(u);
		/* The far side is full: every other unit would fail the same way. */
		if (disk_full && !s->aborting) {
			log_error("the far side has no room left; stopping the transfer");
			s->aborting = true;
		}
	}
	strbuf_release(&reason);
	strbuf_release(&path);
}

/* Wait (boundedly) until every process of a stopped worker's group is gone. */
static void
wait_worker_group(pid_t pgid)
{
	double deadline = now_monotonic() + STOP_GRACE;

	while (kill(-pgid, 0) == 0) {
		if (now_monotonic() > deadline) {
			kill(-pgid, SIGKILL);
			break;
		}
		poll(NULL, 0, 20);
	}
}

/* Handle a worker whose rsync has exited and whose output is read. */
static int
finish_worker(struct sup *s, struct worker *w)
{
	int rc = SYNC_OK;

	drain_worker(w);
	spawn_close_fds(&w->sp);
	if (w->stop != STOP_NONE || got_stop_signal || s->aborting)
		wait_worker_group(w->sp.pid);
	w->busy = false;
	if (w->kind == JOB_UNIT) {
		finish_unit(s, w);
		return SYNC_OK;
	}
	if (!WIFEXITED(w->status) || WEXITSTATUS(w->status) != 0) {
		struct strbuf reason = STRBUF_INIT;

		last_error_line(w, &reason);
		if (!got_stop_signal)
			set_failure(s, "cannot create the directories above depth %d: rsync %s%s%s",
				    s->t.max_depth, spawn_status_text(w->status),
				    reason.len ? ": " : "", reason.buf);
		strbuf_release(&reason);
		rc = SYNC_ERR_REMOTE;
	}
	return rc;
}

/*
 * A unit whose source is gone since the walk (deleted, or renamed, before
 * a resume) is done: there is nothing left to send, as when rsync reports
 * files that vanished while it ran.
 */
static bool
unit_vanished(struct sup *s, struct unit *u)
{
	struct strbuf path = STRBUF_INIT, esc = STRBUF_INIT;
	struct stat sb;
	bool gone;

	strbuf_addstr(&path, s->source_root);
	if (path.len == 0 || path.buf[path.len - 1] != '/')
		strbuf_addch(&path, '/');
	strbuf_addstr(&path, u->path);
	gone = lstat(path.buf, &sb) < 0 && (errno == ENOENT || errno == ENOTDIR);
	if (gone) {
		escape_untrusted(&esc, u->path, strlen(u->path));
		log_warn("'%s' vanished from the source before it was sent", esc.buf);
		store_unit_set_done(s->st, u->id, u->attempts, 0, 0);
		s->units_done++;
		unit_release(u);
	}
	strbuf_release(&path);
	strbuf_release(&esc);
	return gone;
}

/* Take the next unit to run: a due retry first, then the store's order. */
static bool
next_unit(struct sup *s, struct unit *out)
{
	double now = now_monotonic();
	size_t i;

	for (i = 0; i < s->nretries; i++) {
		if (s->retries[i].not_before <= now) {
			*out = s->retries[i].unit;
			s->retries[i] = s->retries[--s->nretries];
			return true;
		}
	}
	if (s->batch_pos == s->batch_n && !s->store_drained) {
		s->batch_pos = s->batch_n = 0;
		if (store_unit_next_pending(s->st, s->t.id, s->cursor, s->batch,
					    UNIT_BATCH, &s->batch_n) < 0) {
			log_error("%s", store_errmsg(s->st));
			return false;
		}
		if (s->batch_n == 0)
			s->store_drained = true;
		else
			s->cursor = s->batch[s->batch_n - 1].id;
	}
	if (s->batch_pos < s->batch_n) {
		*out = s->batch[s->batch_pos];
		memset(&s->batch[s->batch_pos], 0, sizeof s->batch[s->batch_pos]);
		s->batch_pos++;
		return true;
	}
	return false;
}

/* Bytes and files moved so far: finished units plus what workers did. */
static void
running_totals(struct sup *s, uint64_t *bytes, uint64_t *files)
{
	int i;

	*bytes = s->bytes_done;
	*files = s->files_done;
	for (i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->workers[i];

		if (!w->busy || w->kind != JOB_UNIT)
			continue;
		*bytes += w->bytes_done + (w->current.len ? w->file_bytes : 0);
		*files += w->files_done;
	}
}

/* Write the progress of running units to the store (bounded rate). */
static void
flush_progress(struct sup *s, bool force)
{
	struct unit_progress *p;
	double now = now_monotonic();
	uint64_t bytes, files;
	size_t n = 0;
	int i;

	if (!force && now - s->last_flush < FLUSH_INTERVAL)
		return;
	s->last_flush = now;
	p = xcalloc((size_t)s->nworkers, sizeof *p);
	for (i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->workers[i];

		if (!w->busy || w->kind != JOB_UNIT || !w->dirty)
			continue;
		w->dirty = false;
		p[n].unit_id = w->unit.id;
		p[n].current_file = w->current.len ? w->current.buf : NULL;
		p[n].file_bytes = w->file_bytes;
		p[n].file_percent = w->file_percent;
		p[n].rate = w->rate;
		p[n].eta = w->eta;
		p[n].bytes_done = w->bytes_done;
		p[n].files_done = w->files_done;
		n++;
	}
	running_totals(s, &bytes, &files);
	if (store_progress_write(s->st, p, n) < 0 ||
	    store_transfer_set_totals(s->st, s->t.id, bytes, files) < 0)
		log_warn("cannot record progress: %s", store_errmsg(s->st));
	free(p);
}

/* Draw the foreground progress line from the busiest worker. */
static void
draw_progress(struct sup *s)
{
	struct worker *shown = NULL;
	uint64_t bytes, files;
	double rate = 0;
	int i;

	if (!s->pline.tty)
		return;
	running_totals(s, &bytes, &files);
	for (i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->workers[i];

		if (!w->busy || w->kind != JOB_UNIT)
			continue;
		if (w->current.len) {
			rate += w->rate;
			if (shown == NULL)
				shown = w;
		}
	}
	progress_line_draw(&s->pline, shown ? shown->current.buf : NULL, bytes,
			   shown ? shown->file_percent : 0, rate, shown ? shown->eta : 0,
			   files, s->units_done + s->units_failed, s->units_total);
}

/* Reap exited children and note which workers they were. */
static void
reap_children(struct sup *s)
{
	int status, i;
	pid_t pid;

	got_child = 0;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == s->master_pid) {
			log_warn("the shared ssh connection ended (%s); workers connect on their own",
				 spawn_status_text(status));
			s->master_pid = -1;
			continue;
		}
		for (i = 0; i < s->nworkers; i++) {
			if (s->workers[i].busy && s->workers[i].sp.pid == pid) {
				s->workers[i].exited = true;
				s->workers[i].status = status;
			}
		}
	}
}

/*
 * Stop a worker. SIGTERM goes to rsync alone: its ssh then sees the end of
 * its input, passes it on, and exits only once the far side's rsync has
 * saved its partial data and ended, so that when the worker's process group
 * is gone (wait_worker_group) nothing is still being written over there.
 * SIGKILL goes to the whole group.
 */
static void
signal_worker(struct worker *w, int sig)
{
	if (w->busy && !w->exited)
		kill(sig == SIGKILL ? -w->sp.pid : w->sp.pid, sig);
}

static void
signal_workers(struct sup *s, int sig)
{
	int i;

	for (i = 0; i < s->nworkers; i++)
		signal_worker(&s->workers[i], sig);
}


static int
busy_workers(struct sup *s)
{
	int i, n = 0;

	for (i = 0; i < s->nworkers; i++)
		n += s->workers[i].busy;
	return n;
}

/*
 * Remove the far side's partial data of the leftovers at or below prefix
 * (all when NULL) and forget them. *session is opened when first needed
 * (through the master when target has its socket); the caller closes it.
 */
static int
clean_leftovers(struct store *st, int64_t transfer_id, const struct ssh_target *target,
		const char *dest, struct sftp **session, const char *prefix)
{
	struct strvec files = STRVEC_INIT;
	struct cleanup_result r;
	char err[512];
	size_t i;
	int rc;

	if ((rc = store_leftovers_list(st, transfer_id, prefix, &files)) < 0) {
		log_warn("cannot list partial files: %s", store_errmsg(st));
		return rc;
	}
	if (files.nr == 0)
		return SYNC_OK;
	if (*session == NULL &&
	    (rc = sftp_open(target, SFTP_TIMEOUT_MS, session, err, sizeof err)) < 0) {
		log_warn("cannot open an sftp session to remove %zu partial files: %s",
			 files.nr, err);
		strvec_clear(&files);
		return rc;
	}
	rc = cleanup_partials(*session, dest, PARTIAL_DIR, (const char *const *)files.v,
			      files.nr, CLEANUP_SETTLE, &r);
	if (r.removed)
		log_info("removed %u partial files on the far side", r.removed);
	if (r.refused)
		log_warn("left %u partial files alone: a symbolic link or a non-directory "
			 "on the way", r.refused);
	if (r.failed || rc < 0)
		log_warn("could not remove partial files on the far side: %s",
			 r.first_error ? r.first_error : "the session failed");
	else
		for (i = 0; i < files.nr; i++)
			store_leftover_remove(st, transfer_id, files.v[i]);
	free(r.first_error);
	strvec_clear(&files);
	if (rc < 0) {
		sftp_close(*session);
		*session = NULL;
	}
	return rc < 0 || r.failed ? SYNC_ERR_REMOTE : SYNC_OK;
}

/* Wait for the workers asked to stop (w->stop) to end, and settle them. */
static void
settle_stopped_workers(struct sup *s)
{
	double deadline = now_monotonic() + STOP_GRACE;
	bool killed = false, left;
	int i;

	for (;;) {
		left = false;
		for (i = 0; i < s->nworkers; i++) {
			struct worker *w = &s->workers[i];

			if (w->busy && w->stop != STOP_NONE && !w->exited) {
				left = true;
				if (killed == false && now_monotonic() > deadline)
					kill(-w->sp.pid, SIGKILL);
			}
		}
		if (!left)
			break;
		killed = now_monotonic() > deadline;
		for (i = 0; i < s->nworkers; i++)
			if (s->workers[i].busy)
				drain_worker(&s->workers[i]);
		reap_children(s);
		poll(NULL, 0, 20);
	}
	for (i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->workers[i];

		if (w->busy && w->stop != STOP_NONE && w->exited)
			finish_worker(s, w);
	}
}

/* Drop queued units (read ahead, or waiting for a retry) at or below path. */
static void
drop_queued(struct sup *s, const char *path)
{
	size_t i, k;

	for (i = k = s->batch_pos; i < s->batch_n; i++) {
		if (path_is_within(s->batch[i].path, path)) {
			unit_release(&s->batch[i]);
			s->units_total--;
		} else
			s->batch[k++] = s->batch[i];
	}
	s->batch_n = k;
	for (i = k = 0; i < s->nretries; i++) {
		if (path_is_within(s->retries[i].unit.path, path)) {
			store_unit_set_state(s->st, s->retries[i].unit.id, UNIT_EXCLUDED,
					     s->retries[i].unit.attempts, NULL);
			unit_release(&s->retries[i].unit);
			s->units_total--;
		} else
			s->retries[k++] = s->retries[i];
	}
	s->nretries = k;
}

/*
 * Stop one part of the transfer (terminate of a path inside the source):
 * units at or below it are excluded (running ones stopped), a tree unit
 * that holds it runs again without it, and its partial data on the far
 * side is removed. The rest of the transfer goes on.
 */
static void
apply_exclusion(struct sup *s, const struct exclusion *ex)
{
	struct strbuf prefix = STRBUF_INIT, esc = STRBUF_INIT;
	enum exclusion_state result = EXCLUSION_NOMATCH;
	uint64_t before[5], excluded = 0;
	const char *p = ex->path, *slash;
	bool held = false, victims = false;
	struct unit holder;
	int i;

	escape_untrusted(&esc, p, strlen(p));
	/* A tree unit that p lies strictly below. */
	for (slash = strchr(p, '/'); slash && !held; slash = strchr(slash + 1, '/')) {
		strbuf_reset(&prefix);
		strbuf_add(&prefix, p, (size_t)(slash - p));
		if (store_unit_find(s->st, s->t.id, prefix.buf, &holder) == SYNC_OK) {
			held = true;
			if (holder.state == UNIT_DONE)
				result = EXCLUSION_DONE;
			else if (holder.state == UNIT_EXCLUDED)
				result = EXCLUSION_APPLIED;
			else {
				result = EXCLUSION_APPLIED;
				strvec_push(&s->excludes, p);
				for (i = 0; i < s->nworkers; i++) {
					struct worker *w = &s->workers[i];

					if (w->busy && !w->exited && w->kind == JOB_UNIT &&
					    w->unit.id == holder.id) {
						w->stop = STOP_REQUEUE;
						signal_worker(w, SIGTERM);
						victims = true;
					}
				}
			}
			unit_release(&holder);
		}
	}
	if (!held) {
		if (store_unit_counts_within(s->st, s->t.id, p, before) < 0 ||
		    store_units_exclude(s->st, s->t.id, p, &excluded) < 0)
			log_warn("cannot exclude '%s': %s", esc.buf, store_errmsg(s->st));
		drop_queued(s, p);
		s->units_total -= excluded;
		for (i = 0; i < s->nworkers; i++) {
			struct worker *w = &s->workers[i];

			if (w->busy && !w->exited && w->kind == JOB_UNIT &&
			    path_is_within(w->unit.path, p)) {
				w->stop = STOP_EXCLUDED;
				signal_worker(w, SIGTERM);
				victims = true;
			}
		}
		if (excluded || victims || before[UNIT_EXCLUDED])
			result = EXCLUSION_APPLIED;
		else if (before[UNIT_DONE])
			result = EXCLUSION_DONE;
	}
	if (victims)
		settle_stopped_workers(s);
	if (result == EXCLUSION_APPLIED)
		clean_leftovers(s->st, s->t.id, &s->target, s->t.destination, &s->sftp, p);
	store_exclusion_set_state(s->st, ex->id, result);
	log_info("terminate of '%s': %s", esc.buf,
		 result == EXCLUSION_APPLIED ? "stopped; the rest goes on" :
		 result == EXCLUSION_DONE ? "it had already arrived" :
		 "not part of this transfer");
	strbuf_release(&prefix);
	strbuf_release(&esc);
}

/* Act on the parts terminate asked to stop since we last looked. */
static void
apply_exclusions(struct sup *s)
{
	struct exclusion *xs;
	size_t n, i;

	got_exclusion = 0;
	if (store_exclusions_list(s->st, s->t.id, EXCLUSION_PENDING, &xs, &n) < 0) {
		log_warn("cannot read what to stop: %s", store_errmsg(s->st));
		return;
	}
	for (i = 0; i < n; i++) {
		/* The whole transfer stops by signal; its request is read at the end. */
		if (strcmp(xs[i].path, s->source_rel) != 0)
			apply_exclusion(s, &xs[i]);
		exclusion_release(&xs[i]);
	}
	free(xs);
}

/*
 * Did terminate ask to stop the whole transfer for good (rather than a
 * signal from elsewhere, after which the partial data is kept for a
 * resume)? Marks the request applied.
 */
static bool
stop_requested(struct sup *s)
{
	struct exclusion *xs;
	bool found = false;
	size_t n, i;

	if (store_exclusions_list(s->st, s->t.id, EXCLUSION_PENDING, &xs, &n) < 0)
		return false;
	for (i = 0; i < n; i++) {
		if (strcmp(xs[i].path, s->source_rel) == 0) {
			found = true;
			store_exclusion_set_state(s->st, xs[i].id, EXCLUSION_APPLIED);
		}
		exclusion_release(&xs[i]);
	}
	free(xs);
	return found;
}

/*
 * Run jobs until there is nothing left (or, for a directory pass, until it
 * ends). Returns 0, or a negative code when the pass failed.
 */
static int
run_loop(struct sup *s, enum job_kind pass)
{
	struct pollfd *pfd = xcalloc((size_t)s->nworkers * 2 + 1, sizeof *pfd);
	double stop_deadline = 0;
	bool stopping = false;
	int rc = SYNC_OK, i;

	if (pass != JOB_UNIT && (rc = start_worker(s, &s->workers[0], pass, NULL)) < 0) {
		free(pfd);
		return rc;
	}
	for (;;) {
		int nfds = 0, timeout = 1000;
		struct unit u;

		if ((got_stop_signal || s->aborting) && !stopping) {
			stopping = true;
			stop_deadline = now_monotonic() + STOP_GRACE;
			if (got_stop_signal)
				log_info("stopping on signal %d", (int)got_stop_signal);
			signal_workers(s, SIGTERM);
		}
		if (stopping && now_monotonic() > stop_deadline)
			signal_workers(s, SIGKILL);
		if (got_exclusion && pass == JOB_UNIT && !stopping)
			apply_exclusions(s);

		/* Fill free workers. */
		for (i = 0; pass == JOB_UNIT && !stopping && i < s->nworkers; i++) {
			if (s->workers[i].busy)
				continue;
			if (!next_unit(s, &u))
				break;
			if (unit_vanished(s, &u)) {
				i--;
				continue;
			}
			if (start_worker(s, &s->workers[i], JOB_UNIT, &u) < 0) {
				store_unit_set_state(s->st, u.id, UNIT_FAILED, u.attempts, s->failure);
				s->units_failed++;
				unit_release(&u);
				stopping = true;
				stop_deadline = now_monotonic() + STOP_GRACE;
				break;
			}
			store_unit_set_state(s->st, s->workers[i].unit.id, UNIT_RUNNING,
					     s->workers[i].unit.attempts, NULL);
			log_debug("started unit %lld", (long long)s->workers[i].unit.id);
		}
		if (busy_workers(s) == 0 &&
		    (pass != JOB_UNIT || stopping || (s->store_drained && s->nretries == 0 &&
						      s->batch_pos == s->batch_n)))
			break;
		if (busy_workers(s) == 0 && s->nretries > 0) {
			/* Only retries are left: sleep until the first is due. */
			double first = s->retries[0].not_before;

			for (size_t k = 1; k < s->nretries; k++)
				if (s->retries[k].not_before < first)
					first = s->retries[k].not_before;
			timeout = (int)((first - now_monotonic()) * 1000) + 1;
			if (timeout < 0)
				timeout = 0;
			if (timeout > 1000)
				timeout = 1000;
		}

		pfd[nfds].fd = wake_pipe[0];
		pfd[nfds++].events = POLLIN;
		for (i = 0; i < s->nworkers; i++) {
			struct worker *w = &s->workers[i];

			if (!w->busy)
				continue;
			if (w->sp.out_fd >= 0) {
				pfd[nfds].fd = w->sp.out_fd;
				pfd[nfds++].events = POLLIN;
			}
			if (w->sp.err_fd >= 0) {
				pfd[nfds].fd = w->sp.err_fd;
				pfd[nfds++].events = POLLIN;
			}
		}
		if (s->pline.tty && timeout > 200)
			timeout = 200;
		if (poll(pfd, (nfds_t)nfds, timeout) < 0 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			rc = SYNC_ERR_SYSTEM;
			break;
		}
		if (pfd[0].revents & POLLIN) {
			char buf[64];

			while (read(wake_pipe[0], buf, sizeof buf) > 0)
				;
		}
		for (i = 0; i < s->nworkers; i++)
			if (s->workers[i].busy)
				drain_worker(&s->workers[i]);
		reap_children(s);
		for (i = 0; i < s->nworkers; i++) {
			struct worker *w = &s->workers[i];

			if (w->busy && w->exited && finish_worker(s, w) < 0)
				rc = SYNC_ERR_REMOTE;
		}
		if (pass == JOB_UNIT) {
			flush_progress(s, false);
			draw_progress(s);
		}
	}
	free(pfd);
	return rc;
}

/* Pick the state and reason the transfer ends with. */
static enum transfer_state
final_state(struct sup *s, char **reason)
{
	*reason = NULL;
	if (s->stopped_on_request) {
		*reason = xstrdup("terminated on request");
		return TRANSFER_TERMINATED;
	}
	if (got_stop_signal) {
		*reason = xasprintf("stopped by signal %d; resume continues it",
				    (int)got_stop_signal);
		return TRANSFER_TERMINATED;
	}
	if (s->failure) {
		if (s->units_failed > 1)
			*reason = xasprintf("%s (and %llu more failed units)", s->failure,
					    (unsigned long long)(s->units_failed - 1));
		else
			*reason = xstrdup(s->failure);
		return TRANSFER_FAILED;
	}
	if (s->walk_errors) {
		*reason = xasprintf("%llu entries could not be read; first: %s",
				    (unsigned long long)s->walk_errors, s->walk_error_first);
		return TRANSFER_FAILED;
	}
	return TRANSFER_DONE;
}

/* The directory private directories go in. */
static const char *
tmp_base(void)
{
	const char *base = getenv("TMPDIR");

	/* Unix socket paths are short (108 bytes): keep this one short too. */
	if (base == NULL || *base != '/' || strlen(base) > 60)
		base = "/tmp";
	return base;
}

void
supervisor_remove_stale(struct store *st, int64_t transfer_id)
{
	struct stat sb;
	char *dir = NULL, *base;
	int fd;

	if (store_transfer_workdir(st, transfer_id, &dir) < 0 || dir == NULL)
		return;
	/* Only a real directory of ours, named as we name them, and only our files in it. */
	base = path_dirname(dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && strncmp(path_basename(dir), "scow-sync-", 10) == 0 &&
	    fstat(fd, &sb) == 0 && sb.st_uid == geteuid()) {
		unlinkat(fd, "cm", 0);
		unlinkat(fd, "dirs", 0);
		if (rmdir(dir) == 0)
			log_info("removed the private directory of an earlier run: %s", dir);
	}
	if (fd >= 0)
		close(fd);
	store_transfer_set_workdir(st, transfer_id, NULL);
	free(base);
	free(dir);
}

int
supervisor_clean_remote(struct store *st, const struct transfer *t,
			const struct supervisor_config *cfg)
{
	struct ssh_target target;
	struct sftp *session = NULL;
	char *known_hosts = xasprintf("%s/.ssh/known_hosts", home_dir());
	int rc;

	memset(&target, 0, sizeof target);
	target.program = cfg->ssh_path;
	target.user = t->user;
	target.host = t->address;
	target.port = t->port;
	target.key_path = t->key_path;
	target.known_hosts = known_hosts;
	target.ssh_config = cfg->ssh_config;
	target.connect_timeout = CONNECT_TIMEOUT;
	rc = clean_leftovers(st, t->id, &target, t->destination, &session, NULL);
	sftp_close(session);
	free(known_hosts);
	supervisor_remove_stale(st, t->id);
	return rc;
}

/* Make a private directory for the control socket and the directory list. */
static int
make_tmpdir(struct sup *s)
{
	const char *base = tmp_base();
	char *tmpl;

	/* What a killed supervisor of this transfer left is ours now. */
	supervisor_remove_stale(s->st, s->t.id);
	tmpl = xasprintf("%s/scow-sync-%lld-XXXXXX", base, (long long)s->t.id);
	if (mkdtemp(tmpl) == NULL) {
		set_failure(s, "cannot create a private directory in '%s': %s", base,
			    strerror(errno));
		free(tmpl);
		return SYNC_ERR_SYSTEM;
	}
	s->tmpdir = tmpl;
	if (store_transfer_set_workdir(s->st, s->t.id, tmpl) < 0)
		log_warn("cannot record the private directory: %s", store_errmsg(s->st));
	s->control_path = xasprintf("%s/cm", tmpl);
	s->dirs_file = xasprintf("%s/dirs", tmpl);
	return SYNC_OK;
}

static void
remove_tmpdir(struct sup *s)
{
	if (s->tmpdir == NULL)
		return;
	unlink(s->control_path);
	unlink(s->dirs_file);
	if (rmdir(s->tmpdir) == 0)
		store_transfer_set_workdir(s->st, s->t.id, NULL);
}

static void
sup_release(struct sup *s)
{
	size_t k;
	int i;

	for (i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->workers[i];

		spawn_close_fds(&w->sp);
		unit_release(&w->unit);
		rsync_parser_release(&w->parser);
		strbuf_release(&w->err_tail);
		strbuf_release(&w->err_line);
		strbuf_release(&w->current);
	}
	free(s->workers);
	for (k = 0; k < s->nretries; k++)
		unit_release(&s->retries[k].unit);
	free(s->retries);
	for (k = s->batch_pos; k < s->batch_n; k++)
		unit_release(&s->batch[k]);
	transfer_release(&s->t);
	free(s->source_root);
	free(s->tmpdir);
	free(s->control_path);
	free(s->dirs_file);
	free((char *)s->target.known_hosts);
	strbuf_release(&s->rsh);
	strvec_clear(&s->excludes);
	free(s->walk_error_first);
	free(s->failure);
}

int
supervisor_run(struct store *st, const struct supervisor_config *cfg,
	       enum transfer_state *final)
{
	struct sup s;
	struct proc_id self;
	char *reason = NULL;
	double started = now_monotonic();
	bool use_openssh = false;
	int rc, i;

	memset(&s, 0, sizeof s);
	s.st = st;
	s.cfg = cfg;
	s.master_pid = -1;
	*final = TRANSFER_FAILED;
	got_stop_signal = 0;
	if ((rc = store_transfer_get(st, cfg->transfer_id, &s.t)) < 0)
		return rc;
	log_set_transfer(s.t.id);
	if ((rc = proc_self(&self)) < 0 ||
	    (rc = store_transfer_set_running(st, s.t.id, &self)) < 0) {
		log_error("cannot mark the transfer running: %s", store_errmsg(st));
		transfer_release(&s.t);
		return rc;
	}
	if ((rc = install_signals()) < 0) {
		transfer_release(&s.t);
		return rc;
	}
	/* A resumed transfer counts on from what its done units moved. */
	if (store_transfer_done_totals(st, s.t.id, &s.bytes_done, &s.files_done) < 0)
		log_warn("cannot read earlier totals: %s", store_errmsg(st));
	if (cfg->on_running)
		cfg->on_running(cfg->on_running_ctx);
	log_info("transfer of '%s' to %s@%s:%d:'%s' started (depth %d, %d workers)",
		 s.t.source, s.t.user, s.t.address, s.t.port, s.t.destination,
		 s.t.max_depth, cfg->workers);

	s.source_root = path_dirname(s.t.source);
	s.source_rel = path_basename(s.t.source);
	{
		struct exclusion *xs;
		size_t n, k;

		/* Parts stopped on request before a resume stay stopped. */
		if (store_exclusions_list(st, s.t.id, EXCLUSION_APPLIED, &xs, &n) == SYNC_OK) {
			for (k = 0; k < n; k++) {
				strvec_push(&s.excludes, xs[k].path);
				exclusion_release(&xs[k]);
			}
			free(xs);
		}
	}
	s.nworkers = cfg->workers;
	s.workers = xcalloc((size_t)s.nworkers, sizeof *s.workers);
	for (i = 0; i < s.nworkers; i++) {
		rsync_parser_init(&s.workers[i].parser);
		s.workers[i].sp.in_fd = s.workers[i].sp.out_fd = s.workers[i].sp.err_fd = -1;
	}
	s.target.program = cfg->ssh_path;
	s.target.user = s.t.user;
	s.target.host = s.t.address;
	s.target.port = s.t.port;
	s.target.key_path = s.t.key_path;
	s.target.known_hosts = xasprintf("%s/.ssh/known_hosts", home_dir());
	s.target.ssh_config = cfg->ssh_config;
	s.target.connect_timeout = CONNECT_TIMEOUT;
	progress_line_init(&s.pline, STDERR_FILENO);
	if (!cfg->progress_display)
		s.pline.tty = false;

	if (make_tmpdir(&s) < 0 || prepare_remote(&s, &use_openssh) < 0 || got_stop_signal ||
	    start_master(&s) < 0 || got_stop_signal)
		goto finish;
	s.target.control_path = s.control_path;
	if (use_openssh && mkdir_through_master(&s) < 0)
		goto finish;
	ssh_rsh_command(&s.target, &s.rsh);
	if (plan_transfer(&s) < 0 || got_stop_signal)
		goto finish;
	/* Parts stopped while no supervisor was running. */
	apply_exclusions(&s);
	if (s.have_dirs && (run_loop(&s, JOB_DIRS_CREATE) < 0 || got_stop_signal))
		goto finish;
	run_loop(&s, JOB_UNIT);
	flush_progress(&s, true);
	if (s.have_dirs && !got_stop_signal && s.failure == NULL)
		run_loop(&s, JOB_DIRS_FINAL);

finish:
	progress_line_clear(&s.pline);
	/* Stopped for good by terminate: no partial data stays on the far side. */
	if (got_stop_signal && stop_requested(&s)) {
		s.stopped_on_request = true;
		clean_leftovers(st, s.t.id, &s.target, s.t.destination, &s.sftp, NULL);
	}
	sftp_close(s.sftp);
	s.sftp = NULL;
	stop_master(&s);
	remove_tmpdir(&s);
	*final = final_state(&s, &reason);
	if (store_transfer_set_totals(st, s.t.id, s.bytes_done, s.files_done) < 0 ||
	    store_transfer_finish(st, s.t.id, *final, reason) < 0) {
		log_error("cannot record the end of the transfer: %s", store_errmsg(st));
		rc = SYNC_ERR_STORE;
	} else
		rc = SYNC_OK;
	log_msg(*final == TRANSFER_DONE ? LOG_INFO : LOG_ERROR,
		"transfer %s after %.1f s: %llu of %llu units, %llu files, %llu bytes%s%s",
		transfer_state_name(*final), now_monotonic() - started,
		(unsigned long long)s.units_done, (unsigned long long)s.units_total,
		(unsigned long long)s.files_done, (unsigned long long)s.bytes_done,
		reason ? ": " : "", reason ? reason : "");
	free(reason);
	sup_release(&s);
	restore_signals();
	return rc;
}
