/*
 * pkindex.c — primary-key index: PK bytes → (file id, row).  See pkindex.h.
 *
 * Files in the index directory (all integers little-endian):
 *
 * pk-<seq>.run, an immutable run sorted by (hash, keylen, key bytes):
 *
 *   +----------------+----------------+-----+------------------+
 *   | block 0 (4096) | block 1 (4096) | ... | block n-1 (4096) |
 *   +----------------+----------------+-----+------------------+
 *   | fences: n × u64 (first hash of each block)                |
 *   | bloom: bloom_bytes                                         |
 *   | footer (32): u64 count | u32 nblocks | u32 bloom_bytes |    |
 *   |   u32 bloom_k | u32 crc32(fences, bloom, footer[0..20)) |  |
 *   |   "LKPKRUN1"                                             |
 *   +-----------------------------------------------------------+
 *
 *   block:  u32 crc32(block[4..4096)) | u16 nrec | records | zero padding
 *   record: u64 hash | u64 row | u32 file (0xFFFFFFFF = deleted) |
 *           u16 keylen | keylen bytes
 *
 *   bloom_k: k (1..8) = classic bloom (runs written before blocked blooms);
 *   0x100 | k = blocked bloom, bloom_bytes a multiple of 64 (see
 *   bloom_add).  Older builds refuse the blocked kind as corrupt (the
 *   index is then rebuilt); this build reads both.
 *
 * pkindex.manifest (written to a temp file, fsynced, renamed):
 *
 *   "LKPKIDX1" | u32 format (1) | i64 delta version | u32 len | table id |
 *   u64 next seq | u32 nfiles | nfiles × (u8 dead | u32 len | path) |
 *   u32 nruns | nruns × (u64 seq | u32 level | u64 count) |
 *   u32 crc32 of everything before
 *
 * Reads: lookups go through a block cache (budget/8, CLOCK, keyed by run
 * seq and block); a block's crc is verified the first time it is read
 * after its run was opened or written (a bit per block), not on every
 * read.  Merges read runs sequentially (up to 64 KiB at a time, all their
 * buffers within budget/16), bypassing the cache, verifying every block.
 *
 * Newest wins: a lookup asks the memory table, then the runs newest first;
 * the first entry with the key decides (a deleted or dead-file entry means
 * "absent").  A merge keeps only the newest entry of each key and drops
 * deleted/dead entries only when its output is the oldest run.
 */
#include "sync/pkindex.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common/arena.h"

#define BLOCK 4096
#define BLOCK_HDR 6
#define REC_HDR 22
#define FOOTER 32
#define TOMB 0xFFFFFFFFu
#define FANOUT 4
#define CHUNK ((size_t) 256 << 10)
#define MANIFEST "pkindex.manifest"
#define RA_BLOCKS 16          /* blocks per sequential read of a merge */
#define BULK_FANOUT 32
#define NO_SEQ UINT64_MAX

/* Block cache: blocks of runs, keyed by (run seq, block number); CLOCK
 * eviction.  A block's checksum is verified when it enters the cache; a
 * hit is not verified again.  Memory: budget/8, allocated on first use. */
typedef struct bcache {
	uint8_t *mem;             /* cap × BLOCK */
	uint64_t *seq;            /* per entry: run seq, NO_SEQ = free */
	uint32_t *blk;
	uint8_t *ref;
	uint32_t *tab;            /* open addressing: entry + 1, 0 = empty */
	uint32_t cap, tabmask, hand;
	uint64_t hits, misses;
} bcache;

typedef struct slot {
	uint64_t hash;
	uint64_t row;
	const uint8_t *key;       /* NULL = empty slot; points into a chunk */
	uint32_t file;
	uint32_t keylen;
} slot;

typedef struct chunk {
	struct chunk *next;
	size_t used, cap;
	uint8_t data[];
} chunk;

typedef struct run {
	uint64_t seq;
	uint32_t level;
	uint64_t count;
	uint32_t nblocks;
	uint64_t *fences;
	uint8_t *bloom;
	uint32_t bloom_bytes, bloom_k;
	int fd;
	bool pinned;              /* referenced by the saved manifest */
	uint8_t *verified;        /* bit per block: checksum already verified
							   * (NULL until the first lookup read) */
} run;

typedef struct file_ent {
	char *path;
	bool dead;
} file_ent;

struct sy_pkindex {
	char *dir;
	char *table_id;
	size_t budget;
	uint64_t (*hash_fn)(const void *, size_t);
	/* memory table */
	slot *slots;
	size_t nslots, nused, max_used;
	int mshift;               /* home slot of hash h = h >> mshift */
	chunk *chunks;
	size_t chunk_bytes, max_chunk_bytes;
	/* runs, oldest first */
	run *runs;
	int nruns, runs_cap;
	uint64_t next_seq;
	uint64_t *unlink_later;   /* merged-away pinned runs */
	int nunlink, unlink_cap;
	/* file table */
	file_ent *files;
	uint32_t nfiles, files_cap;
	uint32_t *fmap;           /* open addressing: file id + 1, 0 = empty */
	uint32_t fmap_cap;
	uint32_t last_id;         /* bulk_add cache */
	const char *last_path;
	uint8_t blockbuf[BLOCK];
	bcache cache;
	bool bulk;                /* inside bulk_load: no tiered merges */
	sy_pkindex_stats st;
};

/* ---------- hashing ---------- */

static inline uint64_t
mix64(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t) a * b;
	return (uint64_t) r ^ (uint64_t) (r >> 64);
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* little-endian host: a load is the file's byte order */
static inline uint64_t
ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t
ld32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint16_t
ld16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}
#else
static inline uint64_t
ld64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static inline uint32_t
ld32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 |
		   (uint32_t) p[3] << 24;
}

static inline uint16_t
ld16(const uint8_t *p)
{
	return (uint16_t) (p[0] | p[1] << 8);
}
#endif

static inline void
st64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

static inline void
st32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

uint64_t
sy_pkindex_hash(const void *key, size_t len)
{
	const uint8_t *s = key;
	size_t n = len;
	uint64_t h = 0x9E3779B97F4A7C15ull ^ mix64(len, 0xA0761D6478BD642Full);
	while (n >= 8) {
		h = mix64(h ^ ld64(s), 0xE7037ED1A0B428DBull);
		s += 8;
		n -= 8;
	}
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t) s[i] << (8 * i);
	h = mix64(h ^ v ^ 0x8EBC6AF09C88C6E3ull, 0x589965CC75374CC3ull);
	return mix64(h, 0x1D8E4E27C47D124Full) ^ h;
}

/* ---------- key encoding ---------- */

bool
sy_pkindex_key_from_row(const lk_column *cols, int ncols, int64_t row,
						lk_buf *out, lk_error *err)
{
	lk_buf_reset(out);
	for (int c = 0; c < ncols; c++) {
		const lk_column *col = &cols[c];
		if (row < 0 || row >= col->length)
			return lk_error_set(err, LK_ERR_INVALID,
								"row %lld out of range", (long long) row);
		if (lk_type_is_nested(col->type)) {
			lk_error_set(err, LK_ERR_UNSUPPORTED,
						 "nested primary key column type %s",
						 lk_type_id_name(col->type->id));
			return lk_error_where(err, "primary key column %d", c);
		}
		if (lk_column_is_null(col, row)) {
			lk_buf_append_byte(out, 0);
			continue;
		}
		lk_buf_append_byte(out, (uint8_t) (col->type->id + 1));
		if (lk_type_is_varlen(col->type)) {
			int64_t n;
			const uint8_t *p = lk_column_bytes(col, row, &n);
			lk_buf_append_uvarint(out, (uint64_t) n);
			lk_buf_append(out, p, (size_t) n);
			continue;
		}
		size_t w = lk_type_width(col->type);
		const uint8_t *p = (const uint8_t *) col->values + (size_t) row * w;
		uint8_t tmp[16];
		memcpy(tmp, p, w);
		if (col->type->id == LK_T_DOUBLE) {
			double d;
			memcpy(&d, tmp, 8);
			if (d == 0)
				d = 0.0;
			else if (isnan(d))
				d = NAN;
			memcpy(tmp, &d, 8);
		} else if (col->type->id == LK_T_FLOAT) {
			float f;
			memcpy(&f, tmp, 4);
			if (f == 0)
				f = 0.0f;
			else if (isnan(f))
				f = NAN;
			memcpy(tmp, &f, 4);
		}
		/* host is little-endian (x86-64/aarch64): the bytes are LE */
		lk_buf_append(out, tmp, w);
	}
	return true;
}

/* ---------- file table ---------- */

static uint64_t
str_hash(const char *s)
{
	return sy_pkindex_hash(s, strlen(s));
}

