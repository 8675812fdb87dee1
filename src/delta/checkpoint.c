/*
 * checkpoint.c — Delta checkpoints (Parquet and JSON) into dl_actions.
 *
 * Parquet checkpoint layout (PROTOCOL.md "Checkpoint Schema"), one action
 * per row, the other columns null:
 *
 *   txn                struct<appId, version, lastUpdated>
 *   add                struct<path, partitionValues: map<string,string>,
 *                             size, modificationTime, dataChange, stats,
 *                             tags: map, deletionVector: struct<...>,
 *                             baseRowId, defaultRowCommitVersion,
 *                             clusteringProvider, [partitionValues_parsed,
 *                             stats_parsed: ignored]>
 *   remove             struct<path, deletionTimestamp, dataChange,
 *                             extendedFileMetadata, partitionValues, size,
 *                             tags, deletionVector, baseRowId,
 *                             defaultRowCommitVersion>
 *   metaData           struct<id, name, description,
 *                             format: struct<provider, options: map>,
 *                             schemaString, partitionColumns: array<string>,
 *                             configuration: map, createdTime>
 *   protocol           struct<minReaderVersion, minWriterVersion,
 *                             readerFeatures: array, writerFeatures: array>
 *   domainMetadata     struct<domain, configuration, removed>
 *   checkpointMetadata struct<version, tags>            (v2 spec)
 *   sidecar            struct<path, sizeInBytes, modificationTime, tags>
 *   commitInfo         (ignored)
 */
#include "delta/checkpoint.h"

#include <inttypes.h>
#include <string.h>

#include "common/batch.h"
#include "common/buf.h"
#include "parquet/parquet.h"

typedef struct conv {
	lk_arena *a;
	const char *file;
	int64_t row;            /* row number in the file, for messages */
	const char *action;
	lk_error *err;
} conv;

static bool
cp_bad(conv *cv, const char *field, const char *msg)
{
	lk_error_set(cv->err, LK_ERR_CORRUPT, "malformed %s action in checkpoint: %s",
				 cv->action, msg);
	return lk_error_where(cv->err, "file \"%s\" row %" PRId64 ", field \"%s.%s\"",
						  cv->file, cv->row, cv->action, field);
}

/* Child column `name` of a struct column, or NULL when absent. Used for
 * the rare actions; add and remove resolve their children once per row
 * group (see layout below). */
static const lk_column *
child(const lk_column *st, const char *name)
{
	int i = lk_type_field_index(st->type, name);
	return i < 0 ? NULL : &st->children[i];
}

/* Children of the add / remove struct columns and of their
 * deletionVector, resolved by name once per row group so that the per-row
 * conversion does no name lookups. A NULL entry is a field the file does
 * not have (read as null). */
enum {
	F_PATH, F_PARTITION_VALUES, F_SIZE, F_MODIFICATION_TIME, F_DATA_CHANGE,
	F_STATS, F_TAGS, F_DV, F_BASE_ROW_ID, F_DEFAULT_ROW_COMMIT_VERSION,
	F_CLUSTERING_PROVIDER, F_DELETION_TIMESTAMP, F_EXTENDED_FILE_METADATA,
	F_N
};
static const char *const file_fields[F_N] = {
	"path", "partitionValues", "size", "modificationTime", "dataChange",
	"stats", "tags", "deletionVector", "baseRowId", "defaultRowCommitVersion",
	"clusteringProvider", "deletionTimestamp", "extendedFileMetadata",
};
enum { D_STORAGE_TYPE, D_PATH_OR_INLINE, D_OFFSET, D_SIZE, D_CARDINALITY,
	   D_MAX_ROW_INDEX, D_N };
static const char *const dv_fields[D_N] = {
	"storageType", "pathOrInlineDv", "offset", "sizeInBytes", "cardinality",
	"maxRowIndex",
};

typedef struct layout {
	const lk_column *f[F_N];
	const lk_column *dv[D_N];   /* when f[F_DV] is a struct */
	const char *cbase[F_N];     /* path, stats: strings taken in place (row
								 * i at cbase + offsets[i] + i), or NULL */
} layout;

/* Resolve the children of action column c (a struct; anything else leaves
 * every entry NULL and conv_row reports the type). */
