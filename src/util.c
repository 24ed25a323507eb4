/* util: allocation, strings, numbers, quoting, paths (see util.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

char strbuf_empty[1];
const char *strvec_empty[1];

const char *
sync_strerror(int err)
{
	switch (err) {
	case SYNC_OK: return "success";
	case SYNC_ERR_SYSTEM: return strerror(errno);
	case SYNC_ERR_STORE: return "state database error";
	case SYNC_ERR_INVALID: return "invalid value";
	case SYNC_ERR_NOT_FOUND: return "not found";
	case SYNC_ERR_SSH: return "ssh error";
	case SYNC_ERR_HOSTKEY: return "remote host key changed";
	case SYNC_ERR_AUTH: return "key refused";
	case SYNC_ERR_CONNECT: return "cannot connect";
	case SYNC_ERR_REMOTE: return "remote command failed";
	case SYNC_ERR_TIMEOUT: return "timed out";
	case SYNC_ERR_EXISTS: return "already exists";
	case SYNC_ERR_SCHEMA: return "state database is from a newer scow-sync";
	case SYNC_ERR_AMBIGUOUS: return "more than one matches";
	}
	return "unknown error";
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	fputs("scow-sync: fatal: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		fatal("out of memory allocating %zu bytes", size);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		fatal("out of memory allocating %zu x %zu bytes", nmemb, size);
	return p;
}

void *
xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
		fatal("out of memory allocating %zu bytes", size);
	return p;
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		fatal("allocation of %zu x %zu bytes overflows", nmemb, size);
	return xrealloc(ptr, nmemb * size);
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p;

	n = strnlen(s, n);
	p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	return strbuf_detach(&sb, NULL);
}

void
strbuf_init(struct strbuf *sb, size_t hint)
{
	sb->buf = strbuf_empty;
	sb->len = sb->alloc = 0;
	if (hint)
		strbuf_grow(sb, hint);
}

void
strbuf_release(struct strbuf *sb)
{
	if (sb->alloc)
		free(sb->buf);
	strbuf_init(sb, 0);
}

char *
strbuf_detach(struct strbuf *sb, size_t *len)
{
	char *p;

	if (len)
		*len = sb->len;
	p = sb->alloc ? sb->buf : xstrdup("");
	strbuf_init(sb, 0);
	return p;
}

void
strbuf_grow(struct strbuf *sb, size_t extra)
{
	size_t need;

	if (extra > SIZE_MAX - sb->len - 1)
		fatal("string of %zu bytes too long to grow", sb->len);
	need = sb->len + extra + 1;
	if (need <= sb->alloc)
		return;
	if (!sb->alloc)
		sb->buf = NULL;
	sb->alloc = sb->alloc ? sb->alloc : 64;
	while (sb->alloc < need)
		sb->alloc = sb->alloc < SIZE_MAX / 2 ? sb->alloc * 2 : need;
	sb->buf = xrealloc(sb->buf, sb->alloc);
	if (sb->len == 0)
		sb->buf[0] = '\0';
}

void
strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	if (len == 0)
		return;
	strbuf_grow(sb, len);
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

int
strbuf_read_file(struct strbuf *sb, const char *path)
{
	FILE *fp = fopen(path, "re");
	char buf[8192];
	size_t n;
	int e;

	if (fp == NULL)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		strbuf_add(sb, buf, n);
	e = ferror(fp) ? errno : 0;
	fclose(fp);
	errno = e;
	return e ? -1 : 0;
}

void
strbuf_addstr(struct strbuf *sb, const char *s)
{
	strbuf_add(sb, s, strlen(s));
}

void
strbuf_addch(struct strbuf *sb, int c)
{
	char ch = (char)c;

	strbuf_add(sb, &ch, 1);
}

void
strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	strbuf_grow(sb, 64);
	va_copy(cp, ap);
	n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		fatal("vsnprintf failed for format '%s'", fmt);
	if ((size_t)n >= sb->alloc - sb->len) {
		strbuf_grow(sb, (size_t)n);
		n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, ap);
	}
	sb->len += (size_t)n;
}

void
strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

void
strbuf_setlen(struct strbuf *sb, size_t len)
{
	if (len > sb->len)
		fatal("strbuf_setlen beyond end (%zu > %zu)", len, sb->len);
	sb->len = len;
	if (sb->alloc)
		sb->buf[len] = '\0';
}

void
strbuf_trim_eol(struct strbuf *sb)
{
	while (sb->len && (sb->buf[sb->len - 1] == '\n' || sb->buf[sb->len - 1] == '\r'))
		strbuf_setlen(sb, sb->len - 1);
}

void
strbuf_remove_front(struct strbuf *sb, size_t len)
{
	if (len >= sb->len) {
		strbuf_reset(sb);
		return;
	}
	memmove(sb->buf, sb->buf + len, sb->len - len);
	strbuf_setlen(sb, sb->len - len);
}

void
strvec_init(struct strvec *sv)
{
	sv->v = (char **)strvec_empty;
	sv->nr = sv->alloc = 0;
}

void
strvec_push(struct strvec *sv, const char *s)
{
	if (sv->alloc == 0)
		sv->v = NULL;
	ALLOC_GROW(sv->v, sv->nr + 1, sv->alloc);
	sv->v[sv->nr++] = xstrdup(s);
	sv->v[sv->nr] = NULL;
}

void
strvec_pushf(struct strvec *sv, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	strvec_push(sv, sb.buf);
	strbuf_release(&sb);
}

void
strvec_pushv(struct strvec *sv, const char *const *v)
{
	for (; *v; v++)
		strvec_push(sv, *v);
}

void
strvec_truncate(struct strvec *sv, size_t n)
{
	while (sv->nr > n) {
		free(sv->v[--sv->nr]);
		sv->v[sv->nr] = NULL;
	}
}

void
strvec_clear(struct strvec *sv)
{
	size_t i;

	if (sv->alloc) {
		for (i = 0; i < sv->nr; i++)
			free(sv->v[i]);
		free(sv->v);
	}
	strvec_init(sv);
}

int
parse_ullong(const char *s, unsigned long long min, unsigned long long max,
	     unsigned long long *out)
{
	unsigned long long v = 0;
	const char *p;

	if (s == NULL || *s == '\0')
		return SYNC_ERR_INVALID;
	for (p = s; *p; p++) {
		unsigned d;

		if (*p < '0' || *p > '9')
			return SYNC_ERR_INVALID;
		d = (unsigned)(*p - '0');
		if (v > (ULLONG_MAX - d) / 10)
			return SYNC_ERR_INVALID;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return SYNC_ERR_INVALID;
	*out = v;
	return SYNC_OK;
}

int
parse_rate_kib(const char *s, unsigned long long max, unsigned long long *kib)
{
	static const struct { const char *unit; double bytes; } units[] = {
		{ "", 1024.0 }, { "k", 1024.0 }, { "kib", 1024.0 }, { "kb", 1e3 },
		{ "m", 1048576.0 }, { "mib", 1048576.0 }, { "mb", 1e6 },
		{ "g", 1073741824.0 }, { "gib", 1073741824.0 }, { "gb", 1e9 },
		{ "t", 1099511627776.0 }, { "tib", 1099511627776.0 }, { "tb", 1e12 },
	};
	double whole = 0, frac = 0, scale = 1, v;
	char unit[8];
	const char *p = s;
	size_t i, n = 0;
	bool digits = false;

	if (s == NULL)
		return SYNC_ERR_INVALID;
	for (; *p >= '0' && *p <= '9'; p++, digits = true)
		whole = whole * 10 + (*p - '0');
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, digits = true)
			frac += (*p - '0') * (scale /= 10);
	if (!digits)
		return SYNC_ERR_INVALID;
	while (*p && *p != '/' && n < sizeof unit - 1)
		unit[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p), p++;
	unit[n] = '\0';
	if ((*p && strcmp(p, "/s") != 0) || (*p == '\0' && n == sizeof unit - 1))
		return SYNC_ERR_INVALID;
	for (i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(unit, units[i].unit) == 0)
			break;
	if (i == sizeof units / sizeof units[0])
		return SYNC_ERR_INVALID;
	v = (whole + frac) * units[i].bytes / 1024.0;
	if (v > (double)max)
		return SYNC_ERR_INVALID;
	*kib = v > 0 && v < 1 ? 1 : (unsigned long long)(v + 0.5);
	return SYNC_OK;
}

unsigned long long
env_number(const char *name, unsigned long long min, unsigned long long max,
	   unsigned long long dflt)
{
	const char *env = getenv(name);
	unsigned long long v;

	return env && parse_ullong(env, min, max, &v) == 0 ? v : dflt;
}

int
parse_int_range(const char *s, int min, int max, int *out)
{
	unsigned long long v;
	int rc;

	if (min < 0)
		fatal("parse_int_range takes non-negative ranges");
	rc = parse_ullong(s, (unsigned long long)min, (unsigned long long)max, &v);
	if (rc == SYNC_OK)
		*out = (int)v;
	return rc;
}

void
sq_quote(struct strbuf *out, const char *s)
{
	strbuf_addch(out, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			strbuf_addstr(out, "'\\''");
		else
			strbuf_addch(out, *s);
	}
	strbuf_addch(out, '\'');
}

void
sq_quote_argv(struct strbuf *out, const char *const *argv)
{
	size_t i;

	for (i = 0; argv[i]; i++) {
		if (i)
			strbuf_addch(out, ' ');
		sq_quote(out, argv[i]);
	}
}

void
rsync_rsh_quote(struct strbuf *out, const char *s)
{
	/* rsync splits -e on spaces; inside '...' a doubled ' is a literal '. */
	strbuf_addch(out, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			strbuf_addch(out, '\'');
		strbuf_addch(out, *s);
	}
	strbuf_addch(out, '\'');
}

