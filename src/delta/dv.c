/*
 * dv.c — deletion vectors: Z85, descriptors, DV files, RoaringBitmapArray.
 *
 * DV file (PROTOCOL.md "Deletion Vector File Storage Format", big-endian):
 *
 *   +---------+  byte 0
 *   | 0x01    |  format version
 *   +---------+  ... one or more DVs, each at its descriptor's offset:
 *   | u32 BE  |  dataSize (== descriptor sizeInBytes)
 *   | data    |  dataSize bytes, see below
 *   | u32 BE  |  CRC-32 of data
 *   +---------+
 *
 * data (PROTOCOL.md "Deletion Vector Format", little-endian):
 *
 *   u32 LE   magic 1681511377
 *   u64 LE   number of buckets
 *   per bucket, keys ascending, key < 2^31:
 *     u32 LE key (high 32 bits of the row indexes)
 *     portable 32-bit roaring bitmap (RoaringFormatSpec):
 *       u32 LE cookie: 12346 → u32 LE container count follows, no run
 *                      containers; (cookie & 0xffff) == 12347 → count is
 *                      (cookie >> 16) + 1, then ceil(count/8) bytes of
 *                      "is a run container" bits
 *       per container: u16 LE key (high 16 bits), u16 LE cardinality - 1
 *       u32 LE offsets per container (absent when the run cookie is used
 *                      and count < 4; ignored: containers are contiguous)
 *       containers:  run:    u16 LE n, then n × (u16 start, u16 length-1)
 *                    bitset: 1024 × u64 LE (cardinality > 4096)
 *                    array:  cardinality × u16 LE, ascending
 */
#include "delta/dv.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <zlib.h>

#define SERIAL_COOKIE_NO_RUN 12346u
#define SERIAL_COOKIE 12347u
#define NO_OFFSET_THRESHOLD 4u

/* Size limits for on-disk DVs read from a (trusted but maybe corrupt) log:
 * a DV larger than this is refused rather than allocated. */
#define DV_MAX_BYTES (256u * 1024 * 1024)

/* ---- bitmap ------------------------------------------------------------- */

void
dl_bitmap_init(dl_bitmap *b)
{
	memset(b, 0, sizeof(*b));
}

void
dl_bitmap_free(dl_bitmap *b)
{
	for (int i = 0; i < b->nbuckets; i++)
		roaring_bitmap_free(b->maps[i]);
	free(b->keys);
	free(b->maps);
	dl_bitmap_init(b);
}

