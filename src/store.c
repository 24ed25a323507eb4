/* store: the per-user SQLite database (see store.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "util.h"

#define STORE_FILE "scow-sync.db"
#define BUSY_TIMEOUT_MS 15000

struct store {
	sqlite3 *db;
	bool shared;           /* on a file system several hosts share: DELETE journal */
	char errmsg[256];
};

/*
 * Each entry moves the schema from version i to i + 1. Never edit an entry
 * once released: add a new one.
 */
static const char *const migrations[] = {
	/* 1: transfers and their work units */
	"CREATE TABLE transfers ("
	"  id INTEGER PRIMARY KEY,"
	"  address TEXT NOT NULL,"
	"  user TEXT NOT NULL,"
	"  port INTEGER NOT NULL,"
	"  source BLOB NOT NULL,"
	"  destination BLOB NOT NULL,"
	"  key_path BLOB NOT NULL,"
	"  max_depth INTEGER NOT NULL,"
	"  state TEXT NOT NULL,"
	"  error TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  started_at INTEGER,"
	"  finished_at INTEGER,"
	"  sup_pid INTEGER,"
	"  sup_start INTEGER,"
	"  sup_uid INTEGER,"
	"  bytes_done INTEGER NOT NULL DEFAULT 0,"
	"  files_done INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX transfers_state ON transfers(state);"
	"CREATE TABLE units ("
	"  id INTEGER PRIMARY KEY,"
	"  transfer_id INTEGER NOT NULL REFERENCES transfers(id) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL,"
	"  path BLOB NOT NULL,"
	"  state TEXT NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  error TEXT,"
	"  cur_file BLOB,"
	"  cur_bytes INTEGER,"
	"  cur_percent INTEGER,"
	"  cur_rate REAL,"
	"  cur_eta INTEGER,"
	"  bytes_done INTEGER NOT NULL DEFAULT 0,"
	"  files_done INTEGER NOT NULL DEFAULT 0,"
	"  updated_at INTEGER"
	");"
	"CREATE INDEX units_transfer_state ON units(transfer_id, state);",

	/*
	 * 2: resume and partial terminate. planned: the walk finished, so a
	 * resumed transfer need not walk again. workdir: the supervisor's private
 * temporary directory, so that what a killed one left can be removed
 * (and nothing else: ids repeat across state directories). A unit's path is unique in its
	 * transfer, so a walk that is redone adds only what is missing.
	 * exclusions: parts of a transfer stopped on request (state pending
	 * until the supervisor has acted). leftovers: files a stopped rsync may
	 * have left partial data of on the far side, for the cleanup.
	 */
	"ALTER TABLE transfers ADD COLUMN planned INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE transfers ADD COLUMN workdir BLOB;"
	"CREATE UNIQUE INDEX units_transfer_path ON units(transfer_id, path);"
	"CREATE TABLE exclusions ("
	"  id INTEGER PRIMARY KEY,"
	"  transfer_id INTEGER NOT NULL REFERENCES transfers(id) ON DELETE CASCADE,"
	"  path BLOB NOT NULL,"
	"  state TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL"
	");"
	"CREATE INDEX exclusions_transfer ON exclusions(transfer_id, state);"
	"CREATE TABLE leftovers ("
	"  transfer_id INTEGER NOT NULL REFERENCES transfers(id) ON DELETE CASCADE,"
	"  path BLOB NOT NULL,"
	"  PRIMARY KEY (transfer_id, path)"
	");",

	/*
	 * 3: what each unit holds (files, bytes), as the walk counted it, so
	 * that small units travel together and large ones alone.
	 */
	"ALTER TABLE units ADD COLUMN files_total INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE units ADD COLUMN bytes_total INTEGER NOT NULL DEFAULT 0;",

	/*
	 * 4: terminate's request to stop a transfer for good, kept apart from
	 * a signal from elsewhere (a reboot), after which it is interrupted.
	 * Recorded before any signal, so a supervisor still starting sees it.
	 * sup_sid: the session a detached supervisor runs in, made for it, so
	 * that what it left behind when it was killed can be found.
	 */
	"ALTER TABLE transfers ADD COLUMN stop_requested INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE transfers ADD COLUMN sup_sid INTEGER;",

	/*
	 * 5: how long the far side took to answer one remote command (the
	 * first mkdir), which tells near from far links; a re-sync to the
	 * same place goes on from it without asking again.
	 */
	"ALTER TABLE transfers ADD COLUMN answer_seconds REAL;",

	/*
	 * 6: what each transfer's units hold, by state (units, files, bytes
	 * as the walk found them), kept by triggers as units are added,
	 * change state or go, so that query and status read five rows per
	 * transfer instead of counting a million units on every call. Every
	 * transfer has its five rows from its insert on. Also: the time a
	 * transfer ended, indexed for the history's window, and the store's
	 * notes to itself (when it was last pruned).
	 */
	"CREATE TABLE unit_totals ("
	"  transfer_id INTEGER NOT NULL REFERENCES transfers(id) ON DELETE CASCADE,"
	"  state TEXT NOT NULL,"
	"  units INTEGER NOT NULL DEFAULT 0,"
	"  files INTEGER NOT NULL DEFAULT 0,"
	"  bytes INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (transfer_id, state)"
	") WITHOUT ROWID;"
	"INSERT INTO unit_totals SELECT transfer_id, state, count(*), sum(files_total), "
	"  sum(bytes_total) FROM units GROUP BY transfer_id, state;"
	"INSERT OR IGNORE INTO unit_totals (transfer_id, state) SELECT t.id, s.column1 "
	"  FROM transfers t, (VALUES ('pending'), ('running'), ('done'), ('failed'), "
	"  ('excluded')) s;"
	"CREATE TRIGGER unit_totals_transfer AFTER INSERT ON transfers BEGIN"
	"  INSERT OR REPLACE INTO unit_totals (transfer_id, state) VALUES (NEW.id, 'pending'),"
	"    (NEW.id, 'running'), (NEW.id, 'done'), (NEW.id, 'failed'), (NEW.id, 'excluded');"
	" END;"
	/* Gone with its transfer, whether or not foreign keys are enforced. */
	"CREATE TRIGGER unit_totals_transfer_gone AFTER DELETE ON transfers BEGIN"
	"  DELETE FROM unit_totals WHERE transfer_id = OLD.id;"
	" END;"
	"CREATE TRIGGER unit_totals_add AFTER INSERT ON units BEGIN"
	"  UPDATE unit_totals SET units = units + 1, files = files + NEW.files_total,"
	"    bytes = bytes + NEW.bytes_total"
	"    WHERE transfer_id = NEW.transfer_id AND state = NEW.state;"
	" END;"
	"CREATE TRIGGER unit_totals_remove AFTER DELETE ON units BEGIN"
	"  UPDATE unit_totals SET units = units - 1, files = files - OLD.files_total,"
	"    bytes = bytes - OLD.bytes_total"
	"    WHERE transfer_id = OLD.transfer_id AND state = OLD.state;"
	" END;"
	"CREATE TRIGGER unit_totals_change"
	"  AFTER UPDATE OF transfer_id, state, files_total, bytes_total ON units"
	"  WHEN OLD.state IS NOT NEW.state OR OLD.transfer_id != NEW.transfer_id OR"
	"    OLD.files_total != NEW.files_total OR OLD.bytes_total != NEW.bytes_total BEGIN"
	"  UPDATE unit_totals SET units = units - 1, files = files - OLD.files_total,"
	"    bytes = bytes - OLD.bytes_total"
	"    WHERE transfer_id = OLD.transfer_id AND state = OLD.state;"
	"  UPDATE unit_totals SET units = units + 1, files = files + NEW.files_total,"
	"    bytes = bytes + NEW.bytes_total"
	"    WHERE transfer_id = NEW.transfer_id AND state = NEW.state;"
	" END;"
	"CREATE INDEX transfers_ended ON transfers(coalesce(finished_at, created_at));"
	"CREATE TABLE store_notes ("
	"  name TEXT PRIMARY KEY,"
	"  value INTEGER"
	") WITHOUT ROWID;",

	/*
	 * 7: the node a transfer's owner runs on (boot id, PID namespace,
	 * host name): a state directory shared by several nodes holds
	 * transfers that only their own node can judge. And the request as
	 * the far side knows it, so that two spellings of one request are one
	 * request: the host as ssh resolves it ("user@host:port") and the
	 * destination made absolute there by the first supervisor.
	 */
	"ALTER TABLE transfers ADD COLUMN sup_boot TEXT;"
	"ALTER TABLE transfers ADD COLUMN sup_pidns INTEGER;"
	"ALTER TABLE transfers ADD COLUMN sup_host TEXT;"
	"ALTER TABLE transfers ADD COLUMN far_host TEXT;"
	"ALTER TABLE transfers ADD COLUMN far_destination BLOB;",

	/*
	 * 8: the settings a transfer was given as flags (--workers, --bwlimit,
	 * --retries), NULL where none was given, so that a resumed run goes on
	 * as it was asked to, not with the defaults of whoever resumes it.
	 */
	"ALTER TABLE transfers ADD COLUMN opt_workers INTEGER;"
	"ALTER TABLE transfers ADD COLUMN opt_bwlimit INTEGER;"
	"ALTER TABLE transfers ADD COLUMN opt_retries INTEGER;"
	/*
	 * And the files counted as sent by a run that was cut off, which may
	 * not have arrived (still in buffers): the run that sends one again
	 * does not count it again.
	 */
	"CREATE TABLE sent_unsure ("
	"  transfer_id INTEGER NOT NULL REFERENCES transfers(id) ON DELETE CASCADE,"
	"  path BLOB NOT NULL,"
	"  PRIMARY KEY (transfer_id, path)"
	") WITHOUT ROWID;"
	"CREATE TRIGGER sent_unsure_transfer_gone AFTER DELETE ON transfers BEGIN"
	"  DELETE FROM sent_unsure WHERE transfer_id = OLD.id;"
	" END;",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

static const char *const transfer_state_names[] = {
	"queued", "running", "done", "failed", "terminated", "interrupted",
};
static const char *const unit_state_names[] = {
	"pending", "running", "done", "failed", "excluded",
};
static const char *const unit_kind_names[] = { "file", "tree" };

#define TRANSFER_COLUMNS \
	"id, address, user, port, source, destination, key_path, max_depth, " \
	"state, error, created_at, started_at, finished_at, sup_pid, sup_start, " \
	"sup_uid, bytes_done, files_done, planned, sup_sid, sup_boot, sup_pidns, sup_host, " \
	"far_host, far_destination, " \
	"(SELECT sum(units) FROM unit_totals n WHERE n.transfer_id = transfers.id), " \
	"(SELECT units FROM unit_totals n WHERE n.transfer_id = transfers.id " \
	"AND n.state = 'done'), " \
	"(SELECT units FROM unit_totals n WHERE n.transfer_id = transfers.id " \
	"AND n.state = 'failed')"

/*
 * Rows a and b are one request: the same source, the same far host (as ssh
 * resolves it, or spelled the same) and the same destination (as given,
 * or made absolute on the far side).
 */
#define SAME_REQUEST(a, b) \
	"(" a ".source = " b ".source AND (" a ".far_host = " b ".far_host OR " \
	"(" a ".address = " b ".address AND " a ".user = " b ".user AND " \
	a ".port = " b ".port)) AND (" a ".destination IN (" b ".destination, " \
	b ".far_destination) OR " a ".far_destination IN (" b ".destination, " \
	b ".far_destination)))"

/* A recorded owner, as col_proc reads it. */
#define SUP_COLUMNS "sup_pid, sup_start, sup_uid, sup_boot, sup_pidns, sup_host"

const char *
transfer_state_name(enum transfer_state s)
{
	return (unsigned)s < sizeof transfer_state_names / sizeof *transfer_state_names
		? transfer_state_names[s] : "unknown";
}

bool
transfer_state_finished(enum transfer_state s)
{
	return s != TRANSFER_QUEUED && s != TRANSFER_RUNNING;
}

const char *
unit_state_name(enum unit_state s)
{
	return (unsigned)s < sizeof unit_state_names / sizeof *unit_state_names
		? unit_state_names[s] : "unknown";
}

/* Map a name back to its index in names, or -1. */
static int
name_index(const char *const *names, size_t n, const unsigned char *name)
{
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(names[i], (const char *)name) == 0)
			return (int)i;
	return -1;
}

