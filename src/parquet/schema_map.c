/*
 * schema_map.c — Parquet schema (flat SchemaElement list) → lk types and the
 * level bookkeeping of every column (see schema_map.h).
 *
 * The flat list is the depth-first walk of the tree, root first; a group
 * says how many children follow it:
 *
 *     [root nc=2] [a nc=1] [list rep=REPEATED nc=1] [element INT32] [b INT64]
 *
 * Levels along a path: every OPTIONAL or REPEATED node adds one definition
 * level, every REPEATED node one repetition level.
 *
 * Shapes recognised (parquet-format LogicalTypes.md, incl. its backward
 * compatibility rules):
 *   LIST   group (LIST) { repeated group list { <element> } }        3-level
 *          group (LIST) { repeated <primitive> }                      2-level
 *          group (LIST) { repeated group array|<name>_tuple|>1 fields
 *                         |one repeated field }                      2-level
 *   MAP    group (MAP|MAP_KEY_VALUE) { repeated group kv { key; [value] } }
 *          (no value field → array of keys)
 *   any other repeated field → array of that field (required elements)
 *   other groups → struct
 * Primitive annotations follow src/parquet/README.md; an annotation the
 * codec does not know (or that does not fit the physical type) falls back
 * to the physical type.
 */
#include "parquet/schema_map.h"

#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 100

typedef struct tnode tnode;
struct tnode {
	const pq_schema_element *e;
	int index;
	int16_t def, rep;         /* levels at this node, inclusive */
	tnode *parent;
	int nchildren;
	tnode *children;
	const char *path;
};

typedef struct build_ctx {
	const pq_file_meta *fm;
	const char *name;
	lk_arena *arena;
	lk_error *err;
	int next;                 /* next schema element to consume */
	int nleaves;
	pq_leaf *leaves;
	int leaf_cap;
} build_ctx;

static bool
schema_error(build_ctx *c, int index, const char *what)
{
	lk_error_set(c->err, LK_ERR_CORRUPT, "invalid parquet schema: %s", what);
	const pq_schema_element *e = index >= 0 && index < c->fm->nschema
		? &c->fm->schema[index] : NULL;
	lk_error_where(c->err, "file \"%s\", schema element %d%s%s%s", c->name,
				   index, e && e->name ? " \"" : "", e && e->name ? e->name : "",
				   e && e->name ? "\"" : "");
	return false;
}

static bool
is_group(const pq_schema_element *e)
{
	return e->has_num_children && e->num_children > 0;
}

/* Parse the element at c->next and its subtree into t. */
static bool
parse_tree(build_ctx *c, tnode *t, tnode *parent, int depth)
{
	int idx = c->next++;
	if (idx >= c->fm->nschema)
		return schema_error(c, idx, "children past the end of the schema list");
	const pq_schema_element *e = &c->fm->schema[idx];
	if (depth > MAX_DEPTH)
		return schema_error(c, idx, "nesting deeper than 100 levels");
	if (!e->name)
		return schema_error(c, idx, "element without a name");
	t->e = e;
	t->index = idx;
	t->parent = parent;
	t->def = parent ? parent->def : 0;
	t->rep = parent ? parent->rep : 0;
	if (parent) {
		if (!e->has_repetition)
			return schema_error(c, idx, "field without repetition type");
		if (e->repetition != PQ_REQUIRED && e->repetition != PQ_OPTIONAL &&
			e->repetition != PQ_REPEATED)
			return schema_error(c, idx, "unknown repetition type");
		if (e->repetition != PQ_REQUIRED)
			t->def++;
		if (e->repetition == PQ_REPEATED)
			t->rep++;
		t->path = parent->parent
			? lk_arena_sprintf(c->arena, "%s.%s", parent->path, e->name)
			: e->name;
	} else {
		t->path = "";
	}
	if (is_group(e) || !parent) {
		if (e->has_num_children && e->num_children > c->fm->nschema - c->next)
			return schema_error(c, idx, "more children than schema elements");
		t->nchildren = e->has_num_children && e->num_children > 0 ? e->num_children : 0;
		t->children = lk_arena_zalloc(c->arena, sizeof(tnode) * (size_t) (t->nchildren + 1));
		for (int i = 0; i < t->nchildren; i++)
			LK_FORWARD(parse_tree(c, &t->children[i], t, depth + 1));
	} else {
		if (!e->has_type)
			return schema_error(c, idx, "leaf without a physical type");
		if (e->type < PQ_BOOLEAN || e->type > PQ_FIXED_LEN_BYTE_ARRAY)
			return schema_error(c, idx, "unknown physical type");
		if (e->type == PQ_FIXED_LEN_BYTE_ARRAY &&
			(!e->has_type_length || e->type_length <= 0))
			return schema_error(c, idx, "FIXED_LEN_BYTE_ARRAY without a positive type_length");
	}
	return true;
}

