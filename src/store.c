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

#include "store-internal.h"
#include "util.h"

#define STORE_FILE "scow-sync.db"
#define BUSY_TIMEOUT_MS 15000

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

	/*
	 * 9: a mirror (--delete) and its filters are part of the request; the
	 * guards of its deletes are options; what it deleted is kept, each
	 * path with its kind and when.
	 */
	"ALTER TABLE transfers ADD COLUMN mirror INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE transfers ADD COLUMN filters BLOB;"
	"ALTER TABLE transfers ADD COLUMN opt_max_delete INTEGER;"
	"ALTER TABLE transfers ADD COLUMN opt_delete_all_ok INTEGER;"
	"ALTER TABLE transfers ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE deletions ("
	"  transfer_id INTEGER NOT NULL REFERENCES transfers(id) ON DELETE CASCADE,"
	"  path BLOB NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  at INTEGER NOT NULL"
	");"
	"CREATE INDEX deletions_transfer ON deletions(transfer_id);"
	"CREATE TRIGGER deletions_transfer_gone AFTER DELETE ON transfers BEGIN"
	"  DELETE FROM deletions WHERE transfer_id = OLD.id;"
	" END;",

	/*
	 * 10: a watch (scow-sync watch) is a transfer that syncs in cycles
	 * until stopped; each cycle's counts are kept, the newest
	 * CYCLES_KEPT of them.
	 */
	"ALTER TABLE transfers ADD COLUMN watch INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE transfers ADD COLUMN watch_interval INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE cycles ("
	"  transfer_id INTEGER NOT NULL REFERENCES transfers(id) ON DELETE CASCADE,"
	"  n INTEGER NOT NULL,"
	"  started_at INTEGER NOT NULL,"
	"  seconds REAL NOT NULL,"
	"  files INTEGER NOT NULL,"
	"  deleted INTEGER NOT NULL,"
	"  failed INTEGER NOT NULL,"
	"  bytes INTEGER NOT NULL,"
	"  full_scan INTEGER NOT NULL,"
	"  error BLOB,"
	"  PRIMARY KEY (transfer_id, n)"
	") WITHOUT ROWID;"
	"CREATE TRIGGER cycles_transfer_gone AFTER DELETE ON transfers BEGIN"
	"  DELETE FROM cycles WHERE transfer_id = OLD.id;"
	" END;",

	/* 11: whom its state changes and a watch's cycles are told (--notify, --notify-cmd). */
	"ALTER TABLE transfers ADD COLUMN notify_url BLOB;"
	"ALTER TABLE transfers ADD COLUMN notify_cmd BLOB;",

	/*
	 * 12: a watch's record of what it synced, every entry of the tree as
	 * it was before the cycle that sent it (record.h), and the next one
	 * while a cycle runs.
	 */
	"CREATE TABLE synced ("
	"  transfer_id INTEGER NOT NULL,"
	"  dir BLOB NOT NULL,"
	"  name BLOB NOT NULL,"
	"  size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, mode INTEGER NOT NULL,"
	"  ino INTEGER NOT NULL, dev INTEGER NOT NULL,"
	"  PRIMARY KEY (transfer_id, dir, name)"
	") WITHOUT ROWID;"
	"CREATE TABLE synced_next ("
	"  transfer_id INTEGER NOT NULL,"
	"  dir BLOB NOT NULL,"
	"  name BLOB NOT NULL,"
	"  size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, mode INTEGER NOT NULL,"
	"  ino INTEGER NOT NULL, dev INTEGER NOT NULL,"
	"  PRIMARY KEY (transfer_id, dir, name)"
	") WITHOUT ROWID;"
	"CREATE TABLE synced_next_dirs ("
	"  transfer_id INTEGER NOT NULL, dir BLOB NOT NULL, gone INTEGER NOT NULL,"
	"  PRIMARY KEY (transfer_id, dir)"
	") WITHOUT ROWID;"
	"ALTER TABLE transfers ADD COLUMN recorded INTEGER NOT NULL DEFAULT 0;"
	"CREATE TRIGGER synced_transfer_gone AFTER DELETE ON transfers BEGIN"
	"  DELETE FROM synced WHERE transfer_id = OLD.id;"
	"  DELETE FROM synced_next WHERE transfer_id = OLD.id;"
	"  DELETE FROM synced_next_dirs WHERE transfer_id = OLD.id;"
	" END;",

	/*
	 * 13: what a run made on the far side, entries created and updated
	 * (a watch's per cycle too), and two options of a request: compare
	 * by content (--verify), trust the record (--trust-record).
	 */
	"ALTER TABLE transfers ADD COLUMN created INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE transfers ADD COLUMN updated INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE transfers ADD COLUMN opt_verify INTEGER;"
	"ALTER TABLE transfers ADD COLUMN opt_trust_record INTEGER;"
	"ALTER TABLE cycles ADD COLUMN created INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE cycles ADD COLUMN updated INTEGER NOT NULL DEFAULT 0;"
	/*
	 * The record also keeps each entry's change time (what a chown or a
	 * chmod changes; 0 for the entries recorded before), and the source's
	 * own entry under the directory "/".
	 */
	"ALTER TABLE synced ADD COLUMN ctime_ns INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE synced_next ADD COLUMN ctime_ns INTEGER NOT NULL DEFAULT 0;",

	/*
	 * 14: one source to several hosts. The request is a transfer of its
	 * own (fanout: how many hosts) with no units; each host is a child
	 * transfer (parent_id) with its units, state and partial data, as a
	 * transfer to one host has. feed_id: the child whose host forwards
	 * the data to this one (a relay), NULL: from the source.
	 */
	"ALTER TABLE transfers ADD COLUMN parent_id INTEGER;"
	"ALTER TABLE transfers ADD COLUMN fanout INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE transfers ADD COLUMN feed_id INTEGER;"
	"ALTER TABLE transfers ADD COLUMN opt_relay INTEGER;"
	"CREATE INDEX transfers_parent ON transfers(parent_id);",

	/*
	 * 15: when a unit was last received whole by an rsync that sent it
	 * (every byte of it), not found there already by a check or kept by
	 * rsync's quick check: what a relaying host may give on (sup-relay.c).
	 */
	"ALTER TABLE units ADD COLUMN received_at INTEGER;",

	/*
	 * 16: a transfer spread over several nodes through Slurm: what it
	 * asks for (--nodes, --partition, --account, --time, --slurm-wait),
	 * the job that holds its nodes while it runs (cancelled by the next
	 * run when its supervisor was killed), and the node a unit runs on.
	 */
	"ALTER TABLE transfers ADD COLUMN opt_nodes INTEGER;"
	"ALTER TABLE transfers ADD COLUMN opt_partition TEXT;"
	"ALTER TABLE transfers ADD COLUMN opt_account TEXT;"
	"ALTER TABLE transfers ADD COLUMN opt_time TEXT;"
	"ALTER TABLE transfers ADD COLUMN opt_slurm_wait INTEGER;"
	"ALTER TABLE transfers ADD COLUMN slurm_job INTEGER;"
	"ALTER TABLE units ADD COLUMN node TEXT;",

	/*
	 * 17: what rsync -a leaves out that a transfer asks for (-H, -A, -X,
	 * -S, --numeric-ids as a set of rsync_preserve; --chmod, --chown),
	 * kept for resume.
	 */
	"ALTER TABLE transfers ADD COLUMN opt_preserve INTEGER;"
	"ALTER TABLE transfers ADD COLUMN opt_chmod TEXT;"
	"ALTER TABLE transfers ADD COLUMN opt_chown TEXT;",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

