/*
 * load.h — loading lk_batches into PostgreSQL with COPY FROM STDIN (text
 * format), prefix `pgl_`.  Delta → Postgres: the inverse of DESIGN §5.
 *
 *   Delta type            PostgreSQL type        COPY text of a value
 *   boolean               boolean                t | f
 *   byte, short           smallint               decimal digits
 *   integer               integer                (unsigned Parquet ints widen:
 *   long                  bigint                  u8→smallint, u16→integer,
 *                                                 u32→bigint, u64→numeric(20,0))
 *   float                 real                   shortest text that reads back
 *   double                double precision       to the same bits; NaN,
 *                                                 Infinity, -Infinity, -0
 *   decimal(p,s)          numeric(p,s)           exact, s digits after the point
 *   string                text                   the bytes (COPY-escaped)
 *   binary                bytea                  \x<hex> (fixed 16-byte UUID
 *                                                 annotation: uuid)
 *   date                  date                   YYYY-MM-DD[ BC]
 *   timestamp             timestamptz            YYYY-MM-DD HH:MM:SS[.ffffff]+00
 *   timestamp_ntz         timestamp              YYYY-MM-DD HH:MM:SS[.ffffff]
 *   time (Parquet only)   time                   HH:MM:SS[.ffffff]
 *   array<scalar>         scalar[]               {e1,"e 2",NULL}
 *   array<struct|map>     jsonb[]                {"{\"a\": 1}",NULL}
 *   array<array<…>>       jsonb                  [[1,2],[3]]
 *   struct, map           jsonb                  {"field": value, …}; map keys
 *                                                 as their text
 * Inside JSON: numbers as JSON numbers (NaN and ±Infinity as strings, as
 * PostgreSQL's to_json writes them), dates and timestamps as ISO strings
 * ("2021-01-02T03:04:05.000006+00:00"), binary as "\\x0102".
 *
 * A column's SQL type may be overridden (--column-type name=pgtype): the
 * DDL uses it and the value text stays the same (PostgreSQL parses it with
 * the chosen type's input function, e.g. string → uuid, struct → json).
 *
 * Values PostgreSQL cannot hold are errors naming the column: a NUL byte in
 * a string (text and jsonb refuse it), a nanosecond timestamp with a
 * sub-microsecond part.
 */
#ifndef LK_PG_LOAD_H
#define LK_PG_LOAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/types.h"
#include "pg/conn.h"

/* ---- types and DDL ------------------------------------------------------ */

/* The PostgreSQL type of a Delta type, as SQL text ("bigint",
 * "numeric(10,2)", "text[]", "jsonb"). Result in arena a. */
const char *pgl_sql_type(const lk_type *t, lk_arena *a);

/* A column of a target table. */
typedef struct pgl_column {
	const char *name;           /* PostgreSQL column name (Delta's logical
								 * name, case kept) */
	const lk_type *type;        /* Delta type of the values */
	const char *sql_type;       /* PostgreSQL type (pgl_sql_type or an
								 * override) */
	bool not_null;
} pgl_column;

/* "quoted" identifier (always quoted, '"' doubled) appended to b. */
void pgl_quote_ident(lk_buf *b, const char *s);
/* 'quoted' literal appended to b: E'…' with backslashes doubled when s has
 * one, '' for a quote. Independent of standard_conforming_strings. */
void pgl_quote_literal(lk_buf *b, const char *s);
/* "schema"."name" appended to b. */
void pgl_quote_qualified(lk_buf *b, const char *schema, const char *name);

/* CREATE [UNLOGGED ]TABLE "schema"."name" ("c1" type [NOT NULL], …)
 * appended to out.  Fails with LK_ERR_INVALID on a duplicate or empty
 * column name. */
bool pgl_create_table_sql(lk_buf *out, const char *schema, const char *name,
						  const pgl_column *cols, int ncols, bool unlogged,
						  lk_error *err);

/* ---- COPY text formatting ----------------------------------------------- */

/* Scratch space of the formatter (one per thread). */
typedef struct pgl_scratch {
	lk_buf text;                /* array / JSON text before COPY escaping */
	lk_buf elem;                /* one array element */
} pgl_scratch;

void pgl_scratch_init(pgl_scratch *s);
void pgl_scratch_free(pgl_scratch *s);

/* Rows [from, from+n) of b as COPY text lines (every column of b in
 * order, tab-separated, \N for null, '\n' after each row) appended to out.
 * On error out may hold a partial line; err names the column and row. */
bool pgl_format_rows(pgl_scratch *s, lk_buf *out, const lk_batch *b,
					 int64_t from, int64_t n, lk_error *err);

/* The PostgreSQL input text of value i of c (not null), unescaped, as a
 * literal would hold it: appended to out.  For tests and SQL literals. */
bool pgl_value_text(pgl_scratch *s, lk_buf *out, const lk_column *c,
					int64_t i, lk_error *err);

/* Shortest text that strtod / strtof read back to the same bits ("0.1",
 * "1e+300", "-0", "NaN", "Infinity", "-Infinity"); buf ≥ 32 bytes.
 * Returns the length. */
int pgl_format_double(double v, char *buf);
int pgl_format_float(float v, char *buf);

/* ---- COPY FROM STDIN ------------------------------------------------------ */

#define PGL_NBUF 8

typedef struct pgl_copy {
	pgc_conn *conn;             /* not owned */
	pgl_scratch scratch;
	lk_buf buf;                 /* sync: formatted rows not yet sent */
	size_t flush_bytes;         /* send at this size (1 MiB; async 256 KiB) */
	int64_t rows;               /* rows formatted so far */
	bool active;
	/* async: a sender thread and PGL_NBUF circulating buffers (load.c) */
	bool async;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	lk_buf bufs[PGL_NBUF];
	int cur;                    /* buffer being formatted into */
	int queue[PGL_NBUF];        /* full buffers, in order */
	int qhead, nqueued;
	unsigned free_mask;
	bool closing;
	bool send_failed;
	lk_error send_err;
} pgl_copy;

/* Start `copy_sql` ("COPY t (cols) FROM STDIN") on c.  With async, a
 * sender thread writes the formatted chunks to the connection while the
 * caller formats the next ones (the connection must not be used by anyone
 * else until pgl_copy_end/abort). */
bool pgl_copy_begin(pgl_copy *cp, pgc_conn *c, const char *copy_sql, bool async,
					lk_error *err);
/* Format and queue every row of b (sent in chunks of flush_bytes). */
bool pgl_copy_batch(pgl_copy *cp, const lk_batch *b, lk_error *err);
/* Queue already formatted COPY text. */
bool pgl_copy_put(pgl_copy *cp, const void *data, size_t n, lk_error *err);
/* Send what is left, end the COPY and read its result (the server's error,
 * if any, e.g. a duplicate key or bad UTF-8, names the line). *rows (may
 * be NULL) is the count the server reports. Releases the buffers and
 * stops the sender. */
bool pgl_copy_end(pgl_copy *cp, int64_t *rows, lk_error *err);
/* Abandon the COPY (PQputCopyEnd with an error message; queued chunks are
 * dropped) and release everything. Safe after pgl_copy_end and on a copy
 * that never began. */
void pgl_copy_abort(pgl_copy *cp, const char *why);

#endif
