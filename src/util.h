/*
 * util: the few building blocks every module uses.
 *
 * - allocation that never returns NULL (failure is fatal, as in tmux/htop);
 * - struct strbuf, a growable NUL-terminated byte string (git's strbuf);
 * - struct strvec, a NULL-terminated vector of owned strings for argv;
 * - bounded number parsing that rejects junk;
 * - quoting for the POSIX shell and for rsync's -e splitter;
 * - path helpers and error codes shared by all modules.
 *
 * Modules return 0 or a negative SYNC_ERR_* code; sync_strerror() names it.
 * SYNC_ERR_SYSTEM means "look at errno".
 */
#ifndef SCOW_SYNC_UTIL_H
#define SCOW_SYNC_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sync_err {
	SYNC_OK = 0,
	SYNC_ERR_SYSTEM = -1,     /* errno holds the cause */
	SYNC_ERR_STORE = -2,      /* SQLite failed; message in the caller's buffer */
	SYNC_ERR_INVALID = -3,    /* malformed input */
	SYNC_ERR_NOT_FOUND = -4,  /* nothing matched */
	SYNC_ERR_SSH = -5,        /* ssh could not be run; message in the caller's buffer */
	SYNC_ERR_HOSTKEY = -6,    /* remote host key differs from known_hosts */
	SYNC_ERR_AUTH = -7,       /* the server refused the key */
	SYNC_ERR_CONNECT = -8,    /* cannot reach the host */
	SYNC_ERR_REMOTE = -9,     /* a remote command failed */
	SYNC_ERR_TIMEOUT = -10,
	SYNC_ERR_EXISTS = -11,
	SYNC_ERR_SCHEMA = -12,    /* the store was written by a newer version */
	SYNC_ERR_AMBIGUOUS = -13, /* more than one thing matched */
};

/* Name an error code; for SYNC_ERR_SYSTEM this is strerror(errno). */
const char *sync_strerror(int err);

