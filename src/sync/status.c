/*
 * status.c — `lakesync status` figures and the run status file (see
 * status.h for where each figure comes from and the state rule).
 *
 * Run status file (JSON, rewritten atomically by `lakesync run`):
 *
 *   {"pid": 1234, "running": true, "started_ms": …, "updated_ms": …,
 *    "entries": [{"kind": "pipeline" | "synced", "name": "orders",
 *                 "state": "running" | "backoff" | "stopped" | "starting",
 *                 "restarts": 0, "since_ms": …, "retry_at_ms": …,
 *                 "last_error": "…", "rows": …, "version": …}, …]}
 */
#include "sync/status.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "delta/log.h"
#include "pg/conn.h"
#include "pg/load.h"
#include "pg/pgoutput.h"
#include "storage/storage.h"
#include "sync/capture.h"

#define RUN_STALE_MS 15000

static int64_t
wall_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* ---- run status file --------------------------------------------------------- */

const char *
sy_run_state_name(sy_run_state s)
{
	switch (s) {
	case SY_RUN_STARTING: return "starting";
	case SY_RUN_RUNNING: return "running";
	case SY_RUN_BACKOFF: return "backoff";
	case SY_RUN_STOPPED: return "stopped";
	}
	return "unknown";
}

static bool
run_state_parse(const char *s, sy_run_state *out)
{
	for (int i = SY_RUN_STARTING; i <= SY_RUN_STOPPED; i++)
		if (s && !strcmp(s, sy_run_state_name((sy_run_state) i))) {
			*out = (sy_run_state) i;
			return true;
		}
	return false;
}

bool
sy_run_status_write(const char *path, const sy_run_status *rs, lk_error *err)
{
	json_t *root = json_object();
	json_object_set_new(root, "pid", json_integer(rs->pid));
	json_object_set_new(root, "running", json_boolean(rs->running));
	json_object_set_new(root, "started_ms", json_integer(rs->started_ms));
	json_object_set_new(root, "updated_ms", json_integer(rs->updated_ms));
	json_t *arr = json_array();
	for (int i = 0; i < rs->n; i++) {
		const sy_run_entry *e = &rs->entries[i];
		json_t *o = json_object();
		json_object_set_new(o, "kind", json_string(e->kind == 's' ? "synced" : "pipeline"));
		json_object_set_new(o, "name", json_string(e->name));
		json_object_set_new(o, "state", json_string(sy_run_state_name(e->state)));
		json_object_set_new(o, "restarts", json_integer(e->restarts));
		json_object_set_new(o, "since_ms", json_integer(e->since_ms));
		json_object_set_new(o, "retry_at_ms", json_integer(e->retry_at_ms));
		/* messages are built from lk_error text: valid UTF-8 is not
		 * guaranteed, so go through json_stringn's check */
		json_t *le = json_stringn(e->last_error, strlen(e->last_error));
		json_object_set_new(o, "last_error", le ? le : json_string("(not UTF-8)"));
		json_object_set_new(o, "rows", json_integer(e->rows));
		json_object_set_new(o, "version", json_integer(e->version));
		json_array_append_new(arr, o);
	}
	json_object_set_new(root, "entries", arr);
	char *text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!text)
		return lk_error_set(err, LK_ERR_NOMEM, "could not format the run status");

	size_t n = strlen(path) + 32;
	char *tmp = lk_xmalloc(n);
	snprintf(tmp, n, "%s.%d.tmp", path, (int) getpid());
	bool ok = false;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		lk_error_set(err, LK_ERR_IO, "could not create \"%s\": %s", tmp, strerror(errno));
	} else {
		size_t len = strlen(text), off = 0;
		while (off < len) {
			ssize_t w = write(fd, text + off, len - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += (size_t) w;
		}
		bool wrote = off == len && write(fd, "\n", 1) == 1;
		if (close(fd) != 0)
			wrote = false;
		if (!wrote)
			lk_error_set(err, LK_ERR_IO, "could not write \"%s\": %s", tmp, strerror(errno));
		else if (rename(tmp, path) != 0)
			lk_error_set(err, LK_ERR_IO, "could not rename \"%s\" to \"%s\": %s", tmp, path,
						 strerror(errno));
		else
			ok = true;
		if (!ok)
			unlink(tmp);
	}
	free(tmp);
	free(text);
	return ok;
}

static int64_t
jint(json_t *o, const char *key, int64_t dflt)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (int64_t) json_integer_value(v) : dflt;
}

