/* log: one line per event in scow-sync.log and scow-sync.err (see log.h). */
#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static int log_fd = -1;
static int err_fd = -1;
static int echo_level = LOG_ERROR + 1;   /* nothing echoed by default */
static int64_t log_transfer;

static const char *const level_names[] = { "debug", "info", "warning", "error" };

/* Open name in dir for appending, private to the user. */
static int
open_log(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	free(path);
	return fd;
}

int
log_open(const char *dir)
{
	log_close();
	log_fd = open_log(dir, "scow-sync.log");
	err_fd = open_log(dir, "scow-sync.err");
	if (log_fd < 0 || err_fd < 0) {
		log_close();
		return SYNC_ERR_SYSTEM;
	}
	return SYNC_OK;
}

void
log_close(void)
{
	if (log_fd >= 0)
		close(log_fd);
	if (err_fd >= 0)
		close(err_fd);
	log_fd = err_fd = -1;
}

void
log_set_echo(enum log_level level)
{
	echo_level = (int)level;
}

void
log_set_transfer(int64_t id)
{
	log_transfer = id;
}

/* Write one finished line to every destination its level goes to. */
static void
log_line(enum log_level level, const char *msg)
{
	struct strbuf line = STRBUF_INIT;
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S%z", &tm);
	strbuf_addf(&line, "%s [%lld] %s: %s\n", stamp, (long long)log_transfer,
		    level_names[level], msg);
	if (log_fd >= 0 && level >= LOG_INFO)
		(void)write_all(log_fd, line.buf, line.len);
	if (err_fd >= 0 && level >= LOG_WARN)
		(void)write_all(err_fd, line.buf, line.len);
	if ((int)level >= echo_level || (log_fd < 0 && level >= LOG_WARN)) {
		/* On a terminal the time and id are noise; keep the message. */
		strbuf_reset(&line);
		strbuf_addf(&line, "scow-sync: %s%s%s\n", level >= LOG_WARN ? level_names[level] : "",
			    level >= LOG_WARN ? ": " : "", msg);
		(void)write_all(STDERR_FILENO, line.buf, line.len);
	}
	strbuf_release(&line);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	log_line(level, sb.buf);
	strbuf_release(&sb);
}

void
log_untrusted(enum log_level level, const char *prefix, const char *text, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	size_t n = strlen(prefix);

	/* rsync names itself already ("rsync: ...", "rsync error: ..."). */
	if (len < n || memcmp(text, prefix, n) != 0)
		strbuf_addf(&sb, "%s: ", prefix);
	escape_untrusted(&sb, text, len);
	log_line(level, sb.buf);
	strbuf_release(&sb);
}
