/*
 * test_sync_table.c — one history table (src/sync/table.c) without
 * PostgreSQL: columns described as the catalog would, pgoutput messages
 * built as the decoder returns them, the Delta table written in a temporary
 * directory and read back with dl_snapshot_open + dl_scan.  Checks the
 * exact history rows (change types, preimages, key-only deletes, truncate,
 * _commit_lsn / _change_seq / _commit_timestamp / _xid), the txn version,
 * the skip rule, unchanged TOAST values (filled from the old tuple or the
 * last image; a miss is an error naming table, column and LSN), an
 * unrepresentable value, the commit of the transactions before a failing
 * one, the confirmed-LSN bound (idle tables never hold it back), schema
 * checks of an existing table, and Relation messages that change the schema.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/buf.h"
#include "delta/log.h"
#include "delta/scan.h"
#include "sync/table.h"

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
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lk-sytable-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(sytable, .init = setup, .fini = teardown);

/* ---- fixtures ------------------------------------------------------------ */

/* public.t (id int4 PK, v text, big text, d date) */
static pgc_column cols4[4];

static void
col(pgc_column *c, int attnum, const char *name, uint32_t oid, const char *tname,
	bool pk)
{
	memset(c, 0, sizeof(*c));
	c->attnum = attnum;
	c->name = name;
	c->type_oid = c->base_oid = oid;
	c->typmod = c->base_typmod = -1;
	c->type_name = c->base_name = tname;
	c->typtype = c->base_typtype = 'b';
	c->base_category = 'S';
	c->is_pk = pk;
	c->pk_pos = pk ? 1 : 0;
	c->not_null = pk;
}

static void
def_t(pgc_table_def *d)
{
	col(&cols4[0], 1, "id", PGT_OID_INT4, "int4", true);
	col(&cols4[1], 2, "v", PGT_OID_TEXT, "text", false);
	col(&cols4[2], 3, "big", PGT_OID_TEXT, "text", false);
	col(&cols4[3], 4, "d", PGT_OID_DATE, "date", false);
	memset(d, 0, sizeof(*d));
	d->relid = 16400;
	d->ncols = 4;
	d->cols = cols4;
	d->npk = 1;
}

static pgc_table_info info_t = {.relid = 16400, .relkind = 'r', .replident = 'd',
								.has_pk = true, .has_identity = true};

static void
open_t(sy_table *t, const sy_table_config *cfg)
{
	pgc_table_def d;
	def_t(&d);
	pgc_table_name n = {"public", "t"};
	sy_table_config c;
	if (!cfg) {
		sy_table_config_init(&c);
		cfg = &c;
	}
	lk_error err;
	cr_assert(sy_table_init(t, cfg, "p1", tmpdir, &n, &info_t, &d, &err), "%s", err.msg);
	cr_assert(sy_table_open(t, &err), "%s (%s)", err.msg, err.where);
}

/* Relation message of public.t; replident 'd' (key = id) or 'f' (all). */
static pgo_column relcols[4];
static pgo_relation rel;

static const pgo_relation *
relation(char replident)
{
	static const char *names[4] = {"id", "v", "big", "d"};
	static const uint32_t oids[4] = {PGT_OID_INT4, PGT_OID_TEXT, PGT_OID_TEXT, PGT_OID_DATE};
	for (int i = 0; i < 4; i++) {
		relcols[i].flags = (replident == 'f' || i == 0) ? PGO_COLUMN_KEY : 0;
		relcols[i].name = names[i];
		relcols[i].type_oid = oids[i];
		relcols[i].typmod = -1;
	}
	memset(&rel, 0, sizeof(rel));
	rel.relid = 16400;
	rel.nspname = "public";
	rel.relname = "t";
	rel.replident = replident;
	rel.ncols = 4;
	rel.cols = relcols;
	return &rel;
}

/* A tuple from 4 strings: NULL → 'n', "\x01u" → 'u', else 't'. */
typedef struct tup {
	pgo_value v[4];
	pgo_tuple t;
} tup;