bool
sy_run_status_read(const char *path, sy_run_status *rs, lk_error *err)
{
	memset(rs, 0, sizeof(*rs));
	json_error_t je;
	FILE *f = fopen(path, "rb");
	if (!f)
		return lk_error_set(err, errno == ENOENT ? LK_ERR_NOT_FOUND : LK_ERR_IO,
							"could not open run status file \"%s\": %s", path,
							strerror(errno));
	json_t *root = json_loadf(f, 0, &je);
	fclose(f);
	if (!root || !json_is_object(root)) {
		json_decref(root);
		lk_error_set(err, LK_ERR_CORRUPT, "run status file is not a JSON object");
		return lk_error_where(err, "file \"%s\", line %d", path, je.line);
	}
	rs->pid = (int) jint(root, "pid", 0);
	rs->running = json_is_true(json_object_get(root, "running"));
	rs->started_ms = jint(root, "started_ms", 0);
	rs->updated_ms = jint(root, "updated_ms", 0);
	json_t *arr = json_object_get(root, "entries");
	size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
	if (n > 100000) {
		json_decref(root);
		lk_error_set(err, LK_ERR_CORRUPT, "run status file lists %zu entries", n);
		return lk_error_where(err, "file \"%s\"", path);
	}
	rs->entries = lk_xcalloc(n + 1, sizeof(sy_run_entry));
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(arr, i);
		sy_run_entry *e = &rs->entries[rs->n];
		const char *kind = json_string_value(json_object_get(o, "kind"));
		const char *name = json_string_value(json_object_get(o, "name"));
		const char *state = json_string_value(json_object_get(o, "state"));
		const char *le = json_string_value(json_object_get(o, "last_error"));
		if (!kind || !name || !run_state_parse(state, &e->state))
			continue;           /* unknown entry: skip, not fatal */
		e->kind = !strcmp(kind, "synced") ? 's' : 'p';
		snprintf(e->name, sizeof(e->name), "%s", name);
		snprintf(e->last_error, sizeof(e->last_error), "%s", le ? le : "");
		e->restarts = (int) jint(o, "restarts", 0);
		e->since_ms = jint(o, "since_ms", 0);
		e->retry_at_ms = jint(o, "retry_at_ms", 0);
		e->rows = jint(o, "rows", 0);
		e->version = jint(o, "version", -1);
		rs->n++;
	}
	json_decref(root);
	return true;
}

void
sy_run_status_free(sy_run_status *rs)
{
	free(rs->entries);
	rs->entries = NULL;
	rs->n = 0;
}

const sy_run_entry *
sy_run_status_find(const sy_run_status *rs, char kind, const char *name)
{
	for (int i = 0; i < rs->n; i++)
		if (rs->entries[i].kind == kind && !strcmp(rs->entries[i].name, name))
			return &rs->entries[i];
	return NULL;
}

bool
sy_run_status_alive(const sy_run_status *rs, int64_t now_ms)
{
	if (!rs->running || rs->pid <= 0)
		return false;
	if (now_ms - rs->updated_ms > RUN_STALE_MS)
		return false;
	return kill(rs->pid, 0) == 0 || errno == EPERM;
}

/* ---- state rule ------------------------------------------------------------------- */

const char *
sy_status_table_state(bool run_alive, const sy_run_entry *run, bool slot_active,
					  int64_t txn_version, bool delta_error)
{
	if (delta_error)
		return "error";
	if (run_alive && run) {
		if (run->state == SY_RUN_BACKOFF)
			return "error";
		if (run->state == SY_RUN_RUNNING)
			return txn_version < 0 ? "snapshot" : "streaming";
		if (run->state == SY_RUN_STARTING)
			return txn_version < 0 ? "not started" : "stopped";
	}
	if (slot_active)
		return txn_version < 0 ? "snapshot" : "streaming";
	return txn_version < 0 ? "not started" : "stopped";
}

/* ---- Delta -------------------------------------------------------------------------- */

char *
sy_status_group_digits(int64_t v, char *buf)
{
	char tmp[32];
	bool neg = v < 0;
	uint64_t u = neg ? (uint64_t) 0 - (uint64_t) v : (uint64_t) v;
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, u);
	char *p = buf;
	if (neg)
		*p++ = '-';
	for (int i = 0; i < n; i++) {
		*p++ = tmp[i];
		if ((n - i - 1) % 3 == 0 && i != n - 1)
			*p++ = ',';
	}
	*p = '\0';
	return buf;
}

/* numRecords of a stats JSON, -1 when absent. */
static int64_t
stats_num_records(const char *stats)
{
	if (!stats)
		return -1;
	json_error_t je;
	json_t *j = json_loads(stats, 0, &je);
	json_t *v = j ? json_object_get(j, "numRecords") : NULL;
	int64_t r = json_is_integer(v) ? (int64_t) json_integer_value(v) : -1;
	json_decref(j);
	return r;
}

