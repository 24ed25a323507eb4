/* settings: defaults from files, the environment and flags (see settings.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

/* TYPE_SECRET: any text, read only from a file, never shown. */
/* TYPE_RATE: KiB/s, or with a unit (parse_rate_kib): max is in KiB/s. */
enum setting_type { TYPE_NUMBER, TYPE_WORD, TYPE_PATH, TYPE_SECRET, TYPE_TEXT, TYPE_RATE };

static const struct {
	const char *key;
	const char *env;
	enum setting_type type;
	unsigned long long min, max;   /* numbers */
	const char *words;             /* TYPE_WORD: the values allowed, space-separated */
	const char *default_text;      /* what applies when unset, for config's listing */
} table[SETTING_COUNT] = {
	[SETTING_WORKERS] = { "workers", "SCOW_SYNC_WORKERS", TYPE_NUMBER, 1, 64, NULL,
			      "decided by the link (4 at most)" },
	[SETTING_RETRIES] = { "retries", "SCOW_SYNC_RETRIES", TYPE_NUMBER, 1, 100, NULL, "3" },
	[SETTING_BWLIMIT] = { "bwlimit", "SCOW_SYNC_BWLIMIT", TYPE_RATE, 0, 1ULL << 40, NULL,
			      "0 (no limit)" },
	[SETTING_SPLIT_MIB] = { "split_mib", "SCOW_SYNC_SPLIT_MIB", TYPE_NUMBER, 0, 1ULL << 30,
				NULL, "decided by the link (64 on far links)" },
	[SETTING_COMPRESS] = { "compress", "SCOW_SYNC_COMPRESS", TYPE_WORD, 0, 0,
			       "auto always never", "auto" },
	[SETTING_STATE_DIR] = { "state_dir", "SCOW_SYNC_HOME", TYPE_PATH, 0, 0, NULL,
				"~/scow/.scow-sync" },
	[SETTING_LOG_MAX_MIB] = { "log_max_mib", "SCOW_SYNC_LOG_MAX_MIB", TYPE_NUMBER, 0,
				  1ULL << 20, NULL, "8" },
	[SETTING_KEEP_CONNECTION] = { "keep_connection", "SCOW_SYNC_KEEP_CONNECTION",
				      TYPE_NUMBER, 0, 3600, NULL, "60" },
	[SETTING_PRUNE_DAYS] = { "prune_days", "SCOW_SYNC_PRUNE_DAYS", TYPE_NUMBER, 0, 100000,
				 NULL, "90" },
	[SETTING_PRUNE_KEEP] = { "prune_keep", "SCOW_SYNC_PRUNE_KEEP", TYPE_NUMBER, 1,
				 1000000000, NULL, "1000" },
	[SETTING_IO_TIMEOUT] = { "io_timeout", "SCOW_SYNC_IO_TIMEOUT", TYPE_NUMBER, 0, 86400,
				 NULL, "300" },
	[SETTING_MAX_DELETE] = { "max_delete", "SCOW_SYNC_MAX_DELETE", TYPE_NUMBER, 0,
				 1ULL << 62, NULL, "no limit" },
	[SETTING_NOTIFY_SECRET] = { "notify_secret", NULL, TYPE_SECRET, 0, 0, NULL,
				    "none: notifications are not signed" },
	[SETTING_S3_ENDPOINT] = { "s3_endpoint", "AWS_ENDPOINT_URL", TYPE_TEXT, 0, 0, NULL,
				  "AWS's for the region (COS's for cos://)" },
	[SETTING_S3_REGION] = { "s3_region", "AWS_REGION", TYPE_TEXT, 0, 0, NULL, "us-east-1" },
	[SETTING_S3_ADDRESSING] = { "s3_addressing", "SCOW_SYNC_S3_ADDRESSING", TYPE_WORD, 0, 0,
				    "auto path virtual",
				    "auto (virtual at AWS and COS, path elsewhere)" },
	[SETTING_S3_MULTIPART_MIB] = { "s3_multipart_mib", "SCOW_SYNC_S3_MULTIPART_MIB",
				       TYPE_NUMBER, 8, 1ULL << 20, NULL, "16" },
	[SETTING_RELAY] = { "relay", "SCOW_SYNC_RELAY", TYPE_WORD, 0, 0, "auto yes no",
			    "auto (from 3 hosts)" },
	[SETTING_RELAY_FANOUT] = { "relay_fanout", "SCOW_SYNC_RELAY_FANOUT", TYPE_NUMBER, 1, 16,
				   NULL, "2" },
	[SETTING_SLURM_NODES] = { "slurm_nodes", "SCOW_SYNC_SLURM_NODES", TYPE_NUMBER, 0, 512,
				  NULL, "0 (this node alone)" },
	[SETTING_SLURM_PARTITION] = { "slurm_partition", "SCOW_SYNC_SLURM_PARTITION", TYPE_TEXT,
				      0, 0, NULL, "Slurm's default partition" },
};

