/*
 * test_pgcopy.c — the binary COPY format of src/pg/copyout.c, and the
 * binary value readers of src/pg/pgtypes.c against a real server.
 *
 *   pgcopy::…     (pure) header and tuple parsing: fields, NULL, trailer,
 *                 every malformed case
 *   pgcopylive::… with LAKESYNC_TEST_DSN (tests/integration/pg_copy.sh runs
 *                 them against a throwaway cluster; skipped otherwise):
 *     values      edge values of every native type fetched as text and as
 *                 binary (the send function COPY BINARY uses): the same bits
 *                 from pgt_append_text and pgt_append_binary, or the same
 *                 error (code and message)
 *     copy        one table copied with pgcopy_run_format in both formats:
 *                 the same rows; the columns selected as text output in the
 *                 binary copy have exactly the text copy's bytes (inet,
 *                 "char", bool[] and others whose ::text cast differs)
 *     empty_and_ranges  an empty table: header and trailer, no rows;
 *                 block ranges in binary: every row once
 *     query_options  the query text: binary option, columns selected as
 *                 their text output
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/buf.h"
#include "pg/conn.h"
#include "pg/copyout.h"
#include "pg/pgtypes.h"

/* ---- pure -------------------------------------------------------------------- */

static const uint8_t sig[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};

static void
put_be(lk_buf *b, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--)
		lk_buf_append_byte(b, (uint8_t) (v >> (8 * i)));
}

static void
header(lk_buf *b, uint32_t flags, uint32_t ext)
{
	lk_buf_append(b, sig, sizeof(sig));
	put_be(b, flags, 4);
	put_be(b, ext, 4);
	for (uint32_t i = 0; i < ext; i++)
		lk_buf_append_byte(b, 0xab);
}

