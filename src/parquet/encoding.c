/*
 * encoding.c — Parquet value and level encodings (apache/parquet-format
 * Encodings.md), decoders and encoders side by side.
 *
 * Wire layouts (all multi-byte integers little-endian unless noted;
 * "varint" = unsigned LEB128, "zigzag" = zigzag LEB128):
 *
 * RLE / bit-packed hybrid (no length prefix here):
 *
 *   run*            run := header:varint body
 *   header & 1 == 0 RLE run: header>>1 repeats of one value stored in
 *                   ceil(bit_width/8) bytes LE
 *   header & 1 == 1 bit-packed run: header>>1 groups of 8 values, each group
 *                   bit_width bytes, values packed LSB-first:
 *                     bits:  v0[0..w) v1[0..w) ... v7[0..w)  (bit 0 = LSB of byte 0)
 *                   the last group may be padded beyond the real values.
 *
 * BIT_PACKED (deprecated, levels only): values packed MSB-first, no header:
 *     byte 0 bit 7 = most significant bit of v0, ...
 *
 * PLAIN: fixed-width values back to back; BOOLEAN one bit each LSB-first;
 *     BYTE_ARRAY  [u32 len][len bytes] ...
 *
 * DELTA_BINARY_PACKED:
 *   header:  block_size:varint (multiple of 128)
 *            miniblocks_per_block:varint (block_size/m multiple of 32)
 *            total_count:varint  first_value:zigzag
 *   block*:  min_delta:zigzag  bit_width:u8 x miniblocks_per_block
 *            miniblock*: (block_size/miniblocks) values of bit_width bits,
 *                        LSB-first as in the hybrid encoding
 *   value[0] = first_value; value[i] = value[i-1] + min_delta + delta[i]
 *   (wrapping, 64-bit or 32-bit).  Miniblocks after the one holding the last
 *   value have a bit-width byte but no body.
 *
 * DELTA_LENGTH_BYTE_ARRAY: DELTA_BINARY_PACKED lengths, then the bytes of
 *   every value concatenated.
 * DELTA_BYTE_ARRAY: DELTA_BINARY_PACKED prefix lengths, then the suffixes as
 *   DELTA_LENGTH_BYTE_ARRAY; value[i] = value[i-1][0..prefix[i]) + suffix[i].
 *
 * BYTE_STREAM_SPLIT: `width` streams, stream k holds byte k of every value:
 *   s0: v0[0] v1[0] ... vN[0] | s1: v0[1] v1[1] ... | ... (stride = n/width)
 *
 * Contract details beyond encoding.h:
 *  - RLE decoder: a bit-packed run that claims more groups than there are
 *    bytes yields the values that exist; asking for more is LK_ERR_CORRUPT.
 *    RLE run values are not masked to bit_width (range checks are the
 *    caller's). Zero-length runs are skipped.
 *  - DELTA_BINARY_PACKED: count may be less than the header's total; the
 *    first count values are decoded and *consumed still covers the whole
 *    stream. count > total is LK_ERR_CORRUPT.
 *  - DELTA_LENGTH_BYTE_ARRAY uses `out` as scratch for the lengths; views
 *    point into p.
 *  - DELTA_BYTE_ARRAY views point into p (no prefix), into the previous
 *    value (no suffix) or into arena memory; rebuilt values of one call
 *    above PQ_DELTA_BYTE_ARRAY_MAX bytes are LK_ERR_NOMEM.
 *  - Negative counts are LK_ERR_INVALID.
 */
#include "parquet/encoding.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PQ_INLINE static inline __attribute__((always_inline))

/* Upper bound for the rebuilt values of one DELTA_BYTE_ARRAY page: values
 * share prefixes, so a small page may expand a lot; past this it is refused
 * (LK_ERR_NOMEM) rather than allocated. */
#define PQ_DELTA_BYTE_ARRAY_MAX ((uint64_t) 1 << 30)

/* ---- helpers ------------------------------------------------------------ */

static bool fail_at(lk_error *err, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* LK_ERR_CORRUPT with `where` = byte offset off. Returns false. */
static bool
fail_at(lk_error *err, uint64_t off, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lk_error_set(err, LK_ERR_CORRUPT, "%s", msg);
	return lk_error_where(err, "byte offset %llu", (unsigned long long) off);
}

static bool
fail_count(lk_error *err, int64_t count)
{
	lk_error_set(err, LK_ERR_INVALID, "negative value count %lld",
				 (long long) count);
	return false;
}

PQ_INLINE uint64_t
load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

PQ_INLINE uint32_t
load32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

/* Varint from [*pp, end); advances *pp. False if truncated or too long. */
PQ_INLINE bool
get_uvarint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t *p = *pp;
	uint64_t r = 0;

	for (int shift = 0; shift < 70 && p < end; shift += 7) {
		uint8_t b = *p++;
		if (shift < 64)
			r |= (uint64_t) (b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			*pp = p;
			return true;
		}
	}
	return false;
}

int
pq_bit_width(uint64_t max_value)
{
	return max_value ? 64 - __builtin_clzll(max_value) : 0;
}

/* ---- bit unpacking: groups of 8 values, LSB-first ------------------------ */

/* 8 values of bw bits (1..32) from in[0..bw); reads up to 8 bytes past
 * in + ((7*bw)>>3), i.e. never beyond in + bw + 8. */
PQ_INLINE void
unpack8_32(const uint8_t *in, uint32_t *out, const int bw)
{
	const uint64_t mask = bw == 32 ? 0xffffffffu : ((uint64_t) 1 << bw) - 1;
#pragma GCC unroll 8
	for (int i = 0; i < 8; i++) {
		const unsigned bit = (unsigned) (i * bw);
		out[i] = (uint32_t) ((load64(in + (bit >> 3)) >> (bit & 7)) & mask);
	}
}

/* Same for 1..64-bit values. */
PQ_INLINE void
unpack8_64(const uint8_t *in, uint64_t *out, const int bw)
{
	const uint64_t mask = bw == 64 ? ~(uint64_t) 0 : ((uint64_t) 1 << bw) - 1;
#pragma GCC unroll 8
	for (int i = 0; i < 8; i++) {
		const unsigned bit = (unsigned) (i * bw);
		const uint8_t *q = in + (bit >> 3);
		const unsigned s = bit & 7;
		uint64_t w = load64(q) >> s;
		if (s + (unsigned) bw > 64)
			w |= (uint64_t) q[8] << (64 - s);
		out[i] = w & mask;
	}
}

