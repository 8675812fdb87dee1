/*
 * capture.h — Lakehouse Sync, Postgres → Delta (DESIGN §3): one pipeline =
 * one publication + one logical slot (`lakesync_<pipeline>`, pgoutput)
 * feeding the Delta tables of its tables, each in history mode (an
 * append-only change log) or mirror mode (equal to the source, deletion
 * vectors, Change Data Feed).  Prefix `sy_capture_`.
 *
 *   sy_capture_run   setup and checks → snapshots (exported snapshot of the
 *                    new slot, or a temporary slot per run for tables that
 *                    need a re-snapshot) → stream (proto 2, 4 on 16+,
 *                    streaming on) into per-table batches → Delta commits
 *                    with txn markers → feedback (confirmed flush = what is
 *                    durable everywhere) → until caught up, a signal, or
 *                    for ever (reconnecting with backoff).
 *   sy_capture_drop  drop the pipeline's slot and publication.
 *
 * The Delta log is the state: nothing else is needed to resume.  The
 * lifecycle of a table and the invariants are in src/sync/README.md.
 */
#ifndef SY_CAPTURE_H
#define SY_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "sync/maint.h"
#include "sync/table.h"

typedef struct sy_capture_options {
	const char *source;          /* libpq DSN */
	const char *target;          /* lakehouse root (URI or path) */
	const char *const *tables;   /* "schema.table" as SQL spells it */
	const sy_table_mode *modes;  /* per table, or NULL: cfg.mode for all */
	int ntables;
	const char *pipeline;        /* default "lakesync" */
	bool until_caught_up;        /* stop at the WAL position of the start */
	int jobs;                    /* snapshot connections; 0 = number of cores */
	sy_table_config cfg;         /* flush budgets, default mode */
	bool progress_tty;           /* live progress line on stderr */
	size_t spill_mem;            /* streamed transactions in memory; 0 = 8 MiB */
	int status_interval_ms;      /* standby status at least this often (10000) */
	int max_retry_ms;            /* give up reconnecting after this long
								  * (0: never with a continuous run, 60 s with
								  * until_caught_up) */
	bool no_maintenance;         /* no compaction/checkpoint/vacuum worker */
	const sy_maint_options *maint;  /* its options; NULL = defaults */
} sy_capture_options;

void sy_capture_options_init(sy_capture_options *o);

typedef struct sy_capture_result {
	bool interrupted;            /* a stop was requested (signal) */
	int signal;                  /* which */
	bool caught_up;
	int tables_failed;           /* tables stopped by an error */
	lk_error table_error;        /* the first of them */
	uint64_t confirmed_lsn;      /* last flush position sent */
	int64_t rows_committed;      /* over every table, this run */
	int reconnects;
} sy_capture_result;

/* Run the pipeline (see the top).  Returns false with err filled on a
 * failure that stops the whole pipeline (setup, a failed snapshot, a
 * connection that could not be re-established, corrupt input); tables
 * stopped by their own error are counted in res instead. */
bool sy_capture_run(const sy_capture_options *o, sy_capture_result *res,
					lk_error *err);

/* Drop the slot and the publication of `pipeline` (missing ones are fine;
 * an active slot is an error). */
bool sy_capture_drop(const char *source, const char *pipeline, lk_error *err);

/* Ask a running sy_capture_run to finish its current flush, commit what
 * is complete and return.  Async-signal-safe. */
void sy_capture_request_stop(int sig);

/* "lakesync_<pipeline>" into buf (≥ 64 bytes), checked as a slot name. */
bool sy_capture_slot_name(const char *pipeline, char *buf, size_t n,
						  lk_error *err);

#endif
