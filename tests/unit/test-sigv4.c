/*
 * Unit tests for AWS Signature Version 4 (sigv4.h), against vectors AWS
 * publishes: the four examples of the S3 API reference ("Signature
 * Calculations for the Authorization Header: Transferring Payload in a
 * Single Chunk") and cases of the SigV4 test suite (AKIDEXAMPLE, service
 * "service"), each checked at the canonical request, the string to sign
 * and the Authorization header.
 */
#include "config.h"

#include "sigv4.h"
#include "unit.h"

#define H(n, v) { n, v }
#define NH(a) (sizeof(a) / sizeof((a)[0]))

static const struct sigv4_key s3_key = {
	"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3",
};
static const struct sigv4_key suite_key = {
	"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service",
};

#define S3_DATE "20130524T000000Z"
#define S3_HOST "examplebucket.s3.amazonaws.com"
#define SUITE_DATE "20150830T123600Z"
#define SUITE_HOST "example.amazonaws.com"
#define SUITE_CRED "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/" \
	"aws4_request, "
#define SUITE_STS "AWS4-HMAC-SHA256\n" SUITE_DATE "\n20150830/us-east-1/service/aws4_request\n"
#define PUT_BODY_SHA "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
#define FORM_SHA "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"

/* One published case: the request, and what each step must give. */
struct vector {
	const char *name;
	const struct sigv4_key *key;
	const char *date;
	struct sigv4_request req;
	const char *creq;         /* NULL: not published */
	const char *sts;          /* NULL: not published */
	const char *authz;
};

static const struct sigv4_header get_object[] = {
	H("Host", S3_HOST), H("Range", "bytes=0-9"),
	H("x-amz-content-sha256", SIGV4_EMPTY_SHA256), H("x-amz-date", S3_DATE),
};
static const struct sigv4_header put_object[] = {
	H("Host", S3_HOST), H("Date", "Fri, 24 May 2013 00:00:00 GMT"),
	H("x-amz-date", S3_DATE), H("x-amz-storage-class", "REDUCED_REDUNDANCY"),
	H("x-amz-content-sha256", PUT_BODY_SHA),
};
static const struct sigv4_header get_bucket[] = {
	H("Host", S3_HOST), H("x-amz-date", S3_DATE),
	H("x-amz-content-sha256", SIGV4_EMPTY_SHA256),
};
static const struct sigv4_header vanilla[] = {
	H("Host", SUITE_HOST), H("X-Amz-Date", SUITE_DATE),
};
static const struct sigv4_header value_trim[] = {
	H("Host", SUITE_HOST), H("My-Header1", " value1"), H("My-Header2", " \"a   b   c\""),
	H("X-Amz-Date", SUITE_DATE),
};
static const struct sigv4_header form[] = {
	H("Content-Type", "application/x-www-form-urlencoded"), H("Host", SUITE_HOST),
	H("Content-Length", "13"), H("X-Amz-Date", SUITE_DATE),
	H("x-amz-content-sha256", FORM_SHA),
};
static const struct sigv4_header session[] = {
	H("Host", SUITE_HOST),
	H("X-Amz-Security-Token",
	  "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"),
	H("X-Amz-Date", SUITE_DATE),
};
static const struct sigv4_header key_duplicate[] = {
	H("Host", SUITE_HOST), H("My-Header1", "value2"), H("My-Header1", "value2"),
	H("My-Header1", "value1"), H("X-Amz-Date", SUITE_DATE),
};

