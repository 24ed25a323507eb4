/*
 * Unit tests for the filter rules (filter.h): what each kind of rule
 * excludes, one row each, as rsync 3.x decides it (rows checked against
 * a real rsync; tests/integration/filters-match.sh does that for whole
 * trees); the rules refused, from options and from a file; the rules
 * stored and read back; and the bytes handed to rsync for a source named
 * like a pattern.
 */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include "filter.h"
#include "unit.h"

enum { F = 0, D = 1 };     /* a file, a directory */

/* Rules, each "+ PATTERN" or "- PATTERN", then a path and what it is. */
struct match_row {
	int line;
	const char *rules[3];
	const char *path;
	bool is_dir;
	bool excluded;
};

#define ROW(rules, path, is_dir, excluded) { __LINE__, rules, path, is_dir, excluded }
#define R(...) { __VA_ARGS__ }

static const struct match_row match_rows[] = {
	/* A pattern with no '/': the name, at any depth. */
	ROW(R("- *.o"), "x.o", F, true),
	ROW(R("- *.o"), "a/b/x.o", F, true),
	ROW(R("- *.o"), "a/x.oo", F, false),
	ROW(R("- *"), "a/b", F, true),
	ROW(R("- tmp"), "a/tmp", D, true),
	ROW(R("- tmp"), "a/tmp", F, true),
	ROW(R("- tmp"), "tmp2", F, false),
	ROW(R("- tmp"), "a/xtmp", F, false),
	/* Anchored: from the source down, and only there. */
	ROW(R("- /tmp"), "tmp", D, true),
	ROW(R("- /tmp"), "a/tmp", D, false),
	ROW(R("- /a/b"), "a/b", F, true),
	ROW(R("- /a/b"), "x/a/b", F, false),
	ROW(R("- /a/*"), "a/x", F, true),
	ROW(R("- /a/*"), "a/x/y", F, false),
	ROW(R("- /"), "a", D, false),
	/* A '/' inside: the last elements, as many as the pattern has. */
	ROW(R("- b/c"), "b/c", F, true),
	ROW(R("- b/c"), "a/b/c", F, true),
	ROW(R("- b/c"), "ab/c", F, false),
	ROW(R("- b/c"), "b/c/d", F, false),
	ROW(R("- a/*/c*"), "a/x/cd", F, true),
	ROW(R("- a/*/c*"), "z/a/x/cd", F, true),
	ROW(R("- a/*/c*"), "a/x/y/cd", F, false),
	ROW(R("- a/*/c*"), "a/cd", F, false),
	/* ... counted as bytes: a '/' in a set matches no '/', so nothing. */
	ROW(R("- a[/]b"), "x/a/b", F, false),
	ROW(R("- a[/x]b/c"), "q/axb/c", F, false),
	/* A leading "**" matches nothing too. */
	ROW(R("- **/c"), "c", F, true),
	ROW(R("- **/c"), "a/b/c", F, true),
	ROW(R("- **/c"), "a/bc", F, false),
	ROW(R("- **"), "a", F, true),
	/* "**" inside: from the start or after any '/'. */
	ROW(R("- a/**/y.c"), "a/y.c", F, false),
	ROW(R("- a/**/y.c"), "a/b/y.c", F, true),
	ROW(R("- a/**/y.c"), "z/a/b/c/y.c", F, true),
	ROW(R("- a**b"), "ab", F, true),
	ROW(R("- a**b"), "a/b", F, true),
	ROW(R("- a**b"), "x/ab", F, true),
	ROW(R("- a**b"), "xab", F, false),
	/* A trailing "**": below the directory, not the directory. */
	ROW(R("- foo/**"), "foo", D, false),
	ROW(R("- foo/**"), "foo/x", F, true),
	ROW(R("- foo/**"), "a/foo/x/y", F, true),
	/* Three stars at the end: the directory and all below it. */
	ROW(R("- a/***"), "a", D, true),
	ROW(R("- a/***"), "a", F, false),
	ROW(R("- a/***"), "a/x", F, true),
	ROW(R("- a/***"), "b/a", D, true),
	ROW(R("- /a/***"), "b/a", D, false),
	/* A trailing '/': directories only. */
	ROW(R("- b/"), "b", D, true),
	ROW(R("- b/"), "b", F, false),
	ROW(R("- b/"), "x/b", D, true),
	ROW(R("- /a/b/"), "a/b", D, true),
	ROW(R("- /a/b/"), "a/b", F, false),
	/* Sets: ranges, negation, classes, a ']' first, malformed ones. */
	ROW(R("- [ab]*.[co]"), "ax.c", F, true),
	ROW(R("- [ab]*.[co]"), "cx.c", F, false),
	ROW(R("- [ab]*.[co]"), "b.o", F, true),
	ROW(R("- [!a-c]*"), "d", F, true),
	ROW(R("- [!a-c]*"), "b", F, false),
	ROW(R("- [^a]"), "b", F, true),
	ROW(R("- [^a]"), "a", F, false),
	ROW(R("- [[:upper:]]*"), "Abc", F, true),
	ROW(R("- [[:upper:]]*"), "abc", F, false),
	ROW(R("- [[:digit:]x]"), "7", F, true),
	ROW(R("- [[:digit:]x]"), "x", F, true),
	ROW(R("- [[:digit:]x]"), "y", F, false),
	ROW(R("- [[:alpha]"), "h", F, true),            /* no ":]": a set of [:alph */
	ROW(R("- [[:alpha]"), "b", F, false),
	ROW(R("- []x]"), "]", F, true),
	ROW(R("- []x]"), "x", F, true),
	ROW(R("- [a-]"), "-", F, true),
	ROW(R("- [z-a]"), "m", F, false),
	ROW(R("- [[:nope:]]"), "n", F, false),
	ROW(R("- [ab"), "[ab", F, false),
	ROW(R("- [\\]]"), "]", F, true),
	/* '?': one byte, never '/'. */
	ROW(R("- ?.log"), "1.log", F, true),
	ROW(R("- ?.log"), "a/1.log", F, true),
	ROW(R("- ?.log"), "22.log", F, false),
	ROW(R("- a?b"), "a/b", F, false),
	/* Escapes, in a wildcard pattern only; a '\' last matches nothing. */
	ROW(R("- st\\*ar"), "st*ar", F, true),
	ROW(R("- st\\*ar"), "stxar", F, false),
	ROW(R("- \\*"), "*", F, true),
	ROW(R("- \\*"), "x", F, false),
	ROW(R("- x\\*"), "x*", F, true),
	ROW(R("- *\\"), "a\\", F, false),
	/* A literal pattern keeps its backslashes. */
	ROW(R("- x\\"), "x\\", F, true),
	ROW(R("- back\\slash"), "back\\slash", F, true),
	ROW(R("- back\\slash"), "backslash", F, false),
	ROW(R("- a\\b/c"), "x/a\\b/c", F, true),
	/* Names with spaces and newlines are bytes like others. */
	ROW(R("- sp ace"), "x/sp ace", D, true),
	ROW(R("- *line"), "new\nline", F, true),
	ROW(R("- trail "), "trail", F, false),
	/* The first rule that matches decides; none: included. */
	ROW(R("- *", "+ *.c"), "x.c", F, true),
	ROW(R("+ *.c", "- *"), "x.c", F, false),
	ROW(R("+ *.c", "- *"), "x.o", F, true),
	ROW(R("+ a/b/", "- b"), "a/b", D, false),
	ROW(R("+ a/b/", "- b"), "x/b", D, true),
	ROW(R("+ a/b/", "- b"), "a/b", F, true),
	ROW(R("+ *", "- *"), "x", F, false),
	ROW(R(NULL), "anything", D, false),
};

