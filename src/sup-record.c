/*
 * sup-record: the record of what was synced, as the runs use it: the
 * comparison of the tree with it that a watch's full cycles and a run told
 * --trust-record share (sup_record_compare), and that run
 * (supervisor_run_trusting, supervisor.h).
 *
 * A record describes the source as it was when a run that ended done sent
 * it, so it is only as good as the far side's keeping of it: someone who
 * changes the far side by hand is not seen. That is why a run trusts a
 * record only when told to; a plain run compares with the far side.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "filter.h"
#include "log.h"
#include "record.h"
#include "sup-internal.h"

int
sup_record_compare(struct store *st, int64_t id, const char *source, const struct filter *filter,
		   struct strvec *trees, struct strvec *changed, bool *top_changed)
{
	struct record_scan r;
	int rc;

	record_scan_init(&r);
	errno = 0;
	rc = record_scan(st, id, source, filter, &r);
	*top_changed = r.top_changed;
	if (rc < 0) {
		log_warn("cannot compare the tree with its record: %s",
			 rc == SYNC_ERR_STORE ? store_errmsg(st) :
			 errno ? strerror(errno) : "the source is not a directory");
		store_record_discard(st, id);
	} else {
		strvec_clear(trees);
		strvec_clear(changed);
		strvec_pushv(trees, (const char *const *)r.trees.v);
		strvec_pushv(changed, (const char *const *)r.changed.v);
		log_info("the tree against its record: %llu directories, %llu entries, %zu "
			 "changed, %zu new directories%s", (unsigned long long)r.dirs,
			 (unsigned long long)r.entries, r.changed.nr, r.trees.nr,
			 r.top_changed ? "; the source's own attributes changed" : "");
	}
	record_scan_release(&r);
	return rc;
}

int
supervisor_run_trusting(struct store *st, const struct supervisor_config *cfg,
			enum transfer_state *final)
{
	struct supervisor_config run = *cfg;
	struct strvec trees = STRVEC_INIT, changed = STRVEC_INIT;
	struct filter filter;
	struct transfer t;
	struct stat sb;
	uint64_t left = 0;
	int64_t from = 0;
	bool staged = false, top = false;
	int rc;

	*final = TRANSFER_FAILED;
	/* Not again through here: the run itself. */
	run.trust_record = false;
	if ((rc = store_transfer_get(st, cfg->transfer_id, &t)) < 0)
		return rc;
	filter_init(&filter);
	log_set_transfer(t.id);
	/*
	 * A record is of a directory's entries (a file, or a link to a
	 * directory, is compared with the far side); rules it cannot read
	 * leave the run itself to fail.
	 */
	if (lstat(t.source, &sb) == 0 && S_ISDIR(sb.st_mode) &&
	    filter_deserialize(&filter, t.filters, t.filters_len) == SYNC_OK) {
		if (store_record_adopt(st, t.id, &from) < 0) {
			log_warn("cannot take over the record: %s", store_errmsg(st));
			from = 0;
		}
		staged = sup_record_compare(st, t.id, t.source, &filter, &trees, &changed,
					    &top) == SYNC_OK;
	}
	/* Partial data of an earlier run of it: the whole run cleans it up. */
	if (from > 0 && (store_leftovers_count(st, t.id, &left) < 0 || left > 0))
		from = 0;
	if (staged && from > 0) {
		log_info("trusting the record kept by transfer %lld: only what changed since is "
			 "sent", (long long)from);
		run.partial = true;
		run.only_trees = &trees;
		run.only_changed = &changed;
		run.unchanged = trees.nr == 0 && changed.nr == 0 && !top;
	} else if (staged)
		log_info("no record of this request to trust yet: the far side is compared, and "
			 "the record kept for the next run");
	rc = supervisor_run(st, &run, final);
	if (staged && *final == TRANSFER_DONE && store_record_apply(st, t.id) < 0)
		log_warn("cannot keep the record of the run: %s", store_errmsg(st));
	else if (*final != TRANSFER_DONE && store_record_forget(st, t.id) < 0)
		log_warn("cannot forget the record: %s", store_errmsg(st));
	strvec_clear(&trees);
	strvec_clear(&changed);
	filter_release(&filter);
	transfer_release(&t);
	return rc;
}
