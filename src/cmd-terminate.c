/* terminate: stop a running transfer. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cmd.h"
#include "options.h"
#include "output.h"
#include "proc.h"
#include "store.h"
#include "supervisor.h"
#include "util.h"

#define STOP_WAIT 20.0     /* seconds for a supervisor to stop its workers */
#define PART_WAIT 60.0     /* seconds for a supervisor to stop a part */
#define START_WAIT 30.0    /* seconds for a start to hand over to its supervisor */
#define SESSION_WAIT 5.0   /* seconds for what a dead supervisor left to end */
#define KILL_WAIT 5.0      /* seconds for a supervisor to end after SIGKILL */

static const char usage[] =
	"usage: scow-sync-terminate -a HOST -u USER -s SOURCE\n"
	"       scow-sync-terminate --id ID\n"
	"       scow-sync-terminate --all [-a HOST] [-u USER]\n"
	"\n"
	"Stop the running transfer to HOST as USER whose source is SOURCE, the\n"
	"transfer with the given id, or all running transfers. Returns when every\n"
	"process of them has ended.\n"
	"\n"
	"  -a, --address HOST      remote host the transfer goes to\n"
	"  -u, --user USER         remote user\n"
	"  -s, --source PATH       the transfer's source, as given to start\n"
	"      --id ID             the transfer with this id (scow-sync start prints it)\n"
	"      --all               every running transfer (of HOST and USER if given)\n"
	"  -v, --verbose           say more\n"
	"  -q, --quiet             say only errors\n"
	"  -h, --help              show this help\n"
	"      --version           show the version\n";

static const char *const options[] = {
	"-a", "--address", "-u", "--user", "-s", "--source", "--id", "--all", "-v", "--verbose",
	"-q", "--quiet", "-h", "--help", "--version", NULL,
};

struct match {
	int64_t id;
	enum transfer_state state;
	struct proc_id sup;
	char *rel;            /* for a part: its path relative to the source's parent */
};

struct terminate_ctx {
	struct store *st;
	struct match *m;
	size_t n, alloc;
	const char *source;   /* NULL: every transfer the filter lets through */
	bool whole;           /* a transfer's source is exactly source */
};

/*
 * Can terminate still act on t? Unfinished and interrupted transfers, and
 * a terminated one whose partial data on the far side could not be
 * removed yet.
 */
static bool
stoppable(struct store *st, const struct transfer *t)
{
	uint64_t left = 0;

	if (!transfer_state_finished(t->state) || t->state == TRANSFER_INTERRUPTED)
		return true;
	return t->state == TRANSFER_TERMINATED &&
	       store_leftovers_count(st, t->id, &left) == SYNC_OK && left > 0;
}

static int
collect(const struct transfer *t, void *ctx)
{
	struct terminate_ctx *tc = ctx;
	char *rel = NULL;

	if (!stoppable(tc->st, t))
		return 0;
	if (tc->source && strcmp(t->source, tc->source) != 0) {
		char *root;
		size_t skip;

		if (!path_is_within(tc->source, t->source))
			return 0;
		/* A part: name it as units are named, relative to the source's parent. */
		root = path_dirname(t->source);
		skip = strcmp(root, "/") == 0 ? 1 : strlen(root) + 1;
		rel = xstrdup(tc->source + skip);
		free(root);
	} else if (tc->source)
		tc->whole = true;
	ALLOC_GROW(tc->m, tc->n, tc->alloc);
	tc->m[tc->n].id = t->id;
	tc->m[tc->n].state = t->state;
	tc->m[tc->n].sup = t->supervisor;
	tc->m[tc->n].rel = rel;
	tc->n++;
	return 0;
}

/* The newest transfer of the user's that had SOURCE, or a source holding it, and has ended. */
struct ended_ctx {
	const char *source;
	int64_t id;
	enum transfer_state state;
	bool part;
};

