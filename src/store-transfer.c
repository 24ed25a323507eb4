/*
 * store-transfer: the transfers' rows: recording and claiming one, the
 * state and totals of a run, its options, and walking the history.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

#define TRANSFER_COLUMNS \
	"id, address, user, port, source, destination, key_path, max_depth, " \
	"state, error, created_at, started_at, finished_at, sup_pid, sup_start, " \
	"sup_uid, bytes_done, files_done, planned, sup_sid, sup_boot, sup_pidns, sup_host, " \
	"far_host, far_destination, " \
	"(SELECT sum(units) FROM unit_totals n WHERE n.transfer_id = transfers.id), " \
	"(SELECT units FROM unit_totals n WHERE n.transfer_id = transfers.id " \
	"AND n.state = 'done'), " \
	"(SELECT units FROM unit_totals n WHERE n.transfer_id = transfers.id " \
	"AND n.state = 'failed'), mirror, filters, deleted, watch, watch_interval, " \
	"(SELECT max(n) FROM cycles c WHERE c.transfer_id = transfers.id), " \
	"notify_url, notify_cmd, created, updated, parent_id, fanout, feed_id"

/* A recorded owner, as db_col_proc reads it. */
#define SUP_COLUMNS "sup_pid, sup_start, sup_uid, sup_boot, sup_pidns, sup_host"

/* A transfer's filters as a BLOB, NULL for none (so that IS compares them). */
static void
bind_filters(sqlite3_stmt *stmt, int i, const struct transfer *t)
{
	if (t->filters_len == 0)
		sqlite3_bind_null(stmt, i);
	else
		sqlite3_bind_blob(stmt, i, t->filters, (int)t->filters_len, SQLITE_TRANSIENT);
}

