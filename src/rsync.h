/*
 * rsync: build the argv for rsync and ssh, and read rsync's output.
 *
 * Pure: no I/O, no processes. The supervisor runs what this module builds
 * and feeds this module what rsync prints.
 *
 * Every rsync we run reads the list of paths to move from its standard
 * input or a file (--files-from --from0, NUL-separated, relative to the
 * source root), so no file name ever appears on a command line; their
 * parent directories must exist on the far side already (--no-implied-dirs,
 * listed parents first, unless the job sends them); and the remote
 * destination goes through rsync's argument protection (-s), so no remote
 * shell ever sees it. The last rsync may name the source directory itself
 * instead of a list (source_name).
 *
 * rsync's standard output, with the options built here, is a stream of
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
#ifndef SCOW_SYNC_RSYNC_H
#define SCOW_SYNC_RSYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

/* How to reach the far side; shared by ssh (master) and rsync's -e. */
struct ssh_target {
	const char *program;       /* ssh program; "ssh" when NULL */
	const char *user;
	const char *host;
	int port;
	const char *key_path;
	/*
	 * What ssh is given for key_path, or NULL for key_path itself: a link
	 * to it in a private directory, since ssh's command line (and rsync's
	 * -e) is any local user's to read, and the key's path no business of
	 * theirs.
	 */
	const char *key_given;
	const char *known_hosts;   /* UserKnownHostsFile (and the same with a 2) */
	bool known_hosts_default;  /* ssh's own default: not passed (home_is_account_home) */
	const char *ssh_config;    /* passed as -F when not NULL */
	const char *control_path;  /* ControlPath of a running master, or NULL */
	int connect_timeout;       /* seconds */
};

/*
 * Append to argv the ssh program and the options every connection uses:
 * batch mode (never a prompt), the key only, host key checking with
 * accept-new against known_hosts, keepalives, and the control socket.
 */
void ssh_base_argv(const struct ssh_target *t, struct strvec *argv);

/*
 * Append ssh's argv to run remote_argv on t's host: ssh_base_argv, the
 * host, and the words joined into one command with each single-quoted for
 * the remote shell (ssh would join them unquoted).
 */
void ssh_command_argv(const struct ssh_target *t, const char *const *remote_argv,
		      struct strvec *argv);

/*
 * Append ssh's argv to run remote_argv on t's host with no word of it on a
 * command line, here or there (other users read those): the command is
 * "sh -s", and *script (appended) is what to give it on stdin. The words
 * travel single-quoted, so any byte but NUL, newlines too (only sh reads
 * them, never the remote user's login shell). Words that begin
 * "sh -c SCRIPT NAME" run SCRIPT in that sh itself, the rest its
 * arguments; other words run as a command (which names them on the far
 * side while it runs). Nothing runs unless all of the script arrived.
 */
void ssh_stdin_argv(const struct ssh_target *t, const char *const *remote_argv,
		    struct strvec *argv, struct strbuf *script);

/*
 * Append ssh's argv to run cmd, a command line for the remote shell that
 * the caller built with every word from outside single-quoted.
 */
void ssh_shell_argv(const struct ssh_target *t, const char *cmd, struct strvec *argv);

/*
 * Large files move in pieces, each its own stream, into a file of the
 * transfer's own next to rsync's partial file (DIR/PARTIAL/NAME plus
 * piece_suffix: no other transfer writes it). A piece is our own reader of
 * its range (scow-sync __read-piece), piped into ssh running a remote dd
 * that writes it at its offset. Both ends take the SHA-1 of the bytes as
 * they pass. When every piece's digests match, the far side reads the
 * file back and checks each range against the reader's digest (the file
 * as it is, not only the streams), and only then does it go under its
 * name (see finish.h); otherwise it is given back to rsync as its partial
 * file, and the rsync that follows checks every block and sends what
 * differs.
 *
 * No name is on a command line: the reader takes its path on stdin, and
 * each remote command takes where the file is from a header ahead of its
 * stdin (piece_header), which the reader sends before the data.
 */
