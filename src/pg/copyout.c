/*
 * copyout.c — snapshot COPY reader (see copyout.h).
 *
 * COPY TO STDOUT text format, one CopyData message per row
 * (PQgetCopyData returns it malloc'd with a NUL after the last byte):
 *
 *   field1 \t field2 \t ... fieldN \n
 *
 *   a field is  \N                    NULL (exactly these two bytes)
 *           or  bytes with escapes:   \b 08  \f 0C  \n 0A  \r 0D  \t 09  \v 0B
 *                                     \\ 5C  \ooo (1-3 octal digits)
 *                                     \xhh (1-2 hex digits; \x alone = 'x')
 *                                     \c = c for any other c
 *
 * The server escapes only backslash, tab, newline, carriage return and
 * \b \f \v; every other byte (UTF-8 included) comes raw.  Decoding is done
 * in place (a decoded field is never longer than its text) and each field
 * is NUL-terminated where its delimiter was: no allocation per field or
 * per row beyond libpq's own buffer.
 *
 * COPY TO STDOUT WITH (FORMAT binary), big-endian integers:
 *
 *   header   "PGCOPY\n\377\r\n\0"  int32 flags  int32 ext_len  ext_len bytes
 *            (flags bit 16: OIDs included: refused; bits 17-31 must be 0)
 *   tuple    int16 nfields, then per field:
 *              int32 len (-1 = NULL, no bytes follow)   len bytes
 *   trailer  int16 -1
 *
 * The server sends the header with the first tuple in one CopyData
 * message, then one message per tuple, and the trailer in a message of
 * its own; the reader accepts any number of whole tuples per message.
 * Field bytes are the type's send function output (see pgtypes.c).
 */
#include "pg/copyout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- row parsing -------------------------------------------------------- */

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static bool
field_count_error(lk_error *err, int got, int want)
{
	lk_error_set(err, LK_ERR_CORRUPT,
				 "copy row has %s fields than the %d expected",
				 got > want ? "more" : "fewer", want);
	return lk_error_where(err, "column %d", got > want ? want + 1 : got);
}

/* Rows without a backslash: split on tabs, nothing to decode. */
static bool
parse_plain(char *p, char *end, pgcopy_field *fields, int nfields, lk_error *err)
{
	int nf = 0;
	for (;;) {
		char *tab = memchr(p, '\t', (size_t) (end - p));
		char *fend = tab ? tab : end;
		if (nf >= nfields)
			return field_count_error(err, nf + 1, nfields);
		fields[nf].ptr = p;
		fields[nf].len = (size_t) (fend - p);
		fields[nf].is_null = false;
		*fend = '\0';
		nf++;
		if (!tab)
			break;
		p = tab + 1;
	}
	if (nf != nfields)
		return field_count_error(err, nf, nfields);
	return true;
}

bool
pgcopy_parse_row(char *row, size_t len, pgcopy_field *fields, int nfields,
				 lk_error *err)
{
	char *p = row, *end = row + len;

	if (len > 0 && end[-1] == '\n')
		end--;
	if (nfields == 0) {
		if (end != row)
			return field_count_error(err, 1, 0);
		return true;
	}
	if (!memchr(row, '\\', (size_t) (end - row)))
		return parse_plain(p, end, fields, nfields, err);

	int nf = 0;
	for (;;) {
		char *start = p, *out = p;
		/* NULL is the raw text \N, before any decoding */
		bool null = end - p >= 2 && p[0] == '\\' && p[1] == 'N' &&
					(end - p == 2 || p[2] == '\t');
		if (null)
			p += 2;
		while (p < end && *p != '\t') {
			if (*p != '\\') {
				*out++ = *p++;
				continue;
			}
			if (++p == end) {
				lk_error_set(err, LK_ERR_CORRUPT,
							 "copy row ends in a lone backslash");
				return lk_error_where(err, "column %d", nf + 1);
			}
			char ch = *p++;
			int v;
			switch (ch) {
			case 'b': v = '\b'; break;
			case 'f': v = '\f'; break;
			case 'n': v = '\n'; break;
			case 'r': v = '\r'; break;
			case 't': v = '\t'; break;
			case 'v': v = '\v'; break;
			case '0': case '1': case '2': case '3':
			case '4': case '5': case '6': case '7':
				v = ch - '0';
				if (p < end && *p >= '0' && *p <= '7') {
					v = v * 8 + (*p++ - '0');
					if (p < end && *p >= '0' && *p <= '7')
						v = v * 8 + (*p++ - '0');
				}
				v &= 0xff;
				break;
			case 'x':
				if (p < end && hexval(*p) >= 0) {
					v = hexval(*p++);
					if (p < end && hexval(*p) >= 0)
						v = v * 16 + hexval(*p++);
				} else {
					v = 'x';
				}
				break;
			default:
				v = (unsigned char) ch;
				break;
			}
			if (v == 0) {
				lk_error_set(err, LK_ERR_CORRUPT,
							 "copy field decodes to a NUL byte");
				return lk_error_where(err, "column %d", nf + 1);
			}
			*out++ = (char) v;
		}
		if (nf >= nfields)
			return field_count_error(err, nf + 1, nfields);
		bool more = p < end;
		fields[nf].ptr = start;
		fields[nf].len = null ? 0 : (size_t) (out - start);
		fields[nf].is_null = null;
		if (null)
			*start = '\0';
		else
			*out = '\0';     /* out <= p: the delimiter (already noted) or end */
		nf++;
		if (!more)
			break;
		p++;
	}
	if (nf != nfields)
		return field_count_error(err, nf, nfields);
	return true;
}

