/*
 * store-preserve: what rsync -a leaves out that a transfer asks for (-H,
 * -A, -X, -S, --numeric-ids, --chmod, --chown), kept with it, so that a
 * resume or a repeated start goes on with the same.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

void
transfer_preserve_release(struct transfer_preserve *o)
{
	free(o->chmod);
	free(o->chown);
	o->chmod = o->chown = NULL;
}

int
store_transfer_set_preserve(struct store *st, int64_t id, int flags, const char *chmod,
			    const char *chown)
{
	sqlite3_stmt *stmt;
	int rc;

	if (flags < 0)
		return SYNC_OK;
	if ((rc = db_prepare(st, "UPDATE transfers SET opt_preserve = ?1, opt_chmod = ?2, "
			     "opt_chown = ?3 WHERE id = ?4", &stmt)) < 0)
		return rc;
	sqlite3_bind_int(stmt, 1, flags);
	db_bind_path(stmt, 2, chmod);
	db_bind_path(stmt, 3, chown);
	sqlite3_bind_int64(stmt, 4, id);
	return db_step_done(st, stmt, "record what the transfer keeps of each file");
}

int
store_transfer_preserve(struct store *st, int64_t id, struct transfer_preserve *o)
{
	sqlite3_stmt *stmt;
	int rc;

	memset(o, 0, sizeof *o);
	if ((rc = db_row_by_id(st, "SELECT opt_preserve, opt_chmod, opt_chown FROM transfers "
			       "WHERE id = ?", id, &stmt,
			       "read what the transfer keeps of each file")) < 0)
		return rc;
	o->flags = sqlite3_column_int(stmt, 0);
	o->chmod = db_col_string(stmt, 1);
	o->chown = db_col_string(stmt, 2);
	sqlite3_finalize(stmt);
	return SYNC_OK;
}
