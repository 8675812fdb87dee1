/*
 * snapshot.c — parallel snapshot of history tables (see snapshot.h).
 *
 * Threads and what they own:
 *
 *   main ──▶ opens jobs pgc connections, imports the snapshot in each
 *     │      per table: the copy plan (format, per-column reader), one
 *     │      scratch dl_commit + data writer per worker (a commit is not
 *     │      thread-safe; each worker adds its files to its own), ~16
 *     │      ctid ranges per job and an atomic counter of the next one
 *     ├──▶ worker k: conn[k], two batches: COPY ranges until none is left,
 *     │    rows → the current batch; a full batch is handed to
 *     │    └──▶ encoder k: writer[k]: batch → Parquet (encode, compress,
 *     │         write) while the worker fills the other batch
 *     │    main: progress every 200 ms (TTY) / progress_interval_ms (log)
 *     ▼
 *   join workers ─▶ encoder k closes writer[k] (last pages, footer, fsync;
 *     │             all in parallel) ─▶ encoders stopped
 *     ▼
 *   table commit: [truncate row] + every worker's add actions,
 *                 txn version L - 1 ─▶ dl_commit_run (one Delta version)
 *
 * The copy plan.  Tables are copied in the binary COPY format: columns
 * whose binary form pgt_append_binary reads (pgt_binary_native: bool,
 * ints, floats, numeric, text-like, bytea, uuid, date, timestamps) arrive
 * as their send-function bytes, so no text is printed by the server or
 * parsed here; every other column is selected as its text output
 * (pgcopy_query_opts.as_text) and parsed as the text path parses it.
 * Each row is appended by the plan's per-Delta-column ops, which produce
 * exactly the row sy_table_append_values(t, b, "insert", …) would
 * (tests/unit/test_sync_snapshot.c compares them).
 * LAKESYNC_SNAPSHOT_FORMAT=text forces the text format (tests, bench).
 */
#include "sync/snapshot.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

/* ---- the copy plan ---------------------------------------------------------- */

typedef enum snap_op_kind {
	OP_NULL,            /* a Delta column the source lacks */
	OP_TEXT,            /* source column, text → pgt_append_text */
	OP_BINARY,          /* source column, binary → pgt_append_binary */
	OP_CHANGE_TYPE,     /* "insert" */
	OP_COMMIT_LSN,
	OP_CHANGE_SEQ,
	OP_COMMIT_TS,
	OP_XID,
} snap_op_kind;

typedef struct sy_snapshot_op {
	snap_op_kind kind;
	int src;            /* source column (OP_TEXT, OP_BINARY) */
} sy_snapshot_op;

bool
sy_snapshot_plan_init(sy_snapshot_plan *p, const sy_table *t, pgcopy_format format,
					  const bool *as_text, lk_error *err)
{
	memset(p, 0, sizeof(*p));
	int nd = t->schema->nchildren;
	p->format = format;
	p->ncols = nd;
	p->nsrc = t->ncols;
	p->ops = lk_xcalloc((size_t) (nd > 0 ? nd : 1), sizeof(sy_snapshot_op));
	p->as_text = lk_xcalloc((size_t) t->ncols + 1, sizeof(bool));
	for (int s = 0; s < t->ncols; s++) {
		if (format == PGCOPY_BINARY && !(as_text && as_text[s]) &&
			!pgt_binary_native(t->cols[s].conv)) {
			sy_snapshot_plan_free(p);
			lk_error_set(err, LK_ERR_INTERNAL, "no binary reader for column \"%s\"",
						 t->cols[s].name);
			return false;
		}
		p->as_text[s] = format == PGCOPY_BINARY && as_text && as_text[s];
	}
	for (int i = 0; i < nd; i++) {
		sy_snapshot_op *op = &p->ops[i];
		int s = t->delta_src[i];
		op->src = -1;
		if (s >= 0) {
			op->src = s;
			op->kind = format == PGCOPY_BINARY && !p->as_text[s] ? OP_BINARY : OP_TEXT;
			continue;
		}
		op->kind = OP_NULL;
		for (int k = 0; k < SY_H_COUNT; k++) {
			if (t->hist[k] != i)
				continue;
			switch (k) {
			case SY_H_CHANGE_TYPE: op->kind = OP_CHANGE_TYPE; break;
			case SY_H_COMMIT_LSN: op->kind = OP_COMMIT_LSN; break;
			case SY_H_CHANGE_SEQ: op->kind = OP_CHANGE_SEQ; break;
			case SY_H_COMMIT_TS: op->kind = OP_COMMIT_TS; break;
			case SY_H_XID: op->kind = OP_XID; break;
			}
		}
	}
	return true;
}

