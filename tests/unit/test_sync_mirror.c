/*
 * test_sync_mirror.c — mirror mode of a synced table (src/sync/mirror.c via
 * table.c) without PostgreSQL: pgoutput messages built as the decoder
 * returns them, the Delta table written in a temporary directory and read
 * back with dl_scan (exact rows), dl_cdf (exact change rows per version)
 * and the log (deletion vectors, removes).  Covers inserts, updates,
 * deletes, key changes, several changes of one row in one batch and in one
 * commit, rows of earlier data files of the same open commit, TRUNCATE,
 * REPLICA IDENTITY FULL without a key (duplicates), unchanged TOAST
 * values from committed files, the batch and open files, restarts (saved
 * and rebuilt key index), discards, the refusal of a table without key,
 * and history tables filling 'u' values from the latest image after a
 * restart.
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
#include "delta/cdf.h"
#include "delta/log.h"
#include "delta/scan.h"
#include "delta/writer.h"
#include "sync/config.h"
#include "sync/mirror.h"
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
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lk-symirror-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(symirror, .init = setup, .fini = teardown);

/* ---- fixtures ------------------------------------------------------------ */

/* public.t (id int4 [PK], v text, big text, d date) */
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
def_t(pgc_table_def *d, bool pk)
{
	col(&cols4[0], 1, "id", PGT_OID_INT4, "int4", pk);
	col(&cols4[1], 2, "v", PGT_OID_TEXT, "text", false);
	col(&cols4[2], 3, "big", PGT_OID_TEXT, "text", false);
	col(&cols4[3], 4, "d", PGT_OID_DATE, "date", false);
	memset(d, 0, sizeof(*d));
	d->relid = 16400;
	d->ncols = 4;
	d->cols = cols4;
	d->npk = pk ? 1 : 0;
}

static bool
try_open(sy_table *t, sy_table_config *cfg, sy_table_mode mode, bool pk, char replident,
		 lk_error *err)
{
	pgc_table_def d;
	def_t(&d, pk);
	pgc_table_name n = {"public", "t"};
	pgc_table_info info = {.relid = 16400, .relkind = 'r', .replident = replident,
						   .has_pk = pk, .has_identity = pk || replident == 'f'};
	sy_table_config c;
	if (!cfg) {
		sy_table_config_init(&c);
		cfg = &c;
	}
	cfg->mode = mode;
	return sy_table_init(t, cfg, "p1", tmpdir, &n, &info, &d, err) && sy_table_open(t, err);
}

static void
open_m(sy_table *t, sy_table_config *cfg)
{
	lk_error err;
	cr_assert(try_open(t, cfg, SY_TABLE_MIRROR, true, 'd', &err), "%s (%s)", err.msg,
			  err.where);
}

/* Relation message of public.t; replident 'd' (key = id) or 'f' (all). */
static pgo_column relcols[4];
static pgo_relation rel;

static const pgo_relation *
relation(char replident, bool pk)
{
	static const char *names[4] = {"id", "v", "big", "d"};
	static const uint32_t oids[4] = {PGT_OID_INT4, PGT_OID_TEXT, PGT_OID_TEXT, PGT_OID_DATE};
	for (int i = 0; i < 4; i++) {
		relcols[i].flags = (replident == 'f' || (i == 0 && pk)) ? PGO_COLUMN_KEY : 0;
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

/* Update without old tuple (key unchanged). */
static void
upd(sy_table *t, sy_txn *tx, const char *id, const char *v, const char *big, const char *d)
{
	tup x;
	pgo_update m = {.relid = 16400};
	m.newtup = *mk(&x, id, v, big, d);
	lk_error err;
	cr_assert(sy_table_update(t, tx, &m, &err), "%s (%s)", err.msg, err.where);
}

/* Update changing the key: old key tuple 'K'. */
static void
updk(sy_table *t, sy_txn *tx, const char *oldid, const char *id, const char *v,
	 const char *big, const char *d)
{
	tup x, o;
	pgo_update m = {.relid = 16400, .old_kind = 'K'};
	m.oldtup = *mk(&o, oldid, NULL, NULL, NULL);
	m.newtup = *mk(&x, id, v, big, d);
	lk_error err;
	cr_assert(sy_table_update(t, tx, &m, &err), "%s (%s)", err.msg, err.where);
}

static void
del(sy_table *t, sy_txn *tx, const char *id)
{
	tup o;
	pgo_delete m = {.relid = 16400, .old_kind = 'K'};
	m.oldtup = *mk(&o, id, NULL, NULL, NULL);
	lk_error err;
	cr_assert(sy_table_delete(t, tx, &m, &err), "%s (%s)", err.msg, err.where);
}

static void
commit(sy_table *t)
{
	lk_error err;
	cr_assert(sy_table_commit(t, &err), "%s (%s)", err.msg, err.where);
}

/* Begin a streamed transaction at lsn. */
static sy_txn
begin(sy_table *t, uint64_t lsn)
{
	sy_txn tx = txn(lsn, (int64_t) lsn);
	cr_assert(sy_table_applies(t, tx.commit_lsn));
	sy_table_begin_txn(t);
	return tx;
}

/* The snapshot: rows (id, v, big, d) as text, committed at lsn - 1. */
static void
snapshot(sy_table *t, uint64_t lsn, const char *const rows[][4], int n)
{
	lk_error err;
	dl_commit *c = sy_table_begin_commit(t);
	lk_batch *b = sy_table_new_batch(t);
	sy_txn st = {.commit_lsn = lsn - 1, .end_lsn = lsn, .xid = -1};
	for (int i = 0; i < n; i++) {
		sy_value v[4];
		for (int k = 0; k < 4; k++)
			v[k] = rows[i][k] ? (sy_value){rows[i][k], strlen(rows[i][k]), false}
							  : (sy_value){.null = true};
		cr_assert(sy_table_append_values(t, b, "insert", &st, i, v, NULL, &err), "%s",
				  err.msg);
	}
	dl_write_options wo;
	sy_table_write_options(t, &wo);
	cr_assert(dl_write_batch(c, b, &wo, &err), "%s", err.msg);
	lk_batch_free(b);
	cr_assert(sy_table_finish_commit(t, c, (int64_t) lsn - 1, &err), "%s", err.msg);
	t->state = SY_CATCHUP;
}

static void
sort_lines(char **lines, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
			char *x = lines[j];
			lines[j] = lines[j - 1];
			lines[j - 1] = x;
		}
}

/* "id v big d" of row r of columns 0..3 (big as "#len:first char"). */
static void
fmt_row(const lk_batch *b, int64_t r, char *out, size_t n)
{
	char f[4][64];
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
				snprintf(f[c], sizeof(f[c]), "#%" PRId64 "%c", len, len ? p[0] : '.');
			else
				snprintf(f[c], sizeof(f[c]), "%.*s", (int) len, p);
		}
	}
	snprintf(out, n, "%s %s %s %s", f[0], f[1], f[2], f[3]);
}

