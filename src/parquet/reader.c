/*
 * reader.c — Parquet file → schema → projected row groups → lk_batch.
 *
 * File layout (parquet-format):
 *
 *   "PAR1" | column chunk | column chunk | ... | FileMetaData | u32le len | "PAR1"
 *
 * A column chunk is a run of pages, each a Thrift PageHeader followed by
 * compressed_page_size bytes:
 *
 *   [dictionary page]? [data page | data page v2 | index page]*
 *
 * Data page v1 body (all of it compressed as one block):
 *   [rep levels][def levels][values]
 *   levels: RLE → u32le byte length + RLE/bit-packed hybrid;
 *           BIT_PACKED (legacy) → ceil(num_values * bit_width / 8) bytes
 *   (a section is absent when its max level is 0)
 * Data page v2 body:
 *   [rep levels: repetition_levels_byte_length][def levels: ...][values]
 *   levels are RLE without length prefix and never compressed; only the
 *   values are (when is_compressed).
 * Dictionary-encoded values: u8 bit width, then RLE/bit-packed indices.
 * RLE booleans: u32le byte length + RLE/bit-packed hybrid of width 1.
 *
 * How a row group is read: for each projected top-level column, each of its
 * leaf column chunks is read with one pread of exactly its byte range,
 * pages are decoded one at a time straight into the leaf's lk_column
 * (values of defined entries first, then spread in place over the page's
 * slots, leaving null slots zeroed / empty), and, for nested columns, the
 * leaf's levels are kept to rebuild the struct validity and list/map
 * offsets above it (schema_map.h explains slots).  All buffers are kept in the
 * reader and reused from one row group to the next.
 *
 * Integrity checks: CRCs when present, levels <= max, repetition levels
 * start each record with 0 and only repeat a level that was entered,
 * dictionary indices < dictionary size, every leaf yields exactly the row
 * group's num_rows records (a column without definition levels thus has a
 * value in every row).
 *
 * Assumes a little-endian host (PLAIN values are copied as they are).
 */
#include "parquet/parquet.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "parquet/compress.h"
#include "parquet/encoding.h"
#include "parquet/meta.h"
#include "parquet/schema_map.h"

#define MAX_PAGE_BYTES ((int64_t) 1 << 30)

/* Per-leaf state kept across pages (and its memory across row groups). */
typedef struct leaf_state {
	uint8_t *def, *rep;        /* retained levels (nested leaves) */
	int64_t nlev, lev_cap;
	lk_column dict;            /* dictionary values, in the leaf's lk type */
	bool has_dict;
	bool dict_init;
	lk_column sel;             /* one decoded page (row selection reads) */
	bool sel_init;
	int64_t rows;              /* records seen in this chunk */
	int prev_def;              /* def level of the previous entry, -1 at start */
} leaf_state;

struct pq_reader {
	pq_input in;
	const char *name;
	lk_arena arena;            /* footer, schema: the reader's lifetime */
	uint8_t *footer;
	pq_file_meta fm;
	pq_schema schema;
	leaf_state *ls;

	/* projection */
	lk_arena proj_arena;
	const lk_type *out_schema;
	int nout;
	int *proj;                 /* schema.cols index, -1 = all-null column */

	/* buffers reused across pages and row groups */
	uint8_t *chunk;
	size_t chunk_cap;
	uint8_t *page;
	size_t page_cap;
	uint32_t *lv_def, *lv_rep; /* page levels */
	size_t lv_def_cap, lv_rep_cap;
	uint32_t *idx;
	size_t idx_cap;
	uint8_t *scratch;
	size_t scratch_cap;
	lk_arena page_arena;       /* page headers, DELTA_BYTE_ARRAY values */

	/* current chunk, for messages */
	const pq_leaf *leaf;
	uint64_t page_off;
	int64_t rg_rows;
	bool legacy_mr_sizes;      /* created_by parquet-mr < 1.2.9 */
};

/* ---- errors ------------------------------------------------------------ */

static bool
rd_error(pq_reader *r, lk_error *err, lk_error_code code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static bool
rd_error(pq_reader *r, lk_error *err, lk_error_code code, const char *fmt, ...)
{
	if (!err)
		return false;
	va_list ap;
	char msg[sizeof(err->msg)];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lk_error_set(err, code, "%s", msg);
	if (r->leaf)
		lk_error_where(err, "file \"%s\", column \"%s\", page at byte %llu",
					   r->name, r->leaf->path, (unsigned long long) r->page_off);
	else
		lk_error_where(err, "file \"%s\"", r->name);
	return false;
}

/* Add file/column context to an error set by a decoder. */
static bool
rd_forward(pq_reader *r, lk_error *err)
{
	if (!err)
		return false;
	if (r->leaf)
		lk_error_add_where(err, "file \"%s\", column \"%s\", page at byte %llu",
						   r->name, r->leaf->path, (unsigned long long) r->page_off);
	else
		lk_error_add_where(err, "file \"%s\"", r->name);
	return false;
}

#define RD_TRY(r, expr, err)            \
	do {                                \
		if (!(expr))                    \
			return rd_forward(r, err);  \
	} while (0)

/* ---- small helpers ----------------------------------------------------- */

static void *
grow(void *p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return p;
	size_t c = *cap ? *cap : 1024;
	while (c < need)
		c *= 2;
	free(p);
	p = lk_xmalloc(c * elem);
	*cap = c;
	return p;
}

static uint32_t
rd_u32le(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void
ensure_validity(lk_column *c)
{
	if (!c->validity) {
		size_t nb = (size_t) (c->cap + 7) / 8;
		c->validity = lk_xmalloc(nb ? nb : 1);
		memset(c->validity, 0xff, nb ? nb : 1);
	}
}

static inline void
set_null_bit(lk_column *c, int64_t i)
{
	c->validity[i >> 3] &= (uint8_t) ~(1u << (i & 7));
}

static inline void
set_valid_bit(lk_column *c, int64_t i)
{
	c->validity[i >> 3] |= (uint8_t) (1u << (i & 7));
}

/* Count the values an RLE/bit-packed hybrid stream can produce, up to
 * `want` (cheap: walks run headers only).  Used to refuse a page whose
 * value count is not backed by its bytes before anything is allocated. */
static int64_t
rle_capacity(const uint8_t *p, size_t n, int bw, int64_t want)
{
	int64_t got = 0;
	size_t i = 0;
	size_t vbytes = (size_t) (bw + 7) / 8;
	while (got < want && i < n) {
		uint64_t h = 0;
		int shift = 0;
		for (;;) {
			if (i >= n || shift > 63)
				return got;
			uint8_t b = p[i++];
			h |= (uint64_t) (b & 0x7f) << shift;
			shift += 7;
			if (!(b & 0x80))
				break;
		}
		if (h & 1) {
			uint64_t groups = h >> 1;
			if (bw == 0)
				return want;
			uint64_t bytes = groups * (uint64_t) bw;
			if (groups > n || bytes > n - i) {
				got += (int64_t) (((uint64_t) (n - i) * 8) / (uint64_t) bw);
				return got;
			}
			i += (size_t) bytes;
			got += (int64_t) (groups * 8);
		} else {
			if (vbytes > n - i)
				return got;
			i += vbytes;
			uint64_t run = h >> 1;
			if (run >= (uint64_t) want)
				return want;
			got += (int64_t) run;
		}
	}
	return got;
}

/* ---- value conversion -------------------------------------------------- */

static float
half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t) (h >> 15) << 31;
	uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, f;
	if (exp == 0) {
		float v = ldexpf((float) mant, -24);
		return sign ? -v : v;
	}
	if (exp == 31)
		f = sign | 0x7f800000u | (mant << 13);
	else
		f = sign | ((exp + 112) << 23) | (mant << 13);
	float out;
	memcpy(&out, &f, 4);
	return out;
}

/* Big-endian two's complement of n bytes → __int128 (false: does not fit). */
static bool
be_to_i128(const uint8_t *p, size_t n, lk_int128 *out)
{
	if (n == 0) {
		*out = 0;
		return true;
	}
	if (n > 16) {
		uint8_t fill = (p[n - 16] & 0x80) ? 0xff : 0x00;
		for (size_t i = 0; i < n - 16; i++)
			if (p[i] != fill)
				return false;
		p += n - 16;
		n = 16;
	}
	unsigned __int128 u = (p[0] & 0x80) ? ~(unsigned __int128) 0 : 0;
	for (size_t i = 0; i < n; i++)
		u = (u << 8) | p[i];
	*out = (lk_int128) u;
	return true;
}

static double
be_to_double(const uint8_t *p, size_t n, int scale)
{
	double acc = 0;
	for (size_t i = 0; i < n; i++)
		acc = acc * 256.0 + p[i];
	if (n && (p[0] & 0x80))
		acc -= ldexp(1.0, (int) (8 * n));
	return acc / pow(10.0, scale);
}

/* Convert n fixed-width physical values at src (PLAIN layout) to the
 * leaf's lk values at dst. */