/* ---- primitive annotations ------------------------------------------ */

static lk_type *
new_type(lk_arena *a, lk_type_id id, int unit, int ext, bool is_unsigned)
{
	lk_type *t = lk_type_new(a, id);
	t->unit = (uint8_t) unit;
	t->ext = (uint8_t) ext;
	t->is_unsigned = is_unsigned;
	return t;
}

static int
unit_of(pq_time_unit u)
{
	switch (u) {
	case PQ_UNIT_MILLIS: return LK_UNIT_MILLIS;
	case PQ_UNIT_NANOS: return LK_UNIT_NANOS;
	default: return LK_UNIT_MICROS;
	}
}

/* Decimal annotation, from the logical type or the converted type. */
static bool
decimal_of(const pq_schema_element *e, int *precision, int *scale)
{
	if (e->has_logical_type && e->logical_type.kind == PQ_LT_DECIMAL) {
		*precision = e->logical_type.precision;
		*scale = e->logical_type.scale;
	} else if (e->has_converted_type && e->converted_type == PQ_CT_DECIMAL) {
		if (!e->has_precision)
			return false;
		*precision = e->precision;
		*scale = e->has_scale ? e->scale : 0;
	} else {
		return false;
	}
	return *precision >= 1 && *scale >= 0 && *scale <= *precision;
}

