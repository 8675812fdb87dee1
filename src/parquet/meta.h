/*
 * meta.h — Parquet file metadata (parquet.thrift) as C structs, decoded
 * from and encoded to the Thrift compact protocol.  Internal to the codec.
 *
 * Field numbers follow apache/parquet-format src/main/thrift/parquet.thrift.
 * Optional fields have a has_* flag.  Decoded structs, lists and strings
 * live in the arena passed to the decoder; strings are NUL-terminated
 * copies (binary min/max are not NUL-terminated: use the *_len fields).
 * Unknown fields are skipped; a struct nested deeper than 64 levels, a list
 * longer than the remaining bytes, or a length past the end is an error
 * naming the byte offset.
 */
#ifndef PQ_META_H
#define PQ_META_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"

typedef enum {
	PQ_BOOLEAN = 0, PQ_INT32 = 1, PQ_INT64 = 2, PQ_INT96 = 3,
	PQ_FLOAT = 4, PQ_DOUBLE = 5, PQ_BYTE_ARRAY = 6, PQ_FIXED_LEN_BYTE_ARRAY = 7,
} pq_physical_type;

typedef enum {
	PQ_CT_UTF8 = 0, PQ_CT_MAP = 1, PQ_CT_MAP_KEY_VALUE = 2, PQ_CT_LIST = 3,
	PQ_CT_ENUM = 4, PQ_CT_DECIMAL = 5, PQ_CT_DATE = 6, PQ_CT_TIME_MILLIS = 7,
	PQ_CT_TIME_MICROS = 8, PQ_CT_TIMESTAMP_MILLIS = 9,
	PQ_CT_TIMESTAMP_MICROS = 10, PQ_CT_UINT_8 = 11, PQ_CT_UINT_16 = 12,
	PQ_CT_UINT_32 = 13, PQ_CT_UINT_64 = 14, PQ_CT_INT_8 = 15,
	PQ_CT_INT_16 = 16, PQ_CT_INT_32 = 17, PQ_CT_INT_64 = 18, PQ_CT_JSON = 19,
	PQ_CT_BSON = 20, PQ_CT_INTERVAL = 21,
} pq_converted_type;

typedef enum { PQ_REQUIRED = 0, PQ_OPTIONAL = 1, PQ_REPEATED = 2 } pq_repetition;

typedef enum {
	PQ_ENC_PLAIN = 0, PQ_ENC_PLAIN_DICTIONARY = 2, PQ_ENC_RLE = 3,
	PQ_ENC_BIT_PACKED = 4, PQ_ENC_DELTA_BINARY_PACKED = 5,
	PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6, PQ_ENC_DELTA_BYTE_ARRAY = 7,
	PQ_ENC_RLE_DICTIONARY = 8, PQ_ENC_BYTE_STREAM_SPLIT = 9,
} pq_encoding;

/* CompressionCodec values are pq_codec in parquet.h, plus: */
enum { PQ_CODEC_LZO = 3, PQ_CODEC_LZ4_HADOOP = 5 };

typedef enum {
	PQ_PAGE_DATA = 0, PQ_PAGE_INDEX = 1, PQ_PAGE_DICTIONARY = 2,
	PQ_PAGE_DATA_V2 = 3,
} pq_page_type;

/* LogicalType union member (field id in parquet.thrift). */
typedef enum {
	PQ_LT_NONE = 0, PQ_LT_STRING = 1, PQ_LT_MAP = 2, PQ_LT_LIST = 3,
	PQ_LT_ENUM = 4, PQ_LT_DECIMAL = 5, PQ_LT_DATE = 6, PQ_LT_TIME = 7,
	PQ_LT_TIMESTAMP = 8, PQ_LT_INTEGER = 10, PQ_LT_UNKNOWN = 11,
	PQ_LT_JSON = 12, PQ_LT_BSON = 13, PQ_LT_UUID = 14, PQ_LT_FLOAT16 = 15,
	PQ_LT_VARIANT = 16, PQ_LT_GEOMETRY = 17, PQ_LT_GEOGRAPHY = 18,
	PQ_LT_OTHER = 99,   /* a member this codec does not know */
} pq_logical_kind;

typedef enum { PQ_UNIT_MILLIS = 1, PQ_UNIT_MICROS = 2, PQ_UNIT_NANOS = 3 } pq_time_unit;

typedef struct pq_logical_type {
	pq_logical_kind kind;
	int32_t scale, precision;        /* DECIMAL */
	bool is_adjusted_to_utc;         /* TIME, TIMESTAMP */
	pq_time_unit unit;               /* TIME, TIMESTAMP */
	int8_t bit_width;                /* INTEGER */
	bool is_signed;                  /* INTEGER */
} pq_logical_type;

typedef struct pq_statistics {
	bool has_max, has_min, has_null_count, has_distinct_count;
	bool has_max_value, has_min_value;
	bool has_is_max_value_exact, has_is_min_value_exact;
	const uint8_t *max, *min;        /* deprecated fields 1, 2 */
	int32_t max_len, min_len;
	int64_t null_count;
	int64_t distinct_count;
	const uint8_t *max_value, *min_value;   /* fields 5, 6 */
	int32_t max_value_len, min_value_len;
	bool is_max_value_exact, is_min_value_exact;
} pq_statistics;

