/*
 * actions.c — Delta log action JSON ⇄ dl_action.
 *
 * Wire layout (PROTOCOL.md "Delta Log Entries"): a commit file is
 * newline-delimited JSON, one object per line, whose single key names the
 * action:
 *
 *   {"commitInfo":{...any JSON...}}
 *   {"protocol":{"minReaderVersion":3,"minWriterVersion":7,
 *                "readerFeatures":[...],"writerFeatures":[...]}}
 *   {"metaData":{"id":..,"name":..,"description":..,
 *                "format":{"provider":"parquet","options":{}},
 *                "schemaString":"<json>","partitionColumns":[..],
 *                "configuration":{..},"createdTime":N}}
 *   {"add":{"path":..,"partitionValues":{k:v|null},"size":N,
 *           "modificationTime":N,"dataChange":B,"stats":"<json>",
 *           "tags":{..},"deletionVector":{..},"baseRowId":N,
 *           "defaultRowCommitVersion":N,"clusteringProvider":..}}
 *   {"remove":{"path":..,"deletionTimestamp":N,"dataChange":B,
 *              "extendedFileMetadata":B,"partitionValues":{..},"size":N,
 *              "stats":..,"tags":{..},"deletionVector":{..},
 *              "baseRowId":N,"defaultRowCommitVersion":N}}
 *   {"cdc":{"path":..,"partitionValues":{..},"size":N,"dataChange":B,
 *           "tags":{..}}}
 *   {"txn":{"appId":..,"version":N,"lastUpdated":N}}
 *   {"domainMetadata":{"domain":..,"configuration":"..","removed":B}}
 *   {"checkpointMetadata":{"version":N,"tags":{..}}}      (v2 checkpoints)
 *   {"sidecar":{"path":..,"sizeInBytes":N,"modificationTime":N,
 *               "tags":{..}}}                             (v2 checkpoints)
 *
 *   deletionVector = {"storageType":"u|i|p","pathOrInlineDv":..,
 *                     "offset":N?,"sizeInBytes":N,"cardinality":N,
 *                     "maxRowIndex":N?}
 */
#include "delta/actions.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const action_names[] = {
	[DL_ACT_PROTOCOL] = "protocol",
	[DL_ACT_METADATA] = "metaData",
	[DL_ACT_ADD] = "add",
	[DL_ACT_REMOVE] = "remove",
	[DL_ACT_CDC] = "cdc",
	[DL_ACT_TXN] = "txn",
	[DL_ACT_COMMIT_INFO] = "commitInfo",
	[DL_ACT_DOMAIN_METADATA] = "domainMetadata",
	[DL_ACT_CHECKPOINT_METADATA] = "checkpointMetadata",
	[DL_ACT_SIDECAR] = "sidecar",
};

const char *
dl_action_name(dl_action_type t)
{
	if ((unsigned) t < sizeof(action_names) / sizeof(action_names[0]))
		return action_names[t];
	return "?";
}

const char *
dl_map_get(const dl_map *m, const char *key, bool *found)
{
	for (int i = 0; i < m->n; i++) {
		if (strcmp(m->items[i].key, key) == 0) {
			if (found)
				*found = true;
			return m->items[i].value;
		}
	}
	if (found)
		*found = false;
	return NULL;
}

char *
dl_dv_unique_id(const dl_dv *dv, lk_arena *a)
{
	if (dv->has_offset)
		return lk_arena_sprintf(a, "%c%s@%" PRId32, dv->storage_type,
								dv->path_or_inline, dv->offset);
	return lk_arena_sprintf(a, "%c%s", dv->storage_type, dv->path_or_inline);
}

/* ---- parsing ----------------------------------------------------------- */

typedef struct pctx {
	lk_arena *a;
	const char *file;
	int64_t line;
	const char *action;     /* JSON key of the action being parsed */
	lk_error *err;
} pctx;

