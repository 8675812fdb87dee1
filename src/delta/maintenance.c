/*
 * maintenance.c — checkpoint writer, OPTIMIZE, VACUUM.  See maintenance.h.
 *
 * Checkpoint file (PROTOCOL.md "Checkpoint Schema"), one action per row,
 * the other columns null; written by our Parquet writer:
 *
 *   txn             struct<appId: string, version: long, lastUpdated: long>
 *   add             struct<path: string, partitionValues: map<string,string>,
 *                          size: long, modificationTime: long,
 *                          dataChange: boolean, stats: string,
 *                          tags: map<string,string>, deletionVector: DV,
 *                          baseRowId: long, defaultRowCommitVersion: long,
 *                          clusteringProvider: string>
 *   remove          struct<path, deletionTimestamp: long, dataChange,
 *                          extendedFileMetadata: boolean, partitionValues,
 *                          size: long, tags, deletionVector: DV, baseRowId,
 *                          defaultRowCommitVersion>
 *   metaData        struct<id, name, description,
 *                          format: struct<provider, options: map>,
 *                          schemaString, partitionColumns: array<string>,
 *                          configuration: map, createdTime: long>
 *   protocol        struct<minReaderVersion: int, minWriterVersion: int,
 *                          readerFeatures: array<string>,
 *                          writerFeatures: array<string>>
 *   domainMetadata  struct<domain, configuration, removed: boolean>
 *   DV = struct<storageType, pathOrInlineDv, offset: int, sizeInBytes: int,
 *               cardinality: long, maxRowIndex: long>
 *
 * Rows: protocol, metaData, txns, domainMetadata, adds, removes (tombstones
 * newer than delta.deletedFileRetentionDuration).  Publication:
 *
 *   <v>.checkpoint.parquet  temp + fsync + link (put-if-absent; an existing
 *                           one is kept: same version, same content)
 *   _last_checkpoint        temp + fsync + rename, only moved forward:
 *                           {"version","size","sizeInBytes","numOfAddFiles"}
 *
 * A crash leaves either no checkpoint, or a complete one that
 * _last_checkpoint may not name yet (readers list the log anyway).
 */
#include "delta/maintenance.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "delta/commit.h"
#include "delta/dv.h"
#include "delta/writer.h"
#include "parquet/parquet.h"

#define LOG_DIR "_delta_log"
#define DEFAULT_RETENTION_MS (7LL * 24 * 3600 * 1000)
#define CP_BATCH_ROWS 8192

/* ---- checkpoint schema ----------------------------------------------------- */

typedef struct cp_types {
	lk_type *schema;
	int txn, add, remove, metadata, protocol, domain;
} cp_types;

static lk_type *
mkstruct(lk_arena *a, int n, const char *const *names, lk_type *const *types)
{
	lk_type *t = lk_type_struct(a, n);
	for (int i = 0; i < n; i++) {
		t->children[i].name = names[i];
		t->children[i].type = types[i];
		t->children[i].nullable = true;
		t->children[i].field_id = -1;
	}
	return t;
}

