/* sup-plan: walk a transfer's source into units in the store. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compress.h"
#include "log.h"
#include "plan.h"
#include "store.h"
#include "sup-internal.h"
#include "util.h"

#define MKDIR_DIRS_MAX 1000       /* directories one remote mkdir creates at most */
#define MKDIR_BYTES_MAX 65536     /* ... and bytes of its command */

/*
 * The walk's units go to the store in slices of at most PLAN_SLICE_UNITS
 * or PLAN_SLICE_SECONDS of walking, each written in one short transaction
 * of its own: the write lock is held only while a slice is written, never
 * while the source is read, so that starts, terminates and other
 * supervisors get it in between.
 */
#define PLAN_SLICE_UNITS 256
#define PLAN_SLICE_SECONDS 0.05

struct plan_unit {
	enum unit_kind kind;
	char *path;
	struct unit_size size;
};

/* Plan callbacks: record directories in the list file and units in the store. */
struct plan_ctx {
	struct sup *s;
	FILE *dirs;
	uint64_t new_units;
	struct plan_unit slice[PLAN_SLICE_UNITS];
	size_t nslice;
	double slice_started;
};

/* Write the units of the slice in one transaction, and empty it. */
static int
plan_flush(struct plan_ctx *pc)
{
	struct store *st = pc->s->st;
	size_t i;
	int64_t id;
	int rc = SYNC_OK;

	if (pc->nslice > 0 && (rc = store_begin(st)) == SYNC_OK) {
		for (i = 0; i < pc->nslice && rc == SYNC_OK; i++) {
			/* A resumed transfer walks again: the units it has are kept as they are. */
			rc = store_unit_add(st, pc->s->t.id, pc->slice[i].kind, pc->slice[i].path,
					    &pc->slice[i].size, &id);
			pc->new_units += rc == SYNC_OK && id != 0;
		}
		if (rc == SYNC_OK)
			rc = store_commit(st);
		if (rc < 0)
			store_rollback(st);
	}
	for (i = 0; i < pc->nslice; i++)
		free(pc->slice[i].path);
	pc->nslice = 0;
	pc->slice_started = now_monotonic();
	return rc;
}

static int
plan_dir(const char *relpath, void *ctx)
{
	struct plan_ctx *pc = ctx;

	struct sup *s = pc->s;

	if (fwrite(relpath, 1, strlen(relpath) + 1, pc->dirs) != strlen(relpath) + 1)
		return SYNC_ERR_SYSTEM;
	/* Parents come first: the source itself is the first directory. */
	if (!s->source_is_dir)
		s->source_is_dir = true;
	else
		s->source_entries++;
	s->have_dirs = true;
	if (!s->mkdirs_overflow) {
		s->mkdirs_bytes += strlen(relpath) + strlen(s->t.destination) + 4;
		if (s->mkdirs.nr >= MKDIR_DIRS_MAX || s->mkdirs_bytes > MKDIR_BYTES_MAX ||
		    strchr(relpath, '\n') || strchr(s->t.destination, '\n')) {
			s->mkdirs_overflow = true;
			strvec_clear(&s->mkdirs);
		} else
			strvec_push(&s->mkdirs, relpath);
	}
	return 0;
}

static int
plan_unit(enum unit_kind kind, const char *relpath, const struct unit_size *size, void *ctx)
{
	struct plan_ctx *pc = ctx;
	struct plan_unit *pu = &pc->slice[pc->nslice++];
	int rc;

	pu->kind = kind;
	pu->path = xstrdup(relpath);
	pu->size = *size;
	/* The source whole in one unit (-m 0): what is in it, by its files. */
	if (kind == UNIT_TREE && strcmp(relpath, pc->s->source_rel) == 0) {
		pc->s->source_is_dir = true;
		pc->s->source_entries += size->files;
	} else
		pc->s->source_entries++;
	/* What the batches will be like (see one_rsync_takes_all). */
	if (kind == UNIT_FILE && size->bytes > pc->s->largest_file)
		pc->s->largest_file = size->bytes;
	if (kind == UNIT_FILE && size->bytes >= COMPRESS_APART_MIN &&
	    compress_suffix_skipped(relpath))
		pc->s->compressed_files++;
	if (size->bytes / (size->files ? size->files : 1) >= SMALL_FILE_BYTES)
		pc->s->units_not_small++;
	if ((pc->nslice == PLAN_SLICE_UNITS ||
	     now_monotonic() - pc->slice_started > PLAN_SLICE_SECONDS) &&
	    (rc = plan_flush(pc)) < 0)
		return rc;
	return got_stop_signal ? 1 : 0;
}

