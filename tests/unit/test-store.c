/* Unit tests for store: schema, permissions, transfers, units, live rows. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

int
main(void)
{
	char tmp[] = "/tmp/scow-sync-test-store-XXXXXX";
	struct transfer t, got;
	struct store *st = NULL;
	struct unit units[4];
	struct stat sb;
	struct proc_id me = { getpid(), 12345, getuid() };
	struct strbuf live = STRBUF_INIT;
	char err[256], *dir, *db;
	int64_t u1, u2;
	size_t n;
	int count;
	uint64_t counts[5];

	if (mkdtemp(tmp) == NULL)
		return 99;
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

	CHECK_INT(store_transfer_set_running(st, t.id, &me), SYNC_OK);
	CHECK_INT(store_unit_add(st, t.id, UNIT_FILE, "run/a", &u1), SYNC_OK);
	CHECK_INT(store_unit_add(st, t.id, UNIT_TREE, "run/d", &u2), SYNC_OK);
	CHECK_INT(store_unit_next_pending(st, t.id, 0, units, 4, &n), SYNC_OK);
	CHECK_INT(n, 2);
	CHECK_STR(units[1].path, "run/d");
	CHECK_INT(units[1].kind, UNIT_TREE);
	unit_release(&units[0]);
	unit_release(&units[1]);
	CHECK_INT(store_unit_next_pending(st, t.id, u1, units, 4, &n), SYNC_OK);
	CHECK_INT(n, 1);
	unit_release(&units[0]);

	/* Only running units with a current file are live. */
	CHECK_INT(store_unit_set_state(st, u1, UNIT_RUNNING, 0, NULL), SYNC_OK);
	{
		struct unit_progress p = { u1, "run/a", 1000, 50, 10.0, 5, 0, 0 };

		CHECK_INT(store_progress_write(st, &p, 1), SYNC_OK);
	}
	CHECK_INT(store_live_foreach(st, collect_live, &live), SYNC_OK);
	{
		char *want = xasprintf("%lld host /data/r\xff\nun run/a 1000 50\n", (long long)t.id);

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
		CHECK_INT(store_transfer_mark_interrupted(st, t.id, &other, "x"), SYNC_OK);
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
		struct transfer_filter f = { "host", "alice", "/data/r\xff\nun", false };

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
		int64_t existing = -1;

		a.destination = "/other";
		CHECK_INT(store_transfer_insert_unique(st, &a, never_alive, &existing), SYNC_OK);
		CHECK_INT(existing, 0);
		b = a;
		CHECK_INT(store_transfer_insert_unique(st, &b, always_alive, &existing),
			  SYNC_ERR_EXISTS);
		CHECK_INT(existing, a.id);
		/* Its owner is dead: a new transfer may start. */
		CHECK_INT(store_transfer_insert_unique(st, &b, never_alive, &existing), SYNC_OK);
		CHECK(b.id > a.id);
		/* A different destination is another request. */
		b.destination = "/third";
		CHECK_INT(store_transfer_insert_unique(st, &b, always_alive, &existing), SYNC_OK);
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
