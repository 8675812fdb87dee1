/*
 * table.c — one synced table in history mode: source columns → Delta
 * history schema, history rows from COPY fields and pgoutput changes, the
 * last-image cache for unchanged TOAST values, batches → Parquet → Delta
 * commits with the exactly-once txn marker.  See table.h and
 * src/sync/README.md (lifecycle diagram, invariants).
 *
 * Rows of one table, from arrival to durability:
 *
 *   sy_table_insert/update/delete/truncate (or the snapshot's workers)
 *        │ sy_table_append_values: text → pgt_append_text → batch columns
 *        ▼
 *   t->batch ──(batch_bytes ≥ cfg.batch_bytes, even mid-transaction)──▶
 *   t->writer (dl_data_writer on t->commit: Parquet row groups, files)
 *        │ sy_table_commit, only at a transaction boundary
 *        ▼
 *   dl_data_writer_close (files fsynced, adds join the commit)
 *   dl_commit_set_txn(app_id, last_pending_lsn) ─▶ dl_commit_run
 *        ▼
 *   version = last_pending_lsn; pending = 0      (durable: invariant 2)
 */
#include "sync/table.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/log.h"
#include "delta/schema.h"
#include "sync/evolve.h"
#include "sync/mirror.h"

const char *const sy_history_columns[SY_H_COUNT] = {
	"_change_type", "_commit_lsn", "_change_seq", "_commit_timestamp", "_xid",
};

static const lk_type_id history_types[SY_H_COUNT] = {
	LK_T_STRING, LK_T_LONG, LK_T_LONG, LK_T_TIMESTAMP, LK_T_LONG,
};

/* delta_src encoding: ≥ 0 source column, -1 Delta-only (null), ≤ -2 the
 * history column -2 - k */
#define SRC_NONE (-1)
#define SRC_HIST(k) (-2 - (k))

const char *
sy_table_mode_name(sy_table_mode m)
{
	return m == SY_TABLE_MIRROR ? "mirror" : "history";
}

bool
sy_table_mode_parse(const char *s, sy_table_mode *out)
{
	if (s && strcmp(s, "history") == 0)
		*out = SY_TABLE_HISTORY;
	else if (s && strcmp(s, "mirror") == 0)
		*out = SY_TABLE_MIRROR;
	else
		return false;
	return true;
}

const char *
sy_state_name(sy_state s)
{
	switch (s) {
	case SY_INIT: return "init";
	case SY_SNAPSHOT: return "snapshot";
	case SY_CATCHUP: return "catchup";
	case SY_STREAMING: return "streaming";
	case SY_STOPPED: return "stopped";
	case SY_ERROR: return "error";
	}
	return "unknown";
}

