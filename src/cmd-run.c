/* run: the same transfer as start, in the foreground. */
#include "config.h"

#include <stdlib.h>

#include "cmd.h"
#include "cmd-transfer.h"
#include "options.h"
#include "proctitle.h"
#include "supervisor.h"
#include "util.h"

static const char usage[] =
	"usage: scow-sync [run] -a HOST -u USER -s SOURCE -d DEST [-m DEPTH] [-p PORT] [-k KEY]\n"
	"\n"
	"Move SOURCE (a file or directory) to DEST/basename(SOURCE) on HOST and wait\n"
	"for the end, showing progress on a terminal. Ctrl-C stops the transfer.\n"
	"With -v every event is shown as it happens.\n";

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
