/*
 * cmd-transfer: what start, run and resume share: the transfer flags, the
 * prelude that checks and records a transfer, and the two ways of running
 * its supervisor (detached for start, in the foreground for run).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "cmd-transfer.h"
#include "farlock.h"
#include "format.h"
#include "keycheck.h"
#include "log.h"
#include "options.h"
#include "proctitle.h"
#include "settings.h"
#include "spawn.h"
#include "store.h"
#include "slurm.h"
#include "supervisor.h"
#include "util.h"

#define HANDSHAKE_TIMEOUT_MS 30000

/* The supervisor's end of the handshake with the waiting start command. */
struct handshake {
	int fd;
};

/* Where a transfer stood before this run: a resumed one has sent some already. */
struct run_start {
	double when;
	uint64_t bytes_done;
	uint64_t created, updated;   /* on the far side, by the runs before this one */
	bool verify;           /* compared by content (--verify) */
};

/*
 * A request that names no user (-u) or no port (-p) logs in as ssh would:
 * with the User and Port the user's ssh configuration gives that host (a
 * Host alias), else ssh's own defaults, the account's name and 22. Where
 * ssh -G cannot say, those defaults stay (options_validate_transfer).
 * One host only: a list's hosts each keep the port it gives them. -1
 * with a message in err for a User of the configuration's that cannot be
 * taken (logging in as someone else instead would be worse).
 */
static int
resolve_login(struct transfer_request *req, char *err, size_t errlen)
{
	bool port_given = req->port_arg || req->address_owned;
	struct ssh_target t;
	char why[256], *user = NULL;
	int port;

	if (req->s3 || req->hosts.n > 1 || (req->user_owned == NULL && port_given))
		return 0;
	cmd_ssh_target(&t);
	t.host = req->address;
	t.user = req->user_owned ? NULL : req->user;
	t.port = port_given ? req->port : 0;
	if (far_host_login(&t, &user, &port) < 0)
		return 0;
	if (req->user_owned && validate_user(user, why, sizeof why) < 0) {
		snprintf(err, errlen, "the ssh configuration's user for '%s': %s; give -u",
			 req->address, why);
		free(user);
		return -1;
	}
	if (req->user_owned) {
		free(req->user_owned);
		req->user = req->user_owned = user;
		user = NULL;
	}
	if (!port_given)
		req->port = port;
	free(user);
	return 0;
}