#define PIECE_DIGEST_HEX 40            /* SHA-1, in hex */
#define PIECE_DIGEST_PREFIX "//sha1 "  /* "//sha1 HEX": a digest, from either end */
#define PIECE_WRITTEN_PREFIX "//dd "   /* "//dd N": the remote dd's exit status */
#define PIECE_FILE_SUFFIX ".scow-sync-pieces."   /* then the transfer's id */

/* One piece's range and the digest its reader sent. */
struct piece_sum {
	uint64_t offset, len;
	char hex[PIECE_DIGEST_HEX + 1];
};

/*
 * Append the argv of the local reader of [offset, offset + len) of a
 * file: program (our own) __read-piece, at most kib_per_s KiB/s (0: no
 * limit). Its stdin is piece_reader_input.
 */
void piece_reader_argv(const char *program, uint64_t offset, uint64_t len,
		       unsigned long kib_per_s, struct strvec *argv);
/*
 * Append the reader's stdin: the path it reads, a NUL, and the bytes it
 * sends before the range (header, header_len).
 */
void piece_reader_input(const char *path, const char *header, size_t header_len,
			struct strbuf *out);
/* Append the suffix of transfer_id's pieces' file. */
void piece_suffix(int64_t transfer_id, struct strbuf *out);
/*
 * Append the header every remote piece command reads from its stdin
 * first: "DIRLEN NAMELEN\n", dir (the partial directory) and name (the
 * file's own), each any bytes but NUL.
 */
void piece_header(const char *dir, const char *name, struct strbuf *out);
/*
 * Append the remote command that writes the rest of its stdin into the
 * pieces' file at offset, making the partial directory first, and sizing
 * the file to size (which no piece's data is cut by); it refuses (exits
 * non-zero) when the directory or the file is a symbolic link. On stderr
 * it says dd's status and the digest of what arrived.
 */
void piece_writer_command(const char *suffix, uint64_t offset, uint64_t size,
			  struct strbuf *out);
/*
 * Append the remote command that exits 0 only when the pieces' file, as
 * it is on the far side, has size bytes and each of the n ranges the
 * digest in sums.
 */
void piece_check_command(const char *suffix, uint64_t size, const struct piece_sum *sums, int n,
			 struct strbuf *out);
/*
 * Append the remote command that renames the pieces' file, when there is
 * one, to rsync's partial file of the name; exit 0 when none is left.
 */
void piece_give_back_command(const char *suffix, struct strbuf *out);
/* Read a "//sha1 HEX" line into hex. 0 or SYNC_ERR_INVALID. */
int piece_parse_digest(const char *line, size_t len, char hex[PIECE_DIGEST_HEX + 1]);
/* Read a "//dd N" line. 0 or SYNC_ERR_INVALID. */
int piece_parse_written(const char *line, size_t len, int *status);
/*
 * Read the byte count from a progress line of the reader ("12345 bytes",
 * as dd prints it too). 0 or SYNC_ERR_INVALID.
 */
int piece_parse_progress(const char *line, size_t len, uint64_t *bytes);

/* Append the same command as one string for rsync's -e, each word quoted. */
void ssh_rsh_command(const struct ssh_target *t, struct strbuf *out);