static void
check_matches(void)
{
	size_t i, j;

	for (i = 0; i < sizeof(match_rows) / sizeof(*match_rows); i++) {
		const struct match_row *r = &match_rows[i];
		struct filter f;
		char err[256];
		bool got;

		filter_init(&f);
		for (j = 0; j < 3 && r->rules[j]; j++)
			if (filter_add(&f, false, r->rules[j], err, sizeof(err)) < 0)
				fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, r->line, err);
		got = filter_excluded(&f, r->path, r->is_dir);
		unit_checks++;
		if (got != r->excluded) {
			unit_failures++;
			fprintf(stderr, "FAIL %s:%d: '%s' %s, want %s\n", __FILE__, r->line,
				r->path, got ? "excluded" : "included",
				r->excluded ? "excluded" : "included");
		}
		filter_release(&f);
	}
}

static void
check_add(void)
{
	struct filter f = { 0 };
	char err[256] = "";

	CHECK(filter_empty(&f));
	/* A prefix makes an --exclude an include, and the other way round. */
	CHECK_INT(filter_add(&f, false, "+ keep", err, sizeof(err)), 0);
	CHECK_INT(filter_add(&f, true, "- drop", err, sizeof(err)), 0);
	CHECK_INT(filter_add(&f, true, "*", err, sizeof(err)), 0);
	CHECK(!filter_empty(&f));
	CHECK(!filter_excluded(&f, "keep", F));
	CHECK(filter_excluded(&f, "drop", F));
	CHECK(!filter_excluded(&f, "other", F));
	/* Only one prefix, and only with its space: the rest is the pattern. */
	CHECK_INT(filter_add(&f, false, "- - x", err, sizeof(err)), 0);
	CHECK(filter_excluded(&f, "- x", F) == false);    /* "*" came first */
	filter_release(&f);
	CHECK(filter_empty(&f));
	CHECK_INT(filter_add(&f, false, "- - x", err, sizeof(err)), 0);
	CHECK_INT(filter_add(&f, true, "-x", err, sizeof(err)), 0);
	CHECK_INT(filter_add(&f, false, "merge x", err, sizeof(err)), 0);
	CHECK_INT(filter_add(&f, false, "!x", err, sizeof(err)), 0);
	CHECK(filter_excluded(&f, "- x", F));
	CHECK(!filter_excluded(&f, "-x", F));
	CHECK(filter_excluded(&f, "merge x", F));
	CHECK(filter_excluded(&f, "!x", F));

	/* Refused, f unchanged. */
	CHECK_INT(filter_add(&f, false, "", err, sizeof(err)), -1);
	CHECK_STR(err, "invalid rule '': no pattern");
	CHECK_INT(filter_add(&f, true, "+ ", err, sizeof(err)), -1);
	CHECK_STR(err, "invalid rule '+ ': no pattern");
	CHECK_INT(filter_add(&f, false, "!", err, sizeof(err)), -1);
	CHECK_STR(err, "invalid rule '!': '!' (clear the rules) is not supported");
	{
		char *long_pattern = xmalloc(4000);

		memset(long_pattern, 'x', 3999);
		long_pattern[3999] = '\0';
		CHECK_INT(filter_add(&f, false, long_pattern, err, sizeof(err)), -1);
		CHECK(strstr(err, "pattern too long") != NULL);
		free(long_pattern);
	}
	CHECK_INT(f.nr, 4);
	filter_release(&f);
}

