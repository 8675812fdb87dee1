/*
 * evolve.c — schema evolution of an existing Delta table (see evolve.h).
 *
 *   metaData.schemaString ──dl_schema_parse──▶ fields + field infos
 *        │ column mapping needed (DROP/RENAME) and off?
 *        │    └─ every field: physicalName = name, id = ++maxColumnId
 *        │ each change in order: ADD / DROP / RENAME / WIDEN
 *        ▼
 *   dl_schema_write ──▶ new schemaString; configuration += mode,
 *   maxColumnId, enableTypeWidening; protocol += features
 *
 * Field metadata is kept as compact JSON (dl_field_info.metadata) and
 * edited with jansson, so keys this module does not know survive.
 */
#include "delta/evolve.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"

#define CM_ID "delta.columnMapping.id"
#define CM_PHYS "delta.columnMapping.physicalName"
#define CM_MODE "delta.columnMapping.mode"
#define CM_MAX "delta.columnMapping.maxColumnId"
#define TW_ENABLE "delta.enableTypeWidening"
#define TW_CHANGES "delta.typeChanges"

/* ---- types -------------------------------------------------------------- */

static int
int_rank(lk_type_id id)
{
	switch (id) {
	case LK_T_BYTE: return 1;
	case LK_T_SHORT: return 2;
	case LK_T_INT: return 3;
	case LK_T_LONG: return 4;
	default: return 0;
	}
}

bool
dl_type_widening_allowed(const lk_type *from, const lk_type *to)
{
	if (!from || !to || lk_type_is_nested(from) || lk_type_is_nested(to) ||
		from->is_unsigned || to->is_unsigned)
		return false;
	int rf = int_rank(from->id), rt = int_rank(to->id);
	if (rf && rt)
		return rt > rf;
	if (from->id == LK_T_FLOAT && to->id == LK_T_DOUBLE)
		return true;
	if (rf && rf <= 3 && to->id == LK_T_DOUBLE)
		return true;
	if (from->id == LK_T_DATE && to->id == LK_T_TIMESTAMP_NTZ)
		return true;
	if (to->id == LK_T_DECIMAL) {
		int p, s;
		if (from->id == LK_T_DECIMAL) {
			p = from->precision;
			s = from->scale;
		} else if (rf && rf <= 3) {
			p = 10;
			s = 0;
		} else if (rf == 4) {
			p = 20;
			s = 0;
		} else {
			return false;
		}
		int k1 = to->precision - p, k2 = to->scale - s;
		if (from->id == LK_T_DECIMAL && k1 == 0 && k2 == 0)
			return false;       /* the same type */
		return k2 >= 0 && k1 >= k2 && to->precision <= 38;
	}
	return false;
}

const char *
dl_type_json_name(lk_arena *a, const lk_type *t)
{
	if (!t || t->is_unsigned)
		return NULL;
	switch (t->id) {
	case LK_T_BOOLEAN: case LK_T_BYTE: case LK_T_SHORT: case LK_T_INT: case LK_T_LONG:
	case LK_T_FLOAT: case LK_T_DOUBLE: case LK_T_STRING: case LK_T_BINARY: case LK_T_DATE:
	case LK_T_TIMESTAMP: case LK_T_TIMESTAMP_NTZ:
		return lk_type_id_name(t->id);      /* Delta's primitive type names */
	case LK_T_DECIMAL:
		return lk_arena_sprintf(a, "decimal(%d,%d)", t->precision, t->scale);
	default:
		return NULL;
	}
}

/* ---- protocol ------------------------------------------------------------- */

static bool
listed(const dl_strings *l, const char *f)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->items[i], f) == 0)
			return true;
	return false;
}

/* Append f to a list of at most cap entries (no duplicates). */
static void
push(const char **items, int *n, int cap, const char *f)
{
	for (int i = 0; i < *n; i++)
		if (strcmp(items[i], f) == 0)
			return;
	if (*n < cap)
		items[(*n)++] = f;
}