#define UNPACK32_CASE(B)                                      \
	case B:                                                   \
		for (int64_t g = 0; g < ng; g++)                      \
			unpack8_32(in + g * (B), out + 8 * g, B);         \
		break;
#define UNPACK64_CASE(B)                                      \
	case B:                                                   \
		for (int64_t g = 0; g < ng; g++)                      \
			unpack8_64(in + g * (B), out + 8 * g, B);         \
		break;
#define CASES_1_8(M) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8)
#define CASES_9_16(M) M(9) M(10) M(11) M(12) M(13) M(14) M(15) M(16)
#define CASES_17_24(M) M(17) M(18) M(19) M(20) M(21) M(22) M(23) M(24)
#define CASES_25_32(M) M(25) M(26) M(27) M(28) M(29) M(30) M(31) M(32)
#define CASES_33_40(M) M(33) M(34) M(35) M(36) M(37) M(38) M(39) M(40)
#define CASES_41_48(M) M(41) M(42) M(43) M(44) M(45) M(46) M(47) M(48)
#define CASES_49_56(M) M(49) M(50) M(51) M(52) M(53) M(54) M(55) M(56)
#define CASES_57_64(M) M(57) M(58) M(59) M(60) M(61) M(62) M(63) M(64)

/* ng groups; caller guarantees in[0 .. ng*bw + 8) is readable. */
static void
unpack32_unsafe(const uint8_t *in, uint32_t *out, int64_t ng, int bw)
{
	switch (bw) {
	case 0:
		memset(out, 0, (size_t) ng * 8 * sizeof(*out));
		break;
	CASES_1_8(UNPACK32_CASE)
	CASES_9_16(UNPACK32_CASE)
	CASES_17_24(UNPACK32_CASE)
	CASES_25_32(UNPACK32_CASE)
	default:
		break;
	}
}

static void
unpack64_unsafe(const uint8_t *in, uint64_t *out, int64_t ng, int bw)
{
	switch (bw) {
	case 0:
		memset(out, 0, (size_t) ng * 8 * sizeof(*out));
		break;
	CASES_1_8(UNPACK64_CASE)
	CASES_9_16(UNPACK64_CASE)
	CASES_17_24(UNPACK64_CASE)
	CASES_25_32(UNPACK64_CASE)
	CASES_33_40(UNPACK64_CASE)
	CASES_41_48(UNPACK64_CASE)
	CASES_49_56(UNPACK64_CASE)
	CASES_57_64(UNPACK64_CASE)
	default:
		break;
	}
}

/* Groups whose fast unpack stays inside [in, end). */
PQ_INLINE int64_t
fast_groups(const uint8_t *in, const uint8_t *end, int64_t ng, int bw)
{
	if (bw == 0)
		return ng;
	size_t avail = (size_t) (end - in);
	if (avail < (size_t) bw + 8)
		return 0;
	int64_t m = (int64_t) ((avail - (size_t) bw - 8) / (size_t) bw) + 1;
	return m < ng ? m : ng;
}

/* Unpack ng groups of 8 values at in; bytes of the groups that lie past
 * end read as zero (so a truncated last group decodes what exists). */
static void
unpack32(const uint8_t *in, const uint8_t *end, uint32_t *out, int64_t ng,
		 int bw)
{
	int64_t fast = fast_groups(in, end, ng, bw);

	unpack32_unsafe(in, out, fast, bw);
	for (int64_t g = fast; g < ng; g++) {
		uint8_t tmp[32 + 8] = {0};
		const uint8_t *q = in + g * bw;
		size_t have = q < end ? (size_t) (end - q) : 0;
		memcpy(tmp, q, have < (size_t) bw ? have : (size_t) bw);
		unpack32_unsafe(tmp, out + 8 * g, 1, bw);
	}
}

static void
unpack64(const uint8_t *in, const uint8_t *end, uint64_t *out, int64_t ng,
		 int bw)
{
	int64_t fast = fast_groups(in, end, ng, bw);

	unpack64_unsafe(in, out, fast, bw);
	for (int64_t g = fast; g < ng; g++) {
		uint8_t tmp[64 + 16] = {0};
		const uint8_t *q = in + g * bw;
		size_t have = q < end ? (size_t) (end - q) : 0;
		memcpy(tmp, q, have < (size_t) bw ? have : (size_t) bw);
		unpack64_unsafe(tmp, out + 8 * g, 1, bw);
	}
}

/* ---- bit packing (encoders) --------------------------------------------- */

PQ_INLINE void
store64(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	memcpy(p, &v, 8);
}

/* 8 values (masked to bw bits) into exactly dst[0..bw), LSB-first; v is
 * uint32_t[8] (is64 false) or uint64_t[8]. With constant bw everything but
 * the value moves is resolved at compile time. */
PQ_INLINE void
pack8(uint8_t *dst, const void *vv, const int bw, const bool is64)
{
	const uint64_t mask = bw == 64 ? ~(uint64_t) 0 : ((uint64_t) 1 << bw) - 1;
	const uint32_t *v32 = vv;
	const uint64_t *v64 = vv;
	uint64_t acc = 0;
	int nb = 0;

#pragma GCC unroll 8
	for (int i = 0; i < 8; i++) {
		const uint64_t x = (is64 ? v64[i] : (uint64_t) v32[i]) & mask;
		acc |= x << nb;
		if (nb + bw >= 64) {
			store64(dst, acc);
			dst += 8;
			const int used = 64 - nb;
			acc = used < 64 ? x >> used : 0;
			nb = nb + bw - 64;
		} else {
			nb += bw;
		}
	}
	for (int k = 0; k < nb / 8; k++)
		dst[k] = (uint8_t) (acc >> (8 * k));
}

#define PACK32_CASE(B)                                    \
	case B:                                               \
		for (int64_t g = 0; g < ng; g++)                  \
			pack8(dst + g * (B), v + 8 * g, B, false);    \
		break;
#define PACK64_CASE(B)                                    \
	case B:                                               \
		for (int64_t g = 0; g < ng; g++)                  \
			pack8(dst + g * (B), v + 8 * g, B, true);     \
		break;

