/*
 * writer.c — batches → row groups → pages → a Parquet file.
 *
 * File layout written (apache/parquet-format):
 *
 *   "PAR1"
 *   row group 0:  chunk of leaf 0: [dictionary page] data page, data page, …
 *                 chunk of leaf 1: …
 *   row group 1:  …
 *   FileMetaData (thrift compact)  u32 LE length of FileMetaData  "PAR1"
 *
 * Every page is a thrift PageHeader followed by its body:
 *
 *   dictionary page  compress(PLAIN values)
 *   data page v1     compress([u32 LE len][RLE rep levels]    (if max_rep > 0)
 *                             [u32 LE len][RLE def levels]    (if max_def > 0)
 *                             values)
 *   data page v2     [RLE rep levels][RLE def levels]  (raw; lengths in header)
 *                    compress(values)
 *   values           PLAIN, or RLE_DICTIONARY = [u8 bit width][RLE hybrid indices]
 *
 * Pipeline, per leaf column, per slice of top-level rows:
 *
 *   batch column ──levels──▶ def/rep levels of the page, selection of the
 *                            present leaf rows (Dremel shredding; flat
 *                            columns take a fast path)
 *                ──gather──▶ physical values (zero copy for plain int/float
 *                            columns without nulls), statistics in the same pass
 *                ──encode──▶ dictionary indices (open addressing hash table
 *                            keyed by value) or PLAIN bytes of the page
 *
 * A page is closed when its size estimate reaches page_bytes (repeated
 * columns: only between records, so at rep level 0) and lands, compressed,
 * in the leaf's chunk buffer.  The row group is written out when it reaches
 * row_group_rows or its size estimate reaches row_group_bytes: per leaf the
 * dictionary page, then the buffered data pages.  Memory is bounded by one
 * row group of encoded pages plus one page per leaf.
 *
 * Dictionary: each chunk (row group × leaf) starts one.  After its first
 * DICT_PROBE_VALUES values it is judged as parquet-mr does (dictionary +
 * index bytes against PLAIN bytes); a losing dictionary is dropped before
 * any page used it (no dictionary page).  When a dictionary grows past
 * dictionary_limit bytes, the current page is closed (dictionary-encoded)
 * and the rest of the chunk is PLAIN; the dictionary may overshoot the
 * limit by one slice of rows.
 *
 * Deterministic: the same rows and options give the same bytes, however
 * the rows are split into batches (decisions are taken at row positions
 * that do not depend on batch boundaries; no clock, no addresses; the
 * dictionary keeps insertion order).  Assumes a little-endian host (PLAIN
 * is little-endian and values are copied as is).
 *
 * Annotations follow src/parquet/README.md, with the legacy converted type
 * where one exists, except BSON: DuckDB refuses a file whose schema has the
 * BSON converted type, so only the logical type is written.
 */
#include "parquet/parquet.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/arena.h"
#include "common/buf.h"
#include "parquet/compress.h"
#include "parquet/encoding.h"
#include "parquet/meta.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "writer.c assumes a little-endian host"
#endif

#define PQ_CREATED_BY_DEFAULT "lakesync version 0.1.0"
#define SLICE_MAX_ROWS 8192          /* rows per slice of a column */
#define DICT_SLICE_MIN_ROWS 256      /* dictionary mode: smallest slice */
#define DICT_PROBE_VALUES 8192       /* values before the dictionary is judged */
#define PAGE_MAX_LEVELS (128 * 1024) /* values per page (levels incl. nulls) */
#define SEGMENT_ROWS 8192            /* rows between row-group size checks */
#define MAX_NESTING 64
#define HDR_SLOT 96                  /* bytes reserved for a data page header */
#define JULIAN_EPOCH_DAY 2440588     /* julian day number of 1970-01-01 */

/* ---- codec names, options ---------------------------------------------- */

static const struct {
	const char *name;
	pq_codec codec;
} codec_names[] = {
	{"uncompressed", PQ_CODEC_UNCOMPRESSED},
	{"none", PQ_CODEC_UNCOMPRESSED},
	{"snappy", PQ_CODEC_SNAPPY},
	{"gzip", PQ_CODEC_GZIP},
	{"brotli", PQ_CODEC_BROTLI},
	{"zstd", PQ_CODEC_ZSTD},
	{"lz4_raw", PQ_CODEC_LZ4_RAW},
	{"lz4", PQ_CODEC_LZ4_RAW},
};

bool
pq_codec_parse(const char *name, pq_codec *out)
{
	if (!name)
		return false;
	for (size_t i = 0; i < sizeof(codec_names) / sizeof(codec_names[0]); i++)
		if (strcasecmp(name, codec_names[i].name) == 0) {
			*out = codec_names[i].codec;
			return true;
		}
	return false;
}

/* Static string; "unknown" for a value outside pq_codec. */
const char *
pq_codec_name(pq_codec c)
{
	switch (c) {
	case PQ_CODEC_UNCOMPRESSED: return "uncompressed";
	case PQ_CODEC_SNAPPY: return "snappy";
	case PQ_CODEC_GZIP: return "gzip";
	case PQ_CODEC_BROTLI: return "brotli";
	case PQ_CODEC_ZSTD: return "zstd";
	case PQ_CODEC_LZ4_RAW: return "lz4_raw";
	}
	return "unknown";
}

void
pq_writer_options_init(pq_writer_options *o)
{
	memset(o, 0, sizeof(*o));
	o->codec = PQ_CODEC_ZSTD;
	o->compression_level = 0;
	o->row_group_rows = 1048576;
	o->row_group_bytes = (int64_t) 128 << 20;
	o->page_bytes = (int64_t) 1 << 20;
	o->dictionary = true;
	o->dictionary_limit = (int64_t) 1 << 20;
	o->data_page_version = 1;
	o->stats_truncate = 64;
	o->metadata = NULL;
	o->nmetadata = 0;
	o->created_by = NULL;
}

/* ---- hashing ------------------------------------------------------------ */

static inline uint64_t
rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint64_t
rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t
hmix(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128) a * b;
	return (uint64_t) r ^ (uint64_t) (r >> 64);
}

#define HS0 0xa0761d6478bd642full
#define HS1 0xe7037ed1a0b428dbull
#define HS2 0x8ebc6af09c88c6e3ull

/* A wyhash-style 64-bit hash of p[0..len); fixed seed (deterministic). */
static inline uint64_t
hash_bytes(const uint8_t *p, size_t len)
{
	uint64_t a, b, seed = HS0;

	if (len <= 16) {
		if (len >= 4) {
			a = (rd32(p) << 32) | rd32(p + ((len >> 3) << 2));
			b = (rd32(p + len - 4) << 32) | rd32(p + len - 4 - ((len >> 3) << 2));
		} else if (len > 0) {
			a = ((uint64_t) p[0] << 16) | ((uint64_t) p[len >> 1] << 8) | p[len - 1];
			b = 0;
		} else {
			a = b = 0;
		}
	} else {
		size_t i = len;
		const uint8_t *q = p;
		while (i > 16) {
			seed = hmix(rd64(q) ^ HS1, rd64(q + 8) ^ seed);
			q += 16;
			i -= 16;
		}
		a = rd64(q + i - 16);
		b = rd64(q + i - 8);
	}
	return hmix(HS1 ^ len, hmix(a ^ HS1, b ^ seed ^ HS2));
}

/* Multiplicative hash of an integer key into the top `bits` bits. */
static inline uint32_t
hash_int(uint64_t x, int shift)
{
	return (uint32_t) (((x ^ (x >> 32)) * 0x9E3779B97F4A7C15ull) >> shift);
}

/* ---- dictionary ---------------------------------------------------------- */

typedef enum { DK_32, DK_64, DK_FIXED, DK_BYTES } dict_kind;

typedef struct slot32 { uint32_t key, id1; } slot32;      /* id1 = index + 1 */
typedef struct slot64 { uint64_t key; uint64_t id1; } slot64;
typedef struct slotb { uint32_t h, id1; } slotb;          /* h = hash >> 32 */

/* One chunk's dictionary: `data` is the PLAIN-encoded dictionary page. */
typedef struct wdict {
	dict_kind kind;
	int width;              /* DK_FIXED: bytes per value */
	uint32_t count;
	uint32_t nslots;        /* power of two, 0 before the first use */
	int shift;              /* 64 - log2(nslots) */
	void *slots;
	lk_buf data;
	uint64_t *eoff;         /* DK_BYTES/DK_FIXED: offset of value bytes in data */
	uint32_t *elen;         /* DK_BYTES: value length */
	int64_t ecap;
} wdict;

static size_t
slot_size(dict_kind k)
{
	return k == DK_32 ? sizeof(slot32) : k == DK_64 ? sizeof(slot64)
		: sizeof(slotb);
}

static void
dict_alloc(wdict *d, uint32_t nslots)
{
	int bits = __builtin_ctz(nslots);
	free(d->slots);
	d->slots = lk_xcalloc(nslots, slot_size(d->kind));
	d->nslots = nslots;
	d->shift = 64 - bits;
}

static void
dict_reset(wdict *d)
{
	d->count = 0;
	lk_buf_reset(&d->data);
	if (d->nslots > 65536) {
		free(d->slots);
		d->slots = NULL;
		d->nslots = 0;
	} else if (d->slots) {
		memset(d->slots, 0, (size_t) d->nslots * slot_size(d->kind));
	}
}

static void
dict_free(wdict *d)
{
	free(d->slots);
	free(d->eoff);
	free(d->elen);
	lk_buf_free(&d->data);
	memset(d, 0, sizeof(*d));
}

/* Double the table (or create it) and re-insert every entry. */
static void
dict_grow(wdict *d)
{
	uint32_t old_n = d->nslots;
	void *old = d->slots;
	d->slots = NULL;
	dict_alloc(d, old_n ? old_n * 2 : 256);
	uint32_t mask = d->nslots - 1;
	if (!old)
		return;
	switch (d->kind) {
	case DK_32: {
		slot32 *o = old, *s = d->slots;
		for (uint32_t i = 0; i < old_n; i++) {
			if (!o[i].id1)
				continue;
			uint32_t b = hash_int(o[i].key, d->shift);
			while (s[b].id1)
				b = (b + 1) & mask;
			s[b] = o[i];
		}
		break;
	}
	case DK_64: {
		slot64 *o = old, *s = d->slots;
		for (uint32_t i = 0; i < old_n; i++) {
			if (!o[i].id1)
				continue;
			uint32_t b = hash_int(o[i].key, d->shift);
			while (s[b].id1)
				b = (b + 1) & mask;
			s[b] = o[i];
		}
		break;
	}
	case DK_FIXED:
	case DK_BYTES: {
		slotb *o = old, *s = d->slots;
		for (uint32_t i = 0; i < old_n; i++) {
			if (!o[i].id1)
				continue;
			uint32_t b = o[i].h >> (d->shift - 32);
			while (s[b].id1)
				b = (b + 1) & mask;
			s[b] = o[i];
		}
		break;
	}
	}
	free(old);
}

static inline void
dict_reserve(wdict *d, int64_t n)
{
	/* keep the load factor ≤ 1/2 after n more inserts */
	while ((uint64_t) (d->count + n) * 2 > d->nslots)
		dict_grow(d);
}

static void
dict_reserve_entries(wdict *d, int64_t n)
{
	if (d->count + n <= d->ecap)
		return;
	int64_t cap = d->ecap ? d->ecap : 256;
	while (cap < d->count + n)
		cap *= 2;
	d->eoff = lk_xrealloc(d->eoff, (size_t) cap * sizeof(uint64_t));
	if (d->kind == DK_BYTES)
		d->elen = lk_xrealloc(d->elen, (size_t) cap * sizeof(uint32_t));
	d->ecap = cap;
}

/* ---- statistics ---------------------------------------------------------- */

/* Which comparison a leaf's statistics use, and on what values. */
typedef enum {
	ST_NONE,    /* no order (INTERVAL): null_count only */
	ST_BOOL,    /* false < true; kept in i */
	ST_I32,     /* signed; i */
	ST_U32,     /* unsigned 32; i holds the zero-extended value */
	ST_I64,     /* signed; i */
	ST_U64,     /* unsigned 64; i holds the bits */
	ST_F32,     /* float (also FLOAT16, computed on the source floats); d */
	ST_F64,     /* double; d */
	ST_I128,    /* decimal stored as FLBA: signed on the unscaled value; q */
	ST_BYTES,   /* unsigned byte-wise; b */
	ST_INT96,   /* INT96 timestamps: i (source value); none in the file */
} stat_kind;

typedef struct wstats {
	bool has;                /* min/max present */
	int64_t null_count;
	int64_t num_values;
	int64_t imin, imax;
	double dmin, dmax;
	lk_int128 qmin, qmax;
	lk_buf bmin, bmax;       /* full (untruncated) copies */
} wstats;

