/*
 * test_sync_pkindex.c — the primary-key index of mirror mode
 * (src/sync/pkindex.c): canonical keys, put/get/delete/overwrite,
 * remove_file across memory and runs, 2 million keys under a 4 MiB budget
 * (spills and merges) checked against a reference for every key and for
 * misses, forced hash collisions, bulk load, save/open round trips,
 * corrupted and truncated files refused with LK_ERR_CORRUPT, and the peak
 * memory of 10 million keys under the default 64 MiB budget.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/buf.h"
#include "common/types.h"
#include "sync/pkindex.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static char tmpdir[256];
static char idxdir[300];

static int
rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void) sb;
	(void) flag;
	(void) ftw;
	return remove(p);
}

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lk-pkindex-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(idxdir, sizeof(idxdir), "%s/idx", tmpdir);
}

static void
teardown(void)
{
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static uint64_t
splitmix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

/* Key of number x: 8 bytes of splitmix(x) then 0..4 more bytes. */
static size_t
make_key(uint64_t x, uint8_t *out)
{
	uint64_t v = splitmix(x);
	memcpy(out, &v, 8);
	size_t extra = (size_t) (v % 5);
	for (size_t i = 0; i < extra; i++)
		out[8 + i] = (uint8_t) (v >> (8 * i + 3));
	return 8 + extra;
}

static sy_pkindex *
new_index(size_t budget, uint64_t (*hash)(const void *, size_t))
{
	sy_pkindex_opts o = {.memory_budget = budget, .hash_fn = hash};
	lk_error err;
	lk_error_clear(&err);
	sy_pkindex *idx = sy_pkindex_create(idxdir, "tbl-1", &o, &err);
	cr_assert_not_null(idx, "%s", err.msg);
	return idx;
}

static uint32_t
fid(sy_pkindex *idx, const char *path)
{
	uint32_t id;
	lk_error err;
	cr_assert(sy_pkindex_file_id(idx, path, &id, &err), "%s", err.msg);
	return id;
}

static void
put(sy_pkindex *idx, const void *k, size_t n, uint32_t f, uint64_t row)
{
	lk_error err;
	cr_assert(sy_pkindex_put(idx, k, n, f, row, &err), "%s", err.msg);
}

static bool
get(sy_pkindex *idx, const void *k, size_t n, sy_pkindex_loc *loc)
{
	lk_error err;
	bool found = false;
	cr_assert(sy_pkindex_get(idx, k, n, &found, loc, &err), "%s", err.msg);
	return found;
}

static void
del(sy_pkindex *idx, const void *k, size_t n)
{
	lk_error err;
	cr_assert(sy_pkindex_delete(idx, k, n, &err), "%s", err.msg);
}

TestSuite(sync_pkindex, .init = setup, .fini = teardown);