static void
layout_resolve(layout *l, const lk_column *c)
{
	memset(l, 0, sizeof(*l));
	if (c->type->id != LK_T_STRUCT)
		return;
	for (int k = 0; k < F_N; k++)
		l->f[k] = child(c, file_fields[k]);
	const lk_column *dv = l->f[F_DV];
	if (dv && dv->type->id == LK_T_STRUCT)
		for (int k = 0; k < D_N; k++)
			l->dv[k] = child(dv, dv_fields[k]);
}

static bool
is_null(const lk_column *c, int64_t i)
{
	return !c || lk_column_is_null(c, i);
}

/* String child (NULL when absent or null). Fails on a non-string type. */
/* String field: c is the child column (NULL when the file lacks it). The
 * result is a NUL-terminated copy in cv->a (NULL when null). */
static bool
get_str(conv *cv, const lk_column *c, int64_t i, const char *name,
		bool required, const char **out)
{
	*out = NULL;
	if (is_null(c, i))
		return required ? cp_bad(cv, name, "required field is null") : true;
	if (c->type->id != LK_T_STRING && c->type->id != LK_T_BINARY)
		return cp_bad(cv, name, "field must be a string");
	int64_t len;
	const uint8_t *p = lk_column_bytes(c, i, &len);
	if (memchr(p, 0, (size_t) len))
		return cp_bad(cv, name, "string contains a NUL byte");
	*out = lk_arena_strndup(cv->a, (const char *) p, (size_t) len);
	return true;
}

/* NUL-terminate every string of c in place and take its data buffer: row
 * i's string then starts at base + offsets[i] + i (each string moves right
 * by the i terminators before it; moving from the last row backwards never
 * overwrites a string not yet moved). The column is left without data.
 * Returns the buffer (the caller owns it: free()), or NULL to copy instead:
 * not a string column, no data, or a NUL byte inside (which get_str then
 * reports with its row). */
static char *
take_strings(lk_column *c)
{
	if ((c->type->id != LK_T_STRING && c->type->id != LK_T_BINARY) || !c->data ||
		c->length <= 0 || !c->offsets)
		return NULL;
	int64_t len = c->data_len;
	for (int64_t i = 0; i < c->length; i++)
		if (c->offsets[i] < 0 || c->offsets[i + 1] < c->offsets[i] || c->offsets[i + 1] > len)
			return NULL;
	if (len > 0 && memchr(c->data, 0, (size_t) len))
		return NULL;
	char *d = lk_xrealloc(c->data, (size_t) (len + c->length));
	for (int64_t i = c->length; i-- > 0;) {
		int64_t o = c->offsets[i], n = c->offsets[i + 1] - o;
		if (n)
			memmove(d + o + i, d + o, (size_t) n);
		d[o + i + n] = '\0';
	}
	c->data = NULL;
	c->data_cap = 0;
	c->data_len = 0;
	return d;
}

/* String field k of a file action: in place when taken, else copied. */
static bool
get_file_str(conv *cv, const layout *l, int k, int64_t i, bool required,
			 const char **out)
{
	const char *base = l->cbase[k];
	if (!base)
		return get_str(cv, l->f[k], i, file_fields[k], required, out);
	*out = NULL;
	if (lk_column_is_null(l->f[k], i))
		return required ? cp_bad(cv, file_fields[k], "required field is null") : true;
	*out = base + l->f[k]->offsets[i] + i;
	return true;
}

static bool
get_i64(conv *cv, const lk_column *c, int64_t i, const char *name,
		bool required, bool *has, int64_t *out)
{
	*out = 0;
	if (has)
		*has = false;
	if (is_null(c, i))
		return required ? cp_bad(cv, name, "required field is null") : true;
	switch (c->type->id) {
	case LK_T_BYTE: *out = LK_COL_VALUES(c, int8_t)[i]; break;
	case LK_T_SHORT: *out = LK_COL_VALUES(c, int16_t)[i]; break;
	case LK_T_INT: *out = LK_COL_VALUES(c, int32_t)[i]; break;
	case LK_T_LONG: *out = LK_COL_VALUES(c, int64_t)[i]; break;
	default:
		return cp_bad(cv, name, "field must be an integer");
	}
	if (has)
		*has = true;
	return true;
}

static bool
get_i32(conv *cv, const lk_column *c, int64_t i, const char *name,
		bool required, bool *has, int32_t *out)
{
	int64_t v;
	LK_FORWARD(get_i64(cv, c, i, name, required, has, &v));
	if (v < INT32_MIN || v > INT32_MAX)
		return cp_bad(cv, name, "field is out of range");
	*out = (int32_t) v;
	return true;
}

