/*
 * meta.c — parquet.thrift structs ⇄ Thrift compact bytes (see meta.h).
 *
 * Wire layout: each struct is a Thrift compact struct (thrift.c draws the
 * encoding); the field ids are parquet.thrift's:
 *
 *   FileMetaData   1 version i32 (req)          2 schema list<SchemaElement> (req)
 *                  3 num_rows i64 (req)         4 row_groups list<RowGroup> (req)
 *                  5 key_value_metadata list<KeyValue>   6 created_by string
 *                  7 column_orders list<ColumnOrder>     8 encryption_algorithm
 *                  9 footer_signing_key_metadata
 *   SchemaElement  1 type  2 type_length  3 repetition_type  4 name (req)
 *                  5 num_children  6 converted_type  7 scale  8 precision
 *                  9 field_id  10 logicalType
 *   LogicalType    union: 1 STRING 2 MAP 3 LIST 4 ENUM 5 DECIMAL{1 scale,
 *                  2 precision} 6 DATE 7 TIME{1 isAdjustedToUTC, 2 unit}
 *                  8 TIMESTAMP{1 isAdjustedToUTC, 2 unit} 10 INTEGER{1 bitWidth
 *                  i8, 2 isSigned} 11 UNKNOWN 12 JSON 13 BSON 14 UUID
 *                  15 FLOAT16 16 VARIANT 17 GEOMETRY 18 GEOGRAPHY
 *   TimeUnit       union: 1 MILLIS 2 MICROS 3 NANOS
 *   RowGroup       1 columns list<ColumnChunk> (req)  2 total_byte_size (req)
 *                  3 num_rows (req)  4 sorting_columns  5 file_offset
 *                  6 total_compressed_size  7 ordinal i16
 *   ColumnChunk    1 file_path  2 file_offset (req)  3 meta_data
 *                  4 offset_index_offset  5 offset_index_length
 *                  6 column_index_offset  7 column_index_length
 *                  8 crypto_metadata  9 encrypted_column_metadata
 *   ColumnMetaData 1 type (req)  2 encodings list<i32> (req)
 *                  3 path_in_schema list<string> (req)  4 codec (req)
 *                  5 num_values (req)  6 total_uncompressed_size (req)
 *                  7 total_compressed_size (req)  8 key_value_metadata
 *                  9 data_page_offset (req)  10 index_page_offset
 *                  11 dictionary_page_offset  12 statistics
 *                  13 encoding_stats  14 bloom_filter_offset
 *                  15 bloom_filter_length
 *   Statistics     1 max  2 min  3 null_count  4 distinct_count  5 max_value
 *                  6 min_value  7 is_max_value_exact  8 is_min_value_exact
 *   KeyValue       1 key (req)  2 value
 *   SortingColumn  1 column_idx  2 descending  3 nulls_first (all req)
 *   PageEncodingStats  1 page_type  2 encoding  3 count (all req)
 *   ColumnOrder    union: 1 TYPE_ORDER
 *   PageHeader     1 type (req)  2 uncompressed_page_size (req)
 *                  3 compressed_page_size (req)  4 crc  5 data_page_header
 *                  6 index_page_header  7 dictionary_page_header
 *                  8 data_page_header_v2
 *   DataPageHeader 1 num_values  2 encoding  3 definition_level_encoding
 *                  4 repetition_level_encoding (all req)  5 statistics
 *   DictionaryPageHeader  1 num_values (req)  2 encoding (req)  3 is_sorted
 *   DataPageHeaderV2  1 num_values  2 num_nulls  3 num_rows  4 encoding
 *                  5 definition_levels_byte_length
 *                  6 repetition_levels_byte_length (1-6 req)
 *                  7 is_compressed (default true)  8 statistics
 *
 * Decoding rules: unknown field ids are skipped, and so is a known field
 * with a wire type other than its own (as Thrift-generated readers do;
 * integer fields accept any integer wire type whose value fits); a list
 * whose elements have the wrong type, a missing required field, a
 * negative size/count/offset, or a physical type / repetition outside its
 * enum is LK_ERR_CORRUPT.  Other enum fields (encodings, codec, page
 * type, converted type) keep the wire value, which may lie outside the
 * C enum: consumers refuse what they do not know.  Errors name the field
 * path, e.g. where = "FileMetaData.row_groups[0].columns[2].meta_data.codec,
 * byte offset 1234".
 *
 * ncolumn_orders: the number of ColumnOrder entries when every one is
 * TYPE_ORDER, else 0.  A LogicalType union with no member decodes as
 * has_logical_type with kind PQ_LT_NONE; a TimeUnit member this codec
 * does not know leaves unit 0.
 */
#include "parquet/meta.h"

#include <stdio.h>
#include <string.h>

#include "parquet/thrift.h"

/* ---- Decoder context --------------------------------------------------- */

#define MAX_FRAMES 16

typedef struct mctx {
	thrift_reader r;
	lk_arena *arena;
	lk_error *err;
	const char *root;               /* "FileMetaData" / "PageHeader" */
	struct {
		const char *name;
		int64_t index;              /* -1: not a list element */
	} frames[MAX_FRAMES];
	int nframes;
	bool located;                   /* the path was added to err->where */
} mctx;

static void
push(mctx *m, const char *name, int64_t index)
{
	if (m->nframes < MAX_FRAMES) {
		m->frames[m->nframes].name = name;
		m->frames[m->nframes].index = index;
	}
	m->nframes++;
}

static void
pop(mctx *m)
{
	m->nframes--;
}

/* The current field path ("FileMetaData.row_groups[0].columns[2]") plus
 * an optional last component into buf. */
static const char *
path(const mctx *m, const char *last, char *buf, size_t len)
{
	size_t n = (size_t) snprintf(buf, len, "%s", m->root);
	int k = m->nframes < MAX_FRAMES ? m->nframes : MAX_FRAMES;

	for (int i = 0; i < k && n < len; i++) {
		if (m->frames[i].index >= 0)
			n += (size_t) snprintf(buf + n, len - n, ".%s[%lld]", m->frames[i].name,
								   (long long) m->frames[i].index);
		else
			n += (size_t) snprintf(buf + n, len - n, ".%s", m->frames[i].name);
	}
	if (last && n < len)
		snprintf(buf + n, len - n, ".%s", last);
	return buf;
}

/* Add the path of the failing field to err->where (once, innermost);
 * returns false. */
static bool
field_fail(mctx *m, const char *name)
{
	char buf[256];

	if (!m->located) {
		m->located = true;
		lk_error_add_where(m->err, "%s", path(m, name, buf, sizeof(buf)));
	}
	return false;
}

static bool
unknown_fail(mctx *m, int16_t id)
{
	char name[32];

	snprintf(name, sizeof(name), "(field %d)", id);
	return field_fail(m, name);
}

/* A required field is missing from the struct that started at off. */
static bool
missing(mctx *m, const char *strct, const char *field, int id, uint64_t off)
{
	char buf[256];

	lk_error_set(m->err, LK_ERR_CORRUPT, "required field %s.%s (%d) is missing",
				 strct, field, id);
	lk_error_where(m->err, "%s, byte offset %llu", path(m, NULL, buf, sizeof(buf)),
				   (unsigned long long) off);
	m->located = true;
	return false;
}

