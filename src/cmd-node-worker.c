/*
 * __node-worker: a transfer's hands on one node of its Slurm allocation.
 *
 *   srun --jobid=JOB --relative=TASK ... scow-sync __node-worker TASK [--clean]
 *
 * The supervisor that asked for the allocation stays where the transfer
 * was started, the only writer of the store; a job step on each node runs
 * this. It takes the supervisor's messages on stdin (those for TASK),
 * runs the jobs it is given (an rsync from this node straight to the
 * destination, or a piece of a large file), and sends back what they
 * write and how they end (node-proto.h). When stdin ends, or a signal
 * comes (scancel), its jobs are ended and its directory
 * ($TMPDIR/scow-sync-node.JOB.TASK) removed: nothing of the transfer
 * stays on the node. A step ended under it with SIGKILL leaves the
 * directory; --clean removes it, and so does a later worker of ours once
 * Slurm no longer has that job. Internal: not listed among the commands.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "node-proto.h"
#include "spawn.h"
#include "util.h"

#define WORKER_SLOTS_MAX 4096     /* a slot number the supervisor may use */
#define WORKER_WORDS_MAX 4096     /* words of one message */
#define WORKER_STOP_GRACE 5.0     /* seconds from SIGTERM to SIGKILL at the end */

/*
 * A job this worker runs: its process group, and its output until its
 * end. A pipe's second process (the first in the pipe, which feeds the
 * leader) is pid2.
 */
struct node_job {
	int slot;
	pid_t pid, pid2;              /* pid2: -1, none */
	int fd[3];                    /* stdout, stderr, pid2's stderr: -1 once at their end */
	bool exited, exited2;
	int status, status2;
};

static const char *const job_fd_verb[3] = { "out", "err", "feed" };

struct node_worker {
	long task;                    /* SLURM_PROCID: the messages for us */
	char *dir;                    /* private: the files the jobs read */
	struct node_job *jobs;
	size_t njobs, jobs_alloc;
	pid_t master;                 /* the node's shared ssh connection, or -1 */
	struct strbuf in;             /* stdin not yet taken as lines */
	bool in_ended;
	double said_at;               /* when it last wrote a line */
	struct strbuf line;
};

static volatile sig_atomic_t worker_stop;
static int worker_wake[2] = { -1, -1 };

static void
worker_on_signal(int sig)
{
	int saved = errno;

	if (sig != SIGCHLD)
		worker_stop = sig;
	(void)!write(worker_wake[1], "", 1);
	errno = saved;
}

/* Send the line in w->line (its newline added here). */
static void
worker_say(struct node_worker *w)
{
	strbuf_addch(&w->line, '\n');
	/* The supervisor gone: the end of stdin follows, and ends us. */
	(void)write_all(STDOUT_FILENO, w->line.buf, w->line.len);
	strbuf_reset(&w->line);
	w->said_at = now_monotonic();
}

static void
worker_say_output(struct node_worker *w, int slot, int k, const char *buf, size_t n)
{
	strbuf_reset(&w->line);
	strbuf_addf(&w->line, "%s %d ", job_fd_verb[k], slot);
	node_word(&w->line, buf, n);
	worker_say(w);
}

static struct node_job *
worker_job(struct node_worker *w, int slot)
{
	size_t i;

	for (i = 0; i < w->njobs; i++)
		if (w->jobs[i].slot == slot)
			return &w->jobs[i];
	return NULL;
}

