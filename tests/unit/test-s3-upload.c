/* Unit tests for s3-upload's arithmetic: when a file goes in parts, and how big they are. */
#include "config.h"

#include "../../src/s3-upload.h"
#include "unit.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

static void
test_in_parts(void)
{
	static const struct {
		uint64_t size, from;
		bool parts;
	} rows[] = {
		{ 0, 16 * MIB, false },
		{ 16 * MIB - 1, 16 * MIB, false },
		{ 16 * MIB, 16 * MIB, true },
		/* No bigger than one part: a PUT, whatever the threshold. */
		{ 8 * MIB, 1, false },
		{ 8 * MIB + 1, 1, true },
		/* Over what one PUT may carry: parts, whatever the threshold. */
		{ 5 * GIB, 1ULL << 62, false },
		{ 5 * GIB + 1, 1ULL << 62, true },
		{ 100 * GIB, 1024 * GIB, true },
	};
	size_t k;

	for (k = 0; k < sizeof rows / sizeof *rows; k++)
		CHECK(s3_upload_in_parts(rows[k].size, rows[k].from) == rows[k].parts);
}

static void
test_part_size(void)
{
	static const uint64_t sizes[] = {
		16 * MIB, 1 * GIB, 10000 * 8 * MIB - 1, 10000 * 8 * MIB, 10000 * 8 * MIB + 1,
		100 * GIB, 5ULL << 40,
	};
	size_t k;

	for (k = 0; k < sizeof sizes / sizeof *sizes; k++) {
		uint64_t part = s3_part_size(sizes[k]);
		uint64_t n = (sizes[k] + part - 1) / part;

		CHECK(part >= S3_PART_MIN);
		CHECK(part % MIB == 0);
		CHECK(n < S3_PARTS_MAX);
		/* As few MiBs as keep the count under the limit. */
		CHECK(part == S3_PART_MIN ||
		      (sizes[k] + part - MIB - 1) / (part - MIB) >= S3_PARTS_MAX);
		/* And within what one part may be. */
		CHECK(part <= S3_PUT_MAX);
	}
	CHECK(s3_part_size(16 * MIB) == S3_PART_MIN);
	CHECK(s3_part_size(10000 * 8 * MIB) == 9 * MIB);
}

int
main(void)
{
	test_in_parts();
	test_part_size();
	return unit_done("s3-upload");
}
