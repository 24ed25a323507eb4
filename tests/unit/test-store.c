/* Unit tests for store: schema, permissions, transfers, units, live rows. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "util.h"
#include "unit.h"

static int
count_transfer(const struct transfer *t, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

static bool
always_alive(const struct proc_id *p)
{
	return true;
}

static bool
never_alive(const struct proc_id *p)
{
	return false;
}

static int
collect_live(const struct live_file *f, void *ctx)
{
	strbuf_addf(ctx, "%lld %s %s %s %llu %d\n", (long long)f->transfer_id, f->address,
		    f->source, f->current_file, (unsigned long long)f->file_bytes,
		    f->file_percent);
	return 0;
}

/*
 * Processes opening one new state directory at the same moment (the
 * portal's starts of one selection do): every one of them gets the store.
 */
static void
test_open_together(const char *base)
{
	int round, i, status, failed = 0;

	for (round = 0; round < 10; round++) {
		char *dir = xasprintf("%s/together-%d", base, round);
		pid_t pids[12];

		for (i = 0; i < 12; i++) {
			if ((pids[i] = fork()) == 0) {
				struct store *st;
				char err[256];

				if (store_open(dir, &st, err, sizeof err) != SYNC_OK)
					_exit(1);
				store_close(st);
				_exit(0);
			}
		}
		for (i = 0; i < 12; i++)
			if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
			    WEXITSTATUS(status) != 0)
				failed++;
		free(dir);
	}
	CHECK_INT(failed, 0);
}

/*
 * A store whose write lock another process holds (a supervisor planning a
 * large tree): opening it to read takes no lock, so it neither waits for
 * the writer nor fails.
 */
static void
test_open_while_written(const char *base)
{
	char *dir = xasprintf("%s/held", base);
	struct store *writer = NULL, *reader = NULL;
	uint64_t counts[5];
	char err[256];

	CHECK_INT(store_open(dir, &writer, err, sizeof err), SYNC_OK);
	CHECK_INT(store_begin(writer), SYNC_OK);
	/* Waiting for the lock would end in "database is locked" after the busy timeout. */
	CHECK_INT(store_open(dir, &reader, err, sizeof err), SYNC_OK);
	if (reader)
		CHECK_INT(store_unit_counts(reader, 1, counts), SYNC_OK);
	store_close(reader);
	store_rollback(writer);
	store_close(writer);
	free(dir);
}

/* Check a transfer's sizes: units pending, running, done, failed, excluded; files, bytes. */
#define CHECK_SIZES(st, id, p, r, d, f, x, files, bytes) \
	do { \
		struct transfer_sizes sz_; \
		CHECK_INT(store_transfer_sizes(st, id, &sz_), SYNC_OK); \
		CHECK_INT(sz_.units[UNIT_PENDING], p); \
		CHECK_INT(sz_.units[UNIT_RUNNING], r); \
		CHECK_INT(sz_.units[UNIT_DONE], d); \
		CHECK_INT(sz_.units[UNIT_FAILED], f); \
		CHECK_INT(sz_.units[UNIT_EXCLUDED], x); \
		CHECK_INT(sz_.files_total, files); \
		CHECK_INT(sz_.bytes_total, bytes); \
	} while (0)

/*
 * The counts query and status show are kept as units change, not counted
 * per call: they stay right through every change a unit goes through, and
 * through a migration from the schema before them.
 */
