/*
 * test_delta_write.c — the Delta write side: table creation, data files and
 * stats, partitions, removes, deletion-vector deletes, txn, concurrency
 * conflicts, CDF, checkpoints, optimize, vacuum.  Every table is written in
 * a temporary directory and checked three ways: the exact log lines, the
 * snapshot read back (dl_snapshot_open), and the rows read back (dl_scan /
 * the Parquet reader).
 *
 * The `driver` suite is a tool for the scripts in tests/oracle and
 * tests/integration (skipped unless LAKESYNC_DELTA_DRIVER is set):
 *   LAKESYNC_DELTA_DRIVER="<mode> key=value ..."   see driver_main() below.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/buf.h"
#include "delta/actions.h"
#include "delta/checkpoint.h"
#include "delta/commit.h"
#include "delta/dv.h"
#include "delta/log.h"
#include "delta/maintenance.h"
#include "delta/scan.h"
#include "delta/writer.h"
#include "parquet/parquet.h"
#include "storage/storage.h"

/* ---- fixtures --------------------------------------------------------------- */

static char tmpdir[256];

static int
rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void) sb, (void) flag, (void) ftw;
	return remove(p);
}

static void
mk_tmp(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/lk-dw-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void
rm_tmp(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	tmpdir[0] = '\0';
}

static const char *
errs(const lk_error *e)
{
	static char buf[1200];
	return lk_error_str(e, buf, sizeof(buf));
}

/* A new table directory under tmpdir and its store. */
static void
open_table(st_store *st, const char *name)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	lk_error err;
	cr_assert(st_store_open(st, p, 0, &err), "%s", errs(&err));
}

/* Whole file under the table root (NUL-terminated, malloc'd), or NULL. */
static char *
slurp(st_store *st, const char *rel)
{
	lk_buf b = LK_BUF_INIT;
	lk_error err;
	if (!st_read_all(st, rel, 1 << 28, &b, &err)) {
		lk_buf_free(&b);
		return NULL;
	}
	lk_buf_cstr(&b);
	return (char *) b.data;
}

static char *
commit_text(st_store *st, int64_t v)
{
	char p[64];
	snprintf(p, sizeof(p), "_delta_log/%020" PRId64 ".json", v);
	return slurp(st, p);
}

/* Line i (0-based) of text, malloc'd. */
static char *
line_of(const char *text, int i)
{
	const char *s = text;
	for (int k = 0; k < i && s; k++) {
		s = strchr(s, '\n');
		if (s)
			s++;
	}
	if (!s || !*s)
		return NULL;
	const char *e = strchr(s, '\n');
	size_t n = e ? (size_t) (e - s) : strlen(s);
	char *r = malloc(n + 1);
	memcpy(r, s, n);
	r[n] = '\0';
	return r;
}

static int
count_lines(const char *text)
{
	int n = 0;
	for (const char *s = text; *s; s++)
		n += *s == '\n';
	return n;
}

static dl_snapshot *
snap(st_store *st, int64_t version)
{
	dl_snapshot_options o;
	dl_snapshot_options_init(&o);
	o.version = version;
	dl_snapshot *s;
	lk_error err;
	cr_assert(dl_snapshot_open(st, &o, &s, &err), "%s", errs(&err));
	return s;
}

/* ---- schema and rows ----------------------------------------------------------- */

static lk_arena tarena;

static lk_field
fld(const char *name, lk_type *t, bool nullable)
{
	lk_field f = {name, t, nullable, -1};
	return f;
}

/* id long not null, name string, score double, amount decimal(10,2),
 * day date, ts timestamp, s struct<a int, b string>, tags array<string>,
 * flag boolean */
static lk_type *
simple_schema(void)
{
	lk_arena *a = &tarena;
	lk_type *s = lk_type_struct(a, 2);
	s->children[0] = fld("a", lk_type_new(a, LK_T_INT), true);
	s->children[1] = fld("b", lk_type_new(a, LK_T_STRING), true);
	lk_type *t = lk_type_struct(a, 9);
	t->children[0] = fld("id", lk_type_new(a, LK_T_LONG), false);
	t->children[1] = fld("name", lk_type_new(a, LK_T_STRING), true);
	t->children[2] = fld("score", lk_type_new(a, LK_T_DOUBLE), true);
	t->children[3] = fld("amount", lk_type_decimal(a, 10, 2), true);
	t->children[4] = fld("day", lk_type_new(a, LK_T_DATE), true);
	t->children[5] = fld("ts", lk_type_new(a, LK_T_TIMESTAMP), true);
	t->children[6] = fld("s", s, true);
	t->children[7] = fld("tags", lk_type_array(a, lk_type_new(a, LK_T_STRING), true), true);
	t->children[8] = fld("flag", lk_type_new(a, LK_T_BOOLEAN), true);
	return t;
}

#define TS0 1700000000000000LL

/* Rows id = from .. from+n-1 of simple_schema. name null when id % 7 == 3,
 * s null when id % 11 == 5, score NaN when id == nan_id. */
static lk_batch *
simple_rows(const lk_type *schema, int64_t from, int64_t n, int64_t nan_id)
{
	lk_batch *b = lk_batch_new(schema);
	char buf[64];
	for (int64_t id = from; id < from + n; id++) {
		lk_column_append_i64(&b->cols[0], id);
		if (id % 7 == 3) {
			lk_column_append_null(&b->cols[1]);
		} else {
			snprintf(buf, sizeof(buf), "n%" PRId64, id);
			lk_column_append_bytes(&b->cols[1], buf, (int64_t) strlen(buf));
		}
		lk_column_append_f64(&b->cols[2], id == nan_id ? NAN : (double) id * 0.5);
		lk_column_append_i128(&b->cols[3], (lk_int128) id * 101);
		lk_column_append_i32(&b->cols[4], (int32_t) (19000 + id));
		lk_column_append_i64(&b->cols[5], TS0 + id * 1001);
		lk_column *s = &b->cols[6];
		if (id % 11 == 5) {
			lk_column_append_null(s);
		} else {
			lk_column_append_i32(&s->children[0], (int32_t) id);
			snprintf(buf, sizeof(buf), "b%" PRId64, id);
			lk_column_append_bytes(&s->children[1], buf, (int64_t) strlen(buf));
			lk_column_append_struct(s);
		}
		lk_column *tg = &b->cols[7];
		lk_column_append_bytes(&tg->children[0], "t", 1);
		snprintf(buf, sizeof(buf), "%" PRId64, id);
		lk_column_append_bytes(&tg->children[0], buf, (int64_t) strlen(buf));
		lk_column_append_list(tg);
		lk_column_append_bool(&b->cols[8], id % 2 == 1);
	}
	cr_assert(lk_batch_seal(b));
	return b;
}

static void
create(st_store *st, const lk_type *schema, const dl_table_options *o)
{
	lk_error err;
	cr_assert(dl_table_create(st, schema, o, &err), "%s", errs(&err));
}

/* Append rows [from, from+n) in one commit; returns the version. */
static int64_t
append(st_store *st, int64_t from, int64_t n)
{
	dl_snapshot *s = snap(st, -1);
	dl_commit *c = dl_commit_begin(st, s, "WRITE");
	lk_batch *b = simple_rows(s->schema.type, from, n, -1);
	lk_error err;
	cr_assert(dl_write_batch(c, b, NULL, &err), "%s", errs(&err));
	cr_assert(dl_commit_run(c, NULL, &err), "%s", errs(&err));
	int64_t v = dl_commit_version(c);
	lk_batch_free(b);
	dl_commit_free(c);
	dl_snapshot_free(s);
	return v;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
	return (x > y) - (x < y);
}

/* Sorted ids of the table at `version` through dl_scan (DVs applied). */
static int64_t *
scan_ids(st_store *st, int64_t version, size_t *n)
{
	dl_snapshot *s = snap(st, version);
	dl_scan *sc;
	lk_error err;
	cr_assert(dl_scan_open(s, &sc, &err), "%s", errs(&err));
	size_t cap = 64, cnt = 0;
	int64_t *ids = malloc(cap * sizeof(int64_t));
	int idc = dl_schema_field_index(s->schema.type, "id");
	cr_assert_geq(idc, 0);
	for (;;) {
		lk_batch *b;
		cr_assert(dl_scan_next(sc, &b, &err), "%s", errs(&err));
		if (!b)
			break;
		for (int64_t i = 0; i < b->nrows; i++) {
			if (cnt == cap)
				ids = realloc(ids, (cap *= 2) * sizeof(int64_t));
			ids[cnt++] = LK_COL_VALUES(&b->cols[idc], int64_t)[i];
		}
	}
	dl_scan_free(sc);
	dl_snapshot_free(s);
	qsort(ids, cnt, sizeof(int64_t), cmp_i64);
	*n = cnt;
	return ids;
}

/* The ids must be exactly [from, to) minus `gone` (sorted). */
static void
expect_ids(st_store *st, int64_t version, int64_t from, int64_t to, const int64_t *gone,
		   size_t ngone)
{
	size_t n;
	int64_t *ids = scan_ids(st, version, &n);
	size_t k = 0, g = 0;
	for (int64_t id = from; id < to; id++) {
		if (g < ngone && gone[g] == id) {
			g++;
			continue;
		}
		cr_assert_lt(k, n, "row %" PRId64 " missing (only %zu rows)", id, n);
		cr_assert_eq(ids[k], id, "row %zu is %" PRId64 ", expected %" PRId64, k, ids[k], id);
		k++;
	}
	cr_assert_eq(k, n, "%zu rows, expected %zu", n, k);
	free(ids);
}

static void
setup(void)
{
	lk_arena_init(&tarena, 0);
	mk_tmp();
}

static void
teardown(void)
{
	rm_tmp();
	lk_arena_free(&tarena);
}

TestSuite(dwrite, .init = setup, .fini = teardown);

/* ---- creation ------------------------------------------------------------------ */

