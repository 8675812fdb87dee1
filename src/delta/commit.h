/*
 * commit.h — atomic Delta commits with optimistic concurrency (prefix `dl_`).
 *
 * A dl_commit collects the actions of one transaction (adds, removes, txn,
 * metaData, ...) against the table state it read (a snapshot, or the
 * previous commit of the same writer), then dl_commit_run() publishes them
 * as `_delta_log/<20-digit version>.json` with put-if-absent.  A lost race
 * re-reads the winning commits, checks them for logical conflicts, and
 * retries at the next version (see the state machine in commit.c).
 *
 *   dl_commit *c = dl_commit_begin(st, snap, "WRITE");
 *   dl_commit_set_txn(c, "lakesync/p/s.t", lsn);
 *   dl_write_batch(c, batch, NULL, err);            (writer.h)
 *   if (!dl_commit_run(c, NULL, err)) ...           err->code CONFLICT: lost
 *   int64_t v = dl_commit_version(c);
 *   dl_commit *next = dl_commit_next(c, "WRITE");   chained, no re-read
 *   dl_commit_free(c);
 *
 * Ownership: a commit owns an arena; every action added is deep-copied into
 * it, so callers may free their own copies at once.  Everything returned by
 * the accessors lives in that arena until dl_commit_free().
 */
#ifndef DL_COMMIT_H
#define DL_COMMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/error.h"
#include "delta/actions.h"
#include "delta/log.h"
#include "delta/schema.h"
#include "storage/storage.h"

#define DL_ENGINE_INFO "lakesync/0.1.0"

typedef struct dl_commit dl_commit;

/* Flags of an action added with dl_commit_add_action_flags. */
#define DL_CF_NEW_DATA 0x1      /* add of a data file this commit wrote with
								 * new rows (CDF: inserts unless covered) */
#define DL_CF_CDC_COVERED 0x2   /* its changes are already in cdc files */

typedef struct dl_commit_options {
	int max_attempts;           /* put-if-absent attempts; default 1000 */
	bool auto_checkpoint;       /* default true: checkpoint when the new
								 * version is a multiple of the interval */
	int64_t checkpoint_interval;/* 0: table property delta.checkpointInterval,
								 * else 100 */
} dl_commit_options;

void dl_commit_options_init(dl_commit_options *o);

/* Start a transaction that read `snap` (the snapshot must be of the table in
 * `st`; it may be freed after this call: what the commit needs is copied).
 * `operation` names it in commitInfo ("WRITE", "DELETE", "OPTIMIZE", ...).
 * Caller frees with dl_commit_free(). */
dl_commit *dl_commit_begin(st_store *st, const dl_snapshot *snap,
						   const char *operation);

/* Start the transaction that creates a table (version 0): the caller adds
 * its protocol and metaData actions (dl_commit_add_action). */
dl_commit *dl_commit_begin_create(st_store *st, const char *operation);

/* Start a transaction that read the table as committed by `prev` (which
 * must have committed): same table state, read version = prev's version.
 * Cheap: no log read. Caller frees with dl_commit_free(). */
dl_commit *dl_commit_next(const dl_commit *prev, const char *operation);

void dl_commit_free(dl_commit *c);

/* Add an action (deep-copied). protocol/metaData actions change the table
 * state seen by the rest of this commit. commitInfo actions are refused
 * (the commit writes its own). Fails with LK_ERR_INVALID on a second
 * protocol/metaData, a missing path, or a data change on an append-only
 * table. */
bool dl_commit_add_action(dl_commit *c, const dl_action *a, lk_error *err);
bool dl_commit_add_action_flags(dl_commit *c, const dl_action *a, unsigned flags,
								lk_error *err);

/* Exactly-once marker txn {appId, version, lastUpdated: now}. At most one
 * per appId per commit. */
bool dl_commit_set_txn(dl_commit *c, const char *app_id, int64_t version,
					   lk_error *err);

/* operationParameters[key] = value (JSON text: "\"Append\"", "[]", "3").
 * Invalid JSON is stored as a JSON string. */
void dl_commit_set_param(dl_commit *c, const char *key, const char *json_value);