int
store_transfer_insert(struct store *st, struct transfer *t)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, "INSERT INTO transfers (address, user, port, source, "
			     "destination, key_path, max_depth, state, created_at, sup_pid, "
			     "sup_start, sup_uid, sup_boot, sup_pidns, sup_host, far_host, "
			     "far_destination, mirror, filters, watch, watch_interval, "
			     "parent_id, fanout) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, "
			     "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			     &stmt)) < 0)
		return rc;
	t->created_at = now_wall();
	db_bind_text(stmt, 1, t->address);
	db_bind_text(stmt, 2, t->user);
	sqlite3_bind_int(stmt, 3, t->port);
	db_bind_path(stmt, 4, t->source);
	db_bind_path(stmt, 5, t->destination);
	db_bind_path(stmt, 6, t->key_path);
	sqlite3_bind_int(stmt, 7, t->max_depth);
	sqlite3_bind_int64(stmt, 8, t->created_at);
	sqlite3_bind_int64(stmt, 9, t->supervisor.pid);
	sqlite3_bind_int64(stmt, 10, (sqlite3_int64)t->supervisor.start);
	sqlite3_bind_int64(stmt, 11, t->supervisor.uid);
	db_bind_node(stmt, 12, &t->supervisor);
	db_bind_text(stmt, 15, t->far_host);
	db_bind_path(stmt, 16, t->far_destination);
	sqlite3_bind_int(stmt, 17, t->mirror);
	bind_filters(stmt, 18, t);
	sqlite3_bind_int(stmt, 19, t->watch);
	sqlite3_bind_int64(stmt, 20, t->watch_interval);
	if (t->parent_id > 0)
		sqlite3_bind_int64(stmt, 21, t->parent_id);
	sqlite3_bind_int(stmt, 22, (int)t->fanout);
	if ((rc = db_step_done(st, stmt, "record transfer")) < 0)
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
int
transfer_keep_running_files(struct store *st, int64_t transfer_id)
{
	struct strvec files = STRVEC_INIT;
	sqlite3_stmt *stmt;
	size_t i;
	int rc, step;

	if ((rc = db_prepare(st, "SELECT cur_file FROM units WHERE transfer_id = ? AND "
			     "state = 'running' AND cur_file IS NOT NULL", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, transfer_id);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		char *f = db_col_string(stmt, 0);

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

	if ((rc = db_prepare(st, "UPDATE transfers SET state = 'queued', error = NULL, "
			     "finished_at = NULL, sup_pid = ?, sup_start = ?, sup_uid = ?, "
			     "sup_sid = NULL, stop_requested = 0, "
			     "key_path = coalesce(?, key_path), sup_boot = ?6, sup_pidns = ?7, "
			     "sup_host = ?8 WHERE id = ?5",
			     &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, owner->pid);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)owner->start);
	sqlite3_bind_int64(stmt, 3, owner->uid);
	db_bind_path(stmt, 4, key_path);
	sqlite3_bind_int64(stmt, 5, id);
	db_bind_node(stmt, 6, owner);
	if ((rc = db_step_done(st, stmt, "reopen transfer")) < 0 ||
	    (rc = transfer_keep_running_files(st, id)) < 0)
		return rc;
	if ((rc = db_prepare(st, "UPDATE units SET state = 'pending', attempts = 0, error = NULL, "
			     "cur_file = NULL WHERE transfer_id = ?1 AND (state IN ('running', "
			     "'failed') OR (?2 AND state = 'excluded'))", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int(stmt, 2, reset_excluded);
	if ((rc = db_step_done(st, stmt, "reopen units")) < 0)
		return rc;
	if (!reset_excluded)
		return SYNC_OK;
	if ((rc = db_prepare(st, "DELETE FROM exclusions WHERE transfer_id = ?", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, id);
	return db_step_done(st, stmt, "forget exclusions");
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
		if ((rc = db_prepare(st, "SELECT far_destination FROM transfers WHERE far_host = ? "
				     "AND destination = ? AND far_destination IS NOT NULL "
				     "ORDER BY id DESC LIMIT 1", &stmt)) < 0)
			goto fail;
		db_bind_text(stmt, 1, t->far_host);
		db_bind_path(stmt, 2, t->destination);
		if ((step = sqlite3_step(stmt)) == SQLITE_ROW)
			t->far_destination = db_col_string(stmt, 0);
		else if (step != SQLITE_DONE) {
			rc = db_error(st, "look for the destination");
			goto fail;
		}
		sqlite3_finalize(stmt);
		stmt = NULL;
	}
	/* Newest first: the newest identical request decides about resuming. */
	if ((rc = db_prepare(st, "SELECT id, state, max_depth, " SUP_COLUMNS ", parent_id"
			     " FROM transfers WHERE source = ?4 AND (far_host = ?6 OR "
			     "(address = ?1 AND user = ?2 AND port = ?3)) AND "
			     "(destination IN (?5, ?7) OR far_destination IN (?5, ?7)) "
			     "AND mirror = ?8 AND filters IS ?9 AND watch = ?10 ORDER BY id DESC",
			     &stmt)) < 0)
		goto fail;
	db_bind_text(stmt, 1, t->address);
	db_bind_text(stmt, 2, t->user);
	sqlite3_bind_int(stmt, 3, t->port);
	db_bind_path(stmt, 4, t->source);
	db_bind_path(stmt, 5, t->destination);
	db_bind_text(stmt, 6, t->far_host);
	db_bind_path(stmt, 7, t->far_destination);
	/* Another mirror, other filters: another request, which the far lock keeps apart. */
	sqlite3_bind_int(stmt, 8, t->mirror);
	bind_filters(stmt, 9, t);
	sqlite3_bind_int(stmt, 10, t->watch);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		bool active = state_is(stmt, 1, TRANSFER_QUEUED) ||
			      state_is(stmt, 1, TRANSFER_RUNNING);
		struct proc_id p;

		db_col_proc(stmt, 3, &p);
		if (active && alive(&p)) {
			t->id = sqlite3_column_int64(stmt, 0);
			*result = CLAIM_RUNNING;
			break;
		}
		/*
		 * A host's transfer is continued only as a host of the same
		 * request (taken from it, that request would lose a host); a
		 * transfer of its own only as one.
		 */
		if (sqlite3_column_int64(stmt, 9) != t->parent_id)
			continue;
		/* Failed, or its supervisor died: continue it rather than start over. */
		if (newest && !t->fresh && sqlite3_column_int(stmt, 2) == t->max_depth &&
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
	if ((rc = db_prepare(st, "SELECT o.id, o.sup_pid, o.sup_start, o.sup_uid, o.sup_boot, "
			     "o.sup_pidns, o.sup_host FROM transfers t "
			     "JOIN transfers o ON " SAME_REQUEST("o", "t") " AND o.id != t.id "
			     "WHERE t.id = ? AND o.state IN ('queued', 'running')", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, id);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		db_col_proc(stmt, 1, &p);
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
store_transfer_live_twin(struct store *st, int64_t id, bool (*alive)(const struct proc_id *),
			 int64_t *running_id)
{
	struct transfer t;
	int rc;

	*running_id = 0;
	if ((rc = store_transfer_get(st, id, &t)) < 0)
		return rc;
	if (!transfer_state_finished(t.state) && alive(&t.supervisor))
		*running_id = id;
	transfer_release(&t);
	if (*running_id)
		return SYNC_OK;
	if ((rc = store_begin(st)) < 0)
		return rc;
	rc = find_live_twin(st, id, alive, running_id);
	store_rollback(st);
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
	if ((rc = db_prepare(st, "SELECT state, " SUP_COLUMNS " FROM transfers "
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
	state = db_name_index(transfer_state_names,
			      sizeof transfer_state_names / sizeof *transfer_state_names,
			      sqlite3_column_text(stmt, 0));
	*was = state < 0 ? TRANSFER_FAILED : (enum transfer_state)state;
	db_col_proc(stmt, 1, &p);
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
	t->address = db_col_string(stmt, 1);
	t->user = db_col_string(stmt, 2);
	t->port = sqlite3_column_int(stmt, 3);
	t->source = db_col_string(stmt, 4);
	t->destination = db_col_string(stmt, 5);
	t->key_path = db_col_string(stmt, 6);
	t->max_depth = sqlite3_column_int(stmt, 7);
	state = db_name_index(transfer_state_names,
			      sizeof transfer_state_names / sizeof *transfer_state_names,
			      sqlite3_column_text(stmt, 8));
	t->state = state < 0 ? TRANSFER_FAILED : (enum transfer_state)state;
	t->error = db_col_string(stmt, 9);
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
	db_col_node(stmt, 20, &t->supervisor.node);
	t->far_host = db_col_string(stmt, 23);
	t->far_destination = db_col_string(stmt, 24);
	t->units_total = (uint64_t)sqlite3_column_int64(stmt, 25);
	t->units_done = (uint64_t)sqlite3_column_int64(stmt, 26);
	t->units_failed = (uint64_t)sqlite3_column_int64(stmt, 27);
	t->mirror = sqlite3_column_int(stmt, 28) != 0;
	if (sqlite3_column_type(stmt, 29) == SQLITE_BLOB && sqlite3_column_bytes(stmt, 29) > 0) {
		t->filters_len = (size_t)sqlite3_column_bytes(stmt, 29);
		t->filters = xmalloc(t->filters_len + 1);
		memcpy(t->filters, sqlite3_column_blob(stmt, 29), t->filters_len);
		t->filters[t->filters_len] = '\0';
	}
	t->deleted = (uint64_t)sqlite3_column_int64(stmt, 30);
	t->watch = sqlite3_column_int(stmt, 31) != 0;
	t->watch_interval = (unsigned)sqlite3_column_int64(stmt, 32);
	t->cycles = (uint64_t)sqlite3_column_int64(stmt, 33);
	t->notify_url = db_col_string(stmt, 34);
	t->notify_cmd = db_col_string(stmt, 35);
	t->created = (uint64_t)sqlite3_column_int64(stmt, 36);
	t->updated = (uint64_t)sqlite3_column_int64(stmt, 37);
	t->parent_id = sqlite3_column_int64(stmt, 38);
	t->fanout = (unsigned)sqlite3_column_int(stmt, 39);
	t->feed_id = sqlite3_column_int64(stmt, 40);
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

	if ((rc = db_prepare(st, "SELECT " TRANSFER_COLUMNS " FROM transfers WHERE id = ?",
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

	if ((rc = db_prepare(st, "UPDATE transfers SET state = 'running', error = NULL, "
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
	db_bind_node(stmt, 9, sup);
	if ((rc = db_step_done(st, stmt, "mark transfer running")) < 0)
		return rc;
	return sqlite3_changes(st->db) ? SYNC_OK : SYNC_ERR_EXISTS;
}

int
store_transfer_finish(struct store *st, int64_t id, enum transfer_state s,
		      const char *error)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, "UPDATE transfers SET state = ?, error = ?, finished_at = ? "
			     "WHERE id = ?", &stmt)) < 0)
		return rc;
	db_bind_text(stmt, 1, transfer_state_name(s));
	db_bind_text(stmt, 2, error);
	if (transfer_state_finished(s))
		sqlite3_bind_int64(stmt, 3, now_wall());
	else
		sqlite3_bind_null(stmt, 3);
	sqlite3_bind_int64(stmt, 4, id);
	return db_step_done(st, stmt, "record transfer state");
}

int
store_transfer_request_stop(struct store *st, int64_t id)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, "UPDATE transfers SET stop_requested = 1 WHERE id = ? AND "
			     "state IN ('queued', 'running', 'interrupted')", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, id);
	return db_step_done(st, stmt, "record the stop request");
}

int
store_transfer_stop_requested(struct store *st, int64_t id, bool *out)
{
	sqlite3_stmt *stmt;
	int rc;

	*out = false;
	if ((rc = db_row_by_id(st, "SELECT stop_requested FROM transfers WHERE id = ?", id, &stmt,
			       "read the stop request")) < 0)
		return rc;
	*out = sqlite3_column_int(stmt, 0) != 0;
	sqlite3_finalize(stmt);
	return SYNC_OK;
}

int
store_transfer_finish_orphan(struct store *st, int64_t id, const struct proc_id *owner,
			     enum transfer_state s, const char *error)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, "UPDATE transfers SET state = ?, error = ?, finished_at = ? "
			     "WHERE id = ? AND state IN ('queued', 'running', 'interrupted') AND "
			     "sup_pid = ? AND sup_start = ? AND sup_uid = ? AND "
			     "coalesce(sup_boot, '') = coalesce(?8, '')", &stmt)) < 0)
		return rc;
	db_bind_text(stmt, 1, transfer_state_name(s));
	db_bind_text(stmt, 2, error);
	sqlite3_bind_int64(stmt, 3, now_wall());
	sqlite3_bind_int64(stmt, 4, id);
	sqlite3_bind_int64(stmt, 5, owner->pid);
	sqlite3_bind_int64(stmt, 6, (sqlite3_int64)owner->start);
	sqlite3_bind_int64(stmt, 7, owner->uid);
	db_bind_text(stmt, 8, owner->node.boot[0] ? owner->node.boot : NULL);
	if ((rc = db_step_done(st, stmt, "record transfer state")) < 0)
		return rc;
	return sqlite3_changes(st->db) ? SYNC_OK : SYNC_ERR_NOT_FOUND;
}

int
store_transfer_mark_interrupted(struct store *st, int64_t id, const struct proc_id *sup,
				const char *reason)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, "UPDATE transfers SET state = 'interrupted', error = ?, "
			     "finished_at = ? WHERE id = ? AND state = 'running' AND "
			     "sup_pid = ? AND sup_start = ? AND "
			     "coalesce(sup_boot, '') = coalesce(?6, '')",
			     &stmt)) < 0)
		return rc;
	db_bind_text(stmt, 1, reason);
	sqlite3_bind_int64(stmt, 2, now_wall());
	sqlite3_bind_int64(stmt, 3, id);
	sqlite3_bind_int64(stmt, 4, sup->pid);
	sqlite3_bind_int64(stmt, 5, (sqlite3_int64)sup->start);
	db_bind_text(stmt, 6, sup->node.boot[0] ? sup->node.boot : NULL);
	if ((rc = db_step_done(st, stmt, "mark transfer interrupted")) < 0)
		return rc;
	return sqlite3_changes(st->db) ? SYNC_OK : SYNC_ERR_NOT_FOUND;
}

int
store_transfer_set_far_destination(struct store *st, int64_t id, const char *path)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, "UPDATE transfers SET far_destination = ? WHERE id = ?",
			      &stmt)) < 0)
		return rc;
	db_bind_path(stmt, 1, path);
	sqlite3_bind_int64(stmt, 2, id);
	return db_step_done(st, stmt, "record the destination");
}

int
store_transfer_set_totals(struct store *st, int64_t id, uint64_t bytes_done,
			  uint64_t files_done)
{
	sqlite3_stmt *stmt;
	int rc;

	/* Never lower: they count every run, and views must not see them go back. */
	if ((rc = db_prepare(st, "UPDATE transfers SET bytes_done = max(bytes_done, ?1), "
			     "files_done = max(files_done, ?2) WHERE id = ?3", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)bytes_done);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)files_done);
	sqlite3_bind_int64(stmt, 3, id);
	return db_step_done(st, stmt, "record totals");
}