static void
stats_clear(wstats *s)
{
	s->has = false;
	s->null_count = 0;
	s->num_values = 0;
	lk_buf_reset(&s->bmin);
	lk_buf_reset(&s->bmax);
}

static inline int
bytes_cmp(const uint8_t *a, size_t la, const uint8_t *b, size_t lb)
{
	size_t m = la < lb ? la : lb;
	int c = m ? memcmp(a, b, m) : 0;
	if (c)
		return c;
	return la < lb ? -1 : la > lb;
}

static void
stats_offer_i(wstats *s, stat_kind k, int64_t mn, int64_t mx)
{
	if (!s->has) {
		s->imin = mn;
		s->imax = mx;
		s->has = true;
		return;
	}
	if (k == ST_U64 || k == ST_U32) {
		if ((uint64_t) mn < (uint64_t) s->imin)
			s->imin = mn;
		if ((uint64_t) mx > (uint64_t) s->imax)
			s->imax = mx;
	} else {
		if (mn < s->imin)
			s->imin = mn;
		if (mx > s->imax)
			s->imax = mx;
	}
}

static void
stats_offer_d(wstats *s, double mn, double mx)
{
	if (!s->has) {
		s->dmin = mn;
		s->dmax = mx;
		s->has = true;
		return;
	}
	if (mn < s->dmin)
		s->dmin = mn;
	if (mx > s->dmax)
		s->dmax = mx;
}

static void
stats_offer_q(wstats *s, lk_int128 mn, lk_int128 mx)
{
	if (!s->has) {
		s->qmin = mn;
		s->qmax = mx;
		s->has = true;
		return;
	}
	if (mn < s->qmin)
		s->qmin = mn;
	if (mx > s->qmax)
		s->qmax = mx;
}

static void
stats_offer_b(wstats *s, const uint8_t *mn, size_t mnl, const uint8_t *mx,
			  size_t mxl)
{
	if (!s->has || bytes_cmp(mn, mnl, s->bmin.data, s->bmin.len) < 0) {
		lk_buf_reset(&s->bmin);
		lk_buf_append(&s->bmin, mn, mnl);
	}
	if (!s->has || bytes_cmp(mx, mxl, s->bmax.data, s->bmax.len) > 0) {
		lk_buf_reset(&s->bmax);
		lk_buf_append(&s->bmax, mx, mxl);
	}
	s->has = true;
}

/* Fold chunk statistics into file statistics. */
static void
stats_merge(wstats *dst, const wstats *src, stat_kind k)
{
	dst->null_count += src->null_count;
	dst->num_values += src->num_values;
	if (!src->has)
		return;
	switch (k) {
	case ST_NONE:
		break;
	case ST_BOOL:
	case ST_I32:
	case ST_U32:
	case ST_I64:
	case ST_U64:
	case ST_INT96:
		stats_offer_i(dst, k, src->imin, src->imax);
		break;
	case ST_F32:
	case ST_F64:
		stats_offer_d(dst, src->dmin, src->dmax);
		break;
	case ST_I128:
		stats_offer_q(dst, src->qmin, src->qmax);
		break;
	case ST_BYTES:
		stats_offer_b(dst, src->bmin.data, src->bmin.len, src->bmax.data,
					  src->bmax.len);
		break;
	}
}

static void
stats_i32(wstats *s, stat_kind k, const int32_t *p, int64_t n)
{
	if (n <= 0)
		return;
	if (k == ST_U32) {
		const uint32_t *u = (const uint32_t *) p;
		uint32_t mn = u[0], mx = u[0];
		for (int64_t i = 1; i < n; i++) {
			mn = u[i] < mn ? u[i] : mn;
			mx = u[i] > mx ? u[i] : mx;
		}
		stats_offer_i(s, k, mn, mx);
	} else {
		int32_t mn = p[0], mx = p[0];
		for (int64_t i = 1; i < n; i++) {
			mn = p[i] < mn ? p[i] : mn;
			mx = p[i] > mx ? p[i] : mx;
		}
		stats_offer_i(s, k, mn, mx);
	}
}

static void
stats_i64(wstats *s, stat_kind k, const int64_t *p, int64_t n)
{
	if (n <= 0)
		return;
	if (k == ST_U64) {
		const uint64_t *u = (const uint64_t *) p;
		uint64_t mn = u[0], mx = u[0];
		for (int64_t i = 1; i < n; i++) {
			mn = u[i] < mn ? u[i] : mn;
			mx = u[i] > mx ? u[i] : mx;
		}
		stats_offer_i(s, k, (int64_t) mn, (int64_t) mx);
	} else {
		int64_t mn = p[0], mx = p[0];
		for (int64_t i = 1; i < n; i++) {
			mn = p[i] < mn ? p[i] : mn;
			mx = p[i] > mx ? p[i] : mx;
		}
		stats_offer_i(s, k, mn, mx);
	}
}

/* NaN never becomes min or max: comparisons with NaN are false. */
static void
stats_f32(wstats *s, const float *p, int64_t n)
{
	int64_t i = 0;
	while (i < n && p[i] != p[i])
		i++;
	if (i == n)
		return;
	float mn = p[i], mx = p[i];
	for (; i < n; i++) {
		mn = p[i] < mn ? p[i] : mn;
		mx = p[i] > mx ? p[i] : mx;
	}
	stats_offer_d(s, mn, mx);
}

static void
stats_f64(wstats *s, const double *p, int64_t n)
{
	int64_t i = 0;
	while (i < n && p[i] != p[i])
		i++;
	if (i == n)
		return;
	double mn = p[i], mx = p[i];
	for (; i < n; i++) {
		mn = p[i] < mn ? p[i] : mn;
		mx = p[i] > mx ? p[i] : mx;
	}
	stats_offer_d(s, mn, mx);
}

static void
stats_views(wstats *s, const pq_byte_view *v, int64_t n)
{
	if (n <= 0)
		return;
	const pq_byte_view *mn = &v[0], *mx = &v[0];
	for (int64_t i = 1; i < n; i++) {
		if (bytes_cmp(v[i].ptr, v[i].len, mn->ptr, mn->len) < 0)
			mn = &v[i];
		else if (bytes_cmp(v[i].ptr, v[i].len, mx->ptr, mx->len) > 0)
			mx = &v[i];
	}
	stats_offer_b(s, mn->ptr, mn->len, mx->ptr, mx->len);
}

/* ---- schema -------------------------------------------------------------- */

/* How a batch value becomes the physical value. */
typedef enum {
	CV_BOOL,     /* uint8 → BOOLEAN */
	CV_I8, CV_U8, CV_I16, CV_U16,   /* → INT32 */
	CV_I32,      /* int32/uint32/date → INT32 */
	CV_I64,      /* int64 → INT64 */
	CV_TIME_MS,  /* int64 millis → INT32 */
	CV_F32, CV_F64,
	CV_F16,      /* float → FLBA(2) IEEE half */
	CV_DEC32, CV_DEC64,   /* __int128 → INT32 / INT64 */
	CV_DECFL,    /* __int128 → FLBA(n) big-endian two's complement */
	CV_INT96,    /* int64 in unit → INT96 (nanos of day, julian day) */
	CV_BYTES,    /* string/binary → BYTE_ARRAY */
	CV_FLBA,     /* binary of fixed_len → FLBA */
} conv_kind;

/* One step of a leaf's path: a field, and the child the path takes below. */
typedef struct wstep {
	const lk_field *field;
	bool nullable;           /* OPTIONAL in the file */
	int child;               /* struct field index; map 0 key / 1 value; array 0 */
	uint8_t rep;             /* array/map: repetition level of its repeated group */
} wstep;

typedef struct wleaf {
	/* schema */
	int col;                 /* top-level column */
	int nsteps;
	wstep *steps;
	int max_def, max_rep;
	const lk_type *type;
	pq_physical_type phys;
	int32_t type_length;     /* FLBA: its length; INT96: 12 */
	int32_t pwidth;          /* PLAIN bytes of a value; 0 for BYTE_ARRAY */
	conv_kind conv;
	stat_kind sk;
	bool utf8;               /* string: truncated statistics stay UTF-8 */
	int npath;
	const char **path;       /* path_in_schema */
	const char *dotted;
	const lk_column **chain; /* this batch's column at each step */

	/* the page being filled */
	uint32_t *def, *rep;
	int64_t nlev, levcap;
	uint32_t *idx;           /* dictionary indices */
	int64_t nidx, idxcap;
	lk_buf plain;            /* [hroom][PLAIN values] (booleans: a byte each) */
	size_t hroom;            /* room in front of the values for the levels */
	int64_t page_values;     /* values incl. nulls (= levels when present) */
	int64_t page_nulls;
	int64_t page_rows;

	/* size estimates, bytes per top-level row */
	double row_est;          /* of an encoded page */
	int64_t slice_left;      /* rows left in the planned slice */
	int64_t seen_rows, seen_plain;

	/* the chunk of the current row group */
	lk_buf chunk;            /* encoded data pages: [slot with header][body]… */
	struct page_ref { size_t at, len; } *pages;   /* header + body in chunk */
	int npages, pagecap;
	int64_t chunk_uncomp, chunk_comp, chunk_values;
	int32_t pages_dict, pages_plain;
	bool dict_mode;
	bool probed;             /* dictionary judged in this chunk */
	int64_t dict_values;     /* values added in dictionary mode, this chunk */
	int64_t dict_plain;      /* their PLAIN size */
	wdict dict;
	wstats cs, fs;           /* chunk, file */
} wleaf;

struct pq_writer {
	pq_output out;
	bool out_open;
	const lk_type *schema;
	pq_writer_options opt;
	lk_arena arena;          /* schema, paths, footer metadata */
	pq_schema_element *elems;
	int nelems, elemcap;
	wleaf *leaves;
	int nleaves;
	uint64_t pos;            /* bytes written */
	pq_row_group *rgs;
	int nrgs, rgcap;
	int64_t rg_rows, num_rows;
	pq_key_value *kv;
	int nkv;
	/* scratch, reused */
	lk_buf body, comp, hdr;
	int64_t *sel;
	int64_t selcap;
	uint8_t *scr;
	size_t scrcap;
	pq_byte_view *views;
	int64_t viewcap;
	bool failed, closed;
	pq_column_stats *info_stats;
};

static void plain_reset(wleaf *L);

static bool
leaf_error(const wleaf *L, lk_error *err, lk_error_code code, const char *msg)
{
	lk_error_set(err, code, "%s", msg);
	return lk_error_where(err, "column \"%s\"", L->dotted);
}

/* A zeroed element at the end of w->elems (owned by the writer; the pointer
 * is valid until the next elem_add). */
static pq_schema_element *
elem_add(pq_writer *w)
{
	if (w->nelems == w->elemcap) {
		w->elemcap = w->elemcap ? w->elemcap * 2 : 16;
		w->elems = lk_xrealloc(w->elems, (size_t) w->elemcap * sizeof(*w->elems));
	}
	pq_schema_element *e = &w->elems[w->nelems++];
	memset(e, 0, sizeof(*e));
	return e;
}

/* Smallest FLBA width holding every unscaled value of `precision` digits. */
static int
decimal_bytes(int precision)
{
	lk_int128 max = 1;
	for (int i = 0; i < precision; i++)
		max *= 10;
	max -= 1;
	for (int n = 1; n < 16; n++)
		if (max < (lk_int128) 1 << (8 * n - 1))
			return n;
	return 16;
}

static pq_time_unit
unit_of(const lk_type *t)
{
	switch (t->unit) {
	case LK_UNIT_MILLIS: return PQ_UNIT_MILLIS;
	case LK_UNIT_NANOS: return PQ_UNIT_NANOS;
	default: return PQ_UNIT_MICROS;
	}
}