static int
collect_ended(const struct transfer *t, void *ctx)
{
	struct ended_ctx *ec = ctx;
	bool whole = strcmp(t->source, ec->source) == 0;
	struct stat sb;

	if (!transfer_state_finished(t->state))
		return 0;
	/* A part the portal showed in flight exists; a name that never did is no part. */
	if (!whole && !(path_is_within(ec->source, t->source) && lstat(ec->source, &sb) == 0))
		return 0;
	if (t->id > ec->id) {
		ec->id = t->id;
		ec->state = t->state;
		ec->part = !whole;
	}
	return 0;
}

/*
 * The exit code for a stop that found what it names already ended or
 * arrived: a race the portal's user cannot see (a cancel clicked as the
 * file arrives), so success under the portal's name, with a line saying
 * what was found; "nothing matched" for scow-sync terminate.
 */
static int
ended_first(const struct cmd_ctx *ctx)
{
	return ctx->legacy ? EXIT_OK : EXIT_NOMATCH;
}

/*
 * Seconds from SIGTERM to SIGKILL: STOP_WAIT, or less for the tests
 * (SCOW_SYNC_TEST_STOP_WAIT), which cannot wait that long for a process
 * that never stops.
 */
static double
stop_wait_seconds(void)
{
	const char *env = getenv("SCOW_SYNC_TEST_STOP_WAIT");
	unsigned long long v;

	if (env && parse_ullong(env, 0, 3600, &v) == 0)
		return (double)v;
	return STOP_WAIT;
}

/*
 * Refuse a transfer that runs on another node sharing the state directory:
 * this node can neither signal its supervisor nor tell whether it lives,
 * and its partial data is being written. True (and a line saying where to
 * stop it) when it is such a one.
 */
static bool
refuse_elsewhere(const struct cmd_ctx *ctx, int64_t id, enum transfer_state state,
		 const struct proc_id *sup)
{
	if (transfer_state_finished(state) || !proc_elsewhere(sup))
		return false;
	cmd_error(ctx, "transfer %lld runs on node %s (process %ld there); stop it there",
		  (long long)id, sup->node.host[0] ? sup->node.host : "(unnamed)",
		  (long)sup->pid);
	return true;
}

/* Wait until the process is gone; false on timeout. */
static bool
wait_gone(const struct proc_id *p, double seconds)
{
	double deadline = now_monotonic() + seconds;

	while (proc_matches(p)) {
		if (now_monotonic() > deadline)
			return false;
		poll(NULL, 0, 50);
	}
	return true;
}

/*
 * End what a dead detached supervisor left running in its session (its
 * workers end on their own when it dies, but not at once): SIGTERM, then
 * SIGKILL, until none is left. With mark, only the processes that name
 * it (see proc_signal_session_marked).
 */
static void
end_session(const struct transfer *t, const char *mark)
{
	double deadline = now_monotonic() + SESSION_WAIT;
	bool killed = false;
	size_t n = 0;

	if (t->session <= 0)
		return;
	if (proc_signal_session_marked(t->session, &t->supervisor, mark, SIGTERM, &n) < 0 ||
	    n == 0)
		return;
	while (proc_signal_session_marked(t->session, &t->supervisor, mark, 0, &n) == 0 &&
	       n > 0) {
		/* What outlives SIGKILL is stuck in the kernel: not waited for forever. */
		if (now_monotonic() > deadline && killed)
			return;
		if (now_monotonic() > deadline) {
			proc_signal_session_marked(t->session, &t->supervisor, mark, SIGKILL, &n);
			deadline = now_monotonic() + KILL_WAIT;
			killed = true;
		}
		poll(NULL, 0, 50);
	}
}

/*
 * End what a supervisor nobody saw alive left (an ssh whose wrapper or
 * parent died with it, or that ignored its end): only the processes of
 * its session that name its private directory, whose name no later
 * transfer shares, since the session's number may be a later one's.
 */
static void
end_unseen_session(struct store *st, const struct transfer *t)
{
	struct strbuf mark = STRBUF_INIT;
	char *dir = NULL;

	if (store_transfer_workdir(st, t->id, &dir) < 0 || dir == NULL || *dir != '/') {
		free(dir);
		return;
	}
	/* The directory itself, not a longer name that begins with it. */
	strbuf_addf(&mark, "%s/", dir);
	end_session(t, mark.buf);
	strbuf_release(&mark);
	free(dir);
}

