/*
 * history: which transfers `query --json` and `status` show, and what of
 * each: its record, its sizes, its rate, the files in flight.
 *
 * Selection: by default every transfer not ended (queued, running or
 * interrupted) and every one that ended in the last 24 hours; --since WHEN
 * moves that window, --all drops it, --state keeps the given states, --id
 * names one transfer. Newest first.
 *
 * A transfer recorded as running whose supervisor is gone is shown (and
 * recorded, as the legacy query does) as interrupted.
 */
#ifndef SCOW_SYNC_HISTORY_H
#define SCOW_SYNC_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define HISTORY_DEFAULT_WINDOW (24 * 3600)   /* seconds */

/*
 * The state a watch alive between or in its cycles is shown in: running
 * in the store, "watching" in status and query --json, and in --state.
 */
#define HISTORY_STATE_WATCHING (1u << (TRANSFER_INTERRUPTED + 1))

struct history_filter {
	int64_t id;            /* 0: any */
	unsigned states;       /* bits (1 << enum transfer_state), HISTORY_STATE_WATCHING; 0: any */
	int64_t since;         /* epoch seconds: ended at or after (unfinished always match) */
	bool all;              /* no time window */
};

/* The defaults above, relative to now. */
void history_filter_init(struct history_filter *f, int64_t now);

/*
 * Command-line values. states: names separated by commas ("done,failed"),
 * the states shown: "running" is a transfer other than a watch, "watching"
 * a watch alive.
 * since: an epoch time "@1700000000", a date "2026-11-30" or local time
 * "2026-11-30T08:00:00" (or with a space), or an age "90s", "30m", "12h",
 * "7d". 0, or -1 with a one-line reason naming the value in err.
 */
int history_parse_states(const char *s, unsigned *out, char *err, size_t errlen);
int history_parse_since(const char *s, int64_t now, int64_t *out, char *err, size_t errlen);

/*
 * Apply the option getopt_long returned as c with its argument: 1 when it
 * was one of the selection options query --json and status share
 * (CMD_OPTIONS_HISTORY in cmd-options.h), 0 when not, -1 with a one-line
 * reason in err.
 */
int history_option(struct history_filter *f, int c, const char *arg, int64_t now,
		   char *err, size_t errlen);

/* A file being moved right now. */
struct history_file {
	char *path;            /* relative to the source's parent */
	char *node;            /* the Slurm node moving it (--nodes), or NULL */
	uint64_t bytes_done;
	int percent;
	double rate;
};

struct history_entry {
	struct transfer t;     /* t.state as shown (interrupted when its supervisor is gone) */
	struct transfer_sizes sizes;
	double rate;           /* bytes/s: now when running, else the average */
	int64_t remaining;     /* seconds, -1 when unknown */
	int percent;           /* of the bytes, 0-100 */
	struct history_file *files;
	size_t nfiles;
	bool elsewhere;        /* queued or running on another node (t.supervisor.node) */
	struct cycle last_cycle;  /* a watch's newest cycle, when has_last_cycle */
	bool has_last_cycle;
	int64_t now;           /* epoch seconds the selection was made at, for ages */
	/*
	 * A transfer to several hosts: each host's transfer, in the order of
	 * the hosts; the sizes, rate and time left above are theirs summed
	 * (the time left: the longest). A host's own is listed only here,
	 * unless named by id.
	 */
	struct history_entry *hosts;
	size_t nhosts;
};

typedef int (*history_fn)(const struct history_entry *e, void *ctx);

/*
 * Call fn for each selected transfer, newest first; a non-zero return
 * stops and is returned. SYNC_ERR_NOT_FOUND when f->id names no transfer.
 */
int history_foreach(struct store *st, const struct history_filter *f, int64_t now,
		    history_fn fn, void *ctx);

#endif
