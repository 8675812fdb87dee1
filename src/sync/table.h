/*
 * table.h — one synced table of a Lakehouse Sync pipeline (DESIGN §3),
 * prefix `sy_table_`.  History mode is described here; mirror mode (the
 * Delta table `<target>/<schema>/<table>` equal to the source) keeps the
 * same lifecycle, batch and commits, and applies its changes through
 * mirror.h.
 *
 * A sy_table knows its source columns (name, Postgres type, Delta type
 * through pg/pgtypes), its Delta history table `<target>/<schema>/
 * <table>_history` (created append-only if missing), the Delta txn version
 * of its appId `lakesync/<pipeline>/<schema>.<table>`, and the rows not yet
 * committed: a batch in the table's Delta schema, written into Parquet
 * files of an open Delta commit when it grows, committed with
 * `txn {appId, version: commit LSN of its last transaction}` at a
 * transaction boundary.  See src/sync/README.md for the lifecycle (states
 * below) and the invariants.
 *
 * History rows: the source columns in Delta order, then
 *   _change_type string   insert | update_preimage | update_postimage |
 *                          delete | truncate
 *   _commit_lsn long      commit LSN of the transaction
 *   _change_seq long      ordinal of the row in its transaction
 *   _commit_timestamp timestamp
 *   _xid long             top-level xid (null for snapshot rows)
 *
 * Not thread-safe, except sy_table_append_values(), which only reads the
 * table and may run in several threads on their own batches.
 */
#ifndef SY_TABLE_H
#define SY_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/error.h"
#include "delta/commit.h"
#include "delta/log.h"
#include "delta/writer.h"
#include "pg/conn.h"
#include "pg/pgoutput.h"
#include "pg/pgtypes.h"
#include "storage/storage.h"

/* How a source table is kept in Delta (DESIGN §3 "Table modes"). */
typedef enum sy_table_mode {
	SY_TABLE_HISTORY = 0,   /* <table>_history: append-only change log */
	SY_TABLE_MIRROR,        /* <table>: equal to the source (deletion
							 * vectors through a key index, CDF) */
} sy_table_mode;

const char *sy_table_mode_name(sy_table_mode m);
/* "history" / "mirror"; false for anything else. */
bool sy_table_mode_parse(const char *s, sy_table_mode *out);

/* Table lifecycle (README "State machine"). */
typedef enum sy_state {
	SY_INIT = 0,        /* described, Delta table not opened yet */
	SY_SNAPSHOT,        /* needs (or is taking) its initial snapshot */
	SY_CATCHUP,         /* streaming, skipping transactions ≤ version */
	SY_STREAMING,       /* streaming, applying transactions */
	SY_STOPPED,         /* everything pending committed, pipeline ended */
	SY_ERROR,           /* stopped by an error; holds the slot back */
} sy_state;

const char *sy_state_name(sy_state s);

typedef struct sy_table_config {
	int64_t flush_bytes;        /* commit past this many pending bytes (128 MiB) */
	int flush_interval_ms;      /* ... or when the oldest pending row is this old (1000) */
	int early_flush_ms;         /* ... or, once the stream is drained (nothing
								 * more buffered), when it is this old (200;
								 * capped by flush_interval_ms) */
	int64_t batch_bytes;        /* write the batch to Parquet past this (16 MiB) */
	int64_t row_group_rows;     /* Parquet row group size (0 = writer default) */
	size_t toast_cache_bytes;   /* last-image cache per table (64 MiB; 0 = off) */
	sy_table_mode mode;         /* history (default) or mirror */
	size_t index_bytes;         /* memory of a table's key index (0 = the
								 * index's default, 64 MiB) */
	int index_save_ms;          /* save a key index at most this often
								 * (60000; it is also saved at a clean stop;
								 * < 0: never, as after a crash) */
} sy_table_config;

void sy_table_config_init(sy_table_config *c);

/* Parquet row group size of mirror tables' data files (row_group_rows 0). */
#define SY_MIRROR_ROW_GROUP_ROWS 131072

