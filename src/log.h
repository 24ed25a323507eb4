/*
 * log: one line per event in the state directory's logs.
 *
 * scow-sync.log gets every event, scow-sync.err the warnings and errors,
 * each line as "TIME [TRANSFER-ID] LEVEL: message". Files are opened with
 * O_APPEND and each line is written whole in one write() (log_many writes
 * many lines at once), so lines from concurrent supervisors never
 * interleave. Each is rotated by size (see
 * LOG_ROTATE_BYTES); `scow-sync log ID` reads one transfer's lines back.
 * Untrusted text (anything rsync or the far side printed, any path) must
 * go through log_untrusted() or escape_untrusted() first.
 */
#ifndef SCOW_SYNC_LOG_H
#define SCOW_SYNC_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/*
 * A log that has grown past this many bytes is rotated: NAME becomes
 * NAME.1, and so on up to NAME.LOG_ROTATE_KEEP (the oldest goes).
 */
#define LOG_ROTATE_BYTES (8ULL << 20)
#define LOG_ROTATE_KEEP 3
/* Open the two logs in dir (0600). Without it, logging goes to stderr. */
int log_open(const char *dir);
void log_close(void);
/*
 * In a child that has closed every descriptor it inherited: open the logs
 * again by their paths. The old descriptors are forgotten, not closed
 * (their numbers may name something else by now).
 */
void log_reopen(void);
/* Also echo events at or above level to stderr (foreground runs). */
void log_set_echo(enum log_level level);
/* Rotate at this size instead (0: never). */
void log_set_rotate_bytes(uint64_t bytes);
/* Write events at or above level to scow-sync.log (LOG_INFO; LOG_DEBUG at -v). */
void log_set_file_level(enum log_level level);
/*
 * The transfer id shown on following lines (0 for none). A transfer's
 * first LOG_HEAD_LINES lines (info and above) are written again, marked
 * with LOG_CARRIED_MARK, at the top of each log that rotation begins while
 * it runs, so that its start is never lost before its end; `log ID` shows
 * them only when the lines they repeat are gone.
 */
void log_set_transfer(int64_t id);
#define LOG_HEAD_LINES 3
#define LOG_CARRIED_MARK "(from the start) "

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * Log n messages at one level, each a line as log_msg makes it, in writes
 * of about LOG_BATCH_BYTES: a mirror's thousands of deletions are a few
 * writes, not a write and three stats each.
 */
void log_many(enum log_level level, const char *const *msgs, size_t n);
#define LOG_BATCH_BYTES (64U << 10)
/* Log "prefix: TEXT" with TEXT escaped (control bytes, invalid UTF-8). */
void log_untrusted(enum log_level level, const char *prefix, const char *text, size_t len);

#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
