/*
 * copyout.h — the initial snapshot of a table, read with COPY TO STDOUT
 * (DESIGN §3 "Initial snapshot"), prefix `pgcopy_`.
 *
 * On a normal (non-replication) connection:
 *
 *   pgcopy_begin_snapshot(c, slot.snapshot_name)   BEGIN ISOLATION LEVEL
 *                          REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT
 *   pgcopy_table_blocks(c, t, &blocks)             heap size in blocks
 *   pgcopy_split(blocks, parts, ranges)            ctid block ranges
 *   pgcopy_build_query(c, &sql, t, cols, range)    COPY (SELECT ... FROM ONLY t
 *                          WHERE ctid >= '(a,0)' AND ctid < '(b,0)') TO STDOUT
 *   pgcopy_run(c, sql, ncols, row_fn, arg)         rows → callback
 *   pgcopy_end(c)                                  COMMIT
 *
 * Several connections can import the same exported snapshot and copy
 * different block ranges in parallel; each sees exactly the rows of the
 * slot's consistent point.  PostgreSQL 14+ runs the ctid range predicate
 * as a TID Range Scan (only the blocks of the range are read).  A block
 * range must be read by one connection; the last range is open-ended so
 * rows are never missed if the relation grew after it was measured.
 *
 * FROM ONLY: a partitioned table holds no rows itself; copy its leaf
 * partitions one by one.
 */
#ifndef LK_PG_COPYOUT_H
#define LK_PG_COPYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "pg/conn.h"

/* One decoded field of a row.  ptr points into the row buffer (not a copy),
 * is NUL-terminated there, and is valid until the callback returns. */
typedef struct pgcopy_field {
	const char *ptr;         /* "" (len 0) for NULL */
	size_t len;
	bool is_null;
} pgcopy_field;

/* Decode one COPY text-format row in place: fields separated by tabs,
 * an optional trailing newline, \N (the whole field) for NULL, and the
 * escapes \b \f \n \r \t \v \\, \<1-3 octal digits>, \x<1-2 hex digits>,
 * \<any other char> = that char.  row must have one writable byte after
 * len (PQgetCopyData() provides it): each field is NUL-terminated in
 * place.  Fails (LK_ERR_CORRUPT, `where` = column number) when the row
 * does not have exactly nfields fields, ends in a lone backslash, or
 * decodes to a NUL byte.  Pure; no allocation. */
bool pgcopy_parse_row(char *row, size_t len, pgcopy_field *fields, int nfields,
					  lk_error *err);

/* Called for each row; return false (with err filled) to stop the COPY. */
typedef bool (*pgcopy_row_fn)(void *arg, const pgcopy_field *fields,
							  int nfields, lk_error *err);

/* BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION
 * SNAPSHOT 'snapshot'.  The exporting replication connection must still be
 * open and idle (see pgr_create_slot).  On failure the transaction is
 * rolled back. */
bool pgcopy_begin_snapshot(pgc_conn *c, const char *snapshot, lk_error *err);

/* COMMIT the snapshot transaction (ROLLBACK after a failed COPY is done by
 * pgcopy_end too: COMMIT of an aborted transaction rolls it back). */
bool pgcopy_end(pgc_conn *c, lk_error *err);

/* Number of heap blocks: pg_relation_size / block_size (0 for an empty or
 * partitioned table).  LK_ERR_NOT_FOUND for a missing table. */
bool pgcopy_table_blocks(pgc_conn *c, const pgc_table_name *t, uint64_t *blocks,
						 lk_error *err);

typedef struct pgcopy_range {
	uint64_t first_block;    /* inclusive */
	uint64_t end_block;      /* exclusive; 0 = no upper bound */
} pgcopy_range;

/* Split [0, blocks) into at most `parts` ranges of (nearly) equal size, at
 * least one; the last range is open-ended.  ranges must hold `parts`
 * entries.  Returns the number of ranges.  Pure. */
int pgcopy_split(uint64_t blocks, int parts, pgcopy_range *ranges);

/* Append to out:
 *   COPY (SELECT "c1", "c2" FROM ONLY "s"."t" WHERE ctid >= '(a,0)'::tid
 *         AND ctid < '(b,0)'::tid) TO STDOUT
 * ncols 0 selects `*`; a NULL range (or {0, 0}) selects every row. */
bool pgcopy_build_query(pgc_conn *c, lk_buf *out, const pgc_table_name *t,
						const char *const *cols, int ncols,
						const pgcopy_range *range, lk_error *err);

/* Run a COPY ... TO STDOUT (text format) statement and hand each row of
 * nfields fields to fn.  *nrows (may be NULL) counts rows delivered.  When
 * fn fails the statement is cancelled, fn's error is returned, and the
 * transaction is left aborted (pgcopy_end() then rolls it back). */
bool pgcopy_run(pgc_conn *c, const char *copy_sql, int nfields,
				pgcopy_row_fn fn, void *arg, uint64_t *nrows, lk_error *err);

#endif