/* Write len bytes of text to path. */
static void
write_file(const char *path, const char *text, size_t len)
{
	FILE *fp = fopen(path, "w");

	CHECK(fp != NULL);
	if (fp) {
		CHECK(fwrite(text, 1, len, fp) == len);
		fclose(fp);
	}
}

#define WRITE(path, text) write_file(path, text, sizeof(text) - 1)

static void
check_add_file(const char *dir)
{
	struct filter f = { 0 };
	struct strbuf sb = STRBUF_INIT;
	char err[512] = "";
	char *path = xasprintf("%s/rules", dir), *missing = xasprintf("%s/none", dir);

	/*
	 * Comments, blank lines, LF, CRLF and CR endings, prefixes, a
	 * trailing space kept, a NUL ending its line's rule.
	 */
	WRITE(path, "# comment\n; comment\n\n+ *.c\r\n- /a/b/\r\ntrail \r*.o\r\rk*\n"
	      " # not a comment\nnul\0after\n- #hash");
	CHECK_INT(filter_add_file(&f, path, err, sizeof(err)), 0);
	filter_serialize(&f, &sb);
	CHECK_INT(sb.len, sizeof("+ *.c\0- /a/b/\0- trail \0- *.o\0- k*\0-  # not a comment\0"
				 "- nul\0- #hash\0") - 1);
	CHECK(memcmp(sb.buf, "+ *.c\0- /a/b/\0- trail \0- *.o\0- k*\0-  # not a comment\0"
		     "- nul\0- #hash\0", sb.len) == 0);
	CHECK(!filter_excluded(&f, "k.c", F));
	CHECK(filter_excluded(&f, "trail ", F));
	CHECK(!filter_excluded(&f, "trail", F));
	strbuf_release(&sb);
	filter_release(&f);

	/* A bad line: its file and line named, none of its rules taken. */
	CHECK_INT(filter_add(&f, false, "first", err, sizeof(err)), 0);
	WRITE(path, "a\r\nb\rc\n- \n");
	CHECK_INT(filter_add_file(&f, path, err, sizeof(err)), -1);
	CHECK(strstr(err, "/rules' line 4: no pattern") != NULL);
	CHECK_INT(f.nr, 1);
	WRITE(path, "x\n!\n");
	CHECK_INT(filter_add_file(&f, path, err, sizeof(err)), -1);
	CHECK(strstr(err, "line 2: '!' (clear the rules) is not supported") != NULL);
	CHECK_INT(f.nr, 1);
	/* Unreadable files, and standard input. */
	CHECK_INT(filter_add_file(&f, missing, err, sizeof(err)), -1);
	CHECK(strstr(err, "cannot read rules from '") == err);
	CHECK(strstr(err, "/none': No such file or directory") != NULL);
	CHECK_INT(filter_add_file(&f, dir, err, sizeof(err)), -1);
	CHECK(strstr(err, "Is a directory") != NULL);
	CHECK_INT(filter_add_file(&f, "-", err, sizeof(err)), -1);
	CHECK_STR(err, "cannot read rules from standard input");
	CHECK_INT(f.nr, 1);
	/* An empty file: no rules. */
	WRITE(path, "");
	CHECK_INT(filter_add_file(&f, path, err, sizeof(err)), 0);
	CHECK_INT(f.nr, 1);
	filter_release(&f);
	unlink(path);
	free(path);
	free(missing);
}

