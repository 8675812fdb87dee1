#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/error.h"
#include "common/types.h"
#include "pg/pgtypes.h"

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

/* numeric(p,s) typmod as PostgreSQL stores it */
static int32_t
nummod(int p, int s)
{
	return ((p << 16) | (s & 0x7ff)) + 4;
}

static const char *
mapped_name(uint32_t oid, int32_t typmod, int ndims)
{
	const pgt_conv *c = pgt_map_oid(&arena, oid, typmod, ndims);
	return lk_type_name(&arena, c->type);
}

/* ---------------------------------------------------------------- mapping */

TestSuite(map, .init = setup, .fini = teardown);

Test(map, builtin_scalars)
{
	cr_assert_str_eq(mapped_name(PGT_OID_BOOL, -1, 0), "boolean");
	cr_assert_str_eq(mapped_name(PGT_OID_INT2, -1, 0), "short");
	cr_assert_str_eq(mapped_name(PGT_OID_INT4, -1, 0), "integer");
	cr_assert_str_eq(mapped_name(PGT_OID_INT8, -1, 0), "long");
	cr_assert_str_eq(mapped_name(PGT_OID_FLOAT4, -1, 0), "float");
	cr_assert_str_eq(mapped_name(PGT_OID_FLOAT8, -1, 0), "double");
	cr_assert_str_eq(mapped_name(PGT_OID_TEXT, -1, 0), "string");
	cr_assert_str_eq(mapped_name(PGT_OID_VARCHAR, 24, 0), "string");
	cr_assert_str_eq(mapped_name(PGT_OID_BPCHAR, 9, 0), "string");
	cr_assert_str_eq(mapped_name(PGT_OID_NAME, -1, 0), "string");
	cr_assert_str_eq(mapped_name(PGT_OID_BYTEA, -1, 0), "binary");
	cr_assert_str_eq(mapped_name(PGT_OID_UUID, -1, 0), "string");
	cr_assert_eq(pgt_map_oid(&arena, PGT_OID_UUID, -1, 0)->kind, PGT_K_UUID);
	cr_assert_str_eq(mapped_name(PGT_OID_DATE, -1, 0), "date");
	cr_assert_str_eq(mapped_name(PGT_OID_TIMESTAMP, -1, 0), "timestamp_ntz");
	cr_assert_str_eq(mapped_name(PGT_OID_TIMESTAMPTZ, 3, 0), "timestamp");
	cr_assert_eq(pgt_map_oid(&arena, PGT_OID_TIMESTAMPTZ, -1, 0)->type->unit, LK_UNIT_MICROS);
	cr_assert_str_eq(mapped_name(PGT_OID_TIME, -1, 0), "string");
	cr_assert_str_eq(mapped_name(PGT_OID_TIMETZ, -1, 0), "string");
	cr_assert_str_eq(mapped_name(PGT_OID_INTERVAL, -1, 0), "string");
	cr_assert_str_eq(mapped_name(PGT_OID_JSON, -1, 0), "string");
	cr_assert_str_eq(mapped_name(PGT_OID_JSONB, -1, 0), "string");
	cr_assert_str_eq(mapped_name(PGT_OID_INET, -1, 0), "string");
	cr_assert_str_eq(mapped_name(PGT_OID_MONEY, -1, 0), "string");
	cr_assert_str_eq(mapped_name(PGT_OID_XML, -1, 0), "string");
	cr_assert_str_eq(mapped_name(99999, -1, 0), "string", "unknown oid");
	cr_assert_eq(pgt_map_oid(&arena, 99999, -1, 0)->kind, PGT_K_TEXT);
}

Test(map, numeric)
{
	cr_assert_str_eq(mapped_name(PGT_OID_NUMERIC, nummod(12, 3), 0), "decimal(12,3)");
	cr_assert_str_eq(mapped_name(PGT_OID_NUMERIC, nummod(38, 38), 0), "decimal(38,38)");
	cr_assert_str_eq(mapped_name(PGT_OID_NUMERIC, nummod(1, 0), 0), "decimal(1,0)");
	cr_assert_str_eq(mapped_name(PGT_OID_NUMERIC, -1, 0), "string", "no typmod");
	cr_assert_str_eq(mapped_name(PGT_OID_NUMERIC, nummod(39, 2), 0), "string", "p > 38");
	cr_assert_str_eq(mapped_name(PGT_OID_NUMERIC, nummod(1000, 0), 0), "string");
	cr_assert_str_eq(mapped_name(PGT_OID_NUMERIC, nummod(5, -2), 0), "string", "negative scale");
	cr_assert_str_eq(mapped_name(PGT_OID_NUMERIC, nummod(3, 5), 0), "string", "scale > precision");
	int p, s;
	cr_assert(pgt_numeric_typmod(nummod(5, -2), &p, &s));
	cr_assert_eq(p, 5);
	cr_assert_eq(s, -2);
	cr_assert_not(pgt_numeric_typmod(-1, &p, &s));
}

Test(map, arrays)
{
	cr_assert_str_eq(mapped_name(PGT_OID_INT4_ARRAY, -1, 1), "array<integer>");
	cr_assert_str_eq(mapped_name(PGT_OID_INT4_ARRAY, -1, 0), "array<integer>", "ndims unknown");
	cr_assert_str_eq(mapped_name(PGT_OID_INT4_ARRAY, -1, 2), "string", "multi-dimensional");
	cr_assert_str_eq(mapped_name(PGT_OID_TEXT_ARRAY, -1, 1), "array<string>");
	cr_assert_str_eq(mapped_name(PGT_OID_NUMERIC_ARRAY, nummod(10, 2), 1),
					 "array<decimal(10,2)>", "the column typmod is the element's");
	cr_assert_str_eq(mapped_name(PGT_OID_NUMERIC_ARRAY, -1, 1), "array<string>");
	cr_assert_str_eq(mapped_name(PGT_OID_TIMESTAMPTZ_ARRAY, -1, 1), "array<timestamp>");
	cr_assert_str_eq(mapped_name(PGT_OID_BYTEA_ARRAY, -1, 1), "array<binary>");
	cr_assert_str_eq(mapped_name(PGT_OID_UUID_ARRAY, -1, 1), "array<string>");
	cr_assert_str_eq(mapped_name(PGT_OID_JSONB_ARRAY, -1, 1), "array<string>");
	const pgt_conv *c = pgt_map_oid(&arena, PGT_OID_INT8_ARRAY, -1, 1);
	cr_assert_eq(c->kind, PGT_K_ARRAY);
	cr_assert_eq(c->delim, ',');
	cr_assert_eq(c->elem->kind, PGT_K_INT8);
	cr_assert(c->type->children[0].nullable);
	cr_assert_eq(pgt_map_oid(&arena, 1020 /* box[] */, -1, 1)->delim, ';');
}

