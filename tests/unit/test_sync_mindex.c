/*
 * test_sync_mindex.c — lifecycle of the mirror-mode pk index
 * (src/sync/mindex.c) on real Delta tables written with the writer API:
 *
 *   - a fresh build maps every live key to its exact (add path, row),
 *     across row groups, skipping rows deleted by deletion vectors;
 *   - reopening at the saved version loads without reading the table;
 *   - after each kind of commit (insert, DV delete, DV update of the same
 *     file, delete of every row of a file, insert + delete in one commit,
 *     key moving to a new file, TRUNCATE, OPTIMIZE, restore of an older
 *     add with a smaller DV) a reopen replays the commits (stats) and the
 *     result equals both an independent oracle (every file read back with
 *     all columns) and a fresh rebuild, compared key by key;
 *   - the same with one multi-commit window;
 *   - an index the caller maintained and saved is taken as is;
 *   - missing / corrupt manifest, another table at the same place, saved
 *     version newer than the snapshot, changed key columns and commits
 *     missing from the log all rebuild (with the reason);
 *   - a partitioned table keyed by (partition column, id);
 *   - rebuild speed and peak memory (1 million rows; MINDEX_BENCH_ROWS=n
 *     for a bigger run).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
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
#include "common/types.h"
#include "delta/commit.h"
#include "delta/dv.h"
#include "delta/evolve.h"
#include "delta/log.h"
#include "delta/maintenance.h"
#include "delta/writer.h"
#include "storage/storage.h"
#include "sync/mindex.h"
#include "sync/pkindex.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define MAXID 4000

static char tmpdir[256];
static char tabdir[300];
static char idxdir[300];
static char idx2dir[300];
static st_store st;
static bool st_open;
static lk_arena tarena;
static bool partitioned;        /* table partitioned by region, key (region, id) */
static bool live[MAXID];        /* model: which ids are live */
static bool key_int;            /* the key column is an integer (else long) */
static const char *key_name;    /* its logical name (default "id") */

static int
rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void) sb, (void) flag, (void) ftw;
	return remove(p);
}

static const char *
errs(const lk_error *e)
{
	static char buf[1200];
	return lk_error_str(e, buf, sizeof(buf));
}

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/lk-mindex-XXXXXX",
			 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(tabdir, sizeof(tabdir), "%s/t", tmpdir);
	snprintf(idxdir, sizeof(idxdir), "%s/_lakesync/p/index/s.t", tmpdir);
	snprintf(idx2dir, sizeof(idx2dir), "%s/rebuilt", tmpdir);
	lk_arena_init(&tarena, 0);
	lk_error err;
	cr_assert(st_store_open(&st, tabdir, 0, &err), "%s", errs(&err));
	st_open = true;
	partitioned = false;
	key_int = false;
	key_name = "id";
	memset(live, 0, sizeof(live));
}

static void
teardown(void)
{
	if (st_open)
		st_store_close(&st);
	st_open = false;
	lk_arena_free(&tarena);
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(sync_mindex, .init = setup, .fini = teardown, .timeout = 600);

/* ---------- table helpers ---------- */

static lk_field
fld(const char *name, lk_type *t, bool nullable)
{
	lk_field f = {name, t, nullable, -1};
	return f;
}

/* id long not null, v string, region string */
static lk_type *
schema(void)
{
	lk_type *t = lk_type_struct(&tarena, 3);
	t->children[0] = fld("id", lk_type_new(&tarena, LK_T_LONG), false);
	t->children[1] = fld("v", lk_type_new(&tarena, LK_T_STRING), true);
	t->children[2] = fld("region", lk_type_new(&tarena, LK_T_STRING), true);
	return t;
}

static const char *
region_of(int64_t id)
{
	return id % 3 == 0 ? "eu" : id % 3 == 1 ? "us" : "asia";
}

static void
create_table(bool part)
{
	partitioned = part;
	dl_table_options o;
	dl_table_options_init(&o);
	o.deletion_vectors = true;
	o.change_data_feed = true;
	const char *pc[] = {"region"};
	if (part) {
		o.partition_columns = pc;
		o.npartition_columns = 1;
	}
	lk_error err;
	cr_assert(dl_table_create(&st, schema(), &o, &err), "%s", errs(&err));
}

static dl_snapshot *
snap_at(int64_t version)
{
	dl_snapshot_options o;
	dl_snapshot_options_init(&o);
	o.version = version;
	dl_snapshot *s;
	lk_error err;
	cr_assert(dl_snapshot_open(&st, &o, &s, &err), "%s", errs(&err));
	return s;
}

static lk_batch *
rows(const lk_type *sch, const int64_t *ids, int64_t n)
{
	lk_batch *b = lk_batch_new(sch);
	char buf[64];
	for (int64_t i = 0; i < n; i++) {
		/* column 0: the key (int or long); v, region: strings; others null */
		if (sch->children[0].type->id == LK_T_INT)
			lk_column_append_i32(&b->cols[0], (int32_t) ids[i]);
		else
			lk_column_append_i64(&b->cols[0], ids[i]);
		for (int c = 1; c < sch->nchildren; c++) {
			const char *name = sch->children[c].name;
			if (strcmp(name, "v") == 0) {
				snprintf(buf, sizeof(buf), "v%" PRId64, ids[i]);
				lk_column_append_bytes(&b->cols[c], buf, (int64_t) strlen(buf));
			} else if (strcmp(name, "region") == 0) {
				const char *r = region_of(ids[i]);
				lk_column_append_bytes(&b->cols[c], r, (int64_t) strlen(r));
			} else {
				lk_column_append_null(&b->cols[c]);
			}
		}
	}
	cr_assert(lk_batch_seal(b));
	return b;
}

static void
write_ids(dl_commit *c, const dl_snapshot *s, const int64_t *ids, int64_t n,
		  int64_t rg_rows)
{
	lk_batch *b = rows(s->schema.type, ids, n);
	dl_write_options o;
	dl_write_options_init(&o);
	o.row_group_rows = rg_rows;
	lk_error err;
	cr_assert(dl_write_batch(c, b, &o, &err), "%s", errs(&err));
	lk_batch_free(b);
	for (int64_t i = 0; i < n; i++) {
		cr_assert(ids[i] >= 0 && ids[i] < MAXID);
		live[ids[i]] = true;
	}
}

static int64_t
run_commit(dl_commit *c)
{
	lk_error err;
	cr_assert(dl_commit_run(c, NULL, &err), "%s", errs(&err));
	int64_t v = dl_commit_version(c);
	dl_commit_free(c);
	return v;
}

/* Insert ids [from, from+n) in one commit. */
static int64_t
insert(int64_t from, int64_t n, int64_t rg_rows)
{
	dl_snapshot *s = snap_at(-1);
	dl_commit *c = dl_commit_begin(&st, s, "WRITE");
	int64_t *ids = malloc(sizeof(int64_t) * (size_t) n);
	for (int64_t i = 0; i < n; i++)
		ids[i] = from + i;
	write_ids(c, s, ids, n, rg_rows);
	free(ids);
	int64_t v = run_commit(c);
	dl_snapshot_free(s);
	return v;
}

/* ---------- oracle: every live row read back with all columns ---------- */

typedef struct ent {
	int64_t id;
	char region[8];
	char *path;                 /* raw add path */
	uint64_t row;
} ent;

typedef struct oracle {
	ent *e;
	size_t n, cap;
	/* per file */
	const dl_file *f;
	const dl_bitmap *dv;
	int idcol;
	uint64_t row0;
} oracle;

static bool
oracle_cb(void *ctx, const lk_batch *b, lk_error *err)
{
	(void) err;
	oracle *o = ctx;
	const lk_column *idc = &b->cols[o->idcol];
	for (int64_t i = 0; i < b->nrows; i++) {
		uint64_t pos = o->row0 + (uint64_t) i;
		if (o->dv && dl_bitmap_contains(o->dv, pos))
			continue;
		if (o->n == o->cap) {
			o->cap = o->cap ? 2 * o->cap : 64;
			o->e = realloc(o->e, o->cap * sizeof(ent));
		}
		ent *e = &o->e[o->n++];
		memset(e, 0, sizeof(*e));
		e->id = idc->type->id == LK_T_INT ? ((const int32_t *) idc->values)[i]
										   : ((const int64_t *) idc->values)[i];
		const char *r = partitioned
			? dl_map_get(&o->f->add.partition_values, "region", NULL)
			: region_of(e->id);
		cr_assert_not_null(r);
		snprintf(e->region, sizeof(e->region), "%s", r);
		e->path = strdup(o->f->add.path);
		e->row = pos;
	}
	o->row0 += (uint64_t) b->nrows;
	return true;
}

static void
oracle_read(const dl_snapshot *s, oracle *o)
{
	memset(o, 0, sizeof(*o));
	lk_arena a;
	lk_arena_init(&a, 0);
	dl_layout l;
	lk_error err;
	cr_assert(dl_layout_make(&s->schema, s->column_mapping,
							 &s->metadata.partition_columns, &a, &l, &err),
			  "%s", errs(&err));
	o->idcol = -1;              /* the data column of logical column 0 */
	for (int k = 0; k < l.ndata; k++)
		if (l.data_index[k] == 0)
			o->idcol = k;
	cr_assert_geq(o->idcol, 0);
	for (size_t i = 0; i < s->nfiles; i++) {
		dl_bitmap dv;
		dl_bitmap_init(&dv);
		if (s->files[i].add.has_dv)
			cr_assert(dl_dv_load(&st, &s->files[i].add.dv, &dv, &err), "%s", errs(&err));
		o->f = &s->files[i];
		o->dv = &dv;
		o->row0 = 0;
		cr_assert(dl_data_file_read(&st, &l, s->files[i].path, NULL, NULL,
									oracle_cb, o, &err), "%s", errs(&err));
		dl_bitmap_free(&dv);
	}
	lk_arena_free(&a);
}

static void
oracle_free(oracle *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->e[i].path);
	free(o->e);
}

