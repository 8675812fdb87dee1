/*
 * pkindex.h — primary-key index for mirror mode (DESIGN §3 "mirror"),
 * prefix `sy_pkindex_`.  Not wired into the capture pipeline yet.
 *
 * Maps the canonical bytes of a row's primary key to where the row lives
 * in the Delta table: (file id, row index in that file).  A file table maps
 * file id ⇄ the Delta `add` path.  An UPDATE/DELETE looks its key up to
 * know which (file, row) to mark in a deletion vector.
 *
 *   sy_pkindex_key_from_row   PK columns of one row → canonical key bytes
 *   sy_pkindex_file_id        path → file id (added when new)
 *   sy_pkindex_put/get/delete one key
 *   sy_pkindex_remove_file    every entry of a file disappears (O(1): the
 *                             file is marked dead, entries pointing at it
 *                             are ignored and dropped at the next merge)
 *   sy_pkindex_bulk_load      rebuild from a scan of the table
 *   sy_pkindex_save/open      persist in the index directory for a restart
 *
 * Memory: an open-addressing table (64-bit hash → value, key bytes in
 * chunks) of at most budget/4 of slots + budget/8 of key bytes; when full
 * it is sorted by (hash, key) and written as an immutable run file; runs
 * are merged size-tiered (4 runs of a level → 1 run of the next; a bulk
 * load merges all its runs once at the end).  Each run keeps in memory one
 * fence (first hash) per 4 KiB block and a bloom filter sized so all
 * blooms together stay near budget/4: a lookup reads at most one block per
 * run whose bloom answers "maybe" (two only when equal hashes straddle a
 * block boundary).  A block cache (budget/8, CLOCK) keeps recently read
 * blocks; a block's checksum is verified on its first read.
 * Runs store the full key, so different keys with the same 64-bit hash are
 * always told apart.
 *
 * Limits: a key is at most SY_PKINDEX_MAX_KEY bytes; file ids are never
 * reused (a removed file's path added again gets a new id); at most
 * 2^32 − 2 files.  Not thread-safe.
 */
#ifndef SY_PKINDEX_H
#define SY_PKINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/batch.h"
#include "common/buf.h"
#include "common/error.h"

#define SY_PKINDEX_MAX_KEY 2048
#define SY_PKINDEX_DEFAULT_BUDGET ((size_t) 64 << 20)

typedef struct sy_pkindex sy_pkindex;

typedef struct sy_pkindex_opts {
	size_t memory_budget;     /* bytes; 0 = SY_PKINDEX_DEFAULT_BUDGET, min 1 MiB */
	/* Test only: replaces the 64-bit key hash (e.g. to force collisions).
	 * Must be the same function for the life of the index and its saved
	 * files.  NULL = sy_pkindex_hash. */
	uint64_t (*hash_fn)(const void *key, size_t len);
} sy_pkindex_opts;

typedef struct sy_pkindex_loc {
	uint32_t file_id;
	uint64_t row;
	const char *path;         /* owned by the index, valid until it is closed */
} sy_pkindex_loc;

typedef struct sy_pkindex_stats {
	uint64_t mem_entries;     /* entries in the in-memory table */
	uint64_t run_entries;     /* entries in all runs (incl. shadowed) */
	int nruns;
	uint64_t flushes, merges;
	size_t mem_bytes;         /* memory held by the index structures */
	/* lookups in runs (since create/open) */
	uint64_t cache_hits;      /* run blocks found in the block cache */
	uint64_t cache_misses;    /* run blocks read from their file */
	uint64_t bloom_negatives; /* a run's bloom answered "absent" */
	uint64_t bloom_false_positives; /* "maybe", then not in that run */
} sy_pkindex_stats;

/* The default 64-bit hash of key bytes (fast, 128-bit multiply mixing). */
uint64_t sy_pkindex_hash(const void *key, size_t len);

