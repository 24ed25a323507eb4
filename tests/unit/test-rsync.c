/* Unit tests for the rsync and rsync-parse modules: progress parsing, names, argv. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "rsync-parse.h"
#include "rsync.h"
#include "spawn.h"
#include "unit.h"

/* What the parser reported, flattened to one line per event for comparing. */
struct record {
	struct strbuf log;
	int names, progress, finals, messages;
};

static void
record_event(const struct rsync_event *ev, void *ctx)
{
	struct record *r = ctx;

	switch (ev->kind) {
	case RSYNC_EV_NAME:
		r->names++;
		strbuf_addstr(&r->log, ev->is_dir ? "D " : "N ");
		strbuf_add(&r->log, ev->name, ev->name_len);
		break;
	case RSYNC_EV_PROGRESS:
		r->progress++;
		r->finals += ev->progress.final;
		strbuf_addf(&r->log, "P %llu %d %.0f %lld %d %llu %llu/%llu",
			    (unsigned long long)ev->progress.bytes, ev->progress.percent,
			    ev->progress.rate, (long long)ev->progress.eta, ev->progress.final,
			    (unsigned long long)ev->progress.xfr,
			    (unsigned long long)ev->progress.to_check,
			    (unsigned long long)ev->progress.total_files);
		break;
	case RSYNC_EV_STATS:
		strbuf_addf(&r->log, "S %llu %llu", (unsigned long long)ev->sent,
			    (unsigned long long)ev->received);
		break;
	case RSYNC_EV_MESSAGE:
		r->messages++;
		strbuf_addstr(&r->log, "M ");
		strbuf_add(&r->log, ev->name, ev->name_len);
		break;
	}
	strbuf_addch(&r->log, '\n');
}

/* record_event, keeping each name's itemized letters too (test_itemized_names). */
static void
record_itemized(const struct rsync_event *ev, void *ctx)
{
	struct { struct record r; size_t n; char items[8][12]; } *l = ctx;

	if (ev->kind == RSYNC_EV_NAME && l->n < 8)
		memcpy(l->items[l->n++], ev->itemized, sizeof ev->itemized);
	record_event(ev, &l->r);
}

static char *
read_fixture(const char *name, size_t *len)
{
	const char *dir = getenv("FIXTURES");
	char *path = xasprintf("%s/%s", dir ? dir : "tests/unit/fixtures", name);
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (f == NULL) {
		fprintf(stderr, "FAIL cannot open fixture %s\n", path);
		exit(1);
	}
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		strbuf_add(&sb, buf, n);
	fclose(f);
	free(path);
	return strbuf_detach(&sb, len);
}

/* Parse a fixture whole and in chunks of every size from 1 to 7: same events. */
static void
parse_fixture(const char *name, struct record *whole)
{
	struct rsync_parser p;
	size_t len, chunk, i;
	char *data = read_fixture(name, &len);

	memset(whole, 0, sizeof *whole);
	strbuf_init(&whole->log, 0);
	rsync_parser_init(&p);
	rsync_parser_feed(&p, data, len, record_event, whole);
	rsync_parser_finish(&p, record_event, whole);
	rsync_parser_release(&p);
	for (chunk = 1; chunk <= 7; chunk++) {
		struct record r;

		memset(&r, 0, sizeof r);
		strbuf_init(&r.log, 0);
		rsync_parser_init(&p);
		for (i = 0; i < len; i += chunk)
			rsync_parser_feed(&p, data + i, len - i < chunk ? len - i : chunk,
					  record_event, &r);
		rsync_parser_finish(&p, record_event, &r);
		rsync_parser_release(&p);
		CHECK_STR(r.log.buf, whole->log.buf);
		strbuf_release(&r.log);
	}
	free(data);
}

static void
test_fixture_tree(void)
{
	struct record r;

	parse_fixture("tree-bwlimit.out", &r);
	/* Names come back unescaped: \#351 is the byte 0xe9, \#012 a newline. */
	CHECK(strstr(r.log.buf, "D tree\n") != NULL);
	CHECK(strstr(r.log.buf, "N tree/caf\xe9\n") != NULL);
	CHECK(strstr(r.log.buf, "N tree/sub/new\nline\n") != NULL);
	CHECK(strstr(r.log.buf, "N tree/link\n") != NULL);
	CHECK(strstr(r.log.buf, "D tree/empty\n") != NULL);
	/* 31.25MB/s, 1.50MB/s and the final line of the 4 MB file. */
	CHECK(strstr(r.log.buf, "P 32768 0 32768000 0 0 0 0/0\n") != NULL);
	CHECK(strstr(r.log.buf, "P 1671168 41 1572864 1 0 0 0/0\n") != NULL);
	CHECK(strstr(r.log.buf, "P 4000000 100 1562378 2 1 2 1/7\n") != NULL);
	CHECK(strstr(r.log.buf, "P 1 100 0 0 1 3 0/7\n") != NULL);
	CHECK_INT(r.names, 7);
	CHECK_INT(r.finals, 3);
	CHECK_INT(r.messages, 0);
	strbuf_release(&r.log);
}

static void
test_fixture_fast(void)
{
	struct record r;

	parse_fixture("big-delta-fast.out", &r);
	/* 1.58GB/s */
	CHECK(strstr(r.log.buf, "P 1694574960 84 1696512082 0 0 0 0/0\n") != NULL);
	CHECK(strstr(r.log.buf, "P 2000000000 100 1868310774 1 1 1 0/1\n") != NULL);
	CHECK_INT(r.finals, 1);
	strbuf_release(&r.log);
}

/* rsync's closing counts (--info=stats1) arrive as one event; the rest is dropped. */
static void
test_fixture_stats(void)
{
	struct record r;
	uint64_t sent, received;

	parse_fixture("stats-sent.out", &r);
	CHECK_INT(r.names, 1);
	CHECK_INT(r.messages, 0);
	CHECK(strstr(r.log.buf, "\nS 3000818 35\n") != NULL);
	CHECK(strstr(r.log.buf, "total size") == NULL);
	strbuf_release(&r.log);

	CHECK_INT(rsync_parse_sent("sent 12 bytes  received 3 bytes  30.00 bytes/sec", 48,
				   &sent, &received), SYNC_OK);
	CHECK_INT(sent, 12);
	CHECK_INT(received, 3);
	CHECK_INT(rsync_parse_sent("sent ,12 bytes  received 3 bytes", 32, &sent, &received),
		  SYNC_ERR_INVALID);
	CHECK_INT(rsync_parse_sent("sent 12, bytes  received 3 bytes", 32, &sent, &received),
		  SYNC_ERR_INVALID);
	CHECK_INT(rsync_parse_sent("sent 99999999999999999999 bytes  received 3 bytes", 49,
				   &sent, &received), SYNC_ERR_INVALID);
	CHECK_INT(rsync_parse_sent("sent 12 bytes", 13, &sent, &received), SYNC_ERR_INVALID);
}

