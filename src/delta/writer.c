/*
 * writer.c — Delta table creation, data files (write, stats, partitions),
 * row deletes (deletion vectors / copy-on-write), change data files, and
 * reading data files back.  See writer.h for the contract.
 *
 * Data file write path (invariant 1 of commit.c: files before the commit):
 *
 *   dl_data_writer_write ─ split rows by partition key ─▶ ofile per partition
 *        ofile: st_open_write(".<name>.<pid>.<n>.tmp") ◀── pq_writer_open
 *   dl_data_writer_close ─▶ pq_writer_close(durable) ─▶ st_writer_commit:
 *        fsync(tmp) → link(tmp, name) → fsync(dir)      (published, complete)
 *        ─▶ add {path, partitionValues, size, modificationTime, dataChange,
 *                stats} joins the commit (dl_commit_add_action_flags)
 *
 * Deferred row deletes (prepare hook, run by dl_commit_run before the first
 * attempt):
 *
 *   pend(file, rows) ── load old DV ── newly = rows − old ── merged = old ∪ rows
 *     CDF on:   read the newly deleted rows ─▶ _change_data/…/cdc-*.parquet
 *               (_change_type = "delete")
 *     DVs on:   one deletion_vector_<uuid>.bin for all merged bitmaps ─▶
 *               remove {path, old DV} + add {path, new DV, tightBounds false}
 *     DVs off:  rewrite the file without the merged rows ─▶ remove + add
 *     all rows deleted: remove only
 *   CDF on and the commit has cdc files: new data files are read back and
 *   written as "insert" change rows (readers use only cdc files then).
 */
#include "delta/writer.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/log.h"
#include "delta/scan.h"

#define NULL_PARTITION "__HIVE_DEFAULT_PARTITION__"
#define STATS_PREFIX_LEN 32

/* ---- dates and numbers ------------------------------------------------------ */

static int64_t
floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned) (z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const int64_t yy = (int64_t) yoe + era * 400;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

/* "YYYY-MM-DD"; false outside years 0..9999. */
static bool
fmt_date(char *out, size_t n, int64_t days)
{
	int64_t y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999)
		return false;
	snprintf(out, n, "%04d-%02u-%02u", (int) y, m, d);
	return true;
}

/* Timestamp in microseconds as "YYYY-MM-DD<sep>HH:MM:SS.<frac><suffix>" with
 * `digits` fractional digits (3 or 6; the value must already be a multiple
 * of the unit). false outside years 0..9999. */
static bool
fmt_ts(char *out, size_t n, int64_t us, int digits, char sep, const char *suffix)
{
	int64_t days = floordiv(us, 86400000000LL);
	int64_t rem = us - days * 86400000000LL;
	int64_t y;
	unsigned mo, d;
	civil_from_days(days, &y, &mo, &d);
	if (y < 0 || y > 9999)
		return false;
	int64_t secs = rem / 1000000, frac = rem % 1000000;
	if (digits == 3)
		frac /= 1000;
	snprintf(out, n, "%04d-%02u-%02u%c%02d:%02d:%02d.%0*lld%s", (int) y, mo, d, sep,
			 (int) (secs / 3600), (int) (secs / 60 % 60), (int) (secs % 60), digits,
			 (long long) frac, suffix);
	return true;
}

/* Shortest text that reads back as exactly d, always with a '.' or exponent
 * ("1.0", "-0.0", "1e+20", "0.1"). */
static void
fmt_double(char *out, size_t n, double d)
{
	for (int p = 1; p <= 17; p++) {
		snprintf(out, n, "%.*g", p, d);
		if (strtod(out, NULL) == d)
			break;
	}
	if (!strpbrk(out, ".eEni"))
		strncat(out, ".0", n - strlen(out) - 1);
}

static int64_t
unit_to_micros(int64_t v, int unit, bool round_up)
{
	switch (unit) {
	case LK_UNIT_MILLIS:
		return v * 1000;
	case LK_UNIT_NANOS:
		return round_up ? -floordiv(-v, 1000) : floordiv(v, 1000);
	default:
		return v;
	}
}

/* ---- JSON text ----------------------------------------------------------- */

static bool
utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		int len;
		uint32_t cp;
		if ((c & 0xE0) == 0xC0) {
			len = 2;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			len = 3;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + (size_t) len > n)
			return false;
		for (int k = 1; k < len; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
			(len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
			(cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += (size_t) len;
	}
	return true;
}

static void
json_str(lk_buf *b, const void *data, size_t n)
{
	const uint8_t *p = data;
	lk_buf_append_byte(b, '"');
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c == '"' || c == '\\') {
			lk_buf_append_byte(b, '\\');
			lk_buf_append_byte(b, c);
		} else if (c < 0x20) {
			lk_buf_printf(b, "\\u%04x", c);
		} else {
			lk_buf_append_byte(b, c);
		}
	}
	lk_buf_append_byte(b, '"');
}

/* ---- stats ----------------------------------------------------------------- */

typedef struct sobj {
	lk_buf b;
	int n;
} sobj;

static void
sobj_key(sobj *o, const char *name)
{
	if (o->n++)
		lk_buf_append_byte(&o->b, ',');
	json_str(&o->b, name, strlen(name));
	lk_buf_append_byte(&o->b, ':');
}

static int
count_leaves(const lk_type *t)
{
	switch (t->id) {
	case LK_T_STRUCT: {
		int n = 0;
		for (int i = 0; i < t->nchildren; i++)
			n += count_leaves(t->children[i].type);
		return n;
	}
	case LK_T_ARRAY:
		return count_leaves(t->children[0].type);
	case LK_T_MAP:
		return count_leaves(t->children[0].type) + count_leaves(t->children[1].type);
	default:
		return 1;
	}
}

/* Text of a min (is_max false) or max value; false when it cannot be given
 * as a valid bound. */
static bool
stat_value(const pq_column_stats *s, const lk_type *t, bool is_max, lk_buf *out)
{
	char tmp[96];
	switch (t->id) {
	case LK_T_BYTE:
	case LK_T_SHORT:
	case LK_T_INT:
	case LK_T_LONG:
		if (t->is_unsigned)
			return false;
		lk_buf_printf(out, "%" PRId64, is_max ? s->max.i : s->min.i);
		return true;
	case LK_T_FLOAT:
	case LK_T_DOUBLE: {
		double d = is_max ? s->max.d : s->min.d;
		if (!isfinite(d))
			return false;
		if (d == 0)
			d = 0.0;    /* -0.0 == 0.0: the plain form bounds both */
		fmt_double(tmp, sizeof(tmp), d);
		lk_buf_append_str(out, tmp);
		return true;
	}
	case LK_T_DECIMAL: {
		char dec[64];
		lk_decimal_to_string(is_max ? s->max.dec : s->min.dec, t->scale, dec);
		lk_buf_append_str(out, dec);
		return true;
	}
	case LK_T_STRING: {
		const uint8_t *p = is_max ? s->max_bytes : s->min_bytes;
		int64_t n = is_max ? s->max_len : s->min_len;
		if (!p || n < 0 || !utf8_valid(p, (size_t) n))
			return false;
		json_str(out, p, (size_t) n);
		return true;
	}
	case LK_T_DATE:
		if (!fmt_date(tmp, sizeof(tmp), is_max ? s->max.i : s->min.i))
			return false;
		json_str(out, tmp, strlen(tmp));
		return true;
	case LK_T_TIMESTAMP:
	case LK_T_TIMESTAMP_NTZ: {
		if (t->ext == LK_EXT_INT96)
			return false;
		int64_t us = unit_to_micros(is_max ? s->max.i : s->min.i, t->unit, is_max);
		/* milliseconds: min rounded down, max rounded up (a bound either way) */
		int64_t ms = is_max ? -floordiv(-us, 1000) : floordiv(us, 1000);
		if (ms > INT64_MAX / 1000 || ms < INT64_MIN / 1000)
			return false;
		if (!fmt_ts(tmp, sizeof(tmp), ms * 1000, 3, 'T',
					t->id == LK_T_TIMESTAMP ? "Z" : ""))
			return false;
		json_str(out, tmp, strlen(tmp));
		return true;
	}
	default:
		return false;   /* boolean, binary, time: nullCount only */
	}
}

/* *budget: columns still to index (delta.dataSkippingNumIndexedCols: leaf
 * fields in schema order, an array or map counting as one); < 0 = all. */
static void
stats_struct(const lk_type *st, const pq_file_info *info, const bool *nan,
			 int *leaf, int *budget, sobj *mn, sobj *mx, sobj *nc)
{
	for (int i = 0; i < st->nchildren; i++) {
		const lk_field *f = &st->children[i];
		const lk_type *t = f->type;
		if (t->id == LK_T_STRUCT) {
			sobj cmn = {LK_BUF_INIT, 0}, cmx = {LK_BUF_INIT, 0}, cnc = {LK_BUF_INIT, 0};
			stats_struct(t, info, nan, leaf, budget, &cmn, &cmx, &cnc);
			sobj *dst[3] = {mn, mx, nc}, *src[3] = {&cmn, &cmx, &cnc};
			for (int k = 0; k < 3; k++) {
				if (src[k]->n) {
					sobj_key(dst[k], f->name);
					lk_buf_append_byte(&dst[k]->b, '{');
					lk_buf_append(&dst[k]->b, src[k]->b.data, src[k]->b.len);
					lk_buf_append_byte(&dst[k]->b, '}');
				}
				lk_buf_free(&src[k]->b);
			}
			continue;
		}
		if (t->id == LK_T_ARRAY || t->id == LK_T_MAP) {
			*leaf += count_leaves(t);
			if (*budget > 0)
				(*budget)--;
			continue;
		}
		int li = (*leaf)++;
		if (*budget == 0)
			continue;
		if (*budget > 0)
			(*budget)--;
		if (li >= info->nstats)
			continue;
		const pq_column_stats *s = &info->stats[li];
		sobj_key(nc, f->name);
		lk_buf_printf(&nc->b, "%" PRId64, s->null_count);
		if (!s->has_min_max || (nan && nan[li]))
			continue;
		lk_buf v = LK_BUF_INIT;
		if (stat_value(s, t, false, &v)) {
			sobj_key(mn, f->name);
			lk_buf_append(&mn->b, v.data, v.len);
		}
		lk_buf_reset(&v);
		if (stat_value(s, t, true, &v)) {
			sobj_key(mx, f->name);
			lk_buf_append(&mx->b, v.data, v.len);
		}
		lk_buf_free(&v);
	}
}