void
transfer_release(struct transfer *t)
{
	free(t->address);
	free(t->user);
	free(t->source);
	free(t->destination);
	free(t->key_path);
	free(t->error);
	free(t->far_host);
	free(t->far_destination);
	memset(t, 0, sizeof *t);
}

void
unit_release(struct unit *u)
{
	free(u->path);
	free(u->error);
	memset(u, 0, sizeof *u);
}

/* Remember SQLite's message and return SYNC_ERR_STORE. */
static int
db_error(struct store *st, const char *what)
{
	snprintf(st->errmsg, sizeof st->errmsg, "%s: %s", what, sqlite3_errmsg(st->db));
	return SYNC_ERR_STORE;
}

const char *
store_errmsg(struct store *st)
{
	return st->errmsg;
}

/* Prepare sql or record why not. */
static int
prepare(struct store *st, const char *sql, sqlite3_stmt **stmt)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL) != SQLITE_OK) {
		*stmt = NULL;
		return db_error(st, "prepare");
	}
	return SYNC_OK;
}

/* Run a statement that returns no rows, then finalize it. */
static int
step_done(struct store *st, sqlite3_stmt *stmt, const char *what)
{
	int rc = sqlite3_step(stmt);

	if (rc != SQLITE_DONE) {
		rc = db_error(st, what);
		sqlite3_finalize(stmt);
		return rc;
	}
	sqlite3_finalize(stmt);
	return SYNC_OK;
}

static void
bind_path(sqlite3_stmt *stmt, int i, const char *path)
{
	if (path)
		sqlite3_bind_blob(stmt, i, path, (int)strlen(path), SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(stmt, i);
}

static void
bind_text(sqlite3_stmt *stmt, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(stmt, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(stmt, i);
}

/* Read a recorded node from columns col (boot), col + 1 (pidns), col + 2 (host). */
static void
col_node(sqlite3_stmt *stmt, int col, struct proc_node *n)
{
	const unsigned char *boot = sqlite3_column_text(stmt, col);
	const unsigned char *host = sqlite3_column_text(stmt, col + 2);

	memset(n, 0, sizeof *n);
	if (boot)
		snprintf(n->boot, sizeof n->boot, "%s", (const char *)boot);
	n->pidns = (uint64_t)sqlite3_column_int64(stmt, col + 1);
	if (host)
		snprintf(n->host, sizeof n->host, "%s", (const char *)host);
}

/* Read a recorded supervisor from the SUP_COLUMNS at col. */
static void
col_proc(sqlite3_stmt *stmt, int col, struct proc_id *p)
{
	p->pid = (pid_t)sqlite3_column_int64(stmt, col);
	p->start = (uint64_t)sqlite3_column_int64(stmt, col + 1);
	p->uid = (uid_t)sqlite3_column_int64(stmt, col + 2);
	col_node(stmt, col + 3, &p->node);
}

/* Bind the node of p at parameters i (boot), i + 1 (pidns), i + 2 (host). */
static void
bind_node(sqlite3_stmt *stmt, int i, const struct proc_id *p)
{
	bind_text(stmt, i, p->node.boot[0] ? p->node.boot : NULL);
	sqlite3_bind_int64(stmt, i + 1, (sqlite3_int64)p->node.pidns);
	bind_text(stmt, i + 2, p->node.boot[0] ? p->node.host : NULL);
}

/* Copy a TEXT or BLOB column into a new C string, NULL for SQL NULL. */
static char *
col_string(sqlite3_stmt *stmt, int i)
{
	const void *p;
	int n;

	if (sqlite3_column_type(stmt, i) == SQLITE_NULL)
		return NULL;
	p = sqlite3_column_blob(stmt, i);
	n = sqlite3_column_bytes(stmt, i);
	return xstrndup(p ? p : "", (size_t)n);
}

static int
exec_sql(struct store *st, const char *sql, const char *what)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(st->errmsg, sizeof st->errmsg, "%s: %s", what,
			 msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return SYNC_ERR_STORE;
	}
	return SYNC_OK;
}

bool
store_fs_shared(long f_type)
{
	/* statfs(2)'s f_type of file systems that several hosts mount at once. */
	static const unsigned long shared[] = {
		0x6969,       /* NFS */
		0x0BD00BD0,   /* Lustre */
		0x47504653,   /* GPFS (IBM Storage Scale) */
		0x19830326,   /* BeeGFS */
		0x00C36400,   /* CephFS */
		0xAAD7AAEA,   /* Panasas */
		0x01161970,   /* GFS2 */
		0x7461636F,   /* OCFS2 */
		0x5346414F,   /* OpenAFS */
		0x6B414653,   /* kAFS */
		0x517B,       /* SMB */
		0xFF534D42,   /* CIFS */
		0xFE534D42,   /* SMB2 */
		0x01021997,   /* 9P */
		0x13661366,   /* OrangeFS */
		0x65735546,   /* FUSE: GlusterFS, sshfs, WekaFS clients, ... */
	};
	size_t i;

	for (i = 0; i < sizeof shared / sizeof *shared; i++)
		if ((unsigned long)(unsigned int)f_type == shared[i])
			return true;
	return false;
}

/*
 * Choose the journal: WAL where the state directory is on this host's own
 * file system (readers see a snapshot while a supervisor writes, and never
 * wait for it); DELETE where several hosts may open the database at once
 * (a home on NFS, Lustre, GPFS, ...): WAL's index is shared memory, which
 * works between processes of one host only, and SQLite does not support
 * it over a network file system; a rollback journal relies on the file
 * system's locks alone. Switching needs the file to itself, and SQLite
 * answers "locked" at once rather than waiting when another process is
 * opening the database at the same moment: retry. A database that cannot
 * leave WAL now (a process of an older scow-sync has it open) stays so
 * until the next opening.
 */
static int
use_journal(struct store *st, const char *dir)
{
	struct statfs fs;
	bool shared = statfs(dir, &fs) == 0 && store_fs_shared((long)fs.f_type);
	const char *want = shared ? "delete" : "wal";
	double deadline = now_monotonic() + (shared ? 1.0 : BUSY_TIMEOUT_MS / 1000.0);
	sqlite3_stmt *stmt;
	int rc;

	st->shared = shared;
	for (;;) {
		bool done = false;

		if (sqlite3_prepare_v2(st->db, shared ? "PRAGMA journal_mode = DELETE" :
				       "PRAGMA journal_mode = WAL", -1, &stmt, NULL) == SQLITE_OK) {
			rc = sqlite3_step(stmt);
			done = rc == SQLITE_ROW &&
			       sqlite3_stricmp((const char *)sqlite3_column_text(stmt, 0),
					       want) == 0;
			sqlite3_finalize(stmt);
		} else
			rc = sqlite3_errcode(st->db);
		if (done)
			return SYNC_OK;
		if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED &&
		    rc != SQLITE_ROW)
			break;
		if (now_monotonic() > deadline)
			break;
		sqlite3_sleep(20);
	}
	if (shared)
		return SYNC_OK;
	snprintf(st->errmsg, sizeof st->errmsg, "configure: %s", sqlite3_errmsg(st->db));
	return SYNC_ERR_STORE;
}

int
store_begin(struct store *st)
{
	return exec_sql(st, "BEGIN IMMEDIATE", "begin");
}

int
store_commit(struct store *st)
{
	return exec_sql(st, "COMMIT", "commit");
}

void
store_rollback(struct store *st)
{
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Read the schema version into *version. */
static int
schema_version(struct store *st, int *version)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "PRAGMA user_version", &stmt)) < 0)
		return rc;
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		rc = db_error(st, "read schema version");
		sqlite3_finalize(stmt);
		return rc;
	}
	*version = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	if (*version > SCHEMA_VERSION) {
		snprintf(st->errmsg, sizeof st->errmsg,
			 "schema version %d is newer than this scow-sync (%d)",
			 *version, SCHEMA_VERSION);
		return SYNC_ERR_SCHEMA;
	}
	return SYNC_OK;
}

