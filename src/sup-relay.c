/*
 * sup-relay: a host's transfer fed from another host of the same request
 * (a relay tree, sup-fanout.c), so that the source's uplink carries each
 * byte once. Everything else of the transfer is its own, as for a host fed
 * from here: its connection, lock, walk, units, directories, progress,
 * partial data and cleanup. Only the data takes another way: a batch whose
 * units are done on the feeding host runs as an rsync there, started over
 * ssh with the user's key in the request's private agent, forwarded for
 * that session only (the key file never leaves this node), reading its list
 * on stdin and sending to this host. The feeding host's transfer ended
 * without them, or its ssh failing, the rest goes from here.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rsync.h"
#include "sup-internal.h"
#include "util.h"

#define RELAY_CHECK_SECONDS 0.25   /* how often the feeding host's state is read */
#define RELAY_SSH_FAILED 255       /* ssh's exit when it cannot reach or log in */
/*
 * A hop between hosts is a near link: a host gone is seen after 3 unanswered
 * keepalives 5 s apart, not the minute a far link is given.
 */
#define RELAY_ALIVE_INTERVAL 5
#define RELAY_ALIVE_COUNT 3
/*
 * And rsync's --timeout on a hop: the receiver here of a relaying host
 * that went away ends (and removes its temporary file) this soon, not
 * after the io_timeout a far link is given.
 */
#define RELAY_IO_TIMEOUT 20

void
relay_init(struct sup *s)
{
	struct transfer feed;

	memset(&s->relay, 0, sizeof s->relay);
	/*
	 * Another host is fed from this one's copy as its units arrive: they
	 * come in small batches (a unit is done when its rsync ends), never
	 * one rsync for everything.
	 */
	if (store_transfer_feeds(s->st, s->t.id, &s->feeds) < 0)
		log_warn("cannot read the relay tree: %s", store_errmsg(s->st));
	if (s->t.feed_id == 0)
		return;
	if (s->cfg->relay_agent == NULL) {
		/* Run on its own (resume of one host), it has no key to forward: from here. */
		log_info("fed from here: no agent holds the key for the host that would relay");
		return;
	}
	if (store_transfer_get(s->st, s->t.feed_id, &feed) < 0) {
		log_warn("fed from here: the relaying host's transfer cannot be read: %s",
			 store_errmsg(s->st));
		return;
	}
	s->relay.feed_id = feed.id;
	s->relay.address = xstrdup(feed.address);
	s->relay.port = feed.port;
	s->relay.on = s->relay.gate = true;
	supervisor_ssh_target(&s->relay.target, s->cfg, s->t.user, s->relay.address,
			      s->relay.port, s->t.key_path);
	log_info("fed from %s (transfer %lld) as its units arrive there", s->relay.address,
		 (long long)feed.id);
	transfer_release(&feed);
}

void
relay_release(struct sup *s)
{
	free(s->relay.address);
	free(s->relay.root);
	free((char *)s->relay.target.known_hosts);
	memset(&s->relay, 0, sizeof s->relay);
}

/* Read the feeding host's transfer: where its copy is, and whether it still runs. */
static void
relay_check_feed(struct sup *s)
{
	struct transfer feed;

	s->relay.checked_at = now_monotonic();
	if (store_transfer_get(s->st, s->relay.feed_id, &feed) < 0)
		return;
	if (s->relay.root == NULL && feed.far_destination)
		s->relay.root = xstrdup(feed.far_destination);
	if (transfer_state_finished(feed.state) || feed.state == TRANSFER_INTERRUPTED) {
		s->relay.gate = false;
		if (feed.state != TRANSFER_DONE || s->relay.root == NULL) {
			s->relay.on = false;
			log_warn("%s ended %s: the rest is sent from here", s->relay.address,
				 transfer_state_name(feed.state));
		}
	}
	transfer_release(&feed);
}

bool
relay_unit_ready(struct sup *s, const struct unit *u)
{
	struct unit there;
	bool done;

	if (!s->relay.gate)
		return true;
	if (now_monotonic() - s->relay.checked_at >= RELAY_CHECK_SECONDS) {
		relay_check_feed(s);
		if (!s->relay.gate)
			return true;
	}
	if (store_unit_find(s->st, s->relay.feed_id, u->path, &there) < 0)
		return false;
	done = there.state == UNIT_DONE;
	unit_release(&there);
	/* Its copy there is whole: where that is must be known too. */
	if (done && s->relay.root == NULL)
		relay_check_feed(s);
	return done && s->relay.root != NULL;
}