int
store_transfer_add_changes(struct store *st, int64_t id, uint64_t created, uint64_t updated)
{
	sqlite3_stmt *stmt;
	int rc;

	if (created == 0 && updated == 0)
		return SYNC_OK;
	if ((rc = db_prepare(st, "UPDATE transfers SET created = created + ?1, "
			     "updated = updated + ?2 WHERE id = ?3", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)created);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)updated);
	sqlite3_bind_int64(stmt, 3, id);
	return db_step_done(st, stmt, "record what was created and updated");
}

int
store_transfer_set_answer(struct store *st, int64_t id, double seconds)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, "UPDATE transfers SET answer_seconds = ? WHERE id = ?",
			      &stmt)) < 0)
		return rc;
	sqlite3_bind_double(stmt, 1, seconds);
	sqlite3_bind_int64(stmt, 2, id);
	return db_step_done(st, stmt, "record the far side's answer");
}

int
store_transfer_answer_before(struct store *st, const struct transfer *t, int64_t since,
			     bool same_place, double *seconds)
{
	sqlite3_stmt *stmt;
	int rc;

	*seconds = -1;
	if ((rc = db_prepare(st, "SELECT answer_seconds FROM transfers WHERE id < ?1 AND "
			     "address = ?2 AND user = ?3 AND port = ?4 AND "
			     "(?8 = 0 OR (source = ?5 AND destination = ?6)) AND "
			     "state = 'done' AND answer_seconds IS NOT NULL AND "
			     "finished_at >= ?7 ORDER BY id DESC LIMIT 1", &stmt)) < 0)
		return rc;
	sqlite3_bind_int(stmt, 8, same_place);
	sqlite3_bind_int64(stmt, 1, t->id);
	db_bind_text(stmt, 2, t->address);
	db_bind_text(stmt, 3, t->user);
	sqlite3_bind_int(stmt, 4, t->port);
	db_bind_path(stmt, 5, t->source);
	db_bind_path(stmt, 6, t->destination);
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
	rc = db_prepare(st, sql.buf, &stmt);
	strbuf_release(&sql);
	if (rc < 0)
		return rc;
	db_bind_text(stmt, 1, f ? f->address : NULL);
	db_bind_text(stmt, 2, f ? f->user : NULL);
	db_bind_path(stmt, 3, f ? f->source : NULL);
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
store_transfer_set_parent(struct store *st, int64_t id, int64_t parent_id)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, "UPDATE transfers SET parent_id = ? WHERE id = ?", &stmt)) < 0)
		return rc;
	if (parent_id > 0)
		sqlite3_bind_int64(stmt, 1, parent_id);
	sqlite3_bind_int64(stmt, 2, id);
	return db_step_done(st, stmt, "record the transfer's request");
}

