/*
 * fuzz-paths: what handles paths and names from outside (src/util.c,
 * src/rsync.c, src/compress.c): tidying, comparing and splitting paths,
 * quoting for the remote shell and for rsync's -e, rsync filter patterns,
 * escaping for logs and terminals, UTF-8 checks, file name suffixes.
 *
 * Input: up to three NUL-separated strings, any bytes. Besides "no crash",
 * each helper is held to what it promises: quoted words read back as the
 * same words, escaped text reads back as the same bytes, tidy paths stay
 * tidy and keep their components, the tree order is an order.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>

#include "compress.h"
#include "fuzz.h"
#include "format.h"
#include "rsync.h"
#include "util.h"

/*
 * Split s into words as a POSIX shell does with what sq_quote makes:
 * unquoted spaces separate, '...' is literal, \\' outside quotes is a '.
 * Any other byte the shell would act on is refused outside quotes, but
 * '&' (our own "&&" between two commands), which is taken as a plain byte.
 */
static bool
shell_words(const char *s, struct strvec *out)
{
	struct strbuf w = STRBUF_INIT;
	bool in_word = false;

	for (; *s; s++) {
		if (*s == ' ') {
			if (in_word)
				strvec_push(out, w.buf);
			strbuf_reset(&w);
			in_word = false;
		} else if (*s == '\'') {
			const char *end = strchr(s + 1, '\'');

			if (end == NULL)
				goto bad;
			strbuf_add(&w, s + 1, (size_t)(end - s - 1));
			s = end;
			in_word = true;
		} else if (*s == '\\') {
			if (s[1] != '\'')
				goto bad;
			strbuf_addch(&w, '\'');
			s++;
			in_word = true;
		} else if (strchr("\"$`;|<>()*?[#~\t\n", *s)) {
			goto bad;   /* a byte the shell would act on, outside quotes */
		} else {
			strbuf_addch(&w, *s);
			in_word = true;
		}
	}
	if (in_word)
		strvec_push(out, w.buf);
	strbuf_release(&w);
	return true;
bad:
	strbuf_release(&w);
	return false;
}

/* Split s into words as rsync splits its -e value (main.c, do_cmd). */
static bool
rsync_words(const char *s, struct strvec *out)
{
	struct strbuf w = STRBUF_INIT;
	char in_quote = 0;
	const char *f = s;

	while (*f) {
		if (*f == ' ') {
			f++;
			continue;
		}
		strbuf_reset(&w);
		while (*f != ' ' || in_quote) {
			if (*f == '\0') {
				if (!in_quote)
					break;
				strbuf_release(&w);
				return false;   /* "Missing trailing-' in remote-shell command" */
			}
			if (*f == '\'' || *f == '"') {
				if (!in_quote) {
					in_quote = *f++;
					continue;
				}
				if (*f == in_quote && *++f != in_quote) {
					in_quote = 0;
					continue;
				}
			}
			strbuf_addch(&w, *f++);
		}
		strvec_push(out, w.buf);
	}
	strbuf_release(&w);
	return true;
}

static void
check_quoting(const char *a, const char *b)
{
	struct strbuf sb = STRBUF_INIT;
	struct strvec words = STRVEC_INIT;

	/* sq_quote: one word, whatever it holds. */
	sq_quote(&sb, a);
	strbuf_addch(&sb, ' ');
	sq_quote(&sb, b);
	FUZZ_CHECK(shell_words(sb.buf, &words));
	FUZZ_CHECK(words.nr == 2 && strcmp(words.v[0], a) == 0 && strcmp(words.v[1], b) == 0);
	strvec_clear(&words);

	/* rsync_rsh_quote: one word for rsync's splitter. */
	strbuf_reset(&sb);
	rsync_rsh_quote(&sb, a);
	strbuf_addch(&sb, ' ');
	rsync_rsh_quote(&sb, b);
	FUZZ_CHECK(rsync_words(sb.buf, &words));
	FUZZ_CHECK(words.nr == 2 && strcmp(words.v[0], a) == 0 && strcmp(words.v[1], b) == 0);
	strvec_clear(&words);

	/*
	 * The remote writer of a piece: sh -c SCRIPT sh SUFFIX OFFSET SIZE,
	 * the suffix a word of its own (the paths travel on stdin).
	 */
	strbuf_reset(&sb);
	piece_writer_command(a, 12345, 67890, false, &sb);
	FUZZ_CHECK(shell_words(sb.buf, &words));
	FUZZ_CHECK(words.nr == 7 && strcmp(words.v[0], "sh") == 0 &&
		   strcmp(words.v[1], "-c") == 0 && strcmp(words.v[4], a) == 0 &&
		   strcmp(words.v[5], "12345") == 0 && strcmp(words.v[6], "67890") == 0);
	strvec_clear(&words);

	/* Words for a remote command over ssh: the last argument reads back as them. */
	{
		struct ssh_target t = { .user = "u", .host = "h", .port = 22, .key_path = "/k" };
		const char *remote[] = { "stat", "-c", "%s %Y", "--", a, b, NULL };
		struct strvec argv = STRVEC_INIT;

		ssh_command_argv(&t, remote, &argv);
		FUZZ_CHECK(shell_words(argv.v[argv.nr - 1], &words));
		FUZZ_CHECK(words.nr == 6 && strcmp(words.v[4], a) == 0 &&
			   strcmp(words.v[5], b) == 0);
		strvec_clear(&words);
		strvec_clear(&argv);
	}
	strbuf_release(&sb);
}

