/*
 * test_reader.c — the Parquet reader against real files from other engines
 * ($LAKESYNC_TESTDATA/parquet/data and bad_data), exact values.
 *
 * reader/dump is the oracle hook (tests/oracle/reader.sh): with
 * LAKESYNC_READER_DUMP_IN=<file.parquet> and LAKESYNC_READER_DUMP_OUT=<out>
 * it writes the file as canonical JSON lines (see dump_value) or a line
 * "ERROR <message>"; without them it only checks the dumper on a file.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/batch.h"
#include "common/buf.h"
#include "parquet/parquet.h"

/* ---- helpers ------------------------------------------------------------ */

static const char *
testdata(void)
{
	const char *d = getenv("LAKESYNC_TESTDATA");
	return d && *d ? d : "../shared/testdata";
}

static char *
data_path(const char *dir, const char *name)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf), "%s/parquet/%s/%s", testdata(), dir, name);
	return buf;
}

static bool
exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

#define NEED(path)                                                     \
	do {                                                               \
		if (!exists(path))                                             \
			cr_skip_test("test data %s not present", path);            \
	} while (0)

/* Open a file; fail the test on error. Caller frees with pq_reader_free. */
static pq_reader *
open_or_die(const char *path)
{
	pq_input in;
	lk_error err;
	lk_error_clear(&err);
	cr_assert(pq_input_open_file(&in, path, &err), "open %s: %s", path, err.msg);
	pq_reader *r = pq_reader_open(&in, &err);
	char b[1100];
	cr_assert(r != NULL, "pq_reader_open %s: %s", path, lk_error_str(&err, b, sizeof(b)));
	return r;
}

/* Give every string/binary column a data buffer: lk_column_append_range
 * memcpy()s into data even for an empty byte range (NULL under UBSan). */
static void
prime_data(lk_column *c)
{
	if (lk_type_is_varlen(c->type))
		lk_column_reserve_data(c, 1);
	for (int k = 0; k < c->nchildren; k++)
		prime_data(&c->children[k]);
}

/* Read the whole file (current projection) into one batch made by
 * appending every row group.  Caller frees with lk_batch_free. */
static lk_batch *
read_all(pq_reader *r)
{
	const lk_type *s = pq_reader_output_schema(r);
	lk_batch *all = lk_batch_new(s);
	for (int c = 0; c < all->ncols; c++)
		prime_data(&all->cols[c]);
	lk_batch *b = lk_batch_new(s);
	lk_error err;
	char msg[1100];
	for (int g = 0; g < pq_reader_num_row_groups(r); g++) {
		lk_error_clear(&err);
		cr_assert(pq_reader_read_row_group(r, g, b, &err), "row group %d: %s", g,
				  lk_error_str(&err, msg, sizeof(msg)));
		for (int c = 0; c < b->ncols; c++)
			lk_column_append_range(&all->cols[c], &b->cols[c], 0, b->nrows);
	}
	lk_batch_free(b);
	cr_assert(lk_batch_seal(all));
	return all;
}

/* Read every row group; returns false with err filled on the first error. */
static bool
try_read_file(const char *path, lk_error *err, int64_t *rows)
{
	pq_input in;
	if (!pq_input_open_file(&in, path, err))
		return false;
	pq_reader *r = pq_reader_open(&in, err);
	if (!r)
		return false;
	lk_batch *b = lk_batch_new(pq_reader_output_schema(r));
	bool ok = true;
	*rows = 0;
	for (int g = 0; ok && g < pq_reader_num_row_groups(r); g++) {
		ok = pq_reader_read_row_group(r, g, b, err);
		*rows += b->nrows;
	}
	lk_batch_free(b);
	pq_reader_free(r);
	return ok;
}

static int
col_index(const lk_batch *b, const char *name)
{
	int i = lk_type_field_index(b->schema, name);
	cr_assert(i >= 0, "no column %s", name);
	return i;
}

/* ---- canonical JSON dump (shared with tests/oracle/reader_compare.mjs) ---
 *   null; true/false; integers as "123" strings; float/double as
 *   "d:<hex bits of the value as a double>" ("NaN" for any NaN);
 *   decimal "123.45"; string "s:<text>"; binary "x:<hex>"; uuid
 *   "u:<36 chars>"; interval "i:<months>,<days>,<micros>"; date "D:<days>";
 *   timestamp "T:<micros since epoch, floored>"; time "t:<micros>";
 *   array [..]; map [[k,v],..]; struct {"name":v,..}.
 */

