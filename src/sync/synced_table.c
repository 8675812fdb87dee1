/*
 * synced_table.c — Delta → PostgreSQL synced tables (see synced_table.h).
 *
 * Lifecycle of a target (numbers are the invariants below):
 *
 *        (no state row)
 *             │ sy_synced_table_run, any mode
 *             ▼
 *   load_snapshot: DROP/CREATE shadow ─▶ N workers COPY pieces ─▶ [dedup]
 *        ─▶ PRIMARY KEY ─▶ ANALYZE ─▶ swap (one transaction: lock target,
 *        drop it, rename shadow, grants, owner, guard trigger, state row)
 *             │ (1)(2)
 *             ▼
 *        synced at version V ──── snapshot mode: load_snapshot again
 *             │ triggered / continuous
 *             ▼
 *   apply_version(V+1): one transaction: state row FOR UPDATE (must say V)
 *        ─▶ ADD COLUMNs ─▶ COPY changes into a temp table ─▶ DELETE … USING
 *        ─▶ INSERT [ON CONFLICT] ─▶ state version = V+1 ─▶ COMMIT (2)(3)
 *             │ continuous: no next commit → sleep interval_ms, poll again
 *             ▼
 *        synced at version V+1 …
 *
 *  (1) readers see the old table or the new one, never the shadow half way
 *      (the swap is one transaction holding ACCESS EXCLUSIVE on the target)
 *  (2) the target's rows and the state row's version change in the same
 *      transaction, so a crash at any point leaves them consistent
 *  (3) the version applied is exactly state + 1 (checked under the row
 *      lock), so a restart resumes after the last committed version and
 *      never applies one twice
 *
 * Snapshot pieces: one per (file, row group) when the file's columns have
 * the table's layout (read here directly, rows of the file's deletion
 * vector dropped, partition values and missing columns filled); a file that
 * needs type widening is one piece read through dl_scan (the Delta scan has
 * no row-group entry point).
 */
#include "sync/synced_table.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/log.h"
#include "delta/dv.h"
#include "delta/log.h"
#include "delta/scan.h"
#include "delta/schema.h"
#include "parquet/parquet.h"
#include "pg/conn.h"
#include "pg/load.h"
#include "storage/storage.h"
#include "sync/delta_changes.h"

#define MAX_DV_ROWS (256ull * 1024 * 1024)
#define CT_COLUMN "_lakesync_change_type"

/* ---- options ------------------------------------------------------------------ */

bool
sy_mode_parse(const char *s, sy_mode *out)
{
	if (!s)
		return false;
	if (strcmp(s, "snapshot") == 0)
		*out = SY_MODE_SNAPSHOT;
	else if (strcmp(s, "triggered") == 0)
		*out = SY_MODE_TRIGGERED;
	else if (strcmp(s, "continuous") == 0)
		*out = SY_MODE_CONTINUOUS;
	else
		return false;
	return true;
}

const char *
sy_mode_name(sy_mode m)
{
	switch (m) {
	case SY_MODE_SNAPSHOT: return "snapshot";
	case SY_MODE_TRIGGERED: return "triggered";
	case SY_MODE_CONTINUOUS: return "continuous";
	}
	return "?";
}

void
sy_options_init(sy_options *o)
{
	memset(o, 0, sizeof(*o));
	o->mode = SY_MODE_SNAPSHOT;
	o->as_of_version = -1;
	o->jobs = 2;
	o->interval_ms = 1000;
	o->until_version = -1;
}

/* ---- run context ---------------------------------------------------------------- */

typedef struct ctx {
	const sy_options *o;
	lk_arena a;                 /* run lifetime */
	lk_arena *cur;              /* where allocations go: &a, or &ver while a
								 * version is applied (reset per version, so
								 * continuous mode does not grow) */
	lk_arena ver;
	lk_arena colsa[2];          /* x->cols between versions, alternating */
	int colsi;
	st_store st;
	bool st_open;
	pgc_conn *c;
	pgc_table_name t;
	const char *qtarget;        /* "schema"."name" */
	const char *target_key;     /* state key: qtarget */
	const char *shadow;         /* shadow table name (unquoted) */
	const char *qshadow;
	const char *pk_name;        /* temporary PK constraint name */
	/* key configuration in effect */
	const char **pk;
	int npk;
	const char *dedup_by;
	/* target columns (after the last load/apply) */
	pgl_column *cols;
	int ncols;
	/* secondary indexes of the old target rebuilt on the shadow (snapshot
	 * load): renamed to their old names in the swap */
	const char **idx_tmp, **idx_name;
	int nidx;
	/* state row */
	bool has_state;
	int64_t state_version;
	const char *state_source;
} ctx;

static bool
run_sql(ctx *x, const char *sql, const char *what, lk_error *err)
{
	PGresult *res = PQexec(x->c->pg, sql);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		PQclear(res);
		return true;
	}
	pgc_error_from_result(x->c, res, what, err);
	PQclear(res);
	return false;
}

static PGresult *
query_sql(ctx *x, const char *sql, const char *what, lk_error *err)
{
	PGresult *res = PQexec(x->c->pg, sql);
	if (res && PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	pgc_error_from_result(x->c, res, what, err);
	PQclear(res);
	return NULL;
}

static void
rollback(ctx *x)
{
	if (x->c && !pgc_is_broken(x->c) && PQtransactionStatus(x->c->pg) != PQTRANS_IDLE) {
		PGresult *r = PQexec(x->c->pg, "ROLLBACK");
		PQclear(r);
	}
}

static const char *
lit(ctx *x, const char *s)
{
	lk_buf b = LK_BUF_INIT;
	pgl_quote_literal(&b, s);
	const char *r = lk_arena_strdup(x->cur, lk_buf_cstr(&b));
	lk_buf_free(&b);
	return r;
}

static const char *
ident(ctx *x, const char *s)
{
	lk_buf b = LK_BUF_INIT;
	pgl_quote_ident(&b, s);
	const char *r = lk_arena_strdup(x->cur, lk_buf_cstr(&b));
	lk_buf_free(&b);
	return r;
}

static uint32_t
fnv32(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++) {
		h ^= (uint8_t) *s;
		h *= 16777619u;
	}
	return h;
}

/* ---- state objects ---------------------------------------------------------------- */

static const char setup_sql[] =
	"SELECT pg_advisory_xact_lock(hashtext('lakesync.setup'));\n"
	"CREATE SCHEMA IF NOT EXISTS lakesync;\n"
	"CREATE TABLE IF NOT EXISTS lakesync.synced_tables (\n"
	"  target text PRIMARY KEY,\n"
	"  source text NOT NULL,\n"
	"  version bigint NOT NULL,\n"
	"  mode text NOT NULL,\n"
	"  primary_key text[],\n"
	"  dedup_by text,\n"
	"  columns jsonb NOT NULL,\n"
	"  delta_schema text,\n"
	"  loaded_at timestamptz NOT NULL DEFAULT now(),\n"
	"  updated_at timestamptz NOT NULL DEFAULT now());\n"
	"CREATE OR REPLACE FUNCTION lakesync.synced_table_guard() RETURNS trigger\n"
	"LANGUAGE plpgsql AS $lakesync$\n"
	"BEGIN\n"
	"  IF coalesce(current_setting('lakesync.applying', true), '') <> 'on' THEN\n"
	"    RAISE EXCEPTION 'table %.% is a synced table maintained by lakesync and is read-only',\n"
	"      quote_ident(TG_TABLE_SCHEMA), quote_ident(TG_TABLE_NAME)\n"
	"      USING ERRCODE = 'read_only_sql_transaction',\n"
	"            HINT = 'change the Delta table it is synced from instead';\n"
	"  END IF;\n"
	"  RETURN NULL;\n"
	"END\n"
	"$lakesync$;\n";

static bool
setup_state(ctx *x, lk_error *err)
{
	lk_buf b = LK_BUF_INIT;
	lk_buf_printf(&b, "BEGIN;\n%sCOMMIT;", setup_sql);
	bool ok = run_sql(x, lk_buf_cstr(&b), "could not create the lakesync state objects", err);
	lk_buf_free(&b);
	if (!ok)
		rollback(x);
	return ok;
}

/* One lakesync process per target: a session advisory lock. */
static bool
lock_target(ctx *x, lk_error *err)
{
	char *sql = lk_arena_sprintf(x->cur,
								 "SELECT pg_try_advisory_lock(hashtext('lakesync.synced_table'), "
								 "hashtext(%s))",
								 lit(x, x->target_key));
	PGresult *r = query_sql(x, sql, "could not lock the target", err);
	if (!r)
		return false;
	bool got = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (!got)
		return lk_error_set(err, LK_ERR_CONFLICT,
							"another lakesync process is syncing %s", x->qtarget);
	return true;
}

