/* cmd: what every command shares: messages, stdout, settings, the store, options. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cmd.h"
#include "cmd-options.h"
#include "rsync.h"
#include "settings.h"
#include "store.h"
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
cmd_ssh_target(struct ssh_target *t)
{
	const char *prog = getenv("SCOW_SYNC_SSH"), *config = getenv("SCOW_SYNC_SSH_CONFIG");

	memset(t, 0, sizeof *t);
	t->program = prog && *prog ? prog : "ssh";
	t->ssh_config = config && *config ? config : NULL;
}

int
cmd_open_transfer(const struct cmd_ctx *ctx, int64_t id, struct store **st, struct transfer *t)
{
	char *dir = cmd_state_dir(ctx), err[512];
	int rc = store_open(dir, st, err, sizeof err);

	free(dir);
	if (rc < 0) {
		cmd_error(ctx, "%s", err);
		return EXIT_FAILED;
	}
	if ((rc = store_transfer_get(*st, id, t)) == SYNC_OK)
		return EXIT_OK;
	if (rc == SYNC_ERR_NOT_FOUND)
		cmd_error(ctx, "no transfer %lld", (long long)id);
	else
		cmd_error(ctx, "cannot read transfer %lld: %s", (long long)id, store_errmsg(*st));
	store_close(*st);
	*st = NULL;
	return rc == SYNC_ERR_NOT_FOUND ? EXIT_NOMATCH : EXIT_FAILED;
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
