/*
 * cmd-options: a command's options, declared once in a table, and what is
 * made of that table at run time: getopt_long's arrays, the options part of
 * --help, and the spellings `scow-sync __options` lists for completions.
 *
 * A table is an array of struct cmd_option that ends with CMD_OPTIONS_END.
 * An option's key is what getopt_long returns for it. A key below 256 is a
 * letter or digit and is the short spelling too ('a' is -a); a key from
 * CMD_OPT_LONG_ONLY up has none, and the option needs a long name. Keys
 * and names are unique within a table; a table that breaks these rules
 * stops the program at its first use (fatal), so every test finds it.
 */
#ifndef SCOW_SYNC_CMD_OPTIONS_H
#define SCOW_SYNC_CMD_OPTIONS_H

#include <getopt.h>

struct strbuf;

struct cmd_option {
	int key;
	const char *long_name;   /* without the dashes; NULL: only the short spelling */
	const char *arg_name;    /* the value it takes, as --help shows it; NULL: none */
	const char *help;        /* for --help; a '\n' starts another line */
};

#define CMD_OPTIONS_END { 0, NULL, NULL, NULL }

/*
 * The keys of options without a short spelling. A command's own start at
 * CMD_OPT_OWN. --version's is 256 itself: that is what the transfer flags
 * of the portal's scow-sync-start have always had.
 */
enum cmd_option_key {
	CMD_OPT_LONG_ONLY = 256,
	CMD_OPT_VERSION = CMD_OPT_LONG_ONLY,
	CMD_OPT_WORKERS,
	CMD_OPT_RETRIES,
	CMD_OPT_BWLIMIT,
	CMD_OPT_ID,
	CMD_OPT_STATE,
	CMD_OPT_SINCE,
	CMD_OPT_ALL,
	CMD_OPT_OWN,
};

/* The options every command has, last in its table. */
#define CMD_OPTIONS_COMMON \
	{ 'v', "verbose", NULL, "say more" }, \
	{ 'q', "quiet", NULL, "say only errors" }, \
	{ 'h', "help", NULL, "show this help" }, \
	{ CMD_OPT_VERSION, "version", NULL, "show the version" }

/* The settings a transfer can be given as flags: start, run and resume. */
#define CMD_OPTIONS_SETTINGS \
	{ CMD_OPT_WORKERS, "workers", "N", "rsync processes at once (default: by the link)" }, \
	{ CMD_OPT_RETRIES, "retries", "N", "attempts per part for passing failures (default 3)" }, \
	{ CMD_OPT_BWLIMIT, "bwlimit", "RATE", "at most RATE for the whole transfer: 50M, 1G,\n" \
	  "or KiB/s without a unit (default 0: no limit)" }

/* Which transfers status and query --json show (history_option applies them). */
#define CMD_OPTIONS_HISTORY \
	{ CMD_OPT_ID, "id", "ID", "only this transfer" }, \
	{ CMD_OPT_STATE, "state", "LIST", "only these states, comma-separated: queued, running,\n" \
	  "watching, done, failed, terminated, interrupted" }, \
	{ CMD_OPT_SINCE, "since", "WHEN", "ended since WHEN (2026-11-30, 2026-11-30T08:00, 12h,\n" \
	  "7d, @EPOCH); default 24h; unfinished ones always" }, \
	{ CMD_OPT_ALL, "all", NULL, "the whole history" }

/* The most options one table may hold. */
#define CMD_OPTIONS_MAX 48

/* getopt_long's arrays for one table: a stack object, nothing to release. */
struct cmd_getopt {
	struct option longopts[CMD_OPTIONS_MAX + 1];
	char shortopts[3 + 2 * CMD_OPTIONS_MAX + 1];
};

/*
 * Fill g for getopt_long from opts. prefix (at most 3 characters) starts
 * the short option string: "+" to stop at the first operand, "+:" to
 * have a missing value returned as ':'.
 */
void cmd_getopt_init(struct cmd_getopt *g, const char *prefix, const struct cmd_option *opts);

/*
 * Append the options part of --help: one option a line, its help from
 * the same column, in the order of the table.
 */
void cmd_options_help(struct strbuf *out, const struct cmd_option *opts);

/* Append every spelling ("-a", "--address"), one a line, in the order of the table. */
void cmd_options_spellings(struct strbuf *out, const struct cmd_option *opts);

#endif