static bool
conv_fixed(pq_reader *r, const pq_leaf *leaf, const uint8_t *src, int64_t n,
		   void *dst, lk_error *err)
{
	int64_t i;
	if (n == 0)
		return true;
	switch (leaf->conv) {
	case PQ_CONV_I32:
	case PQ_CONV_FLOAT:
		memcpy(dst, src, (size_t) n * 4);
		return true;
	case PQ_CONV_I64:
	case PQ_CONV_DOUBLE:
		memcpy(dst, src, (size_t) n * 8);
		return true;
	case PQ_CONV_I32_TO_I8: {
		int8_t *d = dst;
		for (i = 0; i < n; i++) {
			int32_t v;
			memcpy(&v, src + 4 * i, 4);
			d[i] = (int8_t) v;
		}
		return true;
	}
	case PQ_CONV_I32_TO_I16: {
		int16_t *d = dst;
		for (i = 0; i < n; i++) {
			int32_t v;
			memcpy(&v, src + 4 * i, 4);
			d[i] = (int16_t) v;
		}
		return true;
	}
	case PQ_CONV_I32_TO_I64: {
		int64_t *d = dst;
		for (i = 0; i < n; i++) {
			int32_t v;
			memcpy(&v, src + 4 * i, 4);
			d[i] = v;
		}
		return true;
	}
	case PQ_CONV_I32_TO_DEC: {
		lk_int128 *d = dst;
		for (i = 0; i < n; i++) {
			int32_t v;
			memcpy(&v, src + 4 * i, 4);
			d[i] = v;
		}
		return true;
	}
	case PQ_CONV_I64_TO_DEC: {
		lk_int128 *d = dst;
		for (i = 0; i < n; i++) {
			int64_t v;
			memcpy(&v, src + 8 * i, 8);
			d[i] = v;
		}
		return true;
	}
	case PQ_CONV_I32_TO_DBL: {
		double *d = dst, div = pow(10.0, leaf->dec_scale);
		for (i = 0; i < n; i++) {
			int32_t v;
			memcpy(&v, src + 4 * i, 4);
			d[i] = v / div;
		}
		return true;
	}
	case PQ_CONV_I64_TO_DBL: {
		double *d = dst, div = pow(10.0, leaf->dec_scale);
		for (i = 0; i < n; i++) {
			int64_t v;
			memcpy(&v, src + 8 * i, 8);
			d[i] = (double) v / div;
		}
		return true;
	}
	case PQ_CONV_INT96: {
		/* nanoseconds of the day (u64le) + Julian day (u32le); as
		 * nanoseconds since the epoch (1677-09-21 .. 2262-04-11) */
		int64_t *d = dst;
		for (i = 0; i < n; i++) {
			int64_t nod, days_ns, v;
			uint32_t jd;
			memcpy(&nod, src + 12 * i, 8);
			memcpy(&jd, src + 12 * i + 8, 4);
			if (__builtin_mul_overflow((int64_t) jd - 2440588, INT64_C(86400000000000),
									   &days_ns) ||
				__builtin_add_overflow(days_ns, nod, &v))
				return rd_error(r, err, LK_ERR_UNSUPPORTED,
								"INT96 timestamp (julian day %u) outside the range of "
								"nanosecond timestamps", jd);
			d[i] = v;
		}
		return true;
	}
	case PQ_CONV_F16: {
		float *d = dst;
		for (i = 0; i < n; i++) {
			uint16_t h;
			memcpy(&h, src + 2 * i, 2);
			d[i] = half_to_float(h);
		}
		return true;
	}
	case PQ_CONV_FLBA_TO_DEC: {
		lk_int128 *d = dst;
		size_t w = (size_t) leaf->type_length;
		if (w == 16) {
			for (i = 0; i < n; i++) {
				uint64_t hi, lo;
				memcpy(&hi, src + 16 * i, 8);
				memcpy(&lo, src + 16 * i + 8, 8);
				d[i] = (lk_int128) (((unsigned __int128) __builtin_bswap64(hi) << 64) |
									__builtin_bswap64(lo));
			}
			return true;
		}
		if (w >= 1 && w <= 8) {
			int sh = 64 - 8 * (int) w;
			for (i = 0; i < n; i++) {
				uint64_t u = 0;
				for (size_t b = 0; b < w; b++)
					u = (u << 8) | src[w * (size_t) i + b];
				d[i] = (int64_t) (u << sh) >> sh;
			}
			return true;
		}
		for (i = 0; i < n; i++)
			if (!be_to_i128(src + w * (size_t) i, w, &d[i]))
				return rd_error(r, err, LK_ERR_CORRUPT,
								"decimal value does not fit 38 digits");
		return true;
	}
	case PQ_CONV_FLBA_TO_DBL: {
		double *d = dst;
		size_t w = (size_t) leaf->type_length;
		for (i = 0; i < n; i++)
			d[i] = be_to_double(src + w * (size_t) i, w, leaf->dec_scale);
		return true;
	}
	default:
		return rd_error(r, err, LK_ERR_INTERNAL, "no fixed conversion for this column");
	}
}

/* Physical width of a fixed-width leaf (0 for BYTE_ARRAY). */
static size_t
phys_width(const pq_leaf *leaf)
{
	switch (leaf->physical) {
	case PQ_BOOLEAN: return 1;
	case PQ_INT32: case PQ_FLOAT: return 4;
	case PQ_INT64: case PQ_DOUBLE: return 8;
	case PQ_INT96: return 12;
	case PQ_FIXED_LEN_BYTE_ARRAY: return (size_t) leaf->type_length;
	default: return 0;
	}
}

/* Append count fixed-width physical values (contiguous PLAIN layout). */
static bool
append_fixed_phys(pq_reader *r, const pq_leaf *leaf, const uint8_t *src,
				  int64_t count, lk_column *col, lk_error *err)
{
	lk_column_reserve(col, count);
	if (leaf->conv == PQ_CONV_FLBA) {
		size_t w = (size_t) leaf->type_length;
		lk_column_reserve_data(col, (int64_t) w * count);
		memcpy(col->data + col->data_len, src, w * (size_t) count);
		int64_t *o = col->offsets + col->length;
		int64_t base = col->data_len;
		for (int64_t i = 1; i <= count; i++)
			o[i] = base + (int64_t) w * i;
		col->data_len += (int64_t) w * count;
		col->length += count;
		return true;
	}
	size_t w = lk_type_width(col->type);
	LK_FORWARD(conv_fixed(r, leaf, src, count,
						  (uint8_t *) col->values + (size_t) col->length * w, err));
	col->length += count;
	return true;
}

/* Append count byte strings (views) converted to the leaf's type. */
static bool
append_views(pq_reader *r, const pq_leaf *leaf, const pq_byte_view *v,
			 int64_t count, lk_column *col, lk_error *err)
{
	lk_column_reserve(col, count);
	if (leaf->conv == PQ_CONV_BYTES || leaf->conv == PQ_CONV_FLBA) {
		int64_t total = 0;
		for (int64_t i = 0; i < count; i++) {
			if (leaf->conv == PQ_CONV_FLBA && (int32_t) v[i].len != leaf->type_length)
				return rd_error(r, err, LK_ERR_CORRUPT,
								"value of %u bytes in a FIXED_LEN_BYTE_ARRAY(%d) column",
								v[i].len, leaf->type_length);
			total += v[i].len;
		}
		lk_column_reserve_data(col, total);
		int64_t *o = col->offsets + col->length;
		uint8_t *d = col->data;
		int64_t pos = col->data_len;
		for (int64_t i = 0; i < count; i++) {
			if (v[i].len)
				memcpy(d + pos, v[i].ptr, v[i].len);
			pos += v[i].len;
			o[i + 1] = pos;
		}
		col->data_len = pos;
		col->length += count;
		return true;
	}
	if (leaf->conv == PQ_CONV_BYTES_TO_DEC || leaf->conv == PQ_CONV_FLBA_TO_DEC) {
		lk_int128 *d = (lk_int128 *) col->values + col->length;
		for (int64_t i = 0; i < count; i++)
			if (!be_to_i128(v[i].ptr, v[i].len, &d[i]))
				return rd_error(r, err, LK_ERR_CORRUPT,
								"decimal value does not fit 38 digits");
		col->length += count;
		return true;
	}
	if (leaf->conv == PQ_CONV_BYTES_TO_DBL || leaf->conv == PQ_CONV_FLBA_TO_DBL) {
		double *d = (double *) col->values + col->length;
		for (int64_t i = 0; i < count; i++)
			d[i] = be_to_double(v[i].ptr, v[i].len, leaf->dec_scale);
		col->length += count;
		return true;
	}
	if (leaf->physical == PQ_FIXED_LEN_BYTE_ARRAY) {
		/* FLBA values (half floats) through a byte-array encoding */
		size_t w = (size_t) leaf->type_length;
		uint8_t *s = r->scratch = grow(r->scratch, &r->scratch_cap,
									   w * (size_t) count, 1);
		for (int64_t i = 0; i < count; i++) {
			if (v[i].len != w)
				return rd_error(r, err, LK_ERR_CORRUPT,
								"value of %u bytes in a FIXED_LEN_BYTE_ARRAY(%d) column",
								v[i].len, leaf->type_length);
			memcpy(s + w * (size_t) i, v[i].ptr, w);
		}
		size_t lw = lk_type_width(col->type);
		LK_FORWARD(conv_fixed(r, leaf, s, count,
							  (uint8_t *) col->values + (size_t) col->length * lw, err));
		col->length += count;
		return true;
	}
	return rd_error(r, err, LK_ERR_CORRUPT, "byte-array encoding on a %s column",
					lk_type_id_name(col->type->id));
}

