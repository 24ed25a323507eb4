/* Unit tests for util: numbers, quoting, paths, UTF-8, escaping. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "unit.h"

static void
test_numbers(void)
{
	unsigned long long v = 7;
	int i = 0;

	/* A number from the environment: within its range, else the default. */
	unsetenv("SCOW_SYNC_TEST_NUMBER");
	CHECK_INT(env_number("SCOW_SYNC_TEST_NUMBER", 1, 10, 5), 5);
	setenv("SCOW_SYNC_TEST_NUMBER", "3", 1);
	CHECK_INT(env_number("SCOW_SYNC_TEST_NUMBER", 1, 10, 5), 3);
	setenv("SCOW_SYNC_TEST_NUMBER", "0", 1);
	CHECK_INT(env_number("SCOW_SYNC_TEST_NUMBER", 1, 10, 5), 5);
	setenv("SCOW_SYNC_TEST_NUMBER", "3x", 1);
	CHECK_INT(env_number("SCOW_SYNC_TEST_NUMBER", 1, 10, 5), 5);
	unsetenv("SCOW_SYNC_TEST_NUMBER");

	CHECK_INT(parse_ullong("0", 0, 10, &v), SYNC_OK);
	CHECK_INT(v, 0);
	CHECK_INT(parse_ullong("18446744073709551615", 0, ~0ULL, &v), SYNC_OK);
	CHECK(v == ~0ULL);
	CHECK_INT(parse_ullong("18446744073709551616", 0, ~0ULL, &v), SYNC_ERR_INVALID);
	CHECK_INT(parse_int_range("22", 1, 65535, &i), SYNC_OK);
	CHECK_INT(i, 22);
	static const char *const bad[] = { "", " 22", "22 ", "+22", "-1", "0x10", "2e3",
					   "65536", "0", "22abc", "１２", NULL };
	for (size_t k = 0; bad[k]; k++)
		CHECK_INT(parse_int_range(bad[k], 1, 65535, &i), SYNC_ERR_INVALID);
}

static void
test_quoting(void)
{
	struct strbuf sb = STRBUF_INIT;

	sq_quote(&sb, "it's $(rm -rf /) `x` \"y\"\n");
	CHECK_STR(sb.buf, "'it'\\''s $(rm -rf /) `x` \"y\"\n'");
	strbuf_reset(&sb);
	sq_quote(&sb, "");
	CHECK_STR(sb.buf, "''");
	strbuf_reset(&sb);
	rsync_rsh_quote(&sb, "a b'c\"d");
	CHECK_STR(sb.buf, "'a b''c\"d'");
	strbuf_release(&sb);
}