bool
sy_status_read_delta(const char *location, const char *app_id, sy_status_table *t,
					 lk_arena *a, lk_error *err)
{
	t->delta_exists = false;
	t->delta_version = -1;
	t->rows = 0;
	t->files = 0;
	t->bytes = 0;
	t->txn_version = -1;
	t->last_commit_ms = 0;
	st_store st;
	if (!st_store_open(&st, location, ST_ALLOW_ABSOLUTE, err))
		return false;
	dl_snapshot *s = NULL;
	lk_error e;
	lk_error_clear(&e);
	if (!dl_snapshot_open(&st, NULL, &s, &e)) {
		st_store_close(&st);
		if (e.code == LK_ERR_NOT_FOUND)
			return true;        /* no Delta table yet */
		*err = e;
		return false;
	}
	t->delta_exists = true;
	t->delta_version = s->version;
	t->last_commit_ms = s->timestamp_ms;
	t->files = (int64_t) s->nfiles;
	for (size_t i = 0; i < s->nfiles; i++) {
		const dl_add *ad = &s->files[i].add;
		t->bytes += ad->size;
		int64_t nr = stats_num_records(ad->stats);
		if (nr < 0 || t->rows < 0) {
			t->rows = -1;
			continue;
		}
		t->rows += nr - (ad->has_dv ? ad->dv.cardinality : 0);
	}
	if (app_id)
		t->txn_version = dl_snapshot_txn_version(s, app_id);
	(void) a;
	dl_snapshot_free(s);
	st_store_close(&st);
	return true;
}

/* ---- collection ----------------------------------------------------------------------- */

static const char *
err_text(lk_arena *a, const lk_error *e)
{
	char b[1200];
	return lk_arena_strdup(a, lk_error_str(e, b, sizeof(b)));
}

/* Slot and WAL position of a pipeline's source. */
static void
read_slot(sy_status_report *r, sy_status_pipeline *p, const char *dsn)
{
	lk_error e;
	lk_error_clear(&e);
	pgc_conn *c = pgc_connect(dsn, false, &e);
	if (!c) {
		p->source_error = err_text(&r->arena, &e);
		return;
	}
	/* the slot name is checked (lower case, digits, '_'): safe to inline */
	char *sql = lk_arena_sprintf(&r->arena,
		"SELECT pg_current_wal_lsn(), s.slot_name IS NOT NULL, s.active, s.active_pid, "
		"s.confirmed_flush_lsn, s.restart_lsn, s.wal_status, "
		"pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint "
		"FROM (SELECT 1) one LEFT JOIN pg_replication_slots s ON s.slot_name = '%s'",
		p->slot_name);
	PGresult *res = pgc_query(c, sql, &e);
	if (!res) {
		p->source_error = err_text(&r->arena, &e);
		pgc_close(c);
		return;
	}
	sy_status_slot *sl = &p->slot;
	if (PQntuples(res) == 1) {
		sl->checked = true;
		pgo_lsn_parse(PQgetvalue(res, 0, 0), &sl->current_lsn);
		sl->exists = PQgetvalue(res, 0, 1)[0] == 't';
		if (sl->exists) {
			sl->active = PQgetvalue(res, 0, 2)[0] == 't';
			sl->active_pid = PQgetisnull(res, 0, 3) ? 0 : atoi(PQgetvalue(res, 0, 3));
			if (!PQgetisnull(res, 0, 4))
				pgo_lsn_parse(PQgetvalue(res, 0, 4), &sl->confirmed_flush_lsn);
			if (!PQgetisnull(res, 0, 5))
				pgo_lsn_parse(PQgetvalue(res, 0, 5), &sl->restart_lsn);
			sl->wal_status = PQgetisnull(res, 0, 6)
								 ? NULL : lk_arena_strdup(&r->arena, PQgetvalue(res, 0, 6));
			sl->retained_bytes = PQgetisnull(res, 0, 7) ? -1
														: strtoll(PQgetvalue(res, 0, 7), NULL, 10);
		} else {
			sl->retained_bytes = -1;
		}
	}
	PQclear(res);
	pgc_close(c);
}

/* The error of table `name` in the pipeline's tables.json (written by the
 * capture engine: sync/capture.c write_states), or NULL: "<error> (the
 * slot is held at commit LSN X/Y)".  In arena a. */
static const char *
table_error(lk_arena *a, json_t *states, const char *name)
{
	json_t *arr = states ? json_object_get(states, "tables") : NULL;
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o) {
		const char *n = json_string_value(json_object_get(o, "name"));
		const char *st = json_string_value(json_object_get(o, "state"));
		const char *e = json_string_value(json_object_get(o, "error"));
		const char *lsn = json_string_value(json_object_get(o, "error_lsn"));
		if (n && st && e && !strcmp(n, name) && !strcmp(st, "error"))
			return lsn ? lk_arena_sprintf(a, "%s (the slot is held at commit LSN %s)", e, lsn)
					   : lk_arena_strdup(a, e);
	}
	return NULL;
}

/* <target>/_lakesync/<pipeline>/tables.json, or NULL (none, unreadable). */
static json_t *
read_states(const char *target, const char *pipeline)
{
	st_store st;
	lk_error e;
	if (!st_store_open(&st, target, ST_ALLOW_ABSOLUTE, &e))
		return NULL;
	size_t n = strlen(st.root) + strlen(pipeline) + 32;
	char *path = lk_xmalloc(n);
	snprintf(path, n, "%s/_lakesync/%s/tables.json", st.root, pipeline);
	st_store_close(&st);
	json_t *j = json_load_file(path, 0, NULL);
	free(path);
	return j;
}

