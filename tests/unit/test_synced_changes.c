/*
 * test_synced_changes.c — sync/delta_changes: the row changes of Delta
 * versions, from cdc files or from the add/remove/DV diff, against tables
 * written with lakesync's own Delta writer.
 *
 * Also the gated "driver" used by tests/integration/synced_follow.sh and
 * synced_kill.sh (skipped unless LAKESYNC_DRIVER_TABLE is set): it writes
 * a Delta table step by step (inserts, updates, deletes with deletion
 * vectors or copy-on-write, Change Data Feed, an added column, OPTIMIZE)
 * and keeps an independent model of the rows, printed as the PostgreSQL
 * text the synced table must show:
 *
 *   LAKESYNC_DRIVER_TABLE   table directory
 *   LAKESYNC_DRIVER_MODEL   model file (created by op create)
 *   LAKESYNC_DRIVER_OP      create | step | addcol | optimize | dup
 *   LAKESYNC_DRIVER_OPTS    create: comma list of dv, cdf
 *   LAKESYNC_DRIVER_STEPS   step: number of commits (default 1)
 *   LAKESYNC_DRIVER_EXPECT  file the expected rows are written to
 *                           (one line per row, ordered by id)
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/buf.h"
#include "common/error.h"
#include "delta/commit.h"
#include "delta/dv.h"
#include "delta/log.h"
#include "delta/maintenance.h"
#include "delta/writer.h"
#include "pg/load.h"
#include "storage/storage.h"
#include "sync/delta_changes.h"

static const char *
errs(const lk_error *e)
{
	static char b[1200];
	return lk_error_str(e, b, sizeof(b));
}

/* ---- the table --------------------------------------------------------------- */

#define TS0 INT64_C(1700000000000000)

static lk_field
fld(const char *name, lk_type *t, bool nullable)
{
	lk_field f = {name, t, nullable, -1};
	return f;
}

/* id long, part int (partition), name string, score double, ts timestamp,
 * tags array<string>, attrs struct<a:int,b:string> [, extra string] */
static lk_type *
tbl_schema(lk_arena *a, bool extra)
{
	lk_type *st = lk_type_struct(a, 2);
	st->children[0] = fld("a", lk_type_new(a, LK_T_INT), true);
	st->children[1] = fld("b", lk_type_new(a, LK_T_STRING), true);
	lk_type *t = lk_type_struct(a, extra ? 8 : 7);
	t->children[0] = fld("id", lk_type_new(a, LK_T_LONG), false);
	t->children[1] = fld("part", lk_type_new(a, LK_T_INT), true);
	t->children[2] = fld("name", lk_type_new(a, LK_T_STRING), true);
	t->children[3] = fld("score", lk_type_new(a, LK_T_DOUBLE), true);
	t->children[4] = fld("ts", lk_type_new(a, LK_T_TIMESTAMP), true);
	t->children[5] = fld("tags", lk_type_array(a, lk_type_new(a, LK_T_STRING), true), true);
	t->children[6] = fld("attrs", st, true);
	if (extra)
		t->children[7] = fld("extra", lk_type_new(a, LK_T_STRING), true);
	return t;
}

static void
put_str(lk_column *c, const char *s)
{
	lk_column_append_bytes(c, s, (int64_t) strlen(s));
}

static double
score_of(int64_t id, int tag)
{
	return (double) ((id * 7 + tag) % 1000) * 0.25 - 10;
}

/* Row (id, tag) appended to b (extra_col: b has the extra column;
 * extra_value: write its value, else null). */
