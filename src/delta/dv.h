/*
 * dv.h — Delta deletion vectors (prefix `dl_`): Z85, descriptor → file,
 * the DV file format, and a 64-bit row-index bitmap on CRoaring.
 *
 * The Debian CRoaring (0.2.x) has no roaring64, so a dl_bitmap is the
 * RoaringBitmapArray of the Delta spec itself: an array of 32-bit roaring
 * bitmaps keyed by the high 32 bits of the row index, keys ascending.
 *
 * Ownership: a dl_bitmap owns its roaring bitmaps; release with
 * dl_bitmap_free().  Strings produced for descriptors live in the arena
 * passed in.
 */
#ifndef DL_DV_H
#define DL_DV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <roaring/roaring.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"
#include "delta/actions.h"
#include "storage/storage.h"

#define DL_DV_MAGIC 1681511377u

typedef struct dl_bitmap {
	int nbuckets;
	int cap;
	uint32_t *keys;             /* high 32 bits, strictly ascending */
	roaring_bitmap_t **maps;    /* low 32 bits of each bucket, never empty */
} dl_bitmap;

void dl_bitmap_init(dl_bitmap *b);
void dl_bitmap_free(dl_bitmap *b);
/* Add row indexes (any order). Rows ≥ 2^63 are refused by the format: the
 * writer checks in dl_bitmap_serialize. */
void dl_bitmap_add(dl_bitmap *b, uint64_t row);
void dl_bitmap_add_range(dl_bitmap *b, uint64_t from, uint64_t to_exclusive);
bool dl_bitmap_contains(const dl_bitmap *b, uint64_t row);
uint64_t dl_bitmap_cardinality(const dl_bitmap *b);
/* Sorted row indexes; *rows is malloc'd (caller frees; NULL when empty).
 * Fails with LK_ERR_NOMEM when the cardinality exceeds max_rows. */
bool dl_bitmap_to_array(const dl_bitmap *b, uint64_t max_rows, uint64_t **rows,
						size_t *n, lk_error *err);

/* Serialized DV: magic (4 bytes LE) + portable 64-bit RoaringBitmapArray
 * (8-byte LE bucket count, then per bucket a 4-byte LE key and a portable
 * 32-bit roaring bitmap). Appended to out. */
bool dl_bitmap_serialize(const dl_bitmap *b, lk_buf *out, lk_error *err);
/* Inverse, strictly validated (bounds, key order, sorted containers,
 * bitset cardinalities). out must be initialised; it is reset first. */
bool dl_bitmap_deserialize(const uint8_t *data, size_t len, dl_bitmap *out,
						   lk_error *err);

/* ---- Z85 (ZeroMQ RFC 32) ------------------------------------------------ */

/* Decode z85 text (length a multiple of 5) into 4/5 as many bytes; *out in
 * arena a. Invalid characters or lengths are LK_ERR_CORRUPT. */
bool dl_z85_decode(const char *s, size_t len, lk_arena *a, uint8_t **out,
				   size_t *out_len, lk_error *err);
/* Encode n bytes; n is padded with zero bytes to a multiple of 4 (Delta's
 * Base85Codec does the same; the reader truncates to sizeInBytes). */
char *dl_z85_encode(const uint8_t *p, size_t n, lk_arena *a);

/* ---- descriptors -------------------------------------------------------- */

/* Path of an on-disk DV, as a store path: 'u' → "[prefix/]deletion_vector_
 * <uuid>.bin" (relative to the table root); 'p' → the percent-decoded
 * absolute path. 'i' has no path (LK_ERR_INVALID). In arena a. */
bool dl_dv_path(const dl_dv *dv, lk_arena *a, char **path, lk_error *err);

/* Load the rows a descriptor deletes. On-disk DV files:
 *
 *   byte 0                     version = 1
 *   at dv->offset:             dataSize   (4 bytes, big-endian)
 *                              data       (dataSize bytes: magic + bitmap)
 *                              checksum   (4 bytes BE, CRC-32 of data)
 *
 * Checks: version, dataSize == sizeInBytes, CRC, magic, structure, and the
 * bitmap's cardinality == descriptor cardinality. Inline ('i') DVs are
 * z85(magic + bitmap) truncated to sizeInBytes. out is reset first. */
bool dl_dv_load(st_store *st, const dl_dv *dv, dl_bitmap *out, lk_error *err);

/* Writer: one DV file holding n bitmaps, at "[prefix/]deletion_vector_
 * <random uuid>.bin" (put-if-absent); descs[i] gets storageType 'u',
 * pathOrInlineDv = prefix + z85(uuid), offset, sizeInBytes, cardinality.
 * prefix may be NULL. Strings in arena a. */
bool dl_dv_write_file(st_store *st, const char *prefix,
					  const dl_bitmap *const *bms, int n, lk_arena *a,
					  dl_dv *descs, lk_error *err);
/* Writer: an inline descriptor ('i') for small bitmaps. */
bool dl_dv_make_inline(const dl_bitmap *b, lk_arena *a, dl_dv *out,
					   lk_error *err);

#endif