static void
collect_pipeline(sy_status_report *r, const sy_config_file *cf, const sy_config_pipeline *pl,
				 sy_status_pipeline *p)
{
	lk_arena *a = &r->arena;
	p->name = pl->name;
	char *red = pgc_dsn_redact(pl->source);
	p->source = lk_arena_strdup(a, red);
	free(red);
	p->target = pl->target;
	char slot[64];
	lk_error e;
	lk_error_clear(&e);
	if (!sy_capture_slot_name(pl->name, slot, sizeof(slot), &e))
		snprintf(slot, sizeof(slot), "?");
	p->slot_name = lk_arena_strdup(a, slot);
	p->slot.retained_bytes = -1;
	p->run = r->run_found ? sy_run_status_find(&r->run, 'p', pl->name) : NULL;
	read_slot(r, p, pl->source);

	json_t *states = read_states(pl->target, pl->name);
	p->ntables = pl->ntables;
	p->tables = lk_arena_zalloc(a, sizeof(sy_status_table) * (size_t) (pl->ntables + 1));
	for (int i = 0; i < pl->ntables; i++) {
		sy_status_table *t = &p->tables[i];
		pgc_table_name tn;
		lk_error_clear(&e);
		if (!pgc_table_name_parse(pl->tables[i].name, a, &tn, &e)) {
			t->name = pl->tables[i].name;
			t->error = err_text(a, &e);
			t->state = "error";
			t->delta_version = t->txn_version = t->rows = t->lag_bytes = -1;
			t->lag_seconds = -1;
			continue;
		}
		t->name = lk_arena_sprintf(a, "%s.%s", tn.schema, tn.name);
		t->app_id = lk_arena_sprintf(a, "lakesync/%s/%s.%s", pl->name, tn.schema, tn.name);
		char *loc = sy_config_location(cf, pl, &pl->tables[i]);
		t->location = lk_arena_strdup(a, loc ? loc : "?");
		free(loc);
		bool derr = !sy_status_read_delta(t->location, t->app_id, t, a, &e);
		if (derr) {
			t->error = err_text(a, &e);
			t->rows = -1;
		}
		t->state = sy_status_table_state(r->run_alive, p->run, p->slot.active,
										 t->txn_version, derr);
		if (!strcmp(t->state, "error") && !t->error && p->run && p->run->last_error[0])
			t->error = lk_arena_strdup(a, p->run->last_error);
		/* stopped by its own error while the pipeline runs on (or ran) */
		const char *te = derr ? NULL : table_error(a, states, t->name);
		if (te) {
			t->state = "error";
			t->error = te;
		}
		/* lag */
		t->lag_bytes = -1;
		if (p->slot.checked) {
			uint64_t durable = t->txn_version >= 0 ? (uint64_t) t->txn_version : 0;
			if (p->slot.exists && p->slot.confirmed_flush_lsn > durable && t->txn_version >= 0)
				durable = p->slot.confirmed_flush_lsn;
			if (t->txn_version >= 0)
				t->lag_bytes = p->slot.current_lsn > durable
								   ? (int64_t) (p->slot.current_lsn - durable) : 0;
		}
		t->lag_seconds = t->last_commit_ms > 0
							 ? (double) (r->now_ms - t->last_commit_ms) / 1000.0 : -1;
		if (t->lag_seconds < 0 && t->last_commit_ms > 0)
			t->lag_seconds = 0;
	}
	json_decref(states);
}

