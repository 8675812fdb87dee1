/*
 * fuzz_delta_dv.c — libFuzzer target over the deletion-vector decoders of
 * src/delta/dv.c: the RoaringBitmapArray (portable and native), Z85, the
 * descriptor → path mapping and the on-disk DV file format.
 *
 * Input: byte 0 picks a mode (low 3 bits), the rest is the payload.
 *   0  bitmap     dl_bitmap_deserialize(payload); a bitmap that decodes
 *                 must serialize, decode again to the same rows, and list
 *                 its rows in ascending order
 *   1  z85        dl_z85_decode(payload); what decodes must encode back to
 *                 the same text
 *   2  inline DV  payload = i32 LE sizeInBytes, i32 LE cardinality, z85
 *                 text → dl_dv_load of storageType 'i'
 *   3  file DV    payload = u16 LE offset, i32 LE sizeInBytes, i32 LE
 *                 cardinality, then the DV file's bytes, written to a temp
 *                 table as deletion_vector_<uuid>.bin → dl_dv_load of 'u'
 *                 (and the same file by absolute path, 'p')
 *   4  path       payload[0] = storage type, the rest a pathOrInlineDv →
 *                 dl_dv_path and dl_dv_unique_id
 *   5-7           as 0
 * Oracles besides the sanitizers: the round trips above, the descriptor's
 * cardinality agreeing with a loaded bitmap, and every failure filling
 * err's message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"
#include "delta/dv.h"
#include "storage/storage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
finding(const char *what, const lk_error *err)
{
	fprintf(stderr, "fuzz_delta_dv: %s (%s | %s)\n", what, err ? err->msg : "",
			err ? err->where : "");
	abort();
}

static void
check_failure(const lk_error *err)
{
	if (!err->msg[0] || err->code == LK_OK)
		finding("a failure without a message or code", err);
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 |
		   (uint32_t) p[3] << 24;
}

static bool
same_rows(const dl_bitmap *x, const dl_bitmap *y)
{
	if (x->nbuckets != y->nbuckets)
		return false;
	for (int i = 0; i < x->nbuckets; i++)
		if (x->keys[i] != y->keys[i] || !roaring_bitmap_equals(x->maps[i], y->maps[i]))
			return false;
	return true;
}

/* Properties of a decoded bitmap. */
static void
check_bitmap(const dl_bitmap *b)
{
	lk_error err;
	for (int i = 0; i < b->nbuckets; i++) {
		if (i > 0 && b->keys[i] <= b->keys[i - 1])
			finding("bucket keys are not ascending", NULL);
		if (roaring_bitmap_is_empty(b->maps[i]))
			finding("an empty bucket", NULL);
	}
	lk_buf s = LK_BUF_INIT;
	if (dl_bitmap_serialize(b, &s, &err)) {
		dl_bitmap again;
		dl_bitmap_init(&again);
		if (!dl_bitmap_deserialize(s.data, s.len, &again, &err))
			finding("a serialized bitmap does not decode", &err);
		if (!same_rows(b, &again))
			finding("a bitmap changed in a serialize round trip", NULL);
		dl_bitmap_free(&again);
	} else {
		check_failure(&err);
	}
	lk_buf_free(&s);
	uint64_t *rows;
	size_t n;
	if (dl_bitmap_to_array(b, 1u << 20, &rows, &n, &err)) {
		if (n != dl_bitmap_cardinality(b))
			finding("row array length differs from the cardinality", NULL);
		for (size_t i = 0; i < n; i++) {
			if (i > 0 && rows[i] <= rows[i - 1])
				finding("rows are not ascending", NULL);
			if (i < 64 && !dl_bitmap_contains(b, rows[i]))
				finding("a listed row is not contained", NULL);
		}
		free(rows);
	} else {
		check_failure(&err);
	}
}

/* A temp table holding the DV file, made once per process. */
static char dir[64];
static st_store store;
static bool have_store;

static void
cleanup(void)
{
	char p[160];
	snprintf(p, sizeof(p), "%s/deletion_vector_00010203-0405-0607-0809-0a0b0c0d0e0f.bin", dir);
	unlink(p);
	if (have_store)
		st_store_close(&store);
	rmdir(dir);
}

