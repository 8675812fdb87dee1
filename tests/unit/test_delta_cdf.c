/*
 * test_delta_cdf.c — Change Data Feed (src/delta/cdf.c): planning of one
 * commit's actions, and the feed of a synthetic table whose every commit
 * exercises one rule (inserts, DV added, DV updated, whole-file remove,
 * dataChange=false, cdc files, a remove without partitionValues), with the
 * three timestamp sources; refusals and corrupt change files.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/buf.h"
#include "delta/actions.h"
#include "delta/cdf.h"
#include "delta/dv.h"
#include "parquet/parquet.h"
#include "storage/storage.h"

/* ---- planning ------------------------------------------------------------- */

static dl_action
add_act(const char *path, bool dc, const dl_dv *dv)
{
	dl_action a;
	memset(&a, 0, sizeof(a));
	a.type = DL_ACT_ADD;
	a.u.add.path = path;
	a.u.add.data_change = dc;
	if (dv) {
		a.u.add.has_dv = true;
		a.u.add.dv = *dv;
	}
	return a;
}

static dl_action
remove_act(const char *path, bool dc, const dl_dv *dv)
{
	dl_action a;
	memset(&a, 0, sizeof(a));
	a.type = DL_ACT_REMOVE;
	a.u.remove.path = path;
	a.u.remove.data_change = dc;
	if (dv) {
		a.u.remove.has_dv = true;
		a.u.remove.dv = *dv;
	}
	return a;
}

static dl_dv
inline_dv(const char *z85)
{
	dl_dv d;
	memset(&d, 0, sizeof(d));
	d.storage_type = 'i';
	d.path_or_inline = z85;
	return d;
}

Test(cdf_plan, cdc_actions_win)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_error err;
	dl_action acts[4];
	acts[0] = remove_act("f1", true, NULL);
	memset(&acts[1], 0, sizeof(acts[1]));
	acts[1].type = DL_ACT_CDC;
	acts[1].u.cdc.path = "_change_data/c1.parquet";
	acts[2] = add_act("f2", true, NULL);
	memset(&acts[3], 0, sizeof(acts[3]));
	acts[3].type = DL_ACT_CDC;
	acts[3].u.cdc.path = "_change_data/c2.parquet";
	dl_change_source *s;
	size_t n;
	cr_assert(dl_cdf_plan_commit(acts, 4, NULL, &a, &s, &n, &err));
	cr_assert_eq(n, 2);
	cr_assert_eq(s[0].kind, DL_CHANGE_CDC);
	cr_assert_str_eq(s[0].path, "_change_data/c1.parquet");
	cr_assert(s[0].has_partition_values);
	cr_assert_eq(s[0].partition_values, &acts[1].u.cdc.partition_values);
	cr_assert_eq(s[1].kind, DL_CHANGE_CDC);
	cr_assert_str_eq(s[1].path, "_change_data/c2.parquet");
	lk_arena_free(&a);
}

