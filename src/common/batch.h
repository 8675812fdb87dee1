/*
 * batch.h — the in-memory columnar batch every codec speaks (DESIGN §1).
 *
 * Arrow-like: one lk_column per field, each with
 *   validity  bitmap, bit i (LSB first) set = row i is not null;
 *             NULL means "no nulls" (allocated on the first null)
 *   values    fixed-width types: length × lk_type_width() bytes
 *             (boolean: one byte 0/1 per row; decimal: __int128)
 *   offsets   string/binary: length+1 int64 byte offsets into data;
 *             array/map: length+1 int64 offsets into the child column(s)
 *   data      string/binary bytes
 *   children  struct: one per field, each of the struct's length (a null
 *             struct has null children); array: [element]; map: [key, value]
 * Null slots still occupy a value (zero) or an empty range.
 *
 * A batch owns all its buffers (malloc).  lk_batch_reset() empties it and
 * keeps the memory for the next row group; lk_batch_free() releases it.
 */
#ifndef LK_BATCH_H
#define LK_BATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/types.h"

typedef __int128 lk_int128;

typedef struct lk_column {
	const lk_type *type;
	int64_t length;
	int64_t null_count;
	uint8_t *validity;
	void *values;
	int64_t *offsets;
	uint8_t *data;
	int64_t data_len;         /* bytes used in data */
	int nchildren;
	struct lk_column *children;
	/* capacity, internal */
	int64_t cap;              /* rows of room in values/offsets/validity */
	int64_t data_cap;         /* bytes of room in data */
} lk_column;

typedef struct lk_batch {
	const lk_type *schema;    /* LK_T_STRUCT; not owned */
	int64_t nrows;
	int ncols;
	lk_column *cols;
} lk_batch;

/* New empty batch for `schema` (must outlive the batch). Caller frees with
 * lk_batch_free(). */
lk_batch *lk_batch_new(const lk_type *schema);
void lk_batch_free(lk_batch *b);
/* Empty every column (recursively) and keep the memory. */
void lk_batch_reset(lk_batch *b);
/* Set nrows from the columns and check they agree; false if they don't. */
bool lk_batch_seal(lk_batch *b);

/* Column lifecycle, for columns outside a batch (and used by it). */
void lk_column_init(lk_column *c, const lk_type *type);
void lk_column_destroy(lk_column *c);
void lk_column_reset(lk_column *c);

/* Ensure room for n more rows (values/offsets/validity). */
void lk_column_reserve(lk_column *c, int64_t n);
/* Ensure room for n more bytes of string/binary data. */
void lk_column_reserve_data(lk_column *c, int64_t n);

static inline bool
lk_column_is_null(const lk_column *c, int64_t i)
{
	return c->validity && !(c->validity[i >> 3] & (1u << (i & 7)));
}

/* Mark row i (< length) valid/null; allocates the bitmap when needed and
 * keeps null_count right. */
void lk_column_set_null(lk_column *c, int64_t i);

/* Appenders: one row each. The value's C type must match the column's width
 * (see the table above). For struct: append to every child first, then
 * lk_column_append_struct(). For array: append the elements to
 * children[0], then lk_column_append_list() closes the row. Map: append
 * keys and values, then lk_column_append_list(). */
void lk_column_append_null(lk_column *c);   /* recurses into struct children */
void lk_column_append_fixed(lk_column *c, const void *value);
void lk_column_append_bool(lk_column *c, bool v);
void lk_column_append_i32(lk_column *c, int32_t v);
void lk_column_append_i64(lk_column *c, int64_t v);
void lk_column_append_f64(lk_column *c, double v);
void lk_column_append_i128(lk_column *c, lk_int128 v);
void lk_column_append_bytes(lk_column *c, const void *p, int64_t n);
void lk_column_append_struct(lk_column *c);           /* a valid struct row */
void lk_column_append_list(lk_column *c);             /* ends at children' length */

/* Typed value access (no check). */
#define LK_COL_VALUES(col, T) ((T *) (col)->values)
static inline const uint8_t *
lk_column_bytes(const lk_column *c, int64_t i, int64_t *len)
{
	*len = c->offsets[i + 1] - c->offsets[i];
	return c->data + c->offsets[i];
}

/* Append rows [from, from+n) of src (same type) to dst, deeply. */
void lk_column_append_range(lk_column *dst, const lk_column *src, int64_t from,
							int64_t n);

/* Deep equality of row i of a and row j of b (same type). */
bool lk_column_row_equal(const lk_column *a, int64_t i, const lk_column *b,
						 int64_t j);

/* Decimal helpers: unscaled value to text "-123.45" (buf ≥ 48 bytes). */
char *lk_decimal_to_string(lk_int128 v, int scale, char *buf);
/* Parse "-123.45" (exactly `scale` digits or fewer after the point, no
 * rounding); false if it does not fit precision or is malformed. */
bool lk_decimal_parse(const char *s, size_t n, int precision, int scale,
					  lk_int128 *out);

#endif