/* Fill leaf->type / conv from the element's annotations. */
static void
primitive_type(lk_arena *a, const pq_schema_element *e, pq_leaf *leaf)
{
	pq_logical_kind lt = e->has_logical_type ? e->logical_type.kind : PQ_LT_NONE;
	const pq_logical_type *L = &e->logical_type;
	/* A logical type the codec does not know: fall back to the physical
	 * type and ignore the converted type too (as DuckDB does). */
	bool unknown_lt = lt == PQ_LT_OTHER;
	int ct = e->has_converted_type && !unknown_lt && lt == PQ_LT_NONE
		? (int) e->converted_type : -1;
	int p, s;
	bool dec = !unknown_lt && decimal_of(e, &p, &s);

	leaf->physical = e->type;
	leaf->type_length = e->type_length;
	switch (e->type) {
	case PQ_BOOLEAN:
		leaf->conv = PQ_CONV_BOOL;
		leaf->type = new_type(a, LK_T_BOOLEAN, 0, 0, false);
		return;
	case PQ_INT32:
		if (dec) {
			if (p > 38) {
				leaf->conv = PQ_CONV_I32_TO_DBL;
				leaf->dec_scale = s;
				leaf->type = new_type(a, LK_T_DOUBLE, 0, 0, false);
			} else {
				leaf->conv = PQ_CONV_I32_TO_DEC;
				leaf->type = lk_type_decimal(a, p, s);
			}
			return;
		}
		if (lt == PQ_LT_INTEGER && L->bit_width <= 32) {
			bool u = !L->is_signed;
			if (L->bit_width == 8) {
				leaf->conv = PQ_CONV_I32_TO_I8;
				leaf->type = new_type(a, LK_T_BYTE, 0, 0, u);
				return;
			}
			if (L->bit_width == 16) {
				leaf->conv = PQ_CONV_I32_TO_I16;
				leaf->type = new_type(a, LK_T_SHORT, 0, 0, u);
				return;
			}
			if (L->bit_width == 32) {
				leaf->conv = PQ_CONV_I32;
				leaf->type = new_type(a, LK_T_INT, 0, 0, u);
				return;
			}
		}
		if (ct == PQ_CT_INT_8 || ct == PQ_CT_UINT_8) {
			leaf->conv = PQ_CONV_I32_TO_I8;
			leaf->type = new_type(a, LK_T_BYTE, 0, 0, ct == PQ_CT_UINT_8);
			return;
		}
		if (ct == PQ_CT_INT_16 || ct == PQ_CT_UINT_16) {
			leaf->conv = PQ_CONV_I32_TO_I16;
			leaf->type = new_type(a, LK_T_SHORT, 0, 0, ct == PQ_CT_UINT_16);
			return;
		}
		if (lt == PQ_LT_DATE || ct == PQ_CT_DATE) {
			leaf->conv = PQ_CONV_I32;
			leaf->type = new_type(a, LK_T_DATE, 0, 0, false);
			return;
		}
		if ((lt == PQ_LT_TIME && L->unit == PQ_UNIT_MILLIS) ||
			ct == PQ_CT_TIME_MILLIS) {
			leaf->conv = PQ_CONV_I32_TO_I64;
			leaf->type = new_type(a, LK_T_TIME, LK_UNIT_MILLIS,
								  lt == PQ_LT_TIME && L->is_adjusted_to_utc
									  ? LK_EXT_TIME_UTC : 0, false);
			return;
		}
		leaf->conv = PQ_CONV_I32;
		leaf->type = new_type(a, LK_T_INT, 0, 0, ct == PQ_CT_UINT_32);
		return;
	case PQ_INT64:
		if (dec) {
			if (p > 38) {
				leaf->conv = PQ_CONV_I64_TO_DBL;
				leaf->dec_scale = s;
				leaf->type = new_type(a, LK_T_DOUBLE, 0, 0, false);
			} else {
				leaf->conv = PQ_CONV_I64_TO_DEC;
				leaf->type = lk_type_decimal(a, p, s);
			}
			return;
		}
		leaf->conv = PQ_CONV_I64;
		if (lt == PQ_LT_TIMESTAMP) {
			leaf->type = new_type(a, L->is_adjusted_to_utc ? LK_T_TIMESTAMP
								  : LK_T_TIMESTAMP_NTZ, unit_of(L->unit), 0, false);
			return;
		}
		if (ct == PQ_CT_TIMESTAMP_MILLIS || ct == PQ_CT_TIMESTAMP_MICROS) {
			leaf->type = new_type(a, LK_T_TIMESTAMP,
								  ct == PQ_CT_TIMESTAMP_MILLIS ? LK_UNIT_MILLIS
								  : LK_UNIT_MICROS, 0, false);
			return;
		}
		if ((lt == PQ_LT_TIME && L->unit != PQ_UNIT_MILLIS) ||
			ct == PQ_CT_TIME_MICROS) {
			leaf->type = new_type(a, LK_T_TIME,
								  lt == PQ_LT_TIME ? unit_of(L->unit) : LK_UNIT_MICROS,
								  lt == PQ_LT_TIME && L->is_adjusted_to_utc
									  ? LK_EXT_TIME_UTC : 0, false);
			return;
		}
		leaf->type = new_type(a, LK_T_LONG, 0, 0,
							  (lt == PQ_LT_INTEGER && L->bit_width == 64 &&
							   !L->is_signed) || ct == PQ_CT_UINT_64);
		return;
	case PQ_INT96:
		leaf->conv = PQ_CONV_INT96;
		leaf->type = new_type(a, LK_T_TIMESTAMP_NTZ, LK_UNIT_NANOS, LK_EXT_INT96,
							  false);
		return;
	case PQ_FLOAT:
		leaf->conv = PQ_CONV_FLOAT;
		leaf->type = new_type(a, LK_T_FLOAT, 0, 0, false);
		return;
	case PQ_DOUBLE:
		leaf->conv = PQ_CONV_DOUBLE;
		leaf->type = new_type(a, LK_T_DOUBLE, 0, 0, false);
		return;
	case PQ_BYTE_ARRAY:
		if (dec) {
			if (p > 38) {
				leaf->conv = PQ_CONV_BYTES_TO_DBL;
				leaf->dec_scale = s;
				leaf->type = new_type(a, LK_T_DOUBLE, 0, 0, false);
			} else {
				leaf->conv = PQ_CONV_BYTES_TO_DEC;
				leaf->type = lk_type_decimal(a, p, s);
			}
			return;
		}
		leaf->conv = PQ_CONV_BYTES;
		if (lt == PQ_LT_STRING || ct == PQ_CT_UTF8)
			leaf->type = new_type(a, LK_T_STRING, 0, 0, false);
		else if (lt == PQ_LT_JSON || ct == PQ_CT_JSON)
			leaf->type = new_type(a, LK_T_STRING, 0, LK_EXT_JSON, false);
		else if (lt == PQ_LT_ENUM || ct == PQ_CT_ENUM)
			leaf->type = new_type(a, LK_T_STRING, 0, LK_EXT_ENUM, false);
		else if (lt == PQ_LT_BSON || ct == PQ_CT_BSON)
			leaf->type = new_type(a, LK_T_BINARY, 0, LK_EXT_BSON, false);
		else
			leaf->type = new_type(a, LK_T_BINARY, 0, 0, false);
		return;
	case PQ_FIXED_LEN_BYTE_ARRAY: {
		lk_type *t;
		if (dec) {
			if (p > 38) {
				leaf->conv = PQ_CONV_FLBA_TO_DBL;
				leaf->dec_scale = s;
				leaf->type = new_type(a, LK_T_DOUBLE, 0, 0, false);
				return;
			}
			leaf->conv = PQ_CONV_FLBA_TO_DEC;
			t = lk_type_decimal(a, p, s);
			t->fixed_len = e->type_length;
			leaf->type = t;
			return;
		}
		if (lt == PQ_LT_FLOAT16 && e->type_length == 2) {
			leaf->conv = PQ_CONV_F16;
			leaf->type = new_type(a, LK_T_FLOAT, 0, LK_EXT_FLOAT16, false);
			return;
		}
		leaf->conv = PQ_CONV_FLBA;
		int ext = 0;
		if (lt == PQ_LT_UUID && e->type_length == 16)
			ext = LK_EXT_UUID;
		else if (ct == PQ_CT_INTERVAL && e->type_length == 12)
			ext = LK_EXT_INTERVAL;
		t = new_type(a, LK_T_BINARY, 0, ext, false);
		t->fixed_len = e->type_length;
		leaf->type = t;
		return;
	}
	}
}