/* PLAIN: append count values from p[0..n). */
static bool
append_plain(pq_reader *r, const pq_leaf *leaf, const uint8_t *p, size_t n,
			 int64_t count, lk_column *col, uint64_t base, lk_error *err)
{
	if (count < 0)
		return rd_error(r, err, LK_ERR_CORRUPT, "negative value count %lld",
						(long long) count);
	if (count == 0)
		return true;
	if (leaf->physical == PQ_BOOLEAN) {
		if ((uint64_t) count > (uint64_t) n * 8)
			return rd_error(r, err, LK_ERR_CORRUPT,
							"%lld PLAIN booleans need more than the %zu bytes present",
							(long long) count, n);
		lk_column_reserve(col, count);
		size_t used;
		RD_TRY(r, pq_plain_decode_bool(p, n, count, (uint8_t *) col->values + col->length,
									   &used, base, err), err);
		col->length += count;
		return true;
	}
	if (leaf->physical == PQ_BYTE_ARRAY) {
		if ((uint64_t) count > n / 4)
			return rd_error(r, err, LK_ERR_CORRUPT,
							"%lld PLAIN byte arrays need more than the %zu bytes present",
							(long long) count, n);
		lk_column_reserve(col, count);
		if (leaf->conv == PQ_CONV_BYTES) {
			/* straight into offsets + data: at most n - 4*count bytes */
			lk_column_reserve_data(col, (int64_t) (n - 4 * (size_t) count));
			int64_t *o = col->offsets + col->length;
			uint8_t *d = col->data;
			int64_t pos = col->data_len;
			size_t off = 0;
			for (int64_t i = 0; i < count; i++) {
				/* invariant: n - off >= 4 * (count - i) */
				uint32_t len = rd_u32le(p + off);
				off += 4;
				/* the values after this one need 4 bytes each: this keeps
				 * the total within the n - 4*count reserved above */
				if (len > n - off - 4 * (size_t) (count - 1 - i))
					return rd_error(r, err, LK_ERR_CORRUPT,
									"PLAIN byte array of %u bytes past the end of the page (byte %llu)",
									len, (unsigned long long) (base + off - 4));
				if (len)
					memcpy(d + pos, p + off, len);
				off += len;
				pos += len;
				o[i + 1] = pos;
			}
			col->data_len = pos;
			col->length += count;
			return true;
		}
		pq_byte_view *v = (pq_byte_view *) (r->scratch =
			grow(r->scratch, &r->scratch_cap, sizeof(pq_byte_view) * (size_t) count, 1));
		size_t used;
		RD_TRY(r, pq_plain_decode_byte_array(p, n, count, v, &used, base, err), err);
		return append_views(r, leaf, v, count, col, err);
	}
	size_t w = phys_width(leaf);
	if ((uint64_t) count > n / w)
		return rd_error(r, err, LK_ERR_CORRUPT,
						"%lld PLAIN values of %zu bytes need more than the %zu bytes present",
						(long long) count, w, n);
	return append_fixed_phys(r, leaf, p, count, col, err);
}

/* Dictionary gather: append dict[idx[i]] for i < count. */
static bool
gather(pq_reader *r, const lk_column *dict, const uint32_t *idx, int64_t count,
	   lk_column *col, lk_error *err)
{
	uint32_t mx = 0;
	for (int64_t i = 0; i < count; i++)
		mx = idx[i] > mx ? idx[i] : mx;
	if (count && (int64_t) mx >= dict->length)
		return rd_error(r, err, LK_ERR_CORRUPT,
						"dictionary index %u out of range (dictionary has %lld values)",
						mx, (long long) dict->length);
	lk_column_reserve(col, count);
	size_t w = lk_type_width(col->type);
	if (w) {
		void *dst = (uint8_t *) col->values + (size_t) col->length * w;
		switch (w) {
		case 1: {
			uint8_t *d = dst;
			const uint8_t *s = dict->values;
			for (int64_t i = 0; i < count; i++)
				d[i] = s[idx[i]];
			break;
		}
		case 2: {
			uint16_t *d = dst;
			const uint16_t *s = dict->values;
			for (int64_t i = 0; i < count; i++)
				d[i] = s[idx[i]];
			break;
		}
		case 4: {
			uint32_t *d = dst;
			const uint32_t *s = dict->values;
			for (int64_t i = 0; i < count; i++)
				d[i] = s[idx[i]];
			break;
		}
		case 8: {
			uint64_t *d = dst;
			const uint64_t *s = dict->values;
			for (int64_t i = 0; i < count; i++)
				d[i] = s[idx[i]];
			break;
		}
		default: {
			lk_int128 *d = dst;
			const lk_int128 *s = dict->values;
			for (int64_t i = 0; i < count; i++)
				d[i] = s[idx[i]];
			break;
		}
		}
		col->length += count;
		return true;
	}
	const int64_t *so = dict->offsets;
	int64_t total = 0;
	for (int64_t i = 0; i < count; i++)
		total += so[idx[i] + 1] - so[idx[i]];
	lk_column_reserve_data(col, total);
	int64_t *o = col->offsets + col->length;
	uint8_t *d = col->data;
	const uint8_t *sd = dict->data;
	int64_t pos = col->data_len;
	for (int64_t i = 0; i < count; i++) {
		int64_t a = so[idx[i]], len = so[idx[i] + 1] - a;
		if (len)
			memcpy(d + pos, sd + a, (size_t) len);
		pos += len;
		o[i + 1] = pos;
	}
	col->data_len = pos;
	col->length += count;
	return true;
}

/* Decode `count` defined values of one page from p[0..n) in encoding enc
 * and append them to col. */
static bool
decode_values(pq_reader *r, const pq_leaf *leaf, leaf_state *ls, int enc,
			  const uint8_t *p, size_t n, int64_t count, lk_column *col,
			  uint64_t base, lk_error *err)
{
	if (count == 0)
		return true;
	switch (enc) {
	case PQ_ENC_PLAIN:
		return append_plain(r, leaf, p, n, count, col, base, err);

	case PQ_ENC_PLAIN_DICTIONARY:
	case PQ_ENC_RLE_DICTIONARY: {
		if (!ls->has_dict)
			return rd_error(r, err, LK_ERR_CORRUPT,
							"dictionary-encoded page without a dictionary page");
		if (n < 1)
			return rd_error(r, err, LK_ERR_CORRUPT,
							"dictionary-encoded page without a bit width byte");
		int bw = p[0];
		if (bw > 32)
			return rd_error(r, err, LK_ERR_CORRUPT,
							"dictionary index bit width %d is larger than 32", bw);
		if (rle_capacity(p + 1, n - 1, bw, count) < count)
			return rd_error(r, err, LK_ERR_CORRUPT,
							"page holds fewer dictionary indices than its %lld values",
							(long long) count);
		r->idx = grow(r->idx, &r->idx_cap, (size_t) count, sizeof(uint32_t));
		pq_rle_decoder d;
		pq_rle_decoder_init(&d, p + 1, n - 1, bw, base + 1);
		RD_TRY(r, pq_rle_decoder_get(&d, r->idx, count, err), err);
		return gather(r, &ls->dict, r->idx, count, col, err);
	}

	case PQ_ENC_RLE: {
		if (leaf->physical != PQ_BOOLEAN)
			return rd_error(r, err, LK_ERR_UNSUPPORTED,
							"RLE encoding of values is only defined for booleans");
		if (n < 4)
			return rd_error(r, err, LK_ERR_CORRUPT, "RLE booleans without a length prefix");
		uint32_t len = rd_u32le(p);
		if (len > n - 4)
			return rd_error(r, err, LK_ERR_CORRUPT,
							"RLE booleans of %u bytes past the end of the page", len);
		if (rle_capacity(p + 4, len, 1, count) < count)
			return rd_error(r, err, LK_ERR_CORRUPT,
							"page holds fewer booleans than its %lld values",
							(long long) count);
		r->idx = grow(r->idx, &r->idx_cap, (size_t) count, sizeof(uint32_t));
		pq_rle_decoder d;
		pq_rle_decoder_init(&d, p + 4, len, 1, base + 4);
		RD_TRY(r, pq_rle_decoder_get(&d, r->idx, count, err), err);
		lk_column_reserve(col, count);
		uint8_t *dst = (uint8_t *) col->values + col->length;
		for (int64_t i = 0; i < count; i++)
			dst[i] = (uint8_t) (r->idx[i] & 1);
		col->length += count;
		return true;
	}

	case PQ_ENC_DELTA_BINARY_PACKED: {
		if (leaf->physical != PQ_INT32 && leaf->physical != PQ_INT64)
			return rd_error(r, err, LK_ERR_CORRUPT,
							"DELTA_BINARY_PACKED on a non-integer column");
		/* a block of 128 values costs at least a few bytes */
		if ((uint64_t) count > (uint64_t) n * 128 + 128)
			return rd_error(r, err, LK_ERR_CORRUPT,
							"page of %zu bytes cannot hold %lld delta-encoded values",
							n, (long long) count);
		size_t used;
		lk_column_reserve(col, count);
		if (leaf->conv == PQ_CONV_I32) {
			RD_TRY(r, pq_delta_bp_decode_i32(p, n, count,
											 (int32_t *) col->values + col->length,
											 &used, base, err), err);
			col->length += count;
			return true;
		}
		if (leaf->conv == PQ_CONV_I64) {
			RD_TRY(r, pq_delta_bp_decode_i64(p, n, count,
											 (int64_t *) col->values + col->length,
											 &used, base, err), err);
			col->length += count;
			return true;
		}
		size_t w = phys_width(leaf);
		r->scratch = grow(r->scratch, &r->scratch_cap, w * (size_t) count, 1);
		if (leaf->physical == PQ_INT32)
			RD_TRY(r, pq_delta_bp_decode_i32(p, n, count, (int32_t *) r->scratch,
											 &used, base, err), err);
		else
			RD_TRY(r, pq_delta_bp_decode_i64(p, n, count, (int64_t *) r->scratch,
											 &used, base, err), err);
		return append_fixed_phys(r, leaf, r->scratch, count, col, err);
	}

	case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY:
	case PQ_ENC_DELTA_BYTE_ARRAY: {
		if (leaf->physical != PQ_BYTE_ARRAY &&
			!(enc == PQ_ENC_DELTA_BYTE_ARRAY && leaf->physical == PQ_FIXED_LEN_BYTE_ARRAY))
			return rd_error(r, err, LK_ERR_CORRUPT,
							"byte-array delta encoding on a fixed-width column");
		if ((uint64_t) count > (uint64_t) n * 128 + 128)
			return rd_error(r, err, LK_ERR_CORRUPT,
							"page of %zu bytes cannot hold %lld delta-encoded values",
							n, (long long) count);
		size_t used;
		pq_byte_view *v = (pq_byte_view *) (r->idx =
			grow(r->idx, &r->idx_cap,
				 (sizeof(pq_byte_view) * (size_t) count + 3) / 4, sizeof(uint32_t)));
		if (enc == PQ_ENC_DELTA_LENGTH_BYTE_ARRAY)
			RD_TRY(r, pq_delta_length_decode(p, n, count, v, &used, base, err), err);
		else
			RD_TRY(r, pq_delta_byte_array_decode(p, n, count, v, &r->page_arena,
												 &used, base, err), err);
		return append_views(r, leaf, v, count, col, err);
	}

	case PQ_ENC_BYTE_STREAM_SPLIT: {
		size_t w = phys_width(leaf);
		if (leaf->physical == PQ_BOOLEAN || leaf->physical == PQ_BYTE_ARRAY ||
			leaf->physical == PQ_INT96)
			return rd_error(r, err, LK_ERR_CORRUPT,
							"BYTE_STREAM_SPLIT on a column without fixed-width values");
		if ((uint64_t) count > n / w)
			return rd_error(r, err, LK_ERR_CORRUPT,
							"%lld BYTE_STREAM_SPLIT values need more than the %zu bytes present",
							(long long) count, n);
		if (leaf->conv == PQ_CONV_I32 || leaf->conv == PQ_CONV_I64 ||
			leaf->conv == PQ_CONV_FLOAT || leaf->conv == PQ_CONV_DOUBLE) {
			lk_column_reserve(col, count);
			RD_TRY(r, pq_bss_decode(p, n, w, count,
									(uint8_t *) col->values + (size_t) col->length * w,
									base, err), err);
			col->length += count;
			return true;
		}
		r->scratch = grow(r->scratch, &r->scratch_cap, w * (size_t) count, 1);
		RD_TRY(r, pq_bss_decode(p, n, w, count, r->scratch, base, err), err);
		return append_fixed_phys(r, leaf, r->scratch, count, col, err);
	}

	default:
		return rd_error(r, err, LK_ERR_UNSUPPORTED, "unsupported value encoding %d", enc);
	}
}

