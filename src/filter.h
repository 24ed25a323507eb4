/*
 * filter: --exclude, --include and --exclude-from, matched as rsync 3.x
 * matches them.
 *
 * The rules are relative to the source itself, as for
 * `rsync -a SOURCE/ DEST/`: "/tmp" is SOURCE/tmp, "*.o" any name ending
 * in .o at any depth. The first rule that matches a path decides; a path no
 * rule matches is included. An excluded directory is not descended into,
 * so a walker asks only about paths whose parents are all included.
 *
 * Two views of the same rules must agree with rsync exactly: our own walker
 * asks filter_excluded(), and rsync, whose transfer root is the source's
 * parent, gets filter_rsync_rules() for what it sends whole and deletes.
 * tests/integration/filters-match.sh compares both with a real rsync.
 *
 * Pure: no I/O but filter_add_file()'s reading of its file.
 */
#ifndef SCOW_SYNC_FILTER_H
#define SCOW_SYNC_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct filter_rule;

/* Zeroed or filter_init()ed: no rules. */
struct filter {
	struct filter_rule *rules;
	size_t nr, alloc;
};

void filter_init(struct filter *f);
void filter_release(struct filter *f);
bool filter_empty(const struct filter *f);

/*
 * Add one --include (include true) or --exclude PATTERN after the rules
 * there are. As with rsync's options, a leading "+ " or "- " makes it an
 * include or an exclude whichever option gave it. 0, or -1 with a
 * one-line reason in err: an empty pattern, rsync's "!" (which clears the
 * rules), or one longer than rsync takes.
 */
int filter_add(struct filter *f, bool include, const char *pattern, char *err, size_t errlen);
/*
 * Add the rules of an --exclude-from file, as rsync reads one: a rule a
 * line (a line ends at LF, CR or CRLF), blank lines and lines beginning
 * with ';' or '#' skipped, "+ " and "- " prefixes, every other line an
 * exclude, trailing spaces part of the pattern. 0, or -1 with a one-line
 * reason naming the file in err (it cannot be read, or a rule is refused
 * as by filter_add(); then none of its rules are added). "-" (standard
 * input) is refused.
 */
int filter_add_file(struct filter *f, const char *path, char *err, size_t errlen);

/*
 * Is relpath excluded? relpath is relative to the source ("a", "a/b/c"):
 * not empty, no leading or trailing '/'. is_dir: whether it is a directory
 * (a symbolic link is not, wherever it points).
 */
bool filter_excluded(const struct filter *f, const char *relpath, bool is_dir);

/*
 * Append the rules for an rsync whose transfer root is the source's parent,
 * where the source is the directory top (its basename: any bytes but '/'
 * and NUL) and paths are "top/a/b": rsync's decision on "top/rel" is
 * filter_excluded(rel), and top itself is never excluded. Each rule is
 * NUL-terminated, "+ PATTERN" or "- PATTERN", for rsync's
 * --from0 --exclude-from=FILE. Nothing when f has no rules.
 */
void filter_rsync_rules(const struct filter *f, const char *top, struct strbuf *out);

/*
 * The rules as one string to store with a transfer: each "+ PATTERN" or
 * "- PATTERN" and a NUL. filter_deserialize() adds the rules of such a
 * string (len bytes, the last NUL optional) to f: 0, or SYNC_ERR_INVALID
 * (and f as it was) when it is not one.
 */
void filter_serialize(const struct filter *f, struct strbuf *out);
int filter_deserialize(struct filter *f, const char *buf, size_t len);

#endif