static void
fmap_insert(sy_pkindex *idx, uint32_t id)
{
	uint32_t mask = idx->fmap_cap - 1;
	uint32_t i = (uint32_t) str_hash(idx->files[id].path) & mask;
	while (idx->fmap[i])
		i = (i + 1) & mask;
	idx->fmap[i] = id + 1;
}

static void
fmap_grow(sy_pkindex *idx)
{
	free(idx->fmap);
	idx->fmap_cap = idx->fmap_cap ? idx->fmap_cap * 2 : 64;
	idx->fmap = lk_xcalloc(idx->fmap_cap, sizeof(uint32_t));
	for (uint32_t id = 0; id < idx->nfiles; id++)
		if (!idx->files[id].dead)
			fmap_insert(idx, id);
}

static uint32_t
file_add(sy_pkindex *idx, const char *path, bool dead)
{
	if (idx->nfiles == idx->files_cap) {
		idx->files_cap = idx->files_cap ? idx->files_cap * 2 : 64;
		idx->files = lk_xrealloc(idx->files, idx->files_cap * sizeof(file_ent));
	}
	uint32_t id = idx->nfiles++;
	idx->files[id].path = lk_xstrdup(path);
	idx->files[id].dead = dead;
	if ((uint64_t) idx->nfiles * 2 > idx->fmap_cap)
		fmap_grow(idx);
	else if (!dead)
		fmap_insert(idx, id);
	return id;
}

static bool
file_find(const sy_pkindex *idx, const char *path, uint32_t *id)
{
	if (!idx->fmap_cap)
		return false;
	uint32_t mask = idx->fmap_cap - 1;
	uint32_t i = (uint32_t) str_hash(path) & mask;
	while (idx->fmap[i]) {
		uint32_t f = idx->fmap[i] - 1;
		if (!idx->files[f].dead && strcmp(idx->files[f].path, path) == 0) {
			*id = f;
			return true;
		}
		i = (i + 1) & mask;
	}
	return false;
}

bool
sy_pkindex_file_id(sy_pkindex *idx, const char *path, uint32_t *id,
				   lk_error *err)
{
	if (file_find(idx, path, id))
		return true;
	if (idx->nfiles >= TOMB - 1)
		return lk_error_set(err, LK_ERR_NOMEM, "too many files in the pk index");
	*id = file_add(idx, path, false);
	return true;
}

const char *
sy_pkindex_file_path(const sy_pkindex *idx, uint32_t id)
{
	return id < idx->nfiles ? idx->files[id].path : NULL;
}

bool
sy_pkindex_remove_file(sy_pkindex *idx, uint32_t file_id, lk_error *err)
{
	if (file_id >= idx->nfiles)
		return lk_error_set(err, LK_ERR_INVALID, "unknown file id %u", file_id);
	if (idx->files[file_id].dead)
		return true;
	idx->files[file_id].dead = true;
	/* rebuild the path map without it (files are few compared to keys) */
	memset(idx->fmap, 0, idx->fmap_cap * sizeof(uint32_t));
	for (uint32_t id = 0; id < idx->nfiles; id++)
		if (!idx->files[id].dead)
			fmap_insert(idx, id);
	idx->last_path = NULL;
	return true;
}

static inline bool
entry_gone(const sy_pkindex *idx, uint32_t file)
{
	return file == TOMB || (file < idx->nfiles && idx->files[file].dead);
}

/* ---------- memory table ---------- */

/* Memory probed at random (slots, blooms): 64-byte aligned; from 4 MiB on
 * 2 MiB aligned and advised to use huge pages (fewer TLB misses; the size
 * is rounded up to 2 MiB).  Not zeroed.  Freed with free(). */
static void *
big_alloc(size_t bytes)
{
	const size_t huge = (size_t) 2 << 20;
	void *p = NULL;
	size_t align = 64;
	if (bytes >= 2 * huge) {
		align = huge;
		bytes = (bytes + huge - 1) / huge * huge;
	}
	if (posix_memalign(&p, align, bytes ? bytes : 64) != 0) {
		fprintf(stderr, "lakesync: out of memory (%zu bytes)\n", bytes);
		abort();
	}
#ifdef MADV_HUGEPAGE
	if (align == huge)
		(void) madvise(p, bytes, MADV_HUGEPAGE);
#endif
	return p;
}

static void
mem_alloc(sy_pkindex *idx)
{
	/* budget/4 for the slots, budget/8 for key bytes, budget/8 for the
	 * block cache, budget/4 for the blooms (see rw_open) */
	size_t share = idx->budget / 4;
	size_t n = 1024;
	while (n * 2 * sizeof(slot) <= share)
		n *= 2;
	idx->nslots = n;
	idx->mshift = 64;
	for (size_t t = n; t > 1; t >>= 1)
		idx->mshift--;
	idx->max_used = n / 10 * 7;
	idx->slots = big_alloc(n * sizeof(slot));
	memset(idx->slots, 0, n * sizeof(slot));
	idx->max_chunk_bytes = idx->budget / 8;
	uint32_t cap = (uint32_t) (idx->budget / 8 / (BLOCK + 24));
	idx->cache.cap = cap < 16 ? 16 : cap;
}

static void
mem_clear(sy_pkindex *idx)
{
	memset(idx->slots, 0, idx->nslots * sizeof(slot));
	idx->nused = 0;
	chunk *c = idx->chunks;
	while (c) {
		chunk *n = c->next;
		free(c);
		c = n;
	}
	idx->chunks = NULL;
	idx->chunk_bytes = 0;
}

static const uint8_t *
mem_keydup(sy_pkindex *idx, const void *key, size_t len)
{
	chunk *c = idx->chunks;
	if (!c || c->cap - c->used < len) {
		size_t cap = len > CHUNK ? len : CHUNK;
		c = lk_xmalloc(sizeof(chunk) + cap);
		c->cap = cap;
		c->used = 0;
		c->next = idx->chunks;
		idx->chunks = c;
		idx->chunk_bytes += cap;
	}
	uint8_t *p = c->data + c->used;
	if (len)
		memcpy(p, key, len);
	c->used += len;
	return p;
}

/* Slot holding key, or the empty slot where it would go. */
static slot *
mem_find(sy_pkindex *idx, uint64_t h, const void *key, size_t len)
{
	size_t mask = idx->nslots - 1;
	/* home = top bits of the hash: the table is nearly in hash order, so a
	 * flush needs no real sort (see mem_sorted) */
	size_t i = (size_t) (h >> idx->mshift) & mask;
	for (;;) {
		slot *s = &idx->slots[i];
		if (!s->key)
			return s;
		if (s->hash == h && s->keylen == len && memcmp(s->key, key, len) == 0)
			return s;
		i = (i + 1) & mask;
	}
}

static int
cmp_rec(uint64_t ha, const uint8_t *ka, size_t la, uint64_t hb,
		const uint8_t *kb, size_t lb)
{
	if (ha != hb)
		return ha < hb ? -1 : 1;
	if (la != lb)
		return la < lb ? -1 : 1;
	return la ? memcmp(ka, kb, la) : 0;
}

static inline int
cmp_slot(const slot *x, const slot *y)
{
	return cmp_rec(x->hash, x->key, x->keylen, y->hash, y->key, y->keylen);
}

static int
cmp_slot_q(const void *a, const void *b)
{
	return cmp_slot(a, b);
}

/* Sort a[0..n) by (hash, key) in place: one MSD radix pass on the top bits
 * of the hash (American flag sort, about n buckets), then insertion sort
 * inside each bucket.  Extra memory: two arrays of 2^bits counters (≤ 512
 * KiB), not a copy of the slots (qsort's merge sort would allocate one). */
