/*
 * transport: how a transfer reaches its destination and moves bytes there.
 *
 * This is the one seam between the engine and a kind of destination. The
 * engine is what every transfer shares: the claim and the walk into the
 * store (units), the queue (what runs next, batch sizes, retries), the
 * process pool, the verdict on a finished batch, progress, parts stopped
 * on request and the final state. A transport is what differs by
 * destination: how it connects, keeps a second writer out, makes the
 * destination, starts a job for a batch of units (or a piece of a large
 * file) as child processes the pool runs, reads what they print, says how
 * a job ended (struct batch_end, for the verdict), and cleans up.
 *
 * Today's transport is rsync over one shared ssh connection, with the far
 * side's lock, the directories above the cut and large files in pieces
 * (transport-rsync.c, over sup-link.c, sup-lock.c, sup-dirs.c, sup-job.c,
 * sup-worker.c and sup-split.c). docs/architecture.md says how an object
 * store or several hosts plug in beside it. Each operation below is called
 * by supervisor.c (the phases) or sup-pool.c (the jobs); the ones that
 * return bool return false when the transfer goes no further (a failure
 * already recorded with set_failure, or a stop).
 */
#ifndef SCOW_SYNC_TRANSPORT_H
#define SCOW_SYNC_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>

struct sup;
struct worker;
struct batch_end;

/*
 * What a job does: send a batch of units, make the directories above the
 * cut first or give them their attributes at the end (an rsync pass over
 * them), move one piece of a large file, or check what the destination
 * has of a batch (a dry run).
 */
enum job_kind { JOB_UNIT, JOB_DIRS_CREATE, JOB_DIRS_FINAL, JOB_PIECE, JOB_CHECK, JOB_LINKS };

struct plan_callbacks;

struct transport {
	const char *name;
	/*
	 * Step 2, where the source is not a local directory (NULL: it is, and
	 * plan.h walks it): report its directories and units through cb, as
	 * plan_walk does, once connect has run. Below 0: the walk failed
	 * (set_failure says why).
	 */
	int (*walk)(struct sup *s, const struct plan_callbacks *cb);
	/* Step 2: start connecting. The walk runs while the connection comes up. */
	bool (*connect)(struct sup *s);
	/* Step 3, after the walk: the connection is up, and the destination's lock asked. */
	bool (*connected)(struct sup *s);
	/*
	 * Step 4: judge the link (how many workers, pieces or not) and make
	 * the destination where that is its own step.
	 */
	bool (*measure)(struct sup *s);
	/* Step 5: the lock's answer; nothing is written before it is held. */
	bool (*lock)(struct sup *s);
	/* Step 5, after the parts stopped before are left out: what must come before the units. */
	bool (*prepare)(struct sup *s);
	/*
	 * Start a job of this kind on free worker w (its batch in w->units
	 * for JOB_UNIT and JOB_CHECK): fill w->job's pids and descriptors
	 * (enum worker_fd). Below 0: it could not start (set_failure says why).
	 */
	int (*start_job)(struct sup *s, struct worker *w, enum job_kind kind);
	/* Start the next piece of the file in pieces on free worker w; NULL: no pieces. */
	int (*start_piece)(struct sup *s, struct worker *w);
	/* n bytes the pool read from descriptor fd of w's job (n == 0: its end). */
	void (*output)(struct worker *w, int fd, const char *buf, size_t n);
	/* How w's batch job ended, for the verdict (verdict.h). */
	void (*batch_end)(struct sup *s, const struct worker *w, struct batch_end *e);
	/*
	 * Step 6, once the units' pass has ended: below 0, the transfer goes
	 * no further; 1, run the units' pass again (what it gave back is
	 * ready now); 0, done.
	 */
	int (*after_units)(struct sup *s);
	/* Step 7: what the destination needs once everything has arrived. */
	void (*settle)(struct sup *s);
	/*
	 * Step 8, a mirror's (--delete) once every unit is done: remove from
	 * the destination what the source lacks, within the filters.
	 */
	bool (*mirror)(struct sup *s);
	/*
	 * Remove the partial data recorded in the store (leftovers) from the
	 * destination, all of it or that at or below prefix (a part stopped):
	 * a transfer stopped for good, or done with parts stopped on its way.
	 * Below 0: some is still there (it stays recorded).
	 */
	int (*clean)(struct sup *s, const char *prefix);
	/* Let go of the lock and the connection, whatever came before. */
	void (*close)(struct sup *s);
};

/* rsync over a shared ssh connection (transport-rsync.c). */
extern const struct transport transport_rsync;
/* An object store, S3 or COS, through upload helpers (transport-s3.c). */
extern const struct transport transport_s3;
/* An object store as the source, into a local directory (transport-s3-get.c). */
extern const struct transport transport_s3_get;

#endif
