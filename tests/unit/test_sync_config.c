/*
 * test_sync_config.c — sync/config: the configuration file of `lakesync
 * run` and `lakesync status` (docs/config.md).  Every value of a full
 * example, every lexical form (quoted, literal, lists, bare SQL names,
 * comments, _env references), and every error with its line.  Also
 * sync/status: the table-state rule, the run status file (round trip,
 * liveness, corrupt/missing), and the Delta readers (rows from numRecords,
 * txn version of one appId, incremental watch) on a hand-written log.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "sync/config.h"

static sy_config_file *
parse_ok(const char *text)
{
	lk_error err;
	lk_error_clear(&err);
	sy_config_file *cf = sy_config_parse(text, strlen(text), "t.conf", &err);
	char b[1200];
	cr_assert(cf, "parse failed: %s", lk_error_str(&err, b, sizeof(b)));
	return cf;
}

/* Parse must fail with a message containing `msg` and where = line. */
static void
parse_fails(const char *text, int line, const char *msg)
{
	lk_error err;
	lk_error_clear(&err);
	sy_config_file *cf = sy_config_parse(text, strlen(text), "t.conf", &err);
	cr_assert_null(cf, "parse of <<%s>> should fail (%s)", text, msg);
	cr_assert_eq(err.code, LK_ERR_INVALID, "code %d for %s", err.code, msg);
	cr_assert(strstr(err.msg, msg), "message \"%s\" lacks \"%s\"", err.msg, msg);
	char where[64];
	if (line > 0)
		snprintf(where, sizeof(where), "file \"t.conf\", line %d", line);
	else
		snprintf(where, sizeof(where), "file \"t.conf\"");
	cr_assert_str_eq(err.where, where, "where for %s", msg);
}

static const char full_example[] =
	"# lakesync.conf\n"
	"[lakesync]\n"
	"status_file = \"/var/lib/lakesync/status.json\"\n"
	"\n"
	"[pipeline.orders]\n"
	"source = \"postgresql://app:s3cret@db.internal/shop\"   # the password stays here\n"
	"target = /lakehouse\n"
	"mode = history\n"
	"tables = public.orders, public.customers\n"
	"flush_bytes = 64M\n"
	"flush_interval_ms = 500\n"
	"jobs = 4\n"
	"\n"
	"[pipeline.orders.table.public.orders]\n"
	"location = \"/lakehouse/public/orders_history\"\n"
	"\n"
	"[pipeline.orders.table.sales.\"Returns\"]   ; a table only named here\n"
	"mode = history\n"
	"\n"
	"[pipeline.audit]\n"
	"source = 'host=db dbname=audit password=a#b'\n"
	"target = file:///lakehouse2\n"
	"tables = [\"audit.events\", '\"Audit\".\"Log\"']\n"
	"\n"
	"[synced.daily_stats]\n"
	"source = /lakehouse/gold/daily_stats\n"
	"target = \"dbname=app\"\n"
	"table = public.daily_stats\n"
	"mode = continuous\n"
	"primary_key = day, store_id\n"
	"dedup_by = updated_at\n"
	"column_types = [\"id=uuid\", \"payload = jsonb\"]\n"
	"jobs = 3\n"
	"interval_ms = 250\n";