/* ---- levels ------------------------------------------------------------ */

/* One level section: where it is and how it is encoded.  Checked against
 * the bytes present (nv levels must be there) before anything is
 * allocated for them. */
typedef struct level_sec {
	const uint8_t *p;
	size_t len;
	int enc;
	int bw;
	uint64_t base;
} level_sec;

/* v1 layout at p[*off]: RLE → u32le length + hybrid; BIT_PACKED (legacy)
 * → ceil(nv * bw / 8) bytes. */
static bool
level_section_v1(pq_reader *r, const uint8_t *p, size_t n, size_t *off, int enc,
				 int max_level, int64_t nv, uint64_t base, level_sec *sec,
				 lk_error *err)
{
	int bw = pq_bit_width((uint64_t) max_level);
	size_t o = *off;
	sec->enc = enc;
	sec->bw = bw;
	if (enc == PQ_ENC_RLE) {
		if (n - o < 4)
			return rd_error(r, err, LK_ERR_CORRUPT, "levels without a length prefix");
		uint32_t len = rd_u32le(p + o);
		o += 4;
		if (len > n - o)
			return rd_error(r, err, LK_ERR_CORRUPT,
							"levels of %u bytes past the end of the page", len);
		if (rle_capacity(p + o, len, bw, nv) < nv)
			return rd_error(r, err, LK_ERR_CORRUPT,
							"page has fewer levels than its %lld values", (long long) nv);
		sec->p = p + o;
		sec->len = len;
		sec->base = base + o;
		*off = o + len;
		return true;
	}
	if (enc == PQ_ENC_BIT_PACKED) {
		uint64_t bytes = ((uint64_t) nv * (uint64_t) bw + 7) / 8;
		if (bytes > n - o)
			return rd_error(r, err, LK_ERR_CORRUPT,
							"bit-packed levels past the end of the page");
		sec->p = p + o;
		sec->len = (size_t) bytes;
		sec->base = base + o;
		*off = o + (size_t) bytes;
		return true;
	}
	return rd_error(r, err, LK_ERR_UNSUPPORTED, "unsupported level encoding %d", enc);
}

/* v2 layout: RLE hybrid without a length prefix, len bytes. */
static bool
level_section_v2(pq_reader *r, const uint8_t *p, size_t len, int max_level,
				 int64_t nv, uint64_t base, level_sec *sec, lk_error *err)
{
	sec->enc = PQ_ENC_RLE;
	sec->bw = pq_bit_width((uint64_t) max_level);
	sec->p = p;
	sec->len = len;
	sec->base = base;
	if (rle_capacity(p, len, sec->bw, nv) < nv)
		return rd_error(r, err, LK_ERR_CORRUPT,
						"page has fewer levels than its %lld values", (long long) nv);
	return true;
}

static bool
decode_level_section(pq_reader *r, const level_sec *sec, int64_t nv, uint32_t *out,
					 lk_error *err)
{
	if (sec->enc == PQ_ENC_BIT_PACKED) {
		RD_TRY(r, pq_bitpacked_legacy_decode(sec->p, sec->len, sec->bw, out, nv,
											 sec->base, err), err);
		return true;
	}
	pq_rle_decoder d;
	pq_rle_decoder_init(&d, sec->p, sec->len, sec->bw, sec->base);
	RD_TRY(r, pq_rle_decoder_get(&d, out, nv, err), err);
	return true;
}

/* Decode the page's level sections into r->lv_rep / r->lv_def. */
static bool
decode_page_levels(pq_reader *r, const pq_leaf *leaf, int64_t nv,
				   const level_sec *rsec, const level_sec *dsec, uint32_t **rep,
				   uint32_t **def, lk_error *err)
{
	*rep = NULL;
	*def = NULL;
	if (leaf->max_rep > 0) {
		r->lv_rep = grow(r->lv_rep, &r->lv_rep_cap, (size_t) nv, sizeof(uint32_t));
		*rep = r->lv_rep;
		LK_FORWARD(decode_level_section(r, rsec, nv, *rep, err));
	}
	if (leaf->max_def > 0) {
		r->lv_def = grow(r->lv_def, &r->lv_def_cap, (size_t) nv, sizeof(uint32_t));
		*def = r->lv_def;
		LK_FORWARD(decode_level_section(r, dsec, nv, *def, err));
	}
	return true;
}

/* ---- pages ------------------------------------------------------------- */

/* Spread the n_dense values appended at col[L0..] over the page's slots
 * (entries with def >= def_slot), backwards and in place (a value only
 * moves to a higher index).  Null slots get a zero value / an empty range
 * and a cleared validity bit; the bits of valid slots are already set
 * (bits at and past a column's length are always 1, see batch.c).  One
 * loop per value width, no call per value. */
#define EXPAND_LOOP(MOVE, ZERO)                                   \
	for (int64_t i = nv - 1; i >= 0; i--) {                       \
		int d = (int) def[i];                                     \
		if (d < def_slot)                                         \
			continue;                                             \
		int64_t at = L0 + --s;                                    \
		if (d == max_def) {                                       \
			--k;                                                  \
			MOVE;                                                 \
		} else {                                                  \
			ZERO;                                                 \
			vb[at >> 3] &= (uint8_t) ~(1u << (at & 7));           \
			nulls++;                                              \
		}                                                         \
	}

static void
expand_slots(lk_column *col, int64_t L0, const uint32_t *def, int64_t nv,
			 int def_slot, int max_def, int64_t n_dense, int64_t n_slots)
{
	ensure_validity(col);
	uint8_t *vb = col->validity;
	int64_t k = n_dense, s = n_slots, nulls = 0;
	switch (lk_type_width(col->type)) {
	case 0: {
		int64_t *o = col->offsets;
		EXPAND_LOOP(o[at + 1] = o[L0 + k + 1], o[at + 1] = o[L0 + k]);
		break;
	}
	case 1: {
		uint8_t *v = col->values;
		EXPAND_LOOP(v[at] = v[L0 + k], v[at] = 0);
		break;
	}
	case 2: {
		uint16_t *v = col->values;
		EXPAND_LOOP(v[at] = v[L0 + k], v[at] = 0);
		break;
	}
	case 4: {
		uint32_t *v = col->values;
		EXPAND_LOOP(v[at] = v[L0 + k], v[at] = 0);
		break;
	}
	case 8: {
		uint64_t *v = col->values;
		EXPAND_LOOP(v[at] = v[L0 + k], v[at] = 0);
		break;
	}
	default: {
		lk_int128 *v = col->values;
		EXPAND_LOOP(v[at] = v[L0 + k], v[at] = 0);
		break;
	}
	}
	col->length = L0 + n_slots;
	col->null_count += nulls;
}

