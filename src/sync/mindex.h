/*
 * mindex.h — lifecycle of the primary-key index of a mirror-mode Delta
 * table (issue 5), prefix `sy_mindex_`.
 *
 * sy_pkindex (pkindex.h) is the structure: key bytes → (file id, row).
 * This module ties it to a Delta table: it opens the index saved in the
 * index directory, checks it against the caller's snapshot, catches it up
 * by replaying the commits it has not seen, or rebuilds it by scanning the
 * key columns of every live row when it cannot be trusted.
 *
 *   saved index ─┬─ none / corrupt / other table / other key columns /
 *                │  saved version > V / commits missing from the log
 *                │        └──▶ rebuild (scan key columns of snapshot V)
 *                ├─ saved version == V ─▶ use as is
 *                └─ saved version <  V ─▶ replay commits saved+1 .. V
 *   then (rebuilt or replayed) save at V.
 *
 * Paths: the index keeps each file under its add path EXACTLY as in the
 * log / dl_add.path (URI-encoded, relative to the table root).  The caller
 * uses the same form for sy_pkindex_file_id(): the `path` of the dl_add the
 * writer produced / the snapshot holds (dl_file.add.path, not dl_file.path).
 *
 * Keys: sy_pkindex_key_from_row() bytes of the key columns, in the order
 * given, computed from columns of the table's logical types (the types of
 * the snapshot schema, as the writer's batches have them).  The index
 * remembers the key columns' physical names and types; if they differ at
 * the next open (key column dropped, retyped by widening) it is rebuilt.
 * A rename of a key column with column mapping keeps the index.
 *
 * Unsaved changes: the caller updates the index as it commits and saves
 * now and then.  To throw away changes that do not match the table (e.g.
 * the index was updated but the commit failed), close without saving and
 * open again: the saved state is caught up from the log.  A crash is the
 * same.
 *
 * Duplicate keys among live rows (REPLICA IDENTITY FULL without a key):
 * the index holds one location per key; which of the equal rows it is may
 * differ between a rebuild and a replay.
 *
 * Not thread-safe.  The snapshot and store are only used during the call
 * that receives them.
 */
#ifndef SY_MINDEX_H
#define SY_MINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/batch.h"
#include "common/buf.h"
#include "common/error.h"
#include "delta/log.h"
#include "storage/storage.h"
#include "sync/pkindex.h"

typedef struct sy_mindex sy_mindex;

typedef struct sy_mindex_stats {
	int64_t saved_version;      /* open: version of the saved index (-1: none,
								 * unusable); catch_up/rebuild: the version the
								 * live index reflected before the call */
	int64_t version;            /* version the index reflects after (V) */
	bool rebuilt;               /* scanned the whole table */
	const char *reason;         /* why it was rebuilt (static string), or NULL:
								 * "no saved index", "saved index is corrupt",
								 * "saved index unreadable", "saved index is of
								 * another table (table id differs)", "key
								 * columns changed (name, type or
								 * partitioning)", "saved index is newer than
								 * the table version", "commits since the saved
								 * version are no longer in the log", "commits
								 * since the saved version could not be read",
								 * "saved index has no version", "index broken
								 * by an earlier failure", "rebuild requested" */
	int64_t replayed_commits;   /* commits replayed (0 when rebuilt) */
	int64_t files_read;         /* data files whose key columns were read */
	int64_t rows_scanned;       /* live rows fed to the index */
	int64_t ms;                 /* wall time of the call */
} sy_mindex_stats;

/* Index of the table `snap` reads (version V = snap->version), keyed by the
 * logical columns key_cols[0..nkey) in that order, stored in `dir`
 * (created with its parents if missing).  See the diagram above; never
 * trusts a stale index silently.  memory_budget: 0 = default
 * (SY_PKINDEX_DEFAULT_BUDGET).  stats may be NULL.  A key column missing
 * from the schema, or nested: LK_ERR_INVALID / LK_ERR_UNSUPPORTED.
 * Caller frees with sy_mindex_close(). */
sy_mindex *sy_mindex_open(st_store *st, const dl_snapshot *snap,
						  const char *dir, const char *const *key_cols,
						  int nkey, size_t memory_budget,
						  sy_mindex_stats *stats, lk_error *err);

/* The live index; the caller updates it (file_id/put/delete/remove_file)
 * as it commits.  Owned by m; a rebuild (sy_mindex_rebuild, or one done by
 * sy_mindex_catch_up) replaces it: call this again instead of keeping the
 * pointer.  NULL only after a rebuild failed. */
sy_pkindex *sy_mindex_pkindex(sy_mindex *m);

/* Version the index reflects (last open or save). */
int64_t sy_mindex_version(const sy_mindex *m);

/* Logical index (in the snapshot schema given to open) of key column i. */
int sy_mindex_key_column(const sy_mindex *m, int i);
int sy_mindex_nkey(const sy_mindex *m);

/* Key bytes of row `row` of a batch in the table's logical schema (every
 * column, table order, as given to dl_write_batch) into out (reset first).
 * A key column whose type differs from the table's at the last open /
 * catch-up / rebuild (e.g. int vs long after widening): LK_ERR_INVALID. */
bool sy_mindex_key_from_batch(const sy_mindex *m, const lk_batch *b,
							  int64_t row, lk_buf *out, lk_error *err);

/* The caller updated the index itself for its commits up to `version`
 * (without saving): the index now reflects `version` (≥ the current one;
 * else LK_ERR_INVALID). */
bool sy_mindex_set_version(sy_mindex *m, int64_t version, lk_error *err);

/* Bring the live index from sy_mindex_version() to snap's version by
 * replaying the commits in between (commits the caller did not apply
 * itself: another writer, an OPTIMIZE without index hooks, ...), or
 * rebuild (then saved) when that is impossible (see sy_mindex_open; also
 * when a key column's type changed).  Does not save after a replay.
 * stats may be NULL. On failure the index must not be used (close, or
 * sy_mindex_rebuild). */
bool sy_mindex_catch_up(sy_mindex *m, st_store *st, const dl_snapshot *snap,
						sy_mindex_stats *stats, lk_error *err);

/* Persist: call after the caller's commit of `version` succeeded and the
 * index reflects exactly that version (refused with LK_ERR_INVALID after
 * a failed catch-up, until a rebuild).  Cost: writes the in-memory part as
 * a run file plus a manifest listing every file ever known — call it every
 * few seconds or at shutdown, not after every small commit (a crash only
 * means more commits to replay at the next open).  version < the current
 * one: LK_ERR_INVALID. */
bool sy_mindex_save(sy_mindex *m, int64_t version, lk_error *err);

/* Throw the content away and rebuild from snapshot `snap` (same table; key
 * columns as given to open, looked up again in snap's schema), then save.
 * For a caller that changed a key column's type, or found the index
 * inconsistent.  stats may be NULL. */
bool sy_mindex_rebuild(sy_mindex *m, st_store *st, const dl_snapshot *snap,
					   sy_mindex_stats *stats, lk_error *err);

/* Frees memory; the saved index stays on disk. NULL is a no-op. */
void sy_mindex_close(sy_mindex *m);

#endif
