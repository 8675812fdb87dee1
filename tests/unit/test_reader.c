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
static __attribute__((unused)) pq_reader *
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

/* Read the whole file (current projection) into one batch made by
 * appending every row group.  Caller frees with lk_batch_free. */
static __attribute__((unused)) lk_batch *
read_all(pq_reader *r)
{
	const lk_type *s = pq_reader_output_schema(r);
	lk_batch *all = lk_batch_new(s);
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
static __attribute__((unused)) bool
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

static __attribute__((unused)) int
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