Test(map, enums_domains_and_user_arrays)
{
	/* enum: string */
	pgt_type_desc mood = {.oid = 16500, .typmod = -1, .typtype = 'e', .typcategory = 'E'};
	const pgt_conv *c = pgt_map_type(&arena, &mood);
	cr_assert_eq(c->type->id, LK_T_STRING);
	cr_assert_eq(c->kind, PGT_K_TEXT);

	/* array of an enum: array<string> */
	pgt_type_desc moods = {.oid = 16499, .typmod = -1, .typtype = 'b', .typcategory = 'A',
						   .elem = &mood};
	cr_assert_str_eq(lk_type_name(&arena, pgt_map_type(&arena, &moods)->type), "array<string>");
	moods.ndims = 2;
	cr_assert_str_eq(lk_type_name(&arena, pgt_map_type(&arena, &moods)->type), "string");

	/* domain over int4, over numeric(10,2), over a domain */
	pgt_type_desc int4 = {.oid = PGT_OID_INT4, .typmod = -1};
	pgt_type_desc posint = {.oid = 16600, .typmod = -1, .typtype = 'd', .base = &int4};
	c = pgt_map_type(&arena, &posint);
	cr_assert_eq(c->type->id, LK_T_INT);
	cr_assert_eq(c->kind, PGT_K_INT4);
	cr_assert_eq(c->pg_oid, PGT_OID_INT4);
	pgt_type_desc num = {.oid = PGT_OID_NUMERIC, .typmod = nummod(10, 2)};
	pgt_type_desc money2 = {.oid = 16601, .typmod = -1, .typtype = 'd', .base = &num};
	cr_assert_str_eq(lk_type_name(&arena, pgt_map_type(&arena, &money2)->type), "decimal(10,2)");
	pgt_type_desc dd = {.oid = 16602, .typmod = -1, .typtype = 'd', .base = &posint};
	cr_assert_eq(pgt_map_type(&arena, &dd)->type->id, LK_T_INT);
	/* a domain without its base: string */
	pgt_type_desc lost = {.oid = 16603, .typmod = -1, .typtype = 'd'};
	cr_assert_eq(pgt_map_type(&arena, &lost)->type->id, LK_T_STRING);

	/* array of a domain; domain over an array */
	pgt_type_desc posints = {.oid = 16604, .typmod = -1, .typcategory = 'A', .elem = &posint};
	cr_assert_str_eq(lk_type_name(&arena, pgt_map_type(&arena, &posints)->type), "array<integer>");
	pgt_type_desc i4arr = {.oid = PGT_OID_INT4_ARRAY, .typmod = -1};
	pgt_type_desc arrdom = {.oid = 16605, .typmod = -1, .typtype = 'd', .base = &i4arr};
	cr_assert_str_eq(lk_type_name(&arena, pgt_map_type(&arena, &arrdom)->type), "array<integer>");
	arrdom.ndims = 3;
	cr_assert_str_eq(lk_type_name(&arena, pgt_map_type(&arena, &arrdom)->type), "string");

	/* citext (an extension type: no fixed oid), composite, range: string */
	pgt_type_desc citext = {.oid = 17000, .typmod = -1, .typtype = 'b', .typcategory = 'S'};
	cr_assert_eq(pgt_map_type(&arena, &citext)->type->id, LK_T_STRING);
	pgt_type_desc comp = {.oid = 17001, .typmod = -1, .typtype = 'c', .typcategory = 'C'};
	cr_assert_eq(pgt_map_type(&arena, &comp)->type->id, LK_T_STRING);
	/* a fixed-length type with typelem (like point) is not an array */
	pgt_type_desc f8 = {.oid = PGT_OID_FLOAT8, .typmod = -1};
	pgt_type_desc pointlike = {.oid = 17002, .typmod = -1, .typtype = 'b', .typcategory = 'G',
							   .elem = &f8};
	cr_assert_eq(pgt_map_type(&arena, &pointlike)->type->id, LK_T_STRING);
	/* a cycle in what the caller passed does not loop forever */
	pgt_type_desc cyc = {.oid = 17003, .typmod = -1, .typtype = 'd'};
	cyc.base = &cyc;
	cr_assert_eq(pgt_map_type(&arena, &cyc)->type->id, LK_T_STRING);
}

Test(map, builtin_oid_by_name)
{
	cr_assert_eq(pgt_builtin_oid("int4"), 23u);
	cr_assert_eq(pgt_builtin_oid("timestamptz"), 1184u);
	cr_assert_eq(pgt_builtin_oid("_int4"), 1007u);
	cr_assert_eq(pgt_builtin_oid("numeric"), 1700u);
	cr_assert_eq(pgt_builtin_oid("mood"), 0u);
}

/* ---------------------------------------------------------------- values */

TestSuite(values, .init = setup, .fini = teardown);

typedef struct {
	const pgt_conv *conv;
	lk_column col;
	lk_error err;
} fixture;

static void
fx_init(fixture *f, uint32_t oid, int32_t typmod)
{
	f->conv = pgt_map_oid(&arena, oid, typmod, 0);
	lk_column_init(&f->col, f->conv->type);
	lk_error_clear(&f->err);
}

static bool
put(fixture *f, const char *text)
{
	return pgt_append_text(f->conv, &f->col, "c", text, text ? strlen(text) : 0, &f->err);
}

/* appending text fails with code, message containing part; column unchanged */
static void
put_fails(fixture *f, const char *text, lk_error_code code, const char *part)
{
	int64_t before = f->col.length;
	cr_assert_not(put(f, text), "\"%s\" accepted", text);
	cr_assert_eq(f->err.code, code, "\"%s\": code %d, msg %s", text, f->err.code, f->err.msg);
	cr_assert(strstr(f->err.msg, part) != NULL, "\"%s\": msg=%s", text, f->err.msg);
	cr_assert(strstr(f->err.where, "column \"c\"") != NULL, "where=%s", f->err.where);
	cr_assert_eq(f->col.length, before);
}

Test(values, bool_and_null)
{
	fixture f;
	fx_init(&f, PGT_OID_BOOL, -1);
	cr_assert(put(&f, "t"));
	cr_assert(put(&f, "f"));
	cr_assert(put(&f, NULL));
	cr_assert_eq(f.col.length, 3);
	cr_assert_eq(LK_COL_VALUES(&f.col, uint8_t)[0], 1);
	cr_assert_eq(LK_COL_VALUES(&f.col, uint8_t)[1], 0);
	cr_assert(lk_column_is_null(&f.col, 2));
	cr_assert_not(lk_column_is_null(&f.col, 0));
	cr_assert_eq(f.col.null_count, 1);
	put_fails(&f, "true", LK_ERR_CORRUPT, "invalid input syntax for type boolean");
	put_fails(&f, "", LK_ERR_CORRUPT, "boolean");
	lk_column_destroy(&f.col);
}

Test(values, integers_min_max_overflow)
{
	fixture f;
	fx_init(&f, PGT_OID_INT2, -1);
	cr_assert(put(&f, "-32768"));
	cr_assert(put(&f, "32767"));
	cr_assert(put(&f, "0"));
	cr_assert_eq(LK_COL_VALUES(&f.col, int16_t)[0], INT16_MIN);
	cr_assert_eq(LK_COL_VALUES(&f.col, int16_t)[1], INT16_MAX);
	put_fails(&f, "32768", LK_ERR_CORRUPT, "integer out of range");
	put_fails(&f, "-32769", LK_ERR_CORRUPT, "integer out of range");
	put_fails(&f, "", LK_ERR_CORRUPT, "invalid input syntax for type integer");
	put_fails(&f, "-", LK_ERR_CORRUPT, "invalid input");
	put_fails(&f, "1.0", LK_ERR_CORRUPT, "invalid input");
	put_fails(&f, " 1", LK_ERR_CORRUPT, "invalid input");
	lk_column_destroy(&f.col);

	fx_init(&f, PGT_OID_INT4, -1);
	cr_assert(put(&f, "-2147483648"));
	cr_assert(put(&f, "2147483647"));
	cr_assert_eq(LK_COL_VALUES(&f.col, int32_t)[0], INT32_MIN);
	cr_assert_eq(LK_COL_VALUES(&f.col, int32_t)[1], INT32_MAX);
	put_fails(&f, "2147483648", LK_ERR_CORRUPT, "out of range");
	lk_column_destroy(&f.col);

	fx_init(&f, PGT_OID_INT8, -1);
	cr_assert(put(&f, "-9223372036854775808"));
	cr_assert(put(&f, "9223372036854775807"));
	cr_assert(put(&f, "-0"));
	cr_assert_eq(LK_COL_VALUES(&f.col, int64_t)[0], INT64_MIN);
	cr_assert_eq(LK_COL_VALUES(&f.col, int64_t)[1], INT64_MAX);
	cr_assert_eq(LK_COL_VALUES(&f.col, int64_t)[2], 0);
	put_fails(&f, "9223372036854775808", LK_ERR_CORRUPT, "out of range");
	put_fails(&f, "-9223372036854775809", LK_ERR_CORRUPT, "out of range");
	put_fails(&f, "99999999999999999999999", LK_ERR_CORRUPT, "out of range");
	lk_column_destroy(&f.col);
}