char *
dl_stats_json(const pq_file_info *info, const lk_type *file_schema,
			  const bool *nan, int max_columns, lk_arena *a)
{
	sobj mn = {LK_BUF_INIT, 0}, mx = {LK_BUF_INIT, 0}, nc = {LK_BUF_INIT, 0};
	int leaf = 0, budget = max_columns < 0 ? -1 : max_columns;
	stats_struct(file_schema, info, nan, &leaf, &budget, &mn, &mx, &nc);
	lk_buf out = LK_BUF_INIT;
	lk_buf_printf(&out, "{\"numRecords\":%" PRId64 ",\"minValues\":{", info->num_rows);
	lk_buf_append(&out, mn.b.data, mn.b.len);
	lk_buf_append_str(&out, "},\"maxValues\":{");
	lk_buf_append(&out, mx.b.data, mx.b.len);
	lk_buf_append_str(&out, "},\"nullCount\":{");
	lk_buf_append(&out, nc.b.data, nc.b.len);
	lk_buf_append_str(&out, "}}");
	char *r = lk_arena_strndup(a, (const char *) out.data, out.len);
	lk_buf_free(&out);
	lk_buf_free(&mn.b);
	lk_buf_free(&mx.b);
	lk_buf_free(&nc.b);
	return r;
}

/* Mark leaves holding a NaN among the valid values of batch b (same leaf
 * order as the stats; arrays and maps skipped). */
static void
scan_nan_col(const lk_column *c, bool *nan, int *leaf)
{
	const lk_type *t = c->type;
	switch (t->id) {
	case LK_T_STRUCT:
		for (int i = 0; i < c->nchildren; i++)
			scan_nan_col(&c->children[i], nan, leaf);
		return;
	case LK_T_ARRAY:
	case LK_T_MAP:
		*leaf += count_leaves(t);
		return;
	case LK_T_FLOAT:
	case LK_T_DOUBLE: {
		int li = (*leaf)++;
		if (nan[li])
			return;
		for (int64_t i = 0; i < c->length; i++) {
			if (lk_column_is_null(c, i))
				continue;
			double v = t->id == LK_T_FLOAT ? LK_COL_VALUES(c, float)[i]
										   : LK_COL_VALUES(c, double)[i];
			if (isnan(v)) {
				nan[li] = true;
				return;
			}
		}
		return;
	}
	default:
		(*leaf)++;
		return;
	}
}

static void
scan_nan(const lk_batch *b, bool *nan)
{
	int leaf = 0;
	for (int i = 0; i < b->ncols; i++)
		scan_nan_col(&b->cols[i], nan, &leaf);
}

/* ---- partition values ---------------------------------------------------------- */

void
dl_hive_escape(lk_buf *b, const char *s)
{
	static const char special[] = "\"#%'*/:=?\\\x7f{[]^";
	for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
		if (*p < 0x20 || strchr(special, *p))
			lk_buf_printf(b, "%%%02X", *p);
		else
			lk_buf_append_byte(b, *p);
	}
}

const char *
dl_partition_value_format(const lk_column *col, int64_t i, lk_arena *a)
{
	if (lk_column_is_null(col, i))
		return NULL;
	const lk_type *t = col->type;
	char tmp[96];
	switch (t->id) {
	case LK_T_BOOLEAN:
		return LK_COL_VALUES(col, uint8_t)[i] ? "true" : "false";
	case LK_T_BYTE:
		return lk_arena_sprintf(a, "%d", (int) LK_COL_VALUES(col, int8_t)[i]);
	case LK_T_SHORT:
		return lk_arena_sprintf(a, "%d", (int) LK_COL_VALUES(col, int16_t)[i]);
	case LK_T_INT:
		return lk_arena_sprintf(a, "%" PRId32, LK_COL_VALUES(col, int32_t)[i]);
	case LK_T_LONG:
		return lk_arena_sprintf(a, "%" PRId64, LK_COL_VALUES(col, int64_t)[i]);
	case LK_T_FLOAT:
	case LK_T_DOUBLE: {
		double d = t->id == LK_T_FLOAT ? LK_COL_VALUES(col, float)[i]
									   : LK_COL_VALUES(col, double)[i];
		if (isnan(d))
			return "NaN";
		if (isinf(d))
			return d > 0 ? "Infinity" : "-Infinity";
		fmt_double(tmp, sizeof(tmp), d);
		return lk_arena_strdup(a, tmp);
	}
	case LK_T_DECIMAL: {
		char dec[64];
		return lk_arena_strdup(a, lk_decimal_to_string(LK_COL_VALUES(col, lk_int128)[i],
													   t->scale, dec));
	}
	case LK_T_STRING:
	case LK_T_BINARY: {
		int64_t n;
		const uint8_t *p = lk_column_bytes(col, i, &n);
		if (n == 0)
			return NULL;
		return lk_arena_strndup(a, (const char *) p, (size_t) n);
	}
	case LK_T_DATE:
		if (!fmt_date(tmp, sizeof(tmp), LK_COL_VALUES(col, int32_t)[i]))
			return lk_arena_sprintf(a, "%" PRId32, LK_COL_VALUES(col, int32_t)[i]);
		return lk_arena_strdup(a, tmp);
	case LK_T_TIMESTAMP:
	case LK_T_TIMESTAMP_NTZ: {
		int64_t us = unit_to_micros(LK_COL_VALUES(col, int64_t)[i], t->unit, false);
		bool tz = t->id == LK_T_TIMESTAMP;
		if (!fmt_ts(tmp, sizeof(tmp), us, 6, tz ? 'T' : ' ', tz ? "Z" : ""))
			return lk_arena_sprintf(a, "%" PRId64, us);
		return lk_arena_strdup(a, tmp);
	}
	default:
		return NULL;
	}
}

/* ---- table creation ------------------------------------------------------------ */

void
dl_table_options_init(dl_table_options *o)
{
	memset(o, 0, sizeof(*o));
}

static bool
uses_ntz(const lk_type *t)
{
	if (t->id == LK_T_TIMESTAMP_NTZ)
		return true;
	for (int i = 0; i < t->nchildren; i++)
		if (uses_ntz(t->children[i].type))
			return true;
	return false;
}

static void
kv_push(lk_arena *a, dl_map *m, int *cap, const char *k, const char *v)
{
	for (int i = 0; i < m->n; i++) {
		if (strcmp(m->items[i].key, k) == 0) {
			m->items[i].value = lk_arena_strdup(a, v);
			return;
		}
	}
	if (m->n == *cap) {
		int nc = *cap ? 2 * *cap : 8;
		dl_kv *nv = lk_arena_alloc(a, sizeof(dl_kv) * (size_t) nc);
		if (m->n)
			memcpy(nv, m->items, sizeof(dl_kv) * (size_t) m->n);
		m->items = nv;
		*cap = nc;
	}
	m->items[m->n].key = lk_arena_strdup(a, k);
	m->items[m->n].value = v ? lk_arena_strdup(a, v) : NULL;
	m->n++;
}

bool
dl_table_make_actions(const lk_type *schema, const dl_table_options *o,
					  lk_arena *a, dl_protocol *p, dl_metadata *m, lk_error *err)
{
	dl_table_options def;
	if (!o) {
		dl_table_options_init(&def);
		o = &def;
	}
	memset(p, 0, sizeof(*p));
	memset(m, 0, sizeof(*m));
	if (!schema || schema->id != LK_T_STRUCT || schema->nchildren == 0)
		return lk_error_set(err, LK_ERR_INVALID, "a table needs a struct schema with "
												 "at least one column");
	for (int i = 0; i < o->npartition_columns; i++) {
		const char *pc = o->partition_columns[i];
		int idx = lk_type_field_index(schema, pc);
		if (idx < 0)
			return lk_error_set(err, LK_ERR_INVALID,
								"partition column \"%s\" is not in the schema", pc);
		const lk_type *t = schema->children[idx].type;
		if (lk_type_is_nested(t) || t->id == LK_T_BINARY || t->id == LK_T_TIME)
			return lk_error_set(err, LK_ERR_UNSUPPORTED,
								"partition column \"%s\" has type %s, which cannot be "
								"a partition column", pc, lk_type_id_name(t->id));
		for (int k = 0; k < i; k++)
			if (strcmp(o->partition_columns[k], pc) == 0)
				return lk_error_set(err, LK_ERR_INVALID,
									"partition column \"%s\" is listed twice", pc);
	}
	if (o->npartition_columns >= schema->nchildren)
		return lk_error_set(err, LK_ERR_INVALID,
							"a table needs at least one column that is not a "
							"partition column");

	lk_buf sb = LK_BUF_INIT;
	if (!dl_schema_write(schema, NULL, &sb, err)) {
		lk_buf_free(&sb);
		return false;
	}
	char id[37];
	dl_uuid_v4(id);
	int64_t now = o->clock_ms ? o->clock_ms : dl_now_ms();
	m->id = lk_arena_strdup(a, id);
	m->name = o->name ? lk_arena_strdup(a, o->name) : NULL;
	m->description = o->description ? lk_arena_strdup(a, o->description) : NULL;
	m->format_provider = "parquet";
	m->schema_string = lk_arena_strndup(a, (const char *) sb.data, sb.len);
	lk_buf_free(&sb);
	m->partition_columns.n = o->npartition_columns;
	m->partition_columns.items = lk_arena_alloc(a, sizeof(char *) *
													   (size_t) (o->npartition_columns + 1));
	for (int i = 0; i < o->npartition_columns; i++)
		m->partition_columns.items[i] = lk_arena_strdup(a, o->partition_columns[i]);
	int cap = 0;
	char num[32];
	if (o->change_data_feed)
		kv_push(a, &m->configuration, &cap, "delta.enableChangeDataFeed", "true");
	if (o->append_only)
		kv_push(a, &m->configuration, &cap, "delta.appendOnly", "true");
	if (o->deletion_vectors)
		kv_push(a, &m->configuration, &cap, "delta.enableDeletionVectors", "true");
	if (o->in_commit_timestamps) {
		kv_push(a, &m->configuration, &cap, "delta.enableInCommitTimestamps", "true");
		kv_push(a, &m->configuration, &cap, "delta.inCommitTimestampEnablementVersion", "0");
		snprintf(num, sizeof(num), "%" PRId64, now);
		kv_push(a, &m->configuration, &cap, "delta.inCommitTimestampEnablementTimestamp",
				num);
	}
	if (o->checkpoint_interval > 0) {
		snprintf(num, sizeof(num), "%" PRId64, o->checkpoint_interval);
		kv_push(a, &m->configuration, &cap, "delta.checkpointInterval", num);
	}
	for (int i = 0; i < o->nconfiguration; i++)
		kv_push(a, &m->configuration, &cap, o->configuration[i].key,
				o->configuration[i].value);
	m->has_created_time = true;
	m->created_time = now;

	/* protocol: features only when needed */
	const char *rf[4], *wf[8];
	int nr = 0, nw = 0;
	if (o->append_only)
		wf[nw++] = "appendOnly";
	if (o->change_data_feed)
		wf[nw++] = "changeDataFeed";
	if (o->deletion_vectors) {
		rf[nr++] = "deletionVectors";
		wf[nw++] = "deletionVectors";
	}
	if (o->in_commit_timestamps)
		wf[nw++] = "inCommitTimestamp";
	if (uses_ntz(schema)) {
		rf[nr++] = "timestampNtz";
		wf[nw++] = "timestampNtz";
	}
	if (nw == 0) {
		p->min_reader_version = 1;
		p->min_writer_version = 2;
	} else {
		p->min_reader_version = nr ? 3 : 1;
		p->min_writer_version = 7;
		p->has_writer_features = true;
		p->writer_features.n = nw;
		p->writer_features.items = lk_arena_memdup(a, wf, sizeof(char *) * (size_t) nw);
		if (nr) {
			p->has_reader_features = true;
			p->reader_features.n = nr;
			p->reader_features.items = lk_arena_memdup(a, rf, sizeof(char *) * (size_t) nr);
		}
	}
	return true;
}

