/*
 * s3-download: an object to a file through a temporary file beside it,
 * whole or in parallel ranges, checked before it takes the name.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "s3-download.h"

#define S3_READ_CHUNK (1u << 20)
#define S3_TEMP_TRIES 100

void
s3_download_result_release(struct s3_download_result *r)
{
	free(r->reason);
	free(r->code);
	free(r->temp_name);
	r->reason = r->code = r->temp_name = NULL;
}

void
s3_object_info_release(struct s3_object_info *info)
{
	free(info->etag);
	info->etag = NULL;
}

int
s3_mtime_parse(const char *text, struct timespec *out)
{
	const char *dot = strchr(text, '.');
	unsigned long long sec, nsec = 0;
	struct strbuf whole = STRBUF_INIT;
	size_t digits;
	int rc;

	strbuf_add(&whole, text, dot ? (size_t)(dot - text) : strlen(text));
	rc = parse_ullong(whole.buf, 0, (unsigned long long)INT64_MAX, &sec);
	strbuf_release(&whole);
	if (rc < 0)
		return SYNC_ERR_INVALID;
	if (dot) {
		/* One to nine digits of the second: ".5" is half of it. */
		digits = strlen(dot + 1);
		if (digits == 0 || digits > 9 || strspn(dot + 1, "0123456789") != digits ||
		    parse_ullong(dot + 1, 0, 999999999, &nsec) < 0)
			return SYNC_ERR_INVALID;
		for (; digits < 9; digits++)
			nsec *= 10;
	}
	out->tv_sec = (time_t)sec;
	out->tv_nsec = (long)nsec;
	return 0;
}

int
s3_mode_parse(const char *text, mode_t *out)
{
	unsigned long v = 0;
	size_t k, n = strlen(text);

	/* A whole st_mode ("0100644") too: its type bits go. */
	if (n == 0 || n > 7 || strspn(text, "01234567") != n)
		return SYNC_ERR_INVALID;
	for (k = 0; k < n; k++)
		v = v * 8 + (unsigned long)(text[k] - '0');
	*out = (mode_t)(v & 07777);
	return 0;
}

void
s3_temp_prefix(const char *name, struct strbuf *out)
{
	size_t room = NAME_MAX - 1 - strlen(S3_TEMP_MARK) - S3_TEMP_RANDOM;
	size_t n = text_cut(name, strlen(name), room);

	strbuf_addch(out, '.');
	strbuf_add(out, name, n);
	strbuf_addstr(out, S3_TEMP_MARK);
}

/* The ETag without its quotes and blanks: where it starts, and *len. */
static const char *
s3_etag_bare(const char *etag, size_t *len)
{
	size_t n;

	etag += strspn(etag, " \t");
	n = strlen(etag);
	while (n > 0 && strchr(" \t", etag[n - 1]))
		n--;
	if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"') {
		etag++;
		n -= 2;
	}
	*len = n;
	return etag;
}

bool
s3_etag_is_md5(const char *etag)
{
	size_t n;
	const char *e = s3_etag_bare(etag, &n);
	size_t k;

	if (n != 32)
		return false;
	for (k = 0; k < n; k++)
		if (strchr("0123456789abcdefABCDEF", e[k]) == NULL)
			return false;
	return true;
}

int
s3_object_info_read(const struct s3_call *c, struct s3_object_info *info)
{
	const char *len = s3_call_header(c, "content-length");
	const char *mtime = s3_call_header(c, "x-amz-meta-mtime");
	const char *mode = s3_call_header(c, "x-amz-meta-mode");
	const char *modified = s3_call_header(c, "last-modified");
	unsigned long long size;
	int64_t when;

	memset(info, 0, sizeof *info);
	if (len == NULL || parse_ullong(len, 0, (unsigned long long)INT64_MAX, &size) < 0)
		return SYNC_ERR_INVALID;
	info->size = size;
	info->etag = c->etag.len ? xstrdup(c->etag.buf) : NULL;
	if (mtime && s3_mtime_parse(mtime, &info->mtime) == 0) {
		info->has_mtime = info->mtime_exact = true;
	} else if (modified && s3_http_date(modified, &when) == 0) {
		info->mtime.tv_sec = (time_t)when;
		info->has_mtime = true;
	}
	if (mode && s3_mode_parse(mode, &info->mode) == 0)
		info->has_mode = true;
	return 0;
}

