/*
 * operands: the form rsync and scp users type,
 *
 *     scow-sync run [FLAG...] SOURCE... [USER@]HOST:DEST
 *
 * turned into the flags' form (-a HOST [-u USER] -d DEST -s SOURCE), one
 * argv for each SOURCE, each landing as DEST/basename(SOURCE) as with -s.
 * The flags (-a, -u, -s, -d) stay as they are for the portal; a request
 * gives its places one way or the other, not both.
 *
 * An operand is remote when a ':' comes before any '/' (rsync's rule): a
 * local name with a ':' in it is written "./a:b". An IPv6 address goes in
 * brackets, "[::1]:DEST". "HOST:" alone is the far side's home directory.
 */
#ifndef SCOW_SYNC_OPERANDS_H
#define SCOW_SYNC_OPERANDS_H

#include <stdbool.h>
#include <stddef.h>

#include "cmd-options.h"
#include "util.h"

/* A remote operand split: each part owned, user NULL when not given. */
struct remote_operand {
	char *user;
	char *host;
	char *path;
};

/*
 * Split arg when it names a place on a host: 1 (and *out filled; release
 * with remote_operand_release), 0 when it is a local path, -1 with a
 * message in err when it is remote but malformed (no host, "[" unclosed).
 */
int remote_operand_parse(const char *arg, struct remote_operand *out, char *err,
			 size_t errlen);
void remote_operand_release(struct remote_operand *op);

/*
 * Read argv (argv[0] the command name) with the option table flags. With
 * no operands: 0 and *n = 0, argv is to be used as it is. With operands:
 * 0 and *out holds *n argv vectors (caller frees each with strvec_clear
 * and the array with free), one per source, in the flags' form, the
 * other flags kept in their order. -1 with a one-line message in err for
 * operands that make no request (one alone, no host in the last, a
 * local destination, a pull, operands beside -a, -s or -d). Unknown
 * options are left for the caller's own parse to name.
 */
int operands_expand(int argc, char **argv, const struct cmd_option *flags,
		    struct strvec **out, size_t *n, char *err, size_t errlen);

#endif
