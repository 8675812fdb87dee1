/*
 * parquet.h — the Parquet codec's public API: batches in, files out, and
 * files in, batches out.  Prefix `pq_`.  Depends on src/common only.
 *
 * I/O goes through two tiny interfaces so the codec can sit on a local
 * file, a memory buffer, or (later) an object store.
 */
#ifndef PQ_PARQUET_H
#define PQ_PARQUET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/batch.h"
#include "common/error.h"
#include "common/types.h"

/* ---- I/O --------------------------------------------------------------- */

/* Random-access input. read_at reads exactly n bytes at off into buf, or
 * fails (a short file is an error, reported with the offset). */
typedef struct pq_input {
	void *ctx;
	uint64_t size;
	const char *name;   /* for messages: file path or "<memory>" */
	bool (*read_at)(void *ctx, uint64_t off, void *buf, size_t n, lk_error *err);
	void (*close)(void *ctx);
} pq_input;

/* Open a local file for reading. Caller closes with pq_input_close(). */
bool pq_input_open_file(pq_input *in, const char *path, lk_error *err);
/* Wrap memory (not copied; must outlive the input). */
void pq_input_from_memory(pq_input *in, const void *data, size_t len,
						  const char *name);
void pq_input_close(pq_input *in);

/* Sequential output. */
typedef struct pq_output {
	void *ctx;
	const char *name;
	bool (*write)(void *ctx, const void *buf, size_t n, lk_error *err);
	/* flush + fsync when `durable`, then release; may be NULL */
	bool (*close)(void *ctx, bool durable, lk_error *err);
} pq_output;

/* Create (truncate) a local file. */
bool pq_output_open_file(pq_output *out, const char *path, lk_error *err);

/* ---- Writer ------------------------------------------------------------ */

typedef enum pq_codec {
	PQ_CODEC_UNCOMPRESSED = 0,
	PQ_CODEC_SNAPPY = 1,
	PQ_CODEC_GZIP = 2,
	PQ_CODEC_BROTLI = 4,
	PQ_CODEC_ZSTD = 6,
	PQ_CODEC_LZ4_RAW = 7,
} pq_codec;

/* Parse "zstd", "snappy", "gzip", "lz4_raw" (or "lz4"), "brotli",
 * "none"/"uncompressed". */
bool pq_codec_parse(const char *name, pq_codec *out);
const char *pq_codec_name(pq_codec c);

typedef struct pq_kv {
	const char *key;
	const char *value;   /* may be NULL */
} pq_kv;

typedef struct pq_writer_options {
	pq_codec codec;              /* default ZSTD */
	int compression_level;       /* 0 = codec default (zstd 3) */
	int64_t row_group_rows;      /* default 1,048,576 rows */
	int64_t row_group_bytes;     /* default 128 MiB (uncompressed estimate) */
	int64_t page_bytes;          /* default 1 MiB */
	bool dictionary;             /* default true */
	int64_t dictionary_limit;    /* default 1 MiB of dictionary: then PLAIN */
	int data_page_version;       /* 1 (default) or 2 */
	int64_t stats_truncate;      /* max bytes of string min/max, default 64 */
	const pq_kv *metadata;       /* key/value metadata of the file */
	int nmetadata;
	const char *created_by;      /* default "lakesync version X" */
} pq_writer_options;

/* Defaults as documented above. */
void pq_writer_options_init(pq_writer_options *o);

/* Column statistics of a finished file, for Delta's add.stats. min/max are
 * kept only for top-level primitive columns and as the batch type's value
 * (decimal: __int128; string: truncated bytes, see truncated flags). */
typedef struct pq_column_stats {
	const char *path;            /* dotted path of the leaf, e.g. "a.b" */
	int64_t null_count;
	int64_t num_values;          /* leaf values incl. nulls */
	bool has_min_max;
	const lk_type *type;
	union { int64_t i; double d; lk_int128 dec; } min, max;
	const uint8_t *min_bytes, *max_bytes;   /* string/binary */
	int64_t min_len, max_len;
	bool max_truncated;          /* max was truncated (and bumped) */
} pq_column_stats;

typedef struct pq_file_info {
	int64_t num_rows;
	int64_t file_size;
	int num_row_groups;
	int nstats;
	pq_column_stats *stats;      /* one per leaf column */
} pq_file_info;

typedef struct pq_writer pq_writer;

/* Start a file with `schema` (LK_T_STRUCT; must outlive the writer).
 * Takes ownership of `out` (closed by pq_writer_close/abort). */
pq_writer *pq_writer_open(pq_output *out, const lk_type *schema,
						  const pq_writer_options *opt, lk_error *err);
/* Append all rows of the batch; row groups are cut by the options. */
bool pq_writer_write(pq_writer *w, const lk_batch *batch, lk_error *err);
/* End the current row group now (if it has rows). */
bool pq_writer_flush_row_group(pq_writer *w, lk_error *err);
/* Write the footer, close the output (fsync when durable). Fills info (if
 * not NULL; owned by the writer until pq_writer_free). */
bool pq_writer_close(pq_writer *w, bool durable, pq_file_info *info,
					 lk_error *err);
/* Release everything; after close, or to abandon a file. */
void pq_writer_free(pq_writer *w);

/* ---- Reader ------------------------------------------------------------ */

typedef struct pq_reader pq_reader;

/* Read the footer and schema (footer-only: no data page is read).
 * Takes ownership of `in`: closed by pq_reader_free(), or here on failure. */
pq_reader *pq_reader_open(pq_input *in, lk_error *err);
void pq_reader_free(pq_reader *r);

/* The file's logical schema (LK_T_STRUCT), owned by the reader. Field ids
 * from the file are in lk_field.field_id. */
const lk_type *pq_reader_schema(const pq_reader *r);
int64_t pq_reader_num_rows(const pq_reader *r);
int pq_reader_num_row_groups(const pq_reader *r);
int64_t pq_reader_row_group_rows(const pq_reader *r, int rg);
/* Key/value metadata of the file (owned by the reader). */
int pq_reader_metadata(const pq_reader *r, const pq_kv **kv);
const char *pq_reader_created_by(const pq_reader *r);

/* Project top-level columns by name (NULL/0 = all). Unknown names fail
 * with LK_ERR_NOT_FOUND naming the column. */
bool pq_reader_project(pq_reader *r, const char *const *names, int n,
					   lk_error *err);
/* Project by field id: a column whose field_id is ids[i]; missing ids
 * yield all-null columns of type types[i] named names[i] (Delta column
 * mapping id mode). */
bool pq_reader_project_ids(pq_reader *r, const int32_t *ids,
						   const char *const *names, const lk_type *const *types,
						   int n, lk_error *err);
/* Schema of what pq_reader_read_row_group returns (the projection). */
const lk_type *pq_reader_output_schema(const pq_reader *r);

/* Decode row group rg into out (reset first; out must have been made with
 * lk_batch_new(pq_reader_output_schema(r))). Memory is bounded by one row
 * group of the projected columns. */
bool pq_reader_read_row_group(pq_reader *r, int rg, lk_batch *out,
							  lk_error *err);
/* Only rows rows[0..n) of row group rg (ascending, distinct, below its row
 * count) into out (as above; out->nrows = n, in that order).  Data pages of
 * top-level unrepeated primitive columns without one of the rows are not
 * decompressed. */
bool pq_reader_read_row_group_rows(pq_reader *r, int rg, const int64_t *rows,
								   int64_t n, lk_batch *out, lk_error *err);

#endif
