/*
 * sup-nodes: a transfer spread over several nodes through Slurm.
 *
 * The supervisor stays where the transfer was started, and stays the
 * only writer of the store. It asks Slurm for N nodes with one srun (an
 * allocation and one job step, a task a node), whose tasks each run
 * `scow-sync __node-worker` (cmd-node-worker.c): they take batches on
 * srun's stdin and report what their rsyncs print on srun's stdout
 * (node-proto.h). Each node's rsync goes from there straight to the
 * destination over its own ssh; the source and the home are on a file
 * system every node sees.
 *
 * In the pool (pool.h) each node has slots of its own after this node's,
 * remote jobs: a batch is started on a node's slot only when the node is
 * up and has a slot free, so the node that asks first gets the next
 * batch, and a slow node takes less (work stealing by pull). A node that
 * goes silent, or whose task srun says ended, is lost: what it ran runs
 * again elsewhere. Until the nodes are up (--slurm-wait), or when Slurm
 * refuses, or every node is lost, this node sends alone, and the log says
 * so.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "node-proto.h"
#include "slurm.h"
#include "sup-internal.h"
#include "verdict.h"

#define SRUN_END_WAIT 10.0        /* seconds for the step to end once its input has */
#define SCANCEL_TIMEOUT_MS 15000
#define NODE_WORDS_MAX 8
#define NODE_TAG_VAR "SCOW_SYNC_NODE"
/* srun's stdin: what waits to be written at most, before batches wait instead. */
#define NODES_PENDING_MAX (8u << 20)

enum nodes_watch { WATCH_SRUN_OUT, WATCH_SRUN_ERR, WATCH_SRUN_IN };

static const char *
nodes_name(const struct sup *s, int task)
{
	const struct node *n = &s->nodes.v[task];

	return n->name ? n->name : "?";
}

/* The node whose slots hold pool slot `slot`, or -1: this node's own. */
int
nodes_task_of_slot(const struct sup *s, int slot)
{
	const struct nodes *ns = &s->nodes;

	if (ns->n == 0 || slot < ns->first_slot)
		return -1;
	return (slot - ns->first_slot) / ns->per_node;
}

static bool
nodes_srun_running(const struct nodes *ns)
{
	return ns->srun_pid > 0;
}

/* Write what waits for srun's stdin, as far as it takes it now. */
static void
nodes_flush(struct sup *s)
{
	struct nodes *ns = &s->nodes;
	ssize_t n;

	while (ns->in_fd >= 0 && ns->pending.len > 0) {
		n = write(ns->in_fd, ns->pending.buf, ns->pending.len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			/* srun is gone: its end says what became of the nodes. */
			close(ns->in_fd);
			ns->in_fd = -1;
			strbuf_reset(&ns->pending);
			break;
		}
		strbuf_remove_front(&ns->pending, (size_t)n);
	}
	s->pool.watch[WATCH_SRUN_IN] = ns->pending.len > 0 ? ns->in_fd : -1;
}

/* A message (its words in msg, without the task) for task. */
static void
nodes_send(struct sup *s, int task, const struct strbuf *msg)
{
	struct nodes *ns = &s->nodes;

	if (ns->in_fd < 0)
		return;
	strbuf_addf(&ns->pending, "%d ", task);
	strbuf_add(&ns->pending, msg->buf, msg->len);
	strbuf_addch(&ns->pending, '\n');
	nodes_flush(s);
}

/* Stop waiting for Slurm: this node sends alone. why: for the log. */
static void
nodes_fall_back(struct sup *s, const char *why)
{
	struct nodes *ns = &s->nodes;

	if (ns->fell_back)
		return;
	ns->fell_back = true;
	ns->on = false;
	log_warn("%s; this node sends alone", why);
	if (nodes_srun_running(ns))
		kill(ns->srun_pid, SIGTERM);
}

