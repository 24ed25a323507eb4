/* Unit tests for output: the portal's formats. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "unit.h"

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

int
main(void)
{
	test_formats();
	test_legacy_json();
	return unit_done("test-output");
}