/* A plain name in our directory: no '/', not "." or "..". */
static bool
worker_plain_name(const char *name, size_t len)
{
	return len > 0 && strlen(name) == len && strchr(name, '/') == NULL &&
	       strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static void
worker_file(struct node_worker *w, char **words, const size_t *len, int n)
{
	char *path;
	int fd, ok;

	if (n != 5 || !worker_plain_name(words[3], len[3])) {
		fprintf(stderr, "scow-sync __node-worker: a file message not understood\n");
		return;
	}
	path = xasprintf("%s/%s", w->dir, words[3]);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	ok = fd >= 0 && write_all(fd, words[4], len[4]) == 0;
	if (fd >= 0 && close(fd) < 0)
		ok = 0;
	if (!ok)
		fprintf(stderr, "scow-sync __node-worker: cannot write '%s': %s\n", path,
			strerror(errno));
	free(path);
}

static void
worker_key(struct node_worker *w, char **words, const size_t *len, int n)
{
	char *link;
	int i;

	if (n != 4 || strlen(words[3]) != len[3] || words[3][0] != '/') {
		fprintf(stderr, "scow-sync __node-worker: a key message not understood\n");
		return;
	}
	/* ssh looks beside the key for its certificate (and public key): linked too. */
	for (i = 0; i < 3; i++) {
		static const char *const suffix[] = { "", ".pub", "-cert.pub" };
		char *target = xasprintf("%s%s", words[3], suffix[i]);

		link = xasprintf("%s/key%s", w->dir, suffix[i]);
		unlink(link);
		if ((i == 0 || access(target, F_OK) == 0) && symlink(target, link) < 0)
			fprintf(stderr, "scow-sync __node-worker: cannot link '%s': %s\n", link,
				strerror(errno));
		free(link);
		free(target);
	}
}

static struct node_job *
worker_add_job(struct node_worker *w, int slot, pid_t pid, pid_t pid2)
{
	struct node_job *job;

	ALLOC_GROW(w->jobs, w->njobs + 1, w->jobs_alloc);
	job = &w->jobs[w->njobs++];
	memset(job, 0, sizeof *job);
	job->slot = slot;
	job->pid = pid;
	job->pid2 = pid2;
	job->exited2 = pid2 <= 0;
	job->fd[0] = job->fd[1] = job->fd[2] = -1;
	return job;
}

/* Say that slot's job could not start, and why: its end, at once. */
static void
worker_refuse(struct node_worker *w, int slot, const char *why)
{
	struct strbuf msg = STRBUF_INIT;

	strbuf_addf(&msg, "scow-sync __node-worker: cannot run the job: %s\n", why);
	strbuf_reset(&w->line);
	strbuf_addf(&w->line, "err %d ", slot);
	node_word(&w->line, msg.buf, msg.len);
	worker_say(w);
	strbuf_addf(&w->line, "exit %d %d", slot, 127 << 8);
	worker_say(w);
	strbuf_release(&msg);
}

/*
 * "master 0 ARG...": the node's shared connection to the destination, an
 * ssh that the jobs' ssh go through (its socket in our directory). Ours
 * to end: it is no job, and says nothing.
 */
static void
worker_master(struct node_worker *w, char **words, const size_t *len, int n)
{
	struct spawn sp;
	int i;

	for (i = 3; i < n; i++)
		if (strlen(words[i]) != len[i])
			n = 0;
	if (n < 4 || w->master > 0) {
		fprintf(stderr, "scow-sync __node-worker: a master message not understood\n");
		return;
	}
	words[n] = NULL;
	memset(&sp, 0, sizeof sp);
	sp.argv = (const char *const *)&words[3];
	sp.new_pgroup = true;
	sp.die_with_parent = true;
	/* Without it the jobs' ssh connect on their own (ControlMaster=no). */
	if (spawn_start(&sp) == 0)
		w->master = sp.pid;
}

static void
worker_run(struct node_worker *w, int slot, char **words, const size_t *len, int n)
{
	static const char *const env[] = { "LC_ALL=C", NULL };
	struct node_job *job;
	struct spawn sp;
	int i;

	for (i = 3; i < n; i++) {
		if (strlen(words[i]) != len[i]) {
			fprintf(stderr, "scow-sync __node-worker: an argument holds a NUL\n");
			n = 0;
		}
	}
	memset(&sp, 0, sizeof sp);
	if (n > 3) {
		/* words[n] is in the caller's array, one past the last. */
		words[n] = NULL;
		sp.argv = (const char *const *)&words[3];
		sp.env_set = env;
		sp.pipe_stdout = sp.pipe_stderr = true;
		sp.new_pgroup = true;
		sp.die_with_parent = true;
	}
	if (n <= 3 || worker_job(w, slot) || spawn_start(&sp) < 0) {
		worker_refuse(w, slot, n <= 3 ? "a run message not understood" :
				       worker_job(w, slot) ? "its slot is busy" : strerror(errno));
		return;
	}
	job = worker_add_job(w, slot, sp.pid, -1);
	job->fd[0] = sp.out_fd;
	job->fd[1] = sp.err_fd;
	set_nonblock(job->fd[0]);
	set_nonblock(job->fd[1]);
}

/*
 * "pipe SLOT INPUT N ARG...": the first N ARGs read INPUT (a file of
 * ours) and write into the rest, which leads the job's process group.
 */
static void
worker_pipe(struct node_worker *w, int slot, char **words, const size_t *len, int n)
{
	static const char *const env[] = { "LC_ALL=C", NULL };
	struct spawn leader, feeder;
	struct node_job *job;
	const char *why = NULL;
	char *input;
	int nfeed = 0, in = -1, p[2] = { -1, -1 }, i, rc;

	for (i = 3; i < n && why == NULL; i++)
		if (strlen(words[i]) != len[i])
			why = "an argument holds a NUL";
	if (why == NULL && (n < 7 || !worker_plain_name(words[3], len[3]) ||
			    parse_int_range(words[4], 1, n - 6, &nfeed) < 0))
		why = "a pipe message not understood";
	if (why == NULL && worker_job(w, slot))
		why = "its slot is busy";
	if (why == NULL) {
		/* What the first process reads, once: it is ours to remove. */
		input = xasprintf("%s/%s", w->dir, words[3]);
		in = open(input, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		unlink(input);
		free(input);
		if (in < 0 || xpipe_cloexec(p) < 0)
			why = strerror(errno);
	}
	/* words[n] is in the caller's array, one past the last. */
	words[n] = NULL;
	memset(&leader, 0, sizeof leader);
	leader.argv = (const char *const *)&words[5 + nfeed];
	leader.env_set = env;
	leader.stdin_fd = p[0];
	leader.pipe_stderr = true;
	leader.new_pgroup = true;
	leader.die_with_parent = true;
	if (why == NULL && spawn_start(&leader) < 0)
		why = strerror(errno);
	if (why) {
		if (in >= 0)
			close(in);
		if (p[0] >= 0) {
			close(p[0]);
			close(p[1]);
		}
		worker_refuse(w, slot, why);
		return;
	}
	words[5 + nfeed] = NULL;
	memset(&feeder, 0, sizeof feeder);
	feeder.argv = (const char *const *)&words[5];
	feeder.env_set = env;
	feeder.stdin_fd = in;
	feeder.stdout_fd = p[1];
	feeder.pipe_stderr = true;
	feeder.join_pgroup = leader.pid;
	feeder.die_with_parent = true;
	rc = spawn_start(&feeder);
	close(in);
	close(p[0]);
	close(p[1]);
	job = worker_add_job(w, slot, leader.pid, rc < 0 ? -1 : feeder.pid);
	job->fd[1] = leader.err_fd;
	set_nonblock(job->fd[1]);
	if (rc < 0) {
		/* The leader reads nothing and ends; its end says the job failed. */
		kill(-leader.pid, SIGKILL);
		return;
	}
	job->fd[2] = feeder.err_fd;
	set_nonblock(job->fd[2]);
}

static void
worker_signal(struct node_worker *w, int slot, int sig)
{
	struct node_job *job = worker_job(w, slot);

	if (job && !job->exited)
		kill(sig == SIGKILL ? -job->pid : job->pid, sig);
}

/* The slot a message names after its verb (at p): true, *slot set, when it is one. */
static bool
message_slot(const char *p, int *slot)
{
	char num[16];
	size_t n = strspn(p, "0123456789");

	if (n == 0 || n >= sizeof num || (p[n] != ' ' && p[n] != '\0'))
		return false;
	memcpy(num, p, n);
	num[n] = '\0';
	return parse_int_range(num, 0, WORKER_SLOTS_MAX, slot) == 0;
}

/* One message; only those for our task are read past their first word. */
static void
worker_message(struct node_worker *w, char *line)
{
	/* One more than node_split fills (the shift below), and one more for the NULL after. */
	static char *words[WORKER_WORDS_MAX + 2];
	static size_t len[WORKER_WORDS_MAX + 1];
	char *end;
	long task;
	int n, slot;

	errno = 0;
	task = strtol(line, &end, 10);
	if (errno || end == line || *end != ' ' || task != w->task)
		return;
	/* A job asked for and not understood still ends, or the supervisor would wait. */
	if (!((strncmp(end + 1, "run ", 4) == 0 || strncmp(end + 1, "pipe ", 5) == 0) &&
	      message_slot(strchr(end + 1, ' ') + 1, &slot)))
		slot = -1;
	n = node_split(end + 1, words, len, WORKER_WORDS_MAX);
	if (n < 2 || parse_int_range(words[1], 0, WORKER_SLOTS_MAX, &slot) < 0) {
		if (slot >= 0)
			worker_refuse(w, slot, "a message not understood");
		else
			fprintf(stderr, "scow-sync __node-worker: a message not understood\n");
		return;
	}
	/* words[0] is the verb; the task was taken off. Shift for one numbering. */
	memmove(&words[1], &words[0], (size_t)n * sizeof *words);
	memmove(&len[1], &len[0], (size_t)n * sizeof *len);
	n++;
	if (strcmp(words[1], "file") == 0)
		worker_file(w, words, len, n);
	else if (strcmp(words[1], "key") == 0)
		worker_key(w, words, len, n);
	else if (strcmp(words[1], "master") == 0)
		worker_master(w, words, len, n);
	else if (strcmp(words[1], "run") == 0)
		worker_run(w, slot, words, len, n);
	else if (strcmp(words[1], "pipe") == 0)
		worker_pipe(w, slot, words, len, n);
	else if (strcmp(words[1], "stop") == 0 && n == 4) {
		int sig;

		if (parse_int_range(words[3], 1, 64, &sig) == 0)
			worker_signal(w, slot, sig);
	}
}

static void
worker_read_input(struct node_worker *w)
{
	char buf[65536];
	ssize_t n;
	char *nl;

	for (;;) {
		n = read(STDIN_FILENO, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			w->in_ended = true;
			break;
		}
		strbuf_add(&w->in, buf, (size_t)n);
	}
	/* An empty strbuf may have no buffer at all. */
	while (w->in.len > 0 && (nl = memchr(w->in.buf, '\n', w->in.len)) != NULL) {
		size_t used = (size_t)(nl - w->in.buf) + 1;

		*nl = '\0';
		worker_message(w, w->in.buf);
		strbuf_remove_front(&w->in, used);
	}
}

static void
worker_read_job(struct node_worker *w, struct node_job *job, int k)
{
	char buf[NODE_CHUNK];
	ssize_t n;

	while (job->fd[k] >= 0) {
		n = read(job->fd[k], buf, sizeof buf);
		if (n > 0) {
			worker_say_output(w, job->slot, k, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		close(job->fd[k]);
		job->fd[k] = -1;
	}
}

/* Reap, and say "exit" for each job whose process ended and whose output is read. */
static void
worker_reap(struct node_worker *w)
{
	size_t i;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == w->master)
			w->master = -1;
		for (i = 0; i < w->njobs; i++) {
			if (w->jobs[i].pid == pid) {
				w->jobs[i].exited = true;
				w->jobs[i].status = status;
			} else if (w->jobs[i].pid2 == pid) {
				w->jobs[i].exited2 = true;
				w->jobs[i].status2 = status;
			}
		}
	}
	for (i = 0; i < w->njobs;) {
		struct node_job *job = &w->jobs[i];

		if (!job->exited || !job->exited2 || job->fd[0] >= 0 || job->fd[1] >= 0 ||
		    job->fd[2] >= 0) {
			i++;
			continue;
		}
		/* What it started may still write: its group goes with it. */
		kill(-job->pid, SIGKILL);
		strbuf_addf(&w->line, "exit %d %d", job->slot, job->status);
		if (job->pid2 > 0)
			strbuf_addf(&w->line, " %d", job->status2);
		worker_say(w);
		w->jobs[i] = w->jobs[--w->njobs];
	}
}

static void
worker_remove_dir(const char *dir)
{
	if (private_dir_remove(dir, NULL) < 0)
		fprintf(stderr, "scow-sync __node-worker: cannot remove '%s': %s\n", dir,
			strerror(errno));
}

/* The end: every job's group ended (SIGTERM, then SIGKILL), our directory removed. */
static void
worker_end(struct node_worker *w)
{
	double deadline = now_monotonic() + WORKER_STOP_GRACE;
	size_t i;

	for (i = 0; i < w->njobs; i++)
		if (!w->jobs[i].exited)
			kill(w->jobs[i].pid, SIGTERM);
	while (w->njobs > 0) {
		bool left = false;

		for (i = 0; i < w->njobs; i++) {
			worker_read_job(w, &w->jobs[i], 0);
			worker_read_job(w, &w->jobs[i], 1);
			worker_read_job(w, &w->jobs[i], 2);
			left |= !w->jobs[i].exited || !w->jobs[i].exited2;
		}
		worker_reap(w);
		if (!left)
			continue;
		if (now_monotonic() > deadline)
			for (i = 0; i < w->njobs; i++)
				kill(-w->jobs[i].pid, SIGKILL);
		poll(NULL, 0, 20);
	}
	/* The shared connection last, once nothing goes through it. */
	if (w->master > 0) {
		kill(-w->master, SIGTERM);
		deadline = now_monotonic() + WORKER_STOP_GRACE;
		while (w->master > 0 && waitpid(w->master, NULL, WNOHANG) == 0) {
			if (now_monotonic() > deadline)
				kill(-w->master, SIGKILL);
			poll(NULL, 0, 20);
		}
		w->master = -1;
	}
	worker_remove_dir(w->dir);
}

/*
 * Does Slurm say it no longer has job (squeue's answer, status and what it
 * printed)? Only a clear answer counts: none listed, or "Invalid job id"
 * (a job it has forgotten). A controller that cannot be reached says
 * neither, and then every directory stays.
 */
static bool
worker_job_gone(int status, const struct strbuf *out, const struct strbuf *err)
{
	if (!WIFEXITED(status))
		return false;
	if (WEXITSTATUS(status) == 0)
		return out->len == 0;
	return err->len > 0 && strstr(err->buf, "Invalid job id") != NULL;
}

/*
 * Remove the directories of our workers of jobs Slurm no longer has
 * (their steps were killed before they could): "scow-sync-node.JOB.TASK"
 * in base, ours, of a job other than this one that Slurm says is gone.
 */
static void
worker_remove_stale(const char *base, const char *job)
{
	const char prefix[] = "scow-sync-node.";
	struct dirent *e;
	DIR *d = opendir(base);

	while (d && (e = readdir(d)) != NULL) {
		struct strbuf path = STRBUF_INIT, out = STRBUF_INIT, err = STRBUF_INIT;
		const char *argv[] = { "squeue", "--noheader", "--format=%i", NULL, NULL };
		char *jobs = NULL, *dot;
		struct stat sb;
		int status = 0;

		if (strncmp(e->d_name, prefix, sizeof prefix - 1) != 0)
			continue;
		jobs = xasprintf("--jobs=%s", e->d_name + sizeof prefix - 1);
		if ((dot = strchr(jobs, '.')) != NULL)
			*dot = '\0';
		strbuf_addf(&path, "%s/%s", base, e->d_name);
		argv[3] = jobs;
		/* Ours, not this job's, and not a job Slurm still runs. */
		if (dot && strcmp(jobs + 7, job) != 0 && lstat(path.buf, &sb) == 0 &&
		    S_ISDIR(sb.st_mode) && sb.st_uid == geteuid() &&
		    spawn_capture(argv, &status, &out, &err) == 0 &&
		    worker_job_gone(status, &out, &err))
			worker_remove_dir(path.buf);
		strbuf_release(&path);
		strbuf_release(&out);
		strbuf_release(&err);
		free(jobs);
	}
	if (d)
		closedir(d);
}

int
cmd_node_worker(int argc, char **argv)
{
	struct node_worker w;
	struct sigaction sa;
	const char *tmp = getenv("TMPDIR"), *job = getenv("SLURM_JOB_ID"), *base;
	char host[HOST_NAME_MAX + 1];
	unsigned long long task_n;
	bool clean = argc == 4 && strcmp(argv[3], "--clean") == 0;
	size_t i;

	memset(&w, 0, sizeof w);
	strbuf_init(&w.in, 0);
	strbuf_init(&w.line, 0);
	if ((argc != 3 && !clean) || parse_ullong(argv[2], 0, LONG_MAX, &task_n) < 0 ||
	    job == NULL || strspn(job, "0123456789") != strlen(job) || *job == '\0') {
		fprintf(stderr, "scow-sync __node-worker: run by a transfer's Slurm job step "
				"(__node-worker TASK [--clean], SLURM_JOB_ID set)\n");
		return EXIT_USAGE;
	}
	/*
	 * A name of this job and task: a step that ends it under us (a
	 * signal) leaves it, and a step of its own, or a later worker, finds
	 * it and removes it.
	 */
	base = tmp && *tmp == '/' ? tmp : "/tmp";
	w.dir = xasprintf("%s/scow-sync-node.%s.%llu", base, job, task_n);
	if (clean) {
		struct stat sb;

		if (lstat(w.dir, &sb) == 0 && S_ISDIR(sb.st_mode) && sb.st_uid == geteuid())
			worker_remove_dir(w.dir);
		free(w.dir);
		return EXIT_OK;
	}
	worker_remove_stale(base, job);
	if (mkdir(w.dir, 0700) < 0) {
		struct stat sb;
		int saved = errno;

		/*
		 * An earlier step's of this job and task: ours to take over, if
		 * it is ours (a directory of our own, not a link to elsewhere).
		 */
		if (saved == EEXIST && lstat(w.dir, &sb) == 0 && S_ISDIR(sb.st_mode) &&
		    sb.st_uid == geteuid()) {
			worker_remove_dir(w.dir);
			saved = mkdir(w.dir, 0700) < 0 ? errno : 0;
		}
		if (saved) {
			fprintf(stderr, "scow-sync __node-worker: cannot make '%s': %s\n", w.dir,
				strerror(saved));
			return EXIT_FAILED;
		}
	}
	if (xpipe_cloexec(worker_wake) < 0) {
		fprintf(stderr, "scow-sync __node-worker: cannot make a pipe: %s\n",
			strerror(errno));
		return EXIT_FAILED;
	}
	w.task = (long)task_n;
	w.master = -1;
	set_nonblock(worker_wake[0]);
	set_nonblock(worker_wake[1]);
	set_nonblock(STDIN_FILENO);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = worker_on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (gethostname(host, sizeof host) < 0)
		strcpy(host, "?");
	host[sizeof host - 1] = '\0';

	strbuf_addstr(&w.line, "hello");
	node_add_word(&w.line, w.dir);
	node_add_word(&w.line, host);
	node_add_word(&w.line, getenv("SLURM_JOB_ID") ? getenv("SLURM_JOB_ID") : "0");
	node_add_word(&w.line, getenv("SLURM_STEP_ID") ? getenv("SLURM_STEP_ID") : "0");
	worker_say(&w);

	while (!w.in_ended && !worker_stop) {
		struct pollfd pfd[2 + 3 * 64];
		struct node_job *owner[2 + 3 * 64];
		int kind[2 + 3 * 64];
		nfds_t n = 0;
		int timeout;

		pfd[n].fd = STDIN_FILENO;
		pfd[n++].events = POLLIN;
		pfd[n].fd = worker_wake[0];
		pfd[n++].events = POLLIN;
		for (i = 0; i < w.njobs && n + 3 <= sizeof pfd / sizeof pfd[0]; i++) {
			int k;

			for (k = 0; k < 3; k++) {
				if (w.jobs[i].fd[k] < 0)
					continue;
				owner[n] = &w.jobs[i];
				kind[n] = k;
				pfd[n].fd = w.jobs[i].fd[k];
				pfd[n++].events = POLLIN;
			}
		}
		timeout = (int)((w.said_at + NODE_ALIVE_EVERY - now_monotonic()) * 1000);
		if (poll(pfd, n, timeout < 0 ? 0 : timeout) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents) {
			char buf[64];

			while (read(worker_wake[0], buf, sizeof buf) > 0)
				;
		}
		for (i = 2; i < n; i++)
			if (pfd[i].revents)
				worker_read_job(&w, owner[i], kind[i]);
		worker_reap(&w);
		if (pfd[0].revents)
			worker_read_input(&w);
		if (now_monotonic() - w.said_at >= NODE_ALIVE_EVERY) {
			strbuf_addstr(&w.line, "alive");
			worker_say(&w);
		}
	}
	worker_end(&w);
	free(w.jobs);
	free(w.dir);
	strbuf_release(&w.in);
	strbuf_release(&w.line);
	return EXIT_OK;
}
