/* cmd-options: getopt_long's arrays, help and spellings from one table (see cmd-options.h). */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "cmd-options.h"
#include "util.h"

/* The column where each option's help starts, as the commands have always had it. */
#define HELP_COLUMN 26

static bool
is_end(const struct cmd_option *o)
{
	return o->key == 0;
}

static bool
has_short(const struct cmd_option *o)
{
	return o->key < CMD_OPT_LONG_ONLY;
}

/* Stop on a table that getopt_long, --help or the completions would get wrong. */
static void
check_table(const struct cmd_option *opts)
{
	const struct cmd_option *o, *p;

	for (o = opts; !is_end(o); o++) {
		if (o - opts >= CMD_OPTIONS_MAX)
			fatal("more than %d options in one table", CMD_OPTIONS_MAX);
		if (o->key < 0 || (has_short(o) ? !isalnum(o->key) : o->long_name == NULL))
			fatal("option key %d: neither a letter nor a long name", o->key);
		if (o->help == NULL)
			fatal("option key %d has no help", o->key);
		for (p = opts; p != o; p++) {
			if (p->key == o->key)
				fatal("option key %d twice in one table", o->key);
			if (p->long_name && o->long_name && strcmp(p->long_name, o->long_name) == 0)
				fatal("option --%s twice in one table", o->long_name);
		}
	}
}

void
cmd_getopt_init(struct cmd_getopt *g, const char *prefix, const struct cmd_option *opts)
{
	const struct cmd_option *o;
	struct option *l = g->longopts;
	char *s = g->shortopts;
	size_t n = strlen(prefix);

	check_table(opts);
	if (n > 3)
		fatal("getopt prefix '%s' is longer than 3", prefix);
	memcpy(s, prefix, n);
	s += n;
	for (o = opts; !is_end(o); o++) {
		if (has_short(o)) {
			*s++ = (char)o->key;
			if (o->arg_name)
				*s++ = ':';
		}
		if (o->long_name) {
			l->name = o->long_name;
			l->has_arg = o->arg_name ? required_argument : no_argument;
			l->flag = NULL;
			l->val = o->key;
			l++;
		}
	}
	*s = '\0';
	memset(l, 0, sizeof *l);
}

void
cmd_options_help(struct strbuf *out, const struct cmd_option *opts)
{
	const struct cmd_option *o;

	check_table(opts);
	for (o = opts; !is_end(o); o++) {
		size_t start = out->len;
		const char *line = o->help, *nl;

		if (has_short(o))
			strbuf_addf(out, "  -%c%s", o->key, o->long_name ? ", " : "");
		else
			strbuf_addstr(out, "      ");
		if (o->long_name)
			strbuf_addf(out, "--%s", o->long_name);
		if (o->arg_name)
			strbuf_addf(out, " %s", o->arg_name);
		/* Two spaces at least between the option and its help. */
		if (out->len - start > HELP_COLUMN - 2) {
			strbuf_addch(out, '\n');
			start = out->len;
		}
		for (;;) {
			while (out->len - start < HELP_COLUMN)
				strbuf_addch(out, ' ');
			nl = strchr(line, '\n');
			strbuf_add(out, line, nl ? (size_t)(nl - line) : strlen(line));
			strbuf_addch(out, '\n');
			if (nl == NULL)
				break;
			line = nl + 1;
			start = out->len;
		}
	}
}

void
cmd_options_spellings(struct strbuf *out, const struct cmd_option *opts)
{
	const struct cmd_option *o;

	check_table(opts);
	for (o = opts; !is_end(o); o++) {
		if (has_short(o))
			strbuf_addf(out, "-%c\n", o->key);
		if (o->long_name)
			strbuf_addf(out, "--%s\n", o->long_name);
	}
}
