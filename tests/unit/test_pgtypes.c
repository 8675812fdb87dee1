#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
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
