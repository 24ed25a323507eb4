/*
 * rsync-parse: read what rsync prints, and what ssh and the remote commands
 * of rsync.h print beside it.
 *
 * Pure: no I/O, no processes. The supervisor feeds this module what the
 * programs rsync.h builds print.
 *
 * rsync's standard output, with the options rsync_job_argv() gives it, is a
 * stream of
 *   "//NAME\n"   a file or directory about to be sent (NAME escaped by
 *                rsync as \#ooo for unprintable bytes; rsync_unescape()
 *                gives the original bytes back)
 *   "\rPROGRESS" a progress update for the current file; the last one for
 *                a file ends with " (xfr#N, to-chk=R/T)\n"
 *   "sent N bytes  received M bytes  R bytes/sec"
 *                the closing counts (--info=stats1), then "total size is
 *                ...", which is dropped
 *   other lines  messages.
 */
#ifndef SCOW_SYNC_RSYNC_PARSE_H
#define SCOW_SYNC_RSYNC_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The formats read here are set where the commands are built: the "//"
 * prefixes and PIECE_DIGEST_HEX.
 */
#include "rsync.h"
#include "util.h"

/*
 * What either end of a piece of a large file reports (see rsync.h): the
 * reader's progress, the remote dd's status and the digest of what arrived.
 */
/* Read a "//sha1 HEX" line into hex. 0 or SYNC_ERR_INVALID. */
int piece_parse_digest(const char *line, size_t len, char hex[PIECE_DIGEST_HEX + 1]);
/* Read a "//dd N" line. 0 or SYNC_ERR_INVALID. */
int piece_parse_written(const char *line, size_t len, int *status);
/*
 * Read the byte count from a progress line of the reader ("12345 bytes",
 * as dd prints it too). 0 or SYNC_ERR_INVALID.
 */
int piece_parse_progress(const char *line, size_t len, uint64_t *bytes);

/* Read a "//then N" line. 0 or SYNC_ERR_INVALID. */
int rsync_parse_then(const char *line, size_t len, int *status);

/*
 * A dry run names each item that would change as rsync's itemize string,
 * a space and the name ("<f..t...... d/f"). Find where the name starts in
 * such a line: true and *name_at set, or false when it is not one.
 */
bool rsync_itemized_name(const char *line, size_t len, size_t *name_at);
/* Does itemized (struct rsync_event's) name an entry new on the receiving side? */
bool rsync_itemized_new(const char *itemized);
/* ... a file whose data moves ('<' sent, '>' received; "": not itemized, as data)? */
bool rsync_itemized_data(const char *itemized);

/*
 * The line of an rsync's standard error (err, whole) that best says why it
 * failed: the last one that is not rsync's closing summary ("rsync error:
 * ... (code N)") or a dropped connection (ssh's own reason comes before
 * those). Ends lines in err in place; "" when there is none.
 */
const char *rsync_telling_line(struct strbuf *err);

struct rsync_progress {
	uint64_t bytes;        /* bytes of the current file done */
	int percent;           /* 0-100 */
	double rate;           /* bytes per second */
	int64_t eta;           /* seconds left, -1 when rsync does not know */
	bool final;            /* last update for this file */
	uint64_t xfr;          /* files transferred so far (final only) */
	uint64_t to_check;     /* files left to check (final only) */
	uint64_t total_files;  /* files known so far (final only) */
};

/* Parse one progress record (without the leading \r). 0 or SYNC_ERR_INVALID. */
int rsync_parse_progress(const char *line, size_t len, struct rsync_progress *out);

/*
 * Parse rsync's closing "sent N bytes  received M bytes  R bytes/sec" line
 * (numbers with or without thousands separators). 0 or SYNC_ERR_INVALID.
 */
int rsync_parse_sent(const char *line, size_t len, uint64_t *sent, uint64_t *received);

/* Append the bytes rsync escaped as \#ooo back in their raw form. */
void rsync_unescape(struct strbuf *out, const char *in, size_t len);

enum rsync_event_kind {
	RSYNC_EV_NAME,       /* name, name_len: a file about to be sent */
	RSYNC_EV_PROGRESS,   /* progress */
	RSYNC_EV_STATS,      /* sent, received: rsync's closing byte counts */
	RSYNC_EV_MESSAGE,    /* name, name_len: any other line, raw */
};