static void
row_append(lk_batch *b, int64_t id, int tag, bool extra_col, bool extra_value)
{
	char buf[64];
	lk_column_append_i64(&b->cols[0], id);
	lk_column_append_i32(&b->cols[1], (int32_t) (id % 3));
	if ((id + tag) % 9 == 4) {
		lk_column_append_null(&b->cols[2]);
	} else {
		snprintf(buf, sizeof(buf), "n%" PRId64 "_%d", id, tag);
		put_str(&b->cols[2], buf);
	}
	lk_column_append_f64(&b->cols[3], score_of(id, tag));
	lk_column_append_i64(&b->cols[4], TS0 + id * 1000003 + tag * 7);
	lk_column *tg = &b->cols[5];
	if (id % 11 == 0) {
		lk_column_append_null(tg);
	} else {
		if (id % 13 != 0) {
			snprintf(buf, sizeof(buf), "t%" PRId64, id % 5);
			put_str(&tg->children[0], buf);
			snprintf(buf, sizeof(buf), "v%d", tag);
			put_str(&tg->children[0], buf);
			if (id % 17 == 0)
				put_str(&tg->children[0], "a b");
		}
		lk_column_append_list(tg);
	}
	lk_column *at = &b->cols[6];
	if (id % 7 == 0) {
		lk_column_append_null(at);
	} else {
		lk_column_append_i32(&at->children[0], (int32_t) (id % 100));
		if (tag % 5 == 3) {
			lk_column_append_null(&at->children[1]);
		} else {
			snprintf(buf, sizeof(buf), "b%d", tag);
			put_str(&at->children[1], buf);
		}
		lk_column_append_struct(at);
	}
	if (extra_col) {
		if (extra_value && id % 2 == 1) {
			snprintf(buf, sizeof(buf), "x%" PRId64 "_%d", id, tag);
			put_str(&b->cols[7], buf);
		} else {
			lk_column_append_null(&b->cols[7]);
		}
	}
}

/* The row as PostgreSQL prints the synced table's columns joined by '|'
 * (see tests/integration/synced_follow.sh for the query), "<null>" for
 * null, ts as epoch microseconds. */
static void
row_text(lk_buf *o, int64_t id, int tag, bool with_extra, bool extra_value)
{
	char d[32];
	lk_buf_printf(o, "%" PRId64 "|%d|", id, (int) (id % 3));
	if ((id + tag) % 9 == 4)
		lk_buf_append_str(o, "<null>");
	else
		lk_buf_printf(o, "n%" PRId64 "_%d", id, tag);
	pgl_format_double(score_of(id, tag), d);
	lk_buf_printf(o, "|%s|%" PRId64 "|", d, TS0 + id * 1000003 + tag * 7);
	if (id % 11 == 0)
		lk_buf_append_str(o, "<null>");
	else if (id % 13 == 0)
		lk_buf_append_str(o, "{}");
	else
		lk_buf_printf(o, "{t%d,v%d%s}", (int) (id % 5), tag, id % 17 == 0 ? ",\"a b\"" : "");
	lk_buf_append_byte(o, '|');
	if (id % 7 == 0)
		lk_buf_append_str(o, "<null>");
	else if (tag % 5 == 3)
		lk_buf_printf(o, "{\"a\": %d, \"b\": null}", (int) (id % 100));
	else
		lk_buf_printf(o, "{\"a\": %d, \"b\": \"b%d\"}", (int) (id % 100), tag);
	if (with_extra) {
		if (extra_value && id % 2 == 1)
			lk_buf_printf(o, "|x%" PRId64 "_%d", id, tag);
		else
			lk_buf_append_str(o, "|<null>");
	}
	lk_buf_append_byte(o, '\n');
}

static void
create_table(st_store *st, bool dv, bool cdf)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	dl_table_options o;
	dl_table_options_init(&o);
	static const char *const pc[] = {"part"};
	o.partition_columns = pc;
	o.npartition_columns = 1;
	o.deletion_vectors = dv;
	o.change_data_feed = cdf;
	lk_error err;
	cr_assert(dl_table_create(st, tbl_schema(&a, false), &o, &err), "%s", errs(&err));
	lk_arena_free(&a);
}

static dl_snapshot *
latest(st_store *st)
{
	dl_snapshot *s;
	lk_error err;
	cr_assert(dl_snapshot_open(st, NULL, &s, &err), "%s", errs(&err));
	return s;
}

/* Where each live id is: file index and row position. */
typedef struct locs {
	int64_t n, cap;
	int64_t *id;
	int *file;
	int64_t *pos;
} locs;

