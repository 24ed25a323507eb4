/*
 * Unit tests for the XML of the S3 API (s3-xml.h): replies shaped as the
 * S3 API reference shows them, the same with something wrong, and the
 * request bodies read back by libxml2 itself.
 */
#include "config.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "s3-xml.h"
#include "unit.h"

#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define S3_NS "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""

static int
read_listing(const char *xml, struct s3_listing *l)
{
	return s3_xml_listing(xml, strlen(xml), l);
}

static void
test_error(void)
{
	static const char xml[] = XML_DECL
		"<Error>\n"
		"  <Code>NoSuchKey</Code>\n"
		"  <Message>The resource you requested does not exist</Message>\n"
		"  <Resource>/mybucket/myfoto.jpg</Resource>\n"
		"  <RequestId>4442587FB7D0A2F9</RequestId>\n"
		"</Error>";
	static const char bare[] = "<Error><Code>SlowDown</Code></Error>";
	struct s3_error e;

	CHECK_INT(s3_xml_error(xml, strlen(xml), &e), 0);
	CHECK_STR(e.code, "NoSuchKey");
	CHECK_STR(e.message, "The resource you requested does not exist");
	CHECK_STR(e.resource, "/mybucket/myfoto.jpg");
	CHECK_STR(e.request_id, "4442587FB7D0A2F9");
	s3_error_release(&e);
	CHECK(e.code == NULL);

	CHECK_INT(s3_xml_error(bare, strlen(bare), &e), 0);
	CHECK_STR(e.code, "SlowDown");
	CHECK(e.message == NULL && e.resource == NULL && e.request_id == NULL);
	s3_error_release(&e);

	/* Not an error document, or not XML at all (an HTML page of a proxy). */
	CHECK_INT(s3_xml_error("<ListBucketResult/>", 19, &e), SYNC_ERR_INVALID);
	CHECK(e.code == NULL);
	CHECK_INT(s3_xml_error("<html><body>502", 15, &e), SYNC_ERR_INVALID);
	CHECK_INT(s3_xml_error("", 0, &e), SYNC_ERR_INVALID);
	s3_error_release(NULL);
}