static bool
ensure_store(void)
{
	if (have_store)
		return true;
	lk_error err;
	snprintf(dir, sizeof(dir), "/tmp/fuzz_delta_dv_XXXXXX");
	if (!mkdtemp(dir) || !st_store_open(&store, dir, ST_ALLOW_ABSOLUTE, &err))
		return false;
	have_store = true;
	atexit(cleanup);
	return true;
}

static void
load(const dl_dv *dv, st_store *st)
{
	lk_error err;
	dl_bitmap b;
	dl_bitmap_init(&b);
	lk_error_clear(&err);
	if (dl_dv_load(st, dv, &b, &err)) {
		if ((int64_t) dl_bitmap_cardinality(&b) != dv->cardinality)
			finding("a loaded DV disagrees with its cardinality", NULL);
		check_bitmap(&b);
	} else {
		check_failure(&err);
		if (b.nbuckets != 0)
			finding("a failed load left rows behind", NULL);
	}
	dl_bitmap_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	lk_arena a;
	lk_error err;
	lk_arena_init(&a, 0);
	lk_error_clear(&err);
	switch (data[0] & 7) {
	case 1: {
		uint8_t *out;
		size_t ol;
		if (dl_z85_decode((const char *) p, n, &a, &out, &ol, &err)) {
			if (ol != n / 5 * 4)
				finding("z85 output length", NULL);
			char *back = dl_z85_encode(out, ol, &a);
			if (strlen(back) != n || memcmp(back, p, n) != 0)
				finding("z85 decode/encode is not the identity", NULL);
		} else {
			check_failure(&err);
		}
		break;
	}
	case 2: {
		if (n < 8)
			break;
		dl_dv dv;
		memset(&dv, 0, sizeof(dv));
		dv.storage_type = 'i';
		dv.size_in_bytes = (int32_t) le32(p);
		dv.cardinality = (int32_t) le32(p + 4);
		dv.path_or_inline = lk_arena_strndup(&a, (const char *) p + 8, n - 8);
		load(&dv, NULL);
		break;
	}
	case 3: {
		if (n < 10 || !ensure_store())
			break;
		static const uint8_t uuid[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
		const char *name = "deletion_vector_00010203-0405-0607-0809-0a0b0c0d0e0f.bin";
		if (!st_put(&store, name, p + 10, n - 10, &err))
			break;
		dl_dv dv;
		memset(&dv, 0, sizeof(dv));
		dv.storage_type = 'u';
		dv.path_or_inline = dl_z85_encode(uuid, 16, &a);
		dv.has_offset = true;
		dv.offset = (int32_t) (p[0] | p[1] << 8);
		dv.size_in_bytes = (int32_t) le32(p + 2);
		dv.cardinality = (int32_t) le32(p + 6);
		load(&dv, &store);
		dv.storage_type = 'p';
		dv.path_or_inline = lk_arena_sprintf(&a, "file://%s/%s", dir, name);
		load(&dv, &store);
		break;
	}
	case 4: {
		if (n < 1)
			break;
		dl_dv dv;
		memset(&dv, 0, sizeof(dv));
		dv.storage_type = (char) p[0];
		dv.path_or_inline = lk_arena_strndup(&a, (const char *) p + 1, n - 1);
		dv.has_offset = n > 3;
		dv.offset = (int32_t) n;
		char *path;
		if (!dl_dv_path(&dv, &a, &path, &err))
			check_failure(&err);
		else if (!path || (dv.storage_type == 'u' && strstr(path, "/..")))
			finding("a DV path escapes", NULL);
		(void) dl_dv_unique_id(&dv, &a);
		break;
	}
	default: {
		dl_bitmap b;
		dl_bitmap_init(&b);
		if (dl_bitmap_deserialize(p, n, &b, &err))
			check_bitmap(&b);
		else
			check_failure(&err);
		dl_bitmap_free(&b);
		break;
	}
	}
	lk_arena_free(&a);
	return 0;
}