/* Append path's components to sb, one '/' between, without empty or "." ones. */
static void
append_components(struct strbuf *sb, const char *path)
{
	const char *p, *q;

	for (p = path; *p; p = q) {
		size_t n;

		while (*p == '/')
			p++;
		q = p;
		while (*q && *q != '/')
			q++;
		n = (size_t)(q - p);
		if (n == 0 || (n == 1 && p[0] == '.'))
			continue;
		if (sb->len > 0 && sb->buf[sb->len - 1] != '/')
			strbuf_addch(sb, '/');
		strbuf_add(sb, p, n);
	}
}

int
path_absolute(const char *path, char **out)
{
	struct strbuf sb = STRBUF_INIT;

	if (path == NULL || *path == '\0') {
		errno = ENOENT;
		return SYNC_ERR_SYSTEM;
	}
	if (*path != '/') {
		char *cwd = getcwd(NULL, 0);

		if (cwd == NULL)
			return SYNC_ERR_SYSTEM;
		strbuf_addstr(&sb, cwd);
		free(cwd);
	} else
		strbuf_addch(&sb, '/');
	append_components(&sb, path);
	while (sb.len > 1 && sb.buf[sb.len - 1] == '/')
		strbuf_setlen(&sb, sb.len - 1);
	if (sb.len == 0)
		strbuf_addch(&sb, '/');
	*out = strbuf_detach(&sb, NULL);
	return SYNC_OK;
}

