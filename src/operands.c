/* operands: SOURCE... [USER@]HOST:DEST, turned into the flags' form. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "operands.h"
#include "options.h"

static int
fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int
remote_operand_parse(const char *arg, struct remote_operand *out, char *err, size_t errlen)
{
	const char *colon, *slash = strchr(arg, '/'), *host = arg, *at, *end, *path;

	memset(out, 0, sizeof *out);
	/* An object store's URL is not a host's place: -s and -d take those. */
	if (strstr(arg, "://"))
		return 0;
	at = strchr(arg, '@');
	if (at && (slash == NULL || at < slash) && at[1] == '[')
		host = at + 1;
	if (*host == '[') {
		/* [v6]:path, or user@[v6]:path */
		if ((end = strchr(host, ']')) == NULL || (slash && end > slash))
			return fail(err, errlen, "'%s': '[' without its ']'", arg);
		if (end[1] != ':')
			return 0;
		colon = end + 1;
	} else {
		colon = strchr(arg, ':');
		if (colon == NULL || (slash && colon > slash))
			return 0;
		end = colon;
	}
	if (at && at > colon)
		at = NULL;
	if (at) {
		out->user = xstrndup(arg, (size_t)(at - arg));
		host = at + 1;
	} else {
		host = arg;
	}
	if (*host == '[')
		host++;
	if (end == host) {
		remote_operand_release(out);
		return fail(err, errlen, "'%s': no host before the ':'", arg);
	}
	out->host = xstrndup(host, (size_t)(end - host));
	/*
	 * "HOST:", "HOST:~" and "HOST:~/dir" are in the far side's home, as
	 * with rsync and scp (no shell expands a '~' after the ':'); the far
	 * side's commands start there. Another user's "~name" is refused.
	 */
	path = colon + 1;
	if (path[0] == '~' && path[1] != '\0' && path[1] != '/') {
		remote_operand_release(out);
		return fail(err, errlen, "'%s': another user's home ('~name') cannot be "
			    "given; write the path", arg);
	}
	if (path[0] == '~')
		path += path[1] ? 2 : 1;
	while (*path == '/' && colon[1] == '~')
		path++;
	out->path = xstrdup(*path ? path : ".");
	return 1;
}

void
remote_operand_release(struct remote_operand *op)
{
	free(op->user);
	free(op->host);
	free(op->path);
	memset(op, 0, sizeof *op);
}

/*
 * Mark the operands of argv in op[] (argc entries), their count into
 * *count; a "--" that ends the options into *dashdash (-1: none). *places:
 * -a, -s, -d or --hosts-from given; *user_flag: -u given. -1 with the
 * message in err when an option is unknown or lacks its value (in the
 * words of options.c: getopt stops at the first operand there).
 */
static int
find_operands(int argc, char **argv, const struct cmd_option *flags, bool *op, size_t *count,
	      int *dashdash, bool *places, bool *user_flag, char *err, size_t errlen)
{
	int rc = 0;
	struct cmd_getopt g;
	int c, before = 1;

	*count = 0;
	*dashdash = -1;
	*places = *user_flag = false;
	cmd_getopt_init(&g, "+:", flags);
	optind = 0;
	opterr = 0;
	for (;;) {
		c = getopt_long(argc, argv, g.shortopts, g.longopts, NULL);
		if (c == 'a' || c == 's' || c == 'd' || c == OPT_HOSTS_FROM)
			*places = true;
		else if (c == 'u')
			*user_flag = true;
		else if (c == ':' && rc == 0)
			rc = fail(err, errlen, "option '%s' needs a value", argv[optind - 1]);
		else if (c == '?' && rc == 0 && optopt)
			rc = fail(err, errlen, "unknown option '-%c'", optopt);
		else if (c == '?' && rc == 0)
			rc = fail(err, errlen, "unknown option '%s'", argv[optind - 1]);
		if (c != -1) {
			before = optind;
			continue;
		}
		if (optind > before && strcmp(argv[optind - 1], "--") == 0) {
			*dashdash = optind - 1;
			for (; optind < argc; optind++, (*count)++)
				op[optind] = true;
			break;
		}
		if (optind >= argc)
			break;
		op[optind++] = true;
		(*count)++;
		before = optind;
	}
	/* The caller's own parse starts afresh. */
	optind = 0;
	return rc;
}