void
dl_protocol_add_feature(const dl_protocol *p, const char *feature, bool reader,
						lk_arena *a, dl_protocol *out, bool *changed)
{
	bool rlisted = p->min_reader_version >= 3 && p->has_reader_features &&
				   listed(&p->reader_features, feature);
	bool wlisted = p->min_writer_version >= 7 && p->has_writer_features &&
				   listed(&p->writer_features, feature);
	*out = *p;
	if (wlisted && (!reader || rlisted)) {
		*changed = false;
		return;
	}
	*changed = true;
	int wcap = p->writer_features.n + 12, rcap = p->reader_features.n + 4;
	const char **w = lk_arena_alloc(a, sizeof(char *) * (size_t) wcap);
	const char **r = lk_arena_alloc(a, sizeof(char *) * (size_t) rcap);
	int nw = 0, nr = 0;
	if (p->min_writer_version >= 7) {
		for (int i = 0; i < p->writer_features.n; i++)
			push(w, &nw, wcap, lk_arena_strdup(a, p->writer_features.items[i]));
	} else {
		static const struct { int v; const char *f; } implied[] = {
			{2, "appendOnly"}, {2, "invariants"}, {3, "checkConstraints"},
			{4, "changeDataFeed"}, {4, "generatedColumns"}, {5, "columnMapping"},
			{6, "identityColumns"},
		};
		for (size_t i = 0; i < sizeof(implied) / sizeof(implied[0]); i++)
			if (p->min_writer_version >= implied[i].v)
				push(w, &nw, wcap, implied[i].f);
	}
	push(w, &nw, wcap, lk_arena_strdup(a, feature));
	out->min_writer_version = 7;
	out->has_writer_features = true;
	out->writer_features.items = w;
	out->writer_features.n = nw;
	if (!reader) {
		/* a reader on table features keeps its list as is */
		return;
	}
	if (p->min_reader_version >= 3) {
		for (int i = 0; i < p->reader_features.n; i++)
			push(r, &nr, rcap, lk_arena_strdup(a, p->reader_features.items[i]));
	} else if (p->min_reader_version >= 2) {
		push(r, &nr, rcap, "columnMapping");
	}
	push(r, &nr, rcap, lk_arena_strdup(a, feature));
	/* every reader feature is also a writer feature */
	for (int i = 0; i < nr; i++)
		push(w, &nw, wcap, r[i]);
	out->writer_features.n = nw;
	out->min_reader_version = 3;
	out->has_reader_features = true;
	out->reader_features.items = r;
	out->reader_features.n = nr;
}

static bool
protocol_supports_cm(const dl_protocol *p)
{
	if (p->min_reader_version >= 3)
		return p->has_reader_features && listed(&p->reader_features, "columnMapping");
	return p->min_reader_version >= 2;
}

/* ---- field metadata JSON ------------------------------------------------------ */

const char *
dl_metadata_json_set(lk_arena *a, const char *json, const char *key,
					 const char *value_json, lk_error *err)
{
	json_error_t je;
	json_t *o = json_loads(json && *json ? json : "{}", 0, &je);
	if (!o || !json_is_object(o)) {
		json_decref(o);
		lk_error_set(err, LK_ERR_CORRUPT, "field metadata is not a JSON object");
		return NULL;
	}
	json_t *v = json_loads(value_json, JSON_DECODE_ANY, &je);
	if (!v) {
		json_decref(o);
		lk_error_set(err, LK_ERR_INVALID, "metadata value is not JSON: %s", je.text);
		return NULL;
	}
	json_object_set_new(o, key, v);
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s) {
		lk_error_set(err, LK_ERR_INVALID, "could not serialize field metadata");
		return NULL;
	}
	const char *r = lk_arena_strdup(a, s);
	free(s);
	return r;
}

/* fi with column-mapping id and physical name set (both in its JSON and in
 * its parsed fields). */
static bool
set_mapping(lk_arena *a, dl_field_info *fi, int64_t id, const char *phys,
			lk_error *err)
{
	char idbuf[32];
	snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
	json_t *js = json_string(phys);
	char *pj = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
	json_decref(js);
	if (!pj)
		return lk_error_set(err, LK_ERR_INVALID, "column name is not UTF-8");
	const char *md = dl_metadata_json_set(a, fi->metadata, CM_ID, idbuf, err);
	if (md)
		md = dl_metadata_json_set(a, md, CM_PHYS, pj, err);
	free(pj);
	if (!md)
		return false;
	fi->metadata = md;
	fi->id = (int32_t) id;
	fi->physical_name = lk_arena_strdup(a, phys);
	return true;
}