/* ---- tree → nodes ----------------------------------------------------- */

static bool convert_field(build_ctx *c, const tnode *t, int16_t rep_slot,
						  int16_t def_slot, pq_node *n, lk_field *f);
static bool convert_value(build_ctx *c, const tnode *t, int16_t rep_slot,
						  int16_t def_slot, int16_t def_valid, pq_node *n);

static bool
add_leaf(build_ctx *c, const tnode *t, pq_node *n)
{
	if (c->nleaves == c->leaf_cap) {
		int cap = c->leaf_cap ? c->leaf_cap * 2 : 16;
		pq_leaf *nl = lk_arena_zalloc(c->arena, sizeof(pq_leaf) * (size_t) cap);
		if (c->nleaves)
			memcpy(nl, c->leaves, sizeof(pq_leaf) * (size_t) c->nleaves);
		c->leaves = nl;
		c->leaf_cap = cap;
	}
	pq_leaf *l = &c->leaves[c->nleaves];
	memset(l, 0, sizeof(*l));
	l->schema_index = t->index;
	l->elem = t->e;
	l->path = t->path;
	l->max_def = t->def;
	l->max_rep = t->rep;
	l->def_slot = n->def_slot;
	l->rep_at_def = lk_arena_zalloc(c->arena, sizeof(int16_t) * (size_t) (t->def + 1));
	for (const tnode *p = t; p && p->parent; p = p->parent)
		if (p->e->repetition == PQ_REPEATED)
			for (int d = p->def; d <= t->def; d++)
				l->rep_at_def[d]++;
	primitive_type(c->arena, t->e, l);
	n->kind = PQ_NODE_LEAF;
	n->type = l->type;
	n->leaf = c->nleaves;
	n->nleaves = 1;
	c->nleaves++;
	return true;
}