/* Everything about one data page after decompression: levels decoded
 * into r->lv_def / r->lv_rep (NULL when the max level is 0). */
static bool
process_page(pq_reader *r, const pq_leaf *leaf, leaf_state *ls, lk_column *col,
			 bool retain, int64_t nv, const uint32_t *def, const uint32_t *rep,
			 int enc, const uint8_t *vals, size_t vlen, uint64_t vbase,
			 lk_error *err)
{
	int max_def = leaf->max_def, max_rep = leaf->max_rep, def_slot = leaf->def_slot;
	int64_t n_dense = nv, n_slots = nv, records = nv;

	if (def) {
		n_dense = 0;
		uint32_t mx = 0;
		for (int64_t i = 0; i < nv; i++) {
			uint32_t d = def[i];
			mx = d > mx ? d : mx;
			n_dense += d == (uint32_t) max_def;
		}
		if (def_slot > 0) {
			n_slots = 0;
			for (int64_t i = 0; i < nv; i++)
				n_slots += def[i] >= (uint32_t) def_slot;
		}
		if (mx > (uint32_t) max_def)
			return rd_error(r, err, LK_ERR_CORRUPT,
							"definition level %u above the maximum %d", mx, max_def);
	}
	if (rep) {
		records = 0;
		int prev = ls->prev_def;
		for (int64_t i = 0; i < nv; i++) {
			uint32_t rl = rep[i];
			if (rl > (uint32_t) max_rep)
				return rd_error(r, err, LK_ERR_CORRUPT,
								"repetition level %u above the maximum %d", rl, max_rep);
			if (prev < 0 ? rl != 0 : rl > (uint32_t) leaf->rep_at_def[prev])
				return rd_error(r, err, LK_ERR_CORRUPT,
								"repetition level %u at value %lld repeats a list that was not entered%s",
								rl, (long long) i,
								prev < 0 ? " (the first level must be 0)" : "");
			records += rl == 0;
			prev = def ? (int) def[i] : 0;
		}
		ls->prev_def = prev;
	}
	if (ls->rows + records > r->rg_rows)
		return rd_error(r, err, LK_ERR_CORRUPT,
						"column has more than the row group's %lld rows",
						(long long) r->rg_rows);
	ls->rows += records;

	if (retain) {
		if ((size_t) (ls->nlev + nv) > (size_t) ls->lev_cap) {
			int64_t cap = ls->lev_cap ? ls->lev_cap : 1024;
			while (cap < ls->nlev + nv)
				cap *= 2;
			ls->def = lk_xrealloc(ls->def, (size_t) cap);
			ls->rep = lk_xrealloc(ls->rep, (size_t) cap);
			ls->lev_cap = cap;
		}
		uint8_t *dd = ls->def + ls->nlev, *rr = ls->rep + ls->nlev;
		if (def)
			for (int64_t i = 0; i < nv; i++)
				dd[i] = (uint8_t) def[i];
		else
			memset(dd, 0, (size_t) nv);
		if (rep)
			for (int64_t i = 0; i < nv; i++)
				rr[i] = (uint8_t) rep[i];
		else
			memset(rr, 0, (size_t) nv);
		ls->nlev += nv;
	}

	int64_t L0 = col->length;
	lk_column_reserve(col, n_slots);
	LK_FORWARD(decode_values(r, leaf, ls, enc, vals, vlen, n_dense, col, vbase, err));
	if (col->length != L0 + n_dense)
		return rd_error(r, err, LK_ERR_INTERNAL, "decoded value count mismatch");
	if (n_slots != n_dense)
		expand_slots(col, L0, def, nv, def_slot, max_def, n_dense, n_slots);
	return true;
}

static bool
check_nv(pq_reader *r, const pq_leaf *leaf, leaf_state *ls, int64_t nv,
		 int64_t chunk_values, lk_error *err)
{
	if (nv < 0)
		return rd_error(r, err, LK_ERR_CORRUPT, "negative num_values %lld", (long long) nv);
	if (leaf->max_rep == 0) {
		if (nv > r->rg_rows - ls->rows)
			return rd_error(r, err, LK_ERR_CORRUPT,
							"page of %lld values past the row group's %lld rows",
							(long long) nv, (long long) r->rg_rows);
	} else if (ls->nlev + nv > chunk_values) {
		return rd_error(r, err, LK_ERR_CORRUPT,
						"pages hold more than the column chunk's %lld values",
						(long long) chunk_values);
	}
	return true;
}

/* Decompress a page body into r->page; returns the bytes via *out. */
static bool
page_bytes(pq_reader *r, int codec, const uint8_t *body, size_t len, int64_t usize,
		   const uint8_t **out, size_t *outlen, lk_error *err)
{
	if (codec == PQ_CODEC_UNCOMPRESSED || (len == 0 && usize == 0)) {
		*out = body;
		*outlen = len;
		return true;
	}
	/* The buffer is sized by the header's claim: bound the claim by what
	 * the codec can expand len bytes to (deflate 1032:1, snappy ~22:1,
	 * LZ4 255:1; zstd and brotli only by the absolute cap). */
	uint64_t most = MAX_PAGE_BYTES;
	switch (codec) {
	case PQ_CODEC_SNAPPY: most = (uint64_t) len * 32 + 1024; break;
	case PQ_CODEC_GZIP: most = (uint64_t) len * 1100 + 1024; break;
	case PQ_CODEC_LZ4_RAW:
	case PQ_CODEC_LZ4_HADOOP: most = (uint64_t) len * 256 + 1024; break;
	default: break;
	}
	if (usize < 0 || usize > MAX_PAGE_BYTES || (uint64_t) usize > most)
		return rd_error(r, err, LK_ERR_CORRUPT,
						"uncompressed page size %lld out of range for %zu compressed bytes",
						(long long) usize, len);
	r->page = grow(r->page, &r->page_cap, (size_t) usize + 1, 1);
	RD_TRY(r, pq_decompress(codec, body, len, r->page, (size_t) usize, err), err);
	*out = r->page;
	*outlen = (size_t) usize;
	return true;
}

static bool
read_dict_page(pq_reader *r, const pq_leaf *leaf, leaf_state *ls, int codec,
			   const pq_page_header *h, const uint8_t *body, size_t len,
			   uint64_t base, lk_error *err)
{
	if (!h->has_dictionary_page_header)
		return rd_error(r, err, LK_ERR_CORRUPT, "dictionary page without its header");
	if (ls->has_dict)
		return rd_error(r, err, LK_ERR_CORRUPT, "second dictionary page in a column chunk");
	if (ls->nlev || ls->rows)
		return rd_error(r, err, LK_ERR_CORRUPT, "dictionary page after a data page");
	const pq_dictionary_page_header *dh = &h->dictionary_page_header;
	if (dh->num_values < 0)
		return rd_error(r, err, LK_ERR_CORRUPT, "dictionary with %d values",
						dh->num_values);
	if (dh->encoding != PQ_ENC_PLAIN && dh->encoding != PQ_ENC_PLAIN_DICTIONARY)
		return rd_error(r, err, LK_ERR_UNSUPPORTED, "dictionary page encoding %d",
						dh->encoding);
	const uint8_t *p;
	size_t n;
	LK_FORWARD(page_bytes(r, codec, body, len, h->uncompressed_page_size, &p, &n, err));
	if (!ls->dict_init) {
		lk_column_init(&ls->dict, leaf->type);
		ls->dict_init = true;
	}
	lk_column_reset(&ls->dict);
	LK_FORWARD(append_plain(r, leaf, p, n, dh->num_values, &ls->dict, base, err));
	ls->has_dict = true;
	return true;
}

static bool
read_data_page_v1(pq_reader *r, const pq_leaf *leaf, leaf_state *ls, lk_column *col,
				  bool retain, int codec, int64_t chunk_values,
				  const pq_page_header *h, const uint8_t *body, size_t len,
				  uint64_t base, lk_error *err)
{
	if (!h->has_data_page_header)
		return rd_error(r, err, LK_ERR_CORRUPT, "data page without its header");
	const pq_data_page_header *dh = &h->data_page_header;
	int64_t nv = dh->num_values;
	LK_FORWARD(check_nv(r, leaf, ls, nv, chunk_values, err));
	const uint8_t *p;
	size_t n;
	LK_FORWARD(page_bytes(r, codec, body, len, h->uncompressed_page_size, &p, &n, err));
	uint64_t pbase = codec == PQ_CODEC_UNCOMPRESSED ? base : 0;
	size_t off = 0;
	level_sec rsec, dsec;
	if (leaf->max_rep > 0)
		LK_FORWARD(level_section_v1(r, p, n, &off, dh->repetition_level_encoding,
									leaf->max_rep, nv, pbase, &rsec, err));
	if (leaf->max_def > 0)
		LK_FORWARD(level_section_v1(r, p, n, &off, dh->definition_level_encoding,
									leaf->max_def, nv, pbase, &dsec, err));
	uint32_t *def, *rep;
	LK_FORWARD(decode_page_levels(r, leaf, nv, &rsec, &dsec, &rep, &def, err));
	return process_page(r, leaf, ls, col, retain, nv, def, rep, dh->encoding,
						p + off, n - off, pbase + off, err);
}