static bool
type_error(mctx *m, const thrift_field *f, const char *want)
{
	lk_error_set(m->err, LK_ERR_CORRUPT, "field %d has thrift type %s, expected %s",
				 f->id, thrift_type_name(f->type), want);
	return lk_error_where(m->err, "byte offset %llu", (unsigned long long) f->offset);
}

static bool
begin(mctx *m, thrift_struct *st)
{
	if (!thrift_read_struct_begin(&m->r, st))
		return field_fail(m, NULL);
	return true;
}

static bool
next(mctx *m, thrift_struct *st, thrift_field *f)
{
	if (!thrift_read_field_begin(&m->r, st, f)) {
		char buf[256];
		if (!m->located) {
			m->located = true;
			lk_error_add_where(m->err, "%s", path(m, NULL, buf, sizeof(buf)));
		}
		return false;
	}
	return true;
}

/* Skip an unknown field's value, or fail naming it. */
static bool
skip_unknown(mctx *m, const thrift_field *f)
{
	if (!thrift_skip_field(&m->r, f))
		return unknown_fail(m, f->id);
	return true;
}

/* A union member or ignored field that must be a struct. */
static bool
want_struct(mctx *m, const thrift_field *f, const char *name)
{
	if (f->type == THRIFT_STRUCT)
		return true;
	type_error(m, f, "struct");
	return field_fail(m, name);
}

/* ---- Typed field values ------------------------------------------------ */

static bool
rd_int(mctx *m, const thrift_field *f, int64_t lo, int64_t hi, int64_t *v)
{
	if (f->type != THRIFT_BYTE && f->type != THRIFT_I16 &&
		f->type != THRIFT_I32 && f->type != THRIFT_I64)
		return type_error(m, f, "an integer");
	uint64_t off = thrift_offset(&m->r);
	LK_FORWARD(thrift_read_integer(&m->r, f->type, v));
	if (*v < lo || *v > hi) {
		if (lo == 0 && *v < 0 && (hi == INT32_MAX || hi == INT64_MAX))
			lk_error_set(m->err, LK_ERR_CORRUPT, "negative value %lld",
						 (long long) *v);
		else
			lk_error_set(m->err, LK_ERR_CORRUPT, "value %lld out of range [%lld, %lld]",
						 (long long) *v, (long long) lo, (long long) hi);
		return lk_error_where(m->err, "byte offset %llu", (unsigned long long) off);
	}
	return true;
}

static bool
rd_i32(mctx *m, const thrift_field *f, int32_t *out)
{
	int64_t v;
	LK_FORWARD(rd_int(m, f, INT32_MIN, INT32_MAX, &v));
	*out = (int32_t) v;
	return true;
}

/* i32 that must be >= 0 */
static bool
rd_n32(mctx *m, const thrift_field *f, int32_t *out)
{
	int64_t v;
	LK_FORWARD(rd_int(m, f, 0, INT32_MAX, &v));
	*out = (int32_t) v;
	return true;
}

/* i64 that must be >= 0 */
static bool
rd_n64(mctx *m, const thrift_field *f, int64_t *out)
{
	return rd_int(m, f, 0, INT64_MAX, out);
}


static bool
rd_bool(mctx *m, const thrift_field *f, bool *out)
{
	if (f->type != THRIFT_BOOL)
		return type_error(m, f, "bool");
	*out = f->bool_value;
	return true;
}

/* String: NUL-terminated copy in the arena. */
static bool
rd_str(mctx *m, const thrift_field *f, const char **out)
{
	const uint8_t *p;
	size_t n;

	if (f->type != THRIFT_BINARY)
		return type_error(m, f, "binary");
	LK_FORWARD(thrift_read_binary(&m->r, &p, &n));
	*out = lk_arena_strndup(m->arena, (const char *) p, n);
	return true;
}

/* Binary: copy in the arena, not NUL-terminated. */
static bool
rd_bin(mctx *m, const thrift_field *f, const uint8_t **out, int32_t *len)
{
	const uint8_t *p;
	size_t n;
	uint64_t off = thrift_offset(&m->r);

	if (f->type != THRIFT_BINARY)
		return type_error(m, f, "binary");
	LK_FORWARD(thrift_read_binary(&m->r, &p, &n));
	if (n > INT32_MAX) {
		lk_error_set(m->err, LK_ERR_CORRUPT, "binary of %zu bytes too long", n);
		return lk_error_where(m->err, "byte offset %llu", (unsigned long long) off);
	}
	*out = lk_arena_memdup(m->arena, p, n);
	*len = (int32_t) n;
	return true;
}

/* List header of a field; elements must have type `elem` (when n > 0) and
 * take at least min_bytes each. */
static bool
rd_list(mctx *m, const thrift_field *f, thrift_type elem, size_t min_bytes,
		thrift_type *elem_out, uint32_t *n)
{
	thrift_type et;
	uint64_t off = thrift_offset(&m->r);

	if (f->type != THRIFT_LIST && f->type != THRIFT_SET)
		return type_error(m, f, "list");
	LK_FORWARD(thrift_read_list_begin(&m->r, &et, n));
	*elem_out = et;
	if (*n == 0)
		return true;
	bool ok = et == elem;
	if (elem == THRIFT_I32)   /* integer lists: any integer element type */
		ok = et == THRIFT_BYTE || et == THRIFT_I16 || et == THRIFT_I32 ||
			 et == THRIFT_I64;
	if (!ok) {
		lk_error_set(m->err, LK_ERR_CORRUPT, "list elements have thrift type %s, expected %s",
					 thrift_type_name(et), thrift_type_name(elem));
		return lk_error_where(m->err, "byte offset %llu", (unsigned long long) off);
	}
	if (*n > INT32_MAX || *n > thrift_left(&m->r) / min_bytes) {
		lk_error_set(m->err, LK_ERR_CORRUPT,
					 "list of %u elements longer than the %zu bytes left", *n,
					 thrift_left(&m->r));
		return lk_error_where(m->err, "byte offset %llu", (unsigned long long) off);
	}
	return true;
}

typedef bool (*elem_reader)(mctx *m, void *elem);

/* list<struct> field into an arena array of n elements of `size` bytes,
 * each decoded by fn; min_bytes is the smallest valid encoded element. */
static bool
rd_struct_list(mctx *m, const thrift_field *f, const char *name, size_t size,
			   size_t min_bytes, elem_reader fn, void **out, int32_t *count)
{
	thrift_type et;
	uint32_t n;

	LK_FORWARD(rd_list(m, f, THRIFT_STRUCT, min_bytes, &et, &n));
	uint8_t *arr = n ? lk_arena_zalloc(m->arena, (size_t) n * size) : NULL;
	push(m, name, 0);
	for (uint32_t i = 0; i < n; i++) {
		if (m->nframes <= MAX_FRAMES)
			m->frames[m->nframes - 1].index = i;
		if (!fn(m, arr + (size_t) i * size)) {
			pop(m);
			return false;
		}
	}
	pop(m);
	*out = arr;
	*count = (int32_t) n;
	return true;
}

/* A nested struct field read by fn(m, dst). */
static bool
rd_nested(mctx *m, const thrift_field *f, const char *name, elem_reader fn,
		  void *dst)
{
	if (f->type != THRIFT_STRUCT)
		return type_error(m, f, "struct");
	push(m, name, -1);
	bool ok = fn(m, dst);
	pop(m);
	return ok;
}

/* Record a field, or fail naming it. */
#define FIELD(name, expr)                  \
	do {                                   \
		if (!(expr))                       \
			return field_fail(m, (name));  \
	} while (0)