/* Index of bucket `key`, creating it when `create`; -1 when absent. */
static int
bucket(dl_bitmap *b, uint32_t key, bool create)
{
	int lo = 0, hi = b->nbuckets;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (b->keys[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < b->nbuckets && b->keys[lo] == key)
		return lo;
	if (!create)
		return -1;
	if (b->nbuckets == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 4;
		b->keys = lk_xrealloc(b->keys, sizeof(*b->keys) * (size_t) b->cap);
		b->maps = lk_xrealloc(b->maps, sizeof(*b->maps) * (size_t) b->cap);
	}
	memmove(b->keys + lo + 1, b->keys + lo, sizeof(*b->keys) * (size_t) (b->nbuckets - lo));
	memmove(b->maps + lo + 1, b->maps + lo, sizeof(*b->maps) * (size_t) (b->nbuckets - lo));
	b->keys[lo] = key;
	b->maps[lo] = roaring_bitmap_create();
	if (!b->maps[lo]) {
		fprintf(stderr, "out of memory\n");
		abort();
	}
	b->nbuckets++;
	return lo;
}

void
dl_bitmap_add(dl_bitmap *b, uint64_t row)
{
	int i = bucket(b, (uint32_t) (row >> 32), true);
	roaring_bitmap_add(b->maps[i], (uint32_t) row);
}

void
dl_bitmap_add_range(dl_bitmap *b, uint64_t from, uint64_t to)
{
	while (from < to) {
		uint32_t key = (uint32_t) (from >> 32);
		uint64_t bucket_end = ((uint64_t) key + 1) << 32;   /* exclusive */
		uint64_t end = to < bucket_end || key == UINT32_MAX ? to : bucket_end;
		int i = bucket(b, key, true);
		roaring_bitmap_add_range_closed(b->maps[i], (uint32_t) from,
										(uint32_t) (end - 1));
		if (end == to)
			break;
		from = end;
	}
}

bool
dl_bitmap_contains(const dl_bitmap *b, uint64_t row)
{
	int i = bucket((dl_bitmap *) b, (uint32_t) (row >> 32), false);
	return i >= 0 && roaring_bitmap_contains(b->maps[i], (uint32_t) row);
}

uint64_t
dl_bitmap_cardinality(const dl_bitmap *b)
{
	uint64_t n = 0;
	for (int i = 0; i < b->nbuckets; i++)
		n += roaring_bitmap_get_cardinality(b->maps[i]);
	return n;
}

bool
dl_bitmap_to_array(const dl_bitmap *b, uint64_t max_rows, uint64_t **rows,
				   size_t *n, lk_error *err)
{
	uint64_t card = dl_bitmap_cardinality(b);
	*rows = NULL;
	*n = 0;
	if (card > max_rows)
		return lk_error_set(err, LK_ERR_NOMEM,
							"deletion vector has %" PRIu64 " rows, more than the "
							"limit of %" PRIu64, card, max_rows);
	if (!card)
		return true;
	uint64_t *out = lk_xmalloc(sizeof(uint64_t) * (size_t) card);
	uint32_t *tmp = NULL;
	size_t pos = 0;
	for (int i = 0; i < b->nbuckets; i++) {
		uint64_t c = roaring_bitmap_get_cardinality(b->maps[i]);
		tmp = lk_xrealloc(tmp, sizeof(uint32_t) * (size_t) (c ? c : 1));
		roaring_bitmap_to_uint32_array(b->maps[i], tmp);
		for (uint64_t j = 0; j < c; j++)
			out[pos++] = ((uint64_t) b->keys[i] << 32) | tmp[j];
	}
	free(tmp);
	*rows = out;
	*n = pos;
	return true;
}

bool
dl_bitmap_serialize(const dl_bitmap *b, lk_buf *out, lk_error *err)
{
	int nonempty = 0;
	for (int i = 0; i < b->nbuckets; i++) {
		if (b->keys[i] & 0x80000000u)
			return lk_error_set(err, LK_ERR_INVALID,
								"deletion vector row index %" PRIu64 " is too large",
								(uint64_t) b->keys[i] << 32);
		if (!roaring_bitmap_is_empty(b->maps[i]))
			nonempty++;
	}
	lk_buf_append_u32le(out, DL_DV_MAGIC);
	lk_buf_append_u64le(out, (uint64_t) nonempty);
	for (int i = 0; i < b->nbuckets; i++) {
		if (roaring_bitmap_is_empty(b->maps[i]))
			continue;
		roaring_bitmap_t *copy = roaring_bitmap_copy(b->maps[i]);
		roaring_bitmap_run_optimize(copy);
		size_t sz = roaring_bitmap_portable_size_in_bytes(copy);
		lk_buf_append_u32le(out, b->keys[i]);
		lk_buf_reserve(out, sz);
		size_t w = roaring_bitmap_portable_serialize(copy, (char *) out->data + out->len);
		roaring_bitmap_free(copy);
		if (w != sz)
			return lk_error_set(err, LK_ERR_INTERNAL,
								"roaring serialization wrote %zu bytes, expected %zu",
								w, sz);
		out->len += w;
	}
	return true;
}

static bool
bm_corrupt(lk_cursor *c, const char *fmt, uint64_t v)
{
	char msg[200];
	snprintf(msg, sizeof(msg), fmt, v);
	lk_error_set(c->err, LK_ERR_CORRUPT, "invalid deletion vector bitmap: %s", msg);
	return lk_error_where(c->err, "byte offset %" PRIu64, c->base + c->pos);
}

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t) (p[0] | (p[1] << 8));
}

