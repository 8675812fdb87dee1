/*
 * cli_parquet.c — `lakesync parquet schema|cat|copy`: inspect and rewrite
 * Parquet files with lakesync's own reader and writer.
 *
 *   schema FILE                     schema tree + file facts
 *   cat FILE [--format jsonl|csv] [--limit N] [--columns a,b]
 *   copy IN OUT [--compression C] [--row-group-rows N]
 *               [--page-version 1|2] [--no-dictionary]
 *
 * Errors print "lakesync: <msg>\n  where: <where>" on stderr and exit with
 * cli_exit_for(): 1 I/O, 2 usage, 3 malformed data, 4 unsupported feature.
 * Every command reads one row group at a time, so memory is bounded by one
 * row group of the selected columns.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/format.h"
#include "common/arena.h"
#include "common/buf.h"
#include "parquet/parquet.h"

/* ---- shared helpers ----------------------------------------------------- */

/* Make sure the message names the file, then print it; returns the exit
 * code for the error. */
static int
fail_file(lk_error *err, const char *path)
{
	if (!strstr(err->where, path))
		lk_error_add_where(err, "file \"%s\"", path);
	if (err->code == LK_OK)
		err->code = LK_ERR_INTERNAL;
	cli_print_error(err);
	return cli_exit_for(err);
}

static int
usage_error(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "lakesync parquet %s: ", cmd);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry `lakesync parquet %s --help`.\n", cmd);
	return LK_EXIT_USAGE;
}

/* `--name value` or `--name=value`: if argv[*i] is option `name`, set *val
 * and advance *i past its value. Returns 1 matched, 0 not this option, -1
 * missing value. */
static bool
parse_count(const char *s, int64_t min, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min)
		return false;
	*out = v;
	return true;
}

static pq_reader *
open_reader(const char *path, lk_error *err)
{
	pq_input in;
	if (!pq_input_open_file(&in, path, err))
		return NULL;
	return pq_reader_open(&in, err);   /* owns `in` from here, even on failure */
}

/* Write all of buf to stdout; false (with err) on a write error. */
static bool
flush_stdout(lk_buf *buf, lk_error *err)
{
	if (buf->len && fwrite(buf->data, 1, buf->len, stdout) != buf->len) {
		lk_error_set(err, LK_ERR_IO, "could not write to standard output: %s",
					 strerror(errno));
		return false;
	}
	lk_buf_reset(buf);
	return true;
}

/* ---- schema ------------------------------------------------------------- */

static const char *
unit_name(int unit)
{
	switch (unit) {
	case LK_UNIT_MILLIS: return "millis";
	case LK_UNIT_NANOS: return "nanos";
	default: return "micros";
	}
}

static const char *
ext_name(int ext)
{
	switch (ext) {
	case LK_EXT_UUID: return "uuid";
	case LK_EXT_JSON: return "json";
	case LK_EXT_BSON: return "bson";
	case LK_EXT_ENUM: return "enum";
	case LK_EXT_INTERVAL: return "interval";
	case LK_EXT_FLOAT16: return "float16";
	case LK_EXT_INT96: return "int96";
	case LK_EXT_TIME_UTC: return "utc";
	default: return NULL;
	}
}

/* One line per field: "<indent><name>: <type> <nullable|required>[, ...]",
 * children indented below it. Leaf types by lk_type_name, nested ones by
 * their kind (the children say the rest). */
static void
print_field(lk_buf *o, lk_arena *a, const lk_field *f, int depth)
{
	const lk_type *t = f->type;
	lk_buf_printf(o, "%*s%s: ", 2 * depth, "", f->name ? f->name : "");
	if (lk_type_is_nested(t))
		lk_buf_append_str(o, lk_type_id_name(t->id));
	else
		lk_buf_append_str(o, lk_type_name(a, t));
	lk_buf_append_str(o, f->nullable ? " nullable" : " required");
	if (t->id == LK_T_TIMESTAMP || t->id == LK_T_TIMESTAMP_NTZ || t->id == LK_T_TIME)
		lk_buf_printf(o, ", unit %s", unit_name(t->unit));
	if (ext_name(t->ext))
		lk_buf_printf(o, ", %s", ext_name(t->ext));
	if (t->fixed_len)
		lk_buf_printf(o, ", fixed_len %d", (int) t->fixed_len);
	if (f->field_id >= 0)
		lk_buf_printf(o, ", field_id %d", (int) f->field_id);
	lk_buf_append_byte(o, '\n');
	if (lk_type_is_nested(t))
		for (int k = 0; k < t->nchildren; k++)
			print_field(o, a, &t->children[k], depth + 1);
}

