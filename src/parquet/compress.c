/*
 * compress.c — Parquet page compression codecs.
 *
 * Every codec decompresses into a caller buffer of exactly the page
 * header's uncompressed size and fails with LK_ERR_CORRUPT (naming the
 * codec) when the data does not produce exactly that many bytes.
 *
 * Wire layouts that are not just "one block of the codec":
 *
 *   GZIP (2)        one or more gzip members back to back (zlib-wrapped
 *                   data is also accepted); all input must be consumed.
 *   LZ4 (5)         Hadoop framing, repeated until the input ends:
 *                     [u32 BE uncompressed size][u32 BE compressed size]
 *                     [compressed size bytes: one raw LZ4 block]
 *                   Files written by some older Arrow versions hold a bare
 *                   LZ4 block instead; when the framing does not parse
 *                   exactly, the input is decoded as one raw LZ4 block.
 *   LZ4_RAW (7)     one raw LZ4 block (no frame, no size prefix).
 *   ZSTD (6)        one or more zstd frames.
 *
 * Zero input bytes with zero expected bytes are accepted under every known
 * codec (an empty v2 values section that a writer did not compress).
 *
 * Default levels (level 0): GZIP 6, BROTLI quality 4 (window 22; quality
 * 11, brotli's own default, is an order of magnitude slower to write for a
 * few percent), ZSTD 3. SNAPPY and LZ4 have no levels; the level is ignored.
 *
 * ZSTD contexts are kept per thread (pthread key, freed at thread exit) and
 * reused across pages.
 */
#include "parquet/compress.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <brotli/decode.h>
#include <brotli/encode.h>
#include <lz4.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "parquet/meta.h"
#include "parquet/parquet.h"

#define PQ_GZIP_DEFAULT_LEVEL 6
#define PQ_BROTLI_DEFAULT_QUALITY 4
#define PQ_ZSTD_DEFAULT_LEVEL 3

/* ---- helpers ------------------------------------------------------------- */

static bool
corrupt(lk_error *err, size_t n, const char *codec, const char *what)
{
	lk_error_set(err, LK_ERR_CORRUPT, "corrupt %s data: %s", codec, what);
	return lk_error_where(err, "compressed page of %zu bytes", n);
}

static bool
size_mismatch(lk_error *err, size_t n, const char *codec, size_t got,
			  size_t expected)
{
	lk_error_set(err, LK_ERR_CORRUPT,
				 "%s data decompresses to %zu bytes, page header says %zu",
				 codec, got, expected);
	return lk_error_where(err, "compressed page of %zu bytes", n);
}

static bool
too_large(lk_error *err, size_t n, const char *codec, size_t expected)
{
	lk_error_set(err, LK_ERR_CORRUPT,
				 "%s data decompresses to more than the %zu bytes the page header says",
				 codec, expected);
	return lk_error_where(err, "compressed page of %zu bytes", n);
}

static bool
unsupported(lk_error *err, int codec)
{
	if (codec == PQ_CODEC_LZO)
		return lk_error_set(err, LK_ERR_UNSUPPORTED,
							"lzo compression is not supported");
	return lk_error_set(err, LK_ERR_UNSUPPORTED,
						"unknown compression codec %d", codec);
}

static inline uint32_t
load_u32be(const uint8_t *p)
{
	return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 |
		(uint32_t) p[2] << 8 | (uint32_t) p[3];
}

static void
store_u32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

/* ---- per-thread zstd contexts -------------------------------------------- */

typedef struct zstd_ctx {
	ZSTD_CCtx *c;
	ZSTD_DCtx *d;
} zstd_ctx;

static pthread_key_t zstd_key;
static pthread_once_t zstd_once = PTHREAD_ONCE_INIT;
static bool zstd_key_ok;

static void
zstd_ctx_free(void *p)
{
	zstd_ctx *z = p;
	if (!z)
		return;
	ZSTD_freeCCtx(z->c);
	ZSTD_freeDCtx(z->d);
	free(z);
}

static void
zstd_key_init(void)
{
	zstd_key_ok = pthread_key_create(&zstd_key, zstd_ctx_free) == 0;
}

/* This thread's contexts (created on first use; owned by the thread key,
 * freed when the thread exits). NULL if they cannot be created. */