static const pgo_tuple *
mk(tup *x, const char *a, const char *b, const char *c, const char *d)
{
	const char *s[4] = {a, b, c, d};
	for (int i = 0; i < 4; i++) {
		if (!s[i]) {
			x->v[i] = (pgo_value){.kind = 'n'};
		} else if (!strcmp(s[i], "\x01u")) {
			x->v[i] = (pgo_value){.kind = 'u'};
		} else {
			x->v[i] = (pgo_value){.kind = 't', .len = (uint32_t) strlen(s[i]),
								  .data = (const uint8_t *) s[i]};
		}
	}
	x->t.ncols = 4;
	x->t.cols = x->v;
	return &x->t;
}

static sy_txn
txn(uint64_t lsn, int64_t xid)
{
	sy_txn tx = {.commit_lsn = lsn, .end_lsn = lsn + 8,
				 .commit_time_us = INT64_C(1700000000000000) + (int64_t) lsn, .xid = xid};
	return tx;
}

static void
ins(sy_table *t, sy_txn *tx, const char *id, const char *v, const char *big, const char *d)
{
	tup x;
	pgo_insert m = {.relid = 16400};
	m.newtup = *mk(&x, id, v, big, d);
	lk_error err;
	cr_assert(sy_table_insert(t, tx, &m, &err), "%s (%s)", err.msg, err.where);
}

/* Every row of the Delta table, one line each:
 * "type id v big d lsn seq xid" with big as its length, nulls as "-". */
static char *
dump(const char *dir)
{
	st_store st;
	lk_error err;
	cr_assert(st_store_open(&st, dir, 0, &err));
	dl_snapshot *s;
	cr_assert(dl_snapshot_open(&st, NULL, &s, &err), "%s", err.msg);
	dl_scan *sc;
	cr_assert(dl_scan_open(s, &sc, &err), "%s", err.msg);
	lk_buf out = LK_BUF_INIT;
	/* rows sorted by (lsn, seq): collect, then sort lines */
	char **lines = NULL;
	size_t n = 0;
	lk_batch *b;
	for (;;) {
		cr_assert(dl_scan_next(sc, &b, &err), "%s", err.msg);
		if (!b)
			break;
		cr_assert_eq(b->ncols, 9);
		for (int64_t r = 0; r < b->nrows; r++) {
			char line[1024], f[4][128];
			for (int c = 0; c < 4; c++) {
				const lk_column *k = &b->cols[c];
				if (lk_column_is_null(k, r)) {
					strcpy(f[c], "-");
				} else if (c == 0) {
					snprintf(f[c], sizeof(f[c]), "%d", LK_COL_VALUES(k, int32_t)[r]);
				} else if (c == 3) {
					snprintf(f[c], sizeof(f[c]), "d%d", LK_COL_VALUES(k, int32_t)[r]);
				} else {
					int64_t len;
					const uint8_t *p = lk_column_bytes(k, r, &len);
					if (c == 2)
						snprintf(f[c], sizeof(f[c]), "#%" PRId64, len);
					else
						snprintf(f[c], sizeof(f[c]), "%.*s", (int) len, p);
				}
			}
			int64_t tl;
			const uint8_t *tp = lk_column_bytes(&b->cols[4], r, &tl);
			char xid[32];
			if (lk_column_is_null(&b->cols[8], r))
				strcpy(xid, "-");
			else
				snprintf(xid, sizeof(xid), "%" PRId64, LK_COL_VALUES(&b->cols[8], int64_t)[r]);
			int64_t lsn = LK_COL_VALUES(&b->cols[5], int64_t)[r];
			int64_t seq = LK_COL_VALUES(&b->cols[6], int64_t)[r];
			int64_t ts = LK_COL_VALUES(&b->cols[7], int64_t)[r];
			cr_assert_eq(ts, INT64_C(1700000000000000) + lsn, "commit timestamp of lsn %" PRId64, lsn);
			snprintf(line, sizeof(line), "%020" PRId64 " %06" PRId64 "|%.*s %s %s %s %s @%" PRId64
					 " #%" PRId64 " x%s", lsn, seq, (int) tl, tp, f[0], f[1], f[2], f[3], lsn, seq,
					 xid);
			lines = realloc(lines, sizeof(char *) * (n + 1));
			lines[n++] = strdup(line);
		}
	}
	/* sort by the zero-padded (lsn, seq) prefix */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
			char *x = lines[j];
			lines[j] = lines[j - 1];
			lines[j - 1] = x;
		}
	for (size_t i = 0; i < n; i++) {
		lk_buf_append_str(&out, strchr(lines[i], '|') + 1);
		lk_buf_append_byte(&out, '\n');
		free(lines[i]);
	}
	free(lines);
	dl_scan_free(sc);
	dl_snapshot_free(s);
	st_store_close(&st);
	lk_buf_append_byte(&out, 0);
	return (char *) lk_buf_detach(&out, NULL);
}