Test(sync_pkindex, key_encoding)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_column c[2];
	lk_column_init(&c[0], lk_type_new(&a, LK_T_LONG));
	lk_column_init(&c[1], lk_type_new(&a, LK_T_STRING));
	lk_column_append_i64(&c[0], 258);
	lk_column_append_bytes(&c[1], "ab", 2);
	lk_column_append_i64(&c[0], 258);
	lk_column_append_null(&c[1]);
	lk_buf b = LK_BUF_INIT;
	lk_error err;
	cr_assert(sy_pkindex_key_from_row(c, 2, 0, &b, &err));
	const uint8_t want[] = {LK_T_LONG + 1, 2, 1, 0, 0, 0, 0, 0, 0,
							LK_T_STRING + 1, 2, 'a', 'b'};
	cr_assert_eq(b.len, sizeof(want));
	cr_assert_arr_eq(b.data, want, sizeof(want));
	cr_assert(sy_pkindex_key_from_row(c, 2, 1, &b, &err));
	cr_assert_eq(b.len, 10);
	cr_assert_eq(b.data[9], 0, "null tag");
	cr_assert(!sy_pkindex_key_from_row(c, 2, 2, &b, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);

	/* ("a","bc") and ("ab","c") differ; -0.0 and 0.0 are one key */
	lk_column s[2];
	lk_column_init(&s[0], lk_type_new(&a, LK_T_STRING));
	lk_column_init(&s[1], lk_type_new(&a, LK_T_STRING));
	lk_column_append_bytes(&s[0], "a", 1);
	lk_column_append_bytes(&s[1], "bc", 2);
	lk_column_append_bytes(&s[0], "ab", 2);
	lk_column_append_bytes(&s[1], "c", 1);
	lk_buf b2 = LK_BUF_INIT;
	cr_assert(sy_pkindex_key_from_row(s, 2, 0, &b, &err));
	cr_assert(sy_pkindex_key_from_row(s, 2, 1, &b2, &err));
	cr_assert_eq(b.len, b2.len);
	cr_assert_neq(memcmp(b.data, b2.data, b.len), 0);
	lk_column d;
	lk_column_init(&d, lk_type_new(&a, LK_T_DOUBLE));
	lk_column_append_f64(&d, -0.0);
	lk_column_append_f64(&d, 0.0);
	cr_assert(sy_pkindex_key_from_row(&d, 1, 0, &b, &err));
	cr_assert(sy_pkindex_key_from_row(&d, 1, 1, &b2, &err));
	cr_assert_eq(b.len, 9);
	cr_assert_arr_eq(b.data, b2.data, 9);

	lk_column arr;
	lk_column_init(&arr, lk_type_array(&a, lk_type_new(&a, LK_T_INT), true));
	lk_column_append_list(&arr);
	cr_assert(!sy_pkindex_key_from_row(&arr, 1, 0, &b, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);

	lk_buf_free(&b);
	lk_buf_free(&b2);
	lk_column_destroy(&c[0]);
	lk_column_destroy(&c[1]);
	lk_column_destroy(&s[0]);
	lk_column_destroy(&s[1]);
	lk_column_destroy(&d);
	lk_column_destroy(&arr);
	lk_arena_free(&a);
}

Test(sync_pkindex, put_get_delete_overwrite)
{
	sy_pkindex *idx = new_index(0, NULL);
	uint32_t f0 = fid(idx, "part-0.parquet"), f1 = fid(idx, "part-1.parquet");
	cr_assert_eq(f0, 0);
	cr_assert_eq(f1, 1);
	cr_assert_eq(fid(idx, "part-0.parquet"), 0);
	cr_assert_str_eq(sy_pkindex_file_path(idx, 1), "part-1.parquet");
	cr_assert_null(sy_pkindex_file_path(idx, 2));
	cr_assert_str_eq(sy_pkindex_table_id(idx), "tbl-1");

	sy_pkindex_loc loc;
	put(idx, "alpha", 5, f0, 7);
	put(idx, "beta", 4, f1, 9);
	put(idx, "", 0, f1, 3);                /* the empty key is a key */
	cr_assert(get(idx, "alpha", 5, &loc));
	cr_assert_eq(loc.file_id, 0);
	cr_assert_eq(loc.row, 7);
	cr_assert_str_eq(loc.path, "part-0.parquet");
	cr_assert(get(idx, "", 0, &loc));
	cr_assert_eq(loc.row, 3);
	cr_assert(!get(idx, "alph", 4, &loc));
	cr_assert(!get(idx, "alphaa", 6, &loc));

	put(idx, "alpha", 5, f1, 100);         /* overwrite */
	cr_assert(get(idx, "alpha", 5, &loc));
	cr_assert_eq(loc.file_id, 1);
	cr_assert_eq(loc.row, 100);
	del(idx, "beta", 4);
	cr_assert(!get(idx, "beta", 4, &loc));
	del(idx, "never", 5);
	cr_assert(!get(idx, "never", 5, &loc));
	put(idx, "beta", 4, f0, 1);            /* back after delete */
	cr_assert(get(idx, "beta", 4, &loc));
	cr_assert_eq(loc.row, 1);

	lk_error err;
	cr_assert(!sy_pkindex_put(idx, "x", 1, 5, 0, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	char big[SY_PKINDEX_MAX_KEY + 1];
	memset(big, 'k', sizeof(big));
	cr_assert(!sy_pkindex_put(idx, big, sizeof(big), f0, 0, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	put(idx, big, SY_PKINDEX_MAX_KEY, f0, 55);
	cr_assert(get(idx, big, SY_PKINDEX_MAX_KEY, &loc));
	cr_assert_eq(loc.row, 55);
	sy_pkindex_close(idx);
}

/* remove_file with entries in memory and in runs, newer versions in other
 * files kept, older versions in a live file NOT resurrected. */
Test(sync_pkindex, remove_file)
{
	sy_pkindex *idx = new_index(1 << 20, NULL);
	uint32_t fa = fid(idx, "a.parquet"), fb = fid(idx, "b.parquet");
	uint8_t k[16];
	const uint64_t n = 50000;   /* > one memory table at 1 MiB */
	for (uint64_t i = 0; i < n; i++) {
		size_t l = make_key(i, k);
		put(idx, k, l, i % 2 ? fb : fa, i);
	}
	/* keys 0..999 move from a (or b) to b: the old version must stay dead */
	for (uint64_t i = 0; i < 1000; i++) {
		size_t l = make_key(i, k);
		put(idx, k, l, fb, n + i);
	}
	sy_pkindex_stats st;
	sy_pkindex_get_stats(idx, &st);
	cr_assert_gt(st.flushes, 0);
	lk_error err;
	cr_assert(sy_pkindex_remove_file(idx, fb, &err));
	cr_assert(sy_pkindex_remove_file(idx, fb, &err));   /* idempotent */
	cr_assert(!sy_pkindex_remove_file(idx, 99, &err));
	cr_assert(!sy_pkindex_put(idx, "x", 1, fb, 0, &err));
	sy_pkindex_loc loc;
	for (uint64_t i = 0; i < n; i++) {
		size_t l = make_key(i, k);
		bool want = i >= 1000 && i % 2 == 0;
		cr_assert_eq(get(idx, k, l, &loc), want, "key %llu",
					 (unsigned long long) i);
		if (want) {
			cr_assert_eq(loc.file_id, fa);
			cr_assert_eq(loc.row, i);
		}
	}
	/* the path comes back with a new id */
	uint32_t fb2 = fid(idx, "b.parquet");
	cr_assert_eq(fb2, 2);
	size_t l = make_key(1, k);
	put(idx, k, l, fb2, 5);
	cr_assert(get(idx, k, l, &loc));
	cr_assert_eq(loc.file_id, 2);
	cr_assert_str_eq(loc.path, "b.parquet");
	/* merges after the removal keep the result */
	for (uint64_t i = n; i < 3 * n; i++) {
		size_t kl = make_key(i, k);
		put(idx, k, kl, fa, i);
	}
	sy_pkindex_get_stats(idx, &st);
	cr_assert_gt(st.merges, 0);
	for (uint64_t i = 0; i < n; i++) {
		size_t kl = make_key(i, k);
		bool want = (i >= 1000 && i % 2 == 0) || i == 1;
		cr_assert_eq(get(idx, k, kl, &loc), want, "key %llu after merges",
					 (unsigned long long) i);
	}
	sy_pkindex_close(idx);
}

Test(sync_pkindex, compact_drops_dead_entries)
{
	sy_pkindex *idx = new_index(1 << 20, NULL);
	uint32_t fa = fid(idx, "a.parquet"), fb = fid(idx, "b.parquet");
	uint8_t k[16];
	for (uint64_t i = 0; i < 40000; i++) {
		size_t l = make_key(i, k);
		put(idx, k, l, i < 30000 ? fa : fb, i);
	}
	for (uint64_t i = 30000; i < 35000; i++) {
		size_t l = make_key(i, k);
		del(idx, k, l);
	}
	lk_error err;
	cr_assert(sy_pkindex_remove_file(idx, fa, &err));
	cr_assert(sy_pkindex_compact(idx, &err), "%s", err.msg);
	sy_pkindex_stats st;
	sy_pkindex_get_stats(idx, &st);
	cr_assert_eq(st.nruns, 1);
	cr_assert_eq(st.mem_entries, 0);
	cr_assert_eq(st.run_entries, 5000, "only b's live keys remain");
	sy_pkindex_loc loc;
	for (uint64_t i = 0; i < 40000; i++) {
		size_t l = make_key(i, k);
		cr_assert_eq(get(idx, k, l, &loc), i >= 35000);
		if (i >= 35000)
			cr_assert_eq(loc.row, i);
	}
	cr_assert(sy_pkindex_remove_file(idx, fb, &err));
	cr_assert(sy_pkindex_compact(idx, &err), "%s", err.msg);
	sy_pkindex_get_stats(idx, &st);
	cr_assert_eq(st.run_entries, 0);
	sy_pkindex_close(idx);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
	return x < y ? -1 : x > y;
}

/* Expected state of key i after the 2M workload: -1 absent, else row;
 * *file = file id. */
static int64_t
expect(uint64_t i, uint32_t *file)
{
	if (i % 11 == 0)
		return -1;
	uint32_t f = (uint32_t) (i % 7);
	int64_t row = (int64_t) i;
	if (i % 3 == 0) {
		f = (uint32_t) ((i + 1) % 7);
		row = (int64_t) i + 1000000000;
	}
	if (f == 6)
		return -1;           /* file 6 removed */
	*file = f;
	return row;
}

Test(sync_pkindex, two_million_tiny_budget)
{
	const uint64_t n = 2000000;
	sy_pkindex *idx = new_index(4 << 20, NULL);
	char path[32];
	for (int f = 0; f < 7; f++) {
		snprintf(path, sizeof(path), "part-%d.parquet", f);
		cr_assert_eq(fid(idx, path), (uint32_t) f);
	}
	uint8_t k[16];
	for (uint64_t i = 0; i < n; i++) {
		size_t l = make_key(i, k);
		put(idx, k, l, (uint32_t) (i % 7), i);
	}
	for (uint64_t i = 0; i < n; i += 3) {
		size_t l = make_key(i, k);
		put(idx, k, l, (uint32_t) ((i + 1) % 7), i + 1000000000);
	}
	for (uint64_t i = 0; i < n; i += 11) {
		size_t l = make_key(i, k);
		del(idx, k, l);
	}
	lk_error err;
	cr_assert(sy_pkindex_remove_file(idx, 6, &err));
	sy_pkindex_stats st;
	sy_pkindex_get_stats(idx, &st);
	cr_assert_gt(st.flushes, 10);
	cr_assert_gt(st.merges, 2);
	cr_assert_leq(st.mem_bytes, (size_t) 4 << 20);

	/* reference of the key set: the sorted first 8 bytes of every key */
	uint64_t *ref = malloc(n * sizeof(uint64_t));
	for (uint64_t i = 0; i < n; i++)
		ref[i] = splitmix(i);
	qsort(ref, n, sizeof(uint64_t), cmp_u64);
	for (uint64_t i = 1; i < n; i++)
		cr_assert_neq(ref[i], ref[i - 1], "test keys must be distinct");

	sy_pkindex_loc loc;
	uint64_t present = 0;
	for (uint64_t i = 0; i < n; i++) {
		size_t l = make_key(i, k);
		uint32_t f = 0;
		int64_t row = expect(i, &f);
		bool found = get(idx, k, l, &loc);
		cr_assert_eq(found, row >= 0, "key %llu", (unsigned long long) i);
		if (found) {
			present++;
			cr_assert_eq(loc.file_id, f, "key %llu", (unsigned long long) i);
			cr_assert_eq(loc.row, (uint64_t) row);
		}
	}
	/* misses: keys not in the reference, and truncated real keys */
	uint64_t misses = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t x = (1ull << 40) + i;
		size_t l = make_key(x, k);
		uint64_t v = splitmix(x);
		if (bsearch(&v, ref, n, sizeof(uint64_t), cmp_u64))
			continue;
		misses++;
		cr_assert(!get(idx, k, l, &loc), "miss %llu", (unsigned long long) i);
		l = make_key(i, k);
		cr_assert(!get(idx, k, l - 1, &loc));
	}
	cr_assert_eq(misses, n);
	fprintf(stderr, "pkindex 2M keys, 4 MiB: %llu present, %d runs, %llu flushes, "
				"%llu merges, %zu bytes of index memory\n",
				(unsigned long long) present, st.nruns,
				(unsigned long long) st.flushes,
				(unsigned long long) st.merges, st.mem_bytes);
	free(ref);
	sy_pkindex_close(idx);
}

static uint64_t
hash_4(const void *key, size_t len)
{
	const uint8_t *p = key;
	return len ? p[len - 1] % 4 : 0;
}

static uint64_t
hash_const(const void *key, size_t len)
{
	(void) key;
	(void) len;
	return 0x1234;
}

static void
collisions(uint64_t (*h)(const void *, size_t), uint64_t n)
{
	sy_pkindex *idx = new_index(1 << 20, h);
	uint32_t f = fid(idx, "f.parquet");
	char k[32];
	for (uint64_t i = 0; i < n; i++) {
		int l = snprintf(k, sizeof(k), "key-%llu", (unsigned long long) i);
		put(idx, k, (size_t) l, f, i * 2);
	}
	for (uint64_t i = 0; i < n; i += 5) {
		int l = snprintf(k, sizeof(k), "key-%llu", (unsigned long long) i);
		del(idx, k, (size_t) l);
	}
	sy_pkindex_stats st;
	sy_pkindex_get_stats(idx, &st);
	cr_assert_gt(st.flushes, 0);
	sy_pkindex_loc loc;
	for (uint64_t i = 0; i < n; i++) {
		int l = snprintf(k, sizeof(k), "key-%llu", (unsigned long long) i);
		bool found = get(idx, k, (size_t) l, &loc);
		cr_assert_eq(found, i % 5 != 0, "key %llu", (unsigned long long) i);
		if (found)
			cr_assert_eq(loc.row, i * 2);
		l = snprintf(k, sizeof(k), "nokey-%llu", (unsigned long long) i);
		cr_assert(!get(idx, k, (size_t) l, &loc));
	}
	lk_error err;
	cr_assert(sy_pkindex_save(idx, NULL, 3, &err), "%s", err.msg);
	sy_pkindex_close(idx);
	sy_pkindex_opts o = {.hash_fn = h};
	int64_t v;
	idx = sy_pkindex_open(idxdir, &o, &v, &err);
	cr_assert_not_null(idx, "%s", err.msg);
	for (uint64_t i = 0; i < n; i += 7) {
		int l = snprintf(k, sizeof(k), "key-%llu", (unsigned long long) i);
		cr_assert_eq(get(idx, k, (size_t) l, &loc), i % 5 != 0);
	}
	sy_pkindex_close(idx);
}

Test(sync_pkindex, forced_collisions_four_hashes)
{
	collisions(hash_4, 20000);
}

Test(sync_pkindex, forced_collisions_one_hash)
{
	collisions(hash_const, 6000);
}

typedef struct scan_ctx {
	uint64_t n;
} scan_ctx;

static bool
scan_rows(void *ctx, sy_pkindex *idx, lk_error *err)
{
	scan_ctx *s = ctx;
	uint8_t k[16];
	char path[32];
	for (uint64_t i = 0; i < s->n; i++) {
		size_t l = make_key(i, k);
		snprintf(path, sizeof(path), "file-%llu.parquet",
				 (unsigned long long) (i / 10000));
		if (!sy_pkindex_bulk_add(idx, k, l, path, i % 10000, err))
			return false;
	}
	return true;
}

Test(sync_pkindex, bulk_load)
{
	sy_pkindex *idx = new_index(1 << 20, NULL);
	uint32_t old = fid(idx, "old.parquet");
	put(idx, "stale", 5, old, 1);
	scan_ctx s = {.n = 100000};
	lk_error err;
	cr_assert(sy_pkindex_bulk_load(idx, scan_rows, &s, &err), "%s", err.msg);
	sy_pkindex_loc loc;
	cr_assert(!get(idx, "stale", 5, &loc), "bulk load starts empty");
	cr_assert_eq(fid(idx, "file-0.parquet"), 0);
	cr_assert_eq(fid(idx, "file-9.parquet"), 9);
	uint8_t k[16];
	for (uint64_t i = 0; i < s.n; i++) {
		size_t l = make_key(i, k);
		cr_assert(get(idx, k, l, &loc));
		cr_assert_eq(loc.file_id, i / 10000);
		cr_assert_eq(loc.row, i % 10000);
	}
	sy_pkindex_close(idx);
}

/* Build an index with runs, a removed file and memory entries; save. */
static void
build_saved(uint64_t n, int64_t version)
{
	sy_pkindex *idx = new_index(1 << 20, NULL);
	uint32_t f[3] = {fid(idx, "x/a.parquet"), fid(idx, "x/b.parquet"),
					 fid(idx, "x/c.parquet")};
	uint8_t k[16];
	for (uint64_t i = 0; i < n; i++) {
		size_t l = make_key(i, k);
		put(idx, k, l, f[i % 3], i);
	}
	lk_error err;
	cr_assert(sy_pkindex_remove_file(idx, f[2], &err));
	cr_assert(sy_pkindex_save(idx, idxdir, version, &err), "%s", err.msg);
	sy_pkindex_close(idx);
}

static void
check_saved(sy_pkindex *idx, uint64_t n)
{
	uint8_t k[16];
	sy_pkindex_loc loc;
	for (uint64_t i = 0; i < n; i++) {
		size_t l = make_key(i, k);
		bool found = get(idx, k, l, &loc);
		cr_assert_eq(found, i % 3 != 2, "key %llu", (unsigned long long) i);
		if (found) {
			cr_assert_eq(loc.row, i);
			cr_assert_eq(loc.file_id, i % 3);
			cr_assert_str_eq(loc.path, i % 3 ? "x/b.parquet" : "x/a.parquet");
		}
	}
}

static int
count_runs(void)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "ls %s | grep -c '^pk-.*\\.run$'", idxdir);
	FILE *p = popen(cmd, "r");
	int n = -1;
	cr_assert(fscanf(p, "%d", &n) == 1);
	pclose(p);
	return n;
}

Test(sync_pkindex, save_open_round_trip)
{
	lk_error err;
	int64_t v = -5;
	cr_assert_null(sy_pkindex_open(idxdir, NULL, &v, &err));
	cr_assert_eq(err.code, LK_ERR_NOT_FOUND);

	build_saved(60000, 1234);
	sy_pkindex *idx = sy_pkindex_open(idxdir, NULL, &v, &err);
	cr_assert_not_null(idx, "%s", err.msg);
	cr_assert_eq(v, 1234);
	cr_assert_str_eq(sy_pkindex_table_id(idx), "tbl-1");
	check_saved(idx, 60000);
	lk_error_clear(&err);
	cr_assert(!sy_pkindex_save(idx, tmpdir, 1, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);

	/* modify after open (merges retire saved runs), save, reopen */
	uint32_t fa = fid(idx, "x/a.parquet");
	cr_assert_eq(fa, 0);
	uint8_t k[16];
	for (uint64_t i = 60000; i < 120000; i++) {
		size_t l = make_key(i, k);
		put(idx, k, l, fa, i);
	}
	size_t l0 = make_key(0, k);
	del(idx, k, l0);
	cr_assert(sy_pkindex_save(idx, NULL, 1300, &err), "%s", err.msg);
	sy_pkindex_stats st;
	sy_pkindex_get_stats(idx, &st);
	cr_assert_eq(count_runs(), st.nruns, "retired runs are deleted at save");
	sy_pkindex_close(idx);
	cr_assert_eq(count_runs(), st.nruns, "saved runs survive close");

	idx = sy_pkindex_open(idxdir, NULL, &v, &err);
	cr_assert_not_null(idx, "%s", err.msg);
	cr_assert_eq(v, 1300);
	sy_pkindex_loc loc;
	cr_assert(!get(idx, k, l0, &loc));
	for (uint64_t i = 1; i < 120000; i++) {
		size_t l = make_key(i, k);
		bool want = i >= 60000 || i % 3 != 2;
		cr_assert_eq(get(idx, k, l, &loc), want, "key %llu",
					 (unsigned long long) i);
		if (want)
			cr_assert_eq(loc.row, i);
	}
	/* closing without saving leaves the saved state openable */
	for (uint64_t i = 0; i < 100000; i++) {
		size_t l = make_key(i + 500000, k);
		put(idx, k, l, fa, i);
	}
	sy_pkindex_close(idx);
	idx = sy_pkindex_open(idxdir, NULL, &v, &err);
	cr_assert_not_null(idx, "%s", err.msg);
	cr_assert_eq(v, 1300);
	size_t l = make_key(500000, k);
	cr_assert(!get(idx, k, l, &loc));
	l = make_key(70000, k);
	cr_assert(get(idx, k, l, &loc));
	sy_pkindex_close(idx);
}

static size_t
file_size(const char *p)
{
	struct stat sb;
	cr_assert_eq(stat(p, &sb), 0);
	return (size_t) sb.st_size;
}

static uint8_t *
slurp(const char *p, size_t *n)
{
	*n = file_size(p);
	uint8_t *d = malloc(*n);
	FILE *f = fopen(p, "rb");
	cr_assert_eq(fread(d, 1, *n, f), *n);
	fclose(f);
	return d;
}

static void
spit(const char *p, const uint8_t *d, size_t n)
{
	FILE *f = fopen(p, "wb");
	cr_assert_eq(fwrite(d, 1, n, f), n);
	fclose(f);
}

static void
expect_corrupt(const char *what)
{
	lk_error err;
	lk_error_clear(&err);
	int64_t v;
	sy_pkindex *idx = sy_pkindex_open(idxdir, NULL, &v, &err);
	cr_assert_null(idx, "%s: opened", what);
	cr_assert_eq(err.code, LK_ERR_CORRUPT, "%s: code %d (%s)", what, err.code,
				 err.msg);
}

/* Path of the largest run. */
static void
largest_run(char *out, size_t n)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "ls -S %s | grep '^pk-.*\\.run$' | head -1",
			 idxdir);
	FILE *p = popen(cmd, "r");
	char name[128];
	cr_assert_not_null(fgets(name, sizeof(name), p));
	pclose(p);
	name[strcspn(name, "\n")] = 0;
	cr_assert_lt((size_t) snprintf(out, n, "%.250s/%.100s", idxdir, name), n);
}

Test(sync_pkindex, corrupt_files_refused)
{
	build_saved(60000, 7);
	char man[400], runp[400];
	snprintf(man, sizeof(man), "%s/pkindex.manifest", idxdir);
	largest_run(runp, sizeof(runp));
	size_t mn, rn;
	uint8_t *m = slurp(man, &mn);
	uint8_t *r = slurp(runp, &rn);

	/* manifest: every truncation, every flipped byte */
	for (size_t cut = 0; cut < mn; cut++) {
		spit(man, m, cut);
		expect_corrupt("truncated manifest");
	}
	for (size_t i = 0; i < mn; i++) {
		m[i] ^= 0x5A;
		spit(man, m, mn);
		expect_corrupt("flipped manifest byte");
		m[i] ^= 0x5A;
	}
	spit(man, m, mn);

	/* run: truncations and flips in the footer, fences and bloom */
	for (size_t cut = 0; cut < rn; cut += rn / 97 + 1) {
		spit(runp, r, cut);
		expect_corrupt("truncated run");
	}
	spit(runp, r, rn - 1);
	expect_corrupt("run short by one byte");
	size_t blocks_end = (rn - 32) / (4096 + 8) * 4096;   /* ≥ bloom start */
	for (size_t i = blocks_end; i < rn; i += (rn - blocks_end) / 50 + 1) {
		r[i] ^= 0x01;
		spit(runp, r, rn);
		expect_corrupt("flipped run tail byte");
		r[i] ^= 0x01;
	}
	for (size_t i = rn - 32; i < rn; i++) {
		r[i] ^= 0x80;
		spit(runp, r, rn);
		expect_corrupt("flipped footer byte");
		r[i] ^= 0x80;
	}
	/* a missing run */
	unlink(runp);
	expect_corrupt("missing run");

	/* a damaged block opens, then lookups in it fail with CORRUPT */
	r[4096 + 100] ^= 0xFF;
	spit(runp, r, rn);
	lk_error err;
	int64_t v;
	sy_pkindex *idx = sy_pkindex_open(idxdir, NULL, &v, &err);
	cr_assert_not_null(idx, "%s", err.msg);
	uint8_t k[16];
	int bad = 0, good = 0;
	for (uint64_t i = 0; i < 60000; i++) {
		size_t l = make_key(i, k);
		bool found;
		sy_pkindex_loc loc;
		lk_error_clear(&err);
		if (sy_pkindex_get(idx, k, l, &found, &loc, &err)) {
			good++;
			cr_assert_eq(found, i % 3 != 2);
		} else {
			bad++;
			cr_assert_eq(err.code, LK_ERR_CORRUPT);
		}
	}
	cr_assert_gt(bad, 0);
	cr_assert_gt(good, 50000);
	sy_pkindex_close(idx);
	free(m);
	free(r);
}

static long
vm_hwm_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* 10M keys (1M under ASan, whose shadow memory makes the figure moot)
 * under the default 64 MiB budget: VmHWM < budget + 24 MiB of fixed
 * overhead (process, libraries, Criterion). */
Test(sync_pkindex, ten_million_peak_memory)
{
	const uint64_t n = UNDER_ASAN ? 1000000 : 10000000;
	sy_pkindex *idx = new_index(0, NULL);
	char path[32];
	for (int f = 0; f < 100; f++) {
		snprintf(path, sizeof(path), "part-%03d.parquet", f);
		fid(idx, path);
	}
	uint8_t k[16];
	double t0 = now_s();
	for (uint64_t i = 0; i < n; i++) {
		size_t l = make_key(i, k);
		put(idx, k, l, (uint32_t) (i % 100), i);
	}
	double t1 = now_s();
	sy_pkindex_loc loc;
	const uint64_t ng = 500000;
	for (uint64_t j = 0; j < ng; j++) {
		uint64_t i = splitmix(j ^ 0xABCDEF) % n;
		size_t l = make_key(i, k);
		cr_assert(get(idx, k, l, &loc), "key %llu", (unsigned long long) i);
		cr_assert_eq(loc.row, i);
		cr_assert_eq(loc.file_id, i % 100);
	}
	double t2 = now_s();
	for (uint64_t j = 0; j < ng; j++) {
		size_t l = make_key(n + 7 + j, k);
		cr_assert(!get(idx, k, l, &loc));
	}
	double t3 = now_s();
	sy_pkindex_stats st;
	sy_pkindex_get_stats(idx, &st);
	long hwm = vm_hwm_kib();
	cr_assert_gt(hwm, 0);
	fprintf(stderr,
			"pkindex %llu keys: put %.0f/s, get hit %.0f/s, get miss %.0f/s; "
			"%d runs, %llu flushes, %llu merges; index memory %.1f MiB; "
			"VmHWM %.1f MiB (budget 64 MiB)\n",
			(unsigned long long) n, (double) n / (t1 - t0),
			(double) ng / (t2 - t1), (double) ng / (t3 - t2), st.nruns,
			(unsigned long long) st.flushes, (unsigned long long) st.merges,
			(double) st.mem_bytes / 1048576.0, (double) hwm / 1024.0);
	cr_assert_leq(st.mem_bytes, SY_PKINDEX_DEFAULT_BUDGET);
	if (!UNDER_ASAN)
		cr_assert_lt(hwm, (64 + 24) * 1024, "VmHWM %ld KiB", hwm);
	sy_pkindex_close(idx);
}

/* Bulk load spilling ~100 runs under a 1 MiB budget: merged in tiers of 32
 * then into one run at the end; a key given twice keeps its last location;
 * a second lookup of a run key is served by the block cache; misses pass
 * the blooms at a false positive rate near the design's 1 %. */
typedef struct dup_scan {
	uint64_t n;
} dup_scan;

static bool
dup_scan_fn(void *ctx, sy_pkindex *idx, lk_error *err)
{
	dup_scan *d = ctx;
	uint8_t k[16];
	for (uint64_t i = 0; i < d->n; i++) {
		size_t l = make_key(i, k);
		if (!sy_pkindex_bulk_add(idx, k, l, i % 2 ? "odd.parquet" : "even.parquet",
								 i, err))
			return false;
	}
	/* key 5 again, last: this location wins */
	size_t l = make_key(5, k);
	return sy_pkindex_bulk_add(idx, k, l, "again.parquet", 77, err);
}

Test(sync_pkindex, bulk_load_tiers_cache_bloom)
{
	sy_pkindex *idx = new_index((size_t) 1 << 20, NULL);
	lk_error err;
	dup_scan d = {.n = 400000};
	cr_assert(sy_pkindex_bulk_load(idx, dup_scan_fn, &d, &err), "%s", err.msg);
	sy_pkindex_stats st;
	sy_pkindex_get_stats(idx, &st);
	cr_assert_eq(st.nruns, 1, "runs %d", st.nruns);
	cr_assert_gt(st.flushes, 64);
	cr_assert_gt(st.merges, 1);
	cr_assert_eq(st.run_entries + st.mem_entries, 400001);   /* key 5 twice */
	uint8_t k[16];
	sy_pkindex_loc loc;
	for (uint64_t i = 0; i < d.n; i++) {
		size_t l = make_key(i, k);
		cr_assert(get(idx, k, l, &loc), "key %llu", (unsigned long long) i);
		if (i == 5) {
			cr_assert_str_eq(loc.path, "again.parquet");
			cr_assert_eq(loc.row, 77);
		} else {
			cr_assert_str_eq(loc.path, i % 2 ? "odd.parquet" : "even.parquet");
			cr_assert_eq(loc.row, i);
		}
	}
	/* key 0 went to a run (first flush): its second lookup hits the cache */
	size_t l = make_key(0, k);
	cr_assert(get(idx, k, l, &loc));
	sy_pkindex_get_stats(idx, &st);
	uint64_t hits = st.cache_hits, misses = st.cache_misses;
	cr_assert(get(idx, k, l, &loc));
	sy_pkindex_get_stats(idx, &st);
	cr_assert_eq(st.cache_hits, hits + 1);
	cr_assert_eq(st.cache_misses, misses);
	sy_pkindex_close(idx);

	/* bloom false positives at the default budget (10 bits per key) */
	idx = new_index(0, NULL);
	uint32_t f = fid(idx, "a.parquet");
	for (uint64_t i = 0; i < 300000; i++) {
		l = make_key(i, k);
		put(idx, k, l, f, i);
	}
	cr_assert(sy_pkindex_compact(idx, &err), "%s", err.msg);
	sy_pkindex_get_stats(idx, &st);
	cr_assert_eq(st.nruns, 1);
	uint64_t neg0 = st.bloom_negatives, fp0 = st.bloom_false_positives;
	for (uint64_t i = 0; i < 200000; i++) {
		l = make_key(1000000 + i, k);
		cr_assert(!get(idx, k, l, &loc));
	}
	sy_pkindex_get_stats(idx, &st);
	uint64_t neg = st.bloom_negatives - neg0, fp = st.bloom_false_positives - fp0;
	cr_assert_eq(neg + fp, 200000);
	cr_assert_lt(fp, 200000 / 50, "false positives %llu of 200000",
				 (unsigned long long) fp);
	sy_pkindex_close(idx);
}

/* ---------- benchmark (PKINDEX_BENCH=1; skipped otherwise) ----------
 *
 * The mirror drain's shape: bulk load of PKINDEX_BENCH_KEYS (10 M) keys
 * over 100 files at the default 64 MiB budget, then PKINDEX_BENCH_OPS
 * (1 M) random updates, each a get of an existing key then a put of it at
 * a new (file, row), a new file every 500 updates; then a save.  Prints
 * ns/op and VmHWM.  Checks every get. */

typedef struct bench_scan {
	uint64_t n;
} bench_scan;

static bool
bench_scan_fn(void *ctx, sy_pkindex *idx, lk_error *err)
{
	bench_scan *b = ctx;
	uint8_t k[16];
	char path[32];
	uint64_t per = b->n / 100 + 1;
	for (uint64_t i = 0; i < b->n; i++) {
		if (i % per == 0)
			snprintf(path, sizeof(path), "part-%03d.parquet", (int) (i / per));
		size_t l = make_key(i, k);
		if (!sy_pkindex_bulk_add(idx, k, l, path, i % per, err))
			return false;
	}
	return true;
}

static double
cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static uint64_t
env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);
	return s && *s ? strtoull(s, NULL, 10) : dflt;
}

