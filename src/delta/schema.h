/*
 * schema.h — Delta schemaString JSON ⇄ lk_type (prefix `dl_`).
 *
 * A Delta schema becomes an LK_T_STRUCT type with logical (display) names,
 * plus a parallel tree of dl_type_info that keeps what lk_type cannot: each
 * field's column-mapping physical name and id and its whole `metadata`
 * object (so writing the schema back loses nothing: type widening history,
 * generation expressions, invariants...).
 *
 *   lk_type (struct) ── children[i] ── lk_field {name, type, nullable}
 *   dl_type_info      ── children[i] ── dl_field_info {physical_name, id,
 *                                                      metadata, info}
 * For arrays the info has one child (the element), for maps two (key,
 * value); their dl_field_info only carries the nested `info`.
 *
 * Types (PROTOCOL.md "Schema Serialization Format"): string, long, integer,
 * short, byte, float, double, boolean, binary, date, timestamp,
 * timestamp_ntz, decimal(p,s) (and bare "decimal" = decimal(10,0)), struct,
 * array, map.  Anything else (variant, void, interval, ...) fails with
 * LK_ERR_UNSUPPORTED naming the column.
 */
#ifndef DL_SCHEMA_H
#define DL_SCHEMA_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/types.h"

typedef struct dl_type_info dl_type_info;

typedef struct dl_field_info {
	const char *physical_name;  /* delta.columnMapping.physicalName, or NULL */
	int32_t id;                 /* delta.columnMapping.id, or -1 */
	const char *metadata;       /* the field's metadata object, compact JSON
								 * ("{}" when absent) */
	dl_type_info *info;         /* nested struct/array/map info, or NULL */
} dl_field_info;

struct dl_type_info {
	int nchildren;
	dl_field_info *children;
};

typedef struct dl_schema {
	lk_type *type;              /* LK_T_STRUCT, logical names */
	dl_type_info *info;         /* parallel to type */
} dl_schema;

typedef enum dl_column_mapping {
	DL_CM_NONE = 0,
	DL_CM_NAME,
	DL_CM_ID,
} dl_column_mapping;

/* Parse a schemaString. Everything is allocated in arena a. */
bool dl_schema_parse(const char *json, lk_arena *a, dl_schema *out,
					 lk_error *err);

/* Parse one Delta type name ("long", "decimal(10,2)", ...) of a primitive
 * type; `column` is used for messages. */
bool dl_schema_parse_primitive(const char *name, const char *column,
							   lk_arena *a, lk_type **out, lk_error *err);

/* Serialize to a schemaString (compact, Spark's key order). `info` may be
 * NULL (every field gets "metadata":{}); appended to out. Types Delta
 * cannot hold (time, unsigned, ...) fail with LK_ERR_UNSUPPORTED naming the
 * column. */
bool dl_schema_write(const lk_type *type, const dl_type_info *info, lk_buf *out,
					 lk_error *err);

/* The schema as stored in data files: with DL_CM_NAME and DL_CM_ID every
 * field (at every depth) is renamed to its physical name, and field_id is
 * set from the column-mapping id (DL_CM_ID requires ids, DL_CM_NAME
 * requires physical names; a missing one is LK_ERR_CORRUPT naming the
 * column). With DL_CM_NONE a copy with logical names and field_id -1.
 * Result in arena a. */
lk_type *dl_schema_physical(const dl_schema *s, dl_column_mapping mode,
							lk_arena *a, lk_error *err);

/* Parse the delta.columnMapping.mode value (NULL → none). Unknown values
 * fail with LK_ERR_UNSUPPORTED. */
bool dl_column_mapping_parse(const char *value, dl_column_mapping *out,
							 lk_error *err);

/* Index of a top-level field by logical name: exact match first, then
 * ASCII case-insensitive (Delta names are case-insensitive); -1 if none. */
int dl_schema_field_index(const lk_type *st, const char *name);

#endif
