/*
 * Unit tests for s3-download's pure parts: the metadata read from a HEAD,
 * HTTP dates, the temporary name of a long name, and whether a local file
 * already is the object.
 */
#include "config.h"

#include <limits.h>

#include "../../src/s3-download.h"
#include "unit.h"

static void
test_mtime_parse(void)
{
	static const struct {
		const char *text;
		int rc;
		long long sec;
		long nsec;
	} rows[] = {
		{ "1700000000.123456789", 0, 1700000000, 123456789 },
		{ "1700000000.000000001", 0, 1700000000, 1 },
		{ "1700000000", 0, 1700000000, 0 },
		/* rclone's fewer digits: tenths, not nanoseconds. */
		{ "1700000000.5", 0, 1700000000, 500000000 },
		{ "0.000000000", 0, 0, 0 },
		{ "", SYNC_ERR_INVALID, 0, 0 },
		{ "1700000000.", SYNC_ERR_INVALID, 0, 0 },
		{ ".5", SYNC_ERR_INVALID, 0, 0 },
		{ "1700000000.1234567890", SYNC_ERR_INVALID, 0, 0 },
		{ "1700000000.-5", SYNC_ERR_INVALID, 0, 0 },
		{ "1700000000.+5", SYNC_ERR_INVALID, 0, 0 },
		{ "-1", SYNC_ERR_INVALID, 0, 0 },
		{ " 17", SYNC_ERR_INVALID, 0, 0 },
		{ "17x", SYNC_ERR_INVALID, 0, 0 },
		{ "2023-11-14T22:13:20Z", SYNC_ERR_INVALID, 0, 0 },
		{ "99999999999999999999", SYNC_ERR_INVALID, 0, 0 },
	};
	size_t k;

	for (k = 0; k < sizeof rows / sizeof *rows; k++) {
		struct timespec ts = { -1, -1 };
		int rc = s3_mtime_parse(rows[k].text, &ts);

		CHECK_INT(rc, rows[k].rc);
		if (rc == 0) {
			CHECK_INT(ts.tv_sec, rows[k].sec);
			CHECK_INT(ts.tv_nsec, rows[k].nsec);
		}
	}
}

static void
test_mode_parse(void)
{
	static const struct {
		const char *text;
		int rc;
		unsigned mode;
	} rows[] = {
		{ "0644", 0, 0644 }, { "644", 0, 0644 }, { "4755", 0, 04755 },
		{ "07777", 0, 07777 }, { "0", 0, 0 },
		/* A whole st_mode: the file type's bits go. */
		{ "0100644", 0, 0644 }, { "104755", 0, 04755 },
		{ "01000644", SYNC_ERR_INVALID, 0 }, { "33188", SYNC_ERR_INVALID, 0 },
		{ "0648", SYNC_ERR_INVALID, 0 }, { "", SYNC_ERR_INVALID, 0 },
		{ "rw-r--r--", SYNC_ERR_INVALID, 0 }, { " 644", SYNC_ERR_INVALID, 0 },
	};
	size_t k;

	for (k = 0; k < sizeof rows / sizeof *rows; k++) {
		mode_t m = 0;
		int rc = s3_mode_parse(rows[k].text, &m);

		CHECK_INT(rc, rows[k].rc);
		if (rc == 0)
			CHECK_INT(m, rows[k].mode);
	}
}

static void
test_http_date(void)
{
	int64_t t = 0;

	CHECK_INT(s3_http_date("Sun, 06 Nov 1994 08:49:37 GMT", &t), 0);
	CHECK_INT(t, 784111777);
	CHECK_INT(s3_http_date("Tue, 14 Nov 2023 22:13:20 GMT", &t), 0);
	CHECK_INT(t, 1700000000);
	/* The obsolete forms HTTP still accepts. */
	CHECK_INT(s3_http_date("Sunday, 06-Nov-94 08:49:37 GMT", &t), 0);
	CHECK_INT(t, 784111777);
	CHECK_INT(s3_http_date("Sun Nov  6 08:49:37 1994", &t), 0);
	CHECK_INT(t, 784111777);
	CHECK_INT(s3_http_date("yesterday", &t), SYNC_ERR_INVALID);
	CHECK_INT(s3_http_date("", &t), SYNC_ERR_INVALID);
}

static void
test_temp_prefix(void)
{
	struct strbuf t = STRBUF_INIT, name = STRBUF_INIT;
	size_t k;

	s3_temp_prefix("data.bin", &t);
	CHECK_STR(t.buf, ".data.bin" S3_TEMP_MARK);

	/* The longest name a file may have: cut, the whole still a file's name. */
	for (k = 0; k < NAME_MAX; k++)
		strbuf_addch(&name, 'a' + (char)(k % 26));
	strbuf_reset(&t);
	s3_temp_prefix(name.buf, &t);
	CHECK_INT(t.len + S3_TEMP_RANDOM, NAME_MAX);
	CHECK(t.buf[0] == '.');
	CHECK(strncmp(t.buf + 1, name.buf, t.len - 1 - strlen(S3_TEMP_MARK)) == 0);
	CHECK_STR(t.buf + t.len - strlen(S3_TEMP_MARK), S3_TEMP_MARK);

	/* Two-byte characters: never cut inside one. */
	strbuf_reset(&name);
	strbuf_addch(&name, 'x');
	for (k = 0; k < 127; k++)
		strbuf_addstr(&name, "\xc3\xa9");
	CHECK_INT(name.len, NAME_MAX);
	strbuf_reset(&t);
	s3_temp_prefix(name.buf, &t);
	CHECK(t.len + S3_TEMP_RANDOM <= NAME_MAX);
	CHECK(t.len + S3_TEMP_RANDOM >= NAME_MAX - 1);
	CHECK(utf8_valid(t.buf, t.len));

	/* Just short enough: not cut. */
	strbuf_reset(&name);
	for (k = 0; k < NAME_MAX - 1 - strlen(S3_TEMP_MARK) - S3_TEMP_RANDOM; k++)
		strbuf_addch(&name, 'b');
	strbuf_reset(&t);
	s3_temp_prefix(name.buf, &t);
	CHECK_INT(t.len, 1 + name.len + strlen(S3_TEMP_MARK));
	strbuf_release(&t);
	strbuf_release(&name);
}

