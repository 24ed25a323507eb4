/* shown-path: the file a name shown by display_path() stands for (see shown-path.h). */
#include "config.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "format.h"
#include "shown-path.h"

#define REPLACEMENT "\xef\xbf\xbd"   /* U+FFFD */

/* The one entry of dir shown as name: SYNC_OK and *found, or why not. */
static int
entry_shown_as(const char *dir, const char *name, char **found)
{
	struct strbuf sb = STRBUF_INIT;
	struct dirent *de;
	DIR *d = opendir(dir);
	int rc = SYNC_ERR_NOT_FOUND;

	if (d == NULL)
		return SYNC_ERR_NOT_FOUND;
	while ((de = readdir(d)) != NULL) {
		strbuf_reset(&sb);
		display_path(&sb, de->d_name);
		if (strcmp(sb.buf, name) != 0)
			continue;
		if (rc == SYNC_OK) {
			free(*found);
			rc = SYNC_ERR_AMBIGUOUS;
			break;
		}
		*found = xstrdup(de->d_name);
		rc = SYNC_OK;
	}
	closedir(d);
	strbuf_release(&sb);
	return rc;
}

int
path_from_shown(const char *shown, char **out)
{
	struct strbuf path = STRBUF_INIT, comp = STRBUF_INIT;
	const char *p = shown, *q;
	struct stat sb;
	int rc = SYNC_OK;

	if (*shown != '/')
		return SYNC_ERR_INVALID;
	strbuf_addch(&path, '/');
	while (*p) {
		size_t at = path.len;
		char *found = NULL;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		q = strchr(p, '/');
		if (q == NULL)
			q = p + strlen(p);
		strbuf_reset(&comp);
		strbuf_add(&comp, p, (size_t)(q - p));
		p = q;
		if (at > 1)
			strbuf_addch(&path, '/');
		strbuf_addstr(&path, comp.buf);
		/* A name as it is wins; only a shown one is looked for. */
		if (strstr(comp.buf, REPLACEMENT) == NULL || lstat(path.buf, &sb) == 0)
			continue;
		strbuf_setlen(&path, at);
		if ((rc = entry_shown_as(path.buf, comp.buf, &found)) < 0)
			break;
		if (at > 1)
			strbuf_addch(&path, '/');
		strbuf_addstr(&path, found);
		free(found);
	}
	strbuf_release(&comp);
	if (rc < 0) {
		strbuf_release(&path);
		return rc;
	}
	*out = strbuf_detach(&path, NULL);
	return SYNC_OK;
}