/* Columns from the state row's JSON [[name, type], ...]. */
static bool
parse_columns(ctx *x, const char *json, lk_error *err)
{
	json_error_t je;
	json_t *j = json_loads(json, 0, &je);
	if (!j || !json_is_array(j)) {
		json_decref(j);
		return lk_error_set(err, LK_ERR_CORRUPT, "lakesync.synced_tables.columns is not a "
												 "JSON array");
	}
	size_t n = json_array_size(j);
	x->cols = lk_arena_zalloc(x->cur, sizeof(pgl_column) * (n + 1));
	x->ncols = (int) n;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(j, i);
		const char *name = json_string_value(json_array_get(e, 0));
		const char *type = json_string_value(json_array_get(e, 1));
		if (!name || !type) {
			json_decref(j);
			return lk_error_set(err, LK_ERR_CORRUPT, "lakesync.synced_tables.columns entry %zu "
													 "is not [name, type]", i);
		}
		x->cols[i].name = lk_arena_strdup(x->cur, name);
		x->cols[i].sql_type = lk_arena_strdup(x->cur, type);
	}
	json_decref(j);
	return true;
}

static const char *
columns_json(ctx *x, const pgl_column *cols, int n)
{
	json_t *j = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(j, json_pack("[ss]", cols[i].name, cols[i].sql_type));
	char *s = json_dumps(j, JSON_COMPACT);
	const char *r = lk_arena_strdup(x->cur, s);
	free(s);
	json_decref(j);
	return r;
}

static bool
read_state(ctx *x, lk_error *err)
{
	char *sql = lk_arena_sprintf(x->cur,
								 "SELECT version, source, primary_key::text, dedup_by, columns::text "
								 "FROM lakesync.synced_tables WHERE target = %s",
								 lit(x, x->target_key));
	PGresult *r = query_sql(x, sql, "could not read lakesync.synced_tables", err);
	if (!r)
		return false;
	x->has_state = PQntuples(r) == 1;
	bool ok = true;
	if (x->has_state) {
		x->state_version = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		x->state_source = lk_arena_strdup(x->cur, PQgetvalue(r, 0, 1));
		/* key configuration from the state when none was given */
		if (x->npk == 0 && !PQgetisnull(r, 0, 2)) {
			/* text[] → "{a,"b c"}": parse with the server instead */
			PQclear(r);
			sql = lk_arena_sprintf(x->cur,
								   "SELECT unnest(primary_key), dedup_by FROM "
								   "lakesync.synced_tables WHERE target = %s",
								   lit(x, x->target_key));
			r = query_sql(x, sql, "could not read lakesync.synced_tables", err);
			if (!r)
				return false;
			x->npk = PQntuples(r);
			x->pk = lk_arena_zalloc(x->cur, sizeof(char *) * (size_t) (x->npk + 1));
			for (int i = 0; i < x->npk; i++)
				x->pk[i] = lk_arena_strdup(x->cur, PQgetvalue(r, i, 0));
			if (!x->dedup_by && x->npk && !PQgetisnull(r, 0, 1))
				x->dedup_by = lk_arena_strdup(x->cur, PQgetvalue(r, 0, 1));
			PQclear(r);
			sql = lk_arena_sprintf(x->cur, "SELECT columns::text FROM lakesync.synced_tables "
										  "WHERE target = %s",
								   lit(x, x->target_key));
			r = query_sql(x, sql, "could not read lakesync.synced_tables", err);
			if (!r)
				return false;
			ok = parse_columns(x, PQgetvalue(r, 0, 0), err);
		} else {
			ok = parse_columns(x, PQgetvalue(r, 0, 4), err);
		}
	}
	PQclear(r);
	return ok;
}

/* The target: does it exist (and is it an ordinary table)? */
static bool
target_exists(ctx *x, bool *exists, lk_error *err)
{
	char *sql = lk_arena_sprintf(x->cur,
								 "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON "
								 "n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
								 lit(x, x->t.schema), lit(x, x->t.name));
	PGresult *r = query_sql(x, sql, "could not look the target up", err);
	if (!r)
		return false;
	*exists = PQntuples(r) > 0;
	char kind = *exists ? PQgetvalue(r, 0, 0)[0] : 'r';
	PQclear(r);
	if (*exists && kind != 'r')
		return lk_error_set(err, LK_ERR_INVALID, "%s exists and is not an ordinary table",
							x->qtarget);
	return true;
}

/* ---- columns of a Delta schema ---------------------------------------------------- */

static int
find_column(const pgl_column *cols, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(cols[i].name, name) == 0)
			return i;
	for (int i = 0; i < n; i++)
		if (strcasecmp(cols[i].name, name) == 0)
			return i;
	return -1;
}

/* Target columns for a Delta schema: the inverse mapping, overrides, and
 * NOT NULL for the primary key. Result in x->a. */
static bool
columns_for_schema(ctx *x, const lk_type *schema, pgl_column **out, int *nout, lk_error *err)
{
	int n = schema->nchildren;
	pgl_column *cols = lk_arena_zalloc(x->cur, sizeof(pgl_column) * (size_t) (n + 1));
	for (int i = 0; i < n; i++) {
		const lk_field *f = &schema->children[i];
		cols[i].name = f->name;
		cols[i].type = f->type;
		cols[i].sql_type = pgl_sql_type(f->type, x->cur);
		if (strcmp(f->name, CT_COLUMN) == 0)
			return lk_error_set(err, LK_ERR_UNSUPPORTED, "column name \"%s\" is reserved by "
														 "lakesync", f->name);
	}
	for (int k = 0; k < x->o->ncolumn_types; k++) {
		const sy_column_type *ct = &x->o->column_types[k];
		int i = find_column(cols, n, ct->name);
		if (i < 0)
			return lk_error_set(err, LK_ERR_INVALID, "--column-type: the source has no column "
													 "\"%s\"", ct->name);
		cols[i].sql_type = ct->sql_type;
	}
	for (int k = 0; k < x->npk; k++) {
		int i = find_column(cols, n, x->pk[k]);
		if (i < 0)
			return lk_error_set(err, LK_ERR_INVALID, "primary key column \"%s\" is not a "
													 "column of the source", x->pk[k]);
		/* the source's spelling, in the run arena (cols[i].name belongs to
		 * a schema that may be freed first) */
		if (strcmp(x->pk[k], cols[i].name) != 0)
			x->pk[k] = lk_arena_strdup(&x->a, cols[i].name);
		cols[i].not_null = true;
	}
	if (x->dedup_by) {
		int i = find_column(cols, n, x->dedup_by);
		if (i < 0)
			return lk_error_set(err, LK_ERR_INVALID, "--dedup-by: the source has no column "
													 "\"%s\"", x->dedup_by);
		if (strcmp(x->dedup_by, cols[i].name) != 0)
			x->dedup_by = lk_arena_strdup(&x->a, cols[i].name);
	}
	*out = cols;
	*nout = n;
	return true;
}

static void
append_column_list(lk_buf *b, const pgl_column *cols, int n, const char *prefix)
{
	for (int i = 0; i < n; i++) {
		if (i)
			lk_buf_append_str(b, ", ");
		if (prefix)
			lk_buf_append_str(b, prefix);
		pgl_quote_ident(b, cols[i].name);
	}
}

static void
append_pk_list(ctx *x, lk_buf *b, const char *prefix)
{
	for (int i = 0; i < x->npk; i++) {
		if (i)
			lk_buf_append_str(b, ", ");
		if (prefix)
			lk_buf_append_str(b, prefix);
		pgl_quote_ident(b, x->pk[i]);
	}
}

static void keep_columns(ctx *x, const pgl_column *cols, int n);

/* ---- snapshot: reading pieces -------------------------------------------------------- */

typedef struct piece {
	int file;
	int rg;                     /* -1: the whole file through dl_scan */
} piece;

typedef enum src_kind { SRC_FILE, SRC_NULL, SRC_PART } src_kind;

/* One open data file of a worker. */
typedef struct fview {
	int file;
	pq_reader *r;
	int nrg;
	int64_t *rg_base;           /* first file row of each row group */
	uint64_t *deleted;          /* sorted DV rows (malloc) */
	size_t ndeleted;
	src_kind *src;
	int *src_idx;
	lk_column *consts;          /* partition values, one row each */
	int ncols;                  /* logical columns */
	lk_batch *fbatch;
	bool simple;                /* every file column has the table layout */
	lk_arena arena;
} fview;