/*
 * End on the far side what a lost node started there (its tag in their
 * environment): its rsyncs' receivers and its pieces' writers, cut off
 * from it, would go on until the far side's sshd gives up on the
 * connection, and could write after their batches ran again elsewhere,
 * or after the transfer's end.
 */
static void
nodes_end_far_writers(struct sup *s, struct node *n)
{
	struct strbuf script = STRBUF_INIT, err = STRBUF_INIT;
	struct strvec argv = STRVEC_INIT;
	int status = -1;

	if (n->tag == NULL)
		return;
	strbuf_addf(&script, "for p in /proc/[0-9]*; do "
		    "if tr '\\0' '\\n' <\"$p/environ\" 2>/dev/null | grep -qx '%s'; then "
		    "kill -9 \"${p#/proc/}\"; fi; done; exit 0", n->tag);
	ssh_shell_argv(&s->target, script.buf, &argv);
	if (remote_capture(s, (const char *const *)argv.v, NULL, &status, NULL, &err) < 0 ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		log_warn("cannot end on the far side what node %s started there: %s",
			 n->name ? n->name : "?", err.len ? err.buf : spawn_status_text(status));
	strvec_clear(&argv);
	strbuf_release(&script);
	strbuf_release(&err);
}

/*
 * Every job of task's node ends as lost (the verdict runs each batch
 * again, elsewhere: nodes_job_ended). why: for the log.
 */
static void
nodes_lose(struct sup *s, int task, const char *why)
{
	struct nodes *ns = &s->nodes;
	struct node *n = &ns->v[task];
	int k, slot;

	if (n->lost)
		return;
	n->lost = true;
	ns->lost++;
	if (n->up)
		ns->up--;
	log_warn("node %s (task %d) is lost: %s; what it ran goes again elsewhere",
		 nodes_name(s, task), task, why);
	/* Before anything of it runs again: no second writer. */
	if (n->running > 0)
		nodes_end_far_writers(s, n);
	for (k = 0; k < ns->per_node; k++) {
		slot = ns->first_slot + task * ns->per_node + k;
		if (!s->pool.jobs[slot].busy || !s->pool.jobs[slot].remote)
			continue;
		s->workers[slot].node_lost = true;
		pool_remote_end(&s->pool, slot, SIGKILL, SIGKILL);
	}
	n->running = 0;
	if (ns->on && ns->up == 0) {
		char msg[96];

		snprintf(msg, sizeof msg, "no node of Slurm job %lld is left",
			 (long long)ns->job_id);
		nodes_fall_back(s, msg);
	}
}

/*
 * How task's node reaches the destination: an ssh of its own there,
 * through the node's shared connection, the key through the worker's
 * link (borrowed strings: node->paths).
 */
static void
nodes_target(struct sup *s, int task, struct ssh_target *t)
{
	struct node *node = &s->nodes.v[task];

	if (node->key_link == NULL) {
		node->key_link = xasprintf("%s/key", node->dir);
		node->control_path = xasprintf("%s/cm", node->dir);
	}
	*t = s->target;
	t->key_given = node->key_link;
	t->control_path = node->control_path;
}

static void
nodes_hello(struct sup *s, int task, char **words, const size_t *len, int n)
{
	struct nodes *ns = &s->nodes;
	struct node *node = &ns->v[task];
	unsigned long long job = 0;

	(void)len;
	if (n != 5 || node->up || node->lost || ns->fell_back)
		return;
	node->dir = xstrdup(words[1]);
	node->name = xstrdup(words[2]);
	node->tag = xasprintf(NODE_TAG_VAR "=%lld-%d-%08lx", (long long)s->t.id, task,
			      (unsigned long)random() ^ (unsigned long)getpid());
	node->up = true;
	ns->up++;
	if (parse_ullong(words[3], 1, INT64_MAX, &job) == 0 && ns->job_id == 0) {
		ns->job_id = (int64_t)job;
		if (store_transfer_set_slurm_job(s->st, s->t.id, ns->job_id) < 0)
			log_warn("cannot record Slurm job %lld: %s", (long long)ns->job_id,
				 store_errmsg(s->st));
	}
	if (!ns->on) {
		ns->on = true;
		log_info("Slurm job %lld: sending from its nodes, %.1f s after asking",
			 (long long)ns->job_id, now_monotonic() - ns->asked_at);
	}
	log_info("node %s (task %d) is up", node->name, task);
	/*
	 * Its rsync reaches the destination from there over an ssh of its
	 * own, with the key through a link in the worker's directory.
	 */
	{
		struct ssh_target own;
		struct strvec master = STRVEC_INIT;
		struct strbuf msg = STRBUF_INIT;
		size_t i;

		strbuf_addstr(&msg, "key 0");
		node_add_word(&msg, s->t.key_path);
		nodes_send(s, task, &msg);
		/*
		 * A connection of its own that every job there goes through: a
		 * handshake (0.2 s) once, not for each batch and each piece.
		 */
		nodes_target(s, task, &own);
		own.control_path = NULL;
		ssh_base_argv(&own, &master);
		strvec_pushf(&master, "-oControlPath=%s/cm", node->dir);
		strvec_push(&master, "-oControlMaster=yes");
		strvec_push(&master, "-oControlPersist=no");
		strvec_push(&master, "-N");
		strvec_push(&master, own.host);
		strbuf_reset(&msg);
		strbuf_addstr(&msg, "master 0");
		for (i = 0; i < master.nr; i++)
			node_add_word(&msg, master.v[i]);
		nodes_send(s, task, &msg);
		nodes_target(s, task, &own);
		ssh_rsh_command(&own, &node->rsh);
		strvec_clear(&master);
		strbuf_release(&msg);
	}
}

/* A worker's line: "TASK: WORDS" (srun's --label, the task padded with spaces). */
static void
nodes_line(struct sup *s, char *line)
{
	struct nodes *ns = &s->nodes;
	char *words[NODE_WORDS_MAX];
	size_t len[NODE_WORDS_MAX];
	char *p = line, *end;
	long task;
	int n, slot;

	while (*p == ' ')
		p++;
	errno = 0;
	task = strtol(p, &end, 10);
	if (errno || end == p || strncmp(end, ": ", 2) != 0 || task < 0 || task >= ns->n)
		goto odd;
	n = node_split(end + 2, words, len, NODE_WORDS_MAX);
	if (n < 1)
		goto odd;
	if (ns->v[task].lost)
		return;
	ns->v[task].heard_at = now_monotonic();
	if (strcmp(words[0], "hello") == 0) {
		nodes_hello(s, (int)task, words, len, n);
		return;
	}
	if (strcmp(words[0], "alive") == 0)
		return;
	if (n < 3 || n > 4 || parse_int_range(words[1], 0, s->nworkers - 1, &slot) < 0 ||
	    nodes_task_of_slot(s, slot) != task || !s->pool.jobs[slot].busy ||
	    !s->pool.jobs[slot].remote)
		goto odd;
	if (strcmp(words[0], "out") == 0 && n == 3) {
		pool_remote_output(&s->pool, slot, WORKER_OUT, words[2], len[2]);
	} else if (strcmp(words[0], "err") == 0 && n == 3) {
		pool_remote_output(&s->pool, slot, WORKER_ERR, words[2], len[2]);
	} else if (strcmp(words[0], "feed") == 0 && n == 3) {
		pool_remote_output(&s->pool, slot, WORKER_FEEDER_ERR, words[2], len[2]);
	} else if (strcmp(words[0], "exit") == 0) {
		int status, status2 = -1;

		if (parse_int_range(words[2], 0, 0xffff, &status) < 0 ||
		    (n == 4 && parse_int_range(words[3], 0, 0xffff, &status2) < 0))
			goto odd;
		ns->v[task].running--;
		pool_remote_end(&s->pool, slot, status, status2);
	} else {
		goto odd;
	}
	return;
odd:
	log_untrusted(LOG_DEBUG, "a line from the nodes not understood", line, strlen(line));
}

/*
 * srun's own words (its errors, and its tasks' stderr): to the log. A
 * task that ended is a node lost.
 */
static void
nodes_err_line(struct sup *s, char *line)
{
	struct nodes *ns = &s->nodes;
	const char *t = strstr(line, ": task ");
	long task;
	char *end;

	log_untrusted(LOG_INFO, "srun", line, strlen(line));
	strbuf_reset(&ns->srun_said);
	strbuf_addstr(&ns->srun_said, line);
	if (t == NULL || strncmp(line, "srun: error: ", 13) != 0)
		return;
	errno = 0;
	task = strtol(t + 7, &end, 10);
	if (errno || end == t + 7 || *end != ':' || task < 0 || task >= ns->n)
		return;
	nodes_lose(s, (int)task, line + 13);
}

/* Read srun's stdout or stderr, and take its whole lines. */
static void
nodes_read(struct sup *s, int k)
{
	struct nodes *ns = &s->nodes;
	struct strbuf *buf = k == WATCH_SRUN_OUT ? &ns->out : &ns->err;
	int *fd = k == WATCH_SRUN_OUT ? &ns->out_fd : &ns->err_fd;
	char chunk[16384], *nl;
	ssize_t n;

	for (;;) {
		n = read(*fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			close(*fd);
			*fd = -1;
			s->pool.watch[k] = -1;
			break;
		}
		strbuf_add(buf, chunk, (size_t)n);
	}
	while ((nl = memchr(buf->buf, '\n', buf->len)) != NULL) {
		size_t used = (size_t)(nl - buf->buf) + 1;

		*nl = '\0';
		if (k == WATCH_SRUN_OUT)
			nodes_line(s, buf->buf);
		else
			nodes_err_line(s, buf->buf);
		strbuf_remove_front(buf, used);
	}
}

/* srun has ended (status): its nodes are gone. */
static void
nodes_srun_ended(struct sup *s, int status)
{
	struct nodes *ns = &s->nodes;
	struct strbuf why = STRBUF_INIT;
	int task;

	ns->srun_pid = -1;
	ns->srun_status = status;
	if (ns->in_fd >= 0) {
		close(ns->in_fd);
		ns->in_fd = -1;
	}
	s->pool.watch[WATCH_SRUN_IN] = -1;
	strbuf_addf(&why, "srun %s%s%s", spawn_status_text(status), ns->srun_said.len ? ": " : "",
		    ns->srun_said.buf);
	if (ns->ending || ns->fell_back)
		goto out;
	if (!ns->on) {
		nodes_fall_back(s, why.buf);
		goto out;
	}
	for (task = 0; task < ns->n; task++)
		if (ns->v[task].up)
			nodes_lose(s, task, why.buf);
	/* No node is left to ask: the rest goes from here. */
	nodes_fall_back(s, why.buf);
out:
	strbuf_release(&why);
}

bool
nodes_reaped(struct sup *s, pid_t pid, int status)
{
	if (s->nodes.srun_pid <= 0 || pid != s->nodes.srun_pid)
		return false;
	/* What it said last is read first. */
	if (s->nodes.out_fd >= 0)
		nodes_read(s, WATCH_SRUN_OUT);
	if (s->nodes.err_fd >= 0)
		nodes_read(s, WATCH_SRUN_ERR);
	nodes_srun_ended(s, status);
	return true;
}

/* Timers: nodes gone silent, and Slurm's answer taking longer than --slurm-wait. */
static void
nodes_tick(struct sup *s)
{
	struct nodes *ns = &s->nodes;
	double now = now_monotonic();
	/* The tests' shorter wait. */
	unsigned silent = (unsigned)env_number("SCOW_SYNC_NODE_SILENT", 1, 3600, NODE_SILENT_MAX);
	int task;

	if (!ns->on && !ns->fell_back && ns->asked && now - ns->asked_at > s->cfg->slurm_wait) {
		struct strbuf why = STRBUF_INIT;

		strbuf_addf(&why, "Slurm gave no node within %u s%s%s", s->cfg->slurm_wait,
			    ns->srun_said.len ? " (" : "", ns->srun_said.buf);
		if (ns->srun_said.len)
			strbuf_addch(&why, ')');
		nodes_fall_back(s, why.buf);
		strbuf_release(&why);
	}
	for (task = 0; ns->on && task < ns->n; task++) {
		struct node *n = &ns->v[task];
		char why[64];

		if (!n->up || n->lost || now - n->heard_at < silent)
			continue;
		snprintf(why, sizeof why, "silent for %u s", silent);
		nodes_lose(s, task, why);
	}
}

void
nodes_watch_ready(struct sup *s, int k)
{
	if (k == WATCH_SRUN_OUT || k == WATCH_SRUN_ERR)
		nodes_read(s, k);
	else if (k == WATCH_SRUN_IN)
		nodes_flush(s);
	else if (k < 0 && s->nodes.asked)
		nodes_tick(s);
}

void
nodes_signal(struct sup *s, int slot, int sig, bool grace_over)
{
	struct strbuf msg = STRBUF_INIT;
	int task = nodes_task_of_slot(s, slot);

	if (task < 0)
		return;
	/* Gone with its node, or srun: there is nobody to tell. */
	if (s->nodes.v[task].lost || s->nodes.in_fd < 0) {
		s->workers[slot].node_lost = true;
		pool_remote_end(&s->pool, slot, SIGKILL, SIGKILL);
		return;
	}
	strbuf_addf(&msg, "stop %d %d", slot, grace_over ? SIGKILL : sig);
	nodes_send(s, task, &msg);
	strbuf_release(&msg);
}

void
nodes_init(struct sup *s)
{
	struct nodes *ns = &s->nodes;
	int task;

	memset(ns, 0, sizeof *ns);
	ns->srun_pid = -1;
	ns->in_fd = ns->out_fd = ns->err_fd = -1;
	if (s->cfg->nodes <= 0 || s->transport != &transport_rsync || s->cfg->watch_cycle)
		return;
	ns->n = s->cfg->nodes;
	ns->per_node = s->nworkers;
	ns->first_slot = s->nworkers;
	s->nworkers += ns->n * ns->per_node;
	ns->v = xcalloc((size_t)ns->n, sizeof *ns->v);
	for (task = 0; task < ns->n; task++)
		ns->v[task].heard_at = 0;
}

/* Ask Slurm for the nodes: srun, started while the source is walked. */
void
nodes_ask(struct sup *s)
{
	struct nodes *ns = &s->nodes;
	const struct supervisor_config *cfg = s->cfg;
	struct strvec argv = STRVEC_INIT;
	struct spawn sp;
	int64_t old = 0;

	if (ns->n == 0)
		return;
	/* A job of an earlier run of this transfer (its supervisor killed): cancelled first. */
	if (store_transfer_slurm_job(s->st, s->t.id, &old) == 0 && old > 0) {
		log_info("cancelling Slurm job %lld of an earlier run", (long long)old);
		slurm_cancel(cfg, old);
		store_transfer_set_slurm_job(s->st, s->t.id, 0);
	}
	/* A run inside an allocation asks for one of its own, not a step of that one. */
	unsetenv("SLURM_JOB_ID");
	unsetenv("SLURM_JOBID");
	slurm_srun_argv(cfg, s->t.id, &argv);
	memset(&sp, 0, sizeof sp);
	sp.argv = (const char *const *)argv.v;
	sp.pipe_stdin = sp.pipe_stdout = sp.pipe_stderr = true;
	sp.new_pgroup = true;
	sp.die_with_parent = true;
	ns->asked = true;
	ns->asked_at = now_monotonic();
	if (spawn_start(&sp) < 0) {
		struct strbuf why = STRBUF_INIT;

		strbuf_addf(&why, "cannot run '%s': %s", argv.v[0], strerror(errno));
		nodes_fall_back(s, why.buf);
		strbuf_release(&why);
		strvec_clear(&argv);
		return;
	}
	log_info("asking Slurm for %d nodes (up to %u s)", ns->n, cfg->slurm_wait);
	strvec_clear(&argv);
	ns->srun_pid = sp.pid;
	ns->in_fd = sp.in_fd;
	ns->out_fd = sp.out_fd;
	ns->err_fd = sp.err_fd;
	set_nonblock(ns->in_fd);
	set_nonblock(ns->out_fd);
	set_nonblock(ns->err_fd);
	s->pool.watch[WATCH_SRUN_OUT] = ns->out_fd;
	s->pool.watch[WATCH_SRUN_ERR] = ns->err_fd;
	s->pool.watch[WATCH_SRUN_IN] = -1;
	s->pool.watch_out[WATCH_SRUN_IN] = true;
}

/* Are the nodes what a units' pass waits for, or sends from? */
bool
nodes_pending(const struct sup *s)
{
	const struct nodes *ns = &s->nodes;

	return ns->n > 0 && ns->asked && !ns->fell_back && !ns->ending &&
	       (ns->on || ns->lost < ns->n);
}

int
nodes_scale(const struct sup *s, int workers)
{
	const struct nodes *ns = &s->nodes;
	int k;

	if (!nodes_pending(s))
		return workers;
	k = ns->on ? ns->up : ns->n - ns->lost;
	return workers * (k > 1 ? k : 1);
}

bool
nodes_split_worth(const struct sup *s, const struct unit *u)
{
	const struct nodes *ns = &s->nodes;
	uint64_t up = (uint64_t)ns->up;

	if (!nodes_pending(s))
		return true;
	/* Before the nodes are up, or with one: whole. */
	if (!ns->on || up < 2)
		return false;
	return u->size.bytes * up > s->left_bytes || s->left_files <= up;
}

bool
nodes_split_waits(const struct sup *s, const struct unit *u)
{
	return nodes_pending(s) && s->nodes.on && s->split.active && s->split_ok &&
	       u->kind == UNIT_FILE && u->size.bytes >= s->split_min && u->attempts == 0 &&
	       nodes_split_worth(s, u);
}

int
nodes_pieces(const struct sup *s)
{
	const struct nodes *ns = &s->nodes;
	int task, idle = 0;

	if (!nodes_pending(s) || !ns->on)
		return 0;
	/*
	 * As many as the nodes idle now (the one asking among them): a piece
	 * that waits for a node still sending a whole file holds up the file,
	 * and every file after it.
	 */
	for (task = 0; task < ns->n; task++)
		idle += ns->v[task].up && !ns->v[task].lost && ns->v[task].running == 0;
	return idle > 2 ? idle : 2;
}

int
nodes_slot_open(struct sup *s, int slot)
{
	struct nodes *ns = &s->nodes;
	int task = nodes_task_of_slot(s, slot);

	/* No nodes (any more): this node's own slots, as many as the link is worth. */
	if (!nodes_pending(s))
		return task < 0 && slot < s->active_workers ? NODE_SLOT_OPEN : NODE_SLOT_CLOSED;
	/* Waiting for the nodes, or sending from them: not from here. */
	if (task < 0 || !ns->on)
		return NODE_SLOT_CLOSED;
	if (!ns->v[task].up || ns->v[task].lost || ns->pending.len > NODES_PENDING_MAX ||
	    slot - ns->first_slot - task * ns->per_node >= s->active_workers)
		return NODE_SLOT_CLOSED;
	return NODE_SLOT_OPEN;
}

/* A file the job reads, written on the node: its content, from ours. */
static int
nodes_send_file(struct sup *s, int task, int slot, const char *name, const char *local)
{
	struct strbuf msg = STRBUF_INIT, data = STRBUF_INIT;
	int rc = SYNC_OK;

	if (strbuf_read_file(&data, local) < 0) {
		rc = SYNC_ERR_SYSTEM;
		goto out;
	}
	strbuf_addf(&msg, "file %d", slot);
	node_add_word(&msg, name);
	strbuf_addch(&msg, ' ');
	node_word(&msg, data.buf, data.len);
	nodes_send(s, task, &msg);
out:
	strbuf_release(&msg);
	strbuf_release(&data);
	return rc;
}

int
nodes_start_job(struct sup *s, struct worker *w, const struct rsync_job *given)
{
	struct nodes *ns = &s->nodes;
	int slot = (int)(w - s->workers), task = nodes_task_of_slot(s, slot);
	struct node *node = &ns->v[task];
	struct rsync_job job = *given;
	struct strvec argv = STRVEC_INIT;
	struct strbuf msg = STRBUF_INIT;
	char *list = NULL, *rules = NULL;
	struct spawn none;
	size_t i;
	int rc = SYNC_OK;

	list = xasprintf("%s/list-%d", node->dir, slot);
	if (given->files_from) {
		if (nodes_send_file(s, task, slot, strrchr(list, '/') + 1, given->files_from) < 0) {
			set_failure(s, "cannot read '%s': %s", given->files_from, strerror(errno));
			rc = SYNC_ERR_SYSTEM;
			goto out;
		}
		job.files_from = list;
	}
	if (given->exclude_from) {
		rules = xasprintf("%s/rules-%d", node->dir, slot);
		if (nodes_send_file(s, task, slot, strrchr(rules, '/') + 1, given->exclude_from) <
		    0) {
			set_failure(s, "cannot read '%s': %s", given->exclude_from,
				    strerror(errno));
			rc = SYNC_ERR_SYSTEM;
			goto out;
		}
		job.exclude_from = rules;
	}
	job.rsh = node->rsh.buf;
	job.remote_env = node->tag;
	rsync_job_argv(&job, &argv);
	strbuf_addf(&msg, "run %d", slot);
	for (i = 0; i < argv.nr; i++)
		node_add_word(&msg, argv.v[i]);
	nodes_send(s, task, &msg);

	memset(&none, 0, sizeof none);
	none.pid = -1;
	none.out_fd = none.err_fd = -1;
	worker_job_started(s, w, JOB_UNIT, &none);
	w->job->remote = true;
	w->node_lost = false;
	node->running++;
out:
	strvec_clear(&argv);
	strbuf_release(&msg);
	free(list);
	free(rules);
	return rc;
}

int
nodes_start_piece(struct sup *s, struct worker *w, const char *command,
		  const struct strvec *reader, const struct strbuf *input)
{
	struct nodes *ns = &s->nodes;
	int slot = (int)(w - s->workers), task = nodes_task_of_slot(s, slot);
	struct node *node = &ns->v[task];
	struct ssh_target own;
	struct strvec writer = STRVEC_INIT;
	struct strbuf msg = STRBUF_INIT;
	size_t i;

	/* From there, through the node's connection (nodes_hello), tagged. */
	nodes_target(s, task, &own);
	strbuf_addf(&msg, "%s; export %s; %s", node->tag, NODE_TAG_VAR, command);
	ssh_shell_argv(&own, msg.buf, &writer);
	strbuf_reset(&msg);
	/* The reader's path and header go in a file, never on a command line. */
	strbuf_addf(&msg, "file %d input-%d ", slot, slot);
	node_word(&msg, input->buf, input->len);
	nodes_send(s, task, &msg);
	strbuf_reset(&msg);
	strbuf_addf(&msg, "pipe %d input-%d %zu", slot, slot, reader->nr);
	for (i = 0; i < reader->nr; i++)
		node_add_word(&msg, reader->v[i]);
	for (i = 0; i < writer.nr; i++)
		node_add_word(&msg, writer.v[i]);
	nodes_send(s, task, &msg);
	w->job->remote = true;
	w->job->pid[0] = w->job->pid[1] = -1;
	w->node_lost = false;
	node->running++;
	strvec_clear(&writer);
	strbuf_release(&msg);
	return SYNC_OK;
}

void
nodes_job_ended(struct sup *s, const struct worker *w, struct batch_end *e)
{
	if (!w->node_lost || e->stopping || e->aborting)
		return;
	(void)s;
	/* Lost with its node: again at once, elsewhere, as a batch stopped to leave a part out. */
	e->code = -1;
	e->stopped = true;
}

const char *
nodes_of_worker(const struct sup *s, const struct worker *w)
{
	int task = nodes_task_of_slot(s, (int)(w - s->workers));

	return task < 0 ? NULL : s->nodes.v[task].name;
}

void
nodes_end(struct sup *s)
{
	struct nodes *ns = &s->nodes;
	/*
	 * A node lost holds srun until Slurm finds it down (SlurmdTimeout):
	 * the job is cancelled at once instead.
	 */
	double wait = ns->lost > 0 ? 1.0 : SRUN_END_WAIT, started = now_monotonic();
	bool cancelled = false;
	int task;

	if (!ns->asked)
		return;
	ns->ending = true;
	/* The end of their input ends the workers, and with them the step and the job. */
	if (ns->in_fd >= 0) {
		close(ns->in_fd);
		ns->in_fd = -1;
	}
	s->pool.watch[WATCH_SRUN_IN] = -1;
	while (nodes_srun_running(ns)) {
		double waited = now_monotonic() - started;
		int status;
		pid_t pid = waitpid(ns->srun_pid, &status, WNOHANG);

		if (pid == ns->srun_pid) {
			nodes_reaped(s, pid, status);
			break;
		}
		if (pid < 0 && errno != EINTR) {
			ns->srun_pid = -1;
			break;
		}
		if (waited > wait && !cancelled) {
			cancelled = true;
			if (ns->job_id > 0)
				slurm_cancel(s->cfg, ns->job_id);
			kill(ns->srun_pid, SIGTERM);
		}
		/* Cancelled, the job goes with Slurm; srun would wait for a lost node's step. */
		if (waited > wait + (ns->lost > 0 ? 2.0 : SRUN_END_WAIT))
			kill(-ns->srun_pid, SIGKILL);
		if (ns->out_fd >= 0)
			nodes_read(s, WATCH_SRUN_OUT);
		if (ns->err_fd >= 0)
			nodes_read(s, WATCH_SRUN_ERR);
		poll(NULL, 0, 20);
	}
	/* Whatever became of srun, the job is gone with the transfer's end. */
	if (ns->job_id > 0) {
		if (!cancelled)
			slurm_cancel(s->cfg, ns->job_id);
		if (store_transfer_set_slurm_job(s->st, s->t.id, 0) < 0)
			log_warn("cannot record Slurm job %lld as ended: %s", (long long)ns->job_id,
				 store_errmsg(s->st));
	}
	for (task = 0; task < ns->n; task++) {
		free(ns->v[task].name);
		free(ns->v[task].dir);
		strbuf_release(&ns->v[task].rsh);
		free(ns->v[task].key_link);
		free(ns->v[task].tag);
		free(ns->v[task].control_path);
	}
	free(ns->v);
	ns->v = NULL;
	ns->n = 0;
	if (ns->out_fd >= 0)
		close(ns->out_fd);
	if (ns->err_fd >= 0)
		close(ns->err_fd);
	ns->out_fd = ns->err_fd = -1;
	s->pool.watch[WATCH_SRUN_OUT] = s->pool.watch[WATCH_SRUN_ERR] = -1;
	strbuf_release(&ns->out);
	strbuf_release(&ns->err);
	strbuf_release(&ns->pending);
	strbuf_release(&ns->srun_said);
}