typedef struct scan_ctx {
	locs *l;
	int file;
	int64_t row;
	int idcol;
	const dl_bitmap *dv;
} scan_ctx;

static bool
locate_cb(void *arg, const lk_batch *b, lk_error *err)
{
	scan_ctx *x = arg;
	for (int64_t i = 0; i < b->nrows; i++, x->row++) {
		if (x->dv && dl_bitmap_contains(x->dv, (uint64_t) x->row))
			continue;
		locs *l = x->l;
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 256;
			l->id = realloc(l->id, sizeof(int64_t) * (size_t) l->cap);
			l->file = realloc(l->file, sizeof(int) * (size_t) l->cap);
			l->pos = realloc(l->pos, sizeof(int64_t) * (size_t) l->cap);
		}
		l->id[l->n] = LK_COL_VALUES(&b->cols[x->idcol], int64_t)[i];
		l->file[l->n] = x->file;
		l->pos[l->n] = x->row;
		l->n++;
	}
	return true;
}

static void
locate(st_store *st, const dl_snapshot *s, locs *out)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	dl_layout l;
	lk_error err;
	cr_assert(dl_layout_make(&s->schema, s->column_mapping, &s->metadata.partition_columns, &a, &l,
							 &err), "%s", errs(&err));
	int idcol = lk_type_field_index(l.data, "id");
	cr_assert_geq(idcol, 0);
	memset(out, 0, sizeof(*out));
	for (size_t f = 0; f < s->nfiles; f++) {
		dl_bitmap dv;
		dl_bitmap_init(&dv);
		if (s->files[f].add.has_dv)
			cr_assert(dl_dv_load(st, &s->files[f].add.dv, &dv, &err), "%s", errs(&err));
		scan_ctx x = {out, (int) f, 0, idcol, &dv};
		cr_assert(dl_data_file_read(st, &l, s->files[f].path, NULL, NULL, locate_cb, &x, &err),
				  "%s", errs(&err));
		dl_bitmap_free(&dv);
	}
	lk_arena_free(&a);
}

static void
locs_free(locs *l)
{
	free(l->id);
	free(l->file);
	free(l->pos);
}

/* One commit: delete the rows of del_ids, write rows (ins_ids[i], tags[i]).
 * Returns the new version. */
static int64_t
commit_changes(st_store *st, const int64_t *del_ids, int ndel, const int64_t *ins_ids,
			   const int *tags, int nins, bool extra_values)
{
	dl_snapshot *s = latest(st);
	lk_error err;
	dl_commit *c = dl_commit_begin(st, s, ndel ? "MERGE" : "WRITE");
	if (ndel) {
		locs l;
		locate(st, s, &l);
		for (size_t f = 0; f < s->nfiles; f++) {
			uint64_t rows[256];
			size_t n = 0;
			for (int k = 0; k < ndel; k++)
				for (int64_t i = 0; i < l.n; i++)
					if (l.id[i] == del_ids[k] && l.file[i] == (int) f && n < 256)
						rows[n++] = (uint64_t) l.pos[i];
			if (n)
				cr_assert(dl_delete_rows(c, &s->files[f].add, rows, n, &err), "%s", errs(&err));
		}
		locs_free(&l);
	}
	if (nins) {
		lk_batch *b = lk_batch_new(s->schema.type);
		for (int i = 0; i < nins; i++)
			row_append(b, ins_ids[i], tags[i], s->schema.type->nchildren > 7, extra_values);
		cr_assert(lk_batch_seal(b));
		cr_assert(dl_write_batch(c, b, NULL, &err), "%s", errs(&err));
		lk_batch_free(b);
	}
	cr_assert(dl_commit_run(c, NULL, &err), "%s", errs(&err));
	int64_t v = dl_commit_version(c);
	dl_commit_free(c);
	dl_snapshot_free(s);
	return v;
}