static void
test_fixture_unknown_time(void)
{
	struct record r;

	parse_fixture("huge-unknown-time.out", &r);
	/* 118.19kB/s with rsync's ??:??:?? becomes eta -1. */
	CHECK(strstr(r.log.buf, "P 163840 0 121027 -1 0 0 0/0\n") != NULL);
	CHECK(r.progress >= 4);
	CHECK_INT(r.finals, 0);
	strbuf_release(&r.log);
}

static void
test_progress_lines(void)
{
	static const struct {
		const char *line;
		int ok;
		unsigned long long bytes;
		int percent;
		double rate;
		long long eta;
	} cases[] = {
		{ "      1,234,567  42%    1.74MB/s    0:00:33  ", 1,
		  1234567, 42, 1.74 * 1048576, 33 },
		{ "  3,000,000,000 100%  285.50MB/s    0:00:10 (xfr#1, to-chk=0/1)", 1,
		  3000000000ULL, 100, 285.5 * 1048576, 10 },
		{ "         32,768   0%    0.00kB/s    0:00:00  ", 1, 32768, 0, 0, 0 },
		{ "        557,056   0%  104.02kB/s   ??:??:??  ", 1,
		  557056, 0, 104.02 * 1024, -1 },
		{ "             12 100%    2.00GB/s  123:04:05 (xfr#9, ir-chk=10/200)", 1,
		  12, 100, 2.0 * 1073741824, 123 * 3600 + 4 * 60 + 5 },
		{ "          1.50M  10%    1.00MB/s    0:00:01  ", 1, 1572864, 10, 1048576, 1 },
		{ "", 0, 0, 0, 0, 0 },
		{ "sending incremental file list", 0, 0, 0, 0, 0 },
		{ "    12  42%  1.74MiB/s  0:00:33", 0, 0, 0, 0, 0 },
		{ "    12 142%  1.74MB/s  0:00:33", 0, 0, 0, 0, 0 },
		{ "    12  42%  1.74MB/s  0:61:33", 0, 0, 0, 0, 0 },
		{ "    12  42%  1.74MB/s  0:00:33 (xfr#1, to-chk=0/", 0, 0, 0, 0, 0 },
		{ "    12  42%  1.74MB/s  0:00:33 trailing", 0, 0, 0, 0, 0 },
		{ ",12  42%  1.74MB/s  0:00:33", 0, 0, 0, 0, 0 },
		{ "99999999999999999999999  42%  1.74MB/s  0:00:33", 0, 0, 0, 0, 0 },
		/* 2^64 bytes and more with a suffix: no count, and no value to convert */
		{ "         16384P  42%  1.74MB/s    0:00:33  ", 0, 0, 0, 0, 0 },
		{ "  44,720PPPPPPPP  42%  1.74MB/s    0:00:33  ", 0, 0, 0, 0, 0 },
		{ "       16383.9P  42%  1.74MB/s    0:00:33  ", 1, 18446631483718866944ULL, 42,
		  1.74 * 1048576, 33 },
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct rsync_progress p;
		int rc = rsync_parse_progress(cases[i].line, strlen(cases[i].line), &p);

		CHECK_INT(rc == SYNC_OK, cases[i].ok);
		if (rc != SYNC_OK || !cases[i].ok)
			continue;
		CHECK_INT(p.bytes, cases[i].bytes);
		CHECK_INT(p.percent, cases[i].percent);
		CHECK(p.rate > cases[i].rate - 1 && p.rate < cases[i].rate + 1);
		CHECK_INT(p.eta, cases[i].eta);
	}
}

static void
test_unescape(void)
{
	struct strbuf sb = STRBUF_INIT;

	rsync_unescape(&sb, "a\\#012b\\#134#123\\#\\#99", strlen("a\\#012b\\#134#123\\#\\#99"));
	CHECK_STR(sb.buf, "a\nb\\#123\\#\\#99");
	strbuf_release(&sb);
}

/* Names a dry run's output said would change, one per line ("d/" for a directory). */
struct dry_names {
	struct strbuf names;
	bool itemized;                /* the names come itemized (a dry run) */
};

static void
record_dry_name(const struct rsync_event *ev, void *ctx)
{
	struct dry_names *d = ctx;

	if (ev->kind != RSYNC_EV_NAME)
		return;
	/* Every job names items itemized; the parser takes the letters off. */
	CHECK(ev->itemized[0] != '\0');
	if (d->itemized && ev->itemized[0] == '\0')
		return;
	strbuf_add(&d->names, ev->name, ev->name_len);
	if (ev->is_dir)
		strbuf_addch(&d->names, '/');
	strbuf_addch(&d->names, '|');
}

/* Run the job's rsync through sh and collect the names of its output. */
static int
run_job(const struct rsync_job *job, struct dry_names *d)
{
	struct strvec argv = STRVEC_INIT;
	struct strbuf cmd = STRBUF_INIT;
	struct rsync_parser parser;
	char buf[4096];
	size_t i, n;
	FILE *p;
	int status;

	rsync_job_argv(job, &argv);
	for (i = 0; i < argv.nr; i++) {
		sq_quote(&cmd, argv.v[i]);
		strbuf_addch(&cmd, ' ');
	}
	rsync_parser_init(&parser);
	p = popen(cmd.buf, "r");
	CHECK(p != NULL);
	while (p && (n = fread(buf, 1, sizeof buf, p)) > 0)
		rsync_parser_feed(&parser, buf, n, record_dry_name, d);
	rsync_parser_finish(&parser, record_dry_name, d);
	status = p ? pclose(p) : -1;
	rsync_parser_release(&parser);
	strvec_clear(&argv);
	strbuf_release(&cmd);
	return status;
}

/*
 * A dry run through the real rsync names exactly what a real run would
 * change, attribute changes included, and nothing after that real run.
 */