static void
sort_slots(slot *a, size_t n)
{
	if (n < 2)
		return;
	int bits = 1;
	while (bits < 16 && ((size_t) 1 << bits) < n)
		bits++;
	size_t nb = (size_t) 1 << bits;
	int shift = 64 - bits;
	size_t *next = lk_xcalloc(nb + 1, sizeof(size_t));
	size_t *end = lk_xmalloc((nb + 1) * sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		next[(a[i].hash >> shift) + 1]++;
	for (size_t b = 0; b < nb; b++)
		next[b + 1] += next[b];
	for (size_t b = 0; b < nb; b++)
		end[b] = next[b + 1];
	for (size_t b = 0; b < nb; b++) {
		while (next[b] < end[b]) {
			slot x = a[next[b]];
			size_t d = (size_t) (x.hash >> shift);
			while (d != b) {
				slot t = a[next[d]];
				a[next[d]++] = x;
				x = t;
				d = (size_t) (x.hash >> shift);
			}
			a[next[b]++] = x;
		}
	}
	/* buckets are [end[b-1], end[b]) */
	size_t lo = 0;
	for (size_t b = 0; b < nb; b++) {
		size_t hi = end[b];
		if (hi - lo > 32) {
			/* many equal top bits (forced collisions in tests) */
			qsort(a + lo, hi - lo, sizeof(slot), cmp_slot_q);
			lo = hi;
			continue;
		}
		for (size_t i = lo + 1; i < hi; i++) {
			slot x = a[i];
			size_t j = i;
			while (j > lo && cmp_slot(&a[j - 1], &x) > 0) {
				a[j] = a[j - 1];
				j--;
			}
			a[j] = x;
		}
		lo = hi;
	}
	free(next);
	free(end);
}

/* ---------- run writer ---------- */

typedef struct rwriter {
	int fd;
	const char *path;
	uint8_t blk[BLOCK];
	size_t pos;
	uint16_t nrec;
	uint32_t nblocks;
	uint64_t *fences;
	uint32_t fences_cap;
	uint8_t *bloom;
	uint32_t bloom_bytes, bloom_k;
	uint64_t count;
	uint64_t off;
} rwriter;

static bool
write_all(int fd, const void *p, size_t n, uint64_t off, const char *path,
		  lk_error *err)
{
	const uint8_t *s = p;
	while (n) {
		ssize_t w = pwrite(fd, s, n, (off_t) off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			lk_error_set(err, LK_ERR_IO, "could not write \"%s\": %s", path,
						 strerror(errno));
			return false;
		}
		s += w;
		n -= (size_t) w;
		off += (uint64_t) w;
	}
	return true;
}

static bool
read_all(int fd, void *p, size_t n, uint64_t off, const char *what,
		 lk_error *err)
{
	uint8_t *s = p;
	while (n) {
		ssize_t r = pread(fd, s, n, (off_t) off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return lk_error_set(err, LK_ERR_IO, "could not read %s: %s", what,
								strerror(errno));
		}
		if (r == 0) {
			lk_error_set(err, LK_ERR_CORRUPT, "unexpected end of %s", what);
			return lk_error_where(err, "byte %llu", (unsigned long long) off);
		}
		s += r;
		n -= (size_t) r;
		off += (uint64_t) r;
	}
	return true;
}

/* Blooms of two kinds, told apart by the footer's bloom_k field:
 *   k (1..8): classic, k bits anywhere in the filter (older runs);
 *   BLOOM_BLOCKED | k: blocked, the k bits of a key in one 64-byte block
 *     (block = top 32 bits of the hash scaled to the block count; bit i =
 *     9-bit field i of a remix of the hash): one cache miss per lookup.
 *     bloom_bytes is a multiple of 64. */
#define BLOOM_BLOCKED 0x100u

static inline const uint8_t *
bloom_block(const uint8_t *bloom, uint32_t bytes, uint64_t h)
{
	uint64_t nb = bytes / 64;
	return bloom + (((h >> 32) * nb) >> 32) * 64;
}

static void
bloom_add(uint8_t *bloom, uint32_t bytes, uint32_t k, uint64_t h)
{
	if (k & BLOOM_BLOCKED) {
		uint8_t *blk = (uint8_t *) bloom_block(bloom, bytes, h);
		uint64_t g = mix64(h, 0x9FB21C651E98DF25ull);
		for (uint32_t i = 0; i < (k & 0xFF); i++, g >>= 9)
			blk[(g & 511) >> 3] |= (uint8_t) (1u << (g & 7));
		return;
	}
	uint64_t nbits = (uint64_t) bytes * 8;
	uint64_t g = mix64(h, 0x9FB21C651E98DF25ull) | 1;
	for (uint32_t i = 0; i < k; i++) {
		uint64_t b = (h + i * g) % nbits;
		bloom[b >> 3] |= (uint8_t) (1u << (b & 7));
	}
}

static bool
bloom_maybe(const uint8_t *bloom, uint32_t bytes, uint32_t k, uint64_t h)
{
	if (k & BLOOM_BLOCKED) {
		const uint8_t *blk = bloom_block(bloom, bytes, h);
		uint64_t g = mix64(h, 0x9FB21C651E98DF25ull);
		for (uint32_t i = 0; i < (k & 0xFF); i++, g >>= 9)
			if (!(blk[(g & 511) >> 3] & (1u << (g & 7))))
				return false;
		return true;
	}
	uint64_t nbits = (uint64_t) bytes * 8;
	uint64_t g = mix64(h, 0x9FB21C651E98DF25ull) | 1;
	for (uint32_t i = 0; i < k; i++) {
		uint64_t b = (h + i * g) % nbits;
		if (!(bloom[b >> 3] & (1u << (b & 7))))
			return false;
	}
	return true;
}

/* Bloom memory, 64-byte aligned (a blocked bloom's block is one cache
 * line); freed with free(). */
static uint8_t *
bloom_alloc(size_t bytes)
{
	return big_alloc(bytes);
}

static uint64_t
total_run_entries(const sy_pkindex *idx)
{
	uint64_t t = 0;
	for (int i = 0; i < idx->nruns; i++)
		t += idx->runs[i].count;
	return t;
}

static void
run_path(const sy_pkindex *idx, uint64_t seq, char *buf, size_t n)
{
	snprintf(buf, n, "%s/pk-%llu.run", idx->dir, (unsigned long long) seq);
}

static bool
rw_open(sy_pkindex *idx, rwriter *w, const char *path, uint64_t max_count,
		lk_error *err)
{
	memset(w, 0, sizeof(*w));
	w->path = path;
	w->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0)
		return lk_error_set(err, LK_ERR_IO, "could not create \"%s\": %s", path,
							strerror(errno));
	/* bloom: 10 bits per key, but all runs together near budget/4 */
	uint64_t total = total_run_entries(idx) + max_count;
	double bits = 10.0;
	double cap = (double) (idx->budget / 4) * 8.0 / (double) (total ? total : 1);
	if (bits > cap)
		bits = cap;
	if (bits < 1.0)
		bits = 1.0;
	uint64_t bytes = (uint64_t) ((double) max_count * bits / 8.0) + 8;
	bytes = (bytes + 63) / 64 * 64;
	if (bytes > 0x7FFFFFC0)
		bytes = 0x7FFFFFC0;
	w->bloom_bytes = (uint32_t) bytes;
	w->bloom_k = (uint32_t) (bits * 0.69 + 0.5);
	if (w->bloom_k < 1)
		w->bloom_k = 1;
	if (w->bloom_k > 7)
		w->bloom_k = 7;
	w->bloom_k |= BLOOM_BLOCKED;
	w->bloom = bloom_alloc(w->bloom_bytes);
	memset(w->bloom, 0, w->bloom_bytes);
	w->pos = BLOCK_HDR;
	return true;
}

static bool
rw_flush_block(rwriter *w, lk_error *err)
{
	if (w->nrec == 0)
		return true;
	memset(w->blk + w->pos, 0, BLOCK - w->pos);
	w->blk[4] = (uint8_t) w->nrec;
	w->blk[5] = (uint8_t) (w->nrec >> 8);
	st32(w->blk, (uint32_t) crc32(0, w->blk + 4, BLOCK - 4));
	LK_FORWARD(write_all(w->fd, w->blk, BLOCK, w->off, w->path, err));
	w->off += BLOCK;
	w->nblocks++;
	w->pos = BLOCK_HDR;
	w->nrec = 0;
	return true;
}

static bool
rw_add(rwriter *w, uint64_t h, const uint8_t *key, size_t len, uint32_t file,
	   uint64_t row, lk_error *err)
{
	if (w->pos + REC_HDR + len > BLOCK)
		LK_FORWARD(rw_flush_block(w, err));
	if (w->nrec == 0) {
		if (w->nblocks == w->fences_cap) {
			w->fences_cap = w->fences_cap ? w->fences_cap * 2 : 256;
			w->fences = lk_xrealloc(w->fences, w->fences_cap * sizeof(uint64_t));
		}
		w->fences[w->nblocks] = h;
	}
	uint8_t *p = w->blk + w->pos;
	st64(p, h);
	st64(p + 8, row);
	st32(p + 16, file);
	p[20] = (uint8_t) len;
	p[21] = (uint8_t) (len >> 8);
	if (len)
		memcpy(p + REC_HDR, key, len);
	w->pos += REC_HDR + len;
	w->nrec++;
	w->count++;
	bloom_add(w->bloom, w->bloom_bytes, w->bloom_k, h);
	return true;
}

static void
rw_abort(rwriter *w)
{
	if (w->fd >= 0)
		close(w->fd);
	unlink(w->path);
	free(w->fences);
	free(w->bloom);
}