static bool
read_data_page_v2(pq_reader *r, const pq_leaf *leaf, leaf_state *ls, lk_column *col,
				  bool retain, int codec, int64_t chunk_values,
				  const pq_page_header *h, const uint8_t *body, size_t len,
				  uint64_t base, lk_error *err)
{
	if (!h->has_data_page_header_v2)
		return rd_error(r, err, LK_ERR_CORRUPT, "data page v2 without its header");
	const pq_data_page_header_v2 *dh = &h->data_page_header_v2;
	int64_t nv = dh->num_values;
	LK_FORWARD(check_nv(r, leaf, ls, nv, chunk_values, err));
	int64_t rl = dh->repetition_levels_byte_length, dl = dh->definition_levels_byte_length;
	if (rl < 0 || dl < 0 || rl + dl > (int64_t) len)
		return rd_error(r, err, LK_ERR_CORRUPT,
						"level lengths %lld + %lld past the page's %zu bytes",
						(long long) rl, (long long) dl, len);
	level_sec rsec, dsec;
	if (leaf->max_rep > 0)
		LK_FORWARD(level_section_v2(r, body, (size_t) rl, leaf->max_rep, nv, base,
									&rsec, err));
	if (leaf->max_def > 0)
		LK_FORWARD(level_section_v2(r, body + rl, (size_t) dl, leaf->max_def, nv,
									base + (uint64_t) rl, &dsec, err));
	uint32_t *def, *rep;
	LK_FORWARD(decode_page_levels(r, leaf, nv, &rsec, &dsec, &rep, &def, err));
	const uint8_t *vals = body + rl + dl;
	size_t vlen = len - (size_t) (rl + dl);
	uint64_t vbase = base + (uint64_t) (rl + dl);
	if (codec != PQ_CODEC_UNCOMPRESSED && dh->is_compressed && vlen > 0) {
		int64_t usize = (int64_t) h->uncompressed_page_size - rl - dl;
		if (usize < 0)
			return rd_error(r, err, LK_ERR_CORRUPT,
							"uncompressed page size smaller than its levels");
		LK_FORWARD(page_bytes(r, codec, vals, vlen, usize, &vals, &vlen, err));
		vbase = 0;
	}
	return process_page(r, leaf, ls, col, retain, nv, def, rep, dh->encoding,
						vals, vlen, vbase, err);
}

/* ---- column chunks ----------------------------------------------------- */

/* sel (top-level leaves only, NULL: every row): col receives only rows
 * sel[0..nsel) of the row group (ascending, distinct); a data page without
 * one of them is skipped undecompressed, the others are decoded into the
 * leaf's page column and the wanted rows copied from there. */
static bool
read_leaf(pq_reader *r, const pq_row_group *g, int li, lk_column *col, bool retain,
		  const int64_t *sel, int64_t nsel, lk_error *err)
{
	const pq_leaf *leaf = &r->schema.leaves[li];
	leaf_state *ls = &r->ls[li];
	const pq_column_chunk *cc = &g->columns[li];
	r->leaf = leaf;
	r->page_off = 0;

	if (!cc->has_meta_data)
		return rd_error(r, err, LK_ERR_CORRUPT, "column chunk without metadata");
	if (cc->has_crypto_metadata)
		return rd_error(r, err, LK_ERR_UNSUPPORTED, "encrypted column chunk");
	if (cc->file_path && cc->file_path[0])
		return rd_error(r, err, LK_ERR_UNSUPPORTED,
						"column chunk in another file (\"%s\")", cc->file_path);
	const pq_column_meta *m = &cc->meta_data;
	if (m->type != leaf->physical)
		return rd_error(r, err, LK_ERR_CORRUPT,
						"column chunk's physical type %d differs from the schema's %d",
						m->type, leaf->physical);
	/* The chunk starts at its dictionary page when there is one before
	 * the data pages; dictionary_page_offset 0 means "none" (a writer
	 * quirk), and a data_page_offset below 4 cannot be right. */
	int64_t start = m->data_page_offset;
	if (m->has_dictionary_page_offset && m->dictionary_page_offset >= 4 &&
		(m->dictionary_page_offset < start || start < 4))
		start = m->dictionary_page_offset;
	int64_t clen = m->total_compressed_size;
	uint64_t fsize = r->in.size;
	if (m->num_values < 0)
		return rd_error(r, err, LK_ERR_CORRUPT, "column chunk with negative num_values");
	if (g->num_rows == 0) {
		lk_column_reserve(col, 1);
		if (lk_type_is_varlen(col->type))
			lk_column_reserve_data(col, 1);
		return true;
	}
	if (start < 4 || clen < 0 || (uint64_t) start > fsize ||
		(uint64_t) clen > fsize - (uint64_t) start)
		return rd_error(r, err, LK_ERR_CORRUPT,
						"column chunk at byte %lld of %lld bytes is outside the file (%llu bytes)",
						(long long) start, (long long) clen, (unsigned long long) fsize);
	/* parquet-mr before 1.2.9 left the dictionary page header out of
	 * total_compressed_size: read up to 100 more bytes, as other readers do */
	if (r->legacy_mr_sizes) {
		uint64_t room = fsize - (uint64_t) start - (uint64_t) clen;
		clen += (int64_t) (room < 100 ? room : 100);
	}

	r->chunk = grow(r->chunk, &r->chunk_cap, (size_t) clen + 1, 1);
	r->page_off = (uint64_t) start;
	if (clen && !r->in.read_at(r->in.ctx, (uint64_t) start, r->chunk, (size_t) clen, err))
		return rd_forward(r, err);

	/* Room for the whole chunk up front (values decode straight into it,
	 * no regrowth): a top-level leaf has one slot per row.  Bounded by
	 * the chunk's declared size so a lying footer cannot make it huge. */
	if (sel) {
		lk_column_reserve(col, nsel ? nsel : 1);
		if (!ls->sel_init) {
			lk_column_init(&ls->sel, col->type);
			ls->sel_init = true;
		}
	} else if (!retain) {
		int64_t cap = m->total_uncompressed_size > ((int64_t) 1 << 20)
			? m->total_uncompressed_size : ((int64_t) 1 << 20);
		lk_column_reserve(col, g->num_rows < cap ? g->num_rows : cap);
		if (lk_type_is_varlen(col->type) && m->total_uncompressed_size > 0)
			lk_column_reserve_data(col, m->total_uncompressed_size < ((int64_t) 1 << 26)
								   ? m->total_uncompressed_size : ((int64_t) 1 << 26));
	}
	ls->nlev = 0;
	ls->has_dict = false;
	ls->rows = 0;
	ls->prev_def = -1;
	size_t pos = 0;
	int64_t si = 0;            /* next wanted row (sel) */
	size_t real_end = (size_t) m->total_compressed_size;
	while (pos < (r->legacy_mr_sizes ? real_end : (size_t) clen)) {
		uint64_t at = (uint64_t) start + pos;
		r->page_off = at;
		lk_arena_reset(&r->page_arena);
		pq_page_header h;
		size_t used;
		RD_TRY(r, pq_meta_read_page_header(r->chunk + pos, (size_t) clen - pos, at,
										   &r->page_arena, &h, &used, err), err);
		size_t body_at = pos + used;
		if (h.compressed_page_size < 0 ||
			(uint64_t) h.compressed_page_size > (uint64_t) clen - body_at)
			return rd_error(r, err, LK_ERR_CORRUPT,
							"page of %d bytes past the end of the column chunk",
							h.compressed_page_size);
		const uint8_t *body = r->chunk + body_at;
		size_t blen = (size_t) h.compressed_page_size;
		uint64_t bbase = (uint64_t) start + body_at;
		lk_column *dst = col;
		int64_t first = ls->rows;
		if (sel && (h.type == PQ_PAGE_DATA || h.type == PQ_PAGE_DATA_V2)) {
			/* a flat leaf: one value per row */
			int64_t nv = h.type == PQ_PAGE_DATA
				? (h.has_data_page_header ? h.data_page_header.num_values : -1)
				: (h.has_data_page_header_v2 ? h.data_page_header_v2.num_values : -1);
			if (nv >= 0 && (si >= nsel || sel[si] >= first + nv)) {
				LK_FORWARD(check_nv(r, leaf, ls, nv, m->num_values, err));
				ls->rows += nv;
				pos = body_at + blen;
				continue;
			}
			lk_column_reset(&ls->sel);
			dst = &ls->sel;
		}
		if (h.has_crc) {
			uint32_t crc = (uint32_t) crc32(0L, body, (uInt) blen);
			if (crc != (uint32_t) h.crc)
				return rd_error(r, err, LK_ERR_CORRUPT,
								"page checksum mismatch (crc32 %08x, header says %08x)",
								crc, (uint32_t) h.crc);
		}
		switch (h.type) {
		case PQ_PAGE_DICTIONARY:
			LK_FORWARD(read_dict_page(r, leaf, ls, m->codec, &h, body, blen, bbase, err));
			break;
		case PQ_PAGE_DATA:
			LK_FORWARD(read_data_page_v1(r, leaf, ls, dst, retain, m->codec,
										 m->num_values, &h, body, blen, bbase, err));
			break;
		case PQ_PAGE_DATA_V2:
			LK_FORWARD(read_data_page_v2(r, leaf, ls, dst, retain, m->codec,
										 m->num_values, &h, body, blen, bbase, err));
			break;
		default:
			break;      /* index pages and unknown page types are skipped */
		}
		if (dst != col) {
			if (dst->length != ls->rows - first)
				return rd_error(r, err, LK_ERR_CORRUPT,
								"page of %lld rows decoded to %lld values",
								(long long) (ls->rows - first), (long long) dst->length);
			/* the wanted rows of the page, in runs */
			while (si < nsel && sel[si] < ls->rows) {
				int64_t a = si;
				while (si + 1 < nsel && sel[si + 1] == sel[si] + 1 && sel[si + 1] < ls->rows)
					si++;
				si++;
				lk_column_append_range(col, dst, sel[a] - first, si - a);
			}
		}
		pos = body_at + blen;
	}
	r->page_off = (uint64_t) start;
	if (!col->offsets && !col->values)
		lk_column_reserve(col, 1);     /* offsets[0] even when empty */
	if (lk_type_is_varlen(col->type) && !col->data)
		lk_column_reserve_data(col, 1); /* data != NULL even when empty */
	if (ls->rows != g->num_rows)
		return rd_error(r, err, LK_ERR_CORRUPT,
						"column chunk holds %lld rows, the row group %lld",
						(long long) ls->rows, (long long) g->num_rows);
	return true;
}