bool
dl_table_create(st_store *st, const lk_type *schema, const dl_table_options *o,
				lk_error *err)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	dl_action pa, ma;
	memset(&pa, 0, sizeof(pa));
	memset(&ma, 0, sizeof(ma));
	pa.type = DL_ACT_PROTOCOL;
	ma.type = DL_ACT_METADATA;
	bool ok = dl_table_make_actions(schema, o, &a, &pa.u.protocol, &ma.u.metadata, err);
	dl_commit *c = NULL;
	if (ok) {
		c = dl_commit_begin_create(st, "CREATE TABLE");
		dl_commit_set_clock(c, ma.u.metadata.created_time);
		ok = dl_commit_add_action(c, &pa, err) && dl_commit_add_action(c, &ma, err);
	}
	if (ok) {
		lk_buf pb = LK_BUF_INIT;
		lk_buf_append_byte(&pb, '[');
		for (int i = 0; i < ma.u.metadata.partition_columns.n; i++) {
			if (i)
				lk_buf_append_byte(&pb, ',');
			const char *s = ma.u.metadata.partition_columns.items[i];
			json_str(&pb, s, strlen(s));
		}
		lk_buf_append_byte(&pb, ']');
		lk_buf pj = LK_BUF_INIT;
		json_str(&pj, pb.data, pb.len);
		dl_commit_set_param(c, "isManaged", "\"false\"");
		dl_commit_set_param(c, "partitionBy", lk_buf_cstr(&pj));
		lk_buf_free(&pb);
		lk_buf_free(&pj);
		dl_commit_options co;
		dl_commit_options_init(&co);
		co.auto_checkpoint = false;
		ok = dl_commit_run(c, &co, err);
	}
	dl_commit_free(c);
	lk_arena_free(&a);
	return ok;
}

/* ---- layout ------------------------------------------------------------------- */

bool
dl_layout_make(const dl_schema *s, dl_column_mapping cm,
			   const dl_strings *pc, lk_arena *a, dl_layout *out, lk_error *err)
{
	memset(out, 0, sizeof(*out));
	out->logical = s->type;
	out->cm = cm;
	lk_type *phys = dl_schema_physical(s, cm, a, err);
	if (!phys)
		return false;
	out->physical = phys;
	int n = s->type->nchildren;
	int np = pc ? pc->n : 0;
	bool *is_part = lk_arena_zalloc(a, (size_t) n + 1);
	out->part_index = lk_arena_alloc(a, sizeof(int) * (size_t) (np + 1));
	out->part_key = lk_arena_alloc(a, sizeof(char *) * (size_t) (np + 1));
	for (int i = 0; i < np; i++) {
		int idx = dl_schema_field_index(s->type, pc->items[i]);
		if (idx < 0 || is_part[idx]) {
			lk_error_set(err, LK_ERR_CORRUPT, idx < 0
							 ? "partition column \"%s\" is not in the table schema"
							 : "partition column \"%s\" is listed twice", pc->items[i]);
			return lk_error_where(err, "metaData.partitionColumns");
		}
		if (lk_type_is_nested(s->type->children[idx].type))
			return lk_error_set(err, LK_ERR_UNSUPPORTED,
								"nested partition column \"%s\"", pc->items[i]);
		is_part[idx] = true;
		out->part_index[i] = idx;
		out->part_key[i] = phys->children[idx].name;
	}
	out->npart = np;
	out->ndata = n - np;
	lk_type *dt = lk_type_struct(a, out->ndata);
	out->data_index = lk_arena_alloc(a, sizeof(int) * (size_t) (out->ndata + 1));
	for (int i = 0, k = 0; i < n; i++) {
		if (is_part[i])
			continue;
		dt->children[k] = phys->children[i];
		out->data_index[k] = i;
		k++;
	}
	out->data = dt;
	return true;
}

/* ---- per-commit writer state ------------------------------------------------------ */

typedef struct pend {
	dl_add add;                 /* the file as the snapshot has it */
	const char *key;            /* canonical path + DV id */
	const char *path;           /* decoded store path */
	dl_bitmap rows;             /* rows to delete */
	bool whole;                 /* remove the whole file */
	bool data_change;
	bool covered;               /* CDF: the caller writes the change rows of
								 * these deletes (dl_delete_rows_covered) */
	bool removed;               /* dl_remove_file */
} pend;

typedef struct wstate {
	dl_commit *c;
	bool has_layout;
	const char *layout_schema;  /* schemaString the layout was built from */
	dl_layout layout;
	pend *p;
	size_t n, cap;
} wstate;

static bool ws_prepare(dl_commit *c, void *ctx, lk_error *err);

static void
ws_free(void *ctx)
{
	wstate *w = ctx;
	for (size_t i = 0; i < w->n; i++)
		dl_bitmap_free(&w->p[i].rows);
	free(w->p);
}

static wstate *
ws_get(dl_commit *c)
{
	void **slot = dl_commit_ext(c);
	if (!*slot) {
		wstate *w = lk_arena_zalloc(dl_commit_arena(c), sizeof(*w));
		w->c = c;
		*slot = w;
		dl_commit_on_prepare(c, ws_prepare, w);
		dl_commit_on_free(c, ws_free, w);
	}
	return *slot;
}

bool
dl_commit_layout(dl_commit *c, const dl_layout **out, lk_error *err)
{
	wstate *w = ws_get(c);
	LK_FORWARD(dl_commit_check_schema(c, err));
	const dl_metadata *m = dl_commit_metadata(c);
	const dl_schema *s = dl_commit_schema(c);
	if (!w->has_layout || w->layout_schema != m->schema_string) {
		if (!dl_layout_make(s, dl_commit_column_mapping(c), &m->partition_columns,
							dl_commit_arena(c), &w->layout, err))
			return false;
		w->has_layout = true;
		w->layout_schema = m->schema_string;
	}
	*out = &w->layout;
	return true;
}

/* ---- batches: compatibility, views, gathering ---------------------------------------- */

/* Same in-memory layout (what lk_column_append_range needs). */
static bool
same_layout(const lk_type *a, const lk_type *b)
{
	bool va = lk_type_is_varlen(a), vb = lk_type_is_varlen(b);
	if (va || vb)
		return va && vb;
	bool ta = a->id == LK_T_TIMESTAMP || a->id == LK_T_TIMESTAMP_NTZ;
	bool tb = b->id == LK_T_TIMESTAMP || b->id == LK_T_TIMESTAMP_NTZ;
	if (ta || tb)
		return ta && tb && a->unit == b->unit && a->ext == b->ext;
	if (a->id != b->id || a->nchildren != b->nchildren)
		return false;
	if (a->id == LK_T_DECIMAL)
		return a->scale == b->scale;
	for (int i = 0; i < a->nchildren; i++) {
		if (a->id == LK_T_STRUCT &&
			strcmp(a->children[i].name ? a->children[i].name : "",
				   b->children[i].name ? b->children[i].name : "") != 0)
			return false;
		if (!same_layout(a->children[i].type, b->children[i].type))
			return false;
	}
	return true;
}

/* A batch column of type bt can be written as table type tt. */
static bool
compatible(const lk_type *bt, const lk_type *tt)
{
	if (bt->id != tt->id || bt->nchildren != tt->nchildren)
		return false;
	switch (tt->id) {
	case LK_T_DECIMAL:
		return bt->scale == tt->scale && bt->precision <= tt->precision;
	case LK_T_TIMESTAMP:
	case LK_T_TIMESTAMP_NTZ:
		return bt->unit == tt->unit && bt->ext == LK_EXT_NONE;
	default:
		break;
	}
	for (int i = 0; i < tt->nchildren; i++)
		if (!compatible(bt->children[i].type, tt->children[i].type))
			return false;
	return true;
}

