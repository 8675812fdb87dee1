/*
 * log.h — the Delta transaction log: listing, checkpoints, log replay into
 * a snapshot, protocol validation, time travel (prefix `dl_`).
 *
 * Snapshot construction (dl_snapshot_open):
 *
 *   _last_checkpoint ──(valid?)──▶ list _delta_log from its version
 *          │ absent / corrupt / unusable          │
 *          └──────────▶ list all of _delta_log ◀───┘ (fallback)
 *   pick the newest complete checkpoint ≤ target version
 *     classic  N.checkpoint.parquet
 *     multi    N.checkpoint.P.T.parquet (all T parts present)
 *     v2       N.checkpoint.<uuid>.json|parquet (+ sidecars in _sidecars/)
 *   check commit files N+1 .. target are all present (gap → corrupt)
 *   replay checkpoint then commits in version order (PROTOCOL.md "Action
 *   Reconciliation"): latest protocol / metaData win; logical files keyed
 *   by (canonical path, DV unique id); txn latest per appId;
 *   domainMetadata latest per domain, removed=true deletes
 *   validate: protocol and metaData present; reader version/features
 *   supported; schema parses
 *
 * Everything a snapshot returns lives in the snapshot's arena, or in
 * buffers the snapshot owns (the files array; the path and stats strings
 * of a Parquet checkpoint's adds and removes point into the decoded column
 * data, taken over instead of copied), and is freed by dl_snapshot_free().
 */
#ifndef DL_LOG_H
#define DL_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/error.h"
#include "delta/actions.h"
#include "delta/schema.h"
#include "storage/storage.h"

/* ---- _delta_log file names ---------------------------------------------- */

typedef enum dl_log_kind {
	DL_LOG_OTHER = 0,
	DL_LOG_COMMIT,              /* N.json */
	DL_LOG_CHECKPOINT,          /* N.checkpoint.parquet (classic) */
	DL_LOG_CHECKPOINT_PART,     /* N.checkpoint.P.T.parquet (multi-part) */
	DL_LOG_CHECKPOINT_V2,       /* N.checkpoint.<uuid>.json|parquet */
	DL_LOG_COMPACTION,          /* X.Y.compacted.json (ignored) */
	DL_LOG_CRC,                 /* N.crc */
} dl_log_kind;

typedef struct dl_log_file {
	dl_log_kind kind;
	int64_t version;            /* N (for compaction: X) */
	int32_t part, nparts;       /* multi-part: P of T */
	bool is_json;               /* v2 checkpoint in JSON */
	const char *name;           /* file name inside _delta_log */
	uint64_t size;
	int64_t mtime_ms;
} dl_log_file;

/* Classify a _delta_log file name (20-digit versions, 10-digit parts).
 * Returns false (kind OTHER) for anything else. */
bool dl_log_parse_name(const char *name, dl_log_file *out);

/* Every recognised file of _delta_log, sorted by name (so by version).
 * A missing _delta_log is LK_ERR_NOT_FOUND ("not a Delta table").
 * Result in arena a. */
bool dl_log_list(st_store *st, lk_arena *a, dl_log_file **out, size_t *n,
				 lk_error *err);

/* ---- protocol ------------------------------------------------------------ */

/* The reader table features this reader implements. */
bool dl_reader_feature_supported(const char *name);

/* Refuse a protocol this reader cannot read: invalid versions (< 1) are
 * LK_ERR_CORRUPT; reader version > 3, reader version 3 without
 * readerFeatures, or an unsupported reader feature are LK_ERR_UNSUPPORTED,
 * the message naming the version or feature. */
bool dl_protocol_check_read(const dl_protocol *p, lk_error *err);

/* ---- snapshot ------------------------------------------------------------ */

/* One logical file of the table. */
typedef struct dl_file {
	dl_add add;                 /* the winning add action (path URI-encoded) */
	const char *path;           /* decoded store path: relative to the root
								 * (also for absolute URIs inside it), else
								 * absolute ("/x" or "scheme://...") */
} dl_file;

typedef struct dl_snapshot {
	lk_arena arena;             /* owns everything below */
	st_store *store;            /* not owned */
	int64_t version;
	int64_t timestamp_ms;       /* commit time of `version`: in-commit
								 * timestamp when enabled, else file mtime */
	int64_t checkpoint_version; /* checkpoint the replay started from, -1 */
	dl_protocol protocol;
	dl_metadata metadata;
	bool has_schema;
	dl_schema schema;
	dl_column_mapping column_mapping;   /* effective mode */
	const char *commit_info;    /* JSON of `version`'s commitInfo, or NULL */

	dl_file *files;             /* active files, sorted by path */
	size_t nfiles;
	dl_remove *tombstones;      /* remove actions still in the state */
	size_t ntombstones;
	dl_txn *txns;               /* latest per appId, sorted by appId */
	size_t ntxns;
	dl_domain_metadata *domains;/* live domains (not removed), sorted */
	size_t ndomains;

	/* private: malloc'd buffers that files/tombstones point into, freed by
	 * dl_snapshot_free() (a copy of this struct as a "view" must not be
	 * freed) */
	void **owned;
	size_t nowned, capowned;
} dl_snapshot;

typedef struct dl_snapshot_options {
	int64_t version;            /* -1: latest */
	bool as_of_timestamp;       /* time travel: the version current at
								 * timestamp_ms (dl_log_version_at); version
								 * is then ignored */
	int64_t timestamp_ms;
	uint64_t max_json_bytes;    /* cap on one commit/checkpoint JSON file;
								 * 0 = 256 MiB */
	bool use_last_checkpoint;   /* default true: start listing at
								 * _last_checkpoint's version */
} dl_snapshot_options;

void dl_snapshot_options_init(dl_snapshot_options *o);

/* Build the snapshot of the table in `st` (the store stays owned by the
 * caller and must outlive the snapshot). opt may be NULL (latest).
 * Caller frees with dl_snapshot_free(). */
bool dl_snapshot_open(st_store *st, const dl_snapshot_options *opt,
					  dl_snapshot **out, lk_error *err);
void dl_snapshot_free(dl_snapshot *s);

/* Latest txn version for appId, or -1 when the table has none. */
int64_t dl_snapshot_txn_version(const dl_snapshot *s, const char *app_id);
/* Configuration value of the table (metaData.configuration), or NULL. */
const char *dl_snapshot_config(const dl_snapshot *s, const char *key);

/* ---- time travel --------------------------------------------------------- */

/* Commit timestamp of every version in [from, to] (inclusive), as readers
 * see them: in-commit timestamps where enabled (table property
 * delta.enableInCommitTimestamps, from
 * delta.inCommitTimestampEnablementVersion on, as configured at version
 * `to`), else file modification times adjusted to be strictly increasing
 * (a commit not later than its predecessor gets predecessor + 1 ms).
 * Needs the commit files of [from, to]. *ts in arena a, to - from + 1
 * entries. */
bool dl_log_commit_timestamps(st_store *st, int64_t from, int64_t to,
							  lk_arena *a, int64_t **ts, lk_error *err);

/* The version a reader sees at time ts_ms: the latest version whose
 * commit timestamp is ≤ ts_ms. Before the first available commit, or
 * after the latest one, is LK_ERR_NOT_FOUND naming the bounds. */
bool dl_log_version_at(st_store *st, int64_t ts_ms, int64_t *version,
					   lk_error *err);

#endif
