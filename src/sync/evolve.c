/*
 * evolve.c — schema evolution of a synced table while streaming (see
 * evolve.h for what each change does).
 *
 * Applying a change (sy_evolve_relation, table state streaming):
 *
 *   1 plan      old columns (names, types, attnums) vs the Relation; the
 *               catalog (a normal connection to the source, only when the
 *               columns differ) gives attnums and added columns' defaults
 *   2 settle    rows of finished transactions: sy_table_commit (old
 *               schema, txn = their last commit LSN); rows of the current
 *               transaction (it changed the table before the ALTER): cut
 *               from the batch, kept in the old schema
 *   3 Delta     one commit: protocol + metaData, (mirror, added column
 *               with a default) every live row rewritten; no txn action:
 *               the txn version stays that of the last data commit, so a
 *               crash after it replays exactly the same transactions,
 *               whose Relation then matches
 *   4 rebind    t->cols in Relation order, t->schema, t->delta_src,
 *               t->hist, a new batch; the held rows converted into it
 *
 * Invariant: outside step 2–4, t->schema is the schema of the table's last
 * commit (the batch holds rows of that schema only).
 */
#include "sync/evolve.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/log.h"
#include "delta/evolve.h"
#include "delta/scan.h"
#include "delta/schema.h"
#include "delta/writer.h"
#include "pg/pgtypes.h"
#include "sync/mirror.h"
#include "sync/table.h"

/* table.c's encoding of t->delta_src (table.c "delta_src encoding") */
#define SRC_NONE (-1)
#define SRC_HIST(k) (-2 - (k))

/* First oid of objects users create (FirstNormalObjectId): smaller oids
 * are built-in types. */
#define FIRST_USER_OID 16384

static const lk_type_id hist_types[SY_H_COUNT] = {
	LK_T_STRING, LK_T_LONG, LK_T_LONG, LK_T_TIMESTAMP, LK_T_LONG,
};

/* ---- the catalog ---------------------------------------------------------------- */

bool
sy_evolve_missing_value(const char *s, lk_arena *a, const char **out, lk_error *err)
{
	size_t n = s ? strlen(s) : 0;
	*out = NULL;
	if (n < 2 || s[0] != '{' || s[n - 1] != '}')
		return lk_error_set(err, LK_ERR_CORRUPT, "attmissingval is not an array: \"%.40s\"",
							s ? s : "");
	const char *p = s + 1, *end = s + n - 1;
	if (p == end)
		return lk_error_set(err, LK_ERR_CORRUPT, "attmissingval is an empty array");
	if (*p == '"') {
		char *r = lk_arena_alloc(a, n);
		size_t k = 0;
		p++;
		while (p < end && *p != '"') {
			if (*p == '\\' && p + 1 < end)
				p++;
			r[k++] = *p++;
		}
		if (p + 1 != end)
			return lk_error_set(err, LK_ERR_CORRUPT,
								"attmissingval is not a one-element array: \"%.40s\"", s);
		r[k] = '\0';
		*out = r;
		return true;
	}
	/* unquoted: no delimiter, quote or brace inside (one element) */
	for (const char *q = p; q < end; q++)
		if (*q == '"' || *q == '{' || *q == '}' || *q == ',' || *q == ';' || *q == '\\')
			return lk_error_set(err, LK_ERR_CORRUPT,
								"attmissingval is not a one-element array: \"%.40s\"", s);
	if ((size_t) (end - p) == 4 && strncasecmp(p, "NULL", 4) == 0)
		return true;
	*out = lk_arena_strndup(a, p, (size_t) (end - p));
	return true;
}

bool
sy_evolve_catalog_load(pgc_conn *c, uint32_t relid, lk_arena *a,
					   sy_evolve_catalog *out, lk_error *err)
{
	memset(out, 0, sizeof(*out));
	char sql[1024];
	snprintf(sql, sizeof(sql),
			 "SELECT a.attnum, a.attname, a.attisdropped, a.attgenerated <> '', "
			 "a.atttypid, d.adbin IS NOT NULL, a.atthasmissing, "
			 "CASE WHEN a.atthasmissing THEN a.attmissingval::text END "
			 "FROM pg_attribute a LEFT JOIN pg_attrdef d "
			 "ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
			 "WHERE a.attrelid = %u AND a.attnum > 0 ORDER BY a.attnum",
			 relid);
	PGresult *r = pgc_query(c, sql, err);
	if (!r)
		return lk_error_add_where(err, "catalog of relation %u", relid);
	int n = PQntuples(r);
	out->attrs = lk_arena_zalloc(a, sizeof(sy_evolve_attr) * (size_t) (n + 1));
	for (int i = 0; i < n; i++) {
		sy_evolve_attr *at = &out->attrs[i];
		at->attnum = atoi(PQgetvalue(r, i, 0));
		at->name = lk_arena_strdup(a, PQgetvalue(r, i, 1));
		at->dropped = PQgetvalue(r, i, 2)[0] == 't';
		at->generated = PQgetvalue(r, i, 3)[0] == 't';
		at->type_oid = (uint32_t) strtoul(PQgetvalue(r, i, 4), NULL, 10);
		at->has_default = PQgetvalue(r, i, 5)[0] == 't';
		at->has_missing = PQgetvalue(r, i, 6)[0] == 't';
		if (at->has_missing && !PQgetisnull(r, i, 7) &&
			!sy_evolve_missing_value(PQgetvalue(r, i, 7), a, &at->missing, err)) {
			PQclear(r);
			return lk_error_where(err, "column \"%s\"", at->name);
		}
	}
	out->nattrs = n;
	out->known = true;
	PQclear(r);
	return true;
}

/* ---- type names for messages -------------------------------------------------- */

static const char *
type_text(lk_arena *a, uint32_t oid, int32_t typmod)
{
	int p, s;
	switch (oid) {
	case PGT_OID_BOOL: return "boolean";
	case PGT_OID_INT2: return "smallint";
	case PGT_OID_INT4: return "integer";
	case PGT_OID_INT8: return "bigint";
	case PGT_OID_FLOAT4: return "real";
	case PGT_OID_FLOAT8: return "double precision";
	case PGT_OID_TEXT: return "text";
	case PGT_OID_BYTEA: return "bytea";
	case PGT_OID_UUID: return "uuid";
	case PGT_OID_DATE: return "date";
	case PGT_OID_JSON: return "json";
	case PGT_OID_JSONB: return "jsonb";
	case PGT_OID_NUMERIC:
		if (pgt_numeric_typmod(typmod, &p, &s))
			return lk_arena_sprintf(a, "numeric(%d,%d)", p, s);
		return "numeric";
	case PGT_OID_VARCHAR:
		return typmod >= 4 ? lk_arena_sprintf(a, "varchar(%d)", (int) typmod - 4)
						   : "varchar";
	case PGT_OID_BPCHAR:
		return typmod >= 4 ? lk_arena_sprintf(a, "char(%d)", (int) typmod - 4) : "bpchar";
	case PGT_OID_TIMESTAMP:
		return typmod >= 0 ? lk_arena_sprintf(a, "timestamp(%d)", (int) typmod)
						   : "timestamp";
	case PGT_OID_TIMESTAMPTZ:
		return typmod >= 0 ? lk_arena_sprintf(a, "timestamptz(%d)", (int) typmod)
						   : "timestamptz";
	}
	if (typmod >= 0)
		return lk_arena_sprintf(a, "type %u (typmod %d)", oid, (int) typmod);
	return lk_arena_sprintf(a, "type %u", oid);
}

/* ---- planning ------------------------------------------------------------------ */

static bool
text_like(uint32_t oid)
{
	return oid == PGT_OID_TEXT || oid == PGT_OID_VARCHAR;
}

/* Types whose typmod only bounds precision or length: a larger typmod (or
 * none) keeps every value's text. */
