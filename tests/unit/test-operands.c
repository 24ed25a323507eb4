/* Unit tests for operands: SOURCE... [USER@]HOST:DEST into the flags' form. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "operands.h"
#include "options.h"
#include "util.h"
#include "unit.h"

/* Parse arg; "local", the error, or "user|host|path" ("-" for no user). */
static const char *
split(const char *arg)
{
	static char out[512];
	struct remote_operand op;
	char err[256];

	switch (remote_operand_parse(arg, &op, err, sizeof err)) {
	case 0:
		return "local";
	case -1:
		snprintf(out, sizeof out, "%s", err);
		return out;
	}
	snprintf(out, sizeof out, "%s|%s|%s", op.user ? op.user : "-", op.host, op.path);
	remote_operand_release(&op);
	return out;
}

/* Expand a NULL-terminated argument list after "run"; each argv joined with ' ', one a line. */
static const char *
expand(const char *const *args)
{
	static char out[2048];
	struct strbuf sb = STRBUF_INIT;
	struct strvec *each;
	char *argv[32], err[512];
	size_t n, i, j;
	int argc = 0;

	argv[argc++] = "run";
	while (*args)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	if (operands_expand(argc, argv, transfer_flags, &each, &n, err, sizeof err) < 0) {
		snprintf(out, sizeof out, "error: %s", err);
		return out;
	}
	if (n == 0)
		return "as it is";
	for (i = 0; i < n; i++) {
		for (j = 0; j < each[i].nr; j++)
			strbuf_addf(&sb, "%s%s", j ? " " : "", each[i].v[j]);
		strbuf_addch(&sb, '\n');
		strvec_clear(&each[i]);
	}
	free(each);
	snprintf(out, sizeof out, "%s", sb.buf);
	strbuf_release(&sb);
	return out;
}

static void
test_split(void)
{
	CHECK_STR(split("h:/in"), "-|h|/in");
	CHECK_STR(split("alice@hpc2:data/in"), "alice|hpc2|data/in");
	CHECK_STR(split("hpc2:"), "-|hpc2|.");
	/* No shell expands a '~' after the ':': the far home, as rsync and scp have it. */
	CHECK_STR(split("hpc2:~"), "-|hpc2|.");
	CHECK_STR(split("hpc2:~/in/x"), "-|hpc2|in/x");
	CHECK_STR(split("hpc2:~//in"), "-|hpc2|in");
	CHECK_STR(split("hpc2:in/~"), "-|hpc2|in/~");
	CHECK_STR(split("hpc2:~bob/in"), "'hpc2:~bob/in': another user's home ('~name') cannot "
		  "be given; write the path");
	CHECK_STR(split("[::1]:/in"), "-|::1|/in");
	CHECK_STR(split("bob@[fe80::1]:/x:y"), "bob|fe80::1|/x:y");
	/* rsync's rule: a ':' after a '/' is a local name's. */
	CHECK_STR(split("./a:b"), "local");
	CHECK_STR(split("/data/a:b"), "local");
	CHECK_STR(split("plain"), "local");
	CHECK_STR(split("a@b/c:d"), "local");
	CHECK_STR(split("s3://bucket/p"), "local");
	CHECK_STR(split(":/x"), "':/x': no host before the ':'");
	CHECK_STR(split("u@:/x"), "'u@:/x': no host before the ':'");
	CHECK_STR(split("[::1:/x"), "'[::1:/x': '[' without its ']'");
	CHECK_STR(split("[::1]/x"), "local");
}

static void
test_expand(void)
{
	{
		const char *a[] = { "-a", "h", "-s", "x", "-d", "/in", NULL };
		CHECK_STR(expand(a), "as it is");
	}
	{
		const char *a[] = { NULL };
		CHECK_STR(expand(a), "as it is");
	}
	{
		/* Flags before, between and after the operands, in their order. */
		const char *a[] = { "-v", "/d/one", "--bwlimit", "100", "two", "u@h:/in", "-p",
				    "2222", NULL };
		CHECK_STR(expand(a),
			  "run --address=h --user=u --destination=/in --source=/d/one "
			  "-v --bwlimit 100 -p 2222\n"
			  "run --address=h --user=u --destination=/in --source=two "
			  "-v --bwlimit 100 -p 2222\n");
	}
	{
		/* After "--", a name that begins with '-' is an operand. */
		const char *a[] = { "-q", "--", "-odd", "h:in", NULL };
		CHECK_STR(expand(a), "run --address=h --destination=in --source=-odd -q\n");
	}
	{
		const char *a[] = { "one", NULL };
		CHECK_STR(expand(a), "error: a source and a destination are needed: SOURCE... "
			  "[USER@]HOST:DEST, or -a HOST -s SOURCE -d DEST");
	}
	{
		const char *a[] = { "one", "/local", NULL };
		CHECK_STR(expand(a), "error: the destination '/local' is not on a host: write it "
			  "as [USER@]HOST:DIR");
	}
	{
		const char *a[] = { "h:/far", "/local", NULL };
		CHECK_STR(expand(a), "error: pulling from a host ('h:/far' to '/local') is not "
			  "supported yet");
	}
	{
		const char *a[] = { "-s", "x", "one", "h:/in", NULL };
		CHECK_STR(expand(a), "error: unexpected argument 'one': give the places as "
			  "operands (SOURCE... [USER@]HOST:DEST) or as -a, -s and -d, not both");
	}
	{
		const char *a[] = { "-u", "x", "one", "y@h:/in", NULL };
		CHECK_STR(expand(a), "error: the user is given twice: as -u and in 'y@h:/in'");
	}
	{
		/* -u beside a destination without a user is the user. */
		const char *a[] = { "-u", "x", "one", "h:/in", NULL };
		CHECK_STR(expand(a), "run --address=h --destination=/in --source=one -u x\n");
	}
	{
		const char *a[] = { "g:/a", "h:/in", NULL };
		CHECK_STR(expand(a), "error: 'g:/a' and 'h:/in' are both on hosts: one side "
			  "must be here");
	}
	{
		/* An option's value is not an operand, whatever it looks like. */
		const char *a[] = { "--exclude", "x:y", "one", "h:/in", NULL };
		CHECK_STR(expand(a), "run --address=h --destination=/in --source=one "
			  "--exclude x:y\n");
	}
	{
		/* A flag left without its value takes none of the places. */
		const char *a[] = { "one", "h:/in", "-m", NULL };
		CHECK_STR(expand(a), "error: option '-m' needs a value");
	}
	{
		/* An unknown option: the parse that follows names it. */
		const char *a[] = { "one", "-x", "h:/in", NULL };
		CHECK_STR(expand(a), "error: unknown option '-x'");
	}
	{
		const char *a[] = { "one", "--no-such", "h:/in", NULL };
		CHECK_STR(expand(a), "error: unknown option '--no-such'");
	}
	{
		/* Two sources of one name would land in one place. */
		const char *a[] = { "a/plain", "b/plain/", "h:/in", NULL };
		CHECK_STR(expand(a), "error: 'a/plain' and 'b/plain/' would both land in '/in': "
			  "give them apart");
	}
}

int
main(void)
{
	test_split();
	test_expand();
	return unit_done("test-operands");
}
