/*
 * bench/delta.c — time to load the snapshot of a Delta table with many files
 * and a checkpoint; driven by bench/delta.sh, which times DuckDB reading the
 * same checkpoint Parquet and prints the ratio.
 *
 *   delta --dir DIR [--files N] [--commits C] [--repeat R]
 *
 * 1. Generates the table's log synthetically in DIR (untimed): version 0
 *    creates the table (id long, name string, ts timestamp, amount
 *    decimal(12,2), day date; not partitioned), then C commits of N/C add
 *    actions each through dl_commit (paths part-NNNNN-<uuid>.c000.zstd
 *    .parquet, realistic sizes and stats JSON with all five columns; the
 *    data files themselves are never written: loading a snapshot does not
 *    open them), then the checkpoint of the last version with our
 *    checkpoint writer (dl_checkpoint_write), which also writes
 *    _delta_log/_last_checkpoint.
 * 2. Times dl_snapshot_open of the latest version R times (default 5):
 *    _last_checkpoint → listing from it → reading the checkpoint Parquet →
 *    reconciling N adds → sorting them → parsing the schema.
 * Prints one JSON object on stdout: files, commits, checkpoint path and
 * size, the time to write the checkpoint, and the best and median wall /
 * CPU milliseconds of the loads. Never a pass/fail test.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/arena.h"
#include "common/error.h"
#include "delta/commit.h"
#include "delta/log.h"
#include "delta/maintenance.h"
#include "delta/writer.h"
#include "storage/storage.h"

static double
now_ms(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static void
die(const lk_error *err)
{
	char buf[1200];
	fprintf(stderr, "bench/delta: %s\n", lk_error_str(err, buf, sizeof(buf)));
	exit(1);
}

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	int64_t files = 100000, commits = 100, repeat = 5;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--files") && i + 1 < argc)
			files = strtoll(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--commits") && i + 1 < argc)
			commits = strtoll(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			repeat = strtoll(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: delta --dir DIR [--files N] [--commits C] [--repeat R]\n");
			return 2;
		}
	}
	if (!dir || files < 1 || commits < 1 || repeat < 1) {
		fprintf(stderr, "usage: delta --dir DIR [--files N] [--commits C] [--repeat R]\n");
		return 2;
	}

	lk_error err;
	st_store st;
	if (!st_store_open(&st, dir, 0, &err))
		die(&err);
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_type *t = lk_type_struct(&a, 5);
	t->children[0] = (lk_field) {"id", lk_type_new(&a, LK_T_LONG), false, -1};
	t->children[1] = (lk_field) {"name", lk_type_new(&a, LK_T_STRING), true, -1};
	t->children[2] = (lk_field) {"ts", lk_type_new(&a, LK_T_TIMESTAMP), true, -1};
	t->children[3] = (lk_field) {"amount", lk_type_decimal(&a, 12, 2), true, -1};
	t->children[4] = (lk_field) {"day", lk_type_new(&a, LK_T_DATE), true, -1};
	dl_table_options o;
	dl_table_options_init(&o);
	o.checkpoint_interval = 1000000000;   /* only the explicit checkpoint */
	if (!dl_table_create(&st, t, &o, &err))
		die(&err);

	/* C commits of N/C adds */
	double g0 = now_ms(CLOCK_MONOTONIC);
	uint64_t seed = 42;
	int64_t made = 0;
	dl_snapshot *s0;
	if (!dl_snapshot_open(&st, NULL, &s0, &err))
		die(&err);
	dl_commit *prev = NULL;
	dl_commit_options co;
	dl_commit_options_init(&co);
	co.auto_checkpoint = false;
	for (int64_t c = 0; c < commits; c++) {
		dl_commit *cm = prev ? dl_commit_next(prev, "WRITE") : dl_commit_begin(&st, s0, "WRITE");
		int64_t n = files / commits + (c < files % commits ? 1 : 0);
		for (int64_t k = 0; k < n; k++, made++) {
			char uuid[37], path[128], stats[512];
			dl_uuid_v4(uuid);
			snprintf(path, sizeof(path), "part-%05d-%s.c000.zstd.parquet", (int) (k % 100000), uuid);
			uint64_t r = splitmix(&seed);
			int64_t rows = 10000 + (int64_t) (r % 90000);
			int64_t id0 = made * 100000;
			int64_t ts0 = 1600000000000LL + (int64_t) (r % 100000000);
			snprintf(stats, sizeof(stats),
					 "{\"numRecords\":%" PRId64 ",\"minValues\":{\"id\":%" PRId64
					 ",\"name\":\"aaron-%05" PRIu64 "\",\"ts\":\"2020-09-13T12:%02d:%02d.%03dZ\","
					 "\"amount\":-%" PRIu64 ".%02d,\"day\":\"2020-09-13\"},\"maxValues\":{\"id\":%"
					 PRId64 ",\"name\":\"zoe-%05" PRIu64 "\",\"ts\":\"2021-03-01T08:%02d:%02d.%03dZ\","
					 "\"amount\":%" PRIu64 ".%02d,\"day\":\"2021-03-01\"},\"nullCount\":{\"id\":0,"
					 "\"name\":%" PRIu64 ",\"ts\":0,\"amount\":%" PRIu64 ",\"day\":0}}",
					 rows, id0, r % 100000, (int) (r % 60), (int) (r / 60 % 60), (int) (r % 1000),
					 r % 10000, (int) (r % 100), id0 + rows - 1, r / 7 % 100000,
					 (int) (r / 3 % 60), (int) (r / 5 % 60), (int) (r / 11 % 1000),
					 r / 13 % 100000, (int) (r / 17 % 100), r % 97, r % 89);
			(void) ts0;
			dl_action act;
			memset(&act, 0, sizeof(act));
			act.type = DL_ACT_ADD;
			act.u.add.path = path;
			act.u.add.size = 1000000 + (int64_t) (r % 100000000);
			act.u.add.modification_time = 1700000000000LL + made;
			act.u.add.data_change = true;
			act.u.add.stats = stats;
			if (!dl_commit_add_action(cm, &act, &err))
				die(&err);
		}
		if (!dl_commit_run(cm, &co, &err))
			die(&err);
		dl_commit_free(prev);
		prev = cm;
	}
	int64_t version = dl_commit_version(prev);
	dl_commit_free(prev);
	dl_snapshot_free(s0);
	double g1 = now_ms(CLOCK_MONOTONIC);

	double c0 = now_ms(CLOCK_MONOTONIC);
	dl_checkpoint_result cr;
	if (!dl_checkpoint_write(&st, version, &cr, &err))
		die(&err);
	double c1 = now_ms(CLOCK_MONOTONIC);

	/* the timed part */
	double *wall = calloc((size_t) repeat, sizeof(double));
	double *cpu = calloc((size_t) repeat, sizeof(double));
	size_t nfiles = 0;
	for (int64_t i = 0; i < repeat; i++) {
		double w0 = now_ms(CLOCK_MONOTONIC), p0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
		dl_snapshot *s;
		if (!dl_snapshot_open(&st, NULL, &s, &err))
			die(&err);
		double w1 = now_ms(CLOCK_MONOTONIC), p1 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
		wall[i] = w1 - w0;
		cpu[i] = p1 - p0;
		nfiles = s->nfiles;
		if (s->checkpoint_version != version || s->version != version) {
			fprintf(stderr, "bench/delta: the snapshot did not load from the checkpoint\n");
			return 1;
		}
		dl_snapshot_free(s);
	}
	if ((int64_t) nfiles != files) {
		fprintf(stderr, "bench/delta: %zu files in the snapshot, expected %" PRId64 "\n", nfiles,
				files);
		return 1;
	}
	double bw = wall[0], bc = cpu[0];
	for (int64_t i = 1; i < repeat; i++) {
		if (wall[i] < bw)
			bw = wall[i];
		if (cpu[i] < bc)
			bc = cpu[i];
	}
	qsort(wall, (size_t) repeat, sizeof(double), cmp_d);
	qsort(cpu, (size_t) repeat, sizeof(double), cmp_d);
	printf("{\"files\":%" PRId64 ",\"commits\":%" PRId64 ",\"version\":%" PRId64
		   ",\"checkpoint\":\"%s/_delta_log/%020" PRId64 ".checkpoint.parquet\""
		   ",\"checkpoint_bytes\":%" PRId64 ",\"generate_ms\":%.1f,\"checkpoint_write_ms\":%.1f"
		   ",\"load_best_ms\":%.2f,\"load_median_ms\":%.2f,\"load_cpu_best_ms\":%.2f"
		   ",\"load_cpu_median_ms\":%.2f,\"repeat\":%" PRId64 "}\n",
		   files, commits, version, st.root, version, cr.size_in_bytes, g1 - g0, c1 - c0, bw,
		   wall[repeat / 2], bc, cpu[repeat / 2], repeat);
	free(wall);
	free(cpu);
	lk_arena_free(&a);
	st_store_close(&st);
	return 0;
}
