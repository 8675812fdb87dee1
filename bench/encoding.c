/*
 * bench/encoding.c — micro-benchmark of the Parquet encodings and page
 * codecs (decode is the reader's hot path).  Prints one line per case:
 * throughput in millions of values per second (or MB/s for codecs), per
 * second of CPU time (the build machine is shared).
 *   make build/bench/encoding && build/bench/encoding [scale]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"
#include "parquet/compress.h"
#include "parquet/encoding.h"
#include "parquet/meta.h"
#include "parquet/parquet.h"

static uint64_t rng_state = 42;

static uint64_t
rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static volatile uint64_t sink;

#define N (1 << 20)

static void
bench_rle(int bw, int run_len, int reps)
{
	uint32_t *v = malloc(N * sizeof(*v)), *out = malloc(N * sizeof(*out));
	uint32_t mask = bw == 32 ? 0xffffffffu : (uint32_t) ((1ull << bw) - 1);
	for (int i = 0; i < N; i++)
		v[i] = (run_len <= 1 || i % run_len == 0) ? (uint32_t) rnd() & mask
			: v[i - 1];
	lk_buf b = LK_BUF_INIT;
	double t0 = now();
	for (int r = 0; r < reps; r++) {
		lk_buf_reset(&b);
		pq_rle_encode(&b, v, N, bw);
	}
	double te = now() - t0;
	lk_error err;
	t0 = now();
	for (int r = 0; r < reps; r++) {
		pq_rle_decoder d;
		pq_rle_decoder_init(&d, b.data, b.len, bw, 0);
		if (!pq_rle_decoder_get(&d, out, N, &err))
			abort();
		sink += out[N - 1];
	}
	double td = now() - t0;
	if (memcmp(v, out, N * sizeof(*v)) != 0)
		abort();
	printf("rle bw %2d run %4d: encode %7.1f Mv/s  decode %7.1f Mv/s  (%.2f bytes/value)\n",
		   bw, run_len, reps * (double) N / te / 1e6, reps * (double) N / td / 1e6,
		   (double) b.len / N);
	lk_buf_free(&b);
	free(v);
	free(out);
}

static void
bench_rle_small_calls(int bw, int reps)
{
	/* the reader may ask for levels in small batches */
	uint32_t *v = malloc(N * sizeof(*v)), *out = malloc(N * sizeof(*out));
	uint32_t mask = (uint32_t) ((1ull << bw) - 1);
	for (int i = 0; i < N; i++)
		v[i] = (uint32_t) rnd() & mask;
	lk_buf b = LK_BUF_INIT;
	pq_rle_encode(&b, v, N, bw);
	lk_error err;
	double t0 = now();
	for (int r = 0; r < reps; r++) {
		pq_rle_decoder d;
		pq_rle_decoder_init(&d, b.data, b.len, bw, 0);
		for (int i = 0; i < N; i += 100)
			if (!pq_rle_decoder_get(&d, out + i, N - i < 100 ? N - i : 100, &err))
				abort();
		sink += out[N - 1];
	}
	double td = now() - t0;
	printf("rle bw %2d random, get(100): decode %7.1f Mv/s\n", bw,
		   reps * (double) N / td / 1e6);
	lk_buf_free(&b);
	free(v);
	free(out);
}

