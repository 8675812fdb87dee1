/*
 * maint.h — table maintenance inside the capture daemon (issue 5), prefix
 * `sy_maint_`: compaction of small files (deletion-vector aware),
 * checkpoints and vacuum, none of which blocks capture for more than a
 * moment.
 *
 * The capture thread is the only writer of its Delta tables and commits
 * about every second, chaining its commits (dl_commit_next).  One worker
 * thread per pipeline (sy_maint_start) takes its tables in turn:
 *
 *   worker thread                         capture thread
 *   ─────────────                         ──────────────
 *   snapshot, sy_maint_plan_make          ... commits (sy_maint_note_commit)
 *   sy_maint_compact: read the live rows  ... deletes rows of the sources
 *     of each bin, write one new file       (DV updates), inserts, ...
 *     per bin (not committed), record
 *     each output row's key
 *   sy_maint_refresh: catch up with the
 *     commits made meanwhile (latest
 *     snapshot: DVs of the sources)
 *   publish ───────────────────────────▶  sy_maint_poll (between commits)
 *                                         sy_maint_apply: its own OPTIMIZE
 *                                           commit chained after the last
 *                                           one: removes of the sources,
 *                                           adds of the outputs, rows deleted
 *                                           after the plan → a DV on the
 *                                           output; then the index hooks
 *                                         sy_maint_done
 *   checkpoints of noted versions
 *   vacuum with a retention period
 *
 * Mirror tables (capture_applies): the result is applied by the capture
 * thread (a concurrent OPTIMIZE commit would conflict with capture's DV
 * updates of the same files and fail the table, and capture's index must
 * follow the rows).  History tables (append-only, no DVs, no
 * index): the worker commits the compaction itself; capture's commits are
 * blind appends (no removes, no reads, their own txn appId) and an
 * OPTIMIZE (removes with dataChange=false, no txn) never conflicts with
 * them in either order: whichever loses the put race rebases (commit.c
 * "Conflict rules"); test_sync_maint `history_worker_commit_vs_chained_
 * appends` runs both orders.
 *
 * Invariants:
 *  1. An output file is referenced by the log only through sy_maint_apply
 *     (or the worker's history commit); until then it is a young
 *     unreferenced file, which vacuum keeps (retention ≥ 1 hour, far
 *     longer than the time between publish and apply); the worker never
 *     vacuums a table while it has a result outstanding.
 *  2. A row of a source is in the output iff it was live at plan time;
 *     rows deleted later are in the output's DV (apply), so the table's
 *     live rows are unchanged by the OPTIMIZE commit.
 *  3. A source removed meanwhile (TRUNCATE, all rows deleted, another
 *     writer) contributes no live row: its rows are deleted in the output;
 *     a bin whose sources are all gone is dropped (output file deleted).
 *  4. The index hooks run only after the OPTIMIZE commit is durable, for
 *     exactly the output rows still live.
 *
 * Vacuum safety: dl_vacuum deletes unreferenced files older than the
 * retention period, so every file capture wrote for a commit not yet
 * published (a Parquet file of an open commit, a big transaction being
 * written) must be younger than the retention period: it must exceed the
 * flush interval and the longest time a transaction's files stay
 * unpublished by a wide margin.  A retention shorter than 1 hour is
 * refused unless force_retention is set.
 *
 * Costs (test_sync_maint `bench`, 2 shared cores; rows of (long, short
 * string)): compacting 200 files / 1M rows takes 0.2–0.7 s in the worker;
 * applying it ~70–180 ms of Delta work plus ~1 µs (in memory) to 2.6 µs
 * (index spilling) per moved row for the index: 1–2.8 s for 1M rows,
 * hence max_rows_per_run (100 000 rows: 45–270 ms).  A checkpoint in the
 * capture thread costs ~50 ms at 5 000 files and ~180 ms at 20 000,
 * hence checkpoints in the worker.
 *
 * Not thread-safe except as described per function: sy_maint_note_commit,
 * sy_maint_poll, sy_maint_done, sy_maint_get_stats, sy_maint_disable_table
 * are called by the capture thread while the worker runs.
 */
#ifndef SY_MAINT_H
#define SY_MAINT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/error.h"
#include "delta/commit.h"
#include "delta/log.h"
#include "delta/maintenance.h"
#include "storage/storage.h"