/* ng groups of 8 values into dst[0 .. ng*bw). */
static void
pack32(uint8_t *dst, const uint32_t *v, int64_t ng, int bw)
{
	switch (bw) {
	case 0:
		break;
	CASES_1_8(PACK32_CASE)
	CASES_9_16(PACK32_CASE)
	CASES_17_24(PACK32_CASE)
	CASES_25_32(PACK32_CASE)
	default:
		break;
	}
}

static void
pack64(uint8_t *dst, const uint64_t *v, int64_t ng, int bw)
{
	switch (bw) {
	case 0:
		break;
	CASES_1_8(PACK64_CASE)
	CASES_9_16(PACK64_CASE)
	CASES_17_24(PACK64_CASE)
	CASES_25_32(PACK64_CASE)
	CASES_33_40(PACK64_CASE)
	CASES_41_48(PACK64_CASE)
	CASES_49_56(PACK64_CASE)
	CASES_57_64(PACK64_CASE)
	default:
		break;
	}
}

/* ---- RLE / bit-packed hybrid: decoder ------------------------------------ */

void
pq_rle_decoder_init(pq_rle_decoder *d, const uint8_t *p, size_t n,
					int bit_width, uint64_t base)
{
	d->p = p;
	d->end = p + n;
	d->start = p;
	d->base = base;
	d->bit_width = bit_width < 0 ? 0 : bit_width > 32 ? 32 : bit_width;
	d->rle_left = 0;
	d->rle_value = 0;
	d->packed_left = 0;
	d->packed = p;
	d->packed_index = 0;
}

/* Parse run headers until a non-empty run is current. Bit-packed runs keep
 * packed = first group, packed_index = index inside the current group,
 * packed_left = values of the run that exist in the input. */
static bool
rle_next_run(pq_rle_decoder *d, lk_error *err)
{
	const int bw = d->bit_width;

	for (;;) {
		const uint8_t *q = d->p;
		uint64_t h;

		if (q >= d->end) {
			if (bw == 0) {
				/* all values are zero; nothing more is needed */
				d->rle_value = 0;
				d->rle_left = INT64_MAX;
				return true;
			}
			return fail_at(err, d->base + (uint64_t) (q - d->start),
						   "rle/bit-packed data ends after %zu bytes, more values expected",
						   (size_t) (d->end - d->start));
		}
		if (!get_uvarint(&q, d->end, &h))
			return fail_at(err, d->base + (uint64_t) (d->p - d->start),
						   "truncated rle/bit-packed run header");
		if (!(h & 1)) {
			size_t nb = (size_t) (bw + 7) / 8;
			uint32_t v = 0;
			if ((size_t) (d->end - q) < nb)
				return fail_at(err, d->base + (uint64_t) (q - d->start),
							   "truncated rle run value");
			for (size_t i = 0; i < nb; i++)
				v |= (uint32_t) q[i] << (8 * i);
			d->p = q + nb;
			if ((h >> 1) == 0)
				continue;
			d->rle_value = v;
			d->rle_left = (int64_t) (h >> 1);
			return true;
		} else {
			uint64_t groups = h >> 1;
			size_t avail = (size_t) (d->end - q);
			int64_t values;
			if (bw == 0) {
				values = groups > (uint64_t) INT64_MAX / 8 ? INT64_MAX
					: (int64_t) groups * 8;
				d->p = q;
			} else if (groups <= avail / (size_t) bw) {
				values = (int64_t) groups * 8;
				d->p = q + groups * (uint64_t) bw;
			} else {
				/* truncated run: decode the values that exist */
				values = (int64_t) (avail * 8 / (size_t) bw);
				d->p = d->end;
			}
			d->packed = q;
			d->packed_index = 0;
			d->packed_left = values;
			if (values == 0)
				continue;
			return true;
		}
	}
}

PQ_INLINE void
fill32(uint32_t *out, uint32_t v, int64_t k)
{
	if (v == 0) {
		memset(out, 0, (size_t) k * sizeof(*out));
		return;
	}
	for (int64_t i = 0; i < k; i++)
		out[i] = v;
}

bool
pq_rle_decoder_get(pq_rle_decoder *d, uint32_t *out, int64_t count,
				   lk_error *err)
{
	const int bw = d->bit_width;

	if (count < 0)
		return fail_count(err, count);
	while (count > 0) {
		if (d->rle_left > 0) {
			int64_t k = d->rle_left < count ? d->rle_left : count;
			fill32(out, d->rle_value, k);
			out += k;
			count -= k;
			d->rle_left -= k;
			continue;
		}
		if (d->packed_left > 0) {
			if (d->packed_index == 0 && count >= 8 && d->packed_left >= 8) {
				int64_t k = d->packed_left < count ? d->packed_left : count;
				int64_t ng = k / 8;
				unpack32(d->packed, d->end, out, ng, bw);
				d->packed += ng * bw;
				out += ng * 8;
				count -= ng * 8;
				d->packed_left -= ng * 8;
			} else {
				uint32_t tmp[8];
				int64_t idx = d->packed_index;
				int64_t k = 8 - idx;
				if (k > count)
					k = count;
				if (k > d->packed_left)
					k = d->packed_left;
				unpack32(d->packed, d->end, tmp, 1, bw);
				memcpy(out, tmp + idx, (size_t) k * sizeof(*out));
				out += k;
				count -= k;
				d->packed_left -= k;
				idx += k;
				if (idx == 8) {
					idx = 0;
					d->packed += bw;
				}
				d->packed_index = idx;
			}
			continue;
		}
		if (!rle_next_run(d, err))
			return false;
	}
	return true;
}

/* ---- RLE / bit-packed hybrid: encoder ------------------------------------ */

/* n values as bit-packed runs of at most 63 groups; the last group is
 * padded with zeros. */