static void
view_column(lk_arena *a, lk_column *dst, const lk_column *src, const lk_type *t)
{
	*dst = *src;
	dst->type = t;
	if (src->nchildren) {
		dst->children = lk_arena_alloc(a, sizeof(lk_column) * (size_t) src->nchildren);
		for (int i = 0; i < src->nchildren; i++)
			view_column(a, &dst->children[i], &src->children[i], t->children[i].type);
	}
}

/* Hand rows [0, n) of `in` (columns src[] of it, already in the types of
 * dt) to fn as a batch of views, without copying; the views live in va,
 * reset first. */
static bool
emit_view(lk_arena *va, const lk_type *dt, int nd, const lk_batch *in, const int *src,
		  int64_t n, dl_rows_fn fn, void *ctx, lk_error *err)
{
	lk_arena_reset(va);
	lk_batch v;
	v.schema = dt;
	v.nrows = n;
	v.ncols = nd;
	v.cols = lk_arena_alloc(va, sizeof(lk_column) * (size_t) (nd + 1));
	for (int j = 0; j < nd; j++)
		view_column(va, &v.cols[j], &in->cols[src[j]], dt->children[j].type);
	return fn(ctx, &v, err);
}

/* lk_column_append_range without memcpy on NULL buffers (a column with only
 * nulls or empty strings may have no data buffer; memcpy(NULL, .., 0) is
 * undefined): dst and src have the same layout. */
static void
copy_range(lk_column *dst, const lk_column *src, int64_t from, int64_t n)
{
	const lk_type *t = src->type;
	size_t w = lk_type_width(t);
	if (n <= 0)
		return;
	lk_column_reserve(dst, n);
	int64_t d0 = dst->length;
	if (w) {
		memcpy((char *) dst->values + (size_t) d0 * w,
			   (const char *) src->values + (size_t) from * w, (size_t) n * w);
	} else if (lk_type_is_varlen(t)) {
		int64_t b0 = src->offsets[from], b1 = src->offsets[from + n];
		if (b1 > b0) {
			lk_column_reserve_data(dst, b1 - b0);
			memcpy(dst->data + dst->data_len, src->data + b0, (size_t) (b1 - b0));
		}
		for (int64_t i = 0; i < n; i++)
			dst->offsets[d0 + i + 1] = dst->data_len + (src->offsets[from + i + 1] - b0);
		dst->data_len += b1 - b0;
	} else if (t->id == LK_T_ARRAY || t->id == LK_T_MAP) {
		int64_t e0 = src->offsets[from], e1 = src->offsets[from + n];
		int64_t base = dst->children[0].length;
		for (int k = 0; k < dst->nchildren; k++)
			copy_range(&dst->children[k], &src->children[k], e0, e1 - e0);
		for (int64_t i = 0; i < n; i++)
			dst->offsets[d0 + i + 1] = base + (src->offsets[from + i + 1] - e0);
	} else if (t->id == LK_T_STRUCT) {
		for (int k = 0; k < dst->nchildren; k++)
			copy_range(&dst->children[k], &src->children[k], from, n);
	}
	dst->length += n;
	for (int64_t i = 0; i < n; i++) {
		int64_t j = d0 + i;
		if (lk_column_is_null(src, from + i))
			lk_column_set_null(dst, j);
		else if (dst->validity)
			dst->validity[j >> 3] |= (uint8_t) (1u << (j & 7));
	}
}

/* Append rows idx[0..n) (ascending) of src, or rows [from, from+n) when idx
 * is NULL, to dst (same layout). */
static void
gather(lk_column *dst, const lk_column *src, const int64_t *idx, int64_t from,
	   int64_t n)
{
	if (!idx) {
		copy_range(dst, src, from, n);
		return;
	}
	for (int64_t k = 0; k < n;) {
		int64_t start = idx[k], len = 1;
		while (k + len < n && idx[k + len] == start + len)
			len++;
		copy_range(dst, src, start, len);
		k += len;
	}
}

/* ---- the data writer ---------------------------------------------------------------- */

typedef struct ofile {
	const char *key;
	dl_map pv;
	const char *dir;            /* "a=1/b=x/" or "" */
	pq_writer *pw;
	const char *path;
	int64_t rows;
	bool *nan;
	int64_t *idx;
	int64_t nidx, capidx;
	struct ofile *hnext, *next;
} ofile;

struct dl_data_writer {
	dl_commit *c;
	dl_write_options o;
	const dl_layout *l;
	lk_arena arena;
	lk_arena tmp;               /* per batch */
	bool logical_input;
	bool cdc;
	bool const_type;            /* cdc with a constant _change_type */
	const lk_type *file_schema;
	int nleaves;
	int stats_cols;             /* delta.dataSkippingNumIndexedCols */
	ofile *files;
	ofile **ht;
	size_t htcap, nfiles;
	lk_batch *scratch;
	bool failed;
};

void
dl_write_options_init(dl_write_options *o)
{
	memset(o, 0, sizeof(*o));
	o->codec = PQ_CODEC_ZSTD;
	o->data_change = true;
}

static bool
so_write(void *ctx, const void *buf, size_t n, lk_error *err)
{
	return st_writer_write(ctx, buf, n, err);
}

static bool
so_close(void *ctx, bool durable, lk_error *err)
{
	st_writer *sw = ctx;
	bool ok = true;
	if (durable)
		ok = st_writer_commit(sw, true, err);
	else
		st_writer_abort(sw);
	free(sw);
	return ok;
}

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 1099511628211ull;
	return h;
}

static const char *
partition_dir(const dl_layout *l, const dl_map *pv, lk_arena *a)
{
	if (!l->npart)
		return "";
	lk_buf b = LK_BUF_INIT;
	for (int i = 0; i < l->npart; i++) {
		const char *v = pv ? dl_map_get(pv, l->part_key[i], NULL) : NULL;
		dl_hive_escape(&b, l->part_key[i]);
		lk_buf_append_byte(&b, '=');
		if (v && *v)
			dl_hive_escape(&b, v);
		else
			lk_buf_append_str(&b, NULL_PARTITION);
		lk_buf_append_byte(&b, '/');
	}
	char *r = lk_arena_strndup(a, (const char *) b.data, b.len);
	lk_buf_free(&b);
	return r;
}

static ofile *
ofile_get(dl_data_writer *w, const char *key, const char *const *vals)
{
	if (w->nfiles * 2 >= w->htcap) {
		size_t nc = w->htcap ? 2 * w->htcap : 16;
		ofile **nt = lk_xcalloc(nc, sizeof(ofile *));
		for (ofile *f = w->files; f; f = f->next) {
			size_t h = hash_str(f->key) & (nc - 1);
			f->hnext = nt[h];
			nt[h] = f;
		}
		free(w->ht);
		w->ht = nt;
		w->htcap = nc;
	}
	size_t h = hash_str(key) & (w->htcap - 1);
	for (ofile *f = w->ht[h]; f; f = f->hnext)
		if (strcmp(f->key, key) == 0)
			return f;
	ofile *f = lk_arena_zalloc(&w->arena, sizeof(*f));
	f->key = lk_arena_strdup(&w->arena, key);
	const dl_layout *l = w->l;
	if (l->npart) {
		f->pv.n = l->npart;
		f->pv.items = lk_arena_alloc(&w->arena, sizeof(dl_kv) * (size_t) l->npart);
		for (int i = 0; i < l->npart; i++) {
			f->pv.items[i].key = l->part_key[i];
			f->pv.items[i].value = vals && vals[i] ? lk_arena_strdup(&w->arena, vals[i]) : NULL;
		}
	}
	f->dir = partition_dir(l, &f->pv, &w->arena);
	f->nan = lk_arena_zalloc(&w->arena, (size_t) w->nleaves + 1);
	f->hnext = w->ht[h];
	w->ht[h] = f;
	f->next = w->files;
	w->files = f;
	w->nfiles++;
	return f;
}

static bool
ofile_open(dl_data_writer *w, ofile *f, lk_error *err)
{
	char uuid[37];
	dl_uuid_v4(uuid);
	int idx = dl_commit_next_file_index(w->c);
	const char *ext = w->o.codec == PQ_CODEC_UNCOMPRESSED ? "" : pq_codec_name(w->o.codec);
	char name[160];
	snprintf(name, sizeof(name), "%s-%05d-%s.c000%s%s.parquet", w->cdc ? "cdc" : "part",
			 idx % 100000, uuid, *ext ? "." : "", ext);
	f->path = lk_arena_sprintf(&w->arena, "%s%s%s", w->cdc ? "_change_data/" : "",
							   f->dir, name);
	st_writer *sw = lk_xmalloc(sizeof(*sw));
	if (!st_open_write(dl_commit_store(w->c), f->path, sw, err)) {
		free(sw);
		return false;
	}
	pq_output out = {sw, f->path, so_write, so_close};
	pq_writer_options po;
	pq_writer_options_init(&po);
	po.codec = w->o.codec;
	po.compression_level = w->o.compression_level;
	if (w->o.row_group_rows > 0)
		po.row_group_rows = w->o.row_group_rows;
	po.stats_truncate = STATS_PREFIX_LEN;
	po.created_by = "lakesync version 0.1.0";
	f->pw = pq_writer_open(&out, w->file_schema, &po, err);
	if (!f->pw)
		return false;
	memset(f->nan, 0, (size_t) w->nleaves + 1);
	f->rows = 0;
	return true;
}

/* Close the open file of f and add its action to the commit. */
static bool
ofile_finish(dl_data_writer *w, ofile *f, lk_error *err)
{
	if (!f->pw)
		return true;
	pq_file_info info;
	bool ok = pq_writer_close(f->pw, true, &info, err);
	if (ok) {
		st_store *st = dl_commit_store(w->c);
		lk_arena *ca = dl_commit_arena(w->c);
		st_stat sb;
		lk_error e2;
		int64_t mtime = st_stat_object(st, f->path, &sb, &e2) ? sb.mtime_ms : dl_now_ms();
		dl_action a;
		memset(&a, 0, sizeof(a));
		unsigned flags = 0;
		if (w->cdc) {
			a.type = DL_ACT_CDC;
			a.u.cdc.path = st_path_encode(f->path, ca);
			a.u.cdc.partition_values = f->pv;
			a.u.cdc.size = info.file_size;
			a.u.cdc.data_change = false;
		} else {
			a.type = DL_ACT_ADD;
			a.u.add.path = st_path_encode(f->path, ca);
			a.u.add.partition_values = f->pv;
			a.u.add.size = info.file_size;
			a.u.add.modification_time = mtime;
			a.u.add.data_change = w->o.data_change;
			a.u.add.stats = dl_stats_json(&info, w->file_schema, f->nan, w->stats_cols, ca);
			if (w->o.data_change)
				flags |= DL_CF_NEW_DATA;
			if (w->o.cdc_covered)
				flags |= DL_CF_CDC_COVERED;
		}
		ok = dl_commit_add_action_flags(w->c, &a, flags, err);
	}
	pq_writer_free(f->pw);
	f->pw = NULL;
	f->rows = 0;
	return ok;
}

