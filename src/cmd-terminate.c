/* terminate: stop a running transfer. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cmd.h"
#include "cmd-options.h"
#include "options.h"
#include "shown-path.h"
#include "proc.h"
#include "stop.h"
#include "s3-target.h"
#include "store.h"
#include "supervisor.h"
#include "util.h"

#define STOP_WAIT 20.0     /* seconds for a supervisor to stop its workers */

static const char usage[] =
	"usage: scow-sync-terminate -a HOST -u USER -s SOURCE\n"
	"       scow-sync-terminate --id ID\n"
	"       scow-sync-terminate --all [-a HOST] [-u USER]\n"
	"\n"
	"Stop the running transfer to HOST as USER whose source is SOURCE, the\n"
	"transfer with the given id, or all running transfers. Returns when every\n"
	"process of them has ended.\n";

static const struct cmd_option options[] = {
	{ 'a', "address", "HOST", "remote host the transfer goes to" },
	{ 'u', "user", "USER", "remote user" },
	{ 's', "source", "PATH", "the transfer's source, as given to start" },
	{ CMD_OPT_ID, "id", "ID", "the transfer with this id (scow-sync start prints it)" },
	{ CMD_OPT_ALL, "all", NULL, "every running transfer (of HOST and USER if given)" },
	CMD_OPTIONS_COMMON,
	CMD_OPTIONS_END,
};

struct match {
	int64_t id;
	enum transfer_state state;
	struct proc_id sup;
	char *rel;            /* for a part: its path relative to the source's parent */
};

struct terminate_ctx {
	struct store *st;
	struct match *m;
	size_t n, alloc;
	const char *source;   /* NULL: every transfer the filter lets through */
	bool whole;           /* a transfer's source is exactly source */
};

static int
collect(const struct transfer *t, void *ctx)
{
	struct terminate_ctx *tc = ctx;
	char *rel = NULL;

	if (!stop_can_act(tc->st, t))
		return 0;
	if (tc->source && strcmp(t->source, tc->source) != 0) {
		char *root;
		size_t skip;

		if (!path_is_within(tc->source, t->source))
			return 0;
		/* A part: name it as units are named, relative to the source's parent. */
		root = path_dirname(t->source);
		skip = strcmp(root, "/") == 0 ? 1 : strlen(root) + 1;
		rel = xstrdup(tc->source + skip);
		free(root);
	} else if (tc->source)
		tc->whole = true;
	ALLOC_GROW(tc->m, tc->n, tc->alloc);
	tc->m[tc->n].id = t->id;
	tc->m[tc->n].state = t->state;
	tc->m[tc->n].sup = t->supervisor;
	tc->m[tc->n].rel = rel;
	tc->n++;
	return 0;
}

/* The newest transfer of the user's that had SOURCE, or a source holding it, and has ended. */
struct ended_ctx {
	const char *source;
	int64_t id;
	enum transfer_state state;
	bool part;
};

static int
collect_ended(const struct transfer *t, void *ctx)
{
	struct ended_ctx *ec = ctx;
	bool whole = strcmp(t->source, ec->source) == 0;
	struct stat sb;

	if (!transfer_state_finished(t->state))
		return 0;
	/* A part the portal showed in flight exists; a name that never did is no part. */
	if (!whole && !(path_is_within(ec->source, t->source) && lstat(ec->source, &sb) == 0))
		return 0;
	if (t->id > ec->id) {
		ec->id = t->id;
		ec->state = t->state;
		ec->part = !whole;
	}
	return 0;
}

/*
 * The exit code for a stop that found what it names already ended or
 * arrived: a race the portal's user cannot see (a cancel clicked as the
 * file arrives), so success under the portal's name, with a line saying
 * what was found; "nothing matched" for scow-sync terminate.
 */
static int
ended_first(const struct cmd_ctx *ctx)
{
	return ctx->legacy ? EXIT_OK : EXIT_NOMATCH;
}

/*
 * Seconds from SIGTERM to SIGKILL: STOP_WAIT, or less for the tests
 * (SCOW_SYNC_TEST_STOP_WAIT), which cannot wait that long for a process
 * that never stops.
 */
static double
stop_wait_seconds(void)
{
	return (double)env_number("SCOW_SYNC_TEST_STOP_WAIT", 0, 3600, STOP_WAIT);
}

