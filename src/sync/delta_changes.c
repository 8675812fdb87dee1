/*
 * delta_changes.c — row changes of a Delta table, version by version (see
 * delta_changes.h).
 *
 *   sy_changes_open   snapshot(start) ─▶ file state {canonical path → path,
 *                     partitionValues, DV}, schema, layout, protocol
 *   sy_changes_next   _delta_log/<v>.json ─▶ actions
 *                       protocol → checked; metaData → schema/layout
 *                       cdc present  → units = cdc files (with _change_type)
 *                       else         → units = diff of data-changing
 *                                      removes/adds against the state
 *                     then the state is updated (removes, then adds)
 *   sy_changes_read   every unit: dl_data_file_read(path, deleted | only)
 *                     ─▶ logical batch + _change_type ─▶ fn
 */
#include "sync/delta_changes.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "delta/dv.h"
#include "delta/scan.h"
#include "delta/writer.h"

#define MAX_COMMIT_BYTES (256u << 20)
#define MAX_DV_ROWS (256ull * 1024 * 1024)

/* ---- file state: canonical path → file ------------------------------------- */

typedef struct fentry {
	char *key;                  /* canonical path (NULL: empty slot) */
	char *path;                 /* decoded store path */
	dl_map pv;                  /* malloc'd items and strings */
	bool has_dv;
	dl_dv dv;                   /* path_or_inline malloc'd */
	bool tomb;                  /* deleted slot (probing continues) */
} fentry;

typedef struct fstate {
	fentry *slots;
	size_t cap;                 /* power of two */
	size_t used;                /* live + tombstones */
	size_t live;
} fstate;

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (uint8_t) *s;
		h *= 1099511628211ull;
	}
	return h;
}

static void
fentry_clear(fentry *e)
{
	free(e->key);
	free(e->path);
	for (int i = 0; i < e->pv.n; i++) {
		free((char *) e->pv.items[i].key);
		free((char *) e->pv.items[i].value);
	}
	free(e->pv.items);
	free((char *) e->dv.path_or_inline);
	memset(e, 0, sizeof(*e));
}

static char *
xdup(const char *s)
{
	return s ? lk_xstrdup(s) : NULL;
}

static fentry *
fstate_find(const fstate *fs, const char *key)
{
	if (!fs->cap)
		return NULL;
	size_t m = fs->cap - 1;
	for (size_t i = hash_str(key) & m;; i = (i + 1) & m) {
		fentry *e = &fs->slots[i];
		if (!e->key && !e->tomb)
			return NULL;
		if (e->key && strcmp(e->key, key) == 0)
			return e;
	}
}

static void fstate_put(fstate *fs, const char *key, const char *path, const dl_map *pv,
					   bool has_dv, const dl_dv *dv);

static void
fstate_grow(fstate *fs)
{
	fstate old = *fs;
	fs->cap = old.cap ? old.cap * 2 : 64;
	while (fs->cap < old.live * 4)
		fs->cap *= 2;
	fs->slots = lk_xcalloc(fs->cap, sizeof(fentry));
	fs->used = fs->live = 0;
	for (size_t i = 0; i < old.cap; i++) {
		fentry *e = &old.slots[i];
		if (!e->key)
			continue;
		/* move the entry as is */
		size_t m = fs->cap - 1;
		size_t k = hash_str(e->key) & m;
		while (fs->slots[k].key)
			k = (k + 1) & m;
		fs->slots[k] = *e;
		fs->used++;
		fs->live++;
	}
	free(old.slots);
}

