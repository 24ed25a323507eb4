/*
 * store: the per-user SQLite database of transfers and their work units.
 *
 * One file, scow-sync.db, in the state directory (0700, the file 0600), in
 * WAL mode so that query reads a consistent snapshot while a supervisor
 * writes, with a busy timeout so that concurrent commands wait for each
 * other instead of failing. The schema carries a version (PRAGMA
 * user_version); store_open() migrates older files forward and refuses
 * files from a newer scow-sync.
 *
 * Transfers and units stay after they finish: they are the history.
 * Progress is kept per unit in place (one row updated), never as a row per
 * update, so the database stays small.
 *
 * Paths are stored as BLOBs: any byte but NUL may be in them.
 * Strings returned in records are owned by the record; *_release frees them.
 * Errors: SYNC_ERR_STORE with SQLite's message in the store (store_errmsg),
 * SYNC_ERR_NOT_FOUND, SYNC_ERR_SCHEMA.
 */
#ifndef SCOW_SYNC_STORE_H
#define SCOW_SYNC_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc.h"

enum transfer_state {
	TRANSFER_QUEUED,       /* recorded, supervisor not running yet */
	TRANSFER_RUNNING,
	TRANSFER_DONE,
	TRANSFER_FAILED,
	TRANSFER_TERMINATED,   /* stopped on request */
	TRANSFER_INTERRUPTED,  /* its supervisor died without finishing */
};
const char *transfer_state_name(enum transfer_state s);
bool transfer_state_finished(enum transfer_state s);

struct transfer {
	int64_t id;
	char *address;         /* host as given to -a */
	char *user;
	int port;
	char *source;          /* absolute local path */
	char *destination;     /* remote directory as given to -d */
	char *key_path;
	int max_depth;
	enum transfer_state state;
	char *error;           /* reason for failed/interrupted, or NULL */
	int64_t created_at, started_at, finished_at;   /* epoch seconds, 0 unset */
	struct proc_id supervisor;
	uint64_t bytes_done, files_done;
	uint64_t units_total, units_done, units_failed;
};
void transfer_release(struct transfer *t);

enum unit_kind {
	UNIT_FILE,       /* one non-directory entry above the cut depth */
	UNIT_TREE,       /* a directory at the cut depth, moved whole */
};

enum unit_state {
	UNIT_PENDING,
	UNIT_RUNNING,
	UNIT_DONE,
	UNIT_FAILED,
	UNIT_EXCLUDED,   /* stopped on request; not moved */
};
const char *unit_state_name(enum unit_state s);

struct unit {
	int64_t id;
	int64_t transfer_id;
	enum unit_kind kind;
	char *path;            /* relative to the source's parent directory */
	enum unit_state state;
	int attempts;
	char *error;
};
void unit_release(struct unit *u);

/* Live progress of a running unit, as the supervisor last wrote it. */
struct unit_progress {
	int64_t unit_id;
	const char *current_file;  /* relative path being moved, or NULL */
	uint64_t file_bytes;       /* bytes of it done */
	int file_percent;
	double rate;               /* bytes/s */
	int64_t eta;               /* seconds, -1 unknown */
	uint64_t bytes_done;       /* bytes moved by the unit so far */
	uint64_t files_done;
};

struct store;

/* Open (creating if need be) the store in dir. errbuf gets a one-line reason. */
int store_open(const char *dir, struct store **out, char *errbuf, size_t errlen);
void store_close(struct store *st);
/* SQLite's message for the last failure (borrowed). */
const char *store_errmsg(struct store *st);

int store_begin(struct store *st);    /* BEGIN IMMEDIATE */
int store_commit(struct store *st);
void store_rollback(struct store *st);

/*
 * Insert t (state queued, owned by t->supervisor until a supervisor takes
 * it over); sets t->id and t->created_at.
 */
int store_transfer_insert(struct store *st, struct transfer *t);

/*
 * Insert t unless an identical request (address, user, port, source,
 * destination) is queued or running under a process that is still alive
 * (checked with alive()). Check and insert happen in one write
 * transaction, so two simultaneous starts cannot both insert. Returns
 * SYNC_OK with t->id set, or SYNC_ERR_EXISTS with *existing set to the
 * running transfer's id.
 */
int store_transfer_insert_unique(struct store *st, struct transfer *t,
				 bool (*alive)(const struct proc_id *), int64_t *existing);
int store_transfer_get(struct store *st, int64_t id, struct transfer *out);
/* Mark running under the given supervisor process. */
int store_transfer_set_running(struct store *st, int64_t id, const struct proc_id *sup);
/* Move to a final (or queued) state; error may be NULL. */
int store_transfer_finish(struct store *st, int64_t id, enum transfer_state s,
			  const char *error);
/*
 * Mark a transfer interrupted, only if it is still recorded as running
 * under the given supervisor (so a supervisor that just finished wins).
 */
int store_transfer_mark_interrupted(struct store *st, int64_t id,
				    const struct proc_id *sup, const char *reason);
int store_transfer_set_totals(struct store *st, int64_t id, uint64_t bytes_done,
			      uint64_t files_done);

struct transfer_filter {
	const char *address;   /* NULL matches any */
	const char *user;
	const char *source;
	bool unfinished_only;  /* queued or running */
};
typedef int (*transfer_fn)(const struct transfer *t, void *ctx);
/* Call fn for each matching transfer, newest first; a non-zero return stops. */
int store_transfer_foreach(struct store *st, const struct transfer_filter *f,
			   transfer_fn fn, void *ctx);

/* Add a unit to a transfer (state pending). */
int store_unit_add(struct store *st, int64_t transfer_id, enum unit_kind kind,
		   const char *path, int64_t *id_out);
/*
 * Take up to max pending units with id > after_id, in id order; caller
 * releases each. Walking with after_id reads each unit once.
 */
int store_unit_next_pending(struct store *st, int64_t transfer_id, int64_t after_id,
			    struct unit *out, size_t max, size_t *n_out);
int store_unit_set_state(struct store *st, int64_t unit_id, enum unit_state s,
			 int attempts, const char *error);
/* Count units of a transfer by state (array indexed by enum unit_state). */
int store_unit_counts(struct store *st, int64_t transfer_id, uint64_t counts[5]);
/* Put units left running by a dead supervisor back to pending. */
int store_units_reset_running(struct store *st, int64_t transfer_id);

/* Write the live progress of n units in one transaction. */
int store_progress_write(struct store *st, const struct unit_progress *p, size_t n);

/* One row of the legacy query: a file being moved right now. */
struct live_file {
	int64_t transfer_id;
	const char *address;
	const char *source;        /* transfer's absolute source */
	const char *current_file;  /* relative to the source's parent */
	uint64_t file_bytes;
	int file_percent;
	double rate;
	int64_t eta;
	struct proc_id supervisor;
};
typedef int (*live_fn)(const struct live_file *f, void *ctx);
/* Call fn for each file being moved by a running transfer, in one snapshot. */
int store_live_foreach(struct store *st, live_fn fn, void *ctx);

/* The state directory: $SCOW_SYNC_HOME or ~/scow/.scow-sync; caller frees. */
char *store_default_dir(void);
/* Create dir (and parents) 0700 if missing; refuse a dir others can write. */
int store_prepare_dir(const char *dir, char *errbuf, size_t errlen);

#endif