static void
cp_schema(lk_arena *a, cp_types *ct)
{
	lk_type *s = lk_type_new(a, LK_T_STRING);
	lk_type *l = lk_type_new(a, LK_T_LONG);
	lk_type *i = lk_type_new(a, LK_T_INT);
	lk_type *b = lk_type_new(a, LK_T_BOOLEAN);
	lk_type *m = lk_type_map(a, s, s, true);
	lk_type *arr = lk_type_array(a, s, true);

	static const char *const dvn[] = {"storageType", "pathOrInlineDv", "offset",
									  "sizeInBytes", "cardinality", "maxRowIndex"};
	lk_type *dvt[] = {s, s, i, i, l, l};
	lk_type *dv = mkstruct(a, 6, dvn, dvt);

	static const char *const txnn[] = {"appId", "version", "lastUpdated"};
	lk_type *txnt[] = {s, l, l};
	static const char *const addn[] = {"path", "partitionValues", "size", "modificationTime",
									   "dataChange", "stats", "tags", "deletionVector",
									   "baseRowId", "defaultRowCommitVersion",
									   "clusteringProvider"};
	lk_type *addt[] = {s, m, l, l, b, s, m, dv, l, l, s};
	static const char *const rmn[] = {"path", "deletionTimestamp", "dataChange",
									  "extendedFileMetadata", "partitionValues", "size",
									  "tags", "deletionVector", "baseRowId",
									  "defaultRowCommitVersion"};
	lk_type *rmt[] = {s, l, b, b, m, l, m, dv, l, l};
	static const char *const fmtn[] = {"provider", "options"};
	lk_type *fmtt[] = {s, m};
	lk_type *fmt = mkstruct(a, 2, fmtn, fmtt);
	static const char *const mdn[] = {"id", "name", "description", "format", "schemaString",
									  "partitionColumns", "configuration", "createdTime"};
	lk_type *mdt[] = {s, s, s, fmt, s, arr, m, l};
	static const char *const prn[] = {"minReaderVersion", "minWriterVersion",
									  "readerFeatures", "writerFeatures"};
	lk_type *prt[] = {i, i, arr, arr};
	static const char *const dmn[] = {"domain", "configuration", "removed"};
	lk_type *dmt[] = {s, s, b};

	static const char *const top[] = {"txn", "add", "remove", "metaData", "protocol",
									  "domainMetadata"};
	lk_type *topt[] = {mkstruct(a, 3, txnn, txnt), mkstruct(a, 11, addn, addt),
					   mkstruct(a, 10, rmn, rmt), mkstruct(a, 8, mdn, mdt),
					   mkstruct(a, 4, prn, prt), mkstruct(a, 3, dmn, dmt)};
	ct->schema = mkstruct(a, 6, top, topt);
	ct->txn = 0;
	ct->add = 1;
	ct->remove = 2;
	ct->metadata = 3;
	ct->protocol = 4;
	ct->domain = 5;
}

/* ---- appenders --------------------------------------------------------------- */

static void
ap_str(lk_column *c, const char *s)
{
	if (s)
		lk_column_append_bytes(c, s, (int64_t) strlen(s));
	else
		lk_column_append_null(c);
}

static void
ap_long(lk_column *c, bool has, int64_t v)
{
	if (has)
		lk_column_append_i64(c, v);
	else
		lk_column_append_null(c);
}

static void
ap_int(lk_column *c, bool has, int32_t v)
{
	if (has)
		lk_column_append_i32(c, v);
	else
		lk_column_append_null(c);
}

static void
ap_bool(lk_column *c, bool has, bool v)
{
	if (has)
		lk_column_append_bool(c, v);
	else
		lk_column_append_null(c);
}

static void
ap_map(lk_column *c, bool has, const dl_map *m)
{
	if (!has) {
		lk_column_append_null(c);
		return;
	}
	for (int i = 0; i < m->n; i++) {
		ap_str(&c->children[0], m->items[i].key);
		ap_str(&c->children[1], m->items[i].value);
	}
	lk_column_append_list(c);
}

static void
ap_strings(lk_column *c, bool has, const dl_strings *l)
{
	if (!has) {
		lk_column_append_null(c);
		return;
	}
	for (int i = 0; i < l->n; i++)
		ap_str(&c->children[0], l->items[i]);
	lk_column_append_list(c);
}

static void
ap_dv(lk_column *c, bool has, const dl_dv *dv)
{
	if (!has) {
		lk_column_append_null(c);
		return;
	}
	char st[2] = {dv->storage_type, '\0'};
	ap_str(&c->children[0], st);
	ap_str(&c->children[1], dv->path_or_inline);
	ap_int(&c->children[2], dv->has_offset, dv->offset);
	ap_int(&c->children[3], true, dv->size_in_bytes);
	ap_long(&c->children[4], true, dv->cardinality);
	ap_long(&c->children[5], dv->has_max_row_index, dv->max_row_index);
	lk_column_append_struct(c);
}

/* Start a row: every top-level column but `col` gets a null. */
static lk_column *
row_begin(lk_batch *b, int col)
{
	for (int k = 0; k < b->ncols; k++)
		if (k != col)
			lk_column_append_null(&b->cols[k]);
	return &b->cols[col];
}

