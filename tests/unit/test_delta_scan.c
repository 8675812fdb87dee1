#include <criterion/criterion.h>
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/buf.h"
#include "delta/dv.h"
#include "delta/log.h"
#include "delta/scan.h"
#include "parquet/parquet.h"
#include "storage/storage.h"

static const char *
testdata(void)
{
	const char *t = getenv("LAKESYNC_TESTDATA");
	return t ? t : "../shared/testdata";
}

/* ---- canonical text of a value (for multiset comparison) ---------------- */

static int64_t
to_micros(int64_t v, int unit)
{
	if (unit == LK_UNIT_MILLIS)
		return v * 1000;
	if (unit == LK_UNIT_NANOS)
		return v / 1000 - (v % 1000 < 0);
	return v;
}

static int cmp_str(const void *a, const void *b);

static void
fmt_value(lk_buf *b, const lk_column *c, int64_t i)
{
	const lk_type *t = c->type;
	if (lk_column_is_null(c, i)) {
		lk_buf_append_str(b, "NULL");
		return;
	}
	switch (t->id) {
	case LK_T_BOOLEAN:
		lk_buf_append_str(b, LK_COL_VALUES(c, uint8_t)[i] ? "true" : "false");
		return;
	case LK_T_BYTE: lk_buf_printf(b, "%d", LK_COL_VALUES(c, int8_t)[i]); return;
	case LK_T_SHORT: lk_buf_printf(b, "%d", LK_COL_VALUES(c, int16_t)[i]); return;
	case LK_T_INT: lk_buf_printf(b, "%d", LK_COL_VALUES(c, int32_t)[i]); return;
	case LK_T_DATE: lk_buf_printf(b, "d%d", LK_COL_VALUES(c, int32_t)[i]); return;
	case LK_T_LONG: lk_buf_printf(b, "%" PRId64, LK_COL_VALUES(c, int64_t)[i]); return;
	case LK_T_TIMESTAMP:
	case LK_T_TIMESTAMP_NTZ:
		lk_buf_printf(b, "t%" PRId64, to_micros(LK_COL_VALUES(c, int64_t)[i], t->unit));
		return;
	case LK_T_TIME:
		lk_buf_printf(b, "T%" PRId64, to_micros(LK_COL_VALUES(c, int64_t)[i], t->unit));
		return;
	case LK_T_FLOAT: {
		float f = LK_COL_VALUES(c, float)[i];
		if (isnan(f))
			lk_buf_append_str(b, "NaN");
		else
			lk_buf_printf(b, "%.9g", f);
		return;
	}
	case LK_T_DOUBLE: {
		double d = LK_COL_VALUES(c, double)[i];
		if (isnan(d))
			lk_buf_append_str(b, "NaN");
		else
			lk_buf_printf(b, "%.17g", d);
		return;
	}
	case LK_T_DECIMAL: {
		char tmp[64];
		lk_buf_append_str(b, lk_decimal_to_string(LK_COL_VALUES(c, lk_int128)[i], t->scale, tmp));
		return;
	}
	case LK_T_STRING:
	case LK_T_BINARY: {
		int64_t n;
		const uint8_t *p = lk_column_bytes(c, i, &n);
		lk_buf_append_byte(b, '"');
		for (int64_t k = 0; k < n; k++) {
			if (p[k] < 0x20 || p[k] == '"' || p[k] == '\\' || p[k] >= 0x7f)
				lk_buf_printf(b, "\\x%02x", p[k]);
			else
				lk_buf_append_byte(b, p[k]);
		}
		lk_buf_append_byte(b, '"');
		return;
	}
	case LK_T_ARRAY: {
		lk_buf_append_byte(b, '[');
		for (int64_t k = c->offsets[i]; k < c->offsets[i + 1]; k++) {
			if (k > c->offsets[i])
				lk_buf_append_byte(b, ',');
			fmt_value(b, &c->children[0], k);
		}
		lk_buf_append_byte(b, ']');
		return;
	}
	case LK_T_MAP: {
		/* entry order is not meaningful: sort the entries' text */
		int64_t n = c->offsets[i + 1] - c->offsets[i];
		char **ents = calloc((size_t) (n ? n : 1), sizeof(char *));
		for (int64_t k = 0; k < n; k++) {
			lk_buf e = LK_BUF_INIT;
			fmt_value(&e, &c->children[0], c->offsets[i] + k);
			lk_buf_append_byte(&e, ':');
			fmt_value(&e, &c->children[1], c->offsets[i] + k);
			ents[k] = strdup(lk_buf_cstr(&e));
			lk_buf_free(&e);
		}
		if (n)
			qsort(ents, (size_t) n, sizeof(char *), cmp_str);
		lk_buf_append_byte(b, '{');
		for (int64_t k = 0; k < n; k++) {
			if (k)
				lk_buf_append_byte(b, ',');
			lk_buf_append_str(b, ents[k]);
			free(ents[k]);
		}
		free(ents);
		lk_buf_append_byte(b, '}');
		return;
	}
	case LK_T_STRUCT: {
		lk_buf_append_byte(b, '(');
		for (int k = 0; k < c->nchildren; k++) {
			if (k)
				lk_buf_append_byte(b, ',');
			fmt_value(b, &c->children[k], i);
		}
		lk_buf_append_byte(b, ')');
		return;
	}
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

typedef struct rows {
	char **v;
	size_t n, cap;
} rows;

static void
rows_add(rows *r, char *s)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 256;
		r->v = realloc(r->v, r->cap * sizeof(char *));
	}
	r->v[r->n++] = s;
}