static char *
table_dir(void)
{
	static char p[400];
	snprintf(p, sizeof(p), "%s/public/t_history", tmpdir);
	return p;
}

/* A text of n bytes. */
static char *
big(size_t n, char ch)
{
	char *s = malloc(n + 1);
	memset(s, ch, n);
	s[n] = 0;
	return s;
}

/* ---- tests ------------------------------------------------------------------ */

Test(sytable, create_schema_and_location)
{
	char *loc = sy_table_location("file:///x/lake//", "s", "t");
	cr_assert_str_eq(loc, "file:///x/lake/s/t_history");
	free(loc);
	sy_table t;
	open_t(&t, NULL);
	cr_assert_eq(t.state, SY_SNAPSHOT);
	cr_assert_eq(t.version, -1);
	cr_assert_str_eq(t.app_id, "lakesync/p1/public.t");
	cr_assert_str_eq(t.qualname, "public.t");
	char *name = lk_type_name(&t.arena, t.schema);
	cr_assert_str_eq(name, "struct<id:integer,v:string,big:string,d:date,_change_type:string,"
						   "_commit_lsn:long,_change_seq:long,_commit_timestamp:timestamp,"
						   "_xid:long>");
	cr_assert(t.cols[1].toastable);
	cr_assert_not(t.cols[0].toastable);
	cr_assert_not(t.cols[3].toastable);
	sy_table_free(&t);
	/* the log says appendOnly */
	char p[512];
	snprintf(p, sizeof(p), "%s/_delta_log/00000000000000000000.json", table_dir());
	FILE *f = fopen(p, "r");
	cr_assert_not_null(f);
	char buf[8192];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	cr_assert_not_null(strstr(buf, "\"delta.appendOnly\":\"true\""));
}

