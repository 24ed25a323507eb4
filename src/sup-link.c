/* sup-link: the shared ssh connection of a transfer, and what its answer time says. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "farlock.h"
#include "log.h"
#include "master.h"
#include "rsync-parse.h"
#include "sftp.h"
#include "sup-internal.h"
#include "supervisor.h"
#include "util.h"

#define MASTER_WAIT 60.0          /* seconds for the SSH master to come up */
#define SPLIT_MIN_BYTES (64ULL << 20)  /* a file this big may move in pieces */
/*
 * One stream over ssh carries at most a channel window (2 MiB in OpenSSH)
 * per round trip. A command through the shared connection answers in
 * about two and a half round trips: from 150 ms (a round trip of 60 ms,
 * one stream capped near 35 MB/s) a link of transfer nodes can do more,
 * and pieces in parallel pay. Under 60 ms (a round trip of a few ms) the
 * link is near and the CPU is the limit.
 */
#define SPLIT_ANSWER_MIN 0.150
#define NEAR_ANSWER_MAX 0.060

/*
 * The user's directory for connection sockets (ssh_socket_dir), with
 * say, saying in the log why when it is not the usual one: someone else
 * made that first, which would otherwise silently cost every transfer its
 * kept connection. NULL when there is none; the caller frees.
 */
static char *
link_socket_dir(const struct supervisor_config *cfg, bool say)
{
	char why[1024];
	char *dir = ssh_socket_dir(cfg->state_dir, why, sizeof why);

	if (why[0] && say)
		log_warn("%s", why);
	return dir;
}

/*
 * A socket for a connection of our own in the user's directory for them
 * (ssh_socket_dir), under a random name: one that outlives the transfer's
 * private directory. ssh removes it when it ends. NULL when there is no
 * such directory; the caller frees.
 */
static char *
link_random_socket(const struct supervisor_config *cfg, char *err, size_t errlen)
{
	unsigned char rnd[4];
	/* Quietly: the supervisor logs why it is not the usual one. */
	char *dir = link_socket_dir(cfg, false), *path;

	if (dir == NULL || getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
		snprintf(err, errlen, "no private directory for the connection: '%s/scow-sync-%u'",
			 ssh_tmp_base(), (unsigned)geteuid());
		free(dir);
		return NULL;
	}
	path = xasprintf("%s/%02x%02x%02x%02x", dir, rnd[0], rnd[1], rnd[2], rnd[3]);
	free(dir);
	return path;
}

/*
 * Where the connection of the transfer's own has its socket: in its
 * private directory, which its end removes; a watch's, for the cycles
 * after this one too (sup-hold.c), where that directory is not.
 */
static void
link_own_socket(struct sup *s)
{
	char err[512], *path = s->cfg->hold ? link_random_socket(s->cfg, err, sizeof err) : NULL;

	free(s->control_path);
	s->control_path = path ? path : xasprintf("%s/cm", s->tmpdir);
	s->master_lasts = path != NULL;
}

/*
 * Start the shared SSH connection (master.h), or take over the one the
 * command started for this transfer; master_wait() waits for it, so the
 * walk can go on meanwhile.
 */
int
master_start(struct sup *s)
{
	struct ssh_master *early = s->cfg->early;
	char err[512];
	char *dir;

	if (ssh_prepare_known_hosts(s->target.known_hosts, err, sizeof err) < 0)
		log_warn("%s", err);
	/* A watch's cycle: the connection of the cycle before, when it still answers. */
	if (hold_take_master(s))
		return SYNC_OK;
	/* Asked here, so that the log says why even of an early connection's. */
	dir = s->cfg->keep_connection > 0 ? link_socket_dir(s->cfg, true) : NULL;
	if (early && (early->pid > 0 || early->kept)) {
		if (ssh_master_serves(early, &s->target)) {
			s->master = *early;
			*early = (struct ssh_master)SSH_MASTER_INIT;
			free(s->control_path);
			s->control_path = xstrdup(s->master.control_path);
			s->master_lasts = true;
			free(dir);
			return SYNC_OK;
		}
		ssh_master_release(early);
	}
	if (dir && ssh_master_take_kept(&s->master, &s->target, dir,
					s->cfg->keep_connection) == 0) {
		free(s->control_path);
		s->control_path = xstrdup(s->master.control_path);
		s->master_lasts = true;
		free(dir);
		return SYNC_OK;
	}
	free(dir);
	link_own_socket(s);
	if (ssh_master_start(&s->master, &s->target, s->control_path) < 0) {
		set_failure(s, "cannot run '%s': %s", s->cfg->ssh_path, strerror(errno));
		return SYNC_ERR_SYSTEM;
	}
	return SYNC_OK;
}