static bool
has_ct(const pq_schema_element *e, pq_converted_type ct)
{
	return e->has_converted_type && e->converted_type == ct;
}

static bool
has_lt(const pq_schema_element *e, pq_logical_kind k)
{
	return e->has_logical_type && e->logical_type.kind == k;
}

static void
set_span(pq_node *n)
{
	n->leaf = n->nchildren ? n->children[0].leaf : 0;
	n->nleaves = 0;
	for (int i = 0; i < n->nchildren; i++)
		n->nleaves += n->children[i].nleaves;
}

/* A struct of t's children, slots as given. */
static bool
convert_struct(build_ctx *c, const tnode *t, pq_node *n)
{
	lk_type *st = lk_type_struct(c->arena, t->nchildren);
	n->kind = PQ_NODE_STRUCT;
	n->nchildren = t->nchildren;
	n->children = lk_arena_zalloc(c->arena, sizeof(pq_node) * (size_t) t->nchildren);
	for (int i = 0; i < t->nchildren; i++)
		LK_FORWARD(convert_field(c, &t->children[i], n->rep_slot, n->def_slot,
								 &n->children[i], &st->children[i]));
	n->type = st;
	set_span(n);
	return true;
}

/* t (a repeated node) is the list's repeated level; elem is the node of
 * the element values (t itself for 2-level lists, t's child otherwise). */
static bool
convert_list(build_ctx *c, const tnode *t, const tnode *elem, pq_node *n)
{
	n->kind = PQ_NODE_LIST;
	n->rep_elem = t->rep;
	n->def_elem = t->def;
	n->nchildren = 1;
	n->children = lk_arena_zalloc(c->arena, sizeof(pq_node));
	bool nullable;
	int32_t fid = -1;
	if (elem == t) {
		LK_FORWARD(convert_value(c, t, t->rep, t->def, t->def, &n->children[0]));
		nullable = false;
	} else {
		lk_field f;
		memset(&f, 0, sizeof(f));
		LK_FORWARD(convert_field(c, elem, t->rep, t->def, &n->children[0], &f));
		nullable = f.nullable;
		fid = f.field_id;
	}
	n->children[0].name = "element";
	lk_type *at = lk_type_array(c->arena, (lk_type *) n->children[0].type, nullable);
	at->children[0].field_id = fid;
	n->type = at;
	set_span(n);
	return true;
}

static bool
convert_map(build_ctx *c, const tnode *kv, pq_node *n)
{
	n->kind = PQ_NODE_MAP;
	n->rep_elem = kv->rep;
	n->def_elem = kv->def;
	n->nchildren = 2;
	n->children = lk_arena_zalloc(c->arena, 2 * sizeof(pq_node));
	lk_field fk, fv;
	memset(&fk, 0, sizeof(fk));
	memset(&fv, 0, sizeof(fv));
	LK_FORWARD(convert_field(c, &kv->children[0], kv->rep, kv->def, &n->children[0], &fk));
	LK_FORWARD(convert_field(c, &kv->children[1], kv->rep, kv->def, &n->children[1], &fv));
	n->children[0].name = "key";
	n->children[1].name = "value";
	lk_type *mt = lk_type_map(c->arena, fk.type, fv.type, fv.nullable);
	mt->children[0].nullable = fk.nullable;
	mt->children[0].field_id = fk.field_id;
	mt->children[1].field_id = fv.field_id;
	n->type = mt;
	set_span(n);
	return true;
}