static void
row_add(lk_batch *b, const cp_types *ct, const dl_add *r)
{
	lk_column *c = row_begin(b, ct->add);
	lk_column *f = c->children;
	ap_str(&f[0], r->path);
	ap_map(&f[1], true, &r->partition_values);
	ap_long(&f[2], true, r->size);
	ap_long(&f[3], true, r->modification_time);
	ap_bool(&f[4], true, false);
	ap_str(&f[5], r->stats);
	ap_map(&f[6], r->has_tags, &r->tags);
	ap_dv(&f[7], r->has_dv, &r->dv);
	ap_long(&f[8], r->has_base_row_id, r->base_row_id);
	ap_long(&f[9], r->has_default_row_commit_version, r->default_row_commit_version);
	ap_str(&f[10], r->clustering_provider);
	lk_column_append_struct(c);
}

static void
row_remove(lk_batch *b, const cp_types *ct, const dl_remove *r)
{
	lk_column *c = row_begin(b, ct->remove);
	lk_column *f = c->children;
	ap_str(&f[0], r->path);
	ap_long(&f[1], r->has_deletion_timestamp, r->deletion_timestamp);
	ap_bool(&f[2], true, false);
	ap_bool(&f[3], r->has_extended_file_metadata, r->extended_file_metadata);
	ap_map(&f[4], r->has_partition_values, &r->partition_values);
	ap_long(&f[5], r->has_size, r->size);
	ap_map(&f[6], r->has_tags, &r->tags);
	ap_dv(&f[7], r->has_dv, &r->dv);
	ap_long(&f[8], r->has_base_row_id, r->base_row_id);
	ap_long(&f[9], r->has_default_row_commit_version, r->default_row_commit_version);
	lk_column_append_struct(c);
}

static void
row_metadata(lk_batch *b, const cp_types *ct, const dl_metadata *m)
{
	lk_column *c = row_begin(b, ct->metadata);
	lk_column *f = c->children;
	ap_str(&f[0], m->id);
	ap_str(&f[1], m->name);
	ap_str(&f[2], m->description);
	ap_str(&f[3].children[0], m->format_provider ? m->format_provider : "parquet");
	ap_map(&f[3].children[1], true, &m->format_options);
	lk_column_append_struct(&f[3]);
	ap_str(&f[4], m->schema_string);
	ap_strings(&f[5], true, &m->partition_columns);
	ap_map(&f[6], true, &m->configuration);
	ap_long(&f[7], m->has_created_time, m->created_time);
	lk_column_append_struct(c);
}

static void
row_protocol(lk_batch *b, const cp_types *ct, const dl_protocol *p)
{
	lk_column *c = row_begin(b, ct->protocol);
	lk_column *f = c->children;
	ap_int(&f[0], true, p->min_reader_version);
	ap_int(&f[1], true, p->min_writer_version);
	ap_strings(&f[2], p->has_reader_features, &p->reader_features);
	ap_strings(&f[3], p->has_writer_features, &p->writer_features);
	lk_column_append_struct(c);
}

static void
row_txn(lk_batch *b, const cp_types *ct, const dl_txn *t)
{
	lk_column *c = row_begin(b, ct->txn);
	ap_str(&c->children[0], t->app_id);
	ap_long(&c->children[1], true, t->version);
	ap_long(&c->children[2], t->has_last_updated, t->last_updated);
	lk_column_append_struct(c);
}

static void
row_domain(lk_batch *b, const cp_types *ct, const dl_domain_metadata *d)
{
	lk_column *c = row_begin(b, ct->domain);
	ap_str(&c->children[0], d->domain);
	ap_str(&c->children[1], d->configuration);
	ap_bool(&c->children[2], true, d->removed);
	lk_column_append_struct(c);
}

/* ---- store output ------------------------------------------------------------ */

static bool
so_write(void *ctx, const void *buf, size_t n, lk_error *err)
{
	return st_writer_write(ctx, buf, n, err);
}

static bool
so_close(void *ctx, bool durable, lk_error *err)
{
	st_writer *sw = ctx;
	bool ok = true;
	if (durable)
		ok = st_writer_commit(sw, true, err);
	else
		st_writer_abort(sw);
	free(sw);
	return ok;
}

static bool
has_feature(const dl_strings *l, const char *f)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->items[i], f) == 0)
			return true;
	return false;
}

