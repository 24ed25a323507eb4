/*
 * report: query's JSON for machines and status's table for people, one
 * entry per transfer of a history walk (history.h).
 *
 * The legacy query format is fixed by the SCOW portal (see scow-sync(1)):
 * a JSON array of objects with six string values. Numbers are formatted
 * the way the portal parses them (format.h).
 */
#ifndef SCOW_SYNC_REPORT_H
#define SCOW_SYNC_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "util.h"

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
 * A dry run's changes, as --dry-run --json prints them: an array of
 * {"action": "send" | "update" | "delete", "path": ..., "itemized": ...},
 * the path as query's are (invalid UTF-8 as U+FFFD, and path_base64);
 * last, where the guards of a mirror would stop the transfer before its
 * deletes, {"action": "stop", "reason": ...}.
 */
struct change_list;
struct change_list *change_list_new(void);
void change_list_add(struct change_list *l, const char *action, const char *itemized,
		     const char *path);
void change_list_add_stop(struct change_list *l, const char *reason);
/* Write the whole array to f; 0 or SYNC_ERR_SYSTEM. */
int change_list_write(struct change_list *l, FILE *f);
void change_list_free(struct change_list *l);

struct store;
/*
 * Append transfer id's record as query --json shows it (one object, on one
 * line), for a notification. SYNC_ERR_NOT_FOUND when there is none.
 */
int report_transfer_json(struct store *st, int64_t id, struct strbuf *out);

#endif