typedef struct loader {
	ctx *x;
	const dl_snapshot *snap;
	lk_type *phys;
	bool *is_part;
	piece *pieces;
	size_t npieces;
	const char *copy_sql;
	pthread_mutex_t mu;
	size_t next;
	bool failed;
	lk_error err;               /* the first failure */
	int64_t rows;
} loader;

static bool
is_ts(lk_type_id id)
{
	return id == LK_T_TIMESTAMP || id == LK_T_TIMESTAMP_NTZ;
}

/* Same in-memory layout (names aside)? As the Delta scan decides. */
static bool
same_layout(const lk_type *f, const lk_type *t)
{
	if (lk_type_is_varlen(f) && lk_type_is_varlen(t))
		return true;
	if (is_ts(f->id) && is_ts(t->id))
		return f->unit == t->unit;
	if (f->id != t->id)
		return false;
	if (f->id == LK_T_DECIMAL)
		return f->scale == t->scale;
	if (f->id == LK_T_TIME)
		return f->unit == t->unit;
	if (f->nchildren != t->nchildren)
		return false;
	for (int i = 0; i < f->nchildren; i++) {
		if (f->id == LK_T_STRUCT && strcasecmp(f->children[i].name, t->children[i].name) != 0)
			return false;
		if (!same_layout(f->children[i].type, t->children[i].type))
			return false;
	}
	return true;
}

static bool
has_struct(const lk_type *t)
{
	if (t->id == LK_T_STRUCT)
		return true;
	for (int i = 0; i < t->nchildren; i++)
		if (has_struct(t->children[i].type))
			return true;
	return false;
}

static void
reserve_varlen(lk_column *c)
{
	if (lk_type_is_varlen(c->type))
		lk_column_reserve_data(c, 1);
	for (int k = 0; k < c->nchildren; k++)
		reserve_varlen(&c->children[k]);
}

static int
file_field(const lk_type *fs, const char *name)
{
	int i = lk_type_field_index(fs, name);
	if (i >= 0)
		return i;
	for (int k = 0; k < fs->nchildren; k++)
		if (fs->children[k].name && strcasecmp(fs->children[k].name, name) == 0)
			return k;
	return -1;
}

static void
fview_close(fview *v)
{
	if (v->r)
		pq_reader_free(v->r);
	if (v->fbatch)
		lk_batch_free(v->fbatch);
	for (int i = 0; v->consts && i < v->ncols; i++)
		if (v->src[i] == SRC_PART)
			lk_column_destroy(&v->consts[i]);
	free(v->deleted);
	lk_arena_free(&v->arena);
	memset(v, 0, sizeof(*v));
	v->file = -1;
}

/* Open data file `fi` of the snapshot: projection, layout check, and
 * (unless plan_only) its deletion vector and partition values. */
static bool
fview_open(loader *L, int fi, bool plan_only, fview *v, lk_error *err)
{
	const dl_snapshot *s = L->snap;
	const dl_file *f = &s->files[fi];
	memset(v, 0, sizeof(*v));
	v->file = fi;
	lk_arena_init(&v->arena, 0);
	lk_arena *a = &v->arena;
	int n = s->schema.type->nchildren;
	v->ncols = n;
	v->src = lk_arena_zalloc(a, sizeof(src_kind) * (size_t) (n + 1));
	v->src_idx = lk_arena_zalloc(a, sizeof(int) * (size_t) (n + 1));
	st_file sf;
	if (!st_open_read(s->store, f->path, &sf, err))
		goto fail;
	pq_input in = {sf.ctx, sf.size, sf.name, sf.read_at, sf.close};
	v->r = pq_reader_open(&in, err);
	if (!v->r)
		goto fail;
	v->nrg = pq_reader_num_row_groups(v->r);
	v->rg_base = lk_arena_zalloc(a, sizeof(int64_t) * (size_t) (v->nrg + 1));
	for (int k = 0; k < v->nrg; k++)
		v->rg_base[k + 1] = v->rg_base[k] + pq_reader_row_group_rows(v->r, k);

	const lk_type *fs = pq_reader_schema(v->r);
	const char **names = lk_arena_zalloc(a, sizeof(char *) * (size_t) (n + 1));
	int32_t *ids = lk_arena_zalloc(a, sizeof(int32_t) * (size_t) (n + 1));
	const lk_type **types = lk_arena_zalloc(a, sizeof(lk_type *) * (size_t) (n + 1));
	int np = 0;
	for (int i = 0; i < n; i++) {
		v->src_idx[i] = -1;
		if (L->is_part[i]) {
			v->src[i] = SRC_PART;
			continue;
		}
		const lk_field *pf = &L->phys->children[i];
		if (s->column_mapping == DL_CM_ID) {
			ids[np] = pf->field_id;
			names[np] = pf->name;
			types[np] = pf->type;
			v->src_idx[i] = np++;
			v->src[i] = SRC_FILE;
			continue;
		}
		int k = file_field(fs, pf->name);
		if (k < 0) {
			v->src[i] = SRC_NULL;
			continue;
		}
		names[np] = fs->children[k].name;
		v->src_idx[i] = np++;
		v->src[i] = SRC_FILE;
	}
	bool ok = s->column_mapping == DL_CM_ID
				  ? pq_reader_project_ids(v->r, ids, names, types, np, err)
				  : pq_reader_project(v->r, names, np, err);
	if (!ok)
		goto fail;
	const lk_type *os = pq_reader_output_schema(v->r);
	v->simple = true;
	for (int i = 0; i < n; i++)
		if (v->src[i] == SRC_FILE &&
			!same_layout(os->children[v->src_idx[i]].type, L->phys->children[i].type))
			v->simple = false;
	if (plan_only || !v->simple)
		return true;
	v->fbatch = lk_batch_new(os);
	for (int i = 0; i < v->fbatch->ncols; i++)
		reserve_varlen(&v->fbatch->cols[i]);
	if (f->add.has_dv) {
		dl_bitmap b;
		dl_bitmap_init(&b);
		ok = dl_dv_load(s->store, &f->add.dv, &b, err) &&
			 dl_bitmap_to_array(&b, MAX_DV_ROWS, &v->deleted, &v->ndeleted, err);
		dl_bitmap_free(&b);
		if (!ok)
			goto fail;
	}
	v->consts = lk_arena_zalloc(a, sizeof(lk_column) * (size_t) (n + 1));
	for (int i = 0; i < n; i++) {
		if (v->src[i] != SRC_PART)
			continue;
		lk_column_init(&v->consts[i], s->schema.type->children[i].type);
		reserve_varlen(&v->consts[i]);
		const char *key = L->phys->children[i].name;
		bool found;
		const char *val = dl_map_get(&f->add.partition_values, key, &found);
		if (!found)
			for (int k = 0; k < f->add.partition_values.n; k++)
				if (strcasecmp(f->add.partition_values.items[k].key, key) == 0) {
					val = f->add.partition_values.items[k].value;
					break;
				}
		if (!dl_partition_value_append(&v->consts[i], val, err)) {
			lk_error_where(err, "partition column \"%s\"", s->schema.type->children[i].name);
			goto fail;
		}
	}
	return true;
fail:
	lk_error_add_where(err, "data file \"%s\"", f->path);
	fview_close(v);
	return false;
}

/* First index in sorted a[0..n) with a[i] >= key. */
static size_t
lower_bound(const uint64_t *a, size_t n, uint64_t key)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Append file rows [from, from+n) of the row group to out. */
static void
append_rows(fview *v, lk_batch *out, int64_t from, int64_t n)
{
	for (int i = 0; i < v->ncols; i++) {
		lk_column *dst = &out->cols[i];
		switch (v->src[i]) {
		case SRC_FILE:
			lk_column_append_range(dst, &v->fbatch->cols[v->src_idx[i]], from, n);
			break;
		case SRC_NULL:
			for (int64_t k = 0; k < n; k++)
				lk_column_append_null(dst);
			break;
		case SRC_PART:
			for (int64_t k = 0; k < n; k++)
				lk_column_append_range(dst, &v->consts[i], 0, 1);
			break;
		}
	}
}

