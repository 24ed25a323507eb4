/* filter: rsync's include/exclude rules (see filter.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

/*
 * The longest pattern taken, in bytes. rsync drops a pattern of 4096 bytes
 * or more (MAXPATHLEN); filter_rsync_rules() writes one as long as twice
 * this (a literal's backslashes doubled), a top of up to 510 (255 bytes
 * escaped) and six more, which stays below that.
 */
#define FILTER_PATTERN_MAX 1536

/* How rsync reads a pattern (exclude.c's add_rule()): the flags it sets. */
struct filter_rule {
	char *pattern;        /* as given, after any "+ " or "- " */
	char *stem;           /* the pattern without a trailing '/' */
	bool include;
	bool dir_only;        /* a trailing '/' matches directories only */
	bool anchored;        /* a leading '/': from the source down */
	bool wild;            /* *, ? or [: a wildcard pattern, else a literal one */
	bool wild2;           /* "**" somewhere: may match across '/' */
	bool wild2_prefix;    /* begins with "**" */
	bool wild3_suffix;    /* ends with "***": a directory and all below it */
	unsigned slashes;     /* '/' in the stem, a leading one counted */
};

/* What a step of the wildcard matcher found, as rsync's wildmatch tells it. */
enum filter_wm {
	WM_NOMATCH = 0,
	WM_MATCH = 1,
	WM_ABORT_ALL = -1,          /* the text ran out: no later start can match */
	WM_ABORT_TO_STARSTAR = -2,  /* a '*' met a '/': only a "**" further out goes on */
};

void
filter_init(struct filter *f)
{
	f->rules = NULL;
	f->nr = f->alloc = 0;
}

/* Free the rules from index from on. */
static void
filter_truncate(struct filter *f, size_t from)
{
	while (f->nr > from) {
		f->nr--;
		free(f->rules[f->nr].pattern);
		free(f->rules[f->nr].stem);
	}
}

void
filter_release(struct filter *f)
{
	filter_truncate(f, 0);
	free(f->rules);
	filter_init(f);
}

bool
filter_empty(const struct filter *f)
{
	return f->nr == 0;
}

/* Append a rule with pattern (checked) and the flags rsync gives it. */
static void
filter_push(struct filter *f, bool include, const char *pattern)
{
	struct filter_rule *r;
	size_t len = strlen(pattern);
	const char *p, *stars;

	ALLOC_GROW(f->rules, f->nr, f->alloc);
	r = &f->rules[f->nr++];
	memset(r, 0, sizeof(*r));
	r->pattern = xstrdup(pattern);
	r->include = include;
	/* One trailing '/' is taken off, but not from "/" alone. */
	if (len > 1 && pattern[len - 1] == '/') {
		r->dir_only = true;
		len--;
	}
	r->stem = xstrndup(pattern, len);
	r->anchored = r->stem[0] == '/';
	for (p = r->stem; *p; p++)
		if (*p == '/')
			r->slashes++;
	/* rsync looks for these bytes as they are, escaped or not. */
	r->wild = strpbrk(r->stem, "*?[") != NULL;
	stars = r->wild ? strstr(r->stem, "**") : NULL;
	if (stars) {
		r->wild2 = true;
		r->wild2_prefix = stars == r->stem;
		r->wild3_suffix = len >= 3 && strcmp(r->stem + len - 3, "***") == 0;
	}
}

/* Does class name (len bytes) hold c? -1 when it is no class rsync knows. */
static int
filter_class_has(const char *name, size_t len, unsigned char c)
{
	static const struct {
		const char *name;
		int (*is)(int);
	} classes[] = {
		{ "alnum", isalnum }, { "alpha", isalpha }, { "blank", isblank },
		{ "cntrl", iscntrl }, { "digit", isdigit }, { "graph", isgraph },
		{ "lower", islower }, { "print", isprint }, { "punct", ispunct },
		{ "space", isspace }, { "upper", isupper }, { "xdigit", isxdigit },
	};
	size_t i;

	for (i = 0; i < sizeof(classes) / sizeof(*classes); i++)
		if (strlen(classes[i].name) == len && memcmp(classes[i].name, name, len) == 0)
			/* ASCII only, whatever the locale: what rsync does in C and UTF-8 ones. */
			return c < 0x80 && classes[i].is(c);
	return -1;
}

/*
 * Match c against the bracket expression after the '[' at *pp and leave
 * *pp on its closing ']'. 1 or 0, or -1 when it is malformed (no closing
 * ']', an unknown [:class:]), which rsync takes as no match at all.
 */