static void
fstate_put(fstate *fs, const char *key, const char *path, const dl_map *pv, bool has_dv,
		   const dl_dv *dv)
{
	fentry *e = fstate_find(fs, key);
	if (e) {
		fentry_clear(e);
		fs->live--;
		fs->used--;
		/* reuse the slot: key set below */
	} else {
		if ((fs->used + 1) * 2 > fs->cap)
			fstate_grow(fs);
		size_t m = fs->cap - 1;
		size_t i = hash_str(key) & m;
		while (fs->slots[i].key)
			i = (i + 1) & m;
		e = &fs->slots[i];
		if (e->tomb)
			fs->used--;
		e->tomb = false;
	}
	e->key = lk_xstrdup(key);
	e->path = lk_xstrdup(path);
	e->pv.n = pv ? pv->n : 0;
	e->pv.items = e->pv.n ? lk_xcalloc((size_t) e->pv.n, sizeof(dl_kv)) : NULL;
	for (int k = 0; k < e->pv.n; k++) {
		e->pv.items[k].key = xdup(pv->items[k].key);
		e->pv.items[k].value = xdup(pv->items[k].value);
	}
	e->has_dv = has_dv;
	if (has_dv) {
		e->dv = *dv;
		e->dv.path_or_inline = xdup(dv->path_or_inline);
	}
	fs->used++;
	fs->live++;
}

static void
fstate_remove(fstate *fs, const char *key)
{
	fentry *e = fstate_find(fs, key);
	if (!e)
		return;
	fentry_clear(e);
	e->tomb = true;
	fs->live--;
}

static void
fstate_free(fstate *fs)
{
	for (size_t i = 0; i < fs->cap; i++)
		if (fs->slots[i].key)
			fentry_clear(&fs->slots[i]);
	free(fs->slots);
	memset(fs, 0, sizeof(*fs));
}

/* ---- the reader ------------------------------------------------------------------ */

typedef struct unit {
	const char *path;           /* decoded store path */
	dl_map pv;                  /* partition values (physical keys) */
	const char *change_type;    /* constant; NULL for a cdc file */
	bool has_deleted;
	dl_bitmap deleted;          /* rows to skip */
	bool has_only;
	dl_bitmap only;             /* rows to keep */
} unit;

struct sy_changes {
	st_store *st;
	int64_t version;
	lk_arena meta;              /* schemas, layouts, metadata (grows only on
								 * metaData actions) */
	lk_arena ver;               /* the current version's actions and units */
	dl_protocol protocol;
	dl_metadata metadata;
	dl_schema schema;
	dl_column_mapping cm;
	dl_layout layout;
	lk_type *out_type;          /* logical + _change_type */
	lk_type *cdc_data;          /* layout data + _change_type */
	fstate files;
	sy_version cur;
	unit *units;
	int nunits;
	lk_buf commit;              /* the commit file's bytes */
};

static bool
set_schema(sy_changes *c, const dl_metadata *m, lk_error *err)
{
	lk_arena *a = &c->meta;
	if (!m->schema_string)
		return lk_error_set(err, LK_ERR_CORRUPT, "the table's metaData has no schemaString");
	dl_schema s;
	LK_FORWARD(dl_schema_parse(m->schema_string, a, &s, err));
	dl_column_mapping cm;
	LK_FORWARD(dl_column_mapping_parse(dl_map_get(&m->configuration, "delta.columnMapping.mode",
												  NULL),
									   &cm, err));
	dl_layout l;
	LK_FORWARD(dl_layout_make(&s, cm, &m->partition_columns, a, &l, err));
	c->schema = s;
	c->cm = cm;
	c->layout = l;
	int n = s.type->nchildren;
	lk_type *o = lk_type_struct(a, n + 1);
	for (int i = 0; i < n; i++)
		o->children[i] = s.type->children[i];
	o->children[n].name = "_change_type";
	o->children[n].type = lk_type_new(a, LK_T_STRING);
	o->children[n].nullable = true;
	o->children[n].field_id = -1;
	c->out_type = o;
	int nd = l.data->nchildren;
	lk_type *d = lk_type_struct(a, nd + 1);
	for (int i = 0; i < nd; i++)
		d->children[i] = l.data->children[i];
	d->children[nd] = o->children[n];
	c->cdc_data = d;
	return true;
}

