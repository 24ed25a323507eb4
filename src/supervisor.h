/*
 * supervisor: run one recorded transfer to its end.
 *
 * The supervisor is the process that owns a transfer while it runs: the
 * detached child of start, or the foreground process of run. It goes
 * through these steps, one function each in supervisor.c; what differs by
 * kind of destination goes through its transport (transport.h), today
 * rsync over ssh, as described here:
 *   1. (sup_claim) marks the transfer running under its own (pid, start
 *      time, uid), and reads what earlier runs left;
 *   2. (sup_connect_and_walk) opens one SSH master connection that every
 *      rsync shares (it checks and learns the host key), and meanwhile
 *   3. walks the source into units (plan), counting their files and bytes;
 *   4. (sup_measure_link) judges the link by the far side's answer (an
 *      earlier one, or the time of the mkdir that creates the destination
 *      and the directories above the cut) and sizes the pool by it;
 *   5. (sup_prepare) takes the far side's lock, leaves out the parts
 *      stopped before, creates the directories above the cut by an rsync
 *      pass where they are many, and on a re-sync finds by one dry run
 *      what differs;
 *   6. (sup_send) runs the units through a bounded pool of rsync workers,
 *      small units batched into one rsync up to a share of the work,
 *      reading their progress and writing it to the store at most once a
 *      second, retrying transient failures with backoff;
 *   7. (sup_settle, sup_finish) sets the attributes of the directories
 *      above the cut again (their times changed as files arrived), closes
 *      the master and records the final state with its reason.
 * SIGTERM, SIGINT and SIGHUP stop the workers. When terminate asked for
 * the stop (store_transfer_request_stop), the transfer ends terminated and
 * its partial data on the far side is removed; after any other signal (a
 * reboot, Ctrl-C) it ends interrupted and keeps it, for resume.
 */
#ifndef SCOW_SYNC_SUPERVISOR_H
#define SCOW_SYNC_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "master.h"
#include "options.h"
#include "settings.h"
#include "store.h"

#define WORKERS_MAX 64             /* SCOW_SYNC_WORKERS at most */
#define SLURM_NAME_MAX 128         /* a partition's, an account's or a time limit's bytes */
#define RELAY_AUTO_HOSTS 3         /* the relay setting's auto: from this many hosts */

struct sup_hold;

struct supervisor_config {
	int64_t transfer_id;
	const char *state_dir;
	int workers;               /* rsync processes at once */
	bool workers_set;          /* by a setting, not the default */
	int max_attempts;          /* per unit, for transient failures */
	unsigned long bwlimit_kib; /* per rsync, 0 for none */
	unsigned io_timeout;       /* rsync --timeout, seconds; 0 for none */
	/*
	 * What rsync -a leaves out that the transfer asks for (rsync_preserve),
	 * its --chmod and --chown ("": none): every rsync of it has them.
	 */
	unsigned preserve;
	char chmod_rule[PRESERVE_RULE_MAX + 1];
	char chown_spec[PRESERVE_RULE_MAX + 1];
	uint64_t split_mib;        /* move files from this size in pieces; 0: decide by the link */
	bool split_never;          /* SCOW_SYNC_SPLIT_MIB=0 */
	/* An object store's (s3://, cos://): where, and from what size files go in parts. */
	const char *s3_endpoint;   /* NULL: AWS's or COS's for the region */
	const char *s3_region;     /* NULL: the default */
	int s3_style;              /* enum s3_style */
	uint64_t s3_multipart_mib;
	/*
	 * To several hosts: whether they forward to each other (relay_auto:
	 * from RELAY_AUTO_HOSTS hosts), each to how many; and, for a host's
	 * transfer fed from another host, the private agent that holds the
	 * key for that host's ssh to this one (NULL: none, fed from here).
	 */
	bool relay, relay_auto;
	int relay_fanout;
	const char *relay_agent;
	/* The umask of whoever asked: what a download makes, as they would make it. */
	mode_t user_umask;
	enum compress_mode { COMPRESS_AUTO, COMPRESS_ALWAYS, COMPRESS_NEVER } compress;
	const char *self_path;     /* this program, which reads pieces; NULL: no pieces */
	/*
	 * Through Slurm (--nodes): the nodes its rsyncs run on (0: this one
	 * only), where (NULL: Slurm's defaults), and how long to wait for
	 * them before this node sends alone (seconds).
	 */
	int nodes;
	const char *slurm_partition, *slurm_account, *slurm_time;
	unsigned slurm_wait;
	char slurm_buf[3][SLURM_NAME_MAX + 1];   /* where the three point, once recorded */
	char self_path_buf[4096];  /* where self_path points */
	struct proc_id owner;      /* the command that claimed the transfer (this one) */
	const char *rsync_path;
	const char *ssh_path;
	const char *ssh_config;    /* ssh -F, or NULL */
	uint64_t log_rotate_bytes; /* rotate a log past this size, 0 never */
	unsigned keep_connection;  /* seconds a connection stays for the next transfer, 0 none */
	unsigned prune_days;       /* forget transfers ended this many days ago, 0 never */
	uint64_t prune_keep;       /* ... keeping at least this many of the newest */
	/*
	 * A cycle of a watch (supervisor_watch): the signals stay the
	 * watch's, a stop that came before the cycle ends it, and with
	 * partial only the paths in only_trees (directories whole) and
	 * only_changed (relative to the source, sorted; see plan_paths) are
	 * planned, sent and, for a mirror, deleted when gone.
	 */
	bool watch_cycle;
	bool first_cycle;          /* ... the first: it tells the notifier the watch runs */
	bool partial;
	const struct strvec *only_trees, *only_changed;
	/* A trusted record found nothing changed: done without asking the far side. */
	bool unchanged;
	/* --verify: compare with the far side by content (rsync --checksum), send what differs. */
	bool verify;
	/*
	 * --trust-record: compare the source with the record the last run of
	 * the same request kept, send only what changed (sup-record.c).
	 */
	bool trust_record;
	struct notifier *notifier; /* the watch's, for its cycles; NULL: the run's own */
	char notify_secret[SETTING_SECRET_MAX + 1];   /* the notify_secret setting, or "" */
	long long max_delete;      /* a mirror deletes at most this many, -1: no limit */
	bool delete_all_ok;        /* a mirror may empty the far side (--delete-all-ok) */
	bool progress_display;     /* draw a progress line on stderr */
	bool detached;             /* runs in a session made for it (start) */
	/* Called once the transfer is marked running (start's handshake). */
	void (*on_running)(void *ctx);
	void *on_running_ctx;
	/* Its connection, started before it was recorded (run), or NULL. */
	struct ssh_master *early;
	/*
	 * A watch's cycle: what the watch holds from one cycle to the next
	 * (its connection, the far side's lock, the link's measure; see
	 * sup-internal.h), or NULL.
	 */
	struct sup_hold *hold;
};