static bool
writer_init(dl_data_writer *w, dl_commit *c, const dl_write_options *o, lk_error *err)
{
	w->c = c;
	if (o)
		w->o = *o;
	else
		dl_write_options_init(&w->o);
	lk_arena_init(&w->arena, 0);
	lk_arena_init(&w->tmp, 0);
	if (!dl_commit_layout(c, &w->l, err))
		return false;
	w->cdc = w->o.cdc_batch || w->o.change_type;
	w->const_type = w->o.change_type != NULL;
	if (w->cdc) {
		lk_type *fs = lk_type_struct(&w->arena, w->l->ndata + 1);
		for (int i = 0; i < w->l->ndata; i++)
			fs->children[i] = w->l->data->children[i];
		fs->children[w->l->ndata].name = "_change_type";
		fs->children[w->l->ndata].type = lk_type_new(&w->arena, LK_T_STRING);
		fs->children[w->l->ndata].nullable = true;
		fs->children[w->l->ndata].field_id = -1;
		w->file_schema = fs;
	} else {
		w->file_schema = w->l->data;
	}
	w->nleaves = count_leaves(w->file_schema);
	w->stats_cols = 32;
	const char *nic = dl_commit_config(c, "delta.dataSkippingNumIndexedCols");
	if (nic) {
		char *end;
		long v = strtol(nic, &end, 10);
		if (end != nic && !*end && v >= -1)
			w->stats_cols = v < 0 ? -1 : (int) v;
	}
	w->scratch = lk_batch_new(w->file_schema);
	if (dl_commit_config_true(c, "delta.enableChangeDataFeed"))
		ws_get(c);   /* the prepare hook writes insert change rows if needed */
	return true;
}

dl_data_writer *
dl_data_writer_open(dl_commit *c, const dl_write_options *o, lk_error *err)
{
	dl_data_writer *w = lk_xcalloc(1, sizeof(*w));
	if (!writer_init(w, c, o, err)) {
		dl_data_writer_free(w);
		return NULL;
	}
	w->logical_input = true;
	return w;
}

dl_data_writer *
dl_data_writer_open_partition(dl_commit *c, const dl_write_options *o,
							  const dl_map *pv, lk_error *err)
{
	dl_data_writer *w = lk_xcalloc(1, sizeof(*w));
	if (!writer_init(w, c, o, err)) {
		dl_data_writer_free(w);
		return NULL;
	}
	w->logical_input = false;
	const dl_layout *l = w->l;
	const char **vals = lk_arena_alloc(&w->arena, sizeof(char *) * (size_t) (l->npart + 1));
	for (int i = 0; i < l->npart; i++)
		vals[i] = pv ? dl_map_get(pv, l->part_key[i], NULL) : NULL;
	ofile_get(w, "", vals);
	return w;
}

void
dl_data_writer_free(dl_data_writer *w)
{
	if (!w)
		return;
	for (ofile *f = w->files; f; f = f->next) {
		pq_writer_free(f->pw);
		free(f->idx);
	}
	free(w->ht);
	if (w->scratch)
		lk_batch_free(w->scratch);
	lk_arena_free(&w->arena);
	lk_arena_free(&w->tmp);
	free(w);
}

static bool
check_input(dl_data_writer *w, const lk_batch *b, lk_error *err)
{
	const lk_type *want = w->logical_input ? w->l->logical : w->l->data;
	int extra = w->cdc && !w->const_type ? 1 : 0;
	if (b->ncols != want->nchildren + extra)
		return lk_error_set(err, LK_ERR_INVALID, "batch has %d columns, the table %d%s",
							b->ncols, want->nchildren, extra ? " and _change_type" : "");
	for (int i = 0; i < want->nchildren; i++) {
		const lk_field *f = &want->children[i];
		if (!compatible(b->cols[i].type, f->type)) {
			lk_arena ta;
			lk_arena_init(&ta, 0);
			lk_error_set(err, LK_ERR_INVALID, "batch column has type %s, the table %s",
						 lk_type_name(&ta, b->cols[i].type), lk_type_name(&ta, f->type));
			lk_arena_free(&ta);
			return lk_error_where(err, "column \"%s\"", f->name);
		}
		if (!f->nullable && b->cols[i].null_count > 0) {
			lk_error_set(err, LK_ERR_INVALID, "null value in a column that is not nullable");
			return lk_error_where(err, "column \"%s\"", f->name);
		}
		if (b->cols[i].length != b->nrows)
			return lk_error_set(err, LK_ERR_INVALID, "batch column lengths differ");
	}
	if (extra && b->cols[b->ncols - 1].type->id != LK_T_STRING)
		return lk_error_set(err, LK_ERR_INVALID, "_change_type must be a string column");
	return true;
}

/* Write rows (idx, or [0, n) when idx is NULL) of b to f's file(s). */
static bool
write_rows(dl_data_writer *w, ofile *f, const lk_batch *b, const int64_t *idx,
		   int64_t n, lk_error *err)
{
	const dl_layout *l = w->l;
	int64_t done = 0;
	while (done < n) {
		if (!f->pw && !ofile_open(w, f, err))
			return false;
		int64_t take = n - done;
		if (w->o.max_file_rows > 0 && take > w->o.max_file_rows - f->rows)
			take = w->o.max_file_rows - f->rows;
		lk_batch_reset(w->scratch);
		for (int j = 0; j < l->ndata; j++) {
			const lk_column *src = w->logical_input ? &b->cols[l->data_index[j]] : &b->cols[j];
			gather(&w->scratch->cols[j], src, idx ? idx + done : NULL, done, take);
		}
		if (w->cdc) {
			lk_column *ct = &w->scratch->cols[l->ndata];
			if (w->const_type) {
				size_t tl = strlen(w->o.change_type);
				for (int64_t k = 0; k < take; k++)
					lk_column_append_bytes(ct, w->o.change_type, (int64_t) tl);
			} else {
				gather(ct, &b->cols[b->ncols - 1], idx ? idx + done : NULL, done, take);
			}
		}
		w->scratch->nrows = take;
		scan_nan(w->scratch, f->nan);
		if (!pq_writer_write(f->pw, w->scratch, err))
			return false;
		f->rows += take;
		done += take;
		if (w->o.max_file_rows > 0 && f->rows >= w->o.max_file_rows &&
			!ofile_finish(w, f, err))
			return false;
	}
	return true;
}

/* A formatted partition value is usable: strings without NUL, UTF-8. */
static bool
text_ok(const lk_column *pc, int64_t r, const char *v)
{
	if (pc->type->id != LK_T_STRING)
		return true;
	int64_t n;
	lk_column_bytes(pc, r, &n);
	return strlen(v) == (size_t) n && utf8_valid((const uint8_t *) v, (size_t) n);
}

bool
dl_data_writer_write(dl_data_writer *w, const lk_batch *b, lk_error *err)
{
	if (w->failed)
		return lk_error_set(err, LK_ERR_INVALID, "data writer failed before");
	if (!check_input(w, b, err))
		return false;
	if (b->nrows == 0)
		return true;
	const dl_layout *l = w->l;
	bool ok = true;
	lk_arena_reset(&w->tmp);
	if (!w->logical_input || l->npart == 0) {
		ofile *f = w->logical_input ? ofile_get(w, "", NULL) : w->files;
		if (!w->cdc && w->o.max_file_rows <= 0) {
			/* zero copy: the batch's buffers under the file's types */
			if (!f->pw && !ofile_open(w, f, err)) {
				w->failed = true;
				return false;
			}
			lk_batch v;
			v.schema = w->file_schema;
			v.nrows = b->nrows;
			v.ncols = l->ndata;
			v.cols = lk_arena_alloc(&w->tmp, sizeof(lk_column) * (size_t) (l->ndata + 1));
			for (int j = 0; j < l->ndata; j++)
				view_column(&w->tmp, &v.cols[j],
							w->logical_input ? &b->cols[l->data_index[j]] : &b->cols[j],
							w->file_schema->children[j].type);
			scan_nan(&v, f->nan);
			ok = pq_writer_write(f->pw, &v, err);
			if (ok)
				f->rows += b->nrows;
		} else {
			ok = write_rows(w, f, b, NULL, b->nrows, err);
		}
		if (!ok)
			w->failed = true;
		return ok;
	}

	/* partitioned: group row indexes by partition key */
	const char **vals = lk_arena_alloc(&w->tmp, sizeof(char *) * (size_t) l->npart);
	lk_buf key = LK_BUF_INIT;
	for (int64_t r = 0; r < b->nrows; r++) {
		lk_buf_reset(&key);
		for (int i = 0; i < l->npart; i++) {
			const lk_column *pc = &b->cols[l->part_index[i]];
			vals[i] = dl_partition_value_format(pc, r, &w->tmp);
			if (vals[i] && !text_ok(pc, r, vals[i])) {
				lk_buf_free(&key);
				lk_error_set(err, LK_ERR_INVALID,
							 "partition value is not valid UTF-8 text without NUL bytes");
				w->failed = true;
				return lk_error_where(err, "column \"%s\" row %" PRId64,
									  l->logical->children[l->part_index[i]].name, r);
			}
			if (vals[i])
				lk_buf_append_str(&key, vals[i]);
			else
				lk_buf_append_byte(&key, 0x1e);
			lk_buf_append_byte(&key, 0x1f);
		}
		ofile *f = ofile_get(w, lk_buf_cstr(&key), vals);
		if (f->nidx == f->capidx) {
			f->capidx = f->capidx ? 2 * f->capidx : 256;
			f->idx = lk_xrealloc(f->idx, sizeof(int64_t) * (size_t) f->capidx);
		}
		f->idx[f->nidx++] = r;
	}
	lk_buf_free(&key);
	for (ofile *f = w->files; ok && f; f = f->next) {
		if (!f->nidx)
			continue;
		ok = write_rows(w, f, b, f->idx, f->nidx, err);
		f->nidx = 0;
	}
	if (!ok)
		w->failed = true;
	return ok;
}