struct rsync_job {
	const char *rsync_path;   /* local rsync program */
	const char *rsh;          /* value for -e (ssh_rsh_command) */
	const char *host;         /* remote host, bracketed here if IPv6 */
	const char *source_root;  /* local directory listed paths are under */
	const char *remote_dir;   /* remote directory they land under */
	const char *partial_dir;  /* rsync --partial-dir, or NULL */
	const char *files_from;   /* file with the NUL-separated list, or NULL for stdin */
	const char *source_name;  /* or no list: this path under source_root, whole */
	const char *chmod;        /* rsync --chmod rule, or NULL */
	const char *exclude_from; /* file of rsync_exclude_rules(): parts not to send, or NULL */
	bool recursive;           /* descend into listed directories */
	bool dry_run;             /* -n: only name what would change, itemized */
	bool checksum;            /* -c: compare by content, not size and time (--verify) */
	bool whole_list;          /* the whole file list first (--no-inc-recursive) */
	bool compress;            /* -z, rsync choosing the method with the far side */
	bool ignore_times;        /* -I: send files whose size and time match too */
	bool implied_dirs;        /* send the parents of listed paths too, with their attributes */
	/*
	 * --delete: what the far side has and the source lacks goes, each
	 * named as rsync itemizes a deletion, at most max_delete (0: any).
	 * With existing_only (--existing --ignore-existing) nothing is sent:
	 * a mirror's last pass.
	 */
	bool delete;
	bool existing_only;
	/* Listed paths the source no longer has are deleted (--delete-missing-args --delete). */
	bool delete_missing;
	unsigned long long max_delete;
	const char *protect;      /* --filter=P: never deleted (the partial dirs), or NULL */
	unsigned long bwlimit_kib; /* KiB/s, 0 for no limit */
	unsigned io_timeout;      /* --timeout: seconds without data, 0 for none */
	/*
	 * A command line for the remote shell to run after the remote rsync
	 * has ended well (exit 0, or 24: files vanished), or NULL: it says "//then N" (its exit
	 * status) on stderr. The last rsync of a transfer does the closing
	 * work this way, without a round trip of its own.
	 */
	const char *then_command;
	/*
	 * A command line for the remote shell to run before the remote rsync,
	 * or NULL: when it fails, rsync does not run (the local rsync sees the
	 * far side go away). Its output goes to stderr.
	 */
	const char *before_command;
};

#define RSYNC_THEN_PREFIX "//then "   /* "//then N": how then_command ended */

/*
 * Marks a file name line (--out-format "//%i %n"); no path in a
 * --files-from list starts with it.
 */
#define RSYNC_NAME_PREFIX "//"

/* Read a "//then N" line. 0 or SYNC_ERR_INVALID. */
int rsync_parse_then(const char *line, size_t len, int *status);

/*
 * Append path as an rsync filter pattern that matches exactly that path,
 * whatever characters it holds (rsync's wildcards are escaped).
 */
void rsync_filter_escape(struct strbuf *out, const char *path);
/*
 * Append the rules that exclude the NULL-terminated paths (relative to
 * source_root), for rsync_job.exclude_from: NUL-terminated (rsync reads
 * them with --from0), so that a name with a newline is one rule. In a file,
 * not on rsync's command line, which any local user can read.
 */
void rsync_exclude_rules(const char *const *paths, struct strbuf *out);

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
 * Append how the temporary file rsync's receiver writes for base begins,
 * before its six random characters, as receiver.c get_tmpname() makes it
 * (rsync 3.1 to 3.5): a dot, base without its own leading dot, cut to fit
 * 255 bytes or the path limit (and then back to before any run of
 * non-ASCII bytes the cut fell into), without one trailing dot, and the
 * suffix's dot. dirlen: bytes of the directory part of base's path under
 * the destination, its slash included (0 at the top). False when rsync
 * can make no temporary file there.
 */
bool rsync_tmpname_prefix(struct strbuf *out, size_t dirlen, const char *base);

/*
 * The line of an rsync's standard error (err, whole) that best says why it
 * failed: the last one that is not rsync's closing summary ("rsync error:
 * ... (code N)") or a dropped connection (ssh's own reason comes before
 * those). Ends lines in err in place; "" when there is none.
 */
const char *rsync_telling_line(struct strbuf *err);

/* Append the complete rsync argv for job (program first). */
void rsync_job_argv(const struct rsync_job *job, struct strvec *argv);

/*
 * Append "host:path" for rsync -s, bracketing an IPv6 literal host and
 * escaping the wildcards the remote rsync would expand in path (which must
 * exist by the time rsync runs).
 */
void rsync_remote_spec(struct strbuf *out, const char *host, const char *path);

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
