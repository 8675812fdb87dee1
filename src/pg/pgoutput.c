/*
 * pgoutput.c — pgoutput logical replication messages (protocol 1–4) and
 * the replication-stream framing, decoder and encoder side by side.
 *
 * Wire layout (PostgreSQL "Logical Replication Message Formats"; integers
 * big-endian; String = bytes + NUL; [xid] = Int32 xid, present only for
 * data messages inside a stream, i.e. between 'S' and 'E', proto ≥ 2):
 *
 *   'B' Begin            Int64 final_lsn  Int64 commit_time  Int32 xid
 *   'C' Commit           Int8 flags  Int64 commit_lsn  Int64 end_lsn  Int64 commit_time
 *   'O' Origin           Int64 origin_lsn  String name
 *   'R' Relation         [xid] Int32 relid  String nspname  String relname
 *                        Int8 replident  Int16 ncols
 *                        ncols × { Int8 flags  String name  Int32 type_oid  Int32 typmod }
 *   'Y' Type             [xid] Int32 type_oid  String nspname  String typname
 *   'I' Insert           [xid] Int32 relid  'N' TupleData
 *   'U' Update           [xid] Int32 relid  [ 'K'|'O' TupleData ]  'N' TupleData
 *   'D' Delete           [xid] Int32 relid  'K'|'O' TupleData
 *   'T' Truncate         [xid] Int32 nrelids  Int8 options  nrelids × Int32 relid
 *   'M' Message          [xid] Int8 flags  Int64 lsn  String prefix  Int32 n  Byte[n]
 *   'S' Stream Start     Int32 xid  Int8 first_segment                     (proto ≥ 2)
 *   'E' Stream Stop      (nothing)                                         (proto ≥ 2)
 *   'c' Stream Commit    Int32 xid  Int8 flags  Int64 commit_lsn  Int64 end_lsn
 *                        Int64 commit_time                                 (proto ≥ 2)
 *   'A' Stream Abort     Int32 xid  Int32 subxid
 *                        [ Int64 abort_lsn  Int64 abort_time ]  (proto ≥ 4, parallel
 *                        streaming only: decoded when exactly 16 bytes remain)
 *   'b' Begin Prepare    Int64 prepare_lsn  Int64 end_lsn  Int64 prepare_time
 *                        Int32 xid  String gid                             (proto ≥ 3)
 *   'P' Prepare          Int8 flags  Int64 prepare_lsn  Int64 end_lsn
 *                        Int64 prepare_time  Int32 xid  String gid         (proto ≥ 3)
 *   'K' Commit Prepared  Int8 flags  Int64 commit_lsn  Int64 end_lsn
 *                        Int64 commit_time  Int32 xid  String gid          (proto ≥ 3)
 *   'r' Rollback Prep.   Int8 flags  Int64 prepare_end_lsn  Int64 rollback_end_lsn
 *                        Int64 prepare_time  Int64 rollback_time
 *                        Int32 xid  String gid                             (proto ≥ 3)
 *   'p' Stream Prepare   same as 'P'                                       (proto ≥ 3)
 *
 *   TupleData            Int16 ncols, ncols × one of
 *                          'n'                      null
 *                          'u'                      unchanged TOASTed value
 *                          't' Int32 n  Byte[n]     text format
 *                          'b' Int32 n  Byte[n]     binary format
 *
 * Replication stream (CopyBoth; each CopyData payload is one of):
 *   'w' XLogData         Int64 start_lsn  Int64 end_lsn  Int64 send_time  Byte[rest]
 *   'k' Keepalive        Int64 wal_end  Int64 send_time  Int8 reply_requested
 *   'r' Standby status   Int64 write_lsn  Int64 flush_lsn  Int64 apply_lsn
 *                        Int64 send_time  Int8 reply_requested   (client → server)
 *
 * Byte offsets in errors are relative to the start of the message.
 */
#include "pg/pgoutput.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------- helpers */

