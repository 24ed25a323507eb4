/* test-settings: the settings file's syntax, above all for notify_secret. */
#include "config.h"

#include "settings.h"
#include "unit.h"
#include "util.h"

/* Parse text as a user's file: its return, the secret (or NULL) in *secret, caller frees. */
static int
parse(const char *text, char **secret, char *err, size_t errlen)
{
	struct settings s;
	const char *v;
	int rc;

	memset(&s, 0, sizeof s);
	err[0] = '\0';
	rc = settings_parse(&s, text, strlen(text), SOURCE_USER, "conf", err, errlen);
	v = settings_get(&s, SETTING_NOTIFY_SECRET);
	*secret = v ? xstrdup(v) : NULL;
	settings_release(&s);
	return rc;
}

/* Each line gives the secret as the file has it, and what it must be read as. */
static void
test_secret_bytes(void)
{
	static const struct {
		const char *line, *want;
	} rows[] = {
		{ "notify_secret = s3cr#t", "s3cr#t" },
		{ "notify_secret = a#b#c # a comment", "a#b#c" },
		{ "notify_secret = abc#", "abc#" },
		{ "notify_secret = x\t# after a tab", "x" },
		{ "notify_secret = !\"$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
		  "!\"$%&'()*+,-./:;<=>?@[\\]^_`{|}~" },
		{ "notify_secret = \" #lead and trail \"", " #lead and trail " },
		{ "notify_secret = \"q\\\"uo\\\\te\" # comment", "q\"uo\\te" },
		{ "notify_secret = \"a\\b\"", "a\\b" },
		{ "notify_secret = \"#\"#", "#" },
		{ "  # notify_secret = commented out\nnotify_secret = k", "k" },
	};
	char err[1024], *got;
	size_t i;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		CHECK_INT(parse(rows[i].line, &got, err, sizeof err), 0);
		CHECK(got != NULL && strcmp(got, rows[i].want) == 0);
		if (got == NULL || strcmp(got, rows[i].want) != 0)
			fprintf(stderr, "  line '%s': got '%s', want '%s'\n", rows[i].line,
				got ? got : "(unset)", rows[i].want);
		free(got);
	}
}

/* A long secret is kept whole up to the limit; past it, an error that does not show it. */
static void
test_secret_length(void)
{
	struct strbuf line = STRBUF_INIT;
	char err[1024], *got;
	size_t i;

	strbuf_addstr(&line, "notify_secret = ");
	for (i = 0; i < SETTING_SECRET_MAX; i++)
		strbuf_addch(&line, "Zq#"[i % 3]);
	CHECK_INT(parse(line.buf, &got, err, sizeof err), 0);
	CHECK(got != NULL && strlen(got) == SETTING_SECRET_MAX);
	CHECK(got != NULL && strcmp(got, line.buf + 16) == 0);
	free(got);

	strbuf_addch(&line, 'Z');
	CHECK_INT(parse(line.buf, &got, err, sizeof err), -1);
	CHECK(got == NULL);
	CHECK(strstr(err, "conf:1") != NULL && strstr(err, "longer than 4096") != NULL);
	CHECK(strstr(err, "Zq#") == NULL);
	free(got);
	strbuf_release(&line);
}

/* The other ways a secret line goes wrong: never a byte of it in the message. */
static void
test_secret_errors(void)
{
	static const char *const lines[] = {
		"notify_secret = \"Zq#unterminated",
		"notify_secret = \"Zq#\" trailing",
		"notify_secret Zq#",
		"notify_secret = Zq#\x01",
	};
	char err[1024], *got;
	size_t i;

	for (i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		CHECK_INT(parse(lines[i], &got, err, sizeof err), -1);
		CHECK(got == NULL);
		CHECK(strstr(err, "conf:1") != NULL);
		CHECK(strstr(err, "Zq") == NULL);
		free(got);
	}
}

/* Other settings keep their comments as before. */
static void
test_comments(void)
{
	struct settings s;
	char err[256];
	const char *text = "retries = 6   # six tries\ncompress = \"never\"# q\n"
			   "# workers = 9\nstate_dir = ~/a#b\n";

	memset(&s, 0, sizeof s);
	CHECK_INT(settings_parse(&s, text, strlen(text), SOURCE_USER, "conf", err, sizeof err), 0);
	CHECK_STR(settings_get(&s, SETTING_RETRIES), "6");
	CHECK_STR(settings_get(&s, SETTING_COMPRESS), "never");
	CHECK(settings_get(&s, SETTING_WORKERS) == NULL);
	CHECK_STR(settings_get(&s, SETTING_STATE_DIR), "~/a#b");
	settings_release(&s);
}

int
main(void)
{
	test_secret_bytes();
	test_secret_length();
	test_secret_errors();
	test_comments();
	return unit_done("test-settings");
}