bool
s3_download_same(const struct stat *sb, const struct s3_object_info *info)
{
	if (!S_ISREG(sb->st_mode) || !info->has_mtime || (uint64_t)sb->st_size != info->size)
		return false;
	if (sb->st_mtim.tv_sec != info->mtime.tv_sec)
		return false;
	return !info->mtime_exact || sb->st_mtim.tv_nsec == info->mtime.tv_nsec;
}

/* The call failed: r says why, as FAILED, or CHANGED for a failed If-Match, or LOCAL_ERROR. */
static void
s3_failed(struct s3_download_result *r, const struct s3_call *c, const char *what)
{
	free(r->reason);
	free(r->code);
	r->reason = r->code = NULL;
	if (c->reply_unwritten) {
		r->outcome = S3_DOWNLOAD_LOCAL_ERROR;
		r->local_errno = c->reply_errno;
		r->reason = xstrdup(s3_call_reason(c));
		return;
	}
	if (c->status == 412) {
		r->outcome = S3_DOWNLOAD_CHANGED;
		r->retryable = true;
		r->reason = xstrdup("the object changed while it was read: try again");
		return;
	}
	r->outcome = S3_DOWNLOAD_FAILED;
	r->retryable = c->retryable;
	r->status = c->status;
	r->reason = xasprintf("%s: %s", what, s3_call_reason(c));
	r->code = c->code ? xstrdup(c->code) : NULL;
}

/* r says what, as outcome (FAILED ones may pass when tried again). */
static void
s3_set(struct s3_download_result *r, enum s3_download_outcome outcome, int err, const char *what)
{
	free(r->reason);
	r->outcome = outcome;
	r->retryable = outcome == S3_DOWNLOAD_FAILED || outcome == S3_DOWNLOAD_CHANGED;
	r->local_errno = err;
	r->reason = err ? xasprintf("%s: %s", what, strerror(err)) : xstrdup(what);
}

/* HEAD the object into info. 0, or below 0 with r saying why. */
static int
s3_head(struct s3_client *cl, const char *key, struct s3_object_info *info,
	struct s3_download_result *r)
{
	struct s3_call c;
	int rc = 0;

	s3_call_init(&c, "HEAD", key);
	if (s3_run(cl, &c, 1, 1) < 0) {
		s3_failed(r, &c, "HEAD");
		rc = -1;
	} else if (s3_object_info_read(&c, info) < 0) {
		s3_set(r, S3_DOWNLOAD_FAILED, 0, "HEAD: the answer has no Content-Length");
		rc = -1;
	} else if (info->etag == NULL) {
		/* Without one, If-Match cannot keep two versions out of one file. */
		s3_set(r, S3_DOWNLOAD_FAILED, 0, "HEAD: the answer has no ETag");
		rc = -1;
	}
	s3_call_release(&c);
	return rc;
}

/* Create the temporary file for name in dirfd, 0600, its name in *temp (caller frees). */
static int
s3_temp_create(int dirfd, const char *name, char **temp, struct s3_download_result *r)
{
	static const char chars[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	struct strbuf t = STRBUF_INIT;
	unsigned char rnd[S3_TEMP_RANDOM];
	int tries, fd = -1, k;

	for (tries = 0; tries < S3_TEMP_TRIES; tries++) {
		if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
			s3_set(r, S3_DOWNLOAD_LOCAL_ERROR, errno, "cannot make a random name");
			break;
		}
		strbuf_reset(&t);
		s3_temp_prefix(name, &t);
		for (k = 0; k < S3_TEMP_RANDOM; k++)
			strbuf_addch(&t, chars[rnd[k] % (sizeof chars - 1)]);
		fd = openat(dirfd, t.buf, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0) {
			*temp = strbuf_detach(&t, NULL);
			return fd;
		}
		if (errno != EEXIST) {
			s3_set(r, S3_DOWNLOAD_LOCAL_ERROR, errno, "cannot create a file here");
			break;
		}
	}
	if (tries == S3_TEMP_TRIES)
		s3_set(r, S3_DOWNLOAD_LOCAL_ERROR, EEXIST, "cannot create a file here");
	strbuf_release(&t);
	return -1;
}

struct s3_download_progress {
	const struct s3_download_opts *o;
	uint64_t base;
};