#define SY_MAINT_MIN_RETENTION_MS (3600LL * 1000)

typedef struct sy_maint_options {
	/* compaction */
	bool compaction;            /* default true */
	int64_t target_size;        /* bytes of an output file (128 MiB) */
	int64_t small_file_size;    /* files smaller are candidates (32 MiB) */
	double max_deleted_ratio;   /* a file with at least this share of its
								 * rows in its DV is rewritten (0.25) */
	int min_files;              /* small files needed before compacting (8) */
	int64_t max_rows_per_run;   /* indexed tables: rows rewritten per result
								 * (100 000): sy_maint_apply moves the index
								 * entry of each one in the capture thread
								 * (0.3 µs a row in memory, ~2.6 µs while the
								 * index spills); files with more rows are
								 * not rewritten, files with half as many
								 * are not small; 0 = no limit */
	int64_t max_bytes_per_run;  /* source bytes per result (1 GiB) */
	int64_t compact_interval_ms;/* look for work this often (60 s) ... */
	int64_t compact_commits;    /* ... or after this many commits (100);
								 * at once again when the last plan was cut
								 * by the per-run limits */
	/* checkpoints */
	bool checkpoints;           /* default true: the worker checkpoints the
								 * versions noted with sy_maint_note_commit
								 * (capture then commits with
								 * auto_checkpoint = false) */
	int64_t checkpoint_interval;/* commits between checkpoints; 0 = table
								 * property delta.checkpointInterval, else 100 */
	/* vacuum */
	bool vacuum;                /* default true */
	int64_t vacuum_interval_ms; /* 6 hours (the first one a compaction
								 * interval after start) */
	int64_t retention_ms;       /* -1 = table property
								 * delta.deletedFileRetentionDuration (7
								 * days); a value set here overrides it */
	bool force_retention;       /* allow retention < 1 hour */
} sy_maint_options;

void sy_maint_options_init(sy_maint_options *o);

/* LK_ERR_INVALID for unusable values (sizes ≤ 0, ratio outside (0, 1],
 * retention below SY_MAINT_MIN_RETENTION_MS without force_retention). */
bool sy_maint_options_check(const sy_maint_options *o, lk_error *err);

/* ---- plan (pure) -------------------------------------------------------- */

typedef struct sy_maint_source {
	dl_add add;                 /* as in the snapshot (with its DV) */
	const char *path;           /* decoded store path */
	int64_t num_records;        /* physical rows (stats), -1 unknown */
	int64_t deleted;            /* rows in its DV (cardinality) */
} sy_maint_source;

typedef struct sy_maint_bin {
	sy_maint_source *src;       /* rewritten in this order */
	int nsrc;
	int64_t bytes;              /* sum of source sizes */
	int64_t live_rows;          /* estimate: num_records - deleted (-1: unknown) */
} sy_maint_bin;

typedef struct sy_maint_plan {
	lk_arena arena;             /* owns everything below */
	int64_t version;            /* snapshot version planned from */
	const char *schema_string;  /* the table schema at that version */
	sy_maint_bin *bins;
	int nbins;
	int64_t files, bytes;       /* sources, their bytes */
	bool more;                  /* bins left out by the per-run limits */
} sy_maint_plan;

/* Plan a compaction of snapshot s: candidates are files smaller than
 * small_file_size (and, when indexed, with fewer rows than
 * max_rows_per_run / 2) and files whose DV holds max_deleted_ratio of their
 * rows; per partition, oldest first (modificationTime, path), packed into
 * bins of at most target_size live bytes (and max_rows_per_run live rows
 * when indexed); a bin needs two files or one DV-heavy file.  Nothing is
 * planned (nbins 0) unless min_files small files or one DV-heavy file are
 * found.  Bins stop at max_bytes_per_run (and max_rows_per_run) in total.
 * Reads nothing but the snapshot.  Caller frees with sy_maint_plan_free(). */
bool sy_maint_plan_make(const dl_snapshot *s, const sy_maint_options *o,
						bool indexed, sy_maint_plan **out, lk_error *err);
void sy_maint_plan_free(sy_maint_plan *p);

/* ---- compaction (worker thread) ------------------------------------------ */

typedef struct sy_maint_result sy_maint_result;