/*
 * The -e of the rsync on the feeding host: its own ssh, with the agent's
 * key, the known hosts and the configuration of the account there.
 */
static void
relay_rsh(const struct sup *s, struct strbuf *out)
{
	strbuf_addf(out, "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new "
		    "-o PasswordAuthentication=no -o KbdInteractiveAuthentication=no "
		    "-o ConnectTimeout=%d -o ServerAliveInterval=%d -o ServerAliveCountMax=%d "
		    "-o Compression=no -p %d -l ", CONNECT_TIMEOUT, RELAY_ALIVE_INTERVAL,
		    RELAY_ALIVE_COUNT, s->t.port);
	sq_quote(out, s->t.user);
}

int
relay_start_job(struct sup *s, struct worker *w, const struct rsync_job *given)
{
	struct rsync_job job = *given;
	struct strvec argv = STRVEC_INIT, remote = STRVEC_INIT, base = STRVEC_INIT;
	struct strbuf rsh = STRBUF_INIT, cmd = STRBUF_INIT;
	char *agent = xasprintf("SSH_AUTH_SOCK=%s", s->cfg->relay_agent);
	const char *env[] = { "LC_ALL=C", agent, NULL };
	struct spawn sp;
	size_t i;
	int list, rc;

	/* The list on its stdin: a file of ours is not there. */
	list = open(w->list_file, O_RDONLY | O_CLOEXEC);
	if (list < 0) {
		set_failure(s, "cannot read '%s': %s", w->list_file, strerror(errno));
		free(agent);
		return SYNC_ERR_SYSTEM;
	}
	relay_rsh(s, &rsh);
	job.rsync_path = "rsync";
	job.rsh = rsh.buf;
	job.source_root = s->relay.root;
	job.files_from = NULL;
	/* The hosts' own link: near, and nothing to gain by compressing. */
	job.compress = false;
	if (job.io_timeout == 0 || job.io_timeout > RELAY_IO_TIMEOUT)
		job.io_timeout = RELAY_IO_TIMEOUT;
	/*
	 * No partial data: a receiver here cut off from a relaying host that
	 * went away removes its temporary file as it ends, rather than keep
	 * data the cleanup has looked for already (its retry goes from here).
	 */
	job.partial_dir = NULL;
	rsync_job_argv(&job, &remote);
	sq_quote_argv(&cmd, (const char *const *)remote.v);

	/* ssh's command line names a link to the key, as the transfer's own do. */
	s->relay.target.key_given = s->target.key_given;
	ssh_base_argv(&s->relay.target, &base);
	/* ssh takes the first value of an option: the hop's own go first. */
	strvec_push(&argv, base.v[0]);
	strvec_pushf(&argv, "-oServerAliveInterval=%d", RELAY_ALIVE_INTERVAL);
	strvec_pushf(&argv, "-oServerAliveCountMax=%d", RELAY_ALIVE_COUNT);
	strvec_push(&argv, "-oForwardAgent=yes");
	for (i = 1; i < base.nr; i++)
		strvec_push(&argv, base.v[i]);
	strvec_clear(&base);
	strvec_push(&argv, s->relay.address);
	strvec_push(&argv, cmd.buf);

	memset(&sp, 0, sizeof sp);
	sp.argv = (const char *const *)argv.v;
	sp.env_set = env;
	sp.stdin_fd = list;
	sp.pipe_stdout = true;
	sp.pipe_stderr = true;
	sp.new_pgroup = true;
	sp.die_with_parent = true;
	rc = spawn_start(&sp);
	close(list);
	strvec_clear(&argv);
	strvec_clear(&remote);
	strbuf_release(&rsh);
	strbuf_release(&cmd);
	free(agent);
	if (rc < 0) {
		set_failure(s, "cannot run '%s': %s", s->cfg->ssh_path ? s->cfg->ssh_path : "ssh",
			    strerror(errno));
		return rc;
	}
	worker_job_started(s, w, JOB_UNIT, &sp);
	/* Its files are read there: nothing here to watch for changes. */
	w->source_root = NULL;
	w->relayed = true;
	return SYNC_OK;
}

void
relay_job_ended(struct sup *s, const struct worker *w, int code)
{
	if (!w->relayed || code != RELAY_SSH_FAILED || !s->relay.on || w->job->stopped)
		return;
	s->relay.on = s->relay.gate = false;
	log_warn("the relay through %s failed (ssh exited %d): the rest is sent from here",
		 s->relay.address, code);
}