/* Finish the file and turn the writer into run r (fd stays open). */
static bool
rw_finish(rwriter *w, run *r, lk_error *err)
{
	if (!rw_flush_block(w, err))
		goto fail;
	/* fences, bloom and footer written from where they are (the bloom is
	 * not copied: it can be a large share of the budget) */
	size_t fb = (size_t) w->nblocks * 8;
	uint8_t *tail = lk_xmalloc(fb + FOOTER);
	for (uint32_t i = 0; i < w->nblocks; i++)
		st64(tail + 8 * i, w->fences[i]);
	uint8_t *f = tail + fb;
	st64(f, w->count);
	st32(f + 8, w->nblocks);
	st32(f + 12, w->bloom_bytes);
	st32(f + 16, w->bloom_k);
	uLong crc = crc32(0, tail, (uInt) fb);
	crc = crc32(crc, w->bloom, (uInt) w->bloom_bytes);
	crc = crc32(crc, f, 20);
	st32(f + 20, (uint32_t) crc);
	memcpy(f + 24, "LKPKRUN1", 8);
	bool ok = write_all(w->fd, tail, fb, w->off, w->path, err) &&
			  write_all(w->fd, w->bloom, w->bloom_bytes, w->off + fb, w->path,
						err) &&
			  write_all(w->fd, f, FOOTER, w->off + fb + w->bloom_bytes,
						w->path, err);
	free(tail);
	if (!ok)
		goto fail;
	memset(r, 0, sizeof(*r));
	r->count = w->count;
	r->nblocks = w->nblocks;
	r->fences = w->fences;
	r->bloom = w->bloom;
	r->bloom_bytes = w->bloom_bytes;
	r->bloom_k = w->bloom_k;
	r->fd = w->fd;
	return true;
fail:
	rw_abort(w);
	return false;
}

/* ---------- run reading ---------- */

/* Read blocks [b, b + n) of run r into buf (no checks). */
static bool
run_read_blocks(const run *r, uint32_t b, uint32_t n, uint8_t *buf,
				lk_error *err)
{
	if (read_all(r->fd, buf, (size_t) n * BLOCK, (uint64_t) b * BLOCK,
				 "pk index run", err))
		return true;
	return lk_error_where(err, "run %llu", (unsigned long long) r->seq);
}

/* Checksum and record count of block b of run r, read into buf. */
static bool
block_check(const sy_pkindex *idx, const run *r, uint32_t b,
			const uint8_t *buf, lk_error *err)
{
	uint32_t crc = (uint32_t) crc32(0, buf + 4, BLOCK - 4);
	if (crc != ld32(buf) || ld16(buf + 4) == 0) {
		lk_error_set(err, LK_ERR_CORRUPT, "bad block checksum in pk index run "
					 "%llu", (unsigned long long) r->seq);
		return lk_error_where(err, "block %u of \"%s/pk-%llu.run\"", b,
							  idx->dir, (unsigned long long) r->seq);
	}
	return true;
}

/* Block b of run r into buf for a lookup.  Its checksum is verified the
 * first time the block is read after the run was opened or written (one
 * bit per block remembers it); later reads of the block (after it left the
 * block cache) check only its record count.  Runs are immutable files of
 * ours: the checksum finds damage at rest in a saved index, which the
 * first read shows. */
static bool
run_read_block(sy_pkindex *idx, run *r, uint32_t b, uint8_t *buf,
			   lk_error *err)
{
	LK_FORWARD(run_read_blocks(r, b, 1, buf, err));
	if (!r->verified)
		r->verified = lk_xcalloc((size_t) r->nblocks / 8 + 1, 1);
	uint8_t bit = (uint8_t) (1u << (b & 7));
	if (r->verified[b >> 3] & bit) {
		if (ld16(buf + 4) != 0)
			return true;
		return block_check(idx, r, b, buf, err);   /* fails: message */
	}
	LK_FORWARD(block_check(idx, r, b, buf, err));
	r->verified[b >> 3] |= bit;
	return true;
}

/* ---------- block cache ---------- */

static inline uint32_t
bc_hash(const bcache *c, uint64_t seq, uint32_t b)
{
	return (uint32_t) mix64(seq * 0x9E3779B97F4A7C15ull + b,
							0xD6E8FEB86659FD93ull) & c->tabmask;
}

static bool
bc_init(bcache *c)
{
	if (c->mem)
		return true;
	uint32_t t = 16;
	while (t < c->cap * 2)
		t *= 2;
	c->mem = malloc((size_t) c->cap * BLOCK);
	if (!c->mem)
		return false;
	c->seq = lk_xmalloc((size_t) c->cap * sizeof(uint64_t));
	for (uint32_t i = 0; i < c->cap; i++)
		c->seq[i] = NO_SEQ;
	c->blk = lk_xcalloc(c->cap, sizeof(uint32_t));
	c->ref = lk_xcalloc(c->cap, 1);
	c->tab = lk_xcalloc(t, sizeof(uint32_t));
	c->tabmask = t - 1;
	c->hand = 0;
	return true;
}

static void
bc_free(bcache *c)
{
	free(c->mem);
	free(c->seq);
	free(c->blk);
	free(c->ref);
	free(c->tab);
	c->mem = NULL;
	c->seq = NULL;
	c->blk = NULL;
	c->ref = NULL;
	c->tab = NULL;
}

/* Table position of entry e (which is in the table). */
static uint32_t
bc_pos(const bcache *c, uint32_t e)
{
	uint32_t i = bc_hash(c, c->seq[e], c->blk[e]);
	while (c->tab[i] != e + 1)
		i = (i + 1) & c->tabmask;
	return i;
}

/* Remove entry e from the table (backward-shift deletion) and free it. */
static void
bc_remove(bcache *c, uint32_t e)
{
	uint32_t i = bc_pos(c, e);
	uint32_t j = i;
	for (;;) {
		j = (j + 1) & c->tabmask;
		if (!c->tab[j])
			break;
		uint32_t f = c->tab[j] - 1;
		uint32_t home = bc_hash(c, c->seq[f], c->blk[f]);
		/* move f back to i unless its home lies cyclically in (i, j] */
		bool stay = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stay) {
			c->tab[i] = c->tab[j];
			i = j;
		}
	}
	c->tab[i] = 0;
	c->seq[e] = NO_SEQ;
	c->ref[e] = 0;
}

/* Forget every cached block of run seq. */
static void
bc_drop_run(bcache *c, uint64_t seq)
{
	if (!c->mem)
		return;
	for (uint32_t e = 0; e < c->cap; e++)
		if (c->seq[e] == seq)
			bc_remove(c, e);
}

/* Checked block b of run r: from the cache, or read, verified and cached.
 * The pointer is valid until the next call. */
static const uint8_t *
run_block(sy_pkindex *idx, run *r, uint32_t b, lk_error *err)
{
	bcache *c = &idx->cache;
	if (!c->mem && !bc_init(c)) {
		/* no memory for the cache: read uncached */
		if (!run_read_block(idx, r, b, idx->blockbuf, err))
			return NULL;
		return idx->blockbuf;
	}
	uint32_t i = bc_hash(c, r->seq, b);
	while (c->tab[i]) {
		uint32_t e = c->tab[i] - 1;
		if (c->seq[e] == r->seq && c->blk[e] == b) {
			c->ref[e] = 1;
			c->hits++;
			return c->mem + (size_t) e * BLOCK;
		}
		i = (i + 1) & c->tabmask;
	}
	c->misses++;
	/* CLOCK: the first entry not referenced since the hand last passed */
	uint32_t v;
	for (;;) {
		v = c->hand;
		c->hand = c->hand + 1 == c->cap ? 0 : c->hand + 1;
		if (c->seq[v] == NO_SEQ || !c->ref[v])
			break;
		c->ref[v] = 0;
	}
	if (c->seq[v] != NO_SEQ)
		bc_remove(c, v);
	uint8_t *buf = c->mem + (size_t) v * BLOCK;
	if (!run_read_block(idx, r, b, buf, err))
		return NULL;
	c->seq[v] = r->seq;
	c->blk[v] = b;
	c->ref[v] = 0;
	i = bc_hash(c, r->seq, b);
	while (c->tab[i])
		i = (i + 1) & c->tabmask;
	c->tab[i] = v + 1;
	return buf;
}

typedef struct rrec {
	uint64_t hash, row;
	uint32_t file;
	uint16_t keylen;
	const uint8_t *key;
} rrec;