Test(pgcopy, binary_header)
{
	lk_buf b = LK_BUF_INIT;
	lk_error err;
	size_t used = 99;
	header(&b, 0, 0);
	cr_assert(pgcopy_parse_binary_header(b.data, b.len, &used, &err));
	cr_assert_eq(used, 19);
	lk_buf_reset(&b);
	header(&b, 0, 5);
	put_be(&b, 0xffff, 2);
	cr_assert(pgcopy_parse_binary_header(b.data, b.len, &used, &err));
	cr_assert_eq(used, 24, "the extension is skipped");
	/* bad signature, OIDs flag, unknown critical flag, extension too long, short */
	lk_buf_reset(&b);
	header(&b, 0, 0);
	b.data[7] = 0xfe;
	cr_assert_not(pgcopy_parse_binary_header(b.data, b.len, &used, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert(strstr(err.msg, "PGCOPY signature"));
	uint32_t flags[] = {1u << 16, 1u << 20};
	for (int i = 0; i < 2; i++) {
		lk_buf_reset(&b);
		header(&b, flags[i], 0);
		cr_assert_not(pgcopy_parse_binary_header(b.data, b.len, &used, &err));
		cr_assert(strstr(err.msg, "flags"), "%s", err.msg);
	}
	lk_buf_reset(&b);
	header(&b, 0, 0);
	b.data[18] = 4;     /* 4 bytes of extension, none there */
	cr_assert_not(pgcopy_parse_binary_header(b.data, b.len, &used, &err));
	cr_assert(strstr(err.msg, "extension"), "%s", err.msg);
	cr_assert_not(pgcopy_parse_binary_header(b.data, 12, &used, &err));
	cr_assert_eq(used, 0);
	lk_buf_free(&b);
}

Test(pgcopy, binary_tuple)
{
	lk_buf b = LK_BUF_INIT;
	lk_error err;
	pgcopy_field f[3];
	size_t used;
	put_be(&b, 3, 2);
	put_be(&b, 4, 4);
	put_be(&b, 0x01020304, 4);
	put_be(&b, 0xffffffff, 4);            /* NULL */
	put_be(&b, 0, 4);                     /* empty, not NULL */
	size_t row = b.len;
	put_be(&b, 0xffff, 2);                /* trailer */
	cr_assert_eq(pgcopy_parse_binary_tuple(b.data, b.len, &used, f, 3, &err), 1);
	cr_assert_eq(used, row);
	cr_assert_eq(f[0].len, 4);
	cr_assert_not(f[0].is_null);
	cr_assert(memcmp(f[0].ptr, "\1\2\3\4", 4) == 0);
	cr_assert(f[1].is_null);
	cr_assert_eq(f[1].len, 0);
	cr_assert_not(f[2].is_null);
	cr_assert_eq(f[2].len, 0);
	cr_assert_eq(pgcopy_parse_binary_tuple(b.data + row, b.len - row, &used, f, 3, &err), 0);
	cr_assert_eq(used, 2);

	/* wrong field count */
	cr_assert_eq(pgcopy_parse_binary_tuple(b.data, b.len, &used, f, 2, &err), -1);
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert_str_eq(err.msg, "binary copy tuple has 3 fields, expected 2");
	/* truncated anywhere: never reads past len */
	for (size_t n = 0; n < row; n++) {
		lk_error_clear(&err);
		cr_assert_eq(pgcopy_parse_binary_tuple(b.data, n, &used, f, 3, &err), -1, "len %zu", n);
		cr_assert_eq(err.code, LK_ERR_CORRUPT);
	}
	/* a negative length other than -1, a length past the tuple */
	lk_buf_reset(&b);
	put_be(&b, 1, 2);
	put_be(&b, 0xfffffffe, 4);
	cr_assert_eq(pgcopy_parse_binary_tuple(b.data, b.len, &used, f, 1, &err), -1);
	cr_assert(strstr(err.msg, "negative length"), "%s", err.msg);
	cr_assert_str_eq(err.where, "column 1");
	lk_buf_reset(&b);
	put_be(&b, 1, 2);
	put_be(&b, 0x7fffffff, 4);
	put_be(&b, 0, 4);
	cr_assert_eq(pgcopy_parse_binary_tuple(b.data, b.len, &used, f, 1, &err), -1);
	cr_assert(strstr(err.msg, "longer than its tuple"), "%s", err.msg);
	/* zero fields */
	lk_buf_reset(&b);
	put_be(&b, 0, 2);
	cr_assert_eq(pgcopy_parse_binary_tuple(b.data, b.len, &used, f, 0, &err), 1);
	cr_assert_eq(used, 2);
	lk_buf_free(&b);
}

/* ---- against a server ------------------------------------------------------ */

#define NEED_DSN()                                                          \
	const char *dsn = getenv("LAKESYNC_TEST_DSN");                          \
	if (!dsn || !*dsn)                                                      \
		cr_skip_test("LAKESYNC_TEST_DSN not set");

static lk_arena arena;

static void
setup(void)
{
	lk_arena_init(&arena, 0);
}

static void
teardown(void)
{
	lk_arena_free(&arena);
}

TestSuite(pgcopylive, .init = setup, .fini = teardown, .timeout = 120);

static pgc_conn *
connect_ok(const char *dsn)
{
	lk_error err;
	lk_error_clear(&err);
	pgc_conn *c = pgc_connect(dsn, false, &err);
	cr_assert_not_null(c, "connect: %s", err.msg);
	return c;
}

static void
exec_ok(pgc_conn *c, const char *sql)
{
	lk_error err;
	cr_assert(pgc_exec(c, sql, &err), "%s: %s", sql, err.msg);
}

/* "expr" fetched as text and as binary: the two readers agree.  Returns
 * the number of values that were errors (both ways). */
static int
check_value(pgc_conn *c, uint32_t oid, int32_t typmod, const char *expr)
{
	char sql[512];
	snprintf(sql, sizeof(sql), "SELECT %s", expr);
	PGresult *rt = PQexecParams(c->pg, sql, 0, NULL, NULL, NULL, NULL, 0);
	PGresult *rb = PQexecParams(c->pg, sql, 0, NULL, NULL, NULL, NULL, 1);
	cr_assert_eq(PQresultStatus(rt), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(rt));
	cr_assert_eq(PQresultStatus(rb), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(rb));
	cr_assert_eq(PQftype(rt, 0), oid, "%s: type %u", sql, PQftype(rt, 0));
	const pgt_conv *conv = pgt_map_oid(&arena, oid, typmod, 0);
	cr_assert(pgt_binary_native(conv));
	lk_column ct, cb;
	lk_column_init(&ct, conv->type);
	lk_column_init(&cb, conv->type);
	lk_error et, eb;
	lk_error_clear(&et);
	lk_error_clear(&eb);
	bool null = PQgetisnull(rt, 0, 0);
	bool okt = pgt_append_text(conv, &ct, "c", null ? NULL : PQgetvalue(rt, 0, 0),
							   (size_t) PQgetlength(rt, 0, 0), &et);
	bool okb = pgt_append_binary(conv, &cb, "c",
								 null ? NULL : (const uint8_t *) PQgetvalue(rb, 0, 0),
								 (size_t) PQgetlength(rb, 0, 0), &eb);
	cr_assert_eq(okt, okb, "%s: text %s / binary %s", sql, et.msg, eb.msg);
	int errors = 0;
	if (okt) {
		cr_assert_eq(ct.length, 1);
		cr_assert_eq(cb.length, 1);
		cr_assert_eq(lk_column_is_null(&ct, 0), lk_column_is_null(&cb, 0));
		size_t w = lk_type_width(conv->type);
		if (w) {
			cr_assert(memcmp(ct.values, cb.values, w) == 0, "%s: different bits", sql);
		} else {
			int64_t nt, nb;
			const uint8_t *xt = lk_column_bytes(&ct, 0, &nt);
			const uint8_t *xb = lk_column_bytes(&cb, 0, &nb);
			cr_assert(nt == nb && memcmp(xt, xb, (size_t) nt) == 0, "%s: \"%.*s\" vs \"%.*s\"",
					  sql, (int) nt, (const char *) xt, (int) nb, (const char *) xb);
		}
	} else {
		cr_assert_eq(et.code, eb.code, "%s", sql);
		cr_assert_str_eq(et.msg, eb.msg, "%s", sql);
		errors = 1;
	}
	lk_column_destroy(&ct);
	lk_column_destroy(&cb);
	PQclear(rt);
	PQclear(rb);
	return errors;
}

static int32_t
nummod(int p, int s)
{
	return ((p << 16) | (s & 0x7ff)) + 4;
}

Test(pgcopylive, values)
{
	NEED_DSN();
	pgc_conn *c = connect_ok(dsn);
	static const struct {
		uint32_t oid;
		int p, s;          /* numeric typmod when p > 0 */
		const char *expr;
	} v[] = {
		{PGT_OID_BOOL, 0, 0, "true"}, {PGT_OID_BOOL, 0, 0, "false"},
		{PGT_OID_BOOL, 0, 0, "NULL::bool"},
		{PGT_OID_INT2, 0, 0, "(-32768)::int2"}, {PGT_OID_INT2, 0, 0, "32767::int2"},
		{PGT_OID_INT4, 0, 0, "(-2147483648)::int4"}, {PGT_OID_INT4, 0, 0, "2147483647"},
		{PGT_OID_INT8, 0, 0, "(-9223372036854775808)::int8"},
		{PGT_OID_INT8, 0, 0, "9223372036854775807::int8"},
		{PGT_OID_FLOAT4, 0, 0, "'NaN'::float4"}, {PGT_OID_FLOAT4, 0, 0, "'-Infinity'::float4"},
		{PGT_OID_FLOAT4, 0, 0, "'-0'::float4"}, {PGT_OID_FLOAT4, 0, 0, "'1e-45'::float4"},
		{PGT_OID_FLOAT4, 0, 0, "'3.4028235e38'::float4"}, {PGT_OID_FLOAT4, 0, 0, "0.1::float4"},
		{PGT_OID_FLOAT4, 0, 0, "'Infinity'::float4 - 'Infinity'::float4"},
		{PGT_OID_FLOAT8, 0, 0, "'NaN'::float8"}, {PGT_OID_FLOAT8, 0, 0, "'Infinity'::float8"},
		{PGT_OID_FLOAT8, 0, 0, "'-0'::float8"}, {PGT_OID_FLOAT8, 0, 0, "'5e-324'::float8"},
		{PGT_OID_FLOAT8, 0, 0, "'-1.7976931348623157e308'::float8"},
		{PGT_OID_FLOAT8, 0, 0, "1/3.0::float8"}, {PGT_OID_FLOAT8, 0, 0, "0.1::float8 + 0.2"},
		{PGT_OID_FLOAT8, 0, 0, "'Infinity'::float8 - 'Infinity'::float8"},
		{PGT_OID_FLOAT8, 0, 0, "'2.2250738585072014e-308'::float8 / 3"},
		{PGT_OID_NUMERIC, 5, 2, "123.45::numeric(5,2)"},
		{PGT_OID_NUMERIC, 5, 2, "(-999.99)::numeric(5,2)"},
		{PGT_OID_NUMERIC, 5, 2, "0::numeric(5,2)"},
		{PGT_OID_NUMERIC, 5, 2, "'NaN'::numeric(5,2)"},
		{PGT_OID_NUMERIC, 5, 2, "'Infinity'::numeric"},
		{PGT_OID_NUMERIC, 5, 2, "1000.001::numeric"},
		{PGT_OID_NUMERIC, 5, 2, "0.001::numeric"},
		{PGT_OID_NUMERIC, 38, 0, "'99999999999999999999999999999999999999'::numeric(38,0)"},
		{PGT_OID_NUMERIC, 38, 0, "'-99999999999999999999999999999999999999'::numeric(38,0)"},
		{PGT_OID_NUMERIC, 38, 0, "1e38::numeric"},
		{PGT_OID_NUMERIC, 38, 38, "'0.00000000000000000000000000000000000001'::numeric(38,38)"},
		{PGT_OID_NUMERIC, 38, 10, "'9999999999999999999999999999.9999999999'::numeric(38,10)"},
		{PGT_OID_NUMERIC, 38, 10, "'-0.0000000001'::numeric(38,10)"},
		{PGT_OID_NUMERIC, 12, 3, "12345.6::numeric(12,3)"},
		{PGT_OID_NUMERIC, 0, 0, "'NaN'::numeric"}, {PGT_OID_NUMERIC, 0, 0, "'-Infinity'::numeric"},
		{PGT_OID_NUMERIC, 0, 0, "0.000::numeric"}, {PGT_OID_NUMERIC, 0, 0, "(-0.5)::numeric"},
		{PGT_OID_NUMERIC, 0, 0, "1e-20::numeric"}, {PGT_OID_NUMERIC, 0, 0, "10000::numeric"},
		{PGT_OID_NUMERIC, 0, 0, "2::numeric / 3"}, {PGT_OID_NUMERIC, 0, 0, "1e100::numeric"},
		{PGT_OID_NUMERIC, 0, 0, "123456789012345678901234567890.0000100::numeric"},
		{PGT_OID_NUMERIC, 0, 0, "trim_scale(1.500::numeric)"},
		{PGT_OID_NUMERIC, 0, 0, "(10::numeric ^ 131071)"},
		{PGT_OID_NUMERIC, 0, 0, "round(1::numeric / 7, 16383)"},
		{PGT_OID_TEXT, 0, 0, "''::text"},
		{PGT_OID_TEXT, 0, 0, "E'uni \\u00e9\\u4e2d\\U0001F600 tab\\t nl\\n bs\\\\'::text"},
		{PGT_OID_VARCHAR, 0, 0, "'vc'::varchar(20)"}, {PGT_OID_BPCHAR, 0, 0, "'ab'::char(5)"},
		{PGT_OID_NAME, 0, 0, "'nm'::name"}, {PGT_OID_JSON, 0, 0, "'{\"a\": [1, 2]}'::json"},
		{PGT_OID_JSONB, 0, 0, "'{\"b\": {\"c\": null}, \"a\": 1.50}'::jsonb"},
		{PGT_OID_JSONB, 0, 0, "'[]'::jsonb"},
		{PGT_OID_BYTEA, 0, 0, "'\\x00ff10'::bytea"}, {PGT_OID_BYTEA, 0, 0, "''::bytea"},
		{PGT_OID_UUID, 0, 0, "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid"},
		{PGT_OID_DATE, 0, 0, "'2000-01-01'::date"}, {PGT_OID_DATE, 0, 0, "'1970-01-01'::date"},
		{PGT_OID_DATE, 0, 0, "'0001-01-01'::date"}, {PGT_OID_DATE, 0, 0, "'9999-12-31'::date"},
		{PGT_OID_DATE, 0, 0, "'infinity'::date"}, {PGT_OID_DATE, 0, 0, "'-infinity'::date"},
		{PGT_OID_DATE, 0, 0, "'10000-01-01'::date"}, {PGT_OID_DATE, 0, 0, "'0001-12-31 BC'::date"},
		{PGT_OID_DATE, 0, 0, "'4713-01-01 BC'::date"}, {PGT_OID_DATE, 0, 0, "'5874897-12-31'::date"},
		{PGT_OID_TIMESTAMP, 0, 0, "'2000-01-01 00:00:00.5'::timestamp"},
		{PGT_OID_TIMESTAMP, 0, 0, "'1969-12-31 23:59:59.999999'::timestamp"},
		{PGT_OID_TIMESTAMP, 0, 0, "'0001-01-01 00:00:00'::timestamp"},
		{PGT_OID_TIMESTAMP, 0, 0, "'9999-12-31 23:59:59.999999'::timestamp"},
		{PGT_OID_TIMESTAMP, 0, 0, "'infinity'::timestamp"},
		{PGT_OID_TIMESTAMP, 0, 0, "'-infinity'::timestamp"},
		{PGT_OID_TIMESTAMP, 0, 0, "'10000-01-01 00:00:00.12'::timestamp"},
		{PGT_OID_TIMESTAMP, 0, 0, "'0044-03-15 12:00:00 BC'::timestamp"},
		{PGT_OID_TIMESTAMP, 0, 0, "'294276-12-31 23:59:59.999999'::timestamp"},
		{PGT_OID_TIMESTAMP, 0, 0, "'4714-11-24 00:00:00 BC'::timestamp"},
		{PGT_OID_TIMESTAMPTZ, 0, 0, "'2024-06-30 23:59:59.999999+02'::timestamptz"},
		{PGT_OID_TIMESTAMPTZ, 0, 0, "'0001-01-01 00:00:00+00'::timestamptz"},
		{PGT_OID_TIMESTAMPTZ, 0, 0, "'9999-12-31 23:59:59.999999+00'::timestamptz"},
		{PGT_OID_TIMESTAMPTZ, 0, 0, "'9999-12-31 23:00:00-01'::timestamptz"},
		{PGT_OID_TIMESTAMPTZ, 0, 0, "'0001-01-01 00:00:00+01'::timestamptz"},
		{PGT_OID_TIMESTAMPTZ, 0, 0, "'infinity'::timestamptz"},
		{PGT_OID_TIMESTAMPTZ, 0, 0, "'294276-12-31 23:59:59.999999+00'::timestamptz"},
	};
	int errors = 0;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		errors += check_value(c, v[i].oid, v[i].p ? nummod(v[i].p, v[i].s) : -1, v[i].expr);
	/* the unrepresentable ones above, each an error both ways */
	cr_assert_eq(errors, 16, "errors: %d", errors);
	pgc_close(c);
}

/* ---- COPY in both formats ------------------------------------------------------ */

typedef struct collect {
	int nf;
	lk_buf *out;        /* per field: u8 null, u32 len, bytes */
	int64_t rows;
} collect;

static bool
collect_row(void *arg, const pgcopy_field *f, int nf, lk_error *err)
{
	collect *c = arg;
	cr_assert_eq(nf, c->nf);
	for (int i = 0; i < nf; i++) {
		lk_buf_append_byte(&c->out[i], f[i].is_null);
		lk_buf_append_u32le(&c->out[i], (uint32_t) f[i].len);
		lk_buf_append(&c->out[i], f[i].ptr, f[i].len);
	}
	c->rows++;
	return true;
}

/* the columns, and which are natively read in binary */
static const struct {
	const char *name;
	uint32_t oid;
	int32_t typmod;
} tcols[] = {
	{"id", PGT_OID_INT4, -1}, {"f8", PGT_OID_FLOAT8, -1}, {"n", PGT_OID_NUMERIC, -1},
	{"nd", PGT_OID_NUMERIC, ((12 << 16) | 3) + 4}, {"s", PGT_OID_TEXT, -1},
	{"ts", PGT_OID_TIMESTAMPTZ, -1}, {"u", PGT_OID_UUID, -1},
	{"ip", PGT_OID_INET, -1}, {"ch", PGT_OID_CHAR, -1}, {"ba", PGT_OID_BOOL_ARRAY, -1},
	{"ia", PGT_OID_INT4_ARRAY, -1}, {"iv", PGT_OID_INTERVAL, -1}, {"bp", PGT_OID_BPCHAR, 9},
	{"x", PGT_OID_XML, -1}, {"r", 3904 /* int4range */, -1},
};
#define TNCOLS ((int) (sizeof(tcols) / sizeof(tcols[0])))

static void
run_copy(pgc_conn *c, const char *table, pgcopy_format fmt, const bool *as_text,
		 const pgcopy_range *range, collect *out)
{
	const char *names[TNCOLS];
	for (int i = 0; i < TNCOLS; i++)
		names[i] = tcols[i].name;
	lk_buf q = LK_BUF_INIT;
	lk_error err;
	pgc_table_name t = {"public", table};
	pgcopy_query_opts o = {.format = fmt, .as_text = as_text};
	cr_assert(pgcopy_build_query_opts(c, &q, &t, names, TNCOLS, range, &o, &err), "%s", err.msg);
	out->nf = TNCOLS;
	out->rows = 0;
	out->out = lk_xcalloc(TNCOLS, sizeof(lk_buf));
	uint64_t n = 0;
	cr_assert(pgcopy_run_format(c, (const char *) q.data, fmt, TNCOLS, collect_row, out, &n,
								&err), "%s: %s (%s)", (const char *) q.data, err.msg, err.where);
	cr_assert_eq((int64_t) n, out->rows);
	lk_buf_free(&q);
}

static void
free_collect(collect *c)
{
	for (int i = 0; i < c->nf; i++)
		lk_buf_free(&c->out[i]);
	free(c->out);
}

/* the values of field i of every row, appended by the given reader */
static void
read_column(const collect *c, int i, bool binary, const pgt_conv *conv, lk_column *col)
{
	lk_cursor cur;
	lk_error err;
	lk_cursor_init(&cur, c->out[i].data, c->out[i].len, 0, &err);
	for (int64_t r = 0; r < c->rows; r++) {
		uint8_t null;
		uint32_t len;
		const uint8_t *p;
		cr_assert(lk_cursor_get_u8(&cur, &null) && lk_cursor_get_u32le(&cur, &len) &&
				  lk_cursor_get_bytes(&cur, len, &p));
		bool ok = binary ? pgt_append_binary(conv, col, tcols[i].name, null ? NULL : p, len, &err)
						 : pgt_append_text(conv, col, tcols[i].name, null ? NULL : (const char *) p,
										   len, &err);
		cr_assert(ok, "%s row %lld: %s", tcols[i].name, (long long) r, err.msg);
	}
}

Test(pgcopylive, copy)
{
	NEED_DSN();
	pgc_conn *c = connect_ok(dsn);
	exec_ok(c, "DROP TABLE IF EXISTS lkc_t");
	exec_ok(c, "CREATE TABLE lkc_t (id int, f8 float8, n numeric, nd numeric(12,3), s text, "
			   "ts timestamptz, u uuid, ip inet, ch \"char\", ba bool[], ia int4[], iv interval, "
			   "bp char(9), x xml, r int4range)");
	exec_ok(c, "INSERT INTO lkc_t SELECT g, g / 7.0, g::numeric / 3, g * 1.5, "
			   "E'row\\t' || g || E'\\\\n', TIMESTAMPTZ '2020-01-01 00:00:00+00' + g * "
			   "INTERVAL '1.5 s', md5(g::text)::uuid, ('10.0.0.' || (g % 250) || '/32')::inet, "
			   "chr(60 + g % 60)::\"char\", ARRAY[g % 2 = 0, NULL], ARRAY[g, -g], "
			   "g * INTERVAL '1 day 1 ms', 'p' || g, ('<a>' || g || '</a>')::xml, "
			   "int4range(g, g + 3) FROM generate_series(1, 3000) g");
	exec_ok(c, "INSERT INTO lkc_t VALUES (0, 'NaN', 'NaN', -0.001, '', '-infinity', NULL, "
			   "'::ffff:1.2.3.4/128', '\\377', '{}', '{NULL}', '-1 day', '', '', 'empty'), "
			   "(-1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
			   "NULL, NULL)");
	bool as_text[TNCOLS];
	const pgt_conv *conv[TNCOLS];
	for (int i = 0; i < TNCOLS; i++) {
		conv[i] = pgt_map_oid(&arena, tcols[i].oid, tcols[i].typmod, 1);
		as_text[i] = !pgt_binary_native(conv[i]);
	}
	cr_assert(as_text[7] && as_text[8] && as_text[9] && as_text[13], "inet, char, bool[], xml");
	cr_assert_not(as_text[2] || as_text[12], "numeric, bpchar are native");
	collect t, b;
	run_copy(c, "lkc_t", PGCOPY_TEXT, NULL, NULL, &t);
	run_copy(c, "lkc_t", PGCOPY_BINARY, as_text, NULL, &b);
	cr_assert_eq(t.rows, 3002);
	cr_assert_eq(b.rows, 3002);
	for (int i = 0; i < TNCOLS; i++) {
		if (as_text[i]) {
			/* the text output, byte for byte */
			cr_assert_eq(t.out[i].len, b.out[i].len, "column %s", tcols[i].name);
			cr_assert(memcmp(t.out[i].data, b.out[i].data, t.out[i].len) == 0, "column %s",
					  tcols[i].name);
			continue;
		}
		lk_column ct, cb;
		lk_column_init(&ct, conv[i]->type);
		lk_column_init(&cb, conv[i]->type);
		read_column(&t, i, false, conv[i], &ct);
		read_column(&b, i, true, conv[i], &cb);
		size_t w = lk_type_width(conv[i]->type);
		for (int64_t r = 0; r < t.rows; r++) {
			cr_assert(lk_column_row_equal(&ct, r, &cb, r), "%s row %lld", tcols[i].name,
					  (long long) r);
			cr_assert_eq(lk_column_is_null(&ct, r), lk_column_is_null(&cb, r));
			if (w)
				cr_assert(memcmp((char *) ct.values + r * w, (char *) cb.values + r * w, w) == 0,
						  "%s row %lld: bits", tcols[i].name, (long long) r);
		}
		lk_column_destroy(&ct);
		lk_column_destroy(&cb);
	}
	free_collect(&t);
	free_collect(&b);
	exec_ok(c, "DROP TABLE lkc_t");
	pgc_close(c);
}

Test(pgcopylive, empty_and_ranges)
{
	NEED_DSN();
	pgc_conn *c = connect_ok(dsn);
	exec_ok(c, "DROP TABLE IF EXISTS lkc_e");
	exec_ok(c, "CREATE TABLE lkc_e (id int, f8 float8, n numeric, nd numeric(12,3), s text, "
			   "ts timestamptz, u uuid, ip inet, ch \"char\", ba bool[], ia int4[], iv interval, "
			   "bp char(9), x xml, r int4range)");
	bool as_text[TNCOLS];
	for (int i = 0; i < TNCOLS; i++)
		as_text[i] = !pgt_binary_native(pgt_map_oid(&arena, tcols[i].oid, tcols[i].typmod, 1));
	collect b;
	run_copy(c, "lkc_e", PGCOPY_BINARY, as_text, NULL, &b);
	cr_assert_eq(b.rows, 0, "header and trailer only");
	free_collect(&b);
	exec_ok(c, "INSERT INTO lkc_e (id, s) SELECT g, repeat('x', 500) FROM generate_series(1, 2000) g");
	/* ranges of blocks: every row exactly once */
	PGresult *r = PQexec(c->pg, "SELECT pg_relation_size('lkc_e') / 8192");
	uint64_t blocks = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	cr_assert_gt(blocks, 10);
	pgcopy_range rg[7];
	int n = pgcopy_split(blocks, 7, rg);
	int64_t total = 0;
	for (int k = 0; k < n; k++) {
		run_copy(c, "lkc_e", PGCOPY_BINARY, as_text, &rg[k], &b);
		total += b.rows;
		free_collect(&b);
	}
	cr_assert_eq(total, 2000);
	exec_ok(c, "DROP TABLE lkc_e");
	pgc_close(c);
}

Test(pgcopylive, query_options)
{
	/* identifiers are quoted by libpq: needs a connection */
	NEED_DSN();
	lk_error err;
	pgc_conn *c = pgc_connect(dsn, false, &err);
	cr_assert_not_null(c, "%s", err.msg);
	lk_buf q = LK_BUF_INIT;
	pgc_table_name t = {"public", "T x"};
	const char *cols[] = {"a", "B"};
	bool as_text[] = {false, true};
	pgcopy_range r = {8, 16};
	pgcopy_query_opts o = {.format = PGCOPY_BINARY, .as_text = as_text};
	cr_assert(pgcopy_build_query_opts(c, &q, &t, cols, 2, &r, &o, &err), "%s", err.msg);
	cr_assert_str_eq((const char *) q.data,
					 "COPY (SELECT \"a\", CASE WHEN pg_catalog.num_nulls(\"B\") = 0 THEN "
					 "pg_catalog.format('%s', \"B\") END AS \"B\" FROM ONLY \"public\".\"T x\" "
					 "WHERE ctid >= '(8,0)'::tid AND ctid < '(16,0)'::tid) TO STDOUT "
					 "WITH (FORMAT binary)");
	lk_buf_reset(&q);
	cr_assert(pgcopy_build_query_opts(c, &q, &t, cols, 2, NULL, NULL, &err));
	cr_assert_str_eq((const char *) q.data,
					 "COPY (SELECT \"a\", \"B\" FROM ONLY \"public\".\"T x\") TO STDOUT");
	lk_buf_free(&q);
	pgc_close(c);
}

