/*
 * thrift.c — Thrift compact protocol reader and writer.
 *
 * Wire layout (Thrift compact protocol, as used by parquet.thrift):
 *
 *   varint    ULEB128: 7 bits per byte, low group first, high bit = more
 *   i16/i32/i64  zigzag(v) as varint       (zigzag: (v << 1) ^ (v >> 63))
 *   byte      1 raw byte
 *   double    8 bytes, IEEE 754 little endian
 *   binary    varint length, then the bytes (strings are UTF-8 binary)
 *   uuid      16 raw bytes
 *
 *   struct    field* 0x00                  (0x00 = STOP)
 *   field     +--------+--------+         short form: delta = id - last id
 *             | delta  |  type  |  value    in 1..15
 *             +--------+--------+
 *               7....4   3....0
 *             0x0T zigzag-varint(id) value  long form (delta nibble 0)
 *             bool fields have no value: type 1 = true, 2 = false
 *
 *   list/set  +--------+--------+         size 0..14 in the high nibble,
 *             |  size  |  elem  |  elem*   or 0xF then varint size
 *             +--------+--------+
 *             bool elements are one byte each (1 = true, 0/2 = false)
 *   map       varint size; if size > 0: one byte (key type << 4 | value
 *             type), then size × (key value)
 *
 *   type codes: 1 BOOL_TRUE, 2 BOOL_FALSE, 3 BYTE, 4 I16, 5 I32, 6 I64,
 *               7 DOUBLE, 8 BINARY, 9 LIST, 10 SET, 11 MAP, 12 STRUCT,
 *               13 UUID
 *
 * Every element of a list takes at least one byte (a double eight, a uuid
 * sixteen), every map entry at least two, so counts are checked against
 * the bytes left before anyone allocates by them.  Nesting (structs and
 * containers, also while skipping) is limited to THRIFT_MAX_DEPTH.
 */
#include "parquet/thrift.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *
thrift_type_name(int type)
{
	switch (type) {
	case THRIFT_STOP: return "stop";
	case THRIFT_BOOL: return "bool";
	case THRIFT_BOOL_FALSE: return "bool";
	case THRIFT_BYTE: return "byte";
	case THRIFT_I16: return "i16";
	case THRIFT_I32: return "i32";
	case THRIFT_I64: return "i64";
	case THRIFT_DOUBLE: return "double";
	case THRIFT_BINARY: return "binary";
	case THRIFT_LIST: return "list";
	case THRIFT_SET: return "set";
	case THRIFT_MAP: return "map";
	case THRIFT_STRUCT: return "struct";
	case THRIFT_UUID: return "uuid";
	}
	return "unknown";
}

/* ---- Reader ------------------------------------------------------------ */

void
thrift_reader_init(thrift_reader *r, const uint8_t *data, size_t len,
				   uint64_t base, lk_error *err)
{
	lk_cursor_init(&r->c, data, len, base, err);
	r->depth = 0;
}

uint64_t
thrift_offset(const thrift_reader *r)
{
	return r->c.base + r->c.pos;
}

size_t
thrift_consumed(const thrift_reader *r)
{
	return r->c.pos;
}

size_t
thrift_left(const thrift_reader *r)
{
	return lk_cursor_left(&r->c);
}

static bool
vfail_at(thrift_reader *r, uint64_t off, const char *fmt, va_list ap)
{
	char msg[sizeof(((lk_error *) 0)->msg)];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	lk_error_set(r->c.err, LK_ERR_CORRUPT, "%s", msg);
	return lk_error_where(r->c.err, "byte offset %llu", (unsigned long long) off);
}

