/*
 * output: what scow-sync prints, for machines (JSON) and for people.
 *
 * The legacy query format is fixed by the SCOW portal (see scow-sync(1)):
 * a JSON array of objects with six string values. Numbers are formatted
 * here the way the portal parses them.
 */
#ifndef SCOW_SYNC_OUTPUT_H
#define SCOW_SYNC_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

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

/*
 * Find the file that display_path() shows as shown (absolute): each
 * component that holds U+FFFD and is not a name as it is stands for the
 * one entry of its directory shown that way. Sets *out (caller frees);
 * SYNC_ERR_NOT_FOUND when there is none, SYNC_ERR_AMBIGUOUS when two
 * names differ only in bytes that are not UTF-8.
 */
int path_from_shown(const char *shown, char **out);

struct legacy_row {
	const char *address;
	const char *file_path;    /* absolute local path, raw bytes */
	uint64_t bytes;
	int percent;
	double rate;
	int64_t eta;
};

struct legacy_list;
struct legacy_list *legacy_list_new(void);
void legacy_list_add(struct legacy_list *l, const struct legacy_row *row);
/* Write the whole array to f in one piece; 0 or SYNC_ERR_SYSTEM. */
int legacy_list_write(struct legacy_list *l, FILE *f);
void legacy_list_free(struct legacy_list *l);

/*
 * query --json: {"version": 1, "transfers": [ ... ]}, one object per
 * transfer of a history walk (the schema is in scow-sync(1), JSON OUTPUT).
 * The version changes only when a field changes meaning or goes away.
 */
#define QUERY_JSON_VERSION 1
struct history_entry;
struct json_report;
struct json_report *json_report_new(void);
void json_report_add(struct json_report *r, const struct history_entry *e);
/* Write the whole document and a newline; 0 or SYNC_ERR_SYSTEM. */
int json_report_write(struct json_report *r, FILE *f);
void json_report_free(struct json_report *r);

/*
 * status: a table for people, one line per transfer, width columns (at
 * least 64): the id, state, percent, bytes done of total, rate, time
 * left, and "SOURCE -> HOST:DEST" cut in the middle to fit.
 */
void status_table_header(struct strbuf *out, int width);
void status_table_row(struct strbuf *out, const struct history_entry *e, int width);

/*
 * The foreground's progress line on a terminal, redrawn in place at most
 * five times a second: overall percent, bytes done of all, rate, time
 * left, files, and the end of the name being moved. Nothing is drawn when
 * the output is not a terminal. With NO_COLOR set or TERM=dumb, no escape
 * sequence is written either: the line is redrawn after a carriage return
 * and padded with spaces.
 */
struct progress_line {
	int fd;
	bool tty;            /* the output is a terminal: draw */
	bool plain;          /* no escape sequences */
	int width;
	size_t last_len;     /* columns of the last line drawn (plain mode) */
	double last_draw;
};
struct progress_view {
	const char *file;              /* being moved, or NULL */
	uint64_t bytes, bytes_total;   /* settled or moved so far, of all */
	uint64_t files, files_total;
	double rate;                   /* bytes/s now */
};
void progress_line_init(struct progress_line *pl, int fd);
/* Format the line for v in width columns into out (no redraw codes). */
void progress_line_format(struct strbuf *out, const struct progress_view *v, int width);
void progress_line_draw(struct progress_line *pl, const struct progress_view *v);
void progress_line_clear(struct progress_line *pl);

#endif
