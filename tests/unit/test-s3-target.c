/* Unit tests for s3-target: object-store URLs, endpoints and keys. */
#include "config.h"

#include "../../src/s3-target.h"
#include "unit.h"

static void
test_parse(void)
{
	struct s3_target t;
	char err[256];

	CHECK(s3_is_url("s3://b"));
	CHECK(s3_is_url("cos://b-1250000000/x"));
	CHECK(!s3_is_url("/s3://b"));
	CHECK(!s3_is_url("s3:/b"));
	CHECK(!s3_is_url(NULL));

	CHECK_INT(s3_target_parse("s3://lab-results/2026//run1/", &t, err, sizeof err), 0);
	CHECK_STR(t.bucket, "lab-results");
	CHECK_STR(t.prefix, "2026/run1");
	CHECK(!t.cos);
	s3_target_release(&t);

	CHECK_INT(s3_target_parse("s3://bucket", &t, err, sizeof err), 0);
	CHECK_STR(t.prefix, "");
	s3_target_release(&t);

	CHECK_INT(s3_target_parse("s3://Bad_Bucket/x", &t, err, sizeof err), SYNC_ERR_INVALID);
	CHECK(strstr(err, "invalid bucket") != NULL);
	CHECK_INT(s3_target_parse("s3://ab/x", &t, err, sizeof err), SYNC_ERR_INVALID);
	CHECK_INT(s3_target_parse("s3://-ab/x", &t, err, sizeof err), SYNC_ERR_INVALID);
	CHECK_INT(s3_target_parse("s3://bucket/a/../b", &t, err, sizeof err), SYNC_ERR_INVALID);
	CHECK(strstr(err, "'..'") != NULL);
	CHECK_INT(s3_target_parse("s3://bucket/a/\xff", &t, err, sizeof err), SYNC_ERR_INVALID);
	/* A COS bucket names its APPID. */
	CHECK_INT(s3_target_parse("cos://nodash/x", &t, err, sizeof err), SYNC_ERR_INVALID);
	CHECK_INT(s3_target_parse("cos://data-1250000000/x", &t, err, sizeof err), 0);
	CHECK(t.cos);
	s3_target_release(&t);
}

static void
test_host_region(void)
{
	static const struct {
		const char *host, *region;
	} rows[] = {
		{ "s3.eu-west-1.amazonaws.com", "eu-west-1" },
		{ "s3.eu-west-1.amazonaws.com:443", "eu-west-1" },
		{ "cos.ap-beijing.myqcloud.com", "ap-beijing" },
		{ "s3.amazonaws.com", NULL },
		{ "s3.dualstack.eu-west-1.amazonaws.com", NULL },
		{ "cos.myqcloud.com", NULL },
		{ "127.0.0.1:7480", NULL },
		{ "s3.example.com", NULL },
		{ "s3.EU.amazonaws.com", NULL },
	};
	size_t k;

	for (k = 0; k < sizeof rows / sizeof *rows; k++) {
		char *r = s3_host_region(rows[k].host);

		if (rows[k].region)
			CHECK_STR(r ? r : "(null)", rows[k].region);
		else
			CHECK(r == NULL);
		free(r);
	}
}