/* One source column. */
typedef struct sy_column {
	const char *name;
	const pgt_conv *conv;       /* Postgres text → Delta value */
	uint32_t type_oid;          /* declared type and typmod (a Relation */
	int32_t typmod;             /* message with others is a schema change) */
	bool toastable;             /* may arrive as 'u' (varlena) */
	int delta_index;            /* its column in the Delta schema */
	int attnum;                 /* pg_attribute.attnum, 0 when unknown
								 * (schema evolution tells a rename from a
								 * drop + add by it; sync/evolve.h) */
} sy_column;

/* A value in Postgres text form.  p need not be NUL-terminated. */
typedef struct sy_value {
	const char *p;
	size_t n;
	bool null;
} sy_value;

/* Where a value comes from when it is not text (an unchanged TOAST value
 * filled from the current row, mirror.c): a row of the table's pending
 * batch, or a row of a data file (add path as in the log) read before the
 * batch is written. */
typedef enum sy_src_kind { SY_SRC_TEXT = 0, SY_SRC_BATCH, SY_SRC_FILE } sy_src_kind;
typedef struct sy_src {
	sy_src_kind kind;
	int64_t row;
	const char *path;
} sy_src;

/* The transaction whose changes are being applied. */
typedef struct sy_txn {
	uint64_t commit_lsn;
	uint64_t end_lsn;
	int64_t commit_time_us;     /* Unix-epoch microseconds */
	int64_t xid;                /* top-level xid; -1 = null (snapshot) */
	int64_t seq;                /* next _change_seq */
} sy_txn;

/* History columns, in this order after the source columns. */
enum { SY_H_CHANGE_TYPE, SY_H_COMMIT_LSN, SY_H_CHANGE_SEQ, SY_H_COMMIT_TS,
	   SY_H_XID, SY_H_COUNT };
extern const char *const sy_history_columns[SY_H_COUNT];

typedef struct sy_toast sy_toast;

typedef struct sy_table {
	lk_arena arena;             /* names, columns, schema */
	sy_table_config cfg;
	pgc_table_name name;
	char *qualname;             /* schema.table, for messages */
	char *app_id;               /* lakesync/<pipeline>/<schema>.<table> */
	char *uri;                  /* Delta table location */
	st_store store;
	bool store_open;
	uint32_t relid;
	char replident;             /* from the catalog, then Relation messages */

	sy_state state;
	lk_error error;             /* SY_ERROR: why */
	uint64_t error_lsn;         /* SY_ERROR: the slot is held below this */

	int ncols;
	sy_column *cols;            /* source columns, catalog order */
	const lk_type *schema;      /* Delta logical schema = batch schema */
	int *delta_src;             /* per Delta column: source column or -1 */
	int hist[SY_H_COUNT];       /* Delta index of each history column */

	int64_t version;            /* txn version of app_id in Delta, -1 none */
	bool resync;                /* the next snapshot starts with a truncate
								 * row (history exists but has a gap) */

	/* the current Relation message */
	bool has_rel;
	int rel_ncols;
	int *rel_col;               /* relation column → source column */
	bool *rel_key;              /* relation column is in the identity key */

	/* rows not yet committed */
	lk_batch *batch;
	int64_t batch_bytes;
	dl_snapshot *snap;          /* until the first commit of this run */
	dl_commit *prev;            /* last commit of this run (chaining) */
	dl_commit *commit;          /* being built, or NULL */
	dl_data_writer *writer;     /* open on commit, or NULL */
	int64_t pending_rows;
	int64_t pending_bytes;
	int64_t pending_since_ms;   /* monotonic ms of the first pending row */
	uint64_t first_pending_lsn; /* commit LSN of the first pending txn */
	uint64_t last_pending_lsn;  /* ... of the last */
	/* where the current transaction started (sy_table_begin_txn): what a
	 * failure in it can roll back to; txn_batch_row -1 when some of its
	 * rows already went to a data file */
	int64_t txn_batch_row;
	int64_t txn_pending_rows;
	int64_t txn_pending_bytes;
	uint64_t txn_prev_lsn;

	sy_toast *toast;            /* last images for 'u' values, or NULL */

	sy_table_mode mode;
	char *index_dir;            /* <target>/_lakesync/<pipeline>/index/
								 * <schema>.<table>[.history] (local path) */
	struct sy_mirror *mirror;   /* key, key index, open-commit state
								 * (mirror.c); NULL until needed */
	bool mirror_resync;         /* mirror: the snapshot commit removes every
								 * file first (the slot is new) */
	bool mirror_no_key;         /* mirror without a usable key (refused at
								 * open) */
	int64_t rows_deleted;       /* mirror: rows marked deleted, this run */
	bool no_auto_checkpoint;    /* checkpoints are written by the
								 * maintenance worker (sync/maint.h) */
	int64_t last_commit_ms;     /* mirror: wall time of its last commit */

	/* counters */
	int64_t rows_committed;
	int64_t commits;
	int64_t toast_filled;       /* 'u' values filled */

	/* schema evolution (sync/evolve.h) */
	const char *source_dsn;     /* libpq DSN for catalog look-ups (attnums,
								 * defaults of added columns); NULL: none */
	int64_t evolutions;         /* schema changes applied, this run */
} sy_table;

