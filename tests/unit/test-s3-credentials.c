/*
 * Unit tests for finding S3 credentials (s3-credentials.h): the
 * environment, the shared credentials file in a private HOME, the COS
 * variables, and every refusal, whose message must never hold a secret.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "s3-credentials.h"
#include "unit.h"
#include "util.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define FILE_SECRET "fileSECRETfileSECRETfileSECRETfileSECRET"

static char *home;

static void
clean_env(void)
{
	static const char *const vars[] = {
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "COS_SECRET_ID", "COS_SECRET_KEY",
	};

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	setenv("HOME", home, 1);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) == EOF || fclose(f) != 0)
		fatal("cannot write %s", path);
}

static char *
default_path(void)
{
	return xasprintf("%s/.aws/credentials", home);
}

/* Find, and check that the message, if any, quotes no secret. */
static int
find(bool cos, struct s3_credentials *c, char *err, size_t errlen)
{
	int ret = s3_credentials_find(cos, c, err, errlen);

	CHECK(strstr(err, SECRET) == NULL);
	CHECK(strstr(err, FILE_SECRET) == NULL);
	CHECK(strstr(err, "fileSECRET") == NULL);
	CHECK(strchr(err, '\n') == NULL);
	return ret;
}

static void
test_env(void)
{
	struct s3_credentials c;
	char err[256];
	char *path = default_path();

	clean_env();
	write_file(path, "[default]\naws_access_key_id = FILEID\naws_secret_access_key = "
		   FILE_SECRET "\n");
	setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
	CHECK_INT(find(false, &c, err, sizeof(err)), 0);
	CHECK_STR(c.access_key, "AKIAIOSFODNN7EXAMPLE");
	CHECK_STR(c.secret_key, SECRET);
	CHECK(c.session_token == NULL);
	CHECK_STR(c.source, "AWS_ACCESS_KEY_ID");
	s3_credentials_release(&c);
	CHECK(c.secret_key == NULL);

	setenv("AWS_SESSION_TOKEN", "TOKEN123", 1);
	CHECK_INT(find(true, &c, err, sizeof(err)), 0);
	CHECK_STR(c.session_token, "TOKEN123");
	s3_credentials_release(&c);

	/* An id without its secret: an error, not the file's key. */
	unsetenv("AWS_SECRET_ACCESS_KEY");
	CHECK_INT(find(false, &c, err, sizeof(err)), SYNC_ERR_INVALID);
	CHECK(strstr(err, "AWS_SECRET_ACCESS_KEY") != NULL);
	CHECK(c.access_key == NULL);

	/* Empty counts as unset, and a secret alone is ignored: the file answers. */
	setenv("AWS_ACCESS_KEY_ID", "", 1);
	setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
	CHECK_INT(find(false, &c, err, sizeof(err)), 0);
	CHECK_STR(c.access_key, "FILEID");
	CHECK_STR(c.secret_key, FILE_SECRET);
	s3_credentials_release(&c);

	unlink(path);
	free(path);
}