/* rsync reads a pattern with wildcards with \ escaping the next byte. */
static void
check_filter(const char *a)
{
	struct strbuf sb = STRBUF_INIT, back = STRBUF_INIT;
	size_t i;

	rsync_filter_escape(&sb, a);
	if (strpbrk(a, "*?[") == NULL) {
		FUZZ_CHECK(strcmp(sb.buf, a) == 0);
	} else {
		for (i = 0; i < sb.len; i++) {
			FUZZ_CHECK(!strchr("*?[", sb.buf[i]) || sb.buf[i] == '\0');
			if (sb.buf[i] == '\\') {
				FUZZ_CHECK(i + 1 < sb.len);
				i++;
			}
			strbuf_addch(&back, sb.buf[i]);
		}
		FUZZ_CHECK(strcmp(back.buf, a) == 0);
	}
	strbuf_release(&sb);
	strbuf_release(&back);
}

/* The components of p without empty and "." ones, joined by '/'. */
static void
components(const char *p, struct strbuf *out)
{
	struct strvec parts = STRVEC_INIT;
	const char *q;
	size_t i;

	while (*p) {
		while (*p == '/')
			p++;
		q = p;
		while (*q && *q != '/')
			q++;
		if (q > p && !(q - p == 1 && *p == '.')) {
			char *c = xstrndup(p, (size_t)(q - p));

			strvec_push(&parts, c);
			free(c);
		}
		p = q;
	}
	for (i = 0; i < parts.nr; i++) {
		if (i)
			strbuf_addch(out, '/');
		strbuf_addstr(out, parts.v[i]);
	}
	strvec_clear(&parts);
}

static int
sign(int v)
{
	return (v > 0) - (v < 0);
}

static void
check_paths(const char *a, const char *b, const char *c)
{
	char *ta = path_tidy(a), *tb = path_tidy(b), *tc = path_tidy(c), *again, *abs, *dir;
	struct strbuf want = STRBUF_INIT, got = STRBUF_INIT;
	const char *base;

	/* Tidy: idempotent, no "//", no trailing '/', the same components. */
	again = path_tidy(ta);
	FUZZ_CHECK(strcmp(again, ta) == 0);
	free(again);
	FUZZ_CHECK(ta[0] != '\0');
	FUZZ_CHECK(strstr(ta, "//") == NULL);
	FUZZ_CHECK(strcmp(ta, "/") == 0 || ta[strlen(ta) - 1] != '/');
	FUZZ_CHECK((a[0] == '/') == (ta[0] == '/'));
	components(a, &want);
	components(ta, &got);
	FUZZ_CHECK(strcmp(want.buf, got.buf) == 0);

	/* An absolute path is made absolute by tidying alone. */
	if (a[0] == '/') {
		FUZZ_CHECK(path_absolute(a, &abs) == SYNC_OK);
		FUZZ_CHECK(strcmp(abs, ta) == 0);
		free(abs);
	}

	/* dirname + "/" + basename gives the tidy path back. */
	base = path_basename(ta);
	dir = path_dirname(ta);
	if (strchr(ta, '/') == NULL)
		FUZZ_CHECK(strcmp(dir, ".") == 0 && base == ta);
	else if (strcmp(ta, "/") != 0) {
		strbuf_reset(&got);
		strbuf_addstr(&got, dir);
		if (strcmp(dir, "/") != 0)
			strbuf_addch(&got, '/');
		strbuf_addstr(&got, base);
		FUZZ_CHECK(strcmp(got.buf, ta) == 0);
	}
	free(dir);

	/* The tree order is an order, and a subtree follows its root. */
	FUZZ_CHECK(path_tree_cmp(ta, ta) == 0);
	FUZZ_CHECK(sign(path_tree_cmp(ta, tb)) == -sign(path_tree_cmp(tb, ta)));
	FUZZ_CHECK((path_tree_cmp(ta, tb) == 0) == (strcmp(ta, tb) == 0));
	if (path_tree_cmp(ta, tb) <= 0 && path_tree_cmp(tb, tc) <= 0)
		FUZZ_CHECK(path_tree_cmp(ta, tc) <= 0);
	FUZZ_CHECK(path_is_within(ta, ta));
	if (path_is_within(tb, ta) && strcmp(ta, tb) != 0)
		FUZZ_CHECK(path_tree_cmp(ta, tb) < 0);
	/* Whatever sorts between a root and a path in it is in it too. */
	if (path_is_within(tc, ta) && path_tree_cmp(ta, tb) <= 0 && path_tree_cmp(tb, tc) <= 0 &&
	    (ta[0] == '/') == (tb[0] == '/'))
		FUZZ_CHECK(path_is_within(tb, ta));

	strbuf_release(&want);
	strbuf_release(&got);
	free(ta);
	free(tb);
	free(tc);
}