Test(sync_config, full_example)
{
	sy_config_file *cf = parse_ok(full_example);
	cr_assert_str_eq(cf->status_file, "/var/lib/lakesync/status.json");
	cr_assert_eq(cf->npipelines, 2);
	cr_assert_eq(cf->nsynced, 1);

	const sy_config_pipeline *o = &cf->pipelines[0];
	cr_assert_str_eq(o->name, "orders");
	cr_assert_str_eq(o->source, "postgresql://app:s3cret@db.internal/shop");
	cr_assert_str_eq(o->target, "/lakehouse");
	cr_assert_str_eq(o->mode, "history");
	cr_assert_eq(o->flush_bytes, 64 << 20);
	cr_assert_eq(o->flush_interval_ms, 500);
	cr_assert_eq(o->jobs, 4);
	cr_assert_eq(o->line, 5);
	cr_assert_eq(o->ntables, 3);
	cr_assert_str_eq(o->tables[0].name, "public.orders");
	cr_assert_str_eq(o->tables[0].location, "/lakehouse/public/orders_history");
	cr_assert_eq(o->tables[0].line, 14);
	cr_assert_eq(o->tables[1].line, 9);
	cr_assert_str_eq(o->tables[1].name, "public.customers");
	cr_assert_null(o->tables[1].location);
	cr_assert_str_eq(o->tables[1].mode, "history");
	cr_assert_str_eq(o->tables[2].name, "sales.\"Returns\"");
	cr_assert_eq(o->tables[2].line, 17);

	char *loc = sy_config_location(cf, o, &o->tables[1]);
	cr_assert_str_eq(loc, "/lakehouse/public/customers_history");
	free(loc);
	loc = sy_config_location(cf, o, &o->tables[2]);
	cr_assert_str_eq(loc, "/lakehouse/sales/Returns_history");
	free(loc);

	const sy_config_pipeline *a = sy_config_find_pipeline(cf, "audit");
	cr_assert_eq(a, &cf->pipelines[1]);
	cr_assert_str_eq(a->source, "host=db dbname=audit password=a#b");
	cr_assert_str_eq(a->target, "file:///lakehouse2");
	cr_assert_eq(a->ntables, 2);
	cr_assert_str_eq(a->tables[0].name, "audit.events");
	cr_assert_str_eq(a->tables[1].name, "\"Audit\".\"Log\"");
	cr_assert_eq(a->flush_bytes, 0);
	cr_assert_eq(a->jobs, 0);
	cr_assert_null(sy_config_find_pipeline(cf, "nope"));

	const sy_config_synced *s = sy_config_find_synced(cf, "daily_stats");
	cr_assert_eq(s, &cf->synced[0]);
	cr_assert_str_eq(s->source, "/lakehouse/gold/daily_stats");
	cr_assert_str_eq(s->target, "dbname=app");
	cr_assert_str_eq(s->table, "public.daily_stats");
	cr_assert_eq(s->mode, SY_MODE_CONTINUOUS);
	cr_assert_eq(s->npk, 2);
	cr_assert_str_eq(s->primary_key[0], "day");
	cr_assert_str_eq(s->primary_key[1], "store_id");
	cr_assert_str_eq(s->dedup_by, "updated_at");
	cr_assert_eq(s->ncolumn_types, 2);
	cr_assert_str_eq(s->column_types[0].name, "id");
	cr_assert_str_eq(s->column_types[0].sql_type, "uuid");
	cr_assert_str_eq(s->column_types[1].name, "payload");
	cr_assert_str_eq(s->column_types[1].sql_type, "jsonb");
	cr_assert_eq(s->jobs, 3);
	cr_assert_eq(s->interval_ms, 250);
	cr_assert_eq(s->line, 25);
	sy_config_free(cf);
}

Test(sync_config, defaults)
{
	sy_config_file *cf = parse_ok("[pipeline.p]\nsource=dbname=x\ntarget=lake\n"
								  "tables=t\n[synced.s]\nsource=/d\ntarget=dbname=y\n"
								  "table=t2\n");
	cr_assert_str_eq(cf->status_file, "t.conf.status.json");
	cr_assert_str_eq(cf->pipelines[0].source, "dbname=x");
	cr_assert_str_eq(cf->pipelines[0].mode, "history");
	cr_assert_eq(cf->pipelines[0].ntables, 1);
	cr_assert_str_eq(cf->pipelines[0].tables[0].name, "t");
	char *loc = sy_config_location(cf, &cf->pipelines[0], &cf->pipelines[0].tables[0]);
	cr_assert_str_eq(loc, "lake/public/t_history");
	free(loc);
	cr_assert_eq(cf->synced[0].mode, SY_MODE_SNAPSHOT);
	cr_assert_eq(cf->synced[0].npk, 0);
	cr_assert_null(cf->synced[0].dedup_by);
	cr_assert_eq(cf->synced[0].interval_ms, 0);
	sy_config_free(cf);
}

