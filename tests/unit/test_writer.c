/*
 * test_writer.c — the Parquet writer (src/parquet/writer.c, io.c).
 *
 * Files are written to memory (a pq_output on an lk_buf) or to a temporary
 * directory, then checked byte by byte where the layout is fixed: magic,
 * footer (decoded with pq_meta_read_file_meta), schema elements, row
 * groups, column chunk metadata, exact statistics, and the pages themselves
 * (a small chunk decoder below: headers, decompression, RLE levels, PLAIN
 * and dictionary values).  A round trip through pq_reader covers every type.
 *
 * writer_oracle/files writes a set of files plus, next to each, the SQL
 * that produces the expected rows; with LAKESYNC_WRITER_OUT set it writes
 * them there and keeps them for tests/oracle/writer.sh (DuckDB compares).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/types.h"
#include "parquet/compress.h"
#include "parquet/encoding.h"
#include "parquet/meta.h"
#include "parquet/parquet.h"

/* ---- helpers: output to memory ------------------------------------------- */

static bool
mem_write(void *ctx, const void *buf, size_t n, lk_error *err)
{
	(void) err;
	lk_buf_append(ctx, buf, n);
	return true;
}

static bool
mem_close(void *ctx, bool durable, lk_error *err)
{
	(void) ctx;
	(void) durable;
	(void) err;
	return true;
}

static pq_output
mem_output(lk_buf *b)
{
	pq_output o = {b, "<test memory>", mem_write, mem_close};
	return o;
}

static void
field(lk_type *st, int i, const char *name, lk_type *t, bool nullable)
{
	st->children[i].name = name;
	st->children[i].type = t;
	st->children[i].nullable = nullable;
	st->children[i].field_id = -1;
}

static lk_type *
ty(lk_arena *a, lk_type_id id)
{
	return lk_type_new(a, id);
}

static lk_type *
ty_ext(lk_arena *a, lk_type_id id, int ext)
{
	lk_type *t = lk_type_new(a, id);
	t->ext = (uint8_t) ext;
	return t;
}

static lk_type *
ty_unsigned(lk_arena *a, lk_type_id id)
{
	lk_type *t = lk_type_new(a, id);
	t->is_unsigned = true;
	return t;
}

static lk_type *
ty_unit(lk_arena *a, lk_type_id id, int unit)
{
	lk_type *t = lk_type_new(a, id);
	t->unit = (uint8_t) unit;
	return t;
}

#define CHECK_OK(expr)                                                        \
	do {                                                                      \
		if (!(expr))                                                          \
			cr_assert_fail("%s failed: %s (%s)", #expr, err.msg, err.where);        \
	} while (0)

/* Write batches to memory; returns the bytes in *file (caller frees with
 * lk_buf_free) and, when wout is not NULL, the closed writer (caller frees;
 * info points into it). */
static void
write_mem(const lk_type *schema, lk_batch **b, int nb, const pq_writer_options *o,
		  lk_buf *file, pq_file_info *info, pq_writer **wout)
{
	lk_error err;
	lk_error_clear(&err);
	lk_buf_init(file);
	pq_output out = mem_output(file);
	pq_writer *w = pq_writer_open(&out, schema, o, &err);
	if (!w)
		cr_assert_fail("open: %s (%s)", err.msg, err.where);
	for (int i = 0; i < nb; i++)
		CHECK_OK(pq_writer_write(w, b[i], &err));
	pq_file_info tmp;
	CHECK_OK(pq_writer_close(w, false, info ? info : &tmp, &err));
	if (wout)
		*wout = w;
	else
		pq_writer_free(w);
	/* debugging aid: LK_TEST_DUMP=path keeps the last file written */
	const char *dump = getenv("LK_TEST_DUMP");
	FILE *fp = dump ? fopen(dump, "wb") : NULL;
	if (fp) {
		cr_assert_eq(fwrite(file->data, 1, file->len, fp), file->len);
		fclose(fp);
	}
}

/* Decode the footer of file into m (allocated from a). */
static void
footer(const lk_buf *file, lk_arena *a, pq_file_meta *m)
{
	lk_error err;
	lk_error_clear(&err);
	cr_assert_geq(file->len, 12);
	cr_assert(memcmp(file->data, "PAR1", 4) == 0, "no leading PAR1");
	cr_assert(memcmp(file->data + file->len - 4, "PAR1", 4) == 0, "no trailing PAR1");
	uint32_t flen;
	memcpy(&flen, file->data + file->len - 8, 4);
	cr_assert_leq((size_t) flen + 12, file->len);
	size_t start = file->len - 8 - flen, used = 0;
	CHECK_OK(pq_meta_read_file_meta(file->data + start, flen, start, a, m, &used, &err));
	cr_assert_eq(used, flen, "footer not fully consumed");
}

/* ---- helpers: a small chunk decoder -------------------------------------- */

typedef struct chunk_data {
	int64_t nlevels;          /* values incl. nulls */
	uint32_t *def, *rep;      /* NULL when the max level is 0 */
	int64_t nvalues;          /* non-null values */
	lk_buf values;            /* PLAIN form (booleans: a byte each), dictionary resolved */
	int pages_dict, pages_plain, dict_pages, v2_pages;
	int64_t dict_entries;
} chunk_data;

static const pq_schema_element *
leaf_element(const pq_file_meta *m, int leaf)
{
	int k = 0;
	for (int i = 1; i < m->nschema; i++) {
		if (m->schema[i].has_num_children && m->schema[i].num_children > 0)
			continue;
		if (k++ == leaf)
			return &m->schema[i];
	}
	cr_assert_fail("no leaf %d", leaf);
	return NULL;
}

static size_t
phys_width(const pq_schema_element *e)
{
	switch (e->type) {
	case PQ_BOOLEAN: return 1;
	case PQ_INT32: case PQ_FLOAT: return 4;
	case PQ_INT64: case PQ_DOUBLE: return 8;
	case PQ_INT96: return 12;
	case PQ_FIXED_LEN_BYTE_ARRAY: return (size_t) e->type_length;
	default: return 0;
	}
}

static void
decode_levels(const uint8_t *p, size_t n, int max, int64_t count, uint32_t *out)
{
	lk_error err;
	lk_error_clear(&err);
	pq_rle_decoder d;
	pq_rle_decoder_init(&d, p, n, pq_bit_width((uint64_t) max), 0);
	CHECK_OK(pq_rle_decoder_get(&d, out, count, &err));
}

/* Append n PLAIN values of p (width w, 0 = byte array, booleans bit-packed
 * when is_bool) to out; returns the bytes used. */
static size_t
plain_values(const uint8_t *p, size_t len, int64_t n, size_t w, bool is_bool,
			 lk_buf *out)
{
	if (is_bool) {
		cr_assert_geq(len, (size_t) (n + 7) / 8);
		for (int64_t i = 0; i < n; i++)
			lk_buf_append_byte(out, (p[i >> 3] >> (i & 7)) & 1);
		return (size_t) (n + 7) / 8;
	}
	if (w) {
		cr_assert_geq(len, (size_t) n * w);
		lk_buf_append(out, p, (size_t) n * w);
		return (size_t) n * w;
	}
	size_t pos = 0;
	for (int64_t i = 0; i < n; i++) {
		uint32_t l;
		cr_assert_leq(pos + 4, len);
		memcpy(&l, p + pos, 4);
		cr_assert_leq(pos + 4 + l, len);
		lk_buf_append(out, p + pos, 4 + (size_t) l);
		pos += 4 + l;
	}
	return pos;
}

static void
read_chunk(const lk_buf *file, const pq_file_meta *m, int rg, int leaf,
		   int max_def, int max_rep, chunk_data *cd)
{
	lk_error err;
	lk_error_clear(&err);
	lk_arena a;
	lk_arena_init(&a, 0);
	memset(cd, 0, sizeof(*cd));
	const pq_column_meta *cm = &m->row_groups[rg].columns[leaf].meta_data;
	const pq_schema_element *e = leaf_element(m, leaf);
	size_t w = phys_width(e);
	bool is_bool = e->type == PQ_BOOLEAN;
	int64_t start = cm->has_dictionary_page_offset ? cm->dictionary_page_offset
		: cm->data_page_offset;
	int64_t end = start + cm->total_compressed_size;
	cr_assert_leq((size_t) end, file->len);
	if (cm->has_dictionary_page_offset)
		cr_assert_lt(cm->dictionary_page_offset, cm->data_page_offset);
	size_t cap = (size_t) cm->num_values + 1;
	if (max_def)
		cd->def = calloc(cap, 4);
	if (max_rep)
		cd->rep = calloc(cap, 4);
	lk_buf dict = LK_BUF_INIT;          /* PLAIN entries */
	size_t *doff = NULL;
	int64_t uncomp_total = 0;
	int64_t pos = start;
	bool first_data = true;
	while (pos < end) {
		pq_page_header h;
		size_t used;
		CHECK_OK(pq_meta_read_page_header(file->data + pos, (size_t) (end - pos),
										  (uint64_t) pos, &a, &h, &used, &err));
		const uint8_t *body = file->data + pos + used;
		cr_assert_leq(pos + (int64_t) used + h.compressed_page_size, end);
		uncomp_total += (int64_t) used + h.uncompressed_page_size;
		uint8_t *raw = malloc((size_t) h.uncompressed_page_size + 1);
		if (h.type == PQ_PAGE_DICTIONARY) {
			cr_assert(first_data, "dictionary page after a data page");
			cr_assert_eq(pos, start);
			cd->dict_pages++;
			CHECK_OK(pq_decompress(cm->codec, body, (size_t) h.compressed_page_size,
								   raw, (size_t) h.uncompressed_page_size, &err));
			cr_assert_eq(h.dictionary_page_header.encoding, PQ_ENC_PLAIN);
			int64_t nd = h.dictionary_page_header.num_values;
			cd->dict_entries = nd;
			doff = calloc((size_t) nd + 1, sizeof(size_t));
			size_t p = 0;
			for (int64_t i = 0; i < nd; i++) {
				doff[i] = dict.len;
				p += plain_values(raw + p, (size_t) h.uncompressed_page_size - p, 1,
								  w, false, &dict);
			}
			doff[nd] = dict.len;
			cr_assert_eq(p, (size_t) h.uncompressed_page_size);
		} else {
			if (first_data)
				cr_assert_eq(pos, cm->data_page_offset);
			first_data = false;
			const uint8_t *p;
			size_t left;
			int64_t n;
			pq_encoding enc;
			size_t lvl_rep = 0, lvl_def = 0;
			const uint8_t *rp = NULL, *dp = NULL;
			if (h.type == PQ_PAGE_DATA) {
				CHECK_OK(pq_decompress(cm->codec, body, (size_t) h.compressed_page_size,
									   raw, (size_t) h.uncompressed_page_size, &err));
				n = h.data_page_header.num_values;
				enc = h.data_page_header.encoding;
				p = raw;
				left = (size_t) h.uncompressed_page_size;
				if (max_rep) {
					uint32_t l;
					memcpy(&l, p, 4);
					rp = p + 4;
					lvl_rep = l;
					p += 4 + l;
					left -= 4 + l;
				}
				if (max_def) {
					uint32_t l;
					memcpy(&l, p, 4);
					dp = p + 4;
					lvl_def = l;
					p += 4 + l;
					left -= 4 + l;
				}
			} else {
				cr_assert_eq(h.type, PQ_PAGE_DATA_V2);
				cd->v2_pages++;
				const pq_data_page_header_v2 *v = &h.data_page_header_v2;
				n = v->num_values;
				enc = v->encoding;
				lvl_rep = (size_t) v->repetition_levels_byte_length;
				lvl_def = (size_t) v->definition_levels_byte_length;
				rp = body;
				dp = body + lvl_rep;
				cr_assert_eq(lvl_rep > 0, max_rep > 0);
				size_t lv = lvl_rep + lvl_def;
				memcpy(raw, body, lv);
				if (v->is_compressed)
					CHECK_OK(pq_decompress(cm->codec, body + lv,
										   (size_t) h.compressed_page_size - lv, raw + lv,
										   (size_t) h.uncompressed_page_size - lv, &err));
				else
					memcpy(raw + lv, body + lv, (size_t) h.uncompressed_page_size - lv);
				rp = raw;
				dp = raw + lvl_rep;
				p = raw + lv;
				left = (size_t) h.uncompressed_page_size - lv;
			}
			int64_t nn = n;
			if (max_rep)
				decode_levels(rp, lvl_rep, max_rep, n, cd->rep + cd->nlevels);
			if (max_def) {
				decode_levels(dp, lvl_def, max_def, n, cd->def + cd->nlevels);
				nn = 0;
				for (int64_t i = 0; i < n; i++)
					nn += cd->def[cd->nlevels + i] == (uint32_t) max_def;
			}
			if (h.type == PQ_PAGE_DATA_V2) {
				cr_assert_eq(h.data_page_header_v2.num_nulls, n - nn);
				int64_t rows = 0;
				for (int64_t i = 0; i < n; i++)
					rows += !max_rep || cd->rep[cd->nlevels + i] == 0;
				cr_assert_eq(h.data_page_header_v2.num_rows, rows);
			}
			if (max_rep)
				cr_assert_eq(cd->rep[cd->nlevels], 0, "page does not start a record");
			if (enc == PQ_ENC_PLAIN) {
				cd->pages_plain++;
				size_t u = plain_values(p, left, nn, w, is_bool, &cd->values);
				cr_assert_eq(u, left, "trailing bytes in a PLAIN page");
			} else {
				cr_assert_eq(enc, PQ_ENC_RLE_DICTIONARY);
				cr_assert(doff, "dictionary-encoded page without a dictionary");
				cd->pages_dict++;
				uint32_t *ix = calloc((size_t) nn + 1, 4);
				cr_assert_geq(left, 1);
				pq_rle_decoder d;
				pq_rle_decoder_init(&d, p + 1, left - 1, p[0], 0);
				CHECK_OK(pq_rle_decoder_get(&d, ix, nn, &err));
				for (int64_t i = 0; i < nn; i++) {
					cr_assert_lt(ix[i], (uint32_t) cd->dict_entries);
					lk_buf_append(&cd->values, dict.data + doff[ix[i]],
								  doff[ix[i] + 1] - doff[ix[i]]);
				}
				free(ix);
			}
			cd->nlevels += n;
			cd->nvalues += nn;
		}
		free(raw);
		pos += (int64_t) used + h.compressed_page_size;
	}
	cr_assert_eq(pos, end);
	cr_assert_eq(cd->nlevels, cm->num_values);
	cr_assert_eq(uncomp_total, cm->total_uncompressed_size);
	free(doff);
	lk_buf_free(&dict);
	lk_arena_free(&a);
}

static void
chunk_free(chunk_data *cd)
{
	free(cd->def);
	free(cd->rep);
	lk_buf_free(&cd->values);
}

static int64_t
rd_i64(const uint8_t *p)
{
	int64_t v;
	memcpy(&v, p, 8);
	return v;
}

static int32_t
rd_i32(const uint8_t *p)
{
	int32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* ---- API basics ---------------------------------------------------------- */

Test(writer_api, codec_names)
{
	pq_codec c;
	const char *names[] = {"zstd", "ZSTD", "snappy", "gzip", "lz4_raw", "lz4",
						   "brotli", "none", "uncompressed"};
	pq_codec want[] = {PQ_CODEC_ZSTD, PQ_CODEC_ZSTD, PQ_CODEC_SNAPPY,
					   PQ_CODEC_GZIP, PQ_CODEC_LZ4_RAW, PQ_CODEC_LZ4_RAW,
					   PQ_CODEC_BROTLI, PQ_CODEC_UNCOMPRESSED, PQ_CODEC_UNCOMPRESSED};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cr_assert(pq_codec_parse(names[i], &c), "%s", names[i]);
		cr_assert_eq(c, want[i], "%s", names[i]);
	}
	cr_assert_not(pq_codec_parse("lzo", &c));
	cr_assert_not(pq_codec_parse("", &c));
	cr_assert_str_eq(pq_codec_name(PQ_CODEC_ZSTD), "zstd");
	cr_assert_str_eq(pq_codec_name(PQ_CODEC_LZ4_RAW), "lz4_raw");
	cr_assert_str_eq(pq_codec_name(PQ_CODEC_UNCOMPRESSED), "uncompressed");
	cr_assert_str_eq(pq_codec_name(PQ_CODEC_SNAPPY), "snappy");
	cr_assert_str_eq(pq_codec_name(PQ_CODEC_GZIP), "gzip");
	cr_assert_str_eq(pq_codec_name(PQ_CODEC_BROTLI), "brotli");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cr_assert(pq_codec_parse(names[i], &c));
		pq_codec c2;
		cr_assert(pq_codec_parse(pq_codec_name(c), &c2));
		cr_assert_eq(c, c2);
	}
}