static bool
get_bool(conv *cv, const lk_column *c, int64_t i, const char *name,
		 bool required, bool dflt, bool *has, bool *out)
{
	*out = dflt;
	if (has)
		*has = false;
	if (is_null(c, i))
		return required ? cp_bad(cv, name, "required field is null") : true;
	if (c->type->id != LK_T_BOOLEAN)
		return cp_bad(cv, name, "field must be a boolean");
	*out = LK_COL_VALUES(c, uint8_t)[i] != 0;
	if (has)
		*has = true;
	return true;
}

static bool
get_map(conv *cv, const lk_column *c, int64_t i, const char *name,
		bool *has, dl_map *out)
{
	out->items = NULL;
	out->n = 0;
	if (has)
		*has = false;
	if (is_null(c, i))
		return true;
	if (c->type->id != LK_T_MAP || c->children[0].type->id != LK_T_STRING ||
		c->children[1].type->id != LK_T_STRING)
		return cp_bad(cv, name, "field must be a map<string,string>");
	int64_t from = c->offsets[i], to = c->offsets[i + 1];
	int64_t n = to - from;
	if (n < 0 || n > INT32_MAX)
		return cp_bad(cv, name, "bad map offsets");
	out->items = lk_arena_alloc(cv->a, sizeof(dl_kv) * (size_t) (n ? n : 1));
	const lk_column *k = &c->children[0], *v = &c->children[1];
	for (int64_t j = from; j < to; j++) {
		int64_t len;
		const uint8_t *p;
		if (lk_column_is_null(k, j))
			return cp_bad(cv, name, "null map key");
		p = lk_column_bytes(k, j, &len);
		dl_kv *kv = &out->items[out->n++];
		kv->key = lk_arena_strndup(cv->a, (const char *) p, (size_t) len);
		if (lk_column_is_null(v, j)) {
			kv->value = NULL;
		} else {
			p = lk_column_bytes(v, j, &len);
			kv->value = lk_arena_strndup(cv->a, (const char *) p, (size_t) len);
		}
	}
	if (has)
		*has = true;
	return true;
}

static bool
get_strings(conv *cv, const lk_column *c, int64_t i, const char *name,
			bool *has, dl_strings *out)
{
	out->items = NULL;
	out->n = 0;
	if (has)
		*has = false;
	if (is_null(c, i))
		return true;
	if (c->type->id != LK_T_ARRAY || c->children[0].type->id != LK_T_STRING)
		return cp_bad(cv, name, "field must be an array<string>");
	int64_t from = c->offsets[i], to = c->offsets[i + 1];
	int64_t n = to - from;
	if (n < 0 || n > INT32_MAX)
		return cp_bad(cv, name, "bad array offsets");
	out->items = lk_arena_alloc(cv->a, sizeof(char *) * (size_t) (n ? n : 1));
	const lk_column *e = &c->children[0];
	for (int64_t j = from; j < to; j++) {
		if (lk_column_is_null(e, j))
			return cp_bad(cv, name, "null array element");
		int64_t len;
		const uint8_t *p = lk_column_bytes(e, j, &len);
		out->items[out->n++] = lk_arena_strndup(cv->a, (const char *) p, (size_t) len);
	}
	if (has)
		*has = true;
	return true;
}

/* deletionVector of row i: l->f[F_DV] is the struct column (NULL when the
 * file has none), l->dv its resolved children. */
static bool
get_dv(conv *cv, const layout *l, int64_t i, bool *has, dl_dv *dv)
{
	const lk_column *c = l->f[F_DV];
	memset(dv, 0, sizeof(*dv));
	*has = false;
	if (is_null(c, i))
		return true;
	if (c->type->id != LK_T_STRUCT)
		return cp_bad(cv, "deletionVector", "field must be a struct");
	const char *stype;
	const char *save = cv->action;
	cv->action = strcmp(save, "add") == 0 ? "add.deletionVector" : "remove.deletionVector";
	bool ok = get_str(cv, l->dv[D_STORAGE_TYPE], i, "storageType", true, &stype) &&
			  get_str(cv, l->dv[D_PATH_OR_INLINE], i, "pathOrInlineDv", true,
					  &dv->path_or_inline) &&
			  get_i32(cv, l->dv[D_OFFSET], i, "offset", false, &dv->has_offset, &dv->offset) &&
			  get_i32(cv, l->dv[D_SIZE], i, "sizeInBytes", true, NULL, &dv->size_in_bytes) &&
			  get_i64(cv, l->dv[D_CARDINALITY], i, "cardinality", true, NULL,
					  &dv->cardinality) &&
			  get_i64(cv, l->dv[D_MAX_ROW_INDEX], i, "maxRowIndex", false,
					  &dv->has_max_row_index, &dv->max_row_index);
	if (ok && (strlen(stype) != 1 || !strchr("uip", stype[0])))
		ok = cp_bad(cv, "storageType", "unknown deletion vector storage type");
	cv->action = save;
	if (!ok)
		return false;
	dv->storage_type = stype[0];
	*has = true;
	return true;
}

