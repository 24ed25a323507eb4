/* options: the transfer flags of start and run (see options.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd-options.h"
#include "filter.h"
#include "notify.h"
#include "options.h"
#include "rsync.h"
#include "s3-target.h"
#include "util.h"

/* The flags a transfer is asked with, shared by start, run and watch. */
#define TRANSFER_FLAGS \
	{ 'a', "address", "HOST", "remote host, or several: HOST[:PORT],HOST[:PORT]..." }, \
	{ OPT_HOSTS_FROM, "hosts-from", "FILE", "the remote hosts, one a line" }, \
	{ OPT_RELAY, "relay", NULL, "to several hosts: the source sends once, the hosts\n" \
	  "forward to each other (the default from 3 hosts)" }, \
	{ OPT_NO_RELAY, "no-relay", NULL, "to several hosts: the source sends to each" }, \
	{ OPT_NODES, "nodes", "N", "spread the transfer over N nodes through Slurm\n" \
	  "(srun; the source on a file system they share)" }, \
	{ OPT_PARTITION, "partition", "NAME", "with --nodes: the Slurm partition" }, \
	{ OPT_ACCOUNT, "account", "NAME", "with --nodes: the Slurm account" }, \
	{ OPT_TIME, "time", "LIMIT", "with --nodes: the Slurm job's time limit" }, \
	{ OPT_SLURM_WAIT, "slurm-wait", "SECONDS", "with --nodes: wait this long for the nodes,\n" \
	  "then this node sends alone (default 60)" }, \
	{ 'u', "user", "USER", "remote user (default: ssh's, from ~/.ssh/config,\n" \
	  "else your user name)" }, \
	{ 's', "source", "PATH", "local file or directory (or s3://BUCKET/PREFIX,\n" \
	  "cos://BUCKET-APPID/PREFIX, with a local -d)" }, \
	{ 'd', "destination", "DIR", "remote directory (created if missing)" }, \
	{ 'm', "max-depth", "N", "move entries above depth N separately (default 2)" }, \
	{ 'p', "port", "N", "ssh port (default: ssh's, from ~/.ssh/config, else 22)" }, \
	{ 'k', "sshkey-path", "KEY", "private key (default ~/scow/.scow-sync-ssh/id_rsa\n" \
	  "where it exists, else ssh's own keys and agent)" }, \
	CMD_OPTIONS_SETTINGS, \
	{ OPT_ENDPOINT, "endpoint", "URL", "an object store's endpoint, for -d\n" \
	  "s3://BUCKET/PREFIX or cos://BUCKET-APPID/PREFIX (default:\nAWS's or COS's)" }, \
	{ OPT_REGION, "region", "REGION", "the object store's region (default us-east-1)" }, \
	{ OPT_DELETE, "delete", NULL, "mirror: remove from DEST/NAME what the source lacks,\n" \
	  "once everything has arrived" }, \
	{ OPT_MAX_DELETE, "max-delete", "N", "fail before deleting when more than N would go" }, \
	{ OPT_DELETE_ALL_OK, "delete-all-ok", NULL, "delete even when the source is empty" }, \
	{ OPT_EXCLUDE, "exclude", "PATTERN", "leave out what matches (rsync's rules; a leading\n" \
	  "/ is the source itself)" }, \
	{ OPT_INCLUDE, "include", "PATTERN", "keep what matches, before later excludes" }, \
	{ OPT_EXCLUDE_FROM, "exclude-from", "FILE", "the rules in FILE, one a line" }, \
	{ OPT_DRY_RUN, "dry-run", NULL, "change nothing: print what would be sent and deleted" }, \
	{ OPT_JSON, "json", NULL, "with --dry-run: the changes as a JSON array" }, \
	{ OPT_VERIFY, "verify", NULL, "compare with the far side by content (checksums),\n" \
	  "and send what differs" }, \
	{ OPT_CHECKSUM, "checksum", NULL, "the same as --verify (rsync's name)" }, \
	{ OPT_NOTIFY, "notify", "URL", "POST the transfer's record at each change of state\n" \
	  "(signed with the notify_secret setting)" }, \
	{ OPT_NOTIFY_CMD, "notify-cmd", "PROGRAM", "run PROGRAM with the record on its stdin" }, \
	{ 'H', "hard-links", NULL, "keep hard links: names of one file stay one file" }, \
	{ 'A', "acls", NULL, "keep ACLs (and so the permissions)" }, \
	{ 'X', "xattrs", NULL, "keep extended attributes" }, \
	{ 'S', "sparse", NULL, "keep holes in sparse files" }, \
	{ OPT_NUMERIC_IDS, "numeric-ids", NULL, "owners and groups by number, not by name" }, \
	{ OPT_CHMOD, "chmod", "RULES", "change modes as rsync --chmod does (D644,Fgo-w)" }, \
	{ OPT_CHOWN, "chown", "OWNER", "USER, USER:GROUP or :GROUP on the far side\n" \
	  "(rsync --chown; owners need root there)" }, \
	{ 'c', "check", NULL, "print true or false: does key login work?" }, \
	CMD_OPTIONS_COMMON

