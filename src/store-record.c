/*
 * store-record: a watch's record of what it synced (record.h): each
 * directory's entries as they were before the cycle that sent them, and
 * what the cycle under way will make of it once it succeeds.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

void
record_entries_free(struct record_entry *e, size_t n)
{
	while (n > 0)
		free(e[--n].name);
	free(e);
}

int
store_record_dir(struct store *st, int64_t id, const char *dir, struct record_entry **out,
		 size_t *n)
{
	struct record_entry *e = NULL;
	sqlite3_stmt *stmt;
	size_t alloc = 0;
	int rc, step;

	*out = NULL;
	*n = 0;
	/* BLOBs compare as memcmp does: the order of the walk's names (strcmp). */
	if ((rc = db_prepare(st, "SELECT name, size, mtime_ns, mode, ino, dev, ctime_ns "
			     "FROM synced WHERE transfer_id = ? AND dir = ? ORDER BY name",
			     &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_blob(stmt, 2, dir, (int)strlen(dir), SQLITE_STATIC);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		ALLOC_GROW(e, *n, alloc);
		e[*n].name = db_col_string(stmt, 0);
		e[*n].st.size = (uint64_t)sqlite3_column_int64(stmt, 1);
		e[*n].st.mtime_ns = sqlite3_column_int64(stmt, 2);
		e[*n].st.mode = (uint32_t)sqlite3_column_int64(stmt, 3);
		e[*n].st.ino = (uint64_t)sqlite3_column_int64(stmt, 4);
		e[*n].st.dev = (uint64_t)sqlite3_column_int64(stmt, 5);
		e[*n].st.ctime_ns = sqlite3_column_int64(stmt, 6);
		(*n)++;
	}
	rc = step == SQLITE_DONE ? SYNC_OK : db_error(st, "read the record");
	sqlite3_finalize(stmt);
	if (rc < 0) {
		record_entries_free(e, *n);
		*n = 0;
		return rc;
	}
	*out = e;
	return SYNC_OK;
}

int
store_record_stage(struct store *st, int64_t id, const char *dir, bool gone,
		   const struct record_entry *e, size_t n)
{
	sqlite3_stmt *stmt;
	size_t i;
	int rc;

	if ((rc = db_prepare(st, "INSERT OR REPLACE INTO synced_next_dirs (transfer_id, dir, "
			     "gone) VALUES (?, ?, ?)", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_blob(stmt, 2, dir, (int)strlen(dir), SQLITE_STATIC);
	sqlite3_bind_int(stmt, 3, gone);
	if ((rc = db_step_done(st, stmt, "stage the record")) < 0 || n == 0)
		return rc;
	if ((rc = db_prepare(st, "INSERT OR REPLACE INTO synced_next (transfer_id, dir, name, "
			     "size, mtime_ns, mode, ino, dev, ctime_ns) "
			     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			     &stmt)) < 0)
		return rc;
	for (i = 0; i < n; i++) {
		sqlite3_bind_int64(stmt, 1, id);
		sqlite3_bind_blob(stmt, 2, dir, (int)strlen(dir), SQLITE_STATIC);
		sqlite3_bind_blob(stmt, 3, e[i].name, (int)strlen(e[i].name), SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 4, (sqlite3_int64)e[i].st.size);
		sqlite3_bind_int64(stmt, 5, e[i].st.mtime_ns);
		sqlite3_bind_int64(stmt, 6, e[i].st.mode);
		sqlite3_bind_int64(stmt, 7, (sqlite3_int64)e[i].st.ino);
		sqlite3_bind_int64(stmt, 8, (sqlite3_int64)e[i].st.dev);
		sqlite3_bind_int64(stmt, 9, e[i].st.ctime_ns);
		if (sqlite3_step(stmt) != SQLITE_DONE) {
			rc = db_error(st, "stage the record");
			sqlite3_finalize(stmt);
			return rc;
		}
		sqlite3_reset(stmt);
	}
	sqlite3_finalize(stmt);
	return SYNC_OK;
}

/* Run sql with ?1 bound to id. */
static int
record_exec_id(struct store *st, const char *sql, int64_t id, const char *what)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, sql, &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, id);
	return db_step_done(st, stmt, what);
}

/* Run each of n statements with ?1 bound to id, all or none. */
static int
record_steps(struct store *st, const char *const *steps, size_t n, int64_t id,
	     const char *what)
{
	size_t i;
	int rc;

	if ((rc = store_begin(st)) < 0)
		return rc;
	for (i = 0; i < n; i++)
		if ((rc = record_exec_id(st, steps[i], id, what)) < 0) {
			store_rollback(st);
			return rc;
		}
	return store_commit(st);
}

int
store_record_discard(struct store *st, int64_t id)
{
	static const char *const steps[] = {
		"DELETE FROM synced_next WHERE transfer_id = ?1",
		"DELETE FROM synced_next_dirs WHERE transfer_id = ?1",
	};

	return record_steps(st, steps, sizeof steps / sizeof *steps, id,
			    "discard the staged record");
}

int
store_record_forget(struct store *st, int64_t id)
{
	static const char *const steps[] = {
		"DELETE FROM synced WHERE transfer_id = ?1",
		"DELETE FROM synced_next WHERE transfer_id = ?1",
		"DELETE FROM synced_next_dirs WHERE transfer_id = ?1",
		"UPDATE transfers SET recorded = 0 WHERE id = ?1",
	};

	return record_steps(st, steps, sizeof steps / sizeof *steps, id, "forget the record");
}

int
store_record_apply(struct store *st, int64_t id)
{
	static const char *const steps[] = {
		/* A directory staged replaces its entries ... */
		"DELETE FROM synced WHERE transfer_id = ?1 AND dir IN "
		"(SELECT dir FROM synced_next_dirs WHERE transfer_id = ?1)",
		/* ... and one gone takes everything below it along. */
		"DELETE FROM synced WHERE transfer_id = ?1 AND EXISTS (SELECT 1 FROM "
		"synced_next_dirs g WHERE g.transfer_id = ?1 AND g.gone AND "
		"substr(synced.dir, 1, length(g.dir) + 1) = CAST(g.dir || '/' AS BLOB))",
		"INSERT OR REPLACE INTO synced SELECT * FROM synced_next WHERE transfer_id = ?1",
		"DELETE FROM synced_next WHERE transfer_id = ?1",
		"DELETE FROM synced_next_dirs WHERE transfer_id = ?1",
		"UPDATE transfers SET recorded = 1 WHERE id = ?1",
	};

	return record_steps(st, steps, sizeof steps / sizeof *steps, id, "apply the record");
}

int
store_record_adopt(struct store *st, int64_t id, int64_t *from)
{
	sqlite3_stmt *stmt;
	int rc, step;

	*from = 0;
	if ((rc = store_begin(st)) < 0)
		return rc;
	/*
	 * A record says what the far side holds only as long as nothing else
	 * wrote there: the newest transfer of the request before this one
	 * (whatever its filters, --delete or kind) must be a run that kept it
	 * and ended done. A watch's is never taken: its cycles of events send
	 * without recording. A run of the same filters kept it; for a mirror,
	 * a mirror's (one without --delete says nothing of extra entries
	 * there).
	 */
	if ((rc = db_prepare(st, "SELECT o.id FROM transfers t JOIN transfers o ON "
			     SAME_REQUEST("o", "t") " AND o.id < t.id "
			     "WHERE t.id = ?1 AND o.recorded AND o.state = 'done' AND NOT o.watch "
			     "AND o.filters IS t.filters AND (o.mirror OR NOT t.mirror) "
			     "AND NOT EXISTS (SELECT 1 FROM transfers n WHERE "
			     SAME_REQUEST("n", "t") " AND n.id > o.id AND n.id != t.id) "
			     "ORDER BY o.id DESC LIMIT 1", &stmt)) < 0)
		goto fail;
	sqlite3_bind_int64(stmt, 1, id);
	step = sqlite3_step(stmt);
	if (step == SQLITE_ROW)
		*from = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		rc = db_error(st, "look for a record");
		goto fail;
	}
	{
		/*
		 * Its own record, from a run of it that did not end done (the
		 * far side then holds more than it says), goes; so does a
		 * taken one's, whose far side this run changes from now on.
		 * The one taken is not ready until this run ends done.
		 */
		static const char *const steps[] = {
			"DELETE FROM synced WHERE transfer_id = ?2",
			"DELETE FROM synced_next WHERE transfer_id = ?2",
			"DELETE FROM synced_next_dirs WHERE transfer_id = ?2",
			"UPDATE synced SET transfer_id = ?2 WHERE transfer_id = ?1",
			"UPDATE transfers SET recorded = 0 WHERE id IN (?1, ?2)",
		};
		size_t i;

		for (i = 0; i < sizeof steps / sizeof *steps; i++) {
			if ((rc = db_prepare(st, steps[i], &stmt)) < 0)
				goto fail;
			sqlite3_bind_int64(stmt, 1, *from);
			sqlite3_bind_int64(stmt, 2, id);
			if ((rc = db_step_done(st, stmt, "take over the record")) < 0)
				goto fail;
		}
	}
	return store_commit(st);
fail:
	store_rollback(st);
	*from = 0;
	return rc;
}

int
store_record_ready(struct store *st, int64_t id, bool *ready)
{
	sqlite3_stmt *stmt;
	int rc;

	*ready = false;
	if ((rc = db_row_by_id(st, "SELECT recorded FROM transfers WHERE id = ?", id, &stmt,
			       "read whether it is recorded")) < 0)
		return rc;
	*ready = sqlite3_column_int(stmt, 0) != 0;
	sqlite3_finalize(stmt);
	return SYNC_OK;
}
