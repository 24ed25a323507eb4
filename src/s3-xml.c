/*
 * s3-xml: the XML of the S3 API (see s3-xml.h).
 *
 * Replies are parsed whole with libxml2 and walked by the local names of
 * their elements, so that the S3 namespace (or its absence, as some
 * compatible stores answer) does not matter. Documents with a DTD are
 * refused: S3 never sends one, and refusing it keeps entity tricks out.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "s3-xml.h"

/* Parse len bytes at xml into *doc and check that its root is called root. */
static int
parse(const char *xml, size_t len, const char *root, xmlDocPtr *doc)
{
	xmlDocPtr d;
	xmlNodePtr r;

	*doc = NULL;
	/*
	 * S3 may send blanks before a reply it is still working on (a long
	 * CompleteMultipartUpload); XML allows none before the declaration.
	 */
	while (len > 0 && (*xml == ' ' || *xml == '\t' || *xml == '\r' || *xml == '\n')) {
		xml++;
		len--;
	}
	if (len == 0 || len > INT_MAX)
		return SYNC_ERR_INVALID;
	/* No network, no entity substitution, and no word to stderr. */
	d = xmlReadMemory(xml, (int)len, NULL, NULL,
			  XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
			  XML_PARSE_NOWARNING);
	if (!d)
		return SYNC_ERR_INVALID;
	r = xmlDocGetRootElement(d);
	if (d->intSubset || d->extSubset || !r || strcmp((const char *)r->name, root)) {
		xmlFreeDoc(d);
		return SYNC_ERR_INVALID;
	}
	*doc = d;
	return 0;
}

/* Return the first element called name among n and the siblings after it. */
static xmlNodePtr
find_elem(xmlNodePtr n, const char *name)
{
	for (; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name))
			return n;
	return NULL;
}

static xmlNodePtr
child(xmlNodePtr parent, const char *name)
{
	return find_elem(parent->children, name);
}

/* Return the text of node; caller frees. */
static char *
text_of(xmlNodePtr n)
{
	xmlChar *c = xmlNodeGetContent(n);
	char *s = xstrdup(c ? (const char *)c : "");

	xmlFree(c);
	return s;
}

/* Return the text of parent's child called name, or NULL when it has none. */
static char *
child_text(xmlNodePtr parent, const char *name)
{
	xmlNodePtr n = child(parent, name);

	return n ? text_of(n) : NULL;
}

/* Read the child called name as a whole number in [min, max]. */
static int
child_number(xmlNodePtr parent, const char *name, unsigned long long min,
	     unsigned long long max, unsigned long long *out)
{
	char *s = child_text(parent, name);
	int ret;

	if (!s)
		return SYNC_ERR_INVALID;
	ret = parse_ullong(s, min, max, out);
	free(s);
	return ret;
}

/* Read the child called name as "true" or "false"; false when absent. */
static int
child_bool(xmlNodePtr parent, const char *name, bool *out)
{
	char *s = child_text(parent, name);
	int ret = 0;

	*out = false;
	if (!s)
		return 0;
	if (!strcmp(s, "true"))
		*out = true;
	else if (strcmp(s, "false"))
		ret = SYNC_ERR_INVALID;
	free(s);
	return ret;
}