/* Record at *pos in a checked block; false + CORRUPT if it overruns. */
static bool
block_rec(const uint8_t *buf, size_t *pos, rrec *rec, lk_error *err)
{
	if (*pos + REC_HDR > BLOCK)
		goto bad;
	const uint8_t *p = buf + *pos;
	rec->hash = ld64(p);
	rec->row = ld64(p + 8);
	rec->file = ld32(p + 16);
	rec->keylen = ld16(p + 20);
	if (*pos + REC_HDR + rec->keylen > BLOCK)
		goto bad;
	rec->key = p + REC_HDR;
	*pos += REC_HDR + rec->keylen;
	return true;
bad:
	lk_error_set(err, LK_ERR_CORRUPT, "pk index record overruns its block");
	return lk_error_where(err, "block offset %zu", *pos);
}

static int run_lookup_blocks(sy_pkindex *idx, run *r, uint64_t h,
							 const void *key, size_t len, rrec *rec,
							 lk_error *err);

/* 1 found (rec set), 0 not in run, -1 error. */
static int
run_lookup(sy_pkindex *idx, run *r, uint64_t h, const void *key,
		   size_t len, rrec *rec, lk_error *err)
{
	if (!r->nblocks || h < r->fences[0])
		return 0;
	if (r->bloom && !bloom_maybe(r->bloom, r->bloom_bytes, r->bloom_k, h)) {
		idx->st.bloom_negatives++;
		return 0;
	}
	int res = run_lookup_blocks(idx, r, h, key, len, rec, err);
	if (res == 0 && r->bloom)
		idx->st.bloom_false_positives++;
	return res;
}