Test(writer_api, option_defaults)
{
	pq_writer_options o;
	memset(&o, 0x5a, sizeof(o));
	pq_writer_options_init(&o);
	cr_assert_eq(o.codec, PQ_CODEC_ZSTD);
	cr_assert_eq(o.compression_level, 0);
	cr_assert_eq(o.row_group_rows, 1048576);
	cr_assert_eq(o.row_group_bytes, 128LL << 20);
	cr_assert_eq(o.page_bytes, 1LL << 20);
	cr_assert(o.dictionary);
	cr_assert_eq(o.dictionary_limit, 1LL << 20);
	cr_assert_eq(o.data_page_version, 1);
	cr_assert_eq(o.stats_truncate, 64);
	cr_assert_null(o.metadata);
	cr_assert_eq(o.nmetadata, 0);
	cr_assert_null(o.created_by);
}

/* One nullable int column "x" with rows 0..n-1, null when i % 5 == 4. */
static lk_batch *
int_batch(const lk_type *schema, int64_t n, int64_t base)
{
	lk_batch *b = lk_batch_new(schema);
	for (int64_t i = 0; i < n; i++) {
		if (i % 5 == 4)
			lk_column_append_null(&b->cols[0]);
		else
			lk_column_append_i32(&b->cols[0], (int32_t) (base + i));
	}
	cr_assert(lk_batch_seal(b));
	return b;
}

Test(writer_file, magic_footer_and_metadata)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *s = lk_type_struct(&a, 1);
	field(s, 0, "x", ty(&a, LK_T_INT), true);
	s->children[0].field_id = 17;
	lk_batch *b = int_batch(s, 10, 100);
	pq_kv kv[] = {{"k1", "v1"}, {"k2", NULL}};
	pq_writer_options o;
	pq_writer_options_init(&o);
	o.metadata = kv;
	o.nmetadata = 2;
	lk_buf f;
	pq_file_info info;
	pq_writer *w;
	write_mem(s, &b, 1, &o, &f, &info, &w);

	pq_file_meta m;
	footer(&f, &a, &m);
	cr_assert_eq(m.version, 1);
	cr_assert_eq(m.num_rows, 10);
	cr_assert_str_eq(m.created_by, "lakesync version 0.1.0");
	cr_assert_eq(m.nkv, 2);
	cr_assert_str_eq(m.kv[0].key, "k1");
	cr_assert_str_eq(m.kv[0].value, "v1");
	cr_assert_str_eq(m.kv[1].key, "k2");
	cr_assert_null(m.kv[1].value);
	cr_assert_eq(m.ncolumn_orders, 1);
	cr_assert_eq(m.nschema, 2);
	cr_assert_str_eq(m.schema[0].name, "schema");
	cr_assert_eq(m.schema[0].num_children, 1);
	cr_assert_not(m.schema[0].has_repetition);
	cr_assert_str_eq(m.schema[1].name, "x");
	cr_assert(m.schema[1].has_field_id);
	cr_assert_eq(m.schema[1].field_id, 17);
	cr_assert_eq(m.schema[1].repetition, PQ_OPTIONAL);
	cr_assert_eq(m.schema[1].type, PQ_INT32);
	cr_assert_not(m.schema[1].has_logical_type);
	cr_assert_not(m.schema[1].has_converted_type);

	cr_assert_eq(m.nrow_groups, 1);
	const pq_row_group *rg = &m.row_groups[0];
	cr_assert_eq(rg->num_rows, 10);
	cr_assert_eq(rg->ncolumns, 1);
	cr_assert(rg->has_file_offset);
	cr_assert_eq(rg->file_offset, 4);
	cr_assert(rg->has_ordinal);
	cr_assert_eq(rg->ordinal, 0);
	const pq_column_chunk *cc = &rg->columns[0];
	const pq_column_meta *cm = &cc->meta_data;
	cr_assert_eq(cc->file_offset, 4);
	cr_assert_eq(cm->type, PQ_INT32);
	cr_assert_eq(cm->codec, PQ_CODEC_ZSTD);
	cr_assert_eq(cm->num_values, 10);
	cr_assert_eq(cm->npath, 1);
	cr_assert_str_eq(cm->path_in_schema[0], "x");
	cr_assert(cm->has_dictionary_page_offset);
	cr_assert_eq(cm->dictionary_page_offset, 4);
	cr_assert_gt(cm->data_page_offset, 4);
	cr_assert_eq(rg->total_byte_size, cm->total_uncompressed_size);
	cr_assert_eq(rg->total_compressed_size, cm->total_compressed_size);
	cr_assert_eq(4 + cm->total_compressed_size + 8 + (int64_t) (f.len - 12 - (size_t) cm->total_compressed_size), (int64_t) f.len);
	/* encodings: PLAIN (dictionary page), RLE (levels), RLE_DICTIONARY */
	cr_assert_eq(cm->nencodings, 3);
	cr_assert_eq(cm->encodings[0], PQ_ENC_PLAIN);
	cr_assert_eq(cm->encodings[1], PQ_ENC_RLE);
	cr_assert_eq(cm->encodings[2], PQ_ENC_RLE_DICTIONARY);
	cr_assert_eq(cm->nencoding_stats, 2);
	cr_assert_eq(cm->encoding_stats[0].page_type, PQ_PAGE_DICTIONARY);
	cr_assert_eq(cm->encoding_stats[0].encoding, PQ_ENC_PLAIN);
	cr_assert_eq(cm->encoding_stats[0].count, 1);
	cr_assert_eq(cm->encoding_stats[1].page_type, PQ_PAGE_DATA);
	cr_assert_eq(cm->encoding_stats[1].encoding, PQ_ENC_RLE_DICTIONARY);
	cr_assert_eq(cm->encoding_stats[1].count, 1);
	/* statistics: 100..108 without 104 and 109 (nulls) */
	const pq_statistics *st = &cm->statistics;
	cr_assert(st->has_null_count);
	cr_assert_eq(st->null_count, 2);
	cr_assert(st->has_min_value && st->has_max_value);
	cr_assert_eq(st->min_value_len, 4);
	cr_assert_eq(rd_i32(st->min_value), 100);
	cr_assert_eq(rd_i32(st->max_value), 108);
	cr_assert_not(st->has_min || st->has_max);

	cr_assert_eq(info.num_rows, 10);
	cr_assert_eq(info.num_row_groups, 1);
	cr_assert_eq(info.file_size, (int64_t) f.len);
	cr_assert_eq(info.nstats, 1);
	cr_assert_str_eq(info.stats[0].path, "x");
	cr_assert_eq(info.stats[0].null_count, 2);
	cr_assert_eq(info.stats[0].num_values, 10);
	cr_assert(info.stats[0].has_min_max);
	cr_assert_eq(info.stats[0].min.i, 100);
	cr_assert_eq(info.stats[0].max.i, 108);

	chunk_data cd;
	read_chunk(&f, &m, 0, 0, 1, 0, &cd);
	cr_assert_eq(cd.nvalues, 8);
	int k = 0;
	for (int i = 0; i < 10; i++) {
		cr_assert_eq(cd.def[i], i % 5 == 4 ? 0u : 1u);
		if (i % 5 != 4)
			cr_assert_eq(rd_i32(cd.values.data + 4 * k++), 100 + i);
	}
	cr_assert_eq(cd.dict_entries, 8);
	chunk_free(&cd);

	pq_writer_free(w);
	lk_buf_free(&f);
	lk_batch_free(b);
	lk_arena_free(&a);
}

Test(writer_file, local_file_output_and_custom_created_by)
{
	char dir[] = "/tmp/lk_test_writer_XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/t.parquet", dir);
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *s = lk_type_struct(&a, 1);
	field(s, 0, "x", ty(&a, LK_T_INT), true);
	lk_batch *b = int_batch(s, 1000, 0);
	lk_error err;
	lk_error_clear(&err);
	pq_output out;
	CHECK_OK(pq_output_open_file(&out, path, &err));
	pq_writer_options o;
	pq_writer_options_init(&o);
	o.created_by = "someone else 1.2";
	pq_writer *w = pq_writer_open(&out, s, &o, &err);
	cr_assert_not_null(w);
	CHECK_OK(pq_writer_write(w, b, &err));
	pq_file_info info;
	CHECK_OK(pq_writer_close(w, true, &info, &err));
	cr_assert_eq(info.num_rows, 1000);
	/* writer is closed: further calls fail */
	cr_assert_not(pq_writer_write(w, b, &err));
	pq_writer_free(w);

	pq_input in;
	CHECK_OK(pq_input_open_file(&in, path, &err));
	cr_assert_eq((int64_t) in.size, info.file_size);
	lk_buf f = LK_BUF_INIT;
	lk_buf_reserve(&f, in.size);
	CHECK_OK(in.read_at(in.ctx, 0, f.data, in.size, &err));
	f.len = in.size;
	uint8_t tmp[8];
	cr_assert_not(in.read_at(in.ctx, in.size - 4, tmp, 8, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	pq_input_close(&in);
	pq_file_meta m;
	footer(&f, &a, &m);
	cr_assert_str_eq(m.created_by, "someone else 1.2");
	cr_assert_eq(m.num_rows, 1000);

	/* memory input reads the same bytes */
	pq_input_from_memory(&in, f.data, f.len, NULL);
	cr_assert_str_eq(in.name, "<memory>");
	CHECK_OK(in.read_at(in.ctx, f.len - 4, tmp, 4, &err));
	cr_assert(memcmp(tmp, "PAR1", 4) == 0);
	cr_assert_not(in.read_at(in.ctx, f.len - 3, tmp, 4, &err));
	pq_input_close(&in);

	lk_error_clear(&err);
	cr_assert_not(pq_input_open_file(&in, "/nonexistent-dir-lk/x.parquet", &err));
	cr_assert_eq(err.code, LK_ERR_NOT_FOUND);
	cr_assert_not(pq_output_open_file(&out, "/nonexistent-dir-lk/x.parquet", &err));

	unlink(path);
	rmdir(dir);
	lk_buf_free(&f);
	lk_batch_free(b);
	lk_arena_free(&a);
}

/* ---- schema mapping ------------------------------------------------------ */

typedef struct want_elem {
	const char *name;
	int type;              /* -1: group */
	int type_length;       /* 0: none */
	int repetition;
	int converted;         /* -1: none */
	int logical;           /* PQ_LT_NONE: none */
	int a, b;              /* logical detail: decimal precision/scale, int bits/signed, time utc/unit */
	int num_children;      /* -1: leaf */
	int field_id;          /* -1: none */
} want_elem;

static void
check_elems(const pq_file_meta *m, const want_elem *want, int n)
{
	cr_assert_eq(m->nschema, n + 1);
	for (int i = 0; i < n; i++) {
		const pq_schema_element *e = &m->schema[i + 1];
		const want_elem *x = &want[i];
		cr_assert_str_eq(e->name, x->name);
		cr_assert(e->has_repetition, "%s", x->name);
		cr_assert_eq(e->repetition, x->repetition, "%s repetition", x->name);
		if (x->type < 0) {
			cr_assert_not(e->has_type, "%s", x->name);
			cr_assert(e->has_num_children, "%s", x->name);
			cr_assert_eq(e->num_children, x->num_children, "%s", x->name);
		} else {
			cr_assert(e->has_type, "%s", x->name);
			cr_assert_eq((int) e->type, x->type, "%s type", x->name);
			cr_assert_not(e->has_num_children && e->num_children > 0, "%s", x->name);
		}
		cr_assert_eq(e->has_type_length, x->type_length > 0, "%s", x->name);
		if (x->type_length > 0)
			cr_assert_eq(e->type_length, x->type_length, "%s", x->name);
		cr_assert_eq(e->has_converted_type, x->converted >= 0, "%s converted", x->name);
		if (x->converted >= 0)
			cr_assert_eq((int) e->converted_type, x->converted, "%s converted", x->name);
		cr_assert_eq(e->has_logical_type, x->logical != PQ_LT_NONE, "%s logical", x->name);
		if (x->logical != PQ_LT_NONE) {
			const pq_logical_type *lt = &e->logical_type;
			cr_assert_eq((int) lt->kind, x->logical, "%s logical", x->name);
			switch (x->logical) {
			case PQ_LT_DECIMAL:
				cr_assert_eq(lt->precision, x->a, "%s", x->name);
				cr_assert_eq(lt->scale, x->b, "%s", x->name);
				break;
			case PQ_LT_INTEGER:
				cr_assert_eq(lt->bit_width, x->a, "%s", x->name);
				cr_assert_eq(lt->is_signed, x->b, "%s", x->name);
				break;
			case PQ_LT_TIMESTAMP:
			case PQ_LT_TIME:
				cr_assert_eq(lt->is_adjusted_to_utc, x->a, "%s", x->name);
				cr_assert_eq((int) lt->unit, x->b, "%s", x->name);
				break;
			}
		}
		if (x->converted == PQ_CT_DECIMAL) {
			cr_assert(e->has_scale && e->has_precision, "%s", x->name);
			cr_assert_eq(e->precision, x->a, "%s", x->name);
			cr_assert_eq(e->scale, x->b, "%s", x->name);
		} else {
			cr_assert_not(e->has_scale || e->has_precision, "%s", x->name);
		}
		cr_assert_eq(e->has_field_id, x->field_id >= 0, "%s field id", x->name);
		if (x->field_id >= 0)
			cr_assert_eq(e->field_id, x->field_id, "%s", x->name);
	}
}

/* The flat schema of every primitive mapping in src/parquet/README.md. */
static lk_type *
flat_schema(lk_arena *a)
{
	lk_type *s = lk_type_struct(a, 33);
	int i = 0;
	field(s, i++, "b", ty(a, LK_T_BOOLEAN), true);
	field(s, i++, "i8", ty(a, LK_T_BYTE), true);
	field(s, i++, "u8", ty_unsigned(a, LK_T_BYTE), true);
	field(s, i++, "i16", ty(a, LK_T_SHORT), false);
	field(s, i++, "u16", ty_unsigned(a, LK_T_SHORT), true);
	field(s, i++, "i32", ty(a, LK_T_INT), true);
	field(s, i++, "u32", ty_unsigned(a, LK_T_INT), true);
	field(s, i++, "i64", ty(a, LK_T_LONG), false);
	field(s, i++, "u64", ty_unsigned(a, LK_T_LONG), true);
	field(s, i++, "f32", ty(a, LK_T_FLOAT), true);
	field(s, i++, "f64", ty(a, LK_T_DOUBLE), true);
	field(s, i++, "d9", lk_type_decimal(a, 9, 2), true);
	field(s, i++, "d18", lk_type_decimal(a, 18, 4), true);
	field(s, i++, "d38", lk_type_decimal(a, 38, 10), true);
	field(s, i++, "d20", lk_type_decimal(a, 20, 0), true);
	lk_type *dfix = lk_type_decimal(a, 5, 1);
	dfix->fixed_len = 8;
	field(s, i++, "dfix", dfix, true);
	field(s, i++, "s", ty(a, LK_T_STRING), true);
	field(s, i++, "bin", ty(a, LK_T_BINARY), true);
	field(s, i++, "date", ty(a, LK_T_DATE), true);
	field(s, i++, "ts", ty_unit(a, LK_T_TIMESTAMP, LK_UNIT_MICROS), true);
	field(s, i++, "ts_ms", ty_unit(a, LK_T_TIMESTAMP, LK_UNIT_MILLIS), true);
	field(s, i++, "ts_ns", ty_unit(a, LK_T_TIMESTAMP, LK_UNIT_NANOS), true);
	field(s, i++, "ntz", ty_unit(a, LK_T_TIMESTAMP_NTZ, LK_UNIT_MICROS), true);
	field(s, i++, "t_ms", ty_unit(a, LK_T_TIME, LK_UNIT_MILLIS), true);
	field(s, i++, "t_us", ty_unit(a, LK_T_TIME, LK_UNIT_MICROS), true);
	field(s, i++, "uuid", ty_ext(a, LK_T_BINARY, LK_EXT_UUID), true);
	field(s, i++, "json", ty_ext(a, LK_T_STRING, LK_EXT_JSON), true);
	field(s, i++, "enum", ty_ext(a, LK_T_STRING, LK_EXT_ENUM), true);
	field(s, i++, "bson", ty_ext(a, LK_T_BINARY, LK_EXT_BSON), true);
	field(s, i++, "ival", ty_ext(a, LK_T_BINARY, LK_EXT_INTERVAL), true);
	field(s, i++, "f16", ty_ext(a, LK_T_FLOAT, LK_EXT_FLOAT16), true);
	lk_type *i96 = ty_ext(a, LK_T_TIMESTAMP_NTZ, LK_EXT_INT96);
	i96->unit = LK_UNIT_NANOS;
	field(s, i++, "i96", i96, true);
	lk_type *fb = ty(a, LK_T_BINARY);
	fb->fixed_len = 5;
	field(s, i++, "fixbin", fb, true);
	cr_assert_eq(i, 33);
	s->children[5].field_id = 7;
	s->children[16].field_id = 0;
	return s;
}

#define OPT PQ_OPTIONAL
#define REQ PQ_REQUIRED
#define REP PQ_REPEATED

Test(writer_schema, flat_types)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *s = flat_schema(&a);
	lk_batch *b = lk_batch_new(s);
	for (int c = 0; c < b->ncols; c++)
		if (!s->children[c].nullable) {
			int64_t zero[2] = {0, 0};
			lk_column_append_fixed(&b->cols[c], zero);
		} else {
			lk_column_append_null(&b->cols[c]);
		}
	cr_assert(lk_batch_seal(b));
	lk_buf f;
	write_mem(s, &b, 1, NULL, &f, NULL, NULL);
	pq_file_meta m;
	footer(&f, &a, &m);
	const want_elem want[] = {
		{"b", PQ_BOOLEAN, 0, OPT, -1, PQ_LT_NONE, 0, 0, -1, -1},
		{"i8", PQ_INT32, 0, OPT, PQ_CT_INT_8, PQ_LT_INTEGER, 8, 1, -1, -1},
		{"u8", PQ_INT32, 0, OPT, PQ_CT_UINT_8, PQ_LT_INTEGER, 8, 0, -1, -1},
		{"i16", PQ_INT32, 0, REQ, PQ_CT_INT_16, PQ_LT_INTEGER, 16, 1, -1, -1},
		{"u16", PQ_INT32, 0, OPT, PQ_CT_UINT_16, PQ_LT_INTEGER, 16, 0, -1, -1},
		{"i32", PQ_INT32, 0, OPT, -1, PQ_LT_NONE, 0, 0, -1, 7},
		{"u32", PQ_INT32, 0, OPT, PQ_CT_UINT_32, PQ_LT_INTEGER, 32, 0, -1, -1},
		{"i64", PQ_INT64, 0, REQ, -1, PQ_LT_NONE, 0, 0, -1, -1},
		{"u64", PQ_INT64, 0, OPT, PQ_CT_UINT_64, PQ_LT_INTEGER, 64, 0, -1, -1},
		{"f32", PQ_FLOAT, 0, OPT, -1, PQ_LT_NONE, 0, 0, -1, -1},
		{"f64", PQ_DOUBLE, 0, OPT, -1, PQ_LT_NONE, 0, 0, -1, -1},
		{"d9", PQ_INT32, 0, OPT, PQ_CT_DECIMAL, PQ_LT_DECIMAL, 9, 2, -1, -1},
		{"d18", PQ_INT64, 0, OPT, PQ_CT_DECIMAL, PQ_LT_DECIMAL, 18, 4, -1, -1},
		{"d38", PQ_FIXED_LEN_BYTE_ARRAY, 16, OPT, PQ_CT_DECIMAL, PQ_LT_DECIMAL, 38, 10, -1, -1},
		{"d20", PQ_FIXED_LEN_BYTE_ARRAY, 9, OPT, PQ_CT_DECIMAL, PQ_LT_DECIMAL, 20, 0, -1, -1},
		{"dfix", PQ_FIXED_LEN_BYTE_ARRAY, 8, OPT, PQ_CT_DECIMAL, PQ_LT_DECIMAL, 5, 1, -1, -1},
		{"s", PQ_BYTE_ARRAY, 0, OPT, PQ_CT_UTF8, PQ_LT_STRING, 0, 0, -1, 0},
		{"bin", PQ_BYTE_ARRAY, 0, OPT, -1, PQ_LT_NONE, 0, 0, -1, -1},
		{"date", PQ_INT32, 0, OPT, PQ_CT_DATE, PQ_LT_DATE, 0, 0, -1, -1},
		{"ts", PQ_INT64, 0, OPT, PQ_CT_TIMESTAMP_MICROS, PQ_LT_TIMESTAMP, 1, PQ_UNIT_MICROS, -1, -1},
		{"ts_ms", PQ_INT64, 0, OPT, PQ_CT_TIMESTAMP_MILLIS, PQ_LT_TIMESTAMP, 1, PQ_UNIT_MILLIS, -1, -1},
		{"ts_ns", PQ_INT64, 0, OPT, -1, PQ_LT_TIMESTAMP, 1, PQ_UNIT_NANOS, -1, -1},
		{"ntz", PQ_INT64, 0, OPT, -1, PQ_LT_TIMESTAMP, 0, PQ_UNIT_MICROS, -1, -1},
		{"t_ms", PQ_INT32, 0, OPT, -1, PQ_LT_TIME, 0, PQ_UNIT_MILLIS, -1, -1},
		{"t_us", PQ_INT64, 0, OPT, -1, PQ_LT_TIME, 0, PQ_UNIT_MICROS, -1, -1},
		{"uuid", PQ_FIXED_LEN_BYTE_ARRAY, 16, OPT, -1, PQ_LT_UUID, 0, 0, -1, -1},
		{"json", PQ_BYTE_ARRAY, 0, OPT, PQ_CT_JSON, PQ_LT_JSON, 0, 0, -1, -1},
		{"enum", PQ_BYTE_ARRAY, 0, OPT, PQ_CT_ENUM, PQ_LT_ENUM, 0, 0, -1, -1},
		{"bson", PQ_BYTE_ARRAY, 0, OPT, -1, PQ_LT_BSON, 0, 0, -1, -1},
		{"ival", PQ_FIXED_LEN_BYTE_ARRAY, 12, OPT, PQ_CT_INTERVAL, PQ_LT_NONE, 0, 0, -1, -1},
		{"f16", PQ_FIXED_LEN_BYTE_ARRAY, 2, OPT, -1, PQ_LT_FLOAT16, 0, 0, -1, -1},
		{"i96", PQ_INT96, 0, OPT, -1, PQ_LT_NONE, 0, 0, -1, -1},
		{"fixbin", PQ_FIXED_LEN_BYTE_ARRAY, 5, OPT, -1, PQ_LT_NONE, 0, 0, -1, -1},
	};
	check_elems(&m, want, 33);
	cr_assert_eq(m.ncolumn_orders, 33);
	/* every column chunk has a single row, null except i16/i64 */
	for (int c = 0; c < 33; c++) {
		const pq_column_meta *cm = &m.row_groups[0].columns[c].meta_data;
		cr_assert_eq((int) cm->type, want[c].type, "%s", want[c].name);
		cr_assert_eq(cm->num_values, 1);
		bool req = want[c].repetition == REQ;
		cr_assert_eq(cm->statistics.null_count, req ? 0 : 1, "%s", want[c].name);
		cr_assert_eq(cm->statistics.has_min_value, req, "%s", want[c].name);
	}
	lk_buf_free(&f);
	lk_batch_free(b);
	lk_arena_free(&a);
}