/* Index key of id (with its region when the table is partitioned). */
static void
key_of(int64_t id, const char *region, lk_buf *out)
{
	static lk_type lt_, st_;
	lt_.id = key_int ? LK_T_INT : LK_T_LONG;
	st_.id = LK_T_STRING;
	lk_type *lt = &lt_, *stt = &st_;
	lk_column c[2];
	int n = 0;
	if (partitioned) {
		lk_column_init(&c[n], stt);
		lk_column_append_bytes(&c[n], region, (int64_t) strlen(region));
		n++;
	}
	lk_column_init(&c[n], lt);
	if (key_int)
		lk_column_append_i32(&c[n], (int32_t) id);
	else
		lk_column_append_i64(&c[n], id);
	n++;
	lk_error err;
	cr_assert(sy_pkindex_key_from_row(c, n, 0, out, &err), "%s", errs(&err));
	for (int i = 0; i < n; i++)
		lk_column_destroy(&c[i]);
}

static bool
lookup(sy_mindex *m, int64_t id, sy_pkindex_loc *loc)
{
	lk_buf k = LK_BUF_INIT;
	key_of(id, region_of(id), &k);
	bool found;
	lk_error err;
	cr_assert(sy_pkindex_get(sy_mindex_pkindex(m), k.data, k.len, &found, loc, &err),
			  "%s", errs(&err));
	lk_buf_free(&k);
	return found;
}

/* The index of m equals the oracle of snapshot s and the model: every live
 * row's key at its exact (path, row), every other id absent. Returns the
 * number of live rows. */
static size_t
check_against_oracle(sy_mindex *m, const dl_snapshot *s)
{
	oracle o;
	oracle_read(s, &o);
	static bool seen[MAXID];
	memset(seen, 0, sizeof(seen));
	for (size_t i = 0; i < o.n; i++) {
		ent *e = &o.e[i];
		cr_assert(e->id >= 0 && e->id < MAXID);
		cr_assert_not(seen[e->id], "id %" PRId64 " live twice", e->id);
		seen[e->id] = true;
		cr_assert(live[e->id], "id %" PRId64 " live in the table, not in the model",
				  e->id);
		sy_pkindex_loc loc;
		cr_assert(lookup(m, e->id, &loc), "id %" PRId64 " missing", e->id);
		cr_assert_str_eq(loc.path, e->path, "id %" PRId64, e->id);
		cr_assert_eq(loc.row, e->row, "id %" PRId64 ": row %" PRIu64 " != %" PRIu64,
					 e->id, loc.row, e->row);
		cr_assert_str_eq(sy_pkindex_file_path(sy_mindex_pkindex(m), loc.file_id),
						 e->path);
	}
	for (int64_t id = 0; id < MAXID; id++) {
		cr_assert_eq(seen[id], live[id], "id %" PRId64 ": table %d, model %d", id,
					 seen[id], live[id]);
		if (!seen[id]) {
			sy_pkindex_loc loc;
			cr_assert_not(lookup(m, id, &loc), "deleted id %" PRId64 " still at %s:%"
						  PRIu64, id, loc.path, loc.row);
		}
	}
	size_t n = o.n;
	oracle_free(&o);
	return n;
}