/* Said while a stop waits: the supervisor is being killed. */
static void
say_killing(void *arg, int64_t id, double waited)
{
	cmd_error(arg, "transfer %lld did not stop in %.0f s; killing it", (long long)id, waited);
}

/*
 * Say what a stop did, and give its exit code. shown: the part as the
 * user gave it, NULL for a whole transfer.
 */
static int
report_stop(const struct cmd_ctx *ctx, int64_t id, const char *shown, enum stop_result res,
	    const struct stop_report *r)
{
	long long n = (long long)id;

	switch (res) {
	case STOP_DONE:
		if (ctx->verbosity > 0 && shown)
			fprintf(stderr, "%s: stopped '%s' of transfer %lld\n", ctx->prog, shown, n);
		else if (ctx->verbosity > 0)
			fprintf(stderr, "%s: stopped transfer %lld\n", ctx->prog, n);
		return EXIT_OK;
	case STOP_DONE_OFFLINE:
		if (ctx->verbosity >= 0)
			cmd_error(ctx, "transfer %lld is not running; '%s' is left out when it is "
				  "resumed", n, shown);
		return EXIT_OK;
	case STOP_DONE_UNCLEAN:
		if (r->why.len)
			cmd_error(ctx, "%s", r->why.buf);
		else if (shown)
			cmd_error(ctx, "'%s' of transfer %lld is stopped, but its partial data on "
				  "the far side could not be removed (see the log); terminating "
				  "it again tries again", shown, n);
		else
			cmd_error(ctx, "transfer %lld is stopped, but %llu partial files on %s "
				  "could not be removed (see the log); terminate --id %lld tries "
				  "again", n, (unsigned long long)r->left,
				  r->address ? r->address : "the far side", n);
		/*
		 * Stopped by this call: the portal's contract is "0 when
		 * something was stopped", and stderr says the rest.
		 */
		return shown || r->by_us ? EXIT_OK : EXIT_FAILED;
	case STOP_ENDED_FIRST:
		if (shown)
			cmd_error(ctx, "transfer %lld ended before '%s' could be stopped", n,
				  shown);
		else
			cmd_error(ctx, "transfer %lld ended (%s) before it could be stopped", n,
				  transfer_state_name(r->state));
		return ended_first(ctx);
	case STOP_ARRIVED:
		cmd_error(ctx, "'%s' has already arrived", shown);
		return ended_first(ctx);
	case STOP_BEFORE:
		cmd_error(ctx, "'%s' of transfer %lld was stopped before", shown, n);
		return ended_first(ctx);
	case STOP_NOT_PART:
		cmd_error(ctx, "'%s' is not part of transfer %lld", shown, n);
		return EXIT_NOMATCH;
	case STOP_ELSEWHERE:
		cmd_error(ctx, "transfer %lld runs on node %s (process %ld there); stop it there",
			  n, r->sup.node.host[0] ? r->sup.node.host : "(unnamed)",
			  (long)r->sup.pid);
		return EXIT_FAILED;
	case STOP_NOT_OURS:
		cmd_error(ctx, "transfer %lld: its supervisor (pid %d) is not a process of ours; "
			  "nothing was stopped", n, (int)r->sup.pid);
		return EXIT_FAILED;
	case STOP_STARTING:
		cmd_error(ctx, "transfer %lld is still starting after %.0f s; it will stop as soon "
			  "as it runs", n, STOP_START_WAIT);
		return EXIT_FAILED;
	case STOP_TIMEOUT:
		cmd_error(ctx, "transfer %lld did not stop '%s' in %.0f s", n, shown,
			  STOP_PART_WAIT);
		return EXIT_FAILED;
	case STOP_STUCK:
		cmd_error(ctx, "transfer %lld: its supervisor (pid %d) did not end %.0f s after "
			  "SIGKILL; giving up", n, (int)r->sup.pid, STOP_KILL_WAIT);
		return EXIT_FAILED;
	case STOP_FAILED:
		if (r->why.len)
			cmd_error(ctx, "%s", r->why.buf);
		return EXIT_FAILED;
	}
	return EXIT_FAILED;
}

/*
 * Nothing running matched source: when a transfer of the user's had it (or
 * holds it as a part) and has ended, say so and set *code (ended_first);
 * false when none ever had it.
 */