static void
bench_dbp(const char *name, int kind, int reps)
{
	int64_t *v = malloc(N * sizeof(*v)), *out = malloc(N * sizeof(*out));
	int32_t *w = malloc(N * sizeof(*w)), *o32 = malloc(N * sizeof(*o32));
	for (int i = 0; i < N; i++) {
		switch (kind) {
		case 0: v[i] = i; break;                                       /* sequence */
		case 1: v[i] = (i ? v[i - 1] : 0) + (int64_t) (rnd() % 1000); break; /* ts-like */
		default: v[i] = (int64_t) (rnd() >> 1); break;                /* random */
		}
		w[i] = (int32_t) v[i];
	}
	lk_buf b = LK_BUF_INIT, b32 = LK_BUF_INIT;
	double t0 = now();
	for (int r = 0; r < reps; r++) {
		lk_buf_reset(&b);
		pq_delta_bp_encode_i64(&b, v, N);
	}
	double te = now() - t0;
	pq_delta_bp_encode_i32(&b32, w, N);
	lk_error err;
	size_t used;
	t0 = now();
	for (int r = 0; r < reps; r++) {
		if (!pq_delta_bp_decode_i64(b.data, b.len, N, out, &used, 0, &err))
			abort();
		sink += (uint64_t) out[N - 1];
	}
	double td = now() - t0;
	t0 = now();
	for (int r = 0; r < reps; r++) {
		if (!pq_delta_bp_decode_i32(b32.data, b32.len, N, o32, &used, 0, &err))
			abort();
		sink += (uint64_t) o32[N - 1];
	}
	double td32 = now() - t0;
	if (memcmp(v, out, N * sizeof(*v)) != 0 || memcmp(w, o32, N * sizeof(*w)) != 0)
		abort();
	printf("delta_bp %-9s: encode i64 %7.1f Mv/s  decode i64 %7.1f Mv/s  i32 %7.1f Mv/s (%.2f bytes/value)\n",
		   name, reps * (double) N / te / 1e6, reps * (double) N / td / 1e6,
		   reps * (double) N / td32 / 1e6, (double) b.len / N);
	lk_buf_free(&b);
	lk_buf_free(&b32);
	free(v);
	free(out);
	free(w);
	free(o32);
}

static void
bench_strings(int reps)
{
	pq_byte_view *v = malloc(N * sizeof(*v)), *out = malloc(N * sizeof(*out));
	char *pool = malloc((size_t) N * 24);
	for (int i = 0; i < N; i++) {
		int len = snprintf(pool + (size_t) i * 24, 24, "customer#%09d", i * 7);
		v[i].ptr = (const uint8_t *) pool + (size_t) i * 24;
		v[i].len = (uint32_t) len;
	}
	lk_buf b = LK_BUF_INIT, p = LK_BUF_INIT;
	pq_delta_length_encode(&b, v, N);
	for (int i = 0; i < N; i++)
		pq_plain_encode_byte_array(&p, v[i].ptr, v[i].len);
	lk_error err;
	size_t used;
	double t0 = now();
	for (int r = 0; r < reps; r++)
		if (!pq_plain_decode_byte_array(p.data, p.len, N, out, &used, 0, &err))
			abort();
	double tp = now() - t0;
	t0 = now();
	for (int r = 0; r < reps; r++)
		if (!pq_delta_length_decode(b.data, b.len, N, out, &used, 0, &err))
			abort();
	double tl = now() - t0;
	lk_buf_reset(&b);
	pq_delta_byte_array_encode(&b, v, N);
	lk_arena a;
	lk_arena_init(&a, 1 << 20);
	t0 = now();
	for (int r = 0; r < reps; r++) {
		lk_arena_reset(&a);
		if (!pq_delta_byte_array_decode(b.data, b.len, N, out, &a, &used, 0, &err))
			abort();
	}
	double td = now() - t0;
	for (int i = 0; i < N; i++)
		if (out[i].len != v[i].len || memcmp(out[i].ptr, v[i].ptr, v[i].len) != 0)
			abort();
	printf("strings: plain %7.1f Mv/s  delta_length %7.1f Mv/s  delta_byte_array %7.1f Mv/s\n",
		   reps * (double) N / tp / 1e6, reps * (double) N / tl / 1e6,
		   reps * (double) N / td / 1e6);
	lk_arena_free(&a);
	lk_buf_free(&b);
	lk_buf_free(&p);
	free(pool);
	free(v);
	free(out);
}