static void
rle_put_literals(lk_buf *out, const uint32_t *v, int64_t n, int bw)
{
	while (n > 0) {
		int64_t groups = (n + 7) / 8;
		if (groups > 63)
			groups = 63;
		lk_buf_append_uvarint(out, ((uint64_t) groups << 1) | 1);
		lk_buf_reserve(out, (size_t) (groups * bw));
		uint8_t *dst = out->data + out->len;
		int64_t full = n / 8 < groups ? n / 8 : groups;
		pack32(dst, v, full, bw);
		if (full < groups) {
			/* the last, padded group */
			uint32_t tmp[8] = {0};
			memcpy(tmp, v + 8 * full, (size_t) (n - 8 * full) * sizeof(*v));
			pack32(dst + full * bw, tmp, 1, bw);
		}
		out->len += (size_t) (groups * bw);
		if (n <= 8 * groups)
			break;
		v += 8 * groups;
		n -= 8 * groups;
	}
}

static void
rle_put_run(lk_buf *out, uint32_t value, int64_t count, int bw)
{
	lk_buf_append_uvarint(out, (uint64_t) count << 1);
	for (int i = 0; i < (bw + 7) / 8; i++)
		lk_buf_append_byte(out, (uint8_t) (value >> (8 * i)));
}

void
pq_rle_encode(lk_buf *out, const uint32_t *v, int64_t n, int bit_width)
{
	const int bw = bit_width < 0 ? 0 : bit_width > 32 ? 32 : bit_width;
	const uint32_t mask = bw == 32 ? 0xffffffffu
		: (uint32_t) (((uint64_t) 1 << bw) - 1);
	int64_t lit_start = 0;
	int64_t run = 1;            /* equal values ending at i */

	/* Scan with a branch-free counter of equal neighbours; a maximal run
	 * of >= 8 values becomes an RLE run once the pending literals are
	 * completed to whole groups with values taken from its front (if 8
	 * are still left), otherwise it stays literal. */
	for (int64_t i = 1; i < n; i++) {
		const int64_t eq = ((v[i] ^ v[i - 1]) & mask) == 0;
		run = (run & -eq) + 1;      /* eq ? run + 1 : 1, without a branch */
		if (run < 8)
			continue;
		const uint32_t x = v[i] & mask;
		const int64_t s = i - 7;
		int64_t e = i + 1;
		while (e < n && (v[e] & mask) == x)
			e++;
		const int64_t pad = (8 - (s - lit_start) % 8) % 8;
		if (e - s - pad >= 8) {
			rle_put_literals(out, v + lit_start, s + pad - lit_start, bw);
			rle_put_run(out, x, e - s - pad, bw);
			lit_start = e;
		}
		/* v[e] (if any) starts a new run */
		i = e;
		run = 1;
	}
	if (lit_start < n)
		rle_put_literals(out, v + lit_start, n - lit_start, bw);
}

/* ---- legacy BIT_PACKED --------------------------------------------------- */

bool
pq_bitpacked_legacy_decode(const uint8_t *p, size_t n, int bit_width,
						   uint32_t *out, int64_t count, uint64_t base,
						   lk_error *err)
{
	if (count < 0)
		return fail_count(err, count);
	if (bit_width < 0 || bit_width > 32) {
		lk_error_set(err, LK_ERR_INVALID, "invalid bit width %d", bit_width);
		return false;
	}
	if (bit_width == 0) {
		memset(out, 0, (size_t) count * sizeof(*out));
		return true;
	}
	if ((uint64_t) count > (uint64_t) n * 8 / (uint64_t) bit_width)
		return fail_at(err, base + n,
					   "%lld bit-packed levels of %d bits do not fit in %zu bytes",
					   (long long) count, bit_width, n);
	const uint64_t mask = bit_width == 32 ? 0xffffffffu
		: ((uint64_t) 1 << bit_width) - 1;
	uint64_t acc = 0;
	int nb = 0;
	for (int64_t i = 0; i < count; i++) {
		while (nb < bit_width) {
			acc = (acc << 8) | *p++;
			nb += 8;
		}
		out[i] = (uint32_t) ((acc >> (nb - bit_width)) & mask);
		nb -= bit_width;
	}
	return true;
}

/* ---- PLAIN --------------------------------------------------------------- */

bool
pq_plain_decode_fixed(const uint8_t *p, size_t n, size_t width,
					  int64_t count, void *out, size_t *consumed,
					  uint64_t base, lk_error *err)
{
	if (count < 0)
		return fail_count(err, count);
	if (width != 0 && (uint64_t) count > n / width)
		return fail_at(err, base + n,
					   "plain data holds %zu values of %zu bytes, %lld expected",
					   n / width, width, (long long) count);
	size_t bytes = (size_t) count * width;
	if (bytes)
		memcpy(out, p, bytes);
	*consumed = bytes;
	return true;
}

bool
pq_plain_decode_bool(const uint8_t *p, size_t n, int64_t count,
					 uint8_t *out, size_t *consumed, uint64_t base,
					 lk_error *err)
{
	if (count < 0)
		return fail_count(err, count);
	uint64_t bytes = ((uint64_t) count + 7) / 8;
	if (bytes > n)
		return fail_at(err, base + n,
					   "plain booleans need %llu bytes, only %zu present",
					   (unsigned long long) bytes, n);
	int64_t full = count / 8;
	for (int64_t i = 0; i < full; i++) {
		/* spread 8 bits into 8 bytes of 0/1, bit 0 first */
		uint64_t x = ((uint64_t) p[i] * 0x0101010101010101ull) &
			0x8040201008040201ull;
		x = ((x + 0x7f7f7f7f7f7f7f7full) >> 7) & 0x0101010101010101ull;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		x = __builtin_bswap64(x);
#endif
		memcpy(out + 8 * i, &x, 8);
	}
	for (int64_t i = full * 8; i < count; i++)
		out[i] = (p[i >> 3] >> (i & 7)) & 1;
	*consumed = (size_t) bytes;
	return true;
}

bool
pq_plain_decode_byte_array(const uint8_t *p, size_t n, int64_t count,
						   pq_byte_view *out, size_t *consumed,
						   uint64_t base, lk_error *err)
{
	const uint8_t *q = p, *end = p + n;

	if (count < 0)
		return fail_count(err, count);
	for (int64_t i = 0; i < count; i++) {
		if (end - q < 4)
			return fail_at(err, base + (uint64_t) (q - p),
						   "truncated byte array length (value %lld of %lld)",
						   (long long) i, (long long) count);
		uint32_t len = load32(q);
		q += 4;
		if ((size_t) (end - q) < len)
			return fail_at(err, base + (uint64_t) (q - p),
						   "byte array of %u bytes runs past the end of the data (%zu left)",
						   len, (size_t) (end - q));
		out[i].ptr = q;
		out[i].len = len;
		q += len;
	}
	*consumed = (size_t) (q - p);
	return true;
}

