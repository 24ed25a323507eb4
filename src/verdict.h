/*
 * verdict: what the end of one rsync of a batch means for each unit of it.
 *
 * A pure decision, apart from its effects (the store, the log, the queue:
 * finish_batch in sup-outcome.c), so that every branch of the retry policy
 * can be tested row by row (tests/unit/test-verdict.c).
 */
#ifndef SCOW_SYNC_VERDICT_H
#define SCOW_SYNC_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

/* How one rsync of a batch ended. */
struct batch_end {
	int code;              /* rsync's exit code; -1 when a signal ended it */
	bool disk_full;        /* it said the far side is full, over quota or read-only */
	bool far_failed;       /* the far side said it failed to write something */
	bool mkdir_refused;    /* the mkdir it carried failed or found a file in the way */
	bool stopped;          /* the supervisor stopped it, to leave out a part */
	bool stopping;         /* the transfer is stopping: a stop signal came */
	bool aborting;         /* another batch's failure is ending the transfer */
	size_t nunits;         /* units in its batch */
};

/* One unit of that batch, as the rsync left it. */
struct unit_end {
	bool changed;          /* a file of it changed while rsync read it */
	bool excluded;         /* stopped on request while the rsync ran */
	int attempts;          /* its runs that ended before this one */
};

enum unit_verdict {
	VERDICT_DONE,            /* sent: done (files that vanished are named) */
	VERDICT_RESEND_CHANGED,  /* a file changed while read: again, checking contents */
	VERDICT_FAIL_CHANGED,    /* ... and still at the last attempt: failed */
	VERDICT_EXCLUDED,        /* stopped on request: not to run again */
	VERDICT_RUN_AGAIN_NOW,   /* its rsync was stopped to leave a part out: again at once */
	VERDICT_LEAVE_PENDING,   /* the transfer is stopping: pending, for a resume */
	VERDICT_RETRY_LATER,     /* the link or far side went away: again after a pause */
	VERDICT_RETRY_ALONE,     /* the batch failed for good: each unit in an rsync of its own */
	VERDICT_FAIL,            /* failed for good */
};

/* Did the rsync send everything (0), or all but files that vanished (24)? */
bool batch_end_ok(const struct batch_end *e);

/*
 * Does what the rsync said it sent count as arrived? Yes, whatever the end
 * (a file it could not read, a dropped link), unless the far side said it
 * failed to write something: rsync's sender counts a file as sent all the
 * same.
 */
bool batch_end_counted(const struct batch_end *e);

/*
 * Is the batch given back whole, as if it had not run? When the mkdir it
 * carried did not make the directories, no rsync ran, and the mkdir of its
 * own comes first (unless the transfer is ending anyway).
 */
bool batch_end_given_back(const struct batch_end *e);

/* Does this end stop the whole transfer (the far side is full for every unit)? */
bool batch_end_stops_transfer(const struct batch_end *e);

/* The verdict on one unit of the batch; max_attempts: runs a unit gets at most. */
enum unit_verdict unit_verdict(const struct batch_end *e, const struct unit_end *u,
			       int max_attempts);

/* Seconds before a unit's run number attempts (counting this failure) is tried again. */
double verdict_retry_delay(int attempts);

/* The verdict's name, for tests and the log. */
const char *unit_verdict_name(enum unit_verdict v);

#endif