static int
filter_bracket(const char **pp, unsigned char c)
{
	const unsigned char *p = (const unsigned char *)*pp + 1;
	bool negate = false, hit = false, first = true;
	int prev = -1;    /* a byte a '-' may make a range from */

	if (*p == '!' || *p == '^') {
		negate = true;
		p++;
	}
	/* A ']' first is a member, not the end. */
	for (; first || *p != ']'; p++, first = false) {
		unsigned ch = *p;

		if (ch == '\0')
			return -1;
		if (ch == '\\') {
			if ((ch = *++p) == '\0')
				return -1;
			hit |= c == ch;
			prev = (int)ch;
		} else if (ch == '-' && prev > 0 && p[1] != '\0' && p[1] != ']') {
			if ((ch = *++p) == '\\' && (ch = *++p) == '\0')
				return -1;
			hit |= c >= prev && c <= ch;
			prev = -1;
		} else if (ch == '[' && p[1] == ':') {
			const unsigned char *name = p + 2, *end = name;
			int has;

			while (*end != '\0' && *end != ']')
				end++;
			if (*end == '\0')
				return -1;
			if (end == name || end[-1] != ':') {
				/* No ":]": the '[' is a member like any other. */
				hit |= c == '[';
				prev = '[';
				continue;
			}
			has = filter_class_has((const char *)name, (size_t)(end - name - 1), c);
			if (has < 0)
				return -1;
			hit |= has;
			prev = -1;
			p = end;
		} else {
			hit |= c == ch;
			prev = (int)ch;
		}
	}
	*pp = (const char *)p;
	return hit != negate;
}

/*
 * Match the wildcard pattern p against all of text t: '?' and '*' never
 * match '/', "**" matches anything, [...] is a set and '\' escapes the
 * next byte. The results other than match and no match let the callers
 * stop early exactly where rsync's matcher stops.
 */
static enum filter_wm
filter_wild(const char *p, const char *t)
{
	for (; *p; p++, t++) {
		enum filter_wm r;
		bool across;
		int hit;

		if (*t == '\0' && *p != '*')
			return WM_ABORT_ALL;
		switch (*p) {
		case '\\':
			/* A '\' last matches nothing: t has a byte left here. */
			if (*++p != *t)
				return WM_NOMATCH;
			break;
		case '?':
			if (*t == '/')
				return WM_NOMATCH;
			break;
		case '[':
			if ((hit = filter_bracket(&p, (unsigned char)*t)) < 0)
				return WM_ABORT_ALL;
			if (!hit || *t == '/')
				return WM_NOMATCH;
			break;
		case '*':
			across = p[1] == '*';
			while (*p == '*')
				p++;
			if (*p == '\0')
				return across || strchr(t, '/') == NULL ? WM_MATCH : WM_NOMATCH;
			for (; *t; t++) {
				r = filter_wild(p, t);
				if (r == WM_NOMATCH) {
					if (!across && *t == '/')
						return WM_ABORT_TO_STARSTAR;
				} else if (!across || r != WM_ABORT_TO_STARSTAR) {
					return r;
				}
			}
			return WM_ABORT_ALL;
		default:
			if (*p != *t)
				return WM_NOMATCH;
			break;
		}
	}
	return *t == '\0' ? WM_MATCH : WM_NOMATCH;
}

/* The last n '/'-separated elements of s, or NULL when it has fewer. */
static const char *
filter_last_elements(const char *s, unsigned n)
{
	const char *p = s + strlen(s);

	while (p > s)
		if (*--p == '/' && --n == 0)
			return p + 1;
	return n == 1 ? s : NULL;
}

/*
 * Match the wildcard pattern p against text: all of it (where 0), its
 * last where elements (where > 0), or all of it or all after any of its
 * '/' (where < 0).
 */
static bool
filter_wild_at(const char *p, const char *text, int where)
{
	enum filter_wm r;

	if (where > 0 && (text = filter_last_elements(text, (unsigned)where)) == NULL)
		return false;
	r = filter_wild(p, text);
	if (where < 0)
		while (r != WM_MATCH && r != WM_ABORT_ALL && (text = strchr(text, '/')) != NULL)
			r = filter_wild(p, ++text);
	return r == WM_MATCH;
}