static void
json_str(lk_buf *o, const char *prefix, const uint8_t *p, int64_t n)
{
	lk_buf_append_byte(o, '"');
	lk_buf_append_str(o, prefix);
	for (int64_t i = 0; i < n; i++) {
		uint8_t ch = p[i];
		if (ch == '"' || ch == '\\') {
			lk_buf_append_byte(o, '\\');
			lk_buf_append_byte(o, ch);
		} else if (ch < 0x20 || ch == 0x7f) {
			lk_buf_printf(o, "\\u%04x", ch);
		} else {
			lk_buf_append_byte(o, ch);
		}
	}
	lk_buf_append_byte(o, '"');
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static int64_t
to_micros(int64_t v, int unit)
{
	if (unit == LK_UNIT_MILLIS)
		return v * 1000;
	if (unit == LK_UNIT_NANOS)
		return floor_div(v, 1000);
	return v;
}

static void
dump_value(lk_buf *o, const lk_column *c, int64_t i)
{
	const lk_type *t = c->type;
	if (lk_column_is_null(c, i)) {
		lk_buf_append_str(o, "null");
		return;
	}
	switch (t->id) {
	case LK_T_BOOLEAN:
		lk_buf_append_str(o, LK_COL_VALUES(c, uint8_t)[i] ? "true" : "false");
		return;
	case LK_T_BYTE:
		if (t->is_unsigned)
			lk_buf_printf(o, "\"%u\"", LK_COL_VALUES(c, uint8_t)[i]);
		else
			lk_buf_printf(o, "\"%d\"", LK_COL_VALUES(c, int8_t)[i]);
		return;
	case LK_T_SHORT:
		if (t->is_unsigned)
			lk_buf_printf(o, "\"%u\"", LK_COL_VALUES(c, uint16_t)[i]);
		else
			lk_buf_printf(o, "\"%d\"", LK_COL_VALUES(c, int16_t)[i]);
		return;
	case LK_T_INT:
		if (t->is_unsigned)
			lk_buf_printf(o, "\"%u\"", LK_COL_VALUES(c, uint32_t)[i]);
		else
			lk_buf_printf(o, "\"%d\"", LK_COL_VALUES(c, int32_t)[i]);
		return;
	case LK_T_LONG:
		if (t->is_unsigned)
			lk_buf_printf(o, "\"%llu\"", (unsigned long long) LK_COL_VALUES(c, uint64_t)[i]);
		else
			lk_buf_printf(o, "\"%lld\"", (long long) LK_COL_VALUES(c, int64_t)[i]);
		return;
	case LK_T_FLOAT:
	case LK_T_DOUBLE: {
		double d = t->id == LK_T_FLOAT ? (double) LK_COL_VALUES(c, float)[i]
									   : LK_COL_VALUES(c, double)[i];
		if (isnan(d)) {
			lk_buf_append_str(o, "\"NaN\"");
		} else {
			uint64_t bits;
			memcpy(&bits, &d, 8);
			lk_buf_printf(o, "\"d:%016llx\"", (unsigned long long) bits);
		}
		return;
	}
	case LK_T_DECIMAL: {
		char b[64];
		lk_buf_printf(o, "\"%s\"", lk_decimal_to_string(LK_COL_VALUES(c, lk_int128)[i],
														t->scale, b));
		return;
	}
	case LK_T_STRING: {
		int64_t n;
		const uint8_t *p = lk_column_bytes(c, i, &n);
		json_str(o, "s:", p, n);
		return;
	}
	case LK_T_BINARY: {
		int64_t n;
		const uint8_t *p = lk_column_bytes(c, i, &n);
		if (t->ext == LK_EXT_UUID && n == 16) {
			lk_buf_append_str(o, "\"u:");
			for (int k = 0; k < 16; k++) {
				if (k == 4 || k == 6 || k == 8 || k == 10)
					lk_buf_append_byte(o, '-');
				lk_buf_printf(o, "%02x", p[k]);
			}
			lk_buf_append_byte(o, '"');
		} else if (t->ext == LK_EXT_INTERVAL && n == 12) {
			uint32_t m, d, ms;
			memcpy(&m, p, 4);
			memcpy(&d, p + 4, 4);
			memcpy(&ms, p + 8, 4);
			lk_buf_printf(o, "\"i:%u,%u,%llu\"", m, d, (unsigned long long) ms * 1000);
		} else {
			lk_buf_append_str(o, "\"x:");
			for (int64_t k = 0; k < n; k++)
				lk_buf_printf(o, "%02x", p[k]);
			lk_buf_append_byte(o, '"');
		}
		return;
	}
	case LK_T_DATE:
		lk_buf_printf(o, "\"D:%d\"", LK_COL_VALUES(c, int32_t)[i]);
		return;
	case LK_T_TIMESTAMP:
	case LK_T_TIMESTAMP_NTZ:
		lk_buf_printf(o, "\"T:%lld\"",
					  (long long) to_micros(LK_COL_VALUES(c, int64_t)[i], t->unit));
		return;
	case LK_T_TIME:
		lk_buf_printf(o, "\"t:%lld\"",
					  (long long) to_micros(LK_COL_VALUES(c, int64_t)[i], t->unit));
		return;
	case LK_T_ARRAY: {
		lk_buf_append_byte(o, '[');
		for (int64_t e = c->offsets[i]; e < c->offsets[i + 1]; e++) {
			if (e > c->offsets[i])
				lk_buf_append_byte(o, ',');
			dump_value(o, &c->children[0], e);
		}
		lk_buf_append_byte(o, ']');
		return;
	}
	case LK_T_MAP: {
		lk_buf_append_byte(o, '[');
		for (int64_t e = c->offsets[i]; e < c->offsets[i + 1]; e++) {
			if (e > c->offsets[i])
				lk_buf_append_byte(o, ',');
			lk_buf_append_byte(o, '[');
			dump_value(o, &c->children[0], e);
			lk_buf_append_byte(o, ',');
			dump_value(o, &c->children[1], e);
			lk_buf_append_byte(o, ']');
		}
		lk_buf_append_byte(o, ']');
		return;
	}
	case LK_T_STRUCT: {
		lk_buf_append_byte(o, '{');
		for (int k = 0; k < c->nchildren; k++) {
			if (k)
				lk_buf_append_byte(o, ',');
			const char *nm = t->children[k].name ? t->children[k].name : "";
			json_str(o, "", (const uint8_t *) nm, (int64_t) strlen(nm));
			lk_buf_append_byte(o, ':');
			dump_value(o, &c->children[k], i);
		}
		lk_buf_append_byte(o, '}');
		return;
	}
	}
}

/* Dump path as JSON lines into out: a header line with the column names,
 * then one array per row.  On error: "ERROR <message (where)>". */
static void
dump_file(const char *path, FILE *out)
{
	lk_error err;
	lk_error_clear(&err);
	char msg[1100];
	pq_input in;
	if (!pq_input_open_file(&in, path, &err)) {
		fprintf(out, "ERROR %s\n", lk_error_str(&err, msg, sizeof(msg)));
		return;
	}
	pq_reader *r = pq_reader_open(&in, &err);
	if (!r) {
		fprintf(out, "ERROR %s\n", lk_error_str(&err, msg, sizeof(msg)));
		return;
	}
	const lk_type *s = pq_reader_output_schema(r);
	lk_buf o = LK_BUF_INIT;
	lk_buf_append_byte(&o, '[');
	for (int k = 0; k < s->nchildren; k++) {
		if (k)
			lk_buf_append_byte(&o, ',');
		json_str(&o, "", (const uint8_t *) s->children[k].name,
				 (int64_t) strlen(s->children[k].name));
	}
	lk_buf_append_str(&o, "]\n");
	lk_batch *b = lk_batch_new(s);
	for (int g = 0; g < pq_reader_num_row_groups(r); g++) {
		if (!pq_reader_read_row_group(r, g, b, &err)) {
			fprintf(out, "ERROR %s\n", lk_error_str(&err, msg, sizeof(msg)));
			lk_buf_free(&o);
			lk_batch_free(b);
			pq_reader_free(r);
			return;
		}
		for (int64_t i = 0; i < b->nrows; i++) {
			lk_buf_append_byte(&o, '[');
			for (int k = 0; k < b->ncols; k++) {
				if (k)
					lk_buf_append_byte(&o, ',');
				dump_value(&o, &b->cols[k], i);
			}
			lk_buf_append_str(&o, "]\n");
		}
		fwrite(o.data, 1, o.len, out);
		lk_buf_reset(&o);
	}
	fwrite(o.data, 1, o.len, out);
	lk_buf_free(&o);
	lk_batch_free(b);
	pq_reader_free(r);
}

static void
dump_to(const char *in, const char *outp)
{
	FILE *f = fopen(outp, "w");
	cr_assert(f != NULL, "cannot write %s", outp);
	dump_file(in, f);
	fputs("END\n", f);       /* a dump cut short by a crash has no END */
	fclose(f);
}

Test(reader, dump)
{
	const char *in = getenv("LAKESYNC_READER_DUMP_IN");
	const char *outp = getenv("LAKESYNC_READER_DUMP_OUT");
	const char *list = getenv("LAKESYNC_READER_DUMP_LIST");
	if (in && outp) {
		dump_to(in, outp);
		return;
	}
	if (list) {
		/* lines "<in.parquet>\t<out.jsonl>" */
		FILE *l = fopen(list, "r");
		cr_assert(l != NULL, "cannot read %s", list);
		char line[8192];
		while (fgets(line, sizeof(line), l)) {
			line[strcspn(line, "\n")] = '\0';
			char *tab = strchr(line, '\t');
			if (!tab)
				continue;
			*tab = '\0';
			dump_to(line, tab + 1);
		}
		fclose(l);
		return;
	}
	const char *p = data_path("data", "alltypes_plain.parquet");
	NEED(p);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	dump_file(p, f);
	fclose(f);
	cr_assert(strstr(text, "\"id\"") != NULL, "%s", text);
	cr_assert(strncmp(text, "ERROR", 5) != 0, "%s", text);
	/* row 0: id 4, bool true, tinyint 0, ..., timestamp 2009-03-01 00:00 */
	cr_assert(strstr(text, "\n[\"4\",true,\"0\",\"0\",\"0\",\"0\",") != NULL, "%s", text);
	cr_assert(strstr(text, "\"T:1235865600000000\"") != NULL, "%s", text);
	free(text);
}

/* ---- exact values: flat files ------------------------------------------- */

Test(reader, alltypes_plain_schema_and_values)
{
	const char *p = data_path("data", "alltypes_plain.parquet");
	NEED(p);
	pq_reader *r = open_or_die(p);
	cr_assert_eq(pq_reader_num_rows(r), 8);
	cr_assert_eq(pq_reader_num_row_groups(r), 1);
	cr_assert_eq(pq_reader_row_group_rows(r, 0), 8);
	const lk_type *s = pq_reader_schema(r);
	cr_assert_eq(s->nchildren, 11);
	static const lk_type_id ids[11] = {
		LK_T_INT, LK_T_BOOLEAN, LK_T_INT, LK_T_INT, LK_T_INT, LK_T_LONG,
		LK_T_FLOAT, LK_T_DOUBLE, LK_T_BINARY, LK_T_BINARY, LK_T_TIMESTAMP_NTZ};
	for (int i = 0; i < 11; i++) {
		cr_assert_eq(s->children[i].type->id, ids[i], "column %d", i);
		cr_assert(s->children[i].nullable, "column %d nullable", i);
		cr_assert_eq(s->children[i].field_id, -1);
	}
	const lk_type *ts = s->children[10].type;
	cr_assert_eq(ts->unit, LK_UNIT_NANOS);
	cr_assert_eq(ts->ext, LK_EXT_INT96);

	lk_batch *b = read_all(r);
	cr_assert_eq(b->nrows, 8);
	static const int32_t id[8] = {4, 5, 6, 7, 2, 3, 0, 1};
	/* INT96 timestamps: 2009-03-01, 03-01 00:01, 04-01, 04-01 00:01, 02-01, ... */
	static const int64_t secs[8] = {1235865600, 1235865660, 1238544000, 1238544060,
									1233446400, 1233446460, 1230768000, 1230768060};
	const lk_column *cid = &b->cols[col_index(b, "id")];
	const lk_column *cb = &b->cols[col_index(b, "bool_col")];
	const lk_column *cbig = &b->cols[col_index(b, "bigint_col")];
	const lk_column *cf = &b->cols[col_index(b, "float_col")];
	const lk_column *cd = &b->cols[col_index(b, "double_col")];
	const lk_column *cs = &b->cols[col_index(b, "date_string_col")];
	const lk_column *ct = &b->cols[col_index(b, "timestamp_col")];
	for (int i = 0; i < 8; i++) {
		cr_assert_eq(LK_COL_VALUES(cid, int32_t)[i], id[i], "row %d", i);
		cr_assert_eq(LK_COL_VALUES(cb, uint8_t)[i], i % 2 == 0, "row %d", i);
		cr_assert_eq(LK_COL_VALUES(cbig, int64_t)[i], i % 2 ? 10 : 0);
		cr_assert_eq(LK_COL_VALUES(cf, float)[i], i % 2 ? 1.1f : 0.0f);
		cr_assert_eq(LK_COL_VALUES(cd, double)[i], i % 2 ? 10.1 : 0.0);
		cr_assert_eq(LK_COL_VALUES(ct, int64_t)[i], secs[i] * INT64_C(1000000000));
		cr_assert(!lk_column_is_null(cid, i));
	}
	int64_t n;
	const uint8_t *d = lk_column_bytes(cs, 0, &n);
	cr_assert_eq(n, 8);
	cr_assert(memcmp(d, "03/01/09", 8) == 0);
	d = lk_column_bytes(cs, 7, &n);
	cr_assert(n == 8 && memcmp(d, "01/01/09", 8) == 0);
	/* no nulls: no bitmap */
	for (int c = 0; c < b->ncols; c++) {
		cr_assert_null(b->cols[c].validity, "column %d", c);
		cr_assert_eq(b->cols[c].null_count, 0);
	}
	lk_batch_free(b);
	pq_reader_free(r);
}

Test(reader, dictionary_and_snappy)
{
	const char *p1 = data_path("data", "alltypes_dictionary.parquet");
	NEED(p1);
	pq_reader *r = open_or_die(p1);
	lk_batch *b = read_all(r);
	cr_assert_eq(b->nrows, 2);
	cr_assert_eq(LK_COL_VALUES(&b->cols[0], int32_t)[0], 0);
	cr_assert_eq(LK_COL_VALUES(&b->cols[0], int32_t)[1], 1);
	cr_assert_eq(LK_COL_VALUES(&b->cols[5], int64_t)[1], 10);
	lk_batch_free(b);
	pq_reader_free(r);

	const char *p2 = data_path("data", "alltypes_plain.snappy.parquet");
	NEED(p2);
	r = open_or_die(p2);
	b = read_all(r);
	cr_assert_eq(b->nrows, 2);
	cr_assert_eq(LK_COL_VALUES(&b->cols[0], int32_t)[0], 6);
	cr_assert_eq(LK_COL_VALUES(&b->cols[0], int32_t)[1], 7);
	lk_batch_free(b);
	pq_reader_free(r);
}

/* Every row of `file`, dumped canonically, must equal `expect` exactly. */
static void
assert_dump(const char *file, const char *expect)
{
	const char *p = data_path("data", file);
	NEED(p);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	dump_file(p, f);
	fclose(f);
	cr_assert_str_eq(text, expect, "%s:\n%s\nexpected:\n%s", file, text, expect);
	free(text);
}

Test(reader, decimals_all_physical_types)
{
	/* 24 rows 1.00 .. 24.00 as INT32, INT64, FLBA(11) and BYTE_ARRAY */
	const char *files[] = {"int32_decimal.parquet", "int64_decimal.parquet",
						   "fixed_length_decimal.parquet",
						   "fixed_length_decimal_legacy.parquet",
						   "byte_array_decimal.parquet"};
	for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
		const char *p = data_path("data", files[k]);
		NEED(p);
		pq_reader *r = open_or_die(p);
		lk_batch *b = read_all(r);
		const lk_type *t = b->cols[0].type;
		cr_assert_eq(t->id, LK_T_DECIMAL, "%s", files[k]);
		cr_assert_eq(t->scale, 2, "%s", files[k]);
		cr_assert_eq(b->nrows, 24, "%s", files[k]);
		for (int i = 0; i < 24; i++)
			cr_assert(LK_COL_VALUES(&b->cols[0], lk_int128)[i] == (lk_int128) (i + 1) * 100,
					  "%s row %d", files[k], i);
		lk_batch_free(b);
		pq_reader_free(r);
	}
	const char *p = data_path("data", "fixed_length_decimal.parquet");
	pq_reader *r = open_or_die(p);
	const lk_type *t = pq_reader_schema(r)->children[0].type;
	cr_assert_eq(t->precision, 25);
	cr_assert_eq(t->fixed_len, 11);
	pq_reader_free(r);
}

/* Parse one CSV line (double-quoted fields, no embedded quotes) into
 * fields; an empty unquoted field is NULL. Returns the count. */
static int
csv_split(char *line, char **fields, int max)
{
	int n = 0;
	char *p = line;
	line[strcspn(line, "\r\n")] = '\0';
	for (;;) {
		cr_assert_lt(n, max);
		if (*p == '"') {
			char *e = strchr(p + 1, '"');
			cr_assert(e != NULL);
			*e = '\0';
			fields[n++] = p + 1;
			p = e + 1;
		} else {
			char *e = p + strcspn(p, ",");
			fields[n++] = e == p ? NULL : p;
			p = e;
		}
		if (*p != ',')
			break;
		*p++ = '\0';
	}
	return n;
}

