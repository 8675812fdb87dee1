/*
 * cli_run.c — `lakesync run -c FILE`: every pipeline (Postgres → Delta,
 * sync/capture.h) and every synced table (Delta → Postgres,
 * sync/synced_table.h) of a configuration file (sync/config.h), each in
 * its own thread, until SIGINT/SIGTERM.
 *
 * Threads:
 *
 *   main        loads the file, starts one worker per entry, rewrites the
 *               status file (sync/status.h) every second and on every
 *               change, joins the workers after a stop, writes the final
 *               status (running: false)
 *   worker      attempt → failed? → backoff (1 s, doubling to
 *               --max-backoff, reset after an attempt that ran 60 s) →
 *               attempt …; a stop request ends the wait and the attempt
 *
 *   entry state:  starting ──▶ running ──(failure)──▶ backoff ──▶ running …
 *                                 │ stop / one-shot entry done
 *                                 ▼
 *                              stopped
 *
 * A pipeline that fails never stops the others.  A stop (signal) reaches
 * every capture run through sy_capture_request_stop() (a process-wide
 * flag: the capture engine finishes its flush and commits what is
 * complete) and every synced table through its `stop` flag.  Synced
 * tables in snapshot or triggered mode run once (retried on failure);
 * continuous ones follow their Delta table.
 *
 * Exit: 0 after SIGTERM (or when every entry was one-shot and is done),
 * 130 after SIGINT, 1 for a runtime error before the start, 2 for a bad
 * command line or configuration, 4 for a configuration the engine does
 * not support yet, 5 when another `run` of the same file holds its lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/log.h"
#include "delta/commit.h"
#include "pg/conn.h"
#include "sync/capture.h"
#include "sync/config.h"
#include "sync/status.h"
#include "sync/synced_table.h"

static const char run_help[] =
	"usage: lakesync run -c FILE [--max-backoff SECONDS]\n"
	"\n"
	"Runs every pipeline ([pipeline.NAME]: PostgreSQL → Delta) and every synced\n"
	"table ([synced.NAME]: Delta → PostgreSQL) of the configuration file, each in\n"
	"its own thread, until SIGINT or SIGTERM.  A pipeline that fails is restarted\n"
	"with a backoff (1 s, doubling up to --max-backoff) while the others keep\n"
	"running.  The run's state is rewritten every second to the status file (the\n"
	"[lakesync] status_file setting, default FILE.status.json); `lakesync status\n"
	"-c FILE` reads it together with the Delta tables and the replication slots.\n"
	"The file format is described in docs/config.md.\n"
	"\n"
	"options:\n"
	"  -c, --config FILE      the configuration file\n"
	"  --max-backoff SECONDS  longest wait between two attempts (default 60)\n"
	"\n"
	"SIGINT/SIGTERM: every pipeline finishes its flush and commits what is\n"
	"complete, synced tables stop between versions; then the run exits.\n"
	"exit codes: 0 stopped by SIGTERM (or every one-shot entry done), 130 stopped\n"
	"by SIGINT, 1 runtime error at start, 2 usage or configuration error,\n"
	"4 unsupported configuration, 5 another run of this file is running\n";

#define HEALTHY_MS 60000

static volatile sig_atomic_t g_run_stop;

static void
on_signal(int sig)
{
	if (!g_run_stop)
		g_run_stop = sig;
	sy_capture_request_stop(sig);
}

typedef struct run_ctx run_ctx;

typedef struct worker {
	run_ctx *rc;
	int index;                  /* into rc->status.entries */
	const sy_config_pipeline *pl;
	const sy_config_synced *sy;
	pthread_t thread;
	bool started;
} worker;

struct run_ctx {
	const sy_config_file *cf;
	pthread_mutex_t mu;         /* status */
	pthread_cond_t cv;          /* status changed / a worker ended */
	sy_run_status status;
	bool dirty;
	int max_backoff_ms;
	int live;                   /* workers not finished */
};

static void
set_state(worker *w, sy_run_state st, const lk_error *err, int64_t retry_at)
{
	run_ctx *rc = w->rc;
	pthread_mutex_lock(&rc->mu);
	sy_run_entry *e = &rc->status.entries[w->index];
	e->state = st;
	e->since_ms = dl_now_ms();
	e->retry_at_ms = retry_at;
	if (err) {
		char b[1100];
		snprintf(e->last_error, sizeof(e->last_error), "%s",
				 lk_error_str(err, b, sizeof(b)));
		e->restarts++;
	}
	rc->dirty = true;
	pthread_cond_broadcast(&rc->cv);
	pthread_mutex_unlock(&rc->mu);
}