/* The infos of a type's nested fields, allocated (empty metadata) when
 * missing so they can be filled. */
static dl_type_info *
ensure_info(lk_arena *a, const lk_type *t, dl_type_info *info)
{
	int n = t->id == LK_T_STRUCT ? t->nchildren : t->id == LK_T_ARRAY ? 1 :
			t->id == LK_T_MAP ? 2 : 0;
	if (!n)
		return info;
	if (info && info->nchildren == n)
		return info;
	dl_type_info *ni = lk_arena_zalloc(a, sizeof(*ni));
	ni->nchildren = n;
	ni->children = lk_arena_zalloc(a, sizeof(dl_field_info) * (size_t) n);
	for (int i = 0; i < n; i++) {
		ni->children[i].id = -1;
		ni->children[i].metadata = "{}";
		if (info && i < info->nchildren)
			ni->children[i] = info->children[i];
	}
	return ni;
}

/* Give every struct field under t (at every depth) that has none an id
 * (++*max) and a physical name: its own name when keep_names, else
 * "col-<uuid>".  *info may be replaced (allocated when missing). */
static bool
assign_mapping(lk_arena *a, const lk_type *t, dl_type_info **info, bool keep_names,
			   int64_t *max, lk_error *err)
{
	dl_type_info *ti = ensure_info(a, t, *info);
	*info = ti;
	for (int i = 0; ti && i < ti->nchildren; i++) {
		dl_field_info *fi = &ti->children[i];
		const lk_type *ct = t->children[i].type;
		if (t->id == LK_T_STRUCT && (!fi->physical_name || fi->id < 0)) {
			char uuid[37], phys[48];
			const char *pn = fi->physical_name;
			if (!pn) {
				if (keep_names) {
					pn = t->children[i].name;
				} else {
					dl_uuid_v4(uuid);
					snprintf(phys, sizeof(phys), "col-%s", uuid);
					pn = phys;
				}
			}
			int64_t id = fi->id >= 0 ? fi->id : ++*max;
			LK_FORWARD(set_mapping(a, fi, id, pn, err));
		}
		if (lk_type_is_nested(ct))
			LK_FORWARD(assign_mapping(a, ct, &fi->info, keep_names, max, err));
	}
	return true;
}

/* Largest column-mapping id under info. */
static int64_t
max_id(const dl_type_info *info)
{
	int64_t m = 0;
	for (int i = 0; info && i < info->nchildren; i++) {
		if (info->children[i].id > m)
			m = info->children[i].id;
		int64_t c = max_id(info->children[i].info);
		if (c > m)
			m = c;
	}
	return m;
}

/* Append {fromType, toType} to the field's delta.typeChanges. */
static bool
add_type_change(lk_arena *a, dl_field_info *fi, const lk_type *from, const lk_type *to,
				lk_error *err)
{
	json_error_t je;
	json_t *o = json_loads(fi->metadata && *fi->metadata ? fi->metadata : "{}", 0, &je);
	if (!o || !json_is_object(o)) {
		json_decref(o);
		return lk_error_set(err, LK_ERR_CORRUPT, "field metadata is not a JSON object");
	}
	json_t *l = json_object_get(o, TW_CHANGES);
	if (l && !json_is_array(l)) {
		json_decref(o);
		return lk_error_set(err, LK_ERR_CORRUPT, "\"" TW_CHANGES "\" is not a list");
	}
	if (!l) {
		l = json_array();
		json_object_set_new(o, TW_CHANGES, l);
	}
	json_t *ch = json_object();
	json_object_set_new(ch, "fromType", json_string(dl_type_json_name(a, from)));
	json_object_set_new(ch, "toType", json_string(dl_type_json_name(a, to)));
	json_array_append_new(l, ch);
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s)
		return lk_error_set(err, LK_ERR_INVALID, "could not serialize field metadata");
	fi->metadata = lk_arena_strdup(a, s);
	free(s);
	return true;
}

/* ---- configuration -------------------------------------------------------------- */

