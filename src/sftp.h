/*
 * sftp: a small SFTP (version 3) client speaking through OpenSSH.
 *
 * Control work on the far side that must see names byte for byte and must
 * not follow symbolic links (removing the partial files of a stopped
 * transfer) goes to the far side's sftp-server, never through a remote
 * shell. The connection is `ssh -s HOST sftp`, sharing the transfer's
 * master connection when it has one, so OpenSSH does the login with any
 * key it accepts (libssh2 before 1.11 cannot sign with RSA SHA-2, which
 * OpenSSH 8.8 and later require).
 *
 * Requests are answered in order, one at a time, each within a time limit,
 * so a far side that stops answering cannot hang the caller. Relative paths
 * are relative to the remote user's home directory, as for rsync.
 * Errors: SYNC_ERR_NOT_FOUND (no such file), SYNC_ERR_REMOTE (the server
 * refused; sftp_errmsg says why), SYNC_ERR_CONNECT (no session).
 */
#ifndef SCOW_SYNC_SFTP_H
#define SCOW_SYNC_SFTP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "rsync.h"

struct sftp_attrs {
	bool have_size, have_perm, have_mtime;
	uint64_t size;
	uint32_t perm;        /* st_mode bits, type included */
	int64_t mtime;        /* seconds since the epoch, the far side's clock */
};

struct sftp;

/* Start a session to t's host; err gets a one-line reason on failure. */
int sftp_open(const struct ssh_target *t, int timeout_ms, struct sftp **out, char *err,
	      size_t errlen);
/*
 * sftp_open() without waiting for the server: the far side makes the
 * session ready (through the user's shell, when sftp-server runs through
 * one) while the caller does other work. The first request, or
 * sftp_ready(), waits for it.
 */
int sftp_begin(const struct ssh_target *t, int timeout_ms, struct sftp **out, char *err,
	       size_t errlen);
/* Wait until the server of a session from sftp_begin() has answered. */
int sftp_ready(struct sftp *s);
/*
 * Start a session over a connection the caller made: SFTP requests go to
 * to_fd and answers come from from_fd; err_fd (or -1) says why the
 * connection ended, pid (or -1) is the process to reap on close. The
 * descriptors belong to the session from then on, on failure too.
 * sftp_open() is this over ssh; the fuzz tests feed it from a file.
 */
int sftp_open_fds(int to_fd, int from_fd, int err_fd, pid_t pid, int timeout_ms,
		  struct sftp **out, char *err, size_t errlen);
void sftp_close(struct sftp *s);
/*
 * From now on, fail every request (SYNC_ERR_TIMEOUT) that is not answered
 * within seconds in all, whatever each answer's own time limit; 0: no
 * such limit. A session that failed so is out of step: close it.
 */
void sftp_set_deadline(struct sftp *s, int seconds);
/* Why the last request failed (borrowed). */
const char *sftp_errmsg(struct sftp *s);

/* Attributes of path itself (a symbolic link is not followed). */
int sftp_lstat(struct sftp *s, const char *path, struct sftp_attrs *out);
int sftp_remove(struct sftp *s, const char *path);
int sftp_rmdir(struct sftp *s, const char *path);
/* Make directory path with mode; an existing one is SYNC_ERR_REMOTE. */
int sftp_mkdir(struct sftp *s, const char *path, uint32_t mode);
typedef int (*sftp_name_fn)(const char *name, const struct sftp_attrs *a, void *ctx);
/* Entries sftp_list takes from one directory at most. */
#define SFTP_LIST_MAX 1000000
/*
 * Call fn for each entry of directory path (without "." and ".."); a
 * non-zero return stops. fn must not make requests on s. A directory of
 * more than SFTP_LIST_MAX entries (or a server that never ends its list)
 * is SYNC_ERR_REMOTE.
 */
int sftp_list(struct sftp *s, const char *path, sftp_name_fn fn, void *ctx);

#endif
