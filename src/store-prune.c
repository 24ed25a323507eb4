/* store-prune: forgetting old transfers: the prune, by slices, and when it is due. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

/* The condition a transfer is pruned on: ended before ?2, not among the newest ?3. */
/*
 * A request to several hosts goes with its hosts' transfers, never one
 * without the other: the request when each of them may go too (ended, no
 * partial data, none of the newest), a host's transfer only with it (its
 * condition binds ?2 only to take the same arguments).
 */
#define PRUNABLE_ROW(t) \
	t ".state IN ('done', 'failed', 'terminated') AND " \
	"NOT EXISTS (SELECT 1 FROM leftovers l WHERE l.transfer_id = " t ".id) AND " \
	t ".id NOT IN (SELECT id FROM transfers ORDER BY id DESC LIMIT ?3)"
#define PRUNABLE \
	PRUNABLE_ROW("transfers") " AND coalesce(finished_at, created_at) < ?2 AND " \
	"parent_id IS NULL AND NOT EXISTS (SELECT 1 FROM transfers c WHERE " \
	"c.parent_id = transfers.id AND NOT (" PRUNABLE_ROW("c") "))"
#define PRUNABLE_HOST PRUNABLE_ROW("transfers") " AND ?2 = ?2"
#define PRUNE_SLICE 2000          /* units removed in one write transaction */

/*
 * Remove transfer id if it is still to be pruned, PRUNE_SLICE units per
 * transaction and the record last, so that no write lock is held long.
 * The first slice forgets that the walk was complete: a transfer resumed
 * between two slices walks again and finds the units that went.
 * *removed: whether it went.
 */
static int
prune_one(struct store *st, int64_t id, bool host, int64_t before, uint64_t keep,
	  bool *removed)
{
	sqlite3_stmt *stmt = NULL;
	bool last = false;
	int rc;

	*removed = false;
	while (!last) {
		if ((rc = store_begin(st)) < 0)
			return rc;
		if ((rc = db_prepare(st, host ?
				     "UPDATE transfers SET planned = 0 WHERE id = ?1 AND "
				     PRUNABLE_HOST : "UPDATE transfers SET planned = 0 WHERE "
				     "id = ?1 AND " PRUNABLE, &stmt)) < 0)
			goto fail;
		sqlite3_bind_int64(stmt, 1, id);
		sqlite3_bind_int64(stmt, 2, before);
		sqlite3_bind_int64(stmt, 3, (sqlite3_int64)keep);
		if ((rc = db_step_done(st, stmt, "prune")) < 0)
			goto fail;
		stmt = NULL;
		/* Resumed, or cleanup pending, meanwhile: it stays. */
		if (sqlite3_changes(st->db) == 0) {
			store_rollback(st);
			return SYNC_OK;
		}
		if ((rc = db_prepare(st, "DELETE FROM units WHERE id IN (SELECT id FROM units "
				     "WHERE transfer_id = ? LIMIT ?)", &stmt)) < 0)
			goto fail;
		sqlite3_bind_int64(stmt, 1, id);
		sqlite3_bind_int(stmt, 2, PRUNE_SLICE);
		if ((rc = db_step_done(st, stmt, "remove old units")) < 0)
			goto fail;
		stmt = NULL;
		if (sqlite3_changes(st->db) < PRUNE_SLICE) {
			last = true;
			if ((rc = db_prepare(st, "DELETE FROM transfers WHERE id = ?", &stmt)) < 0)
				goto fail;
			sqlite3_bind_int64(stmt, 1, id);
			if ((rc = db_step_done(st, stmt, "remove old transfers")) < 0)
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
	if ((rc = db_prepare(st, "SELECT id FROM transfers WHERE " PRUNABLE " ORDER BY id",
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
		struct transfer *hosts = NULL;
		size_t nhosts = 0, k;

		/* A request's hosts first: one resumed meanwhile keeps the request. */
		if ((rc = store_transfer_children(st, ids[i], &hosts, &nhosts)) < 0)
			break;
		for (k = 0; k < nhosts && rc >= 0; k++)
			if ((rc = prune_one(st, hosts[k].id, true, before, keep, &removed)) >= 0)
				*n += removed;
		for (k = 0; k < nhosts; k++)
			transfer_release(&hosts[k]);
		free(hosts);
		if (rc < 0 || (rc = prune_one(st, ids[i], false, before, keep, &removed)) < 0)
			break;
		*n += removed;
	}
	free(ids);
	return rc;
}

int
store_compact(struct store *st)
{
	return db_exec(st, "VACUUM", "compact the database");
}

int
store_prune_due(struct store *st, int64_t now, int64_t every, bool *due)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	*due = false;
	/* A read first: on most days nothing is to be done, and no lock is taken. */
	if ((rc = db_prepare(st, "SELECT 1 FROM store_notes WHERE name = 'pruned_at' AND "
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
	if ((rc = db_prepare(st, "INSERT OR REPLACE INTO store_notes (name, value) "
			     "SELECT 'pruned_at', ?1 WHERE NOT EXISTS (SELECT 1 FROM store_notes "
			     "WHERE name = 'pruned_at' AND value > ?1 - ?2)", &stmt)) < 0)
		goto fail;
	sqlite3_bind_int64(stmt, 1, now);
	sqlite3_bind_int64(stmt, 2, every);
	if ((rc = db_step_done(st, stmt, "record the prune")) < 0)
		goto fail;
	*due = sqlite3_changes(st->db) > 0;
	return store_commit(st);
fail:
	store_rollback(st);
	return rc;
}