static void
print_kv_text(lk_buf *o, const char *s)
{
	/* keep one entry per line: escape control characters */
	for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
		if (*p == '\n')
			lk_buf_append_str(o, "\\n");
		else if (*p < 0x20 || *p == 0x7f)
			lk_buf_printf(o, "\\x%02x", *p);
		else if (*p == '\\')
			lk_buf_append_str(o, "\\\\");
		else
			lk_buf_append_byte(o, *p);
	}
}

static const char schema_help[] =
	"usage: lakesync parquet schema FILE\n\n"
	"Print FILE's schema as a tree: one line per field with its lakesync\n"
	"type, nullable/required, time unit, annotation and Parquet field_id;\n"
	"then the number of rows and row groups, created_by and the key/value\n"
	"metadata. Reads only the footer.\n";

static int
cmd_schema(int argc, char **argv)
{
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			fputs(schema_help, stdout);
			return LK_EXIT_OK;
		}
		if (argv[i][0] == '-' && argv[i][1])
			return usage_error("schema", "unknown option \"%s\"", argv[i]);
		if (path)
			return usage_error("schema", "unexpected argument \"%s\"", argv[i]);
		path = argv[i];
	}
	if (!path)
		return usage_error("schema", "%s", "missing FILE");

	lk_error err;
	lk_error_clear(&err);
	pq_reader *r = open_reader(path, &err);
	if (!r)
		return fail_file(&err, path);

	lk_arena a;
	lk_arena_init(&a, 0);
	lk_buf o = LK_BUF_INIT;
	const lk_type *s = pq_reader_schema(r);
	lk_buf_printf(&o, "file: %s\n", path);
	lk_buf_printf(&o, "rows: %lld\n", (long long) pq_reader_num_rows(r));
	lk_buf_printf(&o, "row groups: %d\n", pq_reader_num_row_groups(r));
	const char *cb = pq_reader_created_by(r);
	lk_buf_append_str(&o, "created by: ");
	print_kv_text(&o, cb ? cb : "");
	lk_buf_append_byte(&o, '\n');
	const pq_kv *kv;
	int nkv = pq_reader_metadata(r, &kv);
	lk_buf_printf(&o, "key/value metadata: %d\n", nkv);
	for (int k = 0; k < nkv; k++) {
		lk_buf_append_str(&o, "  ");
		print_kv_text(&o, kv[k].key ? kv[k].key : "");
		if (kv[k].value) {
			lk_buf_append_str(&o, " = ");
			print_kv_text(&o, kv[k].value);
		}
		lk_buf_append_byte(&o, '\n');
	}
	lk_buf_printf(&o, "schema: %d columns\n", s->nchildren);
	for (int k = 0; k < s->nchildren; k++)
		print_field(&o, &a, &s->children[k], 1);
	bool ok = flush_stdout(&o, &err);
	lk_buf_free(&o);
	lk_arena_free(&a);
	pq_reader_free(r);
	if (!ok) {
		cli_print_error(&err);
		return cli_exit_for(&err);
	}
	return LK_EXIT_OK;
}

/* ---- cat ---------------------------------------------------------------- */