#define FIELD(k) l->f[k], i, file_fields[k]

static bool
conv_add(conv *cv, const layout *l, int64_t i, dl_add *r)
{
	LK_FORWARD(get_file_str(cv, l, F_PATH, i, true, &r->path));
	LK_FORWARD(get_map(cv, FIELD(F_PARTITION_VALUES), NULL, &r->partition_values));
	LK_FORWARD(get_i64(cv, FIELD(F_SIZE), true, NULL, &r->size));
	LK_FORWARD(get_i64(cv, FIELD(F_MODIFICATION_TIME), false, NULL, &r->modification_time));
	LK_FORWARD(get_bool(cv, FIELD(F_DATA_CHANGE), false, true, NULL, &r->data_change));
	LK_FORWARD(get_file_str(cv, l, F_STATS, i, false, &r->stats));
	LK_FORWARD(get_map(cv, FIELD(F_TAGS), &r->has_tags, &r->tags));
	LK_FORWARD(get_dv(cv, l, i, &r->has_dv, &r->dv));
	LK_FORWARD(get_i64(cv, FIELD(F_BASE_ROW_ID), false, &r->has_base_row_id,
					   &r->base_row_id));
	LK_FORWARD(get_i64(cv, FIELD(F_DEFAULT_ROW_COMMIT_VERSION), false,
					   &r->has_default_row_commit_version,
					   &r->default_row_commit_version));
	LK_FORWARD(get_str(cv, FIELD(F_CLUSTERING_PROVIDER), false, &r->clustering_provider));
	return true;
}

static bool
conv_remove(conv *cv, const layout *l, int64_t i, dl_remove *r)
{
	LK_FORWARD(get_file_str(cv, l, F_PATH, i, true, &r->path));
	LK_FORWARD(get_i64(cv, FIELD(F_DELETION_TIMESTAMP), false, &r->has_deletion_timestamp,
					   &r->deletion_timestamp));
	LK_FORWARD(get_bool(cv, FIELD(F_DATA_CHANGE), false, true, NULL, &r->data_change));
	LK_FORWARD(get_bool(cv, FIELD(F_EXTENDED_FILE_METADATA), false, false,
						&r->has_extended_file_metadata, &r->extended_file_metadata));
	LK_FORWARD(get_map(cv, FIELD(F_PARTITION_VALUES), &r->has_partition_values,
					   &r->partition_values));
	LK_FORWARD(get_i64(cv, FIELD(F_SIZE), false, &r->has_size, &r->size));
	LK_FORWARD(get_file_str(cv, l, F_STATS, i, false, &r->stats));
	LK_FORWARD(get_map(cv, FIELD(F_TAGS), &r->has_tags, &r->tags));
	LK_FORWARD(get_dv(cv, l, i, &r->has_dv, &r->dv));
	LK_FORWARD(get_i64(cv, FIELD(F_BASE_ROW_ID), false, &r->has_base_row_id,
					   &r->base_row_id));
	LK_FORWARD(get_i64(cv, FIELD(F_DEFAULT_ROW_COMMIT_VERSION), false,
					   &r->has_default_row_commit_version,
					   &r->default_row_commit_version));
	return true;
}

#undef FIELD
/* the rare actions look their fields up by name */
#define FIELD(st, name) child(st, name), i, name