Test(sync_pkindex, bench_update_heavy, .timeout = 600)
{
	if (!getenv("PKINDEX_BENCH") || !*getenv("PKINDEX_BENCH"))
		cr_skip_test("set PKINDEX_BENCH=1 to run");
	const uint64_t n = env_u64("PKINDEX_BENCH_KEYS", 10000000);
	const uint64_t ops = env_u64("PKINDEX_BENCH_OPS", 1000000);
	sy_pkindex *idx = new_index(env_u64("PKINDEX_BENCH_BUDGET", 0), NULL);
	lk_error err;
	bench_scan bs = {.n = n};
	double t0 = now_s(), c0 = cpu_s();
	cr_assert(sy_pkindex_bulk_load(idx, bench_scan_fn, &bs, &err), "%s",
			  err.msg);
	double t1 = now_s();
	sy_pkindex_stats st0;
	sy_pkindex_get_stats(idx, &st0);
	long hwm_load = vm_hwm_kib();
	double c1 = cpu_s();
	/* keys updated so far (a bitmap, to keep the bench's own memory small):
	 * an updated key lives in an update file at a row < 500 */
	uint8_t *upd = lk_xcalloc(n / 8 + 1, 1);
	uint64_t per = n / 100 + 1;
	uint32_t *fids = lk_xmalloc((100 + ops / 500 + 2) * sizeof(uint32_t));
	char path[40];
	for (int f = 0; f < 100; f++) {
		snprintf(path, sizeof(path), "part-%03d.parquet", f);
		fids[f] = fid(idx, path);
	}
	uint8_t k[16];
	sy_pkindex_loc loc;
	double tget = 0, tput = 0;
	double t2 = now_s();
	for (uint64_t j = 0; j < ops; j++) {
		if (j % 500 == 0) {
			snprintf(path, sizeof(path), "upd-%06llu.parquet",
					 (unsigned long long) (j / 500));
			fids[100 + j / 500] = fid(idx, path);
		}
		uint64_t i = splitmix(j ^ 0x5EED) % n;
		size_t l = make_key(i, k);
		double a = now_s();
		bool found = get(idx, k, l, &loc);
		double b = now_s();
		cr_assert(found, "key %llu", (unsigned long long) i);
		if (upd[i / 8] & (1u << (i % 8))) {
			cr_assert_geq(loc.file_id, fids[100], "key %llu", (unsigned long long) i);
			cr_assert_lt(loc.row, 500);
		} else {
			cr_assert_eq(loc.file_id, fids[i / per], "key %llu",
						 (unsigned long long) i);
			cr_assert_eq(loc.row, i % per);
		}
		uint32_t nf = (uint32_t) (100 + j / 500);
		put(idx, k, l, fids[nf], j % 500);
		double c = now_s();
		upd[i / 8] |= (uint8_t) (1u << (i % 8));
		tget += b - a;
		tput += c - b;
	}
	double t3 = now_s(), c3 = cpu_s();
	cr_assert(sy_pkindex_save(idx, NULL, 1, &err), "%s", err.msg);
	double t4 = now_s();
	sy_pkindex_stats st;
	sy_pkindex_get_stats(idx, &st);
	long hwm = vm_hwm_kib();
	fprintf(stderr,
			"pkindex bench: bulk load %llu keys %.2f s wall, %.2f s cpu (%d runs "
			"after, VmHWM %.1f MiB); %llu get+put %.2f s wall, %.2f s cpu = "
			"%.0f ns/pair wall (get %.0f ns, put+flush/merge "
			"%.0f ns); save %.2f s; %d runs, %llu flushes, %llu merges; "
			"index memory %.1f MiB; VmHWM %.1f MiB\n",
			(unsigned long long) n, t1 - t0, c1 - c0, st0.nruns,
			(double) hwm_load / 1024.0,
			(unsigned long long) ops, t3 - t2, c3 - c1,
			(t3 - t2) * 1e9 / (double) ops,
			tget * 1e9 / (double) ops, tput * 1e9 / (double) ops, t4 - t3,
			st.nruns, (unsigned long long) st.flushes,
			(unsigned long long) st.merges, (double) st.mem_bytes / 1048576.0,
			(double) hwm / 1024.0);
	uint64_t neg = st.bloom_negatives - st0.bloom_negatives;
	uint64_t fp = st.bloom_false_positives - st0.bloom_false_positives;
	uint64_t ch = st.cache_hits - st0.cache_hits;
	uint64_t cm = st.cache_misses - st0.cache_misses;
	fprintf(stderr, "pkindex bench: updates: %.3f blocks read per get, block "
			"cache hit rate %.1f %%, bloom false positive rate %.2f %% "
			"(%llu of %llu runs without the key)\n",
			(double) cm / (double) ops, 100.0 * (double) ch / (double) (ch + cm + !(ch + cm)),
			100.0 * (double) fp / (double) (fp + neg + !(fp + neg)),
			(unsigned long long) fp, (unsigned long long) (fp + neg));
	free(upd);
	free(fids);
	sy_pkindex_close(idx);
}
