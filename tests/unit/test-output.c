/* Unit tests for format, progress, report and shown-path: what the portal and people see. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history.h"
#include "format.h"
#include "progress.h"
#include "report.h"
#include "shown-path.h"
#include "unit.h"

/*
 * Compare text with the golden file FIXTURES/name; with UPDATE_GOLDEN=1,
 * write it there instead (then look at the diff before committing it).
 */
static void
check_golden(const char *name, const char *text)
{
	const char *dir = getenv("FIXTURES");
	char path[4096], *want = NULL;
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/unit/fixtures", name);
	if (getenv("UPDATE_GOLDEN") && strcmp(getenv("UPDATE_GOLDEN"), "1") == 0) {
		f = fopen(path, "w");
		CHECK(f != NULL && fputs(text, f) >= 0 && fclose(f) == 0);
		return;
	}
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	want = calloc(1, 1 << 16);
	len = fread(want, 1, (1 << 16) - 1, f);
	fclose(f);
	want[len] = '\0';
	if (strcmp(text, want) != 0)
		fprintf(stderr, "%s differs; got:\n%s", name, text);
	CHECK(strcmp(text, want) == 0);
	free(want);
}

/* Three transfers as a history walk gives them: running, failed, done. */
static void
sample_entries(struct history_entry e[3], struct history_file *file)
{
	memset(e, 0, 3 * sizeof *e);
	memset(file, 0, sizeof *file);
	file->path = "run2/out/\xe6\x95\xb0\xe6\x8d\xae-0042.h5";
	file->bytes_done = 734003200;
	file->percent = 61;
	file->rate = 99857612.8;

	e[0].t.id = 14;
	e[0].t.state = TRANSFER_RUNNING;
	e[0].t.address = "data.hpc2";
	e[0].t.user = "alice";
	e[0].t.port = 22;
	e[0].t.source = "/home/alice/run2";
	e[0].t.destination = "/scratch/alice/inbox";
	e[0].t.max_depth = 2;
	e[0].t.created_at = 1764581400;   /* 2025-12-01T09:30:00Z */
	e[0].t.started_at = 1764581401;
	e[0].t.bytes_done = 5368709120;
	e[0].t.files_done = 812;
	e[0].t.planned = true;
	e[0].sizes.units[UNIT_DONE] = 30;
	e[0].sizes.units[UNIT_RUNNING] = 2;
	e[0].sizes.units[UNIT_PENDING] = 8;
	e[0].sizes.files_total = 2000;
	e[0].sizes.bytes_total = 12884901888;
	e[0].rate = 99857612.8;
	e[0].remaining = 78;
	e[0].percent = 42;
	e[0].files = file;
	e[0].nfiles = 1;

	e[1] = e[0];
	e[1].t.id = 13;
	e[1].t.state = TRANSFER_FAILED;
	e[1].t.source = "/home/alice/run1-with-a-rather-long-name-\xff\xfe";
	e[1].t.finished_at = 1764581461;
	e[1].t.bytes_done = 50331648;
	e[1].t.files_done = 3;
	e[1].t.error = "cannot connect to 'data.hpc2' port 22: ssh exited 255: ssh: "
		       "connect to host data.hpc2 port 22: Connection timed out";
	e[1].sizes.units[UNIT_DONE] = 1;
	e[1].sizes.units[UNIT_FAILED] = 39;
	e[1].sizes.units[UNIT_RUNNING] = e[1].sizes.units[UNIT_PENDING] = 0;
	e[1].sizes.bytes_total = 1610612736;
	e[1].rate = 838860.8;
	e[1].remaining = -1;
	e[1].percent = 3;
	e[1].files = NULL;
	e[1].nfiles = 0;

	e[2] = e[1];
	e[2].t.id = 12;
	e[2].t.state = TRANSFER_DONE;
	e[2].t.source = "/home/alice/\xe5\xae\x9e\xe9\xaa\x8c";
	e[2].t.error = NULL;
	e[2].t.bytes_done = e[2].sizes.bytes_total = 1048576;
	e[2].t.files_done = e[2].sizes.files_total = 1;
	e[2].sizes.units[UNIT_DONE] = 1;
	e[2].sizes.units[UNIT_FAILED] = 0;
	e[2].rate = 17476.3;
	e[2].remaining = 0;
	e[2].percent = 100;
}

static void
test_query_json(void)
{
	struct history_entry e[3];
	struct history_file file;
	struct json_report *r = json_report_new();
	char *text = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);

	sample_entries(e, &file);
	for (i = 0; i < 3; i++)
		json_report_add(r, &e[i]);
	CHECK_INT(json_report_write(r, f), 0);
	fclose(f);
	check_golden("query-json.golden", text);
	free(text);
	json_report_free(r);
}

