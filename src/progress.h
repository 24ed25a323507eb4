/* progress: the foreground's progress line on a terminal. */
#ifndef SCOW_SYNC_PROGRESS_H
#define SCOW_SYNC_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

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