const char *const transfer_state_names[] = {
	"queued", "running", "done", "failed", "terminated", "interrupted",
};
const char *const unit_state_names[] = {
	"pending", "running", "done", "failed", "excluded",
};
const char *const unit_kind_names[] = { "file", "tree" };

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
int
db_name_index(const char *const *names, size_t n, const unsigned char *name)
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
	free(t->filters);
	free(t->notify_url);
	free(t->notify_cmd);
	memset(t, 0, sizeof *t);
}

static char *
copy_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void
transfer_copy(struct transfer *dst, const struct transfer *src)
{
	*dst = *src;
	dst->address = copy_or_null(src->address);
	dst->user = copy_or_null(src->user);
	dst->source = copy_or_null(src->source);
	dst->destination = copy_or_null(src->destination);
	dst->key_path = copy_or_null(src->key_path);
	dst->error = copy_or_null(src->error);
	dst->far_host = copy_or_null(src->far_host);
	dst->far_destination = copy_or_null(src->far_destination);
	dst->notify_url = copy_or_null(src->notify_url);
	dst->notify_cmd = copy_or_null(src->notify_cmd);
	dst->filters = NULL;
	if (src->filters_len) {
		dst->filters = xmalloc(src->filters_len + 1);
		memcpy(dst->filters, src->filters, src->filters_len + 1);
	}
}

void
unit_release(struct unit *u)
{
	free(u->path);
	free(u->error);
	memset(u, 0, sizeof *u);
}