Test(sync_config, lexical_forms)
{
	sy_config_file *cf = parse_ok(
		"  ; comment\r\n"
		"[ pipeline.x1 ]\r\n"
		"source = \"a \\\"q\\\" \\\\ b\\tc\"\r\n"
		"target = /l#ake   # a '#' inside a word is kept\r\n"
		"tables = \"Public\".\"Orders\", \"a,b\".c , d  \r\n"
		"mode=history\r\n");
	const sy_config_pipeline *p = &cf->pipelines[0];
	cr_assert_str_eq(p->source, "a \"q\" \\ b\tc");
	cr_assert_str_eq(p->target, "/l#ake");
	cr_assert_eq(p->ntables, 3);
	cr_assert_str_eq(p->tables[0].name, "\"Public\".\"Orders\"");
	cr_assert_str_eq(p->tables[1].name, "\"a,b\".c");
	cr_assert_str_eq(p->tables[2].name, "d");
	cr_assert_eq(p->tables[2].line, 5);
	sy_config_free(cf);

	/* a DSN with commas (multi-host URI) is one scalar value */
	cf = parse_ok("[pipeline.y]\nsource = postgresql://h1,h2/db\ntarget=t\ntables=[a]\n");
	cr_assert_str_eq(cf->pipelines[0].source, "postgresql://h1,h2/db");
	cr_assert_str_eq(cf->pipelines[0].tables[0].name, "a");
	sy_config_free(cf);
}

Test(sync_config, env_references)
{
	setenv("LK_TEST_DSN", "host=h password=pw", 1);
	setenv("LK_TEST_TABLES", "public.a, public.b", 1);
	unsetenv("LK_TEST_UNSET");
	sy_config_file *cf = parse_ok("[pipeline.p]\nsource_env = LK_TEST_DSN\ntarget=/t\n"
								  "tables_env = \"LK_TEST_TABLES\"\n");
	cr_assert_str_eq(cf->pipelines[0].source, "host=h password=pw");
	cr_assert_eq(cf->pipelines[0].ntables, 2);
	cr_assert_str_eq(cf->pipelines[0].tables[1].name, "public.b");
	sy_config_free(cf);

	parse_fails("[pipeline.p]\nsource_env = LK_TEST_UNSET\ntarget=/t\ntables=a\n", 2,
				"environment variable LK_TEST_UNSET (from \"source_env\") is not set");
	parse_fails("[pipeline.p]\nsource = x\nsource_env = LK_TEST_DSN\ntarget=/t\ntables=a\n", 3,
				"both \"source\" (line 2) and \"source_env\" are set");
}

Test(sync_config, sizes)
{
	int64_t v;
	cr_assert(sy_config_parse_size("1000", &v));
	cr_assert_eq(v, 1000);
	cr_assert(sy_config_parse_size("64k", &v));
	cr_assert_eq(v, 65536);
	cr_assert(sy_config_parse_size("128MiB", &v));
	cr_assert_eq(v, INT64_C(128) << 20);
	cr_assert(sy_config_parse_size("2GB", &v));
	cr_assert_eq(v, INT64_C(2) << 30);
	cr_assert(sy_config_parse_size("512B", &v));
	cr_assert_eq(v, 512);
	cr_assert_not(sy_config_parse_size("0", &v));
	cr_assert_not(sy_config_parse_size("-5", &v));
	cr_assert_not(sy_config_parse_size("12X", &v));
	cr_assert_not(sy_config_parse_size("1Mx", &v));
	cr_assert_not(sy_config_parse_size("99999999999999999999", &v));
	cr_assert_not(sy_config_parse_size("9000000000G", &v));
	cr_assert_not(sy_config_parse_size("", &v));
}