static int64_t
table_retention_ms(const dl_metadata *m)
{
	const char *v = dl_map_get(&m->configuration, "delta.deletedFileRetentionDuration", NULL);
	int64_t ms;
	if (v && dl_parse_interval_ms(v, &ms))
		return ms;
	return DEFAULT_RETENTION_MS;
}

/* Write _last_checkpoint unless it already names a newer version. */
static bool
write_last_checkpoint(st_store *st, const dl_checkpoint_result *r, lk_error *err)
{
	lk_buf b = LK_BUF_INIT;
	lk_error e;
	if (st_read_all(st, LOG_DIR "/_last_checkpoint", 1 << 20, &b, &e)) {
		json_error_t je;
		json_t *o = json_loadb((const char *) b.data, b.len, 0, &je);
		json_t *v = json_object_get(o, "version");
		bool newer = json_is_integer(v) && json_integer_value(v) > r->version;
		json_decref(o);
		if (newer) {
			lk_buf_free(&b);
			return true;
		}
	}
	lk_buf_reset(&b);
	lk_buf_printf(&b, "{\"version\":%" PRId64 ",\"size\":%" PRId64 ",\"sizeInBytes\":%" PRId64
				  ",\"numOfAddFiles\":%" PRId64 "}\n",
				  r->version, r->size, r->size_in_bytes, r->num_add_files);
	bool ok = st_put(st, LOG_DIR "/_last_checkpoint", b.data, b.len, err);
	lk_buf_free(&b);
	return ok;
}

bool
dl_checkpoint_write_snapshot(const dl_snapshot *s, dl_checkpoint_result *res,
							 lk_error *err)
{
	st_store *st = s->store;
	dl_checkpoint_result r;
	memset(&r, 0, sizeof(r));
	r.version = s->version;
	if (s->protocol.has_writer_features &&
		has_feature(&s->protocol.writer_features, "v2Checkpoint"))
		return lk_error_set(err, LK_ERR_UNSUPPORTED,
							"the table uses v2 checkpoints (writer feature v2Checkpoint); "
							"this writer only writes classic checkpoints");

	int64_t cutoff = dl_now_ms() - table_retention_ms(&s->metadata);
	lk_arena a;
	lk_arena_init(&a, 0);
	const char *path = lk_arena_sprintf(&a, LOG_DIR "/%020" PRId64 ".checkpoint.parquet",
										s->version);
	r.num_add_files = (int64_t) s->nfiles;
	r.size = 2 + (int64_t) s->ntxns + (int64_t) s->ndomains + (int64_t) s->nfiles;
	for (size_t i = 0; i < s->ntombstones; i++)
		if (!s->tombstones[i].has_deletion_timestamp ||
			s->tombstones[i].deletion_timestamp >= cutoff)
			r.size++;

	st_stat sb;
	lk_error e;
	bool ok = true;
	if (st_stat_object(st, path, &sb, &e)) {
		r.existed = true;
		r.size_in_bytes = (int64_t) sb.size;
	} else {
		cp_types ct;
		cp_schema(&a, &ct);
		st_writer *sw = lk_xmalloc(sizeof(*sw));
		if (!st_open_write(st, path, sw, err)) {
			free(sw);
			lk_arena_free(&a);
			return false;
		}
		pq_output out = {sw, path, so_write, so_close};
		pq_writer_options po;
		pq_writer_options_init(&po);
		po.codec = PQ_CODEC_SNAPPY;
		po.created_by = "lakesync version 0.1.0";
		pq_writer *pw = pq_writer_open(&out, ct.schema, &po, err);
		lk_batch *b = pw ? lk_batch_new(ct.schema) : NULL;
		ok = pw != NULL;
#define FLUSH_IF_FULL()                                                  \
	do {                                                                 \
		if (ok && b->cols[0].length >= CP_BATCH_ROWS) {                  \
			ok = lk_batch_seal(b) && pq_writer_write(pw, b, err);        \
			lk_batch_reset(b);                                           \
		}                                                                \
	} while (0)
		if (ok) {
			row_protocol(b, &ct, &s->protocol);
			row_metadata(b, &ct, &s->metadata);
			for (size_t i = 0; i < s->ntxns; i++)
				row_txn(b, &ct, &s->txns[i]);
			for (size_t i = 0; i < s->ndomains; i++)
				row_domain(b, &ct, &s->domains[i]);
		}
		for (size_t i = 0; ok && i < s->nfiles; i++) {
			row_add(b, &ct, &s->files[i].add);
			FLUSH_IF_FULL();
		}
		for (size_t i = 0; ok && i < s->ntombstones; i++) {
			const dl_remove *t = &s->tombstones[i];
			if (t->has_deletion_timestamp && t->deletion_timestamp < cutoff)
				continue;
			row_remove(b, &ct, t);
			FLUSH_IF_FULL();
		}
#undef FLUSH_IF_FULL
		if (ok && b->cols[0].length > 0)
			ok = lk_batch_seal(b) && pq_writer_write(pw, b, err);
		pq_file_info info;
		if (ok) {
			ok = pq_writer_close(pw, true, &info, err);
			if (ok) {
				r.size_in_bytes = info.file_size;
				if (info.num_rows != r.size) {
					lk_error_set(err, LK_ERR_INTERNAL,
								 "checkpoint has %" PRId64 " rows, expected %" PRId64,
								 info.num_rows, r.size);
					ok = false;
				}
			} else if (err->code == LK_ERR_CONFLICT) {
				/* a concurrent writer published the same checkpoint */
				r.existed = true;
				ok = st_stat_object(st, path, &sb, err);
				r.size_in_bytes = (int64_t) sb.size;
			}
		}
		if (b)
			lk_batch_free(b);
		pq_writer_free(pw);
	}
	if (ok)
		ok = write_last_checkpoint(st, &r, err);
	if (!ok && !strstr(err->where, "checkpoint"))
		lk_error_add_where(err, "checkpoint of version %" PRId64, s->version);
	lk_arena_free(&a);
	if (ok && res)
		*res = r;
	return ok;
}

