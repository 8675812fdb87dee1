#include <criterion/criterion.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/arena.h"
#include "common/buf.h"
#include "delta/actions.h"
#include "delta/dv.h"
#include "storage/storage.h"

static const char *
testdata(void)
{
	const char *t = getenv("LAKESYNC_TESTDATA");
	return t ? t : "../shared/testdata";
}

Test(dv, z85_rfc32_vector)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_error err;
	const uint8_t bytes[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
	cr_assert_str_eq(dl_z85_encode(bytes, 8, &a), "HelloWorld");
	uint8_t *out;
	size_t n;
	cr_assert(dl_z85_decode("HelloWorld", 10, &a, &out, &n, &err));
	cr_assert_eq(n, 8);
	cr_assert(memcmp(out, bytes, 8) == 0);
	cr_assert_not(dl_z85_decode("Hello", 4, &a, &out, &n, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert_not(dl_z85_decode("Hell\"", 5, &a, &out, &n, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert(strstr(err.msg, "0x22") != NULL, "%s", err.msg);
	cr_assert_not(dl_z85_decode("#####", 5, &a, &out, &n, &err));   /* > 2^32 */
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	/* padding: 5 bytes → 2 groups */
	cr_assert_eq(strlen(dl_z85_encode(bytes, 5, &a)), 10);
	lk_arena_free(&a);
}

/* PROTOCOL.md examples. */
Test(dv, protocol_examples)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_error err;
	dl_dv u = {.storage_type = 'u', .path_or_inline = "ab^-aqEH.-t@S}K{vb[*k^",
			   .has_offset = true, .offset = 4, .size_in_bytes = 40, .cardinality = 6};
	char *path;
	cr_assert(dl_dv_path(&u, &a, &path, &err), "%s", err.msg);
	cr_assert_str_eq(path, "ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin");
	cr_assert_str_eq(dl_dv_unique_id(&u, &a), "uab^-aqEH.-t@S}K{vb[*k^@4");

	dl_dv p = {.storage_type = 'p',
			   .path_or_inline = "s3://mytable/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin"};
	cr_assert(dl_dv_path(&p, &a, &path, &err));
	cr_assert_str_eq(path, "s3://mytable/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin");

	dl_dv in = {.storage_type = 'i',
				.path_or_inline = "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L",
				.size_in_bytes = 40, .cardinality = 6};
	cr_assert_not(dl_dv_path(&in, &a, &path, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	dl_bitmap b;
	dl_bitmap_init(&b);
	cr_assert(dl_dv_load(NULL, &in, &b, &err), "%s %s", err.msg, err.where);
	uint64_t *rows;
	size_t n;
	cr_assert(dl_bitmap_to_array(&b, 100, &rows, &n, &err));
	uint64_t want[] = {3, 4, 7, 11, 18, 29};
	cr_assert_eq(n, 6);
	for (size_t i = 0; i < 6; i++)
		cr_assert_eq(rows[i], want[i]);
	free(rows);
	cr_assert(dl_bitmap_contains(&b, 11));
	cr_assert_not(dl_bitmap_contains(&b, 12));
	cr_assert_not(dl_bitmap_contains(&b, (1ull << 32) | 11));
	cr_assert_not(dl_bitmap_to_array(&b, 5, &rows, &n, &err));
	cr_assert_eq(err.code, LK_ERR_NOMEM);

	/* that example uses the "native" framing (magic 1681511376, big-endian
	 * counts); we write the portable one, which loads back the same */
	dl_dv again;
	cr_assert(dl_dv_make_inline(&b, &a, &again, &err));
	cr_assert_eq(again.storage_type, 'i');
	cr_assert_eq(again.size_in_bytes, 4 + 8 + 4 + 4 + 4 + 4 + 4 + 6 * 2);
	cr_assert_eq(strlen(again.path_or_inline), 55);
	cr_assert_eq(again.cardinality, 6);
	dl_bitmap b2;
	dl_bitmap_init(&b2);
	cr_assert(dl_dv_load(NULL, &again, &b2, &err), "%s", err.msg);
	cr_assert(dl_bitmap_to_array(&b2, 100, &rows, &n, &err));
	cr_assert_eq(n, 6);
	for (size_t i = 0; i < 6; i++)
		cr_assert_eq(rows[i], want[i]);
	free(rows);
	dl_bitmap_free(&b2);

	/* cardinality mismatch */
	in.cardinality = 7;
	cr_assert_not(dl_dv_load(NULL, &in, &b, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert(strstr(err.msg, "holds 6 rows but its descriptor says 7") != NULL, "%s", err.msg);
	dl_bitmap_free(&b);
	lk_arena_free(&a);
}

static void
check_same(const dl_bitmap *x, const dl_bitmap *y)
{
	lk_error err;
	uint64_t *r1, *r2;
	size_t n1, n2;
	cr_assert(dl_bitmap_to_array(x, 1u << 24, &r1, &n1, &err));
	cr_assert(dl_bitmap_to_array(y, 1u << 24, &r2, &n2, &err));
	cr_assert_eq(n1, n2);
	for (size_t i = 0; i < n1; i++)
		cr_assert_eq(r1[i], r2[i], "row %zu: %llu vs %llu", i,
					 (unsigned long long) r1[i], (unsigned long long) r2[i]);
	free(r1);
	free(r2);
}

/* Array, bitset and run containers in several 32-bit buckets. */
static void
build_mixed(dl_bitmap *b)
{
	dl_bitmap_init(b);
	dl_bitmap_add(b, 0);
	dl_bitmap_add(b, 65535);
	dl_bitmap_add(b, 65536);
	for (uint64_t i = 0; i < 6000; i++)            /* bitset container */
		dl_bitmap_add(b, 3 * 65536 + i * 7 % 65536);
	dl_bitmap_add_range(b, 10 * 65536 + 5, 10 * 65536 + 40000);   /* run */
	dl_bitmap_add(b, (1ull << 32) | 5);
	dl_bitmap_add(b, (7ull << 32) | 0xffffffffu);
	dl_bitmap_add_range(b, (9ull << 32) - 3, (9ull << 32) + 3);    /* spans buckets */
}

Test(dv, bitmap_serialize_round_trip)
{
	lk_error err;
	dl_bitmap b, c;
	build_mixed(&b);
	cr_assert_eq(b.nbuckets, 5);
	uint64_t card = 3 + 6000 + 39995 + 1 + 1 + 6;
	cr_assert_eq(dl_bitmap_cardinality(&b), card);
	cr_assert(dl_bitmap_contains(&b, (9ull << 32) - 1));
	cr_assert(dl_bitmap_contains(&b, (9ull << 32) + 2));
	cr_assert_not(dl_bitmap_contains(&b, (9ull << 32) + 3));
	lk_buf s = LK_BUF_INIT;
	cr_assert(dl_bitmap_serialize(&b, &s, &err));
	cr_assert_eq(s.data[0] | s.data[1] << 8 | s.data[2] << 16 | (uint32_t) s.data[3] << 24,
				 DL_DV_MAGIC);
	cr_assert_eq(s.data[4], 5);     /* bucket count, LE */
	dl_bitmap_init(&c);
	cr_assert(dl_bitmap_deserialize(s.data, s.len, &c, &err), "%s %s", err.msg, err.where);
	check_same(&b, &c);

	/* every truncation fails cleanly */
	for (size_t cut = 0; cut < s.len; cut += (cut < 200 ? 1 : 97)) {
		lk_error_clear(&err);
		cr_assert_not(dl_bitmap_deserialize(s.data, cut, &c, &err), "cut %zu", cut);
		cr_assert_eq(err.code, LK_ERR_CORRUPT);
		cr_assert_eq(c.nbuckets, 0);
	}
	/* trailing garbage */
	lk_buf_append_byte(&s, 0);
	cr_assert_not(dl_bitmap_deserialize(s.data, s.len, &c, &err));
	/* random byte flips never crash (and mostly fail) */
	srand(7);
	for (int k = 0; k < 2000; k++) {
		uint8_t *copy = malloc(s.len - 1);
		memcpy(copy, s.data, s.len - 1);
		copy[rand() % (int) (s.len - 1)] ^= (uint8_t) (1 + rand() % 255);
		dl_bitmap_deserialize(copy, s.len - 1, &c, &err);
		free(copy);
	}
	dl_bitmap_free(&c);
	dl_bitmap_free(&b);
	lk_buf_free(&s);

	/* rows ≥ 2^63 cannot be written */
	dl_bitmap_init(&b);
	dl_bitmap_add(&b, 1ull << 63);
	cr_assert_not(dl_bitmap_serialize(&b, &s, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	dl_bitmap_free(&b);
	lk_buf_free(&s);
}

/* Bitmaps serialized by CRoaring itself (with and without run containers,
 * i.e. both cookies) decode to the same set. */
Test(dv, reads_croaring_portable_format)
{
	lk_error err;
	for (int opt = 0; opt < 2; opt++) {
		roaring_bitmap_t *r = roaring_bitmap_create();
		if (opt)
			roaring_bitmap_add_range_closed(r, 100, 20000); /* run */
		else
			for (uint32_t v = 100; v <= 20000; v++)         /* bitset */
				roaring_bitmap_add(r, v);
		for (uint32_t i = 0; i < 100; i++)
			roaring_bitmap_add(r, 200000 + i * 3);            /* array */
		for (uint32_t k = 4; k < 9; k++)                      /* ≥ 4 containers */
			roaring_bitmap_add(r, k << 16);
		size_t sz = roaring_bitmap_portable_size_in_bytes(r);
		lk_buf s = LK_BUF_INIT;
		lk_buf_append_u32le(&s, DL_DV_MAGIC);
		lk_buf_append_u64le(&s, 1);
		lk_buf_append_u32le(&s, 3);     /* high key 3 */
		lk_buf_reserve(&s, sz);
		s.len += roaring_bitmap_portable_serialize(r, (char *) s.data + s.len);
		uint32_t cookie = s.data[16] | s.data[17] << 8;
		cr_assert_eq(cookie, opt ? 12347 : 12346);
		dl_bitmap b;
		dl_bitmap_init(&b);
		cr_assert(dl_bitmap_deserialize(s.data, s.len, &b, &err), "%s %s", err.msg, err.where);
		cr_assert_eq(dl_bitmap_cardinality(&b), roaring_bitmap_get_cardinality(r));
		cr_assert(dl_bitmap_contains(&b, (3ull << 32) | 20000));
		cr_assert_not(dl_bitmap_contains(&b, (3ull << 32) | 20001));
		cr_assert(dl_bitmap_contains(&b, (3ull << 32) | 200297));
		cr_assert(dl_bitmap_contains(&b, (3ull << 32) | (8u << 16)));
		cr_assert_not(dl_bitmap_contains(&b, 100));
		dl_bitmap_free(&b);
		lk_buf_free(&s);
		roaring_bitmap_free(r);
	}
}

static char tmpdir[256];

static void
make_tmp(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lk_dv_XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void
rm_tmp(void)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void) !system(cmd);
}

Test(dv, write_file_and_load_back, .init = make_tmp, .fini = rm_tmp)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_error err;
	st_store st;
	cr_assert(st_store_open(&st, tmpdir, 0, &err));
	dl_bitmap b1, b2;
	build_mixed(&b1);
	dl_bitmap_init(&b2);
	dl_bitmap_add(&b2, 42);
	const dl_bitmap *bms[2] = {&b1, &b2};
	dl_dv d[2];
	cr_assert(dl_dv_write_file(&st, "xy", bms, 2, &a, d, &err), "%s", err.msg);
	cr_assert_eq(d[0].storage_type, 'u');
	cr_assert_eq(strlen(d[0].path_or_inline), 22);
	cr_assert_eq(strncmp(d[0].path_or_inline, "xy", 2), 0);
	cr_assert_str_eq(d[0].path_or_inline, d[1].path_or_inline);
	cr_assert_eq(d[0].offset, 1);
	cr_assert_eq(d[1].offset, 1 + 4 + d[0].size_in_bytes + 4);
	/* magic, count, key, cookie, containers, header, offset, one value:
	 * the same 34 bytes Spark writes for a one-row DV */
	cr_assert_eq(d[1].size_in_bytes, 4 + 8 + 4 + 4 + 4 + 4 + 4 + 2);
	cr_assert_eq(d[1].cardinality, 1);

	char *path;
	cr_assert(dl_dv_path(&d[1], &a, &path, &err));
	cr_assert_eq(strncmp(path, "xy/deletion_vector_", 19), 0);
	cr_assert_eq(path[19 + 14], '4');   /* uuid version nibble */
	lk_buf file = LK_BUF_INIT;
	cr_assert(st_read_all(&st, path, 1 << 20, &file, &err));
	cr_assert_eq(file.data[0], 1);
	cr_assert_eq(file.len, (size_t) d[1].offset + 4 + (size_t) d[1].size_in_bytes + 4);
	uint32_t sz = (uint32_t) file.data[1] << 24 | file.data[2] << 16 | file.data[3] << 8 |
				  file.data[4];
	cr_assert_eq(sz, (uint32_t) d[0].size_in_bytes);
	uint32_t crc = (uint32_t) crc32(0, file.data + 5, sz);
	const uint8_t *cp = file.data + 5 + sz;
	cr_assert_eq(crc, (uint32_t) cp[0] << 24 | cp[1] << 16 | cp[2] << 8 | cp[3]);

	dl_bitmap got;
	dl_bitmap_init(&got);
	for (int i = 0; i < 2; i++) {
		cr_assert(dl_dv_load(&st, &d[i], &got, &err), "%s %s", err.msg, err.where);
		check_same(&got, bms[i]);
	}

	/* corruptions, each reported with the file */
	dl_dv bad = d[1];
	bad.size_in_bytes += 1;
	cr_assert_not(dl_dv_load(&st, &bad, &got, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	bad = d[0];
	bad.offset = d[1].offset + 2;
	cr_assert_not(dl_dv_load(&st, &bad, &got, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);

	file.data[5 + sz - 1] ^= 1;      /* last data byte of the first DV */
	cr_assert(st_put(&st, path, file.data, file.len, &err));
	cr_assert_not(dl_dv_load(&st, &d[0], &got, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert(strstr(err.msg, "checksum mismatch") != NULL, "%s", err.msg);
	cr_assert(strstr(err.where, "deletion_vector_") != NULL, "%s", err.where);
	cr_assert(dl_dv_load(&st, &d[1], &got, &err));   /* the other DV is intact */

	file.data[0] = 2;
	cr_assert(st_put(&st, path, file.data, file.len, &err));
	cr_assert_not(dl_dv_load(&st, &d[1], &got, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);

	cr_assert(st_remove(&st, path, &err));
	cr_assert_not(dl_dv_load(&st, &d[1], &got, &err));
	cr_assert_eq(err.code, LK_ERR_NOT_FOUND);

	dl_bitmap_free(&got);
	dl_bitmap_free(&b1);
	dl_bitmap_free(&b2);
	lk_buf_free(&file);
	st_store_close(&st);
	lk_arena_free(&a);
}

/* Spark-written DVs: log-replay-dv-key-cases deletes id 0, then 7, then 14
 * (one row per commit, the DV replacing the previous one). */
Test(dv, golden_log_replay_dv_key_cases)
{
	char root[1024];
	snprintf(root, sizeof(root), "%s/delta-golden/log-replay-dv-key-cases/delta", testdata());
	lk_error err;
	st_store st;
	FILE *probe = fopen(root, "r");
	if (!probe)
		cr_skip_test("no test data");
	fclose(probe);
	cr_assert(st_store_open(&st, root, 0, &err));
	const struct {
		const char *z;
		int size;
		int card;
		uint64_t rows[3];
		const char *file;
	} cases[] = {
		{"h{&8fAg]=QYJvl-}c!yH", 34, 1, {0}, NULL},
		{"j=hZPftg7qJYIw^L+Oz9", 36, 2, {0, 7}, NULL},
		{"^jP?.<zvDfIGb{C.FPij", 38, 3, {0, 7, 14}, NULL},
	};
	lk_arena a;
	lk_arena_init(&a, 0);
	for (int i = 0; i < 3; i++) {
		dl_dv d = {.storage_type = 'u', .path_or_inline = cases[i].z, .has_offset = true,
				   .offset = 1, .size_in_bytes = cases[i].size, .cardinality = cases[i].card};
		dl_bitmap b;
		dl_bitmap_init(&b);
		cr_assert(dl_dv_load(&st, &d, &b, &err), "%s %s", err.msg, err.where);
		uint64_t *rows;
		size_t n;
		cr_assert(dl_bitmap_to_array(&b, 10, &rows, &n, &err));
		cr_assert_eq(n, (size_t) cases[i].card);
		for (size_t k = 0; k < n; k++)
			cr_assert_eq(rows[k], cases[i].rows[k]);
		free(rows);
		dl_bitmap_free(&b);
	}
	char *path;
	dl_dv d0 = {.storage_type = 'u', .path_or_inline = "h{&8fAg]=QYJvl-}c!yH"};
	cr_assert(dl_dv_path(&d0, &a, &path, &err));
	FILE *f = NULL;
	char full[1400];
	snprintf(full, sizeof(full), "%s/%s", root, path);
	f = fopen(full, "rb");
	cr_assert_not_null(f, "%s", full);
	fclose(f);
	lk_arena_free(&a);
	st_store_close(&st);
}

/* Every DV referenced by dv-with-columnmapping's log loads and matches
 * its descriptor's cardinality. */
Test(dv, golden_dv_with_columnmapping)
{
	char pat[1100], root[1024];
	snprintf(root, sizeof(root), "%s/delta-golden/dv-with-columnmapping/delta", testdata());
	snprintf(pat, sizeof(pat), "%s/_delta_log/*.json", root);
	glob_t g;
	if (glob(pat, 0, NULL, &g) != 0)
		cr_skip_test("no test data");
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_error err;
	st_store st;
	cr_assert(st_store_open(&st, root, 0, &err));
	int loaded = 0;
	int64_t rows = 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		FILE *f = fopen(g.gl_pathv[i], "rb");
		static char buf[1 << 20];
		size_t len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		dl_action *acts;
		size_t n;
		cr_assert(dl_actions_parse(buf, len, g.gl_pathv[i], &a, &acts, &n, &err));
		for (size_t j = 0; j < n; j++) {
			const dl_dv *d = acts[j].type == DL_ACT_ADD && acts[j].u.add.has_dv
								 ? &acts[j].u.add.dv
								 : acts[j].type == DL_ACT_REMOVE && acts[j].u.remove.has_dv
									   ? &acts[j].u.remove.dv
									   : NULL;
			if (!d)
				continue;
			dl_bitmap b;
			dl_bitmap_init(&b);
			cr_assert(dl_dv_load(&st, d, &b, &err), "%s: %s %s", g.gl_pathv[i], err.msg,
					  err.where);
			loaded++;
			rows += (int64_t) dl_bitmap_cardinality(&b);
			dl_bitmap_free(&b);
		}
	}
	globfree(&g);
	cr_assert_eq(loaded, 18);   /* counted with Python */
	cr_assert_eq(rows, 24);
	st_store_close(&st);
	lk_arena_free(&a);
}
