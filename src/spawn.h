/*
 * spawn: start child processes from an argv, never through a shell.
 *
 * Between fork and exec the child only resets signals, moves descriptors
 * into place and execs; a failed exec is reported to the parent through a
 * close-on-exec pipe, so spawn() fails with the child's errno instead of
 * returning a pid that exits 127.
 */
#ifndef SCOW_SYNC_SPAWN_H
#define SCOW_SYNC_SPAWN_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "util.h"

struct spawn {
	/* in */
	const char *const *argv;    /* argv[0] is looked up in PATH */
	const char *const *env_set; /* "NAME=value" added to the environment */
	bool pipe_stdin;            /* else /dev/null */
	bool pipe_stdout;           /* else /dev/null */
	bool pipe_stderr;           /* else /dev/null */
	int stdin_fd;               /* when > 2: the child's stdin (pipe_stdin unset) */
	int stdout_fd;              /* when > 2: the child's stdout (pipe_stdout unset) */
	bool new_pgroup;            /* child leads its own process group */
	pid_t join_pgroup;          /* when > 0: join this process group instead */
	bool die_with_parent;       /* SIGTERM the child if we die (Linux) */
	int death_signal;           /* ... or this signal, when not 0 */
	const char *cwd;            /* when set: the child's working directory */
	/* out */
	pid_t pid;
	int in_fd;                  /* write end of stdin, or -1 */
	int out_fd;                 /* read end of stdout, or -1 */
	int err_fd;                 /* read end of stderr, or -1 */
};

/* Find prog in PATH the way execvp would; caller frees. NULL with errno set. */
char *spawn_resolve(const char *prog);

/* Start the child. 0, or SYNC_ERR_SYSTEM with errno from fork or exec. */
int spawn_start(struct spawn *sp);

/* Close whatever pipe ends are still open in sp. */
void spawn_close_fds(struct spawn *sp);

/*
 * Run argv to its end with stdin and stdout on /dev/null, keeping up to
 * 4 KiB of its stderr in err_out. *status as from waitpid.
 */
int spawn_run(const char *const *argv, int *status, struct strbuf *err_out);

/*
 * The same, keeping up to 4 KiB of its stdout in out too (stdin on
 * /dev/null); out or err_out may be NULL.
 */
int spawn_capture(const char *const *argv, int *status, struct strbuf *out,
		  struct strbuf *err_out);

/*
 * Bounds for spawn_capture_limited. The child leads its own process
 * group; at the deadline, or as soon as *stop is set, the group gets
 * SIGTERM and, if still there after SPAWN_KILL_GRACE_MS, SIGKILL.
 */
struct spawn_limits {
	int timeout_ms;                     /* > 0: the deadline, from the start */
	int idle_ms;                        /* > 0 (timeout_ms 0): from its last output */
	const volatile sig_atomic_t *stop;  /* when set non-zero: end the child now */
	bool die_with_parent;               /* SIGTERM the child if we die (Linux) */
	size_t out_max;                     /* bytes of stdout kept; 0: SPAWN_CAPTURE_MAX */
	/*
	 * When the child ends, SIGKILL what is left of its process group
	 * (what it started and left behind) before it is reaped. A program
	 * whose helpers must outlive it puts them in a group of their own.
	 */
	bool end_group;
};

#define SPAWN_KILL_GRACE_MS 2000
#define SPAWN_CAPTURE_MAX 4096   /* bytes of each output kept, unless out_max says more */

/*
 * spawn_capture with input (when not NULL) on the child's stdin, from a
 * file in memory (what it is given to read is on no command line), and
 * within lim (NULL: none). SYNC_ERR_TIMEOUT when the child was ended at
 * the deadline or on *stop (the caller knows its flag), with *status as it
 * ended.
 */
int spawn_capture_limited(const char *const *argv, const struct strbuf *input, int *status,
			  struct strbuf *out, struct strbuf *err_out,
			  const struct spawn_limits *lim);

/* Wait for pid, retrying on EINTR; *status as from waitpid. */
int spawn_wait(pid_t pid, int *status);

/*
 * Wait up to seconds for pid to end (its status in *status, -1 unknown);
 * false when it did not.
 */
bool spawn_wait_for(pid_t pid, double seconds, int *status);

/*
 * End a child of ours and reap it: grace seconds to end by itself, then
 * SIGTERM, then SIGKILL after 2 s. *pid becomes -1.
 */
void spawn_end(pid_t *pid, double grace);

/* Describe a wait status: "exited 3", "killed by signal 9" (borrowed). */
const char *spawn_status_text(int status);

#endif