int
store_transfer_set_feed(struct store *st, int64_t id, int64_t feed_id)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, "UPDATE transfers SET feed_id = ? WHERE id = ?", &stmt)) < 0)
		return rc;
	if (feed_id > 0)
		sqlite3_bind_int64(stmt, 1, feed_id);
	sqlite3_bind_int64(stmt, 2, id);
	return db_step_done(st, stmt, "record where a host is fed from");
}

int
store_transfer_feeds(struct store *st, int64_t id, bool *feeds)
{
	sqlite3_stmt *stmt;
	int rc;

	*feeds = false;
	if ((rc = db_prepare(st, "SELECT 1 FROM transfers WHERE feed_id = ? LIMIT 1",
			     &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	*feeds = rc == SQLITE_ROW;
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SYNC_OK : db_error(st, "read the relay tree");
	sqlite3_finalize(stmt);
	return rc;
}

int
store_transfer_children(struct store *st, int64_t parent_id, struct transfer **out, size_t *n)
{
	sqlite3_stmt *stmt;
	struct transfer *v = NULL;
	size_t nr = 0;
	int rc, step;

	*out = NULL;
	*n = 0;
	/* Recorded in the order of the hosts: by id. */
	if ((rc = db_prepare(st, "SELECT " TRANSFER_COLUMNS " FROM transfers WHERE "
			     "parent_id = ? ORDER BY id", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, parent_id);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		v = xrealloc(v, (nr + 1) * sizeof *v);
		read_transfer(stmt, &v[nr++]);
	}
	if (step != SQLITE_DONE) {
		rc = db_error(st, "list the hosts' transfers");
		sqlite3_finalize(stmt);
		while (nr)
			transfer_release(&v[--nr]);
		free(v);
		return rc;
	}
	sqlite3_finalize(stmt);
	*out = v;
	*n = nr;
	return SYNC_OK;
}

int
store_transfer_set_planned(struct store *st, int64_t id)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, "UPDATE transfers SET planned = 1 WHERE id = ?", &stmt)) < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, id);
	return db_step_done(st, stmt, "record plan");
}