/* Compare file with its *_expect.csv: integers and strings, empty = null. */
static void
check_against_csv(const char *file, const char *csv)
{
	char p[4096], csvpath[4096];
	snprintf(p, sizeof(p), "%s", data_path("data", file));
	NEED(p);
	snprintf(csvpath, sizeof(csvpath), "%s", data_path("data", csv));
	pq_reader *r = open_or_die(p);
	lk_batch *b = read_all(r);
	FILE *f = fopen(csvpath, "r");
	cr_assert(f != NULL);
	char *line = NULL;
	size_t cap = 0;
	char *fields[128];
	cr_assert(getline(&line, &cap, f) > 0);    /* header */
	int ncols = csv_split(line, fields, 128);
	cr_assert_eq(ncols, b->ncols, "%s: %d csv columns, %d parquet", file, ncols, b->ncols);
	int64_t row = 0;
	while (getline(&line, &cap, f) > 0) {
		int nf = csv_split(line, fields, 128);
		cr_assert_eq(nf, ncols, "%s csv row %lld", file, (long long) row);
		cr_assert_lt(row, b->nrows);
		for (int c = 0; c < ncols; c++) {
			const lk_column *col = &b->cols[c];
			if (!fields[c]) {
				cr_assert(lk_column_is_null(col, row), "%s row %lld col %d: null expected",
						  file, (long long) row, c);
				continue;
			}
			cr_assert(!lk_column_is_null(col, row), "%s row %lld col %d", file,
					  (long long) row, c);
			switch (col->type->id) {
			case LK_T_INT:
				cr_assert_eq(LK_COL_VALUES(col, int32_t)[row], (int32_t) strtol(fields[c], NULL, 10),
							 "%s row %lld col %d", file, (long long) row, c);
				break;
			case LK_T_LONG:
				cr_assert_eq(LK_COL_VALUES(col, int64_t)[row], strtoll(fields[c], NULL, 10),
							 "%s row %lld col %d", file, (long long) row, c);
				break;
			default: {
				int64_t n;
				const uint8_t *d = lk_column_bytes(col, row, &n);
				cr_assert(n == (int64_t) strlen(fields[c]) && memcmp(d, fields[c], (size_t) n) == 0,
						  "%s row %lld col %d: %.*s vs %s", file, (long long) row, c,
						  (int) n, d, fields[c]);
			}
			}
		}
		row++;
	}
	cr_assert_eq(row, b->nrows);
	free(line);
	fclose(f);
	lk_batch_free(b);
	pq_reader_free(r);
}

Test(reader, delta_binary_packed)
{
	check_against_csv("delta_binary_packed.parquet", "delta_binary_packed_expect.csv");
}

Test(reader, delta_byte_array)
{
	check_against_csv("delta_byte_array.parquet", "delta_byte_array_expect.csv");
}

Test(reader, delta_encoding_required_column)
{
	check_against_csv("delta_encoding_required_column.parquet",
					  "delta_encoding_required_column_expect.csv");
}

Test(reader, byte_stream_split_zstd)
{
	const char *p = data_path("data", "byte_stream_split.zstd.parquet");
	NEED(p);
	pq_reader *r = open_or_die(p);
	lk_batch *b = read_all(r);
	cr_assert_eq(b->nrows, 300);
	uint32_t f0;
	uint64_t d0;
	memcpy(&f0, &LK_COL_VALUES(&b->cols[0], float)[0], 4);
	memcpy(&d0, &LK_COL_VALUES(&b->cols[1], double)[0], 8);
	/* 1.7639642 and -1.3065270718704 (bit-exact, as DuckDB reads them) */
	cr_assert_eq((double) LK_COL_VALUES(&b->cols[0], float)[0], 0x1.c398fp+0);
	cr_assert_eq(d0, UINT64_C(0xbff4e788b338c8cf));
	lk_batch_free(b);
	pq_reader_free(r);
}

Test(reader, codecs)
{
	/* the same 4 rows through Hadoop LZ4, raw LZ4 blocks and LZ4_RAW */
	const char *expect =
		"[\"c0\",\"c1\",\"v11\"]\n"
		"[\"1593604800\",\"x:616263\",\"d:4045000000000000\"]\n"
		"[\"1593604800\",\"x:646566\",\"d:401ecccccccccccd\"]\n"
		"[\"1593604801\",\"x:616263\",\"d:4045100000000000\"]\n"
		"[\"1593604801\",\"x:646566\",\"d:401ecccccccccccd\"]\n";
	assert_dump("hadoop_lz4_compressed.parquet", expect);
	assert_dump("non_hadoop_lz4_compressed.parquet", expect);
	assert_dump("lz4_raw_compressed.parquet", expect);

	const char *p = data_path("data", "lz4_raw_compressed_larger.parquet");
	NEED(p);
	pq_reader *r = open_or_die(p);
	lk_batch *b = read_all(r);
	cr_assert_eq(b->nrows, 10000);
	int64_t n;
	const uint8_t *d = lk_column_bytes(&b->cols[0], 0, &n);
	cr_assert(n == 36 && memcmp(d, "c7ce6bef-d5b0-4863-b199-8ea8c7fb117b", 36) == 0);
	lk_batch_free(b);
	pq_reader_free(r);

	/* 513 UINT64 1..513 in one page made of two gzip members */
	p = data_path("data", "concatenated_gzip_members.parquet");
	NEED(p);
	r = open_or_die(p);
	b = read_all(r);
	cr_assert_eq(b->nrows, 513);
	cr_assert(b->cols[0].type->is_unsigned);
	for (int i = 0; i < 513; i++)
		cr_assert_eq(LK_COL_VALUES(&b->cols[0], uint64_t)[i], (uint64_t) i + 1);
	lk_batch_free(b);
	pq_reader_free(r);
}

Test(reader, data_page_v2_and_rle_booleans)
{
	assert_dump("datapage_v2.snappy.parquet",
				"[\"a\",\"b\",\"c\",\"d\",\"e\"]\n"
				"[\"s:abc\",\"1\",\"d:4000000000000000\",true,[\"1\",\"2\",\"3\"]]\n"
				"[\"s:abc\",\"2\",\"d:4008000000000000\",true,null]\n"
				"[\"s:abc\",\"3\",\"d:4010000000000000\",true,null]\n"
				"[null,\"4\",\"d:4014000000000000\",false,[\"1\",\"2\",\"3\"]]\n"
				"[\"s:abc\",\"5\",\"d:4000000000000000\",true,[\"1\",\"2\"]]\n");
	/* all-null v2 page whose empty values are a valid zstd frame */
	const char *p = data_path("data", "page_v2_empty_compressed.parquet");
	NEED(p);
	pq_reader *r = open_or_die(p);
	lk_batch *b = read_all(r);
	cr_assert_eq(b->nrows, 10);
	cr_assert_eq(b->cols[0].null_count, 10);
	lk_batch_free(b);
	pq_reader_free(r);

	p = data_path("data", "rle_boolean_encoding.parquet");
	NEED(p);
	r = open_or_die(p);
	b = read_all(r);
	cr_assert_eq(b->nrows, 68);
	const lk_column *c = &b->cols[0];
	/* true false null true true false false true true true false ... */
	static const int want[11] = {1, 0, -1, 1, 1, 0, 0, 1, 1, 1, 0};
	for (int i = 0; i < 11; i++) {
		if (want[i] < 0) {
			cr_assert(lk_column_is_null(c, i));
			cr_assert_eq(LK_COL_VALUES(c, uint8_t)[i], 0, "null slot zeroed");
		} else {
			cr_assert(!lk_column_is_null(c, i), "row %d", i);
			cr_assert_eq(LK_COL_VALUES(c, uint8_t)[i], want[i], "row %d", i);
		}
	}
	lk_batch_free(b);
	pq_reader_free(r);
}

Test(reader, float16_and_unknown_logical_type)
{
	assert_dump("float16_nonzeros_and_nans.parquet",
				"[\"x\"]\n[null]\n[\"d:3ff0000000000000\"]\n[\"d:c000000000000000\"]\n"
				"[\"NaN\"]\n[\"d:0000000000000000\"]\n[\"d:bff0000000000000\"]\n"
				"[\"d:8000000000000000\"]\n[\"d:4000000000000000\"]\n");
	const char *p = data_path("data", "float16_nonzeros_and_nans.parquet");
	pq_reader *r = open_or_die(p);
	cr_assert_eq(pq_reader_schema(r)->children[0].type->id, LK_T_FLOAT);
	cr_assert_eq(pq_reader_schema(r)->children[0].type->ext, LK_EXT_FLOAT16);
	pq_reader_free(r);
	/* an unknown logical type falls back to the physical type (binary) */
	assert_dump("unknown-logical-type.parquet",
				"[\"column with known type\",\"column with unknown type\"]\n"
				"[\"s:known string 1\",\"x:756e6b6e6f776e20737472696e672031\"]\n"
				"[\"s:known string 2\",\"x:756e6b6e6f776e20737472696e672032\"]\n"
				"[\"s:known string 3\",\"x:756e6b6e6f776e20737472696e672033\"]\n");
}

Test(reader, checksums)
{
	const char *ok[] = {"datapage_v1-uncompressed-checksum.parquet",
						"datapage_v1-snappy-compressed-checksum.parquet",
						"plain-dict-uncompressed-checksum.parquet"};
	for (int k = 0; k < 3; k++) {
		const char *p = data_path("data", ok[k]);
		NEED(p);
		pq_reader *r = open_or_die(p);
		lk_batch *b = read_all(r);
		cr_assert_gt(b->nrows, 0, "%s", ok[k]);
		lk_batch_free(b);
		pq_reader_free(r);
	}
	const char *bad[] = {"datapage_v1-corrupt-checksum.parquet",
						 "rle-dict-uncompressed-corrupt-checksum.parquet"};
	for (int k = 0; k < 2; k++) {
		const char *p = data_path("data", bad[k]);
		NEED(p);
		lk_error err;
		lk_error_clear(&err);
		int64_t rows;
		cr_assert(!try_read_file(p, &err, &rows), "%s", bad[k]);
		cr_assert_eq(err.code, LK_ERR_CORRUPT);
		cr_assert(strstr(err.msg, "checksum mismatch"), "%s", err.msg);
		cr_assert(strstr(err.where, bad[k]) && strstr(err.where, "column \""),
				  "%s", err.where);
	}
}

Test(reader, chunk_offset_quirks)
{
	/* dictionary_page_offset 0 */
	const char *p = data_path("data", "dict-page-offset-zero.parquet");
	NEED(p);
	pq_reader *r = open_or_die(p);
	lk_batch *b = read_all(r);
	cr_assert_eq(b->nrows, 39);
	for (int i = 0; i < 39; i++)
		cr_assert_eq(LK_COL_VALUES(&b->cols[0], int32_t)[i], 1552);
	lk_batch_free(b);
	pq_reader_free(r);
	/* parquet-mr before 1.2.9: total_compressed_size misses the dictionary header */
	p = data_path("data", "nation.dict-malformed.parquet");
	NEED(p);
	r = open_or_die(p);
	b = read_all(r);
	cr_assert_eq(b->nrows, 25);
	int64_t n;
	const uint8_t *d = lk_column_bytes(&b->cols[1], 0, &n);
	cr_assert(n == 7 && memcmp(d, "ALGERIA", 7) == 0, "%.*s", (int) n, d);
	lk_batch_free(b);
	pq_reader_free(r);
	/* zero rows, data_page_offset 0 */
	p = data_path("data", "column_chunk_key_value_metadata.parquet");
	NEED(p);
	r = open_or_die(p);
	b = read_all(r);
	cr_assert_eq(b->nrows, 0);
	lk_batch_free(b);
	pq_reader_free(r);
}

/* ---- exact values: nested ----------------------------------------------- */

