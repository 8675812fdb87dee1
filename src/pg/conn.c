/*
 * conn.c — libpq connections, session settings, prerequisite checks,
 * publications, slots and the column catalog (see conn.h).
 *
 * Every statement is a simple query whose values are quoted by libpq
 * (PQescapeLiteral / PQescapeIdentifier), so each helper also works on a
 * replication=database connection.  No message ever contains the DSN as
 * given: only pgc_dsn_redact()'s copy.
 */
#include "pg/conn.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "pg/pgoutput.h"

#define PGC_MASK "********"

/* ---- DSN redaction ---------------------------------------------------- */

static bool
is_uri(const char *s)
{
	return strncmp(s, "postgresql://", 13) == 0 ||
		   strncmp(s, "postgres://", 11) == 0;
}

/* URI: postgresql://[user[:password]@][hosts][/db][?k=v&password=x...] */
static void
redact_uri(lk_buf *b, const char *s)
{
	const char *p = strchr(s, ':') + 3;       /* after "://" */
	lk_buf_append(b, s, (size_t) (p - s));

	/* libpq takes the user info up to the first '@' before any '/' */
	const char *at = p;
	while (*at && *at != '@' && *at != '/')
		at++;
	if (*at == '@') {
		const char *colon = memchr(p, ':', (size_t) (at - p));
		if (colon) {
			lk_buf_append(b, p, (size_t) (colon + 1 - p));
			lk_buf_append_str(b, PGC_MASK);
		} else {
			lk_buf_append(b, p, (size_t) (at - p));
		}
		p = at;
	}
	const char *q = strchr(p, '?');
	if (!q) {
		lk_buf_append_str(b, p);
		return;
	}
	lk_buf_append(b, p, (size_t) (q + 1 - p));
	p = q + 1;
	while (*p) {
		const char *end = strchr(p, '&');
		if (!end)
			end = p + strlen(p);
		const char *eq = memchr(p, '=', (size_t) (end - p));
		if (eq && eq - p == 8 && strncasecmp(p, "password", 8) == 0) {
			lk_buf_append(b, p, (size_t) (eq + 1 - p));
			lk_buf_append_str(b, PGC_MASK);
		} else {
			lk_buf_append(b, p, (size_t) (end - p));
		}
		p = end;
		if (*p == '&') {
			lk_buf_append_byte(b, '&');
			p++;
		}
	}
}

/* key = value pairs, as libpq's conninfo_parse reads them: value is
 * 'single quoted' (backslash escapes the next char) or runs to the next
 * white space (backslash escapes too).  Never fails: text that does not
 * parse is copied as it is. */
