/*
 * test_meta.c — Thrift compact protocol (thrift.c) and Parquet metadata
 * (meta.c): exact bytes, round trips, real footers, truncated and
 * malformed input.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"
#include "parquet/meta.h"
#include "parquet/parquet.h"
#include "parquet/thrift.h"

/* ---- helpers ----------------------------------------------------------- */

static const char *
testdata_dir(void)
{
	const char *d = getenv("LAKESYNC_TESTDATA");
	return d && *d ? d : "../shared/testdata";
}

/* Whole file into malloc'd memory; NULL if it cannot be read. */
static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *p = malloc(n > 0 ? (size_t) n : 1);
	if (n > 0 && fread(p, 1, (size_t) n, f) != (size_t) n) {
		free(p);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = (size_t) n;
	return p;
}

/* Locate the footer of a Parquet file in memory: *off, *flen.  False when
 * the tail is not "<len u32 LE>PAR1" or the length does not fit. */
static bool
footer_of(const uint8_t *file, size_t len, size_t *off, size_t *flen)
{
	if (len < 12 || memcmp(file + len - 4, "PAR1", 4) != 0)
		return false;
	const uint8_t *p = file + len - 8;
	uint32_t n = (uint32_t) p[0] | ((uint32_t) p[1] << 8) |
				 ((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
	if (n > len - 12)
		return false;
	*off = len - 8 - n;
	*flen = n;
	return true;
}

/* Exact-size heap copy, so a read past the end trips ASan. */
static uint8_t *
exact_copy(const uint8_t *p, size_t n)
{
	uint8_t *q = malloc(n ? n : 1);
	if (n)
		memcpy(q, p, n);
	return q;
}

static void
assert_bytes(const uint8_t *a, int32_t alen, const uint8_t *b, int32_t blen)
{
	cr_assert_eq(alen, blen);
	if (alen > 0)
		cr_assert(memcmp(a, b, (size_t) alen) == 0);
}

static void
assert_str(const char *a, const char *b)
{
	if (!a || !b)
		cr_assert(a == b, "one string is NULL: %s / %s", a ? a : "(null)",
				  b ? b : "(null)");
	else
		cr_assert_str_eq(a, b);
}

/* ---- deep comparison of decoded structs -------------------------------- */

static void
cmp_stats(const pq_statistics *a, const pq_statistics *b)
{
	cr_assert_eq(a->has_max, b->has_max);
	cr_assert_eq(a->has_min, b->has_min);
	cr_assert_eq(a->has_null_count, b->has_null_count);
	cr_assert_eq(a->has_distinct_count, b->has_distinct_count);
	cr_assert_eq(a->has_max_value, b->has_max_value);
	cr_assert_eq(a->has_min_value, b->has_min_value);
	cr_assert_eq(a->has_is_max_value_exact, b->has_is_max_value_exact);
	cr_assert_eq(a->has_is_min_value_exact, b->has_is_min_value_exact);
	if (a->has_max)
		assert_bytes(a->max, a->max_len, b->max, b->max_len);
	if (a->has_min)
		assert_bytes(a->min, a->min_len, b->min, b->min_len);
	if (a->has_null_count)
		cr_assert_eq(a->null_count, b->null_count);
	if (a->has_distinct_count)
		cr_assert_eq(a->distinct_count, b->distinct_count);
	if (a->has_max_value)
		assert_bytes(a->max_value, a->max_value_len, b->max_value, b->max_value_len);
	if (a->has_min_value)
		assert_bytes(a->min_value, a->min_value_len, b->min_value, b->min_value_len);
	if (a->has_is_max_value_exact)
		cr_assert_eq(a->is_max_value_exact, b->is_max_value_exact);
	if (a->has_is_min_value_exact)
		cr_assert_eq(a->is_min_value_exact, b->is_min_value_exact);
}

static void
cmp_logical(const pq_logical_type *a, const pq_logical_type *b)
{
	cr_assert_eq(a->kind, b->kind);
	cr_assert_eq(a->scale, b->scale);
	cr_assert_eq(a->precision, b->precision);
	cr_assert_eq(a->is_adjusted_to_utc, b->is_adjusted_to_utc);
	cr_assert_eq(a->unit, b->unit);
	cr_assert_eq(a->bit_width, b->bit_width);
	cr_assert_eq(a->is_signed, b->is_signed);
}

static void
cmp_schema(const pq_schema_element *a, const pq_schema_element *b)
{
	assert_str(a->name, b->name);
	cr_assert_eq(a->has_type, b->has_type);
	cr_assert_eq(a->has_type_length, b->has_type_length);
	cr_assert_eq(a->has_repetition, b->has_repetition);
	cr_assert_eq(a->has_num_children, b->has_num_children);
	cr_assert_eq(a->has_converted_type, b->has_converted_type);
	cr_assert_eq(a->has_scale, b->has_scale);
	cr_assert_eq(a->has_precision, b->has_precision);
	cr_assert_eq(a->has_field_id, b->has_field_id);
	cr_assert_eq(a->has_logical_type, b->has_logical_type);
	if (a->has_type)
		cr_assert_eq(a->type, b->type);
	if (a->has_type_length)
		cr_assert_eq(a->type_length, b->type_length);
	if (a->has_repetition)
		cr_assert_eq(a->repetition, b->repetition);
	if (a->has_num_children)
		cr_assert_eq(a->num_children, b->num_children);
	if (a->has_converted_type)
		cr_assert_eq(a->converted_type, b->converted_type);
	if (a->has_scale)
		cr_assert_eq(a->scale, b->scale);
	if (a->has_precision)
		cr_assert_eq(a->precision, b->precision);
	if (a->has_field_id)
		cr_assert_eq(a->field_id, b->field_id);
	if (a->has_logical_type)
		cmp_logical(&a->logical_type, &b->logical_type);
}

static void
cmp_kvs(const pq_key_value *a, int32_t na, const pq_key_value *b, int32_t nb)
{
	cr_assert_eq(na, nb);
	for (int32_t i = 0; i < na; i++) {
		assert_str(a[i].key, b[i].key);
		assert_str(a[i].value, b[i].value);
	}
}

static void
cmp_column_meta(const pq_column_meta *a, const pq_column_meta *b)
{
	cr_assert_eq(a->type, b->type);
	cr_assert_eq(a->nencodings, b->nencodings);
	for (int32_t i = 0; i < a->nencodings; i++)
		cr_assert_eq(a->encodings[i], b->encodings[i]);
	cr_assert_eq(a->npath, b->npath);
	for (int32_t i = 0; i < a->npath; i++)
		assert_str(a->path_in_schema[i], b->path_in_schema[i]);
	cr_assert_eq(a->codec, b->codec);
	cr_assert_eq(a->num_values, b->num_values);
	cr_assert_eq(a->total_uncompressed_size, b->total_uncompressed_size);
	cr_assert_eq(a->total_compressed_size, b->total_compressed_size);
	cmp_kvs(a->kv, a->nkv, b->kv, b->nkv);
	cr_assert_eq(a->data_page_offset, b->data_page_offset);
	cr_assert_eq(a->has_index_page_offset, b->has_index_page_offset);
	if (a->has_index_page_offset)
		cr_assert_eq(a->index_page_offset, b->index_page_offset);
	cr_assert_eq(a->has_dictionary_page_offset, b->has_dictionary_page_offset);
	if (a->has_dictionary_page_offset)
		cr_assert_eq(a->dictionary_page_offset, b->dictionary_page_offset);
	cr_assert_eq(a->has_statistics, b->has_statistics);
	if (a->has_statistics)
		cmp_stats(&a->statistics, &b->statistics);
	cr_assert_eq(a->nencoding_stats, b->nencoding_stats);
	for (int32_t i = 0; i < a->nencoding_stats; i++) {
		cr_assert_eq(a->encoding_stats[i].page_type, b->encoding_stats[i].page_type);
		cr_assert_eq(a->encoding_stats[i].encoding, b->encoding_stats[i].encoding);
		cr_assert_eq(a->encoding_stats[i].count, b->encoding_stats[i].count);
	}
	cr_assert_eq(a->has_bloom_filter_offset, b->has_bloom_filter_offset);
	if (a->has_bloom_filter_offset)
		cr_assert_eq(a->bloom_filter_offset, b->bloom_filter_offset);
	cr_assert_eq(a->has_bloom_filter_length, b->has_bloom_filter_length);
	if (a->has_bloom_filter_length)
		cr_assert_eq(a->bloom_filter_length, b->bloom_filter_length);
}

static void
cmp_column_chunk(const pq_column_chunk *a, const pq_column_chunk *b)
{
	assert_str(a->file_path, b->file_path);
	cr_assert_eq(a->file_offset, b->file_offset);
	cr_assert_eq(a->has_meta_data, b->has_meta_data);
	if (a->has_meta_data)
		cmp_column_meta(&a->meta_data, &b->meta_data);
	cr_assert_eq(a->has_offset_index, b->has_offset_index);
	if (a->has_offset_index) {
		cr_assert_eq(a->offset_index_offset, b->offset_index_offset);
		cr_assert_eq(a->offset_index_length, b->offset_index_length);
	}
	cr_assert_eq(a->has_column_index, b->has_column_index);
	if (a->has_column_index) {
		cr_assert_eq(a->column_index_offset, b->column_index_offset);
		cr_assert_eq(a->column_index_length, b->column_index_length);
	}
	cr_assert_eq(a->has_crypto_metadata, b->has_crypto_metadata);
}

static void
cmp_file_meta(const pq_file_meta *a, const pq_file_meta *b)
{
	cr_assert_eq(a->version, b->version);
	cr_assert_eq(a->nschema, b->nschema);
	for (int32_t i = 0; i < a->nschema; i++)
		cmp_schema(&a->schema[i], &b->schema[i]);
	cr_assert_eq(a->num_rows, b->num_rows);
	cr_assert_eq(a->nrow_groups, b->nrow_groups);
	for (int32_t i = 0; i < a->nrow_groups; i++) {
		const pq_row_group *x = &a->row_groups[i], *y = &b->row_groups[i];
		cr_assert_eq(x->ncolumns, y->ncolumns);
		for (int32_t k = 0; k < x->ncolumns; k++)
			cmp_column_chunk(&x->columns[k], &y->columns[k]);
		cr_assert_eq(x->total_byte_size, y->total_byte_size);
		cr_assert_eq(x->num_rows, y->num_rows);
		cr_assert_eq(x->nsorting_columns, y->nsorting_columns);
		for (int32_t k = 0; k < x->nsorting_columns; k++) {
			cr_assert_eq(x->sorting_columns[k].column_idx, y->sorting_columns[k].column_idx);
			cr_assert_eq(x->sorting_columns[k].descending, y->sorting_columns[k].descending);
			cr_assert_eq(x->sorting_columns[k].nulls_first, y->sorting_columns[k].nulls_first);
		}
		cr_assert_eq(x->has_file_offset, y->has_file_offset);
		if (x->has_file_offset)
			cr_assert_eq(x->file_offset, y->file_offset);
		cr_assert_eq(x->has_total_compressed_size, y->has_total_compressed_size);
		if (x->has_total_compressed_size)
			cr_assert_eq(x->total_compressed_size, y->total_compressed_size);
		cr_assert_eq(x->has_ordinal, y->has_ordinal);
		if (x->has_ordinal)
			cr_assert_eq(x->ordinal, y->ordinal);
	}
	cmp_kvs(a->kv, a->nkv, b->kv, b->nkv);
	assert_str(a->created_by, b->created_by);
	cr_assert_eq(a->ncolumn_orders, b->ncolumn_orders);
	cr_assert_eq(a->has_encryption_algorithm, b->has_encryption_algorithm);
}

static void
cmp_page_header(const pq_page_header *a, const pq_page_header *b)
{
	cr_assert_eq(a->type, b->type);
	cr_assert_eq(a->uncompressed_page_size, b->uncompressed_page_size);
	cr_assert_eq(a->compressed_page_size, b->compressed_page_size);
	cr_assert_eq(a->has_crc, b->has_crc);
	if (a->has_crc)
		cr_assert_eq(a->crc, b->crc);
	cr_assert_eq(a->has_data_page_header, b->has_data_page_header);
	cr_assert_eq(a->has_dictionary_page_header, b->has_dictionary_page_header);
	cr_assert_eq(a->has_data_page_header_v2, b->has_data_page_header_v2);
	cr_assert_eq(a->has_index_page_header, b->has_index_page_header);
	if (a->has_data_page_header) {
		const pq_data_page_header *x = &a->data_page_header, *y = &b->data_page_header;
		cr_assert_eq(x->num_values, y->num_values);
		cr_assert_eq(x->encoding, y->encoding);
		cr_assert_eq(x->definition_level_encoding, y->definition_level_encoding);
		cr_assert_eq(x->repetition_level_encoding, y->repetition_level_encoding);
		cr_assert_eq(x->has_statistics, y->has_statistics);
		if (x->has_statistics)
			cmp_stats(&x->statistics, &y->statistics);
	}
	if (a->has_dictionary_page_header) {
		const pq_dictionary_page_header *x = &a->dictionary_page_header;
		const pq_dictionary_page_header *y = &b->dictionary_page_header;
		cr_assert_eq(x->num_values, y->num_values);
		cr_assert_eq(x->encoding, y->encoding);
		cr_assert_eq(x->has_is_sorted, y->has_is_sorted);
		if (x->has_is_sorted)
			cr_assert_eq(x->is_sorted, y->is_sorted);
	}
	if (a->has_data_page_header_v2) {
		const pq_data_page_header_v2 *x = &a->data_page_header_v2;
		const pq_data_page_header_v2 *y = &b->data_page_header_v2;
		cr_assert_eq(x->num_values, y->num_values);
		cr_assert_eq(x->num_nulls, y->num_nulls);
		cr_assert_eq(x->num_rows, y->num_rows);
		cr_assert_eq(x->encoding, y->encoding);
		cr_assert_eq(x->definition_levels_byte_length, y->definition_levels_byte_length);
		cr_assert_eq(x->repetition_levels_byte_length, y->repetition_levels_byte_length);
		cr_assert_eq(x->is_compressed, y->is_compressed);
		cr_assert_eq(x->has_statistics, y->has_statistics);
		if (x->has_statistics)
			cmp_stats(&x->statistics, &y->statistics);
	}
}

/* ---- thrift: exact bytes ----------------------------------------------- */

Test(thrift, writer_exact_bytes)
{
	lk_buf b = LK_BUF_INIT;
	thrift_struct st;

	thrift_write_struct_begin(&st);
	thrift_write_field_i32(&b, &st, 1, -7);       /* delta 1, i32: 0x15, zigzag 13 */
	thrift_write_field_bool(&b, &st, 2, true);    /* 0x11 */
	thrift_write_field_bool(&b, &st, 3, false);   /* 0x12 */
	thrift_write_field_i64(&b, &st, 20, 300);     /* delta 17: long form 0x06, zigzag(20)=40, 600 = d8 04 */
	thrift_write_field_string(&b, &st, 21, "ab"); /* 0x18 02 'a' 'b' */
	thrift_write_field_begin(&b, &st, THRIFT_LIST, 22);
	thrift_write_list_begin(&b, THRIFT_BOOL, 2);  /* 0x21 */
	thrift_write_bool(&b, true);
	thrift_write_bool(&b, false);
	thrift_write_field_double(&b, &st, 23, 1.0);
	thrift_write_stop(&b);
	const uint8_t want[] = {
		0x15, 0x0d, 0x11, 0x12, 0x06, 0x28, 0xd8, 0x04, 0x18, 0x02, 'a', 'b',
		0x19, 0x21, 0x01, 0x02,
		0x17, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x3f, 0x00,
	};
	cr_assert_eq(b.len, sizeof(want), "len %zu", b.len);
	cr_assert(memcmp(b.data, want, sizeof(want)) == 0);

	/* read it back */
	lk_error err;
	lk_error_clear(&err);
	thrift_reader r;
	thrift_field f;
	thrift_reader_init(&r, b.data, b.len, 1000, &err);
	cr_assert(thrift_read_struct_begin(&r, &st));
	int32_t i32;
	int64_t i64;
	cr_assert(thrift_read_field_begin(&r, &st, &f));
	cr_assert_eq(f.type, THRIFT_I32);
	cr_assert_eq(f.id, 1);
	cr_assert(thrift_read_i32(&r, &i32));
	cr_assert_eq(i32, -7);
	cr_assert(thrift_read_field_begin(&r, &st, &f));
	cr_assert_eq(f.type, THRIFT_BOOL);
	cr_assert_eq(f.id, 2);
	cr_assert_eq(f.bool_value, true);
	cr_assert(thrift_read_field_begin(&r, &st, &f));
	cr_assert_eq(f.type, THRIFT_BOOL);
	cr_assert_eq(f.id, 3);
	cr_assert_eq(f.bool_value, false);
	cr_assert(thrift_read_field_begin(&r, &st, &f));
	cr_assert_eq(f.type, THRIFT_I64);
	cr_assert_eq(f.id, 20);
	cr_assert_eq(f.offset, 1004);
	cr_assert(thrift_read_i64(&r, &i64));
	cr_assert_eq(i64, 300);
	cr_assert(thrift_read_field_begin(&r, &st, &f));
	cr_assert_eq(f.id, 21);
	const uint8_t *p;
	size_t n;
	cr_assert(thrift_read_binary(&r, &p, &n));
	cr_assert_eq(n, 2);
	cr_assert(memcmp(p, "ab", 2) == 0);
	cr_assert(thrift_read_field_begin(&r, &st, &f));
	cr_assert_eq(f.id, 22);
	cr_assert_eq(f.type, THRIFT_LIST);
	thrift_type et;
	uint32_t cnt;
	bool bv;
	cr_assert(thrift_read_list_begin(&r, &et, &cnt));
	cr_assert_eq(et, THRIFT_BOOL);
	cr_assert_eq(cnt, 2);
	cr_assert(thrift_read_bool(&r, &bv));
	cr_assert_eq(bv, true);
	cr_assert(thrift_read_bool(&r, &bv));
	cr_assert_eq(bv, false);
	cr_assert(thrift_read_field_begin(&r, &st, &f));
	cr_assert_eq(f.id, 23);
	double d;
	cr_assert(thrift_read_double(&r, &d));
	cr_assert_eq(d, 1.0);
	cr_assert(thrift_read_field_begin(&r, &st, &f));
	cr_assert_eq(f.type, THRIFT_STOP);
	cr_assert_eq(r.depth, 0);
	cr_assert_eq(thrift_left(&r), 0);
	lk_buf_free(&b);
}

Test(thrift, long_lists_and_maps_and_skip)
{
	lk_buf b = LK_BUF_INIT;
	thrift_struct st, in;

	thrift_write_struct_begin(&st);
	thrift_write_field_begin(&b, &st, THRIFT_LIST, 1);
	thrift_write_list_begin(&b, THRIFT_I32, 20);    /* long form: 0xf5 20 */
	for (int i = 0; i < 20; i++)
		thrift_write_i32(&b, i * 1000);
	thrift_write_field_begin(&b, &st, THRIFT_MAP, 2);
	thrift_write_map_begin(&b, THRIFT_BINARY, THRIFT_STRUCT, 2);
	for (int i = 0; i < 2; i++) {
		thrift_write_string(&b, i ? "y" : "x");
		thrift_write_struct_begin(&in);
		thrift_write_field_i16(&b, &in, 300, (int16_t) -i);   /* long id */
		thrift_write_field_byte(&b, &in, 301, 7);
		thrift_write_field_begin(&b, &in, THRIFT_SET, 302);
		thrift_write_list_begin(&b, THRIFT_DOUBLE, 1);
		thrift_write_double(&b, 2.5);
		thrift_write_stop(&b);
	}
	thrift_write_field_begin(&b, &st, THRIFT_MAP, 3);
	thrift_write_map_begin(&b, THRIFT_I32, THRIFT_I32, 0);   /* one byte: 0 */
	thrift_write_field_i32(&b, &st, 4, 42);
	thrift_write_stop(&b);
	cr_assert_eq(b.data[1], 0xf5);
	cr_assert_eq(b.data[2], 20);

	lk_error err;
	lk_error_clear(&err);
	thrift_reader r;
	thrift_field f;
	thrift_reader_init(&r, b.data, b.len, 0, &err);
	cr_assert(thrift_read_struct_begin(&r, &st));
	for (int id = 1; id <= 3; id++) {
		cr_assert(thrift_read_field_begin(&r, &st, &f));
		cr_assert_eq(f.id, id);
		cr_assert(thrift_skip_field(&r, &f), "%s", err.msg);
	}
	cr_assert(thrift_read_field_begin(&r, &st, &f));
	cr_assert_eq(f.id, 4);
	int64_t v;
	cr_assert(thrift_read_integer(&r, f.type, &v));
	cr_assert_eq(v, 42);
	cr_assert(thrift_read_field_begin(&r, &st, &f));
	cr_assert_eq(f.type, THRIFT_STOP);
	cr_assert_eq(thrift_left(&r), 0);
	cr_assert_eq(r.depth, 0);
	lk_buf_free(&b);
}

Test(thrift, counts_are_checked_against_bytes_left)
{
	lk_error err;
	thrift_reader r;
	thrift_type et, kt;
	uint32_t n;

	/* list<i32> claiming 1,000,000 elements with 3 bytes left */
	const uint8_t list[] = {0xf5, 0xc0, 0x84, 0x3d, 1, 2, 3};
	lk_error_clear(&err);
	thrift_reader_init(&r, list, sizeof(list), 500, &err);
	cr_assert_not(thrift_read_list_begin(&r, &et, &n));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert(strstr(err.msg, "1000000 elements") != NULL, "%s", err.msg);
	cr_assert_str_eq(err.where, "byte offset 500");

	/* 3 doubles need 24 bytes: 16 are not enough; 3 bools need 3 bytes */
	uint8_t dbl[17] = {0x37};
	lk_error_clear(&err);
	thrift_reader_init(&r, dbl, sizeof(dbl), 0, &err);
	cr_assert_not(thrift_read_list_begin(&r, &et, &n));
	uint8_t bools[] = {0x31, 1, 2, 0};
	thrift_reader_init(&r, bools, sizeof(bools), 0, &err);
	cr_assert(thrift_read_list_begin(&r, &et, &n));
	cr_assert_eq(n, 3);
	cr_assert_eq(et, THRIFT_BOOL);
	thrift_reader_init(&r, bools, 3, 0, &err);
	cr_assert_not(thrift_read_list_begin(&r, &et, &n));

	/* map of 2 entries needs at least 4 bytes after its header */
	const uint8_t map[] = {0x02, 0x55, 1, 2, 3};
	lk_error_clear(&err);
	thrift_reader_init(&r, map, sizeof(map), 0, &err);
	cr_assert_not(thrift_read_map_begin(&r, &kt, &et, &n));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	thrift_reader_init(&r, map, sizeof(map) - 1, 0, &err);
	cr_assert_not(thrift_read_map_begin(&r, &kt, &et, &n));

	/* binary longer than the data */
	const uint8_t bin[] = {0x05, 'a', 'b'};
	const uint8_t *p;
	size_t len;
	lk_error_clear(&err);
	thrift_reader_init(&r, bin, sizeof(bin), 10, &err);
	cr_assert_not(thrift_read_binary(&r, &p, &len));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert_str_eq(err.where, "byte offset 10");

	/* i32 out of range, invalid types, invalid bool element */
	const uint8_t big[] = {0x80, 0x80, 0x80, 0x80, 0x20};
	int32_t i32;
	thrift_reader_init(&r, big, sizeof(big), 0, &err);
	cr_assert_not(thrift_read_i32(&r, &i32));
	const uint8_t badtype[] = {0x1e, 0x00};
	thrift_struct st;
	thrift_field f;
	thrift_reader_init(&r, badtype, sizeof(badtype), 0, &err);
	cr_assert(thrift_read_struct_begin(&r, &st));
	cr_assert_not(thrift_read_field_begin(&r, &st, &f));
	cr_assert(strstr(err.msg, "invalid thrift field type 14") != NULL, "%s", err.msg);
	const uint8_t badbool[] = {0x07};
	bool bv;
	thrift_reader_init(&r, badbool, 1, 0, &err);
	cr_assert_not(thrift_read_bool(&r, &bv));
}

Test(thrift, skip_depth_is_limited)
{
	/* a struct field holding 100 nested structs: skip must stop at 64 */
	lk_buf b = LK_BUF_INIT;
	for (int i = 0; i < 100; i++)
		lk_buf_append_byte(&b, 0x1c);   /* field 1, struct */
	for (int i = 0; i < 101; i++)
		lk_buf_append_byte(&b, 0x00);
	lk_error err;
	lk_error_clear(&err);
	thrift_reader r;
	thrift_reader_init(&r, b.data, b.len, 0, &err);
	cr_assert_not(thrift_skip(&r, THRIFT_STRUCT));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert(strstr(err.msg, "deeper than 64") != NULL, "%s", err.msg);
	cr_assert_str_eq(err.where, "byte offset 64");

	/* 60 levels are fine */
	lk_buf_reset(&b);
	for (int i = 0; i < 60; i++)
		lk_buf_append_byte(&b, 0x1c);
	for (int i = 0; i < 61; i++)
		lk_buf_append_byte(&b, 0x00);
	thrift_reader_init(&r, b.data, b.len, 0, &err);
	cr_assert(thrift_skip(&r, THRIFT_STRUCT), "%s", err.msg);
	cr_assert_eq(thrift_left(&r), 0);
	cr_assert_eq(r.depth, 0);

	/* lists of lists nest too */
	lk_buf_reset(&b);
	for (int i = 0; i < 70; i++)
		lk_buf_append_byte(&b, 0x19);   /* list of 1 list */
	lk_buf_append_byte(&b, 0x00);
	thrift_reader_init(&r, b.data, b.len, 0, &err);
	cr_assert_not(thrift_skip(&r, THRIFT_LIST));
	cr_assert(strstr(err.msg, "deeper than 64") != NULL, "%s", err.msg);
	lk_buf_free(&b);
}

/* ---- metadata round trips ---------------------------------------------- */

static pq_file_meta
rich_file_meta(void)
{
	static const uint8_t minb[] = {0x00, 0x01, 0xff};
	static const uint8_t maxb[] = {0x7f, 0x80};
	static pq_schema_element schema[8];
	static pq_key_value kv[2] = {{"writer", "lakesync"}, {"no-value", NULL}};
	static pq_key_value ckv[1] = {{"col", "meta"}};
	static pq_encoding enc[3] = {PQ_ENC_PLAIN, PQ_ENC_RLE, PQ_ENC_RLE_DICTIONARY};
	static const char *path_a[1] = {"a"};
	static const char *path_b[3] = {"b", "list", "element"};
	static pq_page_encoding_stats es[2] = {
		{PQ_PAGE_DICTIONARY, PQ_ENC_PLAIN, 1}, {PQ_PAGE_DATA, PQ_ENC_RLE_DICTIONARY, 5}};
	static pq_column_chunk cols[2];
	static pq_sorting_column sort[2] = {{0, true, false}, {1, false, true}};
	static pq_row_group rgs[2];

	memset(schema, 0, sizeof(schema));
	schema[0].name = "schema";
	schema[0].has_num_children = true;
	schema[0].num_children = 7;
	schema[1] = (pq_schema_element){
		.has_type = true, .type = PQ_INT64, .has_repetition = true,
		.repetition = PQ_REQUIRED, .name = "a", .has_field_id = true,
		.field_id = 17, .has_logical_type = true,
		.logical_type = {.kind = PQ_LT_TIMESTAMP, .is_adjusted_to_utc = true,
						 .unit = PQ_UNIT_NANOS}};
	schema[2] = (pq_schema_element){
		.has_repetition = true, .repetition = PQ_OPTIONAL, .name = "b",
		.has_num_children = true, .num_children = 1, .has_converted_type = true,
		.converted_type = PQ_CT_LIST, .has_logical_type = true,
		.logical_type = {.kind = PQ_LT_LIST}};
	schema[3] = (pq_schema_element){
		.has_repetition = true, .repetition = PQ_REPEATED, .name = "list",
		.has_num_children = true, .num_children = 1};
	schema[4] = (pq_schema_element){
		.has_type = true, .type = PQ_FIXED_LEN_BYTE_ARRAY, .has_type_length = true,
		.type_length = 16, .has_repetition = true, .repetition = PQ_OPTIONAL,
		.name = "element", .has_converted_type = true,
		.converted_type = PQ_CT_DECIMAL, .has_scale = true, .scale = 4,
		.has_precision = true, .precision = 38, .has_logical_type = true,
		.logical_type = {.kind = PQ_LT_DECIMAL, .scale = 4, .precision = 38}};
	schema[5] = (pq_schema_element){
		.has_type = true, .type = PQ_INT32, .has_repetition = true,
		.repetition = PQ_OPTIONAL, .name = "small", .has_converted_type = true,
		.converted_type = PQ_CT_UINT_8, .has_logical_type = true,
		.logical_type = {.kind = PQ_LT_INTEGER, .bit_width = 8, .is_signed = false}};
	schema[6] = (pq_schema_element){
		.has_type = true, .type = PQ_INT32, .has_repetition = true,
		.repetition = PQ_OPTIONAL, .name = "t", .has_logical_type = true,
		.logical_type = {.kind = PQ_LT_TIME, .is_adjusted_to_utc = false,
						 .unit = PQ_UNIT_MILLIS}};
	schema[7] = (pq_schema_element){
		.has_type = true, .type = PQ_BYTE_ARRAY, .has_repetition = true,
		.repetition = PQ_OPTIONAL, .name = "j\xc3\xa9", .has_logical_type = true,
		.logical_type = {.kind = PQ_LT_JSON}};

	memset(cols, 0, sizeof(cols));
	cols[0].file_offset = 4;
	cols[0].has_meta_data = true;
	cols[0].meta_data = (pq_column_meta){
		.type = PQ_INT64, .nencodings = 2, .encodings = enc, .npath = 1,
		.path_in_schema = path_a, .codec = PQ_CODEC_ZSTD, .num_values = 1000,
		.total_uncompressed_size = 8000, .total_compressed_size = 1234,
		.data_page_offset = 4, .has_statistics = true,
		.statistics = {.has_min_value = true, .min_value = minb, .min_value_len = 3,
					   .has_max_value = true, .max_value = maxb, .max_value_len = 2,
					   .has_null_count = true, .null_count = 0,
					   .has_is_max_value_exact = true, .is_max_value_exact = true,
					   .has_is_min_value_exact = true, .is_min_value_exact = false},
		.has_bloom_filter_offset = true, .bloom_filter_offset = 99999,
		.has_bloom_filter_length = true, .bloom_filter_length = 1024};
	cols[0].has_offset_index = true;
	cols[0].offset_index_offset = 5000;
	cols[0].offset_index_length = 30;
	cols[0].has_column_index = true;
	cols[0].column_index_offset = 5030;
	cols[0].column_index_length = 40;
	cols[1].file_path = "other.parquet";
	cols[1].file_offset = 1238;
	cols[1].has_meta_data = true;
	cols[1].meta_data = (pq_column_meta){
		.type = PQ_FIXED_LEN_BYTE_ARRAY, .nencodings = 3, .encodings = enc,
		.npath = 3, .path_in_schema = path_b, .codec = PQ_CODEC_SNAPPY,
		.num_values = 3000, .total_uncompressed_size = (int64_t) 5 << 32,
		.total_compressed_size = 4000, .nkv = 1, .kv = ckv,
		.data_page_offset = 1300, .has_dictionary_page_offset = true,
		.dictionary_page_offset = 1238, .has_index_page_offset = true,
		.index_page_offset = 1250, .has_statistics = true,
		.statistics = {.has_min = true, .min = minb, .min_len = 0,
					   .has_max = true, .max = maxb, .max_len = 1,
					   .has_distinct_count = true, .distinct_count = 12},
		.nencoding_stats = 2, .encoding_stats = es};

	memset(rgs, 0, sizeof(rgs));
	rgs[0] = (pq_row_group){
		.ncolumns = 2, .columns = cols, .total_byte_size = 13000, .num_rows = 1000,
		.nsorting_columns = 2, .sorting_columns = sort, .has_file_offset = true,
		.file_offset = 4, .has_total_compressed_size = true,
		.total_compressed_size = 5234, .has_ordinal = true, .ordinal = 0};
	rgs[1] = (pq_row_group){
		.ncolumns = 0, .columns = NULL, .total_byte_size = 0,
		.num_rows = (int64_t) 1 << 40, .has_ordinal = true, .ordinal = -2};

	return (pq_file_meta){
		.version = 2, .nschema = 8, .schema = schema, .num_rows = 1000,
		.nrow_groups = 2, .row_groups = rgs, .nkv = 2, .kv = kv,
		.created_by = "lakesync version 0.1", .ncolumn_orders = 7};
}

Test(meta, file_meta_round_trip)
{
	pq_file_meta in = rich_file_meta(), out;
	lk_buf b = LK_BUF_INIT, b2 = LK_BUF_INIT;
	lk_arena arena;
	lk_error err;
	size_t consumed = 0;

	lk_error_clear(&err);
	lk_arena_init(&arena, 0);
	pq_meta_write_file_meta(&b, &in);
	lk_buf_append_str(&b, "trailing");
	cr_assert(pq_meta_read_file_meta(b.data, b.len, 0, &arena, &out, &consumed, &err),
			  "%s (%s)", err.msg, err.where);
	cr_assert_eq(consumed, b.len - 8);
	cmp_file_meta(&in, &out);
	/* spot checks, independent of the comparison helper */
	cr_assert_str_eq(out.schema[7].name, "j\xc3\xa9");
	cr_assert_eq(out.schema[1].logical_type.unit, PQ_UNIT_NANOS);
	cr_assert_eq(out.row_groups[0].columns[1].meta_data.total_uncompressed_size,
				 (int64_t) 5 << 32);
	cr_assert_eq(out.row_groups[1].ordinal, -2);
	cr_assert_null(out.kv[1].value);
	cr_assert_null(out.row_groups[0].columns[0].file_path);
	cr_assert_eq(out.ncolumn_orders, 7);
	/* deterministic: decoded and re-encoded gives the same bytes */
	pq_meta_write_file_meta(&b2, &out);
	cr_assert_eq(b2.len, consumed);
	cr_assert(memcmp(b.data, b2.data, consumed) == 0);
	lk_buf_free(&b);
	lk_buf_free(&b2);
	lk_arena_free(&arena);
}

Test(meta, page_header_round_trip)
{
	static const uint8_t mn[] = {1, 2, 3, 4};
	pq_page_header hs[4];
	memset(hs, 0, sizeof(hs));
	hs[0].type = PQ_PAGE_DATA;
	hs[0].uncompressed_page_size = 100;
	hs[0].compressed_page_size = 80;
	hs[0].has_crc = true;
	hs[0].crc = -123456789;
	hs[0].has_data_page_header = true;
	hs[0].data_page_header = (pq_data_page_header){
		.num_values = 10, .encoding = PQ_ENC_RLE_DICTIONARY,
		.definition_level_encoding = PQ_ENC_RLE,
		.repetition_level_encoding = PQ_ENC_BIT_PACKED, .has_statistics = true,
		.statistics = {.has_min_value = true, .min_value = mn, .min_value_len = 4,
					   .has_null_count = true, .null_count = 3}};
	hs[1].type = PQ_PAGE_DICTIONARY;
	hs[1].uncompressed_page_size = 7;
	hs[1].compressed_page_size = 7;
	hs[1].has_dictionary_page_header = true;
	hs[1].dictionary_page_header = (pq_dictionary_page_header){
		.num_values = 2, .encoding = PQ_ENC_PLAIN_DICTIONARY, .has_is_sorted = true,
		.is_sorted = true};
	hs[2].type = PQ_PAGE_DATA_V2;
	hs[2].uncompressed_page_size = 2000000;
	hs[2].compressed_page_size = 0;
	hs[2].has_data_page_header_v2 = true;
	hs[2].data_page_header_v2 = (pq_data_page_header_v2){
		.num_values = 5, .num_nulls = 1, .num_rows = 4,
		.encoding = PQ_ENC_DELTA_BINARY_PACKED, .definition_levels_byte_length = 2,
		.repetition_levels_byte_length = 3, .is_compressed = false};
	hs[3].type = PQ_PAGE_INDEX;
	hs[3].uncompressed_page_size = 1;
	hs[3].compressed_page_size = 1;
	hs[3].has_index_page_header = true;

	for (int i = 0; i < 4; i++) {
		lk_buf b = LK_BUF_INIT, b2 = LK_BUF_INIT;
		lk_arena arena;
		lk_error err;
		pq_page_header out;
		size_t consumed;

		lk_arena_init(&arena, 0);
		pq_meta_write_page_header(&b, &hs[i]);
		size_t hlen = b.len;
		lk_buf_append_str(&b, "page bytes");
		cr_assert(pq_meta_read_page_header(b.data, b.len, 4, &arena, &out,
										   &consumed, &err), "%s", err.msg);
		cr_assert_eq(consumed, hlen);
		cmp_page_header(&hs[i], &out);
		pq_meta_write_page_header(&b2, &out);
		cr_assert_eq(b2.len, hlen);
		cr_assert(memcmp(b.data, b2.data, hlen) == 0);
		/* every truncation fails cleanly */
		for (size_t n = 0; n < hlen; n++) {
			uint8_t *t = exact_copy(b.data, n);
			lk_error_clear(&err);
			cr_assert_not(pq_meta_read_page_header(t, n, 4, &arena, &out, NULL, &err));
			cr_assert_eq(err.code, LK_ERR_CORRUPT);
			free(t);
		}
		lk_buf_free(&b);
		lk_buf_free(&b2);
		lk_arena_free(&arena);
	}
}

Test(meta, v2_is_compressed_defaults_to_true)
{
	/* PageHeader{1: 3, 2: 10, 3: 10, 8: V2{1..6 = 0}} without field 7 */
	const uint8_t bytes[] = {0x15, 0x06, 0x15, 0x14, 0x15, 0x14, 0x5c,
							 0x15, 0x00, 0x15, 0x00, 0x15, 0x00, 0x15, 0x00,
							 0x15, 0x00, 0x15, 0x00, 0x00, 0x00};
	lk_arena arena;
	lk_error err;
	pq_page_header h;
	size_t consumed;

	lk_arena_init(&arena, 0);
	cr_assert(pq_meta_read_page_header(bytes, sizeof(bytes), 0, &arena, &h,
									   &consumed, &err), "%s (%s)", err.msg, err.where);
	cr_assert_eq(consumed, sizeof(bytes));
	cr_assert_eq(h.type, PQ_PAGE_DATA_V2);
	cr_assert_eq(h.uncompressed_page_size, 10);
	cr_assert(h.has_data_page_header_v2);
	cr_assert(h.data_page_header_v2.is_compressed);
	lk_arena_free(&arena);
}

/* ---- malformed metadata ------------------------------------------------ */

static void
expect_corrupt(const uint8_t *bytes, size_t len, bool page, const char *msg,
			   const char *where)
{
	lk_arena arena;
	lk_error err;
	pq_file_meta fm;
	pq_page_header h;
	bool ok;

	lk_arena_init(&arena, 0);
	lk_error_clear(&err);
	if (page)
		ok = pq_meta_read_page_header(bytes, len, 0, &arena, &h, NULL, &err);
	else
		ok = pq_meta_read_file_meta(bytes, len, 0, &arena, &fm, NULL, &err);
	cr_assert_not(ok);
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert(strstr(err.msg, msg) != NULL, "msg: %s", err.msg);
	cr_assert(strstr(err.where, where) != NULL, "where: %s", err.where);
	lk_arena_free(&arena);
}

Test(meta, missing_required_fields_are_named)
{
	/* FileMetaData{1: 1, 2: [], 4: []}: num_rows missing */
	const uint8_t fm[] = {0x15, 0x02, 0x19, 0x0c, 0x29, 0x0c, 0x00};
	expect_corrupt(fm, sizeof(fm), false,
				   "required field FileMetaData.num_rows (3) is missing",
				   "FileMetaData, byte offset 0");
	/* schema element without a name */
	const uint8_t se[] = {0x15, 0x02, 0x19, 0x1c, 0x15, 0x02, 0x00, 0x00};
	expect_corrupt(se, sizeof(se), false,
				   "required field SchemaElement.name (4) is missing",
				   "FileMetaData.schema[0], byte offset 4");
	/* page header without compressed_page_size */
	const uint8_t ph[] = {0x15, 0x00, 0x15, 0x02, 0x00};
	expect_corrupt(ph, sizeof(ph), true,
				   "required field PageHeader.compressed_page_size (3) is missing",
				   "PageHeader, byte offset 0");
	/* dictionary page header without encoding */
	const uint8_t dh[] = {0x15, 0x04, 0x15, 0x02, 0x15, 0x02, 0x4c, 0x15, 0x02, 0x00, 0x00};
	expect_corrupt(dh, sizeof(dh), true,
				   "required field DictionaryPageHeader.encoding (2) is missing",
				   "PageHeader.dictionary_page_header, byte offset 7");
}

Test(meta, bad_values_are_corrupt)
{
	/* negative dictionary num_values (as ARROW-RS-GH-6229-DICTHEADER) */
	const uint8_t dh[] = {0x15, 0x04, 0x15, 0x02, 0x15, 0x02, 0x4c, 0x15, 0x01,
						  0x15, 0x00, 0x00, 0x00};
	expect_corrupt(dh, sizeof(dh), true, "negative value -1",
				   "PageHeader.dictionary_page_header.num_values, byte offset 8");
	/* negative compressed size */
	const uint8_t cs[] = {0x15, 0x00, 0x15, 0x02, 0x15, 0x03, 0x00};
	expect_corrupt(cs, sizeof(cs), true, "negative value -2",
				   "PageHeader.compressed_page_size, byte offset 5");
	/* physical type 8 */
	const uint8_t pt[] = {0x15, 0x02, 0x19, 0x1c, 0x15, 0x10, 0x38, 0x01, 'x',
						  0x00, 0x16, 0x00, 0x19, 0x0c, 0x00};
	expect_corrupt(pt, sizeof(pt), false, "value 8 out of range [0, 7]",
				   "FileMetaData.schema[0].type, byte offset 5");
	/* a string field sent as i32 is skipped, so the required name is missing */
	const uint8_t ty[] = {0x15, 0x02, 0x19, 0x1c, 0x45, 0x02, 0x00, 0x00};
	expect_corrupt(ty, sizeof(ty), false, "required field SchemaElement.name (4) is missing",
				   "FileMetaData.schema[0], byte offset 4");
	/* list<i32> encodings sent as list<binary> */
	const uint8_t le[] = {0x15, 0x02, 0x19, 0x0c, 0x16, 0x00, 0x19, 0x1c, 0x19, 0x2c,
						  0x26, 0x00, 0x1c, 0x15, 0x02, 0x19, 0x18, 0x01, 'x', 0x00,
						  0x00, 0x00, 0x00};
	expect_corrupt(le, sizeof(le), false, "list elements have thrift type binary, expected i32",
				   "FileMetaData.row_groups[0].columns[0].meta_data.encodings, byte offset 16");
	/* list of 200 schema elements in 10 bytes */
	const uint8_t ls[] = {0x15, 0x02, 0x19, 0xfc, 0xc8, 0x01, 0, 0, 0, 0};
	expect_corrupt(ls, sizeof(ls), false, "list of 200 elements longer than",
				   "FileMetaData.schema, byte offset 3");
	/* an i32 field with a 6-byte varint value out of range */
	const uint8_t big[] = {0x15, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00};
	expect_corrupt(big, sizeof(big), false, "out of range",
				   "FileMetaData.version, byte offset 1");
}

Test(meta, unknown_fields_and_members_are_skipped)
{
	/* SchemaElement with unknown field 30 (a map) and LogicalType member 40 */
	lk_buf b = LK_BUF_INIT;
	thrift_struct fm, se, lt;
	thrift_write_struct_begin(&fm);
	thrift_write_field_i32(&b, &fm, 1, 1);
	thrift_write_field_begin(&b, &fm, THRIFT_LIST, 2);
	thrift_write_list_begin(&b, THRIFT_STRUCT, 1);
	thrift_write_struct_begin(&se);
	thrift_write_field_string(&b, &se, 4, "root");
	thrift_write_field_begin(&b, &se, THRIFT_STRUCT, 10);
	thrift_write_struct_begin(&lt);
	thrift_write_field_begin(&b, &lt, THRIFT_STRUCT, 40);
	thrift_write_stop(&b);
	thrift_write_stop(&b);
	thrift_write_field_begin(&b, &se, THRIFT_MAP, 30);
	thrift_write_map_begin(&b, THRIFT_BINARY, THRIFT_BOOL, 1);
	thrift_write_string(&b, "k");
	thrift_write_bool(&b, true);
	thrift_write_stop(&b);
	thrift_write_field_i64(&b, &fm, 3, 0);
	thrift_write_field_begin(&b, &fm, THRIFT_LIST, 4);
	thrift_write_list_begin(&b, THRIFT_STRUCT, 0);
	thrift_write_field_begin(&b, &fm, THRIFT_LIST, 7);
	thrift_write_list_begin(&b, THRIFT_STRUCT, 2);
	thrift_write_struct_begin(&lt);
	thrift_write_field_begin(&b, &lt, THRIFT_STRUCT, 1);
	thrift_write_stop(&b);
	thrift_write_stop(&b);
	thrift_write_struct_begin(&lt);
	thrift_write_field_begin(&b, &lt, THRIFT_STRUCT, 2);   /* not TYPE_ORDER */
	thrift_write_stop(&b);
	thrift_write_stop(&b);
	thrift_write_field_double(&b, &fm, 100, 3.5);   /* unknown field */
	thrift_write_stop(&b);

	lk_arena arena;
	lk_error err;
	pq_file_meta m;
	size_t consumed;
	lk_arena_init(&arena, 0);
	cr_assert(pq_meta_read_file_meta(b.data, b.len, 0, &arena, &m, &consumed, &err),
			  "%s (%s)", err.msg, err.where);
	cr_assert_eq(consumed, b.len);
	cr_assert_eq(m.nschema, 1);
	cr_assert_str_eq(m.schema[0].name, "root");
	cr_assert(m.schema[0].has_logical_type);
	cr_assert_eq(m.schema[0].logical_type.kind, PQ_LT_OTHER);
	cr_assert_eq(m.nrow_groups, 0);
	cr_assert_eq(m.ncolumn_orders, 0);   /* one entry is not TYPE_ORDER */
	lk_buf_free(&b);
	lk_arena_free(&arena);
}

/* ---- real footers ------------------------------------------------------ */

Test(meta, alltypes_plain_footer)
{
	char path[4096];
	size_t len, off, flen, consumed;
	snprintf(path, sizeof(path), "%s/parquet/data/alltypes_plain.parquet",
			 testdata_dir());
	uint8_t *file = slurp(path, &len);
	if (!file)
		cr_skip_test("test data not found: %s", path);
	cr_assert(footer_of(file, len, &off, &flen));
	cr_assert_eq(len, 1851);
	cr_assert_eq(flen, 730);

	lk_arena arena;
	lk_error err;
	pq_file_meta m;
	lk_arena_init(&arena, 0);
	cr_assert(pq_meta_read_file_meta(file + off, flen, off, &arena, &m, &consumed,
									 &err), "%s (%s)", err.msg, err.where);
	cr_assert_eq(consumed, flen);
	cr_assert_eq(m.version, 1);
	cr_assert_eq(m.num_rows, 8);
	cr_assert_str_eq(m.created_by,
					 "impala version 1.3.0-INTERNAL (build 8a48ddb1eff84592b3fc06bc6f51ec120e1fffc9)");
	cr_assert_eq(m.nschema, 12);
	cr_assert_str_eq(m.schema[0].name, "schema");
	cr_assert(m.schema[0].has_num_children);
	cr_assert_eq(m.schema[0].num_children, 11);
	cr_assert_not(m.schema[0].has_type);
	static const char *names[] = {
		"id", "bool_col", "tinyint_col", "smallint_col", "int_col", "bigint_col",
		"float_col", "double_col", "date_string_col", "string_col", "timestamp_col"};
	static const pq_physical_type types[] = {
		PQ_INT32, PQ_BOOLEAN, PQ_INT32, PQ_INT32, PQ_INT32, PQ_INT64, PQ_FLOAT,
		PQ_DOUBLE, PQ_BYTE_ARRAY, PQ_BYTE_ARRAY, PQ_INT96};
	static const int64_t data_off[] = {49, 109, 189, 277, 366, 458, 545, 639, 766, 863, 1040};
	static const int64_t csize[] = {73, 24, 47, 47, 47, 55, 47, 55, 88, 49, 139};
	for (int i = 0; i < 11; i++) {
		const pq_schema_element *e = &m.schema[i + 1];
		cr_assert_str_eq(e->name, names[i]);
		cr_assert(e->has_type);
		cr_assert_eq(e->type, types[i], "%s", names[i]);
		cr_assert(e->has_repetition);
		cr_assert_eq(e->repetition, PQ_OPTIONAL);
		cr_assert_not(e->has_logical_type);
		cr_assert_not(e->has_converted_type);
	}
	cr_assert_eq(m.nrow_groups, 1);
	const pq_row_group *rg = &m.row_groups[0];
	cr_assert_eq(rg->num_rows, 8);
	cr_assert_eq(rg->ncolumns, 11);
	for (int i = 0; i < 11; i++) {
		const pq_column_chunk *c = &rg->columns[i];
		cr_assert(c->has_meta_data);
		cr_assert_eq(c->meta_data.type, types[i]);
		cr_assert_eq(c->meta_data.codec, PQ_CODEC_UNCOMPRESSED);
		cr_assert_eq(c->meta_data.num_values, 8);
		cr_assert_eq(c->meta_data.npath, 1);
		cr_assert_str_eq(c->meta_data.path_in_schema[0], names[i]);
		cr_assert_eq(c->meta_data.data_page_offset, data_off[i]);
		cr_assert_eq(c->meta_data.total_compressed_size, csize[i]);
		cr_assert_eq(c->meta_data.total_uncompressed_size, csize[i]);
		cr_assert_eq(c->meta_data.nencodings, 3);
	}
	cr_assert_eq(rg->columns[0].meta_data.encodings[0], PQ_ENC_RLE);
	cr_assert_eq(rg->columns[0].meta_data.encodings[1], PQ_ENC_PLAIN_DICTIONARY);
	cr_assert_eq(rg->columns[0].meta_data.encodings[2], PQ_ENC_PLAIN);
	cr_assert(rg->columns[0].meta_data.has_dictionary_page_offset);
	cr_assert_eq(rg->columns[0].meta_data.dictionary_page_offset, 4);
	cr_assert_eq(m.ncolumn_orders, 0);
	cr_assert_not(m.has_encryption_algorithm);

	/* the first page: the dictionary of "id" at offset 4 */
	pq_page_header h;
	cr_assert(pq_meta_read_page_header(file + 4, len - 4, 4, &arena, &h, &consumed,
									   &err), "%s (%s)", err.msg, err.where);
	cr_assert_eq(h.type, PQ_PAGE_DICTIONARY);
	cr_assert(h.has_dictionary_page_header);
	cr_assert_eq(h.dictionary_page_header.num_values, 8);
	cr_assert_eq(h.compressed_page_size, 32);
	cr_assert_eq(h.uncompressed_page_size, 32);
	/* header + dictionary page end where the data page begins */
	cr_assert_eq(4 + consumed + (size_t) h.compressed_page_size, 49);

	/* every truncation of the footer fails cleanly */
	for (size_t n = 0; n < flen; n++) {
		uint8_t *t = exact_copy(file + off, n);
		lk_error_clear(&err);
		cr_assert_not(pq_meta_read_file_meta(t, n, off, &arena, &m, NULL, &err),
					  "truncated at %zu", n);
		cr_assert_eq(err.code, LK_ERR_CORRUPT);
		cr_assert(strstr(err.where, "byte offset") != NULL, "%s", err.where);
		free(t);
		lk_arena_reset(&arena);
	}
	lk_arena_free(&arena);
	free(file);
}

/* Decode every footer in dir; returns the number of files decoded. */
static int
decode_dir(const char *sub, bool must_succeed)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/%s", testdata_dir(), sub);
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int count = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t nl = strlen(de->d_name);
		if (nl < 8 || strcmp(de->d_name + nl - 8, ".parquet") != 0)
			continue;
		char path[8192];
		size_t len, off, flen, consumed;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		uint8_t *file = slurp(path, &len);
		cr_assert_not_null(file, "%s", path);
		if (!footer_of(file, len, &off, &flen)) {
			cr_assert_not(must_succeed, "%s: no footer", path);
			free(file);
			continue;
		}
		uint8_t *footer = exact_copy(file + off, flen);
		lk_arena arena;
		lk_error err;
		pq_file_meta m;
		lk_arena_init(&arena, 0);
		lk_error_clear(&err);
		bool ok = pq_meta_read_file_meta(footer, flen, off, &arena, &m, &consumed, &err);
		if (must_succeed)
			cr_assert(ok, "%s: %s (%s)", de->d_name, err.msg, err.where);
		if (ok) {
			cr_assert_eq(consumed, flen, "%s", de->d_name);
			/* decode(encode(decode(x))) == decode(x) */
			lk_buf b = LK_BUF_INIT;
			pq_file_meta m2;
			pq_meta_write_file_meta(&b, &m);
			cr_assert(pq_meta_read_file_meta(b.data, b.len, 0, &arena, &m2, NULL, &err),
					  "%s: re-encoded: %s (%s)", de->d_name, err.msg, err.where);
			/* the encoder drops LogicalType members it does not know */
			for (int32_t i = 0; i < m.nschema; i++)
				if (m.schema[i].has_logical_type &&
					m.schema[i].logical_type.kind == PQ_LT_OTHER)
					m.schema[i].has_logical_type = false;
			cmp_file_meta(&m, &m2);
			lk_buf_free(&b);
			count++;
		} else {
			cr_assert_neq(err.code, LK_OK);
			cr_assert_neq(err.msg[0], '\0');
			cr_assert(strstr(err.where, "byte offset") != NULL, "%s", err.where);
		}
		if (strcmp(de->d_name, "PARQUET-1481.parquet") == 0) {
			cr_assert_not(ok);
			cr_assert_eq(err.code, LK_ERR_CORRUPT);
			cr_assert_str_eq(err.msg, "value -7 out of range [0, 7]");
			cr_assert(strstr(err.where, "FileMetaData.schema[1].type") != NULL,
					  "%s", err.where);
		}
		lk_arena_free(&arena);
		free(footer);
		free(file);
	}
	closedir(d);
	return count;
}

Test(meta, every_good_footer_decodes_and_reencodes)
{
	int n = decode_dir("parquet/data", true);
	if (n < 0)
		cr_skip_test("test data not found");
	cr_assert_geq(n, 50);
}

Test(meta, bad_data_footers_fail_cleanly)
{
	int n = decode_dir("parquet/bad_data", false);
	if (n < 0)
		cr_skip_test("test data not found");
	/* all but PARQUET-1481 have valid footers (their damage is in pages) */
	cr_assert_eq(n, 6);
}
