/*
 * schema.c — Delta schema JSON ⇄ lk_type.
 *
 * Layout (PROTOCOL.md "Schema Serialization Format"):
 *
 *   struct = {"type":"struct","fields":[field, ...]}
 *   field  = {"name":N,"type":T,"nullable":B,"metadata":{...}}
 *   array  = {"type":"array","elementType":T,"containsNull":B}
 *   map    = {"type":"map","keyType":T,"valueType":T,"valueContainsNull":B}
 *   T      = "primitive name" | struct | array | map
 *
 * Column mapping metadata keys: "delta.columnMapping.id" (integer),
 * "delta.columnMapping.physicalName" (string).
 */
#include "delta/schema.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CM_ID "delta.columnMapping.id"
#define CM_PHYS "delta.columnMapping.physicalName"

static bool
schema_corrupt(lk_error *err, const char *column, const char *msg)
{
	lk_error_set(err, LK_ERR_CORRUPT, "invalid Delta schema: %s", msg);
	if (column && column[0])
		return lk_error_where(err, "column \"%s\"", column);
	return lk_error_where(err, "schemaString");
}

/* Parse "decimal(p,s)" with optional spaces; false if malformed. */
static bool
parse_decimal(const char *s, int *p, int *sc)
{
	const char *q = s + 7;  /* after "decimal" */
	char *end;
	while (*q == ' ')
		q++;
	if (*q++ != '(')
		return false;
	while (*q == ' ')
		q++;
	if (!isdigit((unsigned char) *q))
		return false;
	long pv = strtol(q, &end, 10);
	q = end;
	while (*q == ' ')
		q++;
	if (*q++ != ',')
		return false;
	while (*q == ' ')
		q++;
	if (!isdigit((unsigned char) *q))
		return false;
	long sv = strtol(q, &end, 10);
	q = end;
	while (*q == ' ')
		q++;
	if (*q++ != ')' || *q)
		return false;
	if (pv > 1000 || sv > 1000)
		return false;
	*p = (int) pv;
	*sc = (int) sv;
	return true;
}

bool
dl_schema_parse_primitive(const char *name, const char *column, lk_arena *a,
						  lk_type **out, lk_error *err)
{
	static const struct {
		const char *name;
		lk_type_id id;
	} prims[] = {
		{"string", LK_T_STRING},   {"long", LK_T_LONG},
		{"integer", LK_T_INT},     {"short", LK_T_SHORT},
		{"byte", LK_T_BYTE},       {"float", LK_T_FLOAT},
		{"double", LK_T_DOUBLE},   {"boolean", LK_T_BOOLEAN},
		{"binary", LK_T_BINARY},   {"date", LK_T_DATE},
		{"timestamp", LK_T_TIMESTAMP},
		{"timestamp_ntz", LK_T_TIMESTAMP_NTZ},
	};
	for (size_t i = 0; i < sizeof(prims) / sizeof(prims[0]); i++) {
		if (strcmp(name, prims[i].name) == 0) {
			*out = lk_type_new(a, prims[i].id);
			return true;
		}
	}
	if (strcmp(name, "decimal") == 0) {
		*out = lk_type_decimal(a, 10, 0);
		return true;
	}
	if (strncmp(name, "decimal", 7) == 0) {
		int p, s;
		if (!parse_decimal(name, &p, &s)) {
			lk_error_set(err, LK_ERR_CORRUPT, "invalid decimal type \"%s\"", name);
			return lk_error_where(err, "column \"%s\"", column);
		}
		if (p < 1 || p > 38 || s > p) {
			lk_error_set(err, LK_ERR_UNSUPPORTED,
						 "decimal precision/scale out of range in \"%s\" "
						 "(precision 1..38, scale 0..precision)", name);
			return lk_error_where(err, "column \"%s\"", column);
		}
		*out = lk_type_decimal(a, p, s);
		return true;
	}
	lk_error_set(err, LK_ERR_UNSUPPORTED, "unsupported Delta type \"%s\"", name);
	return lk_error_where(err, "column \"%s\"", column);
}