/* metaData with the extra column, plus rows written with it. */
static int64_t
commit_add_column(st_store *st, const int64_t *ins_ids, const int *tags, int nins)
{
	dl_snapshot *s = latest(st);
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_error err;
	lk_type *nt = tbl_schema(&a, true);
	lk_buf js = LK_BUF_INIT;
	cr_assert(dl_schema_write(nt, NULL, &js, &err), "%s", errs(&err));
	dl_commit *c = dl_commit_begin(st, s, "ADD COLUMNS");
	dl_action act;
	memset(&act, 0, sizeof(act));
	act.type = DL_ACT_METADATA;
	act.u.metadata = s->metadata;
	act.u.metadata.schema_string = lk_buf_cstr(&js);
	cr_assert(dl_commit_add_action(c, &act, &err), "%s", errs(&err));
	if (nins) {
		lk_batch *b = lk_batch_new(nt);
		for (int i = 0; i < nins; i++)
			row_append(b, ins_ids[i], tags[i], true, true);
		cr_assert(lk_batch_seal(b));
		cr_assert(dl_write_batch(c, b, NULL, &err), "%s", errs(&err));
		lk_batch_free(b);
	}
	cr_assert(dl_commit_run(c, NULL, &err), "%s", errs(&err));
	int64_t v = dl_commit_version(c);
	dl_commit_free(c);
	lk_buf_free(&js);
	lk_arena_free(&a);
	dl_snapshot_free(s);
	return v;
}

/* ---- collecting changes ------------------------------------------------------------ */

/* "type:id:name" per change row, sorted. */
typedef struct got {
	char **v;
	size_t n, cap;
	int ncols;
} got;

