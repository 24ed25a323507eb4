/* store-cycles: a watch's cycles, and its record made ready for the next one. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

#define CYCLES_KEPT 100   /* per watch: enough to see a trend, never a growing table */

void
cycle_release(struct cycle *c)
{
	free(c->error);
	memset(c, 0, sizeof *c);
}

int
store_cycle_add(struct store *st, int64_t transfer_id, const struct cycle *c)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = store_begin(st)) < 0)
		return rc;
	if ((rc = db_prepare(st, "INSERT OR REPLACE INTO cycles (transfer_id, n, started_at, "
			     "seconds, files, deleted, failed, bytes, full_scan, error, created, "
			     "updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &stmt)) < 0)
		goto fail;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)c->n);
	sqlite3_bind_int64(stmt, 3, c->started_at);
	sqlite3_bind_double(stmt, 4, c->seconds);
	sqlite3_bind_int64(stmt, 5, (sqlite3_int64)c->files);
	sqlite3_bind_int64(stmt, 6, (sqlite3_int64)c->deleted);
	sqlite3_bind_int64(stmt, 7, (sqlite3_int64)c->failed);
	sqlite3_bind_int64(stmt, 8, (sqlite3_int64)c->bytes);
	sqlite3_bind_int(stmt, 9, c->full_scan);
	db_bind_path(stmt, 10, c->error);
	sqlite3_bind_int64(stmt, 11, (sqlite3_int64)c->created);
	sqlite3_bind_int64(stmt, 12, (sqlite3_int64)c->updated);
	if ((rc = db_step_done(st, stmt, "record a cycle")) < 0)
		goto fail;
	if ((rc = db_prepare(st, "DELETE FROM cycles WHERE transfer_id = ?1 AND n <= ?2",
			     &stmt)) < 0)
		goto fail;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)c->n - CYCLES_KEPT);
	if ((rc = db_step_done(st, stmt, "forget old cycles")) < 0)
		goto fail;
	return store_commit(st);
fail:
	store_rollback(st);
	return rc;
}

int
store_cycle_last(struct store *st, int64_t transfer_id, struct cycle *out)
{
	sqlite3_stmt *stmt;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = db_row_by_id(st, "SELECT n, started_at, seconds, files, deleted, failed, bytes, "
			       "full_scan, error, created, updated FROM cycles "
			       "WHERE transfer_id = ? "
			       "ORDER BY n DESC LIMIT 1", transfer_id, &stmt,
			       "read the last cycle")) < 0)
		return rc;
	out->n = (uint64_t)sqlite3_column_int64(stmt, 0);
	out->started_at = sqlite3_column_int64(stmt, 1);
	out->seconds = sqlite3_column_double(stmt, 2);
	out->files = (uint64_t)sqlite3_column_int64(stmt, 3);
	out->deleted = (uint64_t)sqlite3_column_int64(stmt, 4);
	out->failed = (uint64_t)sqlite3_column_int64(stmt, 5);
	out->bytes = (uint64_t)sqlite3_column_int64(stmt, 6);
	out->full_scan = sqlite3_column_int(stmt, 7) != 0;
	out->error = db_col_string(stmt, 8);
	out->created = (uint64_t)sqlite3_column_int64(stmt, 9);
	out->updated = (uint64_t)sqlite3_column_int64(stmt, 10);
	sqlite3_finalize(stmt);
	return SYNC_OK;
}

static int
units_forget(struct store *st, int64_t id)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, "DELETE FROM units WHERE transfer_id = ?", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, id);
	return db_step_done(st, stmt, "forget the last cycle's units");
}

int
store_units_forget(struct store *st, int64_t id)
{
	return units_forget(st, id);
}

int
store_transfer_next_cycle(struct store *st, int64_t id, const struct proc_id *owner)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = store_begin(st)) < 0)
		return rc;
	/* The stop request stays: a terminate that came meanwhile still ends it for good. */
	if ((rc = db_prepare(st, "UPDATE transfers SET state = 'running', finished_at = NULL, "
			     "planned = 0, sup_pid = ?, sup_start = ?, sup_uid = ?, sup_boot = ?4, "
			     "sup_pidns = ?5, sup_host = ?6 WHERE id = ?7", &stmt)) < 0)
		goto fail;
	sqlite3_bind_int64(stmt, 1, owner->pid);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)owner->start);
	sqlite3_bind_int64(stmt, 3, owner->uid);
	db_bind_node(stmt, 4, owner);
	sqlite3_bind_int64(stmt, 7, id);
	if ((rc = db_step_done(st, stmt, "make the watch ready")) < 0)
		goto fail;
	if (sqlite3_changes(st->db) == 0) {
		rc = SYNC_ERR_NOT_FOUND;
		goto fail;
	}
	/* The last cycle's units: the next has its own. */
	if ((rc = units_forget(st, id)) < 0)
		goto fail;
	return store_commit(st);
fail:
	store_rollback(st);
	return rc;
}
