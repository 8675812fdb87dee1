/*
 * test_pgconn.c — pg/conn, pg/replication, pg/copyout.
 *
 * The pure functions (DSN redaction, version check, table names, slot
 * names, START_REPLICATION quoting, COPY text decoding, ctid ranges, LSN
 * text) are tested always.  The "pgint" tests need a server: they run only
 * when LAKESYNC_TEST_DSN is set (tests/integration/pg_replication.sh starts
 * a throwaway cluster and sets it) and are skipped otherwise.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"
#include "pg/conn.h"
#include "pg/copyout.h"
#include "pg/pgoutput.h"
#include "pg/replication.h"

#define OK(expr)                                                           \
	do {                                                                   \
		lk_error_clear(&err);                                              \
		bool ok_ = (expr);                                                 \
		char b_[1200];                                                     \
		cr_assert(ok_, "%s failed: %s", #expr,                             \
				  lk_error_str(&err, b_, sizeof(b_)));                     \
	} while (0)

/* ---- DSN redaction ------------------------------------------------------ */

static void
check_redact(const char *dsn, const char *want)
{
	char *got = pgc_dsn_redact(dsn);
	cr_assert_str_eq(got, want, "redact(%s)", dsn);
	free(got);
}

Test(redact, keyword_value)
{
	check_redact("host=db.example port=5432 password=s3cret user=me",
				 "host=db.example port=5432 password=******** user=me");
	check_redact("password='two words' dbname=x",
				 "password=******** dbname=x");
	check_redact("password='it\\'s \\\\ q' dbname=x",
				 "password=******** dbname=x");
	check_redact("password = spaced  host=h", "password = ********  host=h");
	check_redact("dbname=x password=a\\ b", "dbname=x password=********");
	check_redact("passfile=/p/.pgpass host=h", "passfile=/p/.pgpass host=h");
	check_redact("password=", "password=********");
	check_redact("mydb", "mydb");
	check_redact("", "");
	check_redact(NULL, "");
	/* unterminated quote: everything after password= is masked */
	check_redact("host=h password='abc def", "host=h password=********");
}

Test(redact, uri)
{
	check_redact("postgresql://me:s3cret@db.example:5432/app",
				 "postgresql://me:********@db.example:5432/app");
	check_redact("postgres://me:p%40ss@h1,h2/app?sslmode=require",
				 "postgres://me:********@h1,h2/app?sslmode=require");
	check_redact("postgresql://me@h/app?sslmode=require&password=x&user=u",
				 "postgresql://me@h/app?sslmode=require&password=********&user=u");
	check_redact("postgresql://:pw@h", "postgresql://:********@h");
	check_redact("postgresql://h/db?password=", "postgresql://h/db?password=********");
	check_redact("postgresql://h/db", "postgresql://h/db");
	check_redact("postgresql://", "postgresql://");
	/* an '@' after the path is not user info */
	check_redact("postgresql://h/db@x", "postgresql://h/db@x");
}

Test(redact, connect_errors_never_show_the_password)
{
	lk_error err;
	lk_error_clear(&err);
	/* port 1 on loopback: refused at once */
	pgc_conn *c = pgc_connect("host=127.0.0.1 port=1 connect_timeout=2 "
							  "password=TopSecret42 dbname=x", false, &err);
	cr_assert_null(c);
	cr_assert_eq(err.code, LK_ERR_IO);
	cr_assert_null(strstr(err.msg, "TopSecret42"), "msg=%s", err.msg);
	cr_assert_null(strstr(err.where, "TopSecret42"), "where=%s", err.where);
	cr_assert_not_null(strstr(err.where, "password=********"), "where=%s", err.where);
	cr_assert_not_null(strstr(err.msg, "could not connect"), "msg=%s", err.msg);

	lk_error_clear(&err);
	c = pgc_connect("postgresql://u:TopSecret42@127.0.0.1:1/x?connect_timeout=2",
					true, &err);
	cr_assert_null(c);
	cr_assert_eq(err.code, LK_ERR_IO);
	cr_assert_null(strstr(err.msg, "TopSecret42"), "msg=%s", err.msg);
	cr_assert_null(strstr(err.where, "TopSecret42"), "where=%s", err.where);
	cr_assert_not_null(strstr(err.msg, "for replication"), "msg=%s", err.msg);
}

/* ---- versions, names ---------------------------------------------------- */