void
pq_plain_encode_bool(lk_buf *out, const uint8_t *v, int64_t n)
{
	size_t bytes = (size_t) (n + 7) / 8;
	lk_buf_reserve(out, bytes);
	uint8_t *dst = out->data + out->len;
	int64_t full = n / 8;
	for (int64_t i = 0; i < full; i++) {
		const uint8_t *s = v + 8 * i;
		dst[i] = (uint8_t) ((s[0] != 0) | (s[1] != 0) << 1 | (s[2] != 0) << 2 |
							(s[3] != 0) << 3 | (s[4] != 0) << 4 |
							(s[5] != 0) << 5 | (s[6] != 0) << 6 |
							(s[7] != 0) << 7);
	}
	if (full * 8 < n) {
		uint8_t b = 0;
		for (int64_t i = full * 8; i < n; i++)
			b |= (uint8_t) ((v[i] != 0) << (i & 7));
		dst[full] = b;
	}
	out->len += bytes;
}

void
pq_plain_encode_byte_array(lk_buf *out, const void *p, uint32_t len)
{
	lk_buf_reserve(out, 4 + (size_t) len);
	lk_buf_append_u32le(out, len);
	lk_buf_append(out, p, len);
}

/* ---- DELTA_BINARY_PACKED ------------------------------------------------- */

/* Shared decoder; is32 is a constant in each instantiation. Values are
 * computed in uint64 and truncated for INT32, which equals 32-bit wrapping
 * arithmetic. Decodes the first `count` of the header's total values and
 * walks the rest so *consumed is the end of the whole stream. */
PQ_INLINE bool
dbp_decode(const uint8_t *p, size_t n, int64_t count, void *outv,
		   const bool is32, size_t *consumed, uint64_t base, lk_error *err)
{
	const uint8_t *q = p, *end = p + n;
	uint64_t block_size, mini_count, total, zz;
	/* INT32 widths up to 64 too: some writers (DuckDB) take INT32 deltas in
	 * 64 bits, so a width of 33 occurs; truncation keeps the result exact. */
	const int max_bw = 64;
	int32_t *out32 = outv;
	int64_t *out64 = outv;

	if (count < 0)
		return fail_count(err, count);
	if (!get_uvarint(&q, end, &block_size) ||
		!get_uvarint(&q, end, &mini_count) ||
		!get_uvarint(&q, end, &total) || !get_uvarint(&q, end, &zz))
		return fail_at(err, base + (uint64_t) (q - p),
					   "truncated delta binary packed header");
	if (block_size == 0 || block_size % 128 != 0 ||
		block_size > ((uint64_t) 1 << 31))
		return fail_at(err, base, "invalid delta block size %llu",
					   (unsigned long long) block_size);
	if (mini_count == 0 || block_size % mini_count != 0 ||
		(block_size / mini_count) % 32 != 0)
		return fail_at(err, base,
					   "invalid delta miniblock count %llu for block size %llu",
					   (unsigned long long) mini_count,
					   (unsigned long long) block_size);
	if (total < (uint64_t) count)
		return fail_at(err, base,
					   "delta binary packed data holds %llu values, %lld expected",
					   (unsigned long long) total, (long long) count);

	const uint64_t mini_size = block_size / mini_count;
	uint64_t last = (zz >> 1) ^ -(zz & 1);
	int64_t stored = 0;
	if (count > 0) {
		if (is32)
			out32[0] = (int32_t) (uint32_t) last;
		else
			out64[0] = (int64_t) last;
		stored = 1;
	}
	uint64_t left = total > 0 ? total - 1 : 0;
	while (left > 0) {
		uint64_t mdz;
		const uint8_t *block_at = q;
		if (!get_uvarint(&q, end, &mdz))
			return fail_at(err, base + (uint64_t) (block_at - p),
						   "truncated delta block header");
		const uint64_t min_delta = (mdz >> 1) ^ -(mdz & 1);
		if ((uint64_t) (end - q) < mini_count)
			return fail_at(err, base + (uint64_t) (q - p),
						   "truncated delta miniblock bit widths");
		const uint8_t *widths = q;
		q += mini_count;
		for (uint64_t m = 0; m < mini_count && left > 0; m++) {
			const int bw = widths[m];
			if (bw > max_bw)
				return fail_at(err, base + (uint64_t) (widths + m - p),
							   "invalid delta miniblock bit width %d", bw);
			const uint64_t bytes = mini_size * (uint64_t) bw / 8;
			if ((uint64_t) (end - q) < bytes)
				return fail_at(err, base + (uint64_t) (q - p),
							   "truncated delta miniblock (%llu bytes, %zu left)",
							   (unsigned long long) bytes, (size_t) (end - q));
			const uint64_t nv = left < mini_size ? left : mini_size;
			if (stored < count) {
				uint64_t want = (uint64_t) (count - stored);
				if (want > nv)
					want = nv;
				uint64_t done = 0;
				uint64_t tmp[256];
				while (done < want) {
					uint64_t chunk = want - done;
					if (chunk > 256)
						chunk = 256;
					int64_t ng = (int64_t) ((chunk + 7) / 8);
					unpack64(q + (done / 8) * (uint64_t) bw, end, tmp, ng, bw);
					if (is32) {
						int32_t *o = out32 + stored;
						for (uint64_t j = 0; j < chunk; j++) {
							last += tmp[j] + min_delta;
							o[j] = (int32_t) (uint32_t) last;
						}
					} else {
						int64_t *o = out64 + stored;
						for (uint64_t j = 0; j < chunk; j++) {
							last += tmp[j] + min_delta;
							o[j] = (int64_t) last;
						}
					}
					stored += (int64_t) chunk;
					done += chunk;
				}
			}
			q += bytes;
			left -= nv;
		}
	}
	*consumed = (size_t) (q - p);
	return true;
}

bool
pq_delta_bp_decode_i64(const uint8_t *p, size_t n, int64_t count,
					   int64_t *out, size_t *consumed, uint64_t base,
					   lk_error *err)
{
	return dbp_decode(p, n, count, out, false, consumed, base, err);
}

