/*
 * sup-relay: a host's transfer fed from another host of the same request
 * (a relay tree, sup-fanout.c), so that the source's uplink carries each
 * byte once. Everything else of the transfer is its own, as for a host fed
 * from here: its connection, lock, walk, units, directories, progress,
 * partial data and cleanup. Only the data takes another way: a batch whose
 * units are done on the feeding host runs as an rsync there, started over
 * ssh with the user's key in the request's private agent, forwarded for
 * that session only (the key file never leaves this node), reading on
 * stdin the list of the source's own entries of those units and sending
 * them to this host. A unit the feeding host ended without, or a hop that
 * fails, and the rest goes from here.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rsync.h"
#include "sup-internal.h"
#include "util.h"
#include "verdict.h"

#define RELAY_CHECK_SECONDS 0.25   /* how often the feeding host's state is read */
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
	s->relay.feed_ended = transfer_state_finished(feed.state) ||
			      feed.state == TRANSFER_INTERRUPTED;
	transfer_release(&feed);
}

/* From here on, everything goes from the source. */
static void
relay_off(struct sup *s, const char *why)
{
	if (!s->relay.on && !s->relay.gate)
		return;
	s->relay.on = s->relay.gate = false;
	log_warn("%s: the rest is sent from here", why);
}

bool
relay_unit_ready(struct sup *s, const struct unit *u)
{
	struct unit there;
	bool done = false;

	if (!s->relay.gate)
		return true;
	if (now_monotonic() - s->relay.checked_at >= RELAY_CHECK_SECONDS || s->relay.root == NULL)
		relay_check_feed(s);
	/*
	 * Each unit by its own state there, whatever the feeding host's
	 * transfer says as a whole: a part stopped there, or a unit it
	 * never had, is not its to give.
	 */
	if (store_unit_find(s->st, s->relay.feed_id, u->path, &there) == SYNC_OK) {
		done = there.state == UNIT_DONE;
		unit_release(&there);
	}
	if (done && s->relay.root != NULL)
		return true;
	if (s->relay.feed_ended) {
		struct strbuf why = STRBUF_INIT;

		strbuf_addf(&why, "%s ended without '", s->relay.address);
		escape_untrusted(&why, u->path, strlen(u->path));
		strbuf_addch(&why, '\'');
		relay_off(s, why.buf);
		strbuf_release(&why);
		return true;
	}
	return false;
}

/* Append path (relative to the source's parent) and what is below it, each NUL-ended. */
static struct strbuf *walk_out;
static size_t walk_skip;

static int
walk_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	strbuf_add(walk_out, path + walk_skip, strlen(path + walk_skip) + 1);
	return 0;
}

/*
 * The hop's list: every entry of w's units as the source has them (a
 * tree's whole walk, not the tree named), so that what the feeding host
 * has beside them (its own files, partial data) never travels, and what
 * it lacks fails the hop rather than being left out. 0, or -1 (errno).
 */
static int
relay_write_list(struct sup *s, struct worker *w)
{
	struct strbuf list = STRBUF_INIT;
	size_t k;
	int fd, rc = 0;

	walk_out = &list;
	walk_skip = strlen(s->source_root) + (strcmp(s->source_root, "/") == 0 ? 0 : 1);
	for (k = 0; k < w->nunits && rc == 0; k++) {
		const struct unit *u = &w->units[k].unit;
		char *full = xasprintf("%s%s%s", s->source_root,
				       strcmp(s->source_root, "/") == 0 ? "" : "/", u->path);

		if (u->kind == UNIT_TREE)
			rc = nftw(full, walk_one, 16, FTW_PHYS);
		else
			strbuf_add(&list, u->path, strlen(u->path) + 1);
		free(full);
	}
	walk_out = NULL;
	fd = rc == 0 ? open(w->list_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
			    0600) : -1;
	if (fd < 0 || write_all(fd, list.buf, list.len) < 0)
		rc = -1;
	if (fd >= 0 && close(fd) < 0)
		rc = -1;
	strbuf_release(&list);
	return rc;
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
	if (relay_write_list(s, w) < 0) {
		set_failure(s, "cannot write '%s': %s", w->list_file, strerror(errno));
		free(agent);
		return SYNC_ERR_SYSTEM;
	}
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
	/* Exactly the entries listed: never a tree, or the source, named whole. */
	job.source_name = NULL;
	job.recursive = false;
	job.implied_dirs = false;
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
relay_job_ended(struct sup *s, const struct worker *w, struct batch_end *e)
{
	char why[160];

	if (!w->relayed || e->code == 0 || e->stopped || e->stopping || e->aborting)
		return;
	/*
	 * Any other end of a hop (a file missing there is 23, one that went
	 * away 24, the host gone 255): its batch runs again at once, from
	 * here, as a batch stopped to leave a part out does.
	 */
	snprintf(why, sizeof why, "the relay through %s failed (exit %d)", s->relay.address,
		 e->code);
	relay_off(s, why);
	e->code = -1;
	e->stopped = true;
}