Test(sync_config, errors_name_the_line)
{
	const char *P = "[pipeline.p]\nsource=s\ntarget=t\ntables=a\n";   /* 4 lines */
	char buf[512];

	parse_fails("", 0, "no [pipeline.NAME] or [synced.NAME] section");
	parse_fails("key = v\n", 1, "a setting before any section");
	parse_fails("[pipeline.p]\nsource s\n", 2, "expected \"key = value\"");
	parse_fails("[pipeline.p]\nSource = s\n", 2, "expected \"key = value\"");
	parse_fails("[pipeline.p]\nsource =   # nothing\n", 2, "\"source\" has no value");
	parse_fails("[weird]\n", 1, "unknown section [weird]");
	parse_fails("[pipeline.p\n", 1, "must end with \"]\"");
	parse_fails("[pipeline.]\n", 1, "needs a name");
	parse_fails("[pipeline.a b]\n", 1, "unexpected \" b\" in section");
	parse_fails("[pipeline.Bad]\nsource=s\ntarget=t\ntables=a\n", 1,
				"invalid pipeline name \"Bad\"");
	snprintf(buf, sizeof(buf), "%s[pipeline.p]\n", P);
	parse_fails(buf, 5, "section [pipeline.p] is repeated (first at line 1)");
	snprintf(buf, sizeof(buf), "%sfoo = 1\n", P);
	parse_fails(buf, 5, "unknown key \"foo\" in [pipeline.p]");
	snprintf(buf, sizeof(buf), "%starget = u\n", P);
	parse_fails(buf, 5, "\"target\" is set twice in [pipeline.p] (first at line 3)");
	parse_fails("[pipeline.p]\ntarget=t\ntables=a\n", 1, "has no source");
	parse_fails("[pipeline.p]\nsource=s\ntables=a\n", 1, "has no target");
	parse_fails("[pipeline.p]\nsource=s\ntarget=t\n", 1, "has no tables");
	snprintf(buf, sizeof(buf), "%smode = upsert\n", P);
	parse_fails(buf, 1, "unknown mode \"upsert\" in [pipeline.p]");
	snprintf(buf, sizeof(buf), "%sjobs = 0\n", P);
	parse_fails(buf, 5, "invalid jobs \"0\" (an integer from 1 to 64)");
	snprintf(buf, sizeof(buf), "%sflush_interval_ms = 1s\n", P);
	parse_fails(buf, 5, "invalid flush_interval_ms \"1s\"");
	snprintf(buf, sizeof(buf), "%sflush_bytes = lots\n", P);
	parse_fails(buf, 1, "invalid flush_bytes \"lots\"");
	parse_fails("[pipeline.p]\nsource=s\ntarget=t\ntables=a, public.A\n", 4,
				"table public.a is listed twice");
	parse_fails("[pipeline.p]\nsource=s\ntarget=t\ntables=a,,b\n", 4, "empty item");
	parse_fails("[pipeline.p]\nsource=s\ntarget=t\ntables=[a,]\n", 4, "empty item");
	parse_fails("[pipeline.p]\nsource=s\ntarget=t\ntables=[a\n", 4, "must end with \"]\"");
	parse_fails("[pipeline.p]\nsource=\"abc\ntarget=t\ntables=a\n", 2,
				"unterminated quoted value");
	parse_fails("[pipeline.p]\nsource='abc\ntarget=t\ntables=a\n", 2,
				"unterminated quoted value");
	parse_fails("[pipeline.p]\nsource='a' b\ntarget=t\ntables=a\n", 2,
				"unexpected text after a quoted value");
	parse_fails("[pipeline.p]\nsource=\"a\\qb\"\ntarget=t\ntables=a\n", 2,
				"invalid escape \"\\q\"");
	parse_fails("[pipeline.p]\nsource=[a, b]\ntarget=t\ntables=a\n", 2,
				"\"source\" takes one value, not a list");
	parse_fails("[pipeline.p]\nsource=s\ntarget=t\ntables=a.b.c.d\n", 4,
				"invalid table name \"a.b.c.d\"");
	snprintf(buf, sizeof(buf), "%s[pipeline.p.table.x]\nlocation=/l\nfoo=1\n", P);
	parse_fails(buf, 7, "unknown key \"foo\" in [pipeline.p.table.x]");
	snprintf(buf, sizeof(buf), "%s[pipeline.q.table.x]\nmode=history\n", P);
	parse_fails(buf, 5, "[pipeline.q.table.x] belongs to no [pipeline.q] section");
	snprintf(buf, sizeof(buf), "%s[pipeline.p.table.x]\nmode=copy\n", P);
	parse_fails(buf, 5, "unknown mode \"copy\" in [pipeline.p.table.x]");
	snprintf(buf, sizeof(buf), "%s[pipeline.q]\nsource=s\ntarget=t/\ntables=public.a\n", P);
	parse_fails(buf, 8, "table public.a of pipeline \"q\" goes to the same Delta table as "
				"pipeline \"p\" (line 4)");
	parse_fails("[synced.s]\ntarget=d\ntable=t\n", 1, "has no source");
	parse_fails("[synced.s]\nsource=d\ntable=t\n", 1, "has no target");
	parse_fails("[synced.s]\nsource=d\ntarget=t\n", 1, "has no table");
	parse_fails("[synced.s]\nsource=d\ntarget=t\ntable=x\nmode=sometimes\n", 1,
				"unknown mode \"sometimes\"");
	parse_fails("[synced.s]\nsource=d\ntarget=t\ntable=x\nmode=triggered\n", 1,
				"mode triggered needs a primary_key");
	parse_fails("[synced.s]\nsource=d\ntarget=t\ntable=x\ncolumn_types=id\n", 1,
				"invalid column_types item \"id\"");
	parse_fails("[synced.s]\nsource=d\ntarget=t\ntable=x\n[synced.u]\nsource=e\ntarget=t\n"
				"table=x\n", 5, "[synced.u] writes the same table as [synced.s] (line 1)");
	parse_fails("[lakesync]\nstatus=x\n[synced.s]\nsource=d\ntarget=t\ntable=x\n", 2,
				"unknown key \"status\" in [lakesync]");
}