Test(values, floats_exact_and_special)
{
	fixture f;
	fx_init(&f, PGT_OID_FLOAT8, -1);
	const char *in[] = {"0.1", "-1.7976931348623157e+308", "5e-324", "NaN", "Infinity",
						"-Infinity", "-0", "1e+100", "123456789012345680"};
	for (size_t i = 0; i < 9; i++)
		cr_assert(put(&f, in[i]), "%s: %s", in[i], f.err.msg);
	double *d = LK_COL_VALUES(&f.col, double);
	cr_assert(d[0] == 0.1);
	cr_assert(d[1] == -DBL_MAX);
	cr_assert(d[2] == 4.9406564584124654e-324, "subnormal kept");
	cr_assert(isnan(d[3]));
	cr_assert(isinf(d[4]) && d[4] > 0);
	cr_assert(isinf(d[5]) && d[5] < 0);
	cr_assert(d[6] == 0 && signbit(d[6]), "-0 keeps its sign");
	cr_assert(d[7] == 1e100);
	cr_assert(d[8] == 123456789012345680.0);
	put_fails(&f, "1e-400", LK_ERR_CORRUPT, "out of range");
	put_fails(&f, "1e400", LK_ERR_CORRUPT, "out of range");
	put_fails(&f, "nan", LK_ERR_CORRUPT, "invalid input syntax for type double precision");
	put_fails(&f, "inf", LK_ERR_CORRUPT, "invalid input");
	put_fails(&f, "0x10", LK_ERR_CORRUPT, "invalid input");
	put_fails(&f, "1e", LK_ERR_CORRUPT, "invalid input");
	put_fails(&f, "", LK_ERR_CORRUPT, "invalid input");
	lk_column_destroy(&f.col);

	fx_init(&f, PGT_OID_FLOAT4, -1);
	cr_assert(put(&f, "3.4028235e+38"));
	cr_assert(put(&f, "1e-45"));
	cr_assert(put(&f, "0.1"));
	cr_assert(put(&f, "-Infinity"));
	cr_assert(put(&f, "NaN"));
	float *x = LK_COL_VALUES(&f.col, float);
	cr_assert(x[0] == FLT_MAX);
	cr_assert(x[1] == 1e-45f, "smallest subnormal float");
	cr_assert(x[2] == 0.1f);
	cr_assert(isinf(x[3]) && x[3] < 0);
	cr_assert(isnan(x[4]));
	put_fails(&f, "3.5e+38", LK_ERR_CORRUPT, "out of range for type real");
	lk_column_destroy(&f.col);
}

Test(values, numeric_to_decimal)
{
	fixture f;
	fx_init(&f, PGT_OID_NUMERIC, nummod(5, 2));
	cr_assert(put(&f, "123.45"));
	cr_assert(put(&f, "-999.99"));
	cr_assert(put(&f, "0.5"));
	cr_assert(put(&f, "7"));
	lk_int128 *v = LK_COL_VALUES(&f.col, lk_int128);
	cr_assert(v[0] == 12345);
	cr_assert(v[1] == -99999);
	cr_assert(v[2] == 50);
	cr_assert(v[3] == 700);
	put_fails(&f, "NaN", LK_ERR_UNSUPPORTED, "cannot represent numeric in decimal(5,2)");
	put_fails(&f, "Infinity", LK_ERR_UNSUPPORTED, "cannot represent");
	put_fails(&f, "-Infinity", LK_ERR_UNSUPPORTED, "cannot represent");
	put_fails(&f, "1000.00", LK_ERR_UNSUPPORTED, "cannot represent");
	put_fails(&f, "1.234", LK_ERR_UNSUPPORTED, "cannot represent"); /* never rounded */
	put_fails(&f, "1e5", LK_ERR_CORRUPT, "invalid input syntax for type numeric");
	put_fails(&f, ".5", LK_ERR_CORRUPT, "invalid input");
	put_fails(&f, "-", LK_ERR_CORRUPT, "invalid input");
	put_fails(&f, "", LK_ERR_CORRUPT, "invalid input");
	lk_column_destroy(&f.col);

	fx_init(&f, PGT_OID_NUMERIC, nummod(38, 0));
	cr_assert(put(&f, "99999999999999999999999999999999999999"));
	cr_assert(put(&f, "-99999999999999999999999999999999999999"));
	char buf[64];
	cr_assert_str_eq(lk_decimal_to_string(LK_COL_VALUES(&f.col, lk_int128)[0], 0, buf),
					 "99999999999999999999999999999999999999");
	cr_assert_str_eq(lk_decimal_to_string(LK_COL_VALUES(&f.col, lk_int128)[1], 0, buf),
					 "-99999999999999999999999999999999999999");
	put_fails(&f, "100000000000000000000000000000000000000", LK_ERR_UNSUPPORTED, "cannot represent");
	lk_column_destroy(&f.col);

	fx_init(&f, PGT_OID_NUMERIC, nummod(38, 38));
	cr_assert(put(&f, "0.00000000000000000000000000000000000001"));
	cr_assert(LK_COL_VALUES(&f.col, lk_int128)[0] == 1);
	lk_column_destroy(&f.col);

	/* numeric without typmod: exact text, NaN included */
	fx_init(&f, PGT_OID_NUMERIC, -1);
	cr_assert(put(&f, "NaN"));
	cr_assert(put(&f, "123456789012345678901234567890123456789012.000000000001"));
	int64_t n;
	const uint8_t *p = lk_column_bytes(&f.col, 1, &n);
	cr_assert_eq(n, 55);
	cr_assert(memcmp(p, "123456789012345678901234567890123456789012.000000000001", 55) == 0);
	p = lk_column_bytes(&f.col, 0, &n);
	cr_assert(n == 3 && memcmp(p, "NaN", 3) == 0);
	lk_column_destroy(&f.col);
}

Test(values, text_empty_and_unicode)
{
	fixture f;
	fx_init(&f, PGT_OID_TEXT, -1);
	cr_assert(put(&f, ""));
	cr_assert(put(&f, NULL));
	cr_assert(put(&f, "héllo ☃ 𝄞"));
	int64_t n;
	lk_column_bytes(&f.col, 0, &n);
	cr_assert_eq(n, 0);
	cr_assert_not(lk_column_is_null(&f.col, 0), "empty string is not null");
	cr_assert(lk_column_is_null(&f.col, 1));
	const uint8_t *p = lk_column_bytes(&f.col, 2, &n);
	cr_assert_eq(n, (int64_t) strlen("héllo ☃ 𝄞"));
	cr_assert(memcmp(p, "héllo ☃ 𝄞", (size_t) n) == 0);
	/* not NUL-terminated input: only len bytes are read */
	cr_assert(pgt_append_text(f.conv, &f.col, "c", "abcdef", 3, &f.err));
	p = lk_column_bytes(&f.col, 3, &n);
	cr_assert(n == 3 && memcmp(p, "abc", 3) == 0);
	lk_column_destroy(&f.col);
}

Test(values, bytea)
{
	fixture f;
	fx_init(&f, PGT_OID_BYTEA, -1);
	cr_assert(put(&f, "\\x00ff00"));
	cr_assert(put(&f, "\\x"));
	cr_assert(put(&f, "\\xDEADbeef"));
	cr_assert(put(&f, "a\\\\b\\000\\377")); /* escape format */
	int64_t n;
	const uint8_t *p = lk_column_bytes(&f.col, 0, &n);
	cr_assert_eq(n, 3);
	cr_assert(p[0] == 0 && p[1] == 0xff && p[2] == 0, "zero bytes kept");
	lk_column_bytes(&f.col, 1, &n);
	cr_assert_eq(n, 0);
	cr_assert_not(lk_column_is_null(&f.col, 1));
	p = lk_column_bytes(&f.col, 2, &n);
	cr_assert(n == 4 && p[0] == 0xde && p[3] == 0xef);
	p = lk_column_bytes(&f.col, 3, &n);
	cr_assert_eq(n, 5);
	cr_assert(memcmp(p, "a\\b\0\377", 5) == 0);
	put_fails(&f, "\\x0", LK_ERR_CORRUPT, "invalid input syntax for type bytea");
	put_fails(&f, "\\x0g", LK_ERR_CORRUPT, "bytea");
	put_fails(&f, "\\9", LK_ERR_CORRUPT, "bytea");
	put_fails(&f, "\\", LK_ERR_CORRUPT, "bytea");
	lk_column_destroy(&f.col);
}

