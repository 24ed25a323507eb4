/*
 * store-leftovers: what a transfer's runs leave for the next: parts
 * stopped on request, partial data on the far side, and files a run cut
 * off may have sent.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

static const char *const exclusion_state_names[] = {
	"pending", "applied", "done", "nomatch", "already", "unclean",
};

int
store_leftovers_count(struct store *st, int64_t transfer_id, uint64_t *n)
{
	sqlite3_stmt *stmt;
	int rc;

	*n = 0;
	if ((rc = db_prepare(st, "SELECT count(*) FROM leftovers WHERE transfer_id = ?",
			     &stmt)) < 0)
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

	if ((rc = db_prepare(st, "INSERT INTO exclusions (transfer_id, path, state, created_at) "
			     "VALUES (?, ?, 'pending', ?)", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	db_bind_path(stmt, 2, path);
	sqlite3_bind_int64(stmt, 3, now_wall());
	if ((rc = db_step_done(st, stmt, "record exclusion")) < 0)
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

	if ((rc = db_row_by_id(st, "SELECT state FROM exclusions WHERE id = ?", id, &stmt,
			       "read exclusion")) < 0)
		return rc;
	i = db_name_index(exclusion_state_names, 6, sqlite3_column_text(stmt, 0));
	*out = i < 0 ? EXCLUSION_NOMATCH : (enum exclusion_state)i;
	sqlite3_finalize(stmt);
	return SYNC_OK;
}

int
store_exclusion_set_state(struct store *st, int64_t id, enum exclusion_state s)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, "UPDATE exclusions SET state = ? WHERE id = ?", &stmt)) < 0)
		return rc;
	db_bind_text(stmt, 1, exclusion_state_name(s));
	sqlite3_bind_int64(stmt, 2, id);
	return db_step_done(st, stmt, "record exclusion state");
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
	if ((rc = db_prepare(st, "SELECT id, path FROM exclusions WHERE transfer_id = ? AND "
			     "state = ? ORDER BY id", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	db_bind_text(stmt, 2, exclusion_state_name(s));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		ALLOC_GROW(v, nv, alloc);
		v[nv].id = sqlite3_column_int64(stmt, 0);
		v[nv].path = db_col_string(stmt, 1);
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

	if ((rc = db_prepare(st, "INSERT OR IGNORE INTO leftovers (transfer_id, path) "
			     "VALUES (?, ?)", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	db_bind_path(stmt, 2, path);
	return db_step_done(st, stmt, "record leftover");
}

int
store_sent_unsure_add(struct store *st, int64_t transfer_id, const char *path)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, "INSERT OR IGNORE INTO sent_unsure (transfer_id, path) "
			     "VALUES (?, ?)", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	db_bind_path(stmt, 2, path);
	return db_step_done(st, stmt, "record a file sent");
}

int
store_sent_unsure_list(struct store *st, int64_t transfer_id, struct strvec *out)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, "SELECT path FROM sent_unsure WHERE transfer_id = ? ORDER BY path",
			     &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		char *p = db_col_string(stmt, 0);

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

	if ((rc = db_prepare(st, "DELETE FROM sent_unsure WHERE transfer_id = ?", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	return db_step_done(st, stmt, "forget files sent");
}

int
store_leftover_exists(struct store *st, int64_t transfer_id, const char *path, bool *out)
{
	sqlite3_stmt *stmt;
	int rc;

	*out = false;
	if ((rc = db_prepare(st, "SELECT 1 FROM leftovers WHERE transfer_id = ? AND path = ?",
			     &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	db_bind_path(stmt, 2, path);
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

	if ((rc = db_prepare(st, "DELETE FROM leftovers WHERE transfer_id = ? AND path = ?",
			     &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	db_bind_path(stmt, 2, path);
	return db_step_done(st, stmt, "forget leftover");
}

int
store_leftovers_list(struct store *st, int64_t transfer_id, const char *prefix,
		     struct strvec *out)
{
	struct strbuf tmp = STRBUF_INIT;
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, "SELECT path FROM leftovers WHERE transfer_id = ?3 AND "
			     "(?1 IS NULL OR " AT_OR_BELOW("path", 1, 2) ") "
			     "UNION SELECT cur_file FROM units WHERE transfer_id = ?3 AND "
			     "state = 'running' AND cur_file IS NOT NULL AND "
			     "(?1 IS NULL OR " AT_OR_BELOW("cur_file", 1, 2) ") ORDER BY 1",
			     &stmt)) < 0)
		return rc;
	if (prefix)
		db_bind_subtree(stmt, 1, 2, prefix, &tmp);
	sqlite3_bind_int64(stmt, 3, transfer_id);
	strbuf_release(&tmp);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		char *p = db_col_string(stmt, 0);

		if (p && *p)
			strvec_push(out, p);
		free(p);
	}
	rc = rc == SQLITE_DONE ? SYNC_OK : db_error(st, "list leftovers");
	sqlite3_finalize(stmt);
	return rc;
}
