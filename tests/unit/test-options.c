/* Unit tests for options: the portal's flags and their validation. */
#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "util.h"
#include "unit.h"

static char dir[] = "/tmp/scow-sync-test-options-XXXXXX";

/* Parse and validate a NULL-terminated argument list; the error or "". */
static const char *
try(struct transfer_request *req, const char *const *args)
{
	static char err[512];
	char *argv[32];
	int argc = 0, verbosity = 0, rc;

	argv[argc++] = "scow-sync-start";
	while (*args)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	err[0] = '\0';
	rc = options_parse_transfer(argc, argv, req, &verbosity, err, sizeof err);
	if (rc != OPTIONS_OK)
		return rc == OPTIONS_HELP ? "help" : rc == OPTIONS_VERSION ? "version" : err;
	if (options_validate_transfer(req, !req->check, err, sizeof err) < 0)
		return err;
	return "";
}

/*
 * A second parse must not look at the first one's arguments, which may be
 * gone: getopt keeps a pointer into them unless it is reset with optind 0.
 */
static void
test_parse_twice(void)
{
	struct transfer_request req;
	char first[4][8] = { "start", "-a", "h", "-c" };
	char *argv1[] = { first[0], first[1], first[2], first[3], NULL };
	char *argv2[] = { "start", "--version", NULL };
	char err[256] = "";
	int verbosity = 0;

	CHECK_INT(options_parse_transfer(4, argv1, &req, &verbosity, err, sizeof err), OPTIONS_OK);
	/* The first arguments are freed and their memory used again. */
	memset(first, 'c', sizeof first);
	first[3][7] = '\0';
	CHECK_INT(options_parse_transfer(2, argv2, &req, &verbosity, err, sizeof err),
		  OPTIONS_VERSION);
	CHECK_STR(err, "");
}

