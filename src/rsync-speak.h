/*
 * rsync-speak: what the object-store helpers (scow-sync __s3-put and
 * __s3-get) print, so that the supervisor reads them as it reads rsync
 * (rsync-parse.h, sup-worker.c): "//ITEMIZE NAME" before a file moves,
 * progress records on "\r" ending with "(xfr#N, to-chk=R/T)", and on
 * stderr rsync's lines for a file not moved ("file has vanished",
 * "send_files failed to open"). Names are escaped as rsync escapes them.
 */
#ifndef SCOW_SYNC_RSYNC_SPEAK_H
#define SCOW_SYNC_RSYNC_SPEAK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

/* A helper's exit codes, as rsync's mean them to the verdict. */
#define SPEAK_EXIT_SOME_FAILED 23     /* some files not moved */
#define SPEAK_EXIT_VANISHED 24        /* some files vanished */
#define SPEAK_EXIT_FATAL 5            /* the store refused: every file would fail the same way */
#define SPEAK_EXIT_RETRY 10           /* the store could not be reached, or may pass later */

/* The current file's progress, for its records. */
struct speak_file {
	uint64_t size;
	double started;
	uint64_t xfr;                 /* files moved so far, this one included once done */
};

/* Print name as rsync escapes it: unprintable bytes and '\' as \#ooo. */
void speak_escaped(FILE *f, const char *name);
/* Print a reason (a store's message among them) on one line: control bytes as '?'. */
void speak_text(FILE *f, const char *text);
/* "//ITEMIZE NAME" on stdout, a directory's name with a '/'. */
void speak_name(const char *itemized, const char *rel, bool dir);
/* A progress record of the current file: done bytes of it (final: its last). */
void speak_progress(const struct speak_file *cur, uint64_t done, bool final);
/*
 * A file not moved, as rsync says it (err ENOENT: it vanished). Returns
 * whether it was said as vanished.
 */
bool speak_problem(const char *rel, const char *cause, int err);
/* The same, for a file not read (written false) or not written where it goes. */
bool speak_problem_as(bool written, const char *rel, const char *cause, int err);
/* Read a batch's list, NUL-separated, from fd into sv: 0, or -1 (errno). */
int speak_read_list(int fd, struct strvec *sv);
/* "scow-sync: 'NAME': REASON" on stderr: a failure that is not the file's own. */
void speak_failure(const char *rel, const char *reason);

#endif