/* Two indexes answer every id the same. */
static void
check_same(sy_mindex *a, sy_mindex *b)
{
	for (int64_t id = 0; id < MAXID; id++) {
		sy_pkindex_loc la, lb;
		bool fa = lookup(a, id, &la), fb = lookup(b, id, &lb);
		cr_assert_eq(fa, fb, "id %" PRId64, id);
		if (fa) {
			cr_assert_str_eq(la.path, lb.path, "id %" PRId64, id);
			cr_assert_eq(la.row, lb.row, "id %" PRId64, id);
		}
	}
}

static const char *const KEY_RID[] = {"region", "id"};

static sy_mindex *
open_idx(const char *dir, const dl_snapshot *s, sy_mindex_stats *stats)
{
	lk_error err;
	const char *key_id[] = {key_name};
	sy_mindex *m = sy_mindex_open(&st, s, dir, partitioned ? KEY_RID : key_id,
								  partitioned ? 2 : 1, 0, stats, &err);
	cr_assert_not_null(m, "%s", errs(&err));
	return m;
}

/* Reopen the saved index at the latest version: must replay `commits`
 * commits (not rebuild), equal the oracle and a fresh rebuild. */
static void
reopen_replay(int64_t commits)
{
	dl_snapshot *s = snap_at(-1);
	sy_mindex_stats stt;
	sy_mindex *m = open_idx(idxdir, s, &stt);
	cr_assert_not(stt.rebuilt, "rebuilt: %s", stt.reason ? stt.reason : "?");
	cr_assert_null(stt.reason);
	cr_assert_eq(stt.replayed_commits, commits, "replayed %" PRId64, stt.replayed_commits);
	cr_assert_eq(stt.saved_version, s->version - commits);
	cr_assert_eq(stt.version, s->version);
	cr_assert_eq(sy_mindex_version(m), s->version);
	size_t n = check_against_oracle(m, s);
	/* fresh rebuild elsewhere */
	nftw(idx2dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	sy_mindex_stats st2;
	sy_mindex *r = open_idx(idx2dir, s, &st2);
	cr_assert(st2.rebuilt);
	cr_assert_str_eq(st2.reason, "no saved index");
	cr_assert_eq((size_t) st2.rows_scanned, n);
	cr_assert_eq(st2.files_read, (int64_t) s->nfiles);
	check_same(m, r);
	sy_mindex_close(r);
	sy_mindex_close(m);
	dl_snapshot_free(s);
}

/* The live row (file, row) of id, per the oracle of s (path malloc'd). */
static bool
where_is(const dl_snapshot *s, int64_t id, char **path, uint64_t *row)
{
	oracle o;
	oracle_read(s, &o);
	bool found = false;
	for (size_t i = 0; i < o.n; i++)
		if (o.e[i].id == id) {
			*path = strdup(o.e[i].path);
			*row = o.e[i].row;
			found = true;
		}
	oracle_free(&o);
	return found;
}

static const dl_add *
file_of(const dl_snapshot *s, const char *path)
{
	for (size_t i = 0; i < s->nfiles; i++)
		if (strcmp(s->files[i].add.path, path) == 0)
			return &s->files[i].add;
	cr_assert_fail("no file %s", path);
	return NULL;
}

/* Delete ids (each live) in commit c of snapshot s (DV marks). */
static void
delete_ids_in(dl_commit *c, const dl_snapshot *s, const int64_t *ids, int n)
{
	for (int i = 0; i < n; i++) {
		char *p;
		uint64_t row;
		cr_assert(where_is(s, ids[i], &p, &row), "id %" PRId64 " not live", ids[i]);
		lk_error err;
		cr_assert(dl_delete_rows(c, file_of(s, p), &row, 1, &err), "%s", errs(&err));
		free(p);
		live[ids[i]] = false;
	}
}

static int64_t
delete_ids(const int64_t *ids, int n)
{
	dl_snapshot *s = snap_at(-1);
	dl_commit *c = dl_commit_begin(&st, s, "DELETE");
	delete_ids_in(c, s, ids, n);
	int64_t v = run_commit(c);
	dl_snapshot_free(s);
	return v;
}

static int64_t
truncate_all(void)
{
	dl_snapshot *s = snap_at(-1);
	dl_commit *c = dl_commit_begin(&st, s, "TRUNCATE");
	lk_error err;
	for (size_t i = 0; i < s->nfiles; i++)
		cr_assert(dl_remove_file(c, &s->files[i].add, true, &err), "%s", errs(&err));
	int64_t v = run_commit(c);
	dl_snapshot_free(s);
	memset(live, 0, sizeof(live));
	return v;
}

static int64_t
optimize(void)
{
	dl_optimize_options o;
	dl_optimize_options_init(&o);
	dl_optimize_result r;
	lk_error err;
	cr_assert(dl_optimize(&st, &o, &r, &err), "%s", errs(&err));
	cr_assert_geq(r.version, 0);
	cr_assert_geq(r.files_removed, 2);
	cr_assert_geq(r.files_added, 1);
	return r.version;
}

/* ---------- tests ---------- */

Test(sync_mindex, fresh_build_exact_positions)
{
	create_table(false);
	insert(0, 10, 3);       /* file A: ids 0..9 at rows 0..9, 4 row groups */
	insert(100, 15, 4);     /* file B: ids 100..114 at rows 0..14 */
	int64_t del[] = {2, 103, 9};
	int64_t v = delete_ids(del, 3);
	dl_snapshot *s = snap_at(-1);
	cr_assert_eq(s->version, v);
	cr_assert_eq(s->nfiles, 2);
	sy_mindex_stats stt;
	sy_mindex *m = open_idx(idxdir, s, &stt);
	cr_assert(stt.rebuilt);
	cr_assert_str_eq(stt.reason, "no saved index");
	cr_assert_eq(stt.saved_version, -1);
	cr_assert_eq(stt.version, v);
	cr_assert_eq(stt.rows_scanned, 22);
	cr_assert_eq(stt.files_read, 2);
	cr_assert_eq(stt.replayed_commits, 0);
	cr_assert_eq(sy_mindex_version(m), v);
	cr_assert_eq(sy_mindex_nkey(m), 1);
	cr_assert_eq(sy_mindex_key_column(m, 0), 0);
	cr_assert_eq(sy_mindex_key_column(m, 1), -1);
	/* which file holds ids 0..9: the one with 10 records */
	const char *pa = NULL, *pb = NULL;
	for (size_t i = 0; i < s->nfiles; i++) {
		if (strstr(s->files[i].add.stats, "\"numRecords\":10,"))
			pa = s->files[i].add.path;
		else
			pb = s->files[i].add.path;
	}
	cr_assert_not_null(pa);
	cr_assert_not_null(pb);
	for (int64_t id = 0; id < 10; id++) {
		sy_pkindex_loc loc;
		bool f = lookup(m, id, &loc);
		cr_assert_eq(f, id != 2 && id != 9, "id %" PRId64, id);
		if (f) {
			cr_assert_str_eq(loc.path, pa);
			cr_assert_eq(loc.row, (uint64_t) id);
		}
	}
	for (int64_t id = 100; id < 115; id++) {
		sy_pkindex_loc loc;
		bool f = lookup(m, id, &loc);
		cr_assert_eq(f, id != 103, "id %" PRId64, id);
		if (f) {
			cr_assert_str_eq(loc.path, pb);
			cr_assert_eq(loc.row, (uint64_t) (id - 100));
		}
	}
	sy_pkindex_loc loc;
	cr_assert_not(lookup(m, 10, &loc));
	cr_assert_eq(check_against_oracle(m, s), 22);
	/* key of a batch row = key_of(id) */
	lk_batch *b = rows(s->schema.type, (int64_t[]) {7, 42}, 2);
	lk_buf k1 = LK_BUF_INIT, k2 = LK_BUF_INIT;
	lk_error err;
	cr_assert(sy_mindex_key_from_batch(m, b, 1, &k1, &err), "%s", errs(&err));
	key_of(42, "eu", &k2);
	cr_assert_eq(k1.len, k2.len);
	cr_assert_eq(memcmp(k1.data, k2.data, k1.len), 0);
	lk_buf_free(&k2);
	lk_batch_free(b);
	/* a batch whose key column is an int: refused, not silently other bytes */
	lk_type *ti = lk_type_struct(&tarena, 3);
	ti->children[0] = fld("id", lk_type_new(&tarena, LK_T_INT), false);
	ti->children[1] = fld("v", lk_type_new(&tarena, LK_T_STRING), true);
	ti->children[2] = fld("region", lk_type_new(&tarena, LK_T_STRING), true);
	b = rows(ti, (int64_t[]) {7}, 1);
	cr_assert_not(sy_mindex_key_from_batch(m, b, 0, &k1, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	cr_assert(strstr(err.msg, "\"id\" is integer in the batch but long"), "%s", err.msg);
	lk_batch_free(b);
	lk_buf_free(&k1);
	sy_mindex_close(m);

	/* reopen at the same version: loaded, nothing read */
	m = open_idx(idxdir, s, &stt);
	cr_assert_not(stt.rebuilt);
	cr_assert_null(stt.reason);
	cr_assert_eq(stt.saved_version, v);
	cr_assert_eq(stt.replayed_commits, 0);
	cr_assert_eq(stt.files_read, 0);
	cr_assert_eq(stt.rows_scanned, 0);
	cr_assert_eq(check_against_oracle(m, s), 22);
	sy_mindex_close(m);
	dl_snapshot_free(s);
}

Test(sync_mindex, replay_each_kind_of_commit)
{
	create_table(false);
	insert(0, 20, 6);
	dl_snapshot *s = snap_at(-1);
	sy_mindex_stats stt;
	sy_mindex *m = open_idx(idxdir, s, &stt);
	cr_assert(stt.rebuilt);
	sy_mindex_close(m);
	dl_snapshot_free(s);

	/* plain insert, several row groups */
	insert(20, 30, 7);
	reopen_replay(1);
	/* first DV on an old file */
	delete_ids((int64_t[]) {3, 4, 19}, 3);
	reopen_replay(1);
	/* DV update of the same file (remove + add of the path, new DV) */
	delete_ids((int64_t[]) {5, 0}, 2);
	reopen_replay(1);
	/* delete in the newer file, two commits in one window */
	delete_ids((int64_t[]) {21}, 1);
	delete_ids((int64_t[]) {22, 49}, 2);
	reopen_replay(2);
	/* insert + delete in one commit (new file and DV in the same commit) */
	{
		dl_snapshot *sn = snap_at(-1);
		dl_commit *c = dl_commit_begin(&st, sn, "MERGE");
		delete_ids_in(c, sn, (int64_t[]) {30, 31}, 2);
		write_ids(c, sn, (int64_t[]) {60, 61, 62}, 3, 0);
		run_commit(c);
		dl_snapshot_free(sn);
	}
	reopen_replay(1);
	/* UPDATE: id 40 and 41 move to a new file in one commit */
	{
		dl_snapshot *sn = snap_at(-1);
		dl_commit *c = dl_commit_begin(&st, sn, "MERGE");
		delete_ids_in(c, sn, (int64_t[]) {40, 41}, 2);
		write_ids(c, sn, (int64_t[]) {41, 40}, 2, 0);
		run_commit(c);
		dl_snapshot_free(sn);
	}
	reopen_replay(1);
	{
		dl_snapshot *sn = snap_at(-1);
		char *p;
		uint64_t row;
		cr_assert(where_is(sn, 40, &p, &row));
		cr_assert_eq(row, 1);
		free(p);
		dl_snapshot_free(sn);
	}
	/* every row of a file deleted: the file is removed */
	delete_ids((int64_t[]) {60, 61, 62}, 3);
	reopen_replay(1);
	/* OPTIMIZE: files with DVs rewritten, dataChange=false */
	insert(70, 5, 0);
	optimize();
	reopen_replay(2);
	/* TRUNCATE, then inserts of ids seen before */
	truncate_all();
	reopen_replay(1);
	insert(0, 12, 5);
	insert(100, 3, 0);
	delete_ids((int64_t[]) {11}, 1);
	reopen_replay(3);
}

Test(sync_mindex, replay_one_long_window)
{
	create_table(false);
	insert(0, 20, 6);
	dl_snapshot *s = snap_at(-1);
	sy_mindex_stats stt;
	sy_mindex *m = open_idx(idxdir, s, &stt);
	cr_assert(stt.rebuilt);
	sy_mindex_close(m);
	int64_t v0 = s->version;
	dl_snapshot_free(s);

	insert(20, 30, 7);
	delete_ids((int64_t[]) {3, 4, 19}, 3);
	delete_ids((int64_t[]) {5, 0, 25}, 3);
	{
		dl_snapshot *sn = snap_at(-1);
		dl_commit *c = dl_commit_begin(&st, sn, "MERGE");
		delete_ids_in(c, sn, (int64_t[]) {6, 26}, 2);
		write_ids(c, sn, (int64_t[]) {6, 26, 300}, 3, 0);
		run_commit(c);
		dl_snapshot_free(sn);
	}
	optimize();
	delete_ids((int64_t[]) {300, 7}, 2);
	insert(400, 9, 2);
	truncate_all();
	insert(500, 40, 9);
	insert(1, 3, 0);
	delete_ids((int64_t[]) {510, 2}, 2);
	optimize();
	delete_ids((int64_t[]) {520}, 1);
	s = snap_at(-1);
	int64_t v = s->version;
	dl_snapshot_free(s);
	reopen_replay(v - v0);
}

Test(sync_mindex, caller_maintained_index_is_taken_as_is)
{
	create_table(false);
	int64_t v0 = insert(0, 10, 0);
	dl_snapshot *s = snap_at(-1);
	sy_mindex_stats stt;
	sy_mindex *m = open_idx(idxdir, s, &stt);
	dl_snapshot_free(s);
	/* the caller commits an insert of 10..14 and an update of id 3 (moved)
	 * and keeps the index in step itself */
	s = snap_at(-1);
	dl_commit *c = dl_commit_begin(&st, s, "WRITE");
	delete_ids_in(c, s, (int64_t[]) {3}, 1);
	write_ids(c, s, (int64_t[]) {10, 11, 12, 3, 13, 14}, 6, 0);
	int64_t v = run_commit(c);
	dl_snapshot_free(s);
	s = snap_at(v);
	char *p;
	uint64_t row;
	cr_assert(where_is(s, 12, &p, &row));
	sy_pkindex *idx = sy_mindex_pkindex(m);
	lk_error err;
	uint32_t fid;
	cr_assert(sy_pkindex_file_id(idx, p, &fid, &err), "%s", errs(&err));
	int64_t ins[] = {10, 11, 12, 3, 13, 14};
	for (uint64_t i = 0; i < 6; i++) {
		lk_buf k = LK_BUF_INIT;
		key_of(ins[i], NULL, &k);
		cr_assert(sy_pkindex_put(idx, k.data, k.len, fid, i, &err), "%s", errs(&err));
		lk_buf_free(&k);
	}
	free(p);
	cr_assert_eq(check_against_oracle(m, s), 15);
	/* going back is refused */
	cr_assert_eq(sy_mindex_version(m), v0);
	cr_assert_not(sy_mindex_save(m, v0 - 1, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	cr_assert_not(sy_mindex_set_version(m, v0 - 1, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	cr_assert(sy_mindex_set_version(m, v, &err), "%s", errs(&err));
	cr_assert_eq(sy_mindex_version(m), v);

	/* another writer commits twice: catch up the live index (no save) */
	delete_ids((int64_t[]) {12, 0}, 2);
	insert(20, 4, 0);
	dl_snapshot *s2 = snap_at(-1);
	cr_assert(sy_mindex_catch_up(m, &st, s2, &stt, &err), "%s", errs(&err));
	cr_assert_not(stt.rebuilt);
	cr_assert_eq(stt.saved_version, v);
	cr_assert_eq(stt.replayed_commits, 2);
	cr_assert_eq(stt.files_read, 3);    /* two DV changes, one new file */
	cr_assert_eq(sy_mindex_version(m), v + 2);
	cr_assert_eq(check_against_oracle(m, s2), 17);
	/* up to date: nothing to do */
	cr_assert(sy_mindex_catch_up(m, &st, s2, &stt, &err), "%s", errs(&err));
	cr_assert_eq(stt.replayed_commits, 0);
	cr_assert_eq(stt.files_read, 0);
	sy_mindex_close(m);

	/* nothing saved since the open at v0: the reopen replays from v0, the
	 * caller's unsaved changes are gone and redone from the log */
	m = open_idx(idxdir, s2, &stt);
	cr_assert_not(stt.rebuilt);
	cr_assert_eq(stt.saved_version, v0);
	cr_assert_eq(stt.replayed_commits, s2->version - v0);
	cr_assert_eq(check_against_oracle(m, s2), 17);
	sy_mindex_close(m);

	/* a caller-maintained index saved at v is taken as is */
	memset(live, 0, sizeof(live));
	for (int id = 0; id < 15; id++)
		live[id] = true;
	nftw(idxdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	m = open_idx(idxdir, s, &stt);
	cr_assert(stt.rebuilt);
	/* the caller moves id 5 to row 99 of a made-up file: a state only the
	 * caller knows, so a reopen that kept it proves nothing was re-read */
	idx = sy_mindex_pkindex(m);
	cr_assert(sy_pkindex_file_id(idx, "made-up.parquet", &fid, &err));
	lk_buf k5 = LK_BUF_INIT;
	key_of(5, NULL, &k5);
	cr_assert(sy_pkindex_put(idx, k5.data, k5.len, fid, 99, &err));
	cr_assert(sy_mindex_save(m, v, &err), "%s", errs(&err));
	sy_mindex_close(m);
	m = open_idx(idxdir, s, &stt);
	cr_assert_not(stt.rebuilt);
	cr_assert_eq(stt.saved_version, v);
	cr_assert_eq(stt.files_read, 0);
	sy_pkindex_loc loc;
	cr_assert(lookup(m, 5, &loc));
	cr_assert_str_eq(loc.path, "made-up.parquet");
	cr_assert_eq(loc.row, 99);
	/* an explicit rebuild repairs it */
	cr_assert(sy_mindex_rebuild(m, &st, s, &stt, &err), "%s", errs(&err));
	cr_assert(stt.rebuilt);
	cr_assert_str_eq(stt.reason, "rebuild requested");
	cr_assert_eq(stt.rows_scanned, 15);
	cr_assert_eq(check_against_oracle(m, s), 15);
	lk_buf_free(&k5);
	sy_mindex_close(m);
	dl_snapshot_free(s2);
	dl_snapshot_free(s);
}

static void
expect_rebuild(const dl_snapshot *s, const char *reason, size_t nrows)
{
	sy_mindex_stats stt;
	sy_mindex *m = open_idx(idxdir, s, &stt);
	cr_assert(stt.rebuilt);
	cr_assert_str_eq(stt.reason, reason);
	cr_assert_eq(stt.replayed_commits, 0);
	cr_assert_eq(stt.rows_scanned, (int64_t) nrows);
	cr_assert_eq(check_against_oracle(m, s), nrows);
	sy_mindex_close(m);
}

static void
save_index_at_latest(void)
{
	dl_snapshot *s = snap_at(-1);
	sy_mindex_stats stt;
	sy_mindex *m = open_idx(idxdir, s, &stt);
	sy_mindex_close(m);
	dl_snapshot_free(s);
}

Test(sync_mindex, missing_or_corrupt_manifest_rebuilds)
{
	create_table(false);
	insert(0, 30, 4);
	delete_ids((int64_t[]) {1}, 1);
	save_index_at_latest();
	dl_snapshot *s = snap_at(-1);
	char mf[400];
	snprintf(mf, sizeof(mf), "%s/pkindex.manifest", idxdir);
	/* flip one byte in the middle */
	FILE *f = fopen(mf, "r+b");
	cr_assert_not_null(f);
	cr_assert_eq(fseek(f, 20, SEEK_SET), 0);
	int ch = fgetc(f);
	cr_assert_eq(fseek(f, 20, SEEK_SET), 0);
	fputc(ch ^ 0x55, f);
	fclose(f);
	expect_rebuild(s, "saved index is corrupt", 29);
	/* truncated */
	cr_assert_eq(truncate(mf, 10), 0);
	expect_rebuild(s, "saved index is corrupt", 29);
	/* missing */
	cr_assert_eq(unlink(mf), 0);
	expect_rebuild(s, "no saved index", 29);
	dl_snapshot_free(s);
}

Test(sync_mindex, recreated_table_rebuilds)
{
	create_table(false);
	insert(0, 30, 0);
	insert(30, 5, 0);
	save_index_at_latest();
	/* drop and recreate at the same place with other rows, same version */
	st_store_close(&st);
	st_open = false;
	nftw(tabdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	lk_error err;
	cr_assert(st_store_open(&st, tabdir, 0, &err), "%s", errs(&err));
	st_open = true;
	memset(live, 0, sizeof(live));
	create_table(false);
	insert(100, 7, 0);
	insert(200, 3, 0);
	dl_snapshot *s = snap_at(-1);
	cr_assert_eq(s->version, 2);
	expect_rebuild(s, "saved index is of another table (table id differs)", 10);
	dl_snapshot_free(s);
}

Test(sync_mindex, saved_newer_than_snapshot_rebuilds)
{
	create_table(false);
	insert(0, 10, 0);
	int64_t v1 = insert(10, 10, 0);
	delete_ids((int64_t[]) {2}, 1);
	insert(20, 5, 0);
	save_index_at_latest();
	/* time travel to v1: the saved index (at v1 + 2) is newer */
	dl_snapshot *s = snap_at(v1);
	memset(live, 0, sizeof(live));
	for (int64_t id = 0; id < 20; id++)
		live[id] = true;
	expect_rebuild(s, "saved index is newer than the table version", 20);
	dl_snapshot_free(s);
}

Test(sync_mindex, changed_key_columns_rebuild)
{
	create_table(false);
	insert(0, 10, 0);
	save_index_at_latest();
	dl_snapshot *s = snap_at(-1);
	lk_error err;
	sy_mindex_stats stt;
	/* key (v, id): other key bytes */
	const char *const kv[] = {"v", "id"};
	sy_mindex *m = sy_mindex_open(&st, s, idxdir, kv, 2, 0, &stt, &err);
	cr_assert_not_null(m, "%s", errs(&err));
	cr_assert(stt.rebuilt);
	cr_assert_str_eq(stt.reason, "key columns changed (name, type or partitioning)");
	cr_assert_eq(stt.rows_scanned, 10);
	cr_assert_eq(sy_mindex_key_column(m, 0), 1);
	cr_assert_eq(sy_mindex_key_column(m, 1), 0);
	sy_mindex_close(m);
	/* back to (id): rebuilt again */
	expect_rebuild(s, "key columns changed (name, type or partitioning)", 10);
	/* a key column the table does not have */
	const char *const bad[] = {"nope"};
	cr_assert_null(sy_mindex_open(&st, s, idxdir, bad, 1, 0, &stt, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	cr_assert(strstr(err.msg, "\"nope\""), "%s", err.msg);
	cr_assert_null(sy_mindex_open(&st, s, idxdir, bad, 0, 0, &stt, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	dl_snapshot_free(s);
}

Test(sync_mindex, commits_missing_from_log_rebuild)
{
	create_table(false);
	insert(0, 10, 0);
	save_index_at_latest();     /* at version 1 */
	insert(10, 10, 0);
	delete_ids((int64_t[]) {12}, 1);
	int64_t v = insert(20, 10, 0);
	dl_checkpoint_result cr;
	lk_error err;
	cr_assert(dl_checkpoint_write(&st, v, &cr, &err), "%s", errs(&err));
	/* log cleanup took commit 2 away; the checkpoint still opens v */
	cr_assert(st_remove(&st, "_delta_log/00000000000000000002.json", &err), "%s",
			  errs(&err));
	dl_snapshot *s = snap_at(-1);
	cr_assert_eq(s->version, v);
	expect_rebuild(s, "commits since the saved version are no longer in the log", 29);
	dl_snapshot_free(s);
}

Test(sync_mindex, restore_of_older_add_resurrects_rows)
{
	create_table(false);
	insert(0, 10, 3);
	delete_ids((int64_t[]) {1}, 1);
	dl_snapshot *old = snap_at(-1);   /* file with DV {1} */
	cr_assert_eq(old->nfiles, 1);
	delete_ids((int64_t[]) {2, 8}, 2);
	save_index_at_latest();
	/* RESTORE-like commit: remove the file with DV {1,2,8}, re-add it with
	 * the older DV {1}: rows 2 and 8 come back */
	dl_snapshot *s = snap_at(-1);
	dl_commit *c = dl_commit_begin(&st, s, "RESTORE");
	dl_action rm;
	memset(&rm, 0, sizeof(rm));
	rm.type = DL_ACT_REMOVE;
	rm.u.remove.path = s->files[0].add.path;
	rm.u.remove.data_change = true;
	rm.u.remove.has_dv = s->files[0].add.has_dv;
	rm.u.remove.dv = s->files[0].add.dv;
	dl_action ad;
	memset(&ad, 0, sizeof(ad));
	ad.type = DL_ACT_ADD;
	ad.u.add = old->files[0].add;
	lk_error err;
	cr_assert(dl_commit_add_action(c, &rm, &err), "%s", errs(&err));
	cr_assert(dl_commit_add_action(c, &ad, &err), "%s", errs(&err));
	run_commit(c);
	dl_snapshot_free(s);
	dl_snapshot_free(old);
	live[2] = live[8] = true;
	reopen_replay(1);
	/* and a remove + re-add of the same file over two commits (TRUNCATE,
	 * then a restore of the same add): nothing changes */
	s = snap_at(-1);
	truncate_all();
	dl_snapshot *s2 = snap_at(-1);
	c = dl_commit_begin(&st, s2, "RESTORE");
	ad.u.add = s->files[0].add;
	cr_assert(dl_commit_add_action(c, &ad, &err), "%s", errs(&err));
	run_commit(c);
	dl_snapshot_free(s2);
	dl_snapshot_free(s);
	for (int id = 0; id < 10; id++)
		live[id] = id != 1;
	reopen_replay(2);
	/* the same file re-added under another spelling of its path ("-" as
	 * %2D): the index takes the new spelling (the one the snapshot has) */
	s = snap_at(-1);
	c = dl_commit_begin(&st, s, "RESTORE");
	rm.u.remove.path = s->files[0].add.path;
	rm.u.remove.has_dv = s->files[0].add.has_dv;
	rm.u.remove.dv = s->files[0].add.dv;
	ad.u.add = s->files[0].add;
	const char *dash = strchr(s->files[0].add.path, '-');
	cr_assert_not_null(dash);
	char *respelled = malloc(strlen(s->files[0].add.path) + 3);
	sprintf(respelled, "%.*s%%2D%s", (int) (dash - s->files[0].add.path),
			s->files[0].add.path, dash + 1);
	ad.u.add.path = respelled;
	cr_assert(dl_commit_add_action(c, &rm, &err), "%s", errs(&err));
	cr_assert(dl_commit_add_action(c, &ad, &err), "%s", errs(&err));
	run_commit(c);
	dl_snapshot_free(s);
	s = snap_at(-1);
	cr_assert_eq(s->nfiles, 1);
	cr_assert_str_eq(s->files[0].add.path, respelled);
	dl_snapshot_free(s);
	free(respelled);
	reopen_replay(1);
}

Test(sync_mindex, partitioned_composite_key)
{
	create_table(true);
	insert(0, 30, 4);           /* 3 files, one per region */
	int64_t del[] = {3, 4, 5};
	delete_ids(del, 3);
	dl_snapshot *s = snap_at(-1);
	cr_assert_eq(s->nfiles, 3);
	sy_mindex_stats stt;
	sy_mindex *m = open_idx(idxdir, s, &stt);
	cr_assert(stt.rebuilt);
	cr_assert_eq(stt.rows_scanned, 27);
	cr_assert_eq(check_against_oracle(m, s), 27);
	/* the region is part of the key: (us, 0) does not exist, (eu, 0) does */
	lk_buf k = LK_BUF_INIT;
	bool found;
	sy_pkindex_loc loc;
	lk_error err;
	key_of(0, "us", &k);
	cr_assert(sy_pkindex_get(sy_mindex_pkindex(m), k.data, k.len, &found, &loc, &err));
	cr_assert_not(found);
	key_of(0, "eu", &k);
	cr_assert(sy_pkindex_get(sy_mindex_pkindex(m), k.data, k.len, &found, &loc, &err));
	cr_assert(found);
	cr_assert(strstr(loc.path, "region=eu/"), "%s", loc.path);
	lk_buf_free(&k);
	sy_mindex_close(m);
	dl_snapshot_free(s);
	insert(30, 10, 0);
	delete_ids((int64_t[]) {6, 31}, 2);
	reopen_replay(2);
	optimize();
	reopen_replay(1);
}

static void
evolve(const dl_schema_change *ch, int n)
{
	dl_snapshot *s = snap_at(-1);
	lk_arena a;
	lk_arena_init(&a, 0);
	dl_evolution ev;
	lk_error err;
	cr_assert(dl_evolve_schema(&s->protocol, &s->metadata, ch, n, &a, &ev, &err),
			  "%s", errs(&err));
	dl_commit *c = dl_commit_begin(&st, s, "ALTER TABLE");
	cr_assert(dl_evolve_add_actions(c, &ev, &err), "%s", errs(&err));
	run_commit(c);
	lk_arena_free(&a);
	dl_snapshot_free(s);
}

Test(sync_mindex, schema_evolution)
{
	/* id int not null, v string, region string */
	lk_type *t = lk_type_struct(&tarena, 3);
	t->children[0] = fld("id", lk_type_new(&tarena, LK_T_INT), false);
	t->children[1] = fld("v", lk_type_new(&tarena, LK_T_STRING), true);
	t->children[2] = fld("region", lk_type_new(&tarena, LK_T_STRING), true);
	dl_table_options o;
	dl_table_options_init(&o);
	o.deletion_vectors = true;
	o.change_data_feed = true;
	lk_error err;
	cr_assert(dl_table_create(&st, t, &o, &err), "%s", errs(&err));
	key_int = true;
	insert(0, 10, 3);
	save_index_at_latest();
	/* ADD COLUMN, then rows with it: replayed */
	dl_schema_change add = {DL_SC_ADD, NULL, "extra", lk_type_new(&tarena, LK_T_LONG), -1};
	evolve(&add, 1);
	insert(10, 5, 0);
	delete_ids((int64_t[]) {1}, 1);
	reopen_replay(3);
	/* RENAME of the key column (turns column mapping on): the key bytes do
	 * not change, replayed under the new name */
	dl_schema_change ren = {DL_SC_RENAME, "id", "ident", NULL, -1};
	evolve(&ren, 1);
	key_name = "ident";
	insert(20, 4, 0);
	reopen_replay(2);
	/* DROP of another column: replayed */
	dl_schema_change drop = {DL_SC_DROP, "v", NULL, NULL, -1};
	evolve(&drop, 1);
	delete_ids((int64_t[]) {21}, 1);
	reopen_replay(2);
	/* WIDEN of the key column int → long: other key bytes.  A live index
	 * caught up over it is rebuilt; so is a saved one at reopen. */
	dl_snapshot *s = snap_at(-1);
	sy_mindex_stats stt;
	nftw(idx2dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	sy_mindex *m = open_idx(idx2dir, s, &stt);
	cr_assert(stt.rebuilt);
	dl_snapshot_free(s);
	dl_schema_change widen = {DL_SC_WIDEN, "ident", NULL, lk_type_new(&tarena, LK_T_LONG), -1};
	evolve(&widen, 1);
	key_int = false;
	insert(30, 3, 0);
	s = snap_at(-1);
	cr_assert(sy_mindex_catch_up(m, &st, s, &stt, &err), "%s", errs(&err));
	cr_assert(stt.rebuilt);
	cr_assert_str_eq(stt.reason, "key columns changed (name, type or partitioning)");
	cr_assert_eq(check_against_oracle(m, s), 9 + 5 + 4 - 1 + 3);
	/* keys of batches are now longs */
	lk_batch *b = rows(s->schema.type, (int64_t[]) {33}, 1);
	lk_buf k1 = LK_BUF_INIT, k2 = LK_BUF_INIT;
	cr_assert(sy_mindex_key_from_batch(m, b, 0, &k1, &err), "%s", errs(&err));
	key_of(33, NULL, &k2);
	cr_assert(k1.len == k2.len && memcmp(k1.data, k2.data, k1.len) == 0);
	lk_buf_free(&k1);
	lk_buf_free(&k2);
	lk_batch_free(b);
	sy_mindex_close(m);
	expect_rebuild(s, "key columns changed (name, type or partitioning)", 9 + 5 + 4 - 1 + 3);
	dl_snapshot_free(s);
	/* and replays again after that */
	delete_ids((int64_t[]) {30, 3}, 2);
	reopen_replay(1);
}

Test(sync_mindex, failed_replay_leaves_index_broken_until_rebuilt)
{
	create_table(false);
	insert(0, 10, 0);
	dl_snapshot *s = snap_at(-1);
	sy_mindex_stats stt;
	sy_mindex *m = open_idx(idxdir, s, &stt);
	int64_t v0 = s->version;
	dl_snapshot_free(s);
	insert(10, 10, 0);
	s = snap_at(-1);
	/* the new data file is unreadable (moved away) */
	const dl_file *nf = NULL;
	char *p;
	uint64_t row;
	cr_assert(where_is(s, 10, &p, &row));
	for (size_t i = 0; i < s->nfiles; i++)
		if (strcmp(s->files[i].add.path, p) == 0)
			nf = &s->files[i];
	free(p);
	cr_assert_not_null(nf);
	char a[600], b[600];
	snprintf(a, sizeof(a), "%s/%s", tabdir, nf->path);
	snprintf(b, sizeof(b), "%s/moved", tmpdir);
	cr_assert_eq(rename(a, b), 0);
	lk_error err;
	cr_assert_not(sy_mindex_catch_up(m, &st, s, &stt, &err));
	cr_assert(strstr(err.where, nf->path), "%s", errs(&err));
	/* no save, no set_version of a half-applied index */
	cr_assert_not(sy_mindex_save(m, s->version, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	cr_assert_not(sy_mindex_set_version(m, s->version, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	/* a reopen fails the same way (the file is needed) */
	sy_mindex_close(m);
	cr_assert_null(sy_mindex_open(&st, s, idxdir, (const char *const[]) {"id"}, 1, 0,
								  &stt, &err));
	cr_assert_eq(stt.saved_version, v0);
	/* file back: the reopen replays; a live broken index rebuilds */
	cr_assert_eq(rename(b, a), 0);
	m = open_idx(idxdir, s, &stt);
	cr_assert_not(stt.rebuilt);
	cr_assert_eq(stt.replayed_commits, 1);
	cr_assert_eq(check_against_oracle(m, s), 20);
	sy_mindex_close(m);
	dl_snapshot *s0 = snap_at(v0);
	m = open_idx(idx2dir, s0, &stt);
	cr_assert_eq(rename(a, b), 0);
	cr_assert_not(sy_mindex_catch_up(m, &st, s, &stt, &err));
	cr_assert_eq(rename(b, a), 0);
	cr_assert(sy_mindex_catch_up(m, &st, s, &stt, &err), "%s", errs(&err));
	cr_assert(stt.rebuilt);
	cr_assert_str_eq(stt.reason, "index broken by an earlier failure");
	cr_assert_eq(check_against_oracle(m, s), 20);
	cr_assert(sy_mindex_save(m, s->version, &err), "%s", errs(&err));
	sy_mindex_close(m);
	dl_snapshot_free(s0);
	dl_snapshot_free(s);
}

/* ---------- speed ---------- */

static long
vm_hwm_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	char line[256];
	long v = -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

static void
reset_hwm(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY);
	if (fd >= 0) {
		(void) !write(fd, "5", 1);
		close(fd);
	}
}

static double
secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

Test(sync_mindex, rebuild_speed)
{
	const char *env = getenv("MINDEX_BENCH_ROWS");
	int64_t total = env ? strtoll(env, NULL, 10) : UNDER_ASAN ? 200000 : 1000000;
	const int64_t per_file = 1000000;
	create_table(false);
	/* write in files of up to 1M rows: id long, v string ("v<id>") */
	dl_snapshot *s = snap_at(-1);
	dl_commit *c = dl_commit_begin(&st, s, "WRITE");
	lk_batch *b = lk_batch_new(s->schema.type);
	dl_write_options o;
	dl_write_options_init(&o);
	lk_error err;
	char buf[32];
	for (int64_t from = 0; from < total; from += per_file) {
		lk_batch_reset(b);
		int64_t n = total - from < per_file ? total - from : per_file;
		for (int64_t id = from; id < from + n; id++) {
			lk_column_append_i64(&b->cols[0], id * 7919);
			int l = snprintf(buf, sizeof(buf), "v%" PRId64, id);
			lk_column_append_bytes(&b->cols[1], buf, l);
			lk_column_append_bytes(&b->cols[2], "eu", 2);
		}
		cr_assert(lk_batch_seal(b));
		cr_assert(dl_write_batch(c, b, &o, &err), "%s", errs(&err));
	}
	lk_batch_free(b);
	run_commit(c);
	dl_snapshot_free(s);
	s = snap_at(-1);
	reset_hwm();
	long hwm0 = vm_hwm_kb();
	double t0 = secs();
	sy_mindex_stats stt;
	sy_mindex *m = open_idx(idxdir, s, &stt);
	double t1 = secs();
	long hwm1 = vm_hwm_kb();
	cr_assert(stt.rebuilt);
	cr_assert_eq(stt.rows_scanned, total);
	sy_pkindex_stats ps;
	sy_pkindex_get_stats(sy_mindex_pkindex(m), &ps);
	fprintf(stderr, "mindex rebuild: %" PRId64 " rows in %zu files, %.2f s (incl. save), "
			"%.0f rows/s; peak RSS %ld kB -> %ld kB (+%ld kB); index mem %zu kB, "
			"%d runs\n", total, s->nfiles, t1 - t0, (double) total / (t1 - t0),
			hwm0, hwm1, hwm1 - hwm0, ps.mem_bytes >> 10, ps.nruns);
	/* spot checks */
	for (int64_t id = 0; id < total; id += total / 97 + 1) {
		lk_buf k = LK_BUF_INIT;
		key_of(id * 7919, NULL, &k);
		bool found;
		sy_pkindex_loc loc;
		cr_assert(sy_pkindex_get(sy_mindex_pkindex(m), k.data, k.len, &found, &loc, &err));
		cr_assert(found, "id %" PRId64, id);
		cr_assert_eq(loc.row, (uint64_t) (id % per_file));
		key_of(id * 7919 + 1, NULL, &k);
		cr_assert(sy_pkindex_get(sy_mindex_pkindex(m), k.data, k.len, &found, &loc, &err));
		cr_assert_not(found);
		lk_buf_free(&k);
	}
	sy_mindex_close(m);
	/* reopen: loaded, not rebuilt */
	t0 = secs();
	m = open_idx(idxdir, s, &stt);
	t1 = secs();
	cr_assert_not(stt.rebuilt);
	fprintf(stderr, "mindex reopen at the saved version: %.3f s\n", t1 - t0);
	sy_mindex_close(m);
	dl_snapshot_free(s);
}