int
main(void)
{
	struct transfer_request req;
	char *src, *key;
	int fd;

	if (mkdtemp(dir) == NULL)
		return 99;
	src = xasprintf("%s/data", dir);
	key = xasprintf("%s/id_rsa", dir);
	CHECK(mkdir(src, 0755) == 0);
	fd = open(key, O_WRONLY | O_CREAT, 0600);
	close(fd);

	{
		/* The portal's exact call. */
		const char *a[] = { "-a", "hpc2", "-u", "alice", "-s", src, "-d", "/in", "-m", "2",
				    "-p", "22", "-k", key, NULL };
		CHECK_STR(try(&req, a), "");
		CHECK_STR(req.address, "hpc2");
		CHECK_STR(req.source, src);
		CHECK_INT(req.max_depth, 2);
		CHECK_INT(req.port, 22);
		CHECK_STR(req.key_path, key);
		transfer_request_release(&req);
	}
	{
		const char *a[] = { "--address", "h", "--user", "u", "--source", src,
				    "--destination", "d", "--max-depth", "0", "--port", "2222",
				    "--sshkey-path", key, NULL };
		CHECK_STR(try(&req, a), "");
		CHECK_INT(req.port, 2222);
		CHECK_INT(req.max_depth, 0);
		transfer_request_release(&req);
	}
	{
		/* The key check needs no source. */
		const char *a[] = { "-a", "h", "-u", "u", "-p", "22", "-k", "/nonexistent", "-c",
				    NULL };
		CHECK_STR(try(&req, a), "");
		CHECK(req.check);
		transfer_request_release(&req);
	}
	{
		char *trail = xasprintf("%s///", src);
		const char *a[] = { "-a", "h", "-u", "u", "-s", trail, "-d", "d", "-k", key, NULL };

		CHECK_STR(try(&req, a), "");
		CHECK_STR(req.source, src);
		transfer_request_release(&req);
		free(trail);
	}
	{
		const char *a[] = { "-h", NULL };
		CHECK_STR(try(&req, a), "help");
		const char *b[] = { "--version", NULL };
		CHECK_STR(try(&req, b), "version");
	}
	{
		static const struct { const char *flag, *value, *want; } bad[] = {
			{ "-p", "0", "invalid port '0': expected a number from 1 to 65535" },
			{ "-p", "22x", "invalid port '22x': expected a number from 1 to 65535" },
			{ "-m", "-1", "invalid max depth '-1': expected a number from 0 to 64" },
			{ "-m", "65", "invalid max depth '65': expected a number from 0 to 64" },
			{ "-a", "-oProxyCommand=x",
			  "invalid address '-oProxyCommand=x': must not begin with '-'" },
			{ "-u", "a b",
			  "invalid user 'a b': contains a space, quote, '@', '/' or control "
			  "character" },
			{ "-a", "h@x",
			  "invalid address 'h@x': contains a space, quote, '@', '/' or control "
			  "character" },
		};
		size_t i;

		for (i = 0; i < sizeof bad / sizeof *bad; i++) {
			const char *a[] = { "-a", "h", "-u", "u", "-s", src, "-d", "d", "-k", key,
					    bad[i].flag, bad[i].value, NULL };
			CHECK_STR(try(&req, a), bad[i].want);
			transfer_request_release(&req);
		}
	}
	{
		char *missing = xasprintf("%s/missing", dir);
		char *want = xasprintf("cannot read source '%s': No such file or directory",
				       missing);
		const char *a[] = { "-a", "h", "-u", "u", "-s", missing, "-d", "d", "-k", key,
				    NULL };

		CHECK_STR(try(&req, a), want);
		transfer_request_release(&req);
		free(want);
		free(missing);
	}
	{
		char *want = xasprintf("cannot read key '%s/nokey': No such file or directory",
				       dir);
		char *nokey = xasprintf("%s/nokey", dir);
		const char *a[] = { "-a", "h", "-u", "u", "-s", src, "-d", "d", "-k", nokey, NULL };

		CHECK_STR(try(&req, a), want);
		transfer_request_release(&req);
		free(want);
		free(nokey);
	}
	{
		const char *a[] = { "-a", "h", "-u", "u", "-s", src, "-k", key, NULL };
		CHECK_STR(try(&req, a), "missing -d/--destination");
		transfer_request_release(&req);
		const char *b[] = { "-a", "h", "-u", "u", "-s", src, "-d", "d", "-k", key,
				    "extra", NULL };
		CHECK_STR(try(&req, b), "unexpected argument 'extra'");
		const char *c[] = { "-a", "h", "-x", NULL };
		CHECK_STR(try(&req, c), "unknown option '-x'");
		const char *d[] = { "-a", NULL };
		CHECK_STR(try(&req, d), "option '-a' needs a value");
		const char *e[] = { "-a", "h", "-s", "/", "-d", "d", "-k", key, NULL };
		CHECK_STR(try(&req, e), "cannot transfer '/': choose a directory below it");
		transfer_request_release(&req);
		/* The value as given, but one line without control bytes. */
		const char *f[] = { "-a", "h", "x\ny\033[2J", NULL };
		CHECK_STR(try(&req, f), "unexpected argument 'x\\x0ay\\x1b[2J'");
		const char *g[] = { "-a", "h", "-\a", NULL };
		CHECK_STR(try(&req, g), "unknown option '-\\x07'");
		const char *h[] = { "-a", "-\n", NULL };
		CHECK_STR(try(&req, h), "invalid address '-\\x0a': must not begin with '-'");
		const char *k[] = { "-a", "h", "-u", "u", "-p", "22\n", NULL };
		CHECK_STR(try(&req, k),
			  "invalid port '22\\x0a': expected a number from 1 to 65535");
		transfer_request_release(&req);
		const char *m[] = { "-a", "h", "-u", "u", "-s", "/no/such\n", "-d", "d", "-k", key,
				    NULL };
		CHECK_STR(try(&req, m),
			  "cannot read source '/no/such\\x0a': No such file or directory");
		transfer_request_release(&req);
	}
	/* Several hosts: -a with a list, each HOST or HOST:PORT, and --relay. */
	{
		char *hosts_file = xasprintf("%s/hosts", dir);
		FILE *f = fopen(hosts_file, "w");
		const char *a[] = { "-a", "h1,h2:2222,[fe80::1]", "-s", src, "-d", "d", "-k", key,
				    "-p", "2200", NULL };

		CHECK_STR(try(&req, a), "");
		CHECK_INT((int)req.hosts.n, 3);
		if (req.hosts.n == 3) {
			CHECK_STR(req.hosts.v[0].address, "h1");
			CHECK_INT(req.hosts.v[0].port, 2200);
			CHECK_INT(req.hosts.v[1].port, 2222);
			CHECK_STR(req.hosts.v[2].address, "fe80::1");
		}
		CHECK_STR(req.address, "h1,h2:2222,[fe80::1]");
		transfer_request_release(&req);
		const char *b[] = { "-a", "h1,h1:22", "-s", src, "-d", "d", "-k", key, NULL };
		CHECK_STR(try(&req, b), "host 'h1:22' is given twice");
		transfer_request_release(&req);
		const char *c[] = { "-a", "h1,", "-s", src, "-d", "d", "-k", key, NULL };
		CHECK_STR(try(&req, c), "empty host in the list of hosts");
		transfer_request_release(&req);
		const char *d[] = { "-a", "h1,h2:0", "-s", src, "-d", "d", "-k", key, NULL };
		CHECK_STR(try(&req, d), "invalid port in host 'h2:0': expected a number from 1 "
			  "to 65535");
		transfer_request_release(&req);
		const char *e[] = { "--relay", "-a", "h1", "-s", src, "-d", "d", "-k", key, NULL };
		CHECK_STR(try(&req, e), "--relay goes with several hosts");
		transfer_request_release(&req);
		const char *g[] = { "-a", "h1,h2", "--watch-me", NULL };
		CHECK_STR(try(&req, g), "unknown option '--watch-me'");
		transfer_request_release(&req);
		const char *h[] = { "-a", "h1,h2", "-c", NULL };
		CHECK_STR(try(&req, h), "-c checks one host: give it alone");
		transfer_request_release(&req);
		if (f) {
			fputs("# hosts\n  h1  \r\n\nh2:2222\n", f);
			fclose(f);
		}
		const char *i[] = { "--hosts-from", hosts_file, "-s", src, "-d", "d", "-k", key,
				    NULL };
		CHECK_STR(try(&req, i), "");
		CHECK_STR(req.address, "h1,h2:2222");
		transfer_request_release(&req);
		const char *j[] = { "--hosts-from", hosts_file, "-a", "h3", NULL };
		CHECK_STR(try(&req, j), "-a/--address and --hosts-from: give the hosts in one");
		transfer_request_release(&req);
		unlink(hosts_file);
		free(hosts_file);
	}
	unlink(key);
	rmdir(src);
	rmdir(dir);
	free(src);
	free(key);
	test_parse_twice();
	return unit_done("test-options");
}