static bool parse_type(json_t *t, const char *column, lk_arena *a,
					   lk_type **out, dl_type_info **info, lk_error *err);

static char *
child_path(lk_arena *a, const char *column, const char *name)
{
	if (!column || !column[0])
		return lk_arena_strdup(a, name);
	return lk_arena_sprintf(a, "%s.%s", column, name);
}

static bool
parse_struct(json_t *t, const char *column, lk_arena *a, lk_type **out,
			 dl_type_info **info, lk_error *err)
{
	json_t *fields = json_object_get(t, "fields");
	if (!json_is_array(fields))
		return schema_corrupt(err, column, "struct without a \"fields\" array");
	int n = (int) json_array_size(fields);
	lk_type *st = lk_type_struct(a, n);
	dl_type_info *ti = lk_arena_zalloc(a, sizeof(*ti));
	ti->nchildren = n;
	ti->children = n ? lk_arena_zalloc(a, sizeof(dl_field_info) * (size_t) n) : NULL;
	for (int i = 0; i < n; i++) {
		json_t *f = json_array_get(fields, (size_t) i);
		if (!json_is_object(f))
			return schema_corrupt(err, column, "a struct field is not an object");
		json_t *jn = json_object_get(f, "name");
		if (!json_is_string(jn))
			return schema_corrupt(err, column, "a struct field has no \"name\"");
		const char *name = lk_arena_strdup(a, json_string_value(jn));
		char *path = child_path(a, column, name);
		for (int j = 0; j < i; j++)
			if (strcasecmp(st->children[j].name, name) == 0)
				return schema_corrupt(err, path, "duplicate field name "
										   "(names are case-insensitive)");
		json_t *jnull = json_object_get(f, "nullable");
		if (jnull && !json_is_boolean(jnull))
			return schema_corrupt(err, path, "\"nullable\" must be a boolean");
		json_t *md = json_object_get(f, "metadata");
		if (md && !json_is_null(md) && !json_is_object(md))
			return schema_corrupt(err, path, "\"metadata\" must be an object");
		dl_field_info *fi = &ti->children[i];
		fi->id = -1;
		if (md && json_is_object(md)) {
			json_t *id = json_object_get(md, CM_ID);
			if (id) {
				if (!json_is_integer(id) || json_integer_value(id) < 0 ||
					json_integer_value(id) > INT32_MAX)
					return schema_corrupt(err, path, "\"" CM_ID "\" must be a "
											   "non-negative 32-bit integer");
				fi->id = (int32_t) json_integer_value(id);
			}
			json_t *pn = json_object_get(md, CM_PHYS);
			if (pn) {
				if (!json_is_string(pn) || !json_string_value(pn)[0])
					return schema_corrupt(err, path, "\"" CM_PHYS "\" must be a "
											   "non-empty string");
				fi->physical_name = lk_arena_strdup(a, json_string_value(pn));
			}
			char *s = json_dumps(md, JSON_COMPACT);
			if (!s)
				return schema_corrupt(err, path, "could not serialize metadata");
			fi->metadata = lk_arena_strdup(a, s);
			free(s);
		} else {
			fi->metadata = "{}";
		}
		st->children[i].name = name;
		st->children[i].nullable = jnull ? json_is_true(jnull) : true;
		st->children[i].field_id = -1;
		json_t *ft = json_object_get(f, "type");
		if (!ft)
			return schema_corrupt(err, path, "a struct field has no \"type\"");
		LK_FORWARD(parse_type(ft, path, a, &st->children[i].type, &fi->info, err));
	}
	*out = st;
	*info = ti;
	return true;
}

