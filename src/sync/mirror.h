/*
 * mirror.h — mirror mode of a synced table (DESIGN §3 "mirror") and the
 * "current row" machinery both modes use for unchanged TOAST values,
 * prefix `sy_mirror_`.  Called by table.c only (and its tests); the
 * lifecycle, the invariants and the Change Data Feed rules are in
 * src/sync/README.md "Mirror mode".
 *
 * A mirror table `<target>/<schema>/<table>` holds the source columns
 * only.  Every row has a key (the primary key; else the REPLICA IDENTITY
 * USING INDEX columns; with REPLICA IDENTITY FULL and neither, the whole
 * row plus an ordinal among equal rows) and the key index maps its bytes
 * (sy_pkindex_key_from_row of the key columns' Delta values) to where the
 * row lives: (data file, row).
 *
 * Rows of the open Delta commit (between two commits of the table):
 *
 *   change ─▶ t->batch (new row images)           key → batch row (bmap)
 *                │ batch_bytes, or the commit
 *                ▼  'u' values read from their files, dead rows dropped
 *             data file of the open commit         key → (file, row) (index)
 *                │ sy_mirror_commit
 *                ▼
 *   remove/add with deletion vectors, the new files (with a deletion
 *   vector when later changes of the same commit deleted some of their
 *   rows), _change_data files (insert / update_preimage /
 *   update_postimage / delete: the net change of the commit, row by row),
 *   txn {appId, commit LSN} ─▶ one Delta version
 *
 * History tables with toastable columns and a key get the same index
 * (key → file and row of the key's latest image in the history table),
 * built the first time a 'u' value is neither in the old tuple, nor in
 * the last-image cache, nor in the pending batch.
 */
#ifndef SY_MIRROR_H
#define SY_MIRROR_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "delta/commit.h"
#include "pg/conn.h"
#include "sync/table.h"

struct sy_maint_hooks;
typedef struct sy_mirror sy_mirror;

/* A decoded tuple: per source column its text value, whether it is an
 * unchanged TOAST value ('u'), whether the tuple sent it at all. */
typedef struct sy_rowvals {
	sy_value *v;
	bool *unchanged;
	bool *present;
} sy_rowvals;

/* Set up the state of t (any mode) from the catalog: the key columns are
 * the primary key's.  Caller: sy_table_init.  Freed by sy_mirror_free. */
bool sy_mirror_init(sy_table *t, const pgc_table_info *info,
					const pgc_table_def *def, lk_error *err);

/* The key is the REPLICA IDENTITY USING INDEX columns (names), used when
 * the table's replica identity is an index (before sy_table_open). */
bool sy_mirror_set_identity(sy_table *t, const char *const *cols, int n,
							lk_error *err);

/* After the Delta table is opened: a mirror table must have a key (or
 * REPLICA IDENTITY FULL, whose columns must all be matchable) and
 * deletion vectors.  LK_ERR_UNSUPPORTED with an actionable message. */
bool sy_mirror_check(sy_table *t, lk_error *err);

/* Release; with save, a clean key index is saved at the table's last
 * Delta version first. */
void sy_mirror_free(sy_table *t, bool save);

/* Names of the key columns (NULL when none), owned by t. */
int sy_mirror_key_columns(const sy_table *t, const char *const **names);

/* ---- mirror changes (t->mode == SY_TABLE_MIRROR) ----------------------- */

/* Open the key index now (it is otherwise opened by the first change):
 * the saved one, caught up from the log, or rebuilt from the table (then
 * saved).  History tables: nothing. */
bool sy_mirror_open_index(sy_table *t, lk_error *err);

bool sy_mirror_insert(sy_table *t, sy_txn *tx, sy_rowvals *n, lk_error *err);
/* o: the old tuple ('K' or 'O', old_kind) or NULL.  'u' values of n must
 * have been filled from o / the cache where possible; the rest come from
 * the current row. */