/* Physical type, annotations and conversion of a primitive leaf (README). */
static bool
map_primitive(pq_schema_element *e, wleaf *L, const lk_type *t, lk_error *err)
{
	pq_logical_type *lt = &e->logical_type;
	e->has_type = true;
	L->utf8 = false;

#define CONVERTED(ct) (e->has_converted_type = true, e->converted_type = (ct))
#define LOGICAL(k) (e->has_logical_type = true, lt->kind = (k))
	switch (t->id) {
	case LK_T_BOOLEAN:
		e->type = PQ_BOOLEAN;
		L->conv = CV_BOOL;
		L->sk = ST_BOOL;
		break;
	case LK_T_BYTE:
	case LK_T_SHORT: {
		bool byte = t->id == LK_T_BYTE;
		e->type = PQ_INT32;
		LOGICAL(PQ_LT_INTEGER);
		lt->bit_width = byte ? 8 : 16;
		lt->is_signed = !t->is_unsigned;
		if (t->is_unsigned) {
			CONVERTED(byte ? PQ_CT_UINT_8 : PQ_CT_UINT_16);
			L->conv = byte ? CV_U8 : CV_U16;
			L->sk = ST_U32;
		} else {
			CONVERTED(byte ? PQ_CT_INT_8 : PQ_CT_INT_16);
			L->conv = byte ? CV_I8 : CV_I16;
			L->sk = ST_I32;
		}
		break;
	}
	case LK_T_INT:
		e->type = PQ_INT32;
		L->conv = CV_I32;
		L->sk = ST_I32;
		if (t->is_unsigned) {
			LOGICAL(PQ_LT_INTEGER);
			lt->bit_width = 32;
			lt->is_signed = false;
			CONVERTED(PQ_CT_UINT_32);
			L->sk = ST_U32;
		}
		break;
	case LK_T_LONG:
		e->type = PQ_INT64;
		L->conv = CV_I64;
		L->sk = ST_I64;
		if (t->is_unsigned) {
			LOGICAL(PQ_LT_INTEGER);
			lt->bit_width = 64;
			lt->is_signed = false;
			CONVERTED(PQ_CT_UINT_64);
			L->sk = ST_U64;
		}
		break;
	case LK_T_FLOAT:
		if (t->ext == LK_EXT_FLOAT16) {
			e->type = PQ_FIXED_LEN_BYTE_ARRAY;
			e->has_type_length = true;
			e->type_length = 2;
			LOGICAL(PQ_LT_FLOAT16);
			L->conv = CV_F16;
		} else {
			e->type = PQ_FLOAT;
			L->conv = CV_F32;
		}
		L->sk = ST_F32;
		break;
	case LK_T_DOUBLE:
		e->type = PQ_DOUBLE;
		L->conv = CV_F64;
		L->sk = ST_F64;
		break;
	case LK_T_DECIMAL: {
		int p = t->precision, s = t->scale;
		if (p < 1 || p > 38 || s > p)
			return lk_error_set(err, LK_ERR_UNSUPPORTED,
								"invalid decimal(%d,%d)", p, s);
		int need = decimal_bytes(p);
		if (t->fixed_len > 0) {
			if (t->fixed_len < need)
				return lk_error_set(err, LK_ERR_INVALID,
									"decimal(%d,%d) does not fit in %d bytes",
									p, s, t->fixed_len);
			e->type = PQ_FIXED_LEN_BYTE_ARRAY;
			e->has_type_length = true;
			e->type_length = t->fixed_len;
			L->conv = CV_DECFL;
			L->sk = ST_I128;
		} else if (p <= 9) {
			e->type = PQ_INT32;
			L->conv = CV_DEC32;
			L->sk = ST_I32;
		} else if (p <= 18) {
			e->type = PQ_INT64;
			L->conv = CV_DEC64;
			L->sk = ST_I64;
		} else {
			e->type = PQ_FIXED_LEN_BYTE_ARRAY;
			e->has_type_length = true;
			e->type_length = need;
			L->conv = CV_DECFL;
			L->sk = ST_I128;
		}
		LOGICAL(PQ_LT_DECIMAL);
		lt->precision = p;
		lt->scale = s;
		CONVERTED(PQ_CT_DECIMAL);
		e->has_scale = e->has_precision = true;
		e->scale = s;
		e->precision = p;
		break;
	}
	case LK_T_STRING:
		e->type = PQ_BYTE_ARRAY;
		L->conv = CV_BYTES;
		L->sk = ST_BYTES;
		L->utf8 = true;
		if (t->ext == LK_EXT_JSON) {
			LOGICAL(PQ_LT_JSON);
			CONVERTED(PQ_CT_JSON);
		} else if (t->ext == LK_EXT_ENUM) {
			LOGICAL(PQ_LT_ENUM);
			CONVERTED(PQ_CT_ENUM);
		} else {
			LOGICAL(PQ_LT_STRING);
			CONVERTED(PQ_CT_UTF8);
		}
		break;
	case LK_T_BINARY:
		L->sk = ST_BYTES;
		if (t->ext == LK_EXT_UUID) {
			e->type = PQ_FIXED_LEN_BYTE_ARRAY;
			e->has_type_length = true;
			e->type_length = 16;
			LOGICAL(PQ_LT_UUID);
			L->conv = CV_FLBA;
		} else if (t->ext == LK_EXT_INTERVAL) {
			e->type = PQ_FIXED_LEN_BYTE_ARRAY;
			e->has_type_length = true;
			e->type_length = 12;
			CONVERTED(PQ_CT_INTERVAL);
			L->conv = CV_FLBA;
			L->sk = ST_NONE;
		} else if (t->fixed_len > 0) {
			e->type = PQ_FIXED_LEN_BYTE_ARRAY;
			e->has_type_length = true;
			e->type_length = t->fixed_len;
			L->conv = CV_FLBA;
		} else {
			e->type = PQ_BYTE_ARRAY;
			L->conv = CV_BYTES;
			/* BSON: the logical type only. The legacy converted type
			 * BSON makes DuckDB (1.5) refuse the whole file. */
			if (t->ext == LK_EXT_BSON)
				LOGICAL(PQ_LT_BSON);
		}
		break;
	case LK_T_DATE:
		e->type = PQ_INT32;
		LOGICAL(PQ_LT_DATE);
		CONVERTED(PQ_CT_DATE);
		L->conv = CV_I32;
		L->sk = ST_I32;
		break;
	case LK_T_TIMESTAMP:
	case LK_T_TIMESTAMP_NTZ: {
		bool utc = t->id == LK_T_TIMESTAMP;
		if (t->ext == LK_EXT_INT96) {
			e->type = PQ_INT96;
			L->conv = CV_INT96;
			L->sk = ST_INT96;
			break;
		}
		e->type = PQ_INT64;
		LOGICAL(PQ_LT_TIMESTAMP);
		lt->is_adjusted_to_utc = utc;
		lt->unit = unit_of(t);
		if (utc && lt->unit == PQ_UNIT_MILLIS)
			CONVERTED(PQ_CT_TIMESTAMP_MILLIS);
		else if (utc && lt->unit == PQ_UNIT_MICROS)
			CONVERTED(PQ_CT_TIMESTAMP_MICROS);
		L->conv = CV_I64;
		L->sk = ST_I64;
		break;
	}
	case LK_T_TIME:
		LOGICAL(PQ_LT_TIME);
		lt->is_adjusted_to_utc = t->ext == LK_EXT_TIME_UTC;
		lt->unit = unit_of(t);
		if (lt->unit == PQ_UNIT_MILLIS) {
			e->type = PQ_INT32;
			L->conv = CV_TIME_MS;
			L->sk = ST_I32;
		} else {
			e->type = PQ_INT64;
			L->conv = CV_I64;
			L->sk = ST_I64;
		}
		break;
	default:
		return lk_error_set(err, LK_ERR_INTERNAL, "not a primitive type");
	}
#undef CONVERTED
#undef LOGICAL
	L->phys = e->type;
	L->type_length = e->has_type_length ? e->type_length
		: e->type == PQ_INT96 ? 12 : 0;
	switch (e->type) {
	case PQ_BOOLEAN: L->pwidth = 1; break;
	case PQ_INT32: case PQ_FLOAT: L->pwidth = 4; break;
	case PQ_INT64: case PQ_DOUBLE: L->pwidth = 8; break;
	case PQ_BYTE_ARRAY: L->pwidth = 0; break;
	default: L->pwidth = L->type_length; break;
	}
	L->type = t;
	return true;
}

static dict_kind
dict_kind_of(const wleaf *L)
{
	switch (L->phys) {
	case PQ_INT32:
	case PQ_FLOAT:
		return DK_32;
	case PQ_INT64:
	case PQ_DOUBLE:
		return DK_64;
	case PQ_BYTE_ARRAY:
		return DK_BYTES;
	default:
		return DK_FIXED;
	}
}

/* Path walk state while building the schema. */
typedef struct walk_ctx {
	wstep steps[MAX_NESTING];
	const char *path[2 * MAX_NESTING];
} walk_ctx;

static bool
walk_field(pq_writer *w, walk_ctx *c, const lk_field *f, const char *name,
		   bool force_required, int depth, int npath, int def, int rep, int col,
		   lk_error *err)
{
	const lk_type *t = f->type;

	if (depth >= MAX_NESTING || npath + 2 > 2 * MAX_NESTING)
		return lk_error_set(err, LK_ERR_UNSUPPORTED,
							"schema nested deeper than %d levels", MAX_NESTING);
	if (!name || !*name)
		return lk_error_set(err, LK_ERR_INVALID, "field without a name");
	if (!t)
		return lk_error_set(err, LK_ERR_INVALID, "field \"%s\" without a type",
							name);
	bool nullable = f->nullable && !force_required;
	pq_schema_element *e = elem_add(w);
	e->name = name;
	e->has_repetition = true;
	e->repetition = nullable ? PQ_OPTIONAL : PQ_REQUIRED;
	if (f->field_id >= 0) {
		e->has_field_id = true;
		e->field_id = f->field_id;
	}
	if (nullable)
		def++;
	c->steps[depth].field = f;
	c->steps[depth].nullable = nullable;
	c->steps[depth].child = 0;
	c->steps[depth].rep = 0;
	c->path[npath++] = name;

	switch (t->id) {
	case LK_T_STRUCT:
		if (t->nchildren <= 0)
			return lk_error_set(err, LK_ERR_UNSUPPORTED,
								"struct \"%s\" has no fields (Parquet needs one)",
								name);
		e->has_num_children = true;
		e->num_children = t->nchildren;
		for (int i = 0; i < t->nchildren; i++) {
			c->steps[depth].child = i;
			LK_FORWARD(walk_field(w, c, &t->children[i], t->children[i].name,
								  false, depth + 1, npath, def, rep, col, err));
		}
		return true;
	case LK_T_ARRAY:
	case LK_T_MAP: {
		bool map = t->id == LK_T_MAP;
		if (t->nchildren != (map ? 2 : 1) || !t->children)
			return lk_error_set(err, LK_ERR_INVALID, "malformed %s type \"%s\"",
								map ? "map" : "array", name);
		e->has_num_children = true;
		e->num_children = 1;
		e->has_converted_type = true;
		e->converted_type = map ? PQ_CT_MAP : PQ_CT_LIST;
		e->has_logical_type = true;
		e->logical_type.kind = map ? PQ_LT_MAP : PQ_LT_LIST;
		pq_schema_element *g = elem_add(w);
		g->name = map ? "key_value" : "list";
		g->has_repetition = true;
		g->repetition = PQ_REPEATED;
		g->has_num_children = true;
		g->num_children = map ? 2 : 1;
		c->path[npath++] = g->name;
		c->steps[depth].rep = (uint8_t) (rep + 1);
		if (!map)
			return walk_field(w, c, &t->children[0], "element", false, depth + 1,
							  npath, def + 1, rep + 1, col, err);
		c->steps[depth].child = 0;
		LK_FORWARD(walk_field(w, c, &t->children[0], "key", true, depth + 1,
							  npath, def + 1, rep + 1, col, err));
		c->steps[depth].child = 1;
		return walk_field(w, c, &t->children[1], "value", false, depth + 1, npath,
						  def + 1, rep + 1, col, err);
	}
	default:
		break;
	}

	/* a primitive leaf */
	w->leaves = lk_xrealloc(w->leaves, (size_t) (w->nleaves + 1) * sizeof(wleaf));
	wleaf *L = &w->leaves[w->nleaves];
	memset(L, 0, sizeof(*L));
	L->col = col;
	L->nsteps = depth + 1;
	L->steps = lk_arena_memdup(&w->arena, c->steps, sizeof(wstep) * (size_t) L->nsteps);
	L->chain = lk_arena_zalloc(&w->arena, sizeof(lk_column *) * (size_t) L->nsteps);
	L->max_def = def;
	L->max_rep = rep;
	L->npath = npath;
	L->path = lk_arena_memdup(&w->arena, c->path, sizeof(char *) * (size_t) npath);
	lk_buf dotted = LK_BUF_INIT;
	for (int i = 0; i < npath; i++) {
		if (i)
			lk_buf_append_byte(&dotted, '.');
		lk_buf_append_str(&dotted, c->path[i]);
	}
	L->dotted = lk_arena_strndup(&w->arena, (char *) dotted.data, dotted.len);
	lk_buf_free(&dotted);
	w->nleaves++;
	if (!map_primitive(e, L, t, err))
		return lk_error_where(err, "column \"%s\"", L->dotted);
	L->dict.kind = dict_kind_of(L);
	L->dict.width = L->type_length;
	L->dict_mode = w->opt.dictionary && L->phys != PQ_BOOLEAN;
	L->row_est = 0;
	/* room for the levels of a full page in front of PLAIN values: RLE
	 * hybrid needs at most (bit width + 2) bits per value plus headers */
	if (L->max_def > 0 || L->max_rep > 0) {
		size_t bits = (size_t) (pq_bit_width((uint64_t) L->max_def) +
								pq_bit_width((uint64_t) L->max_rep) + 2);
		L->hroom = (((size_t) (PAGE_MAX_LEVELS + SLICE_MAX_ROWS) * bits / 8 + 64) + 15)
			& ~(size_t) 15;
	}
	plain_reset(L);
	return true;
}