Test(sync_config, nul_byte)
{
	static const char text[] = "[pipeline.p]\nsource=s\0x\ntarget=t\ntables=a\n";
	lk_error err;
	lk_error_clear(&err);
	sy_config_file *cf = sy_config_parse(text, sizeof(text) - 1, "t.conf", &err);
	cr_assert_null(cf);
	cr_assert_str_eq(err.msg, "the file holds a NUL byte");
	cr_assert_str_eq(err.where, "file \"t.conf\", line 2");
}

Test(sync_config, load_file)
{
	char path[] = "/tmp/test_sync_config_XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	const char *text = "[synced.s]\nsource=d\ntarget=t\ntable=x\n";
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
	close(fd);
	lk_error err;
	lk_error_clear(&err);
	sy_config_file *cf = sy_config_load(path, &err);
	cr_assert(cf, "%s", err.msg);
	cr_assert_str_eq(cf->path, path);
	char want[64];
	snprintf(want, sizeof(want), "%s.status.json", path);
	cr_assert_str_eq(cf->status_file, want);
	sy_config_free(cf);
	unlink(path);

	lk_error_clear(&err);
	cr_assert_null(sy_config_load(path, &err));
	cr_assert_eq(err.code, LK_ERR_NOT_FOUND);
	char msg[128];
	snprintf(msg, sizeof(msg), "could not open configuration file \"%s\": No such file or "
			 "directory", path);
	cr_assert_str_eq(err.msg, msg);
}

/* ---- sync/status: the pure parts and the Delta readers ------------------------- */

#include <sys/stat.h>
#include <sys/time.h>

#include "sync/status.h"

Test(sync_status, state_rule)
{
	sy_run_entry run;
	memset(&run, 0, sizeof(run));
	run.state = SY_RUN_RUNNING;
	cr_assert_str_eq(sy_status_table_state(true, &run, false, -1, false), "snapshot");
	cr_assert_str_eq(sy_status_table_state(true, &run, false, 100, false), "streaming");
	cr_assert_str_eq(sy_status_table_state(true, &run, true, 100, true), "error");
	run.state = SY_RUN_BACKOFF;
	cr_assert_str_eq(sy_status_table_state(true, &run, false, 100, false), "error");
	run.state = SY_RUN_STARTING;
	cr_assert_str_eq(sy_status_table_state(true, &run, false, -1, false), "not started");
	cr_assert_str_eq(sy_status_table_state(true, &run, false, 5, false), "stopped");
	run.state = SY_RUN_STOPPED;
	cr_assert_str_eq(sy_status_table_state(true, &run, false, 5, false), "stopped");
	/* a dead run's entry says nothing; another process may hold the slot */
	run.state = SY_RUN_RUNNING;
	cr_assert_str_eq(sy_status_table_state(false, &run, false, 5, false), "stopped");
	cr_assert_str_eq(sy_status_table_state(false, &run, true, 5, false), "streaming");
	cr_assert_str_eq(sy_status_table_state(false, NULL, true, -1, false), "snapshot");
	cr_assert_str_eq(sy_status_table_state(false, NULL, false, -1, false), "not started");
}

