/*
 * __read-piece: the local end of one piece of a large file (see rsync.h).
 *
 *   scow-sync __read-piece OFFSET LENGTH KIB_PER_S [BUCKET]  < PATH NUL HEADER
 *
 * Writes HEADER (where the far side is to put it, see rsync.h), then
 * bytes [OFFSET, OFFSET + LENGTH) of PATH, to stdout (a pipe into ssh), at
 * most KIB_PER_S KiB/s when that is not 0, or at the rate of the
 * transfer's BUCKET (shaper.h) that it shares with the rest, and tells the
 * supervisor on stderr how far it is ("N bytes", twice a second and at the
 * end), then the SHA-1 of what it sent ("//sha1 HEX"), which the far side
 * takes of what arrived. The path comes on stdin, not on the command line,
 * where any local user could read it. Internal: started by the
 * supervisor, not listed among the commands.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cmd.h"
#include "rsync.h"
#include "shaper.h"
#include "util.h"

#define READ_CHUNK (256 * 1024)
#define CHUNK_MIN 512          /* bytes: a block under the slowest rate limit */
#define INPUT_MAX (64 * 1024)   /* the path and the header: what a pipe holds */
#define REPORT_INTERVAL 0.5   /* seconds */

/* Say the digest of what was sent, in the far side's sha1sum's hex. */
static void
report_digest(EVP_MD_CTX *md)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char sum[EVP_MAX_MD_SIZE];
	char line[sizeof PIECE_DIGEST_PREFIX + 2 * EVP_MAX_MD_SIZE + 1];
	unsigned int n = 0, i;
	size_t len = strlen(PIECE_DIGEST_PREFIX);

	if (EVP_DigestFinal_ex(md, sum, &n) != 1 || 2 * n != PIECE_DIGEST_HEX)
		return;   /* no digest: the far side's cannot match, rsync checks */
	memcpy(line, PIECE_DIGEST_PREFIX, len);
	for (i = 0; i < n; i++) {
		line[len++] = hex[sum[i] >> 4];
		line[len++] = hex[sum[i] & 15];
	}
	line[len++] = '\n';
	(void)!write(STDERR_FILENO, line, len);
}

static void
report(uint64_t done)
{
	char line[32];
	int n = snprintf(line, sizeof line, "%llu bytes\n", (unsigned long long)done);

	(void)!write(STDERR_FILENO, line, (size_t)n);
}

/* Read all of stdin (at most INPUT_MAX bytes) into in. */
static int
read_input(struct strbuf *in)
{
	char chunk[4096];
	ssize_t n;

	for (;;) {
		n = read(STDIN_FILENO, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (in->len + (size_t)n > INPUT_MAX) {
			errno = E2BIG;
			return -1;
		}
		strbuf_add(in, chunk, (size_t)n);
	}
}

int
cmd_read_piece(int argc, char **argv)
{
	unsigned long long off, len, kib;
	uint64_t done = 0;
	size_t chunk = READ_CHUNK;
	double start, last_report = 0;
	EVP_MD_CTX *md = NULL;
	struct shaper *sh = NULL;
	struct strbuf in = STRBUF_INIT;
	const char *path, *nul;
	char *buf = NULL;
	int fd = -1, code = EXIT_FAILED;

	if ((argc != 5 && argc != 6) || parse_ullong(argv[2], 0, INT64_MAX, &off) < 0 ||
	    parse_ullong(argv[3], 0, INT64_MAX, &len) < 0 ||
	    parse_ullong(argv[4], 0, 1ULL << 40, &kib) < 0) {
		fprintf(stderr, "usage: scow-sync __read-piece OFFSET LENGTH KIB_PER_S [BUCKET] "
			"< PATH NUL HEADER\n");
		return EXIT_USAGE;
	}
	if (read_input(&in) < 0) {
		fprintf(stderr, "cannot read the piece's path: %s\n", strerror(errno));
		goto out;
	}
	if ((nul = memchr(in.buf, '\0', in.len)) == NULL || nul == in.buf) {
		fprintf(stderr, "usage: scow-sync __read-piece OFFSET LENGTH KIB_PER_S [BUCKET] "
			"< PATH NUL HEADER\n");
		code = EXIT_USAGE;
		goto out;
	}
	path = in.buf;
	if (argc == 6 && shaper_open(argv[5], &sh) < 0) {
		fprintf(stderr, "cannot open the transfer's rate '%s': %s\n", argv[5],
			strerror(errno));
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		fprintf(stderr, "cannot read '%s': %s\n", path, strerror(errno));
		goto out;
	}
	/* Where the far side puts it, ahead of the data. */
	if (write_all(STDOUT_FILENO, nul + 1, in.len - (size_t)(nul + 1 - in.buf)) < 0)
		goto out;
	buf = xmalloc(READ_CHUNK);
	if ((md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(md, EVP_sha1(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		md = NULL;   /* sent unchecked: rsync checks the file */
	}
	/*
	 * Under a rate limit, blocks of a quarter of a second's worth: a piece
	 * reports progress several times a second however slow its limit, and
	 * is never taken for one the far side stopped (io_timeout).
	 */
	if (kib && kib * 1024 / 4 < chunk)
		chunk = kib * 1024 / 4 > CHUNK_MIN ? kib * 1024 / 4 : CHUNK_MIN;
	if (sh)
		chunk = shaper_chunk(sh, READ_CHUNK);
	start = now_monotonic();
	while (done < len) {
		size_t want = len - done < chunk ? (size_t)(len - done) : chunk;
		ssize_t n = pread(fd, buf, want, (off_t)(off + done));
		double now;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "cannot read '%s': %s\n", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;   /* the file shrank: the rsync that follows sees it */
		if (md && EVP_DigestUpdate(md, buf, (size_t)n) != 1) {
			EVP_MD_CTX_free(md);
			md = NULL;
		}
		if (sh) {
			/* The transfer's rate, shared: wait for these bytes' turn. */
			double wait = shaper_take(sh, (size_t)n);

			if (wait > 0)
				poll(NULL, 0, (int)(wait * 1000) + 1);
		}
		if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
			goto out;   /* ssh went away: stopped */
		done += (uint64_t)n;
		now = now_monotonic();
		if (kib) {
			/* Ahead of the rate: sleep until the bytes sent are due. */
			double due = start + (double)done / ((double)kib * 1024.0);

			if (due > now)
				poll(NULL, 0, (int)((due - now) * 1000));
		}
		if (now - last_report >= REPORT_INTERVAL) {
			report(done);
			last_report = now;
		}
	}
	report(done);
	if (md)
		report_digest(md);
	code = EXIT_OK;
out:
	shaper_close(sh);
	EVP_MD_CTX_free(md);
	free(buf);
	if (fd >= 0)
		close(fd);
	strbuf_release(&in);
	return code;
}