Test(reader, nested_lists_layout)
{
	const char *p = data_path("data", "nested_lists.snappy.parquet");
	NEED(p);
	pq_reader *r = open_or_die(p);
	const lk_type *s = pq_reader_schema(r);
	lk_arena a;
	lk_arena_init(&a, 0);
	cr_assert_str_eq(lk_type_name(&a, s), "struct<a:array<array<array<string>>>,b:integer>");
	lk_arena_free(&a);
	lk_batch *b = read_all(r);
	cr_assert_eq(b->nrows, 3);
	/* row 0: [[["a","b"],["c"]],[null,["d"]]] */
	const lk_column *l1 = &b->cols[0], *l2 = &l1->children[0], *l3 = &l2->children[0],
					*str = &l3->children[0];
	cr_assert_eq(l1->offsets[0], 0);
	cr_assert_eq(l1->offsets[1], 2);
	cr_assert_eq(l2->offsets[0], 0);
	cr_assert_eq(l2->offsets[1], 2);
	cr_assert_eq(l2->offsets[2], 4);
	cr_assert(!lk_column_is_null(l3, 1));
	cr_assert(lk_column_is_null(l3, 2));
	cr_assert_eq(l3->offsets[2], l3->offsets[3], "null list is empty");
	cr_assert_eq(l3->offsets[0], 0);
	cr_assert_eq(l3->offsets[1], 2);
	int64_t n;
	const uint8_t *d = lk_column_bytes(str, 2, &n);
	cr_assert(n == 1 && d[0] == 'c');
	cr_assert_eq(l1->length, 3);
	cr_assert_eq(l2->length, l1->offsets[3]);
	cr_assert_eq(l3->length, l2->offsets[l2->length]);
	cr_assert_eq(str->length, l3->offsets[l3->length]);
	lk_batch_free(b);
	pq_reader_free(r);
	assert_dump("nested_lists.snappy.parquet",
				"[\"a\",\"b\"]\n"
				"[[[[\"s:a\",\"s:b\"],[\"s:c\"]],[null,[\"s:d\"]]],\"1\"]\n"
				"[[[[\"s:a\",\"s:b\"],[\"s:c\",\"s:d\"]],[null,[\"s:e\"]]],\"1\"]\n"
				"[[[[\"s:a\",\"s:b\"],[\"s:c\",\"s:d\"],[\"s:e\"]],[null,[\"s:f\"]]],\"1\"]\n");
}

Test(reader, impala_nested)
{
	assert_dump("nonnullable.impala.parquet",
				"[\"ID\",\"Int_Array\",\"int_array_array\",\"Int_Map\",\"int_map_array\",\"nested_Struct\"]\n"
				"[\"8\",[\"-1\"],[[\"-1\",\"-2\"],[]],[[\"s:k1\",\"-1\"]],[[],[[\"s:k1\",\"1\"]],[],[]],"
				"{\"a\":\"-1\",\"B\":[\"-1\"],\"c\":{\"D\":[[{\"e\":\"-1\",\"f\":\"s:nonnullable\"}]]},\"G\":[]}]\n");
	assert_dump("nullable.impala.parquet",
				"[\"id\",\"int_array\",\"int_array_Array\",\"int_map\",\"int_Map_Array\",\"nested_struct\"]\n"
				"[\"1\",[\"1\",\"2\",\"3\"],[[\"1\",\"2\"],[\"3\",\"4\"]],[[\"s:k1\",\"1\"],[\"s:k2\",\"100\"]],[[[\"s:k1\",\"1\"]]],{\"A\":\"1\",\"b\":[\"1\"],\"C\":{\"d\":[[{\"E\":\"10\",\"F\":\"s:aaa\"},{\"E\":\"-10\",\"F\":\"s:bbb\"}],[{\"E\":\"11\",\"F\":\"s:c\"}]]},\"g\":[[\"s:foo\",{\"H\":{\"i\":[\"d:3ff199999999999a\"]}}]]}]\n"
				"[\"2\",[null,\"1\",\"2\",null,\"3\",null],[[null,\"1\",\"2\",null],[\"3\",null,\"4\"],[],null],[[\"s:k1\",\"2\"],[\"s:k2\",null]],[[[\"s:k3\",null],[\"s:k1\",\"1\"]],null,[]],{\"A\":null,\"b\":[null],\"C\":{\"d\":[[{\"E\":null,\"F\":null},{\"E\":\"10\",\"F\":\"s:aaa\"},{\"E\":null,\"F\":null},{\"E\":\"-10\",\"F\":\"s:bbb\"},{\"E\":null,\"F\":null}],[{\"E\":\"11\",\"F\":\"s:c\"},null],[],null]},\"g\":[[\"s:g1\",{\"H\":{\"i\":[\"d:400199999999999a\",null]}}],[\"s:g2\",{\"H\":{\"i\":[]}}],[\"s:g3\",null],[\"s:g4\",{\"H\":{\"i\":null}}],[\"s:g5\",{\"H\":null}]]}]\n"
				"[\"3\",[],[null],[],[null,null],{\"A\":null,\"b\":null,\"C\":{\"d\":[]},\"g\":[]}]\n"
				"[\"4\",null,[],[],[],{\"A\":null,\"b\":null,\"C\":{\"d\":null},\"g\":null}]\n"
				"[\"5\",null,null,[],null,{\"A\":null,\"b\":null,\"C\":null,\"g\":[[\"s:foo\",{\"H\":{\"i\":[\"d:400199999999999a\",\"d:400a666666666666\"]}}]]}]\n"
				"[\"6\",null,null,null,null,null]\n"
				"[\"7\",null,[null,[\"5\",\"6\"]],[[\"s:k1\",null],[\"s:k3\",null]],null,{\"A\":\"7\",\"b\":[\"2\",\"3\",null],\"C\":{\"d\":[[],[null],null]},\"g\":null}]\n");
}

Test(reader, legacy_lists_maps_structs)
{
	/* unannotated repeated group inside an optional group */
	assert_dump("repeated_no_annotation.parquet",
				"[\"id\",\"phoneNumbers\"]\n"
				"[\"1\",null]\n[\"2\",null]\n[\"3\",{\"phone\":[]}]\n"
				"[\"4\",{\"phone\":[{\"number\":\"5555555555\",\"kind\":null}]}]\n"
				"[\"5\",{\"phone\":[{\"number\":\"1111111111\",\"kind\":\"s:home\"}]}]\n"
				"[\"6\",{\"phone\":[{\"number\":\"1111111111\",\"kind\":\"s:home\"},"
				"{\"number\":\"2222222222\",\"kind\":null},"
				"{\"number\":\"3333333333\",\"kind\":\"s:mobile\"}]}]\n");
	/* a map without a value column is read as the list of its keys */
	assert_dump("map_no_value.parquet",
				"[\"my_map\",\"my_map_no_v\",\"my_list\"]\n"
				"[[[\"1\",null],[\"2\",null],[\"3\",null]],[\"1\",\"2\",\"3\"],[\"1\",\"2\",\"3\"]]\n"
				"[[[\"4\",null],[\"5\",null],[\"6\",null]],[\"4\",\"5\",\"6\"],[\"4\",\"5\",\"6\"]]\n"
				"[[[\"7\",null],[\"8\",null],[\"9\",null]],[\"7\",\"8\",\"9\"],[\"7\",\"8\",\"9\"]]\n");
	const char *p = data_path("data", "map_no_value.parquet");
	pq_reader *r = open_or_die(p);
	lk_arena a;
	lk_arena_init(&a, 0);
	cr_assert_str_eq(lk_type_name(&a, pq_reader_schema(r)),
					 "struct<my_map:map<integer,integer>,my_map_no_v:array<integer>,my_list:array<integer>>");
	lk_arena_free(&a);
	pq_reader_free(r);
	assert_dump("list_columns.parquet",
				"[\"int64_list\",\"utf8_list\"]\n"
				"[[\"1\",\"2\",\"3\"],[\"s:abc\",\"s:efg\",\"s:hij\"]]\n"
				"[[null,\"1\"],null]\n"
				"[[\"4\"],[\"s:efg\",null,\"s:hij\",\"s:xyz\"]]\n");
	/* Presto's map with an optional key */
	assert_dump("incorrect_map_schema.parquet",
				"[\"my_map\"]\n[[[\"s:parent\",\"s:another\"],[\"s:name\",\"s:report\"]]]\n");
	/* struct whose only field is null in every row */
	const char *pn = data_path("data", "nulls.snappy.parquet");
	NEED(pn);
	r = open_or_die(pn);
	lk_batch *b = read_all(r);
	cr_assert_eq(b->nrows, 8);
	cr_assert_eq(b->cols[0].type->id, LK_T_STRUCT);
	cr_assert_eq(b->cols[0].null_count, 0);
	cr_assert_eq(b->cols[0].children[0].length, 8);
	cr_assert_eq(b->cols[0].children[0].null_count, 8);
	lk_batch_free(b);
	pq_reader_free(r);
}

/* ---- projection ---------------------------------------------------------- */

Test(reader, project_by_name)
{
	const char *p = data_path("data", "alltypes_plain.parquet");
	NEED(p);
	pq_reader *r = open_or_die(p);
	const char *names[] = {"string_col", "id"};
	lk_error err;
	lk_error_clear(&err);
	cr_assert(pq_reader_project(r, names, 2, &err));
	const lk_type *os = pq_reader_output_schema(r);
	cr_assert_eq(os->nchildren, 2);
	cr_assert_str_eq(os->children[0].name, "string_col");
	cr_assert_str_eq(os->children[1].name, "id");
	lk_batch *b = read_all(r);
	cr_assert_eq(b->nrows, 8);
	cr_assert_eq(LK_COL_VALUES(&b->cols[1], int32_t)[0], 4);
	int64_t n;
	const uint8_t *d = lk_column_bytes(&b->cols[0], 1, &n);
	cr_assert(n == 1 && d[0] == '1');
	lk_batch_free(b);

	const char *bad[] = {"id", "nope"};
	cr_assert(!pq_reader_project(r, bad, 2, &err));
	cr_assert_eq(err.code, LK_ERR_NOT_FOUND);
	cr_assert(strstr(err.msg, "nope"), "%s", err.msg);
	/* the previous projection still stands */
	cr_assert_eq(pq_reader_output_schema(r)->nchildren, 2);
	cr_assert(pq_reader_project(r, NULL, 0, &err));
	cr_assert_eq(pq_reader_output_schema(r)->nchildren, 11);
	pq_reader_free(r);
}

/* A file of a Delta table in column mapping id mode (field ids 1, 2). */
static const char *
find_id_mode_file(void)
{
	static char path[4096];
	char cmd[4200];
	snprintf(cmd, sizeof(cmd),
			 "find '%s/delta-golden/data-reader-timestamp_ntz-id-mode/delta' -name '*.parquet' 2>/dev/null | sort | head -1",
			 testdata());
	FILE *f = popen(cmd, "r");
	if (!f)
		return NULL;
	path[0] = '\0';
	if (!fgets(path, sizeof(path), f))
		path[0] = '\0';
	pclose(f);
	path[strcspn(path, "\n")] = '\0';
	return path[0] ? path : NULL;
}