static void
test_status_table(void)
{
	struct history_entry e[3];
	struct history_file file;
	struct strbuf sb = STRBUF_INIT;
	/* The tables' widths, in order: e twice, the long values, the watch. */
	int widths[] = { 80, 120, 80, 80 }, w;
	size_t i;

	sample_entries(e, &file);
	for (w = 0; w < 2; w++) {
		status_table_header(&sb, widths[w]);
		for (i = 0; i < 3; i++)
			status_table_row(&sb, &e[i], widths[w]);
	}
	/* Values longer than their columns: the last column gives way. */
	e[0].t.id = 123456;
	e[0].remaining = 500000;
	status_table_header(&sb, 80);
	status_table_row(&sb, &e[0], 80);
	/*
	 * A watch between cycles: nothing at work, so no percent or size of
	 * a cycle's units (none are left), and its cycles on the line below;
	 * then in a cycle, whose units the columns show.
	 */
	e[0].t.id = 15;
	e[0].t.watch = true;
	e[0].t.cycles = 5;
	e[0].t.bytes_done = 12884901888;
	e[0].now = 1764585000;
	e[0].has_last_cycle = true;
	e[0].last_cycle.n = 5;
	e[0].last_cycle.started_at = 1764584980;
	e[0].last_cycle.seconds = 8.4;
	e[0].last_cycle.files = 3;
	e[0].last_cycle.bytes = 1258291;
	e[0].remaining = 12;
	e[0].sizes.bytes_total = 0;
	e[0].rate = 0;
	e[0].nfiles = 0;
	e[0].percent = 0;
	status_table_header(&sb, 80);
	status_table_row(&sb, &e[0], 80);
	e[0].sizes.bytes_total = 1610612736;
	e[0].percent = 42;
	e[0].rate = 99857612.8;
	e[0].nfiles = 1;
	e[0].last_cycle.full_scan = true;
	e[0].last_cycle.failed = 1;
	e[0].now = 1764591000;
	status_table_row(&sb, &e[0], 80);
	check_golden("status.golden", sb.buf);
	{
		const char *line = sb.buf;

		/* Columns (CJK count two) never past the width; "ID" lines start each table. */
		for (w = -1; *line; ) {
			const char *end = strchr(line, '\n');
			int cols = 0;
			const char *p;

			if (strncmp(line, "  ID", 4) == 0)
				w++;
			for (p = line; p < end; p++)
				if (((unsigned char)*p & 0xc0) != 0x80)
					cols += (unsigned char)*p >= 0xe3 ? 2 : 1;
			CHECK(w < (int)(sizeof widths / sizeof *widths));
			if (w >= (int)(sizeof widths / sizeof *widths))
				break;
			CHECK(cols <= widths[w < 0 ? 0 : w]);
			line = end + 1;
		}
	}
	strbuf_release(&sb);
}

static void
test_progress_line(void)
{
	struct progress_view v = { "run2/out/\xe6\x95\xb0\xe6\x8d\xae-0042.h5", 5368709120,
				   12884901888, 812, 2000, 99857612.8 };
	struct strbuf sb = STRBUF_INIT;

	progress_line_format(&sb, &v, 79);
	strbuf_addch(&sb, '\n');
	/* A name too long for the line keeps its end. */
	v.file = "a/very/deep/tree/of/directories/with/a/file/name/at/the/end/of/it.dat";
	progress_line_format(&sb, &v, 79);
	strbuf_addch(&sb, '\n');
	/* Narrow terminals: the least useful parts go first. */
	progress_line_format(&sb, &v, 50);
	strbuf_addch(&sb, '\n');
	progress_line_format(&sb, &v, 30);
	strbuf_addch(&sb, '\n');
	progress_line_format(&sb, &v, 10);
	strbuf_addch(&sb, '\n');
	/* Nothing known yet. */
	memset(&v, 0, sizeof v);
	progress_line_format(&sb, &v, 79);
	strbuf_addch(&sb, '\n');
	check_golden("progress.golden", sb.buf);
	strbuf_release(&sb);
}

