/*
 * test_sync_evolve.c — schema evolution while streaming.
 *
 *   dlevolve   the Delta side (src/delta/evolve.c): widening rules,
 *              protocol feature upgrades, and whole tables evolved and
 *              written to, then scanned back to exact rows (column
 *              mapping physical names in the data files, old narrow files
 *              read as the wide type)
 *   plan       the planning of src/sync/evolve.c: old columns + a new
 *              Relation message + catalog attnums → added / dropped /
 *              renamed / widened / refused
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/buf.h"
#include "delta/commit.h"
#include "delta/evolve.h"
#include "delta/log.h"
#include "delta/scan.h"
#include "delta/writer.h"
#include "parquet/parquet.h"
#include "storage/storage.h"

/* ---- fixtures ---------------------------------------------------------------- */

static char tmpdir[256];
static lk_arena ta;

static int
rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void) sb, (void) flag, (void) ftw;
	return remove(p);
}

static void
setup(void)
{
	lk_arena_init(&ta, 0);
	snprintf(tmpdir, sizeof(tmpdir), "%s/lk-ev-XXXXXX",
			 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	tmpdir[0] = '\0';
	lk_arena_free(&ta);
}

static const char *
errs(const lk_error *e)
{
	static char buf[1200];
	return lk_error_str(e, buf, sizeof(buf));
}

static lk_field
fld(const char *name, lk_type *t)
{
	lk_field f = {name, t, true, -1};
	return f;
}

static dl_snapshot *
snap(st_store *st)
{
	dl_snapshot *s;
	lk_error err;
	cr_assert(dl_snapshot_open(st, NULL, &s, &err), "%s", errs(&err));
	return s;
}

/* One value as text: null "-", decimals exact, doubles %.17g. */
static void
value_text(const lk_column *c, int64_t i, lk_buf *out)
{
	char b[80];
	if (lk_column_is_null(c, i)) {
		lk_buf_append_str(out, "-");
		return;
	}
	switch (c->type->id) {
	case LK_T_SHORT: snprintf(b, sizeof(b), "%d", LK_COL_VALUES(c, int16_t)[i]); break;
	case LK_T_INT: snprintf(b, sizeof(b), "%d", LK_COL_VALUES(c, int32_t)[i]); break;
	case LK_T_LONG: snprintf(b, sizeof(b), "%" PRId64, LK_COL_VALUES(c, int64_t)[i]); break;
	case LK_T_FLOAT: snprintf(b, sizeof(b), "f%.9g", LK_COL_VALUES(c, float)[i]); break;
	case LK_T_DOUBLE: snprintf(b, sizeof(b), "d%.17g", LK_COL_VALUES(c, double)[i]); break;
	case LK_T_DECIMAL:
		lk_decimal_to_string(LK_COL_VALUES(c, lk_int128)[i], c->type->scale, b);
		break;
	case LK_T_STRING: {
		int64_t n;
		const uint8_t *p = lk_column_bytes(c, i, &n);
		lk_buf_append(out, p, (size_t) n);
		return;
	}
	default: snprintf(b, sizeof(b), "?"); break;
	}
	lk_buf_append_str(out, b);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Every live row of the latest snapshot as "v1|v2|...", sorted, joined by
 * '\n'; header "name:type,..." first.  malloc'd. */
static char *
scan_text(st_store *st)
{
	dl_snapshot *s = snap(st);
	lk_buf out = LK_BUF_INIT;
	lk_arena a;
	lk_arena_init(&a, 0);
	for (int i = 0; i < s->schema.type->nchildren; i++) {
		const lk_field *f = &s->schema.type->children[i];
		lk_buf_append_str(&out, i ? "," : "");
		lk_buf_append_str(&out, f->name);
		lk_buf_append_str(&out, ":");
		lk_buf_append_str(&out, dl_type_json_name(&a, f->type));
	}
	lk_buf_append_str(&out, "\n");
	dl_scan *sc;
	lk_error err;
	cr_assert(dl_scan_open(s, &sc, &err), "%s", errs(&err));
	char **rows = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		lk_batch *b;
		cr_assert(dl_scan_next(sc, &b, &err), "%s", errs(&err));
		if (!b)
			break;
		for (int64_t r = 0; r < b->nrows; r++) {
			lk_buf row = LK_BUF_INIT;
			for (int c = 0; c < b->ncols; c++) {
				if (c)
					lk_buf_append_str(&row, "|");
				value_text(&b->cols[c], r, &row);
			}
			lk_buf_cstr(&row);
			if (n == cap)
				rows = realloc(rows, (cap = cap * 2 + 8) * sizeof(char *));
			rows[n++] = (char *) row.data;
		}
	}
	dl_scan_free(sc);
	qsort(rows, n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < n; i++) {
		lk_buf_append_str(&out, rows[i]);
		lk_buf_append_str(&out, "\n");
		free(rows[i]);
	}
	free(rows);
	lk_arena_free(&a);
	dl_snapshot_free(s);
	lk_buf_cstr(&out);
	return (char *) out.data;
}

/* Evolve the latest version with changes[0..n) in its own commit. */
static void
evolve(st_store *st, const dl_schema_change *ch, int n)
{
	dl_snapshot *s = snap(st);
	dl_evolution ev;
	lk_error err;
	lk_arena a;
	lk_arena_init(&a, 0);
	cr_assert(dl_evolve_schema(&s->protocol, &s->metadata, ch, n, &a, &ev, &err), "%s",
			  errs(&err));
	dl_commit *c = dl_commit_begin(st, s, "CHANGE COLUMN");
	cr_assert(dl_evolve_add_actions(c, &ev, &err), "%s", errs(&err));
	cr_assert(dl_commit_run(c, NULL, &err), "%s", errs(&err));
	dl_commit_free(c);
	lk_arena_free(&a);
	dl_snapshot_free(s);
}

/* Append one batch built by fill(b) in the latest schema. */
static void
write_rows(st_store *st, void (*fill)(lk_batch *b, int from), int from)
{
	dl_snapshot *s = snap(st);
	dl_commit *c = dl_commit_begin(st, s, "WRITE");
	lk_batch *b = lk_batch_new(s->schema.type);
	fill(b, from);
	cr_assert(lk_batch_seal(b));
	lk_error err;
	cr_assert(dl_write_batch(c, b, NULL, &err), "%s", errs(&err));
	cr_assert(dl_commit_run(c, NULL, &err), "%s", errs(&err));
	lk_batch_free(b);
	dl_commit_free(c);
	dl_snapshot_free(s);
}

static void
str_append(lk_column *c, const char *s)
{
	if (!s)
		lk_column_append_null(c);
	else
		lk_column_append_bytes(c, s, (int64_t) strlen(s));
}

/* ---- dlevolve: rules ----------------------------------------------------------- */

TestSuite(dlevolve, .init = setup, .fini = teardown);

Test(dlevolve, widening_rules)
{
	lk_type *i8 = lk_type_new(&ta, LK_T_BYTE), *i16 = lk_type_new(&ta, LK_T_SHORT);
	lk_type *i32 = lk_type_new(&ta, LK_T_INT), *i64 = lk_type_new(&ta, LK_T_LONG);
	lk_type *f32 = lk_type_new(&ta, LK_T_FLOAT), *f64 = lk_type_new(&ta, LK_T_DOUBLE);
	lk_type *str = lk_type_new(&ta, LK_T_STRING), *date = lk_type_new(&ta, LK_T_DATE);
	lk_type *ntz = lk_type_new(&ta, LK_T_TIMESTAMP_NTZ);
	lk_type *ts = lk_type_new(&ta, LK_T_TIMESTAMP);
	cr_assert(dl_type_widening_allowed(i8, i16));
	cr_assert(dl_type_widening_allowed(i16, i32));
	cr_assert(dl_type_widening_allowed(i16, i64));
	cr_assert(dl_type_widening_allowed(i32, i64));
	cr_assert_not(dl_type_widening_allowed(i64, i32));
	cr_assert_not(dl_type_widening_allowed(i32, i32));
	cr_assert(dl_type_widening_allowed(f32, f64));
	cr_assert_not(dl_type_widening_allowed(f64, f32));
	cr_assert(dl_type_widening_allowed(i32, f64));
	cr_assert_not(dl_type_widening_allowed(i64, f64));
	cr_assert_not(dl_type_widening_allowed(i32, f32));
	cr_assert_not(dl_type_widening_allowed(i32, str));
	cr_assert_not(dl_type_widening_allowed(str, i32));
	cr_assert(dl_type_widening_allowed(date, ntz));
	cr_assert_not(dl_type_widening_allowed(date, ts));
	/* decimal(p,s) → decimal(p+k1, s+k2), k1 ≥ k2 ≥ 0 */
	cr_assert(dl_type_widening_allowed(lk_type_decimal(&ta, 10, 2), lk_type_decimal(&ta, 12, 2)));
	cr_assert(dl_type_widening_allowed(lk_type_decimal(&ta, 10, 2), lk_type_decimal(&ta, 12, 4)));
	cr_assert_not(dl_type_widening_allowed(lk_type_decimal(&ta, 10, 2),
										   lk_type_decimal(&ta, 11, 4)));
	cr_assert_not(dl_type_widening_allowed(lk_type_decimal(&ta, 10, 2),
										   lk_type_decimal(&ta, 12, 1)));
	cr_assert_not(dl_type_widening_allowed(lk_type_decimal(&ta, 10, 2),
										   lk_type_decimal(&ta, 10, 2)));
	cr_assert_not(dl_type_widening_allowed(lk_type_decimal(&ta, 12, 2),
										   lk_type_decimal(&ta, 10, 2)));
	cr_assert(dl_type_widening_allowed(lk_type_decimal(&ta, 30, 2), lk_type_decimal(&ta, 38, 2)));
	/* integers to decimals: 10 / 20 digits before the point */
	cr_assert(dl_type_widening_allowed(i32, lk_type_decimal(&ta, 10, 0)));
	cr_assert(dl_type_widening_allowed(i32, lk_type_decimal(&ta, 12, 2)));
	cr_assert_not(dl_type_widening_allowed(i32, lk_type_decimal(&ta, 9, 0)));
	cr_assert_not(dl_type_widening_allowed(i32, lk_type_decimal(&ta, 11, 2)));
	cr_assert(dl_type_widening_allowed(i64, lk_type_decimal(&ta, 20, 0)));
	cr_assert_not(dl_type_widening_allowed(i64, lk_type_decimal(&ta, 19, 0)));
	cr_assert_not(dl_type_widening_allowed(lk_type_decimal(&ta, 10, 0), i64));
	/* nested types never */
	cr_assert_not(dl_type_widening_allowed(lk_type_array(&ta, i32, true),
										   lk_type_array(&ta, i64, true)));
	cr_assert_str_eq(dl_type_json_name(&ta, lk_type_decimal(&ta, 12, 3)), "decimal(12,3)");
	cr_assert_str_eq(dl_type_json_name(&ta, i32), "integer");
	cr_assert_str_eq(dl_type_json_name(&ta, ntz), "timestamp_ntz");
	cr_assert_null(dl_type_json_name(&ta, lk_type_array(&ta, i32, true)));
}

static char *
strings_text(const dl_strings *l)
{
	static char buf[512];
	buf[0] = '\0';
	for (int i = 0; i < l->n; i++) {
		strcat(buf, i ? "," : "");
		strcat(buf, l->items[i]);
	}
	return buf;
}

Test(dlevolve, protocol_feature_upgrades)
{
	dl_protocol p = {.min_reader_version = 1, .min_writer_version = 2}, o;
	bool ch;
	dl_protocol_add_feature(&p, "columnMapping", true, &ta, &o, &ch);
	cr_assert(ch);
	cr_assert_eq(o.min_reader_version, 3);
	cr_assert_eq(o.min_writer_version, 7);
	cr_assert(o.has_reader_features && o.has_writer_features);
	cr_assert_str_eq(strings_text(&o.reader_features), "columnMapping");
	cr_assert_str_eq(strings_text(&o.writer_features), "appendOnly,invariants,columnMapping");

	/* (1,7) appendOnly (a history table) + typeWidening */
	const char *w1[] = {"appendOnly"};
	dl_protocol h = {.min_reader_version = 1, .min_writer_version = 7,
					 .has_writer_features = true, .writer_features = {w1, 1}};
	dl_protocol_add_feature(&h, "typeWidening", true, &ta, &o, &ch);
	cr_assert(ch);
	cr_assert_eq(o.min_reader_version, 3);
	cr_assert_str_eq(strings_text(&o.reader_features), "typeWidening");
	cr_assert_str_eq(strings_text(&o.writer_features), "appendOnly,typeWidening");
	/* then columnMapping on top: both lists grow */
	dl_protocol o2;
	dl_protocol_add_feature(&o, "columnMapping", true, &ta, &o2, &ch);
	cr_assert(ch);
	cr_assert_str_eq(strings_text(&o2.reader_features), "typeWidening,columnMapping");
	cr_assert_str_eq(strings_text(&o2.writer_features),
					 "appendOnly,typeWidening,columnMapping");
	/* already there: unchanged */
	dl_protocol o3;
	dl_protocol_add_feature(&o2, "columnMapping", true, &ta, &o3, &ch);
	cr_assert_not(ch);
	cr_assert_eq(o3.reader_features.n, 2);

	/* legacy reader 2 (column mapping) on writer 5 */
	dl_protocol l = {.min_reader_version = 2, .min_writer_version = 5};
	dl_protocol_add_feature(&l, "deletionVectors", true, &ta, &o, &ch);
	cr_assert_str_eq(strings_text(&o.reader_features), "columnMapping,deletionVectors");
	cr_assert_str_eq(strings_text(&o.writer_features),
					 "appendOnly,invariants,checkConstraints,changeDataFeed,"
					 "generatedColumns,columnMapping,deletionVectors");
	/* a writer-only feature leaves the reader alone */
	dl_protocol_add_feature(&p, "changeDataFeed", false, &ta, &o, &ch);
	cr_assert(ch);
	cr_assert_eq(o.min_reader_version, 1);
	cr_assert_eq(o.min_writer_version, 7);
	cr_assert_not(o.has_reader_features);
	cr_assert_str_eq(strings_text(&o.writer_features), "appendOnly,invariants,changeDataFeed");
}

Test(dlevolve, metadata_json_set)
{
	lk_error err;
	const char *m = dl_metadata_json_set(&ta, "{\"a\":1,\"comment\":\"x\"}", "b", "[1,2]",
										 &err);
	cr_assert_str_eq(m, "{\"a\":1,\"comment\":\"x\",\"b\":[1,2]}");
	m = dl_metadata_json_set(&ta, m, "a", "\"y\"", &err);
	cr_assert_str_eq(m, "{\"a\":\"y\",\"comment\":\"x\",\"b\":[1,2]}");
	cr_assert_null(dl_metadata_json_set(&ta, "[1]", "a", "1", &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert_null(dl_metadata_json_set(&ta, "{}", "a", "nope", &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
}

/* ---- dlevolve: whole tables ------------------------------------------------------ */

/* v1 rows: id int, f float, d decimal(10,2), s string */
static void
fill_v1(lk_batch *b, int from)
{
	char buf[32];
	for (int id = from; id < from + 3; id++) {
		lk_column_append_i32(&b->cols[0], id);
		float f = (float) id + 0.1f;
		lk_column_append_fixed(&b->cols[1], &f);
		lk_column_append_i128(&b->cols[2], (lk_int128) id * 100 + 25);
		snprintf(buf, sizeof(buf), "s%d", id);
		str_append(&b->cols[3], id == from + 1 ? NULL : buf);
	}
}

/* v2 rows after widening + an added column n: id long, f double,
 * d decimal(12,3), s string, n long */
static void
fill_v2(lk_batch *b, int from)
{
	char buf[32];
	for (int id = from; id < from + 2; id++) {
		lk_column_append_i64(&b->cols[0], (int64_t) id << 33);
		lk_column_append_f64(&b->cols[1], id + 0.25);
		lk_column_append_i128(&b->cols[2], (lk_int128) id * 1000 + 125);
		snprintf(buf, sizeof(buf), "t%d", id);
		str_append(&b->cols[3], buf);
		lk_column_append_i64(&b->cols[4], id * 7);
	}
}

/* v3 after renaming s → label and dropping f: id, d, label, n (4 rows) */
static void
fill_v3(lk_batch *b, int from)
{
	for (int id = from; id < from + 4; id++) {
		lk_column_append_i64(&b->cols[0], id);
		lk_column_append_i128(&b->cols[1], (lk_int128) id * 1000);
		str_append(&b->cols[2], "u");
		if (id % 2)
			lk_column_append_null(&b->cols[3]);
		else
			lk_column_append_i64(&b->cols[3], -id);
	}
}

/* Physical column names of data file `file` (index in the latest
 * snapshot's sorted file list). */
static char *
file_columns(st_store *st, int file)
{
	dl_snapshot *s = snap(st);
	cr_assert_lt((size_t) file, s->nfiles);
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, "t");
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "/%s", s->files[file].path);
	pq_input in;
	lk_error err;
	cr_assert(pq_input_open_file(&in, path, &err), "%s", errs(&err));
	pq_reader *r = pq_reader_open(&in, &err);
	cr_assert_not_null(r, "%s", errs(&err));
	const lk_type *fs = pq_reader_schema(r);
	static char buf[1024];
	buf[0] = '\0';
	for (int i = 0; i < fs->nchildren; i++) {
		strcat(buf, i ? "," : "");
		strncat(buf, fs->children[i].name, 60);
	}
	pq_reader_free(r);
	dl_snapshot_free(s);
	return buf;
}

/* Index (in the sorted file list) of the file with the given row count. */
static int
file_with_rows(st_store *st, int64_t rows)
{
	dl_snapshot *s = snap(st);
	int found = -1;
	for (size_t i = 0; i < s->nfiles; i++) {
		const char *p = s->files[i].add.stats;
		char want[64];
		snprintf(want, sizeof(want), "\"numRecords\":%" PRId64 ",", rows);
		if (p && strstr(p, want))
			found = (int) i;
	}
	dl_snapshot_free(s);
	cr_assert_geq(found, 0);
	return found;
}

/* dl_rows_fn: the batch's column types (first call) and rows as text. */
static bool
read_rows(void *ctx, const lk_batch *b, lk_error *err)
{
	lk_buf *out = ctx;
	if (!out->len) {
		for (int c = 0; c < b->ncols; c++) {
			lk_buf_append_str(out, c ? "|" : "");
			lk_buf_append_str(out, dl_type_json_name(&ta, b->cols[c].type));
		}
		lk_buf_append_str(out, "\n");
	}
	for (int64_t r = 0; r < b->nrows; r++) {
		for (int c = 0; c < b->ncols; c++) {
			if (c)
				lk_buf_append_str(out, "|");
			value_text(&b->cols[c], r, out);
		}
		lk_buf_append_str(out, "\n");
	}
	return true;
}

Test(dlevolve, widen_add_rename_drop_then_scan)
{
	st_store st;
	lk_error err;
	char root[512];
	snprintf(root, sizeof(root), "%s/t", tmpdir);
	cr_assert(st_store_open(&st, root, 0, &err), "%s", errs(&err));
	lk_type *t = lk_type_struct(&ta, 4);
	t->children[0] = fld("id", lk_type_new(&ta, LK_T_INT));
	t->children[1] = fld("f", lk_type_new(&ta, LK_T_FLOAT));
	t->children[2] = fld("d", lk_type_decimal(&ta, 10, 2));
	t->children[3] = fld("s", lk_type_new(&ta, LK_T_STRING));
	dl_table_options o;
	dl_table_options_init(&o);
	o.deletion_vectors = true;
	cr_assert(dl_table_create(&st, t, &o, &err), "%s", errs(&err));
	write_rows(&st, fill_v1, 1);

	/* widen every column that can be, and add n */
	dl_schema_change w[] = {
		{.kind = DL_SC_WIDEN, .column = "id", .type = lk_type_new(&ta, LK_T_LONG)},
		{.kind = DL_SC_WIDEN, .column = "F", .type = lk_type_new(&ta, LK_T_DOUBLE)},
		{.kind = DL_SC_WIDEN, .column = "d", .type = lk_type_decimal(&ta, 12, 3)},
		{.kind = DL_SC_ADD, .name = "n", .type = lk_type_new(&ta, LK_T_LONG), .position = -1},
	};
	evolve(&st, w, 4);
	dl_snapshot *s = snap(&st);
	cr_assert_eq(s->protocol.min_reader_version, 3);
	cr_assert_str_eq(strings_text(&s->protocol.reader_features), "deletionVectors,typeWidening");
	cr_assert_str_eq(dl_snapshot_config(s, "delta.enableTypeWidening"), "true");
	cr_assert_null(dl_snapshot_config(s, "delta.columnMapping.mode"));
	cr_assert_str_eq(s->schema.info->children[0].metadata,
					 "{\"delta.typeChanges\":[{\"fromType\":\"integer\",\"toType\":\"long\"}]}");
	cr_assert_str_eq(s->schema.info->children[2].metadata,
					 "{\"delta.typeChanges\":[{\"fromType\":\"decimal(10,2)\","
					 "\"toType\":\"decimal(12,3)\"}]}");
	cr_assert_str_eq(s->schema.info->children[3].metadata, "{}");
	dl_snapshot_free(s);
	write_rows(&st, fill_v2, 10);

	/* the old narrow file reads as the wide types; n null there */
	char *txt = scan_text(&st);
	cr_assert_str_eq(txt,
					 "id:long,f:double,d:decimal(12,3),s:string,n:long\n"
					 "1|d1.1000000238418579|1.250|s1|-\n"
					 "2|d2.0999999046325684|2.250|-|-\n"
					 "3|d3.0999999046325684|3.250|s3|-\n"
					 "85899345920|d10.25|10.125|t10|70\n"
					 "94489280512|d11.25|11.125|t11|77\n");
	free(txt);

	/* rename s → label and drop f: column mapping is turned on */
	dl_schema_change r[] = {
		{.kind = DL_SC_RENAME, .column = "s", .name = "label"},
		{.kind = DL_SC_DROP, .column = "f"},
	};
	evolve(&st, r, 2);
	s = snap(&st);
	cr_assert_str_eq(dl_snapshot_config(s, "delta.columnMapping.mode"), "name");
	cr_assert_str_eq(dl_snapshot_config(s, "delta.columnMapping.maxColumnId"), "5");
	cr_assert_eq(s->column_mapping, DL_CM_NAME);
	cr_assert_str_eq(strings_text(&s->protocol.reader_features),
					 "deletionVectors,typeWidening,columnMapping");
	cr_assert(strstr(strings_text(&s->protocol.writer_features), "columnMapping"));
	cr_assert_eq(s->schema.type->nchildren, 4);
	cr_assert_str_eq(s->schema.type->children[2].name, "label");
	cr_assert_str_eq(s->schema.info->children[2].physical_name, "s");
	cr_assert_eq(s->schema.info->children[0].id, 1);
	cr_assert_str_eq(s->schema.info->children[0].physical_name, "id");
	/* the widening history stays */
	cr_assert(strstr(s->schema.info->children[0].metadata, "delta.typeChanges"));
	cr_assert_str_eq(s->schema.info->children[3].physical_name, "n");
	cr_assert_eq(s->schema.info->children[3].id, 5);
	dl_snapshot_free(s);
	write_rows(&st, fill_v3, 20);
	txt = scan_text(&st);
	cr_assert_str_eq(txt,
					 "id:long,d:decimal(12,3),label:string,n:long\n"
					 "1|1.250|s1|-\n"
					 "20|20.000|u|-20\n"
					 "21|21.000|u|-\n"
					 "22|22.000|u|-22\n"
					 "23|23.000|u|-\n"
					 "2|2.250|-|-\n"
					 "3|3.250|s3|-\n"
					 "85899345920|10.125|t10|70\n"
					 "94489280512|11.125|t11|77\n");
	free(txt);
	/* the new file is written with the physical names (f is gone) */
	cr_assert_str_eq(file_columns(&st, file_with_rows(&st, 4)), "id,d,s,n");
	cr_assert_str_eq(file_columns(&st, file_with_rows(&st, 2)), "id,f,d,s,n");

	/* a column added under column mapping gets a fresh id and a uuid name;
	 * a new column may reuse the logical name of a dropped one */
	dl_schema_change a2[] = {
		{.kind = DL_SC_ADD, .name = "f", .type = lk_type_new(&ta, LK_T_STRING), .position = 1},
	};
	evolve(&st, a2, 1);
	s = snap(&st);
	cr_assert_str_eq(s->schema.type->children[1].name, "f");
	cr_assert_eq(s->schema.info->children[1].id, 6);
	cr_assert_eq(strncmp(s->schema.info->children[1].physical_name, "col-", 4), 0);
	cr_assert_eq(strlen(s->schema.info->children[1].physical_name), 40);
	cr_assert_str_eq(dl_snapshot_config(s, "delta.columnMapping.maxColumnId"), "6");
	dl_snapshot_free(s);
	txt = scan_text(&st);
	/* the dropped f's data (physical "f") is not read back as the new f */
	cr_assert(strstr(txt, "1|-|1.250|s1|-\n"), "%s", txt);
	free(txt);

	/* dl_data_file_read (what mirror mode reads 'u' values with) reads the
	 * first, narrow file in the table's current layout */
	s = snap(&st);
	dl_layout l;
	cr_assert(dl_layout_make(&s->schema, s->column_mapping, &s->metadata.partition_columns,
							 &ta, &l, &err), "%s", errs(&err));
	int fi = file_with_rows(&st, 3);
	lk_buf got = LK_BUF_INIT;
	cr_assert(dl_data_file_read(&st, &l, s->files[fi].path, NULL, NULL, read_rows, &got, &err),
			  "%s", errs(&err));
	lk_buf_cstr(&got);
	cr_assert_str_eq((const char *) got.data,
					 "long|string|decimal(12,3)|string|long\n"
					 "1|-|1.250|s1|-\n2|-|2.250|-|-\n3|-|3.250|s3|-\n");
	lk_buf_free(&got);
	dl_snapshot_free(s);
	st_store_close(&st);
}

Test(dlevolve, refusals)
{
	st_store st;
	lk_error err;
	char root[512];
	snprintf(root, sizeof(root), "%s/t", tmpdir);
	cr_assert(st_store_open(&st, root, 0, &err), "%s", errs(&err));
	lk_type *t = lk_type_struct(&ta, 2);
	t->children[0] = fld("id", lk_type_new(&ta, LK_T_INT));
	t->children[1] = fld("p", lk_type_new(&ta, LK_T_STRING));
	dl_table_options o;
	dl_table_options_init(&o);
	const char *parts[] = {"p"};
	o.partition_columns = parts;
	o.npartition_columns = 1;
	cr_assert(dl_table_create(&st, t, &o, &err), "%s", errs(&err));
	dl_snapshot *s = snap(&st);
	dl_evolution ev;
	struct {
		dl_schema_change ch;
		lk_error_code code;
		const char *msg;
	} cases[] = {
		{{.kind = DL_SC_WIDEN, .column = "id", .type = lk_type_new(&ta, LK_T_STRING)},
		 LK_ERR_UNSUPPORTED, "changing the type from integer to string is not a type widening"},
		{{.kind = DL_SC_WIDEN, .column = "id", .type = lk_type_new(&ta, LK_T_SHORT)},
		 LK_ERR_UNSUPPORTED, "from integer to short"},
		{{.kind = DL_SC_DROP, .column = "p"}, LK_ERR_INVALID, "partition column"},
		{{.kind = DL_SC_DROP, .column = "nope"}, LK_ERR_INVALID, "no such column"},
		{{.kind = DL_SC_ADD, .name = "ID", .type = lk_type_new(&ta, LK_T_INT)},
		 LK_ERR_INVALID, "already has a column named \"ID\""},
		{{.kind = DL_SC_RENAME, .column = "id", .name = "P"}, LK_ERR_INVALID,
		 "already has a column named"},
		{{.kind = DL_SC_ADD, .name = "x", .type = lk_type_new(&ta, LK_T_TIME)},
		 LK_ERR_UNSUPPORTED, "no Delta equivalent"},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		lk_error_clear(&err);
		cr_assert_not(dl_evolve_schema(&s->protocol, &s->metadata, &cases[k].ch, 1, &ta, &ev,
									   &err), "case %zu", k);
		cr_assert_eq(err.code, cases[k].code, "case %zu: %s", k, errs(&err));
		cr_assert(strstr(err.msg, cases[k].msg), "case %zu: %s", k, errs(&err));
	}
	/* renaming a partition column renames it in partitionColumns too; a
	 * case-only rename of the column itself is fine */
	dl_schema_change ok[] = {
		{.kind = DL_SC_RENAME, .column = "p", .name = "part"},
		{.kind = DL_SC_RENAME, .column = "id", .name = "ID"},
	};
	cr_assert(dl_evolve_schema(&s->protocol, &s->metadata, ok, 2, &ta, &ev, &err), "%s",
			  errs(&err));
	cr_assert_eq(ev.metadata.partition_columns.n, 1);
	cr_assert_str_eq(ev.metadata.partition_columns.items[0], "part");
	cr_assert(ev.column_mapping_enabled && ev.protocol_changed);
	cr_assert_eq(ev.protocol.min_reader_version, 3);
	cr_assert_str_eq(ev.schema.type->children[0].name, "ID");
	cr_assert_str_eq(ev.schema.info->children[1].physical_name, "p");
	dl_snapshot_free(s);
	st_store_close(&st);
}

/* ---- plan: old columns + Relation + catalog → plan ------------------------------- */

#include "pg/pgtypes.h"
#include "sync/evolve.h"

TestSuite(plan, .init = setup, .fini = teardown);

static sy_evolve_old
oldc(const char *name, uint32_t oid, int32_t typmod, int attnum, bool key)
{
	sy_evolve_old o = {name, oid, typmod, attnum, pgt_map_oid(&ta, oid, typmod, 0)->type, key};
	return o;
}

static sy_evolve_new
newc(const char *name, uint32_t oid, int32_t typmod, bool key)
{
	sy_evolve_new n = {name, oid, typmod, key, pgt_map_oid(&ta, oid, typmod, 0)->type, true};
	return n;
}

/* numeric typmod of (p, s) */
static int32_t
nummod(int p, int s)
{
	return ((p << 16) | s) + 4;
}

static sy_evolve_attr
att(int attnum, const char *name, bool dropped)
{
	sy_evolve_attr a = {.attnum = attnum, .name = name, .dropped = dropped};
	return a;
}

static void
plan_ok(const sy_evolve_old *o, int no, const sy_evolve_new *n, int nn,
		const sy_evolve_catalog *cat, bool mirror, sy_evolve_plan *p)
{
	lk_error err;
	lk_error_clear(&err);
	cr_assert(sy_evolve_plan_make(o, no, n, nn, cat, mirror, &ta, p, &err), "%s", errs(&err));
}

static const char *
plan_err(const sy_evolve_old *o, int no, const sy_evolve_new *n, int nn,
		 const sy_evolve_catalog *cat, bool mirror)
{
	static lk_error err;
	sy_evolve_plan p;
	lk_error_clear(&err);
	cr_assert_not(sy_evolve_plan_make(o, no, n, nn, cat, mirror, &ta, &p, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED, "%s", errs(&err));
	return errs(&err);
}

Test(plan, unchanged_added_dropped_without_catalog)
{
	sy_evolve_old o[] = {oldc("id", PGT_OID_INT4, -1, 1, true),
						 oldc("a", PGT_OID_TEXT, -1, 2, false),
						 oldc("b", PGT_OID_INT8, -1, 3, false)};
	sy_evolve_new same[] = {newc("id", PGT_OID_INT4, -1, true), newc("a", PGT_OID_TEXT, -1, false),
							newc("b", PGT_OID_INT8, -1, false)};
	sy_evolve_plan p;
	plan_ok(o, 3, same, 3, NULL, false, &p);
	cr_assert_not(p.changed);
	cr_assert_eq(p.ndropped, 0);
	for (int j = 0; j < 3; j++) {
		cr_assert_eq(p.cols[j].old, j);
		cr_assert_not(p.cols[j].renamed || p.cols[j].retyped);
	}
	/* b dropped, c added (no catalog: history takes it as drop + add) */
	sy_evolve_new n[] = {newc("id", PGT_OID_INT4, -1, true), newc("a", PGT_OID_TEXT, -1, false),
						 newc("c", PGT_OID_DATE, -1, false)};
	plan_ok(o, 3, n, 3, NULL, false, &p);
	cr_assert(p.changed);
	cr_assert_eq(p.ndropped, 1);
	cr_assert_eq(p.dropped[0], 2);
	cr_assert_eq(p.cols[2].old, -1);
	cr_assert_eq(p.cols[2].fill, SY_FILL_NULL);
	cr_assert_eq(p.cols[2].attnum, 0);
	/* mirror cannot guess without the catalog */
	cr_assert(strstr(plan_err(o, 3, n, 3, NULL, true),
					 "column \"b\" vanished and \"c\" appeared: without access to the catalog"));
	/* a plain add in mirror mode without catalog: the default is unknown */
	sy_evolve_new n2[] = {newc("id", PGT_OID_INT4, -1, true), newc("a", PGT_OID_TEXT, -1, false),
						  newc("b", PGT_OID_INT8, -1, false), newc("d", PGT_OID_INT4, -1, false)};
	plan_ok(o, 3, n2, 4, NULL, true, &p);
	cr_assert_eq(p.cols[3].old, -1);
	cr_assert_eq(p.cols[3].fill, SY_FILL_UNKNOWN);
	cr_assert_eq(p.ndropped, 0);
}

Test(plan, rename_versus_drop_and_add_by_attnum)
{
	sy_evolve_old o[] = {oldc("id", PGT_OID_INT4, -1, 1, true),
						 oldc("a", PGT_OID_TEXT, -1, 2, false),
						 oldc("b", PGT_OID_INT8, -1, 3, false)};
	sy_evolve_new n[] = {newc("id", PGT_OID_INT4, -1, true), newc("x", PGT_OID_TEXT, -1, false),
						 newc("b", PGT_OID_INT8, -1, false)};
	sy_evolve_plan p;
	/* attnum 2 is now called x: a rename */
	sy_evolve_attr ren[] = {att(1, "id", false), att(2, "x", false), att(3, "b", false)};
	sy_evolve_catalog cat = {true, 3, ren};
	plan_ok(o, 3, n, 3, &cat, true, &p);
	cr_assert(p.changed);
	cr_assert_eq(p.ndropped, 0);
	cr_assert_eq(p.cols[1].old, 1);
	cr_assert(p.cols[1].renamed);
	cr_assert_eq(p.cols[1].attnum, 2);
	cr_assert_not(p.cols[2].renamed);
	/* attnum 2 dropped, x is attnum 4: drop + add */
	sy_evolve_attr da[] = {att(1, "id", false), att(2, "........pg.dropped.2........", true),
						   att(3, "b", false), att(4, "x", false)};
	sy_evolve_catalog cat2 = {true, 4, da};
	plan_ok(o, 3, n, 3, &cat2, true, &p);
	cr_assert_eq(p.ndropped, 1);
	cr_assert_eq(p.dropped[0], 1);
	cr_assert_eq(p.cols[1].old, -1);
	cr_assert_eq(p.cols[1].attnum, 4);
	cr_assert_eq(p.cols[1].fill, SY_FILL_NULL);
	/* the catalog moved on: attnum 2 renamed again to y, x unknown: still
	 * the same column */
	sy_evolve_attr again[] = {att(1, "id", false), att(2, "y", false), att(3, "b", false)};
	sy_evolve_catalog cat3 = {true, 3, again};
	plan_ok(o, 3, n, 3, &cat3, true, &p);
	cr_assert_eq(p.ndropped, 0);
	cr_assert_eq(p.cols[1].old, 1);
	cr_assert(p.cols[1].renamed);
	/* swapped names: a ↔ b by attnum */
	sy_evolve_old o2[] = {oldc("id", PGT_OID_INT4, -1, 1, true),
						  oldc("a", PGT_OID_TEXT, -1, 2, false),
						  oldc("b", PGT_OID_TEXT, -1, 3, false)};
	sy_evolve_new sw[] = {newc("id", PGT_OID_INT4, -1, true), newc("b", PGT_OID_TEXT, -1, false),
						  newc("a", PGT_OID_TEXT, -1, false)};
	sy_evolve_attr swc[] = {att(1, "id", false), att(2, "b", false), att(3, "a", false)};
	sy_evolve_catalog cat4 = {true, 3, swc};
	plan_ok(o2, 3, sw, 3, &cat4, false, &p);
	cr_assert_eq(p.cols[1].old, 1);
	cr_assert_eq(p.cols[2].old, 2);
	cr_assert(p.cols[1].renamed && p.cols[2].renamed);
	/* drop a, then add a again (a new attnum under the old name) */
	sy_evolve_new re[] = {newc("id", PGT_OID_INT4, -1, true), newc("b", PGT_OID_TEXT, -1, false),
						  newc("a", PGT_OID_TEXT, -1, false)};
	sy_evolve_attr rec[] = {att(1, "id", false), att(2, "........pg.dropped.2........", true),
							att(3, "b", false), att(4, "a", false)};
	sy_evolve_catalog cat5 = {true, 4, rec};
	plan_ok(o2, 3, re, 3, &cat5, false, &p);
	cr_assert_eq(p.ndropped, 1);
	cr_assert_eq(p.dropped[0], 1);
	cr_assert_eq(p.cols[1].old, 2);
	cr_assert_eq(p.cols[2].old, -1);
	cr_assert_eq(p.cols[2].attnum, 4);
	/* ambiguous: two columns renamed again, one new name */
	sy_evolve_new amb[] = {newc("id", PGT_OID_INT4, -1, true), newc("p", PGT_OID_TEXT, -1, false)};
	sy_evolve_attr ambc[] = {att(1, "id", false), att(2, "q", false), att(3, "r", false)};
	sy_evolve_catalog cat6 = {true, 3, ambc};
	cr_assert(strstr(plan_err(o2, 3, amb, 2, &cat6, false),
					 "cannot tell a rename from a drop and an add"));
}

Test(plan, type_changes)
{
	sy_evolve_old o[] = {oldc("s", PGT_OID_INT2, -1, 1, false),
						 oldc("i", PGT_OID_INT4, -1, 2, false),
						 oldc("f", PGT_OID_FLOAT4, -1, 3, false),
						 oldc("n", PGT_OID_NUMERIC, nummod(10, 2), 4, false),
						 oldc("v", PGT_OID_VARCHAR, 10 + 4, 5, false),
						 oldc("t", PGT_OID_TIMESTAMPTZ, 3, 6, false)};
	sy_evolve_new n[] = {newc("s", PGT_OID_INT4, -1, false),
						 newc("i", PGT_OID_INT8, -1, false),
						 newc("f", PGT_OID_FLOAT8, -1, false),
						 newc("n", PGT_OID_NUMERIC, nummod(12, 2), false),
						 newc("v", PGT_OID_VARCHAR, 50 + 4, false),
						 newc("t", PGT_OID_TIMESTAMPTZ, 6, false)};
	sy_evolve_plan p;
	plan_ok(o, 6, n, 6, NULL, false, &p);
	cr_assert(p.changed);
	bool widened[] = {true, true, true, true, false, false};
	for (int j = 0; j < 6; j++) {
		cr_assert(p.cols[j].retyped, "column %d", j);
		cr_assert_eq(p.cols[j].widened, widened[j], "column %d", j);
	}
	/* more widenings that are fine */
	struct {
		sy_evolve_old o;
		sy_evolve_new n;
		bool widen;
	} ok[] = {
		{oldc("x", PGT_OID_INT2, -1, 1, false), newc("x", PGT_OID_INT8, -1, false), true},
		{oldc("x", PGT_OID_NUMERIC, nummod(10, 2), 1, false),
		 newc("x", PGT_OID_NUMERIC, nummod(11, 3), false), true},
		{oldc("x", PGT_OID_NUMERIC, nummod(30, 2), 1, false),
		 newc("x", PGT_OID_NUMERIC, nummod(38, 2), false), true},
		{oldc("x", PGT_OID_VARCHAR, 14, 1, false), newc("x", PGT_OID_TEXT, -1, false), false},
		{oldc("x", PGT_OID_VARCHAR, 14, 1, false), newc("x", PGT_OID_VARCHAR, -1, false), false},
		{oldc("x", PGT_OID_TEXT, -1, 1, false), newc("x", PGT_OID_VARCHAR, 104, false), false},
		{oldc("x", PGT_OID_TIMESTAMP, 2, 1, false), newc("x", PGT_OID_TIMESTAMP, -1, false), false},
		/* numeric beyond 38 digits maps to string: the scale must stay */
		{oldc("x", PGT_OID_NUMERIC, nummod(40, 2), 1, false),
		 newc("x", PGT_OID_NUMERIC, nummod(45, 2), false), false},
		{oldc("x", PGT_OID_NUMERIC, -1, 1, false), newc("x", PGT_OID_NUMERIC, -1, false), false},
	};
	for (size_t k = 0; k < sizeof(ok) / sizeof(ok[0]); k++) {
		plan_ok(&ok[k].o, 1, &ok[k].n, 1, NULL, false, &p);
		cr_assert_eq(p.cols[0].widened, ok[k].widen, "case %zu", k);
	}
	struct {
		sy_evolve_old o;
		sy_evolve_new n;
		const char *msg;
	} bad[] = {
		{oldc("x", PGT_OID_INT4, -1, 1, false), newc("x", PGT_OID_TEXT, -1, false),
		 "the type of column \"x\" changed from integer to text, which is not a compatible "
		 "widening"},
		{oldc("x", PGT_OID_INT8, -1, 1, false), newc("x", PGT_OID_INT4, -1, false),
		 "from bigint to integer, which is not a compatible widening"},
		{oldc("x", PGT_OID_NUMERIC, nummod(10, 2), 1, false), newc("x", PGT_OID_INT4, -1, false),
		 "from numeric(10,2) to integer"},
		{oldc("x", PGT_OID_NUMERIC, nummod(10, 2), 1, false),
		 newc("x", PGT_OID_NUMERIC, nummod(10, 3), false), "numeric(10,2) to numeric(10,3)"},
		{oldc("x", PGT_OID_NUMERIC, nummod(10, 2), 1, false), newc("x", PGT_OID_NUMERIC, -1, false),
		 "from numeric(10,2) to numeric,"},
		{oldc("x", PGT_OID_FLOAT8, -1, 1, false), newc("x", PGT_OID_FLOAT4, -1, false),
		 "from double precision to real"},
		{oldc("x", PGT_OID_BPCHAR, 9, 1, false), newc("x", PGT_OID_BPCHAR, 14, false),
		 "from char(5) to char(10), which may change the values"},
		{oldc("x", PGT_OID_INT4, -1, 1, false), newc("x", PGT_OID_FLOAT8, -1, false),
		 "from integer to double precision"},
		{oldc("x", PGT_OID_TIMESTAMP, 6, 1, false), newc("x", PGT_OID_TIMESTAMP, 3, false),
		 "from timestamp(6) to timestamp(3), which may change"},
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		const char *m = plan_err(&bad[k].o, 1, &bad[k].n, 1, NULL, false);
		cr_assert(strstr(m, bad[k].msg), "case %zu: %s", k, m);
		cr_assert(strstr(m, "the table is stopped"), "case %zu: %s", k, m);
		cr_assert(strstr(m, "column \"x\""), "case %zu: %s", k, m);
	}
	/* an enum (user type) changed to another type */
	sy_evolve_old e = oldc("x", 70000, -1, 1, false);
	sy_evolve_new en = newc("x", 70001, -1, false);
	en.plain_type = false;
	cr_assert(strstr(plan_err(&e, 1, &en, 1, NULL, false),
					 "changed from type 70000 to type 70001: a type change of an enum, domain"));
	/* an array column's element type */
	sy_evolve_old ar = oldc("x", PGT_OID_INT4_ARRAY, -1, 1, false);
	sy_evolve_new arn = newc("x", PGT_OID_INT8_ARRAY, -1, false);
	arn.plain_type = false;
	cr_assert(strstr(plan_err(&ar, 1, &arn, 1, NULL, false), "enum, domain, array"));
}

Test(plan, mirror_keys_and_defaults)
{
	sy_evolve_old o[] = {oldc("id", PGT_OID_INT4, -1, 1, true),
						 oldc("a", PGT_OID_TEXT, -1, 2, false)};
	sy_evolve_plan p;
	/* the key widened: allowed, the index must be rebuilt */
	sy_evolve_new w[] = {newc("id", PGT_OID_INT8, -1, true), newc("a", PGT_OID_TEXT, -1, false)};
	plan_ok(o, 2, w, 2, NULL, true, &p);
	cr_assert(p.key_retyped);
	plan_ok(o, 2, w, 2, NULL, false, &p);
	cr_assert_not(p.key_retyped);
	/* the key moved to another column */
	sy_evolve_new k[] = {newc("id", PGT_OID_INT4, -1, false), newc("a", PGT_OID_TEXT, -1, true)};
	cr_assert(strstr(plan_err(o, 2, k, 2, NULL, true), "column \"id\" left the key"));
	plan_ok(o, 2, k, 2, NULL, false, &p);   /* history does not care */
	/* a key column dropped */
	sy_evolve_new d[] = {newc("a", PGT_OID_TEXT, -1, true)};
	sy_evolve_attr dc[] = {att(1, "........pg.dropped.1........", true), att(2, "a", false)};
	sy_evolve_catalog dcat = {true, 2, dc};
	cr_assert(strstr(plan_err(o, 2, d, 1, &dcat, true), "joined the key"));
	/* defaults of added columns, from the catalog */
	sy_evolve_new n[] = {newc("id", PGT_OID_INT4, -1, true), newc("a", PGT_OID_TEXT, -1, false),
						 newc("b", PGT_OID_NUMERIC, nummod(10, 2), false),
						 newc("c", PGT_OID_TIMESTAMPTZ, -1, false),
						 newc("e", PGT_OID_INT4, -1, false),
						 newc("g", PGT_OID_TEXT, -1, false)};
	sy_evolve_attr ac[] = {att(1, "id", false), att(2, "a", false), att(3, "b", false),
						   att(4, "c", false), att(5, "e", false), att(6, "g", false)};
	ac[2].has_default = ac[2].has_missing = true;
	ac[2].missing = "3.50";
	ac[3].has_default = true;            /* volatile (or rewritten since) */
	ac[5].has_default = ac[5].has_missing = true;
	ac[5].missing = NULL;                /* DEFAULT NULL::text */
	sy_evolve_catalog cat = {true, 6, ac};
	plan_ok(o, 2, n, 6, &cat, true, &p);
	cr_assert_eq(p.cols[2].fill, SY_FILL_VALUE);
	cr_assert_str_eq(p.cols[2].fill_text, "3.50");
	cr_assert_eq(p.cols[2].attnum, 3);
	cr_assert_eq(p.cols[3].fill, SY_FILL_UNKNOWN);
	cr_assert_eq(p.cols[4].fill, SY_FILL_NULL);
	cr_assert_eq(p.cols[5].fill, SY_FILL_NULL);
	/* history mode: rows before the column keep null */
	plan_ok(o, 2, n, 6, &cat, false, &p);
	cr_assert_eq(p.cols[2].fill, SY_FILL_NULL);
	cr_assert_eq(p.cols[3].fill, SY_FILL_NULL);
	/* a new key column */
	sy_evolve_new nk[] = {newc("id", PGT_OID_INT4, -1, true), newc("a", PGT_OID_TEXT, -1, false),
						  newc("z", PGT_OID_INT4, -1, true)};
	cr_assert(strstr(plan_err(o, 2, nk, 3, NULL, true),
					 "new column \"z\" is part of the key of the mirror table"));
}

Test(plan, missing_value_literals)
{
	lk_error err;
	const char *v;
	cr_assert(sy_evolve_missing_value("{3.50}", &ta, &v, &err));
	cr_assert_str_eq(v, "3.50");
	cr_assert(sy_evolve_missing_value("{\"x,y\\\"z\"}", &ta, &v, &err));
	cr_assert_str_eq(v, "x,y\"z");
	cr_assert(sy_evolve_missing_value("{\"{1,2}\"}", &ta, &v, &err));
	cr_assert_str_eq(v, "{1,2}");
	cr_assert(sy_evolve_missing_value("{\"\"}", &ta, &v, &err));
	cr_assert_str_eq(v, "");
	cr_assert(sy_evolve_missing_value("{NULL}", &ta, &v, &err));
	cr_assert_null(v);
	cr_assert(sy_evolve_missing_value("{\"NULL\"}", &ta, &v, &err));
	cr_assert_str_eq(v, "NULL");
	cr_assert(sy_evolve_missing_value("{2024-01-02 03:04:05+00}", &ta, &v, &err));
	cr_assert_str_eq(v, "2024-01-02 03:04:05+00");
	const char *bad[] = {"", "3", "{}", "{1,2}", "{\"a\"b}", "{\"a\",\"b\"}", "{a\"b}"};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		cr_assert_not(sy_evolve_missing_value(bad[k], &ta, &v, &err), "%s", bad[k]);
		cr_assert_eq(err.code, LK_ERR_CORRUPT);
	}
}

/* ---- rewrite: every live row again, widened, with a filled column ----------------- */

#include "delta/dv.h"

Test(dlevolve, rewrite_live_rows_with_fill)
{
	st_store st;
	lk_error err;
	char root[512];
	snprintf(root, sizeof(root), "%s/t", tmpdir);
	cr_assert(st_store_open(&st, root, 0, &err), "%s", errs(&err));
	lk_type *t = lk_type_struct(&ta, 4);
	t->children[0] = fld("id", lk_type_new(&ta, LK_T_INT));
	t->children[1] = fld("f", lk_type_new(&ta, LK_T_FLOAT));
	t->children[2] = fld("d", lk_type_decimal(&ta, 10, 2));
	t->children[3] = fld("s", lk_type_new(&ta, LK_T_STRING));
	dl_table_options o;
	dl_table_options_init(&o);
	o.deletion_vectors = true;
	o.change_data_feed = true;
	cr_assert(dl_table_create(&st, t, &o, &err), "%s", errs(&err));
	write_rows(&st, fill_v1, 1);
	/* delete the row id 2 with a deletion vector */
	dl_snapshot *s = snap(&st);
	dl_commit *c = dl_commit_begin(&st, s, "DELETE");
	uint64_t row = 1;
	cr_assert(dl_delete_rows(c, &s->files[0].add, &row, 1, &err), "%s", errs(&err));
	cr_assert(dl_commit_run(c, NULL, &err), "%s", errs(&err));
	dl_commit_free(c);
	dl_snapshot_free(s);

	/* widen f, add n (filled with 42) before s, then rewrite */
	s = snap(&st);
	cr_assert_eq(s->nfiles, 1);
	cr_assert(s->files[0].add.has_dv);
	dl_schema_change ch[] = {
		{.kind = DL_SC_WIDEN, .column = "f", .type = lk_type_new(&ta, LK_T_DOUBLE)},
		{.kind = DL_SC_ADD, .name = "n", .type = lk_type_new(&ta, LK_T_LONG), .position = 3},
	};
	dl_evolution ev;
	cr_assert(dl_evolve_schema(&s->protocol, &s->metadata, ch, 2, &ta, &ev, &err), "%s",
			  errs(&err));
	c = dl_commit_begin(&st, s, "ADD COLUMNS");
	cr_assert(dl_evolve_add_actions(c, &ev, &err), "%s", errs(&err));
	lk_column fillc;
	lk_column_init(&fillc, lk_type_new(&ta, LK_T_LONG));
	lk_column_append_i64(&fillc, 42);
	const lk_column *fill[5] = {NULL, NULL, NULL, &fillc, NULL};
	int src[5] = {0, 1, 2, -1, 3};
	int64_t rows = -1;
	cr_assert(sy_evolve_rewrite(c, s, src, fill, &rows, &err), "%s", errs(&err));
	cr_assert_eq(rows, 2);
	/* removes and adds without data change: the change feed sees nothing */
	int nadd = 0, nrem = 0;
	for (size_t i = 0; i < dl_commit_nactions(c); i++) {
		const dl_action *a = dl_commit_action(c, i, NULL);
		if (a->type == DL_ACT_ADD) {
			nadd++;
			cr_assert_not(a->u.add.data_change);
			cr_assert_not(a->u.add.has_dv);
		}
		if (a->type == DL_ACT_REMOVE) {
			nrem++;
			cr_assert_not(a->u.remove.data_change);
		}
	}
	cr_assert_eq(nadd, 1);
	cr_assert_eq(nrem, 1);
	cr_assert(dl_commit_run(c, NULL, &err), "%s", errs(&err));
	dl_commit_free(c);
	lk_column_destroy(&fillc);
	dl_snapshot_free(s);
	char *txt = scan_text(&st);
	cr_assert_str_eq(txt,
					 "id:integer,f:double,d:decimal(10,2),n:long,s:string\n"
					 "1|d1.1000000238418579|1.25|42|s1\n"
					 "3|d3.0999999046325684|3.25|42|s3\n");
	free(txt);
	cr_assert_str_eq(file_columns(&st, 0), "id,f,d,n,s");
	st_store_close(&st);
}

Test(dlevolve, convert_columns)
{
	lk_error err;
	lk_column s16, d64, f32, dd, dec, bad;
	lk_column_init(&s16, lk_type_new(&ta, LK_T_SHORT));
	lk_column_init(&f32, lk_type_new(&ta, LK_T_FLOAT));
	lk_column_init(&dec, lk_type_decimal(&ta, 10, 2));
	int16_t v = -7;
	lk_column_append_fixed(&s16, &v);
	lk_column_append_null(&s16);
	float f = 0.1f;
	lk_column_append_fixed(&f32, &f);
	lk_column_append_i128(&dec, -12345);
	lk_column_init(&d64, lk_type_new(&ta, LK_T_LONG));
	cr_assert(sy_evolve_convert(&d64, &s16, 0, 2, &err), "%s", errs(&err));
	cr_assert_eq(d64.length, 2);
	cr_assert_eq(LK_COL_VALUES(&d64, int64_t)[0], -7);
	cr_assert(lk_column_is_null(&d64, 1));
	lk_column_init(&dd, lk_type_new(&ta, LK_T_DOUBLE));
	cr_assert(sy_evolve_convert(&dd, &f32, 0, 1, &err));
	cr_assert_eq(LK_COL_VALUES(&dd, double)[0], (double) 0.1f);
	lk_column dec2;
	lk_column_init(&dec2, lk_type_decimal(&ta, 14, 5));
	cr_assert(sy_evolve_convert(&dec2, &dec, 0, 1, &err));
	cr_assert(LK_COL_VALUES(&dec2, lk_int128)[0] == -12345000);
	lk_column_init(&bad, lk_type_new(&ta, LK_T_STRING));
	cr_assert_not(sy_evolve_convert(&bad, &dec, 0, 1, &err));
	cr_assert_eq(err.code, LK_ERR_INTERNAL);
	lk_column *all[] = {&s16, &d64, &f32, &dd, &dec, &dec2, &bad};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		lk_column_destroy(all[i]);
}

/* ---- apply: sy_table_set_relation on a real (temporary) table ---------------------- */

#include "sync/table.h"

static pgc_column dcols[3];

static void
dcol(pgc_column *c, int attnum, const char *name, uint32_t oid, bool pk)
{
	memset(c, 0, sizeof(*c));
	c->attnum = attnum;
	c->name = name;
	c->type_oid = c->base_oid = oid;
	c->typmod = c->base_typmod = -1;
	c->type_name = c->base_name = "x";
	c->typtype = c->base_typtype = 'b';
	c->base_category = 'S';
	c->is_pk = pk;
	c->pk_pos = pk ? 1 : 0;
}

/* public.t (id int4 key, v text, n int4) in mode `mode`, streaming. */
static void
open_table(sy_table *t, sy_table_mode mode)
{
	dcol(&dcols[0], 1, "id", PGT_OID_INT4, true);
	dcol(&dcols[1], 2, "v", PGT_OID_TEXT, false);
	dcol(&dcols[2], 3, "n", PGT_OID_INT4, false);
	pgc_table_def d = {.relid = 16400, .ncols = 3, .cols = dcols, .npk = 1};
	pgc_table_info info = {.relid = 16400, .relkind = 'r', .replident = 'd', .has_pk = true,
						   .has_identity = true};
	pgc_table_name nm = {"public", "t"};
	sy_table_config cfg;
	sy_table_config_init(&cfg);
	cfg.mode = mode;
	lk_error err;
	cr_assert(sy_table_init(t, &cfg, "p", tmpdir, &nm, &info, &d, &err), "%s", errs(&err));
	cr_assert(sy_table_open(t, &err), "%s", errs(&err));
	t->state = SY_CATCHUP;
}

typedef struct relspec {
	const char *name;
	uint32_t oid;
	int32_t typmod;
} relspec;

static pgo_relation *
mkrel(const relspec *s, int n)
{
	pgo_relation *r = lk_arena_zalloc(&ta, sizeof(*r));
	r->relid = 16400;
	r->nspname = "public";
	r->relname = "t";
	r->replident = 'd';
	r->ncols = n;
	r->cols = lk_arena_zalloc(&ta, sizeof(pgo_column) * (size_t) n);
	for (int i = 0; i < n; i++) {
		r->cols[i].name = s[i].name;
		r->cols[i].type_oid = s[i].oid;
		r->cols[i].typmod = s[i].typmod;
		r->cols[i].flags = i == 0 ? PGO_COLUMN_KEY : 0;
	}
	return r;
}

/* An insert of n text values (NULL = null). */
static void
insert(sy_table *t, sy_txn *tx, const char *const *vals, int n)
{
	pgo_value *v = lk_arena_zalloc(&ta, sizeof(pgo_value) * (size_t) n);
	for (int i = 0; i < n; i++)
		v[i] = vals[i] ? (pgo_value){.kind = 't', .len = (uint32_t) strlen(vals[i]),
									 .data = (const uint8_t *) vals[i]}
					   : (pgo_value){.kind = 'n'};
	pgo_insert m = {.relid = 16400, .newtup = {n, v}};
	lk_error err;
	cr_assert(sy_table_insert(t, tx, &m, &err), "%s", errs(&err));
}

static sy_txn
begin(sy_table *t, uint64_t lsn)
{
	sy_txn tx = {.commit_lsn = lsn, .end_lsn = lsn + 8,
				 .commit_time_us = INT64_C(1700000000000000), .xid = (int64_t) lsn};
	cr_assert(sy_table_applies(t, lsn));
	sy_table_begin_txn(t);
	return tx;
}

static void
set_rel(sy_table *t, const relspec *s, int n)
{
	lk_error err;
	cr_assert(sy_table_set_relation(t, mkrel(s, n), &err), "%s", errs(&err));
}

static void
commit(sy_table *t)
{
	lk_error err;
	cr_assert(sy_table_commit(t, &err), "%s", errs(&err));
}

/* The rows of the table at dir, source columns and _change_type only. */
static char *
table_text(const char *dir)
{
	st_store st;
	lk_error err;
	cr_assert(st_store_open(&st, dir, 0, &err), "%s", errs(&err));
	char *txt = scan_text(&st);
	st_store_close(&st);
	return txt;
}

Test(plan, history_table_follows_the_source)
{
	sy_table t;
	open_table(&t, SY_TABLE_HISTORY);
	relspec r1[] = {{"id", PGT_OID_INT4, -1}, {"v", PGT_OID_TEXT, -1}, {"n", PGT_OID_INT4, -1}};
	set_rel(&t, r1, 3);
	sy_txn tx = begin(&t, 0x10);
	insert(&t, &tx, (const char *[]) {"1", "a", "10"}, 3);
	commit(&t);

	/* n widened, v gone, w new (no catalog: history keeps v, adds w) */
	tx = begin(&t, 0x20);
	insert(&t, &tx, (const char *[]) {"2", "b", "20"}, 3);     /* pending, old schema */
	sy_table_begin_txn(&t);
	tx = (sy_txn) {.commit_lsn = 0x30, .end_lsn = 0x38, .commit_time_us = 1, .xid = 0x30};
	cr_assert(sy_table_applies(&t, 0x30));
	relspec r2[] = {{"id", PGT_OID_INT4, -1}, {"n", PGT_OID_INT8, -1}, {"w", PGT_OID_TEXT, -1}};
	set_rel(&t, r2, 3);
	cr_assert_eq(t.pending_rows, 0, "finished transactions committed first");
	cr_assert_eq(t.evolutions, 1);
	insert(&t, &tx, (const char *[]) {"3", "5000000000", "w3"}, 3);
	commit(&t);

	/* a change in the middle of a transaction: its earlier row is held
	 * back and converted */
	tx = begin(&t, 0x40);
	insert(&t, &tx, (const char *[]) {"4", "40", "w4"}, 3);
	relspec r3[] = {{"id", PGT_OID_INT4, -1}, {"n", PGT_OID_INT8, -1}, {"w", PGT_OID_TEXT, -1},
					{"x", PGT_OID_NUMERIC, ((12 << 16) | 2) + 4}};
	set_rel(&t, r3, 4);
	cr_assert_eq(t.pending_rows, 1, "the held row is pending again");
	insert(&t, &tx, (const char *[]) {"5", "50", "w5", "1.50"}, 4);
	commit(&t);
	/* varchar-like change (no Delta change) */
	tx = begin(&t, 0x50);
	relspec r4[] = {{"id", PGT_OID_INT4, -1}, {"n", PGT_OID_INT8, -1},
					{"w", PGT_OID_VARCHAR, 14}, {"x", PGT_OID_NUMERIC, ((12 << 16) | 2) + 4}};
	set_rel(&t, r4, 4);
	insert(&t, &tx, (const char *[]) {"6", NULL, "w6", "2.25"}, 4);
	commit(&t);
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/public/t_history", tmpdir);
	sy_table_free(&t);
	char *txt = table_text(dir);
	/* columns: id, v (kept, nulls after the drop), n widened, w and x
	 * added before the history columns; rows sorted as text */
	const char *want =
		"id:integer,v:string,n:long,w:string,x:decimal(12,2),_change_type:string,"
		"_commit_lsn:long,_change_seq:long,_commit_timestamp:timestamp,_xid:long\n";
	cr_assert_eq(strncmp(txt, want, strlen(want)), 0, "%s", txt);
	const char *rows[] = {
		"1|a|10|-|-|insert|16|0|",
		"2|b|20|-|-|insert|32|0|",
		"3|-|5000000000|w3|-|insert|48|0|",
		"4|-|40|w4|-|insert|64|0|",
		"5|-|50|w5|1.50|insert|64|1|",
		"6|-|-|w6|2.25|insert|80|0|",
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		cr_assert(strstr(txt, rows[i]), "row %s missing:\n%s", rows[i], txt);
	free(txt);
}

Test(plan, refusals_stop_the_table_after_committing_the_finished_transactions)
{
	sy_table t;
	open_table(&t, SY_TABLE_MIRROR);
	relspec r1[] = {{"id", PGT_OID_INT4, -1}, {"v", PGT_OID_TEXT, -1}, {"n", PGT_OID_INT4, -1}};
	set_rel(&t, r1, 3);
	sy_txn tx = begin(&t, 0x10);
	insert(&t, &tx, (const char *[]) {"1", "a", "10"}, 3);
	tx = begin(&t, 0x20);
	/* an added column whose default nobody can tell (no catalog) while the
	 * table has rows: refused, the pending transaction committed first */
	relspec r2[] = {{"id", PGT_OID_INT4, -1}, {"v", PGT_OID_TEXT, -1}, {"n", PGT_OID_INT4, -1},
					{"z", PGT_OID_INT4, -1}};
	lk_error err;
	cr_assert_not(sy_table_set_relation(&t, mkrel(r2, 4), &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert(strstr(err.msg, "column \"z\" was added, and without access to the catalog"),
			  "%s", err.msg);
	cr_assert(strstr(err.where, "table \"public.t\""), "%s", err.where);
	cr_assert_eq(t.pending_rows, 0);
	cr_assert_eq(t.version, 0x10);
	/* an incompatible type change names both types */
	relspec r3[] = {{"id", PGT_OID_INT4, -1}, {"v", PGT_OID_TEXT, -1}, {"n", PGT_OID_TEXT, -1}};
	cr_assert_not(sy_table_set_relation(&t, mkrel(r3, 3), &err));
	cr_assert(strstr(err.msg, "the type of column \"n\" changed from integer to text"), "%s",
			  err.msg);
	cr_assert(strstr(err.where, "column \"n\""), "%s", err.where);
	sy_table_free(&t);
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/public/t", tmpdir);
	char *txt = table_text(dir);
	cr_assert_str_eq(txt, "id:integer,v:string,n:integer\n1|a|10\n");
	free(txt);
}

Test(plan, mirror_widen_rename_drop_without_rows_lost)
{
	sy_table t;
	open_table(&t, SY_TABLE_MIRROR);
	relspec r1[] = {{"id", PGT_OID_INT4, -1}, {"v", PGT_OID_TEXT, -1}, {"n", PGT_OID_INT4, -1}};
	set_rel(&t, r1, 3);
	sy_txn tx = begin(&t, 0x10);
	insert(&t, &tx, (const char *[]) {"1", "a", "10"}, 3);
	insert(&t, &tx, (const char *[]) {"2", "b", "20"}, 3);
	commit(&t);
	/* n widened and v dropped: column mapping on, v leaves the schema */
	tx = begin(&t, 0x20);
	relspec r2[] = {{"id", PGT_OID_INT4, -1}, {"n", PGT_OID_INT8, -1}};
	set_rel(&t, r2, 2);
	insert(&t, &tx, (const char *[]) {"3", "30000000000"}, 2);
	commit(&t);
	/* an update through the key after the change */
	tx = begin(&t, 0x30);
	pgo_value nv[2] = {{.kind = 't', .len = 1, .data = (const uint8_t *) "1"},
					   {.kind = 't', .len = 2, .data = (const uint8_t *) "11"}};
	pgo_update u = {.relid = 16400, .newtup = {2, nv}};
	lk_error err;
	cr_assert(sy_table_update(&t, &tx, &u, &err), "%s", errs(&err));
	commit(&t);
	/* the key itself widened: the key index is rebuilt, updates and
	 * deletes still find their rows */
	tx = begin(&t, 0x40);
	relspec r3[] = {{"id", PGT_OID_INT8, -1}, {"n", PGT_OID_INT8, -1}};
	set_rel(&t, r3, 2);
	pgo_value nv2[2] = {{.kind = 't', .len = 1, .data = (const uint8_t *) "2"},
						{.kind = 't', .len = 2, .data = (const uint8_t *) "22"}};
	pgo_update u2 = {.relid = 16400, .newtup = {2, nv2}};
	cr_assert(sy_table_update(&t, &tx, &u2, &err), "%s", errs(&err));
	pgo_value ov[2] = {{.kind = 't', .len = 1, .data = (const uint8_t *) "3"}, {.kind = 'n'}};
	pgo_delete dm = {.relid = 16400, .oldtup = {2, ov}};
	cr_assert(sy_table_delete(&t, &tx, &dm, &err), "%s", errs(&err));
	insert(&t, &tx, (const char *[]) {"9000000000", "9"}, 2);
	commit(&t);
	sy_table_free(&t);
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/public/t", tmpdir);
	char *txt = table_text(dir);
	cr_assert_str_eq(txt, "id:long,n:long\n1|11\n2|22\n9000000000|9\n");
	free(txt);
}

Test(plan, catchup_relation_that_does_not_fit_is_unusable)
{
	sy_table t;
	open_table(&t, SY_TABLE_HISTORY);
	/* not streaming: a Relation needing a Delta change is not applied */
	relspec r2[] = {{"id", PGT_OID_INT4, -1}, {"v", PGT_OID_TEXT, -1}, {"n", PGT_OID_INT8, -1}};
	set_rel(&t, r2, 3);
	cr_assert_eq(t.rel_ncols, -1);
	cr_assert_eq(t.evolutions, 0);
	/* ... and a change decoded with it fails the table */
	sy_txn tx = begin(&t, 0x10);
	pgo_value v[3] = {{.kind = 'n'}, {.kind = 'n'}, {.kind = 'n'}};
	pgo_insert m = {.relid = 16400, .newtup = {3, v}};
	lk_error err;
	cr_assert_not(sy_table_insert(&t, &tx, &m, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	/* while skipping, a change Delta does not record (varchar typmod) is
	 * taken: the mapping stays usable */
	t.state = SY_CATCHUP;
	t.version = 0x100;
	relspec r3[] = {{"id", PGT_OID_INT4, -1}, {"v", PGT_OID_VARCHAR, 24}, {"n", PGT_OID_INT4, -1}};
	set_rel(&t, r3, 3);
	cr_assert_eq(t.rel_ncols, 3);
	cr_assert_eq(t.cols[1].type_oid, PGT_OID_VARCHAR);
	cr_assert_eq(t.cols[1].typmod, 24);
	sy_table_free(&t);
}

Test(plan, history_names_reused_moved_and_reserved)
{
	sy_table t;
	open_table(&t, SY_TABLE_HISTORY);
	relspec r1[] = {{"id", PGT_OID_INT4, -1}, {"v", PGT_OID_TEXT, -1}, {"n", PGT_OID_INT4, -1}};
	set_rel(&t, r1, 3);
	sy_txn tx = begin(&t, 0x10);
	insert(&t, &tx, (const char *[]) {"1", "a", "10"}, 3);
	commit(&t);
	/* v dropped (stays in Delta), then a new v of the same type: the old
	 * Delta column is used again */
	tx = begin(&t, 0x20);
	relspec r2[] = {{"id", PGT_OID_INT4, -1}, {"n", PGT_OID_INT4, -1}};
	set_rel(&t, r2, 2);
	insert(&t, &tx, (const char *[]) {"2", "20"}, 2);
	commit(&t);
	tx = begin(&t, 0x30);
	relspec r3[] = {{"id", PGT_OID_INT4, -1}, {"n", PGT_OID_INT4, -1}, {"v", PGT_OID_TEXT, -1}};
	set_rel(&t, r3, 3);
	insert(&t, &tx, (const char *[]) {"3", "30", "c"}, 3);
	commit(&t);
	/* n dropped, then a new n of another type: the old one moves aside
	 * (in one Relation message only the catalog's attnums could tell this
	 * from a type change) */
	tx = begin(&t, 0x38);
	relspec r4a[] = {{"id", PGT_OID_INT4, -1}, {"v", PGT_OID_TEXT, -1}};
	set_rel(&t, r4a, 2);
	commit(&t);
	tx = begin(&t, 0x40);
	relspec r4[] = {{"id", PGT_OID_INT4, -1}, {"v", PGT_OID_TEXT, -1}, {"n", PGT_OID_DATE, -1}};
	set_rel(&t, r4, 3);
	insert(&t, &tx, (const char *[]) {"4", "d", "2024-01-02"}, 3);
	commit(&t);
	/* a history column name is refused */
	tx = begin(&t, 0x50);
	relspec r5[] = {{"id", PGT_OID_INT4, -1}, {"v", PGT_OID_TEXT, -1}, {"n", PGT_OID_DATE, -1},
					{"_XID", PGT_OID_INT8, -1}};
	lk_error err;
	cr_assert_not(sy_table_set_relation(&t, mkrel(r5, 4), &err));
	cr_assert(strstr(err.msg, "column \"_XID\" has the name of a history column"), "%s",
			  err.msg);
	sy_table_free(&t);
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/public/t_history", tmpdir);
	char *txt = table_text(dir);
	const char *want = "id:integer,v:string,n_dropped:integer,n:date,_change_type:string,";
	cr_assert_eq(strncmp(txt, want, strlen(want)), 0, "%s", txt);
	const char *rows[] = {"1|a|10|-|insert|16|", "2|-|20|-|insert|32|", "3|c|30|-|insert|48|",
						  "4|d|-|?|insert|64|"};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		cr_assert(strstr(txt, rows[i]), "row %s missing:\n%s", rows[i], txt);
	free(txt);
	/* the moved column keeps its data under its physical name */
	st_store st;
	cr_assert(st_store_open(&st, dir, 0, &err));
	dl_snapshot *s = snap(&st);
	cr_assert_eq(s->column_mapping, DL_CM_NAME);
	cr_assert_str_eq(s->schema.info->children[2].physical_name, "n");
	cr_assert_eq(strncmp(s->schema.info->children[3].physical_name, "col-", 4), 0);
	dl_snapshot_free(s);
	st_store_close(&st);
}