/* list<int>, list<struct<a int, b string>>, map<string, list<int>>,
 * struct<x struct<y long, z list<string>>>, list<list<int>> */
static lk_type *
nested_schema(lk_arena *a)
{
	lk_type *s = lk_type_struct(a, 5);
	field(s, 0, "li", lk_type_array(a, ty(a, LK_T_INT), true), true);
	lk_type *ab = lk_type_struct(a, 2);
	field(ab, 0, "a", ty(a, LK_T_INT), true);
	field(ab, 1, "b", ty(a, LK_T_STRING), false);
	ab->children[1].field_id = 31;
	lk_type *ls = lk_type_array(a, ab, true);
	ls->children[0].field_id = 30;
	field(s, 1, "ls", ls, true);
	field(s, 2, "m", lk_type_map(a, ty(a, LK_T_STRING),
								 lk_type_array(a, ty(a, LK_T_INT), false), true), true);
	s->children[2].field_id = 2;
	lk_type *x = lk_type_struct(a, 2);
	field(x, 0, "y", ty(a, LK_T_LONG), false);
	field(x, 1, "z", lk_type_array(a, ty(a, LK_T_STRING), true), true);
	lk_type *st = lk_type_struct(a, 1);
	field(st, 0, "x", x, true);
	field(s, 3, "st", st, true);
	field(s, 4, "ll", lk_type_array(a, lk_type_array(a, ty(a, LK_T_INT), true), true),
		  false);
	return s;
}

Test(writer_schema, nested_types)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *s = nested_schema(&a);
	lk_batch *b = lk_batch_new(s);
	for (int c = 0; c < 4; c++)
		lk_column_append_null(&b->cols[c]);
	lk_column_append_list(&b->cols[4]);   /* ll = [] */
	cr_assert(lk_batch_seal(b));
	lk_buf f;
	pq_file_info info;
	pq_writer *w;
	write_mem(s, &b, 1, NULL, &f, &info, &w);
	pq_file_meta m;
	footer(&f, &a, &m);
	const want_elem want[] = {
		{"li", -1, 0, OPT, PQ_CT_LIST, PQ_LT_LIST, 0, 0, 1, -1},
		{"list", -1, 0, REP, -1, PQ_LT_NONE, 0, 0, 1, -1},
		{"element", PQ_INT32, 0, OPT, -1, PQ_LT_NONE, 0, 0, -1, -1},
		{"ls", -1, 0, OPT, PQ_CT_LIST, PQ_LT_LIST, 0, 0, 1, -1},
		{"list", -1, 0, REP, -1, PQ_LT_NONE, 0, 0, 1, -1},
		{"element", -1, 0, OPT, -1, PQ_LT_NONE, 0, 0, 2, 30},
		{"a", PQ_INT32, 0, OPT, -1, PQ_LT_NONE, 0, 0, -1, -1},
		{"b", PQ_BYTE_ARRAY, 0, REQ, PQ_CT_UTF8, PQ_LT_STRING, 0, 0, -1, 31},
		{"m", -1, 0, OPT, PQ_CT_MAP, PQ_LT_MAP, 0, 0, 1, 2},
		{"key_value", -1, 0, REP, -1, PQ_LT_NONE, 0, 0, 2, -1},
		{"key", PQ_BYTE_ARRAY, 0, REQ, PQ_CT_UTF8, PQ_LT_STRING, 0, 0, -1, -1},
		{"value", -1, 0, OPT, PQ_CT_LIST, PQ_LT_LIST, 0, 0, 1, -1},
		{"list", -1, 0, REP, -1, PQ_LT_NONE, 0, 0, 1, -1},
		{"element", PQ_INT32, 0, REQ, -1, PQ_LT_NONE, 0, 0, -1, -1},
		{"st", -1, 0, OPT, -1, PQ_LT_NONE, 0, 0, 1, -1},
		{"x", -1, 0, OPT, -1, PQ_LT_NONE, 0, 0, 2, -1},
		{"y", PQ_INT64, 0, REQ, -1, PQ_LT_NONE, 0, 0, -1, -1},
		{"z", -1, 0, OPT, PQ_CT_LIST, PQ_LT_LIST, 0, 0, 1, -1},
		{"list", -1, 0, REP, -1, PQ_LT_NONE, 0, 0, 1, -1},
		{"element", PQ_BYTE_ARRAY, 0, OPT, PQ_CT_UTF8, PQ_LT_STRING, 0, 0, -1, -1},
		{"ll", -1, 0, REQ, PQ_CT_LIST, PQ_LT_LIST, 0, 0, 1, -1},
		{"list", -1, 0, REP, -1, PQ_LT_NONE, 0, 0, 1, -1},
		{"element", -1, 0, OPT, PQ_CT_LIST, PQ_LT_LIST, 0, 0, 1, -1},
		{"list", -1, 0, REP, -1, PQ_LT_NONE, 0, 0, 1, -1},
		{"element", PQ_INT32, 0, OPT, -1, PQ_LT_NONE, 0, 0, -1, -1},
	};
	check_elems(&m, want, (int) (sizeof(want) / sizeof(want[0])));
	const char *paths[] = {"li.list.element", "ls.list.element.a", "ls.list.element.b",
						   "m.key_value.key", "m.key_value.value.list.element",
						   "st.x.y", "st.x.z.list.element",
						   "ll.list.element.list.element"};
	cr_assert_eq(info.nstats, 8);
	cr_assert_eq(m.row_groups[0].ncolumns, 8);
	for (int i = 0; i < 8; i++) {
		cr_assert_str_eq(info.stats[i].path, paths[i]);
		const pq_column_meta *cm = &m.row_groups[0].columns[i].meta_data;
		lk_buf p = LK_BUF_INIT;
		for (int k = 0; k < cm->npath; k++) {
			if (k)
				lk_buf_append_byte(&p, '.');
			lk_buf_append_str(&p, cm->path_in_schema[k]);
		}
		cr_assert_str_eq(lk_buf_cstr(&p), paths[i]);
		lk_buf_free(&p);
		cr_assert_eq(info.stats[i].null_count, 1);
		cr_assert_eq(info.stats[i].num_values, 1);
		cr_assert_not(info.stats[i].has_min_max);
	}
	pq_writer_free(w);
	lk_buf_free(&f);
	lk_batch_free(b);
	lk_arena_free(&a);
}

/* ---- levels --------------------------------------------------------------- */

static void
check_levels(const chunk_data *cd, const uint32_t *def, const uint32_t *rep, int n)
{
	cr_assert_eq(cd->nlevels, n);
	for (int i = 0; i < n; i++) {
		cr_assert_eq(cd->def[i], def[i], "def[%d] = %u, want %u", i, cd->def[i], def[i]);
		if (rep)
			cr_assert_eq(cd->rep[i], rep[i], "rep[%d] = %u, want %u", i, cd->rep[i], rep[i]);
	}
}

static void
check_i32_values(const chunk_data *cd, const int32_t *v, int n)
{
	cr_assert_eq(cd->nvalues, n);
	cr_assert_eq(cd->values.len, (size_t) n * 4);
	for (int i = 0; i < n; i++)
		cr_assert_eq(rd_i32(cd->values.data + 4 * i), v[i], "value %d", i);
}

Test(writer_levels, list_empty_null_and_null_element)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *s = lk_type_struct(&a, 1);
	field(s, 0, "li", lk_type_array(&a, ty(&a, LK_T_INT), true), true);
	lk_batch *b = lk_batch_new(s);
	lk_column *c = &b->cols[0], *e = &c->children[0];
	/* [1, 2], [], null, [null, 3], [4] */
	lk_column_append_i32(e, 1);
	lk_column_append_i32(e, 2);
	lk_column_append_list(c);
	lk_column_append_list(c);
	lk_column_append_null(c);
	lk_column_append_null(e);
	lk_column_append_i32(e, 3);
	lk_column_append_list(c);
	lk_column_append_i32(e, 4);
	lk_column_append_list(c);
	cr_assert(lk_batch_seal(b));
	for (int v = 1; v <= 2; v++) {
		pq_writer_options o;
		pq_writer_options_init(&o);
		o.data_page_version = v;
		lk_buf f;
		write_mem(s, &b, 1, &o, &f, NULL, NULL);
		pq_file_meta m;
		footer(&f, &a, &m);
		chunk_data cd;
		read_chunk(&f, &m, 0, 0, 3, 1, &cd);
		const uint32_t def[] = {3, 3, 1, 0, 2, 3, 3};
		const uint32_t rep[] = {0, 1, 0, 0, 0, 1, 0};
		check_levels(&cd, def, rep, 7);
		const int32_t vals[] = {1, 2, 3, 4};
		check_i32_values(&cd, vals, 4);
		cr_assert_eq(cd.v2_pages, v == 2 ? 1 : 0);
		/* null_count counts every level below the max */
		cr_assert_eq(m.row_groups[0].columns[0].meta_data.statistics.null_count, 3);
		cr_assert_eq(rd_i32(m.row_groups[0].columns[0].meta_data.statistics.min_value), 1);
		cr_assert_eq(rd_i32(m.row_groups[0].columns[0].meta_data.statistics.max_value), 4);
		chunk_free(&cd);
		lk_buf_free(&f);
	}
	lk_batch_free(b);
	lk_arena_free(&a);
}

