/* Unit tests for history: the selection values of query --json and status. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd-options.h"
#include "history.h"
#include "unit.h"

static void
test_states(void)
{
	unsigned mask;
	char err[256];

	CHECK_INT(history_parse_states("done", &mask, err, sizeof err), 0);
	CHECK_INT(mask, 1u << TRANSFER_DONE);
	CHECK_INT(history_parse_states("failed,interrupted,queued", &mask, err, sizeof err), 0);
	CHECK_INT(mask, (1u << TRANSFER_FAILED) | (1u << TRANSFER_INTERRUPTED) |
		  (1u << TRANSFER_QUEUED));
	/* A watch alive is shown watching, and selected by that name. */
	CHECK_INT(history_parse_states("watching", &mask, err, sizeof err), 0);
	CHECK_INT(mask, HISTORY_STATE_WATCHING);
	CHECK_INT(history_parse_states("running,watching", &mask, err, sizeof err), 0);
	CHECK_INT(mask, (1u << TRANSFER_RUNNING) | HISTORY_STATE_WATCHING);
	CHECK_INT(history_parse_states("watch", &mask, err, sizeof err), -1);
	CHECK_INT(history_parse_states("done,bogus", &mask, err, sizeof err), -1);
	CHECK(strstr(err, "watching") != NULL);
	CHECK(strstr(err, "'bogus'") != NULL);
	CHECK_INT(history_parse_states("", &mask, err, sizeof err), -1);
	CHECK_INT(history_parse_states("done,", &mask, err, sizeof err), -1);
	CHECK_INT(history_parse_states("don", &mask, err, sizeof err), -1);
}

static void
test_since(void)
{
	const int64_t now = 1764581400;
	struct tm tm;
	int64_t t;
	char err[256];

	CHECK_INT(history_parse_since("@1700000000", now, &t, err, sizeof err), 0);
	CHECK_INT(t, 1700000000);
	CHECK_INT(history_parse_since("90s", now, &t, err, sizeof err), 0);
	CHECK_INT(t, now - 90);
	CHECK_INT(history_parse_since("30m", now, &t, err, sizeof err), 0);
	CHECK_INT(t, now - 1800);
	CHECK_INT(history_parse_since("12h", now, &t, err, sizeof err), 0);
	CHECK_INT(t, now - 12 * 3600);
	CHECK_INT(history_parse_since("7d", now, &t, err, sizeof err), 0);
	CHECK_INT(t, now - 7 * 86400);
	/* Local times: compare with what mktime makes of them. */
	memset(&tm, 0, sizeof tm);
	tm.tm_year = 2026 - 1900;
	tm.tm_mon = 10;
	tm.tm_mday = 30;
	tm.tm_isdst = -1;
	CHECK_INT(history_parse_since("2026-11-30", now, &t, err, sizeof err), 0);
	CHECK_INT(t, (int64_t)mktime(&tm));
	tm.tm_hour = 8;
	tm.tm_min = 5;
	tm.tm_isdst = -1;
	CHECK_INT(history_parse_since("2026-11-30T08:05", now, &t, err, sizeof err), 0);
	CHECK_INT(t, (int64_t)mktime(&tm));
	tm.tm_sec = 9;
	tm.tm_isdst = -1;
	CHECK_INT(history_parse_since("2026-11-30 08:05:09", now, &t, err, sizeof err), 0);
	CHECK_INT(t, (int64_t)mktime(&tm));
	/* Not times. */
	CHECK_INT(history_parse_since("yesterday", now, &t, err, sizeof err), -1);
	CHECK(strstr(err, "'yesterday'") != NULL);
	CHECK_INT(history_parse_since("12x", now, &t, err, sizeof err), -1);
	CHECK_INT(history_parse_since("h", now, &t, err, sizeof err), -1);
	CHECK_INT(history_parse_since("-5d", now, &t, err, sizeof err), -1);
	CHECK_INT(history_parse_since("2026-11-30T", now, &t, err, sizeof err), -1);
	CHECK_INT(history_parse_since("@", now, &t, err, sizeof err), -1);
	CHECK_INT(history_parse_since("99999999999999999999d", now, &t, err, sizeof err), -1);
}

static void
test_options(void)
{
	struct history_filter f;
	char err[256];

	history_filter_init(&f, 1000000);
	CHECK_INT(f.since, 1000000 - HISTORY_DEFAULT_WINDOW);
	CHECK(!f.all && f.id == 0 && f.states == 0);
	CHECK_INT(history_option(&f, CMD_OPT_ID, "42", 1000000, err, sizeof err), 1);
	CHECK_INT(f.id, 42);
	CHECK_INT(history_option(&f, CMD_OPT_ID, "0", 1000000, err, sizeof err), -1);
	CHECK_INT(history_option(&f, CMD_OPT_ID, "4x", 1000000, err, sizeof err), -1);
	CHECK_INT(history_option(&f, CMD_OPT_ALL, NULL, 1000000, err, sizeof err), 1);
	CHECK(f.all);
	CHECK_INT(history_option(&f, 'x', NULL, 1000000, err, sizeof err), 0);
}