bool
dl_checkpoint_write(st_store *st, int64_t version, dl_checkpoint_result *res,
					lk_error *err)
{
	dl_snapshot_options o;
	dl_snapshot_options_init(&o);
	o.version = version;
	dl_snapshot *s;
	LK_FORWARD(dl_snapshot_open(st, &o, &s, err));
	bool ok = dl_checkpoint_write_snapshot(s, res, err);
	dl_snapshot_free(s);
	return ok;
}

/* ---- optimize ----------------------------------------------------------------- */

void
dl_optimize_options_init(dl_optimize_options *o)
{
	memset(o, 0, sizeof(*o));
	o->target_size = 128LL * 1024 * 1024;
	o->min_files = 2;
	o->max_attempts = 1000;
}

typedef struct ofile_ref {
	const dl_file *f;
	const char *pkey;           /* partition key text */
} ofile_ref;

static int
cmp_ref(const void *x, const void *y)
{
	const ofile_ref *a = x, *b = y;
	int c = strcmp(a->pkey, b->pkey);
	if (c)
		return c;
	if (a->f->add.size != b->f->add.size)
		return a->f->add.size < b->f->add.size ? -1 : 1;
	return strcmp(a->f->path, b->f->path);
}

typedef struct opt_ctx {
	dl_data_writer *w;
} opt_ctx;

static bool
opt_cb(void *ctx, const lk_batch *b, lk_error *err)
{
	return dl_data_writer_write(((opt_ctx *) ctx)->w, b, err);
}

/* Rewrite one bin (refs[0..n), one partition) into the commit. */
static bool
optimize_bin(dl_commit *c, const dl_layout *l, const ofile_ref *refs, size_t n,
			 dl_optimize_result *res, lk_error *err)
{
	st_store *st = dl_commit_store(c);
	dl_write_options wo;
	dl_write_options_init(&wo);
	wo.data_change = false;
	wo.cdc_covered = true;
	dl_data_writer *w = dl_data_writer_open_partition(c, &wo, &refs[0].f->add.partition_values,
													  err);
	if (!w)
		return false;
	opt_ctx ox = {w};
	bool ok = true;
	int64_t now = dl_now_ms();
	for (size_t i = 0; ok && i < n; i++) {
		const dl_file *f = refs[i].f;
		dl_bitmap dv;
		dl_bitmap_init(&dv);
		if (f->add.has_dv) {
			ok = dl_dv_load(st, &f->add.dv, &dv, err);
			res->rows_dropped += (int64_t) dl_bitmap_cardinality(&dv);
		}
		if (ok)
			ok = dl_data_file_read(st, l, f->path, f->add.has_dv ? &dv : NULL, NULL, opt_cb,
								   &ox, err);
		dl_bitmap_free(&dv);
		dl_action rm;
		dl_remove_action(&f->add, false, now, &rm);
		if (ok)
			ok = dl_commit_add_action(c, &rm, err);
		res->files_removed++;
		res->bytes_removed += f->add.size;
	}
	if (!ok) {
		dl_data_writer_free(w);
		return false;
	}
	return dl_data_writer_close(w, err);
}