int
path_source(const char *path, char **out)
{
	char *abs, *dir, *real;
	int rc;

	if ((rc = path_absolute(path, &abs)) < 0)
		return rc;
	if (strstr(abs, "/../") == NULL &&
	    (strlen(abs) < 3 || strcmp(abs + strlen(abs) - 3, "/..") != 0)) {
		*out = abs;
		return SYNC_OK;
	}
	/* Through "..": the directory it names, so that one source has one spelling. */
	if (strcmp(path_basename(abs), "..") == 0) {
		real = realpath(abs, NULL);
	} else {
		dir = path_dirname(abs);
		real = realpath(dir, NULL);
		if (real) {
			char *joined = strcmp(real, "/") == 0 ?
				       xasprintf("/%s", path_basename(abs)) :
				       xasprintf("%s/%s", real, path_basename(abs));

			free(real);
			real = joined;
		}
		free(dir);
	}
	if (real == NULL) {
		free(abs);
		return SYNC_ERR_SYSTEM;
	}
	free(abs);
	*out = real;
	return SYNC_OK;
}

char *
path_tidy(const char *path)
{
	struct strbuf sb = STRBUF_INIT;

	if (*path == '/')
		strbuf_addch(&sb, '/');
	append_components(&sb, path);
	if (sb.len == 0)
		strbuf_addch(&sb, '.');
	return strbuf_detach(&sb, NULL);
}

const char *
path_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

char *
path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

bool
path_is_within(const char *child, const char *parent)
{
	size_t n = strlen(parent);

	if (n == 1 && parent[0] == '/')
		return child[0] == '/';
	if (strncmp(child, parent, n) != 0)
		return false;
	return child[n] == '\0' || child[n] == '/';
}

int
path_tree_cmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;

	while (*x && *x == *y) {
		x++;
		y++;
	}
	if (*x == *y)
		return 0;
	/* The end first, then '/', then every other byte in its order. */
	return (*x == '/' ? 1 : *x == 0 ? 0 : *x + 1) - (*y == '/' ? 1 : *y == 0 ? 0 : *y + 1);
}

