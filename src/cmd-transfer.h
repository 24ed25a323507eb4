/*
 * cmd-transfer: what the commands that run a transfer (start, run, resume)
 * share. They call it; it calls cmd-check.c and cmd.c, never a command.
 */
#ifndef SCOW_SYNC_CMD_TRANSFER_H
#define SCOW_SYNC_CMD_TRANSFER_H

#include <stdbool.h>
#include <stdint.h>

#include "cmd.h"

struct transfer_request;
/* Parse and validate the transfer flags, handling --help and --version. */
int cmd_parse_transfer(const struct cmd_ctx *ctx, const struct cmd_entry *e, int argc,
		       char **argv, struct transfer_request *req, bool *done);

struct supervisor_config;
struct ssh_master;
/*
 * The common prelude of start and run: parse and check the flags, answer
 * -c, read the settings, record the transfer. Sets *done (with the exit
 * code returned) when there is nothing more to do; otherwise fills req
 * (caller releases), cfg (transfer_id, state_dir) and *state_dir (caller
 * frees). With early (run), the shared connection starts in it once the
 * request is checked (cfg->early points to it); the caller releases it
 * (ssh_master_release), whatever the result.
 */
int cmd_prepare_transfer(struct cmd_ctx *ctx, const struct cmd_entry *e, int argc,
			 char **argv, struct transfer_request *req,
			 struct supervisor_config *cfg, struct ssh_master *early,
			 char **state_dir, bool *done);

struct store;
struct transfer_options;
/*
 * Record with transfer id the settings given as flags (given: below 0 where
 * none was), and set in cfg every one it has recorded, given now or
 * before: a resumed transfer goes on with the flags it was started with.
 */
/* What transfer id asks of Slurm, as recorded, into cfg (nodes 0: none). */
int cmd_transfer_slurm(struct store *st, int64_t id, struct supervisor_config *cfg);
int cmd_transfer_options(struct store *st, int64_t id, const struct transfer_options *given,
			 struct supervisor_config *cfg);

/*
 * Run cfg's recorded transfer in a detached supervisor and return once it
 * reports the transfer running; an exit code.
 */
int cmd_detach_supervisor(const struct cmd_ctx *ctx, const char *state_dir,
			  struct supervisor_config *cfg);
/*
 * Run cfg's recorded transfer here, with a progress line on a terminal and
 * a summary at the end; an exit code.
 */
int cmd_run_foreground(const struct cmd_ctx *ctx, const char *state_dir,
		       struct supervisor_config *cfg);

/*
 * --dry-run (cmd-dry-run.c): print what the checked request req would send,
 * update and delete, changing nothing; an exit code.
 */
int cmd_dry_run(const struct cmd_ctx *ctx, const struct transfer_request *req,
		const struct supervisor_config *cfg);

#endif