static zstd_ctx *
zstd_ctx_get(void)
{
	pthread_once(&zstd_once, zstd_key_init);
	if (!zstd_key_ok)
		return NULL;
	zstd_ctx *z = pthread_getspecific(zstd_key);
	if (!z) {
		z = calloc(1, sizeof(*z));
		if (!z)
			return NULL;
		if (pthread_setspecific(zstd_key, z) != 0) {
			free(z);
			return NULL;
		}
	}
	return z;
}

/* ---- compress ------------------------------------------------------------ */

static bool
gzip_compress(int level, const uint8_t *src, size_t n, lk_buf *out,
			  lk_error *err)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (level == 0)
		level = PQ_GZIP_DEFAULT_LEVEL;
	if (level < 1)
		level = 1;
	if (level > 9)
		level = 9;
	if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8,
					 Z_DEFAULT_STRATEGY) != Z_OK)
		return lk_error_set(err, LK_ERR_NOMEM, "could not initialise gzip");
	size_t bound = deflateBound(&zs, (uLong) n);
	lk_buf_reserve(out, bound);
	uint8_t dummy = 0;
	zs.next_in = n ? (Bytef *) src : &dummy;
	zs.avail_in = (uInt) n;
	zs.next_out = out->data + out->len;
	zs.avail_out = (uInt) bound;
	int rc = deflate(&zs, Z_FINISH);
	size_t produced = bound - zs.avail_out;
	deflateEnd(&zs);
	if (rc != Z_STREAM_END)
		return lk_error_set(err, LK_ERR_INTERNAL, "gzip compression failed (%d)",
							rc);
	out->len += produced;
	return true;
}

bool
pq_compress(int codec, int level, const uint8_t *src, size_t n, lk_buf *out,
			lk_error *err)
{
	switch (codec) {
	case PQ_CODEC_UNCOMPRESSED:
		lk_buf_append(out, src, n);
		return true;

	case PQ_CODEC_SNAPPY: {
		size_t cap = snappy_max_compressed_length(n);
		lk_buf_reserve(out, cap);
		if (snappy_compress((const char *) src, n,
							(char *) out->data + out->len, &cap) != SNAPPY_OK)
			return lk_error_set(err, LK_ERR_INTERNAL,
								"snappy compression failed");
		out->len += cap;
		return true;
	}

	case PQ_CODEC_GZIP:
		if (n > UINT_MAX / 2)
			return lk_error_set(err, LK_ERR_UNSUPPORTED,
								"page of %zu bytes is too large for gzip", n);
		return gzip_compress(level, src, n, out, err);

	case PQ_CODEC_BROTLI: {
		int q = level == 0 ? PQ_BROTLI_DEFAULT_QUALITY : level;
		if (q < BROTLI_MIN_QUALITY)
			q = BROTLI_MIN_QUALITY;
		if (q > BROTLI_MAX_QUALITY)
			q = BROTLI_MAX_QUALITY;
		size_t cap = BrotliEncoderMaxCompressedSize(n);
		if (cap == 0)
			return lk_error_set(err, LK_ERR_UNSUPPORTED,
								"page of %zu bytes is too large for brotli", n);
		lk_buf_reserve(out, cap);
		if (!BrotliEncoderCompress(q, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC,
								   n, src, &cap, out->data + out->len))
			return lk_error_set(err, LK_ERR_INTERNAL,
								"brotli compression failed");
		out->len += cap;
		return true;
	}

	case PQ_CODEC_ZSTD: {
		zstd_ctx *z = zstd_ctx_get();
		if (z && !z->c)
			z->c = ZSTD_createCCtx();
		if (!z || !z->c)
			return lk_error_set(err, LK_ERR_NOMEM,
								"could not create a zstd context");
		size_t cap = ZSTD_compressBound(n);
		lk_buf_reserve(out, cap);
		size_t r = ZSTD_compressCCtx(z->c, out->data + out->len, cap, src, n,
									 level == 0 ? PQ_ZSTD_DEFAULT_LEVEL : level);
		if (ZSTD_isError(r))
			return lk_error_set(err, LK_ERR_INTERNAL,
								"zstd compression failed: %s",
								ZSTD_getErrorName(r));
		out->len += r;
		return true;
	}

	case PQ_CODEC_LZ4_RAW:
	case PQ_CODEC_LZ4_HADOOP: {
		if (n > (size_t) LZ4_MAX_INPUT_SIZE)
			return lk_error_set(err, LK_ERR_UNSUPPORTED,
								"page of %zu bytes is too large for lz4", n);
		int cap = LZ4_compressBound((int) n);
		size_t hdr = codec == PQ_CODEC_LZ4_HADOOP ? 8 : 0;
		lk_buf_reserve(out, hdr + (size_t) cap);
		int r = LZ4_compress_default((const char *) src,
									 (char *) out->data + out->len + hdr,
									 (int) n, cap);
		if (r <= 0)
			return lk_error_set(err, LK_ERR_INTERNAL, "lz4 compression failed");
		if (hdr) {
			store_u32be(out->data + out->len, (uint32_t) n);
			store_u32be(out->data + out->len + 4, (uint32_t) r);
		}
		out->len += hdr + (size_t) r;
		return true;
	}

	default:
		return unsupported(err, codec);
	}
}