static bool
collect_cb(void *arg, const lk_batch *b, lk_error *err)
{
	got *g = arg;
	g->ncols = b->ncols;
	const lk_column *ct = &b->cols[b->ncols - 1];
	for (int64_t i = 0; i < b->nrows; i++) {
		int64_t tl, nl = 0;
		const uint8_t *t = lk_column_bytes(ct, i, &tl);
		const uint8_t *nm = NULL;
		if (!lk_column_is_null(&b->cols[2], i))
			nm = lk_column_bytes(&b->cols[2], i, &nl);
		char buf[256];
		snprintf(buf, sizeof(buf), "%.*s:%" PRId64 ":%d:%.*s", (int) tl, (const char *) t,
				 LK_COL_VALUES(&b->cols[0], int64_t)[i], LK_COL_VALUES(&b->cols[1], int32_t)[i],
				 nm ? (int) nl : 6, nm ? (const char *) nm : "<null>");
		if (g->n == g->cap) {
			g->cap = g->cap ? g->cap * 2 : 64;
			g->v = realloc(g->v, sizeof(char *) * g->cap);
		}
		g->v[g->n++] = strdup(buf);
	}
	return true;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The changes of the next version as one sorted, space-separated string. */
static char *
next_changes(sy_changes *c, const sy_version **vout)
{
	lk_error err;
	const sy_version *v;
	cr_assert(sy_changes_next(c, &v, &err), "%s", errs(&err));
	*vout = v;
	if (!v)
		return NULL;
	got g = {0};
	cr_assert(sy_changes_read(c, collect_cb, &g, &err), "%s", errs(&err));
	if (g.n)
		qsort(g.v, g.n, sizeof(char *), cmp_str);
	lk_buf b = LK_BUF_INIT;
	for (size_t i = 0; i < g.n; i++) {
		if (i)
			lk_buf_append_byte(&b, ' ');
		lk_buf_append_str(&b, g.v[i]);
		free(g.v[i]);
	}
	free(g.v);
	char *s = strdup(lk_buf_cstr(&b));
	lk_buf_free(&b);
	return s;
}

static char tmpl[64];

static void
open_tmp(st_store *st)
{
	snprintf(tmpl, sizeof(tmpl), "/tmp/lakesync-changes-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpl));
	lk_error err;
	cr_assert(st_store_open(st, tmpl, 0, &err), "%s", errs(&err));
}

static void
close_tmp(st_store *st)
{
	st_store_close(st);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpl);
	cr_assert_eq(system(cmd), 0);
}

static void
expect_changes(sy_changes *c, int64_t version, bool cdf, const char *want)
{
	const sy_version *v;
	char *s = next_changes(c, &v);
	cr_assert_not_null(v, "version %" PRId64 " missing", version);
	cr_assert_eq(v->version, version);
	cr_assert_eq(v->cdf, cdf, "version %" PRId64 ": cdf %d", version, v->cdf);
	cr_assert_str_eq(s, want, "version %" PRId64 ": %s", version, s);
	free(s);
}

/* ---- unit tests ----------------------------------------------------------------------- */

static const int64_t ids10[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static const int tags0[10] = {0};

Test(changes, diff_with_deletion_vectors)
{
	st_store st;
	open_tmp(&st);
	create_table(&st, true, false);
	cr_assert_eq(commit_changes(&st, NULL, 0, ids10, tags0, 10, false), 1);
	const int64_t del[] = {3, 4};
	cr_assert_eq(commit_changes(&st, del, 2, NULL, NULL, 0, false), 2);
	const int64_t up[] = {5};
	const int tag1[] = {1};
	cr_assert_eq(commit_changes(&st, up, 1, up, tag1, 1, false), 3);
	/* a DV-only rewrite of a file: rows 6 deleted later in the same file */
	const int64_t del6[] = {6};
	cr_assert_eq(commit_changes(&st, del6, 1, NULL, NULL, 0, false), 4);

	sy_changes *c;
	lk_error err;
	cr_assert(sy_changes_open(&st, 0, &c, &err), "%s", errs(&err));
	cr_assert_eq(sy_changes_version(c), 0);
	expect_changes(c, 1, false,
				   "insert:10:1:n10_0 insert:1:1:n1_0 insert:2:2:n2_0 insert:3:0:n3_0 "
				   "insert:4:1:<null> insert:5:2:n5_0 insert:6:0:n6_0 insert:7:1:n7_0 "
				   "insert:8:2:n8_0 insert:9:0:n9_0");
	/* deletion vectors: exactly the rows newly in the DV */
	expect_changes(c, 2, false, "delete:3:0:n3_0 delete:4:1:<null>");
	expect_changes(c, 3, false, "delete:5:2:n5_0 insert:5:2:n5_1");
	expect_changes(c, 4, false, "delete:6:0:n6_0");
	const sy_version *v;
	cr_assert_null(next_changes(c, &v));
	cr_assert_null(v, "no version 5 yet");
	cr_assert_eq(sy_changes_version(c), 4);
	/* a new commit is picked up by the same reader */
	const int64_t id11[] = {11};
	cr_assert_eq(commit_changes(&st, NULL, 0, id11, tags0, 1, false), 5);
	expect_changes(c, 5, false, "insert:11:2:n11_0");
	sy_changes_free(c);

	/* starting in the middle: the state of version 2 */
	cr_assert(sy_changes_open(&st, 2, &c, &err), "%s", errs(&err));
	expect_changes(c, 3, false, "delete:5:2:n5_0 insert:5:2:n5_1");
	sy_changes_free(c);
	close_tmp(&st);
}

Test(changes, diff_copy_on_write)
{
	st_store st;
	open_tmp(&st);
	create_table(&st, false, false);
	commit_changes(&st, NULL, 0, ids10, tags0, 10, false);
	const int64_t del[] = {4};
	cr_assert_eq(commit_changes(&st, del, 1, NULL, NULL, 0, false), 2);
	sy_changes *c;
	lk_error err;
	cr_assert(sy_changes_open(&st, 1, &c, &err), "%s", errs(&err));
	/* the file of partition 1 (ids 1 4 7 10) is rewritten without 4: its
	 * old rows are deleted and the surviving ones inserted again */
	expect_changes(c, 2, false,
				   "delete:10:1:n10_0 delete:1:1:n1_0 delete:4:1:<null> delete:7:1:n7_0 "
				   "insert:10:1:n10_0 insert:1:1:n1_0 insert:7:1:n7_0");
	sy_changes_free(c);
	close_tmp(&st);
}

Test(changes, change_data_feed_files)
{
	st_store st;
	open_tmp(&st);
	create_table(&st, true, true);
	commit_changes(&st, NULL, 0, ids10, tags0, 10, false);
	const int64_t up[] = {2, 9};
	const int tag2[] = {2, 2};
	cr_assert_eq(commit_changes(&st, up, 2, up, tag2, 2, false), 2);
	sy_changes *c;
	lk_error err;
	cr_assert(sy_changes_open(&st, 1, &c, &err), "%s", errs(&err));
	/* cdc files: the deleted rows and (written by the writer because the
	 * commit has cdc files) the inserted ones */
	expect_changes(c, 2, true,
				   "delete:2:2:n2_0 delete:9:0:n9_0 insert:2:2:<null> insert:9:0:n9_2");
	sy_changes_free(c);

	/* explicit update images through dl_cdc_write */
	dl_snapshot *s = latest(&st);
	dl_commit *cm = dl_commit_begin(&st, s, "UPDATE");
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *ct = lk_type_struct(&a, s->schema.type->nchildren + 1);
	for (int i = 0; i < s->schema.type->nchildren; i++)
		ct->children[i] = s->schema.type->children[i];
	ct->children[s->schema.type->nchildren] = fld("_change_type", lk_type_new(&a, LK_T_STRING), true);
	lk_batch *cb = lk_batch_new(ct);
	row_append(cb, 7, 0, false, false);
	put_str(&cb->cols[ct->nchildren - 1], "update_preimage");
	row_append(cb, 7, 3, false, false);
	put_str(&cb->cols[ct->nchildren - 1], "update_postimage");
	cr_assert(lk_batch_seal(cb));
	cr_assert(dl_cdc_write(cm, cb, &err), "%s", errs(&err));
	cr_assert(dl_commit_run(cm, NULL, &err), "%s", errs(&err));
	cr_assert_eq(dl_commit_version(cm), 3);
	lk_batch_free(cb);
	dl_commit_free(cm);
	dl_snapshot_free(s);
	lk_arena_free(&a);
	cr_assert(sy_changes_open(&st, 2, &c, &err), "%s", errs(&err));
	expect_changes(c, 3, true, "update_postimage:7:1:n7_3 update_preimage:7:1:n7_0");
	sy_changes_free(c);
	close_tmp(&st);
}

Test(changes, optimize_changes_nothing_and_schema_grows)
{
	st_store st;
	open_tmp(&st);
	create_table(&st, true, false);
	commit_changes(&st, NULL, 0, ids10, tags0, 5, false);
	commit_changes(&st, NULL, 0, ids10 + 5, tags0, 5, false);
	const int64_t del[] = {1};
	commit_changes(&st, del, 1, NULL, NULL, 0, false);     /* v3: a DV to purge */
	dl_optimize_options oo;
	dl_optimize_options_init(&oo);
	dl_optimize_result orr;
	lk_error err;
	cr_assert(dl_optimize(&st, &oo, &orr, &err), "%s", errs(&err));
	cr_assert_eq(orr.version, 4);
	const int64_t id20[] = {20};
	const int t4[] = {4};
	cr_assert_eq(commit_add_column(&st, id20, t4, 1), 5);
	sy_changes *c;
	cr_assert(sy_changes_open(&st, 3, &c, &err), "%s", errs(&err));
	const sy_version *v;
	char *s = next_changes(c, &v);
	cr_assert_eq(v->version, 4);
	cr_assert_not(v->data_change, "OPTIMIZE (dataChange false) changes no row");
	cr_assert_str_eq(s, "");
	free(s);
	cr_assert_eq(sy_changes_schema(c)->type->nchildren, 7);
	s = next_changes(c, &v);
	cr_assert_eq(v->version, 5);
	cr_assert(v->metadata_changed);
	cr_assert_eq(v->schema->type->nchildren, 8);
	cr_assert_str_eq(v->schema->type->children[7].name, "extra");
	cr_assert_str_eq(s, "insert:20:2:n20_4");
	free(s);
	sy_changes_free(c);
	close_tmp(&st);
}

Test(changes, missing_start_version_is_an_error)
{
	st_store st;
	open_tmp(&st);
	create_table(&st, false, false);
	sy_changes *c;
	lk_error err;
	cr_assert_not(sy_changes_open(&st, 7, &c, &err));
	cr_assert_neq(err.code, LK_OK);
	close_tmp(&st);
}

/* ---- the driver (integration scripts) ------------------------------------------------------ */

typedef struct model {
	int64_t version;
	bool extra;                 /* the schema has the extra column */
	int64_t max_id;
	int *tag;                   /* per id: -1 absent */
	bool *xv;                   /* per id: written with the extra value */
	int64_t cap;
} model;

static void
model_grow(model *m, int64_t id)
{
	if (id < m->cap)
		return;
	int64_t nc = (id + 1) * 2;
	m->tag = realloc(m->tag, sizeof(int) * (size_t) nc);
	m->xv = realloc(m->xv, sizeof(bool) * (size_t) nc);
	for (int64_t i = m->cap; i < nc; i++) {
		m->tag[i] = -1;
		m->xv[i] = false;
	}
	m->cap = nc;
}

static void
model_load(model *m, const char *path)
{
	memset(m, 0, sizeof(*m));
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "model %s", path);
	int ex;
	cr_assert_eq(fscanf(f, "v %" SCNd64 " extra %d max %" SCNd64 "\n", &m->version, &ex, &m->max_id),
				 3);
	m->extra = ex;
	model_grow(m, m->max_id + 1);
	int64_t id;
	int tag, xv;
	while (fscanf(f, "%" SCNd64 " %d %d\n", &id, &tag, &xv) == 3) {
		model_grow(m, id);
		m->tag[id] = tag;
		m->xv[id] = xv;
	}
	fclose(f);
}

static void
model_save(const model *m, const char *path, const char *expect)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "v %" PRId64 " extra %d max %" PRId64 "\n", m->version, m->extra, m->max_id);
	for (int64_t id = 0; id <= m->max_id && id < m->cap; id++)
		if (m->tag[id] >= 0)
			fprintf(f, "%" PRId64 " %d %d\n", id, m->tag[id], m->xv[id]);
	cr_assert_eq(fclose(f), 0);
	if (!expect)
		return;
	lk_buf b = LK_BUF_INIT;
	for (int64_t id = 0; id <= m->max_id && id < m->cap; id++)
		if (m->tag[id] >= 0)
			row_text(&b, id, m->tag[id], m->extra, m->xv[id]);
	char tmp[1024];
	snprintf(tmp, sizeof(tmp), "%s.tmp", expect);
	f = fopen(tmp, "w");
	cr_assert_not_null(f);
	if (b.len)
		cr_assert_eq(fwrite(b.data, 1, b.len, f), b.len);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(rename(tmp, expect), 0);
	lk_buf_free(&b);
}