static int
run_lookup_blocks(sy_pkindex *idx, run *r, uint64_t h, const void *key,
				  size_t len, rrec *rec, lk_error *err)
{
	/* last block whose fence < h (a run of h may start before a fence == h) */
	uint32_t lo = 0, hi = r->nblocks;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (r->fences[mid] < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint32_t b = lo ? lo - 1 : 0;
	for (; b < r->nblocks; b++) {
		if (b > 0 && r->fences[b] > h)
			break;
		const uint8_t *blk = run_block(idx, r, b, err);
		if (!blk)
			return -1;
		uint16_t nrec = ld16(blk + 4);
		size_t pos = BLOCK_HDR;
		for (uint16_t i = 0; i < nrec; i++) {
			/* hash and key length only, until the hash matches */
			if (pos + REC_HDR > BLOCK)
				return block_rec(blk, &pos, rec, err) ? 0 : -1;
			uint64_t rh = ld64(blk + pos);
			size_t kl = ld16(blk + pos + 20);
			if (pos + REC_HDR + kl > BLOCK)
				return block_rec(blk, &pos, rec, err) ? 0 : -1;
			if (rh > h)
				return 0;
			if (rh == h && kl == len &&
				memcmp(blk + pos + REC_HDR, key, len) == 0)
				return block_rec(blk, &pos, rec, err) ? 1 : -1;
			pos += REC_HDR + kl;
		}
	}
	return 0;
}

/* Sequential reader of a run (merges): reads RA_BLOCKS blocks at a time,
 * bypassing the block cache; every block's checksum is verified. */
typedef struct rreader {
	sy_pkindex *idx;
	const run *r;
	uint8_t *ra;              /* RA_BLOCKS × BLOCK */
	uint32_t ra_first, ra_n;  /* blocks held in ra */
	uint32_t ra_max;          /* blocks per read (1..RA_BLOCKS) */
	const uint8_t *buf;       /* current block (in ra) */
	uint32_t b;               /* next block number */
	uint16_t i, nrec;
	size_t pos;
	bool eof;
	rrec cur;
} rreader;

static bool
rr_next(rreader *rd, lk_error *err)
{
	while (rd->i == rd->nrec) {
		if (rd->b == rd->r->nblocks) {
			rd->eof = true;
			return true;
		}
		if (rd->b >= rd->ra_first + rd->ra_n) {
			uint32_t n = rd->r->nblocks - rd->b;
			if (n > rd->ra_max)
				n = rd->ra_max;
			if (!rd->ra)
				rd->ra = lk_xmalloc((size_t) rd->ra_max * BLOCK);
			LK_FORWARD(run_read_blocks(rd->r, rd->b, n, rd->ra, err));
			rd->ra_first = rd->b;
			rd->ra_n = n;
		}
		rd->buf = rd->ra + (size_t) (rd->b - rd->ra_first) * BLOCK;
		LK_FORWARD(block_check(rd->idx, rd->r, rd->b, rd->buf, err));
		rd->b++;
		rd->nrec = ld16(rd->buf + 4);
		rd->i = 0;
		rd->pos = BLOCK_HDR;
	}
	LK_FORWARD(block_rec(rd->buf, &rd->pos, &rd->cur, err));
	rd->i++;
	return true;
}

static void
run_free(run *r)
{
	if (r->fd >= 0)
		close(r->fd);
	free(r->fences);
	free(r->bloom);
	free(r->verified);
	r->fd = -1;
	r->fences = NULL;
	r->bloom = NULL;
	r->verified = NULL;
}

static void
runs_push(sy_pkindex *idx, const run *r)
{
	if (idx->nruns == idx->runs_cap) {
		idx->runs_cap = idx->runs_cap ? idx->runs_cap * 2 : 16;
		idx->runs = lk_xrealloc(idx->runs, (size_t) idx->runs_cap * sizeof(run));
	}
	idx->runs[idx->nruns++] = *r;
}

static void
run_discard(sy_pkindex *idx, run *r)
{
	char p[4096];
	if (r->pinned) {
		if (idx->nunlink == idx->unlink_cap) {
			idx->unlink_cap = idx->unlink_cap ? idx->unlink_cap * 2 : 16;
			idx->unlink_later = lk_xrealloc(idx->unlink_later,
											(size_t) idx->unlink_cap * 8);
		}
		idx->unlink_later[idx->nunlink++] = r->seq;
	} else {
		run_path(idx, r->seq, p, sizeof(p));
		unlink(p);
	}
	bc_drop_run(&idx->cache, r->seq);
	run_free(r);
}

/* ---------- flush and merge ---------- */

/* Heap order of merge readers: smaller record first; equal records: the
 * newer run (higher index) first. */
static inline bool
rd_before(const rreader *rd, int a, int b)
{
	int c = cmp_rec(rd[a].cur.hash, rd[a].cur.key, rd[a].cur.keylen,
					rd[b].cur.hash, rd[b].cur.key, rd[b].cur.keylen);
	return c < 0 || (c == 0 && a > b);
}

static void
heap_down(int *heap, int n, int i, const rreader *rd)
{
	for (;;) {
		int l = 2 * i + 1, m = i;
		if (l < n && rd_before(rd, heap[l], heap[m]))
			m = l;
		if (l + 1 < n && rd_before(rd, heap[l + 1], heap[m]))
			m = l + 1;
		if (m == i)
			return;
		int t = heap[i];
		heap[i] = heap[m];
		heap[m] = t;
		i = m;
	}
}

/* Merge runs [from, nruns) into one run of `level`. */
static bool
merge_runs(sy_pkindex *idx, int from, uint32_t level, lk_error *err)
{
	int k = idx->nruns - from;
	bool bottom = from == 0;
	uint64_t max = 0;
	for (int i = from; i < idx->nruns; i++)
		max += idx->runs[i].count;
	rreader *rd = lk_xcalloc((size_t) k, sizeof(rreader));
	int *heap = lk_xmalloc((size_t) k * sizeof(int));
	int nh = 0;
	rwriter w;
	bool wopen = false;
	/* read-ahead buffers of all readers within budget/16 */
	size_t ra = idx->budget / 16 / ((size_t) k * BLOCK);
	ra = ra < 1 ? 1 : ra > RA_BLOCKS ? RA_BLOCKS : ra;
	for (int i = 0; i < k; i++) {
		rd[i].idx = idx;
		rd[i].ra_max = (uint32_t) ra;
		rd[i].r = &idx->runs[from + i];
		if (!rr_next(&rd[i], err))
			goto fail;
		if (!rd[i].eof)
			heap[nh++] = i;
	}
	for (int i = nh / 2 - 1; i >= 0; i--)
		heap_down(heap, nh, i, rd);
	/* count of the runs being merged does not count twice in the bloom cap */
	int saved = idx->nruns;
	idx->nruns = from;
	char path[4096];
	uint64_t seq = idx->next_seq++;
	run_path(idx, seq, path, sizeof(path));
	bool ok = rw_open(idx, &w, path, max, err);
	idx->nruns = saved;
	if (!ok)
		goto fail;
	wopen = true;
	while (nh > 0) {
		int best = heap[0];
		rrec c = rd[best].cur;
		if (!(bottom && entry_gone(idx, c.file)) &&
			!rw_add(&w, c.hash, c.key, c.keylen, c.file, c.row, err))
			goto fail;
		/* pop best; then advance every older reader on the same key (best
		 * last: its record memory is the comparison base) */
		heap[0] = heap[--nh];
		heap_down(heap, nh, 0, rd);
		while (nh > 0) {
			int t = heap[0];
			if (cmp_rec(rd[t].cur.hash, rd[t].cur.key, rd[t].cur.keylen,
						c.hash, c.key, c.keylen) != 0)
				break;
			if (!rr_next(&rd[t], err))
				goto fail;
			if (rd[t].eof)
				heap[0] = heap[--nh];
			heap_down(heap, nh, 0, rd);
		}
		if (!rr_next(&rd[best], err))
			goto fail;
		if (!rd[best].eof) {
			/* push: sift up */
			int i = nh++;
			heap[i] = best;
			while (i > 0 && rd_before(rd, heap[i], heap[(i - 1) / 2])) {
				int pi = (i - 1) / 2, t = heap[i];
				heap[i] = heap[pi];
				heap[pi] = t;
				i = pi;
			}
		}
	}
	for (int i = 0; i < k; i++)
		free(rd[i].ra);
	free(rd);
	free(heap);
	run nr;
	if (!rw_finish(&w, &nr, err))
		return false;
	nr.seq = seq;
	nr.level = level;
	for (int i = from; i < idx->nruns; i++)
		run_discard(idx, &idx->runs[i]);
	idx->nruns = from;
	runs_push(idx, &nr);
	idx->st.merges++;
	return true;
fail:
	for (int i = 0; i < k; i++)
		free(rd[i].ra);
	free(rd);
	free(heap);
	if (wopen)
		rw_abort(&w);
	return false;
}

static bool
compact(sy_pkindex *idx, lk_error *err)
{
	/* in a bulk load, tiers of BULK_FANOUT (bulk_load merges all runs once
	 * at the end; the tiers only bound the number of open runs) */
	int fanout = idx->bulk ? BULK_FANOUT : FANOUT;
	for (;;) {
		/* newest runs are at the end with the lowest levels */
		if (idx->nruns < fanout)
			return true;
		uint32_t lvl = idx->runs[idx->nruns - 1].level;
		int from = idx->nruns;
		while (from > 0 && idx->runs[from - 1].level == lvl)
			from--;
		if (idx->nruns - from < fanout)
			return true;
		LK_FORWARD(merge_runs(idx, from, lvl + 1, err));
	}
}

/* Move the memory table's entries to slots[0..n) in (hash, key) order;
 * returns n.  Slots are homed by the top bits of the hash, so reading them
 * in table order gives hash order except inside clusters and for a cluster
 * wrapping around the end: collect in order (wrapped entries last), then an
 * insertion sort with a budget of moves; past it, a radix sort. */
static size_t
mem_sorted(sy_pkindex *idx)
{
	slot *a = idx->slots;
	size_t ns = idx->nslots, e0 = 0;
	while (e0 < ns && a[e0].key)
		e0++;
	/* e0 < ns: the table is never full (max_used < nslots) */
	size_t nw = 0;
	for (size_t p = 0; p < e0; p++)
		if ((size_t) (a[p].hash >> idx->mshift) > p)
			nw++;
	slot *wrapped = nw ? lk_xmalloc(nw * sizeof(slot)) : NULL;
	size_t n = 0, w = 0;
	for (size_t p = 0; p < e0; p++) {
		if ((size_t) (a[p].hash >> idx->mshift) > p)
			wrapped[w++] = a[p];
		else
			a[n++] = a[p];
	}
	for (size_t p = e0; p < ns; p++)
		if (a[p].key)
			a[n++] = a[p];
	if (nw)
		memcpy(a + n, wrapped, nw * sizeof(slot));
	n += nw;
	free(wrapped);
	uint64_t moves = 0, limit = (uint64_t) n * 8 + 1024;
	for (size_t i = 1; i < n; i++) {
		if (cmp_slot(&a[i - 1], &a[i]) <= 0)
			continue;
		slot x = a[i];
		size_t j = i;
		while (j > 0 && cmp_slot(&a[j - 1], &x) > 0) {
			a[j] = a[j - 1];
			j--;
			moves++;
		}
		a[j] = x;
		if (moves > limit) {
			sort_slots(a, n);
			break;
		}
	}
	return n;
}

static bool
flush_mem(sy_pkindex *idx, lk_error *err)
{
	if (idx->nused == 0)
		return true;
	size_t n = mem_sorted(idx);
	bool bottom = idx->nruns == 0;
	char path[4096];
	uint64_t seq = idx->next_seq++;
	run_path(idx, seq, path, sizeof(path));
	rwriter w;
	LK_FORWARD(rw_open(idx, &w, path, n, err));
	for (size_t i = 0; i < n; i++) {
		const slot *s = &idx->slots[i];
		if (bottom && entry_gone(idx, s->file))
			continue;
		if (!rw_add(&w, s->hash, s->key, s->keylen, s->file, s->row, err)) {
			rw_abort(&w);
			return false;
		}
	}
	run nr;
	LK_FORWARD(rw_finish(&w, &nr, err));
	nr.seq = seq;
	nr.level = 0;
	runs_push(idx, &nr);
	mem_clear(idx);
	idx->st.flushes++;
	return compact(idx, err);
}

bool
sy_pkindex_compact(sy_pkindex *idx, lk_error *err)
{
	LK_FORWARD(flush_mem(idx, err));
	if (idx->nruns == 0)
		return true;
	return merge_runs(idx, 0, idx->runs[0].level + 1, err);
}

/* ---------- put / get / delete ---------- */

static bool
check_key(size_t len, lk_error *err)
{
	if (len > SY_PKINDEX_MAX_KEY)
		return lk_error_set(err, LK_ERR_UNSUPPORTED,
							"primary key of %zu bytes is longer than %d", len,
							SY_PKINDEX_MAX_KEY);
	return true;
}

static bool
mem_set(sy_pkindex *idx, const void *key, size_t len, uint32_t file,
		uint64_t row, lk_error *err)
{
	LK_FORWARD(check_key(len, err));
	bool room = idx->chunks && idx->chunks->cap - idx->chunks->used >= len;
	if (idx->nused >= idx->max_used ||
		(!room && idx->chunk_bytes + (len > CHUNK ? len : CHUNK) >
					  idx->max_chunk_bytes))
		LK_FORWARD(flush_mem(idx, err));
	uint64_t h = idx->hash_fn(key, len);
	slot *s = mem_find(idx, h, key, len);
	if (!s->key) {
		s->key = mem_keydup(idx, key, len);
		s->hash = h;
		s->keylen = (uint32_t) len;
		idx->nused++;
	}
	s->file = file;
	s->row = row;
	return true;
}

bool
sy_pkindex_put(sy_pkindex *idx, const void *key, size_t len, uint32_t file_id,
			   uint64_t row, lk_error *err)
{
	if (file_id >= idx->nfiles || idx->files[file_id].dead)
		return lk_error_set(err, LK_ERR_INVALID, "put into unknown or removed "
							"file id %u", file_id);
	return mem_set(idx, key, len, file_id, row, err);
}

bool
sy_pkindex_delete(sy_pkindex *idx, const void *key, size_t len, lk_error *err)
{
	return mem_set(idx, key, len, TOMB, 0, err);
}

bool
sy_pkindex_get(sy_pkindex *idx, const void *key, size_t len, bool *found,
			   sy_pkindex_loc *loc, lk_error *err)
{
	*found = false;
	if (len > SY_PKINDEX_MAX_KEY)
		return true;
	uint64_t h = idx->hash_fn(key, len);
	uint32_t file = TOMB;
	uint64_t row = 0;
	bool hit = false;
	slot *s = mem_find(idx, h, key, len);
	if (s->key) {
		hit = true;
		file = s->file;
		row = s->row;
	}
	for (int i = idx->nruns - 1; i >= 0 && !hit; i--) {
		rrec rec;
		int r = run_lookup(idx, &idx->runs[i], h, key, len, &rec, err);
		if (r < 0)
			return false;
		if (r == 1) {
			hit = true;
			file = rec.file;
			row = rec.row;
		}
	}
	if (!hit || file == TOMB)
		return true;
	if (file >= idx->nfiles) {
		lk_error_set(err, LK_ERR_CORRUPT, "pk index entry names unknown file "
					 "id %u", file);
		return lk_error_where(err, "index \"%s\"", idx->dir);
	}
	if (idx->files[file].dead)
		return true;
	*found = true;
	loc->file_id = file;
	loc->row = row;
	loc->path = idx->files[file].path;
	return true;
}

/* ---------- lifecycle ---------- */

static sy_pkindex *
idx_new(const char *dir, const char *table_id, const sy_pkindex_opts *opts)
{
	sy_pkindex *idx = lk_xcalloc(1, sizeof(*idx));
	idx->dir = lk_xstrdup(dir);
	idx->table_id = lk_xstrdup(table_id ? table_id : "");
	idx->budget = opts && opts->memory_budget ? opts->memory_budget
											  : SY_PKINDEX_DEFAULT_BUDGET;
	if (idx->budget < ((size_t) 1 << 20))
		idx->budget = (size_t) 1 << 20;
	idx->hash_fn = opts && opts->hash_fn ? opts->hash_fn : sy_pkindex_hash;
	mem_alloc(idx);
	return idx;
}

static bool
is_our_file(const char *name, uint64_t *seq)
{
	unsigned long long s;
	int n = 0;
	if (sscanf(name, "pk-%llu.run%n", &s, &n) == 1 && name[n] == '\0') {
		*seq = s;
		return true;
	}
	return false;
}

/* Remove run files of dir not referenced by runs[0..nruns). */
static void
remove_stale(sy_pkindex *idx)
{
	DIR *d = opendir(idx->dir);
	if (!d)
		return;
	struct dirent *e;
	char p[4096];
	while ((e = readdir(d))) {
		uint64_t seq;
		bool keep = false;
		if (strcmp(e->d_name, MANIFEST ".tmp") == 0) {
			snprintf(p, sizeof(p), "%s/%s", idx->dir, e->d_name);
			unlink(p);
			continue;
		}
		if (!is_our_file(e->d_name, &seq))
			continue;
		for (int i = 0; i < idx->nruns; i++)
			keep |= idx->runs[i].seq == seq;
		if (!keep) {
			run_path(idx, seq, p, sizeof(p));
			unlink(p);
		}
	}
	closedir(d);
}

sy_pkindex *
sy_pkindex_create(const char *dir, const char *table_id,
				  const sy_pkindex_opts *opts, lk_error *err)
{
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		lk_error_set(err, LK_ERR_IO, "could not create directory \"%s\": %s",
					 dir, strerror(errno));
		return NULL;
	}
	sy_pkindex *idx = idx_new(dir, table_id, opts);
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, MANIFEST);
	unlink(p);
	remove_stale(idx);
	return idx;
}