static void
sleep_until_stop(int64_t ms)
{
	int64_t end = dl_now_ms() + ms;
	while (!g_run_stop && dl_now_ms() < end)
		usleep(50 * 1000);
}

/* One attempt of a pipeline.  True when it ended because of a stop. */
static bool
attempt_pipeline(worker *w, lk_error *err)
{
	const sy_config_pipeline *pl = w->pl;
	sy_capture_options o;
	sy_capture_options_init(&o);
	const char **tables = lk_xcalloc((size_t) pl->ntables + 1, sizeof(char *));
	sy_table_mode *modes = lk_xcalloc((size_t) pl->ntables + 1, sizeof(sy_table_mode));
	for (int i = 0; i < pl->ntables; i++) {
		tables[i] = pl->tables[i].name;
		if (!sy_table_mode_parse(pl->tables[i].mode, &modes[i]))
			modes[i] = SY_TABLE_HISTORY;    /* the config parser allows no other */
	}
	o.source = pl->source;
	o.target = pl->target;
	o.tables = tables;
	o.modes = modes;
	o.ntables = pl->ntables;
	o.pipeline = pl->name;
	o.until_caught_up = false;
	if (pl->jobs > 0) {
		o.jobs = pl->jobs;
	} else {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		o.jobs = n > 0 ? (int) (n > 64 ? 64 : n) : 1;
	}
	if (pl->flush_bytes > 0)
		o.cfg.flush_bytes = pl->flush_bytes;
	if (pl->flush_interval_ms > 0)
		o.cfg.flush_interval_ms = pl->flush_interval_ms;
	if (pl->index_memory > 0)
		o.cfg.index_bytes = (size_t) pl->index_memory;
	o.no_maintenance = !pl->maintenance;
	o.progress_tty = false;

	sy_capture_result res;
	bool ok = sy_capture_run(&o, &res, err);
	free(tables);
	free(modes);
	pthread_mutex_lock(&w->rc->mu);
	w->rc->status.entries[w->index].rows += res.rows_committed;
	w->rc->dirty = true;
	pthread_mutex_unlock(&w->rc->mu);
	if (!ok) {
		if (err->code == LK_OK)
			lk_error_set(err, LK_ERR_INTERNAL, "the pipeline ended without a reason");
		return g_run_stop != 0 && res.interrupted;
	}
	if (res.interrupted || g_run_stop)
		return true;
	/* a continuous capture returns by itself only when every table was
	 * stopped by an error */
	if (res.tables_failed) {
		*err = res.table_error;
		lk_error_add_where(err, "%d table%s stopped", res.tables_failed,
						   res.tables_failed > 1 ? "s" : "");
	} else {
		lk_error_set(err, LK_ERR_INTERNAL, "the capture returned without a stop request");
	}
	return false;
}

/* One attempt of a synced table.  True when it is finished (a stop, or a
 * one-shot mode done). */
static bool
attempt_synced(worker *w, lk_error *err)
{
	const sy_config_synced *sc = w->sy;
	sy_options o;
	sy_options_init(&o);
	o.source = sc->source;
	o.target_dsn = sc->target;
	o.table = sc->table;
	o.mode = sc->mode;
	o.primary_key = sc->primary_key;
	o.npk = sc->npk;
	o.dedup_by = sc->dedup_by;
	o.column_types = sc->column_types;
	o.ncolumn_types = sc->ncolumn_types;
	if (sc->jobs > 0)
		o.jobs = sc->jobs;
	if (sc->interval_ms > 0)
		o.interval_ms = sc->interval_ms;
	o.stop = &g_run_stop;
	sy_result res;
	memset(&res, 0, sizeof(res));
	bool ok = sy_synced_table_run(&o, &res, err);
	pthread_mutex_lock(&w->rc->mu);
	sy_run_entry *e = &w->rc->status.entries[w->index];
	if (ok)
		e->version = res.version;
	e->rows += res.rows_loaded + res.rows_changed;
	w->rc->dirty = true;
	pthread_mutex_unlock(&w->rc->mu);
	if (ok) {
		lk_info("synced table %s: at version %" PRId64 " (%" PRId64 " rows loaded, %" PRId64
				" versions applied)", sc->name, res.version, res.rows_loaded,
				res.versions_applied);
		return true;
	}
	if (err->code == LK_OK)
		lk_error_set(err, LK_ERR_INTERNAL, "the synced table ended without a reason");
	return g_run_stop != 0;
}

