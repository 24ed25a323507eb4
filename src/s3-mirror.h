/*
 * s3-mirror: which objects a mirror (--delete) to a bucket removes: those
 * under PREFIX/NAME that the source has no entry for. Shared by the
 * transfer's last step (transport-s3.c) and its dry run (cmd-s3-dry-run.c),
 * so that a dry run names what the transfer would delete.
 *
 * Never deleted: what the filters leave out (or is within a directory
 * they leave out: a walk does not look there), what is in a part stopped
 * on request, what cannot be looked at in the source (no deletion on a
 * doubt), and what is beside PREFIX/NAME ("NAMEX/..."). A key no walk of
 * the source makes ("a//b", "a/./b") stands for nothing and goes.
 */
#ifndef SCOW_SYNC_S3_MIRROR_H
#define SCOW_SYNC_S3_MIRROR_H

#include <stdbool.h>

#include "s3-client.h"
#include "s3-target.h"
#include "util.h"

struct filter;

struct s3_mirror_scope {
	const struct s3_target *target;
	const char *source_root;       /* the source's parent directory */
	const char *source_rel;        /* the source's name: paths below the parent start with it */
	const struct filter *filter;   /* the transfer's rules, relative to the source */
	const struct strvec *stopped;  /* parts stopped on request, paths below the parent */
};

/*
 * The path below the source's parent that key stands for ("NAME/a/b"), in
 * out, and whether it is a directory's marker ("dir/"). false when key is
 * not under the target's prefix.
 */
bool s3_mirror_rel(const struct s3_mirror_scope *sc, const char *key, struct strbuf *out,
		   bool *marker);

/* Does the source have what the object of rel (marker: a "dir/") stands for, or is it kept? */
bool s3_mirror_keeps(const struct s3_mirror_scope *sc, const char *rel, bool marker);

/*
 * Append to keys those of the objects under rel (below the source's
 * parent) as a path, its own key and those below "KEY/", that the source
 * lacks. 0, or below 0 when the store could not be listed (why says why).
 */
int s3_mirror_extra(struct s3_client *cl, const struct s3_mirror_scope *sc, const char *rel,
		    struct strvec *keys, struct strbuf *why);

#endif