/* Print "scow-sync: fatal: ..." and exit; used for impossible states only. */
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Return a newly allocated formatted string; caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grow an array of *alloc elements so that index nr fits (git's ALLOC_GROW). */
#define ALLOC_GROW(array, nr, alloc)                                          \
	do {                                                                  \
		if ((size_t)(nr) >= (alloc)) {                                \
			(alloc) = (alloc) ? (alloc) * 2 : 16;                 \
			if ((alloc) <= (size_t)(nr))                          \
				(alloc) = (size_t)(nr) + 1;                   \
			(array) = xreallocarray((array), (alloc),             \
						sizeof(*(array)));            \
		}                                                             \
	} while (0)

struct strbuf {
	char *buf;    /* always NUL-terminated, never NULL after init */
	size_t len;
	size_t alloc;
};
extern char strbuf_empty[];
#define STRBUF_INIT { strbuf_empty, 0, 0 }

void strbuf_init(struct strbuf *sb, size_t hint);
void strbuf_release(struct strbuf *sb);
/* Hand the buffer to the caller (who frees it) and reset sb. */
char *strbuf_detach(struct strbuf *sb, size_t *len);
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
/* Append all of the file at path. 0, or -1 with errno set. */
int strbuf_read_file(struct strbuf *sb, const char *path);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, int c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void strbuf_setlen(struct strbuf *sb, size_t len);
static inline void strbuf_reset(struct strbuf *sb) { strbuf_setlen(sb, 0); }
/* Drop trailing CR and LF bytes (what ssh and rsync end lines with). */
void strbuf_trim_eol(struct strbuf *sb);
/* Remove len bytes from the front. */
void strbuf_remove_front(struct strbuf *sb, size_t len);

struct strvec {
	char **v;     /* NULL-terminated, never NULL after init */
	size_t nr;
	size_t alloc;
};
extern const char *strvec_empty[];
#define STRVEC_INIT { (char **)strvec_empty, 0, 0 }

void strvec_init(struct strvec *sv);
void strvec_push(struct strvec *sv, const char *s);
void strvec_pushf(struct strvec *sv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strvec_pushv(struct strvec *sv, const char *const *v);
/* Keep the first n strings (fewer: nothing happens). */
void strvec_truncate(struct strvec *sv, size_t n);
void strvec_clear(struct strvec *sv);

/*
 * Parse a whole decimal number in [min, max]. Leading/trailing space, signs,
 * empty strings, junk and overflow are rejected with SYNC_ERR_INVALID.
 */
/*
 * Parse a rate as rsync's --bwlimit takes it, into KiB/s: a number (a
 * fraction allowed) in KiB/s, or with a unit: K, M, G or T (and KiB, MiB,
 * ...: powers of 1024), KB, MB, GB or TB (powers of 1000), any case, "/s"
 * allowed after it. At most max KiB/s; a rate that comes to less than
 * 1 KiB/s but more than 0 is 1. SYNC_ERR_INVALID for anything else.
 */
int parse_rate_kib(const char *s, unsigned long long max, unsigned long long *kib);
int parse_ullong(const char *s, unsigned long long min, unsigned long long max,
		 unsigned long long *out);
/*
 * The number in environment variable name, when it is one within [min,
 * max]; dflt otherwise (for the tests' shorter waits).
 */
unsigned long long env_number(const char *name, unsigned long long min, unsigned long long max,
			      unsigned long long dflt);
int parse_int_range(const char *s, int min, int max, int *out);

/* Append s single-quoted for a POSIX shell: ' becomes '\'' (git's sq_quote). */
void sq_quote(struct strbuf *out, const char *s);
/* Append the NULL-terminated words, each sq_quote()d, one space between. */
void sq_quote_argv(struct strbuf *out, const char *const *argv);
/* Append s quoted for rsync's -e splitter: wrapped in ', each ' doubled. */
void rsync_rsh_quote(struct strbuf *out, const char *s);

/*
 * Make path absolute against the current directory and tidy it: collapse
 * repeated slashes and "." components, drop trailing slashes. ".." is kept,
 * since resolving it lexically is wrong across symlinks. Caller frees *out.
 */
int path_absolute(const char *path, char **out);
/*
 * A source path in one spelling: path_absolute, and where it goes through
 * "..", the real directory (symbolic links resolved) that names; the last
 * component is kept as it is. *out is the caller's to free.
 */
int path_source(const char *path, char **out);
/*
 * Return path without repeated '/', '.' components or a trailing '/',
 * relative paths staying relative ("." for nothing left); '..' is kept,
 * since on the far side it depends on symbolic links. Caller frees.
 */
char *path_tidy(const char *path);
/* Return a pointer to the last component of a tidy path (borrowed). */
const char *path_basename(const char *path);
/* Return the directory part of a tidy absolute path; caller frees. */
char *path_dirname(const char *path);
/* True when child equals parent or lies below it (component-wise). */
bool path_is_within(const char *child, const char *parent);
/*
 * Order paths as a tree: like strcmp, but '/' before every other byte, so
 * that everything below a path sorts right after it, before its siblings.
 */
int path_tree_cmp(const char *a, const char *b);

/*
 * Is $HOME the account's home directory (or unset), where ssh looks for
 * ~/.ssh by itself? ssh goes by the account's, never by $HOME.
 */
bool home_is_account_home(void);
/*
 * The length of s (len bytes) cut to at most max bytes at a character's
 * boundary: never inside a UTF-8 sequence.
 */
size_t text_cut(const char *s, size_t len, size_t max);

/* Copy the string src into dst of size len, cut as text_cut does. */
void text_copy(char *dst, size_t len, const char *src);

/* Return true when s is valid UTF-8 (no overlongs, no surrogates). */
bool utf8_valid(const char *s, size_t len);
/*
 * Append s escaped for a log line or terminal: control bytes, DEL, bytes
 * that are not valid UTF-8 and the characters that reorder a line (bidi
 * marks and overrides, line separators) become \xNN, backslash becomes \\.
 */
void escape_untrusted(struct strbuf *out, const char *s, size_t len);
/*
 * Append s with the same bytes made \xNN as escape_untrusted() but its
 * backslashes as they are: the last guard of a message that is one line,
 * whose parts may have been escaped already.
 */
void escape_line(struct strbuf *out, const char *s, size_t len);

int set_cloexec(int fd);
int set_nonblock(int fd);
/* pipe2(O_CLOEXEC) or an emulation of it. */
int xpipe_cloexec(int fds[2]);
/* Make sure descriptors 0, 1 and 2 are open (on /dev/null if need be). */
void ensure_std_fds(void);
/* Write all of buf, retrying on EINTR and short writes. */
int write_all(int fd, const void *buf, size_t len);

/* Seconds on the monotonic clock, and wall-clock seconds since the epoch. */
double now_monotonic(void);
int64_t now_wall(void);

/* The user's home: $HOME if set and absolute, else the passwd entry. */
const char *home_dir(void);

/*
 * Remove dir, a private directory of ours that holds files and no
 * directory, with every file in it: whatever wrote there, nothing is left.
 * Refused for a link (ENOTDIR, ELOOP; a path ending in '/', EINVAL) or a
 * directory another user owns (EPERM). 0, or -1 with errno (EISDIR: it
 * held a directory, which stays, and so does dir); *removed (when given)
 * counts the files removed.
 */
int private_dir_remove(const char *dir, unsigned long *removed);

#endif
