/*
 * unit.h: the few macros the unit tests share.
 *
 * Each CHECK prints nothing when it holds and one "FAIL file:line: ..."
 * line when it does not; unit_done() prints the count and returns the
 * exit status for main (0 only when every check held and at least one ran).
 */
#ifndef SCOW_SYNC_UNIT_H
#define SCOW_SYNC_UNIT_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_checks, unit_failures;

#define CHECK(cond)                                                           \
	do {                                                                  \
		unit_checks++;                                                \
		if (!(cond)) {                                                \
			unit_failures++;                                      \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__,         \
				__LINE__, #cond);                             \
		}                                                             \
	} while (0)

#define CHECK_INT(got, want)                                                  \
	do {                                                                  \
		long long g_ = (long long)(got), w_ = (long long)(want);      \
		unit_checks++;                                                \
		if (g_ != w_) {                                               \
			unit_failures++;                                      \
			fprintf(stderr, "FAIL %s:%d: %s is %lld, want %lld\n",\
				__FILE__, __LINE__, #got, g_, w_);            \
		}                                                             \
	} while (0)

#define CHECK_STR(got, want)                                                  \
	do {                                                                  \
		const char *g_ = (got), *w_ = (want);                         \
		unit_checks++;                                                \
		if (g_ == NULL || w_ == NULL ? g_ != w_ : strcmp(g_, w_)) {   \
			unit_failures++;                                      \
			fprintf(stderr, "FAIL %s:%d: %s is \"%s\", want \"%s\"\n", \
				__FILE__, __LINE__, #got, g_ ? g_ : "(null)", \
				w_ ? w_ : "(null)");                          \
		}                                                             \
	} while (0)

static inline int
unit_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, unit_checks, unit_failures);
	return unit_failures == 0 && unit_checks > 0 ? 0 : 1;
}

#endif
