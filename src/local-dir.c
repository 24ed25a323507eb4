/* local-dir: directories below a root, never through a link (local-dir.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "local-dir.h"
#include "util.h"

#define LOCAL_DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

int
local_dir_open(const char *root, const char *rel, bool make, mode_t mode)
{
	struct strbuf elem = STRBUF_INIT;
	const char *p = rel;
	int fd, next;

	if ((fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
			close(fd);
			strbuf_release(&elem);
			errno = EINVAL;
			return -1;
		}
		strbuf_reset(&elem);
		strbuf_add(&elem, p, n);
		next = openat(fd, elem.buf, LOCAL_DIR_FLAGS);
		if (next < 0 && errno == ENOENT && make &&
		    (mkdirat(fd, elem.buf, mode) == 0 || errno == EEXIST))
			next = openat(fd, elem.buf, LOCAL_DIR_FLAGS);
		if (next < 0) {
			int err = errno;
			struct stat sb;

			/* A link says ENOTDIR or ELOOP by kernel and flags: one word for it. */
			if (fstatat(fd, elem.buf, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(sb.st_mode))
				err = ELOOP;
			close(fd);
			strbuf_release(&elem);
			errno = err;
			return -1;
		}
		close(fd);
		fd = next;
		p += n;
		if (*p == '/')
			p++;
	}
	strbuf_release(&elem);
	return fd;
}