/* Canonical key of row `row` of the ncols PK columns, appended to `out`
 * (reset first).  Per column: one tag byte (0 = null, else type id + 1),
 * then fixed-width values as little-endian bytes of the type's width
 * (floats: -0.0 → 0.0, every NaN → one NaN), strings/binary as uvarint
 * length + bytes.  Self-delimiting, so different tuples give different
 * bytes.  Nested types: LK_ERR_UNSUPPORTED. */
bool sy_pkindex_key_from_row(const lk_column *cols, int ncols, int64_t row,
							 lk_buf *out, lk_error *err);

/* A new empty index whose files live in `dir` (created if missing; an old
 * manifest and runs there are removed).  table_id = the Delta metaData id.
 * Caller frees with sy_pkindex_close(). */
sy_pkindex *sy_pkindex_create(const char *dir, const char *table_id,
							  const sy_pkindex_opts *opts, lk_error *err);

/* Open the index saved in `dir`; *version receives the Delta version it
 * was saved at (the caller rebuilds if it is not the table's version).
 * No saved index: LK_ERR_NOT_FOUND; damaged files: LK_ERR_CORRUPT.
 * Caller frees with sy_pkindex_close(). */
sy_pkindex *sy_pkindex_open(const char *dir, const sy_pkindex_opts *opts,
							int64_t *version, lk_error *err);

/* Free memory; run files not referenced by the saved manifest are deleted. */
void sy_pkindex_close(sy_pkindex *idx);

/* Table id given at create/open; owned by the index. */
const char *sy_pkindex_table_id(const sy_pkindex *idx);

/* Id of `path`, added when unknown (or when the known one was removed). */
bool sy_pkindex_file_id(sy_pkindex *idx, const char *path, uint32_t *id,
						lk_error *err);
/* Path of a file id, NULL if unknown; owned by the index. */
const char *sy_pkindex_file_path(const sy_pkindex *idx, uint32_t id);

/* Insert or overwrite. */
bool sy_pkindex_put(sy_pkindex *idx, const void *key, size_t len,
					uint32_t file_id, uint64_t row, lk_error *err);
/* *found = whether the key is present (in a live file); then *loc is set. */
bool sy_pkindex_get(sy_pkindex *idx, const void *key, size_t len,
					bool *found, sy_pkindex_loc *loc, lk_error *err);
/* Remove a key (a no-op for an absent key). */
bool sy_pkindex_delete(sy_pkindex *idx, const void *key, size_t len,
					   lk_error *err);
/* Every entry of the file disappears; its id is not reused. */
bool sy_pkindex_remove_file(sy_pkindex *idx, uint32_t file_id, lk_error *err);

/* Flush memory and merge every run into one, dropping deleted entries,
 * entries of removed files and shadowed versions (e.g. after a TRUNCATE or
 * an optimize that removed many files).  Cost: one pass over all runs. */
bool sy_pkindex_compact(sy_pkindex *idx, lk_error *err);

/* Rebuild: empties the index, then calls scan(ctx, idx, err), which feeds
 * every live row of the table with sy_pkindex_bulk_add(). */
typedef bool (*sy_pkindex_scan_fn)(void *ctx, sy_pkindex *idx, lk_error *err);
bool sy_pkindex_bulk_load(sy_pkindex *idx, sy_pkindex_scan_fn scan, void *ctx,
						  lk_error *err);
bool sy_pkindex_bulk_add(sy_pkindex *idx, const void *key, size_t len,
						 const char *path, uint64_t row, lk_error *err);

/* Write the manifest (file table, runs, Delta version, table id) into the
 * index directory atomically (temp file, fsync, rename).  `dir` must be
 * the index's directory (NULL means it); other directories: LK_ERR_INVALID. */
bool sy_pkindex_save(sy_pkindex *idx, const char *dir, int64_t delta_version,
					 lk_error *err);

void sy_pkindex_get_stats(const sy_pkindex *idx, sy_pkindex_stats *st);

#endif