/* Does rule r match path, as rsync's rule_matches() decides? */
static bool
filter_rule_matches(const struct filter_rule *r, const char *path, bool is_dir)
{
	const char *name = path, *pat = r->stem + r->anchored, *slash;
	struct strbuf text = STRBUF_INIT;
	size_t nlen, plen;
	int where;
	bool hit;

	if (r->dir_only && !is_dir)
		return false;
	/* With no '/' and no "**", a pattern is matched against the name only. */
	if (r->slashes == 0 && !r->wild2 && (slash = strrchr(path, '/')) != NULL)
		name = slash + 1;

	if (r->wild) {
		/*
		 * A leading "**" may match nothing before the first name, and a
		 * trailing "/" "***" the directory itself: rsync puts a '/'
		 * before the path, and after a directory's.
		 */
		bool before = r->wild2_prefix, after = is_dir && r->wild3_suffix;

		if (before || after) {
			strbuf_addstr(&text, before ? "/" : "");
			strbuf_addstr(&text, name);
			strbuf_addstr(&text, after ? "/" : "");
			name = text.buf;
		}
		if (!r->anchored && r->slashes && !r->wild2)
			where = (int)r->slashes + 1;    /* the last elements, as many as it has */
		else if (!r->anchored && r->wild2 && !r->wild2_prefix)
			where = -1;                     /* from the start or after any '/' */
		else
			where = 0;
		hit = filter_wild_at(pat, name, where);
		strbuf_release(&text);
		return hit;
	}
	if (r->anchored)
		return strcmp(name, pat) == 0;
	/* A literal: the end of the path, from the start of an element. */
	nlen = strlen(name);
	plen = strlen(pat);
	return plen <= nlen && strcmp(name + nlen - plen, pat) == 0 &&
	       (plen == nlen || name[nlen - plen - 1] == '/');
}

bool
filter_excluded(const struct filter *f, const char *relpath, bool is_dir)
{
	size_t i;

	for (i = 0; i < f->nr; i++)
		if (filter_rule_matches(&f->rules[i], relpath, is_dir))
			return !f->rules[i].include;
	return false;
}

/*
 * Read one rule as rsync's --include and --exclude read theirs: a "+ " or
 * "- " prefix overrides *include. Return the pattern, or NULL with the
 * reason it is refused in *why.
 */
static const char *
filter_parse(const char *text, bool *include, const char **why)
{
	/* For rsync a "!" alone clears the rules so far. */
	if (strcmp(text, "!") == 0) {
		*why = "'!' (clear the rules) is not supported";
		return NULL;
	}
	if ((text[0] == '+' || text[0] == '-') && text[1] == ' ') {
		*include = text[0] == '+';
		text += 2;
	}
	if (*text == '\0') {
		*why = "no pattern";
		return NULL;
	}
	if (strlen(text) >= FILTER_PATTERN_MAX) {
		*why = "pattern too long";
		return NULL;
	}
	return text;
}

int
filter_add(struct filter *f, bool include, const char *pattern, char *err, size_t errlen)
{
	const char *why, *p = filter_parse(pattern, &include, &why);
	struct strbuf shown = STRBUF_INIT;
	size_t len = strlen(pattern), cut = text_cut(pattern, len, 60);

	if (p) {
		filter_push(f, include, p);
		return 0;
	}
	/* The start of a long one is enough to know it by. */
	escape_untrusted(&shown, pattern, cut);
	snprintf(err, errlen, "invalid rule '%s%s': %s", shown.buf, cut < len ? "..." : "", why);
	strbuf_release(&shown);
	return -1;
}

int
filter_add_file(struct filter *f, const char *path, char *err, size_t errlen)
{
	struct strbuf sb = STRBUF_INIT, shown = STRBUF_INIT;
	size_t from = f->nr, lineno = 0, at = 0;
	int ret = 0;

	escape_untrusted(&shown, path, strlen(path));
	if (strcmp(path, "-") == 0) {
		snprintf(err, errlen, "cannot read rules from standard input");
		ret = -1;
		goto out;
	}
	if (strbuf_read_file(&sb, path) < 0) {
		snprintf(err, errlen, "cannot read rules from '%s': %s", shown.buf,
			 strerror(errno));
		ret = -1;
		goto out;
	}
	while (at < sb.len) {
		/* A line ends at LF, CR or CRLF; a NUL ends its rule early. */
		size_t len = 0;
		char *line;
		const char *why, *p;
		bool include = false;

		while (at + len < sb.len && sb.buf[at + len] != '\n' && sb.buf[at + len] != '\r')
			len++;
		line = xstrndup(sb.buf + at, len);
		at += len;
		if (at < sb.len && sb.buf[at] == '\r' && at + 1 < sb.len && sb.buf[at + 1] == '\n')
			at++;
		at++;
		lineno++;
		/* Empty lines and comments: ';' or '#' first. */
		if (line[0] == '\0' || line[0] == ';' || line[0] == '#') {
			free(line);
			continue;
		}
		if ((p = filter_parse(line, &include, &why)) != NULL) {
			filter_push(f, include, p);
			free(line);
			continue;
		}
		free(line);
		snprintf(err, errlen, "'%s' line %zu: %s", shown.buf, lineno, why);
		filter_truncate(f, from);
		ret = -1;
		goto out;
	}
out:
	strbuf_release(&sb);
	strbuf_release(&shown);
	return ret;
}

