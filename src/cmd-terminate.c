/* terminate: stop a running transfer. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "cmd.h"
#include "options.h"
#include "proc.h"
#include "store.h"
#include "supervisor.h"
#include "util.h"

#define STOP_WAIT 20.0   /* seconds for a supervisor to stop its workers */
#define PART_WAIT 60.0   /* seconds for a supervisor to stop a part */

static const char usage[] =
	"usage: scow-sync-terminate -a HOST -u USER -s SOURCE\n"
	"       scow-sync-terminate --id ID\n"
	"       scow-sync-terminate --all [-a HOST] [-u USER]\n"
	"\n"
	"Stop the running transfer to HOST as USER whose source is SOURCE, the\n"
	"transfer with the given id, or all running transfers. Returns when every\n"
	"process of them has ended.\n"
	"\n"
	"  -a, --address HOST      remote host the transfer goes to\n"
	"  -u, --user USER         remote user\n"
	"  -s, --source PATH       the transfer's source, as given to start\n"
	"      --id ID             the transfer with this id (scow-sync start prints it)\n"
	"      --all               every running transfer (of HOST and USER if given)\n"
	"  -v, --verbose           say more\n"
	"  -q, --quiet             say only errors\n"
	"  -h, --help              show this help\n"
	"      --version           show the version\n";

static const char *const options[] = {
	"-a", "--address", "-u", "--user", "-s", "--source", "--id", "--all", "-v", "--verbose",
	"-q", "--quiet", "-h", "--help", "--version", NULL,
};

struct match {
	int64_t id;
	enum transfer_state state;
	struct proc_id sup;
	char *rel;            /* for a part: its path relative to the source's parent */
};

struct terminate_ctx {
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

