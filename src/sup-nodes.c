/*
 * sup-nodes: a transfer spread over several nodes through Slurm.
 *
 * The supervisor stays where the transfer was started, and stays the
 * only writer of the store. It asks Slurm for N nodes with salloc (which
 * holds the allocation while it runs, and ends with us), then starts one
 * job step on each node (srun --relative), running `scow-sync
 * __node-worker` (cmd-node-worker.c): it takes batches on its step's
 * stdin and reports what its rsyncs print on its stdout (node-proto.h).
 * A step a node, not one step of N tasks: srun gives one step's stdin to
 * every task, and a node that stops reading (a hung file system, a link
 * cut) would hold up every other. Each node's rsync goes from there
 * straight to the destination over its own ssh; the source and the home
 * are on a file system every node sees.
 *
 * In the pool (pool.h) each node has slots of its own after this node's,
 * remote jobs: a batch is started on a node's slot only when the node is
 * up and has a slot free, so the node that asks first gets the next
 * batch, and a slow node takes less (work stealing by pull). A node that
 * goes silent, or whose step ends, is lost: its step is ended, what it
 * started on the far side is ended there, and what it ran runs again
 * elsewhere. Until the nodes are up (--slurm-wait), or when Slurm
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

#define SRUN_END_WAIT 10.0        /* seconds for the steps to end once their input has */
#define NODE_CLEAN_TIMEOUT_MS 15000  /* a step that removes a worker's directory, at most */
#define NODE_CLEAN_LOST_TIMEOUT_MS 5000  /* ... on a node lost, which may be down */
#define NODE_WORDS_MAX 8
#define NODE_TAG_VAR "SCOW_SYNC_NODE"
/*
 * The steps start a few tenths of a second apart: the first batches wait
 * this long at most for every node, so that a big file is cut in pieces
 * for all of them, not sent whole by the first.
 */
#define NODES_GATHER_S 3.0
/* A node's stdin: what waits to be written at most, before its batches wait instead. */
#define NODES_PENDING_MAX (8u << 20)
/* A line from a node at most: longer, the node is taken as broken. */
#define NODE_LINE_MAX (1u << 20)

/*
 * The pool's watch[] (pool_watch_init): salloc's stderr first, then each
 * node's srun's stdout, stderr and stdin.
 */
#define WATCH_SALLOC 0
enum node_watch { NODE_OUT, NODE_ERR, NODE_IN, NODE_WATCHES };
static int
watch_of(int task, enum node_watch k)
{
	return 1 + task * NODE_WATCHES + (int)k;
}

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