bool
pq_delta_bp_decode_i32(const uint8_t *p, size_t n, int64_t count,
					   int32_t *out, size_t *consumed, uint64_t base,
					   lk_error *err)
{
	return dbp_decode(p, n, count, out, true, consumed, base, err);
}

/* Encoder: block size 128, 4 miniblocks of 32. Deltas are taken in the
 * value's width (is32: wrapping int32) so INT32 bit widths stay <= 32. */
PQ_INLINE void
dbp_encode(lk_buf *out, const void *vv, int64_t n, const bool is32)
{
	const int32_t *v32 = vv;
	const int64_t *v64 = vv;
	enum { BLOCK = 128, MINIS = 4, MINI = BLOCK / MINIS };

	lk_buf_append_uvarint(out, BLOCK);
	lk_buf_append_uvarint(out, MINIS);
	lk_buf_append_uvarint(out, (uint64_t) (n < 0 ? 0 : n));
	if (n <= 0) {
		lk_buf_append_zigzag(out, 0);
		return;
	}
	lk_buf_append_zigzag(out, is32 ? (int64_t) v32[0] : v64[0]);

	int64_t i = 1;
	while (i < n) {
		uint64_t d[BLOCK];
		int64_t k = n - i < BLOCK ? n - i : BLOCK;
		int64_t min = INT64_MAX;
		for (int64_t j = 0; j < k; j++) {
			int64_t delta;
			if (is32)
				delta = (int32_t) ((uint32_t) v32[i + j] -
								   (uint32_t) v32[i + j - 1]);
			else
				delta = (int64_t) ((uint64_t) v64[i + j] -
								   (uint64_t) v64[i + j - 1]);
			d[j] = (uint64_t) delta;
			if (delta < min)
				min = delta;
		}
		for (int64_t j = 0; j < k; j++)
			d[j] -= (uint64_t) min;
		for (int64_t j = k; j < BLOCK; j++)
			d[j] = 0;
		int bws[MINIS];
		int used = (int) ((k + MINI - 1) / MINI);
		size_t body = 0;
		for (int m = 0; m < MINIS; m++) {
			uint64_t orv = 0;
			if (m < used)
				for (int j = 0; j < MINI; j++)
					orv |= d[m * MINI + j];
			bws[m] = pq_bit_width(orv);
			if (m < used)
				body += (size_t) bws[m] * MINI / 8;
		}
		lk_buf_append_zigzag(out, min);
		lk_buf_reserve(out, MINIS + body);
		for (int m = 0; m < MINIS; m++)
			out->data[out->len++] = (uint8_t) bws[m];
		for (int m = 0; m < used; m++) {
			pack64(out->data + out->len, d + m * MINI, MINI / 8, bws[m]);
			out->len += (size_t) bws[m] * MINI / 8;
		}
		i += k;
	}
}

void
pq_delta_bp_encode_i64(lk_buf *out, const int64_t *v, int64_t n)
{
	dbp_encode(out, v, n, false);
}

void
pq_delta_bp_encode_i32(lk_buf *out, const int32_t *v, int64_t n)
{
	dbp_encode(out, v, n, true);
}

/* ---- DELTA_LENGTH_BYTE_ARRAY --------------------------------------------- */

bool
pq_delta_length_decode(const uint8_t *p, size_t n, int64_t count,
					   pq_byte_view *out, size_t *consumed, uint64_t base,
					   lk_error *err)
{
	size_t used;

	if (count < 0)
		return fail_count(err, count);
	/* The lengths are decoded as int32 into the last quarter of out (a
	 * view is 16 bytes, a length 4), then one forward pass turns them into
	 * views: view i ends at byte 16i+16 <= 12*count + 4(i+1), where length
	 * i+1 starts, so no length is overwritten before it is read. Lengths
	 * are read with memcpy (char access), as the memory is typed
	 * pq_byte_view. */
	_Static_assert(sizeof(pq_byte_view) >= 2 * sizeof(int32_t),
				   "views must hold a length");
	const size_t lens_at = (size_t) count *
		(sizeof(pq_byte_view) - sizeof(int32_t));
	uint8_t *lb = (uint8_t *) out + lens_at;
	LK_FORWARD(pq_delta_bp_decode_i32(p, n, count, (int32_t *) (void *) lb,
									  &used, base, err));
	const uint8_t *data = p + used;
	const uint64_t avail = n - used;
	uint64_t sum = 0;
	for (int64_t i = 0; i < count; i++) {
		int32_t len;
		memcpy(&len, lb + (size_t) i * sizeof(int32_t), sizeof(len));
		if (len < 0)
			return fail_at(err, base, "negative byte array length %d (value %lld)",
						   len, (long long) i);
		pq_byte_view vw = {data + sum, (uint32_t) len};
		sum += (uint32_t) len;
		if (sum > avail)
			return fail_at(err, base + used,
						   "byte array lengths add up to more than the %zu bytes present",
						   (size_t) avail);
		memcpy(&out[i], &vw, sizeof(vw));
	}
	*consumed = used + (size_t) sum;
	return true;
}

void
pq_delta_length_encode(lk_buf *out, const pq_byte_view *v, int64_t n)
{
	int32_t small[256];
	int32_t *lens = n <= 256 ? small : lk_xmalloc((size_t) n * sizeof(*lens));
	size_t total = 0;

	for (int64_t i = 0; i < n; i++) {
		lens[i] = (int32_t) v[i].len;
		total += v[i].len;
	}
	pq_delta_bp_encode_i32(out, n > 0 ? lens : NULL, n);
	if (lens != small)
		free(lens);
	lk_buf_reserve(out, total);
	for (int64_t i = 0; i < n; i++) {
		if (v[i].len)
			memcpy(out->data + out->len, v[i].ptr, v[i].len);
		out->len += v[i].len;
	}
}

/* ---- DELTA_BYTE_ARRAY ---------------------------------------------------- */

#define DBA_SLACK 32

/* Copy len bytes to dst, which has DBA_SLACK writable bytes past len.
 * When src has DBA_SLACK readable bytes (src_room) and len is short, one
 * 32-byte block is moved instead of calling memcpy; the bytes past len are
 * overwritten later or left as slack. */
