/*
 * format: numbers, times and names as scow-sync shows them, to the portal
 * (whose parser fixes some of these forms; see scow-sync(1)) and to people
 * on a terminal, in columns.
 */
#ifndef SCOW_SYNC_FORMAT_H
#define SCOW_SYNC_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* "44,564,480" */
void fmt_thousands(struct strbuf *out, uint64_t n);
/* "1.74MB/s": B/s below 1 kB/s, then kB/s, MB/s, GB/s (1024-based, as rsync). */
void fmt_rate(struct strbuf *out, double bytes_per_sec);
/* "0:00:33": H:MM:SS, hours unbounded; unknown or negative shows 0:00:00. */
void fmt_hms(struct strbuf *out, int64_t seconds);
/* "1.5 GiB" for people. */
void fmt_bytes_human(struct strbuf *out, uint64_t n);

/*
 * Append path to out as UTF-8 for JSON: valid UTF-8 is copied, every byte
 * of an invalid sequence becomes U+FFFD.
 */
void display_path(struct strbuf *out, const char *path);

/* Terminal columns of valid UTF-8 text (East Asian wide characters count 2). */
size_t text_columns(const char *s);

/* Which part of a text too wide to show whole is kept. */
enum fit { KEEP_ENDS, KEEP_START, KEEP_END };

/*
 * Append text (valid UTF-8 without control characters) in at most width
 * columns, cutting out the part that fit does not keep as "...".
 */
void add_fitted(struct strbuf *out, const char *text, int width, enum fit fit);

/* Append a name from outside, made safe and valid for a terminal. */
void add_printable(struct strbuf *out, const char *s);

#endif