/* An enum field kept with its wire value (may lie outside the C enum). */
#define FIELD_ENUM(name, dst)                 \
	do {                                      \
		int32_t e_;                           \
		if (!rd_i32(m, &f, &e_))              \
			return field_fail(m, (name));     \
		(dst) = e_;                           \
	} while (0)

/* list<struct> field into an arena array. */
#define FIELD_LIST(name, type, min, fn, arr, cnt)                          \
	do {                                                                   \
		void *a_;                                                          \
		if (!rd_struct_list(m, &f, (name), sizeof(type), (min), (fn), &a_, \
							&(cnt)))                                       \
			return field_fail(m, (name));                                  \
		(arr) = a_;                                                        \
	} while (0)

#define SEEN(id) (seen & ((uint64_t) 1 << (id)))
#define REQUIRE(strct, name, id)                              \
	do {                                                      \
		if (!SEEN(id))                                        \
			return missing(m, (strct), (name), (id), start);  \
	} while (0)

/*
 * Wire types of a struct's fields, one character per field id (index 0
 * unused): 'i' integer (byte/i16/i32/i64), 'b' binary, 'z' bool,
 * 's' struct, 'l' list or set, '.' unchecked.  A field whose wire type
 * differs is skipped as unknown, as Thrift-generated readers do (real
 * files carry fields from pre-release parquet.thrift versions with other
 * types); a required field skipped so is then reported missing.
 */
static bool
wire_type_ok(const char *spec, const thrift_field *f)
{
	if (f->id <= 0 || (size_t) f->id >= strlen(spec))
		return true;
	switch (spec[f->id]) {
	case 'i':
		return f->type == THRIFT_BYTE || f->type == THRIFT_I16 ||
			   f->type == THRIFT_I32 || f->type == THRIFT_I64;
	case 'b': return f->type == THRIFT_BINARY;
	case 'z': return f->type == THRIFT_BOOL;
	case 's': return f->type == THRIFT_STRUCT;
	case 'l': return f->type == THRIFT_LIST || f->type == THRIFT_SET;
	default: return true;
	}
}

/* Per-struct loop: declares st, f, seen, start. */
#define STRUCT_BEGIN(spec)                                   \
	thrift_struct st;                                        \
	thrift_field f;                                          \
	uint64_t seen = 0;                                       \
	uint64_t start = thrift_offset(&m->r);                   \
	LK_FORWARD(begin(m, &st));                               \
	for (;;) {                                               \
		LK_FORWARD(next(m, &st, &f));                        \
		if (f.type == THRIFT_STOP)                           \
			break;                                           \
		if (!wire_type_ok((spec), &f)) {                     \
			LK_FORWARD(skip_unknown(m, &f));                 \
			continue;                                        \
		}                                                    \
		if (f.id >= 0 && f.id < 64)                          \
			seen |= (uint64_t) 1 << f.id;                    \
		switch (f.id) {

#define STRUCT_END()                                         \
		default:                                             \
			LK_FORWARD(skip_unknown(m, &f));                 \
			break;                                           \
		}                                                    \
	}                                                        \
	(void) start;                                            \
	(void) seen

/* ---- Struct decoders --------------------------------------------------- */

static bool
rd_statistics(mctx *m, void *p)
{
	pq_statistics *s = p;

	memset(s, 0, sizeof(*s));
	STRUCT_BEGIN(".bbiibbzz")
	case 1:
		FIELD("max", rd_bin(m, &f, &s->max, &s->max_len));
		s->has_max = true;
		break;
	case 2:
		FIELD("min", rd_bin(m, &f, &s->min, &s->min_len));
		s->has_min = true;
		break;
	case 3:
		FIELD("null_count", rd_n64(m, &f, &s->null_count));
		s->has_null_count = true;
		break;
	case 4:
		FIELD("distinct_count", rd_n64(m, &f, &s->distinct_count));
		s->has_distinct_count = true;
		break;
	case 5:
		FIELD("max_value", rd_bin(m, &f, &s->max_value, &s->max_value_len));
		s->has_max_value = true;
		break;
	case 6:
		FIELD("min_value", rd_bin(m, &f, &s->min_value, &s->min_value_len));
		s->has_min_value = true;
		break;
	case 7:
		FIELD("is_max_value_exact", rd_bool(m, &f, &s->is_max_value_exact));
		s->has_is_max_value_exact = true;
		break;
	case 8:
		FIELD("is_min_value_exact", rd_bool(m, &f, &s->is_min_value_exact));
		s->has_is_min_value_exact = true;
		break;
	STRUCT_END();
	return true;
}

/* TimeUnit union */
static bool
rd_time_unit(mctx *m, void *p)
{
	pq_time_unit *u = p;

	*u = 0;
	STRUCT_BEGIN(".sss")
	case 1:
	case 2:
	case 3:
		LK_FORWARD(want_struct(m, &f, "unit"));
		FIELD("unit", thrift_skip(&m->r, THRIFT_STRUCT));
		*u = (pq_time_unit) f.id;
		break;
	STRUCT_END();
	return true;
}

static bool
rd_decimal_type(mctx *m, void *p)
{
	pq_logical_type *lt = p;

	STRUCT_BEGIN(".ii")
	case 1:
		FIELD("scale", rd_i32(m, &f, &lt->scale));
		break;
	case 2:
		FIELD("precision", rd_i32(m, &f, &lt->precision));
		break;
	STRUCT_END();
	REQUIRE("DecimalType", "scale", 1);
	REQUIRE("DecimalType", "precision", 2);
	return true;
}

/* TimeType and TimestampType have the same fields. */
static bool
rd_time_type(mctx *m, void *p)
{
	pq_logical_type *lt = p;
	const char *name = lt->kind == PQ_LT_TIME ? "TimeType" : "TimestampType";

	STRUCT_BEGIN(".zs")
	case 1:
		FIELD("isAdjustedToUTC", rd_bool(m, &f, &lt->is_adjusted_to_utc));
		break;
	case 2:
		FIELD("unit", rd_nested(m, &f, "unit", rd_time_unit, &lt->unit));
		break;
	STRUCT_END();
	REQUIRE(name, "isAdjustedToUTC", 1);
	REQUIRE(name, "unit", 2);
	return true;
}

static bool
rd_int_type(mctx *m, void *p)
{
	pq_logical_type *lt = p;
	int64_t v;

	STRUCT_BEGIN(".iz")
	case 1:
		FIELD("bitWidth", rd_int(m, &f, INT8_MIN, INT8_MAX, &v));
		lt->bit_width = (int8_t) v;
		break;
	case 2:
		FIELD("isSigned", rd_bool(m, &f, &lt->is_signed));
		break;
	STRUCT_END();
	REQUIRE("IntType", "bitWidth", 1);
	REQUIRE("IntType", "isSigned", 2);
	return true;
}