/* Describe table `name` of pipeline `pipeline` from the catalog (info from
 * pgc_check_tables, def from pgc_table_columns), with its Delta table under
 * `target` (a URI or path of the lakehouse root).  Generated columns are
 * left out (pgoutput does not send them).  Fails (LK_ERR_UNSUPPORTED) for
 * a partitioned table, a source column named like a history column, or two
 * columns whose names differ only in case.  Free with sy_table_free(). */
bool sy_table_init(sy_table *t, const sy_table_config *cfg, const char *pipeline,
				   const char *target, const pgc_table_name *name,
				   const pgc_table_info *info, const pgc_table_def *def,
				   lk_error *err);
void sy_table_free(sy_table *t);

/* Open the Delta table (create it when missing: append-only in history
 * mode; with deletion vectors and Change Data Feed in mirror mode, after
 * checking the table has a key), read the txn version of app_id and check
 * the schema: every source column must be in it with the same type
 * (LK_ERR_UNSUPPORTED otherwise); Delta columns the source lacks receive
 * nulls.  state becomes SY_SNAPSHOT when version < 0, else SY_CATCHUP. */
bool sy_table_open(sy_table *t, lk_error *err);

/* The Delta table location for schema.table under target: target +
 * "/<schema>/<table>_history".  malloc'd; caller frees. */
char *sy_table_location(const char *target, const char *schema,
						const char *table);
/* The same for a mode: mirror tables live at target + "/<schema>/<table>". */
char *sy_table_location_mode(const char *target, const char *schema,
							 const char *table, sy_table_mode mode);

/* The conversion of a catalog column (pgc_table_columns(): domains and
 * arrays already resolved by the catalog query), by pgt_map_type().  The
 * result lives in arena a. */
const pgt_conv *sy_table_column_conv(lk_arena *a, const pgc_column *c);

/* ---- rows --------------------------------------------------------------- */

/* A new empty batch in the table's schema (caller frees, lk_batch_free). */
lk_batch *sy_table_new_batch(const sy_table *t);

/* Append one history row to b: vals has t->ncols entries (NULL: every
 * source column null, as for a truncate).  'u' values must have been
 * resolved by the caller.  On failure b is inconsistent (discard it) and
 * err names the column; the caller adds table and LSN.  Returns the row's
 * approximate size in *bytes (may be NULL).  Thread-safe for distinct b. */
bool sy_table_append_values(const sy_table *t, lk_batch *b,
							const char *change_type, const sy_txn *tx,
							int64_t seq, const sy_value *vals, int64_t *bytes,
							lk_error *err);

/* ---- streaming ------------------------------------------------------------ */

/* A Relation message for this table: map its columns by name.  A column
 * the table does not know, or a changed type, is LK_ERR_UNSUPPORTED (a
 * schema change). */
bool sy_table_set_relation(sy_table *t, const pgo_relation *rel,
						   lk_error *err);

/* The skip rule: true when the table is streaming and commit_lsn >
 * version.  Moves SY_CATCHUP to SY_STREAMING on the first true. */