/* -H: a name of a file with others; the link pass (sup-links.c) makes them one there. */
static void
plan_link(const char *relpath, const struct stat *sb, void *ctx)
{
	struct plan_ctx *pc = ctx;

	link_groups_add(&pc->s->links, sb->st_dev, sb->st_ino, relpath);
}

static int
plan_error(const char *relpath, int errnum, void *ctx)
{
	struct plan_ctx *pc = ctx;
	struct strbuf sb = STRBUF_INIT;

	escape_untrusted(&sb, relpath, strlen(relpath));
	log_error("cannot read '%s': %s", sb.buf, strerror(errnum));
	if (pc->s->walk_error_first == NULL)
		pc->s->walk_error_first = xasprintf("cannot read '%s': %s", sb.buf,
						    strerror(errnum));
	pc->s->walk_errors++;
	strbuf_release(&sb);
	return 0;
}

/* Read how many units there are to do, and how many are done already. */
static int
plan_count_units(struct sup *s)
{
	struct transfer_sizes sz;
	int rc;

	if ((rc = store_transfer_sizes(s->st, s->t.id, &sz)) < 0) {
		set_failure(s, "%s", store_errmsg(s->st));
		return rc;
	}
	s->units_total = sz.units[UNIT_PENDING] + sz.units[UNIT_RUNNING] + sz.units[UNIT_DONE] +
			 sz.units[UNIT_FAILED];
	s->units_done = sz.units[UNIT_DONE];
	s->size_bytes = sz.bytes_total;
	s->size_files = sz.files_total;
	s->settled_bytes = sz.bytes_settled;
	s->settled_files = sz.files_settled;
	return SYNC_OK;
}

/* Walk the source into units and the list of directories above the cut. */
int
plan_transfer(struct sup *s)
{
	struct plan_callbacks cb = { plan_dir, plan_unit, plan_error, NULL, NULL };
	struct plan_ctx pc;
	int fd, rc;

	memset(&pc, 0, sizeof pc);
	pc.s = s;

	fd = open(s->dirs_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (pc.dirs = fdopen(fd, "w")) == NULL) {
		set_failure(s, "cannot write '%s': %s", s->dirs_file, strerror(errno));
		if (fd >= 0)
			close(fd);
		return SYNC_ERR_SYSTEM;
	}
	cb.ctx = &pc;
	if (s->cfg->preserve & RSYNC_HARD_LINKS)
		cb.link = plan_link;
	link_groups_release(&s->links);
	pc.slice_started = now_monotonic();
	if (s->transport->walk) {
		rc = s->transport->walk(s, &cb);
	} else if (s->cfg->partial) {
		const struct strvec *trees = s->cfg->only_trees, *changed = s->cfg->only_changed;

		rc = plan_paths(s->t.source, (const char *const *)trees->v, trees->nr,
				(const char *const *)changed->v, changed->nr, &s->filter, &cb,
				&s->gone);
	} else
		rc = plan_walk(s->t.source, s->t.max_depth, &s->filter, &cb);
	if (rc < 0) {
		int errnum = errno;

		plan_flush(&pc);
		if (rc == SYNC_ERR_STORE)
			set_failure(s, "%s", store_errmsg(s->st));
		else
			set_failure(s, "cannot read source '%s': %s", s->shown_source,
				    strerror(errnum));
	} else if (plan_flush(&pc) < 0) {
		rc = SYNC_ERR_STORE;
		set_failure(s, "%s", store_errmsg(s->st));
	}
	if (fclose(pc.dirs) != 0 && rc >= 0) {
		set_failure(s, "cannot write '%s': %s", s->dirs_file, strerror(errno));
		rc = SYNC_ERR_SYSTEM;
	}
	if (rc < 0)
		return rc;
	if (rc == 0 && s->walk_errors == 0) {
		if ((rc = store_transfer_set_planned(s->st, s->t.id)) < 0) {
			set_failure(s, "%s", store_errmsg(s->st));
			return rc;
		}
		s->t.planned = true;
	}
	if ((rc = plan_count_units(s)) < 0)
		return rc;
	log_info("planned %llu units (%llu new), %llu done before",
		 (unsigned long long)s->units_total, (unsigned long long)pc.new_units,
		 (unsigned long long)s->units_done);
	return 0;
}
