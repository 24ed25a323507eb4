/*
 * cmd-dry-run: --dry-run of start and run: say what a transfer would send,
 * update and (with --delete) delete, and change nothing.
 *
 * One rsync -n of the source whole, with the transfer's rules, over ssh
 * as the transfers log in: nothing is recorded, no directory is made on
 * either side. Each change is a line, "send", "update" or "delete", rsync's
 * itemized letters and the path (escaped: any byte may be in a name), or
 * with --json an array of them. With --delete, the deletes are judged by
 * the guards the transfer would apply (mirror-guard.h): where they would
 * stop it, a last line says so ("would stop: REASON"), or with --json a
 * last object {"action": "stop", "reason": REASON}; the exit is 0 all
 * the same.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "cmd-transfer.h"
#include "filter.h"
#include "master.h"
#include "mirror-guard.h"
#include "options.h"
#include "report.h"
#include "rsync-parse.h"
#include "rsync.h"
#include "spawn.h"
#include "supervisor.h"
#include "util.h"

#define DRY_RUN_PREFIX "//"
#define DRY_RUN_PROTECT ".scow-sync-partial/"   /* never a deletion: a cleanup's */

/* What an itemized change means for whoever reads it. */
static const char *
dry_run_action(const char *itemized)
{
	size_t i;

	if (itemized[0] == '*')
		return "delete";
	/* New on the far side: every attribute letter is a '+'. */
	for (i = 2; i < 11 && itemized[i] == '+'; i++)
		;
	return i == 11 ? "send" : "update";
}

/*
 * The rules of req's filters into rules (empty: none). rsync reads them on
 * its standard input: no file to leave behind, whatever ends the run.
 */
static void
dry_run_rules(const struct transfer_request *req, struct strbuf *rules)
{
	struct filter f;

	filter_init(&f);
	if (req->filters.len > 0 && filter_deserialize(&f, req->filters.buf, req->filters.len) == 0)
		filter_rsync_rules(&f, path_basename(req->source), rules);
	filter_release(&f);
}

/*
 * Say the change of one line of rsync's (changes: as JSON; NULL: on
 * stdout); other lines say nothing. name and shown are scratch. 0: no
 * change; DRY_RUN_CHANGE, DRY_RUN_DELETE: what it is.
 */
enum { DRY_RUN_CHANGE = 1, DRY_RUN_DELETE = 2 };

static int
dry_run_line(struct change_list *changes, const char *line, size_t len, struct strbuf *name,
	     struct strbuf *shown)
{
	size_t prefix = strlen(DRY_RUN_PREFIX), at;
	char itemized[12];

	if (len <= prefix || memcmp(line, DRY_RUN_PREFIX, prefix) != 0 ||
	    !rsync_itemized_name(line + prefix, len - prefix, &at))
		return 0;
	memcpy(itemized, line + prefix, 11);
	itemized[11] = '\0';
	strbuf_reset(name);
	rsync_unescape(name, line + prefix + at, len - prefix - at);
	if (changes) {
		change_list_add(changes, dry_run_action(itemized), itemized, name->buf);
	} else {
		strbuf_reset(shown);
		escape_untrusted(shown, name->buf, name->len);
		printf("%-6s %s %s\n", dry_run_action(itemized), itemized, shown->buf);
	}
	return itemized[0] == '*' ? DRY_RUN_DELETE : DRY_RUN_CHANGE;
}

/*
 * Would the guards of a mirror stop the transfer before its n deletes? Say
 * why, after the changes (changes: as JSON; NULL: on stdout). The limit
 * is the request's --max-delete, else the max_delete setting, as a
 * transfer started now would have it.
 */
void
cmd_dry_run_guards(struct change_list *changes, const struct transfer_request *req,
	       const struct supervisor_config *cfg, unsigned long long n)
{
	long long max = req->max_delete >= 0 ? req->max_delete : cfg->max_delete;
	enum mirror_verdict verdict;
	struct strbuf why = STRBUF_INIT;

	verdict = mirror_guard(n, mirror_source_empty(req->source), req->delete_all_ok, max);
	if (verdict == MIRROR_GO)
		return;
	mirror_stop_reason(&why, verdict, n, max);
	if (changes)
		change_list_add_stop(changes, why.buf);
	else
		printf("would stop: %s\n", why.buf);
	strbuf_release(&why);
}