/* Return the text of the child called name, NULL when absent or empty; caller frees. */
static char *
child_text_or_null(xmlNodePtr parent, const char *name)
{
	char *s = child_text(parent, name);

	if (s && !*s) {
		free(s);
		s = NULL;
	}
	return s;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode *s in place as S3 encodes keys for encoding-type=url: %XX for a
 * byte, and '+' for a space (S3 writes a space as '+' and a '+' as %2B,
 * as form encoding does; the AWS SDKs decode with unquote_plus).
 */
static int
url_decode(char *s)
{
	char *w = s;

	for (const char *r = s; *r; r++) {
		if (*r == '+') {
			*w++ = ' ';
		} else if (*r == '%') {
			int hi = hex_digit(r[1]), lo = hi < 0 ? -1 : hex_digit(r[2]);

			if (hi < 0 || lo < 0)
				return SYNC_ERR_INVALID;
			*w++ = (char)(hi << 4 | lo);
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return 0;
}

/* Whether the reply under root says <EncodingType>url</EncodingType>. */
static bool
url_encoded(xmlNodePtr root)
{
	char *s = child_text(root, "EncodingType");
	bool url = s && !strcmp(s, "url");

	free(s);
	return url;
}

/* Fill e from the <Error> element n. */
static void
read_error(xmlNodePtr n, struct s3_error *e)
{
	e->code = child_text(n, "Code");
	e->message = child_text(n, "Message");
	e->resource = child_text(n, "Resource");
	e->request_id = child_text(n, "RequestId");
}

int
s3_xml_error(const char *xml, size_t len, struct s3_error *out)
{
	xmlDocPtr doc;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = parse(xml, len, "Error", &doc);
	if (ret < 0)
		return ret;
	read_error(xmlDocGetRootElement(doc), out);
	xmlFreeDoc(doc);
	return 0;
}

void
s3_error_release(struct s3_error *e)
{
	if (!e)
		return;
	free(e->code);
	free(e->message);
	free(e->resource);
	free(e->request_id);
	memset(e, 0, sizeof(*e));
}

/* Read one <Contents> of a listing into o; url: its key is URL-encoded. */
static int
read_object(xmlNodePtr n, bool url, struct s3_object *o)
{
	unsigned long long size;

	o->key = child_text(n, "Key");
	if (!o->key || (url && url_decode(o->key) < 0))
		return SYNC_ERR_INVALID;
	if (child_number(n, "Size", 0, UINT64_MAX, &size) < 0)
		return SYNC_ERR_INVALID;
	o->size = size;
	o->etag = child_text(n, "ETag");
	o->last_modified = child_text(n, "LastModified");
	return 0;
}

int
s3_xml_listing(const char *xml, size_t len, struct s3_listing *out)
{
	xmlDocPtr doc;
	xmlNodePtr root, n;
	size_t alloc_o = 0, alloc_p = 0;
	bool url;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = parse(xml, len, "ListBucketResult", &doc);
	if (ret < 0)
		return ret;
	root = xmlDocGetRootElement(doc);
	url = url_encoded(root);
	ret = child_bool(root, "IsTruncated", &out->truncated);
	if (ret < 0)
		goto out;
	for (n = child(root, "Contents"); n; n = find_elem(n->next, "Contents")) {
		ALLOC_GROW(out->objects, out->nobjects, alloc_o);
		memset(&out->objects[out->nobjects], 0, sizeof(*out->objects));
		ret = read_object(n, url, &out->objects[out->nobjects++]);
		if (ret < 0)
			goto out;
	}
	for (n = child(root, "CommonPrefixes"); n; n = find_elem(n->next, "CommonPrefixes")) {
		char *p = child_text(n, "Prefix");

		if (!p || (url && url_decode(p) < 0)) {
			free(p);
			ret = SYNC_ERR_INVALID;
			goto out;
		}
		ALLOC_GROW(out->prefixes, out->nprefixes, alloc_p);
		out->prefixes[out->nprefixes++] = p;
	}
	out->next_token = child_text_or_null(root, "NextContinuationToken");
	/* A listing cut short must say where to go on. */
	if (out->truncated && !out->next_token)
		ret = SYNC_ERR_INVALID;
out:
	xmlFreeDoc(doc);
	if (ret < 0)
		s3_listing_release(out);
	return ret;
}

void
s3_listing_release(struct s3_listing *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nobjects; i++) {
		free(l->objects[i].key);
		free(l->objects[i].etag);
		free(l->objects[i].last_modified);
	}
	free(l->objects);
	for (size_t i = 0; i < l->nprefixes; i++)
		free(l->prefixes[i]);
	free(l->prefixes);
	free(l->next_token);
	memset(l, 0, sizeof(*l));
}

int
s3_xml_upload_id(const char *xml, size_t len, char **upload_id)
{
	xmlDocPtr doc;
	int ret;

	*upload_id = NULL;
	ret = parse(xml, len, "InitiateMultipartUploadResult", &doc);
	if (ret < 0)
		return ret;
	*upload_id = child_text_or_null(xmlDocGetRootElement(doc), "UploadId");
	xmlFreeDoc(doc);
	return *upload_id ? 0 : SYNC_ERR_INVALID;
}

/* S3 numbers parts from 1 to 10000. */
#define S3_MAX_PARTS 10000

int
s3_xml_parts(const char *xml, size_t len, struct s3_parts *out)
{
	xmlDocPtr doc;
	xmlNodePtr root, n;
	size_t alloc = 0;
	unsigned long long v;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = parse(xml, len, "ListPartsResult", &doc);
	if (ret < 0)
		return ret;
	root = xmlDocGetRootElement(doc);
	ret = child_bool(root, "IsTruncated", &out->truncated);
	if (ret < 0)
		goto out;
	if (child(root, "NextPartNumberMarker")) {
		ret = child_number(root, "NextPartNumberMarker", 0, S3_MAX_PARTS, &v);
		if (ret < 0)
			goto out;
		out->next_marker = (int)v;
	}
	for (n = child(root, "Part"); n; n = find_elem(n->next, "Part")) {
		struct s3_part *p;

		ALLOC_GROW(out->parts, out->nparts, alloc);
		p = &out->parts[out->nparts++];
		memset(p, 0, sizeof(*p));
		ret = child_number(n, "PartNumber", 1, S3_MAX_PARTS, &v);
		if (ret < 0)
			goto out;
		p->number = (int)v;
		ret = child_number(n, "Size", 0, UINT64_MAX, &v);
		if (ret < 0)
			goto out;
		p->size = v;
		p->etag = child_text(n, "ETag");
		if (!p->etag) {
			ret = SYNC_ERR_INVALID;
			goto out;
		}
	}
out:
	xmlFreeDoc(doc);
	if (ret < 0)
		s3_parts_release(out);
	return ret;
}

void
s3_parts_release(struct s3_parts *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nparts; i++)
		free(p->parts[i].etag);
	free(p->parts);
	memset(p, 0, sizeof(*p));
}

int
s3_xml_uploads(const char *xml, size_t len, struct s3_uploads *out)
{
	xmlDocPtr doc;
	xmlNodePtr root, n;
	size_t alloc = 0;
	bool url;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = parse(xml, len, "ListMultipartUploadsResult", &doc);
	if (ret < 0)
		return ret;
	root = xmlDocGetRootElement(doc);
	url = url_encoded(root);
	ret = child_bool(root, "IsTruncated", &out->truncated);
	if (ret < 0)
		goto out;
	for (n = child(root, "Upload"); n; n = find_elem(n->next, "Upload")) {
		struct s3_upload *u;

		ALLOC_GROW(out->uploads, out->nuploads, alloc);
		u = &out->uploads[out->nuploads++];
		u->key = child_text(n, "Key");
		u->upload_id = child_text_or_null(n, "UploadId");
		u->initiated = child_text(n, "Initiated");
		if (!u->key || !u->upload_id || (url && url_decode(u->key) < 0)) {
			ret = SYNC_ERR_INVALID;
			goto out;
		}
	}
	out->next_key_marker = child_text_or_null(root, "NextKeyMarker");
	out->next_upload_id_marker = child_text_or_null(root, "NextUploadIdMarker");
	if (url && out->next_key_marker && url_decode(out->next_key_marker) < 0)
		ret = SYNC_ERR_INVALID;
out:
	xmlFreeDoc(doc);
	if (ret < 0)
		s3_uploads_release(out);
	return ret;
}

void
s3_uploads_release(struct s3_uploads *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->nuploads; i++) {
		free(u->uploads[i].key);
		free(u->uploads[i].upload_id);
		free(u->uploads[i].initiated);
	}
	free(u->uploads);
	free(u->next_key_marker);
	free(u->next_upload_id_marker);
	memset(u, 0, sizeof(*u));
}

