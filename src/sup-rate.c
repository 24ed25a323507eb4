/*
 * sup-rate: --bwlimit for the transfer as a whole. Its rsyncs and pieces
 * here share one token bucket (shaper.h) in the private directory, which
 * `scow-sync limit` rewrites while they run. What runs elsewhere (on a
 * Slurm node, from a relaying host) cannot reach it: each such rsync gets
 * an equal share of the rate at its start, by rsync's own --bwlimit.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "log.h"
#include "shaper.h"
#include "sup-internal.h"

void
rate_setup(struct sup *s)
{
	unsigned long kib = s->cfg->bwlimit_kib;
	struct transfer_options o;

	/* As recorded now: `limit` may have changed it since the run began (a watch's cycles). */
	if (store_transfer_options(s->st, s->t.id, &o) == 0 && o.bwlimit_kib >= 0)
		kib = (unsigned long)o.bwlimit_kib;
	free(s->shaper_path);
	s->shaper_path = xasprintf("%s/" SHAPER_FILE, s->tmpdir);
	/* Without it, each rsync and piece gets a share of the rate instead (rate_share_kib). */
	if (shaper_create(s->shaper_path, (uint64_t)kib * 1024) < 0 ||
	    shaper_open(s->shaper_path, &s->shaper) < 0)
		log_warn("cannot make the transfer's rate file '%s': %s; each rsync gets a "
			 "share of --bwlimit", s->shaper_path, strerror(errno));
	/* An object store's helpers each take the rate (transport-s3.c): not the whole's. */
	if (kib && s->transport == &transport_rsync) {
		struct strbuf shown = STRBUF_INIT;

		fmt_rate(&shown, (double)kib * 1024);
		log_info("at most %s for the whole transfer (--bwlimit)", shown.buf);
		strbuf_release(&shown);
	}
}

void
rate_release(struct sup *s)
{
	shaper_close(s->shaper);
	s->shaper = NULL;
	free(s->shaper_path);
	s->shaper_path = NULL;
}

unsigned long
rate_kib(struct sup *s)
{
	return s->shaper ? (unsigned long)(shaper_rate(s->shaper) / 1024) : s->cfg->bwlimit_kib;
}

unsigned long
rate_share_kib(struct sup *s)
{
	unsigned long kib = rate_kib(s);
	int n = s->active_workers > 0 ? s->active_workers : 1;

	if (kib == 0)
		return 0;
	return kib / (unsigned long)n > 0 ? kib / (unsigned long)n : 1;
}

const char *
rate_rsh(struct sup *s, const char *rsh, struct strbuf *shaped)
{
	const char *words[] = { s->cfg->self_path, "__shape", NULL, NULL };

	if (s->shaper == NULL || shaper_rate(s->shaper) == 0)
		return rsh;
	words[2] = s->shaper_path;
	strbuf_reset(shaped);
	for (size_t i = 0; words[i]; i++) {
		rsync_rsh_quote(shaped, words[i]);
		strbuf_addch(shaped, ' ');
	}
	strbuf_addstr(shaped, rsh);
	return shaped->buf;
}
