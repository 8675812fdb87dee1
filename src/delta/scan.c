/*
 * scan.c — snapshot files → batches (see scan.h).
 *
 *   dl_scan_next
 *     └─ no open file? open_file: pq_reader_open (via the store), project
 *        the physical columns, load the DV into a sorted row array, parse
 *        partition values into 1-row constant columns
 *     └─ pq_reader_read_row_group → file batch
 *     └─ for each run of rows not in the DV: per output column append the
 *        file column's rows (as is, or converted), a constant, or nulls
 */
#include "delta/scan.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "delta/dv.h"
#include "parquet/parquet.h"

/* DVs larger than this many rows are refused (memory bound). */
#define MAX_DV_ROWS (64ull * 1024 * 1024)

typedef enum col_src {
	SRC_FILE,       /* file column, same layout */
	SRC_CONVERT,    /* file column, converted value by value */
	SRC_NULL,       /* absent from the file */
	SRC_PARTITION,  /* constant from partitionValues */
} col_src;

struct dl_scan {
	const dl_snapshot *s;
	lk_arena arena;             /* scan lifetime */
	lk_arena file_arena;        /* reset per file */
	const lk_type *out_type;    /* logical schema */
	lk_type *phys;              /* physical schema */
	int ncols;
	bool *is_part;
	size_t next_file;

	/* current file */
	const dl_file *file;
	pq_reader *r;
	int rg, nrg;
	int64_t row_base;           /* file row index of the row group's row 0 */
	uint64_t *deleted;
	size_t ndeleted, del_pos;
	col_src *src;
	int *src_idx;               /* column in the file batch */
	lk_column *consts;          /* partition values, one row each */
	lk_batch *fbatch;
	lk_batch *out;
};

static void reserve_varlen(lk_column *c);

/* ---- partition values ----------------------------------------------------- */

static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool
parse_uint(const char **p, int ndig_min, int ndig_max, int64_t *out)
{
	int64_t v = 0;
	int n = 0;
	while (isdigit((unsigned char) **p) && n < ndig_max) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	*out = v;
	return n >= ndig_min;
}

static bool
parse_date(const char **p, int64_t *days)
{
	int64_t y, m, d;
	bool neg = false;
	if (**p == '-' || **p == '+') {
		neg = **p == '-';
		(*p)++;
	}
	if (!parse_uint(p, 4, 6, &y) || *(*p)++ != '-' || !parse_uint(p, 1, 2, &m) ||
		*(*p)++ != '-' || !parse_uint(p, 1, 2, &d))
		return false;
	if (m < 1 || m > 12 || d < 1 || d > 31)
		return false;
	*days = days_from_civil(neg ? -y : y, (int) m, (int) d);
	return true;
}

/* "YYYY-MM-DD[( |T)HH:MM[:SS[.ffffff]]][Z|±HH:MM]" → micros since epoch
 * (a zone moves the value to UTC; none means UTC / no zone). */
static bool
parse_timestamp(const char *s, int64_t *micros)
{
	const char *p = s;
	int64_t days, h = 0, mi = 0, sec = 0, frac = 0;
	if (!parse_date(&p, &days))
		return false;
	if (*p == ' ' || *p == 'T') {
		p++;
		if (!parse_uint(&p, 1, 2, &h) || *p++ != ':' || !parse_uint(&p, 1, 2, &mi))
			return false;
		if (*p == ':') {
			p++;
			if (!parse_uint(&p, 1, 2, &sec))
				return false;
			if (*p == '.') {
				p++;
				int n = 0;
				while (isdigit((unsigned char) *p)) {
					if (n < 6) {
						frac = frac * 10 + (*p - '0');
						n++;
					}
					p++;
				}
				if (n == 0)
					return false;
				while (n < 6) {
					frac *= 10;
					n++;
				}
			}
		}
	}
	int64_t off = 0;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		int64_t oh, om = 0;
		p++;
		if (!parse_uint(&p, 2, 2, &oh))
			return false;
		if (*p == ':')
			p++;
		parse_uint(&p, 0, 2, &om);
		off = sign * (oh * 3600 + om * 60);
	}
	if (*p || h > 23 || mi > 59 || sec > 60)
		return false;
	*micros = ((days * 86400 + h * 3600 + mi * 60 + sec) - off) * 1000000 + frac;
	return true;
}

/* Nanoseconds per tick of a time unit. */
static int64_t
ns_per_tick(int unit)
{
	return unit == LK_UNIT_MILLIS ? 1000000 : unit == LK_UNIT_NANOS ? 1 : 1000;
}

