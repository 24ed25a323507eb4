/* log: one line per event in scow-sync.log and scow-sync.err (see log.h). */
#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "log.h"
#include "util.h"

/* One of the two logs: its path, and the descriptor this process writes. */
struct log_file {
	char *path;
	int fd;
};

/*
 * The first lines of the current transfer, written again at the top of a
 * log that rotation has begun since they were written: the start of a
 * long transfer stays findable as long as its last line is.
 */
struct log_head {
	struct strbuf lines;   /* each as written, LOG_CARRIED_MARK added */
	int n;
	dev_t dev;             /* the log they are in */
	ino_t ino;
};

static struct log_file log_all = { NULL, -1 };
static struct log_file log_err = { NULL, -1 };
static char *lock_path;
static uint64_t rotate_bytes = LOG_ROTATE_BYTES;
static int echo_level = LOG_ERROR + 1;   /* nothing echoed by default */
static int file_level = LOG_INFO;
static int64_t log_transfer;
static struct log_head head = { STRBUF_INIT, 0, 0, 0 };

static const char *const level_names[] = { "debug", "info", "warning", "error" };

/* Open the log for appending, private to the user (one made by an older version too). */
static int
open_log(struct log_file *lf)
{
	lf->fd = open(lf->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lf->fd >= 0)
		(void)fchmod(lf->fd, 0600);
	return lf->fd;
}

/* Make the rotated files of path private: an older version left them open to others. */
static void
make_rotated_private(const char *path)
{
	int i;

	for (i = 1; i <= LOG_ROTATE_KEEP; i++) {
		char *name = xasprintf("%s.%d", path, i);
		int fd = open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		struct stat sb;

		if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 077))
			(void)fchmod(fd, 0600);
		if (fd >= 0)
			close(fd);
		free(name);
	}
}

int
log_open(const char *dir)
{
	log_close();
	log_all.path = xasprintf("%s/scow-sync.log", dir);
	log_err.path = xasprintf("%s/scow-sync.err", dir);
	lock_path = xasprintf("%s/scow-sync.log.lock", dir);
	if (open_log(&log_all) < 0 || open_log(&log_err) < 0) {
		log_close();
		return SYNC_ERR_SYSTEM;
	}
	make_rotated_private(log_all.path);
	make_rotated_private(log_err.path);
	return SYNC_OK;
}

static void
close_log(struct log_file *lf)
{
	if (lf->fd >= 0)
		close(lf->fd);
	lf->fd = -1;
	free(lf->path);
	lf->path = NULL;
}

void
log_close(void)
{
	close_log(&log_all);
	close_log(&log_err);
	free(lock_path);
	lock_path = NULL;
}

void
log_reopen(void)
{
	log_all.fd = log_err.fd = -1;
	if (log_all.path)
		(void)open_log(&log_all);
	if (log_err.path)
		(void)open_log(&log_err);
}

void
log_set_rotate_bytes(uint64_t bytes)
{
	rotate_bytes = bytes;
}

/*
 * Keep a log within rotate_bytes: when it has grown past that, it becomes
 * NAME.1 (NAME.1 becomes NAME.2, and so on; the oldest goes) and a new one
 * starts. Many processes append to one log, so the shift happens under a
 * lock, only by the first to see the file too big; the others notice that
 * the name now holds another file, and reopen it.
 */
static void
keep_log_small(struct log_file *lf)
{
	struct stat fd_st, path_st;
	int lock, i;

	if (lf->fd < 0 || rotate_bytes == 0 || fstat(lf->fd, &fd_st) < 0)
		return;
	if (stat(lf->path, &path_st) == 0 &&
	    (path_st.st_ino != fd_st.st_ino || path_st.st_dev != fd_st.st_dev)) {
		/* Rotated by another process: follow the name. */
		close(lf->fd);
		open_log(lf);
		if (lf->fd < 0 || fstat(lf->fd, &fd_st) < 0)
			return;
	}
	if ((uint64_t)fd_st.st_size < rotate_bytes)
		return;
	lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lock < 0)
		return;
	if (flock(lock, LOCK_EX) == 0 && stat(lf->path, &path_st) == 0 &&
	    path_st.st_ino == fd_st.st_ino && (uint64_t)path_st.st_size >= rotate_bytes) {
		for (i = LOG_ROTATE_KEEP - 1; i >= 1; i--) {
			char *from = xasprintf("%s.%d", lf->path, i);
			char *to = xasprintf("%s.%d", lf->path, i + 1);

			(void)rename(from, to);
			free(from);
			free(to);
		}
		{
			char *to = xasprintf("%s.1", lf->path);

			(void)rename(lf->path, to);
			free(to);
		}
	}
	close(lock);   /* and its lock */
	close(lf->fd);
	open_log(lf);
}