bool
sy_changes_open(st_store *st, int64_t start, sy_changes **out, lk_error *err)
{
	dl_snapshot_options so;
	dl_snapshot_options_init(&so);
	so.version = start;
	dl_snapshot *s;
	if (!dl_snapshot_open(st, &so, &s, err))
		return false;
	sy_changes *c = lk_xcalloc(1, sizeof(*c));
	c->st = st;
	c->version = s->version;
	lk_arena_init(&c->meta, 0);
	lk_arena_init(&c->ver, 0);
	lk_buf_init(&c->commit);
	/* keep deep copies of what the snapshot gave (it is freed below) */
	dl_action pa = {.type = DL_ACT_PROTOCOL, .u.protocol = s->protocol};
	lk_buf tmp = LK_BUF_INIT;
	dl_action pc;
	bool got;
	bool ok = dl_action_write(&tmp, &pa, err) &&
			  dl_action_parse_line((const char *) tmp.data, tmp.len, "<protocol>", 1, &c->meta,
								   &pc, &got, err);
	if (ok)
		c->protocol = pc.u.protocol;
	lk_buf_reset(&tmp);
	dl_action ma = {.type = DL_ACT_METADATA, .u.metadata = s->metadata};
	ok = ok && dl_action_write(&tmp, &ma, err) &&
		 dl_action_parse_line((const char *) tmp.data, tmp.len, "<metaData>", 1, &c->meta, &pc,
							  &got, err);
	if (ok) {
		c->metadata = pc.u.metadata;
		ok = set_schema(c, &c->metadata, err);
	}
	lk_buf_free(&tmp);
	for (size_t i = 0; ok && i < s->nfiles; i++) {
		const dl_file *f = &s->files[i];
		const char *key = st_path_canonical(st, f->path, &c->ver);
		fstate_put(&c->files, key, f->path, &f->add.partition_values, f->add.has_dv, &f->add.dv);
	}
	lk_arena_reset(&c->ver);
	dl_snapshot_free(s);
	if (!ok) {
		sy_changes_free(c);
		return false;
	}
	*out = c;
	return true;
}

static void
units_free(sy_changes *c)
{
	for (int i = 0; i < c->nunits; i++) {
		if (c->units[i].has_deleted)
			dl_bitmap_free(&c->units[i].deleted);
		if (c->units[i].has_only)
			dl_bitmap_free(&c->units[i].only);
	}
	c->units = NULL;
	c->nunits = 0;
}

void
sy_changes_free(sy_changes *c)
{
	if (!c)
		return;
	units_free(c);
	fstate_free(&c->files);
	lk_buf_free(&c->commit);
	lk_arena_free(&c->ver);
	lk_arena_free(&c->meta);
	free(c);
}

int64_t
sy_changes_version(const sy_changes *c)
{
	return c->version;
}

const dl_schema *
sy_changes_schema(const sy_changes *c)
{
	return &c->schema;
}

/* Canonical key and decoded store path of a log path (URI-encoded). */
static bool
file_key(sy_changes *c, const char *log_path, const char **key, const char **path,
		 lk_error *err)
{
	char *dec;
	LK_FORWARD(st_path_decode(log_path, &c->ver, &dec, err));
	*path = dec;
	*key = st_path_canonical(c->st, dec, &c->ver);
	return true;
}

static unit *
new_unit(sy_changes *c, int *cap)
{
	if (c->nunits == *cap) {
		int ncap = *cap ? *cap * 2 : 16;
		unit *n = lk_arena_zalloc(&c->ver, sizeof(unit) * (size_t) ncap);
		if (c->nunits)
			memcpy(n, c->units, sizeof(unit) * (size_t) c->nunits);
		c->units = n;
		*cap = ncap;
	}
	unit *u = &c->units[c->nunits++];
	memset(u, 0, sizeof(*u));
	return u;
}

static bool
load_dv(sy_changes *c, bool has, const dl_dv *dv, dl_bitmap *b, lk_error *err)
{
	dl_bitmap_init(b);
	if (!has)
		return true;
	return dl_dv_load(c->st, dv, b, err);
}