int
cmd_parse_transfer(const struct cmd_ctx *ctx, const struct cmd_entry *e, int argc,
		   char **argv, struct transfer_request *req, bool *done)
{
	struct cmd_ctx *mctx = (struct cmd_ctx *)ctx;
	char err[1024];

	*done = true;
	switch ((e->options == watch_flags ? options_parse_watch : options_parse_transfer)
		(argc, argv, req, &mctx->verbosity, err, sizeof err)) {
	case OPTIONS_HELP:
		transfer_request_release(req);
		return cmd_print_usage(ctx, e);
	case OPTIONS_VERSION:
		transfer_request_release(req);
		return cmd_print_version(ctx);
	case OPTIONS_ERROR:
		transfer_request_release(req);
		cmd_error(ctx, "%s", err);
		return EXIT_USAGE;
	default:
		break;
	}
	req->legacy = ctx->legacy;
	if (options_validate_transfer(req, !req->check, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		transfer_request_release(req);
		return EXIT_USAGE;
	}
	if (resolve_login(req, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		transfer_request_release(req);
		return EXIT_USAGE;
	}
	*done = false;
	return EXIT_OK;
}

/* What the transfer keeps of each file beyond rsync -a, as recorded, into cfg. */
static int
cmd_transfer_preserve(struct store *st, int64_t id, struct supervisor_config *cfg)
{
	struct transfer_preserve o;
	int rc;

	if ((rc = store_transfer_preserve(st, id, &o)) < 0)
		return rc;
	cfg->preserve = (unsigned)o.flags & RSYNC_PRESERVE_ALL;
	/* Checked as given (validate_preserve): longer only in a store edited by hand. */
	snprintf(cfg->chmod_rule, sizeof cfg->chmod_rule, "%s", o.chmod ? o.chmod : "");
	snprintf(cfg->chown_spec, sizeof cfg->chown_spec, "%s", o.chown ? o.chown : "");
	transfer_preserve_release(&o);
	return SYNC_OK;
}

int
cmd_transfer_options(struct store *st, int64_t id, const struct transfer_options *given,
		     struct supervisor_config *cfg)
{
	struct transfer_options o;
	int rc;

	if ((rc = store_transfer_set_options(st, id, given)) < 0 ||
	    (rc = store_transfer_options(st, id, &o)) < 0)
		return rc;
	if (o.workers > 0) {
		cfg->workers = o.workers;
		cfg->workers_set = true;
	}
	if (o.bwlimit_kib >= 0)
		cfg->bwlimit_kib = (unsigned long)o.bwlimit_kib;
	if (o.retries > 0)
		cfg->max_attempts = o.retries;
	if (o.max_delete >= 0)
		cfg->max_delete = o.max_delete;
	if (o.delete_all_ok >= 0)
		cfg->delete_all_ok = o.delete_all_ok > 0;
	if (o.verify >= 0)
		cfg->verify = o.verify > 0;
	if (o.trust_record >= 0)
		cfg->trust_record = o.trust_record > 0;
	if ((rc = cmd_transfer_preserve(st, id, cfg)) < 0)
		return rc;
	return cmd_transfer_slurm(st, id, cfg);
}

/* Copy s (NULL: none) into buf, for cfg to point at: the store's copy is freed. */
static const char *
slurm_keep(char *buf, const char *s)
{
	if (s == NULL || strlen(s) > SLURM_NAME_MAX)
		return NULL;
	memcpy(buf, s, strlen(s) + 1);
	return buf;
}

int
cmd_transfer_slurm(struct store *st, int64_t id, struct supervisor_config *cfg)
{
	struct transfer_slurm o;
	int rc;

	if ((rc = store_transfer_slurm(st, id, &o)) < 0)
		return rc;
	cfg->nodes = o.nodes;
	cfg->slurm_partition = slurm_keep(cfg->slurm_buf[0], o.partition);
	cfg->slurm_account = slurm_keep(cfg->slurm_buf[1], o.account);
	cfg->slurm_time = slurm_keep(cfg->slurm_buf[2], o.time_limit);
	cfg->slurm_wait = o.wait > 0 ? (unsigned)o.wait : SLURM_WAIT_DEFAULT;
	transfer_slurm_release(&o);
	return SYNC_OK;
}

/*
 * Record the request in state_dir (store_transfer_claim): a new transfer,
 * an earlier one to continue, or the same one already running. Sets *id,
 * *claim and *where (where a running one runs: "" here; caller frees);
 * returns an exit code.
 */
static int
record_transfer(const struct cmd_ctx *ctx, const struct transfer_request *req,
		struct supervisor_config *cfg, const char *state_dir, int64_t parent_id,
		int64_t *id, enum claim_result *claim, char **where)
{
	/* The settings given as flags: a resumed run goes on with them. */
	struct transfer_options given = {
		req->workers_arg ? cfg->workers : -1,
		req->retries_arg ? cfg->max_attempts : -1,
		req->bwlimit_arg ? (long long)cfg->bwlimit_kib : -1,
		/* The guards of deletes are each request's own, never a failed run's. */
		req->max_delete >= 0 ? req->max_delete : OPTION_CLEAR,
		req->delete_all_ok ? 1 : OPTION_CLEAR,
		req->verify ? 1 : OPTION_CLEAR,
		req->trust_record ? 1 : OPTION_CLEAR,
	};
	/* What it asks of Slurm: the flags, else the settings. */
	struct transfer_slurm slurm = {
		req->nodes >= 0 ? req->nodes : cfg->nodes,
		(char *)(req->partition ? req->partition : cfg->slurm_partition),
		(char *)req->account, (char *)req->time_limit, req->slurm_wait,
	};
	struct strbuf w = STRBUF_INIT;
	struct transfer t;
	struct store *st;
	char err[512];

	if (store_open(state_dir, &st, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		return EXIT_FAILED;
	}
	memset(&t, 0, sizeof t);
	/* Other spellings of the same host are the same request. */
	t.far_host = req->s3 ? xasprintf("s3:%s", req->address) :
		     req->hosts.n > 1 ? NULL :
		     supervisor_far_host(cfg, req->user, req->address, req->port, req->key_path);
	t.fanout = (unsigned)req->hosts.n;
	t.parent_id = parent_id;
	t.address = (char *)req->address;
	t.user = (char *)req->user;
	t.port = req->port;
	t.source = req->source;
	t.destination = (char *)req->destination;
	t.key_path = req->key_path;
	t.max_depth = req->max_depth;
	t.mirror = req->mirror;
	t.watch = req->watch;
	t.watch_interval = req->watch ? req->interval : 0;
	/* A comparison by content compares everything: nothing done before counts. */
	t.fresh = req->verify;
	t.filters = req->filters.len ? req->filters.buf : NULL;
	t.filters_len = req->filters.len;
	/* Ours until a supervisor takes it over: a live owner from the start. */
	if (proc_self(&t.supervisor) < 0) {
		cmd_error(ctx, "cannot read our own process: %s", strerror(errno));
		free(t.far_host);
		store_close(st);
		return EXIT_FAILED;
	}
	/* Never resume another node's transfer: it may be running there. */
	if (store_transfer_claim(st, &t, proc_alive_anywhere, claim) < 0) {
		cmd_error(ctx, "cannot record the transfer: %s", store_errmsg(st));
		free(t.far_host);
		free(t.far_destination);
		store_close(st);
		return EXIT_FAILED;
	}
	free(t.far_host);
	free(t.far_destination);
	/*
	 * A transfer continued goes on with what it was given before, unless
	 * given anew. One continued as a host of another request (or alone)
	 * belongs to that one now.
	 */
	if (*claim != CLAIM_RUNNING &&
	    (store_transfer_set_parent(st, t.id, parent_id) < 0 ||
	     store_transfer_set_slurm(st, t.id, &slurm) < 0 ||
	     store_transfer_set_preserve(st, t.id, req->preserve_given ? (int)req->preserve : -1,
					 req->chmod_arg, req->chown_arg) < 0 ||
	     cmd_transfer_options(st, t.id, &given, cfg) < 0 ||
	     store_transfer_set_request(st, t.id, req->notify_url, req->notify_cmd,
					req->interval) < 0)) {
		cmd_error(ctx, "cannot record the transfer: %s", store_errmsg(st));
		store_close(st);
		return EXIT_FAILED;
	}
	*id = t.id;
	if (*claim == CLAIM_RUNNING)
		cmd_where(st, t.id, &w);
	*where = strbuf_detach(&w, NULL);
	store_close(st);
	return EXIT_OK;
}

/*
 * Who feeds whom among the hosts' transfers ids[0..n): with a relay
 * (fanout > 0), the source sends to the first host only, so that its
 * uplink carries each byte once, and host i is fed by host (i - 1) /
 * fanout, in a tree that is wide where the links are the hosts' own;
 * without, the source feeds each. An exit code.
 */
static int
record_relay_tree(const struct cmd_ctx *ctx, const char *state_dir, const int64_t *ids,
		  size_t n, int fanout)
{
	struct store *st = NULL;
	char err[512];
	size_t i;
	int rc = SYNC_OK;

	if (store_open(state_dir, &st, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		return EXIT_FAILED;
	}
	for (i = 0; i < n && rc == SYNC_OK; i++)
		rc = store_transfer_set_feed(st, ids[i], fanout > 0 && i > 0 ?
					     ids[(i - 1) / (size_t)fanout] : 0);
	if (rc < 0)
		cmd_error(ctx, "cannot record the transfer: %s", store_errmsg(st));
	store_close(st);
	return rc < 0 ? EXIT_FAILED : EXIT_OK;
}

/*
 * A transfer to several hosts: the request (req->address, the list) and a
 * transfer of its own for each host, so that every host has its units,
 * state, progress and partial data. A host whose transfer of the same
 * request is already running refuses the whole: two writers never share a
 * destination, and nothing is started. Arguments as record_transfer's.
 */
static int
record_fanout(const struct cmd_ctx *ctx, const struct transfer_request *req,
	      struct supervisor_config *cfg, const char *state_dir, int64_t *id,
	      enum claim_result *claim, char **where)
{
	struct transfer_request one;
	struct transfer *before = NULL;
	int64_t *ids = xcalloc(req->hosts.n, sizeof *ids);
	bool relay = req->relay >= 0 ? req->relay > 0 :
		     cfg->relay_auto ? req->hosts.n >= RELAY_AUTO_HOSTS : cfg->relay;
	struct store *st = NULL;
	size_t nbefore = 0, i, k;
	char err[512];
	int code;

	if ((code = record_transfer(ctx, req, cfg, state_dir, 0, id, claim, where)) != EXIT_OK ||
	    *claim == CLAIM_RUNNING) {
		free(ids);
		return code;
	}
	/* Asked again after it failed: a host done before stays done, the others go on. */
	if (*claim == CLAIM_RESUMED) {
		if (store_open(state_dir, &st, err, sizeof err) < 0 ||
		    store_transfer_children(st, *id, &before, &nbefore) < 0) {
			cmd_error(ctx, "cannot record the transfer: %s",
				  st ? store_errmsg(st) : err);
			code = EXIT_FAILED;
		}
		store_close(st);
		st = NULL;
	}
	for (i = 0; i < req->hosts.n && code == EXIT_OK; i++) {
		enum claim_result host_claim;
		char *host_where = NULL;
		int64_t host_id;

		for (k = 0; k < nbefore && !ids[i]; k++) {
			const struct host *h = &req->hosts.v[i];

			if (before[k].state == TRANSFER_DONE && before[k].port == h->port &&
			    strcmp(before[k].address, h->address) == 0)
				ids[i] = before[k].id;
		}
		if (ids[i])
			continue;
		one = *req;
		one.address = req->hosts.v[i].address;
		one.port = req->hosts.v[i].port;
		memset(&one.hosts, 0, sizeof one.hosts);
		if ((code = record_transfer(ctx, &one, cfg, state_dir, *id, &host_id,
					    &host_claim, &host_where)) != EXIT_OK)
			break;
		if (host_claim == CLAIM_RUNNING) {
			/* Two spellings of one host claim the same transfer. */
			for (k = 0; k < i && ids[k] != host_id; k++)
				;
			if (k < i)
				cmd_error(ctx, "host '%s' is given twice (as '%s')", one.address,
					  req->hosts.v[k].address);
			else
				cmd_error(ctx, "the same transfer to %s is already running as "
					  "transfer %lld%s", one.address, (long long)host_id,
					  host_where);
			code = EXIT_FAILED;
		} else {
			ids[i] = host_id;
		}
		free(host_where);
	}
	if (code == EXIT_OK)
		code = record_relay_tree(ctx, state_dir, ids, req->hosts.n,
					 relay ? cfg->relay_fanout : 0);
	/*
	 * Never started: the request and the hosts' transfers recorded for it
	 * are failed (those done before stay done), so that it can come again.
	 */
	if (code != EXIT_OK && store_open(state_dir, &st, err, sizeof err) == SYNC_OK) {
		for (i = 0; i < req->hosts.n; i++)
			if (ids[i])
				store_transfer_finish_orphan(st, ids[i], &cfg->owner,
							     TRANSFER_FAILED,
							     "its request could not be recorded");
		store_transfer_finish_orphan(st, *id, &cfg->owner, TRANSFER_FAILED,
					     "a host's transfer could not be recorded");
		store_close(st);
	}
	for (k = 0; k < nbefore; k++)
		transfer_release(&before[k]);
	free(before);
	free(ids);
	return code;
}

int
cmd_prepare_transfer(struct cmd_ctx *ctx, const struct cmd_entry *e, int argc, char **argv,
		     struct transfer_request *req, struct supervisor_config *cfg,
		     struct ssh_master *early, char **state_dir, bool *done)
{
	enum claim_result claim;
	char *where = NULL;
	struct settings *st;
	char err[512];
	int64_t id;
	int code;

	*state_dir = NULL;
	code = cmd_parse_transfer(ctx, e, argc, argv, req, done);
	if (*done)
		return code;
	*done = true;
	if (req->check && !req->s3)
		return cmd_check_login(ctx, req);
	/* Flags win over every other source of a setting. */
	st = cmd_settings(ctx);
	if ((req->endpoint_arg && settings_set_flag(st, SETTING_S3_ENDPOINT, "--endpoint",
						    req->endpoint_arg, err, sizeof err) < 0) ||
	    (req->region_arg && settings_set_flag(st, SETTING_S3_REGION, "--region",
						  req->region_arg, err, sizeof err) < 0) ||
	    (req->workers_arg && settings_set_flag(st, SETTING_WORKERS, "--workers",
						   req->workers_arg, err, sizeof err) < 0) ||
	    (req->retries_arg && settings_set_flag(st, SETTING_RETRIES, "--retries",
						   req->retries_arg, err, sizeof err) < 0) ||
	    (req->bwlimit_arg && settings_set_flag(st, SETTING_BWLIMIT, "--bwlimit",
						   req->bwlimit_arg, err, sizeof err) < 0) ||
	    supervisor_config_from_settings(cfg, st, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		return EXIT_USAGE;
	}
	if (req->check)
		return cmd_s3_check(ctx, req, cfg);
	if (req->s3 && (code = cmd_s3_prepare(ctx, req, cfg)) != EXIT_OK)
		return code;
	*state_dir = cmd_state_dir(ctx);
	/* The early connection may keep its socket there (ssh_socket_dir). */
	cfg->state_dir = *state_dir;
	if (!req->s3 && *req->key_path &&
	    keycheck_loads(req->key_path, *state_dir, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		return EXIT_USAGE;
	}
	/* Nothing recorded, nothing started: what would change, said here. */
	if (req->dry_run)
		return cmd_dry_run(ctx, req, cfg);
	/* Through Slurm: srun here, and the partition there, before anything is recorded. */
	if ((req->nodes > 0 || (req->nodes < 0 && cfg->nodes > 0)) && !req->s3 &&
	    slurm_check(req->partition ? req->partition : cfg->slurm_partition, err,
			sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		return EXIT_USAGE;
	}
	/*
	 * A request that is refused never connects. Once it is accepted, the
	 * handshake (0.1 s and more) goes on while the transfer is recorded
	 * and the source walked. Where ssh cannot start here, the supervisor
	 * tries again, and records why it cannot.
	 */
	if (early && !req->s3 && req->hosts.n <= 1)
		supervisor_connect_early(cfg, req->user, req->address, req->port, req->key_path,
					 early, err, sizeof err);
	cfg->early = early;
	if ((code = req->hosts.n > 1 ?
		    record_fanout(ctx, req, cfg, *state_dir, &id, &claim, &where) :
		    record_transfer(ctx, req, cfg, *state_dir, 0, &id, &claim, &where)) != EXIT_OK)
		return code;
	if (claim != CLAIM_RUNNING)
		free(where);
	if (claim == CLAIM_RUNNING && ctx->running_fails) {
		/* verify --repair: what it compares is moving; nothing was repaired. */
		cmd_error(ctx, "the same transfer is running as transfer %lld%s: verify it once "
			  "it has ended", (long long)id, where);
		free(where);
		return EXIT_FAILED;
	}
	if (claim == CLAIM_RUNNING) {
		/* Never two writers into one destination: report the one running. */
		if (ctx->verbosity >= 0)
			cmd_error(ctx, "the same transfer is already running as transfer %lld%s",
				  (long long)id, where);
		free(where);
		if (!ctx->legacy)
			printf("%lld\n", (long long)id);
		return cmd_finish_stdout(ctx, EXIT_OK);
	}
	if (claim == CLAIM_RESUMED && ctx->verbosity > 0)
		cmd_error(ctx, "continuing transfer %lld", (long long)id);
	cfg->transfer_id = id;
	cfg->state_dir = *state_dir;
	*done = false;
	return EXIT_OK;
}

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

/*
 * The closing summary for a person. Files, over the transfer's whole life:
 * sent (data moved, empty files included), skipped (found up to date, or
 * with no data to move: links), failed (in parts that failed), and not sent
 * (parts never reached: stopped, or after a failure). Bytes, the time and
 * the rate: this run's.
 */
static void
print_summary(const struct cmd_ctx *ctx, struct store *st, int64_t id,
	      const struct run_start *start)
{
	struct strbuf sb = STRBUF_INIT;
	struct transfer_sizes sz;
	struct transfer t;
	uint64_t skipped, left, bytes;
	double elapsed = now_monotonic() - start->when;

	if (ctx->verbosity < 0 || store_transfer_get(st, id, &t) < 0)
		return;
	if (store_transfer_sizes(st, id, &sz) < 0)
		memset(&sz, 0, sizeof sz);
	skipped = sz.files_settled > t.files_done ? sz.files_settled - t.files_done : 0;
	left = sz.files_total > sz.files_settled + sz.files_failed ?
	       sz.files_total - sz.files_settled - sz.files_failed : 0;
	bytes = t.bytes_done > start->bytes_done ? t.bytes_done - start->bytes_done : 0;
	strbuf_addf(&sb, "transfer %lld %s: ", (long long)id, transfer_state_name(t.state));
	fmt_thousands(&sb, t.files_done);
	strbuf_addstr(&sb, " files sent, ");
	fmt_thousands(&sb, skipped);
	strbuf_addstr(&sb, " skipped, ");
	fmt_thousands(&sb, sz.files_failed);
	strbuf_addstr(&sb, " failed");
	/* What the comparison by content found, and sent again. */
	if (start->verify) {
		strbuf_addstr(&sb, ", ");
		fmt_thousands(&sb, t.updated - start->updated);
		strbuf_addstr(&sb, " differed by content, ");
		fmt_thousands(&sb, t.created - start->created);
		strbuf_addstr(&sb, " missing");
	}
	if (left > 0) {
		strbuf_addstr(&sb, ", ");
		fmt_thousands(&sb, left);
		strbuf_addstr(&sb, " not sent");
	}
	strbuf_addstr(&sb, "; ");
	fmt_bytes_human(&sb, bytes);
	strbuf_addf(&sb, " in %.1f s", elapsed);
	if (elapsed > 0) {
		strbuf_addstr(&sb, ", ");
		fmt_bytes_human(&sb, (uint64_t)((double)bytes / elapsed));
		strbuf_addstr(&sb, "/s");
	}
	if (start->bytes_done > 0)
		strbuf_addstr(&sb, " (this run)");
	if (t.error) {
		/* Recorded already escaped: only make sure it is valid UTF-8. */
		strbuf_addstr(&sb, ": ");
		display_path(&sb, t.error);
	}
	fprintf(stderr, "%s: %s\n", ctx->prog, sb.buf);
	strbuf_release(&sb);
	transfer_release(&t);
}

/* After the summary of a request to several hosts: a line for each host. */
static void
print_hosts(const struct cmd_ctx *ctx, struct store *st, int64_t id)
{
	struct transfer *hosts;
	size_t n, i;

	if (ctx->verbosity < 0 || store_transfer_children(st, id, &hosts, &n) < 0)
		return;
	for (i = 0; i < n; i++) {
		struct strbuf sb = STRBUF_INIT;
		const struct transfer *h = &hosts[i];

		strbuf_addf(&sb, "  %s (transfer %lld): %s, ", h->address, (long long)h->id,
			    transfer_state_name(h->state));
		fmt_thousands(&sb, h->files_done);
		strbuf_addstr(&sb, " files sent, ");
		fmt_bytes_human(&sb, h->bytes_done);
		if (h->error) {
			strbuf_addstr(&sb, ": ");
			display_path(&sb, h->error);
		}
		fprintf(stderr, "%s\n", sb.buf);
		strbuf_release(&sb);
		transfer_release(&hosts[i]);
	}
	free(hosts);
}

int
cmd_run_foreground(const struct cmd_ctx *ctx, const char *state_dir,
		   struct supervisor_config *cfg)
{
	enum transfer_state final = TRANSFER_FAILED;
	struct store *st = NULL;
	struct run_start start;
	char err[512];
	int code;

	/* As a detached supervisor does (cmd-start.c): the request is ours alone. */
	proctitle_set("scow-sync: transfer %lld", (long long)cfg->transfer_id);
	if (store_open(state_dir, &st, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		code = EXIT_FAILED;
		goto out;
	}
	log_open(state_dir);
	log_set_rotate_bytes(cfg->log_rotate_bytes);
	/* -v: every event, each unit done by name included. */
	log_set_echo(ctx->verbosity > 0 ? LOG_DEBUG : ctx->verbosity < 0 ? LOG_ERROR : LOG_WARN);
	if (ctx->verbosity > 0)
		log_set_file_level(LOG_DEBUG);
	cfg->progress_display = ctx->verbosity >= 0 && isatty(STDERR_FILENO);
	start.when = now_monotonic();
	start.bytes_done = start.created = start.updated = 0;
	start.verify = cfg->verify;
	{
		struct transfer before;

		if (store_transfer_get(st, cfg->transfer_id, &before) == 0) {
			start.bytes_done = before.bytes_done;
			start.created = before.created;
			start.updated = before.updated;
			transfer_release(&before);
		}
	}
	if (supervisor_run(st, cfg, &final) < 0) {
		cmd_error(ctx, "%s", store_errmsg(st));
		code = EXIT_FAILED;
		goto out;
	}
	print_summary(ctx, st, cfg->transfer_id, &start);
	print_hosts(ctx, st, cfg->transfer_id);
	code = final == TRANSFER_DONE ? EXIT_OK :
	       final == TRANSFER_TERMINATED || final == TRANSFER_INTERRUPTED ? EXIT_STOPPED :
	       EXIT_FAILED;
out:
	store_close(st);
	log_close();
	return code;
}