Test(sytable, snapshot_then_changes_exact_history)
{
	sy_table t;
	open_t(&t, NULL);
	lk_error err;

	/* snapshot at L = 0x1000: two rows, version L - 1 */
	dl_commit *c = sy_table_begin_commit(&t);
	lk_batch *b = sy_table_new_batch(&t);
	sy_txn st = {.commit_lsn = 0xfff, .end_lsn = 0x1000,
				 .commit_time_us = INT64_C(1700000000000000) + 0xfff, .xid = -1};
	sy_value v1[4] = {{"1", 1, false}, {"one", 3, false}, {.null = true}, {"2020-01-02", 10, false}};
	sy_value v2[4] = {{"2", 1, false}, {"two", 3, false}, {.null = true}, {.null = true}};
	int64_t bytes;
	cr_assert(sy_table_append_values(&t, b, "insert", &st, INT64_C(1) << 40, v1, &bytes, &err));
	cr_assert_gt(bytes, 0);
	cr_assert(sy_table_append_values(&t, b, "insert", &st, (INT64_C(1) << 40) + 1, v2, NULL, &err));
	dl_write_options wo;
	sy_table_write_options(&t, &wo);
	cr_assert(dl_write_batch(c, b, &wo, &err), "%s", err.msg);
	lk_batch_free(b);
	cr_assert(sy_table_finish_commit(&t, c, 0xfff, &err), "%s", err.msg);
	cr_assert_eq(t.version, 0xfff);

	t.state = SY_CATCHUP;
	cr_assert(sy_table_set_relation(&t, relation('d'), &err), "%s", err.msg);
	cr_assert_not(sy_table_applies(&t, 0xfff), "the snapshot holds it");
	cr_assert_eq(t.state, SY_CATCHUP);
	cr_assert(sy_table_applies(&t, 0x1000), "commit at the consistent point");
	cr_assert_eq(t.state, SY_STREAMING);

	sy_txn tx = txn(0x2000, 700);
	sy_table_begin_txn(&t);
	ins(&t, &tx, "3", "three", NULL, "1970-01-01");
	tup n1, o1;
	pgo_update u = {.relid = 16400, .old_kind = 0};
	u.newtup = *mk(&n1, "1", "uno", NULL, "2020-01-02");
	cr_assert(sy_table_update(&t, &tx, &u, &err), "%s", err.msg);
	/* key change: old key in a preimage */
	pgo_update k = {.relid = 16400, .old_kind = 'K'};
	k.oldtup = *mk(&o1, "2", NULL, NULL, NULL);
	k.newtup = *mk(&n1, "20", "two", NULL, NULL);
	cr_assert(sy_table_update(&t, &tx, &k, &err), "%s", err.msg);
	pgo_delete del = {.relid = 16400, .old_kind = 'K'};
	del.oldtup = *mk(&o1, "3", NULL, NULL, NULL);
	cr_assert(sy_table_delete(&t, &tx, &del, &err), "%s", err.msg);
	cr_assert_eq(tx.seq, 5);
	cr_assert_eq(t.pending_rows, 5);
	cr_assert_eq(t.first_pending_lsn, 0x2000);

	sy_txn tx2 = txn(0x3000, 701);
	sy_table_begin_txn(&t);
	cr_assert(sy_table_truncate(&t, &tx2, &err));
	ins(&t, &tx2, "5", "five", NULL, NULL);
	cr_assert_eq(t.last_pending_lsn, 0x3000);
	cr_assert(sy_table_should_commit(&t, INT64_MAX / 2, false), "age budget");
	cr_assert(sy_table_commit(&t, &err), "%s", err.msg);
	cr_assert_eq(t.version, 0x3000);
	cr_assert_eq(t.pending_rows, 0);
	cr_assert_eq(t.rows_committed, 7);
	cr_assert_not(sy_table_should_commit(&t, INT64_MAX / 2, false));
	sy_table_free(&t);

	char *d = dump(table_dir());
	cr_assert_str_eq(d,
					 "insert 1 one - d18263 @4095 #1099511627776 x-\n"
					 "insert 2 two - - @4095 #1099511627777 x-\n"
					 "insert 3 three - d0 @8192 #0 x700\n"
					 "update_postimage 1 uno - d18263 @8192 #1 x700\n"
					 "update_preimage 2 - - - @8192 #2 x700\n"
					 "update_postimage 20 two - - @8192 #3 x700\n"
					 "delete 3 - - - @8192 #4 x700\n"
					 "truncate - - - - @12288 #0 x701\n"
					 "insert 5 five - - @12288 #1 x701\n");
	free(d);

	/* reopened: the txn version is the state; the skip rule follows it */
	sy_table t2;
	open_t(&t2, NULL);
	cr_assert_eq(t2.version, 0x3000);
	cr_assert_eq(t2.state, SY_CATCHUP);
	cr_assert_not(sy_table_applies(&t2, 0x3000));
	cr_assert(sy_table_applies(&t2, 0x3001));
	sy_table_free(&t2);
}

