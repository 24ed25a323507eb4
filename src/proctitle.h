/*
 * proctitle: what the process table shows of a long-lived process.
 *
 * /proc/PID/cmdline (and so ps and pgrep -f) shows the memory that held
 * the program's arguments, to every local user. A supervisor lives as
 * long as its transfer, and its arguments name the source, the
 * destination, the host, the user and the key: it writes a neutral title
 * over them instead (OpenSSH's setproctitle does the same).
 *
 * Call proctitle_init() first thing in main, before anything keeps a
 * pointer into argv: it moves the arguments to the heap and points argv
 * at the copies, so that the original area is free to write over.
 */
#ifndef SCOW_SYNC_PROCTITLE_H
#define SCOW_SYNC_PROCTITLE_H

/* Move argv's strings to the heap, keeping the original area for titles. */
void proctitle_init(int argc, char **argv);

/*
 * Write the title over the original arguments (cut to their length) and
 * clear the rest of them. Does nothing before proctitle_init().
 */
void proctitle_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