bool
dl_optimize(st_store *st, const dl_optimize_options *opt, dl_optimize_result *res,
			lk_error *err)
{
	dl_optimize_options o;
	if (opt)
		o = *opt;
	else
		dl_optimize_options_init(&o);
	if (o.target_size <= 0)
		o.target_size = 128LL * 1024 * 1024;
	if (o.min_files < 1)
		o.min_files = 2;
	dl_optimize_result r;
	memset(&r, 0, sizeof(r));
	r.version = -1;

	dl_snapshot *s;
	LK_FORWARD(dl_snapshot_open(st, NULL, &s, err));
	bool ok = dl_protocol_check_write(&s->protocol, &s->metadata, err);
	if (ok && !s->has_schema)
		ok = lk_error_set(err, LK_ERR_CORRUPT, "the table has no schema");
	lk_arena a;
	lk_arena_init(&a, 0);
	dl_layout l;
	if (ok)
		ok = dl_layout_make(&s->schema, s->column_mapping, &s->metadata.partition_columns, &a,
							&l, err);
	ofile_ref *refs = NULL;
	size_t nrefs = 0;
	if (ok) {
		refs = lk_xmalloc(sizeof(ofile_ref) * (s->nfiles + 1));
		for (size_t i = 0; i < s->nfiles; i++) {
			const dl_file *f = &s->files[i];
			if (f->add.size >= o.target_size && !f->add.has_dv)
				continue;
			lk_buf k = LK_BUF_INIT;
			for (int p = 0; p < l.npart; p++) {
				const char *v = dl_map_get(&f->add.partition_values, l.part_key[p], NULL);
				lk_buf_append_str(&k, v ? v : "\x1e");
				lk_buf_append_byte(&k, 0x1f);
			}
			refs[nrefs].f = f;
			refs[nrefs].pkey = lk_arena_strndup(&a, k.data ? (const char *) k.data : "", k.len);
			nrefs++;
			lk_buf_free(&k);
		}
		qsort(refs, nrefs, sizeof(ofile_ref), cmp_ref);
	}

	/* bins: consecutive candidates of one partition up to the target size */
	typedef struct bin { size_t from, n; } bin;
	bin *bins = lk_xmalloc(sizeof(bin) * (nrefs + 1));
	size_t nbins = 0;
	for (size_t i = 0; ok && i < nrefs;) {
		size_t j = i;
		int64_t sum = 0;
		bool dv = false;
		while (j < nrefs && strcmp(refs[j].pkey, refs[i].pkey) == 0 &&
			   (j == i || sum + refs[j].f->add.size <= o.target_size)) {
			sum += refs[j].f->add.size;
			dv |= refs[j].f->add.has_dv;
			j++;
		}
		if ((int64_t) (j - i) >= o.min_files || dv) {
			bins[nbins].from = i;
			bins[nbins].n = j - i;
			nbins++;
		}
		i = j;
	}

	dl_commit *c = NULL;
	if (ok && nbins && o.dry_run) {
		const char *last = NULL;
		for (size_t bi = 0; bi < nbins; bi++) {
			for (size_t k = 0; k < bins[bi].n; k++) {
				r.files_removed++;
				r.bytes_removed += refs[bins[bi].from + k].f->add.size;
			}
			if (!last || strcmp(last, refs[bins[bi].from].pkey) != 0)
				r.partitions++;
			last = refs[bins[bi].from].pkey;
		}
	} else if (ok && nbins) {
		c = dl_commit_begin(st, s, "OPTIMIZE");
		dl_commit_set_param(c, "predicate", "\"[]\"");
		dl_commit_set_param(c, "zOrderBy", "\"[]\"");
		dl_commit_set_param(c, "auto", "false");
		const dl_layout *cl;
		ok = dl_commit_layout(c, &cl, err);
		const char *last = NULL;
		for (size_t bi = 0; ok && bi < nbins; bi++) {
			ok = optimize_bin(c, cl, &refs[bins[bi].from], bins[bi].n, &r, err);
			if (!last || strcmp(last, refs[bins[bi].from].pkey) != 0)
				r.partitions++;
			last = refs[bins[bi].from].pkey;
		}
		for (size_t i = 0; ok && i < dl_commit_nactions(c); i++) {
			const dl_action *act = dl_commit_action(c, i, NULL);
			if (act->type == DL_ACT_ADD) {
				r.files_added++;
				r.bytes_added += act->u.add.size;
			}
		}
		dl_commit_options co;
		dl_commit_options_init(&co);
		co.max_attempts = o.max_attempts > 0 ? o.max_attempts : 1000;
		if (ok)
			ok = dl_commit_run(c, &co, err);
		if (ok)
			r.version = dl_commit_version(c);
	}
	dl_commit_free(c);
	free(bins);
	free(refs);
	lk_arena_free(&a);
	dl_snapshot_free(s);
	if (ok && res)
		*res = r;
	return ok;
}

