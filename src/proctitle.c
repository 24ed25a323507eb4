/* proctitle: a neutral title over the arguments (see proctitle.h). */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "proctitle.h"
#include "util.h"

/* The original argument area, and the copies argv points to now. */
static char *title_area;
static size_t title_len;
static char **moved;

void
proctitle_init(int argc, char **argv)
{
	char *end;
	int i;

	if (argc <= 0 || argv[0] == NULL || moved)
		return;
	/* Only the run of strings that lie one after the other is ours to reuse. */
	end = argv[0];
	for (i = 0; i < argc && argv[i] == end; i++)
		end = argv[i] + strlen(argv[i]) + 1;
	title_area = argv[0];
	title_len = (size_t)(end - argv[0]);
	/* Kept reachable here, so a leak checker sees them as in use. */
	moved = xcalloc((size_t)argc + 1, sizeof *moved);
	for (i = 0; i < argc; i++) {
		moved[i] = xstrdup(argv[i]);
		argv[i] = moved[i];
	}
}

void
proctitle_set(const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	size_t n;

	if (title_area == NULL || title_len == 0)
		return;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	/* The last byte stays NUL: the kernel then shows the area as it is. */
	n = sb.len < title_len - 1 ? sb.len : title_len - 1;
	memset(title_area, 0, title_len);
	memcpy(title_area, sb.buf, n);
	strbuf_release(&sb);
}