Test(writer_levels, list_of_struct_map_and_deep_nesting)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *s = nested_schema(&a);
	lk_batch *b = lk_batch_new(s);
	lk_column *li = &b->cols[0], *ls = &b->cols[1], *mp = &b->cols[2];
	lk_column *st = &b->cols[3], *ll = &b->cols[4];
	lk_column *lse = &ls->children[0];
	lk_column *mk = &mp->children[0], *mv = &mp->children[1];
	lk_column *x = &st->children[0];
	lk_column *z = &x->children[1];
	lk_column *lle = &ll->children[0];

	/* row 0 */
	lk_column_append_i32(&li->children[0], 5);
	lk_column_append_list(li);                              /* li = [5] */
	lk_column_append_i32(&lse->children[0], 1);
	lk_column_append_bytes(&lse->children[1], "x", 1);
	lk_column_append_struct(lse);                           /* {a:1,b:x} */
	lk_column_append_null(lse);                             /* null */
	lk_column_append_null(&lse->children[0]);
	lk_column_append_bytes(&lse->children[1], "yy", 2);
	lk_column_append_struct(lse);                           /* {a:null,b:yy} */
	lk_column_append_list(ls);
	lk_column_append_bytes(mk, "k1", 2);
	lk_column_append_i32(&mv->children[0], 7);
	lk_column_append_i32(&mv->children[0], 8);
	lk_column_append_list(mv);                              /* k1 -> [7, 8] */
	lk_column_append_bytes(mk, "k2", 2);
	lk_column_append_null(mv);                              /* k2 -> null */
	lk_column_append_bytes(mk, "k3", 2);
	lk_column_append_list(mv);                              /* k3 -> [] */
	lk_column_append_list(mp);
	lk_column_append_i64(&x->children[0], 42);
	lk_column_append_bytes(&z->children[0], "p", 1);
	lk_column_append_null(&z->children[0]);
	lk_column_append_list(z);                               /* z = [p, null] */
	lk_column_append_struct(x);
	lk_column_append_struct(st);                            /* st = {x:{y:42,z:[p,null]}} */
	lk_column_append_i32(&lle->children[0], 1);
	lk_column_append_list(lle);                             /* [1] */
	lk_column_append_list(lle);                             /* [] */
	lk_column_append_null(lle);                             /* null */
	lk_column_append_list(ll);                              /* ll = [[1], [], null] */

	/* row 1: all empty or null */
	lk_column_append_list(li);                              /* li = [] */
	lk_column_append_null(ls);                              /* ls = null */
	lk_column_append_list(mp);                              /* m = {} */
	lk_column_append_null(x);
	lk_column_append_struct(st);                            /* st = {x: null} */
	lk_column_append_list(ll);                              /* ll = [] */

	/* row 2 */
	lk_column_append_null(li);
	lk_column_append_list(ls);                              /* ls = [] */
	lk_column_append_null(mp);
	lk_column_append_null(st);
	lk_column_append_i32(&lle->children[0], 2);
	lk_column_append_i32(&lle->children[0], 3);
	lk_column_append_list(lle);
	lk_column_append_list(ll);                              /* ll = [[2, 3]] */
	cr_assert(lk_batch_seal(b));

	lk_buf f;
	pq_writer_options o;
	pq_writer_options_init(&o);
	o.codec = PQ_CODEC_UNCOMPRESSED;
	write_mem(s, &b, 1, &o, &f, NULL, NULL);
	pq_file_meta m;
	footer(&f, &a, &m);
	chunk_data cd;

	/* li.list.element: max def 3, max rep 1 */
	read_chunk(&f, &m, 0, 0, 3, 1, &cd);
	check_levels(&cd, (uint32_t[]) {3, 1, 0}, (uint32_t[]) {0, 0, 0}, 3);
	check_i32_values(&cd, (int32_t[]) {5}, 1);
	chunk_free(&cd);

	/* ls.list.element.a: ls opt(1) list rep(2) element opt(3) a opt(4) */
	read_chunk(&f, &m, 0, 1, 4, 1, &cd);
	check_levels(&cd, (uint32_t[]) {4, 2, 3, 0, 1}, (uint32_t[]) {0, 1, 1, 0, 0}, 5);
	check_i32_values(&cd, (int32_t[]) {1}, 1);
	chunk_free(&cd);
	/* ls.list.element.b: required, so max def 3 */
	read_chunk(&f, &m, 0, 2, 3, 1, &cd);
	check_levels(&cd, (uint32_t[]) {3, 2, 3, 0, 1}, (uint32_t[]) {0, 1, 1, 0, 0}, 5);
	cr_assert_eq(cd.nvalues, 2);
	cr_assert_eq(cd.values.len, 4 + 1 + 4 + 2);
	cr_assert(memcmp(cd.values.data, "\1\0\0\0x\2\0\0\0yy", 11) == 0);
	chunk_free(&cd);

	/* m.key_value.key: m opt(1) key_value rep(2) key req */
	read_chunk(&f, &m, 0, 3, 2, 1, &cd);
	check_levels(&cd, (uint32_t[]) {2, 2, 2, 1, 0}, (uint32_t[]) {0, 1, 1, 0, 0}, 5);
	cr_assert_eq(cd.nvalues, 3);
	chunk_free(&cd);
	/* m.key_value.value.list.element: + value opt(3) list rep(4) element req */
	read_chunk(&f, &m, 0, 4, 4, 2, &cd);
	check_levels(&cd, (uint32_t[]) {4, 4, 2, 3, 1, 0},
				 (uint32_t[]) {0, 2, 1, 1, 0, 0}, 6);
	check_i32_values(&cd, (int32_t[]) {7, 8}, 2);
	chunk_free(&cd);

	/* st.x.y: st opt(1) x opt(2) y req */
	read_chunk(&f, &m, 0, 5, 2, 0, &cd);
	check_levels(&cd, (uint32_t[]) {2, 1, 0}, NULL, 3);
	cr_assert_eq(cd.nvalues, 1);
	cr_assert_eq(rd_i64(cd.values.data), 42);
	chunk_free(&cd);
	/* st.x.z.list.element: + z opt(3) list rep(4) element opt(5) */
	read_chunk(&f, &m, 0, 6, 5, 1, &cd);
	check_levels(&cd, (uint32_t[]) {5, 4, 1, 0}, (uint32_t[]) {0, 1, 0, 0}, 4);
	cr_assert_eq(cd.nvalues, 1);
	chunk_free(&cd);

	/* ll.list.element.list.element: ll req, list rep(1), element opt(2),
	 * list rep(3), element opt(4) */
	read_chunk(&f, &m, 0, 7, 4, 2, &cd);
	check_levels(&cd, (uint32_t[]) {4, 2, 1, 0, 4, 4},
				 (uint32_t[]) {0, 1, 1, 0, 0, 2}, 6);
	check_i32_values(&cd, (int32_t[]) {1, 2, 3}, 3);
	chunk_free(&cd);

	lk_buf_free(&f);
	lk_batch_free(b);
	lk_arena_free(&a);
}

Test(writer_levels, struct_paths_without_repetition)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *in = lk_type_struct(&a, 1);
	field(in, 0, "v", ty(&a, LK_T_INT), true);
	lk_type *out = lk_type_struct(&a, 2);
	field(out, 0, "inner", in, true);
	field(out, 1, "r", ty(&a, LK_T_INT), false);
	lk_type *s = lk_type_struct(&a, 1);
	field(s, 0, "o", out, true);
	lk_batch *b = lk_batch_new(s);
	lk_column *o = &b->cols[0], *inner = &o->children[0], *v = &inner->children[0];
	lk_column *r = &o->children[1];
	/* {inner:{v:1}, r:10}, null, {inner:null, r:11}, {inner:{v:null}, r:12} */
	lk_column_append_i32(v, 1);
	lk_column_append_struct(inner);
	lk_column_append_i32(r, 10);
	lk_column_append_struct(o);
	lk_column_append_null(o);
	lk_column_append_null(inner);
	lk_column_append_i32(r, 11);
	lk_column_append_struct(o);
	lk_column_append_null(v);
	lk_column_append_struct(inner);
	lk_column_append_i32(r, 12);
	lk_column_append_struct(o);
	cr_assert(lk_batch_seal(b));
	lk_buf f;
	pq_file_info info;
	pq_writer *w;
	write_mem(s, &b, 1, NULL, &f, &info, &w);
	pq_file_meta m;
	footer(&f, &a, &m);
	chunk_data cd;
	read_chunk(&f, &m, 0, 0, 3, 0, &cd);
	check_levels(&cd, (uint32_t[]) {3, 0, 1, 2}, NULL, 4);
	check_i32_values(&cd, (int32_t[]) {1}, 1);
	chunk_free(&cd);
	read_chunk(&f, &m, 0, 1, 1, 0, &cd);
	check_levels(&cd, (uint32_t[]) {1, 0, 1, 1}, NULL, 4);
	check_i32_values(&cd, (int32_t[]) {10, 11, 12}, 3);
	chunk_free(&cd);
	/* struct leaves keep min/max in the file info */
	cr_assert_str_eq(info.stats[1].path, "o.r");
	cr_assert(info.stats[1].has_min_max);
	cr_assert_eq(info.stats[1].min.i, 10);
	cr_assert_eq(info.stats[1].max.i, 12);
	cr_assert_eq(info.stats[1].null_count, 1);
	cr_assert_eq(info.stats[0].null_count, 3);
	pq_writer_free(w);
	lk_buf_free(&f);
	lk_batch_free(b);
	lk_arena_free(&a);
}

/* ---- statistics ----------------------------------------------------------- */

static const pq_statistics *
chunk_stats(const pq_file_meta *m, int rg, int col)
{
	return &m->row_groups[rg].columns[col].meta_data.statistics;
}

Test(writer_stats, integer_orders_dates_timestamps)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *s = lk_type_struct(&a, 7);
	field(s, 0, "u8", ty_unsigned(&a, LK_T_BYTE), true);
	field(s, 1, "u32", ty_unsigned(&a, LK_T_INT), true);
	field(s, 2, "u64", ty_unsigned(&a, LK_T_LONG), true);
	field(s, 3, "i16", ty(&a, LK_T_SHORT), true);
	field(s, 4, "date", ty(&a, LK_T_DATE), true);
	field(s, 5, "ts", ty_unit(&a, LK_T_TIMESTAMP, LK_UNIT_MILLIS), true);
	field(s, 6, "t", ty_unit(&a, LK_T_TIME, LK_UNIT_MILLIS), true);
	lk_batch *b = lk_batch_new(s);
	uint8_t u8[] = {5, 250, 0, 128};
	uint32_t u32[] = {7, 0x80000000u, 0xffffffffu, 1};
	uint64_t u64[] = {3, 0x8000000000000000ull, 2, 0xfffffffffffffffeull};
	int16_t i16[] = {-5, 300, -32768, 7};
	int32_t date[] = {-1, 0, 18000, -719162};
	int64_t ts[] = {-1, 1000, 253402300799000LL, -62135596800000LL};
	int64_t t[] = {0, 86399999, 1000, 5};
	for (int i = 0; i < 4; i++) {
		lk_column_append_fixed(&b->cols[0], &u8[i]);
		lk_column_append_fixed(&b->cols[1], &u32[i]);
		lk_column_append_fixed(&b->cols[2], &u64[i]);
		lk_column_append_fixed(&b->cols[3], &i16[i]);
		lk_column_append_i32(&b->cols[4], date[i]);
		lk_column_append_i64(&b->cols[5], ts[i]);
		lk_column_append_i64(&b->cols[6], t[i]);
	}
	for (int c = 0; c < 7; c++)
		lk_column_append_null(&b->cols[c]);
	cr_assert(lk_batch_seal(b));
	lk_buf f;
	pq_file_info info;
	pq_writer *w;
	write_mem(s, &b, 1, NULL, &f, &info, &w);
	pq_file_meta m;
	footer(&f, &a, &m);
	const pq_statistics *st;
	st = chunk_stats(&m, 0, 0);
	cr_assert_eq(rd_i32(st->min_value), 0);
	cr_assert_eq(rd_i32(st->max_value), 250);
	st = chunk_stats(&m, 0, 1);
	cr_assert_eq((uint32_t) rd_i32(st->min_value), 1u);
	cr_assert_eq((uint32_t) rd_i32(st->max_value), 0xffffffffu);
	st = chunk_stats(&m, 0, 2);
	cr_assert_eq((uint64_t) rd_i64(st->min_value), 2u);
	cr_assert_eq((uint64_t) rd_i64(st->max_value), 0xfffffffffffffffeull);
	st = chunk_stats(&m, 0, 3);
	cr_assert_eq(rd_i32(st->min_value), -32768);
	cr_assert_eq(rd_i32(st->max_value), 300);
	st = chunk_stats(&m, 0, 4);
	cr_assert_eq(rd_i32(st->min_value), -719162);
	cr_assert_eq(rd_i32(st->max_value), 18000);
	st = chunk_stats(&m, 0, 5);
	cr_assert_eq(st->min_value_len, 8);
	cr_assert_eq(rd_i64(st->min_value), -62135596800000LL);
	cr_assert_eq(rd_i64(st->max_value), 253402300799000LL);
	st = chunk_stats(&m, 0, 6);
	cr_assert_eq(st->min_value_len, 4);
	cr_assert_eq(rd_i32(st->min_value), 0);
	cr_assert_eq(rd_i32(st->max_value), 86399999);
	for (int c = 0; c < 7; c++) {
		cr_assert_eq(chunk_stats(&m, 0, c)->null_count, 1);
		cr_assert(chunk_stats(&m, 0, c)->is_min_value_exact);
		cr_assert(chunk_stats(&m, 0, c)->is_max_value_exact);
		cr_assert_eq(info.stats[c].null_count, 1);
		cr_assert_eq(info.stats[c].num_values, 5);
		cr_assert(info.stats[c].has_min_max);
	}
	cr_assert_eq(info.stats[0].min.i, 0);
	cr_assert_eq(info.stats[0].max.i, 250);
	cr_assert_eq((uint64_t) info.stats[1].max.i, 0xffffffffu);
	cr_assert_eq((uint64_t) info.stats[2].min.i, 2u);
	cr_assert_eq((uint64_t) info.stats[2].max.i, 0xfffffffffffffffeull);
	cr_assert_eq(info.stats[3].min.i, -32768);
	cr_assert_eq(info.stats[4].min.i, -719162);
	cr_assert_eq(info.stats[5].max.i, 253402300799000LL);
	cr_assert_eq(info.stats[6].max.i, 86399999);
	pq_writer_free(w);
	lk_buf_free(&f);
	lk_batch_free(b);
	lk_arena_free(&a);
}

static double
rd_f64(const uint8_t *p)
{
	double v;
	memcpy(&v, p, 8);
	return v;
}

static float
rd_f32(const uint8_t *p)
{
	float v;
	memcpy(&v, p, 4);
	return v;
}

Test(writer_stats, floats_nan_and_signed_zero)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *s = lk_type_struct(&a, 6);
	field(s, 0, "d", ty(&a, LK_T_DOUBLE), true);      /* NaN, 0.0 (both zeros) */
	field(s, 1, "f", ty(&a, LK_T_FLOAT), true);       /* -3, NaN, 2.5 */
	field(s, 2, "nan", ty(&a, LK_T_DOUBLE), true);    /* all NaN */
	field(s, 3, "pos", ty(&a, LK_T_DOUBLE), true);    /* +0.0 .. 5 */
	field(s, 4, "neg", ty(&a, LK_T_DOUBLE), true);    /* -7 .. -0.0 */
	field(s, 5, "h", ty_ext(&a, LK_T_FLOAT, LK_EXT_FLOAT16), true);
	lk_batch *b = lk_batch_new(s);
	double d[] = {NAN, 0.0, -0.0, NAN};
	double fv[] = {-3, NAN, 2.5, NAN};
	double pos[] = {0.0, 5, 1, 0.0};
	double neg[] = {-0.0, -7, -1, -0.0};
	double h[] = {1.5, -0.0, NAN, 65504};
	for (int i = 0; i < 4; i++) {
		lk_column_append_f64(&b->cols[0], d[i]);
		lk_column_append_f64(&b->cols[1], fv[i]);
		lk_column_append_f64(&b->cols[2], NAN);
		lk_column_append_f64(&b->cols[3], pos[i]);
		lk_column_append_f64(&b->cols[4], neg[i]);
		lk_column_append_f64(&b->cols[5], h[i]);
	}
	cr_assert(lk_batch_seal(b));
	lk_buf f;
	pq_file_info info;
	pq_writer *w;
	write_mem(s, &b, 1, NULL, &f, &info, &w);
	pq_file_meta m;
	footer(&f, &a, &m);
	const pq_statistics *st = chunk_stats(&m, 0, 0);
	cr_assert(st->has_min_value && st->has_max_value);
	cr_assert(signbit(rd_f64(st->min_value)) && rd_f64(st->min_value) == 0);
	cr_assert(!signbit(rd_f64(st->max_value)) && rd_f64(st->max_value) == 0);
	st = chunk_stats(&m, 0, 1);
	cr_assert_eq(st->min_value_len, 4);
	cr_assert_eq(rd_f32(st->min_value), -3.0f);
	cr_assert_eq(rd_f32(st->max_value), 2.5f);
	st = chunk_stats(&m, 0, 2);
	cr_assert_not(st->has_min_value || st->has_max_value);
	cr_assert_eq(st->null_count, 0);
	st = chunk_stats(&m, 0, 3);
	cr_assert(signbit(rd_f64(st->min_value)), "min +0.0 is written as -0.0");
	cr_assert_eq(rd_f64(st->max_value), 5.0);
	st = chunk_stats(&m, 0, 4);
	cr_assert_eq(rd_f64(st->min_value), -7.0);
	cr_assert(!signbit(rd_f64(st->max_value)) && rd_f64(st->max_value) == 0,
			  "max -0.0 is written as +0.0");
	st = chunk_stats(&m, 0, 5);
	cr_assert_eq(st->min_value_len, 2);
	cr_assert_eq(st->max_value_len, 2);
	cr_assert_eq(st->min_value[0] | st->min_value[1] << 8, 0x8000);   /* -0.0 */
	cr_assert_eq(st->max_value[0] | st->max_value[1] << 8, 0x7bff);   /* 65504 */

	cr_assert(info.stats[0].has_min_max);
	cr_assert(signbit(info.stats[0].min.d));
	cr_assert_eq(info.stats[1].min.d, -3.0);
	cr_assert_eq(info.stats[1].max.d, 2.5);
	cr_assert_not(info.stats[2].has_min_max);
	cr_assert_eq(info.stats[5].max.d, 65504.0);
	pq_writer_free(w);
	lk_buf_free(&f);
	lk_batch_free(b);
	lk_arena_free(&a);
}