static bool fail_at(thrift_reader *r, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool
fail_at(thrift_reader *r, uint64_t off, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail_at(r, off, fmt, ap);
	va_end(ap);
	return false;
}

bool
thrift_fail(thrift_reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail_at(r, thrift_offset(r), fmt, ap);
	va_end(ap);
	return false;
}

/* Valid type code in a field header or a container header. */
static bool
valid_type(int t)
{
	return t >= THRIFT_BOOL && t <= THRIFT_UUID;
}

/* Fewest bytes one value of type t takes in element form. */
static size_t
min_size(thrift_type t)
{
	switch (t) {
	case THRIFT_DOUBLE: return 8;
	case THRIFT_UUID: return 16;
	default: return 1;
	}
}

static bool
enter(thrift_reader *r, uint64_t off)
{
	if (r->depth >= THRIFT_MAX_DEPTH)
		return fail_at(r, off, "thrift nesting deeper than %d levels",
					   THRIFT_MAX_DEPTH);
	r->depth++;
	return true;
}

bool
thrift_read_struct_begin(thrift_reader *r, thrift_struct *s)
{
	LK_FORWARD(enter(r, thrift_offset(r)));
	s->last_id = 0;
	return true;
}

bool
thrift_read_field_begin(thrift_reader *r, thrift_struct *s, thrift_field *f)
{
	uint8_t b;

	f->offset = thrift_offset(r);
	f->id = 0;
	f->bool_value = false;
	LK_FORWARD(lk_cursor_get_u8(&r->c, &b));
	if (b == 0) {
		f->type = THRIFT_STOP;
		if (r->depth > 0)
			r->depth--;
		return true;
	}
	int type = b & 0x0f;
	int delta = b >> 4;
	if (!valid_type(type))
		return fail_at(r, f->offset, "invalid thrift field type %d", type);
	if (delta) {
		int id = s->last_id + delta;
		if (id > INT16_MAX)
			return fail_at(r, f->offset, "thrift field id %d out of range", id);
		f->id = (int16_t) id;
	} else {
		LK_FORWARD(thrift_read_i16(r, &f->id));
	}
	s->last_id = f->id;
	if (type == THRIFT_BOOL || type == THRIFT_BOOL_FALSE) {
		f->type = THRIFT_BOOL;
		f->bool_value = type == THRIFT_BOOL;
	} else {
		f->type = (thrift_type) type;
	}
	return true;
}

bool
thrift_read_bool(thrift_reader *r, bool *v)
{
	uint8_t b;
	uint64_t off = thrift_offset(r);

	LK_FORWARD(lk_cursor_get_u8(&r->c, &b));
	if (b > 2)
		return fail_at(r, off, "invalid thrift bool value %u", b);
	*v = b == 1;
	return true;
}

bool
thrift_read_byte(thrift_reader *r, int8_t *v)
{
	uint8_t b;

	LK_FORWARD(lk_cursor_get_u8(&r->c, &b));
	*v = (int8_t) b;
	return true;
}

static bool
read_zigzag_range(thrift_reader *r, int64_t lo, int64_t hi, const char *what,
				  int64_t *v)
{
	uint64_t off = thrift_offset(r);

	LK_FORWARD(lk_cursor_get_zigzag(&r->c, v));
	if (*v < lo || *v > hi)
		return fail_at(r, off, "thrift %s value %lld out of range", what,
					   (long long) *v);
	return true;
}

bool
thrift_read_i16(thrift_reader *r, int16_t *v)
{
	int64_t x;

	LK_FORWARD(read_zigzag_range(r, INT16_MIN, INT16_MAX, "i16", &x));
	*v = (int16_t) x;
	return true;
}

bool
thrift_read_i32(thrift_reader *r, int32_t *v)
{
	int64_t x;

	LK_FORWARD(read_zigzag_range(r, INT32_MIN, INT32_MAX, "i32", &x));
	*v = (int32_t) x;
	return true;
}

bool
thrift_read_i64(thrift_reader *r, int64_t *v)
{
	return lk_cursor_get_zigzag(&r->c, v);
}

bool
thrift_read_double(thrift_reader *r, double *v)
{
	uint64_t u;

	LK_FORWARD(lk_cursor_get_u64le(&r->c, &u));
	memcpy(v, &u, sizeof(*v));
	return true;
}

bool
thrift_read_integer(thrift_reader *r, thrift_type type, int64_t *v)
{
	switch (type) {
	case THRIFT_BYTE: {
		int8_t b;
		LK_FORWARD(thrift_read_byte(r, &b));
		*v = b;
		return true;
	}
	case THRIFT_I16: {
		int16_t x;
		LK_FORWARD(thrift_read_i16(r, &x));
		*v = x;
		return true;
	}
	case THRIFT_I32: {
		int32_t x;
		LK_FORWARD(thrift_read_i32(r, &x));
		*v = x;
		return true;
	}
	case THRIFT_I64:
		return thrift_read_i64(r, v);
	default:
		return thrift_fail(r, "thrift %s is not an integer type",
						   thrift_type_name(type));
	}
}

bool
thrift_read_binary(thrift_reader *r, const uint8_t **p, size_t *n)
{
	uint64_t len;
	uint64_t off = thrift_offset(r);

	LK_FORWARD(lk_cursor_get_uvarint(&r->c, &len));
	if (len > thrift_left(r))
		return fail_at(r, off, "thrift binary of %llu bytes longer than the %zu bytes left",
					   (unsigned long long) len, thrift_left(r));
	*n = (size_t) len;
	return lk_cursor_get_bytes(&r->c, (size_t) len, p);
}

bool
thrift_read_list_begin(thrift_reader *r, thrift_type *elem, uint32_t *n)
{
	uint8_t b;
	uint64_t size;
	uint64_t off = thrift_offset(r);

	LK_FORWARD(lk_cursor_get_u8(&r->c, &b));
	int type = b & 0x0f;
	size = b >> 4;
	if (size == 15)
		LK_FORWARD(lk_cursor_get_uvarint(&r->c, &size));
	if (size == 0) {
		/* the element type of an empty list does not matter */
		*elem = valid_type(type) ? (thrift_type) type : THRIFT_STOP;
	} else if (!valid_type(type)) {
		return fail_at(r, off, "invalid thrift list element type %d", type);
	} else {
		*elem = (thrift_type) type;
	}
	if (*elem == THRIFT_BOOL_FALSE)
		*elem = THRIFT_BOOL;
	if (size > thrift_left(r) / min_size(*elem))
		return fail_at(r, off, "thrift list of %llu elements longer than the %zu bytes left",
					   (unsigned long long) size, thrift_left(r));
	*n = (uint32_t) size;   /* ≤ bytes left */
	if ((uint64_t) *n != size)
		return fail_at(r, off, "thrift list of %llu elements too long",
					   (unsigned long long) size);
	return true;
}

bool
thrift_read_map_begin(thrift_reader *r, thrift_type *key, thrift_type *value,
					  uint32_t *n)
{
	uint64_t size;
	uint64_t off = thrift_offset(r);

	LK_FORWARD(lk_cursor_get_uvarint(&r->c, &size));
	if (size == 0) {
		*key = *value = THRIFT_STOP;
		*n = 0;
		return true;
	}
	uint8_t b;
	LK_FORWARD(lk_cursor_get_u8(&r->c, &b));
	int k = b >> 4, v = b & 0x0f;
	if (!valid_type(k) || !valid_type(v))
		return fail_at(r, off, "invalid thrift map types %d, %d", k, v);
	*key = k == THRIFT_BOOL_FALSE ? THRIFT_BOOL : (thrift_type) k;
	*value = v == THRIFT_BOOL_FALSE ? THRIFT_BOOL : (thrift_type) v;
	if (size > thrift_left(r) / (min_size(*key) + min_size(*value)))
		return fail_at(r, off, "thrift map of %llu entries longer than the %zu bytes left",
					   (unsigned long long) size, thrift_left(r));
	*n = (uint32_t) size;
	if ((uint64_t) *n != size)
		return fail_at(r, off, "thrift map of %llu entries too long",
					   (unsigned long long) size);
	return true;
}

bool
thrift_skip(thrift_reader *r, thrift_type type)
{
	uint64_t off = thrift_offset(r);

	switch (type) {
	case THRIFT_BOOL:
	case THRIFT_BOOL_FALSE: {
		bool b;
		return thrift_read_bool(r, &b);
	}
	case THRIFT_BYTE:
		return lk_cursor_skip(&r->c, 1);
	case THRIFT_I16:
	case THRIFT_I32:
	case THRIFT_I64: {
		uint64_t v;
		return lk_cursor_get_uvarint(&r->c, &v);
	}
	case THRIFT_DOUBLE:
		return lk_cursor_skip(&r->c, 8);
	case THRIFT_UUID:
		return lk_cursor_skip(&r->c, 16);
	case THRIFT_BINARY: {
		const uint8_t *p;
		size_t n;
		return thrift_read_binary(r, &p, &n);
	}
	case THRIFT_LIST:
	case THRIFT_SET: {
		thrift_type elem;
		uint32_t n;
		LK_FORWARD(thrift_read_list_begin(r, &elem, &n));
		LK_FORWARD(enter(r, off));
		for (uint32_t i = 0; i < n; i++)
			LK_FORWARD(thrift_skip(r, elem));
		r->depth--;
		return true;
	}
	case THRIFT_MAP: {
		thrift_type k, v;
		uint32_t n;
		LK_FORWARD(thrift_read_map_begin(r, &k, &v, &n));
		LK_FORWARD(enter(r, off));
		for (uint32_t i = 0; i < n; i++) {
			LK_FORWARD(thrift_skip(r, k));
			LK_FORWARD(thrift_skip(r, v));
		}
		r->depth--;
		return true;
	}
	case THRIFT_STRUCT: {
		thrift_struct s;
		thrift_field f;
		LK_FORWARD(thrift_read_struct_begin(r, &s));
		for (;;) {
			LK_FORWARD(thrift_read_field_begin(r, &s, &f));
			if (f.type == THRIFT_STOP)
				return true;
			LK_FORWARD(thrift_skip_field(r, &f));
		}
	}
	case THRIFT_STOP:
		break;
	}
	return fail_at(r, off, "cannot skip thrift type %d", (int) type);
}

bool
thrift_skip_field(thrift_reader *r, const thrift_field *f)
{
	if (f->type == THRIFT_BOOL)
		return true;   /* the value was in the header */
	return thrift_skip(r, f->type);
}

/* ---- Writer ------------------------------------------------------------ */

void
thrift_write_struct_begin(thrift_struct *s)
{
	s->last_id = 0;
}

void
thrift_write_stop(lk_buf *b)
{
	lk_buf_append_byte(b, 0);
}

static void
write_header(lk_buf *b, thrift_struct *s, int type, int16_t id)
{
	int delta = (int) id - (int) s->last_id;

	if (delta > 0 && delta <= 15) {
		lk_buf_append_byte(b, (uint8_t) ((delta << 4) | type));
	} else {
		lk_buf_append_byte(b, (uint8_t) type);
		lk_buf_append_zigzag(b, id);
	}
	s->last_id = id;
}

void
thrift_write_field_begin(lk_buf *b, thrift_struct *s, thrift_type type,
						 int16_t id)
{
	write_header(b, s, type, id);
}

void
thrift_write_field_bool(lk_buf *b, thrift_struct *s, int16_t id, bool v)
{
	write_header(b, s, v ? THRIFT_BOOL : THRIFT_BOOL_FALSE, id);
}

void
thrift_write_field_byte(lk_buf *b, thrift_struct *s, int16_t id, int8_t v)
{
	write_header(b, s, THRIFT_BYTE, id);
	thrift_write_byte(b, v);
}

void
thrift_write_field_i16(lk_buf *b, thrift_struct *s, int16_t id, int16_t v)
{
	write_header(b, s, THRIFT_I16, id);
	thrift_write_i16(b, v);
}

void
thrift_write_field_i32(lk_buf *b, thrift_struct *s, int16_t id, int32_t v)
{
	write_header(b, s, THRIFT_I32, id);
	thrift_write_i32(b, v);
}

void
thrift_write_field_i64(lk_buf *b, thrift_struct *s, int16_t id, int64_t v)
{
	write_header(b, s, THRIFT_I64, id);
	thrift_write_i64(b, v);
}

void
thrift_write_field_double(lk_buf *b, thrift_struct *s, int16_t id, double v)
{
	write_header(b, s, THRIFT_DOUBLE, id);
	thrift_write_double(b, v);
}

void
thrift_write_field_binary(lk_buf *b, thrift_struct *s, int16_t id,
						  const void *p, size_t n)
{
	write_header(b, s, THRIFT_BINARY, id);
	thrift_write_binary(b, p, n);
}

void
thrift_write_field_string(lk_buf *b, thrift_struct *s, int16_t id,
						  const char *str)
{
	write_header(b, s, THRIFT_BINARY, id);
	thrift_write_string(b, str);
}

void
thrift_write_bool(lk_buf *b, bool v)
{
	lk_buf_append_byte(b, v ? 1 : 2);
}

void
thrift_write_byte(lk_buf *b, int8_t v)
{
	lk_buf_append_byte(b, (uint8_t) v);
}

void
thrift_write_i16(lk_buf *b, int16_t v)
{
	lk_buf_append_zigzag(b, v);
}

void
thrift_write_i32(lk_buf *b, int32_t v)
{
	lk_buf_append_zigzag(b, v);
}

void
thrift_write_i64(lk_buf *b, int64_t v)
{
	lk_buf_append_zigzag(b, v);
}

void
thrift_write_double(lk_buf *b, double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	lk_buf_append_u64le(b, u);
}

void
thrift_write_binary(lk_buf *b, const void *p, size_t n)
{
	lk_buf_append_uvarint(b, n);
	lk_buf_append(b, p, n);
}

void
thrift_write_string(lk_buf *b, const char *str)
{
	thrift_write_binary(b, str, strlen(str));
}

void
thrift_write_list_begin(lk_buf *b, thrift_type elem, uint32_t n)
{
	if (elem == THRIFT_BOOL_FALSE)
		elem = THRIFT_BOOL;
	if (n < 15) {
		lk_buf_append_byte(b, (uint8_t) ((n << 4) | elem));
	} else {
		lk_buf_append_byte(b, (uint8_t) (0xf0 | elem));
		lk_buf_append_uvarint(b, n);
	}
}

void
thrift_write_map_begin(lk_buf *b, thrift_type key, thrift_type value,
					   uint32_t n)
{
	lk_buf_append_uvarint(b, n);
	if (n > 0)
		lk_buf_append_byte(b, (uint8_t) ((key << 4) | value));
}
