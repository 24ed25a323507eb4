/*
 * sup-internal: what the supervisor's own files share (src/supervisor.c
 * and src/sup-*.c): the state of one running transfer, its workers and
 * their batches, the limits more than one of them needs, and the
 * functions one of them calls in another. Nothing outside those files
 * includes it; the supervisor's API is supervisor.h.
 */
#ifndef SCOW_SYNC_SUP_INTERNAL_H
#define SCOW_SYNC_SUP_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "batching.h"
#include "farlock.h"
#include "filter.h"
#include "finish.h"
#include "link-groups.h"
#include "shaper.h"
#include "log.h"
#include "master.h"
#include "pool.h"
#include "progress.h"
#include "rsync-parse.h"
#include "rsync.h"
#include "sftp.h"
#include "spawn.h"
#include "store.h"
#include "supervisor.h"
#include "transport.h"
#include "util.h"

#define PARTIAL_DIR ".scow-sync-partial"
#define PARTIAL_MIN_BYTES (1ULL << 20)   /* units this big keep partial data */
#define CONNECT_TIMEOUT 30        /* seconds */
#define REMOTE_TIMEOUT_MS 300000  /* a remote command (mkdir, stat, finish) at most */
#define UNIT_BATCH 64             /* units read from the store at a time */
#define SFTP_TIMEOUT_MS 30000
/*
 * Directories above the cut whose attributes one remote sh sets at the end
 * (some four processes each on the far side); more go to an rsync pass.
 */
#define SETTLE_DIRS_MAX 32
#define COMPRESS_APART_MIN (1ULL << 20)  /* compressed files this big go apart */
#define SMALL_FILE_BYTES (1ULL << 20)    /* files under this size on average are small */
#define S3_UPLOADS_DEFAULT 16      /* an object store's upload helpers at once, unless set */
/*
 * Over several nodes a transfer goes in this many times more batches: with
 * 10 equal files over 4 nodes, a share of 2 each left the last 2 to one
 * node (12.1 s where 8 s would do); shares of 1 spread them by pull.
 */
#define NODES_SHARES 2
/* Over several nodes, files from this size may go in pieces (unless split_mib says). */
#define NODES_SPLIT_MIN (16ULL << 20)
/* A copy that feeds other hosts arrives in this many times more batches (sup-relay.c). */
#define RELAY_FEED_SHARES 8
#define PROBLEMS_KEPT 1000        /* source files not sent, kept by name (the log has all) */

/* Set from signal handlers, acted on by the main loop (sup-pool.c). */
extern volatile sig_atomic_t got_stop_signal;
extern volatile sig_atomic_t got_exclusion;   /* terminate recorded a part to stop */

/*
 * What the mkdir said (create_remote_dirs, or mkdir_before riding on an
 * rsync): nothing (it did not run, or failed), the source's directory was
 * there (old) or not (new), or a directory to make is in the way: a symbolic
 * link, or not a directory.
 */
enum mkdir_said { MKDIR_UNSAID, MKDIR_NEW, MKDIR_OLD, MKDIR_IN_WAY, MKDIR_FAILED };

/*
 * One unit of a worker's batch. Small units travel together, one rsync for
 * many (a process per unit costs a remote login's worth of time), but each
 * keeps its own row, result and progress, so that terminate can stop it
 * alone.
 */
struct batch_unit {
	struct unit unit;
	bool excluded;                /* stopped on request: not to run again */
	bool differs;                 /* JOB_CHECK: the far side needs some of it */
	bool attrs_by_mirror;         /* ... only directories' attributes, which the
				       * mirror's deletes in them set (finish_check) */
	uint64_t bytes_done;          /* of files of it this rsync finished */
	uint64_t files_done;
	bool changed;                 /* a file of it changed while rsync read it */
};

/* What a worker's descriptors in its pool slot are (pool_job.fd). */
enum worker_fd { WORKER_OUT, WORKER_ERR, WORKER_FEEDER_ERR };

/*
 * One slot of the pool, and what its job is: the pool (pool.h) holds its
 * processes, descriptors and exit statuses in *job; the rest is ours.
 */