static bool
parse_type(json_t *t, const char *column, lk_arena *a, lk_type **out,
		   dl_type_info **info, lk_error *err)
{
	*info = NULL;
	if (json_is_string(t))
		return dl_schema_parse_primitive(json_string_value(t), column, a, out,
										 err);
	if (!json_is_object(t))
		return schema_corrupt(err, column, "a type must be a string or an object");
	json_t *jt = json_object_get(t, "type");
	if (!json_is_string(jt))
		return schema_corrupt(err, column, "a complex type has no \"type\" name");
	const char *kind = json_string_value(jt);
	if (strcmp(kind, "struct") == 0)
		return parse_struct(t, column, a, out, info, err);
	if (strcmp(kind, "array") == 0) {
		json_t *et = json_object_get(t, "elementType");
		json_t *cn = json_object_get(t, "containsNull");
		if (!et)
			return schema_corrupt(err, column, "array without \"elementType\"");
		if (cn && !json_is_boolean(cn))
			return schema_corrupt(err, column, "\"containsNull\" must be a boolean");
		lk_type *e;
		dl_type_info *ei;
		LK_FORWARD(parse_type(et, lk_arena_sprintf(a, "%s.element", column), a,
							  &e, &ei, err));
		*out = lk_type_array(a, e, cn ? json_is_true(cn) : true);
		dl_type_info *ti = lk_arena_zalloc(a, sizeof(*ti));
		ti->nchildren = 1;
		ti->children = lk_arena_zalloc(a, sizeof(dl_field_info));
		ti->children[0].id = -1;
		ti->children[0].metadata = "{}";
		ti->children[0].info = ei;
		*info = ti;
		return true;
	}
	if (strcmp(kind, "map") == 0) {
		json_t *kt = json_object_get(t, "keyType");
		json_t *vt = json_object_get(t, "valueType");
		json_t *vn = json_object_get(t, "valueContainsNull");
		if (!kt || !vt)
			return schema_corrupt(err, column, "map without \"keyType\"/\"valueType\"");
		if (vn && !json_is_boolean(vn))
			return schema_corrupt(err, column,
								  "\"valueContainsNull\" must be a boolean");
		lk_type *k, *v;
		dl_type_info *ki, *vi;
		LK_FORWARD(parse_type(kt, lk_arena_sprintf(a, "%s.key", column), a, &k,
							  &ki, err));
		LK_FORWARD(parse_type(vt, lk_arena_sprintf(a, "%s.value", column), a, &v,
							  &vi, err));
		*out = lk_type_map(a, k, v, vn ? json_is_true(vn) : true);
		dl_type_info *ti = lk_arena_zalloc(a, sizeof(*ti));
		ti->nchildren = 2;
		ti->children = lk_arena_zalloc(a, 2 * sizeof(dl_field_info));
		ti->children[0].id = ti->children[1].id = -1;
		ti->children[0].metadata = ti->children[1].metadata = "{}";
		ti->children[0].info = ki;
		ti->children[1].info = vi;
		*info = ti;
		return true;
	}
	/* a complex kind we do not know ("variant" arrives as a primitive name
	 * and is refused there) */
	lk_error_set(err, LK_ERR_UNSUPPORTED, "unsupported Delta type \"%s\"", kind);
	return lk_error_where(err, "column \"%s\"", column);
}

bool
dl_schema_parse(const char *json, lk_arena *a, dl_schema *out, lk_error *err)
{
	json_error_t je;
	json_t *root = json_loads(json, 0, &je);
	if (!root) {
		lk_error_set(err, LK_ERR_CORRUPT, "invalid schemaString JSON: %s", je.text);
		return lk_error_where(err, "schemaString column %d", je.column);
	}
	bool ok;
	json_t *jt = json_object_get(root, "type");
	if (!json_is_object(root) || !json_is_string(jt) ||
		strcmp(json_string_value(jt), "struct") != 0)
		ok = schema_corrupt(err, NULL, "the top-level type must be a struct");
	else
		ok = parse_struct(root, "", a, &out->type, &out->info, err);
	json_decref(root);
	return ok;
}

/* ---- writing ----------------------------------------------------------- */

static json_t *write_type(const lk_type *t, const dl_type_info *info,
						  const char *column, lk_error *err);