static char *
join_sorted(char **lines, size_t n)
{
	sort_lines(lines, n);
	lk_buf out = LK_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		lk_buf_append_str(&out, lines[i]);
		lk_buf_append_byte(&out, '\n');
		free(lines[i]);
	}
	free(lines);
	lk_buf_append_byte(&out, 0);
	return (char *) lk_buf_detach(&out, NULL);
}

static char *
mirror_dir(void)
{
	static char p[400];
	snprintf(p, sizeof(p), "%s/public/t", tmpdir);
	return p;
}

/* Every live row of the Delta table, sorted. */
static char *
dump(void)
{
	st_store st;
	lk_error err;
	cr_assert(st_store_open(&st, mirror_dir(), 0, &err));
	dl_snapshot *s;
	cr_assert(dl_snapshot_open(&st, NULL, &s, &err), "%s", err.msg);
	dl_scan *sc;
	cr_assert(dl_scan_open(s, &sc, &err), "%s", err.msg);
	char **lines = NULL;
	size_t n = 0;
	lk_batch *b;
	for (;;) {
		cr_assert(dl_scan_next(sc, &b, &err), "%s", err.msg);
		if (!b)
			break;
		cr_assert_eq(b->ncols, 4);
		for (int64_t r = 0; r < b->nrows; r++) {
			char line[512];
			fmt_row(b, r, line, sizeof(line));
			lines = realloc(lines, sizeof(char *) * (n + 1));
			lines[n++] = strdup(line);
		}
	}
	dl_scan_free(sc);
	dl_snapshot_free(s);
	st_store_close(&st);
	return join_sorted(lines, n);
}

/* The change feed of versions [from, to]: "v<version> <type> id v big d". */
static char *
changes(int64_t from, int64_t to)
{
	st_store st;
	lk_error err;
	cr_assert(st_store_open(&st, mirror_dir(), 0, &err));
	dl_cdf *c;
	cr_assert(dl_cdf_open(&st, from, to, &c, &err), "%s", err.msg);
	char **lines = NULL;
	size_t n = 0;
	lk_batch *b;
	for (;;) {
		cr_assert(dl_cdf_next(c, &b, &err), "%s (%s)", err.msg, err.where);
		if (!b)
			break;
		cr_assert_eq(b->ncols, 7);
		for (int64_t r = 0; r < b->nrows; r++) {
			char row[400], line[512];
			fmt_row(b, r, row, sizeof(row));
			int64_t tl;
			const uint8_t *tp = lk_column_bytes(&b->cols[4], r, &tl);
			snprintf(line, sizeof(line), "v%" PRId64 " %.*s %s",
					 LK_COL_VALUES(&b->cols[5], int64_t)[r], (int) tl, tp, row);
			lines = realloc(lines, sizeof(char *) * (n + 1));
			lines[n++] = strdup(line);
		}
	}
	dl_cdf_free(c);
	st_store_close(&st);
	return join_sorted(lines, n);
}

/* Latest version of the table and its txn version of our appId. */
static int64_t
latest(int64_t *txn_version)
{
	st_store st;
	lk_error err;
	cr_assert(st_store_open(&st, mirror_dir(), 0, &err));
	dl_snapshot *s;
	cr_assert(dl_snapshot_open(&st, NULL, &s, &err), "%s", err.msg);
	int64_t v = s->version;
	if (txn_version)
		*txn_version = dl_snapshot_txn_version(s, "lakesync/p1/public.t");
	dl_snapshot_free(s);
	st_store_close(&st);
	return v;
}

/* Text of commit file `version`. */
static char *
commit_json(int64_t version)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/_delta_log/%020" PRId64 ".json", mirror_dir(), version);
	FILE *f = fopen(p, "r");
	cr_assert_not_null(f, "%s", p);
	lk_buf b = LK_BUF_INIT;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		lk_buf_append(&b, buf, n);
	fclose(f);
	lk_buf_append_byte(&b, 0);
	return (char *) lk_buf_detach(&b, NULL);
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static char *
big(size_t n, char ch)
{
	char *s = malloc(n + 1);
	memset(s, ch, n);
	s[n] = 0;
	return s;
}

static const char *const snap3[][4] = {
	{"1", "one", NULL, "2020-01-02"},
	{"2", "two", NULL, NULL},
	{"3", "three", "xyz", NULL},
};

/* ---- tests ------------------------------------------------------------------ */