static void
rows_free(rows *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* Rows of a batch as text, columns in the order of `names`. */
static bool
batch_rows(const lk_batch *b, const char *const *names, int ncols, rows *out, char *why,
		   size_t wl)
{
	int idx[256];
	for (int k = 0; k < ncols; k++) {
		idx[k] = lk_type_field_index(b->schema, names[k]);
		for (int j = 0; idx[k] < 0 && j < b->schema->nchildren; j++)
			if (strcasecmp(b->schema->children[j].name, names[k]) == 0)
				idx[k] = j;
		if (idx[k] < 0) {
			snprintf(why, wl, "column \"%s\" missing", names[k]);
			return false;
		}
	}
	for (int64_t i = 0; i < b->nrows; i++) {
		lk_buf t = LK_BUF_INIT;
		for (int k = 0; k < ncols; k++) {
			if (k)
				lk_buf_append_byte(&t, '|');
			fmt_value(&t, &b->cols[idx[k]], i);
		}
		rows_add(out, strdup(lk_buf_cstr(&t)));
		lk_buf_free(&t);
	}
	return true;
}

/* Every row of the Parquet files in expected/; the column names come from
 * the first file. */
static bool
read_expected(const char *dir, rows *out, char ***names, int *ncols, char *why, size_t wl)
{
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(why, wl, "no expected dir");
		return false;
	}
	struct dirent *de;
	bool ok = true;
	*ncols = -1;
	while (ok && (de = readdir(d))) {
		size_t L = strlen(de->d_name);
		if (de->d_name[0] == '.' || L < 8 || strcmp(de->d_name + L - 8, ".parquet") != 0)
			continue;
		char fp[2048];
		snprintf(fp, sizeof(fp), "%s/%s", dir, de->d_name);
		lk_error err;
		pq_input in;
		if (!pq_input_open_file(&in, fp, &err)) {
			snprintf(why, wl, "expected: %s", err.msg);
			ok = false;
			break;
		}
		pq_reader *r = pq_reader_open(&in, &err);
		if (!r) {
			snprintf(why, wl, "expected %s: %s", de->d_name, err.msg);
			ok = false;
			break;
		}
		const lk_type *s = pq_reader_output_schema(r);
		if (*ncols < 0) {
			*ncols = s->nchildren;
			*names = calloc((size_t) *ncols + 1, sizeof(char *));
			for (int k = 0; k < *ncols; k++)
				(*names)[k] = strdup(s->children[k].name);
		}
		lk_batch *b = lk_batch_new(s);
		for (int rg = 0; ok && rg < pq_reader_num_row_groups(r); rg++) {
			if (!pq_reader_read_row_group(r, rg, b, &err)) {
				snprintf(why, wl, "expected %s: %s", de->d_name, err.msg);
				ok = false;
			} else {
				ok = batch_rows(b, (const char *const *) *names, *ncols, out, why, wl);
			}
		}
		lk_batch_free(b);
		pq_reader_free(r);
	}
	closedir(d);
	if (ok && *ncols < 0) {
		*ncols = 0;
		*names = calloc(1, sizeof(char *));
	}
	return ok;
}

