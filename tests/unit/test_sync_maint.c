/*
 * test_sync_maint.c — maintenance in the capture daemon (src/sync/maint.c):
 * compaction planned and written off the capture thread, applied by it as
 * a chained OPTIMIZE commit while "capture" keeps deleting, updating and
 * inserting; the PK index kept right through the hooks; truncate and
 * fully deleted sources; history tables compacted by the worker racing
 * chained blind appends; vacuum with a fake clock; the worker thread.
 *
 * A `sim` plays the capture thread of a mirror table: chained commits
 * (dl_commit_next) with a txn marker, a map path → current add (what
 * capture needs for dl_delete_rows), a real sy_pkindex, and an oracle of
 * the live rows.  sim_check verifies the table (dl_scan), the index (every
 * live key → the file and row that hold it, read back from the Parquet
 * file; every dead key absent) and the map (= the snapshot's files).
 *
 * LAKESYNC_MAINT_BENCH=1 makes the `bench` test compact 200 files / 1M
 * rows (else 200 files / 100k rows); it prints the worker and apply times.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/buf.h"
#include "delta/actions.h"
#include "delta/cdf.h"
#include "delta/commit.h"
#include "delta/dv.h"
#include "delta/log.h"
#include "delta/maintenance.h"
#include "delta/scan.h"
#include "delta/writer.h"
#include "storage/storage.h"
#include "sync/maint.h"
#include "sync/pkindex.h"

/* ---- fixtures ------------------------------------------------------------------ */

static char tmpdir[256];

static int
rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void) sb, (void) flag, (void) ftw;
	return remove(p);
}

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/lk-maint-XXXXXX",
			 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	cr_assert_not_null(mkdtemp(tmpdir));
}

/* LAKESYNC_MAINT_KEEP=1 keeps the tables (for tests/oracle/mirror_check.mjs
 * replay-vs-scan) and prints where. */
static void
teardown(void)
{
	if (tmpdir[0] && getenv("LAKESYNC_MAINT_KEEP")) {
		fprintf(stderr, "kept %s\n", tmpdir);
		return;
	}
	if (tmpdir[0])
		nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	tmpdir[0] = '\0';
}

TestSuite(sync_maint, .init = setup, .fini = teardown);

static const char *
errs(const lk_error *e)
{
	static char buf[1200];
	return lk_error_str(e, buf, sizeof(buf));
}

static double
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1000.0 + (double) ts.tv_nsec / 1e6;
}

static dl_snapshot *
snap_latest(st_store *st)
{
	dl_snapshot *s;
	lk_error err;
	cr_assert(dl_snapshot_open(st, NULL, &s, &err), "%s", errs(&err));
	return s;
}

/* ---- the simulated capture thread ------------------------------------------------ */

#define MAX_IDS 1100000

typedef struct fent {
	char *path;                 /* add path (as in the log) */
	dl_add add;                 /* current, strings in sim.fa */
} fent;

typedef struct sim {
	st_store st;
	char dir[400];
	lk_arena ta;                /* schema */
	lk_arena fa;                /* file map strings (grows) */
	lk_type *schema;
	fent *f;
	size_t nf, capf;
	dl_snapshot *snap;          /* until the first commit */
	dl_commit *prev;            /* chain head */
	sy_pkindex *idx;            /* NULL: not indexed (history) */
	int64_t lsn;
	char **val;                 /* oracle: id → value, NULL = not live */
	int64_t nids;               /* ids seen (0 .. nids-1) */
} sim;

static void
copy_add_to(lk_arena *a, dl_add *dst, const dl_add *src)
{
	*dst = *src;
	dst->path = lk_arena_strdup(a, src->path);
	dst->stats = src->stats ? lk_arena_strdup(a, src->stats) : NULL;
	dst->dv.path_or_inline = src->has_dv ? lk_arena_strdup(a, src->dv.path_or_inline) : NULL;
	dl_map pv = {NULL, src->partition_values.n};
	if (pv.n) {
		pv.items = lk_arena_alloc(a, sizeof(dl_kv) * (size_t) pv.n);
		for (int i = 0; i < pv.n; i++) {
			pv.items[i].key = lk_arena_strdup(a, src->partition_values.items[i].key);
			pv.items[i].value = src->partition_values.items[i].value
									? lk_arena_strdup(a, src->partition_values.items[i].value)
									: NULL;
		}
	}
	dst->partition_values = pv;
	dst->has_tags = false;
	dst->tags.n = 0;
	dst->tags.items = NULL;
	dst->clustering_provider = NULL;
}

static fent *
map_find(sim *s, const char *path)
{
	for (size_t i = 0; i < s->nf; i++)
		if (strcmp(s->f[i].path, path) == 0)
			return &s->f[i];
	return NULL;
}

static void
map_put(sim *s, const dl_add *a)
{
	fent *e = map_find(s, a->path);
	if (!e) {
		if (s->nf == s->capf) {
			s->capf = s->capf ? 2 * s->capf : 64;
			s->f = realloc(s->f, sizeof(fent) * s->capf);
		}
		e = &s->f[s->nf++];
		e->path = strdup(a->path);
	}
	copy_add_to(&s->fa, &e->add, a);
}

static void
map_del(sim *s, const char *path)
{
	fent *e = map_find(s, path);
	if (!e)
		return;
	free(e->path);
	*e = s->f[--s->nf];
}

static void
make_schema(sim *s)
{
	lk_arena_init(&s->ta, 0);
	s->schema = lk_type_struct(&s->ta, 2);
	s->schema->children[0] = (lk_field){"id", lk_type_new(&s->ta, LK_T_LONG), false, -1};
	s->schema->children[1] = (lk_field){"v", lk_type_new(&s->ta, LK_T_STRING), true, -1};
}

/* A mirror table (DVs + CDF, indexed) or a history-like one (append-only,
 * no index). */
static void
sim_open(sim *s, const char *name, bool mirror)
{
	memset(s, 0, sizeof(*s));
	make_schema(s);
	lk_arena_init(&s->fa, 0);
	snprintf(s->dir, sizeof(s->dir), "%s/%s", tmpdir, name);
	lk_error err;
	cr_assert(st_store_open(&s->st, s->dir, 0, &err), "%s", errs(&err));
	dl_table_options o;
	dl_table_options_init(&o);
	o.deletion_vectors = mirror;
	o.change_data_feed = mirror;
	o.append_only = !mirror;
	o.checkpoint_interval = 1000;
	cr_assert(dl_table_create(&s->st, s->schema, &o, &err), "%s", errs(&err));
	s->snap = snap_latest(&s->st);
	s->val = calloc(MAX_IDS, sizeof(char *));
	if (mirror) {
		char idir[512];
		snprintf(idir, sizeof(idir), "%s/index-%s", tmpdir, name);
		sy_pkindex_opts po = {0};
		s->idx = sy_pkindex_create(idir, s->snap->metadata.id, &po, &err);
		cr_assert_not_null(s->idx, "%s", errs(&err));
	}
}

static void
sim_close(sim *s)
{
	for (size_t i = 0; i < s->nf; i++)
		free(s->f[i].path);
	free(s->f);
	dl_commit_free(s->prev);
	dl_snapshot_free(s->snap);
	if (s->idx)
		sy_pkindex_close(s->idx);
	for (int64_t i = 0; i < MAX_IDS; i++)
		free(s->val[i]);
	free(s->val);
	st_store_close(&s->st);
	lk_arena_free(&s->fa);
	lk_arena_free(&s->ta);
}

static dl_commit *
sim_begin(sim *s)
{
	return s->prev ? dl_commit_next(s->prev, "WRITE") : dl_commit_begin(&s->st, s->snap, "WRITE");
}

/* The new head of the chain (capture: t->prev); the file map follows. */
static void
sim_chain(sim *s, dl_commit *c)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < dl_commit_nactions(c); i++) {
			const dl_action *a = dl_commit_action(c, i, NULL);
			if (pass == 0 && a->type == DL_ACT_REMOVE)
				map_del(s, a->u.remove.path);
			if (pass == 1 && a->type == DL_ACT_ADD)
				map_put(s, &a->u.add);
		}
	dl_commit_free(s->prev);
	s->prev = c;
	dl_snapshot_free(s->snap);
	s->snap = NULL;
}

