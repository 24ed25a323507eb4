/*
 * store-slurm: what a transfer asks of Slurm (--nodes and the rest, kept
 * for resume) and the job it holds while it runs (cancelled by the next
 * run of a transfer whose supervisor was killed).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

void
transfer_slurm_release(struct transfer_slurm *o)
{
	free(o->partition);
	free(o->account);
	free(o->time_limit);
	o->partition = o->account = o->time_limit = NULL;
}

int
store_transfer_set_slurm(struct store *st, int64_t id, const struct transfer_slurm *o)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, "UPDATE transfers SET opt_nodes = ?1, opt_partition = ?2, "
			     "opt_account = ?3, opt_time = ?4, opt_slurm_wait = ?5 WHERE id = ?6",
			     &stmt)) < 0)
		return rc;
	db_bind_option(stmt, 1, o->nodes > 0 ? o->nodes : -1);
	db_bind_path(stmt, 2, o->partition);
	db_bind_path(stmt, 3, o->account);
	db_bind_path(stmt, 4, o->time_limit);
	db_bind_option(stmt, 5, o->wait);
	sqlite3_bind_int64(stmt, 6, id);
	return db_step_done(st, stmt, "record what the transfer asks of Slurm");
}

int
store_transfer_slurm(struct store *st, int64_t id, struct transfer_slurm *o)
{
	sqlite3_stmt *stmt;
	int rc;

	memset(o, 0, sizeof *o);
	o->wait = -1;
	if ((rc = db_row_by_id(st, "SELECT opt_nodes, opt_partition, opt_account, opt_time, "
			       "opt_slurm_wait FROM transfers WHERE id = ?", id, &stmt,
			       "read what the transfer asks of Slurm")) < 0)
		return rc;
	o->nodes = sqlite3_column_int(stmt, 0);
	o->partition = db_col_string(stmt, 1);
	o->account = db_col_string(stmt, 2);
	o->time_limit = db_col_string(stmt, 3);
	if (sqlite3_column_type(stmt, 4) != SQLITE_NULL)
		o->wait = sqlite3_column_int(stmt, 4);
	sqlite3_finalize(stmt);
	return SYNC_OK;
}

int
store_transfer_set_slurm_job(struct store *st, int64_t id, int64_t job)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, "UPDATE transfers SET slurm_job = ?1 WHERE id = ?2", &stmt)) < 0)
		return rc;
	db_bind_option(stmt, 1, job > 0 ? job : -1);
	sqlite3_bind_int64(stmt, 2, id);
	return db_step_done(st, stmt, "record the transfer's Slurm job");
}

int
store_transfer_slurm_job(struct store *st, int64_t id, int64_t *job)
{
	sqlite3_stmt *stmt;
	int rc;

	*job = 0;
	if ((rc = db_row_by_id(st, "SELECT slurm_job FROM transfers WHERE id = ?", id, &stmt,
			       "read the transfer's Slurm job")) < 0)
		return rc;
	*job = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return SYNC_OK;
}
