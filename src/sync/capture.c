/*
 * capture.c — a Lakehouse Sync pipeline (see capture.h; the table
 * lifecycle and the invariants are in src/sync/README.md; what a change
 * does to a history or a mirror table is table.c's and mirror.c's).
 *
 * Threads: the main thread does everything; a heartbeat thread only sends
 * a standby status update (the last reported positions, never further)
 * when the main thread has not touched the stream for HEARTBEAT_MS, so a
 * long flush (Parquet encoding, fsync, a big streamed transaction being
 * replayed) never trips wal_sender_timeout.  Both use the stream under
 * `mu`; libpq is never used by two threads at once.
 *
 * The stream loop (one replication connection):
 *
 *   pgr_next ─▶ 'w' XLogData ─▶ pgo_decode ─▶
 *     B      in_txn; per table: applies = commit_lsn > version (skip rule)
 *     R      outside a stream: map the table's columns (sy_table_set_relation)
 *     I U D T  outside a stream: history rows into the table's batch
 *     C      boundary = end_lsn; tables past their budgets commit
 *     S E    stream chunk of an in-progress transaction
 *     R I U D T  inside a stream: sy_spill_append(top xid, subxid)
 *     A      sy_spill_abort(xid, subxid)
 *     c      replay the spill as one transaction (commit_lsn known now),
 *            then as C
 *   'k' keepalive, outside B..C: boundary = max(boundary, wal_end)
 *   every turn outside B..C: confirm = min(boundary, hold of every table)
 *            ─▶ pgr_send_feedback(write = received, flush = confirm)
 *   connection lost ─▶ discard what is not committed, reconnect with
 *            backoff, START_REPLICATION from the slot (the Delta log is
 *            the state)
 */
#include "sync/capture.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "pg/conn.h"
#include "pg/pgoutput.h"
#include "pg/replication.h"
#include "storage/storage.h"
#include "sync/mirror.h"
#include "sync/snapshot.h"
#include "sync/spill.h"

#define HEARTBEAT_MS 3000
#define STOP_GRACE_MS 10000

/* Test hook: sleep this long before each streaming Delta commit (a slow
 * flush), to check the heartbeat keeps the walsender from timing out. */
static int test_flush_delay_ms;

static volatile sig_atomic_t g_stop;

void
sy_capture_request_stop(int sig)
{
	g_stop = sig ? sig : SIGTERM;
}

void
sy_capture_options_init(sy_capture_options *o)
{
	memset(o, 0, sizeof(*o));
	o->pipeline = "lakesync";
	sy_table_config_init(&o->cfg);
	o->status_interval_ms = 10000;
}