void
log_set_echo(enum log_level level)
{
	echo_level = (int)level;
}

void
log_set_file_level(enum log_level level)
{
	file_level = (int)level;
}

void
log_set_transfer(int64_t id)
{
	if (id != log_transfer) {
		strbuf_reset(&head.lines);
		head.n = 0;
	}
	log_transfer = id;
}

/*
 * Write whole lines to the log of every event, first the transfer's first
 * lines again when this log was begun after they were written (rotation).
 */
static void
write_all_log_lines(const char *buf, size_t len)
{
	struct stat sb;

	keep_log_small(&log_all);
	if (log_all.fd < 0 || fstat(log_all.fd, &sb) < 0)
		return;
	if (head.n > 0 && (sb.st_dev != head.dev || sb.st_ino != head.ino))
		(void)write_all(log_all.fd, head.lines.buf, head.lines.len);
	head.dev = sb.st_dev;
	head.ino = sb.st_ino;
	(void)write_all(log_all.fd, buf, len);
}

/* Is a line at level one of the transfer's first, to be kept (log_set_transfer)? */
static bool
head_wants(enum log_level level)
{
	return log_transfer != 0 && level >= LOG_INFO && head.n < LOG_HEAD_LINES;
}

/* Write line to the log of every event, and keep it when it is one of the first. */
static void
write_all_log(const struct strbuf *line, enum log_level level, size_t prefix_len)
{
	write_all_log_lines(line->buf, line->len);
	if (log_all.fd >= 0 && head_wants(level)) {
		strbuf_add(&head.lines, line->buf, prefix_len);
		strbuf_addstr(&head.lines, LOG_CARRIED_MARK);
		strbuf_add(&head.lines, line->buf + prefix_len, line->len - prefix_len);
		head.n++;
	}
}

/* Append msg's line at level to line, as the logs have it; its prefix's length in *prefix_len. */
static void
format_line(struct strbuf *line, enum log_level level, const char *msg, size_t *prefix_len)
{
	char stamp[32];
	time_t now = time(NULL);
	size_t start = line->len;
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S%z", &tm);
	strbuf_addf(line, "%s [%lld] %s: ", stamp, (long long)log_transfer,
		    level_names[level]);
	*prefix_len = line->len - start;
	/* A name that slipped in raw still cannot make a line of its own. */
	escape_line(line, msg, strlen(msg));
	strbuf_addch(line, '\n');
}

/* Write one finished line to every destination its level goes to. */
static void
log_line(enum log_level level, const char *msg)
{
	struct strbuf line = STRBUF_INIT;
	size_t prefix_len;

	format_line(&line, level, msg, &prefix_len);
	if (log_all.fd >= 0 && (int)level >= file_level)
		write_all_log(&line, level, prefix_len);
	if (log_err.fd >= 0 && level >= LOG_WARN) {
		keep_log_small(&log_err);
		(void)write_all(log_err.fd, line.buf, line.len);
	}
	if ((int)level >= echo_level || (log_all.fd < 0 && level >= LOG_WARN)) {
		/* On a terminal the time and id are noise; keep the message. */
		strbuf_reset(&line);
		strbuf_addf(&line, "scow-sync: %s%s", level >= LOG_WARN ? level_names[level] : "",
			    level >= LOG_WARN ? ": " : "");
		escape_line(&line, msg, strlen(msg));
		strbuf_addch(&line, '\n');
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
log_many(enum log_level level, const char *const *msgs, size_t n)
{
	struct strbuf batch = STRBUF_INIT;
	size_t i, prefix_len;

	/* Where lines go elsewhere too (the error log, the terminal), or nowhere: one by one. */
	if (log_all.fd < 0 || (int)level < file_level || level >= LOG_WARN ||
	    (int)level >= echo_level) {
		for (i = 0; i < n; i++)
			log_line(level, msgs[i]);
		return;
	}
	for (i = 0; i < n; i++) {
		/* One of the transfer's first lines: kept, so on its own. */
		if (head_wants(level)) {
			if (batch.len)
				write_all_log_lines(batch.buf, batch.len);
			strbuf_reset(&batch);
			log_line(level, msgs[i]);
			continue;
		}
		format_line(&batch, level, msgs[i], &prefix_len);
		if (batch.len >= LOG_BATCH_BYTES) {
			write_all_log_lines(batch.buf, batch.len);
			strbuf_reset(&batch);
		}
	}
	if (batch.len)
		write_all_log_lines(batch.buf, batch.len);
	strbuf_release(&batch);
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