int
s3_xml_complete(const char *xml, size_t len, char **etag, struct s3_error *err)
{
	xmlDocPtr doc;
	int ret;

	*etag = NULL;
	memset(err, 0, sizeof(*err));
	if (parse(xml, len, "Error", &doc) == 0) {
		read_error(xmlDocGetRootElement(doc), err);
		xmlFreeDoc(doc);
		return 1;
	}
	ret = parse(xml, len, "CompleteMultipartUploadResult", &doc);
	if (ret < 0)
		return ret;
	/* Ceph's RADOS Gateway leaves it empty here and sends it as a header. */
	*etag = child_text_or_null(xmlDocGetRootElement(doc), "ETag");
	xmlFreeDoc(doc);
	return 0;
}

/*
 * Check that the UTF-8 string s holds only characters XML 1.0 can carry
 * (its Char production: tab, newline, CR, U+0020-U+D7FF, U+E000-U+FFFD,
 * U+10000-U+10FFFF) in well-formed UTF-8.
 */
static bool
xml_chars_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned long c;
		int n;

		if (*p < 0x80) {
			if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
				return false;
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			c = *p & 0x1f;
			n = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			c = *p & 0x0f;
			n = 2;
		} else if ((*p & 0xf8) == 0xf0) {
			c = *p & 0x07;
			n = 3;
		} else {
			return false;
		}
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			c = c << 6 | (p[i] & 0x3f);
		}
		/* Overlong forms, surrogates, and what lies past Unicode. */
		if ((n == 1 && c < 0x80) || (n == 2 && c < 0x800) || (n == 3 && c < 0x10000))
			return false;
		if ((c >= 0xd800 && c <= 0xdfff) || c == 0xfffe || c == 0xffff || c > 0x10ffff)
			return false;
		p += n + 1;
	}
	return true;
}