void
sy_snapshot_plan_free(sy_snapshot_plan *p)
{
	free(p->ops);
	free(p->as_text);
	memset(p, 0, sizeof(*p));
}

static inline void
push_i64(lk_column *c, int64_t v)
{
	if (c->length >= c->cap)
		lk_column_reserve(c, 1);
	((int64_t *) c->values)[c->length] = v;
	if (c->validity)
		c->validity[c->length >> 3] |= (uint8_t) (1u << (c->length & 7));
	c->length++;
}

bool
sy_snapshot_append_row(const sy_snapshot_plan *p, const sy_table *t, lk_batch *b,
					   const sy_txn *tx, int64_t seq, const pgcopy_field *f,
					   int64_t *bytes, lk_error *err)
{
	int64_t sz = 48;
	for (int i = 0; i < p->ncols; i++) {
		const sy_snapshot_op *op = &p->ops[i];
		lk_column *col = &b->cols[i];
		switch (op->kind) {
		case OP_TEXT:
		case OP_BINARY: {
			const pgcopy_field *v = &f[op->src];
			const sy_column *sc = &t->cols[op->src];
			bool ok;
			if (v->is_null)
				lk_column_append_null(col);
			else {
				ok = op->kind == OP_BINARY ?
					 pgt_append_binary(sc->conv, col, sc->name, (const uint8_t *) v->ptr,
									   v->len, err) :
					 pgt_append_text(sc->conv, col, sc->name, v->ptr, v->len, err);
				if (!ok)
					return false;
				sz += (int64_t) v->len;
			}
			sz += 8;
			break;
		}
		case OP_NULL:
			lk_column_append_null(col);
			break;
		case OP_CHANGE_TYPE:
			lk_column_append_bytes(col, "insert", 6);
			break;
		case OP_COMMIT_LSN:
			push_i64(col, (int64_t) tx->commit_lsn);
			break;
		case OP_CHANGE_SEQ:
			push_i64(col, seq);
			break;
		case OP_COMMIT_TS:
			push_i64(col, tx->commit_time_us);
			break;
		case OP_XID:
			if (tx->xid < 0)
				lk_column_append_null(col);
			else
				push_i64(col, tx->xid);
			break;
		}
	}
	b->nrows++;
	if (bytes)
		*bytes = sz;
	return true;
}

/* The copy format for table t: binary, with the non-native columns marked
 * in *as_text (t->ncols entries, caller frees); text when
 * LAKESYNC_SNAPSHOT_FORMAT=text. */
static void
choose_format(const sy_table *t, pgcopy_format *format, bool **as_text)
{
	const char *force = getenv("LAKESYNC_SNAPSHOT_FORMAT");
	*as_text = lk_xcalloc((size_t) t->ncols + 1, sizeof(bool));
	*format = force && strcmp(force, "text") == 0 ? PGCOPY_TEXT : PGCOPY_BINARY;
	if (*format == PGCOPY_BINARY)
		for (int i = 0; i < t->ncols; i++)
			(*as_text)[i] = !pgt_binary_native(t->cols[i].conv);
}

/* ---- workers ------------------------------------------------------------------ */

typedef struct shared {
	sy_table *t;
	const sy_snapshot_opts *o;
	sy_snapshot_plan plan;
	pgcopy_range *ranges;
	int nranges;
	uint64_t blocks;
	atomic_int next;            /* next range to take */
	atomic_bool failed;         /* a worker failed: the others stop */
	atomic_int_fast64_t rows;
	atomic_int_fast64_t bytes;  /* COPY data bytes */
	atomic_int_fast64_t blocks_done;
	atomic_int running;         /* workers not finished */
	int64_t start_us;           /* _commit_timestamp of the snapshot rows */
} shared;