Test(symirror, create_location_schema_properties)
{
	char *loc = sy_table_location_mode("file:///x/lake//", "s", "t", SY_TABLE_MIRROR);
	cr_assert_str_eq(loc, "file:///x/lake/s/t");
	free(loc);
	sy_table_mode md;
	cr_assert(sy_table_mode_parse("mirror", &md) && md == SY_TABLE_MIRROR);
	cr_assert(sy_table_mode_parse("history", &md) && md == SY_TABLE_HISTORY);
	cr_assert_not(sy_table_mode_parse("Mirror", &md));
	sy_table t;
	open_m(&t, NULL);
	cr_assert_eq(t.state, SY_SNAPSHOT);
	cr_assert_str_eq(t.app_id, "lakesync/p1/public.t");
	char *name = lk_type_name(&t.arena, t.schema);
	cr_assert_str_eq(name, "struct<id:integer,v:string,big:string,d:date>");
	const char *const *keys;
	cr_assert_eq(sy_mirror_key_columns(&t, &keys), 1);
	cr_assert_str_eq(keys[0], "id");
	char want[512];
	snprintf(want, sizeof(want), "%s/_lakesync/p1/index/public.t", tmpdir);
	cr_assert_str_eq(t.index_dir, want);
	sy_table_free(&t);
	char *j = commit_json(0);
	cr_assert_not_null(strstr(j, "\"delta.enableDeletionVectors\":\"true\""), "%s", j);
	cr_assert_not_null(strstr(j, "\"delta.enableChangeDataFeed\":\"true\""), "%s", j);
	cr_assert_null(strstr(j, "appendOnly"), "%s", j);
	cr_assert_null(strstr(j, "columnMapping"), "%s", j);
	free(j);
}