static void *
worker_main(void *arg)
{
	worker *w = arg;
	run_ctx *rc = w->rc;
	const char *what = w->pl ? "pipeline" : "synced table";
	const char *name = w->pl ? w->pl->name : w->sy->name;
	int backoff = 1000;
	while (!g_run_stop) {
		set_state(w, SY_RUN_RUNNING, NULL, 0);
		lk_info("%s %s: starting", what, name);
		int64_t t0 = dl_now_ms();
		lk_error err;
		lk_error_clear(&err);
		bool done = w->pl ? attempt_pipeline(w, &err) : attempt_synced(w, &err);
		if (done || g_run_stop)
			break;
		if (dl_now_ms() - t0 > HEALTHY_MS)
			backoff = 1000;
		char b[1100];
		lk_err("%s %s failed: %s; retrying in %.1f s", what, name,
			   lk_error_str(&err, b, sizeof(b)), backoff / 1000.0);
		set_state(w, SY_RUN_BACKOFF, &err, dl_now_ms() + backoff);
		sleep_until_stop(backoff);
		backoff = backoff * 2 > rc->max_backoff_ms ? rc->max_backoff_ms : backoff * 2;
	}
	set_state(w, SY_RUN_STOPPED, NULL, 0);
	lk_info("%s %s: stopped", what, name);
	pthread_mutex_lock(&rc->mu);
	rc->live--;
	pthread_cond_broadcast(&rc->cv);
	pthread_mutex_unlock(&rc->mu);
	return NULL;
}

static void
print_error(const lk_error *err)
{
	fprintf(stderr, "lakesync run: %s\n", err->msg[0] ? err->msg : "unknown error");
	if (err->where[0])
		fprintf(stderr, "  where: %s\n", err->where);
}

/* What the capture engine cannot do yet is refused up front, naming the
 * line (better than a pipeline that restarts for ever). */
static bool
check_supported(const sy_config_file *cf, lk_error *err)
{
	for (int i = 0; i < cf->npipelines; i++) {
		const sy_config_pipeline *pl = &cf->pipelines[i];
		for (int j = 0; j < pl->ntables; j++) {
			const sy_config_table *t = &pl->tables[j];
			if (t->location) {
				sy_config_table dflt = *t;
				dflt.location = NULL;
				char *want = sy_config_location(cf, pl, &dflt);
				bool same = want && !strcmp(want, t->location);
				if (!same) {
					lk_error_set(err, LK_ERR_UNSUPPORTED, "table %s of pipeline \"%s\": a "
								 "location other than the default (%s) is not supported yet",
								 t->name, pl->name, want ? want : "?");
					free(want);
					return lk_error_where(err, "file \"%s\", line %d", cf->path, t->line);
				}
				free(want);
			}
		}
	}
	return true;
}

static bool
write_status(run_ctx *rc, bool running)
{
	lk_error err;
	lk_error_clear(&err);
	pthread_mutex_lock(&rc->mu);
	rc->status.running = running;
	rc->status.updated_ms = dl_now_ms();
	bool ok = sy_run_status_write(rc->cf->status_file, &rc->status, &err);
	rc->dirty = false;
	pthread_mutex_unlock(&rc->mu);
	if (!ok)
		lk_warn("could not write the status file: %s", err.msg);
	return ok;
}