/* LogicalType union; the last member present wins. */
static bool
rd_logical_type(mctx *m, void *p)
{
	pq_logical_type *lt = p;

	memset(lt, 0, sizeof(*lt));
	STRUCT_BEGIN(".ssssssss.sssssssss")
	case PQ_LT_STRING: case PQ_LT_MAP: case PQ_LT_LIST: case PQ_LT_ENUM:
	case PQ_LT_DATE: case PQ_LT_UNKNOWN: case PQ_LT_JSON: case PQ_LT_BSON:
	case PQ_LT_UUID: case PQ_LT_FLOAT16: case PQ_LT_VARIANT:
	case PQ_LT_GEOMETRY: case PQ_LT_GEOGRAPHY:
		/* members whose parameters (if any) this codec does not use */
		LK_FORWARD(want_struct(m, &f, "member"));
		FIELD("member", thrift_skip(&m->r, THRIFT_STRUCT));
		memset(lt, 0, sizeof(*lt));
		lt->kind = (pq_logical_kind) f.id;
		break;
	case PQ_LT_DECIMAL:
		memset(lt, 0, sizeof(*lt));
		lt->kind = PQ_LT_DECIMAL;
		FIELD("DECIMAL", rd_nested(m, &f, "DECIMAL", rd_decimal_type, lt));
		break;
	case PQ_LT_TIME:
	case PQ_LT_TIMESTAMP:
		memset(lt, 0, sizeof(*lt));
		lt->kind = (pq_logical_kind) f.id;
		FIELD(f.id == PQ_LT_TIME ? "TIME" : "TIMESTAMP",
			  rd_nested(m, &f, f.id == PQ_LT_TIME ? "TIME" : "TIMESTAMP",
						rd_time_type, lt));
		break;
	case PQ_LT_INTEGER:
		memset(lt, 0, sizeof(*lt));
		lt->kind = PQ_LT_INTEGER;
		FIELD("INTEGER", rd_nested(m, &f, "INTEGER", rd_int_type, lt));
		break;
	default:
		LK_FORWARD(skip_unknown(m, &f));
		memset(lt, 0, sizeof(*lt));
		lt->kind = PQ_LT_OTHER;
		break;
	}
	}
	(void) start;
	(void) seen;
	return true;
}

static bool
rd_schema_element(mctx *m, void *p)
{
	pq_schema_element *e = p;
	int64_t v;

	STRUCT_BEGIN(".iiibiiiiis")
	case 1:
		FIELD("type", rd_int(m, &f, PQ_BOOLEAN, PQ_FIXED_LEN_BYTE_ARRAY, &v));
		e->type = (pq_physical_type) v;
		e->has_type = true;
		break;
	case 2:
		FIELD("type_length", rd_n32(m, &f, &e->type_length));
		e->has_type_length = true;
		break;
	case 3:
		FIELD("repetition_type", rd_int(m, &f, PQ_REQUIRED, PQ_REPEATED, &v));
		e->repetition = (pq_repetition) v;
		e->has_repetition = true;
		break;
	case 4:
		FIELD("name", rd_str(m, &f, &e->name));
		break;
	case 5:
		FIELD("num_children", rd_n32(m, &f, &e->num_children));
		e->has_num_children = true;
		break;
	case 6:
		FIELD_ENUM("converted_type", e->converted_type);
		e->has_converted_type = true;
		break;
	case 7:
		FIELD("scale", rd_i32(m, &f, &e->scale));
		e->has_scale = true;
		break;
	case 8:
		FIELD("precision", rd_i32(m, &f, &e->precision));
		e->has_precision = true;
		break;
	case 9:
		FIELD("field_id", rd_i32(m, &f, &e->field_id));
		e->has_field_id = true;
		break;
	case 10:
		FIELD("logicalType", rd_nested(m, &f, "logicalType", rd_logical_type,
									   &e->logical_type));
		e->has_logical_type = true;
		break;
	STRUCT_END();
	REQUIRE("SchemaElement", "name", 4);
	return true;
}

static bool
rd_key_value(mctx *m, void *p)
{
	pq_key_value *kv = p;

	STRUCT_BEGIN(".bb")
	case 1:
		FIELD("key", rd_str(m, &f, &kv->key));
		break;
	case 2:
		FIELD("value", rd_str(m, &f, &kv->value));
		break;
	STRUCT_END();
	REQUIRE("KeyValue", "key", 1);
	return true;
}

static bool
rd_sorting_column(mctx *m, void *p)
{
	pq_sorting_column *s = p;

	STRUCT_BEGIN(".izz")
	case 1:
		FIELD("column_idx", rd_n32(m, &f, &s->column_idx));
		break;
	case 2:
		FIELD("descending", rd_bool(m, &f, &s->descending));
		break;
	case 3:
		FIELD("nulls_first", rd_bool(m, &f, &s->nulls_first));
		break;
	STRUCT_END();
	REQUIRE("SortingColumn", "column_idx", 1);
	REQUIRE("SortingColumn", "descending", 2);
	REQUIRE("SortingColumn", "nulls_first", 3);
	return true;
}

static bool
rd_page_encoding_stats(mctx *m, void *p)
{
	pq_page_encoding_stats *s = p;

	STRUCT_BEGIN(".iii")
	case 1:
		FIELD_ENUM("page_type", s->page_type);
		break;
	case 2:
		FIELD_ENUM("encoding", s->encoding);
		break;
	case 3:
		FIELD("count", rd_n32(m, &f, &s->count));
		break;
	STRUCT_END();
	REQUIRE("PageEncodingStats", "page_type", 1);
	REQUIRE("PageEncodingStats", "encoding", 2);
	REQUIRE("PageEncodingStats", "count", 3);
	return true;
}

/* Smallest encodings of valid list elements (header bytes, one-byte values,
 * STOP), so a count is checked before an array is sized by it. */
#define MIN_KEY_VALUE 3            /* key "" + STOP */
#define MIN_SCHEMA_ELEMENT 3       /* name "" + STOP */
#define MIN_SORTING_COLUMN 5       /* 2 + 1 + 1 + STOP */
#define MIN_PAGE_ENCODING_STATS 7  /* 3 × 2 + STOP */
#define MIN_COLUMN_CHUNK 3         /* file_offset + STOP */
#define MIN_ROW_GROUP 7            /* columns [] + 2 × 2 + STOP */
#define MIN_COLUMN_ORDER 1         /* STOP (an empty union is tolerated) */

