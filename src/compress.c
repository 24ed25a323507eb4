/* compress: whether compressing a batch on the wire pays (see compress.h). */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compress.h"
#include "util.h"

#define SAMPLE_FILES 8            /* files sampled at most */
#define SAMPLE_BYTES 16384        /* ... the first bytes of each */
#define SAMPLE_VISITS 64          /* directory entries looked at, at most */
#define SAMPLE_DEPTH 4            /* directory levels descended below a path */
/*
 * Under 7 bits per byte, even the fastest compressors (rsync's zstd and
 * lz4) save an eighth of the wire or more; above, they mostly burn CPU.
 */
#define WORTH_BITS 7.0

/*
 * rsync 3.2's default --skip-compress list, and the compressed formats of
 * research data (HDF5 and NetCDF-4 are usually stored compressed, BAM and
 * CRAM always).
 */
const char compress_skip_list[] =
	"3g2/3gp/7z/aac/ace/apk/avi/bz2/deb/dmg/ear/f4v/flac/flv/gpg/gz/iso/jar/"
	"jpeg/jpg/lrz/lz/lz4/lzma/lzo/m1a/m1v/m2a/m2ts/m2v/m4a/m4b/m4p/m4r/m4v/"
	"mka/mkv/mov/mp1/mp2/mp3/mp4/mpa/mpeg/mpg/mpv/mts/odb/odf/odg/odi/odm/"
	"odp/ods/odt/oga/ogg/ogm/ogv/ogx/opus/otg/oth/otp/ots/ott/oxt/png/qt/"
	"rar/rpm/rz/rzip/spx/squashfs/sxc/sxd/sxg/sxm/sxw/sz/tbz/tbz2/tgz/tlz/"
	"ts/txz/tzo/vob/war/webm/webp/xz/z/zip/zst/"
	"avif/bam/bgz/cram/h5/hdf5/heic/jxl/nc/nc4/npz/parquet/sif/xlsx/docx/pptx";

bool
compress_suffix_skipped(const char *name)
{
	const char *dot = strrchr(name, '.'), *p = compress_skip_list, *slash;
	size_t len;

	if (dot == NULL || dot[1] == '\0' || strchr(dot, '/'))
		return false;
	dot++;
	len = strlen(dot);
	while (*p) {
		slash = strchr(p, '/');
		if (slash == NULL)
			slash = p + strlen(p);
		if ((size_t)(slash - p) == len && strncasecmp(p, dot, len) == 0)
			return true;
		p = *slash ? slash + 1 : slash;
	}
	return false;
}

/* The entropy of len bytes with these byte counts, in bits per byte. */
static double
entropy_of_counts(const size_t counts[256], size_t len)
{
	double bits = 0;
	size_t i;

	for (i = 0; i < 256 && len > 0; i++) {
		double p = (double)counts[i] / (double)len;

		if (counts[i])
			bits -= p * log2(p);
	}
	return bits;
}

double
compress_entropy(const unsigned char *buf, size_t len)
{
	size_t counts[256] = { 0 }, i;

	for (i = 0; i < len; i++)
		counts[buf[i]]++;
	return entropy_of_counts(counts, len);
}

/*
 * One histogram over every byte sampled: the entropy of a few bytes alone
 * cannot reach 8 bits (n bytes have at most log2(n)), so small files of
 * random data, measured one by one, would look compressible.
 */
struct sample {
	size_t counts[256];
	size_t bytes;                 /* read into counts */
	size_t packed;                /* of files named as compressed: 8 bits each */
	int files, visits;
};

static void
sample_file(struct sample *sm, const char *path, const struct stat *sb)
{
	unsigned char buf[SAMPLE_BYTES];
	size_t got = 0;
	ssize_t n;
	int fd;

	if (sb->st_size == 0)
		return;
	sm->files++;
	/* Compressed already: it would only cost CPU. */
	if (compress_suffix_skipped(path)) {
		sm->packed += sb->st_size < SAMPLE_BYTES ? (size_t)sb->st_size : SAMPLE_BYTES;
		return;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	while (got < sizeof buf && (n = read(fd, buf + got, sizeof buf - got)) > 0)
		got += (size_t)n;
	close(fd);
	for (n = 0; n < (ssize_t)got; n++)
		sm->counts[buf[n]]++;
	sm->bytes += got;
}

/* Sample the file at path, or files below the directory at path. */
static void
sample_path(struct sample *sm, struct strbuf *path, int depth)
{
	struct dirent *de;
	struct stat sb;
	size_t len;
	DIR *d;

	if (sm->files >= SAMPLE_FILES || sm->visits++ >= SAMPLE_VISITS ||
	    lstat(path->buf, &sb) < 0)
		return;
	if (S_ISREG(sb.st_mode)) {
		sample_file(sm, path->buf, &sb);
		return;
	}
	if (!S_ISDIR(sb.st_mode) || depth >= SAMPLE_DEPTH || (d = opendir(path->buf)) == NULL)
		return;
	len = path->len;
	while (sm->files < SAMPLE_FILES && sm->visits < SAMPLE_VISITS && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		strbuf_addch(path, '/');
		strbuf_addstr(path, de->d_name);
		sample_path(sm, path, depth + 1);
		strbuf_setlen(path, len);
	}
	closedir(d);
}

bool
compress_worth(const char *root, const char *const *paths, size_t n)
{
	struct strbuf path = STRBUF_INIT;
	struct sample sm;
	double bits;
	size_t i;

	memset(&sm, 0, sizeof sm);
	for (i = 0; i < n && sm.files < SAMPLE_FILES && sm.visits < SAMPLE_VISITS; i++) {
		strbuf_reset(&path);
		strbuf_addstr(&path, root);
		strbuf_addch(&path, '/');
		strbuf_addstr(&path, paths[i]);
		sample_path(&sm, &path, 0);
	}
	strbuf_release(&path);
	if (sm.bytes + sm.packed == 0)
		return false;
	bits = (entropy_of_counts(sm.counts, sm.bytes) * (double)sm.bytes +
		8.0 * (double)sm.packed) /
	       (double)(sm.bytes + sm.packed);
	return bits < WORTH_BITS;
}
