/* watch: keep a directory in sync until stopped (see supervisor_watch). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cmd-transfer.h"
#include "options.h"
#include "proctitle.h"
#include "saved-watch.h"
#include "supervisor.h"
#include "util.h"

static const char usage[] =
	"usage: scow-sync watch -a HOST -u USER -s SOURCE -d DEST [--delete] [--interval SEC]\n"
	"                       [--exclude PATTERN]... [--detach] [options of run]\n"
	"\n"
	"Keep DEST/basename(SOURCE) on HOST in sync with SOURCE until stopped: a\n"
	"full sync first, then every change inotify reports (a cycle 2 s after the\n"
	"last event, 30 s after the first at the latest), and the whole tree compared\n"
	"every --interval seconds. In the foreground unless --detach; terminate --id\n"
	"ID stops it, status and query --json show it as watching.\n";

/*
 * --saved NAME (alone, or with -v/-q): the arguments saved under NAME in
 * args, after argv[0]. 1: not asked; 0: args filled; below 0: an exit code
 * to return, the reason said.
 */
static int
watch_saved_args(struct cmd_ctx *ctx, int argc, char **argv, struct strvec *args)
{
	const char *name = NULL;
	char err[1024], *path;
	int i, others = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--saved") == 0 && i + 1 < argc)
			name = argv[++i];
		else if (strncmp(argv[i], "--saved=", 8) == 0)
			name = argv[i] + 8;
		else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "-q") == 0)
			strvec_push(args, argv[i]);
		else
			others++;
	}
	if (name == NULL)
		return 1;
	if (others) {
		cmd_error(ctx, "--saved NAME goes alone (with -v or -q)");
		return -EXIT_USAGE;
	}
	if ((path = saved_watch_path(cmd_settings(ctx), name, err, sizeof err)) == NULL ||
	    saved_watch_read(path, args, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		free(path);
		return path ? -EXIT_FAILED : -EXIT_USAGE;
	}
	free(path);
	return 0;
}

/*
 * Push the value of a path option (-s, -k, --exclude-from) as an absolute
 * path: the unit runs from another directory than the one it was saved in.
 */
static void
watch_push_path(struct strvec *keep, const char *prefix, const char *value)
{
	char *abs = NULL;

	if (path_absolute(value, &abs) < 0)
		abs = xstrdup(value);
	strvec_pushf(keep, "%s%s", prefix, abs);
	free(abs);
}

/* --save NAME: keep the other arguments under NAME, for the systemd unit. */
static int
watch_save(struct cmd_ctx *ctx, const char *name, int argc, char **argv)
{
	static const char *const path_opts[] = {
		"-s", "--source", "-k", "--sshkey-path", "--exclude-from", NULL,
	};
	struct strvec keep = STRVEC_INIT;
	char err[1024], *path;
	int i, code = EXIT_OK;
	size_t k;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool done = false;

		if (strcmp(a, "--save") == 0) {
			i++;
			continue;
		}
		if (strncmp(a, "--save=", 7) == 0)
			continue;
		if (strcmp(a, "--detach") == 0) {
			cmd_error(ctx, "--save with --detach: the unit runs the watch itself");
			strvec_clear(&keep);
			return EXIT_USAGE;
		}
		for (k = 0; path_opts[k] && !done; k++) {
			size_t n = strlen(path_opts[k]);

			if (strcmp(a, path_opts[k]) == 0 && i + 1 < argc) {
				strvec_push(&keep, a);
				watch_push_path(&keep, "", argv[++i]);
				done = true;
			} else if (strncmp(a, path_opts[k], n) == 0 && a[n] &&
				   (n == 2 || a[n] == '=')) {
				/* -sPATH, --source=PATH */
				char *prefix = xstrndup(a, n + (a[n] == '=' && n > 2));

				watch_push_path(&keep, prefix, a + strlen(prefix));
				free(prefix);
				done = true;
			}
		}
		if (!done)
			strvec_push(&keep, a);
	}
	if ((path = saved_watch_path(cmd_settings(ctx), name, err, sizeof err)) == NULL ||
	    saved_watch_write(path, keep.v, keep.nr, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		code = path ? EXIT_FAILED : EXIT_USAGE;
	} else if (ctx->verbosity >= 0) {
		printf("saved watch '%s'; start it now and at every login with:\n"
		       "  systemctl --user enable --now scow-sync-watch@%s\n", name, name);
	}
	free(path);
	strvec_clear(&keep);
	return code;
}

static int
cmd_watch_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct transfer_request req;
	struct supervisor_config cfg;
	struct strvec saved = STRVEC_INIT;
	char *state_dir = NULL;
	bool done;
	int code;

	proctitle_set("scow-sync: watch");
	strvec_push(&saved, argv[0]);
	if ((code = watch_saved_args(ctx, argc, argv, &saved)) < 0) {
		strvec_clear(&saved);
		return -code;
	}
	if (code == 0) {
		argc = (int)saved.nr;
		argv = saved.v;
	}
	/* --save: the request checked as it would run, then kept, not run. */
	code = cmd_parse_transfer(ctx, &cmd_watch_entry, argc, argv, &req, &done);
	if (done) {
		strvec_clear(&saved);
		return code;
	}
	if (req.save_name) {
		code = watch_save(ctx, req.save_name, argc, argv);
		transfer_request_release(&req);
		strvec_clear(&saved);
		return code;
	}
	transfer_request_release(&req);
	code = cmd_prepare_transfer(ctx, &cmd_watch_entry, argc, argv, &req, &cfg, NULL,
				    &state_dir, &done);
	if (done)
		goto out;
	if (!req.detach) {
		code = cmd_run_foreground(ctx, state_dir, &cfg);
		goto out;
	}
	if ((code = cmd_detach_supervisor(ctx, state_dir, &cfg)) != EXIT_OK)
		goto out;
	printf("%lld\n", (long long)cfg.transfer_id);
	code = cmd_finish_stdout(ctx, EXIT_OK);
out:
	free(state_dir);
	transfer_request_release(&req);
	strvec_clear(&saved);
	return code;
}

const struct cmd_entry cmd_watch_entry = {
	"watch", "keep a directory in sync until stopped", usage, watch_flags,
	cmd_watch_exec,
};