/* One portable 32-bit roaring bitmap into r; tmp has room for 65536. */
static bool
parse_roaring32(lk_cursor *c, roaring_bitmap_t *r, uint32_t *tmp)
{
	uint32_t cookie, count;
	const uint8_t *runbits = NULL, *hdr;
	bool has_run;

	LK_FORWARD(lk_cursor_get_u32le(c, &cookie));
	if ((cookie & 0xffffu) == SERIAL_COOKIE) {
		has_run = true;
		count = (cookie >> 16) + 1;
		LK_FORWARD(lk_cursor_get_bytes(c, (count + 7) / 8, &runbits));
	} else if (cookie == SERIAL_COOKIE_NO_RUN) {
		has_run = false;
		LK_FORWARD(lk_cursor_get_u32le(c, &count));
		if (count > 65536)
			return bm_corrupt(c, "%" PRIu64 " containers (at most 65536)", count);
	} else {
		return bm_corrupt(c, "unknown roaring cookie %" PRIu64, cookie);
	}
	LK_FORWARD(lk_cursor_get_bytes(c, (size_t) count * 4, &hdr));
	if (!has_run || count >= NO_OFFSET_THRESHOLD)
		LK_FORWARD(lk_cursor_skip(c, (size_t) count * 4));
	int prev_key = -1;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t key = rd16(hdr + 4 * i);
		uint32_t card = (uint32_t) rd16(hdr + 4 * i + 2) + 1;
		uint32_t high = key << 16;
		if ((int) key <= prev_key)
			return bm_corrupt(c, "container keys not ascending at key %" PRIu64, key);
		prev_key = (int) key;
		if (has_run && (runbits[i / 8] >> (i % 8)) & 1) {
			const uint8_t *p;
			LK_FORWARD(lk_cursor_get_bytes(c, 2, &p));
			uint32_t nruns = rd16(p);
			LK_FORWARD(lk_cursor_get_bytes(c, (size_t) nruns * 4, &p));
			uint32_t total = 0;
			int64_t prev_end = -1;
			for (uint32_t k = 0; k < nruns; k++) {
				uint32_t start = rd16(p + 4 * k);
				uint32_t end = start + rd16(p + 4 * k + 2);
				if (end > 0xffff)
					return bm_corrupt(c, "run container overflows its key %" PRIu64, key);
				if ((int64_t) start <= prev_end)
					return bm_corrupt(c, "run container not sorted at key %" PRIu64, key);
				prev_end = end;
				total += end - start + 1;
				roaring_bitmap_add_range_closed(r, high | start, high | end);
			}
			if (total != card)
				return bm_corrupt(c, "run container cardinality mismatch at key %" PRIu64,
								  key);
		} else if (card > 4096) {
			const uint8_t *p;
			LK_FORWARD(lk_cursor_get_bytes(c, 8192, &p));
			uint32_t m = 0;
			for (uint32_t w = 0; w < 1024; w++) {
				uint64_t word = 0;
				for (int k = 7; k >= 0; k--)
					word = (word << 8) | p[8 * w + (uint32_t) k];
				while (word) {
					int bit = __builtin_ctzll(word);
					tmp[m++] = high | (w * 64 + (uint32_t) bit);
					word &= word - 1;
				}
			}
			if (m != card)
				return bm_corrupt(c, "bitset container cardinality mismatch at key %" PRIu64,
								  key);
			roaring_bitmap_add_many(r, m, tmp);
		} else {
			const uint8_t *p;
			LK_FORWARD(lk_cursor_get_bytes(c, (size_t) card * 2, &p));
			int32_t prev = -1;
			for (uint32_t k = 0; k < card; k++) {
				uint32_t v = rd16(p + 2 * k);
				if ((int32_t) v <= prev)
					return bm_corrupt(c, "array container not sorted at key %" PRIu64, key);
				prev = (int32_t) v;
				tmp[k] = high | v;
			}
			roaring_bitmap_add_many(r, card, tmp);
		}
	}
	return true;
}

/* The "native" RoaringBitmapArray (magic 1681511376; PROTOCOL.md's inline
 * example uses it): u32 count, then per bitmap u32 length + a portable
 * 32-bit roaring bitmap whose bucket key is its index. The framing ints
 * use the byte order the magic was written in. */