static bool
rd_column_meta(mctx *m, void *p)
{
	pq_column_meta *c = p;
	thrift_type et;
	uint32_t n;
	int64_t v;

	STRUCT_BEGIN(".illiiiiliiislii")
	case 1:
		FIELD("type", rd_int(m, &f, PQ_BOOLEAN, PQ_FIXED_LEN_BYTE_ARRAY, &v));
		c->type = (pq_physical_type) v;
		break;
	case 2:
		FIELD("encodings", rd_list(m, &f, THRIFT_I32, 1, &et, &n));
		c->encodings = lk_arena_alloc(m->arena, (size_t) n * sizeof(*c->encodings));
		c->nencodings = (int32_t) n;
		for (uint32_t i = 0; i < n; i++) {
			int64_t e;
			uint64_t off = thrift_offset(&m->r);
			if (!thrift_read_integer(&m->r, et, &e))
				return field_fail(m, "encodings");
			if (e < INT32_MIN || e > INT32_MAX) {
				lk_error_set(m->err, LK_ERR_CORRUPT, "encoding %lld out of range",
							 (long long) e);
				lk_error_where(m->err, "byte offset %llu", (unsigned long long) off);
				return field_fail(m, "encodings");
			}
			c->encodings[i] = (pq_encoding) e;
		}
		break;
	case 3:
		FIELD("path_in_schema", rd_list(m, &f, THRIFT_BINARY, 1, &et, &n));
		c->path_in_schema = lk_arena_alloc(m->arena, (size_t) n * sizeof(char *));
		c->npath = (int32_t) n;
		for (uint32_t i = 0; i < n; i++) {
			const uint8_t *s;
			size_t len;
			if (!thrift_read_binary(&m->r, &s, &len))
				return field_fail(m, "path_in_schema");
			c->path_in_schema[i] = lk_arena_strndup(m->arena, (const char *) s, len);
		}
		break;
	case 4:
		FIELD("codec", rd_i32(m, &f, &c->codec));
		break;
	case 5:
		FIELD("num_values", rd_n64(m, &f, &c->num_values));
		break;
	case 6:
		FIELD("total_uncompressed_size", rd_n64(m, &f, &c->total_uncompressed_size));
		break;
	case 7:
		FIELD("total_compressed_size", rd_n64(m, &f, &c->total_compressed_size));
		break;
	case 8:
		FIELD_LIST("key_value_metadata", pq_key_value, MIN_KEY_VALUE, rd_key_value,
				   c->kv, c->nkv);
		break;
	case 9:
		FIELD("data_page_offset", rd_n64(m, &f, &c->data_page_offset));
		break;
	case 10:
		FIELD("index_page_offset", rd_n64(m, &f, &c->index_page_offset));
		c->has_index_page_offset = true;
		break;
	case 11:
		FIELD("dictionary_page_offset", rd_n64(m, &f, &c->dictionary_page_offset));
		c->has_dictionary_page_offset = true;
		break;
	case 12:
		FIELD("statistics", rd_nested(m, &f, "statistics", rd_statistics,
									  &c->statistics));
		c->has_statistics = true;
		break;
	case 13:
		FIELD_LIST("encoding_stats", pq_page_encoding_stats, MIN_PAGE_ENCODING_STATS,
				   rd_page_encoding_stats, c->encoding_stats, c->nencoding_stats);
		break;
	case 14:
		FIELD("bloom_filter_offset", rd_n64(m, &f, &c->bloom_filter_offset));
		c->has_bloom_filter_offset = true;
		break;
	case 15:
		FIELD("bloom_filter_length", rd_n32(m, &f, &c->bloom_filter_length));
		c->has_bloom_filter_length = true;
		break;
	STRUCT_END();
	REQUIRE("ColumnMetaData", "type", 1);
	REQUIRE("ColumnMetaData", "encodings", 2);
	REQUIRE("ColumnMetaData", "path_in_schema", 3);
	REQUIRE("ColumnMetaData", "codec", 4);
	REQUIRE("ColumnMetaData", "num_values", 5);
	REQUIRE("ColumnMetaData", "total_uncompressed_size", 6);
	REQUIRE("ColumnMetaData", "total_compressed_size", 7);
	REQUIRE("ColumnMetaData", "data_page_offset", 9);
	return true;
}

static bool
rd_column_chunk(mctx *m, void *p)
{
	pq_column_chunk *c = p;

	STRUCT_BEGIN(".bisiiiisb")
	case 1:
		FIELD("file_path", rd_str(m, &f, &c->file_path));
		break;
	case 2:
		FIELD("file_offset", rd_n64(m, &f, &c->file_offset));
		break;
	case 3:
		FIELD("meta_data", rd_nested(m, &f, "meta_data", rd_column_meta,
									 &c->meta_data));
		c->has_meta_data = true;
		break;
	case 4:
		FIELD("offset_index_offset", rd_n64(m, &f, &c->offset_index_offset));
		break;
	case 5:
		FIELD("offset_index_length", rd_n32(m, &f, &c->offset_index_length));
		break;
	case 6:
		FIELD("column_index_offset", rd_n64(m, &f, &c->column_index_offset));
		break;
	case 7:
		FIELD("column_index_length", rd_n32(m, &f, &c->column_index_length));
		break;
	case 8:
		LK_FORWARD(want_struct(m, &f, "crypto_metadata"));
		FIELD("crypto_metadata", thrift_skip(&m->r, THRIFT_STRUCT));
		c->has_crypto_metadata = true;
		break;
	STRUCT_END();
	REQUIRE("ColumnChunk", "file_offset", 2);
	/* an index is usable only with both its offset and its length */
	c->has_offset_index = SEEN(4) && SEEN(5);
	c->has_column_index = SEEN(6) && SEEN(7);
	return true;
}

static bool
rd_row_group(mctx *m, void *p)
{
	pq_row_group *g = p;

	STRUCT_BEGIN(".liiliii")
	case 1:
		FIELD_LIST("columns", pq_column_chunk, MIN_COLUMN_CHUNK, rd_column_chunk,
				   g->columns, g->ncolumns);
		break;
	case 2:
		FIELD("total_byte_size", rd_n64(m, &f, &g->total_byte_size));
		break;
	case 3:
		FIELD("num_rows", rd_n64(m, &f, &g->num_rows));
		break;
	case 4:
		FIELD_LIST("sorting_columns", pq_sorting_column, MIN_SORTING_COLUMN,
				   rd_sorting_column, g->sorting_columns, g->nsorting_columns);
		break;
	case 5:
		FIELD("file_offset", rd_n64(m, &f, &g->file_offset));
		g->has_file_offset = true;
		break;
	case 6:
		FIELD("total_compressed_size", rd_n64(m, &f, &g->total_compressed_size));
		g->has_total_compressed_size = true;
		break;
	case 7: {
		int64_t v;
		FIELD("ordinal", rd_int(m, &f, INT16_MIN, INT16_MAX, &v));
		g->ordinal = (int16_t) v;
		g->has_ordinal = true;
		break;
	}
	STRUCT_END();
	REQUIRE("RowGroup", "columns", 1);
	REQUIRE("RowGroup", "total_byte_size", 2);
	REQUIRE("RowGroup", "num_rows", 3);
	return true;
}

/* ColumnOrder union: *p (bool) = the member is TYPE_ORDER. */
static bool
rd_column_order(mctx *m, void *p)
{
	bool *type_order = p;
	bool other = false, seen_type = false;

	STRUCT_BEGIN(".s")
	case 1:
		LK_FORWARD(want_struct(m, &f, "TYPE_ORDER"));
		FIELD("TYPE_ORDER", thrift_skip(&m->r, THRIFT_STRUCT));
		seen_type = true;
		break;
	default:
		LK_FORWARD(skip_unknown(m, &f));
		other = true;
		break;
	}
	}
	(void) start;
	(void) seen;
	*type_order = seen_type && !other;
	return true;
}

static bool
rd_file_meta(mctx *m, pq_file_meta *fm)
{
	STRUCT_BEGIN(".ilillblsb")
	case 1:
		FIELD("version", rd_i32(m, &f, &fm->version));
		break;
	case 2:
		FIELD_LIST("schema", pq_schema_element, MIN_SCHEMA_ELEMENT, rd_schema_element,
				   fm->schema, fm->nschema);
		break;
	case 3:
		FIELD("num_rows", rd_n64(m, &f, &fm->num_rows));
		break;
	case 4:
		FIELD_LIST("row_groups", pq_row_group, MIN_ROW_GROUP, rd_row_group,
				   fm->row_groups, fm->nrow_groups);
		break;
	case 5:
		FIELD_LIST("key_value_metadata", pq_key_value, MIN_KEY_VALUE, rd_key_value,
				   fm->kv, fm->nkv);
		break;
	case 6:
		FIELD("created_by", rd_str(m, &f, &fm->created_by));
		break;
	case 7: {
		bool *orders;
		int32_t n;
		FIELD_LIST("column_orders", bool, MIN_COLUMN_ORDER, rd_column_order, orders, n);
		fm->ncolumn_orders = n;
		for (int32_t i = 0; i < n; i++)
			if (!orders[i])
				fm->ncolumn_orders = 0;
		break;
	}
	case 8:
		LK_FORWARD(want_struct(m, &f, "encryption_algorithm"));
		FIELD("encryption_algorithm", thrift_skip(&m->r, THRIFT_STRUCT));
		fm->has_encryption_algorithm = true;
		break;
	STRUCT_END();
	REQUIRE("FileMetaData", "version", 1);
	REQUIRE("FileMetaData", "schema", 2);
	REQUIRE("FileMetaData", "num_rows", 3);
	REQUIRE("FileMetaData", "row_groups", 4);
	return true;
}

