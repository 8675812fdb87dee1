/*
 * writer.h — creating Delta tables and writing (and reading back) their data
 * files (prefix `dl_`).
 *
 * Data files are `[<col>=<value>/...]part-<5-digit index>-<uuid>.c000.<codec>
 * .parquet` under the table root (Hive-style partition directories, values
 * escaped as Hive does, then the add path URI-encoded), written through the
 * store with put-if-absent and fsynced before their add action joins the
 * commit.  Every add carries stats {"numRecords", "minValues", "maxValues",
 * "nullCount"} built from the Parquet writer's column statistics.
 *
 * Row deletes are deferred to dl_commit_run (one deletion-vector file for
 * the whole commit; copy-on-write rewrite when the table has no deletion
 * vectors); tables with Change Data Feed get `_change_data/` files.
 *
 * Strings of everything returned live in the arena named, or the commit's.
 */
#ifndef DL_WRITER_H
#define DL_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/error.h"
#include "delta/actions.h"
#include "delta/commit.h"
#include "delta/dv.h"
#include "delta/schema.h"
#include "parquet/parquet.h"
#include "storage/storage.h"

/* ---- table creation ------------------------------------------------------- */

typedef struct dl_table_options {
	const char *name;           /* metaData.name, may be NULL */
	const char *description;
	const char *const *partition_columns;   /* logical names, in order */
	int npartition_columns;
	bool change_data_feed;      /* delta.enableChangeDataFeed = true */
	bool append_only;           /* delta.appendOnly = true */
	bool deletion_vectors;      /* delta.enableDeletionVectors = true */
	bool in_commit_timestamps;  /* delta.enableInCommitTimestamps = true */
	int64_t checkpoint_interval;/* delta.checkpointInterval, 0 = not set */
	const dl_kv *configuration; /* more table properties */
	int nconfiguration;
	int64_t clock_ms;           /* creation time; 0 = now */
} dl_table_options;

void dl_table_options_init(dl_table_options *o);

/* The protocol and metaData of a new table: protocol (1,2) when no table
 * feature is needed, (1,7) for writer-only features (appendOnly,
 * changeDataFeed, inCommitTimestamp), (3,7) with readerFeatures when
 * deletionVectors or timestampNtz (a timestamp_ntz column at any depth) is
 * needed.  metaData.id is a random UUID v4.  Strings in arena a. */
bool dl_table_make_actions(const lk_type *schema, const dl_table_options *o,
						   lk_arena *a, dl_protocol *p, dl_metadata *m,
						   lk_error *err);

/* Create the table: version 0 (commitInfo, protocol, metaData) with
 * put-if-absent. LK_ERR_CONFLICT when the table already exists. */
bool dl_table_create(st_store *st, const lk_type *schema,
					 const dl_table_options *o, lk_error *err);

/* ---- layout: logical schema vs data files --------------------------------- */

typedef struct dl_layout {
	const lk_type *logical;     /* table schema, logical names */
	const lk_type *physical;    /* same shape, physical names and field ids */
	const lk_type *data;        /* physical, without partition columns: the
								 * schema of data files */
	dl_column_mapping cm;
	int ndata;
	int *data_index;            /* logical index of data column i */
	int npart;
	int *part_index;            /* logical index of partition column i */
	const char **part_key;      /* its partitionValues key (physical name) */
} dl_layout;

/* Build from a parsed schema, the column-mapping mode and the partition
 * columns (logical names). In arena a. */
bool dl_layout_make(const dl_schema *s, dl_column_mapping cm,
					const dl_strings *partition_columns, lk_arena *a,
					dl_layout *out, lk_error *err);

/* The layout of the table a commit writes (LK_ERR_INVALID without a
 * schema). In the commit's arena. */
bool dl_commit_layout(dl_commit *c, const dl_layout **out, lk_error *err);

/* ---- partition values ----------------------------------------------------- */

/* Delta's serialized partition value of row i of a primitive column, or
 * NULL for null (and for an empty string, as Spark does). In arena a. */
const char *dl_partition_value_format(const lk_column *col, int64_t i,
									  lk_arena *a);
/* (The inverse, dl_partition_value_append, is in scan.h.) */
/* Hive path escaping of a partition directory component into b. */
void dl_hive_escape(lk_buf *b, const char *s);

/* ---- stats ----------------------------------------------------------------- */

/* add.stats of a written file: numRecords, minValues, maxValues, nullCount,
 * keys the file's (physical) column names, nested structs as nested objects
 * (arrays and maps are left out). nan[i] marks leaf i (Parquet leaf order)
 * as holding a NaN: its min/max are left out. Only the first max_columns
 * columns get stats (leaf fields in schema order, an array or map counting
 * as one; the table property delta.dataSkippingNumIndexedCols, default 32;
 * -1 = all). Timestamps as ISO strings in
 * milliseconds, min rounded down and max up; strings as the Parquet writer
 * truncated them (max bumped, or left out); decimals as exact JSON numbers;
 * booleans and binary only get nullCount. In arena a. */