/* The encoder thread of a worker: writes the batches it is handed. */
typedef struct encoder {
	pthread_t tid;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	dl_data_writer *writer;
	lk_batch *pending;          /* being written; NULL when idle */
	bool quit;
	bool failed;
	lk_error err;
	bool close_req;             /* close the writer (files fsynced, adds) */
	bool close_done;
	bool close_ok;
	lk_error close_err;
	double cpu_s;               /* CPU seconds of the thread, at its end */
} encoder;

typedef struct worker {
	shared *sh;
	pgc_conn *conn;
	dl_commit *commit;
	dl_data_writer *writer;
	lk_batch *batches[2];
	int cur;                    /* the batch being filled */
	int64_t batch_bytes;
	encoder enc;
	int range;                  /* current range index */
	int64_t row_in_range;
	int64_t local_rows, local_bytes;
	double cpu_s;               /* CPU seconds of the thread, at its end */
	sy_txn tx;
	bool ok;
	bool stopped;               /* failed because of *stop */
	lk_error err;
	pthread_t tid;
} worker;

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
unix_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* CPU seconds (user + system) of the calling thread. */
static double
thread_cpu_s(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_THREAD, &ru) != 0)
		return 0;
	return (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		   (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void *
encoder_main(void *arg)
{
	encoder *e = arg;
	pthread_mutex_lock(&e->mu);
	for (;;) {
		while (!e->pending && !e->quit && !(e->close_req && !e->close_done))
			pthread_cond_wait(&e->cv, &e->mu);
		if (!e->pending && e->close_req && !e->close_done) {
			pthread_mutex_unlock(&e->mu);
			lk_error cerr;
			lk_error_clear(&cerr);
			bool ok = dl_data_writer_close(e->writer, &cerr);
			pthread_mutex_lock(&e->mu);
			e->close_ok = ok;
			e->close_err = cerr;
			e->close_done = true;
			pthread_cond_broadcast(&e->cv);
			continue;
		}
		if (!e->pending) {
			e->cpu_s = thread_cpu_s();
			break;
		}
		lk_batch *b = e->pending;
		bool failed = e->failed;
		pthread_mutex_unlock(&e->mu);
		lk_error err;
		bool ok = failed || dl_data_writer_write(e->writer, b, &err);
		lk_batch_reset(b);
		b->nrows = 0;
		pthread_mutex_lock(&e->mu);
		if (!ok && !e->failed) {
			e->failed = true;
			e->err = err;
		}
		e->pending = NULL;
		pthread_cond_broadcast(&e->cv);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

/* Wait until the encoder is idle; false (its error in err) if it failed. */
static bool
encoder_wait(encoder *e, lk_error *err)
{
	pthread_mutex_lock(&e->mu);
	while (e->pending)
		pthread_cond_wait(&e->cv, &e->mu);
	bool ok = !e->failed;
	if (!ok)
		*err = e->err;
	pthread_mutex_unlock(&e->mu);
	return ok;
}

static bool
encoder_start(encoder *e, dl_data_writer *w)
{
	memset(e, 0, sizeof(*e));
	e->writer = w;
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cv, NULL);
	e->started = pthread_create(&e->tid, NULL, encoder_main, e) == 0;
	return e->started;
}

/* Close the encoder's writer on its thread (so that the workers' files
 * are finished and fsynced in parallel); encoder_closed waits for it. */
static void
encoder_close(encoder *e)
{
	pthread_mutex_lock(&e->mu);
	e->close_req = true;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

static bool
encoder_closed(encoder *e, lk_error *err)
{
	pthread_mutex_lock(&e->mu);
	while (!e->close_done)
		pthread_cond_wait(&e->cv, &e->mu);
	bool ok = e->close_ok;
	if (!ok)
		*err = e->close_err;
	pthread_mutex_unlock(&e->mu);
	return ok;
}

/* Let the encoder finish what it has, stop it and join. */
static void
encoder_stop(encoder *e)
{
	if (!e->started)
		return;
	pthread_mutex_lock(&e->mu);
	e->quit = true;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
	pthread_join(e->tid, NULL);
	pthread_mutex_destroy(&e->mu);
	pthread_cond_destroy(&e->cv);
	e->started = false;
}

static void
publish_counts(worker *w)
{
	atomic_fetch_add(&w->sh->rows, w->local_rows);
	atomic_fetch_add(&w->sh->bytes, w->local_bytes);
	w->local_rows = w->local_bytes = 0;
}

/* Hand the current batch to the encoder (after it is done with the other
 * one) and continue in the other batch. */
static bool
flush_batch(worker *w, lk_error *err)
{
	lk_batch *b = w->batches[w->cur];
	if (b->nrows == 0)
		return true;
	if (!encoder_wait(&w->enc, err))
		return false;
	pthread_mutex_lock(&w->enc.mu);
	w->enc.pending = b;
	pthread_cond_broadcast(&w->enc.cv);
	pthread_mutex_unlock(&w->enc.mu);
	w->cur ^= 1;
	w->batch_bytes = 0;
	return true;
}

static bool
on_row(void *arg, const pgcopy_field *f, int nf, lk_error *err)
{
	worker *w = arg;
	shared *sh = w->sh;
	sy_table *t = sh->t;
	if (*sh->o->stop) {
		w->stopped = true;
		return lk_error_set(err, LK_ERR_IO, "interrupted");
	}
	if (atomic_load_explicit(&sh->failed, memory_order_relaxed))
		return lk_error_set(err, LK_ERR_IO, "another copy worker failed");
	if (nf != sh->plan.nsrc)
		return lk_error_set(err, LK_ERR_INTERNAL, "copy row has %d fields, expected %d",
							nf, sh->plan.nsrc);
	int64_t seq = ((int64_t) (w->range + 1) << 40) | w->row_in_range;
	int64_t bytes;
	if (!sy_snapshot_append_row(&sh->plan, t, w->batches[w->cur], &w->tx, seq, f,
								&bytes, err)) {
		char lsn[20];
		return lk_error_add_where(err, "table \"%s\", snapshot at lsn %s", t->qualname,
								  pgo_lsn_format(sh->o->lsn, lsn));
	}
	int64_t wire = sh->plan.format == PGCOPY_BINARY ? 2 + 4 * (int64_t) nf :
				   (int64_t) nf;
	w->row_in_range++;
	w->local_rows++;
	w->local_bytes += bytes - 48 - 8 * (int64_t) nf + wire;
	w->batch_bytes += bytes;
	if (w->local_rows >= 4096)
		publish_counts(w);
	if (w->batch_bytes >= t->cfg.batch_bytes)
		return flush_batch(w, err);
	return true;
}

static void *
worker_main(void *arg)
{
	worker *w = arg;
	shared *sh = w->sh;
	sy_table *t = sh->t;
	const char **cols = lk_xmalloc(sizeof(char *) * (size_t) (t->ncols + 1));
	for (int i = 0; i < t->ncols; i++)
		cols[i] = t->cols[i].name;
	pgcopy_query_opts qo = {.format = sh->plan.format, .as_text = sh->plan.as_text};
	lk_buf sql = LK_BUF_INIT;
	w->ok = true;
	for (;;) {
		int r = atomic_fetch_add(&sh->next, 1);
		if (r >= sh->nranges || atomic_load(&sh->failed))
			break;
		w->range = r;
		w->row_in_range = 0;
		lk_buf_reset(&sql);
		if (!pgcopy_build_query_opts(w->conn, &sql, &t->name, cols, t->ncols,
									 &sh->ranges[r], &qo, &w->err) ||
			!pgcopy_run_format(w->conn, (const char *) sql.data, sh->plan.format,
							   t->ncols, on_row, w, NULL, &w->err)) {
			w->ok = false;
			break;
		}
		uint64_t end = sh->ranges[r].end_block ? sh->ranges[r].end_block : sh->blocks;
		if (end > sh->ranges[r].first_block)
			atomic_fetch_add(&sh->blocks_done,
							 (int64_t) (end - sh->ranges[r].first_block));
	}
	if (w->ok && !flush_batch(w, &w->err))
		w->ok = false;
	/* the last batch is written before the worker counts as finished */
	lk_error e2;
	if (!encoder_wait(&w->enc, &e2) && w->ok) {
		w->err = e2;
		w->ok = false;
	}
	publish_counts(w);
	if (!w->ok)
		atomic_store(&sh->failed, true);
	lk_buf_free(&sql);
	free(cols);
	w->cpu_s = thread_cpu_s();
	atomic_fetch_sub(&sh->running, 1);
	return NULL;
}

static void
fmt_eta(char *buf, size_t n, double s)
{
	if (s < 0 || s > 360000) {
		snprintf(buf, n, "--:--");
		return;
	}
	int v = (int) (s + 0.5);
	if (v >= 3600)
		snprintf(buf, n, "%d:%02d:%02d", v / 3600, (v / 60) % 60, v % 60);
	else
		snprintf(buf, n, "%d:%02d", v / 60, v % 60);
}

static void
progress(shared *sh, int64_t t0_ms, bool tty, bool final)
{
	int64_t rows = atomic_load(&sh->rows), bytes = atomic_load(&sh->bytes);
	int64_t done = atomic_load(&sh->blocks_done);
	double secs = (double) (mono_ms() - t0_ms) / 1000.0;
	double mbs = secs > 0 ? (double) bytes / 1e6 / secs : 0;
	double pct = sh->blocks ? 100.0 * (double) done / (double) sh->blocks : 0;
	char eta[32];
	fmt_eta(eta, sizeof(eta), done > 0 && sh->blocks ?
			secs * (double) ((int64_t) sh->blocks - done) / (double) done : -1);
	if (final) {
		if (tty)
			fprintf(stderr, "\r\033[K");
		lk_info("snapshot of %s: %" PRId64 " rows, %.1f MB in %.1f s (%.1f MB/s)",
				sh->t->qualname, rows, (double) bytes / 1e6, secs, mbs);
		return;
	}
	if (tty) {
		fprintf(stderr, "\r\033[Ksnapshot %s: %" PRId64 " rows, %.1f MB/s, %3.0f%%, ETA %s",
				sh->t->qualname, rows, mbs, pct, eta);
		fflush(stderr);
	} else {
		lk_info("snapshot of %s: %" PRId64 " rows, %.1f MB/s, %.0f%% of %" PRIu64
				" blocks, ETA %s", sh->t->qualname, rows, mbs, pct, sh->blocks, eta);
	}
}

/* Number of ctid ranges for a table of `blocks` heap blocks copied by
 * `jobs` workers: about 16 per worker, so that the last ranges end close
 * together, each of 8 blocks (64 KiB) to 16384 blocks (128 MiB). */
static int
snapshot_parts(uint64_t blocks, int jobs)
{
	uint64_t parts = (uint64_t) jobs * 16;
	if (blocks / parts < 8)
		parts = blocks / 8 > 0 ? blocks / 8 : 1;
	if (blocks / parts > 16384)
		parts = blocks / 16384;
	if (parts > 65536)
		parts = 65536;
	return (int) parts;
}

/* Snapshot one table on the open connections; false = whole run fails. */
static bool
snapshot_table(sy_table *t, pgc_conn **conns, int jobs, const sy_snapshot_opts *o,
			   bool *dirty, lk_error *err)
{
	shared sh;
	memset(&sh, 0, sizeof(sh));
	sh.t = t;
	sh.o = o;
	sh.start_us = unix_us();
	if (!pgcopy_table_blocks(conns[0], &t->name, &sh.blocks, err))
		return lk_error_add_where(err, "table \"%s\"", t->qualname);
	pgcopy_format format;
	bool *as_text;
	choose_format(t, &format, &as_text);
	int ntext = 0;
	for (int i = 0; i < t->ncols; i++)
		ntext += as_text[i];
	bool planned = sy_snapshot_plan_init(&sh.plan, t, format, as_text, err);
	free(as_text);
	if (!planned)
		return false;
	char lsn[20];
	lk_info("snapshot of %s at lsn %s on %d connection%s, %s copy (%d of %d columns "
			"as text)", t->qualname, pgo_lsn_format(o->lsn, lsn), jobs, jobs > 1 ? "s" : "",
			format == PGCOPY_BINARY ? "binary" : "text",
			format == PGCOPY_BINARY ? ntext : t->ncols, t->ncols);
	int parts = snapshot_parts(sh.blocks, jobs);
	sh.ranges = lk_xmalloc(sizeof(pgcopy_range) * (size_t) parts);
	sh.nranges = pgcopy_split(sh.blocks, parts, sh.ranges);
	atomic_init(&sh.next, 0);
	atomic_init(&sh.failed, false);
	atomic_init(&sh.rows, 0);
	atomic_init(&sh.bytes, 0);
	atomic_init(&sh.blocks_done, 0);
	atomic_init(&sh.running, 0);

	int nw = jobs < sh.nranges ? jobs : sh.nranges;
	worker *ws = lk_xcalloc((size_t) nw, sizeof(worker));
	dl_write_options wo;
	sy_table_write_options(t, &wo);
	if (wo.compression_level == 0)
		wo.compression_level = SY_SNAPSHOT_ZSTD_LEVEL;
	bool ok = true;
	int started = 0;
	for (int k = 0; k < nw && ok; k++) {
		worker *w = &ws[k];
		w->sh = &sh;
		w->conn = conns[k];
		w->tx = (sy_txn){.commit_lsn = o->lsn - 1, .end_lsn = o->lsn,
						 .commit_time_us = sh.start_us, .xid = -1};
		w->commit = sy_table_begin_commit(t);
		w->writer = dl_data_writer_open(w->commit, &wo, err);
		if (!w->writer) {
			ok = false;
			break;
		}
		w->batches[0] = sy_table_new_batch(t);
		w->batches[1] = sy_table_new_batch(t);
		if (!encoder_start(&w->enc, w->writer)) {
			ok = lk_error_set(err, LK_ERR_INTERNAL, "could not start an encoder thread");
			break;
		}
		atomic_fetch_add(&sh.running, 1);
		if (pthread_create(&w->tid, NULL, worker_main, w) != 0) {
			atomic_fetch_sub(&sh.running, 1);
			ok = lk_error_set(err, LK_ERR_INTERNAL, "could not start a copy thread");
			break;
		}
		started++;
	}
	if (!ok)
		atomic_store(&sh.failed, true);

	int64_t t0 = mono_ms(), last = t0;
	int interval = o->progress_tty ? 250 :
				   (o->progress_interval_ms > 0 ? o->progress_interval_ms : 10000);
	/* poll instead of join, to show progress */
	while (atomic_load(&sh.running) > 0) {
		usleep(50 * 1000);
		int64_t now = mono_ms();
		if (now - last >= interval) {
			progress(&sh, t0, o->progress_tty, false);
			last = now;
		}
	}
	for (int k = 0; k < started; k++)
		pthread_join(ws[k].tid, NULL);

	/* outcome */
	bool stopped = false, table_failed = false;
	lk_error first;
	lk_error_clear(&first);
	for (int k = 0; k < started; k++) {
		worker *w = &ws[k];
		if (w->ok)
			continue;
		if (w->stopped)
			stopped = true;
		if (first.code == LK_OK && strcmp(w->err.msg, "another copy worker failed") != 0)
			first = w->err;
	}
	if (ok && started > 0 && first.code == LK_OK)
		for (int k = 0; k < started; k++)
			if (!ws[k].ok) {
				first = ws[k].err;
				break;
			}
	if (ok && first.code != LK_OK) {
		/* value errors stop the table; connection errors stop everything */
		if (stopped || *o->stop) {
			ok = lk_error_set(err, LK_ERR_IO, "interrupted");
		} else if (first.code == LK_ERR_CORRUPT || first.code == LK_ERR_UNSUPPORTED) {
			table_failed = true;
		} else {
			*err = first;
			ok = false;
		}
	}

	/* close every writer (each on its encoder thread, in parallel): its
	 * files join the worker's commit */
	bool keep = ok && !table_failed;
	for (int k = 0; k < nw; k++)
		if (keep && ws[k].ok && ws[k].writer && ws[k].enc.started)
			encoder_close(&ws[k].enc);
	for (int k = 0; k < nw; k++) {
		worker *w = &ws[k];
		if (w->writer) {
			lk_error e2;
			bool closed = true;
			if (keep && w->ok)
				closed = w->enc.started ? encoder_closed(&w->enc, &e2) :
						 dl_data_writer_close(w->writer, &e2);
			else
				dl_data_writer_free(w->writer);
			if (!closed && ok) {
				*err = e2;
				ok = false;
			}
			w->writer = NULL;
		}
		encoder_stop(&w->enc);
		lk_debug("snapshot of %s: worker %d: %.2f s CPU copying and converting, "
				 "%.2f s CPU encoding and writing", t->qualname, k, w->cpu_s, w->enc.cpu_s);
		for (int i = 0; i < 2; i++)
			if (w->batches[i])
				lk_batch_free(w->batches[i]);
	}

	for (int k = 0; k < started; k++)
		if (!ws[k].ok)
			*dirty = true;   /* its transaction is aborted */
	if (ok && table_failed) {
		lk_err("table %s stopped: %s (%s)", t->qualname, first.msg, first.where);
		sy_table_fail(t, &first, o->lsn);
	} else if (ok) {
		if (!o->progress_tty || started)
			progress(&sh, t0, o->progress_tty, true);
		dl_commit *c = sy_table_begin_commit(t);
		if (t->resync) {
			/* history before the gap is void: a truncate row first */
			sy_txn tx = {.commit_lsn = o->lsn - 1, .end_lsn = o->lsn,
						 .commit_time_us = sh.start_us, .xid = -1};
			lk_batch *b = sy_table_new_batch(t);
			ok = sy_table_append_values(t, b, "truncate", &tx, 0, NULL, NULL, err) &&
				 dl_write_batch(c, b, &wo, err);
			lk_batch_free(b);
		}
		for (int k = 0; ok && k < nw; k++) {
			dl_commit *wc = ws[k].commit;
			size_t na = dl_commit_nactions(wc);
			for (size_t i = 0; ok && i < na; i++) {
				unsigned flags;
				const dl_action *a = dl_commit_action(wc, i, &flags);
				ok = dl_commit_add_action_flags(c, a, flags, err);
			}
		}
		for (int k = 0; k < nw; k++) {
			dl_commit_free(ws[k].commit);
			ws[k].commit = NULL;
		}
		if (ok) {
			dl_commit_set_param(c, "lakesyncSnapshot", "true");
			ok = sy_table_finish_commit(t, c, (int64_t) o->lsn - 1, err);
			if (ok) {
				t->rows_committed += atomic_load(&sh.rows);
				t->resync = false;
				t->state = SY_CATCHUP;
			}
		} else {
			dl_commit_free(c);
		}
		if (!ok) {
			/* a Delta failure stops this table only */
			lk_log_error(err);
			sy_table_fail(t, err, o->lsn);
			ok = true;
		}
	}
	for (int k = 0; k < nw; k++)
		dl_commit_free(ws[k].commit);
	free(ws);
	free(sh.ranges);
	sy_snapshot_plan_free(&sh.plan);
	return ok;
}

bool
sy_snapshot_run(sy_table **tables, int n, const sy_snapshot_opts *o, lk_error *err)
{
	int jobs = o->jobs > 0 ? o->jobs : 1;
	if (jobs > 64)
		jobs = 64;
	pgc_conn **conns = lk_xcalloc((size_t) jobs, sizeof(pgc_conn *));
	bool ok = true, dirty = true;
	for (int i = 0; ok && i < n; i++) {
		if (dirty) {
			/* import the snapshot on every connection (the exporting one
			 * stays idle until the caller is done); again after a failed
			 * copy left a transaction aborted */
			for (int k = 0; k < jobs && ok; k++) {
				pgc_close(conns[k]);
				conns[k] = pgc_connect(o->dsn, false, err);
				if (!conns[k] || !pgcopy_begin_snapshot(conns[k], o->snapshot_name, err))
					ok = false;
			}
			dirty = false;
			if (!ok)
				break;
		}
		if (*o->stop) {
			ok = lk_error_set(err, LK_ERR_IO, "interrupted");
			break;
		}
		if (tables[i]->state != SY_SNAPSHOT)
			continue;
		ok = snapshot_table(tables[i], conns, jobs, o, &dirty, err);
	}
	for (int k = 0; k < jobs; k++) {
		if (!conns[k])
			continue;
		lk_error e2;
		if (ok && !pgcopy_end(conns[k], &e2)) {
			*err = e2;
			ok = false;
		}
		pgc_close(conns[k]);
	}
	free(conns);
	return ok;
}