static void
test_file(void)
{
	struct s3_credentials c;
	char err[256];
	char *path = default_path(), *other = xasprintf("%s/other-credentials", home);
	char *want;

	clean_env();
	write_file(path,
		   "# written by aws configure\n"
		   "[default]\n"
		   "aws_access_key_id = DEFAULTID\n"
		   "aws_secret_access_key = " FILE_SECRET "\n"
		   "\n"
		   "[work]\n"
		   "AWS_ACCESS_KEY_ID=WORKID\n"
		   "Aws_Secret_Access_Key=" FILE_SECRET "\n"
		   "aws_session_token = WORKTOKEN\n"
		   "region = eu-west-1\n"
		   "[Work]\n"
		   "aws_access_key_id = OTHERCASE\n"
		   "aws_secret_access_key = " FILE_SECRET "\n"
		   "[half]\n"
		   "aws_access_key_id = HALFID\n"
		   "[secretonly]\n"
		   "aws_secret_access_key = " FILE_SECRET "\n");

	CHECK_INT(find(false, &c, err, sizeof(err)), 0);
	CHECK_STR(c.access_key, "DEFAULTID");
	CHECK_STR(c.secret_key, FILE_SECRET);
	CHECK(c.session_token == NULL);
	want = xasprintf("%s [default]", path);
	CHECK_STR(c.source, want);
	free(want);
	s3_credentials_release(&c);

	/* Key names in any case; profile names as written. */
	setenv("AWS_PROFILE", "work", 1);
	CHECK_INT(find(false, &c, err, sizeof(err)), 0);
	CHECK_STR(c.access_key, "WORKID");
	CHECK_STR(c.session_token, "WORKTOKEN");
	s3_credentials_release(&c);
	setenv("AWS_PROFILE", "Work", 1);
	CHECK_INT(find(false, &c, err, sizeof(err)), 0);
	CHECK_STR(c.access_key, "OTHERCASE");
	s3_credentials_release(&c);

	/* A profile asked for by name must be there. */
	setenv("AWS_PROFILE", "nosuch", 1);
	CHECK_INT(find(false, &c, err, sizeof(err)), SYNC_ERR_INVALID);
	CHECK(strstr(err, "'nosuch'") != NULL);
	CHECK(c.access_key == NULL);
	setenv("AWS_PROFILE", "half", 1);
	CHECK_INT(find(false, &c, err, sizeof(err)), SYNC_ERR_INVALID);
	CHECK(strstr(err, "aws_secret_access_key") != NULL);
	setenv("AWS_PROFILE", "secretonly", 1);
	CHECK_INT(find(false, &c, err, sizeof(err)), SYNC_ERR_INVALID);
	CHECK(strstr(err, "'secretonly'") != NULL);

	/* Another file, named by AWS_SHARED_CREDENTIALS_FILE (a leading ~ is HOME). */
	unsetenv("AWS_PROFILE");
	write_file(other, "[default]\naws_access_key_id=OTHERID\naws_secret_access_key="
		   FILE_SECRET "\n");
	setenv("AWS_SHARED_CREDENTIALS_FILE", "~/other-credentials", 1);
	CHECK_INT(find(false, &c, err, sizeof(err)), 0);
	CHECK_STR(c.access_key, "OTHERID");
	want = xasprintf("%s [default]", other);
	CHECK_STR(c.source, want);
	free(want);
	s3_credentials_release(&c);

	/* A named file that is not there is as good as an empty one. */
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	CHECK_INT(find(false, &c, err, sizeof(err)), SYNC_ERR_NOT_FOUND);
	setenv("AWS_PROFILE", "work", 1);
	CHECK_INT(find(false, &c, err, sizeof(err)), SYNC_ERR_INVALID);
	CHECK(strstr(err, "'work'") != NULL);

	unlink(path);
	unlink(other);
	free(path);
	free(other);
}

/* A session token as STS hands them out: far longer than one INI line of 200. */
static void
test_long_token(void)
{
	struct s3_credentials c;
	struct strbuf text = STRBUF_INIT, token = STRBUF_INIT;
	char err[256];
	char *path = default_path();
	int ret;

	clean_env();
	for (int i = 0; i < 100; i++)
		strbuf_addstr(&token, "IQoJb3JpZ2lu");
	strbuf_addf(&text, "[default]\naws_access_key_id=ID\naws_secret_access_key=%s\n"
		    "aws_session_token=%s\n", FILE_SECRET, token.buf);
	write_file(path, text.buf);
	ret = find(false, &c, err, sizeof(err));
	/* Whole, or refused: never cut short. */
	if (ret == 0) {
		CHECK_STR(c.session_token, token.buf);
	} else {
		CHECK_INT(ret, SYNC_ERR_INVALID);
		CHECK(strstr(err, "line 4 is too long") != NULL);
		CHECK(strstr(err, "IQoJ") == NULL);
	}
	s3_credentials_release(&c);
	unlink(path);
	free(path);
	strbuf_release(&text);
	strbuf_release(&token);
}

