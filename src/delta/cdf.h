/*
 * cdf.h — Change Data Feed: the row-level changes of a Delta table between
 * two versions (prefix `dl_`).
 *
 * For every commit v in [from, to] (PROTOCOL.md "Add CDC File", "Change
 * Data Files", "Deletion Vectors"):
 *
 *   commit has `cdc` actions?
 *     yes ─▶ its changes are the rows of those files, each with the
 *            `_change_type` the file stores (insert, update_preimage,
 *            update_postimage, delete); add/remove are not looked at
 *     no  ─▶ derived from add / remove with dataChange = true:
 *              remove(p, dv1) + add(p, dv2)   deletes of rows in dv2 \ dv1
 *                 (same path: a DV update)    (inserts of rows in dv1 \ dv2)
 *              add(p, dv) alone               inserts: rows of p minus dv
 *              remove(p, dv) alone            deletes: rows of p minus dv
 *            dataChange = false (optimize, DV purge, stats) changes nothing
 *
 * Output rows: the table's columns (schema of version `to`, partition
 * columns included) followed by
 *   _change_type       string   insert | update_preimage |
 *                               update_postimage | delete
 *   _commit_version    long
 *   _commit_timestamp  timestamp (micros, UTC): the commit's
 *                      inCommitTimestamp, else commitInfo.timestamp, else
 *                      the commit file's (monotonised) modification time
 * Rows come out version by version; within a commit in the order of its
 * actions (cdc files, or removes / adds as they appear), each file in row
 * order.
 *
 * Refused: from > to, from < 0, a version after the latest, a commit file of
 * the range that is missing (log cleaned up: LK_ERR_NOT_FOUND naming the
 * oldest available version), a table column named like a CDF column.
 *
 * Memory: one row group of one file at a time, plus the commit being
 * played and its deletion vectors.
 */
#ifndef DL_CDF_H
#define DL_CDF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/error.h"
#include "delta/actions.h"
#include "storage/storage.h"

/* ---- planning: one commit's actions → where its changes come from ------- */

typedef enum dl_change_kind {
	DL_CHANGE_CDC,        /* rows of a cdc file, with its _change_type */
	DL_CHANGE_INSERT,     /* rows of an added file minus new_dv */
	DL_CHANGE_DELETE,     /* rows of a removed file minus old_dv */
	DL_CHANGE_DV_UPDATE,  /* same file re-added: new_dv \ old_dv deleted,
						   * old_dv \ new_dv inserted */
} dl_change_kind;

typedef struct dl_change_source {
	dl_change_kind kind;
	const char *path;               /* as in the log (URI-encoded) */
	bool has_partition_values;      /* false: a remove without them */
	const dl_map *partition_values; /* points into the action */
	bool has_old_dv;                /* the remove's DV */
	dl_dv old_dv;
	bool has_new_dv;                /* the add's DV */
	dl_dv new_dv;
} dl_change_source;

/* Where the changes of one commit come from (see the diagram above).
 * Paths are paired by their decoded, canonical form (st may be NULL: then
 * decoded paths are compared as they are). *out in arena a (NULL when
 * *n == 0); it points into the actions, which must outlive it. */
bool dl_cdf_plan_commit(const dl_action *acts, size_t nacts, st_store *st,
						lk_arena *a, dl_change_source **out, size_t *n,
						lk_error *err);

/* ---- reading ------------------------------------------------------------ */

typedef struct dl_cdf dl_cdf;

/* Open the change feed of [from, to] (to = -1: the latest version). The
 * store must outlive the feed. Caller frees with dl_cdf_free(). */
bool dl_cdf_open(st_store *st, int64_t from, int64_t to, dl_cdf **out,
				 lk_error *err);
/* Schema of the batches (LK_T_STRUCT), owned by the feed. */
const lk_type *dl_cdf_schema(const dl_cdf *c);
/* The resolved range. */
int64_t dl_cdf_from(const dl_cdf *c);
int64_t dl_cdf_to(const dl_cdf *c);
/* Next non-empty batch of changes, or *out = NULL at the end. The batch
 * belongs to the feed and is valid until the next call. */
bool dl_cdf_next(dl_cdf *c, lk_batch **out, lk_error *err);
void dl_cdf_free(dl_cdf *c);

/* Code of a _change_type text: 0 insert, 1 update_preimage,
 * 2 update_postimage, 3 delete; -1 for anything else. */
int dl_change_type_code(const char *s, size_t n);
/* Text of a code 0..3 (static string). */
const char *dl_change_type_name(int code);

#endif
