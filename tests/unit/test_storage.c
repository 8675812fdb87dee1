#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/buf.h"
#include "storage/storage.h"

static char tmpdir[256];

static void
make_tmp(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lk_storage_XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void
rm_tmp(void)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void) !system(cmd);
}

TestSuite(storage, .init = make_tmp, .fini = rm_tmp);

static st_store
open_store(int flags)
{
	st_store st;
	lk_error err;
	lk_error_clear(&err);
	char uri[300];
	snprintf(uri, sizeof(uri), "file://%s/table/", tmpdir);
	cr_assert(st_store_open(&st, uri, flags, &err), "%s", err.msg);
	return st;
}

Test(storage, open_uri_forms)
{
	st_store st;
	lk_error err;
	cr_assert(st_store_open(&st, "file:///a/b//c/", 0, &err));
	cr_assert_str_eq(st.root, "/a/b/c");
	st_store_close(&st);
	cr_assert(st_store_open(&st, "file:/a/x%20y", 0, &err));
	cr_assert_str_eq(st.root, "/a/x y");
	st_store_close(&st);
	cr_assert(st_store_open(&st, "file://localhost/a/../b/./c", 0, &err));
	cr_assert_str_eq(st.root, "/b/c");
	st_store_close(&st);
	cr_assert(st_store_open(&st, "/plain/path", 0, &err));
	cr_assert_str_eq(st.root, "/plain/path");
	st_store_close(&st);
	cr_assert(st_store_open(&st, "rel/dir", 0, &err));
	char cwd[4096], want[4200];
	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	snprintf(want, sizeof(want), "%s/rel/dir", cwd);
	cr_assert_str_eq(st.root, want);
	st_store_close(&st);
	cr_assert_not(st_store_open(&st, "s3://bucket/key", 0, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert(strstr(err.msg, "\"s3\"") != NULL, "%s", err.msg);
	cr_assert_not(st_store_open(&st, "file://otherhost/x", 0, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
}

Test(storage, put_if_absent_then_conflict)
{
	st_store st = open_store(0);
	lk_error err;
	lk_buf b = LK_BUF_INIT;

	cr_assert(st_put_if_absent(&st, "_delta_log/00000000000000000000.json",
							   "first\n", 6, &err), "%s", err.msg);
	cr_assert_not(st_put_if_absent(&st, "_delta_log/00000000000000000000.json",
								   "second\n", 7, &err));
	cr_assert_eq(err.code, LK_ERR_CONFLICT);
	cr_assert(strstr(err.where, "00000000000000000000.json") != NULL);
	cr_assert(st_read_all(&st, "_delta_log/00000000000000000000.json", 1024,
						  &b, &err));
	cr_assert_eq(b.len, 6);
	cr_assert(memcmp(b.data, "first\n", 6) == 0);

	/* no temporary file is left behind */
	lk_arena a;
	lk_arena_init(&a, 0);
	st_entry *e;
	size_t n;
	cr_assert(st_list(&st, "_delta_log", NULL, &a, &e, &n, &err));
	cr_assert_eq(n, 1);
	cr_assert_str_eq(e[0].name, "00000000000000000000.json");
	cr_assert_eq(e[0].size, 6);

	/* put replaces */
	cr_assert(st_put(&st, "_delta_log/_last_checkpoint", "{\"version\":1}", 13,
					 &err));
	cr_assert(st_put(&st, "_delta_log/_last_checkpoint", "{}", 2, &err));
	cr_assert(st_read_all(&st, "_delta_log/_last_checkpoint", 1024, &b, &err));
	cr_assert_eq(b.len, 2);
	cr_assert(memcmp(b.data, "{}", 2) == 0);
	cr_assert(st_list(&st, "_delta_log", NULL, &a, &e, &n, &err));
	cr_assert_eq(n, 2);
	lk_arena_free(&a);
	lk_buf_free(&b);
	st_store_close(&st);
}

typedef struct race_arg {
	st_store *st;
	int id;
	int ok;
	int conflict;
} race_arg;

static void *
race(void *p)
{
	race_arg *r = p;
	lk_error err;
	char body[32];
	int len = snprintf(body, sizeof(body), "writer %d\n", r->id);
	if (st_put_if_absent(r->st, "_delta_log/00000000000000000001.json", body,
						 (size_t) len, &err))
		r->ok = 1;
	else if (err.code == LK_ERR_CONFLICT)
		r->conflict = 1;
	return NULL;
}

Test(storage, put_if_absent_race_has_one_winner)
{
	st_store st = open_store(0);
	pthread_t th[8];
	race_arg args[8];
	for (int i = 0; i < 8; i++) {
		args[i] = (race_arg){&st, i, 0, 0};
		pthread_create(&th[i], NULL, race, &args[i]);
	}
	int ok = 0, conflict = 0, winner = -1;
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		ok += args[i].ok;
		conflict += args[i].conflict;
		if (args[i].ok)
			winner = i;
	}
	cr_assert_eq(ok, 1);
	cr_assert_eq(conflict, 7);
	lk_buf b = LK_BUF_INIT;
	lk_error err;
	cr_assert(st_read_all(&st, "_delta_log/00000000000000000001.json", 100, &b,
						  &err));
	char want[32];
	snprintf(want, sizeof(want), "writer %d\n", winner);
	cr_assert_eq(b.len, strlen(want));
	cr_assert(memcmp(b.data, want, b.len) == 0);
	lk_buf_free(&b);
	st_store_close(&st);
}

Test(storage, read_cap_range_and_stat)
{
	st_store st = open_store(0);
	lk_error err;
	char data[100];
	for (int i = 0; i < 100; i++)
		data[i] = (char) i;
	cr_assert(st_put(&st, "d/f.bin", data, 100, &err));
	lk_buf b = LK_BUF_INIT;
	cr_assert(st_read_all(&st, "d/f.bin", 100, &b, &err));
	cr_assert_eq(b.len, 100);
	cr_assert_not(st_read_all(&st, "d/f.bin", 99, &b, &err));
	cr_assert_eq(err.code, LK_ERR_NOMEM);
	cr_assert_eq(b.len, 0);

	char r[10];
	cr_assert(st_read_range(&st, "d/f.bin", 10, 10, r, &err));
	cr_assert_eq(r[0], 10);
	cr_assert_eq(r[9], 19);
	cr_assert_not(st_read_range(&st, "d/f.bin", 95, 10, r, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert(strstr(err.where, "at byte 100") != NULL, "%s", err.where);

	/* stat with a known mtime */
	char fp[400];
	snprintf(fp, sizeof(fp), "%s/table/d/f.bin", tmpdir);
	struct timespec ts[2] = {{1600000000, 123000000}, {1600000000, 123000000}};
	cr_assert_eq(utimensat(AT_FDCWD, fp, ts, 0), 0);
	st_stat s;
	cr_assert(st_stat_object(&st, "d/f.bin", &s, &err));
	cr_assert_eq(s.size, 100);
	cr_assert_eq(s.mtime_ms, 1600000000123LL);
	cr_assert_not(s.is_dir);
	cr_assert(st_stat_object(&st, "d", &s, &err));
	cr_assert(s.is_dir);
	cr_assert_not(st_stat_object(&st, "d/missing", &s, &err));
	cr_assert_eq(err.code, LK_ERR_NOT_FOUND);
	cr_assert_not(st_read_all(&st, "d", 1000, &b, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);

	/* random access handle */
	st_file f;
	cr_assert(st_open_read(&st, "d/f.bin", &f, &err));
	cr_assert_eq(f.size, 100);
	cr_assert_eq(f.mtime_ms, 1600000000123LL);
	cr_assert(f.read_at(f.ctx, 98, r, 2, &err));
	cr_assert_eq(r[0], 98);
	cr_assert_eq(r[1], 99);
	cr_assert_not(f.read_at(f.ctx, 99, r, 2, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	st_file_close(&f);

	/* remove */
	cr_assert(st_remove(&st, "d/f.bin", &err));
	cr_assert_not(st_remove(&st, "d/f.bin", &err));
	cr_assert_eq(err.code, LK_ERR_NOT_FOUND);
	cr_assert(st_remove(&st, "d", &err));   /* empty directory */
	cr_assert_not(st_stat_object(&st, "d", &s, &err));
	lk_buf_free(&b);
	st_store_close(&st);
}

Test(storage, list_sorted_start_after_and_missing)
{
	st_store st = open_store(0);
	lk_error err;
	const char *names[] = {"00000000000000000010.json", "b",
						   "00000000000000000002.json", "_last_checkpoint",
						   "00000000000000000010.checkpoint.parquet", "A"};
	for (int i = 0; i < 6; i++) {
		char p[100];
		snprintf(p, sizeof(p), "log/%s", names[i]);
		cr_assert(st_put(&st, p, "x", 1, &err));
	}
	cr_assert(st_put(&st, "log/sub/x", "x", 1, &err));
	lk_arena a;
	lk_arena_init(&a, 0);
	st_entry *e;
	size_t n;
	cr_assert(st_list(&st, "log", NULL, &a, &e, &n, &err));
	const char *want[] = {"00000000000000000002.json",
						  "00000000000000000010.checkpoint.parquet",
						  "00000000000000000010.json", "A", "_last_checkpoint",
						  "b", "sub"};
	cr_assert_eq(n, 7);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(e[i].name, want[i]);
	cr_assert(e[6].is_dir);
	cr_assert_not(e[0].is_dir);
	cr_assert(st_list(&st, "log", "00000000000000000010.checkpoint.parquet", &a,
					  &e, &n, &err));
	cr_assert_eq(n, 5);
	cr_assert_str_eq(e[0].name, "00000000000000000010.json");
	cr_assert_not(st_list(&st, "nolog", NULL, &a, &e, &n, &err));
	cr_assert_eq(err.code, LK_ERR_NOT_FOUND);
	lk_arena_free(&a);
	st_store_close(&st);
}

Test(storage, paths_outside_root_are_refused)
{
	st_store st = open_store(0);
	lk_error err;
	lk_buf b = LK_BUF_INIT;
	cr_assert(st_put(&st, "in.txt", "in", 2, &err));
	char outside[400];
	snprintf(outside, sizeof(outside), "%s/outside.txt", tmpdir);
	FILE *f = fopen(outside, "w");
	fputs("out", f);
	fclose(f);

	const char *bad[] = {"../outside.txt", "a/../../outside.txt", "..",
						 "x/.."};
	for (int i = 0; i < 4; i++) {
		cr_assert_not(st_read_all(&st, bad[i], 100, &b, &err), "%s", bad[i]);
		cr_assert_eq(err.code, LK_ERR_INVALID);
		cr_assert(strstr(err.msg, "escapes the table root") != NULL);
	}
	cr_assert_not(st_read_all(&st, outside, 100, &b, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	cr_assert(strstr(err.msg, "absolute paths are not allowed") != NULL);
	cr_assert_not(st_put(&st, "../evil", "x", 1, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	char uri[450];
	snprintf(uri, sizeof(uri), "file://%s", outside);
	cr_assert_not(st_read_all(&st, uri, 100, &b, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	cr_assert_not(st_read_all(&st, "s3://bucket/x", 100, &b, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	st_store_close(&st);

	/* allowed when the caller says so */
	st = open_store(ST_ALLOW_ABSOLUTE);
	cr_assert(st_read_all(&st, outside, 100, &b, &err), "%s", err.msg);
	cr_assert_eq(b.len, 3);
	snprintf(uri, sizeof(uri), "file:%s", outside);
	cr_assert(st_read_all(&st, uri, 100, &b, &err), "%s", err.msg);
	cr_assert_eq(b.len, 3);
	snprintf(uri, sizeof(uri), "file://%s", outside);
	cr_assert(st_read_all(&st, uri, 100, &b, &err), "%s", err.msg);
	cr_assert_eq(b.len, 3);
	/* relative ".." stays refused even then */
	cr_assert_not(st_read_all(&st, "../outside.txt", 100, &b, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	lk_buf_free(&b);
	st_store_close(&st);
}

Test(storage, streaming_writer_commit_and_abort)
{
	st_store st = open_store(0);
	lk_error err;
	st_writer w;
	cr_assert(st_open_write(&st, "part=1/a.parquet", &w, &err));
	cr_assert(st_writer_write(&w, "abc", 3, &err));
	cr_assert(st_writer_write(&w, "def", 3, &err));
	st_stat s;
	cr_assert_not(st_stat_object(&st, "part=1/a.parquet", &s, &err));
	cr_assert(st_writer_commit(&w, true, &err));
	cr_assert(st_stat_object(&st, "part=1/a.parquet", &s, &err));
	cr_assert_eq(s.size, 6);

	cr_assert(st_open_write(&st, "part=1/a.parquet", &w, &err));
	cr_assert(st_writer_write(&w, "x", 1, &err));
	cr_assert_not(st_writer_commit(&w, true, &err));
	cr_assert_eq(err.code, LK_ERR_CONFLICT);

	cr_assert(st_open_write(&st, "part=1/b.parquet", &w, &err));
	cr_assert(st_writer_write(&w, "x", 1, &err));
	st_writer_abort(&w);
	lk_arena a;
	lk_arena_init(&a, 0);
	st_entry *e;
	size_t n;
	cr_assert(st_list(&st, "part=1", NULL, &a, &e, &n, &err));
	cr_assert_eq(n, 1);
	cr_assert_str_eq(e[0].name, "a.parquet");
	lk_arena_free(&a);
	st_store_close(&st);
}

Test(storage, percent_decode_encode)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_error err;
	char *out;
	cr_assert(st_path_decode("special%20p@%23h", &a, &out, &err));
	cr_assert_str_eq(out, "special p@#h");
	cr_assert(st_path_decode("bar%2Dbar.snappy.parquet", &a, &out, &err));
	cr_assert_str_eq(out, "bar-bar.snappy.parquet");
	cr_assert(st_path_decode("a=%25%2fb+c", &a, &out, &err));
	cr_assert_str_eq(out, "a=%/b+c");
	const char *bad[] = {"abc%2", "abc%", "%zz", "%00x", "%g1"};
	for (int i = 0; i < 5; i++) {
		cr_assert_not(st_path_decode(bad[i], &a, &out, &err), "%s", bad[i]);
		cr_assert_eq(err.code, LK_ERR_CORRUPT);
	}
	cr_assert_str_eq(st_path_encode("special p@#h", &a), "special%20p@%23h");
	cr_assert_str_eq(st_path_encode("d=2021-01-01 10%3A00/part-0.parquet", &a),
					 "d=2021-01-01%2010%253A00/part-0.parquet");
	cr_assert_str_eq(st_path_encode("\xc3\xa9?\"", &a), "%C3%A9%3F%22");
	/* decode(encode(x)) == x */
	const char *rt = "x y/%z?#[]{}|\\^`<>\"\x01\xff";
	cr_assert(st_path_decode(st_path_encode(rt, &a), &a, &out, &err));
	cr_assert_str_eq(out, rt);
	cr_assert(st_path_is_absolute("/x"));
	cr_assert(st_path_is_absolute("file:/x"));
	cr_assert(st_path_is_absolute("s3://b/x"));
	cr_assert_not(st_path_is_absolute("x/y"));
	cr_assert_not(st_path_is_absolute("a=b:c/x"));
	lk_arena_free(&a);
}

Test(storage, canonical_paths)
{
	st_store st;
	lk_error err;
	cr_assert(st_store_open(&st, "/tmp/t", 0, &err));
	lk_arena a;
	lk_arena_init(&a, 0);
	cr_assert_str_eq(st_path_canonical(&st, "file:/some/x", &a), "/some/x");
	cr_assert_str_eq(st_path_canonical(&st, "file:///some/x", &a), "/some/x");
	cr_assert_str_eq(st_path_canonical(&st, "/some//x", &a), "/some/x");
	cr_assert_str_eq(st_path_canonical(&st, "/tmp/t/a/b", &a), "a/b");
	cr_assert_str_eq(st_path_canonical(&st, "file:/tmp/t/a", &a), "a");
	cr_assert_str_eq(st_path_canonical(&st, "/tmp/tt/a", &a), "/tmp/tt/a");
	cr_assert_str_eq(st_path_canonical(&st, "a//b/./c", &a), "a/b/c");
	cr_assert_str_eq(st_path_canonical(&st, "s3://b/k", &a), "s3://b/k");
	cr_assert_str_eq(st_path_join(&a, "a/", "/b"), "a/b");
	cr_assert_str_eq(st_path_join(&a, "", "b"), "b");
	lk_arena_free(&a);
	st_store_close(&st);
}