/* Write what waits for task's stdin, as far as its srun takes it now. */
static void
nodes_flush(struct sup *s, int task)
{
	struct node *n = &s->nodes.v[task];
	ssize_t r;

	while (n->in_fd >= 0 && n->pending.len > 0) {
		r = write(n->in_fd, n->pending.buf, n->pending.len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			break;
		if (r <= 0) {
			/* Its srun is gone: its end says what became of the node. */
			close(n->in_fd);
			n->in_fd = -1;
			strbuf_reset(&n->pending);
			break;
		}
		strbuf_remove_front(&n->pending, (size_t)r);
	}
	s->pool.watch[watch_of(task, NODE_IN)] = n->pending.len > 0 ? n->in_fd : -1;
}

/* A message (its words in msg, without the task) for task. */
static void
nodes_send(struct sup *s, int task, const struct strbuf *msg)
{
	struct node *n = &s->nodes.v[task];

	if (n->in_fd < 0)
		return;
	strbuf_addf(&n->pending, "%d ", task);
	strbuf_add(&n->pending, msg->buf, msg->len);
	strbuf_addch(&n->pending, '\n');
	nodes_flush(s, task);
}

/* End task's step (srun cancels it, and Slurm ends what runs in it). */
static void
nodes_end_step(struct sup *s, int task)
{
	struct node *n = &s->nodes.v[task];

	if (n->in_fd >= 0) {
		close(n->in_fd);
		n->in_fd = -1;
	}
	s->pool.watch[watch_of(task, NODE_IN)] = -1;
	if (n->srun_pid > 0)
		kill(n->srun_pid, SIGTERM);
}

/* Stop waiting for Slurm: this node sends alone. why: for the log. */
static void
nodes_fall_back(struct sup *s, const char *why)
{
	struct nodes *ns = &s->nodes;
	int task;

	if (ns->fell_back)
		return;

	ns->fell_back = true;
	ns->on = false;
	log_warn("%s; this node sends alone", why);
	for (task = 0; task < ns->n; task++)
		nodes_end_step(s, task);
	/* The allocation given back (or the request given up) now. */
	if (ns->salloc_hold >= 0) {
		close(ns->salloc_hold);
		ns->salloc_hold = -1;
	}
	if (ns->salloc_pid > 0)
		kill(ns->salloc_pid, SIGHUP);
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
	/* Whatever it still runs there goes with its step. */
	nodes_end_step(s, task);
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

	(void)len;
	if (n != 5 || node->up || node->lost || ns->fell_back)
		return;
	node->dir = xstrdup(words[1]);
	node->name = xstrdup(words[2]);
	node->tag = xasprintf(NODE_TAG_VAR "=%lld-%d-%08lx", (long long)s->t.id, task,
			      (unsigned long)random() ^ (unsigned long)getpid());
	node->up = true;
	ns->up++;
	if (!ns->on) {
		ns->on = true;
		ns->first_up_at = now_monotonic();
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

		/* Without a key of ours, the node's ssh offers its own identities. */
		if (*s->t.key_path) {
			strbuf_addstr(&msg, "key 0");
			node_add_word(&msg, s->t.key_path);
			nodes_send(s, task, &msg);
		}
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

/* A line from task's worker: its words (node-proto.h). */
static void
nodes_line(struct sup *s, int task, char *line)
{
	struct nodes *ns = &s->nodes;
	char *words[NODE_WORDS_MAX];
	size_t len[NODE_WORDS_MAX];
	int n, slot;

	n = node_split(line, words, len, NODE_WORDS_MAX);
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
	log_msg(LOG_DEBUG, "a line from node %s not understood", nodes_name(s, task));
}

/* What task's srun and worker say on stderr: to the log. */
static void
nodes_err_line(struct sup *s, int task, char *line)
{
	struct node *n = &s->nodes.v[task];
	char prefix[64];

	snprintf(prefix, sizeof prefix, "node %s", nodes_name(s, task));
	log_untrusted(LOG_INFO, prefix, line, strlen(line));
	strbuf_reset(&n->said);
	strbuf_addstr(&n->said, line);
}

/*
 * Read fd (*fd, watched at watch) into buf and hand its whole lines to
 * fn; a line longer than NODE_LINE_MAX is cut there. False at its end.
 */
static bool
nodes_read_lines(struct sup *s, int *fd, int watch, struct strbuf *buf, int task,
		 void (*fn)(struct sup *, int, char *))
{
	char chunk[16384], *nl;
	bool open_still = true;
	ssize_t r;

	for (;;) {
		r = read(*fd, chunk, sizeof chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			break;
		if (r <= 0) {
			close(*fd);
			*fd = -1;
			s->pool.watch[watch] = -1;
			open_still = false;
			break;
		}
		strbuf_add(buf, chunk, (size_t)r);
		if (buf->len > NODE_LINE_MAX && memchr(buf->buf, '\n', buf->len) == NULL)
			strbuf_addch(buf, '\n');
	}
	/* An empty strbuf may have no buffer at all. */
	while (buf->len > 0 && (nl = memchr(buf->buf, '\n', buf->len)) != NULL) {
		size_t used = (size_t)(nl - buf->buf) + 1;

		*nl = '\0';
		fn(s, task, buf->buf);
		strbuf_remove_front(buf, used);
	}
	return open_still;
}

static void
nodes_read(struct sup *s, int task, enum node_watch k)
{
	struct node *n = &s->nodes.v[task];

	if (k == NODE_OUT && n->out_fd >= 0)
		nodes_read_lines(s, &n->out_fd, watch_of(task, k), &n->out, task, nodes_line);
	else if (k == NODE_ERR && n->err_fd >= 0)
		nodes_read_lines(s, &n->err_fd, watch_of(task, k), &n->err, task, nodes_err_line);
}

/* task's srun has ended (status): its node is lost, unless we were ending it. */
static void
nodes_step_ended(struct sup *s, int task, int status)
{
	struct nodes *ns = &s->nodes;
	struct node *n = &ns->v[task];
	struct strbuf why = STRBUF_INIT;

	nodes_read(s, task, NODE_OUT);
	nodes_read(s, task, NODE_ERR);
	n->srun_pid = -1;
	n->srun_status = status;
	n->step_ended = true;
	if (n->in_fd >= 0) {
		close(n->in_fd);
		n->in_fd = -1;
	}
	s->pool.watch[watch_of(task, NODE_IN)] = -1;
	if (ns->ending || n->lost || ns->fell_back) {
		strbuf_release(&why);
		return;
	}
	strbuf_addf(&why, "its step ended (srun %s%s%s)", spawn_status_text(status),
		    n->said.len ? ": " : "", n->said.len ? n->said.buf : "");
	nodes_lose(s, task, why.buf);
	strbuf_release(&why);
}

/* Start task's step in the allocation: its worker, on the task-th node of it. */
static void
nodes_start_step(struct sup *s, int task)
{
	struct node *n = &s->nodes.v[task];
	struct strvec argv = STRVEC_INIT;
	struct spawn sp;

	slurm_step_argv(s->cfg, s->nodes.job_id, task, false, &argv);
	memset(&sp, 0, sizeof sp);
	sp.argv = (const char *const *)argv.v;
	sp.pipe_stdin = sp.pipe_stdout = sp.pipe_stderr = true;
	sp.new_pgroup = true;
	sp.die_with_parent = true;
	if (spawn_start(&sp) < 0) {
		char why[160];

		snprintf(why, sizeof why, "cannot run srun: %s", strerror(errno));
		n->step_ended = true;
		nodes_lose(s, task, why);
		strvec_clear(&argv);
		return;
	}
	strvec_clear(&argv);
	n->srun_pid = sp.pid;
	n->in_fd = sp.in_fd;
	n->out_fd = sp.out_fd;
	n->err_fd = sp.err_fd;
	set_nonblock(n->in_fd);
	set_nonblock(n->out_fd);
	set_nonblock(n->err_fd);
	s->pool.watch[watch_of(task, NODE_OUT)] = n->out_fd;
	s->pool.watch[watch_of(task, NODE_ERR)] = n->err_fd;
	s->pool.watch_out[watch_of(task, NODE_IN)] = true;
}

/* A line salloc said: to the log; the allocation granted starts the steps. */
static void
nodes_salloc_line(struct sup *s, int task, char *line)
{
	struct nodes *ns = &s->nodes;
	const char *granted = "Granted job allocation ";
	const char *p = strstr(line, granted);
	unsigned long long job;
	char *end;

	(void)task;
	log_untrusted(LOG_INFO, "salloc", line, strlen(line));
	strbuf_reset(&ns->salloc_said);
	strbuf_addstr(&ns->salloc_said, line);
	if (p == NULL || ns->granted || ns->fell_back)
		return;
	p += strlen(granted);
	errno = 0;
	job = strtoull(p, &end, 10);
	if (errno || end == p || job == 0)
		return;
	ns->granted = true;
	ns->job_id = (int64_t)job;
	if (store_transfer_set_slurm_job(s->st, s->t.id, ns->job_id) < 0)
		log_warn("cannot record Slurm job %lld: %s", (long long)ns->job_id,
			 store_errmsg(s->st));
	for (task = 0; task < ns->n; task++)
		nodes_start_step(s, task);
}

static void
nodes_salloc_ended(struct sup *s, int status)
{
	struct nodes *ns = &s->nodes;
	struct strbuf why = STRBUF_INIT;
	int task;

	if (ns->salloc_fd >= 0)
		nodes_read_lines(s, &ns->salloc_fd, WATCH_SALLOC, &ns->salloc_err, -1,
				 nodes_salloc_line);
	ns->salloc_pid = -1;
	if (ns->ending || ns->fell_back) {
		strbuf_release(&why);
		return;
	}
	strbuf_addf(&why, "%s (salloc %s%s%s)",
		    ns->granted ? "the Slurm allocation ended" : "Slurm gave no nodes",
		    spawn_status_text(status), ns->salloc_said.len ? ": " : "",
		    ns->salloc_said.len ? ns->salloc_said.buf : "");
	for (task = 0; task < ns->n; task++)
		if (ns->v[task].up)
			nodes_lose(s, task, why.buf);
	nodes_fall_back(s, why.buf);
	strbuf_release(&why);
}

bool
nodes_reaped(struct sup *s, pid_t pid, int status)
{
	struct nodes *ns = &s->nodes;
	int task;

	if (pid <= 0)
		return false;
	if (pid == ns->salloc_pid) {
		nodes_salloc_ended(s, status);
		return true;
	}
	for (task = 0; task < ns->n; task++) {
		if (ns->v[task].srun_pid == pid) {
			nodes_step_ended(s, task, status);
			return true;
		}
	}
	return false;
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
			    ns->salloc_said.len ? " (" : "", ns->salloc_said.len ?
			    ns->salloc_said.buf : "");
		if (ns->salloc_said.len)
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
	struct nodes *ns = &s->nodes;
	int task = (k - 1) / NODE_WATCHES;

	if (k < 0) {
		if (ns->asked)
			nodes_tick(s);
		return;
	}
	if (k == WATCH_SALLOC) {
		if (ns->salloc_fd >= 0)
			nodes_read_lines(s, &ns->salloc_fd, WATCH_SALLOC, &ns->salloc_err, -1,
					 nodes_salloc_line);
		return;
	}
	if (task >= ns->n)
		return;
	if ((k - 1) % NODE_WATCHES == NODE_IN)
		nodes_flush(s, task);
	else
		nodes_read(s, task, (enum node_watch)((k - 1) % NODE_WATCHES));
}

void
nodes_signal(struct sup *s, int slot, int sig, bool grace_over)
{
	struct strbuf msg = STRBUF_INIT;
	int task = nodes_task_of_slot(s, slot);

	if (task < 0)
		return;
	/* Gone with its node, or its step: there is nobody to tell. */
	if (s->nodes.v[task].lost || s->nodes.v[task].in_fd < 0) {
		s->workers[slot].node_lost = true;
		pool_remote_end(&s->pool, slot, SIGKILL, SIGKILL);
		return;
	}
	/*
	 * A worker that answers ends a job within moments of its SIGTERM: one
	 * that did not in the pool's grace does not answer, and is lost (its
	 * step ended, its writers on the far side too), or a stop would wait
	 * for it for ever.
	 */
	if (grace_over) {
		nodes_lose(s, task, "a job stopped there did not end");
		return;
	}
	strbuf_addf(&msg, "stop %d %d", slot, sig);
	nodes_send(s, task, &msg);
	strbuf_release(&msg);
}

void
nodes_init(struct sup *s)
{
	struct nodes *ns = &s->nodes;
	int task;

	memset(ns, 0, sizeof *ns);
	strbuf_init(&ns->salloc_err, 0);
	strbuf_init(&ns->salloc_said, 0);
	ns->salloc_pid = -1;
	ns->salloc_fd = ns->salloc_hold = -1;
	if (s->cfg->nodes <= 0 || s->transport != &transport_rsync || s->cfg->watch_cycle)
		return;
	ns->n = s->cfg->nodes;
	ns->per_node = s->nworkers;
	ns->first_slot = s->nworkers;
	s->nworkers += ns->n * ns->per_node;
	ns->v = xcalloc((size_t)ns->n, sizeof *ns->v);
	for (task = 0; task < ns->n; task++) {
		struct node *n = &ns->v[task];

		n->srun_pid = -1;
		n->in_fd = n->out_fd = n->err_fd = -1;
		strbuf_init(&n->rsh, 0);
		strbuf_init(&n->out, 0);
		strbuf_init(&n->err, 0);
		strbuf_init(&n->pending, 0);
		strbuf_init(&n->said, 0);
	}
}

/* Ask Slurm for the nodes: salloc, which answers while the source is walked. */
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
	pool_watch_init(&s->pool, 1 + ns->n * NODE_WATCHES);
	/* A job of an earlier run of this transfer (its supervisor killed): cancelled first. */
	if (store_transfer_slurm_job(s->st, s->t.id, &old) == 0 && old > 0) {
		log_info("cancelling Slurm job %lld of an earlier run", (long long)old);
		slurm_cancel(cfg, old);
		store_transfer_set_slurm_job(s->st, s->t.id, 0);
	}
	/* A run inside an allocation asks for one of its own, not steps of that one. */
	unsetenv("SLURM_JOB_ID");
	unsetenv("SLURM_JOBID");
	slurm_salloc_argv(cfg, s->t.id, &argv);
	memset(&sp, 0, sizeof sp);
	sp.argv = (const char *const *)argv.v;
	sp.pipe_stdin = sp.pipe_stderr = true;
	sp.new_pgroup = true;
	/*
	 * Killed with us, salloc gives the allocation back, and its steps
	 * end: on SIGHUP it does and ends (on SIGTERM it has the job revoked,
	 * and stays).
	 */
	sp.die_with_parent = true;
	sp.death_signal = SIGHUP;
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
	ns->salloc_pid = sp.pid;
	ns->salloc_fd = sp.err_fd;
	ns->salloc_hold = sp.in_fd;
	set_nonblock(ns->salloc_fd);
	s->pool.watch[WATCH_SALLOC] = ns->salloc_fd;
}

/* Are the nodes what a units' pass waits for, or sends from? */
bool
nodes_pending(const struct sup *s)
{
	const struct nodes *ns = &s->nodes;

	return ns->n > 0 && ns->asked && !ns->fell_back && !ns->ending &&
	       (ns->on || ns->lost < ns->n);
}

bool
nodes_gathering(const struct sup *s)
{
	const struct nodes *ns = &s->nodes;

	return nodes_pending(s) && ns->on && ns->up + ns->lost < ns->n &&
	       now_monotonic() - ns->first_up_at < NODES_GATHER_S;
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
	if (task < 0 || !ns->on || nodes_gathering(s))
		return NODE_SLOT_CLOSED;
	if (!ns->v[task].up || ns->v[task].lost || ns->v[task].pending.len > NODES_PENDING_MAX ||
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

/*
 * A step of task's node ended before its worker could remove its
 * directory (killed, or cut off): a step of its own removes it, while the
 * allocation lasts. A node lost may be down: then that step cannot start,
 * and the directory waits for a later worker of ours there
 * (cmd-node-worker.c), so it is given less time.
 */
static void
nodes_clean_node(struct sup *s, int task)
{
	struct spawn_limits lim = {
		.timeout_ms = s->nodes.v[task].lost ? NODE_CLEAN_LOST_TIMEOUT_MS :
						      NODE_CLEAN_TIMEOUT_MS,
		.die_with_parent = true,
	};
	struct strvec argv = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT;
	int status = -1;

	slurm_step_argv(s->cfg, s->nodes.job_id, task, true, &argv);
	if (spawn_capture_limited((const char *const *)argv.v, NULL, &status, NULL, &err, &lim) <
	    0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		log_warn("cannot remove the worker's directory on node %s: %s",
			 nodes_name(s, task), err.len ? err.buf : spawn_status_text(status));
	strvec_clear(&argv);
	strbuf_release(&err);
}

void
nodes_end(struct sup *s)
{
	struct nodes *ns = &s->nodes;
	/*
	 * A node lost may hold its step's srun until Slurm finds it down
	 * (SlurmdTimeout), and a step never started reads no input: then the
	 * steps are ended at once.
	 */
	double wait = ns->lost > 0 || ns->up == 0 ? 1.0 : SRUN_END_WAIT;
	double started = now_monotonic();
	bool ended = false, left;
	int task;

	if (!ns->asked)
		return;
	ns->ending = true;
	/* The end of its input ends each worker, and with it its step. */
	for (task = 0; task < ns->n; task++) {
		struct node *n = &ns->v[task];

		if (n->in_fd >= 0) {
			close(n->in_fd);
			n->in_fd = -1;
		}
		s->pool.watch[watch_of(task, NODE_IN)] = -1;
	}
	for (;;) {
		double waited = now_monotonic() - started;
		int status;
		pid_t pid;

		left = false;
		for (task = 0; task < ns->n; task++) {
			struct node *n = &ns->v[task];

			if (n->srun_pid <= 0)
				continue;
			pid = waitpid(n->srun_pid, &status, WNOHANG);
			if (pid == n->srun_pid || (pid < 0 && errno == ECHILD)) {
				nodes_step_ended(s, task, pid < 0 ? 0 : status);
				continue;
			}
			left = true;
			nodes_read(s, task, NODE_OUT);
			nodes_read(s, task, NODE_ERR);
			if (waited > wait && !ended)
				kill(n->srun_pid, SIGTERM);
			if (waited > wait + (ns->lost > 0 ? 2.0 : SRUN_END_WAIT))
				kill(-n->srun_pid, SIGKILL);
		}
		if (!left)
			break;
		ended = waited > wait;
		poll(NULL, 0, 20);
	}
	/*
	 * A worker whose step was ended under it (a signal, not the end of
	 * its input; a node lost, a hung worker) left its directory: removed
	 * by a step of its own.
	 */
	for (task = 0; ns->granted && task < ns->n; task++) {
		struct node *n = &ns->v[task];

		if (n->dir != NULL && n->step_ended &&
		    !(WIFEXITED(n->srun_status) && WEXITSTATUS(n->srun_status) == 0))
			nodes_clean_node(s, task);
	}
	/*
	 * The allocation goes with salloc: the end of its command's input
	 * ends it (SIGHUP, should it not: it gives the allocation back too).
	 */
	if (ns->salloc_hold >= 0) {
		close(ns->salloc_hold);
		ns->salloc_hold = -1;
	}
	if (ns->salloc_pid > 0) {
		int status;
		bool hup = false;

		started = now_monotonic();
		while (waitpid(ns->salloc_pid, &status, WNOHANG) == 0) {
			double waited = now_monotonic() - started;

			if (waited > 2 && !hup) {
				kill(ns->salloc_pid, SIGHUP);
				hup = true;
			}
			if (waited > SRUN_END_WAIT) {
				kill(-ns->salloc_pid, SIGKILL);
				waitpid(ns->salloc_pid, &status, 0);
				break;
			}
			poll(NULL, 0, 20);
		}
		ns->salloc_pid = -1;
	}
	if (ns->job_id > 0) {
		slurm_cancel(s->cfg, ns->job_id);
		if (store_transfer_set_slurm_job(s->st, s->t.id, 0) < 0)
			log_warn("cannot record Slurm job %lld as ended: %s", (long long)ns->job_id,
				 store_errmsg(s->st));
	}
	for (task = 0; task < ns->n; task++) {
		struct node *n = &ns->v[task];

		free(n->name);
		free(n->dir);
		free(n->key_link);
		free(n->control_path);
		free(n->tag);
		strbuf_release(&n->rsh);
		strbuf_release(&n->out);
		strbuf_release(&n->err);
		strbuf_release(&n->pending);
		strbuf_release(&n->said);
		if (n->out_fd >= 0)
			close(n->out_fd);
		if (n->err_fd >= 0)
			close(n->err_fd);
	}
	free(ns->v);
	ns->v = NULL;
	ns->n = 0;
	if (ns->salloc_fd >= 0)
		close(ns->salloc_fd);
	ns->salloc_fd = -1;
	strbuf_release(&ns->salloc_err);
	strbuf_release(&ns->salloc_said);
	pool_watch_init(&s->pool, 0);
}
