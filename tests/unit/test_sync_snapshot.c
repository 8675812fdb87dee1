/*
 * test_sync_snapshot.c — the snapshot's copy plan (src/sync/snapshot.c)
 * without PostgreSQL: a history table of many types (sy_table_init +
 * sy_table_open in a temporary directory), COPY rows given as fields, and
 * the batch sy_snapshot_append_row fills compared with the one
 * sy_table_append_values(t, b, "insert", …) fills for the same values in
 * text form:
 *   text plan     every column, the history columns and the size estimate
 *                 identical
 *   binary plan   native columns from their send-function bytes, the rest
 *                 (array, interval) as text: identical columns
 *   errors        an unrepresentable value fails both ways with the same
 *                 code and message; a binary plan with a column that is
 *                 neither native nor read as text is refused
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/batch.h"
#include "sync/snapshot.h"
#include "sync/table.h"

static char tmpdir[256];

static int
rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void) sb;
	(void) flag;
	(void) ftw;
	return remove(p);
}

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lk-sysnap-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(sysnap, .init = setup, .fini = teardown);

/* ---- the table -------------------------------------------------------------- */

enum { NCOLS = 12 };
static pgc_column cols[NCOLS];

static void
col(int i, const char *name, uint32_t oid, const char *tname, int32_t typmod,
	uint32_t elem)
{
	pgc_column *c = &cols[i];
	memset(c, 0, sizeof(*c));
	c->attnum = i + 1;
	c->name = name;
	c->type_oid = c->base_oid = oid;
	c->typmod = c->base_typmod = typmod;
	c->type_name = c->base_name = tname;
	c->typtype = c->base_typtype = 'b';
	c->base_category = elem ? 'A' : 'S';
	c->elem_oid = elem;
	c->elem_name = elem ? "int4" : NULL;
	c->elem_typtype = elem ? 'b' : 0;
	c->ndims = elem ? 1 : 0;
	c->is_pk = i == 0;
	c->pk_pos = i == 0 ? 1 : 0;
	c->not_null = i == 0;
}

static void
open_t(sy_table *t)
{
	col(0, "id", PGT_OID_INT4, "int4", -1, 0);
	col(1, "i8", PGT_OID_INT8, "int8", -1, 0);
	col(2, "f8", PGT_OID_FLOAT8, "float8", -1, 0);
	col(3, "n", PGT_OID_NUMERIC, "numeric", ((10 << 16) | 2) + 4, 0);
	col(4, "s", PGT_OID_TEXT, "text", -1, 0);
	col(5, "d", PGT_OID_DATE, "date", -1, 0);
	col(6, "ts", PGT_OID_TIMESTAMPTZ, "timestamptz", -1, 0);
	col(7, "b", PGT_OID_BYTEA, "bytea", -1, 0);
	col(8, "u", PGT_OID_UUID, "uuid", -1, 0);
	col(9, "ok", PGT_OID_BOOL, "bool", -1, 0);
	col(10, "arr", PGT_OID_INT4_ARRAY, "_int4", -1, PGT_OID_INT4);
	col(11, "iv", PGT_OID_INTERVAL, "interval", -1, 0);
	pgc_table_def d;
	memset(&d, 0, sizeof(d));
	d.relid = 16500;
	d.ncols = NCOLS;
	d.cols = cols;
	d.npk = 1;
	pgc_table_info info = {.relid = 16500, .relkind = 'r', .replident = 'd',
						   .has_pk = true, .has_identity = true};
	pgc_table_name n = {"public", "t"};
	sy_table_config c;
	sy_table_config_init(&c);
	lk_error err;
	cr_assert(sy_table_init(t, &c, "p1", tmpdir, &n, &info, &d, &err), "%s", err.msg);
	cr_assert(sy_table_open(t, &err), "%s (%s)", err.msg, err.where);
}

/* One source row: the text of each column (NULL = null) and, for the
 * native columns, the binary bytes. */
typedef struct row {
	const char *text[NCOLS];
	const char *bin[NCOLS];
	size_t binlen[NCOLS];
} row;

static const sy_txn tx = {.commit_lsn = 0x1234567, .end_lsn = 0x1234568,
						  .commit_time_us = INT64_C(1700000000123456), .xid = -1};