static bool
said_ended(const struct cmd_ctx *ctx, struct store *st, const struct transfer_filter *running,
	   const char *source, const char *shown, int *code)
{
	struct transfer_filter f = *running;
	struct ended_ctx ec = { source, 0, TRANSFER_DONE, false };

	f.unfinished_only = false;
	if (store_transfer_foreach(st, &f, collect_ended, &ec) < 0 || ec.id == 0)
		return false;
	if (ec.part && ec.state == TRANSFER_DONE)
		cmd_error(ctx, "'%s' has already arrived (transfer %lld is done)", shown,
			  (long long)ec.id);
	else
		cmd_error(ctx, "transfer %lld of '%s' has already ended (%s)", (long long)ec.id,
			  shown, transfer_state_name(ec.state));
	*code = ended_first(ctx);
	return true;
}

static int
cmd_terminate_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct stop_env env = { cmd_settings(ctx), stop_wait_seconds(), say_killing, ctx };
	struct transfer_filter f;
	struct terminate_ctx tc;
	struct stop_report r;
	struct store *st = NULL;
	const char *address = NULL, *user = NULL, *source_arg = NULL, *id_arg = NULL;
	unsigned long long id = 0;
	bool all = false;
	char *source = NULL, *dir = NULL;
	char err[512];
	size_t i, stopped = 0, failed = 0, acted = 0;
	struct cmd_getopt g;
	int c, code = EXIT_FAILED;

	memset(&tc, 0, sizeof tc);
	opterr = 0;
	optind = 0;   /* afresh, whatever parsed before (see options.c) */
	cmd_getopt_init(&g, "+:", options);
	while ((c = getopt_long(argc, argv, g.shortopts, g.longopts, NULL)) != -1) {
		switch (c) {
		case 'a': address = optarg; break;
		case 'u': user = optarg; break;
		case 's': source_arg = optarg; break;
		case CMD_OPT_ID: id_arg = optarg; break;
		case CMD_OPT_ALL: all = true; break;
		case 'v': ctx->verbosity++; break;
		case 'q': ctx->verbosity--; break;
		case 'h': return cmd_print_usage(ctx, &cmd_terminate_entry);
		case CMD_OPT_VERSION: return cmd_print_version(ctx);
		default:
			return cmd_option_error(ctx, c, argv);
		}
	}
	if (optind < argc) {
		cmd_error(ctx, "unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if ((source_arg != NULL) + (id_arg != NULL) + all != 1) {
		cmd_error(ctx, "give one of -s/--source, --id or --all");
		return EXIT_USAGE;
	}
	if (id_arg && parse_ullong(id_arg, 1, INT64_MAX, &id) < 0) {
		cmd_error(ctx, "invalid transfer id '%s'", id_arg);
		return EXIT_USAGE;
	}
	if ((address && validate_host(address, err, sizeof err) < 0) ||
	    (user && validate_user(user, err, sizeof err) < 0)) {
		cmd_error(ctx, "%s", err);
		return EXIT_USAGE;
	}
	/* Spelled as start spells it; a path that is gone as it is written. */
	if (source_arg && s3_is_url(source_arg)) {
		struct s3_target t;

		if (s3_target_parse(source_arg, &t, err, sizeof err) < 0) {
			cmd_error(ctx, "%s", err);
			return EXIT_USAGE;
		}
		source = s3_target_url(&t);
		s3_target_release(&t);
	} else if (source_arg && path_source(source_arg, &source) < 0 &&
	    path_absolute(source_arg, &source) < 0) {
		cmd_error(ctx, "invalid source '%s': %s", source_arg, strerror(errno));
		return EXIT_USAGE;
	}
	/*
	 * The portal names a part by the filePath query showed, where bytes
	 * that are not UTF-8 are U+FFFD: find the file it stands for.
	 */
	if (source && strstr(source, "\xef\xbf\xbd") && access(source, F_OK) < 0) {
		char *real = NULL;
		int rc = path_from_shown(source, &real);

		if (rc == SYNC_ERR_AMBIGUOUS) {
			cmd_error(ctx, "'%s' stands for more than one file (U+FFFD stands for any "
				  "byte that is not UTF-8): give the path as it is", source_arg);
			free(source);
			return EXIT_USAGE;
		}
		if (rc == SYNC_OK) {
			free(source);
			source = real;
		}
	}

	dir = cmd_state_dir(ctx);
	if (store_open(dir, &st, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		goto out;
	}
	tc.st = st;
	if (id_arg) {
		struct transfer t;
		int rc = store_transfer_get(st, (int64_t)id, &t);

		if (rc == SYNC_ERR_NOT_FOUND) {
			cmd_error(ctx, "no transfer %llu", id);
			code = EXIT_NOMATCH;
			goto out;
		}
		if (rc < 0) {
			cmd_error(ctx, "%s", store_errmsg(st));
			goto out;
		}
		if (!stop_can_act(st, &t)) {
			cmd_error(ctx, "transfer %llu has already ended (%s)", id,
				  transfer_state_name(t.state));
			transfer_release(&t);
			code = EXIT_NOMATCH;
			goto out;
		}
		collect(&t, &tc);
		/* A request to several hosts: each host's transfer is stopped with it. */
		if (t.fanout) {
			struct transfer *hosts;
			size_t n, k;

			if (store_transfer_children(st, t.id, &hosts, &n) < 0) {
				cmd_error(ctx, "%s", store_errmsg(st));
				transfer_release(&t);
				goto out;
			}
			for (k = 0; k < n; k++) {
				collect(&hosts[k], &tc);
				transfer_release(&hosts[k]);
			}
			free(hosts);
		}
		transfer_release(&t);
	} else {
		memset(&f, 0, sizeof f);
		f.address = address;
		f.user = user;
		/* With -s, an interrupted transfer of SOURCE can be stopped for good too. */
		f.unfinished_only = source == NULL;
		tc.source = source;
		if (store_transfer_foreach(st, &f, collect, &tc) < 0) {
			cmd_error(ctx, "%s", store_errmsg(st));
			goto out;
		}
	}
	if (!tc.whole && tc.n > 0 && tc.m[0].rel) {
		/* A part: of the newest running transfer that holds it, else the newest. */
		size_t pick = 0;

		for (i = 0; i < tc.n; i++) {
			if (tc.m[i].rel && (tc.m[i].state == TRANSFER_RUNNING ||
					    tc.m[i].state == TRANSFER_QUEUED) &&
			    proc_matches(&tc.m[i].sup)) {
				pick = i;
				break;
			}
		}
		stop_report_init(&r);
		code = report_stop(ctx, tc.m[pick].id, source_arg,
				   stop_part(st, tc.m[pick].id, tc.m[pick].state, &tc.m[pick].sup,
					     tc.m[pick].rel, source, &env, &r), &r);
		stop_report_release(&r);
		goto out;
	}
	/* All at once: every stop is asked for before any is waited for. */
	for (i = 0; tc.n > 1 && i < tc.n; i++) {
		if (tc.m[i].rel == NULL)
			stop_ask(st, tc.m[i].id, tc.m[i].state, &tc.m[i].sup);
	}
	for (i = 0; i < tc.n; i++) {
		if (tc.m[i].rel != NULL)
			continue;
		acted++;
		stop_report_init(&r);
		switch (report_stop(ctx, tc.m[i].id, NULL, stop_transfer(st, tc.m[i].id, &env, &r),
				    &r)) {
		case EXIT_OK: stopped++; break;
		case EXIT_NOMATCH: break;
		default: failed++; break;
		}
		stop_report_release(&r);
	}
	if (failed > 0)
		code = EXIT_FAILED;
	else if (stopped > 0)
		code = EXIT_OK;
	else if (acted > 0)
		code = EXIT_NOMATCH;   /* each said why */
	else {
		code = EXIT_NOMATCH;
		if (id_arg)
			cmd_error(ctx, "transfer %llu is not running", id);
		else if (all)
			cmd_error(ctx, "no running transfers");
		else if (!said_ended(ctx, st, &f, source, source_arg, &code))
			cmd_error(ctx, "no running transfer of '%s'%s%s", source_arg,
				  address ? " to " : "", address ? address : "");
	}
out:
	store_close(st);
	for (i = 0; i < tc.n; i++)
		free(tc.m[i].rel);
	free(tc.m);
	free(source);
	free(dir);
	return code;
}

const struct cmd_entry cmd_terminate_entry = {
	"terminate", "stop a running transfer", usage, options, cmd_terminate_exec,
};
