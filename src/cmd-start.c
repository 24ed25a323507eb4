/* start: record a transfer and run it in a detached supervisor. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "cmd-transfer.h"
#include "options.h"
#include "proctitle.h"
#include "supervisor.h"
#include "util.h"

static const char usage[] =
	"usage: scow-sync-start -a HOST -u USER -s SOURCE -d DEST [-m DEPTH] [-p PORT] [-k KEY]\n"
	"       scow-sync-start -a HOST -u USER [-p PORT] [-k KEY] -c\n"
	"\n"
	"Start moving SOURCE (a file or directory) to DEST/basename(SOURCE) on HOST\n"
	"in the background, and return as soon as the transfer is recorded.\n";

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
