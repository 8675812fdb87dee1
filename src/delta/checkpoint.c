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

/* Child column `name` of a struct column, or NULL when absent. */
static const lk_column *
child(const lk_column *st, const char *name)
{
	int i = lk_type_field_index(st->type, name);
	return i < 0 ? NULL : &st->children[i];
}

static bool
is_null(const lk_column *c, int64_t i)
{
	return !c || lk_column_is_null(c, i);
}

/* String child (NULL when absent or null). Fails on a non-string type. */
static bool
get_str(conv *cv, const lk_column *st, int64_t i, const char *name,
		bool required, const char **out)
{
	const lk_column *c = child(st, name);
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

static bool
get_i64(conv *cv, const lk_column *st, int64_t i, const char *name,
		bool required, bool *has, int64_t *out)
{
	const lk_column *c = child(st, name);
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
get_i32(conv *cv, const lk_column *st, int64_t i, const char *name,
		bool required, bool *has, int32_t *out)
{
	int64_t v;
	LK_FORWARD(get_i64(cv, st, i, name, required, has, &v));
	if (v < INT32_MIN || v > INT32_MAX)
		return cp_bad(cv, name, "field is out of range");
	*out = (int32_t) v;
	return true;
}

static bool
get_bool(conv *cv, const lk_column *st, int64_t i, const char *name,
		 bool required, bool dflt, bool *has, bool *out)
{
	const lk_column *c = child(st, name);
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
get_map(conv *cv, const lk_column *st, int64_t i, const char *name,
		bool *has, dl_map *out)
{
	const lk_column *c = child(st, name);
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
get_strings(conv *cv, const lk_column *st, int64_t i, const char *name,
			bool *has, dl_strings *out)
{
	const lk_column *c = child(st, name);
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

static bool
get_dv(conv *cv, const lk_column *st, int64_t i, bool *has, dl_dv *dv)
{
	const lk_column *c = child(st, "deletionVector");
	memset(dv, 0, sizeof(*dv));
	*has = false;
	if (is_null(c, i))
		return true;
	if (c->type->id != LK_T_STRUCT)
		return cp_bad(cv, "deletionVector", "field must be a struct");
	const char *stype;
	const char *save = cv->action;
	cv->action = lk_arena_sprintf(cv->a, "%s.deletionVector", save);
	bool ok = get_str(cv, c, i, "storageType", true, &stype) &&
			  get_str(cv, c, i, "pathOrInlineDv", true, &dv->path_or_inline) &&
			  get_i32(cv, c, i, "offset", false, &dv->has_offset, &dv->offset) &&
			  get_i32(cv, c, i, "sizeInBytes", true, NULL, &dv->size_in_bytes) &&
			  get_i64(cv, c, i, "cardinality", true, NULL, &dv->cardinality) &&
			  get_i64(cv, c, i, "maxRowIndex", false, &dv->has_max_row_index,
					  &dv->max_row_index);
	if (ok && (strlen(stype) != 1 || !strchr("uip", stype[0])))
		ok = cp_bad(cv, "storageType", "unknown deletion vector storage type");
	cv->action = save;
	if (!ok)
		return false;
	dv->storage_type = stype[0];
	*has = true;
	return true;
}

static bool
conv_add(conv *cv, const lk_column *c, int64_t i, dl_add *r)
{
	LK_FORWARD(get_str(cv, c, i, "path", true, &r->path));
	LK_FORWARD(get_map(cv, c, i, "partitionValues", NULL, &r->partition_values));
	LK_FORWARD(get_i64(cv, c, i, "size", true, NULL, &r->size));
	LK_FORWARD(get_i64(cv, c, i, "modificationTime", false, NULL, &r->modification_time));
	LK_FORWARD(get_bool(cv, c, i, "dataChange", false, true, NULL, &r->data_change));
	LK_FORWARD(get_str(cv, c, i, "stats", false, &r->stats));
	LK_FORWARD(get_map(cv, c, i, "tags", &r->has_tags, &r->tags));
	LK_FORWARD(get_dv(cv, c, i, &r->has_dv, &r->dv));
	LK_FORWARD(get_i64(cv, c, i, "baseRowId", false, &r->has_base_row_id, &r->base_row_id));
	LK_FORWARD(get_i64(cv, c, i, "defaultRowCommitVersion", false,
					   &r->has_default_row_commit_version,
					   &r->default_row_commit_version));
	LK_FORWARD(get_str(cv, c, i, "clusteringProvider", false, &r->clustering_provider));
	return true;
}

static bool
conv_remove(conv *cv, const lk_column *c, int64_t i, dl_remove *r)
{
	LK_FORWARD(get_str(cv, c, i, "path", true, &r->path));
	LK_FORWARD(get_i64(cv, c, i, "deletionTimestamp", false, &r->has_deletion_timestamp,
					   &r->deletion_timestamp));
	LK_FORWARD(get_bool(cv, c, i, "dataChange", false, true, NULL, &r->data_change));
	LK_FORWARD(get_bool(cv, c, i, "extendedFileMetadata", false, false,
						&r->has_extended_file_metadata, &r->extended_file_metadata));
	LK_FORWARD(get_map(cv, c, i, "partitionValues", &r->has_partition_values,
					   &r->partition_values));
	LK_FORWARD(get_i64(cv, c, i, "size", false, &r->has_size, &r->size));
	LK_FORWARD(get_str(cv, c, i, "stats", false, &r->stats));
	LK_FORWARD(get_map(cv, c, i, "tags", &r->has_tags, &r->tags));
	LK_FORWARD(get_dv(cv, c, i, &r->has_dv, &r->dv));
	LK_FORWARD(get_i64(cv, c, i, "baseRowId", false, &r->has_base_row_id, &r->base_row_id));
	LK_FORWARD(get_i64(cv, c, i, "defaultRowCommitVersion", false,
					   &r->has_default_row_commit_version,
					   &r->default_row_commit_version));
	return true;
}

static bool
conv_metadata(conv *cv, const lk_column *c, int64_t i, dl_metadata *m)
{
	LK_FORWARD(get_str(cv, c, i, "id", true, &m->id));
	LK_FORWARD(get_str(cv, c, i, "name", false, &m->name));
	LK_FORWARD(get_str(cv, c, i, "description", false, &m->description));
	m->format_provider = "parquet";
	const lk_column *f = child(c, "format");
	if (!is_null(f, i)) {
		if (f->type->id != LK_T_STRUCT)
			return cp_bad(cv, "format", "field must be a struct");
		const char *prov;
		LK_FORWARD(get_str(cv, f, i, "provider", false, &prov));
		if (prov)
			m->format_provider = prov;
		LK_FORWARD(get_map(cv, f, i, "options", NULL, &m->format_options));
	}
	LK_FORWARD(get_str(cv, c, i, "schemaString", false, &m->schema_string));
	LK_FORWARD(get_strings(cv, c, i, "partitionColumns", NULL, &m->partition_columns));
	LK_FORWARD(get_map(cv, c, i, "configuration", NULL, &m->configuration));
	LK_FORWARD(get_i64(cv, c, i, "createdTime", false, &m->has_created_time,
					   &m->created_time));
	return true;
}

static bool
conv_protocol(conv *cv, const lk_column *c, int64_t i, dl_protocol *p)
{
	LK_FORWARD(get_i32(cv, c, i, "minReaderVersion", true, NULL, &p->min_reader_version));
	LK_FORWARD(get_i32(cv, c, i, "minWriterVersion", true, NULL, &p->min_writer_version));
	LK_FORWARD(get_strings(cv, c, i, "readerFeatures", &p->has_reader_features,
						   &p->reader_features));
	LK_FORWARD(get_strings(cv, c, i, "writerFeatures", &p->has_writer_features,
						   &p->writer_features));
	return true;
}

static bool
conv_row(conv *cv, dl_action_type t, const lk_column *c, int64_t i, dl_action *out)
{
	memset(out, 0, sizeof(*out));
	out->type = t;
	cv->action = dl_action_name(t);
	if (c->type->id != LK_T_STRUCT)
		return cp_bad(cv, "", "action column must be a struct");
	switch (t) {
	case DL_ACT_ADD:
		return conv_add(cv, c, i, &out->u.add);
	case DL_ACT_REMOVE:
		return conv_remove(cv, c, i, &out->u.remove);
	case DL_ACT_METADATA:
		return conv_metadata(cv, c, i, &out->u.metadata);
	case DL_ACT_PROTOCOL:
		return conv_protocol(cv, c, i, &out->u.protocol);
	case DL_ACT_TXN: {
		dl_txn *r = &out->u.txn;
		LK_FORWARD(get_str(cv, c, i, "appId", true, &r->app_id));
		LK_FORWARD(get_i64(cv, c, i, "version", true, NULL, &r->version));
		return get_i64(cv, c, i, "lastUpdated", false, &r->has_last_updated,
					   &r->last_updated);
	}
	case DL_ACT_DOMAIN_METADATA: {
		dl_domain_metadata *r = &out->u.domain_metadata;
		LK_FORWARD(get_str(cv, c, i, "domain", true, &r->domain));
		LK_FORWARD(get_str(cv, c, i, "configuration", true, &r->configuration));
		return get_bool(cv, c, i, "removed", false, false, NULL, &r->removed);
	}
	case DL_ACT_CHECKPOINT_METADATA: {
		dl_checkpoint_metadata *r = &out->u.checkpoint_metadata;
		LK_FORWARD(get_i64(cv, c, i, "version", true, NULL, &r->version));
		return get_map(cv, c, i, "tags", &r->has_tags, &r->tags);
	}
	case DL_ACT_SIDECAR: {
		dl_sidecar *r = &out->u.sidecar;
		LK_FORWARD(get_str(cv, c, i, "path", true, &r->path));
		LK_FORWARD(get_i64(cv, c, i, "sizeInBytes", false, NULL, &r->size_in_bytes));
		LK_FORWARD(get_i64(cv, c, i, "modificationTime", false, NULL,
						   &r->modification_time));
		return get_map(cv, c, i, "tags", &r->has_tags, &r->tags);
	}
	default:
		return cp_bad(cv, "", "unexpected action column");
	}
}

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
		for (int64_t i = 0; i < b->nrows; i++) {
			cv.row = row0 + i;
			for (int k = 0; k < n; k++) {
				const lk_column *c = &b->cols[k];
				if (lk_column_is_null(c, i))
					continue;
				dl_action act;
				if (!conv_row(&cv, ptypes[k], c, i, &act) || !fn(ctx, &act, err))
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