/* a − b as a new bitmap (rows of a not in b). */
static bool
bitmap_minus(const dl_bitmap *a, const dl_bitmap *b, dl_bitmap *out, lk_error *err)
{
	uint64_t *rows;
	size_t n;
	dl_bitmap_init(out);
	LK_FORWARD(dl_bitmap_to_array(a, MAX_DV_ROWS, &rows, &n, err));
	for (size_t i = 0; i < n; i++)
		if (!dl_bitmap_contains(b, rows[i]))
			dl_bitmap_add(out, rows[i]);
	free(rows);
	return true;
}

typedef struct pending_add {
	const dl_add *add;
	const char *key, *path;
	bool paired;
} pending_add;

/* Units of a diff: data-changing removes and adds against the state. */
static bool
plan_diff(sy_changes *c, const dl_action *acts, size_t n, int *cap, lk_error *err)
{
	size_t nadds = 0;
	for (size_t i = 0; i < n; i++)
		nadds += acts[i].type == DL_ACT_ADD;
	pending_add *adds = lk_arena_zalloc(&c->ver, sizeof(pending_add) * (nadds + 1));
	size_t na = 0;
	for (size_t i = 0; i < n; i++) {
		if (acts[i].type != DL_ACT_ADD)
			continue;
		adds[na].add = &acts[i].u.add;
		LK_FORWARD(file_key(c, acts[i].u.add.path, &adds[na].key, &adds[na].path, err));
		na++;
	}
	/* removes: alone → delete its live rows; with an add of the same path →
	 * the DV difference */
	for (size_t i = 0; i < n; i++) {
		if (acts[i].type != DL_ACT_REMOVE)
			continue;
		const dl_remove *r = &acts[i].u.remove;
		const char *key, *path;
		LK_FORWARD(file_key(c, r->path, &key, &path, err));
		pending_add *pa = NULL;
		for (size_t k = 0; k < na; k++)
			if (!adds[k].paired && strcmp(adds[k].key, key) == 0) {
				pa = &adds[k];
				break;
			}
		if (pa)
			pa->paired = true;
		bool change = r->data_change || (pa && pa->add->data_change);
		if (!change)
			continue;
		const fentry *e = fstate_find(&c->files, key);
		/* what the file had: the state's DV (the remove's own as fallback) */
		bool had_dv = e ? e->has_dv : r->has_dv;
		const dl_dv *old_dv = e ? &e->dv : &r->dv;
		const dl_map *pv = e ? &e->pv : &r->partition_values;
		if (!pa) {
			unit *u = new_unit(c, cap);
			u->path = e ? lk_arena_strdup(&c->ver, e->path) : path;
			u->pv = *pv;
			u->change_type = "delete";
			u->has_deleted = true;
			if (!load_dv(c, had_dv, old_dv, &u->deleted, err)) {
				u->has_deleted = false;
				return lk_error_add_where(err, "data file \"%s\"", u->path);
			}
			continue;
		}
		dl_bitmap d1, d2;
		if (!load_dv(c, had_dv, old_dv, &d1, err))
			return lk_error_add_where(err, "data file \"%s\"", path);
		if (!load_dv(c, pa->add->has_dv, &pa->add->dv, &d2, err)) {
			dl_bitmap_free(&d1);
			return lk_error_add_where(err, "data file \"%s\"", path);
		}
		dl_bitmap del, ins;
		bool ok = bitmap_minus(&d2, &d1, &del, err);
		if (ok && !bitmap_minus(&d1, &d2, &ins, err)) {
			dl_bitmap_free(&del);
			ok = false;
		}
		dl_bitmap_free(&d1);
		dl_bitmap_free(&d2);
		if (!ok)
			return false;
		const char *ctypes[2] = {"delete", "insert"};
		dl_bitmap *sets[2] = {&del, &ins};
		for (int k = 0; k < 2; k++) {
			if (dl_bitmap_cardinality(sets[k]) == 0) {
				dl_bitmap_free(sets[k]);
				continue;
			}
			unit *u = new_unit(c, cap);
			u->path = pa->path;
			u->pv = pa->add->partition_values;
			u->change_type = ctypes[k];
			u->has_only = true;
			u->only = *sets[k];
		}
	}
	/* adds not paired with a remove */
	for (size_t k = 0; k < na; k++) {
		pending_add *pa = &adds[k];
		if (pa->paired || !pa->add->data_change)
			continue;
		const fentry *e = fstate_find(&c->files, pa->key);
		if (e) {
			/* the same path re-added without a remove: replaces the entry;
			 * the rows it had are deleted, its new rows inserted */
			unit *u = new_unit(c, cap);
			u->path = lk_arena_strdup(&c->ver, e->path);
			u->pv = e->pv;
			u->change_type = "delete";
			u->has_deleted = true;
			if (!load_dv(c, e->has_dv, &e->dv, &u->deleted, err)) {
				u->has_deleted = false;
				return false;
			}
		}
		unit *u = new_unit(c, cap);
		u->path = pa->path;
		u->pv = pa->add->partition_values;
		u->change_type = "insert";
		u->has_deleted = true;
		if (!load_dv(c, pa->add->has_dv, &pa->add->dv, &u->deleted, err)) {
			u->has_deleted = false;
			return lk_error_add_where(err, "data file \"%s\"", pa->path);
		}
	}
	return true;
}