static bool
bad(pctx *p, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool
bad(pctx *p, const char *field, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lk_error_set(p->err, LK_ERR_CORRUPT, "malformed %s action: %s", p->action,
				 msg);
	if (field)
		return lk_error_where(p->err, "file \"%s\" line %" PRId64 ", field \"%s.%s\"",
							  p->file, p->line, p->action, field);
	return lk_error_where(p->err, "file \"%s\" line %" PRId64, p->file, p->line);
}

/* Absent and JSON null are the same for optional fields. */
static json_t *
field(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_null(v) ? NULL : v;
}

static bool
get_str(pctx *p, json_t *obj, const char *key, bool required, const char **out)
{
	json_t *v = field(obj, key);
	*out = NULL;
	if (!v)
		return required ? bad(p, key, "missing required field \"%s\"", key)
						: true;
	if (!json_is_string(v))
		return bad(p, key, "field \"%s\" must be a string", key);
	*out = lk_arena_strndup(p->a, json_string_value(v), json_string_length(v));
	return true;
}

static bool
get_i64(pctx *p, json_t *obj, const char *key, bool required, bool *has,
		int64_t *out)
{
	json_t *v = field(obj, key);
	if (has)
		*has = false;
	*out = 0;
	if (!v)
		return required ? bad(p, key, "missing required field \"%s\"", key)
						: true;
	if (!json_is_integer(v))
		return bad(p, key, "field \"%s\" must be an integer", key);
	*out = (int64_t) json_integer_value(v);
	if (has)
		*has = true;
	return true;
}

static bool
get_i32(pctx *p, json_t *obj, const char *key, bool required, bool *has,
		int32_t *out)
{
	int64_t v;
	LK_FORWARD(get_i64(p, obj, key, required, has, &v));
	if (v < INT32_MIN || v > INT32_MAX)
		return bad(p, key, "field \"%s\" is out of range: %" PRId64, key, v);
	*out = (int32_t) v;
	return true;
}

static bool
get_bool(pctx *p, json_t *obj, const char *key, bool required, bool dflt,
		 bool *has, bool *out)
{
	json_t *v = field(obj, key);
	if (has)
		*has = false;
	*out = dflt;
	if (!v)
		return required ? bad(p, key, "missing required field \"%s\"", key)
						: true;
	if (!json_is_boolean(v))
		return bad(p, key, "field \"%s\" must be a boolean", key);
	*out = json_is_true(v);
	if (has)
		*has = true;
	return true;
}

static bool
get_map(pctx *p, json_t *obj, const char *key, bool required, bool *has,
		dl_map *out)
{
	json_t *v = field(obj, key);
	if (has)
		*has = false;
	out->items = NULL;
	out->n = 0;
	if (!v)
		return required ? bad(p, key, "missing required field \"%s\"", key)
						: true;
	if (!json_is_object(v))
		return bad(p, key, "field \"%s\" must be an object", key);
	size_t n = json_object_size(v);
	out->items = lk_arena_alloc(p->a, (n ? n : 1) * sizeof(dl_kv));
	const char *k;
	json_t *val;
	json_object_foreach(v, k, val) {
		dl_kv *kv = &out->items[out->n];
		kv->key = lk_arena_strdup(p->a, k);
		if (json_is_null(val))
			kv->value = NULL;
		else if (json_is_string(val))
			kv->value = lk_arena_strndup(p->a, json_string_value(val),
										 json_string_length(val));
		else
			return bad(p, key, "value of \"%s\" in \"%s\" must be a string",
					   k, key);
		out->n++;
	}
	if (has)
		*has = true;
	return true;
}

static bool
get_strings(pctx *p, json_t *obj, const char *key, bool *has, dl_strings *out)
{
	json_t *v = field(obj, key);
	if (has)
		*has = false;
	out->items = NULL;
	out->n = 0;
	if (!v)
		return true;
	if (!json_is_array(v))
		return bad(p, key, "field \"%s\" must be an array", key);
	size_t n = json_array_size(v);
	out->items = lk_arena_alloc(p->a, (n ? n : 1) * sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(v, i);
		if (!json_is_string(s))
			return bad(p, key, "element %zu of \"%s\" must be a string", i, key);
		out->items[out->n++] = lk_arena_strndup(p->a, json_string_value(s),
												json_string_length(s));
	}
	if (has)
		*has = true;
	return true;
}

static bool
get_dv(pctx *p, json_t *obj, bool *has, dl_dv *dv)
{
	json_t *v = field(obj, "deletionVector");
	memset(dv, 0, sizeof(*dv));
	*has = false;
	if (!v)
		return true;
	if (!json_is_object(v))
		return bad(p, "deletionVector", "field \"deletionVector\" must be an object");
	const char *st;
	LK_FORWARD(get_str(p, v, "storageType", true, &st));
	if (strlen(st) != 1 || !strchr("uip", st[0]))
		return bad(p, "deletionVector.storageType",
				   "unknown deletion vector storage type \"%s\"", st);
	dv->storage_type = st[0];
	LK_FORWARD(get_str(p, v, "pathOrInlineDv", true, &dv->path_or_inline));
	LK_FORWARD(get_i32(p, v, "offset", false, &dv->has_offset, &dv->offset));
	LK_FORWARD(get_i32(p, v, "sizeInBytes", true, NULL, &dv->size_in_bytes));
	LK_FORWARD(get_i64(p, v, "cardinality", true, NULL, &dv->cardinality));
	LK_FORWARD(get_i64(p, v, "maxRowIndex", false, &dv->has_max_row_index,
					   &dv->max_row_index));
	if (dv->offset < 0 || dv->size_in_bytes < 0 || dv->cardinality < 0)
		return bad(p, "deletionVector", "negative offset, size or cardinality");
	*has = true;
	return true;
}

/* stats is a JSON string; tolerate writers that put the object itself. */
static bool
get_stats(pctx *p, json_t *obj, const char **out)
{
	json_t *v = field(obj, "stats");
	*out = NULL;
	if (!v)
		return true;
	if (json_is_string(v))
		return get_str(p, obj, "stats", false, out);
	if (!json_is_object(v))
		return bad(p, "stats", "field \"stats\" must be a string");
	char *s = json_dumps(v, JSON_COMPACT);
	if (!s)
		return bad(p, "stats", "could not serialize stats");
	*out = lk_arena_strdup(p->a, s);
	free(s);
	return true;
}

static bool
parse_protocol(pctx *p, json_t *o, dl_protocol *r)
{
	LK_FORWARD(get_i32(p, o, "minReaderVersion", true, NULL, &r->min_reader_version));
	LK_FORWARD(get_i32(p, o, "minWriterVersion", true, NULL, &r->min_writer_version));
	LK_FORWARD(get_strings(p, o, "readerFeatures", &r->has_reader_features,
						   &r->reader_features));
	LK_FORWARD(get_strings(p, o, "writerFeatures", &r->has_writer_features,
						   &r->writer_features));
	return true;
}

static bool
parse_metadata(pctx *p, json_t *o, dl_metadata *m)
{
	LK_FORWARD(get_str(p, o, "id", true, &m->id));
	LK_FORWARD(get_str(p, o, "name", false, &m->name));
	LK_FORWARD(get_str(p, o, "description", false, &m->description));
	m->format_provider = "parquet";
	m->format_options.n = 0;
	m->format_options.items = NULL;
	json_t *f = field(o, "format");
	if (f) {
		if (!json_is_object(f))
			return bad(p, "format", "field \"format\" must be an object");
		const char *prov;
		const char *save = p->action;
		p->action = "metaData.format";
		bool ok = get_str(p, f, "provider", false, &prov) &&
				  get_map(p, f, "options", false, NULL, &m->format_options);
		p->action = save;
		if (!ok)
			return false;
		if (prov)
			m->format_provider = prov;
	}
	LK_FORWARD(get_str(p, o, "schemaString", false, &m->schema_string));
	LK_FORWARD(get_strings(p, o, "partitionColumns", NULL, &m->partition_columns));
	LK_FORWARD(get_map(p, o, "configuration", false, NULL, &m->configuration));
	LK_FORWARD(get_i64(p, o, "createdTime", false, &m->has_created_time,
					   &m->created_time));
	return true;
}

static bool
parse_add(pctx *p, json_t *o, dl_add *r)
{
	LK_FORWARD(get_str(p, o, "path", true, &r->path));
	LK_FORWARD(get_map(p, o, "partitionValues", true, NULL, &r->partition_values));
	LK_FORWARD(get_i64(p, o, "size", true, NULL, &r->size));
	LK_FORWARD(get_i64(p, o, "modificationTime", true, NULL, &r->modification_time));
	LK_FORWARD(get_bool(p, o, "dataChange", true, true, NULL, &r->data_change));
	LK_FORWARD(get_stats(p, o, &r->stats));
	LK_FORWARD(get_map(p, o, "tags", false, &r->has_tags, &r->tags));
	LK_FORWARD(get_dv(p, o, &r->has_dv, &r->dv));
	LK_FORWARD(get_i64(p, o, "baseRowId", false, &r->has_base_row_id,
					   &r->base_row_id));
	LK_FORWARD(get_i64(p, o, "defaultRowCommitVersion", false,
					   &r->has_default_row_commit_version,
					   &r->default_row_commit_version));
	LK_FORWARD(get_str(p, o, "clusteringProvider", false, &r->clustering_provider));
	if (!r->path[0])
		return bad(p, "path", "empty path");
	if (r->size < 0)
		return bad(p, "size", "negative size %" PRId64, r->size);
	return true;
}

static bool
parse_remove(pctx *p, json_t *o, dl_remove *r)
{
	LK_FORWARD(get_str(p, o, "path", true, &r->path));
	LK_FORWARD(get_i64(p, o, "deletionTimestamp", false,
					   &r->has_deletion_timestamp, &r->deletion_timestamp));
	LK_FORWARD(get_bool(p, o, "dataChange", true, true, NULL, &r->data_change));
	LK_FORWARD(get_bool(p, o, "extendedFileMetadata", false, false,
						&r->has_extended_file_metadata,
						&r->extended_file_metadata));
	LK_FORWARD(get_map(p, o, "partitionValues", false, &r->has_partition_values,
					   &r->partition_values));
	LK_FORWARD(get_i64(p, o, "size", false, &r->has_size, &r->size));
	LK_FORWARD(get_stats(p, o, &r->stats));
	LK_FORWARD(get_map(p, o, "tags", false, &r->has_tags, &r->tags));
	LK_FORWARD(get_dv(p, o, &r->has_dv, &r->dv));
	LK_FORWARD(get_i64(p, o, "baseRowId", false, &r->has_base_row_id,
					   &r->base_row_id));
	LK_FORWARD(get_i64(p, o, "defaultRowCommitVersion", false,
					   &r->has_default_row_commit_version,
					   &r->default_row_commit_version));
	if (!r->path[0])
		return bad(p, "path", "empty path");
	return true;
}

static bool
parse_cdc(pctx *p, json_t *o, dl_cdc *r)
{
	LK_FORWARD(get_str(p, o, "path", true, &r->path));
	LK_FORWARD(get_map(p, o, "partitionValues", true, NULL, &r->partition_values));
	LK_FORWARD(get_i64(p, o, "size", true, NULL, &r->size));
	LK_FORWARD(get_bool(p, o, "dataChange", false, false, NULL, &r->data_change));
	LK_FORWARD(get_map(p, o, "tags", false, &r->has_tags, &r->tags));
	return true;
}

static bool
parse_txn(pctx *p, json_t *o, dl_txn *r)
{
	LK_FORWARD(get_str(p, o, "appId", true, &r->app_id));
	LK_FORWARD(get_i64(p, o, "version", true, NULL, &r->version));
	LK_FORWARD(get_i64(p, o, "lastUpdated", false, &r->has_last_updated,
					   &r->last_updated));
	return true;
}

static bool
parse_commit_info(pctx *p, json_t *o, dl_commit_info *r)
{
	char *s = json_dumps(o, JSON_COMPACT);
	if (!s)
		return bad(p, NULL, "could not serialize commitInfo");
	r->json = lk_arena_strdup(p->a, s);
	free(s);
	LK_FORWARD(get_i64(p, o, "inCommitTimestamp", false,
					   &r->has_in_commit_timestamp, &r->in_commit_timestamp));
	/* timestamp and operation are informational: ignore odd types */
	json_t *ts = json_object_get(o, "timestamp");
	r->has_timestamp = json_is_integer(ts);
	r->timestamp = r->has_timestamp ? (int64_t) json_integer_value(ts) : 0;
	json_t *op = json_object_get(o, "operation");
	r->operation = json_is_string(op) ? lk_arena_strdup(p->a, json_string_value(op))
									  : NULL;
	return true;
}

static bool
parse_domain_metadata(pctx *p, json_t *o, dl_domain_metadata *r)
{
	LK_FORWARD(get_str(p, o, "domain", true, &r->domain));
	LK_FORWARD(get_str(p, o, "configuration", true, &r->configuration));
	LK_FORWARD(get_bool(p, o, "removed", true, false, NULL, &r->removed));
	return true;
}

static bool
parse_checkpoint_metadata(pctx *p, json_t *o, dl_checkpoint_metadata *r)
{
	LK_FORWARD(get_i64(p, o, "version", true, NULL, &r->version));
	LK_FORWARD(get_map(p, o, "tags", false, &r->has_tags, &r->tags));
	return true;
}

static bool
parse_sidecar(pctx *p, json_t *o, dl_sidecar *r)
{
	LK_FORWARD(get_str(p, o, "path", true, &r->path));
	LK_FORWARD(get_i64(p, o, "sizeInBytes", true, NULL, &r->size_in_bytes));
	LK_FORWARD(get_i64(p, o, "modificationTime", true, NULL,
					   &r->modification_time));
	LK_FORWARD(get_map(p, o, "tags", false, &r->has_tags, &r->tags));
	if (!r->path[0])
		return bad(p, "path", "empty path");
	return true;
}

static bool
parse_one(pctx *p, dl_action_type t, json_t *o, dl_action *out)
{
	memset(out, 0, sizeof(*out));
	out->type = t;
	p->action = dl_action_name(t);
	if (!json_is_object(o))
		return bad(p, NULL, "the action value must be an object");
	switch (t) {
	case DL_ACT_PROTOCOL:
		return parse_protocol(p, o, &out->u.protocol);
	case DL_ACT_METADATA:
		return parse_metadata(p, o, &out->u.metadata);
	case DL_ACT_ADD:
		return parse_add(p, o, &out->u.add);
	case DL_ACT_REMOVE:
		return parse_remove(p, o, &out->u.remove);
	case DL_ACT_CDC:
		return parse_cdc(p, o, &out->u.cdc);
	case DL_ACT_TXN:
		return parse_txn(p, o, &out->u.txn);
	case DL_ACT_COMMIT_INFO:
		return parse_commit_info(p, o, &out->u.commit_info);
	case DL_ACT_DOMAIN_METADATA:
		return parse_domain_metadata(p, o, &out->u.domain_metadata);
	case DL_ACT_CHECKPOINT_METADATA:
		return parse_checkpoint_metadata(p, o, &out->u.checkpoint_metadata);
	case DL_ACT_SIDECAR:
		return parse_sidecar(p, o, &out->u.sidecar);
	}
	return bad(p, NULL, "unknown action type");
}

static int
action_type_of(const char *key)
{
	for (size_t i = 0; i < sizeof(action_names) / sizeof(action_names[0]); i++)
		if (strcmp(action_names[i], key) == 0)
			return (int) i;
	return -1;
}

static bool
blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

bool
dl_action_parse_line(const char *text, size_t len, const char *file,
					 int64_t line, lk_arena *a, dl_action *out, bool *got,
					 lk_error *err)
{
	pctx p = {a, file, line, "", err};
	*got = false;
	if (blank(text, len))
		return true;
	json_error_t je;
	json_t *root = json_loadb(text, len, 0, &je);
	if (!root) {
		lk_error_set(err, LK_ERR_CORRUPT, "invalid JSON in Delta log: %s",
					 je.text);
		return lk_error_where(err, "file \"%s\" line %" PRId64 " column %d",
							  file, line, je.column);
	}
	bool ok = true;
	if (!json_is_object(root)) {
		lk_error_set(err, LK_ERR_CORRUPT,
					 "Delta log line is not a JSON object");
		ok = lk_error_where(err, "file \"%s\" line %" PRId64, file, line);
		goto done;
	}
	/* one action per line; the first known, non-null key is it */
	const char *key;
	json_t *val;
	json_object_foreach(root, key, val) {
		int t = action_type_of(key);
		if (t < 0 || json_is_null(val))
			continue;
		ok = parse_one(&p, (dl_action_type) t, val, out);
		*got = ok;
		break;
	}
done:
	json_decref(root);
	return ok;
}

bool
dl_actions_parse(const char *data, size_t len, const char *file, lk_arena *a,
				 dl_action **out, size_t *n, lk_error *err)
{
	size_t cap = 16, cnt = 0;
	dl_action *v = lk_arena_alloc(a, cap * sizeof(*v));
	size_t pos = 0;
	int64_t line = 0;

	while (pos < len) {
		const char *s = data + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t ll = nl ? (size_t) (nl - s) : len - pos;
		line++;
		if (cnt == cap) {
			dl_action *nv = lk_arena_alloc(a, 2 * cap * sizeof(*v));
			memcpy(nv, v, cap * sizeof(*v));
			v = nv;
			cap *= 2;
		}
		bool got;
		LK_FORWARD(dl_action_parse_line(s, ll, file, line, a, &v[cnt], &got, err));
		if (got)
			cnt++;
		pos += ll + (nl ? 1 : 0);
	}
	*out = v;
	*n = cnt;
	return true;
}

/* ---- writing ----------------------------------------------------------- */

/* Set when a string is not valid UTF-8 (json_string() refuses it). */
static _Thread_local bool bad_string;

static json_t *
jstr(const char *s)
{
	json_t *v = json_string(s);
	if (!v) {
		bad_string = true;
		return json_null();
	}
	return v;
}

static json_t *
jmap(const dl_map *m)
{
	json_t *o = json_object();
	for (int i = 0; i < m->n; i++)
		json_object_set_new(o, m->items[i].key,
							m->items[i].value ? jstr(m->items[i].value)
											  : json_null());
	return o;
}

static json_t *
jstrings(const dl_strings *l)
{
	json_t *arr = json_array();
	for (int i = 0; i < l->n; i++)
		json_array_append_new(arr, jstr(l->items[i]));
	return arr;
}

static json_t *
jdv(const dl_dv *dv)
{
	char st[2] = {dv->storage_type, '\0'};
	json_t *o = json_object();
	json_object_set_new(o, "storageType", jstr(st));
	json_object_set_new(o, "pathOrInlineDv", jstr(dv->path_or_inline));
	if (dv->has_offset)
		json_object_set_new(o, "offset", json_integer(dv->offset));
	json_object_set_new(o, "sizeInBytes", json_integer(dv->size_in_bytes));
	json_object_set_new(o, "cardinality", json_integer(dv->cardinality));
	if (dv->has_max_row_index)
		json_object_set_new(o, "maxRowIndex", json_integer(dv->max_row_index));
	return o;
}

static bool
need(const void *p, const char *what, lk_error *err)
{
	if (p)
		return true;
	return lk_error_set(err, LK_ERR_INVALID,
						"cannot write action: %s is required", what);
}

static bool
need_dv(bool has, const dl_dv *dv, lk_error *err)
{
	if (!has)
		return true;
	if (!dv->path_or_inline || !strchr("uip", dv->storage_type) ||
		!dv->storage_type)
		return lk_error_set(err, LK_ERR_INVALID,
							"cannot write action: invalid deletion vector");
	return true;
}

static json_t *
build(const dl_action *a, lk_error *err)
{
	json_t *o = json_object();
	switch (a->type) {
	case DL_ACT_PROTOCOL: {
		const dl_protocol *r = &a->u.protocol;
		json_object_set_new(o, "minReaderVersion", json_integer(r->min_reader_version));
		json_object_set_new(o, "minWriterVersion", json_integer(r->min_writer_version));
		if (r->has_reader_features)
			json_object_set_new(o, "readerFeatures", jstrings(&r->reader_features));
		if (r->has_writer_features)
			json_object_set_new(o, "writerFeatures", jstrings(&r->writer_features));
		break;
	}
	case DL_ACT_METADATA: {
		const dl_metadata *m = &a->u.metadata;
		if (!need(m->id, "metaData.id", err) ||
			!need(m->schema_string, "metaData.schemaString", err))
			goto fail;
		json_object_set_new(o, "id", jstr(m->id));
		if (m->name)
			json_object_set_new(o, "name", jstr(m->name));
		if (m->description)
			json_object_set_new(o, "description", jstr(m->description));
		json_t *f = json_object();
		json_object_set_new(f, "provider",
							jstr(m->format_provider ? m->format_provider : "parquet"));
		json_object_set_new(f, "options", jmap(&m->format_options));
		json_object_set_new(o, "format", f);
		json_object_set_new(o, "schemaString", jstr(m->schema_string));
		json_object_set_new(o, "partitionColumns", jstrings(&m->partition_columns));
		json_object_set_new(o, "configuration", jmap(&m->configuration));
		if (m->has_created_time)
			json_object_set_new(o, "createdTime", json_integer(m->created_time));
		break;
	}
	case DL_ACT_ADD: {
		const dl_add *r = &a->u.add;
		if (!need(r->path, "add.path", err) || !need_dv(r->has_dv, &r->dv, err))
			goto fail;
		json_object_set_new(o, "path", jstr(r->path));
		json_object_set_new(o, "partitionValues", jmap(&r->partition_values));
		json_object_set_new(o, "size", json_integer(r->size));
		json_object_set_new(o, "modificationTime", json_integer(r->modification_time));
		json_object_set_new(o, "dataChange", json_boolean(r->data_change));
		if (r->stats)
			json_object_set_new(o, "stats", jstr(r->stats));
		if (r->has_tags)
			json_object_set_new(o, "tags", jmap(&r->tags));
		if (r->has_dv)
			json_object_set_new(o, "deletionVector", jdv(&r->dv));
		if (r->has_base_row_id)
			json_object_set_new(o, "baseRowId", json_integer(r->base_row_id));
		if (r->has_default_row_commit_version)
			json_object_set_new(o, "defaultRowCommitVersion",
								json_integer(r->default_row_commit_version));
		if (r->clustering_provider)
			json_object_set_new(o, "clusteringProvider", jstr(r->clustering_provider));
		break;
	}
	case DL_ACT_REMOVE: {
		const dl_remove *r = &a->u.remove;
		if (!need(r->path, "remove.path", err) || !need_dv(r->has_dv, &r->dv, err))
			goto fail;
		json_object_set_new(o, "path", jstr(r->path));
		if (r->has_deletion_timestamp)
			json_object_set_new(o, "deletionTimestamp",
								json_integer(r->deletion_timestamp));
		json_object_set_new(o, "dataChange", json_boolean(r->data_change));
		if (r->has_extended_file_metadata)
			json_object_set_new(o, "extendedFileMetadata",
								json_boolean(r->extended_file_metadata));
		if (r->has_partition_values)
			json_object_set_new(o, "partitionValues", jmap(&r->partition_values));
		if (r->has_size)
			json_object_set_new(o, "size", json_integer(r->size));
		if (r->stats)
			json_object_set_new(o, "stats", jstr(r->stats));
		if (r->has_tags)
			json_object_set_new(o, "tags", jmap(&r->tags));
		if (r->has_dv)
			json_object_set_new(o, "deletionVector", jdv(&r->dv));
		if (r->has_base_row_id)
			json_object_set_new(o, "baseRowId", json_integer(r->base_row_id));
		if (r->has_default_row_commit_version)
			json_object_set_new(o, "defaultRowCommitVersion",
								json_integer(r->default_row_commit_version));
		break;
	}
	case DL_ACT_CDC: {
		const dl_cdc *r = &a->u.cdc;
		if (!need(r->path, "cdc.path", err))
			goto fail;
		json_object_set_new(o, "path", jstr(r->path));
		json_object_set_new(o, "partitionValues", jmap(&r->partition_values));
		json_object_set_new(o, "size", json_integer(r->size));
		json_object_set_new(o, "dataChange", json_boolean(r->data_change));
		if (r->has_tags)
			json_object_set_new(o, "tags", jmap(&r->tags));
		break;
	}
	case DL_ACT_TXN: {
		const dl_txn *r = &a->u.txn;
		if (!need(r->app_id, "txn.appId", err))
			goto fail;
		json_object_set_new(o, "appId", jstr(r->app_id));
		json_object_set_new(o, "version", json_integer(r->version));
		if (r->has_last_updated)
			json_object_set_new(o, "lastUpdated", json_integer(r->last_updated));
		break;
	}
	case DL_ACT_COMMIT_INFO: {
		const dl_commit_info *r = &a->u.commit_info;
		json_decref(o);
		o = NULL;
		if (r->json) {
			json_error_t je;
			o = json_loads(r->json, JSON_REJECT_DUPLICATES, &je);
			if (!o || !json_is_object(o)) {
				json_decref(o);
				lk_error_set(err, LK_ERR_INVALID,
							 "cannot write action: commitInfo is not a JSON object");
				return NULL;
			}
		} else {
			o = json_object();
		}
		/* inCommitTimestamp must come first when present */
		if (r->has_in_commit_timestamp) {
			json_t *n = json_object();
			json_object_set_new(n, "inCommitTimestamp",
								json_integer(r->in_commit_timestamp));
			const char *k;
			json_t *v;
			json_object_foreach(o, k, v) {
				if (strcmp(k, "inCommitTimestamp") != 0)
					json_object_set(n, k, v);
			}
			json_decref(o);
			o = n;
		}
		break;
	}
	case DL_ACT_DOMAIN_METADATA: {
		const dl_domain_metadata *r = &a->u.domain_metadata;
		if (!need(r->domain, "domainMetadata.domain", err) ||
			!need(r->configuration, "domainMetadata.configuration", err))
			goto fail;
		json_object_set_new(o, "domain", jstr(r->domain));
		json_object_set_new(o, "configuration", jstr(r->configuration));
		json_object_set_new(o, "removed", json_boolean(r->removed));
		break;
	}
	case DL_ACT_CHECKPOINT_METADATA: {
		const dl_checkpoint_metadata *r = &a->u.checkpoint_metadata;
		json_object_set_new(o, "version", json_integer(r->version));
		if (r->has_tags)
			json_object_set_new(o, "tags", jmap(&r->tags));
		break;
	}
	case DL_ACT_SIDECAR: {
		const dl_sidecar *r = &a->u.sidecar;
		if (!need(r->path, "sidecar.path", err))
			goto fail;
		json_object_set_new(o, "path", jstr(r->path));
		json_object_set_new(o, "sizeInBytes", json_integer(r->size_in_bytes));
		json_object_set_new(o, "modificationTime",
							json_integer(r->modification_time));
		if (r->has_tags)
			json_object_set_new(o, "tags", jmap(&r->tags));
		break;
	}
	default:
		lk_error_set(err, LK_ERR_INVALID, "cannot write action: unknown type %d",
					 (int) a->type);
		goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

bool
dl_action_write(lk_buf *out, const dl_action *a, lk_error *err)
{
	bad_string = false;
	json_t *inner = build(a, err);
	if (!inner)
		return false;
	if (bad_string) {
		json_decref(inner);
		return lk_error_set(err, LK_ERR_INVALID,
							"cannot write %s action: a string is not valid UTF-8",
							dl_action_name(a->type));
	}
	json_t *line = json_object();
	json_object_set_new(line, dl_action_name(a->type), inner);
	char *s = json_dumps(line, JSON_COMPACT);
	json_decref(line);
	if (!s)
		return lk_error_set(err, LK_ERR_INVALID,
							"cannot write %s action: could not serialize",
							dl_action_name(a->type));
	lk_buf_append_str(out, s);
	lk_buf_append_byte(out, '\n');
	free(s);
	return true;
}