/* Scan the table and compare with expected/. Returns true on a match;
 * why describes a mismatch. */
static bool
check_case(const char *name, char *why, size_t wl, int64_t *nrows)
{
	char root[1024], exp[1100];
	snprintf(root, sizeof(root), "%s/delta-golden/%s/delta", testdata(), name);
	snprintf(exp, sizeof(exp), "%s/delta-golden/%s/expected", testdata(), name);
	rows want = {0}, got = {0};
	char **names = NULL;
	int ncols = 0;
	bool ok = false;
	st_store st;
	lk_error err;
	dl_snapshot *s = NULL;
	dl_scan *sc = NULL;
	char eb[1200];
	*nrows = 0;
	if (!read_expected(exp, &want, &names, &ncols, why, wl))
		goto done;
	if (!st_store_open(&st, root, 0, &err))
		goto done;
	if (!dl_snapshot_open(&st, NULL, &s, &err) || !dl_scan_open(s, &sc, &err)) {
		snprintf(why, wl, "%s", lk_error_str(&err, eb, sizeof(eb)));
		goto close;
	}
	if (s->schema.type->nchildren != ncols && want.n > 0) {
		snprintf(why, wl, "table has %d columns, expected %d", s->schema.type->nchildren,
				 ncols);
		goto close;
	}
	for (;;) {
		lk_batch *b;
		if (!dl_scan_next(sc, &b, &err)) {
			snprintf(why, wl, "%s", lk_error_str(&err, eb, sizeof(eb)));
			goto close;
		}
		if (!b)
			break;
		if (!batch_rows(b, (const char *const *) names, ncols, &got, why, wl))
			goto close;
	}
	*nrows = (int64_t) got.n;
	if (want.n)
		qsort(want.v, want.n, sizeof(char *), cmp_str);
	if (got.n)
		qsort(got.v, got.n, sizeof(char *), cmp_str);
	if (want.n != got.n) {
		snprintf(why, wl, "%zu rows, expected %zu", got.n, want.n);
		goto close;
	}
	for (size_t i = 0; i < want.n; i++) {
		if (strcmp(want.v[i], got.v[i]) != 0) {
			snprintf(why, wl, "row differs: got %.200s want %.200s", got.v[i], want.v[i]);
			goto close;
		}
	}
	ok = true;
close:
	dl_scan_free(sc);
	dl_snapshot_free(s);
	st_store_close(&st);
done:
	rows_free(&want);
	rows_free(&got);
	if (names)
		for (int k = 0; k < ncols; k++)
			free(names[k]);
	free(names);
	return ok;
}

/* Cases whose scan must match expected/ exactly (multiset of rows).
 * Every other golden case with expected/ is run and reported too. */
static const char *const must_match[] = {
	"125-iterator-bug",
	"basic-decimal-table",
	"basic-decimal-table-legacy",
	"basic-with-inserts-deletes-checkpoint",
	"basic-with-inserts-updates",
	"basic-with-vacuum-protocol-check-feature",
	"data-reader-array-primitives",
	"data-reader-date-types-America",
	"data-reader-date-types-Etc",
	"data-reader-date-types-Pst",
	"data-reader-date-types-utc",
	"data-reader-nested-struct",
	"data-reader-nullable-field-invalid-schema-key",
	"data-reader-primitives",
	"data-reader-timestamp_ntz",
	"data-reader-timestamp_ntz-id-mode",
	"data-skipping-basic-stats-all-types",
	"data-skipping-basic-stats-all-types-checkpoint",
	"data-skipping-basic-stats-all-types-columnmapping-id",
	"data-skipping-change-stats-collected-across-versions",
	"data-skipping-partition-and-data-column",
	"deltalog-getChanges",
	"dv-with-columnmapping",
	"kernel-timestamp-timestamp_micros",
	"kernel-timestamp-timestamp_millis",
	"log-replay-dv-key-cases",
	"log-replay-latest-metadata-protocol",
	"log-replay-special-characters-a",
	"only-checkpoint-files",
	"parquet-all-types",
	"parquet-decimal-dictionaries",
	"parquet-decimal-dictionaries-v2",
	"parquet-decimal-type",
	"snapshot-data0",
	"snapshot-data1",
	"snapshot-data2",
	"snapshot-data2-deleted",
	"snapshot-repartitioned",
	"table-with-columnmapping-mode-id",
	"time-travel-partition-changes-a",
	"time-travel-schema-changes-a",
	"time-travel-start",
	"time-travel-start-start20",
	"v2-checkpoint-json",
	NULL,
};

