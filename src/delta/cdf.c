/*
 * cdf.c — Change Data Feed (see cdf.h for the rules and the output).
 *
 *   dl_cdf_open    list _delta_log, check [from, to] is all there, build the
 *                  snapshot of `to` (schema, column mapping, store)
 *   dl_cdf_next    ┌─▶ source open? scan its next row group, keep the rows
 *                  │   the source's kind selects, append them + the three
 *                  │   CDF columns to the output batch
 *                  ├─▶ sources of the commit left? open the next one:
 *                  │   a one-file view of the `to` snapshot handed to
 *                  │   dl_scan (with the DV the kind needs, or none), plus
 *                  │   the _change_type column (cdc) or two DVs (update)
 *                  └─▶ next commit: read + parse it, plan its sources,
 *                      take its timestamp
 *
 * Row indexes: a file scanned without a DV yields every row of the file in
 * order (row groups in order, empty ones skipped), so the running row count
 * is the row index the DVs and the _change_type column speak about.
 */
#include "delta/cdf.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "delta/dv.h"
#include "delta/log.h"
#include "delta/scan.h"
#include "parquet/parquet.h"

#define LOG_DIR "_delta_log"
#define MAX_COMMIT_BYTES (256ull * 1024 * 1024)

static const char *const change_names[] = {
	"insert", "update_preimage", "update_postimage", "delete",
};
enum { CT_INSERT = 0, CT_PRE = 1, CT_POST = 2, CT_DELETE = 3 };

int
dl_change_type_code(const char *s, size_t n)
{
	for (int i = 0; i < 4; i++)
		if (strlen(change_names[i]) == n && memcmp(change_names[i], s, n) == 0)
			return i;
	return -1;
}

const char *
dl_change_type_name(int code)
{
	return code >= 0 && code < 4 ? change_names[code] : "?";
}

/* ---- planning ------------------------------------------------------------- */

typedef struct keyed {
	const char *key;
	size_t idx;         /* index of the action */
	bool paired;
} keyed;

static int
cmp_keyed(const void *x, const void *y)
{
	const keyed *a = x, *b = y;
	int c = strcmp(a->key, b->key);
	if (c)
		return c;
	return (a->idx > b->idx) - (a->idx < b->idx);
}

static bool
canonical_key(const char *path, st_store *st, lk_arena *a, const char **key,
			  lk_error *err)
{
	char *dec;
	if (!path)
		return lk_error_set(err, LK_ERR_CORRUPT, "file action without a path");
	LK_FORWARD(st_path_decode(path, a, &dec, err));
	*key = st ? st_path_canonical(st, dec, a) : dec;
	return true;
}

