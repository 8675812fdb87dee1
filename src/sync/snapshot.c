/*
 * snapshot.c — parallel snapshot of history tables (see snapshot.h).
 *
 * Threads and what they own:
 *
 *   main ──▶ opens jobs pgc connections, imports the snapshot in each
 *     │      per table: one scratch dl_commit + data writer per worker
 *     │      (a commit is not thread-safe; each worker adds its files to
 *     │      its own), an atomic range counter
 *     ├──▶ worker k: conn[k], batch[k], writer[k]: COPY ranges until none
 *     │    is left, closes its writer
 *     │    main: progress every 200 ms (TTY) / progress_interval_ms (log)
 *     ▼
 *   join ─▶ table commit: [truncate row] + every worker's add actions,
 *           txn version L - 1 ─▶ dl_commit_run (one Delta version)
 */
#include "sync/snapshot.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "pg/copyout.h"

typedef struct shared {
	sy_table *t;
	const sy_snapshot_opts *o;
	pgcopy_range *ranges;
	int nranges;
	uint64_t blocks;
	atomic_int next;            /* next range to take */
	atomic_bool failed;         /* a worker failed: the others stop */
	atomic_int_fast64_t rows;
	atomic_int_fast64_t bytes;  /* COPY text bytes */
	atomic_int_fast64_t blocks_done;
	atomic_int running;         /* workers not finished */
	int64_t start_us;           /* _commit_timestamp of the snapshot rows */
} shared;

typedef struct worker {
	shared *sh;
	pgc_conn *conn;
	dl_commit *commit;
	dl_data_writer *writer;
	lk_batch *batch;
	int64_t batch_bytes;
	sy_value *vals;
	int range;                  /* current range index */
	int64_t row_in_range;
	int64_t local_rows, local_bytes;
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

static void
publish_counts(worker *w)
{
	atomic_fetch_add(&w->sh->rows, w->local_rows);
	atomic_fetch_add(&w->sh->bytes, w->local_bytes);
	w->local_rows = w->local_bytes = 0;
}

static bool
flush_batch(worker *w, lk_error *err)
{
	if (w->batch->nrows == 0)
		return true;
	if (!dl_data_writer_write(w->writer, w->batch, err))
		return false;
	lk_batch_reset(w->batch);
	w->batch->nrows = 0;
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
	if (atomic_load(&sh->failed))
		return lk_error_set(err, LK_ERR_IO, "another copy worker failed");
	if (nf != t->ncols)
		return lk_error_set(err, LK_ERR_INTERNAL, "copy row has %d fields, expected %d",
							nf, t->ncols);
	int64_t text = 0;
	for (int i = 0; i < nf; i++) {
		w->vals[i].p = f[i].ptr;
		w->vals[i].n = f[i].len;
		w->vals[i].null = f[i].is_null;
		text += (int64_t) f[i].len + 1;
	}
	sy_txn tx = {
		.commit_lsn = sh->o->lsn - 1,
		.end_lsn = sh->o->lsn,
		.commit_time_us = sh->start_us,
		.xid = -1,
	};
	int64_t seq = ((int64_t) (w->range + 1) << 40) | w->row_in_range;
	int64_t bytes;
	if (!sy_table_append_values(t, w->batch, "insert", &tx, seq, w->vals, &bytes, err)) {
		char lsn[20];
		return lk_error_add_where(err, "table \"%s\", snapshot at lsn %s", t->qualname,
								  pgo_lsn_format(sh->o->lsn, lsn));
	}
	w->row_in_range++;
	w->local_rows++;
	w->local_bytes += text;
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
	const char **cols = lk_xmalloc(sizeof(char *) * (size_t) t->ncols);
	for (int i = 0; i < t->ncols; i++)
		cols[i] = t->cols[i].name;
	lk_buf sql = LK_BUF_INIT;
	w->ok = true;
	for (;;) {
		int r = atomic_fetch_add(&sh->next, 1);
		if (r >= sh->nranges || atomic_load(&sh->failed))
			break;
		w->range = r;
		w->row_in_range = 0;
		lk_buf_reset(&sql);
		if (!pgcopy_build_query(w->conn, &sql, &t->name, cols, t->ncols, &sh->ranges[r],
								&w->err) ||
			!pgcopy_run(w->conn, (const char *) sql.data, t->ncols, on_row, w, NULL,
						&w->err)) {
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
	publish_counts(w);
	if (!w->ok)
		atomic_store(&sh->failed, true);
	lk_buf_free(&sql);
	free(cols);
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
	int parts = jobs * 4;
	if (sh.blocks / (uint64_t) parts > 16384)   /* ≤ 128 MiB of heap per range */
		parts = (int) (sh.blocks / 16384 > 65536 ? 65536 : sh.blocks / 16384);
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
	bool ok = true;
	int started = 0;
	for (int k = 0; k < nw && ok; k++) {
		worker *w = &ws[k];
		w->sh = &sh;
		w->conn = conns[k];
		w->commit = sy_table_begin_commit(t);
		w->writer = dl_data_writer_open(w->commit, &wo, err);
		if (!w->writer) {
			ok = false;
			break;
		}
		w->batch = sy_table_new_batch(t);
		w->vals = lk_xcalloc((size_t) t->ncols + 1, sizeof(sy_value));
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

	/* close every writer: its files join the worker's commit */
	for (int k = 0; k < nw; k++) {
		worker *w = &ws[k];
		if (w->writer) {
			lk_error e2;
			if (ok && !table_failed && w->ok) {
				if (!dl_data_writer_close(w->writer, &e2)) {
					*err = e2;
					ok = false;
				}
			} else {
				dl_data_writer_free(w->writer);
			}
			w->writer = NULL;
		}
		if (w->batch)
			lk_batch_free(w->batch);
		free(w->vals);
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
		char lsn[20];
		lk_info("snapshot of %s at lsn %s on %d connection%s", tables[i]->qualname,
				pgo_lsn_format(o->lsn, lsn), jobs, jobs > 1 ? "s" : "");
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
