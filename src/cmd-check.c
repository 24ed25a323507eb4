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
#include "util.h"

#define CHECK_TIMEOUT_MS 30000

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