/* ---- writer open --------------------------------------------------------- */

static bool
out_write(pq_writer *w, const void *p, size_t n, lk_error *err)
{
	if (!n)
		return true;
	if (!w->out.write(w->out.ctx, p, n, err)) {
		w->failed = true;
		return false;
	}
	w->pos += n;
	return true;
}

pq_writer *
pq_writer_open(pq_output *out, const lk_type *schema,
			   const pq_writer_options *opt, lk_error *err)
{
	pq_writer *w = lk_xcalloc(1, sizeof(*w));
	w->out = *out;
	w->out_open = true;
	w->schema = schema;
	lk_arena_init(&w->arena, 0);
	if (opt)
		w->opt = *opt;
	else
		pq_writer_options_init(&w->opt);

	pq_writer_options def;
	pq_writer_options_init(&def);
	pq_writer_options *o = &w->opt;
	if (o->row_group_rows <= 0)
		o->row_group_rows = def.row_group_rows;
	if (o->row_group_bytes <= 0)
		o->row_group_bytes = def.row_group_bytes;
	if (o->page_bytes <= 0)
		o->page_bytes = def.page_bytes;
	if (o->dictionary_limit <= 0)
		o->dictionary_limit = def.dictionary_limit;
	if (o->stats_truncate <= 0)
		o->stats_truncate = def.stats_truncate;
	if (o->data_page_version == 0)
		o->data_page_version = 1;
	o->created_by = lk_arena_strdup(&w->arena, o->created_by ? o->created_by
									: PQ_CREATED_BY_DEFAULT);
	o->metadata = NULL;

	if (o->data_page_version != 1 && o->data_page_version != 2) {
		lk_error_set(err, LK_ERR_INVALID, "data page version %d (want 1 or 2)",
					 o->data_page_version);
		goto fail;
	}
	if (o->codec != PQ_CODEC_UNCOMPRESSED && o->codec != PQ_CODEC_SNAPPY &&
		o->codec != PQ_CODEC_GZIP && o->codec != PQ_CODEC_BROTLI &&
		o->codec != PQ_CODEC_ZSTD && o->codec != PQ_CODEC_LZ4_RAW) {
		lk_error_set(err, LK_ERR_UNSUPPORTED, "compression codec %d",
					 (int) o->codec);
		goto fail;
	}
	if (!schema || schema->id != LK_T_STRUCT) {
		lk_error_set(err, LK_ERR_INVALID, "schema is not a struct");
		goto fail;
	}
	if (opt && opt->nmetadata > 0) {
		w->nkv = opt->nmetadata;
		w->kv = lk_arena_zalloc(&w->arena, sizeof(pq_key_value) * (size_t) w->nkv);
		for (int i = 0; i < w->nkv; i++) {
			if (!opt->metadata[i].key) {
				lk_error_set(err, LK_ERR_INVALID, "metadata entry %d has no key", i);
				goto fail;
			}
			w->kv[i].key = lk_arena_strdup(&w->arena, opt->metadata[i].key);
			w->kv[i].value = opt->metadata[i].value
				? lk_arena_strdup(&w->arena, opt->metadata[i].value) : NULL;
		}
	}

	/* schema: root, then the fields depth-first */
	pq_schema_element *root = elem_add(w);
	root->name = "schema";
	root->has_num_children = true;
	root->num_children = schema->nchildren;
	walk_ctx *wc = lk_xmalloc(sizeof(*wc));
	for (int i = 0; i < schema->nchildren; i++) {
		if (!walk_field(w, wc, &schema->children[i], schema->children[i].name,
						false, 0, 0, 0, 0, i, err)) {
			free(wc);
			goto fail;
		}
	}
	free(wc);

	if (!out_write(w, "PAR1", 4, err))
		goto fail;
	return w;

fail:
	lk_error_add_where(err, "file \"%s\"", out->name ? out->name : "<output>");
	pq_writer_free(w);
	return NULL;
}

/* ---- levels -------------------------------------------------------------- */

static void
levels_reserve(wleaf *L, int64_t n)
{
	if (L->nlev + n <= L->levcap)
		return;
	int64_t cap = L->levcap ? L->levcap : 1024;
	while (cap < L->nlev + n)
		cap *= 2;
	if (L->max_def > 0)
		L->def = lk_xrealloc(L->def, (size_t) cap * sizeof(uint32_t));
	if (L->max_rep > 0)
		L->rep = lk_xrealloc(L->rep, (size_t) cap * sizeof(uint32_t));
	L->levcap = cap;
}

static void
sel_reserve(pq_writer *w, int64_t n)
{
	if (n <= w->selcap)
		return;
	int64_t cap = w->selcap ? w->selcap : 1024;
	while (cap < n)
		cap *= 2;
	w->sel = lk_xrealloc(w->sel, (size_t) cap * sizeof(int64_t));
	w->selcap = cap;
}

/* Writer-owned scratch of at least n bytes, valid until the next call. */
static void *
scratch(pq_writer *w, size_t n)
{
	if (n > w->scrcap) {
		size_t cap = w->scrcap ? w->scrcap : 65536;
		while (cap < n)
			cap *= 2;
		free(w->scr);
		w->scr = lk_xmalloc(cap);
		w->scrcap = cap;
	}
	return w->scr;
}

/* Writer-owned array of n views, valid until the next call. */
static pq_byte_view *
views_get(pq_writer *w, int64_t n)
{
	if (n > w->viewcap) {
		int64_t cap = w->viewcap ? w->viewcap : 1024;
		while (cap < n)
			cap *= 2;
		free(w->views);
		w->views = lk_xmalloc((size_t) cap * sizeof(pq_byte_view));
		w->viewcap = cap;
	}
	return w->views;
}

/* Is any row of [r0, r1) null? */
static bool
any_null(const lk_column *c, int64_t r0, int64_t r1)
{
	if (!c->validity || c->null_count == 0)
		return false;
	for (int64_t r = r0; r < r1; r++)
		if (!(c->validity[r >> 3] & (1u << (r & 7))))
			return true;
	return false;
}

/*
 * Levels of a leaf without repetition (top-level primitive, or under
 * structs only): one level per row, and the present rows.  *dense is set
 * when every row of [r0, r1) is present (no selection needed).
 */
static bool
levels_flat(pq_writer *w, wleaf *L, int64_t r0, int64_t r1, int64_t *npresent,
			bool *dense, lk_error *err)
{
	int64_t n = r1 - r0;

	if (L->max_def == 0) {
		for (int s = 0; s < L->nsteps; s++)
			if (any_null(L->chain[s], r0, r1))
				return leaf_error(L, err, LK_ERR_INVALID,
								  "null value in a non-nullable column");
		*dense = true;
		*npresent = n;
		L->page_values += n;
		L->page_rows += n;
		return true;
	}

	levels_reserve(L, n);
	uint32_t *d = L->def + L->nlev;
	int64_t k = 0;
	if (L->nsteps == 1) {
		const lk_column *c = L->chain[0];
		if (!c->validity || c->null_count == 0) {
			for (int64_t i = 0; i < n; i++)
				d[i] = 1;
			k = n;
		} else {
			sel_reserve(w, n);
			int64_t *sel = w->sel;
			const uint8_t *vb = c->validity;
			for (int64_t r = r0; r < r1; r++) {
				uint32_t bit = (vb[r >> 3] >> (r & 7)) & 1;
				d[r - r0] = bit;
				sel[k] = r;
				k += bit;
			}
		}
	} else {
		sel_reserve(w, n);
		int64_t *sel = w->sel;
		for (int64_t r = r0; r < r1; r++) {
			uint32_t dl = 0;
			bool present = true;
			for (int s = 0; s < L->nsteps; s++) {
				if (lk_column_is_null(L->chain[s], r)) {
					if (!L->steps[s].nullable)
						return leaf_error(L, err, LK_ERR_INVALID,
										  "null value in a non-nullable column");
					present = false;
					break;
				}
				dl += L->steps[s].nullable;
			}
			d[r - r0] = dl;
			sel[k] = r;
			k += present;
		}
	}
	*dense = k == n;
	*npresent = k;
	L->nlev += n;
	L->page_values += n;
	L->page_rows += n;
	L->page_nulls += n - k;
	return true;
}

typedef struct shred_out {
	pq_writer *w;
	wleaf *L;
	int64_t nsel;
} shred_out;

static inline void
shred_level(shred_out *o, uint32_t def, uint32_t rep)
{
	wleaf *L = o->L;
	if (L->nlev == L->levcap)
		levels_reserve(L, 1);
	L->def[L->nlev] = def;
	L->rep[L->nlev] = rep;
	L->nlev++;
}

/*
 * Dremel shredding of row `row` of column c at step s: emits one (def, rep)
 * pair per leaf slot and the leaf rows holding values.  An empty list emits
 * the list's own def level; a null list one less; a null element the
 * element's def level minus one.
 */
static bool
shred(shred_out *o, int s, const lk_column *c, int64_t row, uint32_t def,
	  uint32_t rep, int depth, lk_error *err)
{
	wleaf *L = o->L;

	for (;;) {
		const wstep *st = &L->steps[s];
		if (lk_column_is_null(c, row)) {
			if (!st->nullable)
				return leaf_error(L, err, LK_ERR_INVALID,
								  "null value in a non-nullable field");
			shred_level(o, def, rep);
			return true;
		}
		def += st->nullable;
		switch (st->field->type->id) {
		case LK_T_STRUCT: {
			const lk_column *cc = &c->children[st->child];
			if (row >= cc->length)
				return leaf_error(L, err, LK_ERR_INVALID,
								  "struct child shorter than its struct");
			c = cc;
			s++;
			continue;
		}
		case LK_T_ARRAY:
		case LK_T_MAP: {
			int64_t b = c->offsets[row], e = c->offsets[row + 1];
			const lk_column *cc = &c->children[st->child];
			if (b < 0 || e < b || e > cc->length)
				return leaf_error(L, err, LK_ERR_INVALID,
								  "list offsets outside the child column");
			if (b == e) {
				shred_level(o, def, rep);
				return true;
			}
			if (depth > MAX_NESTING)
				return leaf_error(L, err, LK_ERR_INTERNAL, "nesting too deep");
			for (int64_t i = b; i < e; i++)
				LK_FORWARD(shred(o, s + 1, cc, i, def + 1, i == b ? rep : st->rep,
								 depth + 1, err));
			return true;
		}
		default:
			shred_level(o, def, rep);
			if (o->nsel == o->w->selcap)
				sel_reserve(o->w, o->nsel + 1);
			o->w->sel[o->nsel++] = row;
			return true;
		}
	}
}

static bool
levels_nested(pq_writer *w, wleaf *L, int64_t r0, int64_t r1, int64_t *npresent,
			  lk_error *err)
{
	shred_out o = {w, L, 0};
	int64_t lev0 = L->nlev;

	sel_reserve(w, r1 - r0);
	levels_reserve(L, r1 - r0);
	for (int64_t r = r0; r < r1; r++)
		LK_FORWARD(shred(&o, 0, L->chain[0], r, 0, 0, 0, err));
	int64_t nl = L->nlev - lev0;
	*npresent = o.nsel;
	L->page_values += nl;
	L->page_rows += r1 - r0;
	L->page_nulls += nl - o.nsel;
	return true;
}

/* ---- value encoding ------------------------------------------------------ */

static void
idx_reserve(wleaf *L, int64_t n)
{
	if (L->nidx + n <= L->idxcap)
		return;
	int64_t cap = L->idxcap ? L->idxcap : 1024;
	while (cap < L->nidx + n)
		cap *= 2;
	L->idx = lk_xrealloc(L->idx, (size_t) cap * sizeof(uint32_t));
	L->idxcap = cap;
}

/* Empty the page's PLAIN buffer, keeping the room for the levels. */
static void
plain_reset(wleaf *L)
{
	lk_buf_reset(&L->plain);
	lk_buf_reserve(&L->plain, L->hroom + 4096);
	L->plain.len = L->hroom;
}

static inline size_t
plain_len(const wleaf *L)
{
	return L->plain.len - L->hroom;
}

static void
put32(wleaf *L, const uint32_t *p, int64_t n)
{
	if (!L->dict_mode) {
		lk_buf_append(&L->plain, p, (size_t) n * 4);
		return;
	}
	wdict *d = &L->dict;
	idx_reserve(L, n);
	dict_reserve(d, n);
	slot32 *slots = d->slots;
	uint32_t mask = d->nslots - 1;
	int shift = d->shift;
	uint32_t *out = L->idx + L->nidx;
	for (int64_t i = 0; i < n; i++) {
		uint32_t key = p[i];
		uint32_t b = hash_int(key, shift);
		for (;;) {
			slot32 *sl = &slots[b];
			if (sl->id1 == 0) {
				sl->key = key;
				sl->id1 = ++d->count;
				lk_buf_append(&d->data, &key, 4);
				out[i] = sl->id1 - 1;
				break;
			}
			if (sl->key == key) {
				out[i] = sl->id1 - 1;
				break;
			}
			b = (b + 1) & mask;
		}
	}
	L->nidx += n;
}