static bool
typmod_bounds_only(uint32_t oid)
{
	switch (oid) {
	case PGT_OID_TIMESTAMP: case PGT_OID_TIMESTAMPTZ: case PGT_OID_TIME:
	case PGT_OID_TIMETZ: case PGT_OID_VARBIT: case PGT_OID_VARCHAR_ARRAY:
		return true;
	}
	return false;
}

static bool
type_refused(const sy_evolve_old *o, const sy_evolve_new *n, const char *why,
			 lk_error *err)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_error_set(err, LK_ERR_UNSUPPORTED,
				 "the type of column \"%s\" changed from %s to %s, %s; the table is "
				 "stopped (resync it: remove its Delta table and run lakesync again)",
				 n->name, type_text(&a, o->type_oid, o->typmod),
				 type_text(&a, n->type_oid, n->typmod), why);
	lk_arena_free(&a);
	return lk_error_where(err, "column \"%s\"", n->name);
}

/* The widenings of sy_evolve_type_ok, told by Delta types alone. */
static bool
delta_widening(const lk_type *f, const lk_type *t)
{
	if (!f || !t)
		return false;
	if (f->id == LK_T_SHORT && (t->id == LK_T_INT || t->id == LK_T_LONG))
		return true;
	if (f->id == LK_T_INT && t->id == LK_T_LONG)
		return true;
	if (f->id == LK_T_FLOAT && t->id == LK_T_DOUBLE)
		return true;
	return f->id == LK_T_DECIMAL && t->id == LK_T_DECIMAL && dl_type_widening_allowed(f, t);
}

bool
sy_evolve_type_ok(const sy_evolve_old *o, const sy_evolve_new *n, bool *widen,
				  lk_error *err)
{
	*widen = false;
	if (o->type_oid == n->type_oid && o->typmod == n->typmod)
		return true;
	bool same_delta = o->delta_type && n->delta_type &&
					  lk_type_equal(o->delta_type, n->delta_type);
	if (o->type_oid == 0) {
		/* a column known from the Delta schema only (sy_evolve_open) */
		if (same_delta)
			return true;
		if (delta_widening(o->delta_type, n->delta_type)) {
			*widen = true;
			return true;
		}
		lk_arena a;
		lk_arena_init(&a, 0);
		lk_error_set(err, LK_ERR_UNSUPPORTED,
					 "the type of column \"%s\" changed from %s (the Delta table's type) to "
					 "%s, which is not a compatible widening; the table is stopped (resync "
					 "it: remove its Delta table and run lakesync again)", n->name,
					 o->delta_type ? lk_type_name(&a, o->delta_type) : "?",
					 type_text(&a, n->type_oid, n->typmod));
		lk_arena_free(&a);
		return lk_error_where(err, "column \"%s\"", n->name);
	}
	if (same_delta) {
		if (text_like(o->type_oid) && text_like(n->type_oid))
			return true;
		if (o->type_oid == n->type_oid && typmod_bounds_only(o->type_oid) &&
			(n->typmod < 0 || (o->typmod >= 0 && n->typmod >= o->typmod)))
			return true;
		if (o->type_oid == PGT_OID_NUMERIC && n->type_oid == PGT_OID_NUMERIC) {
			/* both numeric mapped to string: the text stays when the scale
			 * does (or the new column is unconstrained) */
			int p0, s0, p1, s1;
			if (n->typmod < 0)
				return true;
			if (pgt_numeric_typmod(o->typmod, &p0, &s0) &&
				pgt_numeric_typmod(n->typmod, &p1, &s1) && p1 >= p0 && s1 == s0)
				return true;
		}
		return type_refused(o, n, "which may change the values (PostgreSQL rewrote the "
							"table without sending its rows)", err);
	}
	uint32_t f = o->type_oid, t = n->type_oid;
	bool ok = (f == PGT_OID_INT2 && (t == PGT_OID_INT4 || t == PGT_OID_INT8)) ||
			  (f == PGT_OID_INT4 && t == PGT_OID_INT8) ||
			  (f == PGT_OID_FLOAT4 && t == PGT_OID_FLOAT8) ||
			  (f == PGT_OID_NUMERIC && t == PGT_OID_NUMERIC && o->delta_type &&
			   n->delta_type && o->delta_type->id == LK_T_DECIMAL &&
			   n->delta_type->id == LK_T_DECIMAL &&
			   dl_type_widening_allowed(o->delta_type, n->delta_type));
	if (!ok)
		return type_refused(o, n, "which is not a compatible widening (int2 → int4 → "
							"int8, float4 → float8, numeric(p,s) → numeric(p',s') with "
							"p'-s' ≥ p-s and s' ≥ s, varchar(n) → longer or text)", err);
	*widen = true;
	return true;
}

static const sy_evolve_attr *
attr_by_name(const sy_evolve_catalog *cat, const char *name)
{
	for (int i = 0; cat && cat->known && i < cat->nattrs; i++)
		if (!cat->attrs[i].dropped && strcmp(cat->attrs[i].name, name) == 0)
			return &cat->attrs[i];
	return NULL;
}

static const sy_evolve_attr *
attr_by_num(const sy_evolve_catalog *cat, int attnum)
{
	for (int i = 0; cat && cat->known && attnum > 0 && i < cat->nattrs; i++)
		if (cat->attrs[i].attnum == attnum)
			return &cat->attrs[i];
	return NULL;
}

static bool
plan_refused(lk_error *err, const char *col, const char *msg)
{
	lk_error_set(err, LK_ERR_UNSUPPORTED, "%s; the table is stopped (resync it: remove "
				 "its Delta table and run lakesync again)", msg);
	return lk_error_where(err, "column \"%s\"", col);
}