Test(cdf_plan, derived_from_adds_and_removes)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_error err;
	dl_dv d1 = inline_dv("old"), d2 = inline_dv("new");
	dl_action acts[7];
	acts[0] = add_act("new%20file", true, NULL);         /* insert */
	acts[1] = remove_act("gone", true, &d1);             /* delete, minus d1 */
	acts[2] = add_act("a%20b", true, &d2);               /* pairs with acts[3] */
	acts[3] = remove_act("a b", true, &d1);
	acts[4] = add_act("moved", false, NULL);             /* dataChange=false */
	acts[5] = remove_act("compacted", false, NULL);
	acts[6] = add_act("only-dv", true, &d2);             /* insert, minus d2 */
	acts[1].u.remove.has_partition_values = false;
	dl_change_source *s;
	size_t n;
	cr_assert(dl_cdf_plan_commit(acts, 7, NULL, &a, &s, &n, &err), "%s", err.msg);
	cr_assert_eq(n, 4);
	/* removes first, in log order */
	cr_assert_eq(s[0].kind, DL_CHANGE_DELETE);
	cr_assert_str_eq(s[0].path, "gone");
	cr_assert(s[0].has_old_dv);
	cr_assert_str_eq(s[0].old_dv.path_or_inline, "old");
	cr_assert_not(s[0].has_partition_values);
	cr_assert_null(s[0].partition_values);
	cr_assert_eq(s[1].kind, DL_CHANGE_DV_UPDATE);
	cr_assert_str_eq(s[1].path, "a%20b");    /* the add's path */
	cr_assert(s[1].has_old_dv && s[1].has_new_dv);
	cr_assert_str_eq(s[1].old_dv.path_or_inline, "old");
	cr_assert_str_eq(s[1].new_dv.path_or_inline, "new");
	cr_assert_eq(s[1].partition_values, &acts[2].u.add.partition_values);
	/* then the adds not paired, in log order */
	cr_assert_eq(s[2].kind, DL_CHANGE_INSERT);
	cr_assert_str_eq(s[2].path, "new%20file");
	cr_assert_not(s[2].has_new_dv);
	cr_assert_eq(s[3].kind, DL_CHANGE_INSERT);
	cr_assert_str_eq(s[3].path, "only-dv");
	cr_assert(s[3].has_new_dv);

	/* only dataChange=false actions: nothing */
	cr_assert(dl_cdf_plan_commit(acts + 4, 2, NULL, &a, &s, &n, &err));
	cr_assert_eq(n, 0);
	cr_assert_null(s);
	/* a path that does not decode is corrupt */
	dl_action bad = add_act("x%zz", true, NULL);
	cr_assert_not(dl_cdf_plan_commit(&bad, 1, NULL, &a, &s, &n, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	lk_arena_free(&a);
}

Test(cdf_plan, pairs_by_canonical_path)
{
	char dir[] = "/tmp/lk_cdfp_XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_error err;
	st_store st;
	cr_assert(st_store_open(&st, dir, 0, &err));
	/* an absolute file: URI inside the table and the relative path are one
	 * file; two removes of one path pair with one add each */
	char *uri = lk_arena_sprintf(&a, "file://%s/p/f.parquet", dir);
	dl_action acts[3];
	acts[0] = remove_act(uri, true, NULL);
	acts[1] = add_act("p/f.parquet", true, NULL);
	acts[2] = remove_act("p//f.parquet", true, NULL);
	dl_change_source *s;
	size_t n;
	cr_assert(dl_cdf_plan_commit(acts, 3, &st, &a, &s, &n, &err), "%s", err.msg);
	cr_assert_eq(n, 2);
	cr_assert_eq(s[0].kind, DL_CHANGE_DV_UPDATE);
	cr_assert_eq(s[1].kind, DL_CHANGE_DELETE);
	cr_assert_str_eq(s[1].path, "p//f.parquet");
	st_store_close(&st);
	lk_arena_free(&a);
	rmdir(dir);
}

Test(cdf_plan, change_type_codes)
{
	cr_assert_eq(dl_change_type_code("insert", 6), 0);
	cr_assert_eq(dl_change_type_code("update_preimage", 15), 1);
	cr_assert_eq(dl_change_type_code("update_postimage", 16), 2);
	cr_assert_eq(dl_change_type_code("delete", 6), 3);
	cr_assert_eq(dl_change_type_code("delete", 5), -1);
	cr_assert_eq(dl_change_type_code("Insert", 6), -1);
	cr_assert_eq(dl_change_type_code("", 0), -1);
	cr_assert_str_eq(dl_change_type_name(2), "update_postimage");
	cr_assert_str_eq(dl_change_type_name(9), "?");
}

/* ---- a synthetic table ------------------------------------------------------ */

static char tmpdir[256];
static st_store st;
static lk_arena ta;

static void
make_tmp(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lk_cdf_XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	lk_error err;
	cr_assert(st_store_open(&st, tmpdir, 0, &err));
	lk_arena_init(&ta, 0);
}

static void
rm_tmp(void)
{
	st_store_close(&st);
	lk_arena_free(&ta);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void) !system(cmd);
}

/* A data file: id long, name string [, _change_type string]; names are
 * "n<id>" unless given; row groups of 4 rows. */