static void
check_serialize(void)
{
	static const char *const rules[][2] = {
		{ "- ", "*.o" }, { "+ ", "- x" }, { "- ", "new\nline" }, { "+ ", "a/***" },
		{ "- ", "!" }, { "- ", "/a b/" },
	};
	struct filter f = { 0 }, g = { 0 };
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(*rules); i++) {
		char *r = xasprintf("%s%s", rules[i][0], rules[i][1]);

		CHECK_INT(filter_add(&f, false, r, err, sizeof(err)), 0);
		free(r);
	}
	filter_serialize(&f, &a);
	CHECK_INT(a.len, sizeof("- *.o\0+ - x\0- new\nline\0+ a/***\0- !\0- /a b/\0") - 1);
	CHECK(memcmp(a.buf, "- *.o\0+ - x\0- new\nline\0+ a/***\0- !\0- /a b/\0", a.len) == 0);
	CHECK_INT(filter_deserialize(&g, a.buf, a.len), 0);
	filter_serialize(&g, &b);
	CHECK_INT(b.len, a.len);
	CHECK(memcmp(a.buf, b.buf, a.len) == 0);
	CHECK(!filter_excluded(&g, "- x", F));
	CHECK(filter_excluded(&g, "a/b/new\nline", F));
	/* The last NUL is optional; nothing is no rules. */
	filter_release(&g);
	CHECK_INT(filter_deserialize(&g, "- a\0+ b", 7), 0);
	CHECK_INT(g.nr, 2);
	CHECK_INT(filter_deserialize(&g, "", 0), 0);
	CHECK_INT(g.nr, 2);
	/* Not rules: g as it was. */
	CHECK_INT(filter_deserialize(&g, "- a\0\0", 5), SYNC_ERR_INVALID);
	CHECK_INT(filter_deserialize(&g, "- a\0b", 5), SYNC_ERR_INVALID);
	CHECK_INT(filter_deserialize(&g, "- ", 2), SYNC_ERR_INVALID);
	CHECK_INT(filter_deserialize(&g, "!", 1), SYNC_ERR_INVALID);
	CHECK_INT(g.nr, 2);
	strbuf_release(&a);
	strbuf_release(&b);
	filter_release(&f);
	filter_release(&g);
}