/*
 * Bring the schema to SCHEMA_VERSION inside one write transaction. The
 * version is read first without any lock: a store that is up to date (all
 * but the first opening after an upgrade) is never write-locked here, so
 * that a query does not wait behind a supervisor that is writing.
 */
static int
migrate(struct store *st)
{
	int version, rc, i;

	if ((rc = schema_version(st, &version)) < 0 || version == SCHEMA_VERSION)
		return rc;
	if ((rc = store_begin(st)) < 0)
		return rc;
	/* Another process may have migrated it meanwhile: read again under the lock. */
	if ((rc = schema_version(st, &version)) < 0)
		goto fail;
	for (i = version; i < SCHEMA_VERSION; i++) {
		char pragma[64];

		if ((rc = exec_sql(st, migrations[i], "migrate")) < 0)
			goto fail;
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", i + 1);
		if ((rc = exec_sql(st, pragma, "set schema version")) < 0)
			goto fail;
	}
	return store_commit(st);
fail:
	store_rollback(st);
	return rc;
}

int
store_prepare_dir(const char *dir, char *errbuf, size_t errlen)
{
	struct strbuf sb = STRBUF_INIT;
	struct stat sbuf;
	const char *p;
	int rc = SYNC_OK;

	/* mkdir -p with 0700 for every component we create. */
	for (p = dir; ; p++) {
		if (*p == '/' || *p == '\0') {
			if (sb.len > 0 && mkdir(sb.buf, 0700) < 0 && errno != EEXIST) {
				snprintf(errbuf, errlen, "cannot create state directory '%s': %s",
					 sb.buf, strerror(errno));
				rc = SYNC_ERR_SYSTEM;
				goto out;
			}
		}
		if (*p == '\0')
			break;
		strbuf_addch(&sb, *p);
	}
	if (stat(dir, &sbuf) < 0 || !S_ISDIR(sbuf.st_mode)) {
		snprintf(errbuf, errlen, "state directory '%s' is not a directory", dir);
		rc = SYNC_ERR_SYSTEM;
		goto out;
	}
	if (sbuf.st_uid != geteuid()) {
		snprintf(errbuf, errlen, "state directory '%s' belongs to another user", dir);
		errno = EPERM;
		rc = SYNC_ERR_SYSTEM;
		goto out;
	}
	if ((sbuf.st_mode & 077) != 0 && chmod(dir, 0700) < 0) {
		snprintf(errbuf, errlen, "cannot make state directory '%s' private: %s",
			 dir, strerror(errno));
		rc = SYNC_ERR_SYSTEM;
	}
out:
	strbuf_release(&sb);
	return rc;
}

int
store_open(const char *dir, struct store **out, char *errbuf, size_t errlen)
{
	struct store *st = NULL;
	char *path = NULL;
	int fd, rc;

	*out = NULL;
	if ((rc = store_prepare_dir(dir, errbuf, errlen)) < 0)
		return rc;
	path = xasprintf("%s/%s", dir, STORE_FILE);
	/* Create it private before SQLite does (its -wal/-shm copy the mode). */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(errbuf, errlen, "cannot open state database '%s': %s",
			 path, strerror(errno));
		rc = SYNC_ERR_SYSTEM;
		goto out;
	}
	fchmod(fd, 0600);
	close(fd);

	st = xcalloc(1, sizeof *st);
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(errbuf, errlen, "cannot open state database '%s': %s", path,
			 st->db ? sqlite3_errmsg(st->db) : "out of memory");
		rc = SYNC_ERR_STORE;
		goto out;
	}
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	if ((rc = use_journal(st, dir)) < 0 ||
	    /* A rollback journal is safe from a crash only when every commit syncs. */
	    (rc = exec_sql(st, st->shared ? "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;" :
			   "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
			   "configure")) < 0 ||
	    (rc = migrate(st)) < 0) {
		snprintf(errbuf, errlen, "state database '%s': %s", path, st->errmsg);
		goto out;
	}
	*out = st;
	st = NULL;
	rc = SYNC_OK;
out:
	store_close(st);
	free(path);
	return rc;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	sqlite3_close(st->db);
	free(st);
}

int
store_transfer_insert(struct store *st, struct transfer *t)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "INSERT INTO transfers (address, user, port, source, "
			  "destination, key_path, max_depth, state, created_at, sup_pid, "
			  "sup_start, sup_uid, sup_boot, sup_pidns, sup_host, far_host, "
			  "far_destination) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, "
			  "?, ?, ?, ?, ?)",
			  &stmt)) < 0)
		return rc;
	t->created_at = now_wall();
	bind_text(stmt, 1, t->address);
	bind_text(stmt, 2, t->user);
	sqlite3_bind_int(stmt, 3, t->port);
	bind_path(stmt, 4, t->source);
	bind_path(stmt, 5, t->destination);
	bind_path(stmt, 6, t->key_path);
	sqlite3_bind_int(stmt, 7, t->max_depth);
	sqlite3_bind_int64(stmt, 8, t->created_at);
	sqlite3_bind_int64(stmt, 9, t->supervisor.pid);
	sqlite3_bind_int64(stmt, 10, (sqlite3_int64)t->supervisor.start);
	sqlite3_bind_int64(stmt, 11, t->supervisor.uid);
	bind_node(stmt, 12, &t->supervisor);
	bind_text(stmt, 15, t->far_host);
	bind_path(stmt, 16, t->far_destination);
	if ((rc = step_done(st, stmt, "record transfer")) < 0)
		return rc;
	t->id = sqlite3_last_insert_rowid(st->db);
	t->state = TRANSFER_QUEUED;
	return SYNC_OK;
}

/*
 * Record the files that running units were moving as leftovers, before
 * their rows forget them: a dead supervisor's rsync may have left partial
 * data of them on the far side, for a later cleanup to remove.
 */