static bool
copy_row_group(loader *L, fview *v, int rg, lk_batch *out, pgl_copy *cp, lk_error *err)
{
	if (!pq_reader_read_row_group(v->r, rg, v->fbatch, err))
		return lk_error_add_where(err, "data file \"%s\"", L->snap->files[v->file].path);
	int64_t base = v->rg_base[rg], nrows = v->fbatch->nrows;
	size_t lo = lower_bound(v->deleted, v->ndeleted, (uint64_t) base);
	size_t hi = lower_bound(v->deleted, v->ndeleted, (uint64_t) (base + nrows));
	bool direct = lo == hi;
	for (int i = 0; direct && i < v->ncols; i++)
		if (v->src[i] != SRC_FILE || has_struct(out->schema->children[i].type))
			direct = false;
	if (direct) {
		/* the file's columns as they are (no struct: names do not matter) */
		lk_column cols[v->ncols > 0 ? v->ncols : 1];
		for (int i = 0; i < v->ncols; i++)
			cols[i] = v->fbatch->cols[v->src_idx[i]];
		lk_batch view = {out->schema, nrows, v->ncols, cols};
		return pgl_copy_batch(cp, &view, err);
	}
	lk_batch_reset(out);
	int64_t start = 0;
	size_t d = lo;
	while (start < nrows) {
		int64_t stop = d < hi ? (int64_t) v->deleted[d] - base : nrows;
		if (stop > start)
			append_rows(v, out, start, stop - start);
		start = stop + 1;
		d++;
	}
	if (!lk_batch_seal(out))
		return lk_error_set(err, LK_ERR_INTERNAL, "columns of different lengths");
	return out->nrows ? pgl_copy_batch(cp, out, err) : true;
}

/* A file that needs type conversion: the Delta scan over a one-file view
 * of the snapshot. */
static bool
copy_whole_file(loader *L, int fi, pgl_copy *cp, lk_error *err)
{
	dl_snapshot sub = *L->snap;
	sub.files = &L->snap->files[fi];
	sub.nfiles = 1;
	dl_scan *sc;
	LK_FORWARD(dl_scan_open(&sub, &sc, err));
	bool ok = true;
	for (;;) {
		lk_batch *b;
		if (!dl_scan_next(sc, &b, err)) {
			ok = false;
			break;
		}
		if (!b)
			break;
		if (!pgl_copy_batch(cp, b, err)) {
			ok = false;
			break;
		}
	}
	dl_scan_free(sc);
	return ok;
}

static void
loader_fail(loader *L, const lk_error *err)
{
	pthread_mutex_lock(&L->mu);
	if (!L->failed) {
		L->failed = true;
		L->err = *err;
	}
	pthread_mutex_unlock(&L->mu);
}

static void *
worker_main(void *arg)
{
	loader *L = arg;
	lk_error err;
	lk_error_clear(&err);
	pgl_copy cp;
	memset(&cp, 0, sizeof(cp));
	fview v;
	memset(&v, 0, sizeof(v));
	v.file = -1;
	lk_batch *out = lk_batch_new(L->snap->schema.type);
	for (int i = 0; i < out->ncols; i++)
		reserve_varlen(&out->cols[i]);
	bool ok = true;
	int64_t rows = 0;
	pgc_conn *c = pgc_connect(L->x->o->target_dsn, false, &err);
	if (!c || !pgl_copy_begin(&cp, c, L->copy_sql, true, &err))
		ok = false;
	while (ok) {
		pthread_mutex_lock(&L->mu);
		bool stop = L->failed || L->next >= L->npieces;
		piece p = stop ? (piece){0, 0} : L->pieces[L->next++];
		pthread_mutex_unlock(&L->mu);
		if (stop)
			break;
		if (p.rg < 0) {
			ok = copy_whole_file(L, p.file, &cp, &err);
			continue;
		}
		if (v.file != p.file) {
			fview_close(&v);
			if (!fview_open(L, p.file, false, &v, &err)) {
				ok = false;
				break;
			}
			if (!v.simple) {
				ok = lk_error_set(&err, LK_ERR_INTERNAL, "file layout changed while loading");
				break;
			}
		}
		ok = copy_row_group(L, &v, p.rg, out, &cp, &err);
	}
	if (ok && !L->failed)
		ok = pgl_copy_end(&cp, &rows, &err);
	else
		pgl_copy_abort(&cp, "lakesync: load failed");
	if (!ok)
		loader_fail(L, &err);
	pthread_mutex_lock(&L->mu);
	L->rows += rows;
	pthread_mutex_unlock(&L->mu);
	fview_close(&v);
	lk_batch_free(out);
	pgc_close(c);
	return NULL;
}

/* ---- snapshot: load, index, swap -------------------------------------------------- */

static bool
drop_shadow(ctx *x, lk_error *err)
{
	char *sql = lk_arena_sprintf(x->cur, "DROP TABLE IF EXISTS %s", x->qshadow);
	return run_sql(x, sql, "could not drop the shadow table", err);
}

/* GRANT statements re-applying the old table's privileges (pg_class.relacl,
 * except the owner's own) to the target name, appended to out; run after
 * the rename, inside the swap transaction. */
static bool
collect_grants(ctx *x, const char *old_oid, lk_buf *out, lk_error *err)
{
	char *sql = lk_arena_sprintf(
		x->cur,
		"SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) "
		"END, a.privilege_type, a.is_grantable FROM pg_class c, aclexplode(c.relacl) a "
		"WHERE c.oid = %s AND a.grantee <> c.relowner ORDER BY 1, 2",
		old_oid);
	PGresult *r = query_sql(x, sql, "could not read the target's privileges", err);
	if (!r)
		return false;
	for (int i = 0; i < PQntuples(r); i++)
		lk_buf_printf(out, "GRANT %s ON %s TO %s%s;\n", PQgetvalue(r, i, 1), x->qtarget,
					  PQgetvalue(r, i, 0), PQgetvalue(r, i, 2)[0] == 't' ? " WITH GRANT OPTION" : "");
	PQclear(r);
	return true;
}

/* The guard trigger and the revoked write privileges (README: "Synced
 * tables are read-only"). */
static void
append_guard_sql(ctx *x, lk_buf *b)
{
	lk_buf_printf(b,
				  "REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %s FROM PUBLIC;\n"
				  "CREATE TRIGGER lakesync_read_only BEFORE INSERT OR UPDATE OR DELETE OR "
				  "TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION "
				  "lakesync.synced_table_guard();\n",
				  x->qtarget, x->qtarget);
}

static void
append_state_upsert(ctx *x, lk_buf *b, int64_t version, const char *schema_string)
{
	lk_buf pk = LK_BUF_INIT;
	if (x->npk) {
		lk_buf_append_str(&pk, "ARRAY[");
		for (int i = 0; i < x->npk; i++) {
			if (i)
				lk_buf_append_str(&pk, ", ");
			pgl_quote_literal(&pk, x->pk[i]);
		}
		lk_buf_append_str(&pk, "]::text[]");
	} else {
		lk_buf_append_str(&pk, "NULL");
	}
	lk_buf_printf(b,
				  "INSERT INTO lakesync.synced_tables (target, source, version, mode, "
				  "primary_key, dedup_by, columns, delta_schema, loaded_at, updated_at) VALUES "
				  "(%s, %s, %" PRId64 ", %s, %s, %s, %s::jsonb, %s, now(), now()) "
				  "ON CONFLICT (target) DO UPDATE SET source = EXCLUDED.source, "
				  "version = EXCLUDED.version, mode = EXCLUDED.mode, "
				  "primary_key = EXCLUDED.primary_key, dedup_by = EXCLUDED.dedup_by, "
				  "columns = EXCLUDED.columns, delta_schema = EXCLUDED.delta_schema, "
				  "loaded_at = now(), updated_at = now();\n",
				  lit(x, x->target_key), lit(x, x->st.root), version,
				  lit(x, sy_mode_name(x->o->mode)), lk_buf_cstr(&pk),
				  x->dedup_by ? lit(x, x->dedup_by) : "NULL", lit(x, columns_json(x, x->cols, x->ncols)),
				  schema_string ? lit(x, schema_string) : "NULL");
	lk_buf_free(&pk);
}

/* The old target's secondary indexes (every index but the primary key),
 * built on the shadow under temporary names before the swap, which renames
 * them back: readers never wait for an index build, and an index an
 * operator added to the synced table survives a refresh.  An index the new
 * schema cannot carry (a column gone) is left out with a warning. */