static void
redact_keyvalue(lk_buf *b, const char *s)
{
	const char *p = s;
	while (*p) {
		if (isspace((unsigned char) *p)) {
			lk_buf_append_byte(b, (uint8_t) *p++);
			continue;
		}
		const char *key = p;
		while (*p && *p != '=' && !isspace((unsigned char) *p))
			p++;
		size_t keylen = (size_t) (p - key);
		lk_buf_append(b, key, keylen);
		const char *sp = p;
		while (isspace((unsigned char) *p))
			p++;
		if (*p != '=') {
			/* not key=value: copy the spaces, go on with the next word */
			lk_buf_append(b, sp, (size_t) (p - sp));
			continue;
		}
		p++;
		while (isspace((unsigned char) *p))
			p++;
		lk_buf_append(b, sp, (size_t) (p - sp));
		const char *val = p;
		if (*p == '\'') {
			p++;
			while (*p && *p != '\'') {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
			if (*p == '\'')
				p++;
		} else {
			while (*p && !isspace((unsigned char) *p)) {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
		}
		if (keylen == 8 && strncasecmp(key, "password", 8) == 0)
			lk_buf_append_str(b, PGC_MASK);
		else
			lk_buf_append(b, val, (size_t) (p - val));
	}
}

char *
pgc_dsn_redact(const char *dsn)
{
	lk_buf b = LK_BUF_INIT;

	if (!dsn)
		dsn = "";
	if (is_uri(dsn))
		redact_uri(&b, dsn);
	else
		redact_keyvalue(&b, dsn);
	lk_buf_cstr(&b);
	return (char *) lk_buf_detach(&b, NULL);
}

/* ---- errors ------------------------------------------------------------ */

/* Copy src into dst (size n) with line breaks and tabs made spaces and
 * trailing white space removed. */
static void
one_line(char *dst, size_t n, const char *src)
{
	size_t i = 0;
	for (; src && *src && i + 1 < n; src++)
		dst[i++] = (*src == '\n' || *src == '\r' || *src == '\t') ? ' ' : *src;
	while (i > 0 && dst[i - 1] == ' ')
		i--;
	dst[i] = '\0';
}

static bool
sqlstate_is_connection_loss(const char *st)
{
	/* 08xxx connection exception, 57P01..57P03 admin/crash shutdown,
	 * cannot connect now */
	return (st[0] == '0' && st[1] == '8') ||
		   strcmp(st, "57P01") == 0 || strcmp(st, "57P02") == 0 ||
		   strcmp(st, "57P03") == 0;
}

bool
pgc_error_from_result(pgc_conn *c, const PGresult *res, const char *context,
					  lk_error *err)
{
	char primary[384], detail[256], hint[256];
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *pm = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (!pm || !*pm) {
		pm = res ? PQresultErrorMessage(res) : NULL;
		if (!pm || !*pm)
			pm = c && c->pg ? PQerrorMessage(c->pg) : "no connection";
		if (!*pm)
			pm = "unknown error";
	}
	one_line(primary, sizeof(primary), pm);
	one_line(detail, sizeof(detail),
			 res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL);
	one_line(hint, sizeof(hint),
			 res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL);
	if (c) {
		snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", st ? st : "");
	}

	lk_error_code code = LK_ERR_PG;
	if (!c || !c->pg || PQstatus(c->pg) == CONNECTION_BAD ||
		(st && sqlstate_is_connection_loss(st)))
		code = LK_ERR_IO;
	if (c && code == LK_ERR_IO)
		c->broken = true;
	lk_error_set(err, code, "%s: %s%s%s%s%s%s", context, primary,
				 detail[0] ? " (detail: " : "", detail, detail[0] ? ")" : "",
				 hint[0] ? " hint: " : "", hint);
	if (st && *st)
		lk_error_where(err, "sqlstate %s", st);
	else
		lk_error_where(err, "%s", code == LK_ERR_IO ? "connection lost" : "");
	return false;
}

/* ---- connecting --------------------------------------------------------- */

bool
pgc_check_server_version(int v, lk_error *err)
{
	if (v >= PGC_MIN_SERVER_VERSION)
		return true;
	if (v <= 0)
		return lk_error_set(err, LK_ERR_UNSUPPORTED,
							"could not determine the server version");
	if (v >= 100000)
		return lk_error_set(err, LK_ERR_UNSUPPORTED,
							"PostgreSQL %d.%d is not supported: lakesync needs "
							"PostgreSQL 14 or later",
							v / 10000, v % 10000);
	return lk_error_set(err, LK_ERR_UNSUPPORTED,
						"PostgreSQL %d.%d.%d is not supported: lakesync needs "
						"PostgreSQL 14 or later",
						v / 10000, (v / 100) % 100, v % 100);
}

static const char session_settings[] =
	"SET DateStyle = 'ISO'; SET TimeZone = 'UTC'; "
	"SET IntervalStyle = 'iso_8601'; SET extra_float_digits = 3; "
	"SET bytea_output = 'hex'; SET client_encoding = 'UTF8'; "
	"SET application_name = 'lakesync'";

/* Server notices go to the log (WARNING as warn, the rest as debug), not
 * raw stderr. */
static void
notice_to_log(void *arg, const char *message)
{
	char m[512];
	one_line(m, sizeof(m), message);
	if (strncmp(m, "WARNING", 7) == 0)
		lk_warn("postgres: %s", m);
	else
		lk_debug("postgres: %s", m);
}

pgc_conn *
pgc_connect(const char *dsn, bool replication, lk_error *err)
{
	const char *kw[] = {"dbname", "replication", "client_encoding",
						"application_name", NULL};
	const char *val[] = {dsn ? dsn : "", replication ? "database" : "false",
						 "UTF8", "lakesync", NULL};
	pgc_conn *c = lk_xcalloc(1, sizeof(*c));

	c->dsn_redacted = pgc_dsn_redact(dsn);
	c->replication = replication;
	c->pg = PQconnectdbParams(kw, val, 1);
	if (!c->pg) {
		lk_error_set(err, LK_ERR_NOMEM, "could not allocate a connection");
		goto fail;
	}
	if (PQstatus(c->pg) != CONNECTION_OK) {
		char m[400];
		one_line(m, sizeof(m), PQerrorMessage(c->pg));
		lk_error_set(err, LK_ERR_IO, "could not connect%s: %s",
					 replication ? " for replication" : "", m);
		lk_error_where(err, "dsn \"%s\"", c->dsn_redacted);
		goto fail;
	}
	PQsetNoticeProcessor(c->pg, notice_to_log, NULL);
	c->server_version = PQserverVersion(c->pg);
	if (!pgc_check_server_version(c->server_version, err)) {
		lk_error_where(err, "dsn \"%s\"", c->dsn_redacted);
		goto fail;
	}
	if (!pgc_exec(c, session_settings, err)) {
		lk_error_add_where(err, "dsn \"%s\"", c->dsn_redacted);
		goto fail;
	}
	return c;

fail:
	pgc_close(c);
	return NULL;
}

void
pgc_close(pgc_conn *c)
{
	if (!c)
		return;
	if (c->pg)
		PQfinish(c->pg);
	free(c->dsn_redacted);
	free(c);
}

bool
pgc_is_broken(const pgc_conn *c)
{
	return !c || !c->pg || c->broken || PQstatus(c->pg) == CONNECTION_BAD;
}

/* ---- statements --------------------------------------------------------- */

/* First line of the statement, shortened, for "could not run ..." */
static void
sql_context(char *dst, size_t n, const char *sql)
{
	char line[72];
	one_line(line, sizeof(line), sql);
	snprintf(dst, n, "could not run \"%s%s\"", line,
			 strlen(sql) >= sizeof(line) - 1 ? "..." : "");
}

bool
pgc_exec(pgc_conn *c, const char *sql, lk_error *err)
{
	char ctx[128];
	PGresult *res = PQexec(c->pg, sql);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		PQclear(res);
		c->sqlstate[0] = '\0';
		return true;
	}
	sql_context(ctx, sizeof(ctx), sql);
	if (st == PGRES_COPY_OUT || st == PGRES_COPY_IN || st == PGRES_COPY_BOTH) {
		PQclear(res);
		return lk_error_set(err, LK_ERR_INVALID,
							"%s: a COPY statement needs its own API", ctx);
	}
	pgc_error_from_result(c, res, ctx, err);
	PQclear(res);
	return false;
}

PGresult *
pgc_query(pgc_conn *c, const char *sql, lk_error *err)
{
	char ctx[128];
	PGresult *res = PQexec(c->pg, sql);

	if (res && PQresultStatus(res) == PGRES_TUPLES_OK) {
		c->sqlstate[0] = '\0';
		return res;
	}
	sql_context(ctx, sizeof(ctx), sql);
	if (res && PQresultStatus(res) == PGRES_COMMAND_OK)
		lk_error_set(err, LK_ERR_INVALID, "%s: returned no rows", ctx);
	else
		pgc_error_from_result(c, res, ctx, err);
	PQclear(res);
	return NULL;
}

char *
pgc_quote_ident(pgc_conn *c, lk_arena *a, const char *s, lk_error *err)
{
	char *q = PQescapeIdentifier(c->pg, s, strlen(s));
	if (!q) {
		char m[256];
		one_line(m, sizeof(m), PQerrorMessage(c->pg));
		lk_error_set(err, LK_ERR_INVALID, "could not quote identifier: %s", m);
		return NULL;
	}
	char *r = lk_arena_strdup(a, q);
	PQfreemem(q);
	return r;
}

char *
pgc_quote_literal(pgc_conn *c, lk_arena *a, const char *s, lk_error *err)
{
	char *q = PQescapeLiteral(c->pg, s, strlen(s));
	if (!q) {
		char m[256];
		one_line(m, sizeof(m), PQerrorMessage(c->pg));
		lk_error_set(err, LK_ERR_INVALID, "could not quote literal: %s", m);
		return NULL;
	}
	char *r = lk_arena_strdup(a, q);
	PQfreemem(q);
	return r;
}

/* ---- table names --------------------------------------------------------- */

#define PGC_NAMEDATALEN 64

/* One part of a qualified name at *pp; advances *pp past it. */
static char *
parse_name_part(const char **pp, lk_arena *a, const char *text, lk_error *err)
{
	const char *p = *pp;
	lk_buf b = LK_BUF_INIT;
	char *r = NULL;

	if (*p == '"') {
		p++;
		for (;;) {
			if (!*p) {
				lk_error_set(err, LK_ERR_INVALID,
							 "unterminated quoted name in \"%s\"", text);
				goto out;
			}
			if (*p == '"') {
				if (p[1] != '"')
					break;
				p++;
			}
			lk_buf_append_byte(&b, (uint8_t) *p++);
		}
		p++;
		if (*p && *p != '.') {
			lk_error_set(err, LK_ERR_INVALID,
						 "unexpected text after a quoted name in \"%s\"", text);
			goto out;
		}
	} else {
		while (*p && *p != '.') {
			unsigned char ch = (unsigned char) *p;
			if (ch == '"' || isspace(ch) || ch < 0x20) {
				lk_error_set(err, LK_ERR_INVALID,
							 "invalid table name \"%s\": quote names that contain "
							 "spaces or quotes", text);
				goto out;
			}
			lk_buf_append_byte(&b, (uint8_t) tolower(ch));
			p++;
		}
	}
	if (b.len == 0) {
		lk_error_set(err, LK_ERR_INVALID, "empty name in \"%s\"", text);
		goto out;
	}
	if (b.len >= PGC_NAMEDATALEN) {
		lk_error_set(err, LK_ERR_INVALID,
					 "name too long in \"%s\" (at most %d bytes)", text,
					 PGC_NAMEDATALEN - 1);
		goto out;
	}
	r = lk_arena_strndup(a, (const char *) b.data, b.len);
	*pp = p;
out:
	lk_buf_free(&b);
	return r;
}

bool
pgc_table_name_parse(const char *text, lk_arena *a, pgc_table_name *out,
					 lk_error *err)
{
	const char *p = text;
	char *first, *second = NULL;

	if (!text)
		return lk_error_set(err, LK_ERR_INVALID, "missing table name");
	first = parse_name_part(&p, a, text, err);
	if (!first)
		return false;
	if (*p == '.') {
		p++;
		second = parse_name_part(&p, a, text, err);
		if (!second)
			return false;
		if (*p)
			return lk_error_set(err, LK_ERR_INVALID,
								"invalid table name \"%s\": expected schema.table",
								text);
	}
	out->schema = second ? first : "public";
	out->name = second ? second : first;
	return true;
}

/* "schema.table" for messages */
static void
table_label(char *dst, size_t n, const pgc_table_name *t)
{
	snprintf(dst, n, "%s.%s", t->schema, t->name);
}

/* ---- prerequisites ------------------------------------------------------- */

static void
append_problem(lk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
append_problem(lk_buf *b, const char *fmt, ...)
{
	char m[320];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	if (b->len)
		lk_buf_append_str(b, "; ");
	lk_buf_append_str(b, m);
}

bool
pgc_check_replication(pgc_conn *c, int new_slots, lk_error *err)
{
	PGresult *r = pgc_query(
		c,
		"SELECT current_setting('wal_level'), "
		"current_setting('max_replication_slots')::int, "
		"(SELECT count(*) FROM pg_replication_slots)::int, "
		"current_setting('max_wal_senders')::int, "
		"(SELECT count(*) FROM pg_stat_activity "
		"  WHERE backend_type = 'walsender')::int, "
		"r.rolreplication, r.rolsuper, current_user "
		"FROM pg_roles r WHERE r.rolname = current_user",
		err);
	if (!r)
		return false;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return lk_error_set(err, LK_ERR_INTERNAL, "could not read the current role");
	}
	const char *wal_level = PQgetvalue(r, 0, 0);
	int max_slots = atoi(PQgetvalue(r, 0, 1));
	int used_slots = atoi(PQgetvalue(r, 0, 2));
	int max_senders = atoi(PQgetvalue(r, 0, 3));
	int used_senders = atoi(PQgetvalue(r, 0, 4));
	bool rolrepl = PQgetvalue(r, 0, 5)[0] == 't';
	bool super = PQgetvalue(r, 0, 6)[0] == 't';
	const char *user = PQgetvalue(r, 0, 7);
	/* this connection, when it is a walsender, is already counted */
	int new_senders = c->replication ? 0 : 1;
	lk_buf b = LK_BUF_INIT;

	if (strcmp(wal_level, "logical") != 0)
		append_problem(&b, "wal_level is \"%s\" but logical replication needs "
						   "\"logical\": set wal_level = logical in "
						   "postgresql.conf and restart the server",
					   wal_level);
	if (new_slots > 0 && max_slots - used_slots < new_slots)
		append_problem(&b, "no free replication slot (max_replication_slots = %d, "
						   "%d in use): raise max_replication_slots in "
						   "postgresql.conf and restart, or drop unused slots",
					   max_slots, used_slots);
	if (max_senders - used_senders < new_senders)
		append_problem(&b, "no free wal sender (max_wal_senders = %d, %d running): "
						   "raise max_wal_senders in postgresql.conf and restart",
					   max_senders, used_senders);
	if (!rolrepl && !super)
		append_problem(&b, "role \"%s\" has neither REPLICATION nor superuser: "
						   "ALTER ROLE \"%s\" REPLICATION (as a superuser)",
					   user, user);
	PQclear(r);
	if (b.len) {
		lk_error_set(err, LK_ERR_UNSUPPORTED, "server not ready for logical "
					 "replication: %s", lk_buf_cstr(&b));
		lk_error_where(err, "dsn \"%s\"", c->dsn_redacted);
		lk_buf_free(&b);
		return false;
	}
	return true;
}

/* Look a table up: 1 row (oid, relkind, relreplident, has_pk, has
 * replident index) or 0 rows.  Returns NULL on error. */
static PGresult *
lookup_table(pgc_conn *c, const pgc_table_name *t, lk_error *err)
{
	lk_arena a;
	lk_arena_init(&a, 1024);
	PGresult *r = NULL;
	char *ns = pgc_quote_literal(c, &a, t->schema, err);
	char *rel = ns ? pgc_quote_literal(c, &a, t->name, err) : NULL;
	if (rel) {
		char *sql = lk_arena_sprintf(
			&a,
			"SELECT c.oid, c.relkind, c.relreplident, "
			"EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid "
			"        AND i.indisprimary), "
			"EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid "
			"        AND i.indisreplident) "
			"FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
			"WHERE n.nspname = %s AND c.relname = %s",
			ns, rel);
		r = pgc_query(c, sql, err);
	}
	lk_arena_free(&a);
	return r;
}

static const char *
relkind_name(char k)
{
	switch (k) {
	case 'v': return "a view";
	case 'm': return "a materialized view";
	case 'f': return "a foreign table";
	case 'S': return "a sequence";
	case 'i': case 'I': return "an index";
	case 'c': return "a composite type";
	case 't': return "a TOAST table";
	default: return "not a table";
	}
}

bool
pgc_check_tables(pgc_conn *c, const pgc_table_name *tables, size_t n,
				 pgc_table_info *infos, lk_error *err)
{
	lk_buf missing = LK_BUF_INIT;
	size_t nmissing = 0;

	for (size_t i = 0; i < n; i++) {
		char label[160];
		table_label(label, sizeof(label), &tables[i]);
		PGresult *r = lookup_table(c, &tables[i], err);
		if (!r) {
			lk_error_add_where(err, "table \"%s\"", label);
			lk_buf_free(&missing);
			return false;
		}
		memset(&infos[i], 0, sizeof(infos[i]));
		if (PQntuples(r) == 0) {
			if (nmissing++)
				lk_buf_append_str(&missing, ", ");
			lk_buf_printf(&missing, "\"%s\"", label);
			PQclear(r);
			continue;
		}
		pgc_table_info *ti = &infos[i];
		ti->relid = (uint32_t) strtoul(PQgetvalue(r, 0, 0), NULL, 10);
		ti->relkind = PQgetvalue(r, 0, 1)[0];
		ti->replident = PQgetvalue(r, 0, 2)[0];
		ti->has_pk = PQgetvalue(r, 0, 3)[0] == 't';
		bool idx = PQgetvalue(r, 0, 4)[0] == 't';
		PQclear(r);
		ti->has_identity = (ti->replident == 'd' && ti->has_pk) ||
						   ti->replident == 'f' ||
						   (ti->replident == 'i' && idx);
		if (ti->relkind != 'r' && ti->relkind != 'p') {
			lk_buf_free(&missing);
			lk_error_set(err, LK_ERR_UNSUPPORTED,
						 "\"%s\" is %s: only tables can be replicated", label,
						 relkind_name(ti->relkind));
			return lk_error_where(err, "table \"%s\"", label);
		}
	}
	if (nmissing) {
		lk_error_set(err, LK_ERR_NOT_FOUND, "%s %s %s",
					 nmissing == 1 ? "table" : "tables", lk_buf_cstr(&missing),
					 nmissing == 1 ? "does not exist" : "do not exist");
		lk_buf_free(&missing);
		return false;
	}
	lk_buf_free(&missing);
	return true;
}

/* ---- publications ------------------------------------------------------ */

/* Append "ns"."rel" quoted with libpq. */
static bool
append_qualified(pgc_conn *c, lk_arena *a, lk_buf *b, const pgc_table_name *t,
				 lk_error *err)
{
	char *ns = pgc_quote_ident(c, a, t->schema, err);
	char *rel = ns ? pgc_quote_ident(c, a, t->name, err) : NULL;
	if (!rel)
		return false;
	lk_buf_printf(b, "%s.%s", ns, rel);
	return true;
}

bool
pgc_publication_ensure(pgc_conn *c, const char *pub,
					   const pgc_table_name *tables, size_t n, bool *created,
					   lk_error *err)
{
	lk_arena a;
	lk_buf sql = LK_BUF_INIT;
	PGresult *r = NULL;
	bool ok = false;
	size_t added = 0;

	if (created)
		*created = false;
	if (n == 0)
		return lk_error_set(err, LK_ERR_INVALID,
							"publication \"%s\" needs at least one table", pub);
	lk_arena_init(&a, 4096);
	char *lit = pgc_quote_literal(c, &a, pub, err);
	char *ident = lit ? pgc_quote_ident(c, &a, pub, err) : NULL;
	if (!ident)
		goto out;
	r = pgc_query(c, lk_arena_sprintf(&a, "SELECT puballtables FROM "
										  "pg_publication WHERE pubname = %s", lit),
				  err);
	if (!r)
		goto out;
	if (PQntuples(r) == 0) {
		lk_buf_printf(&sql, "CREATE PUBLICATION %s FOR TABLE ", ident);
		for (size_t i = 0; i < n; i++) {
			if (i)
				lk_buf_append_str(&sql, ", ");
			if (!append_qualified(c, &a, &sql, &tables[i], err))
				goto out;
		}
		if (!pgc_exec(c, lk_buf_cstr(&sql), err)) {
			lk_error_add_where(err, "publication \"%s\"", pub);
			goto out;
		}
		if (created)
			*created = true;
		ok = true;
		goto out;
	}
	if (PQgetvalue(r, 0, 0)[0] == 't') {
		ok = true;              /* FOR ALL TABLES */
		goto out;
	}
	PQclear(r);
	/* explicit members, and members through FOR TABLES IN SCHEMA (15+) */
	r = pgc_query(c, lk_arena_sprintf(
						 &a,
						 "SELECT n.nspname, c.relname FROM pg_publication_rel pr "
						 "JOIN pg_publication p ON p.oid = pr.prpubid "
						 "JOIN pg_class c ON c.oid = pr.prrelid "
						 "JOIN pg_namespace n ON n.oid = c.relnamespace "
						 "WHERE p.pubname = %s "
						 "UNION SELECT schemaname, tablename "
						 "FROM pg_publication_tables WHERE pubname = %s",
						 lit, lit),
				  err);
	if (!r)
		goto out;
	lk_buf_printf(&sql, "ALTER PUBLICATION %s ADD TABLE ", ident);
	for (size_t i = 0; i < n; i++) {
		bool found = false;
		for (int row = 0; row < PQntuples(r) && !found; row++)
			found = strcmp(PQgetvalue(r, row, 0), tables[i].schema) == 0 &&
					strcmp(PQgetvalue(r, row, 1), tables[i].name) == 0;
		/* a table listed twice in tables[] is added once */
		for (size_t j = 0; j < i && !found; j++)
			found = strcmp(tables[j].schema, tables[i].schema) == 0 &&
					strcmp(tables[j].name, tables[i].name) == 0;
		if (found)
			continue;
		if (added++)
			lk_buf_append_str(&sql, ", ");
		if (!append_qualified(c, &a, &sql, &tables[i], err))
			goto out;
	}
	if (added && !pgc_exec(c, lk_buf_cstr(&sql), err)) {
		lk_error_add_where(err, "publication \"%s\"", pub);
		goto out;
	}
	ok = true;
out:
	PQclear(r);
	lk_buf_free(&sql);
	lk_arena_free(&a);
	return ok;
}

bool
pgc_publication_drop(pgc_conn *c, const char *pub, lk_error *err)
{
	lk_arena a;
	lk_arena_init(&a, 1024);
	char *ident = pgc_quote_ident(c, &a, pub, err);
	bool ok = ident &&
			  pgc_exec(c, lk_arena_sprintf(&a, "DROP PUBLICATION IF EXISTS %s", ident),
					   err);
	lk_arena_free(&a);
	return ok;
}

/* ---- slots ------------------------------------------------------------ */

bool
pgc_slot_info_get(pgc_conn *c, const char *name, pgc_slot_info *info,
				  lk_error *err)
{
	lk_arena a;
	bool ok = false;

	memset(info, 0, sizeof(*info));
	lk_arena_init(&a, 1024);
	char *lit = pgc_quote_literal(c, &a, name, err);
	PGresult *r = lit ? pgc_query(
		c,
		lk_arena_sprintf(&a,
						 "SELECT slot_type, coalesce(plugin, ''), "
						 "coalesce(database, ''), active, "
						 "coalesce(active_pid, 0), coalesce(restart_lsn::text, ''), "
						 "coalesce(confirmed_flush_lsn::text, '') "
						 "FROM pg_replication_slots WHERE slot_name = %s",
						 lit),
		err) : NULL;
	if (!r)
		goto out;
	ok = true;
	if (PQntuples(r) == 1) {
		info->exists = true;
		info->logical = strcmp(PQgetvalue(r, 0, 0), "logical") == 0;
		snprintf(info->plugin, sizeof(info->plugin), "%s", PQgetvalue(r, 0, 1));
		snprintf(info->database, sizeof(info->database), "%s", PQgetvalue(r, 0, 2));
		info->active = PQgetvalue(r, 0, 3)[0] == 't';
		info->active_pid = atoi(PQgetvalue(r, 0, 4));
		if (PQgetvalue(r, 0, 5)[0] &&
			!pgo_lsn_parse(PQgetvalue(r, 0, 5), &info->restart_lsn))
			ok = lk_error_set(err, LK_ERR_CORRUPT, "bad restart_lsn \"%s\"",
							  PQgetvalue(r, 0, 5));
		if (PQgetvalue(r, 0, 6)[0] &&
			!pgo_lsn_parse(PQgetvalue(r, 0, 6), &info->confirmed_flush_lsn))
			ok = lk_error_set(err, LK_ERR_CORRUPT, "bad confirmed_flush_lsn \"%s\"",
							  PQgetvalue(r, 0, 6));
	}
	PQclear(r);
out:
	if (!ok)
		lk_error_add_where(err, "slot \"%s\"", name);
	lk_arena_free(&a);
	return ok;
}

bool
pgc_slot_drop(pgc_conn *c, const char *name, bool if_exists, lk_error *err)
{
	lk_arena a;
	lk_arena_init(&a, 1024);
	char *lit = pgc_quote_literal(c, &a, name, err);
	bool ok = false;
	if (lit) {
		const char *sql =
			if_exists
				? lk_arena_sprintf(&a, "SELECT pg_drop_replication_slot(slot_name) "
									   "FROM pg_replication_slots "
									   "WHERE slot_name = %s", lit)
				: lk_arena_sprintf(&a, "SELECT pg_drop_replication_slot(%s)", lit);
		ok = pgc_exec(c, sql, err);
		if (!ok)
			lk_error_add_where(err, "slot \"%s\"", name);
	}
	lk_arena_free(&a);
	return ok;
}

/* ---- columns ------------------------------------------------------------ */

typedef struct type_row {
	uint32_t oid;
	const char *name;
	char typtype;
	char category;
	uint32_t basetype;
	int32_t typmod;
	uint32_t elem;
	bool is_array;
} type_row;

static const type_row *
find_type(const type_row *types, int n, uint32_t oid)
{
	for (int i = 0; i < n; i++)
		if (types[i].oid == oid)
			return &types[i];
	return NULL;
}

/* Follow a domain chain to its base type; *typmod takes the first
 * typtypmod on the way when it is -1.  NULL when a type is missing or the
 * chain is absurdly long. */
static const type_row *
strip_domains(const type_row *types, int n, uint32_t oid, int32_t *typmod)
{
	const type_row *t = find_type(types, n, oid);
	for (int depth = 0; t && t->typtype == 'd'; depth++) {
		if (depth > 64)
			return NULL;
		if (*typmod == -1)
			*typmod = t->typmod;
		t = find_type(types, n, t->basetype);
	}
	return t;
}

static uint32_t
u32_value(const PGresult *r, int row, int col)
{
	return (uint32_t) strtoul(PQgetvalue(r, row, col), NULL, 10);
}

bool
pgc_table_columns(pgc_conn *c, const pgc_table_name *t, lk_arena *a,
				  pgc_table_def *out, lk_error *err)
{
	char label[160];
	pgc_table_info info;
	PGresult *cols = NULL, *typ = NULL;
	bool ok = false;
	lk_arena tmp;

	memset(out, 0, sizeof(*out));
	table_label(label, sizeof(label), t);
	LK_FORWARD(pgc_check_tables(c, t, 1, &info, err));
	lk_arena_init(&tmp, 4096);
	cols = pgc_query(
		c,
		lk_arena_sprintf(
			&tmp,
			"SELECT a.attnum, a.attname, a.atttypid, a.atttypmod, a.attnotnull, "
			"a.attndims, a.attgenerated, "
			"coalesce((SELECT k.n FROM unnest(i.indkey) WITH ORDINALITY "
			"          AS k(att, n) WHERE k.att = a.attnum), 0) "
			"FROM pg_attribute a "
			"LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary "
			"WHERE a.attrelid = %u AND a.attnum > 0 AND NOT a.attisdropped "
			"ORDER BY a.attnum",
			info.relid),
		err);
	if (!cols)
		goto out;
	/* every type the columns reach through domains and array elements */
	typ = pgc_query(
		c,
		lk_arena_sprintf(
			&tmp,
			"WITH RECURSIVE t(oid) AS ("
			" SELECT atttypid FROM pg_attribute"
			"  WHERE attrelid = %u AND attnum > 0 AND NOT attisdropped"
			" UNION"
			" SELECT v.x FROM t JOIN pg_type y ON y.oid = t.oid"
			"  CROSS JOIN LATERAL (VALUES (y.typbasetype), (y.typelem)) v(x)"
			"  WHERE v.x <> 0)"
			"SELECT y.oid, y.typname, y.typtype, y.typcategory, y.typbasetype,"
			" y.typtypmod, y.typelem,"
			" y.typlen = -1 AND y.typelem <> 0"
			"  AND y.typsubscript = 'array_subscript_handler'::regproc"
			"  AND y.oid NOT IN ('int2vector'::regtype, 'oidvector'::regtype) "
			"FROM t JOIN pg_type y ON y.oid = t.oid",
			info.relid),
		err);
	if (!typ)
		goto out;

	int ntypes = PQntuples(typ);
	type_row *types = lk_arena_zalloc(&tmp, sizeof(type_row) * (size_t) (ntypes + 1));
	for (int i = 0; i < ntypes; i++) {
		types[i].oid = u32_value(typ, i, 0);
		types[i].name = lk_arena_strdup(a, PQgetvalue(typ, i, 1));
		types[i].typtype = PQgetvalue(typ, i, 2)[0];
		types[i].category = PQgetvalue(typ, i, 3)[0];
		types[i].basetype = u32_value(typ, i, 4);
		types[i].typmod = (int32_t) atoi(PQgetvalue(typ, i, 5));
		types[i].elem = u32_value(typ, i, 6);
		types[i].is_array = PQgetvalue(typ, i, 7)[0] == 't';
	}

	int n = PQntuples(cols);
	out->relid = info.relid;
	out->ncols = n;
	out->cols = lk_arena_zalloc(a, sizeof(pgc_column) * (size_t) (n ? n : 1));
	for (int i = 0; i < n; i++) {
		pgc_column *col = &out->cols[i];
		col->attnum = atoi(PQgetvalue(cols, i, 0));
		col->name = lk_arena_strdup(a, PQgetvalue(cols, i, 1));
		col->type_oid = u32_value(cols, i, 2);
		col->typmod = (int32_t) atoi(PQgetvalue(cols, i, 3));
		col->not_null = PQgetvalue(cols, i, 4)[0] == 't';
		int attndims = atoi(PQgetvalue(cols, i, 5));
		col->generated = PQgetvalue(cols, i, 6)[0];
		col->pk_pos = atoi(PQgetvalue(cols, i, 7));
		col->is_pk = col->pk_pos > 0;
		if (col->is_pk)
			out->npk++;

		const type_row *decl = find_type(types, ntypes, col->type_oid);
		col->base_typmod = col->typmod;
		const type_row *base = strip_domains(types, ntypes, col->type_oid,
											 &col->base_typmod);
		if (!decl || !base) {
			lk_error_set(err, LK_ERR_INTERNAL,
						 "could not resolve type %u of column \"%s\"",
						 col->type_oid, col->name);
			lk_error_where(err, "table \"%s\"", label);
			goto out;
		}
		col->type_name = decl->name;
		col->typtype = decl->typtype;
		col->base_oid = base->oid;
		col->base_name = base->name;
		col->base_typtype = base->typtype;
		col->base_category = base->category;
		if (base->is_array) {
			const type_row *elem = strip_domains(types, ntypes, base->elem,
												 &col->base_typmod);
			if (!elem) {
				lk_error_set(err, LK_ERR_INTERNAL,
							 "could not resolve the element type %u of column \"%s\"",
							 base->elem, col->name);
				lk_error_where(err, "table \"%s\"", label);
				goto out;
			}
			col->elem_oid = elem->oid;
			col->elem_name = elem->name;
			col->elem_typtype = elem->typtype;
			col->ndims = attndims;
		}
	}
	ok = true;
out:
	PQclear(cols);
	PQclear(typ);
	lk_arena_free(&tmp);
	if (!ok)
		memset(out, 0, sizeof(*out));
	return ok;
}
