/* query: what is moving right now, as the portal reads it. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "cmd-options.h"
#include "history.h"
#include "report.h"
#include "proc.h"
#include "store.h"
#include "util.h"

#define INTERRUPTED_REASON "the supervisor process ended unexpectedly"

static const char usage[] =
	"usage: scow-sync-query\n"
	"       scow-sync query --json [--id ID] [--state LIST] [--since WHEN] [--all]\n"
	"\n"
	"Without --json (the portal's form): a JSON array with one object per file\n"
	"being moved right now: recvAddress, filePath, transferSize, progress, speed\n"
	"and leftTime, all strings. Prints [] when nothing is moving.\n"
	"\n"
	"With --json: {\"version\": 1, \"transfers\": [...]}, one object per transfer,\n"
	"newest first, with numbers as numbers (see scow-sync(1), JSON OUTPUT).\n"
	"By default the transfers not ended and those that ended in the last 24 hours.\n";

enum { OPT_JSON = CMD_OPT_OWN };

static const struct cmd_option options[] = {
	{ OPT_JSON, "json", NULL, "one object per transfer" },
	CMD_OPTIONS_HISTORY,
	CMD_OPTIONS_COMMON,
	CMD_OPTIONS_END,
};

/* Transfers whose supervisor turned out to be dead, to mark afterwards. */
struct dead {
	int64_t id;
	struct proc_id sup;
};

struct query_ctx {
	struct legacy_list *list;
	int64_t checked_id;           /* the last transfer whose supervisor we checked */
	bool checked_alive;
	struct dead *dead;
	size_t ndead, dead_alloc;
	struct strbuf path;
};

static int
add_live_file(const struct live_file *f, void *ctx)
{
	struct query_ctx *q = ctx;
	struct legacy_row row;
	char *root;

	/* Rows come ordered by transfer: check each supervisor once. */
	if (f->transfer_id != q->checked_id) {
		q->checked_id = f->transfer_id;
		/* Another node's transfer runs as far as we can tell: show it. */
		q->checked_alive = proc_alive_anywhere(&f->supervisor);
		if (!q->checked_alive) {
			ALLOC_GROW(q->dead, q->ndead, q->dead_alloc);
			q->dead[q->ndead].id = f->transfer_id;
			q->dead[q->ndead].sup = f->supervisor;
			q->ndead++;
		}
	}
	if (!q->checked_alive)
		return 0;
	root = path_dirname(f->source);
	strbuf_reset(&q->path);
	strbuf_addstr(&q->path, root);
	if (q->path.len == 0 || q->path.buf[q->path.len - 1] != '/')
		strbuf_addch(&q->path, '/');
	strbuf_addstr(&q->path, f->current_file);
	free(root);
	row.address = f->address;
	row.file_path = q->path.buf;
	row.bytes = f->file_bytes;
	row.percent = f->file_percent;
	row.rate = f->rate;
	row.eta = f->eta;
	if (row.eta < 0 && row.rate > 0 && row.percent > 0 && row.percent < 100)
		row.eta = (int64_t)((double)row.bytes * (100 - row.percent) / row.percent /
				    row.rate);
	legacy_list_add(q->list, &row);
	return 0;
}

/* A running transfer without a file in flight: is its supervisor alive? */
static int
check_active(const struct active_transfer *a, void *ctx)
{
	struct query_ctx *q = ctx;
	size_t i;

	/* Queued ones belong to a start that is still setting up. */
	if (a->state != TRANSFER_RUNNING)
		return 0;
	for (i = 0; i < q->ndead; i++)
		if (q->dead[i].id == a->id)
			return 0;
	if (!proc_alive_anywhere(&a->supervisor)) {
		ALLOC_GROW(q->dead, q->ndead, q->dead_alloc);
		q->dead[q->ndead].id = a->id;
		q->dead[q->ndead].sup = a->supervisor;
		q->ndead++;
	}
	return 0;
}

static int
add_json(const struct history_entry *e, void *ctx)
{
	json_report_add(ctx, e);
	return 0;
}

