/*
 * maintenance.h — checkpoints, OPTIMIZE (compaction) and VACUUM of Delta
 * tables (prefix `dl_`).
 *
 * Checkpoint: one classic Parquet file `_delta_log/<v>.checkpoint.parquet`
 * (the standard checkpoint schema: txn, add, remove, metaData, protocol,
 * domainMetadata struct columns, one action per row), published with
 * put-if-absent, then `_delta_log/_last_checkpoint` replaced atomically.
 *
 * Optimize: per partition, bins of small files (< target size) and files
 * with deletion vectors are rewritten into files of about the target size,
 * deleted rows dropped; one commit of dataChange=false removes and adds.
 *
 * Vacuum: deletes files of the table directory that no version within the
 * retention period references, older than the retention period. Never
 * touches _delta_log.
 */
#ifndef DL_MAINTENANCE_H
#define DL_MAINTENANCE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/error.h"
#include "delta/log.h"
#include "storage/storage.h"

/* ---- checkpoints ---------------------------------------------------------- */

typedef struct dl_checkpoint_result {
	int64_t version;
	int64_t size;               /* actions (rows) in the checkpoint */
	int64_t size_in_bytes;      /* file size */
	int64_t num_add_files;
	bool existed;               /* another writer had written it already */
} dl_checkpoint_result;

/* Write the checkpoint of `version` (-1: latest) from the snapshot at that
 * version. An existing checkpoint of that version is kept (res->existed).
 * Tombstones older than delta.deletedFileRetentionDuration (default one
 * week) are dropped. _last_checkpoint is only moved forward. */
bool dl_checkpoint_write(st_store *st, int64_t version, dl_checkpoint_result *res,
						 lk_error *err);

/* Same from an open snapshot (must be of `st`). */
bool dl_checkpoint_write_snapshot(const dl_snapshot *s, dl_checkpoint_result *res,
								  lk_error *err);

/* ---- optimize ----------------------------------------------------------- */

typedef struct dl_optimize_options {
	int64_t target_size;        /* bytes; default 128 MiB */
	int64_t min_files;          /* files per bin worth compacting; default 2
								 * (a file with a deletion vector is always
								 * rewritten) */
	bool dry_run;               /* plan only */
	int max_attempts;           /* commit attempts; default 1000 */
} dl_optimize_options;

void dl_optimize_options_init(dl_optimize_options *o);

typedef struct dl_optimize_result {
	int64_t version;            /* new version, -1 when nothing was done */
	int64_t files_removed;
	int64_t files_added;
	int64_t bytes_removed;
	int64_t bytes_added;
	int64_t partitions;         /* partitions touched */
	int64_t rows_dropped;       /* rows removed by deletion vectors purged */
} dl_optimize_result;

bool dl_optimize(st_store *st, const dl_optimize_options *o,
				 dl_optimize_result *res, lk_error *err);

/* ---- vacuum -------------------------------------------------------------- */

typedef struct dl_vacuum_options {
	int64_t retention_ms;       /* -1: delta.deletedFileRetentionDuration,
								 * default 7 days */
	bool dry_run;               /* list, delete nothing */
	bool force;                 /* allow a retention shorter than the table's
								 * delta.deletedFileRetentionDuration */
	int64_t now_ms;             /* 0: the wall clock (tests set it) */
	/* called for every file deleted (or, dry run, to be deleted) */
	void (*on_file)(void *ctx, const char *path, uint64_t size);
	void *ctx;
} dl_vacuum_options;

void dl_vacuum_options_init(dl_vacuum_options *o);

typedef struct dl_vacuum_result {
	int64_t files_deleted;      /* or to delete, dry run */
	int64_t bytes_deleted;
	int64_t dirs_deleted;
	int64_t files_kept;         /* unreferenced but younger than retention */
} dl_vacuum_result;

bool dl_vacuum(st_store *st, const dl_vacuum_options *o, dl_vacuum_result *res,
			   lk_error *err);

#endif