/* The unit's partition values must be copied out of the state before the
 * state changes: they point into fentry memory. */
static void
units_own_strings(sy_changes *c)
{
	for (int i = 0; i < c->nunits; i++) {
		unit *u = &c->units[i];
		dl_kv *items = u->pv.n ? lk_arena_alloc(&c->ver, sizeof(dl_kv) * (size_t) u->pv.n) : NULL;
		for (int k = 0; k < u->pv.n; k++) {
			items[k].key = u->pv.items[k].key ? lk_arena_strdup(&c->ver, u->pv.items[k].key) : NULL;
			items[k].value =
				u->pv.items[k].value ? lk_arena_strdup(&c->ver, u->pv.items[k].value) : NULL;
		}
		u->pv.items = items;
	}
}

bool
sy_changes_next(sy_changes *c, const sy_version **out, lk_error *err)
{
	*out = NULL;
	units_free(c);
	lk_arena_reset(&c->ver);
	int64_t v = c->version + 1;
	char name[64];
	snprintf(name, sizeof(name), "_delta_log/%020" PRId64 ".json", v);
	lk_error e2;
	if (!st_read_all(c->st, name, MAX_COMMIT_BYTES, &c->commit, &e2)) {
		if (e2.code == LK_ERR_NOT_FOUND)
			return true;
		*err = e2;
		return false;
	}
	dl_action *acts;
	size_t n;
	LK_FORWARD(dl_actions_parse((const char *) c->commit.data, c->commit.len, name, &c->ver,
								&acts, &n, err));
	sy_version *sv = &c->cur;
	memset(sv, 0, sizeof(*sv));
	sv->version = v;
	bool has_cdc = false;
	for (size_t i = 0; i < n; i++) {
		const dl_action *a = &acts[i];
		switch (a->type) {
		case DL_ACT_PROTOCOL:
			if (!dl_protocol_check_read(&a->u.protocol, err))
				return lk_error_add_where(err, "version %" PRId64, v);
			sv->protocol_changed = true;
			break;
		case DL_ACT_METADATA:
			sv->metadata_changed = true;
			break;
		case DL_ACT_CDC:
			has_cdc = true;
			break;
		case DL_ACT_COMMIT_INFO:
			if (a->u.commit_info.has_in_commit_timestamp)
				sv->timestamp_ms = a->u.commit_info.in_commit_timestamp;
			else if (a->u.commit_info.has_timestamp)
				sv->timestamp_ms = a->u.commit_info.timestamp;
			if (a->u.commit_info.operation)
				sv->operation = a->u.commit_info.operation;
			break;
		default:
			break;
		}
	}
	/* metaData/protocol first: the version's rows are read with its schema
	 * (deep copies: the version arena is reset at the next call) */
	for (size_t i = 0; i < n; i++) {
		lk_buf tmp = LK_BUF_INIT;
		dl_action copy;
		bool got = false;
		if (acts[i].type != DL_ACT_METADATA && acts[i].type != DL_ACT_PROTOCOL)
			continue;
		bool ok = dl_action_write(&tmp, &acts[i], err) &&
				  dl_action_parse_line((const char *) tmp.data, tmp.len, name, 1, &c->meta, &copy,
									   &got, err);
		lk_buf_free(&tmp);
		if (!ok)
			return false;
		if (copy.type == DL_ACT_PROTOCOL) {
			c->protocol = copy.u.protocol;
		} else {
			c->metadata = copy.u.metadata;
			if (!set_schema(c, &c->metadata, err))
				return lk_error_add_where(err, "version %" PRId64, v);
		}
	}
	int cap = 0;
	if (has_cdc) {
		sv->cdf = true;
		for (size_t i = 0; i < n; i++) {
			if (acts[i].type != DL_ACT_CDC)
				continue;
			unit *u = new_unit(c, &cap);
			const char *key;
			LK_FORWARD(file_key(c, acts[i].u.cdc.path, &key, &u->path, err));
			u->pv = acts[i].u.cdc.partition_values;
		}
	} else if (!plan_diff(c, acts, n, &cap, err)) {
		lk_error_add_where(err, "version %" PRId64, v);
		units_free(c);
		return false;
	}
	units_own_strings(c);
	/* the state after the version: removes, then adds */
	for (size_t i = 0; i < n; i++) {
		if (acts[i].type != DL_ACT_REMOVE)
			continue;
		const char *key, *path;
		LK_FORWARD(file_key(c, acts[i].u.remove.path, &key, &path, err));
		fstate_remove(&c->files, key);
	}
	for (size_t i = 0; i < n; i++) {
		if (acts[i].type != DL_ACT_ADD)
			continue;
		const dl_add *a = &acts[i].u.add;
		const char *key, *path;
		LK_FORWARD(file_key(c, a->path, &key, &path, err));
		fstate_put(&c->files, key, path, &a->partition_values, a->has_dv, &a->dv);
	}
	c->version = v;
	sv->nunits = c->nunits;
	sv->data_change = c->nunits > 0;
	sv->schema = &c->schema;
	sv->metadata = &c->metadata;
	*out = sv;
	return true;
}