bool
sy_capture_slot_name(const char *pipeline, char *buf, size_t n, lk_error *err)
{
	if (!pipeline || !*pipeline)
		return lk_error_set(err, LK_ERR_INVALID, "the pipeline name is empty");
	int w = snprintf(buf, n, "lakesync_%s", pipeline);
	if (w < 0 || (size_t) w >= n || w > 63)
		return lk_error_set(err, LK_ERR_INVALID, "pipeline name \"%s\" is too long "
							"(\"lakesync_<pipeline>\" must fit in 63 characters)", pipeline);
	if (!pgr_slot_name_check(buf, err))
		return lk_error_set(err, LK_ERR_INVALID, "invalid pipeline name \"%s\": only lower "
							"case letters, digits and underscores are allowed", pipeline);
	return true;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the pipeline's context ----------------------------------------------- */

typedef struct cap {
	const sy_capture_options *o;
	sy_capture_result *res;
	char slot[64];
	char pub[64];
	sy_table **tables;
	int n;
	bool *applies;              /* per table, for the current transaction */

	pgc_conn *rconn;
	pgr_stream *stream;
	pthread_mutex_t mu;         /* rconn/stream between main and heartbeat */
	int64_t last_io_ms;         /* under mu */
	int heartbeat_ms;           /* a third of wal_sender_timeout, ≤ 3 s */
	pthread_t hb;
	atomic_bool hb_quit;
	bool hb_started;

	int proto;
	pgo_decoder dec;
	lk_arena msg_arena;
	lk_arena replay_arena;
	sy_spill *spill;

	bool in_txn;
	int64_t txn_start_ms;
	sy_txn tx;
	uint64_t boundary;          /* everything before is processed */
	uint64_t confirmed;         /* last flush position sent */
	int64_t last_feedback_ms;
	uint64_t target;            /* until_caught_up: WAL insert position at start */
	bool caught_up;
	int64_t stop_seen_ms;
	int64_t txns;
	int64_t last_log_ms;
	int64_t last_poke_ms;
	char last_sqlstate[6];      /* of a failed START_REPLICATION */

	char *states_path;          /* <work dir>/tables.json (write_states) */

	sy_maint *maint;            /* the maintenance worker, or NULL */
	int *maint_id;              /* per table: its id there, -1 none */
	sy_maint_result **maint_res;/* per table: a compaction waiting for a
								 * commit boundary */
} cap;

static sy_table *
table_by_relid(cap *c, uint32_t relid, int *idx)
{
	for (int i = 0; i < c->n; i++)
		if (c->tables[i]->relid == relid) {
			if (idx)
				*idx = i;
			return c->tables[i];
		}
	return NULL;
}

/* <work dir>/tables.json: the state of each table of this run, so that
 * `lakesync status` shows a table stopped by an error while the rest of
 * the pipeline runs on (and after the run, until the next run rewrites
 * it).  Written atomically at setup, when a table fails and at the end;
 * a failure to write it is only a warning.
 *   {"pid": N, "updated_ms": T, "tables": [{"name": "s.t", "state": "...",
 *    "error": "..." | null, "error_lsn": "X/Y" | null}]} */
static void
write_states(cap *c)
{
	if (!c->states_path)
		return;
	json_t *root = json_object(), *arr = json_array();
	json_object_set_new(root, "pid", json_integer(getpid()));
	json_object_set_new(root, "updated_ms", json_integer(dl_now_ms()));
	for (int i = 0; i < c->n; i++) {
		sy_table *t = c->tables[i];
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(t->qualname));
		json_object_set_new(o, "state", json_string(sy_state_name(t->state)));
		if (t->state == SY_ERROR) {
			char buf[1100], b[20];
			json_object_set_new(o, "error", json_string(lk_error_str(&t->error, buf, sizeof(buf))));
			json_object_set_new(o, "error_lsn", json_string(pgo_lsn_format(t->error_lsn, b)));
		} else {
			json_object_set_new(o, "error", json_null());
			json_object_set_new(o, "error_lsn", json_null());
		}
		json_array_append_new(arr, o);
	}
	json_object_set_new(root, "tables", arr);
	size_t n = strlen(c->states_path) + 8;
	char *tmp = lk_xmalloc(n);
	snprintf(tmp, n, "%s.tmp", c->states_path);
	if (json_dump_file(root, tmp, JSON_INDENT(1)) != 0 || rename(tmp, c->states_path) != 0) {
		lk_warn("could not write \"%s\": %s", c->states_path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	json_decref(root);
}

static void
fail_table(cap *c, sy_table *t, const lk_error *e, uint64_t lsn)
{
	if (t->state == SY_ERROR)
		return;
	char buf[1100];
	lk_err("table %s stopped: %s", t->qualname, lk_error_str(e, buf, sizeof(buf)));
	sy_table_fail(t, e, lsn);
	for (int i = 0; c->maint && i < c->n; i++)
		if (c->tables[i] == t && c->maint_id[i] >= 0) {
			if (c->maint_res[i])
				sy_maint_done(c->maint, c->maint_res[i]);
			c->maint_res[i] = NULL;
			sy_maint_disable_table(c->maint, c->maint_id[i]);
		}
	c->res->tables_failed++;
	if (c->res->table_error.code == LK_OK)
		c->res->table_error = *e;
	write_states(c);
}

/* ---- heartbeat ------------------------------------------------------------ */

static void *
heartbeat_main(void *arg)
{
	cap *c = arg;
	while (!atomic_load(&c->hb_quit)) {
		usleep(100 * 1000);
		pthread_mutex_lock(&c->mu);
		int64_t now = mono_ms();
		if (c->stream && now - c->last_io_ms >= c->heartbeat_ms) {
			lk_error e;
			/* zeros: the last reported positions are sent again */
			if (!pgr_send_feedback(c->stream, 0, 0, 0, false, &e))
				lk_debug("heartbeat: %s", e.msg);
			c->last_io_ms = now;
		}
		pthread_mutex_unlock(&c->mu);
	}
	return NULL;
}

/* ---- applying changes ------------------------------------------------------- */

static void
begin_txn(cap *c, uint64_t commit_lsn, uint64_t end_lsn, int64_t pg_time, uint32_t xid)
{
	c->in_txn = true;
	c->txn_start_ms = mono_ms();
	c->tx.commit_lsn = commit_lsn;
	c->tx.end_lsn = end_lsn;
	c->tx.commit_time_us = pgo_time_to_unix_micros(pg_time);
	c->tx.xid = xid;
	c->tx.seq = 0;
	for (int i = 0; i < c->n; i++) {
		c->applies[i] = sy_table_applies(c->tables[i], commit_lsn);
		/* every table: a failure in this transaction (a Relation message
		 * included) rolls back to here, never to an older mark */
		sy_table_begin_txn(c->tables[i]);
	}
}

static void
end_txn(cap *c, uint64_t end_lsn)
{
	c->in_txn = false;
	if (end_lsn > c->boundary)
		c->boundary = end_lsn;
	c->txns++;
	if (c->o->until_caught_up && c->boundary >= c->target)
		c->caught_up = true;
}

/* A data message (outside a stream, or replayed from the spill) of the
 * current transaction. */
static bool
apply_change(cap *c, const pgo_msg *m, lk_error *err)
{
	int i;
	sy_table *t;
	lk_error e;
	lk_error_clear(&e);
	switch (m->type) {
	case PGO_RELATION:
		t = table_by_relid(c, m->relation.relid, &i);
		if (t && t->state != SY_ERROR && !sy_table_set_relation(t, &m->relation, &e)) {
			char b[20];
			lk_error_add_where(&e, "transaction with commit LSN %s",
							   pgo_lsn_format(c->tx.commit_lsn, b));
			fail_table(c, t, &e, c->tx.commit_lsn);
		}
		return true;
	case PGO_INSERT:
		t = table_by_relid(c, m->insert.relid, &i);
		if (t && c->applies[i] && t->state != SY_ERROR &&
			!sy_table_insert(t, &c->tx, &m->insert, &e))
			fail_table(c, t, &e, c->tx.commit_lsn);
		return true;
	case PGO_UPDATE:
		t = table_by_relid(c, m->update.relid, &i);
		if (t && c->applies[i] && t->state != SY_ERROR &&
			!sy_table_update(t, &c->tx, &m->update, &e))
			fail_table(c, t, &e, c->tx.commit_lsn);
		return true;
	case PGO_DELETE:
		t = table_by_relid(c, m->del.relid, &i);
		if (t && c->applies[i] && t->state != SY_ERROR &&
			!sy_table_delete(t, &c->tx, &m->del, &e))
			fail_table(c, t, &e, c->tx.commit_lsn);
		return true;
	case PGO_TRUNCATE:
		for (int k = 0; k < m->truncate.nrelids; k++) {
			t = table_by_relid(c, m->truncate.relids[k], &i);
			if (t && c->applies[i] && t->state != SY_ERROR &&
				!sy_table_truncate(t, &c->tx, &e))
				fail_table(c, t, &e, c->tx.commit_lsn);
		}
		return true;
	case PGO_TYPE:
	case PGO_ORIGIN:
	case PGO_MESSAGE:
		return true;
	default:
		return lk_error_set(err, LK_ERR_CORRUPT, "unexpected %s message inside a "
							"transaction", pgo_msg_name(m->type));
	}
}

static bool
replay_one(void *arg, uint32_t subxid, const uint8_t *msg, size_t len, lk_error *err)
{
	cap *c = arg;
	pgo_msg m;
	lk_arena_reset(&c->replay_arena);
	if (!pgo_decode_message(msg, len, c->proto, true, &c->replay_arena, &m, err))
		return lk_error_add_where(err, "spilled message of xid %u", subxid);
	return apply_change(c, &m, err);
}

/* Tables past their size/age budget commit (at a boundary only); drained:
 * the stream has nothing more buffered (sy_table_should_commit). */
static void
commit_due(cap *c, bool all, bool drained)
{
	int64_t now = mono_ms();
	for (int i = 0; i < c->n; i++) {
		sy_table *t = c->tables[i];
		if (t->state == SY_ERROR || t->pending_rows == 0)
			continue;
		if (!all && !sy_table_should_commit(t, now, drained))
			continue;
		lk_error e;
		uint64_t lsn = t->first_pending_lsn;
		if (test_flush_delay_ms > 0)
			usleep((useconds_t) test_flush_delay_ms * 1000);
		if (!sy_table_commit(t, &e))
			fail_table(c, t, &e, lsn);
		else if (c->maint && c->maint_id[i] >= 0 && t->prev)
			sy_maint_note_commit(c->maint, c->maint_id[i], dl_commit_version(t->prev));
	}
}

/* ---- maintenance (sync/maint.h) ------------------------------------------- */

/* Start the worker and register every table (a failure only warns: the
 * pipeline runs without maintenance). */
static void
maint_start(cap *c)
{
	if (c->o->no_maintenance)
		return;
	sy_maint_options mo;
	if (c->o->maint)
		mo = *c->o->maint;
	else
		sy_maint_options_init(&mo);
	lk_error e;
	c->maint = sy_maint_start(&mo, &e);
	if (!c->maint) {
		lk_warn("table maintenance is off: %s", e.msg);
		return;
	}
	c->maint_id = lk_xcalloc((size_t) c->n + 1, sizeof(int));
	c->maint_res = lk_xcalloc((size_t) c->n + 1, sizeof(sy_maint_result *));
	for (int i = 0; i < c->n; i++) {
		sy_table *t = c->tables[i];
		c->maint_id[i] = -1;
		if (t->state == SY_ERROR)
			continue;
		int *keys = lk_xcalloc((size_t) t->ncols + 1, sizeof(int));
		int nk = sy_mirror_key_indexes(t, keys);
		bool toast = false;
		for (int k = 0; k < t->ncols; k++)
			toast |= t->cols[k].toastable;
		/* the capture thread applies compactions of the tables it keeps
		 * an index of (mirror; history with a TOAST index possible) */
		bool applies = t->mode == SY_TABLE_MIRROR || (nk > 0 && toast);
		sy_maint_table mt = {
			.uri = t->uri,
			.name = t->qualname,
			.capture_applies = applies,
			.key_cols = applies ? keys : NULL,
			.nkey_cols = applies ? nk : 0,
		};
		c->maint_id[i] = sy_maint_add_table(c->maint, &mt, &e);
		free(keys);
		if (c->maint_id[i] < 0)
			lk_warn("table %s: no maintenance: %s", t->qualname, e.msg);
		else
			t->no_auto_checkpoint = mo.checkpoints;
	}
}

/* At a transaction boundary: apply the compactions the worker finished to
 * the tables with nothing pending. */
static void
maint_apply(cap *c)
{
	for (int i = 0; c->maint && i < c->n; i++) {
		sy_table *t = c->tables[i];
		int id = c->maint_id[i];
		if (id < 0 || t->state == SY_ERROR)
			continue;
		if (!c->maint_res[i])
			c->maint_res[i] = sy_maint_poll(c->maint, id);
		if (!c->maint_res[i] || t->pending_rows > 0)
			continue;
		sy_maint_hooks h;
		sy_mirror_maint_hooks(t, &h);
		dl_commit_options co;
		dl_commit_options_init(&co);
		co.auto_checkpoint = !t->no_auto_checkpoint;
		dl_commit *out = NULL;
		sy_maint_applied ar;
		memset(&ar, 0, sizeof(ar));
		lk_error e;
		lk_error_clear(&e);
		bool ok = sy_maint_apply(c->maint_res[i], t->prev, t->prev ? NULL : t->snap, &h, &co,
								 &out, &ar, &e);
		if (out) {
			sy_table_adopt_commit(t, out);
			sy_maint_note_commit(c->maint, id, ar.version);
		}
		sy_maint_done(c->maint, c->maint_res[i]);
		c->maint_res[i] = NULL;
		if (!ok && out) {
			lk_warn("%s: compaction committed but the key index could not follow (%s): "
					"it is reopened from the table", t->qualname, e.msg);
			sy_mirror_index_lost(t);
		} else if (!ok && ar.unknown) {
			lk_error_add_where(&e, "compaction of \"%s\"", t->uri);
			fail_table(c, t, &e, t->version >= 0 ? (uint64_t) t->version + 1 : 0);
		} else if (!ok) {
			lk_warn("%s: compaction not applied: %s", t->qualname, e.msg);
		} else if (ar.version >= 0) {
			lk_info("%s: compacted %" PRId64 " files into %" PRId64 " (Delta version %" PRId64
					", %" PRId64 " rows moved, %.0f ms)", t->qualname, ar.files_removed,
					ar.files_added, ar.version, ar.rows_moved, ar.ms);
		}
	}
}

static void
maint_stop(cap *c)
{
	if (!c->maint)
		return;
	for (int i = 0; i < c->n; i++)
		if (c->maint_res[i])
			sy_maint_done(c->maint, c->maint_res[i]);
	sy_maint_stop(c->maint);
	c->maint = NULL;
	free(c->maint_id);
	free(c->maint_res);
	c->maint_id = NULL;
	c->maint_res = NULL;
}

/* Some table would commit if the stream were drained. */
static bool
early_due(cap *c)
{
	int64_t now = mono_ms();
	for (int i = 0; i < c->n; i++) {
		sy_table *t = c->tables[i];
		if (t->state != SY_ERROR && sy_table_should_commit(t, now, true))
			return true;
	}
	return false;
}

static bool
send_feedback(cap *c, bool force, lk_error *err)
{
	uint64_t confirm = sy_confirm_lsn(c->tables, c->n, c->boundary);
	if (confirm < c->confirmed)
		confirm = c->confirmed;
	int64_t now = mono_ms();
	if (!force && confirm == c->confirmed && now - c->last_feedback_ms < 1000)
		return true;
	if (!force && now - c->last_feedback_ms < 200)
		return true;
	pthread_mutex_lock(&c->mu);
	bool ok = pgr_send_feedback(c->stream, pgr_stream_received(c->stream), confirm,
								confirm, false, err);
	c->last_io_ms = now;
	pthread_mutex_unlock(&c->mu);
	if (ok) {
		if (confirm != c->confirmed) {
			char b[20];
			lk_debug("confirmed flush lsn %s", pgo_lsn_format(confirm, b));
		}
		c->confirmed = confirm;
		c->res->confirmed_lsn = confirm;
		c->last_feedback_ms = now;
	}
	return ok;
}

/* One XLogData payload. */
static bool
handle_message(cap *c, const uint8_t *data, size_t len, uint64_t wal_start,
			   lk_error *err)
{
	pgo_msg m;
	lk_arena_reset(&c->msg_arena);
	if (!pgo_decode(&c->dec, data, len, &c->msg_arena, &m, err)) {
		char b[20];
		return lk_error_add_where(err, "wal position %s", pgo_lsn_format(wal_start, b));
	}
	switch (m.type) {
	case PGO_BEGIN:
		if (c->in_txn)
			return lk_error_set(err, LK_ERR_CORRUPT, "begin inside a transaction");
		begin_txn(c, m.begin.final_lsn, 0, m.begin.commit_time, m.begin.xid);
		return true;
	case PGO_COMMIT:
		if (!c->in_txn)
			return lk_error_set(err, LK_ERR_CORRUPT, "commit outside a transaction");
		c->tx.end_lsn = m.commit.end_lsn;
		end_txn(c, m.commit.end_lsn);
		return true;
	case PGO_STREAM_START:
	case PGO_STREAM_STOP:
		return true;
	case PGO_STREAM_ABORT:
		sy_spill_abort(c->spill, m.stream_abort.xid, m.stream_abort.subxid);
		return true;
	case PGO_STREAM_COMMIT: {
		if (c->in_txn)
			return lk_error_set(err, LK_ERR_CORRUPT, "stream commit inside a transaction");
		const pgo_stream_commit *sc = &m.stream_commit;
		begin_txn(c, sc->commit_lsn, sc->end_lsn, sc->commit_time, sc->xid);
		if (!sy_spill_replay(c->spill, sc->xid, replay_one, c, err))
			return false;
		end_txn(c, sc->end_lsn);
		return true;
	}
	case PGO_RELATION:
	case PGO_INSERT:
	case PGO_UPDATE:
	case PGO_DELETE:
	case PGO_TRUNCATE: {
		bool has_xid = false;
		uint32_t sub = 0;
		switch (m.type) {
		case PGO_RELATION: has_xid = m.relation.has_xid; sub = m.relation.xid; break;
		case PGO_INSERT: has_xid = m.insert.has_xid; sub = m.insert.xid; break;
		case PGO_UPDATE: has_xid = m.update.has_xid; sub = m.update.xid; break;
		case PGO_DELETE: has_xid = m.del.has_xid; sub = m.del.xid; break;
		default: has_xid = m.truncate.has_xid; sub = m.truncate.xid; break;
		}
		if (has_xid)
			return sy_spill_append(c->spill, c->dec.stream_xid, sub, data, len, err);
		if (!c->in_txn && m.type != PGO_RELATION)
			return lk_error_set(err, LK_ERR_CORRUPT, "%s outside a transaction",
								pgo_msg_name(m.type));
		return apply_change(c, &m, err);
	}
	case PGO_TYPE:
	case PGO_ORIGIN:
	case PGO_MESSAGE:
		return true;
	default:
		/* two-phase messages: not asked for */
		lk_warn("ignoring unexpected pgoutput %s message", pgo_msg_name(m.type));
		return true;
	}
}

/* ---- stream connection ------------------------------------------------------ */

static void
stream_close(cap *c)
{
	pthread_mutex_lock(&c->mu);
	if (c->stream) {
		lk_error e;
		if (!c->rconn->broken)
			pgr_stop(c->stream, 2000, &e);
		pgr_stream_free(c->stream);
		c->stream = NULL;
	}
	pgc_close(c->rconn);
	c->rconn = NULL;
	pthread_mutex_unlock(&c->mu);
}

/* START_REPLICATION on c->rconn (connecting first when NULL). */
static bool
stream_open(cap *c, lk_error *err)
{
	pgc_conn *rc = c->rconn;
	c->last_sqlstate[0] = '\0';
	if (!rc) {
		rc = pgc_connect(c->o->source, true, err);
		if (!rc)
			return false;
	}
	const char *pubs[1] = {c->pub};
	pgr_start_opts so = {
		.publications = pubs,
		.npublications = 1,
		.proto_version = 0,
		.streaming = true,
		.messages = false,
		.status_interval_ms = c->o->status_interval_ms,
	};
	if (so.status_interval_ms <= 0 || so.status_interval_ms > c->heartbeat_ms * 2)
		so.status_interval_ms = c->heartbeat_ms * 2;
	c->proto = rc->server_version >= 160000 ? 4 : 2;
	so.proto_version = c->proto;
	pgr_stream *s = pgr_start(rc, c->slot, 0, &so, err);
	if (!s) {
		memcpy(c->last_sqlstate, rc->sqlstate, sizeof(c->last_sqlstate));
		pgc_close(rc);
		c->rconn = NULL;
		return false;
	}
	pthread_mutex_lock(&c->mu);
	c->rconn = rc;
	c->stream = s;
	c->last_io_ms = mono_ms();
	pthread_mutex_unlock(&c->mu);
	pgo_decoder_init(&c->dec, c->proto);
	c->in_txn = false;
	c->last_feedback_ms = 0;
	c->last_log_ms = mono_ms();
	/* the server ignores positions below the slot's; ours never go back */
	if (c->confirmed) {
		pthread_mutex_lock(&c->mu);
		bool ok = pgr_send_feedback(s, c->confirmed, c->confirmed, c->confirmed, false,
									err);
		pthread_mutex_unlock(&c->mu);
		if (!ok)
			return false;
	}
	return true;
}

/* After a lost connection: nothing uncommitted survives. */
static void
reset_after_loss(cap *c)
{
	for (int i = 0; i < c->n; i++) {
		sy_table *t = c->tables[i];
		if (t->state == SY_ERROR)
			continue;
		sy_table_discard(t);
		if (t->state == SY_STREAMING)
			t->state = SY_CATCHUP;
	}
	sy_spill_clear(c->spill);
	c->in_txn = false;
	c->boundary = c->confirmed;
}

static bool
all_failed(const cap *c)
{
	for (int i = 0; i < c->n; i++)
		if (c->tables[i]->state != SY_ERROR)
			return false;
	return true;
}

static void
log_status(cap *c, bool force)
{
	int64_t now = mono_ms();
	if (!force && now - c->last_log_ms < 30000)
		return;
	c->last_log_ms = now;
	int64_t rows = 0;
	for (int i = 0; i < c->n; i++)
		rows += c->tables[i]->rows_committed;
	char b[20];
	lk_info("streaming: %" PRId64 " transactions, %" PRId64 " rows committed, "
			"confirmed lsn %s", c->txns, rows, pgo_lsn_format(c->confirmed, b));
}

/* The stream loop until caught up, stopped, or an error.  *lost tells a
 * lost connection (worth a reconnect) from a fatal error. */
static bool
stream_loop(cap *c, bool *lost, lk_error *err)
{
	*lost = false;
	for (;;) {
		if (g_stop && !c->in_txn)
			return true;
		if (g_stop && c->in_txn) {
			int64_t now = mono_ms();
			if (!c->stop_seen_ms)
				c->stop_seen_ms = now;
			if (now - c->stop_seen_ms > STOP_GRACE_MS) {
				/* a transaction that does not end: drop what is pending */
				lk_warn("stopping in the middle of a transaction: uncommitted rows "
						"are dropped (they are streamed again on restart)");
				reset_after_loss(c);
				return true;
			}
		}
		if (c->o->until_caught_up && !c->in_txn && c->boundary >= c->target)
			c->caught_up = true;
		if (c->caught_up && !c->in_txn)
			return true;
		if (all_failed(c))
			return true;

		/* a table old enough for an early commit: only look at what is
		 * already buffered, and commit when that is nothing */
		bool early = !c->in_txn && early_due(c) &&
					 (!c->o->until_caught_up || c->boundary >= c->target);
		pgr_msg msg;
		pthread_mutex_lock(&c->mu);
		pgr_result r = pgr_next(c->stream, c->in_txn ? 500 : early ? 0 : 100, &msg, err);
		c->last_io_ms = mono_ms();
		pthread_mutex_unlock(&c->mu);
		if (r == PGR_ERROR) {
			*lost = err->code == LK_ERR_IO || pgc_is_broken(c->rconn);
			return false;
		}
		if (r == PGR_END) {
			*lost = true;
			return lk_error_set(err, LK_ERR_IO, "the server ended the replication stream");
		}
		if (r == PGR_TIMEOUT && c->o->until_caught_up && !c->in_txn &&
			mono_ms() - c->last_poke_ms >= 500) {
			/* ask the walsender where it is (it answers with a keepalive) */
			c->last_poke_ms = mono_ms();
			pthread_mutex_lock(&c->mu);
			bool ok = pgr_send_feedback(c->stream, 0, 0, 0, true, err);
			pthread_mutex_unlock(&c->mu);
			if (!ok) {
				*lost = true;
				return false;
			}
		}
		if (r == PGR_MESSAGE) {
			if (msg.kind == PGR_KEEPALIVE) {
				if (!c->in_txn && msg.wal_end > c->boundary) {
					c->boundary = msg.wal_end;
					if (c->o->until_caught_up && c->boundary >= c->target)
						c->caught_up = true;
				}
			} else if (!handle_message(c, msg.data, msg.len, msg.wal_start, err)) {
				return false;
			}
		}
		if (!c->in_txn) {
			/* drained: nothing buffered, and (until caught up) the start
			 * position reached — a catch-up is not a trickle */
			commit_due(c, false, r == PGR_TIMEOUT &&
								  (!c->o->until_caught_up || c->boundary >= c->target));
			maint_apply(c);
			if (!send_feedback(c, false, err)) {
				*lost = true;
				return false;
			}
		}
		log_status(c, false);
	}
}

/* ---- setup ------------------------------------------------------------------- */

/* CREATE_REPLICATION_SLOT "name" TEMPORARY LOGICAL pgoutput with an
 * exported snapshot (pgr_create_slot makes permanent slots only). */
static bool
create_temp_slot(pgc_conn *c, const char *name, pgr_slot *out, lk_error *err)
{
	char sql[200];
	memset(out, 0, sizeof(*out));
	snprintf(sql, sizeof(sql),
			 c->server_version >= 150000
				 ? "CREATE_REPLICATION_SLOT \"%s\" TEMPORARY LOGICAL pgoutput (SNAPSHOT 'export')"
				 : "CREATE_REPLICATION_SLOT \"%s\" TEMPORARY LOGICAL pgoutput EXPORT_SNAPSHOT",
			 name);
	PGresult *r = PQexec(c->pg, sql);
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 ||
		PQnfields(r) < 4) {
		char ctx[128];
		snprintf(ctx, sizeof(ctx), "could not create temporary replication slot \"%s\"",
				 name);
		pgc_error_from_result(c, r, ctx, err);
		PQclear(r);
		return false;
	}
	snprintf(out->slot_name, sizeof(out->slot_name), "%s", PQgetvalue(r, 0, 0));
	bool ok = pgo_lsn_parse(PQgetvalue(r, 0, 1), &out->consistent_point);
	snprintf(out->snapshot_name, sizeof(out->snapshot_name), "%s",
			 PQgetisnull(r, 0, 2) ? "" : PQgetvalue(r, 0, 2));
	PQclear(r);
	if (!ok || !out->snapshot_name[0])
		return lk_error_set(err, LK_ERR_CORRUPT, "unexpected CREATE_REPLICATION_SLOT result");
	return true;
}

/* <target>/_lakesync/<pipeline>: spill directory and lock file. */
static bool
work_dir(const char *target, const char *pipeline, char **out, lk_error *err)
{
	st_store st;
	if (!st_store_open(&st, target, 0, err))
		return false;
	size_t n = strlen(st.root) + strlen(pipeline) + 32;
	*out = lk_xmalloc(n);
	snprintf(*out, n, "%s/_lakesync/%s", st.root, pipeline);
	st_store_close(&st);
	return true;
}

static int
take_lock(const char *dir, const char *pipeline, lk_error *err)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/lock", dir);
	int fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
	if (fd < 0) {
		lk_error_set(err, LK_ERR_IO, "could not open lock file \"%s\": %s", path,
					 strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		lk_error_set(err, LK_ERR_CONFLICT, "pipeline \"%s\" is already running on this "
					 "target (lock file \"%s\")", pipeline, path);
		return -1;
	}
	return fd;
}

/* wal_sender_timeout in ms (0: disabled). */
static bool
sender_timeout_ms(pgc_conn *c, int *ms, lk_error *err)
{
	PGresult *r = pgc_query(c, "SELECT setting FROM pg_settings WHERE name = "
							"'wal_sender_timeout'", err);
	if (!r)
		return false;
	*ms = PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : 60000;
	PQclear(r);
	return true;
}

static bool
current_wal_lsn(pgc_conn *c, uint64_t *lsn, lk_error *err)
{
	/* the insert position: pg_current_wal_lsn() is the write position,
	 * which lags behind commits made with synchronous_commit = off */
	PGresult *r = pgc_query(c, "SELECT greatest(pg_current_wal_lsn(), "
							"pg_current_wal_insert_lsn())", err);
	if (!r)
		return false;
	bool ok = PQntuples(r) == 1 && pgo_lsn_parse(PQgetvalue(r, 0, 0), lsn);
	PQclear(r);
	if (!ok)
		return lk_error_set(err, LK_ERR_CORRUPT, "unexpected pg_current_wal_lsn() result");
	return true;
}

/* The columns of the REPLICA IDENTITY USING INDEX index of relid, in
 * index order (names in arena a). */
static bool
identity_columns(pgc_conn *c, uint32_t relid, lk_arena *a, const char ***cols, int *n,
				 lk_error *err)
{
	char sql[400];
	snprintf(sql, sizeof(sql),
			 "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = "
			 "i.indrelid AND a.attnum = ANY (i.indkey) WHERE i.indrelid = %u AND "
			 "i.indisreplident ORDER BY array_position(i.indkey::int2[], a.attnum)",
			 relid);
	PGresult *r = pgc_query(c, sql, err);
	if (!r)
		return false;
	*n = PQntuples(r);
	*cols = lk_arena_alloc(a, sizeof(char *) * (size_t) (*n + 1));
	for (int i = 0; i < *n; i++)
		(*cols)[i] = lk_arena_strdup(a, PQgetvalue(r, i, 0));
	PQclear(r);
	return true;
}

/* Describe and open every table (tables[] filled, n set). */
static bool
setup_tables(cap *c, pgc_conn *sql, lk_arena *a, lk_error *err)
{
	const sy_capture_options *o = c->o;
	pgc_table_name *names = lk_arena_zalloc(a, sizeof(pgc_table_name) * (size_t) o->ntables);
	pgc_table_info *infos = lk_arena_zalloc(a, sizeof(pgc_table_info) * (size_t) o->ntables);
	for (int i = 0; i < o->ntables; i++) {
		if (!pgc_table_name_parse(o->tables[i], a, &names[i], err))
			return lk_error_add_where(err, "--table \"%s\"", o->tables[i]);
		for (int j = 0; j < i; j++)
			if (!strcmp(names[i].schema, names[j].schema) &&
				!strcmp(names[i].name, names[j].name))
				return lk_error_set(err, LK_ERR_INVALID, "table %s.%s is given twice",
									names[i].schema, names[i].name);
	}
	if (!pgc_check_tables(sql, names, (size_t) o->ntables, infos, err))
		return false;
	c->tables = lk_xcalloc((size_t) o->ntables, sizeof(sy_table *));
	c->applies = lk_xcalloc((size_t) o->ntables, sizeof(bool));
	for (int i = 0; i < o->ntables; i++) {
		pgc_table_def def;
		if (!pgc_table_columns(sql, &names[i], a, &def, err))
			return false;
		sy_table *t = lk_xcalloc(1, sizeof(*t));
		c->tables[c->n++] = t;
		sy_table_config tc = o->cfg;
		if (o->modes)
			tc.mode = o->modes[i];
		if (!sy_table_init(t, &tc, o->pipeline, o->target, &names[i], &infos[i], &def, err))
			return false;
		t->source_dsn = o->source;   /* catalog look-ups of schema changes */
		if (infos[i].replident == 'i') {
			/* the key is the replica identity index (what old tuples carry) */
			const char **ic;
			int nic;
			if (!identity_columns(sql, infos[i].relid, a, &ic, &nic, err))
				return false;
			if (nic > 0 && !sy_mirror_set_identity(t, ic, nic, err))
				return false;
		}
		if (!sy_table_open(t, err))
			return false;
		if (!infos[i].has_identity && t->mode == SY_TABLE_HISTORY)
			lk_warn("table %s has no primary key or replica identity: updates and deletes "
					"on it fail while it is published (inserts only)", t->qualname);
		if (t->mode == SY_TABLE_MIRROR)
			lk_info("table %s: mirror mode, Delta table %s", t->qualname, t->uri);
		char b[20];
		if (t->version >= 0)
			lk_info("table %s: Delta %s at lsn %s", t->qualname, t->uri,
					pgo_lsn_format((uint64_t) t->version, b));
	}
	return true;
}

/* Snapshots: at the new slot's exported snapshot, or through a temporary
 * slot for tables without one. */
static bool
run_snapshots(cap *c, bool slot_created, const pgr_slot *created, lk_error *err)
{
	int need = 0;
	for (int i = 0; i < c->n; i++)
		if (c->tables[i]->state == SY_SNAPSHOT)
			need++;
	if (!need)
		return true;
	sy_snapshot_opts so = {
		.dsn = c->o->source,
		.jobs = c->o->jobs,
		.progress_tty = c->o->progress_tty,
		.stop = &g_stop,
	};
	if (slot_created) {
		so.snapshot_name = created->snapshot_name;
		so.lsn = created->consistent_point;
		return sy_snapshot_run(c->tables, c->n, &so, err);
	}
	/* the main slot exists: its confirmed position is at or before every
	 * table's durable point, so a temporary slot's consistent point is a
	 * safe L_t for the tables that need one (skip rule drops the rest) */
	pgc_conn *tc = pgc_connect(c->o->source, true, err);
	if (!tc)
		return false;
	char name[64];
	snprintf(name, sizeof(name), "lakesync_tmp_%d_%lld", (int) getpid(),
			 (long long) (time(NULL) % 1000000000));
	pgr_slot ts;
	if (!create_temp_slot(tc, name, &ts, err)) {
		pgc_close(tc);
		return false;
	}
	so.snapshot_name = ts.snapshot_name;
	so.lsn = ts.consistent_point;
	bool ok = sy_snapshot_run(c->tables, c->n, &so, err);
	pgc_close(tc);              /* drops the temporary slot */
	return ok;
}

static void
sleep_ms_interruptible(int ms)
{
	int64_t end = mono_ms() + ms;
	while (!g_stop && mono_ms() < end)
		usleep(50 * 1000);
}

static void
free_tables(cap *c)
{
	for (int i = 0; i < c->n; i++) {
		sy_table_free(c->tables[i]);
		free(c->tables[i]);
	}
	free(c->tables);
	free(c->applies);
	c->tables = NULL;
	c->n = 0;
}

bool
sy_capture_run(const sy_capture_options *o, sy_capture_result *res, lk_error *err)
{
	cap cs;
	cap *c = &cs;
	lk_arena a;
	bool ok = false;
	char *wdir = NULL;
	int lockfd = -1;
	pgc_conn *sql = NULL;

	memset(res, 0, sizeof(*res));
	memset(c, 0, sizeof(*c));
	const char *hook = getenv("LAKESYNC_TEST_FLUSH_DELAY_MS");
	test_flush_delay_ms = hook ? atoi(hook) : 0;
	c->heartbeat_ms = HEARTBEAT_MS;
	c->o = o;
	c->res = res;
	lk_arena_init(&a, 0);
	lk_arena_init(&c->msg_arena, 0);
	lk_arena_init(&c->replay_arena, 0);
	pthread_mutex_init(&c->mu, NULL);
	atomic_init(&c->hb_quit, false);

	if (o->ntables < 1) {
		lk_error_set(err, LK_ERR_INVALID, "no table to sync (--table SCHEMA.TABLE)");
		goto out;
	}
	if (!sy_capture_slot_name(o->pipeline, c->slot, sizeof(c->slot), err))
		goto out;
	memcpy(c->pub, c->slot, sizeof(c->pub));
	if (!work_dir(o->target, o->pipeline, &wdir, err))
		goto out;
	{
		char sdir[4200];
		snprintf(sdir, sizeof(sdir), "%s/spill", wdir);
		/* creates wdir too */
		c->spill = sy_spill_open(sdir, o->spill_mem, err);
		if (!c->spill)
			goto out;
	}
	if ((lockfd = take_lock(wdir, o->pipeline, err)) < 0)
		goto out;

	/* checks, catalog, Delta tables */
	sql = pgc_connect(o->source, false, err);
	if (!sql || !setup_tables(c, sql, &a, err))
		goto out;
	{
		size_t n = strlen(wdir) + 16;
		c->states_path = lk_xmalloc(n);
		snprintf(c->states_path, n, "%s/tables.json", wdir);
		write_states(c);
	}
	int wst;
	if (!sender_timeout_ms(sql, &wst, err))
		goto out;
	c->heartbeat_ms = wst > 0 ? wst / 3 : HEARTBEAT_MS;
	if (c->heartbeat_ms > HEARTBEAT_MS)
		c->heartbeat_ms = HEARTBEAT_MS;
	if (c->heartbeat_ms < 100)
		c->heartbeat_ms = 100;
	if (o->until_caught_up) {
		if (!current_wal_lsn(sql, &c->target, err))
			goto out;
		char b[20];
		lk_debug("until caught up with lsn %s", pgo_lsn_format(c->target, b));
	}

	pgc_slot_info si;
	if (!pgc_slot_info_get(sql, c->slot, &si, err))
		goto out;
	if (si.exists && (!si.logical || strcmp(si.plugin, "pgoutput") != 0)) {
		lk_error_set(err, LK_ERR_UNSUPPORTED, "replication slot \"%s\" exists but is not a "
					 "logical pgoutput slot (plugin \"%s\"); drop it or choose another "
					 "--pipeline", c->slot, si.plugin);
		goto out;
	}
	int need_snap = 0;
	for (int i = 0; i < c->n; i++)
		if (c->tables[i]->state == SY_SNAPSHOT)
			need_snap++;
	if (!pgc_check_replication(sql, (si.exists ? 0 : 1) + (si.exists && need_snap ? 1 : 0),
							   err))
		goto out;
	bool pub_created;
	{
		pgc_table_name *names = lk_arena_alloc(&a, sizeof(pgc_table_name) * (size_t) c->n);
		for (int i = 0; i < c->n; i++)
			names[i] = c->tables[i]->name;
		if (!pgc_publication_ensure(sql, c->pub, names, (size_t) c->n, &pub_created, err))
			goto out;
		if (pub_created)
			lk_info("created publication \"%s\"", c->pub);
	}

	/* the slot: created here with an exported snapshot, or resumed */
	pgr_slot created;
	memset(&created, 0, sizeof(created));
	c->rconn = pgc_connect(o->source, true, err);
	if (!c->rconn)
		goto out;
	if (!si.exists) {
		if (!pgr_create_slot(c->rconn, c->slot, &created, err))
			goto out;
		char b[20];
		lk_info("created replication slot \"%s\" at lsn %s", c->slot,
				pgo_lsn_format(created.consistent_point, b));
		for (int i = 0; i < c->n; i++) {
			sy_table *t = c->tables[i];
			if (t->version >= 0 && t->mode == SY_TABLE_MIRROR) {
				/* a mirror from an earlier slot: its rows are replaced by
				 * the snapshot's (every file removed in the same commit) */
				lk_warn("table %s is mirrored up to lsn %s but the slot is new: resyncing "
						"it (every row replaced by a new snapshot)", t->qualname,
						pgo_lsn_format((uint64_t) t->version, b));
				t->mirror_resync = true;
			} else if (t->version >= 0) {
				/* history from an earlier slot: the changes in between are
				 * unknown, so resync (a truncate row, then the snapshot) */
				lk_warn("table %s has history up to lsn %s but the slot is new: resyncing "
						"it (a truncate row, then a snapshot)", t->qualname,
						pgo_lsn_format((uint64_t) t->version, b));
				t->resync = true;
			}
			t->state = SY_SNAPSHOT;
		}
		c->boundary = created.consistent_point;
	} else {
		c->boundary = si.confirmed_flush_lsn;
	}
	c->confirmed = 0;
	pgc_close(sql);
	sql = NULL;

	if (!run_snapshots(c, !si.exists, &created, err)) {
		if (g_stop) {
			res->interrupted = true;
			res->signal = g_stop;
			ok = true;
		}
		goto out;
	}
	if (g_stop) {
		res->interrupted = true;
		res->signal = g_stop;
		ok = true;
		goto out;
	}

	/* the key indexes of mirror tables: loaded, caught up or rebuilt now
	 * rather than at their first change */
	for (int i = 0; i < c->n; i++) {
		sy_table *t = c->tables[i];
		lk_error e;
		if (t->mode == SY_TABLE_MIRROR && t->state != SY_ERROR && t->state != SY_SNAPSHOT &&
			!sy_mirror_open_index(t, &e))
			fail_table(c, t, &e, t->version >= 0 ? (uint64_t) t->version + 1 : 0);
	}

	/* stream (with the maintenance worker) */
	maint_start(c);
	if (pthread_create(&c->hb, NULL, heartbeat_main, c) == 0)
		c->hb_started = true;
	int64_t retry_started = 0;
	int backoff = 1000;
	int max_retry = o->max_retry_ms > 0 ? o->max_retry_ms :
					(o->until_caught_up ? 60000 : 0);
	for (;;) {
		lk_error e;
		lk_error_clear(&e);
		bool lost = false;
		bool started = stream_open(c, &e);
		if (started) {
			if (retry_started)
				lk_info("replication resumed");
			retry_started = 0;
			backoff = 1000;
			if (stream_loop(c, &lost, &e)) {
				/* caught up, stopped, or every table failed: commit what is
				 * complete, confirm it */
				if (!c->in_txn)
					commit_due(c, true, true);
				lk_error fe;
				if (c->stream && !send_feedback(c, true, &fe))
					lk_warn("could not send the last feedback: %s", fe.msg);
				res->caught_up = c->caught_up;
				if (g_stop) {
					res->interrupted = true;
					res->signal = g_stop;
				}
				ok = true;
				break;
			}
			if (!lost) {
				*err = e;
				break;
			}
		} else {
			/* slot busy (a walsender of a killed run not gone yet) or the
			 * server unreachable: retry */
			lost = e.code == LK_ERR_IO || !strcmp(c->last_sqlstate, "55006") ||
				   !strncmp(c->last_sqlstate, "08", 2) || !strncmp(c->last_sqlstate, "57P", 3);
			if (!lost) {
				*err = e;
				break;
			}
		}
		/* connection lost: nothing uncommitted survives; reconnect */
		char buf[1100];
		lk_warn("replication interrupted: %s; reconnecting in %d ms",
				lk_error_str(&e, buf, sizeof(buf)), backoff);
		stream_close(c);
		reset_after_loss(c);
		res->reconnects++;
		int64_t now = mono_ms();
		if (!retry_started)
			retry_started = now;
		if (max_retry && now - retry_started > max_retry) {
			*err = e;
			lk_error_add_where(err, "gave up reconnecting after %d ms", max_retry);
			break;
		}
		sleep_ms_interruptible(backoff);
		if (g_stop) {
			res->interrupted = true;
			res->signal = g_stop;
			ok = true;
			break;
		}
		backoff = backoff * 2 > 30000 ? 30000 : backoff * 2;
	}

out:
	if (c->hb_started) {
		atomic_store(&c->hb_quit, true);
		pthread_join(c->hb, NULL);
	}
	if (c->rconn || c->stream)
		stream_close(c);
	maint_stop(c);
	for (int i = 0; i < c->n; i++) {
		sy_table *t = c->tables[i];
		res->rows_committed += t->rows_committed;
		if (t->state != SY_ERROR && t->state != SY_SNAPSHOT && ok)
			t->state = SY_STOPPED;
		char b[20];
		lk_info("table %s: %s, %" PRId64 " rows in %" PRId64 " commits this run, "
				"Delta txn version %s", t->qualname, sy_state_name(t->state),
				t->rows_committed, t->commits,
				t->version >= 0 ? pgo_lsn_format((uint64_t) t->version, b) : "none");
	}
	write_states(c);
	free(c->states_path);
	free_tables(c);
	pgc_close(sql);
	sy_spill_close(c->spill);
	if (lockfd >= 0)
		close(lockfd);
	free(wdir);
	lk_arena_free(&a);
	lk_arena_free(&c->msg_arena);
	lk_arena_free(&c->replay_arena);
	pthread_mutex_destroy(&c->mu);
	return ok;
}

bool
sy_capture_drop(const char *source, const char *pipeline, lk_error *err)
{
	char slot[64];
	if (!sy_capture_slot_name(pipeline, slot, sizeof(slot), err))
		return false;
	pgc_conn *c = pgc_connect(source, false, err);
	if (!c)
		return false;
	bool ok = pgc_slot_drop(c, slot, true, err) && pgc_publication_drop(c, slot, err);
	pgc_close(c);
	if (ok)
		lk_info("dropped replication slot and publication \"%s\"", slot);
	return ok;
}