static void
put64(wleaf *L, const uint64_t *p, int64_t n)
{
	if (!L->dict_mode) {
		lk_buf_append(&L->plain, p, (size_t) n * 8);
		return;
	}
	wdict *d = &L->dict;
	idx_reserve(L, n);
	dict_reserve(d, n);
	slot64 *slots = d->slots;
	uint32_t mask = d->nslots - 1;
	int shift = d->shift;
	uint32_t *out = L->idx + L->nidx;
	for (int64_t i = 0; i < n; i++) {
		uint64_t key = p[i];
		uint32_t b = hash_int(key, shift);
		for (;;) {
			slot64 *sl = &slots[b];
			if (sl->id1 == 0) {
				sl->key = key;
				sl->id1 = ++d->count;
				lk_buf_append(&d->data, &key, 8);
				out[i] = (uint32_t) sl->id1 - 1;
				break;
			}
			if (sl->key == key) {
				out[i] = (uint32_t) sl->id1 - 1;
				break;
			}
			b = (b + 1) & mask;
		}
	}
	L->nidx += n;
}

/* n values of L->type_length bytes each, contiguous. */
static void
put_fixed(wleaf *L, const uint8_t *p, int64_t n)
{
	size_t wd = (size_t) L->type_length;
	if (!L->dict_mode) {
		lk_buf_append(&L->plain, p, (size_t) n * wd);
		return;
	}
	wdict *d = &L->dict;
	idx_reserve(L, n);
	dict_reserve(d, n);
	dict_reserve_entries(d, n);
	slotb *slots = d->slots;
	uint32_t mask = d->nslots - 1;
	int shift = d->shift - 32;
	uint32_t *out = L->idx + L->nidx;
	for (int64_t i = 0; i < n; i++) {
		const uint8_t *v = p + (size_t) i * wd;
		uint32_t h = (uint32_t) (hash_bytes(v, wd) >> 32);
		uint32_t b = h >> shift;
		for (;;) {
			slotb *sl = &slots[b];
			if (sl->id1 == 0) {
				sl->h = h;
				sl->id1 = ++d->count;
				d->eoff[sl->id1 - 1] = d->data.len;
				lk_buf_append(&d->data, v, wd);
				out[i] = sl->id1 - 1;
				break;
			}
			if (sl->h == h && memcmp(d->data.data + d->eoff[sl->id1 - 1], v, wd) == 0) {
				out[i] = sl->id1 - 1;
				break;
			}
			b = (b + 1) & mask;
		}
	}
	L->nidx += n;
}

/* Byte arrays; statistics are taken here (dictionary mode: on new entries
 * only). */
static void
put_bytes(wleaf *L, const pq_byte_view *v, int64_t n)
{
	if (n <= 0)
		return;
	if (!L->dict_mode) {
		size_t total = 0;
		for (int64_t i = 0; i < n; i++)
			total += 4 + (size_t) v[i].len;
		lk_buf_reserve(&L->plain, total);
		uint8_t *o = L->plain.data + L->plain.len;
		for (int64_t i = 0; i < n; i++) {
			uint32_t len = v[i].len;
			memcpy(o, &len, 4);
			if (len)
				memcpy(o + 4, v[i].ptr, len);
			o += 4 + len;
		}
		L->plain.len += total;
		if (L->sk == ST_BYTES)
			stats_views(&L->cs, v, n);
		return;
	}
	wdict *d = &L->dict;
	idx_reserve(L, n);
	dict_reserve(d, n);
	dict_reserve_entries(d, n);
	slotb *slots = d->slots;
	uint32_t mask = d->nslots - 1;
	int shift = d->shift - 32;
	uint32_t *out = L->idx + L->nidx;
	const pq_byte_view *mn = NULL, *mx = NULL;
	for (int64_t i = 0; i < n; i++) {
		const uint8_t *p = v[i].ptr;
		uint32_t len = v[i].len;
		uint32_t h = (uint32_t) (hash_bytes(p, len) >> 32);
		uint32_t b = h >> shift;
		for (;;) {
			slotb *sl = &slots[b];
			if (sl->id1 == 0) {
				uint32_t id = d->count++;
				sl->h = h;
				sl->id1 = id + 1;
				lk_buf_reserve(&d->data, 4 + (size_t) len);
				memcpy(d->data.data + d->data.len, &len, 4);
				if (len)
					memcpy(d->data.data + d->data.len + 4, p, len);
				d->eoff[id] = d->data.len + 4;
				d->elen[id] = len;
				d->data.len += 4 + (size_t) len;
				out[i] = id;
				if (!mn) {
					mn = mx = &v[i];
				} else if (bytes_cmp(p, len, mn->ptr, mn->len) < 0) {
					mn = &v[i];
				} else if (bytes_cmp(p, len, mx->ptr, mx->len) > 0) {
					mx = &v[i];
				}
				break;
			}
			if (sl->h == h) {
				uint32_t id = sl->id1 - 1;
				if (d->elen[id] == len &&
					(len == 0 || memcmp(d->data.data + d->eoff[id], p, len) == 0)) {
					out[i] = id;
					break;
				}
			}
			b = (b + 1) & mask;
		}
	}
	L->nidx += n;
	if (mn && L->sk == ST_BYTES)
		stats_offer_b(&L->cs, mn->ptr, mn->len, mx->ptr, mx->len);
}

/* v as a wd-byte big-endian two's complement integer (FLBA decimal). */
static inline void
put_be_int128(uint8_t *o, size_t wd, lk_int128 v)
{
	uint8_t tmp[16];
	uint64_t hi = __builtin_bswap64((uint64_t) ((unsigned __int128) v >> 64));
	uint64_t lo = __builtin_bswap64((uint64_t) v);
	memcpy(tmp, &hi, 8);
	memcpy(tmp + 8, &lo, 8);
	if (wd <= 16) {
		memcpy(o, tmp + 16 - wd, wd);
	} else {
		memset(o, v < 0 ? 0xff : 0, wd - 16);
		memcpy(o + wd - 16, tmp, 16);
	}
}

/* IEEE 754 binary32 → binary16, round to nearest even. */
static uint16_t
float_to_half(float f)
{
	uint32_t x;
	memcpy(&x, &f, 4);
	uint32_t sign = (x >> 16) & 0x8000;
	uint32_t e = (x >> 23) & 0xff, m = x & 0x7fffff;

	if (e == 0xff)
		return (uint16_t) (sign | 0x7c00 | (m ? 0x200 | (m >> 13) : 0));
	int32_t he = (int32_t) e - 127 + 15;
	if (he >= 0x1f)
		return (uint16_t) (sign | 0x7c00);
	if (he <= 0) {
		if (he < -10)
			return (uint16_t) sign;
		m |= 0x800000;
		int shift = 14 - he;
		uint32_t hm = m >> shift;
		uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
		if (rem > half || (rem == half && (hm & 1)))
			hm++;
		return (uint16_t) (sign | hm);
	}
	uint32_t hm = m >> 13, rem = m & 0x1fff;
	uint32_t r = sign | ((uint32_t) he << 10) | hm;
	if (rem > 0x1000 || (rem == 0x1000 && (hm & 1)))
		r++;
	return (uint16_t) r;
}

/* Units per day of a time unit, and nanoseconds per unit. */
static void
unit_scale(int unit, int64_t *per_day, int64_t *nanos)
{
	switch (unit) {
	case LK_UNIT_MILLIS:
		*per_day = 86400000LL;
		*nanos = 1000000LL;
		break;
	case LK_UNIT_NANOS:
		*per_day = 86400000000000LL;
		*nanos = 1;
		break;
	default:
		*per_day = 86400000000LL;
		*nanos = 1000LL;
		break;
	}
}

#define ROW(i) (sel ? sel[i] : r0 + (i))

/*
 * Encode the n present values of leaf column c: rows r0.. (sel NULL) or
 * sel[0..n).  Statistics in the same pass.
 */
static bool
put_values(pq_writer *w, wleaf *L, const lk_column *c, int64_t r0,
		   const int64_t *sel, int64_t n, lk_error *err)
{
	L->seen_plain += n * (L->pwidth ? L->pwidth : 4);
	if (n == 0)
		return true;
	switch (L->conv) {
	case CV_BOOL: {
		const uint8_t *src = c->values;
		lk_buf_reserve(&L->plain, (size_t) n);
		uint8_t *o = L->plain.data + L->plain.len;
		uint8_t any1 = 0, all1 = 1;
		for (int64_t i = 0; i < n; i++) {
			uint8_t b = src[ROW(i)] != 0;
			o[i] = b;
			any1 |= b;
			all1 &= b;
		}
		L->plain.len += (size_t) n;
		stats_offer_i(&L->cs, ST_BOOL, all1, any1);
		return true;
	}
	case CV_I8:
	case CV_U8:
	case CV_I16:
	case CV_U16:
	case CV_TIME_MS:
	case CV_DEC32: {
		int32_t *p = scratch(w, (size_t) n * 4);
		switch (L->conv) {
		case CV_I8: {
			const int8_t *s = c->values;
			for (int64_t i = 0; i < n; i++)
				p[i] = s[ROW(i)];
			break;
		}
		case CV_U8: {
			const uint8_t *s = c->values;
			for (int64_t i = 0; i < n; i++)
				p[i] = s[ROW(i)];
			break;
		}
		case CV_I16: {
			const int16_t *s = c->values;
			for (int64_t i = 0; i < n; i++)
				p[i] = s[ROW(i)];
			break;
		}
		case CV_U16: {
			const uint16_t *s = c->values;
			for (int64_t i = 0; i < n; i++)
				p[i] = s[ROW(i)];
			break;
		}
		case CV_TIME_MS: {
			const int64_t *s = c->values;
			for (int64_t i = 0; i < n; i++)
				p[i] = (int32_t) s[ROW(i)];
			break;
		}
		default: {
			const lk_int128 *s = c->values;
			for (int64_t i = 0; i < n; i++)
				p[i] = (int32_t) s[ROW(i)];
			break;
		}
		}
		stats_i32(&L->cs, L->sk, p, n);
		put32(L, (const uint32_t *) p, n);
		return true;
	}
	case CV_I32:
	case CV_F32: {
		const uint32_t *p;
		if (!sel) {
			p = (const uint32_t *) c->values + r0;
		} else {
			uint32_t *g = scratch(w, (size_t) n * 4);
			const uint32_t *s = c->values;
			for (int64_t i = 0; i < n; i++)
				g[i] = s[sel[i]];
			p = g;
		}
		if (L->conv == CV_F32)
			stats_f32(&L->cs, (const float *) p, n);
		else
			stats_i32(&L->cs, L->sk, (const int32_t *) p, n);
		put32(L, p, n);
		return true;
	}
	case CV_I64:
	case CV_F64: {
		const uint64_t *p;
		if (!sel) {
			p = (const uint64_t *) c->values + r0;
		} else {
			uint64_t *g = scratch(w, (size_t) n * 8);
			const uint64_t *s = c->values;
			for (int64_t i = 0; i < n; i++)
				g[i] = s[sel[i]];
			p = g;
		}
		if (L->conv == CV_F64)
			stats_f64(&L->cs, (const double *) p, n);
		else
			stats_i64(&L->cs, L->sk, (const int64_t *) p, n);
		put64(L, p, n);
		return true;
	}
	case CV_DEC64: {
		int64_t *p = scratch(w, (size_t) n * 8);
		const lk_int128 *s = c->values;
		for (int64_t i = 0; i < n; i++)
			p[i] = (int64_t) s[ROW(i)];
		stats_i64(&L->cs, ST_I64, p, n);
		put64(L, (const uint64_t *) p, n);
		return true;
	}
	case CV_F16: {
		uint16_t *p = scratch(w, (size_t) n * 2);
		const float *s = c->values;
		bool found = false;
		float mn = 0, mx = 0;
		for (int64_t i = 0; i < n; i++) {
			float f = s[ROW(i)];
			p[i] = float_to_half(f);
			if (f == f) {
				if (!found) {
					mn = mx = f;
					found = true;
				}
				mn = f < mn ? f : mn;
				mx = f > mx ? f : mx;
			}
		}
		if (found)
			stats_offer_d(&L->cs, mn, mx);
		put_fixed(L, (const uint8_t *) p, n);
		return true;
	}
	case CV_DECFL: {
		size_t wd = (size_t) L->type_length;
		uint8_t *p = scratch(w, (size_t) n * wd);
		const lk_int128 *s = c->values;
		lk_int128 mn = s[ROW(0)], mx = mn;
		for (int64_t i = 0; i < n; i++) {
			lk_int128 v = s[ROW(i)];
			mn = v < mn ? v : mn;
			mx = v > mx ? v : mx;
			put_be_int128(p + (size_t) i * wd, wd, v);
		}
		stats_offer_q(&L->cs, mn, mx);
		put_fixed(L, p, n);
		return true;
	}
	case CV_INT96: {
		uint8_t *p = scratch(w, (size_t) n * 12);
		const int64_t *s = c->values;
		int64_t per_day, nanos;
		unit_scale(L->type->unit, &per_day, &nanos);
		int64_t mn = s[ROW(0)], mx = mn;
		for (int64_t i = 0; i < n; i++) {
			int64_t v = s[ROW(i)];
			mn = v < mn ? v : mn;
			mx = v > mx ? v : mx;
			int64_t day = v / per_day, rem = v % per_day;
			if (rem < 0) {
				rem += per_day;
				day--;
			}
			int64_t nod = rem * nanos;
			uint32_t jd = (uint32_t) (day + JULIAN_EPOCH_DAY);
			memcpy(p + (size_t) i * 12, &nod, 8);
			memcpy(p + (size_t) i * 12 + 8, &jd, 4);
		}
		stats_offer_i(&L->cs, ST_INT96, mn, mx);
		put_fixed(L, p, n);
		return true;
	}
	case CV_BYTES:
	case CV_FLBA: {
		pq_byte_view *v = views_get(w, n);
		const int64_t *off = c->offsets;
		const uint8_t *data = c->data;
		int64_t bytes = 0;
		for (int64_t i = 0; i < n; i++) {
			int64_t r = ROW(i);
			int64_t b = off[r], len = off[r + 1] - b;
			if (len < 0 || len > INT32_MAX - 8 || b < 0)
				return leaf_error(L, err, LK_ERR_INVALID,
								  "invalid string offsets in batch");
			v[i].ptr = data + b;
			v[i].len = (uint32_t) len;
			bytes += len;
		}
		if (L->conv == CV_BYTES) {
			L->seen_plain += bytes;
			put_bytes(L, v, n);
			return true;
		}
		size_t wd = (size_t) L->type_length;
		uint8_t *p = scratch(w, (size_t) n * wd);
		for (int64_t i = 0; i < n; i++) {
			if (v[i].len != wd)
				return leaf_error(L, err, LK_ERR_INVALID,
								  "value length differs from the fixed length");
			memcpy(p + (size_t) i * wd, v[i].ptr, wd);
		}
		if (L->sk == ST_BYTES)
			stats_views(&L->cs, v, n);
		put_fixed(L, p, n);
		return true;
	}
	}
	return leaf_error(L, err, LK_ERR_INTERNAL, "unknown value conversion");
}

