/* run: the same transfer as start, in the foreground. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "log.h"
#include "options.h"
#include "format.h"
#include "proctitle.h"
#include "store.h"
#include "supervisor.h"
#include "util.h"

static const char usage[] =
	"usage: scow-sync [run] -a HOST -u USER -s SOURCE -d DEST [-m DEPTH] [-p PORT] [-k KEY]\n"
	"\n"
	"Move SOURCE (a file or directory) to DEST/basename(SOURCE) on HOST and wait\n"
	"for the end, showing progress on a terminal. Ctrl-C stops the transfer.\n"
	"With -v every event is shown as it happens.\n";

/* Where a transfer stood before this run: a resumed one has sent some already. */
struct run_start {
	double when;
	uint64_t bytes_done;
};

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
	start.bytes_done = 0;
	{
		struct transfer before;

		if (store_transfer_get(st, cfg->transfer_id, &before) == 0) {
			start.bytes_done = before.bytes_done;
			transfer_release(&before);
		}
	}
	if (supervisor_run(st, cfg, &final) < 0) {
		cmd_error(ctx, "%s", store_errmsg(st));
		code = EXIT_FAILED;
		goto out;
	}
	print_summary(ctx, st, cfg->transfer_id, &start);
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
	struct ssh_master early = SSH_MASTER_INIT;
	char *state_dir = NULL;
	bool done;
	int code;

	/*
	 * Before any child is started: one forked now shows our arguments
	 * until it execs, under what by then is a supervisor's title.
	 */
	proctitle_set("scow-sync: run");
	code = cmd_prepare_transfer(ctx, &cmd_run_entry, argc, argv, &req, &cfg, &early,
				    &state_dir, &done);
	if (!done)
		code = cmd_run_foreground(ctx, state_dir, &cfg);
	ssh_master_release(&early);
	free(state_dir);
	transfer_request_release(&req);
	return code;
}

const struct cmd_entry cmd_run_entry = {
	"run", "run a transfer in the foreground", usage, transfer_flags,
	cmd_run_exec,
};
