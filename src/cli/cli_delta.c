/*
 * cli_delta.c — `lakesync delta scan|history|changes TABLE …`: read any
 * Delta table with lakesync's log reader, scan and change data feed.
 * `checkpoint|optimize|vacuum` are routed to cli_delta_maint.c.
 *
 *   scan    TABLE [--version V | --timestamp TS] [--columns a,b]
 *                 [--output OUT.parquet | --format jsonl|csv] [--limit N]
 *   history TABLE [--limit N] [--format text|jsonl]
 *   changes TABLE --from V [--to V]
 *                 [--output OUT.parquet | --format jsonl|csv] [--limit N]
 *
 * TABLE is a directory or a file:// URI.  Rows go to standard output as
 * JSON lines (default) or CSV (format.h), or to one Parquet file written
 * with lakesync's writer as OUT.tmp, synced, then renamed to OUT.  Errors
 * print "lakesync: <msg>\n  where: <where>" on stderr and exit with
 * cli_exit_for(): 1 I/O or not found, 2 usage, 3 corrupt table, 4
 * unsupported feature.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_delta_maint.h"
#include "cli/format.h"
#include "common/arena.h"
#include "common/buf.h"
#include "delta/actions.h"
#include "delta/cdf.h"
#include "delta/log.h"
#include "delta/scan.h"
#include "delta/schema.h"
#include "parquet/parquet.h"
#include "storage/storage.h"

#define LOG_DIR "_delta_log"
#define MAX_COMMIT_BYTES (256ull * 1024 * 1024)

/* ---- shared helpers ----------------------------------------------------- */

static int
fail(lk_error *err)
{
	if (err->code == LK_OK)
		err->code = LK_ERR_INTERNAL;
	cli_print_error(err);
	return cli_exit_for(err);
}

static int
usage_error(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "lakesync delta %s: ", cmd);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry `lakesync delta %s --help`.\n", cmd);
	return LK_EXIT_USAGE;
}

/* `--name value` or `--name=value`: 1 matched (value set), 0 not this
 * option, -1 value missing. */
static bool
parse_count(const char *s, int64_t min, int64_t *out)
{
	char *end;
	if (!isdigit((unsigned char) s[0]))
		return false;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min)
		return false;
	*out = v;
	return true;
}

static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool
fixed_digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char) (*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/* TIMESTAMP of --timestamp: epoch milliseconds ("1704067200000"), or ISO
 * 8601 "YYYY-MM-DD[(T| )HH:MM[:SS[.fraction]]][Z|±HH[:MM]]" (no zone =
 * UTC; a date alone is its midnight). Fractions below a millisecond are
 * dropped. */
static bool
parse_timestamp_arg(const char *s, int64_t *ms)
{
	const char *p = s;
	bool all_digits = *p != '\0';
	for (const char *q = p; *q; q++)
		if (!isdigit((unsigned char) *q))
			all_digits = false;
	if (all_digits) {
		int64_t v;
		if (!parse_count(s, 0, &v))
			return false;
		*ms = v;
		return true;
	}
	int y, mo, d, h = 0, mi = 0, sec = 0, frac_ms = 0;
	if (!fixed_digits(&p, 4, &y) || *p++ != '-' || !fixed_digits(&p, 2, &mo) ||
		*p++ != '-' || !fixed_digits(&p, 2, &d))
		return false;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo == 2 && d == 29 && !leap)
		return false;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (!fixed_digits(&p, 2, &h) || *p++ != ':' || !fixed_digits(&p, 2, &mi))
			return false;
		if (*p == ':') {
			p++;
			if (!fixed_digits(&p, 2, &sec))
				return false;
			if (*p == '.') {
				p++;
				int nd = 0;
				while (isdigit((unsigned char) *p)) {
					if (nd < 3)
						frac_ms = frac_ms * 10 + (*p - '0');
					nd++;
					p++;
				}
				if (nd == 0)
					return false;
				for (; nd < 3; nd++)
					frac_ms *= 10;
			}
		}
		if (h > 23 || mi > 59 || sec > 59)
			return false;
	}
	int64_t off_s = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om = 0;
		p++;
		if (!fixed_digits(&p, 2, &oh))
			return false;
		if (*p == ':')
			p++;
		if (*p && !fixed_digits(&p, 2, &om))
			return false;
		if (oh > 18 || om > 59)
			return false;
		off_s = sign * (oh * 3600 + om * 60);
	}
	if (*p)
		return false;
	int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off_s;
	*ms = secs * 1000 + frac_ms;
	return true;
}

static bool
open_table(st_store *st, const char *table, lk_error *err)
{
	/* Delta logs may name files by absolute URI (shallow clones, 'p' DVs) */
	return st_store_open(st, table, ST_ALLOW_ABSOLUTE, err);
}

