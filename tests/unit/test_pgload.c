/*
 * test_pgload.c — pg/load: the Delta → PostgreSQL type mapping, COPY text of
 * every type (escaping layers: COPY, array quoting, JSON), shortest float
 * text, DDL, identifier and literal quoting.
 *
 * The "pgint" tests need a server: they run only when LAKESYNC_TEST_DSN is
 * set (tests/integration/synced_pgload.sh starts a throwaway cluster) and
 * load a batch of tricky values with COPY, then read every value back as
 * PostgreSQL prints it.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/types.h"
#include "pg/conn.h"
#include "pg/load.h"

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

static lk_type *
T(lk_type_id id)
{
	return lk_type_new(&arena, id);
}

static const char *
sqlt(const lk_type *t)
{
	return pgl_sql_type(t, &arena);
}

/* One-column schema named "c". */
static lk_type *
schema1(lk_type *t)
{
	lk_type *s = lk_type_struct(&arena, 1);
	s->children[0].name = "c";
	s->children[0].type = t;
	s->children[0].nullable = true;
	return s;
}

/* COPY text of every row of b (into arena memory); NULL on error, with
 * err filled. */
static const char *
copy_text(const lk_batch *b, lk_error *err)
{
	pgl_scratch s;
	pgl_scratch_init(&s);
	lk_buf out = LK_BUF_INIT;
	lk_error_clear(err);
	bool ok = pgl_format_rows(&s, &out, b, 0, b->nrows, err);
	const char *r = ok ? lk_arena_strndup(&arena, (const char *) out.data, out.len) : NULL;
	lk_buf_free(&out);
	pgl_scratch_free(&s);
	return r;
}

static const char *
copy_text_ok(const lk_batch *b)
{
	lk_error err;
	const char *r = copy_text(b, &err);
	cr_assert(r, "format failed: %s (%s)", err.msg, err.where);
	return r;
}

/* ---- type mapping -------------------------------------------------------- */

TestSuite(types, .init = setup, .fini = teardown);

Test(types, scalars)
{
	cr_assert_str_eq(sqlt(T(LK_T_BOOLEAN)), "boolean");
	cr_assert_str_eq(sqlt(T(LK_T_BYTE)), "smallint");
	cr_assert_str_eq(sqlt(T(LK_T_SHORT)), "smallint");
	cr_assert_str_eq(sqlt(T(LK_T_INT)), "integer");
	cr_assert_str_eq(sqlt(T(LK_T_LONG)), "bigint");
	cr_assert_str_eq(sqlt(T(LK_T_FLOAT)), "real");
	cr_assert_str_eq(sqlt(T(LK_T_DOUBLE)), "double precision");
	cr_assert_str_eq(sqlt(lk_type_decimal(&arena, 10, 2)), "numeric(10,2)");
	cr_assert_str_eq(sqlt(lk_type_decimal(&arena, 38, 38)), "numeric(38,38)");
	cr_assert_str_eq(sqlt(T(LK_T_STRING)), "text");
	cr_assert_str_eq(sqlt(T(LK_T_BINARY)), "bytea");
	cr_assert_str_eq(sqlt(T(LK_T_DATE)), "date");
	cr_assert_str_eq(sqlt(T(LK_T_TIMESTAMP)), "timestamptz");
	cr_assert_str_eq(sqlt(T(LK_T_TIMESTAMP_NTZ)), "timestamp");
	cr_assert_str_eq(sqlt(T(LK_T_TIME)), "time");
}

Test(types, unsigned_widen)
{
	lk_type *t = T(LK_T_BYTE);
	t->is_unsigned = true;
	cr_assert_str_eq(sqlt(t), "smallint");
	t = T(LK_T_SHORT);
	t->is_unsigned = true;
	cr_assert_str_eq(sqlt(t), "integer");
	t = T(LK_T_INT);
	t->is_unsigned = true;
	cr_assert_str_eq(sqlt(t), "bigint");
	t = T(LK_T_LONG);
	t->is_unsigned = true;
	cr_assert_str_eq(sqlt(t), "numeric(20,0)");
	t = T(LK_T_BINARY);
	t->ext = LK_EXT_UUID;
	t->fixed_len = 16;
	cr_assert_str_eq(sqlt(t), "uuid");
}

Test(types, nested)
{
	cr_assert_str_eq(sqlt(lk_type_array(&arena, T(LK_T_LONG), true)), "bigint[]");
	cr_assert_str_eq(sqlt(lk_type_array(&arena, T(LK_T_STRING), true)), "text[]");
	cr_assert_str_eq(sqlt(lk_type_array(&arena, lk_type_decimal(&arena, 5, 1), true)),
					 "numeric(5,1)[]");
	cr_assert_str_eq(sqlt(lk_type_array(&arena, T(LK_T_TIMESTAMP), true)), "timestamptz[]");
	lk_type *st = lk_type_struct(&arena, 1);
	st->children[0].name = "a";
	st->children[0].type = T(LK_T_INT);
	cr_assert_str_eq(sqlt(st), "jsonb");
	cr_assert_str_eq(sqlt(lk_type_map(&arena, T(LK_T_STRING), T(LK_T_INT), true)), "jsonb");
	cr_assert_str_eq(sqlt(lk_type_array(&arena, st, true)), "jsonb[]");
	cr_assert_str_eq(sqlt(lk_type_array(&arena, lk_type_array(&arena, T(LK_T_INT), true), true)),
					 "jsonb", "jagged arrays of arrays are not PostgreSQL arrays");
}