static json_t *
write_struct(const lk_type *t, const dl_type_info *info, const char *column,
			 lk_error *err)
{
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string("struct"));
	json_t *fields = json_array();
	json_object_set_new(o, "fields", fields);
	for (int i = 0; i < t->nchildren; i++) {
		const lk_field *f = &t->children[i];
		const dl_field_info *fi =
			info && i < info->nchildren ? &info->children[i] : NULL;
		char path[512];
		snprintf(path, sizeof(path), "%s%s%s", column, column[0] ? "." : "",
				 f->name ? f->name : "");
		json_t *jname = f->name ? json_string(f->name) : NULL;
		if (!jname) {
			lk_error_set(err, LK_ERR_INVALID, "field name missing or not UTF-8");
			lk_error_where(err, "column \"%s\"", path);
			json_decref(o);
			return NULL;
		}
		json_t *ft = write_type(f->type, fi ? fi->info : NULL, path, err);
		if (!ft) {
			json_decref(jname);
			json_decref(o);
			return NULL;
		}
		json_t *md = NULL;
		if (fi && fi->metadata) {
			json_error_t je;
			md = json_loads(fi->metadata, 0, &je);
			if (!md || !json_is_object(md)) {
				json_decref(md);
				json_decref(jname);
				json_decref(ft);
				json_decref(o);
				lk_error_set(err, LK_ERR_INVALID, "field metadata is not a JSON object");
				lk_error_where(err, "column \"%s\"", path);
				return NULL;
			}
		} else {
			md = json_object();
		}
		json_t *jf = json_object();
		json_object_set_new(jf, "name", jname);
		json_object_set_new(jf, "type", ft);
		json_object_set_new(jf, "nullable", json_boolean(f->nullable));
		json_object_set_new(jf, "metadata", md);
		json_array_append_new(fields, jf);
	}
	return o;
}

static json_t *
write_type(const lk_type *t, const dl_type_info *info, const char *column,
		   lk_error *err)
{
	char buf[64];
	if (t->is_unsigned || t->id == LK_T_TIME) {
		lk_error_set(err, LK_ERR_UNSUPPORTED, "type \"%s%s\" has no Delta equivalent",
					 t->is_unsigned ? "unsigned " : "", lk_type_id_name(t->id));
		lk_error_where(err, "column \"%s\"", column);
		return NULL;
	}
	switch (t->id) {
	case LK_T_BOOLEAN: return json_string("boolean");
	case LK_T_BYTE: return json_string("byte");
	case LK_T_SHORT: return json_string("short");
	case LK_T_INT: return json_string("integer");
	case LK_T_LONG: return json_string("long");
	case LK_T_FLOAT: return json_string("float");
	case LK_T_DOUBLE: return json_string("double");
	case LK_T_STRING: return json_string("string");
	case LK_T_BINARY: return json_string("binary");
	case LK_T_DATE: return json_string("date");
	case LK_T_TIMESTAMP: return json_string("timestamp");
	case LK_T_TIMESTAMP_NTZ: return json_string("timestamp_ntz");
	case LK_T_DECIMAL:
		snprintf(buf, sizeof(buf), "decimal(%d,%d)", t->precision, t->scale);
		return json_string(buf);
	case LK_T_STRUCT:
		return write_struct(t, info, column, err);
	case LK_T_ARRAY: {
		const dl_type_info *ei =
			info && info->nchildren >= 1 ? info->children[0].info : NULL;
		json_t *e = write_type(t->children[0].type, ei, column, err);
		if (!e)
			return NULL;
		json_t *o = json_object();
		json_object_set_new(o, "type", json_string("array"));
		json_object_set_new(o, "elementType", e);
		json_object_set_new(o, "containsNull", json_boolean(t->children[0].nullable));
		return o;
	}
	case LK_T_MAP: {
		const dl_type_info *ki =
			info && info->nchildren >= 2 ? info->children[0].info : NULL;
		const dl_type_info *vi =
			info && info->nchildren >= 2 ? info->children[1].info : NULL;
		json_t *k = write_type(t->children[0].type, ki, column, err);
		if (!k)
			return NULL;
		json_t *v = write_type(t->children[1].type, vi, column, err);
		if (!v) {
			json_decref(k);
			return NULL;
		}
		json_t *o = json_object();
		json_object_set_new(o, "type", json_string("map"));
		json_object_set_new(o, "keyType", k);
		json_object_set_new(o, "valueType", v);
		json_object_set_new(o, "valueContainsNull",
							json_boolean(t->children[1].nullable));
		return o;
	}
	default:
		break;
	}
	lk_error_set(err, LK_ERR_UNSUPPORTED, "type \"%s\" has no Delta equivalent",
				 lk_type_id_name(t->id));
	lk_error_where(err, "column \"%s\"", column);
	return NULL;
}

