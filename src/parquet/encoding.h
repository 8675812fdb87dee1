/*
 * encoding.h — Parquet value and level encodings, both directions.
 * Internal to the codec.  Every decoder checks bounds on every read and
 * fails with LK_ERR_CORRUPT naming `base + offset` (the absolute position
 * of the encoded bytes in the file); none allocates by an unchecked length.
 */
#ifndef PQ_ENCODING_H
#define PQ_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"

/* A byte string inside a page buffer or an arena (not owned). */
typedef struct pq_byte_view {
	const uint8_t *ptr;
	uint32_t len;
} pq_byte_view;

/* Bits needed to store max_value (0 → 0). */
int pq_bit_width(uint64_t max_value);

/* ---- RLE / bit-packed hybrid (levels, dictionary indices, booleans) ---- */

typedef struct pq_rle_decoder {
	const uint8_t *p, *end;
	uint64_t base;              /* absolute offset of the first byte */
	const uint8_t *start;
	int bit_width;              /* 0..32 */
	/* current run */
	int64_t rle_left;           /* values left in an RLE run */
	uint32_t rle_value;
	int64_t packed_left;        /* values left in a bit-packed run */
	const uint8_t *packed;      /* next bit-packed group */
	int64_t packed_index;       /* bit index inside packed */
} pq_rle_decoder;

/* Decoder over p[0..n) (no length prefix: callers strip the 4-byte prefix
 * of v1 levels). bit_width must be 0..32. */
void pq_rle_decoder_init(pq_rle_decoder *d, const uint8_t *p, size_t n,
						 int bit_width, uint64_t base);
/* Next `count` values into out; running out of data is an error. */
bool pq_rle_decoder_get(pq_rle_decoder *d, uint32_t *out, int64_t count,
						lk_error *err);
/* Encode values (each < 2^bit_width) as RLE runs and bit-packed groups.
 * Appends to out, no length prefix. Deterministic. */
void pq_rle_encode(lk_buf *out, const uint32_t *v, int64_t n, int bit_width);

/* Deprecated BIT_PACKED encoding of levels (MSB-first bit order). */
bool pq_bitpacked_legacy_decode(const uint8_t *p, size_t n, int bit_width,
								uint32_t *out, int64_t count, uint64_t base,
								lk_error *err);

/* ---- PLAIN -------------------------------------------------------------- */

/* count values of `width` bytes (INT32 4, INT64 8, INT96 12, FLOAT 4,
 * DOUBLE 8, FIXED_LEN_BYTE_ARRAY type_length) copied into out.
 * *consumed = bytes used. */
bool pq_plain_decode_fixed(const uint8_t *p, size_t n, size_t width,
						   int64_t count, void *out, size_t *consumed,
						   uint64_t base, lk_error *err);
/* Booleans: one bit each, LSB first; out gets 0/1 bytes. */
bool pq_plain_decode_bool(const uint8_t *p, size_t n, int64_t count,
						  uint8_t *out, size_t *consumed, uint64_t base,
						  lk_error *err);
/* BYTE_ARRAY: 4-byte little-endian length + bytes; views point into p. */
bool pq_plain_decode_byte_array(const uint8_t *p, size_t n, int64_t count,
								pq_byte_view *out, size_t *consumed,
								uint64_t base, lk_error *err);
void pq_plain_encode_bool(lk_buf *out, const uint8_t *v, int64_t n);
void pq_plain_encode_byte_array(lk_buf *out, const void *p, uint32_t len);

/* ---- DELTA_BINARY_PACKED ------------------------------------------------ */

/* Decode exactly count values (wrapping arithmetic, as the spec says).
 * *consumed = bytes used (the encoding is self-delimiting). */
bool pq_delta_bp_decode_i64(const uint8_t *p, size_t n, int64_t count,
							int64_t *out, size_t *consumed, uint64_t base,
							lk_error *err);
bool pq_delta_bp_decode_i32(const uint8_t *p, size_t n, int64_t count,
							int32_t *out, size_t *consumed, uint64_t base,
							lk_error *err);
/* Block size 128, 4 miniblocks. */
void pq_delta_bp_encode_i64(lk_buf *out, const int64_t *v, int64_t n);
void pq_delta_bp_encode_i32(lk_buf *out, const int32_t *v, int64_t n);

/* ---- DELTA_LENGTH_BYTE_ARRAY / DELTA_BYTE_ARRAY ------------------------- */

/* Views point into p. */
bool pq_delta_length_decode(const uint8_t *p, size_t n, int64_t count,
							pq_byte_view *out, size_t *consumed, uint64_t base,
							lk_error *err);
/* Values are rebuilt (prefix + suffix) into memory from `arena`; views point
 * there. Prefixes restart at each page. */
bool pq_delta_byte_array_decode(const uint8_t *p, size_t n, int64_t count,
								pq_byte_view *out, lk_arena *arena,
								size_t *consumed, uint64_t base,
								lk_error *err);
void pq_delta_length_encode(lk_buf *out, const pq_byte_view *v, int64_t n);
void pq_delta_byte_array_encode(lk_buf *out, const pq_byte_view *v, int64_t n);

/* ---- BYTE_STREAM_SPLIT -------------------------------------------------- */

/* count values of `width` bytes (FLOAT, DOUBLE, INT32, INT64, FLBA). The
 * page holds exactly count*width bytes for these values. */
bool pq_bss_decode(const uint8_t *p, size_t n, size_t width, int64_t count,
				   void *out, uint64_t base, lk_error *err);
void pq_bss_encode(lk_buf *out, const void *v, size_t width, int64_t n);

#endif