static void
s3_download_progress(uint64_t received, void *ctx)
{
	struct s3_download_progress *dp = ctx;

	dp->o->progress(dp->base + received, dp->o->ctx);
}

/* The GET c of len bytes at offset came whole, from the object the HEAD saw? */
static bool
s3_got_all(const struct s3_call *c, const struct s3_object_info *info, bool ranged,
	   uint64_t offset, uint64_t len, struct s3_download_result *r)
{
	size_t a, b;
	const char *ea = s3_etag_bare(c->etag.buf, &a), *eb = s3_etag_bare(info->etag, &b);

	/* A server that does not honour If-Match still names what it sent. */
	if (c->etag.len && (a != b || strncmp(ea, eb, a) != 0)) {
		s3_set(r, S3_DOWNLOAD_CHANGED, 0,
		       "the object changed while it was read: try again");
		return false;
	}
	if (ranged) {
		const char *cr = s3_call_header(c, "content-range");
		char want[64];

		snprintf(want, sizeof want, "bytes %llu-%llu/", (unsigned long long)offset,
			 (unsigned long long)(offset + len - 1));
		if (c->status != 206 || cr == NULL || strncmp(cr, want, strlen(want)) != 0) {
			s3_set(r, S3_DOWNLOAD_FAILED, 0, "GET: the server did not send the range "
			       "asked for");
			return false;
		}
	}
	if (c->received != len) {
		s3_set(r, S3_DOWNLOAD_FAILED, 0, "GET: the server sent another size than its "
		       "HEAD said");
		return false;
	}
	return true;
}

/* One GET of len bytes at offset into c, If-Match the HEAD's ETag; ranged: with a Range. */
static void
s3_get_call(struct s3_call *c, const char *key, int fd, const struct s3_object_info *info,
	    bool ranged, uint64_t offset, uint64_t len)
{
	s3_call_init(c, "GET", key);
	c->reply_fd = fd;
	c->reply_offset = offset;
	strvec_pushf(&c->headers, "If-Match: %s", info->etag);
	if (ranged)
		strvec_pushf(&c->headers, "Range: bytes=%llu-%llu", (unsigned long long)offset,
			     (unsigned long long)(offset + len - 1));
}

/* Where range k of the object starts, and its length (ranged false: the whole). */
static void
s3_range(const struct s3_object_info *info, bool ranged, uint64_t k, uint64_t *offset,
	 uint64_t *len)
{
	*offset = ranged ? k * S3_RANGE_SIZE : 0;
	*len = info->size - *offset;
	if (ranged && *len > S3_RANGE_SIZE)
		*len = S3_RANGE_SIZE;
}

/*
 * Fetch the object into fd: one GET, or ranges of S3_RANGE_SIZE, at most
 * parallel at once, in windows of a few times that (each range's call holds
 * a connection's handle until its window ends).
 */
static void
s3_fetch(struct s3_client *cl, const char *key, int fd, const struct s3_object_info *info,
	 const struct s3_download_opts *o, struct s3_download_result *r)
{
	int parallel = o->parallel > 0 ? o->parallel : 1;
	bool ranged = info->size > S3_RANGE_SIZE && info->size >= o->multipart_from;
	uint64_t nranges = ranged ? (info->size + S3_RANGE_SIZE - 1) / S3_RANGE_SIZE : 1;
	size_t window = ranged ? (size_t)parallel * 4 : 1, n, k;
	struct s3_call *calls = xcalloc(window, sizeof *calls);
	struct s3_download_progress dp = { o, 0 };
	uint64_t first, offset, len;

	for (first = 0; first < nranges && r->outcome == S3_DOWNLOAD_SENT; first += n) {
		n = nranges - first < window ? (size_t)(nranges - first) : window;
		for (k = 0; k < n; k++) {
			s3_range(info, ranged, first + k, &offset, &len);
			s3_get_call(&calls[k], key, fd, info, ranged, offset, len);
		}
		if (o->progress)
			s3_client_on_progress(cl, s3_download_progress, &dp);
		s3_run(cl, calls, n, parallel);
		s3_client_on_progress(cl, NULL, NULL);
		for (k = 0; k < n; k++) {
			s3_range(info, ranged, first + k, &offset, &len);
			/* The first failure says why; a local one before any other. */
			if (r->outcome == S3_DOWNLOAD_SENT || calls[k].reply_unwritten) {
				if (calls[k].error)
					s3_failed(r, &calls[k], "GET");
				else if (r->outcome == S3_DOWNLOAD_SENT)
					s3_got_all(&calls[k], info, ranged, offset, len, r);
			}
			dp.base += calls[k].received;
			s3_call_release(&calls[k]);
		}
	}
	free(calls);
}