PQ_INLINE void
copy_short(uint8_t *dst, const uint8_t *src, size_t len, bool src_room)
{
	if (len <= DBA_SLACK && src_room) {
		uint8_t t[DBA_SLACK];
		memcpy(t, src, DBA_SLACK);
		memcpy(dst, t, DBA_SLACK);
	} else {
		memcpy(dst, src, len);
	}
}

bool
pq_delta_byte_array_decode(const uint8_t *p, size_t n, int64_t count,
						   pq_byte_view *out, lk_arena *arena,
						   size_t *consumed, uint64_t base, lk_error *err)
{
	size_t used1, used2;

	if (count < 0)
		return fail_count(err, count);
	if (count == 0) {
		/* still validate both (empty) sections for *consumed */
		int32_t none[1];
		LK_FORWARD(pq_delta_bp_decode_i32(p, n, 0, none, &used1, base, err));
		LK_FORWARD(pq_delta_length_decode(p + used1, n - used1, 0, out,
										  &used2, base + used1, err));
		*consumed = used1 + used2;
		return true;
	}
	int32_t *prefix = lk_xmalloc((size_t) count * sizeof(*prefix));
	bool ok = pq_delta_bp_decode_i32(p, n, count, prefix, &used1, base, err) &&
		pq_delta_length_decode(p + used1, n - used1, count, out, &used2,
							   base + used1, err);
	if (!ok) {
		free(prefix);
		return false;
	}
	/* check prefixes and size the rebuilt values */
	uint64_t prev_len = 0, total = 0;
	for (int64_t i = 0; i < count; i++) {
		if (prefix[i] < 0 || (uint64_t) prefix[i] > prev_len) {
			fail_at(err, base,
					"delta byte array prefix length %d exceeds previous value length %llu (value %lld)",
					prefix[i], (unsigned long long) prev_len, (long long) i);
			free(prefix);
			return false;
		}
		uint64_t len = (uint64_t) prefix[i] + out[i].len;
		if (len > UINT32_MAX) {
			fail_at(err, base, "delta byte array value %lld is %llu bytes long",
					(long long) i, (unsigned long long) len);
			free(prefix);
			return false;
		}
		if (out[i].len > 0 && prefix[i] > 0)
			total += len;
		if (total > PQ_DELTA_BYTE_ARRAY_MAX) {
			free(prefix);
			lk_error_set(err, LK_ERR_NOMEM,
						 "delta byte array values exceed %llu bytes",
						 (unsigned long long) PQ_DELTA_BYTE_ARRAY_MAX);
			return lk_error_where(err, "byte offset %llu",
								  (unsigned long long) base);
		}
		prev_len = len;
	}
	/* Values with no suffix are a prefix of the previous value and values
	 * with no prefix are their suffix: both are views without a copy.
	 * The others are built in mem, which has DBA_SLACK spare bytes so
	 * short copies can move whole 32-byte blocks. */
	uint8_t *mem = total ? lk_arena_alloc(arena, (size_t) total + DBA_SLACK)
		: NULL;
	const uintptr_t mem_lo = (uintptr_t) mem,
		mem_hi = (uintptr_t) mem + (total ? (size_t) total + DBA_SLACK : 0);
	const uintptr_t p_lo = (uintptr_t) p, p_hi = (uintptr_t) p + n;
	const uint8_t *prev = NULL;
	for (int64_t i = 0; i < count; i++) {
		uint32_t pl = (uint32_t) prefix[i], sl = out[i].len;
		const uint8_t *suf = out[i].ptr;
		if (sl == 0) {
			out[i].ptr = pl ? prev : suf;
			out[i].len = pl;
		} else if (pl > 0) {
			const uintptr_t a = (uintptr_t) prev, b = (uintptr_t) suf;
			bool prev_room = (a >= p_lo && a + DBA_SLACK <= p_hi) ||
				(a >= mem_lo && a + DBA_SLACK <= mem_hi);
			bool suf_room = b + DBA_SLACK <= p_hi;
			copy_short(mem, prev, pl, prev_room);
			copy_short(mem + pl, suf, sl, suf_room);
			out[i].ptr = mem;
			out[i].len = pl + sl;
			mem += pl + sl;
		}
		prev = out[i].ptr;
	}
	free(prefix);
	*consumed = used1 + used2;
	return true;
}

void
pq_delta_byte_array_encode(lk_buf *out, const pq_byte_view *v, int64_t n)
{
	if (n <= 0) {
		pq_delta_bp_encode_i32(out, NULL, 0);
		pq_delta_length_encode(out, NULL, 0);
		return;
	}
	int32_t *prefix = lk_xmalloc((size_t) n * sizeof(*prefix));
	pq_byte_view *suffix = lk_xmalloc((size_t) n * sizeof(*suffix));
	for (int64_t i = 0; i < n; i++) {
		uint32_t pl = 0;
		if (i > 0) {
			uint32_t max = v[i].len < v[i - 1].len ? v[i].len : v[i - 1].len;
			const uint8_t *a = v[i].ptr, *b = v[i - 1].ptr;
			while (pl < max && a[pl] == b[pl])
				pl++;
		}
		prefix[i] = (int32_t) pl;
		suffix[i].ptr = v[i].ptr ? v[i].ptr + pl : NULL;
		suffix[i].len = v[i].len - pl;
	}
	pq_delta_bp_encode_i32(out, prefix, n);
	pq_delta_length_encode(out, suffix, n);
	free(prefix);
	free(suffix);
}

/* ---- BYTE_STREAM_SPLIT --------------------------------------------------- */

#if defined(__SSE2__)
#include <emmintrin.h>

/* 16 values of 4 bytes from 4 streams: two rounds of byte interleaving. */
PQ_INLINE void
bss_transpose4_sse2(const uint8_t *s0, const uint8_t *s1, const uint8_t *s2,
					const uint8_t *s3, uint8_t *o)
{
	__m128i a = _mm_loadu_si128((const __m128i *) s0);
	__m128i b = _mm_loadu_si128((const __m128i *) s1);
	__m128i c = _mm_loadu_si128((const __m128i *) s2);
	__m128i d = _mm_loadu_si128((const __m128i *) s3);
	__m128i ab_lo = _mm_unpacklo_epi8(a, b), ab_hi = _mm_unpackhi_epi8(a, b);
	__m128i cd_lo = _mm_unpacklo_epi8(c, d), cd_hi = _mm_unpackhi_epi8(c, d);
	_mm_storeu_si128((__m128i *) o, _mm_unpacklo_epi16(ab_lo, cd_lo));
	_mm_storeu_si128((__m128i *) (o + 16), _mm_unpackhi_epi16(ab_lo, cd_lo));
	_mm_storeu_si128((__m128i *) (o + 32), _mm_unpacklo_epi16(ab_hi, cd_hi));
	_mm_storeu_si128((__m128i *) (o + 48), _mm_unpackhi_epi16(ab_hi, cd_hi));
}

