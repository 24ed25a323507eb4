/*
 * store-internal: what the store's own files share (store.c and
 * store-*.c): the handle, the helpers around SQLite statements, and the
 * names of states as the rows spell them. Nothing else includes it; the
 * store's API is store.h.
 */
#ifndef SCOW_SYNC_STORE_INTERNAL_H
#define SCOW_SYNC_STORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "proc.h"
#include "store.h"
#include "util.h"

struct store {
	sqlite3 *db;
	bool shared;           /* on a file system several hosts share: DELETE journal */
	char errmsg[256];
};

/* SQL matching a path column equal to ?a, or below it (?b: the path and "/"). */
#define AT_OR_BELOW(col, a, b) \
	"(" col " = ?" #a " OR substr(" col ", 1, length(?" #b ")) = ?" #b ")"

extern const char *const transfer_state_names[6];
extern const char *const unit_state_names[5];
extern const char *const unit_kind_names[2];

/* store.c: errors, statements, binding and reading columns */
/* Map a name back to its index in names, or -1. */
int db_name_index(const char *const *names, size_t n, const unsigned char *name);
/* Remember SQLite's message and return SYNC_ERR_STORE. */
int db_error(struct store *st, const char *what);
/* Prepare sql or record why not. */
int db_prepare(struct store *st, const char *sql, sqlite3_stmt **stmt);
/* Run a statement that returns no rows, then finalize it. */
int db_step_done(struct store *st, sqlite3_stmt *stmt, const char *what);
void db_bind_path(sqlite3_stmt *stmt, int i, const char *path);
void db_bind_text(sqlite3_stmt *stmt, int i, const char *s);
/* Bind v as parameter i, or NULL when it is below 0 (not given). */
void db_bind_option(sqlite3_stmt *stmt, int i, long long v);
/* Read a recorded node from columns col (boot), col + 1 (pidns), col + 2 (host). */
void db_col_node(sqlite3_stmt *stmt, int col, struct proc_node *n);
/* Read a recorded supervisor from the SUP_COLUMNS at col. */
void db_col_proc(sqlite3_stmt *stmt, int col, struct proc_id *p);
/* Bind the node of p at parameters i (boot), i + 1 (pidns), i + 2 (host). */
void db_bind_node(sqlite3_stmt *stmt, int i, const struct proc_id *p);
/* Copy a TEXT or BLOB column into a new C string, NULL for SQL NULL. */
char *db_col_string(sqlite3_stmt *stmt, int i);
/* Bind path and path + "/" as ?a and ?b, for "at or below path" matches. */
void db_bind_subtree(sqlite3_stmt *stmt, int a, int b, const char *path, struct strbuf *tmp);
int db_exec(struct store *st, const char *sql, const char *what);
/* Step to the one row of sql for id: SYNC_OK with *stmt on it, SYNC_ERR_NOT_FOUND, or an error. */
int db_row_by_id(struct store *st, const char *sql, int64_t id, sqlite3_stmt **stmt,
		 const char *what);

/* store-transfer.c */
/*
 * Record the files that running units were moving as leftovers, before
 * their rows forget them: a dead supervisor's rsync may have left partial
 * data of them on the far side, for a later cleanup to remove.
 */
int transfer_keep_running_files(struct store *st, int64_t transfer_id);

/*
 * Rows a and b are one request: the same source, the same far host (as ssh
 * resolves it, or spelled the same) and the same destination (as given,
 * or made absolute on the far side).
 */
#define SAME_REQUEST(a, b) \
	"(" a ".source = " b ".source AND (" a ".far_host = " b ".far_host OR " \
	"(" a ".address = " b ".address AND " a ".user = " b ".user AND " \
	a ".port = " b ".port)) AND (" a ".destination IN (" b ".destination, " \
	b ".far_destination) OR " a ".far_destination IN (" b ".destination, " \
	b ".far_destination)))"

#endif
