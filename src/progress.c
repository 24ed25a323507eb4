/* progress: the foreground's progress line on a terminal (see progress.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "format.h"
#include "progress.h"

void
progress_line_init(struct progress_line *pl, int fd)
{
	const char *term = getenv("TERM");
	const char *no_color = getenv("NO_COLOR");

	memset(pl, 0, sizeof *pl);
	pl->fd = fd;
	pl->tty = isatty(fd) == 1;
	pl->plain = (no_color && no_color[0]) || (term && strcmp(term, "dumb") == 0);
	pl->width = 80;
}

/* The parts of the line, from the first to go when it is narrow to the last. */
enum { PART_FILE = 1, PART_FILES = 2, PART_TOTAL = 4, PART_LEFT = 8, PART_RATE = 16 };

static void
format_parts(struct strbuf *out, const struct progress_view *v, unsigned parts)
{
	int percent = 0;

	if (v->bytes_total > 0) {
		uint64_t p = v->bytes * 100 / v->bytes_total;

		percent = p > 99 ? 99 : (int)p;   /* 100% once it is done */
	}
	strbuf_addf(out, "%3d%% ", percent);
	fmt_bytes_human(out, v->bytes);
	if (parts & PART_TOTAL) {
		strbuf_addstr(out, " of ");
		fmt_bytes_human(out, v->bytes_total);
	}
	if (parts & PART_RATE) {
		strbuf_addstr(out, ", ");
		fmt_bytes_human(out, (uint64_t)(v->rate > 0 ? v->rate : 0));
		strbuf_addstr(out, "/s");
	}
	if (parts & PART_LEFT) {
		strbuf_addstr(out, ", ");
		if (v->rate > 0 && v->bytes_total >= v->bytes)
			fmt_hms(out, (int64_t)((double)(v->bytes_total - v->bytes) / v->rate));
		else
			strbuf_addstr(out, "-:--:--");
		strbuf_addstr(out, " left");
	}
	if (parts & PART_FILES)
		strbuf_addf(out, ", %llu/%llu files", (unsigned long long)v->files,
			    (unsigned long long)v->files_total);
}

void
progress_line_format(struct strbuf *out, const struct progress_view *v, int width)
{
	static const unsigned tries[] = {
		PART_FILES | PART_TOTAL | PART_LEFT | PART_RATE,
		PART_TOTAL | PART_LEFT | PART_RATE,
		PART_LEFT | PART_RATE,
		PART_RATE,
		0,
	};
	struct strbuf line = STRBUF_INIT;
	size_t i;

	/* The most that fits in width: the parts first, then the name in what is left. */
	for (i = 0; i < sizeof tries / sizeof tries[0]; i++) {
		strbuf_reset(&line);
		format_parts(&line, v, tries[i]);
		if ((int)line.len <= width || tries[i] == 0)
			break;
	}
	if (v->file && i == 0) {
		int room = width - (int)line.len - 1;

		/* The end of a long name is the part that changes: keep it. */
		if (room >= 8) {
			struct strbuf shown = STRBUF_INIT, name = STRBUF_INIT;

			display_path(&shown, v->file);
			escape_untrusted(&name, shown.buf, shown.len);
			strbuf_addch(&line, ' ');
			add_fitted(&line, name.buf, room, KEEP_ENDS);
			strbuf_release(&shown);
			strbuf_release(&name);
		}
	}
	/* ASCII here: a cut is safe */
	if ((int)line.len > width)
		strbuf_setlen(&line, width > 0 ? (size_t)width : 0);
	strbuf_addstr(out, line.buf);
	strbuf_release(&line);
}

void
progress_line_draw(struct progress_line *pl, const struct progress_view *v)
{
	struct strbuf sb = STRBUF_INIT;
	double now = now_monotonic();
	size_t cols;

	struct winsize ws;

	if (!pl->tty || now - pl->last_draw < 0.2)
		return;
	pl->last_draw = now;
	/* Asked every time: the terminal may have been resized. */
	if (ioctl(pl->fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		pl->width = ws.ws_col;
	strbuf_addch(&sb, '\r');
	progress_line_format(&sb, v, pl->width - 1);
	if (pl->plain) {
		/* Cover what is left of a longer line drawn before. */
		cols = text_columns(sb.buf + 1);
		if (cols < pl->last_len)
			strbuf_addf(&sb, "%*s", (int)(pl->last_len - cols), "");
		pl->last_len = cols;
	} else {
		strbuf_addstr(&sb, "\033[K");
	}
	(void)write_all(STDERR_FILENO, sb.buf, sb.len);
	strbuf_release(&sb);
}

void
progress_line_clear(struct progress_line *pl)
{
	struct strbuf sb = STRBUF_INIT;

	if (!pl->tty || pl->last_draw == 0)
		return;
	if (pl->plain) {
		strbuf_addf(&sb, "\r%*s\r", (int)pl->last_len, "");
		(void)write_all(STDERR_FILENO, sb.buf, sb.len);
	} else {
		(void)write_all(STDERR_FILENO, "\r\033[K", 4);
	}
	pl->last_len = 0;
	strbuf_release(&sb);
}