static bool
parse_native(lk_cursor *c, bool big_endian, dl_bitmap *out, uint32_t *tmp)
{
	uint32_t count;
	if (big_endian)
		LK_FORWARD(lk_cursor_get_u32be(c, &count));
	else
		LK_FORWARD(lk_cursor_get_u32le(c, &count));
	if (count > lk_cursor_left(c) / 4)
		return bm_corrupt(c, "%" PRIu64 " bitmaps cannot fit in the data", count);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t len;
		if (big_endian)
			LK_FORWARD(lk_cursor_get_u32be(c, &len));
		else
			LK_FORWARD(lk_cursor_get_u32le(c, &len));
		const uint8_t *p;
		uint64_t base = c->base + c->pos;
		LK_FORWARD(lk_cursor_get_bytes(c, len, &p));
		if (i & 0x80000000u)
			return bm_corrupt(c, "too many bitmaps (%" PRIu64 ")", count);
		lk_cursor sub;
		lk_cursor_init(&sub, p, len, base, c->err);
		int bi = bucket(out, i, true);
		LK_FORWARD(parse_roaring32(&sub, out->maps[bi], tmp));
		LK_FORWARD(lk_cursor_expect_end(&sub, "roaring bitmap"));
		if (roaring_bitmap_is_empty(out->maps[bi])) {
			roaring_bitmap_free(out->maps[bi]);
			out->nbuckets--;
		}
	}
	return true;
}

bool
dl_bitmap_deserialize(const uint8_t *data, size_t len, dl_bitmap *out,
					  lk_error *err)
{
	lk_cursor c;
	uint32_t magic;
	uint64_t nb;
	bool ok = false;
	uint32_t *tmp = NULL;

	dl_bitmap_free(out);
	lk_cursor_init(&c, data, len, 0, err);
	LK_FORWARD(lk_cursor_get_u32le(&c, &magic));
	if (magic == DL_DV_MAGIC - 1 || __builtin_bswap32(magic) == DL_DV_MAGIC - 1) {
		tmp = lk_xmalloc(sizeof(uint32_t) * 65536);
		ok = parse_native(&c, magic != DL_DV_MAGIC - 1, out, tmp) &&
			 lk_cursor_expect_end(&c, "deletion vector bitmap");
		goto done;
	}
	if (magic != DL_DV_MAGIC)
		return bm_corrupt(&c, "bad magic number %" PRIu64, magic);
	LK_FORWARD(lk_cursor_get_u64le(&c, &nb));
	if (nb > lk_cursor_left(&c) / 8)
		return bm_corrupt(&c, "%" PRIu64 " buckets cannot fit in the data", nb);
	tmp = lk_xmalloc(sizeof(uint32_t) * 65536);
	int64_t prev = -1;
	for (uint64_t i = 0; i < nb; i++) {
		uint32_t key;
		if (!lk_cursor_get_u32le(&c, &key))
			goto done;
		if (key & 0x80000000u) {
			bm_corrupt(&c, "bucket key %" PRIu64 " has its top bit set", key);
			goto done;
		}
		if ((int64_t) key <= prev) {
			bm_corrupt(&c, "bucket keys not ascending at key %" PRIu64, key);
			goto done;
		}
		prev = key;
		int bi = bucket(out, key, true);
		if (!parse_roaring32(&c, out->maps[bi], tmp))
			goto done;
		if (roaring_bitmap_is_empty(out->maps[bi])) {   /* drop empty buckets */
			roaring_bitmap_free(out->maps[bi]);
			out->nbuckets--;
		}
	}
	ok = lk_cursor_expect_end(&c, "deletion vector bitmap");
done:
	free(tmp);
	if (!ok)
		dl_bitmap_free(out);
	return ok;
}

/* ---- Z85 ---------------------------------------------------------------- */

static const char z85_chars[] =
	"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