static void
write_file(const char *rel, const int64_t *ids, const char *const *names,
		   const char *const *types, int n)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	int nc = types ? 3 : 2;
	lk_type *t = lk_type_struct(&a, nc);
	t->children[0] = (lk_field){"id", lk_type_new(&a, LK_T_LONG), true, -1};
	t->children[1] = (lk_field){"name", lk_type_new(&a, LK_T_STRING), true, -1};
	if (types)
		t->children[2] = (lk_field){"_change_type", lk_type_new(&a, LK_T_STRING), true, -1};
	lk_batch *b = lk_batch_new(t);
	for (int i = 0; i < n; i++) {
		char nm[32];
		snprintf(nm, sizeof(nm), "n%" PRId64, ids[i]);
		const char *s = names && names[i] ? names[i] : nm;
		lk_column_append_i64(&b->cols[0], ids[i]);
		lk_column_append_bytes(&b->cols[1], s, (int64_t) strlen(s));
		if (types) {
			if (types[i])
				lk_column_append_bytes(&b->cols[2], types[i], (int64_t) strlen(types[i]));
			else
				lk_column_append_null(&b->cols[2]);
		}
	}
	cr_assert(lk_batch_seal(b));
	char fp[512], dir[512];
	snprintf(fp, sizeof(fp), "%s/%s", tmpdir, rel);
	snprintf(dir, sizeof(dir), "%s", fp);
	*strrchr(dir, '/') = '\0';
	mkdir(dir, 0755);
	lk_error err;
	pq_output out;
	cr_assert(pq_output_open_file(&out, fp, &err), "%s", err.msg);
	pq_writer_options o;
	pq_writer_options_init(&o);
	o.row_group_rows = 4;
	pq_writer *w = pq_writer_open(&out, t, &o, &err);
	cr_assert_not_null(w);
	cr_assert(pq_writer_write(w, b, &err));
	cr_assert(pq_writer_close(w, false, NULL, &err));
	pq_writer_free(w);
	lk_batch_free(b);
	lk_arena_free(&a);
}

static const char *schema_json =
	"{\"type\":\"struct\",\"fields\":["
	"{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},"
	"{\"name\":\"name\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},"
	"{\"name\":\"part\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]}";

static dl_map
part_map(const char *v)
{
	dl_map m = {0};
	if (!v)
		return m;
	m.items = lk_arena_zalloc(&ta, sizeof(dl_kv));
	m.items[0].key = "part";
	m.items[0].value = v;
	m.n = 1;
	return m;
}

static void
put_action(lk_buf *b, const dl_action *a)
{
	lk_error err;
	cr_assert(dl_action_write(b, a, &err), "%s", err.msg);
}

static void
w_header(lk_buf *b, const char *schema)
{
	dl_action a;
	memset(&a, 0, sizeof(a));
	a.type = DL_ACT_PROTOCOL;
	a.u.protocol.min_reader_version = 3;
	a.u.protocol.min_writer_version = 7;
	static const char *feat[] = {"deletionVectors"};
	a.u.protocol.has_reader_features = a.u.protocol.has_writer_features = true;
	a.u.protocol.reader_features = (dl_strings){feat, 1};
	a.u.protocol.writer_features = (dl_strings){feat, 1};
	put_action(b, &a);
	memset(&a, 0, sizeof(a));
	a.type = DL_ACT_METADATA;
	a.u.metadata.id = "test";
	a.u.metadata.schema_string = schema;
	static const char *parts[] = {"part"};
	a.u.metadata.partition_columns = (dl_strings){parts, 1};
	put_action(b, &a);
}

static void
w_add(lk_buf *b, const char *path, const char *part, bool dc, const dl_dv *dv)
{
	dl_action a = add_act(path, dc, dv);
	a.u.add.partition_values = part_map(part);
	a.u.add.size = 1;
	a.u.add.modification_time = 1;
	put_action(b, &a);
}

