/*
 * fuzz-rsync: the readers of what rsync prints (src/rsync.c).
 *
 * Input: one byte that seeds how the rest is cut into reads, then rsync's
 * standard output and error as they might arrive: file names, progress
 * records, the closing counts, itemized dry-run lines, messages. The
 * stream goes through the incremental parser in pieces of pseudo-random
 * sizes (as a pipe hands them over), and each record reader also sees the
 * whole of it.
 */
#include "config.h"

#include <math.h>

#include "fuzz.h"
#include "rsync-parse.h"
#include "util.h"

/* What the supervisor does with each event, minus the bookkeeping. */
static void
on_event(const struct rsync_event *ev, void *ctx)
{
	size_t *events = ctx, at;

	(*events)++;
	switch (ev->kind) {
	case RSYNC_EV_NAME:
		fuzz_touch(ev->name, ev->name_len);
		FUZZ_CHECK(ev->name[ev->name_len] == '\0');
		if (rsync_itemized_name(ev->name, ev->name_len, &at)) {
			FUZZ_CHECK(at < ev->name_len);
			fuzz_touch(ev->name + at, ev->name_len - at);
		}
		break;
	case RSYNC_EV_MESSAGE:
		fuzz_touch(ev->name, ev->name_len);
		FUZZ_CHECK(ev->name_len > 0);
		(void)rsync_error_is_permanent(ev->name, ev->name_len);
		break;
	case RSYNC_EV_PROGRESS:
		FUZZ_CHECK(ev->progress.percent >= 0 && ev->progress.percent <= 100);
		FUZZ_CHECK(ev->progress.eta >= -1);
		FUZZ_CHECK(ev->progress.rate >= 0 && isfinite(ev->progress.rate));
		FUZZ_CHECK(ev->progress.final || ev->progress.xfr == 0);
		break;
	case RSYNC_EV_STATS:
		break;
	}
}

/* The reader of a single progress record, on its own. */
static void
check_progress(const char *s, size_t len)
{
	struct rsync_progress p;

	if (rsync_parse_progress(s, len, &p) != SYNC_OK)
		return;
	FUZZ_CHECK(p.percent >= 0 && p.percent <= 100);
	FUZZ_CHECK(p.eta >= -1);
	FUZZ_CHECK(p.rate >= 0 && isfinite(p.rate));
}

/* \#ooo escapes shrink; anything without a backslash is kept as it is. */
static void
check_unescape(const char *s, size_t len)
{
	struct strbuf sb = STRBUF_INIT;

	rsync_unescape(&sb, s, len);
	FUZZ_CHECK(sb.len <= len);
	if (memchr(s, '\\', len) == NULL)
		FUZZ_CHECK(sb.len == len && memcmp(sb.buf, s, len) == 0);
	strbuf_release(&sb);
}

/* The reason chosen from rsync's stderr is one escaped line of it. */
static void
check_error_reason(const char *s, size_t len)
{
	struct strbuf sb = STRBUF_INIT;

	rsync_error_reason(s, len, &sb);
	FUZZ_CHECK(fuzz_no_controls(sb.buf, sb.len));
	FUZZ_CHECK(utf8_valid(sb.buf, sb.len));
	FUZZ_CHECK(sb.len <= 4 * len);
	strbuf_release(&sb);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rsync_parser parser;
	struct fuzz_input in = { data, size };
	uint32_t seed = fuzz_byte(&in) * 2654435761u + 1;
	const char *s = (const char *)in.p;
	size_t len = in.left, off = 0, events = 0;
	uint64_t sent, received;
	size_t at;

	rsync_parser_init(&parser);
	while (off < len) {
		size_t n;

		seed = seed * 1103515245u + 12345u;
		n = 1 + (seed >> 16) % 64;
		if (n > len - off)
			n = len - off;
		rsync_parser_feed(&parser, s + off, n, on_event, &events);
		off += n;
		/* Memory stays bounded whatever arrives, however long. */
		FUZZ_CHECK(parser.pending.len <= n + (parser.in_progress ? RSYNC_PROGRESS_MAX
									  : RSYNC_LINE_MAX));
	}
	rsync_parser_finish(&parser, on_event, &events);
	rsync_parser_release(&parser);

	check_progress(s, len);
	if (len > 0 && s[0] == '\r')
		check_progress(s + 1, len - 1);
	(void)rsync_parse_sent(s, len, &sent, &received);
	if (rsync_itemized_name(s, len, &at))
		FUZZ_CHECK(at < len);
	check_unescape(s, len);
	check_error_reason(s, len);
	return 0;
}