int
cli_run_main(int argc, char **argv)
{
	const char *path = NULL;
	int max_backoff_s = 60;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(run_help, stdout);
			return LK_EXIT_OK;
		}
		if ((!strcmp(a, "-c") || !strcmp(a, "--config")) && i + 1 < argc) {
			path = argv[++i];
		} else if (!strncmp(a, "--config=", 9)) {
			path = a + 9;
		} else if (!strcmp(a, "--max-backoff") && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end || v < 1 || v > 86400) {
				fprintf(stderr, "lakesync run: invalid --max-backoff \"%s\" (1 to 86400 "
						"seconds)\n", argv[i]);
				return LK_EXIT_USAGE;
			}
			max_backoff_s = (int) v;
		} else {
			fprintf(stderr, "lakesync run: unexpected argument \"%s\"\nTry `lakesync run "
					"--help`.\n", a);
			return LK_EXIT_USAGE;
		}
	}
	if (!path) {
		fprintf(stderr, "lakesync run: missing -c FILE\nTry `lakesync run --help`.\n");
		return LK_EXIT_USAGE;
	}
	lk_error err;
	lk_error_clear(&err);
	sy_config_file *cf = sy_config_load(path, &err);
	if (!cf) {
		print_error(&err);
		return err.code == LK_ERR_INVALID ? LK_EXIT_USAGE : cli_exit_for(&err);
	}
	if (!check_supported(cf, &err)) {
		print_error(&err);
		sy_config_free(cf);
		return LK_EXIT_UNSUPPORTED;
	}

	/* one run per configuration: a lock next to the status file */
	char lockpath[4200];
	snprintf(lockpath, sizeof(lockpath), "%s.lock", cf->status_file);
	int lockfd = open(lockpath, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
	if (lockfd < 0) {
		fprintf(stderr, "lakesync run: could not open lock file \"%s\": %s\n", lockpath,
				strerror(errno));
		sy_config_free(cf);
		return LK_EXIT_ERROR;
	}
	if (flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr, "lakesync run: another `lakesync run` of \"%s\" is running (lock "
				"file \"%s\")\n", path, lockpath);
		close(lockfd);
		sy_config_free(cf);
		return LK_EXIT_CONFLICT;
	}

	run_ctx rc;
	memset(&rc, 0, sizeof(rc));
	rc.cf = cf;
	rc.max_backoff_ms = max_backoff_s * 1000;
	pthread_mutex_init(&rc.mu, NULL);
	pthread_cond_init(&rc.cv, NULL);
	int n = cf->npipelines + cf->nsynced;
	rc.status.pid = (int) getpid();
	rc.status.running = true;
	rc.status.started_ms = dl_now_ms();
	rc.status.entries = lk_xcalloc((size_t) n + 1, sizeof(sy_run_entry));
	rc.status.n = n;
	worker *ws = lk_xcalloc((size_t) n + 1, sizeof(worker));
	for (int i = 0; i < n; i++) {
		sy_run_entry *e = &rc.status.entries[i];
		worker *w = &ws[i];
		w->rc = &rc;
		w->index = i;
		if (i < cf->npipelines) {
			w->pl = &cf->pipelines[i];
			e->kind = 'p';
			snprintf(e->name, sizeof(e->name), "%s", w->pl->name);
		} else {
			w->sy = &cf->synced[i - cf->npipelines];
			e->kind = 's';
			snprintf(e->name, sizeof(e->name), "%s", w->sy->name);
		}
		e->state = SY_RUN_STARTING;
		e->since_ms = rc.status.started_ms;
		e->version = -1;
	}
	cli_on_stop_signals(on_signal);
	write_status(&rc, true);
	for (int i = 0; i < cf->npipelines; i++) {
		char *red = pgc_dsn_redact(cf->pipelines[i].source);
		lk_info("pipeline %s: %d table%s from %s into %s", cf->pipelines[i].name,
				cf->pipelines[i].ntables, cf->pipelines[i].ntables == 1 ? "" : "s", red,
				cf->pipelines[i].target);
		free(red);
	}
	for (int i = 0; i < n; i++) {
		pthread_mutex_lock(&rc.mu);
		rc.live++;
		pthread_mutex_unlock(&rc.mu);
		if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0) {
			lk_err("could not start a thread for %s", rc.status.entries[i].name);
			pthread_mutex_lock(&rc.mu);
			rc.live--;
			pthread_mutex_unlock(&rc.mu);
			g_run_stop = SIGTERM;
			sy_capture_request_stop(SIGTERM);
			break;
		}
		ws[i].started = true;
	}

	/* supervise: status file every second, until every worker ended */
	int64_t last_write = dl_now_ms();
	pthread_mutex_lock(&rc.mu);
	while (rc.live > 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&rc.cv, &rc.mu, &ts);
		bool due = rc.dirty || dl_now_ms() - last_write >= 1000;
		if (due && rc.live > 0) {
			pthread_mutex_unlock(&rc.mu);
			write_status(&rc, true);
			last_write = dl_now_ms();
			pthread_mutex_lock(&rc.mu);
		}
	}
	pthread_mutex_unlock(&rc.mu);
	for (int i = 0; i < n; i++)
		if (ws[i].started)
			pthread_join(ws[i].thread, NULL);
	write_status(&rc, false);

	/* without a signal, workers end only when every entry was one-shot
	 * and finished (failures are retried, never given up) */
	int rcode = g_run_stop == SIGINT ? LK_EXIT_INTERRUPTED : LK_EXIT_OK;
	lk_info("run stopped");
	free(ws);
	sy_run_status_free(&rc.status);
	pthread_mutex_destroy(&rc.mu);
	pthread_cond_destroy(&rc.cv);
	close(lockfd);
	sy_config_free(cf);
	return rcode;
}