bool
dl_z85_decode(const char *s, size_t len, lk_arena *a, uint8_t **out,
			  size_t *out_len, lk_error *err)
{
	static int8_t dec[256];
	static bool ready;
	if (!ready) {   /* idempotent; a race writes the same values */
		memset(dec, -1, sizeof(dec));
		for (int i = 0; i < 85; i++)
			dec[(unsigned char) z85_chars[i]] = (int8_t) i;
		ready = true;
	}
	if (len % 5) {
		lk_error_set(err, LK_ERR_CORRUPT, "z85 text length %zu is not a multiple of 5",
					 len);
		return lk_error_where(err, "z85 \"%.*s\"", (int) (len > 64 ? 64 : len), s);
	}
	uint8_t *o = lk_arena_alloc(a, len / 5 * 4 + 1);
	for (size_t i = 0; i < len; i += 5) {
		uint64_t v = 0;
		for (int k = 0; k < 5; k++) {
			int d = dec[(unsigned char) s[i + (size_t) k]];
			if (d < 0) {
				lk_error_set(err, LK_ERR_CORRUPT, "invalid z85 character 0x%02x",
							 (unsigned char) s[i + (size_t) k]);
				return lk_error_where(err, "z85 character %zu", i + (size_t) k);
			}
			v = v * 85 + (uint64_t) d;
		}
		if (v > UINT32_MAX) {
			lk_error_set(err, LK_ERR_CORRUPT, "z85 group out of range");
			return lk_error_where(err, "z85 character %zu", i);
		}
		uint8_t *q = o + i / 5 * 4;
		q[0] = (uint8_t) (v >> 24);
		q[1] = (uint8_t) (v >> 16);
		q[2] = (uint8_t) (v >> 8);
		q[3] = (uint8_t) v;
	}
	*out = o;
	*out_len = len / 5 * 4;
	return true;
}

char *
dl_z85_encode(const uint8_t *p, size_t n, lk_arena *a)
{
	size_t groups = (n + 3) / 4;
	char *o = lk_arena_alloc(a, groups * 5 + 1);
	for (size_t g = 0; g < groups; g++) {
		uint32_t v = 0;
		for (size_t k = 0; k < 4; k++) {
			size_t idx = g * 4 + k;
			v = (v << 8) | (idx < n ? p[idx] : 0);
		}
		for (int k = 4; k >= 0; k--) {
			o[g * 5 + (size_t) k] = z85_chars[v % 85];
			v /= 85;
		}
	}
	o[groups * 5] = '\0';
	return o;
}

/* ---- descriptors -------------------------------------------------------- */

static bool
dv_bad(lk_error *err, const dl_dv *dv, lk_error_code code, const char *msg)
{
	lk_error_set(err, code, "%s", msg);
	return lk_error_where(err, "deletion vector %c \"%s\"", dv->storage_type,
						  dv->path_or_inline);
}

bool
dl_dv_path(const dl_dv *dv, lk_arena *a, char **path, lk_error *err)
{
	if (dv->storage_type == 'p')
		return st_path_decode(dv->path_or_inline, a, path, err);
	if (dv->storage_type != 'u')
		return dv_bad(err, dv, LK_ERR_INVALID, "an inline deletion vector has no path");
	size_t len = strlen(dv->path_or_inline);
	if (len < 20)
		return dv_bad(err, dv, LK_ERR_CORRUPT,
					  "deletion vector uuid must be 20 z85 characters");
	size_t plen = len - 20;
	uint8_t *u;
	size_t ulen;
	if (!dl_z85_decode(dv->path_or_inline + plen, 20, a, &u, &ulen, err))
		return lk_error_add_where(err, "deletion vector u \"%s\"", dv->path_or_inline);
	for (size_t i = 0; i < plen; i++) {
		char ch = dv->path_or_inline[i];
		if (ch == '/' || ch == '\\')
			return dv_bad(err, dv, LK_ERR_CORRUPT,
						  "deletion vector path prefix contains a path separator");
	}
	char *name = lk_arena_sprintf(a,
		"deletion_vector_%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		"%02x%02x%02x%02x%02x%02x.bin",
		u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
		u[11], u[12], u[13], u[14], u[15]);
	*path = plen ? lk_arena_sprintf(a, "%.*s/%s", (int) plen, dv->path_or_inline, name)
				 : name;
	return true;
}

static bool
check_cardinality(const dl_dv *dv, const dl_bitmap *b, lk_error *err)
{
	uint64_t card = dl_bitmap_cardinality(b);
	if (card == (uint64_t) dv->cardinality)
		return true;
	lk_error_set(err, LK_ERR_CORRUPT,
				 "deletion vector holds %" PRIu64 " rows but its descriptor says %" PRId64,
				 card, dv->cardinality);
	return lk_error_where(err, "deletion vector %c \"%s\"", dv->storage_type,
						  dv->path_or_inline);
}