static void
test_cos(void)
{
	struct s3_credentials c;
	char err[256];

	clean_env();
	setenv("COS_SECRET_ID", "AKIDcos", 1);
	setenv("COS_SECRET_KEY", SECRET, 1);
	CHECK_INT(find(true, &c, err, sizeof(err)), 0);
	CHECK_STR(c.access_key, "AKIDcos");
	CHECK_STR(c.secret_key, SECRET);
	CHECK_STR(c.source, "COS_SECRET_ID");
	s3_credentials_release(&c);

	/* Only for a cos:// destination. */
	CHECK_INT(find(false, &c, err, sizeof(err)), SYNC_ERR_NOT_FOUND);
	CHECK(c.access_key == NULL);
	CHECK(strstr(err, "AWS_ACCESS_KEY_ID") != NULL);

	/* The AWS variables come first. */
	setenv("AWS_ACCESS_KEY_ID", "AWSID", 1);
	setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
	CHECK_INT(find(true, &c, err, sizeof(err)), 0);
	CHECK_STR(c.access_key, "AWSID");
	s3_credentials_release(&c);

	clean_env();
	setenv("COS_SECRET_ID", "AKIDcos", 1);
	CHECK_INT(find(true, &c, err, sizeof(err)), SYNC_ERR_INVALID);
	CHECK(strstr(err, "COS_SECRET_KEY") != NULL);
}

static void
test_nothing(void)
{
	struct s3_credentials c;
	char err[256];

	clean_env();
	CHECK_INT(find(false, &c, err, sizeof(err)), SYNC_ERR_NOT_FOUND);
	CHECK(c.access_key == NULL && c.source == NULL);
	CHECK(err[0] != '\0');
	CHECK_INT(find(true, &c, err, sizeof(err)), SYNC_ERR_NOT_FOUND);
	CHECK(strstr(err, "COS_SECRET_ID") != NULL);
	/* A buffer too small still gets a terminated message; none at all is allowed. */
	CHECK_INT(s3_credentials_find(false, &c, err, 8), SYNC_ERR_NOT_FOUND);
	CHECK_INT(strlen(err), 7);
	CHECK_INT(s3_credentials_find(false, &c, NULL, 0), SYNC_ERR_NOT_FOUND);
	s3_credentials_release(NULL);
}

static void
test_bad_file(void)
{
	struct s3_credentials c;
	char err[256];
	char *path = default_path();

	clean_env();
	/* Not INI: the message names the line, not what is on it. */
	write_file(path, "[default]\naws_access_key_id = ID\naws_secret_access_key "
		   FILE_SECRET "\n");
	CHECK_INT(find(false, &c, err, sizeof(err)), SYNC_ERR_INVALID);
	CHECK(strstr(err, "line 3") != NULL);
	CHECK(strstr(err, path) != NULL);
	CHECK(c.access_key == NULL);

	write_file(path, "[default\naws_secret_access_key = " FILE_SECRET "\n");
	CHECK_INT(find(false, &c, err, sizeof(err)), SYNC_ERR_INVALID);
	CHECK(strstr(err, "line 1") != NULL);

	/* Cannot be read: a directory where the file should be. */
	unlink(path);
	if (mkdir(path, 0700) != 0)
		fatal("cannot make %s", path);
	CHECK_INT(find(false, &c, err, sizeof(err)), SYNC_ERR_INVALID);
	CHECK(strstr(err, "cannot read") != NULL);
	rmdir(path);

	/* Or without the permission (root reads it anyway). */
	write_file(path, "[default]\naws_access_key_id=ID\naws_secret_access_key="
		   FILE_SECRET "\n");
	if (geteuid() != 0) {
		chmod(path, 0);
		CHECK_INT(find(false, &c, err, sizeof(err)), SYNC_ERR_INVALID);
		CHECK(strstr(err, "Permission denied") != NULL);
	}
	unlink(path);
	free(path);
}

int
main(void)
{
	char tmpl[] = "/tmp/test-s3-credentials.XXXXXX";
	char *aws;

	home = mkdtemp(tmpl);
	if (!home)
		fatal("mkdtemp failed");
	aws = xasprintf("%s/.aws", home);
	if (mkdir(aws, 0700) != 0)
		fatal("cannot make %s", aws);

	test_env();
	test_file();
	test_long_token();
	test_cos();
	test_nothing();
	test_bad_file();

	rmdir(aws);
	free(aws);
	rmdir(home);
	return unit_done("test-s3-credentials");
}
