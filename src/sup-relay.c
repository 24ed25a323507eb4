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
#include <time.h>
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
/* ... and a host that does not answer a hop's connection at once never will. */
#define RELAY_CONNECT_TIMEOUT 10
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
	/*
	 * Done before this run (a request asked again): what it holds is an
	 * earlier run's, which the source may have changed since.
	 */
	if (feed.state == TRANSFER_DONE) {
		log_info("fed from here: %s was done before this run", feed.address);
		transfer_release(&feed);
		return;
	}
	s->relay.feed_id = feed.id;
	s->relay.address = xstrdup(feed.address);
	s->relay.port = feed.port;
	s->relay.on = s->relay.gate = true;
	s->relay.since = (int64_t)time(NULL);
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
	free(s->relay.hop_host);
	free(s->relay.key_alias);
	if (s->relay.pinned)
		strbuf_release(&s->relay.known);
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
	/* Before anything waits for the feeding host: can it reach here at all? */
	if (!s->relay.pinned && !relay_can_hop(s))
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

/*
 * The parts stopped on the feeding host (in any state that keeps them
 * out), read once for a batch. -1: they cannot be read.
 */
static int
stopped_there(struct sup *s, struct strvec *out)
{
	static const enum exclusion_state stopped[] = {
		EXCLUSION_PENDING, EXCLUSION_APPLIED, EXCLUSION_ALREADY, EXCLUSION_UNCLEAN,
	};
	size_t k, i, n;

	for (k = 0; k < sizeof stopped / sizeof *stopped; k++) {
		struct exclusion *xs;

		if (store_exclusions_list(s->st, s->relay.feed_id, stopped[k], &xs, &n) < 0)
			return -1;
		for (i = 0; i < n; i++) {
			strvec_push(out, xs[i].path);
			exclusion_release(&xs[i]);
		}
		free(xs);
	}
	return 0;
}

bool
relay_batch_from_source_there(struct sup *s, const struct worker *w)
{
	struct strvec stopped = STRVEC_INIT;
	bool all = true;
	size_t k, i;

	/* Cannot tell what was stopped there: not from there. */
	if (stopped_there(s, &stopped) < 0)
		all = false;
	for (k = 0; k < w->nunits && all; k++) {
		const struct unit *u = &w->units[k].unit;
		struct unit there;
		bool whole = false;

		if (store_unit_find(s->st, s->relay.feed_id, u->path, &there) == SYNC_OK) {
			/*
			 * Every byte of it sent there by an rsync of this run (not
			 * found there by a check, nor kept by rsync's quick check, nor
			 * counted from an earlier run): a symbolic link, an empty file
			 * or a directory has none, and rsync makes it as the source
			 * has it whenever its unit runs.
			 */
			whole = there.state == UNIT_DONE && there.received_at >= s->relay.since;
			unit_release(&there);
		}
		/* A part stopped there at or below it, or above it. */
		for (i = 0; i < stopped.nr && whole; i++)
			whole = !path_is_within(stopped.v[i], u->path) &&
				!path_is_within(u->path, stopped.v[i]);
		if (!whole) {
			struct strbuf shown = STRBUF_INIT;

			escape_untrusted(&shown, u->path, strlen(u->path));
			log_info("'%s' from here: %s did not receive it whole from the source "
				 "in this run", shown.buf, s->relay.address);
			strbuf_release(&shown);
			all = false;
		}
	}
	strvec_clear(&stopped);
	return all;
}

/*
 * nftw's callback appends each entry below the source's parent, NUL-ended,
 * that the source's own rsync would send: not one the transfer's filter
 * leaves out, nor a part stopped, nor anything below either.
 */
static struct walk_state {
	struct strbuf *out;
	size_t skip;                    /* the source's parent and its '/' */
	const struct sup *s;
} walk;

