/*
 * limit: change a transfer's --bwlimit, at once where it runs here, and
 * for its next runs (resume).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cmd-options.h"
#include "format.h"
#include "proc.h"
#include "shaper.h"
#include "store.h"
#include "util.h"

static const char usage[] =
	"usage: scow-sync limit ID RATE\n"
	"\n"
	"Set transfer ID's --bwlimit to RATE (50M, 1G, 500K; without a unit, KiB/s;\n"
	"0: no limit) for the transfer as a whole: at once for its rsyncs and\n"
	"pieces running on this machine, and for its later runs (resume).\n";

static const struct cmd_option options[] = {
	CMD_OPTIONS_COMMON,
	CMD_OPTIONS_END,
};

/*
 * The running supervisor's bucket (its private directory's, shaper.h):
 * its rate set to kib. *had: the rate it had. An error code when there is
 * none to reach from here.
 */
static int
set_running_rate(struct store *st, int64_t id, unsigned long long kib, uint64_t *had)
{
	struct shaper *sh;
	char *dir = NULL, *path;
	int rc;

	if ((rc = store_transfer_workdir(st, id, &dir)) < 0 || dir == NULL) {
		free(dir);
		errno = ENOENT;
		return rc < 0 ? rc : SYNC_ERR_NOT_FOUND;
	}
	path = xasprintf("%s/" SHAPER_FILE, dir);
	rc = shaper_open(path, &sh);
	if (rc == 0) {
		*had = shaper_rate(sh);
		shaper_set_rate(sh, (uint64_t)kib * 1024);
		shaper_close(sh);
	}
	free(path);
	free(dir);
	return rc;
}

/* A transfer to or from an object store (its far host "s3:URL", cmd-transfer.c)? */
static bool
object_store(const struct transfer *t)
{
	return t->far_host && strncmp(t->far_host, "s3:", 3) == 0;
}

static int
cmd_limit_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct transfer_options o = { -1, -1, -1, -1, -1, -1, -1 };
	unsigned long long id = 0, kib = 0;
	struct strbuf shown = STRBUF_INIT;
	struct store *st = NULL;
	struct transfer t;
	struct cmd_getopt g;
	uint64_t had = 0;
	int c, code = EXIT_OK;
	bool running;

	opterr = 0;
	optind = 0;   /* afresh, whatever parsed before (see options.c) */
	cmd_getopt_init(&g, "+:", options);
	while ((c = getopt_long(argc, argv, g.shortopts, g.longopts, NULL)) != -1) {
		switch (c) {
		case 'v': ctx->verbosity++; break;
		case 'q': ctx->verbosity--; break;
		case 'h': return cmd_print_usage(ctx, &cmd_limit_entry);
		case CMD_OPT_VERSION: return cmd_print_version(ctx);
		default: return cmd_option_error(ctx, c, argv);
		}
	}
	if (argc - optind != 2) {
		if (argc - optind > 2)
			cmd_error(ctx, "unexpected argument '%s'", argv[optind + 2]);
		else
			cmd_error(ctx, "limit needs a transfer id and a rate");
		return EXIT_USAGE;
	}
	if (parse_ullong(argv[optind], 1, INT64_MAX, &id) < 0) {
		cmd_error(ctx, "invalid transfer id '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (parse_rate_kib(argv[optind + 1], 1ULL << 40, &kib) < 0) {
		cmd_error(ctx, "invalid rate '%s': expected such as 50M or 1G (bytes a second; "
			  "without a unit, KiB), or 0 for none", argv[optind + 1]);
		return EXIT_USAGE;
	}
	if ((code = cmd_open_transfer(ctx, (int64_t)id, &st, &t)) != EXIT_OK)
		return code;
	if (t.fanout > 1) {
		cmd_error(ctx, "transfer %llu goes to several hosts: limit each host's transfer "
			  "(scow-sync status lists them)", id);
		code = EXIT_USAGE;
		goto out;
	}
	/* For its next runs too: resume goes on with what is recorded. */
	o.bwlimit_kib = (long long)kib;
	if (store_transfer_set_options(st, t.id, &o) < 0) {
		cmd_error(ctx, "cannot record the limit: %s", store_errmsg(st));
		code = EXIT_FAILED;
		goto out;
	}
	if (kib)
		fmt_rate(&shown, (double)kib * 1024);
	else
		strbuf_addstr(&shown, "no limit");
	/*
	 * An object store's workers take their share as they start: the run
	 * now keeps its rate. A supervisor that died keeps none.
	 */
	running = t.state == TRANSFER_RUNNING && proc_alive_anywhere(&t.supervisor) &&
		  !object_store(&t);
	if (running && set_running_rate(st, t.id, kib, &had) < 0) {
		/* Between a watch's cycles, or on another node: its next run or cycle. */
		if (ctx->verbosity > 0)
			cmd_error(ctx, "transfer %llu: no rate to change here now (%s)", id,
				  strerror(errno));
		running = false;
	}
	if (ctx->verbosity >= 0)
		printf("transfer %llu: %s%s\n", id, shown.buf,
		       running ? ", from now on" : t.watch && t.state == TRANSFER_RUNNING ?
		       " from its next cycle" : " from its next run");
	/* What had no limit runs through no bucket: only what starts from now on. */
	if (running && had == 0 && kib && ctx->verbosity >= 0)
		cmd_error(ctx, "transfer %llu started without a limit: its rsyncs running now "
			  "go on at full speed, those that start from now on take it", id);
	code = cmd_finish_stdout(ctx, code);
out:
	strbuf_release(&shown);
	transfer_release(&t);
	store_close(st);
	return code;
}

const struct cmd_entry cmd_limit_entry = {
	"limit", "change a transfer's --bwlimit while it runs", usage, options,
	cmd_limit_exec,
};