static void
w_remove(lk_buf *b, const char *path, const char *part, bool dc, const dl_dv *dv)
{
	dl_action a = remove_act(path, dc, dv);
	if (part) {
		a.u.remove.has_partition_values = true;
		a.u.remove.partition_values = part_map(part);
		a.u.remove.has_extended_file_metadata = true;
		a.u.remove.extended_file_metadata = true;
	}
	put_action(b, &a);
}

static void
w_commit_info(lk_buf *b, bool has_ts, int64_t ts, bool has_ict, int64_t ict)
{
	dl_action a;
	memset(&a, 0, sizeof(a));
	a.type = DL_ACT_COMMIT_INFO;
	if (has_ict)
		a.u.commit_info.json = lk_arena_sprintf(&ta, "{\"inCommitTimestamp\":%" PRId64
												",\"timestamp\":%" PRId64 "}", ict, ts);
	else if (has_ts)
		a.u.commit_info.json = lk_arena_sprintf(&ta, "{\"timestamp\":%" PRId64
												",\"operation\":\"WRITE\"}", ts);
	else
		a.u.commit_info.json = "{\"operation\":\"X\"}";
	put_action(b, &a);
}

/* Commit `v` with the bytes of b; its mtime is 1e12 + v seconds. */
static void
commit(int64_t v, lk_buf *b)
{
	lk_error err;
	char rel[64], full[400];
	snprintf(rel, sizeof(rel), "_delta_log/%020" PRId64 ".json", v);
	cr_assert(st_put_if_absent(&st, rel, b->data, b->len, &err), "%s", err.msg);
	snprintf(full, sizeof(full), "%s/%s", tmpdir, rel);
	struct timeval tv[2] = {{1000000000 + v, 0}, {1000000000 + v, 0}};
	cr_assert_eq(utimes(full, tv), 0);
	lk_buf_reset(b);
}

static dl_dv
file_dv(const uint64_t *rows, int n)
{
	dl_bitmap bm;
	dl_bitmap_init(&bm);
	for (int i = 0; i < n; i++)
		dl_bitmap_add(&bm, rows[i]);
	const dl_bitmap *bms[1] = {&bm};
	dl_dv d;
	lk_error err;
	cr_assert(dl_dv_write_file(&st, NULL, bms, 1, &ta, &d, &err), "%s", err.msg);
	dl_bitmap_free(&bm);
	return d;
}

static dl_dv
inl_dv(const uint64_t *rows, int n)
{
	dl_bitmap bm;
	dl_bitmap_init(&bm);
	for (int i = 0; i < n; i++)
		dl_bitmap_add(&bm, rows[i]);
	dl_dv d;
	lk_error err;
	cr_assert(dl_dv_make_inline(&bm, &ta, &d, &err), "%s", err.msg);
	dl_bitmap_free(&bm);
	return d;
}

/* The table:
 *   v0  commitInfo.timestamp 1000; add part=a/f1 (ids 0..9), part=b/f2
 *       (100..102)                                  → 13 inserts
 *   v1  ICT 5000 (timestamp 4000); remove f1 + add f1 with file DV {2,3}
 *                                                   → delete 2, 3
 *   v2  no commitInfo (mtime); remove f1 {2,3} + add f1 with inline DV
 *       {2,3,7}                                     → delete 7
 *   v3  remove f1 with DV {2,3,7}                   → delete 0,1,4,5,6,8,9
 *   v4  optimize: remove f2, add part=b/f3 (200, 201), dataChange=false
 *                                                   → nothing
 *   v5  cdc part=b (100 pre/post, 101 delete) + an add that must be ignored
 *   v6  remove f3 without partitionValues           → delete 200, 201 (b)
 */
