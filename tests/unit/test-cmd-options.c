/* Unit tests for cmd-options: getopt_long's arrays, help and spellings from one table. */
#include "config.h"

#include <getopt.h>
#include <string.h>

#include "cmd-options.h"
#include "util.h"
#include "unit.h"

enum { KEY_OLDER = CMD_OPT_OWN, KEY_EXACT, KEY_LONG };

/* A value with both names, one only short, one only long, and the layout's edge cases. */
static const struct cmd_option table[] = {
	{ 'a', "address", "HOST", "remote host" },
	{ 'c', NULL, NULL, "only a short name" },
	{ KEY_OLDER, "older-than", "DAYS", "only a long name, with a value" },
	{ 'x', NULL, "N", "a short name with a value\nand a second line" },
	{ KEY_EXACT, "exactly-xy", "WIDTH", "two spaces after the widest that fits" },
	{ KEY_LONG, "a-very-long-option", "VALUE", "below the option" },
	{ 'f', "foreground", NULL, "no value" },
	CMD_OPTIONS_END,
};

static const struct cmd_option common[] = { CMD_OPTIONS_COMMON, CMD_OPTIONS_END };

static void
test_getopt_arrays(void)
{
	struct cmd_getopt g;

	cmd_getopt_init(&g, "+:", table);
	CHECK_STR(g.shortopts, "+:a:cx:f");
	CHECK_STR(g.longopts[0].name, "address");
	CHECK_INT(g.longopts[0].has_arg, required_argument);
	CHECK_INT(g.longopts[0].val, 'a');
	CHECK(g.longopts[0].flag == NULL);
	CHECK_STR(g.longopts[1].name, "older-than");
	CHECK_INT(g.longopts[1].has_arg, required_argument);
	CHECK_INT(g.longopts[1].val, KEY_OLDER);
	CHECK_STR(g.longopts[2].name, "exactly-xy");
	CHECK_STR(g.longopts[3].name, "a-very-long-option");
	CHECK_STR(g.longopts[4].name, "foreground");
	CHECK_INT(g.longopts[4].has_arg, no_argument);
	CHECK_INT(g.longopts[4].val, 'f');
	CHECK(g.longopts[5].name == NULL);
	CHECK_INT(g.longopts[5].val, 0);

	cmd_getopt_init(&g, "+", common);
	CHECK_STR(g.shortopts, "+vqh");
	CHECK_STR(g.longopts[3].name, "version");
	CHECK_INT(g.longopts[3].val, CMD_OPT_VERSION);
}

/* What getopt_long makes of argv with the arrays; "key=value" or "key" per option. */
static void
parse(const char *prefix, int argc, char **argv, struct strbuf *seen)
{
	struct cmd_getopt g;
	int c;

	cmd_getopt_init(&g, prefix, table);
	strbuf_reset(seen);
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, g.shortopts, g.longopts, NULL)) != -1) {
		if (c < CMD_OPT_LONG_ONLY)
			strbuf_addch(seen, c);
		else
			strbuf_addf(seen, "#%d", c - CMD_OPT_OWN);
		if (c != ':' && c != '?' && optarg)
			strbuf_addf(seen, "=%s", optarg);
		strbuf_addch(seen, ' ');
	}
	strbuf_addf(seen, "@%d", optind);
}

static void
test_parsing(void)
{
	char *all[] = { "prog", "-a", "h", "-cx5", "--older-than=3", "--exactly", "w",
			"--a-very", "v", "--fore", "operand", "-c", NULL };
	char *missing_long[] = { "prog", "--older-than", NULL };
	char *missing_short[] = { "prog", "-c", "-x", NULL };
	char *unknown[] = { "prog", "-b", NULL };
	char *no_value[] = { "prog", "--foreground=x", NULL };
	struct strbuf seen = STRBUF_INIT;

	parse("+:", 12, all, &seen);
	CHECK_STR(seen.buf, "a=h c x=5 #0=3 #1=w #2=v f @10");
	parse("+:", 2, missing_long, &seen);
	CHECK_STR(seen.buf, ": @2");
	parse("+:", 3, missing_short, &seen);
	CHECK_STR(seen.buf, "c : @3");
	/* Without ':' first, a missing value is '?' like any other mistake. */
	parse("+", 3, missing_short, &seen);
	CHECK_STR(seen.buf, "c ? @3");
	parse("+:", 2, unknown, &seen);
	CHECK_STR(seen.buf, "? @2");
	parse("+:", 2, no_value, &seen);
	CHECK_STR(seen.buf, "? @2");
	CHECK_INT(optopt, 'f');
	strbuf_release(&seen);
}

static void
test_help(void)
{
	struct strbuf out = STRBUF_INIT;

	cmd_options_help(&out, table);
	CHECK_STR(out.buf,
		  "  -a, --address HOST      remote host\n"
		  "  -c                      only a short name\n"
		  "      --older-than DAYS   only a long name, with a value\n"
		  "  -x N                    a short name with a value\n"
		  "                          and a second line\n"
		  "      --exactly-xy WIDTH  two spaces after the widest that fits\n"
		  "      --a-very-long-option VALUE\n"
		  "                          below the option\n"
		  "  -f, --foreground        no value\n");
	/* Appended, as every strbuf function does. */
	strbuf_reset(&out);
	strbuf_addstr(&out, "options:\n");
	cmd_options_help(&out, common);
	CHECK_STR(out.buf,
		  "options:\n"
		  "  -v, --verbose           say more\n"
		  "  -q, --quiet             say only errors\n"
		  "  -h, --help              show this help\n"
		  "      --version           show the version\n");
	strbuf_release(&out);
}

static void
test_spellings(void)
{
	struct strbuf out = STRBUF_INIT;

	cmd_options_spellings(&out, table);
	CHECK_STR(out.buf, "-a\n--address\n-c\n--older-than\n-x\n--exactly-xy\n"
		  "--a-very-long-option\n-f\n--foreground\n");
	strbuf_reset(&out);
	cmd_options_spellings(&out, common);
	CHECK_STR(out.buf, "-v\n--verbose\n-q\n--quiet\n-h\n--help\n--version\n");
	strbuf_release(&out);
}

int
main(void)
{
	test_getopt_arrays();
	test_parsing();
	test_help();
	test_spellings();
	return unit_done("test-cmd-options");
}