/* ---- quoting and DDL ------------------------------------------------------- */

TestSuite(ddl, .init = setup, .fini = teardown);

Test(ddl, quoting)
{
	lk_buf b = LK_BUF_INIT;
	pgl_quote_ident(&b, "Mixed \"Case\"");
	cr_assert_str_eq(lk_buf_cstr(&b), "\"Mixed \"\"Case\"\"\"");
	lk_buf_reset(&b);
	pgl_quote_literal(&b, "it's");
	cr_assert_str_eq(lk_buf_cstr(&b), "'it''s'");
	lk_buf_reset(&b);
	pgl_quote_literal(&b, "a\\b'c");
	cr_assert_str_eq(lk_buf_cstr(&b), "E'a\\\\b''c'");
	lk_buf_reset(&b);
	pgl_quote_qualified(&b, "s", "t.x");
	cr_assert_str_eq(lk_buf_cstr(&b), "\"s\".\"t.x\"");
	lk_buf_free(&b);
}

Test(ddl, create_table)
{
	pgl_column cols[] = {
		{"id", T(LK_T_LONG), "bigint", true},
		{"Name", T(LK_T_STRING), "text", false},
		{"we\"ird", T(LK_T_STRING), "uuid", false},
	};
	lk_buf b = LK_BUF_INIT;
	lk_error err;
	cr_assert(pgl_create_table_sql(&b, "public", "T1", cols, 3, false, &err));
	cr_assert_str_eq(lk_buf_cstr(&b), "CREATE TABLE \"public\".\"T1\" (\"id\" bigint NOT NULL, "
									  "\"Name\" text, \"we\"\"ird\" uuid)");
	lk_buf_reset(&b);
	cr_assert(pgl_create_table_sql(&b, "s", "t", cols, 1, true, &err));
	cr_assert_str_eq(lk_buf_cstr(&b), "CREATE UNLOGGED TABLE \"s\".\"t\" (\"id\" bigint NOT NULL)");
	pgl_column dup[] = {{"a", T(LK_T_INT), "integer", false}, {"a", T(LK_T_INT), "integer", false}};
	lk_buf_reset(&b);
	cr_assert_not(pgl_create_table_sql(&b, "s", "t", dup, 2, false, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	cr_assert_str_eq(err.msg, "duplicate column name \"a\"");
	lk_buf_free(&b);
}

/* ---- floats ----------------------------------------------------------------- */

static const char *
d2s(double v)
{
	char buf[32];
	pgl_format_double(v, buf);
	return lk_arena_strdup(&arena, buf);
}

static const char *
f2s(float v)
{
	char buf[32];
	pgl_format_float(v, buf);
	return lk_arena_strdup(&arena, buf);
}

TestSuite(floats, .init = setup, .fini = teardown);

Test(floats, known_shortest)
{
	cr_assert_str_eq(d2s(0.1), "0.1");
	cr_assert_str_eq(d2s(1.0 / 3), "0.3333333333333333");
	cr_assert_str_eq(d2s(0.1 + 0.2), "0.30000000000000004");
	cr_assert_str_eq(d2s(5e-324), "5e-324");
	cr_assert_str_eq(d2s(2.2250738585072014e-308), "2.2250738585072014e-308");
	cr_assert_str_eq(d2s(DBL_MAX), "1.7976931348623157e+308");
	cr_assert_str_eq(d2s(1e300), "1e+300");
	cr_assert_str_eq(d2s(-42), "-42");
	cr_assert_str_eq(d2s(123456789012345.0), "123456789012345");
	cr_assert_str_eq(d2s(1e15), "1e+15");
	cr_assert_str_eq(d2s(9007199254740993.0), "9007199254740992");
	cr_assert_str_eq(d2s(0.0), "0");
	cr_assert_str_eq(d2s(-0.0), "-0");
	cr_assert_str_eq(d2s(NAN), "NaN");
	cr_assert_str_eq(d2s(INFINITY), "Infinity");
	cr_assert_str_eq(d2s(-INFINITY), "-Infinity");
	cr_assert_str_eq(f2s(0.1f), "0.1");
	cr_assert_str_eq(f2s(1.0f / 3), "0.33333334");
	cr_assert_str_eq(f2s(16777217.0f), "16777216");
	cr_assert_str_eq(f2s(FLT_MAX), "3.4028235e+38");
	cr_assert_str_eq(f2s(1e-45f), "1e-45");
	cr_assert_str_eq(f2s(-0.0f), "-0");
	cr_assert_str_eq(f2s(NAN), "NaN");
	cr_assert_str_eq(f2s(-INFINITY), "-Infinity");
}

/* Significant digits of a %g-style number. */
static int
sig_digits(const char *s)
{
	int n = 0;
	bool lead = true;
	for (; *s && *s != 'e'; s++) {
		if (*s < '0' || *s > '9')
			continue;
		if (lead && *s == '0')
			continue;
		lead = false;
		n++;
	}
	/* trailing zeros of an integer written without exponent count as
	 * magnitude, not precision */
	return n;
}

static uint64_t
splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

Test(floats, random_bits_round_trip_and_are_shortest)
{
	uint64_t seed = 42;
	int checked = 0;
	for (int i = 0; i < 200000; i++) {
		uint64_t bits = splitmix(&seed);
		double v;
		memcpy(&v, &bits, 8);
		if (isnan(v))
			continue;
		char buf[32];
		pgl_format_double(v, buf);
		double back = strtod(buf, NULL);
		cr_assert_eq(memcmp(&back, &v, 8), 0, "%s does not read back to %a", buf, v);
		/* one digit fewer never reads back */
		int n = sig_digits(buf);
		if (n > 1 && strchr(buf, '.') != NULL) {
			char shorter[400];
			snprintf(shorter, sizeof(shorter), "%.*g", n - 1, v);
			cr_assert_neq(strtod(shorter, NULL), v, "%s is not the shortest (%s reads back)", buf,
						  shorter);
		}
		checked++;
		uint32_t fb = (uint32_t) bits;
		float f;
		memcpy(&f, &fb, 4);
		if (isnan(f))
			continue;
		pgl_format_float(f, buf);
		float fback = strtof(buf, NULL);
		cr_assert_eq(memcmp(&fback, &f, 4), 0, "%s does not read back to float %a", buf, (double) f);
		n = sig_digits(buf);
		if (n > 1 && strchr(buf, '.') != NULL) {
			char shorter[400];
			snprintf(shorter, sizeof(shorter), "%.*g", n - 1, (double) f);
			cr_assert_neq(strtof(shorter, NULL), f, "%s is not the shortest float", buf);
		}
	}
	cr_assert_gt(checked, 190000);
}

/* ---- COPY text of scalars ---------------------------------------------------- */

TestSuite(copytext, .init = setup, .fini = teardown);

Test(copytext, every_scalar_type)
{
	lk_type *s = lk_type_struct(&arena, 14);
	const char *names[] = {"b", "i8", "i16", "i32", "i64", "f32", "f64", "dec", "s",
						   "bin", "d", "ts", "ntz", "tm"};
	lk_type *types[] = {T(LK_T_BOOLEAN), T(LK_T_BYTE), T(LK_T_SHORT), T(LK_T_INT),
						T(LK_T_LONG), T(LK_T_FLOAT), T(LK_T_DOUBLE),
						lk_type_decimal(&arena, 12, 3), T(LK_T_STRING), T(LK_T_BINARY),
						T(LK_T_DATE), T(LK_T_TIMESTAMP), T(LK_T_TIMESTAMP_NTZ), T(LK_T_TIME)};
	for (int i = 0; i < 14; i++) {
		s->children[i].name = names[i];
		s->children[i].type = types[i];
		s->children[i].nullable = true;
	}
	lk_batch *b = lk_batch_new(s);
	/* row 0: ordinary values */
	lk_column_append_bool(&b->cols[0], true);
	int8_t i8 = -128;
	lk_column_append_fixed(&b->cols[1], &i8);
	int16_t i16 = 32767;
	lk_column_append_fixed(&b->cols[2], &i16);
	lk_column_append_i32(&b->cols[3], INT32_MIN);
	lk_column_append_i64(&b->cols[4], INT64_MIN);
	float f = 1.5f;
	lk_column_append_fixed(&b->cols[5], &f);
	lk_column_append_f64(&b->cols[6], -0.1);
	lk_column_append_i128(&b->cols[7], -5);             /* -0.005 */
	lk_column_append_bytes(&b->cols[8], "tab\there\\back\nnl\rcr", 19);
	lk_column_append_bytes(&b->cols[9], "\x00\xff\x10", 3);
	lk_column_append_i32(&b->cols[10], 18628);          /* 2021-01-01 */
	lk_column_append_i64(&b->cols[11], 1609459200123456LL);
	lk_column_append_i64(&b->cols[12], -1);             /* 1969-12-31 23:59:59.999999 */
	lk_column_append_i64(&b->cols[13], 45296000007LL);  /* 12:34:56.000007 */
	/* row 1: nulls everywhere */
	for (int i = 0; i < 14; i++)
		lk_column_append_null(&b->cols[i]);
	/* row 2: edges */
	lk_column_append_bool(&b->cols[0], false);
	i8 = 0;
	lk_column_append_fixed(&b->cols[1], &i8);
	i16 = -1;
	lk_column_append_fixed(&b->cols[2], &i16);
	lk_column_append_i32(&b->cols[3], 0);
	lk_column_append_i64(&b->cols[4], INT64_MAX);
	f = -INFINITY;
	lk_column_append_fixed(&b->cols[5], &f);
	lk_column_append_f64(&b->cols[6], NAN);
	lk_column_append_i128(&b->cols[7], (lk_int128) 999999999999LL);
	lk_column_append_bytes(&b->cols[8], "", 0);
	lk_column_append_bytes(&b->cols[9], "", 0);
	lk_column_append_i32(&b->cols[10], -719162);        /* 0001-01-01 */
	lk_column_append_i64(&b->cols[11], -62135596800000000LL - 86400000000LL); /* 1 BC */
	lk_column_append_i64(&b->cols[12], 253402300800000000LL);                /* 10000-01-01 */
	lk_column_append_i64(&b->cols[13], 0);
	cr_assert(lk_batch_seal(b));
	const char *got = copy_text_ok(b);
	cr_assert_str_eq(got,
					 "t\t-128\t32767\t-2147483648\t-9223372036854775808\t1.5\t-0.1\t-0.005\t"
					 "tab\\there\\\\back\\nnl\\rcr\t\\\\x00ff10\t2021-01-01\t"
					 "2021-01-01 00:00:00.123456+00\t1969-12-31 23:59:59.999999\t12:34:56.000007\n"
					 "\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\n"
					 "f\t0\t-1\t0\t9223372036854775807\t-Infinity\tNaN\t999999999.999\t\t\\\\x\t"
					 "0001-01-01\t0001-12-31 00:00:00+00 BC\t10000-01-01 00:00:00\t00:00:00\n");
	lk_batch_free(b);
}

Test(copytext, units_and_unsigned)
{
	lk_type *ms = T(LK_T_TIMESTAMP);
	ms->unit = LK_UNIT_MILLIS;
	lk_batch *b = lk_batch_new(schema1(ms));
	lk_column_append_i64(&b->cols[0], 1500);
	lk_batch_seal(b);
	cr_assert_str_eq(copy_text_ok(b), "1970-01-01 00:00:01.5+00\n");
	lk_batch_free(b);

	lk_type *ns = T(LK_T_TIMESTAMP_NTZ);
	ns->unit = LK_UNIT_NANOS;
	b = lk_batch_new(schema1(ns));
	lk_column_append_i64(&b->cols[0], 2000);
	lk_column_append_i64(&b->cols[0], 2001);
	lk_batch_seal(b);
	lk_error err;
	cr_assert_null(copy_text(b, &err), "a sub-microsecond part is refused, not rounded");
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert_str_eq(err.where, "column \"c\", row 1");
	lk_batch_free(b);

	lk_type *u64 = T(LK_T_LONG);
	u64->is_unsigned = true;
	b = lk_batch_new(schema1(u64));
	lk_column_append_i64(&b->cols[0], -1);
	lk_batch_seal(b);
	cr_assert_str_eq(copy_text_ok(b), "18446744073709551615\n");
	lk_batch_free(b);

	lk_type *uu = T(LK_T_BINARY);
	uu->ext = LK_EXT_UUID;
	uu->fixed_len = 16;
	b = lk_batch_new(schema1(uu));
	lk_column_append_bytes(&b->cols[0], "\x12\x34\x56\x78\x9a\xbc\xde\xf0\x01\x23\x45\x67\x89\xab\xcd\xef", 16);
	lk_batch_seal(b);
	cr_assert_str_eq(copy_text_ok(b), "12345678-9abc-def0-0123-456789abcdef\n");
	lk_batch_free(b);
}

Test(copytext, nul_byte_is_refused)
{
	lk_batch *b = lk_batch_new(schema1(T(LK_T_STRING)));
	lk_column_append_bytes(&b->cols[0], "ok", 2);
	lk_column_append_bytes(&b->cols[0], "a\0b", 3);
	lk_batch_seal(b);
	lk_error err;
	cr_assert_null(copy_text(b, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert(strstr(err.msg, "NUL byte"), "%s", err.msg);
	cr_assert_str_eq(err.where, "column \"c\", row 1");
	lk_batch_free(b);
}

/* ---- arrays ------------------------------------------------------------------- */

Test(copytext, arrays_quote_and_escape)
{
	lk_type *at = lk_type_array(&arena, T(LK_T_STRING), true);
	lk_batch *b = lk_batch_new(schema1(at));
	lk_column *c = &b->cols[0], *e = &c->children[0];
	const char *vals[] = {"plain", "two words", "", "NULL", "null", "q\"uote", "back\\slash",
						  "{br}", "a,b", "tab\t", "é"};
	for (int i = 0; i < 11; i++)
		lk_column_append_bytes(e, vals[i], (int64_t) strlen(vals[i]));
	lk_column_append_null(e);
	lk_column_append_list(c);
	lk_column_append_list(c);                   /* empty array */
	lk_column_append_null(c);                   /* null array */
	lk_batch_seal(b);
	/* array text: {plain,"two words","","NULL","null","q\"uote","back\\slash",
	 * "{br}","a,b","tab<TAB>",é,NULL} — then COPY doubles each backslash and
	 * escapes the tab */
	cr_assert_str_eq(copy_text_ok(b),
					 "{plain,\"two words\",\"\",\"NULL\",\"null\",\"q\\\\\"uote\","
					 "\"back\\\\\\\\slash\",\"{br}\",\"a,b\",\"tab\\t\",é,NULL}\n"
					 "{}\n"
					 "\\N\n");
	lk_batch_free(b);
}

Test(copytext, arrays_of_scalars)
{
	lk_type *s = lk_type_struct(&arena, 4);
	s->children[0] = (lk_field){"i", lk_type_array(&arena, T(LK_T_INT), true), true, -1};
	s->children[1] = (lk_field){"bin", lk_type_array(&arena, T(LK_T_BINARY), true), true, -1};
	s->children[2] = (lk_field){"ts", lk_type_array(&arena, T(LK_T_TIMESTAMP), true), true, -1};
	s->children[3] = (lk_field){"d", lk_type_array(&arena, T(LK_T_DOUBLE), true), true, -1};
	lk_batch *b = lk_batch_new(s);
	lk_column_append_i32(&b->cols[0].children[0], 1);
	lk_column_append_null(&b->cols[0].children[0]);
	lk_column_append_i32(&b->cols[0].children[0], -3);
	lk_column_append_list(&b->cols[0]);
	lk_column_append_bytes(&b->cols[1].children[0], "\x01\xab", 2);
	lk_column_append_list(&b->cols[1]);
	lk_column_append_i64(&b->cols[2].children[0], 0);
	lk_column_append_list(&b->cols[2]);
	lk_column_append_f64(&b->cols[3].children[0], NAN);
	lk_column_append_f64(&b->cols[3].children[0], -INFINITY);
	lk_column_append_f64(&b->cols[3].children[0], 2.5);
	lk_column_append_list(&b->cols[3]);
	lk_batch_seal(b);
	cr_assert_str_eq(copy_text_ok(b),
					 "{1,NULL,-3}\t{\"\\\\\\\\x01ab\"}\t{\"1970-01-01 00:00:00+00\"}\t"
					 "{NaN,-Infinity,2.5}\n");
	lk_batch_free(b);
}

/* ---- structs and maps: jsonb -------------------------------------------------- */

static lk_type *
struct_type(void)
{
	lk_type *inner = lk_type_struct(&arena, 1);
	inner->children[0] = (lk_field){"x", T(LK_T_DOUBLE), true, -1};
	lk_type *st = lk_type_struct(&arena, 5);
	st->children[0] = (lk_field){"a", T(LK_T_INT), true, -1};
	st->children[1] = (lk_field){"s\"q", T(LK_T_STRING), true, -1};
	st->children[2] = (lk_field){"ts", T(LK_T_TIMESTAMP), true, -1};
	st->children[3] = (lk_field){"in", inner, true, -1};
	st->children[4] = (lk_field){"l", lk_type_array(&arena, T(LK_T_BOOLEAN), true), true, -1};
	return st;
}

Test(copytext, struct_as_jsonb)
{
	lk_batch *b = lk_batch_new(schema1(struct_type()));
	lk_column *c = &b->cols[0];
	lk_column_append_i32(&c->children[0], 7);
	lk_column_append_bytes(&c->children[1], "line\n\"q\"\\ \x01", 11);
	lk_column_append_i64(&c->children[2], 1000001);
	lk_column_append_f64(&c->children[3].children[0], NAN);
	lk_column_append_struct(&c->children[3]);
	lk_column_append_bool(&c->children[4].children[0], true);
	lk_column_append_null(&c->children[4].children[0]);
	lk_column_append_list(&c->children[4]);
	lk_column_append_struct(c);
	/* a struct with null fields */
	lk_column_append_null(&c->children[0]);
	lk_column_append_null(&c->children[1]);
	lk_column_append_null(&c->children[2]);
	lk_column_append_null(&c->children[3]);
	lk_column_append_null(&c->children[4]);
	lk_column_append_struct(c);
	lk_column_append_null(c);
	lk_batch_seal(b);
	/* JSON: {"a": 7, "s\"q": "line\n\"q\"\\ \u0001", "ts": "1970-01-01T00:00:01.000001+00:00",
	 *        "in": {"x": "NaN"}, "l": [true, null]}
	 * and COPY doubles every backslash */
	cr_assert_str_eq(copy_text_ok(b),
					 "{\"a\": 7, \"s\\\\\"q\": \"line\\\\n\\\\\"q\\\\\"\\\\\\\\ \\\\u0001\", "
					 "\"ts\": \"1970-01-01T00:00:01.000001+00:00\", \"in\": {\"x\": \"NaN\"}, "
					 "\"l\": [true, null]}\n"
					 "{\"a\": null, \"s\\\\\"q\": null, \"ts\": null, \"in\": null, \"l\": null}\n"
					 "\\N\n");
	lk_batch_free(b);
}

Test(copytext, maps_and_arrays_of_structs)
{
	lk_type *s = lk_type_struct(&arena, 3);
	lk_type *row = lk_type_struct(&arena, 1);
	row->children[0] = (lk_field){"ab", T(LK_T_LONG), true, -1};
	s->children[0] = (lk_field){"m", lk_type_map(&arena, T(LK_T_INT), T(LK_T_LONG), true), true, -1};
	s->children[1] = (lk_field){"as", lk_type_array(&arena, row, true), true, -1};
	s->children[2] = (lk_field){"aa", lk_type_array(&arena, lk_type_array(&arena, T(LK_T_INT), true),
												   true), true, -1};
	lk_batch *b = lk_batch_new(s);
	lk_column *m = &b->cols[0];
	lk_column_append_i32(&m->children[0], -1);
	lk_column_append_i64(&m->children[1], 10);
	lk_column_append_i32(&m->children[0], 2);
	lk_column_append_null(&m->children[1]);
	lk_column_append_list(m);
	lk_column *as = &b->cols[1], *re = &as->children[0];
	lk_column_append_i64(&re->children[0], 5);
	lk_column_append_struct(re);
	lk_column_append_null(re);
	lk_column_append_list(as);
	lk_column *aa = &b->cols[2], *inner = &aa->children[0];
	lk_column_append_i32(&inner->children[0], 1);
	lk_column_append_i32(&inner->children[0], 2);
	lk_column_append_list(inner);
	lk_column_append_list(inner);
	lk_column_append_null(inner);
	lk_column_append_list(aa);
	lk_batch_seal(b);
	cr_assert_str_eq(copy_text_ok(b),
					 "{\"-1\": 10, \"2\": null}\t"
					 "{\"{\\\\\"ab\\\\\": 5}\",NULL}\t"
					 "[[1, 2], [], null]\n");
	lk_batch_free(b);
}

/* ---- against a server ----------------------------------------------------------- */

static pgc_conn *
test_conn(void)
{
	const char *dsn = getenv("LAKESYNC_TEST_DSN");
	if (!dsn || !*dsn)
		cr_skip_test("LAKESYNC_TEST_DSN not set");
	lk_error err;
	pgc_conn *c = pgc_connect(dsn, false, &err);
	cr_assert(c, "connect: %s", err.msg);
	return c;
}

static void
exec_ok(pgc_conn *c, const char *sql)
{
	lk_error err;
	cr_assert(pgc_exec(c, sql, &err), "%s: %s", sql, err.msg);
}

/* Load b into a fresh table (DDL from its schema), then read each column
 * back as PostgreSQL's text (`c::text`, rows ordered by "k"), one line per
 * row with '|' between columns and "<null>" for null. */
static char *
load_and_read(pgc_conn *c, const char *table, lk_batch *b)
{
	lk_error err;
	lk_buf sql = LK_BUF_INIT;
	int n = b->ncols;
	pgl_column *cols = lk_arena_zalloc(&arena, sizeof(pgl_column) * (size_t) n);
	for (int i = 0; i < n; i++) {
		cols[i].name = b->schema->children[i].name;
		cols[i].type = b->schema->children[i].type;
		cols[i].sql_type = pgl_sql_type(cols[i].type, &arena);
	}
	lk_buf_printf(&sql, "DROP TABLE IF EXISTS \"%s\"", table);
	exec_ok(c, lk_buf_cstr(&sql));
	lk_buf_reset(&sql);
	cr_assert(pgl_create_table_sql(&sql, "public", table, cols, n, false, &err));
	exec_ok(c, lk_buf_cstr(&sql));
	lk_buf_reset(&sql);
	lk_buf_printf(&sql, "COPY \"%s\" FROM STDIN", table);
	pgl_copy cp;
	cr_assert(pgl_copy_begin(&cp, c, lk_buf_cstr(&sql), b->nrows > 100, &err), "%s", err.msg);
	cr_assert(pgl_copy_batch(&cp, b, &err), "%s", err.msg);
	int64_t rows = -1;
	cr_assert(pgl_copy_end(&cp, &rows, &err), "copy: %s (%s)", err.msg, err.where);
	cr_assert_eq(rows, b->nrows);
	lk_buf_reset(&sql);
	lk_buf_append_str(&sql, "SELECT ");
	for (int i = 0; i < n; i++) {
		if (i)
			lk_buf_append_str(&sql, " || '|' || ");
		lk_buf_printf(&sql, "coalesce(\"%s\"::text, '<null>')", cols[i].name);
	}
	lk_buf_printf(&sql, " FROM \"%s\" ORDER BY \"k\"", table);
	PGresult *r = pgc_query(c, lk_buf_cstr(&sql), &err);
	cr_assert(r, "%s", err.msg);
	lk_buf out = LK_BUF_INIT;
	for (int i = 0; i < PQntuples(r); i++) {
		lk_buf_append_str(&out, PQgetvalue(r, i, 0));
		lk_buf_append_byte(&out, '\n');
	}
	PQclear(r);
	lk_buf_free(&sql);
	char *s = lk_arena_strdup(&arena, lk_buf_cstr(&out));
	lk_buf_free(&out);
	return s;
}

TestSuite(pgint, .init = setup, .fini = teardown);

Test(pgint, scalars_read_back_exactly)
{
	pgc_conn *c = test_conn();
	lk_type *s = lk_type_struct(&arena, 11);
	const char *names[] = {"k", "b", "f32", "f64", "dec", "s", "bin", "d", "ts", "ntz", "tm"};
	lk_type *types[] = {T(LK_T_INT), T(LK_T_BOOLEAN), T(LK_T_FLOAT), T(LK_T_DOUBLE),
						lk_type_decimal(&arena, 38, 10), T(LK_T_STRING), T(LK_T_BINARY),
						T(LK_T_DATE), T(LK_T_TIMESTAMP), T(LK_T_TIMESTAMP_NTZ), T(LK_T_TIME)};
	for (int i = 0; i < 11; i++)
		s->children[i] = (lk_field){names[i], types[i], true, -1};
	lk_batch *b = lk_batch_new(s);
	/* row 1 */
	lk_column_append_i32(&b->cols[0], 1);
	lk_column_append_bool(&b->cols[1], true);
	float f = 0.1f;
	lk_column_append_fixed(&b->cols[2], &f);
	lk_column_append_f64(&b->cols[3], 5e-324);
	/* 38 nines: the largest decimal(38,10) */
	lk_int128 big = (lk_int128) 9999999999999999999ULL * 10000000000000000000ULL +
					9999999999999999999ULL;
	lk_column_append_i128(&b->cols[4], -big);
	const char *sv = "tab\there\\ \"quoted\" new\nline é";
	lk_column_append_bytes(&b->cols[5], sv, (int64_t) strlen(sv));
	lk_column_append_bytes(&b->cols[6], "\x00\\\n\xff", 4);
	lk_column_append_i32(&b->cols[7], -719162);
	lk_column_append_i64(&b->cols[8], 253402300799999999LL);
	lk_column_append_i64(&b->cols[9], -62135596800000000LL);
	lk_column_append_i64(&b->cols[10], 86399999999LL);
	/* row 2 */
	lk_column_append_i32(&b->cols[0], 2);
	lk_column_append_bool(&b->cols[1], false);
	f = -INFINITY;
	lk_column_append_fixed(&b->cols[2], &f);
	lk_column_append_f64(&b->cols[3], -0.0);
	lk_column_append_i128(&b->cols[4], 1);
	lk_column_append_bytes(&b->cols[5], "\\N", 2);
	lk_column_append_bytes(&b->cols[6], "", 0);
	lk_column_append_i32(&b->cols[7], -719163);         /* 0001-12-31 BC */
	lk_column_append_i64(&b->cols[8], -62135596800000001LL);
	lk_column_append_i64(&b->cols[9], 0);
	lk_column_append_i64(&b->cols[10], 0);
	/* row 3: nulls */
	lk_column_append_i32(&b->cols[0], 3);
	for (int i = 1; i < 11; i++)
		lk_column_append_null(&b->cols[i]);
	lk_batch_seal(b);
	char *got = load_and_read(c, "pgload_scalars", b);
	cr_assert_str_eq(got,
					 "1|true|0.1|5e-324|-9999999999999999999999999999.9999999999|"
					 "tab\there\\ \"quoted\" new\nline é|\\x005c0aff|0001-01-01|"
					 "9999-12-31 23:59:59.999999+00|0001-01-01 00:00:00|23:59:59.999999\n"
					 "2|false|-Infinity|-0|0.0000000001|\\N|\\x|0001-12-31 BC|"
					 "0001-12-31 23:59:59.999999+00 BC|1970-01-01 00:00:00|00:00:00\n"
					 "3|<null>|<null>|<null>|<null>|<null>|<null>|<null>|<null>|<null>|<null>\n");
	lk_batch_free(b);
	pgc_close(c);
}

Test(pgint, random_doubles_are_bit_exact)
{
	pgc_conn *c = test_conn();
	lk_type *s = lk_type_struct(&arena, 3);
	s->children[0] = (lk_field){"k", T(LK_T_INT), true, -1};
	s->children[1] = (lk_field){"d", T(LK_T_DOUBLE), true, -1};
	s->children[2] = (lk_field){"f", T(LK_T_FLOAT), true, -1};
	lk_batch *b = lk_batch_new(s);
	uint64_t seed = 7;
	double dv[2000];
	float fv[2000];
	for (int i = 0; i < 2000; i++) {
		uint64_t bits = splitmix(&seed);
		memcpy(&dv[i], &bits, 8);
		if (isnan(dv[i]))
			dv[i] = 1.25;
		uint32_t fb = (uint32_t) (bits >> 17);
		memcpy(&fv[i], &fb, 4);
		if (isnan(fv[i]))
			fv[i] = 0.5f;
		lk_column_append_i32(&b->cols[0], i);
		lk_column_append_f64(&b->cols[1], dv[i]);
		lk_column_append_fixed(&b->cols[2], &fv[i]);
	}
	lk_batch_seal(b);
	/* the server's own binary form of each value: float8send/float4send */
	char *got = load_and_read(c, "pgload_floats", b);
	(void) got;
	lk_error err;
	PGresult *r = pgc_query(c, "SELECT k, encode(float8send(d), 'hex'), encode(float4send(f), 'hex') "
							   "FROM pgload_floats ORDER BY k", &err);
	cr_assert(r, "%s", err.msg);
	cr_assert_eq(PQntuples(r), 2000);
	for (int i = 0; i < 2000; i++) {
		uint64_t bits;
		memcpy(&bits, &dv[i], 8);
		char want[17];
		snprintf(want, sizeof(want), "%016llx", (unsigned long long) bits);
		cr_assert_str_eq(PQgetvalue(r, i, 1), want, "double %d (%a)", i, dv[i]);
		uint32_t fb;
		memcpy(&fb, &fv[i], 4);
		snprintf(want, sizeof(want), "%08x", fb);
		cr_assert_str_eq(PQgetvalue(r, i, 2), want, "float %d (%a)", i, (double) fv[i]);
	}
	PQclear(r);
	lk_batch_free(b);
	pgc_close(c);
}

Test(pgint, nested_read_back)
{
	pgc_conn *c = test_conn();
	lk_type *s = lk_type_struct(&arena, 5);
	lk_type *row = lk_type_struct(&arena, 1);
	row->children[0] = (lk_field){"ab", T(LK_T_LONG), true, -1};
	s->children[0] = (lk_field){"k", T(LK_T_INT), true, -1};
	s->children[1] = (lk_field){"st", struct_type(), true, -1};
	s->children[2] = (lk_field){"arr", lk_type_array(&arena, T(LK_T_STRING), true), true, -1};
	s->children[3] = (lk_field){"as", lk_type_array(&arena, row, true), true, -1};
	s->children[4] = (lk_field){"m", lk_type_map(&arena, T(LK_T_STRING), T(LK_T_BINARY), true),
								true, -1};
	lk_batch *b = lk_batch_new(s);
	lk_column_append_i32(&b->cols[0], 1);
	lk_column *st = &b->cols[1];
	lk_column_append_i32(&st->children[0], 7);
	lk_column_append_bytes(&st->children[1], "line\n\"q\"\\ \x01", 11);
	lk_column_append_i64(&st->children[2], 1000001);
	lk_column_append_f64(&st->children[3].children[0], 0.1);
	lk_column_append_struct(&st->children[3]);
	lk_column_append_bool(&st->children[4].children[0], true);
	lk_column_append_null(&st->children[4].children[0]);
	lk_column_append_list(&st->children[4]);
	lk_column_append_struct(st);
	const char *vals[] = {"", "NULL", "a\\b\"c", "{x}", "tab\t", "new\nline"};
	for (int i = 0; i < 6; i++)
		lk_column_append_bytes(&b->cols[2].children[0], vals[i], (int64_t) strlen(vals[i]));
	lk_column_append_null(&b->cols[2].children[0]);
	lk_column_append_list(&b->cols[2]);
	lk_column *re = &b->cols[3].children[0];
	lk_column_append_i64(&re->children[0], 5);
	lk_column_append_struct(re);
	lk_column_append_null(re);
	lk_column_append_list(&b->cols[3]);
	lk_column *m = &b->cols[4];
	lk_column_append_bytes(&m->children[0], "k\"1", 3);
	lk_column_append_bytes(&m->children[1], "\x01\x02", 2);
	lk_column_append_list(m);
	lk_batch_seal(b);
	char *got = load_and_read(c, "pgload_nested", b);
	cr_assert_str_eq(got,
					 "1|{\"a\": 7, \"l\": [true, null], \"in\": {\"x\": 0.1}, \"ts\": "
					 "\"1970-01-01T00:00:01.000001+00:00\", \"s\\\"q\": \"line\\n\\\"q\\\"\\\\ "
					 "\\u0001\"}|{\"\",\"NULL\",\"a\\\\b\\\"c\",\"{x}\",\"tab\t\",\"new\nline\",NULL}|"
					 "{\"{\\\"ab\\\": 5}\",NULL}|{\"k\\\"1\": \"\\\\x0102\"}\n");
	/* element by element, as PostgreSQL sees them */
	lk_error err;
	PGresult *r = pgc_query(c, "SELECT arr[3], arr[6], arr[2] IS NULL, arr[7] IS NULL, "
							   "st->'s\"q'->>0 IS NULL, st->>'s\"q', \"as\"[1]->>'ab' FROM pgload_nested",
							&err);
	cr_assert(r, "%s", err.msg);
	cr_assert_str_eq(PQgetvalue(r, 0, 0), "a\\b\"c");
	cr_assert_str_eq(PQgetvalue(r, 0, 1), "new\nline");
	cr_assert_str_eq(PQgetvalue(r, 0, 2), "f", "the string \"NULL\" is not a null element");
	cr_assert_str_eq(PQgetvalue(r, 0, 3), "t");
	cr_assert_str_eq(PQgetvalue(r, 0, 5), "line\n\"q\"\\ \x01");
	cr_assert_str_eq(PQgetvalue(r, 0, 6), "5");
	PQclear(r);
	lk_batch_free(b);
	pgc_close(c);
}

/* ---- the fast paths against the plain definitions ---------------------------- */

/* The definition: the first of %.15g, %.16g, %.17g that reads back. */
static void
slow_double(double v, char *buf)
{
	for (int p = 15; p <= 17; p++) {
		snprintf(buf, 40, "%.*g", p, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

Test(floats, same_text_as_the_printf_definition)
{
	uint64_t seed = 99;
	char fast[40], slow[40];
	/* random bits, and values with few digits (ties of the 17-digit form) */
	for (int i = 0; i < 300000; i++) {
		uint64_t bits = splitmix(&seed);
		double v;
		if (i % 4 == 3) {
			/* every binade of 1e-6 .. 1e37 (the exact integer path) */
			v = ldexp((double) ((bits >> 11) | (1ull << 52)), (int) (bits % 144) - 72);
			if (bits & 1)
				v = -v;
		} else if (i % 4 == 0) {
			memcpy(&v, &bits, 8);
		} else if (i % 4 == 1) {
			v = (double) (int64_t) (bits % 2000000001ull - 1000000000) / 1e5;
		} else {
			v = ((double) (bits >> 11) / 9007199254740992.0 - 0.5) * 1e6;
		}
		if (isnan(v) || isinf(v) || v == 0 || fabs(v) < DBL_MIN ||
			(fabs(v) < 1e15 && v == (double) (int64_t) v))
			continue;
		pgl_format_double(v, fast);
		slow_double(v, slow);
		cr_assert_str_eq(fast, slow, "%a", v);
	}
	/* exact ties of the 17-digit form: 0.5 steps at 17 digits */
	const double ties[] = {1.0000000000000005, 12345.678901234565, 0.12345678901234565,
						   9.9999999999999995e22, 5e-5, 1.5e-5, 123456789012345.67};
	for (size_t i = 0; i < sizeof(ties) / sizeof(ties[0]); i++) {
		pgl_format_double(ties[i], fast);
		slow_double(ties[i], slow);
		cr_assert_str_eq(fast, slow, "%a", ties[i]);
	}
}

Test(copytext, decimals_as_lk_decimal_to_string)
{
	uint64_t seed = 5;
	lk_type *t = lk_type_decimal(&arena, 38, 10);
	for (int i = 0; i < 20000; i++) {
		unsigned __int128 u = (unsigned __int128) splitmix(&seed) << 64 | splitmix(&seed);
		lk_int128 v = (lk_int128) u >> (i % 120);     /* both signs, every size */
		int scale = i % 39;
		t->scale = (uint8_t) scale;
		lk_batch *b = lk_batch_new(schema1(t));
		lk_column_append_i128(&b->cols[0], v);
		lk_batch_seal(b);
		char want[64];
		lk_decimal_to_string(v, scale, want);
		strcat(want, "\n");
		cr_assert_str_eq(copy_text_ok(b), want, "scale %d", scale);
		lk_batch_free(b);
	}
}