/* One rsync -n of the source whole (the file's comment). */
static int
rsync_dry_run(const struct cmd_ctx *ctx, const struct transfer_request *req,
	      const struct supervisor_config *cfg)
{
	static const struct spawn_limits lim = { .die_with_parent = true, .out_max = SIZE_MAX };
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT, rsh = STRBUF_INIT;
	struct strbuf name = STRBUF_INIT, shown = STRBUF_INIT;
	struct strvec argv = STRVEC_INIT;
	struct change_list *changes = req->json ? change_list_new() : NULL;
	struct ssh_target target;
	struct rsync_job job;
	struct strbuf rules = STRBUF_INIT;
	char *root = path_dirname(req->source);
	const char *p, *end;
	unsigned long long deletes = 0, changed = 0;
	struct stat sb;
	int status = -1, rc, code = EXIT_OK;

	dry_run_rules(req, &rules);
	supervisor_ssh_target(&target, cfg, req->user, req->address, req->port, req->key_path);
	/* As a transfer would: a host key not known yet is learned (accept-new). */
	{
		char msg[512];

		ssh_prepare_known_hosts(target.known_hosts, msg, sizeof msg);
	}
	ssh_rsh_command(&target, &rsh);
	free((char *)target.known_hosts);
	memset(&job, 0, sizeof job);
	job.rsync_path = cfg->rsync_path;
	job.rsh = rsh.buf;
	job.host = req->address;
	job.source_root = root;
	job.source_name = path_basename(req->source);
	job.remote_dir = req->destination;
	job.recursive = true;
	job.whole_list = true;
	job.dry_run = true;
	/* --verify: what differs by content, whatever its size and time. */
	job.checksum = req->verify;
	/* What differs in what the transfer would keep (an ACL, a link) is a change too. */
	job.preserve = req->preserve;
	job.user_chmod = req->chmod_arg;
	job.chown = req->chown_arg;
	job.delete = req->mirror;
	job.protect = DRY_RUN_PROTECT;
	job.exclude_from = rules.len > 0 ? "-" : NULL;
	job.io_timeout = cfg->io_timeout;
	rsync_job_argv(&job, &argv);
	rc = spawn_capture_limited((const char *const *)argv.v, rules.len > 0 ? &rules : NULL,
				   &status, &out, &err, &lim);
	if (rc < 0 || !WIFEXITED(status) ||
	    (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 24)) {
		const char *last;

		last = rsync_telling_line(&err);
		strbuf_reset(&shown);
		escape_untrusted(&shown, last, strlen(last));
		if (rc < 0)
			cmd_error(ctx, "cannot run '%s': %s", cfg->rsync_path, strerror(errno));
		else
			cmd_error(ctx, "the dry run failed (rsync %s)%s%s",
				  spawn_status_text(status), shown.len ? ": " : "", shown.buf);
		code = EXIT_FAILED;
		goto out;
	}
	for (p = out.buf, end = out.buf + out.len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		switch (dry_run_line(changes, p, len, &name, &shown)) {
		case DRY_RUN_DELETE:
			deletes++;
			/* fall through */
		case DRY_RUN_CHANGE:
			changed++;
			break;
		}
		p += len + 1;
	}
	/* A source that is a file deletes nothing beside it. */
	if (req->mirror && lstat(req->source, &sb) == 0 && S_ISDIR(sb.st_mode))
		cmd_dry_run_guards(changes, req, cfg, deletes);
	if (changes && change_list_write(changes, stdout) < 0)
		code = EXIT_FAILED;
	if (fflush(stdout) != 0)
		code = EXIT_FAILED;
	/* verify: a difference is what it looks for. */
	if (code == EXIT_OK && changed > 0 && ctx->differences_fail) {
		if (ctx->verbosity >= 0)
			cmd_error(ctx, "%llu %s differ%s from the source", changed,
				  changed == 1 ? "path" : "paths", changed == 1 ? "s" : "");
		code = EXIT_FAILED;
	}
out:
	strbuf_release(&rules);
	free(root);
	change_list_free(changes);
	strvec_clear(&argv);
	strbuf_release(&out);
	strbuf_release(&err);
	strbuf_release(&rsh);
	strbuf_release(&name);
	strbuf_release(&shown);
	return code;
}

int
cmd_dry_run(const struct cmd_ctx *ctx, const struct transfer_request *req,
	    const struct supervisor_config *cfg)
{
	/* An object store's has a dry run of its own (cmd-s3-dry-run.c). */
	if (req->s3)
		return cmd_s3_dry_run(ctx, req, cfg);
	return rsync_dry_run(ctx, req, cfg);
}
