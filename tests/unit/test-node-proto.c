/*
 * Unit tests for the words between a supervisor and its node workers
 * (node-proto.h): any bytes, a newline and NUL among them, go as one word
 * and come back the same; a line is only printable bytes; what is not
 * well formed is refused.
 */
#include "config.h"

#include <string.h>

#include "node-proto.h"
#include "unit.h"
#include "util.h"

static void
check_round_trip(void)
{
	char all[256], *words[4];
	size_t len[4], i;
	struct strbuf line = STRBUF_INIT;

	for (i = 0; i < sizeof all; i++)
		all[i] = (char)i;
	strbuf_addstr(&line, "out");
	strbuf_addch(&line, ' ');
	node_word(&line, all, sizeof all);
	node_add_word(&line, "");
	node_add_word(&line, "a b\nc%d");
	/* Nothing srun or a terminal would read as something else. */
	for (i = 0; i < line.len; i++)
		CHECK(line.buf[i] >= ' ' && line.buf[i] <= '~');
	CHECK_INT(node_split(line.buf, words, len, 4), 4);
	CHECK_STR(words[0], "out");
	CHECK_INT((long)len[1], 256);
	CHECK(memcmp(words[1], all, sizeof all) == 0);
	CHECK_INT((long)len[2], 0);
	CHECK_STR(words[2], "");
	CHECK_STR(words[3], "a b\nc%d");
	strbuf_release(&line);
}

static void
check_refused(void)
{
	static const char *const bad[] = {
		"out %4", "out %zz", "out %4g", "out  two", "out trailing ", "a%0a",
		"out \x01", NULL,
	};
	char *words[4], buf[64];
	size_t len[4];
	int i;

	for (i = 0; bad[i]; i++) {
		snprintf(buf, sizeof buf, "%s", bad[i]);
		CHECK_INT(node_split(buf, words, len, 4), -1);
	}
	/* More words than room. */
	snprintf(buf, sizeof buf, "a b c d e");
	CHECK_INT(node_split(buf, words, len, 4), -1);
	snprintf(buf, sizeof buf, "%s", "");
	CHECK_INT(node_split(buf, words, len, 4), 0);
}

int
main(void)
{
	check_round_trip();
	check_refused();
	return unit_done("test-node-proto");
}