static int
walk_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	const char *entry = path + walk.skip;
	size_t top = strlen(walk.s->source_rel), i;
	bool is_dir = flag == FTW_D || flag == FTW_DP || flag == FTW_DNR;

	(void)sb;
	(void)ftw;
	/* Its path from the source, as the filter reads it ("a/b"): the source itself is kept. */
	if (strlen(entry) > top && entry[top] == '/' &&
	    filter_excluded(&walk.s->filter, entry + top + 1, is_dir))
		return is_dir ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
	for (i = 0; i < walk.s->excludes.nr; i++)
		if (path_is_within(entry, walk.s->excludes.v[i]))
			return is_dir ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
	strbuf_add(walk.out, entry, strlen(entry) + 1);
	return FTW_CONTINUE;
}

/* Append the directories above path (below the source's parent) not in dirs yet. */
static void
add_parents(struct strbuf *list, struct strvec *dirs, const char *path)
{
	const char *slash;
	size_t i;

	for (slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
		size_t len = (size_t)(slash - path);
		bool have = false;

		for (i = 0; i < dirs->nr && !have; i++)
			have = strlen(dirs->v[i]) == len && memcmp(dirs->v[i], path, len) == 0;
		if (have)
			continue;
		strvec_pushf(dirs, "%.*s", (int)len, path);
		strbuf_add(list, path, len);
		strbuf_addch(list, '\0');
	}
}

/*
 * The hop's list: every entry of w's units as the source has them (a
 * tree's whole walk, not the tree named), so that what the feeding host
 * has beside them (its own files, partial data) never travels, and what
 * it lacks fails the hop rather than being left out. A batch that was to
 * give the directories their attributes as it ends (job's implied_dirs)
 * lists the directories above its units too, and one that was to name the
 * source whole lists all of it: its empty directories are in no unit.
 * 0, or -1 (errno).
 */
static int
relay_write_list(struct sup *s, struct worker *w, const struct rsync_job *job)
{
	const char *sep = strcmp(s->source_root, "/") == 0 ? "" : "/";
	struct strbuf list = STRBUF_INIT;
	struct strvec dirs = STRVEC_INIT;
	size_t k;
	int fd, rc = 0;

	walk.out = &list;
	walk.skip = strlen(s->source_root) + strlen(sep);
	walk.s = s;
	if (job->source_name) {
		char *full = xasprintf("%s%s%s", s->source_root, sep, s->source_rel);

		rc = nftw(full, walk_one, 16, FTW_PHYS | FTW_ACTIONRETVAL);
		free(full);
	}
	for (k = 0; !job->source_name && k < w->nunits && rc == 0; k++) {
		const struct unit *u = &w->units[k].unit;
		char *full = xasprintf("%s%s%s", s->source_root, sep, u->path);

		if (job->implied_dirs)
			add_parents(&list, &dirs, u->path);
		if (u->kind == UNIT_TREE)
			rc = nftw(full, walk_one, 16, FTW_PHYS | FTW_ACTIONRETVAL);
		else
			strbuf_add(&list, u->path, strlen(u->path) + 1);
		free(full);
	}
	memset(&walk, 0, sizeof walk);
	strvec_clear(&dirs);
	fd = rc == 0 ? open(w->list_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
			    0600) : -1;
	if (fd < 0 || write_all(fd, list.buf, list.len) < 0)
		rc = -1;
	if (fd >= 0 && close(fd) < 0)
		rc = -1;
	strbuf_release(&list);
	return rc;
}

/* A name as ssh would take it on a command line and in rsync's -e, or not. */
static bool
hop_name_ok(const char *name)
{
	return name[0] != '\0' && name[0] != '-' &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789.-_:%[]") == strlen(name);
}

