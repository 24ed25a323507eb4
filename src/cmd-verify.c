/*
 * verify: compare an earlier transfer's destination with its source by
 * content, and send again what differs: `run --verify` of the same request.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "cmd.h"
#include "cmd-options.h"
#include "proc.h"
#include "settings.h"
#include "store.h"
#include "util.h"

static const char usage[] =
	"usage: scow-sync verify [--workers N] [--bwlimit KIB] [--retries N] ID\n"
	"\n"
	"Compare what transfer ID's destination holds with its source by content\n"
	"(every file read on both sides and checksummed, as rsync --checksum does),\n"
	"and send again what differs, in the foreground, as `scow-sync run --verify`\n"
	"of the same request would (its --delete and filters included). Exits 0\n"
	"when the destination matches the source at the end.\n";

static const struct cmd_option options[] = {
	CMD_OPTIONS_SETTINGS,
	CMD_OPTIONS_COMMON,
	CMD_OPTIONS_END,
};

/* run's arguments for transfer t's request, verified; settings as given here. */
static void
verify_argv(const struct transfer *t, const struct strvec *given, struct strvec *argv)
{
	size_t at = 0;

	strvec_push(argv, "run");
	strvec_pushv(argv, (const char *const *)given->v);
	strvec_push(argv, "--verify");
	strvec_pushf(argv, "--address=%s", t->address);
	strvec_pushf(argv, "--user=%s", t->user);
	strvec_pushf(argv, "--source=%s", t->source);
	strvec_pushf(argv, "--destination=%s", t->destination);
	strvec_pushf(argv, "--max-depth=%d", t->max_depth);
	strvec_pushf(argv, "--port=%d", t->port);
	/* None recorded: ssh's own identities, as the request had them. */
	if (*t->key_path)
		strvec_pushf(argv, "--sshkey-path=%s", t->key_path);
	if (t->mirror)
		strvec_push(argv, "--delete");
	/* Stored as "+ PATTERN" and "- PATTERN": either option takes both so. */
	while (at < t->filters_len) {
		const char *rule = t->filters + at;

		strvec_pushf(argv, "--exclude=%s", rule);
		at += strlen(rule) + 1;
	}
}

static int
cmd_verify_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct strvec given = STRVEC_INIT, run = STRVEC_INIT;
	struct store *st = NULL;
	struct transfer t;
	unsigned long long id = 0;
	int64_t running = 0;
	struct cmd_getopt g;
	char err[512], *dir;
	int c, code = EXIT_FAILED, rc;

	opterr = 0;
	optind = 0;   /* afresh, whatever parsed before (see options.c) */
	cmd_getopt_init(&g, "+:", options);
	while ((c = getopt_long(argc, argv, g.shortopts, g.longopts, NULL)) != -1) {
		switch (c) {
		case 'v': ctx->verbosity++; strvec_push(&given, "-v"); break;
		case 'q': ctx->verbosity--; strvec_push(&given, "-q"); break;
		case 'h': return cmd_print_usage(ctx, &cmd_verify_entry);
		case CMD_OPT_VERSION: return cmd_print_version(ctx);
		case CMD_OPT_WORKERS: strvec_pushf(&given, "--workers=%s", optarg); break;
		case CMD_OPT_BWLIMIT: strvec_pushf(&given, "--bwlimit=%s", optarg); break;
		case CMD_OPT_RETRIES: strvec_pushf(&given, "--retries=%s", optarg); break;
		default:
			strvec_clear(&given);
			return cmd_option_error(ctx, c, argv);
		}
	}
	if (argc - optind != 1 || parse_ullong(argv[optind], 1, INT64_MAX, &id) < 0) {
		if (argc - optind > 1)
			cmd_error(ctx, "unexpected argument '%s'", argv[optind + 1]);
		else if (argc - optind == 1)
			cmd_error(ctx, "invalid transfer id '%s'", argv[optind]);
		else
			cmd_error(ctx, "verify needs a transfer id");
		strvec_clear(&given);
		return EXIT_USAGE;
	}
	dir = cmd_state_dir(ctx);
	rc = store_open(dir, &st, err, sizeof err);
	free(dir);
	if (rc < 0) {
		cmd_error(ctx, "%s", err);
		strvec_clear(&given);
		return EXIT_FAILED;
	}
	rc = store_transfer_get(st, (int64_t)id, &t);
	/*
	 * Never beside a running transfer of the request (a watch of it, say):
	 * a second writer, and a comparison of a far side that is moving.
	 */
	if (rc == SYNC_OK &&
	    (rc = store_transfer_live_twin(st, (int64_t)id, proc_alive_anywhere, &running)) < 0)
		transfer_release(&t);
	store_close(st);
	if (rc == SYNC_ERR_NOT_FOUND) {
		cmd_error(ctx, "no transfer %llu", id);
		strvec_clear(&given);
		return EXIT_NOMATCH;
	}
	if (rc < 0) {
		cmd_error(ctx, "cannot read transfer %llu", id);
		strvec_clear(&given);
		return EXIT_FAILED;
	}
	if (running) {
		if (running == (int64_t)id)
			cmd_error(ctx, "transfer %llu is running: verify it once it has ended", id);
		else
			cmd_error(ctx, "transfer %llu's request is running as transfer %lld: "
				  "verify it once that has ended", id, (long long)running);
		transfer_release(&t);
		strvec_clear(&given);
		return EXIT_FAILED;
	}
	/* run checks the request again, as if typed; a verify is always a new transfer. */
	verify_argv(&t, &given, &run);
	code = cmd_run_entry.exec((int)run.nr, run.v, ctx);
	transfer_release(&t);
	strvec_clear(&given);
	strvec_clear(&run);
	return code;
}

const struct cmd_entry cmd_verify_entry = {
	"verify", "compare a transfer's destination by content, and repair it", usage, options,
	cmd_verify_exec,
};