bool sy_mirror_update(sy_table *t, sy_txn *tx, sy_rowvals *n,
					  const sy_rowvals *o, char old_kind, lk_error *err);
bool sy_mirror_delete(sy_table *t, sy_txn *tx, const sy_rowvals *o,
					  lk_error *err);
bool sy_mirror_truncate(sy_table *t, sy_txn *tx, lk_error *err);

/* Write the pending batch as a data file of the open commit (its 'u'
 * values read first, its dead rows dropped). */
bool sy_mirror_flush(sy_table *t, lk_error *err);

/* Commit everything pending with txn version `lsn` (see the top).  On
 * failure nothing of it is kept (the caller discards; the key index is
 * reopened from the Delta log when needed next). */
bool sy_mirror_commit(sy_table *t, uint64_t lsn, lk_error *err);

/* Drop the open commit (files written stay unreferenced). */
void sy_mirror_discard(sy_table *t);

/* The snapshot's commit c of a mirror table (sy_table_finish_commit):
 * before it runs, every file the table had is removed (a resync, or rows
 * another writer left); after it, the key index is rebuilt when next
 * needed. */
bool sy_mirror_snapshot_prepare(sy_table *t, dl_commit *c, lk_error *err);
void sy_mirror_snapshot_done(sy_table *t);

/* ---- unchanged TOAST values from the current row (both modes) ---------- */

/* Where each still-'u' value of n comes from, for the row whose key is
 * taken from `keyrow` (the old tuple, or n itself): srcs[c] for every
 * column with n->unchanged[c].  History mode only (mirror does this inside
 * sy_mirror_update).  A value that cannot be found is an error naming the
 * column. */
bool sy_mirror_history_sources(sy_table *t, const sy_rowvals *keyrow,
							   const sy_rowvals *n, sy_src *srcs, lk_error *err);

/* History mode: the batch row `row` was appended (an insert or
 * update_postimage image of its key, or a delete / truncate): keep the
 * index of latest images current when it is built.  old: the key before
 * an update that changed it (NULL otherwise). */
bool sy_mirror_history_note(sy_table *t, const char *change_type, int64_t row,
							const sy_rowvals *old, lk_error *err);

/* A 'u' value of batch row `row`, column `col` (Delta index), must be read
 * from (path, srcrow) before the batch is written (table.c's append). */
void sy_mirror_add_fixup(const sy_table *t, int64_t row, int col,
						 const char *path, uint64_t srcrow);
/* The fixup of (row, col), if any: *path and *srcrow set. */
bool sy_mirror_find_fixup(const sy_table *t, int64_t row, int col,
						  const char **path, uint64_t *srcrow);

/* Before t->batch is written (history mode): read the pending 'u' values
 * into it.  After it was written as the file `add_path` (NULL: not
 * indexed), index its rows. */
bool sy_mirror_history_before_write(sy_table *t, lk_error *err);
bool sy_mirror_history_after_write(sy_table *t, const char *add_path,
								   lk_error *err);
/* History: the index needs each written batch in a file of its own. */
bool sy_mirror_history_indexed(const sy_table *t);
/* History: the commit of the open files succeeded (version) / failed. */
void sy_mirror_history_committed(sy_table *t, int64_t version);
void sy_mirror_history_discard(sy_table *t);

/* ---- maintenance (sync/maint.h) ------------------------------------------ */

/* Logical indexes of the key columns (mirror, or the history index's key)
 * into out[] (room for t->ncols); 0 when the table has no key index. */
int sy_mirror_key_indexes(const sy_table *t, int *out);

/* The index hooks of sy_maint_apply for t (ctx = t): the committed-file
 * map and the key index follow a compaction. */
void sy_mirror_maint_hooks(sy_table *t, struct sy_maint_hooks *h);

/* A hook failed after an OPTIMIZE commit: the index is closed unsaved and
 * reopened from the Delta log when next needed. */
void sy_mirror_index_lost(sy_table *t);

#endif
