/*
 * synced_table.h — Synced Tables: a Delta table kept as a read-only
 * PostgreSQL table (DESIGN §4), prefix `sy_`.
 *
 *   snapshot    the whole Delta snapshot (latest or --as-of) is COPYed over
 *               N connections into a shadow table, indexed (PK), ANALYZEd
 *               and swapped in atomically with the old table's grants and
 *               owner; readers never see a half-loaded table
 *   triggered   apply the Delta versions after the last synced one, each
 *               version in one PostgreSQL transaction that also records
 *               the version in lakesync.synced_tables (exactly once); the
 *               first run of a table loads a snapshot
 *   continuous  triggered, then poll the log every interval until stopped
 *
 * State, in the target database (created when missing):
 *   lakesync.synced_tables(target text PRIMARY KEY, source text, version
 *     bigint, mode text, primary_key text[], dedup_by text, columns jsonb,
 *     delta_schema text, updated_at timestamptz)
 *   lakesync.synced_table_guard()   the read-only trigger function
 * One lakesync process at a time syncs a target (a session advisory lock
 * keyed by the target's name).
 *
 * Read-only enforcement (src/sync/README.md, "Synced tables are read-only"):
 * a statement trigger BEFORE INSERT/UPDATE/DELETE/TRUNCATE raises unless
 * the session setting lakesync.applying is 'on' (set LOCAL by lakesync's
 * own apply transactions), and INSERT/UPDATE/DELETE/TRUNCATE are revoked
 * from PUBLIC.
 */
#ifndef SY_SYNCED_TABLE_H
#define SY_SYNCED_TABLE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

typedef enum sy_mode {
	SY_MODE_SNAPSHOT,
	SY_MODE_TRIGGERED,
	SY_MODE_CONTINUOUS,
} sy_mode;

/* Parse "snapshot" / "triggered" / "continuous". */
bool sy_mode_parse(const char *s, sy_mode *out);
const char *sy_mode_name(sy_mode m);

typedef struct sy_column_type {
	const char *name;           /* column (Delta logical name) */
	const char *sql_type;       /* PostgreSQL type text, used as is */
} sy_column_type;

typedef struct sy_options {
	const char *source;         /* Delta table URI or path */
	const char *target_dsn;     /* libpq connection string */
	const char *table;          /* "schema.table" (SQL spelling: unquoted
								 * parts are folded to lower case) */
	sy_mode mode;
	/* --as-of: a version (as_of_version ≥ 0) or a time (as_of_ms, set when
	 * has_as_of_ms); snapshot mode only */
	int64_t as_of_version;      /* -1: latest */
	bool has_as_of_ms;
	int64_t as_of_ms;
	const char *const *primary_key;     /* column names */
	int npk;
	const char *dedup_by;       /* duplicate keys: keep the row with the
								 * greatest value of this column (NULL:
								 * duplicates are an error) */
	const sy_column_type *column_types; /* per-column type overrides */
	int ncolumn_types;
	int jobs;                   /* COPY connections of a snapshot (≥ 1) */
	int64_t interval_ms;        /* continuous: poll interval (default 1000) */
	/* continuous: stop when *stop becomes non-zero (checked between
	 * versions and during the wait); may be NULL */
	volatile sig_atomic_t *stop;
	/* continuous: stop after reaching this version (-1: never) — tests */
	int64_t until_version;
} sy_options;

/* Defaults: mode snapshot, no as-of, jobs 2, interval 1000 ms,
 * until_version -1. */
void sy_options_init(sy_options *o);

typedef struct sy_result {
	int64_t version;            /* Delta version the target now holds */
	int64_t rows_loaded;        /* rows COPYed by a snapshot (0 if none) */
	int64_t versions_applied;   /* versions applied incrementally */
	int64_t rows_changed;       /* change rows applied incrementally */
	bool snapshot_loaded;       /* a snapshot (full refresh) was loaded */
} sy_result;

/* Run the synced table as configured.  Errors: LK_ERR_INVALID for bad
 * options (missing primary key for triggered/continuous, unknown column
 * names), LK_ERR_CORRUPT for source data that breaks the key (duplicates
 * without dedup_by), LK_ERR_UNSUPPORTED for a schema change that needs a
 * full refresh in triggered/continuous mode, LK_ERR_PG/LK_ERR_IO from the
 * server, and the Delta reader's errors.  On error nothing partial is
 * visible in the target table. */
bool sy_synced_table_run(const sy_options *o, sy_result *res, lk_error *err);

#endif
