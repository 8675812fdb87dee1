/*
 * schema_map.h — a Parquet file's flat schema (SchemaElement list) turned into
 * lk types plus the level bookkeeping the reader needs to rebuild nested
 * values from definition / repetition levels.  Internal to the codec.
 *
 * Every lk column of the logical schema (top-level columns, struct fields,
 * list elements, map keys and values) has a pq_node.  A node's "slots" (the
 * rows of its lk_column) are the level entries of any leaf below it with
 *     rep <= rep_slot  and  def >= def_slot
 * and a slot is non-null when def >= def_valid.  Lists and maps open a new
 * level of slots for their children: rep_elem / def_elem are the levels of
 * their repeated Parquet node.
 */
#ifndef PQ_SCHEMA_MAP_H
#define PQ_SCHEMA_MAP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/error.h"
#include "common/types.h"
#include "parquet/meta.h"

typedef enum pq_node_kind {
	PQ_NODE_LEAF,
	PQ_NODE_STRUCT,
	PQ_NODE_LIST,
	PQ_NODE_MAP,
} pq_node_kind;

/* How a leaf's physical values become the lk type's values. */
typedef enum pq_conv {
	PQ_CONV_BOOL,         /* BOOLEAN → uint8 0/1 */
	PQ_CONV_I32,          /* INT32 → int32/uint32/date */
	PQ_CONV_I32_TO_I8,    /* INT32 → int8/uint8 */
	PQ_CONV_I32_TO_I16,   /* INT32 → int16/uint16 */
	PQ_CONV_I32_TO_I64,   /* INT32 → int64 (TIME millis) */
	PQ_CONV_I32_TO_DEC,   /* INT32 → __int128 */
	PQ_CONV_I64,          /* INT64 → int64/uint64 */
	PQ_CONV_I64_TO_DEC,   /* INT64 → __int128 */
	PQ_CONV_INT96,        /* INT96 → int64 nanoseconds since epoch */
	PQ_CONV_FLOAT,        /* FLOAT → float */
	PQ_CONV_DOUBLE,       /* DOUBLE → double */
	PQ_CONV_F16,          /* FLBA(2) half float → float */
	PQ_CONV_BYTES,        /* BYTE_ARRAY → string/binary */
	PQ_CONV_FLBA,         /* FIXED_LEN_BYTE_ARRAY → binary */
	PQ_CONV_BYTES_TO_DEC, /* BYTE_ARRAY big-endian two's complement → __int128 */
	PQ_CONV_FLBA_TO_DEC,  /* FLBA big-endian two's complement → __int128 */
	PQ_CONV_BYTES_TO_DBL, /* decimal with precision > 38 → double */
	PQ_CONV_FLBA_TO_DBL,
	PQ_CONV_I32_TO_DBL,
	PQ_CONV_I64_TO_DBL,
} pq_conv;

typedef struct pq_node pq_node;

struct pq_node {
	pq_node_kind kind;
	const lk_type *type;
	const char *name;          /* field name (lk) */
	int16_t rep_slot, def_slot;
	int16_t def_valid;
	int16_t rep_elem, def_elem; /* list / map */
	int nchildren;
	pq_node *children;         /* struct: fields; list: [element]; map: [key, value] */
	int leaf;                  /* first leaf (column chunk index) below */
	int nleaves;               /* leaves [leaf, leaf + nleaves) */
};

typedef struct pq_leaf {
	int schema_index;          /* index into the file's schema list */
	const pq_schema_element *elem;
	const char *path;          /* dotted path, e.g. "a.list.element" */
	pq_physical_type physical;
	int32_t type_length;       /* FIXED_LEN_BYTE_ARRAY */
	int16_t max_def, max_rep;
	int16_t def_slot;          /* entries with def >= def_slot are slots */
	/* rep_at_def[d] = number of repeated ancestors (incl. self) whose
	 * definition level is <= d: the deepest level the next entry may
	 * repeat at after an entry with definition level d. */
	int16_t *rep_at_def;
	const lk_type *type;       /* the lk type of the values */
	pq_conv conv;
	int dec_scale;             /* PQ_CONV_*_TO_DBL */
} pq_leaf;

typedef struct pq_schema {
	lk_type *root;             /* LK_T_STRUCT of the top-level columns */
	int ncols;
	pq_node *cols;             /* one per top-level column */
	int nleaves;
	pq_leaf *leaves;           /* column chunk order (depth-first) */
} pq_schema;

/* Build the logical schema of fm in arena (everything in *out is owned by
 * the arena).  Malformed schemas fail with LK_ERR_CORRUPT naming the
 * element; name = file name for messages. */
bool pq_schema_build(const pq_file_meta *fm, const char *name, lk_arena *arena,
					 pq_schema *out, lk_error *err);

#endif
