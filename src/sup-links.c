/*
 * sup-links: -H across batches. Each rsync of the transfer keeps the hard
 * links among the names it sends (-H); names of one file that went in
 * different batches (or in pieces) arrive as files of their own. Once
 * every unit has arrived, one rsync -H of all the names of every file
 * named more than once makes each group one file there again: rsync links
 * a name to the group's first where it is not linked to it yet, and finds
 * nothing to do where it is. It also gives the directories it linked in
 * their times back (their implied directories).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sup-internal.h"

/* The names' list, in the private directory; false (said) when it cannot be written. */
static bool
links_write_list(struct sup *s, const struct strbuf *names)
{
	int fd = open(s->links_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	bool ok = fd >= 0 && write_all(fd, names->buf, names->len) == 0;

	if (fd >= 0 && close(fd) < 0)
		ok = false;
	if (!ok)
		set_failure(s, "cannot write '%s': %s", s->links_file, strerror(errno));
	return ok;
}

void
links_pass(struct sup *s)
{
	struct strbuf names = STRBUF_INIT;
	size_t n;

	if (!(s->cfg->preserve & RSYNC_HARD_LINKS) || got_stop_signal || s->failure != NULL ||
	    s->units_failed || s->links.nr == 0)
		return;
	n = link_groups_names(&s->links, &names);
	if (n > 0) {
		if (s->links_file == NULL)
			s->links_file = xasprintf("%s/links", s->tmpdir);
		if (links_write_list(s, &names)) {
			log_info("linking the %zu names of files named more than once (-H)", n);
			run_loop(s, JOB_LINKS);
		}
	}
	strbuf_release(&names);
}