/* Split "a,b,c"; names in arena a. Returns false (usage) on an empty name
 * or a repeated one, with *bad naming it. */
static bool
split_columns(const char *list, lk_arena *a, const char ***names, int *n,
			  const char **bad)
{
	int cap = 1;
	for (const char *p = list; *p; p++)
		cap += *p == ',';
	const char **v = lk_arena_alloc(a, sizeof(char *) * (size_t) cap);
	int k = 0;
	const char *p = list;
	for (;;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t) (e - p) : strlen(p);
		if (len == 0) {
			*bad = "";
			return false;
		}
		v[k] = lk_arena_strndup(a, p, len);
		for (int j = 0; j < k; j++)
			if (!strcmp(v[j], v[k])) {
				*bad = v[k];
				return false;
			}
		k++;
		if (!e)
			break;
		p = e + 1;
	}
	*names = v;
	*n = k;
	return true;
}

/* ---- output sinks ------------------------------------------------------- */

typedef enum sink_kind { SINK_JSONL, SINK_CSV, SINK_PARQUET } sink_kind;

typedef struct sink {
	sink_kind kind;
	const lk_type *schema;
	int64_t limit;              /* -1: none */
	int64_t written;
	lk_buf buf;                 /* text output */
	/* parquet */
	const char *path;
	char *tmp;
	pq_writer *w;
	lk_batch *slice;            /* the first rows of a batch, for --limit */
	bool failed_in_output;      /* the error is about the output file */
} sink;

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

static bool
sink_open(sink *s, sink_kind kind, const char *path, const lk_type *schema,
		  int64_t limit, lk_error *err)
{
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->schema = schema;
	s->limit = limit;
	lk_buf_init(&s->buf);
	if (kind == SINK_CSV)
		fmt_csv_header(&s->buf, schema);
	if (kind != SINK_PARQUET)
		return true;
	s->path = path;
	size_t tl = strlen(path) + 5;
	s->tmp = lk_xmalloc(tl);
	snprintf(s->tmp, tl, "%s.tmp", path);
	pq_output out;
	pq_writer_options opt;
	pq_writer_options_init(&opt);
	s->failed_in_output = true;
	if (!pq_output_open_file(&out, s->tmp, err))
		return lk_error_add_where(err, "output file \"%s\"", s->tmp);
	s->w = pq_writer_open(&out, schema, &opt, err);
	if (!s->w) {
		unlink(s->tmp);
		return lk_error_add_where(err, "output file \"%s\"", s->tmp);
	}
	s->failed_in_output = false;
	return true;
}

static bool
sink_full(const sink *s)
{
	return s->limit >= 0 && s->written >= s->limit;
}

static bool
sink_write(sink *s, const lk_batch *b, lk_error *err)
{
	int64_t n = b->nrows;
	if (s->limit >= 0 && n > s->limit - s->written)
		n = s->limit - s->written;
	if (n <= 0)
		return true;
	if (s->kind == SINK_PARQUET) {
		const lk_batch *src = b;
		if (n < b->nrows) {
			if (!s->slice)
				s->slice = lk_batch_new(s->schema);
			lk_batch_reset(s->slice);
			for (int k = 0; k < b->ncols; k++) {
				if (lk_type_is_varlen(s->slice->cols[k].type))
					lk_column_reserve_data(&s->slice->cols[k], 1);
				lk_column_append_range(&s->slice->cols[k], &b->cols[k], 0, n);
			}
			lk_batch_seal(s->slice);
			src = s->slice;
		}
		if (!pq_writer_write(s->w, src, err)) {
			s->failed_in_output = true;
			return lk_error_add_where(err, "output file \"%s\"", s->tmp);
		}
		s->written += n;
		return true;
	}
	for (int64_t r = 0; r < n; r++) {
		if (s->kind == SINK_CSV)
			fmt_csv_row(&s->buf, b, r);
		else
			fmt_jsonl_row(&s->buf, b, r);
		if (s->buf.len >= 1 << 16 && !flush_stdout(&s->buf, err))
			return false;
	}
	s->written += n;
	return true;
}

