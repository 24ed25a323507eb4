/*
 * store: the per-user SQLite database of transfers and their work units.
 *
 * One file, scow-sync.db, in the state directory (0700, the file 0600), in
 * WAL mode so that query reads a consistent snapshot while a supervisor
 * writes, with a busy timeout so that concurrent commands wait for each
 * other instead of failing. On a file system several hosts share (a home
 * on NFS, Lustre, GPFS, ...) WAL is not safe, and the journal is DELETE.
 * The schema carries a version (PRAGMA user_version); store_open()
 * migrates older files forward and refuses files from a newer scow-sync.
 *
 * Transfers and units stay after they finish: they are the history, until
 * pruned (by hand, or automatically by the supervisors, see store_prune).
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
#include "util.h"

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
	pid_t session;         /* made for the detached supervisor, or 0 */
	uint64_t bytes_done, files_done;
	bool planned;          /* every unit is recorded */
	uint64_t units_total, units_done, units_failed;
	char *far_host;        /* "user@host:port" as ssh resolves -a, or NULL */
	char *far_destination; /* the destination made absolute on the far side, or NULL */
	bool mirror;           /* --delete: what the source lacks goes from the far side */
	char *filters;         /* the rules (filter_serialize), or NULL: none */
	size_t filters_len;
	uint64_t deleted;      /* entries its deletes removed */
	uint64_t created;      /* non-directories its runs made on the far side */
	uint64_t updated;      /* ... and changed there (data or attributes) */
	bool watch;            /* a watch: it syncs in cycles until stopped */
	unsigned watch_interval; /* ... with a full re-scan this often (seconds) */
	uint64_t cycles;       /* ... and has run this many cycles */
	char *notify_url;      /* --notify: POST each state change here, or NULL */
	char *notify_cmd;      /* --notify-cmd: ... or give it to this program, or NULL */
	bool fresh;            /* store_transfer_claim: never continue an earlier one */
	/*
	 * One source to several hosts: the request's own row has fanout
	 * (its number of hosts) and no units; each host's is a child with
	 * parent_id, fed from the source or, with feed_id, from the host of
	 * another child (a relay).
	 */
	unsigned fanout;
	int64_t parent_id;     /* 0: none */
	int64_t feed_id;       /* 0: from the source */
};
void transfer_release(struct transfer *t);
/* Make dst a copy of src that owns its strings (release both). */
void transfer_copy(struct transfer *dst, const struct transfer *src);

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

/* What a unit holds, as the walk found it: the batching works from it. */
struct unit_size {
	uint64_t files;        /* non-directory entries (a file unit: 1) */
	uint64_t bytes;        /* their apparent sizes */
};