Test(reader, project_by_field_id)
{
	const char *p = find_id_mode_file();
	if (!p)
		cr_skip_test("delta-golden id-mode table not present");
	pq_reader *r = open_or_die(p);
	const lk_type *s = pq_reader_schema(r);
	cr_assert_eq(s->nchildren, 2);
	cr_assert_eq(s->children[0].field_id, 1);
	cr_assert_eq(s->children[1].field_id, 2);
	int64_t rows = pq_reader_num_rows(r);
	cr_assert_gt(rows, 0);

	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *str = lk_type_new(&a, LK_T_STRING);
	lk_type *st = lk_type_struct(&a, 1);
	st->children[0].name = "x";
	st->children[0].type = lk_type_new(&a, LK_T_LONG);
	st->children[0].nullable = true;
	int32_t ids[] = {2, 77, 1, 78};
	const char *names[] = {"ts", "missing", "id", "missing_struct"};
	const lk_type *types[] = {NULL, str, NULL, st};
	lk_error err;
	lk_error_clear(&err);
	cr_assert(pq_reader_project_ids(r, ids, names, types, 4, &err), "%s", err.msg);
	const lk_type *os = pq_reader_output_schema(r);
	cr_assert_str_eq(os->children[0].name, "ts");
	cr_assert_eq(os->children[0].type, s->children[1].type);
	cr_assert_str_eq(os->children[1].name, "missing");
	cr_assert_eq(os->children[1].type->id, LK_T_STRING);
	cr_assert_str_eq(os->children[2].name, "id");
	lk_batch *b = read_all(r);
	cr_assert_eq(b->nrows, rows);
	cr_assert_eq(b->cols[1].null_count, rows);
	cr_assert_eq(b->cols[3].null_count, rows);
	cr_assert_eq(b->cols[3].children[0].length, rows);
	cr_assert_eq(b->cols[3].children[0].null_count, rows);
	for (int64_t i = 0; i < rows; i++) {
		cr_assert(lk_column_is_null(&b->cols[1], i));
		cr_assert_eq(b->cols[1].offsets[i + 1], 0);
	}
	/* the projected real columns hold the same values as the full read */
	lk_batch_free(b);
	cr_assert(pq_reader_project(r, NULL, 0, &err));
	lk_batch *full = read_all(r);
	cr_assert(pq_reader_project_ids(r, ids, names, types, 4, &err));
	b = read_all(r);
	for (int64_t i = 0; i < rows; i++) {
		cr_assert(lk_column_row_equal(&b->cols[0], i, &full->cols[1], i));
		cr_assert(lk_column_row_equal(&b->cols[2], i, &full->cols[0], i));
	}
	lk_batch_free(full);
	lk_batch_free(b);
	lk_arena_free(&a);
	pq_reader_free(r);
}

/* ---- malformed input ------------------------------------------------------ */

Test(reader, bad_data_files_fail_cleanly)
{
	const char *files[] = {
		"ARROW-GH-41317.parquet", "ARROW-GH-45185.parquet", "ARROW-GH-47662.parquet",
		"ARROW-RS-GH-6229-DICTHEADER.parquet", "ARROW-RS-GH-6229-LEVELS.parquet",
		"PARQUET-1481.parquet"};
	for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
		const char *p = data_path("bad_data", files[k]);
		NEED(p);
		lk_error err;
		lk_error_clear(&err);
		int64_t rows;
		cr_assert(!try_read_file(p, &err, &rows), "%s was read", files[k]);
		cr_assert_eq(err.code, LK_ERR_CORRUPT, "%s: %s", files[k], err.msg);
		cr_assert(strstr(err.where, files[k]) != NULL, "%s: where %s", files[k], err.where);
	}
	/* bit width 0 for a dictionary of one value is valid: every index is 0 */
	const char *p = data_path("bad_data", "ARROW-GH-43605.parquet");
	NEED(p);
	pq_reader *r = open_or_die(p);
	lk_batch *b = read_all(r);
	cr_assert_eq(b->nrows, 21186);
	for (int64_t i = 0; i < b->nrows; i++)
		cr_assert_eq(LK_COL_VALUES(&b->cols[0], int16_t)[i], 0);
	lk_batch_free(b);
	pq_reader_free(r);
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert(f != NULL, "%s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *d = malloc((size_t) n);
	cr_assert_eq(fread(d, 1, (size_t) n, f), (size_t) n);
	fclose(f);
	*len = (size_t) n;
	return d;
}

/* Read a memory image; true if every row group decoded. */
static bool
read_memory(const uint8_t *data, size_t len, lk_error *err)
{
	pq_input in;
	pq_input_from_memory(&in, data, len, "mem.parquet");
	pq_reader *r = pq_reader_open(&in, err);
	if (!r)
		return false;
	lk_batch *b = lk_batch_new(pq_reader_output_schema(r));
	bool ok = true;
	for (int g = 0; ok && g < pq_reader_num_row_groups(r); g++)
		ok = pq_reader_read_row_group(r, g, b, err);
	lk_batch_free(b);
	pq_reader_free(r);
	return ok;
}