struct worker {
	struct pool_job *job;         /* its slot: busy, pids, statuses, stopped, ended */
	enum job_kind kind;
	struct batch_unit *units;     /* what this rsync moves, in list order */
	size_t nunits, units_alloc;
	size_t cur_unit;              /* the unit the current file belongs to */
	size_t shown_unit;            /* the unit whose row shows it in the store */
	char *list_file;              /* the NUL-separated list rsync reads */
	bool relayed;                 /* its rsync runs on the feeding host (sup-relay.c) */
	int piece;                    /* JOB_PIECE: which piece of sup.split; its second
				       * process reads the file, WORKER_FEEDER_ERR its count */
	struct strbuf feeder_line;
	char reader_digest[PIECE_DIGEST_HEX + 1];  /* JOB_PIECE: of what the reader sent */
	char piece_digest[PIECE_DIGEST_HEX + 1];   /* ... of what arrived, by the far side */
	int piece_written;            /* ... the remote dd's status, -1 until said */
	double moved_at;              /* ... when it last moved: data read, or the far side spoke */
	bool timed_out;               /* ... ended by us: it did not for io_timeout seconds */
	bool settles;                 /* JOB_UNIT: the last rsync, it settles the directories */
	bool settles_itself;          /* ... as rsync's implied directories, no closing command */
	bool carries_mkdir;           /* it makes the directories first (mkdir_before) */
	bool mkdir_unlisted;          /* ... the destination and the source only: rsync the rest */
	enum mkdir_said mkdir_said;   /* ... and what that said */
	bool mkdir_created;           /* ... it created some */
	int then_status;              /* ... how that went, -1 until said */
	bool changed;                 /* rsync changed something on the far side */
	bool small;                   /* its batch is of small files (see queue_small_unit) */
	struct strvec recent_dirs;    /* directories of the last names rsync sent */
	struct rsync_parser parser;
	struct strbuf err_tail;       /* last bytes of stderr, for the reason */
	struct strbuf err_line;       /* stderr line being assembled, for the log */
	struct file_problem *problems;   /* files this rsync said it did not send */
	size_t nproblems, problems_alloc;
	struct strbuf current;        /* file being moved, relative to source root */
	/*
	 * The file rsync last finished reading, shown as in flight until the
	 * next is named or the rsync ends: what it read may wait in buffers
	 * (ssh's, the socket's) for a second or more, and a batch of one
	 * file would otherwise show nothing for most of its time.
	 */
	struct strbuf last_file;
	uint64_t last_file_bytes;
	const char *source_root;      /* borrowed from the supervisor */
	struct strvec changed_files;  /* files that changed while this rsync read them */
	struct stat current_st;       /* the current file when rsync named it */
	bool current_st_ok;
	uint64_t file_bytes;
	int file_percent;
	double rate;
	int64_t eta;
	uint64_t bytes_done;          /* of files this unit finished */
	uint64_t files_done;
	uint64_t created, updated;    /* non-directories it made on the far side, changed there */
	bool current_new;             /* the current file is new there (its '+'s) */
	uint64_t sent;                /* bytes rsync wrote to the connection */
	bool dirty;                   /* progress changed since the last write */
	struct strvec sent_tail;      /* the last files it counted (see worker_count_file_sent) */
	bool far_failed;              /* the far side's rsync said it failed at something */
	struct strvec *sent_unsure;   /* borrowed from the supervisor */
	struct strvec *deletions;     /* JOB_CHECK of a mirror: what it would delete (borrowed) */
	struct strvec attr_dirs;      /* ... and the directories whose attributes alone differ */
	bool outside_differs;         /* ... and something outside its units differs */
	bool outside_created;         /* ... or is missing there (a directory above the cut) */
	bool node_lost;               /* its job ran on a node that was lost (sup-nodes.c) */
};

/* A unit done because the mirror's deletes will settle it: pending again if they do not. */
struct deferred_unit {
	int64_t id;
	int attempts;
	struct unit_size size;
};

/* A source file that was not sent: it vanished, or could not be read. */
struct file_problem {
	char *path;                   /* from the source root (a worker's: as rsync named it) */
	char *cause;
	bool vanished;
};

/* A large file moving in pieces (one at a time). */
struct split {
	bool active;
	struct unit unit;
	uint64_t size;
	int npieces, next, running, failed;
	uint64_t done_bytes;          /* of the pieces that ended */
	int verified;                 /* pieces whose digests matched */
	bool created;                 /* the far side had no such file */
	bool excluded;                /* stopped on request */
	double started;
	struct stat source_st;        /* the source file as the pieces began */
	bool source_st_ok;
	struct piece_sum *sums;       /* each piece's range and its reader's digest */
};

struct s3_side;

/*
 * A host's transfer fed from another host (sup-relay.c): its batches run
 * as an rsync on that host, with the key in the request's private agent,
 * once their units are done there.
 */
