/* shaper: a token bucket in a shared file, one rate for a transfer's processes. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shaper.h"
#include "util.h"

#define SHAPER_MAGIC 0x73637762u   /* "scwb" */

/* The file's contents; every field read and written under flock. */
struct bucket {
	uint32_t magic;
	uint32_t pad;
	uint64_t rate;        /* bytes a second; 0: none */
	double tokens;        /* bytes; below 0: owed */
	double last;          /* CLOCK_MONOTONIC seconds of the last refill */
};

struct shaper {
	int fd;
	struct bucket *b;
};

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
shaper_create(const char *path, uint64_t rate)
{
	struct bucket b;
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	int rc = SYNC_OK;

	if (fd < 0)
		return SYNC_ERR_SYSTEM;
	memset(&b, 0, sizeof b);
	b.magic = SHAPER_MAGIC;
	b.rate = rate;
	b.last = mono_now();
	if (flock(fd, LOCK_EX) < 0 || ftruncate(fd, (off_t)sizeof b) < 0 ||
	    pwrite(fd, &b, sizeof b, 0) != (ssize_t)sizeof b)
		rc = SYNC_ERR_SYSTEM;
	close(fd);
	return rc;
}

int
shaper_open(const char *path, struct shaper **out)
{
	struct shaper *sh;
	struct stat sb;
	void *map;
	int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);

	*out = NULL;
	if (fd < 0)
		return SYNC_ERR_SYSTEM;
	if (fstat(fd, &sb) < 0 || (size_t)sb.st_size < sizeof(struct bucket)) {
		close(fd);
		errno = EINVAL;
		return SYNC_ERR_SYSTEM;
	}
	map = mmap(NULL, sizeof(struct bucket), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		close(fd);
		return SYNC_ERR_SYSTEM;
	}
	if (((struct bucket *)map)->magic != SHAPER_MAGIC) {
		munmap(map, sizeof(struct bucket));
		close(fd);
		errno = EINVAL;
		return SYNC_ERR_SYSTEM;
	}
	sh = xcalloc(1, sizeof *sh);
	sh->fd = fd;
	sh->b = map;
	*out = sh;
	return SYNC_OK;
}

void
shaper_close(struct shaper *sh)
{
	if (sh == NULL)
		return;
	munmap(sh->b, sizeof *sh->b);
	close(sh->fd);
	free(sh);
}

static void
lock(struct shaper *sh)
{
	while (flock(sh->fd, LOCK_EX) < 0 && errno == EINTR)
		;
}

static void
unlock(struct shaper *sh)
{
	flock(sh->fd, LOCK_UN);
}

uint64_t
shaper_rate(struct shaper *sh)
{
	uint64_t rate;

	lock(sh);
	rate = sh->b->rate;
	unlock(sh);
	return rate;
}

void
shaper_set_rate(struct shaper *sh, uint64_t rate)
{
	lock(sh);
	sh->b->rate = rate;
	/* What was owed at the old rate is not owed at the new one. */
	if (sh->b->tokens < 0)
		sh->b->tokens = 0;
	sh->b->last = mono_now();
	unlock(sh);
}

double
shaper_take(struct shaper *sh, size_t n)
{
	struct bucket *b = sh->b;
	double now = mono_now(), wait = 0;

	lock(sh);
	if (b->rate > 0) {
		double cap = (double)b->rate * SHAPER_BURST_S;

		if (now > b->last)
			b->tokens += (now - b->last) * (double)b->rate;
		b->last = now;
		if (b->tokens > cap)
			b->tokens = cap;
		b->tokens -= (double)n;
		if (b->tokens < 0)
			wait = -b->tokens / (double)b->rate;
	}
	unlock(sh);
	return wait;
}

size_t
shaper_chunk(struct shaper *sh, size_t max)
{
	uint64_t rate = shaper_rate(sh);
	size_t chunk = rate == 0 ? max : (size_t)(rate / 10);

	if (chunk < 512)
		chunk = 512;
	return chunk < max ? chunk : max;
}