static void
test_listing(void)
{
	static const char xml[] = XML_DECL
		"<ListBucketResult " S3_NS ">\n"
		"  <Name>bucket</Name>\n"
		"  <Prefix>photos/</Prefix>\n"
		"  <KeyCount>3</KeyCount>\n"
		"  <MaxKeys>3</MaxKeys>\n"
		"  <Delimiter>/</Delimiter>\n"
		"  <IsTruncated>true</IsTruncated>\n"
		"  <Contents>\n"
		"    <Key>photos/a &amp; b.jpg</Key>\n"
		"    <LastModified>2009-10-12T17:50:30.000Z</LastModified>\n"
		"    <ETag>\"fba9dede5f27731c9771645a39863328\"</ETag>\n"
		"    <Size>434234</Size>\n"
		"    <StorageClass>STANDARD</StorageClass>\n"
		"  </Contents>\n"
		"  <Contents>\n"
		"    <Key>photos/empty</Key>\n"
		"    <LastModified>2009-10-12T17:50:31.000Z</LastModified>\n"
		"    <ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag>\n"
		"    <Size>0</Size>\n"
		"  </Contents>\n"
		"  <CommonPrefixes><Prefix>photos/2006/</Prefix></CommonPrefixes>\n"
		"  <CommonPrefixes><Prefix>photos/2007/</Prefix></CommonPrefixes>\n"
		"  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="
		"</NextContinuationToken>\n"
		"</ListBucketResult>";
	/* The last page: no namespace (as some compatible stores answer), nothing more. */
	static const char last[] =
		"<ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated>"
		"<Contents><Key>big</Key><Size>18446744073709551615</Size></Contents>"
		"</ListBucketResult>";
	static const char empty[] = XML_DECL "<ListBucketResult " S3_NS "><Name>b</Name>"
		"<KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>";
	struct s3_listing l;

	CHECK_INT(read_listing(xml, &l), 0);
	CHECK_INT(l.nobjects, 2);
	CHECK_STR(l.objects[0].key, "photos/a & b.jpg");
	CHECK(l.objects[0].size == 434234);
	CHECK_STR(l.objects[0].etag, "\"fba9dede5f27731c9771645a39863328\"");
	CHECK_STR(l.objects[0].last_modified, "2009-10-12T17:50:30.000Z");
	CHECK_STR(l.objects[1].key, "photos/empty");
	CHECK(l.objects[1].size == 0);
	CHECK_STR(l.objects[1].etag, "\"d41d8cd98f00b204e9800998ecf8427e\"");
	CHECK_INT(l.nprefixes, 2);
	CHECK_STR(l.prefixes[0], "photos/2006/");
	CHECK_STR(l.prefixes[1], "photos/2007/");
	CHECK(l.truncated);
	CHECK_STR(l.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
	s3_listing_release(&l);
	CHECK(l.objects == NULL && l.nobjects == 0);

	CHECK_INT(read_listing(last, &l), 0);
	CHECK_INT(l.nobjects, 1);
	CHECK(l.objects[0].size == UINT64_MAX);
	CHECK(l.objects[0].etag == NULL);
	CHECK(!l.truncated);
	CHECK(l.next_token == NULL);
	s3_listing_release(&l);

	CHECK_INT(read_listing(empty, &l), 0);
	CHECK_INT(l.nobjects, 0);
	CHECK_INT(l.nprefixes, 0);
	s3_listing_release(&l);
}

/* With encoding-type=url, keys and prefixes come back encoded, a space as '+'. */
static void
test_listing_url(void)
{
	static const char xml[] = XML_DECL
		"<ListBucketResult " S3_NS ">\n"
		"  <Name>bucket</Name><Prefix>dir%2Fa+b%2F</Prefix>\n"
		"  <Delimiter>%2F</Delimiter><EncodingType>url</EncodingType>\n"
		"  <IsTruncated>false</IsTruncated>\n"
		"  <Contents><Key>dir/a+b/x%2By%25z%01%C3%A9.txt</Key>"
		"<Size>5</Size><ETag>\"e\"</ETag></Contents>\n"
		"  <CommonPrefixes><Prefix>dir/a+b/sub%0A/</Prefix></CommonPrefixes>\n"
		"</ListBucketResult>";
	/* Without EncodingType the same text is taken as it is. */
	static const char plain[] =
		"<ListBucketResult><IsTruncated>false</IsTruncated>"
		"<Contents><Key>a+b%2B</Key><Size>1</Size></Contents></ListBucketResult>";
	static const char broken[] =
		"<ListBucketResult><EncodingType>url</EncodingType>"
		"<IsTruncated>false</IsTruncated>"
		"<Contents><Key>a%2</Key><Size>1</Size></Contents></ListBucketResult>";
	struct s3_listing l;

	CHECK_INT(read_listing(xml, &l), 0);
	CHECK_INT(l.nobjects, 1);
	CHECK_STR(l.objects[0].key, "dir/a b/x+y%z\001\303\251.txt");
	CHECK_INT(l.nprefixes, 1);
	CHECK_STR(l.prefixes[0], "dir/a b/sub\n/");
	s3_listing_release(&l);

	CHECK_INT(read_listing(plain, &l), 0);
	CHECK_STR(l.objects[0].key, "a+b%2B");
	s3_listing_release(&l);

	CHECK_INT(read_listing(broken, &l), SYNC_ERR_INVALID);
	CHECK(l.objects == NULL && l.nobjects == 0);
}

static void
test_listing_bad(void)
{
	static const char *const bad[] = {
		/* Not well-formed. */
		"<ListBucketResult><Contents><Key>a</Key></ListBucketResult>",
		"<ListBucketResult>",
		"not xml",
		/* Another document. */
		"<ListAllMyBucketsResult><Buckets/></ListAllMyBucketsResult>",
		"<Error><Code>AccessDenied</Code></Error>",
		/* A field that must be there. */
		"<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult>",
		/* Numbers that are not numbers, or too big for 64 bits. */
		"<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents>"
		"</ListBucketResult>",
		"<ListBucketResult><Contents><Key>a</Key><Size>12kB</Size></Contents>"
		"</ListBucketResult>",
		"<ListBucketResult><Contents><Key>a</Key><Size>18446744073709551616</Size>"
		"</Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a</Key>"
		"<Size>99999999999999999999999999999999999999</Size></Contents></ListBucketResult>",
		/* Truncated, with no way on; a truth value that is neither. */
		"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
		"<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>",
		/* A DTD, and the entity it would smuggle in. */
		"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
		"<ListBucketResult><Contents><Key>&e;</Key><Size>1</Size></Contents>"
		"</ListBucketResult>",
		"<!DOCTYPE ListBucketResult [<!ENTITY a \"aaaaaaaaaa\">]>"
		"<ListBucketResult><Contents><Key>&a;</Key><Size>1</Size></Contents>"
		"</ListBucketResult>",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct s3_listing l;
		int ret = read_listing(bad[i], &l);

		CHECK_INT(ret, SYNC_ERR_INVALID);
		if (ret != SYNC_ERR_INVALID)
			fprintf(stderr, "  on %s\n", bad[i]);
		CHECK(l.objects == NULL && l.prefixes == NULL && l.next_token == NULL);
	}
}

static void
test_upload_id(void)
{
	static const char xml[] = XML_DECL
		"<InitiateMultipartUploadResult " S3_NS ">\n"
		"  <Bucket>example-bucket</Bucket>\n"
		"  <Key>example-object</Key>\n"
		"  <UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA"
		"</UploadId>\n"
		"</InitiateMultipartUploadResult>";
	static const char none[] = "<InitiateMultipartUploadResult><Key>k</Key>"
		"</InitiateMultipartUploadResult>";
	static const char empty[] = "<InitiateMultipartUploadResult><UploadId></UploadId>"
		"</InitiateMultipartUploadResult>";
	char *id;

	CHECK_INT(s3_xml_upload_id(xml, strlen(xml), &id), 0);
	CHECK_STR(id, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
	free(id);
	CHECK_INT(s3_xml_upload_id(none, strlen(none), &id), SYNC_ERR_INVALID);
	CHECK(id == NULL);
	CHECK_INT(s3_xml_upload_id(empty, strlen(empty), &id), SYNC_ERR_INVALID);
	CHECK_INT(s3_xml_upload_id("<Error/>", 8, &id), SYNC_ERR_INVALID);
}

static void
test_parts(void)
{
	static const char xml[] = XML_DECL
		"<ListPartsResult " S3_NS ">\n"
		"  <Bucket>example-bucket</Bucket>\n"
		"  <Key>example-object</Key>\n"
		"  <UploadId>XXBsb2FkIElEIGZvciBlbHZpbmcncyVcdS1tb3ZpZS5tMnRzEEEwbG9hZA"
		"</UploadId>\n"
		"  <PartNumberMarker>1</PartNumberMarker>\n"
		"  <NextPartNumberMarker>3</NextPartNumberMarker>\n"
		"  <MaxParts>2</MaxParts>\n"
		"  <IsTruncated>true</IsTruncated>\n"
		"  <Part>\n"
		"    <PartNumber>2</PartNumber>\n"
		"    <LastModified>2010-11-10T20:48:34.000Z</LastModified>\n"
		"    <ETag>\"7778aef83f66abc1fa1e8477f296d394\"</ETag>\n"
		"    <Size>10485760</Size>\n"
		"  </Part>\n"
		"  <Part>\n"
		"    <PartNumber>3</PartNumber>\n"
		"    <LastModified>2010-11-10T20:48:33.000Z</LastModified>\n"
		"    <ETag>\"aaaa18db4cc2f85cedef654fccc4a4x8\"</ETag>\n"
		"    <Size>10485760</Size>\n"
		"  </Part>\n"
		"</ListPartsResult>";
	static const char *const bad[] = {
		"<ListPartsResult><Part><PartNumber>0</PartNumber><ETag>e</ETag>"
		"<Size>1</Size></Part></ListPartsResult>",
		"<ListPartsResult><Part><PartNumber>10001</PartNumber><ETag>e</ETag>"
		"<Size>1</Size></Part></ListPartsResult>",
		"<ListPartsResult><Part><PartNumber>1</PartNumber><Size>1</Size></Part>"
		"</ListPartsResult>",
		"<ListPartsResult><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part>"
		"</ListPartsResult>",
		"<ListPartsResult><NextPartNumberMarker>x</NextPartNumberMarker>"
		"</ListPartsResult>",
		"<ListPartsResult><Part><PartNumber>1",
	};
	struct s3_parts p;

	CHECK_INT(s3_xml_parts(xml, strlen(xml), &p), 0);
	CHECK_INT(p.nparts, 2);
	CHECK_INT(p.parts[0].number, 2);
	CHECK(p.parts[0].size == 10485760);
	CHECK_STR(p.parts[0].etag, "\"7778aef83f66abc1fa1e8477f296d394\"");
	CHECK_INT(p.parts[1].number, 3);
	CHECK(p.truncated);
	CHECK_INT(p.next_marker, 3);
	s3_parts_release(&p);

	CHECK_INT(s3_xml_parts("<ListPartsResult/>", 18, &p), 0);
	CHECK_INT(p.nparts, 0);
	CHECK_INT(p.next_marker, 0);
	CHECK(!p.truncated);
	s3_parts_release(&p);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(s3_xml_parts(bad[i], strlen(bad[i]), &p), SYNC_ERR_INVALID);
		CHECK(p.parts == NULL && p.nparts == 0);
	}
}

static void
test_uploads(void)
{
	static const char xml[] = XML_DECL
		"<ListMultipartUploadsResult " S3_NS ">\n"
		"  <Bucket>bucket</Bucket>\n"
		"  <KeyMarker></KeyMarker>\n"
		"  <UploadIdMarker></UploadIdMarker>\n"
		"  <NextKeyMarker>my-movie.m2ts</NextKeyMarker>\n"
		"  <NextUploadIdMarker>YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ"
		"</NextUploadIdMarker>\n"
		"  <MaxUploads>3</MaxUploads>\n"
		"  <IsTruncated>true</IsTruncated>\n"
		"  <Upload>\n"
		"    <Key>my-divisor</Key>\n"
		"    <UploadId>XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw</UploadId>\n"
		"    <Initiator><ID>arn:aws:iam::111122223333:user/user1</ID>"
		"<DisplayName>user1</DisplayName></Initiator>\n"
		"    <StorageClass>STANDARD</StorageClass>\n"
		"    <Initiated>2010-11-10T20:48:33.000Z</Initiated>\n"
		"  </Upload>\n"
		"  <Upload>\n"
		"    <Key>my-movie.m2ts</Key>\n"
		"    <UploadId>VXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA"
		"</UploadId>\n"
		"  </Upload>\n"
		"</ListMultipartUploadsResult>";
	static const char url[] =
		"<ListMultipartUploadsResult><EncodingType>url</EncodingType>"
		"<NextKeyMarker>a+b%2B</NextKeyMarker><IsTruncated>false</IsTruncated>"
		"<Upload><Key>a+b%2B</Key><UploadId>u</UploadId></Upload>"
		"</ListMultipartUploadsResult>";
	static const char no_id[] =
		"<ListMultipartUploadsResult><Upload><Key>k</Key></Upload>"
		"</ListMultipartUploadsResult>";
	struct s3_uploads u;

	CHECK_INT(s3_xml_uploads(xml, strlen(xml), &u), 0);
	CHECK_INT(u.nuploads, 2);
	CHECK_STR(u.uploads[0].key, "my-divisor");
	CHECK_STR(u.uploads[0].upload_id, "XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw");
	CHECK_STR(u.uploads[0].initiated, "2010-11-10T20:48:33.000Z");
	CHECK_STR(u.uploads[1].key, "my-movie.m2ts");
	CHECK(u.uploads[1].initiated == NULL);
	CHECK(u.truncated);
	CHECK_STR(u.next_key_marker, "my-movie.m2ts");
	CHECK_STR(u.next_upload_id_marker, "YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ");
	s3_uploads_release(&u);

	CHECK_INT(s3_xml_uploads(url, strlen(url), &u), 0);
	CHECK_STR(u.uploads[0].key, "a b+");
	CHECK_STR(u.next_key_marker, "a b+");
	CHECK(u.next_upload_id_marker == NULL);
	s3_uploads_release(&u);

	CHECK_INT(s3_xml_uploads(no_id, strlen(no_id), &u), SYNC_ERR_INVALID);
	CHECK(u.uploads == NULL && u.nuploads == 0);
	CHECK_INT(s3_xml_uploads("<ListPartsResult/>", 18, &u), SYNC_ERR_INVALID);
}

static void
test_complete(void)
{
	static const char ok[] = XML_DECL
		"<CompleteMultipartUploadResult " S3_NS ">\n"
		"  <Location>http://Example-Bucket.s3.region.amazonaws.com/Example-Object"
		"</Location>\n"
		"  <Bucket>Example-Bucket</Bucket>\n"
		"  <Key>Example-Object</Key>\n"
		"  <ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag>\n"
		"</CompleteMultipartUploadResult>";
	/* 200 OK, blanks sent while it worked, then the failure. */
	static const char failed[] = "\n  \n  " XML_DECL
		"<Error>\n"
		"  <Code>InternalError</Code>\n"
		"  <Message>We encountered an internal error. Please try again.</Message>\n"
		"  <RequestId>656c76696e6727732072657175657374</RequestId>\n"
		"  <HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==</HostId>\n"
		"</Error>";
	static const char no_etag[] = "<CompleteMultipartUploadResult><Key>k</Key>"
		"</CompleteMultipartUploadResult>";
	struct s3_error e;
	char *etag;

	CHECK_INT(s3_xml_complete(ok, strlen(ok), &etag, &e), 0);
	CHECK_STR(etag, "\"3858f62230ac3c915f300c664312c11f-9\"");
	CHECK(e.code == NULL);
	free(etag);

	CHECK_INT(s3_xml_complete(failed, strlen(failed), &etag, &e), 1);
	CHECK(etag == NULL);
	CHECK_STR(e.code, "InternalError");
	CHECK_STR(e.request_id, "656c76696e6727732072657175657374");
	s3_error_release(&e);

	/* The gateway's: the ETag only in a header. */
	CHECK_INT(s3_xml_complete(no_etag, strlen(no_etag), &etag, &e), 0);
	CHECK(etag == NULL);
	CHECK(etag == NULL);
	CHECK_INT(s3_xml_complete("<Complete", 9, &etag, &e), SYNC_ERR_INVALID);
	CHECK_INT(s3_xml_complete("<DeleteResult/>", 15, &etag, &e), SYNC_ERR_INVALID);
}

/* Read a body back with libxml2 and collect the text of each element called name. */
static size_t
collect(const struct strbuf *body, const char *root, const char *name, char **out, size_t max)
{
	xmlDocPtr doc = xmlReadMemory(body->buf, (int)body->len, NULL, NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	size_t n = 0;

	if (!doc)
		return 0;
	if (strcmp((const char *)xmlDocGetRootElement(doc)->name, root)) {
		xmlFreeDoc(doc);
		return 0;
	}
	for (xmlNodePtr a = xmlDocGetRootElement(doc)->children; a; a = a->next)
		for (xmlNodePtr b = a->children; b; b = b->next)
			if (b->type == XML_ELEMENT_NODE && !strcmp((const char *)b->name, name)
			    && n < max) {
				xmlChar *c = xmlNodeGetContent(b);

				out[n++] = strdup((const char *)c);
				xmlFree(c);
			}
	xmlFreeDoc(doc);
	return n;
}

static void
test_complete_body(void)
{
	static const struct s3_part parts[] = {
		{ 1, 5, (char *)"\"a54357aff0632cce46d942af68356b38\"" },
		{ 2, 5, (char *)"\"0c78aef83f66abc1fa1e8477f296d394\"" },
		{ 10000, 1, (char *)"<&'\">" },
	};
	struct strbuf body = STRBUF_INIT;
	char *got[8];
	size_t n;

	strbuf_addstr(&body, XML_DECL);
	s3_xml_complete_body(parts, 3, &body);
	CHECK(strstr(body.buf, "<Part><PartNumber>1</PartNumber><ETag>&quot;a5435") != NULL);
	CHECK(strstr(body.buf, "<ETag>&lt;&amp;&apos;&quot;&gt;</ETag>") != NULL);

	n = collect(&body, "CompleteMultipartUpload", "ETag", got, 8);
	CHECK_INT(n, 3);
	for (size_t i = 0; i < n; i++) {
		CHECK_STR(got[i], parts[i].etag);
		free(got[i]);
	}
	n = collect(&body, "CompleteMultipartUpload", "PartNumber", got, 8);
	CHECK_INT(n, 3);
	if (n == 3) {
		CHECK_STR(got[0], "1");
		CHECK_STR(got[2], "10000");
	}
	for (size_t i = 0; i < n; i++)
		free(got[i]);
	strbuf_release(&body);

	/* No parts: still a document. */
	s3_xml_complete_body(NULL, 0, &body);
	CHECK_STR(body.buf, "<CompleteMultipartUpload></CompleteMultipartUpload>");
	strbuf_release(&body);
}

static void
test_delete_body(void)
{
	/* Tab, newline and CR are XML characters; the CR must survive the parser. */
	static const char *const keys[] = {
		"photos/a & b.jpg", "<x>'\"", "tab\there", "line\nbreak", "cr\rhere",
		"crlf\r\n", "caf\303\251 \360\237\230\200", " ",
	};
	static const struct {
		const char *key;
	} refused[] = {
		{ "nul\001" }, { "\037unit" }, { "esc\033" },
		{ "\377not utf-8" }, { "\300\200overlong" }, { "\355\240\200surrogate" },
		{ "\357\277\276fffe" }, { "\364\220\200\200past" }, { "\303cut" },
	};
	struct strbuf body = STRBUF_INIT;
	size_t n = sizeof(keys) / sizeof(keys[0]), bad = 99;
	char *got[16];
	size_t m;

	CHECK_INT(s3_xml_delete_body(keys, n, &body, &bad), 0);
	CHECK_INT(bad, 99);
	CHECK(!strncmp(body.buf, "<Delete><Quiet>true</Quiet><Object><Key>", 40));
	CHECK(strstr(body.buf, "cr&#13;here") != NULL);
	m = collect(&body, "Delete", "Key", got, 16);
	CHECK_INT(m, n);
	for (size_t i = 0; i < m; i++) {
		CHECK_STR(got[i], keys[i]);
		free(got[i]);
	}
	strbuf_release(&body);

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const char *k[] = { "fine", "also fine", refused[i].key };

		strbuf_addstr(&body, "kept");
		bad = 99;
		CHECK_INT(s3_xml_delete_body(k, 3, &body, &bad), SYNC_ERR_INVALID);
		CHECK_INT(bad, 2);
		CHECK_STR(body.buf, "kept");
		strbuf_release(&body);
	}
}

static void
test_delete_errors(void)
{
	static const char xml[] = XML_DECL
		"<DeleteResult " S3_NS ">\n"
		"  <Deleted><Key>sample1.txt</Key></Deleted>\n"
		"  <Error>\n"
		"    <Key>sample2.txt</Key>\n"
		"    <Code>AccessDenied</Code>\n"
		"    <Message>Access Denied</Message>\n"
		"  </Error>\n"
		"  <Error><Key>a &lt; b</Key><Code>InternalError</Code></Error>\n"
		"</DeleteResult>";
	static const char none[] = "<DeleteResult><Deleted><Key>k</Key></Deleted></DeleteResult>";
	static const char no_code[] = "<DeleteResult><Error><Key>k</Key></Error></DeleteResult>";
	struct s3_delete_error *v;
	size_t n;

	CHECK_INT(s3_xml_delete_errors(xml, strlen(xml), &v, &n), 0);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_STR(v[0].key, "sample2.txt");
		CHECK_STR(v[0].code, "AccessDenied");
		CHECK_STR(v[0].message, "Access Denied");
		CHECK_STR(v[1].key, "a < b");
		CHECK(v[1].message == NULL);
	}
	s3_delete_errors_release(v, n);

	CHECK_INT(s3_xml_delete_errors(none, strlen(none), &v, &n), 0);
	CHECK_INT(n, 0);
	s3_delete_errors_release(v, n);

	CHECK_INT(s3_xml_delete_errors(no_code, strlen(no_code), &v, &n), SYNC_ERR_INVALID);
	CHECK(v == NULL && n == 0);
	CHECK_INT(s3_xml_delete_errors("<Error/>", 8, &v, &n), SYNC_ERR_INVALID);
}

int
main(void)
{
	test_error();
	test_listing();
	test_listing_url();
	test_listing_bad();
	test_upload_id();
	test_parts();
	test_uploads();
	test_complete();
	test_complete_body();
	test_delete_body();
	test_delete_errors();
	xmlCleanupParser();
	return unit_done("test-s3-xml");
}