struct rsync_event {
	enum rsync_event_kind kind;
	const char *name;    /* unescaped; borrowed until the callback returns */
	size_t name_len;
	bool is_dir;         /* NAME ended with '/' (removed from name) */
	char itemized[12];   /* NAME: rsync's %i before the name ("<f+++++++++"), or "" */
	struct rsync_progress progress;
	uint64_t sent;       /* bytes this rsync wrote to the connection */
	uint64_t received;
};

typedef void (*rsync_event_fn)(const struct rsync_event *ev, void *ctx);

/*
 * Incremental reader of rsync's standard output. Whatever the far side
 * prints, it keeps at most RSYNC_PROGRESS_MAX bytes of a record begun after
 * a \r and RSYNC_LINE_MAX of any other, beyond the chunk being fed: the
 * longest progress line rsync prints is under 100 bytes ("  BYTES PCT RATE
 * TIME (xfr#N, to-chk=N/N)" with 20-digit numbers).
 */
#define RSYNC_PROGRESS_MAX 256
#define RSYNC_LINE_MAX 65536
struct rsync_parser {
	struct strbuf pending;   /* bytes of an unfinished record */
	struct strbuf scratch;
	bool in_progress;        /* pending began after a \r */
	bool pending_emitted;    /* pending was already reported as progress */
};

void rsync_parser_init(struct rsync_parser *p);
void rsync_parser_release(struct rsync_parser *p);
/* Feed a chunk of output; cb runs for each record completed by it. */
void rsync_parser_feed(struct rsync_parser *p, const char *buf, size_t len,
		       rsync_event_fn cb, void *ctx);
/* Report whatever is left at end of file. */
void rsync_parser_finish(struct rsync_parser *p, rsync_event_fn cb, void *ctx);

enum rsync_exit_class {
	RSYNC_EXIT_OK,        /* 0 */
	RSYNC_EXIT_PARTIAL,   /* 23, 24: some files failed or vanished */
	RSYNC_EXIT_RETRY,     /* the network or the remote side went away */
	RSYNC_EXIT_FATAL,     /* retrying cannot help */
};

enum rsync_exit_class rsync_exit_classify(int code);
/*
 * True when what rsync printed names a cause that retrying cannot cure
 * (the far side's disk or quota is full, or it is read-only), whatever
 * the exit code says.
 */
bool rsync_error_is_permanent(const char *text, size_t len);
/*
 * Append the line of text (the last bytes rsync printed on its standard
 * error) that names why it failed, escaped for a log line: the last line
 * naming a cause (not only "rsync error: ... (code N)" or "*** Skipping"),
 * or, where a line names a full disk or the like, that line, since the
 * lines after it are often only its echo (the sender's "Broken pipe" when
 * the receiver gave up). Nothing when text holds no line.
 */
void rsync_error_reason(const char *text, size_t len, struct strbuf *out);
/*
 * Append the cause of a failed ssh connection, from what ssh printed on
 * stderr (raw: the caller escapes it): a host key that changed since it
 * was recorded, said in a few words with where the recorded key is, in
 * place of OpenSSH's banner; otherwise ssh's last line that is not a note
 * ("Warning: Permanently added ...").
 */
void ssh_error_summary(const char *text, size_t len, struct strbuf *out);

enum ssh_failure {
	SSH_FAILURE_OTHER,    /* no answer about the host or the key (down, slow, ...) */
	SSH_FAILURE_HOSTKEY,  /* ssh refused the host's key: changed, revoked, unknown */
	SSH_FAILURE_AUTH,     /* the host refused the login ("Permission denied") */
};

/*
 * Why an ssh that exited 255 failed, from what it printed on stderr at
 * LogLevel ERROR or more: the host key is checked before the login, so a
 * refused host key never reads as a refused key.
 */
enum ssh_failure ssh_failure_kind(const char *text, size_t len);
/* What a line of rsync's stderr says about one source file. */
enum rsync_file_problem {
	RSYNC_FILE_NONE,       /* nothing about a source file */
	RSYNC_FILE_VANISHED,   /* gone before or while it was to be sent */
	RSYNC_FILE_FAILED,     /* could not be opened or read */
};
/*
 * Read one line of rsync's stderr (without its end): does it say that a
 * source file was not sent ("file has vanished: \"P\"", "rsync: [sender]
 * send_files failed to open \"P\": E (13)", "... link_stat \"P\" failed:
 * E (2)", ...)? Appends the file as rsync named it (unescaped) to path and
 * why (E, raw) to cause.
 */
enum rsync_file_problem rsync_file_problem(const char *line, size_t len, struct strbuf *path,
					   struct strbuf *cause);
/* rsync's own words for an exit code (borrowed). */
const char *rsync_exit_text(int code);

#endif