/*
 * Remove the partial data a stopped transfer still has recorded on the far
 * side (its supervisor could not: the link was down, it was killed). An
 * exit code: EXIT_FAILED, with a line saying so, when some is left (the
 * caller that has just stopped the transfer still answers 0: the portal's
 * contract is "0 when something was stopped", and stderr says the rest).
 */
static int
clean_after(const struct cmd_ctx *ctx, struct store *st, const struct transfer *t)
{
	struct supervisor_config cfg;
	struct transfer now;
	uint64_t left = 0;
	char err[512];
	bool ours;

	/* A resume may have taken it since: then its files are the new run's. */
	if (store_transfer_get(st, t->id, &now) < 0)
		return EXIT_FAILED;
	ours = now.state == TRANSFER_TERMINATED;
	transfer_release(&now);
	if (!ours)
		return EXIT_OK;
	supervisor_remove_stale(st, t->id);
	if (store_leftovers_count(st, t->id, &left) < 0 || left == 0)
		return EXIT_OK;
	if (supervisor_config_from_settings(&cfg, cmd_settings(ctx), err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		return EXIT_FAILED;
	}
	if (supervisor_clean_remote(st, t, &cfg) < 0 ||
	    (store_leftovers_count(st, t->id, &left) == 0 && left > 0)) {
		cmd_error(ctx, "transfer %lld is stopped, but %llu partial files on %s could not "
			  "be removed (see the log); terminate --id %lld tries again",
			  (long long)t->id, (unsigned long long)left, t->address, (long long)t->id);
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

/*
 * Stop one whole transfer for good; an exit code. The request is recorded
 * first, so that a supervisor still starting honours it. Then, looking
 * again each time: a live supervisor is signalled and waited for; a
 * transfer whose owner is gone is finished here, but only while it is
 * still recorded under that dead process (a supervisor that took it over
 * meanwhile is signalled instead), and its partial data removed.
 */
static int
stop_transfer(const struct cmd_ctx *ctx, struct store *st, int64_t id)
{
	double start_deadline = now_monotonic() + START_WAIT, signalled_at = 0;
	double stop_wait = stop_wait_seconds();
	struct proc_id signalled = { 0 };
	bool requested = false;
	int code = EXIT_FAILED;

	for (;;) {
		struct transfer t;
		int rc;

		if (store_transfer_get(st, id, &t) < 0) {
			cmd_error(ctx, "%s", store_errmsg(st));
			return EXIT_FAILED;
		}
		if (refuse_elsewhere(ctx, id, t.state, &t.supervisor)) {
			transfer_release(&t);
			return EXIT_FAILED;
		}
		if (transfer_state_finished(t.state) && t.state != TRANSFER_INTERRUPTED) {
			if (t.state == TRANSFER_TERMINATED) {
				/* Only a session we saw alive a moment ago is surely still its own. */
				if (signalled.pid)
					end_session(&t, NULL);
				code = clean_after(ctx, st, &t);
				if (code == EXIT_FAILED && requested)
					code = EXIT_OK;   /* stopped by us; stderr said what is left */
				if (code == EXIT_OK && ctx->verbosity > 0)
					fprintf(stderr, "%s: stopped transfer %lld\n", ctx->prog,
						(long long)id);
			} else {
				cmd_error(ctx, "transfer %lld ended (%s) before it could be stopped",
					  (long long)id, transfer_state_name(t.state));
				code = ended_first(ctx);
			}
			transfer_release(&t);
			return code;
		}
		if (!requested) {
			/* Say that this stop is for good (not a reboot's): no resume. */
			if (store_transfer_request_stop(st, id) < 0) {
				cmd_error(ctx, "%s", store_errmsg(st));
				transfer_release(&t);
				return EXIT_FAILED;
			}
			requested = true;
			transfer_release(&t);
			continue;   /* look again: it may have moved on meanwhile */
		}
		if (proc_matches(&t.supervisor)) {
			if (t.state == TRANSFER_RUNNING && (signalled.pid != t.supervisor.pid ||
							   signalled.start != t.supervisor.start)) {
				/*
				 * A live process we may not signal (a record naming
				 * another user's) never stops: say so, do not wait.
				 */
				if (proc_signal(&t.supervisor, SIGTERM) < 0 &&
				    proc_matches(&t.supervisor)) {
					cmd_error(ctx, "transfer %lld: its supervisor (pid %d) is "
						  "not a process of ours; nothing was stopped",
						  (long long)id, (int)t.supervisor.pid);
					transfer_release(&t);
					return EXIT_FAILED;
				}
				signalled = t.supervisor;
				signalled_at = now_monotonic();
			} else if (t.state == TRANSFER_RUNNING &&
				   now_monotonic() - signalled_at > stop_wait) {
				cmd_error(ctx, "transfer %lld did not stop in %.0f s; killing it",
					  (long long)id, stop_wait);
				proc_signal(&t.supervisor, SIGKILL);
				/*
				 * One that outlives SIGKILL is stuck in the kernel (a
				 * hung file system): waiting longer helps nobody.
				 */
				if (!wait_gone(&t.supervisor, KILL_WAIT)) {
					cmd_error(ctx, "transfer %lld: its supervisor (pid %d) did "
						  "not end %.0f s after SIGKILL; giving up",
						  (long long)id, (int)t.supervisor.pid, KILL_WAIT);
					transfer_release(&t);
					return EXIT_FAILED;
				}
			} else if (t.state == TRANSFER_QUEUED && now_monotonic() > start_deadline) {
				/* Its start is stuck; the request stands, and the supervisor obeys it. */
				cmd_error(ctx, "transfer %lld is still starting after %.0f s; it will "
					  "stop as soon as it runs", (long long)id, START_WAIT);
				transfer_release(&t);
				return EXIT_FAILED;
			}
			transfer_release(&t);
			poll(NULL, 0, 50);
			continue;
		}
		/* Its owner is gone: finish it here, unless someone took it over. */
		if (signalled.pid)
			end_session(&t, NULL);
		else
			end_unseen_session(st, &t);
		rc = store_transfer_finish_orphan(st, id, &t.supervisor, TRANSFER_TERMINATED,
						  signalled.pid ? "terminated on request" :
						  "terminated on request after its supervisor had ended");
		if (rc == SYNC_ERR_NOT_FOUND) {
			transfer_release(&t);
			continue;
		}
		if (rc < 0) {
			cmd_error(ctx, "%s", store_errmsg(st));
			transfer_release(&t);
			return EXIT_FAILED;
		}
		/* The files its units were moving when it died are among the leftovers. */
		store_units_reset_running(st, id);
		code = clean_after(ctx, st, &t);
		if (code == EXIT_FAILED)
			code = EXIT_OK;   /* stopped by us; stderr said what is left */
		if (code == EXIT_OK && ctx->verbosity > 0)
			fprintf(stderr, "%s: stopped transfer %lld\n", ctx->prog, (long long)id);
		transfer_release(&t);
		return code;
	}
}

/* The words and exit code for the outcome of stopping a part. */
static int
part_outcome(const struct cmd_ctx *ctx, enum exclusion_state state, int64_t id,
	     const char *shown)
{
	switch (state) {
	case EXCLUSION_APPLIED:
		if (ctx->verbosity > 0)
			fprintf(stderr, "%s: stopped '%s' of transfer %lld\n", ctx->prog, shown,
				(long long)id);
		return EXIT_OK;
	case EXCLUSION_DONE:
		cmd_error(ctx, "'%s' has already arrived", shown);
		return ended_first(ctx);
	case EXCLUSION_ALREADY:
		cmd_error(ctx, "'%s' of transfer %lld was stopped before", shown, (long long)id);
		return ended_first(ctx);
	case EXCLUSION_UNCLEAN:
		cmd_error(ctx, "'%s' of transfer %lld is stopped, but its partial data on the far "
			  "side could not be removed (see the log); terminating it again tries "
			  "again", shown, (long long)id);
		return EXIT_OK;   /* it is stopped: the portal's contract */
	case EXCLUSION_NOMATCH:
		cmd_error(ctx, "'%s' is not part of transfer %lld", shown, (long long)id);
		return EXIT_NOMATCH;
	default:
		return EXIT_FAILED;
	}
}

/*
 * Stop one part of a transfer; an exit code. A live supervisor does the
 * work and records the outcome; for a transfer without one, it is done
 * here, and the part stays out when the transfer is resumed. path is the
 * part as an absolute path, shown as the user gave it.
 */
static int
stop_part(const struct cmd_ctx *ctx, struct store *st, const struct match *m,
	  const char *path, const char *shown)
{
	struct stat sb;
	double deadline = now_monotonic() + PART_WAIT;
	enum exclusion_state state = EXCLUSION_PENDING;
	bool live, ended = false;
	int64_t ex;

	if (refuse_elsewhere(ctx, m->id, m->state, &m->sup))
		return EXIT_FAILED;
	if (store_exclusion_add(st, m->id, m->rel, &ex) < 0) {
		cmd_error(ctx, "%s", store_errmsg(st));
		return EXIT_FAILED;
	}
	/* A supervisor still starting acts on it once its walk is done. */
	live = (m->state == TRANSFER_RUNNING || m->state == TRANSFER_QUEUED) &&
	       proc_matches(&m->sup);
	if (live && m->state == TRANSFER_RUNNING && proc_signal(&m->sup, SIGUSR1) < 0)
		live = false;
	if (!live) {
		struct supervisor_config cfg;
		struct transfer t;
		char err[512];
		int rc;

		if (m->state == TRANSFER_RUNNING)
			store_transfer_mark_interrupted(st, m->id, &m->sup,
							"the supervisor process ended unexpectedly");
		if (store_transfer_get(st, m->id, &t) < 0) {
			cmd_error(ctx, "%s", store_errmsg(st));
			return EXIT_FAILED;
		}
		if (supervisor_config_from_settings(&cfg, cmd_settings(ctx), err, sizeof err) < 0) {
			cmd_error(ctx, "%s", err);
			transfer_release(&t);
			return EXIT_FAILED;
		}
		rc = supervisor_stop_part(st, &t, &cfg, ex, m->rel, &state);
		transfer_release(&t);
		if (state == EXCLUSION_PENDING) {
			cmd_error(ctx, "%s", store_errmsg(st));
			return EXIT_FAILED;
		}
		if (rc < 0 && state == EXCLUSION_APPLIED) {
			cmd_error(ctx, "'%s' is stopped, but its partial data on the far side could "
				  "not be removed (see the log)", shown);
			return EXIT_OK;
		}
		if (state == EXCLUSION_APPLIED && ctx->verbosity >= 0)
			cmd_error(ctx, "transfer %lld is not running; '%s' is left out when it is "
				  "resumed", (long long)m->id, shown);
		return state == EXCLUSION_APPLIED ? EXIT_OK : part_outcome(ctx, state, m->id, shown);
	}
	while (store_exclusion_state(st, ex, &state) == SYNC_OK && state == EXCLUSION_PENDING) {
		struct transfer t;

		if (store_transfer_get(st, m->id, &t) == SYNC_OK) {
			ended = transfer_state_finished(t.state);
			transfer_release(&t);
		}
		if (ended || now_monotonic() > deadline)
			break;
		poll(NULL, 0, 50);
	}
	if (state != EXCLUSION_PENDING)
		return part_outcome(ctx, state, m->id, shown);
	if (ended) {
		cmd_error(ctx, "transfer %lld ended before '%s' could be stopped",
			  (long long)m->id, shown);
		/* What never existed was not part of it either. */
		return lstat(path, &sb) == 0 ? ended_first(ctx) : EXIT_NOMATCH;
	}
	cmd_error(ctx, "transfer %lld did not stop '%s' in %.0f s", (long long)m->id,
		  shown, PART_WAIT);
	return EXIT_FAILED;
}

/*
 * Nothing running matched source: when a transfer of the user's had it (or
 * holds it as a part) and has ended, say so and set *code (ended_first);
 * false when none ever had it.
 */
static bool
said_ended(const struct cmd_ctx *ctx, struct store *st, const struct transfer_filter *running,
	   const char *source, const char *shown, int *code)
{
	struct transfer_filter f = *running;
	struct ended_ctx ec = { source, 0, TRANSFER_DONE, false };

	f.unfinished_only = false;
	if (store_transfer_foreach(st, &f, collect_ended, &ec) < 0 || ec.id == 0)
		return false;
	if (ec.part && ec.state == TRANSFER_DONE)
		cmd_error(ctx, "'%s' has already arrived (transfer %lld is done)", shown,
			  (long long)ec.id);
	else
		cmd_error(ctx, "transfer %lld of '%s' has already ended (%s)", (long long)ec.id,
			  shown, transfer_state_name(ec.state));
	*code = ended_first(ctx);
	return true;
}

static int
cmd_terminate_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "address", required_argument, NULL, 'a' },
		{ "user", required_argument, NULL, 'u' },
		{ "source", required_argument, NULL, 's' },
		{ "id", required_argument, NULL, 'I' },
		{ "all", no_argument, NULL, 'A' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct transfer_filter f;
	struct terminate_ctx tc;
	struct store *st = NULL;
	const char *address = NULL, *user = NULL, *source_arg = NULL, *id_arg = NULL;
	unsigned long long id = 0;
	bool all = false;
	char *source = NULL, *dir = NULL;
	char err[512];
	size_t i, stopped = 0, failed = 0, acted = 0;
	int c, code = EXIT_FAILED;

	memset(&tc, 0, sizeof tc);
	opterr = 0;
	optind = 0;   /* afresh, whatever parsed before (see options.c) */
	while ((c = getopt_long(argc, argv, "+:a:u:s:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': address = optarg; break;
		case 'u': user = optarg; break;
		case 's': source_arg = optarg; break;
		case 'I': id_arg = optarg; break;
		case 'A': all = true; break;
		case 'v': ctx->verbosity++; break;
		case 'q': ctx->verbosity--; break;
		case 'h': return cmd_print_usage(ctx, &cmd_terminate_entry);
		case 'V': return cmd_print_version(ctx);
		default:
			return cmd_option_error(ctx, c, argv);
		}
	}
	if (optind < argc) {
		cmd_error(ctx, "unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if ((source_arg != NULL) + (id_arg != NULL) + all != 1) {
		cmd_error(ctx, "give one of -s/--source, --id or --all");
		return EXIT_USAGE;
	}
	if (id_arg && parse_ullong(id_arg, 1, INT64_MAX, &id) < 0) {
		cmd_error(ctx, "invalid transfer id '%s'", id_arg);
		return EXIT_USAGE;
	}
	if ((address && validate_host(address, err, sizeof err) < 0) ||
	    (user && validate_user(user, err, sizeof err) < 0)) {
		cmd_error(ctx, "%s", err);
		return EXIT_USAGE;
	}
	/* Spelled as start spells it; a path that is gone as it is written. */
	if (source_arg && path_source(source_arg, &source) < 0 &&
	    path_absolute(source_arg, &source) < 0) {
		cmd_error(ctx, "invalid source '%s': %s", source_arg, strerror(errno));
		return EXIT_USAGE;
	}
	/*
	 * The portal names a part by the filePath query showed, where bytes
	 * that are not UTF-8 are U+FFFD: find the file it stands for.
	 */
	if (source && strstr(source, "\xef\xbf\xbd") && access(source, F_OK) < 0) {
		char *real = NULL;
		int rc = path_from_shown(source, &real);

		if (rc == SYNC_ERR_AMBIGUOUS) {
			cmd_error(ctx, "'%s' stands for more than one file (U+FFFD stands for any "
				  "byte that is not UTF-8): give the path as it is", source_arg);
			free(source);
			return EXIT_USAGE;
		}
		if (rc == SYNC_OK) {
			free(source);
			source = real;
		}
	}

	dir = cmd_state_dir(ctx);
	if (store_open(dir, &st, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		goto out;
	}
	tc.st = st;
	if (id_arg) {
		struct transfer t;
		int rc = store_transfer_get(st, (int64_t)id, &t);

		if (rc == SYNC_ERR_NOT_FOUND) {
			cmd_error(ctx, "no transfer %llu", id);
			code = EXIT_NOMATCH;
			goto out;
		}
		if (rc < 0) {
			cmd_error(ctx, "%s", store_errmsg(st));
			goto out;
		}
		if (!stoppable(st, &t)) {
			cmd_error(ctx, "transfer %llu has already ended (%s)", id,
				  transfer_state_name(t.state));
			transfer_release(&t);
			code = EXIT_NOMATCH;
			goto out;
		}
		collect(&t, &tc);
		transfer_release(&t);
	} else {
		memset(&f, 0, sizeof f);
		f.address = address;
		f.user = user;
		/* With -s, an interrupted transfer of SOURCE can be stopped for good too. */
		f.unfinished_only = source == NULL;
		tc.source = source;
		if (store_transfer_foreach(st, &f, collect, &tc) < 0) {
			cmd_error(ctx, "%s", store_errmsg(st));
			goto out;
		}
	}
	if (!tc.whole && tc.n > 0 && tc.m[0].rel) {
		/* A part: of the newest running transfer that holds it, else the newest. */
		size_t pick = 0;

		for (i = 0; i < tc.n; i++) {
			if (tc.m[i].rel && (tc.m[i].state == TRANSFER_RUNNING ||
					    tc.m[i].state == TRANSFER_QUEUED) &&
			    proc_matches(&tc.m[i].sup)) {
				pick = i;
				break;
			}
		}
		code = stop_part(ctx, st, &tc.m[pick], source, source_arg);
		goto out;
	}
	/* All at once: every stop is asked for before any is waited for. */
	for (i = 0; tc.n > 1 && i < tc.n; i++) {
		/* Another node's: stop_transfer says where it runs. */
		if (tc.m[i].rel != NULL || (!transfer_state_finished(tc.m[i].state) &&
					    proc_elsewhere(&tc.m[i].sup)) ||
		    store_transfer_request_stop(st, tc.m[i].id) < 0)
			continue;
		if (tc.m[i].state == TRANSFER_RUNNING)
			proc_signal(&tc.m[i].sup, SIGTERM);
	}
	for (i = 0; i < tc.n; i++) {
		if (tc.m[i].rel != NULL)
			continue;
		acted++;
		switch (stop_transfer(ctx, st, tc.m[i].id)) {
		case EXIT_OK: stopped++; break;
		case EXIT_NOMATCH: break;
		default: failed++; break;
		}
	}
	if (failed > 0)
		code = EXIT_FAILED;
	else if (stopped > 0)
		code = EXIT_OK;
	else if (acted > 0)
		code = EXIT_NOMATCH;   /* each said why */
	else {
		code = EXIT_NOMATCH;
		if (id_arg)
			cmd_error(ctx, "transfer %llu is not running", id);
		else if (all)
			cmd_error(ctx, "no running transfers");
		else if (!said_ended(ctx, st, &f, source, source_arg, &code))
			cmd_error(ctx, "no running transfer of '%s'%s%s", source_arg,
				  address ? " to " : "", address ? address : "");
	}
out:
	store_close(st);
	for (i = 0; i < tc.n; i++)
		free(tc.m[i].rel);
	free(tc.m);
	free(source);
	free(dir);
	return code;
}

const struct cmd_entry cmd_terminate_entry = {
	"terminate", "stop a running transfer", usage, options, cmd_terminate_exec,
};
