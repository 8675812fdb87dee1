/*
 * fuzz_pgcopy.c — libFuzzer target over the binary COPY stream reader
 * (src/pg/copyout.c: header, tuples, trailer) and the binary value readers
 * (src/pg/pgtypes.c: pgt_append_binary).
 *
 * Input: byte 0 = number of fields (low 4 bits, 0–15); byte 1 = type
 * rotation (field i reads with the native conversion (byte1 + i) mod the
 * list below); the rest is a binary COPY stream (header, tuples, trailer),
 * parsed as pgcopy_run_format would parse the messages of one COPY.
 *
 * Oracles besides the sanitizers: a failed parse or value fills err's
 * code and message (and `where` for a value: the column); a failed value
 * leaves its column unchanged, a good one adds exactly one row.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/error.h"
#include "pg/copyout.h"
#include "pg/pgtypes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_error(const lk_error *err, bool need_where)
{
	if (err->code == LK_OK || !err->msg[0] || (need_where && !err->where[0])) {
		fprintf(stderr, "failure without a complete error: code %d msg \"%s\" where \"%s\"\n",
				err->code, err->msg, err->where);
		abort();
	}
}

static const struct {
	uint32_t oid;
	int32_t typmod;
} types[] = {
	{PGT_OID_BOOL, -1}, {PGT_OID_INT2, -1}, {PGT_OID_INT4, -1}, {PGT_OID_INT8, -1},
	{PGT_OID_FLOAT4, -1}, {PGT_OID_FLOAT8, -1},
	{PGT_OID_NUMERIC, ((5 << 16) | 2) + 4}, {PGT_OID_NUMERIC, ((38 << 16) | 0) + 4},
	{PGT_OID_NUMERIC, ((38 << 16) | 38) + 4}, {PGT_OID_NUMERIC, ((20 << 16) | 7) + 4},
	{PGT_OID_NUMERIC, -1}, {PGT_OID_TEXT, -1}, {PGT_OID_JSONB, -1}, {PGT_OID_BYTEA, -1},
	{PGT_OID_UUID, -1}, {PGT_OID_DATE, -1}, {PGT_OID_TIMESTAMP, -1},
	{PGT_OID_TIMESTAMPTZ, -1},
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	int nf = data[0] & 15;
	int rot = data[1];
	const uint8_t *p = data + 2;
	size_t n = size - 2;
	lk_arena a;
	lk_arena_init(&a, 0);
	const pgt_conv *conv[16];
	lk_column cols[16];
	for (int i = 0; i < nf; i++) {
		size_t k = ((size_t) rot + (size_t) i) % NTYPES;
		conv[i] = pgt_map_oid(&a, types[k].oid, types[k].typmod, 0);
		if (!pgt_binary_native(conv[i]))
			abort();
		lk_column_init(&cols[i], conv[i]->type);
	}
	lk_error err;
	lk_error_clear(&err);
	size_t used;
	pgcopy_field f[16];
	if (!pgcopy_parse_binary_header(p, n, &used, &err)) {
		check_error(&err, true);
		goto done;
	}
	size_t pos = used;
	for (int rows = 0; pos < n && rows < 100000; rows++) {
		lk_error_clear(&err);
		int r = pgcopy_parse_binary_tuple(p + pos, n - pos, &used, f, nf, &err);
		if (r < 0) {
			check_error(&err, false);
			break;
		}
		if (used == 0 || used > n - pos)
			abort();
		pos += used;
		if (r == 0)
			break;
		for (int i = 0; i < nf; i++) {
			int64_t before = cols[i].length;
			lk_error_clear(&err);
			bool ok = pgt_append_binary(conv[i], &cols[i], "c",
										f[i].is_null ? NULL : (const uint8_t *) f[i].ptr,
										f[i].len, &err);
			if (!ok)
				check_error(&err, true);
			if (cols[i].length != before + (ok ? 1 : 0))
				abort();
		}
	}
done:
	for (int i = 0; i < nf; i++)
		lk_column_destroy(&cols[i]);
	lk_arena_free(&a);
	return 0;
}