static bool
copy_indexes(ctx *x, lk_error *err)
{
	x->nidx = 0;
	char *sql = lk_arena_sprintf(
		x->cur,
		"SELECT i.relname, pg_get_indexdef(i.oid), quote_ident(n.nspname) || '.' || "
		"quote_ident(t.relname), x.indisunique, quote_ident(i.relname) FROM pg_index x "
		"JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
		"JOIN pg_namespace n ON n.oid = t.relnamespace "
		"WHERE n.nspname = %s AND t.relname = %s AND NOT x.indisprimary ORDER BY i.relname",
		lit(x, x->t.schema), lit(x, x->t.name));
	PGresult *r = query_sql(x, sql, "could not read the target's indexes", err);
	if (!r)
		return false;
	int n = PQntuples(r);
	x->idx_tmp = lk_arena_zalloc(x->cur, sizeof(char *) * (size_t) (n + 1));
	x->idx_name = lk_arena_zalloc(x->cur, sizeof(char *) * (size_t) (n + 1));
	bool ok = true;
	for (int i = 0; i < n && ok; i++) {
		const char *name = PQgetvalue(r, i, 0), *def = PQgetvalue(r, i, 1);
		const char *qtab = PQgetvalue(r, i, 2);
		/* pg_get_indexdef: CREATE [UNIQUE ]INDEX name ON [ONLY ]schema.table USING ... */
		const char *head = PQgetvalue(r, i, 3)[0] == 't' ? "CREATE UNIQUE INDEX " : "CREATE INDEX ";
		const char *qname = PQgetvalue(r, i, 4);     /* as pg_get_indexdef spells it */
		const char *p = def;
		size_t hl = strlen(head), nl = strlen(qname), tl = strlen(qtab);
		bool match = strncmp(p, head, hl) == 0 && strncmp(p + hl, qname, nl) == 0 &&
					 strncmp(p + hl + nl, " ON ", 4) == 0;
		if (match) {
			p += hl + nl + 4;
			if (strncmp(p, "ONLY ", 5) == 0)
				p += 5;
			match = strncmp(p, qtab, tl) == 0 && strncmp(p + tl, " USING ", 7) == 0;
			p += tl;
		}
		if (!match) {
			lk_warn("synced-table %s: index %s is not carried over (unexpected definition: %s)",
					x->qtarget, name, def);
			continue;
		}
		const char *tmp = lk_arena_sprintf(x->cur, "lakesync_ix_%08x_%d", fnv32(x->qtarget),
										   x->nidx);
		sql = lk_arena_sprintf(x->cur, "%s%s ON %s%s", head, tmp, x->qshadow, p);
		lk_error e;
		if (!run_sql(x, sql, "could not build an index", &e)) {
			if (pgc_is_broken(x->c)) {
				*err = e;
				ok = false;
				break;
			}
			lk_warn("synced-table %s: index %s is not carried over: %s", x->qtarget, name,
					e.msg);
			continue;
		}
		x->idx_tmp[x->nidx] = tmp;
		x->idx_name[x->nidx] = lk_arena_strdup(x->cur, name);
		x->nidx++;
	}
	PQclear(r);
	return ok;
}

/* One transaction: readers see the old table or the new one. */
static bool
swap_in(ctx *x, int64_t version, const char *schema_string, lk_error *err)
{
	lk_buf b = LK_BUF_INIT, grants = LK_BUF_INIT;
	bool exists = false;
	const char *owner = NULL;
	bool ok = run_sql(x, "BEGIN", "could not begin the swap", err) && target_exists(x, &exists, err);
	if (ok && exists) {
		/* wait for the old table's readers, then read its owner and grants */
		char *sql = lk_arena_sprintf(x->cur, "LOCK TABLE %s IN ACCESS EXCLUSIVE MODE", x->qtarget);
		ok = run_sql(x, sql, "could not lock the target", err);
		sql = lk_arena_sprintf(x->cur,
							   "SELECT c.oid, quote_ident(pg_get_userbyid(c.relowner)), "
							   "pg_get_userbyid(c.relowner) = current_user FROM pg_class c "
							   "WHERE c.oid = %s::regclass",
							   lit(x, x->qtarget));
		PGresult *r = ok ? query_sql(x, sql, "could not read the target's owner", err) : NULL;
		if (r) {
			const char *oid = lk_arena_strdup(x->cur, PQgetvalue(r, 0, 0));
			if (PQgetvalue(r, 0, 2)[0] != 't')
				owner = lk_arena_strdup(x->cur, PQgetvalue(r, 0, 1));
			PQclear(r);
			ok = collect_grants(x, oid, &grants, err);
		} else {
			ok = false;
		}
	}
	if (ok) {
		if (exists)
			lk_buf_printf(&b, "DROP TABLE %s;\n", x->qtarget);
		lk_buf_printf(&b, "ALTER TABLE %s RENAME TO %s;\n", x->qshadow, ident(x, x->t.name));
		if (x->npk)
			lk_buf_printf(&b, "ALTER TABLE %s RENAME CONSTRAINT %s TO %s;\n", x->qtarget,
						  ident(x, x->pk_name),
						  ident(x, lk_arena_sprintf(x->cur, "%s_pkey", x->t.name)));
		for (int i = 0; i < x->nidx; i++)
			lk_buf_printf(&b, "ALTER INDEX %s.%s RENAME TO %s;\n", ident(x, x->t.schema),
						  ident(x, x->idx_tmp[i]), ident(x, x->idx_name[i]));
		if (owner)
			lk_buf_printf(&b, "ALTER TABLE %s OWNER TO %s;\n", x->qtarget, owner);
		if (grants.len)
			lk_buf_append(&b, grants.data, grants.len);
		append_guard_sql(x, &b);
		append_state_upsert(x, &b, version, schema_string);
		lk_buf_append_str(&b, "COMMIT;");
		ok = run_sql(x, lk_buf_cstr(&b), "could not swap the new table in", err);
	}
	if (!ok)
		rollback(x);
	lk_buf_free(&b);
	lk_buf_free(&grants);
	return ok;
}

static bool
is_conflict_state(const pgc_conn *c)
{
	return strcmp(c->sqlstate, "23505") == 0 || strcmp(c->sqlstate, "23502") == 0;
}

/* Keep one row per key: the greatest dedup_by value (nulls last). */
static bool
dedup_shadow(ctx *x, lk_error *err)
{
	lk_buf b = LK_BUF_INIT;
	lk_buf_printf(&b, "DELETE FROM %s s USING (SELECT ctid AS row_id, row_number() OVER "
					  "(PARTITION BY ",
				  x->qshadow);
	append_pk_list(x, &b, NULL);
	lk_buf_append_str(&b, " ORDER BY ");
	pgl_quote_ident(&b, x->dedup_by);
	lk_buf_printf(&b, " DESC NULLS LAST) AS n FROM %s) d WHERE s.ctid = d.row_id AND d.n > 1",
				  x->qshadow);
	bool ok = run_sql(x, lk_buf_cstr(&b), "could not remove duplicate keys", err);
	lk_buf_free(&b);
	return ok;
}

static bool
add_primary_key(ctx *x, int64_t version, lk_error *err)
{
	lk_buf b = LK_BUF_INIT;
	lk_buf_printf(&b, "SET maintenance_work_mem TO '256MB'; ALTER TABLE %s ADD CONSTRAINT %s "
					  "PRIMARY KEY (",
				  x->qshadow, ident(x, x->pk_name));
	append_pk_list(x, &b, NULL);
	lk_buf_append_str(&b, "); RESET maintenance_work_mem");
	bool ok = run_sql(x, lk_buf_cstr(&b), "could not add the primary key", err);
	lk_buf_free(&b);
	if (!ok && is_conflict_state(x->c)) {
		char msg[sizeof(err->msg)];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		lk_error_set(err, LK_ERR_CORRUPT,
					 "the source (version %" PRId64 ") breaks the primary key: %s; --dedup-by "
					 "COLUMN keeps the row with the greatest value per key",
					 version, msg);
	}
	return ok;
}

static double
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static bool
plan_pieces(loader *L, lk_error *err)
{
	const dl_snapshot *s = L->snap;
	size_t cap = s->nfiles + 16;
	L->pieces = lk_xmalloc(sizeof(piece) * cap);
	L->npieces = 0;
	for (size_t f = 0; f < s->nfiles; f++) {
		fview v;
		if (!fview_open(L, (int) f, true, &v, err))
			return false;
		int nrg = v.simple ? v.nrg : 1;
		if (L->npieces + (size_t) nrg > cap) {
			cap = (L->npieces + (size_t) nrg) * 2;
			L->pieces = lk_xrealloc(L->pieces, sizeof(piece) * cap);
		}
		for (int k = 0; k < nrg; k++)
			L->pieces[L->npieces++] = (piece){(int) f, v.simple ? k : -1};
		fview_close(&v);
	}
	return true;
}

/* Load snap into the shadow table and swap it in (the whole snapshot
 * path). The shadow is dropped on failure. */
