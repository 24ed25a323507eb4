/* cmd: what every command shares: messages, stdout, the transfer flags. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cmd.h"
#include "options.h"
#include "proc.h"
#include "settings.h"
#include "store.h"
#include "supervisor.h"
#include "spawn.h"
#include "util.h"

void
cmd_error(const struct cmd_ctx *ctx, const char *fmt, ...)
{
	struct strbuf line = STRBUF_INIT, msg = STRBUF_INIT;
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	strbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	/* One write: lines of processes sharing a stderr never interleave. */
	strbuf_addf(&line, "%s: ", ctx->prog);
	/* One line, whatever bytes the paths quoted in it hold. */
	escape_line(&line, msg.buf, msg.len);
	strbuf_addch(&line, '\n');
	(void)!write(STDERR_FILENO, line.buf, line.len);
	strbuf_release(&line);
	strbuf_release(&msg);
}

int
cmd_finish_stdout(const struct cmd_ctx *ctx, int code)
{
	/* A full disk or a closed pipe must not pass for success. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cmd_error(ctx, "cannot write output: %s", strerror(errno));
		return EXIT_FAILED;
	}
	return code;
}

int
cmd_print_usage(const struct cmd_ctx *ctx, const struct cmd_entry *e)
{
	fputs(e->usage, stdout);
	return cmd_finish_stdout(ctx, EXIT_OK);
}

static struct settings settings;
static bool settings_loaded;
static char settings_problem[1024];

struct settings *
cmd_settings_with_problem(const struct cmd_ctx *ctx, const char **problem)
{
	(void)ctx;
	if (!settings_loaded) {
		if (settings_load(&settings, settings_problem, sizeof settings_problem) == 0)
			settings_problem[0] = '\0';
		settings_loaded = true;
	}
	*problem = settings_problem[0] ? settings_problem : NULL;
	return &settings;
}

struct settings *
cmd_settings(const struct cmd_ctx *ctx)
{
	static bool said;
	const char *problem;
	struct settings *st = cmd_settings_with_problem(ctx, &problem);

	if (problem && !ctx->legacy) {
		cmd_error(ctx, "%s", problem);
		exit(EXIT_USAGE);
	}
	if (problem && !said) {
		cmd_error(ctx, "ignoring a bad setting: %s", problem);
		said = true;
	}
	return st;
}

char *
cmd_state_dir(const struct cmd_ctx *ctx)
{
	return settings_state_dir(cmd_settings(ctx));
}

int
cmd_open_store_if_any(const struct cmd_ctx *ctx, struct store **st)
{
	char *dir = cmd_state_dir(ctx), *db = xasprintf("%s/scow-sync.db", dir);
	char err[512];
	struct stat sb;
	int rc = 0;

	*st = NULL;
	if (stat(db, &sb) < 0) {
		/* Missing is "nothing yet"; there and unreadable is an error (as for query). */
		if (errno != ENOENT && errno != ENOTDIR) {
			cmd_error(ctx, "cannot read state database '%s': %s", db, strerror(errno));
			rc = -1;
		}
	} else if (store_open(dir, st, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		rc = -1;
	}
	free(dir);
	free(db);
	return rc;
}

int
cmd_option_error(const struct cmd_ctx *ctx, int c, char **argv)
{
	if (c == ':')
		cmd_error(ctx, "option '%s' needs a value", argv[optind - 1]);
	else
		cmd_error(ctx, "unknown option '%s'", argv[optind - 1]);
	return EXIT_USAGE;
}

int
cmd_print_version(const struct cmd_ctx *ctx)
{
	printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
	return cmd_finish_stdout(ctx, EXIT_OK);
}

#define KEYS_CHECKED "keys-checked"   /* in the state directory */
#define KEYS_CHECKED_MAX 16
#define KEY_SETTLED 2.0                 /* seconds since a key's last change */

/*
 * What ssh-keygen's verdict on a key stands on, as one line: the key
 * file's version (device, inode, size, change time, mode, owner), who
 * asked (ssh refuses a key of ours that others can read), and the
 * ssh-keygen that gave it (device, inode, size, change time). Any write
 * or chmod of the key changes its change time; an upgrade replaces
 * ssh-keygen. *settled: the key's last change is old enough that a later
 * one cannot share its change time (a clock's granularity; git calls such
 * entries "racy").
 */