bool
sy_evolve_plan_make(const sy_evolve_old *old, int nold, const sy_evolve_new *nw,
					int nnew, const sy_evolve_catalog *cat, bool mirror, lk_arena *a,
					sy_evolve_plan *out, lk_error *err)
{
	memset(out, 0, sizeof(*out));
	out->ncols = nnew;
	out->cols = lk_arena_zalloc(a, sizeof(sy_evolve_col) * (size_t) (nnew + 1));
	out->dropped = lk_arena_zalloc(a, sizeof(int) * (size_t) (nold + 1));
	bool *used = lk_arena_zalloc(a, (size_t) nold + 1);
	bool known = cat && cat->known;
	char msg[512];

	/* 1. each new column: the old column of the same attnum, else of the
	 * same name (unless the catalog says that name is another attnum now) */
	for (int j = 0; j < nnew; j++) {
		sy_evolve_col *pc = &out->cols[j];
		pc->old = -1;
		const sy_evolve_attr *at = attr_by_name(cat, nw[j].name);
		int i = -1;
		if (at)
			for (int k = 0; k < nold && i < 0; k++)
				if (old[k].attnum > 0 && old[k].attnum == at->attnum)
					i = k;
		if (i < 0)
			for (int k = 0; k < nold && i < 0; k++)
				if (strcmp(old[k].name, nw[j].name) == 0 &&
					!(at && old[k].attnum > 0 && old[k].attnum != at->attnum))
					i = k;
		if (i >= 0 && used[i]) {
			snprintf(msg, sizeof(msg), "cannot tell which old column \"%s\" is "
					 "(columns renamed onto each other while the catalog moved on)",
					 nw[j].name);
			return plan_refused(err, nw[j].name, msg);
		}
		if (i >= 0) {
			used[i] = true;
			pc->old = i;
			pc->attnum = old[i].attnum ? old[i].attnum : (at ? at->attnum : 0);
			pc->renamed = strcmp(old[i].name, nw[j].name) != 0;
		} else {
			pc->attnum = at ? at->attnum : 0;
		}
	}

	/* 2. old columns left over: dropped, unless the catalog still has
	 * their attnum alive (renamed again since): then they pair, in order,
	 * with the added columns the catalog does not know by name */
	int nleft = 0, nunknown = 0;
	for (int i = 0; i < nold; i++)
		if (!used[i]) {
			const sy_evolve_attr *at = attr_by_num(cat, old[i].attnum);
			if (at && !at->dropped)
				nleft++;
		}
	for (int j = 0; j < nnew; j++)
		if (out->cols[j].old < 0 && !attr_by_name(cat, nw[j].name))
			nunknown++;
	if (nleft > 0) {
		if (nleft != nunknown) {
			snprintf(msg, sizeof(msg), "cannot tell a rename from a drop and an add: the "
					 "catalog has changed since this Relation message (%d column(s) "
					 "renamed again, %d new name(s))", nleft, nunknown);
			return plan_refused(err, nw[0].name, msg);
		}
		int j = 0;
		for (int i = 0; i < nold; i++) {
			if (used[i])
				continue;
			const sy_evolve_attr *at = attr_by_num(cat, old[i].attnum);
			if (!at || at->dropped)
				continue;
			while (j < nnew && (out->cols[j].old >= 0 || attr_by_name(cat, nw[j].name)))
				j++;
			sy_evolve_col *pc = &out->cols[j];
			pc->old = i;
			pc->attnum = old[i].attnum;
			pc->renamed = strcmp(old[i].name, nw[j].name) != 0;
			used[i] = true;
			j++;
		}
	}
	for (int i = 0; i < nold; i++)
		if (!used[i])
			out->dropped[out->ndropped++] = i;

	/* without a catalog, a vanished name and a new one may be a rename:
	 * mirror tables cannot guess (a drop loses the values) */
	int nadded = 0;
	for (int j = 0; j < nnew; j++)
		nadded += out->cols[j].old < 0;
	if (!known && mirror && nadded > 0 && out->ndropped > 0) {
		snprintf(msg, sizeof(msg), "column \"%s\" vanished and \"%s\" appeared: without "
				 "access to the catalog (pg_attribute.attnum) a rename cannot be told "
				 "from a drop and an add", old[out->dropped[0]].name, nw[0].name);
		for (int j = 0; j < nnew; j++)
			if (out->cols[j].old < 0) {
				snprintf(msg, sizeof(msg), "column \"%s\" vanished and \"%s\" appeared: "
						 "without access to the catalog (pg_attribute.attnum) a rename "
						 "cannot be told from a drop and an add",
						 old[out->dropped[0]].name, nw[j].name);
				break;
			}
		return plan_refused(err, old[out->dropped[0]].name, msg);
	}

	/* 3. types, keys, defaults */
	for (int j = 0; j < nnew; j++) {
		sy_evolve_col *pc = &out->cols[j];
		if (pc->old >= 0) {
			const sy_evolve_old *o = &old[pc->old];
			pc->retyped = o->type_oid != nw[j].type_oid || o->typmod != nw[j].typmod;
			if (pc->retyped && (!nw[j].plain_type || o->type_oid >= FIRST_USER_OID) &&
				!(o->type_oid == nw[j].type_oid && typmod_bounds_only(o->type_oid))) {
				lk_arena ta;
				lk_arena_init(&ta, 0);
				snprintf(msg, sizeof(msg), "the type of column \"%s\" changed from %s to "
						 "%s: a type change of an enum, domain, array or other "
						 "non-scalar column may change the values", nw[j].name,
						 type_text(&ta, o->type_oid, o->typmod),
						 type_text(&ta, nw[j].type_oid, nw[j].typmod));
				lk_arena_free(&ta);
				return plan_refused(err, nw[j].name, msg);
			}
			if (pc->retyped && !sy_evolve_type_ok(o, &nw[j], &pc->widened, err))
				return false;
			if (mirror && o->key != nw[j].key) {
				snprintf(msg, sizeof(msg), "column \"%s\" %s the key of the mirror table",
						 nw[j].name, nw[j].key ? "joined" : "left");
				return plan_refused(err, nw[j].name, msg);
			}
			if (mirror && nw[j].key && pc->widened)
				out->key_retyped = true;
			if (pc->renamed || pc->retyped)
				out->changed = true;
			continue;
		}
		out->changed = true;
		if (mirror && nw[j].key) {
			snprintf(msg, sizeof(msg), "new column \"%s\" is part of the key of the "
					 "mirror table", nw[j].name);
			return plan_refused(err, nw[j].name, msg);
		}
		pc->fill = SY_FILL_NULL;
		if (!mirror)
			continue;
		const sy_evolve_attr *at = known ? attr_by_num(cat, pc->attnum) : NULL;
		if (!at || at->dropped) {
			pc->fill = SY_FILL_UNKNOWN;
		} else if (at->has_missing) {
			pc->fill = SY_FILL_VALUE;
			pc->fill_text = at->missing;
			if (!at->missing)
				pc->fill = SY_FILL_NULL;
		} else if (at->has_default) {
			pc->fill = SY_FILL_UNKNOWN;
		}
	}
	for (int k = 0; k < out->ndropped; k++) {
		out->changed = true;
		if (mirror && old[out->dropped[k]].key) {
			snprintf(msg, sizeof(msg), "key column \"%s\" of the mirror table was dropped",
					 old[out->dropped[k]].name);
			return plan_refused(err, old[out->dropped[k]].name, msg);
		}
	}
	if (nnew != nold)
		out->changed = true;
	for (int j = 0; j < nnew && !out->changed; j++)
		if (out->cols[j].old != j)
			out->changed = true;
	return true;
}

/* ---- converting rows -------------------------------------------------------------- */

static int64_t
int_at(const lk_column *c, int64_t i)
{
	switch (c->type->id) {
	case LK_T_BYTE: return LK_COL_VALUES(c, int8_t)[i];
	case LK_T_SHORT: return LK_COL_VALUES(c, int16_t)[i];
	case LK_T_INT: return LK_COL_VALUES(c, int32_t)[i];
	default: return LK_COL_VALUES(c, int64_t)[i];
	}
}

static bool
is_int(lk_type_id id)
{
	return id == LK_T_BYTE || id == LK_T_SHORT || id == LK_T_INT || id == LK_T_LONG;
}

bool
sy_evolve_convert(lk_column *dst, const lk_column *src, int64_t from, int64_t n,
				  lk_error *err)
{
	const lk_type *f = src->type, *t = dst->type;
	if (lk_type_equal(f, t)) {
		lk_column_append_range(dst, src, from, n);
		return true;
	}
	bool ok = (is_int(f->id) && is_int(t->id) && lk_type_width(t) >= lk_type_width(f)) ||
			  (f->id == LK_T_FLOAT && t->id == LK_T_DOUBLE) ||
			  (is_int(f->id) && t->id == LK_T_DOUBLE) ||
			  (f->id == LK_T_DECIMAL && t->id == LK_T_DECIMAL && t->scale >= f->scale);
	if (!ok) {
		lk_arena a;
		lk_arena_init(&a, 0);
		lk_error_set(err, LK_ERR_INTERNAL, "cannot convert %s to %s", lk_type_name(&a, f),
					 lk_type_name(&a, t));
		lk_arena_free(&a);
		return false;
	}
	for (int64_t i = from; i < from + n; i++) {
		if (lk_column_is_null(src, i)) {
			lk_column_append_null(dst);
			continue;
		}
		if (f->id == LK_T_DECIMAL) {
			lk_int128 x = LK_COL_VALUES(src, lk_int128)[i];
			for (int k = f->scale; k < t->scale; k++)
				x *= 10;
			lk_column_append_i128(dst, x);
		} else if (f->id == LK_T_FLOAT) {
			lk_column_append_f64(dst, (double) LK_COL_VALUES(src, float)[i]);
		} else if (t->id == LK_T_DOUBLE) {
			lk_column_append_f64(dst, (double) int_at(src, i));
		} else if (t->id == LK_T_LONG) {
			lk_column_append_i64(dst, int_at(src, i));
		} else if (t->id == LK_T_INT) {
			lk_column_append_i32(dst, (int32_t) int_at(src, i));
		} else {
			int16_t s = (int16_t) int_at(src, i);
			lk_column_append_fixed(dst, &s);
		}
	}
	return true;
}

