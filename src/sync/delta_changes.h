/*
 * delta_changes.h — the row-level changes of a Delta table between two
 * versions, one version at a time (prefix `sy_`): what `triggered` and
 * `continuous` synced tables apply, and what `lakesync delta changes` can
 * print.
 *
 * Rows of a version come from (PROTOCOL.md "Change Data Files"):
 *   cdc files   when the commit has `cdc` actions: their rows, with the
 *               `_change_type` column they carry (insert, delete,
 *               update_preimage, update_postimage); add/remove are then
 *               ignored for changes
 *   a diff      otherwise, of the data-changing (dataChange = true) adds and
 *               removes against the table state before the version:
 *                 add of a new path          its rows not in its DV: insert
 *                 remove of a path           its rows not in the DV it had:
 *                                            delete
 *                 same path, DV d1 → d2      rows in d2 − d1: delete,
 *                                            rows in d1 − d2: insert
 *               adds/removes with dataChange = false (OPTIMIZE, DV purge)
 *               change nothing
 *
 * The reader keeps the table's file state (path → partition values and
 * DV), starting from the snapshot of `start` and replaying each commit, so
 * a remove that carries no partition values or DV is still read right.
 *
 *   sy_changes *c;  sy_changes_open(st, applied_version, &c, err);
 *   for (;;) {
 *       const sy_version *v;  sy_changes_next(c, &v, err);   v NULL: none yet
 *       sy_changes_read(c, fn, ctx, err);     fn gets batches of v's rows
 *   }
 *   sy_changes_free(c);
 *
 * A batch handed to fn has the version's logical schema (table columns in
 * order, partition columns filled) plus a trailing string column
 * "_change_type"; it is valid during the call only.
 */
#ifndef SY_DELTA_CHANGES_H
#define SY_DELTA_CHANGES_H

#include <stdbool.h>
#include <stdint.h>

#include "common/batch.h"
#include "common/error.h"
#include "delta/actions.h"
#include "delta/log.h"
#include "delta/schema.h"
#include "storage/storage.h"

typedef struct sy_changes sy_changes;

typedef struct sy_version {
	int64_t version;
	int64_t timestamp_ms;       /* in-commit timestamp, else commitInfo
								 * timestamp, else 0 */
	const char *operation;      /* commitInfo operation, or NULL */
	bool cdf;                   /* rows come from cdc files */
	bool data_change;           /* the version has rows to read */
	int nunits;                 /* files to read */
	bool metadata_changed;      /* a metaData action (schema may differ) */
	bool protocol_changed;
	const dl_schema *schema;    /* the table schema after this version */
	const dl_metadata *metadata;
} sy_version;

/* Called per batch of change rows; return false (err filled) to stop. */
typedef bool (*sy_change_fn)(void *ctx, const lk_batch *b, lk_error *err);

/* Start after version `start` (its snapshot gives the schema and the file
 * state). The store must outlive the reader. Caller frees with
 * sy_changes_free(). */
bool sy_changes_open(st_store *st, int64_t start, sy_changes **out, lk_error *err);
void sy_changes_free(sy_changes *c);

/* Version last returned by sy_changes_next (start before the first). */
int64_t sy_changes_version(const sy_changes *c);
/* Schema in effect at sy_changes_version(). */
const dl_schema *sy_changes_schema(const sy_changes *c);

/* Parse the next commit (version + 1). *v = NULL when it does not exist
 * yet. A protocol this reader cannot read is LK_ERR_UNSUPPORTED. *v is
 * valid until the next call. */
bool sy_changes_next(sy_changes *c, const sy_version **v, lk_error *err);

/* The change rows of the version sy_changes_next returned, as batches
 * (see above). May be called more than once (the files are read again). */
bool sy_changes_read(sy_changes *c, sy_change_fn fn, void *ctx, lk_error *err);

#endif