static int
keep_running_files(struct store *st, int64_t transfer_id)
{
	struct strvec files = STRVEC_INIT;
	sqlite3_stmt *stmt;
	size_t i;
	int rc, step;

	if ((rc = prepare(st, "SELECT cur_file FROM units WHERE transfer_id = ? AND "
			  "state = 'running' AND cur_file IS NOT NULL", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		char *f = col_string(stmt, 0);

		if (f)
			strvec_push(&files, f);
		free(f);
	}
	sqlite3_finalize(stmt);
	if (step != SQLITE_DONE) {
		strvec_clear(&files);
		return db_error(st, "read running files");
	}
	/*
	 * The file, and its directory as a marker ("DIR/"): the receiver may
	 * have been a few files behind the one recorded (see clean_leftovers).
	 */
	for (i = 0; i < files.nr && rc == SYNC_OK; i++) {
		const char *slash = strrchr(files.v[i], '/');
		char *marker = xasprintf("%.*s/", slash ? (int)(slash - files.v[i]) : 0,
					 files.v[i]);

		if ((rc = store_leftover_add(st, transfer_id, files.v[i])) == SYNC_OK)
			rc = store_leftover_add(st, transfer_id, marker);
		free(marker);
	}
	strvec_clear(&files);
	return rc;
}

/*
 * Put transfer id back in the queue under owner, inside the caller's write
 * transaction: units that were running or failed are pending again with
 * their attempts reset; with reset_excluded, parts stopped on request are
 * wanted again too. key_path, when not NULL, replaces the recorded key.
 */
static int
reopen_locked(struct store *st, int64_t id, const struct proc_id *owner,
	      const char *key_path, bool reset_excluded)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "UPDATE transfers SET state = 'queued', error = NULL, "
			  "finished_at = NULL, sup_pid = ?, sup_start = ?, sup_uid = ?, "
			  "sup_sid = NULL, stop_requested = 0, key_path = coalesce(?, key_path), "
			  "sup_boot = ?6, sup_pidns = ?7, sup_host = ?8 WHERE id = ?5",
			  &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, owner->pid);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)owner->start);
	sqlite3_bind_int64(stmt, 3, owner->uid);
	bind_path(stmt, 4, key_path);
	sqlite3_bind_int64(stmt, 5, id);
	bind_node(stmt, 6, owner);
	if ((rc = step_done(st, stmt, "reopen transfer")) < 0 ||
	    (rc = keep_running_files(st, id)) < 0)
		return rc;
	if ((rc = prepare(st, "UPDATE units SET state = 'pending', attempts = 0, error = NULL, "
			  "cur_file = NULL WHERE transfer_id = ?1 AND (state IN ('running', "
			  "'failed') OR (?2 AND state = 'excluded'))", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int(stmt, 2, reset_excluded);
	if ((rc = step_done(st, stmt, "reopen units")) < 0)
		return rc;
	if (!reset_excluded)
		return SYNC_OK;
	if ((rc = prepare(st, "DELETE FROM exclusions WHERE transfer_id = ?", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, id);
	return step_done(st, stmt, "forget exclusions");
}

static bool
state_is(sqlite3_stmt *stmt, int col, enum transfer_state s)
{
	const unsigned char *name = sqlite3_column_text(stmt, col);

	return name && strcmp((const char *)name, transfer_state_name(s)) == 0;
}


int
store_transfer_claim(struct store *st, struct transfer *t,
		     bool (*alive)(const struct proc_id *), enum claim_result *result)
{
	sqlite3_stmt *stmt = NULL;
	int64_t reopen = 0;
	bool newest = true;
	int rc, step;

	*result = CLAIM_NEW;
	if ((rc = store_begin(st)) < 0)
		return rc;
	/* Where an earlier transfer found this destination on this host. */
	if (t->far_host && t->far_destination == NULL) {
		if ((rc = prepare(st, "SELECT far_destination FROM transfers WHERE far_host = ? "
				  "AND destination = ? AND far_destination IS NOT NULL "
				  "ORDER BY id DESC LIMIT 1", &stmt)) < 0)
			goto fail;
		bind_text(stmt, 1, t->far_host);
		bind_path(stmt, 2, t->destination);
		if ((step = sqlite3_step(stmt)) == SQLITE_ROW)
			t->far_destination = col_string(stmt, 0);
		else if (step != SQLITE_DONE) {
			rc = db_error(st, "look for the destination");
			goto fail;
		}
		sqlite3_finalize(stmt);
		stmt = NULL;
	}
	/* Newest first: the newest identical request decides about resuming. */
	if ((rc = prepare(st, "SELECT id, state, max_depth, " SUP_COLUMNS " FROM transfers "
			  "WHERE source = ?4 AND (far_host = ?6 OR (address = ?1 AND user = ?2 AND "
			  "port = ?3)) AND (destination IN (?5, ?7) OR far_destination IN "
			  "(?5, ?7)) ORDER BY id DESC", &stmt)) < 0)
		goto fail;
	bind_text(stmt, 1, t->address);
	bind_text(stmt, 2, t->user);
	sqlite3_bind_int(stmt, 3, t->port);
	bind_path(stmt, 4, t->source);
	bind_path(stmt, 5, t->destination);
	bind_text(stmt, 6, t->far_host);
	bind_path(stmt, 7, t->far_destination);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		bool active = state_is(stmt, 1, TRANSFER_QUEUED) ||
			      state_is(stmt, 1, TRANSFER_RUNNING);
		struct proc_id p;

		col_proc(stmt, 3, &p);
		if (active && alive(&p)) {
			t->id = sqlite3_column_int64(stmt, 0);
			*result = CLAIM_RUNNING;
			break;
		}
		/* Failed, or its supervisor died: continue it rather than start over. */
		if (newest && sqlite3_column_int(stmt, 2) == t->max_depth &&
		    (active || state_is(stmt, 1, TRANSFER_FAILED) ||
		     state_is(stmt, 1, TRANSFER_INTERRUPTED)))
			reopen = sqlite3_column_int64(stmt, 0);
		newest = false;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		rc = db_error(st, "look for the same transfer");
		goto fail;
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (*result == CLAIM_RUNNING) {
		store_rollback(st);
		return SYNC_OK;
	}
	if (reopen) {
		/* A new request for the same data: stopped parts are wanted again. */
		if ((rc = reopen_locked(st, reopen, &t->supervisor, t->key_path, true)) < 0)
			goto fail;
		t->id = reopen;
		t->state = TRANSFER_QUEUED;
		*result = CLAIM_RESUMED;
	} else if ((rc = store_transfer_insert(st, t)) < 0)
		goto fail;
	return store_commit(st);
fail:
	sqlite3_finalize(stmt);
	store_rollback(st);
	return rc;
}

/*
 * Inside a transaction: the id of another live transfer of the same
 * request as transfer id (a second writer into its destination), or 0.
 */
static int
find_live_twin(struct store *st, int64_t id, bool (*alive)(const struct proc_id *),
	       int64_t *twin)
{
	sqlite3_stmt *stmt;
	struct proc_id p;
	int rc, step;

	*twin = 0;
	if ((rc = prepare(st, "SELECT o.id, o.sup_pid, o.sup_start, o.sup_uid, o.sup_boot, "
			  "o.sup_pidns, o.sup_host FROM transfers t "
			  "JOIN transfers o ON " SAME_REQUEST("o", "t") " AND o.id != t.id "
			  "WHERE t.id = ? AND o.state IN ('queued', 'running')", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, id);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		col_proc(stmt, 1, &p);
		if (alive(&p)) {
			*twin = sqlite3_column_int64(stmt, 0);
			break;
		}
	}
	rc = step == SQLITE_ROW || step == SQLITE_DONE ? SYNC_OK : db_error(st, "look for twins");
	sqlite3_finalize(stmt);
	return rc;
}

int
store_transfer_resume(struct store *st, int64_t id, const struct proc_id *owner,
		      bool (*alive)(const struct proc_id *), enum transfer_state *was,
		      int64_t *running_id)
{
	sqlite3_stmt *stmt = NULL;
	struct proc_id p;
	int rc, step, state;

	*running_id = 0;
	if ((rc = store_begin(st)) < 0)
		return rc;
	if ((rc = prepare(st, "SELECT state, " SUP_COLUMNS " FROM transfers "
			  "WHERE id = ?", &stmt)) < 0)
		goto fail;
	sqlite3_bind_int64(stmt, 1, id);
	step = sqlite3_step(stmt);
	if (step == SQLITE_DONE) {
		rc = SYNC_ERR_NOT_FOUND;
		goto fail;
	}
	if (step != SQLITE_ROW) {
		rc = db_error(st, "read transfer");
		goto fail;
	}
	state = name_index(transfer_state_names,
			   sizeof transfer_state_names / sizeof *transfer_state_names,
			   sqlite3_column_text(stmt, 0));
	*was = state < 0 ? TRANSFER_FAILED : (enum transfer_state)state;
	col_proc(stmt, 1, &p);
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (*was == TRANSFER_DONE) {
		rc = SYNC_ERR_INVALID;
		goto fail;
	}
	if (!transfer_state_finished(*was) && alive(&p)) {
		*running_id = id;
		rc = SYNC_ERR_EXISTS;
		goto fail;
	}
	/* Never two writers: the same request may be running under another id. */
	if ((rc = find_live_twin(st, id, alive, running_id)) < 0)
		goto fail;
	if (*running_id) {
		rc = SYNC_ERR_EXISTS;
		goto fail;
	}
	if ((rc = reopen_locked(st, id, owner, NULL, false)) < 0)
		goto fail;
	return store_commit(st);
fail:
	sqlite3_finalize(stmt);
	store_rollback(st);
	return rc;
}

/* Fill t from a row selected with TRANSFER_COLUMNS. */
static void
read_transfer(sqlite3_stmt *stmt, struct transfer *t)
{
	int state;

	memset(t, 0, sizeof *t);
	t->id = sqlite3_column_int64(stmt, 0);
	t->address = col_string(stmt, 1);
	t->user = col_string(stmt, 2);
	t->port = sqlite3_column_int(stmt, 3);
	t->source = col_string(stmt, 4);
	t->destination = col_string(stmt, 5);
	t->key_path = col_string(stmt, 6);
	t->max_depth = sqlite3_column_int(stmt, 7);
	state = name_index(transfer_state_names,
			   sizeof transfer_state_names / sizeof *transfer_state_names,
			   sqlite3_column_text(stmt, 8));
	t->state = state < 0 ? TRANSFER_FAILED : (enum transfer_state)state;
	t->error = col_string(stmt, 9);
	t->created_at = sqlite3_column_int64(stmt, 10);
	t->started_at = sqlite3_column_int64(stmt, 11);
	t->finished_at = sqlite3_column_int64(stmt, 12);
	t->supervisor.pid = (pid_t)sqlite3_column_int64(stmt, 13);
	t->supervisor.start = (uint64_t)sqlite3_column_int64(stmt, 14);
	t->supervisor.uid = (uid_t)sqlite3_column_int64(stmt, 15);
	t->bytes_done = (uint64_t)sqlite3_column_int64(stmt, 16);
	t->files_done = (uint64_t)sqlite3_column_int64(stmt, 17);
	t->planned = sqlite3_column_int(stmt, 18) != 0;
	t->session = (pid_t)sqlite3_column_int64(stmt, 19);
	col_node(stmt, 20, &t->supervisor.node);
	t->far_host = col_string(stmt, 23);
	t->far_destination = col_string(stmt, 24);
	t->units_total = (uint64_t)sqlite3_column_int64(stmt, 25);
	t->units_done = (uint64_t)sqlite3_column_int64(stmt, 26);
	t->units_failed = (uint64_t)sqlite3_column_int64(stmt, 27);
	if (t->address == NULL)
		t->address = xstrdup("");
	if (t->user == NULL)
		t->user = xstrdup("");
	if (t->source == NULL)
		t->source = xstrdup("");
	if (t->destination == NULL)
		t->destination = xstrdup("");
	if (t->key_path == NULL)
		t->key_path = xstrdup("");
}

int
store_transfer_get(struct store *st, int64_t id, struct transfer *out)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "SELECT " TRANSFER_COLUMNS " FROM transfers WHERE id = ?",
			  &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		read_transfer(stmt, out);
		rc = SYNC_OK;
	} else if (rc == SQLITE_DONE)
		rc = SYNC_ERR_NOT_FOUND;
	else
		rc = db_error(st, "read transfer");
	sqlite3_finalize(stmt);
	return rc;
}

int
store_transfer_set_running(struct store *st, int64_t id, const struct proc_id *sup,
			   pid_t session, const struct proc_id *owner)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "UPDATE transfers SET state = 'running', error = NULL, "
			  "started_at = ?, finished_at = NULL, sup_pid = ?, sup_start = ?, "
			  "sup_uid = ?, sup_sid = ?, sup_boot = ?9, sup_pidns = ?10, "
			  "sup_host = ?11 WHERE id = ?6 AND "
			  "(?7 = 0 OR (state = 'queued' AND sup_pid = ?7 AND sup_start = ?8))",
			  &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, now_wall());
	sqlite3_bind_int64(stmt, 2, sup->pid);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)sup->start);
	sqlite3_bind_int64(stmt, 4, sup->uid);
	if (session > 0)
		sqlite3_bind_int64(stmt, 5, session);
	else
		sqlite3_bind_null(stmt, 5);
	sqlite3_bind_int64(stmt, 6, id);
	sqlite3_bind_int64(stmt, 7, owner ? owner->pid : 0);
	sqlite3_bind_int64(stmt, 8, owner ? (sqlite3_int64)owner->start : 0);
	bind_node(stmt, 9, sup);
	if ((rc = step_done(st, stmt, "mark transfer running")) < 0)
		return rc;
	return sqlite3_changes(st->db) ? SYNC_OK : SYNC_ERR_EXISTS;
}

int
store_transfer_finish(struct store *st, int64_t id, enum transfer_state s,
		      const char *error)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "UPDATE transfers SET state = ?, error = ?, finished_at = ? "
			  "WHERE id = ?", &stmt)) < 0)
		return rc;
	bind_text(stmt, 1, transfer_state_name(s));
	bind_text(stmt, 2, error);
	if (transfer_state_finished(s))
		sqlite3_bind_int64(stmt, 3, now_wall());
	else
		sqlite3_bind_null(stmt, 3);
	sqlite3_bind_int64(stmt, 4, id);
	return step_done(st, stmt, "record transfer state");
}