bool
dl_schema_write(const lk_type *type, const dl_type_info *info, lk_buf *out,
				lk_error *err)
{
	if (type->id != LK_T_STRUCT)
		return lk_error_set(err, LK_ERR_INVALID, "a Delta schema must be a struct");
	json_t *o = write_struct(type, info, "", err);
	if (!o)
		return false;
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s)
		return lk_error_set(err, LK_ERR_INVALID, "could not serialize the schema");
	lk_buf_append_str(out, s);
	free(s);
	return true;
}

/* ---- column mapping ---------------------------------------------------- */

bool
dl_column_mapping_parse(const char *value, dl_column_mapping *out,
						lk_error *err)
{
	if (!value || strcasecmp(value, "none") == 0)
		*out = DL_CM_NONE;
	else if (strcasecmp(value, "name") == 0)
		*out = DL_CM_NAME;
	else if (strcasecmp(value, "id") == 0)
		*out = DL_CM_ID;
	else {
		lk_error_set(err, LK_ERR_UNSUPPORTED,
					 "unsupported column mapping mode \"%s\"", value);
		return lk_error_where(err, "table property \"delta.columnMapping.mode\"");
	}
	return true;
}

static lk_type *
physical(const lk_type *t, const dl_type_info *info, dl_column_mapping mode,
		 const char *column, lk_arena *a, lk_error *err)
{
	lk_type *c = lk_arena_memdup(a, t, sizeof(*t));
	if (!t->nchildren)
		return c;
	c->children = lk_arena_alloc(a, sizeof(lk_field) * (size_t) t->nchildren);
	for (int i = 0; i < t->nchildren; i++) {
		const dl_field_info *fi =
			info && i < info->nchildren ? &info->children[i] : NULL;
		c->children[i] = t->children[i];
		c->children[i].field_id = -1;
		const char *name = t->children[i].name;
		char *path = lk_arena_sprintf(a, "%s%s%s", column, column[0] ? "." : "",
									  name);
		if (t->id == LK_T_STRUCT && mode != DL_CM_NONE) {
			if (!fi || !fi->physical_name) {
				lk_error_set(err, LK_ERR_CORRUPT,
							 "column mapping is enabled but the column has no "
							 "physical name");
				lk_error_where(err, "column \"%s\"", path);
				return NULL;
			}
			if (mode == DL_CM_ID && fi->id < 0) {
				lk_error_set(err, LK_ERR_CORRUPT,
							 "column mapping mode id but the column has no id");
				lk_error_where(err, "column \"%s\"", path);
				return NULL;
			}
			name = fi->physical_name;
			if (mode == DL_CM_ID)
				c->children[i].field_id = fi->id;
		}
		c->children[i].name = lk_arena_strdup(a, name);
		c->children[i].type = physical(t->children[i].type, fi ? fi->info : NULL,
									   mode, path, a, err);
		if (!c->children[i].type)
			return NULL;
	}
	return c;
}

lk_type *
dl_schema_physical(const dl_schema *s, dl_column_mapping mode, lk_arena *a,
				   lk_error *err)
{
	return physical(s->type, s->info, mode, "", a, err);
}

int
dl_schema_field_index(const lk_type *st, const char *name)
{
	for (int i = 0; i < st->nchildren; i++)
		if (strcmp(st->children[i].name, name) == 0)
			return i;
	for (int i = 0; i < st->nchildren; i++)
		if (strcasecmp(st->children[i].name, name) == 0)
			return i;
	return -1;
}