/* Length of the valid UTF-8 sequence at s, or 0 when it is not one. */
static size_t
utf8_seq_len(const unsigned char *s, size_t len)
{
	unsigned c = s[0];
	size_t n, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

size_t
text_cut(const char *s, size_t len, size_t max)
{
	size_t n = max;

	if (len <= max)
		return len;
	/* Back to the lead byte of a sequence the cut would split. */
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

void
text_copy(char *dst, size_t len, const char *src)
{
	size_t n;

	if (len == 0)
		return;
	n = text_cut(src, strlen(src), len - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

bool
utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	while (len > 0) {
		n = utf8_seq_len(p, len);
		if (n == 0)
			return false;
		p += n;
		len -= n;
	}
	return true;
}

/*
 * Return true for the format characters that reorder or break text on a
 * terminal without being controls: the bidirectional marks, embeddings,
 * overrides and isolates (U+061C, U+200E-F, U+202A-E, U+2066-9) and the
 * line and paragraph separators (U+2028-9).
 */
static bool
is_layout_char(const unsigned char *p, size_t n)
{
	if (n == 2)
		return p[0] == 0xd8 && p[1] == 0x9c;
	if (n != 3 || p[0] != 0xe2)
		return false;
	if (p[1] == 0x80)
		return p[2] == 0x8e || p[2] == 0x8f || (p[2] >= 0xa8 && p[2] <= 0xae);
	return p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9;
}

/* Append s escaped: control bytes and invalid UTF-8 as \xNN, and \ as \\ if asked. */
static void
escape_bytes(struct strbuf *out, const char *s, size_t len, bool backslash)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	while (len > 0) {
		n = utf8_seq_len(p, len);
		if (n == 0 || *p < 0x20 || *p == 0x7f ||
		    (n == 2 && p[0] == 0xc2 && p[1] < 0xa0) || is_layout_char(p, n)) {
			/* C0, DEL, C1 controls, stray bytes, bidi marks: never raw. */
			size_t k = n ? n : 1;

			while (k--) {
				strbuf_addf(out, "\\x%02x", *p++);
				len--;
			}
			continue;
		}
		if (*p == '\\' && backslash)
			strbuf_addch(out, '\\');
		strbuf_add(out, p, n);
		p += n;
		len -= n;
	}
}

void
escape_untrusted(struct strbuf *out, const char *s, size_t len)
{
	escape_bytes(out, s, len, true);
}

void
escape_line(struct strbuf *out, const char *s, size_t len)
{
	escape_bytes(out, s, len, false);
}

int
set_cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
		return SYNC_ERR_SYSTEM;
	return SYNC_OK;
}

int
set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return SYNC_ERR_SYSTEM;
	return SYNC_OK;
}

int
xpipe_cloexec(int fds[2])
{
#ifdef HAVE_PIPE2
	if (pipe2(fds, O_CLOEXEC) < 0)
		return SYNC_ERR_SYSTEM;
#else
	if (pipe(fds) < 0)
		return SYNC_ERR_SYSTEM;
	set_cloexec(fds[0]);
	set_cloexec(fds[1]);
#endif
	return SYNC_OK;
}

void
ensure_std_fds(void)
{
	int fd;

	/* A descriptor opened now lands on the lowest free number. */
	do {
		fd = open("/dev/null", O_RDWR);
		if (fd < 0)
			fatal("cannot open /dev/null: %s", strerror(errno));
	} while (fd <= 2);
	close(fd);
}

int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return SYNC_ERR_SYSTEM;
		}
		p += n;
		len -= (size_t)n;
	}
	return SYNC_OK;
}

double
now_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t
now_wall(void)
{
	return (int64_t)time(NULL);
}

const char *
home_dir(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home && home[0] == '/')
		return home;
	pw = getpwuid(getuid());
	if (pw && pw->pw_dir && pw->pw_dir[0] == '/')
		return pw->pw_dir;
	return "/";
}

bool
home_is_account_home(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw = getpwuid(getuid());
	struct stat a, b;

	if (home == NULL || home[0] != '/')
		return true;
	if (pw == NULL || pw->pw_dir == NULL)
		return false;
	if (strcmp(home, pw->pw_dir) == 0)
		return true;
	return stat(home, &a) == 0 && stat(pw->pw_dir, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

int
private_dir_remove(const char *dir, unsigned long *removed)
{
	struct dirent *e;
	struct stat sb;
	size_t len = strlen(dir);
	DIR *d;
	int fd, rc = 0, saved = 0;

	/* "link/" would follow the link, O_NOFOLLOW or not. */
	if (len > 1 && dir[len - 1] == '/') {
		errno = EINVAL;
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (sb.st_uid != geteuid()) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	if ((d = fdopendir(fd)) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0) {
			if (removed)
				(*removed)++;
		} else if (errno != ENOENT && rc == 0) {
			saved = errno;
			rc = -1;
		}
	}
	closedir(d);
	if (rmdir(dir) < 0 && rc == 0) {
		saved = errno;
		rc = -1;
	}
	errno = saved;
	return rc;
}