static uint64_t
rng_next(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Random live ids, distinct. */
static int
pick_live(model *m, uint64_t *r, int want, int64_t *out, const int64_t *avoid, int navoid)
{
	int n = 0;
	for (int tries = 0; n < want && tries < want * 50 && m->max_id > 0; tries++) {
		int64_t id = 1 + (int64_t) (rng_next(r) % (uint64_t) m->max_id);
		if (m->tag[id] < 0)
			continue;
		bool dup = false;
		for (int k = 0; k < n; k++)
			dup |= out[k] == id;
		for (int k = 0; k < navoid; k++)
			dup |= avoid[k] == id;
		if (!dup)
			out[n++] = id;
	}
	return n;
}

static void
driver_step(st_store *st, model *m)
{
	uint64_t r = 0x5eedull * (uint64_t) (m->version + 1);
	int64_t del[16], upd[16], ins[64];
	int tags[64];
	int ndel = pick_live(m, &r, (int) (rng_next(&r) % 6), del, NULL, 0);
	int nupd = pick_live(m, &r, (int) (rng_next(&r) % 6), upd, del, ndel);
	int nnew = 1 + (int) (rng_next(&r) % 40);
	int nins = 0;
	for (int k = 0; k < nupd; k++) {
		ins[nins] = upd[k];
		tags[nins++] = m->tag[upd[k]] + 1;
	}
	for (int k = 0; k < nnew; k++) {
		ins[nins] = m->max_id + 1 + k;
		tags[nins++] = 0;
	}
	int64_t all_del[32];
	int nall = 0;
	for (int k = 0; k < ndel; k++)
		all_del[nall++] = del[k];
	for (int k = 0; k < nupd; k++)
		all_del[nall++] = upd[k];
	m->version = commit_changes(st, all_del, nall, ins, tags, nins, m->extra);
	for (int k = 0; k < ndel; k++)
		m->tag[del[k]] = -1;
	model_grow(m, m->max_id + nnew + 1);
	for (int k = 0; k < nins; k++) {
		m->tag[ins[k]] = tags[k];
		m->xv[ins[k]] = m->extra;
	}
	m->max_id += nnew;
}

Test(driver, run, .timeout = 170)
{
	const char *table = getenv("LAKESYNC_DRIVER_TABLE");
	const char *mpath = getenv("LAKESYNC_DRIVER_MODEL");
	const char *op = getenv("LAKESYNC_DRIVER_OP");
	if (!table || !mpath || !op)
		cr_skip_test("LAKESYNC_DRIVER_TABLE/MODEL/OP not set (integration driver)");
	const char *expect = getenv("LAKESYNC_DRIVER_EXPECT");
	const char *opts = getenv("LAKESYNC_DRIVER_OPTS");
	const char *steps_s = getenv("LAKESYNC_DRIVER_STEPS");
	int steps = steps_s ? atoi(steps_s) : 1;
	st_store st;
	lk_error err;
	cr_assert(st_store_open(&st, table, 0, &err), "%s", errs(&err));
	model m;
	if (strcmp(op, "create") == 0) {
		create_table(&st, opts && strstr(opts, "dv"), opts && strstr(opts, "cdf"));
		memset(&m, 0, sizeof(m));
		model_grow(&m, 1);
		model_save(&m, mpath, expect);
	} else if (strcmp(op, "step") == 0) {
		model_load(&m, mpath);
		for (int i = 0; i < steps; i++) {
			driver_step(&st, &m);
			model_save(&m, mpath, expect);
		}
	} else if (strcmp(op, "addcol") == 0) {
		model_load(&m, mpath);
		cr_assert_not(m.extra);
		int64_t ins[5];
		int tags[5] = {0};
		for (int k = 0; k < 5; k++)
			ins[k] = m.max_id + 1 + k;
		m.version = commit_add_column(&st, ins, tags, 5);
		m.extra = true;
		model_grow(&m, m.max_id + 6);
		for (int k = 0; k < 5; k++) {
			m.tag[ins[k]] = 0;
			m.xv[ins[k]] = true;
		}
		m.max_id += 5;
		model_save(&m, mpath, expect);
	} else if (strcmp(op, "dup") == 0) {
		/* rows with ids that exist, without deleting the old ones: the
		 * source now breaks the key; the model keeps the newer row (greater
		 * ts), which is what --dedup-by ts shows */
		model_load(&m, mpath);
		uint64_t r = 0xd00dull * (uint64_t) (m.version + 1);
		int64_t ids[3] = {0};
		int tags[3] = {0};
		int n = pick_live(&m, &r, 3, ids, NULL, 0);
		for (int k = 0; k < n; k++)
			tags[k] = m.tag[ids[k]] + 1;
		m.version = commit_changes(&st, NULL, 0, ids, tags, n, m.extra);
		for (int k = 0; k < n; k++) {
			m.tag[ids[k]] = tags[k];
			m.xv[ids[k]] = m.extra;
		}
		model_save(&m, mpath, expect);
	} else if (strcmp(op, "optimize") == 0) {
		model_load(&m, mpath);
		dl_optimize_options oo;
		dl_optimize_options_init(&oo);
		dl_optimize_result orr;
		cr_assert(dl_optimize(&st, &oo, &orr, &err), "%s", errs(&err));
		if (orr.version >= 0)
			m.version = orr.version;
		model_save(&m, mpath, expect);
	} else {
		cr_assert_fail("unknown LAKESYNC_DRIVER_OP %s", op);
	}
	free(m.tag);
	free(m.xv);
	st_store_close(&st);
}