/* ---- rewriting files ---------------------------------------------------------------- */

bool
sy_evolve_rewrite(dl_commit *c, const dl_snapshot *old, const int *src,
				  const lk_column *const *fill, int64_t *rows, lk_error *err)
{
	const dl_schema *ns = dl_commit_schema(c);
	if (!ns)
		return lk_error_set(err, LK_ERR_INVALID, "the commit has no schema");
	const lk_type *st = ns->type;
	dl_write_options wo;
	dl_write_options_init(&wo);
	wo.data_change = false;
	dl_data_writer *w = dl_data_writer_open(c, &wo, err);
	if (!w)
		return false;
	dl_scan *sc = NULL;
	lk_batch *nb = NULL;
	int64_t total = 0;
	bool ok = dl_scan_open(old, &sc, err);
	while (ok) {
		lk_batch *b;
		if (!dl_scan_next(sc, &b, err)) {
			ok = false;
			break;
		}
		if (!b)
			break;
		nb = lk_batch_new(st);
		for (int i = 0; ok && i < st->nchildren; i++) {
			if (src[i] >= 0) {
				ok = sy_evolve_convert(&nb->cols[i], &b->cols[src[i]], 0, b->nrows, err);
				continue;
			}
			for (int64_t r = 0; r < b->nrows; r++) {
				if (fill && fill[i] && !lk_column_is_null(fill[i], 0))
					lk_column_append_range(&nb->cols[i], fill[i], 0, 1);
				else
					lk_column_append_null(&nb->cols[i]);
			}
		}
		nb->nrows = b->nrows;
		if (ok && !lk_batch_seal(nb))
			ok = lk_error_set(err, LK_ERR_INTERNAL, "rewritten batch is inconsistent");
		if (ok)
			ok = dl_data_writer_write(w, nb, err);
		total += b->nrows;
		lk_batch_free(nb);
		nb = NULL;
	}
	dl_scan_free(sc);
	if (ok)
		ok = dl_data_writer_close(w, err);
	else
		dl_data_writer_free(w);
	for (size_t i = 0; ok && i < old->nfiles; i++)
		ok = dl_remove_file(c, &old->files[i].add, false, err);
	if (ok && rows)
		*rows = total;
	return ok;
}

/* ---- applying ------------------------------------------------------------------------ */

/* A new column's description: conversion, toastable, plain. */
typedef struct newdesc {
	const pgt_conv *conv;
	bool toastable;
	bool plain;
} newdesc;

static void
describe_new(sy_table *t, const pgo_column *rc, const sy_column *oldc,
			 const pgc_table_def *def, int attnum, newdesc *d)
{
	if (oldc && oldc->type_oid == rc->type_oid && oldc->typmod == rc->typmod) {
		d->conv = oldc->conv;
		d->toastable = oldc->toastable;
		d->plain = rc->type_oid < FIRST_USER_OID && oldc->conv->kind != PGT_K_ARRAY;
		return;
	}
	const pgc_column *pc = NULL;
	for (int i = 0; def && i < def->ncols && !pc; i++)
		if (def->cols[i].type_oid == rc->type_oid &&
			((attnum > 0 && def->cols[i].attnum == attnum) ||
			 strcmp(def->cols[i].name, rc->name) == 0))
			pc = &def->cols[i];
	if (pc) {
		pgc_column c2 = *pc;
		c2.typmod = rc->typmod;
		if (c2.typtype != 'd')
			c2.base_typmod = rc->typmod;
		d->conv = sy_table_column_conv(&t->arena, &c2);
		d->toastable = pc->base_typtype != 'e' && !pgt_fixed_length_oid(pc->base_oid);
		d->plain = pc->typtype == 'b' && pc->base_category != 'A' && !pc->elem_oid &&
				   rc->type_oid < FIRST_USER_OID;
		return;
	}
	d->conv = pgt_map_oid(&t->arena, rc->type_oid, rc->typmod, 0);
	d->toastable = !pgt_fixed_length_oid(rc->type_oid);
	d->plain = rc->type_oid < FIRST_USER_OID && d->conv->kind != PGT_K_ARRAY;
}

/* Does the Relation match the table's columns exactly? */
static bool
relation_matches(const sy_table *t, const pgo_relation *rel)
{
	if (rel->ncols != t->ncols)
		return false;
	for (int j = 0; j < rel->ncols; j++) {
		const sy_column *c = &t->cols[j];
		if (strcmp(c->name, rel->cols[j].name) != 0 || c->type_oid != rel->cols[j].type_oid ||
			c->typmod != rel->cols[j].typmod)
			return false;
	}
	return true;
}

/* Every Relation column is a known column with its type (order and
 * missing columns aside): the mapping by name works. */