/*
 * Append s escaped for XML element content. A CR goes as &#13;: written
 * raw, the server's parser would turn it (or CR LF) into a newline.
 */
static void
add_escaped(struct strbuf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			strbuf_addstr(out, "&amp;");
			break;
		case '<':
			strbuf_addstr(out, "&lt;");
			break;
		case '>':
			strbuf_addstr(out, "&gt;");
			break;
		case '"':
			strbuf_addstr(out, "&quot;");
			break;
		case '\'':
			strbuf_addstr(out, "&apos;");
			break;
		case '\r':
			strbuf_addstr(out, "&#13;");
			break;
		default:
			strbuf_addch(out, *s);
		}
	}
}

void
s3_xml_complete_body(const struct s3_part *parts, size_t n, struct strbuf *out)
{
	strbuf_addstr(out, "<CompleteMultipartUpload>");
	for (size_t i = 0; i < n; i++) {
		strbuf_addf(out, "<Part><PartNumber>%d</PartNumber><ETag>", parts[i].number);
		add_escaped(out, parts[i].etag ? parts[i].etag : "");
		strbuf_addstr(out, "</ETag></Part>");
	}
	strbuf_addstr(out, "</CompleteMultipartUpload>");
}

int
s3_xml_delete_body(const char *const *keys, size_t n, struct strbuf *out, size_t *bad)
{
	struct strbuf body = STRBUF_INIT;

	/* Built aside, so that a refused key leaves out as it was. */
	strbuf_addstr(&body, "<Delete><Quiet>true</Quiet>");
	for (size_t i = 0; i < n; i++) {
		if (!xml_chars_ok(keys[i])) {
			if (bad)
				*bad = i;
			strbuf_release(&body);
			return SYNC_ERR_INVALID;
		}
		strbuf_addstr(&body, "<Object><Key>");
		add_escaped(&body, keys[i]);
		strbuf_addstr(&body, "</Key></Object>");
	}
	strbuf_addstr(&body, "</Delete>");
	strbuf_add(out, body.buf, body.len);
	strbuf_release(&body);
	return 0;
}

int
s3_xml_delete_errors(const char *xml, size_t len, struct s3_delete_error **out, size_t *n)
{
	xmlDocPtr doc;
	xmlNodePtr root, e;
	size_t alloc = 0;
	int ret;

	*out = NULL;
	*n = 0;
	ret = parse(xml, len, "DeleteResult", &doc);
	if (ret < 0)
		return ret;
	root = xmlDocGetRootElement(doc);
	for (e = child(root, "Error"); e; e = find_elem(e->next, "Error")) {
		struct s3_delete_error *d;

		ALLOC_GROW(*out, *n, alloc);
		d = &(*out)[(*n)++];
		d->key = child_text(e, "Key");
		d->code = child_text(e, "Code");
		d->message = child_text(e, "Message");
		if (!d->key || !d->code) {
			ret = SYNC_ERR_INVALID;
			break;
		}
	}
	xmlFreeDoc(doc);
	if (ret < 0) {
		s3_delete_errors_release(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return ret;
}

void
s3_delete_errors_release(struct s3_delete_error *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].code);
		free(v[i].message);
	}
	free(v);
}