Test(sync_status, group_digits)
{
	char b[32];
	cr_assert_str_eq(sy_status_group_digits(0, b), "0");
	cr_assert_str_eq(sy_status_group_digits(999, b), "999");
	cr_assert_str_eq(sy_status_group_digits(1000, b), "1,000");
	cr_assert_str_eq(sy_status_group_digits(1234567, b), "1,234,567");
	cr_assert_str_eq(sy_status_group_digits(-1234567, b), "-1,234,567");
	cr_assert_str_eq(sy_status_group_digits(INT64_MIN, b), "-9,223,372,036,854,775,808");
}

static int64_t
now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

Test(sync_status, run_file_round_trip)
{
	char dir[] = "/tmp/test_sync_status_XXXXXX";
	cr_assert(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/st.json", dir);
	sy_run_entry e[2];
	memset(e, 0, sizeof(e));
	e[0].kind = 'p';
	snprintf(e[0].name, sizeof(e[0].name), "orders");
	e[0].state = SY_RUN_BACKOFF;
	e[0].restarts = 3;
	e[0].since_ms = 1700000000123;
	e[0].retry_at_ms = 1700000004123;
	snprintf(e[0].last_error, sizeof(e[0].last_error), "table \"public.x\" does not exist");
	e[0].rows = 42;
	e[0].version = -1;
	e[1].kind = 's';
	snprintf(e[1].name, sizeof(e[1].name), "daily");
	e[1].state = SY_RUN_RUNNING;
	e[1].version = 17;
	int64_t now = now_ms();
	sy_run_status rs = {.pid = (int) getpid(), .running = true, .started_ms = now - 5000,
						.updated_ms = now, .entries = e, .n = 2};
	lk_error err;
	lk_error_clear(&err);
	cr_assert(sy_run_status_write(path, &rs, &err), "%s", err.msg);

	sy_run_status got;
	cr_assert(sy_run_status_read(path, &got, &err), "%s", err.msg);
	cr_assert_eq(got.pid, (int) getpid());
	cr_assert(got.running);
	cr_assert_eq(got.started_ms, now - 5000);
	cr_assert_eq(got.n, 2);
	const sy_run_entry *p = sy_run_status_find(&got, 'p', "orders");
	cr_assert_not_null(p);
	cr_assert_eq(p->state, SY_RUN_BACKOFF);
	cr_assert_eq(p->restarts, 3);
	cr_assert_eq(p->since_ms, 1700000000123);
	cr_assert_eq(p->retry_at_ms, 1700000004123);
	cr_assert_str_eq(p->last_error, "table \"public.x\" does not exist");
	cr_assert_eq(p->rows, 42);
	const sy_run_entry *s = sy_run_status_find(&got, 's', "daily");
	cr_assert_not_null(s);
	cr_assert_eq(s->state, SY_RUN_RUNNING);
	cr_assert_eq(s->version, 17);
	cr_assert_null(sy_run_status_find(&got, 's', "orders"));
	/* alive: our own pid, written just now */
	cr_assert(sy_run_status_alive(&got, now + 1000));
	cr_assert_not(sy_run_status_alive(&got, now + 16000));     /* stale */
	got.running = false;
	cr_assert_not(sy_run_status_alive(&got, now));
	sy_run_status_free(&got);

	/* corrupt and missing files */
	FILE *f = fopen(path, "w");
	fputs("{\"pid\": 1,\n  oops", f);
	fclose(f);
	lk_error_clear(&err);
	cr_assert_not(sy_run_status_read(path, &got, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	unlink(path);
	lk_error_clear(&err);
	cr_assert_not(sy_run_status_read(path, &got, &err));
	cr_assert_eq(err.code, LK_ERR_NOT_FOUND);
	rmdir(dir);
}

static void
put(const char *dir, const char *name, const char *text)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f, "%s", p);
	fputs(text, f);
	fclose(f);
}

#define V0 \
	"{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n" \
	"{\"metaData\":{\"id\":\"x\",\"format\":{\"provider\":\"parquet\",\"options\":{}}," \
	"\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":" \
	"\\\"id\\\",\\\"type\\\":\\\"long\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\"," \
	"\"partitionColumns\":[],\"configuration\":{},\"createdTime\":1}}\n" \
	"{\"add\":{\"path\":\"a.parquet\",\"partitionValues\":{},\"size\":100," \
	"\"modificationTime\":1,\"dataChange\":true,\"stats\":\"{\\\"numRecords\\\":7}\"}}\n" \
	"{\"txn\":{\"appId\":\"lakesync/p/public.t\",\"version\":100}}\n"
#define V1 \
	"{\"add\":{\"path\":\"b.parquet\",\"partitionValues\":{},\"size\":50," \
	"\"modificationTime\":2,\"dataChange\":true,\"stats\":\"{\\\"numRecords\\\":5}\"}}\n" \
	"{\"txn\":{\"appId\":\"other\",\"version\":999}}\n" \
	"{\"txn\":{\"appId\":\"lakesync/p/public.t\",\"version\":200}}\n"
#define V2 \
	"{\"add\":{\"path\":\"c.parquet\",\"partitionValues\":{},\"size\":10," \
	"\"modificationTime\":3,\"dataChange\":true}}\n"

Test(sync_status, read_delta_and_watch)
{
	char dir[] = "/tmp/test_sync_status_XXXXXX";
	cr_assert(mkdtemp(dir));
	char log[128];
	snprintf(log, sizeof(log), "%s/_delta_log", dir);
	lk_error err;
	lk_error_clear(&err);
	lk_arena a;
	lk_arena_init(&a, 0);

	/* no table yet: not an error */
	sy_status_table t;
	memset(&t, 0, sizeof(t));
	cr_assert(sy_status_read_delta(dir, "lakesync/p/public.t", &t, &a, &err), "%s", err.msg);
	cr_assert_not(t.delta_exists);
	cr_assert_eq(t.delta_version, -1);
	cr_assert_eq(t.txn_version, -1);

	sy_delta_watch w;
	cr_assert(sy_delta_watch_open(&w, dir, "lakesync/p/public.t", &err), "%s", err.msg);
	bool changed = true;
	cr_assert(sy_delta_watch_poll(&w, &changed, &err), "%s", err.msg);
	cr_assert_not(changed);
	cr_assert_eq(w.version, -1);

	cr_assert_eq(mkdir(log, 0755), 0);
	put(log, "00000000000000000000.json", V0);
	put(log, "00000000000000000001.json", V1);
	cr_assert(sy_delta_watch_poll(&w, &changed, &err), "%s", err.msg);
	cr_assert(changed);
	cr_assert_eq(w.version, 1);
	cr_assert_eq(w.txn_version, 200);
	cr_assert(w.seen_ms > 0);
	cr_assert(sy_delta_watch_poll(&w, &changed, &err));
	cr_assert_not(changed);

	cr_assert(sy_status_read_delta(dir, "lakesync/p/public.t", &t, &a, &err), "%s", err.msg);
	cr_assert(t.delta_exists);
	cr_assert_eq(t.delta_version, 1);
	cr_assert_eq(t.rows, 12);
	cr_assert_eq(t.files, 2);
	cr_assert_eq(t.bytes, 150);
	cr_assert_eq(t.txn_version, 200);
	cr_assert(t.last_commit_ms > 0);

	/* a file without stats: rows unknown; a commit without txn keeps the
	 * watch's txn version */
	put(log, "00000000000000000002.json", V2);
	cr_assert(sy_status_read_delta(dir, "lakesync/p/public.t", &t, &a, &err), "%s", err.msg);
	cr_assert_eq(t.rows, -1);
	cr_assert_eq(t.delta_version, 2);
	cr_assert(sy_delta_watch_poll(&w, &changed, &err));
	cr_assert(changed);
	cr_assert_eq(w.version, 2);
	cr_assert_eq(w.txn_version, 200);
	sy_delta_watch_close(&w);

	/* a corrupt log is an error, not a missing table */
	put(log, "00000000000000000003.json", "{not json\n");
	lk_error_clear(&err);
	cr_assert_not(sy_status_read_delta(dir, "lakesync/p/public.t", &t, &a, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT, "code %d: %s", err.code, err.msg);
	lk_arena_free(&a);

	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}