static int64_t
floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* v from one time unit to another (floor when precision is lost). */
static int64_t
rescale(int64_t v, int from, int to)
{
	int64_t f = ns_per_tick(from), t = ns_per_tick(to);
	if (f > t)
		return v * (f / t);
	if (f < t)
		return floordiv(v, t / f);
	return v;
}

bool
dl_partition_value_append(lk_column *c, const char *v, lk_error *err)
{
	const lk_type *t = c->type;
	if (!v || !v[0]) {
		lk_column_append_null(c);
		return true;
	}
	char *end;
	errno = 0;
	switch (t->id) {
	case LK_T_STRING:
	case LK_T_BINARY:
		lk_column_append_bytes(c, v, (int64_t) strlen(v));
		return true;
	case LK_T_BOOLEAN:
		if (strcasecmp(v, "true") == 0)
			lk_column_append_bool(c, true);
		else if (strcasecmp(v, "false") == 0)
			lk_column_append_bool(c, false);
		else
			break;
		return true;
	case LK_T_BYTE:
	case LK_T_SHORT:
	case LK_T_INT:
	case LK_T_LONG: {
		long long x = strtoll(v, &end, 10);
		if (errno || *end || end == v)
			break;
		if (t->id == LK_T_BYTE && (x < INT8_MIN || x > INT8_MAX))
			break;
		if (t->id == LK_T_SHORT && (x < INT16_MIN || x > INT16_MAX))
			break;
		if (t->id == LK_T_INT && (x < INT32_MIN || x > INT32_MAX))
			break;
		if (t->id == LK_T_BYTE) {
			int8_t b = (int8_t) x;
			lk_column_append_fixed(c, &b);
		} else if (t->id == LK_T_SHORT) {
			int16_t s = (int16_t) x;
			lk_column_append_fixed(c, &s);
		} else if (t->id == LK_T_INT) {
			lk_column_append_i32(c, (int32_t) x);
		} else {
			lk_column_append_i64(c, (int64_t) x);
		}
		return true;
	}
	case LK_T_FLOAT:
	case LK_T_DOUBLE: {
		double d = strtod(v, &end);
		if (*end || end == v)
			break;
		lk_column_append_f64(c, d);
		return true;
	}
	case LK_T_DECIMAL: {
		lk_int128 x;
		if (!lk_decimal_parse(v, strlen(v), t->precision, t->scale, &x))
			break;
		lk_column_append_i128(c, x);
		return true;
	}
	case LK_T_DATE: {
		const char *p = v;
		int64_t days;
		if (!parse_date(&p, &days) || *p)
			break;
		lk_column_append_i32(c, (int32_t) days);
		return true;
	}
	case LK_T_TIMESTAMP:
	case LK_T_TIMESTAMP_NTZ: {
		int64_t us;
		if (!parse_timestamp(v, &us))
			break;
		lk_column_append_i64(c, rescale(us, LK_UNIT_MICROS, t->unit));
		return true;
	}
	default:
		return lk_error_set(err, LK_ERR_UNSUPPORTED,
							"partition column of type %s is not supported",
							lk_type_id_name(t->id));
	}
	return lk_error_set(err, LK_ERR_CORRUPT, "invalid %s partition value \"%s\"",
						lk_type_id_name(t->id), v);
}

/* ---- type compatibility ------------------------------------------------- */

static bool
is_int(lk_type_id id)
{
	return id == LK_T_BYTE || id == LK_T_SHORT || id == LK_T_INT || id == LK_T_LONG;
}

static bool
is_ts(lk_type_id id)
{
	return id == LK_T_TIMESTAMP || id == LK_T_TIMESTAMP_NTZ;
}

/* Same in-memory layout (names aside)? */
static bool
same_layout(const lk_type *f, const lk_type *t)
{
	if (lk_type_is_varlen(f) && lk_type_is_varlen(t))
		return true;
	if (is_ts(f->id) && is_ts(t->id))
		return f->unit == t->unit;
	if (f->id != t->id)
		return false;
	if (f->id == LK_T_DECIMAL)
		return f->scale == t->scale;
	if (f->id == LK_T_TIME)
		return f->unit == t->unit;
	if (f->nchildren != t->nchildren)
		return false;
	for (int i = 0; i < f->nchildren; i++) {
		if (f->id == LK_T_STRUCT &&
			strcasecmp(f->children[i].name, t->children[i].name) != 0)
			return false;
		if (!same_layout(f->children[i].type, t->children[i].type))
			return false;
	}
	return true;
}