/* Finish (ok) or abandon (!ok) the output. */
static bool
sink_close(sink *s, bool ok, lk_error *err)
{
	if (s->kind != SINK_PARQUET) {
		if (ok)
			ok = flush_stdout(&s->buf, err);
		if (fflush(stdout) != 0 && ok) {
			lk_error_set(err, LK_ERR_IO, "could not write to standard output: %s",
						 strerror(errno));
			ok = false;
		}
	} else if (s->w) {
		if (ok && !pq_writer_close(s->w, true, NULL, err)) {
			lk_error_add_where(err, "output file \"%s\"", s->tmp);
			ok = false;
		}
		pq_writer_free(s->w);
		s->w = NULL;
		if (ok && rename(s->tmp, s->path) != 0) {
			lk_error_set(err, LK_ERR_IO, "could not rename \"%s\" to \"%s\": %s", s->tmp,
						 s->path, strerror(errno));
			ok = false;
		}
		if (!ok)
			unlink(s->tmp);
	}
	lk_buf_free(&s->buf);
	if (s->slice)
		lk_batch_free(s->slice);
	free(s->tmp);
	s->tmp = NULL;
	return ok;
}

/* --output / --format → sink kind; returns an exit code on a usage error,
 * else -1. */
static int
choose_sink(const char *cmd, const char *format, const char *output, sink_kind *k)
{
	if (output && format)
		return usage_error(cmd, "%s", "--output and --format exclude each other");
	if (output) {
		if (!output[0])
			return usage_error(cmd, "%s", "empty --output path");
		*k = SINK_PARQUET;
	} else if (!format || !strcmp(format, "jsonl") || !strcmp(format, "json")) {
		*k = SINK_JSONL;
	} else if (!strcmp(format, "csv")) {
		*k = SINK_CSV;
	} else {
		return usage_error(cmd, "unknown --format \"%s\" (jsonl or csv)", format);
	}
	return -1;
}

/* ---- scan --------------------------------------------------------------- */

static const char scan_help[] =
	"usage: lakesync delta scan TABLE [--version V | --timestamp TS]\n"
	"                               [--columns a,b,...]\n"
	"                               [--output OUT.parquet | --format jsonl|csv]\n"
	"                               [--limit N]\n\n"
	"Print the rows of a Delta table (any reader protocol lakesync supports:\n"
	"column mapping, deletion vectors, timestamp_ntz, type widening, v2\n"
	"checkpoints). Partition columns are included; rows deleted by deletion\n"
	"vectors are not. Columns come in the table's schema order.\n"
	"  --version V      the table as of version V (time travel)\n"
	"  --timestamp TS   the latest version committed at or before TS: epoch\n"
	"                   milliseconds, or ISO 8601 \"2024-01-02T03:04:05Z\",\n"
	"                   \"2024-01-02 03:04:05\" (UTC), \"2024-01-02\" (midnight\n"
	"                   UTC), with an optional \"+02:00\" offset. Commit times\n"
	"                   are in-commit timestamps when the table has them, else\n"
	"                   the commit files' modification times\n"
	"  --columns a,b    only these columns, in this order\n"
	"  --output F       write one Parquet file with lakesync's writer (zstd):\n"
	"                   F.tmp first, renamed to F when complete\n"
	"  --format jsonl   one JSON object per row on standard output (default)\n"
	"  --format csv     RFC 4180 with a header row\n"
	"  --limit N        stop after N rows\n"
	"Values are printed as `lakesync parquet cat` prints them.\n";

/* A view of the snapshot whose schema holds only `names` (in that order). */
static bool
project_schema(const dl_snapshot *s, const char *const *names, int n, lk_arena *a,
			   dl_snapshot *view, lk_error *err)
{
	const lk_type *t = s->schema.type;
	lk_type *pt = lk_type_struct(a, n);
	dl_type_info *pi = lk_arena_zalloc(a, sizeof(*pi));
	pi->nchildren = n;
	pi->children = lk_arena_zalloc(a, sizeof(dl_field_info) * (size_t) (n ? n : 1));
	for (int i = 0; i < n; i++) {
		int k = dl_schema_field_index(t, names[i]);
		if (k < 0) {
			lk_buf list = LK_BUF_INIT;
			for (int j = 0; j < t->nchildren; j++)
				lk_buf_printf(&list, "%s%s", j ? ", " : "", t->children[j].name);
			lk_error_set(err, LK_ERR_NOT_FOUND,
						 "column \"%s\" is not in the table (its columns: %s)", names[i],
						 list.len ? lk_buf_cstr(&list) : "none");
			lk_buf_free(&list);
			return lk_error_where(err, "table \"%s\" version %" PRId64, s->store->root,
								  s->version);
		}
		pt->children[i] = t->children[k];
		pi->children[i] = s->schema.info->children[k];
	}
	*view = *s;
	view->schema.type = pt;
	view->schema.info = pi;
	return true;
}