static void
test_paths(void)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "/a/b/", "/a/b" }, { "//a//b//", "/a/b" }, { "/a/./b/.", "/a/b" },
		{ "/", "/" }, { "///", "/" }, { "/a/../b", "/a/../b" },
		{ "/a b/c\nd", "/a b/c\nd" }, { "/-x", "/-x" },
	};
	char *out, *cwd = getcwd(NULL, 0);
	size_t k;

	for (k = 0; k < sizeof cases / sizeof *cases; k++) {
		CHECK_INT(path_absolute(cases[k].in, &out), SYNC_OK);
		CHECK_STR(out, cases[k].out);
		free(out);
	}
	CHECK_INT(path_absolute("rel/x/", &out), SYNC_OK);
	CHECK(strncmp(out, cwd, strlen(cwd)) == 0);
	CHECK_STR(out + strlen(cwd), strcmp(cwd, "/") ? "/rel/x" : "rel/x");
	free(out);
	free(cwd);
	CHECK(path_absolute("", &out) != SYNC_OK);

	/* Sources through "..": the real directory; others as they are. */
	{
		char base[] = "/tmp/scow-sync-test-util-XXXXXX";
		char *p, *want;

		CHECK(mkdtemp(base) != NULL);
		p = xasprintf("%s/a", base);
		CHECK(mkdir(p, 0700) == 0);
		free(p);
		p = xasprintf("%s/a/../a/b c", base);
		want = xasprintf("%s/a/b c", base);
		CHECK_INT(path_source(p, &out), SYNC_OK);
		CHECK_STR(out, want);
		free(out);
		free(p);
		p = xasprintf("%s/a/..", base);
		CHECK_INT(path_source(p, &out), SYNC_OK);
		CHECK_STR(out, base);
		free(out);
		free(p);
		CHECK_INT(path_source("/no/such/../x", &out), SYNC_ERR_SYSTEM);
		CHECK_INT(path_source("/no/such/x/", &out), SYNC_OK);
		CHECK_STR(out, "/no/such/x");
		free(out);
		p = xasprintf("%s/a", base);
		rmdir(p);
		free(p);
		rmdir(base);
		free(want);
	}

	/* Destinations: one spelling per directory, relative ones stay relative. */
	{
		static const struct { const char *in, *out; } tidy[] = {
			{ "/d", "/d" }, { "/d/", "/d" }, { "/./d//", "/d" }, { "//", "/" },
			{ "d/", "d" }, { "./d", "d" }, { ".", "." }, { "./", "." },
			{ "a/../b", "a/../b" }, { "-x/", "-x" }, { "a b/\n/", "a b/\n" },
		};

		for (k = 0; k < sizeof tidy / sizeof *tidy; k++) {
			out = path_tidy(tidy[k].in);
			CHECK_STR(out, tidy[k].out);
			free(out);
		}
	}

	CHECK_STR(path_basename("/a/b c"), "b c");
	out = path_dirname("/a/b");
	CHECK_STR(out, "/a");
	free(out);
	out = path_dirname("/a");
	CHECK_STR(out, "/");
	free(out);
	CHECK(path_is_within("/a/b/c", "/a/b"));
	CHECK(path_is_within("/a/b", "/a/b"));
	CHECK(!path_is_within("/a/bc", "/a/b"));
	CHECK(!path_is_within("/a", "/a/b"));
	CHECK(path_is_within("/x", "/"));

	/* A tree's paths follow it directly: "a/b/x" before "a/b c" and "a/b!". */
	CHECK(path_tree_cmp("a/b", "a/b") == 0);
	CHECK(path_tree_cmp("a/b", "a/b/x") < 0);
	CHECK(path_tree_cmp("a/b/x", "a/b c") < 0);
	CHECK(path_tree_cmp("a/b/x", "a/b!") < 0);
	CHECK(path_tree_cmp("a/b c", "a/b/x") > 0);
	CHECK(path_tree_cmp("a/b", "a/a/z") > 0);
	CHECK(path_tree_cmp("a/\xff", "a/b") > 0);
	CHECK(path_tree_cmp("", "a") < 0);
}

static void
test_utf8_and_escape(void)
{
	struct strbuf sb = STRBUF_INIT;

	/* text_copy cuts between characters, never inside one. */
	{
		char small[6];

		text_copy(small, sizeof small, "abc");
		CHECK_STR(small, "abc");
		text_copy(small, sizeof small, "abcdefgh");
		CHECK_STR(small, "abcde");
		text_copy(small, sizeof small, "ab\xe4\xb8\xad\xe4\xb8\xad");   /* ab中中 */
		CHECK_STR(small, "ab\xe4\xb8\xad");
		text_copy(small, sizeof small, "abcd\xe4\xb8\xad");
		CHECK_STR(small, "abcd");
		text_copy(small, sizeof small, "\xf0\x9f\x98\x80\xf0\x9f\x98\x80");
		CHECK_STR(small, "\xf0\x9f\x98\x80");
		text_copy(small, 1, "abc");
		CHECK_STR(small, "");
	}
	CHECK(utf8_valid("plain", 5));
	CHECK(utf8_valid("\xe4\xb8\xad\xf0\x9f\x98\x80", 7));   /* 中 and an emoji */
	CHECK(!utf8_valid("\xff", 1));
	CHECK(!utf8_valid("\xc0\xaf", 2));                       /* overlong '/' */
	CHECK(!utf8_valid("\xed\xa0\x80", 3));                   /* surrogate */
	CHECK(!utf8_valid("\xe4\xb8", 2));                       /* truncated */

	escape_untrusted(&sb, "ok \xe4\xb8\xad\x1b[31m\\\xff\n\xc2\x9b", 16);
	CHECK_STR(sb.buf, "ok \xe4\xb8\xad\\x1b[31m\\\\\\xff\\x0a\\xc2\\x9b");
	strbuf_reset(&sb);
	/* The last guard of a line: the same bytes, backslashes left alone. */
	escape_line(&sb, "ok \xe4\xb8\xad\x1b[31m\\\xff\n\xc2\x9b", 16);
	CHECK_STR(sb.buf, "ok \xe4\xb8\xad\\x1b[31m\\\\xff\\x0a\\xc2\\x9b");
	strbuf_reset(&sb);
	escape_line(&sb, "a\\x0a b", 7);
	CHECK_STR(sb.buf, "a\\x0a b");
	strbuf_reset(&sb);
	/*
	 * Bidirectional and line-separating format characters would let a far
	 * side reorder or break a status line: escaped, while other non-ASCII
	 * text (an ellipsis, a zero-width joiner in an emoji) stays.
	 */
	{
		static const char bidi[] = "a" "\xe2\x80\xae" "b" "\xe2\x81\xa6" "c" "\xe2\x80\x8f"
					   "d" "\xd8\x9c" "e" "\xe2\x80\xa8" "f" "\xe2\x80\xa6"
					   "\xe2\x80\x8d";

		escape_untrusted(&sb, bidi, sizeof bidi - 1);
		CHECK_STR(sb.buf, "a\\xe2\\x80\\xaeb\\xe2\\x81\\xa6c\\xe2\\x80\\x8f"
				  "d\\xd8\\x9ce\\xe2\\x80\\xa8f"
				  "\xe2\x80\xa6\xe2\x80\x8d");
	}
	strbuf_release(&sb);
}

