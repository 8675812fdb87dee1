/*
 * test_sync_config.c — sync/config: the configuration file of `lakesync
 * run` and `lakesync status` (docs/config.md).  Every value of a full
 * example, every lexical form (quoted, literal, lists, bare SQL names,
 * comments, _env references), and every error with its line.
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