/* The transaction's removes/deletes depend on the rows it read (DELETE,
 * UPDATE, MERGE): a concurrent non-blind append then conflicts
 * (WriteSerializable), and so does any concurrent data-changing remove.
 * Default false (blind appends, OPTIMIZE). */
void dl_commit_set_reads_data(dl_commit *c, bool reads);

/* Use ts (ms since the epoch) as the commit's wall-clock time (commitInfo
 * timestamp and, if enabled, in-commit timestamp lower bound). */
void dl_commit_set_clock(dl_commit *c, int64_t ts_ms);

/* Hooks run once by dl_commit_run before the first attempt (to materialise
 * deferred work: deletion vectors, CDC files), in registration order; the
 * free hook runs from dl_commit_free. */
typedef bool (*dl_commit_prepare_fn)(dl_commit *c, void *ctx, lk_error *err);
typedef void (*dl_commit_free_fn)(void *ctx);
void dl_commit_on_prepare(dl_commit *c, dl_commit_prepare_fn fn, void *ctx);
void dl_commit_on_free(dl_commit *c, dl_commit_free_fn fn, void *ctx);

/* Publish the commit (opt may be NULL). On success dl_commit_version() is
 * the new version. Fails with LK_ERR_CONFLICT naming the versions when a
 * concurrent commit conflicts or max_attempts is exhausted; the commit is
 * then unusable (free it). An LK_ERR_IO after the file was linked leaves
 * the outcome unknown: resolve with the txn marker. */
bool dl_commit_run(dl_commit *c, const dl_commit_options *opt, lk_error *err);

/* ---- accessors (pointers into the commit's arena) ----------------------- */

st_store *dl_commit_store(const dl_commit *c);
lk_arena *dl_commit_arena(dl_commit *c);
int64_t dl_commit_read_version(const dl_commit *c);   /* -1 when creating */
int64_t dl_commit_version(const dl_commit *c);        /* -1 until committed */
int dl_commit_attempts(const dl_commit *c);           /* put attempts made */
const dl_protocol *dl_commit_protocol(const dl_commit *c);    /* NULL if none yet */
const dl_metadata *dl_commit_metadata(const dl_commit *c);    /* NULL if none yet */
/* Parsed table schema and column-mapping mode (NULL until a metaData, or
 * when the schema does not parse: dl_commit_check_schema says why). */
const dl_schema *dl_commit_schema(const dl_commit *c);
bool dl_commit_check_schema(dl_commit *c, lk_error *err);
dl_column_mapping dl_commit_column_mapping(const dl_commit *c);
/* Table property value (metaData.configuration) or NULL. */
const char *dl_commit_config(const dl_commit *c, const char *key);
bool dl_commit_config_true(const dl_commit *c, const char *key);
/* Actions added so far (in the order they will be written after sorting:
 * see commit.c); flags parallel. */
size_t dl_commit_nactions(const dl_commit *c);
const dl_action *dl_commit_action(const dl_commit *c, size_t i, unsigned *flags);
/* Index for file names: 0, 1, 2... per call. */
int dl_commit_next_file_index(dl_commit *c);
/* One pointer slot for writer.c's deferred work on this commit (pending
 * deletes); owned by whoever registers a free hook for it. */
void **dl_commit_ext(dl_commit *c);

/* ---- helpers ------------------------------------------------------------ */

/* Deep copy of an add into arena a: dst's strings, maps and deletion vector
 * path are copies owned by a (freed with it), nothing points into src. */
void dl_add_copy(lk_arena *a, dl_add *dst, const dl_add *src);

/* Random UUID v4, lower-case 36-char canonical form, into out[37]. */
void dl_uuid_v4(char out[37]);

/* Milliseconds since the epoch (wall clock). */
int64_t dl_now_ms(void);

/* Refuse to write a table this writer does not support: writer version > 7,
 * an unsupported writer feature (named), or legacy constraints it cannot
 * enforce (invariants, CHECK constraints, generated/identity columns).
 * LK_ERR_UNSUPPORTED. */
bool dl_protocol_check_write(const dl_protocol *p, const dl_metadata *m,
							 lk_error *err);

/* Parse a Delta interval property ("interval 1 week", "interval 7 days",
 * "168 hours") into milliseconds. */
bool dl_parse_interval_ms(const char *s, int64_t *ms);

#endif