const struct cmd_option transfer_flags[] = {
	TRANSFER_FLAGS,
	/* A watch trusts its record after its first cycle: this is for a run's. */
	{ OPT_TRUST_RECORD, "trust-record", NULL, "compare with the record the last run kept,\n"
	  "not with the far side" },
	CMD_OPTIONS_END,
};

const struct cmd_option watch_flags[] = {
	TRANSFER_FLAGS,
	{ OPT_INTERVAL, "interval", "SEC", "compare the whole tree this often (default 600)" },
	{ OPT_DETACH, "detach", NULL, "run in the background, as start does" },
	{ OPT_SAVE, "save", "NAME", "save these options as watch NAME (for\n"
	  "scow-sync-watch@NAME.service) and exit" },
	{ OPT_SAVED, "saved", "NAME", "run the watch saved as NAME" },
	CMD_OPTIONS_END,
};

/*
 * Write a message into err and return -1. The offending values in it are
 * as given, any bytes: the message is escaped as a whole (control bytes,
 * line breaks, invalid UTF-8), so that it stays one line a terminal shows
 * as it is.
 */
static int
reject(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
reject(char *err, size_t errlen, const char *fmt, ...)
{
	struct strbuf raw = STRBUF_INIT, esc = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&raw, fmt, ap);
	va_end(ap);
	escape_untrusted(&esc, raw.buf, raw.len);
	snprintf(err, errlen, "%s", esc.buf);
	strbuf_release(&raw);
	strbuf_release(&esc);
	return -1;
}