static int64_t
sim_finish(sim *s, dl_commit *c)
{
	lk_error err;
	cr_assert(dl_commit_set_txn(c, "lakesync/p/s.t", ++s->lsn, &err), "%s", errs(&err));
	cr_assert(dl_commit_run(c, NULL, &err), "%s", errs(&err));
	int64_t v = dl_commit_version(c);
	sim_chain(s, c);
	return v;
}

static uint32_t
fid(sim *s, const char *path)
{
	uint32_t id;
	lk_error err;
	cr_assert(sy_pkindex_file_id(s->idx, path, &id, &err), "%s", errs(&err));
	return id;
}

static void
key_of(int64_t id, lk_buf *k)
{
	lk_column c;
	lk_type t = {0};
	t.id = LK_T_LONG;
	lk_column_init(&c, &t);
	lk_column_append_i64(&c, id);
	lk_error err;
	cr_assert(sy_pkindex_key_from_row(&c, 1, 0, k, &err), "%s", errs(&err));
	lk_column_destroy(&c);
}

/* Write rows ids[0..n) ("v<id>" or val) into commit c: one new file; the
 * index gets their keys (after the commit: call sim_index_file). */
static char *
sim_write(sim *s, dl_commit *c, const int64_t *ids, size_t n, const char *val)
{
	lk_batch *b = lk_batch_new(s->schema);
	char buf[64];
	for (size_t i = 0; i < n; i++) {
		lk_column_append_i64(&b->cols[0], ids[i]);
		if (val)
			snprintf(buf, sizeof(buf), "%s", val);
		else
			snprintf(buf, sizeof(buf), "v%" PRId64, ids[i]);
		lk_column_append_bytes(&b->cols[1], buf, (int64_t) strlen(buf));
		free(s->val[ids[i]]);
		s->val[ids[i]] = strdup(buf);
		if (ids[i] + 1 > s->nids)
			s->nids = ids[i] + 1;
	}
	cr_assert(lk_batch_seal(b));
	lk_error err;
	cr_assert(dl_write_batch(c, b, NULL, &err), "%s", errs(&err));
	lk_batch_free(b);
	const dl_action *a = dl_commit_action(c, dl_commit_nactions(c) - 1, NULL);
	cr_assert_eq(a->type, DL_ACT_ADD);
	return strdup(a->u.add.path);
}

static void
sim_index_file(sim *s, const char *path, const int64_t *ids, size_t n)
{
	if (!s->idx)
		return;
	uint32_t f = fid(s, path);
	lk_buf k = LK_BUF_INIT;
	lk_error err;
	for (size_t i = 0; i < n; i++) {
		key_of(ids[i], &k);
		cr_assert(sy_pkindex_put(s->idx, k.data, k.len, f, i, &err), "%s", errs(&err));
	}
	lk_buf_free(&k);
}

/* One commit inserting ids[0..n). */
static int64_t
sim_insert(sim *s, const int64_t *ids, size_t n)
{
	dl_commit *c = sim_begin(s);
	char *path = sim_write(s, c, ids, n, NULL);
	int64_t v = sim_finish(s, c);
	sim_index_file(s, path, ids, n);
	free(path);
	return v;
}

static void
sim_insert_range(sim *s, int64_t from, int64_t n)
{
	int64_t *ids = malloc(sizeof(int64_t) * (size_t) n);
	for (int64_t i = 0; i < n; i++)
		ids[i] = from + i;
	sim_insert(s, ids, (size_t) n);
	free(ids);
}

/* Mark the rows of ids in commit c through the index (capture's delete). */
static void
sim_mark_deletes(sim *s, dl_commit *c, const int64_t *ids, size_t n)
{
	lk_buf k = LK_BUF_INIT;
	lk_error err;
	for (size_t i = 0; i < n; i++) {
		key_of(ids[i], &k);
		bool found;
		sy_pkindex_loc loc;
		cr_assert(sy_pkindex_get(s->idx, k.data, k.len, &found, &loc, &err), "%s", errs(&err));
		cr_assert(found, "id %" PRId64 " not in the index", ids[i]);
		fent *e = map_find(s, loc.path);
		cr_assert_not_null(e, "index names %s, not a table file", loc.path);
		uint64_t row = loc.row;
		cr_assert(dl_delete_rows(c, &e->add, &row, 1, &err), "%s", errs(&err));
	}
	lk_buf_free(&k);
}

static void
sim_unindex(sim *s, const int64_t *ids, size_t n)
{
	lk_buf k = LK_BUF_INIT;
	lk_error err;
	for (size_t i = 0; i < n; i++) {
		key_of(ids[i], &k);
		cr_assert(sy_pkindex_delete(s->idx, k.data, k.len, &err), "%s", errs(&err));
		free(s->val[ids[i]]);
		s->val[ids[i]] = NULL;
	}
	lk_buf_free(&k);
}

static int64_t
sim_delete(sim *s, const int64_t *ids, size_t n)
{
	dl_commit *c = sim_begin(s);
	sim_mark_deletes(s, c, ids, n);
	int64_t v = sim_finish(s, c);
	sim_unindex(s, ids, n);
	return v;
}

/* UPDATE of one row: its old row deleted, the new one in a new file. */
static int64_t
sim_update(sim *s, int64_t id, const char *val)
{
	dl_commit *c = sim_begin(s);
	sim_mark_deletes(s, c, &id, 1);
	char *path = sim_write(s, c, &id, 1, val);
	int64_t v = sim_finish(s, c);
	sim_index_file(s, path, &id, 1);
	free(path);
	return v;
}

/* TRUNCATE: every file removed. */
static int64_t
sim_truncate(sim *s)
{
	dl_commit *c = sim_begin(s);
	lk_error err;
	for (size_t i = 0; i < s->nf; i++)
		cr_assert(dl_remove_file(c, &s->f[i].add, true, &err), "%s", errs(&err));
	char **paths = malloc(sizeof(char *) * (s->nf + 1));
	size_t np = s->nf;
	for (size_t i = 0; i < np; i++)
		paths[i] = strdup(s->f[i].path);
	int64_t v = sim_finish(s, c);
	for (size_t i = 0; i < np; i++) {
		cr_assert(sy_pkindex_remove_file(s->idx, fid(s, paths[i]), &err), "%s", errs(&err));
		free(paths[i]);
	}
	free(paths);
	for (int64_t i = 0; i < s->nids; i++) {
		free(s->val[i]);
		s->val[i] = NULL;
	}
	return v;
}

/* ---- hooks: what capture does after applying a compaction ---------------------------- */

typedef struct hstats {
	int64_t added, removed, moved;
	double moved_ms;
} hstats;

typedef struct hctx {
	sim *s;
	hstats h;
} hctx;

static const dl_add *
h_current(void *ctx, const char *path)
{
	fent *e = map_find(((hctx *) ctx)->s, path);
	return e ? &e->add : NULL;
}

static bool
h_added(void *ctx, const dl_add *add, lk_error *err)
{
	hctx *x = ctx;
	map_put(x->s, add);
	x->h.added++;
	uint32_t id;
	return sy_pkindex_file_id(x->s->idx, add->path, &id, err);
}

static bool
h_moved(void *ctx, const void *key, size_t len, const char *src_path, uint64_t src_row,
		const char *out_path, uint64_t out_row, lk_error *err)
{
	hctx *x = ctx;
	uint32_t id;
	x->h.moved++;
	return sy_pkindex_file_id(x->s->idx, out_path, &id, err) &&
		   sy_pkindex_put(x->s->idx, key, len, id, out_row, err);
}

static bool
h_removed(void *ctx, const dl_add *rm, lk_error *err)
{
	hctx *x = ctx;
	x->h.removed++;
	uint32_t id;
	if (!sy_pkindex_file_id(x->s->idx, rm->path, &id, err))
		return false;
	map_del(x->s, rm->path);
	return sy_pkindex_remove_file(x->s->idx, id, err);
}