Test(values, uuid_canonical)
{
	fixture f;
	fx_init(&f, PGT_OID_UUID, -1);
	cr_assert(put(&f, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"));
	int64_t n;
	const uint8_t *p = lk_column_bytes(&f.col, 0, &n);
	cr_assert_eq(n, 36);
	cr_assert(memcmp(p, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", 36) == 0);
	put_fails(&f, "a0eebc999c0b4ef8bb6d6bb9bd380a11", LK_ERR_CORRUPT, "uuid");
	put_fails(&f, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g", LK_ERR_CORRUPT, "uuid");
	put_fails(&f, "", LK_ERR_CORRUPT, "uuid");
	lk_column_destroy(&f.col);
}

Test(values, dates)
{
	fixture f;
	fx_init(&f, PGT_OID_DATE, -1);
	const char *ok[] = {"1970-01-01", "2024-02-29", "0001-01-01", "9999-12-31", "infinity",
						"-infinity", "2000-03-01", "1969-12-31"};
	for (int i = 0; i < 8; i++)
		cr_assert(put(&f, ok[i]), "%s: %s", ok[i], f.err.msg);
	int32_t *d = LK_COL_VALUES(&f.col, int32_t);
	cr_assert_eq(d[0], 0);
	cr_assert_eq(d[1], 19782);
	cr_assert_eq(d[2], PGT_DATE_MIN_DAYS);
	cr_assert_eq(d[3], PGT_DATE_MAX_DAYS);
	cr_assert_eq(d[4], PGT_DATE_MAX_DAYS, "infinity is the documented maximum");
	cr_assert_eq(d[5], PGT_DATE_MIN_DAYS, "-infinity is the documented minimum");
	cr_assert_eq(d[6], 11017);
	cr_assert_eq(d[7], -1);
	put_fails(&f, "2023-02-29", LK_ERR_CORRUPT, "invalid input syntax for type date");
	put_fails(&f, "2024-13-01", LK_ERR_CORRUPT, "date");
	put_fails(&f, "2024-04-31", LK_ERR_CORRUPT, "date");
	put_fails(&f, "24-01-01", LK_ERR_CORRUPT, "date");
	put_fails(&f, "2024-01-01 ", LK_ERR_CORRUPT, "date");
	put_fails(&f, "0000-01-01", LK_ERR_CORRUPT, "date");
	put_fails(&f, "", LK_ERR_CORRUPT, "date");
	/* valid PostgreSQL dates outside Delta's range: errors, never clamped */
	put_fails(&f, "0001-12-31 BC", LK_ERR_UNSUPPORTED,
			  "cannot represent date outside 0001-01-01 to 9999-12-31: \"0001-12-31 BC\"");
	put_fails(&f, "4713-01-01 BC", LK_ERR_UNSUPPORTED, "cannot represent date");
	put_fails(&f, "10000-01-01", LK_ERR_UNSUPPORTED, "cannot represent date");
	put_fails(&f, "5874897-12-31", LK_ERR_UNSUPPORTED, "cannot represent date");
	lk_column_destroy(&f.col);
	/* leap rules of BC years: 1 BC (year 0) is a leap year, 2 BC is not */
	int32_t days;
	lk_error err;
	cr_assert_not(pgt_parse_date("0001-02-29 BC", 13, &days, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED, "valid date (1 BC is leap), out of range");
	cr_assert_not(pgt_parse_date("0002-02-29 BC", 13, &days, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT, "2 BC is not a leap year");
}

Test(values, timestamps)
{
	fixture f;
	fx_init(&f, PGT_OID_TIMESTAMP, -1);
	const char *ok[] = {"1970-01-01 00:00:00", "2024-01-01 12:34:56.789", "1969-12-31 23:59:59.999999",
						"0001-01-01 00:00:00", "9999-12-31 23:59:59.999999", "infinity",
						"-infinity", "2000-01-01 00:00:00.5"};
	for (int i = 0; i < 8; i++)
		cr_assert(put(&f, ok[i]), "%s: %s", ok[i], f.err.msg);
	int64_t *t = LK_COL_VALUES(&f.col, int64_t);
	cr_assert_eq(t[0], 0);
	cr_assert_eq(t[1], INT64_C(1704112496789000));
	cr_assert_eq(t[2], -1);
	cr_assert_eq(t[3], PGT_TS_MIN_MICROS);
	cr_assert_eq(t[4], PGT_TS_MAX_MICROS);
	cr_assert_eq(t[5], PGT_TS_MAX_MICROS);
	cr_assert_eq(t[6], PGT_TS_MIN_MICROS);
	cr_assert_eq(t[7], INT64_C(946684800500000));
	put_fails(&f, "2024-01-01 12:34:56+00", LK_ERR_CORRUPT,
			  "invalid input syntax for type timestamp");
	put_fails(&f, "2024-01-01 24:00:00", LK_ERR_CORRUPT, "timestamp");
	put_fails(&f, "2024-01-01 12:60:00", LK_ERR_CORRUPT, "timestamp");
	put_fails(&f, "2024-01-01 12:34:56.", LK_ERR_CORRUPT, "timestamp");
	put_fails(&f, "2024-01-01 12:34:56.1234567", LK_ERR_CORRUPT, "timestamp");
	put_fails(&f, "2024-01-01T12:34:56", LK_ERR_CORRUPT, "timestamp");
	put_fails(&f, "2024-01-01", LK_ERR_CORRUPT, "timestamp");
	put_fails(&f, "0044-03-15 12:00:00 BC", LK_ERR_UNSUPPORTED,
			  "cannot represent timestamp outside 0001-01-01 to 9999-12-31");
	put_fails(&f, "10000-01-01 00:00:00", LK_ERR_UNSUPPORTED, "cannot represent timestamp");
	put_fails(&f, "294276-12-31 23:59:59.999999", LK_ERR_UNSUPPORTED, "cannot represent");
	lk_column_destroy(&f.col);

	fx_init(&f, PGT_OID_TIMESTAMPTZ, -1);
	const char *tz[] = {"1970-01-01 00:00:00+00", "2024-06-30 23:59:59.999999+02",
						"1970-01-01 05:30:00+05:30", "1969-12-31 19:00:00-05",
						"1970-01-01 00:00:00+00:00:01", "0001-01-01 00:00:00+00",
						"9999-12-31 23:59:59.999999+00", "infinity", "-infinity",
						"0001-01-01 01:00:00+01"};
	for (int i = 0; i < 10; i++)
		cr_assert(put(&f, tz[i]), "%s: %s", tz[i], f.err.msg);
	t = LK_COL_VALUES(&f.col, int64_t);
	cr_assert_eq(t[0], 0);
	cr_assert_eq(t[1], INT64_C(1719784799999999));
	cr_assert_eq(t[2], 0);
	cr_assert_eq(t[3], 0);
	cr_assert_eq(t[4], -1000000);
	cr_assert_eq(t[5], PGT_TS_MIN_MICROS);
	cr_assert_eq(t[6], PGT_TS_MAX_MICROS);
	cr_assert_eq(t[7], PGT_TS_MAX_MICROS);
	cr_assert_eq(t[8], PGT_TS_MIN_MICROS);
	cr_assert_eq(t[9], PGT_TS_MIN_MICROS);
	put_fails(&f, "2024-01-01 12:34:56", LK_ERR_CORRUPT,
			  "invalid input syntax for type timestamp with time zone");
	put_fails(&f, "2024-01-01 12:34:56+0", LK_ERR_CORRUPT, "timestamp with time zone");
	put_fails(&f, "2024-01-01 12:34:56+00:60", LK_ERR_CORRUPT, "time zone");
	/* in range locally, out of range in UTC */
	put_fails(&f, "9999-12-31 23:00:00-01", LK_ERR_UNSUPPORTED,
			  "cannot represent timestamp outside 0001-01-01 to 9999-12-31 UTC");
	put_fails(&f, "0001-01-01 00:00:00+01", LK_ERR_UNSUPPORTED, "cannot represent");
	put_fails(&f, "0044-03-15 12:00:00+00 BC", LK_ERR_UNSUPPORTED, "cannot represent");
	lk_column_destroy(&f.col);
}

Test(values, arrays_nulls_and_quoting)
{
	fixture f;
	fx_init(&f, PGT_OID_INT4_ARRAY, -1);
	cr_assert(put(&f, "{1,NULL,-3}"));
	cr_assert(put(&f, "{}"));
	cr_assert(put(&f, NULL));
	cr_assert(put(&f, "{ 7 , null }"));
	cr_assert_eq(f.col.length, 4);
	lk_column *e = &f.col.children[0];
	cr_assert_eq(e->length, 5);
	cr_assert_eq(f.col.offsets[1], 3);
	cr_assert_eq(f.col.offsets[2], 3, "empty array");
	cr_assert_eq(f.col.offsets[3], 3, "null array");
	cr_assert_eq(f.col.offsets[4], 5);
	cr_assert(lk_column_is_null(&f.col, 2));
	cr_assert_not(lk_column_is_null(&f.col, 1));
	cr_assert_eq(LK_COL_VALUES(e, int32_t)[0], 1);
	cr_assert(lk_column_is_null(e, 1));
	cr_assert_eq(LK_COL_VALUES(e, int32_t)[2], -3);
	cr_assert_eq(LK_COL_VALUES(e, int32_t)[3], 7);
	cr_assert(lk_column_is_null(e, 4), "unquoted null in any case is NULL");

	/* an element that does not parse: error naming column and element,
	 * and nothing appended (not even the elements before it) */
	put_fails(&f, "{1,x,3}", LK_ERR_CORRUPT, "invalid input syntax for type integer");
	cr_assert(strstr(f.err.where, "column \"c\", array element 2") != NULL, "where=%s", f.err.where);
	cr_assert_eq(e->length, 5);
	cr_assert_eq(e->null_count, 2);
	put_fails(&f, "{1,99999999999}", LK_ERR_CORRUPT, "out of range");
	cr_assert_eq(e->length, 5);
	/* multi-dimensional and explicit bounds: cannot represent */
	put_fails(&f, "{{1,2},{3,4}}", LK_ERR_UNSUPPORTED, "multi-dimensional");
	put_fails(&f, "[0:1]={1,2}", LK_ERR_UNSUPPORTED, "explicit bounds");
	/* malformed */
	put_fails(&f, "{1,2", LK_ERR_CORRUPT, "invalid input syntax for type array");
	put_fails(&f, "{1,,2}", LK_ERR_CORRUPT, "array");
	put_fails(&f, "{1}x", LK_ERR_CORRUPT, "array");
	put_fails(&f, "1,2", LK_ERR_CORRUPT, "array");
	put_fails(&f, "", LK_ERR_CORRUPT, "array");
	cr_assert_eq(e->length, 5);
	/* still usable after failures */
	cr_assert(put(&f, "{8}"));
	cr_assert_eq(e->length, 6);
	cr_assert_eq(LK_COL_VALUES(e, int32_t)[5], 8);
	cr_assert_eq(f.col.offsets[5], 6);
	lk_column_destroy(&f.col);

	fx_init(&f, PGT_OID_TEXT_ARRAY, -1);
	cr_assert(put(&f, "{\"a b\",NULL,\"x\\\"y\",\"\",\"NULL\",\"back\\\\slash\",plain,\"{},\",héllo}"));
	e = &f.col.children[0];
	cr_assert_eq(e->length, 9);
	const char *want[] = {"a b", NULL, "x\"y", "", "NULL", "back\\slash", "plain", "{},", "héllo"};
	for (int i = 0; i < 9; i++) {
		if (!want[i]) {
			cr_assert(lk_column_is_null(e, i));
			continue;
		}
		int64_t n;
		const uint8_t *p = lk_column_bytes(e, i, &n);
		cr_assert(!lk_column_is_null(e, i), "element %d null", i);
		cr_assert(n == (int64_t) strlen(want[i]) && memcmp(p, want[i], (size_t) n) == 0,
				  "element %d: got \"%.*s\", want \"%s\"", i, (int) n, p, want[i]);
	}
	put_fails(&f, "{\"open}", LK_ERR_CORRUPT, "array");
	put_fails(&f, "{a\"b}", LK_ERR_CORRUPT, "array");
	cr_assert_eq(e->length, 9);
	cr_assert_eq(e->data_len, (int64_t) strlen("a bx\"yNULLback\\slashplain{},héllo"));
	lk_column_destroy(&f.col);
}

Test(values, arrays_of_other_types)
{
	fixture f;
	fx_init(&f, PGT_OID_TIMESTAMPTZ_ARRAY, -1);
	cr_assert(put(&f, "{\"1970-01-01 00:00:01+00\",infinity,NULL}"));
	lk_column *e = &f.col.children[0];
	cr_assert_eq(LK_COL_VALUES(e, int64_t)[0], 1000000);
	cr_assert_eq(LK_COL_VALUES(e, int64_t)[1], PGT_TS_MAX_MICROS);
	cr_assert(lk_column_is_null(e, 2));
	put_fails(&f, "{\"0044-03-15 12:00:00+00 BC\"}", LK_ERR_UNSUPPORTED, "cannot represent");
	cr_assert(strstr(f.err.where, "array element 1") != NULL);
	lk_column_destroy(&f.col);

	fx_init(&f, PGT_OID_NUMERIC_ARRAY, nummod(10, 2));
	cr_assert(put(&f, "{1.50,-0.01}"));
	cr_assert(LK_COL_VALUES(&f.col.children[0], lk_int128)[0] == 150);
	cr_assert(LK_COL_VALUES(&f.col.children[0], lk_int128)[1] == -1);
	put_fails(&f, "{1,NaN}", LK_ERR_UNSUPPORTED, "cannot represent numeric");
	lk_column_destroy(&f.col);

	fx_init(&f, PGT_OID_BYTEA_ARRAY, -1);
	cr_assert(put(&f, "{\"\\\\x00ff\",NULL,\"\\\\x\"}"));
	int64_t n;
	const uint8_t *p = lk_column_bytes(&f.col.children[0], 0, &n);
	cr_assert(n == 2 && p[0] == 0 && p[1] == 0xff);
	cr_assert(lk_column_is_null(&f.col.children[0], 1));
	lk_column_bytes(&f.col.children[0], 2, &n);
	cr_assert_eq(n, 0);
	lk_column_destroy(&f.col);

	fx_init(&f, 1020 /* box[] */, -1);
	cr_assert(put(&f, "{(1,1),(0,0);(2,2),(1,1)}"));
	cr_assert_eq(f.col.children[0].length, 2, "box arrays are ';'-delimited");
	p = lk_column_bytes(&f.col.children[0], 1, &n);
	cr_assert(n == 11 && memcmp(p, "(2,2),(1,1)", 11) == 0);
	lk_column_destroy(&f.col);

	fx_init(&f, PGT_OID_DATE_ARRAY, -1);
	put_fails(&f, "{2024-01-01,\"0010-01-01 BC\"}", LK_ERR_UNSUPPORTED, "cannot represent date");
	cr_assert_eq(f.col.children[0].length, 0);
	lk_column_destroy(&f.col);

	/* multi-dimensional column: the text itself */
	f.conv = pgt_map_oid(&arena, PGT_OID_INT4_ARRAY, -1, 2);
	lk_column_init(&f.col, f.conv->type);
	cr_assert(put(&f, "{{1,2},{3,4}}"));
	p = lk_column_bytes(&f.col, 0, &n);
	cr_assert(n == 13 && memcmp(p, "{{1,2},{3,4}}", 13) == 0);
	lk_column_destroy(&f.col);
}

Test(values, enum_and_domain_through_mapping)
{
	lk_error err;
	pgt_type_desc mood = {.oid = 16500, .typmod = -1, .typtype = 'e', .typcategory = 'E'};
	const pgt_conv *c = pgt_map_type(&arena, &mood);
	lk_column col;
	lk_column_init(&col, c->type);
	cr_assert(pgt_append_text(c, &col, "m", "happy", 5, &err));
	int64_t n;
	const uint8_t *p = lk_column_bytes(&col, 0, &n);
	cr_assert(n == 5 && memcmp(p, "happy", 5) == 0);
	lk_column_destroy(&col);

	pgt_type_desc int2 = {.oid = PGT_OID_INT2, .typmod = -1};
	pgt_type_desc dom = {.oid = 16600, .typmod = -1, .typtype = 'd', .base = &int2};
	c = pgt_map_type(&arena, &dom);
	lk_column_init(&col, c->type);
	cr_assert(pgt_append_text(c, &col, "d", "-7", 2, &err));
	cr_assert_eq(LK_COL_VALUES(&col, int16_t)[0], -7);
	cr_assert_not(pgt_append_text(c, &col, "dcol", "70000", 5, &err));
	cr_assert(strstr(err.where, "column \"dcol\"") != NULL);
	lk_column_destroy(&col);

	/* array of enum values */
	pgt_type_desc moods = {.oid = 16499, .typmod = -1, .typcategory = 'A', .elem = &mood};
	c = pgt_map_type(&arena, &moods);
	lk_column_init(&col, c->type);
	cr_assert(pgt_append_text(c, &col, "ms", "{sad,NULL,ok}", 13, &err));
	cr_assert_eq(col.children[0].length, 3);
	cr_assert(lk_column_is_null(&col.children[0], 1));
	lk_column_destroy(&col);
}

/* ---------------------------------------------------------------- binary */

/*
 * pgt_append_binary against pgt_append_text: for each value the text
 * PostgreSQL prints and the bytes its send function writes (encoded here
 * independently, as the server does), both paths must append the same
 * bits, or fail with the same code and message.  tests/unit/test_pgcopy.c
 * repeats this with the bytes of a real server.
 */
TestSuite(binary, .init = setup, .fini = teardown);

typedef struct {
	const pgt_conv *conv;
	lk_column t, b;           /* text path, binary path */
	lk_error et, eb;
} pair;

static void
pair_init(pair *p, uint32_t oid, int32_t typmod)
{
	p->conv = pgt_map_oid(&arena, oid, typmod, 0);
	cr_assert(pgt_binary_native(p->conv), "oid %u is native", oid);
	lk_column_init(&p->t, p->conv->type);
	lk_column_init(&p->b, p->conv->type);
}

static void
pair_free(pair *p)
{
	lk_column_destroy(&p->t);
	lk_column_destroy(&p->b);
}

/* the last rows of both columns hold the same bits */
static void
assert_same_last(pair *p, const char *text)
{
	cr_assert_eq(p->t.length, p->b.length, "%s: lengths", text);
	int64_t i = p->t.length - 1;
	size_t w = lk_type_width(p->conv->type);
	if (w) {
		cr_assert(memcmp((char *) p->t.values + i * w, (char *) p->b.values + i * w, w) == 0,
				  "%s: different bits", text);
	} else {
		int64_t nt, nb;
		const uint8_t *xt = lk_column_bytes(&p->t, i, &nt);
		const uint8_t *xb = lk_column_bytes(&p->b, i, &nb);
		cr_assert(nt == nb && memcmp(xt, xb, (size_t) nt) == 0,
				  "%s: got \"%.*s\"", text, (int) nb, (const char *) xb);
	}
	cr_assert_eq(lk_column_is_null(&p->t, i), lk_column_is_null(&p->b, i));
}

static void
same(pair *p, const char *text, const void *bin, size_t len)
{
	lk_error_clear(&p->et);
	lk_error_clear(&p->eb);
	cr_assert(pgt_append_text(p->conv, &p->t, "c", text, strlen(text), &p->et),
			  "text %s: %s", text, p->et.msg);
	cr_assert(pgt_append_binary(p->conv, &p->b, "c", bin, len, &p->eb),
			  "binary %s: %s", text, p->eb.msg);
	assert_same_last(p, text);
}

/* both fail the same way; neither column changes */
static void
same_error(pair *p, const char *text, const void *bin, size_t len)
{
	int64_t lt = p->t.length, lb = p->b.length;
	lk_error_clear(&p->et);
	lk_error_clear(&p->eb);
	cr_assert_not(pgt_append_text(p->conv, &p->t, "c", text, strlen(text), &p->et),
				  "text %s accepted", text);
	cr_assert_not(pgt_append_binary(p->conv, &p->b, "c", bin, len, &p->eb),
				  "binary %s accepted", text);
	cr_assert_eq(p->et.code, p->eb.code, "%s: codes", text);
	cr_assert_str_eq(p->et.msg, p->eb.msg);
	cr_assert_str_eq(p->eb.where, "column \"c\"");
	cr_assert_eq(p->t.length, lt);
	cr_assert_eq(p->b.length, lb);
}

/* binary fails with code and a message containing part */
static void
binary_fails(pair *p, const void *bin, size_t len, lk_error_code code, const char *part)
{
	int64_t lb = p->b.length;
	lk_error_clear(&p->eb);
	cr_assert_not(pgt_append_binary(p->conv, &p->b, "c", bin, len, &p->eb));
	cr_assert_eq(p->eb.code, code, "%s", p->eb.msg);
	cr_assert(strstr(p->eb.msg, part) != NULL, "msg=%s", p->eb.msg);
	cr_assert_eq(p->b.length, lb);
}

static size_t
be(uint8_t *out, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		out[i] = (uint8_t) (v >> (8 * (bytes - 1 - i)));
	return (size_t) bytes;
}

/* numeric_send of a decimal text "[-]digits[.digits]" (dscale = digits
 * after the point) as PostgreSQL stores it: base-10000 digits, leading and
 * trailing zero digits stripped.  Or a special: "NaN", "Infinity",
 * "-Infinity". */
static size_t
numeric_bin(uint8_t *out, const char *text)
{
	uint16_t sign = 0;
	if (!strcmp(text, "NaN") || !strcmp(text, "Infinity") || !strcmp(text, "-Infinity")) {
		sign = text[0] == 'N' ? 0xC000 : text[0] == 'I' ? 0xD000 : 0xF000;
		be(out, 0, 2);
		be(out + 2, 0, 2);
		be(out + 4, sign, 2);
		be(out + 6, 0, 2);
		return 8;
	}
	const char *s = text;
	if (*s == '-') {
		sign = 0x4000;
		s++;
	}
	const char *dot = strchr(s, '.');
	size_t ni = dot ? (size_t) (dot - s) : strlen(s);
	size_t nf = dot ? strlen(dot + 1) : 0;
	/* digits left-padded to a multiple of 4 before the point, right-padded after */
	char dig[256];
	size_t padl = (4 - ni % 4) % 4, padr = (4 - nf % 4) % 4, k = 0;
	for (size_t i = 0; i < padl; i++)
		dig[k++] = '0';
	memcpy(dig + k, s, ni);
	k += ni;
	if (nf)
		memcpy(dig + k, dot + 1, nf);
	k += nf;
	for (size_t i = 0; i < padr; i++)
		dig[k++] = '0';
	int ng = (int) (k / 4), weight = (int) ((padl + ni) / 4) - 1;
	int groups[64];
	for (int g = 0; g < ng; g++)
		groups[g] = (dig[4 * g] - '0') * 1000 + (dig[4 * g + 1] - '0') * 100 +
					(dig[4 * g + 2] - '0') * 10 + (dig[4 * g + 3] - '0');
	int first = 0, last = ng;
	while (first < last && groups[first] == 0) {
		first++;
		weight--;
	}
	while (last > first && groups[last - 1] == 0)
		last--;
	if (first == last) {
		weight = 0;
		sign = 0;       /* zero is positive */
	}
	be(out, (uint64_t) (last - first), 2);
	be(out + 2, (uint64_t) (uint16_t) (int16_t) weight, 2);
	be(out + 4, sign, 2);
	be(out + 6, nf, 2);
	for (int g = first; g < last; g++)
		be(out + 8 + 2 * (g - first), (uint64_t) groups[g], 2);
	return 8 + 2 * (size_t) (last - first);
}

Test(binary, native_types)
{
	uint32_t yes[] = {PGT_OID_BOOL, PGT_OID_INT2, PGT_OID_INT4, PGT_OID_INT8, PGT_OID_FLOAT4,
					  PGT_OID_FLOAT8, PGT_OID_NUMERIC, PGT_OID_TEXT, PGT_OID_VARCHAR,
					  PGT_OID_BPCHAR, PGT_OID_NAME, PGT_OID_JSON, PGT_OID_JSONB, PGT_OID_BYTEA,
					  PGT_OID_UUID, PGT_OID_DATE, PGT_OID_TIMESTAMP, PGT_OID_TIMESTAMPTZ};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		cr_assert(pgt_binary_native(pgt_map_oid(&arena, yes[i], -1, 0)), "oid %u", yes[i]);
	cr_assert(pgt_binary_native(pgt_map_oid(&arena, PGT_OID_NUMERIC, nummod(10, 2), 0)));
	uint32_t no[] = {PGT_OID_CHAR, PGT_OID_OID, PGT_OID_XML, PGT_OID_INET, PGT_OID_CIDR,
					 PGT_OID_MONEY, PGT_OID_TIME, PGT_OID_TIMETZ, PGT_OID_INTERVAL,
					 PGT_OID_BIT, PGT_OID_POINT, PGT_OID_TSVECTOR, PGT_OID_INT4_ARRAY,
					 PGT_OID_TEXT_ARRAY, 99999};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		cr_assert_not(pgt_binary_native(pgt_map_oid(&arena, no[i], -1, 0)), "oid %u", no[i]);
	cr_assert_not(pgt_binary_native(pgt_map_oid(&arena, PGT_OID_INT4_ARRAY, -1, 2)),
				  "a 2-D array as text");
	/* a non-native conversion is refused, not misread */
	lk_column c;
	const pgt_conv *cv = pgt_map_oid(&arena, PGT_OID_INET, -1, 0);
	lk_column_init(&c, cv->type);
	lk_error err;
	uint8_t b[8] = {2, 32, 0, 4, 10, 0, 0, 1};
	cr_assert_not(pgt_append_binary(cv, &c, "c", b, 8, &err));
	cr_assert_eq(err.code, LK_ERR_INTERNAL);
	cr_assert_eq(c.length, 0);
	cv = pgt_map_oid(&arena, PGT_OID_INT4_ARRAY, -1, 1);
	lk_column_destroy(&c);
	lk_column_init(&c, cv->type);
	cr_assert_not(pgt_append_binary(cv, &c, "c", b, 8, &err));
	cr_assert_eq(err.code, LK_ERR_INTERNAL);
	lk_column_destroy(&c);
}

Test(binary, bool_ints_and_null)
{
	pair p;
	uint8_t b[8];
	pair_init(&p, PGT_OID_BOOL, -1);
	same(&p, "t", "\1", 1);
	same(&p, "f", "\0", 1);
	cr_assert(pgt_append_binary(p.conv, &p.b, "c", NULL, 0, &p.eb));
	cr_assert(lk_column_is_null(&p.b, 2));
	cr_assert_eq(p.b.null_count, 1);
	binary_fails(&p, "\1\0", 2, LK_ERR_CORRUPT, "invalid binary value for type boolean");
	pair_free(&p);

	pair_init(&p, PGT_OID_INT2, -1);
	same(&p, "-32768", b, be(b, 0x8000, 2));
	same(&p, "32767", b, be(b, 0x7fff, 2));
	same(&p, "0", b, be(b, 0, 2));
	same(&p, "-1", b, be(b, 0xffff, 2));
	binary_fails(&p, b, 4, LK_ERR_CORRUPT, "smallint");
	pair_free(&p);

	pair_init(&p, PGT_OID_INT4, -1);
	same(&p, "-2147483648", b, be(b, 0x80000000u, 4));
	same(&p, "2147483647", b, be(b, 0x7fffffff, 4));
	same(&p, "123456", b, be(b, 123456, 4));
	binary_fails(&p, b, 3, LK_ERR_CORRUPT, "integer");
	pair_free(&p);

	pair_init(&p, PGT_OID_INT8, -1);
	same(&p, "-9223372036854775808", b, be(b, UINT64_C(0x8000000000000000), 8));
	same(&p, "9223372036854775807", b, be(b, UINT64_C(0x7fffffffffffffff), 8));
	same(&p, "-42", b, be(b, (uint64_t) -42, 8));
	binary_fails(&p, b, 0, LK_ERR_CORRUPT, "bigint");
	pair_free(&p);
}

Test(binary, floats_bits_and_nan)
{
	pair p;
	uint8_t b[8];
	pair_init(&p, PGT_OID_FLOAT8, -1);
	const struct { const char *text; double v; } d[] = {
		{"0.1", 0.1}, {"-1.7976931348623157e+308", -DBL_MAX}, {"5e-324", 4.9406564584124654e-324},
		{"Infinity", INFINITY}, {"-Infinity", -INFINITY}, {"-0", -0.0}, {"0", 0.0},
		{"1e+100", 1e100}, {"2.2250738585072014e-308", DBL_MIN}, {"0.30000000000000004", 0.1 + 0.2},
	};
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		uint64_t bits;
		memcpy(&bits, &d[i].v, 8);
		same(&p, d[i].text, b, be(b, bits, 8));
	}
	/* every NaN (sign, payload) reads as the text path's NaN */
	uint64_t nans[] = {UINT64_C(0x7ff8000000000000), UINT64_C(0xfff8000000000000),
					   UINT64_C(0x7ff0000000000001), UINT64_C(0x7fffffffffffffff)};
	for (size_t i = 0; i < 4; i++)
		same(&p, "NaN", b, be(b, nans[i], 8));
	binary_fails(&p, b, 4, LK_ERR_CORRUPT, "double precision");
	pair_free(&p);

	pair_init(&p, PGT_OID_FLOAT4, -1);
	const struct { const char *text; float v; } f[] = {
		{"3.4028235e+38", FLT_MAX}, {"1e-45", 1e-45f}, {"0.1", 0.1f}, {"-Infinity", -INFINITY},
		{"-0", -0.0f}, {"1.1754944e-38", FLT_MIN}, {"16777217", 16777216.0f},
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		uint32_t bits;
		memcpy(&bits, &f[i].v, 4);
		same(&p, f[i].text, b, be(b, bits, 4));
	}
	same(&p, "NaN", b, be(b, 0xffc00000u, 4));
	same(&p, "NaN", b, be(b, 0x7f800001u, 4));
	binary_fails(&p, b, 8, LK_ERR_CORRUPT, "real");
	pair_free(&p);
}

Test(binary, numeric_decimal)
{
	pair p;
	uint8_t b[128];
	pair_init(&p, PGT_OID_NUMERIC, nummod(5, 2));
	const char *ok[] = {"123.45", "-999.99", "0.50", "7.00", "0.00", "0.01", "-0.01", "100.00"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		same(&p, ok[i], b, numeric_bin(b, ok[i]));
	same_error(&p, "NaN", b, numeric_bin(b, "NaN"));
	same_error(&p, "Infinity", b, numeric_bin(b, "Infinity"));
	same_error(&p, "-Infinity", b, numeric_bin(b, "-Infinity"));
	same_error(&p, "1000.00", b, numeric_bin(b, "1000.00"));
	same_error(&p, "-1000.00", b, numeric_bin(b, "-1000.00"));
	same_error(&p, "1.234", b, numeric_bin(b, "1.234"));       /* never rounded */
	same_error(&p, "0.001", b, numeric_bin(b, "0.001"));
	/* digits below the scale that are zeros are fine (dscale above scale) */
	same(&p, "1.2300", b, numeric_bin(b, "1.2300"));
	/* an unstripped digit array: 1.4500 as digits 1, 4500, 0 (dscale 2) */
	uint8_t uns[] = {0, 3, 0, 0, 0, 0, 0, 2, 0, 1, 0x11, 0x94, 0, 0};
	same(&p, "1.45", uns, sizeof(uns));
	pair_free(&p);

	pair_init(&p, PGT_OID_NUMERIC, nummod(38, 0));
	const char *big[] = {"99999999999999999999999999999999999999",
						 "-99999999999999999999999999999999999999",
						 "10000000000000000000000000000000000000", "1", "0"};
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		same(&p, big[i], b, numeric_bin(b, big[i]));
	same_error(&p, "100000000000000000000000000000000000000", b,
			   numeric_bin(b, "100000000000000000000000000000000000000"));
	same_error(&p, "99999999999999999999999999999999999999999999", b,
			   numeric_bin(b, "99999999999999999999999999999999999999999999"));
	pair_free(&p);

	pair_init(&p, PGT_OID_NUMERIC, nummod(38, 38));
	same(&p, "0.00000000000000000000000000000000000001", b,
		 numeric_bin(b, "0.00000000000000000000000000000000000001"));
	same(&p, "0.99999999999999999999999999999999999999", b,
		 numeric_bin(b, "0.99999999999999999999999999999999999999"));
	same_error(&p, "1.00000000000000000000000000000000000000", b,
			   numeric_bin(b, "1.00000000000000000000000000000000000000"));
	pair_free(&p);

	pair_init(&p, PGT_OID_NUMERIC, nummod(38, 10));
	const char *mid[] = {"9999999999999999999999999999.9999999999", "-0.0000000001",
						 "12345678.9012345678", "1234567890123.0000000000"};
	for (size_t i = 0; i < sizeof(mid) / sizeof(mid[0]); i++)
		same(&p, mid[i], b, numeric_bin(b, mid[i]));
	same_error(&p, "10000000000000000000000000000.0000000000", b,
			   numeric_bin(b, "10000000000000000000000000000.0000000000"));
	pair_free(&p);

	pair_init(&p, PGT_OID_NUMERIC, nummod(12, 3));
	same(&p, "0.001", b, numeric_bin(b, "0.001"));
	same(&p, "-123456789.999", b, numeric_bin(b, "-123456789.999"));
	/* malformed binary numerics */
	binary_fails(&p, b, 6, LK_ERR_CORRUPT, "invalid binary value for type numeric");
	uint8_t bad_len[] = {0, 2, 0, 0, 0, 0, 0, 0, 0, 1};
	binary_fails(&p, bad_len, sizeof(bad_len), LK_ERR_CORRUPT, "numeric");
	uint8_t bad_sign[] = {0, 1, 0, 0, 0x80, 0, 0, 0, 0, 1};
	binary_fails(&p, bad_sign, sizeof(bad_sign), LK_ERR_CORRUPT, "numeric");
	uint8_t bad_digit[] = {0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10};   /* 10000 */
	binary_fails(&p, bad_digit, sizeof(bad_digit), LK_ERR_CORRUPT, "numeric");
	uint8_t nan_digits[] = {0, 1, 0, 0, 0xC0, 0, 0, 0, 0, 1};
	binary_fails(&p, nan_digits, sizeof(nan_digits), LK_ERR_CORRUPT, "numeric");
	pair_free(&p);
}

Test(binary, numeric_unconstrained_text)
{
	pair p;
	uint8_t b[256];
	pair_init(&p, PGT_OID_NUMERIC, -1);
	const char *v[] = {"NaN", "Infinity", "-Infinity", "0", "0.000", "-0.5", "10000", "1",
					   "123456789012345678901234567890123456789012.000000000001",
					   "0.00000000000000000001", "99990000", "-1234.5678", "0.0001000",
					   "100000000.00000001", "12345678901234567890"};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		same(&p, v[i], b, numeric_bin(b, v[i]));
	/* numeric(p, negative scale), p > 38: exact text too */
	pair_free(&p);
	pair_init(&p, PGT_OID_NUMERIC, nummod(50, 5));
	same(&p, "12345678901234567890123456789012345678901234.12345", b,
		 numeric_bin(b, "12345678901234567890123456789012345678901234.12345"));
	pair_free(&p);
	/* a long display scale (heap buffer) */
	pair_init(&p, PGT_OID_NUMERIC, -1);
	uint8_t big[8] = {0, 0, 0, 0, 0, 0, 0x01, 0x2c};   /* 0 with dscale 300 */
	char text[310] = "0.";
	memset(text + 2, '0', 300);
	text[302] = '\0';
	same(&p, text, big, 8);
	pair_free(&p);
}

Test(binary, text_bytea_uuid)
{
	pair p;
	uint32_t oids[] = {PGT_OID_TEXT, PGT_OID_VARCHAR, PGT_OID_BPCHAR, PGT_OID_NAME, PGT_OID_JSON};
	const char *v[] = {"", "héllo ☃ 𝄞", "tab\there\nnl \\ back", "ab   ", "{\"a\": [1, 2]}"};
	for (size_t k = 0; k < sizeof(oids) / sizeof(oids[0]); k++) {
		pair_init(&p, oids[k], -1);
		for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
			same(&p, v[i], v[i], strlen(v[i]));
		pair_free(&p);
	}
	pair_init(&p, PGT_OID_JSONB, -1);
	same(&p, "{\"b\": {\"c\": null}}", "\1{\"b\": {\"c\": null}}", 19);
	same(&p, "[]", "\1[]", 3);
	binary_fails(&p, "\2[]", 3, LK_ERR_CORRUPT, "jsonb");
	binary_fails(&p, "", 0, LK_ERR_CORRUPT, "jsonb");
	pair_free(&p);

	pair_init(&p, PGT_OID_BYTEA, -1);
	same(&p, "\\x00ff10", "\0\xff\x10", 3);
	same(&p, "\\x", "", 0);
	same(&p, "\\xdeadbeef", "\xde\xad\xbe\xef", 4);
	pair_free(&p);

	pair_init(&p, PGT_OID_UUID, -1);
	same(&p, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
		 "\xa0\xee\xbc\x99\x9c\x0b\x4e\xf8\xbb\x6d\x6b\xb9\xbd\x38\x0a\x11", 16);
	same(&p, "00000000-0000-0000-0000-000000000000", "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	same(&p, "ffffffff-ffff-ffff-ffff-ffffffffffff",
		 "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 16);
	binary_fails(&p, "\0\0\0", 3, LK_ERR_CORRUPT, "uuid");
	pair_free(&p);
}

/* days since 2000-01-01 of a proleptic Gregorian date (astronomical year) */
static int64_t
pg_days(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468 - 10957;
}

Test(binary, dates)
{
	pair p;
	uint8_t b[4];
	pair_init(&p, PGT_OID_DATE, -1);
	same(&p, "2000-01-01", b, be(b, 0, 4));
	same(&p, "1970-01-01", b, be(b, (uint64_t) (uint32_t) -10957, 4));
	same(&p, "2024-02-29", b, be(b, (uint64_t) pg_days(2024, 2, 29), 4));
	same(&p, "0001-01-01", b, be(b, (uint64_t) (uint32_t) pg_days(1, 1, 1), 4));
	same(&p, "9999-12-31", b, be(b, (uint64_t) pg_days(9999, 12, 31), 4));
	same(&p, "1969-12-31", b, be(b, (uint64_t) (uint32_t) pg_days(1969, 12, 31), 4));
	same(&p, "infinity", b, be(b, 0x7fffffff, 4));
	same(&p, "-infinity", b, be(b, 0x80000000u, 4));
	same_error(&p, "10000-01-01", b, be(b, (uint64_t) pg_days(10000, 1, 1), 4));
	same_error(&p, "0001-12-31 BC", b, be(b, (uint64_t) (uint32_t) pg_days(0, 12, 31), 4));
	same_error(&p, "4713-01-01 BC", b, be(b, (uint64_t) (uint32_t) pg_days(-4712, 1, 1), 4));
	same_error(&p, "5874897-12-31", b, be(b, (uint64_t) pg_days(5874897, 12, 31), 4));
	binary_fails(&p, b, 8, LK_ERR_CORRUPT, "date");
	pair_free(&p);
}

Test(binary, timestamps)
{
	pair p;
	uint8_t b[8];
	const int64_t day = INT64_C(86400000000);
	for (int tz = 0; tz < 2; tz++) {
		pair_init(&p, tz ? PGT_OID_TIMESTAMPTZ : PGT_OID_TIMESTAMP, -1);
		const char *z = tz ? "+00" : "";
		char t[80];
#define TS(text, micros)                                                   \
	do {                                                                   \
		snprintf(t, sizeof(t), text, z);                                   \
		same(&p, t, b, be(b, (uint64_t) (int64_t) (micros), 8));           \
	} while (0)
#define TS_ERR(text, micros)                                               \
	do {                                                                   \
		snprintf(t, sizeof(t), text, z);                                   \
		same_error(&p, t, b, be(b, (uint64_t) (int64_t) (micros), 8));     \
	} while (0)
		TS("2000-01-01 00:00:00%s", 0);
		TS("1970-01-01 00:00:00%s", -10957 * day);
		TS("1969-12-31 23:59:59.999999%s", -10957 * day - 1);
		TS("2024-01-01 12:34:56.789%s", pg_days(2024, 1, 1) * day + INT64_C(45296789000));
		TS("0001-01-01 00:00:00%s", pg_days(1, 1, 1) * day);
		TS("9999-12-31 23:59:59.999999%s", (pg_days(9999, 12, 31) + 1) * day - 1);
		TS("2000-01-01 00:00:00.5%s", 500000);
		TS("2000-01-01 00:00:00.000001%s", 1);
		same(&p, "infinity", b, be(b, UINT64_C(0x7fffffffffffffff), 8));
		same(&p, "-infinity", b, be(b, UINT64_C(0x8000000000000000), 8));
		TS_ERR("10000-01-01 00:00:00%s", pg_days(10000, 1, 1) * day);
		TS_ERR("0001-12-31 23:59:59.999999%s BC", pg_days(1, 1, 1) * day - 1);
		TS_ERR("0044-03-15 12:00:00%s BC", pg_days(-43, 3, 15) * day + INT64_C(43200000000));
		TS_ERR("4714-11-24 00:00:00%s BC", pg_days(-4713, 11, 24) * day);
		TS_ERR("294276-12-31 23:59:59.999999%s", (pg_days(294276, 12, 31) + 1) * day - 1);
		TS_ERR("10000-01-01 00:00:00.12%s", pg_days(10000, 1, 1) * day + 120000);
#undef TS
#undef TS_ERR
		binary_fails(&p, b, 4, LK_ERR_CORRUPT, "timestamp");
		pair_free(&p);
	}
}

Test(helpers, civil_from_days)
{
	int64_t y;
	int m, d;
	pgt_civil_from_days(0, &y, &m, &d);
	cr_assert(y == 1970 && m == 1 && d == 1);
	pgt_civil_from_days(-1, &y, &m, &d);
	cr_assert(y == 1969 && m == 12 && d == 31);
	pgt_civil_from_days(11016, &y, &m, &d);                 /* 2000-02-29 */
	cr_assert(y == 2000 && m == 2 && d == 29);
	pgt_civil_from_days(-719528, &y, &m, &d);               /* 0000-01-01 = 1 BC */
	cr_assert(y == 0 && m == 1 && d == 1);
	pgt_civil_from_days(-719529, &y, &m, &d);               /* 2 BC, last day */
	cr_assert(y == -1 && m == 12 && d == 31);
}

Test(helpers, fixed_length_oid)
{
	cr_assert(pgt_fixed_length_oid(PGT_OID_INT4));
	cr_assert(pgt_fixed_length_oid(PGT_OID_UUID));
	cr_assert(pgt_fixed_length_oid(PGT_OID_TIMESTAMPTZ));
	cr_assert(pgt_fixed_length_oid(PGT_OID_NAME));
	cr_assert_not(pgt_fixed_length_oid(PGT_OID_TEXT));
	cr_assert_not(pgt_fixed_length_oid(PGT_OID_NUMERIC));
	cr_assert_not(pgt_fixed_length_oid(PGT_OID_BYTEA));
	cr_assert_not(pgt_fixed_length_oid(0));
}
