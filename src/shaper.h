/*
 * shaper: one rate for a whole transfer, shared by all of its processes.
 *
 * A token bucket in a small file of the supervisor's private directory,
 * mapped by every process that sends for the transfer (each rsync's ssh
 * through __shape, each piece's reader): before moving n bytes a process
 * takes n tokens and sleeps as long as the bucket is in debt. So the
 * workers share the rate, however many run, and a new rate written into
 * the file (scow-sync limit) holds for all of them at once. Rate 0: no
 * limit, nothing waits.
 *
 * The bucket holds at most SHAPER_BURST_S seconds of tokens: a process
 * that was idle does not send a burst above the rate when it resumes.
 */
#ifndef SCOW_SYNC_SHAPER_H
#define SCOW_SYNC_SHAPER_H

#include <stddef.h>
#include <stdint.h>

#define SHAPER_FILE "bw"          /* its name in the supervisor's private directory */
#define SHAPER_BURST_S 0.05

struct shaper;

/*
 * Create (or reset) the bucket at path with rate bytes a second; 0 or a
 * negative error code (errno set).
 */
int shaper_create(const char *path, uint64_t rate);
/* Map the bucket at path: *out (shaper_close frees), or an error code (errno set). */
int shaper_open(const char *path, struct shaper **out);
void shaper_close(struct shaper *sh);
/* The rate now, bytes a second (0: none). */
uint64_t shaper_rate(struct shaper *sh);
/* Set the rate, for every process that shares the bucket from now on. */
void shaper_set_rate(struct shaper *sh, uint64_t rate);
/*
 * Take n bytes' tokens: how many seconds to wait before sending them (0
 * when the bucket has them, or there is no limit).
 */
double shaper_take(struct shaper *sh, size_t n);
/* A good size for one take at the rate now: about a tenth of a second's worth. */
size_t shaper_chunk(struct shaper *sh, size_t max);

#endif
