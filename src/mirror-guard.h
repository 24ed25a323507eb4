/*
 * mirror-guard: may a mirror's deletes go? The guards the supervisor
 * applies before its first deletion (sup-delete.c), and --dry-run to what
 * it would delete (cmd-dry-run.c), so that a dry run says what the
 * transfer would do: a source that is empty while the far side has
 * something it lacks (an unmounted file system looks like that) deletes
 * nothing unless --delete-all-ok, and more deletions than --max-delete
 * (or the max_delete setting) delete nothing. Pure, but for
 * mirror_source_empty, which reads a directory.
 */
#ifndef SCOW_SYNC_MIRROR_GUARD_H
#define SCOW_SYNC_MIRROR_GUARD_H

#include <stdbool.h>

#include "util.h"

enum mirror_verdict { MIRROR_GO, MIRROR_STOP_EMPTY, MIRROR_STOP_LIMIT };

/*
 * Judge n deletions: source_empty, the source directory has no entry;
 * delete_all_ok, --delete-all-ok was given; max, the limit (-1: none).
 * The empty source is judged first.
 */
enum mirror_verdict mirror_guard(unsigned long long n, bool source_empty, bool delete_all_ok,
				 long long max);

/* Append the one-line reason why verdict (not MIRROR_GO) stops n deletions, of limit max. */
void mirror_stop_reason(struct strbuf *out, enum mirror_verdict verdict, unsigned long long n,
			long long max);

/* Is the directory at path without a single entry (or unreadable: as good as empty)? */
bool mirror_source_empty(const char *path);

#endif