/* Undo escape_untrusted: \\ and \xNN. */
static bool
unescape(const char *s, size_t len, struct strbuf *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] != '\\') {
			strbuf_addch(out, s[i]);
			continue;
		}
		if (i + 1 < len && s[i + 1] == '\\') {
			strbuf_addch(out, '\\');
			i++;
		} else if (i + 3 < len && s[i + 1] == 'x' && isxdigit((unsigned char)s[i + 2]) &&
			   isxdigit((unsigned char)s[i + 3])) {
			char hex[3] = { s[i + 2], s[i + 3], 0 };

			strbuf_addch(out, (int)strtol(hex, NULL, 16));
			i += 3;
		} else
			return false;
	}
	return true;
}

static void
check_text(const char *s, size_t len)
{
	struct strbuf sb = STRBUF_INIT, back = STRBUF_INIT;
	bool valid = utf8_valid(s, len);

	/* For logs and terminals: no control byte, valid UTF-8, and reversible. */
	escape_untrusted(&sb, s, len);
	FUZZ_CHECK(fuzz_no_controls(sb.buf, sb.len));
	FUZZ_CHECK(utf8_valid(sb.buf, sb.len));
	FUZZ_CHECK(unescape(sb.buf, sb.len, &back));
	FUZZ_CHECK(back.len == len && memcmp(back.buf, s, len) == 0);
	if (valid && fuzz_no_controls(s, len) && memchr(s, '\\', len) == NULL) {
		/* Plain text with no C1 control is shown as it is. */
		bool c1 = false;
		size_t i;

		for (i = 0; i + 1 < len; i++)
			c1 |= (unsigned char)s[i] == 0xc2 && (unsigned char)s[i + 1] < 0xa0;
		if (!c1)
			FUZZ_CHECK(sb.len == len && memcmp(sb.buf, s, len) == 0);
	}

	/* For JSON: always valid UTF-8, and valid UTF-8 is kept. */
	if (memchr(s, '\0', len) == NULL) {
		strbuf_reset(&back);
		strbuf_add(&back, s, len);   /* NUL-terminated */
		strbuf_reset(&sb);
		display_path(&sb, back.buf);
		FUZZ_CHECK(utf8_valid(sb.buf, sb.len));
		if (valid)
			FUZZ_CHECK(sb.len == len && memcmp(sb.buf, s, len) == 0);
	}
	{
		double e = compress_entropy((const unsigned char *)s, len);

		FUZZ_CHECK(e >= 0 && e <= 8.0 + 1e-9);
	}
	strbuf_release(&sb);
	strbuf_release(&back);
}

static void
check_suffix(const char *a)
{
	char *upper = xstrdup(a);
	size_t i;

	for (i = 0; upper[i]; i++)
		upper[i] = (char)toupper((unsigned char)upper[i]);
	FUZZ_CHECK(compress_suffix_skipped(a) == compress_suffix_skipped(upper));
	if (compress_suffix_skipped(a))
		FUZZ_CHECK(strrchr(a, '.') != NULL);
	free(upper);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	char *a = fuzz_string(&in), *b = fuzz_string(&in), *c = fuzz_string(&in);
	struct strbuf spec = STRBUF_INIT;

	check_quoting(a, b);
	check_filter(a);
	check_paths(a, b, c);
	check_text((const char *)data, size);
	check_suffix(a);
	rsync_remote_spec(&spec, a, b);
	FUZZ_CHECK(spec.len >= strlen(a) + strlen(b) + 1);
	strbuf_release(&spec);
	free(a);
	free(b);
	free(c);
	return 0;
}