static const char cat_help[] =
	"usage: lakesync parquet cat FILE [--format jsonl|csv] [--limit N]\n"
	"                                 [--columns a,b,...]\n\n"
	"Print FILE's rows, read with lakesync's reader one row group at a time.\n"
	"  --format jsonl   one JSON object per row, keys = column names (default)\n"
	"  --format csv     RFC 4180: header row, CRLF records, nested values as\n"
	"                   their JSON text, null as an empty field, \"\" for ''\n"
	"  --limit N        stop after N rows\n"
	"  --columns a,b    only these top-level columns, in this order\n\n"
	"Values: integers exact; floats shortest round-trip text, NaN/Infinity as\n"
	"strings; decimals as strings with their scale (\"123.45\"); binary as\n"
	"base64; uuid canonical; dates YYYY-MM-DD (astronomical years);\n"
	"timestamps ISO 8601 with the unit's fraction digits, \"Z\" when\n"
	"UTC-adjusted; maps as [{\"key\":k,\"value\":v}]; invalid UTF-8 in strings\n"
	"becomes U+FFFD in JSON (CSV keeps the bytes).\n";

static int
cmd_cat(int argc, char **argv)
{
	const char *path = NULL, *format = "jsonl", *columns = NULL, *v;
	int64_t limit = -1;
	for (int i = 1; i < argc; i++) {
		int m;
		if (cli_is_help(argv[i])) {
			fputs(cat_help, stdout);
			return LK_EXIT_OK;
		}
		if ((m = cli_opt_value(argc, argv, &i, "--format", &v)) != 0) {
			if (m < 0)
				return usage_error("cat", "%s needs a value", "--format");
			format = v;
		} else if ((m = cli_opt_value(argc, argv, &i, "--limit", &v)) != 0) {
			if (m < 0)
				return usage_error("cat", "%s needs a value", "--limit");
			if (!parse_count(v, 0, &limit))
				return usage_error("cat", "invalid --limit \"%s\"", v);
		} else if ((m = cli_opt_value(argc, argv, &i, "--columns", &v)) != 0) {
			if (m < 0)
				return usage_error("cat", "%s needs a value", "--columns");
			columns = v;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage_error("cat", "unknown option \"%s\"", argv[i]);
		} else if (path) {
			return usage_error("cat", "unexpected argument \"%s\"", argv[i]);
		} else {
			path = argv[i];
		}
	}
	if (!path)
		return usage_error("cat", "%s", "missing FILE");
	bool csv;
	if (!strcmp(format, "jsonl") || !strcmp(format, "json"))
		csv = false;
	else if (!strcmp(format, "csv"))
		csv = true;
	else
		return usage_error("cat", "unknown --format \"%s\" (jsonl or csv)", format);

	/* split --columns (names may not contain ',') */
	lk_arena a;
	lk_arena_init(&a, 0);
	const char **names = NULL;
	int nnames = 0;
	if (columns) {
		int cap = 1;
		for (const char *p = columns; *p; p++)
			cap += *p == ',';
		names = lk_arena_alloc(&a, sizeof(char *) * (size_t) cap);
		const char *p = columns;
		for (;;) {
			const char *e = strchr(p, ',');
			size_t n = e ? (size_t) (e - p) : strlen(p);
			if (n == 0) {
				lk_arena_free(&a);
				return usage_error("cat", "empty column name in --columns \"%s\"",
								   columns);
			}
			names[nnames++] = lk_arena_strndup(&a, p, n);
			if (!e)
				break;
			p = e + 1;
		}
	}

	lk_error err;
	lk_error_clear(&err);
	pq_reader *r = open_reader(path, &err);
	if (!r) {
		lk_arena_free(&a);
		return fail_file(&err, path);
	}
	if (names && !pq_reader_project(r, names, nnames, &err)) {
		pq_reader_free(r);
		lk_arena_free(&a);
		return fail_file(&err, path);
	}
	const lk_type *os = pq_reader_output_schema(r);
	lk_batch *batch = lk_batch_new(os);
	lk_buf o = LK_BUF_INIT;
	bool ok = true;
	if (csv)
		fmt_csv_header(&o, os);
	int nrg = pq_reader_num_row_groups(r);
	int64_t printed = 0;
	for (int rg = 0; ok && rg < nrg && (limit < 0 || printed < limit); rg++) {
		if (!pq_reader_read_row_group(r, rg, batch, &err)) {
			ok = false;
			break;
		}
		for (int64_t row = 0; row < batch->nrows && (limit < 0 || printed < limit);
			 row++, printed++) {
			if (csv)
				fmt_csv_row(&o, batch, row);
			else
				fmt_jsonl_row(&o, batch, row);
			if (o.len >= 1 << 16 && !(ok = flush_stdout(&o, &err)))
				break;
		}
	}
	if (ok)
		ok = flush_stdout(&o, &err);
	if (ok && fflush(stdout) != 0) {
		lk_error_set(&err, LK_ERR_IO, "could not write to standard output: %s",
					 strerror(errno));
		ok = false;
	}
	int rc = LK_EXIT_OK;
	if (!ok) {
		if (err.code == LK_ERR_IO && !err.where[0] && strstr(err.msg, "standard output")) {
			cli_print_error(&err);
			rc = cli_exit_for(&err);
		} else {
			fflush(stdout);
			rc = fail_file(&err, path);
		}
	}
	lk_buf_free(&o);
	lk_batch_free(batch);
	pq_reader_free(r);
	lk_arena_free(&a);
	return rc;
}