/* The MD5 of the first size bytes of fd, as hex, into out. 0, or an errno. */
static int
s3_file_md5(int fd, uint64_t size, struct strbuf *out)
{
	static const char hex[] = "0123456789abcdef";
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *buf = xmalloc(S3_READ_CHUNK), md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, k;
	uint64_t at = 0;
	int err = 0;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1)
		err = ENOMEM;
	while (err == 0 && at < size) {
		size_t want = size - at > S3_READ_CHUNK ? S3_READ_CHUNK : (size_t)(size - at);
		ssize_t got = pread(fd, buf, want, (off_t)at);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			err = got < 0 ? errno : EIO;
		else {
			EVP_DigestUpdate(ctx, buf, (size_t)got);
			at += (uint64_t)got;
		}
	}
	if (err == 0 && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1)
		for (k = 0; k < mdlen; k++) {
			strbuf_addch(out, hex[md[k] >> 4]);
			strbuf_addch(out, hex[md[k] & 15]);
		}
	EVP_MD_CTX_free(ctx);
	free(buf);
	return err;
}

/*
 * Is the file fd what the object holds? Its size, always. Its MD5 when
 * the ETag is a single PUT's: read back from the file, so that what is
 * checked is what the disk has. A multipart upload's ETag ("...-N") is
 * the MD5 of its parts' MD5s, which cannot be recomputed without the
 * part sizes the uploader chose; and no MD5 of the whole is in the
 * metadata (neither s3-upload nor awscli writes one): only the size is
 * checked then, each range having come from the one version If-Match held.
 */
static void
s3_check_data(int fd, const struct s3_object_info *info, struct s3_download_result *r)
{
	struct strbuf md5 = STRBUF_INIT;
	struct stat sb;
	size_t n;
	const char *etag;
	int err;

	if (fstat(fd, &sb) < 0) {
		s3_set(r, S3_DOWNLOAD_LOCAL_ERROR, errno, "cannot read the file back");
		return;
	}
	if ((uint64_t)sb.st_size != info->size) {
		s3_set(r, S3_DOWNLOAD_FAILED, 0, "the file's size is not the object's");
		return;
	}
	if (!s3_etag_is_md5(info->etag))
		return;
	if ((err = s3_file_md5(fd, info->size, &md5)) != 0) {
		s3_set(r, S3_DOWNLOAD_LOCAL_ERROR, err, "cannot read the file back");
	} else {
		etag = s3_etag_bare(info->etag, &n);
		if (strncasecmp(etag, md5.buf, n) != 0)
			s3_set(r, S3_DOWNLOAD_FAILED, 0, "the data's MD5 is not the object's ETag");
		else
			r->md5_checked = true;
	}
	strbuf_release(&md5);
}

/* 0666 less the umask, read without leaving it changed. */
static mode_t
s3_umask_mode(void)
{
	mode_t mask = umask(022);

	umask(mask);
	return 0666 & ~mask;
}

/* Give fd the object's mode and mtime. */
static void
s3_set_attributes(int fd, const struct s3_object_info *info, const struct s3_download_opts *o,
		  struct s3_download_result *r)
{
	/*
	 * Never set-user-ID or set-group-ID from a bucket: whoever may write
	 * it could otherwise plant a program that runs as the one who
	 * downloads (root on a transfer node).
	 */
	mode_t mode = (info->has_mode ? info->mode :
		       o->default_mode ? o->default_mode : s3_umask_mode()) & ~(mode_t)06000;
	struct timespec times[2];

	if (fchmod(fd, mode) < 0) {
		s3_set(r, S3_DOWNLOAD_LOCAL_ERROR, errno, "cannot set the file's mode");
		return;
	}
	if (!info->has_mtime)
		return;
	times[0].tv_sec = 0;
	times[0].tv_nsec = UTIME_OMIT;
	times[1] = info->mtime;
	if (futimens(fd, times) < 0)
		s3_set(r, S3_DOWNLOAD_LOCAL_ERROR, errno, "cannot set the file's mtime");
}