struct relay {
	int64_t feed_id;        /* the feeding host's transfer; 0: fed from the source */
	bool on;                /* batches go from the feeding host */
	bool gate;              /* ... and only units done there */
	char *address;          /* the feeding host */
	int port;
	char *root;             /* its destination (the source's parent there), once known */
	double checked_at;      /* when its transfer's state was last read */
	bool feed_ended;        /* ... and it had ended (units not done there: from here) */
	int64_t since;          /* when this run began (wall clock, seconds) */
	struct ssh_target target;
	/*
	 * This host as this node's ssh reaches and knows it (relay_pin): the
	 * hop's ssh goes there and accepts only those keys.
	 */
	bool pinned;
	char *hop_host;         /* ssh -G's hostname */
	int hop_port;
	char *key_alias;        /* the name its known_hosts lines are under */
	struct strbuf known;    /* those lines */
};

/*
 * A node of the transfer's Slurm allocation (sup-nodes.c): a job step of
 * its own runs the worker there, with its own input and output, so that
 * a node that stops reading holds up nobody else.
 */
struct node {
	char *name;             /* its host name, once it said hello */
	char *dir;              /* its worker's directory, for the files a job reads */
	bool up;                /* it said hello */
	bool lost;              /* silent too long, or its step ended */
	double heard_at;        /* when it last said anything */
	int running;            /* jobs it runs */
	struct strbuf rsh;      /* its rsync's -e: ssh of its own, the key through its link */
	char *key_link, *control_path;   /* in its worker's directory (nodes_target) */
	/*
	 * NODE_TAG_VAR=TAG in the environment of what it starts on the far
	 * side (rsync's receivers, pieces' writers): found and ended there
	 * when the node is lost, so that no writer of it is left behind.
	 */
	char *tag;
	pid_t srun_pid;         /* its step's srun; -1: not running */
	int srun_status;        /* ... how it ended */
	bool step_ended;        /* ... it has */
	int in_fd, out_fd, err_fd;
	struct strbuf out, err; /* what srun printed, not yet whole lines */
	struct strbuf pending;  /* for its stdin, not yet written */
	struct strbuf said;     /* its srun's last line on stderr */
};

/*
 * The nodes a transfer asked Slurm for (--nodes): an allocation that
 * salloc holds (it ends with us), and a job step a node in it.
 */
struct nodes {
	int n;                  /* asked for; 0: none, this node sends */
	int per_node;           /* pool slots each (the most rsyncs at once there) */
	int first_slot;         /* node k's slots begin at first_slot + k * per_node */
	struct node *v;
	bool asked;             /* salloc started */
	bool granted;           /* ... and it has the allocation (job_id) */
	bool on;                /* batches go to the nodes */
	bool fell_back;         /* ... never again: this node sends alone */
	bool ending;            /* nodes_end: the steps' ends are expected */
	int up, lost;
	double asked_at;
	double first_up_at;     /* when the first node said hello */
	int64_t job_id;         /* Slurm's, once granted */
	pid_t salloc_pid;       /* -1: not running */
	int salloc_fd;          /* its stderr */
	int salloc_hold;        /* its stdin: closed, it gives the allocation back */
	struct strbuf salloc_err;  /* ... not yet whole lines */
	struct strbuf salloc_said; /* ... its last line */
};

