/*
 * fuzz.h: what the fuzz targets share.
 *
 * Each tests/fuzz/fuzz-NAME.c defines LLVMFuzzerTestOneInput() for one
 * family of parsers of outside bytes. Built with clang's -fsanitize=fuzzer
 * (make fuzz) it is a libFuzzer program; linked with replay.c by the normal
 * compiler it runs the kept corpus once (make check).
 *
 * A target must be deterministic, must not touch the network or the
 * user's store, and must free everything it allocates. FUZZ_CHECK states a
 * property the code promises; a broken one aborts, which both drivers
 * report as a crash with the input that did it.
 */
#ifndef SCOW_SYNC_FUZZ_H
#define SCOW_SYNC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                      \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "%s:%d: property broken: %s\n",       \
				__FILE__, __LINE__, #cond);                   \
			abort();                                              \
		}                                                             \
	} while (0)

/* A reader over the input; reading past its end gives zeros and empty strings. */
struct fuzz_input {
	const uint8_t *p;
	size_t left;
};

static inline uint8_t
fuzz_byte(struct fuzz_input *in)
{
	if (in->left == 0)
		return 0;
	in->left--;
	return *in->p++;
}

static inline uint64_t
fuzz_u64(struct fuzz_input *in)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | fuzz_byte(in);
	return v;
}

/* The bytes up to the next NUL (or the end), as a new string; caller frees. */
static inline char *
fuzz_string(struct fuzz_input *in)
{
	const uint8_t *nul = memchr(in->p, '\0', in->left);
	size_t n = nul ? (size_t)(nul - in->p) : in->left;
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, in->p, n);
	s[n] = '\0';
	in->p += n + (nul != NULL);
	in->left -= n + (nul != NULL);
	return s;
}

/* Read every byte of [p, p + n) so that the sanitizers see any bad range. */
static inline void
fuzz_touch(const void *p, size_t n)
{
	const unsigned char *c = p;
	unsigned sum = 0;

	while (n--)
		sum += *c++;
	/* Keep the compiler from dropping the reads. */
	__asm__ volatile("" : : "r"(sum));
}

/* No byte of s[0..len) is a C0 control or DEL: safe on a terminal and in a log line. */
static inline int
fuzz_no_controls(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

#endif
