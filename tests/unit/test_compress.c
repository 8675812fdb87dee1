/*
 * test_compress.c — page codecs: round trips of every codec, concatenated
 * gzip members, Hadoop-framed LZ4, size mismatches and corrupt input.
 */
#include <criterion/criterion.h>
#include <lz4.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/buf.h"
#include "common/error.h"
#include "parquet/compress.h"
#include "parquet/meta.h"
#include "parquet/parquet.h"

static const int all_codecs[] = {PQ_CODEC_UNCOMPRESSED, PQ_CODEC_SNAPPY,
								 PQ_CODEC_GZIP, PQ_CODEC_BROTLI, PQ_CODEC_ZSTD,
								 PQ_CODEC_LZ4_RAW, PQ_CODEC_LZ4_HADOOP};
#define N_CODECS (sizeof(all_codecs) / sizeof(all_codecs[0]))

static uint64_t rng_state = 12345;

static uint64_t
rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint8_t *
exact_copy(const uint8_t *p, size_t n)
{
	uint8_t *q = malloc(n ? n : 1);
	if (n)
		memcpy(q, p, n);
	return q;
}

/* Compress with codec, decompress into an exact-size buffer, compare.
 * Returns the compressed size. */
static size_t
round_trip(int codec, int level, const uint8_t *src, size_t n)
{
	lk_buf c = LK_BUF_INIT;
	lk_error err;
	lk_error_clear(&err);
	cr_assert(pq_compress(codec, level, src, n, &c, &err), "codec %d: %s", codec,
			  err.msg);
	uint8_t *comp = exact_copy(c.data, c.len);
	uint8_t *out = malloc(n ? n : 1);
	cr_assert(pq_decompress(codec, comp, c.len, out, n, &err),
			  "codec %d n %zu: %s (%s)", codec, n, err.msg, err.where);
	cr_assert(n == 0 || memcmp(out, src, n) == 0, "codec %d n %zu differs",
			  codec, n);
	size_t len = c.len;
	free(out);
	free(comp);
	lk_buf_free(&c);
	return len;
}

Test(compress, round_trip_every_codec)
{
	const size_t mib = 1 << 20;
	uint8_t *rand_buf = malloc(mib), *text = malloc(mib);
	for (size_t i = 0; i < mib; i++)
		rand_buf[i] = (uint8_t) rnd();
	static const char *words[] = {"lake", "sync", "parquet", "delta ", "row\n",
								  "12345", "postgres"};
	for (size_t i = 0; i < mib; i++)
		text[i] = (uint8_t) words[(i / 7) % 7][i % 4];
	for (size_t k = 0; k < N_CODECS; k++) {
		int codec = all_codecs[k];
		round_trip(codec, 0, (const uint8_t *) "", 0);
		round_trip(codec, 0, (const uint8_t *) "a", 1);
		round_trip(codec, 0, (const uint8_t *) "hello, hello, hello", 19);
		size_t r = round_trip(codec, 0, rand_buf, mib);
		size_t t = round_trip(codec, 0, text, mib);
		if (codec == PQ_CODEC_UNCOMPRESSED) {
			cr_assert_eq(r, mib);
			cr_assert_eq(t, mib);
		} else {
			/* random data barely grows, repetitive data shrinks a lot */
			cr_assert_lt(r, mib + mib / 100 + 64, "codec %d", codec);
			cr_assert_lt(t, mib / 20, "codec %d: %zu", codec, t);
		}
	}
	/* explicit levels */
	round_trip(PQ_CODEC_ZSTD, 19, text, 4096);
	round_trip(PQ_CODEC_ZSTD, -5, text, 4096);
	round_trip(PQ_CODEC_GZIP, 1, text, 4096);
	round_trip(PQ_CODEC_GZIP, 9, text, 4096);
	round_trip(PQ_CODEC_BROTLI, 11, text, 4096);
	round_trip(PQ_CODEC_BROTLI, 1, text, 4096);
	free(rand_buf);
	free(text);
}

