/*
 * evolve.h — schema evolution of a synced table while streaming (DESIGN §3
 * "Schema changes", issue 5), prefix `sy_evolve_`.
 *
 * A Relation message whose columns differ from what the table knows is a
 * schema change.  sy_table_set_relation() hands it to sy_evolve_relation():
 *
 *   Relation ──plan (sy_evolve_plan_make)──▶ per column: same / renamed /
 *     │        retyped (widened) / added; dropped columns; or a refusal
 *     │        (attnums from the catalog tell a rename from drop + add)
 *     ├─ refused ─▶ false: the caller stops THIS table (slot held)
 *     ▼
 *   pending rows of finished transactions ─▶ committed (old schema)
 *   rows of the current transaction before the change ─▶ held back
 *     ▼
 *   one Delta commit (no txn marker change): protocol + metaData
 *     (dl_evolve_schema), and in mirror mode, for an added column with a
 *     non-volatile default, every live row rewritten with the value
 *     ▼
 *   columns, Delta schema binding and batch rebuilt; held rows converted;
 *   mirror.c's key state set up again (its key index reopens from the
 *   saved one and the Delta log)
 *
 * What each change does (DESIGN §3):
 *   ADD       a nullable Delta column (history: before the _change_*
 *             columns; an old Delta column of the same name and type left
 *             by a drop is reused).  Existing rows: null in history mode
 *             (they predate it); in mirror mode the catalog's
 *             attmissingval (non-volatile default), null without default;
 *             a default the catalog no longer has as attmissingval
 *             (volatile, or materialised by a later rewrite) refuses when
 *             the table has live rows (resync).
 *   DROP      history: the column stays in Delta and gets nulls.  mirror:
 *             removed from the Delta schema (column mapping `name`).
 *   RENAME    same pg_attribute.attnum under a new name: the Delta column
 *             is renamed (column mapping `name`, physical name kept).
 *   WIDEN     int2 → int4 → int8, float4 → float8, numeric(p,s) →
 *             numeric(p',s') with p'-s' ≥ p-s, s' ≥ s, p' ≤ 38: Delta type
 *             widening.  varchar/text ↔ varchar/text, varbit and temporal
 *             precision increases, string-mapped numeric precision
 *             increases: no Delta change (the values keep their text).
 *   other     any other type change, a type change of an enum, domain or
 *             array column, a change of the key columns in mirror mode:
 *             refused, naming table, column, old and new type.
 *
 * Skipped transactions (state catchup): their Relation messages are older
 * than the Delta table; nothing is evolved, and a message that does not
 * match the table is remembered as unusable (a change decoded with it
 * fails the table instead of writing wrong columns).
 */
#ifndef SY_EVOLVE_H
#define SY_EVOLVE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/error.h"
#include "common/types.h"
#include "delta/commit.h"
#include "delta/log.h"
#include "pg/conn.h"
#include "pg/pgoutput.h"

typedef struct sy_table sy_table;

/* ---- the catalog ------------------------------------------------------------ */

/* One pg_attribute row of the table, as the catalog has it now. */
typedef struct sy_evolve_attr {
	int attnum;
	const char *name;
	bool dropped;
	bool generated;
	uint32_t type_oid;
	bool has_default;           /* pg_attrdef has a default */
	bool has_missing;           /* atthasmissing: rows older than the
								 * column read attmissingval */
	const char *missing;        /* the missing value as the type's text
								 * output, NULL for null */
} sy_evolve_attr;

typedef struct sy_evolve_catalog {
	bool known;                 /* false: no catalog (no source DSN) */
	int nattrs;
	sy_evolve_attr *attrs;      /* by attnum, dropped ones included */
} sy_evolve_catalog;

/* Read the attributes of relation relid (user columns, dropped included).
 * Strings in arena a. */
bool sy_evolve_catalog_load(pgc_conn *c, uint32_t relid, lk_arena *a,
							sy_evolve_catalog *out, lk_error *err);

/* The single element of a one-element array literal ("{3.50}",
 * "{\"a,b\"}", "{NULL}") as text: *out NULL for a null element.  In arena
 * a.  False (LK_ERR_CORRUPT) for anything else. */
bool sy_evolve_missing_value(const char *array_text, lk_arena *a,
							 const char **out, lk_error *err);

/* ---- planning (pure) ------------------------------------------------------------ */

/* A column the table knows. */
typedef struct sy_evolve_old {
	const char *name;
	uint32_t type_oid;
	int32_t typmod;
	int attnum;                 /* 0: unknown */
	const lk_type *delta_type;  /* its Delta column's type */
	bool key;                   /* in the key of the last Relation message */
} sy_evolve_old;