static int
key_identity(const char *key, const char *keygen, struct strbuf *line, bool *settled)
{
	struct stat k, g;
	struct timespec now;
	int fd;

	/*
	 * Opened, not only named: on NFS an open revalidates the attributes
	 * that a stat answers from its cache.
	 */
	if ((fd = open(key, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &k) < 0 || stat(keygen, &g) < 0 || clock_gettime(CLOCK_REALTIME, &now) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	strbuf_addf(line, "key %llu %llu %lld %lld.%09ld %o %u for %u ssh-keygen %llu %llu %lld "
		    "%lld.%09ld",
		    (unsigned long long)k.st_dev, (unsigned long long)k.st_ino,
		    (long long)k.st_size, (long long)k.st_ctim.tv_sec, k.st_ctim.tv_nsec,
		    (unsigned)k.st_mode, (unsigned)k.st_uid, (unsigned)getuid(),
		    (unsigned long long)g.st_dev, (unsigned long long)g.st_ino,
		    (long long)g.st_size, (long long)g.st_ctim.tv_sec, g.st_ctim.tv_nsec);
	*settled = S_ISREG(k.st_mode) &&
		   (double)(now.tv_sec - k.st_ctim.tv_sec) +
		   (double)(now.tv_nsec - k.st_ctim.tv_nsec) / 1e9 >= KEY_SETTLED;
	return 0;
}

/* The lines of state_dir's list of keys checked (empty when there is none). */
static void
keys_checked_read(const char *state_dir, struct strbuf *out)
{
	char *path = xasprintf("%s/" KEYS_CHECKED, state_dir);
	char buf[4096];
	struct stat sb;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	free(path);
	if (fd < 0)
		return;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return;
	}
	while (out->len < 64 * 1024 && ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)))
		if (n > 0)
			strbuf_add(out, buf, (size_t)n);
	close(fd);
}

static bool
has_line(const struct strbuf *lines, const char *line)
{
	size_t len = strlen(line);
	const char *p = lines->buf;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == lines->buf || p[-1] == '\n') && p[len] == '\n')
			return true;
		p += len;
	}
	return false;
}

/* Add line to the list, keeping the newest KEYS_CHECKED_MAX; best effort. */
static void
keys_checked_add(const char *state_dir, const struct strbuf *old, const char *line)
{
	char *path = xasprintf("%s/" KEYS_CHECKED, state_dir);
	char *tmp = xasprintf("%s.%ld", path, (long)getpid());
	struct strbuf out = STRBUF_INIT;
	const char *p = old->buf, *end = old->buf + old->len;
	size_t kept = 0, total = 0;
	int fd;

	for (const char *q = p; q < end; q++)
		total += *q == '\n';
	/* The oldest lines go first, to leave room for this one. */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			break;
		if (total - kept < KEYS_CHECKED_MAX)
			strbuf_add(&out, p, (size_t)(nl + 1 - p));
		kept++;
		p = nl + 1;
	}
	strbuf_addf(&out, "%s\n", line);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)   /* left by one killed */
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		bool ok = write_all(fd, out.buf, out.len) == 0;

		if (close(fd) < 0 || !ok || rename(tmp, path) < 0)
			unlink(tmp);
	}
	strbuf_release(&out);
	free(tmp);
	free(path);
}

/*
 * Refuse, before detaching, a key that would fail every connection later:
 * one that needs a passphrase (nobody is there to type it) or that OpenSSH
 * cannot read. ssh-keygen -y loads the key exactly as ssh will. A key it
 * accepted before, unchanged since, for the same ssh-keygen, is not asked
 * again (keys-checked in the state directory): that saves a process per
 * transfer.
 */
static int
check_key_loads(const char *key, const char *state_dir, char *err, size_t errlen)
{
	char *keygen = spawn_resolve("ssh-keygen");
	const char *argv[] = { keygen, "-y", "-P", "", "-f", key, NULL };
	struct strbuf out = STRBUF_INIT, esc = STRBUF_INIT, id = STRBUF_INIT, known = STRBUF_INIT;
	bool settled = false, have_id;
	int status = 0;

	if (keygen == NULL)
		return 0;   /* no ssh-keygen: the transfer will say what is wrong */
	have_id = key_identity(key, keygen, &id, &settled) == 0;
	if (have_id) {
		keys_checked_read(state_dir, &known);
		if (has_line(&known, id.buf)) {
			strbuf_release(&known);
			strbuf_release(&id);
			free(keygen);
			return 0;
		}
	}
	if (spawn_run(argv, &status, &out) < 0) {
		strbuf_release(&known);
		strbuf_release(&id);
		free(keygen);
		return 0;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		struct strbuf after = STRBUF_INIT;
		bool still = false;

		/* Noted only if what it read is what was identified before. */
		if (have_id && settled && key_identity(key, keygen, &after, &still) == 0 &&
		    strcmp(after.buf, id.buf) == 0)
			keys_checked_add(state_dir, &known, id.buf);
		strbuf_release(&after);
		free(keygen);
		strbuf_release(&known);
		strbuf_release(&id);
		strbuf_release(&out);
		return 0;
	}
	free(keygen);
	strbuf_release(&known);
	strbuf_release(&id);
	strbuf_trim_eol(&out);
	/* Its last line is the reason ("Load key ...: bad permissions"). */
	{
		const char *last = strrchr(out.buf, '\n');

		last = last ? last + 1 : out.buf;
		escape_untrusted(&esc, last, strlen(last));
	}
	if (strstr(out.buf, "passphrase") || strstr(out.buf, "incorrect"))
		snprintf(err, errlen, "cannot use key '%s': it is protected by a passphrase", key);
	else
		snprintf(err, errlen, "cannot use key '%s': %s", key,
			 esc.len ? esc.buf : "ssh-keygen cannot load it");
	strbuf_release(&out);
	strbuf_release(&esc);
	return -1;
}