static int
cmd_scan(int argc, char **argv)
{
	const char *table = NULL, *format = NULL, *output = NULL, *columns = NULL, *v;
	int64_t version = -1, limit = -1, ts_ms = 0;
	bool has_ts = false;
	for (int i = 1; i < argc; i++) {
		int m;
		if (cli_is_help(argv[i])) {
			fputs(scan_help, stdout);
			return LK_EXIT_OK;
		}
		if ((m = cli_opt_value(argc, argv, &i, "--version", &v)) != 0) {
			if (m < 0)
				return usage_error("scan", "%s needs a value", "--version");
			if (!parse_count(v, 0, &version))
				return usage_error("scan", "invalid --version \"%s\" (a version number)", v);
		} else if ((m = cli_opt_value(argc, argv, &i, "--timestamp", &v)) != 0) {
			if (m < 0)
				return usage_error("scan", "%s needs a value", "--timestamp");
			if (!parse_timestamp_arg(v, &ts_ms))
				return usage_error("scan",
								   "invalid --timestamp \"%s\" (ISO 8601 like "
								   "2024-01-02T03:04:05Z, or epoch milliseconds)", v);
			has_ts = true;
		} else if ((m = cli_opt_value(argc, argv, &i, "--columns", &v)) != 0) {
			if (m < 0)
				return usage_error("scan", "%s needs a value", "--columns");
			columns = v;
		} else if ((m = cli_opt_value(argc, argv, &i, "--output", &v)) != 0) {
			if (m < 0)
				return usage_error("scan", "%s needs a value", "--output");
			output = v;
		} else if ((m = cli_opt_value(argc, argv, &i, "--format", &v)) != 0) {
			if (m < 0)
				return usage_error("scan", "%s needs a value", "--format");
			format = v;
		} else if ((m = cli_opt_value(argc, argv, &i, "--limit", &v)) != 0) {
			if (m < 0)
				return usage_error("scan", "%s needs a value", "--limit");
			if (!parse_count(v, 0, &limit))
				return usage_error("scan", "invalid --limit \"%s\"", v);
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage_error("scan", "unknown option \"%s\"", argv[i]);
		} else if (table) {
			return usage_error("scan", "unexpected argument \"%s\"", argv[i]);
		} else {
			table = argv[i];
		}
	}
	if (!table)
		return usage_error("scan", "%s", "missing TABLE");
	if (has_ts && version >= 0)
		return usage_error("scan", "%s", "--version and --timestamp exclude each other");
	sink_kind kind;
	int rc = choose_sink("scan", format, output, &kind);
	if (rc >= 0)
		return rc;

	lk_arena a;
	lk_arena_init(&a, 0);
	const char **names = NULL;
	int nnames = 0;
	const char *bad;
	if (columns && !split_columns(columns, &a, &names, &nnames, &bad)) {
		/* bad points into the arena: report before freeing it */
		rc = bad[0] ? usage_error("scan", "column \"%s\" is named twice in --columns", bad)
					: usage_error("scan", "empty column name in --columns \"%s\"", columns);
		lk_arena_free(&a);
		return rc;
	}

	lk_error err;
	lk_error_clear(&err);
	st_store st;
	dl_snapshot *snap = NULL;
	dl_scan *sc = NULL;
	sink out;
	bool sink_opened = false, ok = false;
	memset(&out, 0, sizeof(out));
	if (!open_table(&st, table, &err)) {
		lk_arena_free(&a);
		return fail(&err);
	}
	dl_snapshot_options o;
	dl_snapshot_options_init(&o);
	o.version = version;
	o.as_of_timestamp = has_ts;
	o.timestamp_ms = ts_ms;
	if (!dl_snapshot_open(&st, &o, &snap, &err))
		goto done;
	dl_snapshot view;
	const dl_snapshot *use = snap;
	if (names && snap->has_schema) {
		if (!project_schema(snap, names, nnames, &a, &view, &err))
			goto done;
		use = &view;
	}
	if (!dl_scan_open(use, &sc, &err))
		goto done;
	if (!sink_open(&out, kind, output, use->schema.type, limit, &err))
		goto done;
	sink_opened = true;
	while (!sink_full(&out)) {
		lk_batch *b;
		if (!dl_scan_next(sc, &b, &err))
			goto done;
		if (!b)
			break;
		if (!sink_write(&out, b, &err))
			goto done;
	}
	ok = true;
done:
	if (sink_opened)
		ok = sink_close(&out, ok, &err);
	dl_scan_free(sc);
	dl_snapshot_free(snap);
	st_store_close(&st);
	lk_arena_free(&a);
	if (!ok) {
		fflush(stdout);
		return fail(&err);
	}
	return LK_EXIT_OK;
}

/* ---- history ------------------------------------------------------------ */