/* Value-by-value conversion available (top-level primitives)? */
static bool
convertible(const lk_type *f, const lk_type *t)
{
	if (is_int(f->id) && (is_int(t->id) || t->id == LK_T_DOUBLE || t->id == LK_T_DECIMAL))
		return is_int(t->id) ? lk_type_width(t) >= lk_type_width(f) : true;
	if (f->id == LK_T_FLOAT && t->id == LK_T_DOUBLE)
		return true;
	if (f->id == LK_T_DECIMAL && t->id == LK_T_DECIMAL)
		return t->scale >= f->scale;
	if (f->id == LK_T_DATE && t->id == LK_T_TIMESTAMP_NTZ)
		return true;
	if (is_ts(f->id) && is_ts(t->id))
		return true;
	return false;
}

static int64_t
get_int(const lk_column *c, int64_t i)
{
	switch (c->type->id) {
	case LK_T_BYTE: return LK_COL_VALUES(c, int8_t)[i];
	case LK_T_SHORT: return LK_COL_VALUES(c, int16_t)[i];
	case LK_T_INT: return LK_COL_VALUES(c, int32_t)[i];
	default: return LK_COL_VALUES(c, int64_t)[i];
	}
}

static void
append_converted(lk_column *dst, const lk_column *src, int64_t from, int64_t n)
{
	const lk_type *f = src->type, *t = dst->type;
	for (int64_t i = from; i < from + n; i++) {
		if (lk_column_is_null(src, i)) {
			lk_column_append_null(dst);
			continue;
		}
		if (is_int(f->id)) {
			int64_t v = get_int(src, i);
			if (t->id == LK_T_DOUBLE) {
				lk_column_append_f64(dst, (double) v);
			} else if (t->id == LK_T_DECIMAL) {
				lk_int128 x = v;
				for (int k = 0; k < t->scale; k++)
					x *= 10;
				lk_column_append_i128(dst, x);
			} else if (t->id == LK_T_SHORT) {
				int16_t s = (int16_t) v;
				lk_column_append_fixed(dst, &s);
			} else if (t->id == LK_T_INT) {
				lk_column_append_i32(dst, (int32_t) v);
			} else if (t->id == LK_T_LONG) {
				lk_column_append_i64(dst, v);
			} else {
				int8_t b = (int8_t) v;
				lk_column_append_fixed(dst, &b);
			}
		} else if (f->id == LK_T_FLOAT) {
			lk_column_append_f64(dst, (double) LK_COL_VALUES(src, float)[i]);
		} else if (f->id == LK_T_DECIMAL) {
			lk_int128 x = LK_COL_VALUES(src, lk_int128)[i];
			for (int k = f->scale; k < t->scale; k++)
				x *= 10;
			lk_column_append_i128(dst, x);
		} else if (f->id == LK_T_DATE) {
			int64_t us = (int64_t) LK_COL_VALUES(src, int32_t)[i] * 86400000000LL;
			lk_column_append_i64(dst, rescale(us, LK_UNIT_MICROS, t->unit));
		} else {    /* timestamp units */
			int64_t v = LK_COL_VALUES(src, int64_t)[i];
			lk_column_append_i64(dst, rescale(v, f->unit, t->unit));
		}
	}
}

/* ---- files ---------------------------------------------------------------- */

static void
close_file(dl_scan *sc)
{
	if (sc->r)
		pq_reader_free(sc->r);
	sc->r = NULL;
	if (sc->fbatch)
		lk_batch_free(sc->fbatch);
	sc->fbatch = NULL;
	if (sc->consts)
		for (int i = 0; i < sc->ncols; i++)
			if (sc->is_part[i])
				lk_column_destroy(&sc->consts[i]);
	sc->consts = NULL;
	free(sc->deleted);
	sc->deleted = NULL;
	sc->ndeleted = sc->del_pos = 0;
	sc->file = NULL;
	lk_arena_reset(&sc->file_arena);
}

/* Index of name in the file schema: exact, then case-insensitive. */
static int
file_field(const lk_type *fs, const char *name)
{
	int i = lk_type_field_index(fs, name);
	if (i >= 0)
		return i;
	for (int k = 0; k < fs->nchildren; k++)
		if (fs->children[k].name && strcasecmp(fs->children[k].name, name) == 0)
			return k;
	return -1;
}

static bool
file_error(dl_scan *sc, lk_error *err)
{
	return lk_error_add_where(err, "data file \"%s\"", sc->file->path);
}