static bool
in_list(const char *name)
{
	for (int i = 0; must_match[i]; i++)
		if (strcmp(must_match[i], name) == 0)
			return true;
	return false;
}

Test(scan, golden_tables_match_expected, .timeout = 120)
{
	char root[1024];
	snprintf(root, sizeof(root), "%s/delta-golden", testdata());
	DIR *d = opendir(root);
	if (!d)
		cr_skip_test("no test data at %s", root);
	char *cases[256];
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < 256) {
		char exp[1400];
		struct stat sb;
		snprintf(exp, sizeof(exp), "%s/%s/expected", root, de->d_name);
		if (de->d_name[0] != '.' && stat(exp, &sb) == 0)
			cases[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(cases, (size_t) n, sizeof(char *), cmp_str);
	int pass = 0, fail = 0, bad = 0;
	char report[64 * 1024];
	size_t rl = 0;
	for (int i = 0; i < n; i++) {
		char why[1024] = "";
		int64_t nrows;
		bool ok = check_case(cases[i], why, sizeof(why), &nrows);
		ok ? pass++ : fail++;
		if (!ok && in_list(cases[i]))
			bad++;
		rl += (size_t) snprintf(report + rl, sizeof(report) - rl, "  %-55s %s %6" PRId64
								" rows %s\n", cases[i], ok ? "PASS" : "FAIL", nrows,
								ok ? "" : why);
		if (rl >= sizeof(report))
			rl = sizeof(report) - 1;
	}
	fprintf(stderr, "delta golden scan: %d pass, %d fail\n%s", pass, fail, report);
	for (int i = 0; must_match[i]; i++) {
		bool present = false;
		for (int k = 0; k < n; k++)
			present |= strcmp(cases[k], must_match[i]) == 0;
		cr_expect(present, "golden case %s not found", must_match[i]);
	}
	cr_assert_eq(bad, 0, "%d cases that must match do not (see the report above)", bad);
	for (int i = 0; i < n; i++)
		free(cases[i]);
}

Test(scan, partition_value_parsing)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_error err;
	static const struct {
		lk_type_id id;
		const char *in;
		const char *want;
	} cases[] = {
		{LK_T_INT, "42", "42"},
		{LK_T_INT, "-2147483648", "-2147483648"},
		{LK_T_BYTE, "-128", "-128"},
		{LK_T_LONG, "9223372036854775807", "9223372036854775807"},
		{LK_T_BOOLEAN, "true", "true"},
		{LK_T_BOOLEAN, "FALSE", "false"},
		{LK_T_DOUBLE, "1.5", "1.5"},
		{LK_T_DATE, "1970-01-02", "d1"},
		{LK_T_DATE, "1969-12-31", "d-1"},
		{LK_T_DATE, "2021-09-08", "d18878"},
		{LK_T_TIMESTAMP, "1970-01-01 00:00:01", "t1000000"},
		{LK_T_TIMESTAMP, "1970-01-01 00:00:00.123456", "t123456"},
		{LK_T_TIMESTAMP, "2021-09-08T11:11:11Z", "t1631099471000000"},
		{LK_T_TIMESTAMP, "2021-09-08T11:11:11.5+02:00", "t1631092271500000"},
		{LK_T_TIMESTAMP_NTZ, "2021-09-08 11:11:11", "t1631099471000000"},
		{LK_T_STRING, "a b", "\"a b\""},
		{LK_T_STRING, "", "NULL"},
		{LK_T_INT, NULL, "NULL"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		lk_column c;
		lk_column_init(&c, lk_type_new(&a, cases[i].id));
		cr_assert(dl_partition_value_append(&c, cases[i].in, &err), "%s: %s", cases[i].in,
				  err.msg);
		lk_buf b = LK_BUF_INIT;
		fmt_value(&b, &c, 0);
		cr_assert_str_eq(lk_buf_cstr(&b), cases[i].want, "input %s", cases[i].in);
		lk_buf_free(&b);
		lk_column_destroy(&c);
	}
	lk_column c;
	lk_column_init(&c, lk_type_decimal(&a, 5, 2));
	cr_assert(dl_partition_value_append(&c, "-123.4", &err));
	cr_assert(LK_COL_VALUES(&c, lk_int128)[0] == -12340);
	const char *bad[] = {"12x", "1e999999", "1234.567"};
	cr_assert_not(dl_partition_value_append(&c, bad[2], &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	lk_column_destroy(&c);
	lk_column_init(&c, lk_type_new(&a, LK_T_INT));
	cr_assert_not(dl_partition_value_append(&c, bad[0], &err));
	cr_assert_str_eq(err.msg, "invalid integer partition value \"12x\"");
	cr_assert_not(dl_partition_value_append(&c, "2147483648", &err));
	lk_column_destroy(&c);
	lk_column_init(&c, lk_type_new(&a, LK_T_DATE));
	cr_assert_not(dl_partition_value_append(&c, "2021-13-01", &err));
	lk_column_destroy(&c);
	lk_arena_free(&a);
}

/* ---- a synthetic table: widening, missing column, partitions, inline DV,
 *      absolute paths -------------------------------------------------- */

static char tmpdir[256];

static void
make_tmp(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lk_scan_XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void
rm_tmp(void)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void) !system(cmd);
}

/* data file with columns id:int, v:int (rows id = base + i, v = i) */
static void
write_data(const char *name, int base, int n)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *t = lk_type_struct(&a, 2);
	t->children[0] = (lk_field){"id", lk_type_new(&a, LK_T_INT), true, -1};
	t->children[1] = (lk_field){"V", lk_type_new(&a, LK_T_INT), true, -1};
	lk_batch *b = lk_batch_new(t);
	for (int i = 0; i < n; i++) {
		lk_column_append_i32(&b->cols[0], base + i);
		lk_column_append_i32(&b->cols[1], i);
	}
	cr_assert(lk_batch_seal(b));
	char fp[512];
	snprintf(fp, sizeof(fp), "%s/%s", tmpdir, name);
	lk_error err;
	pq_output out;
	cr_assert(pq_output_open_file(&out, fp, &err), "%s", err.msg);
	pq_writer_options o;
	pq_writer_options_init(&o);
	o.row_group_rows = 4;   /* several row groups: DV row numbering spans them */
	pq_writer *w = pq_writer_open(&out, t, &o, &err);
	cr_assert(pq_writer_write(w, b, &err));
	cr_assert(pq_writer_close(w, false, NULL, &err));
	pq_writer_free(w);
	lk_batch_free(b);
	lk_arena_free(&a);
}

Test(scan, synthetic_table, .init = make_tmp, .fini = rm_tmp)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_error err;
	st_store st;
	cr_assert(st_store_open(&st, tmpdir, 0, &err));
	char d[400];
	snprintf(d, sizeof(d), "%s/p=x", tmpdir);
	cr_assert_eq(mkdir(d, 0755), 0);
	write_data("p=x/f1.parquet", 0, 10);
	write_data("f2.parquet", 100, 3);

	dl_bitmap bm;
	dl_bitmap_init(&bm);
	dl_bitmap_add(&bm, 2);
	dl_bitmap_add(&bm, 7);      /* second row group */
	dl_bitmap_add(&bm, 8);
	dl_dv dv;
	cr_assert(dl_dv_make_inline(&bm, &a, &dv, &err));
	dl_bitmap_free(&bm);

	lk_buf log = LK_BUF_INIT;
	lk_buf_append_str(&log,
		"{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
		"\"readerFeatures\":[\"deletionVectors\"],\"writerFeatures\":[\"deletionVectors\"]}}\n"
		"{\"metaData\":{\"id\":\"t\",\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":["
		"{\\\"name\\\":\\\"p\\\",\\\"type\\\":\\\"string\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}},"
		"{\\\"name\\\":\\\"id\\\",\\\"type\\\":\\\"long\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}},"
		"{\\\"name\\\":\\\"extra\\\",\\\"type\\\":\\\"string\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}},"
		"{\\\"name\\\":\\\"v\\\",\\\"type\\\":\\\"integer\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}"
		"]}\",\"partitionColumns\":[\"p\"],\"configuration\":{}}}\n");
	lk_buf_printf(&log,
		"{\"add\":{\"path\":\"p%%3Dx/f1.parquet\",\"partitionValues\":{\"p\":\"x\"},\"size\":1,"
		"\"modificationTime\":1,\"dataChange\":true,\"deletionVector\":{\"storageType\":\"i\","
		"\"pathOrInlineDv\":\"%s\",\"sizeInBytes\":%d,\"cardinality\":3}}}\n",
		dv.path_or_inline, dv.size_in_bytes);
	/* absolute URI inside the table: read as a relative path */
	lk_buf_printf(&log,
		"{\"add\":{\"path\":\"file://%s/f2.parquet\",\"partitionValues\":{\"p\":null},\"size\":1,"
		"\"modificationTime\":1,\"dataChange\":true}}\n", tmpdir);
	cr_assert(st_put(&st, "_delta_log/00000000000000000000.json", log.data, log.len, &err));

	dl_snapshot *s;
	cr_assert(dl_snapshot_open(&st, NULL, &s, &err), "%s %s", err.msg, err.where);
	cr_assert_eq(s->nfiles, 2);
	cr_assert_str_eq(s->files[0].path, "f2.parquet");
	cr_assert_str_eq(s->files[1].path, "p=x/f1.parquet");
	dl_scan *sc;
	cr_assert(dl_scan_open(s, &sc, &err));
	rows got = {0};
	const char *names[] = {"p", "id", "extra", "v"};
	char why[256];
	int batches = 0;
	for (;;) {
		lk_batch *b;
		cr_assert(dl_scan_next(sc, &b, &err), "%s %s", err.msg, err.where);
		if (!b)
			break;
		batches++;
		cr_assert_eq(b->schema, s->schema.type);
		cr_assert(batch_rows(b, names, 4, &got, why, sizeof(why)), "%s", why);
	}
	/* f2: one row group of 3; f1: row groups of 4,4,2 rows minus rows 2,7,8
	 * → 3 + 3 + 2 (the last group holds rows 8 and 9, 8 is deleted) */
	cr_assert_eq(batches, 4);
	const char *want[] = {
		"NULL|100|NULL|0", "NULL|101|NULL|1", "NULL|102|NULL|2",
		"\"x\"|0|NULL|0", "\"x\"|1|NULL|1", "\"x\"|3|NULL|3",
		"\"x\"|4|NULL|4", "\"x\"|5|NULL|5", "\"x\"|6|NULL|6", "\"x\"|9|NULL|9",
	};
	cr_assert_eq(got.n, 10);
	for (size_t i = 0; i < got.n; i++)
		cr_assert_str_eq(got.v[i], want[i]);
	rows_free(&got);
	dl_scan_free(sc);
	dl_snapshot_free(s);

	/* an absolute path outside the table needs ST_ALLOW_ABSOLUTE */
	lk_buf_reset(&log);
	lk_buf_append_str(&log,
		"{\"add\":{\"path\":\"/nonexistent/elsewhere.parquet\",\"partitionValues\":{\"p\":\"y\"},"
		"\"size\":1,\"modificationTime\":1,\"dataChange\":true}}\n");
	cr_assert(st_put(&st, "_delta_log/00000000000000000001.json", log.data, log.len, &err));
	cr_assert(dl_snapshot_open(&st, NULL, &s, &err));
	cr_assert_str_eq(s->files[0].path, "/nonexistent/elsewhere.parquet");
	cr_assert(dl_scan_open(s, &sc, &err));
	lk_batch *b;
	bool ok = true;
	do {
		ok = dl_scan_next(sc, &b, &err);
	} while (ok && b);
	cr_assert_not(ok);
	cr_assert_eq(err.code, LK_ERR_INVALID);
	cr_assert(strstr(err.where, "elsewhere.parquet") != NULL, "%s", err.where);
	dl_scan_free(sc);
	dl_snapshot_free(s);
	lk_buf_free(&log);
	st_store_close(&st);
	lk_arena_free(&a);
}