/* 16 values of 8 bytes from 8 streams at index i: three rounds. */
PQ_INLINE void
bss_transpose8_sse2(const uint8_t *const s[8], size_t i, uint8_t *o)
{
	const __m128i x0 = _mm_loadu_si128((const __m128i *) (s[0] + i));
	const __m128i x1 = _mm_loadu_si128((const __m128i *) (s[1] + i));
	const __m128i x2 = _mm_loadu_si128((const __m128i *) (s[2] + i));
	const __m128i x3 = _mm_loadu_si128((const __m128i *) (s[3] + i));
	const __m128i x4 = _mm_loadu_si128((const __m128i *) (s[4] + i));
	const __m128i x5 = _mm_loadu_si128((const __m128i *) (s[5] + i));
	const __m128i x6 = _mm_loadu_si128((const __m128i *) (s[6] + i));
	const __m128i x7 = _mm_loadu_si128((const __m128i *) (s[7] + i));
	/* bytes (0,1), (2,3), (4,5), (6,7) of values 0..7 (l) and 8..15 (h) */
	const __m128i t01l = _mm_unpacklo_epi8(x0, x1), t01h = _mm_unpackhi_epi8(x0, x1);
	const __m128i t23l = _mm_unpacklo_epi8(x2, x3), t23h = _mm_unpackhi_epi8(x2, x3);
	const __m128i t45l = _mm_unpacklo_epi8(x4, x5), t45h = _mm_unpackhi_epi8(x4, x5);
	const __m128i t67l = _mm_unpacklo_epi8(x6, x7), t67h = _mm_unpackhi_epi8(x6, x7);
	/* bytes 0..3 (a) and 4..7 (b) of values 0-3, 4-7, 8-11, 12-15 */
	const __m128i a0 = _mm_unpacklo_epi16(t01l, t23l), a1 = _mm_unpackhi_epi16(t01l, t23l);
	const __m128i a2 = _mm_unpacklo_epi16(t01h, t23h), a3 = _mm_unpackhi_epi16(t01h, t23h);
	const __m128i b0 = _mm_unpacklo_epi16(t45l, t67l), b1 = _mm_unpackhi_epi16(t45l, t67l);
	const __m128i b2 = _mm_unpacklo_epi16(t45h, t67h), b3 = _mm_unpackhi_epi16(t45h, t67h);
	_mm_storeu_si128((__m128i *) o, _mm_unpacklo_epi32(a0, b0));
	_mm_storeu_si128((__m128i *) (o + 16), _mm_unpackhi_epi32(a0, b0));
	_mm_storeu_si128((__m128i *) (o + 32), _mm_unpacklo_epi32(a1, b1));
	_mm_storeu_si128((__m128i *) (o + 48), _mm_unpackhi_epi32(a1, b1));
	_mm_storeu_si128((__m128i *) (o + 64), _mm_unpacklo_epi32(a2, b2));
	_mm_storeu_si128((__m128i *) (o + 80), _mm_unpackhi_epi32(a2, b2));
	_mm_storeu_si128((__m128i *) (o + 96), _mm_unpacklo_epi32(a3, b3));
	_mm_storeu_si128((__m128i *) (o + 112), _mm_unpackhi_epi32(a3, b3));
}
#endif

bool
pq_bss_decode(const uint8_t *p, size_t n, size_t width, int64_t count,
			  void *out, uint64_t base, lk_error *err)
{
	if (count < 0)
		return fail_count(err, count);
	if (width == 0) {
		lk_error_set(err, LK_ERR_INVALID, "byte stream split of zero-width values");
		return false;
	}
	size_t stride = n / width;
	if ((uint64_t) count > stride)
		return fail_at(err, base + n,
					   "byte stream split data holds %zu values of %zu bytes, %lld expected",
					   stride, width, (long long) count);
	uint8_t *o = out;
	size_t c = (size_t) count, i = 0;
	if (width == 4) {
		const uint8_t *s0 = p, *s1 = p + stride, *s2 = p + 2 * stride,
			*s3 = p + 3 * stride;
#if defined(__SSE2__)
		for (; i + 16 <= c; i += 16)
			bss_transpose4_sse2(s0 + i, s1 + i, s2 + i, s3 + i, o + 4 * i);
#endif
		for (; i < c; i++) {
			o[4 * i] = s0[i];
			o[4 * i + 1] = s1[i];
			o[4 * i + 2] = s2[i];
			o[4 * i + 3] = s3[i];
		}
	} else if (width == 8) {
		const uint8_t *s[8];
		for (int k = 0; k < 8; k++)
			s[k] = p + (size_t) k * stride;
#if defined(__SSE2__)
		for (; i + 16 <= c; i += 16)
			bss_transpose8_sse2(s, i, o + 8 * i);
#endif
		for (; i < c; i++)
			for (int k = 0; k < 8; k++)
				o[8 * i + (size_t) k] = s[k][i];
	} else {
		for (size_t k = 0; k < width; k++) {
			const uint8_t *sk = p + k * stride;
			for (i = 0; i < c; i++)
				o[i * width + k] = sk[i];
		}
	}
	return true;
}

void
pq_bss_encode(lk_buf *out, const void *v, size_t width, int64_t n)
{
	if (n <= 0 || width == 0)
		return;
	size_t c = (size_t) n;
	const uint8_t *src = v;
	lk_buf_reserve(out, c * width);
	uint8_t *dst = out->data + out->len;
	for (size_t k = 0; k < width; k++) {
		uint8_t *s = dst + k * c;
		for (size_t i = 0; i < c; i++)
			s[i] = src[i * width + k];
	}
	out->len += c * width;
}