static bool
open_file(dl_scan *sc, const dl_file *f, lk_error *err)
{
	const dl_snapshot *s = sc->s;
	lk_arena *a = &sc->file_arena;
	sc->file = f;
	sc->rg = 0;
	sc->row_base = 0;

	/* deletion vector */
	if (f->add.has_dv) {
		dl_bitmap b;
		dl_bitmap_init(&b);
		if (!dl_dv_load(s->store, &f->add.dv, &b, err))
			return file_error(sc, err);
		bool ok = dl_bitmap_to_array(&b, MAX_DV_ROWS, &sc->deleted, &sc->ndeleted, err);
		dl_bitmap_free(&b);
		if (!ok)
			return file_error(sc, err);
	}

	st_file sf;
	if (!st_open_read(s->store, f->path, &sf, err))
		return file_error(sc, err);
	pq_input in = {sf.ctx, sf.size, sf.name, sf.read_at, sf.close};
	sc->r = pq_reader_open(&in, err);
	if (!sc->r)
		return file_error(sc, err);
	sc->nrg = pq_reader_num_row_groups(sc->r);

	/* projection of the data columns */
	const lk_type *fs = pq_reader_schema(sc->r);
	int n = sc->ncols;
	const char **names = lk_arena_zalloc(a, sizeof(char *) * (size_t) (n + 1));
	int32_t *ids = lk_arena_zalloc(a, sizeof(int32_t) * (size_t) (n + 1));
	const lk_type **types = lk_arena_zalloc(a, sizeof(lk_type *) * (size_t) (n + 1));
	int np = 0;
	for (int i = 0; i < n; i++) {
		sc->src_idx[i] = -1;
		if (sc->is_part[i]) {
			sc->src[i] = SRC_PARTITION;
			continue;
		}
		const lk_field *pf = &sc->phys->children[i];
		if (s->column_mapping == DL_CM_ID) {
			ids[np] = pf->field_id;
			names[np] = pf->name;
			types[np] = pf->type;
			sc->src_idx[i] = np++;
			sc->src[i] = SRC_FILE;
			continue;
		}
		int fi = file_field(fs, pf->name);
		if (fi < 0) {
			sc->src[i] = SRC_NULL;
			continue;
		}
		names[np] = fs->children[fi].name;
		sc->src_idx[i] = np++;
		sc->src[i] = SRC_FILE;
	}
	bool ok = s->column_mapping == DL_CM_ID
				  ? pq_reader_project_ids(sc->r, ids, names, types, np, err)
				  : pq_reader_project(sc->r, names, np, err);
	if (!ok)
		return file_error(sc, err);
	const lk_type *os = pq_reader_output_schema(sc->r);
	for (int i = 0; i < n; i++) {
		if (sc->src[i] != SRC_FILE)
			continue;
		const lk_type *ft = os->children[sc->src_idx[i]].type;
		const lk_type *tt = sc->phys->children[i].type;
		if (same_layout(ft, tt))
			continue;
		if (convertible(ft, tt)) {
			sc->src[i] = SRC_CONVERT;
			continue;
		}
		lk_error_set(err, LK_ERR_UNSUPPORTED,
					 "column \"%s\" of type %s in the file cannot be read as %s",
					 sc->out_type->children[i].name, lk_type_name(a, ft),
					 lk_type_name(a, sc->out_type->children[i].type));
		return file_error(sc, err);
	}
	sc->fbatch = lk_batch_new(os);
	for (int i = 0; i < sc->fbatch->ncols; i++)
		reserve_varlen(&sc->fbatch->cols[i]);

	/* partition values */
	sc->consts = lk_arena_zalloc(a, sizeof(lk_column) * (size_t) n);
	for (int i = 0; i < n; i++) {
		if (!sc->is_part[i])
			continue;
		lk_column_init(&sc->consts[i], sc->out_type->children[i].type);
		reserve_varlen(&sc->consts[i]);
		const char *key = sc->phys->children[i].name;
		bool found;
		const char *v = dl_map_get(&f->add.partition_values, key, &found);
		if (!found)
			for (int k = 0; k < f->add.partition_values.n; k++)
				if (strcasecmp(f->add.partition_values.items[k].key, key) == 0) {
					v = f->add.partition_values.items[k].value;
					found = true;
					break;
				}
		if (!dl_partition_value_append(&sc->consts[i], v, err)) {
			lk_error_where(err, "partition column \"%s\"", sc->out_type->children[i].name);
			return file_error(sc, err);
		}
	}
	return true;
}