static void
test_totals(const char *base)
{
	char *dir = xasprintf("%s/totals", base), *db = xasprintf("%s/scow-sync.db", dir);
	struct proc_id me = { .pid = getpid(), .start = 12345, .uid = getuid() };
	struct unit_size s1 = { 1, 100 }, s2 = { 10, 2000 }, s3 = { 5, 30000 };
	struct store *st = NULL;
	struct transfer t, other, got;
	struct transfer_sizes sz;
	enum transfer_state was;
	int64_t u1, u2, u3, u4, twin;
	uint64_t n, counts[5];
	char err[256];

	CHECK_INT(store_open(dir, &st, err, sizeof err), SYNC_OK);
	if (st == NULL)
		goto out;
	memset(&t, 0, sizeof t);
	t.address = "host";
	t.user = "u";
	t.port = 22;
	t.source = "/s";
	t.destination = "/d";
	t.key_path = "/k";
	t.supervisor = me;
	other = t;
	other.source = "/other";
	CHECK_INT(store_transfer_insert(st, &t), SYNC_OK);
	CHECK_INT(store_transfer_insert(st, &other), SYNC_OK);
	/* A new transfer: all zero. */
	CHECK_SIZES(st, t.id, 0, 0, 0, 0, 0, 0, 0);
	CHECK_INT(store_unit_add(st, t.id, UNIT_FILE, "s/a", &s1, &u1), SYNC_OK);
	CHECK_INT(store_unit_add(st, t.id, UNIT_TREE, "s/b", &s2, &u2), SYNC_OK);
	CHECK_INT(store_unit_add(st, t.id, UNIT_TREE, "s/c", &s3, &u3), SYNC_OK);
	CHECK_INT(store_unit_add(st, t.id, UNIT_FILE, "s/d", NULL, &u4), SYNC_OK);
	/* Added again by a walk done twice: nothing counts twice. */
	CHECK_INT(store_unit_add(st, t.id, UNIT_FILE, "s/a", &s1, NULL), SYNC_OK);
	CHECK_INT(store_unit_add(st, other.id, UNIT_FILE, "other/x", &s3, NULL), SYNC_OK);
	CHECK_SIZES(st, t.id, 4, 0, 0, 0, 0, 16, 32100);
	CHECK_SIZES(st, other.id, 1, 0, 0, 0, 0, 5, 30000);

	CHECK_INT(store_unit_set_state(st, u1, UNIT_RUNNING, 1, NULL), SYNC_OK);
	CHECK_INT(store_unit_set_state(st, u2, UNIT_RUNNING, 1, NULL), SYNC_OK);
	/* The same state again changes nothing. */
	CHECK_INT(store_unit_set_state(st, u2, UNIT_RUNNING, 2, NULL), SYNC_OK);
	{
		struct unit_progress p = { u2, "s/b/f", 700, 35, 50.0, 5, 300, 1 };

		CHECK_INT(store_progress_write(st, &p, 1, NULL), SYNC_OK);
	}
	CHECK_SIZES(st, t.id, 2, 2, 0, 0, 0, 16, 32100);
	CHECK_INT(store_transfer_sizes(st, t.id, &sz), SYNC_OK);
	/* what the running unit moved, the file in flight too */
	CHECK_INT(sz.bytes_settled, 1000);
	CHECK(sz.rate > 49.0 && sz.rate < 51.0);
	CHECK_INT(store_unit_set_done(st, u1, 1, 100, 1), SYNC_OK);
	CHECK_INT(store_unit_set_state(st, u3, UNIT_FAILED, 3, "disk"), SYNC_OK);
	CHECK_SIZES(st, t.id, 1, 1, 1, 1, 0, 16, 32100);
	CHECK_INT(store_transfer_sizes(st, t.id, &sz), SYNC_OK);
	CHECK_INT(sz.files_settled, 1);
	CHECK_INT(sz.bytes_settled, 1100);
	CHECK_INT(sz.files_failed, 5);
	/* Excluded parts leave the totals of what moves. */
	CHECK_INT(store_units_exclude(st, t.id, "s/c", &n), SYNC_OK);
	CHECK_INT(n, 1);
	CHECK_SIZES(st, t.id, 1, 1, 1, 0, 1, 11, 2100);
	CHECK_INT(store_unit_counts(st, t.id, counts), SYNC_OK);
	CHECK_INT(counts[UNIT_EXCLUDED], 1);
	CHECK_INT(counts[UNIT_RUNNING], 1);
	/* A dead supervisor's running units go back to pending. */
	CHECK_INT(store_units_reset_running(st, t.id), SYNC_OK);
	CHECK_SIZES(st, t.id, 2, 0, 1, 0, 1, 11, 2100);
	/* A resume keeps excluded parts out; a new start of the request wants them back. */
	CHECK_INT(store_unit_set_state(st, u4, UNIT_FAILED, 3, "x"), SYNC_OK);
	CHECK_INT(store_transfer_finish(st, t.id, TRANSFER_FAILED, "x"), SYNC_OK);
	CHECK_INT(store_transfer_resume(st, t.id, &me, never_alive, &was, &twin), SYNC_OK);
	CHECK_SIZES(st, t.id, 2, 0, 1, 0, 1, 11, 2100);
	CHECK_INT(store_transfer_finish(st, t.id, TRANSFER_FAILED, "x"), SYNC_OK);
	{
		struct transfer again = t;
		enum claim_result claim;

		CHECK_INT(store_transfer_claim(st, &again, never_alive, &claim), SYNC_OK);
		CHECK_INT(claim, CLAIM_RESUMED);
	}
	CHECK_SIZES(st, t.id, 3, 0, 1, 0, 0, 16, 32100);
	CHECK_INT(store_transfer_get(st, t.id, &got), SYNC_OK);
	CHECK_INT(got.units_total, 4);
	CHECK_INT(got.units_done, 1);
	CHECK_INT(got.units_failed, 0);
	transfer_release(&got);
	store_close(st);
	st = NULL;

	/*
	 * A store from before the totals (the schema of version 5, with
	 * transfers and units in it; the nodes' columns of version 7 go too):
	 * the migrations count what is there.
	 */
	{
		char *cmd = xasprintf("sqlite3 '%s' 'DROP TABLE unit_totals; "
				      "DROP TABLE store_notes; "
				      "DROP INDEX transfers_ended; "
				      "DROP TRIGGER unit_totals_transfer; "
				      "DROP TRIGGER unit_totals_add; "
				      "DROP TRIGGER unit_totals_remove; "
				      "DROP TRIGGER unit_totals_change; "
				      "DROP TRIGGER unit_totals_transfer_gone; "
				      "ALTER TABLE transfers DROP COLUMN sup_boot; "
				      "ALTER TABLE transfers DROP COLUMN sup_pidns; "
				      "ALTER TABLE transfers DROP COLUMN sup_host; "
				      "ALTER TABLE transfers DROP COLUMN far_host; "
				      "ALTER TABLE transfers DROP COLUMN far_destination; "
				      "ALTER TABLE transfers DROP COLUMN opt_workers; "
				      "ALTER TABLE transfers DROP COLUMN opt_bwlimit; "
				      "ALTER TABLE transfers DROP COLUMN opt_retries; "
				      "DROP TRIGGER sent_unsure_transfer_gone; "
				      "DROP TABLE sent_unsure; "
				      "ALTER TABLE transfers DROP COLUMN mirror; "
				      "ALTER TABLE transfers DROP COLUMN filters; "
				      "ALTER TABLE transfers DROP COLUMN opt_max_delete; "
				      "ALTER TABLE transfers DROP COLUMN opt_delete_all_ok; "
				      "ALTER TABLE transfers DROP COLUMN deleted; "
				      "DROP TRIGGER deletions_transfer_gone; "
				      "DROP TABLE deletions; "
				      "ALTER TABLE transfers DROP COLUMN watch; "
				      "ALTER TABLE transfers DROP COLUMN watch_interval; "
				      "DROP TRIGGER cycles_transfer_gone; "
				      "DROP TABLE cycles; "
				      "ALTER TABLE transfers DROP COLUMN notify_url; "
				      "ALTER TABLE transfers DROP COLUMN notify_cmd; "
				      "DROP TRIGGER synced_transfer_gone; "
				      "DROP TABLE synced; DROP TABLE synced_next; "
				      "DROP TABLE synced_next_dirs; "
				      "ALTER TABLE transfers DROP COLUMN recorded; "
				      "ALTER TABLE transfers DROP COLUMN created; "
				      "ALTER TABLE transfers DROP COLUMN updated; "
				      "DROP INDEX transfers_parent; "
				      "ALTER TABLE transfers DROP COLUMN parent_id; "
				      "ALTER TABLE transfers DROP COLUMN fanout; "
				      "ALTER TABLE transfers DROP COLUMN feed_id; "
				      "ALTER TABLE transfers DROP COLUMN opt_relay; "
				      "ALTER TABLE units DROP COLUMN received_at; "
				      "ALTER TABLE units DROP COLUMN node; "
				      "ALTER TABLE transfers DROP COLUMN opt_nodes; "
				      "ALTER TABLE transfers DROP COLUMN opt_partition; "
				      "ALTER TABLE transfers DROP COLUMN opt_account; "
				      "ALTER TABLE transfers DROP COLUMN opt_time; "
				      "ALTER TABLE transfers DROP COLUMN opt_slurm_wait; "
				      "ALTER TABLE transfers DROP COLUMN slurm_job; "
				      "ALTER TABLE transfers DROP COLUMN opt_verify; "
				      "ALTER TABLE transfers DROP COLUMN opt_trust_record; "
				      "ALTER TABLE transfers DROP COLUMN opt_preserve; "
				      "ALTER TABLE transfers DROP COLUMN opt_chmod; "
				      "ALTER TABLE transfers DROP COLUMN opt_chown; "
				      "PRAGMA user_version = 5' "
				      ">/dev/null 2>&1", db);

		CHECK(system(cmd) == 0);
		free(cmd);
	}
	CHECK_INT(store_open(dir, &st, err, sizeof err), SYNC_OK);
	if (st == NULL)
		goto out;
	CHECK_SIZES(st, t.id, 3, 0, 1, 0, 0, 16, 32100);
	CHECK_SIZES(st, other.id, 1, 0, 0, 0, 0, 5, 30000);
	CHECK_INT(store_transfer_get(st, other.id, &got), SYNC_OK);
	CHECK_STR(got.source, "/other");
	CHECK_INT(got.units_total, 1);
	transfer_release(&got);
	/* And they are kept from there on. */
	CHECK_INT(store_unit_set_done(st, u2, 1, 2000, 10), SYNC_OK);
	CHECK_SIZES(st, t.id, 2, 0, 2, 0, 0, 16, 32100);
	{
		struct transfer third = t;

		third.source = "/third";
		CHECK_INT(store_transfer_insert(st, &third), SYNC_OK);
		CHECK_INT(store_unit_add(st, third.id, UNIT_FILE, "third", &s2, NULL), SYNC_OK);
		CHECK_SIZES(st, third.id, 1, 0, 0, 0, 0, 10, 2000);
	}
out:
	store_close(st);
	free(dir);
	free(db);
}

