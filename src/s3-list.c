/* s3-list: the objects under a prefix, page by page (s3-list.h). */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "s3-list.h"

int
s3_list_prefix(struct s3_client *cl, const char *prefix,
	       int (*fn)(const struct s3_object *o, void *ctx), void *ctx,
	       struct strbuf *why)
{
	struct strbuf q = STRBUF_INIT;
	char *token = NULL;
	int rc = 0;

	for (;;) {
		struct s3_listing l;
		struct s3_call c;
		size_t k;
		bool more;

		/* The query's pairs in the order SigV4 signs them (by name). */
		strbuf_reset(&q);
		if (token) {
			strbuf_addstr(&q, "continuation-token=");
			s3_uri_encode(&q, token, false);
			strbuf_addch(&q, '&');
		}
		strbuf_addstr(&q, "encoding-type=url&list-type=2&prefix=");
		s3_uri_encode(&q, prefix, false);
		s3_call_init(&c, "GET", NULL);
		c.query = q.buf;
		if (s3_run(cl, &c, 1, 1) < 0) {
			strbuf_addstr(why, s3_call_reason(&c));
			rc = SYNC_ERR_REMOTE;
		} else if (s3_xml_listing(c.reply.buf, c.reply.len, &l) < 0) {
			strbuf_addstr(why, "ListObjectsV2: an answer that cannot be read");
			rc = SYNC_ERR_REMOTE;
		}
		s3_call_release(&c);
		if (rc < 0)
			break;
		for (k = 0; k < l.nobjects && rc == 0; k++)
			rc = fn(&l.objects[k], ctx);
		/* Truncated without a token, or with the last one, would list for ever. */
		more = l.truncated && l.next_token && rc == 0;
		if (l.truncated && rc == 0 &&
		    (!l.next_token || (token && strcmp(token, l.next_token) == 0))) {
			strbuf_addstr(why, l.next_token ?
				      "ListObjectsV2: the same page asked again" :
				      "ListObjectsV2: a truncated answer without a token");
			more = false;
			rc = SYNC_ERR_REMOTE;
		}
		free(token);
		token = more ? xstrdup(l.next_token) : NULL;
		s3_listing_release(&l);
		if (!more)
			break;
	}
	free(token);
	strbuf_release(&q);
	return rc;
}