#undef ROW

/* ---- pages --------------------------------------------------------------- */

/* RLE levels; v1 with the 4-byte length prefix. Returns the byte length of
 * the encoded levels (without the prefix). */
static size_t
encode_levels(lk_buf *b, const uint32_t *lv, int64_t n, int max, bool v2)
{
	size_t at = b->len;
	if (!v2)
		lk_buf_append_u32le(b, 0);
	size_t start = b->len;
	pq_rle_encode(b, lv, n, pq_bit_width((uint64_t) max));
	size_t len = b->len - start;
	if (!v2) {
		uint32_t l32 = (uint32_t) len;
		memcpy(b->data + at, &l32, 4);
	}
	return len;
}

static int
dict_bit_width(const wdict *d)
{
	int bw = pq_bit_width(d->count ? d->count - 1 : 0);
	return bw < 1 ? 1 : bw;
}

/* Size estimate of the page being filled, before compression. */
static int64_t
page_estimate(const pq_writer *w, const wleaf *L)
{
	int64_t est = 0;
	if (L->max_def > 0)
		est += (L->nlev * pq_bit_width((uint64_t) L->max_def) + 7) / 8;
	if (L->max_rep > 0)
		est += (L->nlev * pq_bit_width((uint64_t) L->max_rep) + 7) / 8;
	if (L->dict_mode)
		est += (L->nidx * dict_bit_width(&L->dict) + 7) / 8;
	else if (L->phys == PQ_BOOLEAN)
		est += (int64_t) (plain_len(L) + 7) / 8;
	else
		est += (int64_t) plain_len(L);
	(void) w;
	return est + 16;
}

static bool
compress_into(pq_writer *w, const uint8_t *src, size_t n, lk_buf *out,
			  lk_error *err)
{
	return pq_compress((int) w->opt.codec, w->opt.compression_level, src, n,
					   out, err);
}

/*
 * Close the page being filled: encode, compress, append to the chunk.
 * Copies avoided: PLAIN values are compressed where they were gathered (the
 * levels go in the room kept in front of them), and the compressed body is
 * written straight into the chunk behind a slot where the header goes once
 * its sizes are known.
 */
static bool
page_flush(pq_writer *w, wleaf *L, lk_error *err)
{
	if (L->page_values == 0)
		return true;

	bool v2 = w->opt.data_page_version == 2;
	bool raw = w->opt.codec == PQ_CODEC_UNCOMPRESSED;
	lk_buf *body = &w->body;
	int64_t nonnull = L->page_values - L->page_nulls;
	int64_t est = page_estimate(w, L);

	/* levels into body */
	lk_buf_reset(body);
	size_t rep_len = 0, def_len = 0;
	if (L->max_rep > 0)
		rep_len = encode_levels(body, L->rep, L->nlev, L->max_rep, v2);
	if (L->max_def > 0)
		def_len = encode_levels(body, L->def, L->nlev, L->max_def, v2);
	size_t lvl_len = body->len;

	/* values: encoded after the levels, or in place in L->plain */
	pq_encoding enc = PQ_ENC_PLAIN;
	bool in_plain = false;
	if (L->dict_mode && nonnull > 0) {
		int bw = dict_bit_width(&L->dict);
		lk_buf_append_byte(body, (uint8_t) bw);
		pq_rle_encode(body, L->idx, L->nidx, bw);
		enc = PQ_ENC_RLE_DICTIONARY;
	} else if (L->phys == PQ_BOOLEAN) {
		pq_plain_encode_bool(body, L->plain.data + L->hroom, (int64_t) plain_len(L));
	} else {
		in_plain = true;
	}
	const uint8_t *vals = in_plain ? L->plain.data + L->hroom : body->data + lvl_len;
	size_t vals_len = in_plain ? plain_len(L) : body->len - lvl_len;
	size_t uncomp = lvl_len + vals_len;
	if (uncomp > INT32_MAX || L->page_values > INT32_MAX)
		return leaf_error(L, err, LK_ERR_UNSUPPORTED,
						  "page larger than 2 GiB (a single row too large?)");

	/* v1 compresses levels and values as one: make them contiguous */
	const uint8_t *all = body->data;
	if (!v2 && in_plain) {
		if (lvl_len <= L->hroom) {
			uint8_t *at = L->plain.data + L->hroom - lvl_len;
			if (lvl_len)
				memcpy(at, body->data, lvl_len);
			all = at;
		} else {
			lk_buf_append(body, vals, vals_len);
			all = body->data;
		}
	}

	/* body into the chunk behind the header slot */
	lk_buf *ch = &L->chunk;
	size_t slot = ch->len;
	lk_buf_reserve(ch, HDR_SLOT);
	ch->len += HDR_SLOT;
	if (v2) {
		lk_buf_append(ch, body->data, lvl_len);
		if (raw)
			lk_buf_append(ch, vals, vals_len);
		else
			LK_FORWARD(compress_into(w, vals, vals_len, ch, err));
	} else if (raw) {
		lk_buf_append(ch, all, uncomp);
	} else {
		LK_FORWARD(compress_into(w, all, uncomp, ch, err));
	}
	size_t plen = ch->len - slot - HDR_SLOT;
	if (plen > INT32_MAX)
		return leaf_error(L, err, LK_ERR_UNSUPPORTED, "page larger than 2 GiB");

	pq_page_header h;
	memset(&h, 0, sizeof(h));
	h.uncompressed_page_size = (int32_t) uncomp;
	h.compressed_page_size = (int32_t) plen;
	if (v2) {
		h.type = PQ_PAGE_DATA_V2;
		h.has_data_page_header_v2 = true;
		pq_data_page_header_v2 *d = &h.data_page_header_v2;
		d->num_values = (int32_t) L->page_values;
		d->num_nulls = (int32_t) L->page_nulls;
		d->num_rows = (int32_t) L->page_rows;
		d->encoding = enc;
		d->definition_levels_byte_length = (int32_t) def_len;
		d->repetition_levels_byte_length = (int32_t) rep_len;
		d->is_compressed = !raw;
	} else {
		h.type = PQ_PAGE_DATA;
		h.has_data_page_header = true;
		pq_data_page_header *d = &h.data_page_header;
		d->num_values = (int32_t) L->page_values;
		d->encoding = enc;
		d->definition_level_encoding = PQ_ENC_RLE;
		d->repetition_level_encoding = PQ_ENC_RLE;
	}
	lk_buf_reset(&w->hdr);
	pq_meta_write_page_header(&w->hdr, &h);
	size_t hlen = w->hdr.len;
	if (hlen > HDR_SLOT)
		return leaf_error(L, err, LK_ERR_INTERNAL, "page header larger than its slot");
	memcpy(ch->data + slot + HDR_SLOT - hlen, w->hdr.data, hlen);
	if (L->npages == L->pagecap) {
		L->pagecap = L->pagecap ? 2 * L->pagecap : 16;
		L->pages = lk_xrealloc(L->pages, (size_t) L->pagecap * sizeof(*L->pages));
	}
	L->pages[L->npages].at = slot + HDR_SLOT - hlen;
	L->pages[L->npages].len = hlen + plen;
	L->npages++;

	L->chunk_uncomp += (int64_t) (hlen + uncomp);
	L->chunk_comp += (int64_t) (hlen + plen);
	L->chunk_values += L->page_values;
	L->cs.null_count += L->page_nulls;
	L->cs.num_values += L->page_values;
	if (enc == PQ_ENC_RLE_DICTIONARY)
		L->pages_dict++;
	else
		L->pages_plain++;
	if (L->page_rows > 0)
		L->row_est = (double) est / (double) L->page_rows;

	L->nlev = 0;
	L->nidx = 0;
	plain_reset(L);
	L->page_values = L->page_nulls = L->page_rows = 0;
	return true;
}

/*
 * Is the dictionary paying off?  parquet-mr's test, once per chunk after
 * DICT_PROBE_VALUES values: dictionary bytes plus index bytes against the
 * PLAIN bytes of the same values.  When it loses and no page has used it
 * yet, the page being filled is turned back into PLAIN and the dictionary
 * dropped (the chunk gets no dictionary page); otherwise this is the usual
 * fallback.
 */
static bool
dict_probe(pq_writer *w, wleaf *L, lk_error *err)
{
	wdict *d = &L->dict;
	L->probed = true;
	int64_t idx_bytes = (L->dict_values * dict_bit_width(d) + 7) / 8;
	if ((int64_t) d->data.len + idx_bytes < L->dict_plain)
		return true;
	if (L->pages_dict > 0) {
		LK_FORWARD(page_flush(w, L, err));
		L->dict_mode = false;
		return true;
	}
	lk_buf *pl = &L->plain;
	const uint32_t *ix = L->idx;
	int64_t n = L->nidx;
	plain_reset(L);
	switch (d->kind) {
	case DK_32:
	case DK_64:
	case DK_FIXED: {
		size_t wd = d->kind == DK_32 ? 4 : d->kind == DK_64 ? 8 : (size_t) d->width;
		lk_buf_reserve(pl, (size_t) n * wd);
		uint8_t *o = pl->data + pl->len;
		if (d->kind == DK_FIXED)
			for (int64_t i = 0; i < n; i++)
				memcpy(o + (size_t) i * wd, d->data.data + d->eoff[ix[i]], wd);
		else
			for (int64_t i = 0; i < n; i++)
				memcpy(o + (size_t) i * wd, d->data.data + (size_t) ix[i] * wd, wd);
		pl->len += (size_t) n * wd;
		break;
	}
	case DK_BYTES:
		for (int64_t i = 0; i < n; i++)
			pq_plain_encode_byte_array(pl, d->data.data + d->eoff[ix[i]],
									   d->elen[ix[i]]);
		break;
	}
	L->nidx = 0;
	dict_reset(d);
	L->dict_mode = false;
	return true;
}

/* Rows for the next slice of leaf L: fill the page up to page_bytes, keep
 * the dictionary near its limit, at most SLICE_MAX_ROWS. */