void
sy_table_config_init(sy_table_config *c)
{
	memset(c, 0, sizeof(*c));
	c->flush_bytes = INT64_C(128) << 20;
	c->flush_interval_ms = 1000;
	c->early_flush_ms = 200;
	c->batch_bytes = INT64_C(16) << 20;
	c->row_group_rows = 0;
	c->toast_cache_bytes = (size_t) 64 << 20;
	c->mode = SY_TABLE_HISTORY;
	c->index_bytes = 0;
	c->index_save_ms = 60000;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the last-image cache (unchanged TOAST values) ------------------------ */

/*
 * Key: the identity-key columns of the row, each as u32 length + bytes
 * (0xFFFFFFFF for null).  Value: the text of every toastable column of the
 * row's last image.  Least recently used entries are evicted past the
 * budget: a miss later is an error (never a placeholder), see README.
 */
typedef struct tentry {
	uint64_t hash;
	size_t keylen;
	const uint8_t *key;
	sy_value *vals;             /* one per toastable column */
	size_t bytes;
	struct tentry *hnext, *prev, *next;
} tentry;

struct sy_toast {
	int nt;
	int *tidx;                  /* source column → toastable index or -1 */
	tentry **ht;
	size_t htcap, n;
	tentry *newest, *oldest;
	size_t bytes, budget;
	int64_t evicted;
};

static uint64_t
hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static void
lru_unlink(sy_toast *c, tentry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->newest = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->oldest = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_push(sy_toast *c, tentry *e)
{
	e->prev = NULL;
	e->next = c->newest;
	if (c->newest)
		c->newest->prev = e;
	c->newest = e;
	if (!c->oldest)
		c->oldest = e;
}

static tentry *
toast_find(sy_toast *c, const uint8_t *key, size_t keylen, uint64_t h)
{
	if (!c->htcap)
		return NULL;
	for (tentry *e = c->ht[h & (c->htcap - 1)]; e; e = e->hnext)
		if (e->hash == h && e->keylen == keylen && memcmp(e->key, key, keylen) == 0)
			return e;
	return NULL;
}

static void
toast_remove(sy_toast *c, tentry *e)
{
	tentry **pp = &c->ht[e->hash & (c->htcap - 1)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(c, e);
	c->bytes -= e->bytes;
	c->n--;
	free(e);
}

static void
toast_clear(sy_toast *c)
{
	while (c->oldest)
		toast_remove(c, c->oldest);
}

static void
toast_free(sy_toast *c)
{
	if (!c)
		return;
	toast_clear(c);
	free(c->ht);
	free(c->tidx);
	free(c);
}

static void
toast_grow(sy_toast *c)
{
	size_t nc = c->htcap ? c->htcap * 2 : 1024;
	tentry **nt = lk_xcalloc(nc, sizeof(tentry *));
	for (size_t i = 0; i < c->htcap; i++) {
		tentry *e = c->ht[i];
		while (e) {
			tentry *nx = e->hnext;
			e->hnext = nt[e->hash & (nc - 1)];
			nt[e->hash & (nc - 1)] = e;
			e = nx;
		}
	}
	free(c->ht);
	c->ht = nt;
	c->htcap = nc;
}

/* Images whose toastable values are shorter than this in text are not
 * kept: PostgreSQL stores a value out of line (and then sends 'u' for it
 * unchanged) only in a tuple past about 2 kB. */
#define TOAST_MIN_IMAGE 512

/* Remember vals (source columns) as the last image of key. */
static void
toast_put(sy_toast *c, const sy_table *t, const lk_buf *key, const sy_value *vals)
{
	uint64_t h = hash_bytes(key->data, key->len);
	tentry *old = toast_find(c, key->data, key->len, h);
	size_t bytes = sizeof(tentry) + sizeof(sy_value) * (size_t) c->nt + key->len;
	size_t values = 0;
	for (int i = 0; i < t->ncols; i++)
		if (c->tidx[i] >= 0 && !vals[i].null)
			values += vals[i].n;
	bytes += values;
	if (bytes > c->budget || values < TOAST_MIN_IMAGE) {
		/* too big to keep, or too small for any value to be stored out of
		 * line (no 'u' can follow; a miss only costs a lookup of the
		 * current row): the old image is stale, forget it */
		if (old)
			toast_remove(c, old);
		return;
	}
	/* vals may point into the old entry (a filled 'u'): copy first */
	tentry *e = lk_xmalloc(bytes);
	memset(e, 0, sizeof(*e));
	e->vals = (sy_value *) (e + 1);
	uint8_t *p = (uint8_t *) (e->vals + c->nt);
	memcpy(p, key->data, key->len);
	e->key = p;
	e->keylen = key->len;
	p += key->len;
	for (int i = 0; i < t->ncols; i++) {
		int k = c->tidx[i];
		if (k < 0)
			continue;
		e->vals[k].null = vals[i].null;
		e->vals[k].n = vals[i].null ? 0 : vals[i].n;
		e->vals[k].p = (const char *) p;
		if (!vals[i].null && vals[i].n) {
			memcpy(p, vals[i].p, vals[i].n);
			p += vals[i].n;
		}
	}
	e->hash = h;
	e->bytes = bytes;
	if (old)
		toast_remove(c, old);
	while (c->bytes + bytes > c->budget && c->oldest) {
		toast_remove(c, c->oldest);
		c->evicted++;
	}
	if ((c->n + 1) * 2 > c->htcap)
		toast_grow(c);
	e->hnext = c->ht[h & (c->htcap - 1)];
	c->ht[h & (c->htcap - 1)] = e;
	lru_push(c, e);
	c->n++;
	c->bytes += bytes;
}

/* ---- init ---------------------------------------------------------------- */

/* The conversion of a catalog column (see table.h). */
const pgt_conv *
sy_table_column_conv(lk_arena *a, const pgc_column *c)
{
	pgt_type_desc *elem = NULL, *base = NULL;
	pgt_type_desc *top = lk_arena_zalloc(a, sizeof(*top));
	if (c->elem_oid) {
		elem = lk_arena_zalloc(a, sizeof(*elem));
		elem->oid = c->elem_oid;
		elem->typmod = -1;
		elem->typtype = c->elem_typtype;
	}
	top->oid = c->type_oid;
	top->typmod = c->typmod;
	top->typtype = c->typtype;
	top->ndims = c->ndims;
	if (c->typtype == 'd') {
		base = lk_arena_zalloc(a, sizeof(*base));
		base->oid = c->base_oid;
		base->typmod = c->base_typmod;
		base->typtype = c->base_typtype;
		base->typcategory = c->base_category;
		base->ndims = c->ndims;
		base->elem = elem;
		top->base = base;
	} else {
		top->typcategory = c->base_category;
		top->elem = elem;
	}
	return pgt_map_type(a, top);
}

static bool
usable_dir_name(const char *s)
{
	return *s && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && !strchr(s, '/') &&
		   !strchr(s, '\\');
}

char *
sy_table_location_mode(const char *target, const char *schema, const char *table,
					   sy_table_mode mode)
{
	size_t n = strlen(target);
	while (n > 1 && target[n - 1] == '/')
		n--;
	size_t len = n + strlen(schema) + strlen(table) + 16;
	char *r = lk_xmalloc(len);
	snprintf(r, len, "%.*s/%s/%s%s", (int) n, target, schema, table,
			 mode == SY_TABLE_MIRROR ? "" : "_history");
	return r;
}

char *
sy_table_location(const char *target, const char *schema, const char *table)
{
	return sy_table_location_mode(target, schema, table, SY_TABLE_HISTORY);
}

/* <target root>/_lakesync/<pipeline>/index/<schema>.<table>[.history]: a
 * local directory (NULL when the target is not a local path). */
static char *
index_dir(lk_arena *a, const char *target, const char *pipeline,
		  const pgc_table_name *name, sy_table_mode mode)
{
	st_store st;
	lk_error e;
	if (!st_store_open(&st, target, 0, &e))
		return NULL;
	char *r = lk_arena_sprintf(a, "%s/_lakesync/%s/index/%s.%s%s", st.root, pipeline,
							   name->schema, name->name,
							   mode == SY_TABLE_MIRROR ? "" : ".history");
	st_store_close(&st);
	return r;
}

bool
sy_table_init(sy_table *t, const sy_table_config *cfg, const char *pipeline,
			  const char *target, const pgc_table_name *name,
			  const pgc_table_info *info, const pgc_table_def *def,
			  lk_error *err)
{
	memset(t, 0, sizeof(*t));
	lk_arena_init(&t->arena, 0);
	t->cfg = *cfg;
	t->version = -1;
	t->name.schema = lk_arena_strdup(&t->arena, name->schema);
	t->name.name = lk_arena_strdup(&t->arena, name->name);
	t->qualname = lk_arena_sprintf(&t->arena, "%s.%s", name->schema, name->name);
	t->app_id = lk_arena_sprintf(&t->arena, "lakesync/%s/%s.%s", pipeline,
								 name->schema, name->name);
	t->mode = cfg->mode;
	t->index_dir = index_dir(&t->arena, target, pipeline, name, t->mode);
	char *loc = sy_table_location_mode(target, name->schema, name->name, t->mode);
	t->uri = lk_arena_strdup(&t->arena, loc);
	free(loc);
	t->relid = info ? info->relid : def->relid;
	t->replident = info ? info->replident : 'd';
	t->state = SY_INIT;

	if (info && info->relkind == 'p') {
		lk_error_set(err, LK_ERR_UNSUPPORTED,
					 "partitioned tables are not supported yet; sync its partitions");
		return lk_error_where(err, "table \"%s\"", t->qualname);
	}
	if (!usable_dir_name(name->schema) || !usable_dir_name(name->name)) {
		lk_error_set(err, LK_ERR_UNSUPPORTED,
					 "a schema or table name with '/' or '\\\\' (or \".\", \"..\") cannot "
					 "name a Delta table directory");
		return lk_error_where(err, "table \"%s\"", t->qualname);
	}
	t->cols = lk_arena_zalloc(&t->arena, sizeof(sy_column) * (size_t) (def->ncols + 1));
	for (int i = 0; i < def->ncols; i++) {
		const pgc_column *pc = &def->cols[i];
		if (pc->generated)
			continue;
		for (int k = 0; t->mode == SY_TABLE_HISTORY && k < SY_H_COUNT; k++)
			if (strcasecmp(pc->name, sy_history_columns[k]) == 0) {
				lk_error_set(err, LK_ERR_UNSUPPORTED,
							 "source column \"%s\" has the name of a history column",
							 pc->name);
				return lk_error_where(err, "table \"%s\"", t->qualname);
			}
		static const char *const cdf_columns[] = {"_change_type", "_commit_version",
												  "_commit_timestamp"};
		for (int k = 0; t->mode == SY_TABLE_MIRROR && k < 3; k++)
			if (strcasecmp(pc->name, cdf_columns[k]) == 0) {
				lk_error_set(err, LK_ERR_UNSUPPORTED,
							 "source column \"%s\" has the name of a Change Data Feed "
							 "column, which a mirror table cannot have (use history mode)",
							 pc->name);
				return lk_error_where(err, "table \"%s\"", t->qualname);
			}
		for (int j = 0; j < t->ncols; j++)
			if (strcasecmp(pc->name, t->cols[j].name) == 0) {
				lk_error_set(err, LK_ERR_UNSUPPORTED,
							 "columns \"%s\" and \"%s\" differ only in case, which Delta "
							 "column names cannot", t->cols[j].name, pc->name);
				return lk_error_where(err, "table \"%s\"", t->qualname);
			}
		sy_column *c = &t->cols[t->ncols++];
		c->name = lk_arena_strdup(&t->arena, pc->name);
		c->attnum = pc->attnum;
		c->conv = sy_table_column_conv(&t->arena, pc);
		c->type_oid = pc->type_oid;
		c->typmod = pc->typmod;
		c->toastable = pc->base_typtype != 'e' && !pgt_fixed_length_oid(pc->base_oid);
		c->delta_index = -1;
	}
	if (t->ncols == 0) {
		lk_error_set(err, LK_ERR_UNSUPPORTED, "table has no columns to sync");
		return lk_error_where(err, "table \"%s\"", t->qualname);
	}
	return sy_mirror_init(t, info, def, err);
}

void
sy_table_free(sy_table *t)
{
	sy_table_discard(t);
	sy_mirror_free(t, t->state != SY_ERROR);
	if (t->batch)
		lk_batch_free(t->batch);
	t->batch = NULL;
	dl_commit_free(t->prev);
	t->prev = NULL;
	dl_snapshot_free(t->snap);
	t->snap = NULL;
	toast_free(t->toast);
	t->toast = NULL;
	free(t->rel_col);
	free(t->rel_key);
	t->rel_col = NULL;
	t->rel_key = NULL;
	if (t->store_open)
		st_store_close(&t->store);
	t->store_open = false;
	lk_arena_free(&t->arena);
}

/* The schema of a new history table (a mirror table: the source columns
 * only). */
static lk_type *
history_schema(sy_table *t)
{
	if (t->mode == SY_TABLE_MIRROR) {
		lk_type *st = lk_type_struct(&t->arena, t->ncols);
		for (int i = 0; i < t->ncols; i++) {
			st->children[i].name = t->cols[i].name;
			st->children[i].type = t->cols[i].conv->type;
			st->children[i].nullable = true;
			st->children[i].field_id = -1;
		}
		return st;
	}
	lk_type *st = lk_type_struct(&t->arena, t->ncols + SY_H_COUNT);
	for (int i = 0; i < t->ncols; i++) {
		st->children[i].name = t->cols[i].name;
		st->children[i].type = t->cols[i].conv->type;
		st->children[i].nullable = true;
		st->children[i].field_id = -1;
	}
	for (int k = 0; k < SY_H_COUNT; k++) {
		lk_field *f = &st->children[t->ncols + k];
		f->name = sy_history_columns[k];
		f->type = lk_type_new(&t->arena, history_types[k]);
		f->nullable = k == SY_H_XID;
		f->field_id = -1;
	}
	return st;
}

/* Map the Delta schema to source and history columns. */
static bool
bind_schema(sy_table *t, const lk_type *ds, lk_error *err)
{
	lk_arena ta;
	t->schema = lk_type_copy(&t->arena, ds);
	t->delta_src = lk_arena_alloc(&t->arena, sizeof(int) * (size_t) (ds->nchildren + 1));
	for (int i = 0; i < ds->nchildren; i++)
		t->delta_src[i] = SRC_NONE;
	for (int k = 0; t->mode == SY_TABLE_HISTORY && k < SY_H_COUNT; k++) {
		int i = lk_type_field_index(ds, sy_history_columns[k]);
		if (i < 0 || ds->children[i].type->id != history_types[k]) {
			lk_error_set(err, LK_ERR_UNSUPPORTED,
						 "not a lakesync history table: column %s %s is missing",
						 sy_history_columns[k], lk_type_id_name(history_types[k]));
			return lk_error_where(err, "Delta table \"%s\"", t->uri);
		}
		t->hist[k] = i;
		t->delta_src[i] = SRC_HIST(k);
	}
	for (int c = 0; c < t->ncols; c++) {
		int i = lk_type_field_index(ds, t->cols[c].name);
		if (i < 0) {
			lk_error_set(err, LK_ERR_UNSUPPORTED,
						 "source column \"%s\" is not in the Delta table (schema changes "
						 "are not supported yet)", t->cols[c].name);
			return lk_error_where(err, "Delta table \"%s\"", t->uri);
		}
		if (!lk_type_equal(ds->children[i].type, t->cols[c].conv->type)) {
			lk_arena_init(&ta, 0);
			lk_error_set(err, LK_ERR_UNSUPPORTED,
						 "source column \"%s\" maps to %s but the Delta table has %s "
						 "(schema changes are not supported yet)", t->cols[c].name,
						 lk_type_name(&ta, t->cols[c].conv->type),
						 lk_type_name(&ta, ds->children[i].type));
			lk_arena_free(&ta);
			return lk_error_where(err, "Delta table \"%s\"", t->uri);
		}
		t->cols[c].delta_index = i;
		t->delta_src[i] = c;
	}
	return true;
}

bool
sy_table_open(sy_table *t, lk_error *err)
{
	/* the key (mirror: refused without one, before anything is created) */
	if (!sy_mirror_check(t, err))
		return false;
	if (!t->store_open) {
		if (!st_store_open(&t->store, t->uri, 0, err))
			return false;
		t->store_open = true;
	}
	dl_snapshot *snap = NULL;
	lk_error e2;
	lk_error_clear(&e2);
	if (!dl_snapshot_open(&t->store, NULL, &snap, &e2)) {
		if (e2.code != LK_ERR_NOT_FOUND) {
			*err = e2;
			return lk_error_add_where(err, "Delta table \"%s\"", t->uri);
		}
		dl_table_options o;
		dl_table_options_init(&o);
		if (t->mode == SY_TABLE_MIRROR) {
			o.name = t->name.name;
			o.description = lk_arena_sprintf(&t->arena, "lakesync mirror of %s",
											 t->qualname);
			o.deletion_vectors = true;
			o.change_data_feed = true;
		} else {
			o.name = lk_arena_sprintf(&t->arena, "%s_history", t->name.name);
			o.description = lk_arena_sprintf(&t->arena, "lakesync history of %s",
											 t->qualname);
			o.append_only = true;
		}
		lk_error_clear(&e2);
		if (!dl_table_create(&t->store, history_schema(t), &o, &e2) &&
			e2.code != LK_ERR_CONFLICT) {
			*err = e2;
			return lk_error_add_where(err, "Delta table \"%s\"", t->uri);
		}
		if (!dl_snapshot_open(&t->store, NULL, &snap, err))
			return lk_error_add_where(err, "Delta table \"%s\"", t->uri);
		lk_info("created Delta table %s for %s", t->uri, t->qualname);
	}
	if (!snap->has_schema) {
		dl_snapshot_free(snap);
		lk_error_set(err, LK_ERR_CORRUPT, "the Delta table has no schema");
		return lk_error_where(err, "Delta table \"%s\"", t->uri);
	}
	if (!dl_protocol_check_write(&snap->protocol, &snap->metadata, err)) {
		dl_snapshot_free(snap);
		return lk_error_add_where(err, "Delta table \"%s\"", t->uri);
	}
	if (!bind_schema(t, snap->schema.type, err)) {
		/* the catalog is ahead of the Delta table (an ALTER not streamed
		 * yet, or a change that stopped the table): start from the Delta
		 * schema; the replayed Relation messages evolve it or stop only
		 * this table (sync/evolve.h) */
		lk_error first = *err;
		if (!sy_evolve_open(t, snap->schema.type, err)) {
			lk_warn("%s: %s", t->qualname, first.msg);
			dl_snapshot_free(snap);
			return lk_error_add_where(err, "Delta table \"%s\"", t->uri);
		}
		lk_info("%s: the source columns differ from the Delta table (%s); the stream's "
				"schema changes are applied from the Delta schema", t->qualname, first.msg);
	}
	if (t->mode == SY_TABLE_MIRROR &&
		(!dl_snapshot_config(snap, "delta.enableDeletionVectors") ||
		 strcmp(dl_snapshot_config(snap, "delta.enableDeletionVectors"), "true") != 0)) {
		dl_snapshot_free(snap);
		lk_error_set(err, LK_ERR_UNSUPPORTED, "not a lakesync mirror table: deletion "
					 "vectors are not enabled (delta.enableDeletionVectors)");
		return lk_error_where(err, "Delta table \"%s\"", t->uri);
	}
	if (t->mode == SY_TABLE_MIRROR && lk_type_field_index(snap->schema.type,
														  "_change_type") >= 0) {
		dl_snapshot_free(snap);
		lk_error_set(err, LK_ERR_UNSUPPORTED, "the Delta table at the mirror location has "
					 "history columns: it is a history table, not a mirror");
		return lk_error_where(err, "Delta table \"%s\"", t->uri);
	}
	dl_snapshot_free(t->snap);
	t->snap = snap;
	t->version = dl_snapshot_txn_version(snap, t->app_id);
	t->state = t->version < 0 ? SY_SNAPSHOT : SY_CATCHUP;
	if (!t->batch)
		t->batch = lk_batch_new(t->schema);
	return true;
}

/* ---- rows ------------------------------------------------------------------ */

lk_batch *
sy_table_new_batch(const sy_table *t)
{
	return lk_batch_new(t->schema);
}

/* Value of source column s (Delta column i) taken from row `row` of t->batch
 * (b is t->batch): a copy of the typed value, or the same pending fixup
 * when that value is still to be read from a file. */
static void
append_from_batch(const sy_table *t, lk_column *col, int i, int64_t row, int64_t *sz)
{
	const char *path;
	uint64_t srow;
	if (sy_mirror_find_fixup(t, row, i, &path, &srow)) {
		sy_mirror_add_fixup(t, col->length, i, path, srow);
		lk_column_append_null(col);
		return;
	}
	/* through a scratch column: appending may move col's buffers */
	lk_column tmp;
	lk_column_init(&tmp, col->type);
	lk_column_append_range(&tmp, col, row, 1);
	lk_column_append_range(col, &tmp, 0, 1);
	if (tmp.offsets)
		*sz += tmp.offsets[1] - tmp.offsets[0];
	lk_column_destroy(&tmp);
}

static bool
append_row(const sy_table *t, lk_batch *b, const char *change_type, const sy_txn *tx,
		   int64_t seq, const sy_value *vals, const sy_src *srcs, int64_t *bytes,
		   lk_error *err)
{
	int64_t sz = 48;
	for (int i = 0; i < b->ncols; i++) {
		lk_column *col = &b->cols[i];
		int s = t->delta_src[i];
		if (s >= 0) {
			const sy_value *v = vals ? &vals[s] : NULL;
			if (srcs && srcs[s].kind == SY_SRC_BATCH) {
				append_from_batch(t, col, i, srcs[s].row, &sz);
			} else if (srcs && srcs[s].kind == SY_SRC_FILE) {
				sy_mirror_add_fixup(t, b->nrows, i, srcs[s].path, (uint64_t) srcs[s].row);
				lk_column_append_null(col);
			} else if (!v || v->null) {
				lk_column_append_null(col);
			} else {
				if (!pgt_append_text(t->cols[s].conv, col, t->cols[s].name, v->p, v->n,
									 err))
					return false;
				sz += (int64_t) v->n;
			}
			sz += 8;
			continue;
		}
		if (s == SRC_NONE) {
			lk_column_append_null(col);
			continue;
		}
		switch (SRC_HIST(0) - s) {
		case SY_H_CHANGE_TYPE:
			lk_column_append_bytes(col, change_type, (int64_t) strlen(change_type));
			break;
		case SY_H_COMMIT_LSN:
			lk_column_append_i64(col, (int64_t) tx->commit_lsn);
			break;
		case SY_H_CHANGE_SEQ:
			lk_column_append_i64(col, seq);
			break;
		case SY_H_COMMIT_TS:
			lk_column_append_i64(col, tx->commit_time_us);
			break;
		case SY_H_XID:
			if (tx->xid < 0)
				lk_column_append_null(col);
			else
				lk_column_append_i64(col, tx->xid);
			break;
		}
	}
	b->nrows++;
	if (bytes)
		*bytes = sz;
	return true;
}

bool
sy_table_append_values(const sy_table *t, lk_batch *b, const char *change_type,
					   const sy_txn *tx, int64_t seq, const sy_value *vals,
					   int64_t *bytes, lk_error *err)
{
	return append_row(t, b, change_type, tx, seq, vals, NULL, bytes, err);
}

/* ---- streaming -------------------------------------------------------------- */

bool
sy_table_set_relation(sy_table *t, const pgo_relation *rel, lk_error *err)
{
	/* a schema change (sync/evolve.h) */
	sy_evolve_result evr;
	if (!sy_evolve_relation(t, rel, &evr, err))
		return false;
	if (evr == SY_EVOLVE_UNUSABLE) {
		/* a skipped transaction's Relation that does not fit: a change
		 * decoded with it fails the table (tuple/Relation column counts) */
		free(t->rel_col);
		free(t->rel_key);
		t->rel_col = NULL;
		t->rel_key = NULL;
		t->rel_ncols = -1;
		t->has_rel = true;
		return true;
	}
	if (evr == SY_EVOLVE_CHANGED) {
		/* the cache is laid out by the old columns */
		toast_free(t->toast);
		t->toast = NULL;
	}
	int *map = lk_xmalloc(sizeof(int) * (size_t) (rel->ncols + 1));
	bool *key = lk_xcalloc((size_t) rel->ncols + 1, sizeof(bool));
	for (int j = 0; j < rel->ncols; j++) {
		const pgo_column *rc = &rel->cols[j];
		int c = -1;
		for (int i = 0; i < t->ncols; i++)
			if (strcmp(t->cols[i].name, rc->name) == 0) {
				c = i;
				break;
			}
		if (c < 0) {
			free(map);
			free(key);
			lk_error_set(err, LK_ERR_UNSUPPORTED,
						 "column \"%s\" was added to the source table (schema changes "
						 "are not supported yet)", rc->name);
			return lk_error_where(err, "table \"%s\"", t->qualname);
		}
		if (rc->type_oid != t->cols[c].type_oid || rc->typmod != t->cols[c].typmod) {
			free(map);
			free(key);
			lk_error_set(err, LK_ERR_UNSUPPORTED,
						 "the type of column \"%s\" changed (type oid %u typmod %d, was "
						 "%u typmod %d; schema changes are not supported yet)", rc->name,
						 rc->type_oid, (int) rc->typmod, t->cols[c].type_oid,
						 (int) t->cols[c].typmod);
			return lk_error_where(err, "table \"%s\"", t->qualname);
		}
		map[j] = c;
		key[j] = (rc->flags & PGO_COLUMN_KEY) != 0;
	}
	free(t->rel_col);
	free(t->rel_key);
	t->rel_col = map;
	t->rel_key = key;
	t->rel_ncols = rel->ncols;
	t->has_rel = true;
	t->replident = rel->replident;

	/* the last-image cache: useful when 'u' can arrive and the old tuple
	 * does not carry the values (every identity but FULL) */
	bool any_toast = false, any_key = false;
	for (int i = 0; i < t->ncols; i++)
		any_toast |= t->cols[i].toastable;
	for (int j = 0; j < rel->ncols; j++)
		any_key |= key[j];
	bool want = any_toast && any_key && rel->replident != 'f' &&
				t->cfg.toast_cache_bytes > 0;
	if (!want) {
		toast_free(t->toast);
		t->toast = NULL;
	} else if (!t->toast) {
		sy_toast *c = lk_xcalloc(1, sizeof(*c));
		c->tidx = lk_xmalloc(sizeof(int) * (size_t) t->ncols);
		for (int i = 0; i < t->ncols; i++)
			c->tidx[i] = t->cols[i].toastable ? c->nt++ : -1;
		c->budget = t->cfg.toast_cache_bytes;
		t->toast = c;
	} else {
		/* the key may have changed: start over */
		toast_clear(t->toast);
	}
	return true;
}

bool
sy_table_applies(sy_table *t, uint64_t commit_lsn)
{
	if (t->state != SY_CATCHUP && t->state != SY_STREAMING)
		return false;
	if (t->version >= 0 && commit_lsn <= (uint64_t) t->version)
		return false;
	t->state = SY_STREAMING;
	return true;
}

static bool
where_lsn(const sy_table *t, const sy_txn *tx, lk_error *err)
{
	char lsn[20];
	return lk_error_add_where(err, "table \"%s\", commit lsn %s", t->qualname,
							  pgo_lsn_format(tx->commit_lsn, lsn));
}

/* Per-row scratch: decoded values of a tuple (sy_rowvals, mirror.h). */
typedef sy_rowvals rowvals;

static void
rowvals_init(rowvals *r, int n)
{
	r->v = lk_xcalloc((size_t) n + 1, sizeof(sy_value));
	r->unchanged = lk_xcalloc((size_t) n + 1, sizeof(bool));
	r->present = lk_xcalloc((size_t) n + 1, sizeof(bool));
	for (int i = 0; i < n; i++)
		r->v[i].null = true;
}

static void
rowvals_free(rowvals *r)
{
	free(r->v);
	free(r->unchanged);
	free(r->present);
}

static bool
decode_tuple(const sy_table *t, const pgo_tuple *tup, rowvals *r, lk_error *err)
{
	if (!t->has_rel)
		return lk_error_set(err, LK_ERR_CORRUPT,
							"change before the Relation message of its table");
	if (tup->ncols != t->rel_ncols)
		return lk_error_set(err, LK_ERR_CORRUPT,
							"tuple has %d columns, its Relation message %d", tup->ncols,
							t->rel_ncols);
	for (int j = 0; j < tup->ncols; j++) {
		int c = t->rel_col[j];
		const pgo_value *pv = &tup->cols[j];
		r->present[c] = true;
		switch (pv->kind) {
		case 'n':
			r->v[c].null = true;
			break;
		case 't':
			r->v[c].null = false;
			r->v[c].p = (const char *) pv->data;
			r->v[c].n = pv->len;
			break;
		case 'u':
			r->v[c].null = true;
			r->unchanged[c] = true;
			break;
		default:
			lk_error_set(err, LK_ERR_CORRUPT, "unexpected %s value kind '%c'",
						 pv->kind == 'b' ? "binary" : "unknown", pv->kind);
			return lk_error_where(err, "column \"%s\"", t->cols[c].name);
		}
	}
	return true;
}

/* The identity key of a decoded tuple into key; false if a key column is
 * missing or unchanged-TOAST. */
static bool
make_key(const sy_table *t, const rowvals *r, lk_buf *key)
{
	lk_buf_reset(key);
	for (int j = 0; j < t->rel_ncols; j++) {
		if (!t->rel_key[j])
			continue;
		int c = t->rel_col[j];
		if (!r->present[c] || r->unchanged[c])
			return false;
		if (r->v[c].null) {
			lk_buf_append_u32le(key, UINT32_MAX);
		} else {
			lk_buf_append_u32le(key, (uint32_t) r->v[c].n);
			lk_buf_append(key, r->v[c].p, r->v[c].n);
		}
	}
	return true;
}

/* Fill the 'u' values of r that can be filled from text: from `old` (an
 * old tuple with values, FULL) or from the cached last image of `key`.
 * The others stay marked unchanged (the current row has them). */
static void
fill_unchanged(sy_table *t, rowvals *r, const rowvals *old, const lk_buf *key,
			   bool key_ok)
{
	tentry *e = NULL;
	bool looked = false;
	for (int c = 0; c < t->ncols; c++) {
		if (!r->unchanged[c])
			continue;
		if (old && old->present[c] && !old->unchanged[c]) {
			r->v[c] = old->v[c];
			r->unchanged[c] = false;
			t->toast_filled++;
			continue;
		}
		if (!looked) {
			looked = true;
			if (t->toast && key_ok)
				e = toast_find(t->toast, key->data, key->len,
							   hash_bytes(key->data, key->len));
		}
		if (e && t->toast->tidx[c] >= 0) {
			r->v[c] = e->vals[t->toast->tidx[c]];
			r->unchanged[c] = false;
			t->toast_filled++;
			continue;
		}
	}
}

static bool
any_unchanged(const sy_table *t, const rowvals *r)
{
	for (int c = 0; c < t->ncols; c++)
		if (r->unchanged[c])
			return true;
	return false;
}

static bool
no_unchanged(const sy_table *t, const rowvals *r, const char *what, lk_error *err)
{
	for (int c = 0; c < t->ncols; c++)
		if (r->unchanged[c]) {
			lk_error_set(err, LK_ERR_UNSUPPORTED,
						 "unchanged TOAST value in the %s cannot be filled", what);
			return lk_error_where(err, "column \"%s\"", t->cols[c].name);
		}
	return true;
}

void
sy_table_begin_txn(sy_table *t)
{
	t->txn_batch_row = t->batch ? t->batch->nrows : 0;
	t->txn_pending_rows = t->pending_rows;
	t->txn_pending_bytes = t->pending_bytes;
	t->txn_prev_lsn = t->last_pending_lsn;
}

/* The add action a writer closed on t->commit since it had n actions
 * (unpartitioned tables: at most one file per writer). */
static const char *
new_add_path(sy_table *t, size_t n)
{
	const char *path = NULL;
	for (size_t i = n; i < dl_commit_nactions(t->commit); i++) {
		const dl_action *a = dl_commit_action(t->commit, i, NULL);
		if (a->type == DL_ACT_ADD)
			path = a->u.add.path;
	}
	return path;
}

static bool
write_batch(sy_table *t, lk_error *err)
{
	if (t->mode == SY_TABLE_MIRROR)
		return sy_mirror_flush(t, err);
	if (t->batch->nrows == 0)
		return true;
	/* rows of the current transaction leave the batch: it can no longer
	 * be cut back to its start */
	t->txn_batch_row = t->pending_rows > t->txn_pending_rows ? -1 : 0;
	if (!t->commit)
		t->commit = sy_table_begin_commit(t);
	if (!sy_mirror_history_before_write(t, err))
		return false;
	bool own_file = sy_mirror_history_indexed(t);
	size_t nact = dl_commit_nactions(t->commit);
	if (!t->writer) {
		dl_write_options wo;
		sy_table_write_options(t, &wo);
		t->writer = dl_data_writer_open(t->commit, &wo, err);
		if (!t->writer)
			return false;
	}
	if (!dl_data_writer_write(t->writer, t->batch, err))
		return false;
	if (own_file) {
		/* the key index points into this batch's rows: a file of its own,
		 * closed now so that it can be read back */
		dl_data_writer *w = t->writer;
		t->writer = NULL;
		if (!dl_data_writer_close(w, err) ||
			!sy_mirror_history_after_write(t, new_add_path(t, nact), err))
			return false;
	}
	lk_batch_reset(t->batch);
	t->batch->nrows = 0;
	t->batch_bytes = 0;
	return true;
}

static void
note_pending(sy_table *t, const sy_txn *tx, int64_t bytes)
{
	if (t->pending_rows == 0) {
		t->first_pending_lsn = tx->commit_lsn;
		t->pending_since_ms = mono_ms();
	}
	t->last_pending_lsn = tx->commit_lsn;
	t->pending_rows++;
	t->pending_bytes += bytes;
}

void
sy_table_note_change(sy_table *t, const sy_txn *tx, int64_t bytes)
{
	note_pending(t, tx, bytes);
}

bool
sy_table_emit(sy_table *t, sy_txn *tx, const char *change_type, const sy_value *vals,
			  const sy_src *srcs, lk_error *err)
{
	int64_t bytes = 0;
	if (!append_row(t, t->batch, change_type, tx, tx->seq, vals, srcs, &bytes, err))
		return false;
	tx->seq++;
	note_pending(t, tx, bytes);
	t->batch_bytes += bytes;
	return true;
}

/* Append one history row of the current transaction to the table. */
static bool
emit(sy_table *t, sy_txn *tx, const char *change_type, const sy_value *vals,
	 const sy_src *srcs, lk_error *err)
{
	return sy_table_emit(t, tx, change_type, vals, srcs, err) &&
		   sy_mirror_history_note(t, change_type, t->batch->nrows - 1, NULL, err);
}

/* After a change: write the batch when it passed its budget. */
static bool
maybe_write(sy_table *t, lk_error *err)
{
	if (t->batch_bytes >= t->cfg.batch_bytes)
		return write_batch(t, err);
	return true;
}

static void
cache_put(sy_table *t, const rowvals *r)
{
	if (!t->toast)
		return;
	lk_buf key = LK_BUF_INIT;
	if (make_key(t, r, &key))
		toast_put(t->toast, t, &key, r->v);
	lk_buf_free(&key);
}

static void
cache_drop(sy_table *t, const lk_buf *key)
{
	tentry *e = toast_find(t->toast, key->data, key->len, hash_bytes(key->data, key->len));
	if (e)
		toast_remove(t->toast, e);
}

bool
sy_table_insert(sy_table *t, sy_txn *tx, const pgo_insert *m, lk_error *err)
{
	rowvals r;
	rowvals_init(&r, t->ncols);
	bool ok = decode_tuple(t, &m->newtup, &r, err) &&
			  no_unchanged(t, &r, "new row of an insert", err);
	if (ok)
		ok = t->mode == SY_TABLE_MIRROR ? sy_mirror_insert(t, tx, &r, err)
										: emit(t, tx, "insert", r.v, NULL, err);
	if (ok)
		cache_put(t, &r);
	ok = ok && maybe_write(t, err);
	rowvals_free(&r);
	return ok ? true : where_lsn(t, tx, err);
}

bool
sy_table_update(sy_table *t, sy_txn *tx, const pgo_update *m, lk_error *err)
{
	rowvals n, o;
	lk_buf key = LK_BUF_INIT;
	rowvals_init(&n, t->ncols);
	rowvals_init(&o, t->ncols);
	sy_src *srcs = NULL;
	bool has_old = m->old_kind == 'K' || m->old_kind == 'O';
	bool ok = decode_tuple(t, &m->newtup, &n, err) &&
			  (!has_old || decode_tuple(t, &m->oldtup, &o, err));
	bool key_ok = false, from_row = false;
	if (ok) {
		/* the row's identity before this update */
		key_ok = has_old ? make_key(t, &o, &key) : make_key(t, &n, &key);
		fill_unchanged(t, &n, m->old_kind == 'O' ? &o : NULL, &key, key_ok);
		from_row = any_unchanged(t, &n);
		ok = !has_old || no_unchanged(t, &o, "old row of an update", err);
	}
	if (ok && t->mode == SY_TABLE_MIRROR) {
		ok = sy_mirror_update(t, tx, &n, has_old ? &o : NULL, m->old_kind, err);
	} else if (ok) {
		if (from_row) {
			/* the rest from the row's latest image in the history table */
			srcs = lk_xcalloc((size_t) t->ncols + 1, sizeof(sy_src));
			ok = sy_mirror_history_sources(t, has_old ? &o : &n, &n, srcs, err);
		}
		if (ok && has_old)
			ok = emit(t, tx, "update_preimage", o.v, NULL, err);
		if (ok)
			ok = sy_table_emit(t, tx, "update_postimage", n.v, srcs, err) &&
				 sy_mirror_history_note(t, "update_postimage", t->batch->nrows - 1,
										has_old ? &o : NULL, err);
	}
	if (ok && t->toast) {
		/* the new image first (filled values may point into the old
		 * one), then forget the old key if it changed; an image whose
		 * values are not all text is not cached */
		lk_buf nkey = LK_BUF_INIT;
		if (!from_row) {
			cache_put(t, &n);
		} else if (make_key(t, &n, &nkey)) {
			cache_drop(t, &nkey);
		}
		if (key_ok && has_old &&
			(!make_key(t, &n, &nkey) || nkey.len != key.len ||
			 memcmp(nkey.data, key.data, key.len) != 0))
			cache_drop(t, &key);
		lk_buf_free(&nkey);
	}
	ok = ok && maybe_write(t, err);
	free(srcs);
	lk_buf_free(&key);
	rowvals_free(&n);
	rowvals_free(&o);
	return ok ? true : where_lsn(t, tx, err);
}

bool
sy_table_delete(sy_table *t, sy_txn *tx, const pgo_delete *m, lk_error *err)
{
	rowvals o;
	rowvals_init(&o, t->ncols);
	bool ok = decode_tuple(t, &m->oldtup, &o, err) &&
			  no_unchanged(t, &o, "old row of a delete", err);
	if (ok)
		ok = t->mode == SY_TABLE_MIRROR ? sy_mirror_delete(t, tx, &o, err)
										: emit(t, tx, "delete", o.v, NULL, err);
	if (ok && t->toast) {
		lk_buf key = LK_BUF_INIT;
		if (make_key(t, &o, &key))
			cache_drop(t, &key);
		lk_buf_free(&key);
	}
	ok = ok && maybe_write(t, err);
	rowvals_free(&o);
	return ok ? true : where_lsn(t, tx, err);
}

bool
sy_table_truncate(sy_table *t, sy_txn *tx, lk_error *err)
{
	bool ok = t->mode == SY_TABLE_MIRROR ? sy_mirror_truncate(t, tx, err)
										 : emit(t, tx, "truncate", NULL, NULL, err);
	if (!ok || !maybe_write(t, err))
		return where_lsn(t, tx, err);
	if (t->toast)
		toast_clear(t->toast);
	return true;
}

/* ---- commits ------------------------------------------------------------------ */

dl_commit *
sy_table_begin_commit(sy_table *t)
{
	if (t->prev)
		return dl_commit_next(t->prev, "WRITE");
	return dl_commit_begin(&t->store, t->snap, "WRITE");
}

void
sy_table_write_options(const sy_table *t, dl_write_options *o)
{
	dl_write_options_init(o);
	o->row_group_rows = t->cfg.row_group_rows;
	/* mirror: an update's pre-image is read by decoding the row group it
	 * is in; smaller groups make that cheaper for sparse changes */
	if (t->mode == SY_TABLE_MIRROR && o->row_group_rows <= 0)
		o->row_group_rows = SY_MIRROR_ROW_GROUP_ROWS;
}

void
sy_table_adopt_commit(sy_table *t, dl_commit *c)
{
	dl_commit_free(t->prev);
	t->prev = c;
	dl_snapshot_free(t->snap);
	t->snap = NULL;
	t->commits++;
}

/* c committed: it becomes the chain's head. */
static void
chain(sy_table *t, dl_commit *c, int64_t version)
{
	dl_commit_free(t->prev);
	t->prev = c;
	dl_snapshot_free(t->snap);
	t->snap = NULL;
	t->version = version;
	t->commits++;
}

bool
sy_table_finish_commit(sy_table *t, dl_commit *c, int64_t version, lk_error *err)
{
	/* a mirror table's snapshot commit (its streaming commits come through
	 * here too, from sy_mirror_commit) */
	bool mirror = t->mode == SY_TABLE_MIRROR && t->state == SY_SNAPSHOT;
	dl_commit_set_param(c, "mode", "\"Append\"");
	dl_commit_options co;
	dl_commit_options_init(&co);
	co.auto_checkpoint = !t->no_auto_checkpoint;
	if ((mirror && !sy_mirror_snapshot_prepare(t, c, err)) ||
		!dl_commit_set_txn(c, t->app_id, version, err) || !dl_commit_run(c, &co, err)) {
		dl_commit_free(c);
		return lk_error_add_where(err, "Delta table \"%s\"", t->uri);
	}
	chain(t, c, version);
	if (mirror)
		sy_mirror_snapshot_done(t);
	return true;
}

/* Delta version of the table's last commit (of this run, else of the
 * snapshot it was opened at). */
static int64_t
delta_version(const sy_table *t)
{
	return t->prev ? dl_commit_version(t->prev) : t->snap ? t->snap->version : -1;
}

bool
sy_table_should_commit(const sy_table *t, int64_t now_ms, bool drained)
{
	if (t->pending_rows == 0)
		return false;
	int64_t age = now_ms - t->pending_since_ms;
	/* an early commit no more often than three times what the last
	 * commit took (a mirror commit behind a burst reads pre-images), and
	 * never later than the interval */
	int64_t early = t->cfg.early_flush_ms;
	if (early < 3 * t->last_commit_ms)
		early = 3 * t->last_commit_ms;
	if (early > t->cfg.flush_interval_ms)
		early = t->cfg.flush_interval_ms;
	int64_t interval = t->cfg.flush_interval_ms;
	if (t->mode == SY_TABLE_MIRROR && !drained && interval < 3 * t->last_commit_ms) {
		/* behind: a mirror commit reads pre-images (row groups of the
		 * files it deletes rows of), a cost per commit; commit less often
		 * until caught up (at most 30 s) */
		interval = 3 * t->last_commit_ms;
		if (interval > 30000)
			interval = 30000;
	}
	return t->pending_bytes >= t->cfg.flush_bytes || age >= interval ||
		   (drained && age >= early);
}

bool
sy_table_commit(sy_table *t, lk_error *err)
{
	if (t->pending_rows == 0)
		return true;
	if (t->mode == SY_TABLE_MIRROR) {
		int64_t rows = t->pending_rows;
		uint64_t lsn = t->last_pending_lsn;
		int64_t t0 = mono_ms();
		bool ok = sy_mirror_commit(t, lsn, err);
		t->last_commit_ms = mono_ms() - t0;
		if (!ok) {
			lk_error_add_where(err, "Delta table \"%s\"", t->uri);
			sy_table_discard(t);
			return false;
		}
		t->pending_rows = 0;
		t->pending_bytes = 0;
		t->batch_bytes = 0;
		t->rows_committed += rows;
		sy_table_begin_txn(t);
		char lb[20];
		lk_debug("%s: committed %" PRId64 " changes at lsn %s (Delta version %" PRId64 ")",
				 t->qualname, rows, pgo_lsn_format(lsn, lb), delta_version(t));
		return true;
	}
	if (!write_batch(t, err))
		goto fail;
	dl_data_writer *w = t->writer;
	t->writer = NULL;
	if (w && !dl_data_writer_close(w, err))
		goto fail;
	dl_commit *c = t->commit;
	t->commit = NULL;
	int64_t rows = t->pending_rows;
	uint64_t lsn = t->last_pending_lsn;
	t->pending_rows = 0;
	t->pending_bytes = 0;
	if (!sy_table_finish_commit(t, c, (int64_t) lsn, err)) {
		sy_table_discard(t);
		return false;
	}
	sy_mirror_history_committed(t, delta_version(t));
	t->rows_committed += rows;
	sy_table_begin_txn(t);      /* marks of a finished transaction mean nothing */
	char lb[20];
	lk_debug("%s: committed %" PRId64 " rows at lsn %s (Delta version %" PRId64 ")",
			 t->qualname, rows, pgo_lsn_format(lsn, lb), dl_commit_version(t->prev));
	return true;
fail:
	lk_error_add_where(err, "Delta table \"%s\"", t->uri);
	sy_table_discard(t);
	return false;
}

void
sy_table_discard(sy_table *t)
{
	if (t->mode == SY_TABLE_MIRROR)
		sy_mirror_discard(t);
	else
		sy_mirror_history_discard(t);
	dl_data_writer_free(t->writer);
	t->writer = NULL;
	dl_commit_free(t->commit);
	t->commit = NULL;
	if (t->batch) {
		lk_batch_reset(t->batch);
		t->batch->nrows = 0;
	}
	t->batch_bytes = 0;
	t->pending_rows = 0;
	t->pending_bytes = 0;
	t->first_pending_lsn = t->last_pending_lsn = 0;
	t->txn_batch_row = 0;
	t->txn_pending_rows = 0;
	t->txn_pending_bytes = 0;
	t->txn_prev_lsn = 0;
	if (t->toast)
		toast_clear(t->toast);
}

/* Keep only the first n rows of the batch. */
static void
batch_truncate(sy_table *t, int64_t n)
{
	lk_batch *nb = lk_batch_new(t->schema);
	for (int i = 0; i < nb->ncols; i++)
		lk_column_append_range(&nb->cols[i], &t->batch->cols[i], 0, n);
	nb->nrows = n;
	lk_batch_free(t->batch);
	t->batch = nb;
}

void
sy_table_fail(sy_table *t, const lk_error *err, uint64_t lsn)
{
	/* commit the complete transactions before the failing one (history
	 * only: a mirror transaction also changed the key index and earlier
	 * rows, which cannot be cut back) */
	if (t->mode == SY_TABLE_HISTORY && !sy_mirror_history_indexed(t) &&
		t->state != SY_ERROR && t->txn_pending_rows > 0 && t->txn_batch_row >= 0 &&
		t->pending_rows >= t->txn_pending_rows && t->txn_prev_lsn < lsn) {
		batch_truncate(t, t->txn_batch_row);
		t->pending_rows = t->txn_pending_rows;
		t->pending_bytes = t->txn_pending_bytes;
		t->last_pending_lsn = t->txn_prev_lsn;
		lk_error e2;
		if (!sy_table_commit(t, &e2))
			lk_warn("%s: could not commit the transactions before the failure: %s",
					t->qualname, e2.msg);
	}
	t->txn_pending_rows = 0;
	uint64_t hold = lsn;
	if (t->pending_rows > 0 && t->first_pending_lsn < hold)
		hold = t->first_pending_lsn;
	if (t->state == SY_ERROR && t->error_lsn < hold)
		hold = t->error_lsn;
	if (t->state != SY_ERROR)
		t->error = *err;
	t->state = SY_ERROR;
	t->error_lsn = hold;
	sy_table_discard(t);
}

uint64_t
sy_table_hold(const sy_table *t)
{
	if (t->state == SY_ERROR)
		return t->version < 0 ? UINT64_MAX : t->error_lsn;
	if (t->pending_rows > 0)
		return t->first_pending_lsn;
	return UINT64_MAX;
}

uint64_t
sy_confirm_lsn(sy_table *const *tables, int n, uint64_t boundary)
{
	uint64_t c = boundary;
	for (int i = 0; i < n; i++) {
		uint64_t h = sy_table_hold(tables[i]);
		if (h < c)
			c = h;
	}
	return c;
}
