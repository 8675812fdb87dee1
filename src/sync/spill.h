/*
 * spill.h — per-transaction spill store for streamed transactions
 * (pgoutput `streaming on`), prefix `sy_spill_`.
 *
 * A transaction larger than logical_decoding_work_mem arrives in chunks
 * (Stream Start … Stream Stop, many times, interleaved with other
 * transactions) and is only known to have committed at Stream Commit.
 * Its messages are kept here per top-level xid, in arrival order, each
 * tagged with the (sub)transaction xid that made it:
 *
 *   sy_spill_append(xid, subxid, msg)   buffer in memory; past the memory
 *                                       budget, append to <dir>/<xid>.spill
 *   sy_spill_abort(xid, subxid)         subxid == xid: drop the whole xid;
 *                                       else mark subxid aborted (its data
 *                                       messages are skipped at replay;
 *                                       Relation/Type messages are kept)
 *   sy_spill_replay(xid, fn)            every kept message in order, then
 *                                       the xid is dropped
 *
 * Record layout in memory and in the file (little-endian):
 *
 *   +-----------+-----------+--------------------+
 *   | u32 subxid| u32 len   | len bytes: message |  ... repeated
 *   +-----------+-----------+--------------------+
 *
 * The directory is private to one pipeline (a lock file guards it, see
 * capture.c); sy_spill_open() removes what a previous run left.  Nothing
 * here is durable: after a crash Postgres streams the transaction again.
 * Not thread-safe.
 */
#ifndef SY_SPILL_H
#define SY_SPILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Largest single message accepted (a pgoutput message holds one row). */
#define SY_SPILL_MAX_MSG (UINT32_C(1) << 30)

typedef struct sy_spill sy_spill;

/* Open the store in directory `dir` (created if missing; *.spill files in
 * it are removed).  mem_budget: bytes buffered in memory over all xids
 * before buffers go to files (0 = 8 MiB).  Caller frees with
 * sy_spill_close(). */
sy_spill *sy_spill_open(const char *dir, size_t mem_budget, lk_error *err);

/* Drop every transaction (files removed) and free the store (NULL ok). */
void sy_spill_close(sy_spill *s);

/* Append one message of (sub)transaction subxid to top-level xid. */
bool sy_spill_append(sy_spill *s, uint32_t xid, uint32_t subxid,
					 const uint8_t *msg, size_t len, lk_error *err);

/* Stream Abort: subxid == xid (or 0) drops the transaction; otherwise the
 * subtransaction's data messages are dropped. */
void sy_spill_abort(sy_spill *s, uint32_t xid, uint32_t subxid);

/* Called for each kept message in order; msg is valid during the call
 * only.  Return false (err filled) to stop. */
typedef bool (*sy_spill_fn)(void *arg, uint32_t subxid, const uint8_t *msg,
							size_t len, lk_error *err);

/* Replay transaction xid (nothing if unknown), then drop it (also on
 * failure). */
bool sy_spill_replay(sy_spill *s, uint32_t xid, sy_spill_fn fn, void *arg,
					 lk_error *err);

/* Drop every transaction (reconnect: Postgres sends them again). */
void sy_spill_clear(sy_spill *s);

/* Introspection (tests, progress). */
bool sy_spill_has(const sy_spill *s, uint32_t xid);
size_t sy_spill_count(const sy_spill *s);            /* open transactions */
uint64_t sy_spill_messages(const sy_spill *s, uint32_t xid);  /* appended */
uint64_t sy_spill_file_bytes(const sy_spill *s, uint32_t xid); /* on disk */
size_t sy_spill_mem_bytes(const sy_spill *s);        /* buffered, all xids */

#endif