/* A column of the new Relation message. */
typedef struct sy_evolve_new {
	const char *name;
	uint32_t type_oid;
	int32_t typmod;
	bool key;                   /* PGO_COLUMN_KEY */
	const lk_type *delta_type;  /* what a fresh table would map it to */
	bool plain_type;            /* a built-in scalar type (not an enum,
								 * domain, composite or array) */
} sy_evolve_new;

typedef enum sy_evolve_fill {
	SY_FILL_NULL,               /* existing rows hold null */
	SY_FILL_VALUE,              /* ... fill_text (the default) */
	SY_FILL_UNKNOWN,            /* ... something the catalog cannot tell */
} sy_evolve_fill;

typedef struct sy_evolve_col {
	int old;                    /* old column, -1 when added */
	int attnum;                 /* 0: unknown */
	bool renamed;
	bool retyped;               /* type oid or typmod differ */
	bool widened;               /* ... and the Delta type widens */
	sy_evolve_fill fill;        /* added columns */
	const char *fill_text;      /* SY_FILL_VALUE: text, NULL = null */
} sy_evolve_col;

typedef struct sy_evolve_plan {
	int ncols;                  /* = relation columns */
	sy_evolve_col *cols;
	int ndropped;
	int *dropped;               /* old columns gone, ascending */
	bool changed;               /* anything differs from the old columns */
	bool key_retyped;           /* a key column widened (mirror: the key
								 * index is rebuilt) */
} sy_evolve_plan;

/* Plan the change from old[0..nold) to the Relation columns nw[0..nnew),
 * using the catalog's attnums (cat may be NULL or !known).  mirror: the
 * Delta table must equal the source (key changes refused, defaults
 * matter).  Refusals are LK_ERR_UNSUPPORTED naming the column, the old and
 * new type (the caller adds the table and LSN).  Result in arena a. */
bool sy_evolve_plan_make(const sy_evolve_old *old, int nold,
						 const sy_evolve_new *nw, int nnew,
						 const sy_evolve_catalog *cat, bool mirror,
						 lk_arena *a, sy_evolve_plan *out, lk_error *err);

/* Is a change of a column's type from (oid, typmod, Delta type) to the new
 * one acceptable: *widen tells whether the Delta type changes (a Delta
 * type widening).  False with a message naming both types otherwise.
 * Pure. */
bool sy_evolve_type_ok(const sy_evolve_old *o, const sy_evolve_new *n,
					   bool *widen, lk_error *err);

/* ---- applying ------------------------------------------------------------------- */

typedef enum sy_evolve_result {
	SY_EVOLVE_NONE,             /* the Relation matches the table */
	SY_EVOLVE_CHANGED,          /* columns rebuilt: map them by name */
	SY_EVOLVE_UNUSABLE,         /* a skipped transaction's Relation that
								 * does not match: t->rel_* set unusable */
} sy_evolve_result;

/* See the top.  On failure err says why (the table must be stopped);
 * nothing was committed for the change itself, rows of finished
 * transactions may have been. */
bool sy_evolve_relation(sy_table *t, const pgo_relation *rel,
						sy_evolve_result *res, lk_error *err);

/* For sy_table_open, when the source columns (from the catalog, which may
 * be ahead of the stream) do not bind to the Delta schema ds: take the
 * table's columns from ds instead (every Delta column but the history
 * columns; a source column of the same name and Delta type keeps its
 * description, the others get their type from the next Relation message,
 * as if it were a change: equal Delta type or a widening).  The Relation
 * messages then bring the table up to date as the stream replays the
 * changes.  Fails (LK_ERR_UNSUPPORTED) for a Delta type no Postgres type
 * maps to. */
bool sy_evolve_open(sy_table *t, const lk_type *ds, lk_error *err);

/* Rewrite every live row of snapshot `old` into commit c (which already
 * carries the new metaData): new column i comes from old column src[i]
 * (converted to the wider type when it differs) or, when src[i] < 0, is
 * fill[i] (a column of one row; NULL = null).  Old files are removed with
 * dataChange false and new files added with dataChange false: the source
 * changed no row, readers of the change feed see nothing.  Returns the
 * number of rows rewritten in *rows (may be NULL). */
bool sy_evolve_rewrite(dl_commit *c, const dl_snapshot *old, const int *src,
					   const lk_column *const *fill, int64_t *rows,
					   lk_error *err);

/* Append rows [from, from+n) of src to dst, converting a narrower type to
 * dst's (integer widening, float → double, decimal scale increase);
 * equal types are copied.  False (LK_ERR_INTERNAL) for other types. */
bool sy_evolve_convert(lk_column *dst, const lk_column *src, int64_t from,
					   int64_t n, lk_error *err);

#endif