Test(sytable, unchanged_toast_filled_from_last_image)
{
	sy_table t;
	open_t(&t, NULL);
	lk_error err;
	t.state = SY_CATCHUP;
	cr_assert(sy_table_set_relation(&t, relation('d'), &err));
	cr_assert_not_null(t.toast);
	char *b1 = big(5000, 'a'), *b2 = big(7000, 'b');
	sy_txn tx = txn(0x100, 1);
	cr_assert(sy_table_applies(&t, tx.commit_lsn));
	sy_table_begin_txn(&t);
	ins(&t, &tx, "1", "x", b1, NULL);
	ins(&t, &tx, "2", "y", b2, NULL);
	tup n, o;
	pgo_update u = {.relid = 16400};
	u.newtup = *mk(&n, "1", "x2", "\x01u", NULL);
	cr_assert(sy_table_update(&t, &tx, &u, &err), "%s", err.msg);
	/* key change: looked up by the old key, remembered under the new one */
	pgo_update k = {.relid = 16400, .old_kind = 'K'};
	k.oldtup = *mk(&o, "2", NULL, NULL, NULL);
	k.newtup = *mk(&n, "3", "y2", "\x01u", NULL);
	cr_assert(sy_table_update(&t, &tx, &k, &err), "%s", err.msg);
	u.newtup = *mk(&n, "3", "y3", "\x01u", NULL);
	cr_assert(sy_table_update(&t, &tx, &u, &err), "%s", err.msg);
	cr_assert_eq(t.toast_filled, 3);
	/* row 2 is gone from the cache */
	u.newtup = *mk(&n, "2", "z", "\x01u", NULL);
	cr_assert_not(sy_table_update(&t, &tx, &u, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert_not_null(strstr(err.msg, "unchanged TOAST value cannot be filled"), "%s", err.msg);
	cr_assert_str_eq(err.where, "table \"public.t\", commit lsn 0/100, column \"big\"");
	sy_table_fail(&t, &err, tx.commit_lsn);
	cr_assert_eq(t.state, SY_ERROR);
	sy_table_free(&t);
	free(b1);
	free(b2);
}

Test(sytable, unchanged_toast_from_full_old_row_and_cache_limits)
{
	sy_table t;
	sy_table_config cfg;
	sy_table_config_init(&cfg);
	cfg.toast_cache_bytes = 12000;   /* room for about one image */
	open_t(&t, &cfg);
	lk_error err;
	t.state = SY_CATCHUP;
	/* FULL: no cache, the old row has the value */
	cr_assert(sy_table_set_relation(&t, relation('f'), &err));
	cr_assert_null(t.toast);
	char *b1 = big(9000, 'q');
	sy_txn tx = txn(0x200, 2);
	cr_assert(sy_table_applies(&t, tx.commit_lsn));
	sy_table_begin_txn(&t);
	tup n, o;
	pgo_update u = {.relid = 16400, .old_kind = 'O'};
	u.oldtup = *mk(&o, "1", "a", b1, NULL);
	u.newtup = *mk(&n, "1", "b", "\x01u", NULL);
	cr_assert(sy_table_update(&t, &tx, &u, &err), "%s", err.msg);
	cr_assert_eq(t.toast_filled, 1);
	cr_assert(sy_table_commit(&t, &err), "%s", err.msg);

	/* default identity, small budget: the older image is evicted */
	cr_assert(sy_table_set_relation(&t, relation('d'), &err));
	cr_assert_not_null(t.toast);
	sy_txn tx2 = txn(0x300, 3);
	cr_assert(sy_table_applies(&t, tx2.commit_lsn));
	sy_table_begin_txn(&t);
	ins(&t, &tx2, "7", "a", b1, NULL);
	ins(&t, &tx2, "8", "a", b1, NULL);
	pgo_update u2 = {.relid = 16400};
	u2.newtup = *mk(&n, "8", "c", "\x01u", NULL);
	cr_assert(sy_table_update(&t, &tx2, &u2, &err), "%s", err.msg);
	/* evicted from the cache: filled from the row's latest image, here
	 * the pending batch */
	u2.newtup = *mk(&n, "7", "c", "\x01u", NULL);
	cr_assert(sy_table_update(&t, &tx2, &u2, &err), "%s", err.msg);
	/* a row that was never seen cannot be filled: never a placeholder */
	u2.newtup = *mk(&n, "9", "c", "\x01u", NULL);
	cr_assert_not(sy_table_update(&t, &tx2, &u2, &err), "unknown row");
	cr_assert_not_null(strstr(err.msg, "unchanged TOAST value cannot be filled"), "%s", err.msg);
	cr_assert_str_eq(err.where, "table \"public.t\", commit lsn 0/300, column \"big\"");
	sy_table_free(&t);
	free(b1);

	char *d = dump(table_dir());
	cr_assert_str_eq(d,
					 "update_preimage 1 a #9000 - @512 #0 x2\n"
					 "update_postimage 1 b #9000 - @512 #1 x2\n");
	free(d);
}

Test(sytable, unrepresentable_value_names_table_column_lsn)
{
	sy_table t;
	open_t(&t, NULL);
	lk_error err;
	t.state = SY_CATCHUP;
	t.version = 0x10;
	cr_assert(sy_table_set_relation(&t, relation('d'), &err));
	sy_txn tx = txn(0x16B374D848, 9);
	cr_assert(sy_table_applies(&t, tx.commit_lsn));
	sy_table_begin_txn(&t);
	tup x;
	pgo_insert m = {.relid = 16400};
	m.newtup = *mk(&x, "1", "ok", NULL, "10000-01-01");
	cr_assert_not(sy_table_insert(&t, &tx, &m, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert_not_null(strstr(err.msg, "cannot represent"), "%s", err.msg);
	cr_assert_str_eq(err.where, "table \"public.t\", commit lsn 16/B374D848, column \"d\"");
	/* malformed text is corrupt data */
	m.newtup = *mk(&x, "x1", "ok", NULL, NULL);
	cr_assert_not(sy_table_insert(&t, &tx, &m, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert_str_eq(err.where, "table \"public.t\", commit lsn 16/B374D848, column \"id\"");
	sy_table_free(&t);
}

Test(sytable, failure_commits_the_transactions_before)
{
	sy_table t;
	open_t(&t, NULL);
	lk_error err;
	t.state = SY_CATCHUP;
	cr_assert(sy_table_set_relation(&t, relation('d'), &err));
	sy_txn a = txn(0x1000, 1), b = txn(0x2000, 2);
	cr_assert(sy_table_applies(&t, a.commit_lsn));
	sy_table_begin_txn(&t);
	ins(&t, &a, "1", "a", NULL, NULL);
	ins(&t, &a, "2", "a", NULL, NULL);
	cr_assert(sy_table_applies(&t, b.commit_lsn));
	sy_table_begin_txn(&t);
	ins(&t, &b, "3", "b", NULL, NULL);
	tup x;
	pgo_insert m = {.relid = 16400};
	m.newtup = *mk(&x, "4", "b", NULL, "99999-01-01");
	cr_assert_not(sy_table_insert(&t, &b, &m, &err));
	cr_assert_eq(sy_table_hold(&t), 0x1000);
	sy_table_fail(&t, &err, b.commit_lsn);
	cr_assert_eq(t.state, SY_ERROR);
	cr_assert_eq(t.version, 0x1000, "transaction a committed");
	cr_assert_eq(t.pending_rows, 0);
	cr_assert_eq(sy_table_hold(&t), 0x2000, "held below the failing transaction");
	cr_assert_not(sy_table_applies(&t, 0x3000), "a failed table applies nothing");
	sy_table_free(&t);
	char *d = dump(table_dir());
	cr_assert_str_eq(d, "insert 1 a - - @4096 #0 x1\n"
						"insert 2 a - - @4096 #1 x1\n");
	free(d);
}

Test(sytable, failure_after_rows_reached_a_file_discards_all)
{
	sy_table t;
	sy_table_config cfg;
	sy_table_config_init(&cfg);
	cfg.batch_bytes = 1;   /* every row goes to the data file at once */
	open_t(&t, &cfg);
	lk_error err;
	t.state = SY_CATCHUP;
	cr_assert(sy_table_set_relation(&t, relation('d'), &err));
	sy_txn a = txn(0x1000, 1), b = txn(0x2000, 2);
	cr_assert(sy_table_applies(&t, a.commit_lsn));
	sy_table_begin_txn(&t);
	ins(&t, &a, "1", "a", NULL, NULL);
	cr_assert(sy_table_applies(&t, b.commit_lsn));
	sy_table_begin_txn(&t);
	ins(&t, &b, "2", "b", NULL, NULL);
	cr_assert_eq(t.batch->nrows, 0);
	cr_assert_eq(t.txn_batch_row, -1);
	lk_error e = {.code = LK_ERR_UNSUPPORTED, .msg = "x"};
	sy_table_fail(&t, &e, b.commit_lsn);
	cr_assert_eq(t.version, -1, "nothing could be committed");
	cr_assert_eq(sy_table_hold(&t), UINT64_MAX, "no snapshot yet: nothing to hold");
	t.version = 0x800;
	cr_assert_eq(sy_table_hold(&t), 0x1000, "held at the first pending transaction");
	sy_table_free(&t);
}

Test(sytable, confirm_lsn_idle_tables_do_not_hold)
{
	sy_table a, b;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.state = b.state = SY_STREAMING;
	a.version = b.version = 0x100;
	sy_table *v[2] = {&a, &b};
	cr_assert_eq(sy_confirm_lsn(v, 2, 0x9000), 0x9000, "idle: the boundary");
	a.pending_rows = 3;
	a.first_pending_lsn = 0x5000;
	cr_assert_eq(sy_confirm_lsn(v, 2, 0x9000), 0x5000);
	b.pending_rows = 1;
	b.first_pending_lsn = 0x4000;
	cr_assert_eq(sy_confirm_lsn(v, 2, 0x9000), 0x4000);
	cr_assert_eq(sy_confirm_lsn(v, 2, 0x3000), 0x3000, "never past the boundary");
	a.pending_rows = b.pending_rows = 0;
	b.state = SY_ERROR;
	b.error_lsn = 0x4500;
	cr_assert_eq(sy_confirm_lsn(v, 2, 0x9000), 0x4500, "a failed table holds");
	cr_assert_eq(sy_confirm_lsn(v, 0, 0x9000), 0x9000);
}

Test(sytable, relation_schema_changes)
{
	/* schema evolution itself is tested in test_sync_evolve.c */
	sy_table t;
	open_t(&t, NULL);
	lk_error err;
	t.state = SY_CATCHUP;
	sy_txn tx = txn(0x40, 4);
	cr_assert(sy_table_applies(&t, tx.commit_lsn));
	sy_table_begin_txn(&t);
	/* an added column joins the table */
	pgo_relation r = *relation('d');
	pgo_column c5[5];
	memcpy(c5, relcols, sizeof(relcols));
	c5[4] = (pgo_column){.name = "added", .type_oid = PGT_OID_INT4, .typmod = -1};
	r.cols = c5;
	r.ncols = 5;
	cr_assert(sy_table_set_relation(&t, &r, &err), "%s", err.msg);
	cr_assert_eq(t.ncols, 5);
	/* a type change that is not a widening stops the table */
	r = *relation('d');
	relcols[3].type_oid = PGT_OID_TIMESTAMP;
	cr_assert_not(sy_table_set_relation(&t, &r, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert_not_null(strstr(err.msg, "the type of column \"d\" changed from date to "
									   "timestamp"), "%s", err.msg);
	/* a dropped column is fine: it receives nulls */
	r = *relation('d');
	r.ncols = 3;
	cr_assert(sy_table_set_relation(&t, &r, &err), "%s", err.msg);
	tup x;
	pgo_insert m = {.relid = 16400};
	m.newtup = *mk(&x, "1", "v", NULL, NULL);
	m.newtup.ncols = 3;
	cr_assert(sy_table_insert(&t, &tx, &m, &err), "%s", err.msg);
	/* a tuple that does not match its Relation message */
	m.newtup.ncols = 4;
	cr_assert_not(sy_table_insert(&t, &tx, &m, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	sy_table_free(&t);
}

Test(sytable, existing_table_schema_checked)
{
	sy_table t;
	open_t(&t, NULL);
	sy_table_free(&t);
	/* the source column d became a timestamp: refused */
	pgc_table_def d;
	def_t(&d);
	col(&cols4[3], 4, "d", PGT_OID_TIMESTAMP, "timestamp", false);
	pgc_table_name n = {"public", "t"};
	sy_table_config c;
	sy_table_config_init(&c);
	lk_error err;
	/* the source column d became a timestamp (an ALTER the stream has not
	 * brought yet): the table opens in the Delta schema (d stays a date),
	 * and the replayed Relation message decides (sync/evolve.h) */
	cr_assert(sy_table_init(&t, &c, "p1", tmpdir, &n, &info_t, &d, &err));
	cr_assert(sy_table_open(&t, &err), "%s", err.msg);
	int k = lk_type_field_index(t.schema, "d");
	cr_assert_geq(k, 0);
	cr_assert_eq(t.schema->children[k].type->id, LK_T_DATE);
	sy_table_free(&t);
	/* a source column named like a history column */
	def_t(&d);
	cols4[1].name = "_XID";
	cr_assert_not(sy_table_init(&t, &c, "p1", tmpdir, &n, &info_t, &d, &err));
	cr_assert_not_null(strstr(err.msg, "history column"));
	sy_table_free(&t);
	/* partitioned tables are refused */
	def_t(&d);
	pgc_table_info pi = info_t;
	pi.relkind = 'p';
	cr_assert_not(sy_table_init(&t, &c, "p1", tmpdir, &n, &pi, &d, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	sy_table_free(&t);
	/* generated columns are left out */
	def_t(&d);
	cols4[2].generated = 's';
	cr_assert(sy_table_init(&t, &c, "p1", tmpdir, &n, &info_t, &d, &err));
	cr_assert_eq(t.ncols, 3);
	cr_assert_str_eq(t.cols[2].name, "d");
	sy_table_free(&t);
}

Test(sytable, failure_without_rows_of_its_own_keeps_every_earlier_row)
{
	sy_table t;
	open_t(&t, NULL);
	lk_error err;
	t.state = SY_CATCHUP;
	cr_assert(sy_table_set_relation(&t, relation('d'), &err));
	sy_txn a = txn(0x1000, 1), b = txn(0x2000, 2);
	cr_assert(sy_table_applies(&t, a.commit_lsn));
	sy_table_begin_txn(&t);
	ins(&t, &a, "1", "a", NULL, NULL);
	cr_assert(sy_table_applies(&t, b.commit_lsn));
	sy_table_begin_txn(&t);
	ins(&t, &b, "2", "b", NULL, NULL);
	/* a third transaction fails on its Relation message, before any row */
	sy_table_begin_txn(&t);
	pgo_relation r = *relation('d');
	relcols[1].type_oid = PGT_OID_INT8;
	cr_assert_not(sy_table_set_relation(&t, &r, &err));
	sy_table_fail(&t, &err, 0x3000);
	cr_assert_eq(t.version, 0x2000, "both earlier transactions committed");
	cr_assert_eq(sy_table_hold(&t), 0x3000);
	sy_table_free(&t);
	char *d = dump(table_dir());
	cr_assert_str_eq(d, "insert 1 a - - @4096 #0 x1\n"
						"insert 2 b - - @8192 #0 x2\n");
	free(d);
}

Test(sync_table, early_commit_when_drained)
{
	sy_table t;
	memset(&t, 0, sizeof(t));
	sy_table_config_init(&t.cfg);
	t.pending_rows = 10;
	t.pending_bytes = 1000;
	t.pending_since_ms = 10000;
	/* younger than the early bound: never */
	cr_assert_not(sy_table_should_commit(&t, 10199, true));
	/* old enough, but more is buffered: wait for the interval */
	cr_assert_not(sy_table_should_commit(&t, 10200, false));
	cr_assert(sy_table_should_commit(&t, 10200, true));
	cr_assert(sy_table_should_commit(&t, 11000, false));
	cr_assert_not(sy_table_should_commit(&t, 10999, false));
	/* the early bound never exceeds the interval */
	t.cfg.flush_interval_ms = 100;
	cr_assert(sy_table_should_commit(&t, 10100, false));
	t.cfg.flush_interval_ms = 1000;
	t.cfg.early_flush_ms = 5000;
	cr_assert(sy_table_should_commit(&t, 11000, true));
	cr_assert_not(sy_table_should_commit(&t, 10999, true));
	/* an early commit no more often than 3 × the last commit's time */
	t.cfg.early_flush_ms = 200;
	t.last_commit_ms = 150;
	cr_assert_not(sy_table_should_commit(&t, 10449, true));
	cr_assert(sy_table_should_commit(&t, 10450, true));
	t.last_commit_ms = 900;        /* capped by the interval */
	cr_assert_not(sy_table_should_commit(&t, 10999, true));
	cr_assert(sy_table_should_commit(&t, 11000, true));
	t.last_commit_ms = 0;
	/* size budget regardless of age */
	t.pending_bytes = t.cfg.flush_bytes;
	cr_assert(sy_table_should_commit(&t, 10000, false));
	t.pending_rows = 0;
	cr_assert_not(sy_table_should_commit(&t, 99999, true));
}
