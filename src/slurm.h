/*
 * slurm: how scow-sync asks Slurm for nodes, and gives them back.
 *
 * salloc holds the allocation, and a job step on each node (srun
 * --relative) runs the hidden worker command there (sup-nodes.c). Nothing here waits on
 * Slurm for long: srun runs beside the supervisor, scancel and the checks
 * a command makes before it records a transfer are bounded.
 */
#ifndef SCOW_SYNC_SLURM_H
#define SCOW_SYNC_SLURM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct supervisor_config;

#define SLURM_WAIT_DEFAULT 60     /* seconds for the nodes before this node sends alone */
#define SLURM_NODES_MAX 512

/*
 * salloc's argv for transfer id's allocation of cfg->nodes nodes (cfg's
 * partition, account, time, slurm_wait): it holds the allocation while it
 * runs, and gives it back when it ends.
 */
void slurm_salloc_argv(const struct supervisor_config *cfg, int64_t id, struct strvec *argv);
/*
 * srun's argv for a step of job on its task-th node running the worker
 * (clean: the step that removes the worker's directory there).
 */
void slurm_step_argv(const struct supervisor_config *cfg, int64_t job, int task, bool clean,
		     struct strvec *argv);

/* Cancel job (scancel, bounded); what it said goes to the log. */
void slurm_cancel(const struct supervisor_config *cfg, int64_t job);

/*
 * Before a transfer is recorded with --nodes: is srun here, and does the
 * partition (NULL: the default one) exist? 0, or -1 with a one-line
 * reason in err.
 */
int slurm_check(const char *partition, char *err, size_t errlen);

#endif
