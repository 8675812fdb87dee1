/*
 * bench/load.c — helpers of bench/load.sh (the synced-table snapshot load
 * against COPY FROM a file and against DuckDB read_parquet → CSV → COPY).
 * Nothing here is timed: the script times whole processes.
 *
 *   load gen --rows N --out DIR [--file-rows M]
 *       Create a Delta table at DIR with N rows of bench/parquet.c's table
 *       (the same generator: splitmix64 per row number, 10% nulls in every
 *       column but id; id long, i32 integer, i64 long, f64 double, amount
 *       decimal(12,2), big decimal(38,10), code string, note string of 40..240
 *       characters, ts timestamp) in one commit, written by lakesync's Delta
 *       writer (zstd, 1 Mi-row row groups, a new file every M rows, default
 *       2,500,000).
 *   load text --table DIR --out FILE
 *       The rows of the table's latest snapshot as COPY text (pg/load's
 *       formatting: exactly the bytes lakesync sends), for COPY FROM FILE.
 *   load ddl --table DIR --name SCHEMA.TABLE
 *       The CREATE TABLE statement lakesync would use for the table.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/types.h"
#include "delta/commit.h"
#include "delta/log.h"
#include "delta/scan.h"
#include "delta/writer.h"
#include "pg/load.h"
#include "storage/storage.h"

#define BATCH_ROWS 65536

static void
die(const char *what, const lk_error *err)
{
	fprintf(stderr, "bench/load: %s: %s", what, err->msg);
	if (err->where[0])
		fprintf(stderr, " (%s)", err->where);
	fputc('\n', stderr);
	exit(1);
}

/* ---- the table (as bench/parquet.c) ---------------------------------------- */

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static lk_type *
bench_schema(lk_arena *a)
{
	static const struct { const char *name; lk_type_id id; } cols[] = {
		{"id", LK_T_LONG}, {"i32", LK_T_INT}, {"i64", LK_T_LONG},
		{"f64", LK_T_DOUBLE}, {"amount", LK_T_DECIMAL}, {"big", LK_T_DECIMAL},
		{"code", LK_T_STRING}, {"note", LK_T_STRING}, {"ts", LK_T_TIMESTAMP},
	};
	int n = (int) (sizeof(cols) / sizeof(cols[0]));
	lk_type *s = lk_type_struct(a, n);
	for (int i = 0; i < n; i++) {
		lk_type *t;
		if (!strcmp(cols[i].name, "amount"))
			t = lk_type_decimal(a, 12, 2);
		else if (!strcmp(cols[i].name, "big"))
			t = lk_type_decimal(a, 38, 10);
		else
			t = lk_type_new(a, cols[i].id);
		s->children[i].name = cols[i].name;
		s->children[i].type = t;
		s->children[i].nullable = i != 0;
		s->children[i].field_id = -1;
	}
	return s;
}

static const char *const words[] = {
	"lake", "sync", "postgres", "delta", "parquet", "row", "group", "page",
	"column", "value", "commit", "snapshot", "stream", "replica", "table",
	"index", "the", "a", "of", "and", "with", "without", "exactly", "once",
	"change", "data", "feed", "vector", "deletion", "schema", "type", "null",
};

static void
fill_batch(lk_batch *b, int64_t first, int64_t n)
{
	char text[256];
	lk_batch_reset(b);
	for (int64_t r = first; r < first + n; r++) {
		uint64_t s = (uint64_t) r * 0x2545f4914f6cdd1dull + 42;
		uint64_t ns = s ^ 0x5851f42d4c957f2dull;
		lk_column_append_i64(&b->cols[0], r);
		for (int c = 1; c < b->ncols; c++) {
			lk_column *col = &b->cols[c];
			uint64_t v = splitmix64(&s);
			if (splitmix64(&ns) % 10 == 0) {
				lk_column_append_null(col);
				continue;
			}
			switch (c) {
			case 1: lk_column_append_i32(col, (int32_t) v); break;
			case 2: lk_column_append_i64(col, (int64_t) (v >> 8) - (1ll << 55)); break;
			case 3:
				lk_column_append_f64(col, ((double) (v >> 11) / 9007199254740992.0 - 0.5) * 1e6);
				break;
			case 4:
				lk_column_append_i128(col, (lk_int128) (int64_t) (v % 200000000000ull) - 100000000000ll);
				break;
			case 5: {
				uint64_t w = splitmix64(&s);
				lk_int128 x = (lk_int128) (v % 1000000000000000000ull) * 10000000000000000000ull / 100 +
							  (lk_int128) (w % 100000000000000000ull);
				lk_column_append_i128(col, (w & 1) ? -x : x);
				break;
			}
			case 6: {
				int len = snprintf(text, sizeof(text), "c%u", (unsigned) (v % 100000));
				lk_column_append_bytes(col, text, len);
				break;
			}
			case 7: {
				int len = 0, target = 40 + (int) (v % 201);
				uint64_t w = v;
				while (len < target) {
					const char *wd = words[w & 31];
					w = (w >> 5) | ((w & 31) << 59);
					w ^= splitmix64(&s) & 0xffff;
					size_t wl = strlen(wd);
					if (len + (int) wl + 1 >= (int) sizeof(text))
						break;
					memcpy(text + len, wd, wl);
					len += (int) wl;
					text[len++] = ' ';
				}
				lk_column_append_bytes(col, text, len);
				break;
			}
			case 8:
				lk_column_append_i64(col, 946684800000000ll + (int64_t) (v % 946080000000000ull));
				break;
			}
		}
	}
	if (!lk_batch_seal(b)) {
		fprintf(stderr, "bench/load: generated batch is inconsistent\n");
		exit(1);
	}
}

/* ---- commands ------------------------------------------------------------------ */