static bool
relation_mappable(const sy_table *t, const pgo_relation *rel)
{
	for (int j = 0; j < rel->ncols; j++) {
		bool found = false;
		for (int i = 0; i < t->ncols && !found; i++)
			found = strcmp(t->cols[i].name, rel->cols[j].name) == 0 &&
					t->cols[i].type_oid == rel->cols[j].type_oid &&
					t->cols[i].typmod == rel->cols[j].typmod;
		if (!found)
			return false;
	}
	return true;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The metaData the table's next commit reads. */
static const dl_metadata *
current_metadata(sy_table *t, const dl_protocol **p)
{
	if (t->prev) {
		*p = dl_commit_protocol(t->prev);
		return dl_commit_metadata(t->prev);
	}
	*p = &t->snap->protocol;
	return &t->snap->metadata;
}

/* Bind t to Delta schema ds with the new source columns: t->schema,
 * t->delta_src, t->hist, cols[].delta_index (by name). */
static bool
rebind(sy_table *t, const lk_type *ds, sy_column *cols, int ncols, lk_error *err)
{
	lk_type *schema = lk_type_copy(&t->arena, ds);
	int *src = lk_arena_alloc(&t->arena, sizeof(int) * (size_t) (ds->nchildren + 1));
	int hist[SY_H_COUNT];
	for (int i = 0; i < ds->nchildren; i++)
		src[i] = SRC_NONE;
	for (int k = 0; k < SY_H_COUNT; k++) {
		hist[k] = -1;
		if (t->mode != SY_TABLE_HISTORY)
			continue;
		int i = lk_type_field_index(ds, sy_history_columns[k]);
		if (i < 0 || ds->children[i].type->id != hist_types[k])
			return lk_error_set(err, LK_ERR_INTERNAL,
								"history column %s lost by a schema change",
								sy_history_columns[k]);
		hist[k] = i;
		src[i] = SRC_HIST(k);
	}
	for (int c = 0; c < ncols; c++) {
		int i = lk_type_field_index(ds, cols[c].name);
		if (i < 0 || !lk_type_equal(ds->children[i].type, cols[c].conv->type)) {
			lk_arena a;
			lk_arena_init(&a, 0);
			lk_error_set(err, LK_ERR_INTERNAL,
						 "after the schema change, column \"%s\" (%s) is %s in Delta",
						 cols[c].name, lk_type_name(&a, cols[c].conv->type),
						 i < 0 ? "missing" : lk_type_name(&a, ds->children[i].type));
			lk_arena_free(&a);
			return false;
		}
		cols[c].delta_index = i;
		src[i] = c;
	}
	t->schema = schema;
	t->delta_src = src;
	memcpy(t->hist, hist, sizeof(hist));
	t->cols = cols;
	t->ncols = ncols;
	return true;
}

/* The data-file name of field i: its physical name under column mapping,
 * else its name. */
static const char *
phys_key(const dl_schema *s, int i)
{
	if (s->info && i < s->info->nchildren && s->info->children[i].physical_name)
		return s->info->children[i].physical_name;
	return s->type->children[i].name;
}

/* For every field of ns: the field of os holding the same data (same
 * physical name; exact, then case-insensitive), or -1. */
static int *
map_fields(lk_arena *a, const dl_schema *ns, const dl_schema *os)
{
	int n = ns->type->nchildren;
	int *m = lk_arena_alloc(a, sizeof(int) * (size_t) (n + 1));
	for (int i = 0; i < n; i++) {
		const char *k = phys_key(ns, i);
		m[i] = -1;
		for (int j = 0; j < os->type->nchildren && m[i] < 0; j++)
			if (strcmp(k, phys_key(os, j)) == 0)
				m[i] = j;
		for (int j = 0; j < os->type->nchildren && m[i] < 0; j++)
			if (strcasecmp(k, phys_key(os, j)) == 0)
				m[i] = j;
	}
	return m;
}

/* Name for a Delta-only column moved out of the way of `name`. */
static const char *
free_name(lk_arena *a, const lk_type *ds, const char *name)
{
	for (int k = 1;; k++) {
		const char *n = k == 1 ? lk_arena_sprintf(a, "%s_dropped", name)
							   : lk_arena_sprintf(a, "%s_dropped%d", name, k);
		if (dl_schema_field_index(ds, n) < 0)
			return n;
	}
}

typedef struct changes {
	dl_schema_change *v;
	int n, cap;
	lk_buf desc;                /* JSON array of strings for commitInfo */
} changes;

static void
ch_push(changes *cs, lk_arena *a, dl_schema_change ch, const char *what)
{
	if (cs->n == cs->cap) {
		int nc = cs->cap * 2 + 8;
		dl_schema_change *nv = lk_arena_alloc(a, sizeof(*nv) * (size_t) nc);
		if (cs->n)
			memcpy(nv, cs->v, sizeof(*nv) * (size_t) cs->n);
		cs->v = nv;
		cs->cap = nc;
	}
	cs->v[cs->n++] = ch;
	if (what) {
		lk_buf_append_str(&cs->desc, cs->desc.len ? "," : "[");
		lk_buf_append_str(&cs->desc, "\"");
		for (const char *p = what; *p; p++) {
			if (*p == '"' || *p == '\\')
				lk_buf_append_str(&cs->desc, "\\");
			if ((unsigned char) *p >= 0x20)
				lk_buf_append(&cs->desc, p, 1);
		}
		lk_buf_append_str(&cs->desc, "\"");
	}
}

/* Is Delta column i a column no source column maps to? */
static bool
delta_only(const sy_table *t, int i)
{
	return i >= 0 && t->delta_src[i] == SRC_NONE;
}

/* Attnums the table did not learn at init (0): by name in the catalog
 * now; the rest by position, the columns being in attnum order: the
 * unknown columns between two known ones take the catalog's attributes
 * between those (dropped ones included) when there are as many. */
static void
guess_attnums(sy_table *t, const sy_evolve_catalog *cat)
{
	if (!cat->known)
		return;
	for (int i = 0; i < t->ncols; i++)
		if (t->cols[i].attnum <= 0) {
			const sy_evolve_attr *at = attr_by_name(cat, t->cols[i].name);
			bool taken = false;
			for (int k = 0; at && k < t->ncols; k++)
				taken |= t->cols[k].attnum == at->attnum;
			if (at && !taken)
				t->cols[i].attnum = at->attnum;
		}
	for (int i = 0; i < t->ncols;) {
		if (t->cols[i].attnum > 0) {
			i++;
			continue;
		}
		int e = i;
		while (e < t->ncols && t->cols[e].attnum <= 0)
			e++;
		int lo = i > 0 ? t->cols[i - 1].attnum : 0;
		int hi = e < t->ncols ? t->cols[e].attnum : INT32_MAX;
		int n = 0;
		for (int k = 0; k < cat->nattrs; k++)
			n += !cat->attrs[k].generated && cat->attrs[k].attnum > lo &&
				 cat->attrs[k].attnum < hi;
		if (n == e - i)
			for (int k = 0, c = i; k < cat->nattrs; k++)
				if (!cat->attrs[k].generated && cat->attrs[k].attnum > lo &&
					cat->attrs[k].attnum < hi)
					t->cols[c++].attnum = cat->attrs[k].attnum;
		i = e;
	}
}

/* A change is refused: when the current transaction has not changed the
 * table yet, what is pending belongs to finished transactions: commit it
 * now, so that stopping the table holds the slot at the refused
 * transaction itself (sy_table_fail can only cut a history batch). */
static void
settle_before_refusal(sy_table *t)
{
	if (t->pending_rows == 0 || t->pending_rows != t->txn_pending_rows)
		return;
	lk_error e;
	if (!sy_table_commit(t, &e)) {
		char b[1100];
		lk_warn("%s: could not commit the transactions before the refused schema change: "
				"%s", t->qualname, lk_error_str(&e, b, sizeof(b)));
	}
}

/* mirror.c's state of t is laid out by the old columns (key columns by
 * source index, key types, the key index): set it up again for the new
 * columns with the same key (names in key order; nk 0: none, or REPLICA
 * IDENTITY FULL).  The key index is not saved: it reopens from the saved
 * one and the Delta log (mindex replays this change; a key column whose
 * type widened makes it rebuild). */
static bool
reset_mirror(sy_table *t, char replident, const char **knames, int nk, lk_error *err)
{
	sy_mirror_free(t, false);
	pgc_table_info info = {.relid = t->relid, .relkind = 'r', .replident = replident,
						   .has_pk = nk > 0 && replident != 'i', .has_identity = true};
	pgc_table_def def = {.relid = t->relid, .ncols = t->ncols};
	def.cols = lk_xcalloc((size_t) t->ncols + 1, sizeof(pgc_column));
	for (int i = 0; i < t->ncols; i++) {
		def.cols[i].attnum = t->cols[i].attnum;
		def.cols[i].name = t->cols[i].name;
		def.cols[i].type_oid = t->cols[i].type_oid;
		def.cols[i].typmod = t->cols[i].typmod;
		for (int k = 0; replident != 'i' && k < nk; k++)
			if (strcmp(knames[k], t->cols[i].name) == 0) {
				def.cols[i].is_pk = true;
				def.cols[i].pk_pos = k + 1;
				def.npk++;
			}
	}
	bool ok = sy_mirror_init(t, &info, &def, err) &&
			  (replident != 'i' || nk == 0 ||
			   sy_mirror_set_identity(t, knames, nk, err)) &&
			  sy_mirror_check(t, err);
	free(def.cols);
	return ok;
}

bool
sy_evolve_relation(sy_table *t, const pgo_relation *rel, sy_evolve_result *res,
				   lk_error *err)
{
	*res = SY_EVOLVE_NONE;
	if (relation_matches(t, rel))
		return true;
	/* a skipped transaction's Relation (catchup) is as old as the Delta
	 * table or older: it may only change what Delta does not record
	 * (typmods, types the table learns, history drops); anything else
	 * marks it unusable */
	bool streaming = t->state == SY_STREAMING;
	if (!streaming && relation_mappable(t, rel))
		return true;

	bool mirror = t->mode == SY_TABLE_MIRROR;
	lk_arena a;
	lk_arena_init(&a, 0);
	bool ok = false;
	pgc_conn *conn = NULL;
	sy_evolve_catalog cat;
	memset(&cat, 0, sizeof(cat));
	pgc_table_def def;
	memset(&def, 0, sizeof(def));
	bool have_def = false;
	lk_batch *held = NULL;
	dl_commit *c = NULL;
	dl_snapshot *fresh = NULL;
	changes cs;
	memset(&cs, 0, sizeof(cs));
	const char **knames = NULL;
	int nk = 0, n0 = 0;
	bool key_full = false;
	int64_t held_rows = 0, held_bytes = 0;
	uint64_t held_lsn = 0;
	dl_evolution ev;
	memset(&ev, 0, sizeof(ev));
	bool delta_change = false;

	/* 1. the catalog, when there is one */
	if (!t->source_dsn && streaming)
		lk_warn("%s: schema change without a source connection for the catalog: "
				"renames look like drop + add, defaults of added columns are unknown",
				t->qualname);
	if (t->source_dsn && streaming) {
		lk_error e2;
		conn = pgc_connect(t->source_dsn, false, &e2);
		if (!conn || !sy_evolve_catalog_load(conn, rel->relid, &a, &cat, &e2)) {
			char b[1100];
			lk_warn("%s: schema change without the catalog: %s", t->qualname,
					lk_error_str(&e2, b, sizeof(b)));
			memset(&cat, 0, sizeof(cat));
		} else {
			have_def = pgc_table_columns(conn, &t->name, &a, &def, &e2);
		}
		pgc_close(conn);
		conn = NULL;
		guess_attnums(t, &cat);
	}

	/* old and new columns */
	sy_evolve_old *old = lk_arena_zalloc(&a, sizeof(*old) * (size_t) (t->ncols + 1));
	for (int i = 0; i < t->ncols; i++) {
		const sy_column *sc = &t->cols[i];
		old[i].name = sc->name;
		old[i].type_oid = sc->type_oid;
		old[i].typmod = sc->typmod;
		old[i].attnum = sc->attnum;
		old[i].delta_type = sc->conv->type;
	}
	bool keys_known = t->has_rel && t->rel_ncols >= 0 && t->rel_col && t->rel_key;
	for (int j = 0; keys_known && j < t->rel_ncols; j++)
		if (t->rel_col[j] >= 0 && t->rel_col[j] < t->ncols)
			old[t->rel_col[j]].key = t->rel_key[j];
	sy_evolve_new *nw = lk_arena_zalloc(&a, sizeof(*nw) * (size_t) (rel->ncols + 1));
	newdesc *nd = lk_arena_zalloc(&a, sizeof(*nd) * (size_t) (rel->ncols + 1));
	for (int j = 0; j < rel->ncols; j++) {
		const pgo_column *rc = &rel->cols[j];
		const sy_column *same = NULL;
		for (int i = 0; i < t->ncols && !same; i++)
			if (strcmp(t->cols[i].name, rc->name) == 0)
				same = &t->cols[i];
		const sy_evolve_attr *at = attr_by_name(&cat, rc->name);
		describe_new(t, rc, same, have_def ? &def : NULL, at ? at->attnum : 0, &nd[j]);
		nw[j].name = rc->name;
		nw[j].type_oid = rc->type_oid;
		nw[j].typmod = rc->typmod;
		nw[j].key = (rc->flags & PGO_COLUMN_KEY) != 0;
		nw[j].delta_type = nd[j].conv->type;
		nw[j].plain_type = nd[j].plain;
	}
	if (!keys_known)
		for (int i = 0; i < t->ncols; i++)
			for (int j = 0; j < rel->ncols; j++)
				if (strcmp(t->cols[i].name, rel->cols[j].name) == 0)
					old[i].key = nw[j].key;

	sy_evolve_plan plan;
	if (!sy_evolve_plan_make(old, t->ncols, nw, rel->ncols, &cat, mirror, &a, &plan, err)) {
		if (streaming) {
			settle_before_refusal(t);
			goto out;
		}
		goto unusable;
	}
	/* names the Delta table reserves */
	for (int j = 0; j < rel->ncols; j++) {
		const sy_evolve_col *pc = &plan.cols[j];
		if (pc->old >= 0 && !pc->renamed)
			continue;
		static const char *const cdf[] = {"_change_type", "_commit_version",
										  "_commit_timestamp"};
		bool bad = false;
		for (int k = 0; !mirror && k < SY_H_COUNT; k++)
			bad |= strcasecmp(nw[j].name, sy_history_columns[k]) == 0;
		for (int k = 0; mirror && k < 3; k++)
			bad |= strcasecmp(nw[j].name, cdf[k]) == 0;
		if (!bad)
			continue;
		lk_error_set(err, LK_ERR_UNSUPPORTED,
					 "column \"%s\" has the name of a %s column of the Delta table; the "
					 "table is stopped (rename the column, then resync the table)",
					 nw[j].name, mirror ? "Change Data Feed" : "history");
		lk_error_where(err, "column \"%s\"", nw[j].name);
		if (!streaming)
			goto unusable;
		settle_before_refusal(t);
		goto out;
	}
	/* describe_new matched by name: a renamed column keeps its conversion
	 * when its type did not change */
	for (int j = 0; j < rel->ncols; j++) {
		const sy_evolve_col *pc = &plan.cols[j];
		if (pc->old >= 0 && !pc->retyped) {
			nd[j].conv = t->cols[pc->old].conv;
			nd[j].toastable = t->cols[pc->old].toastable;
		}
	}

	/* the key of mirror.c's state (mirror, and history's index of latest
	 * images), in key order, by the new names */
	if (t->mirror) {
		const char *const *kn = NULL;
		n0 = sy_mirror_key_columns(t, &kn);
		knames = lk_arena_zalloc(&a, sizeof(char *) * (size_t) (n0 + 1));
		for (int k = 0; k < n0; k++) {
			int i = -1;
			for (int c2 = 0; c2 < t->ncols && i < 0; c2++)
				if (strcmp(t->cols[c2].name, kn[k]) == 0)
					i = c2;
			for (int j = 0; i >= 0 && j < rel->ncols; j++)
				if (plan.cols[j].old == i)
					knames[nk++] = nw[j].name;
		}
	}
	/* REPLICA IDENTITY FULL without a key: the whole row, whatever it is */
	key_full = t->mirror && rel->replident == 'f' && n0 == t->ncols;

	/* 2. the Delta changes */
	const dl_protocol *proto;
	const dl_metadata *md = current_metadata(t, &proto);
	const lk_type *ds = t->schema;
	dl_schema olds;
	if (!md->schema_string || !dl_schema_parse(md->schema_string, &a, &olds, err))
		goto out;
	bool need_fill = false;
	int hpos = t->mode == SY_TABLE_HISTORY ? t->hist[SY_H_CHANGE_TYPE] : -1;
	int nadd = 0;
	/* Delta-only names of this table after the change (history drops) */
	bool *gone = lk_arena_zalloc(&a, (size_t) ds->nchildren + 1);
	for (int i = 0; i < ds->nchildren; i++)
		gone[i] = delta_only(t, i);
	for (int k = 0; k < plan.ndropped; k++) {
		int di = t->cols[plan.dropped[k]].delta_index;
		if (mirror) {
			dl_schema_change ch = {.kind = DL_SC_DROP, .column = ds->children[di].name};
			ch_push(&cs, &a, ch, lk_arena_sprintf(&a, "drop %s", ds->children[di].name));
		} else {
			gone[di] = true;
		}
	}
	/* names the source now uses that a Delta-only column holds: move the
	 * old column out of the way (history mode), unless an added column of
	 * that name reuses it */
	int *reuse = lk_arena_zalloc(&a, sizeof(int) * (size_t) (rel->ncols + 1));
	for (int j = 0; j < rel->ncols; j++) {
		reuse[j] = -1;
		const sy_evolve_col *pc = &plan.cols[j];
		int di = dl_schema_field_index(ds, nw[j].name);
		if (di < 0 || !gone[di])
			continue;
		if (pc->old < 0 && strcmp(ds->children[di].name, nw[j].name) == 0 &&
			lk_type_equal(ds->children[di].type, nw[j].delta_type)) {
			reuse[j] = di;
			gone[di] = false;
			continue;
		}
		const char *to = free_name(&a, ds, ds->children[di].name);
		dl_schema_change ch = {.kind = DL_SC_RENAME, .column = ds->children[di].name,
							   .name = to};
		ch_push(&cs, &a, ch, lk_arena_sprintf(&a, "rename dropped %s to %s",
											  ds->children[di].name, to));
	}
	/* renames in two steps (columns may swap names) */
	for (int j = 0; j < rel->ncols; j++) {
		const sy_evolve_col *pc = &plan.cols[j];
		if (pc->old < 0 || !pc->renamed)
			continue;
		const char *from = ds->children[t->cols[pc->old].delta_index].name;
		dl_schema_change ch = {.kind = DL_SC_RENAME, .column = from,
							   .name = lk_arena_sprintf(&a, "__lakesync_rename_%d", j)};
		ch_push(&cs, &a, ch, lk_arena_sprintf(&a, "rename %s to %s", from, nw[j].name));
	}
	for (int j = 0; j < rel->ncols; j++) {
		const sy_evolve_col *pc = &plan.cols[j];
		if (pc->old < 0 || !pc->renamed)
			continue;
		dl_schema_change ch = {.kind = DL_SC_RENAME,
							   .column = lk_arena_sprintf(&a, "__lakesync_rename_%d", j),
							   .name = nw[j].name};
		ch_push(&cs, &a, ch, NULL);
	}
	for (int j = 0; j < rel->ncols; j++) {
		const sy_evolve_col *pc = &plan.cols[j];
		if (pc->old >= 0 && pc->widened) {
			dl_schema_change ch = {.kind = DL_SC_WIDEN, .column = nw[j].name,
								   .type = nw[j].delta_type};
			ch_push(&cs, &a, ch, lk_arena_sprintf(&a, "widen %s to %s", nw[j].name,
												  dl_type_json_name(&a, nw[j].delta_type)));
		}
		if (pc->old < 0 && reuse[j] < 0) {
			dl_schema_change ch = {.kind = DL_SC_ADD, .name = nw[j].name,
								   .type = nw[j].delta_type,
								   .position = hpos >= 0 ? hpos + nadd : -1};
			/* history: before _change_type, which only moves when columns
			 * are inserted before it */
			nadd++;
			ch_push(&cs, &a, ch, lk_arena_sprintf(&a, "add %s", nw[j].name));
			need_fill |= pc->fill == SY_FILL_VALUE;
		}
	}
	if (!streaming) {
		if (cs.n > 0)
			goto unusable;
		goto rebind_cols;       /* nothing pending, nothing to commit */
	}
	for (int j = 0; j < rel->ncols; j++) {
		const sy_evolve_col *pc = &plan.cols[j];
		if (pc->old >= 0 || reuse[j] >= 0 || pc->fill != SY_FILL_UNKNOWN)
			continue;
		/* fine only when no row can predate it */
		if (!fresh && !dl_snapshot_open(&t->store, NULL, &fresh, err))
			goto out;
		if (fresh->nfiles > 0 || t->pending_rows > 0) {
			settle_before_refusal(t);
			if (!cat.known)
				lk_error_set(err, LK_ERR_UNSUPPORTED,
							 "column \"%s\" was added, and without access to the catalog "
							 "(no source connection) the value PostgreSQL gave the existing "
							 "rows cannot be known; the table is stopped (resync it: remove "
							 "its Delta table and run lakesync again)", nw[j].name);
			else
				lk_error_set(err, LK_ERR_UNSUPPORTED,
							 "column \"%s\" was added with a default the catalog does not "
							 "record as a constant (a volatile default, or the table was "
							 "rewritten since): the values PostgreSQL gave the existing rows "
							 "were never sent; the table is stopped (resync it: remove its "
							 "Delta table and run lakesync again)", nw[j].name);
			lk_error_where(err, "column \"%s\"", nw[j].name);
			goto out;
		}
	}

	/* 3. settle what is pending */
	if (t->pending_rows > t->txn_pending_rows) {
		/* the current transaction changed the table before the ALTER */
		if (mirror || t->txn_batch_row < 0 || !t->batch ||
			t->batch->nrows - t->txn_batch_row != t->pending_rows - t->txn_pending_rows) {
			lk_error_set(err, LK_ERR_UNSUPPORTED,
						 "the schema changed inside a transaction that had already changed "
						 "%s rows of the table; the table is stopped (resync it: remove its "
						 "Delta table and run lakesync again)",
						 mirror ? "the" : "more than a batch of");
			goto out;
		}
		held_rows = t->pending_rows - t->txn_pending_rows;
		held_bytes = t->pending_bytes - t->txn_pending_bytes;
		held_lsn = t->last_pending_lsn;
		held = lk_batch_new(t->schema);
		lk_batch *keep = lk_batch_new(t->schema);
		for (int i = 0; i < t->batch->ncols; i++) {
			lk_column_append_range(&held->cols[i], &t->batch->cols[i], t->txn_batch_row,
								   held_rows);
			lk_column_append_range(&keep->cols[i], &t->batch->cols[i], 0, t->txn_batch_row);
		}
		held->nrows = held_rows;
		keep->nrows = t->txn_batch_row;
		lk_batch_free(t->batch);
		t->batch = keep;
		t->pending_rows = t->txn_pending_rows;
		t->pending_bytes = t->txn_pending_bytes;
		t->batch_bytes = t->batch_bytes > held_bytes ? t->batch_bytes - held_bytes : 0;
		t->last_pending_lsn = t->txn_prev_lsn;
	}
	if (t->pending_rows > 0 && !sy_table_commit(t, err))
		goto out;

	/* 4. the Delta commit */
	delta_change = cs.n > 0;
	if (delta_change) {
		md = current_metadata(t, &proto);
		if (!dl_evolve_schema(proto, md, cs.v, cs.n, &a, &ev, err))
			goto out;
		const char *op = "CHANGE COLUMN";
		if (need_fill && mirror) {
			dl_snapshot_free(fresh);
			fresh = NULL;
			if (!dl_snapshot_open(&t->store, NULL, &fresh, err))
				goto out;
			c = dl_commit_begin(&t->store, fresh, "ADD COLUMNS");
		} else if (t->prev) {
			c = dl_commit_next(t->prev, op);
		} else {
			c = dl_commit_begin(&t->store, t->snap, op);
		}
		lk_buf_append_str(&cs.desc, "]");
		lk_buf_cstr(&cs.desc);
		dl_commit_set_param(c, "columns", (const char *) cs.desc.data);
		if (!dl_evolve_add_actions(c, &ev, err))
			goto out;
		if (need_fill && mirror) {
			/* every live row again, with the added columns' defaults */
			const lk_type *ns = ev.schema.type;
			int *src = map_fields(&a, &ev.schema, &fresh->schema);
			const lk_column **fill =
				lk_arena_zalloc(&a, sizeof(lk_column *) * (size_t) (ns->nchildren + 1));
			lk_column *fcols =
				lk_arena_zalloc(&a, sizeof(lk_column) * (size_t) (ns->nchildren + 1));
			int nf = 0;
			for (int j = 0; j < rel->ncols; j++) {
				int ni = dl_schema_field_index(ns, nw[j].name);
				const sy_evolve_col *pc = &plan.cols[j];
				if (ni < 0 || pc->old >= 0 || src[ni] >= 0)
					continue;
				if (pc->fill != SY_FILL_VALUE || !pc->fill_text)
					continue;
				lk_column *fc = &fcols[nf++];
				lk_column_init(fc, ns->children[ni].type);
				if (!pgt_append_text(nd[j].conv, fc, nw[j].name, pc->fill_text,
									 strlen(pc->fill_text), err)) {
					for (int k = 0; k < nf; k++)
						lk_column_destroy(&fcols[k]);
					goto out;
				}
				fill[ni] = fc;
			}
			int64_t rows = 0;
			bool rok = sy_evolve_rewrite(c, fresh, src, fill, &rows, err);
			for (int k = 0; k < nf; k++)
				lk_column_destroy(&fcols[k]);
			if (!rok)
				goto out;
			lk_info("%s: %" PRId64 " existing rows rewritten with the added columns' "
					"defaults", t->qualname, rows);
		}
		if (!dl_commit_run(c, NULL, err))
			goto out;
		/* the chain's head (table.c chain(), without a txn version) */
		dl_commit_free(t->prev);
		t->prev = c;
		c = NULL;
		dl_snapshot_free(t->snap);
		t->snap = NULL;
		t->commits++;
	}

	/* 5. rebind: source columns in Relation order */
rebind_cols:;
	sy_column *cols = lk_arena_zalloc(&t->arena, sizeof(sy_column) * (size_t) (rel->ncols + 1));
	for (int j = 0; j < rel->ncols; j++) {
		const sy_evolve_col *pc = &plan.cols[j];
		cols[j].name = lk_arena_strdup(&t->arena, nw[j].name);
		cols[j].conv = nd[j].conv;
		cols[j].type_oid = nw[j].type_oid;
		cols[j].typmod = nw[j].typmod;
		cols[j].toastable = nd[j].toastable;
		cols[j].delta_index = -1;
		cols[j].attnum = pc->attnum;
	}
	const dl_schema *nsch = delta_change ? &ev.schema : &olds;
	int *from = map_fields(&a, nsch, &olds);
	if (!rebind(t, nsch->type, cols, rel->ncols, err))
		goto out;
	if (t->mirror && !reset_mirror(t, rel->replident, knames, key_full ? 0 : nk, err))
		goto out;
	if (t->batch)
		lk_batch_free(t->batch);
	t->batch = lk_batch_new(t->schema);
	t->batch_bytes = 0;
	if (held) {
		/* the current transaction's rows, in the new schema */
		const lk_type *s = t->schema;
		for (int i = 0; i < s->nchildren; i++) {
			if (from[i] >= 0 && from[i] < held->ncols) {
				if (!sy_evolve_convert(&t->batch->cols[i], &held->cols[from[i]], 0,
									   held_rows, err))
					goto out;
			} else {
				for (int64_t r = 0; r < held_rows; r++)
					lk_column_append_null(&t->batch->cols[i]);
			}
		}
		t->batch->nrows = held_rows;
		t->pending_rows = held_rows;
		t->pending_bytes = held_bytes;
		t->batch_bytes = held_bytes;
		t->first_pending_lsn = t->last_pending_lsn = held_lsn;
		t->pending_since_ms = mono_ms();
	}
	/* a failure later in this transaction rolls back to here */
	t->txn_batch_row = 0;
	t->txn_pending_rows = 0;
	t->txn_pending_bytes = 0;
	t->txn_prev_lsn = 0;
	if (streaming) {
		t->evolutions++;
		lk_info("%s: schema change applied%s%s", t->qualname,
				delta_change ? ": " : " (no Delta change)",
				delta_change ? (const char *) cs.desc.data : "");
	} else {
		lk_debug("%s: columns updated from a skipped transaction's Relation message",
				 t->qualname);
	}
	*res = SY_EVOLVE_CHANGED;
	ok = true;
	goto out;
unusable:
	lk_debug("%s: Relation message of a skipped transaction differs from the table; "
			 "not applied", t->qualname);
	*res = SY_EVOLVE_UNUSABLE;
	ok = true;
out:
	if (held)
		lk_batch_free(held);
	dl_commit_free(c);
	dl_snapshot_free(fresh);
	lk_buf_free(&cs.desc);
	lk_arena_free(&a);
	if (!ok)
		lk_error_add_where(err, "table \"%s\"", t->qualname);
	return ok;
}

/* ---- opening a table whose source moved on ------------------------------------------- */

/* A conversion whose Delta type is exactly t (for a column known only from
 * the Delta schema), or NULL. */
static const pgt_conv *
conv_for_delta(lk_arena *a, const lk_type *t)
{
	uint32_t oid = 0;
	int32_t typmod = -1;
	switch (t->id) {
	case LK_T_BOOLEAN: oid = PGT_OID_BOOL; break;
	case LK_T_SHORT: oid = PGT_OID_INT2; break;
	case LK_T_INT: oid = PGT_OID_INT4; break;
	case LK_T_LONG: oid = PGT_OID_INT8; break;
	case LK_T_FLOAT: oid = PGT_OID_FLOAT4; break;
	case LK_T_DOUBLE: oid = PGT_OID_FLOAT8; break;
	case LK_T_STRING: oid = PGT_OID_TEXT; break;
	case LK_T_BINARY: oid = PGT_OID_BYTEA; break;
	case LK_T_DATE: oid = PGT_OID_DATE; break;
	case LK_T_TIMESTAMP: oid = PGT_OID_TIMESTAMPTZ; break;
	case LK_T_TIMESTAMP_NTZ: oid = PGT_OID_TIMESTAMP; break;
	case LK_T_DECIMAL:
		oid = PGT_OID_NUMERIC;
		typmod = (int32_t) (((uint32_t) t->precision << 16) | t->scale) + 4;
		break;
	default:
		return NULL;
	}
	const pgt_conv *c = pgt_map_oid(a, oid, typmod, 0);
	return c && lk_type_equal(c->type, t) ? c : NULL;
}

bool
sy_evolve_open(sy_table *t, const lk_type *ds, lk_error *err)
{
	int n = 0;
	sy_column *cols = lk_arena_zalloc(&t->arena, sizeof(sy_column) * (size_t) (ds->nchildren + 1));
	for (int i = 0; i < ds->nchildren; i++) {
		const lk_field *f = &ds->children[i];
		bool hist = false;
		for (int k = 0; t->mode == SY_TABLE_HISTORY && k < SY_H_COUNT; k++)
			hist |= strcmp(f->name, sy_history_columns[k]) == 0;
		if (hist)
			continue;
		const sy_column *cc = NULL;
		for (int c = 0; c < t->ncols && !cc; c++)
			if (strcmp(t->cols[c].name, f->name) == 0)
				cc = &t->cols[c];
		sy_column *nc = &cols[n++];
		if (cc && lk_type_equal(cc->conv->type, f->type)) {
			*nc = *cc;
			continue;
		}
		nc->name = f->name;
		nc->conv = conv_for_delta(&t->arena, f->type);
		if (!nc->conv) {
			lk_arena a;
			lk_arena_init(&a, 0);
			lk_error_set(err, LK_ERR_UNSUPPORTED,
						 "the source column \"%s\" differs from the Delta table's %s, whose "
						 "type lakesync cannot take as a source type", f->name,
						 lk_type_name(&a, f->type));
			lk_arena_free(&a);
			return lk_error_where(err, "Delta table \"%s\"", t->uri);
		}
		nc->type_oid = 0;       /* learnt from the next Relation message */
		nc->typmod = -1;
		nc->toastable = f->type->id == LK_T_STRING || f->type->id == LK_T_BINARY;
		nc->attnum = cc ? cc->attnum : 0;
		nc->delta_index = -1;
	}
	if (n == 0) {
		lk_error_set(err, LK_ERR_UNSUPPORTED, "the Delta table has no source columns");
		return lk_error_where(err, "Delta table \"%s\"", t->uri);
	}
	/* mirror.c's key, by name (its source indexes change with the columns) */
	const char **knames = NULL;
	int nk = 0, n0 = 0;
	bool full = false;
	if (t->mirror) {
		const char *const *kn = NULL;
		n0 = sy_mirror_key_columns(t, &kn);
		full = t->replident == 'f' && n0 == t->ncols;
		knames = lk_arena_zalloc(&t->arena, sizeof(char *) * (size_t) (n0 + 1));
		for (int k = 0; k < n0; k++) {
			bool found = false;
			for (int c = 0; c < n && !found; c++)
				found = strcmp(cols[c].name, kn[k]) == 0;
			if (!found) {
				lk_error_set(err, LK_ERR_UNSUPPORTED, "key column \"%s\" is not in the Delta "
							 "table", kn[k]);
				return lk_error_where(err, "Delta table \"%s\"", t->uri);
			}
			knames[nk++] = lk_arena_strdup(&t->arena, kn[k]);
		}
	}
	if (!rebind(t, ds, cols, n, err))
		return lk_error_add_where(err, "Delta table \"%s\"", t->uri);
	if (t->mirror && !reset_mirror(t, t->replident, knames, full ? 0 : nk, err))
		return false;
	lk_info("%s: the source's columns differ from the Delta table's: the table starts from "
			"the Delta schema and follows the Relation messages", t->qualname);
	return true;
}
