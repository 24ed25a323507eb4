/*
 * local-dir: directories below a root opened, and made where missing, one
 * element at a time and never through a symbolic link (O_NOFOLLOW), so
 * that a path taken from elsewhere (an object store's keys) cannot lead a
 * write outside the root, whatever links stand below it. The root itself
 * is the caller's choice, and may be a link.
 */
#ifndef SCOW_SYNC_LOCAL_DIR_H
#define SCOW_SYNC_LOCAL_DIR_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * Open root/rel (rel: elements separated by '/', none empty, "." or "..";
 * "" for root itself) as a directory, making the missing elements with
 * mode (less the umask) when make. Its descriptor, or -1 with errno:
 * ELOOP where a symbolic link stands in the way, ENOTDIR where a file
 * does, EINVAL for an element rel may not hold.
 */
int local_dir_open(const char *root, const char *rel, bool make, mode_t mode);

#endif