Test(writer_stats, decimals_in_every_physical_type)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *s = lk_type_struct(&a, 4);
	field(s, 0, "d9", lk_type_decimal(&a, 9, 2), true);
	field(s, 1, "d18", lk_type_decimal(&a, 18, 0), true);
	field(s, 2, "d38", lk_type_decimal(&a, 38, 5), true);
	lk_type *fx = lk_type_decimal(&a, 4, 2);
	fx->fixed_len = 3;
	field(s, 3, "fx", fx, true);
	lk_batch *b = lk_batch_new(s);
	lk_int128 big = (lk_int128) 1 << 100;
	lk_int128 v9[] = {-99999, 12345, 0};
	lk_int128 v18[] = {-999999999999999999LL, 5, 999999999999999999LL};
	lk_int128 v38[] = {-big, big + 7, -1};
	lk_int128 vfx[] = {-9999, 9999, -1};
	for (int i = 0; i < 3; i++) {
		lk_column_append_i128(&b->cols[0], v9[i]);
		lk_column_append_i128(&b->cols[1], v18[i]);
		lk_column_append_i128(&b->cols[2], v38[i]);
		lk_column_append_i128(&b->cols[3], vfx[i]);
	}
	cr_assert(lk_batch_seal(b));
	lk_buf f;
	pq_file_info info;
	pq_writer *w;
	write_mem(s, &b, 1, NULL, &f, &info, &w);
	pq_file_meta m;
	footer(&f, &a, &m);
	const pq_statistics *st = chunk_stats(&m, 0, 0);
	cr_assert_eq(st->min_value_len, 4);
	cr_assert_eq(rd_i32(st->min_value), -99999);
	cr_assert_eq(rd_i32(st->max_value), 12345);
	st = chunk_stats(&m, 0, 1);
	cr_assert_eq(rd_i64(st->min_value), -999999999999999999LL);
	cr_assert_eq(rd_i64(st->max_value), 999999999999999999LL);
	st = chunk_stats(&m, 0, 2);
	cr_assert_eq(st->min_value_len, 16);
	const uint8_t min38[16] = {0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	const uint8_t max38[16] = {0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
	cr_assert(memcmp(st->min_value, min38, 16) == 0);
	cr_assert(memcmp(st->max_value, max38, 16) == 0);
	st = chunk_stats(&m, 0, 3);
	cr_assert_eq(st->min_value_len, 3);
	const uint8_t minfx[3] = {0xff, 0xd8, 0xf1}, maxfx[3] = {0x00, 0x27, 0x0f};
	cr_assert(memcmp(st->min_value, minfx, 3) == 0);
	cr_assert(memcmp(st->max_value, maxfx, 3) == 0);
	cr_assert(info.stats[0].min.dec == -99999);
	cr_assert(info.stats[0].max.dec == 12345);
	cr_assert(info.stats[1].min.dec == -999999999999999999LL);
	cr_assert(info.stats[2].min.dec == -big);
	cr_assert(info.stats[2].max.dec == big + 7);
	cr_assert(info.stats[3].min.dec == -9999);

	/* the values themselves: FLBA(3) big-endian two's complement */
	chunk_data cd;
	read_chunk(&f, &m, 0, 3, 1, 0, &cd);
	cr_assert_eq(cd.values.len, 9);
	cr_assert(memcmp(cd.values.data, "\xff\xd8\xf1\x00\x27\x0f\xff\xff\xff", 9) == 0);
	chunk_free(&cd);
	pq_writer_free(w);
	lk_buf_free(&f);
	lk_batch_free(b);
	lk_arena_free(&a);
}

static void
append_str(lk_column *c, const char *s)
{
	lk_column_append_bytes(c, s, (int64_t) strlen(s));
}

Test(writer_stats, string_truncation)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *s = lk_type_struct(&a, 5);
	field(s, 0, "s", ty(&a, LK_T_STRING), true);
	field(s, 1, "u", ty(&a, LK_T_STRING), true);
	field(s, 2, "bin", ty(&a, LK_T_BINARY), true);
	field(s, 3, "ff", ty(&a, LK_T_BINARY), true);
	field(s, 4, "short", ty(&a, LK_T_STRING), true);
	lk_batch *b = lk_batch_new(s);
	/* s: ascii longer than 8 */
	append_str(&b->cols[0], "abcdefghijk");
	append_str(&b->cols[0], "abcdefgz_tail");
	append_str(&b->cols[0], "b");
	/* u: "é" is c3 a9; max "zzzzzz\xc3\xbf..." → truncated at a character */
	append_str(&b->cols[1], "aaaaaaa\xc3\xa9xyz");        /* 7 + 2 + 3 */
	append_str(&b->cols[1], "zzzzzz\xc3\xbf\xc3\xbfq");     /* ÿÿ: c3 bf */
	append_str(&b->cols[1], "m");
	/* bin: max truncated to 8 bytes with carry */
	lk_column_append_bytes(&b->cols[2], "\x01\x02\x03\x04\x05\x06\x07\xff\xff\x01", 10);
	lk_column_append_bytes(&b->cols[2], "\x00", 1);
	/* ff: every byte 0xff → no upper bound of 8 bytes exists */
	lk_column_append_bytes(&b->cols[3], "\xff\xff\xff\xff\xff\xff\xff\xff\xff", 9);
	lk_column_append_bytes(&b->cols[3], "\x10", 1);
	/* short: no truncation */
	append_str(&b->cols[4], "");
	append_str(&b->cols[4], "zz");
	lk_column_append_null(&b->cols[4]);
	for (int c = 2; c < 4; c++)
		lk_column_append_null(&b->cols[c]);
	cr_assert(lk_batch_seal(b));
	pq_writer_options o;
	pq_writer_options_init(&o);
	o.stats_truncate = 8;
	for (int dict = 0; dict <= 1; dict++) {
		o.dictionary = dict;
		lk_buf f;
		pq_file_info info;
		pq_writer *w;
		write_mem(s, &b, 1, &o, &f, &info, &w);
		pq_file_meta m;
		footer(&f, &a, &m);
		const pq_statistics *st = chunk_stats(&m, 0, 0);
		cr_assert_eq(st->min_value_len, 8);
		cr_assert(memcmp(st->min_value, "abcdefgh", 8) == 0);
		cr_assert_not(st->is_min_value_exact);
		cr_assert_eq(st->max_value_len, 1);
		cr_assert(memcmp(st->max_value, "b", 1) == 0);
		cr_assert(st->is_max_value_exact);

		st = chunk_stats(&m, 0, 1);
		/* min "aaaaaaa\xc3\xa9xyz" → 7 bytes (é would cross byte 8) */
		cr_assert_eq(st->min_value_len, 7);
		cr_assert(memcmp(st->min_value, "aaaaaaa", 7) == 0);
		/* max "zzzzzz\xc3\xbf\xc3\xbfq" → "zzzzzz" + ÿ incremented to "Ā" (c4 80) */
		cr_assert_eq(st->max_value_len, 8);
		cr_assert(memcmp(st->max_value, "zzzzzz\xc4\x80", 8) == 0);
		cr_assert_not(st->is_max_value_exact);

		st = chunk_stats(&m, 0, 2);
		cr_assert_eq(st->min_value_len, 1);
		cr_assert_eq(st->min_value[0], 0);
		cr_assert_eq(st->max_value_len, 7);
		cr_assert(memcmp(st->max_value, "\x01\x02\x03\x04\x05\x06\x08", 7) == 0);
		cr_assert_eq(st->null_count, 1);

		st = chunk_stats(&m, 0, 3);
		cr_assert(st->has_min_value);
		cr_assert_eq(st->min_value_len, 1);
		cr_assert_eq(st->min_value[0], 0x10);
		cr_assert_not(st->has_max_value, "no 8-byte upper bound of ff ff ... exists");

		st = chunk_stats(&m, 0, 4);
		cr_assert_eq(st->min_value_len, 0);
		cr_assert(st->has_min_value);
		cr_assert_eq(st->max_value_len, 2);
		cr_assert_eq(st->null_count, 1);

		cr_assert(info.stats[0].has_min_max);
		cr_assert_eq(info.stats[0].min_len, 8);
		cr_assert_eq(info.stats[0].max_len, 1);
		cr_assert_not(info.stats[0].max_truncated);
		cr_assert(info.stats[1].max_truncated);
		cr_assert_eq(info.stats[1].max_len, 8);
		cr_assert(memcmp(info.stats[1].max_bytes, "zzzzzz\xc4\x80", 8) == 0);
		cr_assert_not(info.stats[3].has_min_max);
		cr_assert(info.stats[4].has_min_max);
		cr_assert_eq(info.stats[4].min_len, 0);
		pq_writer_free(w);
		lk_buf_free(&f);
	}
	lk_batch_free(b);
	lk_arena_free(&a);
}

Test(writer_stats, merged_over_row_groups)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *s = lk_type_struct(&a, 2);
	field(s, 0, "x", ty(&a, LK_T_LONG), true);
	field(s, 1, "s", ty(&a, LK_T_STRING), true);
	lk_batch *b = lk_batch_new(s);
	char buf[32];
	for (int i = 0; i < 1000; i++) {
		int64_t v = (i * 7919) % 1000 - 500;
		if (i % 10 == 3) {
			lk_column_append_null(&b->cols[0]);
			lk_column_append_null(&b->cols[1]);
			continue;
		}
		lk_column_append_i64(&b->cols[0], v);
		int n = snprintf(buf, sizeof(buf), "v%04d", (int) (v + 500));
		lk_column_append_bytes(&b->cols[1], buf, n);
	}
	cr_assert(lk_batch_seal(b));
	pq_writer_options o;
	pq_writer_options_init(&o);
	o.row_group_rows = 300;
	lk_buf f;
	pq_file_info info;
	pq_writer *w;
	write_mem(s, &b, 1, &o, &f, &info, &w);
	pq_file_meta m;
	footer(&f, &a, &m);
	cr_assert_eq(m.nrow_groups, 4);
	cr_assert_eq(info.num_row_groups, 4);
	int64_t nulls = 0, rows = 0;
	for (int g = 0; g < 4; g++) {
		cr_assert_eq(m.row_groups[g].num_rows, g < 3 ? 300 : 100);
		cr_assert_eq(m.row_groups[g].ordinal, g);
		nulls += chunk_stats(&m, g, 0)->null_count;
		rows += m.row_groups[g].num_rows;
		if (g > 0)
			cr_assert_eq(m.row_groups[g].file_offset,
						 m.row_groups[g - 1].file_offset +
						 m.row_groups[g - 1].total_compressed_size);
	}
	cr_assert_eq(rows, 1000);
	cr_assert_eq(nulls, 100);
	cr_assert_eq(info.stats[0].null_count, 100);
	/* every v in -500..499 except the nulls' values */
	int64_t mn = INT64_MAX, mx = INT64_MIN;
	for (int i = 0; i < 1000; i++)
		if (i % 10 != 3) {
			int64_t v = (i * 7919) % 1000 - 500;
			mn = v < mn ? v : mn;
			mx = v > mx ? v : mx;
		}
	cr_assert_eq(info.stats[0].min.i, mn);
	cr_assert_eq(info.stats[0].max.i, mx);
	snprintf(buf, sizeof(buf), "v%04d", (int) (mn + 500));
	cr_assert_eq(info.stats[1].min_len, 5);
	cr_assert(memcmp(info.stats[1].min_bytes, buf, 5) == 0);
	snprintf(buf, sizeof(buf), "v%04d", (int) (mx + 500));
	cr_assert(memcmp(info.stats[1].max_bytes, buf, 5) == 0);
	pq_writer_free(w);
	lk_buf_free(&f);
	lk_batch_free(b);
	lk_arena_free(&a);
}

/* ---- pages and encodings ---------------------------------------------------- */

/* int column, 20000 rows, values i % card, null when i % 11 == 0. */
static lk_batch *
card_batch(const lk_type *schema, int n, int card)
{
	lk_batch *b = lk_batch_new(schema);
	for (int i = 0; i < n; i++) {
		if (i % 11 == 0)
			lk_column_append_null(&b->cols[0]);
		else
			lk_column_append_i32(&b->cols[0], (i * 37) % card);
	}
	cr_assert(lk_batch_seal(b));
	return b;
}

static void
check_card_values(const chunk_data *cd, int n, int card)
{
	int k = 0;
	cr_assert_eq(cd->nlevels, n);
	for (int i = 0; i < n; i++) {
		cr_assert_eq(cd->def[i], i % 11 == 0 ? 0u : 1u);
		if (i % 11)
			cr_assert_eq(rd_i32(cd->values.data + 4 * k++), (i * 37) % card, "row %d", i);
	}
	cr_assert_eq(cd->nvalues, k);
}

Test(writer_pages, dictionary_on_off_and_fallback)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *s = lk_type_struct(&a, 1);
	field(s, 0, "x", ty(&a, LK_T_INT), true);
	const int n = 20000;
	pq_writer_options o;
	pq_writer_options_init(&o);
	pq_file_meta m;
	chunk_data cd;
	lk_buf f;

	/* on: 100 distinct values → one dictionary page, dictionary data pages */
	lk_batch *b = card_batch(s, n, 100);
	write_mem(s, &b, 1, &o, &f, NULL, NULL);
	footer(&f, &a, &m);
	read_chunk(&f, &m, 0, 0, 1, 0, &cd);
	cr_assert_eq(cd.dict_pages, 1);
	cr_assert_eq(cd.dict_entries, 100);
	cr_assert_eq(cd.pages_plain, 0);
	cr_assert_geq(cd.pages_dict, 1);
	check_card_values(&cd, n, 100);
	chunk_free(&cd);
	lk_buf_free(&f);

	/* off */
	o.dictionary = false;
	write_mem(s, &b, 1, &o, &f, NULL, NULL);
	footer(&f, &a, &m);
	read_chunk(&f, &m, 0, 0, 1, 0, &cd);
	cr_assert_eq(cd.dict_pages, 0);
	cr_assert_eq(cd.pages_dict, 0);
	cr_assert_geq(cd.pages_plain, 1);
	const pq_column_meta *cm = &m.row_groups[0].columns[0].meta_data;
	cr_assert_not(cm->has_dictionary_page_offset);
	cr_assert_eq(cm->nencodings, 2);
	cr_assert_eq(cm->encodings[0], PQ_ENC_PLAIN);
	cr_assert_eq(cm->encodings[1], PQ_ENC_RLE);
	cr_assert_eq(cm->data_page_offset, 4);
	check_card_values(&cd, n, 100);
	chunk_free(&cd);
	lk_buf_free(&f);
	lk_batch_free(b);

	/* fallback: 5000 distinct values, dictionary limit 2000 bytes */
	o.dictionary = true;
	o.dictionary_limit = 2000;
	b = card_batch(s, n, 5000);
	write_mem(s, &b, 1, &o, &f, NULL, NULL);
	footer(&f, &a, &m);
	read_chunk(&f, &m, 0, 0, 1, 0, &cd);
	cr_assert_eq(cd.dict_pages, 1);
	cr_assert_geq(cd.dict_entries, 500);
	cr_assert_lt(cd.dict_entries, 5000);
	cr_assert_eq(cd.pages_dict, 1);
	cr_assert_geq(cd.pages_plain, 1);
	cm = &m.row_groups[0].columns[0].meta_data;
	cr_assert_eq(cm->nencodings, 3);
	cr_assert_eq(cm->nencoding_stats, 3);
	cr_assert_eq(cm->encoding_stats[1].encoding, PQ_ENC_RLE_DICTIONARY);
	cr_assert_eq(cm->encoding_stats[1].count, 1);
	cr_assert_eq(cm->encoding_stats[2].encoding, PQ_ENC_PLAIN);
	cr_assert_eq(cm->encoding_stats[2].count, cd.pages_plain);
	check_card_values(&cd, n, 5000);
	chunk_free(&cd);
	lk_buf_free(&f);

	/* a new row group starts a new dictionary */
	o.row_group_rows = 10000;
	write_mem(s, &b, 1, &o, &f, NULL, NULL);
	footer(&f, &a, &m);
	cr_assert_eq(m.nrow_groups, 2);
	for (int g = 0; g < 2; g++) {
		read_chunk(&f, &m, g, 0, 1, 0, &cd);
		cr_assert_eq(cd.dict_pages, 1);
		cr_assert_eq(cd.pages_dict, 1);
		chunk_free(&cd);
	}
	lk_buf_free(&f);
	lk_batch_free(b);
	lk_arena_free(&a);
}