Test(symirror, no_key_refused_full_accepted)
{
	sy_table t;
	lk_error err;
	cr_assert_not(try_open(&t, NULL, SY_TABLE_MIRROR, false, 'd', &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert_not_null(strstr(err.msg, "REPLICA IDENTITY FULL"), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "add a primary key"), "%s", err.msg);
	cr_assert_str_eq(err.where, "table \"public.t\"");
	sy_table_free(&t);
	cr_assert(try_open(&t, NULL, SY_TABLE_MIRROR, false, 'f', &err), "%s", err.msg);
	const char *const *keys;
	cr_assert_eq(sy_mirror_key_columns(&t, &keys), 4);
	sy_table_free(&t);
	/* history keeps accepting it */
	cr_assert(try_open(&t, NULL, SY_TABLE_HISTORY, false, 'd', &err), "%s", err.msg);
	sy_table_free(&t);
}

Test(symirror, snapshot_then_changes_exact_rows_dvs_and_cdf)
{
	sy_table t;
	open_m(&t, NULL);
	lk_error err;
	snapshot(&t, 0x1000, snap3, 3);
	cr_assert_eq(t.version, 0xfff);
	cr_assert(sy_table_set_relation(&t, relation('d', true), &err));
	char *d = dump();
	cr_assert_str_eq(d, "1 one - d18263\n2 two - -\n3 three #3x -\n");
	free(d);

	sy_txn tx = begin(&t, 0x2000);
	ins(&t, &tx, "4", "four", NULL, NULL);
	upd(&t, &tx, "1", "uno", NULL, "2020-01-02");
	del(&t, &tx, "2");
	commit(&t);
	int64_t tv;
	int64_t v = latest(&tv);
	cr_assert_eq(tv, 0x2000);
	d = dump();
	cr_assert_str_eq(d, "1 uno - d18263\n3 three #3x -\n4 four - -\n");
	free(d);
	/* one deletion vector on the snapshot file (rows 0 and 1), the new file */
	char *j = commit_json(v);
	cr_assert_eq(count(j, "\"deletionVector\""), 1, "%s", j);   /* the add */
	cr_assert_eq(count(j, "tightBounds"), 1, "%s", j);
	cr_assert_eq(count(j, "\"cardinality\":2"), 1, "%s", j);
	cr_assert_eq(count(j, "\"cdc\""), 2, "%s", j);
	cr_assert_not_null(strstr(j, "\"appId\":\"lakesync/p1/public.t\",\"version\":8192"), "%s", j);
	free(j);
	d = changes(v, v);
	cr_assert_str_eq(d,
					 "v2 delete 2 two - -\n"
					 "v2 insert 4 four - -\n"
					 "v2 update_postimage 1 uno - d18263\n"
					 "v2 update_preimage 1 one - d18263\n");
	free(d);

	/* the skip rule: the same transaction again is not applied */
	cr_assert_not(sy_table_applies(&t, 0x2000));
	sy_table_free(&t);
}

Test(symirror, many_changes_of_one_row_in_one_batch)
{
	sy_table t;
	open_m(&t, NULL);
	lk_error err;
	snapshot(&t, 0x1000, snap3, 3);
	cr_assert(sy_table_set_relation(&t, relation('d', true), &err));
	sy_txn tx = begin(&t, 0x2000);
	upd(&t, &tx, "1", "a", NULL, NULL);
	upd(&t, &tx, "1", "b", NULL, NULL);
	updk(&t, &tx, "1", "10", "c", NULL, NULL);   /* key change */
	upd(&t, &tx, "10", "d", NULL, NULL);
	ins(&t, &tx, "5", "five", NULL, NULL);       /* inserted ... */
	upd(&t, &tx, "5", "cinq", NULL, NULL);
	del(&t, &tx, "5");                           /* ... and gone */
	ins(&t, &tx, "6", "six", NULL, NULL);
	updk(&t, &tx, "6", "7", "seven", NULL, NULL);
	del(&t, &tx, "3");
	ins(&t, &tx, "3", "again", NULL, NULL);      /* deleted and back */
	sy_table_begin_txn(&t);
	sy_txn tx2 = begin(&t, 0x2100);
	upd(&t, &tx2, "10", "e", NULL, NULL);        /* second transaction, same commit */
	commit(&t);
	int64_t tv;
	int64_t v = latest(&tv);
	cr_assert_eq(tv, 0x2100);
	char *d = dump();
	cr_assert_str_eq(d, "10 e - -\n2 two - -\n3 again - -\n7 seven - -\n");
	free(d);
	d = changes(v, v);
	/* row by row: 1 became 10 (an update, whatever its key), 5 left no
	 * trace, 3 was deleted and a new 3 inserted */
	cr_assert_str_eq(d,
					 "v2 delete 3 three #3x -\n"
					 "v2 insert 3 again - -\n"
					 "v2 insert 7 seven - -\n"
					 "v2 update_postimage 10 e - -\n"
					 "v2 update_preimage 1 one - d18263\n");
	free(d);
	cr_assert_eq(t.rows_committed, 12);
	sy_table_free(&t);
}

Test(symirror, rows_of_earlier_files_of_the_open_commit)
{
	/* every change writes the batch: later changes of the same commit
	 * delete rows of data files the commit has not published yet */
	sy_table_config cfg;
	sy_table_config_init(&cfg);
	cfg.batch_bytes = 1;
	sy_table t;
	open_m(&t, &cfg);
	lk_error err;
	snapshot(&t, 0x1000, snap3, 3);
	cr_assert(sy_table_set_relation(&t, relation('d', true), &err));
	sy_txn tx = begin(&t, 0x2000);
	ins(&t, &tx, "4", "four", NULL, NULL);
	ins(&t, &tx, "5", "five", NULL, NULL);
	ins(&t, &tx, "6", "six", NULL, NULL);
	upd(&t, &tx, "4", "vier", NULL, NULL);       /* a row of file 1 */
	del(&t, &tx, "5");                           /* file 2: every row gone */
	upd(&t, &tx, "1", "uno", NULL, NULL);
	upd(&t, &tx, "1", "eins", NULL, NULL);       /* update of an update */
	updk(&t, &tx, "6", "60", "sixty", NULL, NULL);
	commit(&t);
	int64_t v = latest(NULL);
	char *d = dump();
	cr_assert_str_eq(d, "1 eins - -\n2 two - -\n3 three #3x -\n4 vier - -\n"
						"60 sixty - -\n");
	free(d);
	d = changes(v, v);
	cr_assert_str_eq(d,
					 "v2 insert 4 vier - -\n"
					 "v2 insert 60 sixty - -\n"
					 "v2 update_postimage 1 eins - -\n"
					 "v2 update_preimage 1 one - d18263\n");
	free(d);
	/* files of the commit: the ones with a surviving row only */
	char *j = commit_json(v);
	cr_assert_eq(count(j, "\"add\""), 4, "%s", j);  /* 3 files + the DV'd snapshot file */
	free(j);
	/* the next commit finds the rows where the index says */
	tx = begin(&t, 0x3000);
	del(&t, &tx, "4");
	del(&t, &tx, "60");
	upd(&t, &tx, "1", "one again", NULL, NULL);
	commit(&t);
	d = dump();
	cr_assert_str_eq(d, "1 one again - -\n2 two - -\n3 three #3x -\n");
	free(d);
	d = changes(v + 1, v + 1);
	cr_assert_str_eq(d,
					 "v3 delete 4 vier - -\n"
					 "v3 delete 60 sixty - -\n"
					 "v3 update_postimage 1 one again - -\n"
					 "v3 update_preimage 1 eins - -\n");
	free(d);
	sy_table_free(&t);
}

Test(symirror, truncate_removes_every_file)
{
	sy_table t;
	open_m(&t, NULL);
	lk_error err;
	snapshot(&t, 0x1000, snap3, 3);
	cr_assert(sy_table_set_relation(&t, relation('d', true), &err));
	sy_txn tx = begin(&t, 0x2000);
	ins(&t, &tx, "4", "four", NULL, NULL);
	commit(&t);
	tx = begin(&t, 0x3000);
	upd(&t, &tx, "1", "uno", NULL, NULL);
	cr_assert(sy_table_truncate(&t, &tx, &err), "%s", err.msg);
	ins(&t, &tx, "1", "new", NULL, NULL);
	ins(&t, &tx, "9", "nine", NULL, NULL);
	commit(&t);
	int64_t v = latest(NULL);
	char *d = dump();
	cr_assert_str_eq(d, "1 new - -\n9 nine - -\n");
	free(d);
	d = changes(v, v);
	cr_assert_str_eq(d,
					 "v3 delete 1 one - d18263\n"
					 "v3 delete 2 two - -\n"
					 "v3 delete 3 three #3x -\n"
					 "v3 delete 4 four - -\n"
					 "v3 insert 1 new - -\n"
					 "v3 insert 9 nine - -\n");
	free(d);
	char *j = commit_json(v);
	cr_assert_eq(count(j, "\"remove\""), 2, "%s", j);
	free(j);
	/* the index was emptied: the old keys are gone, the new ones there */
	tx = begin(&t, 0x4000);
	upd(&t, &tx, "9", "neun", NULL, NULL);
	del(&t, &tx, "1");
	ins(&t, &tx, "2", "zwei", NULL, NULL);
	commit(&t);
	d = dump();
	cr_assert_str_eq(d, "2 zwei - -\n9 neun - -\n");
	free(d);
	sy_table_free(&t);
}

Test(symirror, replica_identity_full_without_key_duplicates)
{
	sy_table t;
	lk_error err;
	cr_assert(try_open(&t, NULL, SY_TABLE_MIRROR, false, 'f', &err), "%s", err.msg);
	static const char *const rows[][4] = {
		{"1", "a", NULL, NULL}, {"1", "a", NULL, NULL}, {"1", "a", NULL, NULL},
		{"2", "b", NULL, NULL},
	};
	snapshot(&t, 0x1000, rows, 4);
	cr_assert(sy_table_set_relation(&t, relation('f', false), &err));
	sy_txn tx = begin(&t, 0x2000);
	tup o, n;
	/* delete exactly one of three equal rows */
	pgo_delete dm = {.relid = 16400, .old_kind = 'O'};
	dm.oldtup = *mk(&o, "1", "a", NULL, NULL);
	cr_assert(sy_table_delete(&t, &tx, &dm, &err), "%s", err.msg);
	/* update another of them */
	pgo_update um = {.relid = 16400, .old_kind = 'O'};
	um.oldtup = *mk(&o, "1", "a", NULL, NULL);
	um.newtup = *mk(&n, "1", "z", NULL, NULL);
	cr_assert(sy_table_update(&t, &tx, &um, &err), "%s", err.msg);
	/* a new duplicate of b, then one b deleted again */
	ins(&t, &tx, "2", "b", NULL, NULL);
	dm.oldtup = *mk(&o, "2", "b", NULL, NULL);
	cr_assert(sy_table_delete(&t, &tx, &dm, &err), "%s", err.msg);
	commit(&t);
	int64_t v = latest(NULL);
	char *d = dump();
	cr_assert_str_eq(d, "1 a - -\n1 z - -\n2 b - -\n");
	free(d);
	d = changes(v, v);
	cr_assert_str_eq(d,
					 "v2 delete 1 a - -\n"
					 "v2 update_postimage 1 z - -\n"
					 "v2 update_preimage 1 a - -\n");
	free(d);
	/* restart: the saved index (with the duplicates' ordinals) is used */
	sy_table_free(&t);
	cr_assert(try_open(&t, NULL, SY_TABLE_MIRROR, false, 'f', &err), "%s", err.msg);
	cr_assert(sy_table_set_relation(&t, relation('f', false), &err));
	tx = begin(&t, 0x3000);
	dm.oldtup = *mk(&o, "1", "a", NULL, NULL);
	cr_assert(sy_table_delete(&t, &tx, &dm, &err), "%s", err.msg);
	dm.oldtup = *mk(&o, "2", "b", NULL, NULL);
	cr_assert(sy_table_delete(&t, &tx, &dm, &err), "%s", err.msg);
	commit(&t);
	d = dump();
	cr_assert_str_eq(d, "1 z - -\n");
	free(d);
	sy_table_free(&t);
}

Test(symirror, unchanged_toast_from_the_current_row)
{
	sy_table_config cfg;
	sy_table_config_init(&cfg);
	cfg.toast_cache_bytes = 0;   /* no last-image cache: only the current row */
	sy_table t;
	open_m(&t, &cfg);
	lk_error err;
	char *b1 = big(9000, 'p'), *b2 = big(12000, 'q'), *b3 = big(8500, 'r');
	const char *const rows[][4] = {
		{"1", "one", b1, NULL}, {"2", "two", b2, NULL}, {"3", "three", NULL, NULL},
	};
	snapshot(&t, 0x1000, rows, 3);
	cr_assert(sy_table_set_relation(&t, relation('d', true), &err));
	sy_txn tx = begin(&t, 0x2000);
	upd(&t, &tx, "1", "uno", "\x01u", NULL);     /* from the snapshot file */
	upd(&t, &tx, "1", "eins", "\x01u", NULL);    /* from the batch (pending read) */
	ins(&t, &tx, "4", "four", b3, NULL);
	upd(&t, &tx, "4", "vier", "\x01u", NULL);    /* from the batch (a value) */
	updk(&t, &tx, "2", "20", "twenty", "\x01u", NULL);
	upd(&t, &tx, "3", "drei", "\x01u", NULL);    /* a null stays null */
	commit(&t);
	char *d = dump();
	cr_assert_str_eq(d, "1 eins #9000p -\n20 twenty #12000q -\n3 drei - -\n"
						"4 vier #8500r -\n");
	free(d);
	int64_t v = latest(NULL);
	d = changes(v, v);
	cr_assert_str_eq(d,
					 "v2 insert 4 vier #8500r -\n"
					 "v2 update_postimage 1 eins #9000p -\n"
					 "v2 update_postimage 20 twenty #12000q -\n"
					 "v2 update_postimage 3 drei - -\n"
					 "v2 update_preimage 1 one #9000p -\n"
					 "v2 update_preimage 2 two #12000q -\n"
					 "v2 update_preimage 3 three - -\n");
	free(d);
	cr_assert_eq(t.toast_filled, 5, "%" PRId64, t.toast_filled);
	/* rows in files of the open commit and of the last commit */
	t.cfg.batch_bytes = 1;
	tx = begin(&t, 0x3000);
	upd(&t, &tx, "4", "quatre", "\x01u", NULL);
	upd(&t, &tx, "4", "cuatro", "\x01u", NULL);
	upd(&t, &tx, "20", "zwanzig", "\x01u", NULL);
	commit(&t);
	d = dump();
	cr_assert_str_eq(d, "1 eins #9000p -\n20 zwanzig #12000q -\n3 drei - -\n"
						"4 cuatro #8500r -\n");
	free(d);
	/* a row the table does not have: never a placeholder */
	tx = begin(&t, 0x4000);
	tup x;
	pgo_update um = {.relid = 16400};
	um.newtup = *mk(&x, "77", "x", "\x01u", NULL);
	cr_assert_not(sy_table_update(&t, &tx, &um, &err));
	cr_assert_not_null(strstr(err.msg, "unchanged TOAST value cannot be filled"), "%s", err.msg);
	cr_assert_str_eq(err.where, "table \"public.t\", commit lsn 0/4000, column \"big\"");
	sy_table_fail(&t, &err, tx.commit_lsn);
	cr_assert_eq(t.state, SY_ERROR);
	cr_assert_eq(sy_table_hold(&t), 0x4000);
	sy_table_free(&t);
	free(b1);
	free(b2);
	free(b3);
}

Test(symirror, restart_saved_and_rebuilt_index_and_discard)
{
	sy_table t;
	open_m(&t, NULL);
	lk_error err;
	snapshot(&t, 0x1000, snap3, 3);
	cr_assert(sy_table_set_relation(&t, relation('d', true), &err));
	sy_txn tx = begin(&t, 0x2000);
	ins(&t, &tx, "4", "four", NULL, NULL);
	upd(&t, &tx, "2", "deux", NULL, NULL);
	commit(&t);
	sy_table_free(&t);              /* saves the index */

	/* restart: version known, changes find their rows */
	open_m(&t, NULL);
	cr_assert_eq(t.state, SY_CATCHUP);
	cr_assert_eq(t.version, 0x2000);
	cr_assert(sy_table_set_relation(&t, relation('d', true), &err));
	tx = begin(&t, 0x3000);
	upd(&t, &tx, "4", "vier", NULL, NULL);
	del(&t, &tx, "2");
	/* a lost connection: nothing of it survives */
	sy_table_discard(&t);
	t.state = SY_CATCHUP;
	tx = begin(&t, 0x3000);
	upd(&t, &tx, "4", "quatre", NULL, NULL);
	del(&t, &tx, "3");
	commit(&t);
	char *d = dump();
	cr_assert_str_eq(d, "1 one - d18263\n2 deux - -\n4 quatre - -\n");
	free(d);
	sy_table_free(&t);

	/* the index directory removed: rebuilt from the table */
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/_lakesync/p1/index'", tmpdir);
	cr_assert_eq(system(cmd), 0);
	open_m(&t, NULL);
	cr_assert(sy_table_set_relation(&t, relation('d', true), &err));
	tx = begin(&t, 0x4000);
	upd(&t, &tx, "1", "uno", NULL, NULL);
	del(&t, &tx, "4");
	ins(&t, &tx, "3", "trois", NULL, NULL);
	commit(&t);
	d = dump();
	cr_assert_str_eq(d, "1 uno - -\n2 deux - -\n3 trois - -\n");
	free(d);
	int64_t tv;
	latest(&tv);
	cr_assert_eq(tv, 0x4000);
	sy_table_free(&t);
}

Test(symirror, saved_index_caught_up_from_the_log)
{
	/* run 1 saves its index; run 2 never saves (as if killed); run 3 opens
	 * the index of run 1 and catches up with run 2's commits */
	sy_table t;
	lk_error err;
	sy_table_config cfg;
	sy_table_config_init(&cfg);
	open_m(&t, &cfg);
	snapshot(&t, 0x1000, snap3, 3);
	cr_assert(sy_table_set_relation(&t, relation('d', true), &err));
	sy_txn tx = begin(&t, 0x2000);
	ins(&t, &tx, "4", "four", NULL, NULL);
	commit(&t);
	sy_table_free(&t);

	cfg.index_save_ms = -1;
	cfg.batch_bytes = 1;        /* several files per commit */
	open_m(&t, &cfg);
	cr_assert(sy_table_set_relation(&t, relation('d', true), &err));
	tx = begin(&t, 0x3000);
	upd(&t, &tx, "4", "vier", NULL, NULL);
	ins(&t, &tx, "5", "five", NULL, NULL);
	ins(&t, &tx, "6", "six", NULL, NULL);
	del(&t, &tx, "6");
	updk(&t, &tx, "1", "11", "elf", NULL, NULL);
	del(&t, &tx, "2");
	commit(&t);
	tx = begin(&t, 0x3100);
	upd(&t, &tx, "5", "fuenf", NULL, NULL);
	commit(&t);
	sy_table_free(&t);

	sy_table_config_init(&cfg);
	open_m(&t, &cfg);
	cr_assert(sy_table_set_relation(&t, relation('d', true), &err));
	tx = begin(&t, 0x4000);
	upd(&t, &tx, "11", "onze", NULL, NULL);
	upd(&t, &tx, "5", "cinq", NULL, NULL);
	upd(&t, &tx, "4", "quatre", NULL, NULL);
	del(&t, &tx, "3");
	ins(&t, &tx, "2", "deux", NULL, NULL);
	ins(&t, &tx, "6", "six", NULL, NULL);
	commit(&t);
	char *d = dump();
	cr_assert_str_eq(d, "11 onze - -\n2 deux - -\n4 quatre - -\n5 cinq - -\n6 six - -\n");
	free(d);
	int64_t v = latest(NULL);
	d = changes(v, v);
	cr_assert_str_eq(d,
					 "v5 delete 3 three #3x -\n"
					 "v5 insert 2 deux - -\n"
					 "v5 insert 6 six - -\n"
					 "v5 update_postimage 11 onze - -\n"
					 "v5 update_postimage 4 quatre - -\n"
					 "v5 update_postimage 5 cinq - -\n"
					 "v5 update_preimage 11 elf - -\n"
					 "v5 update_preimage 4 vier - -\n"
					 "v5 update_preimage 5 fuenf - -\n");
	free(d);
	sy_table_free(&t);
}

Test(symirror, resync_snapshot_replaces_every_row)
{
	sy_table t;
	open_m(&t, NULL);
	lk_error err;
	snapshot(&t, 0x1000, snap3, 3);
	sy_table_free(&t);
	open_m(&t, NULL);
	/* a new slot: the table is snapshotted again */
	t.state = SY_SNAPSHOT;
	t.mirror_resync = true;
	static const char *const rows[][4] = {{"7", "seven", NULL, NULL}};
	snapshot(&t, 0x5000, rows, 1);
	cr_assert_not(t.mirror_resync);
	char *d = dump();
	cr_assert_str_eq(d, "7 seven - -\n");
	free(d);
	cr_assert(sy_table_set_relation(&t, relation('d', true), &err));
	sy_txn tx = begin(&t, 0x6000);
	upd(&t, &tx, "7", "sieben", NULL, NULL);
	commit(&t);
	d = dump();
	cr_assert_str_eq(d, "7 sieben - -\n");
	free(d);
	sy_table_free(&t);
}

Test(symirror, history_fills_toast_from_latest_image_after_restart)
{
	sy_table t;
	lk_error err;
	sy_table_config cfg;
	sy_table_config_init(&cfg);
	cr_assert(try_open(&t, &cfg, SY_TABLE_HISTORY, true, 'd', &err), "%s", err.msg);
	char *b1 = big(9000, 'h');
	const char *const rows[][4] = {{"1", "one", b1, NULL}, {"2", "two", "small", NULL}};
	snapshot(&t, 0x1000, rows, 2);
	cr_assert(sy_table_set_relation(&t, relation('d', true), &err));
	sy_txn tx = begin(&t, 0x2000);
	upd(&t, &tx, "2", "deux", "other", NULL);
	commit(&t);
	sy_table_free(&t);

	/* a new run: the cache is empty; the values come from the history */
	cr_assert(try_open(&t, &cfg, SY_TABLE_HISTORY, true, 'd', &err), "%s", err.msg);
	cr_assert(sy_table_set_relation(&t, relation('d', true), &err));
	tx = begin(&t, 0x3000);
	upd(&t, &tx, "1", "uno", "\x01u", NULL);
	upd(&t, &tx, "2", "dos", "\x01u", NULL);
	upd(&t, &tx, "1", "eins", "\x01u", NULL);
	commit(&t);
	tx = begin(&t, 0x4000);
	updk(&t, &tx, "1", "10", "zehn", "\x01u", NULL);
	commit(&t);
	sy_table_free(&t);
	/* and again after another restart (saved index), a key change */
	cr_assert(try_open(&t, &cfg, SY_TABLE_HISTORY, true, 'd', &err), "%s", err.msg);
	cr_assert(sy_table_set_relation(&t, relation('d', true), &err));
	tx = begin(&t, 0x5000);
	upd(&t, &tx, "10", "ten", "\x01u", NULL);
	tup x;
	pgo_update um = {.relid = 16400};
	um.newtup = *mk(&x, "1", "x", "\x01u", NULL);   /* the old key is gone */
	cr_assert_not(sy_table_update(&t, &tx, &um, &err));
	cr_assert_not_null(strstr(err.msg, "unchanged TOAST value cannot be filled"), "%s", err.msg);
	sy_table_discard(&t);
	t.state = SY_CATCHUP;
	tx = begin(&t, 0x5000);
	upd(&t, &tx, "10", "ten", "\x01u", NULL);
	commit(&t);
	sy_table_free(&t);
	/* a value still to be read when a TRUNCATE empties the index */
	cr_assert(try_open(&t, &cfg, SY_TABLE_HISTORY, true, 'd', &err), "%s", err.msg);
	cr_assert(sy_table_set_relation(&t, relation('d', true), &err));
	tx = begin(&t, 0x6000);
	upd(&t, &tx, "10", "zehn", "\x01u", NULL);
	cr_assert(sy_table_truncate(&t, &tx, &err), "%s", err.msg);
	commit(&t);
	sy_table_free(&t);

	/* read the history back: every post-image has the full value */
	st_store st;
	char dir[400];
	snprintf(dir, sizeof(dir), "%s/public/t_history", tmpdir);
	cr_assert(st_store_open(&st, dir, 0, &err));
	dl_snapshot *s;
	cr_assert(dl_snapshot_open(&st, NULL, &s, &err), "%s", err.msg);
	dl_scan *sc;
	cr_assert(dl_scan_open(s, &sc, &err), "%s", err.msg);
	char **lines = NULL;
	size_t n = 0;
	lk_batch *b;
	for (;;) {
		cr_assert(dl_scan_next(sc, &b, &err), "%s", err.msg);
		if (!b)
			break;
		for (int64_t r = 0; r < b->nrows; r++) {
			char row[400], line[600];
			fmt_row(b, r, row, sizeof(row));
			int64_t tl;
			const uint8_t *tp = lk_column_bytes(&b->cols[4], r, &tl);
			snprintf(line, sizeof(line), "%06" PRIx64 ".%03" PRId64 " %.*s %s",
					 (uint64_t) LK_COL_VALUES(&b->cols[5], int64_t)[r],
					 LK_COL_VALUES(&b->cols[6], int64_t)[r], (int) tl, tp, row);
			lines = realloc(lines, sizeof(char *) * (n + 1));
			lines[n++] = strdup(line);
		}
	}
	dl_scan_free(sc);
	dl_snapshot_free(s);
	st_store_close(&st);
	char *d = join_sorted(lines, n);
	cr_assert_str_eq(d,
					 "000fff.000 insert 1 one #9000h -\n"
					 "000fff.001 insert 2 two #5s -\n"
					 "002000.000 update_postimage 2 deux #5o -\n"
					 "003000.000 update_postimage 1 uno #9000h -\n"
					 "003000.001 update_postimage 2 dos #5o -\n"
					 "003000.002 update_postimage 1 eins #9000h -\n"
					 "004000.000 update_preimage 1 - - -\n"
					 "004000.001 update_postimage 10 zehn #9000h -\n"
					 "005000.000 update_postimage 10 ten #9000h -\n"
					 "006000.000 update_postimage 10 zehn #9000h -\n"
					 "006000.001 truncate - - - -\n");
	free(d);
	free(b1);
}

Test(symirror, config_mode_location_index_memory_maintenance)
{
	static const char text[] =
		"[pipeline.p]\n"
		"source = \"dbname=x\"\n"
		"target = \"/lake\"\n"
		"mode = mirror\n"
		"tables = public.a, public.b\n"
		"index_memory = 256M\n"
		"maintenance = off\n"
		"\n"
		"[pipeline.p.table.public.b]\n"
		"mode = history\n";
	lk_error err;
	sy_config_file *cf = sy_config_parse(text, strlen(text), "t.conf", &err);
	cr_assert_not_null(cf, "%s (%s)", err.msg, err.where);
	const sy_config_pipeline *pl = &cf->pipelines[0];
	cr_assert_eq(pl->index_memory, INT64_C(256) << 20);
	cr_assert_not(pl->maintenance);
	cr_assert_eq(pl->ntables, 2);
	char *la = sy_config_location(cf, pl, &pl->tables[0]);
	char *lb = sy_config_location(cf, pl, &pl->tables[1]);
	cr_assert_str_eq(pl->tables[0].mode, "mirror");
	cr_assert_str_eq(la, "/lake/public/a");
	cr_assert_str_eq(pl->tables[1].mode, "history");
	cr_assert_str_eq(lb, "/lake/public/b_history");
	free(la);
	free(lb);
	sy_config_free(cf);
	/* defaults, and bad values name the section */
	static const char t2[] = "[pipeline.q]\nsource = s\ntarget = /l\ntables = a\n";
	cf = sy_config_parse(t2, strlen(t2), "t.conf", &err);
	cr_assert_not_null(cf, "%s", err.msg);
	cr_assert(cf->pipelines[0].maintenance);
	cr_assert_eq(cf->pipelines[0].index_memory, 0);
	sy_config_free(cf);
	static const char t3[] = "[pipeline.q]\nsource = s\ntarget = /l\ntables = a\n"
							 "maintenance = sometimes\n";
	cr_assert_null(sy_config_parse(t3, strlen(t3), "t.conf", &err));
	cr_assert_not_null(strstr(err.msg, "invalid maintenance \"sometimes\" in [pipeline.q]"),
					   "%s", err.msg);
	static const char t4[] = "[pipeline.q]\nsource = s\ntarget = /l\ntables = a\n"
							 "index_memory = 10k\n";
	cr_assert_null(sy_config_parse(t4, strlen(t4), "t.conf", &err));
	cr_assert_not_null(strstr(err.msg, "invalid index_memory"), "%s", err.msg);
}

/* ---- pre-images: reading only some rows of a row group ------------------- */

#include "parquet/parquet.h"

/* pq_reader_read_row_group_rows (what a commit's pre-image fetch uses)
 * returns exactly the rows a whole read has at those positions: small
 * pages (many skipped undecompressed), nulls, dictionary and PLAIN pages,
 * data page v1 and v2, and a nested column (decoded whole). */
Test(symirror, read_only_some_rows_of_a_row_group)
{
	for (int v = 1; v <= 2; v++) {
		lk_arena a;
		lk_arena_init(&a, 0);
		lk_type *s = lk_type_struct(&a, 4);
		const char *names[] = {"id", "s", "k", "l"};
		for (int i = 0; i < 4; i++) {
			s->children[i].name = names[i];
			s->children[i].nullable = i > 0;
			s->children[i].field_id = -1;
		}
		s->children[0].type = lk_type_new(&a, LK_T_LONG);
		s->children[1].type = lk_type_new(&a, LK_T_STRING);
		s->children[2].type = lk_type_new(&a, LK_T_INT);
		s->children[3].type = lk_type_array(&a, lk_type_new(&a, LK_T_INT), true);
		const int64_t N = 5000;
		lk_batch *b = lk_batch_new(s);
		char buf[64];
		for (int64_t r = 0; r < N; r++) {
			lk_column_append_i64(&b->cols[0], r * 3);
			if (r % 11 == 5) {
				lk_column_append_null(&b->cols[1]);
			} else {
				int n = snprintf(buf, sizeof(buf), "value %" PRId64 " %s", r,
								 r % 2 ? "odd" : "even and longer");
				lk_column_append_bytes(&b->cols[1], buf, n);
			}
			if (r % 13 == 0)
				lk_column_append_null(&b->cols[2]);
			else
				lk_column_append_i32(&b->cols[2], (int32_t) (r % 7));
			for (int64_t e = 0; e < r % 3; e++)
				lk_column_append_i32(&b->cols[3].children[0], (int32_t) (r + e));
			lk_column_append_list(&b->cols[3]);
		}
		b->nrows = N;
		char path[512];
		snprintf(path, sizeof(path), "%s/sel%d.parquet", tmpdir, v);
		pq_writer_options o;
		pq_writer_options_init(&o);
		o.page_bytes = 2048;            /* dozens of pages per column */
		o.data_page_version = v;
		o.row_group_rows = 3000;        /* two row groups */
		lk_error err;
		pq_output out;
		cr_assert(pq_output_open_file(&out, path, &err), "%s", err.msg);
		pq_writer *w = pq_writer_open(&out, s, &o, &err);
		cr_assert_not_null(w, "%s", err.msg);
		cr_assert(pq_writer_write(w, b, &err), "%s", err.msg);
		cr_assert(pq_writer_close(w, false, NULL, &err), "%s", err.msg);
		pq_writer_free(w);

		pq_input in;
		cr_assert(pq_input_open_file(&in, path, &err), "%s", err.msg);
		pq_reader *rd = pq_reader_open(&in, &err);
		cr_assert_not_null(rd, "%s", err.msg);
		cr_assert_eq(pq_reader_num_row_groups(rd), 2);
		lk_batch *whole = lk_batch_new(pq_reader_output_schema(rd));
		lk_batch *some = lk_batch_new(pq_reader_output_schema(rd));
		int64_t *rows = malloc(sizeof(int64_t) * 3000);
		int64_t base = 0;
		for (int rg = 0; rg < 2; rg++) {
			int64_t rgn = pq_reader_row_group_rows(rd, rg);
			cr_assert_eq(rgn, rg == 0 ? 3000 : 2000);
			cr_assert(pq_reader_read_row_group(rd, rg, whole, &err), "%s", err.msg);
			/* a sparse pick (most pages skipped), a run, the first and the
			 * last row; then none; then every row */
			for (int pick = 0; pick < 3; pick++) {
				int64_t n = 0;
				if (pick == 0) {
					rows[n++] = 0;
					for (int64_t r = 7; r < rgn - 1; r += 401)
						rows[n++] = r;
					for (int64_t r = 1200; r < 1210; r++)
						rows[n++] = r;
					rows[n++] = rgn - 1;
					/* keep them ascending */
					for (int64_t i = 1; i < n; i++)
						for (int64_t j = i; j > 0 && rows[j - 1] > rows[j]; j--) {
							int64_t t = rows[j];
							rows[j] = rows[j - 1];
							rows[j - 1] = t;
						}
					int64_t u = 0;
					for (int64_t i = 0; i < n; i++)
						if (u == 0 || rows[u - 1] != rows[i])
							rows[u++] = rows[i];
					n = u;
				} else if (pick == 2) {
					for (int64_t r = 0; r < rgn; r++)
						rows[n++] = r;
				}
				cr_assert(pq_reader_read_row_group_rows(rd, rg, rows, n, some, &err), "%s",
						  err.msg);
				cr_assert_eq(some->nrows, n);
				for (int64_t i = 0; i < n; i++) {
					for (int c = 0; c < 4; c++)
						cr_assert(lk_column_row_equal(&some->cols[c], i, &whole->cols[c],
													  rows[i]),
								  "v%d rg %d row %" PRId64 " column %s", v, rg, rows[i],
								  names[c]);
					cr_assert_eq(LK_COL_VALUES(&some->cols[0], int64_t)[i],
								 (base + rows[i]) * 3);
				}
			}
			base += rgn;
		}
		/* rows out of order or range are refused */
		int64_t bad[] = {5, 5};
		cr_assert_not(pq_reader_read_row_group_rows(rd, 0, bad, 2, some, &err));
		int64_t past[] = {3000};
		cr_assert_not(pq_reader_read_row_group_rows(rd, 0, past, 1, some, &err));
		free(rows);
		lk_batch_free(whole);
		lk_batch_free(some);
		pq_reader_free(rd);
		lk_batch_free(b);
		lk_arena_free(&a);
	}
}