static void
test_resolve(void)
{
	struct s3_target t;
	struct strbuf host = STRBUF_INIT, path = STRBUF_INIT, url = STRBUF_INIT;
	char err[256];

	/* An IP endpoint: path style, the port kept in the Host header. */
	CHECK_INT(s3_target_parse("s3://bucket/p", &t, err, sizeof err), 0);
	CHECK_INT(s3_target_resolve(&t, "http://127.0.0.1:7480/", NULL, S3_STYLE_AUTO, err,
				    sizeof err), 0);
	CHECK(t.path_style);
	CHECK_STR(t.scheme, "http");
	CHECK_STR(t.host, "127.0.0.1:7480");
	CHECK_STR(t.region, "us-east-1");
	s3_request_where(&t, "p/a b/ü+&.txt", &host, &path);
	CHECK_STR(host.buf, "127.0.0.1:7480");
	CHECK_STR(path.buf, "/bucket/p/a%20b/%C3%BC%2B%26.txt");
	s3_bucket_url(&t, &url);
	CHECK_STR(url.buf, "http://127.0.0.1:7480/bucket");
	s3_target_release(&t);

	/* AWS without an endpoint: virtual host. */
	strbuf_reset(&host);
	strbuf_reset(&path);
	strbuf_reset(&url);
	CHECK_INT(s3_target_parse("s3://bucket/p", &t, err, sizeof err), 0);
	CHECK_INT(s3_target_resolve(&t, NULL, "eu-west-1", S3_STYLE_AUTO, err, sizeof err), 0);
	CHECK(!t.path_style);
	CHECK_STR(t.host, "s3.eu-west-1.amazonaws.com");
	s3_request_where(&t, "k", &host, &path);
	CHECK_STR(host.buf, "bucket.s3.eu-west-1.amazonaws.com");
	CHECK_STR(path.buf, "/k");
	s3_bucket_url(&t, &url);
	CHECK_STR(url.buf, "https://bucket.s3.eu-west-1.amazonaws.com");
	s3_target_release(&t);

	/* An on-site name: path style, unless told. */
	CHECK_INT(s3_target_parse("s3://bucket", &t, err, sizeof err), 0);
	CHECK_INT(s3_target_resolve(&t, "s3.hpc.example.edu", NULL, S3_STYLE_AUTO, err,
				    sizeof err), 0);
	CHECK(t.path_style);
	CHECK_STR(t.scheme, "https");
	CHECK_INT(s3_target_resolve(&t, "s3.hpc.example.edu", NULL, S3_STYLE_VIRTUAL, err,
				    sizeof err), 0);
	CHECK(!t.path_style);
	CHECK_INT(s3_target_resolve(&t, "ftp://x", NULL, S3_STYLE_AUTO, err, sizeof err),
		  SYNC_ERR_INVALID);
	CHECK_INT(s3_target_resolve(&t, "http://x/sub", NULL, S3_STYLE_AUTO, err, sizeof err),
		  SYNC_ERR_INVALID);
	CHECK_INT(s3_target_resolve(&t, NULL, "Bad Region", S3_STYLE_AUTO, err, sizeof err),
		  SYNC_ERR_INVALID);
	s3_target_release(&t);

	/* COS: its endpoint from the region, which it needs. */
	CHECK_INT(s3_target_parse("cos://data-1250000000/x", &t, err, sizeof err), 0);
	CHECK_INT(s3_target_resolve(&t, NULL, NULL, S3_STYLE_AUTO, err, sizeof err),
		  SYNC_ERR_INVALID);
	CHECK(strstr(err, "region") != NULL);
	CHECK_INT(s3_target_resolve(&t, NULL, "ap-beijing", S3_STYLE_AUTO, err, sizeof err), 0);
	CHECK_STR(t.host, "cos.ap-beijing.myqcloud.com");
	CHECK(!t.path_style);
	s3_target_release(&t);
	strbuf_release(&host);
	strbuf_release(&path);
	strbuf_release(&url);
}

static void
test_keys(void)
{
	struct s3_target t;
	struct strbuf k = STRBUF_INIT, e = STRBUF_INIT;
	char err[256];
	char long_key[1100];

	CHECK_INT(s3_target_parse("s3://bucket/2026/run1", &t, err, sizeof err), 0);
	s3_key(&t, "data/a.txt", &k);
	CHECK_STR(k.buf, "2026/run1/data/a.txt");
	s3_target_release(&t);
	CHECK_INT(s3_target_parse("s3://bucket", &t, err, sizeof err), 0);
	strbuf_reset(&k);
	s3_key(&t, "data/a.txt", &k);
	CHECK_STR(k.buf, "data/a.txt");
	s3_target_release(&t);

	s3_uri_encode(&e, "a/b~c-d_e.f g\n", false);
	CHECK_STR(e.buf, "a%2Fb~c-d_e.f%20g%0A");
	CHECK(s3_key_ok("a/\xc3\xbc"));
	CHECK(!s3_key_ok("a/\xff"));
	CHECK(!s3_key_ok(""));
	memset(long_key, 'x', sizeof long_key - 1);
	long_key[sizeof long_key - 1] = '\0';
	CHECK(!s3_key_ok(long_key));
	strbuf_release(&k);
	strbuf_release(&e);
}

int
main(void)
{
	test_parse();
	test_resolve();
	test_host_region();
	test_keys();
	return unit_done("s3-target");
}