static int
parse_flags(int argc, char **argv, struct transfer_request *req, bool watch, int *verbosity,
	    char *err, size_t errlen)
{
	struct cmd_getopt g;
	int c;

	memset(req, 0, sizeof *req);
	strvec_init(&req->filter_args);
	strbuf_init(&req->filters, 0);
	req->max_delete = -1;
	req->relay = -1;
	req->nodes = req->slurm_wait = -1;
	req->watch = watch;
	/*
	 * '+': stop at the first operand; ':': report a missing argument.
	 * optind 0, not 1, starts getopt afresh (glibc, musl): with 1 it goes
	 * on from where an earlier parse stopped, inside arguments that may
	 * be gone.
	 */
	optind = 0;
	opterr = 0;
	cmd_getopt_init(&g, "+:", watch ? watch_flags : transfer_flags);
	while ((c = getopt_long(argc, argv, g.shortopts, g.longopts, NULL)) != -1) {
		switch (c) {
		case 'a': req->address = optarg; break;
		case 'u': req->user = optarg; break;
		case 's': req->source_arg = optarg; break;
		case 'd': req->destination = optarg; break;
		case 'm': req->max_depth_arg = optarg; break;
		case 'p': req->port_arg = optarg; break;
		case 'k': req->key_arg = optarg; break;
		case 'c': req->check = true; break;
		case 'v': (*verbosity)++; break;
		case 'q': (*verbosity)--; break;
		case 'h': return OPTIONS_HELP;
		case CMD_OPT_VERSION: return OPTIONS_VERSION;
		case CMD_OPT_WORKERS: req->workers_arg = optarg; break;
		case CMD_OPT_RETRIES: req->retries_arg = optarg; break;
		case CMD_OPT_BWLIMIT: req->bwlimit_arg = optarg; break;
		case OPT_DELETE: req->mirror = true; break;
		case OPT_MAX_DELETE: req->max_delete_arg = optarg; break;
		case OPT_DELETE_ALL_OK: req->delete_all_ok = true; break;
		case OPT_DRY_RUN: req->dry_run = true; break;
		case OPT_JSON: req->json = true; break;
		case OPT_INTERVAL: req->interval_arg = optarg; break;
		case OPT_NOTIFY: req->notify_url = optarg; break;
		case OPT_NOTIFY_CMD: req->notify_cmd = optarg; break;
		case OPT_VERIFY: req->verify = true; break;
		case OPT_CHECKSUM: req->verify = true; break;
		case OPT_TRUST_RECORD: req->trust_record = true; break;
		case 'H': req->preserve |= RSYNC_HARD_LINKS; break;
		case 'A': req->preserve |= RSYNC_ACLS; break;
		case 'X': req->preserve |= RSYNC_XATTRS; break;
		case 'S': req->preserve |= RSYNC_SPARSE; break;
		case OPT_NUMERIC_IDS: req->preserve |= RSYNC_NUMERIC_IDS; break;
		case OPT_CHMOD: req->chmod_arg = optarg; break;
		case OPT_CHOWN: req->chown_arg = optarg; break;
		case OPT_ENDPOINT: req->endpoint_arg = optarg; break;
		case OPT_REGION: req->region_arg = optarg; break;
		case OPT_HOSTS_FROM: req->hosts_from = optarg; break;
		case OPT_RELAY: req->relay = 1; break;
		case OPT_NO_RELAY: req->relay = 0; break;
		case OPT_NODES: req->nodes_arg = optarg; break;
		case OPT_PARTITION: req->partition = optarg; break;
		case OPT_ACCOUNT: req->account = optarg; break;
		case OPT_TIME: req->time_limit = optarg; break;
		case OPT_SLURM_WAIT: req->slurm_wait_arg = optarg; break;
		case OPT_DETACH: req->detach = true; break;
		case OPT_SAVE: req->save_name = optarg; break;
		case OPT_SAVED:
			return reject(err, errlen, "--saved NAME goes alone (with -v or -q)");
		case OPT_EXCLUDE: strvec_pushf(&req->filter_args, "-%s", optarg); break;
		case OPT_INCLUDE: strvec_pushf(&req->filter_args, "+%s", optarg); break;
		case OPT_EXCLUDE_FROM: strvec_pushf(&req->filter_args, "f%s", optarg); break;
		case ':':
			return reject(err, errlen, "option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt)
				return reject(err, errlen, "unknown option '-%c'", optopt);
			return reject(err, errlen, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc) {
		return reject(err, errlen, "unexpected argument '%s'", argv[optind]);
	}
	req->preserve_given = req->preserve || req->chmod_arg || req->chown_arg;
	if (req->json && !req->dry_run)
		return reject(err, errlen, "--json goes with --dry-run");
	if (req->verify && req->trust_record)
		return reject(err, errlen, "--verify and --trust-record contradict each other: "
			      "the one compares with the far side, the other does not");
	if (req->trust_record && req->dry_run)
		return reject(err, errlen, "--trust-record and --dry-run do not go together: "
			      "a dry run asks the far side");
	if ((req->max_delete_arg || req->delete_all_ok) && !req->mirror)
		return reject(err, errlen, "%s is about deletes: it needs --delete",
			      req->max_delete_arg ? "--max-delete" : "--delete-all-ok");
	return OPTIONS_OK;
}

int
options_parse_transfer(int argc, char **argv, struct transfer_request *req,
		       int *verbosity, char *err, size_t errlen)
{
	return parse_flags(argc, argv, req, false, verbosity, err, errlen);
}

int
options_parse_watch(int argc, char **argv, struct transfer_request *req,
		    int *verbosity, char *err, size_t errlen)
{
	return parse_flags(argc, argv, req, true, verbosity, err, errlen);
}

/* Reject what ssh, rsync or a remote shell could read as something else. */
static int
validate_word(const char *what, const char *s, char *err, size_t errlen)
{
	const unsigned char *p;

	if (s == NULL || *s == '\0') {
		snprintf(err, errlen, "%s is empty", what);
		return -1;
	}
	if (*s == '-')
		return reject(err, errlen, "invalid %s '%s': must not begin with '-'", what, s);
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p <= ' ' || *p == 0x7f || *p == '@' || *p == '/' || *p == '\'' ||
		    *p == '"' || *p == '\\')
			return reject(err, errlen, "invalid %s '%s': contains a space, quote, "
				      "'@', '/' or control character", what, s);
	}
	return 0;
}

int
validate_host(const char *host, char *err, size_t errlen)
{
	return validate_word("address", host, err, errlen);
}

int
validate_user(const char *user, char *err, size_t errlen)
{
	if (user && strchr(user, ':'))
		return reject(err, errlen, "invalid user '%s': contains ':'", user);
	return validate_word("user", user, err, errlen);
}

/* Check that the key file can be opened for reading. */
static int
check_key(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return reject(err, errlen, "cannot read key '%s': %s", path, strerror(errno));
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return reject(err, errlen, "cannot read key '%s': not a regular file", path);
	}
	/* ssh reads the name in its own quotes, with ${VAR} expanded: see ssh_base_argv. */
	if (strpbrk(path, "\"\\") || strstr(path, "${")) {
		snprintf(err, errlen, "cannot use key '%s': ssh cannot take a key path "
			 "with '\"', '\\' or '${'", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * One item of rsync's --chmod (its chmod.c): [DF], then an octal mode of
 * up to four digits, or who ([ugoa]*), one of + - =, and what ([rwxXst]*).
 */
static bool
chmod_item_ok(const char *p, size_t n)
{
	size_t i = 0;

	if (i < n && (p[i] == 'D' || p[i] == 'F'))
		i++;
	if (i == n)
		return false;
	if (p[i] >= '0' && p[i] <= '7') {
		size_t digits = n - i;

		for (; i < n; i++)
			if (p[i] < '0' || p[i] > '7')
				return false;
		return digits <= 4;
	}
	while (i < n && strchr("ugoa", p[i]))
		i++;
	if (i == n || !strchr("+-=", p[i]))
		return false;
	for (i++; i < n; i++)
		if (!strchr("rwxXst", p[i]))
			return false;
	return true;
}

static bool
chmod_ok(const char *rules)
{
	const char *p = rules;

	for (;;) {
		size_t n = strcspn(p, ",");

		if (!chmod_item_ok(p, n))
			return false;
		if (p[n] == '\0')
			return true;
		p += n + 1;
	}
}

/* A user or group of --chown: a name, or an id that fits one; empty: not given. */
static bool
chown_name_ok(const char *p, size_t n)
{
	unsigned long long id = 0;
	size_t i;
	bool digits = n > 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c <= ' ' || c == 0x7f || strchr("'\"\\/,:*?[", c))
			return false;
		if (c < '0' || c > '9')
			digits = false;
	}
	if (n > 0 && p[0] == '-')
		return false;
	for (i = 0; digits && i < n; i++)
		if ((id = id * 10 + (unsigned)(p[i] - '0')) > 4294967294ULL)
			return false;
	return true;
}

/*
 * What rsync -a leaves out: for a host's directory only, and --chmod and
 * --chown as rsync takes them, so that rsync never refuses them later,
 * unit after unit.
 */
static int
validate_preserve(const struct transfer_request *req, char *err, size_t errlen)
{
	const char *own = req->chown_arg, *colon;

	if (!req->preserve_given)
		return 0;
	if (req->s3)
		return reject(err, errlen, "-H, -A, -X, -S, --numeric-ids, --chmod and --chown "
			      "go with a remote directory, not an object store");
	if (req->chmod_arg &&
	    (strlen(req->chmod_arg) > PRESERVE_RULE_MAX || !chmod_ok(req->chmod_arg)))
		return reject(err, errlen, "invalid --chmod '%s': expected rsync's rules, such "
			      "as D755,F644 or go-w", req->chmod_arg);
	if (own == NULL)
		return 0;
	colon = strchr(own, ':');
	if (strlen(own) > PRESERVE_RULE_MAX || strcmp(own, ":") == 0 || *own == '\0' ||
	    !chown_name_ok(own, colon ? (size_t)(colon - own) : strlen(own)) ||
	    (colon && !chown_name_ok(colon + 1, strlen(colon + 1))))
		return reject(err, errlen, "invalid --chown '%s': expected USER, USER:GROUP or "
			      ":GROUP (names, or ids)", own);
	return 0;
}

/* Check --max-delete and read the filters, in their order, into req->filters. */
static int
validate_sync(struct transfer_request *req, char *err, size_t errlen)
{
	struct filter f;
	unsigned long long n;
	size_t i;
	int rc = 0;

	if (req->max_delete_arg) {
		if (parse_ullong(req->max_delete_arg, 0, LLONG_MAX, &n) < 0)
			return reject(err, errlen, "invalid --max-delete '%s': expected a number "
				      "from 0", req->max_delete_arg);
		req->max_delete = (long long)n;
	}
	if (req->notify_url && notify_url_check(req->notify_url, err, errlen) < 0)
		return -1;
	if (req->notify_cmd && *req->notify_cmd == '\0')
		return reject(err, errlen, "--notify-cmd is empty");
	req->interval = WATCH_INTERVAL_DEFAULT;
	if (req->interval_arg &&
	    parse_ullong(req->interval_arg, WATCH_INTERVAL_MIN, 366ULL * 86400, &n) < 0)
		return reject(err, errlen, "invalid --interval '%s': expected seconds, from %d",
			      req->interval_arg, WATCH_INTERVAL_MIN);
	if (req->interval_arg)
		req->interval = (unsigned)n;
	filter_init(&f);
	for (i = 0; i < req->filter_args.nr && rc == 0; i++) {
		const char *a = req->filter_args.v[i];

		if (*a == 'f')
			rc = filter_add_file(&f, a + 1, err, errlen);
		else
			rc = filter_add(&f, *a == '+', a + 1, err, errlen);
	}
	strbuf_reset(&req->filters);
	if (rc == 0)
		filter_serialize(&f, &req->filters);
	filter_release(&f);
	return rc;
}

/*
 * The host, or the hosts of a transfer to several: a list in -a (a ','
 * in it) or in --hosts-from. A single host keeps -a and -p exactly as
 * given: the portal's calls name one host and never a port in it.
 */
static int
validate_hosts(struct transfer_request *req, bool need_source, char *err, size_t errlen)
{
	struct strbuf joined = STRBUF_INIT;

	if (req->s3) {
		if (req->hosts_from)
			return reject(err, errlen, "--hosts-from goes with a remote directory");
		return 0;
	}
	if (req->hosts_from && req->address)
		return reject(err, errlen, "-a/--address and --hosts-from: give the hosts in one");
	if (req->hosts_from == NULL && strchr(req->address, ',') == NULL) {
		if (req->relay >= 0)
			return reject(err, errlen, "--%s goes with several hosts",
				      req->relay ? "relay" : "no-relay");
		return 0;
	}
	if (req->hosts_from ?
	    hosts_read_file(&req->hosts, req->hosts_from, req->port, err, errlen) < 0 :
	    hosts_parse(&req->hosts, req->address, req->port, err, errlen) < 0)
		return -1;
	if (req->hosts.n == 1) {
		/* A list of one is a transfer to that host. */
		req->address = req->address_owned = xstrdup(req->hosts.v[0].address);
		req->port = req->hosts.v[0].port;
		hosts_release(&req->hosts);
		if (req->relay >= 0)
			return reject(err, errlen, "--%s goes with several hosts",
				      req->relay ? "relay" : "no-relay");
		return 0;
	}
	if (req->check)
		return reject(err, errlen, "-c checks one host: give it alone");
	if (need_source && (req->watch || req->dry_run || req->trust_record))
		return reject(err, errlen, "%s to several hosts is not supported yet: run it "
			      "for each host", req->watch ? "watch" : req->dry_run ?
			      "--dry-run" : "--trust-record");
	hosts_join(&req->hosts, req->port, &joined);
	req->address = req->address_owned = strbuf_detach(&joined, NULL);
	return 0;
}

/* A Slurm name (partition, account): what srun could read as something else is refused. */
static int
validate_slurm_name(const char *what, const char *s, char *err, size_t errlen)
{
	const unsigned char *p;

	if (*s == '\0')
		return reject(err, errlen, "%s is empty", what);
	if (*s == '-')
		return reject(err, errlen, "invalid %s '%s': must not begin with '-'", what, s);
	if (strlen(s) > 100)
		return reject(err, errlen, "invalid %s: longer than 100 bytes", what);
	for (p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == ',' || *p == '=')
			return reject(err, errlen, "invalid %s '%s': contains a space, ',', '=' "
				      "or control character", what, s);
	return 0;
}

/* --nodes and what goes with it: values checked; Slurm itself is the command's to ask. */
static int
validate_slurm(struct transfer_request *req, bool need_source, char *err, size_t errlen)
{
	const char *p;

	if (req->nodes_arg && parse_int_range(req->nodes_arg, 0, 512, &req->nodes) < 0)
		return reject(err, errlen, "invalid --nodes '%s': expected a number from 0 to 512",
			      req->nodes_arg);
	if (req->slurm_wait_arg &&
	    parse_int_range(req->slurm_wait_arg, 1, 86400, &req->slurm_wait) < 0)
		return reject(err, errlen, "invalid --slurm-wait '%s': expected seconds, from 1 "
			      "to 86400", req->slurm_wait_arg);
	if (req->partition && validate_slurm_name("--partition", req->partition, err, errlen) < 0)
		return -1;
	if (req->account && validate_slurm_name("--account", req->account, err, errlen) < 0)
		return -1;
	if (req->time_limit) {
		for (p = req->time_limit; *p; p++)
			if (!(*p >= '0' && *p <= '9') && *p != ':' && *p != '-')
				break;
		if (*req->time_limit == '\0' || *req->time_limit == '-' || *p ||
		    strlen(req->time_limit) > 32 || strpbrk(req->time_limit, "0123456789") == NULL)
			return reject(err, errlen, "invalid --time '%s': expected Slurm's "
				      "[DAYS-]HOURS:MINUTES:SECONDS or MINUTES", req->time_limit);
	}
	if (req->nodes <= 0 || !need_source)
		return 0;
	if (req->check)
		return reject(err, errlen, "-c checks the key from here: --nodes is not for it");
	if (req->s3 || req->s3_source || req->hosts.n > 1 || req->watch || req->dry_run)
		return reject(err, errlen, "--nodes %s is not supported yet",
			      req->s3 ? "with an object store" : req->hosts.n > 1 ?
			      "to several hosts" : req->watch ? "with watch" : "with --dry-run");
	return 0;
}

int
options_validate_transfer(struct transfer_request *req, bool need_source,
			  char *err, size_t errlen)
{
	struct stat sb;

	req->s3 = s3_is_url(req->destination);
	req->s3_source = s3_is_url(req->source_arg);
	if (req->s3_source && need_source) {
		struct s3_target t;

		if (req->s3)
			return reject(err, errlen, "from one object store to another is not "
				      "supported: '%s' to '%s'", req->source_arg, req->destination);
		if (req->address)
			return reject(err, errlen, "-a/--address goes with a remote directory; "
				      "'%s' comes down to a local one", req->source_arg);
		if (s3_target_parse(req->source_arg, &t, err, errlen) < 0)
			return -1;
		s3_target_release(&t);
		if (req->mirror || req->watch || req->dry_run || req->verify || req->trust_record)
			return reject(err, errlen, "%s from an object store is not supported yet",
				      req->mirror ? "--delete" : req->watch ? "watch" :
				      req->dry_run ? "--dry-run" : req->verify ? "--verify" :
				      "--trust-record");
		req->s3 = true;
	} else if (req->s3 && need_source) {
		struct s3_target t;

		if (req->address)
			return reject(err, errlen, "-a/--address goes with a remote directory, not "
				      "with '%s'", req->destination);
		if (s3_target_parse(req->destination, &t, err, errlen) < 0)
			return -1;
		s3_target_release(&t);
	} else if ((req->endpoint_arg || req->region_arg) && need_source) {
		return reject(err, errlen, "--%s goes with an object store's destination "
			      "(s3://, cos://)", req->endpoint_arg ? "endpoint" : "region");
	}
	if (req->s3 && req->address == NULL && req->hosts_from == NULL)
		req->address = "";
	if (req->address == NULL && req->hosts_from == NULL) {
		snprintf(err, errlen, "missing -a/--address");
		return -1;
	}
	/* One host is checked first, as it always was; a list once -p is known. */
	if (!req->s3 && req->hosts_from == NULL && strchr(req->address, ',') == NULL &&
	    validate_host(req->address, err, errlen) < 0)
		return -1;
	if (req->user == NULL) {
		struct passwd *pw = getpwuid(getuid());

		if (pw == NULL || pw->pw_name == NULL) {
			snprintf(err, errlen, "missing -u/--user");
			return -1;
		}
		req->user_owned = xstrdup(pw->pw_name);
		req->user = req->user_owned;
	}
	if (validate_user(req->user, err, errlen) < 0)
		return -1;
	req->port = DEFAULT_PORT;
	if (req->port_arg && parse_int_range(req->port_arg, 1, 65535, &req->port) < 0)
		return reject(err, errlen, "invalid port '%s': expected a number from 1 to 65535",
			      req->port_arg);
	if (validate_hosts(req, need_source, err, errlen) < 0 ||
	    validate_slurm(req, need_source, err, errlen) < 0)
		return -1;
	req->max_depth = DEFAULT_MAX_DEPTH;
	if (req->max_depth_arg &&
	    parse_int_range(req->max_depth_arg, 0, MAX_DEPTH_LIMIT, &req->max_depth) < 0)
		return reject(err, errlen, "invalid max depth '%s': expected a number from 0 to %d",
			      req->max_depth_arg, MAX_DEPTH_LIMIT);
	if (req->key_arg == NULL) {
		req->key_path = xasprintf("%s/scow/.scow-sync-ssh/id_rsa", home_dir());
		/*
		 * From a shell, without the portal's key: ssh's own identities,
		 * agent and configuration, as `rsync -e ssh` has them. The
		 * portal's names always want its key.
		 */
		if (!req->legacy && access(req->key_path, F_OK) < 0 && errno == ENOENT) {
			free(req->key_path);
			req->key_path = xstrdup("");
		}
	} else if (path_absolute(req->key_arg, &req->key_path) < 0)
		return reject(err, errlen, "invalid key path '%s': %s", req->key_arg,
			      strerror(errno));
	if (!need_source)
		return 0;
	if (validate_sync(req, err, errlen) < 0 || validate_preserve(req, err, errlen) < 0)
		return -1;
	if (!req->s3 && *req->key_path && check_key(req->key_path, err, errlen) < 0)
		return -1;
	if (req->source_arg == NULL) {
		snprintf(err, errlen, "missing -s/--source");
		return -1;
	}
	if (req->destination == NULL || *req->destination == '\0') {
		snprintf(err, errlen, "missing -d/--destination");
		return -1;
	}
	/* One spelling per directory, so that "d", "d/" and "./d" are one request. */
	free(req->destination_tidy);
	if (req->s3_source) {
		/* A local directory, wherever the supervisor runs from. */
		char *abs;

		if (path_absolute(req->destination, &abs) < 0)
			return reject(err, errlen, "invalid destination '%s': %s", req->destination,
				      strerror(errno));
		req->destination_tidy = path_tidy(abs);
		free(abs);
	} else if (req->s3) {
		/* s3://b/p, s3://b/p/ and s3://b//p are one request. */
		struct s3_target t;

		if (s3_target_parse(req->destination, &t, err, errlen) < 0)
			return -1;
		req->destination_tidy = s3_target_url(&t);
		s3_target_release(&t);
	} else {
		req->destination_tidy = path_tidy(req->destination);
	}
	req->destination = req->destination_tidy;
	if (req->s3_source) {
		/* s3://b/p, s3://b/p/ and s3://b//p are one source. */
		struct s3_target t;

		if (s3_target_parse(req->source_arg, &t, err, errlen) < 0)
			return -1;
		free(req->source);
		req->source = s3_target_url(&t);
		s3_target_release(&t);
		return 0;
	}
	if (path_source(req->source_arg, &req->source) < 0 ||
	    lstat(req->source, &sb) < 0) {
		return reject(err, errlen, "cannot read source '%s': %s", req->source_arg,
			      strerror(errno));
	}
	if (strcmp(path_basename(req->source), "..") == 0) {
		/* "x/.." would land as DEST/..: name the directory it really is. */
		char *real = realpath(req->source, NULL);

		if (real == NULL) {
			return reject(err, errlen, "cannot read source '%s': %s", req->source_arg,
				      strerror(errno));
		}
		free(req->source);
		req->source = real;
	}
	if (strcmp(req->source, "/") == 0) {
		snprintf(err, errlen, "cannot transfer '/': choose a directory below it");
		return -1;
	}
	if (S_ISDIR(sb.st_mode) && access(req->source, R_OK | X_OK) < 0) {
		return reject(err, errlen, "cannot read source '%s': %s", req->source_arg,
			      strerror(errno));
	}
	return 0;
}

void
transfer_request_release(struct transfer_request *req)
{
	free(req->source);
	free(req->key_path);
	free(req->user_owned);
	free(req->destination_tidy);
	free(req->s3_address);
	req->s3_address = NULL;
	free(req->address_owned);
	req->address_owned = NULL;
	hosts_release(&req->hosts);
	req->source = req->key_path = req->user_owned = req->destination_tidy = NULL;
	strvec_clear(&req->filter_args);
	strbuf_release(&req->filters);
}