int
store_transfer_request_stop(struct store *st, int64_t id)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "UPDATE transfers SET stop_requested = 1 WHERE id = ? AND "
			  "state IN ('queued', 'running', 'interrupted')", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, id);
	return step_done(st, stmt, "record the stop request");
}

int
store_transfer_stop_requested(struct store *st, int64_t id, bool *out)
{
	sqlite3_stmt *stmt;
	int rc;

	*out = false;
	if ((rc = prepare(st, "SELECT stop_requested FROM transfers WHERE id = ?", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int(stmt, 0) != 0;
		rc = SYNC_OK;
	} else
		rc = rc == SQLITE_DONE ? SYNC_ERR_NOT_FOUND : db_error(st, "read the stop request");
	sqlite3_finalize(stmt);
	return rc;
}

int
store_transfer_finish_orphan(struct store *st, int64_t id, const struct proc_id *owner,
			     enum transfer_state s, const char *error)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "UPDATE transfers SET state = ?, error = ?, finished_at = ? "
			  "WHERE id = ? AND state IN ('queued', 'running', 'interrupted') AND "
			  "sup_pid = ? AND sup_start = ? AND sup_uid = ? AND "
			  "coalesce(sup_boot, '') = coalesce(?8, '')", &stmt)) < 0)
		return rc;
	bind_text(stmt, 1, transfer_state_name(s));
	bind_text(stmt, 2, error);
	sqlite3_bind_int64(stmt, 3, now_wall());
	sqlite3_bind_int64(stmt, 4, id);
	sqlite3_bind_int64(stmt, 5, owner->pid);
	sqlite3_bind_int64(stmt, 6, (sqlite3_int64)owner->start);
	sqlite3_bind_int64(stmt, 7, owner->uid);
	bind_text(stmt, 8, owner->node.boot[0] ? owner->node.boot : NULL);
	if ((rc = step_done(st, stmt, "record transfer state")) < 0)
		return rc;
	return sqlite3_changes(st->db) ? SYNC_OK : SYNC_ERR_NOT_FOUND;
}

int
store_leftovers_count(struct store *st, int64_t transfer_id, uint64_t *n)
{
	sqlite3_stmt *stmt;
	int rc;

	*n = 0;
	if ((rc = prepare(st, "SELECT count(*) FROM leftovers WHERE transfer_id = ?", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*n = (uint64_t)sqlite3_column_int64(stmt, 0);
		rc = SYNC_OK;
	} else
		rc = db_error(st, "count partial files");
	sqlite3_finalize(stmt);
	return rc;
}

int
store_transfer_mark_interrupted(struct store *st, int64_t id, const struct proc_id *sup,
				const char *reason)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "UPDATE transfers SET state = 'interrupted', error = ?, "
			  "finished_at = ? WHERE id = ? AND state = 'running' AND "
			  "sup_pid = ? AND sup_start = ? AND "
			  "coalesce(sup_boot, '') = coalesce(?6, '')",
			  &stmt)) < 0)
		return rc;
	bind_text(stmt, 1, reason);
	sqlite3_bind_int64(stmt, 2, now_wall());
	sqlite3_bind_int64(stmt, 3, id);
	sqlite3_bind_int64(stmt, 4, sup->pid);
	sqlite3_bind_int64(stmt, 5, (sqlite3_int64)sup->start);
	bind_text(stmt, 6, sup->node.boot[0] ? sup->node.boot : NULL);
	if ((rc = step_done(st, stmt, "mark transfer interrupted")) < 0)
		return rc;
	return sqlite3_changes(st->db) ? SYNC_OK : SYNC_ERR_NOT_FOUND;
}

int
store_transfer_set_far_destination(struct store *st, int64_t id, const char *path)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "UPDATE transfers SET far_destination = ? WHERE id = ?", &stmt)) < 0)
		return rc;
	bind_path(stmt, 1, path);
	sqlite3_bind_int64(stmt, 2, id);
	return step_done(st, stmt, "record the destination");
}

int
store_transfer_set_totals(struct store *st, int64_t id, uint64_t bytes_done,
			  uint64_t files_done)
{
	sqlite3_stmt *stmt;
	int rc;

	/* Never lower: they count every run, and views must not see them go back. */
	if ((rc = prepare(st, "UPDATE transfers SET bytes_done = max(bytes_done, ?1), "
			  "files_done = max(files_done, ?2) WHERE id = ?3", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)bytes_done);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)files_done);
	sqlite3_bind_int64(stmt, 3, id);
	return step_done(st, stmt, "record totals");
}

int
store_transfer_set_answer(struct store *st, int64_t id, double seconds)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "UPDATE transfers SET answer_seconds = ? WHERE id = ?", &stmt)) < 0)
		return rc;
	sqlite3_bind_double(stmt, 1, seconds);
	sqlite3_bind_int64(stmt, 2, id);
	return step_done(st, stmt, "record the far side's answer");
}

int
store_transfer_answer_before(struct store *st, const struct transfer *t, int64_t since,
			     bool same_place, double *seconds)
{
	sqlite3_stmt *stmt;
	int rc;

	*seconds = -1;
	if ((rc = prepare(st, "SELECT answer_seconds FROM transfers WHERE id < ?1 AND "
			  "address = ?2 AND user = ?3 AND port = ?4 AND "
			  "(?8 = 0 OR (source = ?5 AND destination = ?6)) AND "
			  "state = 'done' AND answer_seconds IS NOT NULL AND "
			  "finished_at >= ?7 ORDER BY id DESC LIMIT 1", &stmt)) < 0)
		return rc;
	sqlite3_bind_int(stmt, 8, same_place);
	sqlite3_bind_int64(stmt, 1, t->id);
	bind_text(stmt, 2, t->address);
	bind_text(stmt, 3, t->user);
	sqlite3_bind_int(stmt, 4, t->port);
	bind_path(stmt, 5, t->source);
	bind_path(stmt, 6, t->destination);
	sqlite3_bind_int64(stmt, 7, since);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*seconds = sqlite3_column_double(stmt, 0);
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SYNC_OK :
	     db_error(st, "find an earlier answer");
	sqlite3_finalize(stmt);
	return rc;
}

int
store_transfer_foreach(struct store *st, const struct transfer_filter *f,
		       transfer_fn fn, void *ctx)
{
	struct strbuf sql = STRBUF_INIT;
	sqlite3_stmt *stmt;
	struct transfer t;
	unsigned states = f ? f->states : 0;
	int rc, step, i;
	const char *sep = "";

	strbuf_addstr(&sql, "SELECT " TRANSFER_COLUMNS " FROM transfers WHERE "
		      "(?1 IS NULL OR address = ?1) AND (?2 IS NULL OR user = ?2) AND "
		      "(?3 IS NULL OR source = ?3) AND "
		      "(?4 = 0 OR state IN ('queued', 'running'))");
	/* The names are the program's own: nothing of the caller's goes into the text. */
	if (states & (1u << TRANSFER_INTERRUPTED))
		states |= 1u << TRANSFER_RUNNING;
	if (states != 0) {
		strbuf_addstr(&sql, " AND state IN (");
		for (i = TRANSFER_QUEUED; i <= TRANSFER_INTERRUPTED; i++) {
			if (!(states & (1u << i)))
				continue;
			strbuf_addf(&sql, "%s'%s'", sep,
				    transfer_state_name((enum transfer_state)i));
			sep = ", ";
		}
		strbuf_addch(&sql, ')');
	}
	/* Two indexed look-ups, not a scan of the whole history. */
	if (f && f->windowed)
		strbuf_addstr(&sql, " AND id IN (SELECT id FROM transfers WHERE state IN "
			      "('queued', 'running', 'interrupted') UNION ALL SELECT id FROM "
			      "transfers WHERE coalesce(finished_at, created_at) >= ?5)");
	strbuf_addstr(&sql, " ORDER BY id DESC");
	rc = prepare(st, sql.buf, &stmt);
	strbuf_release(&sql);
	if (rc < 0)
		return rc;
	bind_text(stmt, 1, f ? f->address : NULL);
	bind_text(stmt, 2, f ? f->user : NULL);
	bind_path(stmt, 3, f ? f->source : NULL);
	sqlite3_bind_int(stmt, 4, f && f->unfinished_only);
	if (f && f->windowed)
		sqlite3_bind_int64(stmt, 5, f->since);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		read_transfer(stmt, &t);
		rc = fn(&t, ctx);
		transfer_release(&t);
		if (rc != 0)
			break;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = db_error(st, "list transfers");
	sqlite3_finalize(stmt);
	return rc;
}

int
store_unit_add(struct store *st, int64_t transfer_id, enum unit_kind kind,
	       const char *path, const struct unit_size *size, int64_t *id_out)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "INSERT OR IGNORE INTO units (transfer_id, kind, path, state, "
			  "files_total, bytes_total) VALUES (?, ?, ?, 'pending', ?, ?)",
			  &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	bind_text(stmt, 2, unit_kind_names[kind]);
	bind_path(stmt, 3, path);
	sqlite3_bind_int64(stmt, 4, size ? (sqlite3_int64)size->files : 0);
	sqlite3_bind_int64(stmt, 5, size ? (sqlite3_int64)size->bytes : 0);
	if ((rc = step_done(st, stmt, "record unit")) < 0)
		return rc;
	if (id_out)
		*id_out = sqlite3_changes(st->db) ? sqlite3_last_insert_rowid(st->db) : 0;
	return SYNC_OK;
}

int
store_unit_next_pending(struct store *st, int64_t transfer_id, int64_t after_id,
			struct unit *out, size_t max, size_t *n_out)
{
	sqlite3_stmt *stmt;
	size_t n = 0;
	int rc, kind;