/* Append file rows [from, from+n) of the current row group to out. */
static void
append_rows(dl_scan *sc, int64_t from, int64_t n)
{
	for (int i = 0; i < sc->ncols; i++) {
		lk_column *dst = &sc->out->cols[i];
		switch (sc->src[i]) {
		case SRC_FILE:
			lk_column_append_range(dst, &sc->fbatch->cols[sc->src_idx[i]], from, n);
			break;
		case SRC_CONVERT:
			append_converted(dst, &sc->fbatch->cols[sc->src_idx[i]], from, n);
			break;
		case SRC_NULL:
			for (int64_t k = 0; k < n; k++)
				lk_column_append_null(dst);
			break;
		case SRC_PARTITION:
			for (int64_t k = 0; k < n; k++)
				lk_column_append_range(dst, &sc->consts[i], 0, 1);
			break;
		}
	}
}

/* Give every string/binary column (at any depth) a data buffer, so that
 * copying only empty strings never hands memcpy a NULL destination
 * (lk_column_append_range does not special-case zero lengths). */
static void
reserve_varlen(lk_column *c)
{
	if (lk_type_is_varlen(c->type))
		lk_column_reserve_data(c, 1);
	for (int k = 0; k < c->nchildren; k++)
		reserve_varlen(&c->children[k]);
}

bool
dl_scan_open(const dl_snapshot *s, dl_scan **out, lk_error *err)
{
	if (!s->has_schema) {
		lk_error_set(err, LK_ERR_CORRUPT, "the table's metaData has no schemaString");
		return lk_error_where(err, "table \"%s\" version %" PRId64, s->store->root, s->version);
	}
	dl_scan *sc = lk_xcalloc(1, sizeof(*sc));
	lk_arena_init(&sc->arena, 0);
	lk_arena_init(&sc->file_arena, 0);
	sc->s = s;
	sc->out_type = s->schema.type;
	sc->phys = dl_schema_physical(&s->schema, s->column_mapping, &sc->arena, err);
	if (!sc->phys) {
		dl_scan_free(sc);
		return false;
	}
	sc->ncols = sc->out_type->nchildren;
	size_t n = (size_t) (sc->ncols ? sc->ncols : 1);
	sc->is_part = lk_arena_zalloc(&sc->arena, sizeof(bool) * n);
	sc->src = lk_arena_zalloc(&sc->arena, sizeof(col_src) * n);
	sc->src_idx = lk_arena_zalloc(&sc->arena, sizeof(int) * n);
	for (int i = 0; i < s->metadata.partition_columns.n; i++) {
		int k = dl_schema_field_index(sc->out_type, s->metadata.partition_columns.items[i]);
		if (k >= 0)
			sc->is_part[k] = true;
	}
	sc->out = lk_batch_new(sc->out_type);
	for (int i = 0; i < sc->ncols; i++)
		reserve_varlen(&sc->out->cols[i]);
	*out = sc;
	return true;
}

bool
dl_scan_next(dl_scan *sc, lk_batch **out, lk_error *err)
{
	*out = NULL;
	for (;;) {
		if (!sc->r) {
			if (sc->next_file >= sc->s->nfiles)
				return true;
			const dl_file *f = &sc->s->files[sc->next_file++];
			if (!open_file(sc, f, err)) {
				close_file(sc);
				return false;
			}
		}
		if (sc->rg >= sc->nrg) {
			close_file(sc);
			continue;
		}
		if (!pq_reader_read_row_group(sc->r, sc->rg, sc->fbatch, err)) {
			file_error(sc, err);
			close_file(sc);
			return false;
		}
		sc->rg++;
		lk_batch_reset(sc->out);
		int64_t nrows = sc->fbatch->nrows;
		int64_t start = 0;
		while (start < nrows) {
			/* next deleted row at or after start */
			while (sc->del_pos < sc->ndeleted &&
				   sc->deleted[sc->del_pos] < (uint64_t) (sc->row_base + start))
				sc->del_pos++;
			int64_t stop = nrows;
			if (sc->del_pos < sc->ndeleted &&
				sc->deleted[sc->del_pos] < (uint64_t) (sc->row_base + nrows))
				stop = (int64_t) sc->deleted[sc->del_pos] - sc->row_base;
			if (stop > start)
				append_rows(sc, start, stop - start);
			start = stop + (stop < nrows ? 1 : 0);
		}
		sc->row_base += nrows;
		if (sc->ncols == 0)
			continue;
		if (!lk_batch_seal(sc->out)) {
			lk_error_set(err, LK_ERR_INTERNAL, "scan produced columns of different lengths");
			file_error(sc, err);
			close_file(sc);
			return false;
		}
		if (sc->out->nrows > 0) {
			*out = sc->out;
			return true;
		}
	}
}

void
dl_scan_free(dl_scan *sc)
{
	if (!sc)
		return;
	close_file(sc);
	if (sc->out)
		lk_batch_free(sc->out);
	lk_arena_free(&sc->file_arena);
	lk_arena_free(&sc->arena);
	free(sc);
}