static void
test_formats(void)
{
	static const struct { uint64_t n; const char *s; } thousands[] = {
		{ 0, "0" }, { 999, "999" }, { 1000, "1,000" }, { 44564480, "44,564,480" },
		{ 18446744073709551615ULL, "18,446,744,073,709,551,615" },
	};
	static const struct { double r; const char *s; } rates[] = {
		{ 0, "0.00B/s" }, { 512, "512.00B/s" }, { 1024, "1.00kB/s" },
		{ 1.74 * 1048576, "1.74MB/s" }, { 3.5 * 1073741824, "3.50GB/s" },
		{ 5000.0 * 1073741824, "5000.00GB/s" }, { -3, "0.00B/s" },
		{ -0.0, "0.00B/s" },
	};
	static const struct { int64_t s; const char *t; } times[] = {
		{ 0, "0:00:00" }, { 33, "0:00:33" }, { 3600 + 61, "1:01:01" },
		{ 123 * 3600, "123:00:00" }, { -1, "0:00:00" },
	};
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	for (i = 0; i < sizeof thousands / sizeof *thousands; i++) {
		strbuf_reset(&sb);
		fmt_thousands(&sb, thousands[i].n);
		CHECK_STR(sb.buf, thousands[i].s);
	}
	for (i = 0; i < sizeof rates / sizeof *rates; i++) {
		strbuf_reset(&sb);
		fmt_rate(&sb, rates[i].r);
		CHECK_STR(sb.buf, rates[i].s);
	}
	for (i = 0; i < sizeof times / sizeof *times; i++) {
		strbuf_reset(&sb);
		fmt_hms(&sb, times[i].s);
		CHECK_STR(sb.buf, times[i].t);
	}
	strbuf_reset(&sb);
	display_path(&sb, "/d/caf\xe9/\xe4\xb8\xad");
	CHECK_STR(sb.buf, "/d/caf\xef\xbf\xbd/\xe4\xb8\xad");
	strbuf_release(&sb);
}

static void
test_legacy_json(void)
{
	struct legacy_list *l = legacy_list_new();
	struct legacy_row row = { "10.0.0.2", "/home/a/x \"y\"\n\xff", 44564480, 42,
				  1.74 * 1048576, 33 };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	legacy_list_write(l, f);
	fflush(f);
	CHECK_STR(text, "[]");
	rewind(f);
	legacy_list_add(l, &row);
	legacy_list_write(l, f);
	fclose(f);
	CHECK_STR(text, "[{\"recvAddress\": \"10.0.0.2\", \"filePath\": "
		  "\"/home/a/x \\\"y\\\"\\n\\uFFFD\", \"transferSize\": \"44,564,480\", "
		  "\"progress\": \"42%\", \"speed\": \"1.74MB/s\", \"leftTime\": \"0:00:33\"}]");
	free(text);
	legacy_list_free(l);
}

/* Touch dir/name; return its path (caller frees). */
static char *
make(const char *dir, const char *name, int is_dir)
{
	char *path = xasprintf("%s/%s", dir, name);

	if (is_dir)
		CHECK(mkdir(path, 0700) == 0);
	else {
		FILE *f = fopen(path, "w");

		CHECK(f != NULL);
		if (f)
			fclose(f);
	}
	return path;
}

/* The way back from what query shows to the file it stands for. */
static void
test_path_from_shown(void)
{
	char tmp[] = "/tmp/scow-sync-test-output-XXXXXX";
	char *a, *f, *got = NULL, *want;
	struct strbuf sb = STRBUF_INIT;

	CHECK(mkdtemp(tmp) != NULL);
	a = make(tmp, "a\xff b", 1);
	f = make(a, "f\xfe\xe4\xb8", 0);
	free(make(a, "twin\xf1", 0));
	free(make(a, "twin\xf2", 0));
	free(make(a, "lit\xef\xbf\xbd", 0));
	free(make(a, "lit\xf3", 0));

	display_path(&sb, f);
	CHECK(strcmp(sb.buf, f) != 0);
	CHECK(path_from_shown(sb.buf, &got) == SYNC_OK);
	CHECK_STR(got, f);
	free(got);
	/* Two names shown alike: neither is chosen. */
	want = xasprintf("%s/a\xef\xbf\xbd b/twin\xef\xbf\xbd", tmp);
	CHECK(path_from_shown(want, &got) == SYNC_ERR_AMBIGUOUS);
	free(want);
	/* A name that really holds U+FFFD is itself. */
	want = xasprintf("%s/lit\xef\xbf\xbd", a);
	CHECK(path_from_shown(want, &got) == SYNC_OK);
	CHECK_STR(got, want);
	free(got);
	free(want);
	want = xasprintf("%s/a\xef\xbf\xbd b/none\xef\xbf\xbd", tmp);
	CHECK(path_from_shown(want, &got) == SYNC_ERR_NOT_FOUND);
	free(want);
	CHECK(path_from_shown("relative", &got) == SYNC_ERR_INVALID);

	strbuf_reset(&sb);
	strbuf_addf(&sb, "rm -rf '%s'", tmp);
	CHECK(system(sb.buf) == 0);
	strbuf_release(&sb);
	free(a);
	free(f);
}

int
main(void)
{
	test_formats();
	test_legacy_json();
	test_query_json();
	test_status_table();
	test_progress_line();
	test_path_from_shown();
	return unit_done("test-output");
}
