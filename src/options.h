/*
 * options: the transfer flags shared by start, run and the legacy names,
 * declared in transfer_flags (-a/--address HOST, -s/--source PATH, ...).
 *
 * Parsing only fills in strings; options_validate_transfer() checks them
 * and turns them into values, naming the offending value on failure.
 */
#ifndef SCOW_SYNC_OPTIONS_H
#define SCOW_SYNC_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "cmd-options.h"
#include "hosts.h"
#include "util.h"

#define MAX_DEPTH_LIMIT 64
#define DEFAULT_MAX_DEPTH 2
#define DEFAULT_PORT 22

struct transfer_request {
	/* as given (borrowed from argv) */
	const char *address;
	const char *user;
	const char *source_arg;
	const char *destination;
	const char *max_depth_arg;
	const char *port_arg;
	const char *key_arg;
	const char *workers_arg;   /* settings given as flags, checked with the settings */
	const char *retries_arg;
	const char *bwlimit_arg;
	const char *endpoint_arg;  /* --endpoint, --region: an object store's */
	const char *region_arg;
	bool check;
	bool legacy;            /* called by a portal's name: -k's default is the portal's key */
	/* Keeping a directory in sync: --delete and its guards, the filters, --dry-run. */
	bool mirror;
	const char *max_delete_arg;
	bool delete_all_ok;
	bool dry_run;
	bool json;              /* --dry-run's changes as JSON */
	bool verify;            /* --verify: compare with the far side by content */
	bool trust_record;      /* --trust-record: compare with the last run's record */
	/* What rsync -a leaves out: -H, -A, -X, -S, --numeric-ids (rsync_preserve), ... */
	unsigned preserve;
	const char *chmod_arg;  /* ... --chmod RULES, --chown USER:GROUP */
	const char *chown_arg;
	bool preserve_given;    /* any of them: they replace what a transfer continued had */
	const char *notify_url; /* --notify URL: POST each state change's record there */
	const char *notify_cmd; /* --notify-cmd PROGRAM: ... or give it to PROGRAM */
	/* watch: keep SOURCE in sync until stopped, comparing the whole every interval. */
	bool watch;
	const char *interval_arg;
	bool detach;
	const char *save_name;  /* --save NAME: keep the watch's arguments under NAME */
	const char *hosts_from; /* --hosts-from FILE: the hosts of a transfer to several */
	int relay;              /* --relay 1, --no-relay 0; -1: the relay setting decides */
	/* Through Slurm: --nodes N, --partition, --account, --time, --slurm-wait (as given). */
	const char *nodes_arg;
	const char *partition;
	const char *account;
	const char *time_limit;
	const char *slurm_wait_arg;
	/*
	 * The filter options in the order given (the first matching rule
	 * wins), each its letter and its value: "+PATTERN" (--include),
	 * "-PATTERN" (--exclude), "fFILE" (--exclude-from).
	 */
	struct strvec filter_args;
	/* filled by options_validate_transfer (owned) */
	char *source;        /* absolute, tidy */
	char *destination_tidy; /* destination without repeated '/', './' or a trailing '/' */
	char *key_path;      /* absolute; "": none, ssh's own identities (ssh_target) */
	char *user_owned;    /* the user when -u is absent: ssh's (cmd_parse_transfer) */
	bool s3;             /* an object store (s3://, cos://) is a side: the destination, ... */
	bool s3_source;      /* ... or the source, with a local directory as the destination */
	char *s3_address;    /* ... its bucket's URL, the transfer's address (cmd_s3_resolve) */
	/*
	 * The hosts of a transfer to several (n > 1; address is then the
	 * list as hosts_join writes it, in address_owned); for one, address
	 * and port are that host's.
	 */
	struct host_list hosts;
	char *address_owned;
	int max_depth;
	int port;
	long long max_delete;   /* -1: not given */
	unsigned interval;      /* watch: seconds between full comparisons */
	int nodes;              /* --nodes; -1: not given (the slurm_nodes setting decides) */
	int slurm_wait;         /* --slurm-wait; -1: not given */
	struct strbuf filters;  /* the rules, filter_serialize()d; empty: none */
};

/* The keys of the transfer flags without a short spelling, after the settings'. */
enum {
	OPT_DELETE = CMD_OPT_OWN,
	OPT_MAX_DELETE,
	OPT_DELETE_ALL_OK,
	OPT_EXCLUDE,
	OPT_INCLUDE,
	OPT_EXCLUDE_FROM,
	OPT_DRY_RUN,
	OPT_JSON,
	OPT_INTERVAL,
	OPT_DETACH,
	OPT_NOTIFY,
	OPT_NOTIFY_CMD,
	OPT_SAVE,
	OPT_SAVED,
	OPT_VERIFY,
	OPT_TRUST_RECORD,
	OPT_ENDPOINT,
	OPT_REGION,
	OPT_HOSTS_FROM,
	OPT_RELAY,
	OPT_NO_RELAY,
	OPT_NODES,
	OPT_PARTITION,
	OPT_ACCOUNT,
	OPT_TIME,
	OPT_SLURM_WAIT,
	OPT_NUMERIC_IDS,
	OPT_CHECKSUM,
	OPT_CHMOD,
	OPT_CHOWN,
};

/* The longest --chmod or --chown taken. */
#define PRESERVE_RULE_MAX 256

enum options_result {
	OPTIONS_OK = 0,
	OPTIONS_HELP = 1,     /* -h/--help given */
	OPTIONS_VERSION = 2,  /* --version given */
	OPTIONS_ERROR = -1,   /* message in err */
};

/*
 * Parse argv (argv[0] is the command name). verbosity is adjusted by -v/-q.
 * Extra positional arguments are an error.
 */
int options_parse_transfer(int argc, char **argv, struct transfer_request *req,
			   int *verbosity, char *err, size_t errlen);
/* The same for watch (watch_flags): req->watch is set. */
int options_parse_watch(int argc, char **argv, struct transfer_request *req,
			int *verbosity, char *err, size_t errlen);

/*
 * Check and convert the request. need_source: a transfer (not -c).
 * Returns 0 or -1 with a one-line message in err.
 */
int options_validate_transfer(struct transfer_request *req, bool need_source,
			      char *err, size_t errlen);
void transfer_request_release(struct transfer_request *req);

/* The flags, for parsing, --help and completions (cmd-options.h). */
extern const struct cmd_option transfer_flags[];
/* watch's: the transfer flags, --interval and --detach. */
extern const struct cmd_option watch_flags[];

#define WATCH_INTERVAL_DEFAULT 600
#define WATCH_INTERVAL_MIN 10

/* Host names and users: no leading '-', no whitespace or control bytes. */
int validate_host(const char *host, char *err, size_t errlen);
int validate_user(const char *user, char *err, size_t errlen);

#endif
