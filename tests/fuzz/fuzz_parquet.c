/*
 * fuzz_parquet.c — libFuzzer target for the Parquet reader.
 *
 * The input is a whole Parquet file in memory: open it (footer, schema),
 * then decode every row group of every column into a batch.  Errors are
 * expected and ignored; crashes, hangs, leaks and sanitizer reports are
 * the findings.  The same input is also decoded as a bare FileMetaData and
 * a bare PageHeader, so the Thrift layer is reached directly too.
 *
 *   make fuzz && build-fuzz/fuzz_parquet tests/fuzz/corpus/parquet
 *   build/tests/replay_parquet tests/fuzz/corpus/parquet     (make check)
 */
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/error.h"
#include "parquet/meta.h"
#include "parquet/parquet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_meta(const uint8_t *data, size_t size)
{
	lk_arena arena;
	lk_error err;
	pq_file_meta fm;
	pq_page_header ph;
	size_t used;

	lk_arena_init(&arena, 0);
	lk_error_clear(&err);
	(void) pq_meta_read_file_meta(data, size, 0, &arena, &fm, &used, &err);
	lk_error_clear(&err);
	(void) pq_meta_read_page_header(data, size, 0, &arena, &ph, &used, &err);
	lk_arena_free(&arena);
}

static void
fuzz_reader(const uint8_t *data, size_t size)
{
	pq_input in;
	lk_error err;

	lk_error_clear(&err);
	pq_input_from_memory(&in, data, size, "<fuzz>");
	pq_reader *r = pq_reader_open(&in, &err);   /* owns `in` from here */
	if (!r)
		return;
	lk_batch *batch = lk_batch_new(pq_reader_output_schema(r));
	int n = pq_reader_num_row_groups(r);
	for (int rg = 0; rg < n; rg++) {
		lk_error_clear(&err);
		(void) pq_reader_read_row_group(r, rg, batch, &err);
	}
	lk_batch_free(batch);
	pq_reader_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_meta(data, size);
	fuzz_reader(data, size);
	return 0;
}