struct sup {
	struct store *st;
	const struct supervisor_config *cfg;
	struct transfer t;
	/* Units said done by name, and done since the last line that counted them. */
	uint64_t unit_lines, units_unsaid;
	double units_said_at;
	/*
	 * The source, destination and address as messages show them: escaped,
	 * since a name may hold a line break (a fake log line) or an escape
	 * sequence, and every message goes to a log or a terminal.
	 */
	char *shown_source, *shown_dest, *shown_address;
	char *source_root;            /* dirname of the source */
	const char *source_rel;       /* the source as a unit path: its basename */
	struct strvec excludes;       /* applied exclusions, for tree units */
	struct filter filter;         /* the transfer's --exclude/--include rules */
	bool source_is_dir;           /* the walk found a directory (not a file) */
	uint64_t source_entries;      /* what the walk found in it, the top not counted */
	uint64_t deleted;             /* what this run's mirror removed from the far side */
	/*
	 * A mirror's re-sync checks the source whole, with --delete: its dry
	 * run names what the mirror will delete (trailing '/' for
	 * directories), and the mirror needs no dry run of its own. Complete
	 * once that check ended well (check_named_deletions).
	 */
	bool check_whole;
	bool check_named_deletions;
	struct strvec check_deletions;
	/*
	 * Units that differed only in the attributes of directories the
	 * mirror deletes in: done without a copy, since the deletes give
	 * those directories their attributes (rsync's implied directories).
	 */
	struct deferred_unit *deferred;
	size_t ndeferred, deferred_alloc;
	bool dirs_by_mirror;          /* ... and the directories above the cut (rsync_settle) */
	struct strvec gone;           /* a cycle's changed paths that are gone (plan_paths) */
	struct notifier *notifier;    /* whom the transfer tells (cfg's, or its own), or NULL */
	bool own_notifier;            /* ... started by this run, which ends it */
	struct sftp *sftp;            /* for the cleanup, opened when first needed */
	char *tmpdir;                 /* private: control socket, directory list */
	char *key_link;               /* in it: the link to the key ssh is given */
	char *control_path;
	char *dirs_file;
	/* -H: the names of files named more than once, for the link pass (sup-links.c). */
	struct link_groups links;
	char *links_file;             /* their list, in tmpdir */
	int links_attempts;           /* of the link pass, which failed */
	bool links_again;             /* ... and is to run again */
	/* --bwlimit, the whole transfer's: the bucket its processes share (sup-rate.c). */
	struct shaper *shaper;
	char *shaper_path;
	bool have_dirs;
	uint64_t largest_file;        /* the walk's biggest file unit, in bytes */
	uint64_t compressed_files;    /* ... file units that may go apart (sup-queue.c) */
	uint64_t units_not_small;     /* ... units that are not small (queue_small_unit) */
	struct strvec mkdirs;         /* the directories above the cut, while few */
	size_t mkdirs_bytes;
	bool mkdirs_overflow;         /* too many or too odd: the rsync pass makes them */
	bool changed;                 /* something was created or sent on the far side */
	bool dirs_made;               /* every directory above the cut is made (or see below) */
	bool mkdir_in_unit;           /* ... which the one rsync of everything does before it */
	bool mkdir_unit_failed;       /* ... which could not: the mkdir of its own must */
	bool one_rsync;               /* one rsync takes everything: it is its own check */
	bool mkdir_known;             /* ... and it said how it went */
	bool dirs_settled;            /* ... and they have their attributes, nothing ran since */
	bool settle_failed;           /* ... the command for that failed: rsync's pass does it */
	bool fresh;                   /* the source's directory is new on the far side */
	bool leftovers;               /* partial data may be recorded (see forget_leftovers) */
	struct ssh_master master;     /* the shared connection */
	bool master_stuck;            /* a remote command given up on may hold a session of it */
	struct ssh_target target;
	struct strbuf rsh;            /* rsync's -e: through the shared connection */
	struct strbuf rsh_own;        /* ... or over a connection of its own */
	struct worker *workers;
	int nworkers;
	struct pool pool;             /* their processes: worker i is slot i (sup-pool.c) */
	const struct transport *transport;   /* how it reaches the destination (transport.h) */
	struct s3_side *s3;           /* transport_s3's state, or NULL */
	bool connected;               /* ... its connection came up (step 3) */
	enum job_kind pass;           /* what run_loop runs now */
	bool pass_started;            /* ... its one job started (a pass other than JOB_UNIT) */
	bool fill_ok;                 /* ... free workers may start this turn (the lock is held) */
	int active_workers;           /* of them, the ones the link and the CPUs are worth */
	int small_cap;                /* batches of small files at once, at most */
	bool near;                    /* the far side answers fast: the CPU is the limit */
	bool compressing;             /* the last batch was compressed */
	struct retry *retries;
	size_t nretries, retries_alloc;
	struct unit batch[UNIT_BATCH];
	size_t batch_n, batch_pos;
	struct retry held;            /* taken, but left for the next batch */
	struct split split;
	struct strbuf pieces_suffix;  /* of the pieces' files, this transfer's (rsync.h) */
	struct relay relay;           /* fed from another host, or not (sup-relay.c) */
	struct nodes nodes;           /* Slurm's nodes it sends from, or none (sup-nodes.c) */
	bool feeds;                   /* this host's copy feeds another's: small batches */
	bool split_ok;                /* the link is worth pieces (or they were asked for) */
	uint64_t split_min;           /* bytes from which a file may move in pieces */
	bool have_held;
	struct unit *apart;           /* big compressed files, gathered for a batch */
	size_t napart, apart_alloc;
	uint64_t apart_files, apart_bytes;
	uint64_t batch_files;         /* an rsync's share of files ... */
	uint64_t batch_bytes;         /* ... and bytes (see queue_size_next_batch) */
	uint64_t left_files, left_bytes;  /* pending, not yet in a batch */
	int64_t cursor;               /* highest unit id taken from the store */
	bool store_drained;
	uint64_t units_total, units_done, units_failed;
	uint64_t bytes_done, files_done;
	uint64_t created, updated;    /* what this run made and changed on the far side */
	bool far_absent;              /* remote_up_to_date found no file there */
	/* For the progress line: what the walk found, and what of it is settled. */
	uint64_t size_bytes, size_files;
	uint64_t settled_bytes, settled_files;
	uint64_t walk_errors;
	char *walk_error_first;
	char *failure;                /* first permanent failure, for the record */
	bool aborting;                /* a failure that every unit would share: stop */
	bool failure_is_disk_full;    /* the reason recorded is the far side's full disk */
	struct file_problem *problems;   /* source files not sent, in the order found */
	size_t nproblems, problems_alloc;
	uint64_t problems_total;      /* with those past PROBLEMS_KEPT */
	bool problems_failed;         /* some could be read but not sent: the transfer failed */
	uint64_t units_failed_other;  /* failed units not explained by files not sent */
	struct strvec recheck;        /* units to send whatever their files' size and time */
	struct strvec sent_unsure;    /* counted by runs cut off, sorted (sup-worker.c) */
	bool stopped_on_request;      /* by terminate, not by some other signal */
	double last_flush;
	struct progress_line pline;
	struct far_lock lock;         /* the far side's lock on the destination */
	bool lock_wanted;             /* it was had: nothing more is sent without it */
	bool lock_asked;              /* asked for, its answer not read yet (ask_far_lock) */
	bool master_replaced;         /* the kept connection ended before its use (master_wait) */
	bool master_lasts;            /* the connection may outlive the run (sup-hold.c) */
	bool master_from_hold;        /* ... and it is the one the last cycle held */
	bool lock_kept;               /* the lock is the one the last cycle held */
	double lock_retry_at;         /* when to try again to have it back */
};