/* ---- nested assembly --------------------------------------------------- */

static bool
assemble(pq_reader *r, const pq_row_group *g, const pq_node *node, lk_column *col,
		 bool top, lk_error *err);

/* Struct validity / list offsets from the levels of the node's first leaf. */
static bool
assemble_levels(pq_reader *r, const pq_node *node, lk_column *col, lk_error *err)
{
	const leaf_state *ls = &r->ls[node->leaf];
	const uint8_t *def = ls->def, *rep = ls->rep;
	int64_t n = ls->nlev;
	int rs = node->rep_slot, ds = node->def_slot, dv = node->def_valid;
	r->leaf = &r->schema.leaves[node->leaf];

	int64_t nslots = 0;
	for (int64_t i = 0; i < n; i++)
		nslots += rep[i] <= rs && def[i] >= ds;
	col->length = 0;
	col->null_count = 0;
	lk_column_reserve(col, nslots ? nslots : 1);   /* offsets[0] even when empty */
	bool nullable = dv > ds;
	if (nullable)
		ensure_validity(col);

	if (node->kind == PQ_NODE_STRUCT) {
		if (nullable) {
			int64_t s = 0;
			for (int64_t i = 0; i < n; i++) {
				if (rep[i] > rs || def[i] < ds)
					continue;
				if (def[i] < dv) {
					set_null_bit(col, s);
					col->null_count++;
				} else {
					set_valid_bit(col, s);
				}
				s++;
			}
		}
		col->length = nslots;
		for (int k = 0; k < col->nchildren; k++)
			if (col->children[k].length != nslots)
				return rd_error(r, err, LK_ERR_CORRUPT,
								"struct field \"%s\" has %lld values, the struct %lld",
								node->children[k].name, (long long) col->children[k].length,
								(long long) nslots);
		return true;
	}

	/* list / map */
	int re = node->rep_elem, de = node->def_elem;
	int64_t *off = col->offsets;
	int64_t s = 0, e = 0;
	off[0] = 0;
	for (int64_t i = 0; i < n; i++) {
		if (rep[i] <= rs && def[i] >= ds) {
			if (s > 0)
				off[s] = e;
			if (nullable) {
				if (def[i] < dv) {
					set_null_bit(col, s);
					col->null_count++;
				} else {
					set_valid_bit(col, s);
				}
			}
			s++;
		}
		if (rep[i] <= re && def[i] >= de)
			e++;
	}
	if (s > 0)
		off[s] = e;
	col->length = nslots;
	for (int k = 0; k < col->nchildren; k++)
		if (col->children[k].length != e)
			return rd_error(r, err, LK_ERR_CORRUPT,
							"list of %lld elements but its %s has %lld values",
							(long long) e, node->children[k].name,
							(long long) col->children[k].length);
	return true;
}

static bool
assemble(pq_reader *r, const pq_row_group *g, const pq_node *node, lk_column *col,
		 bool top, lk_error *err)
{
	if (node->kind == PQ_NODE_LEAF)
		return read_leaf(r, g, node->leaf, col, !top, NULL, 0, err);
	for (int k = 0; k < node->nchildren; k++)
		LK_FORWARD(assemble(r, g, &node->children[k], &col->children[k], false, err));
	return assemble_levels(r, node, col, err);
}

/* n null rows (recursively for struct children). */
static void
fill_nulls(lk_column *c, int64_t n)
{
	lk_column_reserve(c, n ? n : 1);
	ensure_validity(c);
	int64_t L = c->length;
	size_t w = lk_type_width(c->type);
	if (w)
		memset((uint8_t *) c->values + (size_t) L * w, 0, (size_t) n * w);
	if (c->offsets) {
		int64_t v = c->offsets[L];
		for (int64_t i = 1; i <= n; i++)
			c->offsets[L + i] = v;
	}
	if (lk_type_is_varlen(c->type) && !c->data)
		lk_column_reserve_data(c, 1);
	for (int64_t i = L; i < L + n; i++)
		set_null_bit(c, i);
	if (c->type->id == LK_T_STRUCT)
		for (int k = 0; k < c->nchildren; k++)
			fill_nulls(&c->children[k], n);
	c->length += n;
	c->null_count += n;
}

/* ---- public API -------------------------------------------------------- */

/* created_by "parquet-mr" without a version, or a version before 1.2.9. */
static bool
legacy_parquet_mr(const char *cb)
{
	if (!cb || strncmp(cb, "parquet-mr", 10) != 0)
		return false;
	const char *v = strstr(cb, "version ");
	if (!v)
		return true;
	int a = 0, b = 0, c = 0;
	if (sscanf(v + 8, "%d.%d.%d", &a, &b, &c) < 2)
		return true;
	return a < 1 || (a == 1 && (b < 2 || (b == 2 && c < 9)));
}

static void
set_default_projection(pq_reader *r)
{
	lk_arena_reset(&r->proj_arena);
	r->nout = r->schema.ncols;
	r->proj = lk_arena_alloc(&r->proj_arena, sizeof(int) * (size_t) (r->nout + 1));
	for (int i = 0; i < r->nout; i++)
		r->proj[i] = i;
	r->out_schema = r->schema.root;
}

pq_reader *
pq_reader_open(pq_input *in, lk_error *err)
{
	pq_reader *r = lk_xcalloc(1, sizeof(*r));
	r->in = *in;
	r->name = in->name ? in->name : "<input>";
	lk_arena_init(&r->arena, 0);
	lk_arena_init(&r->proj_arena, 0);
	lk_arena_init(&r->page_arena, 0);
	r->name = lk_arena_strdup(&r->arena, r->name);

	uint64_t size = in->size;
	uint8_t tail[8], head[4];
	if (size < 12) {
		rd_error(r, err, LK_ERR_CORRUPT, "not a parquet file: %llu bytes",
				 (unsigned long long) size);
		goto fail;
	}
	if (!in->read_at(in->ctx, size - 8, tail, 8, err) ||
		!in->read_at(in->ctx, 0, head, 4, err)) {
		rd_forward(r, err);
		goto fail;
	}
	if (memcmp(tail + 4, "PARE", 4) == 0) {
		rd_error(r, err, LK_ERR_UNSUPPORTED, "encrypted parquet footer");
		goto fail;
	}
	if (memcmp(tail + 4, "PAR1", 4) != 0 || memcmp(head, "PAR1", 4) != 0) {
		rd_error(r, err, LK_ERR_CORRUPT, "not a parquet file (no PAR1 magic)");
		goto fail;
	}
	uint32_t flen = rd_u32le(tail);
	if ((uint64_t) flen > size - 12) {
		rd_error(r, err, LK_ERR_CORRUPT, "footer length %u larger than the file", flen);
		goto fail;
	}
	uint64_t foff = size - 8 - flen;
	r->footer = lk_xmalloc(flen ? flen : 1);
	if (flen && !in->read_at(in->ctx, foff, r->footer, flen, err)) {
		rd_forward(r, err);
		goto fail;
	}
	size_t used;
	if (!pq_meta_read_file_meta(r->footer, flen, foff, &r->arena, &r->fm, &used, err)) {
		rd_forward(r, err);
		goto fail;
	}
	if (r->fm.has_encryption_algorithm) {
		rd_error(r, err, LK_ERR_UNSUPPORTED, "encrypted parquet file");
		goto fail;
	}
	if (!pq_schema_build(&r->fm, r->name, &r->arena, &r->schema, err))
		goto fail;
	if (r->fm.nrow_groups < 0 || r->fm.num_rows < 0) {
		rd_error(r, err, LK_ERR_CORRUPT, "negative row or row group count");
		goto fail;
	}
	int64_t total = 0;
	for (int i = 0; i < r->fm.nrow_groups; i++) {
		const pq_row_group *g = &r->fm.row_groups[i];
		if (g->num_rows < 0 || g->num_rows > INT64_MAX - total) {
			rd_error(r, err, LK_ERR_CORRUPT, "row group %d has %lld rows", i,
					 (long long) g->num_rows);
			goto fail;
		}
		total += g->num_rows;
		if (g->ncolumns != r->schema.nleaves) {
			rd_error(r, err, LK_ERR_CORRUPT,
					 "row group %d has %d column chunks, the schema %d leaf columns",
					 i, g->ncolumns, r->schema.nleaves);
			goto fail;
		}
	}
	r->ls = lk_xcalloc((size_t) r->schema.nleaves + 1, sizeof(leaf_state));
	r->legacy_mr_sizes = legacy_parquet_mr(r->fm.created_by);
	set_default_projection(r);
	return r;
fail:
	pq_reader_free(r);         /* closes `in`: it was handed over */
	return NULL;
}