/* ---- copy --------------------------------------------------------------- */

static const char copy_help[] =
	"usage: lakesync parquet copy IN OUT [--compression C] [--row-group-rows N]\n"
	"                                    [--page-version 1|2] [--no-dictionary]\n\n"
	"Read IN with lakesync's reader and write every row, column and value\n"
	"(nested included) to OUT with lakesync's writer: same schema, field ids\n"
	"and key/value metadata. The file is written as OUT.tmp, synced, and\n"
	"renamed to OUT only when complete.\n"
	"  --compression C     zstd (default), snappy, gzip, lz4_raw, brotli,\n"
	"                      uncompressed\n"
	"  --row-group-rows N  cut row groups every N rows (default: keep IN's\n"
	"                      row groups)\n"
	"  --page-version V    data page version 1 (default) or 2\n"
	"  --no-dictionary     plain encodings only\n";

static int
cmd_copy(int argc, char **argv)
{
	const char *in_path = NULL, *out_path = NULL, *v;
	pq_writer_options opt;
	pq_writer_options_init(&opt);
	opt.codec = PQ_CODEC_ZSTD;
	bool cut_rows = false;
	for (int i = 1; i < argc; i++) {
		int m;
		if (cli_is_help(argv[i])) {
			fputs(copy_help, stdout);
			return LK_EXIT_OK;
		}
		if ((m = cli_opt_value(argc, argv, &i, "--compression", &v)) != 0) {
			if (m < 0)
				return usage_error("copy", "%s needs a value", "--compression");
			if (!pq_codec_parse(v, &opt.codec))
				return usage_error("copy", "unknown compression \"%s\"", v);
		} else if ((m = cli_opt_value(argc, argv, &i, "--row-group-rows", &v)) != 0) {
			int64_t n;
			if (m < 0)
				return usage_error("copy", "%s needs a value", "--row-group-rows");
			if (!parse_count(v, 1, &n))
				return usage_error("copy", "invalid --row-group-rows \"%s\"", v);
			opt.row_group_rows = n;
			cut_rows = true;
		} else if ((m = cli_opt_value(argc, argv, &i, "--page-version", &v)) != 0) {
			if (m < 0)
				return usage_error("copy", "%s needs a value", "--page-version");
			if (strcmp(v, "1") && strcmp(v, "2"))
				return usage_error("copy", "invalid --page-version \"%s\" (1 or 2)", v);
			opt.data_page_version = v[0] - '0';
		} else if (!strcmp(argv[i], "--no-dictionary")) {
			opt.dictionary = false;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage_error("copy", "unknown option \"%s\"", argv[i]);
		} else if (!in_path) {
			in_path = argv[i];
		} else if (!out_path) {
			out_path = argv[i];
		} else {
			return usage_error("copy", "unexpected argument \"%s\"", argv[i]);
		}
	}
	if (!in_path || !out_path)
		return usage_error("copy", "%s", "missing IN or OUT");

	lk_error err;
	lk_error_clear(&err);
	pq_reader *r = open_reader(in_path, &err);
	if (!r)
		return fail_file(&err, in_path);

	/* Keep the reader's key/value metadata (it owns the strings). */
	const pq_kv *kv;
	opt.nmetadata = pq_reader_metadata(r, &kv);
	opt.metadata = kv;
	if (!cut_rows) {
		/* one output row group per input row group: the writer must not cut
		 * by rows or bytes before we flush */
		opt.row_group_rows = INT64_MAX;
		opt.row_group_bytes = INT64_MAX;
	}

	size_t tl = strlen(out_path) + 5;
	char *tmp = malloc(tl);
	if (!tmp) {
		pq_reader_free(r);
		lk_error_set(&err, LK_ERR_NOMEM, "out of memory");
		cli_print_error(&err);
		return cli_exit_for(&err);
	}
	snprintf(tmp, tl, "%s.tmp", out_path);

	const lk_type *schema = pq_reader_output_schema(r);
	lk_batch *batch = NULL;
	pq_writer *w = NULL;
	pq_output out;
	const char *blame = in_path;   /* which file an error is about */
	bool ok = false;

	if (!pq_output_open_file(&out, tmp, &err)) {
		blame = tmp;
		goto done;
	}
	w = pq_writer_open(&out, schema, &opt, &err);
	if (!w) {
		blame = tmp;
		unlink(tmp);
		goto done;
	}
	batch = lk_batch_new(schema);
	int nrg = pq_reader_num_row_groups(r);
	for (int rg = 0; rg < nrg; rg++) {
		if (!pq_reader_read_row_group(r, rg, batch, &err))
			goto fail;
		if (!pq_writer_write(w, batch, &err) ||
			(!cut_rows && !pq_writer_flush_row_group(w, &err))) {
			blame = tmp;
			goto fail;
		}
	}
	if (!pq_writer_close(w, true, NULL, &err)) {
		blame = tmp;
		goto fail;
	}
	if (rename(tmp, out_path) != 0) {
		lk_error_set(&err, LK_ERR_IO, "could not rename \"%s\" to \"%s\": %s", tmp,
					 out_path, strerror(errno));
		blame = out_path;
		goto fail;
	}
	ok = true;
	goto done;
fail:
	unlink(tmp);
done:
	if (w)
		pq_writer_free(w);
	lk_batch_free(batch);
	pq_reader_free(r);
	int rc = ok ? LK_EXIT_OK : fail_file(&err, blame);
	free(tmp);   /* after fail_file: blame may point to it */
	return rc;
}

