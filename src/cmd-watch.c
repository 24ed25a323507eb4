/* watch: keep a directory in sync until stopped (see supervisor_watch). */
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
	"usage: scow-sync watch -a HOST -u USER -s SOURCE -d DEST [--delete] [--interval SEC]\n"
	"                       [--exclude PATTERN]... [--detach] [options of run]\n"
	"\n"
	"Keep DEST/basename(SOURCE) on HOST in sync with SOURCE until stopped: a\n"
	"full sync first, then every change inotify reports (a cycle 2 s after the\n"
	"last event, 30 s after the first at the latest), and the whole tree compared\n"
	"every --interval seconds. In the foreground unless --detach; terminate --id\n"
	"ID stops it, status and query --json show it as watching.\n";

static int
cmd_watch_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct transfer_request req;
	struct supervisor_config cfg;
	char *state_dir = NULL;
	bool done;
	int code;

	proctitle_set("scow-sync: watch");
	code = cmd_prepare_transfer(ctx, &cmd_watch_entry, argc, argv, &req, &cfg, NULL,
				    &state_dir, &done);
	if (done)
		goto out;
	if (!req.detach) {
		code = cmd_run_foreground(ctx, state_dir, &cfg);
		goto out;
	}
	if ((code = cmd_detach_supervisor(ctx, state_dir, &cfg)) != EXIT_OK)
		goto out;
	printf("%lld\n", (long long)cfg.transfer_id);
	code = cmd_finish_stdout(ctx, EXIT_OK);
out:
	free(state_dir);
	transfer_request_release(&req);
	return code;
}

const struct cmd_entry cmd_watch_entry = {
	"watch", "keep a directory in sync until stopped", usage, watch_flags,
	cmd_watch_exec,
};