/* The rules for rsync from the given ones, "\n" for each NUL. */
static char *
rsync_rules(const char *const *rules, const char *top)
{
	struct filter f = { 0 };
	struct strbuf out = STRBUF_INIT;
	char err[256];
	size_t i;

	for (; *rules; rules++)
		CHECK_INT(filter_add(&f, false, *rules, err, sizeof(err)), 0);
	filter_rsync_rules(&f, top, &out);
	for (i = 0; i < out.len; i++)
		if (out.buf[i] == '\0')
			out.buf[i] = '\n';
	filter_release(&f);
	return strbuf_detach(&out, NULL);
}

static void
check_rsync_rules(void)
{
	const char *rules[] = {
		"- *.o", "+ keep/", "- /tmp", "- a/b", "- a/*.c", "- a**", "- **/c",
		"- /x\\y", "- b\\c/d", "- a[/]b", "- x/***", NULL,
	};
	const char *none[] = { NULL };
	char *got;

	/* A top with wildcards: escaped wherever the pattern is a wildcard one. */
	got = rsync_rules(rules, "da*ta[1]");
	CHECK_STR(got, "+ /da\\*ta\\[1]/\n"
		  "- *.o\n"
		  "+ keep/\n"
		  "- /da\\*ta\\[1]/tmp\n"
		  "- /da\\*ta\\[1]/a/b\n"
		  "- /da\\*ta\\[1]/**/a/b\n"
		  "- /da\\*ta\\[1]/a/*.c\n"
		  "- /da\\*ta\\[1]/**/a/*.c\n"
		  "- /da\\*ta\\[1]/a**\n"
		  "- /da\\*ta\\[1]/**/a**\n"
		  "- /da\\*ta\\[1]**/c\n"
		  "- /da\\*ta\\[1]/x\\\\y\n"
		  "- /da\\*ta\\[1]/b\\\\c/d\n"
		  "- /da\\*ta\\[1]/**/b\\\\c/d\n"
		  "- /da\\*ta\\[1]/x/***\n"
		  "- /da\\*ta\\[1]/**/x/***\n");
	free(got);
	/* A top with none: as it is where the pattern is literal, a '\' too. */
	got = rsync_rules(rules, "t\\op");
	CHECK_STR(got, "+ /t\\op/\n"
		  "- *.o\n"
		  "+ keep/\n"
		  "- /t\\op/tmp\n"
		  "- /t\\op/a/b\n"
		  "- /t\\\\op/**/a/b\n"
		  "- /t\\\\op/a/*.c\n"
		  "- /t\\\\op/**/a/*.c\n"
		  "- /t\\\\op/a**\n"
		  "- /t\\\\op/**/a**\n"
		  "- /t\\\\op**/c\n"
		  "- /t\\op/x\\y\n"
		  "- /t\\op/b\\c/d\n"
		  "- /t\\\\op/**/b\\\\c/d\n"
		  "- /t\\\\op/x/***\n"
		  "- /t\\\\op/**/x/***\n");
	free(got);
	/* No rules, nothing. */
	got = rsync_rules(none, "top");
	CHECK_STR(got, "");
	free(got);
}

int
main(void)
{
	char dir[] = "/tmp/scow-sync-test-filter-XXXXXX";

	if (mkdtemp(dir) == NULL)
		return 99;
	check_matches();
	check_add();
	check_add_file(dir);
	check_serialize();
	check_rsync_rules();
	rmdir(dir);
	return unit_done("test-filter");
}