/* query --json: the history walk as one JSON document. */
static int
query_json(const struct cmd_ctx *ctx, const struct history_filter *f, int64_t now)
{
	struct json_report *r = json_report_new();
	struct store *st = NULL;
	int rc, code = EXIT_FAILED;

	if (cmd_open_store_if_any(ctx, &st) < 0)
		goto out;
	if (st != NULL) {
		if ((rc = history_foreach(st, f, now, add_json, r)) == SYNC_ERR_NOT_FOUND) {
			cmd_error(ctx, "no transfer with id %lld", (long long)f->id);
			code = EXIT_USAGE;
			goto out;
		}
		if (rc < 0) {
			cmd_error(ctx, "%s", store_errmsg(st));
			goto out;
		}
	} else if (f->id != 0) {
		cmd_error(ctx, "no transfer with id %lld", (long long)f->id);
		code = EXIT_USAGE;
		goto out;
	}
	if (json_report_write(r, stdout) < 0) {
		cmd_error(ctx, "cannot write output: %s", strerror(errno));
		goto out;
	}
	code = cmd_finish_stdout(ctx, EXIT_OK);
out:
	store_close(st);
	json_report_free(r);
	return code;
}

static int
cmd_query_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct history_filter filter;
	int64_t now = (int64_t)time(NULL);
	bool json = false, selected = false;
	struct query_ctx q;
	struct store *st = NULL;
	struct stat sb;
	char *dir = NULL, *db = NULL;
	char err[512];
	struct cmd_getopt g;
	size_t i;
	int c, code = EXIT_FAILED;

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
			return cmd_print_usage(ctx, &cmd_query_entry);
		case CMD_OPT_VERSION:
			return cmd_print_version(ctx);
		case OPT_JSON:
			json = true;
			break;
		default:
			switch (history_option(&filter, c, optarg, now, err, sizeof err)) {
			case 1:
				selected = true;
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
	if (selected && !json) {
		cmd_error(ctx, "--id, --state, --since and --all go with --json");
		return EXIT_USAGE;
	}
	if (json)
		return query_json(ctx, &filter, now);

	memset(&q, 0, sizeof q);
	strbuf_init(&q.path, 256);
	q.list = legacy_list_new();
	dir = cmd_state_dir(ctx);
	db = xasprintf("%s/scow-sync.db", dir);
	/*
	 * Nothing was ever started: nothing is moving, and nothing to create.
	 * But a store that is there and cannot be read (another user's, a
	 * state directory made unreadable) is an error, not "nothing moves".
	 */
	if (stat(db, &sb) < 0 && errno != ENOENT && errno != ENOTDIR) {
		cmd_error(ctx, "cannot read state database '%s': %s", db, strerror(errno));
		goto out;
	}
	if (stat(db, &sb) == 0) {
		if (store_open(dir, &st, err, sizeof err) < 0) {
			cmd_error(ctx, "%s", err);
			goto out;
		}
		if (store_live_foreach(st, add_live_file, &q) < 0 ||
		    store_active_foreach(st, check_active, &q) < 0) {
			cmd_error(ctx, "%s", store_errmsg(st));
			goto out;
		}
		for (i = 0; i < q.ndead; i++) {
			if (store_transfer_mark_interrupted(st, q.dead[i].id, &q.dead[i].sup,
							    INTERRUPTED_REASON) < 0)
				continue;
			/* For a person; the portal reads only stdout. */
			if (ctx->verbosity >= 0)
				cmd_error(ctx, "transfer %lld was interrupted (%s); "
					  "'scow-sync resume %lld' continues it",
					  (long long)q.dead[i].id, INTERRUPTED_REASON,
					  (long long)q.dead[i].id);
		}
	}
	if (legacy_list_write(q.list, stdout) < 0) {
		cmd_error(ctx, "cannot write output: %s", strerror(errno));
		goto out;
	}
	/* Like the original tool: no newline, unless a person is reading. */
	if (isatty(STDOUT_FILENO))
		putchar('\n');
	code = cmd_finish_stdout(ctx, EXIT_OK);
out:
	store_close(st);
	legacy_list_free(q.list);
	strbuf_release(&q.path);
	free(q.dead);
	free(dir);
	free(db);
	return code;
}

const struct cmd_entry cmd_query_entry = {
	"query", "show what is being moved right now (JSON)", usage, options,
	cmd_query_exec,
};