bool
dl_data_writer_close(dl_data_writer *w, lk_error *err)
{
	bool ok = !w->failed;
	if (!ok)
		lk_error_set(err, LK_ERR_INVALID, "data writer failed before");
	/* files in creation order: the list is newest first */
	size_t n = 0;
	for (ofile *f = w->files; f; f = f->next)
		n++;
	ofile **v = lk_xmalloc(sizeof(ofile *) * (n ? n : 1));
	n = 0;
	for (ofile *f = w->files; f; f = f->next)
		v[n++] = f;
	for (size_t i = n; ok && i-- > 0;)
		ok = ofile_finish(w, v[i], err);
	free(v);
	dl_data_writer_free(w);
	return ok;
}

bool
dl_write_batch(dl_commit *c, const lk_batch *b, const dl_write_options *o,
			   lk_error *err)
{
	dl_data_writer *w = dl_data_writer_open(c, o, err);
	if (!w)
		return false;
	if (!dl_data_writer_write(w, b, err)) {
		dl_data_writer_free(w);
		return false;
	}
	return dl_data_writer_close(w, err);
}

bool
dl_cdc_write(dl_commit *c, const lk_batch *b, lk_error *err)
{
	dl_write_options o;
	dl_write_options_init(&o);
	o.cdc_batch = true;
	o.data_change = false;
	return dl_write_batch(c, b, &o, err);
}

/* ---- reading data files ------------------------------------------------------------- */

static bool
get_int(const lk_column *c, int64_t i, int64_t *v)
{
	const lk_type *t = c->type;
	switch (t->id) {
	case LK_T_BYTE:
		*v = t->is_unsigned ? (int64_t) LK_COL_VALUES(c, uint8_t)[i] : LK_COL_VALUES(c, int8_t)[i];
		return true;
	case LK_T_SHORT:
		*v = t->is_unsigned ? (int64_t) LK_COL_VALUES(c, uint16_t)[i]
							: LK_COL_VALUES(c, int16_t)[i];
		return true;
	case LK_T_INT:
	case LK_T_DATE:
		*v = t->is_unsigned ? (int64_t) LK_COL_VALUES(c, uint32_t)[i]
							: LK_COL_VALUES(c, int32_t)[i];
		return true;
	case LK_T_LONG:
	case LK_T_TIMESTAMP:
	case LK_T_TIMESTAMP_NTZ:
		*v = LK_COL_VALUES(c, int64_t)[i];
		return true;
	default:
		return false;
	}
}

static bool
is_int(lk_type_id id)
{
	return id == LK_T_BYTE || id == LK_T_SHORT || id == LK_T_INT || id == LK_T_LONG;
}

static bool adapt_rows(lk_column *dst, const lk_column *src, const int64_t *idx,
					   int64_t n, const char *col, lk_error *err);

/* One value of a primitive conversion. */
static bool
convert_one(lk_column *dst, const lk_column *src, int64_t i, const char *col,
			lk_error *err)
{
	const lk_type *dt = dst->type, *stp = src->type;
	if (lk_column_is_null(src, i)) {
		lk_column_append_null(dst);
		return true;
	}
	int64_t v;
	if (is_int(dt->id) && is_int(stp->id) && get_int(src, i, &v)) {
		switch (dt->id) {
		case LK_T_BYTE: { int8_t x = (int8_t) v; lk_column_append_fixed(dst, &x); break; }
		case LK_T_SHORT: { int16_t x = (int16_t) v; lk_column_append_fixed(dst, &x); break; }
		case LK_T_INT: lk_column_append_i32(dst, (int32_t) v); break;
		default: lk_column_append_i64(dst, v); break;
		}
		return true;
	}
	if (dt->id == LK_T_DOUBLE && stp->id == LK_T_FLOAT) {
		lk_column_append_f64(dst, LK_COL_VALUES(src, float)[i]);
		return true;
	}
	if (dt->id == LK_T_DOUBLE && is_int(stp->id) && get_int(src, i, &v)) {
		lk_column_append_f64(dst, (double) v);
		return true;
	}
	if ((dt->id == LK_T_TIMESTAMP || dt->id == LK_T_TIMESTAMP_NTZ) &&
		(stp->id == LK_T_TIMESTAMP || stp->id == LK_T_TIMESTAMP_NTZ)) {
		int64_t us = unit_to_micros(LK_COL_VALUES(src, int64_t)[i], stp->unit, false);
		if (dt->unit == LK_UNIT_MILLIS)
			us = floordiv(us, 1000);
		else if (dt->unit == LK_UNIT_NANOS)
			us *= 1000;
		lk_column_append_i64(dst, us);
		return true;
	}
	if (dt->id == LK_T_TIMESTAMP_NTZ && stp->id == LK_T_DATE) {
		lk_column_append_i64(dst, (int64_t) LK_COL_VALUES(src, int32_t)[i] * 86400000000LL);
		return true;
	}
	if (dt->id == LK_T_DECIMAL && (stp->id == LK_T_DECIMAL || is_int(stp->id)) &&
		dt->scale >= stp->scale) {
		lk_int128 x;
		if (stp->id == LK_T_DECIMAL)
			x = LK_COL_VALUES(src, lk_int128)[i];
		else if (get_int(src, i, &v))
			x = v;
		else
			goto bad;
		for (int k = stp->id == LK_T_DECIMAL ? stp->scale : 0; k < dt->scale; k++)
			x *= 10;
		lk_column_append_i128(dst, x);
		return true;
	}
bad:;
	lk_arena ta;
	lk_arena_init(&ta, 0);
	lk_error_set(err, LK_ERR_UNSUPPORTED, "cannot read a %s column as %s",
				 lk_type_name(&ta, stp), lk_type_name(&ta, dt));
	lk_arena_free(&ta);
	return lk_error_where(err, "column \"%s\"", col);
}

static int
field_by_name(const lk_type *st, const char *name)
{
	int i = lk_type_field_index(st, name);
	if (i >= 0)
		return i;
	for (int k = 0; k < st->nchildren; k++)
		if (st->children[k].name && strcasecmp(st->children[k].name, name) == 0)
			return k;
	return -1;
}

/* Append rows idx[0..n) of src (NULL: nulls) to dst, converting. */
static bool
adapt_rows(lk_column *dst, const lk_column *src, const int64_t *idx, int64_t n,
		   const char *col, lk_error *err)
{
	if (!src) {
		for (int64_t k = 0; k < n; k++)
			lk_column_append_null(dst);
		return true;
	}
	if (same_layout(dst->type, src->type)) {
		gather(dst, src, idx, 0, n);
		return true;
	}
	const lk_type *dt = dst->type, *stp = src->type;
	if (dt->id == LK_T_STRUCT && stp->id == LK_T_STRUCT) {
		int *map = lk_xmalloc(sizeof(int) * (size_t) (dt->nchildren + 1));
		for (int k = 0; k < dt->nchildren; k++)
			map[k] = field_by_name(stp, dt->children[k].name);
		bool ok = true;
		for (int64_t r = 0; ok && r < n; r++) {
			int64_t i = idx[r];
			if (lk_column_is_null(src, i)) {
				lk_column_append_null(dst);
				continue;
			}
			for (int k = 0; ok && k < dt->nchildren; k++)
				ok = adapt_rows(&dst->children[k], map[k] >= 0 ? &src->children[map[k]] : NULL,
								&i, 1, col, err);
			if (ok)
				lk_column_append_struct(dst);
		}
		free(map);
		return ok;
	}
	if ((dt->id == LK_T_ARRAY && stp->id == LK_T_ARRAY) ||
		(dt->id == LK_T_MAP && stp->id == LK_T_MAP)) {
		for (int64_t r = 0; r < n; r++) {
			int64_t i = idx[r];
			if (lk_column_is_null(src, i)) {
				lk_column_append_null(dst);
				continue;
			}
			int64_t e0 = src->offsets[i], e1 = src->offsets[i + 1];
			int64_t *ei = lk_xmalloc(sizeof(int64_t) * (size_t) (e1 - e0 + 1));
			for (int64_t e = e0; e < e1; e++)
				ei[e - e0] = e;
			bool ok = true;
			for (int k = 0; ok && k < dt->nchildren; k++)
				ok = adapt_rows(&dst->children[k], &src->children[k], ei, e1 - e0, col, err);
			free(ei);
			if (!ok)
				return false;
			lk_column_append_list(dst);
		}
		return true;
	}
	if (lk_type_is_nested(dt) || lk_type_is_nested(stp)) {
		lk_arena ta;
		lk_arena_init(&ta, 0);
		lk_error_set(err, LK_ERR_UNSUPPORTED, "cannot read a %s column as %s",
					 lk_type_name(&ta, stp), lk_type_name(&ta, dt));
		lk_arena_free(&ta);
		return lk_error_where(err, "column \"%s\"", col);
	}
	for (int64_t r = 0; r < n; r++)
		LK_FORWARD(convert_one(dst, src, idx[r], col, err));
	return true;
}

static bool
open_reader(st_store *st, const char *path, pq_reader **out, lk_error *err)
{
	st_file f;
	LK_FORWARD(st_open_read(st, path, &f, err));
	pq_input in = {f.ctx, f.size, f.name, f.read_at, f.close};
	*out = pq_reader_open(&in, err);
	return *out != NULL;
}