/* ---- reading units ------------------------------------------------------------------ */

/* Give every string/binary column (at any depth) a data buffer so that
 * appending only empty values never hands memcpy a NULL pointer. */
static void
reserve_varlen(lk_column *col)
{
	if (lk_type_is_varlen(col->type))
		lk_column_reserve_data(col, 1);
	for (int k = 0; k < col->nchildren; k++)
		reserve_varlen(&col->children[k]);
}

typedef struct rd {
	sy_changes *c;
	const unit *u;
	lk_batch *out;
	lk_column *consts;          /* partition values, one row each (per
								 * logical column; only partition ones) */
	lk_column *ctypes;          /* id-mode cdc: the _change_type values */
	int64_t row;                /* rows seen so far in the file */
	sy_change_fn fn;
	void *ctx;
} rd;

static bool
collect_types(void *ctx, const lk_batch *b, lk_error *err)
{
	rd *r = ctx;
	lk_column_append_range(r->ctypes, &b->cols[0], 0, b->nrows);
	return true;
}

static bool
on_rows(void *ctx, const lk_batch *b, lk_error *err)
{
	rd *r = ctx;
	const dl_layout *l = &r->c->layout;
	lk_batch *o = r->out;
	int64_t n = b->nrows;
	lk_batch_reset(o);
	for (int j = 0; j < l->ndata; j++)
		lk_column_append_range(&o->cols[l->data_index[j]], &b->cols[j], 0, n);
	for (int p = 0; p < l->npart; p++) {
		int k = l->part_index[p];
		for (int64_t i = 0; i < n; i++)
			lk_column_append_range(&o->cols[k], &r->consts[k], 0, 1);
	}
	lk_column *ct = &o->cols[o->ncols - 1];
	if (r->u->change_type) {
		int64_t len = (int64_t) strlen(r->u->change_type);
		for (int64_t i = 0; i < n; i++)
			lk_column_append_bytes(ct, r->u->change_type, len);
	} else if (r->ctypes) {
		if (r->row + n > r->ctypes->length)
			return lk_error_set(err, LK_ERR_CORRUPT, "change data file has fewer "
													 "_change_type values than rows");
		lk_column_append_range(ct, r->ctypes, r->row, n);
	} else {
		lk_column_append_range(ct, &b->cols[l->ndata], 0, n);
	}
	r->row += n;
	if (!lk_batch_seal(o))
		return lk_error_set(err, LK_ERR_INTERNAL, "change batch columns of different lengths");
	/* a change row without a type cannot be applied */
	if (ct->null_count)
		return lk_error_set(err, LK_ERR_CORRUPT, "change data file has null _change_type");
	return r->fn(r->ctx, o, err);
}