bool
dl_cdf_plan_commit(const dl_action *acts, size_t nacts, st_store *st,
				   lk_arena *a, dl_change_source **out, size_t *n,
				   lk_error *err)
{
	size_t ncdc = 0, nadd = 0, nrm = 0;
	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < nacts; i++) {
		if (acts[i].type == DL_ACT_CDC)
			ncdc++;
		else if (acts[i].type == DL_ACT_ADD && acts[i].u.add.data_change)
			nadd++;
		else if (acts[i].type == DL_ACT_REMOVE && acts[i].u.remove.data_change)
			nrm++;
	}
	if (ncdc > 0) {
		dl_change_source *v = lk_arena_zalloc(a, sizeof(*v) * ncdc);
		for (size_t i = 0; i < nacts; i++) {
			if (acts[i].type != DL_ACT_CDC)
				continue;
			dl_change_source *s = &v[(*n)++];
			s->kind = DL_CHANGE_CDC;
			s->path = acts[i].u.cdc.path;
			s->has_partition_values = true;
			s->partition_values = &acts[i].u.cdc.partition_values;
		}
		*out = v;
		return true;
	}
	if (nadd + nrm == 0)
		return true;

	/* adds sorted by canonical path, to pair them with removes */
	keyed *adds = lk_arena_alloc(a, sizeof(*adds) * (nadd ? nadd : 1));
	size_t k = 0;
	for (size_t i = 0; i < nacts; i++) {
		if (acts[i].type != DL_ACT_ADD || !acts[i].u.add.data_change)
			continue;
		if (!canonical_key(acts[i].u.add.path, st, a, &adds[k].key, err))
			return false;
		adds[k].idx = i;
		adds[k].paired = false;
		k++;
	}
	qsort(adds, nadd, sizeof(*adds), cmp_keyed);

	dl_change_source *v = lk_arena_zalloc(a, sizeof(*v) * (nadd + nrm));
	for (size_t i = 0; i < nacts; i++) {
		if (acts[i].type != DL_ACT_REMOVE || !acts[i].u.remove.data_change)
			continue;
		const dl_remove *rm = &acts[i].u.remove;
		const char *key;
		if (!canonical_key(rm->path, st, a, &key, err))
			return false;
		/* first unpaired add with this key */
		size_t lo = 0, hi = nadd;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (strcmp(adds[mid].key, key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		while (lo < nadd && strcmp(adds[lo].key, key) == 0 && adds[lo].paired)
			lo++;
		dl_change_source *s = &v[(*n)++];
		s->has_old_dv = rm->has_dv;
		if (rm->has_dv)
			s->old_dv = rm->dv;
		if (lo < nadd && strcmp(adds[lo].key, key) == 0) {
			const dl_add *ad = &acts[adds[lo].idx].u.add;
			adds[lo].paired = true;
			s->kind = DL_CHANGE_DV_UPDATE;
			s->path = ad->path;
			s->has_partition_values = true;
			s->partition_values = &ad->partition_values;
			s->has_new_dv = ad->has_dv;
			if (ad->has_dv)
				s->new_dv = ad->dv;
		} else {
			s->kind = DL_CHANGE_DELETE;
			s->path = rm->path;
			s->has_partition_values = rm->has_partition_values;
			s->partition_values = rm->has_partition_values ? &rm->partition_values : NULL;
		}
	}
	/* the adds not paired, in log order */
	for (size_t i = 0; i < nacts; i++) {
		if (acts[i].type != DL_ACT_ADD || !acts[i].u.add.data_change)
			continue;
		bool paired = false;
		for (size_t j = 0; j < nadd; j++)
			if (adds[j].idx == i) {
				paired = adds[j].paired;
				break;
			}
		if (paired)
			continue;
		const dl_add *ad = &acts[i].u.add;
		dl_change_source *s = &v[(*n)++];
		s->kind = DL_CHANGE_INSERT;
		s->path = ad->path;
		s->has_partition_values = true;
		s->partition_values = &ad->partition_values;
		s->has_new_dv = ad->has_dv;
		if (ad->has_dv)
			s->new_dv = ad->dv;
	}
	*out = v;
	return true;
}

/* ---- the feed ------------------------------------------------------------- */

struct dl_cdf {
	st_store *st;
	lk_arena arena;             /* feed lifetime */
	lk_arena commit_arena;      /* reset per commit */
	dl_snapshot *snap;          /* version `to`: schema, mapping */
	dl_snapshot view;           /* snap with files = &vfile (not owned) */
	dl_file vfile;
	lk_type *out_type;
	int ntable;                 /* table columns */
	int64_t from, to, next;     /* next: version to load */
	const char **commit_names;  /* [v - from] */
	int64_t *mtimes;            /* adjusted mtimes [v - from], lazily */

	/* current commit */
	int64_t version;
	int64_t ts_us;
	dl_action *acts;
	size_t nacts;
	dl_change_source *src;
	size_t nsrc, isrc;

	/* current source */
	const dl_change_source *cur;
	dl_scan *scan;
	int64_t row;                /* file row index of the next scanned row */
	uint8_t *types;             /* cdc: _change_type code per row */
	int64_t ntypes;
	dl_bitmap old_bm, new_bm;   /* DV update */

	lk_batch *out;
};

static void
reserve_varlen(lk_column *c)
{
	if (lk_type_is_varlen(c->type))
		lk_column_reserve_data(c, 1);
	for (int k = 0; k < c->nchildren; k++)
		reserve_varlen(&c->children[k]);
}

const lk_type *
dl_cdf_schema(const dl_cdf *c)
{
	return c->out_type;
}

int64_t
dl_cdf_from(const dl_cdf *c)
{
	return c->from;
}

int64_t
dl_cdf_to(const dl_cdf *c)
{
	return c->to;
}

static void
close_source(dl_cdf *c)
{
	dl_scan_free(c->scan);
	c->scan = NULL;
	free(c->types);
	c->types = NULL;
	c->ntypes = 0;
	dl_bitmap_free(&c->old_bm);
	dl_bitmap_free(&c->new_bm);
	c->cur = NULL;
	c->row = 0;
}

void
dl_cdf_free(dl_cdf *c)
{
	if (!c)
		return;
	close_source(c);
	if (c->out)
		lk_batch_free(c->out);
	dl_snapshot_free(c->snap);
	lk_arena_free(&c->commit_arena);
	lk_arena_free(&c->arena);
	free(c);
}

static bool
where_table(lk_error *err, const st_store *st)
{
	return lk_error_where(err, "table \"%s\"", st->root);
}

/* Check the range against the listing; fill commit_names. */
static bool
check_range(dl_cdf *c, lk_error *err)
{
	dl_log_file *f;
	size_t n;
	LK_FORWARD(dl_log_list(c->st, &c->arena, &f, &n, err));
	int64_t latest = -1, oldest = -1;
	for (size_t i = 0; i < n; i++) {
		if (f[i].kind != DL_LOG_COMMIT)
			continue;
		if (f[i].version > latest)
			latest = f[i].version;
		if (oldest < 0 || f[i].version < oldest)
			oldest = f[i].version;
	}
	if (latest < 0) {
		lk_error_set(err, LK_ERR_NOT_FOUND,
					 "the Delta log has no commit files, so it has no changes to read");
		return where_table(err, c->st);
	}
	if (c->to < 0)
		c->to = latest;
	if (c->to > latest) {
		lk_error_set(err, LK_ERR_NOT_FOUND,
					 "version %" PRId64 " does not exist (the latest version is %" PRId64 ")",
					 c->to, latest);
		return where_table(err, c->st);
	}
	if (c->from > latest) {
		lk_error_set(err, LK_ERR_NOT_FOUND,
					 "version %" PRId64 " does not exist (the latest version is %" PRId64 ")",
					 c->from, latest);
		return where_table(err, c->st);
	}
	if (c->from > c->to) {
		lk_error_set(err, LK_ERR_INVALID,
					 "start version %" PRId64 " is after end version %" PRId64, c->from, c->to);
		return where_table(err, c->st);
	}
	int64_t span = c->to - c->from + 1;
	c->commit_names = lk_arena_zalloc(&c->arena, sizeof(char *) * (size_t) span);
	c->mtimes = lk_arena_zalloc(&c->arena, sizeof(int64_t) * (size_t) span);
	for (size_t i = 0; i < n; i++) {
		if (f[i].kind == DL_LOG_COMMIT && f[i].version >= c->from && f[i].version <= c->to) {
			c->commit_names[f[i].version - c->from] = f[i].name;
			c->mtimes[f[i].version - c->from] = f[i].mtime_ms;
		}
	}
	for (int64_t v = c->from; v <= c->to; v++) {
		if (c->commit_names[v - c->from])
			continue;
		if (v < oldest) {
			lk_error_set(err, LK_ERR_NOT_FOUND,
						 "the changes of version %" PRId64 " are no longer available: its "
						 "commit file was removed from the log (the oldest commit left is "
						 "version %" PRId64 ")", v, oldest);
		} else {
			lk_error_set(err, LK_ERR_CORRUPT,
						 "versions are not contiguous: the commit file of version %" PRId64
						 " is missing", v);
		}
		return lk_error_where(err, "table \"%s\" _delta_log", c->st->root);
	}
	/* modification times made strictly increasing, as readers see them */
	for (int64_t i = 1; i < span; i++)
		if (c->mtimes[i] <= c->mtimes[i - 1])
			c->mtimes[i] = c->mtimes[i - 1] + 1;
	return true;
}

static lk_type *
make_out_type(dl_cdf *c, lk_error *err)
{
	const lk_type *t = c->snap->schema.type;
	static const char *const extra[] = {"_change_type", "_commit_version",
										"_commit_timestamp"};
	for (int i = 0; i < 3; i++) {
		if (dl_schema_field_index(t, extra[i]) >= 0) {
			lk_error_set(err, LK_ERR_UNSUPPORTED,
						 "the table has a column named \"%s\", which the change data "
						 "feed needs for itself", extra[i]);
			where_table(err, c->st);
			return NULL;
		}
	}
	lk_type *o = lk_type_struct(&c->arena, t->nchildren + 3);
	for (int i = 0; i < t->nchildren; i++)
		o->children[i] = t->children[i];
	lk_type *ts = lk_type_new(&c->arena, LK_T_TIMESTAMP);
	ts->unit = LK_UNIT_MICROS;
	lk_type *types[3] = {lk_type_new(&c->arena, LK_T_STRING),
						 lk_type_new(&c->arena, LK_T_LONG), ts};
	for (int i = 0; i < 3; i++) {
		lk_field *f = &o->children[t->nchildren + i];
		f->name = extra[i];
		f->type = types[i];
		f->nullable = false;
		f->field_id = -1;
	}
	return o;
}

bool
dl_cdf_open(st_store *st, int64_t from, int64_t to, dl_cdf **out,
			lk_error *err)
{
	*out = NULL;
	if (from < 0)
		return lk_error_set(err, LK_ERR_INVALID, "start version %" PRId64 " is negative",
							from);
	if (to >= 0 && from > to)
		return lk_error_set(err, LK_ERR_INVALID,
							"start version %" PRId64 " is after end version %" PRId64,
							from, to);
	dl_cdf *c = lk_xcalloc(1, sizeof(*c));
	c->st = st;
	c->from = from;
	c->to = to;
	lk_arena_init(&c->arena, 0);
	lk_arena_init(&c->commit_arena, 0);
	dl_bitmap_init(&c->old_bm);
	dl_bitmap_init(&c->new_bm);
	if (!check_range(c, err))
		goto fail;
	dl_snapshot_options o;
	dl_snapshot_options_init(&o);
	o.version = c->to;
	if (!dl_snapshot_open(st, &o, &c->snap, err))
		goto fail;
	if (!c->snap->has_schema) {
		lk_error_set(err, LK_ERR_CORRUPT, "the table's metaData has no schemaString");
		lk_error_where(err, "table \"%s\" version %" PRId64, st->root, c->to);
		goto fail;
	}
	c->out_type = make_out_type(c, err);
	if (!c->out_type)
		goto fail;
	c->ntable = c->snap->schema.type->nchildren;
	c->view = *c->snap;
	c->view.files = &c->vfile;
	c->view.nfiles = 1;
	c->out = lk_batch_new(c->out_type);
	for (int i = 0; i < c->out->ncols; i++)
		reserve_varlen(&c->out->cols[i]);
	c->next = c->from;
	*out = c;
	return true;
fail:
	dl_cdf_free(c);
	return false;
}

/* Partition values of a remove that carries none: the add of the same
 * file in version v - 1. */
static bool
resolve_partition_values(dl_cdf *c, dl_change_source *s, lk_error *err)
{
	if (c->snap->metadata.partition_columns.n == 0) {
		dl_map *m = lk_arena_zalloc(&c->commit_arena, sizeof(*m));
		s->partition_values = m;
		s->has_partition_values = true;
		return true;
	}
	const char *key;
	LK_FORWARD(canonical_key(s->path, c->st, &c->commit_arena, &key, err));
	dl_snapshot *prev;
	dl_snapshot_options o;
	dl_snapshot_options_init(&o);
	o.version = c->version - 1;
	if (c->version == 0 || !dl_snapshot_open(c->st, &o, &prev, err)) {
		if (c->version == 0)
			lk_error_set(err, LK_ERR_CORRUPT, "remove of \"%s\" in version 0", s->path);
		return lk_error_add_where(err, "partition values of the removed file \"%s\" "
								  "(version %" PRId64 ")", s->path, c->version);
	}
	bool found = false;
	for (size_t i = 0; i < prev->nfiles; i++) {
		if (strcmp(prev->files[i].path, key) != 0)
			continue;
		const dl_map *pv = &prev->files[i].add.partition_values;
		dl_map *m = lk_arena_zalloc(&c->commit_arena, sizeof(*m));
		m->n = pv->n;
		m->items = lk_arena_zalloc(&c->commit_arena, sizeof(dl_kv) * (size_t) (pv->n + 1));
		for (int k = 0; k < pv->n; k++) {
			m->items[k].key = lk_arena_strdup(&c->commit_arena, pv->items[k].key);
			m->items[k].value = pv->items[k].value
									? lk_arena_strdup(&c->commit_arena, pv->items[k].value)
									: NULL;
		}
		s->partition_values = m;
		s->has_partition_values = true;
		found = true;
		break;
	}
	dl_snapshot_free(prev);
	if (!found) {
		lk_error_set(err, LK_ERR_CORRUPT,
					 "the removed file \"%s\" has no partitionValues and is not in "
					 "version %" PRId64, s->path, c->version - 1);
		return lk_error_where(err, "file \"" LOG_DIR "/%s\"",
							  c->commit_names[c->version - c->from]);
	}
	return true;
}

static bool
load_commit(dl_cdf *c, int64_t v, lk_error *err)
{
	lk_arena_reset(&c->commit_arena);
	c->version = v;
	c->src = NULL;
	c->nsrc = c->isrc = 0;
	const char *path = lk_arena_sprintf(&c->commit_arena, LOG_DIR "/%s",
										c->commit_names[v - c->from]);
	lk_buf b = LK_BUF_INIT;
	if (!st_read_all(c->st, path, MAX_COMMIT_BYTES, &b, err)) {
		lk_buf_free(&b);
		return false;
	}
	bool ok = dl_actions_parse((const char *) b.data, b.len, path, &c->commit_arena,
							   &c->acts, &c->nacts, err);
	lk_buf_free(&b);
	LK_FORWARD(ok);

	int64_t ts_ms = c->mtimes[v - c->from];
	for (size_t i = 0; i < c->nacts; i++) {
		if (c->acts[i].type != DL_ACT_COMMIT_INFO)
			continue;
		const dl_commit_info *ci = &c->acts[i].u.commit_info;
		if (ci->has_in_commit_timestamp)
			ts_ms = ci->in_commit_timestamp;
		else if (ci->has_timestamp)
			ts_ms = ci->timestamp;
		break;
	}
	c->ts_us = ts_ms * 1000;

	if (!dl_cdf_plan_commit(c->acts, c->nacts, c->st, &c->commit_arena, &c->src,
							&c->nsrc, err))
		return lk_error_add_where(err, "file \"%s\"", path);
	for (size_t i = 0; i < c->nsrc; i++)
		if (!c->src[i].has_partition_values)
			LK_FORWARD(resolve_partition_values(c, &c->src[i], err));
	return true;
}

/* The _change_type of every row of a cdc file, as codes. */
static bool
read_change_types(dl_cdf *c, const char *path, lk_error *err)
{
	st_file sf;
	LK_FORWARD(st_open_read(c->st, path, &sf, err));
	pq_input in = {sf.ctx, sf.size, sf.name, sf.read_at, sf.close};
	pq_reader *r = pq_reader_open(&in, err);
	if (!r)
		return false;
	static const char *const name[] = {"_change_type"};
	bool ok = pq_reader_project(r, name, 1, err);
	if (!ok && err->code == LK_ERR_NOT_FOUND)
		lk_error_set(err, LK_ERR_CORRUPT, "change data file has no _change_type column");
	lk_batch *b = NULL;
	lk_buf codes = LK_BUF_INIT;
	if (ok) {
		const lk_type *os = pq_reader_output_schema(r);
		if (!lk_type_is_varlen(os->children[0].type)) {
			ok = false;
			lk_error_set(err, LK_ERR_CORRUPT,
						 "the _change_type column of a change data file is not a string");
		} else {
			b = lk_batch_new(os);
		}
	}
	int nrg = ok ? pq_reader_num_row_groups(r) : 0;
	for (int rg = 0; ok && rg < nrg; rg++) {
		if (!pq_reader_read_row_group(r, rg, b, err)) {
			ok = false;
			break;
		}
		const lk_column *col = &b->cols[0];
		for (int64_t i = 0; i < b->nrows; i++) {
			int64_t len = 0;
			const uint8_t *p = lk_column_is_null(col, i) ? NULL : lk_column_bytes(col, i, &len);
			int code = p ? dl_change_type_code((const char *) p, (size_t) len) : -1;
			if (code < 0) {
				ok = false;
				lk_error_set(err, LK_ERR_CORRUPT, "invalid _change_type %s%.*s%s in row %zu",
							 p ? "\"" : "", p ? (int) (len > 40 ? 40 : len) : 4,
							 p ? (const char *) p : "null", p ? "\"" : "", codes.len);
				break;
			}
			lk_buf_append_byte(&codes, (uint8_t) code);
		}
	}
	if (b)
		lk_batch_free(b);
	pq_reader_free(r);
	if (!ok) {
		lk_buf_free(&codes);
		return lk_error_add_where(err, "change data file \"%s\"", path);
	}
	c->ntypes = (int64_t) codes.len;
	c->types = lk_buf_detach(&codes, NULL);
	return true;
}

/* Rows of old \ new and new \ old are the only ones an update touches. */
static bool
dv_update_is_empty(const dl_bitmap *o, const dl_bitmap *n)
{
	if (dl_bitmap_cardinality(o) != dl_bitmap_cardinality(n))
		return false;
	for (int i = 0; i < o->nbuckets; i++)
		if (o->keys[i] != n->keys[i] || !roaring_bitmap_equals(o->maps[i], n->maps[i]))
			return false;
	return true;
}

static bool
open_source(dl_cdf *c, const dl_change_source *s, bool *skip, lk_error *err)
{
	*skip = false;
	c->cur = s;
	c->row = 0;
	char *dec;
	LK_FORWARD(st_path_decode(s->path, &c->commit_arena, &dec, err));
	memset(&c->vfile, 0, sizeof(c->vfile));
	c->vfile.path = st_path_canonical(c->st, dec, &c->commit_arena);
	c->vfile.add.path = s->path;
	c->vfile.add.data_change = true;
	if (s->partition_values)
		c->vfile.add.partition_values = *s->partition_values;
	switch (s->kind) {
	case DL_CHANGE_INSERT:
		c->vfile.add.has_dv = s->has_new_dv;
		c->vfile.add.dv = s->new_dv;
		break;
	case DL_CHANGE_DELETE:
		c->vfile.add.has_dv = s->has_old_dv;
		c->vfile.add.dv = s->old_dv;
		break;
	case DL_CHANGE_CDC:
		LK_FORWARD(read_change_types(c, c->vfile.path, err));
		if (c->ntypes == 0) {
			*skip = true;
			return true;
		}
		break;
	case DL_CHANGE_DV_UPDATE:
		if (s->has_old_dv && !dl_dv_load(c->st, &s->old_dv, &c->old_bm, err))
			return lk_error_add_where(err, "data file \"%s\"", c->vfile.path);
		if (s->has_new_dv && !dl_dv_load(c->st, &s->new_dv, &c->new_bm, err))
			return lk_error_add_where(err, "data file \"%s\"", c->vfile.path);
		if (dv_update_is_empty(&c->old_bm, &c->new_bm)) {
			*skip = true;
			return true;
		}
		break;
	}
	return dl_scan_open(&c->view, &c->scan, err);
}

/* Change code of file row `row` for the current source, -1 to skip it. */
static int
row_code(dl_cdf *c, int64_t row)
{
	switch (c->cur->kind) {
	case DL_CHANGE_INSERT: return CT_INSERT;
	case DL_CHANGE_DELETE: return CT_DELETE;
	case DL_CHANGE_CDC: return row < c->ntypes ? c->types[row] : -2;
	case DL_CHANGE_DV_UPDATE: {
		bool in_old = dl_bitmap_contains(&c->old_bm, (uint64_t) row);
		bool in_new = dl_bitmap_contains(&c->new_bm, (uint64_t) row);
		if (in_new && !in_old)
			return CT_DELETE;
		if (in_old && !in_new)
			return CT_INSERT;
		return -1;
	}
	}
	return -1;
}

/* Append the selected rows of b to c->out. */
static bool
emit(dl_cdf *c, const lk_batch *b, lk_error *err)
{
	lk_batch_reset(c->out);
	int64_t n = b->nrows;
	int64_t run = -1;   /* start of the current run of kept rows */
	lk_column *ct = &c->out->cols[c->ntable];
	lk_column *cv = &c->out->cols[c->ntable + 1];
	lk_column *cts = &c->out->cols[c->ntable + 2];
	for (int64_t i = 0; i <= n; i++) {
		int code = i < n ? row_code(c, c->row + i) : -1;
		if (code == -2) {
			lk_error_set(err, LK_ERR_CORRUPT,
						 "change data file has more rows than _change_type values");
			return lk_error_where(err, "change data file \"%s\"", c->vfile.path);
		}
		if (code >= 0) {
			const char *name = change_names[code];
			lk_column_append_bytes(ct, name, (int64_t) strlen(name));
			lk_column_append_i64(cv, c->version);
			lk_column_append_i64(cts, c->ts_us);
			if (run < 0)
				run = i;
			continue;
		}
		if (run >= 0) {
			for (int k = 0; k < c->ntable; k++)
				lk_column_append_range(&c->out->cols[k], &b->cols[k], run, i - run);
			run = -1;
		}
	}
	c->row += n;
	if (!lk_batch_seal(c->out)) {
		lk_error_set(err, LK_ERR_INTERNAL, "change feed produced columns of different lengths");
		return lk_error_where(err, "data file \"%s\"", c->vfile.path);
	}
	return true;
}

bool
dl_cdf_next(dl_cdf *c, lk_batch **out, lk_error *err)
{
	*out = NULL;
	for (;;) {
		if (c->scan) {
			lk_batch *b;
			if (!dl_scan_next(c->scan, &b, err)) {
				close_source(c);
				return lk_error_add_where(err, "version %" PRId64, c->version);
			}
			if (!b) {
				if (c->cur->kind == DL_CHANGE_CDC && c->row != c->ntypes) {
					lk_error_set(err, LK_ERR_CORRUPT,
								 "change data file has %" PRId64 " rows but %" PRId64
								 " _change_type values", c->row, c->ntypes);
					lk_error_where(err, "version %" PRId64 ", change data file \"%s\"",
								   c->version, c->vfile.path);
					close_source(c);
					return false;
				}
				close_source(c);
				continue;
			}
			if (!emit(c, b, err)) {
				close_source(c);
				return lk_error_add_where(err, "version %" PRId64, c->version);
			}
			if (c->out->nrows > 0) {
				*out = c->out;
				return true;
			}
			continue;
		}
		if (c->isrc < c->nsrc) {
			bool skip;
			if (!open_source(c, &c->src[c->isrc++], &skip, err)) {
				close_source(c);
				return lk_error_add_where(err, "version %" PRId64, c->version);
			}
			if (skip)
				close_source(c);
			continue;
		}
		if (c->next > c->to)
			return true;
		LK_FORWARD(load_commit(c, c->next, err));
		c->next++;
	}
}
