/* run: the same transfer as start, in the foreground. */
#include "config.h"

#include <stdlib.h>

#include "cmd.h"
#include "cmd-transfer.h"
#include "operands.h"
#include "options.h"
#include "proctitle.h"
#include "supervisor.h"
#include "util.h"

static const char usage[] =
	"usage: scow-sync [run] -a HOST -u USER -s SOURCE -d DEST [-m DEPTH] [-p PORT] [-k KEY]\n"
	"       scow-sync run [FLAG...] SOURCE... [USER@]HOST:DEST\n"
	"\n"
	"Move SOURCE (a file or directory) to DEST/basename(SOURCE) on HOST and wait\n"
	"for the end, showing progress on a terminal. Ctrl-C stops the transfer.\n"
	"With -v every event is shown as it happens. Several SOURCEs move one after\n"
	"the other, each a transfer of its own.\n";

/* One transfer, argv in the flags' form. */
static int
run_one(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct transfer_request req;
	struct supervisor_config cfg;
	struct ssh_master early = SSH_MASTER_INIT;
	char *state_dir = NULL;
	bool done;
	int code;

	code = cmd_prepare_transfer(ctx, &cmd_run_entry, argc, argv, &req, &cfg, &early,
				    &state_dir, &done);
	if (!done)
		code = cmd_run_foreground(ctx, state_dir, &cfg);
	ssh_master_release(&early);
	free(state_dir);
	transfer_request_release(&req);
	return code;
}

static int
cmd_run_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct strvec *each;
	size_t n, i;
	char err[1024];
	int code = EXIT_OK, one;

	/*
	 * Before any child is started: one forked now shows our arguments
	 * until it execs, under what by then is a supervisor's title.
	 */
	proctitle_set("scow-sync: run");
	if (operands_expand(argc, argv, transfer_flags, &each, &n, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		return EXIT_USAGE;
	}
	if (n == 0)
		return run_one(argc, argv, ctx);
	/*
	 * Each source a transfer of its own, as scp goes on after one that
	 * failed; the worst outcome is the exit code, and a stop stops all.
	 */
	for (i = 0; i < n; i++) {
		if (code != EXIT_STOPPED) {
			one = run_one((int)each[i].nr, each[i].v, ctx);
			if (one != EXIT_OK && (code == EXIT_OK || one == EXIT_STOPPED ||
					       one == EXIT_USAGE))
				code = one;
		}
		strvec_clear(&each[i]);
	}
	free(each);
	return code;
}

const struct cmd_entry cmd_run_entry = {
	"run", "run a transfer in the foreground", usage, transfer_flags,
	cmd_run_exec,
};
