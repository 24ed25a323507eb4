/* resume: continue a transfer that was interrupted, failed or stopped. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "cmd.h"
#include "cmd-transfer.h"
#include "cmd-options.h"
#include "proc.h"
#include "settings.h"
#include "store.h"
#include "supervisor.h"
#include "util.h"

static const char usage[] =
	"usage: scow-sync resume [-f] [--workers N] [--bwlimit KIB] [--retries N] [ID]\n"
	"\n"
	"Continue transfer ID where it stopped: units already done are not sent\n"
	"again, and a file cut off mid-way continues from the data on the far side.\n"
	"ID may have been interrupted (its supervisor died), have failed or have\n"
	"been terminated. Without ID, continue every interrupted transfer, as after\n"
	"a reboot. Prints the id of each transfer continued. A transfer goes on with\n"
	"the --workers, --bwlimit and --retries it was started with, unless given\n"
	"here.\n";

static const struct cmd_option options[] = {
	{ 'f', "foreground", NULL, "run here and wait for the end (needs ID)" },
	CMD_OPTIONS_SETTINGS,
	CMD_OPTIONS_COMMON,
	CMD_OPTIONS_END,
};

struct id_list {
	int64_t *v;
	size_t n, alloc;
};

/* Interrupted transfers, and those whose supervisor died unnoticed. */
static int
collect_interrupted(const struct transfer *t, void *ctx)
{
	struct id_list *l = ctx;

	/* A host's transfer of a request to several goes on with the request's. */
	if (t->parent_id)
		return 0;
	if (t->state == TRANSFER_INTERRUPTED ||
	    (!transfer_state_finished(t->state) && !proc_alive_anywhere(&t->supervisor))) {
		ALLOC_GROW(l->v, l->n, l->alloc);
		l->v[l->n++] = t->id;
	}
	return 0;
}

/*
 * Queue transfer id again under this process; an exit code. *claimed says
 * whether a supervisor should now run it.
 */
static int
claim(const struct cmd_ctx *ctx, struct store *st, int64_t id, bool *claimed)
{
	enum transfer_state was = TRANSFER_FAILED;
	int64_t running_id = 0;
	struct strbuf where = STRBUF_INIT;
	struct proc_id me;
	int rc;

	*claimed = false;
	if (proc_self(&me) < 0) {
		cmd_error(ctx, "cannot read our own process: %s", strerror(errno));
		return EXIT_FAILED;
	}
	/* Never resume another node's transfer: it may be running there. */
	rc = store_transfer_resume(st, id, &me, proc_alive_anywhere, &was, &running_id);
	switch (rc) {
	case SYNC_OK:
		*claimed = true;
		if (ctx->verbosity > 0)
			cmd_error(ctx, "continuing transfer %lld (%s)", (long long)id,
				  transfer_state_name(was));
		return EXIT_OK;
	case SYNC_ERR_EXISTS:
		/* Never two writers: the running one goes on. */
		cmd_where(st, running_id, &where);
		if (ctx->verbosity >= 0 && running_id == id)
			cmd_error(ctx, "transfer %lld is running%s", (long long)id, where.buf);
		else if (ctx->verbosity >= 0)
			cmd_error(ctx, "transfer %lld is not resumed: the same request is running "
				  "as transfer %lld%s", (long long)id, (long long)running_id,
				  where.buf);
		strbuf_release(&where);
		return EXIT_OK;
	case SYNC_ERR_INVALID:
		cmd_error(ctx, "transfer %lld is already done", (long long)id);
		return EXIT_NOMATCH;
	case SYNC_ERR_NOT_FOUND:
		cmd_error(ctx, "no transfer %lld", (long long)id);
		return EXIT_NOMATCH;
	default:
		cmd_error(ctx, "%s", store_errmsg(st));
		return EXIT_FAILED;
	}
}