static void
config_set(lk_arena *a, dl_map *m, int *cap, const char *key, const char *value)
{
	for (int i = 0; i < m->n; i++)
		if (strcmp(m->items[i].key, key) == 0) {
			m->items[i].value = lk_arena_strdup(a, value);
			return;
		}
	if (m->n >= *cap) {
		int nc = *cap * 2 + 4;
		dl_kv *ni = lk_arena_alloc(a, sizeof(dl_kv) * (size_t) nc);
		if (m->n)
			memcpy(ni, m->items, sizeof(dl_kv) * (size_t) m->n);
		m->items = ni;
		*cap = nc;
	}
	m->items[m->n].key = lk_arena_strdup(a, key);
	m->items[m->n].value = lk_arena_strdup(a, value);
	m->n++;
}

/* ---- the evolution ---------------------------------------------------------------- */

typedef struct work {
	lk_arena *a;
	int n, cap;
	lk_field *f;
	dl_field_info *fi;
	dl_strings parts;           /* partition columns (logical names) */
} work;

static int
find_field(const work *w, const char *name)
{
	for (int i = 0; i < w->n; i++)
		if (strcmp(w->f[i].name, name) == 0)
			return i;
	for (int i = 0; i < w->n; i++)
		if (strcasecmp(w->f[i].name, name) == 0)
			return i;
	return -1;
}

static int
part_index(const work *w, const char *name)
{
	for (int i = 0; i < w->parts.n; i++)
		if (strcasecmp(w->parts.items[i], name) == 0)
			return i;
	return -1;
}

/* Another field (not `self`) named like name, case-insensitively? */
static bool
name_taken(const work *w, const char *name, int self)
{
	for (int i = 0; i < w->n; i++)
		if (i != self && strcasecmp(w->f[i].name, name) == 0)
			return true;
	return false;
}

static bool
change_err(lk_error *err, lk_error_code code, const char *col, const char *fmt,
		   const char *arg)
{
	lk_error_set(err, code, fmt, arg);
	return lk_error_where(err, "column \"%s\"", col ? col : "");
}