int
store_transfer_set_workdir(struct store *st, int64_t id, const char *dir)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, "UPDATE transfers SET workdir = ? WHERE id = ?", &stmt)) < 0)
		return rc;
	db_bind_path(stmt, 1, dir);
	sqlite3_bind_int64(stmt, 2, id);
	return db_step_done(st, stmt, "record work directory");
}

/* A request's own option: -1 keeps the one recorded (NULL), OPTION_CLEAR forgets it. */
static void
bind_guard(sqlite3_stmt *stmt, int i, long long v)
{
	if (v == -1)
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
	if ((rc = db_prepare(st, "UPDATE transfers SET opt_workers = coalesce(?1, opt_workers), "
			     "opt_bwlimit = coalesce(?2, opt_bwlimit), "
			     "opt_retries = coalesce(?3, opt_retries), "
			     "opt_max_delete = CASE WHEN ?5 IS NULL THEN opt_max_delete "
			     "WHEN ?5 < 0 THEN NULL ELSE ?5 END, "
			     "opt_delete_all_ok = CASE WHEN ?6 IS NULL THEN opt_delete_all_ok "
			     "WHEN ?6 < 0 THEN NULL ELSE ?6 END, "
			     "opt_verify = CASE WHEN ?7 IS NULL THEN opt_verify "
			     "WHEN ?7 < 0 THEN NULL ELSE ?7 END, "
			     "opt_trust_record = CASE WHEN ?8 IS NULL THEN opt_trust_record "
			     "WHEN ?8 < 0 THEN NULL ELSE ?8 END WHERE id = ?4",
			     &stmt)) < 0)
		return rc;
	db_bind_option(stmt, 1, o->workers);
	db_bind_option(stmt, 2, o->bwlimit_kib);
	db_bind_option(stmt, 3, o->retries);
	sqlite3_bind_int64(stmt, 4, id);
	bind_guard(stmt, 5, o->max_delete);
	bind_guard(stmt, 6, o->delete_all_ok);
	bind_guard(stmt, 7, o->verify);
	bind_guard(stmt, 8, o->trust_record);
	return db_step_done(st, stmt, "record the transfer's options");
}

