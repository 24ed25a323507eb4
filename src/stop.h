/*
 * stop: stopping a transfer, or a part of one, from outside its
 * supervisor (what terminate asks for). The protocol: the request is
 * recorded in the store first, so that a supervisor still starting
 * honours it; a live supervisor is signalled and waited for (SIGTERM,
 * then SIGKILL after stop_wait); a transfer whose supervisor is gone is
 * finished here, and its partial data on the far side removed. These
 * functions say nothing: they return what happened, and the command
 * reports it.
 */
#ifndef SCOW_SYNC_STOP_H
#define SCOW_SYNC_STOP_H

#include <stdbool.h>
#include <stdint.h>

#include "proc.h"
#include "settings.h"
#include "store.h"
#include "util.h"

enum stop_result {
	STOP_DONE,           /* stopped, and its partial data removed */
	STOP_DONE_UNCLEAN,   /* stopped; partial data stays on the far side (left, why) */
	STOP_DONE_OFFLINE,   /* a part of a transfer not running: left out when resumed */
	STOP_ENDED_FIRST,    /* the transfer had ended (state) */
	STOP_ARRIVED,        /* the part had already arrived */
	STOP_BEFORE,         /* the part had been stopped before */
	STOP_NOT_PART,       /* not part of what the transfer moves */
	STOP_ELSEWHERE,      /* it runs on another node (sup) */
	STOP_NOT_OURS,       /* its supervisor is a process we may not signal (sup) */
	STOP_STARTING,       /* still starting after the wait; it stops once it runs */
	STOP_TIMEOUT,        /* the supervisor did not stop the part in time */
	STOP_STUCK,          /* the supervisor outlived SIGKILL (sup) */
	STOP_FAILED,         /* the store or the settings failed (why) */
};

struct stop_report {
	enum transfer_state state;   /* STOP_ENDED_FIRST: how it ended */
	struct proc_id sup;          /* the supervisor meant */
	uint64_t left;               /* STOP_DONE_UNCLEAN: partial files left */
	char *address;               /* STOP_DONE_UNCLEAN: where they are */
	bool by_us;                  /* this call stopped it (not an earlier one) */
	struct strbuf why;           /* STOP_FAILED, and an unclean end's cause */
};

struct stop_env {
	const struct settings *settings;   /* for the far side's cleanup */
	double stop_wait;                  /* seconds from SIGTERM to SIGKILL */
	/* Told when a supervisor is killed after stop_wait; may be NULL. */
	void (*killing)(void *arg, int64_t id, double waited);
	void *arg;
};

#define STOP_START_WAIT 30.0   /* seconds for a start to hand over to its supervisor */
#define STOP_PART_WAIT 60.0    /* seconds for a supervisor to stop a part */
#define STOP_KILL_WAIT 5.0     /* seconds for a supervisor to end after SIGKILL */

void stop_report_init(struct stop_report *r);
void stop_report_release(struct stop_report *r);

/*
 * Can a stop still act on t? Unfinished and interrupted transfers, and a
 * terminated one whose partial data on the far side is not removed yet.
 */
bool stop_can_act(struct store *st, const struct transfer *t);

/*
 * Ask transfer id to stop without waiting (for stopping several at once:
 * every one is asked before any is waited for by stop_transfer). Nothing
 * for one on another node.
 */
void stop_ask(struct store *st, int64_t id, enum transfer_state state,
	      const struct proc_id *sup);

/* Stop transfer id for good, and remove its partial data. */
enum stop_result stop_transfer(struct store *st, int64_t id, const struct stop_env *env,
			       struct stop_report *r);

/*
 * Stop the part rel (relative to the source's parent, as units are named;
 * path: the same as an absolute path) of transfer id, last seen in state
 * run by sup. A live supervisor does the work and records the outcome; for
 * a transfer without one it is done here, and the part stays out when the
 * transfer is resumed.
 */
enum stop_result stop_part(struct store *st, int64_t id, enum transfer_state state,
			   const struct proc_id *sup, const char *rel, const char *path,
			   const struct stop_env *env, struct stop_report *r);

#endif