static int
cmd_resume_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	const char *workers_arg = NULL, *bwlimit_arg = NULL, *retries_arg = NULL;
	struct transfer_options given;
	struct supervisor_config cfg, *cfgs = NULL;
	struct settings *sets = cmd_settings(ctx);
	struct id_list ids = { NULL, 0, 0 }, claimed = { NULL, 0, 0 };
	struct store *st = NULL;
	unsigned long long id = 0;
	bool foreground = false, ok;
	char *dir = NULL;
	char err[512];
	struct cmd_getopt g;
	size_t i;
	int c, code = EXIT_FAILED, rc;

	opterr = 0;
	optind = 0;   /* afresh, whatever parsed before (see options.c) */
	cmd_getopt_init(&g, "+:", options);
	while ((c = getopt_long(argc, argv, g.shortopts, g.longopts, NULL)) != -1) {
		switch (c) {
		case 'f': foreground = true; break;
		case 'v': ctx->verbosity++; break;
		case 'q': ctx->verbosity--; break;
		case 'h': return cmd_print_usage(ctx, &cmd_resume_entry);
		case CMD_OPT_VERSION: return cmd_print_version(ctx);
		case CMD_OPT_WORKERS: workers_arg = optarg; break;
		case CMD_OPT_BWLIMIT: bwlimit_arg = optarg; break;
		case CMD_OPT_RETRIES: retries_arg = optarg; break;
		default:
			return cmd_option_error(ctx, c, argv);
		}
	}
	if (argc - optind > 1) {
		cmd_error(ctx, "unexpected argument '%s'", argv[optind + 1]);
		return EXIT_USAGE;
	}
	if (optind < argc && parse_ullong(argv[optind], 1, INT64_MAX, &id) < 0) {
		cmd_error(ctx, "invalid transfer id '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (foreground && id == 0) {
		cmd_error(ctx, "--foreground needs a transfer id");
		return EXIT_USAGE;
	}
	/* Flags win over every other source of a setting, and over what was recorded. */
	if ((workers_arg && settings_set_flag(sets, SETTING_WORKERS, "--workers", workers_arg,
					      err, sizeof err) < 0) ||
	    (bwlimit_arg && settings_set_flag(sets, SETTING_BWLIMIT, "--bwlimit", bwlimit_arg,
					      err, sizeof err) < 0) ||
	    (retries_arg && settings_set_flag(sets, SETTING_RETRIES, "--retries", retries_arg,
					      err, sizeof err) < 0) ||
	    supervisor_config_from_settings(&cfg, sets, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		return EXIT_USAGE;
	}
	given.workers = workers_arg ? cfg.workers : -1;
	given.bwlimit_kib = bwlimit_arg ? (long long)cfg.bwlimit_kib : -1;
	given.retries = retries_arg ? cfg.max_attempts : -1;
	given.max_delete = given.delete_all_ok = given.verify = given.trust_record = -1;

	dir = cmd_state_dir(ctx);
	if (store_open(dir, &st, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		goto out;
	}
	if (id) {
		ALLOC_GROW(ids.v, ids.n, ids.alloc);
		ids.v[ids.n++] = (int64_t)id;
	} else if ((rc = store_transfer_foreach(st, NULL, collect_interrupted, &ids)) < 0) {
		cmd_error(ctx, "%s", store_errmsg(st));
		goto out;
	}
	if (ids.n == 0) {
		cmd_error(ctx, "no interrupted transfers");
		code = EXIT_NOMATCH;
		goto out;
	}
	code = EXIT_OK;
	for (i = 0; i < ids.n; i++) {
		int one = claim(ctx, st, ids.v[i], &ok);

		if (one != EXIT_OK)
			code = one;
		if (ok) {
			ALLOC_GROW(claimed.v, claimed.n, claimed.alloc);
			claimed.v[claimed.n++] = ids.v[i];
		}
	}
	/* Each goes on with the flags it was given, where none is given now. */
	cfgs = xcalloc(claimed.n ? claimed.n : 1, sizeof *cfgs);
	for (i = 0; i < claimed.n; i++) {
		cfgs[i] = cfg;
		if (cmd_transfer_options(st, claimed.v[i], &given, &cfgs[i]) < 0) {
			cmd_error(ctx, "cannot read the options of transfer %lld: %s",
				  (long long)claimed.v[i], store_errmsg(st));
			code = EXIT_FAILED;
		}
	}
	/* The supervisors open the store themselves. */
	store_close(st);
	st = NULL;
	for (i = 0; i < claimed.n; i++) {
		int one;

		cfgs[i].state_dir = dir;
		cfgs[i].transfer_id = claimed.v[i];
		if (foreground) {
			code = cmd_run_foreground(ctx, dir, &cfgs[i]);
			break;
		}
		if ((one = cmd_detach_supervisor(ctx, dir, &cfgs[i])) != EXIT_OK)
			code = one;
		else if (!ctx->legacy)
			printf("%lld\n", (long long)claimed.v[i]);
	}
	if (!foreground)
		code = cmd_finish_stdout(ctx, code);
out:
	store_close(st);
	free(ids.v);
	free(claimed.v);
	free(cfgs);
	free(dir);
	return code;
}

const struct cmd_entry cmd_resume_entry = {
	"resume", "continue an interrupted, failed or stopped transfer", usage, options,
	cmd_resume_exec,
};
