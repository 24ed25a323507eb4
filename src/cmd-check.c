/* The -c flag of start and run: does key login work? */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "options.h"
#include "remote.h"
#include "rsync.h"
#include "spawn.h"
#include "util.h"

#define CHECK_TIMEOUT_MS 30000

/*
 * Ask OpenSSH whether the key logs in. libssh2 before 1.11 signs RSA keys
 * only with SHA-1, which OpenSSH 8.8 and later refuse: its "refused" must
 * be confirmed before the portal is told to replace a good key.
 */
static bool
openssh_accepts(const struct transfer_request *req, const char *known_hosts)
{
	struct ssh_target t;
	struct strvec argv = STRVEC_INIT;
	const char *words[] = { "true", NULL };
	const char *prog = getenv("SCOW_SYNC_SSH"), *config = getenv("SCOW_SYNC_SSH_CONFIG");
	int status = -1;

	memset(&t, 0, sizeof t);
	t.program = prog && *prog ? prog : "ssh";
	t.user = req->user;
	t.host = req->address;
	t.port = req->port;
	t.key_path = req->key_path;
	t.known_hosts = known_hosts;
	t.ssh_config = config && *config ? config : NULL;
	t.connect_timeout = CHECK_TIMEOUT_MS / 1000;
	ssh_command_argv(&t, words, &argv);
	if (spawn_run((const char *const *)argv.v, &status, NULL) < 0)
		status = -1;
	strvec_clear(&argv);
	return status == 0;
}

/*
 * The portal replaces the key whenever this says false, and appends the new
 * one to the remote authorized_keys: say false only when the key itself is
 * the problem (refused, missing, unusable), never for a slow or unreachable
 * host, where a new key would not help.
 */
int
cmd_check_login(const struct cmd_ctx *ctx, struct transfer_request *req)
{
	struct remote_params rp;
	char *known_hosts = xasprintf("%s/.ssh/known_hosts", home_dir());
	char err[512] = "";
	bool ok;
	int rc;

	memset(&rp, 0, sizeof rp);
	rp.host = req->address;
	rp.port = req->port;
	rp.user = req->user;
	rp.key_path = req->key_path;
	rp.known_hosts = known_hosts;
	rp.timeout_ms = CHECK_TIMEOUT_MS;
	if (access(req->key_path, R_OK) < 0) {
		snprintf(err, sizeof err, "cannot read key '%s': %s", req->key_path,
			 strerror(errno));
		rc = SYNC_ERR_SYSTEM;
	} else
		rc = remote_check_login(&rp, err, sizeof err);
	if (rc == SYNC_ERR_AUTH && openssh_accepts(req, known_hosts))
		rc = SYNC_OK;
	free(known_hosts);

	switch (rc) {
	case SYNC_OK:
		ok = true;
		break;
	case SYNC_ERR_AUTH:
	case SYNC_ERR_SYSTEM:
		ok = false;
		break;
	default:
		/* No answer about the key: a new key would change nothing. */
		ok = true;
		break;
	}
	if (rc != SYNC_OK && err[0])
		cmd_error(ctx, "%s", err);
	fputs(ok ? "true" : "false", stdout);
	if (isatty(STDOUT_FILENO))
		fputc('\n', stdout);
	return cmd_finish_stdout(ctx, EXIT_OK);
}
