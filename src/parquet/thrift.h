/*
 * thrift.h — Thrift compact protocol: a bounds-checked reader and a
 * deterministic writer.  Internal to the Parquet codec (meta.c uses it).
 *
 * Reader: every get checks the bytes left and fails with LK_ERR_CORRUPT
 * naming the absolute byte offset (base + pos).  Lists, sets and maps are
 * checked against the bytes left before the caller sizes anything by their
 * count.  Structs nest at most THRIFT_MAX_DEPTH levels (also when
 * skipping unknown fields).  Values returned by pointer point into the
 * reader's data, not copies.
 *
 * Writer: appends to an lk_buf; the caller emits fields in increasing id
 * order, so the same values always give the same bytes.
 */
#ifndef PQ_THRIFT_H
#define PQ_THRIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

#define THRIFT_MAX_DEPTH 64

/* Compact protocol type codes.  A bool field carries its value in the
 * field header (1 = true, 2 = false); the reader reports both as
 * THRIFT_BOOL with the value in thrift_field.bool_value.  In lists, sets
 * and maps a bool is one byte per element (1 = true, 0 or 2 = false). */
typedef enum thrift_type {
	THRIFT_STOP = 0,
	THRIFT_BOOL = 1,          /* also BOOLEAN_TRUE in a field header */
	THRIFT_BOOL_FALSE = 2,    /* field headers and element types only */
	THRIFT_BYTE = 3,
	THRIFT_I16 = 4,
	THRIFT_I32 = 5,
	THRIFT_I64 = 6,
	THRIFT_DOUBLE = 7,
	THRIFT_BINARY = 8,        /* binary and string */
	THRIFT_LIST = 9,
	THRIFT_SET = 10,
	THRIFT_MAP = 11,
	THRIFT_STRUCT = 12,
	THRIFT_UUID = 13,         /* 16 raw bytes (newer Thrift) */
} thrift_type;

/* Name of a type code for messages ("i32", "struct", ...). */
const char *thrift_type_name(int type);

/* ---- Reader ------------------------------------------------------------ */

typedef struct thrift_reader {
	lk_cursor c;              /* data, len, pos, base, err */
	int depth;                /* structs/containers currently open */
} thrift_reader;

/* Per-struct state: the last field id, for delta-encoded headers. */
typedef struct thrift_struct {
	int16_t last_id;
} thrift_struct;

typedef struct thrift_field {
	thrift_type type;         /* THRIFT_STOP at the end of the struct */
	int16_t id;
	bool bool_value;          /* when type == THRIFT_BOOL */
	uint64_t offset;          /* absolute offset of the field header */
} thrift_field;

/* Read data[0..len); base is data's absolute offset (for messages). The
 * data must outlive the reader and everything read from it by pointer. */
void thrift_reader_init(thrift_reader *r, const uint8_t *data, size_t len,
						uint64_t base, lk_error *err);
/* Absolute offset of the next byte / bytes consumed / bytes left. */
uint64_t thrift_offset(const thrift_reader *r);
size_t thrift_consumed(const thrift_reader *r);
size_t thrift_left(const thrift_reader *r);

/* Enter a struct (error past THRIFT_MAX_DEPTH).  Then call
 * thrift_read_field_begin until it yields THRIFT_STOP, which leaves the
 * struct; each non-STOP field's value must be read or skipped before the
 * next call. */
bool thrift_read_struct_begin(thrift_reader *r, thrift_struct *s);
bool thrift_read_field_begin(thrift_reader *r, thrift_struct *s,
							 thrift_field *f);

/* Scalar values (list elements, or field values after the header). */
bool thrift_read_bool(thrift_reader *r, bool *v);   /* element form (1 byte) */
bool thrift_read_byte(thrift_reader *r, int8_t *v);
bool thrift_read_i16(thrift_reader *r, int16_t *v);
bool thrift_read_i32(thrift_reader *r, int32_t *v);
bool thrift_read_i64(thrift_reader *r, int64_t *v);
bool thrift_read_double(thrift_reader *r, double *v);
/* Any integer type (byte, i16, i32, i64) as int64. */
bool thrift_read_integer(thrift_reader *r, thrift_type type, int64_t *v);
/* Length-prefixed bytes; *p points into the reader's data, not a copy. */
bool thrift_read_binary(thrift_reader *r, const uint8_t **p, size_t *n);

/* List or set header. *elem is normalised (bool element types → THRIFT_BOOL);
 * *n is checked against the bytes left (every element takes at least one
 * byte: a bool element is a whole byte, a double eight), so a caller may
 * size an array by it. */
bool thrift_read_list_begin(thrift_reader *r, thrift_type *elem, uint32_t *n);
/* Map header; each entry takes at least two bytes. */
bool thrift_read_map_begin(thrift_reader *r, thrift_type *key,
						   thrift_type *value, uint32_t *n);

/* Skip a field's value (a bool field's value is in its header) / a value
 * of the given type in element form. */
bool thrift_skip_field(thrift_reader *r, const thrift_field *f);
bool thrift_skip(thrift_reader *r, thrift_type type);

/* Fail with LK_ERR_CORRUPT at the reader's current offset; returns false. */
bool thrift_fail(thrift_reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- Writer ------------------------------------------------------------ */

/* Start a struct: resets s->last_id.  End it with thrift_write_stop. */
void thrift_write_struct_begin(thrift_struct *s);
void thrift_write_stop(lk_buf *b);
/* Field header; id must be greater than the previous field's (delta form
 * when the step is 1..15, long form otherwise).  Not for bool fields. */
void thrift_write_field_begin(lk_buf *b, thrift_struct *s, thrift_type type,
							  int16_t id);

/* Whole fields: header + value. */
void thrift_write_field_bool(lk_buf *b, thrift_struct *s, int16_t id, bool v);
void thrift_write_field_byte(lk_buf *b, thrift_struct *s, int16_t id, int8_t v);
void thrift_write_field_i16(lk_buf *b, thrift_struct *s, int16_t id, int16_t v);
void thrift_write_field_i32(lk_buf *b, thrift_struct *s, int16_t id, int32_t v);
void thrift_write_field_i64(lk_buf *b, thrift_struct *s, int16_t id, int64_t v);
void thrift_write_field_double(lk_buf *b, thrift_struct *s, int16_t id, double v);
void thrift_write_field_binary(lk_buf *b, thrift_struct *s, int16_t id,
							   const void *p, size_t n);
void thrift_write_field_string(lk_buf *b, thrift_struct *s, int16_t id,
							   const char *str);

/* Values in element form. */
void thrift_write_bool(lk_buf *b, bool v);           /* 1 = true, 2 = false */
void thrift_write_byte(lk_buf *b, int8_t v);
void thrift_write_i16(lk_buf *b, int16_t v);
void thrift_write_i32(lk_buf *b, int32_t v);
void thrift_write_i64(lk_buf *b, int64_t v);
void thrift_write_double(lk_buf *b, double v);
void thrift_write_binary(lk_buf *b, const void *p, size_t n);
void thrift_write_string(lk_buf *b, const char *str);
void thrift_write_list_begin(lk_buf *b, thrift_type elem, uint32_t n);
void thrift_write_map_begin(lk_buf *b, thrift_type key, thrift_type value,
							uint32_t n);

#endif
