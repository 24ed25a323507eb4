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
#include <sys/wait.h>
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

/*
 * Leave out of names (n, NUL-terminated) those within a part stopped on
 * request (terminate -s): they are not to arrive. How many are left.
 */
static size_t
links_leave_out_stopped(struct sup *s, struct strbuf *names, size_t n)
{
	struct strbuf kept = STRBUF_INIT;
	struct strvec stopped = STRVEC_INIT;
	size_t at = 0, i, left = 0;

	/* Every part stopped, whenever: units and parts of tree units alike. */
	sup_stopped_parts(s, &stopped);
	if (stopped.nr == 0 || n == 0) {
		strvec_clear(&stopped);
		return n;
	}
	while (at < names->len) {
		const char *name = names->buf + at;
		size_t len = strlen(name);
		bool gone = false;

		for (i = 0; i < stopped.nr && !gone; i++)
			gone = path_is_within(name, stopped.v[i]);
		if (!gone) {
			strbuf_add(&kept, name, len + 1);
			left++;
		}
		at += len + 1;
	}
	strbuf_release(names);
	*names = kept;
	strvec_clear(&stopped);
	return left;
}

int
links_job_finished(struct sup *s, struct worker *w, int status)
{
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	struct strbuf reason = STRBUF_INIT;

	/* Links made in directories above the cut: they need their times again. */
	if (w->changed)
		s->changed = true;
	s->links_again = false;
	/* 24: a name vanished from the source since the walk, as with any rsync. */
	if (code == 0 || code == 24 || got_stop_signal)
		return SYNC_OK;
	last_error_line(w, &reason);
	if (code == 23) {
		/* Some names could not be linked (gone, or refused there); the data arrived. */
		log_warn("could not link every name of the files named more than once: "
			 "rsync %s%s%s", spawn_status_text(status), reason.len ? ": " : "",
			 reason.buf);
	} else if (++s->links_attempts < s->cfg->max_attempts) {
		log_warn("the link pass failed (rsync %s%s%s); trying again",
			 spawn_status_text(status), reason.len ? ": " : "", reason.buf);
		s->links_again = true;
	} else {
		set_failure(s, "cannot link the names of files named more than once: rsync %s%s%s",
			    spawn_status_text(status), reason.len ? ": " : "", reason.buf);
	}
	strbuf_release(&reason);
	return SYNC_OK;
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
	n = links_leave_out_stopped(s, &names, n);
	if (n > 0) {
		if (s->links_file == NULL)
			s->links_file = xasprintf("%s/links", s->tmpdir);
		if (links_write_list(s, &names)) {
			log_info("linking the %zu names of files named more than once (-H)", n);
			s->links_attempts = 0;
			do
				run_loop(s, JOB_LINKS);
			while (s->links_again && !got_stop_signal && s->failure == NULL);
		}
	}
	strbuf_release(&names);
}
