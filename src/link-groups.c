/* link-groups: the names of hard-linked files, grouped by the file they name. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "link-groups.h"

void
link_groups_release(struct link_groups *lg)
{
	free(lg->v);
	lg->v = NULL;
	lg->nr = lg->alloc = 0;
	strbuf_release(&lg->names);
}

void
link_groups_add(struct link_groups *lg, dev_t dev, ino_t ino, const char *path)
{
	ALLOC_GROW(lg->v, lg->nr, lg->alloc);
	lg->v[lg->nr].dev = dev;
	lg->v[lg->nr].ino = ino;
	lg->v[lg->nr].at = lg->names.len;
	lg->nr++;
	strbuf_addstr(&lg->names, path);
	strbuf_addch(&lg->names, '\0');
}

/* By file, then in the order added (at grows with it): a stable grouping. */
static int
link_name_cmp(const void *a, const void *b)
{
	const struct link_name *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

size_t
link_groups_names(struct link_groups *lg, struct strbuf *out)
{
	size_t i = 0, j, n = 0;

	if (lg->nr == 0)
		return 0;
	qsort(lg->v, lg->nr, sizeof *lg->v, link_name_cmp);
	while (i < lg->nr) {
		for (j = i + 1; j < lg->nr && lg->v[j].dev == lg->v[i].dev &&
		     lg->v[j].ino == lg->v[i].ino; j++)
			;
		if (j - i >= 2) {
			for (; i < j; i++, n++) {
				strbuf_addstr(out, lg->names.buf + lg->v[i].at);
				strbuf_addch(out, '\0');
			}
		}
		i = j;
	}
	return n;
}
