/*
 * bench/capture.c — helpers of bench/capture.sh (Lakehouse Sync,
 * PostgreSQL → Delta).  Numbers only: nothing passes or fails.
 *
 *   capture fresh DSN TABLE LOCATION APPID [--rate R] [--seconds S] [--batch B]
 *       A steady workload of R rows per second into TABLE (transactions of
 *       B rows: INSERT … SELECT clock_timestamp(), …), while a second thread
 *       reads the new commits of the Delta table at LOCATION every 5 ms
 *       (sy_delta_watch).  A transaction is visible once the table's txn
 *       version (of APPID) ≥ the WAL insert position read just before its
 *       COMMIT (one writer, so every later transaction commits after it).
 *       Freshness = the poll that first saw the version − the moment COMMIT
 *       returned.  Prints one line:
 *         fresh rows=… txns=… rate=… p50_ms=… p90_ms=… p99_ms=… max_ms=… pending=…
 *       (pending: transactions not visible 10 s after the workload ended).
 *   capture waitlsn LOCATION APPID LSN TIMEOUT_S
 *       Wait until the Delta table's txn version of APPID ≥ LSN (text
 *       X/Y); prints "waited_ms=…"; exit 1 on timeout.
 *   capture rusage FILE CMD [ARG…]
 *       Run CMD (stdin/stdout/stderr inherited), wait for it (wait4) and
 *       write one line to FILE:
 *         wall_s=… user_s=… sys_s=… maxrss_kib=… exit=…
 *       (maxrss: the child's peak resident set, all its threads); exits
 *       with CMD's exit code (128 + signal when killed).  Used by the
 *       update-heavy measurement (5) of bench/capture.sh.
 */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/error.h"
#include "pg/pgoutput.h"
#include "sync/status.h"

static int64_t
wall_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t) tv.tv_sec * 1000000 + tv.tv_usec;
}

