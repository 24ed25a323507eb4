/* Unit tests for the compress module: suffixes, entropy, the sampling. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compress.h"
#include "unit.h"
#include "util.h"

static void
test_suffixes(void)
{
	CHECK(compress_suffix_skipped("a/b.gz"));
	CHECK(compress_suffix_skipped("run.tar.GZ"));
	CHECK(compress_suffix_skipped("x.h5"));
	CHECK(compress_suffix_skipped("movie.mp4"));
	CHECK(compress_suffix_skipped("z.zst"));
	CHECK(!compress_suffix_skipped("notes.txt"));
	CHECK(!compress_suffix_skipped("gz"));
	CHECK(!compress_suffix_skipped("a.gz/inside"));
	CHECK(!compress_suffix_skipped("trailing."));
	CHECK(!compress_suffix_skipped("a.g"));       /* a prefix of "gz" is not it */
	CHECK(!compress_suffix_skipped("a.gzz"));
	/* The list is rsync's format: suffixes separated by '/', no empty one. */
	CHECK(strstr(compress_skip_list, "//") == NULL);
	CHECK(compress_skip_list[0] != '/');
	CHECK(compress_skip_list[strlen(compress_skip_list) - 1] != '/');
}

static void
test_entropy(void)
{
	unsigned char buf[4096];
	size_t i;

	memset(buf, 'a', sizeof buf);
	CHECK(compress_entropy(buf, sizeof buf) < 0.001);
	for (i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)(i % 2 ? 'a' : 'b');
	CHECK(compress_entropy(buf, sizeof buf) > 0.999 &&
	      compress_entropy(buf, sizeof buf) < 1.001);
	for (i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)i;
	CHECK(compress_entropy(buf, sizeof buf) > 7.999);
	CHECK(compress_entropy(buf, 0) == 0);
}

static void
write_file(const char *dir, const char *name, const char *fill_cmd)
{
	struct strbuf cmd = STRBUF_INIT;

	strbuf_addf(&cmd, "mkdir -p \"$(dirname '%s/%s')\" && %s > '%s/%s'", dir, name, fill_cmd,
		    dir, name);
	CHECK(system(cmd.buf) == 0);
	strbuf_release(&cmd);
}

static void
test_sampling(void)
{
	char tmp[] = "/tmp/scow-sync-test-compress-XXXXXX";
	struct strbuf cmd = STRBUF_INIT;
	const char *text[] = { "text" }, *rnd[] = { "random" }, *both[] = { "random", "text" };
	const char *gz[] = { "logs.gz" }, *tree[] = { "tree" }, *none[] = { "missing", "empty" };
	const char *tiny[] = { "tiny" };

	if (mkdtemp(tmp) == NULL)
		return;
	write_file(tmp, "text", "seq 1 20000");
	write_file(tmp, "random", "head -c 65536 /dev/urandom");
	write_file(tmp, "logs.gz", "seq 1 20000");           /* named compressed: trusted */
	write_file(tmp, "tree/a/b/deep", "seq 1 5000");
	write_file(tmp, "empty", "true");
	write_file(tmp, "tiny/1", "head -c 100 /dev/urandom");
	write_file(tmp, "tiny/2", "head -c 100 /dev/urandom");
	write_file(tmp, "tiny/3", "head -c 100 /dev/urandom");
	write_file(tmp, "tiny/4", "head -c 100 /dev/urandom");
	write_file(tmp, "tiny/5", "head -c 100 /dev/urandom");
	write_file(tmp, "tiny/6", "head -c 100 /dev/urandom");

	CHECK(compress_worth(tmp, text, 1));
	CHECK(!compress_worth(tmp, rnd, 1));
	CHECK(!compress_worth(tmp, gz, 1));
	CHECK(compress_worth(tmp, tree, 1));                 /* found below a directory */
	CHECK(!compress_worth(tmp, none, 2));                /* nothing to read: no */
	/* Small random files, one histogram for all: 100 bytes alone cannot show 7 bits. */
	CHECK(!compress_worth(tmp, tiny, 1));
	/* Half random, half text: about 6 bits per byte on average. */
	CHECK(compress_worth(tmp, both, 2));

	strbuf_addf(&cmd, "rm -rf '%s'", tmp);
	CHECK(system(cmd.buf) == 0);
	strbuf_release(&cmd);
}

int
main(void)
{
	test_suffixes();
	test_entropy();
	test_sampling();
	return unit_done("test-compress");
}