/* the rows; binary forms as PostgreSQL's send functions write them */
static row rows[3] = {
	{.text = {"1", "-9223372036854775808", "0.1", "-12345678.90", "tab\there \\ ünï",
			  "2024-02-29", "1969-12-31 23:59:59.999999+00", "\\x00ff10",
			  "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "t", "{1,NULL,-3}",
			  "P1Y2M3DT4H5M6.789S"},
	 .bin = {"\0\0\0\1", "\x80\0\0\0\0\0\0\0", "\x3f\xb9\x99\x99\x99\x99\x99\x9a",
			 /* -12345678.90: digits 1234, 5678, 9000; weight 1; dscale 2 */
			 "\0\3\0\1\x40\0\0\2\x04\xd2\x16\x2e\x23\x28", "tab\there \\ ünï",
			 NULL, NULL, "\0\xff\x10",
			 "\xa0\xee\xbc\x99\x9c\x0b\x4e\xf8\xbb\x6d\x6b\xb9\xbd\x38\x0a\x11", "\1",
			 NULL, NULL},
	 .binlen = {4, 8, 8, 14, 0, 4, 8, 3, 16, 1, 0, 0}},
	{.text = {"2", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
	 .bin = {"\0\0\0\2"}, .binlen = {4}},
	{.text = {"3", "42", "-0", "0.00", "", "infinity", "-infinity", "\\x",
			  "00000000-0000-0000-0000-000000000000", "f", "{}", "PT0S"},
	 .bin = {"\0\0\0\3", "\0\0\0\0\0\0\0\x2a", "\x80\0\0\0\0\0\0\0",
			 "\0\0\0\0\0\0\0\2", "", "\x7f\xff\xff\xff", "\x80\0\0\0\0\0\0\0", "",
			 "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", "\0", NULL, NULL},
	 .binlen = {4, 8, 8, 8, 0, 4, 8, 0, 16, 1, 0, 0}},
};

/* the values of row 0 whose bytes are easier to state here */
static void
fix_binary(void)
{
	/* 2024-02-29: 8825 days since 2000-01-01 = 0x2279 */
	rows[0].bin[5] = "\0\0\x22\x79";
	/* 1969-12-31 23:59:59.999999 UTC = -946684800000001 µs since 2000 */
	rows[0].bin[6] = "\xff\xfc\xa2\xfe\xc4\xc8\x1f\xff";
	rows[0].binlen[4] = strlen(rows[0].bin[4]);
}

static void
fields_of(const row *r, bool binary, const bool *as_text, pgcopy_field *f)
{
	for (int i = 0; i < NCOLS; i++) {
		f[i].is_null = r->text[i] == NULL;
		f[i].ptr = "";
		f[i].len = 0;
		if (f[i].is_null)
			continue;
		if (binary && !as_text[i]) {
			f[i].ptr = r->bin[i];
			f[i].len = r->binlen[i];
		} else {
			f[i].ptr = r->text[i];
			f[i].len = strlen(r->text[i]);
		}
	}
}

static void
values_of(const row *r, sy_value *v)
{
	for (int i = 0; i < NCOLS; i++) {
		v[i].null = r->text[i] == NULL;
		v[i].p = r->text[i] ? r->text[i] : "";
		v[i].n = r->text[i] ? strlen(r->text[i]) : 0;
	}
}

/* every row of a and b equal, fixed-width values bit for bit */
static void
assert_batches_equal(const lk_batch *a, const lk_batch *b)
{
	cr_assert_eq(a->nrows, b->nrows);
	cr_assert_eq(a->ncols, b->ncols);
	for (int c = 0; c < a->ncols; c++) {
		const lk_column *x = &a->cols[c], *y = &b->cols[c];
		cr_assert_eq(x->length, a->nrows, "column %d", c);
		cr_assert_eq(y->length, b->nrows, "column %d", c);
		cr_assert_eq(x->null_count, y->null_count, "column %d", c);
		size_t w = lk_type_width(x->type);
		for (int64_t i = 0; i < x->length; i++) {
			cr_assert(lk_column_row_equal(x, i, y, i), "column %d row %lld", c, (long long) i);
			cr_assert_eq(lk_column_is_null(x, i), lk_column_is_null(y, i));
			if (w)
				cr_assert(memcmp((char *) x->values + i * w, (char *) y->values + i * w, w) == 0,
						  "column %d row %lld: bits", c, (long long) i);
		}
	}
}

/* ---- tests ------------------------------------------------------------------- */

Test(sysnap, text_plan_equals_append_values)
{
	sy_table t;
	open_t(&t);
	lk_error err;
	sy_snapshot_plan p;
	cr_assert(sy_snapshot_plan_init(&p, &t, PGCOPY_TEXT, NULL, &err), "%s", err.msg);
	cr_assert_eq(p.nsrc, NCOLS);
	cr_assert_eq(p.ncols, NCOLS + SY_H_COUNT);
	lk_batch *a = sy_table_new_batch(&t), *b = sy_table_new_batch(&t);
	bool no[NCOLS] = {false};
	for (int r = 0; r < 3; r++) {
		pgcopy_field f[NCOLS];
		sy_value v[NCOLS];
		fields_of(&rows[r], false, no, f);
		values_of(&rows[r], v);
		int64_t seq = (INT64_C(5) << 40) | r, ba = -1, bb = -2;
		cr_assert(sy_snapshot_append_row(&p, &t, a, &tx, seq, f, &ba, &err), "%s", err.msg);
		cr_assert(sy_table_append_values(&t, b, "insert", &tx, seq, v, &bb, &err), "%s", err.msg);
		cr_assert_eq(ba, bb, "row size estimate");
	}
	assert_batches_equal(a, b);
	/* the history columns */
	const lk_column *ct = &a->cols[t.hist[SY_H_CHANGE_TYPE]];
	int64_t n;
	const uint8_t *s = lk_column_bytes(ct, 2, &n);
	cr_assert(n == 6 && memcmp(s, "insert", 6) == 0);
	cr_assert_eq(LK_COL_VALUES(&a->cols[t.hist[SY_H_COMMIT_LSN]], int64_t)[1], 0x1234567);
	cr_assert_eq(LK_COL_VALUES(&a->cols[t.hist[SY_H_CHANGE_SEQ]], int64_t)[2],
				 (INT64_C(5) << 40) | 2);
	cr_assert_eq(LK_COL_VALUES(&a->cols[t.hist[SY_H_COMMIT_TS]], int64_t)[0],
				 INT64_C(1700000000123456));
	cr_assert_eq(a->cols[t.hist[SY_H_XID]].null_count, 3);
	lk_batch_free(a);
	lk_batch_free(b);
	sy_snapshot_plan_free(&p);
	sy_table_free(&t);
}

Test(sysnap, binary_plan_equals_append_values)
{
	fix_binary();
	sy_table t;
	open_t(&t);
	lk_error err;
	bool as_text[NCOLS];
	for (int i = 0; i < NCOLS; i++)
		as_text[i] = !pgt_binary_native(t.cols[i].conv);
	cr_assert(as_text[10] && as_text[11], "array and interval are read as text");
	for (int i = 0; i < 10; i++)
		cr_assert_not(as_text[i], "column %d is native", i);
	sy_snapshot_plan p;
	cr_assert(sy_snapshot_plan_init(&p, &t, PGCOPY_BINARY, as_text, &err), "%s", err.msg);
	lk_batch *a = sy_table_new_batch(&t), *b = sy_table_new_batch(&t);
	for (int r = 0; r < 3; r++) {
		pgcopy_field f[NCOLS];
		sy_value v[NCOLS];
		fields_of(&rows[r], true, as_text, f);
		values_of(&rows[r], v);
		cr_assert(sy_snapshot_append_row(&p, &t, a, &tx, r, f, NULL, &err), "row %d: %s (%s)",
				  r, err.msg, err.where);
		cr_assert(sy_table_append_values(&t, b, "insert", &tx, r, v, NULL, &err), "%s", err.msg);
	}
	assert_batches_equal(a, b);
	/* spot checks of decoded values */
	cr_assert_eq(LK_COL_VALUES(&a->cols[1], int64_t)[0], INT64_MIN);
	cr_assert(LK_COL_VALUES(&a->cols[3], lk_int128)[0] == -1234567890);
	cr_assert_eq(LK_COL_VALUES(&a->cols[5], int32_t)[0], 19782);
	cr_assert_eq(LK_COL_VALUES(&a->cols[6], int64_t)[0], -1);
	lk_batch_free(a);
	lk_batch_free(b);
	sy_snapshot_plan_free(&p);
	sy_table_free(&t);
}

Test(sysnap, errors_and_refused_plan)
{
	fix_binary();
	sy_table t;
	open_t(&t);
	lk_error e1, e2;
	bool as_text[NCOLS];
	for (int i = 0; i < NCOLS; i++)
		as_text[i] = !pgt_binary_native(t.cols[i].conv);
	sy_snapshot_plan p;
	cr_assert(sy_snapshot_plan_init(&p, &t, PGCOPY_BINARY, as_text, &e1));
	/* 10000-01-01: 2921940 days after 2000-01-01 = 0x2c95d4 */
	row bad = rows[0];
	bad.text[5] = "10000-01-01";
	bad.bin[5] = "\0\x2c\x95\xd4";
	pgcopy_field f[NCOLS];
	sy_value v[NCOLS];
	fields_of(&bad, true, as_text, f);
	values_of(&bad, v);
	lk_batch *a = sy_table_new_batch(&t), *b = sy_table_new_batch(&t);
	cr_assert_not(sy_snapshot_append_row(&p, &t, a, &tx, 0, f, NULL, &e1));
	cr_assert_not(sy_table_append_values(&t, b, "insert", &tx, 0, v, NULL, &e2));
	cr_assert_eq(e1.code, LK_ERR_UNSUPPORTED);
	cr_assert_eq(e1.code, e2.code);
	cr_assert_str_eq(e1.msg, e2.msg);
	cr_assert_str_eq(e1.msg, "cannot represent date outside 0001-01-01 to 9999-12-31: "
					 "\"10000-01-01\"");
	cr_assert_str_eq(e1.where, "column \"d\"");
	lk_batch_free(a);
	lk_batch_free(b);
	sy_snapshot_plan_free(&p);

	/* binary without reading the array as text: refused */
	bool none[NCOLS] = {false};
	cr_assert_not(sy_snapshot_plan_init(&p, &t, PGCOPY_BINARY, none, &e1));
	cr_assert_eq(e1.code, LK_ERR_INTERNAL);
	cr_assert(strstr(e1.msg, "\"arr\"") != NULL, "%s", e1.msg);
	cr_assert_null(p.ops);
	sy_table_free(&t);
}