bool
dl_data_file_read(st_store *st, const dl_layout *l, const char *path,
				  const dl_bitmap *deleted, const dl_bitmap *only,
				  dl_rows_fn fn, void *ctx, lk_error *err)
{
	pq_reader *r;
	if (!open_reader(st, path, &r, err))
		return lk_error_add_where(err, "data file \"%s\"", path);
	const lk_type *dt = l->data;
	int nd = dt->nchildren;
	int *src = lk_xmalloc(sizeof(int) * (size_t) (nd + 1));
	const char **names = lk_xmalloc(sizeof(char *) * (size_t) (nd + 1));
	bool ok = true;
	if (l->cm == DL_CM_ID) {
		int32_t *ids = lk_xmalloc(sizeof(int32_t) * (size_t) (nd + 1));
		const lk_type **types = lk_xmalloc(sizeof(lk_type *) * (size_t) (nd + 1));
		for (int j = 0; j < nd; j++) {
			ids[j] = dt->children[j].field_id;
			names[j] = dt->children[j].name;
			types[j] = dt->children[j].type;
			src[j] = j;
		}
		ok = pq_reader_project_ids(r, ids, names, (const lk_type *const *) types, nd, err);
		free(ids);
		free(types);
	} else {
		const lk_type *fs = pq_reader_schema(r);
		int np = 0;
		for (int j = 0; j < nd; j++) {
			int k = field_by_name(fs, dt->children[j].name);
			if (k >= 0) {
				names[np] = fs->children[k].name;
				src[j] = np++;
			} else {
				src[j] = -1;
			}
		}
		ok = pq_reader_project(r, names, np, err);
	}
	lk_batch *in = NULL, *out = NULL;
	int64_t *keep = NULL;
	lk_arena va;
	lk_arena_init(&va, 0);
	if (ok) {
		in = lk_batch_new(pq_reader_output_schema(r));
		out = lk_batch_new(dt);
	}
	bool all_same = ok;
	for (int j = 0; ok && j < nd; j++)
		if (src[j] < 0 || !same_layout(dt->children[j].type, in->cols[src[j]].type))
			all_same = false;
	int64_t row0 = 0;
	/* only: the wanted rows in order, walked once (not a lookup per row) */
	uint64_t *want = NULL;
	size_t nwant = 0, wi = 0;
	if (ok && only)
		ok = dl_bitmap_to_array(only, UINT64_MAX, &want, &nwant, err);
	for (int rg = 0; ok && rg < pq_reader_num_row_groups(r); rg++) {
		if (only) {
			/* a row group without a wanted row is not decoded */
			int64_t rgn = pq_reader_row_group_rows(r, rg);
			while (wi < nwant && want[wi] < (uint64_t) row0)
				wi++;
			if (rgn >= 0 && (wi >= nwant || want[wi] >= (uint64_t) (row0 + rgn))) {
				row0 += rgn;
				continue;
			}
		}
		int64_t rgn = only ? pq_reader_row_group_rows(r, rg) : -1;
		if (rgn >= 0) {
			/* only the wanted rows are decoded (pages without one are not
			 * even decompressed) */
			keep = lk_xrealloc(keep, sizeof(int64_t) * (size_t) (rgn + 1));
			int64_t nk = 0;
			for (; wi < nwant && want[wi] < (uint64_t) (row0 + rgn); wi++)
				if (want[wi] >= (uint64_t) row0 &&
					!(deleted && dl_bitmap_contains(deleted, want[wi])))
					keep[nk++] = (int64_t) (want[wi] - (uint64_t) row0);
			row0 += rgn;
			if (nk == 0)
				continue;
			if (!pq_reader_read_row_group_rows(r, rg, keep, nk, in, err)) {
				ok = false;
				break;
			}
			if (all_same) {
				ok = emit_view(&va, dt, nd, in, src, nk, fn, ctx, err);
				continue;
			}
			for (int64_t i = 0; i < nk; i++)
				keep[i] = i;
			lk_batch_reset(out);
			for (int j = 0; ok && j < nd; j++)
				ok = adapt_rows(&out->cols[j], src[j] >= 0 ? &in->cols[src[j]] : NULL, keep,
								nk, dt->children[j].name, err);
			if (!ok)
				break;
			out->nrows = nk;
			ok = fn(ctx, out, err);
			continue;
		}
		if (!pq_reader_read_row_group(r, rg, in, err)) {
			ok = false;
			break;
		}
		int64_t nr = in->nrows;
		keep = lk_xrealloc(keep, sizeof(int64_t) * (size_t) (nr + 1));
		int64_t nk = 0;
		if (only) {
			for (; wi < nwant && want[wi] < (uint64_t) (row0 + nr); wi++)
				if (want[wi] >= (uint64_t) row0 &&
					!(deleted && dl_bitmap_contains(deleted, want[wi])))
					keep[nk++] = (int64_t) (want[wi] - (uint64_t) row0);
		} else {
			for (int64_t i = 0; i < nr; i++) {
				if (deleted && dl_bitmap_contains(deleted, (uint64_t) (row0 + i)))
					continue;
				keep[nk++] = i;
			}
		}
		row0 += nr;
		if (nk == 0)
			continue;
		if (nk == nr && all_same) {
			ok = emit_view(&va, dt, nd, in, src, nr, fn, ctx, err);
			continue;
		}
		lk_batch_reset(out);
		for (int j = 0; ok && j < nd; j++)
			ok = adapt_rows(&out->cols[j], src[j] >= 0 ? &in->cols[src[j]] : NULL, keep, nk,
							dt->children[j].name, err);
		if (!ok)
			break;
		out->nrows = nk;
		ok = fn(ctx, out, err);
	}
	if (!ok && !strstr(err->where, path))
		lk_error_add_where(err, "data file \"%s\"", path);
	lk_arena_free(&va);
	free(keep);
	free(want);
	free(src);
	free(names);
	if (in)
		lk_batch_free(in);
	if (out)
		lk_batch_free(out);
	pq_reader_free(r);
	return ok;
}

/* ---- removes, deletes ----------------------------------------------------------------- */

/* The remove action of an active file (see writer.h); points into f. */
void
dl_remove_action(const dl_add *f, bool data_change, int64_t now, dl_action *out)
{
	memset(out, 0, sizeof(*out));
	out->type = DL_ACT_REMOVE;
	dl_remove *r = &out->u.remove;
	r->path = f->path;
	r->has_deletion_timestamp = true;
	r->deletion_timestamp = now;
	r->data_change = data_change;
	r->has_extended_file_metadata = true;
	r->extended_file_metadata = true;
	r->has_partition_values = true;
	r->partition_values = f->partition_values;
	r->has_size = true;
	r->size = f->size;
	r->has_tags = true;     /* extendedFileMetadata: partitionValues, size, tags */
	r->tags = f->tags;
	r->has_dv = f->has_dv;
	r->dv = f->dv;
	r->has_base_row_id = f->has_base_row_id;
	r->base_row_id = f->base_row_id;
	r->has_default_row_commit_version = f->has_default_row_commit_version;
	r->default_row_commit_version = f->default_row_commit_version;
}

static void
copy_kvs(lk_arena *a, dl_map *dst, const dl_map *src)
{
	dst->n = src->n;
	dst->items = lk_arena_alloc(a, sizeof(dl_kv) * (size_t) (src->n > 0 ? src->n : 1));
	for (int i = 0; i < src->n; i++) {
		dst->items[i].key = lk_arena_strdup(a, src->items[i].key);
		dst->items[i].value = src->items[i].value ? lk_arena_strdup(a, src->items[i].value)
												  : NULL;
	}
}

static pend *
pend_get(dl_commit *c, const dl_add *file, lk_error *err)
{
	wstate *w = ws_get(c);
	lk_arena *a = dl_commit_arena(c);
	char *dec;
	if (!st_path_decode(file->path, a, &dec, err))
		return NULL;
	const char *canon = st_path_canonical(dl_commit_store(c), dec, a);
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->p[i].key, canon) == 0)
			return &w->p[i];
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 8;
		w->p = lk_xrealloc(w->p, w->cap * sizeof(pend));
	}
	pend *p = &w->p[w->n++];
	memset(p, 0, sizeof(*p));
	p->add = *file;
	p->add.path = lk_arena_strdup(a, file->path);
	p->add.stats = file->stats ? lk_arena_strdup(a, file->stats) : NULL;
	p->add.dv.path_or_inline = file->has_dv ? lk_arena_strdup(a, file->dv.path_or_inline) : NULL;
	copy_kvs(a, &p->add.partition_values, &file->partition_values);
	copy_kvs(a, &p->add.tags, &file->tags);
	p->add.clustering_provider = NULL;
	p->key = canon;
	p->path = dec;
	p->data_change = true;
	dl_bitmap_init(&p->rows);
	return p;
}

bool
dl_remove_file(dl_commit *c, const dl_add *file, bool data_change, lk_error *err)
{
	if (!dl_commit_config_true(c, "delta.enableChangeDataFeed") || !data_change) {
		dl_action a;
		dl_remove_action(file, data_change, dl_now_ms(), &a);
		return dl_commit_add_action(c, &a, err);
	}
	pend *p = pend_get(c, file, err);
	if (!p)
		return false;
	p->whole = true;
	p->removed = true;
	return true;
}

bool
dl_delete_rows(dl_commit *c, const dl_add *file, const uint64_t *rows, size_t n,
			   lk_error *err)
{
	if (dl_commit_config_true(c, "delta.appendOnly"))
		return lk_error_set(err, LK_ERR_INVALID,
							"table is append-only (delta.appendOnly): cannot delete rows");
	pend *p = pend_get(c, file, err);
	if (!p)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (rows[i] >= (1ull << 63))
			return lk_error_set(err, LK_ERR_INVALID, "row index %" PRIu64 " out of range",
								rows[i]);
		dl_bitmap_add(&p->rows, rows[i]);
	}
	dl_commit_set_reads_data(c, true);
	return true;
}

bool
dl_delete_rows_covered(dl_commit *c, const dl_add *file, const uint64_t *rows,
					   size_t n, lk_error *err)
{
	LK_FORWARD(dl_delete_rows(c, file, rows, n, err));
	pend *p = pend_get(c, file, err);
	if (!p)
		return false;
	p->covered = true;
	return true;
}