static void
build_table(void)
{
	int64_t f1[10], f2[3] = {100, 101, 102}, f3[2] = {200, 201};
	for (int i = 0; i < 10; i++)
		f1[i] = i;
	write_file("part=a/f1.parquet", f1, NULL, NULL, 10);
	write_file("part=b/f2.parquet", f2, NULL, NULL, 3);
	write_file("part=b/f3.parquet", f3, NULL, NULL, 2);
	int64_t cids[3] = {100, 100, 101};
	const char *cnames[3] = {"n100", "x100", "n101"};
	const char *ctypes[3] = {"update_preimage", "update_postimage", "delete"};
	write_file("_change_data/cdc-1.parquet", cids, cnames, ctypes, 3);

	lk_buf b = LK_BUF_INIT;
	w_commit_info(&b, true, 1000, false, 0);
	w_header(&b, schema_json);
	w_add(&b, "part=a/f1.parquet", "a", true, NULL);
	w_add(&b, "part=b/f2.parquet", "b", true, NULL);
	commit(0, &b);

	uint64_t r1[2] = {2, 3}, r2[3] = {2, 3, 7};
	dl_dv dv1 = file_dv(r1, 2), dv2 = inl_dv(r2, 3);
	w_commit_info(&b, true, 4000, true, 5000);
	w_remove(&b, "part=a/f1.parquet", "a", true, NULL);
	w_add(&b, "part=a/f1.parquet", "a", true, &dv1);
	commit(1, &b);

	w_remove(&b, "part%3Da/f1.parquet", "a", true, &dv1);  /* encoded: same file */
	w_add(&b, "part=a/f1.parquet", "a", true, &dv2);
	commit(2, &b);

	w_commit_info(&b, false, 0, false, 0);
	w_remove(&b, "part=a/f1.parquet", "a", true, &dv2);
	commit(3, &b);

	w_remove(&b, "part=b/f2.parquet", "b", false, NULL);
	w_add(&b, "part=b/f3.parquet", "b", false, NULL);
	commit(4, &b);

	dl_action c;
	memset(&c, 0, sizeof(c));
	c.type = DL_ACT_CDC;
	c.u.cdc.path = "_change_data/cdc-1.parquet";
	c.u.cdc.partition_values = part_map("b");
	c.u.cdc.size = 1;
	put_action(&b, &c);
	w_add(&b, "part=b/f2.parquet", "b", true, NULL);
	commit(5, &b);

	w_remove(&b, "part=b/f3.parquet", NULL, true, NULL);
	commit(6, &b);
	lk_buf_free(&b);
}

/* "id|name|part|type|version|ts_ms" per row, in feed order. */
static char *
feed_text(int64_t from, int64_t to, lk_error *err)
{
	dl_cdf *c;
	if (!dl_cdf_open(&st, from, to, &c, err))
		return NULL;
	const lk_type *t = dl_cdf_schema(c);
	cr_assert_eq(t->nchildren, 6);
	const char *want[] = {"id", "name", "part", "_change_type", "_commit_version",
						  "_commit_timestamp"};
	for (int i = 0; i < 6; i++)
		cr_assert_str_eq(t->children[i].name, want[i]);
	cr_assert_eq(t->children[5].type->id, LK_T_TIMESTAMP);
	cr_assert_eq(t->children[5].type->unit, LK_UNIT_MICROS);
	lk_buf o = LK_BUF_INIT;
	for (;;) {
		lk_batch *b;
		if (!dl_cdf_next(c, &b, err)) {
			dl_cdf_free(c);
			lk_buf_free(&o);
			return NULL;
		}
		if (!b)
			break;
		cr_assert_gt(b->nrows, 0);
		for (int64_t r = 0; r < b->nrows; r++) {
			int64_t len;
			const uint8_t *nm = lk_column_bytes(&b->cols[1], r, &len);
			lk_buf_printf(&o, "%" PRId64 "|%.*s|", LK_COL_VALUES(&b->cols[0], int64_t)[r],
						  (int) len, (const char *) nm);
			if (lk_column_is_null(&b->cols[2], r)) {
				lk_buf_append_str(&o, "NULL");
			} else {
				const uint8_t *p = lk_column_bytes(&b->cols[2], r, &len);
				lk_buf_append(&o, p, (size_t) len);
			}
			const uint8_t *ct = lk_column_bytes(&b->cols[3], r, &len);
			lk_buf_printf(&o, "|%.*s|%" PRId64 "|%" PRId64 "\n", (int) len, (const char *) ct,
						  LK_COL_VALUES(&b->cols[4], int64_t)[r],
						  LK_COL_VALUES(&b->cols[5], int64_t)[r] / 1000);
		}
	}
	dl_cdf_free(c);
	return lk_buf_cstr(&o);
}

