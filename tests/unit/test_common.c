#include <criterion/criterion.h>
#include <string.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/types.h"

Test(arena, alloc_reset_and_big_blocks)
{
	lk_arena a;
	lk_arena_init(&a, 1024);
	char *s = lk_arena_strdup(&a, "hello");
	cr_assert_str_eq(s, "hello");
	void *big = lk_arena_alloc(&a, 100000);
	memset(big, 7, 100000);
	cr_assert_eq(((uintptr_t) big) % 16, 0);
	char *f = lk_arena_sprintf(&a, "%d-%s", 42, "x");
	cr_assert_str_eq(f, "42-x");
	lk_arena_reset(&a);
	cr_assert_leq(a.total, 1024);
	lk_arena_free(&a);
}

Test(buf, varint_roundtrip_and_bounds)
{
	lk_buf b = LK_BUF_INIT;
	int64_t vals[] = {0, 1, -1, 63, -64, 1 << 20, INT64_MAX, INT64_MIN};
	for (size_t i = 0; i < 8; i++)
		lk_buf_append_zigzag(&b, vals[i]);
	lk_error err;
	lk_error_clear(&err);
	lk_cursor c;
	lk_cursor_init(&c, b.data, b.len, 100, &err);
	for (size_t i = 0; i < 8; i++) {
		int64_t v;
		cr_assert(lk_cursor_get_zigzag(&c, &v));
		cr_assert_eq(v, vals[i]);
	}
	cr_assert(lk_cursor_expect_end(&c, "test"));
	uint8_t one;
	cr_assert_not(lk_cursor_get_u8(&c, &one));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert(strstr(err.where, "byte offset") != NULL, "where=%s", err.where);
	lk_buf_free(&b);
}

Test(buf, overlong_varint_is_an_error)
{
	uint8_t bad[11];
	memset(bad, 0xff, sizeof(bad));
	lk_error err;
	lk_cursor c;
	lk_cursor_init(&c, bad, sizeof(bad), 0, &err);
	uint64_t v;
	cr_assert_not(lk_cursor_get_uvarint(&c, &v));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
}

Test(error, where_prefix)
{
	lk_error err;
	lk_error_clear(&err);
	lk_error_set(&err, LK_ERR_CORRUPT, "bad page header");
	lk_error_where(&err, "byte offset %d", 12);
	lk_error_add_where(&err, "file \"%s\"", "x.parquet");
	char buf[1024];
	cr_assert_str_eq(lk_error_str(&err, buf, sizeof(buf)),
					 "bad page header (file \"x.parquet\", byte offset 12)");
}

Test(batch, append_nulls_strings_lists_structs)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *st = lk_type_struct(&a, 3);
	st->children[0] = (lk_field){"id", lk_type_new(&a, LK_T_LONG), false, -1};
	st->children[1] = (lk_field){"name", lk_type_new(&a, LK_T_STRING), true, -1};
	st->children[2] = (lk_field){"tags",
		lk_type_array(&a, lk_type_new(&a, LK_T_INT), true), true, -1};
	lk_batch *b = lk_batch_new(st);
	for (int i = 0; i < 100; i++) {
		lk_column_append_i64(&b->cols[0], i);
		if (i % 3 == 0)
			lk_column_append_null(&b->cols[1]);
		else
			lk_column_append_bytes(&b->cols[1], "abc", i % 4);
		if (i % 5 == 0) {
			lk_column_append_null(&b->cols[2]);
		} else {
			for (int k = 0; k < i % 3; k++)
				lk_column_append_i32(&b->cols[2].children[0], k);
			lk_column_append_list(&b->cols[2]);
		}
	}
	cr_assert(lk_batch_seal(b));
	cr_assert_eq(b->nrows, 100);
	cr_assert_eq(b->cols[1].null_count, 34);
	cr_assert_eq(b->cols[2].null_count, 20);
	cr_assert(lk_column_is_null(&b->cols[1], 99));
	cr_assert_not(lk_column_is_null(&b->cols[1], 98));
	int64_t len;
	const uint8_t *p = lk_column_bytes(&b->cols[1], 98, &len);
	cr_assert_eq(len, 2);
	cr_assert_eq(memcmp(p, "ab", 2), 0);
	cr_assert_eq(b->cols[2].offsets[8] - b->cols[2].offsets[7], 1);

	lk_batch *c = lk_batch_new(st);
	for (int k = 0; k < 3; k++)
		lk_column_append_range(&c->cols[k], &b->cols[k], 10, 50);
	cr_assert(lk_batch_seal(c));
	for (int i = 0; i < 50; i++)
		for (int k = 0; k < 3; k++)
			cr_assert(lk_column_row_equal(&c->cols[k], i, &b->cols[k], i + 10),
					  "row %d col %d", i, k);
	cr_assert_not(lk_column_row_equal(&c->cols[0], 0, &b->cols[0], 0));
	lk_batch_free(c);
	lk_batch_reset(b);
	cr_assert_eq(b->cols[1].length, 0);
	lk_batch_free(b);
	lk_arena_free(&a);
}

Test(decimal, text_roundtrip_and_limits)
{
	char buf[64];
	lk_int128 v;
	cr_assert(lk_decimal_parse("-123.45", 7, 10, 2, &v));
	cr_assert(v == -12345);
	cr_assert_str_eq(lk_decimal_to_string(v, 2, buf), "-123.45");
	cr_assert_str_eq(lk_decimal_to_string(5, 3, buf), "0.005");
	cr_assert(lk_decimal_parse("1.5", 3, 5, 3, &v));
	cr_assert(v == 1500);
	cr_assert_not(lk_decimal_parse("1.2345", 6, 10, 2, &v)); /* would round */
	cr_assert_not(lk_decimal_parse("123456", 6, 5, 0, &v));  /* too wide */
	const char *max38 = "99999999999999999999999999999999999999";
	cr_assert(lk_decimal_parse(max38, 38, 38, 0, &v));
	cr_assert_str_eq(lk_decimal_to_string(v, 0, buf), max38);
	cr_assert_not(lk_decimal_parse("1x", 2, 5, 0, &v));
}

Test(types, names)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *m = lk_type_map(&a, lk_type_new(&a, LK_T_STRING),
							 lk_type_decimal(&a, 10, 2), true);
	cr_assert_str_eq(lk_type_name(&a, m), "map<string,decimal(10,2)>");
	lk_type *c = lk_type_copy(&a, m);
	cr_assert(lk_type_equal(c, m));
	c->children[1].type->scale = 3;
	cr_assert_not(lk_type_equal(c, m));
	lk_arena_free(&a);
}