static int64_t
insert_row(struct store *st, const char *address, int64_t parent, unsigned fanout)
{
	struct proc_id me = { .pid = getpid(), .start = 12345, .uid = getuid() };
	struct transfer t;

	memset(&t, 0, sizeof t);
	t.address = (char *)address;
	t.user = "u";
	t.port = 22;
	t.source = "/s";
	t.destination = "/d";
	t.key_path = "/k";
	t.supervisor = me;
	t.parent_id = parent;
	t.fanout = fanout;
	CHECK_INT(store_transfer_insert(st, &t), SYNC_OK);
	return t.id;
}

static int
count_rows(struct store *st)
{
	int n = 0;

	CHECK_INT(store_transfer_foreach(st, NULL, count_transfer, &n), SYNC_OK);
	return n;
}

/*
 * A request to several hosts and its hosts' transfers: a host's transfer
 * is continued only as a host of its own request (never taken by a run to
 * that host alone), and a prune takes the request with all of its hosts'
 * transfers or none of them.
 */
static void
test_fanout(const char *base)
{
	char *dir = xasprintf("%s/fanout", base);
	struct proc_id me = { .pid = getpid(), .start = 12345, .uid = getuid() };
	struct store *st = NULL;
	struct transfer *hosts = NULL, one;
	enum claim_result claim;
	int64_t req, h1, h2, last;
	uint64_t n = 0;
	size_t nhosts = 0;
	char err[256];

	CHECK_INT(store_open(dir, &st, err, sizeof err), SYNC_OK);
	if (st == NULL)
		goto out;
	req = insert_row(st, "h1,h2", 0, 2);
	h1 = insert_row(st, "h1", req, 0);
	h2 = insert_row(st, "h2", req, 0);
	CHECK_INT(store_transfer_children(st, req, &hosts, &nhosts), SYNC_OK);
	CHECK_INT((int)nhosts, 2);
	if (nhosts == 2) {
		CHECK(hosts[0].id == h1 && hosts[1].id == h2 && hosts[1].parent_id == req);
		transfer_release(&hosts[0]);
		transfer_release(&hosts[1]);
	}
	free(hosts);
	CHECK_INT(store_transfer_finish(st, h2, TRANSFER_FAILED, "down"), SYNC_OK);
	/* A run to h2 alone: a transfer of its own, h2's stays the request's. */
	memset(&one, 0, sizeof one);
	one.address = "h2";
	one.user = "u";
	one.port = 22;
	one.source = "/s";
	one.destination = "/d";
	one.key_path = "/k";
	one.supervisor = me;
	CHECK_INT(store_transfer_claim(st, &one, never_alive, &claim), SYNC_OK);
	CHECK(claim == CLAIM_NEW && one.id != h2);
	/* As a host of its request again: continued. */
	one.id = 0;
	one.parent_id = req;
	CHECK_INT(store_transfer_claim(st, &one, never_alive, &claim), SYNC_OK);
	CHECK(claim == CLAIM_RESUMED && one.id == h2);
	CHECK_INT(store_transfer_finish(st, h2, TRANSFER_FAILED, "down"), SYNC_OK);
	CHECK_INT(store_transfer_finish(st, h2 + 1, TRANSFER_DONE, NULL), SYNC_OK);
	CHECK_INT(store_transfer_finish(st, h1, TRANSFER_DONE, NULL), SYNC_OK);
	CHECK_INT(store_transfer_finish(st, req, TRANSFER_FAILED, "h2"), SYNC_OK);
	last = insert_row(st, "other", 0, 0);
	CHECK_INT(store_transfer_finish(st, last, TRANSFER_DONE, NULL), SYNC_OK);
	CHECK_INT(count_rows(st), 5);
	/* One host's transfer may not go (interrupted): the request stays whole. */
	CHECK_INT(store_transfer_finish(st, h1, TRANSFER_INTERRUPTED, "x"), SYNC_OK);
	CHECK_INT(store_prune(st, now_wall() + 10, 1, &n), SYNC_OK);
	/* The run to h2 alone went; the request and its hosts' stay, with the newest. */
	CHECK_INT(count_rows(st), 4);
	CHECK_INT(store_transfer_get(st, h1, &one), SYNC_OK);
	transfer_release(&one);
	CHECK_INT(store_transfer_finish(st, h1, TRANSFER_DONE, NULL), SYNC_OK);
	CHECK_INT(store_prune(st, now_wall() + 10, 1, &n), SYNC_OK);
	CHECK_INT(store_transfer_get(st, req, &one), SYNC_ERR_NOT_FOUND);
	CHECK_INT(store_transfer_get(st, h1, &one), SYNC_ERR_NOT_FOUND);
	CHECK_INT(store_transfer_get(st, h2, &one), SYNC_ERR_NOT_FOUND);
	CHECK_INT(count_rows(st), 1);
out:
	store_close(st);
	free(dir);
}

