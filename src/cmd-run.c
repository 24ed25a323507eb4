/* run: the same transfer as start, in the foreground. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "log.h"
#include "options.h"
#include "output.h"
#include "store.h"
#include "supervisor.h"
#include "util.h"

static const char usage[] =
	"usage: scow-sync [run] -a HOST -u USER -s SOURCE -d DEST [-m DEPTH] [-p PORT] [-k KEY]\n"
	"\n"
	"Move SOURCE (a file or directory) to DEST/basename(SOURCE) on HOST and wait\n"
	"for the end, showing progress on a terminal. Ctrl-C stops the transfer.\n"
	"\n"
	"  -a, --address HOST      remote host\n"
	"  -u, --user USER         remote user (default: your user name)\n"
	"  -s, --source PATH       local file or directory\n"
	"  -d, --destination DIR   remote directory (created if missing)\n"
	"  -m, --max-depth N       move entries above depth N separately (default 2)\n"
	"  -p, --port N            ssh port (default 22)\n"
	"  -k, --sshkey-path KEY   private key (default ~/scow/.scow-sync-ssh/id_rsa)\n"
	"  -c, --check             print true or false: does key login work?\n"
	"  -v, --verbose           show every event\n"
	"  -q, --quiet             show only errors\n"
	"  -h, --help              show this help\n"
	"      --version           show the version\n";

/* Print the closing summary for a person. */
static void
print_summary(const struct cmd_ctx *ctx, struct store *st, int64_t id)
{
	struct strbuf sb = STRBUF_INIT;
	struct transfer t;
	int64_t elapsed;

	if (ctx->verbosity < 0 || store_transfer_get(st, id, &t) < 0)
		return;
	elapsed = t.finished_at > t.started_at ? t.finished_at - t.started_at : 0;
	strbuf_addf(&sb, "transfer %lld %s: %llu files, ", (long long)id,
		    transfer_state_name(t.state), (unsigned long long)t.files_done);
	fmt_bytes_human(&sb, t.bytes_done);
	strbuf_addf(&sb, " in %lld s", (long long)elapsed);
	if (elapsed > 0) {
		strbuf_addstr(&sb, ", ");
		fmt_rate(&sb, (double)t.bytes_done / (double)elapsed);
	}
	if (t.error) {
		strbuf_addstr(&sb, ": ");
		strbuf_addstr(&sb, t.error);
	}
	fprintf(stderr, "%s: %s\n", ctx->prog, sb.buf);
	strbuf_release(&sb);
	transfer_release(&t);
}

int
cmd_run_foreground(const struct cmd_ctx *ctx, const char *state_dir,
		   struct supervisor_config *cfg)
{
	enum transfer_state final = TRANSFER_FAILED;
	struct store *st = NULL;
	char err[512];
	int code;

	if (store_open(state_dir, &st, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		code = EXIT_FAILED;
		goto out;
	}
	log_open(state_dir);
	log_set_echo(ctx->verbosity > 0 ? LOG_INFO : ctx->verbosity < 0 ? LOG_ERROR : LOG_WARN);
	cfg->progress_display = ctx->verbosity >= 0 && isatty(STDERR_FILENO);
	if (supervisor_run(st, cfg, &final) < 0) {
		cmd_error(ctx, "%s", store_errmsg(st));
		code = EXIT_FAILED;
		goto out;
	}
	print_summary(ctx, st, cfg->transfer_id);
	code = final == TRANSFER_DONE ? EXIT_OK :
	       final == TRANSFER_TERMINATED || final == TRANSFER_INTERRUPTED ? EXIT_STOPPED :
	       EXIT_FAILED;
out:
	store_close(st);
	log_close();
	return code;
}

static int
cmd_run_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct transfer_request req;
	struct supervisor_config cfg;
	char *state_dir = NULL;
	bool done;
	int code;

	code = cmd_prepare_transfer(ctx, &cmd_run_entry, argc, argv, &req, &cfg,
				    &state_dir, &done);
	if (!done)
		code = cmd_run_foreground(ctx, state_dir, &cfg);
	free(state_dir);
	transfer_request_release(&req);
	return code;
}

const struct cmd_entry cmd_run_entry = {
	"run", "run a transfer in the foreground", usage, transfer_option_names,
	cmd_run_exec,
};