static sy_maint_hooks
hooks_of(hctx *x, bool with_current)
{
	sy_maint_hooks h = {x, with_current ? h_current : NULL, h_added, h_moved, h_removed};
	return h;
}

/* ---- checks ------------------------------------------------------------------- */

typedef struct rowbuf {
	int64_t *id;
	char **v;
	size_t n, cap;
} rowbuf;

static bool
rows_cb(void *ctx, const lk_batch *b, lk_error *err)
{
	rowbuf *r = ctx;
	for (int64_t i = 0; i < b->nrows; i++) {
		if (r->n == r->cap) {
			r->cap = r->cap ? 2 * r->cap : 256;
			r->id = realloc(r->id, sizeof(int64_t) * r->cap);
			r->v = realloc(r->v, sizeof(char *) * r->cap);
		}
		r->id[r->n] = LK_COL_VALUES(&b->cols[0], int64_t)[i];
		int64_t len;
		const uint8_t *p = lk_column_bytes(&b->cols[1], i, &len);
		r->v[r->n] = strndup((const char *) p, (size_t) len);
		r->n++;
	}
	return true;
}

static void
rowbuf_free(rowbuf *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->id);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* Every physical row of a data file (no DV applied). */
static void
read_file_raw(st_store *st, const dl_snapshot *s, const char *path, rowbuf *out)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	dl_layout l;
	lk_error err;
	cr_assert(dl_layout_make(&s->schema, s->column_mapping, &s->metadata.partition_columns, &a,
							 &l, &err), "%s", errs(&err));
	cr_assert(dl_data_file_read(st, &l, path, NULL, NULL, rows_cb, out, &err), "%s", errs(&err));
	lk_arena_free(&a);
}

/* Table (dl_scan) = oracle; index and file map agree with the table. */
static void
sim_check(sim *s)
{
	dl_snapshot *sn = snap_latest(&s->st);
	lk_error err;
	/* rows */
	dl_scan *sc;
	cr_assert(dl_scan_open(sn, &sc, &err), "%s", errs(&err));
	bool *seen = calloc((size_t) s->nids + 1, 1);
	int64_t nrows = 0;
	for (;;) {
		lk_batch *b;
		cr_assert(dl_scan_next(sc, &b, &err), "%s", errs(&err));
		if (!b)
			break;
		for (int64_t i = 0; i < b->nrows; i++) {
			int64_t id = LK_COL_VALUES(&b->cols[0], int64_t)[i];
			cr_assert(id >= 0 && id < s->nids, "id %" PRId64, id);
			cr_assert_not(seen[id], "id %" PRId64 " twice", id);
			seen[id] = true;
			cr_assert_not_null(s->val[id], "id %" PRId64 " is live but was deleted", id);
			int64_t len;
			const uint8_t *p = lk_column_bytes(&b->cols[1], i, &len);
			cr_assert(len == (int64_t) strlen(s->val[id]) && memcmp(p, s->val[id], (size_t) len) == 0,
					  "id %" PRId64 ": %.*s, expected %s", id, (int) len, p, s->val[id]);
			nrows++;
		}
	}
	dl_scan_free(sc);
	for (int64_t id = 0; id < s->nids; id++)
		cr_assert(seen[id] || !s->val[id], "id %" PRId64 " missing", id);
	free(seen);

	/* file map = the snapshot's files, with the same DVs (history: the
	 * worker commits outside the chain) */
	for (size_t i = 0; s->idx && i < sn->nfiles; i++) {
		fent *e = map_find(s, sn->files[i].add.path);
		cr_assert_not_null(e, "%s not in the map", sn->files[i].add.path);
	}
	cr_assert(!s->idx || s->nf == sn->nfiles, "map has %zu files, table %zu", s->nf, sn->nfiles);
	for (size_t i = 0; s->idx && i < sn->nfiles; i++) {
		fent *e = map_find(s, sn->files[i].add.path);
		cr_assert_eq(e->add.has_dv, sn->files[i].add.has_dv);
		if (e->add.has_dv)
			cr_assert_str_eq(e->add.dv.path_or_inline, sn->files[i].add.dv.path_or_inline);
	}
	/* index: every live key → a file of the table, the row holding it, not
	 * deleted; dead keys absent */
	if (s->idx) {
		rowbuf *raw = calloc(sn->nfiles + 1, sizeof(rowbuf));
		dl_bitmap *dv = calloc(sn->nfiles + 1, sizeof(dl_bitmap));
		for (size_t i = 0; i < sn->nfiles; i++) {
			read_file_raw(&s->st, sn, sn->files[i].path, &raw[i]);
			dl_bitmap_init(&dv[i]);
			if (sn->files[i].add.has_dv)
				cr_assert(dl_dv_load(&s->st, &sn->files[i].add.dv, &dv[i], &err), "%s", errs(&err));
		}
		lk_buf k = LK_BUF_INIT;
		int64_t live = 0;
		for (int64_t id = 0; id < s->nids; id++) {
			key_of(id, &k);
			bool found;
			sy_pkindex_loc loc;
			cr_assert(sy_pkindex_get(s->idx, k.data, k.len, &found, &loc, &err), "%s", errs(&err));
			cr_assert_eq(found, s->val[id] != NULL, "id %" PRId64 " found=%d", id, found);
			if (!found)
				continue;
			live++;
			size_t fi = sn->nfiles;
			for (size_t i = 0; i < sn->nfiles; i++)
				if (strcmp(sn->files[i].add.path, loc.path) == 0)
					fi = i;
			cr_assert_lt(fi, sn->nfiles, "id %" PRId64 " indexed in %s, not a table file", id,
						 loc.path);
			cr_assert_lt(loc.row, raw[fi].n);
			cr_assert_eq(raw[fi].id[loc.row], id, "id %" PRId64 " indexed at %s row %" PRIu64
						 " which holds %" PRId64, id, loc.path, loc.row, raw[fi].id[loc.row]);
			cr_assert_not(dl_bitmap_contains(&dv[fi], loc.row), "id %" PRId64 " indexed at a deleted row", id);
		}
		cr_assert_eq(live, nrows);
		lk_buf_free(&k);
		for (size_t i = 0; i < sn->nfiles; i++) {
			rowbuf_free(&raw[i]);
			dl_bitmap_free(&dv[i]);
		}
		free(raw);
		free(dv);
	}
	dl_snapshot_free(sn);
}

static bool
exists(st_store *st, const char *path)
{
	st_stat sb;
	lk_error err;
	return st_stat_object(st, path, &sb, &err);
}

static char *
read_text(st_store *st, const char *rel)
{
	lk_buf b = LK_BUF_INIT;
	lk_error err;
	cr_assert(st_read_all(st, rel, 1 << 28, &b, &err), "%s", errs(&err));
	lk_buf_cstr(&b);
	return (char *) b.data;
}