bool
dl_dv_load(st_store *st, const dl_dv *dv, dl_bitmap *out, lk_error *err)
{
	lk_arena a;
	bool ok = false;
	lk_arena_init(&a, 0);
	dl_bitmap_free(out);

	if (dv->size_in_bytes < 12 || (uint32_t) dv->size_in_bytes > DV_MAX_BYTES) {
		dv_bad(err, dv, LK_ERR_CORRUPT, "deletion vector sizeInBytes out of range");
		goto done;
	}
	if (dv->storage_type == 'i') {
		uint8_t *raw;
		size_t rlen;
		size_t tlen = strlen(dv->path_or_inline);
		if (!dl_z85_decode(dv->path_or_inline, tlen, &a, &raw, &rlen, err)) {
			lk_error_add_where(err, "inline deletion vector");
			goto done;
		}
		if (rlen < (size_t) dv->size_in_bytes || rlen - (size_t) dv->size_in_bytes >= 4) {
			dv_bad(err, dv, LK_ERR_CORRUPT,
				   "inline deletion vector length does not match sizeInBytes");
			goto done;
		}
		if (!dl_bitmap_deserialize(raw, (size_t) dv->size_in_bytes, out, err)) {
			lk_error_add_where(err, "inline deletion vector");
			goto done;
		}
		ok = check_cardinality(dv, out, err);
		goto done;
	}

	char *path;
	if (!dl_dv_path(dv, &a, &path, err))
		goto done;
	if (dv->storage_type == 'p')    /* inside the table: relative */
		path = st_path_canonical(st, path, &a);
	st_file f;
	if (!st_open_read(st, path, &f, err))
		goto done;
	uint64_t off = dv->has_offset ? (uint64_t) dv->offset : 0;
	uint64_t need = off + 4 + (uint64_t) dv->size_in_bytes + 4;
	uint8_t ver, hdr[4];
	uint8_t *data = NULL;
	if (need > f.size || off < 1) {
		lk_error_set(err, LK_ERR_CORRUPT,
					 "deletion vector at offset %" PRIu64 " of %d bytes does not fit "
					 "in a file of %" PRIu64 " bytes", off, dv->size_in_bytes, f.size);
		lk_error_where(err, "file \"%s\"", path);
		goto close;
	}
	if (!f.read_at(f.ctx, 0, &ver, 1, err))
		goto close;
	if (ver != 1) {
		lk_error_set(err, LK_ERR_UNSUPPORTED,
					 "unsupported deletion vector file version %u", ver);
		lk_error_where(err, "file \"%s\" at byte 0", path);
		goto close;
	}
	if (!f.read_at(f.ctx, off, hdr, 4, err))
		goto close;
	uint32_t size = ((uint32_t) hdr[0] << 24) | ((uint32_t) hdr[1] << 16) |
					((uint32_t) hdr[2] << 8) | hdr[3];
	if (size != (uint32_t) dv->size_in_bytes) {
		lk_error_set(err, LK_ERR_CORRUPT,
					 "deletion vector size %u in the file differs from sizeInBytes %d",
					 size, dv->size_in_bytes);
		lk_error_where(err, "file \"%s\" at byte %" PRIu64, path, off);
		goto close;
	}
	data = lk_xmalloc((size_t) size + 4);
	if (!f.read_at(f.ctx, off + 4, data, (size_t) size + 4, err))
		goto close;
	uint32_t want = ((uint32_t) data[size] << 24) | ((uint32_t) data[size + 1] << 16) |
					((uint32_t) data[size + 2] << 8) | data[size + 3];
	uint32_t got = (uint32_t) crc32(0L, data, size);
	if (want != got) {
		lk_error_set(err, LK_ERR_CORRUPT,
					 "deletion vector checksum mismatch: stored %08x, computed %08x",
					 want, got);
		lk_error_where(err, "file \"%s\" at byte %" PRIu64, path, off + 4 + size);
		goto close;
	}
	if (!dl_bitmap_deserialize(data, size, out, err)) {
		/* cursor offsets are relative to the bitmap data */
		lk_error_add_where(err, "file \"%s\", data at byte %" PRIu64, path, off + 4);
		goto close;
	}
	ok = check_cardinality(dv, out, err);
close:
	free(data);
	st_file_close(&f);
done:
	if (!ok)
		dl_bitmap_free(out);
	lk_arena_free(&a);
	return ok;
}