static void
drop_content(sy_pkindex *idx, bool keep_pinned_files)
{
	mem_clear(idx);
	for (int i = 0; i < idx->nruns; i++) {
		if (keep_pinned_files)
			run_discard(idx, &idx->runs[i]);
		else
		{
			bc_drop_run(&idx->cache, idx->runs[i].seq);
			run_free(&idx->runs[i]);
		}
	}
	idx->nruns = 0;
	for (uint32_t i = 0; i < idx->nfiles; i++)
		free(idx->files[i].path);
	idx->nfiles = 0;
	if (idx->fmap)
		memset(idx->fmap, 0, idx->fmap_cap * sizeof(uint32_t));
	idx->last_path = NULL;
}

void
sy_pkindex_close(sy_pkindex *idx)
{
	if (!idx)
		return;
	char p[4096];
	for (int i = 0; i < idx->nruns; i++) {
		if (!idx->runs[i].pinned) {
			run_path(idx, idx->runs[i].seq, p, sizeof(p));
			unlink(p);
		}
	}
	drop_content(idx, false);
	bc_free(&idx->cache);
	free(idx->slots);
	free(idx->runs);
	free(idx->files);
	free(idx->fmap);
	free(idx->unlink_later);
	free(idx->dir);
	free(idx->table_id);
	free(idx);
}

const char *
sy_pkindex_table_id(const sy_pkindex *idx)
{
	return idx->table_id;
}

bool
sy_pkindex_bulk_load(sy_pkindex *idx, sy_pkindex_scan_fn scan, void *ctx,
					 lk_error *err)
{
	drop_content(idx, true);
	idx->bulk = true;
	bool ok = scan(ctx, idx, err);
	idx->bulk = false;
	LK_FORWARD(ok);
	if (idx->nruns <= 1)
		return true;
	/* one merge of every spilled run (instead of merging by tiers while
	 * scanning); its level is the one tiered merges would have reached */
	uint32_t level = 0;
	for (int i = 0; i < idx->nruns; i++)
		if (idx->runs[i].level > level)
			level = idx->runs[i].level;
	for (uint64_t n = 1; n < (uint64_t) idx->nruns; n *= FANOUT)
		level++;
	/* the merged runs' blooms are not needed any more (no lookups during
	 * the merge; a failed merge leaves runs without bloom: still correct) */
	for (int i = 0; i < idx->nruns; i++) {
		free(idx->runs[i].bloom);
		idx->runs[i].bloom = NULL;
	}
	return merge_runs(idx, 0, level, err);
}

bool
sy_pkindex_bulk_add(sy_pkindex *idx, const void *key, size_t len,
					const char *path, uint64_t row, lk_error *err)
{
	if (!idx->last_path || strcmp(idx->last_path, path) != 0) {
		LK_FORWARD(sy_pkindex_file_id(idx, path, &idx->last_id, err));
		idx->last_path = idx->files[idx->last_id].path;
	}
	return mem_set(idx, key, len, idx->last_id, row, err);
}

void
sy_pkindex_get_stats(const sy_pkindex *idx, sy_pkindex_stats *st)
{
	*st = idx->st;
	st->mem_entries = idx->nused;
	st->run_entries = total_run_entries(idx);
	st->nruns = idx->nruns;
	size_t m = idx->nslots * sizeof(slot) + idx->chunk_bytes +
			   idx->files_cap * sizeof(file_ent) + idx->fmap_cap * 4;
	for (int i = 0; i < idx->nruns; i++)
		m += idx->runs[i].nblocks * 8 +
			 (idx->runs[i].bloom ? idx->runs[i].bloom_bytes : 0) +
			 (idx->runs[i].verified ? idx->runs[i].nblocks / 8 + 1 : 0);
	if (idx->cache.mem)
		m += (size_t) idx->cache.cap * (BLOCK + 13) +
			 (idx->cache.tabmask + 1) * sizeof(uint32_t);
	st->mem_bytes = m;
	st->cache_hits = idx->cache.hits;
	st->cache_misses = idx->cache.misses;
}

/* ---------- save / open ---------- */

static bool
same_dir(const char *a, const char *b)
{
	struct stat sa, sb;
	if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
		return false;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static void
buf_u32(lk_buf *b, uint32_t v)
{
	lk_buf_append_u32le(b, v);
}

bool
sy_pkindex_save(sy_pkindex *idx, const char *dir, int64_t delta_version,
				lk_error *err)
{
	if (dir && !same_dir(dir, idx->dir))
		return lk_error_set(err, LK_ERR_INVALID, "a pk index is saved in its own "
							"directory \"%s\", not \"%s\"", idx->dir, dir);
	LK_FORWARD(flush_mem(idx, err));
	for (int i = 0; i < idx->nruns; i++)
		if (fsync(idx->runs[i].fd) != 0)
			return lk_error_set(err, LK_ERR_IO, "could not fsync a pk index "
								"run: %s", strerror(errno));
	lk_buf b = LK_BUF_INIT;
	lk_buf_append(&b, "LKPKIDX1", 8);
	buf_u32(&b, 1);
	lk_buf_append_u64le(&b, (uint64_t) delta_version);
	buf_u32(&b, (uint32_t) strlen(idx->table_id));
	lk_buf_append_str(&b, idx->table_id);
	lk_buf_append_u64le(&b, idx->next_seq);
	buf_u32(&b, idx->nfiles);
	for (uint32_t i = 0; i < idx->nfiles; i++) {
		lk_buf_append_byte(&b, idx->files[i].dead);
		buf_u32(&b, (uint32_t) strlen(idx->files[i].path));
		lk_buf_append_str(&b, idx->files[i].path);
	}
	buf_u32(&b, (uint32_t) idx->nruns);
	for (int i = 0; i < idx->nruns; i++) {
		lk_buf_append_u64le(&b, idx->runs[i].seq);
		buf_u32(&b, idx->runs[i].level);
		lk_buf_append_u64le(&b, idx->runs[i].count);
	}
	buf_u32(&b, (uint32_t) crc32(0, b.data, (uInt) b.len));

	char tmp[4096], fin[4096];
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", idx->dir, MANIFEST);
	snprintf(fin, sizeof(fin), "%s/%s", idx->dir, MANIFEST);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	bool ok = fd >= 0;
	if (!ok)
		lk_error_set(err, LK_ERR_IO, "could not create \"%s\": %s", tmp,
					 strerror(errno));
	ok = ok && write_all(fd, b.data, b.len, 0, tmp, err);
	if (ok && fsync(fd) != 0)
		ok = lk_error_set(err, LK_ERR_IO, "could not fsync \"%s\": %s", tmp,
						  strerror(errno));
	if (fd >= 0)
		close(fd);
	lk_buf_free(&b);
	if (ok && rename(tmp, fin) != 0)
		ok = lk_error_set(err, LK_ERR_IO, "could not rename \"%s\": %s", tmp,
						  strerror(errno));
	if (!ok) {
		unlink(tmp);
		return false;
	}
	int dfd = open(idx->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void) fsync(dfd);
		close(dfd);
	}
	/* the previous manifest's runs that were merged away can go now */
	char p[4096];
	for (int i = 0; i < idx->nunlink; i++) {
		run_path(idx, idx->unlink_later[i], p, sizeof(p));
		unlink(p);
	}
	idx->nunlink = 0;
	for (int i = 0; i < idx->nruns; i++)
		idx->runs[i].pinned = true;
	return true;
}

