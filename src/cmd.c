/* cmd: what every command shares: messages, stdout, the transfer flags. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cmd.h"
#include "cmd-options.h"
#include "keycheck.h"
#include "options.h"
#include "proc.h"
#include "settings.h"
#include "store.h"
#include "supervisor.h"
#include "util.h"

void
cmd_error(const struct cmd_ctx *ctx, const char *fmt, ...)
{
	struct strbuf line = STRBUF_INIT, msg = STRBUF_INIT;
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	strbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	/* One write: lines of processes sharing a stderr never interleave. */
	strbuf_addf(&line, "%s: ", ctx->prog);
	/* One line, whatever bytes the paths quoted in it hold. */
	escape_line(&line, msg.buf, msg.len);
	strbuf_addch(&line, '\n');
	(void)!write(STDERR_FILENO, line.buf, line.len);
	strbuf_release(&line);
	strbuf_release(&msg);
}

/* Has the reader of stdout gone (a pipe into head that has what it wanted)? */
static bool
stdout_reader_gone(void)
{
	struct pollfd pfd = { .fd = STDOUT_FILENO, .events = POLLOUT };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLERR);
}

int
cmd_finish_stdout(const struct cmd_ctx *ctx, int code)
{
	/*
	 * A full disk or a closed pipe must not pass for success; a reader
	 * that stopped reading (| head) knows it did, and is not told.
	 */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE && !stdout_reader_gone())
			cmd_error(ctx, "cannot write output: %s", strerror(errno));
		return EXIT_FAILED;
	}
	return code;
}

int
cmd_print_usage(const struct cmd_ctx *ctx, const struct cmd_entry *e)
{
	struct strbuf help = STRBUF_INIT;

	strbuf_addf(&help, "%s\n", e->usage);
	cmd_options_help(&help, e->options);
	fwrite(help.buf, 1, help.len, stdout);
	strbuf_release(&help);
	return cmd_finish_stdout(ctx, EXIT_OK);
}

static struct settings settings;
static bool settings_loaded;
static char settings_problem[1024];

struct settings *
cmd_settings_with_problem(const struct cmd_ctx *ctx, const char **problem)
{
	(void)ctx;
	if (!settings_loaded) {
		if (settings_load(&settings, settings_problem, sizeof settings_problem) == 0)
			settings_problem[0] = '\0';
		settings_loaded = true;
	}
	*problem = settings_problem[0] ? settings_problem : NULL;
	return &settings;
}

struct settings *
cmd_settings(const struct cmd_ctx *ctx)
{
	static bool said;
	const char *problem;
	struct settings *st = cmd_settings_with_problem(ctx, &problem);

	if (problem && !ctx->legacy) {
		cmd_error(ctx, "%s", problem);
		exit(EXIT_USAGE);
	}
	if (problem && !said) {
		cmd_error(ctx, "ignoring a bad setting: %s", problem);
		said = true;
	}
	return st;
}

char *
cmd_state_dir(const struct cmd_ctx *ctx)
{
	return settings_state_dir(cmd_settings(ctx));
}