static int64_t
slice_rows(const pq_writer *w, const wleaf *L)
{
	int64_t page_bytes = w->opt.page_bytes;
	int64_t est = L->page_values ? page_estimate(w, L) : 0;
	double per_row = L->row_est;
	if (per_row <= 0) {
		if (L->page_rows > 0)
			per_row = (double) est / (double) L->page_rows;
		else
			per_row = L->phys == PQ_BOOLEAN ? 0.25 : L->pwidth ? L->pwidth : 8;
	}
	if (per_row < 0.01)
		per_row = 0.01;
	double room = (double) (page_bytes - est);
	if (room < 1)
		room = 1;
	double k = room / per_row + 1;
	if (L->dict_mode) {
		double plain_row = L->seen_rows
			? (double) L->seen_plain / (double) L->seen_rows : per_row;
		if (plain_row < 1)
			plain_row = 1;
		double droom = (double) (w->opt.dictionary_limit - (int64_t) L->dict.data.len);
		double kd = (droom > 0 ? droom : 0) / plain_row + 1;
		if (kd < DICT_SLICE_MIN_ROWS)
			kd = DICT_SLICE_MIN_ROWS;
		if (kd < k)
			k = kd;
	}
	if (k > SLICE_MAX_ROWS)
		k = SLICE_MAX_ROWS;
	if (k < 1)
		k = 1;
	return (int64_t) k;
}

/*
 * Add top-level rows [r0, r1) of the current batch to leaf L.  Rows go in
 * slices planned by slice_rows(); every decision (close the page, judge or
 * drop the dictionary) is taken at the end of a planned slice only, so a
 * slice cut short by the end of a batch just continues with the next one:
 * the same rows give the same file however they are split into batches.
 */
static bool
leaf_add_rows(pq_writer *w, wleaf *L, int64_t r0, int64_t r1, lk_error *err)
{
	const lk_column *leafc = L->chain[L->nsteps - 1];
	int64_t r = r0;

	while (r < r1) {
		if (L->slice_left <= 0)
			L->slice_left = slice_rows(w, L);
		int64_t k = L->slice_left;
		if (k > r1 - r)
			k = r1 - r;
		int64_t np = 0;
		bool in_dict = L->dict_mode;
		int64_t plain0 = L->seen_plain;
		if (L->max_rep == 0) {
			bool dense = false;
			LK_FORWARD(levels_flat(w, L, r, r + k, &np, &dense, err));
			LK_FORWARD(put_values(w, L, leafc, r, dense ? NULL : w->sel, np, err));
		} else {
			LK_FORWARD(levels_nested(w, L, r, r + k, &np, err));
			LK_FORWARD(put_values(w, L, leafc, 0, w->sel, np, err));
		}
		L->seen_rows += k;
		r += k;
		L->slice_left -= k;
		if (in_dict) {
			L->dict_values += np;
			L->dict_plain += L->seen_plain - plain0;
		}
		if (L->slice_left > 0)
			break;          /* the batch ended inside the slice */
		if (in_dict && !L->probed && L->dict_values >= DICT_PROBE_VALUES)
			LK_FORWARD(dict_probe(w, L, err));
		if (L->dict_mode && (int64_t) L->dict.data.len > w->opt.dictionary_limit) {
			/* fallback: this page keeps the dictionary, the rest is PLAIN */
			LK_FORWARD(page_flush(w, L, err));
			L->dict_mode = false;
		} else if (page_estimate(w, L) >= w->opt.page_bytes ||
				   L->page_values >= PAGE_MAX_LEVELS) {
			LK_FORWARD(page_flush(w, L, err));
		}
	}
	return true;
}

/* ---- column chunks, row groups ------------------------------------------- */

/* Physical statistics bytes of a value (arena copy). */
static const uint8_t *
stat_bytes(pq_writer *w, const wleaf *L, const wstats *s, bool is_max,
		   int32_t *len)
{
	uint8_t tmp[16];
	const void *src = tmp;
	size_t n = 0;
	int64_t iv = is_max ? s->imax : s->imin;
	double dv = is_max ? s->dmax : s->dmin;

	switch (L->sk) {
	case ST_BOOL:
		tmp[0] = (uint8_t) iv;
		n = 1;
		break;
	case ST_I32:
	case ST_U32: {
		int32_t v = (int32_t) iv;
		memcpy(tmp, &v, 4);
		n = 4;
		break;
	}
	case ST_I64:
	case ST_U64:
		memcpy(tmp, &iv, 8);
		n = 8;
		break;
	case ST_F32:
	case ST_F64:
		if (dv == 0)
			dv = is_max ? 0.0 : -0.0;
		if (L->conv == CV_F16) {
			uint16_t hv = float_to_half((float) dv);
			memcpy(tmp, &hv, 2);
			n = 2;
		} else if (L->sk == ST_F32) {
			float f = (float) dv;
			memcpy(tmp, &f, 4);
			n = 4;
		} else {
			memcpy(tmp, &dv, 8);
			n = 8;
		}
		break;
	case ST_I128: {
		lk_int128 q = is_max ? s->qmax : s->qmin;
		size_t wd = (size_t) L->type_length;
		uint8_t *o = lk_arena_alloc(&w->arena, wd);
		put_be_int128(o, wd, q);
		*len = (int32_t) wd;
		return o;
	}
	case ST_BYTES: {
		const lk_buf *b = is_max ? &s->bmax : &s->bmin;
		src = b->data;
		n = b->len;
		break;
	}
	default:
		*len = 0;
		return NULL;
	}
	*len = (int32_t) n;
	return lk_arena_memdup(&w->arena, n ? src : "", n ? n : 1);
}

/* Length of a UTF-8 sequence starting with byte c, 0 if c cannot start one. */
static int
utf8_len(uint8_t c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c < 0xe0)
		return 2;
	if (c >= 0xe0 && c < 0xf0)
		return 3;
	if (c >= 0xf0 && c < 0xf5)
		return 4;
	return 0;
}

static bool
utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		int l = utf8_len(p[i]);
		if (!l || i + (size_t) l > n)
			return false;
		for (int k = 1; k < l; k++)
			if ((p[i + (size_t) k] & 0xc0) != 0x80)
				return false;
		i += (size_t) l;
	}
	return true;
}