Test(compress, expected_size_mismatch_is_corrupt)
{
	const char *src = "a page of some bytes, a page of some bytes";
	size_t n = strlen(src);
	for (size_t k = 0; k < N_CODECS; k++) {
		int codec = all_codecs[k];
		lk_buf c = LK_BUF_INIT;
		lk_error err;
		cr_assert(pq_compress(codec, 0, (const uint8_t *) src, n, &c, &err));
		uint8_t out[128];
		memset(out, 0xEE, sizeof(out));
		/* one byte short: must not write past dst[expected] */
		cr_assert_not(pq_decompress(codec, c.data, c.len, out, n - 1, &err),
					  "codec %d", codec);
		cr_assert_eq(err.code, LK_ERR_CORRUPT, "codec %d", codec);
		cr_assert_eq(out[n - 1], 0xEE, "codec %d wrote past expected", codec);
		cr_assert_str_eq(err.where + strlen(err.where) - 5, "bytes");
		cr_assert(strstr(err.where, "compressed page of") != NULL);
		/* one byte long */
		cr_assert_not(pq_decompress(codec, c.data, c.len, out, n + 1, &err),
					  "codec %d", codec);
		cr_assert_eq(err.code, LK_ERR_CORRUPT);
		lk_buf_free(&c);
	}
}

Test(compress, messages_name_the_codec)
{
	const char *src = "0123456789abcdef0123456789abcdef";
	struct {
		int codec;
		const char *name;
	} cases[] = {{PQ_CODEC_UNCOMPRESSED, "uncompressed"}, {PQ_CODEC_SNAPPY, "snappy"},
				 {PQ_CODEC_GZIP, "gzip"}, {PQ_CODEC_BROTLI, "brotli"},
				 {PQ_CODEC_ZSTD, "zstd"}, {PQ_CODEC_LZ4_RAW, "lz4"},
				 {PQ_CODEC_LZ4_HADOOP, "lz4"}};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		lk_buf c = LK_BUF_INIT;
		lk_error err;
		cr_assert(pq_compress(cases[k].codec, 0, (const uint8_t *) src, 32, &c,
							  &err));
		uint8_t out[64];
		cr_assert_not(pq_decompress(cases[k].codec, c.data, c.len, out, 31, &err));
		cr_assert(strstr(err.msg, cases[k].name) != NULL, "%s: %s",
				  cases[k].name, err.msg);
		lk_buf_free(&c);
	}
}

Test(compress, truncated_input_fails_at_every_length)
{
	uint8_t src[3000];
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t) ((i % 37) < 20 ? 'x' : rnd());
	uint8_t *out = malloc(sizeof(src));
	for (size_t k = 0; k < N_CODECS; k++) {
		int codec = all_codecs[k];
		lk_buf c = LK_BUF_INIT;
		lk_error err;
		cr_assert(pq_compress(codec, 0, src, sizeof(src), &c, &err));
		for (size_t len = 0; len < c.len; len++) {
			uint8_t *copy = exact_copy(c.data, len);
			cr_assert_not(pq_decompress(codec, copy, len, out, sizeof(src), &err),
						  "codec %d len %zu of %zu", codec, len, c.len);
			cr_assert_eq(err.code, LK_ERR_CORRUPT);
			free(copy);
		}
		lk_buf_free(&c);
	}
	free(out);
}

Test(compress, garbage_and_bit_flips_never_crash)
{
	uint8_t src[2000];
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t) ("abcabcabd"[i % 9] + (i % 101 == 0));
	uint8_t *out = malloc(sizeof(src));
	for (size_t k = 0; k < N_CODECS; k++) {
		int codec = all_codecs[k];
		lk_buf c = LK_BUF_INIT;
		lk_error err;
		cr_assert(pq_compress(codec, 0, src, sizeof(src), &c, &err));
		for (int iter = 0; iter < 300; iter++) {
			uint8_t *copy = exact_copy(c.data, c.len);
			copy[rnd() % c.len] ^= (uint8_t) (1u << (rnd() % 8));
			if (!pq_decompress(codec, copy, c.len, out, sizeof(src), &err))
				cr_assert_eq(err.code, LK_ERR_CORRUPT);
			free(copy);
		}
		for (int iter = 0; iter < 300; iter++) {
			size_t len = rnd() % 64;
			uint8_t *copy = malloc(len ? len : 1);
			for (size_t i = 0; i < len; i++)
				copy[i] = (uint8_t) rnd();
			size_t want = rnd() % sizeof(src);
			if (!pq_decompress(codec, copy, len, out, want, &err))
				cr_assert_eq(err.code, LK_ERR_CORRUPT, "codec %d: %s", codec,
							 err.msg);
			free(copy);
		}
		lk_buf_free(&c);
	}
	free(out);
}

