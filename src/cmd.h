/*
 * cmd: the table of subcommands.
 *
 * Each subcommand lives in its own cmd-NAME.c and exports one struct
 * cmd_entry. A command parses its options, validates them, calls modules
 * and chooses the exit code; the work itself lives in the modules.
 */
#ifndef SCOW_SYNC_CMD_H
#define SCOW_SYNC_CMD_H

#include <stdbool.h>
#include <stdint.h>

struct strbuf;
struct cmd_option;

/* Exit codes, documented in scow-sync(1). */
enum exit_code {
	EXIT_OK = 0,          /* done */
	EXIT_FAILED = 1,      /* the transfer or the operation failed */
	EXIT_USAGE = 2,       /* bad option or value */
	EXIT_NOMATCH = 3,     /* nothing matched (terminate) */
	EXIT_STOPPED = 4,     /* a foreground transfer was stopped by a signal */
};

struct cmd_ctx {
	const char *prog;     /* prefix for messages: "scow-sync-start", "scow-sync start" */
	bool legacy;          /* called by a legacy name (scow-sync-X) */
	int verbosity;        /* 0 normal, <0 quiet, >0 verbose */
	bool differences_fail; /* a dry run that finds a change exits 1 (verify) */
	bool running_fails;   /* the same request running already is a failure (verify --repair) */
};

struct cmd_entry {
	const char *name;
	const char *summary;      /* one line for the command list */
	const char *usage;        /* --help: synopsis and description; the options follow */
	const struct cmd_option *options;  /* for parsing, --help and completions */
	int (*exec)(int argc, char **argv, struct cmd_ctx *ctx);
};

/* __read-piece: the local end of a piece of a large file (internal). */
int cmd_read_piece(int argc, char **argv);
/* __shape: an rsync's ssh, at the transfer's one rate (internal, cmd-shape.c). */
int cmd_shape(int argc, char **argv);
/* __node-worker: a task of a transfer's Slurm job step (internal, cmd-node-worker.c). */
int cmd_node_worker(int argc, char **argv);
/* scow-sync __s3-put: an object-store transfer's upload helper (cmd-s3-put.c). */
int cmd_s3_put(int argc, char **argv);
/* scow-sync __s3-get: a transfer's download helper, from an object store (cmd-s3-get.c). */
int cmd_s3_get(int argc, char **argv);

extern const struct cmd_entry cmd_start_entry;
extern const struct cmd_entry cmd_run_entry;
extern const struct cmd_entry cmd_watch_entry;
extern const struct cmd_entry cmd_query_entry;
extern const struct cmd_entry cmd_terminate_entry;
extern const struct cmd_entry cmd_resume_entry;
extern const struct cmd_entry cmd_verify_entry;
extern const struct cmd_entry cmd_limit_entry;
extern const struct cmd_entry cmd_status_entry;
extern const struct cmd_entry cmd_prune_entry;
extern const struct cmd_entry cmd_log_entry;
extern const struct cmd_entry cmd_config_entry;

struct transfer_request;
/* Answer -c: print true or false as the portal expects (cmd-check.c). */
int cmd_check_login(const struct cmd_ctx *ctx, struct transfer_request *req);

struct supervisor_config;
/*
 * An object store's destination (cmd-s3.c): set req's address to the
 * bucket's URL and ask the bucket whether it takes the credential found.
 * An exit code: 0, EXIT_USAGE (no credential, a bad endpoint), EXIT_FAILED
 * (refused: the reason said).
 */
int cmd_s3_prepare(const struct cmd_ctx *ctx, struct transfer_request *req,
		   const struct supervisor_config *cfg);
struct s3_target;
struct s3_credentials;
struct s3_client;
/*
 * For a command that speaks to req's object store itself: its target
 * resolved as a transfer's would be, the credential found, and a client.
 * An exit code, as cmd_s3_prepare's; on 0 the caller releases all three.
 */
int cmd_s3_client(const struct cmd_ctx *ctx, const struct transfer_request *req,
		  const struct supervisor_config *cfg, struct s3_target *t,
		  struct s3_credentials *creds, struct s3_client **cl);
/* --dry-run to an object store (cmd-s3-dry-run.c). */
int cmd_s3_dry_run(const struct cmd_ctx *ctx, const struct transfer_request *req,
		   const struct supervisor_config *cfg);
struct change_list;
/*
 * After a dry run's changes: where the guards of a mirror would stop the
 * transfer before its n deletes, say why (changes: as JSON; NULL: a line
 * "would stop: REASON" on stdout). cmd-dry-run.c.
 */
void cmd_dry_run_guards(struct change_list *changes, const struct transfer_request *req,
			const struct supervisor_config *cfg, unsigned long long n);
/* -c with an object store's destination: true or false for its credential. */
int cmd_s3_check(const struct cmd_ctx *ctx, struct transfer_request *req,
		 const struct supervisor_config *cfg);
/* Print "PROG: message" on stderr. */
void cmd_error(const struct cmd_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Flush stdout and report a failed write; returns code, or EXIT_FAILED. */
int cmd_finish_stdout(const struct cmd_ctx *ctx, int code);
/* Print the entry's usage and its options to stdout (for --help). */
int cmd_print_usage(const struct cmd_ctx *ctx, const struct cmd_entry *e);
struct settings;
/*
 * The settings (settings.h), read on first use. A bad setting ends the
 * command here (its reason on stderr, exit 2), except under the portal's
 * names: one typo in a site's file must not stop every user's transfers,
 * so there the bad setting is named on stderr and left out.
 */
struct settings *cmd_settings(const struct cmd_ctx *ctx);
/* The same, never ending the command; *problem: the bad setting, or NULL. */
struct settings *cmd_settings_with_problem(const struct cmd_ctx *ctx, const char **problem);
/* The state directory the settings name; caller frees. */
char *cmd_state_dir(const struct cmd_ctx *ctx);

struct ssh_target;
/*
 * Start *t (zeroed) as every ssh of ours starts: the program and the
 * configuration file the environment names (SCOW_SYNC_SSH,
 * SCOW_SYNC_SSH_CONFIG), else ssh and its own. Borrowed strings.
 */
void cmd_ssh_target(struct ssh_target *t);

struct store;
/*
 * Open the user's store for a command that only reads or tidies it: 0 with
 * *st NULL when nothing was ever recorded (and nothing is created), -1
 * after saying why it cannot be opened.
 */
int cmd_open_store_if_any(const struct cmd_ctx *ctx, struct store **st);
struct transfer;
/*
 * Open the user's store and read transfer id into *t, for a command about
 * one transfer: EXIT_OK with *st open (the caller closes it and releases
 * *t), or, having said why, EXIT_NOMATCH (no such transfer) or
 * EXIT_FAILED, with nothing left open.
 */
int cmd_open_transfer(const struct cmd_ctx *ctx, int64_t id, struct store **st,
		      struct transfer *t);
/*
 * Where transfer id runs when that is another node (" on node HOST
 * (process PID there)"), else "": for messages.
 */
void cmd_where(struct store *st, int64_t id, struct strbuf *out);
/*
 * Say what is wrong with the option getopt_long just returned c for (':'
 * for a missing value, with "+:" at the start of its option string), and
 * return EXIT_USAGE.
 */
int cmd_option_error(const struct cmd_ctx *ctx, int c, char **argv);
/* Print the version line to stdout (for --version). */
int cmd_print_version(const struct cmd_ctx *ctx);

#endif