/*
 * The host of a request as ssh reaches it with the transfers' options
 * ("user@address:port", see far_host_resolve), or NULL when ssh cannot
 * say; caller frees.
 */
char *supervisor_far_host(const struct supervisor_config *cfg, const char *user,
			  const char *host, int port, const char *key_path);

/*
 * Start the shared connection of a transfer that is not recorded yet (its
 * socket in a private directory of the user's in the temporary directory,
 * $TMPDIR/scow-sync-UID): run starts it once the request is
 * checked, so that the handshake overlaps the store's work and the walk.
 * supervisor_run takes it over (cfg->early) when the transfer goes to the
 * same place; whatever it does not take, ssh_master_release ends. 0, or -1
 * with err set.
 */
int supervisor_connect_early(const struct supervisor_config *cfg, const char *user,
			     const char *host, int port, const char *key_path,
			     struct ssh_master *m, char *err, size_t errlen);

struct ssh_target;
/*
 * Where every ssh of a transfer to user@host:port connects, and how (the
 * program, key, known hosts, configuration and timeouts cfg and the user
 * give); t->known_hosts is the caller's to free.
 */
void supervisor_ssh_target(struct ssh_target *t, const struct supervisor_config *cfg,
			   const char *user, const char *host, int port, const char *key_path);

struct settings;
/*
 * Fill cfg from the settings (files, environment, flags: settings.h) and
 * the programs to run (SCOW_SYNC_RSYNC, SCOW_SYNC_SSH, SCOW_SYNC_SSH_CONFIG).
 */
int supervisor_config_from_settings(struct supervisor_config *cfg, const struct settings *st,
				    char *err, size_t errlen);

/*
 * Run the transfer to its end; *final gets its final state. Returns 0, or
 * a negative code when the store itself failed.
 */
int supervisor_run(struct store *st, const struct supervisor_config *cfg,
		   enum transfer_state *final);

/*
 * Remove the private directory (control socket, directory list) that a
 * killed supervisor of this transfer left in the temporary directory.
 */
void supervisor_remove_stale(struct store *st, int64_t transfer_id);

/*
 * For a transfer whose supervisor is gone: remove the partial data its
 * workers left on the far side (over a connection of our own) and its
 * private directory. 0, or a negative code when some could not be removed
 * (the reason is logged).
 */
int supervisor_clean_remote(struct store *st, const struct transfer *t,
			    const struct supervisor_config *cfg);

/*
 * For a transfer whose supervisor is gone: stop the part at rel (relative
 * to the source's parent) as a running supervisor would, recording the
 * result in exclusion exclusion_id and *result, and remove its partial
 * data on the far side. 0, or a negative code when the store failed or
 * some partial data could not be removed (logged).
 */
int supervisor_stop_part(struct store *st, const struct transfer *t,
			 const struct supervisor_config *cfg, int64_t exclusion_id,
			 const char *rel, enum exclusion_state *result);

/*
 * Run transfer cfg->transfer_id to several hosts (sup-fanout.c): a
 * supervisor for each host's transfer, each in a process of its own;
 * *final: done when every host is. supervisor_run calls it for a transfer
 * recorded with hosts.
 */
int supervisor_fanout(struct store *st, const struct supervisor_config *cfg,
		      enum transfer_state *final);

/*
 * Run watch transfer cfg->transfer_id (sup-watch.c): cycles until a stop,
 * each a supervisor_run of the watch's record. supervisor_run calls it for
 * a transfer recorded as a watch. *final: how the watch ended.
 */
int supervisor_watch(struct store *st, const struct supervisor_config *cfg,
		     enum transfer_state *final);

/*
 * Run transfer cfg->transfer_id trusting the record (sup-record.c): the
 * record the newest run of the same request kept is taken over, the
 * source compared with it, and only what changed is sent; nothing
 * changed, the far side is not asked. Without such a record the run
 * compares with the far side, and keeps one for the next. supervisor_run
 * calls it when cfg->trust_record is set.
 */
int supervisor_run_trusting(struct store *st, const struct supervisor_config *cfg,
			    enum transfer_state *final);

#endif
