/*
 * compress.h — page compression codecs for Parquet.  Internal to the codec.
 * codec values: pq_codec (parquet.h) plus PQ_CODEC_LZ4_HADOOP (meta.h).
 */
#ifndef PQ_COMPRESS_H
#define PQ_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

/* Append the compressed form of src[0..n) to out. level 0 = codec default.
 * Writers use UNCOMPRESSED, SNAPPY, GZIP, BROTLI, ZSTD, LZ4_RAW. */
bool pq_compress(int codec, int level, const uint8_t *src, size_t n,
				 lk_buf *out, lk_error *err);

/* Decompress src[0..n) into dst, which must come out exactly `expected`
 * bytes long (the page header's uncompressed size); anything else is
 * LK_ERR_CORRUPT. Never writes past dst[expected]. GZIP accepts
 * concatenated members; LZ4_HADOOP accepts Hadoop framing and falls back
 * to raw LZ4 blocks; LZO is refused as unsupported. */
bool pq_decompress(int codec, const uint8_t *src, size_t n, uint8_t *dst,
				   size_t expected, lk_error *err);

#endif