/* Physical row count of a file: stats numRecords, else the Parquet footer. */
static bool
file_num_records(st_store *st, const pend *p, int64_t *out, lk_error *err)
{
	const char *s = p->add.stats ? strstr(p->add.stats, "\"numRecords\":") : NULL;
	if (s) {
		char *end;
		long long v = strtoll(s + 13, &end, 10);
		if (end != s + 13 && v >= 0) {
			*out = v;
			return true;
		}
	}
	pq_reader *r;
	if (!open_reader(st, p->path, &r, err))
		return lk_error_add_where(err, "data file \"%s\"", p->path);
	*out = pq_reader_num_rows(r);
	pq_reader_free(r);
	return true;
}

typedef struct cdc_ctx {
	dl_data_writer *w;
} cdc_ctx;

static bool
cdc_cb(void *ctx, const lk_batch *b, lk_error *err)
{
	return dl_data_writer_write(((cdc_ctx *) ctx)->w, b, err);
}

/* Rows of `path` (minus `deleted`, or only `only`) as change rows. */
static bool
write_change_rows(dl_commit *c, const dl_layout *l, const char *path,
				  const dl_map *pv, const dl_bitmap *deleted, const dl_bitmap *only,
				  const char *change_type, lk_error *err)
{
	dl_write_options o;
	dl_write_options_init(&o);
	o.change_type = change_type;
	o.data_change = false;
	dl_data_writer *w = dl_data_writer_open_partition(c, &o, pv, err);
	if (!w)
		return false;
	cdc_ctx cx = {w};
	if (!dl_data_file_read(dl_commit_store(c), l, path, deleted, only, cdc_cb, &cx, err)) {
		dl_data_writer_free(w);
		return false;
	}
	return dl_data_writer_close(w, err);
}

/* Rewrite `path` without the rows of `deleted` (copy-on-write delete). */
static bool
rewrite_file(dl_commit *c, const dl_layout *l, const pend *p, const dl_bitmap *deleted,
			 lk_error *err)
{
	dl_write_options o;
	dl_write_options_init(&o);
	o.cdc_covered = true;   /* not new rows: the deleted rows are the change */
	dl_data_writer *w = dl_data_writer_open_partition(c, &o, &p->add.partition_values, err);
	if (!w)
		return false;
	cdc_ctx cx = {w};
	if (!dl_data_file_read(dl_commit_store(c), l, p->path, deleted, NULL, cdc_cb, &cx, err)) {
		dl_data_writer_free(w);
		return false;
	}
	return dl_data_writer_close(w, err);
}

/* Stats of a file that gets a deletion vector (see writer.h); in arena a. */
const char *
dl_stats_loosen(const char *stats, lk_arena *a)
{
	if (!stats)
		return NULL;
	const char *t = strstr(stats, "\"tightBounds\":true");
	if (t)
		return lk_arena_sprintf(a, "%.*s\"tightBounds\":false%s", (int) (t - stats), stats,
								t + strlen("\"tightBounds\":true"));
	if (strstr(stats, "\"tightBounds\""))
		return stats;
	const char *end = strrchr(stats, '}');
	if (!end)
		return NULL;
	bool empty = true;
	for (const char *q = stats + 1; q < end; q++)
		if (*q != ' ')
			empty = false;
	return lk_arena_sprintf(a, "%.*s%s\"tightBounds\":false}", (int) (end - stats), stats,
							empty ? "" : ",");
}

static bool
has_writer_feature(const dl_protocol *p, const char *f)
{
	for (int i = 0; p && i < p->writer_features.n; i++)
		if (strcmp(p->writer_features.items[i], f) == 0)
			return true;
	return false;
}

/* The prepare hook: materialise deletes, then CDF inserts. */
static bool
ws_prepare(dl_commit *c, void *ctx, lk_error *err)
{
	wstate *w = ctx;
	st_store *st = dl_commit_store(c);
	lk_arena *a = dl_commit_arena(c);
	bool cdf = dl_commit_config_true(c, "delta.enableChangeDataFeed");
	bool use_dv = has_writer_feature(dl_commit_protocol(c), "deletionVectors") &&
				  dl_commit_config_true(c, "delta.enableDeletionVectors");
	const dl_layout *l = NULL;
	int64_t now = dl_now_ms();
	bool ok = true;

	if (w->n || cdf)
		LK_FORWARD(dl_commit_layout(c, &l, err));

	dl_bitmap *old = lk_xcalloc(w->n + 1, sizeof(dl_bitmap));
	dl_bitmap *newly = lk_xcalloc(w->n + 1, sizeof(dl_bitmap));
	bool *skip = lk_xcalloc(w->n + 1, sizeof(bool));
	for (size_t i = 0; i < w->n; i++) {
		dl_bitmap_init(&old[i]);
		dl_bitmap_init(&newly[i]);
	}
	/* 1. merged bitmaps: rows ← old ∪ rows, newly = rows − old */
	for (size_t i = 0; ok && i < w->n; i++) {
		pend *p = &w->p[i];
		if (p->add.has_dv && !(ok = dl_dv_load(st, &p->add.dv, &old[i], err)))
			break;
		if (p->whole)
			continue;
		int64_t nrec = 0;
		if (!(ok = file_num_records(st, p, &nrec, err)))
			break;
		uint64_t *rows;
		size_t nrows;
		if (!(ok = dl_bitmap_to_array(&p->rows, UINT64_MAX, &rows, &nrows, err)))
			break;
		if (nrows && rows[nrows - 1] >= (uint64_t) nrec) {
			lk_error_set(err, LK_ERR_INVALID,
						 "row %" PRIu64 " is out of range (the file has %" PRId64 " rows)",
						 rows[nrows - 1], nrec);
			lk_error_where(err, "data file \"%s\"", p->path);
			free(rows);
			ok = false;
			break;
		}
		for (size_t k = 0; k < nrows; k++)
			if (!dl_bitmap_contains(&old[i], rows[k]))
				dl_bitmap_add(&newly[i], rows[k]);
		free(rows);
		if (dl_bitmap_cardinality(&newly[i]) == 0) {
			skip[i] = true;
			continue;
		}
		for (int b = 0; b < old[i].nbuckets; b++) {
			uint64_t hi = (uint64_t) old[i].keys[b] << 32;
			roaring_uint32_iterator_t *it = roaring_create_iterator(old[i].maps[b]);
			while (it->has_value) {
				dl_bitmap_add(&p->rows, hi | it->current_value);
				roaring_advance_uint32_iterator(it);
			}
			roaring_free_uint32_iterator(it);
		}
		if ((int64_t) dl_bitmap_cardinality(&p->rows) >= nrec)
			p->whole = true;
	}
	/* 2. change rows of the deletes, read before anything changes */
	for (size_t i = 0; ok && cdf && i < w->n; i++) {
		pend *p = &w->p[i];
		if (skip[i] || !p->data_change || (p->covered && !p->removed))
			continue;
		if (p->whole)
			ok = write_change_rows(c, l, p->path, &p->add.partition_values,
								   p->add.has_dv ? &old[i] : NULL, NULL, "delete", err);
		else
			ok = write_change_rows(c, l, p->path, &p->add.partition_values, NULL,
								   &newly[i], "delete", err);
	}
	/* 3. the new state of each file */
	if (ok && use_dv) {
		const dl_bitmap **bms = lk_xcalloc(w->n + 1, sizeof(dl_bitmap *));
		size_t nb = 0;
		for (size_t i = 0; i < w->n; i++)
			if (!skip[i] && !w->p[i].whole)
				bms[nb++] = &w->p[i].rows;
		dl_dv *descs = lk_arena_zalloc(a, sizeof(dl_dv) * (nb + 1));
		if (nb)
			ok = dl_dv_write_file(st, NULL, bms, (int) nb, a, descs, err);
		free(bms);
		for (size_t i = 0, k = 0; ok && i < w->n; i++) {
			pend *p = &w->p[i];
			if (skip[i])
				continue;
			dl_action rm;
			dl_remove_action(&p->add, p->data_change, now, &rm);
			ok = dl_commit_add_action(c, &rm, err);
			if (!ok || p->whole)
				continue;
			dl_action ad;
			memset(&ad, 0, sizeof(ad));
			ad.type = DL_ACT_ADD;
			ad.u.add = p->add;
			ad.u.add.data_change = true;
			ad.u.add.has_dv = true;
			ad.u.add.dv = descs[k++];
			ad.u.add.stats = dl_stats_loosen(p->add.stats, a);
			ok = dl_commit_add_action(c, &ad, err);
		}
	} else {
		for (size_t i = 0; ok && i < w->n; i++) {
			pend *p = &w->p[i];
			if (skip[i])
				continue;
			if (!p->whole)
				ok = rewrite_file(c, l, p, &p->rows, err);
			dl_action rm;
			dl_remove_action(&p->add, p->data_change, now, &rm);
			if (ok)
				ok = dl_commit_add_action(c, &rm, err);
		}
	}
	for (size_t i = 0; i < w->n; i++) {
		dl_bitmap_free(&old[i]);
		dl_bitmap_free(&newly[i]);
	}
	free(old);
	free(newly);
	free(skip);
	if (!ok)
		return false;

	/* 4. CDF: once a commit has cdc files, readers use only those: new data
	 * files become "insert" change rows */
	if (!cdf)
		return true;
	size_t n = dl_commit_nactions(c);
	bool has_cdc = false;
	for (size_t i = 0; i < n; i++)
		if (dl_commit_action(c, i, NULL)->type == DL_ACT_CDC)
			has_cdc = true;
	if (!has_cdc)
		return true;
	for (size_t i = 0; i < n; i++) {
		unsigned fl;
		const dl_action *act = dl_commit_action(c, i, &fl);
		if (act->type != DL_ACT_ADD || !(fl & DL_CF_NEW_DATA) || (fl & DL_CF_CDC_COVERED) ||
			!act->u.add.data_change)
			continue;
		char *path;
		LK_FORWARD(st_path_decode(act->u.add.path, a, &path, err));
		dl_map pv = act->u.add.partition_values;
		LK_FORWARD(write_change_rows(c, l, path, &pv, NULL, NULL, "insert", err));
	}
	return true;
}