static const struct vector vectors[] = {
	{ "s3 GET object", &s3_key, S3_DATE,
	  { "GET", "/test.txt", NULL, get_object, NH(get_object), SIGV4_EMPTY_SHA256 },
	  "GET\n/test.txt\n\nhost:" S3_HOST "\nrange:bytes=0-9\nx-amz-content-sha256:"
	  SIGV4_EMPTY_SHA256 "\nx-amz-date:" S3_DATE "\n\n"
	  "host;range;x-amz-content-sha256;x-amz-date\n" SIGV4_EMPTY_SHA256,
	  "AWS4-HMAC-SHA256\n" S3_DATE "\n20130524/us-east-1/s3/aws4_request\n"
	  "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
	  "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
	  "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
	  "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41" },
	{ "s3 PUT object", &s3_key, S3_DATE,
	  { "PUT", "/test%24file.text", NULL, put_object, NH(put_object), PUT_BODY_SHA },
	  "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\nhost:" S3_HOST
	  "\nx-amz-content-sha256:" PUT_BODY_SHA "\nx-amz-date:" S3_DATE
	  "\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n"
	  "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n" PUT_BODY_SHA,
	  NULL,
	  "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
	  "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
	  "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd" },
	{ "s3 GET bucket lifecycle", &s3_key, S3_DATE,
	  { "GET", "/", "lifecycle", get_bucket, NH(get_bucket), SIGV4_EMPTY_SHA256 },
	  "GET\n/\nlifecycle=\nhost:" S3_HOST "\nx-amz-content-sha256:" SIGV4_EMPTY_SHA256
	  "\nx-amz-date:" S3_DATE "\n\nhost;x-amz-content-sha256;x-amz-date\n"
	  SIGV4_EMPTY_SHA256,
	  NULL,
	  "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
	  "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
	  "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543" },
	/* Sent out of order here, to be signed sorted. */
	{ "s3 GET bucket (list objects)", &s3_key, S3_DATE,
	  { "GET", "/", "prefix=J&max-keys=2", get_bucket, NH(get_bucket),
	    SIGV4_EMPTY_SHA256 },
	  "GET\n/\nmax-keys=2&prefix=J\nhost:" S3_HOST "\nx-amz-content-sha256:"
	  SIGV4_EMPTY_SHA256 "\nx-amz-date:" S3_DATE "\n\n"
	  "host;x-amz-content-sha256;x-amz-date\n" SIGV4_EMPTY_SHA256,
	  NULL,
	  "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
	  "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
	  "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7" },
	{ "get-vanilla", &suite_key, SUITE_DATE,
	  { "GET", "/", NULL, vanilla, NH(vanilla), SIGV4_EMPTY_SHA256 },
	  "GET\n/\n\nhost:" SUITE_HOST "\nx-amz-date:" SUITE_DATE "\n\nhost;x-amz-date\n"
	  SIGV4_EMPTY_SHA256,
	  SUITE_STS "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
	  SUITE_CRED "SignedHeaders=host;x-amz-date, "
	  "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },
	{ "get-vanilla-query-order-key-case", &suite_key, SUITE_DATE,
	  { "GET", "/", "Param2=value2&Param1=value1", vanilla, NH(vanilla),
	    SIGV4_EMPTY_SHA256 },
	  "GET\n/\nParam1=value1&Param2=value2\nhost:" SUITE_HOST "\nx-amz-date:" SUITE_DATE
	  "\n\nhost;x-amz-date\n" SIGV4_EMPTY_SHA256,
	  SUITE_STS "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
	  SUITE_CRED "SignedHeaders=host;x-amz-date, "
	  "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500" },
	{ "get-header-value-trim", &suite_key, SUITE_DATE,
	  { "GET", "/", NULL, value_trim, NH(value_trim), SIGV4_EMPTY_SHA256 },
	  "GET\n/\n\nhost:" SUITE_HOST "\nmy-header1:value1\nmy-header2:\"a b c\"\n"
	  "x-amz-date:" SUITE_DATE "\n\nhost;my-header1;my-header2;x-amz-date\n"
	  SIGV4_EMPTY_SHA256,
	  SUITE_STS "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
	  SUITE_CRED "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
	  "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736" },
	{ "post-x-www-form-urlencoded", &suite_key, SUITE_DATE,
	  { "POST", "/", NULL, form, NH(form), FORM_SHA },
	  "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded\n"
	  "host:" SUITE_HOST "\nx-amz-content-sha256:" FORM_SHA "\nx-amz-date:" SUITE_DATE
	  "\n\ncontent-length;content-type;host;x-amz-content-sha256;x-amz-date\n" FORM_SHA,
	  SUITE_STS "b1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb",
	  SUITE_CRED "SignedHeaders=content-length;content-type;host;x-amz-content-sha256;"
	  "x-amz-date, "
	  "Signature=d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b" },
	{ "get-vanilla-with-session-token", &suite_key, SUITE_DATE,
	  { "GET", "/", NULL, session, NH(session), SIGV4_EMPTY_SHA256 },
	  "GET\n/\n\nhost:" SUITE_HOST "\nx-amz-date:" SUITE_DATE "\nx-amz-security-token:"
	  "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n\n"
	  "host;x-amz-date;x-amz-security-token\n" SIGV4_EMPTY_SHA256,
	  SUITE_STS "067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b",
	  SUITE_CRED "SignedHeaders=host;x-amz-date;x-amz-security-token, "
	  "Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8" },
	{ "get-header-key-duplicate", &suite_key, SUITE_DATE,
	  { "GET", "/", NULL, key_duplicate, NH(key_duplicate), SIGV4_EMPTY_SHA256 },
	  "GET\n/\n\nhost:" SUITE_HOST "\nmy-header1:value2,value2,value1\nx-amz-date:"
	  SUITE_DATE "\n\nhost;my-header1;x-amz-date\n" SIGV4_EMPTY_SHA256,
	  SUITE_STS "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
	  SUITE_CRED "SignedHeaders=host;my-header1;x-amz-date, "
	  "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea" },
};

/* Run one vector through each step; name every failure. */
static void
check_vector(const struct vector *v)
{
	struct strbuf creq = STRBUF_INIT, names = STRBUF_INIT, sts = STRBUF_INIT;
	struct strbuf sig = STRBUF_INIT, authz = STRBUF_INIT;
	const char *want_sig = strstr(v->authz, "Signature=") + strlen("Signature=");
	int before = unit_failures;

	sigv4_canonical_request(&v->req, &creq, &names);
	if (v->creq)
		CHECK_STR(creq.buf, v->creq);
	sigv4_string_to_sign(creq.buf, v->date, v->key, &sts);
	if (v->sts)
		CHECK_STR(sts.buf, v->sts);
	sigv4_signature(sts.buf, v->date, v->key, &sig);
	CHECK_STR(sig.buf, want_sig);
	sigv4_authorization(&v->req, v->date, v->key, &authz);
	CHECK_STR(authz.buf, v->authz);
	CHECK(strstr(v->authz, names.buf) != NULL);
	if (unit_failures != before)
		fprintf(stderr, "  in vector '%s'\n", v->name);
	strbuf_release(&creq);
	strbuf_release(&names);
	strbuf_release(&sts);
	strbuf_release(&sig);
	strbuf_release(&authz);
}

/* Append, rather than replace: what the caller had stays in front. */
static void
test_appends(void)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "x:");
	sigv4_sha256_hex("", 0, &sb);
	CHECK_STR(sb.buf, "x:" SIGV4_EMPTY_SHA256);
	strbuf_release(&sb);
}