static int
utf8_put(uint8_t *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (uint8_t) cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (uint8_t) (0xc0 | (cp >> 6));
		o[1] = (uint8_t) (0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (uint8_t) (0xe0 | (cp >> 12));
		o[1] = (uint8_t) (0x80 | ((cp >> 6) & 0x3f));
		o[2] = (uint8_t) (0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (uint8_t) (0xf0 | (cp >> 18));
	o[1] = (uint8_t) (0x80 | ((cp >> 12) & 0x3f));
	o[2] = (uint8_t) (0x80 | ((cp >> 6) & 0x3f));
	o[3] = (uint8_t) (0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Truncate a min (lower bound) or max (upper bound) to at most `limit`
 * bytes into o (room for limit bytes).  A max is incremented after
 * truncation: UTF-8 strings by code point (staying valid UTF-8), binary by
 * the last byte with carry.  Returns the new length, or -1 when no upper
 * bound of that length exists (omit the max).
 */
static int64_t
truncate_bound(const uint8_t *p, size_t n, size_t limit, bool is_max,
			   bool utf8, uint8_t *o)
{
	if (n <= limit) {
		if (n)
			memcpy(o, p, n);
		return (int64_t) n;
	}
	utf8 = utf8 && utf8_valid(p, n);
	size_t m = limit;
	if (utf8)
		while (m > 0 && (p[m] & 0xc0) == 0x80)
			m--;
	memcpy(o, p, m);
	if (!is_max)
		return (int64_t) m;
	if (!utf8) {
		while (m > 0) {
			if (o[m - 1] != 0xff) {
				o[m - 1]++;
				return (int64_t) m;
			}
			m--;
		}
		return -1;
	}
	while (m > 0) {
		size_t s = m - 1;
		while (s > 0 && (o[s] & 0xc0) == 0x80)
			s--;
		int l = (int) (m - s);
		uint32_t cp = l == 1 ? o[s] : l == 2 ? o[s] & 0x1fu : l == 3 ? o[s] & 0x0fu
			: o[s] & 0x07u;
		for (int k = 1; k < l; k++)
			cp = (cp << 6) | (o[s + (size_t) k] & 0x3fu);
		cp++;
		if (cp >= 0xd800 && cp < 0xe000)
			cp = 0xe000;
		if (cp <= 0x10ffff) {
			uint8_t enc[4];
			int el = utf8_put(enc, cp);
			if (s + (size_t) el <= limit) {
				memcpy(o + s, enc, (size_t) el);
				return (int64_t) (s + (size_t) el);
			}
		}
		m = s;
	}
	return -1;
}

/* Statistics of a chunk for the footer. */
static void
chunk_statistics(pq_writer *w, const wleaf *L, pq_statistics *st)
{
	memset(st, 0, sizeof(*st));
	st->has_null_count = true;
	st->null_count = L->cs.null_count;
	if (!L->cs.has || L->sk == ST_NONE || L->sk == ST_INT96)
		return;
	int32_t mnl, mxl;
	const uint8_t *mn = stat_bytes(w, L, &L->cs, false, &mnl);
	const uint8_t *mx = stat_bytes(w, L, &L->cs, true, &mxl);
	if (L->sk == ST_BYTES && L->phys == PQ_BYTE_ARRAY) {
		size_t lim = (size_t) w->opt.stats_truncate;
		uint8_t *o = lk_arena_alloc(&w->arena, lim + 1);
		int64_t nl = truncate_bound(mn, (size_t) mnl, lim, false, L->utf8, o);
		st->is_min_value_exact = nl == mnl;
		mn = o;
		mnl = (int32_t) nl;
		o = lk_arena_alloc(&w->arena, lim + 1);
		nl = truncate_bound(mx, (size_t) mxl, lim, true, L->utf8, o);
		st->has_is_min_value_exact = true;
		if (nl >= 0) {
			st->has_max_value = true;
			st->max_value = o;
			st->max_value_len = (int32_t) nl;
			st->has_is_max_value_exact = true;
			st->is_max_value_exact = nl == mxl && memcmp(o, mx, (size_t) nl) == 0;
		}
		st->has_min_value = true;
		st->min_value = mn;
		st->min_value_len = mnl;
		return;
	}
	st->has_min_value = st->has_max_value = true;
	st->min_value = mn;
	st->min_value_len = mnl;
	st->max_value = mx;
	st->max_value_len = mxl;
	st->has_is_min_value_exact = st->has_is_max_value_exact = true;
	st->is_min_value_exact = st->is_max_value_exact = true;
}

/* Write leaf L's chunk (dictionary page, data pages) and describe it. */
static bool
chunk_write(pq_writer *w, wleaf *L, pq_column_chunk *cc, lk_error *err)
{
	LK_FORWARD(page_flush(w, L, err));

	int64_t start = (int64_t) w->pos;
	int64_t uncomp = L->chunk_uncomp, compsz = L->chunk_comp;
	bool has_dict = L->dict.count > 0;

	if (has_dict) {
		const uint8_t *payload = L->dict.data.data;
		size_t plen = L->dict.data.len;
		if (w->opt.codec != PQ_CODEC_UNCOMPRESSED) {
			lk_buf_reset(&w->comp);
			LK_FORWARD(compress_into(w, L->dict.data.data, L->dict.data.len,
									 &w->comp, err));
			payload = w->comp.data;
			plen = w->comp.len;
		}
		if (L->dict.data.len > INT32_MAX || plen > INT32_MAX)
			return leaf_error(L, err, LK_ERR_UNSUPPORTED,
							  "dictionary page larger than 2 GiB");
		pq_page_header h;
		memset(&h, 0, sizeof(h));
		h.type = PQ_PAGE_DICTIONARY;
		h.uncompressed_page_size = (int32_t) L->dict.data.len;
		h.compressed_page_size = (int32_t) plen;
		h.has_dictionary_page_header = true;
		h.dictionary_page_header.num_values = (int32_t) L->dict.count;
		h.dictionary_page_header.encoding = PQ_ENC_PLAIN;
		lk_buf_reset(&w->hdr);
		pq_meta_write_page_header(&w->hdr, &h);
		uncomp += (int64_t) (w->hdr.len + L->dict.data.len);
		compsz += (int64_t) (w->hdr.len + plen);
		LK_FORWARD(out_write(w, w->hdr.data, w->hdr.len, err));
		LK_FORWARD(out_write(w, payload, plen, err));
	}
	int64_t data_off = (int64_t) w->pos;
	for (int i = 0; i < L->npages; i++)
		LK_FORWARD(out_write(w, L->chunk.data + L->pages[i].at, L->pages[i].len, err));

	memset(cc, 0, sizeof(*cc));
	cc->file_offset = start;
	cc->has_meta_data = true;
	pq_column_meta *m = &cc->meta_data;
	m->type = L->phys;
	pq_encoding encs[3];
	int ne = 0;
	if (has_dict || L->pages_plain)
		encs[ne++] = PQ_ENC_PLAIN;
	if (L->max_def > 0 || L->max_rep > 0)
		encs[ne++] = PQ_ENC_RLE;
	if (L->pages_dict)
		encs[ne++] = PQ_ENC_RLE_DICTIONARY;
	m->nencodings = ne;
	m->encodings = lk_arena_memdup(&w->arena, encs, sizeof(encs));
	m->npath = L->npath;
	m->path_in_schema = L->path;
	m->codec = (int32_t) w->opt.codec;
	m->num_values = L->chunk_values;
	m->total_uncompressed_size = uncomp;
	m->total_compressed_size = compsz;
	m->data_page_offset = data_off;
	if (has_dict) {
		m->has_dictionary_page_offset = true;
		m->dictionary_page_offset = start;
	}
	m->has_statistics = true;
	chunk_statistics(w, L, &m->statistics);
	pq_page_type dpt = w->opt.data_page_version == 2 ? PQ_PAGE_DATA_V2 : PQ_PAGE_DATA;
	pq_page_encoding_stats es[3];
	int nes = 0;
	if (has_dict)
		es[nes++] = (pq_page_encoding_stats) {PQ_PAGE_DICTIONARY, PQ_ENC_PLAIN, 1};
	if (L->pages_dict)
		es[nes++] = (pq_page_encoding_stats) {dpt, PQ_ENC_RLE_DICTIONARY, L->pages_dict};
	if (L->pages_plain)
		es[nes++] = (pq_page_encoding_stats) {dpt, PQ_ENC_PLAIN, L->pages_plain};
	m->nencoding_stats = nes;
	m->encoding_stats = lk_arena_memdup(&w->arena, es, sizeof(es));

	/* reset for the next row group */
	stats_merge(&L->fs, &L->cs, L->sk);
	stats_clear(&L->cs);
	lk_buf_reset(&L->chunk);
	L->npages = 0;
	L->chunk_uncomp = L->chunk_comp = L->chunk_values = 0;
	L->pages_dict = L->pages_plain = 0;
	L->probed = false;
	L->dict_values = L->dict_plain = 0;
	L->slice_left = 0;
	dict_reset(&L->dict);
	L->dict_mode = w->opt.dictionary && L->phys != PQ_BOOLEAN;
	return true;
}

bool
pq_writer_flush_row_group(pq_writer *w, lk_error *err)
{
	if (w->failed || w->closed)
		return lk_error_set(err, LK_ERR_INVALID, "writer is %s",
							w->closed ? "closed" : "in a failed state");
	if (w->rg_rows == 0)
		return true;
	if (w->nrgs == w->rgcap) {
		w->rgcap = w->rgcap ? w->rgcap * 2 : 8;
		w->rgs = lk_xrealloc(w->rgs, (size_t) w->rgcap * sizeof(pq_row_group));
	}
	pq_row_group *rg = &w->rgs[w->nrgs];
	memset(rg, 0, sizeof(*rg));
	rg->ncolumns = w->nleaves;
	rg->columns = lk_arena_zalloc(&w->arena,
								  sizeof(pq_column_chunk) * (size_t) (w->nleaves ? w->nleaves : 1));
	rg->num_rows = w->rg_rows;
	rg->has_file_offset = true;
	rg->file_offset = (int64_t) w->pos;
	for (int i = 0; i < w->nleaves; i++) {
		if (!chunk_write(w, &w->leaves[i], &rg->columns[i], err)) {
			w->failed = true;
			return lk_error_add_where(err, "file \"%s\"", w->out.name ? w->out.name : "<output>");
		}
		rg->total_byte_size += rg->columns[i].meta_data.total_uncompressed_size;
		rg->total_compressed_size += rg->columns[i].meta_data.total_compressed_size;
	}
	rg->has_total_compressed_size = true;
	if (w->nrgs <= INT16_MAX) {
		rg->has_ordinal = true;
		rg->ordinal = (int16_t) w->nrgs;
	}
	w->nrgs++;
	w->num_rows += w->rg_rows;
	w->rg_rows = 0;
	return true;
}

/* Estimated bytes of the row group being built, before compression. */
static int64_t
row_group_estimate(const pq_writer *w)
{
	int64_t total = 0;
	for (int i = 0; i < w->nleaves; i++) {
		const wleaf *L = &w->leaves[i];
		total += L->chunk_uncomp + (int64_t) L->dict.data.len;
		if (L->page_values)
			total += page_estimate(w, L);
	}
	return total;
}

/* Point each leaf's chain at this batch's columns; check lengths. */
static bool
bind_batch(pq_writer *w, const lk_batch *b, lk_error *err)
{
	for (int i = 0; i < w->nleaves; i++) {
		wleaf *L = &w->leaves[i];
		const lk_column *c = &b->cols[L->col];
		for (int s = 0; s < L->nsteps; s++) {
			L->chain[s] = c;
			if (s + 1 < L->nsteps) {
				if (c->nchildren <= L->steps[s].child || !c->children)
					return leaf_error(L, err, LK_ERR_INVALID,
									  "batch column does not match the schema");
				const lk_column *cc = &c->children[L->steps[s].child];
				if (L->max_rep == 0 && cc->length < c->length)
					return leaf_error(L, err, LK_ERR_INVALID,
									  "struct child shorter than its struct");
				c = cc;
			}
		}
		const lk_column *leafc = L->chain[L->nsteps - 1];
		if (leafc->length > 0 && !leafc->values && !leafc->offsets)
			return leaf_error(L, err, LK_ERR_INVALID, "batch column has no values");
	}
	return true;
}

bool
pq_writer_write(pq_writer *w, const lk_batch *b, lk_error *err)
{
	if (w->failed || w->closed)
		return lk_error_set(err, LK_ERR_INVALID, "writer is %s",
							w->closed ? "closed" : "in a failed state");
	if (b->ncols != w->schema->nchildren)
		return lk_error_set(err, LK_ERR_INVALID,
							"batch has %d columns, the file %d", b->ncols,
							w->schema->nchildren);
	for (int i = 0; i < b->ncols; i++) {
		const lk_type *ft = w->schema->children[i].type;
		const lk_type *bt = b->cols[i].type;
		if (bt != ft && !lk_type_equal(bt, ft)) {
			lk_error_set(err, LK_ERR_INVALID, "batch column type differs from the schema");
			return lk_error_where(err, "column \"%s\"", w->schema->children[i].name);
		}
		if (b->cols[i].length != b->nrows) {
			lk_error_set(err, LK_ERR_INVALID,
						 "column has %lld rows, the batch %lld",
						 (long long) b->cols[i].length, (long long) b->nrows);
			return lk_error_where(err, "column \"%s\"", w->schema->children[i].name);
		}
	}
	if (b->nrows == 0)
		return true;
	if (!bind_batch(w, b, err))
		return false;

	int64_t done = 0;
	while (done < b->nrows) {
		int64_t n = b->nrows - done;
		int64_t room = w->opt.row_group_rows - w->rg_rows;
		if (n > room)
			n = room;
		/* size checks at fixed row positions (batch sizes do not matter) */
		int64_t to_check = SEGMENT_ROWS - w->rg_rows % SEGMENT_ROWS;
		if (n > to_check)
			n = to_check;
		for (int i = 0; i < w->nleaves; i++) {
			if (!leaf_add_rows(w, &w->leaves[i], done, done + n, err)) {
				w->failed = true;
				return false;
			}
		}
		w->rg_rows += n;
		done += n;
		if (w->rg_rows >= w->opt.row_group_rows ||
			(w->rg_rows % SEGMENT_ROWS == 0 &&
			 row_group_estimate(w) >= w->opt.row_group_bytes))
			LK_FORWARD(pq_writer_flush_row_group(w, err));
	}
	return true;
}

/* ---- footer, close ------------------------------------------------------- */

static void
fill_info(pq_writer *w, pq_file_info *info)
{
	memset(info, 0, sizeof(*info));
	info->num_rows = w->num_rows;
	info->file_size = (int64_t) w->pos;
	info->num_row_groups = w->nrgs;
	info->nstats = w->nleaves;
	w->info_stats = lk_arena_zalloc(&w->arena,
									sizeof(pq_column_stats) * (size_t) (w->nleaves ? w->nleaves : 1));
	info->stats = w->info_stats;
	for (int i = 0; i < w->nleaves; i++) {
		const wleaf *L = &w->leaves[i];
		const wstats *s = &L->fs;
		pq_column_stats *o = &w->info_stats[i];
		o->path = L->dotted;
		o->null_count = s->null_count;
		o->num_values = s->num_values;
		o->type = L->type;
		if (!s->has || L->max_rep > 0 || L->sk == ST_NONE)
			continue;
		o->has_min_max = true;
		switch (L->sk) {
		case ST_F32:
		case ST_F64:
			o->min.d = s->dmin == 0 ? -0.0 : s->dmin;
			o->max.d = s->dmax == 0 ? 0.0 : s->dmax;
			break;
		case ST_I128:
			o->min.dec = s->qmin;
			o->max.dec = s->qmax;
			break;
		case ST_BYTES: {
			size_t lim = L->phys == PQ_BYTE_ARRAY ? (size_t) w->opt.stats_truncate
				: s->bmax.len + s->bmin.len;
			uint8_t *mn = lk_arena_alloc(&w->arena, lim + 1);
			uint8_t *mx = lk_arena_alloc(&w->arena, lim + 1);
			int64_t mnl = truncate_bound(s->bmin.data, s->bmin.len, lim, false,
										 L->utf8, mn);
			int64_t mxl = truncate_bound(s->bmax.data, s->bmax.len, lim, true,
										 L->utf8, mx);
			if (mxl < 0) {
				o->has_min_max = false;
				break;
			}
			o->min_bytes = mn;
			o->min_len = mnl;
			o->max_bytes = mx;
			o->max_len = mxl;
			o->max_truncated = (size_t) mxl != s->bmax.len ||
				memcmp(mx, s->bmax.data, (size_t) mxl) != 0;
			break;
		}
		default:
			if (L->conv == CV_DEC32 || L->conv == CV_DEC64) {
				o->min.dec = s->imin;
				o->max.dec = s->imax;
			} else {
				o->min.i = s->imin;
				o->max.i = s->imax;
			}
			break;
		}
	}
}

bool
pq_writer_close(pq_writer *w, bool durable, pq_file_info *info, lk_error *err)
{
	if (w->failed || w->closed)
		return lk_error_set(err, LK_ERR_INVALID, "writer is %s",
							w->closed ? "closed" : "in a failed state");
	LK_FORWARD(pq_writer_flush_row_group(w, err));

	pq_file_meta m;
	memset(&m, 0, sizeof(m));
	m.version = w->opt.data_page_version == 2 ? 2 : 1;
	m.nschema = w->nelems;
	m.schema = w->elems;
	m.num_rows = w->num_rows;
	m.nrow_groups = w->nrgs;
	m.row_groups = w->rgs;
	m.nkv = w->nkv;
	m.kv = w->kv;
	m.created_by = w->opt.created_by;
	m.ncolumn_orders = w->nleaves;

	lk_buf foot = LK_BUF_INIT;
	pq_meta_write_file_meta(&foot, &m);
	uint32_t flen = (uint32_t) foot.len;
	lk_buf_append_u32le(&foot, flen);
	lk_buf_append(&foot, "PAR1", 4);
	bool ok = out_write(w, foot.data, foot.len, err);
	lk_buf_free(&foot);
	if (!ok)
		return lk_error_add_where(err, "file \"%s\"", w->out.name ? w->out.name : "<output>");

	w->closed = true;
	w->out_open = false;
	if (w->out.close && !w->out.close(w->out.ctx, durable, err)) {
		w->failed = true;
		return false;
	}
	if (info)
		fill_info(w, info);
	return true;
}

void
pq_writer_free(pq_writer *w)
{
	if (!w)
		return;
	if (w->out_open && w->out.close) {
		lk_error ignore;
		w->out.close(w->out.ctx, false, &ignore);
	}
	for (int i = 0; i < w->nleaves; i++) {
		wleaf *L = &w->leaves[i];
		free(L->def);
		free(L->rep);
		free(L->idx);
		lk_buf_free(&L->plain);
		free(L->pages);
		lk_buf_free(&L->chunk);
		dict_free(&L->dict);
		lk_buf_free(&L->cs.bmin);
		lk_buf_free(&L->cs.bmax);
		lk_buf_free(&L->fs.bmin);
		lk_buf_free(&L->fs.bmax);
	}
	free(w->leaves);
	free(w->elems);
	free(w->rgs);
	free(w->sel);
	free(w->scr);
	free(w->views);
	lk_buf_free(&w->body);
	lk_buf_free(&w->comp);
	lk_buf_free(&w->hdr);
	lk_arena_free(&w->arena);
	free(w);
}
