/*
 * store-unit: the units of a transfer: adding, taking the pending ones,
 * their states and counts, and their progress.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

int
store_unit_add(struct store *st, int64_t transfer_id, enum unit_kind kind,
	       const char *path, const struct unit_size *size, int64_t *id_out)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, "INSERT OR IGNORE INTO units (transfer_id, kind, path, state, "
			     "files_total, bytes_total) VALUES (?, ?, ?, 'pending', ?, ?)",
			     &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	db_bind_text(stmt, 2, unit_kind_names[kind]);
	db_bind_path(stmt, 3, path);
	sqlite3_bind_int64(stmt, 4, size ? (sqlite3_int64)size->files : 0);
	sqlite3_bind_int64(stmt, 5, size ? (sqlite3_int64)size->bytes : 0);
	if ((rc = db_step_done(st, stmt, "record unit")) < 0)
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
	if ((rc = db_prepare(st, "SELECT id, kind, path, attempts, error, files_total, "
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
		kind = db_name_index(unit_kind_names, 2, sqlite3_column_text(stmt, 1));
		u->kind = kind == 1 ? UNIT_TREE : UNIT_FILE;
		u->path = db_col_string(stmt, 2);
		if (u->path == NULL)
			u->path = xstrdup("");
		u->state = UNIT_PENDING;
		u->attempts = sqlite3_column_int(stmt, 3);
		u->error = db_col_string(stmt, 4);
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
	if ((rc = db_prepare(st, "UPDATE units SET state = ?1, attempts = ?2, error = ?3, "
			     "updated_at = ?4, cur_file = CASE WHEN ?1 = 'running' "
			     "THEN cur_file END WHERE id = ?5", &stmt)) < 0)
		return rc;
	db_bind_text(stmt, 1, unit_state_name(s));
	sqlite3_bind_int(stmt, 2, attempts);
	db_bind_text(stmt, 3, error);
	sqlite3_bind_int64(stmt, 4, now_wall());
	sqlite3_bind_int64(stmt, 5, unit_id);
	return db_step_done(st, stmt, "record unit state");
}

int
store_unit_set_sent(struct store *st, int64_t unit_id, uint64_t bytes, uint64_t files)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, "UPDATE units SET bytes_done = ?, files_done = ? WHERE id = ?",
			     &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)bytes);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)files);
	sqlite3_bind_int64(stmt, 3, unit_id);
	return db_step_done(st, stmt, "record what a unit sent");
}

int
store_unit_set_received(struct store *st, int64_t unit_id)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, "UPDATE units SET received_at = ? WHERE id = ?", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, now_wall());
	sqlite3_bind_int64(stmt, 2, unit_id);
	return db_step_done(st, stmt, "record a unit received");
}

int
store_unit_set_done(struct store *st, int64_t unit_id, int attempts, uint64_t bytes,
		    uint64_t files)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, "UPDATE units SET state = 'done', attempts = ?, error = NULL, "
			     "cur_file = NULL, bytes_done = ?, files_done = ?, updated_at = ? "
			     "WHERE id = ?", &stmt)) < 0)
		return rc;
	sqlite3_bind_int(stmt, 1, attempts);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)bytes);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)files);
	sqlite3_bind_int64(stmt, 4, now_wall());
	sqlite3_bind_int64(stmt, 5, unit_id);
	return db_step_done(st, stmt, "record unit done");
}

int
store_units_exclude(struct store *st, int64_t transfer_id, const char *path, uint64_t *n)
{
	struct strbuf tmp = STRBUF_INIT;
	sqlite3_stmt *stmt;
	int rc;

	*n = 0;
	if ((rc = db_prepare(st, "UPDATE units SET state = 'excluded', updated_at = ?3 "
			     "WHERE transfer_id = ?4 AND state IN ('pending', 'failed') AND "
			     AT_OR_BELOW("path", 1, 2), &stmt)) < 0)
		return rc;
	db_bind_subtree(stmt, 1, 2, path, &tmp);
	sqlite3_bind_int64(stmt, 3, now_wall());
	sqlite3_bind_int64(stmt, 4, transfer_id);
	strbuf_release(&tmp);
	if ((rc = db_step_done(st, stmt, "exclude units")) < 0)
		return rc;
	*n = (uint64_t)sqlite3_changes(st->db);
	return SYNC_OK;
}

int
store_unit_find(struct store *st, int64_t transfer_id, const char *path, struct unit *out)
{
	sqlite3_stmt *stmt;
	int rc, i;

	if ((rc = db_prepare(st, "SELECT id, kind, path, state, attempts, error, files_total, "
			     "bytes_total, files_done, bytes_done, received_at FROM units "
			     "WHERE transfer_id = ? AND path = ?", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	db_bind_path(stmt, 2, path);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof *out);
		out->id = sqlite3_column_int64(stmt, 0);
		out->transfer_id = transfer_id;
		out->kind = db_name_index(unit_kind_names, 2, sqlite3_column_text(stmt, 1)) == 1
			    ? UNIT_TREE : UNIT_FILE;
		out->path = db_col_string(stmt, 2);
		if (out->path == NULL)
			out->path = xstrdup("");
		i = db_name_index(unit_state_names, 5, sqlite3_column_text(stmt, 3));
		out->state = i < 0 ? UNIT_FAILED : (enum unit_state)i;
		out->attempts = sqlite3_column_int(stmt, 4);
		out->error = db_col_string(stmt, 5);
		out->size.files = (uint64_t)sqlite3_column_int64(stmt, 6);
		out->size.bytes = (uint64_t)sqlite3_column_int64(stmt, 7);
		out->files_sent = (uint64_t)sqlite3_column_int64(stmt, 8);
		out->bytes_sent = (uint64_t)sqlite3_column_int64(stmt, 9);
		out->received_at = sqlite3_column_int64(stmt, 10);
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
	if ((rc = db_prepare(st, "SELECT state, count(*) FROM units WHERE transfer_id = ?3 AND "
			     AT_OR_BELOW("path", 1, 2) " GROUP BY state", &stmt)) < 0)
		return rc;
	db_bind_subtree(stmt, 1, 2, path, &tmp);
	sqlite3_bind_int64(stmt, 3, transfer_id);
	strbuf_release(&tmp);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		i = db_name_index(unit_state_names, 5, sqlite3_column_text(stmt, 0));
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
	if ((rc = db_prepare(st, "SELECT state, units, files, bytes FROM unit_totals "
			     "WHERE transfer_id = ?", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		uint64_t files, bytes;

		i = db_name_index(unit_state_names, 5, sqlite3_column_text(stmt, 0));
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
	if ((rc = db_prepare(st, "SELECT total(cur_rate), total(bytes_done), "
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

int
store_units_reset_running(struct store *st, int64_t transfer_id)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = transfer_keep_running_files(st, transfer_id)) < 0)
		return rc;
	if ((rc = db_prepare(st, "UPDATE units SET state = 'pending', cur_file = NULL "
			     "WHERE transfer_id = ? AND state = 'running'", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	return db_step_done(st, stmt, "reset units");
}

int
store_units_pending_size(struct store *st, int64_t transfer_id, struct unit_size *out)
{
	sqlite3_stmt *stmt;
	int rc;

	out->files = out->bytes = 0;
	/* A unit counts as one file at least: it is one entry of rsync's list. */
	if ((rc = db_prepare(st, "SELECT total(max(files_total, 1)), total(bytes_total) FROM units "
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
	if ((rc = db_prepare(st, "UPDATE units SET cur_file = ?, cur_bytes = ?, cur_percent = ?, "
			     "cur_rate = ?, cur_eta = ?, bytes_done = ?, files_done = ?, "
			     "updated_at = ?, node = ? WHERE id = ?", &stmt)) < 0)
		goto fail;
	for (i = 0; i < n; i++) {
		sqlite3_reset(stmt);
		db_bind_path(stmt, 1, p[i].current_file);
		sqlite3_bind_int64(stmt, 2, (sqlite3_int64)p[i].file_bytes);
		sqlite3_bind_int(stmt, 3, p[i].file_percent);
		sqlite3_bind_double(stmt, 4, p[i].rate);
		sqlite3_bind_int64(stmt, 5, p[i].eta);
		sqlite3_bind_int64(stmt, 6, (sqlite3_int64)p[i].bytes_done);
		sqlite3_bind_int64(stmt, 7, (sqlite3_int64)p[i].files_done);
		sqlite3_bind_int64(stmt, 8, now);
		db_bind_path(stmt, 9, p[i].node);
		sqlite3_bind_int64(stmt, 10, p[i].unit_id);
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
