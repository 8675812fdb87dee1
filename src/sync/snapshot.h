/*
 * snapshot.h — initial (or re-)snapshot of history tables from an exported
 * snapshot, in parallel over ctid block ranges (DESIGN §3 "Initial
 * snapshot"), prefix `sy_snapshot_`.
 *
 *   jobs connections ── pgcopy_begin_snapshot(name) (all imported before
 *                       the exporting connection may run anything else)
 *   for each table:     pgcopy_table_blocks → ranges (≥ 4 per job)
 *     worker threads:   next range ─▶ COPY (SELECT cols FROM ONLY t WHERE
 *                       ctid range) ─▶ pgt_append_text into the worker's
 *                       batch ─▶ its own dl_data_writer (own Parquet files)
 *     main thread:      progress; then the adds of every worker in ONE
 *                       Delta commit with txn version = L - 1
 *
 * Snapshot rows: _change_type 'insert', _commit_lsn = L - 1 (the snapshot
 * holds exactly the transactions whose commit record starts before the
 * consistent point L, see README), _change_seq = (range + 1) << 40 | row
 * number in the range, _commit_timestamp = start of the copy, _xid null.
 * A table marked `resync` first gets one 'truncate' row (_change_seq 0).
 */
#ifndef SY_SNAPSHOT_H
#define SY_SNAPSHOT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "sync/table.h"

typedef struct sy_snapshot_opts {
	const char *dsn;            /* source, for the copy connections */
	const char *snapshot_name;  /* exported by the slot's connection */
	uint64_t lsn;               /* the slot's consistent point L */
	int jobs;                   /* copy connections/threads (≥ 1) */
	bool progress_tty;          /* a live progress line on stderr */
	int progress_interval_ms;   /* log lines when not a TTY (10000) */
	volatile sig_atomic_t *stop;/* set to stop: the copy is abandoned */
} sy_snapshot_opts;

/* Snapshot every table of tables[0..n) (all in SY_SNAPSHOT).  A table
 * whose rows cannot be converted (an unrepresentable value) gets SY_ERROR
 * and nothing committed; the others go on.  Returns false (err filled)
 * when the whole snapshot fails: a connection error, or *stop set
 * (err->msg "interrupted"); tables committed before stay committed. */
bool sy_snapshot_run(sy_table **tables, int n, const sy_snapshot_opts *o,
					 lk_error *err);

#endif