/* Fill err with a corrupt-data error at the cursor's position. */
static bool
fail_at(lk_cursor *c, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool
fail_at(lk_cursor *c, size_t pos, const char *fmt, ...)
{
	va_list ap;
	char msg[256];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lk_error_set(c->err, LK_ERR_CORRUPT, "%s", msg);
	return lk_error_where(c->err, "byte offset %llu",
						  (unsigned long long) (c->base + pos));
}

static bool
get_i8(lk_cursor *c, uint8_t *v)
{
	return lk_cursor_get_u8(c, v);
}

static bool
get_u32(lk_cursor *c, uint32_t *v)
{
	return lk_cursor_get_u32be(c, v);
}

static bool
get_i32(lk_cursor *c, int32_t *v)
{
	uint32_t u;
	LK_FORWARD(lk_cursor_get_u32be(c, &u));
	*v = (int32_t) u;
	return true;
}

static bool
get_u64(lk_cursor *c, uint64_t *v)
{
	return lk_cursor_get_u64be(c, v);
}

static bool
get_i64(lk_cursor *c, int64_t *v)
{
	uint64_t u;
	LK_FORWARD(lk_cursor_get_u64be(c, &u));
	*v = (int64_t) u;
	return true;
}

static bool
get_str(lk_cursor *c, const char **s)
{
	return lk_cursor_get_cstr(c, s, NULL);
}

/* A non-negative Int32 length or count (negative ones are corrupt). */
static bool
get_len32(lk_cursor *c, const char *what, uint32_t *v)
{
	size_t at = c->pos;
	int32_t n;
	LK_FORWARD(get_i32(c, &n));
	if (n < 0)
		return fail_at(c, at, "negative %s %" PRId32, what, n);
	*v = (uint32_t) n;
	return true;
}

static void
put_u8(lk_buf *b, uint8_t v)
{
	lk_buf_append_byte(b, v);
}

static void
put_u16(lk_buf *b, uint16_t v)
{
	uint8_t t[2] = {(uint8_t) (v >> 8), (uint8_t) v};
	lk_buf_append(b, t, 2);
}

static void
put_u32(lk_buf *b, uint32_t v)
{
	uint8_t t[4] = {(uint8_t) (v >> 24), (uint8_t) (v >> 16), (uint8_t) (v >> 8),
					(uint8_t) v};
	lk_buf_append(b, t, 4);
}

static void
put_u64(lk_buf *b, uint64_t v)
{
	put_u32(b, (uint32_t) (v >> 32));
	put_u32(b, (uint32_t) v);
}

static void
put_str(lk_buf *b, const char *s)
{
	lk_buf_append(b, s ? s : "", s ? strlen(s) + 1 : 1);
}

const char *
pgo_msg_name(char type)
{
	switch (type) {
	case PGO_BEGIN: return "begin";
	case PGO_COMMIT: return "commit";
	case PGO_ORIGIN: return "origin";
	case PGO_RELATION: return "relation";
	case PGO_TYPE: return "type";
	case PGO_INSERT: return "insert";
	case PGO_UPDATE: return "update";
	case PGO_DELETE: return "delete";
	case PGO_TRUNCATE: return "truncate";
	case PGO_MESSAGE: return "logical decoding message";
	case PGO_STREAM_START: return "stream start";
	case PGO_STREAM_STOP: return "stream stop";
	case PGO_STREAM_COMMIT: return "stream commit";
	case PGO_STREAM_ABORT: return "stream abort";
	case PGO_BEGIN_PREPARE: return "begin prepare";
	case PGO_PREPARE: return "prepare";
	case PGO_COMMIT_PREPARED: return "commit prepared";
	case PGO_ROLLBACK_PREPARED: return "rollback prepared";
	case PGO_STREAM_PREPARE: return "stream prepare";
	}
	return "unknown";
}

/* ---------------------------------------------------------------- TupleData */

static bool
read_tuple(lk_cursor *c, lk_arena *arena, pgo_tuple *t)
{
	size_t at = c->pos;
	uint16_t u;
	LK_FORWARD(lk_cursor_get_u16be(c, &u));
	int16_t n = (int16_t) u;
	if (n < 0)
		return fail_at(c, at, "negative column count %d in tuple data", n);
	/* Every column takes at least its kind byte: never allocate more
	 * entries than bytes left. */
	if ((size_t) n > lk_cursor_left(c))
		return fail_at(c, at, "tuple data column count %d exceeds the %zu bytes left",
					   n, lk_cursor_left(c));
	t->ncols = n;
	t->cols = n ? lk_arena_zalloc(arena, sizeof(pgo_value) * (size_t) n) : NULL;
	for (int i = 0; i < n; i++) {
		pgo_value *v = &t->cols[i];
		size_t kat = c->pos;
		uint8_t kind;
		LK_FORWARD(lk_cursor_get_u8(c, &kind));
		switch (kind) {
		case 'n':
		case 'u':
			v->kind = (char) kind;
			break;
		case 't':
		case 'b':
			v->kind = (char) kind;
			LK_FORWARD(get_len32(c, "value length", &v->len));
			LK_FORWARD(lk_cursor_get_bytes(c, v->len, &v->data));
			break;
		default:
			return fail_at(c, kat, "unknown kind 0x%02x of tuple data column %d",
						   kind, i + 1);
		}
	}
	return true;
}

void
pgo_write_tuple(lk_buf *b, const pgo_tuple *t)
{
	put_u16(b, (uint16_t) t->ncols);
	for (int i = 0; i < t->ncols; i++) {
		const pgo_value *v = &t->cols[i];
		put_u8(b, (uint8_t) v->kind);
		if (v->kind == 't' || v->kind == 'b') {
			put_u32(b, v->len);
			lk_buf_append(b, v->data, v->len);
		}
	}
}

/* ---------------------------------------------------------------- messages */

/* Each read_* gets the cursor just after the type byte (and after the xid
 * of a streamed data message, which pgo_decode_message reads). */

static bool
read_begin(lk_cursor *c, pgo_begin *m)
{
	LK_FORWARD(get_u64(c, &m->final_lsn));
	LK_FORWARD(get_i64(c, &m->commit_time));
	return get_u32(c, &m->xid);
}

void
pgo_write_begin(lk_buf *b, const pgo_begin *m)
{
	put_u8(b, PGO_BEGIN);
	put_u64(b, m->final_lsn);
	put_u64(b, (uint64_t) m->commit_time);
	put_u32(b, m->xid);
}

static bool
read_commit(lk_cursor *c, pgo_commit *m)
{
	LK_FORWARD(get_i8(c, &m->flags));
	LK_FORWARD(get_u64(c, &m->commit_lsn));
	LK_FORWARD(get_u64(c, &m->end_lsn));
	return get_i64(c, &m->commit_time);
}

void
pgo_write_commit(lk_buf *b, const pgo_commit *m)
{
	put_u8(b, PGO_COMMIT);
	put_u8(b, m->flags);
	put_u64(b, m->commit_lsn);
	put_u64(b, m->end_lsn);
	put_u64(b, (uint64_t) m->commit_time);
}

static bool
read_origin(lk_cursor *c, pgo_origin *m)
{
	LK_FORWARD(get_u64(c, &m->origin_lsn));
	return get_str(c, &m->name);
}

void
pgo_write_origin(lk_buf *b, const pgo_origin *m)
{
	put_u8(b, PGO_ORIGIN);
	put_u64(b, m->origin_lsn);
	put_str(b, m->name);
}

static bool
read_relation(lk_cursor *c, lk_arena *arena, pgo_relation *m)
{
	LK_FORWARD(get_u32(c, &m->relid));
	LK_FORWARD(get_str(c, &m->nspname));
	LK_FORWARD(get_str(c, &m->relname));
	size_t at = c->pos;
	uint8_t ri;
	LK_FORWARD(get_i8(c, &ri));
	if (ri != 'd' && ri != 'n' && ri != 'f' && ri != 'i')
		return fail_at(c, at, "unknown replica identity 0x%02x", ri);
	m->replident = (char) ri;
	at = c->pos;
	uint16_t u;
	LK_FORWARD(lk_cursor_get_u16be(c, &u));
	int16_t n = (int16_t) u;
	if (n < 0)
		return fail_at(c, at, "negative column count %d", n);
	/* flags(1) + name(≥1) + oid(4) + typmod(4) per column */
	if ((size_t) n > lk_cursor_left(c) / 10)
		return fail_at(c, at, "column count %d exceeds the %zu bytes left", n,
					   lk_cursor_left(c));
	m->ncols = n;
	m->cols = n ? lk_arena_zalloc(arena, sizeof(pgo_column) * (size_t) n) : NULL;
	for (int i = 0; i < n; i++) {
		pgo_column *col = &m->cols[i];
		LK_FORWARD(get_i8(c, &col->flags));
		LK_FORWARD(get_str(c, &col->name));
		LK_FORWARD(get_u32(c, &col->type_oid));
		LK_FORWARD(get_i32(c, &col->typmod));
	}
	return true;
}

void
pgo_write_relation(lk_buf *b, const pgo_relation *m)
{
	put_u8(b, PGO_RELATION);
	if (m->has_xid)
		put_u32(b, m->xid);
	put_u32(b, m->relid);
	put_str(b, m->nspname);
	put_str(b, m->relname);
	put_u8(b, (uint8_t) m->replident);
	put_u16(b, (uint16_t) m->ncols);
	for (int i = 0; i < m->ncols; i++) {
		put_u8(b, m->cols[i].flags);
		put_str(b, m->cols[i].name);
		put_u32(b, m->cols[i].type_oid);
		put_u32(b, (uint32_t) m->cols[i].typmod);
	}
}

static bool
read_type(lk_cursor *c, pgo_typemsg *m)
{
	LK_FORWARD(get_u32(c, &m->type_oid));
	LK_FORWARD(get_str(c, &m->nspname));
	return get_str(c, &m->typname);
}

void
pgo_write_type(lk_buf *b, const pgo_typemsg *m)
{
	put_u8(b, PGO_TYPE);
	if (m->has_xid)
		put_u32(b, m->xid);
	put_u32(b, m->type_oid);
	put_str(b, m->nspname);
	put_str(b, m->typname);
}

/* Expect the tuple marker byte `want` ('N'). */
static bool
expect_marker(lk_cursor *c, char want)
{
	size_t at = c->pos;
	uint8_t k;
	LK_FORWARD(lk_cursor_get_u8(c, &k));
	if (k != (uint8_t) want)
		return fail_at(c, at, "expected tuple marker '%c', found 0x%02x", want, k);
	return true;
}

static bool
read_insert(lk_cursor *c, lk_arena *arena, pgo_insert *m)
{
	LK_FORWARD(get_u32(c, &m->relid));
	LK_FORWARD(expect_marker(c, 'N'));
	return read_tuple(c, arena, &m->newtup);
}

void
pgo_write_insert(lk_buf *b, const pgo_insert *m)
{
	put_u8(b, PGO_INSERT);
	if (m->has_xid)
		put_u32(b, m->xid);
	put_u32(b, m->relid);
	put_u8(b, 'N');
	pgo_write_tuple(b, &m->newtup);
}

static bool
read_update(lk_cursor *c, lk_arena *arena, pgo_update *m)
{
	LK_FORWARD(get_u32(c, &m->relid));
	size_t at = c->pos;
	uint8_t k;
	LK_FORWARD(lk_cursor_get_u8(c, &k));
	m->old_kind = 0;
	if (k == 'K' || k == 'O') {
		m->old_kind = (char) k;
		LK_FORWARD(read_tuple(c, arena, &m->oldtup));
		at = c->pos;
		LK_FORWARD(lk_cursor_get_u8(c, &k));
	}
	if (k != 'N')
		return fail_at(c, at, "expected tuple marker 'N', found 0x%02x", k);
	return read_tuple(c, arena, &m->newtup);
}

void
pgo_write_update(lk_buf *b, const pgo_update *m)
{
	put_u8(b, PGO_UPDATE);
	if (m->has_xid)
		put_u32(b, m->xid);
	put_u32(b, m->relid);
	if (m->old_kind) {
		put_u8(b, (uint8_t) m->old_kind);
		pgo_write_tuple(b, &m->oldtup);
	}
	put_u8(b, 'N');
	pgo_write_tuple(b, &m->newtup);
}

static bool
read_delete(lk_cursor *c, lk_arena *arena, pgo_delete *m)
{
	LK_FORWARD(get_u32(c, &m->relid));
	size_t at = c->pos;
	uint8_t k;
	LK_FORWARD(lk_cursor_get_u8(c, &k));
	if (k != 'K' && k != 'O')
		return fail_at(c, at, "expected tuple marker 'K' or 'O', found 0x%02x", k);
	m->old_kind = (char) k;
	return read_tuple(c, arena, &m->oldtup);
}

void
pgo_write_delete(lk_buf *b, const pgo_delete *m)
{
	put_u8(b, PGO_DELETE);
	if (m->has_xid)
		put_u32(b, m->xid);
	put_u32(b, m->relid);
	put_u8(b, (uint8_t) m->old_kind);
	pgo_write_tuple(b, &m->oldtup);
}

static bool
read_truncate(lk_cursor *c, lk_arena *arena, pgo_truncate *m)
{
	size_t at = c->pos;
	uint32_t n;
	LK_FORWARD(get_len32(c, "relation count", &n));
	LK_FORWARD(get_i8(c, &m->options));
	if (n > lk_cursor_left(c) / 4)
		return fail_at(c, at, "relation count %" PRIu32 " exceeds the %zu bytes left",
					   n, lk_cursor_left(c));
	m->nrelids = (int) n;
	m->relids = n ? lk_arena_alloc(arena, sizeof(uint32_t) * n) : NULL;
	for (uint32_t i = 0; i < n; i++)
		LK_FORWARD(get_u32(c, &m->relids[i]));
	return true;
}

void
pgo_write_truncate(lk_buf *b, const pgo_truncate *m)
{
	put_u8(b, PGO_TRUNCATE);
	if (m->has_xid)
		put_u32(b, m->xid);
	put_u32(b, (uint32_t) m->nrelids);
	put_u8(b, m->options);
	for (int i = 0; i < m->nrelids; i++)
		put_u32(b, m->relids[i]);
}

static bool
read_message(lk_cursor *c, pgo_message *m)
{
	LK_FORWARD(get_i8(c, &m->flags));
	LK_FORWARD(get_u64(c, &m->lsn));
	LK_FORWARD(get_str(c, &m->prefix));
	LK_FORWARD(get_len32(c, "content length", &m->content_len));
	return lk_cursor_get_bytes(c, m->content_len, &m->content);
}

void
pgo_write_message(lk_buf *b, const pgo_message *m)
{
	put_u8(b, PGO_MESSAGE);
	if (m->has_xid)
		put_u32(b, m->xid);
	put_u8(b, m->flags);
	put_u64(b, m->lsn);
	put_str(b, m->prefix);
	put_u32(b, m->content_len);
	lk_buf_append(b, m->content, m->content_len);
}

static bool
read_stream_start(lk_cursor *c, pgo_stream_start *m)
{
	LK_FORWARD(get_u32(c, &m->xid));
	return get_i8(c, &m->first_segment);
}

void
pgo_write_stream_start(lk_buf *b, const pgo_stream_start *m)
{
	put_u8(b, PGO_STREAM_START);
	put_u32(b, m->xid);
	put_u8(b, m->first_segment);
}

void
pgo_write_stream_stop(lk_buf *b)
{
	put_u8(b, PGO_STREAM_STOP);
}

static bool
read_stream_commit(lk_cursor *c, pgo_stream_commit *m)
{
	LK_FORWARD(get_u32(c, &m->xid));
	LK_FORWARD(get_i8(c, &m->flags));
	LK_FORWARD(get_u64(c, &m->commit_lsn));
	LK_FORWARD(get_u64(c, &m->end_lsn));
	return get_i64(c, &m->commit_time);
}

void
pgo_write_stream_commit(lk_buf *b, const pgo_stream_commit *m)
{
	put_u8(b, PGO_STREAM_COMMIT);
	put_u32(b, m->xid);
	put_u8(b, m->flags);
	put_u64(b, m->commit_lsn);
	put_u64(b, m->end_lsn);
	put_u64(b, (uint64_t) m->commit_time);
}

static bool
read_stream_abort(lk_cursor *c, int proto_version, pgo_stream_abort *m)
{
	LK_FORWARD(get_u32(c, &m->xid));
	LK_FORWARD(get_u32(c, &m->subxid));
	/* Protocol 4 sends the abort LSN and time only with parallel
	 * streaming, and nothing else follows: exactly 16 more bytes. */
	m->has_abort_info = false;
	m->abort_lsn = 0;
	m->abort_time = 0;
	if (proto_version >= 4 && lk_cursor_left(c) == 16) {
		m->has_abort_info = true;
		LK_FORWARD(get_u64(c, &m->abort_lsn));
		LK_FORWARD(get_i64(c, &m->abort_time));
	}
	return true;
}

void
pgo_write_stream_abort(lk_buf *b, const pgo_stream_abort *m)
{
	put_u8(b, PGO_STREAM_ABORT);
	put_u32(b, m->xid);
	put_u32(b, m->subxid);
	if (m->has_abort_info) {
		put_u64(b, m->abort_lsn);
		put_u64(b, (uint64_t) m->abort_time);
	}
}

static bool
read_prepare(lk_cursor *c, char type, pgo_prepare *m)
{
	m->flags = 0;
	if (type != PGO_BEGIN_PREPARE)
		LK_FORWARD(get_i8(c, &m->flags));
	LK_FORWARD(get_u64(c, &m->lsn));
	LK_FORWARD(get_u64(c, &m->end_lsn));
	LK_FORWARD(get_i64(c, &m->time));
	LK_FORWARD(get_u32(c, &m->xid));
	return get_str(c, &m->gid);
}

void
pgo_write_prepare(lk_buf *b, char type, const pgo_prepare *m)
{
	put_u8(b, (uint8_t) type);
	if (type != PGO_BEGIN_PREPARE)
		put_u8(b, m->flags);
	put_u64(b, m->lsn);
	put_u64(b, m->end_lsn);
	put_u64(b, (uint64_t) m->time);
	put_u32(b, m->xid);
	put_str(b, m->gid);
}

static bool
read_rollback_prepared(lk_cursor *c, pgo_rollback_prepared *m)
{
	LK_FORWARD(get_i8(c, &m->flags));
	LK_FORWARD(get_u64(c, &m->prepare_end_lsn));
	LK_FORWARD(get_u64(c, &m->rollback_end_lsn));
	LK_FORWARD(get_i64(c, &m->prepare_time));
	LK_FORWARD(get_i64(c, &m->rollback_time));
	LK_FORWARD(get_u32(c, &m->xid));
	return get_str(c, &m->gid);
}

void
pgo_write_rollback_prepared(lk_buf *b, const pgo_rollback_prepared *m)
{
	put_u8(b, PGO_ROLLBACK_PREPARED);
	put_u8(b, m->flags);
	put_u64(b, m->prepare_end_lsn);
	put_u64(b, m->rollback_end_lsn);
	put_u64(b, (uint64_t) m->prepare_time);
	put_u64(b, (uint64_t) m->rollback_time);
	put_u32(b, m->xid);
	put_str(b, m->gid);
}

bool
pgo_write_msg(lk_buf *b, const pgo_msg *m)
{
	switch (m->type) {
	case PGO_BEGIN: pgo_write_begin(b, &m->begin); return true;
	case PGO_COMMIT: pgo_write_commit(b, &m->commit); return true;
	case PGO_ORIGIN: pgo_write_origin(b, &m->origin); return true;
	case PGO_RELATION: pgo_write_relation(b, &m->relation); return true;
	case PGO_TYPE: pgo_write_type(b, &m->typ); return true;
	case PGO_INSERT: pgo_write_insert(b, &m->insert); return true;
	case PGO_UPDATE: pgo_write_update(b, &m->update); return true;
	case PGO_DELETE: pgo_write_delete(b, &m->del); return true;
	case PGO_TRUNCATE: pgo_write_truncate(b, &m->truncate); return true;
	case PGO_MESSAGE: pgo_write_message(b, &m->message); return true;
	case PGO_STREAM_START: pgo_write_stream_start(b, &m->stream_start); return true;
	case PGO_STREAM_STOP: pgo_write_stream_stop(b); return true;
	case PGO_STREAM_COMMIT: pgo_write_stream_commit(b, &m->stream_commit); return true;
	case PGO_STREAM_ABORT: pgo_write_stream_abort(b, &m->stream_abort); return true;
	case PGO_BEGIN_PREPARE:
	case PGO_PREPARE:
	case PGO_COMMIT_PREPARED:
	case PGO_STREAM_PREPARE:
		pgo_write_prepare(b, m->type, &m->prepare);
		return true;
	case PGO_ROLLBACK_PREPARED: pgo_write_rollback_prepared(b, &m->rollback); return true;
	}
	return false;
}

/* ---------------------------------------------------------------- dispatch */

/* Lowest protocol version that has message `type`; 0 if unknown. */
static int
min_proto(char type)
{
	switch (type) {
	case PGO_BEGIN:
	case PGO_COMMIT:
	case PGO_ORIGIN:
	case PGO_RELATION:
	case PGO_TYPE:
	case PGO_INSERT:
	case PGO_UPDATE:
	case PGO_DELETE:
	case PGO_TRUNCATE:
	case PGO_MESSAGE:
		return 1;
	case PGO_STREAM_START:
	case PGO_STREAM_STOP:
	case PGO_STREAM_COMMIT:
	case PGO_STREAM_ABORT:
		return 2;
	case PGO_BEGIN_PREPARE:
	case PGO_PREPARE:
	case PGO_COMMIT_PREPARED:
	case PGO_ROLLBACK_PREPARED:
	case PGO_STREAM_PREPARE:
		return 3;
	}
	return 0;
}

/* Data messages: the ones that carry an xid inside a stream. */
static bool
is_data_message(char type)
{
	return type == PGO_RELATION || type == PGO_TYPE || type == PGO_INSERT ||
		   type == PGO_UPDATE || type == PGO_DELETE || type == PGO_TRUNCATE ||
		   type == PGO_MESSAGE;
}

static bool
decode_body(lk_cursor *c, char type, int proto_version, bool in_stream,
			lk_arena *arena, pgo_msg *out)
{
	bool has_xid = false;
	uint32_t xid = 0;

	if (in_stream && is_data_message(type)) {
		has_xid = true;
		LK_FORWARD(get_u32(c, &xid));
	}
	switch (type) {
	case PGO_BEGIN:
		return read_begin(c, &out->begin);
	case PGO_COMMIT:
		return read_commit(c, &out->commit);
	case PGO_ORIGIN:
		return read_origin(c, &out->origin);
	case PGO_RELATION:
		out->relation.has_xid = has_xid;
		out->relation.xid = xid;
		return read_relation(c, arena, &out->relation);
	case PGO_TYPE:
		out->typ.has_xid = has_xid;
		out->typ.xid = xid;
		return read_type(c, &out->typ);
	case PGO_INSERT:
		out->insert.has_xid = has_xid;
		out->insert.xid = xid;
		return read_insert(c, arena, &out->insert);
	case PGO_UPDATE:
		out->update.has_xid = has_xid;
		out->update.xid = xid;
		return read_update(c, arena, &out->update);
	case PGO_DELETE:
		out->del.has_xid = has_xid;
		out->del.xid = xid;
		return read_delete(c, arena, &out->del);
	case PGO_TRUNCATE:
		out->truncate.has_xid = has_xid;
		out->truncate.xid = xid;
		return read_truncate(c, arena, &out->truncate);
	case PGO_MESSAGE:
		out->message.has_xid = has_xid;
		out->message.xid = xid;
		return read_message(c, &out->message);
	case PGO_STREAM_START:
		return read_stream_start(c, &out->stream_start);
	case PGO_STREAM_STOP:
		return true;
	case PGO_STREAM_COMMIT:
		return read_stream_commit(c, &out->stream_commit);
	case PGO_STREAM_ABORT:
		return read_stream_abort(c, proto_version, &out->stream_abort);
	case PGO_BEGIN_PREPARE:
	case PGO_PREPARE:
	case PGO_COMMIT_PREPARED:
	case PGO_STREAM_PREPARE:
		return read_prepare(c, type, &out->prepare);
	case PGO_ROLLBACK_PREPARED:
		return read_rollback_prepared(c, &out->rollback);
	}
	return false; /* not reached: checked by the caller */
}

/* Set where to "pgoutput <name> message ('X'), <where>". */
static bool
name_message(lk_error *err, char type)
{
	if ((unsigned char) type >= 0x20 && (unsigned char) type < 0x7f)
		return lk_error_add_where(err, "pgoutput %s message ('%c')",
								  pgo_msg_name(type), type);
	return lk_error_add_where(err, "pgoutput message type 0x%02x",
							  (unsigned char) type);
}

bool
pgo_decode_message(const uint8_t *data, size_t len, int proto_version,
				   bool in_stream, lk_arena *arena, pgo_msg *out,
				   lk_error *err)
{
	lk_cursor c;
	uint8_t t;

	memset(out, 0, sizeof(*out));
	if (proto_version < 1 || proto_version > 4) {
		lk_error_set(err, LK_ERR_INVALID,
					 "unsupported pgoutput protocol version %d", proto_version);
		return lk_error_where(err, "pgoutput decoder");
	}
	lk_cursor_init(&c, data, len, 0, err);
	if (!lk_cursor_get_u8(&c, &t)) {
		lk_error_set(err, LK_ERR_CORRUPT, "empty pgoutput message");
		return lk_error_where(err, "byte offset 0");
	}
	char type = (char) t;
	out->type = type;
	int need = min_proto(type);
	if (need == 0) {
		lk_error_set(err, LK_ERR_CORRUPT, "unknown pgoutput message type 0x%02x", t);
		lk_error_where(err, "byte offset 0");
		return name_message(err, type);
	}
	if (proto_version < need) {
		lk_error_set(err, LK_ERR_CORRUPT,
					 "message requires protocol version %d, stream uses %d",
					 need, proto_version);
		lk_error_where(err, "byte offset 0");
		return name_message(err, type);
	}
	if (in_stream && proto_version < 2) {
		lk_error_set(err, LK_ERR_INVALID,
					 "streaming requires protocol version 2, stream uses %d",
					 proto_version);
		lk_error_where(err, "byte offset 0");
		return name_message(err, type);
	}
	if (!decode_body(&c, type, proto_version, in_stream, arena, out) ||
		!lk_cursor_expect_end(&c, "the message"))
		return name_message(err, type);
	return true;
}

void
pgo_decoder_init(pgo_decoder *d, int proto_version)
{
	d->proto_version = proto_version;
	d->in_stream = false;
	d->stream_xid = 0;
}

bool
pgo_decode(pgo_decoder *d, const uint8_t *data, size_t len, lk_arena *arena,
		   pgo_msg *out, lk_error *err)
{
	LK_FORWARD(pgo_decode_message(data, len, d->proto_version, d->in_stream,
								  arena, out, err));
	char type = out->type;
	if (type == PGO_STREAM_START) {
		if (d->in_stream) {
			lk_error_set(err, LK_ERR_CORRUPT,
						 "stream start for xid %u inside the stream of xid %u",
						 out->stream_start.xid, d->stream_xid);
			lk_error_where(err, "byte offset 0");
			return name_message(err, type);
		}
		d->in_stream = true;
		d->stream_xid = out->stream_start.xid;
		return true;
	}
	if (type == PGO_STREAM_STOP) {
		if (!d->in_stream) {
			lk_error_set(err, LK_ERR_CORRUPT, "stream stop outside a stream");
			lk_error_where(err, "byte offset 0");
			return name_message(err, type);
		}
		d->in_stream = false;
		return true;
	}
	if (d->in_stream && !is_data_message(type) && type != PGO_ORIGIN) {
		lk_error_set(err, LK_ERR_CORRUPT,
					 "transaction control message inside the stream of xid %u",
					 d->stream_xid);
		lk_error_where(err, "byte offset 0");
		return name_message(err, type);
	}
	return true;
}

/* ---------------------------------------------------------------- framing */

static bool
read_xlogdata(lk_cursor *c, pgo_xlogdata *m)
{
	LK_FORWARD(get_u64(c, &m->start_lsn));
	LK_FORWARD(get_u64(c, &m->end_lsn));
	LK_FORWARD(get_i64(c, &m->send_time));
	m->len = lk_cursor_left(c);
	return lk_cursor_get_bytes(c, m->len, &m->data);
}

void
pgo_write_xlogdata(lk_buf *b, const pgo_xlogdata *m)
{
	put_u8(b, PGO_COPY_XLOGDATA);
	put_u64(b, m->start_lsn);
	put_u64(b, m->end_lsn);
	put_u64(b, (uint64_t) m->send_time);
	lk_buf_append(b, m->data, m->len);
}

static bool
read_keepalive(lk_cursor *c, pgo_keepalive *m)
{
	LK_FORWARD(get_u64(c, &m->wal_end));
	LK_FORWARD(get_i64(c, &m->send_time));
	return get_i8(c, &m->reply_requested);
}

void
pgo_write_keepalive(lk_buf *b, const pgo_keepalive *m)
{
	put_u8(b, PGO_COPY_KEEPALIVE);
	put_u64(b, m->wal_end);
	put_u64(b, (uint64_t) m->send_time);
	put_u8(b, m->reply_requested);
}

static bool
read_standby_status(lk_cursor *c, pgo_standby_status *m)
{
	LK_FORWARD(get_u64(c, &m->write_lsn));
	LK_FORWARD(get_u64(c, &m->flush_lsn));
	LK_FORWARD(get_u64(c, &m->apply_lsn));
	LK_FORWARD(get_i64(c, &m->send_time));
	return get_i8(c, &m->reply_requested);
}

void
pgo_write_standby_status(lk_buf *b, const pgo_standby_status *m)
{
	put_u8(b, PGO_COPY_STANDBY_STATUS);
	put_u64(b, m->write_lsn);
	put_u64(b, m->flush_lsn);
	put_u64(b, m->apply_lsn);
	put_u64(b, (uint64_t) m->send_time);
	put_u8(b, m->reply_requested);
}

static const char *
copy_name(char type)
{
	switch (type) {
	case PGO_COPY_XLOGDATA: return "XLogData";
	case PGO_COPY_KEEPALIVE: return "primary keepalive";
	case PGO_COPY_STANDBY_STATUS: return "standby status update";
	}
	return "unknown";
}

bool
pgo_decode_copy(const uint8_t *data, size_t len, pgo_copy_msg *out,
				lk_error *err)
{
	lk_cursor c;
	uint8_t t;
	bool ok;

	memset(out, 0, sizeof(*out));
	lk_cursor_init(&c, data, len, 0, err);
	if (!lk_cursor_get_u8(&c, &t)) {
		lk_error_set(err, LK_ERR_CORRUPT, "empty replication message");
		return lk_error_where(err, "byte offset 0");
	}
	out->type = (char) t;
	switch (t) {
	case PGO_COPY_XLOGDATA:
		ok = read_xlogdata(&c, &out->xlogdata);
		break;
	case PGO_COPY_KEEPALIVE:
		ok = read_keepalive(&c, &out->keepalive);
		break;
	case PGO_COPY_STANDBY_STATUS:
		ok = read_standby_status(&c, &out->status);
		break;
	default:
		lk_error_set(err, LK_ERR_CORRUPT,
					 "unknown replication message type 0x%02x", t);
		return lk_error_where(err, "replication stream, byte offset 0");
	}
	if (!ok || !lk_cursor_expect_end(&c, "the message"))
		return lk_error_add_where(err, "replication %s message ('%c')",
								  copy_name((char) t), (char) t);
	return true;
}

char *
pgo_lsn_format(uint64_t lsn, char *buf)
{
	snprintf(buf, 18, "%X/%X", (unsigned) (lsn >> 32), (unsigned) lsn);
	return buf;
}

bool
pgo_lsn_parse(const char *s, uint64_t *lsn)
{
	uint64_t hi = 0, lo = 0;
	int nh = 0, nl = 0;
	const char *p = s;

	for (; *p && *p != '/'; p++, nh++) {
		int d;
		if (*p >= '0' && *p <= '9') d = *p - '0';
		else if (*p >= 'a' && *p <= 'f') d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F') d = *p - 'A' + 10;
		else return false;
		if (nh >= 8)
			return false;
		hi = hi * 16 + (uint64_t) d;
	}
	if (*p != '/')
		return false;
	for (p++; *p; p++, nl++) {
		int d;
		if (*p >= '0' && *p <= '9') d = *p - '0';
		else if (*p >= 'a' && *p <= 'f') d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F') d = *p - 'A' + 10;
		else return false;
		if (nl >= 8)
			return false;
		lo = lo * 16 + (uint64_t) d;
	}
	if (nh == 0 || nl == 0)
		return false;
	*lsn = (hi << 32) | lo;
	return true;
}
