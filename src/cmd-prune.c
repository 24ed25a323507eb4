/* prune: forget old history. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "cmd-options.h"
#include "store.h"
#include "util.h"

static const char usage[] =
	"usage: scow-sync prune --older-than DAYS\n"
	"\n"
	"Remove from the history the transfers that ended (done, failed or\n"
	"terminated) more than DAYS days ago, and compact the database. Interrupted\n"
	"transfers stay (they can be resumed), and so does a stopped transfer whose\n"
	"partial data on the far side could not be removed yet, and the newest\n"
	"transfer (so that no id is ever given out twice). Prints how many\n"
	"were removed (nothing with -q).\n";

enum { OPT_OLDER_THAN = CMD_OPT_OWN };

static const struct cmd_option options[] = {
	{ OPT_OLDER_THAN, "older-than", "DAYS", "a whole number of days, 0 for everything ended" },
	CMD_OPTIONS_COMMON,
	CMD_OPTIONS_END,
};

static int
cmd_prune_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	unsigned long long days = 0;
	bool have_days = false;
	struct store *st = NULL;
	struct cmd_getopt g;
	uint64_t n = 0;
	int c, code = EXIT_FAILED;

	opterr = 0;
	optind = 0;   /* afresh, whatever parsed before (see options.c) */
	cmd_getopt_init(&g, "+:", options);
	while ((c = getopt_long(argc, argv, g.shortopts, g.longopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			ctx->verbosity++;
			break;
		case 'q':
			ctx->verbosity--;
			break;
		case OPT_OLDER_THAN:
			if (parse_ullong(optarg, 0, 1000000, &days) < 0) {
				cmd_error(ctx, "invalid number of days '%s'", optarg);
				return EXIT_USAGE;
			}
			have_days = true;
			break;
		case 'h':
			return cmd_print_usage(ctx, &cmd_prune_entry);
		case CMD_OPT_VERSION:
			return cmd_print_version(ctx);
		default:
			return cmd_option_error(ctx, c, argv);
		}
	}
	if (optind < argc) {
		cmd_error(ctx, "unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	/* Forgetting is not undone: say how far back, every time. */
	if (!have_days) {
		cmd_error(ctx, "say how old: --older-than DAYS");
		return EXIT_USAGE;
	}
	if (cmd_open_store_if_any(ctx, &st) < 0)
		goto out;
	/* Give the space back too: the file is the user's, on their quota. */
	if (st != NULL &&
	    (store_prune(st, (int64_t)time(NULL) - (int64_t)days * 86400, 1, &n) < 0 ||
	     (n > 0 && store_compact(st) < 0))) {
		cmd_error(ctx, "%s", store_errmsg(st));
		goto out;
	}
	if (ctx->verbosity >= 0)
		printf("removed %llu transfer%s\n", (unsigned long long)n, n == 1 ? "" : "s");
	code = cmd_finish_stdout(ctx, EXIT_OK);
out:
	store_close(st);
	return code;
}

const struct cmd_entry cmd_prune_entry = {
	"prune", "remove old transfers from the history", usage, options, cmd_prune_exec,
};