/* ---- decompress ---------------------------------------------------------- */

static bool
gzip_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t expected,
				lk_error *err)
{
	z_stream zs;
	uint8_t dummy_in = 0, dummy_out = 0;
	size_t in_left = n, produced = 0;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 32) != Z_OK)
		return lk_error_set(err, LK_ERR_NOMEM, "could not initialise gzip");
	zs.next_in = n ? (Bytef *) src : &dummy_in;
	for (;;) {
		/* feed and drain in chunks that fit zlib's 32-bit counters */
		uInt in_chunk = in_left > UINT_MAX ? UINT_MAX : (uInt) in_left;
		size_t out_left = expected - produced;
		uInt out_chunk = out_left > UINT_MAX ? UINT_MAX : (uInt) out_left;
		zs.avail_in = in_chunk;
		zs.next_out = out_chunk ? dst + produced : &dummy_out;
		zs.avail_out = out_chunk;
		int rc = inflate(&zs, Z_NO_FLUSH);
		in_left -= in_chunk - zs.avail_in;
		produced += out_chunk - zs.avail_out;
		if (rc == Z_STREAM_END) {
			if (in_left == 0)
				break;
			/* another gzip member follows */
			if (inflateReset(&zs) != Z_OK) {
				inflateEnd(&zs);
				return corrupt(err, n, "gzip", "could not reset the stream");
			}
			continue;
		}
		if (rc == Z_OK)
			continue;
		if (rc == Z_BUF_ERROR) {
			inflateEnd(&zs);
			if (produced == expected && zs.avail_out == 0)
				return too_large(err, n, "gzip", expected);
			return corrupt(err, n, "gzip", "truncated stream");
		}
		const char *msg = zs.msg ? zs.msg : "inflate failed";
		char buf[200];
		strncpy(buf, msg, sizeof(buf) - 1);
		buf[sizeof(buf) - 1] = '\0';
		inflateEnd(&zs);
		return corrupt(err, n, "gzip", buf);
	}
	inflateEnd(&zs);
	if (produced != expected)
		return size_mismatch(err, n, "gzip", produced, expected);
	return true;
}

static bool
brotli_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t expected,
				  lk_error *err)
{
	BrotliDecoderState *s = BrotliDecoderCreateInstance(NULL, NULL, NULL);
	uint8_t dummy = 0;
	if (!s)
		return lk_error_set(err, LK_ERR_NOMEM, "could not create a brotli decoder");
	size_t avail_in = n, avail_out = expected;
	const uint8_t *next_in = n ? src : &dummy;
	uint8_t *next_out = expected ? dst : &dummy;
	BrotliDecoderResult r = BrotliDecoderDecompressStream(
		s, &avail_in, &next_in, &avail_out, &next_out, NULL);
	const char *why = NULL;
	if (r == BROTLI_DECODER_RESULT_ERROR)
		why = BrotliDecoderErrorString(BrotliDecoderGetErrorCode(s));
	BrotliDecoderDestroyInstance(s);
	switch (r) {
	case BROTLI_DECODER_RESULT_SUCCESS:
		if (avail_in != 0)
			return corrupt(err, n, "brotli", "bytes after the end of the stream");
		if (avail_out != 0)
			return size_mismatch(err, n, "brotli", expected - avail_out, expected);
		return true;
	case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT:
		return too_large(err, n, "brotli", expected);
	case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT:
		return corrupt(err, n, "brotli", "truncated stream");
	default:
		return corrupt(err, n, "brotli", why ? why : "decoder error");
	}
}

/* Raw LZ4 block into dst[0..cap); returns bytes produced or -1. */
static int64_t
lz4_block(const uint8_t *src, size_t n, uint8_t *dst, size_t cap)
{
	uint8_t dummy = 0;
	if (n > (size_t) INT_MAX)
		return -1;
	if (cap > (size_t) INT_MAX)
		cap = INT_MAX;
	int r = LZ4_decompress_safe((const char *) (n ? src : &dummy),
								(char *) (cap ? dst : &dummy), (int) n,
								(int) cap);
	return r < 0 ? -1 : r;
}