/* sup-progress.c: progress to the store, the log and the terminal */
enum log_level unit_line_level(struct sup *s);
void say_units_done(struct sup *s, bool now);
void running_totals(struct sup *s, uint64_t *bytes, uint64_t *files);
void flush_progress(struct sup *s, bool force);
/*
 * Milliseconds until progress not yet written may be (-1: none waits).
 * The pool wakes for it: rsync may say nothing more for seconds after it
 * named a file and read it whole, and what it said must not wait for its
 * next word.
 */
int progress_due_ms(struct sup *s);
/*
 * Write the transfer's totals and commit the transaction begun (in_tx),
 * so that the units' ends and what they sent are recorded together; what
 * names them in a warning.
 */
void commit_with_totals(struct sup *s, bool in_tx, const char *what);
void draw_progress(struct sup *s);

/* supervisor.c: what the files of its parts call back */
int remote_capture(struct sup *s, const char *const *argv, const struct strbuf *input, int *status,
		   struct strbuf *out, struct strbuf *err);

/* sup-leftovers.c: partial data on the far side */
void forget_leftovers(struct sup *s, const struct unit *u);
int clean_leftovers(struct store *st, int64_t transfer_id, int64_t created_at,
		    const struct ssh_target *target, const char *dest, const char *source_root,
		    struct sftp **session, const char *prefix);
int clean_remote_prefix(struct store *st, const struct transfer *t,
			const struct supervisor_config *cfg, const char *prefix);

/*
 * transport-s3.c: an object store's partial data of transfer t (all, or at
 * or below prefix) removed without a supervisor of it (terminate's): its
 * multipart uploads aborted. 0, or below 0 when some may be left.
 */
int s3_clean_transfer(struct store *st, const struct transfer *t,
		      const struct supervisor_config *cfg, const char *prefix);

/*
 * transport-s3-get.c: the unfinished downloads of transfer t (all, or at
 * or below prefix) removed without a supervisor of it (terminate's).
 */
int s3_get_clean_transfer(struct store *st, const struct transfer *t, const char *prefix);

/* sup-part.c: parts stopped on request */
void apply_exclusions(struct sup *s);