/* Rewrite every bin of `plan` (made from snapshot s of the table in st):
 * the live rows of its sources (their DV at plan time skipped), in order,
 * into one new data file (dataChange=false), not committed.  With key
 * columns (logical column indexes of s's schema, not partition columns)
 * the canonical key of every output row is kept (sy_pkindex_key_from_row)
 * for the index hooks of sy_maint_apply.  Takes ownership of plan (also on
 * failure).  *cancel (may be NULL) set → stops early with LK_ERR_INVALID
 * "cancelled".  On failure the files written are deleted.  Caller frees
 * with sy_maint_result_free(). */
bool sy_maint_compact(st_store *st, const dl_snapshot *s, sy_maint_plan *plan,
					  const int *key_cols, int nkey_cols,
					  const atomic_bool *cancel, sy_maint_result **out,
					  lk_error *err);

/* Catch up with snapshot `latest` (of the same table, version ≥ the
 * result's): remember each source's current DV (loaded) so that apply
 * only loads DVs changed after this.  Bins whose sources are all gone are
 * dropped and their output deleted from st.  Worker thread. */
bool sy_maint_refresh(sy_maint_result *r, st_store *st, const dl_snapshot *latest,
					  lk_error *err);

typedef struct sy_maint_summary {
	int64_t plan_version;       /* snapshot planned from */
	int64_t known_version;      /* last refresh */
	int nbins, nlive_bins;      /* bins, bins not dropped */
	int64_t sources;            /* files to remove */
	int64_t outputs;            /* files written */
	int64_t rows;               /* rows written */
	int64_t bytes_in, bytes_out;
	int64_t key_bytes;          /* memory held for the keys */
	double worker_ms;           /* compaction time (sy_maint_compact) */
} sy_maint_summary;

void sy_maint_result_summary(const sy_maint_result *r, sy_maint_summary *out);

/* Output file of bin i (decoded store path), NULL when none or dropped. */
const char *sy_maint_result_output(const sy_maint_result *r, int bin);

/* Delete the output files not applied (st: the table's store). */
void sy_maint_result_discard(sy_maint_result *r, st_store *st);
/* Free memory only (files stay; see sy_maint_result_discard). */
void sy_maint_result_free(sy_maint_result *r);

/* ---- apply (capture thread) ------------------------------------------------ */

/* Paths are add paths as in the log (URI-encoded), like sy_pkindex's. */
typedef struct sy_maint_hooks {
	void *ctx;
	/* The current add of a file, NULL when it is no longer in the table.
	 * Optional: when NULL, apply reads the commits made after the result's
	 * last refresh from _delta_log (normally one or two small files). */
	const dl_add *(*current_file)(void *ctx, const char *path);
	/* After the commit, in this order: each output added (with its DV);
	 * each live output row (only when keys were recorded: key bytes, where
	 * the row was, where it is now); each source removed (as it was: path
	 * and DV).  A failure is returned by sy_maint_apply (the commit stands).
	 * row_moved: with unique keys (mirror) the key's entry is (src_path,
	 * src_row); an index where it may point elsewhere (a history table's
	 * latest-image index, duplicates under REPLICA IDENTITY FULL) moves the
	 * entry only when it still points at (src_path, src_row). */
	bool (*file_added)(void *ctx, const dl_add *add, lk_error *err);
	bool (*row_moved)(void *ctx, const void *key, size_t len, const char *src_path,
					  uint64_t src_row, const char *out_path, uint64_t out_row,
					  lk_error *err);
	bool (*file_removed)(void *ctx, const dl_add *removed, lk_error *err);
} sy_maint_hooks;

typedef struct sy_maint_applied {
	int64_t version;            /* the OPTIMIZE commit; -1 when none */
	int bins, bins_dropped;     /* bins committed, dropped */
	int64_t files_removed, files_added;
	int64_t rows_moved;         /* row_moved calls */
	int64_t rows_deleted_late;  /* deleted after the plan: in output DVs */
	int64_t dvs_loaded;         /* source DVs read (changed since refresh) */
	bool unknown;               /* the commit failed with an I/O error: the
								 * version may exist (treat like a failed
								 * capture commit: stop the table) */
	double ms;                  /* time spent in sy_maint_apply */
} sy_maint_applied;