char *dl_stats_json(const pq_file_info *info, const lk_type *file_schema,
					const bool *nan, int max_columns, lk_arena *a);

/* add.stats of a file that gets a deletion vector: its bounds stay valid but
 * may no longer be tight, so "tightBounds" becomes false (added when absent).
 * Returns a new string in arena a, or stats itself when it already says
 * "tightBounds" is not true; NULL when stats is NULL or not an object. */
const char *dl_stats_loosen(const char *stats, lk_arena *a);

/* ---- writing data files ----------------------------------------------------- */

typedef struct dl_write_options {
	pq_codec codec;             /* default ZSTD */
	int compression_level;
	int64_t row_group_rows;     /* 0 = Parquet writer default */
	int64_t max_file_rows;      /* roll to a new file after this many; 0 = no limit */
	bool data_change;           /* add.dataChange, default true */
	bool cdc_covered;           /* CDF: the caller writes these rows' changes
								 * itself (dl_cdc_write) */
	bool cdc_batch;             /* batches carry a trailing "_change_type"
								 * string column: write change-data files */
	const char *change_type;    /* write change-data files with this constant
								 * _change_type (internal; NULL) */
} dl_write_options;

void dl_write_options_init(dl_write_options *o);

typedef struct dl_data_writer dl_data_writer;

/* Batches in the table's logical schema (every column, table order). Rows
 * are split by partition values; files are added to `c` on close. */
dl_data_writer *dl_data_writer_open(dl_commit *c, const dl_write_options *o,
									lk_error *err);
/* Batches in the layout's data schema (no partition columns), all in the
 * partition `pv` (physical keys; NULL = unpartitioned). */
dl_data_writer *dl_data_writer_open_partition(dl_commit *c,
											  const dl_write_options *o,
											  const dl_map *pv, lk_error *err);
bool dl_data_writer_write(dl_data_writer *w, const lk_batch *b, lk_error *err);
/* Finish every file (fsync + publish) and add its action to the commit. */
bool dl_data_writer_close(dl_data_writer *w, lk_error *err);
/* Release; files not closed are discarded. */
void dl_data_writer_free(dl_data_writer *w);

/* open + write + close. */
bool dl_write_batch(dl_commit *c, const lk_batch *b, const dl_write_options *o,
					lk_error *err);

/* Change-data rows written by the caller (update pre/post images): batch =
 * table columns + trailing "_change_type" string column. */
bool dl_cdc_write(dl_commit *c, const lk_batch *b, lk_error *err);

/* ---- removing files and rows --------------------------------------------------- */

/* The remove action of an active file f (its add as in the snapshot) into
 * out: deletionTimestamp `now` (ms since the epoch), extended file metadata
 * (partitionValues, size, tags), f's deletion vector and row-tracking
 * fields. out points into f (path, maps, deletion vector), not copies:
 * keep f alive until the action is added to a commit, which copies it. */
void dl_remove_action(const dl_add *f, bool data_change, int64_t now, dl_action *out);

/* Remove an active file (its add as in the snapshot). */
bool dl_remove_file(dl_commit *c, const dl_add *file, bool data_change,
					lk_error *err);

/* Delete rows (0-based row positions in the data file) of an active file.
 * Deferred to dl_commit_run: a union with the file's existing deletion
 * vector goes to one DV file for the commit, with a remove of the old
 * (path, DV) pair and an add carrying the new DV; a file whose rows are all
 * deleted is removed; without deletion vectors the file is rewritten.
 * Marks the commit as reading data. Rows beyond numRecords are refused. */
bool dl_delete_rows(dl_commit *c, const dl_add *file, const uint64_t *rows,
					size_t n, lk_error *err);
/* The same, for a caller that writes these rows' change data itself
 * (dl_cdc_write: e.g. update pre-images): no "delete" change rows are
 * written for the file (also when all its rows end up deleted and it is
 * removed).  Not to be combined with dl_remove_file on the same file. */
bool dl_delete_rows_covered(dl_commit *c, const dl_add *file,
							const uint64_t *rows, size_t n, lk_error *err);

/* ---- reading data files back ---------------------------------------------------- */

/* Called once per row group with the surviving rows (never 0 rows). The
 * batch is valid only during the call. */
typedef bool (*dl_rows_fn)(void *ctx, const lk_batch *b, lk_error *err);

/* Read data file `path` (decoded store path) into batches of l->data:
 * columns matched by physical name (field id in id mode), missing columns
 * as nulls, widened types converted; rows in `deleted` skipped; when `only`
 * is not NULL only rows in it kept. */
bool dl_data_file_read(st_store *st, const dl_layout *l, const char *path,
					   const dl_bitmap *deleted, const dl_bitmap *only,
					   dl_rows_fn fn, void *ctx, lk_error *err);

#endif