/* sup-outcome.c: what a finished job means, and how the transfer ends */
void set_failure(struct sup *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void count_done(struct sup *s, const struct unit *u);
void add_problem(struct sup *s, const char *rel, const char *cause, bool vanished);
void mark_batch_running(struct sup *s, struct worker *w);
void finish_batch(struct sup *s, struct worker *w);
void finish_check(struct sup *s, struct worker *w);
void fail_batch(struct sup *s, struct worker *w);
enum transfer_state final_state(struct sup *s, char **reason);

/* sup-pool.c: the workers' loop */
int install_signals(void);
void restore_signals(void);

/* sup-relay.c */
void relay_init(struct sup *s);
void relay_release(struct sup *s);
/*
 * May unit u go now: no relay, or it is done on the feeding host. Once
 * that host's transfer has ended not done, the rest goes from here.
 */
bool relay_unit_ready(struct sup *s, const struct unit *u);
/* Start w's batch (JOB_UNIT, its list in w->list_file) as an rsync on the feeding host. */
/*
 * May a batch go from the feeding host: the relay is on, and this host's
 * keys are known to pin the hop's ssh to (read once; none: the relay
 * turns off, and the rest goes from here).
 */
bool relay_can_hop(struct sup *s);
/*
 * Did the feeding host receive every unit of w from the source, whole, in
 * this run (what it had already, kept by rsync's quick check, or from an
 * earlier run, or with a part stopped there, is not the source's to give)?
 * Otherwise the batch goes from here.
 */
bool relay_batch_from_source_there(struct sup *s, const struct worker *w);
int relay_start_job(struct sup *s, struct worker *w, const struct rsync_job *job);
/*
 * A relayed batch ended as e says: any failure but a stop turns the relay
 * off, and e becomes a stop that runs the batch again at once.
 */
void relay_job_ended(struct sup *s, const struct worker *w, struct batch_end *e);
int run_loop(struct sup *s, enum job_kind pass);
void sup_pool_init(struct sup *s);

/* sup-nodes.c: a transfer spread over several nodes through Slurm */
/* Make room for the nodes' slots in the pool (before the workers are made). */
void nodes_init(struct sup *s);
/* Ask Slurm for the nodes (salloc), while the source is walked. */
void nodes_ask(struct sup *s);
/* The nodes are asked for and not given up on: the units wait for them, or go there. */
bool nodes_pending(const struct sup *s);
/*
 * Some are up, the others not yet, for a moment more (NODES_GATHER_S):
 * nothing starts, so that the first batches and pieces are cut for all.
 */
bool nodes_gathering(const struct sup *s);
/* workers, of each node, times the nodes there are (or are waited for); else workers. */
int nodes_scale(const struct sup *s, int workers);
/* The task whose slots hold pool slot `slot`, or -1: this node's own. */
int nodes_task_of_slot(const struct sup *s, int slot);
/* May slot take a batch now (NODE_SLOT_OPEN), or not (NODE_SLOT_CLOSED)? */
enum { NODE_SLOT_CLOSED, NODE_SLOT_OPEN };
int nodes_slot_open(struct sup *s, int slot);
/*
 * Is u worth pieces over the nodes: it is big beside a node's share of
 * what is left, or one of the last few files (true without nodes: the
 * link decides, split_candidate)? And does it wait for the file in
 * pieces now to end, rather than go whole?
 */
bool nodes_split_worth(const struct sup *s, const struct unit *u);
bool nodes_split_waits(const struct sup *s, const struct unit *u);
/* The pieces of a file over the nodes: one a node idle now, 2 at least (0: no nodes). */
int nodes_pieces(const struct sup *s);
/* Start w's batch (JOB_UNIT, its list in given->files_from) on its node. */
int nodes_start_job(struct sup *s, struct worker *w, const struct rsync_job *given);
/*
 * Start the next piece of the split on w's node: reader (its argv) reads
 * input and writes into an ssh from there running command on the far side.
 */
int nodes_start_piece(struct sup *s, struct worker *w, const char *command,
		      const struct strvec *reader, const struct strbuf *input);
/* A batch lost with its node becomes a stop that runs it again at once, elsewhere. */
void nodes_job_ended(struct sup *s, const struct worker *w, struct batch_end *e);
/* The name of the node w's job runs on, or NULL: this one. */
const char *nodes_of_worker(const struct sup *s, const struct worker *w);
/* The pool's: watch_ready, signal_remote, and a child reaped (true: salloc or a step). */
void nodes_watch_ready(struct sup *s, int k);
void nodes_signal(struct sup *s, int slot, int sig, bool grace_over);
bool nodes_reaped(struct sup *s, pid_t pid, int status);
/* The end: the steps ended (their input closed, bounded), the allocation given back. */
void nodes_end(struct sup *s);

/* sup-queue.c: what runs next, and how big a batch is */
uint64_t unit_files(const struct unit *u);
bool next_batch(struct sup *s, struct worker *w);
bool nothing_else_left(struct sup *s, const struct worker *self);
void queue_retry(struct sup *s, struct unit *u, double delay, bool alone);
void requeue_unit(struct sup *s, struct unit *u, bool run_again);
void give_back_batch(struct sup *s, struct worker *w);
void drop_queued(struct sup *s, const char *path);
void choose_batch_size(struct sup *s);
void recount_left(struct sup *s);
bool one_rsync_takes_all(struct sup *s);
bool may_split(const struct sup *s, const struct unit *u);

/* sup-rate.c: --bwlimit for the whole transfer */
void rate_setup(struct sup *s);
void rate_release(struct sup *s);
/* The rate now, KiB/s (0: none), as `limit` may have changed it. */
unsigned long rate_kib(struct sup *s);
/* An rsync's share of it, for one that runs where the bucket is out of reach. */
unsigned long rate_share_kib(struct sup *s);
/* rsh through __shape while there is a rate (shaped holds it), else rsh itself. */
const char *rate_rsh(struct sup *s, const char *rsh, struct strbuf *shaped);

/* sup-links.c: -H across batches, once every unit has arrived */
void links_pass(struct sup *s);
/* The link pass's rsync ended with status: what that means for the transfer. */
int links_job_finished(struct sup *s, struct worker *w, int status);

/* sup-job.c: how a job is built and started */
int start_worker(struct sup *s, struct worker *w, enum job_kind kind);
/* Give job what the transfer keeps beyond rsync -a (-H -A -X -S, --chmod, ...). */
void job_preserve(const struct sup *s, struct rsync_job *job);
/*
 * Whether only rsync can give a file its attributes, as the transfer asks
 * for more than the finish command sets (ACLs, xattrs, ids by number, a
 * --chmod or --chown).
 */
bool attrs_need_rsync(const struct sup *s);
int write_job_rules(struct sup *s, const char *file, const char *const *paths);
/* Write the paths of w's batch, NUL-terminated, to w->list_file. */
int job_write_list(struct worker *w);
/*
 * A job of kind has started on w as sp (its pid and pipes): hand it to
 * the pool, and begin w's view of it afresh (every transport's jobs).
 */
void worker_job_started(struct sup *s, struct worker *w, enum job_kind kind,
			const struct spawn *sp);

/* sup-notify.c: records to the transfer's receiver */
struct notifier;
/* The transfer's notifier, started, or NULL when it names no receiver (or it cannot start). */
struct notifier *notify_for_transfer(const struct transfer *t,
				     const struct supervisor_config *cfg);
/* Tell n (NULL: nobody) of event, with transfer id's record as it is now. */
void notify_transfer(struct notifier *n, struct store *st, int64_t id, const char *event);
/* Give the last records their time to go out, and end n (NULL: nothing). */
void notify_end(struct notifier *n);

/* sup-delete.c: a mirror's deletes, once everything has arrived */
bool rsync_mirror(struct sup *s);
/*
 * Record and log the entries a mirror deleted (paths below the source's
 * parent, a directory's with a trailing '/'), and count them.
 */
void sup_record_deletions(struct sup *s, const struct strvec *names);
/* Append every part stopped on request, whenever it was: never deleted on the far side. */
void sup_stopped_parts(struct sup *s, struct strvec *out);
/*
 * Write the rules of a pass that names or makes a mirror's deletes to
 * file: every part stopped on request, then the filters (write_job_rules).
 */
int mirror_write_rules(struct sup *s, const char *file);
/* The deferred units are pending again: the deletes that settle them did not all run. */
void mirror_undefer(struct sup *s);
/*
 * Is some path of sorted (strcmp's order; a directory's with its trailing
 * '/') below dir? The pass that deletes it gives dir its attributes:
 * rsync sends every parent of a listed path as an implied directory.
 */
bool names_below(const struct strvec *sorted, const char *dir);
/*
 * Will the mirror's deletes give every directory above the cut its
 * attributes (each has something below it to delete), so that settling
 * them before is not needed? Then s->dirs_by_mirror, and the mirror
 * settles them itself where its deletes do not.
 */
bool mirror_settles_dirs(struct sup *s);

/* sup-worker.c: what a worker's rsync says */
void worker_output(struct worker *w, int fd, const char *buf, size_t n);
void take_stderr(struct worker *w, const char *buf, size_t n);
void last_error_line(struct worker *w, struct strbuf *out);
const char *changed_in(const struct worker *w, const struct unit *u);
void problem_release(struct file_problem *p);
void worker_forget_problems(struct worker *w);
bool same_change_times(const struct stat *a, const struct stat *b);
bool sorted_find(const struct strvec *sv, const char *name, size_t *at);
/* ... sorted by cmp (path_tree_cmp, say). */
bool sorted_find_by(const struct strvec *sv, const char *name,
		    int (*cmp)(const char *, const char *), size_t *at);
/*
 * A mirror's check that ended well: a unit whose directories' attributes
 * alone differ is settled by the mirror (attrs_by_mirror) where it
 * deletes below each of them, and differs otherwise. Sorts w->deletions.
 */
void check_attr_dirs(struct worker *w);

/* sup-plan.c: the walk into the store */
int plan_transfer(struct sup *s);

/* sup-link.c: the shared connection and the measure of the link */
int master_start(struct sup *s);
int master_wait(struct sup *s);
void stop_master(struct sup *s);
void apply_answer(struct sup *s, double answer);

/*
 * sup-hold.c: what a watch holds from one cycle to the next
 * (supervisor_config.hold): its shared connection, the far side's lock on
 * its destination (no other writer gets in between cycles), the far
 * side's answer time (judged once), and whether the far side has every
 * directory the cycles so far saw. The watch inits it before its first
 * cycle and releases it at its end (the lock let go, the connection
 * ended); in between each cycle takes the connection and the lock when
 * they are still good, and gives them back at its end.
 */
struct sup_hold {
	struct ssh_master master;     /* the connection, or none (pid -1, not kept) */
	struct far_lock lock;         /* the lock, held over that connection, or not held */
	double answer;                /* the far side's answer time, or -1: not judged yet */
	bool dirs_there;              /* every cycle since a full one that was done was done */
};
void sup_hold_init(struct sup_hold *h);
/* End what h holds: the lock first, over the connection, then the connection. */
void sup_hold_release(struct sup_hold *h, const struct supervisor_config *cfg,
		      const struct transfer *t);
/*
 * A cycle takes the connection held, when it still answers and goes where
 * s does: true, s->master is it. False: there is none, or it ended (the
 * lock held over it is let go), and the caller connects.
 */
bool hold_take_master(struct sup *s);
/* ... and the lock held over it, when its holder still runs: true, s->lock is it. */
bool hold_take_lock(struct sup *s);
/*
 * At a cycle's end: give the connection back, and the lock when it is
 * held; true when they are the watch's again. False: the caller ends
 * them, as a run does (the connection is not good, or may hold a session
 * of a remote command given up on).
 */
bool hold_give_back(struct sup *s);
/*
 * Does the far side have every directory above the cut of this cycle of
 * what changed? So when every cycle since a full one was done, and none
 * of the directories is in (or is) one of the cycle's new trees: every
 * directory made since the last cycle is in one (watcher.h, record.h).
 */
bool hold_dirs_there(const struct sup *s);

/* sup-lock.c: the far side's lock on the destination */
bool tag_process_alive(const char *tag);
void ask_far_lock(struct sup *s);
int take_far_lock(struct sup *s, bool again);
bool far_lock_ready(struct sup *s);

/* sup-dirs.c: the directories above the cut */
/* Attributes to set by one remote command (finish.h), gathered. */
struct attrs_list {
	struct finish_attrs *v;
	size_t nr, alloc;
};

int create_remote_dirs(struct sup *s, bool *dirs_done);
void mkdir_before(struct sup *s, bool listed, struct strbuf *out);
bool mkdirs_are_source(const struct sup *s);
bool mkdir_names_nothing_new(struct sup *s);
bool take_mkdir_report(struct worker *w, const char *line, size_t len);
bool run_finish(struct sup *s, const char *from, const struct finish_attrs *attrs, size_t n,
		const char *what);
void attrs_list_release(struct attrs_list *l);
bool attrs_list_add(struct sup *s, struct attrs_list *l, const char *rel, const struct stat *sb);
bool attrs_list_add_dirs(struct sup *s, struct attrs_list *l);
bool settle_dirs(struct sup *s);
bool settle_dirs_command(struct sup *s, struct strbuf *out);
bool batch_implies_dirs(const struct sup *s, const struct worker *w);
bool batch_names_source(struct sup *s, const struct worker *w);

/* sup-split.c: a large file in pieces */
bool pieces_row_within(const char *row, int64_t transfer_id, const char *prefix);
void reclaim_pieces(struct sup *s, const struct unit *u);
bool remote_up_to_date(struct sup *s, const struct unit *u);
bool split_candidate(struct sup *s, const struct unit *u);
void begin_split(struct sup *s, struct unit *u);
bool split_piece_ready(struct sup *s);
int start_piece(struct sup *s, struct worker *w);
void take_feeder_output(struct worker *w, const char *buf, size_t n);
void finish_piece(struct sup *s, struct worker *w);
uint64_t split_bytes(struct sup *s);

/*
 * sup-record.c: compare source with transfer id's record into the paths a
 * partial run sends (trees whole, changed; see plan_paths), staging what
 * the run makes of the record. Below 0: it could not (the run then
 * compares with the far side, as without a record).
 */
int sup_record_compare(struct store *st, int64_t id, const char *source,
		       const struct filter *filter, struct strvec *trees, struct strvec *changed,
		       bool *top_changed);

#endif
