/* Unit tests for link-groups: the names of hard-linked files, grouped. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "link-groups.h"
#include "util.h"
#include "unit.h"

/* The names link_groups_names gives, '|' between them. */
static char *
names_of(struct link_groups *lg, size_t *n)
{
	struct strbuf out = STRBUF_INIT, shown = STRBUF_INIT;
	size_t i;

	*n = link_groups_names(lg, &out);
	for (i = 0; i < out.len; i++)
		strbuf_addch(&shown, out.buf[i] ? out.buf[i] : '|');
	strbuf_release(&out);
	return strbuf_detach(&shown, NULL);
}

int
main(void)
{
	struct link_groups lg = LINK_GROUPS_INIT;
	size_t n;
	char *got;

	got = names_of(&lg, &n);
	CHECK_STR(got, "");
	CHECK_INT(n, 0);
	free(got);

	/* Two groups, a name alone (its other names outside the walk), another device. */
	link_groups_add(&lg, 1, 20, "src/z/first");
	link_groups_add(&lg, 1, 10, "src/a");
	link_groups_add(&lg, 1, 30, "src/alone");
	link_groups_add(&lg, 2, 10, "src/other-device");
	link_groups_add(&lg, 1, 10, "src/b/new\nline");
	link_groups_add(&lg, 1, 20, "src/y/second");
	link_groups_add(&lg, 1, 10, "src/c");
	got = names_of(&lg, &n);
	CHECK_STR(got, "src/a|src/b/new\nline|src/c|src/z/first|src/y/second|");
	CHECK_INT(n, 5);
	free(got);
	link_groups_release(&lg);
	link_groups_release(&lg);
	return unit_done("test-link-groups");
}