static void
collect_synced(sy_status_report *r, const sy_config_synced *sc, sy_status_synced *s)
{
	lk_arena *a = &r->arena;
	lk_error e;
	s->name = sc->name;
	s->source = sc->source;
	char *red = pgc_dsn_redact(sc->target);
	s->target = lk_arena_strdup(a, red);
	free(red);
	s->table = sc->table;
	s->mode = sy_mode_name(sc->mode);
	s->run = r->run_found ? sy_run_status_find(&r->run, 's', sc->name) : NULL;
	s->source_version = s->synced_version = s->rows = s->lag_versions = -1;
	s->lag_seconds = -1;

	/* the Delta source */
	st_store st;
	dl_snapshot *snap = NULL;
	lk_error_clear(&e);
	bool st_ok = st_store_open(&st, sc->source, ST_ALLOW_ABSOLUTE, &e);
	if (st_ok && dl_snapshot_open(&st, NULL, &snap, &e)) {
		s->source_version = snap->version;
		dl_snapshot_free(snap);
		snap = NULL;
	} else {
		s->error = err_text(a, &e);
	}

	/* the target's state row */
	lk_error_clear(&e);
	pgc_conn *c = pgc_connect(sc->target, false, &e);
	if (c) {
		pgc_table_name tn;
		if (pgc_table_name_parse(sc->table, a, &tn, &e)) {
			lk_buf key = LK_BUF_INIT, sql = LK_BUF_INIT;
			pgl_quote_qualified(&key, tn.schema, tn.name);
			lk_buf_printf(&sql, "SELECT version, (extract(epoch from updated_at) * 1000)::bigint "
						  "FROM lakesync.synced_tables WHERE target = ");
			pgl_quote_literal(&sql, lk_buf_cstr(&key));
			PGresult *res = pgc_query(c, lk_buf_cstr(&sql), &e);
			if (res) {
				if (PQntuples(res) == 1) {
					s->synced_version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
					s->updated_ms = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
				}
				PQclear(res);
			} else if (strcmp(c->sqlstate, "42P01") != 0 && strcmp(c->sqlstate, "3F000") != 0) {
				/* no lakesync schema/table yet = never synced, else an error */
				s->error = err_text(a, &e);
			}
			lk_buf_free(&key);
			lk_buf_free(&sql);
		} else {
			s->error = err_text(a, &e);
		}
		pgc_close(c);
	} else if (!s->error) {
		s->error = err_text(a, &e);
	}

	/* rows of the synced version, lag */
	if (st_ok && s->synced_version >= 0) {
		dl_snapshot_options so;
		dl_snapshot_options_init(&so);
		so.version = s->synced_version;
		lk_error_clear(&e);
		if (dl_snapshot_open(&st, &so, &snap, &e)) {
			int64_t rows = 0;
			for (size_t i = 0; i < snap->nfiles && rows >= 0; i++) {
				int64_t nr = stats_num_records(snap->files[i].add.stats);
				rows = nr < 0 ? -1 : rows + nr - (snap->files[i].add.has_dv
														? snap->files[i].add.dv.cardinality : 0);
			}
			s->rows = rows;
			dl_snapshot_free(snap);
		}
		if (s->source_version >= 0) {
			s->lag_versions = s->source_version > s->synced_version
								  ? s->source_version - s->synced_version : 0;
			if (s->lag_versions == 0) {
				s->lag_seconds = 0;
			} else {
				lk_arena ta;
				lk_arena_init(&ta, 0);
				int64_t *ts = NULL;
				lk_error_clear(&e);
				if (dl_log_commit_timestamps(&st, s->synced_version + 1, s->synced_version + 1,
											 &ta, &ts, &e)) {
					s->lag_seconds = (double) (r->now_ms - ts[0]) / 1000.0;
					if (s->lag_seconds < 0)
						s->lag_seconds = 0;
				}
				lk_arena_free(&ta);
			}
		}
	}
	if (st_ok)
		st_store_close(&st);

	/* state */
	if (s->error && s->synced_version < 0 && s->source_version < 0)
		s->state = "error";
	else if (r->run_alive && s->run && s->run->state == SY_RUN_BACKOFF)
		s->state = "error";
	else if (r->run_alive && s->run && s->run->state == SY_RUN_RUNNING)
		s->state = s->synced_version < 0 || sc->mode == SY_MODE_SNAPSHOT ? "snapshot"
																		  : "streaming";
	else
		s->state = s->synced_version < 0 ? "not started" : "stopped";
	if (!strcmp(s->state, "error") && !s->error && s->run && s->run->last_error[0])
		s->error = lk_arena_strdup(a, s->run->last_error);
}

bool
sy_status_collect(const sy_config_file *cf, sy_status_report **out, lk_error *err)
{
	sy_status_report *r = lk_xcalloc(1, sizeof(*r));
	lk_arena_init(&r->arena, 0);
	r->now_ms = wall_ms();
	r->config_path = lk_arena_strdup(&r->arena, cf->path);
	r->status_file = lk_arena_strdup(&r->arena, cf->status_file);
	lk_error e;
	lk_error_clear(&e);
	if (sy_run_status_read(cf->status_file, &r->run, &e)) {
		r->run_found = true;
		r->run_alive = sy_run_status_alive(&r->run, r->now_ms);
	} else if (e.code != LK_ERR_NOT_FOUND) {
		*err = e;
		sy_status_free(r);
		return false;
	}
	r->npipelines = cf->npipelines;
	r->pipelines = lk_arena_zalloc(&r->arena, sizeof(sy_status_pipeline) *
										 (size_t) (cf->npipelines + 1));
	for (int i = 0; i < cf->npipelines; i++)
		collect_pipeline(r, cf, &cf->pipelines[i], &r->pipelines[i]);
	r->nsynced = cf->nsynced;
	r->synced = lk_arena_zalloc(&r->arena, sizeof(sy_status_synced) * (size_t) (cf->nsynced + 1));
	for (int i = 0; i < cf->nsynced; i++)
		collect_synced(r, &cf->synced[i], &r->synced[i]);
	*out = r;
	return true;
}

void
sy_status_free(sy_status_report *r)
{
	if (!r)
		return;
	sy_run_status_free(&r->run);
	lk_arena_free(&r->arena);
	free(r);
}

/* ---- formatting ------------------------------------------------------------------------ */

static const char *
fmt_bytes(int64_t v, char *buf, size_t n)
{
	if (v < 0)
		snprintf(buf, n, "-");
	else if (v < 1024)
		snprintf(buf, n, "%" PRId64 " B", v);
	else if (v < (INT64_C(1) << 20))
		snprintf(buf, n, "%.1f KiB", (double) v / 1024);
	else if (v < (INT64_C(1) << 30))
		snprintf(buf, n, "%.1f MiB", (double) v / (1 << 20));
	else
		snprintf(buf, n, "%.2f GiB", (double) v / (1 << 30));
	return buf;
}