	*n_out = 0;
	if ((rc = prepare(st, "SELECT id, kind, path, attempts, error, files_total, "
			  "bytes_total, files_done, bytes_done FROM units "
			  "WHERE transfer_id = ? AND state = 'pending' AND id > ? "
			  "ORDER BY id LIMIT ?", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	sqlite3_bind_int64(stmt, 2, after_id);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)max);
	while (n < max && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct unit *u = &out[n++];

		memset(u, 0, sizeof *u);
		u->id = sqlite3_column_int64(stmt, 0);
		u->transfer_id = transfer_id;
		kind = name_index(unit_kind_names, 2, sqlite3_column_text(stmt, 1));
		u->kind = kind == 1 ? UNIT_TREE : UNIT_FILE;
		u->path = col_string(stmt, 2);
		if (u->path == NULL)
			u->path = xstrdup("");
		u->state = UNIT_PENDING;
		u->attempts = sqlite3_column_int(stmt, 3);
		u->error = col_string(stmt, 4);
		u->size.files = (uint64_t)sqlite3_column_int64(stmt, 5);
		u->size.bytes = (uint64_t)sqlite3_column_int64(stmt, 6);
		u->files_sent = (uint64_t)sqlite3_column_int64(stmt, 7);
		u->bytes_sent = (uint64_t)sqlite3_column_int64(stmt, 8);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE && n < max) {
		rc = db_error(st, "read units");
		while (n > 0)
			unit_release(&out[--n]);
		sqlite3_finalize(stmt);
		return rc;
	}
	sqlite3_finalize(stmt);
	*n_out = n;
	return SYNC_OK;
}

int
store_unit_set_state(struct store *st, int64_t unit_id, enum unit_state s,
		     int attempts, const char *error)
{
	sqlite3_stmt *stmt;
	int rc;

	/* A unit that is no longer running has no current file. */
	if ((rc = prepare(st, "UPDATE units SET state = ?1, attempts = ?2, error = ?3, "
			  "updated_at = ?4, cur_file = CASE WHEN ?1 = 'running' "
			  "THEN cur_file END WHERE id = ?5", &stmt)) < 0)
		return rc;
	bind_text(stmt, 1, unit_state_name(s));
	sqlite3_bind_int(stmt, 2, attempts);
	bind_text(stmt, 3, error);
	sqlite3_bind_int64(stmt, 4, now_wall());
	sqlite3_bind_int64(stmt, 5, unit_id);
	return step_done(st, stmt, "record unit state");
}

int
store_unit_set_sent(struct store *st, int64_t unit_id, uint64_t bytes, uint64_t files)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "UPDATE units SET bytes_done = ?, files_done = ? WHERE id = ?",
			  &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)bytes);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)files);
	sqlite3_bind_int64(stmt, 3, unit_id);
	return step_done(st, stmt, "record what a unit sent");
}

int
store_unit_set_done(struct store *st, int64_t unit_id, int attempts, uint64_t bytes,
		    uint64_t files)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "UPDATE units SET state = 'done', attempts = ?, error = NULL, "
			  "cur_file = NULL, bytes_done = ?, files_done = ?, updated_at = ? "
			  "WHERE id = ?", &stmt)) < 0)
		return rc;
	sqlite3_bind_int(stmt, 1, attempts);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)bytes);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)files);
	sqlite3_bind_int64(stmt, 4, now_wall());
	sqlite3_bind_int64(stmt, 5, unit_id);
	return step_done(st, stmt, "record unit done");
}

/* Bind path and path + "/" as ?a and ?b, for "at or below path" matches. */
static void
bind_subtree(sqlite3_stmt *stmt, int a, int b, const char *path, struct strbuf *tmp)
{
	strbuf_reset(tmp);
	strbuf_addstr(tmp, path);
	strbuf_addch(tmp, '/');
	bind_path(stmt, a, path);
	sqlite3_bind_blob(stmt, b, tmp->buf, (int)tmp->len, SQLITE_TRANSIENT);
}

#define AT_OR_BELOW(col, a, b) \
	"(" col " = ?" #a " OR substr(" col ", 1, length(?" #b ")) = ?" #b ")"

int
store_units_exclude(struct store *st, int64_t transfer_id, const char *path, uint64_t *n)
{
	struct strbuf tmp = STRBUF_INIT;
	sqlite3_stmt *stmt;
	int rc;

	*n = 0;
	if ((rc = prepare(st, "UPDATE units SET state = 'excluded', updated_at = ?3 "
			  "WHERE transfer_id = ?4 AND state IN ('pending', 'failed') AND "
			  AT_OR_BELOW("path", 1, 2), &stmt)) < 0)
		return rc;
	bind_subtree(stmt, 1, 2, path, &tmp);
	sqlite3_bind_int64(stmt, 3, now_wall());
	sqlite3_bind_int64(stmt, 4, transfer_id);
	strbuf_release(&tmp);
	if ((rc = step_done(st, stmt, "exclude units")) < 0)
		return rc;
	*n = (uint64_t)sqlite3_changes(st->db);
	return SYNC_OK;
}

int
store_unit_find(struct store *st, int64_t transfer_id, const char *path, struct unit *out)
{
	sqlite3_stmt *stmt;
	int rc, i;

	if ((rc = prepare(st, "SELECT id, kind, path, state, attempts, error FROM units "
			  "WHERE transfer_id = ? AND path = ?", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	bind_path(stmt, 2, path);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof *out);
		out->id = sqlite3_column_int64(stmt, 0);
		out->transfer_id = transfer_id;
		out->kind = name_index(unit_kind_names, 2, sqlite3_column_text(stmt, 1)) == 1
			    ? UNIT_TREE : UNIT_FILE;
		out->path = col_string(stmt, 2);
		if (out->path == NULL)
			out->path = xstrdup("");
		i = name_index(unit_state_names, 5, sqlite3_column_text(stmt, 3));
		out->state = i < 0 ? UNIT_FAILED : (enum unit_state)i;
		out->attempts = sqlite3_column_int(stmt, 4);
		out->error = col_string(stmt, 5);
		rc = SYNC_OK;
	} else
		rc = rc == SQLITE_DONE ? SYNC_ERR_NOT_FOUND : db_error(st, "find unit");
	sqlite3_finalize(stmt);
	return rc;
}

int
store_unit_counts_within(struct store *st, int64_t transfer_id, const char *path,
			 uint64_t counts[5])
{
	struct strbuf tmp = STRBUF_INIT;
	sqlite3_stmt *stmt;
	int rc, i;

	memset(counts, 0, 5 * sizeof *counts);
	if ((rc = prepare(st, "SELECT state, count(*) FROM units WHERE transfer_id = ?3 AND "
			  AT_OR_BELOW("path", 1, 2) " GROUP BY state", &stmt)) < 0)
		return rc;
	bind_subtree(stmt, 1, 2, path, &tmp);
	sqlite3_bind_int64(stmt, 3, transfer_id);
	strbuf_release(&tmp);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		i = name_index(unit_state_names, 5, sqlite3_column_text(stmt, 0));
		if (i >= 0)
			counts[i] = (uint64_t)sqlite3_column_int64(stmt, 1);
	}
	rc = rc == SQLITE_DONE ? SYNC_OK : db_error(st, "count units");
	sqlite3_finalize(stmt);
	return rc;
}

int
store_unit_counts(struct store *st, int64_t transfer_id, uint64_t counts[5])
{
	struct transfer_sizes sz;
	int rc;

	if ((rc = store_transfer_sizes(st, transfer_id, &sz)) == SYNC_OK)
		memcpy(counts, sz.units, sizeof sz.units);
	else
		memset(counts, 0, 5 * sizeof *counts);
	return rc;
}

