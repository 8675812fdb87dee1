/*
 * snapshot.h — initial (or re-)snapshot of history tables from an exported
 * snapshot, in parallel over ctid block ranges (DESIGN §3 "Initial
 * snapshot"), prefix `sy_snapshot_`.
 *
 *   jobs connections ── pgcopy_begin_snapshot(name) (all imported before
 *                       the exporting connection may run anything else)
 *   for each table:     pgcopy_table_blocks → ranges (~16 per job); the
 *                       copy format (binary when every column allows it)
 *     worker threads:   next range ─▶ COPY (SELECT cols FROM ONLY t WHERE
 *                       ctid range) ─▶ pgt_append_binary / _text into the
 *                       worker's batch ─▶ its encoder thread: its own
 *                       dl_data_writer (own Parquet files), while the
 *                       worker fills its second batch
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

#include "common/batch.h"
#include "common/error.h"
#include "pg/copyout.h"
#include "sync/table.h"

/* zstd level of the snapshot's Parquet files when the table's write
 * options leave it at the default (level 1: about 40% less CPU than the
 * writer's default 3 for a few percent more bytes; bench/README.md). */
#define SY_SNAPSHOT_ZSTD_LEVEL 1

typedef struct sy_snapshot_opts {
	const char *dsn;            /* source, for the copy connections */
	const char *snapshot_name;  /* exported by the slot's connection */
	uint64_t lsn;               /* the slot's consistent point L */
	int jobs;                   /* copy connections/threads (≥ 1) */
	bool progress_tty;          /* a live progress line on stderr */
	int progress_interval_ms;   /* log lines when not a TTY (10000) */
	volatile sig_atomic_t *stop;/* set to stop: the copy is abandoned */
} sy_snapshot_opts;

/* How a COPY row becomes a history row: one op per Delta column, the
 * format of the COPY and the columns selected as text.  Built by
 * sy_snapshot_plan_init (caller frees with sy_snapshot_plan_free). */
typedef struct sy_snapshot_op sy_snapshot_op;
typedef struct sy_snapshot_plan {
	pgcopy_format format;
	int ncols;                  /* Delta columns */
	int nsrc;                   /* source columns = COPY fields */
	sy_snapshot_op *ops;
	bool *as_text;              /* per source column: selected as "c"::text */
} sy_snapshot_plan;

/* Plan for table t: binary format reads each source column with
 * pgt_append_binary, except those marked in as_text (may be NULL), which
 * must then be selected as text; a column that is neither native nor
 * marked is LK_ERR_INTERNAL.  The text format reads every column with
 * pgt_append_text. */
bool sy_snapshot_plan_init(sy_snapshot_plan *p, const sy_table *t,
						   pgcopy_format format, const bool *as_text,
						   lk_error *err);
void sy_snapshot_plan_free(sy_snapshot_plan *p);

/* Append the history row of one COPY row (fields f[0..p->nsrc)) to b:
 * exactly what sy_table_append_values(t, b, "insert", tx, seq, vals)
 * appends for the same values in text form; *bytes (may be NULL) as
 * there, counting the fields' bytes as received.  Errors as there.
 * Thread-safe for distinct b. */
bool sy_snapshot_append_row(const sy_snapshot_plan *p, const sy_table *t,
							lk_batch *b, const sy_txn *tx, int64_t seq,
							const pgcopy_field *f, int64_t *bytes, lk_error *err);

/* Snapshot every table of tables[0..n) (all in SY_SNAPSHOT).  A table
 * whose rows cannot be converted (an unrepresentable value) gets SY_ERROR
 * and nothing committed; the others go on.  Returns false (err filled)
 * when the whole snapshot fails: a connection error, or *stop set
 * (err->msg "interrupted"); tables committed before stay committed. */
bool sy_snapshot_run(sy_table **tables, int n, const sy_snapshot_opts *o,
					 lk_error *err);

#endif