/* The value of node t (its repetition already accounted for by the
 * caller): a leaf, list, map or struct. */
static bool
convert_value(build_ctx *c, const tnode *t, int16_t rep_slot, int16_t def_slot,
			  int16_t def_valid, pq_node *n)
{
	n->rep_slot = rep_slot;
	n->def_slot = def_slot;
	n->def_valid = def_valid;
	if (!t->nchildren)
		return add_leaf(c, t, n);

	const pq_schema_element *e = t->e;
	bool is_list = has_ct(e, PQ_CT_LIST) || has_lt(e, PQ_LT_LIST);
	bool is_map = has_ct(e, PQ_CT_MAP) || has_ct(e, PQ_CT_MAP_KEY_VALUE) ||
		has_lt(e, PQ_LT_MAP);
	const tnode *r = t->nchildren == 1 ? &t->children[0] : NULL;
	bool rep_child = r && r->e->repetition == PQ_REPEATED;

	if (is_list && rep_child) {
		if (!r->nchildren)
			return convert_list(c, r, r, n);       /* repeated primitive */
		size_t nl = strlen(e->name);
		bool tuple = strncmp(r->e->name, e->name, nl) == 0 &&
			strcmp(r->e->name + nl, "_tuple") == 0;
		if (r->nchildren > 1 || strcmp(r->e->name, "array") == 0 || tuple ||
			r->children[0].e->repetition == PQ_REPEATED)
			return convert_list(c, r, r, n);       /* 2-level, struct element */
		return convert_list(c, r, &r->children[0], n);
	}
	if (is_map && rep_child && r->nchildren == 2)
		return convert_map(c, r, n);
	if (is_map && rep_child && r->nchildren == 1)
		return convert_list(c, r, &r->children[0], n);  /* keys only */
	return convert_struct(c, t, n);
}

static bool
convert_field(build_ctx *c, const tnode *t, int16_t rep_slot, int16_t def_slot,
			  pq_node *n, lk_field *f)
{
	if (t->e->repetition == PQ_REPEATED) {
		/* An unannotated repeated field: a non-null list of required
		 * elements, null only when its parent is. */
		n->rep_slot = rep_slot;
		n->def_slot = def_slot;
		n->def_valid = (int16_t) (t->def - 1);
		LK_FORWARD(convert_list(c, t, t, n));
		f->nullable = false;
	} else {
		LK_FORWARD(convert_value(c, t, rep_slot, def_slot, t->def, n));
		f->nullable = t->e->repetition == PQ_OPTIONAL;
	}
	n->name = t->e->name;
	f->name = t->e->name;
	f->type = (lk_type *) n->type;
	f->field_id = t->e->has_field_id ? t->e->field_id : -1;
	return true;
}

bool
pq_schema_build(const pq_file_meta *fm, const char *name, lk_arena *arena,
				pq_schema *out, lk_error *err)
{
	build_ctx c;
	memset(&c, 0, sizeof(c));
	c.fm = fm;
	c.name = name;
	c.arena = arena;
	c.err = err;
	memset(out, 0, sizeof(*out));

	if (fm->nschema < 1)
		return schema_error(&c, 0, "empty schema");
	tnode root;
	memset(&root, 0, sizeof(root));
	LK_FORWARD(parse_tree(&c, &root, NULL, 0));
	if (c.next != fm->nschema)
		return schema_error(&c, c.next, "elements after the end of the root");

	lk_type *st = lk_type_struct(arena, root.nchildren);
	out->ncols = root.nchildren;
	out->cols = lk_arena_zalloc(arena, sizeof(pq_node) * (size_t) (root.nchildren + 1));
	for (int i = 0; i < root.nchildren; i++)
		LK_FORWARD(convert_field(&c, &root.children[i], 0, 0, &out->cols[i],
								 &st->children[i]));
	out->root = st;
	out->nleaves = c.nleaves;
	out->leaves = c.leaves;
	return true;
}