static bool
load_snapshot(ctx *x, const dl_snapshot *snap, sy_result *res, lk_error *err)
{
	if (!snap->has_schema)
		return lk_error_set(err, LK_ERR_CORRUPT, "the table's metaData has no schemaString");
	pgl_column *cols;
	int n;
	LK_FORWARD(columns_for_schema(x, snap->schema.type, &cols, &n, err));
	if (n == 0)
		return lk_error_set(err, LK_ERR_UNSUPPORTED, "the source table has no columns");
	bool exists;
	LK_FORWARD(target_exists(x, &exists, err));
	if (exists && !x->has_state)
		return lk_error_set(err, LK_ERR_INVALID,
							"%s exists and is not a synced table (no row in "
							"lakesync.synced_tables): refusing to replace it",
							x->qtarget);
	lk_info("synced-table %s: loading version %" PRId64 " of %s (%zu files)", x->qtarget,
			snap->version, x->st.root, snap->nfiles);
	LK_FORWARD(drop_shadow(x, err));
	lk_buf b = LK_BUF_INIT;
	bool ok = pgl_create_table_sql(&b, x->t.schema, x->shadow, cols, n, false, err) &&
			  run_sql(x, lk_buf_cstr(&b), "could not create the shadow table", err);
	lk_buf_free(&b);
	if (!ok)
		return false;

	double t0 = mono_ms();
	loader L;
	memset(&L, 0, sizeof(L));
	L.x = x;
	L.snap = snap;
	pthread_mutex_init(&L.mu, NULL);
	L.phys = dl_schema_physical(&snap->schema, snap->column_mapping, x->cur, err);
	ok = L.phys != NULL;
	if (ok) {
		L.is_part = lk_arena_zalloc(x->cur, sizeof(bool) * (size_t) (n + 1));
		for (int i = 0; i < snap->metadata.partition_columns.n; i++) {
			int k = dl_schema_field_index(snap->schema.type, snap->metadata.partition_columns.items[i]);
			if (k >= 0)
				L.is_part[k] = true;
		}
		lk_buf_printf(&b, "COPY %s (", x->qshadow);
		append_column_list(&b, cols, n, NULL);
		lk_buf_append_str(&b, ") FROM STDIN");
		L.copy_sql = lk_arena_strdup(x->cur, lk_buf_cstr(&b));
		lk_buf_free(&b);
		ok = plan_pieces(&L, err);
	}
	double t_plan = mono_ms();
	if (ok && L.npieces) {
		int nt = x->o->jobs < 1 ? 1 : x->o->jobs;
		if ((size_t) nt > L.npieces)
			nt = (int) L.npieces;
		pthread_t *th = lk_xcalloc((size_t) nt, sizeof(pthread_t));
		int started = 0;
		for (int i = 0; i < nt; i++) {
			if (pthread_create(&th[i], NULL, worker_main, &L) != 0)
				break;
			started++;
		}
		if (started == 0) {
			lk_error_set(&L.err, LK_ERR_IO, "could not start a loader thread");
			L.failed = true;
		}
		for (int i = 0; i < started; i++)
			pthread_join(th[i], NULL);
		free(th);
		if (L.failed) {
			*err = L.err;
			ok = false;
		}
	}
	free(L.pieces);
	pthread_mutex_destroy(&L.mu);
	res->rows_loaded = L.rows;
	double t_copy = mono_ms();
	if (ok && x->dedup_by && x->npk)
		ok = dedup_shadow(x, err);
	if (ok && x->npk)
		ok = add_primary_key(x, snap->version, err);
	x->nidx = 0;
	if (ok && exists)
		ok = copy_indexes(x, err);
	double t_key = mono_ms();
	if (ok) {
		char *sql = lk_arena_sprintf(x->cur, "ANALYZE %s", x->qshadow);
		ok = run_sql(x, sql, "could not analyze the shadow table", err);
	}
	double t_analyze = mono_ms();
	pgl_column *old_cols = x->cols;
	int old_n = x->ncols;
	x->cols = cols;
	x->ncols = n;
	if (ok)
		ok = swap_in(x, snap->version, snap->metadata.schema_string, err);
	if (!ok) {
		x->cols = old_cols;
		x->ncols = old_n;
		lk_error e2;
		if (!pgc_is_broken(x->c))
			drop_shadow(x, &e2);
		return false;
	}
	lk_debug("synced-table %s: plan %.0f ms (%zu pieces), copy %.0f ms, dedup+key %.0f ms, "
			 "analyze %.0f ms, swap %.0f ms", x->qtarget, t_plan - t0, L.npieces,
			 t_copy - t_plan, t_key - t_copy, t_analyze - t_key, mono_ms() - t_analyze);
	keep_columns(x, cols, n);      /* cols point into snap, freed soon */
	x->has_state = true;
	x->state_version = snap->version;
	res->version = snap->version;
	res->snapshot_loaded = true;
	lk_info("synced-table %s: version %" PRId64 " loaded (%" PRId64 " rows)", x->qtarget,
			snap->version, res->rows_loaded);
	return true;
}

/* Run a command; *n = rows it affected. */
static bool
exec_count(ctx *x, const char *sql, const char *what, int64_t *n, lk_error *err)
{
	PGresult *res = PQexec(x->c->pg, sql);
	if (res && PQresultStatus(res) == PGRES_COMMAND_OK) {
		*n = strtoll(PQcmdTuples(res), NULL, 10);
		PQclear(res);
		return true;
	}
	pgc_error_from_result(x->c, res, what, err);
	PQclear(res);
	return false;
}

/* ---- incremental: one Delta version per transaction ---------------------------------- */

typedef struct apply_ctx {
	pgl_copy cp;
	int64_t rows;
} apply_ctx;

static bool
on_change_batch(void *arg, const lk_batch *b, lk_error *err)
{
	apply_ctx *ac = arg;
	const lk_column *ct = &b->cols[b->ncols - 1];
	for (int64_t i = 0; i < b->nrows; i++) {
		int64_t n;
		const char *p = (const char *) lk_column_bytes(ct, i, &n);
		if (!((n == 6 && memcmp(p, "insert", 6) == 0) || (n == 6 && memcmp(p, "delete", 6) == 0) ||
			  (n == 15 && memcmp(p, "update_preimage", 15) == 0) ||
			  (n == 16 && memcmp(p, "update_postimage", 16) == 0)))
			return lk_error_set(err, LK_ERR_CORRUPT, "unknown _change_type \"%.*s\"",
								(int) (n > 40 ? 40 : n), p);
	}
	ac->rows += b->nrows;
	return pgl_copy_batch(&ac->cp, b, err);
}

/* Columns after version v: the current ones must be unchanged (name and
 * PostgreSQL type); new ones are returned in *added. */
static bool
check_schema(ctx *x, const lk_type *schema, int64_t version, pgl_column **ncols, int *nn,
			 int **added, int *nadded, lk_error *err)
{
	LK_FORWARD(columns_for_schema(x, schema, ncols, nn, err));
	for (int i = 0; i < x->ncols; i++) {
		int j = -1;
		for (int k = 0; k < *nn; k++)
			if (strcmp((*ncols)[k].name, x->cols[i].name) == 0)
				j = k;
		if (j < 0)
			return lk_error_set(err, LK_ERR_UNSUPPORTED,
								"column \"%s\" was dropped or renamed in version %" PRId64
								" of the source: a full refresh is needed (--mode snapshot)",
								x->cols[i].name, version);
		if (strcmp((*ncols)[j].sql_type, x->cols[i].sql_type) != 0)
			return lk_error_set(err, LK_ERR_UNSUPPORTED,
								"column \"%s\" is %s in version %" PRId64 " of the source and %s "
								"in the target: a full refresh is needed (--mode snapshot)",
								x->cols[i].name, (*ncols)[j].sql_type, version,
								x->cols[i].sql_type);
	}
	*added = lk_arena_zalloc(x->cur, sizeof(int) * (size_t) (*nn + 1));
	*nadded = 0;
	for (int k = 0; k < *nn; k++) {
		bool found = false;
		for (int i = 0; i < x->ncols && !found; i++)
			found = strcmp((*ncols)[k].name, x->cols[i].name) == 0;
		if (!found)
			(*added)[(*nadded)++] = k;
	}
	return true;
}