int
store_transfer_set_request(struct store *st, int64_t id, const char *url, const char *cmd,
			   unsigned watch_interval)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = db_prepare(st, "UPDATE transfers SET notify_url = ?1, notify_cmd = ?2, "
			     "watch_interval = CASE WHEN watch THEN ?4 ELSE watch_interval END "
			     "WHERE id = ?3", &stmt)) < 0)
		return rc;
	db_bind_path(stmt, 1, url);
	db_bind_path(stmt, 2, cmd);
	sqlite3_bind_int64(stmt, 3, id);
	sqlite3_bind_int64(stmt, 4, watch_interval);
	return db_step_done(st, stmt, "record the request's receiver and interval");
}

int
store_transfer_options(struct store *st, int64_t id, struct transfer_options *o)
{
	sqlite3_stmt *stmt;
	int rc;

	o->workers = o->retries = o->delete_all_ok = o->verify = o->trust_record = -1;
	o->bwlimit_kib = o->max_delete = -1;
	if ((rc = db_row_by_id(st, "SELECT opt_workers, opt_bwlimit, opt_retries, "
			       "opt_max_delete, opt_delete_all_ok, opt_verify, opt_trust_record "
			       "FROM transfers "
			       "WHERE id = ?", id, &stmt, "read the transfer's options")) < 0)
		return rc;
	if (sqlite3_column_type(stmt, 0) != SQLITE_NULL)
		o->workers = sqlite3_column_int(stmt, 0);
	if (sqlite3_column_type(stmt, 1) != SQLITE_NULL)
		o->bwlimit_kib = sqlite3_column_int64(stmt, 1);
	if (sqlite3_column_type(stmt, 2) != SQLITE_NULL)
		o->retries = sqlite3_column_int(stmt, 2);
	if (sqlite3_column_type(stmt, 3) != SQLITE_NULL)
		o->max_delete = sqlite3_column_int64(stmt, 3);
	if (sqlite3_column_type(stmt, 4) != SQLITE_NULL)
		o->delete_all_ok = sqlite3_column_int(stmt, 4);
	if (sqlite3_column_type(stmt, 5) != SQLITE_NULL)
		o->verify = sqlite3_column_int(stmt, 5);
	if (sqlite3_column_type(stmt, 6) != SQLITE_NULL)
		o->trust_record = sqlite3_column_int(stmt, 6);
	sqlite3_finalize(stmt);
	return SYNC_OK;
}