int
store_transfer_sizes(struct store *st, int64_t transfer_id, struct transfer_sizes *out)
{
	sqlite3_stmt *stmt;
	int rc, i;

	memset(out, 0, sizeof *out);
	/* The totals by state, kept as units change (see migration 6). */
	if ((rc = prepare(st, "SELECT state, units, files, bytes FROM unit_totals "
			  "WHERE transfer_id = ?", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		uint64_t files, bytes;

		i = name_index(unit_state_names, 5, sqlite3_column_text(stmt, 0));
		if (i < 0)
			continue;
		out->units[i] = (uint64_t)sqlite3_column_int64(stmt, 1);
		/* What was stopped on request is not part of what moves. */
		if (i == UNIT_EXCLUDED)
			continue;
		files = (uint64_t)sqlite3_column_int64(stmt, 2);
		bytes = (uint64_t)sqlite3_column_int64(stmt, 3);
		out->files_total += files;
		out->bytes_total += bytes;
		if (i == UNIT_DONE) {
			out->files_settled += files;
			out->bytes_settled += bytes;
		} else if (i == UNIT_FAILED) {
			out->files_failed += files;
		}
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return db_error(st, "count units");
	/* How far the running ones are: a few rows, by the index. */
	if ((rc = prepare(st, "SELECT total(cur_rate), total(bytes_done), "
			  "total(CASE WHEN cur_file IS NOT NULL THEN cur_bytes ELSE 0 END) "
			  "FROM units WHERE transfer_id = ? AND state = 'running'", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		out->rate = sqlite3_column_double(stmt, 0);
		out->bytes_moving = (uint64_t)sqlite3_column_double(stmt, 2);
		out->bytes_settled += (uint64_t)sqlite3_column_double(stmt, 1) + out->bytes_moving;
		rc = SYNC_OK;
	} else
		rc = db_error(st, "count units");
	sqlite3_finalize(stmt);
	return rc;
}

/* The condition a transfer is pruned on: ended before ?2, not among the newest ?3. */
#define PRUNABLE \
	"state IN ('done', 'failed', 'terminated') AND " \
	"coalesce(finished_at, created_at) < ?2 AND " \
	"NOT EXISTS (SELECT 1 FROM leftovers l WHERE l.transfer_id = transfers.id) AND " \
	"id NOT IN (SELECT id FROM transfers ORDER BY id DESC LIMIT ?3)"
#define PRUNE_SLICE 2000          /* units removed in one write transaction */

/*
 * Remove transfer id if it is still to be pruned, PRUNE_SLICE units per
 * transaction and the record last, so that no write lock is held long.
 * The first slice forgets that the walk was complete: a transfer resumed
 * between two slices walks again and finds the units that went.
 * *removed: whether it went.
 */
static int
prune_one(struct store *st, int64_t id, int64_t before, uint64_t keep, bool *removed)
{
	sqlite3_stmt *stmt = NULL;
	bool last = false;
	int rc;

	*removed = false;
	while (!last) {
		if ((rc = store_begin(st)) < 0)
			return rc;
		if ((rc = prepare(st, "UPDATE transfers SET planned = 0 WHERE id = ?1 AND "
				  PRUNABLE, &stmt)) < 0)
			goto fail;
		sqlite3_bind_int64(stmt, 1, id);
		sqlite3_bind_int64(stmt, 2, before);
		sqlite3_bind_int64(stmt, 3, (sqlite3_int64)keep);
		if ((rc = step_done(st, stmt, "prune")) < 0)
			goto fail;
		stmt = NULL;
		/* Resumed, or cleanup pending, meanwhile: it stays. */
		if (sqlite3_changes(st->db) == 0) {
			store_rollback(st);
			return SYNC_OK;
		}
		if ((rc = prepare(st, "DELETE FROM units WHERE id IN (SELECT id FROM units "
				  "WHERE transfer_id = ? LIMIT ?)", &stmt)) < 0)
			goto fail;
		sqlite3_bind_int64(stmt, 1, id);
		sqlite3_bind_int(stmt, 2, PRUNE_SLICE);
		if ((rc = step_done(st, stmt, "remove old units")) < 0)
			goto fail;
		stmt = NULL;
		if (sqlite3_changes(st->db) < PRUNE_SLICE) {
			last = true;
			if ((rc = prepare(st, "DELETE FROM transfers WHERE id = ?", &stmt)) < 0)
				goto fail;
			sqlite3_bind_int64(stmt, 1, id);
			if ((rc = step_done(st, stmt, "remove old transfers")) < 0)
				goto fail;
			stmt = NULL;
		}
		if ((rc = store_commit(st)) < 0)
			goto fail;
	}
	*removed = true;
	return SYNC_OK;
fail:
	sqlite3_finalize(stmt);
	store_rollback(st);
	return rc;
}

int
store_prune(struct store *st, int64_t before, uint64_t keep, uint64_t *n)
{
	sqlite3_stmt *stmt;
	int64_t *ids = NULL;
	size_t nids = 0, alloc = 0, i;
	bool removed;
	int rc, step;

	*n = 0;
	if (keep < 1)
		keep = 1;
	/* Read first, with no lock; each one is checked again as it goes. */
	if ((rc = prepare(st, "SELECT id FROM transfers WHERE " PRUNABLE " ORDER BY id",
			  &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 2, before);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)keep);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		ALLOC_GROW(ids, nids, alloc);
		ids[nids++] = sqlite3_column_int64(stmt, 0);
	}
	sqlite3_finalize(stmt);
	if (step != SQLITE_DONE) {
		free(ids);
		return db_error(st, "find old transfers");
	}
	for (i = 0; i < nids; i++) {
		if ((rc = prune_one(st, ids[i], before, keep, &removed)) < 0)
			break;
		*n += removed;
	}
	free(ids);
	return rc;
}

int
store_compact(struct store *st)
{
	return exec_sql(st, "VACUUM", "compact the database");
}

int
store_prune_due(struct store *st, int64_t now, int64_t every, bool *due)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	*due = false;
	/* A read first: on most days nothing is to be done, and no lock is taken. */
	if ((rc = prepare(st, "SELECT 1 FROM store_notes WHERE name = 'pruned_at' AND "
			  "value > ? - ?", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, now);
	sqlite3_bind_int64(stmt, 2, every);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (rc == SQLITE_ROW)
		return SYNC_OK;
	if (rc != SQLITE_DONE)
		return db_error(st, "read the last prune");
	/* Claimed in one transaction: of two supervisors ending at once, one prunes. */
	if ((rc = store_begin(st)) < 0)
		return rc;
	if ((rc = prepare(st, "INSERT OR REPLACE INTO store_notes (name, value) "
			  "SELECT 'pruned_at', ?1 WHERE NOT EXISTS (SELECT 1 FROM store_notes "
			  "WHERE name = 'pruned_at' AND value > ?1 - ?2)", &stmt)) < 0)
		goto fail;
	sqlite3_bind_int64(stmt, 1, now);
	sqlite3_bind_int64(stmt, 2, every);
	if ((rc = step_done(st, stmt, "record the prune")) < 0)
		goto fail;
	*due = sqlite3_changes(st->db) > 0;
	return store_commit(st);
fail:
	store_rollback(st);
	return rc;
}

int
store_units_reset_running(struct store *st, int64_t transfer_id)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = keep_running_files(st, transfer_id)) < 0)
		return rc;
	if ((rc = prepare(st, "UPDATE units SET state = 'pending', cur_file = NULL "
			  "WHERE transfer_id = ? AND state = 'running'", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	return step_done(st, stmt, "reset units");
}

int
store_transfer_set_planned(struct store *st, int64_t id)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "UPDATE transfers SET planned = 1 WHERE id = ?", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, id);
	return step_done(st, stmt, "record plan");
}

int
store_transfer_set_workdir(struct store *st, int64_t id, const char *dir)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "UPDATE transfers SET workdir = ? WHERE id = ?", &stmt)) < 0)
		return rc;
	bind_path(stmt, 1, dir);
	sqlite3_bind_int64(stmt, 2, id);
	return step_done(st, stmt, "record work directory");
}

/* Bind v as parameter i, or NULL when it is below 0 (not given). */
static void
bind_option(sqlite3_stmt *stmt, int i, long long v)
{
	if (v < 0)
		sqlite3_bind_null(stmt, i);
	else
		sqlite3_bind_int64(stmt, i, (sqlite3_int64)v);
}

int
store_transfer_set_options(struct store *st, int64_t id, const struct transfer_options *o)
{
	sqlite3_stmt *stmt;
	int rc;

	/* A flag given replaces the one recorded; one not given keeps it. */
	if ((rc = prepare(st, "UPDATE transfers SET opt_workers = coalesce(?1, opt_workers), "
			  "opt_bwlimit = coalesce(?2, opt_bwlimit), "
			  "opt_retries = coalesce(?3, opt_retries) WHERE id = ?4", &stmt)) < 0)
		return rc;
	bind_option(stmt, 1, o->workers);
	bind_option(stmt, 2, o->bwlimit_kib);
	bind_option(stmt, 3, o->retries);
	sqlite3_bind_int64(stmt, 4, id);
	return step_done(st, stmt, "record the transfer's options");
}