int
cmd_parse_transfer(const struct cmd_ctx *ctx, const struct cmd_entry *e, int argc,
		   char **argv, struct transfer_request *req, bool *done)
{
	struct cmd_ctx *mctx = (struct cmd_ctx *)ctx;
	char err[1024];

	*done = true;
	switch (options_parse_transfer(argc, argv, req, &mctx->verbosity, err, sizeof err)) {
	case OPTIONS_HELP:
		return cmd_print_usage(ctx, e);
	case OPTIONS_VERSION:
		return cmd_print_version(ctx);
	case OPTIONS_ERROR:
		cmd_error(ctx, "%s", err);
		return EXIT_USAGE;
	default:
		break;
	}
	if (options_validate_transfer(req, !req->check, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		transfer_request_release(req);
		return EXIT_USAGE;
	}
	*done = false;
	return EXIT_OK;
}

/*
 * Record the request in state_dir (store_transfer_claim): a new transfer,
 * an earlier one to continue, or the same one already running. Sets *id
 * and *claim; returns an exit code.
 */
static int
record_transfer(const struct cmd_ctx *ctx, const struct transfer_request *req,
		const char *state_dir, int64_t *id, enum claim_result *claim)
{
	struct transfer t;
	struct store *st;
	char err[512];

	if (store_open(state_dir, &st, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		return EXIT_FAILED;
	}
	memset(&t, 0, sizeof t);
	t.address = (char *)req->address;
	t.user = (char *)req->user;
	t.port = req->port;
	t.source = req->source;
	t.destination = (char *)req->destination;
	t.key_path = req->key_path;
	t.max_depth = req->max_depth;
	/* Ours until a supervisor takes it over: a live owner from the start. */
	if (proc_self(&t.supervisor) < 0) {
		cmd_error(ctx, "cannot read our own process: %s", strerror(errno));
		store_close(st);
		return EXIT_FAILED;
	}
	if (store_transfer_claim(st, &t, proc_matches, claim) < 0) {
		cmd_error(ctx, "cannot record the transfer: %s", store_errmsg(st));
		store_close(st);
		return EXIT_FAILED;
	}
	*id = t.id;
	store_close(st);
	return EXIT_OK;
}

int
cmd_prepare_transfer(struct cmd_ctx *ctx, const struct cmd_entry *e, int argc, char **argv,
		     struct transfer_request *req, struct supervisor_config *cfg,
		     struct ssh_master *early, char **state_dir, bool *done)
{
	enum claim_result claim;
	struct settings *st;
	char err[512];
	int64_t id;
	int code;

	*state_dir = NULL;
	code = cmd_parse_transfer(ctx, e, argc, argv, req, done);
	if (*done)
		return code;
	*done = true;
	if (req->check)
		return cmd_check_login(ctx, req);
	/* Flags win over every other source of a setting. */
	st = cmd_settings(ctx);
	if ((req->workers_arg && settings_set_flag(st, SETTING_WORKERS, "--workers",
						   req->workers_arg, err, sizeof err) < 0) ||
	    (req->retries_arg && settings_set_flag(st, SETTING_RETRIES, "--retries",
						   req->retries_arg, err, sizeof err) < 0) ||
	    (req->bwlimit_arg && settings_set_flag(st, SETTING_BWLIMIT, "--bwlimit",
						   req->bwlimit_arg, err, sizeof err) < 0) ||
	    supervisor_config_from_settings(cfg, st, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		return EXIT_USAGE;
	}
	*state_dir = cmd_state_dir(ctx);
	if (check_key_loads(req->key_path, *state_dir, err, sizeof err) < 0) {
		cmd_error(ctx, "%s", err);
		return EXIT_USAGE;
	}
	/*
	 * A request that is refused never connects. Once it is accepted, the
	 * handshake (0.1 s and more) goes on while the transfer is recorded
	 * and the source walked. Where ssh cannot start here, the supervisor
	 * tries again, and records why it cannot.
	 */
	if (early)
		supervisor_connect_early(cfg, req->user, req->address, req->port, req->key_path,
					 early, err, sizeof err);
	cfg->early = early;
	if ((code = record_transfer(ctx, req, *state_dir, &id, &claim)) != EXIT_OK)
		return code;
	if (claim == CLAIM_RUNNING) {
		/* Never two writers into one destination: report the one running. */
		if (ctx->verbosity >= 0)
			cmd_error(ctx, "the same transfer is already running as transfer %lld",
				  (long long)id);
		if (!ctx->legacy)
			printf("%lld\n", (long long)id);
		return cmd_finish_stdout(ctx, EXIT_OK);
	}
	if (claim == CLAIM_RESUMED && ctx->verbosity > 0)
		cmd_error(ctx, "continuing transfer %lld", (long long)id);
	cfg->transfer_id = id;
	cfg->state_dir = *state_dir;
	*done = false;
	return EXIT_OK;
}