static bool
lz4_hadoop_decompress(const uint8_t *src, size_t n, uint8_t *dst,
					  size_t expected)
{
	size_t pos = 0, produced = 0;
	while (n - pos >= 8) {
		uint32_t usize = load_u32be(src + pos);
		uint32_t csize = load_u32be(src + pos + 4);
		pos += 8;
		if (csize > n - pos || usize > expected - produced)
			return false;
		int64_t r = lz4_block(src + pos, csize, dst + produced, usize);
		if (r < 0 || (uint64_t) r != usize)
			return false;
		pos += csize;
		produced += usize;
	}
	return pos == n && produced == expected;
}

bool
pq_decompress(int codec, const uint8_t *src, size_t n, uint8_t *dst,
			  size_t expected, lk_error *err)
{
	/* Some writers leave an empty v2 values section uncompressed: zero
	 * bytes stand for zero bytes under every codec. */
	if (n == 0 && expected == 0 &&
		(codec == PQ_CODEC_UNCOMPRESSED || codec == PQ_CODEC_SNAPPY ||
		 codec == PQ_CODEC_GZIP || codec == PQ_CODEC_BROTLI ||
		 codec == PQ_CODEC_ZSTD || codec == PQ_CODEC_LZ4_RAW ||
		 codec == PQ_CODEC_LZ4_HADOOP))
		return true;
	switch (codec) {
	case PQ_CODEC_UNCOMPRESSED:
		if (n != expected)
			return size_mismatch(err, n, "uncompressed", n, expected);
		if (n)
			memcpy(dst, src, n);
		return true;

	case PQ_CODEC_SNAPPY: {
		size_t len;
		if (snappy_uncompressed_length((const char *) src, n, &len) != SNAPPY_OK)
			return corrupt(err, n, "snappy", "bad length header");
		if (len != expected)
			return size_mismatch(err, n, "snappy", len, expected);
		char dummy = 0;
		size_t got = expected;
		if (snappy_uncompress((const char *) src, n,
							  expected ? (char *) dst : &dummy, &got) != SNAPPY_OK)
			return corrupt(err, n, "snappy", "invalid stream");
		if (got != expected)
			return size_mismatch(err, n, "snappy", got, expected);
		return true;
	}

	case PQ_CODEC_GZIP:
		return gzip_decompress(src, n, dst, expected, err);

	case PQ_CODEC_BROTLI:
		return brotli_decompress(src, n, dst, expected, err);

	case PQ_CODEC_ZSTD: {
		zstd_ctx *z = zstd_ctx_get();
		if (z && !z->d)
			z->d = ZSTD_createDCtx();
		if (!z || !z->d)
			return lk_error_set(err, LK_ERR_NOMEM,
								"could not create a zstd context");
		uint8_t dummy = 0;
		size_t r = ZSTD_decompressDCtx(z->d, expected ? dst : &dummy, expected,
									   n ? src : &dummy, n);
		if (ZSTD_isError(r)) {
			if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall)
				return too_large(err, n, "zstd", expected);
			return corrupt(err, n, "zstd", ZSTD_getErrorName(r));
		}
		if (r != expected)
			return size_mismatch(err, n, "zstd", r, expected);
		return true;
	}

	case PQ_CODEC_LZ4_RAW: {
		if (n > (size_t) INT_MAX || expected > (size_t) INT_MAX)
			return lk_error_set(err, LK_ERR_UNSUPPORTED,
								"lz4 page of %zu bytes is too large", expected);
		int64_t r = lz4_block(src, n, dst, expected);
		if (r < 0)
			return corrupt(err, n, "lz4_raw",
						   "invalid block or larger than the page header says");
		if ((size_t) r != expected)
			return size_mismatch(err, n, "lz4_raw", (size_t) r, expected);
		return true;
	}

	case PQ_CODEC_LZ4_HADOOP: {
		if (lz4_hadoop_decompress(src, n, dst, expected))
			return true;
		int64_t r = lz4_block(src, n, dst, expected);
		if (r >= 0 && (size_t) r == expected)
			return true;
		return corrupt(err, n, "lz4",
					   "neither hadoop-framed nor a raw block of the expected size");
	}

	default:
		return unsupported(err, codec);
	}
}
