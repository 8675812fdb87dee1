/*
 * test_encoding.c — Parquet encodings: exact byte vectors from
 * apache/parquet-format Encodings.md (worked out by hand in the comments),
 * round trips of every encoder/decoder pair, and truncated / corrupt input.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"
#include "parquet/encoding.h"

/* ---- helpers ------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	/* splitmix64: deterministic across runs */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void
assert_bytes(const lk_buf *b, const uint8_t *want, size_t n)
{
	cr_assert_eq(b->len, n, "length %zu, want %zu", b->len, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(b->data[i], want[i], "byte %zu: %02x, want %02x", i,
					 b->data[i], want[i]);
}

/* Copy of p[0..n) in its own malloc block so ASan sees reads past n. */
static uint8_t *
exact_copy(const uint8_t *p, size_t n)
{
	uint8_t *q = malloc(n ? n : 1);
	if (n)
		memcpy(q, p, n);
	return q;
}

/* ---- bit width ----------------------------------------------------------- */

Test(encoding, bit_width)
{
	cr_assert_eq(pq_bit_width(0), 0);
	cr_assert_eq(pq_bit_width(1), 1);
	cr_assert_eq(pq_bit_width(2), 2);
	cr_assert_eq(pq_bit_width(3), 2);
	cr_assert_eq(pq_bit_width(255), 8);
	cr_assert_eq(pq_bit_width(256), 9);
	cr_assert_eq(pq_bit_width(UINT32_MAX), 32);
	cr_assert_eq(pq_bit_width(UINT64_MAX), 64);
}

/* ---- RLE / bit-packed hybrid --------------------------------------------- */

Test(rle, spec_bitpacked_vector)
{
	/* Encodings.md: 0..7 at bit width 3 bit-pack to 10001000 11000110
	 * 11111010; one group → header (1 << 1) | 1 = 3. */
	uint32_t v[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	const uint8_t want[] = {0x03, 0x88, 0xC6, 0xFA};
	lk_buf b = LK_BUF_INIT;
	pq_rle_encode(&b, v, 8, 3);
	assert_bytes(&b, want, sizeof(want));

	uint32_t out[8];
	lk_error err;
	pq_rle_decoder d;
	pq_rle_decoder_init(&d, want, sizeof(want), 3, 0);
	cr_assert(pq_rle_decoder_get(&d, out, 8, &err));
	for (int i = 0; i < 8; i++)
		cr_assert_eq(out[i], (uint32_t) i);
	lk_buf_free(&b);
}

Test(rle, run_vector)
{
	/* 100 x 4 at width 3: header 100 << 1 = 200 = varint C8 01, value in
	 * one byte. */
	uint32_t v[100];
	for (int i = 0; i < 100; i++)
		v[i] = 4;
	const uint8_t want[] = {0xC8, 0x01, 0x04};
	lk_buf b = LK_BUF_INIT;
	pq_rle_encode(&b, v, 100, 3);
	assert_bytes(&b, want, sizeof(want));
	lk_buf_free(&b);

	/* width 17: value in 3 bytes LE */
	for (int i = 0; i < 100; i++)
		v[i] = 0x1ABCD;
	const uint8_t want17[] = {0xC8, 0x01, 0xCD, 0xAB, 0x01};
	lk_buf_init(&b);
	pq_rle_encode(&b, v, 100, 17);
	assert_bytes(&b, want17, sizeof(want17));
	uint32_t out[100];
	lk_error err;
	pq_rle_decoder d;
	pq_rle_decoder_init(&d, b.data, b.len, 17, 0);
	cr_assert(pq_rle_decoder_get(&d, out, 100, &err));
	for (int i = 0; i < 100; i++)
		cr_assert_eq(out[i], 0x1ABCDu);
	lk_buf_free(&b);
}

Test(rle, literals_padded_from_following_run)
{
	/* 1,2,3 then 20 x 5 at width 3: the literals are completed to one group
	 * with five 5s (1,2,3,5,5,5,5,5), then an RLE run of 15 x 5.
	 * bits LSB-first: 100 010 110 101 101 101 101 101
	 *   byte0 = 1,0,0,0,1,0,1,1 = 0xD1
	 *   byte1 = 0,1,0,1,1,0,1,1 = 0xDA
	 *   byte2 = 0,1,1,0,1,1,0,1 = 0xB6
	 * run: header 15 << 1 = 0x1E, value 0x05. */
	uint32_t v[23] = {1, 2, 3};
	for (int i = 3; i < 23; i++)
		v[i] = 5;
	const uint8_t want[] = {0x03, 0xD1, 0xDA, 0xB6, 0x1E, 0x05};
	lk_buf b = LK_BUF_INIT;
	pq_rle_encode(&b, v, 23, 3);
	assert_bytes(&b, want, sizeof(want));
	lk_buf_free(&b);
}

Test(rle, short_repeats_stay_literal_and_tail_is_padded)
{
	/* 7 x 1 then 2 at width 1: no run of 8 → one group 1111111 0 = 0x7F;
	 * 9 values → 2 groups, the second padded with zeros. */
	uint32_t v[9] = {1, 1, 1, 1, 1, 1, 1, 0, 1};
	const uint8_t want[] = {0x05, 0x7F, 0x01};
	lk_buf b = LK_BUF_INIT;
	pq_rle_encode(&b, v, 9, 1);
	assert_bytes(&b, want, sizeof(want));
	lk_buf_free(&b);
}

Test(rle, literal_runs_split_at_63_groups)
{
	/* 1000 alternating values at width 1: 125 groups = 63 + 62 groups:
	 * headers (63 << 1) | 1 = 0x7F and (62 << 1) | 1 = 0x7D. */
	uint32_t v[1000];
	for (int i = 0; i < 1000; i++)
		v[i] = (uint32_t) (i & 1);
	lk_buf b = LK_BUF_INIT;
	pq_rle_encode(&b, v, 1000, 1);
	cr_assert_eq(b.len, 1 + 63 + 1 + 62);
	cr_assert_eq(b.data[0], 0x7F);
	cr_assert_eq(b.data[1], 0xAA);
	cr_assert_eq(b.data[64], 0x7D);
	lk_buf_free(&b);
}

Test(rle, empty_input_encodes_nothing)
{
	lk_buf b = LK_BUF_INIT;
	pq_rle_encode(&b, NULL, 0, 5);
	cr_assert_eq(b.len, 0);
	lk_buf_free(&b);
}

/* Decode `n` values from enc in chunks of random size and compare. */
static void
decode_chunked(const uint8_t *enc, size_t len, int bw, const uint32_t *want,
			   int64_t n)
{
	uint8_t *copy = exact_copy(enc, len);
	uint32_t *out = malloc((size_t) (n + 1) * sizeof(*out));
	lk_error err;
	pq_rle_decoder d;
	pq_rle_decoder_init(&d, copy, len, bw, 1000);
	int64_t at = 0;
	while (at < n) {
		int64_t k = (int64_t) (rnd() % 40);
		if (rnd() % 8 == 0)
			k = (int64_t) (rnd() % 700);
		if (k > n - at)
			k = n - at;
		cr_assert(pq_rle_decoder_get(&d, out + at, k, &err),
				  "bw %d at %lld: %s", bw, (long long) at, err.msg);
		at += k;
	}
	for (int64_t i = 0; i < n; i++)
		cr_assert_eq(out[i], want[i], "bw %d value %lld: %u want %u", bw,
					 (long long) i, out[i], want[i]);
	free(out);
	free(copy);
}

Test(rle, round_trip_every_width)
{
	const int64_t n = 3000;
	uint32_t *v = malloc(n * sizeof(*v));
	for (int bw = 0; bw <= 32; bw++) {
		uint32_t mask = bw == 32 ? 0xffffffffu : (uint32_t) ((1ull << bw) - 1);
		for (int shape = 0; shape < 6; shape++) {
			for (int64_t i = 0; i < n; i++) {
				switch (shape) {
				case 0: /* random */
					v[i] = (uint32_t) rnd() & mask;
					break;
				case 1: /* runs of random length 1..20 */
					v[i] = (i > 0 && rnd() % 12) ? v[i - 1] : (uint32_t) rnd() & mask;
					break;
				case 2: /* all max */
					v[i] = mask;
					break;
				case 3: /* runs of exactly 7 and 8 alternating */
					v[i] = (uint32_t) ((i % 15) < 7 ? i / 15 : ~(i / 15)) & mask;
					break;
				case 4: /* alternating 0 / max */
					v[i] = (i & 1) ? mask : 0;
					break;
				default: /* long runs with single outliers */
					v[i] = (i % 97 == 0) ? ((uint32_t) rnd() & mask) : (mask & 0x55555555u);
					break;
				}
			}
			for (int64_t len = 0; len <= n; len += (len < 70 ? 1 : 977)) {
				lk_buf b = LK_BUF_INIT;
				pq_rle_encode(&b, v, len, bw);
				decode_chunked(b.data, b.len, bw, v, len);
				/* deterministic */
				lk_buf b2 = LK_BUF_INIT;
				pq_rle_encode(&b2, v, len, bw);
				cr_assert_eq(b.len, b2.len);
				cr_assert(b.len == 0 || memcmp(b.data, b2.data, b.len) == 0);
				lk_buf_free(&b2);
				lk_buf_free(&b);
			}
		}
	}
	free(v);
}

Test(rle, compact_for_runs)
{
	/* 1e5 values in 10 runs of 1e4 → ten 4-byte runs at width 10. */
	uint32_t *v = malloc(100000 * sizeof(*v));
	for (int i = 0; i < 100000; i++)
		v[i] = (uint32_t) (i / 10000) * 100;
	lk_buf b = LK_BUF_INIT;
	pq_rle_encode(&b, v, 100000, 10);
	/* header 20000 = varint 3 bytes, value 2 bytes */
	cr_assert_eq(b.len, 10 * 5);
	decode_chunked(b.data, b.len, 10, v, 100000);
	lk_buf_free(&b);
	free(v);
}

Test(rle, width_zero)
{
	lk_error err;
	pq_rle_decoder d;
	uint32_t out[100];

	/* no bytes at all: zeros */
	memset(out, 0xff, sizeof(out));
	pq_rle_decoder_init(&d, NULL, 0, 0, 0);
	cr_assert(pq_rle_decoder_get(&d, out, 100, &err));
	for (int i = 0; i < 100; i++)
		cr_assert_eq(out[i], 0);

	/* a run header of 10 (no value bytes), then exhausted: still zeros */
	const uint8_t run[] = {0x14};
	memset(out, 0xff, sizeof(out));
	pq_rle_decoder_init(&d, run, 1, 0, 0);
	cr_assert(pq_rle_decoder_get(&d, out, 50, &err));
	for (int i = 0; i < 50; i++)
		cr_assert_eq(out[i], 0);

	/* a bit-packed header of 2 groups at width 0 */
	const uint8_t bp[] = {0x05};
	memset(out, 0xff, sizeof(out));
	pq_rle_decoder_init(&d, bp, 1, 0, 0);
	cr_assert(pq_rle_decoder_get(&d, out, 16, &err));
	for (int i = 0; i < 16; i++)
		cr_assert_eq(out[i], 0);

	/* a truncated header is still an error */
	const uint8_t bad[] = {0x80};
	pq_rle_decoder_init(&d, bad, 1, 0, 0);
	cr_assert_not(pq_rle_decoder_get(&d, out, 1, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
}

Test(rle, count_zero_needs_nothing)
{
	lk_error err;
	pq_rle_decoder d;
	uint32_t out[1] = {42};
	pq_rle_decoder_init(&d, NULL, 0, 7, 0);
	cr_assert(pq_rle_decoder_get(&d, out, 0, &err));
	cr_assert_eq(out[0], 42);
	cr_assert_not(pq_rle_decoder_get(&d, out, 1, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
}

Test(rle, bitpacked_run_longer_than_data)
{
	/* header: 2 groups (16 values) at width 8, but only 9 bytes follow:
	 * 9 values exist; the 10th is an error. */
	uint8_t *p = malloc(10);
	p[0] = 0x05;
	for (int i = 1; i < 10; i++)
		p[i] = (uint8_t) (10 * i);
	lk_error err;
	pq_rle_decoder d;
	uint32_t out[16];
	pq_rle_decoder_init(&d, p, 10, 8, 500);
	cr_assert(pq_rle_decoder_get(&d, out, 3, &err));
	cr_assert(pq_rle_decoder_get(&d, out + 3, 6, &err));
	for (int i = 0; i < 9; i++)
		cr_assert_eq(out[i], (uint32_t) (10 * (i + 1)));
	cr_assert_not(pq_rle_decoder_get(&d, out + 9, 1, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert_str_eq(err.where, "byte offset 510");
	free(p);
}

Test(rle, last_group_padding_is_fine)
{
	/* 3 values in one padded group: asking for 3 works. */
	uint32_t v[3] = {5, 6, 7};
	lk_buf b = LK_BUF_INIT;
	pq_rle_encode(&b, v, 3, 3);
	cr_assert_eq(b.len, 4);
	decode_chunked(b.data, b.len, 3, v, 3);
	lk_buf_free(&b);
}

Test(rle, truncated_at_every_length)
{
	const int64_t n = 600;
	uint32_t v[600];
	for (int bw = 1; bw <= 32; bw += 3) {
		uint32_t mask = bw == 32 ? 0xffffffffu : (uint32_t) ((1ull << bw) - 1);
		for (int64_t i = 0; i < n; i++)
			v[i] = (i % 50 < 20) ? 3 & mask : (uint32_t) rnd() & mask;
		lk_buf b = LK_BUF_INIT;
		pq_rle_encode(&b, v, n, bw);
		for (size_t len = 0; len < b.len; len++) {
			uint8_t *copy = exact_copy(b.data, len);
			uint32_t out[600];
			lk_error err;
			pq_rle_decoder d;
			pq_rle_decoder_init(&d, copy, len, bw, 0);
			bool ok = pq_rle_decoder_get(&d, out, n, &err);
			/* only the zero padding of the last group may be cut off */
			if (ok) {
				cr_assert_geq(len * 8, b.len * 8 - (size_t) (2 * bw),
							  "bw %d len %zu of %zu decoded", bw, len, b.len);
				for (int64_t i = 0; i < n; i++)
					cr_assert_eq(out[i], v[i]);
			} else {
				cr_assert_eq(err.code, LK_ERR_CORRUPT);
			}
			free(copy);
		}
		lk_buf_free(&b);
	}
}

Test(rle, garbage_never_crashes)
{
	uint8_t buf[64];
	uint32_t out[2000];
	for (int iter = 0; iter < 3000; iter++) {
		size_t len = rnd() % sizeof(buf);
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t) rnd();
		uint8_t *copy = exact_copy(buf, len);
		int bw = (int) (rnd() % 33);
		lk_error err;
		pq_rle_decoder d;
		pq_rle_decoder_init(&d, copy, len, bw, 0);
		int64_t want = (int64_t) (rnd() % 2000);
		bool ok = pq_rle_decoder_get(&d, out, want, &err);
		if (!ok)
			cr_assert_eq(err.code, LK_ERR_CORRUPT);
		free(copy);
	}
}

/* ---- legacy BIT_PACKED --------------------------------------------------- */

/* MSB-first packer (the test's own, written from the spec's description). */
static size_t
legacy_pack(uint8_t *dst, const uint32_t *v, int n, int bw)
{
	size_t bits = 0;
	size_t bytes = ((size_t) n * (size_t) bw + 7) / 8;
	memset(dst, 0, bytes);
	for (int i = 0; i < n; i++)
		for (int k = bw - 1; k >= 0; k--, bits++)
			if ((v[i] >> k) & 1)
				dst[bits / 8] |= (uint8_t) (0x80 >> (bits % 8));
	return bytes;
}

Test(bitpacked_legacy, spec_vector)
{
	/* Encodings.md: 0..7 at width 3 → 00000101 00111001 01110111 */
	const uint8_t enc[] = {0x05, 0x39, 0x77};
	uint32_t out[8];
	lk_error err;
	cr_assert(pq_bitpacked_legacy_decode(enc, 3, 3, out, 8, 0, &err));
	for (int i = 0; i < 8; i++)
		cr_assert_eq(out[i], (uint32_t) i);
	/* the test packer agrees with the spec */
	uint32_t v[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	uint8_t mine[3];
	cr_assert_eq(legacy_pack(mine, v, 8, 3), 3);
	cr_assert(memcmp(mine, enc, 3) == 0);
}

Test(bitpacked_legacy, round_trip_and_truncation)
{
	uint32_t v[101], out[101];
	uint8_t enc[101 * 4];
	for (int bw = 0; bw <= 32; bw++) {
		uint32_t mask = bw == 32 ? 0xffffffffu : (uint32_t) ((1ull << bw) - 1);
		for (int i = 0; i < 101; i++)
			v[i] = (uint32_t) rnd() & mask;
		size_t len = legacy_pack(enc, v, 101, bw);
		lk_error err;
		uint8_t *copy = exact_copy(enc, len);
		cr_assert(pq_bitpacked_legacy_decode(copy, len, bw, out, 101, 0, &err));
		for (int i = 0; i < 101; i++)
			cr_assert_eq(out[i], v[i], "bw %d value %d", bw, i);
		free(copy);
		if (bw > 0) {
			copy = exact_copy(enc, len - 1);
			cr_assert_not(pq_bitpacked_legacy_decode(copy, len - 1, bw, out, 101,
													 0, &err));
			cr_assert_eq(err.code, LK_ERR_CORRUPT);
			free(copy);
		}
	}
}

/* ---- PLAIN --------------------------------------------------------------- */

Test(plain, fixed)
{
	const uint8_t enc[] = {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 9};
	int32_t out[2];
	size_t used;
	lk_error err;
	cr_assert(pq_plain_decode_fixed(enc, 9, 4, 2, out, &used, 0, &err));
	cr_assert_eq(out[0], 1);
	cr_assert_eq(out[1], -1);
	cr_assert_eq(used, 8);
	cr_assert_not(pq_plain_decode_fixed(enc, 9, 4, 3, out, &used, 0, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	/* a count whose byte size overflows */
	cr_assert_not(pq_plain_decode_fixed(enc, 9, 12, INT64_MAX / 4, out, &used,
										0, &err));
	cr_assert(pq_plain_decode_fixed(enc, 0, 4, 0, out, &used, 0, &err));
	cr_assert_eq(used, 0);
}

Test(plain, bool_exact_and_round_trip)
{
	/* 1,0,1,1,0,0,0,0 | 1 → 0x0D 0x01 */
	const uint8_t v[9] = {1, 0, 1, 1, 0, 0, 0, 0, 1};
	const uint8_t want[] = {0x0D, 0x01};
	lk_buf b = LK_BUF_INIT;
	pq_plain_encode_bool(&b, v, 9);
	assert_bytes(&b, want, 2);
	lk_buf_free(&b);

	uint8_t in[1001], out[1001];
	for (int n = 0; n <= 1001; n += (n < 40 ? 1 : 97)) {
		for (int i = 0; i < n; i++)
			in[i] = (uint8_t) (rnd() & 1);
		lk_buf_init(&b);
		pq_plain_encode_bool(&b, in, n);
		cr_assert_eq(b.len, (size_t) (n + 7) / 8);
		lk_error err;
		size_t used;
		uint8_t *copy = exact_copy(b.data, b.len);
		cr_assert(pq_plain_decode_bool(copy, b.len, n, out, &used, 0, &err));
		cr_assert_eq(used, b.len);
		for (int i = 0; i < n; i++)
			cr_assert_eq(out[i], in[i], "n %d value %d", n, i);
		if (n > 0)
			cr_assert_not(pq_plain_decode_bool(copy, b.len - 1, n, out, &used, 0,
											   &err));
		free(copy);
		lk_buf_free(&b);
	}
}

Test(plain, byte_array)
{
	lk_buf b = LK_BUF_INIT;
	pq_plain_encode_byte_array(&b, "ab", 2);
	pq_plain_encode_byte_array(&b, "", 0);
	pq_plain_encode_byte_array(&b, "xyz", 3);
	const uint8_t want[] = {2, 0, 0, 0, 'a', 'b', 0, 0, 0, 0, 3, 0, 0, 0,
							'x', 'y', 'z'};
	assert_bytes(&b, want, sizeof(want));
	pq_byte_view out[3];
	size_t used;
	lk_error err;
	cr_assert(pq_plain_decode_byte_array(b.data, b.len, 3, out, &used, 0, &err));
	cr_assert_eq(used, b.len);
	cr_assert_eq(out[0].len, 2);
	cr_assert(memcmp(out[0].ptr, "ab", 2) == 0);
	cr_assert_eq(out[1].len, 0);
	cr_assert_eq(out[2].len, 3);
	cr_assert(memcmp(out[2].ptr, "xyz", 3) == 0);
	cr_assert_eq(out[2].ptr, b.data + 14);
	for (size_t len = 0; len < b.len; len++) {
		uint8_t *copy = exact_copy(b.data, len);
		cr_assert_not(pq_plain_decode_byte_array(copy, len, 3, out, &used, 40,
												 &err));
		cr_assert_eq(err.code, LK_ERR_CORRUPT);
		free(copy);
	}
	/* a length of 4 GiB - 1 in a short buffer */
	const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 1};
	cr_assert_not(pq_plain_decode_byte_array(huge, 5, 1, out, &used, 0, &err));
	lk_buf_free(&b);
}

/* ---- DELTA_BINARY_PACKED ------------------------------------------------- */

Test(delta_bp, spec_example_1_to_5)
{
	/* 1,2,3,4,5: deltas 1,1,1,1 → min delta 1, all relative deltas 0, bit
	 * width 0. header: 128 = 80 01, 4 miniblocks, 5 values, first 1 →
	 * zigzag 2; block: min delta zigzag 2, widths 0 0 0 0, no body bytes. */
	const uint8_t want[] = {0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0, 0, 0, 0};
	int64_t v[5] = {1, 2, 3, 4, 5};
	lk_buf b = LK_BUF_INIT;
	pq_delta_bp_encode_i64(&b, v, 5);
	assert_bytes(&b, want, sizeof(want));

	int64_t out[5];
	size_t used;
	lk_error err;
	cr_assert(pq_delta_bp_decode_i64(want, sizeof(want), 5, out, &used, 0, &err));
	cr_assert_eq(used, sizeof(want));
	for (int i = 0; i < 5; i++)
		cr_assert_eq(out[i], v[i]);
	int32_t v32[5] = {1, 2, 3, 4, 5}, o32[5];
	lk_buf_reset(&b);
	pq_delta_bp_encode_i32(&b, v32, 5);
	assert_bytes(&b, want, sizeof(want));
	cr_assert(pq_delta_bp_decode_i32(want, sizeof(want), 5, o32, &used, 0, &err));
	for (int i = 0; i < 5; i++)
		cr_assert_eq(o32[i], v32[i]);
	lk_buf_free(&b);
}

Test(delta_bp, spec_example_7_5_3_1_2_3_4_5)
{
	/* deltas -2,-2,-2,1,1,1,1 → min -2 (zigzag 3), relative 0,0,0,3,3,3,3
	 * → width 2; first 7 → zigzag 14 = 0x0E. Miniblock 1: 32 x 2 bits =
	 * 8 bytes: 00 00 00 11 | 11 11 11 00 (pad) → 0xC0 0x3F, then zeros. */
	const uint8_t want[] = {0x80, 0x01, 0x04, 0x08, 0x0E, 0x03, 0x02, 0, 0, 0,
							0xC0, 0x3F, 0, 0, 0, 0, 0, 0};
	int64_t v[8] = {7, 5, 3, 1, 2, 3, 4, 5};
	lk_buf b = LK_BUF_INIT;
	pq_delta_bp_encode_i64(&b, v, 8);
	assert_bytes(&b, want, sizeof(want));
	int64_t out[8];
	size_t used;
	lk_error err;
	cr_assert(pq_delta_bp_decode_i64(want, sizeof(want), 8, out, &used, 0, &err));
	cr_assert_eq(used, sizeof(want));
	for (int i = 0; i < 8; i++)
		cr_assert_eq(out[i], v[i]);
	lk_buf_free(&b);
}

Test(delta_bp, other_block_shapes_decode)
{
	/* block 128 with one miniblock of 128 (width 1): values 0,1,2 →
	 * header 80 01 01 03 00; min delta 0; width 1; 16 body bytes, deltas
	 * 1,1 → 0x03. Then a trailing byte that is not ours. */
	uint8_t enc[5 + 1 + 1 + 16 + 1] = {0x80, 0x01, 0x01, 0x03, 0x00, 0x00, 0x01,
									   0x03};
	enc[sizeof(enc) - 1] = 0xEE;
	int64_t out[3];
	size_t used;
	lk_error err;
	cr_assert(pq_delta_bp_decode_i64(enc, sizeof(enc), 3, out, &used, 0, &err));
	cr_assert_eq(used, sizeof(enc) - 1);
	cr_assert_eq(out[0], 0);
	cr_assert_eq(out[1], 1);
	cr_assert_eq(out[2], 2);

	/* block 256, 8 miniblocks of 32, 40 values: two miniblocks used at
	 * width 0 (constant delta 5), six unused widths with garbage values
	 * (readers must accept them). */
	const uint8_t enc2[] = {0x80, 0x02, 0x08, 0x28, 0x00, 0x0A, 0, 0,
							0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	int64_t out2[40];
	cr_assert(pq_delta_bp_decode_i64(enc2, sizeof(enc2), 40, out2, &used, 0, &err));
	cr_assert_eq(used, sizeof(enc2));
	for (int i = 0; i < 40; i++)
		cr_assert_eq(out2[i], 5 * i);
}

Test(delta_bp, trailing_miniblocks_absent_and_consumed_exact)
{
	/* 10 values: one block, widths for 4 miniblocks, body only for the
	 * first. With a trailing byte appended, consumed stops before it. */
	int64_t v[10];
	for (int i = 0; i < 10; i++)
		v[i] = i * i;
	lk_buf b = LK_BUF_INIT;
	pq_delta_bp_encode_i64(&b, v, 10);
	/* deltas 1,3,..,17 min 1 → relative max 16 → width 5 → 20 bytes */
	cr_assert_eq(b.len, 5 + 1 + 4 + 20);
	cr_assert_eq(b.data[6], 5);
	cr_assert_eq(b.data[7], 0);
	size_t full = b.len;
	lk_buf_append_byte(&b, 0x77);
	int64_t out[10];
	size_t used;
	lk_error err;
	cr_assert(pq_delta_bp_decode_i64(b.data, b.len, 10, out, &used, 0, &err));
	cr_assert_eq(used, full);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(out[i], v[i]);
	lk_buf_free(&b);
}

static void
dbp_round_trip_i64(const int64_t *v, int64_t n)
{
	lk_buf b = LK_BUF_INIT;
	pq_delta_bp_encode_i64(&b, v, n);
	lk_buf_append_byte(&b, 0xAB); /* next section's byte */
	uint8_t *copy = exact_copy(b.data, b.len);
	int64_t *out = malloc((size_t) (n + 1) * sizeof(*out));
	size_t used;
	lk_error err;
	cr_assert(pq_delta_bp_decode_i64(copy, b.len, n, out, &used, 0, &err),
			  "n %lld: %s", (long long) n, err.msg);
	cr_assert_eq(used, b.len - 1);
	for (int64_t i = 0; i < n; i++)
		cr_assert_eq(out[i], v[i], "n %lld value %lld: %lld want %lld",
					 (long long) n, (long long) i, (long long) out[i],
					 (long long) v[i]);
	free(out);
	free(copy);
	lk_buf_free(&b);
}

static void
dbp_round_trip_i32(const int32_t *v, int64_t n)
{
	lk_buf b = LK_BUF_INIT;
	pq_delta_bp_encode_i32(&b, v, n);
	/* every width byte of the int32 encoding is <= 32 */
	lk_buf_append_byte(&b, 0xAB);
	uint8_t *copy = exact_copy(b.data, b.len);
	int32_t *out = malloc((size_t) (n + 1) * sizeof(*out));
	size_t used;
	lk_error err;
	cr_assert(pq_delta_bp_decode_i32(copy, b.len, n, out, &used, 0, &err),
			  "n %lld: %s", (long long) n, err.msg);
	cr_assert_eq(used, b.len - 1);
	for (int64_t i = 0; i < n; i++)
		cr_assert_eq(out[i], v[i], "n %lld value %lld", (long long) n,
					 (long long) i);
	free(out);
	free(copy);
	lk_buf_free(&b);
}

Test(delta_bp, round_trips)
{
	static const int64_t sizes[] = {0, 1, 2, 3, 31, 32, 33, 127, 128, 129, 130,
									255, 256, 257, 1000, 4097};
	int64_t *v = malloc(4097 * sizeof(*v));
	int32_t *w = malloc(4097 * sizeof(*w));
	for (int shape = 0; shape < 8; shape++) {
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			int64_t n = sizes[s];
			for (int64_t i = 0; i < n; i++) {
				switch (shape) {
				case 0: v[i] = (int64_t) rnd(); break;
				case 1: v[i] = (int64_t) (rnd() % 1000) - 500; break;
				case 2: v[i] = (i & 1) ? INT64_MAX : INT64_MIN; break;
				case 3: v[i] = 1000000 + 7 * i; break;
				case 4: v[i] = INT64_MAX - (int64_t) (rnd() % 3); break;
				case 5: v[i] = (int64_t) (rnd() >> (rnd() % 64)); break;
				case 6: v[i] = (i % 3 == 0) ? INT64_MIN : (i % 3 == 1 ? 0 : INT64_MAX); break;
				default: v[i] = -i * 1000003; break;
				}
				w[i] = (int32_t) v[i];
				if (shape == 2)
					w[i] = (i & 1) ? INT32_MAX : INT32_MIN;
				if (shape == 4)
					w[i] = INT32_MAX - (int32_t) (rnd() % 3);
			}
			dbp_round_trip_i64(v, n);
			dbp_round_trip_i32(w, n);
		}
	}
	free(v);
	free(w);
}

Test(delta_bp, extreme_deltas_use_width_64)
{
	int64_t v[3] = {INT64_MIN, INT64_MAX, INT64_MIN};
	lk_buf b = LK_BUF_INIT;
	pq_delta_bp_encode_i64(&b, v, 3);
	/* deltas -1 (wrapped) and +1: min -1, relative 0 and 2 → width 2 */
	cr_assert_eq(b.data[b.len - 8 - 4], 2);
	lk_buf_free(&b);
	int64_t u[3] = {0, INT64_MAX, INT64_MIN + 1};
	/* deltas INT64_MAX and 2 (wrapping): min 2, relative INT64_MAX-2, 0 */
	dbp_round_trip_i64(u, 3);
	int64_t x[4] = {0, INT64_MIN, 0, INT64_MIN};
	/* deltas INT64_MIN, INT64_MIN, INT64_MIN: all equal, width 0 */
	dbp_round_trip_i64(x, 4);
	int64_t y[3] = {-1, INT64_MAX, -1};
	/* deltas INT64_MIN (wrapped), INT64_MIN: fine; plus a width-64 case: */
	dbp_round_trip_i64(y, 3);
	int64_t z[3] = {0, INT64_MIN, -1};
	/* deltas INT64_MIN and INT64_MAX → relative UINT64_MAX → width 64 */
	lk_buf_init(&b);
	pq_delta_bp_encode_i64(&b, z, 3);
	cr_assert_eq(b.data[b.len - 32 * 8 - 4], 64);
	lk_buf_free(&b);
	dbp_round_trip_i64(z, 3);
	int32_t w[3] = {0, INT32_MIN, -1};
	lk_buf_init(&b);
	pq_delta_bp_encode_i32(&b, w, 3);
	cr_assert_eq(b.data[b.len - 32 * 4 - 4], 32);
	lk_buf_free(&b);
	dbp_round_trip_i32(w, 3);
}

Test(delta_bp, truncated_at_every_length)
{
	int64_t v[300];
	for (int i = 0; i < 300; i++)
		v[i] = (int64_t) (rnd() % 100000);
	lk_buf b = LK_BUF_INIT;
	pq_delta_bp_encode_i64(&b, v, 300);
	for (size_t len = 0; len < b.len; len++) {
		uint8_t *copy = exact_copy(b.data, len);
		int64_t out[300];
		size_t used;
		lk_error err;
		cr_assert_not(pq_delta_bp_decode_i64(copy, len, 300, out, &used, 0, &err),
					  "len %zu", len);
		cr_assert_eq(err.code, LK_ERR_CORRUPT);
		free(copy);
	}
	lk_buf_free(&b);
}

Test(delta_bp, invalid_headers)
{
	int64_t out[4];
	int32_t o32[4];
	size_t used;
	lk_error err;
	/* block size 100 */
	const uint8_t a[] = {0x64, 0x04, 0x02, 0x00, 0x00, 0, 0, 0, 0};
	cr_assert_not(pq_delta_bp_decode_i64(a, sizeof(a), 2, out, &used, 0, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	/* 3 miniblocks in 128 */
	const uint8_t b[] = {0x80, 0x01, 0x03, 0x02, 0x00, 0x00, 0, 0, 0};
	cr_assert_not(pq_delta_bp_decode_i64(b, sizeof(b), 2, out, &used, 0, &err));
	/* 8 miniblocks of 16 */
	const uint8_t c[] = {0x80, 0x01, 0x08, 0x02, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0};
	cr_assert_not(pq_delta_bp_decode_i64(c, sizeof(c), 2, out, &used, 0, &err));
	/* zero miniblocks */
	const uint8_t d[] = {0x80, 0x01, 0x00, 0x02, 0x00};
	cr_assert_not(pq_delta_bp_decode_i64(d, sizeof(d), 2, out, &used, 0, &err));
	/* width 65 */
	uint8_t e[5 + 1 + 4 + 300] = {0x80, 0x01, 0x04, 0x02, 0x00, 0x00, 65};
	cr_assert_not(pq_delta_bp_decode_i64(e, sizeof(e), 2, out, &used, 0, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	/* width 33 for int32 (DuckDB writes it) wraps to 32 bits; fine for int64 */
	e[6] = 33;
	e[10] = 3; /* first packed delta = 3; min delta 0, first value 0 */
	cr_assert(pq_delta_bp_decode_i32(e, sizeof(e), 2, o32, &used, 0, &err));
	cr_assert_eq(o32[1], 3);
	cr_assert_eq(used, 5 + 1 + 4 + 33 * 4);
	cr_assert(pq_delta_bp_decode_i64(e, sizeof(e), 2, out, &used, 0, &err));
	cr_assert_eq(out[1], 3);
	cr_assert_eq(used, 5 + 1 + 4 + 33 * 4);
	/* header says 2 values, 3 asked */
	cr_assert_not(pq_delta_bp_decode_i64(e, sizeof(e), 3, out, &used, 0, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	/* count 0 with total 0 is just the header */
	const uint8_t f[] = {0x80, 0x01, 0x04, 0x00, 0x00};
	cr_assert(pq_delta_bp_decode_i64(f, sizeof(f), 0, out, &used, 0, &err));
	cr_assert_eq(used, 5);
	/* an enormous total with width-0 blocks runs out of bytes, not time */
	const uint8_t g[] = {0x80, 0x01, 0x04, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
						 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0, 0, 0, 0};
	cr_assert_not(pq_delta_bp_decode_i64(g, sizeof(g), 1, out, &used, 0, &err));
}

Test(delta_bp, fewer_values_than_header_consumes_all)
{
	int64_t v[300];
	for (int i = 0; i < 300; i++)
		v[i] = i * 3 - 7;
	lk_buf b = LK_BUF_INIT;
	pq_delta_bp_encode_i64(&b, v, 300);
	int64_t out[300];
	size_t used;
	lk_error err;
	cr_assert(pq_delta_bp_decode_i64(b.data, b.len, 10, out, &used, 0, &err));
	cr_assert_eq(used, b.len);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(out[i], v[i]);
	lk_buf_free(&b);
}

/* ---- DELTA_LENGTH_BYTE_ARRAY --------------------------------------------- */

Test(delta_length, spec_example)
{
	/* Encodings.md: "Hello", "World", "Foobar", "ABCDEF" →
	 * DeltaEncoding(5, 5, 6, 6) "HelloWorldFoobarABCDEF".
	 * DBP(5,5,6,6): 80 01 04 04, first 5 → 0A; deltas 0,1,0 → min 0 (00),
	 * relative 0,1,0 → width 1; widths 01 00 00 00; body 4 bytes 02 00 00 00. */
	const uint8_t head[] = {0x80, 0x01, 0x04, 0x04, 0x0A, 0x00, 0x01, 0, 0, 0,
							0x02, 0, 0, 0};
	const char *s[4] = {"Hello", "World", "Foobar", "ABCDEF"};
	pq_byte_view v[4];
	for (int i = 0; i < 4; i++)
		v[i] = (pq_byte_view){(const uint8_t *) s[i], (uint32_t) strlen(s[i])};
	lk_buf b = LK_BUF_INIT;
	pq_delta_length_encode(&b, v, 4);
	uint8_t want[sizeof(head) + 22];
	memcpy(want, head, sizeof(head));
	memcpy(want + sizeof(head), "HelloWorldFoobarABCDEF", 22);
	assert_bytes(&b, want, sizeof(want));

	pq_byte_view out[4];
	size_t used;
	lk_error err;
	cr_assert(pq_delta_length_decode(want, sizeof(want), 4, out, &used, 0, &err));
	cr_assert_eq(used, sizeof(want));
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(out[i].len, strlen(s[i]));
		cr_assert(memcmp(out[i].ptr, s[i], out[i].len) == 0);
	}
	cr_assert_eq(out[0].ptr, want + sizeof(head));
	lk_buf_free(&b);
}

static void
random_strings(pq_byte_view *v, uint8_t *pool, int n, int shape)
{
	uint8_t *p = pool;
	for (int i = 0; i < n; i++) {
		uint32_t len;
		switch (shape) {
		case 0: len = (uint32_t) (rnd() % 20); break;
		case 1: len = 0; break;
		default: len = (uint32_t) (rnd() % 300); break;
		}
		if (shape == 3 && i > 0 && rnd() % 2) {
			/* share a prefix with the previous value */
			uint32_t pl = v[i - 1].len ? (uint32_t) (rnd() % (v[i - 1].len + 1)) : 0;
			memcpy(p, v[i - 1].ptr, pl);
			for (uint32_t k = pl; k < len; k++)
				p[k] = (uint8_t) ('a' + rnd() % 3);
			if (len < pl)
				len = pl;
		} else {
			for (uint32_t k = 0; k < len; k++)
				p[k] = (uint8_t) ('a' + rnd() % 3);
		}
		v[i].ptr = p;
		v[i].len = len;
		p += len;
	}
}

Test(delta_length, round_trips_and_truncation)
{
	static pq_byte_view v[700], out[700];
	uint8_t *pool = malloc(700 * 300);
	for (int shape = 0; shape < 4; shape++) {
		for (int n = 0; n <= 700; n += (n < 10 ? 1 : 173)) {
			random_strings(v, pool, n, shape);
			lk_buf b = LK_BUF_INIT;
			pq_delta_length_encode(&b, v, n);
			lk_buf_append_byte(&b, 0x5A);
			uint8_t *copy = exact_copy(b.data, b.len);
			size_t used;
			lk_error err;
			cr_assert(pq_delta_length_decode(copy, b.len, n, out, &used, 0, &err),
					  "%s", err.msg);
			cr_assert_eq(used, b.len - 1);
			for (int i = 0; i < n; i++) {
				cr_assert_eq(out[i].len, v[i].len);
				cr_assert(out[i].len == 0 ||
						  memcmp(out[i].ptr, v[i].ptr, v[i].len) == 0);
				cr_assert(out[i].ptr >= copy && out[i].ptr <= copy + b.len);
			}
			free(copy);
			if (n == 10 && shape == 2)
				for (size_t len = 0; len < b.len - 1; len++) {
					copy = exact_copy(b.data, len);
					cr_assert_not(pq_delta_length_decode(copy, len, n, out, &used,
														 0, &err));
					free(copy);
				}
			lk_buf_free(&b);
		}
	}
	free(pool);
}

Test(delta_length, negative_and_oversized_lengths)
{
	int32_t lens[2] = {3, -1};
	lk_buf b = LK_BUF_INIT;
	pq_delta_bp_encode_i32(&b, lens, 2);
	lk_buf_append(&b, "abcdef", 6);
	pq_byte_view out[2];
	size_t used;
	lk_error err;
	cr_assert_not(pq_delta_length_decode(b.data, b.len, 2, out, &used, 0, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	lk_buf_reset(&b);
	int32_t big[2] = {3, INT32_MAX};
	pq_delta_bp_encode_i32(&b, big, 2);
	lk_buf_append(&b, "abcdef", 6);
	cr_assert_not(pq_delta_length_decode(b.data, b.len, 2, out, &used, 0, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	lk_buf_free(&b);
}

/* ---- DELTA_BYTE_ARRAY ---------------------------------------------------- */

Test(delta_byte_array, spec_example)
{
	/* Encodings.md: axis, axle, babble, babyhood → prefix lengths 0,2,0,3,
	 * suffixes axis, le, babble, yhood.
	 * DBP(0,2,0,3): 80 01 04 04 00; deltas 2,-2,3 → min -2 (zigzag 03),
	 *   relative 4,0,5 → width 3; widths 03 00 00 00; 12 body bytes:
	 *   100 000 101 → 0x44 0x01 then zeros.
	 * DBP(4,2,6,5): 80 01 04 04 08; deltas -2,4,-1 → min -2 (03),
	 *   relative 0,6,1 → width 3; widths 03 00 00 00; 000 011 100 → 0x70 0x00.
	 * then "axislebabbleyhood". */
	uint8_t want[5 + 1 + 4 + 12 + 5 + 1 + 4 + 12 + 17] = {
		0x80, 0x01, 0x04, 0x04, 0x00, 0x03, 0x03, 0, 0, 0, 0x44, 0x01};
	uint8_t *q = want + 22;
	const uint8_t second[] = {0x80, 0x01, 0x04, 0x04, 0x08, 0x03, 0x03, 0, 0, 0,
							  0x70};
	memcpy(q, second, sizeof(second));
	memcpy(q + 22, "axislebabbleyhood", 17);

	const char *s[4] = {"axis", "axle", "babble", "babyhood"};
	pq_byte_view v[4];
	for (int i = 0; i < 4; i++)
		v[i] = (pq_byte_view){(const uint8_t *) s[i], (uint32_t) strlen(s[i])};
	lk_buf b = LK_BUF_INIT;
	pq_delta_byte_array_encode(&b, v, 4);
	assert_bytes(&b, want, sizeof(want));

	lk_arena a;
	lk_arena_init(&a, 0);
	pq_byte_view out[4];
	size_t used;
	lk_error err;
	cr_assert(pq_delta_byte_array_decode(want, sizeof(want), 4, out, &a, &used,
										 0, &err), "%s", err.msg);
	cr_assert_eq(used, sizeof(want));
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(out[i].len, strlen(s[i]));
		cr_assert(memcmp(out[i].ptr, s[i], out[i].len) == 0, "value %d", i);
	}
	lk_arena_free(&a);
	lk_buf_free(&b);
}

Test(delta_byte_array, round_trips_and_truncation)
{
	static pq_byte_view v[700], out[700];
	uint8_t *pool = malloc(700 * 300);
	lk_arena a;
	lk_arena_init(&a, 0);
	for (int shape = 0; shape < 4; shape++) {
		for (int n = 0; n <= 700; n += (n < 10 ? 1 : 173)) {
			random_strings(v, pool, n, shape);
			lk_buf b = LK_BUF_INIT;
			pq_delta_byte_array_encode(&b, v, n);
			lk_buf_append_byte(&b, 0x5A);
			uint8_t *copy = exact_copy(b.data, b.len);
			size_t used;
			lk_error err;
			cr_assert(pq_delta_byte_array_decode(copy, b.len, n, out, &a, &used,
												 0, &err), "%s", err.msg);
			cr_assert_eq(used, b.len - 1);
			for (int i = 0; i < n; i++) {
				cr_assert_eq(out[i].len, v[i].len, "shape %d n %d value %d",
							 shape, n, i);
				cr_assert(out[i].len == 0 ||
						  memcmp(out[i].ptr, v[i].ptr, v[i].len) == 0);
			}
			free(copy);
			if (n == 10 && shape == 3)
				for (size_t len = 0; len < b.len - 1; len++) {
					copy = exact_copy(b.data, len);
					cr_assert_not(pq_delta_byte_array_decode(copy, len, n, out, &a,
															 &used, 0, &err));
					free(copy);
				}
			lk_buf_free(&b);
			lk_arena_reset(&a);
		}
	}
	lk_arena_free(&a);
	free(pool);
}

Test(delta_byte_array, repeated_values_share_memory)
{
	pq_byte_view v[1000], out[1000];
	for (int i = 0; i < 1000; i++)
		v[i] = (pq_byte_view){(const uint8_t *) "same-value", 10};
	lk_buf b = LK_BUF_INIT;
	pq_delta_byte_array_encode(&b, v, 1000);
	lk_arena a;
	lk_arena_init(&a, 0);
	size_t used;
	lk_error err;
	cr_assert(pq_delta_byte_array_decode(b.data, b.len, 1000, out, &a, &used, 0,
										 &err));
	for (int i = 0; i < 1000; i++) {
		cr_assert_eq(out[i].len, 10);
		cr_assert(memcmp(out[i].ptr, "same-value", 10) == 0);
	}
	/* nothing had to be copied */
	cr_assert_eq(a.total, 0);
	lk_arena_free(&a);
	lk_buf_free(&b);
}

Test(delta_byte_array, prefix_longer_than_previous_is_corrupt)
{
	int32_t prefix[2] = {0, 4};
	pq_byte_view suffix[2] = {{(const uint8_t *) "abc", 3},
							  {(const uint8_t *) "d", 1}};
	lk_buf b = LK_BUF_INIT;
	pq_delta_bp_encode_i32(&b, prefix, 2);
	pq_delta_length_encode(&b, suffix, 2);
	lk_arena a;
	lk_arena_init(&a, 0);
	pq_byte_view out[2];
	size_t used;
	lk_error err;
	cr_assert_not(pq_delta_byte_array_decode(b.data, b.len, 2, out, &a, &used, 0,
											 &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	/* the first value may have no prefix */
	lk_buf_reset(&b);
	prefix[0] = 1;
	prefix[1] = 0;
	pq_delta_bp_encode_i32(&b, prefix, 2);
	pq_delta_length_encode(&b, suffix, 2);
	cr_assert_not(pq_delta_byte_array_decode(b.data, b.len, 2, out, &a, &used, 0,
											 &err));
	/* negative prefix */
	lk_buf_reset(&b);
	prefix[0] = 0;
	prefix[1] = -1;
	pq_delta_bp_encode_i32(&b, prefix, 2);
	pq_delta_length_encode(&b, suffix, 2);
	cr_assert_not(pq_delta_byte_array_decode(b.data, b.len, 2, out, &a, &used, 0,
											 &err));
	lk_arena_free(&a);
	lk_buf_free(&b);
}

Test(delta_byte_array, expansion_is_bounded)
{
	/* 2^20 values of 2049 bytes, each sharing 2048 with the previous one:
	 * ~2 GiB when rebuilt, from ~1 MiB of input → refused, not allocated. */
	const int64_t n = 1 << 20;
	int32_t *prefix = malloc(n * sizeof(*prefix));
	pq_byte_view *suffix = malloc(n * sizeof(*suffix));
	static uint8_t big[2048];
	memset(big, 'x', sizeof(big));
	prefix[0] = 0;
	suffix[0] = (pq_byte_view){big, 2048};
	for (int64_t i = 1; i < n; i++) {
		prefix[i] = 2048;
		suffix[i] = (pq_byte_view){big, 1};
	}
	lk_buf b = LK_BUF_INIT;
	pq_delta_bp_encode_i32(&b, prefix, n);
	pq_delta_length_encode(&b, suffix, n);
	lk_arena a;
	lk_arena_init(&a, 0);
	pq_byte_view *out = malloc(n * sizeof(*out));
	size_t used;
	lk_error err;
	cr_assert_not(pq_delta_byte_array_decode(b.data, b.len, n, out, &a, &used, 0,
											 &err));
	cr_assert_eq(err.code, LK_ERR_NOMEM);
	cr_assert_lt(a.total, 1 << 20);
	lk_arena_free(&a);
	lk_buf_free(&b);
	free(out);
	free(prefix);
	free(suffix);
}

/* ---- BYTE_STREAM_SPLIT --------------------------------------------------- */

Test(bss, exact_and_round_trip)
{
	/* two 4-byte values 0x04030201, 0x08070605 → 01 05 | 02 06 | 03 07 | 04 08 */
	const uint8_t vals[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	const uint8_t want[8] = {1, 5, 2, 6, 3, 7, 4, 8};
	lk_buf b = LK_BUF_INIT;
	pq_bss_encode(&b, vals, 4, 2);
	assert_bytes(&b, want, 8);
	uint8_t out[8];
	lk_error err;
	cr_assert(pq_bss_decode(want, 8, 4, 2, out, 0, &err));
	cr_assert(memcmp(out, vals, 8) == 0);
	lk_buf_free(&b);

	uint8_t in[16 * 301], dec[16 * 301];
	for (size_t w = 1; w <= 16; w++) {
		for (int n = 0; n <= 301; n += 43) {
			for (size_t i = 0; i < w * (size_t) n; i++)
				in[i] = (uint8_t) rnd();
			lk_buf_init(&b);
			pq_bss_encode(&b, in, w, n);
			cr_assert_eq(b.len, w * (size_t) n);
			uint8_t *copy = exact_copy(b.data, b.len);
			cr_assert(pq_bss_decode(copy, b.len, w, n, dec, 0, &err));
			cr_assert(n == 0 || memcmp(dec, in, w * (size_t) n) == 0, "w %zu n %d",
					  w, n);
			if (n > 0) {
				cr_assert_not(pq_bss_decode(copy, b.len - 1, w, n, dec, 0, &err));
				cr_assert_eq(err.code, LK_ERR_CORRUPT);
			}
			free(copy);
			lk_buf_free(&b);
		}
	}
}
