/*
 * bench/parquet.c — lakesync's Parquet writer and reader, timed; driven by
 * bench/parquet.sh, which runs DuckDB on the same data and prints ratios.
 *
 *   parquet write --rows N --out PREFIX [--threads T] [--compression C]
 *       Generate the benchmark table deterministically (splitmix64, seed 42)
 *       into memory as batches of 65,536 rows, untimed. Then write it with
 *       pq_writer (default zstd, default options: 1 Mi-row row groups),
 *       timed. With T threads, thread t writes the t-th of T contiguous
 *       slices of the batches into PREFIX-t.parquet (the writer is one
 *       sequential stream per file: multi-core writing means N files);
 *       with T = 1 the file is PREFIX.parquet.
 *       Memory: the peak RSS during the write (VmHWM after resetting it
 *       through /proc/self/clear_refs just before) minus the RSS before it
 *       — the writer's own memory on top of the table it is given.
 *   parquet read [--threads T] FILE...
 *       Decode every row group of every file into batches (a sink: nothing
 *       is done with the values), timed. T threads take (file, row group)
 *       pairs from a shared counter; each thread has its own pq_reader per
 *       file.
 * Both print one JSON object on stdout.
 *
 * The table (10% nulls in every column but id):
 *   id long, i32 integer, i64 long, f64 double, amount decimal(12,2),
 *   big decimal(38,10), code string (short: "c" + 1..6 digits, ~100k
 *   distinct), note string (long: 40..240 chars of words), ts timestamp
 *   (micros, UTC, 2000..2030)
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/error.h"
#include "common/types.h"
#include "parquet/parquet.h"

#define BATCH_ROWS 65536

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* CPU seconds (user + system, all threads) of this process so far. */
static double
cpu_now(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6 +
		   (double) ru.ru_stime.tv_sec + (double) ru.ru_stime.tv_usec / 1e6;
}

/* kB value of a /proc/self/status line ("VmHWM", "VmRSS"), or -1. */
static long
proc_status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t n = strlen(key);
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			v = atol(line + n + 1);
	fclose(f);
	return v;
}

/* Reset VmHWM to the current RSS (Linux ≥ 4.0). */
static bool
reset_peak(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	if (!f)
		return false;
	bool ok = fputs("5", f) >= 0;
	return fclose(f) == 0 && ok;
}

static void
die(const char *what, const lk_error *err)
{
	fprintf(stderr, "bench/parquet: %s: %s", what, err->msg);
	if (err->where[0])
		fprintf(stderr, " (%s)", err->where);
	fputc('\n', stderr);
	exit(1);
}

/* ---- the table ---------------------------------------------------------- */

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

/* Rows [first, first+n) of the table into b (reset first). Row r's values
 * depend only on r, so any slicing yields the same table. */
static void
fill_batch(lk_batch *b, int64_t first, int64_t n)
{
	char text[256];
	lk_batch_reset(b);
	for (int64_t r = first; r < first + n; r++) {
		uint64_t s = (uint64_t) r * 0x2545f4914f6cdd1dull + 42;
		uint64_t ns = s ^ 0x5851f42d4c957f2dull;   /* null stream */
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
			case 4: /* amount: ±10^9.xx */
				lk_column_append_i128(col, (lk_int128) (int64_t) (v % 200000000000ull) - 100000000000ll);
				break;
			case 5: { /* big: up to 37 digits */
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
			case 8: /* 2000-01-01 .. ~2030 in micros */
				lk_column_append_i64(col, 946684800000000ll + (int64_t) (v % 946080000000000ull));
				break;
			}
		}
	}
	if (!lk_batch_seal(b)) {
		fprintf(stderr, "bench/parquet: generated batch is inconsistent\n");
		exit(1);
	}
}

/* ---- write -------------------------------------------------------------- */

typedef struct write_job {
	const lk_type *schema;
	lk_batch **batches;
	int from, to;                /* batch indexes */
	char path[4096];
	pq_codec codec;
	int64_t bytes;
} write_job;

static void *
write_thread(void *arg)
{
	write_job *j = arg;
	lk_error err;
	lk_error_clear(&err);
	pq_output out;
	if (!pq_output_open_file(&out, j->path, &err))
		die("open output", &err);
	pq_writer_options opt;
	pq_writer_options_init(&opt);
	opt.codec = j->codec;
	pq_writer *w = pq_writer_open(&out, j->schema, &opt, &err);
	if (!w)
		die("open writer", &err);
	for (int i = j->from; i < j->to; i++)
		if (!pq_writer_write(w, j->batches[i], &err))
			die("write", &err);
	pq_file_info info;
	if (!pq_writer_close(w, false, &info, &err))
		die("close writer", &err);
	j->bytes = info.file_size;
	pq_writer_free(w);
	return NULL;
}

