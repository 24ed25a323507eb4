/*
 * cmd-s3: what start and run do for an object store's destination before
 * a transfer is recorded: where the bucket is (the transfer's address is
 * its URL), whether there is a credential and whether the store takes it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "options.h"
#include "s3-client.h"
#include "s3-credentials.h"
#include "s3-target.h"
#include "supervisor.h"

#define S3_PROBE_ATTEMPTS 2

/* req's target, resolved with cfg's endpoint, region and style. 0, or an exit code. */
static int
cmd_s3_target(const struct cmd_ctx *ctx, const struct transfer_request *req,
	      const struct supervisor_config *cfg, struct s3_target *t)
{
	char err[512];

	/* The bucket's side: the destination, or the source of a download. */
	if (s3_target_parse(req->s3_source ? req->source : req->destination, t, err,
			    sizeof err) < 0 ||
	    s3_target_resolve(t, cfg->s3_endpoint, cfg->s3_region, (enum s3_style)cfg->s3_style,
			      err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		s3_target_release(t);
		return EXIT_USAGE;
	}
	return 0;
}

/*
 * Ask the bucket (a HEAD) with the credential found: 0 when it answers,
 * EXIT_FAILED when it refuses (the server's reason said), EXIT_USAGE when
 * there is no credential.
 */
static int
cmd_s3_probe(const struct cmd_ctx *ctx, const struct s3_target *t, bool say, bool *refused)
{
	struct s3_credentials creds;
	struct s3_client *cl;
	struct strbuf url = STRBUF_INIT;
	struct s3_call c;
	char err[512];
	int code = 0;

	*refused = false;
	if (s3_credentials_find(t->cos, &creds, err, sizeof err) < 0) {
		if (say)
			cmd_error(ctx, "%s", strcmp(err, "") ? err : "no credential for the object "
				  "store: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
				  "~/.aws/credentials");
		*refused = true;
		return EXIT_USAGE;
	}
	if ((cl = s3_client_new(t, &creds)) == NULL) {
		cmd_error(ctx, "cannot start libcurl");
		s3_credentials_release(&creds);
		return EXIT_FAILED;
	}
	s3_client_set_attempts(cl, S3_PROBE_ATTEMPTS);
	s3_bucket_url(t, &url);
	s3_call_init(&c, "HEAD", NULL);
	if (s3_run(cl, &c, 1, 1) < 0) {
		*refused = c.status == 403 || c.status == 400;
		if (say)
			cmd_error(ctx, "bucket %s: %s%s", url.buf, s3_call_reason(&c),
				  c.status == 403 ? " (the credential was refused)" : "");
		code = EXIT_FAILED;
	}
	s3_call_release(&c);
	s3_client_free(cl);
	s3_credentials_release(&creds);
	strbuf_release(&url);
	return code;
}

int
cmd_s3_client(const struct cmd_ctx *ctx, const struct transfer_request *req,
	      const struct supervisor_config *cfg, struct s3_target *t,
	      struct s3_credentials *creds, struct s3_client **cl)
{
	char err[512];
	int code;

	if ((code = cmd_s3_target(ctx, req, cfg, t)) != 0)
		return code;
	if (s3_credentials_find(t->cos, creds, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", strcmp(err, "") ? err : "no credential for the object store: "
			  "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or ~/.aws/credentials");
		s3_target_release(t);
		return EXIT_USAGE;
	}
	if ((*cl = s3_client_new(t, creds)) == NULL) {
		cmd_error(ctx, "cannot start libcurl");
		s3_credentials_release(creds);
		s3_target_release(t);
		return EXIT_FAILED;
	}
	return 0;
}

int
cmd_s3_prepare(const struct cmd_ctx *ctx, struct transfer_request *req,
	       const struct supervisor_config *cfg)
{
	struct strbuf url = STRBUF_INIT;
	struct s3_target t;
	bool refused;
	int code;

	if ((code = cmd_s3_target(ctx, req, cfg, &t)) != 0)
		return code;
	s3_bucket_url(&t, &url);
	free(req->s3_address);
	req->s3_address = strbuf_detach(&url, NULL);
	req->address = req->s3_address;
	code = cmd_s3_probe(ctx, &t, true, &refused);
	s3_target_release(&t);
	return code;
}

int
cmd_s3_check(const struct cmd_ctx *ctx, struct transfer_request *req,
	     const struct supervisor_config *cfg)
{
	struct s3_target t;
	bool refused = false;
	int code;

	if ((code = cmd_s3_target(ctx, req, cfg, &t)) != 0)
		return code;
	/* "false" only for a credential missing or refused: anything else is not the key's. */
	cmd_s3_probe(ctx, &t, ctx->verbosity >= 0, &refused);
	s3_target_release(&t);
	fputs(refused ? "false" : "true", stdout);
	if (isatty(STDOUT_FILENO))
		fputc('\n', stdout);
	return cmd_finish_stdout(ctx, EXIT_OK);
}
