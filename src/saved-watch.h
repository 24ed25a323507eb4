/*
 * saved-watch: watches saved by name (scow-sync watch --save NAME ...), for
 * the systemd user unit scow-sync-watch@NAME.service to start with
 * `scow-sync watch --saved NAME`.
 *
 * A saved watch is its arguments, each ended by a NUL byte (any bytes a
 * path may hold), in DIR/watches/NAME, where DIR holds the user's settings
 * file (~/.config/scow-sync): 0600, in a 0700 directory, written whole or
 * not at all.
 */
#ifndef SCOW_SYNC_SAVED_WATCH_H
#define SCOW_SYNC_SAVED_WATCH_H

#include <stddef.h>

#include "util.h"

struct settings;

/*
 * The file of watch name (letters, digits, '.', '_', '-'; not beginning
 * with '.' or '-'; at most 64 bytes); NULL with a one-line reason in err
 * when the name is not one. Caller frees.
 */
char *saved_watch_path(const struct settings *st, const char *name, char *err, size_t errlen);
/* Save the n arguments args as the watch at path. 0, or -1 with a reason in err. */
int saved_watch_write(const char *path, char *const *args, size_t n, char *err, size_t errlen);
/* Append the arguments of the watch at path to out. 0, or -1 with a reason in err. */
int saved_watch_read(const char *path, struct strvec *out, char *err, size_t errlen);

#endif
