/*
 * s3-credentials: the key an object store is signed with (see
 * s3-credentials.h). Follows the AWS CLI: an empty variable counts as
 * unset, an access key id without its secret is an error while a secret
 * alone is ignored, and a profile AWS_PROFILE names that the file lacks is
 * an error rather than a quiet fall back to another key.
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

#include "s3-credentials.h"
#include "util.h"

/* What the chosen profile of the credentials file holds. */
struct profile {
	const char *name;
	bool seen;
	char *access_key;
	char *secret_key;
	char *session_token;
};

/* The lines of the file, fed to inih, noticing one longer than its buffer. */
struct reader {
	FILE *f;
	int line;
	int max;        /* the longest line inih takes, its newline included */
	bool too_long;
};

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* Format a one-line message into err. */
static void __attribute__((format(printf, 3, 4)))
say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void
set_value(char **slot, const char *value)
{
	free(*slot);
	*slot = *value ? xstrdup(value) : NULL;
}

/* Take the keys of the wanted profile; key names in any case, as the AWS CLI reads them. */
static int
on_pair(void *user, const char *section, const char *name, const char *value)
{
	struct profile *p = user;

	if (strcmp(section, p->name))
		return 1;
	p->seen = true;
	if (!strcasecmp(name, "aws_access_key_id"))
		set_value(&p->access_key, value);
	else if (!strcasecmp(name, "aws_secret_access_key"))
		set_value(&p->secret_key, value);
	else if (!strcasecmp(name, "aws_session_token"))
		set_value(&p->session_token, value);
	return 1;
}

static char *
read_line(char *str, int num, void *stream)
{
	struct reader *r = stream;
	char *s = fgets(str, num, r->f);

	if (!s)
		return NULL;
	r->line++;
	/*
	 * inih would read the rest of a long line as a line of its own; the
	 * packaged library takes 200 bytes, less than some session tokens.
	 */
	r->max = num;
	if (!strchr(s, '\n') && !feof(r->f)) {
		r->too_long = true;
		return NULL;
	}
	return s;
}

/* Return the path of the shared credentials file; caller frees. */
static char *
credentials_path(void)
{
	const char *file = env("AWS_SHARED_CREDENTIALS_FILE");
	const char *home = env("HOME");

	if (!home) {
		struct passwd *pw = getpwuid(getuid());

		home = pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir : NULL;
	}
	if (file) {
		/* The AWS CLI expands a leading ~ itself. */
		if (home && file[0] == '~' && (file[1] == '/' || file[1] == '\0'))
			return xasprintf("%s%s", home, file + 1);
		return xstrdup(file);
	}
	return home ? xasprintf("%s/.aws/credentials", home) : NULL;
}

/* Read profile p of the file at path: 0 (p->seen says whether it is there), or an error. */
static int
read_file(const char *path, struct profile *p, char *err, size_t errlen)
{
	struct reader r = { NULL, 0, 0, false };
	int line, ret = 0;

	r.f = fopen(path, "re");
	if (!r.f) {
		if (errno == ENOENT)
			return 0;
		say(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		return SYNC_ERR_INVALID;
	}
	line = ini_parse_stream(read_line, &r, on_pair, p);
	if (ferror(r.f)) {
		say(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		ret = SYNC_ERR_INVALID;
	} else if (r.too_long) {
		say(err, errlen, "cannot read '%s': line %d is too long (over %d bytes); "
		    "give a long session token in AWS_SESSION_TOKEN", path, r.line, r.max - 2);
		ret = SYNC_ERR_INVALID;
	} else if (line != 0) {
		say(err, errlen, "cannot parse '%s': error on line %d", path, line);
		ret = SYNC_ERR_INVALID;
	}
	fclose(r.f);
	return ret;
}

static void
profile_release(struct profile *p)
{
	free(p->access_key);
	free(p->secret_key);
	free(p->session_token);
}

int
s3_credentials_find(bool cos, struct s3_credentials *out, char *err, size_t errlen)
{
	struct profile p = { 0 };
	const char *id, *secret, *token, *profile;
	char *path = NULL;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	say(err, errlen, "%s", "");

	id = env("AWS_ACCESS_KEY_ID");
	secret = env("AWS_SECRET_ACCESS_KEY");
	token = env("AWS_SESSION_TOKEN");
	if (id) {
		if (!secret) {
			say(err, errlen, "%s",
			    "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
			return SYNC_ERR_INVALID;
		}
		out->access_key = xstrdup(id);
		out->secret_key = xstrdup(secret);
		out->session_token = token ? xstrdup(token) : NULL;
		out->source = xstrdup("AWS_ACCESS_KEY_ID");
		return 0;
	}

	profile = env("AWS_PROFILE");
	p.name = profile ? profile : "default";
	path = credentials_path();
	if (path) {
		ret = read_file(path, &p, err, errlen);
		if (ret < 0)
			goto out;
	}
	if (p.access_key) {
		if (!p.secret_key) {
			say(err, errlen, "profile '%s' of '%s' has aws_access_key_id "
			    "but no aws_secret_access_key", p.name, path);
			ret = SYNC_ERR_INVALID;
			goto out;
		}
		out->access_key = p.access_key;
		out->secret_key = p.secret_key;
		out->session_token = p.session_token;
		p.access_key = p.secret_key = p.session_token = NULL;
		out->source = xasprintf("%s [%s]", path, p.name);
		goto out;
	}
	if (profile) {
		/* Asked for by name: another key in its place would be a surprise. */
		if (p.seen)
			say(err, errlen, "profile '%s' of '%s' has no aws_access_key_id",
			    p.name, path);
		else
			say(err, errlen, "profile '%s' not found in '%s'", p.name,
			    path ? path : "~/.aws/credentials");
		ret = SYNC_ERR_INVALID;
		goto out;
	}

	if (cos) {
		id = env("COS_SECRET_ID");
		secret = env("COS_SECRET_KEY");
		if (id && !secret) {
			say(err, errlen, "COS_SECRET_ID is set but COS_SECRET_KEY is not");
			ret = SYNC_ERR_INVALID;
			goto out;
		}
		if (id) {
			out->access_key = xstrdup(id);
			out->secret_key = xstrdup(secret);
			out->source = xstrdup("COS_SECRET_ID");
			goto out;
		}
	}
	say(err, errlen, "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY%s, "
	    "or write %s", cos ? " (or COS_SECRET_ID and COS_SECRET_KEY)" : "",
	    path ? path : "~/.aws/credentials");
	ret = SYNC_ERR_NOT_FOUND;
out:
	profile_release(&p);
	free(path);
	if (ret < 0)
		s3_credentials_release(out);
	return ret;
}

void
s3_credentials_release(struct s3_credentials *c)
{
	if (!c)
		return;
	free(c->access_key);
	free(c->secret_key);
	free(c->session_token);
	free(c->source);
	memset(c, 0, sizeof(*c));
}