static const char history_help[] =
	"usage: lakesync delta history TABLE [--limit N] [--format text|jsonl]\n\n"
	"The commits of a Delta table still in its log, newest first: version,\n"
	"timestamp, operation, files added (+) and removed (-), rows from\n"
	"commitInfo.operationMetrics, engine and operation parameters.\n"
	"  --limit N        only the N newest commits\n"
	"  --format text    an aligned table (default); \"-\" when unknown\n"
	"  --format jsonl   one JSON object per commit: version, timestamp,\n"
	"                   operation, operationParameters, engineInfo,\n"
	"                   filesAdded, filesRemoved, operationMetrics\n"
	"The timestamp is the commit's inCommitTimestamp, else\n"
	"commitInfo.timestamp, else the commit file's modification time (the\n"
	"same as _commit_timestamp of `lakesync delta changes`).\n";

typedef struct hist_row {
	int64_t version;
	int64_t ts_ms;
	const char *operation;      /* NULL: unknown */
	json_t *params;             /* borrowed from ci (NULL when absent) */
	json_t *metrics;
	const char *engine;
	int64_t adds, removes;
	json_t *ci;                 /* owned */
} hist_row;

/* Metric value as a number (Spark writes them as strings). */
static bool
metric(json_t *m, const char *key, int64_t *out)
{
	json_t *v = m ? json_object_get(m, key) : NULL;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_string(v)) {
		int64_t x;
		if (parse_count(json_string_value(v), 0, &x)) {
			*out = x;
			return true;
		}
	}
	return false;
}

static void
rows_text(lk_buf *o, json_t *m)
{
	static const char *const keys[][2] = {
		{"numOutputRows", "written"},      {"numTargetRowsInserted", "inserted"},
		{"numUpdatedRows", "updated"},     {"numTargetRowsUpdated", "updated"},
		{"numDeletedRows", "deleted"},     {"numTargetRowsDeleted", "deleted"},
		{"numCopiedRows", "copied"},       {"numTargetRowsCopied", "copied"},
	};
	size_t start = o->len;
	const char *last_word = NULL;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		int64_t v;
		if (last_word && !strcmp(last_word, keys[i][1]))
			continue;   /* the MERGE name of a metric already shown */
		if (!metric(m, keys[i][0], &v))
			continue;
		lk_buf_printf(o, "%s%" PRId64 " %s", o->len > start ? ", " : "", v, keys[i][1]);
		last_word = keys[i][1];
	}
	if (o->len == start)
		lk_buf_append_str(o, "-");
}

static void
hist_free(hist_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (rows[i].ci)
			json_decref(rows[i].ci);
	free(rows);
}

/* Display width in characters (UTF-8 continuation bytes do not count). */
static size_t
text_width(const char *s, size_t n)
{
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		w += ((unsigned char) s[i] & 0xc0) != 0x80;
	return w;
}

static bool
load_history(st_store *st, int64_t limit, lk_arena *a, hist_row **out, size_t *nout,
			 lk_error *err)
{
	dl_log_file *f;
	size_t n;
	LK_FORWARD(dl_log_list(st, a, &f, &n, err));
	size_t nc = 0;
	for (size_t i = 0; i < n; i++)
		nc += f[i].kind == DL_LOG_COMMIT;
	const dl_log_file **c = lk_arena_alloc(a, sizeof(*c) * (nc ? nc : 1));
	int64_t *mt = lk_arena_alloc(a, sizeof(int64_t) * (nc ? nc : 1));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (f[i].kind == DL_LOG_COMMIT) {
			c[k] = &f[i];
			mt[k] = f[i].mtime_ms;
			if (k > 0 && mt[k] <= mt[k - 1])
				mt[k] = mt[k - 1] + 1;
			k++;
		}
	if (nc == 0) {
		lk_error_set(err, LK_ERR_NOT_FOUND, "the Delta log has no commit files");
		return lk_error_where(err, "table \"%s\"", st->root);
	}
	size_t want = limit >= 0 && (uint64_t) limit < nc ? (size_t) limit : nc;
	hist_row *rows = lk_xcalloc(want ? want : 1, sizeof(*rows));
	lk_buf b = LK_BUF_INIT;
	lk_arena ca;
	lk_arena_init(&ca, 0);
	bool ok = true;
	for (size_t r = 0; r < want; r++) {
		size_t ci = nc - 1 - r;
		hist_row *h = &rows[r];
		h->version = c[ci]->version;
		h->ts_ms = mt[ci];
		lk_arena_reset(&ca);
		const char *path = lk_arena_sprintf(&ca, LOG_DIR "/%s", c[ci]->name);
		dl_action *acts;
		size_t nacts;
		if (!st_read_all(st, path, MAX_COMMIT_BYTES, &b, err) ||
			!dl_actions_parse((const char *) b.data, b.len, path, &ca, &acts, &nacts, err)) {
			ok = false;
			*nout = r;
			break;
		}
		bool seen_ci = false;
		for (size_t i = 0; i < nacts; i++) {
			const dl_action *x = &acts[i];
			if (x->type == DL_ACT_ADD)
				h->adds++;
			else if (x->type == DL_ACT_REMOVE)
				h->removes++;
			else if (x->type == DL_ACT_COMMIT_INFO && !seen_ci) {
				const dl_commit_info *info = &x->u.commit_info;
				seen_ci = true;
				if (info->has_in_commit_timestamp)
					h->ts_ms = info->in_commit_timestamp;
				else if (info->has_timestamp)
					h->ts_ms = info->timestamp;
				h->ci = json_loads(info->json, 0, NULL);
				if (!h->ci)
					continue;
				json_t *op = json_object_get(h->ci, "operation");
				if (json_is_string(op))
					h->operation = json_string_value(op);
				h->params = json_object_get(h->ci, "operationParameters");
				h->metrics = json_object_get(h->ci, "operationMetrics");
				json_t *e = json_object_get(h->ci, "engineInfo");
				if (!json_is_string(e))
					e = json_object_get(h->ci, "clientVersion");
				if (json_is_string(e))
					h->engine = json_string_value(e);
			}
		}
	}
	lk_buf_free(&b);
	lk_arena_free(&ca);
	if (!ok) {
		hist_free(rows, *nout);
		return false;
	}
	*out = rows;
	*nout = want;
	return true;
}