static const char *
arg(int argc, char **argv, const char *name, const char *def)
{
	for (int i = 2; i + 1 < argc; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return def;
}

static int
cmd_gen(int argc, char **argv)
{
	int64_t rows = strtoll(arg(argc, argv, "--rows", "10000000"), NULL, 10);
	int64_t file_rows = strtoll(arg(argc, argv, "--file-rows", "2500000"), NULL, 10);
	const char *out = arg(argc, argv, "--out", NULL);
	if (!out || rows <= 0) {
		fprintf(stderr, "usage: load gen --rows N --out DIR [--file-rows M]\n");
		return 2;
	}
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_error err;
	st_store st;
	if (!st_store_open(&st, out, 0, &err))
		die("open", &err);
	lk_type *schema = bench_schema(&a);
	dl_table_options to;
	dl_table_options_init(&to);
	to.name = "bench_load";
	if (!dl_table_create(&st, schema, &to, &err))
		die("create", &err);
	dl_snapshot *s;
	if (!dl_snapshot_open(&st, NULL, &s, &err))
		die("snapshot", &err);
	dl_commit *c = dl_commit_begin(&st, s, "WRITE");
	dl_write_options wo;
	dl_write_options_init(&wo);
	wo.max_file_rows = file_rows;
	dl_data_writer *w = dl_data_writer_open(c, &wo, &err);
	if (!w)
		die("writer", &err);
	lk_batch *b = lk_batch_new(s->schema.type);
	for (int64_t r = 0; r < rows; r += BATCH_ROWS) {
		int64_t n = rows - r < BATCH_ROWS ? rows - r : BATCH_ROWS;
		fill_batch(b, r, n);
		if (!dl_data_writer_write(w, b, &err))
			die("write", &err);
	}
	if (!dl_data_writer_close(w, &err))   /* frees w (see dl_write_batch) */
		die("close", &err);
	if (!dl_commit_run(c, NULL, &err))
		die("commit", &err);
	printf("{\"rows\": %" PRId64 ", \"version\": %" PRId64 "}\n", rows, dl_commit_version(c));
	dl_commit_free(c);
	lk_batch_free(b);
	dl_snapshot_free(s);
	st_store_close(&st);
	lk_arena_free(&a);
	return 0;
}

static dl_snapshot *
open_table(const char *dir, st_store *st)
{
	lk_error err;
	if (!st_store_open(st, dir, 0, &err))
		die("open", &err);
	dl_snapshot *s;
	if (!dl_snapshot_open(st, NULL, &s, &err))
		die("snapshot", &err);
	return s;
}

static int
cmd_text(int argc, char **argv)
{
	const char *dir = arg(argc, argv, "--table", NULL), *out = arg(argc, argv, "--out", NULL);
	if (!dir || !out) {
		fprintf(stderr, "usage: load text --table DIR --out FILE\n");
		return 2;
	}
	st_store st;
	dl_snapshot *s = open_table(dir, &st);
	lk_error err;
	dl_scan *sc;
	if (!dl_scan_open(s, &sc, &err))
		die("scan", &err);
	FILE *f = fopen(out, "w");
	if (!f) {
		perror(out);
		return 1;
	}
	pgl_scratch scr;
	pgl_scratch_init(&scr);
	lk_buf buf = LK_BUF_INIT;
	int64_t rows = 0;
	for (;;) {
		lk_batch *b;
		if (!dl_scan_next(sc, &b, &err))
			die("scan", &err);
		if (!b)
			break;
		lk_buf_reset(&buf);
		if (!pgl_format_rows(&scr, &buf, b, 0, b->nrows, &err))
			die("format", &err);
		if (fwrite(buf.data, 1, buf.len, f) != buf.len) {
			perror(out);
			return 1;
		}
		rows += b->nrows;
	}
	if (fclose(f) != 0) {
		perror(out);
		return 1;
	}
	printf("{\"rows\": %" PRId64 "}\n", rows);
	lk_buf_free(&buf);
	pgl_scratch_free(&scr);
	dl_scan_free(sc);
	dl_snapshot_free(s);
	st_store_close(&st);
	return 0;
}

static int
cmd_ddl(int argc, char **argv)
{
	const char *dir = arg(argc, argv, "--table", NULL), *name = arg(argc, argv, "--name", NULL);
	if (!dir || !name || !strchr(name, '.')) {
		fprintf(stderr, "usage: load ddl --table DIR --name SCHEMA.TABLE\n");
		return 2;
	}
	st_store st;
	dl_snapshot *s = open_table(dir, &st);
	lk_arena a;
	lk_arena_init(&a, 0);
	const lk_type *t = s->schema.type;
	pgl_column *cols = lk_arena_zalloc(&a, sizeof(pgl_column) * (size_t) (t->nchildren + 1));
	for (int i = 0; i < t->nchildren; i++) {
		cols[i].name = t->children[i].name;
		cols[i].type = t->children[i].type;
		cols[i].sql_type = pgl_sql_type(t->children[i].type, &a);
	}
	char *schema = lk_arena_strndup(&a, name, (size_t) (strchr(name, '.') - name));
	lk_buf b = LK_BUF_INIT;
	lk_error err;
	if (!pgl_create_table_sql(&b, schema, strchr(name, '.') + 1, cols, t->nchildren, false, &err))
		die("ddl", &err);
	printf("%s\n", lk_buf_cstr(&b));
	lk_buf_free(&b);
	lk_arena_free(&a);
	dl_snapshot_free(s);
	st_store_close(&st);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "gen"))
		return cmd_gen(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "text"))
		return cmd_text(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "ddl"))
		return cmd_ddl(argc, argv);
	fprintf(stderr, "usage: load gen|text|ddl … (see bench/load.c)\n");
	return 2;
}