static void
test_dry_run(void)
{
	char tmp[] = "/tmp/scow-sync-test-rsync-XXXXXX";
	struct strbuf sb = STRBUF_INIT, rsh = STRBUF_INIT, list = STRBUF_INIT;
	struct strbuf src = STRBUF_INIT, dst = STRBUF_INIT;
	struct dry_names d = { STRBUF_INIT, true };
	static const char names[] = "run/d\0run/same\0run/newer\0run/n\nl\0run/added";
	struct rsync_job job;
	size_t at;
	FILE *f;

	CHECK(rsync_itemized_name(">f..t...... d/f", 15, &at) && at == 12);
	CHECK(rsync_itemized_name("cL+++++++++ a b", 15, &at) && at == 12);
	CHECK(rsync_itemized_name(".d          d/", 14, &at) && at == 12);
	CHECK(!rsync_itemized_name("d/f", 3, &at));
	CHECK(!rsync_itemized_name("file has vanished: x", 20, &at));
	CHECK(!rsync_itemized_name(">f..t......", 11, &at));
	CHECK(!rsync_itemized_name(">f..t\t.... x", 13, &at) || at == 12);

	if (mkdtemp(tmp) == NULL || system("command -v rsync >/dev/null") != 0)
		return;
	/* The "remote shell" runs the far side's command here. */
	strbuf_addf(&rsh, "%s/rsh", tmp);
	f = fopen(rsh.buf, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	fputs("#!/bin/sh\nshift\nexec \"$@\"\n", f);
	fclose(f);
	CHECK(chmod(rsh.buf, 0700) == 0);
	strbuf_addf(&list, "%s/list", tmp);
	f = fopen(list.buf, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	fwrite(names, 1, sizeof names, f);
	fclose(f);
	strbuf_addf(&src, "%s/src", tmp);
	strbuf_addf(&dst, "%s/dst", tmp);
	strbuf_addf(&sb, "cd '%s' && mkdir -p src/run/d dst && echo a > src/run/same && "
		    "echo b > src/run/newer && echo c > src/run/d/x && echo n > 'src/run/n\nl' && "
		    "touch -d 2020-01-01 src/run/newer && rsync -a src/ dst/ && "
		    "echo bb > src/run/newer && chmod 700 src/run/d && echo new > src/run/added",
		    tmp);
	CHECK(system(sb.buf) == 0);

	memset(&job, 0, sizeof job);
	job.rsync_path = "rsync";
	job.rsh = rsh.buf;
	job.host = "h";
	job.source_root = src.buf;
	job.remote_dir = dst.buf;
	job.files_from = list.buf;
	job.recursive = true;
	job.dry_run = true;
	CHECK(run_job(&job, &d) == 0);
	/* In rsync's order: a directory's files before its subdirectories. */
	CHECK_STR(d.names.buf, "run/added|run/newer|run/d/|");
	/* The dry run changed nothing: the real run changes the same. */
	strbuf_reset(&d.names);
	job.dry_run = d.itemized = false;
	CHECK(run_job(&job, &d) == 0);
	CHECK_STR(d.names.buf, "run/added|run/newer|run/d/|");
	strbuf_reset(&d.names);
	job.dry_run = d.itemized = true;
	CHECK(run_job(&job, &d) == 0);
	CHECK_STR(d.names.buf, "");

	strbuf_reset(&sb);
	strbuf_addf(&sb, "rm -rf '%s'", tmp);
	CHECK(system(sb.buf) == 0);
	strbuf_release(&sb);
	strbuf_release(&rsh);
	strbuf_release(&list);
	strbuf_release(&src);
	strbuf_release(&dst);
	strbuf_release(&d.names);
}

static void
test_messages_and_names(void)
{
	static const char out[] =
		"//dir/\n//dir/a b\n\r     5 100%    0.00kB/s    0:00:00 (xfr#1, to-chk=0/2)\n"
		"file has vanished: \"/x\"\n//-leading\n";
	struct rsync_parser p;
	struct record r;

	memset(&r, 0, sizeof r);
	strbuf_init(&r.log, 0);
	rsync_parser_init(&p);
	rsync_parser_feed(&p, out, strlen(out), record_event, &r);
	rsync_parser_finish(&p, record_event, &r);
	rsync_parser_release(&p);
	CHECK_STR(r.log.buf, "D dir\nN dir/a b\nP 5 100 0 0 1 1 0/2\n"
		  "M file has vanished: \"/x\"\nN -leading\n");
	strbuf_release(&r.log);
}

/* Itemized names: the letters apart from the name, which may look like letters itself. */
static void
test_itemized_names(void)
{
	static const char out[] =
		"//cd+++++++++ dir/\n//<f+++++++++ dir/a b\n//<f.st...... <f+++++++++ x\n"
		"//.f...p..... dir/c\\#012d\n//*deleting   gone/\n//cd..t...... ./\n";
	static const char *const want[][2] = {
		{ "cd+++++++++", "D dir" }, { "<f+++++++++", "N dir/a b" },
		{ "<f.st......", "N <f+++++++++ x" }, { ".f...p.....", "N dir/c\nd" },
		{ "*deleting  ", "D gone" }, { "cd..t......", "D ." },
	};
	struct rsync_parser p;
	struct itemized_log { struct record r; size_t n; char items[8][12]; } l;
	size_t i;

	memset(&l, 0, sizeof l);
	strbuf_init(&l.r.log, 0);
	rsync_parser_init(&p);
	rsync_parser_feed(&p, out, strlen(out), record_itemized, &l);
	rsync_parser_finish(&p, record_itemized, &l);
	rsync_parser_release(&p);
	CHECK_INT((int)l.n, 6);
	for (i = 0; i < l.n && i < 6; i++)
		CHECK_STR(l.items[i], want[i][0]);
	CHECK_STR(l.r.log.buf, "D dir\nN dir/a b\nN <f+++++++++ x\nN dir/c\nd\nD gone\nD .\n");
	strbuf_release(&l.r.log);
}

/* The value of rsync's --rsync-path in argv, or NULL. */
static const char *
rsync_path_of(const struct strvec *argv)
{
	size_t i;

	for (i = 0; i < argv->nr; i++)
		if (strncmp(argv->v[i], "--rsync-path=", 13) == 0)
			return argv->v[i] + 13;
	return NULL;
}

static void
test_argv(void)
{
	struct ssh_target t = {
		.program = "ssh", .user = "al ice", .host = "h", .port = 2222,
		.key_path = "/k/it's key %h", .known_hosts = "/home/u v/.ssh/known_hosts",
		.ssh_config = "none", .control_path = "/tmp/s/cm", .connect_timeout = 7,
	};
	struct rsync_job job = {
		.rsync_path = "rsync", .rsh = "ssh-cmd", .host = "::1",
		.source_root = "/data", .remote_dir = "/in box", .partial_dir = ".p",
		.recursive = true, .bwlimit_kib = 100,
	};
	struct strvec argv = STRVEC_INIT;
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	ssh_rsh_command(&t, &sb);
	/* rsync's -e splitter: words in '...', a ' doubled inside. */
	CHECK(strncmp(sb.buf, "'ssh' '-F' 'none' '-o' 'BatchMode=yes'", 38) == 0);
	CHECK(strstr(sb.buf, "'IdentityFile=\"/k/it''s key %%h\"'") != NULL);
	/* $HOME set apart: both of ssh's user files there. */
	CHECK(strstr(sb.buf, "'UserKnownHostsFile=\"/home/u v/.ssh/known_hosts\" "
			     "\"/home/u v/.ssh/known_hosts2\"'") != NULL);
	CHECK(strstr(sb.buf, "'ControlPath=/tmp/s/cm' '-o' 'ControlMaster=no'") != NULL);
	strbuf_reset(&sb);
	/* A home ssh would expand (%d is the home, %u the user) is passed as it is. */
	t.known_hosts = "/home/50%d/.ssh/known_hosts";
	ssh_rsh_command(&t, &sb);
	CHECK(strstr(sb.buf, "'UserKnownHostsFile=\"/home/50%%d/.ssh/known_hosts\" "
			     "\"/home/50%%d/.ssh/known_hosts2\"'") != NULL);
	strbuf_reset(&sb);
	/* One no ssh reads back the same is not passed at all. */
	t.known_hosts = "/home/a\"b/.ssh/known_hosts";
	ssh_rsh_command(&t, &sb);
	CHECK(strstr(sb.buf, "UserKnownHostsFile") == NULL);
	strbuf_reset(&sb);
	/*
	 * $HOME is the account's: ssh finds its files itself, known_hosts2 and
	 * a UserKnownHostsFile of the configuration among them.
	 */
	t.known_hosts = "/home/u v/.ssh/known_hosts";
	t.known_hosts_default = true;
	ssh_rsh_command(&t, &sb);
	CHECK(strstr(sb.buf, "UserKnownHostsFile") == NULL);
	t.known_hosts_default = false;
	CHECK(strstr(sb.buf, "'-p' '2222' '-l' 'al ice'") != NULL);
	CHECK(strstr(sb.buf, "'ConnectTimeout=7'") != NULL);
	strbuf_release(&sb);
	/* A link to the key in its place: the key's path is on no command line. */
	t.key_given = "/tmp/s/key";
	ssh_rsh_command(&t, &sb);
	CHECK(strstr(sb.buf, "'IdentityFile=\"/tmp/s/key\"'") != NULL);
	CHECK(strstr(sb.buf, "it''s key") == NULL);
	strbuf_release(&sb);
	/*
	 * No key of ours: ssh's own identities (none named, none excluded),
	 * even where a link was made; no user or port: the configuration's.
	 */
	t.key_path = "";
	t.user = NULL;
	t.port = 0;
	ssh_rsh_command(&t, &sb);
	CHECK(strstr(sb.buf, "Identit") == NULL);
	CHECK(strstr(sb.buf, "'-p'") == NULL);
	CHECK(strstr(sb.buf, "'-l'") == NULL);
	strbuf_release(&sb);
	t.key_path = "/k/it's key %h";
	t.user = "al ice";
	t.port = 2222;
	t.key_given = NULL;

	{
		const char *words[] = { "mkdir", "-p", "--", "/in box/it's $(x)", NULL };

		ssh_command_argv(&t, words, &argv);
		CHECK_STR(argv.v[argv.nr - 2], "h");
		CHECK_STR(argv.v[argv.nr - 1], "'mkdir' '-p' '--' '/in box/it'\\''s $(x)'");
		strvec_clear(&argv);
	}
	{
		/* The words on stdin, for sh -s; none on a command line. */
		const char *words[] = { "mkdir", "-p", "--", "/in box/it's $(x)", NULL };
		struct strbuf script = STRBUF_INIT;

		ssh_stdin_argv(&t, words, &argv, &script);
		CHECK_STR(argv.v[argv.nr - 2], "h");
		CHECK_STR(argv.v[argv.nr - 1], "sh -s");
		for (i = 0; i < argv.nr; i++)
			CHECK(strstr(argv.v[i], "in box") == NULL);
		CHECK_STR(script.buf, "{ set -- 'mkdir' '-p' '--' '/in box/it'\\''s $(x)'\n"
			  "exec \"$@\"\n} </dev/null\n");
		strvec_clear(&argv);
		strbuf_release(&script);
	}
	rsync_job_argv(&job, &argv);
	CHECK_STR(argv.v[0], "rsync");
	CHECK_STR(argv.v[argv.nr - 3], "--");
	CHECK_STR(argv.v[argv.nr - 2], "/data/");
	CHECK_STR(argv.v[argv.nr - 1], "[::1]:/in box/");
	for (i = 0; i < argv.nr; i++) {
		CHECK(strcmp(argv.v[i], "--inplace") != 0);
		/* No timeout asked, none given. */
		CHECK(strncmp(argv.v[i], "--timeout", 9) != 0);
	}
	CHECK(argv.v[argv.nr] == NULL);
	/* rsync -a alone: none of what it leaves out. */
	for (i = 0; i < argv.nr; i++)
		CHECK(strcmp(argv.v[i], "-H") != 0 && strcmp(argv.v[i], "-A") != 0 &&
		      strcmp(argv.v[i], "-X") != 0 && strcmp(argv.v[i], "-S") != 0 &&
		      strncmp(argv.v[i], "--chown", 7) != 0 && strcmp(argv.v[i], "--numeric-ids"));
	strvec_clear(&argv);
	/* What the transfer keeps beyond -a; the user's --chmod before ours. */
	job.preserve = RSYNC_PRESERVE_ALL;
	job.user_chmod = "D750,F600";
	job.chmod = "Du+rwx";
	job.chown = "nobody:";
	rsync_job_argv(&job, &argv);
	{
		struct strbuf all = STRBUF_INIT;

		for (i = 0; i < argv.nr; i++)
			strbuf_addf(&all, "%s ", argv.v[i]);
		CHECK(strstr(all.buf, " -a -s -H -A -X -S --numeric-ids --chown=nobody: ") != NULL);
		CHECK(strstr(all.buf, " --chmod=D750,F600 --chmod=Du+rwx ") != NULL);
		strbuf_release(&all);
	}
	strvec_clear(&argv);
	job.preserve = 0;
	job.user_chmod = job.chmod = job.chown = NULL;
	/* A far side that stops reading or writing ends the rsync after io_timeout. */
	job.io_timeout = 300;
	rsync_job_argv(&job, &argv);
	{
		size_t timeouts = 0, dashes = argv.nr;

		for (i = 0; i < argv.nr; i++) {
			if (strcmp(argv.v[i], "--") == 0 && dashes == argv.nr)
				dashes = i;
			if (strncmp(argv.v[i], "--timeout", 9) == 0) {
				CHECK_STR(argv.v[i], "--timeout=300");
				CHECK(i < dashes);
				timeouts++;
			}
		}
		CHECK(timeouts == 1);
	}
	job.io_timeout = 0;
	CHECK(rsync_exit_classify(30) == RSYNC_EXIT_RETRY);
	{
		bool has_s = false, has_r = false, has_from0 = false, has_stdin = false;
		bool no_implied = false;

		for (i = 0; i < argv.nr; i++) {
			has_s |= strcmp(argv.v[i], "-s") == 0;
			has_r |= strcmp(argv.v[i], "-r") == 0;
			has_from0 |= strcmp(argv.v[i], "--from0") == 0;
			has_stdin |= strcmp(argv.v[i], "--files-from=-") == 0;
			no_implied |= strcmp(argv.v[i], "--no-implied-dirs") == 0;
		}
		CHECK(has_s && has_r && has_from0 && has_stdin && no_implied);
	}
	strvec_clear(&argv);

	job.recursive = false;
	job.host = "host";
	job.files_from = "/tmp/list";
	job.implied_dirs = true;
	rsync_job_argv(&job, &argv);
	CHECK_STR(argv.v[argv.nr - 1], "host:/in box/");
	for (i = 0; i < argv.nr; i++) {
		CHECK(strcmp(argv.v[i], "-r") != 0);
		CHECK(strcmp(argv.v[i], "--files-from=-") != 0);
		/* The last rsync sends the parents, to settle them. */
		CHECK(strcmp(argv.v[i], "--no-implied-dirs") != 0);
	}
	strvec_clear(&argv);
	job.implied_dirs = false;

	/* All of the source, named: no list; no partial directory, no rule for it. */
	job.source_name = "-it's";
	job.partial_dir = NULL;
	rsync_job_argv(&job, &argv);
	CHECK_STR(argv.v[argv.nr - 2], "/data/-it's");
	CHECK_STR(argv.v[argv.nr - 3], "--");
	for (i = 0; i < argv.nr; i++) {
		CHECK(strncmp(argv.v[i], "--files-from", 12) != 0);
		CHECK(strcmp(argv.v[i], "--from0") != 0);
		CHECK(strstr(argv.v[i], "partial") == NULL);
	}
	strvec_clear(&argv);
	job.source_name = NULL;
	job.partial_dir = ".p";

	/* The remote rsync expands wildcards: components with them are escaped. */
	rsync_remote_spec(&sb, "h", "/a\\b/*/x?y/[z]/c\\*/~/$HOME");
	CHECK_STR(sb.buf, "h:/a\\b/\\*/x\\?y/\\[z]/c\\\\\\*/~/$HOME");
	strbuf_reset(&sb);
	rsync_remote_spec(&sb, "h", "*");
	CHECK_STR(sb.buf, "h:\\*");
	strbuf_release(&sb);

	/* The whole list first only when asked; a dry run says so with -n. */
	{
		bool no_inc = false, dry = false;

		job.whole_list = true;
		job.dry_run = true;
		rsync_job_argv(&job, &argv);
		for (i = 0; i < argv.nr; i++) {
			no_inc |= strcmp(argv.v[i], "--no-inc-recursive") == 0;
			dry |= strcmp(argv.v[i], "-n") == 0;
			CHECK(strcmp(argv.v[i], "--inc-recursive") != 0);
		}
		CHECK(no_inc && dry);
		strvec_clear(&argv);
		job.whole_list = job.dry_run = false;
		rsync_job_argv(&job, &argv);
		for (i = 0; i < argv.nr; i++) {
			CHECK(strcmp(argv.v[i], "--no-inc-recursive") != 0);
			CHECK(strcmp(argv.v[i], "-n") != 0);
			CHECK(strncmp(argv.v[i], "--rsync-path", 12) != 0);
		}
		strvec_clear(&argv);
	}

	/* A closing command: the remote rsync runs inside a sh that runs it after. */
	{
		const char *rp = NULL;
		int st = -1;

		job.then_command = "'touch' '/in box/it'\\''s'";
		rsync_job_argv(&job, &argv);
		rp = rsync_path_of(&argv);
		CHECK_STR(rp, "sh -c 'rsync \"$@\"; s=$?; if [ $s = 0 ] || [ $s = 24 ]; then "
			      "{ '\\''touch'\\'' '\\''/in box/it'\\''\\'\\'''\\''s'\\''; } "
			      "</dev/null >&2; echo \"//then $?\" >&2; fi; exit $s' sh");
		strvec_clear(&argv);
		job.then_command = NULL;
		CHECK_INT(rsync_parse_then("//then 0", 8, &st), 0);
		CHECK_INT(st, 0);
		CHECK_INT(rsync_parse_then("//then 1", 8, &st), 0);
		CHECK_INT(st, 1);
		CHECK_INT(rsync_parse_then("//then", 6, &st), SYNC_ERR_INVALID);
		CHECK_INT(rsync_parse_then("//then x", 8, &st), SYNC_ERR_INVALID);
	}

	/* Only a command before: rsync then takes the shell's place. */
	{
		const char *rp = NULL;

		job.before_command = "'mkdir' '/in box'";
		rsync_job_argv(&job, &argv);
		rp = rsync_path_of(&argv);
		CHECK_STR(rp, "sh -c '{ '\\''mkdir'\\'' '\\''/in box'\\''; } </dev/null >&2 "
			      "|| exit 97; exec rsync \"$@\"' sh");
		strvec_clear(&argv);
		job.before_command = NULL;
	}
}

/* Does a local rsync with the exclude rules for name skip exactly name? */
static void
check_exclude_exact(const char *dir, const char *name, const char *const *others)
{
	struct strbuf cmd = STRBUF_INIT, pat = STRBUF_INIT, path = STRBUF_INIT;
	struct stat sb;
	char *rel = xasprintf("src/%s", name);
	const char *paths[] = { rel, NULL };
	FILE *f;
	size_t i;

	/* As the supervisor gives them: in a file, read with --from0. */
	rsync_exclude_rules(paths, &pat);
	strbuf_addf(&path, "%s/rules", dir);
	f = fopen(path.buf, "w");
	CHECK(f != NULL);
	if (f) {
		CHECK(fwrite(pat.buf, 1, pat.len, f) == pat.len);
		fclose(f);
	}
	strbuf_addf(&cmd, "rm -rf '%s/dst' && rsync -r --from0 --exclude-from='%s/rules'",
		    dir, dir);
	strbuf_addf(&cmd, " '%s/src' '%s/dst/'", dir, dir);
	CHECK(system(cmd.buf) == 0);
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/dst/src/%s", dir, name);
	CHECK(lstat(path.buf, &sb) < 0);
	for (i = 0; others[i]; i++) {
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/dst/src/%s", dir, others[i]);
		CHECK(lstat(path.buf, &sb) == 0);
	}
	strbuf_release(&cmd);
	strbuf_release(&pat);
	strbuf_release(&path);
	free(rel);
}

/* Temporary names as rsync 3.5.0's receiver made them for these names. */
static void
test_tmpname(void)
{
	struct strbuf name = STRBUF_INIT, want = STRBUF_INIT, sb = STRBUF_INIT;
	static const struct { const char *base, *prefix; } cases[] = {
		{ "f", ".f." }, { ".hidden", ".hidden." }, { "..dots", "..dots." },
		{ "...", "..." }, { "end.", ".end." }, { "a..b", ".a..b." },
		{ "\xe4\xb8\xad", ".\xe4\xb8\xad." },
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		strbuf_reset(&sb);
		CHECK(rsync_tmpname_prefix(&sb, 0, cases[i].base));
		CHECK_STR(sb.buf, cases[i].prefix);
	}
	/* 255 bytes: cut to 246. */
	for (i = 0; i < 255; i++)
		strbuf_addch(&name, 'x');
	strbuf_addch(&want, '.');
	strbuf_add(&want, name.buf, 246);
	strbuf_addch(&want, '.');
	strbuf_reset(&sb);
	CHECK(rsync_tmpname_prefix(&sb, 4, name.buf));
	CHECK_STR(sb.buf, want.buf);
	/* 85 CJK characters: the cut falls in one, and every one goes. */
	strbuf_reset(&name);
	for (i = 0; i < 85; i++)
		strbuf_addstr(&name, "\xe4\xb8\xad");
	strbuf_reset(&sb);
	CHECK(rsync_tmpname_prefix(&sb, 0, name.buf));
	CHECK_STR(sb.buf, ".");
	/* "abc" and 63 emoji: back to "abc". */
	strbuf_reset(&name);
	strbuf_addstr(&name, "abc");
	for (i = 0; i < 63; i++)
		strbuf_addstr(&name, "\xf0\x9f\x98\x80");
	strbuf_reset(&sb);
	CHECK(rsync_tmpname_prefix(&sb, 0, name.buf));
	CHECK_STR(sb.buf, ".abc.");
	/* Deep down, the path limit cuts first; past it there is none. */
	strbuf_reset(&sb);
	CHECK(rsync_tmpname_prefix(&sb, 4096 - 1 - 7 - 4, "abcdefgh"));
	CHECK_STR(sb.buf, ".abc.");
	strbuf_reset(&sb);
	CHECK(rsync_tmpname_prefix(&sb, 4096 - 1 - 7, "abcdefgh"));
	CHECK_STR(sb.buf, ".");
	strbuf_reset(&sb);
	CHECK(!rsync_tmpname_prefix(&sb, 4096, "abcdefgh"));
	strbuf_release(&name);
	strbuf_release(&want);
	strbuf_release(&sb);
}

static void
test_filter_escape(void)
{
	static const char *const names[] = {
		"a*b", "aXb", "a\\b", "a\\*", "x[1]", "x1", "q?", "qq", "-- x", "n\nl", "**", NULL,
	};
	char tmp[] = "/tmp/scow-sync-test-rsync-XXXXXX";
	struct strbuf sb = STRBUF_INIT;
	size_t i, j;

	rsync_filter_escape(&sb, "plain\\name");
	CHECK_STR(sb.buf, "plain\\name");
	strbuf_reset(&sb);
	rsync_filter_escape(&sb, "a*b\\[c]?");
	CHECK_STR(sb.buf, "a\\*b\\\\\\[c]\\?");
	strbuf_reset(&sb);

	/* Against the real rsync: each name excluded alone, its look-alikes kept. */
	if (mkdtemp(tmp) == NULL || system("command -v rsync >/dev/null") != 0) {
		strbuf_release(&sb);
		return;
	}
	strbuf_addf(&sb, "%s/src", tmp);
	CHECK(mkdir(sb.buf, 0700) == 0);
	for (i = 0; names[i]; i++) {
		FILE *f;

		strbuf_reset(&sb);
		strbuf_addf(&sb, "%s/src/%s", tmp, names[i]);
		f = fopen(sb.buf, "w");
		CHECK(f != NULL);
		if (f)
			fclose(f);
	}
	for (i = 0; names[i]; i++) {
		const char *others[16];
		size_t n = 0;

		for (j = 0; names[j]; j++)
			if (j != i)
				others[n++] = names[j];
		others[n] = NULL;
		check_exclude_exact(tmp, names[i], others);
	}
	strbuf_reset(&sb);
	strbuf_addf(&sb, "rm -rf '%s'", tmp);
	CHECK(system(sb.buf) == 0);
	strbuf_release(&sb);
}

/*
 * What ssh_stdin_argv gives sh -s reaches a script as its arguments, byte
 * for byte (newlines, quotes, a leading dash, bytes that are no UTF-8),
 * and a script cut short runs nothing.
 */
static void
test_stdin_script(void)
{
	static const char script[] =
		"for a do printf '%s' \"$a\" | od -An -c | tr -d ' \\n'; echo; done; "
		"read x && echo read-stdin; exit 3";
	const char *words[] = {
		"sh", "-c", script, "sh", "a b", "it's", "n\nl", "-x", "$(id)", "\xff\xfe", "",
		NULL,
	};
	const char *const sh[] = { "sh", "-s", NULL };
	const char *const od[] = { "sh", "-c", "for a do printf '%s' \"$a\" | od -An -c | "
				   "tr -d ' \\n'; echo; done", "sh", "a b", "it's", "n\nl", "-x",
				   "$(id)", "\xff\xfe", "", NULL };
	struct ssh_target t = { .program = "ssh", .user = "u", .host = "h", .port = 22,
				.key_path = "/k" };
	struct strvec argv = STRVEC_INIT;
	struct strbuf in = STRBUF_INIT, out = STRBUF_INIT, want = STRBUF_INIT;
	int status = -1;

	if (system("command -v od >/dev/null") != 0)
		return;
	ssh_stdin_argv(&t, words, &argv, &in);
	CHECK(spawn_capture_limited(sh, &in, &status, &out, NULL, NULL) == 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	CHECK(spawn_capture(od, &status, &want, NULL) == 0);
	CHECK(want.len > 0);
	CHECK_STR(out.buf, want.buf);
	/* Cut short: a syntax error, nothing run. */
	strbuf_reset(&out);
	strbuf_setlen(&in, in.len / 2);
	CHECK(spawn_capture_limited(sh, &in, &status, &out, NULL, NULL) == 0);
	CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 3));
	CHECK_INT(out.len, 0);
	strvec_clear(&argv);
	strbuf_release(&in);
	strbuf_release(&out);
	strbuf_release(&want);
}

static void
test_permanent_errors(void)
{
	const char *full = "rsync: [receiver] write failed on \"/d/f\": "
			   "No space left on device (28)\n";
	const char *net = "client_loop: send disconnect: Broken pipe\n";

	CHECK(rsync_error_is_permanent(full, strlen(full)));
	CHECK(!rsync_error_is_permanent(net, strlen(net)));
	CHECK(!rsync_error_is_permanent(full, 10));
}

/* What a failed ssh said, in a few words. */
static void
test_ssh_error_summary(void)
{
	const char *changed =
		"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n"
		"@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n"
		"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n"
		"IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\r\n"
		"Add correct host key in /h/.ssh/known_hosts to get rid of this message.\r\n"
		"Offending ED25519 key in /h/.ssh/known_hosts:3\r\n"
		"Host key for [127.0.0.1]:2222 has changed and you have requested strict "
		"checking.\r\n"
		"Host key verification failed.\r\n";
	const char *refused = "ssh: connect to host 127.0.0.1 port 1: Connection refused\r\n";
	const char *denied = "Warning: Permanently added '[h]:22' (ED25519) to the list of "
			     "known hosts.\r\n"
			     "a@h: Permission denied (publickey).\r\n";
	const char *noted = "a@h: Permission denied (publickey).\n"
			    "Warning: something after\n\n";
	struct strbuf sb = STRBUF_INIT;

	ssh_error_summary(changed, strlen(changed), &sb);
	CHECK_STR(sb.buf, "the host key has changed since it was recorded (a reinstalled "
		  "host, or someone in between); the recorded key is at /h/.ssh/known_hosts:3");
	strbuf_reset(&sb);
	ssh_error_summary(refused, strlen(refused), &sb);
	CHECK_STR(sb.buf, "ssh: connect to host 127.0.0.1 port 1: Connection refused");
	strbuf_reset(&sb);
	ssh_error_summary(denied, strlen(denied), &sb);
	CHECK_STR(sb.buf, "a@h: Permission denied (publickey).");
	strbuf_reset(&sb);
	ssh_error_summary(noted, strlen(noted), &sb);
	CHECK_STR(sb.buf, "a@h: Permission denied (publickey).");
	strbuf_reset(&sb);
	CHECK(ssh_failure_kind(changed, strlen(changed)) == SSH_FAILURE_HOSTKEY);
	CHECK(ssh_failure_kind(refused, strlen(refused)) == SSH_FAILURE_OTHER);
	CHECK(ssh_failure_kind(denied, strlen(denied)) == SSH_FAILURE_AUTH);
	CHECK(ssh_failure_kind(noted, strlen(noted)) == SSH_FAILURE_AUTH);
	CHECK(ssh_failure_kind("", 0) == SSH_FAILURE_OTHER);
	{
		/* A key no file knows, under StrictHostKeyChecking=yes: not the key's fault. */
		const char *unknown = "No ED25519 host key is known for [h]:22 and you have "
				      "requested strict checking.\r\n"
				      "Host key verification failed.\r\n";

		CHECK(ssh_failure_kind(unknown, strlen(unknown)) == SSH_FAILURE_HOSTKEY);
	}
	ssh_error_summary("", 0, &sb);
	CHECK_STR(sb.buf, "");
	strbuf_release(&sb);
}

/* Lines of rsync's stderr that name a source file it did not send. */
static void
test_file_problems(void)
{
	static const struct {
		const char *line;
		enum rsync_file_problem want;
		const char *path, *cause;
	} cases[] = {
		{ "file has vanished: \"/src/run/d/f5\"", RSYNC_FILE_VANISHED,
		  "/src/run/d/f5", "vanished" },
		{ "rsync: [sender] send_files failed to open \"/src/run/f2\": "
		  "Permission denied (13)",
		  RSYNC_FILE_FAILED, "/src/run/f2", "Permission denied" },
		{ "rsync: [sender] link_stat \"/src/run/gone\" failed: "
		  "No such file or directory (2)",
		  RSYNC_FILE_VANISHED, "/src/run/gone", "No such file or directory" },
		{ "rsync: [sender] opendir \"/src/a\" failed: bad\": x\" failed: "
		  "Permission denied (13)",
		  RSYNC_FILE_FAILED, "/src/a\" failed: bad\": x", "Permission denied" },
		{ "rsync: [sender] read errors mapping \"/src/new\\#012line\": "
		  "Input/output error (5)",
		  RSYNC_FILE_FAILED, "/src/new\nline", "Input/output error" },
		{ "rsync: [sender] write error: Broken pipe (32)", RSYNC_FILE_NONE, "", "" },
		{ "rsync: [receiver] write failed on \"/d/f\": No space left on device (28)",
		  RSYNC_FILE_NONE, "", "" },
		{ "rsync error: some files/attrs were not transferred (code 23)", RSYNC_FILE_NONE,
		  "", "" },
		{ "file has vanished: \"", RSYNC_FILE_NONE, "", "" },
	};
	struct strbuf path = STRBUF_INIT, cause = STRBUF_INIT;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		strbuf_reset(&path);
		strbuf_reset(&cause);
		CHECK_INT(rsync_file_problem(cases[i].line, strlen(cases[i].line), &path, &cause),
			  cases[i].want);
		CHECK_STR(path.buf, cases[i].path);
		CHECK_STR(cause.buf, cases[i].cause);
	}
	strbuf_release(&path);
	strbuf_release(&cause);
}