Test(compress, gzip_checksum_catches_bit_flips_in_data)
{
	uint8_t src[2000];
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t) rnd();
	lk_buf c = LK_BUF_INIT;
	lk_error err;
	cr_assert(pq_compress(PQ_CODEC_GZIP, 0, src, sizeof(src), &c, &err));
	/* header is 10 bytes, trailer 8 (crc32, size); random data is a stored
	 * block whose first byte has 5 ignored padding bits, so start at 11 */
	uint8_t out[2000];
	for (size_t at = 11; at < c.len; at++) {
		uint8_t *copy = exact_copy(c.data, c.len);
		copy[at] ^= 0x10;
		cr_assert_not(pq_decompress(PQ_CODEC_GZIP, copy, c.len, out, sizeof(out),
									&err), "flip at %zu", at);
		cr_assert_eq(err.code, LK_ERR_CORRUPT);
		free(copy);
	}
	lk_buf_free(&c);
}

Test(compress, gzip_concatenated_members_and_zlib_wrapper)
{
	lk_buf c = LK_BUF_INIT;
	lk_error err;
	cr_assert(pq_compress(PQ_CODEC_GZIP, 0, (const uint8_t *) "hello ", 6, &c, &err));
	cr_assert(pq_compress(PQ_CODEC_GZIP, 0, (const uint8_t *) "", 0, &c, &err));
	cr_assert(pq_compress(PQ_CODEC_GZIP, 0, (const uint8_t *) "world", 5, &c, &err));
	/* gzip magic at the start of the first member */
	cr_assert_eq(c.data[0], 0x1f);
	cr_assert_eq(c.data[1], 0x8b);
	char out[12] = {0};
	cr_assert(pq_decompress(PQ_CODEC_GZIP, c.data, c.len, (uint8_t *) out, 11,
							&err), "%s", err.msg);
	cr_assert_str_eq(out, "hello world");
	/* trailing garbage after the last member is corrupt */
	lk_buf_append(&c, "xyz", 3);
	cr_assert_not(pq_decompress(PQ_CODEC_GZIP, c.data, c.len, (uint8_t *) out,
								11, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	lk_buf_free(&c);

	/* zlib (RFC 1950) wrapper is auto-detected */
	uint8_t z[64];
	uLongf zl = sizeof(z);
	cr_assert_eq(compress2(z, &zl, (const Bytef *) "zlib data", 9, 6), Z_OK);
	char o2[10] = {0};
	cr_assert(pq_decompress(PQ_CODEC_GZIP, z, zl, (uint8_t *) o2, 9, &err));
	cr_assert_str_eq(o2, "zlib data");
}

/* Append one Hadoop LZ4 frame holding src[0..n) as one raw block. */
static void
hadoop_frame(lk_buf *b, const void *src, size_t n)
{
	char block[256];
	int r = LZ4_compress_default(src, block, (int) n, sizeof(block));
	cr_assert_gt(r, 0);
	uint8_t hdr[8] = {(uint8_t) (n >> 24), (uint8_t) (n >> 16), (uint8_t) (n >> 8),
					  (uint8_t) n, (uint8_t) (r >> 24), (uint8_t) (r >> 16),
					  (uint8_t) (r >> 8), (uint8_t) r};
	lk_buf_append(b, hdr, 8);
	lk_buf_append(b, block, (size_t) r);
}

Test(compress, lz4_hadoop_framing)
{
	lk_buf b = LK_BUF_INIT;
	lk_error err;
	hadoop_frame(&b, "first frame, ", 13);
	hadoop_frame(&b, "second frame", 12);
	uint8_t *copy = exact_copy(b.data, b.len);
	char out[26] = {0};
	cr_assert(pq_decompress(PQ_CODEC_LZ4_HADOOP, copy, b.len, (uint8_t *) out,
							25, &err), "%s", err.msg);
	cr_assert_str_eq(out, "first frame, second frame");
	/* wrong total size */
	cr_assert_not(pq_decompress(PQ_CODEC_LZ4_HADOOP, copy, b.len,
								(uint8_t *) out, 24, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	free(copy);

	/* a frame header whose sizes lie, and no valid raw block either */
	uint8_t bad[8 + 16] = {0, 0, 0, 13, 0, 0, 0, 200};
	cr_assert_not(pq_decompress(PQ_CODEC_LZ4_HADOOP, bad, sizeof(bad),
								(uint8_t *) out, 13, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	lk_buf_free(&b);

	/* our own LZ4_HADOOP writer emits one frame: 8-byte big-endian header */
	lk_buf_init(&b);
	cr_assert(pq_compress(PQ_CODEC_LZ4_HADOOP, 0, (const uint8_t *) "abcdefgh", 8,
						  &b, &err));
	cr_assert_eq(b.data[3], 8);
	cr_assert_eq(b.data[7], b.len - 8);
	lk_buf_free(&b);
}

Test(compress, lz4_hadoop_falls_back_to_raw_block)
{
	/* older Arrow writers put a bare LZ4 block under codec LZ4 */
	const char *src = "a raw lz4 block without hadoop framing, repeated, repeated";
	size_t n = strlen(src);
	char block[128];
	int r = LZ4_compress_default(src, block, (int) n, sizeof(block));
	cr_assert_gt(r, 0);
	uint8_t *copy = exact_copy((const uint8_t *) block, (size_t) r);
	char out[128] = {0};
	lk_error err;
	cr_assert(pq_decompress(PQ_CODEC_LZ4_HADOOP, copy, (size_t) r,
							(uint8_t *) out, n, &err), "%s", err.msg);
	cr_assert(memcmp(out, src, n) == 0);
	free(copy);
}

Test(compress, lzo_and_unknown_codecs_are_unsupported)
{
	lk_buf b = LK_BUF_INIT;
	lk_error err;
	uint8_t out[4];
	cr_assert_not(pq_decompress(PQ_CODEC_LZO, (const uint8_t *) "abcd", 4, out, 4,
								&err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert_str_eq(err.msg, "lzo compression is not supported");
	cr_assert_not(pq_compress(PQ_CODEC_LZO, 0, (const uint8_t *) "abcd", 4, &b,
							  &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert_not(pq_decompress(99, (const uint8_t *) "abcd", 4, out, 4, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert(strstr(err.msg, "99") != NULL, "%s", err.msg);
	cr_assert_not(pq_compress(-1, 0, (const uint8_t *) "abcd", 4, &b, &err));
	cr_assert(strstr(err.msg, "-1") != NULL, "%s", err.msg);
	cr_assert_eq(b.len, 0);
	lk_buf_free(&b);
}

Test(compress, empty_payload_for_empty_page)
{
	lk_error err;
	uint8_t out[1] = {0x55};
	for (size_t k = 0; k < N_CODECS; k++) {
		cr_assert(pq_decompress(all_codecs[k], NULL, 0, NULL, 0, &err),
				  "codec %d: %s", all_codecs[k], err.msg);
		/* but zero bytes never stand for one byte */
		cr_assert_not(pq_decompress(all_codecs[k], NULL, 0, out, 1, &err),
					  "codec %d", all_codecs[k]);
		cr_assert_eq(err.code, LK_ERR_CORRUPT);
	}
	cr_assert_eq(out[0], 0x55);
	cr_assert_not(pq_decompress(PQ_CODEC_LZO, NULL, 0, NULL, 0, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
}

Test(compress, appends_to_existing_buffer)
{
	lk_buf b = LK_BUF_INIT;
	lk_error err;
	lk_buf_append(&b, "HDR", 3);
	cr_assert(pq_compress(PQ_CODEC_ZSTD, 0, (const uint8_t *) "zstd payload", 12,
						  &b, &err));
	cr_assert(memcmp(b.data, "HDR", 3) == 0);
	char out[13] = {0};
	cr_assert(pq_decompress(PQ_CODEC_ZSTD, b.data + 3, b.len - 3,
							(uint8_t *) out, 12, &err));
	cr_assert_str_eq(out, "zstd payload");
	lk_buf_free(&b);
}

static void *
zstd_worker(void *arg)
{
	uint8_t src[5000], out[5000];
	uintptr_t seed = (uintptr_t) arg;
	for (int iter = 0; iter < 200; iter++) {
		for (size_t i = 0; i < sizeof(src); i++)
			src[i] = (uint8_t) ((i * seed + (size_t) iter) % 13);
		lk_buf c = LK_BUF_INIT;
		lk_error err;
		if (!pq_compress(PQ_CODEC_ZSTD, 0, src, sizeof(src), &c, &err) ||
			!pq_decompress(PQ_CODEC_ZSTD, c.data, c.len, out, sizeof(out), &err) ||
			memcmp(src, out, sizeof(src)) != 0) {
			lk_buf_free(&c);
			return (void *) 1;
		}
		lk_buf_free(&c);
	}
	return NULL;
}

Test(compress, zstd_contexts_are_per_thread)
{
	pthread_t t[4];
	for (uintptr_t i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, zstd_worker, (void *) (i + 3)), 0);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		cr_assert_null(r, "thread %d failed", i);
	}
}
