/* mirror-guard: may a mirror's deletes go (see mirror-guard.h)? */
#include "config.h"

#include <dirent.h>
#include <string.h>

#include "mirror-guard.h"

enum mirror_verdict
mirror_guard(unsigned long long n, bool source_empty, bool delete_all_ok, long long max)
{
	if (n == 0)
		return MIRROR_GO;
	if (source_empty && !delete_all_ok)
		return MIRROR_STOP_EMPTY;
	if (max >= 0 && n > (unsigned long long)max)
		return MIRROR_STOP_LIMIT;
	return MIRROR_GO;
}

void
mirror_stop_reason(struct strbuf *out, enum mirror_verdict verdict, unsigned long long n,
		   long long max)
{
	const char *entries = n == 1 ? "entry" : "entries";

	switch (verdict) {
	case MIRROR_STOP_EMPTY:
		strbuf_addf(out, "the source is empty and the far side has %llu %s it lacks: "
			    "nothing deleted (an unmounted file system?); --delete-all-ok "
			    "deletes them", n, entries);
		break;
	case MIRROR_STOP_LIMIT:
		strbuf_addf(out, "%llu %s to delete, more than the limit of %lld (--max-delete, "
			    "max_delete): nothing deleted", n, entries, max);
		break;
	case MIRROR_GO:
		break;
	}
}

bool
mirror_source_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	bool empty = true;

	if (d == NULL)
		return true;
	while (empty && (de = readdir(d)) != NULL)
		empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
	closedir(d);
	return empty;
}
