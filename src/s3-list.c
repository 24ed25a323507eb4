/*
 * s3-list: ListObjectsV2 page after page, one page in memory.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "s3-list.h"

/* The query of the page after token (NULL: the first), its pairs in the order SigV4 signs. */
static void
s3_list_query(const char *prefix, const char *token, struct strbuf *q)
{
	strbuf_reset(q);
	if (token) {
		strbuf_addstr(q, "continuation-token=");
		s3_uri_encode(q, token, false);
		strbuf_addch(q, '&');
	}
	strbuf_addstr(q, "encoding-type=url&list-type=2&prefix=");
	s3_uri_encode(q, prefix, false);
}

int
s3_list_prefix(struct s3_client *cl, const char *prefix, s3_list_fn fn, void *ctx,
	       char **reason)
{
	struct strbuf q = STRBUF_INIT;
	char *token = NULL;
	int rc = 0;

	*reason = NULL;
	do {
		struct s3_listing page;
		struct s3_call c;
		size_t k;

		s3_list_query(prefix, token, &q);
		s3_call_init(&c, "GET", NULL);
		c.query = q.buf;
		if (s3_run(cl, &c, 1, 1) < 0) {
			*reason = xasprintf("ListObjectsV2: %s", s3_call_reason(&c));
			rc = SYNC_ERR_REMOTE;
		} else if (s3_xml_listing(c.reply.buf, c.reply.len, &page) < 0) {
			*reason = xstrdup("ListObjectsV2: the server's answer cannot be read");
			rc = SYNC_ERR_REMOTE;
		}
		s3_call_release(&c);
		if (rc < 0)
			break;
		for (k = 0; k < page.nobjects && rc == 0; k++)
			rc = fn(&page.objects[k], ctx);
		/* The same token again would go round for ever. */
		if (rc == 0 && page.truncated && token && strcmp(token, page.next_token) == 0) {
			*reason = xstrdup("ListObjectsV2: the server gave the same page again");
			rc = SYNC_ERR_REMOTE;
		}
		free(token);
		token = rc == 0 && page.truncated ? xstrdup(page.next_token) : NULL;
		s3_listing_release(&page);
	} while (token);
	strbuf_release(&q);
	return rc;
}