/*
 * How many '/' the wildcard pattern p (with no "**") matches, or -1 when it
 * matches nothing (a '\' last, a malformed [...]).
 */
static int
filter_pattern_slashes(const char *p)
{
	int n = 0;

	for (; *p; p++) {
		if (*p == '\\') {
			if (*++p == '\0')
				return -1;
			n += *p == '/';
		} else if (*p == '[') {
			if (filter_bracket(&p, 'a') < 0)
				return -1;
		} else {
			n += *p == '/';
		}
	}
	return n;
}

/* Append s, with '\' before each of *?[\ when escape is set. */
static void
filter_escape(struct strbuf *out, const char *s, bool escape)
{
	for (; *s; s++) {
		if (escape && strchr("*?[\\", *s))
			strbuf_addch(out, '\\');
		strbuf_addch(out, *s);
	}
}

/*
 * Append the rule "/" top middle pat, top matching itself literally. rsync
 * reads the whole pattern as a wildcard one when any of it has *, ? or [,
 * and a literal one else: so top is escaped when the pattern is a wildcard
 * one, and pat too when it was a literal (it has no wildcards to keep).
 */
static void
filter_rsync_rule(struct strbuf *out, bool include, const char *top, const char *middle,
		  const char *pat)
{
	bool pat_wild = strpbrk(pat, "*?[") != NULL;
	bool wild = pat_wild || strpbrk(top, "*?[") || strpbrk(middle, "*?[");

	strbuf_addstr(out, include ? "+ /" : "- /");
	filter_escape(out, top, wild);
	strbuf_addstr(out, middle);
	filter_escape(out, pat, wild && !pat_wild);
	strbuf_addch(out, '\0');
}

void
filter_rsync_rules(const struct filter *f, const char *top, struct strbuf *out)
{
	size_t i;

	if (f->nr == 0)
		return;
	/* Nothing excludes the source itself: rules are about what is in it. */
	filter_rsync_rule(out, true, top, "/", "");
	for (i = 0; i < f->nr; i++) {
		const struct filter_rule *r = &f->rules[i];

		if (r->anchored || r->wild2_prefix) {
			/* From the source down; a leading "**" sees "/" before the path. */
			filter_rsync_rule(out, r->include, top, "", r->pattern);
		} else if (r->slashes || r->wild2) {
			/*
			 * rsync matches a pattern with a '/' inside against as
			 * many last elements as it has '/' bytes, but one in a
			 * [...] matches no '/': such a rule matches nothing.
			 */
			if (r->wild && !r->wild2 &&
			    filter_pattern_slashes(r->stem) != (int)r->slashes)
				continue;
			/*
			 * The last elements, or from the start or any '/': the
			 * same at any depth below top, as anchored rules at top
			 * and below it.
			 */
			filter_rsync_rule(out, r->include, top, "/", r->pattern);
			filter_rsync_rule(out, r->include, top, "/**/", r->pattern);
		} else {
			/* A name: the same anywhere, but top is not one of them. */
			strbuf_addstr(out, r->include ? "+ " : "- ");
			strbuf_addstr(out, r->pattern);
			strbuf_addch(out, '\0');
		}
	}
}

void
filter_serialize(const struct filter *f, struct strbuf *out)
{
	size_t i;

	for (i = 0; i < f->nr; i++) {
		strbuf_addstr(out, f->rules[i].include ? "+ " : "- ");
		strbuf_addstr(out, f->rules[i].pattern);
		strbuf_addch(out, '\0');
	}
}

int
filter_deserialize(struct filter *f, const char *buf, size_t len)
{
	size_t from = f->nr, at = 0;

	while (at < len) {
		const char *rule = buf + at, *end = memchr(rule, '\0', len - at), *why, *p;
		char *copy = end ? NULL : xstrndup(rule, len - at);
		bool include = false;

		if (copy)
			rule = copy;
		at += end ? (size_t)(end - (buf + at)) + 1 : len - at;
		p = (rule[0] == '+' || rule[0] == '-') && rule[1] == ' ' ?
			filter_parse(rule, &include, &why) : NULL;
		if (p)
			filter_push(f, include, p);
		free(copy);
		if (!p) {
			filter_truncate(f, from);
			return SYNC_ERR_INVALID;
		}
	}
	return 0;
}
