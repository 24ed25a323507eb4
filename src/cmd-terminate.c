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
#include "util.h"

#define STOP_WAIT 20.0   /* seconds for a supervisor to stop its workers */

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
};

struct terminate_ctx {
	struct match *m;
	size_t n, alloc;
	const char *source;   /* NULL: every transfer the filter lets through */
	bool partial;         /* a running transfer contains source */
};

static int
collect(const struct transfer *t, void *ctx)
{
	struct terminate_ctx *tc = ctx;

	if (tc->source && strcmp(t->source, tc->source) != 0) {
		if (path_is_within(tc->source, t->source))
			tc->partial = true;
		return 0;
	}
	ALLOC_GROW(tc->m, tc->n, tc->alloc);
	tc->m[tc->n].id = t->id;
	tc->m[tc->n].state = t->state;
	tc->m[tc->n].sup = t->supervisor;
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

/* Stop one transfer; returns true when it was running and is now stopped. */
static bool
stop_transfer(const struct cmd_ctx *ctx, struct store *st, const struct match *m)
{
	if (m->state != TRANSFER_RUNNING || !proc_matches(&m->sup)) {
		/* Its supervisor is gone: record that instead of pretending. */
		store_transfer_mark_interrupted(st, m->id, &m->sup,
						"the supervisor process ended unexpectedly");
		return false;
	}
	if (proc_signal(&m->sup, SIGTERM) < 0)
		return false;
	if (!wait_gone(&m->sup, STOP_WAIT)) {
		cmd_error(ctx, "transfer %lld did not stop in %.0f s; killing it",
			  (long long)m->id, STOP_WAIT);
		proc_signal(&m->sup, SIGKILL);
		wait_gone(&m->sup, 5);
		store_transfer_finish(st, m->id, TRANSFER_TERMINATED, "killed: did not stop in time");
	}
	if (ctx->verbosity > 0)
		fprintf(stderr, "%s: stopped transfer %lld\n", ctx->prog, (long long)m->id);
	return true;
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
		if (transfer_state_finished(t.state)) {
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
		f.unfinished_only = true;
		tc.source = source;
		if (store_transfer_foreach(st, &f, collect, &tc) < 0) {
			cmd_error(ctx, "%s", store_errmsg(st));
			goto out;
		}
	}
	for (i = 0; i < tc.n; i++)
		stopped += stop_transfer(ctx, st, &tc.m[i]);
	if (stopped > 0)
		code = EXIT_OK;
	else {
		code = EXIT_NOMATCH;
		if (id_arg)
			cmd_error(ctx, "transfer %llu is not running", id);
		else if (all)
			cmd_error(ctx, "no running transfers");
		else if (tc.partial && tc.n == 0)
			cmd_error(ctx, "'%s' is part of a running transfer; stopping part of "
				  "a transfer is not supported yet", source_arg);
		else
			cmd_error(ctx, "no running transfer of '%s'%s%s", source_arg,
				  address ? " to " : "", address ? address : "");
	}
out:
	store_close(st);
	free(tc.m);
	free(source);
	free(dir);
	return code;
}

const struct cmd_entry cmd_terminate_entry = {
	"terminate", "stop a running transfer", usage, options, cmd_terminate_exec,
};