static void
bench_misc(int reps)
{
	uint8_t *bits = malloc(N / 8), *out = malloc(N * 8);
	double *d = malloc(N * sizeof(*d));
	for (int i = 0; i < N / 8; i++)
		bits[i] = (uint8_t) rnd();
	for (int i = 0; i < N; i++)
		d[i] = (double) (rnd() % 100000) / 100.0;
	lk_error err;
	size_t used;
	double t0 = now();
	for (int r = 0; r < reps; r++)
		if (!pq_plain_decode_bool(bits, N / 8, N, out, &used, 0, &err))
			abort();
	double tb = now() - t0;
	lk_buf b = LK_BUF_INIT;
	pq_bss_encode(&b, d, 8, N);
	t0 = now();
	for (int r = 0; r < reps; r++)
		if (!pq_bss_decode(b.data, b.len, 8, N, out, 0, &err))
			abort();
	double ts = now() - t0;
	if (memcmp(out, d, N * 8) != 0)
		abort();
	lk_buf_reset(&b);
	float *f = (float *) d;
	pq_bss_encode(&b, f, 4, N);
	t0 = now();
	for (int r = 0; r < reps; r++)
		if (!pq_bss_decode(b.data, b.len, 4, N, out, 0, &err))
			abort();
	double t4 = now() - t0;
	printf("plain bool %7.1f Mv/s  bss double %7.1f Mv/s  bss float %7.1f Mv/s\n",
		   reps * (double) N / tb / 1e6, reps * (double) N / ts / 1e6,
		   reps * (double) N / t4 / 1e6);
	lk_buf_free(&b);
	free(bits);
	free(out);
	free(d);
}

static void
bench_codecs(int reps)
{
	const size_t n = 1 << 20;
	uint8_t *src = malloc(n), *out = malloc(n);
	/* page-like data: small ints and repeated strings */
	for (size_t i = 0; i < n; i++)
		src[i] = (i % 64 < 32) ? (uint8_t) (rnd() % 16) : (uint8_t) "customer#000"[i % 12];
	static const struct {
		int codec;
		const char *name;
	} c[] = {{PQ_CODEC_SNAPPY, "snappy"}, {PQ_CODEC_GZIP, "gzip"},
			 {PQ_CODEC_BROTLI, "brotli"}, {PQ_CODEC_ZSTD, "zstd"},
			 {PQ_CODEC_LZ4_RAW, "lz4_raw"}, {PQ_CODEC_LZ4_HADOOP, "lz4_hadoop"}};
	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		lk_buf b = LK_BUF_INIT;
		lk_error err;
		double t0 = now();
		for (int r = 0; r < reps; r++) {
			lk_buf_reset(&b);
			if (!pq_compress(c[k].codec, 0, src, n, &b, &err))
				abort();
		}
		double tc = now() - t0;
		t0 = now();
		for (int r = 0; r < reps; r++)
			if (!pq_decompress(c[k].codec, b.data, b.len, out, n, &err))
				abort();
		double td = now() - t0;
		if (memcmp(src, out, n) != 0)
			abort();
		printf("%-10s: compress %7.1f MB/s  decompress %7.1f MB/s  ratio %.3f\n",
			   c[k].name, reps * (double) n / tc / 1e6, reps * (double) n / td / 1e6,
			   (double) b.len / (double) n);
		lk_buf_free(&b);
	}
	free(src);
	free(out);
}

int
main(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 10;
	if (reps < 1)
		reps = 1;
	bench_rle(1, 1, reps);
	bench_rle(1, 50, reps);
	bench_rle(3, 1, reps);
	bench_rle(8, 1, reps);
	bench_rle(12, 1, reps);
	bench_rle(12, 20, reps);
	bench_rle(17, 1, reps);
	bench_rle(32, 1, reps);
	bench_rle(10, 1000, reps);
	bench_rle_small_calls(1, reps);
	bench_rle_small_calls(10, reps);
	bench_dbp("sequence", 0, reps);
	bench_dbp("ts-like", 1, reps);
	bench_dbp("random", 2, reps);
	bench_strings(reps);
	bench_misc(reps);
	bench_codecs(reps > 3 ? reps / 3 : 1);
	return (int) (sink & 0);
}