static const char *const source_names[] = { "default", "system file", "user file",
					    "environment", "flag" };

const char *
setting_key(enum setting k)
{
	return table[k].key;
}

const char *
setting_env(enum setting k)
{
	return table[k].env;
}

const char *
setting_default_text(enum setting k)
{
	return table[k].default_text;
}

const char *
setting_source_name(enum setting_source src)
{
	return source_names[src];
}

/* Check value for setting k, naming it as shown (escaped) in the reason. */
static int
check_shown(enum setting k, const char *value, const char *shown, const char *where, char *err,
	    size_t errlen)
{
	unsigned long long n;

	switch (table[k].type) {
	case TYPE_NUMBER:
		if (parse_ullong(value, table[k].min, table[k].max, &n) == 0)
			return 0;
		snprintf(err, errlen, "%s: invalid %s '%s': expected a number from %llu to %llu",
			 where, table[k].key, shown, table[k].min, table[k].max);
		return -1;
	case TYPE_RATE:
		if (parse_rate_kib(value, table[k].max, &n) == 0)
			return 0;
		snprintf(err, errlen, "%s: invalid %s '%s': expected a rate such as 50M or 1G "
			 "(bytes a second; without a unit, KiB)", where, table[k].key, shown);
		return -1;
	case TYPE_WORD: {
		const char *p = table[k].words;
		size_t len = strlen(value);

		while (*p) {
			size_t wl = strcspn(p, " ");

			if (wl == len && strncmp(p, value, len) == 0)
				return 0;
			p += wl + (p[wl] == ' ');
		}
		snprintf(err, errlen, "%s: invalid %s '%s': expected one of: %s", where,
			 table[k].key, shown, table[k].words);
		return -1;
	}
	case TYPE_PATH:
		/* Relative ones are taken from where the command runs. */
		return 0;
	case TYPE_TEXT:
		/* One line of text; what it means is checked where it is used. */
		if (*value && !strpbrk(value, "\r\n"))
			return 0;
		snprintf(err, errlen, "%s: invalid %s '%s': expected one line of text", where,
			 table[k].key, shown);
		return -1;
	case TYPE_SECRET:
		/* Neither message holds the value, not even in part. */
		if (strlen(value) > SETTING_SECRET_MAX) {
			snprintf(err, errlen, "%s: %s is longer than %d bytes", where,
				 table[k].key, SETTING_SECRET_MAX);
			return -1;
		}
		if (*value)
			return 0;
		snprintf(err, errlen, "%s: %s is empty", where, table[k].key);
		return -1;
	}
	return -1;
}


/* Check value (any bytes) for setting k; -1 with the reason (after "where: ") in err. */
static int
check_value(enum setting k, const char *value, const char *where, char *err, size_t errlen)
{
	struct strbuf shown = STRBUF_INIT;
	int rc;

	/* A variable's or a file's value may hold any bytes: the message stays one line. */
	escape_untrusted(&shown, value, strlen(value));
	rc = check_shown(k, value, shown.buf, where, err, errlen);
	strbuf_release(&shown);
	return rc;
}

static void
set_value(struct settings *s, enum setting k, const char *value, enum setting_source src,
	  const char *where)
{
	free(s->v[k].text);
	free(s->v[k].where);
	s->v[k].text = xstrdup(value);
	s->v[k].source = src;
	s->v[k].where = xstrdup(where);
}

static char *
trim(char *p)
{
	char *end;

	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' ||
			   end[-1] == '\r'))
		*--end = '\0';
	return p;
}

/*
 * Take the value in double quotes at p (just past the opening one) into
 * out: \" and \\ stand for " and \, any other byte for itself. The rest
 * of the line after the closing quote, or NULL when there is none.
 */
static char *
unquote(char *p, struct strbuf *out)
{
	strbuf_reset(out);
	for (; *p != '\0'; p++) {
		if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
			strbuf_addch(out, *++p);
		else if (*p == '"')
			return p + 1;
		else
			strbuf_addch(out, *p);
	}
	return NULL;
}

/*
 * Cut an unquoted value at its comment: a '#' at its start or after a
 * blank, so that a '#' inside a word (a secret, a URL's fragment) stays.
 */