static int64_t
apply_delay_ms(void)
{
	const char *s = getenv("LAKESYNC_SYNCED_APPLY_DELAY_MS");
	return s ? strtoll(s, NULL, 10) : 0;
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t) (ms / 1000), (long) (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Keep cols (names and types) in the other column arena. */
static void
keep_columns(ctx *x, const pgl_column *cols, int n)
{
	x->colsi ^= 1;
	lk_arena *a = &x->colsa[x->colsi];
	lk_arena_reset(a);
	pgl_column *k = lk_arena_zalloc(a, sizeof(pgl_column) * (size_t) (n + 1));
	for (int i = 0; i < n; i++) {
		k[i].name = lk_arena_strdup(a, cols[i].name);
		k[i].sql_type = lk_arena_strdup(a, cols[i].sql_type);
		k[i].not_null = cols[i].not_null;
	}
	x->cols = k;
	x->ncols = n;
}

static bool apply_version_in(ctx *x, sy_changes *ch, const sy_version *v, sy_result *res,
							 lk_error *err);

/* One version; everything it allocates lives in x->ver. */
static bool
apply_version(ctx *x, sy_changes *ch, const sy_version *v, sy_result *res, lk_error *err)
{
	lk_arena_reset(&x->ver);
	x->cur = &x->ver;
	bool ok = apply_version_in(x, ch, v, res, err);
	x->cur = &x->a;
	return ok;
}

static bool
apply_version_in(ctx *x, sy_changes *ch, const sy_version *v, sy_result *res, lk_error *err)
{
	pgl_column *nc;
	int nn = 0, *added = NULL, nadded = 0;
	LK_FORWARD(check_schema(x, v->schema->type, v->version, &nc, &nn, &added, &nadded, err));
	lk_buf b = LK_BUF_INIT;
	apply_ctx ac;
	memset(&ac, 0, sizeof(ac));
	int64_t changed = 0;
	bool ok = run_sql(x, "BEGIN; SET LOCAL lakesync.applying = 'on'",
					  "could not begin the apply transaction", err);
	if (ok) {
		char *sql = lk_arena_sprintf(x->cur, "SELECT version FROM lakesync.synced_tables WHERE "
											"target = %s FOR UPDATE",
									 lit(x, x->target_key));
		PGresult *r = query_sql(x, sql, "could not lock the state row", err);
		ok = r != NULL;
		if (ok && (PQntuples(r) != 1 || strtoll(PQgetvalue(r, 0, 0), NULL, 10) != v->version - 1))
			ok = lk_error_set(err, LK_ERR_CONFLICT,
							  "the state of %s changed under us (expected version %" PRId64
							  ", found %s)",
							  x->qtarget, v->version - 1,
							  PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "no state row");
		PQclear(r);
	}
	for (int k = 0; ok && k < nadded; k++) {
		lk_buf_reset(&b);
		lk_buf_printf(&b, "ALTER TABLE %s ADD COLUMN ", x->qtarget);
		pgl_quote_ident(&b, nc[added[k]].name);
		lk_buf_printf(&b, " %s", nc[added[k]].sql_type);
		ok = run_sql(x, lk_buf_cstr(&b), "could not add a column", err);
		if (ok)
			lk_info("synced-table %s: column \"%s\" %s added (version %" PRId64 ")", x->qtarget,
					nc[added[k]].name, nc[added[k]].sql_type, v->version);
	}
	if (ok && v->data_change) {
		/* the change rows: table columns + change type, in a temp table */
		pgl_column *tc = lk_arena_zalloc(x->cur, sizeof(pgl_column) * (size_t) (nn + 1));
		for (int i = 0; i < nn; i++) {
			tc[i] = nc[i];
			tc[i].not_null = false;
		}
		tc[nn].name = CT_COLUMN;
		tc[nn].sql_type = "text";
		lk_buf_reset(&b);
		/* a table created in pg_temp is a temporary table */
		ok = pgl_create_table_sql(&b, "pg_temp", "lakesync_changes", tc, nn + 1, false, err);
		if (ok) {
			lk_buf_append_str(&b, " ON COMMIT DROP");
			ok = run_sql(x, lk_buf_cstr(&b), "could not create the change table", err);
		}
		if (ok) {
			lk_buf_reset(&b);
			lk_buf_append_str(&b, "COPY pg_temp.lakesync_changes FROM STDIN");
			ok = pgl_copy_begin(&ac.cp, x->c, lk_buf_cstr(&b), false, err);
		}
		if (ok) {
			ok = sy_changes_read(ch, on_change_batch, &ac, err);
			if (ok)
				ok = pgl_copy_end(&ac.cp, NULL, err);
			else
				pgl_copy_abort(&ac.cp, "lakesync: could not read the changes");
		}
		if (ok) {
			lk_buf_reset(&b);
			lk_buf_printf(&b, "DELETE FROM %s t USING pg_temp.lakesync_changes c WHERE c.%s IN "
							  "('delete', 'update_preimage')",
						  x->qtarget, CT_COLUMN);
			for (int i = 0; i < x->npk; i++) {
				lk_buf_append_str(&b, " AND t.");
				pgl_quote_ident(&b, x->pk[i]);
				lk_buf_append_str(&b, " = c.");
				pgl_quote_ident(&b, x->pk[i]);
			}
			if (x->dedup_by) {
				lk_buf_append_str(&b, " AND t.");
				pgl_quote_ident(&b, x->dedup_by);
				lk_buf_append_str(&b, " IS NOT DISTINCT FROM c.");
				pgl_quote_ident(&b, x->dedup_by);
			}
			int64_t n = 0;
			ok = exec_count(x, lk_buf_cstr(&b), "could not apply deletes", &n, err);
			changed += n;
		}
		if (ok) {
			lk_buf_reset(&b);
			lk_buf_printf(&b, "INSERT INTO %s (", x->qtarget);
			append_column_list(&b, nc, nn, NULL);
			lk_buf_append_str(&b, ") SELECT ");
			if (x->dedup_by) {
				lk_buf_append_str(&b, "DISTINCT ON (");
				append_pk_list(x, &b, NULL);
				lk_buf_append_str(&b, ") ");
			}
			append_column_list(&b, nc, nn, NULL);
			lk_buf_printf(&b, " FROM pg_temp.lakesync_changes WHERE %s IN ('insert', "
							  "'update_postimage')",
						  CT_COLUMN);
			if (x->dedup_by) {
				lk_buf_append_str(&b, " ORDER BY ");
				append_pk_list(x, &b, NULL);
				lk_buf_append_str(&b, ", ");
				pgl_quote_ident(&b, x->dedup_by);
				lk_buf_append_str(&b, " DESC NULLS LAST ON CONFLICT (");
				append_pk_list(x, &b, NULL);
				lk_buf_append_str(&b, ") DO UPDATE SET ");
				for (int i = 0; i < nn; i++) {
					if (i)
						lk_buf_append_str(&b, ", ");
					pgl_quote_ident(&b, nc[i].name);
					lk_buf_append_str(&b, " = EXCLUDED.");
					pgl_quote_ident(&b, nc[i].name);
				}
				/* latest wins: an older duplicate does not replace the row */
				lk_buf_printf(&b, " WHERE %s.", x->qtarget);
				pgl_quote_ident(&b, x->dedup_by);
				lk_buf_printf(&b, " IS NULL OR %s.", x->qtarget);
				pgl_quote_ident(&b, x->dedup_by);
				lk_buf_append_str(&b, " <= EXCLUDED.");
				pgl_quote_ident(&b, x->dedup_by);
			}
			int64_t n = 0;
			ok = exec_count(x, lk_buf_cstr(&b), "could not apply inserts", &n, err);
			changed += n;
			if (!ok && is_conflict_state(x->c)) {
				char msg[sizeof(err->msg)];
				snprintf(msg, sizeof(msg), "%s", err->msg);
				lk_error_set(err, LK_ERR_CORRUPT,
							 "version %" PRId64 " of the source breaks the primary key: %s; "
							 "--dedup-by COLUMN keeps the row with the greatest value per key",
							 v->version, msg);
			}
		}
	}
	if (ok) {
		lk_buf_reset(&b);
		lk_buf_printf(&b, "UPDATE lakesync.synced_tables SET version = %" PRId64 ", updated_at "
						  "= now(), columns = %s::jsonb",
					  v->version, lit(x, columns_json(x, nc, nn)));
		if (v->metadata_changed && v->metadata->schema_string)
			lk_buf_printf(&b, ", delta_schema = %s", lit(x, v->metadata->schema_string));
		lk_buf_printf(&b, " WHERE target = %s", lit(x, x->target_key));
		ok = run_sql(x, lk_buf_cstr(&b), "could not record the applied version", err);
	}
	int64_t delay = apply_delay_ms();
	if (ok && delay > 0)
		sleep_ms(delay);    /* tests: widen the window of an open apply */
	if (ok)
		ok = run_sql(x, "COMMIT", "could not commit the applied version", err);
	lk_buf_free(&b);
	if (!ok) {
		rollback(x);
		return lk_error_add_where(err, "version %" PRId64 " of %s", v->version, x->st.root);
	}
	keep_columns(x, nc, nn);
	x->state_version = v->version;
	res->version = v->version;
	res->versions_applied++;
	res->rows_changed += changed;
	lk_debug("synced-table %s: version %" PRId64 " applied (%" PRId64 " change rows, %" PRId64
			 " target rows)", x->qtarget, v->version, ac.rows, changed);
	return true;
}

static bool
stopped(const sy_options *o)
{
	return o->stop && *o->stop;
}

/* triggered: apply every version after the state's; continuous: then keep
 * polling. */
static bool
follow(ctx *x, sy_result *res, lk_error *err)
{
	const sy_options *o = x->o;
	sy_changes *ch;
	if (!sy_changes_open(&x->st, x->state_version, &ch, err)) {
		char msg[sizeof(err->msg)];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		lk_error_set(err, err->code,
					 "could not read version %" PRId64 " of the source, the last one synced "
					 "(%s); --mode snapshot reloads the table",
					 x->state_version, msg);
		return false;
	}
	res->version = x->state_version;
	bool ok = true;
	while (ok && !stopped(o)) {
		if (o->until_version >= 0 && x->state_version >= o->until_version)
			break;
		const sy_version *v;
		if (!sy_changes_next(ch, &v, err)) {
			ok = false;
			break;
		}
		if (!v) {
			if (o->mode != SY_MODE_CONTINUOUS)
				break;
			for (int64_t waited = 0; waited < o->interval_ms && !stopped(o); waited += 50)
				sleep_ms(o->interval_ms - waited < 50 ? o->interval_ms - waited : 50);
			continue;
		}
		ok = apply_version(x, ch, v, res, err);
	}
	sy_changes_free(ch);
	return ok;
}

static bool
open_snapshot(ctx *x, bool latest, dl_snapshot **out, lk_error *err)
{
	const sy_options *o = x->o;
	dl_snapshot_options so;
	dl_snapshot_options_init(&so);
	if (!latest && o->as_of_version >= 0)
		so.version = o->as_of_version;
	if (!latest && o->has_as_of_ms) {
		so.as_of_timestamp = true;
		so.timestamp_ms = o->as_of_ms;
	}
	return dl_snapshot_open(&x->st, &so, out, err);
}

bool
sy_synced_table_run(const sy_options *o, sy_result *res, lk_error *err)
{
	memset(res, 0, sizeof(*res));
	res->version = -1;
	lk_error_clear(err);
	if (!o->source || !o->target_dsn || !o->table)
		return lk_error_set(err, LK_ERR_INVALID, "--source, --target and --table are required");
	if (o->mode != SY_MODE_SNAPSHOT && (o->as_of_version >= 0 || o->has_as_of_ms))
		return lk_error_set(err, LK_ERR_INVALID, "--as-of loads a past version: it needs "
												 "--mode snapshot");
	if (o->dedup_by && o->npk == 0 && o->mode == SY_MODE_SNAPSHOT)
		return lk_error_set(err, LK_ERR_INVALID, "--dedup-by needs --primary-key");
	ctx x;
	memset(&x, 0, sizeof(x));
	x.o = o;
	lk_arena_init(&x.a, 0);
	lk_arena_init(&x.ver, 0);
	lk_arena_init(&x.colsa[0], 0);
	lk_arena_init(&x.colsa[1], 0);
	x.cur = &x.a;
	x.npk = o->npk;
	x.pk = lk_arena_zalloc(&x.a, sizeof(char *) * (size_t) (o->npk + 1));
	for (int i = 0; i < o->npk; i++)
		x.pk[i] = lk_arena_strdup(&x.a, o->primary_key[i]);
	x.dedup_by = o->dedup_by ? lk_arena_strdup(&x.a, o->dedup_by) : NULL;
	bool ok = pgc_table_name_parse(o->table, &x.a, &x.t, err);
	if (ok) {
		lk_buf b = LK_BUF_INIT;
		pgl_quote_qualified(&b, x.t.schema, x.t.name);
		x.qtarget = lk_arena_strdup(&x.a, lk_buf_cstr(&b));
		x.target_key = x.qtarget;
		lk_buf_free(&b);
		uint32_t h = fnv32(x.qtarget);
		x.shadow = lk_arena_sprintf(&x.a, "lakesync_shadow_%08x", h);
		x.pk_name = lk_arena_sprintf(&x.a, "lakesync_pk_%08x", h);
		b = (lk_buf) LK_BUF_INIT;
		pgl_quote_qualified(&b, x.t.schema, x.shadow);
		x.qshadow = lk_arena_strdup(&x.a, lk_buf_cstr(&b));
		lk_buf_free(&b);
		ok = st_store_open(&x.st, o->source, ST_ALLOW_ABSOLUTE, err);
		x.st_open = ok;
	}
	if (ok) {
		x.c = pgc_connect(o->target_dsn, false, err);
		ok = x.c != NULL;
	}
	ok = ok && setup_state(&x, err) && lock_target(&x, err) && read_state(&x, err);
	if (ok && o->mode != SY_MODE_SNAPSHOT && x.npk == 0)
		ok = lk_error_set(err, LK_ERR_INVALID, "--mode %s needs a primary key (--primary-key "
											   "a,b): Delta tables have none",
						  sy_mode_name(o->mode));
	if (ok && x.dedup_by && x.npk == 0)
		ok = lk_error_set(err, LK_ERR_INVALID, "--dedup-by needs --primary-key");
	if (ok && o->mode != SY_MODE_SNAPSHOT && x.has_state &&
		strcmp(x.state_source, x.st.root) != 0)
		ok = lk_error_set(err, LK_ERR_INVALID, "%s is synced from %s, not %s: --mode snapshot "
											   "replaces it",
						  x.qtarget, x.state_source, x.st.root);
	if (ok && (o->mode == SY_MODE_SNAPSHOT || !x.has_state)) {
		dl_snapshot *snap;
		ok = open_snapshot(&x, o->mode != SY_MODE_SNAPSHOT, &snap, err);
		if (ok) {
			ok = load_snapshot(&x, snap, res, err);
			if (!ok)
				lk_error_add_where(err, "version %" PRId64 " of %s", snap->version, x.st.root);
			dl_snapshot_free(snap);
		}
	}
	if (ok && o->mode != SY_MODE_SNAPSHOT) {
		int64_t loaded = res->rows_loaded;
		bool snapshot_loaded = res->snapshot_loaded;
		int backoff = 1000;
		for (;;) {
			ok = follow(&x, res, err);
			/* continuous: a lost connection is not the end; the state row
			 * says which version the target holds (its transaction either
			 * committed or not), so reconnect and go on from there */
			if (ok || o->mode != SY_MODE_CONTINUOUS || stopped(o) || !pgc_is_broken(x.c))
				break;
			bool back = false;
			while (!stopped(o)) {
				lk_warn("synced-table %s: connection lost (%s); reconnecting in %d s",
						x.qtarget, err->msg, backoff / 1000);
				pgc_close(x.c);
				x.c = NULL;
				for (int waited = 0; waited < backoff && !stopped(o); waited += 50)
					sleep_ms(50);
				if (stopped(o))
					break;
				backoff = backoff < 30000 ? backoff * 2 : 30000;
				lk_error e;
				x.c = pgc_connect(o->target_dsn, false, &e);
				if (x.c && setup_state(&x, &e) && lock_target(&x, &e) && read_state(&x, &e)) {
					back = true;
					break;
				}
				*err = e;
				if (x.c && !pgc_is_broken(x.c))
					break;      /* the server answered: a real error */
			}
			if (!back) {
				ok = stopped(o);    /* stopped while waiting: a clean stop */
				break;
			}
			if (!x.has_state) {
				ok = lk_error_set(err, LK_ERR_INVALID, "%s lost its lakesync.synced_tables row "
													   "while reconnecting: --mode snapshot "
													   "reloads it", x.qtarget);
				break;
			}
			lk_info("synced-table %s: reconnected; resuming after version %" PRId64, x.qtarget,
					x.state_version);
			backoff = 1000;
		}
		res->rows_loaded = loaded;
		res->snapshot_loaded = snapshot_loaded;
	}
	if (!ok && x.c)
		rollback(&x);
	pgc_close(x.c);
	if (x.st_open)
		st_store_close(&x.st);
	lk_arena_free(&x.a);
	lk_arena_free(&x.ver);
	lk_arena_free(&x.colsa[0]);
	lk_arena_free(&x.colsa[1]);
	return ok;
}