int
store_transfer_options(struct store *st, int64_t id, struct transfer_options *o)
{
	sqlite3_stmt *stmt;
	int rc;

	o->workers = o->retries = -1;
	o->bwlimit_kib = -1;
	if ((rc = prepare(st, "SELECT opt_workers, opt_bwlimit, opt_retries FROM transfers "
			  "WHERE id = ?", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(stmt, 0) != SQLITE_NULL)
			o->workers = sqlite3_column_int(stmt, 0);
		if (sqlite3_column_type(stmt, 1) != SQLITE_NULL)
			o->bwlimit_kib = sqlite3_column_int64(stmt, 1);
		if (sqlite3_column_type(stmt, 2) != SQLITE_NULL)
			o->retries = sqlite3_column_int(stmt, 2);
		rc = SYNC_OK;
	} else
		rc = rc == SQLITE_DONE ? SYNC_ERR_NOT_FOUND :
		     db_error(st, "read the transfer's options");
	sqlite3_finalize(stmt);
	return rc;
}

int
store_transfer_workdir(struct store *st, int64_t id, char **dir)
{
	sqlite3_stmt *stmt;
	int rc;

	*dir = NULL;
	if ((rc = prepare(st, "SELECT workdir FROM transfers WHERE id = ?", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*dir = col_string(stmt, 0);
		rc = SYNC_OK;
	} else
		rc = rc == SQLITE_DONE ? SYNC_ERR_NOT_FOUND : db_error(st, "read work directory");
	sqlite3_finalize(stmt);
	return rc;
}

int
store_units_pending_size(struct store *st, int64_t transfer_id, struct unit_size *out)
{
	sqlite3_stmt *stmt;
	int rc;

	out->files = out->bytes = 0;
	/* A unit counts as one file at least: it is one entry of rsync's list. */
	if ((rc = prepare(st, "SELECT total(max(files_total, 1)), total(bytes_total) FROM units "
			  "WHERE transfer_id = ? AND state = 'pending'", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		out->files = (uint64_t)sqlite3_column_double(stmt, 0);
		out->bytes = (uint64_t)sqlite3_column_double(stmt, 1);
		rc = SYNC_OK;
	} else
		rc = db_error(st, "sum pending units");
	sqlite3_finalize(stmt);
	return rc;
}

int
store_transfer_done_totals(struct store *st, int64_t id, uint64_t *bytes, uint64_t *files)
{
	sqlite3_stmt *stmt;
	int rc;

	*bytes = *files = 0;
	/*
	 * The transfer's own, not its units': a unit's counts are of its last
	 * run only, and the files an unfinished unit sent before are found up
	 * to date when it runs again, so they would be counted by none.
	 */
	if ((rc = prepare(st, "SELECT bytes_done, files_done FROM transfers WHERE id = ?",
			  &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, id);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		*bytes = (uint64_t)sqlite3_column_int64(stmt, 0);
		*files = (uint64_t)sqlite3_column_int64(stmt, 1);
		rc = SYNC_OK;
	} else if (rc == SQLITE_DONE)
		rc = SYNC_OK;
	else
		rc = db_error(st, "read the totals");
	sqlite3_finalize(stmt);
	return rc;
}

int
store_active_foreach(struct store *st, active_fn fn, void *ctx)
{
	struct active_transfer a;
	sqlite3_stmt *stmt;
	int rc, step;

	if ((rc = prepare(st, "SELECT id, state, " SUP_COLUMNS " FROM transfers "
			  "WHERE state IN ('queued', 'running') ORDER BY id", &stmt)) < 0)
		return rc;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		a.id = sqlite3_column_int64(stmt, 0);
		a.state = state_is(stmt, 1, TRANSFER_RUNNING) ? TRANSFER_RUNNING : TRANSFER_QUEUED;
		col_proc(stmt, 2, &a.supervisor);
		if ((rc = fn(&a, ctx)) != 0)
			break;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = db_error(st, "list active transfers");
	sqlite3_finalize(stmt);
	return rc;
}

static const char *const exclusion_state_names[] = {
	"pending", "applied", "done", "nomatch", "already", "unclean",
};

const char *
exclusion_state_name(enum exclusion_state s)
{
	return (unsigned)s < sizeof exclusion_state_names / sizeof *exclusion_state_names
		? exclusion_state_names[s] : "unknown";
}

void
exclusion_release(struct exclusion *e)
{
	free(e->path);
	memset(e, 0, sizeof *e);
}

int
store_exclusion_add(struct store *st, int64_t transfer_id, const char *path, int64_t *id_out)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "INSERT INTO exclusions (transfer_id, path, state, created_at) "
			  "VALUES (?, ?, 'pending', ?)", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	bind_path(stmt, 2, path);
	sqlite3_bind_int64(stmt, 3, now_wall());
	if ((rc = step_done(st, stmt, "record exclusion")) < 0)
		return rc;
	if (id_out)
		*id_out = sqlite3_last_insert_rowid(st->db);
	return SYNC_OK;
}

int
store_exclusion_state(struct store *st, int64_t id, enum exclusion_state *out)
{
	sqlite3_stmt *stmt;
	int rc, i;

	if ((rc = prepare(st, "SELECT state FROM exclusions WHERE id = ?", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		i = name_index(exclusion_state_names, 6, sqlite3_column_text(stmt, 0));
		*out = i < 0 ? EXCLUSION_NOMATCH : (enum exclusion_state)i;
		rc = SYNC_OK;
	} else
		rc = rc == SQLITE_DONE ? SYNC_ERR_NOT_FOUND : db_error(st, "read exclusion");
	sqlite3_finalize(stmt);
	return rc;
}

int
store_exclusion_set_state(struct store *st, int64_t id, enum exclusion_state s)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "UPDATE exclusions SET state = ? WHERE id = ?", &stmt)) < 0)
		return rc;
	bind_text(stmt, 1, exclusion_state_name(s));
	sqlite3_bind_int64(stmt, 2, id);
	return step_done(st, stmt, "record exclusion state");
}

int
store_exclusions_list(struct store *st, int64_t transfer_id, enum exclusion_state s,
		      struct exclusion **out, size_t *n)
{
	struct exclusion *v = NULL;
	size_t alloc = 0, nv = 0;
	sqlite3_stmt *stmt;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = prepare(st, "SELECT id, path FROM exclusions WHERE transfer_id = ? AND "
			  "state = ? ORDER BY id", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	bind_text(stmt, 2, exclusion_state_name(s));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		ALLOC_GROW(v, nv, alloc);
		v[nv].id = sqlite3_column_int64(stmt, 0);
		v[nv].path = col_string(stmt, 1);
		if (v[nv].path == NULL)
			v[nv].path = xstrdup("");
		v[nv].state = s;
		nv++;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		rc = db_error(st, "list exclusions");
		while (nv > 0)
			exclusion_release(&v[--nv]);
		free(v);
		return rc;
	}
	*out = v;
	*n = nv;
	return SYNC_OK;
}

int
store_leftover_add(struct store *st, int64_t transfer_id, const char *path)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "INSERT OR IGNORE INTO leftovers (transfer_id, path) "
			  "VALUES (?, ?)", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	bind_path(stmt, 2, path);
	return step_done(st, stmt, "record leftover");
}

int
store_sent_unsure_add(struct store *st, int64_t transfer_id, const char *path)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "INSERT OR IGNORE INTO sent_unsure (transfer_id, path) "
			  "VALUES (?, ?)", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	bind_path(stmt, 2, path);
	return step_done(st, stmt, "record a file sent");
}

int
store_sent_unsure_list(struct store *st, int64_t transfer_id, struct strvec *out)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "SELECT path FROM sent_unsure WHERE transfer_id = ? ORDER BY path",
			  &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		char *p = col_string(stmt, 0);

		if (p && *p)
			strvec_push(out, p);
		free(p);
	}
	rc = rc == SQLITE_DONE ? SYNC_OK : db_error(st, "list files sent");
	sqlite3_finalize(stmt);
	return rc;
}

int
store_sent_unsure_clear(struct store *st, int64_t transfer_id)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "DELETE FROM sent_unsure WHERE transfer_id = ?", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	return step_done(st, stmt, "forget files sent");
}

int
store_leftover_exists(struct store *st, int64_t transfer_id, const char *path, bool *out)
{
	sqlite3_stmt *stmt;
	int rc;

	*out = false;
	if ((rc = prepare(st, "SELECT 1 FROM leftovers WHERE transfer_id = ? AND path = ?",
			  &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	bind_path(stmt, 2, path);
	rc = sqlite3_step(stmt);
	*out = rc == SQLITE_ROW;
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SYNC_OK : db_error(st, "find leftover");
	sqlite3_finalize(stmt);
	return rc;
}

int
store_leftover_remove(struct store *st, int64_t transfer_id, const char *path)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "DELETE FROM leftovers WHERE transfer_id = ? AND path = ?",
			  &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	bind_path(stmt, 2, path);
	return step_done(st, stmt, "forget leftover");
}

int
store_leftovers_list(struct store *st, int64_t transfer_id, const char *prefix,
		     struct strvec *out)
{
	struct strbuf tmp = STRBUF_INIT;
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = prepare(st, "SELECT path FROM leftovers WHERE transfer_id = ?3 AND "
			  "(?1 IS NULL OR " AT_OR_BELOW("path", 1, 2) ") "
			  "UNION SELECT cur_file FROM units WHERE transfer_id = ?3 AND "
			  "state = 'running' AND cur_file IS NOT NULL AND "
			  "(?1 IS NULL OR " AT_OR_BELOW("cur_file", 1, 2) ") ORDER BY 1",
			  &stmt)) < 0)
		return rc;
	if (prefix)
		bind_subtree(stmt, 1, 2, prefix, &tmp);
	sqlite3_bind_int64(stmt, 3, transfer_id);
	strbuf_release(&tmp);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		char *p = col_string(stmt, 0);

		if (p && *p)
			strvec_push(out, p);
		free(p);
	}
	rc = rc == SQLITE_DONE ? SYNC_OK : db_error(st, "list leftovers");
	sqlite3_finalize(stmt);
	return rc;
}

int
store_progress_write(struct store *st, const struct unit_progress *p, size_t n,
		     const struct transfer_totals *totals)
{
	sqlite3_stmt *stmt = NULL;
	int64_t now = now_wall();
	size_t i;
	int rc;

	if (n == 0)
		return totals ? store_transfer_set_totals(st, totals->transfer_id,
							  totals->bytes_done,
							  totals->files_done) : SYNC_OK;
	if ((rc = store_begin(st)) < 0)
		return rc;
	if ((rc = prepare(st, "UPDATE units SET cur_file = ?, cur_bytes = ?, cur_percent = ?, "
			  "cur_rate = ?, cur_eta = ?, bytes_done = ?, files_done = ?, "
			  "updated_at = ? WHERE id = ?", &stmt)) < 0)
		goto fail;
	for (i = 0; i < n; i++) {
		sqlite3_reset(stmt);
		bind_path(stmt, 1, p[i].current_file);
		sqlite3_bind_int64(stmt, 2, (sqlite3_int64)p[i].file_bytes);
		sqlite3_bind_int(stmt, 3, p[i].file_percent);
		sqlite3_bind_double(stmt, 4, p[i].rate);
		sqlite3_bind_int64(stmt, 5, p[i].eta);
		sqlite3_bind_int64(stmt, 6, (sqlite3_int64)p[i].bytes_done);
		sqlite3_bind_int64(stmt, 7, (sqlite3_int64)p[i].files_done);
		sqlite3_bind_int64(stmt, 8, now);
		sqlite3_bind_int64(stmt, 9, p[i].unit_id);
		if (sqlite3_step(stmt) != SQLITE_DONE) {
			rc = db_error(st, "record progress");
			goto fail;
		}
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (totals && (rc = store_transfer_set_totals(st, totals->transfer_id, totals->bytes_done,
						      totals->files_done)) < 0)
		goto fail;
	return store_commit(st);
fail:
	sqlite3_finalize(stmt);
	store_rollback(st);
	return rc;
}

int
store_live_foreach(struct store *st, live_fn fn, void *ctx)
{
	sqlite3_stmt *stmt;
	struct live_file f;
	char *address, *source, *file;
	int rc, step;

	if ((rc = prepare(st, "SELECT t.id, t.address, t.source, u.cur_file, u.cur_bytes, "
			  "u.cur_percent, u.cur_rate, u.cur_eta, t.sup_pid, t.sup_start, "
			  "t.sup_uid, t.sup_boot, t.sup_pidns, t.sup_host "
			  "FROM transfers t JOIN units u ON u.transfer_id = t.id "
			  "WHERE t.state = 'running' AND u.state = 'running' AND "
			  "u.cur_file IS NOT NULL ORDER BY t.id, u.id", &stmt)) < 0)
		return rc;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		memset(&f, 0, sizeof f);
		f.transfer_id = sqlite3_column_int64(stmt, 0);
		f.address = address = col_string(stmt, 1);
		f.source = source = col_string(stmt, 2);
		f.current_file = file = col_string(stmt, 3);
		f.file_bytes = (uint64_t)sqlite3_column_int64(stmt, 4);
		f.file_percent = sqlite3_column_int(stmt, 5);
		f.rate = sqlite3_column_double(stmt, 6);
		f.eta = sqlite3_column_int64(stmt, 7);
		col_proc(stmt, 8, &f.supervisor);
		rc = (address && source && file) ? fn(&f, ctx) : 0;
		free(address);
		free(source);
		free(file);
		if (rc != 0)
			break;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = db_error(st, "list live files");
	sqlite3_finalize(stmt);
	return rc;
}