static int
cmd_write(int64_t rows, const char *prefix, int threads, pq_codec codec)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	const lk_type *schema = bench_schema(&a);
	int nb = (int) ((rows + BATCH_ROWS - 1) / BATCH_ROWS);
	lk_batch **batches = lk_xcalloc((size_t) nb, sizeof(*batches));
	double g0 = now();
	for (int i = 0; i < nb; i++) {
		int64_t first = (int64_t) i * BATCH_ROWS;
		batches[i] = lk_batch_new(schema);
		fill_batch(batches[i], first, rows - first < BATCH_ROWS ? rows - first : BATCH_ROWS);
	}
	double gen_s = now() - g0;

	write_job *jobs = lk_xcalloc((size_t) threads, sizeof(*jobs));
	pthread_t *tid = lk_xcalloc((size_t) threads, sizeof(*tid));
	for (int t = 0; t < threads; t++) {
		jobs[t].schema = schema;
		jobs[t].batches = batches;
		jobs[t].from = (int) ((int64_t) nb * t / threads);
		jobs[t].to = (int) ((int64_t) nb * (t + 1) / threads);
		jobs[t].codec = codec;
		if (threads == 1)
			snprintf(jobs[t].path, sizeof(jobs[t].path), "%s.parquet", prefix);
		else
			snprintf(jobs[t].path, sizeof(jobs[t].path), "%s-%d.parquet", prefix, t);
	}
	bool peak_ok = reset_peak();
	long rss0 = proc_status_kb("VmRSS");
	double c0 = cpu_now();
	double t0 = now();
	if (threads == 1) {
		write_thread(&jobs[0]);
	} else {
		for (int t = 0; t < threads; t++)
			if (pthread_create(&tid[t], NULL, write_thread, &jobs[t]) != 0) {
				fprintf(stderr, "bench/parquet: pthread_create failed\n");
				return 1;
			}
		for (int t = 0; t < threads; t++)
			pthread_join(tid[t], NULL);
	}
	double write_s = now() - t0;
	double write_cpu_s = cpu_now() - c0;
	long hwm = proc_status_kb("VmHWM");
	int64_t bytes = 0;
	for (int t = 0; t < threads; t++)
		bytes += jobs[t].bytes;
	printf("{\"rows\":%lld,\"threads\":%d,\"codec\":\"%s\",\"gen_s\":%.3f,"
		   "\"write_s\":%.3f,\"write_cpu_s\":%.3f,\"bytes\":%lld,\"rss_before_kb\":%ld,"
		   "\"peak_kb\":%ld,\"peak_delta_kb\":%ld,\"files\":[",
		   (long long) rows, threads, pq_codec_name(codec), gen_s, write_s, write_cpu_s,
		   (long long) bytes, rss0, peak_ok ? hwm : -1L,
		   peak_ok ? hwm - rss0 : -1L);
	for (int t = 0; t < threads; t++)
		printf("%s\"%s\"", t ? "," : "", jobs[t].path);
	printf("]}\n");
	for (int i = 0; i < nb; i++)
		lk_batch_free(batches[i]);
	free(batches);
	free(jobs);
	free(tid);
	lk_arena_free(&a);
	return 0;
}

/* ---- read --------------------------------------------------------------- */

typedef struct read_task {
	int file, rg;
} read_task;

typedef struct read_shared {
	char **files;
	int nfiles;
	read_task *tasks;
	int ntasks;
	atomic_int next;
	atomic_llong rows;
	atomic_llong nulls;
} read_shared;

