/*
 * settings: the defaults a person or a site can change, and where each
 * value came from.
 *
 * Sources, each overriding the one before: the built-in default, the
 * system file (SYSCONFDIR/scow-sync.conf, or $SCOW_SYNC_SYSTEM_CONFIG),
 * the user's file ($XDG_CONFIG_HOME/scow-sync/config, else
 * ~/.config/scow-sync/config, or $SCOW_SYNC_CONFIG), the environment
 * (SCOW_SYNC_WORKERS and friends), and a command's flags.
 *
 * A file holds "key = value" lines; '#' starts a comment at the start of
 * a line or after a blank (so "a#b" is a value whole), blank lines are
 * ignored, a value may be put in double quotes (to keep leading or
 * trailing spaces, or " #"), in which \" and \\ stand for " and \. An unknown
 * key or a bad value is an error naming the file and line: a mistyped
 * setting must not be silently ignored.
 */
#ifndef SCOW_SYNC_SETTINGS_H
#define SCOW_SYNC_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest notify_secret, in bytes: longer is an error, never a key cut short. */
#define SETTING_SECRET_MAX 4096

enum setting {
	SETTING_WORKERS,       /* rsync processes at once; unset: decided by the link */
	SETTING_RETRIES,       /* attempts per unit for transient failures */
	SETTING_BWLIMIT,       /* KiB/s per rsync, 0 for none */
	SETTING_SPLIT_MIB,     /* files from this size go in pieces; 0 never; unset: by the link */
	SETTING_COMPRESS,      /* auto, always, never */
	SETTING_STATE_DIR,     /* the store and the logs */
	SETTING_LOG_MAX_MIB,   /* rotate a log past this size; 0 never */
	SETTING_KEEP_CONNECTION, /* seconds a connection stays after a transfer; 0 none */
	SETTING_PRUNE_DAYS,    /* forget transfers that ended this many days ago; 0 never */
	SETTING_PRUNE_KEEP,    /* ... but keep at least this many of the newest */
	SETTING_IO_TIMEOUT,    /* seconds an rsync may go without data (--timeout); 0 none */
	SETTING_MAX_DELETE,    /* a mirror fails before deleting more than this; unset: no limit */
	SETTING_NOTIFY_SECRET, /* the key that signs --notify's posts; files only, never shown */
	SETTING_S3_ENDPOINT,   /* an object store's endpoint URL; unset: AWS's or COS's */
	SETTING_S3_REGION,     /* its region */
	SETTING_S3_ADDRESSING, /* auto, path, virtual: where the bucket goes in a URL */
	SETTING_S3_MULTIPART_MIB, /* files from this size go up in parts */
	SETTING_RELAY,         /* auto, yes, no: several hosts forward to each other */
	SETTING_RELAY_FANOUT,  /* how many hosts each host forwards to */
	SETTING_SLURM_NODES,   /* Slurm nodes a transfer spreads over; 0: this node alone */
	SETTING_SLURM_PARTITION, /* ... in this partition; unset: Slurm's default */
	SETTING_COUNT,
};

enum setting_source {
	SOURCE_DEFAULT,
	SOURCE_SYSTEM,
	SOURCE_USER,
	SOURCE_ENV,
	SOURCE_FLAG,
};

struct setting_value {
	char *text;            /* NULL: unset (the default decides) */
	enum setting_source source;
	char *where;           /* "FILE:LINE", the variable's or the flag's name */
};

struct settings {
	struct setting_value v[SETTING_COUNT];
	char *system_file;     /* the files looked at (whether or not they exist) */
	char *user_file;
};

/*
 * Read every source but flags. 0, or -1 with a one-line reason naming the
 * file and line (or the variable) and the value in err: the first of the
 * bad ones, which are left out; everything else is read all the same.
 * Release s either way.
 */
int settings_load(struct settings *s, char *err, size_t errlen);
void settings_release(struct settings *s);

/*
 * Apply the settings text of a file (len bytes, any bytes) named name in
 * messages, as from source src: 0, or -1 with the first bad line's reason
 * (bad lines are left out, the others apply). settings_load uses it.
 */
int settings_parse(struct settings *s, const char *text, size_t len, enum setting_source src,
		   const char *name, char *err, size_t errlen);

/* Set from a flag (name as typed, such as "--workers"); -1 as above. */
int settings_set_flag(struct settings *s, enum setting k, const char *flag, const char *value,
		      char *err, size_t errlen);

/* The key in files ("workers"), its variable ("SCOW_SYNC_WORKERS"), its default. */
const char *setting_key(enum setting k);
const char *setting_env(enum setting k);
const char *setting_default_text(enum setting k);
const char *setting_source_name(enum setting_source src);

/* The value, or NULL when unset. */
const char *settings_get(const struct settings *s, enum setting k);
/* A number setting: its value, or dflt when unset. */
uint64_t settings_number(const struct settings *s, enum setting k, uint64_t dflt);

/*
 * The state directory the settings name (absolute; a leading ~/ is the
 * home directory), or the default ~/scow/.scow-sync; caller frees.
 */
char *settings_state_dir(const struct settings *s);

#endif