static bool
rd_data_page_header(mctx *m, void *p)
{
	pq_data_page_header *h = p;

	STRUCT_BEGIN(".iiiis")
	case 1:
		FIELD("num_values", rd_n32(m, &f, &h->num_values));
		break;
	case 2:
		FIELD_ENUM("encoding", h->encoding);
		break;
	case 3:
		FIELD_ENUM("definition_level_encoding", h->definition_level_encoding);
		break;
	case 4:
		FIELD_ENUM("repetition_level_encoding", h->repetition_level_encoding);
		break;
	case 5:
		FIELD("statistics", rd_nested(m, &f, "statistics", rd_statistics,
									  &h->statistics));
		h->has_statistics = true;
		break;
	STRUCT_END();
	REQUIRE("DataPageHeader", "num_values", 1);
	REQUIRE("DataPageHeader", "encoding", 2);
	REQUIRE("DataPageHeader", "definition_level_encoding", 3);
	REQUIRE("DataPageHeader", "repetition_level_encoding", 4);
	return true;
}

static bool
rd_dictionary_page_header(mctx *m, void *p)
{
	pq_dictionary_page_header *h = p;

	STRUCT_BEGIN(".iiz")
	case 1:
		FIELD("num_values", rd_n32(m, &f, &h->num_values));
		break;
	case 2:
		FIELD_ENUM("encoding", h->encoding);
		break;
	case 3:
		FIELD("is_sorted", rd_bool(m, &f, &h->is_sorted));
		h->has_is_sorted = true;
		break;
	STRUCT_END();
	REQUIRE("DictionaryPageHeader", "num_values", 1);
	REQUIRE("DictionaryPageHeader", "encoding", 2);
	return true;
}

static bool
rd_data_page_header_v2(mctx *m, void *p)
{
	pq_data_page_header_v2 *h = p;

	h->is_compressed = true;
	STRUCT_BEGIN(".iiiiiizs")
	case 1:
		FIELD("num_values", rd_n32(m, &f, &h->num_values));
		break;
	case 2:
		FIELD("num_nulls", rd_n32(m, &f, &h->num_nulls));
		break;
	case 3:
		FIELD("num_rows", rd_n32(m, &f, &h->num_rows));
		break;
	case 4:
		FIELD_ENUM("encoding", h->encoding);
		break;
	case 5:
		FIELD("definition_levels_byte_length",
			  rd_n32(m, &f, &h->definition_levels_byte_length));
		break;
	case 6:
		FIELD("repetition_levels_byte_length",
			  rd_n32(m, &f, &h->repetition_levels_byte_length));
		break;
	case 7:
		FIELD("is_compressed", rd_bool(m, &f, &h->is_compressed));
		break;
	case 8:
		FIELD("statistics", rd_nested(m, &f, "statistics", rd_statistics,
									  &h->statistics));
		h->has_statistics = true;
		break;
	STRUCT_END();
	REQUIRE("DataPageHeaderV2", "num_values", 1);
	REQUIRE("DataPageHeaderV2", "num_nulls", 2);
	REQUIRE("DataPageHeaderV2", "num_rows", 3);
	REQUIRE("DataPageHeaderV2", "encoding", 4);
	REQUIRE("DataPageHeaderV2", "definition_levels_byte_length", 5);
	REQUIRE("DataPageHeaderV2", "repetition_levels_byte_length", 6);
	return true;
}

static bool
rd_page_header(mctx *m, pq_page_header *h)
{
	STRUCT_BEGIN(".iiiissss")
	case 1:
		FIELD_ENUM("type", h->type);
		break;
	case 2:
		FIELD("uncompressed_page_size", rd_n32(m, &f, &h->uncompressed_page_size));
		break;
	case 3:
		FIELD("compressed_page_size", rd_n32(m, &f, &h->compressed_page_size));
		break;
	case 4:
		FIELD("crc", rd_i32(m, &f, &h->crc));
		h->has_crc = true;
		break;
	case 5:
		FIELD("data_page_header",
			  rd_nested(m, &f, "data_page_header", rd_data_page_header,
						&h->data_page_header));
		h->has_data_page_header = true;
		break;
	case 6:
		LK_FORWARD(want_struct(m, &f, "index_page_header"));
		FIELD("index_page_header", thrift_skip(&m->r, THRIFT_STRUCT));
		h->has_index_page_header = true;
		break;
	case 7:
		FIELD("dictionary_page_header",
			  rd_nested(m, &f, "dictionary_page_header", rd_dictionary_page_header,
						&h->dictionary_page_header));
		h->has_dictionary_page_header = true;
		break;
	case 8:
		FIELD("data_page_header_v2",
			  rd_nested(m, &f, "data_page_header_v2", rd_data_page_header_v2,
						&h->data_page_header_v2));
		h->has_data_page_header_v2 = true;
		break;
	STRUCT_END();
	REQUIRE("PageHeader", "type", 1);
	REQUIRE("PageHeader", "uncompressed_page_size", 2);
	REQUIRE("PageHeader", "compressed_page_size", 3);
	return true;
}

static void
mctx_init(mctx *m, const uint8_t *data, size_t len, uint64_t base,
		  lk_arena *arena, const char *root, lk_error *err)
{
	thrift_reader_init(&m->r, data, len, base, err);
	m->arena = arena;
	m->err = err;
	m->root = root;
	m->nframes = 0;
	m->located = false;
}

bool
pq_meta_read_file_meta(const uint8_t *data, size_t len, uint64_t base,
					   lk_arena *arena, pq_file_meta *out, size_t *consumed,
					   lk_error *err)
{
	mctx m;

	memset(out, 0, sizeof(*out));
	mctx_init(&m, data, len, base, arena, "FileMetaData", err);
	LK_FORWARD(rd_file_meta(&m, out));
	if (consumed)
		*consumed = thrift_consumed(&m.r);
	return true;
}

bool
pq_meta_read_page_header(const uint8_t *data, size_t len, uint64_t base,
						 lk_arena *arena, pq_page_header *out,
						 size_t *consumed, lk_error *err)
{
	mctx m;

	memset(out, 0, sizeof(*out));
	out->data_page_header_v2.is_compressed = true;
	mctx_init(&m, data, len, base, arena, "PageHeader", err);
	LK_FORWARD(rd_page_header(&m, out));
	if (consumed)
		*consumed = thrift_consumed(&m.r);
	return true;
}

/* ---- Encoders ---------------------------------------------------------- */

