/*
 * pgtypes.h — PostgreSQL → Delta type mapping (DESIGN §5) and the parsers
 * of PostgreSQL's TEXT output into lk_column values (plus, for the
 * snapshot's binary COPY, readers of the binary form of the common types
 * that give exactly the same values: pgt_append_binary).
 *
 * Text is what pgoutput sends ('t' tuple values) and what COPY … TO emits,
 * with the session pinned to DateStyle=ISO, TimeZone=UTC,
 * IntervalStyle=iso_8601, extra_float_digits=3, bytea_output=hex.
 *
 * Usage: map every column once (pgt_map_type(), from the Relation message's
 * type oid and typmod plus catalog facts the caller looked up), make the
 * lk_column with conv->type, then append each value with pgt_append_text().
 * Values Delta cannot hold (a year outside 0001–9999, NaN in a decimal,
 * a multi-dimensional value in an array column, …) are errors, never
 * silently altered; ±infinity dates and timestamps map to the documented
 * minimum / maximum (src/pg/README.md).
 */
#ifndef LK_PG_PGTYPES_H
#define LK_PG_PGTYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/error.h"
#include "common/types.h"

/* Built-in type oids (pg_type.dat; stable across versions). */
enum {
	PGT_OID_BOOL = 16,
	PGT_OID_BYTEA = 17,
	PGT_OID_CHAR = 18,
	PGT_OID_NAME = 19,
	PGT_OID_INT8 = 20,
	PGT_OID_INT2 = 21,
	PGT_OID_INT4 = 23,
	PGT_OID_TEXT = 25,
	PGT_OID_OID = 26,
	PGT_OID_JSON = 114,
	PGT_OID_XML = 142,
	PGT_OID_POINT = 600,
	PGT_OID_BOX = 603,
	PGT_OID_CIDR = 650,
	PGT_OID_FLOAT4 = 700,
	PGT_OID_FLOAT8 = 701,
	PGT_OID_MONEY = 790,
	PGT_OID_MACADDR = 829,
	PGT_OID_INET = 869,
	PGT_OID_BPCHAR = 1042,
	PGT_OID_VARCHAR = 1043,
	PGT_OID_DATE = 1082,
	PGT_OID_TIME = 1083,
	PGT_OID_TIMESTAMP = 1114,
	PGT_OID_TIMESTAMPTZ = 1184,
	PGT_OID_INTERVAL = 1186,
	PGT_OID_TIMETZ = 1266,
	PGT_OID_BIT = 1560,
	PGT_OID_VARBIT = 1562,
	PGT_OID_NUMERIC = 1700,
	PGT_OID_UUID = 2950,
	PGT_OID_TSVECTOR = 3614,
	PGT_OID_JSONB = 3802,
	/* arrays */
	PGT_OID_BOOL_ARRAY = 1000,
	PGT_OID_BYTEA_ARRAY = 1001,
	PGT_OID_INT2_ARRAY = 1005,
	PGT_OID_INT4_ARRAY = 1007,
	PGT_OID_TEXT_ARRAY = 1009,
	PGT_OID_INT8_ARRAY = 1016,
	PGT_OID_FLOAT4_ARRAY = 1021,
	PGT_OID_FLOAT8_ARRAY = 1022,
	PGT_OID_VARCHAR_ARRAY = 1015,
	PGT_OID_DATE_ARRAY = 1182,
	PGT_OID_TIMESTAMP_ARRAY = 1115,
	PGT_OID_TIMESTAMPTZ_ARRAY = 1185,
	PGT_OID_NUMERIC_ARRAY = 1231,
	PGT_OID_UUID_ARRAY = 2951,
	PGT_OID_JSONB_ARRAY = 3807,
};

/* How a column's text is parsed. */
typedef enum pgt_kind {
	PGT_K_BOOL,        /* 't' / 'f' → boolean */
	PGT_K_INT2,        /* → short */
	PGT_K_INT4,        /* → integer */
	PGT_K_INT8,        /* → long */
	PGT_K_FLOAT4,      /* → float (strtof: exact) */
	PGT_K_FLOAT8,      /* → double (strtod: exact) */
	PGT_K_DECIMAL,     /* numeric(p,s), p ≤ 38 → decimal(p,s) */
	PGT_K_TEXT,        /* the text itself → string */
	PGT_K_BYTEA,       /* "\x…" hex (or escape format) → binary */
	PGT_K_UUID,        /* → string, canonical lowercase 36 chars */
	PGT_K_DATE,        /* → date */
	PGT_K_TIMESTAMP,   /* timestamp → timestamp_ntz (micros) */
	PGT_K_TIMESTAMPTZ, /* timestamptz → timestamp (UTC micros) */
	PGT_K_ARRAY,       /* 1-D array → array<element> */
} pgt_kind;

/* The result of mapping one Postgres type: a Delta type and how to parse. */
typedef struct pgt_conv {
	pgt_kind kind;
	lk_type *type;                 /* the Delta type of the column */
	uint32_t pg_oid;               /* the (domain-resolved) Postgres type */
	char delim;                    /* array: element delimiter */
	const struct pgt_conv *elem;   /* array: the element's conversion */
} pgt_conv;

/*
 * What the caller knows about a column's type.  Only oid and typmod are
 * needed for built-in types; for others the caller passes catalog facts:
 *   typtype      pg_type.typtype: 'b' base, 'd' domain, 'e' enum, 'c'
 *                composite, 'r' range, 'm' multirange, 'p' pseudo; 0 unknown
 *   typcategory  pg_type.typcategory ('A' array, 'E' enum, …); 0 unknown
 *   typdelim     array element delimiter (pg_type.typdelim of the element);
 *                0 means ','
 *   ndims        pg_attribute.attndims of an array column (0 = unknown,
 *                treated as 1); > 1 maps the column to string
 *   base         domain: its base type (pg_type.typbasetype, with the
 *                domain's typtypmod as typmod)
 *   elem         array: its element type (pg_type.typelem)
 * For an array the column's typmod applies to the element, as in
 * PostgreSQL (numeric(10,2)[] has atttypmod of numeric(10,2)).
 */
