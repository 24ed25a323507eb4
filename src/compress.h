/*
 * compress: whether compressing a batch on the wire pays.
 *
 * Compression costs CPU on both ends and saves wire time only where the
 * link, not the CPU, is the limit, and only on data that compresses. The
 * supervisor asks only for links that are not near; this module looks at
 * the data: a bounded sample of the batch's files, never the whole of it.
 */
#ifndef SCOW_SYNC_COMPRESS_H
#define SCOW_SYNC_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Suffixes of formats that are compressed already, separated by '/' (the
 * list of rsync's --skip-compress, which rsync's zstd and lz4 no longer
 * act on, and the compressed formats of research data).
 */
extern const char compress_skip_list[];

/* True when name ends in one of compress_skip_list's suffixes (any case). */
bool compress_suffix_skipped(const char *name);

/*
 * Estimate whether the data under root/paths[0..n) compresses well enough
 * to be worth it: up to a few regular files (descending a little into
 * directories), the first kilobytes of each, by their byte entropy. Files
 * whose names say they are compressed count as not compressible; nothing
 * readable found means no.
 */
bool compress_worth(const char *root, const char *const *paths, size_t n);

/* The order-0 entropy of buf, in bits per byte (0 to 8). */
double compress_entropy(const unsigned char *buf, size_t len);

#endif