static void
sleep_us(int64_t us)
{
	if (us <= 0)
		return;
	struct timespec ts = {(time_t) (us / 1000000), (long) (us % 1000000) * 1000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

typedef struct txn_mark {
	uint64_t lsn;
	int64_t commit_us;
} txn_mark;

typedef struct fresh {
	const char *dsn, *table, *location, *app_id;
	int rate, seconds, batch;
	pthread_mutex_t mu;
	txn_mark *marks;
	size_t n, cap;
	atomic_bool done;
	double *lat;                /* ms, per transaction */
	size_t nlat;
	int64_t rows;
	char err[512];
} fresh;

static void *
writer_main(void *arg)
{
	fresh *f = arg;
	PGconn *c = PQconnectdb(f->dsn);
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(f->err, sizeof(f->err), "%s", PQerrorMessage(c));
		PQfinish(c);
		atomic_store(&f->done, true);
		return NULL;
	}
	char sql[512];
	snprintf(sql, sizeof(sql),
			 "BEGIN; INSERT INTO %s (ts, payload) SELECT clock_timestamp(), "
			 "md5(g::text) || md5((g + 1)::text) FROM generate_series(1, %d) g; "
			 "SELECT pg_current_wal_insert_lsn()", f->table, f->batch);
	int64_t period_us = (int64_t) f->batch * 1000000 / f->rate;
	int64_t start = wall_us(), end = start + (int64_t) f->seconds * 1000000;
	for (int64_t k = 0;; k++) {
		int64_t due = start + k * period_us;
		if (due >= end)
			break;
		sleep_us(due - wall_us());
		PGresult *r = PQexec(c, sql);
		uint64_t lsn = 0;
		bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
				  pgo_lsn_parse(PQgetvalue(r, 0, 0), &lsn);
		if (!ok)
			snprintf(f->err, sizeof(f->err), "%s", PQresultErrorMessage(r));
		PQclear(r);
		if (!ok)
			break;
		r = PQexec(c, "COMMIT");
		ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
		if (!ok) {
			snprintf(f->err, sizeof(f->err), "%s", PQerrorMessage(c));
			break;
		}
		int64_t now = wall_us();
		pthread_mutex_lock(&f->mu);
		if (f->n == f->cap) {
			f->cap = f->cap ? f->cap * 2 : 4096;
			f->marks = lk_xrealloc(f->marks, f->cap * sizeof(txn_mark));
		}
		f->marks[f->n++] = (txn_mark){lsn, now};
		f->rows += f->batch;
		pthread_mutex_unlock(&f->mu);
	}
	PQfinish(c);
	atomic_store(&f->done, true);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return x < y ? -1 : x > y;
}

static double
pct(const double *v, size_t n, double q)
{
	if (!n)
		return -1;
	size_t i = (size_t) (q * (double) (n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static int
cmd_fresh(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: capture fresh DSN TABLE LOCATION APPID [--rate R] "
				"[--seconds S] [--batch B]\n");
		return 2;
	}
	fresh f;
	memset(&f, 0, sizeof(f));
	f.dsn = argv[2];
	f.table = argv[3];
	f.location = argv[4];
	f.app_id = argv[5];
	f.rate = 5000;
	f.seconds = 60;
	f.batch = 50;
	for (int i = 6; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--rate"))
			f.rate = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--seconds"))
			f.seconds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--batch"))
			f.batch = atoi(argv[i + 1]);
	}
	if (f.rate < 1 || f.seconds < 1 || f.batch < 1) {
		fprintf(stderr, "capture fresh: bad --rate/--seconds/--batch\n");
		return 2;
	}
	pthread_mutex_init(&f.mu, NULL);
	sy_delta_watch w;
	lk_error err;
	lk_error_clear(&err);
	if (!sy_delta_watch_open(&w, f.location, f.app_id, &err) ||
		!sy_delta_watch_poll(&w, NULL, &err)) {
		fprintf(stderr, "capture fresh: %s\n", err.msg);
		return 1;
	}
	pthread_t th;
	pthread_create(&th, NULL, writer_main, &f);
	size_t head = 0;
	f.lat = lk_xmalloc(sizeof(double) * 16);
	size_t latcap = 16;
	int64_t done_at = 0;
	for (;;) {
		sleep_us(5000);
		if (!sy_delta_watch_poll(&w, NULL, &err)) {
			fprintf(stderr, "capture fresh: %s\n", err.msg);
			break;
		}
		pthread_mutex_lock(&f.mu);
		while (head < f.n && w.txn_version >= 0 && (uint64_t) w.txn_version >= f.marks[head].lsn) {
			if (f.nlat == latcap) {
				latcap *= 2;
				f.lat = lk_xrealloc(f.lat, latcap * sizeof(double));
			}
			double ms = (double) (w.seen_ms * 1000 - f.marks[head].commit_us) / 1000.0;
			f.lat[f.nlat++] = ms < 0 ? 0 : ms;
			head++;
		}
		size_t n = f.n;
		pthread_mutex_unlock(&f.mu);
		if (atomic_load(&f.done)) {
			if (!done_at)
				done_at = wall_us();
			if (head == n || wall_us() - done_at > 10000000)
				break;
		}
	}
	pthread_join(th, NULL);
	if (f.err[0])
		fprintf(stderr, "capture fresh: workload: %s\n", f.err);
	qsort(f.lat, f.nlat, sizeof(double), cmp_double);
	printf("fresh rows=%" PRId64 " txns=%zu rate=%.0f p50_ms=%.0f p90_ms=%.0f p99_ms=%.0f "
		   "max_ms=%.0f pending=%zu\n", f.rows, f.n, (double) f.rows / f.seconds,
		   pct(f.lat, f.nlat, 0.5), pct(f.lat, f.nlat, 0.9), pct(f.lat, f.nlat, 0.99),
		   f.nlat ? f.lat[f.nlat - 1] : -1, f.n - head);
	sy_delta_watch_close(&w);
	free(f.marks);
	free(f.lat);
	return f.err[0] ? 1 : 0;
}

static int
cmd_waitlsn(int argc, char **argv)
{
	uint64_t lsn;
	if (argc < 6 || !pgo_lsn_parse(argv[4], &lsn)) {
		fprintf(stderr, "usage: capture waitlsn LOCATION APPID LSN TIMEOUT_S\n");
		return 2;
	}
	int timeout = atoi(argv[5]);
	sy_delta_watch w;
	lk_error err;
	lk_error_clear(&err);
	if (!sy_delta_watch_open(&w, argv[2], argv[3], &err)) {
		fprintf(stderr, "capture waitlsn: %s\n", err.msg);
		return 1;
	}
	int64_t t0 = wall_us();
	int rc = 1;
	for (;;) {
		if (!sy_delta_watch_poll(&w, NULL, &err)) {
			fprintf(stderr, "capture waitlsn: %s\n", err.msg);
			break;
		}
		if (w.txn_version >= 0 && (uint64_t) w.txn_version >= lsn) {
			rc = 0;
			break;
		}
		if (wall_us() - t0 > (int64_t) timeout * 1000000)
			break;
		sleep_us(10000);
	}
	printf("waited_ms=%.0f\n", (double) (wall_us() - t0) / 1000.0);
	sy_delta_watch_close(&w);
	return rc;
}

static int
cmd_rusage(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: capture rusage FILE CMD [ARG...]\n");
		return 2;
	}
	int64_t t0 = wall_us();
	pid_t pid = fork();
	if (pid < 0) {
		perror("capture rusage: fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[3], argv + 3);
		fprintf(stderr, "capture rusage: %s: %s\n", argv[3], strerror(errno));
		_exit(127);
	}
	int status = 0;
	struct rusage ru;
	memset(&ru, 0, sizeof(ru));
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("capture rusage: wait4");
			return 1;
		}
	}
	int64_t t1 = wall_us();
	int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	FILE *f = fopen(argv[2], "w");
	if (!f) {
		fprintf(stderr, "capture rusage: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	fprintf(f, "wall_s=%.2f user_s=%.2f sys_s=%.2f maxrss_kib=%ld exit=%d\n",
			(double) (t1 - t0) / 1e6,
			(double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6,
			(double) ru.ru_stime.tv_sec + (double) ru.ru_stime.tv_usec / 1e6,
			ru.ru_maxrss, rc);
	fclose(f);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "fresh"))
		return cmd_fresh(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "waitlsn"))
		return cmd_waitlsn(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "rusage"))
		return cmd_rusage(argc, argv);
	fprintf(stderr, "usage: capture fresh|waitlsn|rusage …  (see bench/capture.c)\n");
	return 2;
}
