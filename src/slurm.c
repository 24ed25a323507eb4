/* slurm: how scow-sync asks Slurm for nodes, and gives them back (see slurm.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "slurm.h"
#include "spawn.h"
#include "supervisor.h"

#define SLURM_COMMAND_TIMEOUT_MS 15000   /* sinfo, scancel at most */

void
slurm_salloc_argv(const struct supervisor_config *cfg, int64_t id, struct strvec *argv)
{
	strvec_push(argv, "salloc");
	strvec_pushf(argv, "--nodes=%d", cfg->nodes);
	strvec_push(argv, "--ntasks-per-node=1");
	/* Queued longer than that, salloc gives up, and this node sends alone. */
	strvec_pushf(argv, "--immediate=%u", cfg->slurm_wait);
	/* A node lost is ours to handle (its batches go elsewhere), not the end of the job. */
	strvec_push(argv, "--no-kill");
	strvec_pushf(argv, "--job-name=scow-sync-%lld", (long long)id);
	if (cfg->slurm_partition)
		strvec_pushf(argv, "--partition=%s", cfg->slurm_partition);
	if (cfg->slurm_account)
		strvec_pushf(argv, "--account=%s", cfg->slurm_account);
	if (cfg->slurm_time)
		strvec_pushf(argv, "--time=%s", cfg->slurm_time);
	/*
	 * What it runs here while it holds the allocation: a cat of its
	 * stdin, a pipe from us that nobody writes. Its end (ours, even by
	 * kill -9) ends cat, and salloc gives the allocation back and ends.
	 */
	strvec_push(argv, "--");
	strvec_push(argv, "cat");
}

void
slurm_step_argv(const struct supervisor_config *cfg, int64_t job, int task, bool clean,
		struct strvec *argv)
{
	strvec_push(argv, "srun");
	strvec_pushf(argv, "--jobid=%lld", (long long)job);
	strvec_pushf(argv, "--relative=%d", task);
	strvec_push(argv, "--nodes=1");
	strvec_push(argv, "--ntasks=1");
	strvec_push(argv, "--kill-on-bad-exit=0");
	/* The step of a hung worker may hold the node's share still. */
	if (clean)
		strvec_push(argv, "--overlap");
	strvec_push(argv, "--quiet");
	strvec_push(argv, "--");
	strvec_push(argv, cfg->self_path ? cfg->self_path : "scow-sync");
	strvec_push(argv, "__node-worker");
	strvec_pushf(argv, "%d", task);
	if (clean)
		strvec_push(argv, "--clean");
}

void
slurm_cancel(const struct supervisor_config *cfg, int64_t job)
{
	struct spawn_limits lim = { .timeout_ms = SLURM_COMMAND_TIMEOUT_MS };
	struct strbuf err = STRBUF_INIT;
	char id[32];
	const char *argv[] = { "scancel", id, NULL };
	int status = 0;

	(void)cfg;
	snprintf(id, sizeof id, "%lld", (long long)job);
	if (spawn_capture_limited(argv, NULL, &status, NULL, &err, &lim) < 0 ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* Ended already: nothing to cancel. */
		if (err.len > 0 && strstr(err.buf, "Invalid job id") != NULL)
			goto out;
		if (err.len == 0)
			strbuf_addstr(&err, "failed");
		log_untrusted(LOG_WARN, "scancel", err.buf, err.len);
	}
out:
	strbuf_release(&err);
}

int
slurm_check(const char *partition, char *err, size_t errlen)
{
	struct spawn_limits lim = { .timeout_ms = SLURM_COMMAND_TIMEOUT_MS };
	struct strbuf out = STRBUF_INIT, said = STRBUF_INIT;
	const char *argv[] = { "sinfo", "--noheader", "--format=%R", NULL };
	char *srun = spawn_resolve("srun");
	int status = 0, rc = 0;
	struct strbuf shown = STRBUF_INIT;
	char *line, *next;

	if (srun == NULL) {
		snprintf(err, errlen, "--nodes needs Slurm, and srun is not installed here");
		return -1;
	}
	free(srun);
	if (partition == NULL)
		return 0;
	lim.out_max = 1 << 20;
	/* Slurm not answering now is the run's to judge: it falls back to this node. */
	if (spawn_capture_limited(argv, NULL, &status, &out, &said, &lim) < 0 ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		goto out;
	for (line = out.buf; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strcmp(line, partition) == 0)
			goto out;
	}
	escape_untrusted(&shown, partition, strlen(partition));
	snprintf(err, errlen, "no Slurm partition '%s'", shown.buf);
	rc = -1;
out:
	strbuf_release(&out);
	strbuf_release(&said);
	strbuf_release(&shown);
	return rc;
}
