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
 *
 * Two formats: text (the default; fields parsed by pgcopy_parse_row) and
 * binary (WITH (FORMAT binary): each field is its type's send-function
 * bytes, parsed by pgcopy_parse_binary_tuple; see copyout.c for the
 * layout).  A column may be selected as its text output in either format
 * (pgcopy_query_opts.as_text): in binary it then arrives as the bytes of
 * its type's output function, without the text format's escapes.
 */
#ifndef LK_PG_COPYOUT_H
#define LK_PG_COPYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "pg/conn.h"

/* One decoded field of a row.  ptr points into the row buffer (not a copy)
 * and is valid until the callback returns; in the text format it is
 * NUL-terminated there, in the binary format it is not (len bytes of the
 * type's binary form). */
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

/* Binary COPY stream (see copyout.c).  The header: the 11-byte signature,
 * flags (must be 0: no OIDs, no unknown critical flag) and the header
 * extension, skipped.  *used = its length.  LK_ERR_CORRUPT otherwise.
 * Pure. */
bool pgcopy_parse_binary_header(const uint8_t *p, size_t len, size_t *used,
								lk_error *err);

/* One tuple at p[0..len): int16 field count (-1: the trailer), then per
 * field int32 length (-1: NULL) and the bytes.  Returns 1 for a row
 * (fields[0..nfields) point into p; a NULL field has ptr "" and len 0),
 * 0 for the trailer, -1 on error (LK_ERR_CORRUPT, `where` = column number
 * when a field is at fault): a count other than nfields, a negative length
 * other than -1, or a tuple longer than len.  *used = bytes consumed.
 * Pure; no allocation. */
int pgcopy_parse_binary_tuple(const uint8_t *p, size_t len, size_t *used,
							  pgcopy_field *fields, int nfields, lk_error *err);

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

typedef enum pgcopy_format {
	PGCOPY_TEXT = 0,
	PGCOPY_BINARY,
} pgcopy_format;

typedef struct pgcopy_query_opts {
	pgcopy_format format;
	const bool *as_text;     /* per column: select its text output (NULL: none) */
} pgcopy_query_opts;

/* Append to out:
 *   COPY (SELECT "c1", "c2" FROM ONLY "s"."t" WHERE ctid >= '(a,0)'::tid
 *         AND ctid < '(b,0)'::tid) TO STDOUT
 * ncols 0 selects `*`; a NULL range (or {0, 0}) selects every row. */
bool pgcopy_build_query(pgc_conn *c, lk_buf *out, const pgc_table_name *t,
						const char *const *cols, int ncols,
						const pgcopy_range *range, lk_error *err);
/* The same with options (NULL: text format, plain columns).  A column
 * marked as_text is selected as
 *   CASE WHEN pg_catalog.num_nulls("c") = 0
 *        THEN pg_catalog.format('%s', "c") END AS "c"
 * which is exactly its type's output function, or NULL (unlike "c"::text,
 * which uses a cast function where pg_cast has one: inet, bool, "char",
 * bpchar, …; and unlike "c" IS NULL, true for a row of nulls).  The
 * binary format adds " WITH (FORMAT binary)". */
bool pgcopy_build_query_opts(pgc_conn *c, lk_buf *out, const pgc_table_name *t,
							 const char *const *cols, int ncols,
							 const pgcopy_range *range,
							 const pgcopy_query_opts *o, lk_error *err);

/* Run a COPY ... TO STDOUT (text format) statement and hand each row of
 * nfields fields to fn.  *nrows (may be NULL) counts rows delivered.  When
 * fn fails the statement is cancelled, fn's error is returned, and the
 * transaction is left aborted (pgcopy_end() then rolls it back). */
bool pgcopy_run(pgc_conn *c, const char *copy_sql, int nfields,
				pgcopy_row_fn fn, void *arg, uint64_t *nrows, lk_error *err);
/* The same for a statement in the given format (binary: the header, then
 * tuples; any number of them per CopyData message, none split across
 * messages, as the server sends them; the trailer must end the data). */
bool pgcopy_run_format(pgc_conn *c, const char *copy_sql, pgcopy_format format,
					   int nfields, pgcopy_row_fn fn, void *arg, uint64_t *nrows,
					   lk_error *err);

#endif
