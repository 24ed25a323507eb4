/* scow-sync: find the subcommand by argv[0] or argv[1] and run it. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "cmd-options.h"
#include "proctitle.h"
#include "util.h"

static const struct cmd_entry *const commands[] = {
	&cmd_start_entry,
	&cmd_run_entry,
	&cmd_watch_entry,
	&cmd_query_entry,
	&cmd_terminate_entry,
	&cmd_resume_entry,
	&cmd_verify_entry,
	&cmd_limit_entry,
	&cmd_status_entry,
	&cmd_prune_entry,
	&cmd_log_entry,
	&cmd_config_entry,
	NULL,
};

#define LEGACY_PREFIX "scow-sync-"

static const struct cmd_entry *
find_command(const char *name)
{
	size_t i;

	for (i = 0; commands[i]; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

static void
print_commands(FILE *f)
{
	size_t i;

	fputs("usage: scow-sync COMMAND [OPTIONS]\n"
	      "       scow-sync -a HOST -u USER -s SOURCE -d DEST ...   (same as run)\n\n"
	      "commands:\n", f);
	for (i = 0; commands[i]; i++)
		fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fputs("  help       show help for a command\n"
	      "  version    show the version\n\n"
	      "The names scow-sync-start, scow-sync-query and scow-sync-terminate run the\n"
	      "commands of the same name. See scow-sync(1).\n", f);
}

/* Hidden commands that let the completion tests read the command table. */
static int
print_table(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct strbuf spellings = STRBUF_INIT;
	const struct cmd_entry *e;
	size_t i;

	if (strcmp(argv[1], "__commands") == 0) {
		for (i = 0; commands[i]; i++)
			puts(commands[i]->name);
		puts("help");
		puts("version");
		return cmd_finish_stdout(ctx, EXIT_OK);
	}
	if (argc < 3 || (e = find_command(argv[2])) == NULL) {
		cmd_error(ctx, "usage: scow-sync __options COMMAND");
		return EXIT_USAGE;
	}
	cmd_options_spellings(&spellings, e->options);
	fwrite(spellings.buf, 1, spellings.len, stdout);
	strbuf_release(&spellings);
	return cmd_finish_stdout(ctx, EXIT_OK);
}

int
main(int argc, char **argv)
{
	struct cmd_ctx ctx = { "scow-sync", false, 0, false, false };
	const char *base;
	const struct cmd_entry *e;
	char prog[64];

	/* Before anything borrows an argument: a supervisor writes over them. */
	proctitle_init(argc, argv);
	base = argc > 0 ? path_basename(argv[0]) : "scow-sync";
	ensure_std_fds();
	signal(SIGPIPE, SIG_IGN);

	/*
	 * Internal commands first, whatever the name: the supervisor of a
	 * transfer started as scow-sync-start (a hard link, as make install
	 * makes it) runs its piece readers under the name it was run by.
	 */
	if (argc > 1 && strcmp(argv[1], "__read-piece") == 0)
		return cmd_read_piece(argc, argv);
	if (argc > 1 && strcmp(argv[1], "__shape") == 0)
		return cmd_shape(argc, argv);
	if (argc > 1 && strcmp(argv[1], "__node-worker") == 0)
		return cmd_node_worker(argc, argv);
	if (argc > 1 && strcmp(argv[1], "__s3-put") == 0)
		return cmd_s3_put(argc, argv);
	if (argc > 1 && strcmp(argv[1], "__s3-get") == 0)
		return cmd_s3_get(argc, argv);

	/* scow-sync-start and friends: the portal's names. */
	if (strncmp(base, LEGACY_PREFIX, strlen(LEGACY_PREFIX)) == 0) {
		e = find_command(base + strlen(LEGACY_PREFIX));
		if (e == NULL) {
			fprintf(stderr, "%s: unknown command name\n", base);
			return EXIT_USAGE;
		}
		ctx.prog = base;
		ctx.legacy = true;
		return e->exec(argc, argv, &ctx);
	}

	if (argc < 2) {
		print_commands(stderr);
		return EXIT_USAGE;
	}
	if (argv[1][0] == '-') {
		if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
			print_commands(stdout);
			return cmd_finish_stdout(&ctx, EXIT_OK);
		}
		if (strcmp(argv[1], "--version") == 0)
			return cmd_print_version(&ctx);
		/* scow-sync -a ... -s ...: the original tool's foreground form. */
		return cmd_run_entry.exec(argc, argv, &ctx);
	}
	if (strcmp(argv[1], "__commands") == 0 || strcmp(argv[1], "__options") == 0)
		return print_table(&ctx, argc, argv);
	if (strcmp(argv[1], "version") == 0)
		return cmd_print_version(&ctx);
	if (strcmp(argv[1], "help") == 0) {
		if (argc > 2 && (e = find_command(argv[2])) != NULL)
			return cmd_print_usage(&ctx, e);
		print_commands(stdout);
		return cmd_finish_stdout(&ctx, EXIT_OK);
	}
	if ((e = find_command(argv[1])) == NULL) {
		fprintf(stderr, "scow-sync: unknown command '%s'\n", argv[1]);
		print_commands(stderr);
		return EXIT_USAGE;
	}
	snprintf(prog, sizeof prog, "scow-sync %s", e->name);
	ctx.prog = prog;
	return e->exec(argc - 1, argv + 1, &ctx);
}
