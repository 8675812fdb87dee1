/*
 * status.h — what `lakesync status` reports, and the status file `lakesync
 * run` keeps (prefix `sy_status_` / `sy_run_status_`).
 *
 * Nothing here needs the capture engine to be running: every figure comes
 * from where the state really lives (DESIGN §3 "The Delta log is the
 * state"):
 *
 *   rows, version, last LSN  the Delta log of the table: sum of numRecords
 *                            of the active files (minus deletion-vector
 *                            cardinalities), the latest Delta version, and
 *                            txn{appId "lakesync/<pipeline>/<schema>.<table>"}
 *   slot                     pg_replication_slots of the source (active,
 *                            confirmed_flush_lsn, restart_lsn, wal_status,
 *                            retained WAL = current − restart_lsn)
 *   lag bytes                pg_current_wal_lsn() − durable point of the
 *                            table, where durable = max(txn version, slot
 *                            confirmed_flush_lsn): the slot's confirmed
 *                            position is durable in every table, and an
 *                            idle table is caught up at every boundary
 *   lag seconds              now − commit time of the latest Delta version
 *                            (grows on an idle table that is not behind:
 *                            read it with lag bytes)
 *   synced tables            lakesync.synced_tables in the target database
 *                            (version, updated_at) against the source
 *                            Delta table's latest version
 *   run state                the status file `lakesync run` rewrites every
 *                            second (pid, per pipeline: running / backoff
 *                            with the last error / stopped)
 *   table errors             <target>/_lakesync/<pipeline>/tables.json,
 *                            rewritten by the capture engine at start,
 *                            when a table stops on its own error and at
 *                            the end: such a table shows as error with
 *                            the message and the commit LSN the slot is
 *                            held at, while the rest of its pipeline runs
 *
 * State of a table (sy_status_table_state):
 *
 *   run alive, entry running    no txn version → snapshot, else streaming
 *   run alive, entry backoff    error (the run retries after a backoff)
 *   no run, slot active         (another `lakesync sync`) as when running
 *   no run, slot inactive       txn version → stopped, else not started
 *   Delta table unreadable      error
 */
#ifndef SY_STATUS_H
#define SY_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"
#include "storage/storage.h"
#include "sync/config.h"

/* ---- the run status file ------------------------------------------------------ */

typedef enum sy_run_state {
	SY_RUN_STARTING = 0,        /* not started yet */
	SY_RUN_RUNNING,             /* an attempt is running */
	SY_RUN_BACKOFF,             /* the last attempt failed; retry pending */
	SY_RUN_STOPPED,             /* finished (stop requested, or done) */
} sy_run_state;

const char *sy_run_state_name(sy_run_state s);

typedef struct sy_run_entry {
	char kind;                  /* 'p' pipeline, 's' synced table */
	char name[128];
	sy_run_state state;
	int restarts;               /* attempts that failed so far */
	int64_t since_ms;           /* wall clock ms when state was entered */
	int64_t retry_at_ms;        /* SY_RUN_BACKOFF: the next attempt */
	char last_error[1100];      /* of the last failed attempt ("" none) */
	int64_t rows;               /* pipeline: rows committed by finished
								 * attempts; synced: rows changed */
	int64_t version;            /* synced: version reached, -1 unknown */
} sy_run_entry;

typedef struct sy_run_status {
	int pid;
	bool running;               /* false once the run has exited */
	int64_t started_ms;
	int64_t updated_ms;         /* rewritten at least every second */
	sy_run_entry *entries;      /* malloc'd */
	int n;
} sy_run_status;

/* Write atomically (temporary file + rename). */
bool sy_run_status_write(const char *path, const sy_run_status *rs, lk_error *err);
/* Read; a missing file is LK_ERR_NOT_FOUND.  Free with
 * sy_run_status_free(). */
bool sy_run_status_read(const char *path, sy_run_status *rs, lk_error *err);
void sy_run_status_free(sy_run_status *rs);
/* The entry for kind/name, or NULL. */
const sy_run_entry *sy_run_status_find(const sy_run_status *rs, char kind,
									   const char *name);
/* The run that wrote rs is alive: it said it is running, its pid exists,
 * and it wrote the file less than 15 s before now_ms. */
bool sy_run_status_alive(const sy_run_status *rs, int64_t now_ms);

/* ---- the report ------------------------------------------------------------------ */

typedef struct sy_status_table {
	const char *name;           /* "schema.table" (catalog spelling) */
	const char *app_id;
	const char *location;
	const char *state;          /* snapshot | streaming | stopped | error |
								 * not started */
	bool delta_exists;
	int64_t delta_version;      /* -1: no Delta table yet */
	int64_t rows;               /* -1: unknown (a file without stats) */
	int64_t files;
	int64_t bytes;
	int64_t txn_version;        /* last LSN committed, -1 none */
	int64_t last_commit_ms;     /* commit time of delta_version, 0 unknown */
	int64_t lag_bytes;          /* -1 unknown */
	double lag_seconds;         /* -1 unknown */
	const char *error;          /* why it is in error, or NULL */
} sy_status_table;

