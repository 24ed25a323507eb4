/* status: the transfers as a table for people. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "cmd-options.h"
#include "history.h"
#include "report.h"
#include "store.h"
#include "util.h"

static const char usage[] =
	"usage: scow-sync status [--id ID] [--state LIST] [--since WHEN] [--all]\n"
	"\n"
	"Show the transfers as a table, newest first: id, state, percent done,\n"
	"size, rate (now while running, else the average), time left, and what\n"
	"goes where; below a failed one, why. By default the transfers not ended\n"
	"and those that ended in the last 24 hours. The table fits the terminal\n"
	"(80 columns when the output is not one; COLUMNS sets it).\n";

static const struct cmd_option options[] = {
	CMD_OPTIONS_HISTORY,
	CMD_OPTIONS_COMMON,
	CMD_OPTIONS_END,
};

#define STATUS_MIN_WIDTH 64   /* the header's */

struct table {
	struct strbuf out;
	int width;
	size_t rows;
};

static int
add_row(const struct history_entry *e, void *ctx)
{
	struct table *tb = ctx;

	status_table_row(&tb->out, e, tb->width);
	tb->rows++;
	return 0;
}

/* The terminal's width, COLUMNS when set, else 80. */
static int
output_width(void)
{
	const char *env = getenv("COLUMNS");
	struct winsize ws;
	int w = 80;

	if (env && parse_int_range(env, 1, 10000, &w) == 0)
		;
	else if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
		 ws.ws_col > 0)
		w = ws.ws_col;
	else
		w = 80;
	return w < STATUS_MIN_WIDTH ? STATUS_MIN_WIDTH : w;
}

static int
cmd_status_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct history_filter filter;
	struct table tb = { STRBUF_INIT, 0, 0 };
	struct store *st = NULL;
	int64_t now = (int64_t)time(NULL);
	struct cmd_getopt g;
	char err[512];
	int c, rc, code = EXIT_FAILED;

	opterr = 0;
	optind = 0;   /* afresh, whatever parsed before (see options.c) */
	history_filter_init(&filter, now);
	cmd_getopt_init(&g, "+:", options);
	while ((c = getopt_long(argc, argv, g.shortopts, g.longopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			ctx->verbosity++;
			break;
		case 'q':
			ctx->verbosity--;
			break;
		case 'h':
			return cmd_print_usage(ctx, &cmd_status_entry);
		case CMD_OPT_VERSION:
			return cmd_print_version(ctx);
		default:
			switch (history_option(&filter, c, optarg, now, err, sizeof err)) {
			case 1:
				continue;
			case -1:
				cmd_error(ctx, "%s", err);
				return EXIT_USAGE;
			}
			return cmd_option_error(ctx, c, argv);
		}
	}
	if (optind < argc) {
		cmd_error(ctx, "unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	tb.width = output_width();
	if (cmd_open_store_if_any(ctx, &st) < 0)
		goto out;
	if (st != NULL && (rc = history_foreach(st, &filter, now, add_row, &tb)) < 0) {
		if (rc == SYNC_ERR_NOT_FOUND) {
			cmd_error(ctx, "no transfer with id %lld", (long long)filter.id);
			code = EXIT_USAGE;
		} else {
			cmd_error(ctx, "%s", store_errmsg(st));
		}
		goto out;
	}
	if (st == NULL && filter.id != 0) {
		cmd_error(ctx, "no transfer with id %lld", (long long)filter.id);
		code = EXIT_USAGE;
		goto out;
	}
	if (tb.rows == 0) {
		fputs(filter.all ? "no transfers\n" : "no transfers in this window (--all shows "
		      "the whole history)\n", stdout);
	} else {
		struct strbuf head = STRBUF_INIT;

		status_table_header(&head, tb.width);
		fwrite(head.buf, 1, head.len, stdout);
		fwrite(tb.out.buf, 1, tb.out.len, stdout);
		strbuf_release(&head);
	}
	code = cmd_finish_stdout(ctx, EXIT_OK);
out:
	store_close(st);
	strbuf_release(&tb.out);
	return code;
}

const struct cmd_entry cmd_status_entry = {
	"status", "show transfers as a table", usage, options, cmd_status_exec,
};