typedef struct pgt_type_desc {
	uint32_t oid;
	int32_t typmod;                /* -1 when none */
	char typtype;
	char typcategory;
	char typdelim;
	int ndims;
	const struct pgt_type_desc *base;
	const struct pgt_type_desc *elem;
} pgt_type_desc;

/* Map a type (DESIGN §5).  Never fails: anything not listed maps to string
 * (its text output).  The result and its lk_type live in arena a. */
const pgt_conv *pgt_map_type(lk_arena *a, const pgt_type_desc *d);
/* Same for a built-in oid with no catalog facts (arrays of built-ins are
 * recognised by their array oid; ndims as in pgt_type_desc). */
const pgt_conv *pgt_map_oid(lk_arena *a, uint32_t oid, int32_t typmod, int ndims);

/* Oid of a pg_catalog type by name ("int4", "_int4", "timestamptz", …), 0
 * if this module does not know it.  pgoutput's Type message names the base
 * type of a domain this way (namespace "" = pg_catalog). */
uint32_t pgt_builtin_oid(const char *typname);

/* Whether values of built-in type oid are fixed-length in PostgreSQL (so
 * never TOASTed): bool, char, name, int2/4/8, oid, float4/8, money, point,
 * box, macaddr, date, time, timetz, timestamp, timestamptz, interval, uuid.
 * False for anything else, domains and user types included. */
bool pgt_fixed_length_oid(uint32_t oid);

/* Proleptic Gregorian date of a day number (days since 1970-01-01): *y the
 * astronomical year (0 = 1 BC, -1 = 2 BC), *m 1..12, *d 1..31. */
void pgt_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/* numeric typmod → precision and scale (scale may be negative or above
 * precision since PostgreSQL 15); false when typmod is -1 / invalid. */
bool pgt_numeric_typmod(int32_t typmod, int *precision, int *scale);

/*
 * Append one value to col (whose type is conv->type): text == NULL appends
 * a null; otherwise text[0..len) is parsed per conv->kind (text need not be
 * NUL-terminated; it is not kept).  On error col is unchanged and err names
 * the column (`column "<colname>"`, plus the array element); the caller adds
 * table and LSN with lk_error_add_where().  Codes: LK_ERR_CORRUPT for text
 * that is not valid output of the type, LK_ERR_UNSUPPORTED for a valid value
 * Delta cannot represent.
 */
bool pgt_append_text(const pgt_conv *conv, lk_column *col, const char *colname,
					 const char *text, size_t len, lk_error *err);

/*
 * The binary COPY format (COPY … TO STDOUT WITH (FORMAT binary)): each
 * value is its type's send-function bytes.  pgt_binary_native() says
 * whether pgt_append_binary() reads conv's values from those bytes to
 * exactly the values pgt_append_text() gives for the type's text output
 * (bit for bit; errors with the same code and message): bool, int2/4/8,
 * float4/8 (any NaN read as the text path's NaN), numeric (to decimal, or
 * to its exact text when unconstrained), text/varchar/bpchar/name/json,
 * jsonb, bytea, uuid, date, timestamp, timestamptz (integer datetimes).
 * Other types (arrays included) are not native: select them as text.
 */
bool pgt_binary_native(const pgt_conv *conv);

/* Append one value given in binary form: p == NULL appends a null;
 * otherwise p[0..len) is decoded per conv (pgt_binary_native(conv) must be
 * true: LK_ERR_INTERNAL otherwise).  Errors as pgt_append_text(), plus
 * LK_ERR_CORRUPT for bytes that are not the type's binary form (a wrong
 * length, a bad numeric header).  On error col is unchanged. */
bool pgt_append_binary(const pgt_conv *conv, lk_column *col, const char *colname,
					   const uint8_t *p, size_t len, lk_error *err);

/* Documented range limits (src/pg/README.md). */
#define PGT_DATE_MIN_DAYS  (-719162)    /* 0001-01-01 */
#define PGT_DATE_MAX_DAYS  2932896      /* 9999-12-31 */
#define PGT_TS_MIN_MICROS  INT64_C(-62135596800000000)  /* 0001-01-01 00:00:00 */
#define PGT_TS_MAX_MICROS  INT64_C(253402300799999999)  /* 9999-12-31 23:59:59.999999 */

/* Scalar parsers, each on text[0..len); false with err->msg set (err->where
 * is left to the caller).  Out-of-range values give LK_ERR_UNSUPPORTED. */
bool pgt_parse_bool(const char *s, size_t n, bool *out, lk_error *err);
bool pgt_parse_int(const char *s, size_t n, int64_t min, int64_t max,
				   int64_t *out, lk_error *err);
bool pgt_parse_float8(const char *s, size_t n, double *out, lk_error *err);
bool pgt_parse_float4(const char *s, size_t n, float *out, lk_error *err);
/* days since 1970-01-01 */
bool pgt_parse_date(const char *s, size_t n, int32_t *days, lk_error *err);
/* micros since 1970-01-01 00:00:00 (UTC for with_tz, which requires an
 * offset such as "+00" and applies it) */
bool pgt_parse_timestamp(const char *s, size_t n, bool with_tz,
						 int64_t *micros, lk_error *err);

#endif
