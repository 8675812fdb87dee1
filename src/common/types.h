/*
 * types.h — logical types shared by every codec (DESIGN §5).
 *
 * The Delta/Postgres logical types, plus the few annotations a Parquet file
 * may carry that must survive a read → write round trip (unsigned integers,
 * time units, fixed-length binary, UUID/JSON/ENUM, TIME).  A schema is an
 * LK_T_STRUCT type whose children are the top-level columns.
 *
 * Types live in an arena owned by whoever built them; they are immutable
 * once built and shared freely by pointer.
 */
#ifndef LK_TYPES_H
#define LK_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"

typedef enum lk_type_id {
	LK_T_BOOLEAN,       /* uint8_t 0/1 */
	LK_T_BYTE,          /* int8_t (uint8_t if is_unsigned) */
	LK_T_SHORT,         /* int16_t (uint16_t) */
	LK_T_INT,           /* int32_t (uint32_t) */
	LK_T_LONG,          /* int64_t (uint64_t) */
	LK_T_FLOAT,         /* float */
	LK_T_DOUBLE,        /* double */
	LK_T_DECIMAL,       /* __int128 unscaled value, precision ≤ 38 */
	LK_T_STRING,        /* UTF-8 bytes via offsets + data */
	LK_T_BINARY,        /* bytes via offsets + data */
	LK_T_DATE,          /* int32_t days since 1970-01-01 */
	LK_T_TIMESTAMP,     /* int64_t since epoch, UTC-adjusted, in `unit` */
	LK_T_TIMESTAMP_NTZ, /* int64_t since epoch, local (no zone), in `unit` */
	LK_T_TIME,          /* int64_t since midnight, in `unit` */
	LK_T_ARRAY,         /* offsets into children[0] ("element") */
	LK_T_STRUCT,        /* one child column per field */
	LK_T_MAP,           /* offsets into children[0] (key) and children[1] (value) */
} lk_type_id;

#define LK_T_COUNT (LK_T_MAP + 1)

typedef enum lk_time_unit {
	LK_UNIT_MICROS = 0, /* the default, and Delta's */
	LK_UNIT_MILLIS,
	LK_UNIT_NANOS,
} lk_time_unit;

/* Annotations kept only so a Parquet round trip preserves them. */
typedef enum lk_type_ext {
	LK_EXT_NONE = 0,
	LK_EXT_UUID,        /* BINARY fixed_len 16 */
	LK_EXT_JSON,        /* STRING */
	LK_EXT_BSON,        /* BINARY */
	LK_EXT_ENUM,        /* STRING */
	LK_EXT_INTERVAL,    /* BINARY fixed_len 12 (legacy INTERVAL) */
	LK_EXT_FLOAT16,     /* FLOAT read from a half-float column */
	LK_EXT_INT96,       /* TIMESTAMP_NTZ read from an INT96 column */
	LK_EXT_TIME_UTC,    /* TIME with isAdjustedToUTC = true */
} lk_type_ext;

typedef struct lk_type lk_type;

typedef struct lk_field {
	const char *name;
	lk_type *type;
	bool nullable;
	int32_t field_id;   /* Parquet field_id, -1 when absent */
} lk_field;

struct lk_type {
	lk_type_id id;
	uint8_t precision;  /* decimal */
	uint8_t scale;      /* decimal */
	uint8_t unit;       /* lk_time_unit: timestamp, timestamp_ntz, time */
	uint8_t ext;        /* lk_type_ext */
	bool is_unsigned;   /* byte/short/int/long */
	int32_t fixed_len;  /* binary/decimal stored as FIXED_LEN_BYTE_ARRAY; 0 otherwise */
	int nchildren;
	lk_field *children; /* struct: fields; array: [element]; map: [key, value] */
};

/* Constructors; results are owned by the arena. */
lk_type *lk_type_new(lk_arena *a, lk_type_id id);
lk_type *lk_type_decimal(lk_arena *a, int precision, int scale);
/* Struct with n fields, all zeroed: caller fills children[i]. */
lk_type *lk_type_struct(lk_arena *a, int n);
lk_type *lk_type_array(lk_arena *a, lk_type *element, bool element_nullable);
lk_type *lk_type_map(lk_arena *a, lk_type *key, lk_type *value,
					 bool value_nullable);
/* Deep copy into arena a. */
lk_type *lk_type_copy(lk_arena *a, const lk_type *t);

/* Bytes per value of a fixed-width type; 0 for string/binary/nested. */
size_t lk_type_width(const lk_type *t);
bool lk_type_is_nested(const lk_type *t);
bool lk_type_is_varlen(const lk_type *t);   /* string or binary */
/* Structural equality (names, nullability and annotations included). */
bool lk_type_equal(const lk_type *a, const lk_type *b);
/* Delta-style name: "long", "decimal(10,2)", "array<string>",
 * "struct<a:int,b:string>", "map<string,long>". Returned in arena a. */
char *lk_type_name(lk_arena *a, const lk_type *t);
/* Base name of the id alone ("long", "struct"). Static string. */
const char *lk_type_id_name(lk_type_id id);
/* Index of field `name` in a struct type, or -1. */
int lk_type_field_index(const lk_type *st, const char *name);

#endif