static void
cut_comment(char *value)
{
	char *q;

	for (q = value; *q != '\0'; q++) {
		if (*q == '#' && (q == value || q[-1] == ' ' || q[-1] == '\t')) {
			*q = '\0';
			return;
		}
	}
}

/* Does s hold a control byte? */
static bool
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* Keep the first error of several: it is the one reported. */
static void
note_error(int *rc, char *err, size_t errlen, const char *msg)
{
	if (*rc == 0)
		snprintf(err, errlen, "%s", msg);
	*rc = -1;
}

int
settings_parse(struct settings *s, const char *text, size_t len, enum setting_source src,
	       const char *name, char *err, size_t errlen)
{
	struct strbuf where = STRBUF_INIT, shown = STRBUF_INIT, line = STRBUF_INIT;
	struct strbuf quoted = STRBUF_INIT;
	char msg[1024];
	unsigned lineno = 0;
	size_t pos = 0;
	int rc = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *p, *eq, *key, *value;
		int k, found = -1;

		strbuf_reset(&line);
		strbuf_add(&line, text + pos, n);
		pos += n + (nl != NULL);
		lineno++;
		strbuf_reset(&where);
		strbuf_addf(&where, "%s:%u", name, lineno);
		p = line.buf;
		/* A byte order mark, as some editors write it. */
		if (lineno == 1 && strncmp(p, "\xef\xbb\xbf", 3) == 0)
			p += 3;
		/* (A NUL byte ends the line here: no setting holds one.) */
		p = trim(p);
		if (*p == '\0' || *p == '#')
			continue;
		if ((eq = strchr(p, '=')) == NULL) {
			strbuf_reset(&shown);
			escape_untrusted(&shown, p, strlen(p));
			/* A secret written wrong is still a secret: the line is not shown. */
			if (strncmp(p, "notify_secret", 13) == 0)
				snprintf(msg, sizeof msg, "%s: expected 'notify_secret = "
					 "value' (the line is not shown)", where.buf);
			else
				snprintf(msg, sizeof msg, "%s: expected 'key = value', not '%s'",
					 where.buf, shown.buf);
			note_error(&rc, err, errlen, msg);
			continue;
		}
		*eq = '\0';
		key = trim(p);
		value = trim(eq + 1);
		if (value[0] == '"') {
			char *after = unquote(value + 1, &quoted);

			/* Only a comment may follow the closing quote. */
			if (after != NULL)
				after = trim(after);
			if (after == NULL || (after[0] != '\0' && after[0] != '#')) {
				snprintf(msg, sizeof msg, "%s: a value in quotes must end with one",
					 where.buf);
				note_error(&rc, err, errlen, msg);
				continue;
			}
			value = quoted.buf;
		} else {
			cut_comment(value);
			value = trim(value);
		}
		for (k = 0; k < SETTING_COUNT; k++)
			if (strcmp(table[k].key, key) == 0)
				found = k;
		strbuf_reset(&shown);
		if (found < 0) {
			escape_untrusted(&shown, key, strlen(key));
			snprintf(msg, sizeof msg, "%s: unknown setting '%s' (known: workers, "
				 "retries, bwlimit, split_mib, compress, state_dir, log_max_mib, "
				 "...)", where.buf, shown.buf);
			note_error(&rc, err, errlen, msg);
			continue;
		}
		escape_untrusted(&shown, value, strlen(value));
		/* A secret may hold any byte but a control one, quotes and backslashes too. */
		if (table[found].type == TYPE_SECRET && has_control(value)) {
			/* Never in a message, not even in part. */
			snprintf(msg, sizeof msg, "%s: invalid %s: it holds control bytes",
				 where.buf, key);
			note_error(&rc, err, errlen, msg);
			continue;
		}
		if (strcmp(shown.buf, value) != 0 && table[found].type != TYPE_SECRET) {
			snprintf(msg, sizeof msg, "%s: invalid %s '%s'", where.buf, key, shown.buf);
			note_error(&rc, err, errlen, msg);
			continue;
		}
		if (check_value((enum setting)found, value, where.buf, msg, sizeof msg) < 0) {
			note_error(&rc, err, errlen, msg);
			continue;
		}
		/* A file is read from anywhere: a path in it cannot be relative. */
		if (table[found].type == TYPE_PATH && value[0] != '/' &&
		    strncmp(value, "~/", 2) != 0) {
			snprintf(msg, sizeof msg, "%s: invalid %s '%s': expected an absolute path "
				 "or ~/...", where.buf, key, shown.buf);
			note_error(&rc, err, errlen, msg);
			continue;
		}
		set_value(s, (enum setting)found, value, src, where.buf);
	}
	strbuf_release(&where);
	strbuf_release(&shown);
	strbuf_release(&line);
	strbuf_release(&quoted);
	return rc;
}

