/*
 * fuzz-output: query's JSON (src/report.c) from whatever the store holds:
 * addresses and file names of any bytes, and numbers of any value that
 * rsync's output could have led to (rates that are NaN, infinite or
 * negative, times left below zero, percentages out of range).
 *
 * Input: rows of an address, a file path (NUL-terminated), bytes (8),
 * percent (4), rate (8, the bits of a double) and time left (8). The
 * written array must be valid JSON that reads back as the portal reads it:
 * six strings per row, each in the format the portal parses.
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>

#include <jansson.h>

#include "fuzz.h"
#include "format.h"
#include "report.h"
#include "util.h"

#define MAX_ROWS 4

/* "44,564,480": digits in groups of three. */
static bool
thousands_ok(const char *s, uint64_t n)
{
	struct strbuf digits = STRBUF_INIT;
	size_t len = strlen(s), i;
	bool ok = len > 0;

	for (i = 0; ok && i < len; i++) {
		if ((len - i) % 4 == 0)
			ok = s[i] == ',';
		else
			ok = isdigit((unsigned char)s[i]);
		if (s[i] != ',')
			strbuf_addch(&digits, s[i]);
	}
	if (ok) {
		char want[32];

		snprintf(want, sizeof want, "%llu", (unsigned long long)n);
		ok = strcmp(digits.buf, want) == 0;
	}
	strbuf_release(&digits);
	return ok;
}

/* The portal's /([\d.]+)([kMGB]?B\/s)/, with exactly one '.' and two decimals. */
static bool
speed_ok(const char *s)
{
	size_t i = 0, digits = 0;

	while (isdigit((unsigned char)s[i])) {
		i++;
		digits++;
	}
	if (digits == 0 || s[i++] != '.' || !isdigit((unsigned char)s[i]) ||
	    !isdigit((unsigned char)s[i + 1]))
		return false;
	i += 2;
	return strcmp(s + i, "B/s") == 0 || strcmp(s + i, "kB/s") == 0 ||
	       strcmp(s + i, "MB/s") == 0 || strcmp(s + i, "GB/s") == 0;
}

/* "42%", 0 to 100. */
static bool
progress_ok(const char *s)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)s[0]))
		return false;
	v = strtol(s, &end, 10);
	return strcmp(end, "%") == 0 && v >= 0 && v <= 100 && (s[0] != '0' || s[1] == '%');
}

/* "0:00:33": H:MM:SS, never negative. */
static bool
time_ok(const char *s)
{
	size_t i = 0;

	while (isdigit((unsigned char)s[i]))
		i++;
	return i > 0 && s[i] == ':' && s[i + 1] >= '0' && s[i + 1] <= '5' &&
	       isdigit((unsigned char)s[i + 2]) && s[i + 3] == ':' && s[i + 4] >= '0' &&
	       s[i + 4] <= '5' && isdigit((unsigned char)s[i + 5]) && s[i + 6] == '\0';
}

static const char *
field(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	FUZZ_CHECK(json_is_string(v));
	FUZZ_CHECK(utf8_valid(json_string_value(v), json_string_length(v)));
	return json_string_value(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	struct legacy_list *l = legacy_list_new();
	struct legacy_row rows[MAX_ROWS];
	char *strings[2 * MAX_ROWS];
	size_t n = 0, i, len;
	char *text = NULL;
	json_t *doc;
	json_error_t jerr;
	FILE *f;

	while (n < MAX_ROWS && (n == 0 || in.left > 0)) {
		uint64_t bits;

		strings[2 * n] = fuzz_string(&in);
		strings[2 * n + 1] = fuzz_string(&in);
		rows[n].address = strings[2 * n];
		rows[n].file_path = strings[2 * n + 1];
		rows[n].bytes = fuzz_u64(&in);
		rows[n].percent = (int)(uint32_t)(fuzz_u64(&in) >> 32);
		bits = fuzz_u64(&in);
		memcpy(&rows[n].rate, &bits, sizeof rows[n].rate);
		rows[n].eta = (int64_t)fuzz_u64(&in);
		legacy_list_add(l, &rows[n]);
		n++;
	}
	if ((f = open_memstream(&text, &len)) == NULL)
		abort();
	FUZZ_CHECK(legacy_list_write(l, f) == SYNC_OK);
	fclose(f);
	legacy_list_free(l);

	/* ASCII only (\u escapes; DEL needs none in JSON), and JSON that reads back. */
	for (i = 0; i < len; i++)
		FUZZ_CHECK((unsigned char)text[i] >= 0x20 && (unsigned char)text[i] < 0x80);
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	FUZZ_CHECK(doc != NULL && json_is_array(doc) && json_array_size(doc) == n);
	for (i = 0; i < n; i++) {
		json_t *obj = json_array_get(doc, i);
		struct strbuf sb = STRBUF_INIT;

		FUZZ_CHECK(json_is_object(obj) && json_object_size(obj) == 6);
		display_path(&sb, rows[i].address);
		FUZZ_CHECK(strcmp(field(obj, "recvAddress"), sb.buf) == 0);
		strbuf_reset(&sb);
		display_path(&sb, rows[i].file_path);
		FUZZ_CHECK(strcmp(field(obj, "filePath"), sb.buf) == 0);
		strbuf_release(&sb);
		FUZZ_CHECK(thousands_ok(field(obj, "transferSize"), rows[i].bytes));
		FUZZ_CHECK(progress_ok(field(obj, "progress")));
		FUZZ_CHECK(speed_ok(field(obj, "speed")));
		FUZZ_CHECK(time_ok(field(obj, "leftTime")));
	}
	json_decref(doc);
	free(text);
	for (i = 0; i < 2 * n; i++)
		free(strings[i]);
	return 0;
}
