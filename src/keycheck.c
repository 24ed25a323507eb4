/* keycheck: will ssh be able to use this key, unattended? */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "keycheck.h"
#include "spawn.h"
#include "util.h"

#define KEYS_CHECKED "keys-checked"     /* in the state directory */
#define KEYS_CHECKED_MAX 16             /* lines kept */
#define KEYS_CHECKED_READ_MAX 65536     /* bytes read of it at most */
#define KEY_SETTLED 2.0                 /* seconds since a key's last change */

/*
 * What ssh-keygen's verdict on a key stands on, as one line: the key
 * file's version (device, inode, size, change time, mode, owner), who
 * asked (ssh refuses a key of ours that others can read), and the
 * ssh-keygen that gave it (device, inode, size, change time). Any write
 * or chmod of the key changes its change time; an upgrade replaces
 * ssh-keygen. *settled: the key's last change is old enough that a later
 * one cannot share its change time (a clock's granularity; git calls such
 * entries "racy").
 */
static int
key_identity(const char *key, const char *keygen, struct strbuf *line, bool *settled)
{
	struct stat k, g;
	struct timespec now;
	int fd;

	/*
	 * Opened, not only named: on NFS an open revalidates the attributes
	 * that a stat answers from its cache.
	 */
	if ((fd = open(key, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &k) < 0 || stat(keygen, &g) < 0 || clock_gettime(CLOCK_REALTIME, &now) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	strbuf_addf(line, "key %llu %llu %lld %lld.%09ld %o %u for %u ssh-keygen %llu %llu %lld "
		    "%lld.%09ld",
		    (unsigned long long)k.st_dev, (unsigned long long)k.st_ino,
		    (long long)k.st_size, (long long)k.st_ctim.tv_sec, k.st_ctim.tv_nsec,
		    (unsigned)k.st_mode, (unsigned)k.st_uid, (unsigned)getuid(),
		    (unsigned long long)g.st_dev, (unsigned long long)g.st_ino,
		    (long long)g.st_size, (long long)g.st_ctim.tv_sec, g.st_ctim.tv_nsec);
	*settled = S_ISREG(k.st_mode) &&
		   (double)(now.tv_sec - k.st_ctim.tv_sec) +
		   (double)(now.tv_nsec - k.st_ctim.tv_nsec) / 1e9 >= KEY_SETTLED;
	return 0;
}

/* The lines of state_dir's list of keys checked (empty when there is none). */
static void
keys_checked_read(const char *state_dir, struct strbuf *out)
{
	char *path = xasprintf("%s/" KEYS_CHECKED, state_dir);
	char buf[4096];
	struct stat sb;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	free(path);
	if (fd < 0)
		return;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return;
	}
	while (out->len < KEYS_CHECKED_READ_MAX &&
	       ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)))
		if (n > 0)
			strbuf_add(out, buf, (size_t)n);
	close(fd);
}

/* Is line one of the lines (whole, not a part of one)? */
static bool
has_line(const struct strbuf *lines, const char *line)
{
	size_t len = strlen(line);
	const char *p = lines->buf;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == lines->buf || p[-1] == '\n') && p[len] == '\n')
			return true;
		p += len;
	}
	return false;
}

/* Add line to the list, keeping the newest KEYS_CHECKED_MAX; best effort. */
static void
keys_checked_add(const char *state_dir, const struct strbuf *old, const char *line)
{
	char *path = xasprintf("%s/" KEYS_CHECKED, state_dir);
	char *tmp = xasprintf("%s.%ld", path, (long)getpid());
	struct strbuf out = STRBUF_INIT;
	const char *p = old->buf, *end = old->buf + old->len;
	size_t kept = 0, total = 0;
	int fd;

	for (const char *q = p; q < end; q++)
		total += *q == '\n';
	/* The oldest lines go first, to leave room for this one. */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			break;
		if (total - kept < KEYS_CHECKED_MAX)
			strbuf_add(&out, p, (size_t)(nl + 1 - p));
		kept++;
		p = nl + 1;
	}
	strbuf_addf(&out, "%s\n", line);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)   /* left by one killed */
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		bool ok = write_all(fd, out.buf, out.len) == 0;

		if (close(fd) < 0 || !ok || rename(tmp, path) < 0)
			unlink(tmp);
	}
	strbuf_release(&out);
	free(tmp);
	free(path);
}

int
keycheck_loads(const char *key, const char *state_dir, char *err, size_t errlen)
{
	char *keygen = spawn_resolve("ssh-keygen");
	const char *argv[] = { keygen, "-y", "-P", "", "-f", key, NULL };
	struct strbuf out = STRBUF_INIT, esc = STRBUF_INIT, id = STRBUF_INIT, known = STRBUF_INIT;
	bool settled = false, have_id;
	int status = 0;

	if (keygen == NULL)
		return 0;   /* no ssh-keygen: the transfer will say what is wrong */
	have_id = key_identity(key, keygen, &id, &settled) == 0;
	if (have_id) {
		keys_checked_read(state_dir, &known);
		if (has_line(&known, id.buf)) {
			strbuf_release(&known);
			strbuf_release(&id);
			free(keygen);
			return 0;
		}
	}
	if (spawn_run(argv, &status, &out) < 0) {
		strbuf_release(&known);
		strbuf_release(&id);
		free(keygen);
		return 0;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		struct strbuf after = STRBUF_INIT;
		bool still = false;

		/* Noted only if what it read is what was identified before. */
		if (have_id && settled && key_identity(key, keygen, &after, &still) == 0 &&
		    strcmp(after.buf, id.buf) == 0)
			keys_checked_add(state_dir, &known, id.buf);
		strbuf_release(&after);
		free(keygen);
		strbuf_release(&known);
		strbuf_release(&id);
		strbuf_release(&out);
		return 0;
	}
	free(keygen);
	strbuf_release(&known);
	strbuf_release(&id);
	strbuf_trim_eol(&out);
	/* Its last line is the reason ("Load key ...: bad permissions"). */
	{
		const char *last = strrchr(out.buf, '\n');

		last = last ? last + 1 : out.buf;
		escape_untrusted(&esc, last, strlen(last));
	}
	if (strstr(out.buf, "passphrase") || strstr(out.buf, "incorrect"))
		snprintf(err, errlen, "cannot use key '%s': it is protected by a passphrase", key);
	else
		snprintf(err, errlen, "cannot use key '%s': %s", key,
			 esc.len ? esc.buf : "ssh-keygen cannot load it");
	strbuf_release(&out);
	strbuf_release(&esc);
	return -1;
}
