/* log: one transfer's lines from the logs. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cmd-options.h"
#include "log.h"
#include "store.h"
#include "util.h"

static const char usage[] =
	"usage: scow-sync log [-e] ID\n"
	"\n"
	"Print the lines of transfer ID from scow-sync.log in the state directory,\n"
	"oldest first, the rotated files included (scow-sync.log.3 to .1).\n";

static const struct cmd_option options[] = {
	{ 'e', "errors", NULL, "only warnings and errors (from scow-sync.err)" },
	CMD_OPTIONS_COMMON,
	CMD_OPTIONS_END,
};

/*
 * Print the lines of file whose transfer field ("TIME [ID] LEVEL: ...")
 * is id; *found counts them. The first lines written again after a
 * rotation (LOG_CARRIED_MARK) are printed only while none of the transfer's
 * other lines were (*own): when the lines they repeat are gone. A missing
 * file has no lines.
 */
static int
print_lines_of(const char *file, int64_t id, uint64_t *found, bool *own)
{
	char tag[32], *line = NULL;
	size_t alloc = 0;
	ssize_t n;
	FILE *f = fopen(file, "re");
	int tag_len = snprintf(tag, sizeof tag, " [%lld] ", (long long)id);

	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((n = getline(&line, &alloc, f)) > 0) {
		const char *space = memchr(line, ' ', (size_t)n);

		if (space && (size_t)(line + n - space) > (size_t)tag_len &&
		    memcmp(space, tag, (size_t)tag_len) == 0) {
			const char *level_end = strstr(space + tag_len, ": ");
			bool carried = level_end &&
				       strncmp(level_end + 2, LOG_CARRIED_MARK,
					       strlen(LOG_CARRIED_MARK)) == 0;

			if (carried && *own)
				continue;
			*own |= !carried;
			/* Written no more (a reader gone): the caller says why. */
			if (fwrite(line, 1, (size_t)n, stdout) != (size_t)n)
				break;
			(*found)++;
		}
	}
	free(line);
	n = ferror(f) ? -1 : 0;
	fclose(f);
	return (int)n;
}

static int
cmd_log_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	unsigned long long id;
	bool errors = false;
	uint64_t found = 0;
	bool own = false;
	struct cmd_getopt g;
	char *dir, *base;
	int c, i, code = EXIT_FAILED;

	opterr = 0;
	optind = 0;   /* afresh, whatever parsed before (see options.c) */
	cmd_getopt_init(&g, "+", options);
	while ((c = getopt_long(argc, argv, g.shortopts, g.longopts, NULL)) != -1) {
		switch (c) {
		case 'e': errors = true; break;
		case 'q': ctx->verbosity--; break;
		case 'v': ctx->verbosity++; break;
		case 'h': return cmd_print_usage(ctx, &cmd_log_entry);
		case CMD_OPT_VERSION: return cmd_print_version(ctx);
		default:
			return cmd_option_error(ctx, c, argv);
		}
	}
	if (optind == argc) {
		cmd_error(ctx, "which transfer? usage: scow-sync log ID");
		return EXIT_USAGE;
	}
	if (optind + 1 < argc) {
		cmd_error(ctx, "unexpected argument '%s'", argv[optind + 1]);
		return EXIT_USAGE;
	}
	if (parse_ullong(argv[optind], 1, INT64_MAX, &id) < 0) {
		cmd_error(ctx, "invalid transfer id '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	dir = cmd_state_dir(ctx);
	base = xasprintf("%s/%s", dir, errors ? "scow-sync.err" : "scow-sync.log");
	for (i = LOG_ROTATE_KEEP; i >= 0; i--) {
		char *file = i ? xasprintf("%s.%d", base, i) : xstrdup(base);

		if (print_lines_of(file, (int64_t)id, &found, &own) < 0) {
			cmd_error(ctx, "cannot read '%s': %s", file, strerror(errno));
			free(file);
			goto out;
		}
		free(file);
	}
	if (found == 0) {
		struct store *st = NULL;
		struct transfer t;
		bool known = false;

		if (cmd_open_store_if_any(ctx, &st) < 0)
			goto out;
		if (st && store_transfer_get(st, (int64_t)id, &t) == 0) {
			known = true;
			transfer_release(&t);
		}
		store_close(st);
		if (!known) {
			cmd_error(ctx, "no transfer with id %llu", id);
			code = EXIT_USAGE;
			goto out;
		}
		if (ctx->verbosity >= 0)
			cmd_error(ctx, "no lines of transfer %llu are left in the logs", id);
	}
	code = cmd_finish_stdout(ctx, EXIT_OK);
out:
	free(dir);
	free(base);
	return code;
}

const struct cmd_entry cmd_log_entry = {
	"log", "show one transfer's log lines", usage, options, cmd_log_exec,
};