/* The name a source lands under: its last component, a trailing '/' aside. */
static bool
same_name(const char *a, const char *b)
{
	char *x = path_tidy(a), *y = path_tidy(b);
	bool same = strcmp(path_basename(x), path_basename(y)) == 0;

	free(x);
	free(y);
	return same;
}

int
operands_expand(int argc, char **argv, const struct cmd_option *flags,
		struct strvec **out, size_t *n, char *err, size_t errlen)
{
	bool *op = xcalloc((size_t)argc + 1, sizeof *op);
	struct remote_operand dest, src;
	bool places, user_flag;
	const char *first = NULL, *last = NULL;
	size_t count, s;
	int dashdash, rc = -1, i;

	*out = NULL;
	*n = 0;
	memset(&dest, 0, sizeof dest);
	if (find_operands(argc, argv, flags, op, &count, &dashdash, &places, &user_flag,
			  err, errlen) < 0)
		goto out;
	for (i = 0; i < argc; i++)
		if (op[i]) {
			first = first ? first : argv[i];
			last = argv[i];
		}
	if (count == 0) {
		rc = 0;
		goto out;
	}
	if (places) {
		fail(err, errlen, "unexpected argument '%s': give the places as operands "
		     "(SOURCE... [USER@]HOST:DEST) or as -a, -s and -d, not both", first);
		goto out;
	}
	if (count == 1) {
		fail(err, errlen, "a source and a destination are needed: SOURCE... "
		     "[USER@]HOST:DEST, or -a HOST -s SOURCE -d DEST");
		goto out;
	}
	switch (remote_operand_parse(last, &dest, err, errlen)) {
	case -1:
		goto out;
	case 0:
		if (remote_operand_parse(first, &src, err, errlen) == 1) {
			remote_operand_release(&src);
			fail(err, errlen, "pulling from a host ('%s' to '%s') is not supported yet",
			     first, last);
		} else {
			fail(err, errlen, "the destination '%s' is not on a host: write it as "
			     "[USER@]HOST:DIR", last);
		}
		goto out;
	}
	if (dest.user && user_flag) {
		fail(err, errlen, "the user is given twice: as -u and in '%s'", last);
		goto out;
	}
	for (i = 0; i < argc; i++) {
		int r;

		if (!op[i] || argv[i] == last)
			continue;
		if ((r = remote_operand_parse(argv[i], &src, err, errlen)) == 1) {
			remote_operand_release(&src);
			fail(err, errlen, "'%s' and '%s' are both on hosts: one side must be "
			     "here", argv[i], last);
		}
		if (r != 0)
			goto out;
	}
	/* Two sources of one name would land in one DEST/NAME, the second over the first. */
	for (i = 0; i < argc; i++) {
		int j;

		for (j = i + 1; op[i] && argv[i] != last && j < argc; j++) {
			if (!op[j] || argv[j] == last || !same_name(argv[i], argv[j]))
				continue;
			fail(err, errlen, "'%s' and '%s' would both land in '%s': give them apart",
			     argv[i], argv[j], dest.path);
			goto out;
		}
	}
	*n = count - 1;
	*out = xcalloc(*n, sizeof **out);
	for (s = 0, i = 0; i < argc; i++) {
		struct strvec *v;
		int j;

		if (!op[i] || argv[i] == last)
			continue;
		v = &(*out)[s++];
		strvec_init(v);
		/*
		 * The places first: a value-taking flag left without its value at
		 * the end takes none of them, and is named by the parse.
		 */
		strvec_push(v, argv[0]);
		strvec_pushf(v, "--address=%s", dest.host);
		if (dest.user)
			strvec_pushf(v, "--user=%s", dest.user);
		strvec_pushf(v, "--destination=%s", dest.path);
		strvec_pushf(v, "--source=%s", argv[i]);
		for (j = 1; j < argc; j++)
			if (j != dashdash && !op[j])
				strvec_push(v, argv[j]);
	}
	rc = 0;
out:
	remote_operand_release(&dest);
	free(op);
	return rc;
}