Test(reader, truncated_and_garbage_input)
{
	const char *p = data_path("data", "alltypes_plain.parquet");
	NEED(p);
	size_t len;
	uint8_t *d = slurp(p, &len);
	lk_error err;
	cr_assert(read_memory(d, len, &err));
	for (size_t cut = 0; cut < len; cut += 7) {
		lk_error_clear(&err);
		cr_assert(!read_memory(d, cut, &err), "cut at %zu was read", cut);
		cr_assert_neq(err.code, LK_OK);
		cr_assert(strstr(err.where, "mem.parquet") != NULL, "cut %zu: %s", cut, err.where);
	}
	uint8_t junk[64];
	memset(junk, 'x', sizeof(junk));
	lk_error_clear(&err);
	cr_assert(!read_memory(junk, sizeof(junk), &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert(strstr(err.msg, "PAR1"), "%s", err.msg);
	/* footer length pointing before the start of the file */
	memcpy(junk, "PAR1", 4);
	memcpy(junk + 60, "PAR1", 4);
	junk[56] = 0xff;
	junk[57] = 0xff;
	junk[58] = 0;
	junk[59] = 0;
	lk_error_clear(&err);
	cr_assert(!read_memory(junk, sizeof(junk), &err));
	cr_assert(strstr(err.msg, "footer length"), "%s", err.msg);
	free(d);
}

/* Deterministic mutation fuzzing of real files: flipped bytes anywhere must
 * give a clean error or a read, never a crash (run under ASan too). */
Test(reader, mutations_never_crash, .timeout = 600)
{
	const char *files[] = {"alltypes_plain.parquet", "nested_lists.snappy.parquet",
						   "nullable.impala.parquet", "datapage_v2.snappy.parquet",
						   "delta_byte_array.parquet", "byte_stream_split.zstd.parquet",
						   "rle_boolean_encoding.parquet", "alltypes_dictionary.parquet",
						   "delta_binary_packed.parquet", "fixed_length_decimal.parquet"};
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	int errors = 0, reads = 0;
	/* LAKESYNC_READER_MUTATIONS=N runs N mutations per file (default 300) */
	const char *env = getenv("LAKESYNC_READER_MUTATIONS");
	int iters = env ? atoi(env) : 300;
	if (getenv("LAKESYNC_READER_SEED"))
		rng = strtoull(getenv("LAKESYNC_READER_SEED"), NULL, 0) | 1;
	/* LAKESYNC_READER_MUTATE_FILES=a.parquet:b.parquet mutates those instead */
	char *list = getenv("LAKESYNC_READER_MUTATE_FILES")
		? strdup(getenv("LAKESYNC_READER_MUTATE_FILES")) : NULL;
	char *save = NULL, *next = list ? strtok_r(list, ":", &save) : NULL;
	size_t nfiles = list ? SIZE_MAX : sizeof(files) / sizeof(files[0]);
	for (size_t k = 0; k < nfiles; k++) {
		char p[4096];
		if (list) {
			if (!next)
				break;
			snprintf(p, sizeof(p), "%s", next);
			next = strtok_r(NULL, ":", &save);
		} else {
			snprintf(p, sizeof(p), "%s", data_path("data", files[k]));
		}
		NEED(p);
		size_t len;
		uint8_t *orig = slurp(p, &len);
		uint8_t *d = malloc(len);
		for (int iter = 0; iter < iters; iter++) {
			memcpy(d, orig, len);
			int flips = 1 + (int) (rng % 4);
			for (int f = 0; f < flips; f++) {
				rng ^= rng << 13;
				rng ^= rng >> 7;
				rng ^= rng << 17;
				size_t at = (size_t) (rng % len);
				d[at] = (uint8_t) (rng >> 32);
			}
			lk_error err;
			lk_error_clear(&err);
			if (read_memory(d, len, &err)) {
				reads++;
			} else {
				errors++;
				cr_assert_neq(err.code, LK_OK);
				cr_assert(err.msg[0] != '\0');
			}
		}
		free(d);
		free(orig);
	}
	free(list);
	cr_assert_gt(errors, 0);
	cr_assert_gt(reads, 0);
}

/* ---- hand-built files: exact layouts the real files do not cover -------- */

#include "parquet/encoding.h"
#include "parquet/meta.h"

typedef struct tb_col {
	pq_physical_type type;
	const char *path[4];
	int npath;
	lk_buf pages;
	int64_t num_values;
} tb_col;

typedef struct tb {
	pq_schema_element schema[16];
	int nschema;
	tb_col cols[4];
	int ncols;
} tb;

/* Schema element: type < 0 → group with nchildren; rep < 0 → root. */
static pq_schema_element *
tb_elem(tb *t, const char *name, int type, int rep, int nchildren)
{
	pq_schema_element *e = &t->schema[t->nschema++];
	memset(e, 0, sizeof(*e));
	e->name = name;
	if (type >= 0) {
		e->has_type = true;
		e->type = (pq_physical_type) type;
	} else {
		e->has_num_children = true;
		e->num_children = nchildren;
	}
	if (rep >= 0) {
		e->has_repetition = true;
		e->repetition = (pq_repetition) rep;
	}
	return e;
}

static pq_schema_element *
tb_ct(pq_schema_element *e, pq_converted_type ct)
{
	e->has_converted_type = true;
	e->converted_type = ct;
	return e;
}

static int
tb_col_add(tb *t, pq_physical_type type, const char *p0, const char *p1, const char *p2)
{
	tb_col *c = &t->cols[t->ncols];
	memset(c, 0, sizeof(*c));
	c->type = type;
	c->path[c->npath++] = p0;
	if (p1)
		c->path[c->npath++] = p1;
	if (p2)
		c->path[c->npath++] = p2;
	return t->ncols++;
}

/* Append a page: header (sizes filled here) + body. */
static void
tb_page(tb *t, int col, pq_page_header *h, const lk_buf *body)
{
	h->uncompressed_page_size = (int32_t) body->len;
	h->compressed_page_size = (int32_t) body->len;
	pq_meta_write_page_header(&t->cols[col].pages, h);
	lk_buf_append(&t->cols[col].pages, body->data, body->len);
}

static void
tb_data_v1(tb *t, int col, int32_t nv, pq_encoding enc, pq_encoding level_enc,
		   const lk_buf *body)
{
	pq_page_header h;
	memset(&h, 0, sizeof(h));
	h.type = PQ_PAGE_DATA;
	h.has_data_page_header = true;
	h.data_page_header.num_values = nv;
	h.data_page_header.encoding = enc;
	h.data_page_header.definition_level_encoding = level_enc;
	h.data_page_header.repetition_level_encoding = level_enc;
	tb_page(t, col, &h, body);
	t->cols[col].num_values += nv;
}

static void
tb_dict(tb *t, int col, int32_t nv, const lk_buf *body)
{
	pq_page_header h;
	memset(&h, 0, sizeof(h));
	h.type = PQ_PAGE_DICTIONARY;
	h.has_dictionary_page_header = true;
	h.dictionary_page_header.num_values = nv;
	h.dictionary_page_header.encoding = PQ_ENC_PLAIN;
	tb_page(t, col, &h, body);
}

/* v1 RLE levels: u32le length + hybrid. */
static void
tb_levels(lk_buf *b, const uint32_t *v, int64_t n, int bw)
{
	lk_buf l = LK_BUF_INIT;
	pq_rle_encode(&l, v, n, bw);
	lk_buf_append_u32le(b, (uint32_t) l.len);
	lk_buf_append(b, l.data, l.len);
	lk_buf_free(&l);
}

static void
tb_i32s(lk_buf *b, const int32_t *v, int n)
{
	for (int i = 0; i < n; i++)
		lk_buf_append_u32le(b, (uint32_t) v[i]);
}

/* The whole file. Caller frees out with lk_buf_free. */
static void
tb_finish(tb *t, int64_t num_rows, lk_buf *out)
{
	lk_buf_init(out);
	lk_buf_append(out, "PAR1", 4);
	pq_column_chunk cc[4];
	memset(cc, 0, sizeof(cc));
	for (int i = 0; i < t->ncols; i++) {
		tb_col *c = &t->cols[i];
		pq_column_meta *m = &cc[i].meta_data;
		cc[i].has_meta_data = true;
		cc[i].file_offset = (int64_t) out->len;
		m->type = c->type;
		static pq_encoding encs[2] = {PQ_ENC_PLAIN, PQ_ENC_RLE};
		m->nencodings = 2;
		m->encodings = encs;
		m->npath = c->npath;
		m->path_in_schema = c->path;
		m->codec = PQ_CODEC_UNCOMPRESSED;
		m->num_values = c->num_values;
		m->total_uncompressed_size = (int64_t) c->pages.len;
		m->total_compressed_size = (int64_t) c->pages.len;
		m->data_page_offset = (int64_t) out->len;
		lk_buf_append(out, c->pages.data, c->pages.len);
		lk_buf_free(&c->pages);
	}
	pq_row_group rg;
	memset(&rg, 0, sizeof(rg));
	rg.ncolumns = t->ncols;
	rg.columns = cc;
	rg.num_rows = num_rows;
	pq_file_meta fm;
	memset(&fm, 0, sizeof(fm));
	fm.version = 1;
	fm.nschema = t->nschema;
	fm.schema = t->schema;
	fm.num_rows = num_rows;
	fm.nrow_groups = 1;
	fm.row_groups = &rg;
	fm.created_by = "lakesync test_reader";
	size_t at = out->len;
	pq_meta_write_file_meta(out, &fm);
	lk_buf_append_u32le(out, (uint32_t) (out->len - at));
	lk_buf_append(out, "PAR1", 4);
}

/* Read the built file: NULL + err on failure; else the batch (caller
 * frees) and its schema's name in *tname (static buffer). */
static lk_batch *
tb_read(const lk_buf *file, lk_error *err, char *tname, size_t tlen)
{
	pq_input in;
	pq_input_from_memory(&in, file->data, file->len, "built.parquet");
	lk_error_clear(err);
	pq_reader *r = pq_reader_open(&in, err);
	if (!r)
		return NULL;
	if (tname) {
		lk_arena a;
		lk_arena_init(&a, 0);
		snprintf(tname, tlen, "%s", lk_type_name(&a, pq_reader_schema(r)));
		lk_arena_free(&a);
	}
	/* the schema outlives the reader: copy it into a static arena */
	static lk_arena keep;
	static bool init;
	if (!init) {
		lk_arena_init(&keep, 0);
		init = true;
	}
	const lk_type *s = lk_type_copy(&keep, pq_reader_output_schema(r));
	lk_batch *b = lk_batch_new(s);
	if (!pq_reader_read_row_group(r, 0, b, err)) {
		lk_batch_free(b);
		b = NULL;
	}
	pq_reader_free(r);
	return b;
}

Test(reader, legacy_bit_packed_levels)
{
	tb t = {0};
	tb_elem(&t, "schema", -1, -1, 1);
	tb_elem(&t, "x", PQ_INT32, PQ_OPTIONAL, 0);
	int c = tb_col_add(&t, PQ_INT32, "x", NULL, NULL);
	lk_buf body = LK_BUF_INIT;
	/* def levels 1 0 1 1 0, BIT_PACKED (MSB first): 1011 0000 */
	lk_buf_append_byte(&body, 0xb0);
	int32_t v[] = {10, 30, 40};
	tb_i32s(&body, v, 3);
	tb_data_v1(&t, c, 5, PQ_ENC_PLAIN, PQ_ENC_BIT_PACKED, &body);
	lk_buf file;
	tb_finish(&t, 5, &file);
	lk_error err;
	lk_batch *b = tb_read(&file, &err, NULL, 0);
	cr_assert(b != NULL, "%s (%s)", err.msg, err.where);
	const lk_column *col = &b->cols[0];
	static const int32_t want[5] = {10, 0, 30, 40, 0};
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(lk_column_is_null(col, i), i == 1 || i == 4, "row %d", i);
		cr_assert_eq(LK_COL_VALUES(col, int32_t)[i], want[i], "row %d", i);
	}
	cr_assert_eq(col->null_count, 2);
	lk_batch_free(b);
	lk_buf_free(&file);
	lk_buf_free(&body);
}

Test(reader, dictionary_index_out_of_range)
{
	tb t = {0};
	tb_elem(&t, "schema", -1, -1, 1);
	tb_elem(&t, "x", PQ_INT32, PQ_REQUIRED, 0);
	int c = tb_col_add(&t, PQ_INT32, "x", NULL, NULL);
	lk_buf d = LK_BUF_INIT, body = LK_BUF_INIT;
	int32_t dv[] = {7, 9};
	tb_i32s(&d, dv, 2);
	tb_dict(&t, c, 2, &d);
	uint32_t idx[3] = {1, 0, 3};
	lk_buf_append_byte(&body, 2);
	pq_rle_encode(&body, idx, 3, 2);
	tb_data_v1(&t, c, 3, PQ_ENC_RLE_DICTIONARY, PQ_ENC_RLE, &body);
	lk_buf file;
	tb_finish(&t, 3, &file);
	lk_error err;
	cr_assert_null(tb_read(&file, &err, NULL, 0));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert(strstr(err.msg, "dictionary index 3 out of range"), "%s", err.msg);
	cr_assert(strstr(err.where, "built.parquet") && strstr(err.where, "column \"x\""),
			  "%s", err.where);
	lk_buf_free(&file);

	/* the same with valid indices */
	t = (tb) {0};
	tb_elem(&t, "schema", -1, -1, 1);
	tb_elem(&t, "x", PQ_INT32, PQ_REQUIRED, 0);
	c = tb_col_add(&t, PQ_INT32, "x", NULL, NULL);
	tb_dict(&t, c, 2, &d);
	idx[2] = 1;
	lk_buf_reset(&body);
	lk_buf_append_byte(&body, 2);
	pq_rle_encode(&body, idx, 3, 2);
	tb_data_v1(&t, c, 3, PQ_ENC_RLE_DICTIONARY, PQ_ENC_RLE, &body);
	tb_finish(&t, 3, &file);
	lk_batch *b = tb_read(&file, &err, NULL, 0);
	cr_assert(b != NULL, "%s", err.msg);
	cr_assert_eq(LK_COL_VALUES(&b->cols[0], int32_t)[0], 9);
	cr_assert_eq(LK_COL_VALUES(&b->cols[0], int32_t)[1], 7);
	cr_assert_eq(LK_COL_VALUES(&b->cols[0], int32_t)[2], 9);
	lk_batch_free(b);
	lk_buf_free(&file);
	lk_buf_free(&d);
	lk_buf_free(&body);
}

/* optional group s { optional int32 x }: max def 2 */
static void
tb_struct_schema(tb *t)
{
	tb_elem(t, "schema", -1, -1, 1);
	tb_elem(t, "s", -1, PQ_OPTIONAL, 1);
	tb_elem(t, "x", PQ_INT32, PQ_OPTIONAL, 0);
}

Test(reader, level_and_row_count_checks)
{
	lk_error err;
	lk_buf file, body = LK_BUF_INIT;
	tb t;

	/* definition level 3 with max 2 */
	t = (tb) {0};
	tb_struct_schema(&t);
	int c = tb_col_add(&t, PQ_INT32, "s", "x", NULL);
	uint32_t def[3] = {2, 3, 0};
	tb_levels(&body, def, 3, 2);
	lk_buf_append_u32le(&body, 5);
	tb_data_v1(&t, c, 3, PQ_ENC_PLAIN, PQ_ENC_RLE, &body);
	tb_finish(&t, 3, &file);
	cr_assert_null(tb_read(&file, &err, NULL, 0));
	cr_assert(strstr(err.msg, "definition level 3 above the maximum 2"), "%s", err.msg);
	lk_buf_free(&file);

	/* struct null / field null / value */
	t = (tb) {0};
	tb_struct_schema(&t);
	c = tb_col_add(&t, PQ_INT32, "s", "x", NULL);
	def[1] = 1;
	lk_buf_reset(&body);
	tb_levels(&body, def, 3, 2);
	lk_buf_append_u32le(&body, 5);
	tb_data_v1(&t, c, 3, PQ_ENC_PLAIN, PQ_ENC_RLE, &body);
	tb_finish(&t, 3, &file);
	lk_batch *b = tb_read(&file, &err, NULL, 0);
	cr_assert(b != NULL, "%s", err.msg);
	const lk_column *s = &b->cols[0], *x = &s->children[0];
	cr_assert(!lk_column_is_null(s, 0) && !lk_column_is_null(x, 0));
	cr_assert_eq(LK_COL_VALUES(x, int32_t)[0], 5);
	cr_assert(!lk_column_is_null(s, 1) && lk_column_is_null(x, 1));
	cr_assert(lk_column_is_null(s, 2) && lk_column_is_null(x, 2), "null struct, null child");
	cr_assert_eq(s->null_count, 1);
	cr_assert_eq(x->null_count, 2);
	lk_batch_free(b);
	lk_buf_free(&file);

	/* a required column with fewer values than rows */
	t = (tb) {0};
	tb_elem(&t, "schema", -1, -1, 1);
	tb_elem(&t, "x", PQ_INT32, PQ_REQUIRED, 0);
	c = tb_col_add(&t, PQ_INT32, "x", NULL, NULL);
	int32_t v[3] = {1, 2, 3};
	lk_buf_reset(&body);
	tb_i32s(&body, v, 3);
	tb_data_v1(&t, c, 3, PQ_ENC_PLAIN, PQ_ENC_RLE, &body);
	tb_finish(&t, 5, &file);
	cr_assert_null(tb_read(&file, &err, NULL, 0));
	cr_assert(strstr(err.msg, "column chunk holds 3 rows, the row group 5"), "%s", err.msg);
	lk_buf_free(&file);

	/* more values than rows */
	t = (tb) {0};
	tb_elem(&t, "schema", -1, -1, 1);
	tb_elem(&t, "x", PQ_INT32, PQ_REQUIRED, 0);
	c = tb_col_add(&t, PQ_INT32, "x", NULL, NULL);
	tb_data_v1(&t, c, 3, PQ_ENC_PLAIN, PQ_ENC_RLE, &body);
	tb_finish(&t, 2, &file);
	cr_assert_null(tb_read(&file, &err, NULL, 0));
	cr_assert(strstr(err.msg, "page of 3 values past the row group's 2 rows"), "%s", err.msg);
	lk_buf_free(&file);

	/* a page claiming a million values with levels for three: refused
	 * before anything is sized by the claim */
	t = (tb) {0};
	tb_elem(&t, "schema", -1, -1, 1);
	tb_elem(&t, "x", PQ_INT32, PQ_OPTIONAL, 0);
	c = tb_col_add(&t, PQ_INT32, "x", NULL, NULL);
	uint32_t d1[3] = {1, 1, 1};
	lk_buf_reset(&body);
	tb_levels(&body, d1, 3, 1);
	tb_i32s(&body, v, 3);
	tb_data_v1(&t, c, 1000000, PQ_ENC_PLAIN, PQ_ENC_RLE, &body);
	tb_finish(&t, 1000000, &file);
	cr_assert_null(tb_read(&file, &err, NULL, 0));
	cr_assert(strstr(err.msg, "fewer levels than its 1000000 values"), "%s", err.msg);
	lk_buf_free(&file);

	/* a dictionary page after a data page */
	t = (tb) {0};
	tb_elem(&t, "schema", -1, -1, 1);
	tb_elem(&t, "x", PQ_INT32, PQ_REQUIRED, 0);
	c = tb_col_add(&t, PQ_INT32, "x", NULL, NULL);
	lk_buf_reset(&body);
	tb_i32s(&body, v, 3);
	tb_data_v1(&t, c, 3, PQ_ENC_PLAIN, PQ_ENC_RLE, &body);
	tb_dict(&t, c, 3, &body);
	tb_finish(&t, 6, &file);
	cr_assert_null(tb_read(&file, &err, NULL, 0));
	cr_assert(strstr(err.msg, "dictionary page after a data page"), "%s", err.msg);
	lk_buf_free(&file);
	lk_buf_free(&body);
}

Test(reader, index_and_unknown_pages_skipped)
{
	tb t = {0};
	tb_elem(&t, "schema", -1, -1, 1);
	tb_elem(&t, "x", PQ_INT64, PQ_REQUIRED, 0);
	int c = tb_col_add(&t, PQ_INT64, "x", NULL, NULL);
	lk_buf junk = LK_BUF_INIT, body = LK_BUF_INIT;
	lk_buf_append_str(&junk, "index page bytes");
	pq_page_header h;
	memset(&h, 0, sizeof(h));
	h.type = PQ_PAGE_INDEX;
	h.has_index_page_header = true;
	tb_page(&t, c, &h, &junk);
	memset(&h, 0, sizeof(h));
	h.type = (pq_page_type) 9;     /* a page type from the future */
	tb_page(&t, c, &h, &junk);
	lk_buf_append_u64le(&body, (uint64_t) -42);
	lk_buf_append_u64le(&body, 43);
	tb_data_v1(&t, c, 2, PQ_ENC_PLAIN, PQ_ENC_RLE, &body);
	lk_buf file;
	tb_finish(&t, 2, &file);
	lk_error err;
	lk_batch *b = tb_read(&file, &err, NULL, 0);
	cr_assert(b != NULL, "%s", err.msg);
	cr_assert_eq(LK_COL_VALUES(&b->cols[0], int64_t)[0], -42);
	cr_assert_eq(LK_COL_VALUES(&b->cols[0], int64_t)[1], 43);
	lk_batch_free(b);
	lk_buf_free(&file);
	lk_buf_free(&junk);
	lk_buf_free(&body);
}

/* One required INT32/INT64/BYTE_ARRAY column annotated by `ct`, holding
 * the PLAIN values in body; returns the batch or NULL. */
static lk_batch *
read_one_annotated(int phys, int ct, int precision, int scale, const lk_buf *body,
				   int nv, lk_error *err, char *tname, size_t tlen)
{
	tb t = {0};
	tb_elem(&t, "schema", -1, -1, 1);
	pq_schema_element *e = tb_elem(&t, "v", phys, PQ_REQUIRED, 0);
	if (ct >= 0)
		tb_ct(e, (pq_converted_type) ct);
	if (precision) {
		e->has_precision = true;
		e->precision = precision;
		e->has_scale = true;
		e->scale = scale;
	}
	int c = tb_col_add(&t, (pq_physical_type) phys, "v", NULL, NULL);
	tb_data_v1(&t, c, nv, PQ_ENC_PLAIN, PQ_ENC_RLE, body);
	lk_buf file;
	tb_finish(&t, nv, &file);
	lk_batch *b = tb_read(&file, err, tname, tlen);
	lk_buf_free(&file);
	return b;
}

Test(reader, converted_types)
{
	lk_error err;
	char tn[256];
	lk_buf body = LK_BUF_INIT;
	int32_t v[3] = {250, -5, 86399999};
	tb_i32s(&body, v, 3);

	lk_batch *b = read_one_annotated(PQ_INT32, PQ_CT_UINT_8, 0, 0, &body, 3, &err, tn, sizeof(tn));
	cr_assert(b, "%s", err.msg);
	cr_assert_str_eq(tn, "struct<v:unsigned byte>");
	cr_assert_eq(LK_COL_VALUES(&b->cols[0], uint8_t)[0], 250);
	lk_batch_free(b);

	b = read_one_annotated(PQ_INT32, PQ_CT_INT_16, 0, 0, &body, 3, &err, tn, sizeof(tn));
	cr_assert(b, "%s", err.msg);
	cr_assert_str_eq(tn, "struct<v:short>");
	cr_assert_eq(LK_COL_VALUES(&b->cols[0], int16_t)[1], -5);
	lk_batch_free(b);

	b = read_one_annotated(PQ_INT32, PQ_CT_TIME_MILLIS, 0, 0, &body, 3, &err, tn, sizeof(tn));
	cr_assert(b, "%s", err.msg);
	cr_assert_eq(b->cols[0].type->id, LK_T_TIME);
	cr_assert_eq(b->cols[0].type->unit, LK_UNIT_MILLIS);
	cr_assert_eq(LK_COL_VALUES(&b->cols[0], int64_t)[2], 86399999);
	lk_batch_free(b);

	b = read_one_annotated(PQ_INT32, PQ_CT_DECIMAL, 9, 3, &body, 3, &err, tn, sizeof(tn));
	cr_assert(b, "%s", err.msg);
	cr_assert_str_eq(tn, "struct<v:decimal(9,3)>");
	cr_assert(LK_COL_VALUES(&b->cols[0], lk_int128)[1] == -5);
	lk_batch_free(b);

	b = read_one_annotated(PQ_INT32, PQ_CT_DATE, 0, 0, &body, 3, &err, tn, sizeof(tn));
	cr_assert(b, "%s", err.msg);
	cr_assert_str_eq(tn, "struct<v:date>");
	lk_batch_free(b);

	lk_buf_reset(&body);
	lk_buf_append_u64le(&body, 1234567890123ull);
	b = read_one_annotated(PQ_INT64, PQ_CT_TIMESTAMP_MILLIS, 0, 0, &body, 1, &err, tn, sizeof(tn));
	cr_assert(b, "%s", err.msg);
	cr_assert_eq(b->cols[0].type->id, LK_T_TIMESTAMP, "legacy timestamps are UTC-adjusted");
	cr_assert_eq(b->cols[0].type->unit, LK_UNIT_MILLIS);
	cr_assert_eq(LK_COL_VALUES(&b->cols[0], int64_t)[0], 1234567890123);
	lk_batch_free(b);

	b = read_one_annotated(PQ_INT64, PQ_CT_UINT_64, 0, 0, &body, 1, &err, tn, sizeof(tn));
	cr_assert(b, "%s", err.msg);
	cr_assert_str_eq(tn, "struct<v:unsigned long>");
	lk_batch_free(b);

	/* BYTE_ARRAY decimals: 17 bytes, sign-extended -1, then too wide */
	lk_buf_reset(&body);
	lk_buf_append_u32le(&body, 17);
	for (int i = 0; i < 17; i++)
		lk_buf_append_byte(&body, 0xff);
	lk_buf_append_u32le(&body, 2);
	lk_buf_append_byte(&body, 0x80);
	lk_buf_append_byte(&body, 0x00);
	b = read_one_annotated(PQ_BYTE_ARRAY, PQ_CT_DECIMAL, 38, 0, &body, 2, &err, tn, sizeof(tn));
	cr_assert(b, "%s", err.msg);
	cr_assert(LK_COL_VALUES(&b->cols[0], lk_int128)[0] == -1);
	cr_assert(LK_COL_VALUES(&b->cols[0], lk_int128)[1] == -32768);
	lk_batch_free(b);
	lk_buf_reset(&body);
	lk_buf_append_u32le(&body, 17);
	lk_buf_append_byte(&body, 0x01);
	for (int i = 0; i < 16; i++)
		lk_buf_append_byte(&body, 0);
	b = read_one_annotated(PQ_BYTE_ARRAY, PQ_CT_DECIMAL, 38, 0, &body, 1, &err, tn, sizeof(tn));
	cr_assert_null(b);
	cr_assert(strstr(err.msg, "does not fit"), "%s", err.msg);
	/* JSON / ENUM / BSON annotations survive as exts */
	lk_buf_reset(&body);
	lk_buf_append_u32le(&body, 2);
	lk_buf_append_str(&body, "{}");
	b = read_one_annotated(PQ_BYTE_ARRAY, PQ_CT_JSON, 0, 0, &body, 1, &err, tn, sizeof(tn));
	cr_assert(b, "%s", err.msg);
	cr_assert_eq(b->cols[0].type->id, LK_T_STRING);
	cr_assert_eq(b->cols[0].type->ext, LK_EXT_JSON);
	lk_batch_free(b);
	b = read_one_annotated(PQ_BYTE_ARRAY, PQ_CT_BSON, 0, 0, &body, 1, &err, tn, sizeof(tn));
	cr_assert(b, "%s", err.msg);
	cr_assert_eq(b->cols[0].type->id, LK_T_BINARY);
	cr_assert_eq(b->cols[0].type->ext, LK_EXT_BSON);
	lk_batch_free(b);
	lk_buf_free(&body);
}

Test(reader, two_level_lists)
{
	/* optional group a (LIST) { repeated int32 array }: [1,2], [], null */
	tb t = {0};
	tb_elem(&t, "schema", -1, -1, 2);
	tb_ct(tb_elem(&t, "a", -1, PQ_OPTIONAL, 1), PQ_CT_LIST);
	tb_elem(&t, "array", PQ_INT32, PQ_REPEATED, 0);
	/* optional group b (LIST) { repeated group b_tuple { required int32 x } } */
	tb_ct(tb_elem(&t, "b", -1, PQ_OPTIONAL, 1), PQ_CT_LIST);
	tb_elem(&t, "b_tuple", -1, PQ_REPEATED, 1);
	tb_elem(&t, "x", PQ_INT32, PQ_REQUIRED, 0);
	lk_buf body = LK_BUF_INIT;
	uint32_t rep[4] = {0, 1, 0, 0}, def[4] = {2, 2, 1, 0};
	int32_t v[2] = {1, 2};
	int ca = tb_col_add(&t, PQ_INT32, "a", "array", NULL);
	tb_levels(&body, rep, 4, 1);
	tb_levels(&body, def, 4, 2);
	tb_i32s(&body, v, 2);
	tb_data_v1(&t, ca, 4, PQ_ENC_PLAIN, PQ_ENC_RLE, &body);
	int cb = tb_col_add(&t, PQ_INT32, "b", "b_tuple", "x");
	tb_data_v1(&t, cb, 4, PQ_ENC_PLAIN, PQ_ENC_RLE, &body);
	lk_buf file;
	tb_finish(&t, 3, &file);
	lk_error err;
	char tn[256];
	lk_batch *b = tb_read(&file, &err, tn, sizeof(tn));
	cr_assert(b, "%s (%s)", err.msg, err.where);
	cr_assert_str_eq(tn, "struct<a:array<integer>,b:array<struct<x:integer>>>");
	const lk_column *a = &b->cols[0];
	cr_assert_eq(a->length, 3);
	cr_assert_eq(a->offsets[1], 2);
	cr_assert_eq(a->offsets[2], 2);
	cr_assert_eq(a->offsets[3], 2);
	cr_assert(!lk_column_is_null(a, 1), "empty list");
	cr_assert(lk_column_is_null(a, 2), "null list");
	cr_assert_eq(LK_COL_VALUES(&a->children[0], int32_t)[1], 2);
	const lk_column *bs = &b->cols[1].children[0];
	cr_assert_eq(bs->length, 2);
	cr_assert_eq(LK_COL_VALUES(&bs->children[0], int32_t)[0], 1);
	lk_batch_free(b);
	lk_buf_free(&file);

	/* a repetition level that repeats an empty list */
	t = (tb) {0};
	tb_elem(&t, "schema", -1, -1, 1);
	tb_ct(tb_elem(&t, "a", -1, PQ_OPTIONAL, 1), PQ_CT_LIST);
	tb_elem(&t, "array", PQ_INT32, PQ_REPEATED, 0);
	ca = tb_col_add(&t, PQ_INT32, "a", "array", NULL);
	uint32_t rep2[2] = {0, 1}, def2[2] = {1, 2};
	lk_buf_reset(&body);
	tb_levels(&body, rep2, 2, 1);
	tb_levels(&body, def2, 2, 2);
	tb_i32s(&body, v, 1);
	tb_data_v1(&t, ca, 2, PQ_ENC_PLAIN, PQ_ENC_RLE, &body);
	tb_finish(&t, 1, &file);
	cr_assert_null(tb_read(&file, &err, NULL, 0));
	cr_assert(strstr(err.msg, "repeats a list that was not entered"), "%s", err.msg);
	lk_buf_free(&file);

	/* list<struct{a,b}> whose two fields disagree on the element count */
	t = (tb) {0};
	tb_elem(&t, "schema", -1, -1, 1);
	tb_ct(tb_elem(&t, "l", -1, PQ_OPTIONAL, 1), PQ_CT_LIST);
	tb_elem(&t, "list", -1, PQ_REPEATED, 2);
	tb_elem(&t, "a", PQ_INT32, PQ_REQUIRED, 0);
	tb_elem(&t, "b", PQ_INT32, PQ_REQUIRED, 0);
	uint32_t r2[2] = {0, 1}, d2[2] = {2, 2}, r3[3] = {0, 1, 1}, d3[3] = {2, 2, 2};
	int32_t v3[3] = {1, 2, 3};
	ca = tb_col_add(&t, PQ_INT32, "l", "list", "a");
	lk_buf_reset(&body);
	tb_levels(&body, r2, 2, 1);
	tb_levels(&body, d2, 2, 2);
	tb_i32s(&body, v3, 2);
	tb_data_v1(&t, ca, 2, PQ_ENC_PLAIN, PQ_ENC_RLE, &body);
	cb = tb_col_add(&t, PQ_INT32, "l", "list", "b");
	lk_buf_reset(&body);
	tb_levels(&body, r3, 3, 1);
	tb_levels(&body, d3, 3, 2);
	tb_i32s(&body, v3, 3);
	tb_data_v1(&t, cb, 3, PQ_ENC_PLAIN, PQ_ENC_RLE, &body);
	tb_finish(&t, 1, &file);
	cr_assert_null(tb_read(&file, &err, NULL, 0));
	cr_assert(strstr(err.msg, "struct field \"b\" has 3 values, the struct 2"), "%s", err.msg);
	lk_buf_free(&file);
	lk_buf_free(&body);
}

Test(reader, map_key_value_legacy)
{
	/* optional group m (MAP_KEY_VALUE) { repeated group map { required
	 * binary key (UTF8); optional int32 value } }: {"k": 7}, {} */
	tb t = {0};
	tb_elem(&t, "schema", -1, -1, 1);
	tb_ct(tb_elem(&t, "m", -1, PQ_OPTIONAL, 1), PQ_CT_MAP_KEY_VALUE);
	tb_elem(&t, "map", -1, PQ_REPEATED, 2);
	tb_ct(tb_elem(&t, "key", PQ_BYTE_ARRAY, PQ_REQUIRED, 0), PQ_CT_UTF8);
	tb_elem(&t, "value", PQ_INT32, PQ_OPTIONAL, 0);
	lk_buf body = LK_BUF_INIT;
	uint32_t rep[2] = {0, 0}, dk[2] = {2, 1}, dv[2] = {3, 1};
	int ck = tb_col_add(&t, PQ_BYTE_ARRAY, "m", "map", "key");
	tb_levels(&body, rep, 2, 1);
	tb_levels(&body, dk, 2, 2);
	lk_buf_append_u32le(&body, 1);
	lk_buf_append_byte(&body, 'k');
	tb_data_v1(&t, ck, 2, PQ_ENC_PLAIN, PQ_ENC_RLE, &body);
	int cv = tb_col_add(&t, PQ_INT32, "m", "map", "value");
	lk_buf_reset(&body);
	tb_levels(&body, rep, 2, 1);
	tb_levels(&body, dv, 2, 2);
	lk_buf_append_u32le(&body, 7);
	tb_data_v1(&t, cv, 2, PQ_ENC_PLAIN, PQ_ENC_RLE, &body);
	lk_buf file;
	tb_finish(&t, 2, &file);
	lk_error err;
	char tn[256];
	lk_batch *b = tb_read(&file, &err, tn, sizeof(tn));
	cr_assert(b, "%s (%s)", err.msg, err.where);
	cr_assert_str_eq(tn, "struct<m:map<string,integer>>");
	const lk_column *m = &b->cols[0];
	cr_assert_eq(m->offsets[1], 1);
	cr_assert_eq(m->offsets[2], 1);
	cr_assert(!lk_column_is_null(m, 1), "empty map");
	cr_assert_eq(LK_COL_VALUES(&m->children[1], int32_t)[0], 7);
	lk_batch_free(b);
	lk_buf_free(&file);
	lk_buf_free(&body);
}

Test(reader, batch_must_match_projection)
{
	const char *p = data_path("data", "alltypes_plain.parquet");
	NEED(p);
	pq_reader *r = open_or_die(p);
	lk_batch *b = lk_batch_new(pq_reader_output_schema(r));
	const char *names[] = {"id"};
	lk_error err;
	cr_assert(pq_reader_project(r, names, 1, &err));
	lk_error_clear(&err);
	cr_assert(!pq_reader_read_row_group(r, 0, b, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	cr_assert(!pq_reader_read_row_group(r, 1, b, &err), "row group 1 does not exist");
	lk_batch_free(b);
	pq_reader_free(r);
}

Test(reader, int96_range)
{
	/* 2009-03-01 00:00:01 (julian day 2454892) and one past 2262 */
	lk_buf body = LK_BUF_INIT;
	lk_buf_append_u64le(&body, UINT64_C(1000000000));
	lk_buf_append_u32le(&body, 2454892);
	lk_error err;
	tb t = {0};
	tb_elem(&t, "schema", -1, -1, 1);
	tb_elem(&t, "ts", PQ_INT96, PQ_REQUIRED, 0);
	int c = tb_col_add(&t, PQ_INT96, "ts", NULL, NULL);
	tb_data_v1(&t, c, 1, PQ_ENC_PLAIN, PQ_ENC_RLE, &body);
	lk_buf file;
	tb_finish(&t, 1, &file);
	lk_batch *b = tb_read(&file, &err, NULL, 0);
	cr_assert(b, "%s", err.msg);
	cr_assert_eq(LK_COL_VALUES(&b->cols[0], int64_t)[0], INT64_C(1235865601000000000));
	lk_batch_free(b);
	lk_buf_free(&file);

	lk_buf_reset(&body);
	lk_buf_append_u64le(&body, 0);
	lk_buf_append_u32le(&body, 2440588 + 106752);   /* 2262-04-12 */
	t = (tb) {0};
	tb_elem(&t, "schema", -1, -1, 1);
	tb_elem(&t, "ts", PQ_INT96, PQ_REQUIRED, 0);
	c = tb_col_add(&t, PQ_INT96, "ts", NULL, NULL);
	tb_data_v1(&t, c, 1, PQ_ENC_PLAIN, PQ_ENC_RLE, &body);
	tb_finish(&t, 1, &file);
	cr_assert_null(tb_read(&file, &err, NULL, 0));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert(strstr(err.msg, "INT96"), "%s", err.msg);
	lk_buf_free(&file);
	lk_buf_free(&body);
}

/* Schema-only check: an empty file with the given elements. */
static void
assert_schema(tb *t, const char *want)
{
	lk_buf file;
	tb_finish(t, 0, &file);
	lk_error err;
	char tn[512];
	lk_batch *b = tb_read(&file, &err, tn, sizeof(tn));
	cr_assert(b, "%s (%s)", err.msg, err.where);
	cr_assert_str_eq(tn, want);
	cr_assert_eq(b->nrows, 0);
	lk_batch_free(b);
	lk_buf_free(&file);
}

Test(reader, list_backward_compatibility_rules)
{
	/* rule: a repeated group with one repeated field is the element */
	tb t = {0};
	tb_elem(&t, "schema", -1, -1, 1);
	tb_ct(tb_elem(&t, "c", -1, PQ_OPTIONAL, 1), PQ_CT_LIST);
	tb_elem(&t, "list", -1, PQ_REPEATED, 1);
	tb_elem(&t, "x", PQ_INT32, PQ_REPEATED, 0);
	tb_col_add(&t, PQ_INT32, "c", "list", "x");
	assert_schema(&t, "struct<c:array<struct<x:array<integer>>>>");

	/* 3-level with an optional element; a repeated LIST group is a list of lists */
	t = (tb) {0};
	tb_elem(&t, "schema", -1, -1, 2);
	tb_ct(tb_elem(&t, "a", -1, PQ_REQUIRED, 1), PQ_CT_LIST);
	tb_elem(&t, "list", -1, PQ_REPEATED, 1);
	tb_elem(&t, "element", PQ_BYTE_ARRAY, PQ_OPTIONAL, 0)->has_converted_type = false;
	tb_ct(tb_elem(&t, "r", -1, PQ_REPEATED, 1), PQ_CT_LIST);
	tb_elem(&t, "e", PQ_INT64, PQ_REPEATED, 0);
	tb_col_add(&t, PQ_BYTE_ARRAY, "a", "list", "element");
	tb_col_add(&t, PQ_INT64, "r", "e", NULL);
	assert_schema(&t, "struct<a:array<binary>,r:array<array<long>>>");

	/* "array" names a one-field struct element */
	t = (tb) {0};
	tb_elem(&t, "schema", -1, -1, 1);
	tb_ct(tb_elem(&t, "a", -1, PQ_OPTIONAL, 1), PQ_CT_LIST);
	tb_elem(&t, "array", -1, PQ_REPEATED, 1);
	tb_elem(&t, "v", PQ_DOUBLE, PQ_OPTIONAL, 0);
	tb_col_add(&t, PQ_DOUBLE, "a", "array", "v");
	assert_schema(&t, "struct<a:array<struct<v:double>>>");

	/* a LIST group whose child is not repeated is just a struct */
	t = (tb) {0};
	tb_elem(&t, "schema", -1, -1, 1);
	tb_ct(tb_elem(&t, "a", -1, PQ_OPTIONAL, 1), PQ_CT_LIST);
	tb_elem(&t, "v", PQ_FLOAT, PQ_OPTIONAL, 0);
	tb_col_add(&t, PQ_FLOAT, "a", "v", NULL);
	assert_schema(&t, "struct<a:struct<v:float>>");
}