typedef struct pq_schema_element {
	bool has_type, has_type_length, has_repetition, has_num_children;
	bool has_converted_type, has_scale, has_precision, has_field_id;
	bool has_logical_type;
	pq_physical_type type;
	int32_t type_length;
	pq_repetition repetition;
	const char *name;
	int32_t num_children;
	pq_converted_type converted_type;
	int32_t scale, precision;
	int32_t field_id;
	pq_logical_type logical_type;
} pq_schema_element;

typedef struct pq_key_value {
	const char *key;
	const char *value;               /* NULL when absent */
} pq_key_value;

typedef struct pq_data_page_header {
	int32_t num_values;
	pq_encoding encoding;
	pq_encoding definition_level_encoding;
	pq_encoding repetition_level_encoding;
	bool has_statistics;
	pq_statistics statistics;
} pq_data_page_header;

typedef struct pq_dictionary_page_header {
	int32_t num_values;
	pq_encoding encoding;
	bool has_is_sorted;
	bool is_sorted;
} pq_dictionary_page_header;

typedef struct pq_data_page_header_v2 {
	int32_t num_values;
	int32_t num_nulls;
	int32_t num_rows;
	pq_encoding encoding;
	int32_t definition_levels_byte_length;
	int32_t repetition_levels_byte_length;
	bool is_compressed;              /* default true when absent */
	bool has_statistics;
	pq_statistics statistics;
} pq_data_page_header_v2;

typedef struct pq_page_header {
	pq_page_type type;
	int32_t uncompressed_page_size;
	int32_t compressed_page_size;
	bool has_crc;
	int32_t crc;
	bool has_data_page_header, has_dictionary_page_header;
	bool has_data_page_header_v2, has_index_page_header;
	pq_data_page_header data_page_header;
	pq_dictionary_page_header dictionary_page_header;
	pq_data_page_header_v2 data_page_header_v2;
} pq_page_header;

typedef struct pq_page_encoding_stats {
	pq_page_type page_type;
	pq_encoding encoding;
	int32_t count;
} pq_page_encoding_stats;

typedef struct pq_column_meta {
	pq_physical_type type;
	int32_t nencodings;
	pq_encoding *encodings;
	int32_t npath;
	const char **path_in_schema;
	int32_t codec;                   /* pq_codec or PQ_CODEC_LZO/LZ4_HADOOP */
	int64_t num_values;
	int64_t total_uncompressed_size;
	int64_t total_compressed_size;
	int32_t nkv;
	pq_key_value *kv;
	int64_t data_page_offset;
	bool has_index_page_offset, has_dictionary_page_offset;
	int64_t index_page_offset;
	int64_t dictionary_page_offset;
	bool has_statistics;
	pq_statistics statistics;
	int32_t nencoding_stats;
	pq_page_encoding_stats *encoding_stats;
	bool has_bloom_filter_offset, has_bloom_filter_length;
	int64_t bloom_filter_offset;
	int32_t bloom_filter_length;
} pq_column_meta;

typedef struct pq_column_chunk {
	const char *file_path;           /* NULL when absent */
	int64_t file_offset;
	bool has_meta_data;
	pq_column_meta meta_data;
	bool has_offset_index, has_column_index;
	int64_t offset_index_offset;
	int32_t offset_index_length;
	int64_t column_index_offset;
	int32_t column_index_length;
	bool has_crypto_metadata;        /* encrypted columns are refused */
} pq_column_chunk;

typedef struct pq_sorting_column {
	int32_t column_idx;
	bool descending;
	bool nulls_first;
} pq_sorting_column;

typedef struct pq_row_group {
	int32_t ncolumns;
	pq_column_chunk *columns;
	int64_t total_byte_size;
	int64_t num_rows;
	int32_t nsorting_columns;
	pq_sorting_column *sorting_columns;
	bool has_file_offset, has_total_compressed_size, has_ordinal;
	int64_t file_offset;
	int64_t total_compressed_size;
	int16_t ordinal;
} pq_row_group;

typedef struct pq_file_meta {
	int32_t version;
	int32_t nschema;
	pq_schema_element *schema;       /* depth-first, root first */
	int64_t num_rows;
	int32_t nrow_groups;
	pq_row_group *row_groups;
	int32_t nkv;
	pq_key_value *kv;
	const char *created_by;          /* NULL when absent */
	int32_t ncolumn_orders;          /* TYPE_ORDER entries (others: 0) */
	bool has_encryption_algorithm;   /* encrypted footers are refused */
} pq_file_meta;

/*
 * Decoders: parse exactly one struct from data[0..len) into *out, allocating
 * from arena. `base` is data's absolute offset in the file (for messages).
 * *consumed (if not NULL) receives the bytes used: a page header is followed
 * by the page, so trailing bytes are allowed; callers check them where the
 * layout says the struct ends.
 */
bool pq_meta_read_file_meta(const uint8_t *data, size_t len, uint64_t base,
							lk_arena *arena, pq_file_meta *out, size_t *consumed,
							lk_error *err);
bool pq_meta_read_page_header(const uint8_t *data, size_t len, uint64_t base,
							  lk_arena *arena, pq_page_header *out,
							  size_t *consumed, lk_error *err);

/* Encoders: append the struct in the compact protocol to out. Writers set
 * only the fields they use; has_* flags decide what optional fields appear.
 * Deterministic: the same struct gives the same bytes. */
void pq_meta_write_file_meta(lk_buf *out, const pq_file_meta *m);
void pq_meta_write_page_header(lk_buf *out, const pq_page_header *h);

#endif