static void
history_jsonl(lk_buf *o, const hist_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const hist_row *h = &rows[i];
		char ts[64];
		json_t *j = json_object();
		json_object_set_new(j, "version", json_integer(h->version));
		json_object_set_new(j, "timestamp",
							json_string(fmt_timestamp(h->ts_ms, LK_UNIT_MILLIS, true, ts)));
		json_object_set_new(j, "operation",
							h->operation ? json_string(h->operation) : json_null());
		json_object_set(j, "operationParameters", h->params ? h->params : json_null());
		json_object_set_new(j, "engineInfo", h->engine ? json_string(h->engine) : json_null());
		json_object_set_new(j, "filesAdded", json_integer(h->adds));
		json_object_set_new(j, "filesRemoved", json_integer(h->removes));
		json_object_set(j, "operationMetrics", h->metrics ? h->metrics : json_null());
		char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
		lk_buf_append_str(o, s ? s : "{}");
		lk_buf_append_byte(o, '\n');
		free(s);
		json_decref(j);
	}
}

/* Text cell i of a row (into cell, reset first). */
static void
history_cell(lk_buf *cell, const hist_row *h, int i)
{
	char ts[64];
	lk_buf_reset(cell);
	switch (i) {
	case 0: lk_buf_printf(cell, "%" PRId64, h->version); break;
	case 1: lk_buf_append_str(cell, fmt_timestamp(h->ts_ms, LK_UNIT_MILLIS, true, ts)); break;
	case 2: lk_buf_append_str(cell, h->operation ? h->operation : "-"); break;
	case 3: lk_buf_printf(cell, "+%" PRId64 " -%" PRId64, h->adds, h->removes); break;
	case 4: rows_text(cell, h->metrics); break;
	case 5: lk_buf_append_str(cell, h->engine ? h->engine : "-"); break;
	case 6: {
		char *s = h->params ? json_dumps(h->params, JSON_COMPACT | JSON_PRESERVE_ORDER |
												   JSON_ENCODE_ANY)
							: NULL;
		lk_buf_append_str(cell, s ? s : "-");
		free(s);
		break;
	}
	}
	/* one line per commit */
	for (size_t k = 0; k < cell->len; k++)
		if (cell->data[k] == '\n' || cell->data[k] == '\r' || cell->data[k] == '\t')
			cell->data[k] = ' ';
}

static void
history_text(lk_buf *o, const hist_row *rows, size_t n)
{
	static const char *const head[7] = {"version", "timestamp", "operation", "files",
										"rows", "engine", "parameters"};
	size_t w[7];
	lk_buf cell = LK_BUF_INIT;
	for (int i = 0; i < 7; i++)
		w[i] = strlen(head[i]);
	for (size_t r = 0; r < n; r++)
		for (int i = 0; i < 6; i++) {
			history_cell(&cell, &rows[r], i);
			size_t cw = text_width((const char *) cell.data, cell.len);
			if (cw > w[i])
				w[i] = cw;
		}
	for (int i = 0; i < 7; i++) {
		if (i < 6)
			lk_buf_printf(o, "%s%*s", head[i], (int) (w[i] - strlen(head[i]) + 2), "");
		else
			lk_buf_printf(o, "%s\n", head[i]);
	}
	for (size_t r = 0; r < n; r++) {
		for (int i = 0; i < 7; i++) {
			history_cell(&cell, &rows[r], i);
			lk_buf_append(o, cell.data, cell.len);
			if (i < 6) {
				size_t cw = text_width((const char *) cell.data, cell.len);
				lk_buf_printf(o, "%*s", (int) (w[i] - cw + 2), "");
			}
		}
		lk_buf_append_byte(o, '\n');
	}
	lk_buf_free(&cell);
}