Test(cdf_feed, every_rule, .init = make_tmp, .fini = rm_tmp)
{
	build_table();
	lk_error err;
	char *got = feed_text(0, -1, &err);
	cr_assert_not_null(got, "%s (%s)", err.msg, err.where);
	const char *want =
		"0|n0|a|insert|0|1000\n1|n1|a|insert|0|1000\n2|n2|a|insert|0|1000\n"
		"3|n3|a|insert|0|1000\n4|n4|a|insert|0|1000\n5|n5|a|insert|0|1000\n"
		"6|n6|a|insert|0|1000\n7|n7|a|insert|0|1000\n8|n8|a|insert|0|1000\n"
		"9|n9|a|insert|0|1000\n"
		"100|n100|b|insert|0|1000\n101|n101|b|insert|0|1000\n102|n102|b|insert|0|1000\n"
		"2|n2|a|delete|1|5000\n3|n3|a|delete|1|5000\n"
		"7|n7|a|delete|2|1000000002000\n"
		"0|n0|a|delete|3|1000000003000\n1|n1|a|delete|3|1000000003000\n"
		"4|n4|a|delete|3|1000000003000\n5|n5|a|delete|3|1000000003000\n"
		"6|n6|a|delete|3|1000000003000\n8|n8|a|delete|3|1000000003000\n"
		"9|n9|a|delete|3|1000000003000\n"
		"100|n100|b|update_preimage|5|1000000005000\n"
		"100|x100|b|update_postimage|5|1000000005000\n"
		"101|n101|b|delete|5|1000000005000\n"
		"200|n200|b|delete|6|1000000006000\n201|n201|b|delete|6|1000000006000\n";
	cr_assert_str_eq(got, want);
	free(got);

	/* a sub-range, and a range with no changes */
	got = feed_text(2, 3, &err);
	cr_assert_not_null(got, "%s", err.msg);
	cr_assert_str_eq(got,
		"7|n7|a|delete|2|1000000002000\n"
		"0|n0|a|delete|3|1000000003000\n1|n1|a|delete|3|1000000003000\n"
		"4|n4|a|delete|3|1000000003000\n5|n5|a|delete|3|1000000003000\n"
		"6|n6|a|delete|3|1000000003000\n8|n8|a|delete|3|1000000003000\n"
		"9|n9|a|delete|3|1000000003000\n");
	free(got);
	got = feed_text(4, 4, &err);
	cr_assert_not_null(got, "%s", err.msg);
	cr_assert_str_eq(got, "");
	free(got);
}