typedef struct sy_status_slot {
	bool checked;               /* the source answered */
	bool exists;
	bool active;
	int active_pid;
	uint64_t confirmed_flush_lsn;
	uint64_t restart_lsn;
	uint64_t current_lsn;       /* pg_current_wal_lsn() */
	int64_t retained_bytes;     /* current − restart, -1 unknown */
	const char *wal_status;     /* reserved / extended / unreserved / lost */
} sy_status_slot;

typedef struct sy_status_pipeline {
	const char *name;
	const char *source;         /* redacted */
	const char *target;
	const char *slot_name;
	const sy_run_entry *run;    /* NULL: not in the status file */
	const char *source_error;   /* the source could not be reached / read */
	sy_status_slot slot;
	sy_status_table *tables;
	int ntables;
} sy_status_pipeline;

typedef struct sy_status_synced {
	const char *name;
	const char *source;         /* Delta table */
	const char *target;         /* redacted DSN */
	const char *table;
	const char *mode;
	const sy_run_entry *run;
	const char *state;          /* snapshot | streaming | stopped | error |
								 * not started */
	int64_t source_version;     /* latest Delta version, -1 unknown */
	int64_t synced_version;     /* in lakesync.synced_tables, -1 none */
	int64_t rows;               /* rows of the synced version, -1 unknown */
	int64_t lag_versions;       /* -1 unknown */
	double lag_seconds;         /* now − commit time of the oldest version
								 * not yet applied (0 when caught up), -1 */
	int64_t updated_ms;         /* last apply, 0 unknown */
	const char *error;
} sy_status_synced;

typedef struct sy_status_report {
	lk_arena arena;             /* owns everything below */
	int64_t now_ms;
	const char *config_path;
	const char *status_file;
	bool run_found;
	bool run_alive;
	sy_run_status run;
	sy_status_pipeline *pipelines;
	int npipelines;
	sy_status_synced *synced;
	int nsynced;
} sy_status_report;

/* Collect the status of every pipeline and synced table of cf.  Problems
 * reaching a source or reading a table are reported inside the report
 * (source_error, error), not as a failure; false only for a bug or when
 * the status file is corrupt.  Caller frees with sy_status_free(). */
bool sy_status_collect(const sy_config_file *cf, sy_status_report **out,
					   lk_error *err);
void sy_status_free(sy_status_report *r);

/* Append the report as text (aligned columns) or as one JSON object. */
void sy_status_format_text(const sy_status_report *r, lk_buf *out);
void sy_status_format_json(const sy_status_report *r, lk_buf *out);

/* The table-state rule at the top.  Pure. */
const char *sy_status_table_state(bool run_alive, const sy_run_entry *run,
								  bool slot_active, int64_t txn_version,
								  bool delta_error);

/* Read one Delta table: its latest version, rows, files, bytes, commit
 * time, and the txn version of app_id (NULL: none) into t (location set
 * by the caller).  A missing table is not an error: delta_exists false.
 * Strings are copied into arena a. */
bool sy_status_read_delta(const char *location, const char *app_id,
						  sy_status_table *t, lk_arena *a, lk_error *err);

/* ---- following a table as it is written ---------------------------------------- */

/* Incremental reader of one Delta table's commits: each poll reads only
 * the commit files after the last one seen (N.json, in order) and notes
 * the version, the txn version of app_id and when the poll first saw the
 * version.  Cheap enough to call every few milliseconds (freshness
 * measurements of `lakesync demo` and bench/capture). */
typedef struct sy_delta_watch {
	st_store store;
	bool store_open;
	char *app_id;               /* owned */
	int64_t version;            /* last version seen, -1 none */
	int64_t txn_version;        /* of app_id, -1 none */
	int64_t seen_ms;            /* wall ms when `version` was first seen */
} sy_delta_watch;

/* Open a watch on the table at location (it need not exist yet). */
bool sy_delta_watch_open(sy_delta_watch *w, const char *location, const char *app_id,
						 lk_error *err);
/* Read the commits after w->version; *changed (may be NULL) tells
 * whether a new version was seen. */
bool sy_delta_watch_poll(sy_delta_watch *w, bool *changed, lk_error *err);
void sy_delta_watch_close(sy_delta_watch *w);

/* "1,234,567" into buf (≥ 32 bytes); returns buf. */
char *sy_status_group_digits(int64_t v, char *buf);

#endif