static const char *
fmt_time_ms(int64_t ms, char *buf, size_t n)
{
	if (ms <= 0) {
		snprintf(buf, n, "-");
		return buf;
	}
	time_t t = (time_t) (ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%d %H:%M:%SZ", &tm);
	return buf;
}

static void
text_run(const sy_status_report *r, const sy_run_entry *e, lk_buf *out)
{
	char tb[40];
	if (!r->run_found) {
		lk_buf_printf(out, "  run: no `lakesync run` status file (%s)\n", r->status_file);
		return;
	}
	if (!e) {
		lk_buf_printf(out, "  run: not managed by the run of %s\n", r->status_file);
		return;
	}
	if (!r->run_alive) {
		lk_buf_printf(out, "  run: not running (last run pid %d, %s since %s, %d restart%s)\n",
					  r->run.pid, sy_run_state_name(e->state),
					  fmt_time_ms(r->run.updated_ms, tb, sizeof(tb)), e->restarts,
					  e->restarts == 1 ? "" : "s");
	} else {
		lk_buf_printf(out, "  run: %s (pid %d, since %s, %d restart%s)\n",
					  sy_run_state_name(e->state), r->run.pid,
					  fmt_time_ms(e->since_ms, tb, sizeof(tb)), e->restarts,
					  e->restarts == 1 ? "" : "s");
	}
	if (e->last_error[0])
		lk_buf_printf(out, "  last error: %s\n", e->last_error);
	if (r->run_alive && e->state == SY_RUN_BACKOFF)
		lk_buf_printf(out, "  next attempt in %.1f s\n",
					  (double) (e->retry_at_ms - r->now_ms) / 1000.0);
}

void
sy_status_format_text(const sy_status_report *r, lk_buf *out)
{
	char b1[40], b2[40], b3[40], b4[40];
	for (int i = 0; i < r->npipelines; i++) {
		const sy_status_pipeline *p = &r->pipelines[i];
		lk_buf_printf(out, "pipeline %s  (%s → %s)\n", p->name, p->source, p->target);
		text_run(r, p->run, out);
		const sy_status_slot *s = &p->slot;
		if (p->source_error)
			lk_buf_printf(out, "  source: unreachable: %s\n", p->source_error);
		else if (!s->exists)
			lk_buf_printf(out, "  slot %s: does not exist (current WAL %s)\n", p->slot_name,
						  pgo_lsn_format(s->current_lsn, b1));
		else {
			lk_buf_printf(out, "  slot %s: %s", p->slot_name, s->active ? "active" : "inactive");
			if (s->active && s->active_pid)
				lk_buf_printf(out, " (pid %d)", s->active_pid);
			lk_buf_printf(out, ", confirmed %s, restart %s, retained WAL %s",
						  pgo_lsn_format(s->confirmed_flush_lsn, b1),
						  pgo_lsn_format(s->restart_lsn, b2),
						  fmt_bytes(s->retained_bytes, b3, sizeof(b3)));
			if (s->wal_status)
				lk_buf_printf(out, " (%s)", s->wal_status);
			lk_buf_printf(out, ", current WAL %s\n", pgo_lsn_format(s->current_lsn, b4));
		}
		/* table rows: compute column widths */
		int wn = 5, ws = 5;
		for (int j = 0; j < p->ntables; j++) {
			int n = (int) strlen(p->tables[j].name);
			wn = n > wn ? n : wn;
			n = (int) strlen(p->tables[j].state);
			ws = n > ws ? n : ws;
		}
		lk_buf_printf(out, "  %-*s  %-*s  %14s  %8s  %-12s  %10s  %9s\n", wn, "TABLE", ws,
					  "STATE", "ROWS", "VERSION", "LAST LSN", "LAG", "LAG S");
		for (int j = 0; j < p->ntables; j++) {
			const sy_status_table *t = &p->tables[j];
			char rows[40], ver[24], lsn[24], lag[24], lags[24];
			if (t->rows >= 0 && t->delta_exists)
				sy_status_group_digits(t->rows, rows);
			else
				snprintf(rows, sizeof(rows), "-");
			if (t->delta_version >= 0)
				snprintf(ver, sizeof(ver), "%" PRId64, t->delta_version);
			else
				snprintf(ver, sizeof(ver), "-");
			if (t->txn_version >= 0)
				pgo_lsn_format((uint64_t) t->txn_version, lsn);
			else
				snprintf(lsn, sizeof(lsn), "-");
			fmt_bytes(t->lag_bytes, lag, sizeof(lag));
			if (t->lag_seconds >= 0)
				snprintf(lags, sizeof(lags), "%.1f", t->lag_seconds);
			else
				snprintf(lags, sizeof(lags), "-");
			lk_buf_printf(out, "  %-*s  %-*s  %14s  %8s  %-12s  %10s  %9s\n", wn, t->name, ws,
						  t->state, rows, ver, lsn, lag, lags);
			if (t->error)
				lk_buf_printf(out, "    error: %s\n", t->error);
		}
	}
	for (int i = 0; i < r->nsynced; i++) {
		const sy_status_synced *s = &r->synced[i];
		lk_buf_printf(out, "synced %s  (%s → %s table %s, %s)\n", s->name, s->source, s->target,
					  s->table, s->mode);
		text_run(r, s->run, out);
		char rows[40];
		if (s->rows >= 0)
			sy_status_group_digits(s->rows, rows);
		else
			snprintf(rows, sizeof(rows), "-");
		lk_buf_printf(out, "  state %s, version ", s->state);
		if (s->synced_version >= 0)
			lk_buf_printf(out, "%" PRId64, s->synced_version);
		else
			lk_buf_printf(out, "-");
		if (s->source_version >= 0)
			lk_buf_printf(out, " of %" PRId64, s->source_version);
		lk_buf_printf(out, ", rows %s", rows);
		if (s->lag_versions >= 0)
			lk_buf_printf(out, ", lag %" PRId64 " version%s", s->lag_versions,
						  s->lag_versions == 1 ? "" : "s");
		if (s->lag_seconds >= 0)
			lk_buf_printf(out, " / %.1f s", s->lag_seconds);
		if (s->updated_ms > 0)
			lk_buf_printf(out, ", last apply %s", fmt_time_ms(s->updated_ms, b1, sizeof(b1)));
		lk_buf_printf(out, "\n");
		if (s->error)
			lk_buf_printf(out, "  error: %s\n", s->error);
	}
}

static json_t *
jint_or_null(int64_t v)
{
	return v < 0 ? json_null() : json_integer(v);
}

static json_t *
jstr_or_null(const char *s)
{
	if (!s)
		return json_null();
	json_t *j = json_stringn(s, strlen(s));
	return j ? j : json_string("(not UTF-8)");
}

static json_t *
jrun(const sy_status_report *r, const sy_run_entry *e)
{
	if (!e)
		return json_null();
	json_t *o = json_object();
	json_object_set_new(o, "alive", json_boolean(r->run_alive));
	json_object_set_new(o, "pid", json_integer(r->run.pid));
	json_object_set_new(o, "state", json_string(sy_run_state_name(e->state)));
	json_object_set_new(o, "since_ms", json_integer(e->since_ms));
	json_object_set_new(o, "restarts", json_integer(e->restarts));
	json_object_set_new(o, "last_error", jstr_or_null(e->last_error[0] ? e->last_error : NULL));
	return o;
}

static json_t *
jlsn(uint64_t lsn, bool valid)
{
	char b[24];
	return valid ? json_string(pgo_lsn_format(lsn, b)) : json_null();
}

void
sy_status_format_json(const sy_status_report *r, lk_buf *out)
{
	json_t *root = json_object();
	json_object_set_new(root, "time_ms", json_integer(r->now_ms));
	json_object_set_new(root, "config", jstr_or_null(r->config_path));
	json_object_set_new(root, "status_file", jstr_or_null(r->status_file));
	json_object_set_new(root, "run_alive", json_boolean(r->run_alive));
	json_t *pls = json_array();
	for (int i = 0; i < r->npipelines; i++) {
		const sy_status_pipeline *p = &r->pipelines[i];
		json_t *o = json_object();
		json_object_set_new(o, "name", jstr_or_null(p->name));
		json_object_set_new(o, "source", jstr_or_null(p->source));
		json_object_set_new(o, "target", jstr_or_null(p->target));
		json_object_set_new(o, "run", jrun(r, p->run));
		json_object_set_new(o, "source_error", jstr_or_null(p->source_error));
		const sy_status_slot *s = &p->slot;
		json_t *so = json_object();
		json_object_set_new(so, "name", jstr_or_null(p->slot_name));
		json_object_set_new(so, "checked", json_boolean(s->checked));
		json_object_set_new(so, "exists", json_boolean(s->exists));
		json_object_set_new(so, "active", json_boolean(s->active));
		json_object_set_new(so, "active_pid", s->active_pid ? json_integer(s->active_pid)
															 : json_null());
		json_object_set_new(so, "confirmed_flush_lsn", jlsn(s->confirmed_flush_lsn,
															s->exists && s->confirmed_flush_lsn));
		json_object_set_new(so, "restart_lsn", jlsn(s->restart_lsn, s->exists && s->restart_lsn));
		json_object_set_new(so, "current_wal_lsn", jlsn(s->current_lsn, s->checked));
		json_object_set_new(so, "retained_wal_bytes", jint_or_null(s->retained_bytes));
		json_object_set_new(so, "wal_status", jstr_or_null(s->wal_status));
		json_object_set_new(o, "slot", so);
		json_t *ts = json_array();
		for (int j = 0; j < p->ntables; j++) {
			const sy_status_table *t = &p->tables[j];
			json_t *to = json_object();
			json_object_set_new(to, "table", jstr_or_null(t->name));
			json_object_set_new(to, "state", jstr_or_null(t->state));
			json_object_set_new(to, "location", jstr_or_null(t->location));
			json_object_set_new(to, "delta_version", jint_or_null(t->delta_version));
			json_object_set_new(to, "rows", t->delta_exists ? jint_or_null(t->rows) : json_null());
			json_object_set_new(to, "files", json_integer(t->files));
			json_object_set_new(to, "bytes", json_integer(t->bytes));
			json_object_set_new(to, "last_lsn", jlsn((uint64_t) t->txn_version,
													 t->txn_version >= 0));
			json_object_set_new(to, "last_commit_ms", t->last_commit_ms > 0
														  ? json_integer(t->last_commit_ms)
														  : json_null());
			json_object_set_new(to, "lag_bytes", jint_or_null(t->lag_bytes));
			json_object_set_new(to, "lag_seconds", t->lag_seconds >= 0
													   ? json_real(t->lag_seconds) : json_null());
			json_object_set_new(to, "error", jstr_or_null(t->error));
			json_array_append_new(ts, to);
		}
		json_object_set_new(o, "tables", ts);
		json_array_append_new(pls, o);
	}
	json_object_set_new(root, "pipelines", pls);
	json_t *sys = json_array();
	for (int i = 0; i < r->nsynced; i++) {
		const sy_status_synced *s = &r->synced[i];
		json_t *o = json_object();
		json_object_set_new(o, "name", jstr_or_null(s->name));
		json_object_set_new(o, "source", jstr_or_null(s->source));
		json_object_set_new(o, "target", jstr_or_null(s->target));
		json_object_set_new(o, "table", jstr_or_null(s->table));
		json_object_set_new(o, "mode", jstr_or_null(s->mode));
		json_object_set_new(o, "run", jrun(r, s->run));
		json_object_set_new(o, "state", jstr_or_null(s->state));
		json_object_set_new(o, "source_version", jint_or_null(s->source_version));
		json_object_set_new(o, "synced_version", jint_or_null(s->synced_version));
		json_object_set_new(o, "rows", jint_or_null(s->rows));
		json_object_set_new(o, "lag_versions", jint_or_null(s->lag_versions));
		json_object_set_new(o, "lag_seconds", s->lag_seconds >= 0 ? json_real(s->lag_seconds)
																  : json_null());
		json_object_set_new(o, "updated_ms", s->updated_ms > 0 ? json_integer(s->updated_ms)
															   : json_null());
		json_object_set_new(o, "error", jstr_or_null(s->error));
		json_array_append_new(sys, o);
	}
	json_object_set_new(root, "synced", sys);
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (text) {
		lk_buf_append_str(out, text);
		lk_buf_append_byte(out, '\n');
		free(text);
	}
}

/* ---- watch ------------------------------------------------------------------------------ */

bool
sy_delta_watch_open(sy_delta_watch *w, const char *location, const char *app_id,
					lk_error *err)
{
	memset(w, 0, sizeof(*w));
	w->version = -1;
	w->txn_version = -1;
	if (!st_store_open(&w->store, location, 0, err))
		return false;
	w->store_open = true;
	w->app_id = app_id ? lk_xstrdup(app_id) : NULL;
	return true;
}

/* The txn version of app_id in one commit file's text, or -1. */
static int64_t
commit_txn_version(const char *text, size_t len, const char *app_id)
{
	int64_t v = -1;
	size_t pos = 0;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t) (nl - text) : len;
		if (app_id && end > pos && memmem(text + pos, end - pos, "\"txn\"", 5)) {
			json_error_t je;
			json_t *j = json_loadb(text + pos, end - pos, 0, &je);
			json_t *t = j ? json_object_get(j, "txn") : NULL;
			const char *id = json_string_value(json_object_get(t, "appId"));
			json_t *ver = json_object_get(t, "version");
			if (id && !strcmp(id, app_id) && json_is_integer(ver))
				v = (int64_t) json_integer_value(ver);
			json_decref(j);
		}
		pos = end + 1;
	}
	return v;
}

bool
sy_delta_watch_poll(sy_delta_watch *w, bool *changed, lk_error *err)
{
	if (changed)
		*changed = false;
	lk_buf b = LK_BUF_INIT;
	for (;;) {
		char path[64];
		snprintf(path, sizeof(path), "_delta_log/%020" PRId64 ".json", w->version + 1);
		lk_error e;
		lk_error_clear(&e);
		if (!st_read_all(&w->store, path, 256u << 20, &b, &e)) {
			lk_buf_free(&b);
			if (e.code == LK_ERR_NOT_FOUND)
				return true;
			*err = e;
			return false;
		}
		int64_t tv = commit_txn_version((const char *) b.data, b.len, w->app_id);
		if (tv >= 0)
			w->txn_version = tv;
		w->version++;
		w->seen_ms = wall_ms();
		if (changed)
			*changed = true;
	}
}

void
sy_delta_watch_close(sy_delta_watch *w)
{
	if (w->store_open)
		st_store_close(&w->store);
	free(w->app_id);
	memset(w, 0, sizeof(*w));
	w->version = -1;
	w->txn_version = -1;
}