/* Is name one component a file can have: not empty, no '/', not "." or ".."? */
static bool
s3_name_ok(const char *name)
{
	return *name && strchr(name, '/') == NULL && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0;
}

void
s3_download_file(struct s3_client *cl, const char *key, int dirfd, const char *name,
		 const struct s3_download_opts *o, struct s3_download_result *r)
{
	struct s3_object_info info;
	struct stat sb;
	/* The temporary file's directory: the caller's, or beside NAME. */
	int fd = -1, tdir = o->temp_dirfd > 0 ? o->temp_dirfd : dirfd;

	memset(r, 0, sizeof *r);
	memset(&info, 0, sizeof info);
	/* Until something fails: each failure says so, with its reason. */
	r->outcome = S3_DOWNLOAD_SENT;
	if (!s3_name_ok(name)) {
		s3_set(r, S3_DOWNLOAD_LOCAL_ERROR, EINVAL, "not a file name");
		return;
	}
	if (s3_head(cl, key, &info, r) < 0)
		goto out;
	r->size = info.size;
	if (!o->force && fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    s3_download_same(&sb, &info)) {
		r->outcome = S3_DOWNLOAD_SAME;
		/* Its mode alone changed: that, and no data. Never set-user-ID or -group-ID. */
		if (info.has_mode && (sb.st_mode & 07777) != (info.mode & ~(mode_t)06000) &&
		    fchmodat(dirfd, name, info.mode & ~(mode_t)06000, 0) < 0)
			s3_set(r, S3_DOWNLOAD_LOCAL_ERROR, errno, "cannot change the file's mode");
		goto out;
	}
	if ((fd = s3_temp_create(tdir, name, &r->temp_name, r)) < 0)
		goto out;
	if (o->temp_made && o->temp_made(tdir, r->temp_name, o->ctx) != 0) {
		s3_set(r, S3_DOWNLOAD_LOCAL_ERROR, 0, "the temporary file could not be recorded");
		goto out;
	}
	/*
	 * The space first: a disk too small fails here, before any byte is
	 * fetched, and ranges written out of order make no sparse file.
	 * Where the file system cannot, the ranges' writes find out.
	 */
	if (info.size > 0 && fallocate(fd, 0, 0, (off_t)info.size) < 0 &&
	    errno != EOPNOTSUPP && errno != ENOSYS) {
		s3_set(r, S3_DOWNLOAD_LOCAL_ERROR, errno, "cannot write the file");
		goto out;
	}
	s3_fetch(cl, key, fd, &info, o, r);
	if (r->outcome == S3_DOWNLOAD_SENT)
		s3_check_data(fd, &info, r);
	if (r->outcome == S3_DOWNLOAD_SENT)
		s3_set_attributes(fd, &info, o, r);
	/*
	 * Flushed before the rename, unless told not to: else a crash soon
	 * after could leave NAME with the object's size and mtime (both in
	 * the inode, written first) over blocks never written, and the next
	 * run would take that file for the object. One fsync a file costs
	 * little beside a network read; no_fsync is for scratch space.
	 */
	if (r->outcome == S3_DOWNLOAD_SENT && !o->no_fsync && fsync(fd) < 0)
		s3_set(r, S3_DOWNLOAD_LOCAL_ERROR, errno, "cannot write the file");
	if (close(fd) < 0 && r->outcome == S3_DOWNLOAD_SENT)
		s3_set(r, S3_DOWNLOAD_LOCAL_ERROR, errno, "cannot write the file");
	fd = -1;
	if (r->outcome == S3_DOWNLOAD_SENT &&
	    renameat(tdir, r->temp_name, dirfd, name) < 0)
		s3_set(r, S3_DOWNLOAD_LOCAL_ERROR, errno, "cannot put the file in its place");
	if (r->outcome == S3_DOWNLOAD_SENT && o->progress)
		o->progress(info.size, o->ctx);
out:
	if (fd >= 0)
		close(fd);
	if (r->temp_name && r->outcome != S3_DOWNLOAD_SENT)
		unlinkat(tdir, r->temp_name, 0);
	s3_object_info_release(&info);
}