static bool
conv_metadata(conv *cv, const lk_column *c, int64_t i, dl_metadata *m)
{
	LK_FORWARD(get_str(cv, FIELD(c, "id"), true, &m->id));
	LK_FORWARD(get_str(cv, FIELD(c, "name"), false, &m->name));
	LK_FORWARD(get_str(cv, FIELD(c, "description"), false, &m->description));
	m->format_provider = "parquet";
	const lk_column *f = child(c, "format");
	if (!is_null(f, i)) {
		if (f->type->id != LK_T_STRUCT)
			return cp_bad(cv, "format", "field must be a struct");
		const char *prov;
		LK_FORWARD(get_str(cv, FIELD(f, "provider"), false, &prov));
		if (prov)
			m->format_provider = prov;
		LK_FORWARD(get_map(cv, FIELD(f, "options"), NULL, &m->format_options));
	}
	LK_FORWARD(get_str(cv, FIELD(c, "schemaString"), false, &m->schema_string));
	LK_FORWARD(get_strings(cv, FIELD(c, "partitionColumns"), NULL, &m->partition_columns));
	LK_FORWARD(get_map(cv, FIELD(c, "configuration"), NULL, &m->configuration));
	LK_FORWARD(get_i64(cv, FIELD(c, "createdTime"), false, &m->has_created_time,
					   &m->created_time));
	return true;
}

static bool
conv_protocol(conv *cv, const lk_column *c, int64_t i, dl_protocol *p)
{
	LK_FORWARD(get_i32(cv, FIELD(c, "minReaderVersion"), true, NULL, &p->min_reader_version));
	LK_FORWARD(get_i32(cv, FIELD(c, "minWriterVersion"), true, NULL, &p->min_writer_version));
	LK_FORWARD(get_strings(cv, FIELD(c, "readerFeatures"), &p->has_reader_features,
						   &p->reader_features));
	LK_FORWARD(get_strings(cv, FIELD(c, "writerFeatures"), &p->has_writer_features,
						   &p->writer_features));
	return true;
}

/* Row i of action column c (non-null) → out. l is c's resolved layout
 * (used for add and remove). */
static bool
conv_row(conv *cv, dl_action_type t, const lk_column *c, const layout *l, int64_t i,
		 dl_action *out)
{
	memset(out, 0, sizeof(*out));
	out->type = t;
	cv->action = dl_action_name(t);
	if (c->type->id != LK_T_STRUCT)
		return cp_bad(cv, "", "action column must be a struct");
	switch (t) {
	case DL_ACT_ADD:
		return conv_add(cv, l, i, &out->u.add);
	case DL_ACT_REMOVE:
		return conv_remove(cv, l, i, &out->u.remove);
	case DL_ACT_METADATA:
		return conv_metadata(cv, c, i, &out->u.metadata);
	case DL_ACT_PROTOCOL:
		return conv_protocol(cv, c, i, &out->u.protocol);
	case DL_ACT_TXN: {
		dl_txn *r = &out->u.txn;
		LK_FORWARD(get_str(cv, FIELD(c, "appId"), true, &r->app_id));
		LK_FORWARD(get_i64(cv, FIELD(c, "version"), true, NULL, &r->version));
		return get_i64(cv, FIELD(c, "lastUpdated"), false, &r->has_last_updated,
					   &r->last_updated);
	}
	case DL_ACT_DOMAIN_METADATA: {
		dl_domain_metadata *r = &out->u.domain_metadata;
		LK_FORWARD(get_str(cv, FIELD(c, "domain"), true, &r->domain));
		LK_FORWARD(get_str(cv, FIELD(c, "configuration"), true, &r->configuration));
		return get_bool(cv, FIELD(c, "removed"), false, false, NULL, &r->removed);
	}
	case DL_ACT_CHECKPOINT_METADATA: {
		dl_checkpoint_metadata *r = &out->u.checkpoint_metadata;
		LK_FORWARD(get_i64(cv, FIELD(c, "version"), true, NULL, &r->version));
		return get_map(cv, FIELD(c, "tags"), &r->has_tags, &r->tags);
	}
	case DL_ACT_SIDECAR: {
		dl_sidecar *r = &out->u.sidecar;
		LK_FORWARD(get_str(cv, FIELD(c, "path"), true, &r->path));
		LK_FORWARD(get_i64(cv, FIELD(c, "sizeInBytes"), false, NULL, &r->size_in_bytes));
		LK_FORWARD(get_i64(cv, FIELD(c, "modificationTime"), false, NULL,
						   &r->modification_time));
		return get_map(cv, FIELD(c, "tags"), &r->has_tags, &r->tags);
	}
	default:
		return cp_bad(cv, "", "unexpected action column");
	}
}

#undef FIELD

static bool
open_input(st_store *st, const char *path, pq_input *in, lk_error *err)
{
	st_file f;
	LK_FORWARD(st_open_read(st, path, &f, err));
	in->ctx = f.ctx;
	in->size = f.size;
	in->name = f.name;
	in->read_at = f.read_at;
	in->close = f.close;
	return true;
}