/* Add "ID:STATE " of each transfer the walk shows. */
static int
collect(const struct history_entry *e, void *ctx)
{
	strbuf_addf(ctx, "%lld:%s ", (long long)e->t.id, transfer_state_name(e->t.state));
	return 0;
}

/* Walk with f and return what it showed (caller frees). */
static char *
walk(struct store *st, const struct history_filter *f, int64_t now)
{
	struct strbuf sb = STRBUF_INIT;

	CHECK_INT(history_foreach(st, f, now, collect, &sb), SYNC_OK);
	return strbuf_detach(&sb, NULL);
}

/*
 * The store selects what the history shows (the window, the states), and
 * the selection is the one the options promise: unfinished and interrupted
 * ones always, ended ones in the window, a running one whose supervisor is
 * gone shown (and found by --state) as interrupted.
 */
static void
test_walk(void)
{
	char tmp[] = "/tmp/scow-sync-test-history-XXXXXX";
	/* Not this process's start. */
	struct proc_id gone = { .pid = getpid(), .start = 12345, .uid = getuid() };
	struct history_filter f;
	struct store *st = NULL;
	struct transfer t;
	int64_t now = (int64_t)time(NULL), ids[5];
	char err[256], *got, *cmd;
	int i;

	if (mkdtemp(tmp) == NULL || store_open(tmp, &st, err, sizeof err) < 0) {
		CHECK(0);
		return;
	}
	memset(&t, 0, sizeof t);
	t.address = "host";
	t.user = "u";
	t.source = "/s";
	t.destination = "/d";
	t.key_path = "/k";
	t.supervisor = gone;
	for (i = 0; i < 5; i++) {
		CHECK_INT(store_transfer_insert(st, &t), SYNC_OK);
		ids[i] = t.id;
	}
	/*
	 * 1 done two days ago, 2 done now, 3 interrupted a month ago, 4 running,
	 * 5 failed 10 days ago.
	 */
	CHECK_INT(store_transfer_finish(st, ids[0], TRANSFER_DONE, NULL), SYNC_OK);
	CHECK_INT(store_transfer_finish(st, ids[1], TRANSFER_DONE, NULL), SYNC_OK);
	CHECK_INT(store_transfer_finish(st, ids[2], TRANSFER_INTERRUPTED, "x"), SYNC_OK);
	CHECK_INT(store_transfer_set_running(st, ids[3], &gone, 0, NULL), SYNC_OK);
	CHECK_INT(store_transfer_finish(st, ids[4], TRANSFER_FAILED, "x"), SYNC_OK);
	cmd = xasprintf("sqlite3 '%s/scow-sync.db' 'UPDATE transfers SET finished_at = "
			"finished_at - 2 * 86400, created_at = created_at - 2 * 86400 "
			"WHERE id = %lld; "
			"UPDATE transfers SET finished_at = finished_at - 30 * 86400 "
			"WHERE id = %lld; "
			"UPDATE transfers SET finished_at = finished_at - 10 * 86400 "
			"WHERE id = %lld'",
			tmp, (long long)ids[0], (long long)ids[2], (long long)ids[4]);
	CHECK(system(cmd) == 0);
	free(cmd);

	history_filter_init(&f, now);
	/* First: 4 is still recorded as running, and found as interrupted. */
	f.states = 1u << TRANSFER_INTERRUPTED;
	got = walk(st, &f, now);
	CHECK_STR(got, "4:interrupted 3:interrupted ");
	free(got);
	f.states = 0;
	got = walk(st, &f, now);
	CHECK_STR(got, "4:interrupted 3:interrupted 2:done ");
	free(got);
	f.all = true;
	got = walk(st, &f, now);
	CHECK_STR(got, "5:failed 4:interrupted 3:interrupted 2:done 1:done ");
	free(got);
	f.all = false;
	f.since = now - 5 * 86400;
	got = walk(st, &f, now);
	CHECK_STR(got, "4:interrupted 3:interrupted 2:done 1:done ");
	free(got);
	f.states = 1u << TRANSFER_DONE;
	got = walk(st, &f, now);
	CHECK_STR(got, "2:done 1:done ");
	free(got);
	f.states = (1u << TRANSFER_DONE) | (1u << TRANSFER_FAILED);
	f.all = true;
	got = walk(st, &f, now);
	CHECK_STR(got, "5:failed 2:done 1:done ");
	free(got);
	f.states = 0;
	f.id = ids[0];
	got = walk(st, &f, now);
	CHECK_STR(got, "1:done ");
	free(got);
	store_close(st);
	cmd = xasprintf("rm -rf '%s'", tmp);
	CHECK(system(cmd) == 0);
	free(cmd);
}

int
main(void)
{
	test_walk();
	test_states();
	test_since();
	test_options();
	return unit_done("test-history");
}
