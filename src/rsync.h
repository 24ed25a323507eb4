/*
 * rsync: build the argv for rsync and ssh, and the remote commands they run.
 *
 * Pure: no I/O, no processes. The supervisor runs what this module builds;
 * what those programs print is read by rsync-parse.h, which relies on the
 * formats set here (the "//" prefixes, the options rsync_job_argv() gives).
 *
 * Every rsync we run reads the list of paths to move from its standard
 * input or a file (--files-from --from0, NUL-separated, relative to the
 * source root), so no file name ever appears on a command line; their
 * parent directories must exist on the far side already (--no-implied-dirs,
 * listed parents first, unless the job sends them); and the remote
 * destination goes through rsync's argument protection (-s), so no remote
 * shell ever sees it. The last rsync may name the source directory itself
 * instead of a list (source_name).
 */
#ifndef SCOW_SYNC_RSYNC_H
#define SCOW_SYNC_RSYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

/* How to reach the far side; shared by ssh (master) and rsync's -e. */
struct ssh_target {
	const char *program;       /* ssh program; "ssh" when NULL */
	const char *user;          /* NULL: ssh's configuration decides (far_host_login) */
	const char *host;
	int port;                  /* 0: the same */
	/*
	 * The key, and the only identity offered; "" (or NULL): none of ours,
	 * ssh offers its own (the configuration's IdentityFile, the agent's,
	 * ~/.ssh/id_*), as `rsync -e ssh` does.
	 */
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
 * batch mode (never a prompt), the key only (when there is one), host key
 * checking with accept-new against known_hosts, keepalives, the control
 * socket, and the port and user where the target has them.
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
 * limit), or at the rate of the transfer's bucket (shaper.h; NULL: none).
 * Its stdin is piece_reader_input.
 */
void piece_reader_argv(const char *program, uint64_t offset, uint64_t len,
		       unsigned long kib_per_s, const char *bucket, struct strvec *argv);
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
 * it says dd's status and the digest of what arrived. sparse: blocks of
 * zeros are left as holes (rsync --sparse).
 */
void piece_writer_command(const char *suffix, uint64_t offset, uint64_t size, bool sparse,
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

/* Append the same command as one string for rsync's -e, each word quoted. */
void ssh_rsh_command(const struct ssh_target *t, struct strbuf *out);

/*
 * What rsync -a leaves out and a transfer may ask for (rsync's flags of
 * the same names): a set of these.
 */
enum rsync_preserve {
	RSYNC_HARD_LINKS = 1 << 0,    /* -H */
	RSYNC_ACLS = 1 << 1,          /* -A */
	RSYNC_XATTRS = 1 << 2,        /* -X */
	RSYNC_SPARSE = 1 << 3,        /* -S */
	RSYNC_NUMERIC_IDS = 1 << 4,   /* --numeric-ids */
	RSYNC_PRESERVE_ALL = (1 << 5) - 1,
};

/* Append rsync's flags for a set of rsync_preserve (-H -A -X -S --numeric-ids). */
void rsync_preserve_argv(unsigned preserve, struct strvec *argv);

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
	/* The transfer's own: what rsync -a leaves out (rsync_preserve), --chmod, --chown. */
	unsigned preserve;
	const char *user_chmod;   /* or NULL */
	const char *chown;        /* USER:GROUP, or NULL */
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
	/*
	 * NAME=VALUE (letters, digits, '_', '-', '=') in the environment of
	 * the remote rsync, or NULL: a tag its processes are found by there.
	 */
	const char *remote_env;
};

#define RSYNC_THEN_PREFIX "//then "   /* "//then N": how then_command ended */

/*
 * Marks a file name line (--out-format "//%i %n"); no path in a
 * --files-from list starts with it.
 */
#define RSYNC_NAME_PREFIX "//"

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

/* Append the complete rsync argv for job (program first). */
void rsync_job_argv(const struct rsync_job *job, struct strvec *argv);

/*
 * Append "host:path" for rsync -s, bracketing an IPv6 literal host and
 * escaping the wildcards the remote rsync would expand in path (which must
 * exist by the time rsync runs).
 */
void rsync_remote_spec(struct strbuf *out, const char *host, const char *path);

#endif
