/*
 * filter-walk: the filter module from the shell, for
 * tests/integration/filters-match.sh to hold against a real rsync.
 *
 *   filter-walk RULES... walk DIR         the paths below DIR a walker keeps
 *   filter-walk RULES... rsync-rules TOP  filter_rsync_rules() for top TOP
 *   filter-walk RULES... serialized       filter_serialize()
 *
 * RULES are --exclude P, --include P and --exclude-from FILE, in order.
 * Output is NUL-terminated paths (relative to DIR) or rules. A walk goes
 * as a walker does: an excluded directory is not entered, symbolic links
 * are not followed. Exit 2 on a refused rule, 1 on an unreadable entry.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "filter.h"

static int
walk(const struct filter *f, const char *root, const char *rel)
{
	char *dir = *rel ? xasprintf("%s/%s", root, rel) : xstrdup(root);
	DIR *d = opendir(dir);
	struct dirent *de;
	int ret = 0;

	if (!d) {
		fprintf(stderr, "filter-walk: cannot open '%s': %s\n", dir, strerror(errno));
		free(dir);
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		char *path, *child;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		child = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		if (lstat(path, &st) < 0) {
			fprintf(stderr, "filter-walk: cannot stat '%s': %s\n", path,
				strerror(errno));
			ret = 1;
		} else if (!filter_excluded(f, child, S_ISDIR(st.st_mode))) {
			fwrite(child, 1, strlen(child) + 1, stdout);
			if (S_ISDIR(st.st_mode) && walk(f, root, child) != 0)
				ret = 1;
		}
		free(path);
		free(child);
	}
	closedir(d);
	free(dir);
	return ret;
}

int
main(int argc, char **argv)
{
	struct filter f = { 0 };
	struct strbuf out = STRBUF_INIT;
	char err[512];
	int i, ret = 0;

	for (i = 1; i + 1 < argc; i += 2) {
		int r;

		if (strcmp(argv[i], "--exclude") == 0 || strcmp(argv[i], "--include") == 0)
			r = filter_add(&f, argv[i][2] == 'i', argv[i + 1], err, sizeof(err));
		else if (strcmp(argv[i], "--exclude-from") == 0)
			r = filter_add_file(&f, argv[i + 1], err, sizeof(err));
		else
			break;
		if (r < 0) {
			fprintf(stderr, "filter-walk: %s\n", err);
			filter_release(&f);
			return 2;
		}
	}
	if (i + 2 == argc && strcmp(argv[i], "walk") == 0) {
		ret = walk(&f, argv[i + 1], "");
	} else if (i + 2 == argc && strcmp(argv[i], "rsync-rules") == 0) {
		filter_rsync_rules(&f, argv[i + 1], &out);
	} else if (i + 1 == argc && strcmp(argv[i], "serialized") == 0) {
		filter_serialize(&f, &out);
	} else {
		fprintf(stderr, "usage: filter-walk [--exclude P | --include P | "
			"--exclude-from FILE]... walk DIR | rsync-rules TOP | serialized\n");
		ret = 2;
	}
	fwrite(out.buf, 1, out.len, stdout);
	strbuf_release(&out);
	filter_release(&f);
	if (fflush(stdout) != 0 || ferror(stdout))
		ret = 1;
	return ret;
}