Test(writer_pages, unprofitable_dictionary_is_dropped)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *s = lk_type_struct(&a, 2);
	field(s, 0, "uniq", ty(&a, LK_T_LONG), false);
	field(s, 1, "few", ty(&a, LK_T_STRING), false);
	lk_batch *b = lk_batch_new(s);
	const int n = 50000;
	for (int i = 0; i < n; i++) {
		lk_column_append_i64(&b->cols[0], (int64_t) i * 1000003);
		append_str(&b->cols[1], i % 3 == 0 ? "alpha" : i % 3 == 1 ? "beta" : "gamma");
	}
	cr_assert(lk_batch_seal(b));
	lk_buf f;
	write_mem(s, &b, 1, NULL, &f, NULL, NULL);
	pq_file_meta m;
	footer(&f, &a, &m);
	chunk_data cd;
	read_chunk(&f, &m, 0, 0, 0, 0, &cd);
	cr_assert_eq(cd.dict_pages, 0, "unique values: no dictionary page");
	cr_assert_eq(cd.pages_dict, 0);
	cr_assert_eq(cd.nvalues, n);
	for (int i = 0; i < n; i++)
		cr_assert_eq(rd_i64(cd.values.data + 8 * i), (int64_t) i * 1000003);
	cr_assert_not(m.row_groups[0].columns[0].meta_data.has_dictionary_page_offset);
	chunk_free(&cd);
	read_chunk(&f, &m, 0, 1, 0, 0, &cd);
	cr_assert_eq(cd.dict_pages, 1);
	cr_assert_eq(cd.dict_entries, 3);
	cr_assert_eq(cd.pages_plain, 0);
	chunk_free(&cd);
	lk_buf_free(&f);
	lk_batch_free(b);
	lk_arena_free(&a);
}

Test(writer_pages, tiny_pages_many_row_groups_small_batches)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *s = lk_type_struct(&a, 2);
	field(s, 0, "x", ty(&a, LK_T_INT), true);
	field(s, 1, "li", lk_type_array(&a, ty(&a, LK_T_INT), true), true);
	const int n = 3000;
	lk_batch *batches[30];
	for (int k = 0; k < 30; k++) {
		lk_batch *b = lk_batch_new(s);
		for (int j = 0; j < 100; j++) {
			int i = k * 100 + j;
			if (i % 11 == 0)
				lk_column_append_null(&b->cols[0]);
			else
				lk_column_append_i32(&b->cols[0], (i * 37) % 1000);
			lk_column *li = &b->cols[1];
			if (i % 7 == 0) {
				lk_column_append_null(li);
			} else {
				for (int e = 0; e < i % 4; e++)
					lk_column_append_i32(&li->children[0], i + e);
				lk_column_append_list(li);
			}
		}
		cr_assert(lk_batch_seal(b));
		batches[k] = b;
	}
	pq_writer_options o;
	pq_writer_options_init(&o);
	o.page_bytes = 64;
	o.row_group_rows = 700;
	for (int v = 1; v <= 2; v++) {
		o.data_page_version = v;
		lk_buf f;
		pq_file_info info;
		pq_writer *w;
		write_mem(s, batches, 30, &o, &f, &info, &w);
		pq_file_meta m;
		footer(&f, &a, &m);
		cr_assert_eq(m.nrow_groups, 5);
		cr_assert_eq(m.num_rows, n);
		int row = 0, elem = 0, nl = 0;
		for (int g = 0; g < 5; g++) {
			cr_assert_eq(m.row_groups[g].num_rows, g < 4 ? 700 : 200);
			chunk_data cd;
			read_chunk(&f, &m, g, 0, 1, 0, &cd);
			cr_assert_geq(cd.pages_dict + cd.pages_plain, g < 4 ? 10 : 3, "tiny pages: many pages");
			int k = 0;
			for (int i = 0; i < cd.nlevels; i++, row++) {
				cr_assert_eq(cd.def[i], row % 11 == 0 ? 0u : 1u);
				if (row % 11)
					cr_assert_eq(rd_i32(cd.values.data + 4 * k++), (row * 37) % 1000);
			}
			chunk_free(&cd);
			read_chunk(&f, &m, g, 1, 3, 1, &cd);
			cr_assert_geq(cd.pages_dict + cd.pages_plain, g < 4 ? 10 : 3);
			if (v == 2)
				cr_assert_eq(cd.v2_pages, cd.pages_dict + cd.pages_plain);
			k = 0;
			for (int i = 0; i < cd.nlevels; i++) {
				if (cd.rep[i] == 0) {
					nl++;
					int r = nl - 1;
					elem = 0;
					uint32_t want_def = r % 7 == 0 ? 0 : r % 4 == 0 ? 1 : 3;
					cr_assert_eq(cd.def[i], want_def, "row %d", r);
				} else {
					cr_assert_eq(cd.def[i], 3u);
				}
				if (cd.def[i] == 3) {
					int r = nl - 1;
					cr_assert_eq(rd_i32(cd.values.data + 4 * k++), r + elem);
					elem++;
				}
			}
			chunk_free(&cd);
		}
		cr_assert_eq(row, n);
		cr_assert_eq(nl, n);
		pq_writer_free(w);
		lk_buf_free(&f);
	}
	for (int k = 0; k < 30; k++)
		lk_batch_free(batches[k]);
	lk_arena_free(&a);
}

Test(writer_pages, row_group_bytes_and_explicit_flush)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *s = lk_type_struct(&a, 1);
	field(s, 0, "x", ty(&a, LK_T_LONG), false);
	lk_batch *b = lk_batch_new(s);
	for (int i = 0; i < 200000; i++)
		lk_column_append_i64(&b->cols[0], (int64_t) i * 7777777);
	cr_assert(lk_batch_seal(b));
	pq_writer_options o;
	pq_writer_options_init(&o);
	o.row_group_bytes = 400000;
	lk_buf f;
	write_mem(s, &b, 1, &o, &f, NULL, NULL);
	pq_file_meta m;
	footer(&f, &a, &m);
	cr_assert_geq(m.nrow_groups, 3);
	int64_t rows = 0;
	for (int g = 0; g < m.nrow_groups; g++) {
		rows += m.row_groups[g].num_rows;
		cr_assert_leq(m.row_groups[g].total_byte_size, 400000 + 65536 * 8 + 4096);
	}
	cr_assert_eq(rows, 200000);
	lk_buf_free(&f);

	/* pq_writer_flush_row_group cuts where asked; an empty flush is a no-op */
	lk_error err;
	lk_error_clear(&err);
	lk_buf_init(&f);
	pq_output out = mem_output(&f);
	pq_writer *w = pq_writer_open(&out, s, NULL, &err);
	cr_assert_not_null(w);
	CHECK_OK(pq_writer_flush_row_group(w, &err));
	CHECK_OK(pq_writer_write(w, b, &err));
	CHECK_OK(pq_writer_flush_row_group(w, &err));
	CHECK_OK(pq_writer_flush_row_group(w, &err));
	CHECK_OK(pq_writer_write(w, b, &err));
	pq_file_info info;
	CHECK_OK(pq_writer_close(w, false, &info, &err));
	cr_assert_eq(info.num_row_groups, 2);
	cr_assert_eq(info.num_rows, 400000);
	pq_writer_free(w);
	footer(&f, &a, &m);
	cr_assert_eq(m.nrow_groups, 2);
	cr_assert_eq(m.row_groups[1].num_rows, 200000);
	lk_buf_free(&f);
	lk_batch_free(b);
	lk_arena_free(&a);
}

Test(writer_pages, every_codec_and_page_version)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *s = lk_type_struct(&a, 2);
	field(s, 0, "x", ty(&a, LK_T_INT), true);
	field(s, 1, "s", ty(&a, LK_T_STRING), true);
	lk_batch *b = lk_batch_new(s);
	char buf[64];
	for (int i = 0; i < 5000; i++) {
		if (i % 11 == 0) {
			lk_column_append_null(&b->cols[0]);
			lk_column_append_null(&b->cols[1]);
			continue;
		}
		lk_column_append_i32(&b->cols[0], (i * 37) % 3000);
		int n = snprintf(buf, sizeof(buf), "row %d of many rows", i * 13);
		lk_column_append_bytes(&b->cols[1], buf, n);
	}
	cr_assert(lk_batch_seal(b));
	pq_codec codecs[] = {PQ_CODEC_UNCOMPRESSED, PQ_CODEC_SNAPPY, PQ_CODEC_GZIP,
						 PQ_CODEC_BROTLI, PQ_CODEC_ZSTD, PQ_CODEC_LZ4_RAW};
	for (size_t c = 0; c < sizeof(codecs) / sizeof(codecs[0]); c++)
		for (int v = 1; v <= 2; v++) {
			pq_writer_options o;
			pq_writer_options_init(&o);
			o.codec = codecs[c];
			o.data_page_version = v;
			o.page_bytes = 4096;
			lk_buf f;
			write_mem(s, &b, 1, &o, &f, NULL, NULL);
			pq_file_meta m;
			footer(&f, &a, &m);
			cr_assert_eq(m.version, v);
			cr_assert_eq(m.row_groups[0].columns[0].meta_data.codec, (int32_t) codecs[c]);
			chunk_data cd;
			read_chunk(&f, &m, 0, 0, 1, 0, &cd);
			check_card_values(&cd, 5000, 3000);
			cr_assert_eq(cd.v2_pages, v == 2 ? cd.pages_dict + cd.pages_plain : 0);
			chunk_free(&cd);
			read_chunk(&f, &m, 0, 1, 1, 0, &cd);
			size_t pos = 0;
			for (int i = 0; i < 5000; i++) {
				if (i % 11 == 0)
					continue;
				int n = snprintf(buf, sizeof(buf), "row %d of many rows", i * 13);
				uint32_t l;
				memcpy(&l, cd.values.data + pos, 4);
				cr_assert_eq(l, (uint32_t) n);
				cr_assert(memcmp(cd.values.data + pos + 4, buf, (size_t) n) == 0);
				pos += 4 + (size_t) n;
			}
			cr_assert_eq(pos, cd.values.len);
			chunk_free(&cd);
			lk_buf_free(&f);
		}
	lk_batch_free(b);
	lk_arena_free(&a);
}

/* ---- values of the special physical types ------------------------------------ */

Test(writer_values, int96_float16_interval_uuid)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *s = lk_type_struct(&a, 4);
	lk_type *i96 = ty_ext(&a, LK_T_TIMESTAMP_NTZ, LK_EXT_INT96);
	i96->unit = LK_UNIT_MICROS;
	field(s, 0, "i96", i96, false);
	field(s, 1, "h", ty_ext(&a, LK_T_FLOAT, LK_EXT_FLOAT16), false);
	field(s, 2, "u", ty_ext(&a, LK_T_BINARY, LK_EXT_UUID), false);
	field(s, 3, "iv", ty_ext(&a, LK_T_BINARY, LK_EXT_INTERVAL), false);
	lk_batch *b = lk_batch_new(s);
	/* 1970-01-01 00:00:00.000001, 1969-12-31 23:59:59.999999 */
	lk_column_append_i64(&b->cols[0], 1);
	lk_column_append_i64(&b->cols[0], -1);
	/* 1.0, 1+2^-11 (tie → even: 1.0), 1+3*2^-11 (tie → 1+2^-9), 1e-8 (→ 0), 70000 (→ inf) */
	double hv[] = {1.0, 1.0 + 1.0 / 2048, 1.0 + 3.0 / 2048, 1e-8, 70000, 5.960464477539063e-08};
	uint16_t hw[] = {0x3c00, 0x3c00, 0x3c02, 0x0000, 0x7c00, 0x0001};
	for (int i = 0; i < 6; i++)
		lk_column_append_f64(&b->cols[1], hv[i]);
	for (int i = 2; i < 6; i++)
		lk_column_append_i64(&b->cols[0], 0);
	for (int i = 0; i < 6; i++) {
		uint8_t u[16];
		for (int k = 0; k < 16; k++)
			u[k] = (uint8_t) (i * 16 + k);
		lk_column_append_bytes(&b->cols[2], u, 16);
		uint32_t iv[3] = {(uint32_t) i, 2, 3000};
		lk_column_append_bytes(&b->cols[3], iv, 12);
	}
	cr_assert(lk_batch_seal(b));
	lk_buf f;
	pq_writer_options o;
	pq_writer_options_init(&o);
	o.dictionary = false;
	write_mem(s, &b, 1, &o, &f, NULL, NULL);
	pq_file_meta m;
	footer(&f, &a, &m);
	chunk_data cd;
	read_chunk(&f, &m, 0, 0, 0, 0, &cd);
	cr_assert_eq(cd.values.len, 6 * 12);
	int64_t nod;
	uint32_t jd;
	memcpy(&nod, cd.values.data, 8);
	memcpy(&jd, cd.values.data + 8, 4);
	cr_assert_eq(nod, 1000);
	cr_assert_eq(jd, 2440588u);
	memcpy(&nod, cd.values.data + 12, 8);
	memcpy(&jd, cd.values.data + 20, 4);
	cr_assert_eq(nod, 86399999999000LL);
	cr_assert_eq(jd, 2440587u);
	/* INT96 has no defined order: no min/max in the file */
	cr_assert_not(chunk_stats(&m, 0, 0)->has_min_value);
	chunk_free(&cd);
	read_chunk(&f, &m, 0, 1, 0, 0, &cd);
	cr_assert_eq(cd.values.len, 12);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(cd.values.data[2 * i] | cd.values.data[2 * i + 1] << 8, hw[i],
					 "half %d", i);
	chunk_free(&cd);
	read_chunk(&f, &m, 0, 2, 0, 0, &cd);
	cr_assert_eq(cd.values.len, 96);
	for (int k = 0; k < 96; k++)
		cr_assert_eq(cd.values.data[k], k);
	const pq_statistics *st = chunk_stats(&m, 0, 2);
	cr_assert_eq(st->min_value_len, 16);
	cr_assert_eq(st->min_value[0], 0);
	cr_assert_eq(st->max_value[0], 80);
	chunk_free(&cd);
	read_chunk(&f, &m, 0, 3, 0, 0, &cd);
	cr_assert_eq(cd.values.len, 72);
	cr_assert_not(chunk_stats(&m, 0, 3)->has_min_value, "INTERVAL has no order");
	chunk_free(&cd);
	lk_buf_free(&f);
	lk_batch_free(b);
	lk_arena_free(&a);
}

/* ---- determinism, errors ------------------------------------------------------ */

static uint64_t
mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Deterministic pseudo-random value for (row, column, salt). */
static uint64_t
rnd(int64_t row, int col, int salt)
{
	return mix64((uint64_t) row * 1000003u + (uint64_t) col * 7919u + (uint64_t) salt);
}

static const char *const words[] = {"lake", "sync", "é", "delta", "€uro", "",
									"row", "😀", "a'b", "quote\"d", "tab\tx",
									"back\\slash"};