static void
random_uuid(uint8_t u[16])
{
	size_t got = 0;
	while (got < 16) {
		ssize_t r = getrandom(u + got, 16 - got, 0);
		if (r > 0)
			got += (size_t) r;
	}
	u[6] = (uint8_t) ((u[6] & 0x0f) | 0x40);    /* version 4 */
	u[8] = (uint8_t) ((u[8] & 0x3f) | 0x80);    /* RFC 4122 variant */
}

static void
put_u32be(lk_buf *b, uint32_t v)
{
	uint8_t p[4] = {(uint8_t) (v >> 24), (uint8_t) (v >> 16), (uint8_t) (v >> 8),
					(uint8_t) v};
	lk_buf_append(b, p, 4);
}

bool
dl_dv_write_file(st_store *st, const char *prefix, const dl_bitmap *const *bms,
				 int n, lk_arena *a, dl_dv *descs, lk_error *err)
{
	lk_buf file = LK_BUF_INIT, data = LK_BUF_INIT;
	bool ok = false;

	if (prefix && (strchr(prefix, '/') || strchr(prefix, '\\') || !prefix[0] ||
				   strcmp(prefix, ".") == 0 || strcmp(prefix, "..") == 0))
		return lk_error_set(err, LK_ERR_INVALID,
							"deletion vector prefix \"%s\" must be a plain name", prefix);
	lk_buf_append_byte(&file, 1);
	for (int i = 0; i < n; i++) {
		lk_buf_reset(&data);
		if (!dl_bitmap_serialize(bms[i], &data, err))
			goto done;
		if (data.len > DV_MAX_BYTES || file.len > INT32_MAX - data.len - 8) {
			lk_error_set(err, LK_ERR_NOMEM, "deletion vector file too large");
			goto done;
		}
		memset(&descs[i], 0, sizeof(descs[i]));
		descs[i].storage_type = 'u';
		descs[i].has_offset = true;
		descs[i].offset = (int32_t) file.len;
		descs[i].size_in_bytes = (int32_t) data.len;
		descs[i].cardinality = (int64_t) dl_bitmap_cardinality(bms[i]);
		put_u32be(&file, (uint32_t) data.len);
		lk_buf_append(&file, data.data, data.len);
		put_u32be(&file, (uint32_t) crc32(0L, data.data, (uInt) data.len));
	}
	for (int attempt = 0; attempt < 3 && !ok; attempt++) {
		uint8_t u[16];
		random_uuid(u);
		char *z = dl_z85_encode(u, 16, a);
		dl_dv probe = {.storage_type = 'u'};
		probe.path_or_inline = prefix ? lk_arena_sprintf(a, "%s%s", prefix, z) : z;
		char *path;
		if (!dl_dv_path(&probe, a, &path, err))
			goto done;
		if (st_put_if_absent(st, path, file.data, file.len, err)) {
			for (int i = 0; i < n; i++)
				descs[i].path_or_inline = probe.path_or_inline;
			ok = true;
		} else if (err->code != LK_ERR_CONFLICT) {
			goto done;
		}
	}
done:
	lk_buf_free(&file);
	lk_buf_free(&data);
	return ok;
}

bool
dl_dv_make_inline(const dl_bitmap *b, lk_arena *a, dl_dv *out, lk_error *err)
{
	lk_buf data = LK_BUF_INIT;
	if (!dl_bitmap_serialize(b, &data, err)) {
		lk_buf_free(&data);
		return false;
	}
	memset(out, 0, sizeof(*out));
	out->storage_type = 'i';
	out->path_or_inline = dl_z85_encode(data.data, data.len, a);
	out->size_in_bytes = (int32_t) data.len;
	out->cardinality = (int64_t) dl_bitmap_cardinality(b);
	lk_buf_free(&data);
	return true;
}
