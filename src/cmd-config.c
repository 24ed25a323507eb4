/* config: the settings in effect, and where each came from. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "cmd-options.h"
#include "settings.h"
#include "util.h"

static const char usage[] =
	"usage: scow-sync config\n"
	"\n"
	"Print the settings in effect as 'key = value' lines, each with where it\n"
	"came from: a flag, the environment, the user's file, the system file, or\n"
	"the default. Settings that are unset (the default decides) are shown as\n"
	"comments. Flags win over the environment, the environment over the user's\n"
	"file, that over the system file. A bad setting is left out of the list and\n"
	"named on stderr (exit 2). See scow-sync(1), CONFIGURATION.\n";

static const struct cmd_option options[] = {
	CMD_OPTIONS_COMMON,
	CMD_OPTIONS_END,
};

static int
cmd_config_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	const struct settings *st;
	const char *problem;
	struct strbuf out = STRBUF_INIT, line = STRBUF_INIT, shown = STRBUF_INIT;
	struct cmd_getopt g;
	int c, k;

	opterr = 0;
	optind = 0;   /* afresh, whatever parsed before (see options.c) */
	cmd_getopt_init(&g, "+", options);
	while ((c = getopt_long(argc, argv, g.shortopts, g.longopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			ctx->verbosity++;
			break;
		case 'q':
			ctx->verbosity--;
			break;
		case 'h': return cmd_print_usage(ctx, &cmd_config_entry);
		case CMD_OPT_VERSION: return cmd_print_version(ctx);
		default:
			return cmd_option_error(ctx, c, argv);
		}
	}
	if (optind < argc) {
		cmd_error(ctx, "unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	/* Show what applies even when a setting is bad, and then say which. */
	st = cmd_settings_with_problem(ctx, &problem);
	strbuf_addf(&out, "# system file: %s%s\n", st->system_file,
		    access(st->system_file, F_OK) == 0 ? "" : " (none)");
	strbuf_addf(&out, "# user file: %s%s\n", st->user_file,
		    access(st->user_file, F_OK) == 0 ? "" : " (none)");
	for (k = 0; k < SETTING_COUNT; k++) {
		const struct setting_value *v = &st->v[k];

		strbuf_reset(&line);
		if (v->text == NULL) {
			strbuf_addf(&line, "# %s: %s", setting_key((enum setting)k),
				    setting_default_text((enum setting)k));
			strbuf_addf(&out, "%-40s # default\n", line.buf);
			continue;
		}
		strbuf_reset(&shown);
		if (k == SETTING_NOTIFY_SECRET)
			strbuf_addstr(&shown, "(set, not shown)");
		else
			escape_untrusted(&shown, v->text, strlen(v->text));
		strbuf_addf(&line, "%s = %s", setting_key((enum setting)k), shown.buf);
		strbuf_reset(&shown);
		escape_untrusted(&shown, v->where, strlen(v->where));
		strbuf_addf(&out, "%-40s # %s, %s\n", line.buf, setting_source_name(v->source),
			    shown.buf);
	}
	fwrite(out.buf, 1, out.len, stdout);
	strbuf_release(&out);
	strbuf_release(&line);
	strbuf_release(&shown);
	if (problem) {
		cmd_finish_stdout(ctx, EXIT_OK);
		cmd_error(ctx, "%s (left out above)", problem);
		return EXIT_USAGE;
	}
	return cmd_finish_stdout(ctx, EXIT_OK);
}

const struct cmd_entry cmd_config_entry = {
	"config", "show the settings in effect and where they come from", usage, options,
	cmd_config_exec,
};