/* Append one generated value of type t (nullable?) to c for (row, col). */
static void
gen_value(lk_column *c, const lk_type *t, bool nullable, int64_t row, int col,
		  int depth)
{
	uint64_t r = rnd(row, col, depth);
	if (nullable && r % 10 == 0) {
		lk_column_append_null(c);
		return;
	}
	r = mix64(r);
	switch (t->id) {
	case LK_T_BOOLEAN:
		lk_column_append_bool(c, r & 1);
		break;
	case LK_T_BYTE: {
		uint8_t v = (uint8_t) r;
		lk_column_append_fixed(c, &v);
		break;
	}
	case LK_T_SHORT: {
		uint16_t v = (uint16_t) r;
		lk_column_append_fixed(c, &v);
		break;
	}
	case LK_T_INT:
		if (t->id == LK_T_INT && r % 7 == 0)
			lk_column_append_i32(c, r % 2 ? INT32_MIN : INT32_MAX);
		else
			lk_column_append_i32(c, (int32_t) (uint32_t) (r >> 7));
		break;
	case LK_T_LONG:
		lk_column_append_i64(c, r % 7 == 0 ? (r % 2 ? INT64_MIN : INT64_MAX) : (int64_t) r);
		break;
	case LK_T_FLOAT:
		if (t->ext == LK_EXT_FLOAT16) {
			/* exactly representable halves: k/16 for |k| < 2^11, and specials */
			double sp[] = {NAN, INFINITY, -INFINITY, -0.0, 65504, 6.103515625e-05};
			if (r % 9 == 0)
				lk_column_append_f64(c, sp[(r >> 8) % 6]);
			else
				lk_column_append_f64(c, (double) ((int64_t) (r >> 20) % 2048) / 16.0);
		} else {
			double sp[] = {NAN, INFINITY, -INFINITY, -0.0, 0.0, 3.4028234663852886e38};
			if (r % 9 == 0)
				lk_column_append_f64(c, sp[(r >> 8) % 6]);
			else
				lk_column_append_f64(c, (double) (float) ((double) (int64_t) r / 1e12));
		}
		break;
	case LK_T_DOUBLE: {
		double sp[] = {NAN, INFINITY, -INFINITY, -0.0, 0.0, 5e-324, 1.7976931348623157e308};
		if (r % 9 == 0)
			lk_column_append_f64(c, sp[(r >> 8) % 7]);
		else
			lk_column_append_f64(c, (double) (int64_t) r / 3e9);
		break;
	}
	case LK_T_DECIMAL: {
		lk_int128 lim = 1;
		for (int i = 0; i < t->precision; i++)
			lim *= 10;
		unsigned __int128 u = ((unsigned __int128) r << 64) | mix64(r);
		lk_int128 v = (lk_int128) (u % (unsigned __int128) lim);
		if (r % 5 == 0)
			v = lim - 1;
		lk_column_append_i128(c, (r >> 3) & 1 ? -v : v);
		break;
	}
	case LK_T_STRING: {
		char buf[256];
		int n = 0;
		if (t->ext == LK_EXT_JSON) {
			n = snprintf(buf, sizeof(buf), "{\"k\":%d,\"s\":\"%s\"}", (int) (r % 1000),
						 r % 3 ? "x" : "y");
		} else if (t->ext == LK_EXT_ENUM) {
			const char *e[] = {"red", "green", "blue"};
			n = snprintf(buf, sizeof(buf), "%s", e[r % 3]);
		} else {
			int nw = (int) (r % 5);
			for (int i = 0; i < nw; i++) {
				const char *w = words[mix64(r + (uint64_t) i) % 12];
				n += snprintf(buf + n, sizeof(buf) - (size_t) n, "%s%s", i ? " " : "", w);
			}
			if (r % 13 == 0)
				n = snprintf(buf, sizeof(buf), "%.*s", 100, "long long long long long long long long long long long long long long long long long long long long long long long long long");
		}
		lk_column_append_bytes(c, buf, n);
		break;
	}
	case LK_T_BINARY: {
		uint8_t buf[64];
		int n;
		if (t->ext == LK_EXT_UUID)
			n = 16;
		else if (t->ext == LK_EXT_INTERVAL)
			n = 12;
		else if (t->fixed_len)
			n = t->fixed_len;
		else
			n = (int) (r % 20);
		for (int i = 0; i < n; i++)
			buf[i] = (uint8_t) mix64(r + (uint64_t) i);
		if (t->ext == LK_EXT_INTERVAL) {
			uint32_t iv[3] = {(uint32_t) (r % 100), (uint32_t) ((r >> 8) % 40),
							  (uint32_t) ((r >> 16) % 86400000)};
			memcpy(buf, iv, 12);
		}
		lk_column_append_bytes(c, buf, n);
		break;
	}
	case LK_T_DATE:
		lk_column_append_i32(c, (int32_t) (r % 200000) - 100000);
		break;
	case LK_T_TIMESTAMP:
	case LK_T_TIMESTAMP_NTZ: {
		/* years ~1700 .. 2240 in micros */
		int64_t us = (int64_t) (r % 17000000000000000ull) - 8500000000000000LL;
		if (t->unit == LK_UNIT_MILLIS)
			us /= 1000;
		else if (t->unit == LK_UNIT_NANOS)
			us = (us / 1000000) * 1000;   /* ±292 years of nanos; µs precision */
		if (t->ext == LK_EXT_INT96)
			us = us / 1000 * 1000;           /* nanos, whole micros */
		lk_column_append_i64(c, us);
		break;
	}
	case LK_T_TIME: {
		int64_t us = (int64_t) (r % 86400000000ull);
		lk_column_append_i64(c, t->unit == LK_UNIT_MILLIS ? us / 1000 : us);
		break;
	}
	case LK_T_ARRAY: {
		int n = (int) (r % 4);
		for (int i = 0; i < n; i++)
			gen_value(&c->children[0], t->children[0].type, t->children[0].nullable,
					  row * 5 + i, col, depth + 1);
		lk_column_append_list(c);
		break;
	}
	case LK_T_MAP: {
		int n = (int) (r % 4);
		for (int i = 0; i < n; i++) {
			char k[32];
			int kl = snprintf(k, sizeof(k), "k%d", i);
			lk_column_append_bytes(&c->children[0], k, kl);
			gen_value(&c->children[1], t->children[1].type, t->children[1].nullable,
					  row * 5 + i, col, depth + 1);
		}
		lk_column_append_list(c);
		break;
	}
	case LK_T_STRUCT:
		for (int i = 0; i < t->nchildren; i++)
			gen_value(&c->children[i], t->children[i].type, t->children[i].nullable,
					  row, col * 31 + i + 1, depth + 1);
		lk_column_append_struct(c);
		break;
	}
}

static lk_batch *
gen_batch(const lk_type *s, int64_t first, int64_t n)
{
	lk_batch *b = lk_batch_new(s);
	for (int64_t r = first; r < first + n; r++)
		for (int c = 0; c < b->ncols; c++)
			gen_value(&b->cols[c], s->children[c].type, s->children[c].nullable, r, c, 0);
	cr_assert(lk_batch_seal(b));
	return b;
}

Test(writer_misc, deterministic_bytes)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *s = lk_type_struct(&a, 2);
	lk_type *fl = flat_schema(&a);
	field(s, 0, "flat", fl, true);
	field(s, 1, "nested", nested_schema(&a), true);
	lk_batch *b = gen_batch(s, 0, 3000);
	pq_writer_options o;
	pq_writer_options_init(&o);
	o.page_bytes = 2000;
	lk_buf f1, f2;
	write_mem(s, &b, 1, &o, &f1, NULL, NULL);
	/* the same rows in other batch sizes give the same file */
	lk_batch *parts[3] = {gen_batch(s, 0, 1000), gen_batch(s, 1000, 1500),
						  gen_batch(s, 2500, 500)};
	write_mem(s, parts, 3, &o, &f2, NULL, NULL);
	cr_assert_eq(f1.len, f2.len);
	cr_assert(memcmp(f1.data, f2.data, f1.len) == 0, "same input, different bytes");
	lk_buf_free(&f2);
	write_mem(s, &b, 1, &o, &f2, NULL, NULL);
	cr_assert_eq(f1.len, f2.len);
	cr_assert(memcmp(f1.data, f2.data, f1.len) == 0);
	lk_buf_free(&f1);
	lk_buf_free(&f2);
	for (int i = 0; i < 3; i++)
		lk_batch_free(parts[i]);
	lk_batch_free(b);
	lk_arena_free(&a);
}