static bool
load_run(sy_pkindex *idx, run *r, lk_error *err)
{
	char p[4096];
	run_path(idx, r->seq, p, sizeof(p));
	r->fd = open(p, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		lk_error_set(err, LK_ERR_CORRUPT, "pk index run missing: %s",
					 strerror(errno));
		return lk_error_where(err, "file \"%s\"", p);
	}
	struct stat sb;
	if (fstat(r->fd, &sb) != 0)
		return lk_error_set(err, LK_ERR_IO, "could not stat \"%s\"", p);
	uint64_t size = (uint64_t) sb.st_size;
	uint8_t f[FOOTER];
	if (size < FOOTER) {
		lk_error_set(err, LK_ERR_CORRUPT, "pk index run too short");
		return lk_error_where(err, "file \"%s\"", p);
	}
	LK_FORWARD(read_all(r->fd, f, FOOTER, size - FOOTER, p, err));
	uint64_t count = ld64(f);
	uint32_t nblocks = ld32(f + 8), bloom_bytes = ld32(f + 12),
			 bloom_k = ld32(f + 16);
	uint64_t want = (uint64_t) nblocks * (BLOCK + 8) + bloom_bytes + FOOTER;
	if (memcmp(f + 24, "LKPKRUN1", 8) != 0 || want != size ||
		(bloom_k & ~(BLOOM_BLOCKED | 0xFFu)) != 0 || (bloom_k & 0xFF) < 1 ||
		(bloom_k & 0xFF) > 8 || bloom_bytes == 0 ||
		((bloom_k & BLOOM_BLOCKED) && bloom_bytes % 64 != 0) || count != r->count ||
		count > (uint64_t) nblocks * (BLOCK / REC_HDR)) {
		lk_error_set(err, LK_ERR_CORRUPT, "bad pk index run footer");
		return lk_error_where(err, "file \"%s\" at byte %llu", p,
							  (unsigned long long) (size - FOOTER));
	}
	size_t tl = (size_t) nblocks * 8 + bloom_bytes;
	uint8_t *tail = lk_xmalloc(tl + 20);
	if (!read_all(r->fd, tail, tl, (uint64_t) nblocks * BLOCK, p, err)) {
		free(tail);
		return false;
	}
	memcpy(tail + tl, f, 20);
	if ((uint32_t) crc32(0, tail, (uInt) (tl + 20)) != ld32(f + 20)) {
		free(tail);
		lk_error_set(err, LK_ERR_CORRUPT, "pk index run checksum mismatch");
		return lk_error_where(err, "file \"%s\"", p);
	}
	r->nblocks = nblocks;
	r->bloom_bytes = bloom_bytes;
	r->bloom_k = bloom_k;
	r->fences = lk_xmalloc((size_t) nblocks * 8 + 8);
	for (uint32_t i = 0; i < nblocks; i++) {
		r->fences[i] = ld64(tail + 8 * i);
		if (i && r->fences[i] < r->fences[i - 1]) {
			free(tail);
			lk_error_set(err, LK_ERR_CORRUPT, "pk index fences out of order");
			return lk_error_where(err, "file \"%s\"", p);
		}
	}
	r->bloom = bloom_alloc(bloom_bytes);
	memcpy(r->bloom, tail + (size_t) nblocks * 8, bloom_bytes);
	free(tail);
	r->pinned = true;
	return true;
}

static bool
parse_manifest(sy_pkindex *idx, const uint8_t *data, size_t len,
			   int64_t *version, lk_error *err)
{
	if (len < 12 || memcmp(data, "LKPKIDX1", 8) != 0) {
		lk_error_set(err, LK_ERR_CORRUPT, "not a pk index manifest");
		return lk_error_where(err, "file \"%s/%s\"", idx->dir, MANIFEST);
	}
	if ((uint32_t) crc32(0, data, (uInt) (len - 4)) != ld32(data + len - 4)) {
		lk_error_set(err, LK_ERR_CORRUPT, "pk index manifest checksum mismatch");
		return lk_error_where(err, "file \"%s/%s\"", idx->dir, MANIFEST);
	}
	lk_cursor c;
	lk_cursor_init(&c, data + 8, len - 12, 8, err);
	uint32_t fmt, n;
	uint64_t v;
	const uint8_t *p;
	LK_FORWARD(lk_cursor_get_u32le(&c, &fmt));
	if (fmt != 1)
		return lk_error_set(err, LK_ERR_UNSUPPORTED, "pk index format %u", fmt);
	LK_FORWARD(lk_cursor_get_u64le(&c, &v));
	*version = (int64_t) v;
	LK_FORWARD(lk_cursor_get_u32le(&c, &n));
	LK_FORWARD(lk_cursor_get_bytes(&c, n, &p));
	free(idx->table_id);
	idx->table_id = lk_xmalloc((size_t) n + 1);
	memcpy(idx->table_id, p, n);
	idx->table_id[n] = 0;
	LK_FORWARD(lk_cursor_get_u64le(&c, &idx->next_seq));
	LK_FORWARD(lk_cursor_get_u32le(&c, &n));
	if (n > lk_cursor_left(&c) / 5 || n >= TOMB - 1)
		return lk_error_set(err, LK_ERR_CORRUPT, "bad pk index file count %u", n);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t dead;
		uint32_t l;
		LK_FORWARD(lk_cursor_get_u8(&c, &dead));
		LK_FORWARD(lk_cursor_get_u32le(&c, &l));
		LK_FORWARD(lk_cursor_get_bytes(&c, l, &p));
		if (dead > 1 || memchr(p, 0, l))
			return lk_error_set(err, LK_ERR_CORRUPT, "bad pk index file entry");
		char *s = lk_xmalloc((size_t) l + 1);
		memcpy(s, p, l);
		s[l] = 0;
		file_add(idx, s, dead);
		free(s);
	}
	LK_FORWARD(lk_cursor_get_u32le(&c, &n));
	if (n > lk_cursor_left(&c) / 20)
		return lk_error_set(err, LK_ERR_CORRUPT, "bad pk index run count %u", n);
	for (uint32_t i = 0; i < n; i++) {
		run r;
		memset(&r, 0, sizeof(r));
		r.fd = -1;
		LK_FORWARD(lk_cursor_get_u64le(&c, &r.seq));
		LK_FORWARD(lk_cursor_get_u32le(&c, &r.level));
		LK_FORWARD(lk_cursor_get_u64le(&c, &r.count));
		if (r.seq >= idx->next_seq)
			return lk_error_set(err, LK_ERR_CORRUPT, "bad pk index run number");
		bool ok = load_run(idx, &r, err);
		runs_push(idx, &r);   /* freed by close either way */
		if (!ok)
			return false;
	}
	return lk_cursor_expect_end(&c, "pk index manifest");
}

sy_pkindex *
sy_pkindex_open(const char *dir, const sy_pkindex_opts *opts, int64_t *version,
				lk_error *err)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, MANIFEST);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		lk_error_set(err, errno == ENOENT ? LK_ERR_NOT_FOUND : LK_ERR_IO,
					 "could not open \"%s\": %s", p, strerror(errno));
		return NULL;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0 || sb.st_size > (64 << 20) * 16) {
		close(fd);
		lk_error_set(err, LK_ERR_CORRUPT, "pk index manifest unreadable or "
					 "too large");
		lk_error_where(err, "file \"%s\"", p);
		return NULL;
	}
	size_t len = (size_t) sb.st_size;
	uint8_t *data = lk_xmalloc(len + 1);
	bool ok = read_all(fd, data, len, 0, p, err);
	close(fd);
	sy_pkindex *idx = idx_new(dir, "", opts);
	if (ok)
		ok = parse_manifest(idx, data, len, version, err);
	free(data);
	if (!ok) {
		/* keep the files: mark every run pinned so close does not unlink */
		for (int i = 0; i < idx->nruns; i++)
			idx->runs[i].pinned = true;
		sy_pkindex_close(idx);
		return NULL;
	}
	remove_stale(idx);
	return idx;
}