/* ---- dispatch ----------------------------------------------------------- */

static const char parquet_help[] =
	"usage: lakesync parquet COMMAND ...\n\n"
	"commands:\n"
	"  schema FILE                      schema tree, rows, row groups, metadata\n"
	"  cat FILE [--format jsonl|csv] [--limit N] [--columns a,b]\n"
	"                                   print rows\n"
	"  copy IN OUT [--compression C] [--row-group-rows N] [--page-version 1|2]\n"
	"              [--no-dictionary]    rewrite with lakesync's writer\n\n"
	"`lakesync parquet COMMAND --help` describes each command.\n";

int
cli_parquet_main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(parquet_help, stderr);
		return LK_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (cli_is_help(cmd) || !strcmp(cmd, "help")) {
		fputs(parquet_help, stdout);
		return LK_EXIT_OK;
	}
	if (!strcmp(cmd, "schema"))
		return cmd_schema(argc - 1, argv + 1);
	if (!strcmp(cmd, "cat"))
		return cmd_cat(argc - 1, argv + 1);
	if (!strcmp(cmd, "copy"))
		return cmd_copy(argc - 1, argv + 1);
	fprintf(stderr, "lakesync parquet: unknown command \"%s\"\n\n", cmd);
	fputs(parquet_help, stderr);
	return LK_EXIT_USAGE;
}