static int
count_str(const char *text, const char *needle)
{
	int n = 0;
	for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* options for small test tables */
static sy_maint_options
small_opts(void)
{
	sy_maint_options o;
	sy_maint_options_init(&o);
	o.min_files = 2;
	return o;
}

/* 40 files of 25 rows (ids 0..999); ids % 7 == 0 deleted before the plan.
 * Returns the number of pre-plan deletes. */
static int64_t
build_40(sim *s)
{
	for (int i = 0; i < 40; i++)
		sim_insert_range(s, i * 25, 25);
	int64_t del[200];
	size_t n = 0;
	for (int64_t id = 0; id < 1000; id += 7) {
		del[n++] = id;
		if (id == 497) {    /* two commits: two DV files */
			sim_delete(s, del, n);
			n = 0;
		}
	}
	sim_delete(s, del, n);
	return 143;
}

static sy_maint_result *
plan_and_compact(sim *s, const sy_maint_options *o, int expect_bins, int64_t expect_files)
{
	dl_snapshot *sn = snap_latest(&s->st);
	sy_maint_plan *p;
	lk_error err;
	cr_assert(sy_maint_plan_make(sn, o, s->idx != NULL, &p, &err), "%s", errs(&err));
	cr_assert_eq(p->nbins, expect_bins, "%d bins", p->nbins);
	cr_assert_eq(p->files, expect_files, "%" PRId64 " files", p->files);
	int key = 0;
	sy_maint_result *r;
	cr_assert(sy_maint_compact(&s->st, sn, p, &key, s->idx ? 1 : 0, NULL, &r, &err), "%s",
			  errs(&err));
	dl_snapshot_free(sn);
	return r;
}

/* ---- plan ---------------------------------------------------------------------- */

Test(sync_maint, plan_picks_small_and_dv_heavy_files)
{
	sim s;
	sim_open(&s, "t", true);
	for (int i = 0; i < 6; i++)
		sim_insert_range(&s, i * 20, 20);
	lk_error err;
	sy_maint_options o;
	sy_maint_options_init(&o);
	dl_snapshot *sn = snap_latest(&s.st);
	sy_maint_plan *p;
	/* 6 small files < min_files 8: nothing */
	cr_assert(sy_maint_plan_make(sn, &o, true, &p, &err), "%s", errs(&err));
	cr_assert_eq(p->nbins, 0);
	cr_assert_eq(p->version, sn->version);
	sy_maint_plan_free(p);
	/* min_files 6: one bin of all 6, oldest first */
	o.min_files = 6;
	cr_assert(sy_maint_plan_make(sn, &o, true, &p, &err), "%s", errs(&err));
	cr_assert_eq(p->nbins, 1);
	cr_assert_eq(p->bins[0].nsrc, 6);
	cr_assert_eq(p->bins[0].live_rows, 120);
	cr_assert_not(p->more);
	for (int i = 1; i < 6; i++)
		cr_assert_leq(p->bins[0].src[i - 1].add.modification_time,
					  p->bins[0].src[i].add.modification_time);
	sy_maint_plan_free(p);
	/* rows cap 50 (indexed): files of 20 rows are small only below 25 rows;
	 * bins of at most 2 files (40 rows), and at most 50 rows in all */
	o.max_rows_per_run = 50;
	cr_assert(sy_maint_plan_make(sn, &o, true, &p, &err), "%s", errs(&err));
	cr_assert_eq(p->nbins, 1);
	cr_assert_eq(p->bins[0].nsrc, 2);
	cr_assert_eq(p->bins[0].live_rows, 40);
	cr_assert(p->more);
	sy_maint_plan_free(p);
	/* not indexed: the rows cap does not apply */
	cr_assert(sy_maint_plan_make(sn, &o, false, &p, &err), "%s", errs(&err));
	cr_assert_eq(p->nbins, 1);
	cr_assert_eq(p->bins[0].nsrc, 6);
	sy_maint_plan_free(p);
	/* files not small (threshold 1 byte): nothing ... */
	o.max_rows_per_run = 0;
	o.small_file_size = 1;
	cr_assert(sy_maint_plan_make(sn, &o, true, &p, &err), "%s", errs(&err));
	cr_assert_eq(p->nbins, 0);
	sy_maint_plan_free(p);
	dl_snapshot_free(sn);
	/* ... until a file has 25% of its rows deleted: rewritten alone */
	int64_t d[] = {20, 21, 22, 23, 24};
	sim_delete(&s, d, 5);
	sn = snap_latest(&s.st);
	cr_assert(sy_maint_plan_make(sn, &o, true, &p, &err), "%s", errs(&err));
	cr_assert_eq(p->nbins, 1);
	cr_assert_eq(p->bins[0].nsrc, 1);
	cr_assert_eq(p->bins[0].src[0].deleted, 5);
	cr_assert_eq(p->bins[0].src[0].num_records, 20);
	cr_assert_eq(p->bins[0].live_rows, 15);
	sy_maint_plan_free(p);
	/* 4 of 20 is below the ratio */
	o.max_deleted_ratio = 0.3;
	cr_assert(sy_maint_plan_make(sn, &o, true, &p, &err), "%s", errs(&err));
	cr_assert_eq(p->nbins, 0);
	sy_maint_plan_free(p);
	/* bad options */
	o.retention_ms = 1000;
	cr_assert_not(sy_maint_plan_make(sn, &o, true, &p, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	dl_snapshot_free(sn);
	sim_close(&s);
}

/* ---- compaction while capture goes on ------------------------------------------------ */

/* The late activity of the main scenario; returns the late-deleted ids of
 * the sources (sorted) in late[]. */
static size_t
late_activity(sim *s, int64_t *late)
{
	size_t nl = 0;
	int64_t del[200];
	size_t n = 0;
	for (int64_t id = 3; id < 1000; id += 11)
		if (id % 7 != 0)
			del[n++] = id;
	sim_delete(s, del, n);                  /* DVs on sources */
	sim_update(s, 5, "updated5");           /* old row deleted, new file */
	int64_t more[20];
	for (int i = 0; i < 20; i++)
		more[i] = 1000 + i;
	sim_insert(s, more, 20);                /* a new file, not a source */
	int64_t d1 = 1001;
	sim_delete(s, &d1, 1);                  /* a DV on it */
	late[nl++] = 5;
	for (size_t i = 0; i < n; i++)
		late[nl++] = del[i];
	return nl;
}

/* The OPTIMIZE commit v: removes and adds dataChange=false, no change
 * rows for CDF, the output add with a DV and loose stats. */
static void
check_optimize_log(sim *s, int64_t v, int nremoves)
{
	char name[64];
	snprintf(name, sizeof(name), "_delta_log/%020" PRId64 ".json", v);
	char *log = read_text(&s->st, name);
	cr_assert(strstr(log, "\"operation\":\"OPTIMIZE\""), "%s", log);
	cr_assert_eq(count_str(log, "{\"remove\":"), nremoves);
	cr_assert_eq(count_str(log, "{\"add\":"), 1);
	cr_assert_eq(count_str(log, "\"dataChange\":true"), 0);
	cr_assert_eq(count_str(log, "{\"txn\":"), 0);
	cr_assert_eq(count_str(log, "{\"cdc\":"), 0);
	const char *add = strstr(log, "{\"add\":");
	cr_assert(strstr(add, "\"deletionVector\":{"), "%s", add);
	cr_assert(strstr(add, "tightBounds\\\":false"), "%s", add);
	lk_arena a;
	lk_arena_init(&a, 0);
	dl_action *acts;
	size_t na, nsrc;
	dl_change_source *cs;
	lk_error err;
	cr_assert(dl_actions_parse(log, strlen(log), name, &a, &acts, &na, &err), "%s", errs(&err));
	cr_assert(dl_cdf_plan_commit(acts, na, &s->st, &a, &cs, &nsrc, &err), "%s", errs(&err));
	cr_assert_eq(nsrc, 0);
	lk_arena_free(&a);
	free(log);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
	return (x > y) - (x < y);
}

/* The output's DV holds exactly the output rows of the late ids. */
static void
check_output_dv(sim *s, const char *out_path, const int64_t *late, size_t nl)
{
	dl_snapshot *sn = snap_latest(&s->st);
	const dl_file *f = NULL;
	for (size_t i = 0; i < sn->nfiles; i++)
		if (strcmp(sn->files[i].path, out_path) == 0)
			f = &sn->files[i];
	cr_assert_not_null(f, "output %s not in the table", out_path);
	cr_assert(f->add.has_dv);
	cr_assert_eq(f->add.dv.cardinality, (int64_t) nl);
	dl_bitmap dv;
	dl_bitmap_init(&dv);
	lk_error err;
	cr_assert(dl_dv_load(&s->st, &f->add.dv, &dv, &err), "%s", errs(&err));
	rowbuf raw = {0};
	read_file_raw(&s->st, sn, out_path, &raw);
	size_t hits = 0;
	for (size_t r = 0; r < raw.n; r++) {
		bool want = false;
		for (size_t q = 0; q < nl; q++)
			if (late[q] == raw.id[r])
				want = true;
		cr_assert_eq(dl_bitmap_contains(&dv, r), want, "output row %zu (id %" PRId64 ")", r,
					 raw.id[r]);
		hits += want;
	}
	cr_assert_eq(hits, nl);
	/* the output holds exactly the rows live at plan time */
	cr_assert_eq(raw.n, 857);
	qsort(raw.id, raw.n, sizeof(int64_t), cmp_i64);
	for (size_t r = 0, id = 1; r < raw.n; r++, id++) {
		if (id % 7 == 0)
			id++;
		cr_assert_eq(raw.id[r], (int64_t) id);
	}
	rowbuf_free(&raw);
	dl_bitmap_free(&dv);
	dl_snapshot_free(sn);
}

Test(sync_maint, compact_while_capture_deletes_updates_inserts)
{
	sim s;
	sim_open(&s, "t", true);
	cr_assert_eq(build_40(&s), 143);
	sim_check(&s);
	sy_maint_options o = small_opts();
	sy_maint_result *r = plan_and_compact(&s, &o, 1, 40);
	sy_maint_summary sum;
	sy_maint_result_summary(r, &sum);
	cr_assert_eq(sum.rows, 857);
	cr_assert_eq(sum.outputs, 1);
	cr_assert_eq(sum.sources, 40);
	cr_assert_eq(sum.plan_version, 42);
	char *out_path = strdup(sy_maint_result_output(r, 0));
	cr_assert(exists(&s.st, out_path));

	int64_t late[200];
	size_t nl = late_activity(&s, late);
	qsort(late, nl, sizeof(int64_t), cmp_i64);
	cr_assert_eq(nl, 79, "%zu", nl);
	sim_check(&s);

	/* apply: the current DVs come from the log (no current_file hook) */
	hctx hx = {&s, {0}};
	sy_maint_hooks h = hooks_of(&hx, false);
	dl_commit *c;
	sy_maint_applied ar;
	lk_error err;
	cr_assert(sy_maint_apply(r, s.prev, NULL, &h, NULL, &c, &ar, &err), "%s", errs(&err));
	cr_assert_not_null(c);
	cr_assert_eq(ar.version, 47);
	cr_assert_eq(dl_commit_version(c), 47);
	cr_assert_eq(ar.bins, 1);
	cr_assert_eq(ar.bins_dropped, 0);
	cr_assert_eq(ar.files_removed, 40);
	cr_assert_eq(ar.files_added, 1);
	cr_assert_eq(ar.rows_deleted_late, 79);
	cr_assert_eq(ar.rows_moved, 857 - 79);
	cr_assert_eq(ar.dvs_loaded, 40, "%" PRId64, ar.dvs_loaded);  /* every source has a new DV */
	cr_assert_eq(hx.h.added, 1);
	cr_assert_eq(hx.h.removed, 40);
	cr_assert_eq(hx.h.moved, 778);
	sim_chain(&s, c);
	sy_maint_result_free(r);

	/* files: 40 sources → 1 output; the update's file and the insert's */
	dl_snapshot *sn = snap_latest(&s.st);
	cr_assert_eq(sn->nfiles, 3);
	cr_assert_eq(dl_snapshot_txn_version(sn, "lakesync/p/s.t"), s.lsn);
	dl_snapshot_free(sn);
	check_optimize_log(&s, 47, 40);
	check_output_dv(&s, out_path, late, nl);
	sim_check(&s);

	/* capture goes on through the index: delete and update moved rows */
	int64_t d2[] = {1, 2, 998};
	sim_delete(&s, d2, 3);
	sim_update(&s, 10, "updated10");
	sim_check(&s);
	free(out_path);
	sim_close(&s);
}

Test(sync_maint, refresh_then_apply_with_current_file_hook)
{
	sim s;
	sim_open(&s, "t", true);
	build_40(&s);
	sy_maint_options o = small_opts();
	sy_maint_result *r = plan_and_compact(&s, &o, 1, 40);
	/* a delete before the worker's refresh ... */
	int64_t d1[] = {1, 26, 51};
	sim_delete(&s, d1, 3);
	dl_snapshot *sn = snap_latest(&s.st);
	lk_error err;
	cr_assert(sy_maint_refresh(r, &s.st, sn, &err), "%s", errs(&err));
	dl_snapshot_free(sn);
	sy_maint_summary sum;
	sy_maint_result_summary(r, &sum);
	cr_assert_eq(sum.known_version, 43);
	/* ... and one after it, on a source not touched before */
	int64_t d2[] = {99};
	sim_delete(&s, d2, 1);
	hctx hx = {&s, {0}};
	sy_maint_hooks h = hooks_of(&hx, true);
	dl_commit *c;
	sy_maint_applied ar;
	cr_assert(sy_maint_apply(r, s.prev, NULL, &h, NULL, &c, &ar, &err), "%s", errs(&err));
	cr_assert_eq(ar.rows_deleted_late, 4);
	/* the DVs known at the refresh are not read again: only 99's file */
	cr_assert_eq(ar.dvs_loaded, 1);
	cr_assert_eq(ar.rows_moved, 857 - 4);
	sim_chain(&s, c);
	sy_maint_result_free(r);
	sim_check(&s);
	sim_close(&s);
}

Test(sync_maint, truncate_between_plan_and_apply_drops_the_result)
{
	sim s;
	sim_open(&s, "t", true);
	build_40(&s);
	sy_maint_options o = small_opts();
	sy_maint_result *r = plan_and_compact(&s, &o, 1, 40);
	char *out_path = strdup(sy_maint_result_output(r, 0));
	cr_assert(exists(&s.st, out_path));
	sim_truncate(&s);
	sim_insert_range(&s, 2000, 10);
	int64_t before = dl_commit_version(s.prev);
	hctx hx = {&s, {0}};
	sy_maint_hooks h = hooks_of(&hx, false);
	dl_commit *c;
	sy_maint_applied ar;
	lk_error err;
	cr_assert(sy_maint_apply(r, s.prev, NULL, &h, NULL, &c, &ar, &err), "%s", errs(&err));
	cr_assert_null(c);
	cr_assert_eq(ar.version, -1);
	cr_assert_eq(ar.bins, 0);
	cr_assert_eq(ar.bins_dropped, 1);
	cr_assert_eq(hx.h.added + hx.h.removed + hx.h.moved, 0);
	cr_assert_not(exists(&s.st, out_path));
	cr_assert_null(sy_maint_result_output(r, 0));
	sy_maint_result_free(r);
	char name[64];
	snprintf(name, sizeof(name), "_delta_log/%020" PRId64 ".json", before + 1);
	cr_assert_not(exists(&s.st, name));
	sim_check(&s);
	free(out_path);
	sim_close(&s);
}

Test(sync_maint, source_fully_deleted_meanwhile_counts_as_deleted_rows)
{
	sim s;
	sim_open(&s, "t", true);
	build_40(&s);
	sy_maint_options o = small_opts();
	sy_maint_result *r = plan_and_compact(&s, &o, 1, 40);
	/* every live row of the file of ids 25..49: capture removes the file */
	int64_t d[25];
	size_t n = 0;
	for (int64_t id = 25; id < 50; id++)
		if (id % 7 != 0)
			d[n++] = id;
	sim_delete(&s, d, n);
	dl_snapshot *sn = snap_latest(&s.st);
	cr_assert_eq(sn->nfiles, 39);
	dl_snapshot_free(sn);
	hctx hx = {&s, {0}};
	sy_maint_hooks h = hooks_of(&hx, true);
	dl_commit *c;
	sy_maint_applied ar;
	lk_error err;
	cr_assert(sy_maint_apply(r, s.prev, NULL, &h, NULL, &c, &ar, &err), "%s", errs(&err));
	cr_assert_eq(ar.files_removed, 39);
	cr_assert_eq(ar.rows_deleted_late, (int64_t) n);
	cr_assert_eq(ar.rows_moved, 857 - (int64_t) n);
	sim_chain(&s, c);
	sy_maint_result_free(r);
	sim_check(&s);
	sim_close(&s);
}

Test(sync_maint, every_row_deleted_meanwhile_adds_no_output)
{
	sim s;
	sim_open(&s, "t", true);
	sim_insert_range(&s, 0, 10);
	sim_insert_range(&s, 10, 10);
	sim_insert_range(&s, 100, 5);
	sy_maint_options o = small_opts();
	o.min_files = 3;
	sy_maint_result *r = plan_and_compact(&s, &o, 1, 3);
	char *out_path = strdup(sy_maint_result_output(r, 0));
	/* capture deletes every row of the sources but in one commit (files
	 * removed) except 100..104, whose rows are deleted one by one */
	int64_t d[20];
	for (int i = 0; i < 20; i++)
		d[i] = i;
	sim_delete(&s, d, 20);
	int64_t d2[] = {100, 101};
	sim_delete(&s, d2, 2);
	int64_t d3[] = {102, 103, 104};
	sim_delete(&s, d3, 3);
	sim_insert_range(&s, 200, 3);
	hctx hx = {&s, {0}};
	sy_maint_hooks h = hooks_of(&hx, false);
	dl_commit *c;
	sy_maint_applied ar;
	lk_error err;
	cr_assert(sy_maint_apply(r, s.prev, NULL, &h, NULL, &c, &ar, &err), "%s", errs(&err));
	/* all sources gone (a file whose rows are all deleted is removed) */
	cr_assert_null(c);
	cr_assert_eq(ar.bins_dropped, 1);
	cr_assert_not(exists(&s.st, out_path));
	sy_maint_result_free(r);
	sim_check(&s);
	free(out_path);
	sim_close(&s);
}

Test(sync_maint, schema_change_since_plan_drops_the_result)
{
	sim s;
	sim_open(&s, "t", true);
	for (int i = 0; i < 4; i++)
		sim_insert_range(&s, i * 10, 10);
	sy_maint_options o = small_opts();
	sy_maint_result *r = plan_and_compact(&s, &o, 1, 4);
	char *out_path = strdup(sy_maint_result_output(r, 0));
	/* a new metaData with one more column */
	dl_commit *c = sim_begin(&s);
	dl_action md;
	memset(&md, 0, sizeof(md));
	md.type = DL_ACT_METADATA;
	md.u.metadata = *dl_commit_metadata(c);
	md.u.metadata.schema_string =
		"{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":false,"
		"\"metadata\":{}},{\"name\":\"v\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},"
		"{\"name\":\"w\",\"type\":\"integer\",\"nullable\":true,\"metadata\":{}}]}";
	lk_error err;
	cr_assert(dl_commit_add_action(c, &md, &err), "%s", errs(&err));
	sim_finish(&s, c);
	dl_commit *oc;
	sy_maint_applied ar;
	cr_assert(sy_maint_apply(r, s.prev, NULL, NULL, NULL, &oc, &ar, &err), "%s", errs(&err));
	cr_assert_null(oc);
	cr_assert_eq(ar.bins_dropped, 1);
	cr_assert_not(exists(&s.st, out_path));
	sy_maint_result_free(r);
	free(out_path);
	sim_close(&s);
}

/* ---- history tables: the worker commits itself ------------------------------------------ */

Test(sync_maint, history_worker_commit_vs_chained_appends)
{
	sim s;
	sim_open(&s, "h", false);
	for (int i = 0; i < 10; i++)
		sim_insert_range(&s, i * 10, 10);
	sy_maint_options o = small_opts();
	lk_error err;

	/* order 1: capture has a commit open (read version 10) when the
	 * worker's OPTIMIZE lands as version 11; capture's commit rebases */
	sy_maint_result *r = plan_and_compact(&s, &o, 1, 10);
	dl_commit *cap = sim_begin(&s);
	int64_t ids1[] = {100, 101};
	free(sim_write(&s, cap, ids1, 2, NULL));
	dl_snapshot *sn = snap_latest(&s.st);
	cr_assert(sy_maint_refresh(r, &s.st, sn, &err), "%s", errs(&err));
	dl_commit *wc;
	sy_maint_applied ar;
	cr_assert(sy_maint_apply(r, NULL, sn, NULL, NULL, &wc, &ar, &err), "%s", errs(&err));
	cr_assert_eq(ar.version, 11);
	cr_assert_eq(ar.files_removed, 10);
	dl_commit_free(wc);
	dl_snapshot_free(sn);
	sy_maint_result_free(r);
	cr_assert_eq(sim_finish(&s, cap), 12);
	cr_assert_eq(dl_commit_attempts(s.prev), 2);
	int64_t ids2[] = {102};
	cr_assert_eq(sim_insert(&s, ids2, 1), 13);   /* the chain goes on */

	/* order 2: the worker planned at 13; capture commits 14 and 15 before
	 * the OPTIMIZE, which rebases over them */
	sim_insert_range(&s, 200, 5);
	o.min_files = 2;
	r = plan_and_compact(&s, &o, 1, 4);
	sn = snap_latest(&s.st);
	cr_assert(sy_maint_refresh(r, &s.st, sn, &err), "%s", errs(&err));
	sim_insert_range(&s, 300, 5);
	sim_insert_range(&s, 400, 5);
	cr_assert(sy_maint_apply(r, NULL, sn, NULL, NULL, &wc, &ar, &err), "%s", errs(&err));
	cr_assert_eq(ar.version, 17);
	cr_assert_eq(dl_commit_attempts(wc), 2);   /* 15 taken: read 15, 16; then 17 */
	dl_commit_free(wc);
	dl_snapshot_free(sn);
	sy_maint_result_free(r);
	sim_insert_range(&s, 500, 5);

	sn = snap_latest(&s.st);
	cr_assert_eq(sn->nfiles, 4);    /* 1 compacted + 300, 400, 500 */
	cr_assert_eq(dl_snapshot_txn_version(sn, "lakesync/p/s.t"), s.lsn);
	dl_snapshot_free(sn);
	sim_check(&s);
	sim_close(&s);
}

/* ---- vacuum ---------------------------------------------------------------------------- */

typedef struct vlist {
	char **p;
	int n;
} vlist;

static void
vac_cb(void *ctx, const char *path, uint64_t size)
{
	vlist *v = ctx;
	v->p = realloc(v->p, sizeof(char *) * (size_t) (v->n + 1));
	v->p[v->n++] = strdup(path);
}

Test(sync_maint, vacuum_removes_replaced_files_only_after_retention)
{
	sim s;
	sim_open(&s, "t", true);
	build_40(&s);
	sy_maint_options o = small_opts();
	sy_maint_result *r = plan_and_compact(&s, &o, 1, 40);
	int64_t late[200];
	late_activity(&s, late);
	dl_snapshot *before = snap_latest(&s.st);
	hctx hx = {&s, {0}};
	sy_maint_hooks h = hooks_of(&hx, false);
	dl_commit *c;
	sy_maint_applied ar;
	lk_error err;
	cr_assert(sy_maint_apply(r, s.prev, NULL, &h, NULL, &c, &ar, &err), "%s", errs(&err));
	sim_chain(&s, c);
	sy_maint_result_free(r);

	/* retention below 1 hour: refused without force */
	o.retention_ms = 30 * 60 * 1000;
	dl_vacuum_result vr;
	cr_assert_not(sy_maint_vacuum(&s.st, &o, 0, &vr, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	cr_assert(strstr(err.msg, "shorter than 1 hour"), "%s", err.msg);
	o.force_retention = true;
	cr_assert(sy_maint_options_check(&o, &err), "%s", errs(&err));
	o.force_retention = false;

	/* 1 hour, now: the replaced files are younger than that */
	o.retention_ms = 3600 * 1000;
	int64_t now = dl_now_ms();
	cr_assert(sy_maint_vacuum(&s.st, &o, now, &vr, &err), "%s", errs(&err));
	cr_assert_eq(vr.files_deleted, 0);
	for (size_t i = 0; i < before->nfiles; i++)
		cr_assert(exists(&s.st, before->files[i].path));

	/* 59 minutes later: still kept (tombstones within retention) */
	cr_assert(sy_maint_vacuum(&s.st, &o, now + 59 * 60 * 1000, &vr, &err), "%s", errs(&err));
	cr_assert_eq(vr.files_deleted, 0);

	/* 2 hours later: the 40 sources and the DV files only they (or older
	 * versions of the live files) used are deleted; live files stay */
	dl_vacuum_options dry;
	dl_vacuum_options_init(&dry);
	dry.retention_ms = 3600 * 1000;
	dry.force = true;
	dry.now_ms = now + 2 * 3600 * 1000;
	dry.dry_run = true;
	vlist vl = {0};
	dry.on_file = vac_cb;
	dry.ctx = &vl;
	cr_assert(dl_vacuum(&s.st, &dry, &vr, &err), "%s", errs(&err));
	/* sources: 40 data files; DV files: 2 before the plan (ids % 7), 1
	 * of the late deletes, 1 of the update; the live DVs stay: the
	 * output's (written by apply) and that of the file holding 1001 */
	int ndata = 0, ndv = 0, ncdc = 0;
	for (int i = 0; i < vl.n; i++) {
		if (strncmp(vl.p[i], "deletion_vector_", 16) == 0)
			ndv++;
		else if (strncmp(vl.p[i], "_change_data/", 13) == 0)
			ncdc++;
		else
			ndata++;
	}
	cr_assert_eq(ndata, 40, "%d data files", ndata);
	cr_assert_eq(ndv, 4, "%d DV files", ndv);
	/* and every change-data file (CDF of the deletes), all old by then */
	lk_arena la;
	lk_arena_init(&la, 0);
	st_entry *ents;
	size_t nents;
	cr_assert(st_list(&s.st, "_change_data", NULL, &la, &ents, &nents, &err), "%s", errs(&err));
	cr_assert_gt(nents, 0);
	cr_assert_eq(ncdc, (int) nents);
	lk_arena_free(&la);
	for (size_t i = 0; i < before->nfiles; i++) {
		bool source = strstr(before->files[i].add.stats, "\"numRecords\":25,") != NULL;
		bool listed = false;
		for (int q = 0; q < vl.n; q++)
			listed |= strcmp(vl.p[q], before->files[i].path) == 0;
		cr_assert_eq(listed, source, "%s", before->files[i].path);
	}
	cr_assert(sy_maint_vacuum(&s.st, &o, now + 2 * 3600 * 1000, &vr, &err), "%s", errs(&err));
	cr_assert_eq(vr.files_deleted, 44 + ncdc);
	for (int i = 0; i < vl.n; i++) {
		cr_assert_not(exists(&s.st, vl.p[i]), "%s", vl.p[i]);
		free(vl.p[i]);
	}
	free(vl.p);
	dl_snapshot_free(before);
	sim_check(&s);
	sim_close(&s);
}

/* ---- the worker thread ------------------------------------------------------------------ */

Test(sync_maint, worker_publishes_checkpoints_and_commits_history)
{
	sim m, h;
	sim_open(&m, "m", true);
	sim_open(&h, "h", false);
	for (int i = 0; i < 6; i++) {
		sim_insert_range(&m, i * 10, 10);
		sim_insert_range(&h, i * 10, 10);
	}
	sy_maint_options o = small_opts();
	o.compact_interval_ms = 20;
	o.checkpoint_interval = 5;
	o.vacuum = false;
	lk_error err;
	sy_maint *w = sy_maint_start(&o, &err);
	cr_assert_not_null(w, "%s", errs(&err));
	int key = 0;
	sy_maint_table tm = {m.dir, "s.m", true, &key, 1};
	sy_maint_table th = {h.dir, "s.h", false, NULL, 0};
	int idm = sy_maint_add_table(w, &tm, &err);
	int idh = sy_maint_add_table(w, &th, &err);
	cr_assert_eq(idm, 0);
	cr_assert_eq(idh, 1);
	sy_maint_note_commit(w, idm, dl_commit_version(m.prev));

	/* the mirror result arrives; capture keeps committing meanwhile */
	sy_maint_result *r = NULL;
	double t0 = now_ms();
	int64_t next = 1000;
	while (!r && now_ms() - t0 < 30000) {
		int64_t ids[] = {next++};
		sim_insert(&m, ids, 1);
		sy_maint_note_commit(w, idm, dl_commit_version(m.prev));
		r = sy_maint_poll(w, idm);
		usleep(5000);
	}
	cr_assert_not_null(r, "no compaction result");
	cr_assert_null(sy_maint_poll(w, idm));
	sy_maint_table_stats st;
	sy_maint_get_stats(w, idm, &st);
	cr_assert(st.busy);
	cr_assert_eq(st.compactions, 1);
	int64_t d[] = {0, 11, 22};
	sim_delete(&m, d, 3);
	hctx hx = {&m, {0}};
	sy_maint_hooks hk = hooks_of(&hx, true);
	dl_commit_options co;
	dl_commit_options_init(&co);
	co.auto_checkpoint = false;
	dl_commit *c;
	sy_maint_applied ar;
	cr_assert(sy_maint_apply(r, m.prev, NULL, &hk, &co, &c, &ar, &err), "%s", errs(&err));
	cr_assert_not_null(c);
	cr_assert_geq(ar.files_removed, 6);
	cr_assert_eq(ar.rows_deleted_late, 3);
	sim_chain(&m, c);
	sy_maint_done(w, r);
	sy_maint_get_stats(w, idm, &st);
	cr_assert_not(st.busy);
	sim_check(&m);

	/* checkpoints of noted versions (interval 5) */
	int64_t vapply = dl_commit_version(m.prev);
	for (int i = 0; i < 5; i++) {
		int64_t ids[] = {next++};
		sim_insert(&m, ids, 1);
		sy_maint_note_commit(w, idm, dl_commit_version(m.prev));
	}
	t0 = now_ms();
	do {
		usleep(10000);
		sy_maint_get_stats(w, idm, &st);
	} while (st.checkpoint_version < vapply && now_ms() - t0 < 30000);
	cr_assert_geq(st.checkpoint_version, vapply);
	cr_assert_leq(st.checkpoint_version, dl_commit_version(m.prev));
	char name[80];
	snprintf(name, sizeof(name), "_delta_log/%020" PRId64 ".checkpoint.parquet",
			 st.checkpoint_version);
	cr_assert(exists(&m.st, name), "%s", name);
	char *lc = read_text(&m.st, "_delta_log/_last_checkpoint");
	char want[64];
	snprintf(want, sizeof(want), "{\"version\":%" PRId64 ",", st.checkpoint_version);
	cr_assert(strncmp(lc, want, strlen(want)) == 0, "%s", lc);
	free(lc);

	/* the history table is compacted by the worker's own commit */
	t0 = now_ms();
	size_t nf;
	do {
		usleep(10000);
		dl_snapshot *sn = snap_latest(&h.st);
		nf = sn->nfiles;
		dl_snapshot_free(sn);
	} while (nf != 1 && now_ms() - t0 < 30000);
	cr_assert_eq(nf, 1);
	sy_maint_get_stats(w, idh, &st);
	cr_assert_eq(st.compactions, 1);
	cr_assert_eq(st.files_compacted, 6);
	cr_assert_eq(st.errors, 0, "%s", st.last_error);
	sim_check(&h);

	/* disabled tables are left alone; stop discards what is pending */
	sy_maint_disable_table(w, idm);
	sy_maint_stop(w);
	sim_check(&m);
	sim_close(&m);
	sim_close(&h);
}

/* A plan cut by the rows limit: the worker goes on as soon as the result
 * is handed back, without waiting for the interval or more commits. */
Test(sync_maint, worker_continues_a_cut_plan_at_once)
{
	sim m;
	sim_open(&m, "m", true);
	for (int i = 0; i < 6; i++)
		sim_insert_range(&m, i * 10, 10);
	sy_maint_options o = small_opts();
	o.compact_interval_ms = 3600 * 1000;
	o.compact_commits = 1;
	o.max_rows_per_run = 25;
	o.vacuum = false;
	o.checkpoints = false;
	lk_error err;
	sy_maint *w = sy_maint_start(&o, &err);
	cr_assert_not_null(w, "%s", errs(&err));
	int key = 0;
	sy_maint_table tm = {m.dir, "s.m", true, &key, 1};
	int id = sy_maint_add_table(w, &tm, &err);
	sy_maint_note_commit(w, id, dl_commit_version(m.prev));
	for (int round = 0; round < 3; round++) {
		sy_maint_result *r = NULL;
		double t0 = now_ms();
		while (!r && now_ms() - t0 < 20000) {
			usleep(5000);
			r = sy_maint_poll(w, id);
		}
		cr_assert_not_null(r, "round %d: no result", round);
		hctx hx = {&m, {0}};
		sy_maint_hooks hk = hooks_of(&hx, true);
		dl_commit *c;
		sy_maint_applied ar;
		cr_assert(sy_maint_apply(r, m.prev, NULL, &hk, NULL, &c, &ar, &err), "%s", errs(&err));
		cr_assert_eq(ar.files_removed, 2, "round %d", round);
		cr_assert_eq(ar.rows_moved, 20);
		sim_chain(&m, c);
		sy_maint_done(w, r);
	}
	/* every file has 20 rows now: not small under the limit, nothing more */
	usleep(200000);
	cr_assert_null(sy_maint_poll(w, id));
	sy_maint_table_stats st;
	sy_maint_get_stats(w, id, &st);
	cr_assert_eq(st.compactions, 3);
	cr_assert_eq(st.errors, 0, "%s", st.last_error);
	sy_maint_stop(w);
	dl_snapshot *sn = snap_latest(&m.st);
	cr_assert_eq(sn->nfiles, 3);
	dl_snapshot_free(sn);
	sim_check(&m);
	sim_close(&m);
}

/* A table that cannot be opened yet is retried once per interval, not in
 * a loop. */
Test(sync_maint, worker_retries_a_missing_table_per_interval)
{
	sy_maint_options o = small_opts();
	o.compact_interval_ms = 150;
	lk_error err;
	sy_maint *w = sy_maint_start(&o, &err);
	cr_assert_not_null(w, "%s", errs(&err));
	char dir[400];
	snprintf(dir, sizeof(dir), "%s/missing", tmpdir);
	sy_maint_table t = {dir, "s.missing", true, NULL, 0};
	int id = sy_maint_add_table(w, &t, &err);
	cr_assert_eq(id, 0);
	usleep(400000);
	sy_maint_table_stats st;
	sy_maint_get_stats(w, id, &st);
	cr_assert(st.errors >= 2 && st.errors <= 4, "%" PRId64 " errors", st.errors);
	cr_assert(strstr(st.last_error, "opening the table: "), "%s", st.last_error);
	sy_maint_stop(w);
}

Test(sync_maint, bad_options_refused)
{
	sy_maint_options o;
	sy_maint_options_init(&o);
	lk_error err;
	cr_assert(sy_maint_options_check(&o, &err), "%s", errs(&err));
	cr_assert_eq(o.target_size, 128LL << 20);
	cr_assert_eq(o.retention_ms, -1);
	o.retention_ms = 3599999;
	cr_assert_null(sy_maint_start(&o, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	o.retention_ms = 3600000;
	o.min_files = 1;
	cr_assert_not(sy_maint_options_check(&o, &err));
	o.min_files = 2;
	o.max_deleted_ratio = 0;
	cr_assert_not(sy_maint_options_check(&o, &err));
	o.max_deleted_ratio = 1;
	o.target_size = 0;
	cr_assert_not(sy_maint_options_check(&o, &err));
}

/* ---- measurement --------------------------------------------------------------------------- */

static bool
h_moved_timed(void *ctx, const void *key, size_t len, const char *src_path, uint64_t src_row,
			  const char *out_path, uint64_t out_row, lk_error *err)
{
	hctx *x = ctx;
	double t0 = now_ms();
	bool ok = h_moved(ctx, key, len, src_path, src_row, out_path, out_row, err);
	x->h.moved_ms += now_ms() - t0;
	return ok;
}

Test(sync_maint, bench, .timeout = 600)
{
	bool big = getenv("LAKESYNC_MAINT_BENCH") != NULL;
	int64_t per = big ? 5000 : 500, nfiles = 200;
	sim s;
	sim_open(&s, "t", true);
	double t0 = now_ms();
	for (int64_t i = 0; i < nfiles; i++)
		sim_insert_range(&s, i * per, per);
	/* 1% deleted before the plan, 0.1% after */
	int64_t n = nfiles * per;
	int64_t *d = malloc(sizeof(int64_t) * (size_t) n);
	size_t nd = 0;
	for (int64_t id = 0; id < n; id += 100)
		d[nd++] = id;
	sim_delete(&s, d, nd);
	double t1 = now_ms();
	sy_maint_options o;
	sy_maint_options_init(&o);
	/* LAKESYNC_MAINT_BENCH_CAP=<rows>: one result of at most that many
	 * rows (default: everything in one) */
	const char *cap = getenv("LAKESYNC_MAINT_BENCH_CAP");
	o.max_rows_per_run = cap ? atoll(cap) : 0;
	o.min_files = 2;
	dl_snapshot *sn = snap_latest(&s.st);
	sy_maint_plan *p;
	lk_error err;
	cr_assert(sy_maint_plan_make(sn, &o, true, &p, &err), "%s", errs(&err));
	int64_t nsrc = p->files;
	cr_assert(cap || nsrc == nfiles);
	int key = 0;
	sy_maint_result *r;
	cr_assert(sy_maint_compact(&s.st, sn, p, &key, 1, NULL, &r, &err), "%s", errs(&err));
	dl_snapshot_free(sn);
	sy_maint_summary sum;
	sy_maint_result_summary(r, &sum);
	cr_assert(cap || sum.rows == n - (int64_t) nd);
	nd = 0;
	for (int64_t id = 7; id < n; id += 1000)
		d[nd++] = id;
	sim_delete(&s, d, nd);
	free(d);
	sn = snap_latest(&s.st);
	double tr = now_ms();
	cr_assert(sy_maint_refresh(r, &s.st, sn, &err), "%s", errs(&err));
	tr = now_ms() - tr;
	dl_snapshot_free(sn);
	int64_t d2[] = {5, 10005};
	sim_delete(&s, d2, 2);
	hctx hx = {&s, {0}};
	sy_maint_hooks h = hooks_of(&hx, true);
	h.row_moved = h_moved_timed;
	dl_commit *c;
	sy_maint_applied ar;
	cr_assert(sy_maint_apply(r, s.prev, NULL, &h, NULL, &c, &ar, &err), "%s", errs(&err));
	cr_assert(cap || ar.rows_deleted_late == (int64_t) nd + 2);
	cr_assert_eq(ar.rows_moved + ar.rows_deleted_late, sum.rows);
	cr_assert_eq(ar.files_removed, nsrc);
	sim_chain(&s, c);
	fprintf(stderr,
			"maint bench: %" PRId64 " of %" PRId64 " files / %" PRId64 " of %" PRId64
			" rows (%" PRId64 " bytes → %" PRId64 "; table built in %.0f ms)\n"
			"  worker: compact %.0f ms, refresh %.1f ms (keys %.1f MiB)\n"
			"  capture: apply %.1f ms, of which index puts %.1f ms for %" PRId64
			" rows; %" PRId64 " late deletes, %" PRId64 " DVs read\n",
			nsrc, nfiles, sum.rows, n, sum.bytes_in, sum.bytes_out, t1 - t0, sum.worker_ms, tr,
			(double) sum.key_bytes / 1048576.0, ar.ms, hx.h.moved_ms, ar.rows_moved,
			ar.rows_deleted_late, ar.dvs_loaded);
	sy_maint_result_free(r);
	if (!big)
		sim_check(&s);
	sim_close(&s);
}