static void
test_error_reason(void)
{
	static const struct { const char *text, *want; } cases[] = {
		{ "", "" },
		{ "\n\n", "" },
		{ "rsync: [sender] write error: Broken pipe (32)\n"
		  "rsync error: error in file IO (code 11)\n",
		  "rsync: [sender] write error: Broken pipe (32)" },
		/* only the consequence: that is all there is */
		{ "rsync error: some files could not be transferred (code 23)\r\n",
		  "rsync error: some files could not be transferred (code 23)" },
		/* a full disk wins over the broken pipe echoed after it */
		{ "rsync: write failed on \"/d/f\": No space left on device (28)\n"
		  "rsync: [sender] write error: Broken pipe (32)\n"
		  "rsync error: error in file IO (code 11)\n",
		  "rsync: write failed on \"/d/f\": No space left on device (28)" },
		{ "a\033[2Jb\n", "a\\x1b[2Jb" },
	};
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof *cases; i++) {
		strbuf_reset(&sb);
		rsync_error_reason(cases[i].text, strlen(cases[i].text), &sb);
		CHECK_STR(sb.buf, cases[i].want);
	}
	strbuf_release(&sb);
}

static void
test_exit_codes(void)
{
	CHECK_INT(rsync_exit_classify(0), RSYNC_EXIT_OK);
	CHECK_INT(rsync_exit_classify(23), RSYNC_EXIT_PARTIAL);
	CHECK_INT(rsync_exit_classify(24), RSYNC_EXIT_PARTIAL);
	CHECK_INT(rsync_exit_classify(255), RSYNC_EXIT_RETRY);
	CHECK_INT(rsync_exit_classify(12), RSYNC_EXIT_RETRY);
	CHECK_INT(rsync_exit_classify(30), RSYNC_EXIT_RETRY);
	CHECK_INT(rsync_exit_classify(11), RSYNC_EXIT_FATAL);
	CHECK_INT(rsync_exit_classify(1), RSYNC_EXIT_FATAL);
	CHECK_STR(rsync_exit_text(23), "partial transfer due to error");
}

