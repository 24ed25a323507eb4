/* saved-watch: watches saved by name, for the systemd user unit (see saved-watch.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "saved-watch.h"
#include "settings.h"

#define SAVED_NAME_MAX 64
#define SAVED_BYTES_MAX (1 << 20)   /* a watch's arguments: never more than this */

char *
saved_watch_path(const struct settings *st, const char *name, char *err, size_t errlen)
{
	const char *p;
	char *dir, *path;

	if (*name == '\0' || *name == '.' || *name == '-' || strlen(name) > SAVED_NAME_MAX) {
		snprintf(err, errlen, "invalid watch name: use up to %d letters, digits, '.', "
			 "'_' or '-', not beginning with '.' or '-'", SAVED_NAME_MAX);
		return NULL;
	}
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-')) {
			snprintf(err, errlen, "invalid watch name: use up to %d letters, digits, "
				 "'.', '_' or '-', not beginning with '.' or '-'", SAVED_NAME_MAX);
			return NULL;
		}
	dir = path_dirname(st->user_file);
	path = xasprintf("%s/watches/%s", dir, name);
	free(dir);
	return path;
}

/* mkdir -p of path's directory, the ones it makes 0700. */
static int
make_parents(const char *path)
{
	char *dir = path_dirname(path);
	int rc = 0;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		if (errno == ENOENT && make_parents(dir) == 0 && mkdir(dir, 0700) == 0)
			rc = 0;
		else
			rc = -1;
	}
	free(dir);
	return rc;
}

int
saved_watch_write(const char *path, char *const *args, size_t n, char *err, size_t errlen)
{
	struct strbuf data = STRBUF_INIT;
	char *tmp = xasprintf("%s.tmp-%ld", path, (long)getpid());
	size_t i;
	int fd = -1, rc = -1;

	for (i = 0; i < n; i++)
		strbuf_add(&data, args[i], strlen(args[i]) + 1);
	if (make_parents(path) < 0 ||
	    (fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
	    write_all(fd, data.buf, data.len) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "cannot save the watch in '%s': %s", path, strerror(errno));
		goto out;
	}
	if (close(fd) < 0 || (fd = -1, rename(tmp, path) < 0)) {
		snprintf(err, errlen, "cannot save the watch in '%s': %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	strbuf_release(&data);
	return rc;
}

/* Read fd to its end into data (at most SAVED_BYTES_MAX). 0, or -1 with errno. */
static int
read_whole(int fd, struct strbuf *data)
{
	char buf[8192];
	ssize_t n;

	while ((n = read(fd, buf, sizeof buf)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (data->len + (size_t)n > SAVED_BYTES_MAX) {
			errno = EFBIG;
			return -1;
		}
		strbuf_add(data, buf, (size_t)n);
	}
	return 0;
}

int
saved_watch_read(const char *path, struct strvec *out, char *err, size_t errlen)
{
	struct strbuf data = STRBUF_INIT;
	size_t at;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "no saved watch '%s': %s", path, strerror(errno));
		return -1;
	}
	if (read_whole(fd, &data) < 0) {
		snprintf(err, errlen, "cannot read the saved watch '%s': %s", path,
			 strerror(errno));
		close(fd);
		strbuf_release(&data);
		return -1;
	}
	close(fd);
	if (data.len == 0 || data.buf[data.len - 1] != '\0') {
		snprintf(err, errlen, "'%s' is not a saved watch", path);
		strbuf_release(&data);
		return -1;
	}
	for (at = 0; at < data.len; at += strlen(data.buf + at) + 1)
		strvec_push(out, data.buf + at);
	strbuf_release(&data);
	return 0;
}