Test(cdf_feed, refusals, .init = make_tmp, .fini = rm_tmp)
{
	build_table();
	lk_error err;
	dl_cdf *c = NULL;
	cr_assert_not(dl_cdf_open(&st, 3, 1, &c, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	cr_assert_str_eq(err.msg, "start version 3 is after end version 1");
	cr_assert_not(dl_cdf_open(&st, -1, 1, &c, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	cr_assert_not(dl_cdf_open(&st, 0, 7, &c, &err));
	cr_assert_eq(err.code, LK_ERR_NOT_FOUND);
	cr_assert_str_eq(err.msg, "version 7 does not exist (the latest version is 6)");
	cr_assert_not(dl_cdf_open(&st, 9, -1, &c, &err));
	cr_assert_str_eq(err.msg, "version 9 does not exist (the latest version is 6)");
	cr_assert_null(c);

	/* a gap in the middle is corrupt; a cleaned-up start is "no longer
	 * available" */
	char p[400], q[400];
	snprintf(p, sizeof(p), "%s/_delta_log/%020d.json", tmpdir, 3);
	snprintf(q, sizeof(q), "%s/moved.json", tmpdir);
	cr_assert_eq(rename(p, q), 0);
	cr_assert_not(dl_cdf_open(&st, 1, 5, &c, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert(strstr(err.msg, "version 3 is missing"), "%s", err.msg);
	cr_assert_eq(rename(q, p), 0);
	snprintf(p, sizeof(p), "%s/_delta_log/%020d.json", tmpdir, 0);
	cr_assert_eq(unlink(p), 0);
	cr_assert_not(dl_cdf_open(&st, 0, 6, &c, &err));
	cr_assert_eq(err.code, LK_ERR_NOT_FOUND);
	cr_assert_str_eq(err.msg, "the changes of version 0 are no longer available: its commit "
							  "file was removed from the log (the oldest commit left is version 1)");
	cr_assert(strstr(err.where, "_delta_log"), "%s", err.where);
}

Test(cdf_feed, missing_data_file, .init = make_tmp, .fini = rm_tmp)
{
	build_table();
	char p[400];
	snprintf(p, sizeof(p), "%s/part=b/f3.parquet", tmpdir);
	cr_assert_eq(unlink(p), 0);
	lk_error err;
	char *got = feed_text(6, 6, &err);
	cr_assert_null(got);
	cr_assert_eq(err.code, LK_ERR_NOT_FOUND, "%d %s", err.code, err.msg);
	cr_assert(strstr(err.where, "part=b/f3.parquet"), "%s", err.where);
	cr_assert(strstr(err.where, "version 6"), "%s", err.where);
}

/* A table whose version 1 is one cdc file written by `types`. */
static void
cdc_table(const char *const *types, int n, bool with_type_column)
{
	int64_t ids[4] = {1, 2, 3, 4};
	write_file("_change_data/c.parquet", ids, NULL, with_type_column ? types : NULL, n);
	lk_buf b = LK_BUF_INIT;
	w_header(&b, schema_json);
	commit(0, &b);
	dl_action c;
	memset(&c, 0, sizeof(c));
	c.type = DL_ACT_CDC;
	c.u.cdc.path = "_change_data/c.parquet";
	c.u.cdc.partition_values = part_map(NULL);
	put_action(&b, &c);
	commit(1, &b);
	lk_buf_free(&b);
}

Test(cdf_feed, cdc_partition_null, .init = make_tmp, .fini = rm_tmp)
{
	const char *types[2] = {"insert", "delete"};
	cdc_table(types, 2, true);
	lk_error err;
	char *got = feed_text(1, 1, &err);
	cr_assert_not_null(got, "%s %s", err.msg, err.where);
	cr_assert_str_eq(got, "1|n1|NULL|insert|1|1000000001000\n2|n2|NULL|delete|1|1000000001000\n");
	free(got);
}

Test(cdf_feed, cdc_bad_change_type, .init = make_tmp, .fini = rm_tmp)
{
	const char *types[3] = {"insert", "upsert", "delete"};
	cdc_table(types, 3, true);
	lk_error err;
	cr_assert_null(feed_text(1, 1, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert_str_eq(err.msg, "invalid _change_type \"upsert\" in row 1");
	cr_assert(strstr(err.where, "change data file \"_change_data/c.parquet\""), "%s", err.where);
}

Test(cdf_feed, cdc_null_change_type, .init = make_tmp, .fini = rm_tmp)
{
	const char *types[2] = {NULL, "delete"};
	cdc_table(types, 2, true);
	lk_error err;
	cr_assert_null(feed_text(1, 1, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert_str_eq(err.msg, "invalid _change_type null in row 0");
}

Test(cdf_feed, cdc_without_change_type, .init = make_tmp, .fini = rm_tmp)
{
	cdc_table(NULL, 2, false);
	lk_error err;
	cr_assert_null(feed_text(1, 1, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert_str_eq(err.msg, "change data file has no _change_type column");
}

Test(cdf_feed, column_named_like_cdf, .init = make_tmp, .fini = rm_tmp)
{
	lk_buf b = LK_BUF_INIT;
	w_header(&b, "{\"type\":\"struct\",\"fields\":["
				 "{\"name\":\"part\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},"
				 "{\"name\":\"_Commit_Version\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}}]}");
	commit(0, &b);
	lk_buf_free(&b);
	lk_error err;
	dl_cdf *c;
	cr_assert_not(dl_cdf_open(&st, 0, 0, &c, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert(strstr(err.msg, "\"_commit_version\""), "%s", err.msg);
}