/* ---- binary format ------------------------------------------------------ */

static const uint8_t binary_signature[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n',
											 0xff, '\r', '\n', 0};

static inline uint32_t
get_u32be(const uint8_t *p)
{
	return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

bool
pgcopy_parse_binary_header(const uint8_t *p, size_t len, size_t *used,
						   lk_error *err)
{
	*used = 0;
	if (len < 19 || memcmp(p, binary_signature, sizeof(binary_signature)) != 0) {
		lk_error_set(err, LK_ERR_CORRUPT, "binary copy data does not start with "
					 "the PGCOPY signature");
		return lk_error_where(err, "byte 0");
	}
	uint32_t flags = get_u32be(p + 11), ext = get_u32be(p + 15);
	if (flags != 0) {
		lk_error_set(err, LK_ERR_CORRUPT, "binary copy header has flags 0x%08x "
					 "(OIDs or an unknown critical flag)", (unsigned) flags);
		return lk_error_where(err, "byte 11");
	}
	if (ext > len - 19) {
		lk_error_set(err, LK_ERR_CORRUPT, "binary copy header extension of %u "
					 "bytes is longer than the data", (unsigned) ext);
		return lk_error_where(err, "byte 15");
	}
	*used = 19 + (size_t) ext;
	return true;
}

int
pgcopy_parse_binary_tuple(const uint8_t *p, size_t len, size_t *used,
						  pgcopy_field *fields, int nfields, lk_error *err)
{
	*used = 0;
	if (len < 2) {
		lk_error_set(err, LK_ERR_CORRUPT, "binary copy tuple is truncated");
		return -1;
	}
	int16_t nf = (int16_t) ((uint16_t) p[0] << 8 | p[1]);
	if (nf == -1) {
		*used = 2;
		return 0;
	}
	if (nf != nfields) {
		lk_error_set(err, LK_ERR_CORRUPT,
					 "binary copy tuple has %d fields, expected %d", (int) nf,
					 nfields);
		return -1;
	}
	size_t pos = 2;
	for (int i = 0; i < nfields; i++) {
		if (len - pos < 4) {
			lk_error_set(err, LK_ERR_CORRUPT, "binary copy tuple is truncated");
			lk_error_where(err, "column %d", i + 1);
			return -1;
		}
		int32_t n = (int32_t) get_u32be(p + pos);
		pos += 4;
		if (n == -1) {
			fields[i].ptr = "";
			fields[i].len = 0;
			fields[i].is_null = true;
			continue;
		}
		if (n < 0 || (size_t) n > len - pos) {
			lk_error_set(err, LK_ERR_CORRUPT, n < 0 ?
						 "binary copy field has a negative length" :
						 "binary copy field is longer than its tuple");
			lk_error_where(err, "column %d", i + 1);
			return -1;
		}
		fields[i].ptr = (const char *) p + pos;
		fields[i].len = (size_t) n;
		fields[i].is_null = false;
		pos += (size_t) n;
	}
	*used = pos;
	return 1;
}

/* ---- snapshot transaction --------------------------------------------- */

bool
pgcopy_begin_snapshot(pgc_conn *c, const char *snapshot, lk_error *err)
{
	lk_arena a;
	bool ok = false;

	if (!snapshot || !*snapshot)
		return lk_error_set(err, LK_ERR_INVALID, "no snapshot name to import");
	lk_arena_init(&a, 512);
	char *lit = pgc_quote_literal(c, &a, snapshot, err);
	if (lit &&
		pgc_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", err)) {
		ok = pgc_exec(c, lk_arena_sprintf(&a, "SET TRANSACTION SNAPSHOT %s", lit),
					  err);
		if (!ok) {
			lk_error_add_where(err, "snapshot \"%s\"", snapshot);
			lk_error tmp;
			pgc_exec(c, "ROLLBACK", &tmp);
		}
	}
	lk_arena_free(&a);
	return ok;
}

bool
pgcopy_end(pgc_conn *c, lk_error *err)
{
	return pgc_exec(c, "COMMIT", err);
}

bool
pgcopy_table_blocks(pgc_conn *c, const pgc_table_name *t, uint64_t *blocks,
					lk_error *err)
{
	lk_arena a;
	bool ok = false;

	*blocks = 0;
	lk_arena_init(&a, 1024);
	char *ns = pgc_quote_literal(c, &a, t->schema, err);
	char *rel = ns ? pgc_quote_literal(c, &a, t->name, err) : NULL;
	PGresult *r = rel ? pgc_query(
		c,
		lk_arena_sprintf(&a,
						 "SELECT pg_relation_size(c.oid) / "
						 "current_setting('block_size')::bigint "
						 "FROM pg_class c JOIN pg_namespace n "
						 "ON n.oid = c.relnamespace "
						 "WHERE n.nspname = %s AND c.relname = %s",
						 ns, rel),
		err) : NULL;
	if (r) {
		if (PQntuples(r) == 1) {
			*blocks = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
			ok = true;
		} else {
			lk_error_set(err, LK_ERR_NOT_FOUND, "table \"%s.%s\" does not exist",
						 t->schema, t->name);
		}
		PQclear(r);
	}
	lk_arena_free(&a);
	return ok;
}

int
pgcopy_split(uint64_t blocks, int parts, pgcopy_range *ranges)
{
	if (parts < 1)
		parts = 1;
	if ((uint64_t) parts > blocks)
		parts = blocks > 0 ? (int) blocks : 1;
	uint64_t size = blocks / (uint64_t) parts, extra = blocks % (uint64_t) parts;
	uint64_t at = 0;
	for (int i = 0; i < parts; i++) {
		uint64_t n = size + ((uint64_t) i < extra ? 1 : 0);
		ranges[i].first_block = at;
		at += n;
		ranges[i].end_block = i == parts - 1 ? 0 : at;
	}
	return parts;
}

#define PGCOPY_MAX_BLOCK UINT64_C(0xFFFFFFFF)

bool
pgcopy_build_query(pgc_conn *c, lk_buf *out, const pgc_table_name *t,
				   const char *const *cols, int ncols,
				   const pgcopy_range *range, lk_error *err)
{
	return pgcopy_build_query_opts(c, out, t, cols, ncols, range, NULL, err);
}

bool
pgcopy_build_query_opts(pgc_conn *c, lk_buf *out, const pgc_table_name *t,
						const char *const *cols, int ncols,
						const pgcopy_range *range, const pgcopy_query_opts *o,
						lk_error *err)
{
	lk_arena a;
	bool ok = false;

	lk_arena_init(&a, 2048);
	lk_buf_append_str(out, "COPY (SELECT ");
	if (ncols <= 0)
		lk_buf_append_byte(out, '*');
	for (int i = 0; i < ncols; i++) {
		char *q = pgc_quote_ident(c, &a, cols[i], err);
		if (!q)
			goto done;
		if (i)
			lk_buf_append_str(out, ", ");
		if (o && o->as_text && o->as_text[i])
			lk_buf_printf(out, "CASE WHEN pg_catalog.num_nulls(%s) = 0 THEN "
						  "pg_catalog.format('%%s', %s) END AS %s", q, q, q);
		else
			lk_buf_append_str(out, q);
	}
	char *ns = pgc_quote_ident(c, &a, t->schema, err);
	char *rel = ns ? pgc_quote_ident(c, &a, t->name, err) : NULL;
	if (!rel)
		goto done;
	lk_buf_printf(out, " FROM ONLY %s.%s", ns, rel);
	if (range && range->first_block > PGCOPY_MAX_BLOCK) {
		lk_error_set(err, LK_ERR_INVALID, "block number %llu out of range",
					 (unsigned long long) range->first_block);
		goto done;
	}
	if (range && range->end_block != 0 && range->end_block <= range->first_block) {
		lk_error_set(err, LK_ERR_INVALID, "empty block range [%llu, %llu)",
					 (unsigned long long) range->first_block,
					 (unsigned long long) range->end_block);
		goto done;
	}
	bool lower = range && range->first_block > 0;
	bool upper = range && range->end_block != 0 &&
				 range->end_block <= PGCOPY_MAX_BLOCK;
	if (lower)
		lk_buf_printf(out, " WHERE ctid >= '(%llu,0)'::tid",
					  (unsigned long long) range->first_block);
	if (upper)
		lk_buf_printf(out, " %s ctid < '(%llu,0)'::tid", lower ? "AND" : "WHERE",
					  (unsigned long long) range->end_block);
	lk_buf_append_str(out, ") TO STDOUT");
	if (o && o->format == PGCOPY_BINARY)
		lk_buf_append_str(out, " WITH (FORMAT binary)");
	lk_buf_cstr(out);
	ok = true;
done:
	lk_arena_free(&a);
	return ok;
}

/* ---- running the COPY --------------------------------------------------- */

/* After a failed callback: cancel the statement and drain the connection
 * so it can run ROLLBACK/COMMIT. */
static void
cancel_copy(pgc_conn *c)
{
	char errbuf[256];
	PGcancel *cn = PQgetCancel(c->pg);
	if (cn) {
		PQcancel(cn, errbuf, sizeof(errbuf));
		PQfreeCancel(cn);
	}
	for (;;) {
		char *buf = NULL;
		int n = PQgetCopyData(c->pg, &buf, 0);
		if (n > 0) {
			PQfreemem(buf);
			continue;
		}
		break;
	}
	PGresult *r;
	while ((r = PQgetResult(c->pg)) != NULL)
		PQclear(r);
}

bool
pgcopy_run(pgc_conn *c, const char *copy_sql, int nfields, pgcopy_row_fn fn,
		   void *arg, uint64_t *nrows, lk_error *err)
{
	return pgcopy_run_format(c, copy_sql, PGCOPY_TEXT, nfields, fn, arg, nrows, err);
}

/* The tuples of one binary CopyData message (the header first when
 * *header is false) → fn.  *trailer: the trailer was seen (nothing may
 * follow it). */
static bool
binary_message(const uint8_t *p, size_t len, bool *header, bool *trailer,
			   pgcopy_field *fields, int nfields, pgcopy_row_fn fn, void *arg,
			   uint64_t *rows, lk_error *err)
{
	size_t pos = 0, used;
	if (!*header) {
		if (!pgcopy_parse_binary_header(p, len, &used, err))
			return false;
		*header = true;
		pos = used;
	}
	while (pos < len) {
		if (*trailer) {
			lk_error_set(err, LK_ERR_CORRUPT, "binary copy data after the trailer");
			return false;
		}
		int r = pgcopy_parse_binary_tuple(p + pos, len - pos, &used, fields,
										  nfields, err);
		if (r < 0)
			return false;
		pos += used;
		if (r == 0) {
			*trailer = true;
			continue;
		}
		if (!fn(arg, fields, nfields, err))
			return false;
		(*rows)++;
	}
	return true;
}

bool
pgcopy_run_format(pgc_conn *c, const char *copy_sql, pgcopy_format format,
				  int nfields, pgcopy_row_fn fn, void *arg, uint64_t *nrows,
				  lk_error *err)
{
	bool header = false, trailer = false;
	uint64_t rows = 0;
	bool ok = true;

	if (nrows)
		*nrows = 0;
	if (nfields < 0)
		return lk_error_set(err, LK_ERR_INVALID, "negative field count");
	PGresult *r = PQexec(c->pg, copy_sql);
	if (!r || PQresultStatus(r) != PGRES_COPY_OUT) {
		if (r && (PQresultStatus(r) == PGRES_COMMAND_OK ||
				  PQresultStatus(r) == PGRES_TUPLES_OK))
			lk_error_set(err, LK_ERR_INVALID, "statement is not a COPY TO STDOUT");
		else
			pgc_error_from_result(c, r, "could not start copy", err);
		PQclear(r);
		return false;
	}
	PQclear(r);

	pgcopy_field *fields = lk_xmalloc(sizeof(pgcopy_field) *
									  (size_t) (nfields > 0 ? nfields : 1));
	for (;;) {
		char *buf = NULL;
		int n = PQgetCopyData(c->pg, &buf, 0);
		if (n > 0) {
			bool row_ok;
			uint64_t before = rows;
			if (format == PGCOPY_BINARY) {
				row_ok = binary_message((const uint8_t *) buf, (size_t) n, &header,
										&trailer, fields, nfields, fn, arg, &rows,
										err);
			} else {
				row_ok = pgcopy_parse_row(buf, (size_t) n, fields, nfields, err) &&
						 fn(arg, fields, nfields, err);
				if (row_ok)
					rows++;
			}
			PQfreemem(buf);
			if (!row_ok) {
				lk_error_add_where(err, "copy row %llu",
								   (unsigned long long) (format == PGCOPY_BINARY ?
														 rows : before) + 1);
				cancel_copy(c);
				ok = false;
				break;
			}
			continue;
		}
		if (n == -1) {
			/* end of data: the statement's result follows */
			while ((r = PQgetResult(c->pg)) != NULL) {
				if (ok && PQresultStatus(r) != PGRES_COMMAND_OK)
					ok = pgc_error_from_result(c, r, "copy failed", err);
				PQclear(r);
			}
			if (ok && format == PGCOPY_BINARY && !trailer)
				ok = lk_error_set(err, LK_ERR_CORRUPT,
								  "binary copy data ended without its trailer");
			break;
		}
		ok = pgc_error_from_result(c, NULL, "could not read copy data", err);
		break;
	}
	free(fields);
	if (nrows)
		*nrows = rows;
	return ok;
}
