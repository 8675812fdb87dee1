/*
 * test_sync_spill.c — the spill store of streamed transactions
 * (src/sync/spill.c): order of replay across memory and file, subxact
 * aborts (data dropped, Relation kept), top-level aborts, the memory
 * budget (records go to "<xid>.spill" and the file disappears after the
 * replay), stale files removed at open, interleaved transactions, limits.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "sync/spill.h"

static char tmpdir[256];

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
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lk-spill-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(spill, .init = setup, .fini = teardown);

/* Collected replay: "subxid:message" joined by '|'. */
typedef struct got {
	lk_buf text;
	int n;
	int fail_at;               /* fail on this call (1-based), 0 never */
} got;

static bool
collect(void *arg, uint32_t subxid, const uint8_t *msg, size_t len, lk_error *err)
{
	got *g = arg;
	g->n++;
	if (g->fail_at && g->n == g->fail_at)
		return lk_error_set(err, LK_ERR_INVALID, "stop at %d", g->n);
	if (g->text.len)
		lk_buf_append_byte(&g->text, '|');
	lk_buf_printf(&g->text, "%u:%.*s", subxid, (int) len, (const char *) msg);
	return true;
}

static const char *
replay(sy_spill *s, uint32_t xid, got *g)
{
	lk_error err;
	lk_buf_init(&g->text);
	g->n = 0;
	cr_assert(sy_spill_replay(s, xid, collect, g, &err), "%s", err.msg);
	return lk_buf_cstr(&g->text);
}

static void
put(sy_spill *s, uint32_t xid, uint32_t sub, const char *msg)
{
	lk_error err;
	cr_assert(sy_spill_append(s, xid, sub, (const uint8_t *) msg, strlen(msg), &err), "%s",
			  err.msg);
}

static int
count_spill_files(void)
{
	int n = 0;
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, ".spill"))
			n++;
	closedir(d);
	return n;
}

Test(spill, memory_order_and_drop)
{
	lk_error err;
	sy_spill *s = sy_spill_open(tmpdir, 0, &err);
	cr_assert_not_null(s, "%s", err.msg);
	put(s, 700, 700, "Ia");
	put(s, 700, 701, "Ib");
	put(s, 700, 700, "Uc");
	cr_assert_eq(sy_spill_count(s), 1);
	cr_assert_eq(sy_spill_messages(s, 700), 3);
	cr_assert_eq(sy_spill_mem_bytes(s), 3 * (8 + 2));
	cr_assert_eq(sy_spill_file_bytes(s, 700), 0);
	got g;
	cr_assert_str_eq(replay(s, 700, &g), "700:Ia|701:Ib|700:Uc");
	lk_buf_free(&g.text);
	cr_assert_not(sy_spill_has(s, 700));
	cr_assert_eq(sy_spill_mem_bytes(s), 0);
	/* unknown xid: nothing, true */
	cr_assert_str_eq(replay(s, 700, &g), "");
	cr_assert_eq(g.n, 0);
	lk_buf_free(&g.text);
	sy_spill_close(s);
}

Test(spill, subxact_abort_keeps_relation)
{
	lk_error err;
	sy_spill *s = sy_spill_open(tmpdir, 0, &err);
	put(s, 10, 10, "I1");
	put(s, 10, 11, "R-rel");
	put(s, 10, 11, "I2");
	put(s, 10, 12, "I3");
	put(s, 10, 11, "Y-type");
	put(s, 10, 13, "D4");
	sy_spill_abort(s, 10, 11);
	sy_spill_abort(s, 10, 13);
	sy_spill_abort(s, 10, 13);   /* twice: same */
	sy_spill_abort(s, 99, 5);    /* unknown: nothing */
	got g;
	cr_assert_str_eq(replay(s, 10, &g), "10:I1|11:R-rel|12:I3|11:Y-type");
	lk_buf_free(&g.text);
	sy_spill_close(s);
}

Test(spill, top_abort_drops_everything)
{
	lk_error err;
	sy_spill *s = sy_spill_open(tmpdir, 16, &err);
	put(s, 20, 20, "I-first-message");
	put(s, 20, 21, "I-second-message");
	cr_assert_gt(sy_spill_file_bytes(s, 20), 0);
	cr_assert_eq(count_spill_files(), 1);
	sy_spill_abort(s, 20, 20);
	cr_assert_not(sy_spill_has(s, 20));
	cr_assert_eq(count_spill_files(), 0);
	cr_assert_eq(sy_spill_mem_bytes(s), 0);
	/* subxid 0 means the top-level transaction too */
	put(s, 21, 0, "Ix");
	sy_spill_abort(s, 21, 0);
	cr_assert_eq(sy_spill_count(s), 0);
	sy_spill_close(s);
}

