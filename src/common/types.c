#include "common/types.h"

#include <string.h>

#include "common/buf.h"

lk_type *
lk_type_new(lk_arena *a, lk_type_id id)
{
	lk_type *t = lk_arena_zalloc(a, sizeof(*t));
	t->id = id;
	return t;
}

lk_type *
lk_type_decimal(lk_arena *a, int precision, int scale)
{
	lk_type *t = lk_type_new(a, LK_T_DECIMAL);
	t->precision = (uint8_t) precision;
	t->scale = (uint8_t) scale;
	return t;
}

lk_type *
lk_type_struct(lk_arena *a, int n)
{
	lk_type *t = lk_type_new(a, LK_T_STRUCT);
	t->nchildren = n;
	t->children = n ? lk_arena_zalloc(a, sizeof(lk_field) * (size_t) n) : NULL;
	for (int i = 0; i < n; i++)
		t->children[i].field_id = -1;
	return t;
}

lk_type *
lk_type_array(lk_arena *a, lk_type *element, bool element_nullable)
{
	lk_type *t = lk_type_new(a, LK_T_ARRAY);
	t->nchildren = 1;
	t->children = lk_arena_zalloc(a, sizeof(lk_field));
	t->children[0].name = "element";
	t->children[0].type = element;
	t->children[0].nullable = element_nullable;
	t->children[0].field_id = -1;
	return t;
}

lk_type *
lk_type_map(lk_arena *a, lk_type *key, lk_type *value, bool value_nullable)
{
	lk_type *t = lk_type_new(a, LK_T_MAP);
	t->nchildren = 2;
	t->children = lk_arena_zalloc(a, 2 * sizeof(lk_field));
	t->children[0].name = "key";
	t->children[0].type = key;
	t->children[0].nullable = false;
	t->children[0].field_id = -1;
	t->children[1].name = "value";
	t->children[1].type = value;
	t->children[1].nullable = value_nullable;
	t->children[1].field_id = -1;
	return t;
}

lk_type *
lk_type_copy(lk_arena *a, const lk_type *t)
{
	lk_type *c = lk_arena_memdup(a, t, sizeof(*t));
	if (t->nchildren) {
		c->children = lk_arena_alloc(a, sizeof(lk_field) * (size_t) t->nchildren);
		for (int i = 0; i < t->nchildren; i++) {
			c->children[i] = t->children[i];
			c->children[i].name = t->children[i].name
				? lk_arena_strdup(a, t->children[i].name) : NULL;
			c->children[i].type = lk_type_copy(a, t->children[i].type);
		}
	}
	return c;
}

size_t
lk_type_width(const lk_type *t)
{
	switch (t->id) {
	case LK_T_BOOLEAN:
	case LK_T_BYTE:
		return 1;
	case LK_T_SHORT:
		return 2;
	case LK_T_INT:
	case LK_T_DATE:
	case LK_T_FLOAT:
		return 4;
	case LK_T_LONG:
	case LK_T_DOUBLE:
	case LK_T_TIMESTAMP:
	case LK_T_TIMESTAMP_NTZ:
	case LK_T_TIME:
		return 8;
	case LK_T_DECIMAL:
		return 16;
	default:
		return 0;
	}
}

bool
lk_type_is_nested(const lk_type *t)
{
	return t->id == LK_T_ARRAY || t->id == LK_T_STRUCT || t->id == LK_T_MAP;
}

bool
lk_type_is_varlen(const lk_type *t)
{
	return t->id == LK_T_STRING || t->id == LK_T_BINARY;
}

bool
lk_type_equal(const lk_type *a, const lk_type *b)
{
	if (a->id != b->id || a->precision != b->precision ||
		a->scale != b->scale || a->unit != b->unit || a->ext != b->ext ||
		a->is_unsigned != b->is_unsigned || a->fixed_len != b->fixed_len ||
		a->nchildren != b->nchildren)
		return false;
	for (int i = 0; i < a->nchildren; i++) {
		const lk_field *fa = &a->children[i], *fb = &b->children[i];
		if (fa->nullable != fb->nullable)
			return false;
		if ((fa->name == NULL) != (fb->name == NULL) ||
			(fa->name && strcmp(fa->name, fb->name) != 0))
			return false;
		if (!lk_type_equal(fa->type, fb->type))
			return false;
	}
	return true;
}

const char *
lk_type_id_name(lk_type_id id)
{
	switch (id) {
	case LK_T_BOOLEAN: return "boolean";
	case LK_T_BYTE: return "byte";
	case LK_T_SHORT: return "short";
	case LK_T_INT: return "integer";
	case LK_T_LONG: return "long";
	case LK_T_FLOAT: return "float";
	case LK_T_DOUBLE: return "double";
	case LK_T_DECIMAL: return "decimal";
	case LK_T_STRING: return "string";
	case LK_T_BINARY: return "binary";
	case LK_T_DATE: return "date";
	case LK_T_TIMESTAMP: return "timestamp";
	case LK_T_TIMESTAMP_NTZ: return "timestamp_ntz";
	case LK_T_TIME: return "time";
	case LK_T_ARRAY: return "array";
	case LK_T_STRUCT: return "struct";
	case LK_T_MAP: return "map";
	}
	return "unknown";
}

static void
type_name(lk_buf *b, const lk_type *t)
{
	switch (t->id) {
	case LK_T_DECIMAL:
		lk_buf_printf(b, "decimal(%d,%d)", t->precision, t->scale);
		return;
	case LK_T_ARRAY:
		lk_buf_append_str(b, "array<");
		type_name(b, t->children[0].type);
		lk_buf_append_str(b, ">");
		return;
	case LK_T_MAP:
		lk_buf_append_str(b, "map<");
		type_name(b, t->children[0].type);
		lk_buf_append_str(b, ",");
		type_name(b, t->children[1].type);
		lk_buf_append_str(b, ">");
		return;
	case LK_T_STRUCT:
		lk_buf_append_str(b, "struct<");
		for (int i = 0; i < t->nchildren; i++) {
			if (i)
				lk_buf_append_str(b, ",");
			lk_buf_append_str(b, t->children[i].name ? t->children[i].name : "");
			lk_buf_append_str(b, ":");
			type_name(b, t->children[i].type);
		}
		lk_buf_append_str(b, ">");
		return;
	default:
		if (t->is_unsigned)
			lk_buf_append_str(b, "unsigned ");
		lk_buf_append_str(b, lk_type_id_name(t->id));
	}
}

char *
lk_type_name(lk_arena *a, const lk_type *t)
{
	lk_buf b = LK_BUF_INIT;
	type_name(&b, t);
	char *s = lk_arena_strndup(a, (char *) b.data, b.len);
	lk_buf_free(&b);
	return s;
}

int
lk_type_field_index(const lk_type *st, const char *name)
{
	for (int i = 0; i < st->nchildren; i++)
		if (st->children[i].name && strcmp(st->children[i].name, name) == 0)
			return i;
	return -1;
}
