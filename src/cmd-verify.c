/*
 * verify: compare a destination with its source by content and say what
 * differs (`run --dry-run --verify` of the request), or with --repair send
 * it again (`run --verify`). The request is an earlier transfer's (ID) or
 * given as start and run take it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "cmd.h"
#include "cmd-options.h"
#include "proc.h"
#include "rsync.h"
#include "settings.h"
#include "store.h"
#include "util.h"

static const char usage[] =
	"usage: scow-sync verify [--repair] [--json] [--workers N] [--bwlimit RATE] ID\n"
	"       scow-sync verify [--repair] [--json] -a HOST -s SOURCE -d DEST [FLAG...]\n"
	"\n"
	"Compare a destination with its source by content (every file read on both\n"
	"sides and checksummed, as rsync --checksum does) and print what differs, as\n"
	"a dry run prints it (--json: a JSON array); nothing is sent. Exits 1 when\n"
	"anything differs, 0 when nothing does. With --repair, send what differs, in\n"
	"the foreground, as `scow-sync run --verify` would, and exit 0 when the\n"
	"destination matches the source at the end. ID is an earlier transfer, whose\n"
	"request (its --delete, filters, -H, -A, -X and the rest) is compared; or give\n"
	"the request with the flags of run.\n";

enum { OPT_REPAIR = CMD_OPT_OWN, OPT_VERIFY_JSON };

static const struct cmd_option options[] = {
	{ OPT_REPAIR, "repair", NULL, "send what differs" },
	{ OPT_VERIFY_JSON, "json", NULL, "without --repair: the differences as a JSON array" },
	CMD_OPTIONS_SETTINGS,
	CMD_OPTIONS_COMMON,
	CMD_OPTIONS_END,
};

/* Does argv give the request itself (-a, -s, -d), as run takes it? */
static bool
gives_request(int argc, char **argv)
{
	static const char *const flags[] = { "address", "source", "destination", "hosts-from" };
	int i;
	size_t k;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *a = argv[i];

		if (a[0] == '-' && a[1] != '-' && strchr("asd", a[1]) && a[1])
			return true;
		for (k = 0; a[0] == '-' && a[1] == '-' && k < sizeof flags / sizeof flags[0]; k++) {
			size_t n = strlen(flags[k]);

			if (strncmp(a + 2, flags[k], n) == 0 &&
			    (a[2 + n] == '\0' || a[2 + n] == '='))
				return true;
		}
	}
	return false;
}

/*
 * verify -a HOST -s SOURCE -d DEST ...: run's own parse checks the
 * request; --repair and --json are ours.
 */
static int
verify_request(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct strvec run = STRVEC_INIT;
	bool repair = false, json = false;
	int i, code;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		repair |= strcmp(argv[i], "--repair") == 0;
		json |= strcmp(argv[i], "--json") == 0;
	}
	if (repair && json) {
		cmd_error(ctx, "--json goes with a verify that does not --repair");
		return EXIT_USAGE;
	}
	strvec_push(&run, "run");
	strvec_push(&run, "--verify");
	if (!repair)
		strvec_push(&run, "--dry-run");
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--repair") != 0)
			strvec_push(&run, argv[i]);
	ctx->differences_fail = !repair;
	ctx->running_fails = repair;
	code = cmd_run_entry.exec((int)run.nr, run.v, ctx);
	strvec_clear(&run);
	return code;
}

/* run's arguments for transfer t's request, verified; settings as given here. */
static void
verify_argv(const struct transfer *t, const struct transfer_preserve *keep,
	    const struct strvec *given, struct strvec *argv)
{
	size_t at = 0;

	strvec_push(argv, "run");
	strvec_pushv(argv, (const char *const *)given->v);
	strvec_push(argv, "--verify");
	/* What it keeps of each file beyond rsync -a differs too where it differs. */
	rsync_preserve_argv((unsigned)keep->flags & RSYNC_PRESERVE_ALL, argv);
	if (keep->chmod)
		strvec_pushf(argv, "--chmod=%s", keep->chmod);
	if (keep->chown)
		strvec_pushf(argv, "--chown=%s", keep->chown);
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
	struct transfer_preserve keep = { 0, NULL, NULL };
	struct store *st = NULL;
	struct transfer t;
	unsigned long long id = 0;
	int64_t running = 0;
	struct cmd_getopt g;
	int c, code = EXIT_FAILED, rc;
	bool repair = false, json = false;

	if (gives_request(argc, argv))
		return verify_request(argc, argv, ctx);
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
		case OPT_REPAIR: repair = true; break;
		case OPT_VERIFY_JSON: json = true; break;
		default:
			strvec_clear(&given);
			return cmd_option_error(ctx, c, argv);
		}
	}
	if (repair && json) {
		cmd_error(ctx, "--json goes with a verify that does not --repair");
		strvec_clear(&given);
		return EXIT_USAGE;
	}
	if (!repair)
		strvec_push(&given, "--dry-run");
	if (json)
		strvec_push(&given, "--json");
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
	if ((code = cmd_open_transfer(ctx, (int64_t)id, &st, &t)) != EXIT_OK) {
		strvec_clear(&given);
		return code;
	}
	/*
	 * Never beside a running transfer of the request (a watch of it, say):
	 * a second writer, and a comparison of a far side that is moving.
	 */
	if ((rc = store_transfer_live_twin(st, (int64_t)id, proc_alive_anywhere, &running)) < 0 ||
	    (rc = store_transfer_preserve(st, (int64_t)id, &keep)) < 0)
		cmd_error(ctx, "cannot read transfer %llu: %s", id, store_errmsg(st));
	store_close(st);
	if (rc < 0) {
		transfer_release(&t);
		strvec_clear(&given);
		return EXIT_FAILED;
	}
	if (running) {
		if (running == (int64_t)id)
			cmd_error(ctx, "transfer %llu is running: verify it once it has ended", id);
		else
			cmd_error(ctx, "transfer %llu's request is running as transfer %lld: "
				  "verify it once that has ended", id, (long long)running);
		transfer_preserve_release(&keep);
		transfer_release(&t);
		strvec_clear(&given);
		return EXIT_FAILED;
	}
	/* run checks the request again, as if typed; a repair is always a new transfer. */
	verify_argv(&t, &keep, &given, &run);
	ctx->differences_fail = !repair;
	code = cmd_run_entry.exec((int)run.nr, run.v, ctx);
	transfer_preserve_release(&keep);
	transfer_release(&t);
	strvec_clear(&given);
	strvec_clear(&run);
	return code;
}

const struct cmd_entry cmd_verify_entry = {
	"verify", "compare a destination with its source by content", usage, options,
	cmd_verify_exec,
};