Test(spill, budget_spills_to_file_in_order)
{
	lk_error err;
	/* 64 bytes: a few records stay in memory, the rest go to the file */
	sy_spill *s = sy_spill_open(tmpdir, 64, &err);
	lk_buf want = LK_BUF_INIT;
	char m[64];
	for (int i = 0; i < 200; i++) {
		snprintf(m, sizeof(m), "I%03d", i);
		put(s, 30, 30 + (uint32_t) (i % 3), m);
		if (i)
			lk_buf_append_byte(&want, '|');
		lk_buf_printf(&want, "%d:%s", 30 + i % 3, m);
	}
	cr_assert_leq(sy_spill_mem_bytes(s), 64);
	cr_assert_eq(sy_spill_file_bytes(s, 30) + sy_spill_mem_bytes(s), 200 * (8 + 4));
	char path[300];
	snprintf(path, sizeof(path), "%s/30.spill", tmpdir);
	struct stat sb;
	cr_assert_eq(stat(path, &sb), 0);
	got g;
	cr_assert_str_eq(replay(s, 30, &g), lk_buf_cstr(&want));
	lk_buf_free(&g.text);
	lk_buf_free(&want);
	cr_assert_neq(stat(path, &sb), 0, "the file is removed after the replay");
	sy_spill_close(s);
}

Test(spill, interleaved_transactions_and_largest_spills)
{
	lk_error err;
	sy_spill *s = sy_spill_open(tmpdir, 100, &err);
	put(s, 1, 1, "small");
	for (int i = 0; i < 20; i++)
		put(s, 2, 2, "a-much-longer-message");
	put(s, 1, 1, "small2");
	/* the big transaction went to its file, the small one did not */
	cr_assert_gt(sy_spill_file_bytes(s, 2), 0);
	cr_assert_eq(sy_spill_file_bytes(s, 1), 0);
	cr_assert_eq(sy_spill_count(s), 2);
	got g;
	cr_assert_str_eq(replay(s, 1, &g), "1:small|1:small2");
	lk_buf_free(&g.text);
	replay(s, 2, &g);
	cr_assert_eq(g.n, 20);
	lk_buf_free(&g.text);
	cr_assert_eq(sy_spill_count(s), 0);
	sy_spill_close(s);
}

Test(spill, aborted_subxact_in_file)
{
	lk_error err;
	sy_spill *s = sy_spill_open(tmpdir, 1, &err);
	put(s, 40, 41, "Igone");
	put(s, 40, 42, "Ikept");
	put(s, 40, 41, "Rrel");
	sy_spill_abort(s, 40, 41);
	cr_assert_gt(sy_spill_file_bytes(s, 40), 0);
	got g;
	cr_assert_str_eq(replay(s, 40, &g), "42:Ikept|41:Rrel");
	lk_buf_free(&g.text);
	sy_spill_close(s);
}

Test(spill, failing_callback_stops_and_drops)
{
	lk_error err;
	sy_spill *s = sy_spill_open(tmpdir, 8, &err);
	put(s, 50, 50, "I1");
	put(s, 50, 50, "I2");
	put(s, 50, 50, "I3");
	got g = {.fail_at = 2};
	lk_buf_init(&g.text);
	cr_assert_not(sy_spill_replay(s, 50, collect, &g, &err));
	cr_assert_str_eq(err.msg, "stop at 2");
	cr_assert_eq(g.n, 2);
	cr_assert_not(sy_spill_has(s, 50));
	cr_assert_eq(count_spill_files(), 0);
	lk_buf_free(&g.text);
	sy_spill_close(s);
}

Test(spill, open_removes_stale_files_and_creates_dirs)
{
	char p[300];
	snprintf(p, sizeof(p), "%s/77.spill", tmpdir);
	FILE *f = fopen(p, "w");
	fputs("junk", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/keep.txt", tmpdir);
	f = fopen(p, "w");
	fclose(f);
	lk_error err;
	sy_spill *s = sy_spill_open(tmpdir, 0, &err);
	cr_assert_not_null(s);
	cr_assert_eq(count_spill_files(), 0);
	struct stat sb;
	cr_assert_eq(stat(p, &sb), 0, "other files stay");
	sy_spill_close(s);

	char deep[300];
	snprintf(deep, sizeof(deep), "%s/a/b/spill", tmpdir);
	s = sy_spill_open(deep, 0, &err);
	cr_assert_not_null(s, "%s", err.msg);
	cr_assert_eq(stat(deep, &sb), 0);
	sy_spill_close(s);
}

Test(spill, limits)
{
	lk_error err;
	sy_spill *s = sy_spill_open(tmpdir, 0, &err);
	static const uint8_t byte = 'I';
	cr_assert_not(sy_spill_append(s, 1, 1, &byte, (size_t) SY_SPILL_MAX_MSG + 1, &err));
	cr_assert_eq(err.code, LK_ERR_NOMEM);
	cr_assert_eq(sy_spill_count(s), 0);
	/* an empty message is a record too */
	cr_assert(sy_spill_append(s, 1, 1, &byte, 0, &err));
	got g;
	cr_assert_str_eq(replay(s, 1, &g), "1:");
	lk_buf_free(&g.text);
	sy_spill_close(s);
	/* a directory that cannot be made */
	cr_assert_null(sy_spill_open("/proc/lakesync-no/spill", 0, &err));
	cr_assert_eq(err.code, LK_ERR_IO);
}