struct unit {
	int64_t id;
	int64_t transfer_id;
	enum unit_kind kind;
	char *path;            /* relative to the source's parent directory */
	struct unit_size size;
	enum unit_state state;
	int attempts;
	char *error;
	uint64_t bytes_sent, files_sent;  /* by its runs so far (its row's *_done) */
	int64_t received_at;   /* when last received whole (store_unit_find only), or 0 */
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
	const char *node;          /* the Slurm node moving it (--nodes), or NULL: this one */
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

enum claim_result {
	CLAIM_NEW,        /* t was recorded as a new transfer */
	CLAIM_RESUMED,    /* t->id is an earlier transfer, queued again to continue */
	CLAIM_RUNNING,    /* t->id is the same request, running: nothing changed */
};

/*
 * Record the request t for t->supervisor, in one write transaction, so
 * that two simultaneous starts of one request never both get a writer:
 * - the same request (source; far_host, or address, user and port; the
 *   destination, as given or as far_destination) queued or running under
 *   a process that may be alive (checked with alive()):
 *   CLAIM_RUNNING, nothing changes;
 * - else, when the newest identical request with the same depth failed or
 *   was interrupted (and t is not fresh), it is queued again: units not done become pending
 *   (parts stopped on request included), the key is t's. CLAIM_RESUMED;
 * - else a new transfer, CLAIM_NEW.
 */
int store_transfer_claim(struct store *st, struct transfer *t,
			 bool (*alive)(const struct proc_id *), enum claim_result *result);

/*
 * Make transfer id a host of the transfer to several hosts parent_id (0:
 * a transfer of its own). feed_id: the host's transfer it is relayed
 * from (0: from the source).
 */
int store_transfer_set_parent(struct store *st, int64_t id, int64_t parent_id);
int store_transfer_set_feed(struct store *st, int64_t id, int64_t feed_id);
/* *feeds: whether another host's transfer is fed from transfer id's host. */
int store_transfer_feeds(struct store *st, int64_t id, bool *feeds);
/*
 * The hosts' transfers of transfer parent_id, in the order of its hosts:
 * *out (caller frees each with transfer_release, then the array), *n.
 */
int store_transfer_children(struct store *st, int64_t parent_id, struct transfer **out,
			    size_t *n);

/*
 * The id of a transfer of the same request as id (id included) queued or
 * running under a process alive() says may be alive, or 0.
 */
int store_transfer_live_twin(struct store *st, int64_t id, bool (*alive)(const struct proc_id *),
			     int64_t *running_id);
/*
 * Queue transfer id again under owner to continue it (resume): units not
 * done and not excluded become pending. *was gets the state it had.
 * SYNC_ERR_EXISTS when it, or another transfer of the same request, is
 * running under a live process (*running_id names which),
 * SYNC_ERR_INVALID when it is done, SYNC_ERR_NOT_FOUND when unknown.
 */
int store_transfer_resume(struct store *st, int64_t id, const struct proc_id *owner,
			  bool (*alive)(const struct proc_id *), enum transfer_state *was,
			  int64_t *running_id);
int store_transfer_get(struct store *st, int64_t id, struct transfer *out);
/*
 * Mark running under the given supervisor process; session: the session
 * made for it (a detached supervisor), else 0. With owner, only a transfer
 * still queued under owner (the command that claimed it) is taken:
 * SYNC_ERR_EXISTS when another process took it, or it ended, meanwhile.
 */
int store_transfer_set_running(struct store *st, int64_t id, const struct proc_id *sup,
			       pid_t session, const struct proc_id *owner);
/*
 * Record that terminate wants transfer id stopped for good (a queued,
 * running or interrupted one); a supervisor reads it when it stops, or
 * when it starts. Resuming or claiming the transfer again clears it.
 */
int store_transfer_request_stop(struct store *st, int64_t id);
int store_transfer_stop_requested(struct store *st, int64_t id, bool *out);
/*
 * Move a transfer that is not finished to state s, only while it is still
 * recorded under owner (a process found dead): SYNC_ERR_NOT_FOUND when it
 * has moved on (another process took it over, or it ended).
 */
int store_transfer_finish_orphan(struct store *st, int64_t id, const struct proc_id *owner,
				 enum transfer_state s, const char *error);
/* Move to a final (or queued) state; error may be NULL. */
int store_transfer_finish(struct store *st, int64_t id, enum transfer_state s,
			  const char *error);
/*
 * Mark a transfer interrupted, only if it is still recorded as running
 * under the given supervisor (so a supervisor that just finished wins).
 * SYNC_ERR_NOT_FOUND when it was not (nothing changed).
 */
int store_transfer_mark_interrupted(struct store *st, int64_t id,
				    const struct proc_id *sup, const char *reason);
/*
 * Record what the transfer sent over all its runs: the files sent whole
 * and their bytes. Never lowers the recorded ones.
 */
int store_transfer_set_totals(struct store *st, int64_t id, uint64_t bytes_done,
			      uint64_t files_done);
/* Count what a run created and updated on the far side (struct transfer's created, updated). */
int store_transfer_add_changes(struct store *st, int64_t id, uint64_t created, uint64_t updated);
/* Record how long the far side took to answer one remote command. */
int store_transfer_set_answer(struct store *st, int64_t id, double seconds);
/*
 * The answer time recorded by the newest earlier transfer to t's host
 * (address, user, port) that ended done at or after since (epoch seconds);
 * with same_place, only of t's source to t's destination: a re-sync.
 * *seconds is -1 when there is none.
 */
int store_transfer_answer_before(struct store *st, const struct transfer *t, int64_t since,
				 bool same_place, double *seconds);
/*
 * Record where the destination is on the far side (absolute, links
 * resolved): later requests that spell it either way are the same one.
 */
int store_transfer_set_far_destination(struct store *st, int64_t id, const char *path);
/* Record that every unit of the transfer is in the store. */
int store_transfer_set_planned(struct store *st, int64_t id);
/* The supervisor's private temporary directory (NULL: none recorded). */
int store_transfer_set_workdir(struct store *st, int64_t id, const char *dir);
int store_transfer_workdir(struct store *st, int64_t id, char **dir);
/* Settings a transfer was given as flags; below 0: not given. */
struct transfer_options {
	int workers;              /* --workers */
	int retries;              /* --retries */
	long long bwlimit_kib;    /* --bwlimit */
	long long max_delete;     /* --max-delete */
	int delete_all_ok;        /* --delete-all-ok: 1 */
	int verify;               /* --verify: 1 */
	int trust_record;         /* --trust-record: 1 */
};
/*
 * The guards of deletes (max_delete, delete_all_ok), verify and
 * trust_record are not carried over from a failed run to a new request:
 * start and run give OPTION_CLEAR where they are not given, resume -1
 * (keep).
 */
#define OPTION_CLEAR (-2)
/* Record the options given (those at -1 keep what is recorded). */
int store_transfer_set_options(struct store *st, int64_t id, const struct transfer_options *o);
/*
 * Record what a request (start, run, watch) says of a transfer it records
 * or continues: whom to notify (--notify URL, --notify-cmd PROGRAM; NULL:
 * nobody) and, for a watch, its --interval. resume keeps them.
 */
int store_transfer_set_request(struct store *st, int64_t id, const char *url, const char *cmd,
			       unsigned watch_interval);
/* The options recorded, each -1 where none was; SYNC_ERR_NOT_FOUND: no transfer id. */
int store_transfer_options(struct store *st, int64_t id, struct transfer_options *o);
/*
 * What rsync -a leaves out that a transfer asks for: flags, a set of
 * rsync_preserve (rsync.h); chmod and chown, rsync's --chmod and --chown
 * (NULL: none). Strings owned; transfer_preserve_release frees them.
 */
struct transfer_preserve {
	int flags;
	char *chmod, *chown;
};
void transfer_preserve_release(struct transfer_preserve *o);
/* Record them whole; flags -1: none given, what is recorded stays. */
int store_transfer_set_preserve(struct store *st, int64_t id, int flags, const char *chmod,
				const char *chown);
/* What is recorded (flags 0, NULL strings: nothing); SYNC_ERR_NOT_FOUND: no transfer id. */
int store_transfer_preserve(struct store *st, int64_t id, struct transfer_preserve *o);
/*
 * What a transfer asks of Slurm (store_transfer_set_slurm replaces it
 * whole; a transfer without: nodes 0, the strings NULL). Strings owned;
 * transfer_slurm_release frees them.
 */
struct transfer_slurm {
	int nodes;                /* --nodes; 0: none */
	char *partition, *account, *time_limit;
	int wait;                 /* --slurm-wait, seconds; -1: not given */
};
void transfer_slurm_release(struct transfer_slurm *o);
int store_transfer_set_slurm(struct store *st, int64_t id, const struct transfer_slurm *o);
int store_transfer_slurm(struct store *st, int64_t id, struct transfer_slurm *o);
/* The Slurm job that holds the transfer's nodes now (0: none). */
int store_transfer_set_slurm_job(struct store *st, int64_t id, int64_t job);
int store_transfer_slurm_job(struct store *st, int64_t id, int64_t *job);
/* The bytes and files recorded as sent by earlier runs (a resumed run counts on). */
int store_transfer_done_totals(struct store *st, int64_t id, uint64_t *bytes,
			       uint64_t *files);

/* A transfer recorded as queued or running, and the process that owns it. */
struct active_transfer {
	int64_t id;
	enum transfer_state state;
	struct proc_id supervisor;
};
typedef int (*active_fn)(const struct active_transfer *a, void *ctx);
/* Call fn for each queued or running transfer (a cheap read, for polling). */
int store_active_foreach(struct store *st, active_fn fn, void *ctx);

struct transfer_filter {
	const char *address;   /* NULL matches any */
	const char *user;
	const char *source;
	bool unfinished_only;  /* queued or running */
	/*
	 * The history's selection, so that the store reads only what is shown
	 * (cheap by indexes however long the history). states: bits
	 * (1 << enum transfer_state), 0 for any; running ones come with
	 * interrupted, since one may turn out to be. windowed: only the ones
	 * not ended, the interrupted ones, and the ones that ended (or were
	 * recorded, when they have no end) at or after since.
	 */
	unsigned states;
	bool windowed;
	int64_t since;
};
typedef int (*transfer_fn)(const struct transfer *t, void *ctx);
/* Call fn for each matching transfer, newest first; a non-zero return stops. */
int store_transfer_foreach(struct store *st, const struct transfer_filter *f,
			   transfer_fn fn, void *ctx);

/*
 * Add a unit to a transfer (state pending); size may be NULL (unknown). A
 * unit with that path already recorded (a walk done again on resume) is
 * left as it is; *id_out is 0.
 */
int store_unit_add(struct store *st, int64_t transfer_id, enum unit_kind kind,
		   const char *path, const struct unit_size *size, int64_t *id_out);
/* Files and bytes of the transfer's pending units. */
int store_units_pending_size(struct store *st, int64_t transfer_id, struct unit_size *out);
/*
 * Take up to max pending units with id > after_id, in id order; caller
 * releases each. Walking with after_id reads each unit once.
 */
int store_unit_next_pending(struct store *st, int64_t transfer_id, int64_t after_id,
			    struct unit *out, size_t max, size_t *n_out);
int store_unit_set_state(struct store *st, int64_t unit_id, enum unit_state s,
			 int attempts, const char *error);
/* Record what a unit's runs have sent so far (files sent whole, their bytes). */
int store_unit_set_sent(struct store *st, int64_t unit_id, uint64_t bytes, uint64_t files);
/* Mark a unit done with what it moved. */
int store_unit_set_done(struct store *st, int64_t unit_id, int attempts, uint64_t bytes,
			uint64_t files);
/* Record that an rsync just sent every byte of a unit (its received_at: now). */
int store_unit_set_received(struct store *st, int64_t unit_id);
/*
 * Exclude the pending or failed units at path or below it; *n gets how
 * many (running ones are the supervisor's to stop).
 */
int store_units_exclude(struct store *st, int64_t transfer_id, const char *path,
			uint64_t *n);
/*
 * The unit of a transfer with exactly this path; SYNC_ERR_NOT_FOUND if none.
 */
int store_unit_find(struct store *st, int64_t transfer_id, const char *path,
		    struct unit *out);
/* Count the units at path or below it by state (indexed by enum unit_state). */
int store_unit_counts_within(struct store *st, int64_t transfer_id, const char *path,
			     uint64_t counts[5]);
/* Count units of a transfer by state (array indexed by enum unit_state). */
int store_unit_counts(struct store *st, int64_t transfer_id, uint64_t counts[5]);
/* How much a transfer holds and how far it is, from its units. */
struct transfer_sizes {
	uint64_t units[5];        /* by enum unit_state */
	uint64_t files_total;     /* what the walk found, parts stopped on request left out */
	uint64_t bytes_total;
	uint64_t files_settled;   /* in units done, sent or found up to date */
	uint64_t bytes_settled;   /* ... and what the running units moved so far,
				     the file in flight included */
	uint64_t bytes_moving;    /* of the files in flight, by the running units */
	uint64_t files_failed;    /* in units that failed */
	double rate;              /* bytes/s, the running units' last rates together */
};
int store_transfer_sizes(struct store *st, int64_t transfer_id, struct transfer_sizes *out);
/*
 * Remove the transfers that ended (done, failed, terminated) before the
 * epoch time before, with their units; *n gets how many. Interrupted ones
 * (they can be resumed), ones with partial data recorded, and the newest
 * keep (at least 1, so that no id is ever given out twice) stay. Each goes
 * in short write transactions (readers never wait; writers not long), and
 * the file keeps its size (store_compact gives the space back).
 */
int store_prune(struct store *st, int64_t before, uint64_t keep, uint64_t *n);
/* Give the space of what was removed back to the file system (VACUUM). */
int store_compact(struct store *st);
/*
 * Is an automatic prune due, the last one being more than every seconds
 * before now? When it is, *due is true and now is recorded as the last
 * one's time, so that of several processes asking at once one prunes.
 */
int store_prune_due(struct store *st, int64_t now, int64_t every, bool *due);
/* Put units left running by a dead supervisor back to pending. */
int store_units_reset_running(struct store *st, int64_t transfer_id);

/*
 * Exclusions: parts of a transfer stopped on request. terminate records
 * one as pending; the supervisor acts on it and records the outcome.
 */
enum exclusion_state {
	EXCLUSION_PENDING,     /* recorded, not acted on yet */
	EXCLUSION_APPLIED,     /* stopped: not moved from now on */
	EXCLUSION_DONE,        /* it had already arrived: nothing to stop */
	EXCLUSION_NOMATCH,     /* not part of what this transfer moves */
	EXCLUSION_ALREADY,     /* it had been stopped before */
	EXCLUSION_UNCLEAN,     /* stopped, but its partial data could not be removed */
};
const char *exclusion_state_name(enum exclusion_state s);

struct exclusion {
	int64_t id;
	char *path;            /* relative to the source's parent, like units */
	enum exclusion_state state;
};
void exclusion_release(struct exclusion *e);

int store_exclusion_add(struct store *st, int64_t transfer_id, const char *path,
			int64_t *id_out);
int store_exclusion_state(struct store *st, int64_t id, enum exclusion_state *out);
int store_exclusion_set_state(struct store *st, int64_t id, enum exclusion_state s);
/*
 * Exclusions of a transfer in the given state, oldest first; *out is an
 * array of *n (caller releases each and frees it).
 */
int store_exclusions_list(struct store *st, int64_t transfer_id, enum exclusion_state s,
			  struct exclusion **out, size_t *n);

/*
 * Leftovers: files (relative paths, like units) that a stopped or failed
 * rsync may have left partial data of on the far side.
 */
int store_leftover_add(struct store *st, int64_t transfer_id, const char *path);
int store_leftover_remove(struct store *st, int64_t transfer_id, const char *path);
int store_leftovers_count(struct store *st, int64_t transfer_id, uint64_t *n);
/*
 * Files counted as sent by a run that was cut off, which may not have
 * arrived: a later run that sends one again does not count it again.
 * The list is sorted (bytewise) and its strings NUL-free paths.
 */
/* An entry a mirror removed from the far side. */
struct deletion {
	char *path;            /* relative to the source's parent, as the units' */
	char *kind;            /* "directory" or "file" (anything else that is not one) */
	int64_t at;            /* epoch seconds */
};
void deletion_release(struct deletion *d);
/* Record n deletions of transfer_id in one transaction, and add them to its count. */
int store_deletions_add(struct store *st, int64_t transfer_id, const struct deletion *d,
			size_t n);
/* The deletions recorded for transfer_id, oldest first; caller releases each and frees. */
int store_deletions_list(struct store *st, int64_t transfer_id, struct deletion **out,
			 size_t *n);

/* One cycle of a watch, as the store keeps it (store-cycles.c). */
struct cycle {
	uint64_t n;            /* 1 for the first */
	int64_t started_at;    /* epoch seconds */
	double seconds;
	uint64_t files, deleted, failed, bytes;   /* files sent, entries deleted, units failed */
	uint64_t created, updated;                /* entries made, and changed, on the far side */
	bool full_scan;        /* the whole tree compared, not only the paths events named */
	char *error;           /* why it failed, or NULL */
};
void cycle_release(struct cycle *c);
/* Record cycle c of watch transfer_id (its n included); only the newest 100 stay. */
int store_cycle_add(struct store *st, int64_t transfer_id, const struct cycle *c);
/* The newest cycle of transfer_id: SYNC_ERR_NOT_FOUND when it has none. */
int store_cycle_last(struct store *st, int64_t transfer_id, struct cycle *out);
/*
 * Make watch transfer id ready for its next cycle under owner: running
 * (as it still is, for everyone who looks), its units (the last cycle's)
 * forgotten, not planned.
 */
int store_transfer_next_cycle(struct store *st, int64_t id, const struct proc_id *owner);
/* Forget every unit of watch transfer id: its next cycle plans its own. */
int store_units_forget(struct store *st, int64_t id);

/*
 * A watch's record of what it synced (store-record.c, record.h): per
 * directory of the source ("" for the source itself, else "a/b"), each
 * entry as it was before the cycle that sent it.
 */
struct record_stat {
	uint64_t size;
	int64_t mtime_ns;
	int64_t ctime_ns;      /* any change of its inode: owner, ACLs, ...; 0: not known */
	uint32_t mode;         /* type and permissions */
	uint64_t ino, dev;
};
struct record_entry {
	char *name;
	struct record_stat st;
};
void record_entries_free(struct record_entry *e, size_t n);
/* The recorded entries of dir, sorted by name (bytewise). */
int store_record_dir(struct store *st, int64_t id, const char *dir, struct record_entry **out,
		     size_t *n);
/*
 * Stage dir's entries as they are now, to replace the recorded ones when
 * the cycle under way succeeds; gone: dir is gone, with all below it.
 */
int store_record_stage(struct store *st, int64_t id, const char *dir, bool gone,
		       const struct record_entry *e, size_t n);
/* The cycle succeeded: what is staged becomes the record, which is then ready. */
int store_record_apply(struct store *st, int64_t id);
/* The cycle failed: forget what is staged. */
int store_record_discard(struct store *st, int64_t id);
/* Forget id's record whole, staged and kept: the far side is not known any more. */
int store_record_forget(struct store *st, int64_t id);
/*
 * Give transfer id, a run about to send, the record of its request: the
 * one the newest earlier transfer of the request kept, when that was a
 * run (not a watch) of the same filters (a mirror, for a mirror) that
 * ended done; *from says whose, 0 when there is none to trust. Whatever
 * record id had goes, and id's is not ready (store_record_apply makes it
 * so): a run that does not end done leaves the far side unknown.
 */
int store_record_adopt(struct store *st, int64_t id, int64_t *from);
/* Has transfer id a record a comparison can trust (one full cycle applied it)? */
int store_record_ready(struct store *st, int64_t id, bool *ready);

int store_sent_unsure_add(struct store *st, int64_t transfer_id, const char *path);
int store_sent_unsure_list(struct store *st, int64_t transfer_id, struct strvec *out);
int store_sent_unsure_clear(struct store *st, int64_t transfer_id);
/* Is path recorded as a leftover of the transfer? */
int store_leftover_exists(struct store *st, int64_t transfer_id, const char *path, bool *out);
/*
 * The leftovers at or below prefix (all when NULL), and the current files
 * of units still recorded as running (a supervisor killed mid-file).
 */
int store_leftovers_list(struct store *st, int64_t transfer_id, const char *prefix,
			 struct strvec *out);

/* A transfer's totals, written with its units' progress. */
struct transfer_totals {
	int64_t transfer_id;
	uint64_t bytes_done, files_done;
};

/*
 * Write the live progress of n units, and the transfer's totals (as
 * store_transfer_set_totals; NULL: none), in one transaction: a reader
 * never sees the one without the other.
 */
int store_progress_write(struct store *st, const struct unit_progress *p, size_t n,
			 const struct transfer_totals *totals);

/* One row of the legacy query: a file being moved right now. */
struct live_file {
	int64_t transfer_id;
	const char *address;
	const char *source;        /* transfer's absolute source */
	const char *current_file;  /* relative to the source's parent */
	const char *node;          /* the Slurm node moving it, or NULL: the supervisor's */
	uint64_t file_bytes;
	int file_percent;
	double rate;
	int64_t eta;
	struct proc_id supervisor;
};
typedef int (*live_fn)(const struct live_file *f, void *ctx);
/* Call fn for each file being moved by a running transfer, in one snapshot. */
int store_live_foreach(struct store *st, live_fn fn, void *ctx);

/*
 * Is f_type (statfs(2)) a file system that several hosts may mount at
 * once? The store then uses a rollback journal instead of WAL.
 */
bool store_fs_shared(long f_type);

/* Create dir (and parents) 0700 if missing; refuse a dir others can write. */
int store_prepare_dir(const char *dir, char *errbuf, size_t errlen);

#endif