/* Wait until the shared connection's socket answers. */
int
master_wait(struct sup *s)
{
	struct strbuf why = STRBUF_INIT;
	int rc = ssh_master_wait(&s->master, MASTER_WAIT, &got_stop_signal, &why);

	/*
	 * A kept connection that ended after we took it (killed, or closed by
	 * the far side): a connection of the transfer's own instead.
	 */
	if (rc == SYNC_ERR_CONNECT && why.len == 0 && !got_stop_signal && s->master.kept) {
		log_warn("the kept connection to '%s' ended before its use; connecting again",
			 s->shown_address);
		ssh_master_stop(&s->master);
		s->master_replaced = true;
		link_own_socket(s);
		if (ssh_master_start(&s->master, &s->target, s->control_path) < 0) {
			set_failure(s, "cannot run '%s': %s", s->cfg->ssh_path, strerror(errno));
			strbuf_release(&why);
			return SYNC_ERR_SYSTEM;
		}
		rc = ssh_master_wait(&s->master, MASTER_WAIT, &got_stop_signal, &why);
	}
	if (rc == SYNC_ERR_TIMEOUT)
		set_failure(s, "timed out connecting to '%s' port %d", s->shown_address, s->t.port);
	else if (rc < 0 && why.len && ssh_failure_kind(why.buf, why.len) == SSH_FAILURE_AUTH)
		/* Which identity was refused: the ways out differ (-k, the agent, the config). */
		set_failure(s, "cannot log in to '%s' port %d as '%s' with %s%s%s: %s",
			    s->shown_address, s->t.port, s->t.user,
			    *s->t.key_path ? "key '" : "ssh's own identities",
			    s->t.key_path, *s->t.key_path ? "'" : "", why.buf);
	else if (rc < 0 && why.len)
		set_failure(s, "cannot connect to '%s' port %d: %s", s->shown_address, s->t.port,
			    why.buf);
	else if (rc < 0 && !got_stop_signal)
		set_failure(s, "cannot connect to '%s' port %d: the connection ended",
			    s->shown_address, s->t.port);
	strbuf_release(&why);
	return rc;
}

/* End the shared connection; a kept one too when a remote command of ours may still hold it. */
void
stop_master(struct sup *s)
{
	if (s->master_stuck)
		ssh_master_end(&s->master, &s->target);
	else
		ssh_master_stop(&s->master);
}

/*
 * Decide by the far side's answer time: is the link far enough for
 * pieces, and so near that the CPU is the limit?
 */
void
apply_answer(struct sup *s, double answer)
{
	const struct supervisor_config *cfg = s->cfg;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int want = cpus > 3 ? (int)(cpus / 2) : 1;

	/* One command's round trip tells whether the link is far. */
	s->split_ok = !cfg->split_never && (cfg->split_mib > 0 || answer >= SPLIT_ANSWER_MIN);
	s->split_min = cfg->split_mib > 0 ? cfg->split_mib << 20 : SPLIT_MIN_BYTES;
	/*
	 * Over several nodes, near or far: a file big beside a node's share of
	 * what is left, or one of the last few, goes in pieces over the nodes
	 * (nodes_split_worth), so that no node sends alone at the end.
	 */
	if (s->nodes.n > 0) {
		s->split_ok = !cfg->split_never;
		if (cfg->split_mib == 0)
			s->split_min = NODES_SPLIT_MIN;
	}
	/*
	 * Near, one rsync over ssh keeps about two cores busy (the sender and
	 * its ssh, sshd and the receiver): more workers than half the CPUs
	 * only take turns on them. Unless the workers were chosen.
	 */
	s->near = answer < NEAR_ANSWER_MAX;
	s->active_workers = cfg->workers;
	if (s->near && !cfg->workers_set && want < s->active_workers)
		s->active_workers = want;
	/*
	 * Small files cost CPU per file, whatever the link: batches of them
	 * keep two cores busy each too.
	 */
	s->small_cap = cfg->workers_set ? s->active_workers : want;
}

void
supervisor_ssh_target(struct ssh_target *t, const struct supervisor_config *cfg,
		      const char *user, const char *host, int port, const char *key_path)
{
	memset(t, 0, sizeof *t);
	t->program = cfg->ssh_path;
	t->user = user;
	t->host = host;
	t->port = port;
	t->key_path = key_path;
	t->known_hosts = xasprintf("%s/.ssh/known_hosts", home_dir());
	t->known_hosts_default = home_is_account_home();
	t->ssh_config = cfg->ssh_config;
	t->connect_timeout = CONNECT_TIMEOUT;
}

char *
supervisor_far_host(const struct supervisor_config *cfg, const char *user, const char *host,
		    int port, const char *key_path)
{
	struct ssh_target target;
	struct strbuf out = STRBUF_INIT;
	char *r = NULL;

	supervisor_ssh_target(&target, cfg, user, host, port, key_path);
	if (far_host_resolve(&target, &out) == SYNC_OK)
		r = strbuf_detach(&out, NULL);
	strbuf_release(&out);
	free((char *)target.known_hosts);
	return r;
}

int
supervisor_connect_early(const struct supervisor_config *cfg, const char *user,
			 const char *host, int port, const char *key_path,
			 struct ssh_master *m, char *err, size_t errlen)
{
	struct ssh_target target;
	char *control_path, *dir;
	int rc = 0;

	supervisor_ssh_target(&target, cfg, user, host, port, key_path);
	/* Quietly: the supervisor says it when the directory is missing. */
	ssh_prepare_known_hosts(target.known_hosts, err, errlen);
	/* Quietly too: the supervisor logs why it is not the usual one. */
	dir = link_socket_dir(cfg, false);
	if (ssh_master_take_kept(m, &target, dir, cfg->keep_connection) == 0) {
		free(dir);
		free((char *)target.known_hosts);
		return 0;
	}
	free(dir);
	/*
	 * The transfer has no private directory yet: the socket goes in the
	 * user's (ssh_socket_dir), under a random name, and ssh removes it
	 * when it ends. So a run ended by any signal leaves at most that
	 * empty directory, which the next run takes again.
	 */
	if ((control_path = link_random_socket(cfg, err, errlen)) == NULL) {
		free((char *)target.known_hosts);
		return -1;
	}
	rc = ssh_master_start(m, &target, control_path);
	if (rc < 0)
		snprintf(err, errlen, "cannot run '%s': %s", cfg->ssh_path, strerror(errno));
	free(control_path);
	free((char *)target.known_hosts);
	return rc < 0 ? -1 : 0;
}