/* Remember SQLite's message and return SYNC_ERR_STORE. */
int
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
int
db_prepare(struct store *st, const char *sql, sqlite3_stmt **stmt)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL) != SQLITE_OK) {
		*stmt = NULL;
		return db_error(st, "prepare");
	}
	return SYNC_OK;
}

/* Run a statement that returns no rows, then finalize it. */
int
db_step_done(struct store *st, sqlite3_stmt *stmt, const char *what)
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

void
db_bind_path(sqlite3_stmt *stmt, int i, const char *path)
{
	if (path)
		sqlite3_bind_blob(stmt, i, path, (int)strlen(path), SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(stmt, i);
}

void
db_bind_option(sqlite3_stmt *stmt, int i, long long v)
{
	if (v < 0)
		sqlite3_bind_null(stmt, i);
	else
		sqlite3_bind_int64(stmt, i, (sqlite3_int64)v);
}

void
db_bind_text(sqlite3_stmt *stmt, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(stmt, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(stmt, i);
}

/* Read a recorded node from columns col (boot), col + 1 (pidns), col + 2 (host). */
void
db_col_node(sqlite3_stmt *stmt, int col, struct proc_node *n)
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
void
db_col_proc(sqlite3_stmt *stmt, int col, struct proc_id *p)
{
	p->pid = (pid_t)sqlite3_column_int64(stmt, col);
	p->start = (uint64_t)sqlite3_column_int64(stmt, col + 1);
	p->uid = (uid_t)sqlite3_column_int64(stmt, col + 2);
	db_col_node(stmt, col + 3, &p->node);
}

/* Bind the node of p at parameters i (boot), i + 1 (pidns), i + 2 (host). */
void
db_bind_node(sqlite3_stmt *stmt, int i, const struct proc_id *p)
{
	db_bind_text(stmt, i, p->node.boot[0] ? p->node.boot : NULL);
	sqlite3_bind_int64(stmt, i + 1, (sqlite3_int64)p->node.pidns);
	db_bind_text(stmt, i + 2, p->node.boot[0] ? p->node.host : NULL);
}

/* Copy a TEXT or BLOB column into a new C string, NULL for SQL NULL. */
char *
db_col_string(sqlite3_stmt *stmt, int i)
{
	const void *p;
	int n;

	if (sqlite3_column_type(stmt, i) == SQLITE_NULL)
		return NULL;
	p = sqlite3_column_blob(stmt, i);
	n = sqlite3_column_bytes(stmt, i);
	return xstrndup(p ? p : "", (size_t)n);
}

/* Bind path and path + "/" as ?a and ?b, for "at or below path" matches. */
void
db_bind_subtree(sqlite3_stmt *stmt, int a, int b, const char *path, struct strbuf *tmp)
{
	strbuf_reset(tmp);
	strbuf_addstr(tmp, path);
	strbuf_addch(tmp, '/');
	db_bind_path(stmt, a, path);
	sqlite3_bind_blob(stmt, b, tmp->buf, (int)tmp->len, SQLITE_TRANSIENT);
}

/*
 * Prepare sql, bind id as its one parameter and step to its row:
 * SYNC_OK with *stmt on that row (the caller reads and finalizes it),
 * SYNC_ERR_NOT_FOUND when there is none, or an error (what says what was
 * read); *stmt is NULL unless SYNC_OK.
 */
int
db_row_by_id(struct store *st, const char *sql, int64_t id, sqlite3_stmt **stmt,
	     const char *what)
{
	int rc;

	*stmt = NULL;
	if ((rc = db_prepare(st, sql, stmt)) < 0)
		return rc;
	sqlite3_bind_int64(*stmt, 1, id);
	rc = sqlite3_step(*stmt);
	if (rc == SQLITE_ROW)
		return SYNC_OK;
	rc = rc == SQLITE_DONE ? SYNC_ERR_NOT_FOUND : db_error(st, what);
	sqlite3_finalize(*stmt);
	*stmt = NULL;
	return rc;
}

int
db_exec(struct store *st, const char *sql, const char *what)
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
	return db_exec(st, "BEGIN IMMEDIATE", "begin");
}

int
store_commit(struct store *st)
{
	return db_exec(st, "COMMIT", "commit");
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

	if ((rc = db_prepare(st, "PRAGMA user_version", &stmt)) < 0)
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

		if ((rc = db_exec(st, migrations[i], "migrate")) < 0)
			goto fail;
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", i + 1);
		if ((rc = db_exec(st, pragma, "set schema version")) < 0)
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
	    (rc = db_exec(st, st->shared ? "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;" :
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