int
store_transfer_workdir(struct store *st, int64_t id, char **dir)
{
	sqlite3_stmt *stmt;
	int rc;

	*dir = NULL;
	if ((rc = db_row_by_id(st, "SELECT workdir FROM transfers WHERE id = ?", id, &stmt,
			       "read work directory")) < 0)
		return rc;
	*dir = db_col_string(stmt, 0);
	sqlite3_finalize(stmt);
	return SYNC_OK;
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
	if ((rc = db_prepare(st, "SELECT bytes_done, files_done FROM transfers WHERE id = ?",
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

	if ((rc = db_prepare(st, "SELECT id, state, " SUP_COLUMNS " FROM transfers "
			     "WHERE state IN ('queued', 'running') ORDER BY id", &stmt)) < 0)
		return rc;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		a.id = sqlite3_column_int64(stmt, 0);
		a.state = state_is(stmt, 1, TRANSFER_RUNNING) ? TRANSFER_RUNNING : TRANSFER_QUEUED;
		db_col_proc(stmt, 2, &a.supervisor);
		if ((rc = fn(&a, ctx)) != 0)
			break;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = db_error(st, "list active transfers");
	sqlite3_finalize(stmt);
	return rc;
}

int
store_live_foreach(struct store *st, live_fn fn, void *ctx)
{
	sqlite3_stmt *stmt;
	struct live_file f;
	char *address, *source, *file, *node;
	int rc, step;

	if ((rc = db_prepare(st, "SELECT t.id, t.address, t.source, u.cur_file, u.cur_bytes, "
			     "u.cur_percent, u.cur_rate, u.cur_eta, t.sup_pid, t.sup_start, "
			     "t.sup_uid, t.sup_boot, t.sup_pidns, t.sup_host, u.node "
			     "FROM transfers t JOIN units u ON u.transfer_id = t.id "
			     "WHERE t.state = 'running' AND u.state = 'running' AND "
			     "u.cur_file IS NOT NULL ORDER BY t.id, u.id", &stmt)) < 0)
		return rc;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		memset(&f, 0, sizeof f);
		f.transfer_id = sqlite3_column_int64(stmt, 0);
		f.address = address = db_col_string(stmt, 1);
		f.source = source = db_col_string(stmt, 2);
		f.current_file = file = db_col_string(stmt, 3);
		f.file_bytes = (uint64_t)sqlite3_column_int64(stmt, 4);
		f.file_percent = sqlite3_column_int(stmt, 5);
		f.rate = sqlite3_column_double(stmt, 6);
		f.eta = sqlite3_column_int64(stmt, 7);
		db_col_proc(stmt, 8, &f.supervisor);
		f.node = node = db_col_string(stmt, 14);
		rc = (address && source && file) ? fn(&f, ctx) : 0;
		free(address);
		free(source);
		free(file);
		free(node);
		if (rc != 0)
			break;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = db_error(st, "list live files");
	sqlite3_finalize(stmt);
	return rc;
}