static void
wr_empty_struct(lk_buf *b, thrift_struct *st, int16_t id)
{
	thrift_write_field_begin(b, st, THRIFT_STRUCT, id);
	thrift_write_stop(b);
}

static void
wr_statistics(lk_buf *b, const pq_statistics *s)
{
	thrift_struct st;

	thrift_write_struct_begin(&st);
	if (s->has_max)
		thrift_write_field_binary(b, &st, 1, s->max, (size_t) s->max_len);
	if (s->has_min)
		thrift_write_field_binary(b, &st, 2, s->min, (size_t) s->min_len);
	if (s->has_null_count)
		thrift_write_field_i64(b, &st, 3, s->null_count);
	if (s->has_distinct_count)
		thrift_write_field_i64(b, &st, 4, s->distinct_count);
	if (s->has_max_value)
		thrift_write_field_binary(b, &st, 5, s->max_value, (size_t) s->max_value_len);
	if (s->has_min_value)
		thrift_write_field_binary(b, &st, 6, s->min_value, (size_t) s->min_value_len);
	if (s->has_is_max_value_exact)
		thrift_write_field_bool(b, &st, 7, s->is_max_value_exact);
	if (s->has_is_min_value_exact)
		thrift_write_field_bool(b, &st, 8, s->is_min_value_exact);
	thrift_write_stop(b);
}

static bool
known_logical_kind(pq_logical_kind k)
{
	return (k >= PQ_LT_STRING && k <= PQ_LT_TIMESTAMP) ||
		   (k >= PQ_LT_INTEGER && k <= PQ_LT_GEOGRAPHY);
}

static void
wr_logical_type(lk_buf *b, const pq_logical_type *lt)
{
	thrift_struct st, in;

	thrift_write_struct_begin(&st);
	thrift_write_field_begin(b, &st, THRIFT_STRUCT, (int16_t) lt->kind);
	thrift_write_struct_begin(&in);
	switch (lt->kind) {
	case PQ_LT_DECIMAL:
		thrift_write_field_i32(b, &in, 1, lt->scale);
		thrift_write_field_i32(b, &in, 2, lt->precision);
		break;
	case PQ_LT_TIME:
	case PQ_LT_TIMESTAMP: {
		thrift_struct unit;
		thrift_write_field_bool(b, &in, 1, lt->is_adjusted_to_utc);
		thrift_write_field_begin(b, &in, THRIFT_STRUCT, 2);
		thrift_write_struct_begin(&unit);
		if (lt->unit >= PQ_UNIT_MILLIS && lt->unit <= PQ_UNIT_NANOS)
			wr_empty_struct(b, &unit, (int16_t) lt->unit);
		thrift_write_stop(b);
		break;
	}
	case PQ_LT_INTEGER:
		thrift_write_field_byte(b, &in, 1, lt->bit_width);
		thrift_write_field_bool(b, &in, 2, lt->is_signed);
		break;
	default:
		break;
	}
	thrift_write_stop(b);   /* member */
	thrift_write_stop(b);   /* union */
}

static void
wr_schema_element(lk_buf *b, const pq_schema_element *e)
{
	thrift_struct st;

	thrift_write_struct_begin(&st);
	if (e->has_type)
		thrift_write_field_i32(b, &st, 1, (int32_t) e->type);
	if (e->has_type_length)
		thrift_write_field_i32(b, &st, 2, e->type_length);
	if (e->has_repetition)
		thrift_write_field_i32(b, &st, 3, (int32_t) e->repetition);
	thrift_write_field_string(b, &st, 4, e->name ? e->name : "");
	if (e->has_num_children)
		thrift_write_field_i32(b, &st, 5, e->num_children);
	if (e->has_converted_type)
		thrift_write_field_i32(b, &st, 6, (int32_t) e->converted_type);
	if (e->has_scale)
		thrift_write_field_i32(b, &st, 7, e->scale);
	if (e->has_precision)
		thrift_write_field_i32(b, &st, 8, e->precision);
	if (e->has_field_id)
		thrift_write_field_i32(b, &st, 9, e->field_id);
	if (e->has_logical_type && known_logical_kind(e->logical_type.kind)) {
		thrift_write_field_begin(b, &st, THRIFT_STRUCT, 10);
		wr_logical_type(b, &e->logical_type);
	}
	thrift_write_stop(b);
}

static void
wr_key_values(lk_buf *b, thrift_struct *st, int16_t id, const pq_key_value *kv,
			  int32_t n)
{
	thrift_write_field_begin(b, st, THRIFT_LIST, id);
	thrift_write_list_begin(b, THRIFT_STRUCT, (uint32_t) n);
	for (int32_t i = 0; i < n; i++) {
		thrift_struct in;
		thrift_write_struct_begin(&in);
		thrift_write_field_string(b, &in, 1, kv[i].key ? kv[i].key : "");
		if (kv[i].value)
			thrift_write_field_string(b, &in, 2, kv[i].value);
		thrift_write_stop(b);
	}
}

static void
wr_column_meta(lk_buf *b, const pq_column_meta *c)
{
	thrift_struct st;

	thrift_write_struct_begin(&st);
	thrift_write_field_i32(b, &st, 1, (int32_t) c->type);
	thrift_write_field_begin(b, &st, THRIFT_LIST, 2);
	thrift_write_list_begin(b, THRIFT_I32, (uint32_t) c->nencodings);
	for (int32_t i = 0; i < c->nencodings; i++)
		thrift_write_i32(b, (int32_t) c->encodings[i]);
	thrift_write_field_begin(b, &st, THRIFT_LIST, 3);
	thrift_write_list_begin(b, THRIFT_BINARY, (uint32_t) c->npath);
	for (int32_t i = 0; i < c->npath; i++)
		thrift_write_string(b, c->path_in_schema[i] ? c->path_in_schema[i] : "");
	thrift_write_field_i32(b, &st, 4, c->codec);
	thrift_write_field_i64(b, &st, 5, c->num_values);
	thrift_write_field_i64(b, &st, 6, c->total_uncompressed_size);
	thrift_write_field_i64(b, &st, 7, c->total_compressed_size);
	if (c->nkv > 0)
		wr_key_values(b, &st, 8, c->kv, c->nkv);
	thrift_write_field_i64(b, &st, 9, c->data_page_offset);
	if (c->has_index_page_offset)
		thrift_write_field_i64(b, &st, 10, c->index_page_offset);
	if (c->has_dictionary_page_offset)
		thrift_write_field_i64(b, &st, 11, c->dictionary_page_offset);
	if (c->has_statistics) {
		thrift_write_field_begin(b, &st, THRIFT_STRUCT, 12);
		wr_statistics(b, &c->statistics);
	}
	if (c->nencoding_stats > 0) {
		thrift_write_field_begin(b, &st, THRIFT_LIST, 13);
		thrift_write_list_begin(b, THRIFT_STRUCT, (uint32_t) c->nencoding_stats);
		for (int32_t i = 0; i < c->nencoding_stats; i++) {
			const pq_page_encoding_stats *s = &c->encoding_stats[i];
			thrift_struct in;
			thrift_write_struct_begin(&in);
			thrift_write_field_i32(b, &in, 1, (int32_t) s->page_type);
			thrift_write_field_i32(b, &in, 2, (int32_t) s->encoding);
			thrift_write_field_i32(b, &in, 3, s->count);
			thrift_write_stop(b);
		}
	}
	if (c->has_bloom_filter_offset)
		thrift_write_field_i64(b, &st, 14, c->bloom_filter_offset);
	if (c->has_bloom_filter_length)
		thrift_write_field_i32(b, &st, 15, c->bloom_filter_length);
	thrift_write_stop(b);
}