/* Append the words of a list ssh -G gives (split at spaces, as ssh reads it). */
static void
push_words(struct strvec *out, const char *list)
{
	char *copy = xstrdup(list), *save = NULL, *w;

	for (w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
		strvec_push(out, w);
	free(copy);
}

/*
 * Where this node's ssh goes for this host and which keys it takes there,
 * as its own configuration says (ssh -G: the host name, the port, the name
 * its known_hosts are read under, the files) and ssh-keygen -F finds in
 * them. The hop's ssh on the feeding host is given exactly these, and
 * nothing of that host's own configuration or known hosts: a name that
 * means another machine there fails the hop (and the rest goes from here)
 * rather than sending this host's data to it. 0, or -1 with why.
 */
static int
relay_pin(struct sup *s, char *why, size_t whylen)
{
	struct strvec argv = STRVEC_INIT, files = STRVEC_INIT;
	struct strbuf out = STRBUF_INIT, found = STRBUF_INIT;
	char *host = NULL, *alias = NULL, *user_files = NULL, *global_files = NULL;
	char *line, *save = NULL;
	int port = 0, status = -1;
	size_t i;

	s->relay.pinned = true;
	strbuf_init(&s->relay.known, 0);
	ssh_base_argv(&s->target, &argv);
	strvec_push(&argv, "-G");
	strvec_push(&argv, s->target.host);
	if (spawn_capture((const char *const *)argv.v, &status, &out, NULL) < 0 ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(why, whylen, "ssh -G cannot say how %s is reached", s->shown_address);
		goto out;
	}
	for (line = strtok_r(out.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *value = strchr(line, ' ');

		if (value == NULL)
			continue;
		*value++ = '\0';
		if (strcmp(line, "hostname") == 0)
			host = value;
		else if (strcmp(line, "port") == 0)
			port = atoi(value);
		else if (strcmp(line, "hostkeyalias") == 0)
			alias = value;
		else if (strcmp(line, "userknownhostsfile") == 0)
			user_files = value;
		else if (strcmp(line, "globalknownhostsfile") == 0)
			global_files = value;
	}
	if (host == NULL || port <= 0 || !hop_name_ok(host) || (alias && !hop_name_ok(alias))) {
		snprintf(why, whylen, "ssh -G gives no host name for %s that can be passed on",
			 s->shown_address);
		goto out;
	}
	s->relay.hop_host = xstrdup(host);
	s->relay.hop_port = port;
	if (alias)
		s->relay.key_alias = xstrdup(alias);
	else if (port == 22)
		s->relay.key_alias = xstrdup(host);
	else
		s->relay.key_alias = xasprintf("[%s]:%d", host, port);
	/* A path set apart is passed whole (its spaces are its own), as ssh_base_argv does. */
	if (s->target.known_hosts && !s->target.known_hosts_default) {
		strvec_push(&files, s->target.known_hosts);
		strvec_pushf(&files, "%s2", s->target.known_hosts);
	} else if (user_files) {
		push_words(&files, user_files);
	}
	if (global_files)
		push_words(&files, global_files);
	for (i = 0; i < files.nr; i++) {
		const char *keygen[] = { "ssh-keygen", "-F", s->relay.key_alias, "-f", files.v[i],
					 NULL };

		if (access(files.v[i], R_OK) < 0)
			continue;
		strbuf_reset(&found);
		if (spawn_capture(keygen, &status, &found, NULL) < 0)
			continue;
		/* Its lines as they are (a hashed name too), without its "# Host ... found". */
		save = NULL;
		for (line = strtok_r(found.buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			if (line[0] != '#')
				strbuf_addf(&s->relay.known, "%s\n", line);
	}
	if (s->relay.known.len == 0)
		snprintf(why, whylen, "no known host key of %s to give the relaying host",
			 s->shown_address);
out:
	strvec_clear(&argv);
	strvec_clear(&files);
	strbuf_release(&out);
	strbuf_release(&found);
	return s->relay.known.len ? 0 : -1;
}

/*
 * The -e of the rsync on the feeding host, but for the known hosts file
 * the hop's script adds: its own ssh with the agent's key, given nothing
 * of that host's configuration (-F /dev/null) or known hosts.
 */
static void
relay_rsh(const struct sup *s, struct strbuf *out)
{
	strbuf_addf(out, "ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes "
		    "-o GlobalKnownHostsFile=/dev/null -o HostKeyAlias=%s -o CheckHostIP=no "
		    "-o UpdateHostKeys=no "
		    "-o PasswordAuthentication=no -o KbdInteractiveAuthentication=no "
		    "-o ConnectTimeout=%d -o ServerAliveInterval=%d -o ServerAliveCountMax=%d "
		    "-o Compression=no -p %d -l ", s->relay.key_alias, RELAY_CONNECT_TIMEOUT,
		    RELAY_ALIVE_INTERVAL, RELAY_ALIVE_COUNT, s->relay.hop_port);
	sq_quote(out, s->t.user);
}

/*
 * Run on the feeding host as sh -c HOP_SCRIPT sh KNOWN RSH RSYNC ARGS...:
 * the known hosts lines in a private file for the hop's ssh, removed as
 * it ends. Any failure of its own is ssh's 255: the rest goes from here.
 */
static const char hop_script[] =
	"umask 077 && d=$(mktemp -d /tmp/scow-sync-hop.XXXXXX) || exit 255; "
	"trap 'rm -rf \"$d\"' 0; trap 'exit 129' 1; trap 'exit 141' 13; trap 'exit 143' 15; "
	"printf '%s' \"$1\" >\"$d/known_hosts\" || exit 255; "
	"k=\"$2 -o UserKnownHostsFile=$d/known_hosts\"; r=$3; shift 3; "
	"\"$r\" -e \"$k\" \"$@\"";

/*
 * ssh's argv (in argv) to run rsync_argv (rsync's, its -e left out) on the
 * feeding host through the hop's script, with the agent forwarded.
 */
static void
relay_hop_argv(struct sup *s, const char *const *rsync_argv, struct strvec *argv)
{
	struct strvec words = STRVEC_INIT, base = STRVEC_INIT;
	struct strbuf rsh = STRBUF_INIT, cmd = STRBUF_INIT;
	size_t i;

	relay_rsh(s, &rsh);
	/* sh -c HOP_SCRIPT sh KNOWN RSH RSYNC ARGS..., the -e the script's. */
	strvec_push(&words, "sh");
	strvec_push(&words, "-c");
	strvec_push(&words, hop_script);
	strvec_push(&words, "sh");
	strvec_push(&words, s->relay.known.buf);
	strvec_push(&words, rsh.buf);
	strvec_pushv(&words, rsync_argv);
	sq_quote_argv(&cmd, (const char *const *)words.v);

	/* ssh's command line names a link to the key, as the transfer's own do. */
	s->relay.target.key_given = s->target.key_given;
	ssh_base_argv(&s->relay.target, &base);
	/* ssh takes the first value of an option: the hop's own go first. */
	strvec_push(argv, base.v[0]);
	/* A feeding host down answers no sooner for waiting the far link's timeout. */
	strvec_pushf(argv, "-oConnectTimeout=%d", RELAY_CONNECT_TIMEOUT);
	strvec_pushf(argv, "-oServerAliveInterval=%d", RELAY_ALIVE_INTERVAL);
	strvec_pushf(argv, "-oServerAliveCountMax=%d", RELAY_ALIVE_COUNT);
	strvec_push(argv, "-oForwardAgent=yes");
	for (i = 1; i < base.nr; i++)
		strvec_push(argv, base.v[i]);
	strvec_push(argv, s->relay.address);
	strvec_push(argv, cmd.buf);
	strvec_clear(&words);
	strvec_clear(&base);
	strbuf_release(&rsh);
	strbuf_release(&cmd);
}

/*
 * Can the feeding host reach this one as a hop would (its ssh to here,
 * the agent's key, the pinned keys)? Asked once, before anything waits
 * for it: an rsync there that lists /dev/null here. Hosts that cannot
 * reach each other cost one try, not a wait for the feeding host's
 * data and then a connection timeout. 0, or -1 with why.
 */
static int
relay_probe(struct sup *s, char *why, size_t whylen)
{
	static const struct spawn_limits lim = {
		.timeout_ms = (CONNECT_TIMEOUT + RELAY_CONNECT_TIMEOUT + 10) * 1000,
		.stop = &got_stop_signal, .die_with_parent = true, .end_group = true,
	};
	struct strvec rsync = STRVEC_INIT, argv = STRVEC_INIT;
	struct strbuf spec = STRBUF_INIT, err = STRBUF_INIT;
	int status = -1, rc;

	rsync_remote_spec(&spec, s->relay.hop_host, "/dev/null");
	strvec_push(&rsync, "rsync");
	strvec_push(&rsync, "--list-only");
	strvec_push(&rsync, "--");
	strvec_push(&rsync, spec.buf);
	strvec_push(&argv, "env");
	strvec_pushf(&argv, "SSH_AUTH_SOCK=%s", s->cfg->relay_agent);
	strvec_push(&argv, "LC_ALL=C");
	relay_hop_argv(s, (const char *const *)rsync.v, &argv);
	rc = spawn_capture_limited((const char *const *)argv.v, NULL, &status, NULL, &err, &lim);
	if (rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		rc = 0;
	} else {
		struct strbuf first = STRBUF_INIT;
		const char *line = NULL, *at, *end;

		/* ssh's last word on it (the lines before rsync's), made safe to show. */
		for (at = err.buf; at < err.buf + err.len; at = end + 1) {
			end = memchr(at, '\n', (size_t)(err.buf + err.len - at));
			if (end == NULL)
				end = err.buf + err.len;
			if (end > at && strncmp(at, "rsync", 5) != 0)
				line = at;
		}
		if (line) {
			end = memchr(line, '\n', (size_t)(err.buf + err.len - line));
			end = end ? end : err.buf + err.len;
			while (end > line && end[-1] == '\r')
				end--;
			escape_untrusted(&first, line, (size_t)(end - line));
		}
		if (rc == SYNC_ERR_TIMEOUT)
			snprintf(why, whylen, "%s cannot reach %s as a relay (no answer)",
				 s->relay.address, s->shown_address);
		else
			snprintf(why, whylen, "%s cannot reach %s as a relay (exit %d: %.200s)",
				 s->relay.address, s->shown_address,
				 WIFEXITED(status) ? WEXITSTATUS(status) : -1, first.buf);
		strbuf_release(&first);
		rc = -1;
	}
	strvec_clear(&rsync);
	strvec_clear(&argv);
	strbuf_release(&spec);
	strbuf_release(&err);
	return rc;
}

bool
relay_can_hop(struct sup *s)
{
	char why[512];

	if (!s->relay.on)
		return false;
	if (!s->relay.pinned && (relay_pin(s, why, sizeof why) < 0 ||
				 relay_probe(s, why, sizeof why) < 0)) {
		/* A probe ended by a stop says nothing of the hosts. */
		if (got_stop_signal)
			s->relay.on = s->relay.gate = false;
		else
			relay_off(s, why);
	}
	return s->relay.on;
}

int
relay_start_job(struct sup *s, struct worker *w, const struct rsync_job *given)
{
	struct rsync_job job = *given;
	struct strvec argv = STRVEC_INIT, remote = STRVEC_INIT, rsync = STRVEC_INIT;
	char *agent = xasprintf("SSH_AUTH_SOCK=%s", s->cfg->relay_agent);
	const char *env[] = { "LC_ALL=C", agent, NULL };
	struct spawn sp;
	size_t i;
	int list, rc;

	/* The list on its stdin: a file of ours is not there. */
	if (relay_write_list(s, w, given) < 0) {
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
	job.rsync_path = "rsync";
	job.rsh = "";
	job.host = s->relay.hop_host;
	job.source_root = s->relay.root;
	job.files_from = NULL;
	/* The list leaves out what the rules would: a file of ours is not there. */
	job.exclude_from = NULL;
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
	/* Its -e is the hop's script's. */
	for (i = 0; i < remote.nr; i++) {
		if (strcmp(remote.v[i], "-e") == 0 && i + 1 < remote.nr &&
		    remote.v[i + 1][0] == '\0') {
			i++;
			continue;
		}
		strvec_push(&rsync, remote.v[i]);
	}
	relay_hop_argv(s, (const char *const *)rsync.v, &argv);

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
	strvec_clear(&rsync);
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
