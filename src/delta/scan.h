/*
 * scan.h — read the rows of a Delta snapshot as lk_batches (prefix `dl_`).
 *
 * For every active file of the snapshot (in path order), every row group
 * becomes one batch with the table's logical schema (dl_snapshot.schema,
 * columns in schema order):
 *   data columns    read from the Parquet file by physical name (column
 *                   mapping `name`), by field id (`id`) or by logical name
 *                   (`none`, case-insensitive fallback); columns the file
 *                   does not have are null; widened types (int → long,
 *                   float → double, date → timestamp_ntz, decimal scale,
 *                   timestamp millis/nanos → micros) are converted
 *   partition cols  parsed from add.partitionValues (PROTOCOL.md "Partition
 *                   Value Serialization"; "" and null are null)
 *   deleted rows    rows in the file's deletion vector are dropped
 *
 * Lifetimes: the snapshot (and its store) must outlive the scan; a batch
 * returned by dl_scan_next() belongs to the scan and is valid until the
 * next call.
 */
#ifndef DL_SCAN_H
#define DL_SCAN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/batch.h"
#include "common/error.h"
#include "delta/log.h"

typedef struct dl_scan dl_scan;

/* Fails with LK_ERR_CORRUPT when the snapshot has no schema. Caller frees
 * with dl_scan_free(). */
bool dl_scan_open(const dl_snapshot *s, dl_scan **out, lk_error *err);
/* Next non-empty batch, or *out = NULL at the end. */
bool dl_scan_next(dl_scan *sc, lk_batch **out, lk_error *err);
void dl_scan_free(dl_scan *sc);

/* Parse one partition value (Delta's string form) and append it to c
 * (type = the column's table type). NULL or "" appends a null. */
bool dl_partition_value_append(lk_column *c, const char *value, lk_error *err);

#endif