int
main(void)
{
	char tmp[] = "/tmp/scow-sync-test-store-XXXXXX";
	struct transfer t, got;
	struct store *st = NULL;
	struct unit units[4];
	struct stat sb;
	struct proc_id me = { .pid = getpid(), .start = 12345, .uid = getuid() };
	struct strbuf live = STRBUF_INIT;
	char err[256], *dir, *db;
	int64_t u1, u2;
	size_t n;
	int count;
	uint64_t counts[5];

	if (mkdtemp(tmp) == NULL)
		return 99;
	test_open_together(tmp);
	test_open_while_written(tmp);
	test_totals(tmp);
	test_fanout(tmp);
	dir = xasprintf("%s/a/b/state", tmp);
	db = xasprintf("%s/scow-sync.db", dir);
	CHECK_INT(store_open(dir, &st, err, sizeof err), SYNC_OK);
	/* Private: the directory 0700, the database 0600. */
	CHECK(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	CHECK(stat(db, &sb) == 0 && (sb.st_mode & 0777) == 0600);

	memset(&t, 0, sizeof t);
	t.address = "host";
	t.user = "alice";
	t.port = 22;
	t.source = "/data/r\xff\nun";
	t.destination = "/in";
	t.key_path = "/k";
	t.max_depth = 2;
	CHECK_INT(store_transfer_insert(st, &t), SYNC_OK);
	CHECK(t.id > 0);
	CHECK_INT(store_transfer_get(st, t.id, &got), SYNC_OK);
	CHECK_STR(got.source, "/data/r\xff\nun");   /* any byte survives */
	CHECK_INT(got.state, TRANSFER_QUEUED);
	transfer_release(&got);
	CHECK_INT(store_transfer_get(st, 999, &got), SYNC_ERR_NOT_FOUND);
	/* The flags it was given: those given anew replace, the others stay. */
	{
		struct transfer_options o, none = { -1, -1, -1, -1, -1, -1, -1 };
		struct transfer_options given = { 5, -1, 0, -1, -1, -1, -1 };

		CHECK_INT(store_transfer_options(st, t.id, &o), SYNC_OK);
		CHECK(o.workers == -1 && o.retries == -1 && o.bwlimit_kib == -1);
		CHECK_INT(store_transfer_set_options(st, t.id, &given), SYNC_OK);
		CHECK_INT(store_transfer_set_options(st, t.id, &none), SYNC_OK);
		CHECK_INT(store_transfer_options(st, t.id, &o), SYNC_OK);
		CHECK(o.workers == 5 && o.retries == -1 && o.bwlimit_kib == 0);
		given.workers = -1;
		given.bwlimit_kib = 300;
		given.retries = 7;
		CHECK_INT(store_transfer_set_options(st, t.id, &given), SYNC_OK);
		CHECK_INT(store_transfer_options(st, t.id, &o), SYNC_OK);
		CHECK(o.workers == 5 && o.retries == 7 && o.bwlimit_kib == 300);
		CHECK(o.max_delete == -1 && o.delete_all_ok == -1);
		given.max_delete = 0;
		given.delete_all_ok = 1;
		CHECK_INT(store_transfer_set_options(st, t.id, &given), SYNC_OK);
		CHECK_INT(store_transfer_set_options(st, t.id, &none), SYNC_OK);
		CHECK_INT(store_transfer_options(st, t.id, &o), SYNC_OK);
		CHECK(o.max_delete == 0 && o.delete_all_ok == 1 && o.retries == 7);
		/* A new request clears the guards a failed one had. */
		given.max_delete = OPTION_CLEAR;
		given.delete_all_ok = OPTION_CLEAR;
		CHECK_INT(store_transfer_set_options(st, t.id, &given), SYNC_OK);
		CHECK_INT(store_transfer_options(st, t.id, &o), SYNC_OK);
		CHECK(o.max_delete == -1 && o.delete_all_ok == -1 && o.retries == 7);
		CHECK_INT(store_transfer_options(st, 999, &o), SYNC_ERR_NOT_FOUND);
	}
	/* What it keeps beyond rsync -a: given, the whole replaces; not given, it stays. */
	{
		struct transfer_preserve p;

		CHECK_INT(store_transfer_preserve(st, t.id, &p), SYNC_OK);
		CHECK(p.flags == 0 && p.chmod == NULL && p.chown == NULL);
		CHECK_INT(store_transfer_set_preserve(st, t.id, 3, "D750", "a:b"), SYNC_OK);
		CHECK_INT(store_transfer_set_preserve(st, t.id, -1, NULL, NULL), SYNC_OK);
		CHECK_INT(store_transfer_preserve(st, t.id, &p), SYNC_OK);
		CHECK(p.flags == 3);
		CHECK_STR(p.chmod ? p.chmod : "(null)", "D750");
		CHECK_STR(p.chown ? p.chown : "(null)", "a:b");
		transfer_preserve_release(&p);
		CHECK_INT(store_transfer_set_preserve(st, t.id, 8, NULL, NULL), SYNC_OK);
		CHECK_INT(store_transfer_preserve(st, t.id, &p), SYNC_OK);
		CHECK(p.flags == 8 && p.chmod == NULL && p.chown == NULL);
		transfer_preserve_release(&p);
		CHECK_INT(store_transfer_preserve(st, 999, &p), SYNC_ERR_NOT_FOUND);
	}
	/* Files counted by a run cut off: listed sorted, once, until forgotten. */
	{
		struct strvec names = STRVEC_INIT;

		CHECK_INT(store_sent_unsure_add(st, t.id, "run/b"), SYNC_OK);
		CHECK_INT(store_sent_unsure_add(st, t.id, "run/a"), SYNC_OK);
		CHECK_INT(store_sent_unsure_add(st, t.id, "run/b"), SYNC_OK);
		CHECK_INT(store_sent_unsure_list(st, t.id, &names), SYNC_OK);
		CHECK_INT(names.nr, 2);
		if (names.nr == 2) {
			CHECK_STR(names.v[0], "run/a");
			CHECK_STR(names.v[1], "run/b");
		}
		strvec_clear(&names);
		CHECK_INT(store_sent_unsure_clear(st, t.id), SYNC_OK);
		CHECK_INT(store_sent_unsure_list(st, t.id, &names), SYNC_OK);
		CHECK_INT(names.nr, 0);
		strvec_clear(&names);
	}

	CHECK_INT(store_transfer_set_running(st, t.id, &me, 0, NULL), SYNC_OK);
	CHECK_INT(store_unit_add(st, t.id, UNIT_FILE, "run/a", NULL, &u1), SYNC_OK);
	{
		struct unit_size sz = { 3, 5000000000ULL }, pending;

		CHECK_INT(store_unit_add(st, t.id, UNIT_TREE, "run/d", &sz, &u2), SYNC_OK);
		CHECK_INT(store_units_pending_size(st, t.id, &pending), SYNC_OK);
		/* run/a has no size recorded: it still counts, as one entry of a list. */
		CHECK_INT(pending.files, 4);
		CHECK(pending.bytes == 5000000000ULL);
	}
	CHECK_INT(store_unit_next_pending(st, t.id, 0, units, 4, &n), SYNC_OK);
	CHECK_INT(n, 2);
	CHECK_STR(units[1].path, "run/d");
	CHECK_INT(units[1].kind, UNIT_TREE);
	CHECK_INT(units[1].size.files, 3);
	CHECK(units[1].size.bytes == 5000000000ULL);
	CHECK_INT(units[0].size.files, 0);
	unit_release(&units[0]);
	unit_release(&units[1]);
	CHECK_INT(store_unit_next_pending(st, t.id, u1, units, 4, &n), SYNC_OK);
	CHECK_INT(n, 1);
	unit_release(&units[0]);
	/* What a unit's runs sent so far comes back with it, to count on from. */
	CHECK_INT(store_unit_set_sent(st, u2, 4000, 2), SYNC_OK);
	CHECK_INT(store_unit_next_pending(st, t.id, u1, units, 4, &n), SYNC_OK);
	CHECK_INT(n, 1);
	CHECK(units[0].files_sent == 2 && units[0].bytes_sent == 4000);
	unit_release(&units[0]);
	CHECK_INT(store_unit_set_sent(st, u2, 0, 0), SYNC_OK);

	/* Only running units with a current file are live. */
	CHECK_INT(store_unit_set_state(st, u1, UNIT_RUNNING, 0, NULL), SYNC_OK);
	{
		struct unit_progress p = { u1, "run/a", 1000, 50, 10.0, 5, 0, 0 };

		CHECK_INT(store_progress_write(st, &p, 1, NULL), SYNC_OK);
	}
	CHECK_INT(store_live_foreach(st, collect_live, &live), SYNC_OK);
	{
		char *want = xasprintf("%lld host /data/r\xff\nun run/a 1000 50\n",
				       (long long)t.id);

		CHECK_STR(live.buf, want);
		free(want);
	}
	/* A finished unit drops out of the live list. */
	CHECK_INT(store_unit_set_state(st, u1, UNIT_DONE, 1, NULL), SYNC_OK);
	strbuf_reset(&live);
	CHECK_INT(store_live_foreach(st, collect_live, &live), SYNC_OK);
	CHECK_STR(live.buf, "");
	CHECK_INT(store_unit_counts(st, t.id, counts), SYNC_OK);
	CHECK_INT(counts[UNIT_DONE], 1);
	CHECK_INT(counts[UNIT_PENDING], 1);

	/* Interrupted only while still running under that supervisor. */
	{
		struct proc_id other = me;

		other.start++;
		CHECK_INT(store_transfer_mark_interrupted(st, t.id, &other, "x"),
			  SYNC_ERR_NOT_FOUND);
		CHECK_INT(store_transfer_get(st, t.id, &got), SYNC_OK);
		CHECK_INT(got.state, TRANSFER_RUNNING);
		transfer_release(&got);
		CHECK_INT(store_transfer_mark_interrupted(st, t.id, &me, "gone"), SYNC_OK);
		CHECK_INT(store_transfer_get(st, t.id, &got), SYNC_OK);
		CHECK_INT(got.state, TRANSFER_INTERRUPTED);
		CHECK_STR(got.error, "gone");
		CHECK_INT(got.units_total, 2);
		CHECK_INT(got.units_done, 1);
		transfer_release(&got);
	}
	{
		struct transfer_filter f = { .address = "host", .user = "alice",
					      .source = "/data/r\xff\nun" };

		count = 0;
		CHECK_INT(store_transfer_foreach(st, &f, count_transfer, &count), SYNC_OK);
		CHECK_INT(count, 1);
		f.unfinished_only = true;
		count = 0;
		CHECK_INT(store_transfer_foreach(st, &f, count_transfer, &count), SYNC_OK);
		CHECK_INT(count, 0);
	}
	/* Never two writers: an identical live request is reported, not added. */
	{
		struct transfer a = t, b;
		enum claim_result claim;

		a.destination = "/other";
		CHECK_INT(store_transfer_claim(st, &a, never_alive, &claim), SYNC_OK);
		CHECK_INT(claim, CLAIM_NEW);
		b = a;
		b.id = 0;
		CHECK_INT(store_transfer_claim(st, &b, always_alive, &claim), SYNC_OK);
		CHECK_INT(claim, CLAIM_RUNNING);
		CHECK_INT(b.id, a.id);
		/* Its owner is dead: the same transfer continues under the new owner. */
		b.id = 0;
		b.key_path = "/new-key";
		CHECK_INT(store_transfer_claim(st, &b, never_alive, &claim), SYNC_OK);
		CHECK_INT(claim, CLAIM_RESUMED);
		CHECK_INT(b.id, a.id);
		CHECK_INT(store_transfer_get(st, a.id, &got), SYNC_OK);
		CHECK_STR(got.key_path, "/new-key");
		CHECK_INT(got.state, TRANSFER_QUEUED);
		transfer_release(&got);
		/* A finished one is history: the same request again is a new transfer. */
		CHECK_INT(store_transfer_finish(st, a.id, TRANSFER_DONE, NULL), SYNC_OK);
		CHECK_INT(store_transfer_claim(st, &b, never_alive, &claim), SYNC_OK);
		CHECK_INT(claim, CLAIM_NEW);
		CHECK(b.id > a.id);
		/* Another depth cuts other units: a new transfer too. */
		CHECK_INT(store_transfer_finish(st, b.id, TRANSFER_FAILED, "x"), SYNC_OK);
		a = b;
		a.max_depth = 3;
		CHECK_INT(store_transfer_claim(st, &a, never_alive, &claim), SYNC_OK);
		CHECK_INT(claim, CLAIM_NEW);
		/* A different destination is another request. */
		b.destination = "/third";
		CHECK_INT(store_transfer_claim(st, &b, always_alive, &claim), SYNC_OK);
		CHECK_INT(claim, CLAIM_NEW);
		/* A mirror, or other filters, is another request; the same ones the same. */
		{
			struct transfer m = b, m2;
			static const char rules[] = "- *.tmp\0+ keep\0";

			m.id = 0;
			m.mirror = true;
			m.filters = (char *)rules;
			m.filters_len = sizeof rules - 1;
			CHECK_INT(store_transfer_claim(st, &m, always_alive, &claim), SYNC_OK);
			CHECK_INT(claim, CLAIM_NEW);
			CHECK(m.id != b.id);
			m2 = m;
			m2.id = 0;
			CHECK_INT(store_transfer_claim(st, &m2, always_alive, &claim), SYNC_OK);
			CHECK_INT(claim, CLAIM_RUNNING);
			CHECK_INT(m2.id, m.id);
			m2.id = 0;
			m2.filters_len = 7;     /* "- *.tmp" alone */
			CHECK_INT(store_transfer_claim(st, &m2, always_alive, &claim), SYNC_OK);
			CHECK_INT(claim, CLAIM_NEW);
			CHECK_INT(store_transfer_get(st, m.id, &got), SYNC_OK);
			CHECK(got.mirror && got.filters_len == sizeof rules - 1 &&
			      memcmp(got.filters, rules, sizeof rules - 1) == 0);
			CHECK_INT(got.deleted, 0);
			transfer_release(&got);
			/* What its deletes removed: listed in order, counted with the transfer. */
			{
				struct deletion d[2] = {
					{ "run/gone\nname", "file", 100 },
					{ "run/dir", "directory", 101 },
				}, *out = NULL;
				size_t nd = 0, k;

				CHECK_INT(store_deletions_add(st, m.id, d, 2), SYNC_OK);
				CHECK_INT(store_deletions_list(st, m.id, &out, &nd), SYNC_OK);
				CHECK_INT(nd, 2);
				if (nd == 2) {
					CHECK_STR(out[0].path, "run/gone\nname");
					CHECK_STR(out[1].kind, "directory");
					CHECK_INT(out[1].at, 101);
				}
				for (k = 0; k < nd; k++)
					deletion_release(&out[k]);
				free(out);
				CHECK_INT(store_transfer_get(st, m.id, &got), SYNC_OK);
				CHECK_INT(got.deleted, 2);
				transfer_release(&got);
			}
			/* A watch's cycles: the newest is the last, its number the count. */
			{
				struct cycle c, last;
				struct proc_id self;
				uint64_t k;

				memset(&c, 0, sizeof c);
				CHECK_INT(store_cycle_last(st, m.id, &last), SYNC_ERR_NOT_FOUND);
				for (k = 1; k <= 105; k++) {
					c.n = k;
					c.files = k * 10;
					c.full_scan = k == 1;
					c.error = k == 105 ? "link down" : NULL;
					CHECK_INT(store_cycle_add(st, m.id, &c), SYNC_OK);
				}
				CHECK_INT(store_cycle_last(st, m.id, &last), SYNC_OK);
				CHECK_INT(last.n, 105);
				CHECK_INT(last.files, 1050);
				CHECK(!last.full_scan && last.error &&
				      strcmp(last.error, "link down") == 0);
				cycle_release(&last);
				CHECK_INT(store_transfer_get(st, m.id, &got), SYNC_OK);
				CHECK_INT(got.cycles, 105);
				transfer_release(&got);
				/* Ready for the next: running under me, no units. */
				CHECK_INT(proc_self(&self), SYNC_OK);
				CHECK_INT(store_transfer_next_cycle(st, m.id, &self), SYNC_OK);
				CHECK_INT(store_transfer_get(st, m.id, &got), SYNC_OK);
				CHECK_INT(got.state, TRANSFER_RUNNING);
				CHECK_INT(got.supervisor.pid, self.pid);
				CHECK_INT(got.units_total, 0);
				transfer_release(&got);
				CHECK_INT(store_transfer_next_cycle(st, 99999, &self),
					  SYNC_ERR_NOT_FOUND);
			}
		}

		/* The far side's answer: a re-sync to the same place finds the last done one's. */
		{
			struct transfer c = b, d;
			double ans = 0;

			CHECK_INT(store_transfer_set_answer(st, b.id, 0.25), SYNC_OK);
			CHECK_INT(store_transfer_get(st, b.id, &d), SYNC_OK);
			/* b is not done yet: nothing to go on (a later id is asking). */
			c.id = b.id + 1000;
			CHECK_INT(store_transfer_answer_before(st, &c, 0, true, &ans), SYNC_OK);
			CHECK(ans < 0);
			CHECK_INT(store_transfer_finish(st, b.id, TRANSFER_DONE, NULL), SYNC_OK);
			c.id = 0;
			CHECK_INT(store_transfer_claim(st, &c, never_alive, &claim), SYNC_OK);
			CHECK_INT(claim, CLAIM_NEW);
			CHECK_INT(store_transfer_answer_before(st, &c, 0, true, &ans), SYNC_OK);
			CHECK(ans > 0.24 && ans < 0.26);
			/* Too long ago, or another place: nothing. */
			CHECK_INT(store_transfer_answer_before(st, &c, (int64_t)time(NULL) + 100,
							       true, &ans),
				  SYNC_OK);
			CHECK(ans < 0);
			c.destination = "/fourth";
			CHECK_INT(store_transfer_answer_before(st, &c, 0, true, &ans), SYNC_OK);
			CHECK(ans < 0);
			/* ... but the same host: its link. */
			CHECK_INT(store_transfer_answer_before(st, &c, 0, false, &ans), SYNC_OK);
			CHECK(ans > 0.24 && ans < 0.26);
			c.source = "/another/source";
			CHECK_INT(store_transfer_answer_before(st, &c, 0, false, &ans), SYNC_OK);
			CHECK(ans > 0.24 && ans < 0.26);
			c.destination = d.destination;
			c.port = d.port + 1;
			CHECK_INT(store_transfer_answer_before(st, &c, 0, true, &ans), SYNC_OK);
			CHECK(ans < 0);
			/* Another port is another link. */
			CHECK_INT(store_transfer_answer_before(st, &c, 0, false, &ans), SYNC_OK);
			CHECK(ans < 0);
			c.port = d.port;
			c.user = "someone-else";
			CHECK_INT(store_transfer_answer_before(st, &c, 0, false, &ans), SYNC_OK);
			CHECK(ans < 0);
			transfer_release(&d);
		}
	}
	/* Resume: failed and running units come back, done and excluded stay. */
	{
		struct transfer r = t;
		enum transfer_state was;
		int64_t twin = -1;
		int64_t ua, ub, uc, ud, dup, ex;
		uint64_t bytes, files, nx;
		enum exclusion_state es;
		struct exclusion *xs;
		struct strvec left = STRVEC_INIT;

		r.source = "/data/resume";
		CHECK_INT(store_transfer_insert(st, &r), SYNC_OK);
		CHECK_INT(store_unit_add(st, r.id, UNIT_FILE, "resume/a", NULL, &ua), SYNC_OK);
		CHECK_INT(store_unit_add(st, r.id, UNIT_TREE, "resume/b", NULL, &ub), SYNC_OK);
		CHECK_INT(store_unit_add(st, r.id, UNIT_TREE, "resume/c", NULL, &uc), SYNC_OK);
		CHECK_INT(store_unit_add(st, r.id, UNIT_FILE, "resume/c2", NULL, &ud), SYNC_OK);
		/* A walk done again adds nothing twice. */
		CHECK_INT(store_unit_add(st, r.id, UNIT_FILE, "resume/a", NULL, &dup), SYNC_OK);
		CHECK_INT(dup, 0);
		CHECK_INT(store_unit_set_done(st, ua, 1, 4096, 1), SYNC_OK);
		CHECK_INT(store_unit_set_state(st, ub, UNIT_RUNNING, 1, NULL), SYNC_OK);
		{
			struct unit_progress p = { ub, "resume/b/big", 10, 1, 1.0, 5, 0, 0 };

			CHECK_INT(store_progress_write(st, &p, 1, NULL), SYNC_OK);
		}
		CHECK_INT(store_unit_set_state(st, uc, UNIT_FAILED, 3, "disk"), SYNC_OK);
		/* "resume/c" excludes resume/c and below, not its neighbour c2. */
		CHECK_INT(store_units_exclude(st, r.id, "resume/c", &nx), SYNC_OK);
		CHECK_INT(nx, 1);
		/*
		 * A resumed run counts on from what the earlier ones sent, files
		 * of unfinished units included; the totals never go back.
		 */
		CHECK_INT(store_transfer_set_totals(st, r.id, 4096 + 3000, 2), SYNC_OK);
		CHECK_INT(store_transfer_set_totals(st, r.id, 4096, 1), SYNC_OK);
		CHECK_INT(store_transfer_done_totals(st, r.id, &bytes, &files), SYNC_OK);
		CHECK_INT(bytes, 4096 + 3000);
		CHECK_INT(files, 2);
		/* Written with the units' progress, in its transaction; never lower either. */
		{
			struct unit_progress p = { ub, "resume/b/big", 20, 2, 1.0, 5, 0, 0 };
			struct transfer_totals tot = { r.id, 4096 + 5000, 3 };

			CHECK_INT(store_progress_write(st, &p, 1, &tot), SYNC_OK);
			CHECK_INT(store_transfer_done_totals(st, r.id, &bytes, &files), SYNC_OK);
			CHECK_INT(bytes, 4096 + 5000);
			CHECK_INT(files, 3);
			tot.bytes_done = 1;
			CHECK_INT(store_progress_write(st, NULL, 0, &tot), SYNC_OK);
			CHECK_INT(store_transfer_done_totals(st, r.id, &bytes, &files), SYNC_OK);
			CHECK_INT(bytes, 4096 + 5000);
		}

		/* Leftovers: recorded ones and the files of running units. */
		CHECK_INT(store_leftover_add(st, r.id, "resume/c2"), SYNC_OK);
		CHECK_INT(store_leftover_add(st, r.id, "resume/c2"), SYNC_OK);
		CHECK_INT(store_leftovers_list(st, r.id, NULL, &left), SYNC_OK);
		CHECK_INT(left.nr, 2);
		CHECK_STR(left.v[0], "resume/b/big");
		CHECK_STR(left.v[1], "resume/c2");
		strvec_clear(&left);
		CHECK_INT(store_leftovers_list(st, r.id, "resume/c", &left), SYNC_OK);
		CHECK_INT(left.nr, 0);
		strvec_clear(&left);
		CHECK_INT(store_leftover_remove(st, r.id, "resume/c2"), SYNC_OK);
		CHECK_INT(store_leftovers_list(st, r.id, "resume", &left), SYNC_OK);
		CHECK_INT(left.nr, 1);
		strvec_clear(&left);

		CHECK_INT(store_exclusion_add(st, r.id, "resume/b/x", &ex), SYNC_OK);
		CHECK_INT(store_exclusion_state(st, ex, &es), SYNC_OK);
		CHECK_INT(es, EXCLUSION_PENDING);
		CHECK_INT(store_exclusions_list(st, r.id, EXCLUSION_PENDING, &xs, &n), SYNC_OK);
		CHECK_INT(n, 1);
		CHECK_STR(xs[0].path, "resume/b/x");
		exclusion_release(&xs[0]);
		free(xs);
		CHECK_INT(store_exclusion_set_state(st, ex, EXCLUSION_APPLIED), SYNC_OK);
		CHECK_INT(store_exclusion_state(st, ex, &es), SYNC_OK);
		CHECK_INT(es, EXCLUSION_APPLIED);

		/* Still running under a live supervisor: not resumed. */
		CHECK_INT(store_transfer_set_running(st, r.id, &me, 0, NULL), SYNC_OK);
		CHECK_INT(store_transfer_resume(st, r.id, &me, always_alive, &was, &twin),
			  SYNC_ERR_EXISTS);
		CHECK_INT(twin, r.id);
		CHECK_INT(store_transfer_resume(st, r.id, &me, never_alive, &was, &twin), SYNC_OK);
		CHECK_INT(was, TRANSFER_RUNNING);
		CHECK_INT(store_unit_counts(st, r.id, counts), SYNC_OK);
		CHECK_INT(counts[UNIT_DONE], 1);
		CHECK_INT(counts[UNIT_PENDING], 2);
		CHECK_INT(counts[UNIT_EXCLUDED], 1);
		CHECK_INT(counts[UNIT_RUNNING], 0);
		CHECK_INT(store_exclusion_state(st, ex, &es), SYNC_OK);
		/* A transfer that is done has nothing to resume; an unknown one neither. */
		CHECK_INT(store_transfer_finish(st, r.id, TRANSFER_DONE, NULL), SYNC_OK);
		CHECK_INT(store_transfer_resume(st, r.id, &me, never_alive, &was, &twin),
			  SYNC_ERR_INVALID);
		CHECK_INT(store_transfer_resume(st, 99999, &me, never_alive, &was, &twin),
			  SYNC_ERR_NOT_FOUND);

		/* Starting the request again wants the excluded parts back too. */
		CHECK_INT(store_transfer_finish(st, r.id, TRANSFER_FAILED, "x"), SYNC_OK);
		{
			struct transfer again = r;
			enum claim_result claim;

			CHECK_INT(store_transfer_claim(st, &again, never_alive, &claim), SYNC_OK);
			CHECK_INT(claim, CLAIM_RESUMED);
			CHECK_INT(again.id, r.id);
		}
		CHECK_INT(store_unit_counts(st, r.id, counts), SYNC_OK);
		CHECK_INT(counts[UNIT_EXCLUDED], 0);
		CHECK_INT(counts[UNIT_PENDING], 3);
		CHECK_INT(store_exclusion_state(st, ex, &es), SYNC_ERR_NOT_FOUND);

		/*
		 * Never two writers: an old transfer of a request that is running
		 * again under a new id is not resumed; the running one is named.
		 */
		CHECK_INT(store_transfer_finish(st, r.id, TRANSFER_FAILED, "x"), SYNC_OK);
		{
			struct transfer twin_t = r;

			twin_t.supervisor = me;
			CHECK_INT(store_transfer_insert(st, &twin_t), SYNC_OK);
			{
				/* Taken only from the owner that claimed it, and only once. */
				struct proc_id other = me;

				other.pid++;
				CHECK_INT(store_transfer_set_running(st, twin_t.id, &me, 0, &other),
					  SYNC_ERR_EXISTS);
				CHECK_INT(store_transfer_set_running(st, twin_t.id, &me, 0, &me),
					  SYNC_OK);
				CHECK_INT(store_transfer_set_running(st, twin_t.id, &me, 0, &me),
					  SYNC_ERR_EXISTS);
			}
			CHECK_INT(store_transfer_resume(st, r.id, &me, always_alive, &was, &twin),
				  SYNC_ERR_EXISTS);
			CHECK_INT(twin, twin_t.id);
			CHECK_INT(store_transfer_resume(st, r.id, &me, never_alive, &was, &twin),
				  SYNC_OK);
			CHECK_INT(twin, 0);

			/* A stop request, and a finish that only holds for the owner seen dead. */
			CHECK_INT(store_transfer_request_stop(st, twin_t.id), SYNC_OK);
			{
				bool req = false;
				struct proc_id other = me;

				CHECK_INT(store_transfer_stop_requested(st, twin_t.id, &req),
					  SYNC_OK);
				CHECK(req);
				other.start++;
				CHECK_INT(store_transfer_finish_orphan(st, twin_t.id, &other,
								       TRANSFER_TERMINATED, "t"),
					  SYNC_ERR_NOT_FOUND);
				CHECK_INT(store_transfer_finish_orphan(st, twin_t.id, &me,
								       TRANSFER_TERMINATED, "t"),
					  SYNC_OK);
				CHECK_INT(store_transfer_finish_orphan(st, twin_t.id, &me,
								       TRANSFER_TERMINATED, "t"),
					  SYNC_ERR_NOT_FOUND);
				/* Reopening clears the request. */
				CHECK_INT(store_transfer_resume(st, twin_t.id, &me, never_alive,
								&was, &twin), SYNC_OK);
				CHECK_INT(store_transfer_stop_requested(st, twin_t.id, &req),
					  SYNC_OK);
				CHECK(!req);
			}
		}
	}
	store_close(st);

	/* Reopening keeps everything; a newer schema is refused. */
	CHECK_INT(store_open(dir, &st, err, sizeof err), SYNC_OK);
	CHECK_INT(store_transfer_get(st, t.id, &got), SYNC_OK);
	transfer_release(&got);
	store_close(st);
	{
		char *cmd = xasprintf("sqlite3 '%s' 'PRAGMA user_version = 99' 2>/dev/null", db);

		if (system(cmd) == 0) {
			CHECK_INT(store_open(dir, &st, err, sizeof err), SYNC_ERR_SCHEMA);
			CHECK(strstr(err, "newer") != NULL);
		}
		free(cmd);
	}
	{
		char *cmd = xasprintf("rm -rf '%s'", tmp);

		CHECK(system(cmd) == 0);
		free(cmd);
	}
	strbuf_release(&live);
	free(dir);
	free(db);
	return unit_done("test-store");
}