Test(conn, server_version)
{
	lk_error err;
	lk_error_clear(&err);
	cr_assert(pgc_check_server_version(140000, &err));
	cr_assert(pgc_check_server_version(170002, &err));
	cr_assert_not(pgc_check_server_version(130012, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert_str_eq(err.msg, "PostgreSQL 13.12 is not supported: lakesync needs "
							  "PostgreSQL 14 or later");
	cr_assert_not(pgc_check_server_version(90624, &err));
	cr_assert_str_eq(err.msg, "PostgreSQL 9.6.24 is not supported: lakesync needs "
							  "PostgreSQL 14 or later");
	cr_assert_not(pgc_check_server_version(0, &err));
}

static void
check_name(const char *text, const char *schema, const char *name)
{
	lk_arena a;
	lk_error err;
	pgc_table_name t;
	lk_arena_init(&a, 0);
	OK(pgc_table_name_parse(text, &a, &t, &err));
	cr_assert_str_eq(t.schema, schema, "%s", text);
	cr_assert_str_eq(t.name, name, "%s", text);
	lk_arena_free(&a);
}

static void
check_bad_name(const char *text)
{
	lk_arena a;
	lk_error err;
	pgc_table_name t;
	lk_arena_init(&a, 0);
	lk_error_clear(&err);
	cr_assert_not(pgc_table_name_parse(text, &a, &t, &err), "%s", text);
	cr_assert_eq(err.code, LK_ERR_INVALID, "%s", text);
	lk_arena_free(&a);
}

Test(conn, table_names)
{
	check_name("public.orders", "public", "orders");
	check_name("Sales.Orders", "sales", "orders");
	check_name("orders", "public", "orders");
	check_name("\"Sales\".\"Order Lines\"", "Sales", "Order Lines");
	check_name("\"a.b\".\"c\"\"d\"", "a.b", "c\"d");
	check_name("s.\"T\"", "s", "T");
	check_name("\"x\"", "public", "x");
	check_bad_name("");
	check_bad_name("a.b.c");
	check_bad_name("a.");
	check_bad_name(".b");
	check_bad_name("\"unterminated");
	check_bad_name("\"\".t");
	check_bad_name("has space.t");
	check_bad_name("\"q\"x.t");
	check_bad_name("s.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	check_name("s.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "s",
			   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
}

Test(replication, slot_names)
{
	lk_error err;
	lk_error_clear(&err);
	cr_assert(pgr_slot_name_check("lakesync_main_01", &err));
	cr_assert_not(pgr_slot_name_check("Lakesync", &err));
	cr_assert_not(pgr_slot_name_check("a-b", &err));
	cr_assert_not(pgr_slot_name_check("", &err));
	cr_assert_not(pgr_slot_name_check(NULL, &err));
	char long_name[65];
	memset(long_name, 'a', 64);
	long_name[64] = '\0';
	cr_assert_not(pgr_slot_name_check(long_name, &err));
	long_name[63] = '\0';
	cr_assert(pgr_slot_name_check(long_name, &err));
}

/* ---- START_REPLICATION ---------------------------------------------- */

static char *
start_cmd(const char *slot, uint64_t lsn, const pgr_start_opts *o, int version,
		  lk_error *err)
{
	lk_buf b = LK_BUF_INIT;
	if (!pgr_build_start_command(&b, slot, lsn, o, version, err)) {
		lk_buf_free(&b);
		return NULL;
	}
	return (char *) lk_buf_detach(&b, NULL);
}

Test(replication, start_command_quoting)
{
	lk_error err;
	const char *pubs[] = {"lakesync", "We\"ird", "it's,x"};
	pgr_start_opts o = {.publications = pubs, .npublications = 1,
						.streaming = true, .messages = true};
	char *s = start_cmd("lakesync", UINT64_C(0x16B3748), &o, 150004, &err);
	cr_assert_not_null(s);
	cr_assert_str_eq(s, "START_REPLICATION SLOT \"lakesync\" LOGICAL 0/16B3748 "
						"(proto_version '2', publication_names '\"lakesync\"', "
						"streaming 'on', messages 'true')");
	free(s);

	o.npublications = 3;
	o.messages = false;
	s = start_cmd("s1", UINT64_C(0x1A00000010), &o, 160001, &err);
	cr_assert_not_null(s);
	cr_assert_str_eq(s, "START_REPLICATION SLOT \"s1\" LOGICAL 1A/10 "
						"(proto_version '4', publication_names "
						"'\"lakesync\",\"We\"\"ird\",\"it''s,x\"', streaming 'on')");
	free(s);

	o.npublications = 1;
	o.streaming = false;
	o.proto_version = 1;
	s = start_cmd("s1", 0, &o, 140000, &err);
	cr_assert_str_eq(s, "START_REPLICATION SLOT \"s1\" LOGICAL 0/0 "
						"(proto_version '1', publication_names '\"lakesync\"')");
	free(s);

	/* proto 3 needs 15, 4 needs 16; streaming needs 2 */
	o.proto_version = 3;
	lk_error_clear(&err);
	cr_assert_null(start_cmd("s1", 0, &o, 140010, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	o.proto_version = 1;
	o.streaming = true;
	cr_assert_null(start_cmd("s1", 0, &o, 150000, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	o.proto_version = 0;
	o.npublications = 0;
	cr_assert_null(start_cmd("s1", 0, &o, 150000, &err));
	cr_assert_null(start_cmd("Bad-Slot", 0, &o, 150000, &err));
}

/* LSN text comes from pg/pgoutput (pgo_lsn_*); replication relies on the
 * exact forms below. */
Test(replication, lsn_text)
{
	char buf[18];
	uint64_t v = 1;
	cr_assert_str_eq(pgo_lsn_format(0, buf), "0/0");
	cr_assert_str_eq(pgo_lsn_format(UINT64_C(0x16B3748), buf), "0/16B3748");
	cr_assert_str_eq(pgo_lsn_format(UINT64_MAX, buf), "FFFFFFFF/FFFFFFFF");
	cr_assert(pgo_lsn_parse("16/B374D848", &v));
	cr_assert_eq(v, UINT64_C(0x16B374D848));
	cr_assert(pgo_lsn_parse("ffffffff/ffffffff", &v));
	cr_assert_eq(v, UINT64_MAX);
	v = 7;
	cr_assert_not(pgo_lsn_parse("", &v));
	cr_assert_not(pgo_lsn_parse("0/", &v));
	cr_assert_not(pgo_lsn_parse("/1", &v));
	cr_assert_not(pgo_lsn_parse("1/2/3", &v));
	cr_assert_not(pgo_lsn_parse("100000000/0", &v));
	cr_assert_not(pgo_lsn_parse("0/1 ", &v));
	cr_assert_not(pgo_lsn_parse("g/1", &v));
	cr_assert_eq(v, 7);
}

/* ---- COPY text ---------------------------------------------------------- */

/* Parse text (copied into a buffer with the extra byte libpq gives). */
static bool
parse(const char *text, size_t len, pgcopy_field *f, int n, char **keep,
	  lk_error *err)
{
	char *buf = malloc(len + 1);
	memcpy(buf, text, len);
	buf[len] = '\0';
	*keep = buf;
	return pgcopy_parse_row(buf, len, f, n, err);
}

#define FIELD_EQ(f, bytes)                                                     \
	do {                                                                       \
		cr_assert_not((f).is_null);                                            \
		cr_assert_eq((f).len, sizeof(bytes) - 1, "len %zu", (f).len);          \
		cr_assert_eq(memcmp((f).ptr, bytes, sizeof(bytes) - 1), 0);            \
		cr_assert_eq((f).ptr[(f).len], '\0');                                  \
	} while (0)

Test(copytext, plain_rows_and_nulls)
{
	lk_error err;
	pgcopy_field f[4];
	char *buf;
	const char row[] = "1\thello\t\\N\t\n";
	OK(parse(row, sizeof(row) - 1, f, 4, &buf, &err));
	FIELD_EQ(f[0], "1");
	FIELD_EQ(f[1], "hello");
	cr_assert(f[2].is_null);
	cr_assert_eq(f[2].len, 0);
	FIELD_EQ(f[3], "");               /* empty string is not NULL */
	free(buf);

	/* no trailing newline; UTF-8 and control bytes are raw */
	const char row2[] = "\xc3\xa9t\xc3\xa9\x01\t\x7f";
	OK(parse(row2, sizeof(row2) - 1, f, 2, &buf, &err));
	FIELD_EQ(f[0], "\xc3\xa9t\xc3\xa9\x01");
	FIELD_EQ(f[1], "\x7f");
	free(buf);

	const char row3[] = "\n";         /* one empty field */
	OK(parse(row3, 1, f, 1, &buf, &err));
	FIELD_EQ(f[0], "");
	free(buf);
	OK(parse(row3, 1, f, 0, &buf, &err)); /* SELECT with no column */
	free(buf);
}

Test(copytext, escapes)
{
	lk_error err;
	pgcopy_field f[8];
	char *buf;
	/* \b \f \n \r \t \v \\ ; \N alone is NULL, \\N is the text \N,
	 * a\Nb is aNb; any other escaped char is itself */
	const char row[] = "\\b\\f\\n\\r\\t\\v\\\\\t\\N\t\\\\N\ta\\Nb\t\\.\\q\\\t\t\tx\n";
	OK(parse(row, sizeof(row) - 1, f, 7, &buf, &err));
	FIELD_EQ(f[0], "\b\f\n\r\t\v\\");
	cr_assert(f[1].is_null);
	FIELD_EQ(f[2], "\\N");
	FIELD_EQ(f[3], "aNb");
	FIELD_EQ(f[4], ".q\t");           /* escaped tab is data, not a delimiter */
	FIELD_EQ(f[5], "");
	FIELD_EQ(f[6], "x");
	free(buf);

	/* octal: 1 to 3 digits, 8 ends a number, values wrap at 0377 */
	const char oct[] = "\\101\\1018\\18\\7\\477\\3770\n";
	OK(parse(oct, sizeof(oct) - 1, f, 1, &buf, &err));
	FIELD_EQ(f[0], "AA8\x01" "8\x07\x3f\xff" "0");
	free(buf);

	/* hex: 1 or 2 digits; \x without a digit is x */
	const char hex[] = "\\x41\\x4\\x4g\\xg\\xFFf\\x7e\n";
	OK(parse(hex, sizeof(hex) - 1, f, 1, &buf, &err));
	FIELD_EQ(f[0], "A\x04\x04gxg\xff" "f~");
	free(buf);

	/* a backslash-escaped backslash before a tab delimiter */
	const char bs[] = "a\\\\\tb\n";
	OK(parse(bs, sizeof(bs) - 1, f, 2, &buf, &err));
	FIELD_EQ(f[0], "a\\");
	FIELD_EQ(f[1], "b");
	free(buf);
}

Test(copytext, malformed_rows)
{
	lk_error err;
	pgcopy_field f[3];
	char *buf;

	lk_error_clear(&err);
	cr_assert_not(parse("a\tb\tc\n", 6, f, 2, &buf, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert_str_eq(err.msg, "copy row has more fields than the 2 expected");
	cr_assert_str_eq(err.where, "column 3");
	free(buf);

	lk_error_clear(&err);
	cr_assert_not(parse("a\\tb\n", 5, f, 2, &buf, &err));
	cr_assert_str_eq(err.msg, "copy row has fewer fields than the 2 expected");
	free(buf);

	lk_error_clear(&err);
	cr_assert_not(parse("a\tb\\", 4, f, 2, &buf, &err));
	cr_assert_str_eq(err.msg, "copy row ends in a lone backslash");
	cr_assert_str_eq(err.where, "column 2");
	free(buf);

	const char *nuls[] = {"x\\0\n", "x\\000\n", "x\\x00\n", "x\\400\n", "x\\x0\n"};
	for (size_t i = 0; i < 5; i++) {
		lk_error_clear(&err);
		cr_assert_not(parse(nuls[i], strlen(nuls[i]), f, 1, &buf, &err), "%s", nuls[i]);
		cr_assert_str_eq(err.msg, "copy field decodes to a NUL byte");
		free(buf);
	}

	lk_error_clear(&err);
	cr_assert_not(parse("x\n", 2, f, 0, &buf, &err));
	free(buf);
}

Test(copytext, split_ranges)
{
	pgcopy_range r[8];
	cr_assert_eq(pgcopy_split(10, 3, r), 3);
	cr_assert_eq(r[0].first_block, 0);
	cr_assert_eq(r[0].end_block, 4);
	cr_assert_eq(r[1].first_block, 4);
	cr_assert_eq(r[1].end_block, 7);
	cr_assert_eq(r[2].first_block, 7);
	cr_assert_eq(r[2].end_block, 0);      /* open-ended */
	cr_assert_eq(pgcopy_split(0, 4, r), 1);
	cr_assert_eq(r[0].first_block, 0);
	cr_assert_eq(r[0].end_block, 0);
	cr_assert_eq(pgcopy_split(2, 8, r), 2);
	cr_assert_eq(r[1].first_block, 1);
	cr_assert_eq(r[1].end_block, 0);
	cr_assert_eq(pgcopy_split(5, 0, r), 1);
	cr_assert_eq(r[0].end_block, 0);
}

/* ====================================================================== */
/* Against a server: LAKESYNC_TEST_DSN                                     */
/* ====================================================================== */

static const char *
test_dsn(void)
{
	const char *d = getenv("LAKESYNC_TEST_DSN");
	return d && *d ? d : NULL;
}

#define NEED_DSN()                                                          \
	const char *dsn = test_dsn();                                           \
	if (!dsn)                                                               \
		cr_skip_test("LAKESYNC_TEST_DSN not set");

static void
exec_ok(pgc_conn *c, const char *sql)
{
	lk_error err;
	OK(pgc_exec(c, sql, &err));
}

/* First value of a one-row query, copied into out. */
static void
value_of(pgc_conn *c, const char *sql, char *out, size_t n)
{
	lk_error err;
	lk_error_clear(&err);
	PGresult *r = pgc_query(c, sql, &err);
	char b[1200];
	cr_assert_not_null(r, "%s: %s", sql, lk_error_str(&err, b, sizeof(b)));
	cr_assert_eq(PQntuples(r), 1, "%s", sql);
	snprintf(out, n, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
}

static pgc_conn *
connect_ok(const char *dsn, bool replication)
{
	lk_error err;
	lk_error_clear(&err);
	pgc_conn *c = pgc_connect(dsn, replication, &err);
	char b[1200];
	cr_assert_not_null(c, "connect: %s", lk_error_str(&err, b, sizeof(b)));
	return c;
}

static void
check_settings(pgc_conn *c)
{
	char v[256];
	value_of(c, "SELECT concat_ws('|', current_setting('DateStyle'), "
				"current_setting('TimeZone'), current_setting('IntervalStyle'), "
				"current_setting('extra_float_digits'), "
				"current_setting('bytea_output'), "
				"current_setting('client_encoding'), "
				"current_setting('application_name'))",
			 v, sizeof(v));
	cr_assert_str_eq(v, "ISO, MDY|UTC|iso_8601|3|hex|UTF8|lakesync");
	value_of(c, "SELECT '2024-01-02 03:04:05.5+02'::timestamptz::text || ' ' || "
				"'1 day 2 hours'::interval || ' ' || 0.1::float8 || ' ' || "
				"'\\x0aff'::bytea",
			 v, sizeof(v));
	cr_assert_str_eq(v, "2024-01-02 01:04:05.5+00 P1DT2H 0.1 \\x0aff");
}

Test(pgint, session_settings_quoting_and_errors)
{
	NEED_DSN();
	lk_error err;
	lk_arena a;
	char v[256];
	lk_arena_init(&a, 0);

	pgc_conn *c = connect_ok(dsn, false);
	cr_assert_geq(c->server_version, 140000);
	check_settings(c);
	pgc_conn *rc = connect_ok(dsn, true);
	cr_assert(rc->replication);
	check_settings(rc);          /* the walsender runs the output functions */

	/* quoting round trips through the server */
	const char *weird = "it's a \\ \"test\" \xc3\xa9";
	char *lit = pgc_quote_literal(c, &a, weird, &err);
	cr_assert_not_null(lit);
	value_of(c, lk_arena_sprintf(&a, "SELECT %s", lit), v, sizeof(v));
	cr_assert_str_eq(v, weird);
	char *id = pgc_quote_ident(c, &a, "We\"ird Name", &err);
	cr_assert_str_eq(id, "\"We\"\"ird Name\"");
	value_of(c, lk_arena_sprintf(&a, "SELECT 1 AS %s", id), v, sizeof(v));
	exec_ok(c, lk_arena_sprintf(&a, "CREATE TEMP TABLE %s (x int)", id));
	value_of(c, "SELECT relname FROM pg_class WHERE relname LIKE 'We%'", v, sizeof(v));
	cr_assert_str_eq(v, "We\"ird Name");

	/* server errors: message, SQLSTATE, detail */
	lk_error_clear(&err);
	cr_assert_not(pgc_exec(c, "SELEC 1", &err));
	cr_assert_eq(err.code, LK_ERR_PG);
	cr_assert_str_eq(c->sqlstate, "42601");
	cr_assert_str_eq(err.where, "sqlstate 42601");
	cr_assert_not_null(strstr(err.msg, "could not run \"SELEC 1\": syntax error"),
					   "msg=%s", err.msg);
	exec_ok(c, "CREATE TEMP TABLE uniq (x int PRIMARY KEY)");
	exec_ok(c, "INSERT INTO uniq VALUES (1)");
	lk_error_clear(&err);
	cr_assert_not(pgc_exec(c, "INSERT INTO uniq VALUES (1)", &err));
	cr_assert_str_eq(c->sqlstate, "23505");
	cr_assert_not_null(strstr(err.msg, "(detail: Key (x)=(1) already exists.)"),
					   "msg=%s", err.msg);
	cr_assert_null(pgc_query(c, "CREATE TEMP TABLE q (x int)", &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);

	/* a terminated backend is a lost connection (LK_ERR_IO) */
	pgc_conn *victim = connect_ok(dsn, false);
	exec_ok(c, lk_arena_sprintf(&a, "SELECT pg_terminate_backend(%d)",
								PQbackendPID(victim->pg)));
	usleep(100000);
	lk_error_clear(&err);
	cr_assert_not(pgc_exec(victim, "SELECT 1", &err));
	cr_assert_eq(err.code, LK_ERR_IO, "code %d msg %s", err.code, err.msg);
	cr_assert(pgc_is_broken(victim));
	pgc_close(victim);

	pgc_close(rc);
	pgc_close(c);
	lk_arena_free(&a);
}

Test(pgint, prerequisites_tables_columns_publication)
{
	NEED_DSN();
	lk_error err;
	lk_arena a;
	lk_arena_init(&a, 0);
	pgc_conn *c = connect_ok(dsn, false);

	exec_ok(c, "DROP TABLE IF EXISTS lkp_cols, lkp_nopk, lkp_full, \"LkpMixed\"; "
			   "DROP VIEW IF EXISTS lkp_view; "
			   "DROP DOMAIN IF EXISTS lkp_price, lkp_posint, lkp_posint2; "
			   "DROP TYPE IF EXISTS lkp_mood; "
			   "DROP PUBLICATION IF EXISTS lkp_pub");
	exec_ok(c, "CREATE TYPE lkp_mood AS ENUM ('sad', 'happy'); "
			   "CREATE DOMAIN lkp_price AS numeric(12,2); "
			   "CREATE DOMAIN lkp_posint AS integer CHECK (VALUE > 0); "
			   "CREATE DOMAIN lkp_posint2 AS lkp_posint; "
			   "CREATE TABLE lkp_cols (a int, b text NOT NULL, gone int, "
			   "  c lkp_price, d lkp_posint[], e numeric(10,3)[], f lkp_mood, "
			   "  g int[][], h varchar(20), i lkp_posint2, "
			   "  j int GENERATED ALWAYS AS (a * 2) STORED, PRIMARY KEY (b, a)); "
			   "ALTER TABLE lkp_cols DROP COLUMN gone; "
			   "CREATE TABLE lkp_nopk (x int); "
			   "CREATE TABLE lkp_full (x int); "
			   "ALTER TABLE lkp_full REPLICA IDENTITY FULL; "
			   "CREATE TABLE \"LkpMixed\" (id int PRIMARY KEY); "
			   "CREATE VIEW lkp_view AS SELECT 1 AS x");

	OK(pgc_check_replication(c, 1, &err));
	pgc_conn *rc = connect_ok(dsn, true);
	OK(pgc_check_replication(rc, 0, &err));   /* also over a walsender */
	pgc_close(rc);

	/* an impossible need is reported with the setting to change */
	lk_error_clear(&err);
	cr_assert_not(pgc_check_replication(c, 100000, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert_not_null(strstr(err.msg, "no free replication slot"), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "raise max_replication_slots"), "%s", err.msg);

	/* a role without REPLICATION: only when the DSN takes key=value */
	if (strncmp(dsn, "postgres", 8) != 0) {
		exec_ok(c, "DROP ROLE IF EXISTS lkp_plain; CREATE ROLE lkp_plain LOGIN");
		pgc_conn *pc = connect_ok(lk_arena_sprintf(&a, "%s user=lkp_plain", dsn), false);
		lk_error_clear(&err);
		cr_assert_not(pgc_check_replication(pc, 1, &err));
		cr_assert_not_null(strstr(err.msg, "role \"lkp_plain\" has neither "
										   "REPLICATION nor superuser: ALTER ROLE "
										   "\"lkp_plain\" REPLICATION"),
						   "%s", err.msg);
		cr_assert_null(strstr(err.msg, "wal_level"), "%s", err.msg);
		pgc_close(pc);
		exec_ok(c, "DROP ROLE lkp_plain");
	}

	pgc_table_name t[4];
	pgc_table_info info[4];
	OK(pgc_table_name_parse("lkp_cols", &a, &t[0], &err));
	OK(pgc_table_name_parse("public.lkp_nopk", &a, &t[1], &err));
	OK(pgc_table_name_parse("lkp_full", &a, &t[2], &err));
	OK(pgc_table_name_parse("\"LkpMixed\"", &a, &t[3], &err));
	OK(pgc_check_tables(c, t, 4, info, &err));
	cr_assert(info[0].has_pk && info[0].has_identity);
	cr_assert_eq(info[0].relkind, 'r');
	cr_assert_eq(info[0].replident, 'd');
	cr_assert_not(info[1].has_pk);
	cr_assert_not(info[1].has_identity);
	cr_assert_not(info[2].has_pk);
	cr_assert(info[2].has_identity);
	cr_assert_eq(info[2].replident, 'f');
	cr_assert(info[3].has_pk);

	pgc_table_name bad[3];
	OK(pgc_table_name_parse("public.lkp_nope", &a, &bad[0], &err));
	bad[1] = t[0];
	OK(pgc_table_name_parse("lkpmixed", &a, &bad[2], &err)); /* case matters */
	lk_error_clear(&err);
	cr_assert_not(pgc_check_tables(c, bad, 3, info, &err));
	cr_assert_eq(err.code, LK_ERR_NOT_FOUND);
	cr_assert_str_eq(err.msg, "tables \"public.lkp_nope\", \"public.lkpmixed\" "
							  "do not exist");
	lk_error_clear(&err);
	cr_assert_not(pgc_check_tables(c, bad, 1, info, &err));
	cr_assert_str_eq(err.msg, "table \"public.lkp_nope\" does not exist");
	OK(pgc_table_name_parse("lkp_view", &a, &bad[0], &err));
	lk_error_clear(&err);
	cr_assert_not(pgc_check_tables(c, bad, 1, info, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert_str_eq(err.msg, "\"public.lkp_view\" is a view: only tables can be "
							  "replicated");

	/* columns */
	pgc_table_def def;
	OK(pgc_table_columns(c, &t[0], &a, &def, &err));
	cr_assert_eq(def.ncols, 10);
	cr_assert_eq(def.npk, 2);
	const pgc_column *col = def.cols;
	char v[64];
	value_of(c, "SELECT 'lkp_price'::regtype::oid", v, sizeof(v));
	uint32_t price_oid = (uint32_t) atol(v);
	value_of(c, "SELECT 'lkp_mood'::regtype::oid", v, sizeof(v));
	uint32_t mood_oid = (uint32_t) atol(v);

	cr_assert_str_eq(col[0].name, "a");
	cr_assert_eq(col[0].attnum, 1);
	cr_assert_eq(col[0].type_oid, 23);
	cr_assert_eq(col[0].pk_pos, 2);
	cr_assert(col[0].not_null);      /* PK implies NOT NULL */
	cr_assert_str_eq(col[1].name, "b");
	cr_assert_eq(col[1].pk_pos, 1);
	cr_assert_eq(col[1].base_oid, 25);
	/* c: domain over numeric(12,2) */
	cr_assert_str_eq(col[2].name, "c");
	cr_assert_eq(col[2].attnum, 4);  /* after the dropped column */
	cr_assert_eq(col[2].type_oid, price_oid);
	cr_assert_eq(col[2].typtype, 'd');
	cr_assert_str_eq(col[2].type_name, "lkp_price");
	cr_assert_eq(col[2].typmod, -1);
	cr_assert_eq(col[2].base_oid, 1700);
	cr_assert_str_eq(col[2].base_name, "numeric");
	cr_assert_eq(col[2].base_typmod, ((12 << 16) | 2) + 4);
	cr_assert_not(col[2].is_pk);
	cr_assert_not(col[2].not_null);
	/* d: array of a domain */
	cr_assert_str_eq(col[3].type_name, "_lkp_posint");
	cr_assert_eq(col[3].base_category, 'A');
	cr_assert_eq(col[3].elem_oid, 23);
	cr_assert_str_eq(col[3].elem_name, "int4");
	cr_assert_eq(col[3].ndims, 1);
	/* e: numeric(10,3)[] */
	cr_assert_eq(col[4].type_oid, 1231);
	cr_assert_eq(col[4].elem_oid, 1700);
	cr_assert_eq(col[4].base_typmod, ((10 << 16) | 3) + 4);
	/* f: enum */
	cr_assert_eq(col[5].type_oid, mood_oid);
	cr_assert_eq(col[5].typtype, 'e');
	cr_assert_eq(col[5].base_typtype, 'e');
	cr_assert_eq(col[5].elem_oid, 0);
	/* g: int[][] */
	cr_assert_eq(col[6].type_oid, 1007);
	cr_assert_eq(col[6].elem_oid, 23);
	cr_assert_eq(col[6].ndims, 2);
	/* h: varchar(20) */
	cr_assert_eq(col[7].type_oid, 1043);
	cr_assert_eq(col[7].typmod, 24);
	cr_assert_eq(col[7].base_typmod, 24);
	/* i: domain over a domain */
	cr_assert_eq(col[8].typtype, 'd');
	cr_assert_eq(col[8].base_oid, 23);
	cr_assert_eq(col[8].generated, '\0');
	/* j: generated */
	cr_assert_eq(col[9].generated, 's');
	lk_error_clear(&err);
	cr_assert_not(pgc_table_columns(c, &bad[0], &a, &def, &err)); /* a view */

	/* publication: create, then add what is missing, then nothing */
	bool created = false;
	OK(pgc_publication_ensure(c, "lkp_pub", t, 1, &created, &err));
	cr_assert(created);
	OK(pgc_publication_ensure(c, "lkp_pub", t, 4, &created, &err));
	cr_assert_not(created);
	value_of(c, "SELECT string_agg(schemaname || '.' || tablename, ',' ORDER BY "
				"tablename) FROM pg_publication_tables WHERE pubname = 'lkp_pub'",
			 v, sizeof(v));
	cr_assert_str_eq(v, "public.LkpMixed,public.lkp_cols,public.lkp_full,public.lkp_nopk");
	OK(pgc_publication_ensure(c, "lkp_pub", t, 4, &created, &err));
	lk_error_clear(&err);
	cr_assert_not(pgc_publication_ensure(c, "lkp_pub", bad, 1, &created, &err));
	cr_assert_eq(err.code, LK_ERR_PG);
	OK(pgc_publication_drop(c, "lkp_pub", &err));
	OK(pgc_publication_drop(c, "lkp_pub", &err));
	value_of(c, "SELECT count(*) FROM pg_publication WHERE pubname = 'lkp_pub'",
			 v, sizeof(v));
	cr_assert_str_eq(v, "0");

	/* the COPY statement */
	lk_buf q = LK_BUF_INIT;
	const char *cols[] = {"a", "We\"ird"};
	pgcopy_range r = {4, 7};
	OK(pgcopy_build_query(c, &q, &t[3], cols, 2, &r, &err));
	cr_assert_str_eq(lk_buf_cstr(&q),
					 "COPY (SELECT \"a\", \"We\"\"ird\" FROM ONLY \"public\".\"LkpMixed\" "
					 "WHERE ctid >= '(4,0)'::tid AND ctid < '(7,0)'::tid) TO STDOUT");
	lk_buf_reset(&q);
	r = (pgcopy_range){0, 3};
	OK(pgcopy_build_query(c, &q, &t[0], NULL, 0, &r, &err));
	cr_assert_str_eq(lk_buf_cstr(&q), "COPY (SELECT * FROM ONLY \"public\".\"lkp_cols\" "
									  "WHERE ctid < '(3,0)'::tid) TO STDOUT");
	lk_buf_reset(&q);
	OK(pgcopy_build_query(c, &q, &t[0], NULL, 0, NULL, &err));
	cr_assert_str_eq(lk_buf_cstr(&q), "COPY (SELECT * FROM ONLY \"public\".\"lkp_cols\") TO STDOUT");
	lk_buf_free(&q);

	exec_ok(c, "DROP TABLE lkp_cols, lkp_nopk, lkp_full, \"LkpMixed\"; "
			   "DROP VIEW lkp_view; DROP DOMAIN lkp_price, lkp_posint2, lkp_posint; "
			   "DROP TYPE lkp_mood");
	pgc_close(c);
	lk_arena_free(&a);
}

/* ---- slot → snapshot COPY → stream ------------------------------------- */

#define NROWS 3000
#define NLATE 5

typedef struct copy_sink {
	int rows;
	unsigned char seen[NROWS + NLATE + 1];
	int bad;
	char first_bad[256];
} copy_sink;

/* Row i (1-based) of the initial data, as the server prints it:
 * id, v (text with tabs/newlines/backslashes every 7th row, NULL every
 * 11th, empty every 13th), b bytea. */
static bool
sink_row(void *arg, const pgcopy_field *f, int n, lk_error *err)
{
	copy_sink *s = arg;
	int id = atoi(f[0].ptr);
	char want[64];
	bool ok = n == 3 && id >= 1 && id <= NROWS + NLATE;
	if (ok) {
		s->seen[id]++;
		if (id % 11 == 0)
			ok = f[1].is_null;
		else if (id % 13 == 0)
			ok = !f[1].is_null && f[1].len == 0;
		else if (id % 7 == 0) {
			snprintf(want, sizeof(want), "a\tb\nc\\d\re %d \xc3\xa9", id);
			ok = f[1].len == strlen(want) && memcmp(f[1].ptr, want, f[1].len) == 0;
		} else {
			snprintf(want, sizeof(want), "row %d", id);
			ok = strcmp(f[1].ptr, want) == 0;
		}
		snprintf(want, sizeof(want), "\\x%02x00ff", id & 0xff);
		ok = ok && strcmp(f[2].ptr, want) == 0;
	}
	if (!ok && s->bad++ == 0)
		snprintf(s->first_bad, sizeof(s->first_bad), "row id %d: %s", id,
				 n > 1 ? f[1].ptr : "");
	s->rows++;
	return true;
}

static bool
failing_row(void *arg, const pgcopy_field *f, int n, lk_error *err)
{
	int *count = arg;
	if (++*count == 10)
		return lk_error_set(err, LK_ERR_INVALID, "stop here");
	return true;
}

typedef struct stream_seen {
	int inserts;
	int late_ids[64];
	int nlate;
	int stream_starts;
	int stream_commits;
	int commits;
	int keepalives;
	int replies_requested;
	uint64_t last_commit_end;
	int messages;            /* 'M' */
} stream_seen;

/* pgr_next timeout used by receive(); 0 = poll without blocking */
static int recv_step_ms = 100;

/* Receive until `until` returns true or the deadline passes. */
static void
receive(pgr_stream *st, pgo_decoder *dec, stream_seen *seen, uint32_t relid,
		int ms, bool (*until)(const stream_seen *))
{
	lk_error err;
	lk_arena a;
	lk_arena_init(&a, 0);
	for (int waited = 0; waited < ms && !(until && until(seen));) {
		pgr_msg m;
		lk_error_clear(&err);
		pgr_result r = pgr_next(st, recv_step_ms, &m, &err);
		char b[1200];
		cr_assert_neq(r, PGR_ERROR, "pgr_next: %s", lk_error_str(&err, b, sizeof(b)));
		cr_assert_neq(r, PGR_END, "stream ended after %d commits, %d inserts, "
					  "%d keepalives", seen->commits, seen->inserts,
					  seen->keepalives);
		if (r == PGR_TIMEOUT) {
			if (recv_step_ms == 0)
				usleep(5000);     /* polling: pgr_next(…, 0) never blocks */
			waited += recv_step_ms ? recv_step_ms : 5;
			continue;
		}
		if (m.kind == PGR_KEEPALIVE) {
			seen->keepalives++;
			seen->replies_requested += m.reply_requested;
			continue;
		}
		pgo_msg pm;
		lk_error_clear(&err);
		cr_assert(pgo_decode(dec, m.data, m.len, &a, &pm, &err),
				  "decode: %s", lk_error_str(&err, b, sizeof(b)));
		switch (pm.type) {
		case PGO_INSERT:
			if (pm.insert.relid == relid) {
				seen->inserts++;
				pgo_value *v = &pm.insert.newtup.cols[0];
				if (v->kind == 't' && v->len < 16) {
					char num[16];
					memcpy(num, v->data, v->len);
					num[v->len] = '\0';
					int id = atoi(num);
					if (id > NROWS && id <= NROWS + 100 && seen->nlate < 64)
						seen->late_ids[seen->nlate++] = id;
				}
			}
			break;
		case PGO_COMMIT:
			seen->commits++;
			seen->last_commit_end = pm.commit.end_lsn;
			break;
		case PGO_STREAM_START: seen->stream_starts++; break;
		case PGO_STREAM_COMMIT:
			seen->stream_commits++;
			seen->last_commit_end = pm.stream_commit.end_lsn;
			break;
		case PGO_MESSAGE: seen->messages++; break;
		default: break;
		}
		lk_arena_reset(&a);
	}
	lk_arena_free(&a);
}

static int want_commits;
static bool
enough_commits(const stream_seen *s)
{
	return s->commits + s->stream_commits >= want_commits;
}

static uint64_t
slot_confirmed(pgc_conn *c, const char *slot)
{
	lk_error err;
	pgc_slot_info si;
	OK(pgc_slot_info_get(c, slot, &si, &err));
	cr_assert(si.exists);
	return si.confirmed_flush_lsn;
}

Test(pgint, slot_snapshot_copy_stream_feedback, .timeout = 120)
{
	NEED_DSN();
	lk_error err;
	lk_arena a;
	char v[256];
	lk_arena_init(&a, 0);
	const char *slot = "lkp_slot";
	const char *pubs[] = {"lkp_spub"};

	pgc_conn *c = connect_ok(dsn, false);
	OK(pgc_slot_drop(c, slot, true, &err));
	exec_ok(c, "DROP TABLE IF EXISTS lkp_data; DROP PUBLICATION IF EXISTS lkp_spub");
	exec_ok(c, "CREATE TABLE lkp_data (id int PRIMARY KEY, v text, b bytea)");
	exec_ok(c, lk_arena_sprintf(
				   &a,
				   "INSERT INTO lkp_data SELECT i, CASE WHEN i %% 11 = 0 THEN NULL "
				   "WHEN i %% 13 = 0 THEN '' "
				   "WHEN i %% 7 = 0 THEN E'a\\tb\\nc\\\\d\\re ' || i || E' \\u00e9' "
				   "ELSE 'row ' || i END, "
				   "decode(lpad(to_hex(i & 255), 2, '0') || '00ff', 'hex') "
				   "FROM generate_series(1, %d) i",
				   NROWS));
	pgc_table_name t;
	pgc_table_info ti;
	OK(pgc_table_name_parse("public.lkp_data", &a, &t, &err));
	OK(pgc_check_tables(c, &t, 1, &ti, &err));
	OK(pgc_publication_ensure(c, pubs[0], &t, 1, NULL, &err));

	/* slot with an exported snapshot */
	pgc_conn *rc = connect_ok(dsn, true);
	pgr_system sys;
	OK(pgr_identify_system(rc, &sys, &err));
	cr_assert_gt(sys.xlogpos, 0);
	cr_assert_eq(sys.timeline, 1);
	cr_assert_neq(sys.systemid[0], '\0');
	value_of(c, "SELECT current_database()", v, sizeof(v));
	cr_assert_str_eq(sys.dbname, v);
	pgr_slot sl;
	OK(pgr_create_slot(rc, slot, &sl, &err));
	cr_assert_str_eq(sl.slot_name, slot);
	cr_assert_str_eq(sl.output_plugin, "pgoutput");
	cr_assert_neq(sl.snapshot_name[0], '\0');
	cr_assert_geq(sl.consistent_point, sys.xlogpos);
	pgc_slot_info si;
	OK(pgc_slot_info_get(c, slot, &si, &err));
	cr_assert(si.exists && si.logical);
	cr_assert_str_eq(si.plugin, "pgoutput");
	cr_assert_not(si.active);
	/* a second slot of the same name: server error 42710 */
	lk_error_clear(&err);
	pgr_slot dup;
	pgc_conn *rc2 = connect_ok(dsn, true);
	cr_assert_not(pgr_create_slot(rc2, slot, &dup, &err));
	cr_assert_eq(err.code, LK_ERR_PG);
	cr_assert_str_eq(rc2->sqlstate, "42710");
	pgc_close(rc2);

	/* changes after the slot: must not be in the snapshot, must be streamed */
	for (int i = 1; i <= NLATE; i++)
		exec_ok(c, lk_arena_sprintf(&a, "INSERT INTO lkp_data VALUES (%d, 'late', "
										"'\\x01')", NROWS + i));
	exec_ok(c, "UPDATE lkp_data SET v = 'changed' WHERE id = 1");

	/* COPY at the snapshot over two connections, split by ctid ranges */
	pgc_conn *cp[2] = {connect_ok(dsn, false), connect_ok(dsn, false)};
	OK(pgcopy_begin_snapshot(cp[0], sl.snapshot_name, &err));
	OK(pgcopy_begin_snapshot(cp[1], sl.snapshot_name, &err));
	uint64_t blocks = 0;
	OK(pgcopy_table_blocks(cp[0], &t, &blocks, &err));
	cr_assert_gt(blocks, 4, "blocks %llu", (unsigned long long) blocks);
	pgcopy_range ranges[3];
	int nr = pgcopy_split(blocks, 3, ranges);
	cr_assert_eq(nr, 3);
	const char *cols[] = {"id", "v", "b"};
	copy_sink sink;
	memset(&sink, 0, sizeof(sink));
	for (int i = 0; i < nr; i++) {
		lk_buf q = LK_BUF_INIT;
		uint64_t rows = 0;
		OK(pgcopy_build_query(cp[i % 2], &q, &t, cols, 3, &ranges[i], &err));
		OK(pgcopy_run(cp[i % 2], lk_buf_cstr(&q), 3, sink_row, &sink, &rows, &err));
		cr_assert_gt(rows, 0, "range %d empty", i);
		lk_buf_free(&q);
	}
	cr_assert_eq(sink.bad, 0, "%d bad rows, first: %s", sink.bad, sink.first_bad);
	cr_assert_eq(sink.rows, NROWS);
	for (int id = 1; id <= NROWS; id++)
		cr_assert_eq(sink.seen[id], 1, "id %d seen %d times", id, sink.seen[id]);
	for (int id = NROWS + 1; id <= NROWS + NLATE; id++)
		cr_assert_eq(sink.seen[id], 0, "late id %d in the snapshot", id);
	/* a failing callback cancels the COPY; the transaction then rolls back */
	lk_buf q = LK_BUF_INIT;
	OK(pgcopy_build_query(cp[0], &q, &t, cols, 3, NULL, &err));
	int count = 0;
	uint64_t rows = 0;
	lk_error_clear(&err);
	cr_assert_not(pgcopy_run(cp[0], lk_buf_cstr(&q), 3, failing_row, &count,
							 &rows, &err));
	cr_assert_str_eq(err.msg, "stop here");
	cr_assert_str_eq(err.where, "copy row 10");
	cr_assert_eq(rows, 9);
	OK(pgcopy_end(cp[0], &err));
	value_of(cp[0], "SELECT count(*) FROM lkp_data", v, sizeof(v));
	cr_assert_str_eq(v, "3005");        /* out of the snapshot: sees everything */
	/* wrong field count is reported as corrupt */
	lk_error_clear(&err);
	cr_assert_not(pgcopy_run(cp[1], lk_buf_cstr(&q), 2, sink_row, &sink, NULL, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	OK(pgcopy_end(cp[1], &err));
	lk_buf_free(&q);
	/* a snapshot that does not exist */
	lk_error_clear(&err);
	cr_assert_not(pgcopy_begin_snapshot(cp[1], "00000003-0000FFFF-1", &err));
	cr_assert_eq(err.code, LK_ERR_PG);
	value_of(cp[1], "SELECT 1", v, sizeof(v));   /* rolled back, usable */
	pgc_close(cp[0]);
	pgc_close(cp[1]);

	/* stream from the consistent point */
	exec_ok(rc, "SET logical_decoding_work_mem = '64kB'");
	pgr_start_opts o = {.publications = pubs, .npublications = 1,
						.streaming = true, .messages = true,
						.status_interval_ms = 60000};
	pgr_stream *st = pgr_start(rc, slot, sl.consistent_point, &o, &err);
	char b[1200];
	cr_assert_not_null(st, "pgr_start: %s", lk_error_str(&err, b, sizeof(b)));
	int proto = rc->server_version >= 160000 ? 4 : 2;
	pgo_decoder dec;
	pgo_decoder_init(&dec, proto);
	stream_seen seen;
	memset(&seen, 0, sizeof(seen));
	want_commits = NLATE + 1;
	receive(st, &dec, &seen, ti.relid, 10000, enough_commits);
	cr_assert_eq(seen.commits, NLATE + 1);
	cr_assert_eq(seen.inserts, NLATE);   /* initial rows are not streamed */
	cr_assert_eq(seen.nlate, NLATE);
	for (int i = 0; i < NLATE; i++)
		cr_assert_eq(seen.late_ids[i], NROWS + 1 + i);
	cr_assert_gt(seen.last_commit_end, sl.consistent_point);
	cr_assert_geq(pgr_stream_received(st), sl.consistent_point);

	/* feedback: the slot's confirmed_flush_lsn follows */
	uint64_t before = slot_confirmed(c, slot);
	cr_assert_lt(before, seen.last_commit_end);
	OK(pgr_send_feedback(st, seen.last_commit_end, seen.last_commit_end,
						 seen.last_commit_end, false, &err));
	cr_assert_eq(pgr_stream_flushed(st), seen.last_commit_end);
	uint64_t conf = 0;
	for (int i = 0; i < 50 && conf < seen.last_commit_end; i++) {
		receive(st, &dec, &seen, ti.relid, 100, NULL);
		conf = slot_confirmed(c, slot);
	}
	cr_assert_eq(conf, seen.last_commit_end, "confirmed %llx want %llx",
				 (unsigned long long) conf,
				 (unsigned long long) seen.last_commit_end);
	/* positions never go back */
	OK(pgr_send_feedback(st, 1, 1, 1, false, &err));
	cr_assert_eq(pgr_stream_flushed(st), seen.last_commit_end);

	/* a large transaction arrives streamed (logical_decoding_work_mem 64kB),
	 * and a logical decoding message */
	exec_ok(c, "INSERT INTO lkp_data SELECT i, repeat('x', 200), NULL "
			   "FROM generate_series(100001, 102000) i");
	exec_ok(c, "SELECT pg_logical_emit_message(true, 'lakesync', 'hello')");
	memset(&seen, 0, sizeof(seen));
	want_commits = 2;
	receive(st, &dec, &seen, ti.relid, 20000, enough_commits);
	cr_assert_geq(seen.stream_starts, 1);
	cr_assert_eq(seen.stream_commits, 1);
	cr_assert_eq(seen.inserts, 2000);
	cr_assert_eq(seen.messages, 1);

	/* idle: keepalives that ask for a reply are answered by pgr_next (the
	 * status interval is 60 s here), so the walsender does not time out */
	value_of(c, "SELECT setting FROM pg_settings WHERE name = 'wal_sender_timeout'",
			 v, sizeof(v));
	int timeout_ms = atoi(v);
	if (timeout_ms > 0 && timeout_ms <= 5000) {
		memset(&seen, 0, sizeof(seen));
		receive(st, &dec, &seen, ti.relid, timeout_ms * 2 + 500, NULL);
		cr_assert_geq(seen.replies_requested, 1, "keepalives %d", seen.keepalives);
		OK(pgc_slot_info_get(c, slot, &si, &err));
		cr_assert(si.active, "walsender timed out");
	} else {
		cr_log_warn("wal_sender_timeout %d ms: keepalive reply check skipped",
					timeout_ms);
	}

	/* stop; the connection still runs commands but cannot stream again;
	 * restart on a new connection from the confirmed position: nothing
	 * already confirmed comes again */
	OK(pgr_stop(st, 5000, &err));
	pgr_stream_free(st);
	OK(pgr_identify_system(rc, &sys, &err));
	lk_error_clear(&err);
	cr_assert_null(pgr_start(rc, slot, 0, &o, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	pgc_close(rc);
	rc = connect_ok(dsn, true);
	exec_ok(c, lk_arena_sprintf(&a, "INSERT INTO lkp_data VALUES (%d, 'after', NULL)",
								NROWS + 50));
	st = pgr_start(rc, slot, 0, &o, &err);
	cr_assert_not_null(st, "restart: %s", lk_error_str(&err, b, sizeof(b)));
	pgo_decoder_init(&dec, proto);
	memset(&seen, 0, sizeof(seen));
	want_commits = 1;
	recv_step_ms = 0;            /* also: a zero timeout still reads */
	receive(st, &dec, &seen, ti.relid, 10000, enough_commits);
	recv_step_ms = 100;
	/* the streamed 2000-row transaction was not confirmed: it comes again */
	cr_assert_geq(seen.commits + seen.stream_commits, 1);
	want_commits = 3;
	receive(st, &dec, &seen, ti.relid, 10000, enough_commits);
	cr_assert_eq(seen.nlate, 1);
	cr_assert_eq(seen.late_ids[seen.nlate - 1], NROWS + 50);
	cr_assert_eq(seen.inserts, 2001);

	/* the slot is busy while streaming */
	lk_error_clear(&err);
	cr_assert_not(pgc_slot_drop(c, slot, false, &err));
	cr_assert_str_eq(c->sqlstate, "55006");

	/* connection loss: terminate the walsender */
	OK(pgc_slot_info_get(c, slot, &si, &err));
	cr_assert(si.active);
	exec_ok(c, lk_arena_sprintf(&a, "SELECT pg_terminate_backend(%d)", si.active_pid));
	pgr_result r = PGR_TIMEOUT;
	pgr_msg m;
	for (int i = 0; i < 100 && r != PGR_ERROR; i++) {
		lk_error_clear(&err);
		r = pgr_next(st, 100, &m, &err);
	}
	cr_assert_eq(r, PGR_ERROR);
	cr_assert_eq(err.code, LK_ERR_IO, "code %d: %s", err.code,
				 lk_error_str(&err, b, sizeof(b)));
	cr_assert(pgc_is_broken(rc));
	pgr_stream_free(st);
	pgc_close(rc);

	/* clean up: the slot becomes inactive shortly after */
	bool dropped = false;
	for (int i = 0; i < 50 && !dropped; i++) {
		lk_error_clear(&err);
		dropped = pgc_slot_drop(c, slot, false, &err);
		if (!dropped)
			usleep(100000);
	}
	cr_assert(dropped, "drop slot: %s", lk_error_str(&err, b, sizeof(b)));
	OK(pgc_slot_info_get(c, slot, &si, &err));
	cr_assert_not(si.exists);
	OK(pgc_slot_drop(c, slot, true, &err));
	lk_error_clear(&err);
	cr_assert_not(pgc_slot_drop(c, slot, false, &err));
	cr_assert_str_eq(c->sqlstate, "42704");
	OK(pgc_publication_drop(c, pubs[0], &err));
	exec_ok(c, "DROP TABLE lkp_data");
	pgc_close(c);
	lk_arena_free(&a);
}

/* A server with wal_level = replica: LAKESYNC_TEST_REPLICA_DSN. */
Test(pgreplica, wal_level_is_reported_with_the_fix)
{
	const char *dsn = getenv("LAKESYNC_TEST_REPLICA_DSN");
	if (!dsn || !*dsn)
		cr_skip_test("LAKESYNC_TEST_REPLICA_DSN not set");
	lk_error err;
	pgc_conn *c = connect_ok(dsn, false);
	lk_error_clear(&err);
	cr_assert_not(pgc_check_replication(c, 1, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert_str_eq(err.msg, "server not ready for logical replication: "
							  "wal_level is \"replica\" but logical replication "
							  "needs \"logical\": set wal_level = logical in "
							  "postgresql.conf and restart the server");
	pgc_conn *rc = connect_ok(dsn, true);
	pgr_slot sl;
	lk_error_clear(&err);
	cr_assert_not(pgr_create_slot(rc, "lkp_never", &sl, &err));
	cr_assert_eq(err.code, LK_ERR_PG);
	cr_assert_str_eq(rc->sqlstate, "55000");
	pgc_close(rc);
	pgc_close(c);
}