/* Pieces of a large file: the reader's argv, the writer's quoted command, dd's counts. */
static void
test_pieces(void)
{
	struct strvec argv = STRVEC_INIT;
	struct strbuf cmd = STRBUF_INIT, hdr = STRBUF_INIT, sfx = STRBUF_INIT;
	uint64_t n = 7;

	/* No name on the reader's command line: its path comes on stdin. */
	piece_reader_argv("/usr/bin/scow-sync", 1048576, 2097152, 512, NULL, &argv);
	CHECK_INT(argv.nr, 5);
	CHECK_STR(argv.v[0], "/usr/bin/scow-sync");
	CHECK_STR(argv.v[1], "__read-piece");
	CHECK_STR(argv.v[2], "1048576");
	CHECK_STR(argv.v[3], "2097152");
	CHECK_STR(argv.v[4], "512");
	strvec_clear(&argv);
	piece_header("/d/a\nb", "f\n", &cmd);
	CHECK_INT(cmd.len, 12);
	CHECK(memcmp(cmd.buf, "6 2\n/d/a\nbf\n", 12) == 0);
	piece_reader_input("/data/a b/-x", cmd.buf, cmd.len, &hdr);
	CHECK_INT(hdr.len, 13 + 12);
	CHECK(memcmp(hdr.buf, "/data/a b/-x\0" "6 2\n/d/a\nbf\n", 25) == 0);
	strbuf_reset(&cmd);
	strbuf_reset(&hdr);
	piece_suffix(42, &sfx);
	CHECK_STR(sfx.buf, ".scow-sync-pieces.42");

	/*
	 * No name in the writer's command either, only the suffix, quoted;
	 * one sh line; every piece's dd without truncating, the file sized by
	 * a dd of no data.
	 */
	piece_writer_command("it's", 33554432, 67108864, false, &cmd);
	CHECK(strncmp(cmd.buf, "sh -c '", 7) == 0);
	CHECK(strstr(cmd.buf, "' sh 'it'\\''s' 33554432 67108864") != NULL);
	CHECK(strchr(cmd.buf, '\n') == NULL);
	CHECK(strchr(cmd.buf, '!') == NULL);   /* csh's history, even inside quotes */
	CHECK(strstr(cmd.buf, "conv=\"notrunc$4\"") != NULL);
	CHECK(strstr(cmd.buf, "count=0") != NULL);
	CHECK(strstr(cmd.buf, "last") == NULL);
	CHECK(strstr(cmd.buf, "sparse") == NULL);
	strbuf_reset(&cmd);
	piece_writer_command("it's", 0, 67108864, true, &cmd);
	CHECK(strstr(cmd.buf, "' sh 'it'\\''s' 0 67108864 ,sparse") != NULL);
	strbuf_reset(&cmd);
	/* The check reads back each piece's range and compares its digest. */
	{
		struct piece_sum sums[2] = {
			{ 0, 1048576, "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
			{ 1048576, 5, "0123456789abcdef0123456789abcdef01234567" },
		};

		piece_check_command(sfx.buf, 1048581, sums, 2, &cmd);
		CHECK(strstr(cmd.buf, "' sh '.scow-sync-pieces.42' 1048581 0 1048576 "
				      "da39a3ee5e6b4b0d3255bfef95601890afd80709 1048576 5 "
				      "0123456789abcdef0123456789abcdef01234567") != NULL);
		CHECK(strchr(cmd.buf, '\n') == NULL);
		CHECK(strchr(cmd.buf, '!') == NULL);
		strbuf_reset(&cmd);
	}
	piece_give_back_command(sfx.buf, &cmd);
	CHECK(strstr(cmd.buf, "mv -f -T") != NULL);
	CHECK(strchr(cmd.buf, '\n') == NULL);
	CHECK(strchr(cmd.buf, '!') == NULL);
	strbuf_release(&cmd);
	strbuf_release(&hdr);
	strbuf_release(&sfx);

	/* The reports of either end of a piece. */
	{
		char hex[PIECE_DIGEST_HEX + 1];
		int st = -1;
		const char *ok = "//sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709";

		CHECK_INT(piece_parse_digest(ok, strlen(ok), hex), 0);
		CHECK_STR(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
		/* Empty (no sha1sum there), short, upper case, a suffix: not a digest. */
		CHECK_INT(piece_parse_digest("//sha1 ", 7, hex), SYNC_ERR_INVALID);
		CHECK_INT(piece_parse_digest(ok, strlen(ok) - 1, hex), SYNC_ERR_INVALID);
		CHECK_INT(piece_parse_digest("//sha1 DA39A3EE5E6B4B0D3255BFEF95601890AFD80709",
					     47, hex), SYNC_ERR_INVALID);
		CHECK_INT(piece_parse_digest("//sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709 -",
					     49, hex), SYNC_ERR_INVALID);
		CHECK_INT(piece_parse_written("//dd 0", 6, &st), 0);
		CHECK_INT(st, 0);
		CHECK_INT(piece_parse_written("//dd 141", 8, &st), 0);
		CHECK_INT(st, 141);
		CHECK_INT(piece_parse_written("//dd ", 5, &st), SYNC_ERR_INVALID);
		CHECK_INT(piece_parse_written("//dd 1x", 7, &st), SYNC_ERR_INVALID);
		CHECK_INT(piece_parse_written("//dd 12345", 10, &st), SYNC_ERR_INVALID);
	}

	CHECK_INT(piece_parse_progress("268435456 bytes (268 MB, 256 MiB) copied, 5 s, 53 MB/s",
				    55, &n), 0);
	CHECK(n == 268435456ULL);
	CHECK_INT(piece_parse_progress("0 bytes copied", 14, &n), 0);
	CHECK(n == 0);
	CHECK_INT(piece_parse_progress("512+0 records in", 16, &n), SYNC_ERR_INVALID);
	CHECK_INT(piece_parse_progress("", 0, &n), SYNC_ERR_INVALID);
	CHECK_INT(piece_parse_progress("99999999999999999999999 bytes", 29, &n), SYNC_ERR_INVALID);
}

/*
 * A record begun after a \r that never ends (a far side printing without a
 * line end) must not grow without bound: past the longest progress line it
 * is a message, and the parser's memory stays small.
 */
static void
test_runaway_progress_record(void)
{
	struct rsync_parser p;
	struct record r;
	static char junk[65536];
	const char *progress = "\r     32,768   0%   31.25MB/s    0:00:00  ";
	size_t i;

	memset(&r, 0, sizeof r);
	strbuf_init(&r.log, 0);
	memset(junk, 'x', sizeof junk);
	rsync_parser_init(&p);
	rsync_parser_feed(&p, "\r", 1, record_event, &r);
	for (i = 0; i < 64; i++) /* 4 MiB without a line end */
		rsync_parser_feed(&p, junk, sizeof junk, record_event, &r);
	CHECK(p.pending.alloc <= 1024 * 1024);
	CHECK(r.messages >= 1);
	CHECK_INT(r.progress, 0);
	/* A real progress record afterwards is still read as one. */
	rsync_parser_feed(&p, progress, strlen(progress), record_event, &r);
	CHECK_INT(r.progress, 1);
	rsync_parser_finish(&p, record_event, &r);
	rsync_parser_release(&p);
	strbuf_release(&r.log);
}

int
main(void)
{
	test_fixture_tree();
	test_fixture_fast();
	test_filter_escape();
	test_stdin_script();
	test_tmpname();
	test_permanent_errors();
	test_ssh_error_summary();
	test_file_problems();
	test_fixture_unknown_time();
	test_fixture_stats();
	test_progress_lines();
	test_unescape();
	test_messages_and_names();
	test_itemized_names();
	test_dry_run();
	test_argv();
	test_exit_codes();
	test_error_reason();
	test_pieces();
	test_runaway_progress_record();
	return unit_done("test-rsync");
}