static bool
read_unit(sy_changes *c, const unit *u, sy_change_fn fn, void *ctx, lk_error *err)
{
	const dl_layout *l = &c->layout;
	rd r = {c, u, NULL, NULL, NULL, 0, fn, ctx};
	bool ok = true;
	r.out = lk_batch_new(c->out_type);
	for (int i = 0; i < r.out->ncols; i++)
		reserve_varlen(&r.out->cols[i]);
	int nlog = c->schema.type->nchildren;
	r.consts = lk_xcalloc((size_t) nlog + 1, sizeof(lk_column));
	for (int p = 0; ok && p < l->npart; p++) {
		int k = l->part_index[p];
		lk_column_init(&r.consts[k], c->schema.type->children[k].type);
		reserve_varlen(&r.consts[k]);
		bool found;
		const char *v = dl_map_get(&u->pv, l->part_key[p], &found);
		if (!dl_partition_value_append(&r.consts[k], v, err)) {
			lk_error_where(err, "partition column \"%s\"", c->schema.type->children[k].name);
			ok = false;
		}
	}
	dl_layout lay = *l;
	const dl_bitmap *del = u->has_deleted ? &u->deleted : NULL;
	const dl_bitmap *only = u->has_only ? &u->only : NULL;
	if (ok && !u->change_type) {
		if (c->cm == DL_CM_ID) {
			/* the _change_type column has no field id: read it by name */
			lk_type *ct = lk_type_struct(&c->ver, 1);
			ct->children[0] = c->out_type->children[c->out_type->nchildren - 1];
			dl_layout tl = *l;
			tl.data = ct;
			tl.cm = DL_CM_NONE;
			r.ctypes = lk_xcalloc(1, sizeof(lk_column));
			lk_column_init(r.ctypes, ct->children[0].type);
			reserve_varlen(r.ctypes);
			ok = dl_data_file_read(c->st, &tl, u->path, NULL, NULL, collect_types, &r, err);
		} else {
			lay.data = c->cdc_data;
		}
	}
	if (ok)
		ok = dl_data_file_read(c->st, &lay, u->path, del, only, on_rows, &r, err);
	if (r.ctypes) {
		lk_column_destroy(r.ctypes);
		free(r.ctypes);
	}
	for (int p = 0; p < l->npart; p++)
		lk_column_destroy(&r.consts[l->part_index[p]]);
	free(r.consts);
	lk_batch_free(r.out);
	return ok;
}

bool
sy_changes_read(sy_changes *c, sy_change_fn fn, void *ctx, lk_error *err)
{
	for (int i = 0; i < c->nunits; i++) {
		if (!read_unit(c, &c->units[i], fn, ctx, err))
			return lk_error_add_where(err, "version %" PRId64, c->version);
	}
	return true;
}