/* The most of a settings file that is read: more is a mistake. */
#define SETTINGS_FILE_MAX (1 << 20)

/*
 * Read one settings file; a missing one is no error. A bad line is
 * skipped (the others still apply) and reported: -1, its reason in err.
 */
static int
read_file(struct settings *s, const char *path, enum setting_source src, char *err,
	  size_t errlen)
{
	struct strbuf text = STRBUF_INIT;
	char buf[8192];
	size_t n;
	int rc;
	FILE *f = fopen(path, "re");

	if (f == NULL) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		snprintf(err, errlen, "cannot read settings file '%s': %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(buf, 1, sizeof buf, f)) > 0 && text.len <= SETTINGS_FILE_MAX)
		strbuf_add(&text, buf, n);
	if (ferror(f) || text.len > SETTINGS_FILE_MAX) {
		snprintf(err, errlen, "cannot read settings file '%s': %s", path,
			 ferror(f) ? strerror(errno) : "larger than 1 MiB");
		fclose(f);
		strbuf_release(&text);
		return -1;
	}
	fclose(f);
	rc = settings_parse(s, text.buf, text.len, src, path, err, errlen);
	strbuf_release(&text);
	return rc;
}

int
settings_load(struct settings *s, char *err, size_t errlen)
{
	const char *env;
	char msg[1024];
	int k, rc = 0;

	memset(s, 0, sizeof *s);
	env = getenv("SCOW_SYNC_SYSTEM_CONFIG");
	s->system_file = env && *env ? xstrdup(env) : xstrdup(SYSCONFDIR "/scow-sync.conf");
	env = getenv("SCOW_SYNC_CONFIG");
	if (env && *env)
		s->user_file = xstrdup(env);
	else if ((env = getenv("XDG_CONFIG_HOME")) && env[0] == '/')
		s->user_file = xasprintf("%s/scow-sync/config", env);
	else
		s->user_file = xasprintf("%s/.config/scow-sync/config", home_dir());
	if (read_file(s, s->system_file, SOURCE_SYSTEM, msg, sizeof msg) < 0)
		note_error(&rc, err, errlen, msg);
	if (read_file(s, s->user_file, SOURCE_USER, msg, sizeof msg) < 0)
		note_error(&rc, err, errlen, msg);
	for (k = 0; k < SETTING_COUNT; k++) {
		/* A secret is never taken from the environment, which a ps -e can show. */
		if (table[k].env == NULL)
			continue;
		env = getenv(table[k].env);
		if (env == NULL || *env == '\0')
			continue;
		if (check_value((enum setting)k, env, table[k].env, msg, sizeof msg) < 0) {
			note_error(&rc, err, errlen, msg);
			continue;
		}
		set_value(s, (enum setting)k, env, SOURCE_ENV, table[k].env);
	}
	return rc;
}

int
settings_set_flag(struct settings *s, enum setting k, const char *flag, const char *value,
		  char *err, size_t errlen)
{
	if (check_value(k, value, flag, err, errlen) < 0)
		return -1;
	set_value(s, k, value, SOURCE_FLAG, flag);
	return 0;
}

void
settings_release(struct settings *s)
{
	int k;

	for (k = 0; k < SETTING_COUNT; k++) {
		free(s->v[k].text);
		free(s->v[k].where);
	}
	free(s->system_file);
	free(s->user_file);
	memset(s, 0, sizeof *s);
}

const char *
settings_get(const struct settings *s, enum setting k)
{
	return s->v[k].text;
}

uint64_t
settings_number(const struct settings *s, enum setting k, uint64_t dflt)
{
	unsigned long long n;

	if (s->v[k].text == NULL ||
	    (table[k].type == TYPE_RATE ? parse_rate_kib(s->v[k].text, table[k].max, &n) :
	     parse_ullong(s->v[k].text, table[k].min, table[k].max, &n)) < 0)
		return dflt;
	return n;
}

char *
settings_state_dir(const struct settings *s)
{
	const char *v = s->v[SETTING_STATE_DIR].text;
	const char *home = strcmp(home_dir(), "/") ? home_dir() : "";
	char *dir;

	if (v == NULL)
		return xasprintf("%s/scow/.scow-sync", home);
	if (strncmp(v, "~/", 2) == 0)
		return xasprintf("%s/%s", home, v + 2);
	if (path_absolute(v, &dir) == SYNC_OK)
		return dir;
	return xstrdup(v);
}