int
cmd_open_store_if_any(const struct cmd_ctx *ctx, struct store **st)
{
	char *dir = cmd_state_dir(ctx), *db = xasprintf("%s/scow-sync.db", dir);
	char err[512];
	struct stat sb;
	int rc = 0;

	*st = NULL;
	if (stat(db, &sb) < 0) {
		/* Missing is "nothing yet"; there and unreadable is an error (as for query). */
		if (errno != ENOENT && errno != ENOTDIR) {
			cmd_error(ctx, "cannot read state database '%s': %s", db, strerror(errno));
			rc = -1;
		}
	} else if (store_open(dir, st, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		rc = -1;
	}
	free(dir);
	free(db);
	return rc;
}

void
cmd_where(struct store *st, int64_t id, struct strbuf *out)
{
	struct transfer t;

	strbuf_reset(out);
	if (store_transfer_get(st, id, &t) < 0)
		return;
	if (proc_elsewhere(&t.supervisor))
		strbuf_addf(out, " on node %s (process %ld there)",
			    t.supervisor.node.host[0] ? t.supervisor.node.host : "(unnamed)",
			    (long)t.supervisor.pid);
	transfer_release(&t);
}

int
cmd_option_error(const struct cmd_ctx *ctx, int c, char **argv)
{
	if (c == ':')
		cmd_error(ctx, "option '%s' needs a value", argv[optind - 1]);
	else
		cmd_error(ctx, "unknown option '%s'", argv[optind - 1]);
	return EXIT_USAGE;
}

int
cmd_print_version(const struct cmd_ctx *ctx)
{
	printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
	return cmd_finish_stdout(ctx, EXIT_OK);
}

int
cmd_parse_transfer(const struct cmd_ctx *ctx, const struct cmd_entry *e, int argc,
		   char **argv, struct transfer_request *req, bool *done)
{
	struct cmd_ctx *mctx = (struct cmd_ctx *)ctx;
	char err[1024];

	*done = true;
	switch (options_parse_transfer(argc, argv, req, &mctx->verbosity, err, sizeof err)) {
	case OPTIONS_HELP:
		return cmd_print_usage(ctx, e);
	case OPTIONS_VERSION:
		return cmd_print_version(ctx);
	case OPTIONS_ERROR:
		cmd_error(ctx, "%s", err);
		return EXIT_USAGE;
	default:
		break;
	}
	if (options_validate_transfer(req, !req->check, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		transfer_request_release(req);
		return EXIT_USAGE;
	}
	*done = false;
	return EXIT_OK;
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
		struct supervisor_config *cfg, const char *state_dir, int64_t *id,
		enum claim_result *claim, char **where)
{
	/* The settings given as flags: a resumed run goes on with them. */
	struct transfer_options given = {
		req->workers_arg ? cfg->workers : -1,
		req->retries_arg ? cfg->max_attempts : -1,
		req->bwlimit_arg ? (long long)cfg->bwlimit_kib : -1,
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
	t.far_host = supervisor_far_host(cfg, req->user, req->address, req->port, req->key_path);
	t.address = (char *)req->address;
	t.user = (char *)req->user;
	t.port = req->port;
	t.source = req->source;
	t.destination = (char *)req->destination;
	t.key_path = req->key_path;
	t.max_depth = req->max_depth;
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
	/* A transfer continued goes on with what it was given before, unless given anew. */
	if (*claim != CLAIM_RUNNING && cmd_transfer_options(st, t.id, &given, cfg) < 0) {
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
	if (req->check)
		return cmd_check_login(ctx, req);
	/* Flags win over every other source of a setting. */
	st = cmd_settings(ctx);
	if ((req->workers_arg && settings_set_flag(st, SETTING_WORKERS, "--workers",
						   req->workers_arg, err, sizeof err) < 0) ||
	    (req->retries_arg && settings_set_flag(st, SETTING_RETRIES, "--retries",
						   req->retries_arg, err, sizeof err) < 0) ||
	    (req->bwlimit_arg && settings_set_flag(st, SETTING_BWLIMIT, "--bwlimit",
						   req->bwlimit_arg, err, sizeof err) < 0) ||
	    supervisor_config_from_settings(cfg, st, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		return EXIT_USAGE;
	}
	*state_dir = cmd_state_dir(ctx);
	/* The early connection may keep its socket there (ssh_socket_dir). */
	cfg->state_dir = *state_dir;
	if (keycheck_loads(req->key_path, *state_dir, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		return EXIT_USAGE;
	}
	/*
	 * A request that is refused never connects. Once it is accepted, the
	 * handshake (0.1 s and more) goes on while the transfer is recorded
	 * and the source walked. Where ssh cannot start here, the supervisor
	 * tries again, and records why it cannot.
	 */
	if (early)
		supervisor_connect_early(cfg, req->user, req->address, req->port, req->key_path,
					 early, err, sizeof err);
	cfg->early = early;
	if ((code = record_transfer(ctx, req, cfg, *state_dir, &id, &claim, &where)) != EXIT_OK)
		return code;
	if (claim != CLAIM_RUNNING)
		free(where);
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
