/*
 * evolve.h — schema evolution of an existing Delta table: the new protocol
 * and metaData actions for added, dropped, renamed and widened top-level
 * columns (prefix `dl_`).
 *
 *   dl_evolve_schema(protocol, metaData, changes)
 *     ADD     a nullable field at a position (column mapping on: a new id
 *             = maxColumnId + 1 and physical name "col-<uuid>")
 *     DROP    needs column mapping (PROTOCOL.md "Column Mapping"): turned
 *             on in mode `name` when off, then the field leaves the schema
 *             (its data stays in the files under its physical name)
 *     RENAME  needs column mapping likewise: only the logical name changes
 *     WIDEN   needs type widening (PROTOCOL.md / RFC "Type Widening"):
 *             feature `typeWidening` (reader + writer), table property
 *             delta.enableTypeWidening=true, and {fromType, toType}
 *             appended to the field's metadata "delta.typeChanges"
 *   → dl_evolution {protocol (changed or not), metaData, parsed schema}
 *   dl_evolve_add_actions(commit, evolution)   protocol? + metaData
 *
 * Turning column mapping on for an existing table keeps every data file
 * readable: each existing field (at every depth) gets physicalName = its
 * current name and an id (depth first, from maxColumnId + 1), and
 * delta.columnMapping.maxColumnId is set.  Protocol upgrades go to table
 * features (3,7): the features implied by legacy versions are listed
 * explicitly (reader 2 → columnMapping; writer 2 → appendOnly, invariants;
 * 3 → + checkConstraints; 4 → + changeDataFeed, generatedColumns; 5 → +
 * columnMapping; 6 → + identityColumns).
 *
 * Everything returned lives in the arena the caller passes.
 */
#ifndef DL_EVOLVE_H
#define DL_EVOLVE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/error.h"
#include "common/types.h"
#include "delta/actions.h"
#include "delta/commit.h"
#include "delta/schema.h"

typedef enum dl_schema_change_kind {
	DL_SC_ADD,
	DL_SC_DROP,
	DL_SC_RENAME,
	DL_SC_WIDEN,
} dl_schema_change_kind;

/* One change, applied in order (later changes see the earlier ones). */
typedef struct dl_schema_change {
	dl_schema_change_kind kind;
	const char *column;         /* DROP/RENAME/WIDEN: top-level field by
								 * logical name (exact, then ASCII
								 * case-insensitive) */
	const char *name;           /* ADD: the new field; RENAME: the new name */
	const lk_type *type;        /* ADD: its type; WIDEN: the wider type */
	int position;               /* ADD: top-level index to insert at (0 =
								 * first); -1 or past the end = last */
} dl_schema_change;

typedef struct dl_evolution {
	dl_protocol protocol;       /* the new protocol (a copy when unchanged) */
	bool protocol_changed;
	dl_metadata metadata;       /* the new metaData (same id) */
	dl_schema schema;           /* its schema, parsed */
	dl_column_mapping column_mapping;   /* mode after the change */
	bool column_mapping_enabled;        /* this evolution turned it on */
	bool type_widening_enabled;         /* ... turned type widening on */
} dl_evolution;

/* Apply changes[0..n) to the table described by protocol p and metaData m.
 * Fails (nothing changed) with LK_ERR_INVALID for a missing column, a name
 * taken (case-insensitively) or empty, a partition column dropped or
 * widened; LK_ERR_UNSUPPORTED for a type change Delta type widening does
 * not allow (dl_type_widening_allowed) or a table whose protocol this
 * writer cannot write.  Result in arena a. */
bool dl_evolve_schema(const dl_protocol *p, const dl_metadata *m,
					  const dl_schema_change *changes, int n, lk_arena *a,
					  dl_evolution *out, lk_error *err);

/* Add the evolution to commit c: its protocol action when it changed, then
 * its metaData action (the rest of c then sees the new schema: files
 * written afterwards use it). */
bool dl_evolve_add_actions(dl_commit *c, const dl_evolution *ev,
						   lk_error *err);

/* ---- building blocks ----------------------------------------------------- */

/* Is changing a column from `from` to `to` a type widening Delta allows
 * (RFC "Type Widening"): byte → short → integer → long; float → double;
 * byte/short/integer → double; date → timestamp_ntz; decimal(p,s) →
 * decimal(p+k1, s+k2) with k1 ≥ k2 ≥ 0 (p + k1 ≤ 38); byte/short/integer
 * → decimal(10+k1, k2) and long → decimal(20+k1, k2) with k1 ≥ k2 ≥ 0.
 * Primitive types only (arrays, maps, structs: false).  Pure. */
bool dl_type_widening_allowed(const lk_type *from, const lk_type *to);

/* Delta's JSON name of a primitive type ("integer", "decimal(12,2)", ...);
 * NULL for a nested type or one Delta cannot hold.  In arena a. */
const char *dl_type_json_name(lk_arena *a, const lk_type *t);

/* p with `feature` supported: a reader-writer feature (reader true) is
 * listed in readerFeatures and writerFeatures, a writer feature in
 * writerFeatures; the protocol moves to (3,7) resp. (·,7) first when it is
 * on legacy versions (implied features listed, see the top).  *changed is
 * false when it was already listed.  Result in arena a. */
void dl_protocol_add_feature(const dl_protocol *p, const char *feature,
							 bool reader, lk_arena *a, dl_protocol *out,
							 bool *changed);

/* Field metadata JSON object `json` with key set to the JSON value
 * `value_json` (replacing an existing value).  Compact JSON in arena a,
 * NULL with err when json or value_json do not parse. */
const char *dl_metadata_json_set(lk_arena *a, const char *json, const char *key,
								 const char *value_json, lk_error *err);

#endif