static int
cmd_history(int argc, char **argv)
{
	const char *table = NULL, *format = "text", *v;
	int64_t limit = -1;
	for (int i = 1; i < argc; i++) {
		int m;
		if (cli_is_help(argv[i])) {
			fputs(history_help, stdout);
			return LK_EXIT_OK;
		}
		if ((m = cli_opt_value(argc, argv, &i, "--limit", &v)) != 0) {
			if (m < 0)
				return usage_error("history", "%s needs a value", "--limit");
			if (!parse_count(v, 0, &limit))
				return usage_error("history", "invalid --limit \"%s\"", v);
		} else if ((m = cli_opt_value(argc, argv, &i, "--format", &v)) != 0) {
			if (m < 0)
				return usage_error("history", "%s needs a value", "--format");
			format = v;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage_error("history", "unknown option \"%s\"", argv[i]);
		} else if (table) {
			return usage_error("history", "unexpected argument \"%s\"", argv[i]);
		} else {
			table = argv[i];
		}
	}
	if (!table)
		return usage_error("history", "%s", "missing TABLE");
	bool jsonl;
	if (!strcmp(format, "text"))
		jsonl = false;
	else if (!strcmp(format, "jsonl") || !strcmp(format, "json"))
		jsonl = true;
	else
		return usage_error("history", "unknown --format \"%s\" (text or jsonl)", format);

	lk_error err;
	lk_error_clear(&err);
	st_store st;
	if (!open_table(&st, table, &err))
		return fail(&err);
	lk_arena a;
	lk_arena_init(&a, 0);
	hist_row *rows = NULL;
	size_t n = 0;
	bool ok = load_history(&st, limit, &a, &rows, &n, &err);
	if (ok) {
		lk_buf o = LK_BUF_INIT;
		if (jsonl)
			history_jsonl(&o, rows, n);
		else
			history_text(&o, rows, n);
		ok = flush_stdout(&o, &err);
		lk_buf_free(&o);
		hist_free(rows, n);
		if (ok && fflush(stdout) != 0) {
			lk_error_set(&err, LK_ERR_IO, "could not write to standard output: %s",
						 strerror(errno));
			ok = false;
		}
	}
	lk_arena_free(&a);
	st_store_close(&st);
	return ok ? LK_EXIT_OK : fail(&err);
}

/* ---- changes ------------------------------------------------------------ */

static const char changes_help[] =
	"usage: lakesync delta changes TABLE --from V [--to V]\n"
	"                              [--output OUT.parquet | --format jsonl|csv]\n"
	"                              [--limit N]\n\n"
	"The Change Data Feed of versions V..V (inclusive; --to defaults to the\n"
	"latest): the table's columns (schema of the --to version) plus\n"
	"  _change_type       insert, update_preimage, update_postimage, delete\n"
	"  _commit_version    the commit's version\n"
	"  _commit_timestamp  its inCommitTimestamp, else commitInfo.timestamp,\n"
	"                     else the commit file's modification time\n"
	"A commit with change data files (cdc actions) yields their rows. Other\n"
	"commits are derived from their add/remove actions with dataChange=true:\n"
	"added files are inserts, removed files deletes (minus rows their\n"
	"deletion vector had already deleted), and a file re-added with a new\n"
	"deletion vector deletes exactly the rows the new vector adds.\n"
	"dataChange=false commits (optimize, ...) change nothing.\n"
	"Versions whose commit files were cleaned from the log are refused.\n"
	"  --output F       write one Parquet file (F.tmp, renamed when complete)\n"
	"  --format jsonl   JSON lines on standard output (default); csv: RFC 4180\n"
	"  --limit N        stop after N rows\n";