/* ---- vacuum ------------------------------------------------------------------- */

void
dl_vacuum_options_init(dl_vacuum_options *o)
{
	memset(o, 0, sizeof(*o));
	o->retention_ms = -1;
}

typedef struct sset {
	const char **e;
	size_t cap, n;
} sset;

static uint64_t
hash_s(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 1099511628211ull;
	return h;
}

static void
sset_add(sset *s, const char *k)
{
	if (2 * (s->n + 1) > s->cap) {
		size_t nc = s->cap ? 2 * s->cap : 64;
		const char **ne = lk_xcalloc(nc, sizeof(char *));
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->e[i])
				continue;
			size_t h = hash_s(s->e[i]) & (nc - 1);
			while (ne[h])
				h = (h + 1) & (nc - 1);
			ne[h] = s->e[i];
		}
		free(s->e);
		s->e = ne;
		s->cap = nc;
	}
	size_t h = hash_s(k) & (s->cap - 1);
	while (s->e[h]) {
		if (strcmp(s->e[h], k) == 0)
			return;
		h = (h + 1) & (s->cap - 1);
	}
	s->e[h] = k;
	s->n++;
}

static bool
sset_has(const sset *s, const char *k)
{
	if (!s->cap)
		return false;
	size_t h = hash_s(k) & (s->cap - 1);
	while (s->e[h]) {
		if (strcmp(s->e[h], k) == 0)
			return true;
		h = (h + 1) & (s->cap - 1);
	}
	return false;
}

typedef struct vac {
	st_store *st;
	const dl_vacuum_options *o;
	dl_vacuum_result *r;
	const sset *keep;
	int64_t cutoff;
	const dl_strings *pcols;
	lk_arena *a;
} vac;

static bool
keep_path(vac *v, sset *keep, const char *path, bool has_dv, const dl_dv *dv,
		  lk_error *err)
{
	sset_add(keep, st_path_canonical(v->st, path, v->a));
	if (has_dv && dv->storage_type != 'i') {
		char *dp;
		LK_FORWARD(dl_dv_path(dv, v->a, &dp, err));
		sset_add(keep, st_path_canonical(v->st, dp, v->a));
	}
	return true;
}

/* Our own abandoned temporary files: ".<name>.<pid>.<n>.tmp". */
static bool
is_our_temp(const char *name)
{
	size_t n = strlen(name);
	if (name[0] != '.' || n < 10 || strcmp(name + n - 4, ".tmp") != 0)
		return false;
	const char *p = name + n - 4;
	int dots = 0;
	while (p > name && dots < 2) {
		p--;
		if (*p == '.')
			dots++;
		else if (*p < '0' || *p > '9')
			return false;
	}
	return dots == 2;
}

static bool
hidden(const vac *v, const char *name)
{
	if (name[0] != '.' && name[0] != '_')
		return false;
	if (strcmp(name, "_change_data") == 0)
		return false;
	for (int i = 0; i < v->pcols->n; i++) {
		size_t k = strlen(v->pcols->items[i]);
		if (strncmp(name, v->pcols->items[i], k) == 0 && name[k] == '=')
			return false;
	}
	return true;
}

