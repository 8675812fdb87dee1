/*
 * checkpoint.h — read Delta checkpoint and sidecar files into actions
 * (prefix `dl_`).
 *
 * A Parquet checkpoint has one top-level struct column per action type
 * (add, remove, metaData, protocol, txn, domainMetadata,
 * checkpointMetadata, sidecar; commitInfo is ignored) and one action per
 * row: the one non-null column.  JSON checkpoints (v2, UUID-named) are
 * newline-delimited actions like a commit.
 *
 * Actions are delivered one at a time to a callback; their strings live in
 * the arena given, the dl_action itself only for the duration of the call.
 */
#ifndef DL_CHECKPOINT_H
#define DL_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/error.h"
#include "delta/actions.h"
#include "storage/storage.h"

typedef bool (*dl_action_fn)(void *ctx, const dl_action *a, lk_error *err);

/* Read a Parquet checkpoint (or sidecar) at store path `path`. Only the
 * action columns present in the file are decoded. */
bool dl_checkpoint_read_parquet(st_store *st, const char *path, lk_arena *a,
								dl_action_fn fn, void *ctx, lk_error *err);

/* Takes ownership of buf (released with free()). */
typedef void (*dl_keep_fn)(void *ctx, void *buf);

/* Same, but the path and stats strings of add and remove actions are not
 * copied into a: they point into the decoded column buffers, which are
 * NUL-terminated in place and handed to keep(ctx, buf) (also when the read
 * fails later). The strings stay valid until the caller frees those
 * buffers. */
bool dl_checkpoint_read_parquet_keep(st_store *st, const char *path, lk_arena *a,
									 dl_keep_fn keep, dl_action_fn fn, void *ctx,
									 lk_error *err);

/* Read a JSON checkpoint at `path` (at most max_bytes). */
bool dl_checkpoint_read_json(st_store *st, const char *path, uint64_t max_bytes,
							 lk_arena *a, dl_action_fn fn, void *ctx,
							 lk_error *err);

#endif