static void
test_etag_is_md5(void)
{
	CHECK(s3_etag_is_md5("\"d41d8cd98f00b204e9800998ecf8427e\""));
	CHECK(s3_etag_is_md5("d41d8cd98f00b204e9800998ecf8427E"));
	CHECK(!s3_etag_is_md5("\"d41d8cd98f00b204e9800998ecf8427e-3\""));
	CHECK(!s3_etag_is_md5("\"d41d8cd98f00b204e9800998ecf8427\""));
	CHECK(!s3_etag_is_md5("\"x41d8cd98f00b204e9800998ecf8427e\""));
	CHECK(!s3_etag_is_md5(""));
}

/* A HEAD's answer with these header lines, read into info. */
static int
info_of(const char *const *headers, struct s3_object_info *info)
{
	struct s3_call c;
	int rc;

	s3_call_init(&c, "HEAD", "k");
	for (; *headers; headers++) {
		strvec_push(&c.reply_headers, *headers);
		if (strncmp(*headers, "etag: ", 6) == 0)
			strbuf_addstr(&c.etag, *headers + 6);
	}
	rc = s3_object_info_read(&c, info);
	s3_call_release(&c);
	return rc;
}

static void
test_info_read(void)
{
	static const char *const full[] = {
		"content-length: 20971520", "etag: \"0123456789abcdef0123456789abcdef-3\"",
		"last-modified: Tue, 14 Nov 2023 22:13:20 GMT",
		"x-amz-meta-mtime: 1600000000.250000000", "x-amz-meta-mode: 0755", NULL,
	};
	static const char *const plain[] = {
		"content-length: 0", "last-modified: Tue, 14 Nov 2023 22:13:20 GMT",
		"x-amz-meta-mtime: yesterday", "x-amz-meta-mode: 0999", NULL,
	};
	static const char *const bare[] = { "etag: \"x\"", NULL };
	struct s3_object_info info;

	CHECK_INT(info_of(full, &info), 0);
	CHECK_INT(info.size, 20971520);
	CHECK_STR(info.etag, "\"0123456789abcdef0123456789abcdef-3\"");
	CHECK(info.has_mtime && info.mtime_exact);
	CHECK_INT(info.mtime.tv_sec, 1600000000);
	CHECK_INT(info.mtime.tv_nsec, 250000000);
	CHECK(info.has_mode);
	CHECK_INT(info.mode, 0755);
	s3_object_info_release(&info);

	/* Metadata that cannot be read: Last-Modified, to the second; no mode. */
	CHECK_INT(info_of(plain, &info), 0);
	CHECK_INT(info.size, 0);
	CHECK(info.etag == NULL);
	CHECK(info.has_mtime && !info.mtime_exact);
	CHECK_INT(info.mtime.tv_sec, 1700000000);
	CHECK_INT(info.mtime.tv_nsec, 0);
	CHECK(!info.has_mode);
	s3_object_info_release(&info);

	CHECK_INT(info_of(bare, &info), SYNC_ERR_INVALID);
	s3_object_info_release(&info);
}

static void
test_same(void)
{
	static const struct {
		long long size, sec;
		long nsec;
		bool exact, has_mtime;
		mode_t type;
		bool same;
	} rows[] = {
		{ 10, 1600000000, 250000000, true, true, S_IFREG, true },
		{ 11, 1600000000, 250000000, true, true, S_IFREG, false },
		{ 10, 1600000001, 250000000, true, true, S_IFREG, false },
		{ 10, 1600000000, 250000001, true, true, S_IFREG, false },
		/* Last-Modified knows only the second. */
		{ 10, 1600000000, 999, false, true, S_IFREG, true },
		{ 10, 1600000001, 0, false, true, S_IFREG, false },
		/* No mtime known: never the same. */
		{ 10, 1600000000, 250000000, false, false, S_IFREG, false },
		/* A directory or a link of that name is not the file. */
		{ 10, 1600000000, 250000000, true, true, S_IFDIR, false },
		{ 10, 1600000000, 250000000, true, true, S_IFLNK, false },
	};
	size_t k;

	for (k = 0; k < sizeof rows / sizeof *rows; k++) {
		struct s3_object_info info;
		struct stat sb;

		memset(&info, 0, sizeof info);
		memset(&sb, 0, sizeof sb);
		info.size = 10;
		info.mtime.tv_sec = 1600000000;
		info.mtime.tv_nsec = rows[k].exact ? 250000000 : 0;
		info.mtime_exact = rows[k].exact;
		info.has_mtime = rows[k].has_mtime;
		sb.st_mode = rows[k].type | 0644;
		sb.st_size = (off_t)rows[k].size;
		sb.st_mtim.tv_sec = (time_t)rows[k].sec;
		sb.st_mtim.tv_nsec = rows[k].nsec;
		CHECK(s3_download_same(&sb, &info) == rows[k].same);
	}
}

int
main(void)
{
	test_mtime_parse();
	test_mode_parse();
	test_http_date();
	test_temp_prefix();
	test_etag_is_md5();
	test_info_read();
	test_same();
	return unit_done("s3-download");
}