static int
cmd_changes(int argc, char **argv)
{
	const char *table = NULL, *format = NULL, *output = NULL, *v;
	int64_t from = -1, to = -1, limit = -1;
	for (int i = 1; i < argc; i++) {
		int m;
		if (cli_is_help(argv[i])) {
			fputs(changes_help, stdout);
			return LK_EXIT_OK;
		}
		if ((m = cli_opt_value(argc, argv, &i, "--from", &v)) != 0) {
			if (m < 0)
				return usage_error("changes", "%s needs a value", "--from");
			if (!parse_count(v, 0, &from))
				return usage_error("changes", "invalid --from \"%s\" (a version number)", v);
		} else if ((m = cli_opt_value(argc, argv, &i, "--to", &v)) != 0) {
			if (m < 0)
				return usage_error("changes", "%s needs a value", "--to");
			if (!parse_count(v, 0, &to))
				return usage_error("changes", "invalid --to \"%s\" (a version number)", v);
		} else if ((m = cli_opt_value(argc, argv, &i, "--output", &v)) != 0) {
			if (m < 0)
				return usage_error("changes", "%s needs a value", "--output");
			output = v;
		} else if ((m = cli_opt_value(argc, argv, &i, "--format", &v)) != 0) {
			if (m < 0)
				return usage_error("changes", "%s needs a value", "--format");
			format = v;
		} else if ((m = cli_opt_value(argc, argv, &i, "--limit", &v)) != 0) {
			if (m < 0)
				return usage_error("changes", "%s needs a value", "--limit");
			if (!parse_count(v, 0, &limit))
				return usage_error("changes", "invalid --limit \"%s\"", v);
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage_error("changes", "unknown option \"%s\"", argv[i]);
		} else if (table) {
			return usage_error("changes", "unexpected argument \"%s\"", argv[i]);
		} else {
			table = argv[i];
		}
	}
	if (!table)
		return usage_error("changes", "%s", "missing TABLE");
	if (from < 0)
		return usage_error("changes", "%s", "missing --from V");
	if (to >= 0 && from > to) {
		char msg[96];
		snprintf(msg, sizeof(msg), "--from %" PRId64 " is after --to %" PRId64, from, to);
		return usage_error("changes", "%s", msg);
	}
	sink_kind kind;
	int rc = choose_sink("changes", format, output, &kind);
	if (rc >= 0)
		return rc;

	lk_error err;
	lk_error_clear(&err);
	st_store st;
	if (!open_table(&st, table, &err))
		return fail(&err);
	dl_cdf *c = NULL;
	sink out;
	bool sink_opened = false, ok = false;
	if (!dl_cdf_open(&st, from, to, &c, &err))
		goto done;
	if (!sink_open(&out, kind, output, dl_cdf_schema(c), limit, &err))
		goto done;
	sink_opened = true;
	while (!sink_full(&out)) {
		lk_batch *b;
		if (!dl_cdf_next(c, &b, &err))
			goto done;
		if (!b)
			break;
		if (!sink_write(&out, b, &err))
			goto done;
	}
	ok = true;
done:
	if (sink_opened)
		ok = sink_close(&out, ok, &err);
	dl_cdf_free(c);
	st_store_close(&st);
	if (!ok) {
		fflush(stdout);
		return fail(&err);
	}
	return LK_EXIT_OK;
}

/* ---- dispatch ----------------------------------------------------------- */

static const char delta_help[] =
	"usage: lakesync delta COMMAND TABLE ...\n\n"
	"commands:\n"
	"  scan TABLE [--version V | --timestamp TS] [--columns a,b]\n"
	"             [--output OUT.parquet | --format jsonl|csv] [--limit N]\n"
	"                                   the table's rows (time travel)\n"
	"  history TABLE [--limit N] [--format text|jsonl]\n"
	"                                   the commits, newest first\n"
	"  changes TABLE --from V [--to V] [--output OUT.parquet | --format jsonl|csv]\n"
	"                                   Change Data Feed between versions\n"
	"  checkpoint TABLE [--version V]   write a checkpoint\n"
	"  optimize TABLE [...]             compact small files\n"
	"  vacuum TABLE [...]               delete files no version needs\n\n"
	"TABLE is a directory or a file:// URI. `lakesync delta COMMAND --help`\n"
	"describes each command.\n";

int
cli_delta_main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(delta_help, stderr);
		return LK_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (cli_is_help(cmd) || !strcmp(cmd, "help")) {
		fputs(delta_help, stdout);
		return LK_EXIT_OK;
	}
	if (!strcmp(cmd, "scan"))
		return cmd_scan(argc - 1, argv + 1);
	if (!strcmp(cmd, "history"))
		return cmd_history(argc - 1, argv + 1);
	if (!strcmp(cmd, "changes"))
		return cmd_changes(argc - 1, argv + 1);
	if (!strcmp(cmd, "checkpoint") || !strcmp(cmd, "optimize") || !strcmp(cmd, "vacuum"))
		return cli_delta_maint_main(argc - 1, argv + 1);
	fprintf(stderr, "lakesync delta: unknown command \"%s\"\n\n", cmd);
	fputs(delta_help, stderr);
	return LK_EXIT_USAGE;
}