bool
dl_checkpoint_read_parquet(st_store *st, const char *path, lk_arena *a,
						   dl_action_fn fn, void *ctx, lk_error *err)
{
	return dl_checkpoint_read_parquet_keep(st, path, a, NULL, fn, ctx, err);
}

bool
dl_checkpoint_read_parquet_keep(st_store *st, const char *path, lk_arena *a,
								dl_keep_fn keep, dl_action_fn fn, void *ctx,
								lk_error *err)
{
	static const dl_action_type types[] = {
		DL_ACT_PROTOCOL, DL_ACT_METADATA, DL_ACT_TXN, DL_ACT_DOMAIN_METADATA,
		DL_ACT_CHECKPOINT_METADATA, DL_ACT_SIDECAR, DL_ACT_ADD, DL_ACT_REMOVE,
	};
	enum { NT = sizeof(types) / sizeof(types[0]) };
	pq_input in;
	LK_FORWARD(open_input(st, path, &in, err));
	pq_reader *r = pq_reader_open(&in, err);
	if (!r)
		return lk_error_add_where(err, "checkpoint \"%s\"", path);

	const lk_type *fs = pq_reader_schema(r);
	const char *names[NT];
	dl_action_type ptypes[NT];
	int n = 0;
	for (int i = 0; i < NT; i++) {
		const char *nm = dl_action_name(types[i]);
		if (lk_type_field_index(fs, nm) >= 0) {
			names[n] = nm;
			ptypes[n] = types[i];
			n++;
		}
	}
	bool ok = false;
	lk_batch *b = NULL;
	if (n == 0) {
		lk_error_set(err, LK_ERR_CORRUPT, "checkpoint has no action columns");
		lk_error_where(err, "file \"%s\"", path);
		goto done;
	}
	if (!pq_reader_project(r, names, n, err)) {
		lk_error_add_where(err, "checkpoint \"%s\"", path);
		goto done;
	}
	b = lk_batch_new(pq_reader_output_schema(r));
	conv cv = {a, path, 0, "", err};
	int64_t row0 = 0;
	for (int rg = 0; rg < pq_reader_num_row_groups(r); rg++) {
		if (!pq_reader_read_row_group(r, rg, b, err)) {
			lk_error_add_where(err, "checkpoint \"%s\"", path);
			goto done;
		}
		layout lay[NT];
		for (int k = 0; k < n; k++) {
			if (ptypes[k] != DL_ACT_ADD && ptypes[k] != DL_ACT_REMOVE)
				continue;
			layout_resolve(&lay[k], &b->cols[k]);
			for (int f = 0; keep && f < F_N; f++) {
				if ((f != F_PATH && f != F_STATS) || !lay[k].f[f])
					continue;
				char *buf = take_strings((lk_column *) lay[k].f[f]);
				if (buf) {
					keep(ctx, buf);
					lay[k].cbase[f] = buf;
				}
			}
		}
		for (int64_t i = 0; i < b->nrows; i++) {
			cv.row = row0 + i;
			for (int k = 0; k < n; k++) {
				const lk_column *c = &b->cols[k];
				if (lk_column_is_null(c, i))
					continue;
				dl_action act;
				if (!conv_row(&cv, ptypes[k], c, &lay[k], i, &act) || !fn(ctx, &act, err))
					goto done;
			}
		}
		row0 += b->nrows;
	}
	ok = true;
done:
	if (b)
		lk_batch_free(b);
	pq_reader_free(r);
	return ok;
}

bool
dl_checkpoint_read_json(st_store *st, const char *path, uint64_t max_bytes,
						lk_arena *a, dl_action_fn fn, void *ctx, lk_error *err)
{
	lk_buf buf = LK_BUF_INIT;
	if (!st_read_all(st, path, max_bytes, &buf, err)) {
		lk_buf_free(&buf);
		return false;
	}
	bool ok = true;
	size_t pos = 0;
	int64_t line = 0;
	const char *data = (const char *) buf.data;
	while (ok && pos < buf.len) {
		const char *s = data + pos;
		const char *nl = memchr(s, '\n', buf.len - pos);
		size_t ll = nl ? (size_t) (nl - s) : buf.len - pos;
		dl_action act;
		bool got;
		line++;
		ok = dl_action_parse_line(s, ll, path, line, a, &act, &got, err);
		if (ok && got)
			ok = fn(ctx, &act, err);
		pos += ll + (nl ? 1 : 0);
	}
	lk_buf_free(&buf);
	return ok;
}