static void
test_strbuf_strvec(void)
{
	struct strbuf sb = STRBUF_INIT;
	struct strvec sv = STRVEC_INIT;
	char *p;

	CHECK_STR(sb.buf, "");
	strbuf_addf(&sb, "%s-%d", "x", 42);
	strbuf_add(&sb, "\0y", 2);
	CHECK_INT(sb.len, 6);
	strbuf_remove_front(&sb, 2);
	CHECK_INT(sb.len, 4);
	CHECK(memcmp(sb.buf, "42\0y", 4) == 0);
	p = strbuf_detach(&sb, NULL);
	CHECK_STR(sb.buf, "");
	free(p);
	for (int i = 0; i < 100; i++)
		strvec_pushf(&sv, "a%d", i);
	CHECK_INT(sv.nr, 100);
	CHECK_STR(sv.v[99], "a99");
	CHECK(sv.v[100] == NULL);
	strvec_clear(&sv);
	CHECK(sv.v[0] == NULL);
}

/* A private directory goes with whatever is in it; a link to one does not. */
static void
test_private_dir_remove(void)
{
	char tmpl[] = "/tmp/scow-sync-unit-XXXXXX";
	char *dir, *file, *link, *target, *sock, *slash;
	unsigned long n = 0;
	FILE *f;

	dir = mkdtemp(tmpl);
	CHECK(dir != NULL);
	if (dir == NULL)
		return;
	file = xasprintf("%s/list-0", dir);
	sock = xasprintf("%s/any name\nat all", dir);
	f = fopen(file, "w");
	CHECK(f != NULL);
	if (f)
		fclose(f);
	CHECK_INT(symlink("/nonexistent", sock), 0);
	CHECK_INT(private_dir_remove(dir, &n), 0);
	CHECK_INT(n, 2);
	CHECK(access(dir, F_OK) < 0);
	/* Gone already: an error, ENOENT. */
	CHECK_INT(private_dir_remove(dir, NULL), -1);
	CHECK_INT(errno, ENOENT);

	/* A link in the place of the directory: nothing behind it is touched. */
	target = xstrdup("/tmp/scow-sync-unit-XXXXXX");
	CHECK(mkdtemp(target) != NULL);
	free(file);
	file = xasprintf("%s/keep", target);
	f = fopen(file, "w");
	if (f)
		fclose(f);
	link = xasprintf("%s.link", target);
	CHECK_INT(symlink(target, link), 0);
	CHECK_INT(private_dir_remove(link, NULL), -1);
	CHECK(access(file, F_OK) == 0);
	/* Not through a trailing '/', which follows the link. */
	slash = xasprintf("%s/", link);
	CHECK_INT(private_dir_remove(slash, NULL), -1);
	CHECK_INT(errno, EINVAL);
	CHECK(access(file, F_OK) == 0);
	free(slash);
	unlink(link);
	CHECK_INT(private_dir_remove(target, NULL), 0);
	free(link);
	free(target);
	free(file);
	free(sock);
}

int
main(void)
{
	test_numbers();
	test_quoting();
	test_paths();
	test_utf8_and_escape();
	test_strbuf_strvec();
	test_private_dir_remove();
	return unit_done("test-util");
}