static void
test_sha256(void)
{
	static const struct {
		const char *in, *want;
	} rows[] = {
		{ "", SIGV4_EMPTY_SHA256 },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		/* The bodies of the S3 PUT example and of post-x-www-form-urlencoded. */
		{ "Welcome to Amazon S3.", PUT_BODY_SHA },
		{ "Param1=value1", FORM_SHA },
	};

	for (size_t i = 0; i < NH(rows); i++) {
		struct strbuf sb = STRBUF_INIT;

		sigv4_sha256_hex(rows[i].in, strlen(rows[i].in), &sb);
		CHECK_STR(sb.buf, rows[i].want);
		strbuf_release(&sb);
	}
	/* Bytes, not a C string: a NUL inside counts. */
	{
		struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;

		sigv4_sha256_hex("a\0b", 3, &a);
		sigv4_sha256_hex("a", 1, &b);
		CHECK(strcmp(a.buf, b.buf) != 0);
		CHECK_INT(a.len, 64);
		strbuf_release(&a);
		strbuf_release(&b);
	}
}

static void
test_amz_date(void)
{
	char buf[17], small[16];

	sigv4_amz_date(0, buf, sizeof(buf));
	CHECK_STR(buf, "19700101T000000Z");
	sigv4_amz_date(1369353600, buf, sizeof(buf));
	CHECK_STR(buf, S3_DATE);
	sigv4_amz_date(1440938160, buf, sizeof(buf));
	CHECK_STR(buf, SUITE_DATE);
	sigv4_amz_date(951782400, buf, sizeof(buf));   /* a leap day */
	CHECK_STR(buf, "20000229T000000Z");
	sigv4_amz_date(4102444799LL, buf, sizeof(buf));
	CHECK_STR(buf, "20991231T235959Z");
	/* Too small a buffer gets an empty string, never a cut date. */
	memset(small, 'x', sizeof(small));
	sigv4_amz_date(0, small, sizeof(small));
	CHECK_STR(small, "");
}

/* A query name without '=' signs as "name=", and values break ties. */
static void
test_query_rules(void)
{
	static const struct sigv4_header h[] = { H("host", "h") };
	struct sigv4_request r = { "GET", "/b/k", "uploads&b=2&a=y&a=x&&", h, 1,
				   SIGV4_UNSIGNED_PAYLOAD };
	struct strbuf out = STRBUF_INIT;

	sigv4_canonical_request(&r, &out, NULL);
	CHECK_STR(out.buf, "GET\n/b/k\na=x&a=y&b=2&uploads=\nhost:h\n\nhost\nUNSIGNED-PAYLOAD");
	strbuf_release(&out);
}

int
main(void)
{
	for (size_t i = 0; i < NH(vectors); i++)
		check_vector(&vectors[i]);
	test_appends();
	test_sha256();
	test_amz_date();
	test_query_rules();
	return unit_done("test-sigv4");
}