Test(writer_misc, errors)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_error err;
	lk_buf f = LK_BUF_INIT;
	pq_output out = mem_output(&f);

	/* null in a required column */
	lk_type *s = lk_type_struct(&a, 1);
	field(s, 0, "req", ty(&a, LK_T_INT), false);
	lk_batch *b = lk_batch_new(s);
	lk_column_append_i32(&b->cols[0], 1);
	lk_column_append_null(&b->cols[0]);
	cr_assert(lk_batch_seal(b));
	lk_error_clear(&err);
	pq_writer *w = pq_writer_open(&out, s, NULL, &err);
	cr_assert_not_null(w);
	cr_assert_not(pq_writer_write(w, b, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	cr_assert(strstr(err.where, "req") != NULL, "where names the column: %s", err.where);
	cr_assert_not(pq_writer_close(w, false, NULL, &err), "failed writer cannot close");
	pq_writer_free(w);
	lk_batch_free(b);

	/* null element in a required list element */
	lk_type *s2 = lk_type_struct(&a, 1);
	field(s2, 0, "l", lk_type_array(&a, ty(&a, LK_T_INT), false), true);
	b = lk_batch_new(s2);
	lk_column_append_null(&b->cols[0].children[0]);
	lk_column_append_list(&b->cols[0]);
	cr_assert(lk_batch_seal(b));
	lk_buf_reset(&f);
	w = pq_writer_open(&out, s2, NULL, &err);
	cr_assert_not_null(w);
	cr_assert_not(pq_writer_write(w, b, &err));
	cr_assert(strstr(err.where, "l.list.element") != NULL, "%s", err.where);
	pq_writer_free(w);

	/* batch of another schema */
	lk_buf_reset(&f);
	w = pq_writer_open(&out, s, NULL, &err);
	cr_assert_not(pq_writer_write(w, b, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	pq_writer_free(w);
	lk_batch_free(b);

	/* schema problems are refused at open */
	lk_type *bad = lk_type_struct(&a, 1);
	field(bad, 0, "d", lk_type_decimal(&a, 39, 0), true);
	lk_buf_reset(&f);
	cr_assert_null(pq_writer_open(&out, bad, NULL, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert(strstr(err.where, "\"d\"") != NULL, "%s", err.where);
	lk_type *fx = lk_type_decimal(&a, 20, 0);
	fx->fixed_len = 4;
	field(bad, 0, "d", fx, true);
	cr_assert_null(pq_writer_open(&out, bad, NULL, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	field(bad, 0, "st", lk_type_struct(&a, 0), true);
	cr_assert_null(pq_writer_open(&out, bad, NULL, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	pq_writer_options o;
	pq_writer_options_init(&o);
	o.data_page_version = 3;
	cr_assert_null(pq_writer_open(&out, s, &o, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	pq_writer_options_init(&o);
	o.codec = (pq_codec) 3;
	cr_assert_null(pq_writer_open(&out, s, &o, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);

	/* wrong FLBA length */
	lk_type *s3 = lk_type_struct(&a, 1);
	field(s3, 0, "u", ty_ext(&a, LK_T_BINARY, LK_EXT_UUID), true);
	b = lk_batch_new(s3);
	lk_column_append_bytes(&b->cols[0], "short", 5);
	cr_assert(lk_batch_seal(b));
	w = pq_writer_open(&out, s3, NULL, &err);
	cr_assert_not(pq_writer_write(w, b, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	pq_writer_free(w);
	lk_batch_free(b);

	/* an abandoned writer closes its output without a footer */
	lk_buf_reset(&f);
	w = pq_writer_open(&out, s, NULL, &err);
	pq_writer_free(w);
	cr_assert_eq(f.len, 4);
	lk_buf_free(&f);
	lk_arena_free(&a);
}

/* ---- round trip through the reader -------------------------------------------- */

/* What the reader reports for a type we wrote: FLBA-backed types carry
 * their fixed length (an equivalent schema: writing it gives the same file). */
static void
normalize_flba(lk_type *t)
{
	if (t->id == LK_T_DECIMAL && t->precision > 18 && !t->fixed_len) {
		lk_int128 max = 1;
		for (int i = 0; i < t->precision; i++)
			max *= 10;
		int n = 1;
		while (n < 16 && max - 1 >= (lk_int128) 1 << (8 * n - 1))
			n++;
		t->fixed_len = n;
	}
	if (t->id == LK_T_BINARY && t->ext == LK_EXT_UUID)
		t->fixed_len = 16;
	if (t->id == LK_T_BINARY && t->ext == LK_EXT_INTERVAL)
		t->fixed_len = 12;
	for (int i = 0; i < t->nchildren; i++)
		normalize_flba(t->children[i].type);
}

static void
roundtrip(const lk_type *s, lk_batch *b, const pq_writer_options *o)
{
	lk_arena na;
	lk_arena_init(&na, 0);
	lk_type *want = lk_type_copy(&na, s);
	normalize_flba(want);
	lk_error err;
	lk_error_clear(&err);
	lk_buf f;
	write_mem(s, &b, 1, o, &f, NULL, NULL);
	pq_input in;
	pq_input_from_memory(&in, f.data, f.len, "roundtrip");
	pq_reader *r = pq_reader_open(&in, &err);
	if (!r)
		cr_assert_fail("reader: %s (%s)", err.msg, err.where);
	if (!lk_type_equal(pq_reader_schema(r), want)) {
		const lk_type *rs = pq_reader_schema(r);
		for (int i = 0; i < s->nchildren && i < rs->nchildren; i++)
			if (!lk_type_equal(rs->children[i].type, want->children[i].type) ||
				rs->children[i].nullable != s->children[i].nullable ||
				strcmp(rs->children[i].name, s->children[i].name) != 0) {
				lk_arena ta;
				lk_arena_init(&ta, 0);
				const lk_type *x = want->children[i].type, *y = rs->children[i].type;
				cr_log_error("column %s: wrote %s (unit %d ext %d fixed %d uns %d) read %s (unit %d ext %d fixed %d uns %d)",
							 s->children[i].name, lk_type_name(&ta, x), x->unit, x->ext, x->fixed_len, x->is_unsigned,
							 lk_type_name(&ta, y), y->unit, y->ext, y->fixed_len, y->is_unsigned);
				lk_arena_free(&ta);
			}
		cr_assert_fail("schema differs after a round trip");
	}
	cr_assert_eq(pq_reader_num_rows(r), b->nrows);
	lk_batch *got = lk_batch_new(pq_reader_output_schema(r));
	int64_t row = 0;
	for (int g = 0; g < pq_reader_num_row_groups(r); g++) {
		CHECK_OK(pq_reader_read_row_group(r, g, got, &err));
		for (int64_t i = 0; i < got->nrows; i++, row++)
			for (int c = 0; c < got->ncols; c++)
				cr_assert(lk_column_row_equal(&b->cols[c], row, &got->cols[c], i),
						  "row %lld column %s differs", (long long) row,
						  s->children[c].name);
	}
	cr_assert_eq(row, b->nrows);
	lk_batch_free(got);
	pq_reader_free(r);
	lk_buf_free(&f);
	lk_arena_free(&na);
}

Test(writer_roundtrip, reader_reads_every_type_back)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *fl = flat_schema(&a);
	lk_type *ns = nested_schema(&a);
	lk_type *s = lk_type_struct(&a, fl->nchildren + ns->nchildren);
	for (int i = 0; i < fl->nchildren; i++)
		s->children[i] = fl->children[i];
	for (int i = 0; i < ns->nchildren; i++)
		s->children[fl->nchildren + i] = ns->children[i];
	lk_batch *b = gen_batch(s, 0, 4000);
	pq_writer_options o;
	pq_writer_options_init(&o);
	roundtrip(s, b, &o);
	o.data_page_version = 2;
	o.page_bytes = 1000;
	o.row_group_rows = 1500;
	o.codec = PQ_CODEC_SNAPPY;
	o.dictionary_limit = 3000;
	roundtrip(s, b, &o);
	lk_batch_free(b);
	lk_arena_free(&a);
}

/* ---- files for the DuckDB oracle (tests/oracle/writer.sh) --------------------- */

static void
sql_type(lk_buf *o, const lk_type *t)
{
	switch (t->id) {
	case LK_T_BOOLEAN: lk_buf_append_str(o, "BOOLEAN"); return;
	case LK_T_BYTE: lk_buf_append_str(o, t->is_unsigned ? "UTINYINT" : "TINYINT"); return;
	case LK_T_SHORT: lk_buf_append_str(o, t->is_unsigned ? "USMALLINT" : "SMALLINT"); return;
	case LK_T_INT: lk_buf_append_str(o, t->is_unsigned ? "UINTEGER" : "INTEGER"); return;
	case LK_T_LONG: lk_buf_append_str(o, t->is_unsigned ? "UBIGINT" : "BIGINT"); return;
	case LK_T_FLOAT: lk_buf_append_str(o, "FLOAT"); return;
	case LK_T_DOUBLE: lk_buf_append_str(o, "DOUBLE"); return;
	case LK_T_DECIMAL: lk_buf_printf(o, "DECIMAL(%d,%d)", t->precision, t->scale); return;
	case LK_T_STRING:
		lk_buf_append_str(o, t->ext == LK_EXT_JSON ? "JSON" : "VARCHAR");
		return;
	case LK_T_BINARY:
		lk_buf_append_str(o, t->ext == LK_EXT_UUID ? "UUID"
						  : t->ext == LK_EXT_INTERVAL ? "INTERVAL" : "BLOB");
		return;
	case LK_T_DATE: lk_buf_append_str(o, "DATE"); return;
	case LK_T_TIMESTAMP:
		/* DuckDB reads every UTC unit as TIMESTAMPTZ (micros), INT96 as TIMESTAMP */
		lk_buf_append_str(o, t->ext == LK_EXT_INT96 ? "TIMESTAMP" : "TIMESTAMP WITH TIME ZONE");
		return;
	case LK_T_TIMESTAMP_NTZ:
		lk_buf_append_str(o, t->ext != LK_EXT_INT96 && t->unit == LK_UNIT_NANOS
						  ? "TIMESTAMP_NS" : "TIMESTAMP");
		return;
	case LK_T_TIME: lk_buf_append_str(o, "TIME"); return;
	case LK_T_ARRAY:
		sql_type(o, t->children[0].type);
		lk_buf_append_str(o, "[]");
		return;
	case LK_T_MAP:
		lk_buf_append_str(o, "MAP(");
		sql_type(o, t->children[0].type);
		lk_buf_append_str(o, ", ");
		sql_type(o, t->children[1].type);
		lk_buf_append_str(o, ")");
		return;
	case LK_T_STRUCT:
		lk_buf_append_str(o, "STRUCT(");
		for (int i = 0; i < t->nchildren; i++) {
			lk_buf_printf(o, "%s\"%s\" ", i ? ", " : "", t->children[i].name);
			sql_type(o, t->children[i].type);
		}
		lk_buf_append_str(o, ")");
		return;
	}
}

static void
txt_double(lk_buf *o, double d, bool is_float)
{
	if (isnan(d))
		lk_buf_append_str(o, "nan");
	else if (isinf(d))
		lk_buf_append_str(o, d > 0 ? "inf" : "-inf");
	else if (d == 0)
		lk_buf_append_str(o, signbit(d) ? "-0.0" : "0.0");
	else
		lk_buf_printf(o, is_float ? "%.9g" : "%.17g", d);
}

/* Days since 1970-01-01 → civil date (proleptic Gregorian). */
static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned) (z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t) yoe + era * 400 + (*m <= 2);
}

static void
txt_date(lk_buf *o, int64_t days)
{
	int64_t y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	lk_buf_printf(o, "%04lld-%02u-%02u", (long long) y, m, d);
}

/* "HH:MM:SS.ffffff" of micros within a day. */
static void
txt_time_of_day(lk_buf *o, int64_t us)
{
	lk_buf_printf(o, "%02lld:%02lld:%02lld.%06lld", (long long) (us / 3600000000LL),
				  (long long) (us / 60000000 % 60), (long long) (us / 1000000 % 60),
				  (long long) (us % 1000000));
}

/* Row i of primitive column c as the text DuckDB casts from VARCHAR. */
static void
txt_scalar(lk_buf *o, const lk_column *c, int64_t i)
{
	const lk_type *t = c->type;
	switch (t->id) {
	case LK_T_BOOLEAN:
		lk_buf_append_str(o, LK_COL_VALUES(c, uint8_t)[i] ? "true" : "false");
		return;
	case LK_T_BYTE:
		if (t->is_unsigned)
			lk_buf_printf(o, "%u", LK_COL_VALUES(c, uint8_t)[i]);
		else
			lk_buf_printf(o, "%d", LK_COL_VALUES(c, int8_t)[i]);
		return;
	case LK_T_SHORT:
		if (t->is_unsigned)
			lk_buf_printf(o, "%u", LK_COL_VALUES(c, uint16_t)[i]);
		else
			lk_buf_printf(o, "%d", LK_COL_VALUES(c, int16_t)[i]);
		return;
	case LK_T_INT:
		if (t->is_unsigned)
			lk_buf_printf(o, "%u", LK_COL_VALUES(c, uint32_t)[i]);
		else
			lk_buf_printf(o, "%d", LK_COL_VALUES(c, int32_t)[i]);
		return;
	case LK_T_LONG:
		if (t->is_unsigned)
			lk_buf_printf(o, "%llu", (unsigned long long) LK_COL_VALUES(c, uint64_t)[i]);
		else
			lk_buf_printf(o, "%lld", (long long) LK_COL_VALUES(c, int64_t)[i]);
		return;
	case LK_T_FLOAT:
		txt_double(o, LK_COL_VALUES(c, float)[i], true);
		return;
	case LK_T_DOUBLE:
		txt_double(o, LK_COL_VALUES(c, double)[i], false);
		return;
	case LK_T_DECIMAL: {
		char buf[64];
		lk_buf_append_str(o, lk_decimal_to_string(LK_COL_VALUES(c, lk_int128)[i],
												  t->scale, buf));
		return;
	}
	case LK_T_STRING: {
		int64_t n;
		const uint8_t *p = lk_column_bytes(c, i, &n);
		lk_buf_append(o, p, (size_t) n);
		return;
	}
	case LK_T_BINARY: {
		int64_t n;
		const uint8_t *p = lk_column_bytes(c, i, &n);
		if (t->ext == LK_EXT_UUID) {
			for (int k = 0; k < 16; k++)
				lk_buf_printf(o, "%s%02x", k == 4 || k == 6 || k == 8 || k == 10 ? "-" : "", p[k]);
		} else if (t->ext == LK_EXT_INTERVAL) {
			uint32_t iv[3];
			memcpy(iv, p, 12);
			lk_buf_printf(o, "%u months %u days %u milliseconds", iv[0], iv[1], iv[2]);
		} else {
			for (int64_t k = 0; k < n; k++)
				lk_buf_printf(o, "\\x%02X", p[k]);
		}
		return;
	}
	case LK_T_DATE:
		txt_date(o, LK_COL_VALUES(c, int32_t)[i]);
		return;
	case LK_T_TIMESTAMP:
	case LK_T_TIMESTAMP_NTZ: {
		/* generated nanosecond values are whole microseconds */
		int64_t v = LK_COL_VALUES(c, int64_t)[i];
		int64_t us = t->unit == LK_UNIT_MILLIS ? v * 1000
			: t->unit == LK_UNIT_NANOS ? v / 1000 : v;
		int64_t day = us / 86400000000LL, rem = us % 86400000000LL;
		if (rem < 0) {
			rem += 86400000000LL;
			day--;
		}
		txt_date(o, day);
		lk_buf_append_byte(o, ' ');
		txt_time_of_day(o, rem);
		return;
	}
	case LK_T_TIME: {
		int64_t v = LK_COL_VALUES(c, int64_t)[i];
		txt_time_of_day(o, t->unit == LK_UNIT_MILLIS ? v * 1000 : v);
		return;
	}
	default:
		return;
	}
}

static void
json_string(lk_buf *o, const uint8_t *p, size_t n)
{
	lk_buf_append_byte(o, '"');
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '"' || p[i] == '\\')
			lk_buf_printf(o, "\\%c", p[i]);
		else if (p[i] < 0x20)
			lk_buf_printf(o, "\\u%04x", p[i]);
		else
			lk_buf_append_byte(o, p[i]);
	}
	lk_buf_append_byte(o, '"');
}

/* Row i of column c as JSON whose leaves are strings (the text above). */
static void
json_value(lk_buf *o, const lk_column *c, int64_t i)
{
	const lk_type *t = c->type;
	if (lk_column_is_null(c, i)) {
		lk_buf_append_str(o, "null");
		return;
	}
	switch (t->id) {
	case LK_T_ARRAY:
		lk_buf_append_byte(o, '[');
		for (int64_t e = c->offsets[i]; e < c->offsets[i + 1]; e++) {
			if (e > c->offsets[i])
				lk_buf_append_byte(o, ',');
			json_value(o, &c->children[0], e);
		}
		lk_buf_append_byte(o, ']');
		return;
	case LK_T_MAP:
		lk_buf_append_byte(o, '{');
		for (int64_t e = c->offsets[i]; e < c->offsets[i + 1]; e++) {
			if (e > c->offsets[i])
				lk_buf_append_byte(o, ',');
			json_value(o, &c->children[0], e);
			lk_buf_append_byte(o, ':');
			json_value(o, &c->children[1], e);
		}
		lk_buf_append_byte(o, '}');
		return;
	case LK_T_STRUCT:
		lk_buf_append_byte(o, '{');
		for (int k = 0; k < t->nchildren; k++) {
			if (k)
				lk_buf_append_byte(o, ',');
			json_string(o, (const uint8_t *) t->children[k].name, strlen(t->children[k].name));
			lk_buf_append_byte(o, ':');
			json_value(o, &c->children[k], i);
		}
		lk_buf_append_byte(o, '}');
		return;
	default: {
		lk_buf tmp = LK_BUF_INIT;
		txt_scalar(&tmp, c, i);
		json_string(o, tmp.data, tmp.len);
		lk_buf_free(&tmp);
	}
	}
}

/* The same shape with every primitive as VARCHAR. */
static void
sql_text_type(lk_buf *o, const lk_type *t)
{
	switch (t->id) {
	case LK_T_ARRAY:
		sql_text_type(o, t->children[0].type);
		lk_buf_append_str(o, "[]");
		return;
	case LK_T_MAP:
		lk_buf_append_str(o, "MAP(VARCHAR, ");
		sql_text_type(o, t->children[1].type);
		lk_buf_append_str(o, ")");
		return;
	case LK_T_STRUCT:
		lk_buf_append_str(o, "STRUCT(");
		for (int i = 0; i < t->nchildren; i++) {
			lk_buf_printf(o, "%s\"%s\" ", i ? ", " : "", t->children[i].name);
			sql_text_type(o, t->children[i].type);
		}
		lk_buf_append_str(o, ")");
		return;
	default:
		lk_buf_append_str(o, "VARCHAR");
	}
}

/*
 * Expected rows as CSV (every field quoted text, \N for NULL; nested values
 * as JSON with string leaves), and the SELECT that reads it back typed the
 * way DuckDB types our file. "@CSV@" in the SQL stands for the CSV's path.
 */
static void
expected_rows(lk_buf *csv, lk_buf *sql, const lk_type *s, lk_batch **b, int nb)
{
	for (int c = 0; c < s->nchildren; c++)
		lk_buf_printf(csv, "%sc%d", c ? "," : "", c);
	lk_buf_append_byte(csv, '\n');
	lk_buf field = LK_BUF_INIT;
	for (int k = 0; k < nb; k++)
		for (int64_t i = 0; i < b[k]->nrows; i++) {
			for (int c = 0; c < b[k]->ncols; c++) {
				const lk_column *col = &b[k]->cols[c];
				if (c)
					lk_buf_append_byte(csv, ',');
				if (lk_column_is_null(col, i)) {
					lk_buf_append_str(csv, "\\N");
					continue;
				}
				lk_buf_reset(&field);
				if (lk_type_is_nested(col->type))
					json_value(&field, col, i);
				else
					txt_scalar(&field, col, i);
				lk_buf_append_byte(csv, '"');
				for (size_t j = 0; j < field.len; j++) {
					if (field.data[j] == '"')
						lk_buf_append_byte(csv, '"');
					lk_buf_append_byte(csv, field.data[j]);
				}
				lk_buf_append_byte(csv, '"');
			}
			lk_buf_append_byte(csv, '\n');
		}
	lk_buf_free(&field);

	lk_buf_append_str(sql, "SELECT ");
	for (int c = 0; c < s->nchildren; c++) {
		const lk_type *t = s->children[c].type;
		lk_buf_printf(sql, "%sCAST(", c ? ",\n  " : "");
		if (lk_type_is_nested(t)) {
			lk_buf_printf(sql, "CAST(CAST(c%d AS JSON) AS ", c);
			sql_text_type(sql, t);
			lk_buf_append_str(sql, ")");
		} else {
			lk_buf_printf(sql, "c%d", c);
		}
		lk_buf_append_str(sql, " AS ");
		sql_type(sql, t);
		lk_buf_printf(sql, ") AS \"%s\"", s->children[c].name);
	}
	lk_buf_append_str(sql, "\nFROM read_csv('@CSV@', header = true, auto_detect = false, "
					  "delim = ',', quote = '\"', escape = '\"', nullstr = '\\N', "
					  "allow_quoted_nulls = false, columns = {");
	for (int c = 0; c < s->nchildren; c++)
		lk_buf_printf(sql, "%s'c%d': 'VARCHAR'", c ? ", " : "", c);
	lk_buf_append_str(sql, "})\n");
}

static void
write_text(const char *path, const lk_buf *b)
{
	FILE *fp = fopen(path, "wb");
	cr_assert_not_null(fp, "could not create %s", path);
	cr_assert_eq(fwrite(b->data, 1, b->len, fp), b->len);
	cr_assert_eq(fclose(fp), 0);
}

static void
oracle_file(const char *dir, const char *name, const lk_type *s, lk_batch **b,
			int nb, const pq_writer_options *o)
{
	char path[4096];
	lk_buf f;
	write_mem(s, b, nb, o, &f, NULL, NULL);
	lk_arena a;
	lk_arena_init(&a, 0);
	pq_file_meta m;
	footer(&f, &a, &m);
	lk_arena_free(&a);
	snprintf(path, sizeof(path), "%s/%s.parquet", dir, name);
	write_text(path, &f);
	lk_buf_free(&f);
	lk_buf sql = LK_BUF_INIT, csv = LK_BUF_INIT;
	expected_rows(&csv, &sql, s, b, nb);
	snprintf(path, sizeof(path), "%s/%s.sql", dir, name);
	write_text(path, &sql);
	snprintf(path, sizeof(path), "%s/%s.csv", dir, name);
	write_text(path, &csv);
	lk_buf_free(&csv);
	lk_buf_free(&sql);
}

static lk_type *
subset(lk_arena *a, const lk_type *s, const int *idx, int n)
{
	lk_type *t = lk_type_struct(a, n);
	for (int i = 0; i < n; i++)
		t->children[i] = s->children[idx[i]];
	return t;
}

static void
remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char path[4096];
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	closedir(d);
	rmdir(dir);
}

Test(writer_oracle, files, .timeout = 120)
{
	const char *env = getenv("LAKESYNC_WRITER_OUT");
	char tmp[] = "/tmp/lk_test_writer_oracle_XXXXXX";
	const char *dir = env;
	if (!dir || !*dir) {
		cr_assert_not_null(mkdtemp(tmp));
		dir = tmp;
	} else if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		cr_assert_fail("could not create %s", dir);
	}
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *fl = flat_schema(&a);
	lk_type *ns = nested_schema(&a);
	pq_writer_options o;

	/* every primitive type, defaults */
	lk_batch *b = gen_batch(fl, 0, 3000);
	pq_writer_options_init(&o);
	oracle_file(dir, "flat_default", fl, &b, 1, &o);
	/* same rows: v2 pages, snappy, no dictionary, small pages, row groups */
	o.data_page_version = 2;
	o.codec = PQ_CODEC_SNAPPY;
	o.dictionary = false;
	o.page_bytes = 3000;
	o.row_group_rows = 1000;
	oracle_file(dir, "flat_v2_snappy_plain", fl, &b, 1, &o);
	/* dictionary fallback, gzip, v1 */
	pq_writer_options_init(&o);
	o.codec = PQ_CODEC_GZIP;
	o.dictionary_limit = 600;
	o.page_bytes = 5000;
	oracle_file(dir, "flat_fallback_gzip", fl, &b, 1, &o);
	lk_batch_free(b);

	/* nested shapes (and a string column, for statistics): defaults, then
	 * tiny pages + v2 + lz4 + row groups, then dictionary fallback */
	lk_type *nss = lk_type_struct(&a, ns->nchildren + 1);
	nss->children[0] = fl->children[16];
	for (int i = 0; i < ns->nchildren; i++)
		nss->children[i + 1] = ns->children[i];
	ns = nss;
	lk_batch *nb[2] = {gen_batch(ns, 0, 1500), gen_batch(ns, 1500, 700)};
	pq_writer_options_init(&o);
	oracle_file(dir, "nested_default", ns, nb, 2, &o);
	o.data_page_version = 2;
	o.codec = PQ_CODEC_LZ4_RAW;
	o.page_bytes = 100;
	o.row_group_rows = 800;
	oracle_file(dir, "nested_tiny_pages_v2_lz4", ns, nb, 2, &o);
	pq_writer_options_init(&o);
	o.codec = PQ_CODEC_BROTLI;
	o.dictionary_limit = 300;
	oracle_file(dir, "nested_fallback_brotli", ns, nb, 2, &o);
	lk_batch_free(nb[0]);
	lk_batch_free(nb[1]);

	/* larger: the dictionary probe (unique values) and kept dictionaries */
	const int cols[] = {5, 7, 10, 13, 16, 19, 27};
	lk_type *sub = subset(&a, fl, cols, 7);
	b = gen_batch(sub, 0, 30000);
	pq_writer_options_init(&o);
	o.codec = PQ_CODEC_UNCOMPRESSED;
	oracle_file(dir, "larger_uncompressed", sub, &b, 1, &o);
	lk_batch_free(b);

	/* the files are there and parse */
	DIR *d = opendir(dir);
	cr_assert_not_null(d);
	int nfiles = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		nfiles += strstr(e->d_name, ".parquet") != NULL;
	closedir(d);
	cr_assert_eq(nfiles, 7);
	if (dir == tmp)
		remove_dir(tmp);
	lk_arena_free(&a);
}