bool
dl_evolve_schema(const dl_protocol *p, const dl_metadata *m,
				 const dl_schema_change *changes, int n, lk_arena *a,
				 dl_evolution *out, lk_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!m->schema_string)
		return lk_error_set(err, LK_ERR_CORRUPT, "the table has no schema");
	LK_FORWARD(dl_protocol_check_write(p, m, err));
	dl_schema s;
	if (!dl_schema_parse(m->schema_string, a, &s, err))
		return lk_error_add_where(err, "metaData.schemaString");

	/* the current column mapping mode, honoured only when supported */
	dl_column_mapping cm = DL_CM_NONE;
	const char *mode = dl_map_get(&m->configuration, CM_MODE, NULL);
	LK_FORWARD(dl_column_mapping_parse(mode, &cm, err));

	work w;
	memset(&w, 0, sizeof(w));
	w.a = a;
	w.n = s.type->nchildren;
	w.cap = w.n + n + 1;
	w.f = lk_arena_zalloc(a, sizeof(lk_field) * (size_t) w.cap);
	w.fi = lk_arena_zalloc(a, sizeof(dl_field_info) * (size_t) w.cap);
	dl_type_info *top = ensure_info(a, s.type, s.info);
	for (int i = 0; i < w.n; i++) {
		w.f[i] = s.type->children[i];
		w.fi[i] = top->children[i];
		if (!w.fi[i].metadata)
			w.fi[i].metadata = "{}";
	}
	w.parts.n = m->partition_columns.n;
	w.parts.items = lk_arena_alloc(a, sizeof(char *) * (size_t) (w.parts.n + 1));
	for (int i = 0; i < w.parts.n; i++)
		w.parts.items[i] = lk_arena_strdup(a, m->partition_columns.items[i]);

	/* does any change need column mapping or type widening? */
	bool need_cm = false, need_tw = false;
	for (int k = 0; k < n; k++) {
		need_cm |= changes[k].kind == DL_SC_DROP || changes[k].kind == DL_SC_RENAME;
		need_tw |= changes[k].kind == DL_SC_WIDEN;
	}

	int64_t maxid = 0;
	const char *mx = dl_map_get(&m->configuration, CM_MAX, NULL);
	if (mx)
		maxid = strtoll(mx, NULL, 10);
	for (int i = 0; i < w.n; i++) {
		if (w.fi[i].id > maxid)
			maxid = w.fi[i].id;
		int64_t c = max_id(w.fi[i].info);
		if (c > maxid)
			maxid = c;
	}
	if (need_cm && cm == DL_CM_NONE) {
		/* existing columns keep their data: physical name = name */
		lk_type *st = lk_type_struct(a, w.n);
		dl_type_info ti = {.nchildren = w.n, .children = w.fi};
		dl_type_info *tp = &ti;
		for (int i = 0; i < w.n; i++)
			st->children[i] = w.f[i];
		LK_FORWARD(assign_mapping(a, st, &tp, true, &maxid, err));
		cm = DL_CM_NAME;
		out->column_mapping_enabled = true;
	}

	for (int k = 0; k < n; k++) {
		const dl_schema_change *ch = &changes[k];
		int i = -1;
		if (ch->kind != DL_SC_ADD) {
			i = ch->column ? find_field(&w, ch->column) : -1;
			if (i < 0)
				return change_err(err, LK_ERR_INVALID, ch->column,
								  "no such column in the Delta table%s", "");
		}
		switch (ch->kind) {
		case DL_SC_ADD: {
			if (!ch->name || !*ch->name || !ch->type)
				return change_err(err, LK_ERR_INVALID, ch->name,
								  "a new column needs a name and a type%s", "");
			if (name_taken(&w, ch->name, -1))
				return change_err(err, LK_ERR_INVALID, ch->name,
								  "the Delta table already has a column named \"%s\"",
								  ch->name);
			lk_buf probe = LK_BUF_INIT;
			lk_type *one = lk_type_struct(a, 1);
			one->children[0].name = ch->name;
			one->children[0].type = lk_type_copy(a, ch->type);
			one->children[0].nullable = true;
			one->children[0].field_id = -1;
			bool ok = dl_schema_write(one, NULL, &probe, err);
			lk_buf_free(&probe);
			if (!ok)
				return false;
			int pos = ch->position < 0 || ch->position > w.n ? w.n : ch->position;
			memmove(&w.f[pos + 1], &w.f[pos], sizeof(lk_field) * (size_t) (w.n - pos));
			memmove(&w.fi[pos + 1], &w.fi[pos],
					sizeof(dl_field_info) * (size_t) (w.n - pos));
			w.n++;
			w.f[pos] = one->children[0];
			memset(&w.fi[pos], 0, sizeof(dl_field_info));
			w.fi[pos].id = -1;
			w.fi[pos].metadata = "{}";
			if (cm != DL_CM_NONE) {
				dl_type_info ti = {.nchildren = 1, .children = &w.fi[pos]};
				dl_type_info *tp = &ti;
				LK_FORWARD(assign_mapping(a, one, &tp, false, &maxid, err));
			}
			break;
		}
		case DL_SC_DROP:
			if (part_index(&w, w.f[i].name) >= 0)
				return change_err(err, LK_ERR_INVALID, w.f[i].name,
								  "a partition column cannot be dropped%s", "");
			if (w.n == 1)
				return change_err(err, LK_ERR_INVALID, w.f[i].name,
								  "the last column of a table cannot be dropped%s", "");
			memmove(&w.f[i], &w.f[i + 1], sizeof(lk_field) * (size_t) (w.n - i - 1));
			memmove(&w.fi[i], &w.fi[i + 1],
					sizeof(dl_field_info) * (size_t) (w.n - i - 1));
			w.n--;
			break;
		case DL_SC_RENAME: {
			if (!ch->name || !*ch->name)
				return change_err(err, LK_ERR_INVALID, w.f[i].name,
								  "a column cannot be renamed to an empty name%s", "");
			if (name_taken(&w, ch->name, i))
				return change_err(err, LK_ERR_INVALID, w.f[i].name,
								  "the Delta table already has a column named \"%s\"",
								  ch->name);
			int pi = part_index(&w, w.f[i].name);
			if (pi >= 0)
				w.parts.items[pi] = lk_arena_strdup(a, ch->name);
			w.f[i].name = lk_arena_strdup(a, ch->name);
			break;
		}
		case DL_SC_WIDEN: {
			if (part_index(&w, w.f[i].name) >= 0)
				return change_err(err, LK_ERR_INVALID, w.f[i].name,
								  "the type of a partition column cannot be changed%s", "");
			if (!dl_type_widening_allowed(w.f[i].type, ch->type)) {
				const char *fn = dl_type_json_name(a, w.f[i].type);
				const char *tn = dl_type_json_name(a, ch->type);
				lk_error_set(err, LK_ERR_UNSUPPORTED,
							 "changing the type from %s to %s is not a type widening "
							 "Delta allows", fn ? fn : lk_type_name(a, w.f[i].type),
							 tn ? tn : (ch->type ? lk_type_name(a, ch->type) : "?"));
				return lk_error_where(err, "column \"%s\"", w.f[i].name);
			}
			if (!add_type_change(a, &w.fi[i], w.f[i].type, ch->type, err))
				return lk_error_where(err, "column \"%s\"", w.f[i].name);
			w.f[i].type = lk_type_copy(a, ch->type);
			break;
		}
		}
	}

	/* the new schema string */
	lk_type *st = lk_type_struct(a, w.n);
	dl_type_info *ti = lk_arena_zalloc(a, sizeof(*ti));
	ti->nchildren = w.n;
	ti->children = w.fi;
	for (int i = 0; i < w.n; i++)
		st->children[i] = w.f[i];
	lk_buf sb = LK_BUF_INIT;
	if (!dl_schema_write(st, ti, &sb, err)) {
		lk_buf_free(&sb);
		return false;
	}
	out->metadata = *m;
	out->metadata.schema_string = lk_arena_strndup(a, (const char *) sb.data, sb.len);
	lk_buf_free(&sb);
	out->metadata.partition_columns = w.parts;

	/* configuration: copy, then the keys this evolution sets */
	dl_map *cfg = &out->metadata.configuration;
	int cap = m->configuration.n + 4;
	cfg->items = lk_arena_alloc(a, sizeof(dl_kv) * (size_t) cap);
	cfg->n = 0;
	for (int i = 0; i < m->configuration.n; i++) {
		cfg->items[cfg->n].key = lk_arena_strdup(a, m->configuration.items[i].key);
		cfg->items[cfg->n].value = m->configuration.items[i].value
								   ? lk_arena_strdup(a, m->configuration.items[i].value)
								   : NULL;
		cfg->n++;
	}
	dl_protocol np = *p;
	bool changed = false, c1;
	if (cm != DL_CM_NONE) {
		char buf[32];
		snprintf(buf, sizeof(buf), "%" PRId64, maxid);
		config_set(a, cfg, &cap, CM_MAX, buf);
		if (out->column_mapping_enabled) {
			config_set(a, cfg, &cap, CM_MODE, "name");
			if (!protocol_supports_cm(&np) || np.min_writer_version < 5 ||
				(np.min_writer_version >= 7 &&
				 !listed(&np.writer_features, "columnMapping"))) {
				dl_protocol t;
				dl_protocol_add_feature(&np, "columnMapping", true, a, &t, &c1);
				np = t;
				changed |= c1;
			}
		}
	}
	if (need_tw) {
		const char *tw = dl_map_get(cfg, TW_ENABLE, NULL);
		if (!tw || strcasecmp(tw, "true") != 0) {
			config_set(a, cfg, &cap, TW_ENABLE, "true");
			out->type_widening_enabled = true;
		}
		dl_protocol t;
		dl_protocol_add_feature(&np, "typeWidening", true, a, &t, &c1);
		np = t;
		changed |= c1;
	}
	out->protocol = np;
	out->protocol_changed = changed;
	out->column_mapping = cm;
	if (!dl_schema_parse(out->metadata.schema_string, a, &out->schema, err))
		return lk_error_add_where(err, "new schema");
	return dl_protocol_check_write(&out->protocol, &out->metadata, err);
}

bool
dl_evolve_add_actions(dl_commit *c, const dl_evolution *ev, lk_error *err)
{
	dl_action act;
	if (ev->protocol_changed) {
		memset(&act, 0, sizeof(act));
		act.type = DL_ACT_PROTOCOL;
		act.u.protocol = ev->protocol;
		LK_FORWARD(dl_commit_add_action(c, &act, err));
	}
	memset(&act, 0, sizeof(act));
	act.type = DL_ACT_METADATA;
	act.u.metadata = ev->metadata;
	LK_FORWARD(dl_commit_add_action(c, &act, err));
	return dl_commit_check_schema(c, err);
}