static void
wr_column_chunk(lk_buf *b, const pq_column_chunk *c)
{
	thrift_struct st;

	thrift_write_struct_begin(&st);
	if (c->file_path)
		thrift_write_field_string(b, &st, 1, c->file_path);
	thrift_write_field_i64(b, &st, 2, c->file_offset);
	if (c->has_meta_data) {
		thrift_write_field_begin(b, &st, THRIFT_STRUCT, 3);
		wr_column_meta(b, &c->meta_data);
	}
	if (c->has_offset_index) {
		thrift_write_field_i64(b, &st, 4, c->offset_index_offset);
		thrift_write_field_i32(b, &st, 5, c->offset_index_length);
	}
	if (c->has_column_index) {
		thrift_write_field_i64(b, &st, 6, c->column_index_offset);
		thrift_write_field_i32(b, &st, 7, c->column_index_length);
	}
	thrift_write_stop(b);
}

static void
wr_row_group(lk_buf *b, const pq_row_group *g)
{
	thrift_struct st;

	thrift_write_struct_begin(&st);
	thrift_write_field_begin(b, &st, THRIFT_LIST, 1);
	thrift_write_list_begin(b, THRIFT_STRUCT, (uint32_t) g->ncolumns);
	for (int32_t i = 0; i < g->ncolumns; i++)
		wr_column_chunk(b, &g->columns[i]);
	thrift_write_field_i64(b, &st, 2, g->total_byte_size);
	thrift_write_field_i64(b, &st, 3, g->num_rows);
	if (g->nsorting_columns > 0) {
		thrift_write_field_begin(b, &st, THRIFT_LIST, 4);
		thrift_write_list_begin(b, THRIFT_STRUCT, (uint32_t) g->nsorting_columns);
		for (int32_t i = 0; i < g->nsorting_columns; i++) {
			const pq_sorting_column *s = &g->sorting_columns[i];
			thrift_struct in;
			thrift_write_struct_begin(&in);
			thrift_write_field_i32(b, &in, 1, s->column_idx);
			thrift_write_field_bool(b, &in, 2, s->descending);
			thrift_write_field_bool(b, &in, 3, s->nulls_first);
			thrift_write_stop(b);
		}
	}
	if (g->has_file_offset)
		thrift_write_field_i64(b, &st, 5, g->file_offset);
	if (g->has_total_compressed_size)
		thrift_write_field_i64(b, &st, 6, g->total_compressed_size);
	if (g->has_ordinal)
		thrift_write_field_i16(b, &st, 7, g->ordinal);
	thrift_write_stop(b);
}

void
pq_meta_write_file_meta(lk_buf *out, const pq_file_meta *m)
{
	thrift_struct st;

	thrift_write_struct_begin(&st);
	thrift_write_field_i32(out, &st, 1, m->version);
	thrift_write_field_begin(out, &st, THRIFT_LIST, 2);
	thrift_write_list_begin(out, THRIFT_STRUCT, (uint32_t) m->nschema);
	for (int32_t i = 0; i < m->nschema; i++)
		wr_schema_element(out, &m->schema[i]);
	thrift_write_field_i64(out, &st, 3, m->num_rows);
	thrift_write_field_begin(out, &st, THRIFT_LIST, 4);
	thrift_write_list_begin(out, THRIFT_STRUCT, (uint32_t) m->nrow_groups);
	for (int32_t i = 0; i < m->nrow_groups; i++)
		wr_row_group(out, &m->row_groups[i]);
	if (m->nkv > 0)
		wr_key_values(out, &st, 5, m->kv, m->nkv);
	if (m->created_by)
		thrift_write_field_string(out, &st, 6, m->created_by);
	if (m->ncolumn_orders > 0) {
		thrift_write_field_begin(out, &st, THRIFT_LIST, 7);
		thrift_write_list_begin(out, THRIFT_STRUCT, (uint32_t) m->ncolumn_orders);
		for (int32_t i = 0; i < m->ncolumn_orders; i++) {
			thrift_struct in;
			thrift_write_struct_begin(&in);
			wr_empty_struct(out, &in, 1);   /* TYPE_ORDER */
			thrift_write_stop(out);
		}
	}
	thrift_write_stop(out);
}

void
pq_meta_write_page_header(lk_buf *out, const pq_page_header *h)
{
	thrift_struct st;

	thrift_write_struct_begin(&st);
	thrift_write_field_i32(out, &st, 1, (int32_t) h->type);
	thrift_write_field_i32(out, &st, 2, h->uncompressed_page_size);
	thrift_write_field_i32(out, &st, 3, h->compressed_page_size);
	if (h->has_crc)
		thrift_write_field_i32(out, &st, 4, h->crc);
	if (h->has_data_page_header) {
		const pq_data_page_header *d = &h->data_page_header;
		thrift_struct in;
		thrift_write_field_begin(out, &st, THRIFT_STRUCT, 5);
		thrift_write_struct_begin(&in);
		thrift_write_field_i32(out, &in, 1, d->num_values);
		thrift_write_field_i32(out, &in, 2, (int32_t) d->encoding);
		thrift_write_field_i32(out, &in, 3, (int32_t) d->definition_level_encoding);
		thrift_write_field_i32(out, &in, 4, (int32_t) d->repetition_level_encoding);
		if (d->has_statistics) {
			thrift_write_field_begin(out, &in, THRIFT_STRUCT, 5);
			wr_statistics(out, &d->statistics);
		}
		thrift_write_stop(out);
	}
	if (h->has_index_page_header)
		wr_empty_struct(out, &st, 6);
	if (h->has_dictionary_page_header) {
		const pq_dictionary_page_header *d = &h->dictionary_page_header;
		thrift_struct in;
		thrift_write_field_begin(out, &st, THRIFT_STRUCT, 7);
		thrift_write_struct_begin(&in);
		thrift_write_field_i32(out, &in, 1, d->num_values);
		thrift_write_field_i32(out, &in, 2, (int32_t) d->encoding);
		if (d->has_is_sorted)
			thrift_write_field_bool(out, &in, 3, d->is_sorted);
		thrift_write_stop(out);
	}
	if (h->has_data_page_header_v2) {
		const pq_data_page_header_v2 *d = &h->data_page_header_v2;
		thrift_struct in;
		thrift_write_field_begin(out, &st, THRIFT_STRUCT, 8);
		thrift_write_struct_begin(&in);
		thrift_write_field_i32(out, &in, 1, d->num_values);
		thrift_write_field_i32(out, &in, 2, d->num_nulls);
		thrift_write_field_i32(out, &in, 3, d->num_rows);
		thrift_write_field_i32(out, &in, 4, (int32_t) d->encoding);
		thrift_write_field_i32(out, &in, 5, d->definition_levels_byte_length);
		thrift_write_field_i32(out, &in, 6, d->repetition_levels_byte_length);
		thrift_write_field_bool(out, &in, 7, d->is_compressed);
		if (d->has_statistics) {
			thrift_write_field_begin(out, &in, THRIFT_STRUCT, 8);
			wr_statistics(out, &d->statistics);
		}
		thrift_write_stop(out);
	}
	thrift_write_stop(out);
}