static void *
read_thread(void *arg)
{
	read_shared *sh = arg;
	lk_error err;
	lk_error_clear(&err);
	pq_reader **readers = lk_xcalloc((size_t) sh->nfiles, sizeof(*readers));
	lk_batch **batches = lk_xcalloc((size_t) sh->nfiles, sizeof(*batches));
	long long rows = 0, nulls = 0;
	for (;;) {
		int k = atomic_fetch_add(&sh->next, 1);
		if (k >= sh->ntasks)
			break;
		int f = sh->tasks[k].file;
		if (!readers[f]) {
			pq_input in;
			if (!pq_input_open_file(&in, sh->files[f], &err))
				die("open input", &err);
			if (!(readers[f] = pq_reader_open(&in, &err)))
				die("open reader", &err);
			batches[f] = lk_batch_new(pq_reader_output_schema(readers[f]));
		}
		if (!pq_reader_read_row_group(readers[f], sh->tasks[k].rg, batches[f], &err))
			die("read row group", &err);
		rows += batches[f]->nrows;
		for (int c = 0; c < batches[f]->ncols; c++)
			nulls += batches[f]->cols[c].null_count;
	}
	for (int f = 0; f < sh->nfiles; f++) {
		lk_batch_free(batches[f]);
		pq_reader_free(readers[f]);
	}
	free(readers);
	free(batches);
	atomic_fetch_add(&sh->rows, rows);
	atomic_fetch_add(&sh->nulls, nulls);
	return NULL;
}

static int
cmd_read(char **files, int nfiles, int threads)
{
	read_shared sh;
	memset(&sh, 0, sizeof(sh));
	sh.files = files;
	sh.nfiles = nfiles;
	/* list the row groups (footers only; untimed) */
	for (int f = 0; f < nfiles; f++) {
		lk_error err;
		lk_error_clear(&err);
		pq_input in;
		if (!pq_input_open_file(&in, files[f], &err))
			die("open input", &err);
		pq_reader *r = pq_reader_open(&in, &err);
		if (!r)
			die("open reader", &err);
		int n = pq_reader_num_row_groups(r);
		sh.tasks = lk_xrealloc(sh.tasks, sizeof(read_task) * (size_t) (sh.ntasks + n + 1));
		for (int g = 0; g < n; g++)
			sh.tasks[sh.ntasks++] = (read_task) {f, g};
		pq_reader_free(r);
	}
	atomic_init(&sh.next, 0);
	atomic_init(&sh.rows, 0);
	atomic_init(&sh.nulls, 0);
	pthread_t *tid = lk_xcalloc((size_t) threads, sizeof(*tid));
	bool peak_ok = reset_peak();
	long rss0 = proc_status_kb("VmRSS");
	double c0 = cpu_now();
	double t0 = now();
	if (threads == 1) {
		read_thread(&sh);
	} else {
		for (int t = 0; t < threads; t++)
			if (pthread_create(&tid[t], NULL, read_thread, &sh) != 0) {
				fprintf(stderr, "bench/parquet: pthread_create failed\n");
				return 1;
			}
		for (int t = 0; t < threads; t++)
			pthread_join(tid[t], NULL);
	}
	double read_s = now() - t0;
	double read_cpu_s = cpu_now() - c0;
	long hwm = proc_status_kb("VmHWM");
	printf("{\"threads\":%d,\"row_groups\":%d,\"rows\":%lld,\"nulls\":%lld,"
		   "\"read_s\":%.3f,\"read_cpu_s\":%.3f,\"peak_delta_kb\":%ld}\n",
		   threads, sh.ntasks, (long long) atomic_load(&sh.rows),
		   (long long) atomic_load(&sh.nulls), read_s, read_cpu_s, peak_ok ? hwm - rss0 : -1L);
	free(sh.tasks);
	free(tid);
	return 0;
}

/* ---- main --------------------------------------------------------------- */

static int
usage(void)
{
	fprintf(stderr,
			"usage: parquet write --rows N --out PREFIX [--threads T] [--compression C]\n"
			"       parquet read [--threads T] FILE...\n");
	return 2;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	int64_t rows = 1000000;
	int threads = 1;
	const char *out = NULL;
	pq_codec codec = PQ_CODEC_ZSTD;
	char **files = lk_xcalloc((size_t) argc, sizeof(char *));
	int nfiles = 0;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--rows") && i + 1 < argc)
			rows = atoll(argv[++i]);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--out") && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(argv[i], "--compression") && i + 1 < argc) {
			if (!pq_codec_parse(argv[++i], &codec))
				return usage();
		} else if (argv[i][0] == '-')
			return usage();
		else
			files[nfiles++] = argv[i];
	}
	if (threads < 1 || rows < 1)
		return usage();
	int rc;
	if (!strcmp(argv[1], "write") && out && nfiles == 0)
		rc = cmd_write(rows, out, threads, codec);
	else if (!strcmp(argv[1], "read") && nfiles > 0)
		rc = cmd_read(files, nfiles, threads);
	else
		rc = usage();
	free(files);
	return rc;
}