/* Walk dir; *empty tells the caller the directory is now empty. */
static bool
vac_walk(vac *v, const char *dir, int depth, bool *empty, lk_error *err)
{
	st_entry *e;
	size_t n;
	*empty = false;
	if (depth > 64)
		return true;
	if (!st_list(v->st, dir, NULL, v->a, &e, &n, err))
		return false;
	size_t left = n;
	for (size_t i = 0; i < n; i++) {
		const char *name = e[i].name;
		const char *rel = *dir ? st_path_join(v->a, dir, name) : name;
		if (depth == 0 && strcmp(name, "_delta_log") == 0)
			continue;
		bool temp = !e[i].is_dir && is_our_temp(name);
		if (hidden(v, name) && !temp)
			continue;
		if (e[i].is_dir) {
			bool sub_empty;
			LK_FORWARD(vac_walk(v, rel, depth + 1, &sub_empty, err));
			if (sub_empty && !v->o->dry_run && e[i].mtime_ms < v->cutoff) {
				lk_error e2;
				if (st_remove(v->st, rel, &e2)) {
					v->r->dirs_deleted++;
					left--;
				}
			}
			continue;
		}
		if (!temp && sset_has(v->keep, st_path_canonical(v->st, rel, v->a)))
			continue;
		if (e[i].mtime_ms >= v->cutoff) {
			v->r->files_kept++;
			continue;
		}
		if (v->o->on_file)
			v->o->on_file(v->o->ctx, rel, e[i].size);
		v->r->files_deleted++;
		v->r->bytes_deleted += (int64_t) e[i].size;
		if (!v->o->dry_run) {
			if (!st_remove(v->st, rel, err)) {
				if (err->code != LK_ERR_NOT_FOUND)
					return false;
				lk_error_clear(err);
			}
			left--;
		}
	}
	*empty = left == 0;
	return true;
}

bool
dl_vacuum(st_store *st, const dl_vacuum_options *opt, dl_vacuum_result *res,
		  lk_error *err)
{
	dl_vacuum_options o;
	if (opt)
		o = *opt;
	else
		dl_vacuum_options_init(&o);
	dl_vacuum_result r;
	memset(&r, 0, sizeof(r));

	dl_snapshot *s;
	LK_FORWARD(dl_snapshot_open(st, NULL, &s, err));
	bool ok = dl_protocol_check_write(&s->protocol, &s->metadata, err);
	int64_t table_ret = table_retention_ms(&s->metadata);
	int64_t ret = o.retention_ms >= 0 ? o.retention_ms : table_ret;
	if (ok && ret < table_ret && !o.force) {
		lk_error_set(err, LK_ERR_INVALID,
					 "retention of %.1f hours is shorter than the table's "
					 "delta.deletedFileRetentionDuration (%.1f hours): files that "
					 "concurrent readers or writers still use could be deleted; use "
					 "--force to do it anyway",
					 (double) ret / 3600000.0, (double) table_ret / 3600000.0);
		ok = false;
	}
	int64_t now = o.now_ms ? o.now_ms : dl_now_ms();
	lk_arena a;
	lk_arena_init(&a, 0);
	sset keep = {0};
	vac v = {st, &o, &r, &keep, now - ret, &s->metadata.partition_columns, &a};
	for (size_t i = 0; ok && i < s->nfiles; i++)
		ok = keep_path(&v, &keep, s->files[i].path, s->files[i].add.has_dv,
					   &s->files[i].add.dv, err);
	for (size_t i = 0; ok && i < s->ntombstones; i++) {
		const dl_remove *t = &s->tombstones[i];
		if (t->has_deletion_timestamp && t->deletion_timestamp < v.cutoff)
			continue;
		char *dec;
		ok = st_path_decode(t->path, &a, &dec, err) &&
			 keep_path(&v, &keep, dec, t->has_dv, &t->dv, err);
	}
	bool empty;
	if (ok)
		ok = vac_walk(&v, "", 0, &empty, err);
	free(keep.e);
	lk_arena_free(&a);
	dl_snapshot_free(s);
	if (ok && res)
		*res = r;
	return ok;
}
