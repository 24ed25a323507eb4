/* verdict: what the end of one rsync of a batch means for each unit (see verdict.h). */
#include "config.h"

#include "rsync-parse.h"
#include "verdict.h"

#define RETRY_DELAY_DOUBLINGS 6   /* the pause doubles up to 2^6 = 64 s */

bool
batch_end_ok(const struct batch_end *e)
{
	return e->code >= 0 && (rsync_exit_classify(e->code) == RSYNC_EXIT_OK || e->code == 24);
}

bool
batch_end_counted(const struct batch_end *e)
{
	return batch_end_ok(e) || e->stopped || e->stopping || (!e->disk_full && !e->far_failed);
}

bool
batch_end_given_back(const struct batch_end *e)
{
	return e->mkdir_refused && !e->stopped && !e->stopping && !e->aborting;
}

bool
batch_end_stops_transfer(const struct batch_end *e)
{
	return !batch_end_ok(e) && e->disk_full && !e->stopped && !e->stopping && !e->aborting;
}

enum unit_verdict
unit_verdict(const struct batch_end *e, const struct unit_end *u, int max_attempts)
{
	bool last = u->attempts + 1 >= max_attempts;   /* this run was its last */
	/* A signal: taken as the link's or far side's going away. */
	enum rsync_exit_class cls = e->code >= 0 ? rsync_exit_classify(e->code) : RSYNC_EXIT_RETRY;

	if (batch_end_ok(e)) {
		/* A file changed while rsync read it: its copy may match no state of it. */
		if (u->changed)
			return last ? VERDICT_FAIL_CHANGED : VERDICT_RESEND_CHANGED;
		return VERDICT_DONE;
	}
	if (u->excluded)
		return VERDICT_EXCLUDED;
	/* Not its fault: we stopped its rsync to leave a part out. */
	if (e->stopped && !e->stopping)
		return VERDICT_RUN_AGAIN_NOW;
	/* Stopped on request, or by another unit's failure: it may run again later. */
	if (e->stopping || (e->aborting && !e->disk_full))
		return VERDICT_LEAVE_PENDING;
	/* A full far side fails every try the same way. */
	if (cls == RSYNC_EXIT_RETRY && !e->disk_full && !last)
		return VERDICT_RETRY_LATER;
	/* One unit of many failed: run each alone to learn which (what arrived stays). */
	if (e->nunits > 1 && !e->disk_full)
		return VERDICT_RETRY_ALONE;
	return VERDICT_FAIL;
}

double
verdict_retry_delay(int attempts)
{
	return (double)(1 << (attempts < RETRY_DELAY_DOUBLINGS ? attempts : RETRY_DELAY_DOUBLINGS));
}

const char *
unit_verdict_name(enum unit_verdict v)
{
	static const char *const names[] = {
		[VERDICT_DONE] = "done",
		[VERDICT_RESEND_CHANGED] = "resend-changed",
		[VERDICT_FAIL_CHANGED] = "fail-changed",
		[VERDICT_EXCLUDED] = "excluded",
		[VERDICT_RUN_AGAIN_NOW] = "run-again-now",
		[VERDICT_LEAVE_PENDING] = "leave-pending",
		[VERDICT_RETRY_LATER] = "retry-later",
		[VERDICT_RETRY_ALONE] = "retry-alone",
		[VERDICT_FAIL] = "fail",
	};

	return (unsigned)v < sizeof names / sizeof *names ? names[v] : "?";
}