bool sy_table_applies(sy_table *t, uint64_t commit_lsn);

/* A transaction begins (call it for every table, applied or not):
 * remember where, so a failure inside it can still commit the transactions
 * before it. */
void sy_table_begin_txn(sy_table *t);

/* Append the history rows of one change (tx->seq advances per row).
 * Errors name the table, the column and the commit LSN; the caller then
 * calls sy_table_fail(). */
bool sy_table_insert(sy_table *t, sy_txn *tx, const pgo_insert *m,
					 lk_error *err);
bool sy_table_update(sy_table *t, sy_txn *tx, const pgo_update *m,
					 lk_error *err);
bool sy_table_delete(sy_table *t, sy_txn *tx, const pgo_delete *m,
					 lk_error *err);
bool sy_table_truncate(sy_table *t, sy_txn *tx, lk_error *err);

/* True when pending rows should be committed now (size or age budget).
 * drained: the stream has nothing more buffered, so the earlier age bound
 * early_flush_ms applies (commit as soon as the reader is caught up,
 * instead of waiting for the interval under a steady trickle).  A mirror
 * table that is behind commits at most every 3 × its last commit's time
 * (≤ 30 s), so reading pre-images is paid for by many changes. */
bool sy_table_should_commit(const sy_table *t, int64_t now_ms, bool drained);

/* At a transaction boundary: commit every pending row to Delta with txn
 * version = last_pending_lsn (nothing to do without pending rows).  On
 * failure the pending rows are discarded and err says why. */
bool sy_table_commit(sy_table *t, lk_error *err);

/* Drop every row not committed (files already written stay unreferenced). */
void sy_table_discard(sy_table *t);

/* Stop the table: SY_ERROR with err.  Rows of complete transactions
 * before the failing one are committed when they can be (the failing
 * transaction's rows are all still in the batch), the rest is discarded;
 * the slot is held below the first transaction not durable in it (lsn =
 * the commit LSN of the transaction that failed). */
void sy_table_fail(sy_table *t, const lk_error *err, uint64_t lsn);

/* The bound the table puts on the confirmed flush LSN: the commit LSN of
 * its first pending transaction, its error LSN, or UINT64_MAX when it does
 * not hold anything back (idle tables never do). */
uint64_t sy_table_hold(const sy_table *t);

/* min(boundary, hold of every table): what may be confirmed to Postgres
 * (README "Exactly once").  Pure. */
uint64_t sy_confirm_lsn(sy_table *const *tables, int n, uint64_t boundary);

/* ---- internal (table.c ⇄ mirror.c) ----------------------------------------- */

/* Append one row of the current transaction to t->batch and count it as
 * pending: vals as for sy_table_append_values; srcs (NULL, or one per
 * source column) names values taken from elsewhere (sy_src).  Never writes
 * the batch (the caller does, when t->batch_bytes passes the budget, once
 * the change is complete). */
bool sy_table_emit(sy_table *t, sy_txn *tx, const char *change_type,
				   const sy_value *vals, const sy_src *srcs, lk_error *err);
/* Count a change that adds no row (a mirror delete) as pending. */
void sy_table_note_change(sy_table *t, const sy_txn *tx, int64_t bytes);

/* ---- commits ---------------------------------------------------------------- */

/* A commit that reads the table as this run last saw it (its snapshot, or
 * its last commit).  Caller frees with dl_commit_free(). */
dl_commit *sy_table_begin_commit(sy_table *t);

/* Write options for the table's data files. */
void sy_table_write_options(const sy_table *t, dl_write_options *o);

/* A commit of the table made elsewhere (a maintenance OPTIMIZE, without
 * txn) becomes the head of its chain; the txn version stays.  Takes c. */
void sy_table_adopt_commit(sy_table *t, dl_commit *c);

/* Run commit c (built by the snapshot) with txn version `version`; on
 * success it becomes the table's last commit (c is owned by the table
 * then) and version is recorded.  On failure c is freed. */
bool sy_table_finish_commit(sy_table *t, dl_commit *c, int64_t version,
							lk_error *err);

#endif
