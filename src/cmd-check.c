/* The -c flag of start and run: does key login work? */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "master.h"
#include "options.h"
#include "rsync-parse.h"
#include "rsync.h"
#include "spawn.h"
#include "util.h"

#define CHECK_CONNECT_TIMEOUT 30   /* seconds, for ssh's ConnectTimeout */
#define CHECK_TIMEOUT_MS 60000     /* the whole check, login included */

/*
 * Log in with OpenSSH exactly as the transfers will (the same program,
 * configuration, options and known_hosts, accept-new), so the host key is
 * checked against every file OpenSSH reads, in its order: the site's
 * (/etc/ssh/ssh_known_hosts, GlobalKnownHostsFile) as well as the user's.
 * A key is learned only when OpenSSH itself learns it, which it never does
 * for a host that a known_hosts file names with another key.
 */
static int
openssh_login(const struct transfer_request *req, struct strbuf *said)
{
	struct ssh_target t;
	struct strvec argv = STRVEC_INIT;
	struct spawn_limits lim = { .timeout_ms = CHECK_TIMEOUT_MS, .die_with_parent = true };
	char *known_hosts = xasprintf("%s/.ssh/known_hosts", home_dir());
	char err[512];
	int status = -1, rc;

	cmd_ssh_target(&t);
	t.user = req->user;
	t.host = req->address;
	t.port = req->port;
	t.key_path = req->key_path;
	t.known_hosts = known_hosts;
	t.known_hosts_default = home_is_account_home();
	t.connect_timeout = CHECK_CONNECT_TIMEOUT;
	if (ssh_prepare_known_hosts(known_hosts, err, sizeof err) < 0)
		strbuf_addf(said, "%s\n", err);
	ssh_base_argv(&t, &argv);
	/* Its reasons are what tell a refused key apart, whatever the configuration says. */
	strvec_push(&argv, "-o");
	strvec_push(&argv, "LogLevel=ERROR");
	strvec_push(&argv, t.host);
	strvec_push(&argv, "true");
	rc = spawn_capture_limited((const char *const *)argv.v, NULL, &status, NULL, said, &lim);
	strvec_clear(&argv);
	free(known_hosts);
	if (rc == SYNC_ERR_TIMEOUT) {
		strbuf_reset(said);
		strbuf_addf(said, "no answer from '%s' port %d in %d s", req->address, req->port,
			    CHECK_TIMEOUT_MS / 1000);
		return SYNC_ERR_TIMEOUT;
	}
	if (rc < 0) {
		strbuf_reset(said);
		strbuf_addf(said, "cannot run '%s': %s", t.program, strerror(errno));
		return SYNC_ERR_SSH;
	}
	/* Any status but ssh's own 255 is the remote command's: the login worked. */
	if (WIFEXITED(status) && WEXITSTATUS(status) != 255)
		return SYNC_OK;
	switch (ssh_failure_kind(said->buf, said->len)) {
	case SSH_FAILURE_AUTH:
		return SYNC_ERR_AUTH;
	case SSH_FAILURE_HOSTKEY:
		return SYNC_ERR_HOSTKEY;
	default:
		return SYNC_ERR_CONNECT;
	}
}

/*
 * The portal replaces the key whenever this says false, and appends the new
 * one to the remote authorized_keys: say false only when the key itself is
 * the problem (refused, missing, unusable), never for a slow or unreachable
 * host, or one whose host key is refused, where a new key would not help.
 */
int
cmd_check_login(const struct cmd_ctx *ctx, struct transfer_request *req)
{
	struct strbuf said = STRBUF_INIT, why = STRBUF_INIT;
	bool ok;
	int rc;

	if (*req->key_path && access(req->key_path, R_OK) < 0) {
		strbuf_addf(&why, "cannot read key '%s': %s", req->key_path, strerror(errno));
		rc = SYNC_ERR_SYSTEM;
	} else {
		rc = openssh_login(req, &said);
		if (rc == SYNC_ERR_TIMEOUT || rc == SYNC_ERR_SSH)
			strbuf_add(&why, said.buf, said.len);
		else if (rc != SYNC_OK) {
			struct strbuf cause = STRBUF_INIT;

			if (rc == SYNC_ERR_AUTH && *req->key_path)
				strbuf_addf(&why, "cannot log in to '%s' port %d as '%s' with "
					    "key '%s': ", req->address, req->port, req->user,
					    req->key_path);
			else if (rc == SYNC_ERR_AUTH)
				strbuf_addf(&why, "cannot log in to '%s' port %d as '%s' with "
					    "ssh's own identities: ", req->address, req->port,
					    req->user);
			else
				strbuf_addf(&why, "cannot connect to '%s' port %d: ",
					    req->address, req->port);
			ssh_error_summary(said.buf, said.len, &cause);
			if (cause.len == 0)
				strbuf_addstr(&cause, "ssh exited 255");
			escape_untrusted(&why, cause.buf, cause.len);
			strbuf_release(&cause);
		}
	}

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
	if (rc != SYNC_OK && why.len)
		cmd_error(ctx, "%s", why.buf);
	strbuf_release(&said);
	strbuf_release(&why);
	fputs(ok ? "true" : "false", stdout);
	if (isatty(STDOUT_FILENO))
		fputc('\n', stdout);
	return cmd_finish_stdout(ctx, EXIT_OK);
}