/* Apply result r on top of the table as capture last committed it: `prev`
 * (its last commit) or, before its first commit, snapshot `snap` (exactly
 * one non-NULL).  Call at a commit boundary, when the table has no commit
 * being built and no pending change resolved against the index.  Builds
 * and runs one OPTIMIZE commit (co may be NULL) without txn: removes of
 * the sources still present, adds of the outputs with a DV of the rows
 * deleted after the plan (one DV file); sources gone count as all rows
 * deleted; bins with nothing live left, or needing a DV on a table
 * without deletion vectors, or a schema change since the plan, are dropped
 * (outputs deleted).  Then the hooks (may be NULL).  Cheap: no data file
 * is read; changed source DVs are.
 *
 * *out receives the published commit (caller owns it: it becomes the
 * chain's head, dl_commit_next from it) or NULL when nothing was
 * committed.  false with *out NULL: nothing was committed (the result is
 * dropped, outputs deleted), unless res->unknown (an I/O error in
 * dl_commit_run: the version may exist, outputs left to vacuum); false
 * with *out set: a hook failed after the commit (chain it, then treat the
 * index as broken).  r may be freed afterwards in every case. */
bool sy_maint_apply(sy_maint_result *r, const dl_commit *prev,
					const dl_snapshot *snap, const sy_maint_hooks *h,
					const dl_commit_options *co, dl_commit **out,
					sy_maint_applied *res, lk_error *err);

/* ---- vacuum ------------------------------------------------------------------ */

/* dl_vacuum with the options' retention (an explicit one overrides the
 * table property; below 1 hour only with force_retention); now_ms 0 = the
 * wall clock (tests pass a fake one). */
bool sy_maint_vacuum(st_store *st, const sy_maint_options *o, int64_t now_ms,
					 dl_vacuum_result *res, lk_error *err);

/* ---- the worker thread ------------------------------------------------------- */

typedef struct sy_maint sy_maint;

typedef struct sy_maint_table {
	const char *uri;            /* Delta table location (copied) */
	const char *name;           /* for messages (copied) */
	bool capture_applies;       /* results go to the capture thread
								 * (sy_maint_poll): mirror tables, and any
								 * table capture keeps an index of (a
								 * history table's TOAST index); false: the
								 * worker commits itself (history tables) */
	const int *key_cols;        /* logical indexes of the key columns, as */
	int nkey_cols;              /* given to sy_pkindex_key_from_row (copied);
								 * 0 = no row_moved hook */
} sy_maint_table;

typedef struct sy_maint_table_stats {
	int64_t compactions;        /* results published / history commits */
	int64_t files_compacted;    /* sources rewritten */
	int64_t checkpoints;
	int64_t checkpoint_version; /* last written by the worker, -1 */
	int64_t vacuums;
	int64_t files_vacuumed;
	int64_t errors;
	double worker_ms;           /* time spent on this table */
	bool busy;                  /* a result is outstanding */
	char last_error[256];       /* "" when none */
} sy_maint_table_stats;

/* Start the worker (options checked).  Caller stops with sy_maint_stop(). */
sy_maint *sy_maint_start(const sy_maint_options *o, lk_error *err);

/* Register a table; returns its id (≥ 0) or -1 with err.  Any thread. */
int sy_maint_add_table(sy_maint *m, const sy_maint_table *t, lk_error *err);

/* Capture committed `version` of table id (counts towards the compaction
 * trigger and the checkpoint interval).  Cheap; capture thread. */
void sy_maint_note_commit(sy_maint *m, int id, int64_t version);

/* A compaction result of table id ready to apply, or NULL.  The caller
 * applies it (sy_maint_apply) and then hands it back with sy_maint_done.
 * Cheap; capture thread. */
sy_maint_result *sy_maint_poll(sy_maint *m, int id);

/* Hand a polled result back (applied or not: outputs of bins not applied
 * are deleted) and free it; the table may be planned again. */
void sy_maint_done(sy_maint *m, sy_maint_result *r);

/* The worker stops touching table id (e.g. the table failed); a result in
 * progress is discarded. */
void sy_maint_disable_table(sy_maint *m, int id);

void sy_maint_get_stats(sy_maint *m, int id, sy_maint_table_stats *st);

/* Stop the worker (interrupting a compaction at the next batch) and free
 * everything; results published but not polled are discarded.  Results
 * polled must have been handed back first. */
void sy_maint_stop(sy_maint *m);

#endif