Test(dwrite, create_plain_table_log_and_snapshot)
{
	st_store st;
	open_table(&st, "t");
	dl_table_options o;
	dl_table_options_init(&o);
	o.clock_ms = 1700000000123;
	o.name = "plain";
	create(&st, simple_schema(), &o);

	char *log = commit_text(&st, 0);
	cr_assert_not_null(log);
	cr_assert_eq(count_lines(log), 3);
	char *l0 = line_of(log, 0), *l1 = line_of(log, 1), *l2 = line_of(log, 2);
	const char *ci0 = "{\"commitInfo\":{\"timestamp\":1700000000123,\"operation\":"
					  "\"CREATE TABLE\",\"operationParameters\":{\"isManaged\":\"false\","
					  "\"partitionBy\":\"[]\"},\"isolationLevel\":\"WriteSerializable\","
					  "\"isBlindAppend\":false,\"engineInfo\":\"lakesync/0.1.0\",\"txnId\":\"";
	cr_assert(strncmp(l0, ci0, strlen(ci0)) == 0, "%s", l0);
	cr_assert_eq(strlen(l0), strlen(ci0) + 36 + 3, "%s", l0);
	cr_assert_str_eq(l1, "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}");
	cr_assert(strncmp(l2, "{\"metaData\":{\"id\":\"", 19) == 0, "%s", l2);
	/* id is a UUID v4 */
	cr_assert_eq(l2[19 + 14], '4', "%s", l2);
	cr_assert(strchr("89ab", l2[19 + 19]), "%s", l2);
	const char *rest = l2 + 19 + 36;
	cr_assert_str_eq(rest,
		"\",\"name\":\"plain\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"
		"\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":["
		"{\\\"name\\\":\\\"id\\\",\\\"type\\\":\\\"long\\\",\\\"nullable\\\":false,\\\"metadata\\\":{}},"
		"{\\\"name\\\":\\\"name\\\",\\\"type\\\":\\\"string\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}},"
		"{\\\"name\\\":\\\"score\\\",\\\"type\\\":\\\"double\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}},"
		"{\\\"name\\\":\\\"amount\\\",\\\"type\\\":\\\"decimal(10,2)\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}},"
		"{\\\"name\\\":\\\"day\\\",\\\"type\\\":\\\"date\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}},"
		"{\\\"name\\\":\\\"ts\\\",\\\"type\\\":\\\"timestamp\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}},"
		"{\\\"name\\\":\\\"s\\\",\\\"type\\\":{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":["
		"{\\\"name\\\":\\\"a\\\",\\\"type\\\":\\\"integer\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}},"
		"{\\\"name\\\":\\\"b\\\",\\\"type\\\":\\\"string\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]},"
		"\\\"nullable\\\":true,\\\"metadata\\\":{}},"
		"{\\\"name\\\":\\\"tags\\\",\\\"type\\\":{\\\"type\\\":\\\"array\\\",\\\"elementType\\\":\\\"string\\\","
		"\\\"containsNull\\\":true},\\\"nullable\\\":true,\\\"metadata\\\":{}},"
		"{\\\"name\\\":\\\"flag\\\",\\\"type\\\":\\\"boolean\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\","
		"\"partitionColumns\":[],\"configuration\":{},\"createdTime\":1700000000123}}");

	dl_snapshot *s = snap(&st, -1);
	cr_assert_eq(s->version, 0);
	cr_assert_eq(s->nfiles, 0);
	cr_assert(s->has_schema);
	cr_assert(lk_type_equal(s->schema.type, simple_schema()));
	cr_assert_str_eq(s->metadata.name, "plain");
	dl_snapshot_free(s);

	/* a second create loses: the table exists */
	lk_error err;
	cr_assert_not(dl_table_create(&st, simple_schema(), &o, &err));
	cr_assert_eq(err.code, LK_ERR_CONFLICT, "%s", errs(&err));
	cr_assert(strstr(err.msg, "already exists"), "%s", err.msg);
	free(l0);
	free(l1);
	free(l2);
	free(log);
	st_store_close(&st);
}

Test(dwrite, create_protocol_features)
{
	lk_arena *a = &tarena;
	dl_protocol p;
	dl_metadata m;
	lk_error err;
	dl_table_options o;
	lk_buf b = LK_BUF_INIT;
	dl_action act;

	/* writer-only features: (1,7) */
	dl_table_options_init(&o);
	o.change_data_feed = true;
	o.append_only = true;
	o.in_commit_timestamps = true;
	o.clock_ms = 1234;
	cr_assert(dl_table_make_actions(simple_schema(), &o, a, &p, &m, &err), "%s", errs(&err));
	act.type = DL_ACT_PROTOCOL;
	act.u.protocol = p;
	cr_assert(dl_action_write(&b, &act, &err));
	cr_assert_str_eq(lk_buf_cstr(&b),
					 "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":7,"
					 "\"writerFeatures\":[\"appendOnly\",\"changeDataFeed\",\"inCommitTimestamp\"]}}\n");
	cr_assert_eq(m.configuration.n, 5);
	cr_assert_str_eq(dl_map_get(&m.configuration, "delta.enableChangeDataFeed", NULL), "true");
	cr_assert_str_eq(dl_map_get(&m.configuration, "delta.appendOnly", NULL), "true");
	cr_assert_str_eq(dl_map_get(&m.configuration, "delta.enableInCommitTimestamps", NULL), "true");
	cr_assert_str_eq(dl_map_get(&m.configuration, "delta.inCommitTimestampEnablementVersion", NULL), "0");
	cr_assert_str_eq(dl_map_get(&m.configuration, "delta.inCommitTimestampEnablementTimestamp", NULL), "1234");

	/* reader features: (3,7) */
	lk_type *t = lk_type_struct(a, 2);
	t->children[0] = fld("id", lk_type_new(a, LK_T_LONG), false);
	lk_type *ntz = lk_type_struct(a, 1);
	ntz->children[0] = fld("at", lk_type_new(a, LK_T_TIMESTAMP_NTZ), true);
	t->children[1] = fld("nested", ntz, true);
	dl_table_options_init(&o);
	o.deletion_vectors = true;
	o.checkpoint_interval = 7;
	cr_assert(dl_table_make_actions(t, &o, a, &p, &m, &err), "%s", errs(&err));
	act.u.protocol = p;
	lk_buf_reset(&b);
	cr_assert(dl_action_write(&b, &act, &err));
	cr_assert_str_eq(lk_buf_cstr(&b),
					 "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
					 "\"readerFeatures\":[\"deletionVectors\",\"timestampNtz\"],"
					 "\"writerFeatures\":[\"deletionVectors\",\"timestampNtz\"]}}\n");
	cr_assert_str_eq(dl_map_get(&m.configuration, "delta.checkpointInterval", NULL), "7");
	cr_assert_str_eq(dl_map_get(&m.configuration, "delta.enableDeletionVectors", NULL), "true");

	/* bad partition columns */
	const char *pc[] = {"nested"};
	o.partition_columns = pc;
	o.npartition_columns = 1;
	cr_assert_not(dl_table_make_actions(t, &o, a, &p, &m, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	const char *pc2[] = {"nope"};
	o.partition_columns = pc2;
	cr_assert_not(dl_table_make_actions(t, &o, a, &p, &m, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	cr_assert(strstr(err.msg, "\"nope\""), "%s", err.msg);
	lk_buf_free(&b);
}

/* ---- appends, files, stats ---------------------------------------------------------- */

Test(dwrite, append_writes_file_add_and_stats)
{
	st_store st;
	open_table(&st, "t");
	create(&st, simple_schema(), NULL);
	cr_assert_eq(append(&st, 0, 12), 1);

	char *log = commit_text(&st, 1);
	cr_assert_eq(count_lines(log), 2, "%s", log);
	char *ci = line_of(log, 0), *add = line_of(log, 1);
	cr_assert(strstr(ci, "\"operation\":\"WRITE\""), "%s", ci);
	cr_assert(strstr(ci, "\"readVersion\":0,"), "%s", ci);
	cr_assert(strstr(ci, "\"isBlindAppend\":true"), "%s", ci);
	cr_assert(strstr(ci, "\"operationMetrics\":{\"numAddedFiles\":\"1\",\"numRemovedFiles\":\"0\","), "%s", ci);
	cr_assert(strstr(ci, "\"numOutputRows\":\"12\""), "%s", ci);

	dl_snapshot *s = snap(&st, -1);
	cr_assert_eq(s->version, 1);
	cr_assert_eq(s->nfiles, 1);
	const dl_add *a = &s->files[0].add;
	/* part-00000-<uuid>.c000.zstd.parquet */
	cr_assert_eq(strlen(a->path), strlen("part-00000-") + 36 + strlen(".c000.zstd.parquet"), "%s", a->path);
	cr_assert(strncmp(a->path, "part-00000-", 11) == 0, "%s", a->path);
	cr_assert_str_eq(a->path + 11 + 36, ".c000.zstd.parquet");
	cr_assert(a->data_change);
	cr_assert_eq(a->partition_values.n, 0);
	st_stat sb;
	lk_error err;
	cr_assert(st_stat_object(&st, a->path, &sb, &err));
	cr_assert_eq((int64_t) sb.size, a->size);
	cr_assert_eq(sb.mtime_ms, a->modification_time);
	/* ids 0..11: name null for 3, 10; s null for 5; ts = TS0 + id*1001 us */
	cr_assert_str_eq(a->stats,
		"{\"numRecords\":12,"
		"\"minValues\":{\"id\":0,\"name\":\"n0\",\"score\":0.0,\"amount\":0.00,"
		"\"day\":\"2022-01-08\",\"ts\":\"2023-11-14T22:13:20.000Z\",\"s\":{\"a\":0,\"b\":\"b0\"}},"
		"\"maxValues\":{\"id\":11,\"name\":\"n9\",\"score\":5.5,\"amount\":11.11,"
		"\"day\":\"2022-01-19\",\"ts\":\"2023-11-14T22:13:20.012Z\",\"s\":{\"a\":11,\"b\":\"b9\"}},"
		"\"nullCount\":{\"id\":0,\"name\":2,\"score\":0,\"amount\":0,\"day\":0,\"ts\":0,"
		"\"s\":{\"a\":1,\"b\":1},\"flag\":0}}");
	dl_snapshot_free(s);
	expect_ids(&st, -1, 0, 12, NULL, 0);
	free(ci);
	free(add);
	free(log);
	st_store_close(&st);
}

Test(dwrite, stats_bounds_nan_strings_timestamps)
{
	lk_arena *a = &tarena;
	lk_type *t = lk_type_struct(a, 6);
	t->children[0] = fld("f", lk_type_new(a, LK_T_FLOAT), true);
	t->children[1] = fld("d", lk_type_new(a, LK_T_DOUBLE), true);
	t->children[2] = fld("str", lk_type_new(a, LK_T_STRING), true);
	t->children[3] = fld("ntz", lk_type_new(a, LK_T_TIMESTAMP_NTZ), true);
	t->children[4] = fld("big", lk_type_decimal(a, 30, 6), true);
	t->children[5] = fld("bin", lk_type_new(a, LK_T_BINARY), true);
	st_store st;
	open_table(&st, "t");
	create(&st, t, NULL);
	dl_snapshot *s = snap(&st, -1);
	lk_batch *b = lk_batch_new(s->schema.type);
	/* row 0 */
	lk_column_append_f64(&b->cols[0], 0.1);
	lk_column_append_f64(&b->cols[1], NAN);
	const char *long1 = "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-long";   /* > 32 bytes */
	lk_column_append_bytes(&b->cols[2], long1, (int64_t) strlen(long1));
	lk_column_append_i64(&b->cols[3], -1);                 /* 1969-12-31T23:59:59.999999 */
	lk_int128 big = (lk_int128) 12345678901234567LL * 1000000000LL + 123456789;
	lk_column_append_i128(&b->cols[4], -big);
	lk_column_append_bytes(&b->cols[5], "\x00\x01", 2);
	/* row 1 */
	lk_column_append_f64(&b->cols[0], -2.5);
	lk_column_append_f64(&b->cols[1], 1.0);
	lk_column_append_bytes(&b->cols[2], "\xc3\xa9t\xc3\xa9", 5);   /* "été" */
	lk_column_append_i64(&b->cols[3], 1500);               /* 00:00:00.0015 */
	lk_column_append_i128(&b->cols[4], big);
	lk_column_append_null(&b->cols[5]);
	cr_assert(lk_batch_seal(b));
	dl_commit *c = dl_commit_begin(&st, s, "WRITE");
	lk_error err;
	cr_assert(dl_write_batch(c, b, NULL, &err), "%s", errs(&err));
	cr_assert(dl_commit_run(c, NULL, &err), "%s", errs(&err));
	dl_commit_free(c);
	dl_snapshot_free(s);
	lk_batch_free(b);

	s = snap(&st, -1);
	cr_assert_eq(s->nfiles, 1);
	/* float 0.1f as the exact double it is; the NaN double column has no
	 * bounds; the long string's min is its 32-byte prefix (a lower bound)
	 * and its max ("été" > "zzz…") is exact; ntz -1 us → min rounded down to
	 * .999, 1500 us → max rounded up to .002; decimals exact; binary only
	 * counts nulls */
	cr_assert_str_eq(s->files[0].add.stats,
		"{\"numRecords\":2,"
		"\"minValues\":{\"f\":-2.5,\"str\":\"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\","
		"\"ntz\":\"1969-12-31T23:59:59.999\",\"big\":-12345678901234567123.456789},"
		"\"maxValues\":{\"f\":0.10000000149011612,\"str\":\"\xc3\xa9t\xc3\xa9\","
		"\"ntz\":\"1970-01-01T00:00:00.002\",\"big\":12345678901234567123.456789},"
		"\"nullCount\":{\"f\":0,\"d\":0,\"str\":0,\"ntz\":0,\"big\":0,\"bin\":1}}");
	dl_snapshot_free(s);
	st_store_close(&st);
}

Test(dwrite, stats_only_for_indexed_columns)
{
	st_store st;
	open_table(&st, "t");
	dl_table_options o;
	dl_table_options_init(&o);
	/* id, name, score: then amount, day, ts, s.a, s.b, tags, flag go without */
	dl_kv kv[] = {{"delta.dataSkippingNumIndexedCols", "3"}};
	o.configuration = kv;
	o.nconfiguration = 1;
	create(&st, simple_schema(), &o);
	append(&st, 0, 4);
	dl_snapshot *s = snap(&st, -1);
	cr_assert_str_eq(s->files[0].add.stats,
		"{\"numRecords\":4,\"minValues\":{\"id\":0,\"name\":\"n0\",\"score\":0.0},"
		"\"maxValues\":{\"id\":3,\"name\":\"n2\",\"score\":1.5},"
		"\"nullCount\":{\"id\":0,\"name\":1,\"score\":0}}");
	dl_snapshot_free(s);
	st_store_close(&st);
}

Test(dwrite, stats_string_max_truncated_is_upper_bound)
{
	lk_arena *a = &tarena;
	lk_type *t = lk_type_struct(a, 1);
	t->children[0] = fld("str", lk_type_new(a, LK_T_STRING), true);
	st_store st;
	open_table(&st, "t");
	create(&st, t, NULL);
	dl_snapshot *s = snap(&st, -1);
	lk_batch *b = lk_batch_new(s->schema.type);
	const char *v1 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";   /* 44 × a */
	const char *v2 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabbbbbbbbbbbb";   /* 32 × a + b… */
	lk_column_append_bytes(&b->cols[0], v1, (int64_t) strlen(v1));
	lk_column_append_bytes(&b->cols[0], v2, (int64_t) strlen(v2));
	cr_assert(lk_batch_seal(b));
	dl_commit *c = dl_commit_begin(&st, s, "WRITE");
	lk_error err;
	cr_assert(dl_write_batch(c, b, NULL, &err), "%s", errs(&err));
	cr_assert(dl_commit_run(c, NULL, &err), "%s", errs(&err));
	dl_commit_free(c);
	dl_snapshot_free(s);
	lk_batch_free(b);
	s = snap(&st, -1);
	const char *stats = s->files[0].add.stats;
	/* min: the 32-byte prefix of v1; max: a 32-byte bound above v2 */
	cr_assert(strstr(stats, "\"minValues\":{\"str\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}"), "%s", stats);
	const char *mx = strstr(stats, "\"maxValues\":{\"str\":\"");
	cr_assert_not_null(mx, "%s", stats);
	mx += strlen("\"maxValues\":{\"str\":\"");
	const char *end = strchr(mx, '"');
	cr_assert(strncmp(mx, v2, (size_t) (end - mx)) > 0 || (size_t) (end - mx) > strlen(v2),
			  "max %.*s is not above %s", (int) (end - mx), mx, v2);
	cr_assert_leq(end - mx, 32);
	dl_snapshot_free(s);
	st_store_close(&st);
}

/* ---- partitions ------------------------------------------------------------------ */

static lk_type *
part_schema(void)
{
	lk_arena *a = &tarena;
	lk_type *t = lk_type_struct(a, 4);
	t->children[0] = fld("id", lk_type_new(a, LK_T_LONG), false);
	t->children[1] = fld("p", lk_type_new(a, LK_T_STRING), true);
	t->children[2] = fld("d", lk_type_new(a, LK_T_DATE), true);
	t->children[3] = fld("v", lk_type_new(a, LK_T_DOUBLE), true);
	return t;
}

static const char *const part_p[] = {"a/b", NULL, "x=y", "plain", "", "sp ace:%"};

/* id, p = part_p[id % 6], d = 19000 + id % 2 (null when id % 5 == 4), v = id */
static lk_batch *
part_rows(const lk_type *schema, int64_t from, int64_t n)
{
	lk_batch *b = lk_batch_new(schema);
	for (int64_t id = from; id < from + n; id++) {
		lk_column_append_i64(&b->cols[0], id);
		const char *p = part_p[id % 6];
		if (p)
			lk_column_append_bytes(&b->cols[1], p, (int64_t) strlen(p));
		else
			lk_column_append_null(&b->cols[1]);
		if (id % 5 == 4)
			lk_column_append_null(&b->cols[2]);
		else
			lk_column_append_i32(&b->cols[2], (int32_t) (19000 + id % 2));
		lk_column_append_f64(&b->cols[3], (double) id);
	}
	cr_assert(lk_batch_seal(b));
	return b;
}

static const dl_file *
find_file_prefix(const dl_snapshot *s, const char *prefix)
{
	for (size_t i = 0; i < s->nfiles; i++)
		if (strncmp(s->files[i].add.path, prefix, strlen(prefix)) == 0)
			return &s->files[i];
	return NULL;
}

Test(dwrite, partitioned_paths_values_and_rows)
{
	st_store st;
	open_table(&st, "t");
	dl_table_options o;
	dl_table_options_init(&o);
	const char *pc[] = {"p", "d"};
	o.partition_columns = pc;
	o.npartition_columns = 2;
	create(&st, part_schema(), &o);
	dl_snapshot *s = snap(&st, -1);
	dl_commit *c = dl_commit_begin(&st, s, "WRITE");
	lk_batch *b = part_rows(s->schema.type, 0, 60);
	lk_error err;
	cr_assert(dl_write_batch(c, b, NULL, &err), "%s", errs(&err));
	cr_assert(dl_commit_run(c, NULL, &err), "%s", errs(&err));
	dl_commit_free(c);
	dl_snapshot_free(s);
	lk_batch_free(b);

	s = snap(&st, -1);
	/* p: 5 distinct ("" merges with null); p fixes the parity of id, so d
	 * is one date or null, except for the merged null p: 2+3+2+2+2 */
	cr_assert_eq(s->nfiles, 11, "%zu files", s->nfiles);
	const dl_file *f = find_file_prefix(s, "p=a%252Fb/d=2022-01-08/part-");
	cr_assert_not_null(f);
	cr_assert_str_eq(f->path + strlen("p=a%2Fb/d=2022-01-08/"), f->add.path + strlen("p=a%252Fb/d=2022-01-08/"));
	cr_assert_eq(f->add.partition_values.n, 2);
	cr_assert_str_eq(f->add.partition_values.items[0].key, "p");
	cr_assert_str_eq(f->add.partition_values.items[0].value, "a/b");
	cr_assert_str_eq(f->add.partition_values.items[1].key, "d");
	cr_assert_str_eq(f->add.partition_values.items[1].value, "2022-01-08");
	/* ids with p = "a/b" (id % 6 == 0), d not null (24 and 54 have d null) */
	cr_assert(strstr(f->add.stats, "\"numRecords\":8,\"minValues\":{\"id\":0,\"v\":0.0},"
								   "\"maxValues\":{\"id\":48,\"v\":48.0}"), "%s", f->add.stats);
	f = find_file_prefix(s, "p=__HIVE_DEFAULT_PARTITION__/d=__HIVE_DEFAULT_PARTITION__/part-");
	cr_assert_not_null(f);
	cr_assert_null(f->add.partition_values.items[0].value);
	cr_assert_null(f->add.partition_values.items[1].value);
	f = find_file_prefix(s, "p=sp%20ace%253A%2525/d=2022-01-09/part-");
	cr_assert_not_null(f, "escaped directory of \"sp ace:%%\"");
	cr_assert_str_eq(f->add.partition_values.items[0].value, "sp ace:%");
	cr_assert(strncmp(f->path, "p=sp ace%3A%25/d=2022-01-09/", 28) == 0, "%s", f->path);
	f = find_file_prefix(s, "p=x%253Dy/");
	cr_assert_not_null(f);

	/* data files hold only the data columns */
	st_file sf;
	cr_assert(st_open_read(&st, f->path, &sf, &err), "%s", errs(&err));
	pq_input in = {sf.ctx, sf.size, sf.name, sf.read_at, sf.close};
	pq_reader *r = pq_reader_open(&in, &err);
	cr_assert_not_null(r, "%s", errs(&err));
	const lk_type *fs = pq_reader_schema(r);
	cr_assert_eq(fs->nchildren, 2);
	cr_assert_str_eq(fs->children[0].name, "id");
	cr_assert_str_eq(fs->children[1].name, "v");
	pq_reader_free(r);

	/* rows read back with their partition values ("" reads back as null) */
	dl_scan *sc;
	cr_assert(dl_scan_open(s, &sc, &err), "%s", errs(&err));
	int64_t seen = 0, sum = 0;
	for (;;) {
		lk_batch *rb;
		cr_assert(dl_scan_next(sc, &rb, &err), "%s", errs(&err));
		if (!rb)
			break;
		for (int64_t i = 0; i < rb->nrows; i++) {
			int64_t id = LK_COL_VALUES(&rb->cols[0], int64_t)[i];
			const char *p = part_p[id % 6];
			if (p && !*p)
				p = NULL;
			if (p) {
				int64_t n;
				const uint8_t *bytes = lk_column_bytes(&rb->cols[1], i, &n);
				cr_assert_not(lk_column_is_null(&rb->cols[1], i));
				cr_assert_eq((size_t) n, strlen(p));
				cr_assert(memcmp(bytes, p, (size_t) n) == 0);
			} else {
				cr_assert(lk_column_is_null(&rb->cols[1], i), "id %" PRId64, id);
			}
			if (id % 5 == 4)
				cr_assert(lk_column_is_null(&rb->cols[2], i));
			else
				cr_assert_eq(LK_COL_VALUES(&rb->cols[2], int32_t)[i], 19000 + id % 2);
			cr_assert_eq(LK_COL_VALUES(&rb->cols[3], double)[i], (double) id);
			seen++;
			sum += id;
		}
	}
	cr_assert_eq(seen, 60);
	cr_assert_eq(sum, 59 * 60 / 2);
	dl_scan_free(sc);
	dl_snapshot_free(s);
	st_store_close(&st);
}

/* ---- txn and concurrency --------------------------------------------------------- */

Test(dwrite, txn_marker_and_same_app_conflict)
{
	st_store st;
	open_table(&st, "t");
	create(&st, simple_schema(), NULL);
	dl_snapshot *s = snap(&st, -1);
	lk_error err;
	dl_commit *c1 = dl_commit_begin(&st, s, "WRITE");
	dl_commit *c2 = dl_commit_begin(&st, s, "WRITE");
	dl_commit_set_clock(c1, 1700000000000);
	cr_assert(dl_commit_set_txn(c1, "lakesync/p/public.t", 42, &err));
	cr_assert_not(dl_commit_set_txn(c1, "lakesync/p/public.t", 43, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	cr_assert(dl_commit_set_txn(c2, "lakesync/p/public.t", 43, &err));
	lk_batch *b = simple_rows(s->schema.type, 0, 3, -1);
	cr_assert(dl_write_batch(c1, b, NULL, &err), "%s", errs(&err));
	cr_assert(dl_write_batch(c2, b, NULL, &err), "%s", errs(&err));
	cr_assert(dl_commit_run(c1, NULL, &err), "%s", errs(&err));
	cr_assert_not(dl_commit_run(c2, NULL, &err));
	cr_assert_eq(err.code, LK_ERR_CONFLICT);
	cr_assert_str_eq(err.msg, "concurrent commit conflict: version 1 committed txn "
							  "\"lakesync/p/public.t\" too (this WRITE transaction read version 0)");
	cr_assert_str_eq(err.where, "file \"_delta_log/00000000000000000001.json\"");
	char *log = commit_text(&st, 1);
	char *l1 = line_of(log, 1);
	cr_assert_str_eq(l1, "{\"txn\":{\"appId\":\"lakesync/p/public.t\",\"version\":42,"
						 "\"lastUpdated\":1700000000000}}");
	cr_assert_null(commit_text(&st, 2));
	dl_snapshot_free(s);
	s = snap(&st, -1);
	cr_assert_eq(dl_snapshot_txn_version(s, "lakesync/p/public.t"), 42);
	cr_assert_eq(dl_snapshot_txn_version(s, "other"), -1);
	expect_ids(&st, -1, 0, 3, NULL, 0);
	free(l1);
	free(log);
	lk_batch_free(b);
	dl_commit_free(c1);
	dl_commit_free(c2);
	dl_snapshot_free(s);
	st_store_close(&st);
}

Test(dwrite, blind_appends_rebase_and_retry)
{
	st_store st;
	open_table(&st, "t");
	create(&st, simple_schema(), NULL);
	dl_snapshot *s = snap(&st, -1);
	lk_error err;
	dl_commit *c[3];
	for (int i = 0; i < 3; i++) {
		c[i] = dl_commit_begin(&st, s, "WRITE");
		lk_batch *b = simple_rows(s->schema.type, i * 10, 10, -1);
		cr_assert(dl_write_batch(c[i], b, NULL, &err), "%s", errs(&err));
		lk_batch_free(b);
	}
	for (int i = 0; i < 3; i++) {
		cr_assert(dl_commit_run(c[i], NULL, &err), "%s", errs(&err));
		cr_assert_eq(dl_commit_version(c[i]), i + 1);
		/* a lost race reads every winner before the next attempt */
		cr_assert_eq(dl_commit_attempts(c[i]), i ? 2 : 1);
		cr_assert_eq(dl_commit_read_version(c[i]), i);
	}
	char *log = commit_text(&st, 3);
	cr_assert(strstr(log, "\"readVersion\":2,"), "%s", log);
	free(log);
	expect_ids(&st, -1, 0, 30, NULL, 0);
	/* a chained commit needs no re-read */
	dl_commit *n = dl_commit_next(c[2], "WRITE");
	cr_assert_eq(dl_commit_read_version(n), 3);
	lk_batch *b = simple_rows(s->schema.type, 30, 5, -1);
	cr_assert(dl_write_batch(n, b, NULL, &err), "%s", errs(&err));
	cr_assert(dl_commit_run(n, NULL, &err), "%s", errs(&err));
	cr_assert_eq(dl_commit_version(n), 4);
	cr_assert_eq(dl_commit_attempts(n), 1);
	expect_ids(&st, -1, 0, 35, NULL, 0);
	/* attempts exhausted */
	dl_commit *late = dl_commit_begin(&st, s, "WRITE");
	cr_assert(dl_write_batch(late, b, NULL, &err), "%s", errs(&err));
	dl_commit_options co;
	dl_commit_options_init(&co);
	co.max_attempts = 1;
	cr_assert_not(dl_commit_run(late, &co, &err));
	cr_assert_eq(err.code, LK_ERR_CONFLICT);
	cr_assert_str_eq(err.msg, "gave up after 1 attempts: versions 1..4 were committed "
							  "concurrently (no logical conflict)");
	cr_assert_not(dl_commit_run(late, &co, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	lk_batch_free(b);
	dl_commit_free(late);
	dl_commit_free(n);
	for (int i = 0; i < 3; i++)
		dl_commit_free(c[i]);
	dl_snapshot_free(s);
	st_store_close(&st);
}

Test(dwrite, concurrent_remove_and_metadata_conflicts)
{
	st_store st;
	open_table(&st, "t");
	create(&st, simple_schema(), NULL);
	append(&st, 0, 10);
	append(&st, 10, 10);
	dl_snapshot *s = snap(&st, -1);
	cr_assert_eq(s->nfiles, 2);
	lk_error err;
	/* two transactions remove the same file: the second conflicts */
	dl_commit *c1 = dl_commit_begin(&st, s, "DELETE");
	dl_commit *c2 = dl_commit_begin(&st, s, "DELETE");
	cr_assert(dl_remove_file(c1, &s->files[0].add, true, &err));
	cr_assert(dl_remove_file(c2, &s->files[0].add, true, &err));
	cr_assert(dl_commit_run(c1, NULL, &err), "%s", errs(&err));
	cr_assert_not(dl_commit_run(c2, NULL, &err));
	cr_assert_eq(err.code, LK_ERR_CONFLICT);
	char want[600];
	snprintf(want, sizeof(want), "concurrent commit conflict: version 3 removed \"%s\", which "
			 "this transaction removes or updates too (this DELETE transaction read version 2)",
			 s->files[0].add.path);
	cr_assert_str_eq(err.msg, want);
	dl_commit_free(c1);
	dl_commit_free(c2);
	/* removing the other file concurrently is fine */
	dl_commit *c3 = dl_commit_begin(&st, s, "DELETE");
	cr_assert(dl_remove_file(c3, &s->files[1].add, true, &err));
	cr_assert(dl_commit_run(c3, NULL, &err), "%s", errs(&err));
	cr_assert_eq(dl_commit_version(c3), 4);
	dl_commit_free(c3);
	size_t n;
	int64_t *ids = scan_ids(&st, -1, &n);
	cr_assert_eq(n, 0);
	free(ids);

	/* a concurrent metaData change fails a blind append */
	dl_snapshot_free(s);
	s = snap(&st, -1);
	dl_commit *meta = dl_commit_begin(&st, s, "SET TBLPROPERTIES");
	dl_commit *ap = dl_commit_begin(&st, s, "WRITE");
	dl_action ma;
	memset(&ma, 0, sizeof(ma));
	ma.type = DL_ACT_METADATA;
	ma.u.metadata = s->metadata;
	dl_kv kv[] = {{"delta.checkpointInterval", "3"}};
	ma.u.metadata.configuration.items = kv;
	ma.u.metadata.configuration.n = 1;
	cr_assert(dl_commit_add_action(meta, &ma, &err), "%s", errs(&err));
	cr_assert_not(dl_commit_add_action(meta, &ma, &err));
	cr_assert_str_eq(dl_commit_config(meta, "delta.checkpointInterval"), "3");
	cr_assert(dl_commit_run(meta, NULL, &err), "%s", errs(&err));
	lk_batch *b = simple_rows(s->schema.type, 0, 2, -1);
	cr_assert(dl_write_batch(ap, b, NULL, &err), "%s", errs(&err));
	cr_assert_not(dl_commit_run(ap, NULL, &err));
	cr_assert_eq(err.code, LK_ERR_CONFLICT);
	cr_assert(strstr(err.msg, "version 5 changed the table metadata"), "%s", err.msg);
	lk_batch_free(b);
	dl_commit_free(meta);
	dl_commit_free(ap);
	dl_snapshot_free(s);
	st_store_close(&st);
}

Test(dwrite, unsupported_writer_feature_refused)
{
	st_store st;
	open_table(&st, "t");
	lk_error err;
	const char *v0 =
		"{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":7,\"writerFeatures\":[\"rowTracking\"]}}\n"
		"{\"metaData\":{\"id\":\"x\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"
		"\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":\\\"id\\\","
		"\\\"type\\\":\\\"long\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\","
		"\"partitionColumns\":[],\"configuration\":{}}}\n";
	cr_assert(st_put_if_absent(&st, "_delta_log/00000000000000000000.json", v0, strlen(v0), &err));
	dl_snapshot *s = snap(&st, -1);
	dl_commit *c = dl_commit_begin(&st, s, "WRITE");
	cr_assert_not(dl_commit_run(c, NULL, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert_str_eq(err.msg, "writer table feature \"rowTracking\" is not supported");
	cr_assert_null(commit_text(&st, 1));
	dl_commit_free(c);
	dl_snapshot_free(s);
	st_store_close(&st);
}

Test(dwrite, append_only_refuses_deletes)
{
	st_store st;
	open_table(&st, "t");
	dl_table_options o;
	dl_table_options_init(&o);
	o.append_only = true;
	create(&st, simple_schema(), &o);
	append(&st, 0, 5);
	dl_snapshot *s = snap(&st, -1);
	lk_error err;
	dl_commit *c = dl_commit_begin(&st, s, "DELETE");
	uint64_t row = 1;
	cr_assert_not(dl_delete_rows(c, &s->files[0].add, &row, 1, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	cr_assert(dl_remove_file(c, &s->files[0].add, true, &err));
	cr_assert_not(dl_commit_run(c, NULL, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	cr_assert(strstr(err.msg, "append-only"), "%s", err.msg);
	cr_assert_null(commit_text(&st, 2));
	dl_commit_free(c);
	dl_snapshot_free(s);
	st_store_close(&st);
}

Test(dwrite, in_commit_timestamps_increase)
{
	st_store st;
	open_table(&st, "t");
	dl_table_options o;
	dl_table_options_init(&o);
	o.in_commit_timestamps = true;
	o.clock_ms = 2000000000000;     /* in the future: later commits must still increase */
	create(&st, simple_schema(), &o);
	char *log = commit_text(&st, 0);
	cr_assert(strncmp(log, "{\"commitInfo\":{\"inCommitTimestamp\":2000000000000,\"timestamp\":"
						   "2000000000000,", 75) == 0, "%s", log);
	free(log);
	cr_assert_eq(append(&st, 0, 1), 1);
	log = commit_text(&st, 1);
	cr_assert(strncmp(log, "{\"commitInfo\":{\"inCommitTimestamp\":2000000000001,", 49) == 0, "%s", log);
	free(log);
	dl_snapshot *s = snap(&st, -1);
	cr_assert_eq(s->timestamp_ms, 2000000000001);
	dl_snapshot_free(s);
	st_store_close(&st);
}

/* ---- deletes ---------------------------------------------------------------------- */

static void
delete_rows(st_store *st, const uint64_t *rows, size_t n, lk_error_code expect)
{
	dl_snapshot *s = snap(st, -1);
	cr_assert_eq(s->nfiles, 1);
	dl_commit *c = dl_commit_begin(st, s, "DELETE");
	lk_error err;
	cr_assert(dl_delete_rows(c, &s->files[0].add, rows, n, &err), "%s", errs(&err));
	bool ok = dl_commit_run(c, NULL, &err);
	if (expect == LK_OK)
		cr_assert(ok, "%s", errs(&err));
	else
		cr_assert(!ok && err.code == expect, "%s", errs(&err));
	dl_commit_free(c);
	dl_snapshot_free(s);
}

Test(dwrite, deletion_vectors_write_and_merge)
{
	st_store st;
	open_table(&st, "t");
	dl_table_options o;
	dl_table_options_init(&o);
	o.deletion_vectors = true;
	create(&st, simple_schema(), &o);
	append(&st, 0, 20);
	dl_snapshot *s0 = snap(&st, -1);
	char *path0 = strdup(s0->files[0].add.path);
	int64_t size0 = s0->files[0].add.size;
	dl_snapshot_free(s0);

	uint64_t d1[] = {7, 1, 5, 1};
	delete_rows(&st, d1, 4, LK_OK);
	int64_t gone1[] = {1, 5, 7};
	expect_ids(&st, -1, 0, 20, gone1, 3);
	char *log = commit_text(&st, 2);
	cr_assert_eq(count_lines(log), 3, "%s", log);
	char *ci = line_of(log, 0), *rm = line_of(log, 1), *ad = line_of(log, 2);
	cr_assert(strstr(ci, "\"operation\":\"DELETE\""), "%s", ci);
	cr_assert(strstr(ci, "\"isBlindAppend\":false"), "%s", ci);
	cr_assert(strstr(ci, "\"numDeletionVectorsAdded\":\"1\""), "%s", ci);
	char want[1024];
	snprintf(want, sizeof(want), "{\"remove\":{\"path\":\"%s\",\"deletionTimestamp\":", path0);
	cr_assert(strncmp(rm, want, strlen(want)) == 0, "%s", rm);
	snprintf(want, sizeof(want), ",\"dataChange\":true,\"extendedFileMetadata\":true,"
			 "\"partitionValues\":{},\"size\":%" PRId64 ",\"tags\":{}}}", size0);
	cr_assert(strstr(rm, want), "%s", rm);
	cr_assert_null(strstr(rm, "deletionVector"));
	cr_assert(strstr(ad, "\"deletionVector\":{\"storageType\":\"u\",\"pathOrInlineDv\":\""), "%s", ad);
	cr_assert(strstr(ad, "\"offset\":1,\"sizeInBytes\":"), "%s", ad);
	cr_assert(strstr(ad, "\"cardinality\":3}"), "%s", ad);
	cr_assert(strstr(ad, "\\\"flag\\\":0},\\\"tightBounds\\\":false}\""), "%s", ad);
	free(ci);
	free(rm);
	free(ad);
	free(log);

	dl_snapshot *s = snap(&st, -1);
	cr_assert_eq(s->nfiles, 1);
	cr_assert_str_eq(s->files[0].add.path, path0);
	cr_assert(s->files[0].add.has_dv);
	cr_assert_eq(s->files[0].add.dv.cardinality, 3);
	char *dvpath;
	lk_error err;
	cr_assert(dl_dv_path(&s->files[0].add.dv, &s->arena, &dvpath, &err));
	cr_assert(strncmp(dvpath, "deletion_vector_", 16) == 0, "%s", dvpath);
	st_stat sb;
	cr_assert(st_stat_object(&st, dvpath, &sb, &err), "%s", errs(&err));
	dl_dv dv1 = s->files[0].add.dv;
	dv1.path_or_inline = strdup(dv1.path_or_inline);

	/* second delete: union with the existing DV; the remove names the old pair */
	uint64_t d2[] = {5, 9};
	dl_snapshot_free(s);
	delete_rows(&st, d2, 2, LK_OK);
	int64_t gone2[] = {1, 5, 7, 9};
	expect_ids(&st, -1, 0, 20, gone2, 4);
	log = commit_text(&st, 3);
	rm = line_of(log, 1);
	snprintf(want, sizeof(want), "\"deletionVector\":{\"storageType\":\"u\",\"pathOrInlineDv\":"
			 "\"%s\",\"offset\":1,\"sizeInBytes\":%d,\"cardinality\":3}}}", dv1.path_or_inline,
			 (int) dv1.size_in_bytes);
	cr_assert(strstr(rm, want), "%s\nwant %s", rm, want);
	free(rm);
	free(log);
	s = snap(&st, -1);
	cr_assert_eq(s->nfiles, 1);
	cr_assert_eq(s->files[0].add.dv.cardinality, 4);
	cr_assert_str_neq(s->files[0].add.dv.path_or_inline, dv1.path_or_inline);
	/* the stats keep one tightBounds */
	const char *tb = strstr(s->files[0].add.stats, "tightBounds");
	cr_assert_not_null(tb);
	cr_assert_null(strstr(tb + 1, "tightBounds"));
	dl_snapshot_free(s);

	/* rows already deleted: nothing to commit for that file */
	uint64_t d3[] = {1};
	delete_rows(&st, d3, 1, LK_OK);
	log = commit_text(&st, 4);
	cr_assert_eq(count_lines(log), 1, "%s", log);
	free(log);

	/* out of range */
	uint64_t d4[] = {20};
	delete_rows(&st, d4, 1, LK_ERR_INVALID);

	/* deleting every remaining row removes the file */
	uint64_t all[20];
	for (int i = 0; i < 20; i++)
		all[i] = (uint64_t) i;
	delete_rows(&st, all, 20, LK_OK);
	s = snap(&st, -1);
	cr_assert_eq(s->nfiles, 0);
	cr_assert_eq(s->version, 5);
	dl_snapshot_free(s);
	free((char *) dv1.path_or_inline);
	free(path0);
	st_store_close(&st);
}

Test(dwrite, delete_without_dvs_rewrites_file)
{
	st_store st;
	open_table(&st, "t");
	create(&st, simple_schema(), NULL);
	append(&st, 0, 20);
	dl_snapshot *s0 = snap(&st, -1);
	char *path0 = strdup(s0->files[0].add.path);
	dl_snapshot_free(s0);
	uint64_t d[] = {0, 2, 19};
	delete_rows(&st, d, 3, LK_OK);
	int64_t gone[] = {0, 2, 19};
	expect_ids(&st, -1, 0, 20, gone, 3);
	dl_snapshot *s = snap(&st, -1);
	cr_assert_eq(s->nfiles, 1);
	cr_assert_str_neq(s->files[0].add.path, path0);
	cr_assert_not(s->files[0].add.has_dv);
	cr_assert(strncmp(s->files[0].add.stats, "{\"numRecords\":17,\"minValues\":{\"id\":1,", 36) == 0,
			  "%s", s->files[0].add.stats);
	cr_assert_eq(s->ntombstones, 1);
	cr_assert_str_eq(s->tombstones[0].path, path0);
	dl_snapshot_free(s);
	free(path0);
	st_store_close(&st);
}

/* ---- change data feed ------------------------------------------------------------------ */

typedef struct cdc_rows {
	int64_t ids[64];
	char types[64][24];
	int n;
} cdc_rows;

/* Every row of every cdc file of commit v: (id, _change_type). */
static void
read_cdc(st_store *st, int64_t v, cdc_rows *out)
{
	memset(out, 0, sizeof(*out));
	char *log = commit_text(st, v);
	cr_assert_not_null(log);
	lk_arena a;
	lk_arena_init(&a, 0);
	dl_action *acts;
	size_t n;
	lk_error err;
	cr_assert(dl_actions_parse(log, strlen(log), "commit", &a, &acts, &n, &err), "%s", errs(&err));
	for (size_t i = 0; i < n; i++) {
		if (acts[i].type != DL_ACT_CDC)
			continue;
		cr_assert(strncmp(acts[i].u.cdc.path, "_change_data/cdc-", 17) == 0, "%s", acts[i].u.cdc.path);
		cr_assert_not(acts[i].u.cdc.data_change);
		st_file f;
		cr_assert(st_open_read(st, acts[i].u.cdc.path, &f, &err), "%s", errs(&err));
		cr_assert_eq((int64_t) f.size, acts[i].u.cdc.size);
		pq_input in = {f.ctx, f.size, f.name, f.read_at, f.close};
		pq_reader *r = pq_reader_open(&in, &err);
		cr_assert_not_null(r);
		const lk_type *fs = pq_reader_schema(r);
		cr_assert_str_eq(fs->children[fs->nchildren - 1].name, "_change_type");
		const char *cols[] = {"id", "_change_type"};
		cr_assert(pq_reader_project(r, cols, 2, &err));
		lk_batch *b = lk_batch_new(pq_reader_output_schema(r));
		for (int rg = 0; rg < pq_reader_num_row_groups(r); rg++) {
			cr_assert(pq_reader_read_row_group(r, rg, b, &err), "%s", errs(&err));
			for (int64_t k = 0; k < b->nrows; k++) {
				out->ids[out->n] = LK_COL_VALUES(&b->cols[0], int64_t)[k];
				int64_t len;
				const uint8_t *p = lk_column_bytes(&b->cols[1], k, &len);
				memcpy(out->types[out->n], p, (size_t) len);
				out->n++;
			}
		}
		lk_batch_free(b);
		pq_reader_free(r);
	}
	lk_arena_free(&a);
	free(log);
}

static const char *
cdc_type_of(const cdc_rows *r, int64_t id)
{
	for (int i = 0; i < r->n; i++)
		if (r->ids[i] == id)
			return r->types[i];
	return NULL;
}

Test(dwrite, change_data_feed_files)
{
	st_store st;
	open_table(&st, "t");
	dl_table_options o;
	dl_table_options_init(&o);
	o.deletion_vectors = true;
	o.change_data_feed = true;
	create(&st, simple_schema(), &o);
	append(&st, 0, 10);
	cdc_rows r;
	read_cdc(&st, 1, &r);
	cr_assert_eq(r.n, 0, "a plain append needs no cdc file");

	/* delete rows 2, 3 and insert 10..14 in one commit */
	dl_snapshot *s = snap(&st, -1);
	dl_commit *c = dl_commit_begin(&st, s, "MERGE");
	lk_error err;
	uint64_t d[] = {2, 3};
	cr_assert(dl_delete_rows(c, &s->files[0].add, d, 2, &err));
	lk_batch *b = simple_rows(s->schema.type, 10, 5, -1);
	cr_assert(dl_write_batch(c, b, NULL, &err), "%s", errs(&err));
	cr_assert(dl_commit_run(c, NULL, &err), "%s", errs(&err));
	dl_commit_free(c);
	dl_snapshot_free(s);
	lk_batch_free(b);
	read_cdc(&st, 2, &r);
	cr_assert_eq(r.n, 7);
	cr_assert_str_eq(cdc_type_of(&r, 2), "delete");
	cr_assert_str_eq(cdc_type_of(&r, 3), "delete");
	for (int64_t id = 10; id < 15; id++)
		cr_assert_str_eq(cdc_type_of(&r, id), "insert");
	int64_t gone[] = {2, 3};
	expect_ids(&st, -1, 0, 15, gone, 2);

	/* removing a file with a DV: its live rows are deleted */
	s = snap(&st, -1);
	const dl_file *dvf = s->files[0].add.has_dv ? &s->files[0] : &s->files[1];
	c = dl_commit_begin(&st, s, "DELETE");
	cr_assert(dl_remove_file(c, &dvf->add, true, &err));
	cr_assert(dl_commit_run(c, NULL, &err), "%s", errs(&err));
	dl_commit_free(c);
	dl_snapshot_free(s);
	read_cdc(&st, 3, &r);
	cr_assert_eq(r.n, 8);
	for (int64_t id = 0; id < 10; id++)
		cr_assert_eq(cdc_type_of(&r, id) != NULL, id != 2 && id != 3, "id %" PRId64, id);
	expect_ids(&st, -1, 10, 15, NULL, 0);

	/* caller-written update images */
	s = snap(&st, -1);
	c = dl_commit_begin(&st, s, "UPDATE");
	lk_arena *a = &tarena;
	lk_type *ct = lk_type_struct(a, s->schema.type->nchildren + 1);
	for (int i = 0; i < s->schema.type->nchildren; i++)
		ct->children[i] = s->schema.type->children[i];
	ct->children[ct->nchildren - 1] = fld("_change_type", lk_type_new(a, LK_T_STRING), true);
	lk_batch *rows = simple_rows(s->schema.type, 11, 1, -1);
	lk_batch *cb = lk_batch_new(ct);
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < rows->ncols; i++)
			lk_column_append_range(&cb->cols[i], &rows->cols[i], 0, 1);
		const char *t = k ? "update_postimage" : "update_preimage";
		lk_column_append_bytes(&cb->cols[ct->nchildren - 1], t, (int64_t) strlen(t));
	}
	cr_assert(lk_batch_seal(cb));
	cr_assert(dl_cdc_write(c, cb, &err), "%s", errs(&err));
	cr_assert(dl_commit_run(c, NULL, &err), "%s", errs(&err));
	read_cdc(&st, 4, &r);
	cr_assert_eq(r.n, 2);
	cr_assert_str_eq(r.types[0], "update_preimage");
	cr_assert_str_eq(r.types[1], "update_postimage");
	lk_batch_free(cb);
	lk_batch_free(rows);
	dl_commit_free(c);
	dl_snapshot_free(s);
	st_store_close(&st);
}

/* ---- checkpoints ------------------------------------------------------------------- */

static void
same_snapshot(const dl_snapshot *a, const dl_snapshot *b)
{
	cr_assert_eq(a->version, b->version);
	cr_assert_eq(a->protocol.min_reader_version, b->protocol.min_reader_version);
	cr_assert_eq(a->protocol.min_writer_version, b->protocol.min_writer_version);
	cr_assert_eq(a->protocol.writer_features.n, b->protocol.writer_features.n);
	for (int i = 0; i < a->protocol.writer_features.n; i++)
		cr_assert_str_eq(a->protocol.writer_features.items[i], b->protocol.writer_features.items[i]);
	cr_assert_eq(a->protocol.reader_features.n, b->protocol.reader_features.n);
	cr_assert_str_eq(a->metadata.id, b->metadata.id);
	cr_assert_str_eq(a->metadata.schema_string, b->metadata.schema_string);
	cr_assert_eq(a->metadata.created_time, b->metadata.created_time);
	cr_assert_eq(a->metadata.configuration.n, b->metadata.configuration.n);
	for (int i = 0; i < a->metadata.configuration.n; i++) {
		cr_assert_str_eq(a->metadata.configuration.items[i].key, b->metadata.configuration.items[i].key);
		cr_assert_str_eq(a->metadata.configuration.items[i].value, b->metadata.configuration.items[i].value);
	}
	cr_assert_eq(a->metadata.partition_columns.n, b->metadata.partition_columns.n);
	cr_assert_eq(a->nfiles, b->nfiles);
	for (size_t i = 0; i < a->nfiles; i++) {
		const dl_add *x = &a->files[i].add, *y = &b->files[i].add;
		cr_assert_str_eq(x->path, y->path);
		cr_assert_eq(x->size, y->size);
		cr_assert_eq(x->modification_time, y->modification_time);
		cr_assert_str_eq(x->stats, y->stats);
		cr_assert_eq(x->partition_values.n, y->partition_values.n);
		for (int k = 0; k < x->partition_values.n; k++) {
			cr_assert_str_eq(x->partition_values.items[k].key, y->partition_values.items[k].key);
			cr_assert((x->partition_values.items[k].value == NULL) ==
					  (y->partition_values.items[k].value == NULL));
			if (x->partition_values.items[k].value)
				cr_assert_str_eq(x->partition_values.items[k].value, y->partition_values.items[k].value);
		}
		cr_assert_eq(x->has_dv, y->has_dv);
		if (x->has_dv) {
			cr_assert_eq(x->dv.storage_type, y->dv.storage_type);
			cr_assert_str_eq(x->dv.path_or_inline, y->dv.path_or_inline);
			cr_assert_eq(x->dv.offset, y->dv.offset);
			cr_assert_eq(x->dv.size_in_bytes, y->dv.size_in_bytes);
			cr_assert_eq(x->dv.cardinality, y->dv.cardinality);
		}
	}
	cr_assert_eq(a->ntombstones, b->ntombstones);
	for (size_t i = 0; i < a->ntombstones; i++) {
		cr_assert_str_eq(a->tombstones[i].path, b->tombstones[i].path);
		cr_assert_eq(a->tombstones[i].deletion_timestamp, b->tombstones[i].deletion_timestamp);
		cr_assert_eq(a->tombstones[i].has_dv, b->tombstones[i].has_dv);
		cr_assert_eq(a->tombstones[i].size, b->tombstones[i].size);
	}
	cr_assert_eq(a->ntxns, b->ntxns);
	for (size_t i = 0; i < a->ntxns; i++) {
		cr_assert_str_eq(a->txns[i].app_id, b->txns[i].app_id);
		cr_assert_eq(a->txns[i].version, b->txns[i].version);
		cr_assert_eq(a->txns[i].last_updated, b->txns[i].last_updated);
	}
}

typedef struct count_ctx {
	int n[DL_ACT_SIDECAR + 1];
} count_ctx;

static bool
count_cb(void *ctx, const dl_action *a, lk_error *err)
{
	((count_ctx *) ctx)->n[a->type]++;
	return true;
}

Test(dwrite, checkpoint_write_and_read_back)
{
	st_store st;
	open_table(&st, "t");
	dl_table_options o;
	dl_table_options_init(&o);
	o.deletion_vectors = true;
	const char *pc[] = {"flag"};
	o.partition_columns = pc;
	o.npartition_columns = 1;
	create(&st, simple_schema(), &o);
	/* files in two partitions, txns, a DV, a remove */
	for (int i = 0; i < 3; i++) {
		dl_snapshot *s = snap(&st, -1);
		dl_commit *c = dl_commit_begin(&st, s, "WRITE");
		lk_batch *b = simple_rows(s->schema.type, i * 4, 4, -1);
		lk_error err;
		cr_assert(dl_commit_set_txn(c, i == 2 ? "app-b" : "app-a", 100 + i, &err));
		cr_assert(dl_write_batch(c, b, NULL, &err), "%s", errs(&err));
		cr_assert(dl_commit_run(c, NULL, &err), "%s", errs(&err));
		lk_batch_free(b);
		dl_commit_free(c);
		dl_snapshot_free(s);
	}
	dl_snapshot *s = snap(&st, -1);
	cr_assert_eq(s->nfiles, 6);
	cr_assert(strncmp(s->files[0].add.path, "flag=false/", 11) == 0);
	cr_assert(strncmp(s->files[5].add.path, "flag=true/", 10) == 0);
	lk_error err;
	dl_commit *c = dl_commit_begin(&st, s, "DELETE");
	uint64_t row = 0;
	cr_assert(dl_delete_rows(c, &s->files[0].add, &row, 1, &err));
	cr_assert(dl_remove_file(c, &s->files[5].add, true, &err));
	cr_assert(dl_commit_run(c, NULL, &err), "%s", errs(&err));
	cr_assert_eq(dl_commit_version(c), 4);
	dl_commit_free(c);
	dl_snapshot_free(s);

	dl_checkpoint_result r;
	cr_assert(dl_checkpoint_write(&st, -1, &r, &err), "%s", errs(&err));
	cr_assert_eq(r.version, 4);
	cr_assert_not(r.existed);
	cr_assert_eq(r.num_add_files, 5);
	/* protocol, metaData, 2 txns, 5 adds, 2 tombstones (the DV update and the remove) */
	cr_assert_eq(r.size, 11);
	st_stat sb;
	cr_assert(st_stat_object(&st, "_delta_log/00000000000000000004.checkpoint.parquet", &sb, &err));
	cr_assert_eq((int64_t) sb.size, r.size_in_bytes);
	char *lc = slurp(&st, "_delta_log/_last_checkpoint");
	char want[256];
	snprintf(want, sizeof(want), "{\"version\":4,\"size\":11,\"sizeInBytes\":%" PRId64
			 ",\"numOfAddFiles\":5}\n", r.size_in_bytes);
	cr_assert_str_eq(lc, want);
	free(lc);

	/* the read side's checkpoint reader sees every action */
	count_ctx cc = {{0}};
	lk_arena a;
	lk_arena_init(&a, 0);
	cr_assert(dl_checkpoint_read_parquet(&st, "_delta_log/00000000000000000004.checkpoint.parquet",
										 &a, count_cb, &cc, &err), "%s", errs(&err));
	cr_assert_eq(cc.n[DL_ACT_PROTOCOL], 1);
	cr_assert_eq(cc.n[DL_ACT_METADATA], 1);
	cr_assert_eq(cc.n[DL_ACT_TXN], 2);
	cr_assert_eq(cc.n[DL_ACT_ADD], 5);
	cr_assert_eq(cc.n[DL_ACT_REMOVE], 2);
	lk_arena_free(&a);

	/* the snapshot from the checkpoint equals the one from the JSON log */
	dl_snapshot *from_cp = snap(&st, -1);
	cr_assert_eq(from_cp->checkpoint_version, 4);
	char p1[600], p2[600];
	snprintf(p1, sizeof(p1), "%s/t/_delta_log/00000000000000000004.checkpoint.parquet", tmpdir);
	snprintf(p2, sizeof(p2), "%s/t/_delta_log/hidden.parquet", tmpdir);
	cr_assert_eq(rename(p1, p2), 0);
	dl_snapshot *from_json = snap(&st, -1);
	cr_assert_eq(from_json->checkpoint_version, -1);
	same_snapshot(from_cp, from_json);
	cr_assert_eq(rename(p2, p1), 0);
	dl_snapshot_free(from_cp);
	dl_snapshot_free(from_json);

	/* writing it again keeps the existing file */
	cr_assert(dl_checkpoint_write(&st, 4, &r, &err), "%s", errs(&err));
	cr_assert(r.existed);
	/* an older checkpoint does not move _last_checkpoint back */
	cr_assert(dl_checkpoint_write(&st, 2, &r, &err), "%s", errs(&err));
	cr_assert_eq(r.version, 2);
	lc = slurp(&st, "_delta_log/_last_checkpoint");
	cr_assert(strncmp(lc, "{\"version\":4,", 13) == 0, "%s", lc);
	free(lc);
	dl_snapshot *v3 = snap(&st, 3);
	cr_assert_eq(v3->checkpoint_version, 2);
	cr_assert_eq(v3->nfiles, 6);
	dl_snapshot_free(v3);
	size_t n;
	int64_t *ids = scan_ids(&st, -1, &n);
	cr_assert_eq(n, 12 - 1 - 2);   /* a 2-row file removed, one row deleted */
	free(ids);
	st_store_close(&st);
}

Test(dwrite, automatic_checkpoints_every_interval)
{
	st_store st;
	open_table(&st, "t");
	dl_table_options o;
	dl_table_options_init(&o);
	o.checkpoint_interval = 3;
	create(&st, simple_schema(), &o);
	for (int i = 0; i < 7; i++)
		append(&st, i * 2, 2);
	lk_error err;
	st_stat sb;
	cr_assert(st_stat_object(&st, "_delta_log/00000000000000000003.checkpoint.parquet", &sb, &err));
	cr_assert(st_stat_object(&st, "_delta_log/00000000000000000006.checkpoint.parquet", &sb, &err));
	cr_assert_not(st_stat_object(&st, "_delta_log/00000000000000000007.checkpoint.parquet", &sb, &err));
	char *lc = slurp(&st, "_delta_log/_last_checkpoint");
	cr_assert(strncmp(lc, "{\"version\":6,\"size\":8,", 22) == 0, "%s", lc);
	free(lc);
	dl_snapshot *s = snap(&st, -1);
	cr_assert_eq(s->version, 7);
	cr_assert_eq(s->checkpoint_version, 6);
	cr_assert_eq(s->nfiles, 7);
	dl_snapshot_free(s);
	expect_ids(&st, -1, 0, 14, NULL, 0);
	st_store_close(&st);
}

/* ---- optimize ------------------------------------------------------------------------ */

Test(dwrite, optimize_compacts_and_purges_dvs)
{
	st_store st;
	open_table(&st, "t");
	dl_table_options o;
	dl_table_options_init(&o);
	o.deletion_vectors = true;
	create(&st, simple_schema(), &o);
	for (int i = 0; i < 5; i++)
		append(&st, i * 10, 10);
	lk_error err;
	dl_optimize_options oo;
	dl_optimize_options_init(&oo);
	oo.dry_run = true;
	dl_optimize_result r;
	cr_assert(dl_optimize(&st, &oo, &r, &err), "%s", errs(&err));
	cr_assert_eq(r.version, -1);
	cr_assert_eq(r.files_removed, 5);
	cr_assert_eq(r.partitions, 1);
	cr_assert_null(commit_text(&st, 6));

	oo.dry_run = false;
	cr_assert(dl_optimize(&st, &oo, &r, &err), "%s", errs(&err));
	cr_assert_eq(r.version, 6);
	cr_assert_eq(r.files_removed, 5);
	cr_assert_eq(r.files_added, 1);
	cr_assert_eq(r.rows_dropped, 0);
	char *log = commit_text(&st, 6);
	cr_assert_eq(count_lines(log), 7);
	char *ci = line_of(log, 0);
	cr_assert(strstr(ci, "\"operation\":\"OPTIMIZE\",\"operationParameters\":{\"predicate\":\"[]\","
						 "\"zOrderBy\":\"[]\",\"auto\":false}"), "%s", ci);
	for (int i = 1; i <= 5; i++) {
		char *l = line_of(log, i);
		cr_assert(strncmp(l, "{\"remove\":", 10) == 0, "%s", l);
		cr_assert(strstr(l, "\"dataChange\":false"), "%s", l);
		free(l);
	}
	char *ad = line_of(log, 6);
	cr_assert(strstr(ad, "\"dataChange\":false,\"stats\":\"{\\\"numRecords\\\":50,"), "%s", ad);
	free(ad);
	free(ci);
	free(log);
	expect_ids(&st, -1, 0, 50, NULL, 0);

	/* nothing left to compact */
	cr_assert(dl_optimize(&st, &oo, &r, &err), "%s", errs(&err));
	cr_assert_eq(r.version, -1);
	cr_assert_eq(r.files_removed, 0);

	/* a DV on the big file + a new small file: both rewritten, deleted rows dropped */
	uint64_t d[] = {3, 4, 40};
	delete_rows(&st, d, 3, LK_OK);
	append(&st, 50, 5);
	cr_assert(dl_optimize(&st, &oo, &r, &err), "%s", errs(&err));
	cr_assert_eq(r.version, 9);
	cr_assert_eq(r.files_removed, 2);
	cr_assert_eq(r.rows_dropped, 3);
	dl_snapshot *s = snap(&st, -1);
	cr_assert_eq(s->nfiles, 1);
	cr_assert_not(s->files[0].add.has_dv);
	cr_assert(strncmp(s->files[0].add.stats, "{\"numRecords\":52,", 17) == 0, "%s", s->files[0].add.stats);
	dl_snapshot_free(s);
	int64_t gone[] = {3, 4, 40};
	expect_ids(&st, -1, 0, 55, gone, 3);
	st_store_close(&st);
}

Test(dwrite, optimize_per_partition_and_target_size)
{
	st_store st;
	open_table(&st, "t");
	dl_table_options o;
	dl_table_options_init(&o);
	const char *pc[] = {"flag"};
	o.partition_columns = pc;
	o.npartition_columns = 1;
	create(&st, simple_schema(), &o);
	for (int i = 0; i < 4; i++)
		append(&st, i * 10, 10);
	dl_snapshot *s = snap(&st, -1);
	cr_assert_eq(s->nfiles, 8);
	int64_t fsz = s->files[0].add.size;
	dl_snapshot_free(s);
	lk_error err;
	dl_optimize_options oo;
	dl_optimize_options_init(&oo);
	/* bins of at most 2 files */
	oo.target_size = fsz * 2 + fsz / 2;
	dl_optimize_result r;
	cr_assert(dl_optimize(&st, &oo, &r, &err), "%s", errs(&err));
	cr_assert_eq(r.partitions, 2);
	cr_assert_eq(r.files_removed, 8);
	cr_assert_eq(r.files_added, 4);
	s = snap(&st, -1);
	cr_assert_eq(s->nfiles, 4);
	for (size_t i = 0; i < 4; i++) {
		cr_assert(strncmp(s->files[i].add.path, i < 2 ? "flag=false/" : "flag=true/",
						  i < 2 ? 11 : 10) == 0, "%s", s->files[i].add.path);
		cr_assert_str_eq(s->files[i].add.partition_values.items[0].value, i < 2 ? "false" : "true");
		cr_assert(strncmp(s->files[i].add.stats, "{\"numRecords\":10,", 17) == 0);
	}
	dl_snapshot_free(s);
	expect_ids(&st, -1, 0, 40, NULL, 0);
	st_store_close(&st);
}

Test(dwrite, optimize_loses_to_concurrent_delete_not_to_append)
{
	st_store st;
	open_table(&st, "t");
	dl_table_options o;
	dl_table_options_init(&o);
	o.deletion_vectors = true;
	create(&st, simple_schema(), &o);
	append(&st, 0, 10);
	append(&st, 10, 10);
	dl_snapshot *s = snap(&st, -1);
	lk_error err;
	/* an OPTIMIZE transaction that read version 2 ... */
	dl_commit *opt = dl_commit_begin(&st, s, "OPTIMIZE");
	const dl_layout *l;
	cr_assert(dl_commit_layout(opt, &l, &err), "%s", errs(&err));
	dl_action rm;
	memset(&rm, 0, sizeof(rm));
	rm.type = DL_ACT_REMOVE;
	rm.u.remove.path = s->files[0].add.path;
	rm.u.remove.data_change = false;
	cr_assert(dl_commit_add_action(opt, &rm, &err));
	/* ... a concurrent append is fine */
	append(&st, 20, 5);
	dl_commit *opt2 = dl_commit_begin(&st, s, "OPTIMIZE");
	cr_assert(dl_commit_add_action(opt2, &rm, &err));
	cr_assert(dl_commit_run(opt, NULL, &err), "%s", errs(&err));
	cr_assert_eq(dl_commit_version(opt), 4);
	/* ... a concurrent DV delete of the same file is not */
	cr_assert_not(dl_commit_run(opt2, NULL, &err));
	cr_assert_eq(err.code, LK_ERR_CONFLICT);
	cr_assert(strstr(err.msg, "version 4 removed"), "%s", err.msg);
	dl_commit_free(opt);
	dl_commit_free(opt2);
	dl_snapshot_free(s);
	st_store_close(&st);
}

/* ---- vacuum ---------------------------------------------------------------------------- */

typedef struct vlist {
	char names[32][200];
	int n;
} vlist;

static void
vac_cb(void *ctx, const char *path, uint64_t size)
{
	vlist *v = ctx;
	if (v->n < 32)
		snprintf(v->names[v->n++], 200, "%s", path);
}

static bool
vlist_has(const vlist *v, const char *prefix)
{
	for (int i = 0; i < v->n; i++)
		if (strncmp(v->names[i], prefix, strlen(prefix)) == 0)
			return true;
	return false;
}

Test(dwrite, vacuum_deletes_only_unreferenced_old_files)
{
	st_store st;
	open_table(&st, "t");
	dl_table_options o;
	dl_table_options_init(&o);
	o.deletion_vectors = true;
	const char *pc[] = {"flag"};
	o.partition_columns = pc;
	o.npartition_columns = 1;
	create(&st, simple_schema(), &o);
	append(&st, 0, 10);
	append(&st, 10, 10);
	lk_error err;
	dl_optimize_result orr;
	cr_assert(dl_optimize(&st, NULL, &orr, &err), "%s", errs(&err));
	cr_assert_eq(orr.files_removed, 4);
	/* a DV on a live file, a stray file, a hidden file, an old temp file */
	dl_snapshot *s = snap(&st, -1);
	dl_commit *c = dl_commit_begin(&st, s, "DELETE");
	uint64_t row = 1;
	cr_assert(dl_delete_rows(c, &s->files[0].add, &row, 1, &err));
	cr_assert(dl_commit_run(c, NULL, &err), "%s", errs(&err));
	dl_commit_free(c);
	dl_snapshot_free(s);
	cr_assert(st_put(&st, "flag=true/stray.parquet", "x", 1, &err));
	cr_assert(st_put(&st, "_hidden/keep.txt", "x", 1, &err));
	cr_assert(st_put(&st, ".part-x.parquet.123.4.tmp", "x", 1, &err));
	int64_t before = 0;
	size_t nbefore;
	int64_t *ids = scan_ids(&st, -1, &nbefore);
	free(ids);
	before = (int64_t) nbefore;
	cr_assert_eq(before, 19);

	/* default retention (7 days): nothing is old enough */
	dl_vacuum_options vo;
	dl_vacuum_options_init(&vo);
	dl_vacuum_result r;
	cr_assert(dl_vacuum(&st, &vo, &r, &err), "%s", errs(&err));
	cr_assert_eq(r.files_deleted, 0);
	cr_assert_eq(r.files_kept, 2, "%" PRId64, r.files_kept);   /* stray, temp */
	/* a short retention needs force */
	vo.retention_ms = 0;
	cr_assert_not(dl_vacuum(&st, &vo, &r, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	cr_assert(strstr(err.msg, "--force"), "%s", err.msg);
	/* dry run lists */
	vlist vl = {0};
	vo.force = true;
	vo.dry_run = true;
	vo.now_ms = dl_now_ms() + 1000;
	vo.on_file = vac_cb;
	vo.ctx = &vl;
	cr_assert(dl_vacuum(&st, &vo, &r, &err), "%s", errs(&err));
	/* 4 compacted-away files, the stray, the temp; the DV file of the first
	 * delete is still referenced (the active file's DV) */
	cr_assert_eq(r.files_deleted, 6, "%" PRId64, r.files_deleted);
	cr_assert_eq(vl.n, 6);
	cr_assert(vlist_has(&vl, "flag=true/stray.parquet"));
	cr_assert(vlist_has(&vl, ".part-x.parquet.123.4.tmp"));
	st_stat sb;
	cr_assert(st_stat_object(&st, "flag=true/stray.parquet", &sb, &err));
	/* for real */
	vl.n = 0;
	vo.dry_run = false;
	cr_assert(dl_vacuum(&st, &vo, &r, &err), "%s", errs(&err));
	cr_assert_eq(r.files_deleted, 6);
	cr_assert_not(st_stat_object(&st, "flag=true/stray.parquet", &sb, &err));
	cr_assert(st_stat_object(&st, "_hidden/keep.txt", &sb, &err));
	cr_assert(st_stat_object(&st, "_delta_log/00000000000000000000.json", &sb, &err));
	s = snap(&st, -1);
	for (size_t i = 0; i < s->nfiles; i++) {
		cr_assert(st_stat_object(&st, s->files[i].path, &sb, &err), "%s", s->files[i].path);
		if (s->files[i].add.has_dv) {
			char *dp;
			cr_assert(dl_dv_path(&s->files[i].add.dv, &s->arena, &dp, &err));
			cr_assert(st_stat_object(&st, dp, &sb, &err), "%s", dp);
		}
	}
	dl_snapshot_free(s);
	ids = scan_ids(&st, -1, &nbefore);
	free(ids);
	cr_assert_eq((int64_t) nbefore, before);
	/* again: nothing */
	cr_assert(dl_vacuum(&st, &vo, &r, &err), "%s", errs(&err));
	cr_assert_eq(r.files_deleted, 0);
	st_store_close(&st);
}

/* ======================================================================== *
 * Driver for tests/oracle/delta_write.sh, tests/integration/delta_*.sh
 *
 *   LAKESYNC_DELTA_DRIVER="<mode> key=value ..." build/tests/test_delta_write \
 *       --filter driver/run
 *
 *   append  table=DIR n=N rows=R app=NAME [del=D] [interval=I] [optimize=K]
 *           create the driver table if absent (dv on); resume after the
 *           txn version of appId "driver/NAME"; N commits of R rows, commit
 *           k (k ≥ 1, k % D == 0) also deletes row (k-1, 0) by deletion
 *           vector; OPTIMIZE after every K-th commit; prints
 *           "commit K version V attempts A"
 *   verify  table=DIR apps=a,b rows=R [del=D] [versions=V]
 *           the rows are exactly those of the committed batches (from the
 *           txn versions), each once; versions 0..latest contiguous, every
 *           commit file parses, every checkpoint reads; prints "verify ok …"
 *   optimize|checkpoint table=DIR
 *   vacuum  table=DIR   (retention 0, forced)
 *   oracle  table=DIR kind=types|parts step=create|delete|checkpoint|more|
 *           optimize|vacuum   the oracle scenarios
 *   dump    table=DIR out=FILE   rows through dl_scan → FILE (Parquet),
 *           active files → FILE.files.json
 * ======================================================================== */

typedef struct dargs {
	char mode[32];
	char keys[24][32];
	char vals[24][1024];
	int n;
} dargs;

static dargs DA;

static const char *
arg(const char *k, const char *dflt)
{
	for (int i = 0; i < DA.n; i++)
		if (strcmp(DA.keys[i], k) == 0)
			return DA.vals[i];
	return dflt;
}

static int64_t
argi(const char *k, int64_t dflt)
{
	const char *v = arg(k, NULL);
	return v ? strtoll(v, NULL, 10) : dflt;
}

static void
parse_driver(const char *s)
{
	memset(&DA, 0, sizeof(DA));
	char *copy = strdup(s), *save = NULL;
	char *tok = strtok_r(copy, " ", &save);
	if (tok)
		snprintf(DA.mode, sizeof(DA.mode), "%s", tok);
	while ((tok = strtok_r(NULL, " ", &save)) && DA.n < 24) {
		char *eq = strchr(tok, '=');
		if (!eq)
			continue;
		*eq = '\0';
		snprintf(DA.keys[DA.n], 32, "%s", tok);
		snprintf(DA.vals[DA.n], 1024, "%s", eq + 1);
		DA.n++;
	}
	free(copy);
}

static void
driver_store(st_store *st)
{
	const char *t = arg("table", NULL);
	cr_assert_not_null(t, "table= is required");
	lk_error err;
	cr_assert(st_store_open(st, t, 0, &err), "%s", errs(&err));
}

/* app string, batch long, seq long, id long, v double, note string */
static lk_type *
driver_schema(void)
{
	lk_arena *a = &tarena;
	lk_type *t = lk_type_struct(a, 6);
	t->children[0] = fld("app", lk_type_new(a, LK_T_STRING), false);
	t->children[1] = fld("batch", lk_type_new(a, LK_T_LONG), false);
	t->children[2] = fld("seq", lk_type_new(a, LK_T_LONG), false);
	t->children[3] = fld("id", lk_type_new(a, LK_T_LONG), false);
	t->children[4] = fld("v", lk_type_new(a, LK_T_DOUBLE), true);
	t->children[5] = fld("note", lk_type_new(a, LK_T_STRING), true);
	return t;
}

static lk_batch *
driver_rows(const lk_type *schema, const char *app, int64_t k, int64_t rows)
{
	lk_batch *b = lk_batch_new(schema);
	char note[128];
	for (int64_t i = 0; i < rows; i++) {
		lk_column_append_bytes(&b->cols[0], app, (int64_t) strlen(app));
		lk_column_append_i64(&b->cols[1], k);
		lk_column_append_i64(&b->cols[2], i);
		lk_column_append_i64(&b->cols[3], k * rows + i);
		lk_column_append_f64(&b->cols[4], (double) (k * rows + i) * 0.25);
		if (i % 5 == 4) {
			lk_column_append_null(&b->cols[5]);
		} else {
			snprintf(note, sizeof(note), "row %s-%" PRId64 "-%" PRId64, app, k, i);
			lk_column_append_bytes(&b->cols[5], note, (int64_t) strlen(note));
		}
	}
	cr_assert(lk_batch_seal(b));
	return b;
}

typedef struct find_ctx {
	const char *app;
	int64_t batch, seq;
	int64_t row0;       /* physical row of the batch's first row */
	int64_t found;      /* physical row, -1 */
} find_ctx;

static bool
find_cb(void *ctx, const lk_batch *b, lk_error *err)
{
	find_ctx *f = ctx;
	for (int64_t i = 0; i < b->nrows && f->found < 0; i++) {
		int64_t len;
		const uint8_t *p = lk_column_bytes(&b->cols[0], i, &len);
		if ((size_t) len == strlen(f->app) && memcmp(p, f->app, (size_t) len) == 0 &&
			LK_COL_VALUES(&b->cols[1], int64_t)[i] == f->batch &&
			LK_COL_VALUES(&b->cols[2], int64_t)[i] == f->seq)
			f->found = f->row0 + i;
	}
	f->row0 += b->nrows;
	return true;
}

/* Physical row of (app, batch, seq) in the snapshot: *file, *row; false
 * when absent (already deleted rows count as absent). */
static bool
find_row(st_store *st, const dl_snapshot *s, const dl_layout *l, const char *app,
		 int64_t batch, int64_t seq, const dl_file **file, uint64_t *row)
{
	lk_error err;
	for (size_t i = 0; i < s->nfiles; i++) {
		find_ctx f = {app, batch, seq, 0, -1};
		cr_assert(dl_data_file_read(st, l, s->files[i].path, NULL, NULL, find_cb, &f, &err),
				  "%s", errs(&err));
		if (f.found >= 0) {
			dl_bitmap dv;
			dl_bitmap_init(&dv);
			bool dead = false;
			if (s->files[i].add.has_dv) {
				cr_assert(dl_dv_load(st, &s->files[i].add.dv, &dv, &err), "%s", errs(&err));
				dead = dl_bitmap_contains(&dv, (uint64_t) f.found);
			}
			dl_bitmap_free(&dv);
			if (dead)
				return false;
			*file = &s->files[i];
			*row = (uint64_t) f.found;
			return true;
		}
	}
	return false;
}

static void
drv_append(void)
{
	st_store st;
	driver_store(&st);
	const char *app = arg("app", "a");
	int64_t n = argi("n", 10), rows = argi("rows", 3), del = argi("del", 0);
	int64_t opt_every = argi("optimize", 0);
	lk_error err;
	dl_table_options o;
	dl_table_options_init(&o);
	o.deletion_vectors = true;
	o.checkpoint_interval = argi("interval", 0);
	if (!dl_table_create(&st, driver_schema(), &o, &err))
		cr_assert_eq(err.code, LK_ERR_CONFLICT, "%s", errs(&err));
	char app_id[128];
	snprintf(app_id, sizeof(app_id), "driver/%s", app);
	dl_snapshot *s = snap(&st, -1);
	int64_t k = dl_snapshot_txn_version(s, app_id) + 1;
	dl_commit *prev = NULL;
	for (int64_t done = 0; done < n; done++, k++) {
		bool deletes = del > 0 && k > 0 && k % del == 0;
		dl_commit *c;
		if (deletes || !prev) {
			if (!s)
				s = snap(&st, -1);
			c = dl_commit_begin(&st, s, deletes ? "MERGE" : "WRITE");
		} else {
			c = dl_commit_next(prev, "WRITE");
		}
		cr_assert(dl_commit_set_txn(c, app_id, k, &err), "%s", errs(&err));
		lk_batch *b = driver_rows(dl_commit_schema(c)->type, app, k, rows);
		cr_assert(dl_write_batch(c, b, NULL, &err), "%s", errs(&err));
		if (deletes) {
			const dl_layout *l;
			cr_assert(dl_commit_layout(c, &l, &err), "%s", errs(&err));
			const dl_file *f;
			uint64_t row;
			cr_assert(find_row(&st, s, l, app, k - 1, 0, &f, &row),
					  "row (%s, %" PRId64 ", 0) not found", app, k - 1);
			cr_assert(dl_delete_rows(c, &f->add, &row, 1, &err), "%s", errs(&err));
		}
		dl_commit_options co;
		dl_commit_options_init(&co);
		co.max_attempts = 100000;
		cr_assert(dl_commit_run(c, &co, &err), "%s", errs(&err));
		printf("commit %" PRId64 " version %" PRId64 " attempts %d\n", k, dl_commit_version(c),
			   dl_commit_attempts(c));
		fflush(stdout);
		lk_batch_free(b);
		dl_commit_free(prev);
		prev = c;
		if (s) {
			dl_snapshot_free(s);
			s = NULL;
		}
		if (opt_every > 0 && k % opt_every == opt_every - 1) {
			dl_optimize_result r;
			cr_assert(dl_optimize(&st, NULL, &r, &err), "%s", errs(&err));
			printf("optimize version %" PRId64 "\n", r.version);
			fflush(stdout);
			dl_commit_free(prev);
			prev = NULL;
		}
	}
	dl_commit_free(prev);
	if (s)
		dl_snapshot_free(s);
	st_store_close(&st);
}

static void
check_log_files(st_store *st, int64_t *latest)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	dl_log_file *f;
	size_t n;
	lk_error err;
	cr_assert(dl_log_list(st, &a, &f, &n, &err), "%s", errs(&err));
	int64_t expect = 0;
	for (size_t i = 0; i < n; i++) {
		char path[600];
		snprintf(path, sizeof(path), "_delta_log/%s", f[i].name);
		if (f[i].kind == DL_LOG_COMMIT) {
			cr_assert_eq(f[i].version, expect, "version %" PRId64 " missing", expect);
			expect++;
			char *text = slurp(st, path);
			cr_assert_not_null(text);
			dl_action *acts;
			size_t na;
			cr_assert(dl_actions_parse(text, strlen(text), path, &a, &acts, &na, &err), "%s",
					  errs(&err));
			cr_assert_gt(na, 0, "%s is empty", path);
			cr_assert_eq(acts[0].type, DL_ACT_COMMIT_INFO, "%s", path);
			cr_assert_eq(text[strlen(text) - 1], '\n', "%s is not complete", path);
			free(text);
		} else if (f[i].kind == DL_LOG_CHECKPOINT) {
			count_ctx cc = {{0}};
			cr_assert(dl_checkpoint_read_parquet(st, path, &a, count_cb, &cc, &err), "%s",
					  errs(&err));
			cr_assert_eq(cc.n[DL_ACT_PROTOCOL], 1);
			cr_assert_eq(cc.n[DL_ACT_METADATA], 1);
		}
	}
	*latest = expect - 1;
	lk_arena_free(&a);
}

static void
drv_verify(void)
{
	st_store st;
	driver_store(&st);
	int64_t rows = argi("rows", 3), del = argi("del", 0);
	int64_t latest;
	check_log_files(&st, &latest);
	if (arg("versions", NULL))
		cr_assert_eq(latest, argi("versions", 0), "latest version %" PRId64, latest);
	dl_snapshot *s = snap(&st, -1);
	cr_assert_eq(s->version, latest);
	char apps[1024];
	snprintf(apps, sizeof(apps), "%s", arg("apps", "a"));
	char *names[16];
	int napps = 0;
	for (char *sv, *t = strtok_r(apps, ",", &sv); t && napps < 16; t = strtok_r(NULL, ",", &sv))
		names[napps++] = t;
	int64_t kmax[16];
	uint8_t *seen[16];
	int64_t expect_total = 0;
	for (int i = 0; i < napps; i++) {
		char app_id[128];
		snprintf(app_id, sizeof(app_id), "driver/%s", names[i]);
		kmax[i] = dl_snapshot_txn_version(s, app_id);
		seen[i] = calloc((size_t) ((kmax[i] + 1) * rows + 1), 1);
		int64_t deleted = 0;
		for (int64_t k = 1; del > 0 && k <= kmax[i]; k++)
			if (k % del == 0)
				deleted++;
		expect_total += (kmax[i] + 1) * rows - deleted;
	}
	dl_scan *sc;
	lk_error err;
	cr_assert(dl_scan_open(s, &sc, &err), "%s", errs(&err));
	int64_t total = 0;
	for (;;) {
		lk_batch *b;
		cr_assert(dl_scan_next(sc, &b, &err), "%s", errs(&err));
		if (!b)
			break;
		for (int64_t r = 0; r < b->nrows; r++) {
			int64_t len;
			const uint8_t *p = lk_column_bytes(&b->cols[0], r, &len);
			int64_t k = LK_COL_VALUES(&b->cols[1], int64_t)[r];
			int64_t q = LK_COL_VALUES(&b->cols[2], int64_t)[r];
			int ai = -1;
			for (int i = 0; i < napps; i++)
				if ((size_t) len == strlen(names[i]) && memcmp(p, names[i], (size_t) len) == 0)
					ai = i;
			cr_assert_geq(ai, 0, "row of an unknown app %.*s", (int) len, p);
			cr_assert(k >= 0 && k <= kmax[ai] && q >= 0 && q < rows,
					  "row (%s, %" PRId64 ", %" PRId64 ") of an uncommitted batch (txn %" PRId64 ")",
					  names[ai], k, q, kmax[ai]);
			cr_assert(!(del > 0 && q == 0 && k + 1 <= kmax[ai] && (k + 1) % del == 0),
					  "deleted row (%s, %" PRId64 ", 0) is visible", names[ai], k);
			cr_assert_eq(LK_COL_VALUES(&b->cols[3], int64_t)[r], k * rows + q);
			cr_assert_not(seen[ai][k * rows + q], "row (%s, %" PRId64 ", %" PRId64 ") twice",
						  names[ai], k, q);
			seen[ai][k * rows + q] = 1;
			total++;
		}
	}
	cr_assert_eq(total, expect_total, "%" PRId64 " rows, expected %" PRId64, total, expect_total);
	printf("verify ok rows=%" PRId64 " version=%" PRId64 " files=%zu checkpoint=%" PRId64 "\n",
		   total, s->version, s->nfiles, s->checkpoint_version);
	for (int i = 0; i < napps; i++) {
		printf("app %s txn %" PRId64 "\n", names[i], kmax[i]);
		free(seen[i]);
	}
	fflush(stdout);
	dl_scan_free(sc);
	dl_snapshot_free(s);
	st_store_close(&st);
}

static void
drv_maint(void)
{
	st_store st;
	driver_store(&st);
	lk_error err;
	if (!strcmp(DA.mode, "optimize")) {
		dl_optimize_result r;
		cr_assert(dl_optimize(&st, NULL, &r, &err), "%s", errs(&err));
		printf("optimize version %" PRId64 " removed %" PRId64 " added %" PRId64 "\n", r.version,
			   r.files_removed, r.files_added);
	} else if (!strcmp(DA.mode, "checkpoint")) {
		dl_checkpoint_result r;
		cr_assert(dl_checkpoint_write(&st, -1, &r, &err), "%s", errs(&err));
		printf("checkpoint version %" PRId64 "\n", r.version);
	} else {
		dl_vacuum_options o;
		dl_vacuum_options_init(&o);
		o.retention_ms = 0;
		o.force = true;
		o.now_ms = dl_now_ms() + 1000;
		dl_vacuum_result r;
		cr_assert(dl_vacuum(&st, &o, &r, &err), "%s", errs(&err));
		printf("vacuum deleted %" PRId64 "\n", r.files_deleted);
	}
	fflush(stdout);
	st_store_close(&st);
}

/* ---- oracle scenarios ---------------------------------------------------------------- */

static lk_type *
types_schema(void)
{
	lk_arena *a = &tarena;
	lk_type *z = lk_type_struct(a, 1);
	z->children[0] = fld("w", lk_type_new(a, LK_T_DOUBLE), true);
	lk_type *st = lk_type_struct(a, 3);
	st->children[0] = fld("x", lk_type_new(a, LK_T_INT), true);
	st->children[1] = fld("y", lk_type_new(a, LK_T_STRING), true);
	st->children[2] = fld("z", z, true);
	lk_type *t = lk_type_struct(a, 17);
	t->children[0] = fld("id", lk_type_new(a, LK_T_LONG), false);
	t->children[1] = fld("i", lk_type_new(a, LK_T_INT), true);
	t->children[2] = fld("sh", lk_type_new(a, LK_T_SHORT), true);
	t->children[3] = fld("by", lk_type_new(a, LK_T_BYTE), true);
	t->children[4] = fld("b", lk_type_new(a, LK_T_BOOLEAN), true);
	t->children[5] = fld("f", lk_type_new(a, LK_T_FLOAT), true);
	t->children[6] = fld("d", lk_type_new(a, LK_T_DOUBLE), true);
	t->children[7] = fld("dec", lk_type_decimal(a, 10, 2), true);
	t->children[8] = fld("dec2", lk_type_decimal(a, 30, 6), true);
	t->children[9] = fld("s", lk_type_new(a, LK_T_STRING), true);
	t->children[10] = fld("bin", lk_type_new(a, LK_T_BINARY), true);
	t->children[11] = fld("dt", lk_type_new(a, LK_T_DATE), true);
	t->children[12] = fld("ts", lk_type_new(a, LK_T_TIMESTAMP), true);
	t->children[13] = fld("ntz", lk_type_new(a, LK_T_TIMESTAMP_NTZ), true);
	t->children[14] = fld("st", st, true);
	t->children[15] = fld("arr", lk_type_array(a, lk_type_new(a, LK_T_INT), true), true);
	t->children[16] = fld("m", lk_type_map(a, lk_type_new(a, LK_T_STRING),
										   lk_type_new(a, LK_T_LONG), true), true);
	return t;
}

static void
ap_text(lk_column *c, const char *s)
{
	lk_column_append_bytes(c, s, (int64_t) strlen(s));
}

static lk_batch *
types_rows(const lk_type *schema, int64_t from, int64_t to)
{
	lk_batch *b = lk_batch_new(schema);
	char buf[128];
	for (int64_t id = from; id < to; id++) {
		lk_column *c = b->cols;
		lk_column_append_i64(&c[0], id);
		if (id % 13 == 1)
			lk_column_append_null(&c[1]);
		else
			lk_column_append_i32(&c[1], (int32_t) (id * 7919 % 100000 - 50000));
		int16_t sh = (int16_t) (id % 30000 - 15000);
		lk_column_append_fixed(&c[2], &sh);
		int8_t by = (int8_t) (id % 256 - 128);
		lk_column_append_fixed(&c[3], &by);
		if (id % 10 == 9)
			lk_column_append_null(&c[4]);
		else
			lk_column_append_bool(&c[4], id % 3 == 0);
		if (id % 17 == 3)
			lk_column_append_null(&c[5]);
		else
			lk_column_append_f64(&c[5], (float) (id * 1.5 - 100.1));
		double d = id % 50 == 7 ? NAN : id % 50 == 8 ? INFINITY : id % 50 == 9 ? -INFINITY
																		   : (double) id / 3.0;
		lk_column_append_f64(&c[6], d);
		lk_column_append_i128(&c[7], (lk_int128) (id * 1234 - 50000));
		lk_int128 big = (lk_int128) id * 100000000000000000LL * 1000 + id;
		lk_column_append_i128(&c[8], id % 2 ? -big : big);
		switch (id % 4) {
		case 0: snprintf(buf, sizeof(buf), "plain-%" PRId64, id); ap_text(&c[9], buf); break;
		case 1: snprintf(buf, sizeof(buf), "\xc3\xbcn\xc3\xaf-%" PRId64 "-\xe2\x82\xac", id);
				ap_text(&c[9], buf); break;
		case 2: snprintf(buf, sizeof(buf), "long-long-long-long-long-long-long-%06" PRId64, id);
				ap_text(&c[9], buf); break;
		default:
			if (id % 8 == 3)
				lk_column_append_null(&c[9]);
			else
				ap_text(&c[9], "");
		}
		if (id % 9 == 4) {
			lk_column_append_null(&c[10]);
		} else {
			uint8_t bin[3] = {(uint8_t) id, 0, (uint8_t) (id >> 8)};
			lk_column_append_bytes(&c[10], bin, 3);
		}
		lk_column_append_i32(&c[11], (int32_t) (id * 37 - 25000));
		lk_column_append_i64(&c[12], (id - 100) * 86400000000LL / 7 + id);
		lk_column_append_i64(&c[13], id * 3600000000LL + 123456);
		lk_column *st = &c[14];
		if (id % 19 == 2) {
			lk_column_append_null(st);
		} else {
			lk_column_append_i32(&st->children[0], (int32_t) id);
			if (id % 3 == 0) {
				lk_column_append_null(&st->children[1]);
			} else {
				snprintf(buf, sizeof(buf), "y%" PRId64, id);
				ap_text(&st->children[1], buf);
			}
			lk_column *z = &st->children[2];
			if (id % 5 == 1) {
				lk_column_append_null(z);
			} else {
				lk_column_append_f64(&z->children[0], (double) id * 0.1);
				lk_column_append_struct(z);
			}
			lk_column_append_struct(st);
		}
		lk_column *arr = &c[15];
		if (id % 6 == 5) {
			lk_column_append_null(arr);
		} else {
			for (int k = 0; k < id % 4; k++) {
				if (id % 7 == 0 && k == 1)
					lk_column_append_null(&arr->children[0]);
				else
					lk_column_append_i32(&arr->children[0], (int32_t) (id + k));
			}
			lk_column_append_list(arr);
		}
		lk_column *m = &c[16];
		if (id % 8 == 7) {
			lk_column_append_null(m);
		} else {
			for (int k = 0; k <= id % 3; k++) {
				snprintf(buf, sizeof(buf), "k%d", k);
				ap_text(&m->children[0], buf);
				lk_column_append_i64(&m->children[1], id + k);
			}
			lk_column_append_list(m);
		}
	}
	cr_assert(lk_batch_seal(b));
	return b;
}

static lk_type *
parts_schema(void)
{
	lk_arena *a = &tarena;
	lk_type *t = lk_type_struct(a, 5);
	t->children[0] = fld("id", lk_type_new(a, LK_T_LONG), false);
	t->children[1] = fld("p", lk_type_new(a, LK_T_STRING), true);
	t->children[2] = fld("d", lk_type_new(a, LK_T_DATE), true);
	t->children[3] = fld("v", lk_type_new(a, LK_T_DOUBLE), true);
	t->children[4] = fld("note", lk_type_new(a, LK_T_STRING), true);
	return t;
}

static lk_batch *
parts_rows(const lk_type *schema, int64_t from, int64_t to)
{
	static const char *const pv[] = {"a/b", NULL, "x=y", "plain", "\xc3\xa9 t%:"};
	lk_batch *b = lk_batch_new(schema);
	char buf[64];
	for (int64_t id = from; id < to; id++) {
		lk_column_append_i64(&b->cols[0], id);
		if (pv[id % 5])
			ap_text(&b->cols[1], pv[id % 5]);
		else
			lk_column_append_null(&b->cols[1]);
		if (id % 11 == 10)
			lk_column_append_null(&b->cols[2]);
		else
			lk_column_append_i32(&b->cols[2], (int32_t) (19000 + (id / 7) % 3));
		lk_column_append_f64(&b->cols[3], (double) id * 1.5);
		snprintf(buf, sizeof(buf), "n%" PRId64, id);
		ap_text(&b->cols[4], buf);
	}
	cr_assert(lk_batch_seal(b));
	return b;
}

static bool is_types;

static void
oracle_append(st_store *st, int64_t from, int64_t to)
{
	dl_snapshot *s = snap(st, -1);
	dl_commit *c = dl_commit_begin(st, s, "WRITE");
	lk_batch *b = is_types ? types_rows(s->schema.type, from, to)
						   : parts_rows(s->schema.type, from, to);
	lk_error err;
	cr_assert(dl_write_batch(c, b, NULL, &err), "%s", errs(&err));
	cr_assert(dl_commit_run(c, NULL, &err), "%s", errs(&err));
	lk_batch_free(b);
	dl_commit_free(c);
	dl_snapshot_free(s);
}

/* The active file whose stats say min id == id (types: one file per append). */
static const dl_file *
file_with_min_id(const dl_snapshot *s, int64_t id)
{
	char needle[64];
	snprintf(needle, sizeof(needle), "\"minValues\":{\"id\":%" PRId64 ",", id);
	for (size_t i = 0; i < s->nfiles; i++)
		if (s->files[i].add.stats && strstr(s->files[i].add.stats, needle))
			return &s->files[i];
	cr_assert_fail("no file starts at id %" PRId64, id);
	return NULL;
}

static void
oracle_delete(st_store *st, const dl_file *(*pick)(const dl_snapshot *, int64_t), int64_t key,
			  const uint64_t *rows, size_t n, bool whole)
{
	dl_snapshot *s = snap(st, -1);
	dl_commit *c = dl_commit_begin(st, s, whole ? "DELETE" : "DELETE");
	lk_error err;
	const dl_file *f = pick(s, key);
	if (whole)
		cr_assert(dl_remove_file(c, &f->add, true, &err), "%s", errs(&err));
	else
		cr_assert(dl_delete_rows(c, &f->add, rows, n, &err), "%s", errs(&err));
	cr_assert(dl_commit_run(c, NULL, &err), "%s", errs(&err));
	dl_commit_free(c);
	dl_snapshot_free(s);
}

/* parts: the key-th active file in path order */
static const dl_file *
file_nth(const dl_snapshot *s, int64_t k)
{
	cr_assert_lt((size_t) k, s->nfiles);
	return &s->files[k];
}

static void
drv_oracle(void)
{
	st_store st;
	driver_store(&st);
	is_types = strcmp(arg("kind", "types"), "types") == 0;
	const char *step = arg("step", "create");
	lk_error err;
	if (!strcmp(step, "create")) {
		dl_table_options o;
		dl_table_options_init(&o);
		const char *pc[] = {"p", "d"};
		if (is_types) {
			o.deletion_vectors = true;
		} else {
			o.change_data_feed = true;
			o.partition_columns = pc;
			o.npartition_columns = 2;
		}
		cr_assert(dl_table_create(&st, is_types ? types_schema() : parts_schema(), &o, &err),
				  "%s", errs(&err));
		oracle_append(&st, 0, 100);
		oracle_append(&st, 100, 200);
		oracle_append(&st, 200, 250);
	} else if (!strcmp(step, "delete")) {
		uint64_t r1[] = {3, 10, 50}, r2[] = {10, 11, 99}, r3[] = {0};
		if (is_types) {
			oracle_delete(&st, file_with_min_id, 0, r1, 3, false);
			oracle_delete(&st, file_with_min_id, 0, r2, 3, false);
			oracle_delete(&st, file_with_min_id, 100, NULL, 0, true);
			oracle_delete(&st, file_with_min_id, 200, r3, 1, false);
		} else {
			oracle_delete(&st, file_nth, 0, r3, 1, false);
			oracle_delete(&st, file_nth, 3, r3, 1, false);
			oracle_delete(&st, file_nth, 5, NULL, 0, true);
		}
		oracle_append(&st, 250, 300);
	} else if (!strcmp(step, "checkpoint")) {
		dl_checkpoint_result r;
		cr_assert(dl_checkpoint_write(&st, -1, &r, &err), "%s", errs(&err));
	} else if (!strcmp(step, "more")) {
		oracle_append(&st, 300, 350);
		uint64_t r[] = {1, 2};
		if (is_types) {
			oracle_delete(&st, file_with_min_id, 300, r, 2, false);
		} else {
			/* a delete and an insert in one commit: cdc has both */
			dl_snapshot *s = snap(&st, -1);
			dl_commit *c = dl_commit_begin(&st, s, "MERGE");
			cr_assert(dl_delete_rows(c, &s->files[1].add, r, 1, &err), "%s", errs(&err));
			lk_batch *b = parts_rows(s->schema.type, 350, 360);
			cr_assert(dl_write_batch(c, b, NULL, &err), "%s", errs(&err));
			cr_assert(dl_commit_run(c, NULL, &err), "%s", errs(&err));
			lk_batch_free(b);
			dl_commit_free(c);
			dl_snapshot_free(s);
		}
	} else if (!strcmp(step, "optimize")) {
		dl_optimize_result r;
		cr_assert(dl_optimize(&st, NULL, &r, &err), "%s", errs(&err));
		cr_assert_gt(r.files_removed, 0);
	} else if (!strcmp(step, "vacuum")) {
		dl_vacuum_options o;
		dl_vacuum_options_init(&o);
		o.retention_ms = 0;
		o.force = true;
		o.now_ms = dl_now_ms() + 1000;
		dl_vacuum_result r;
		cr_assert(dl_vacuum(&st, &o, &r, &err), "%s", errs(&err));
		cr_assert_gt(r.files_deleted, 0);
	} else {
		cr_assert_fail("unknown step %s", step);
	}
	st_store_close(&st);
}

static void
drv_dump(void)
{
	st_store st;
	driver_store(&st);
	const char *out = arg("out", NULL);
	cr_assert_not_null(out);
	dl_snapshot *s = snap(&st, -1);
	lk_error err;
	pq_output po;
	cr_assert(pq_output_open_file(&po, out, &err), "%s", errs(&err));
	pq_writer_options wo;
	pq_writer_options_init(&wo);
	pq_writer *w = pq_writer_open(&po, s->schema.type, &wo, &err);
	cr_assert_not_null(w, "%s", errs(&err));
	dl_scan *sc;
	cr_assert(dl_scan_open(s, &sc, &err), "%s", errs(&err));
	int64_t rows = 0;
	for (;;) {
		lk_batch *b;
		cr_assert(dl_scan_next(sc, &b, &err), "%s", errs(&err));
		if (!b)
			break;
		cr_assert(pq_writer_write(w, b, &err), "%s", errs(&err));
		rows += b->nrows;
	}
	cr_assert(pq_writer_close(w, true, NULL, &err), "%s", errs(&err));
	pq_writer_free(w);
	dl_scan_free(sc);
	char fp[1100];
	snprintf(fp, sizeof(fp), "%s.files.json", out);
	FILE *f = fopen(fp, "w");
	cr_assert_not_null(f);
	for (size_t i = 0; i < s->nfiles; i++) {
		const dl_add *a = &s->files[i].add;
		lk_buf b = LK_BUF_INIT;
		lk_buf_printf(&b, "{\"path\":\"%s\",\"size\":%" PRId64 ",\"dv\":", a->path, a->size);
		if (a->has_dv)
			lk_buf_printf(&b, "\"%s\",\"card\":%" PRId64, dl_dv_unique_id(&a->dv, &s->arena),
						  a->dv.cardinality);
		else
			lk_buf_append_str(&b, "null,\"card\":0");
		lk_buf_append_str(&b, "}\n");
		/* encoded paths and z85 ids hold no '"' or '\\' */
		cr_assert_eq(fwrite(b.data, 1, b.len, f), b.len);
		lk_buf_free(&b);
	}
	fclose(f);
	printf("dump rows=%" PRId64 " files=%zu version=%" PRId64 " checkpoint=%" PRId64 "\n", rows,
		   s->nfiles, s->version, s->checkpoint_version);
	fflush(stdout);
	dl_snapshot_free(s);
	st_store_close(&st);
}

TestSuite(driver, .init = setup, .fini = teardown);

Test(driver, run, .timeout = 600)
{
	const char *d = getenv("LAKESYNC_DELTA_DRIVER");
	if (!d)
		cr_skip_test("a tool for tests/oracle and tests/integration scripts "
					 "(LAKESYNC_DELTA_DRIVER unset)");
	parse_driver(d);
	if (!strcmp(DA.mode, "append"))
		drv_append();
	else if (!strcmp(DA.mode, "verify"))
		drv_verify();
	else if (!strcmp(DA.mode, "optimize") || !strcmp(DA.mode, "checkpoint") ||
			 !strcmp(DA.mode, "vacuum"))
		drv_maint();
	else if (!strcmp(DA.mode, "oracle"))
		drv_oracle();
	else if (!strcmp(DA.mode, "dump"))
		drv_dump();
	else
		cr_assert_fail("unknown driver mode \"%s\"", DA.mode);
}

/* dl_stats_loosen: "tightBounds" becomes false, added when absent. */
Test(dwrite, stats_loosen)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	cr_assert_null(dl_stats_loosen(NULL, &a));
	cr_assert_str_eq(dl_stats_loosen("{\"numRecords\":3,\"tightBounds\":true}", &a),
					 "{\"numRecords\":3,\"tightBounds\":false}");
	cr_assert_str_eq(dl_stats_loosen("{\"tightBounds\":true,\"numRecords\":3}", &a),
					 "{\"tightBounds\":false,\"numRecords\":3}");
	const char *loose = "{\"numRecords\":3,\"tightBounds\":false}";
	cr_assert_eq(dl_stats_loosen(loose, &a), loose);      /* as is, not a copy */
	cr_assert_str_eq(dl_stats_loosen("{\"numRecords\":3}", &a),
					 "{\"numRecords\":3,\"tightBounds\":false}");
	cr_assert_str_eq(dl_stats_loosen("{}", &a), "{\"tightBounds\":false}");
	cr_assert_str_eq(dl_stats_loosen("{ }", &a), "{ \"tightBounds\":false}");
	cr_assert_null(dl_stats_loosen("numRecords", &a));
	lk_arena_free(&a);
}

/* dl_add_copy copies every string; dl_remove_action points into the add. */
Test(dwrite, add_copy_and_remove_action)
{
	lk_arena a, b;
	lk_arena_init(&a, 0);
	lk_arena_init(&b, 0);
	dl_kv pv[1] = {{lk_arena_strdup(&a, "p"), lk_arena_strdup(&a, "1")}};
	dl_kv tg[1] = {{lk_arena_strdup(&a, "t"), NULL}};
	dl_add src;
	memset(&src, 0, sizeof(src));
	char *path = lk_arena_strdup(&a, "p=1/part-0.parquet");
	src.path = path;
	src.partition_values = (dl_map) {pv, 1};
	src.size = 1234;
	src.stats = lk_arena_strdup(&a, "{\"numRecords\":7}");
	src.tags = (dl_map) {tg, 1};
	src.has_dv = true;
	src.dv.storage_type = 'u';
	src.dv.path_or_inline = lk_arena_strdup(&a, "ab^-aqEH.-t@S}K{vb[*k^");
	src.dv.size_in_bytes = 36;
	src.dv.cardinality = 2;
	src.has_base_row_id = true;
	src.base_row_id = 40;

	dl_add cp;
	dl_add_copy(&b, &cp, &src);
	memset(path, 'x', strlen(path));    /* the copy must not see it */
	cr_assert_str_eq(cp.path, "p=1/part-0.parquet");
	cr_assert_str_eq(cp.stats, "{\"numRecords\":7}");
	cr_assert_eq(cp.partition_values.n, 1);
	cr_assert_neq(cp.partition_values.items, pv);
	cr_assert_str_eq(cp.partition_values.items[0].key, "p");
	cr_assert_str_eq(cp.partition_values.items[0].value, "1");
	cr_assert_eq(cp.tags.n, 1);
	cr_assert_str_eq(cp.tags.items[0].key, "t");
	cr_assert_null(cp.tags.items[0].value);
	cr_assert_neq(cp.dv.path_or_inline, src.dv.path_or_inline);
	cr_assert_str_eq(cp.dv.path_or_inline, "ab^-aqEH.-t@S}K{vb[*k^");
	cr_assert_eq(cp.size, 1234);
	cr_assert_eq(cp.dv.cardinality, 2);
	cr_assert_eq(cp.base_row_id, 40);
	cr_assert_null(cp.clustering_provider);
	lk_arena_free(&a);      /* everything of cp lives in b */
	cr_assert_str_eq(cp.partition_values.items[0].value, "1");

	dl_action rm;
	dl_remove_action(&cp, false, 1700000000000, &rm);
	cr_assert_eq(rm.type, DL_ACT_REMOVE);
	const dl_remove *r = &rm.u.remove;
	cr_assert_eq(r->path, cp.path);
	cr_assert(r->has_deletion_timestamp);
	cr_assert_eq(r->deletion_timestamp, 1700000000000);
	cr_assert_not(r->data_change);
	cr_assert(r->has_extended_file_metadata && r->extended_file_metadata);
	cr_assert(r->has_partition_values);
	cr_assert_eq(r->partition_values.items, cp.partition_values.items);
	cr_assert(r->has_size);
	cr_assert_eq(r->size, 1234);
	cr_assert(r->has_tags);
	cr_assert_eq(r->tags.n, 1);
	cr_assert(r->has_dv);
	cr_assert_eq(r->dv.cardinality, 2);
	cr_assert(r->has_base_row_id);
	cr_assert_eq(r->base_row_id, 40);
	cr_assert_not(r->has_default_row_commit_version);
	dl_remove_action(&cp, true, 5, &rm);
	cr_assert(rm.u.remove.data_change);
	lk_arena_free(&b);
}
