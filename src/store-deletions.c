/* store-deletions: what a mirror (--delete) removed from the far side. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

int
store_deletions_add(struct store *st, int64_t transfer_id, const struct deletion *d, size_t n)
{
	sqlite3_stmt *stmt;
	size_t i;
	int rc;

	if (n == 0)
		return SYNC_OK;
	if ((rc = store_begin(st)) < 0)
		return rc;
	if ((rc = db_prepare(st, "INSERT INTO deletions (transfer_id, path, kind, at) "
			     "VALUES (?, ?, ?, ?)", &stmt)) < 0)
		goto fail;
	for (i = 0; i < n; i++) {
		sqlite3_bind_int64(stmt, 1, transfer_id);
		db_bind_path(stmt, 2, d[i].path);
		db_bind_text(stmt, 3, d[i].kind);
		sqlite3_bind_int64(stmt, 4, d[i].at);
		if (sqlite3_step(stmt) != SQLITE_DONE) {
			rc = db_error(st, "record a deletion");
			sqlite3_finalize(stmt);
			goto fail;
		}
		sqlite3_reset(stmt);
	}
	sqlite3_finalize(stmt);
	if ((rc = db_prepare(st, "UPDATE transfers SET deleted = deleted + ? WHERE id = ?",
			     &stmt)) < 0)
		goto fail;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)n);
	sqlite3_bind_int64(stmt, 2, transfer_id);
	if ((rc = db_step_done(st, stmt, "count the deletions")) < 0)
		goto fail;
	return store_commit(st);
fail:
	store_rollback(st);
	return rc;
}

void
deletion_release(struct deletion *d)
{
	free(d->path);
	free(d->kind);
	memset(d, 0, sizeof *d);
}

int
store_deletions_list(struct store *st, int64_t transfer_id, struct deletion **out, size_t *n)
{
	struct deletion *d = NULL;
	sqlite3_stmt *stmt;
	size_t alloc = 0;
	int rc, step;

	*out = NULL;
	*n = 0;
	if ((rc = db_prepare(st, "SELECT path, kind, at FROM deletions WHERE transfer_id = ? "
			     "ORDER BY rowid", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		ALLOC_GROW(d, *n, alloc);
		d[*n].path = db_col_string(stmt, 0);
		d[*n].kind = db_col_string(stmt, 1);
		d[*n].at = sqlite3_column_int64(stmt, 2);
		(*n)++;
	}
	rc = step == SQLITE_DONE ? SYNC_OK : db_error(st, "list the deletions");
	sqlite3_finalize(stmt);
	*out = d;
	return rc;
}