void
pq_reader_free(pq_reader *r)
{
	if (!r)
		return;
	if (r->in.close)
		r->in.close(r->in.ctx);
	if (r->ls) {
		for (int i = 0; i < r->schema.nleaves; i++) {
			free(r->ls[i].def);
			free(r->ls[i].rep);
			if (r->ls[i].dict_init)
				lk_column_destroy(&r->ls[i].dict);
			if (r->ls[i].sel_init)
				lk_column_destroy(&r->ls[i].sel);
		}
		free(r->ls);
	}
	free(r->footer);
	free(r->chunk);
	free(r->page);
	free(r->lv_def);
	free(r->lv_rep);
	free(r->idx);
	free(r->scratch);
	lk_arena_free(&r->arena);
	lk_arena_free(&r->proj_arena);
	lk_arena_free(&r->page_arena);
	free(r);
}

const lk_type *
pq_reader_schema(const pq_reader *r)
{
	return r->schema.root;
}

int64_t
pq_reader_num_rows(const pq_reader *r)
{
	return r->fm.num_rows;
}

int
pq_reader_num_row_groups(const pq_reader *r)
{
	return r->fm.nrow_groups;
}

int64_t
pq_reader_row_group_rows(const pq_reader *r, int rg)
{
	if (rg < 0 || rg >= r->fm.nrow_groups)
		return -1;
	return r->fm.row_groups[rg].num_rows;
}

int
pq_reader_metadata(const pq_reader *r, const pq_kv **kv)
{
	/* pq_key_value and pq_kv have the same layout: key, value */
	_Static_assert(sizeof(pq_kv) == sizeof(pq_key_value), "kv layout");
	*kv = (const pq_kv *) r->fm.kv;
	return r->fm.nkv;
}

const char *
pq_reader_created_by(const pq_reader *r)
{
	return r->fm.created_by;
}

bool
pq_reader_project(pq_reader *r, const char *const *names, int n, lk_error *err)
{
	r->leaf = NULL;
	if (!names || n <= 0) {
		set_default_projection(r);
		return true;
	}
	int *proj = lk_xmalloc(sizeof(int) * (size_t) n);
	for (int i = 0; i < n; i++) {
		proj[i] = lk_type_field_index(r->schema.root, names[i]);
		if (proj[i] < 0) {
			free(proj);
			lk_error_set(err, LK_ERR_NOT_FOUND, "column \"%s\" does not exist", names[i]);
			lk_error_where(err, "file \"%s\"", r->name);
			return false;
		}
	}
	lk_arena_reset(&r->proj_arena);
	lk_type *st = lk_type_struct(&r->proj_arena, n);
	r->proj = lk_arena_memdup(&r->proj_arena, proj, sizeof(int) * (size_t) n);
	free(proj);
	for (int i = 0; i < n; i++)
		st->children[i] = r->schema.root->children[r->proj[i]];
	r->nout = n;
	r->out_schema = st;
	return true;
}

bool
pq_reader_project_ids(pq_reader *r, const int32_t *ids, const char *const *names,
					  const lk_type *const *types, int n, lk_error *err)
{
	r->leaf = NULL;
	if (n < 0 || (n > 0 && !ids))
		return lk_error_set(err, LK_ERR_INVALID, "invalid field id projection");
	lk_arena_reset(&r->proj_arena);
	lk_type *st = lk_type_struct(&r->proj_arena, n);
	r->proj = lk_arena_alloc(&r->proj_arena, sizeof(int) * (size_t) (n + 1));
	const lk_type *root = r->schema.root;
	for (int i = 0; i < n; i++) {
		int found = -1;
		for (int c = 0; c < root->nchildren; c++)
			if (root->children[c].field_id == ids[i]) {
				found = c;
				break;
			}
		r->proj[i] = found;
		if (found >= 0) {
			st->children[i] = root->children[found];
			if (names && names[i])
				st->children[i].name = lk_arena_strdup(&r->proj_arena, names[i]);
		} else {
			if (!types || !types[i]) {
				set_default_projection(r);
				return lk_error_set(err, LK_ERR_INVALID,
									"no type for missing field id %d", ids[i]);
			}
			st->children[i].name = names && names[i]
				? lk_arena_strdup(&r->proj_arena, names[i])
				: lk_arena_sprintf(&r->proj_arena, "col-%d", ids[i]);
			st->children[i].type = (lk_type *) types[i];
			st->children[i].nullable = true;
			st->children[i].field_id = ids[i];
		}
	}
	r->nout = n;
	r->out_schema = st;
	return true;
}

const lk_type *
pq_reader_output_schema(const pq_reader *r)
{
	return r->out_schema;
}

/* Arguments of a row-group read: rg in range, out made for the output
 * schema. */
static bool
check_read_args(pq_reader *r, int rg, const lk_batch *out, lk_error *err)
{
	r->leaf = NULL;
	if (rg < 0 || rg >= r->fm.nrow_groups)
		return rd_error(r, err, LK_ERR_INVALID, "row group %d out of range (file has %d)",
						rg, r->fm.nrow_groups);
	if (out->ncols != r->nout ||
		(out->schema != r->out_schema && !lk_type_equal(out->schema, r->out_schema)))
		return rd_error(r, err, LK_ERR_INVALID,
						"batch was not made for this reader's output schema");
	return true;
}

bool
pq_reader_read_row_group(pq_reader *r, int rg, lk_batch *out, lk_error *err)
{
	if (!check_read_args(r, rg, out, err))
		return false;
	lk_batch_reset(out);
	const pq_row_group *g = &r->fm.row_groups[rg];
	r->rg_rows = g->num_rows;
	bool any = false;
	for (int j = 0; j < r->nout; j++) {
		if (r->proj[j] < 0)
			continue;
		const pq_node *node = &r->schema.cols[r->proj[j]];
		lk_column *col = &out->cols[j];
		if (!assemble(r, g, node, col, true, err)) {
			lk_error_add_where(err, "row group %d", rg);
			return false;
		}
		r->leaf = &r->schema.leaves[node->leaf];
		if (col->length != g->num_rows)
			return rd_error(r, err, LK_ERR_CORRUPT,
							"column has %lld rows, the row group %lld",
							(long long) col->length, (long long) g->num_rows);
		any = true;
	}
	r->leaf = NULL;
	if (!any && g->num_rows > ((int64_t) 1 << 31) && r->nout > 0)
		return rd_error(r, err, LK_ERR_CORRUPT,
						"row group %d claims %lld rows", rg, (long long) g->num_rows);
	for (int j = 0; j < r->nout; j++)
		if (r->proj[j] < 0)
			fill_nulls(&out->cols[j], g->num_rows);
	if (!lk_batch_seal(out))
		return rd_error(r, err, LK_ERR_INTERNAL, "columns of different lengths");
	out->nrows = g->num_rows;
	return true;
}

/* Rows rows[0..n) of row group rg (ascending, distinct, each below the
 * group's row count) into out (reset first; made as for
 * pq_reader_read_row_group): out->nrows = n, in that order.  Data pages of
 * top-level unrepeated primitive columns holding none of the rows are
 * not decompressed; other columns are decoded whole and the rows copied. */
bool
pq_reader_read_row_group_rows(pq_reader *r, int rg, const int64_t *rows, int64_t n,
							  lk_batch *out, lk_error *err)
{
	if (!check_read_args(r, rg, out, err))
		return false;
	const pq_row_group *g = &r->fm.row_groups[rg];
	for (int64_t i = 0; i < n; i++)
		if (rows[i] < 0 || rows[i] >= g->num_rows || (i > 0 && rows[i] <= rows[i - 1]))
			return rd_error(r, err, LK_ERR_INVALID,
							"row %lld of row group %d is out of order or range (%lld rows)",
							(long long) rows[i], rg, (long long) g->num_rows);
	lk_batch_reset(out);
	r->rg_rows = g->num_rows;
	for (int j = 0; j < r->nout; j++) {
		lk_column *col = &out->cols[j];
		if (r->proj[j] < 0) {
			fill_nulls(col, n);
			continue;
		}
		const pq_node *node = &r->schema.cols[r->proj[j]];
		bool ok;
		if (node->kind == PQ_NODE_LEAF && r->schema.leaves[node->leaf].max_rep == 0) {
			/* one value per row: pages map to row ranges */
			ok = read_leaf(r, g, node->leaf, col, false, rows, n, err);
		} else {
			lk_column whole;
			lk_column_init(&whole, col->type);
			ok = assemble(r, g, node, &whole, true, err);
			if (ok && whole.length != g->num_rows)
				ok = rd_error(r, err, LK_ERR_CORRUPT, "column has %lld rows, the row group %lld",
							  (long long) whole.length, (long long) g->num_rows);
			for (int64_t i = 0; ok && i < n; i++)
				lk_column_append_range(col, &whole, rows[i], 1);
			lk_column_destroy(&whole);
		}
		if (!ok) {
			lk_error_add_where(err, "row group %d", rg);
			return false;
		}
		r->leaf = &r->schema.leaves[node->leaf];
		if (col->length != n)
			return rd_error(r, err, LK_ERR_CORRUPT, "column has %lld of the %lld rows read",
							(long long) col->length, (long long) n);
	}
	r->leaf = NULL;
	if (!lk_batch_seal(out))
		return rd_error(r, err, LK_ERR_INTERNAL, "columns of different lengths");
	out->nrows = n;
	return true;
}