	if (transfer_state_finished(t->state) && t->state != TRANSFER_INTERRUPTED)
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

/* Wait until the process is gone; false on timeout. */
static bool
wait_gone(const struct proc_id *p, double seconds)
{
	double deadline = now_monotonic() + seconds;

	while (proc_matches(p)) {
		if (now_monotonic() > deadline)
			return false;
		poll(NULL, 0, 50);
	}
	return true;
}

/*
 * A transfer whose supervisor is gone: record it terminated and remove
 * what its workers left on the far side ourselves.
 */
static void
stop_orphan(const struct cmd_ctx *ctx, struct store *st, int64_t id)
{
	struct supervisor_config cfg;
	struct transfer t;
	char err[512];

	if (store_transfer_get(st, id, &t) < 0)
		return;
	store_transfer_finish(st, id, TRANSFER_TERMINATED,
			      "terminated on request after its supervisor had ended");
	/* The files its units were moving when it died are among the leftovers. */
	if (supervisor_config_from_env(&cfg, err, sizeof err) == 0 &&
	    supervisor_clean_remote(st, &t, &cfg) < 0 && ctx->verbosity >= 0)
		cmd_error(ctx, "could not remove all partial files of transfer %lld on %s; "
			  "see the log", (long long)id, t.address);
	store_units_reset_running(st, id);
	transfer_release(&t);
}

/* Stop one whole transfer; returns true when it was stopped. */
static bool
stop_transfer(const struct cmd_ctx *ctx, struct store *st, const struct match *m)
{
	struct transfer t;
	bool live = m->state == TRANSFER_RUNNING && proc_matches(&m->sup);

	if (!live) {
		if (m->state == TRANSFER_QUEUED && proc_matches(&m->sup))
			return false;   /* a start still setting it up */
		stop_orphan(ctx, st, m->id);
		return true;
	}
	/* Say that this stop is for good (not a reboot's): the supervisor cleans up. */
	if (store_transfer_get(st, m->id, &t) == SYNC_OK) {
		store_exclusion_add(st, m->id, path_basename(t.source), NULL);
		transfer_release(&t);
	}
	if (proc_signal(&m->sup, SIGTERM) < 0) {
		stop_orphan(ctx, st, m->id);
		return true;
	}
	if (!wait_gone(&m->sup, STOP_WAIT)) {
		cmd_error(ctx, "transfer %lld did not stop in %.0f s; killing it",
			  (long long)m->id, STOP_WAIT);
		proc_signal(&m->sup, SIGKILL);
		wait_gone(&m->sup, 5);
		stop_orphan(ctx, st, m->id);
	}
	if (ctx->verbosity > 0)
		fprintf(stderr, "%s: stopped transfer %lld\n", ctx->prog, (long long)m->id);
	return true;
}

/*
 * Stop one part of a running transfer; an exit code. The supervisor does
 * the work and records the outcome; a transfer without a live supervisor
 * leaves the part out when it is resumed.
 */
static int
stop_part(const struct cmd_ctx *ctx, struct store *st, const struct match *m,
	  const char *shown)
{
	double deadline = now_monotonic() + PART_WAIT;
	enum exclusion_state state = EXCLUSION_PENDING;
	int64_t ex;

	if (store_exclusion_add(st, m->id, m->rel, &ex) < 0) {
		cmd_error(ctx, "%s", store_errmsg(st));
		return EXIT_FAILED;
	}
	if (m->state != TRANSFER_RUNNING || proc_signal(&m->sup, SIGUSR1) < 0) {
		store_transfer_mark_interrupted(st, m->id, &m->sup,
						"the supervisor process ended unexpectedly");
		if (ctx->verbosity >= 0)
			cmd_error(ctx, "transfer %lld is not running; '%s' will be left out when "
				  "it is resumed", (long long)m->id, shown);
		return EXIT_OK;
	}
	while (store_exclusion_state(st, ex, &state) == SYNC_OK && state == EXCLUSION_PENDING) {
		if (now_monotonic() > deadline || !proc_matches(&m->sup))
			break;
		poll(NULL, 0, 50);
	}
	switch (state) {
	case EXCLUSION_APPLIED:
		if (ctx->verbosity > 0)
			fprintf(stderr, "%s: stopped '%s' of transfer %lld\n", ctx->prog, shown,
				(long long)m->id);
		return EXIT_OK;
	case EXCLUSION_DONE:
		cmd_error(ctx, "'%s' has already arrived", shown);
		return EXIT_NOMATCH;
	case EXCLUSION_NOMATCH:
		cmd_error(ctx, "'%s' is not part of transfer %lld", shown, (long long)m->id);
		return EXIT_NOMATCH;
	default:
		if (!proc_matches(&m->sup)) {
			cmd_error(ctx, "transfer %lld ended before '%s' could be stopped",
				  (long long)m->id, shown);
			return EXIT_NOMATCH;
		}
		cmd_error(ctx, "transfer %lld did not stop '%s' in %.0f s", (long long)m->id,
			  shown, PART_WAIT);
		return EXIT_FAILED;
	}
}

static int
cmd_terminate_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "address", required_argument, NULL, 'a' },
		{ "user", required_argument, NULL, 'u' },
		{ "source", required_argument, NULL, 's' },
		{ "id", required_argument, NULL, 'I' },
		{ "all", no_argument, NULL, 'A' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct transfer_filter f;
	struct terminate_ctx tc;
	struct store *st = NULL;
	const char *address = NULL, *user = NULL, *source_arg = NULL, *id_arg = NULL;
	unsigned long long id = 0;
	bool all = false;
	char *source = NULL, *dir = NULL;
	char err[512];
	size_t i, stopped = 0;
	int c, code = EXIT_FAILED;

	memset(&tc, 0, sizeof tc);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:a:u:s:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': address = optarg; break;
		case 'u': user = optarg; break;
		case 's': source_arg = optarg; break;
		case 'I': id_arg = optarg; break;
		case 'A': all = true; break;
		case 'v': ctx->verbosity++; break;
		case 'q': ctx->verbosity--; break;
		case 'h': return cmd_print_usage(ctx, &cmd_terminate_entry);
		case 'V': return cmd_print_version(ctx);
		case ':':
			cmd_error(ctx, "option '%s' needs a value", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			cmd_error(ctx, "unknown option '%s'", argv[optind - 1]);
			return EXIT_USAGE;
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
	if (source_arg && path_absolute(source_arg, &source) < 0) {
		cmd_error(ctx, "invalid source '%s': %s", source_arg, strerror(errno));
		return EXIT_USAGE;
	}

	dir = store_default_dir();
	if (store_open(dir, &st, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		goto out;
	}
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
		if (transfer_state_finished(t.state) && t.state != TRANSFER_INTERRUPTED) {
			cmd_error(ctx, "transfer %llu has already ended (%s)", id,
				  transfer_state_name(t.state));
			transfer_release(&t);
			code = EXIT_NOMATCH;
			goto out;
		}
		collect(&t, &tc);
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
		/* A part of a running transfer: the newest that holds it. */
		code = stop_part(ctx, st, &tc.m[0], source_arg);
		goto out;
	}
	for (i = 0; i < tc.n; i++)
		if (tc.m[i].rel == NULL)
			stopped += stop_transfer(ctx, st, &tc.m[i]);
	if (stopped > 0)
		code = EXIT_OK;
	else {
		code = EXIT_NOMATCH;
		if (id_arg)
			cmd_error(ctx, "transfer %llu is not running", id);
		else if (all)
			cmd_error(ctx, "no running transfers");
		else
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
