#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/buf.h"
#include "common/error.h"
#include "pg/pgoutput.h"
#include "pg/pgtypes.h"

/* ---------------------------------------------------------------- helpers */

static lk_arena arena;

static void
setup(void)
{
	lk_arena_init(&arena, 0);
}

static void
teardown(void)
{
	lk_arena_free(&arena);
}

/* Decode (stateless), assert success, re-encode, assert identical bytes. */
static void
roundtrip(const lk_buf *b, int proto, bool in_stream, pgo_msg *m)
{
	lk_error err;
	lk_error_clear(&err);
	bool ok = pgo_decode_message(b->data, b->len, proto, in_stream, &arena, m, &err);
	char es[1200];
	cr_assert(ok, "decode failed: %s", lk_error_str(&err, es, sizeof(es)));
	lk_buf again = LK_BUF_INIT;
	cr_assert(pgo_write_msg(&again, m));
	cr_assert_eq(again.len, b->len, "re-encoded %zu bytes, input %zu", again.len, b->len);
	cr_assert(memcmp(again.data, b->data, b->len) == 0);
	lk_buf_free(&again);
}

/* Every strict prefix of the message must fail as corrupt, with a location
 * naming the message and a byte offset; one trailing byte must fail too. */
static void
truncations_fail(const lk_buf *b, int proto, bool in_stream)
{
	pgo_msg m;
	lk_error err;
	for (size_t n = 0; n < b->len; n++) {
		lk_error_clear(&err);
		cr_assert_not(pgo_decode_message(b->data, n, proto, in_stream, &arena, &m, &err),
					  "prefix %zu of %zu decoded", n, b->len);
		cr_assert_eq(err.code, LK_ERR_CORRUPT);
		cr_assert(strstr(err.where, "byte offset") != NULL, "where=%s", err.where);
		if (n > 0)
			cr_assert(strstr(err.where, "pgoutput") != NULL, "where=%s", err.where);
	}
	lk_buf longer = LK_BUF_INIT;
	lk_buf_append(&longer, b->data, b->len);
	lk_buf_append_byte(&longer, 0);
	lk_error_clear(&err);
	bool ok = pgo_decode_message(longer.data, longer.len, proto, in_stream, &arena, &m, &err);
	/* the one exception: stream abort of protocol 4 grows by 16 bytes, not 1 */
	cr_assert_not(ok, "message with a trailing byte decoded");
	cr_assert(strstr(err.msg, "trailing") != NULL, "msg=%s", err.msg);
	lk_buf_free(&longer);
}

static const uint8_t *
u8s(const char *s)
{
	return (const uint8_t *) s;
}

static pgo_tuple
tuple3(pgo_value *v)
{
	v[0] = (pgo_value){'t', 2, u8s("42")};
	v[1] = (pgo_value){'n', 0, NULL};
	v[2] = (pgo_value){'u', 0, NULL};
	return (pgo_tuple){3, v};
}

/* ---------------------------------------------------------------- hand-made bytes */

TestSuite(bytes, .init = setup, .fini = teardown);

/* The exact bytes of the documentation, written by hand, not by our encoder. */
Test(bytes, begin_from_spec)
{
	static const uint8_t msg[] = {
		'B',
		0x00, 0x00, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89,  /* final lsn */
		0x00, 0x02, 0xb5, 0x6a, 0x5e, 0x1f, 0x2c, 0x00,  /* commit time */
		0x00, 0x00, 0x02, 0xde,                          /* xid 734 */
	};
	pgo_msg m;
	lk_error err;
	cr_assert(pgo_decode_message(msg, sizeof(msg), 1, false, &arena, &m, &err));
	cr_assert_eq(m.type, 'B');
	cr_assert_eq(m.begin.final_lsn, UINT64_C(0x123456789));
	cr_assert_eq(m.begin.commit_time, INT64_C(0x0002b56a5e1f2c00));
	cr_assert_eq(m.begin.xid, 734u);
	lk_buf b = LK_BUF_INIT;
	pgo_write_begin(&b, &m.begin);
	cr_assert_eq(b.len, sizeof(msg));
	cr_assert(memcmp(b.data, msg, sizeof(msg)) == 0);
	lk_buf_free(&b);
}

Test(bytes, streamed_insert_from_spec)
{
	static const uint8_t msg[] = {
		'I',
		0x00, 0x00, 0x03, 0x00,          /* xid 768 (streamed) */
		0x00, 0x00, 0x40, 0x01,          /* relid 16385 */
		'N',
		0x00, 0x04,                      /* 4 columns */
		't', 0x00, 0x00, 0x00, 0x02, '4', '2',
		'n',
		'u',
		'b', 0x00, 0x00, 0x00, 0x03, 0x00, 0xff, 0x0a,
	};
	pgo_msg m;
	lk_error err;
	cr_assert(pgo_decode_message(msg, sizeof(msg), 2, true, &arena, &m, &err));
	cr_assert_eq(m.type, 'I');
	cr_assert(m.insert.has_xid);
	cr_assert_eq(m.insert.xid, 768u);
	cr_assert_eq(m.insert.relid, 16385u);
	cr_assert_eq(m.insert.newtup.ncols, 4);
	const pgo_value *v = m.insert.newtup.cols;
	cr_assert_eq(v[0].kind, 't');
	cr_assert_eq(v[0].len, 2u);
	cr_assert(memcmp(v[0].data, "42", 2) == 0);
	cr_assert_eq(v[0].data, msg + 17, "values point into the message");
	cr_assert_eq(v[1].kind, 'n');
	cr_assert_eq(v[2].kind, 'u');
	cr_assert_eq(v[3].kind, 'b');
	cr_assert_eq(v[3].len, 3u);
	cr_assert_eq(v[3].data[1], 0xff);

	/* The same bytes outside a stream: the xid is read as the relid and the
	 * rest no longer parses. */
	cr_assert_not(pgo_decode_message(msg, sizeof(msg), 2, false, &arena, &m, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert(strstr(err.where, "pgoutput insert message ('I')") != NULL, "where=%s", err.where);
	cr_assert(strstr(err.where, "byte offset 5") != NULL, "where=%s", err.where);
}

Test(bytes, relation_from_spec)
{
	static const uint8_t msg[] = {
		'R',
		0x00, 0x00, 0x40, 0x01,                 /* relid */
		'p', 'u', 'b', 'l', 'i', 'c', 0,
		't', 0,
		'd',
		0x00, 0x02,
		0x01, 'i', 'd', 0, 0x00, 0x00, 0x00, 0x17, 0xff, 0xff, 0xff, 0xff,
		0x00, 'n', 0, 0x00, 0x00, 0x06, 0xa4, 0x00, 0x0c, 0x00, 0x07,
	};
	pgo_msg m;
	lk_error err;
	cr_assert(pgo_decode_message(msg, sizeof(msg), 1, false, &arena, &m, &err));
	cr_assert_eq(m.type, 'R');
	cr_assert_not(m.relation.has_xid);
	cr_assert_eq(m.relation.relid, 16385u);
	cr_assert_str_eq(m.relation.nspname, "public");
	cr_assert_str_eq(m.relation.relname, "t");
	cr_assert_eq(m.relation.replident, 'd');
	cr_assert_eq(m.relation.ncols, 2);
	cr_assert_eq(m.relation.cols[0].flags, PGO_COLUMN_KEY);
	cr_assert_str_eq(m.relation.cols[0].name, "id");
	cr_assert_eq(m.relation.cols[0].type_oid, 23u);
	cr_assert_eq(m.relation.cols[0].typmod, -1);
	cr_assert_eq(m.relation.cols[1].flags, 0);
	cr_assert_eq(m.relation.cols[1].type_oid, 1700u);
	/* numeric(12,3): ((12 << 16) | 3) + 4 */
	cr_assert_eq(m.relation.cols[1].typmod, (12 << 16 | 3) + 4);
	int p, s;
	cr_assert(pgt_numeric_typmod(m.relation.cols[1].typmod, &p, &s));
	cr_assert_eq(p, 12);
	cr_assert_eq(s, 3);
}

Test(bytes, framing_from_spec)
{
	static const uint8_t w[] = {
		'w',
		0, 0, 0, 0, 0x01, 0x00, 0x00, 0x00,   /* start */
		0, 0, 0, 0, 0x02, 0x00, 0x00, 0x00,   /* end */
		0, 0, 0, 0, 0, 0, 0x01, 0x00,         /* send time 256 */
		'E',
	};
	pgo_copy_msg m;
	lk_error err;
	cr_assert(pgo_decode_copy(w, sizeof(w), &m, &err));
	cr_assert_eq(m.type, 'w');
	cr_assert_eq(m.xlogdata.start_lsn, UINT64_C(0x01000000));
	cr_assert_eq(m.xlogdata.end_lsn, UINT64_C(0x02000000));
	cr_assert_eq(m.xlogdata.send_time, 256);
	cr_assert_eq(m.xlogdata.len, 1u);
	cr_assert_eq(m.xlogdata.data, w + 25);

	static const uint8_t k[] = {'k', 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 7, 1};
	cr_assert(pgo_decode_copy(k, sizeof(k), &m, &err));
	cr_assert_eq(m.type, 'k');
	cr_assert_eq(m.keepalive.wal_end, 9u);
	cr_assert_eq(m.keepalive.send_time, 7);
	cr_assert_eq(m.keepalive.reply_requested, 1);
	cr_assert_not(pgo_decode_copy(k, sizeof(k) - 1, &m, &err));
	cr_assert(strstr(err.where, "keepalive") != NULL, "where=%s", err.where);
	cr_assert(strstr(err.where, "byte offset 17") != NULL, "where=%s", err.where);

	pgo_standby_status st = {.write_lsn = 0x10, .flush_lsn = 0x0f, .apply_lsn = 0x0e,
							 .send_time = -1, .reply_requested = 0};
	lk_buf b = LK_BUF_INIT;
	pgo_write_standby_status(&b, &st);
	static const uint8_t r[] = {
		'r', 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x0f,
		0, 0, 0, 0, 0, 0, 0, 0x0e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0,
	};
	cr_assert_eq(b.len, sizeof(r));
	cr_assert(memcmp(b.data, r, sizeof(r)) == 0);
	cr_assert(pgo_decode_copy(b.data, b.len, &m, &err));
	cr_assert_eq(m.type, 'r');
	cr_assert_eq(m.status.flush_lsn, 0x0fu);
	cr_assert_eq(m.status.send_time, -1);
	lk_buf_free(&b);

	static const uint8_t h[] = {'h', 0};
	cr_assert_not(pgo_decode_copy(h, sizeof(h), &m, &err));
	cr_assert(strstr(err.msg, "unknown replication message type 0x68") != NULL, "msg=%s", err.msg);
	cr_assert_not(pgo_decode_copy(h, 0, &m, &err));
}

/* ---------------------------------------------------------------- round trips */

TestSuite(roundtrip, .init = setup, .fini = teardown);

Test(roundtrip, transaction_control)
{
	lk_buf b = LK_BUF_INIT;
	pgo_msg m;

	pgo_write_begin(&b, &(pgo_begin){.final_lsn = 0xAABBCCDD11223344ull,
									 .commit_time = -5, .xid = 0xFFFFFFFFu});
	roundtrip(&b, 1, false, &m);
	cr_assert_eq(m.begin.commit_time, -5);
	cr_assert_eq(m.begin.xid, 0xFFFFFFFFu);
	truncations_fail(&b, 1, false);

	lk_buf_reset(&b);
	pgo_write_commit(&b, &(pgo_commit){0, 100, 200, 300});
	roundtrip(&b, 1, false, &m);
	cr_assert_eq(m.type, 'C');
	cr_assert_eq(m.commit.commit_lsn, 100u);
	cr_assert_eq(m.commit.end_lsn, 200u);
	cr_assert_eq(m.commit.commit_time, 300);
	truncations_fail(&b, 1, false);

	lk_buf_reset(&b);
	pgo_write_origin(&b, &(pgo_origin){0x1234, "node_a"});
	roundtrip(&b, 1, false, &m);
	cr_assert_str_eq(m.origin.name, "node_a");
	cr_assert_eq(m.origin.origin_lsn, 0x1234u);
	truncations_fail(&b, 1, false);
	lk_buf_free(&b);
}

Test(roundtrip, relation_and_type_in_and_out_of_stream)
{
	pgo_column cols[3] = {
		{PGO_COLUMN_KEY, "id", 20, -1},
		{0, "naïve ☃", 1043, 24},
		{0, "", 16384, -1},
	};
	for (int s = 0; s < 2; s++) {
		lk_buf b = LK_BUF_INIT;
		pgo_msg m;
		pgo_write_relation(&b, &(pgo_relation){.has_xid = s, .xid = 99, .relid = 7,
							   .nspname = "", .relname = "tbl", .replident = 'f',
							   .ncols = 3, .cols = cols});
		roundtrip(&b, 2, s, &m);
		cr_assert_eq(m.relation.has_xid, (bool) s);
		cr_assert_eq(m.relation.xid, s ? 99u : 0u);
		cr_assert_str_eq(m.relation.nspname, "");
		cr_assert_eq(m.relation.replident, 'f');
		cr_assert_str_eq(m.relation.cols[1].name, "naïve ☃");
		cr_assert_eq(m.relation.cols[1].typmod, 24);
		cr_assert_eq(m.relation.cols[2].type_oid, 16384u);
		truncations_fail(&b, 2, s);

		lk_buf_reset(&b);
		pgo_write_type(&b, &(pgo_typemsg){.has_xid = s, .xid = 5, .type_oid = 16384,
											.nspname = "public", .typname = "mood"});
		roundtrip(&b, 2, s, &m);
		cr_assert_str_eq(m.typ.typname, "mood");
		cr_assert_eq(m.typ.type_oid, 16384u);
		truncations_fail(&b, 2, s);
		lk_buf_free(&b);
	}
}

Test(roundtrip, dml)
{
	pgo_value v1[3], v2[3];
	for (int s = 0; s < 2; s++) {
		lk_buf b = LK_BUF_INIT;
		pgo_msg m;
		pgo_write_insert(&b, &(pgo_insert){s, 11, 16385, tuple3(v1)});
		roundtrip(&b, 2, s, &m);
		cr_assert_eq(m.insert.newtup.ncols, 3);
		truncations_fail(&b, 2, s);

		/* update: none, 'K' and 'O' old parts */
		const char kinds[3] = {0, 'K', 'O'};
		for (int k = 0; k < 3; k++) {
			lk_buf_reset(&b);
			pgo_write_update(&b, &(pgo_update){s, 11, 16385, kinds[k], tuple3(v1), tuple3(v2)});
			roundtrip(&b, 2, s, &m);
			cr_assert_eq(m.update.old_kind, kinds[k]);
			cr_assert_eq(m.update.newtup.ncols, 3);
			cr_assert_eq(m.update.oldtup.ncols, kinds[k] ? 3 : 0);
			truncations_fail(&b, 2, s);
		}
		for (int k = 1; k < 3; k++) {
			lk_buf_reset(&b);
			pgo_write_delete(&b, &(pgo_delete){s, 11, 16385, kinds[k], tuple3(v1)});
			roundtrip(&b, 2, s, &m);
			cr_assert_eq(m.del.old_kind, kinds[k]);
			truncations_fail(&b, 2, s);
		}

		uint32_t rel[3] = {1, 2, 0xFFFFFFFFu};
		lk_buf_reset(&b);
		pgo_write_truncate(&b, &(pgo_truncate){s, 11,
							   PGO_TRUNCATE_CASCADE | PGO_TRUNCATE_RESTART_IDENTITY, 3, rel});
		roundtrip(&b, 2, s, &m);
		cr_assert_eq(m.truncate.options, 3);
		cr_assert_eq(m.truncate.nrelids, 3);
		cr_assert_eq(m.truncate.relids[2], 0xFFFFFFFFu);
		truncations_fail(&b, 2, s);

		lk_buf_reset(&b);
		pgo_write_message(&b, &(pgo_message){s, 11, PGO_MESSAGE_TRANSACTIONAL, 77, "pfx",
											  4, u8s("a\0b\n")});
		roundtrip(&b, 2, s, &m);
		cr_assert_str_eq(m.message.prefix, "pfx");
		cr_assert_eq(m.message.content_len, 4u);
		cr_assert(memcmp(m.message.content, "a\0b\n", 4) == 0);
		truncations_fail(&b, 2, s);
		lk_buf_free(&b);
	}
}

Test(roundtrip, empty_tuple_and_empty_values)
{
	lk_buf b = LK_BUF_INIT;
	pgo_msg m;
	pgo_value v[2] = {{'t', 0, u8s("")}, {'b', 0, u8s("")}};
	pgo_write_insert(&b, &(pgo_insert){false, 0, 1, {2, v}});
	roundtrip(&b, 1, false, &m);
	cr_assert_eq(m.insert.newtup.cols[0].len, 0u);
	cr_assert_eq(m.insert.newtup.cols[1].kind, 'b');
	lk_buf_reset(&b);
	pgo_write_insert(&b, &(pgo_insert){false, 0, 1, {0, NULL}});
	roundtrip(&b, 1, false, &m);
	cr_assert_eq(m.insert.newtup.ncols, 0);
	cr_assert_null(m.insert.newtup.cols);
	lk_buf_free(&b);
}

Test(roundtrip, streaming_and_two_phase)
{
	lk_buf b = LK_BUF_INIT;
	pgo_msg m;

	pgo_write_stream_start(&b, &(pgo_stream_start){1234, 1});
	roundtrip(&b, 2, false, &m);
	cr_assert_eq(m.stream_start.xid, 1234u);
	cr_assert_eq(m.stream_start.first_segment, 1);
	truncations_fail(&b, 2, false);

	lk_buf_reset(&b);
	pgo_write_stream_stop(&b);
	roundtrip(&b, 2, true, &m);
	cr_assert_eq(m.type, 'E');

	lk_buf_reset(&b);
	pgo_write_stream_commit(&b, &(pgo_stream_commit){1234, 0, 10, 20, 30});
	roundtrip(&b, 2, false, &m);
	cr_assert_eq(m.stream_commit.end_lsn, 20u);
	truncations_fail(&b, 2, false);

	lk_buf_reset(&b);
	pgo_write_stream_abort(&b, &(pgo_stream_abort){1234, 1240, false, 0, 0});
	roundtrip(&b, 2, false, &m);
	cr_assert_eq(m.stream_abort.subxid, 1240u);
	cr_assert_not(m.stream_abort.has_abort_info);
	truncations_fail(&b, 2, false);
	roundtrip(&b, 4, false, &m); /* protocol 4 without parallel streaming */
	cr_assert_not(m.stream_abort.has_abort_info);

	lk_buf_reset(&b);
	pgo_write_stream_abort(&b, &(pgo_stream_abort){1234, 1234, true, 0x5000, 777});
	roundtrip(&b, 4, false, &m);
	cr_assert(m.stream_abort.has_abort_info);
	cr_assert_eq(m.stream_abort.abort_lsn, 0x5000u);
	cr_assert_eq(m.stream_abort.abort_time, 777);
	lk_error err;
	cr_assert_not(pgo_decode_message(b.data, b.len, 3, false, &arena, &m, &err),
				  "abort info before protocol 4");
	cr_assert(strstr(err.msg, "16 trailing bytes") != NULL, "msg=%s", err.msg);

	const char types[4] = {'b', 'P', 'K', 'p'};
	for (int i = 0; i < 4; i++) {
		lk_buf_reset(&b);
		pgo_write_prepare(&b, types[i], &(pgo_prepare){0, 1, 2, 3, 4, "gid-ü"});
		cr_assert_eq(b.len, (size_t) (types[i] == 'b' ? 1 + 28 + 7 : 1 + 29 + 7));
		roundtrip(&b, 3, false, &m);
		cr_assert_eq(m.type, types[i]);
		cr_assert_str_eq(m.prepare.gid, "gid-ü");
		cr_assert_eq(m.prepare.xid, 4u);
		cr_assert_eq(m.prepare.time, 3);
		truncations_fail(&b, 3, false);
		cr_assert_not(pgo_decode_message(b.data, b.len, 2, false, &arena, &m, &err));
		cr_assert(strstr(err.msg, "requires protocol version 3") != NULL, "msg=%s", err.msg);
	}
	lk_buf_reset(&b);
	pgo_write_rollback_prepared(&b, &(pgo_rollback_prepared){0, 5, 6, 7, 8, 9, "g"});
	roundtrip(&b, 3, false, &m);
	cr_assert_eq(m.rollback.prepare_end_lsn, 5u);
	cr_assert_eq(m.rollback.rollback_end_lsn, 6u);
	cr_assert_eq(m.rollback.prepare_time, 7);
	cr_assert_eq(m.rollback.rollback_time, 8);
	cr_assert_eq(m.rollback.xid, 9u);
	truncations_fail(&b, 3, false);
	lk_buf_free(&b);
}

Test(roundtrip, framing)
{
	lk_buf b = LK_BUF_INIT, inner = LK_BUF_INIT;
	pgo_write_stream_stop(&inner);
	pgo_write_xlogdata(&b, &(pgo_xlogdata){1, 2, 3, inner.len, inner.data});
	pgo_copy_msg m;
	lk_error err;
	cr_assert(pgo_decode_copy(b.data, b.len, &m, &err));
	cr_assert_eq(m.xlogdata.len, 1u);
	cr_assert_eq(m.xlogdata.data[0], 'E');
	for (size_t n = 0; n < 25; n++) {
		cr_assert_not(pgo_decode_copy(b.data, n, &m, &err));
		cr_assert_eq(err.code, LK_ERR_CORRUPT);
	}
	lk_buf_reset(&b);
	pgo_write_keepalive(&b, &(pgo_keepalive){UINT64_MAX, INT64_MIN, 0});
	cr_assert_eq(b.len, 18u);
	cr_assert(pgo_decode_copy(b.data, b.len, &m, &err));
	cr_assert_eq(m.keepalive.wal_end, UINT64_MAX);
	cr_assert_eq(m.keepalive.send_time, INT64_MIN);
	lk_buf_append_byte(&b, 0);
	cr_assert_not(pgo_decode_copy(b.data, b.len, &m, &err));
	cr_assert(strstr(err.msg, "1 trailing bytes") != NULL, "msg=%s", err.msg);
	lk_buf_free(&b);
	lk_buf_free(&inner);
}

/* ---------------------------------------------------------------- malformed */

TestSuite(malformed, .init = setup, .fini = teardown);

static void
expect_error(const uint8_t *msg, size_t n, int proto, bool in_stream,
			 const char *msg_part, const char *where_part)
{
	pgo_msg m;
	lk_error err;
	lk_error_clear(&err);
	cr_assert_not(pgo_decode_message(msg, n, proto, in_stream, &arena, &m, &err));
	cr_assert(strstr(err.msg, msg_part) != NULL, "msg=%s", err.msg);
	cr_assert(strstr(err.where, where_part) != NULL, "where=%s", err.where);
}

Test(malformed, bad_values)
{
	static const uint8_t unknown[] = {'Z', 0};
	expect_error(unknown, sizeof(unknown), 4, false, "unknown pgoutput message type 0x5a",
				 "byte offset 0");
	expect_error(unknown, 0, 4, false, "empty pgoutput message", "byte offset 0");

	static const uint8_t bad_kind[] = {'I', 0, 0, 0, 1, 'N', 0, 1, 'x'};
	expect_error(bad_kind, sizeof(bad_kind), 1, false,
				 "unknown kind 0x78 of tuple data column 1", "byte offset 8");
	static const uint8_t neg_len[] = {'I', 0, 0, 0, 1, 'N', 0, 1, 't', 0xff, 0xff, 0xff, 0xfe};
	expect_error(neg_len, sizeof(neg_len), 1, false, "negative value length -2",
				 "pgoutput insert message ('I'), byte offset 9");
	static const uint8_t huge_len[] = {'I', 0, 0, 0, 1, 'N', 0, 1, 't', 0x7f, 0xff, 0xff, 0xff};
	expect_error(huge_len, sizeof(huge_len), 1, false, "need 2147483647 bytes", "byte offset 13");
	static const uint8_t many_cols[] = {'I', 0, 0, 0, 1, 'N', 0x7f, 0xff, 'n'};
	expect_error(many_cols, sizeof(many_cols), 1, false, "column count 32767 exceeds",
				 "byte offset 6");
	static const uint8_t neg_cols[] = {'I', 0, 0, 0, 1, 'N', 0xff, 0xff};
	expect_error(neg_cols, sizeof(neg_cols), 1, false, "negative column count -1",
				 "byte offset 6");
	static const uint8_t no_n[] = {'I', 0, 0, 0, 1, 'K', 0, 0};
	expect_error(no_n, sizeof(no_n), 1, false, "expected tuple marker 'N'", "byte offset 5");
	static const uint8_t upd_twice[] = {'U', 0, 0, 0, 1, 'K', 0, 0, 'O', 0, 0};
	expect_error(upd_twice, sizeof(upd_twice), 1, false, "expected tuple marker 'N', found 0x4f",
				 "byte offset 8");
	static const uint8_t del_n[] = {'D', 0, 0, 0, 1, 'N', 0, 0};
	expect_error(del_n, sizeof(del_n), 1, false, "expected tuple marker 'K' or 'O'",
				 "pgoutput delete message");
	static const uint8_t trunc_many[] = {'T', 0x00, 0x10, 0, 0, 0, 0, 0, 0, 1};
	expect_error(trunc_many, sizeof(trunc_many), 1, false, "relation count 1048576 exceeds",
				 "byte offset 1");
	static const uint8_t trunc_neg[] = {'T', 0x80, 0, 0, 0, 0};
	expect_error(trunc_neg, sizeof(trunc_neg), 1, false, "negative relation count",
				 "byte offset 1");
	static const uint8_t rel_ri[] = {'R', 0, 0, 0, 1, 0, 't', 0, 'x', 0, 0};
	expect_error(rel_ri, sizeof(rel_ri), 1, false, "unknown replica identity 0x78",
				 "byte offset 8");
	static const uint8_t rel_cols[] = {'R', 0, 0, 0, 1, 0, 't', 0, 'd', 0, 2,
									   0, 'a', 0, 0, 0, 0, 23, 0xff, 0xff, 0xff, 0xff};
	expect_error(rel_cols, sizeof(rel_cols), 1, false, "column count 2 exceeds", "byte offset 9");
	static const uint8_t unterminated[] = {'O', 0, 0, 0, 0, 0, 0, 0, 1, 'a', 'b'};
	expect_error(unterminated, sizeof(unterminated), 1, false, "unterminated string",
				 "pgoutput origin message ('O'), byte offset 9");
	static const uint8_t msg_neg[] = {'M', 1, 0, 0, 0, 0, 0, 0, 0, 0, 'p', 0, 0x80, 0, 0, 0};
	expect_error(msg_neg, sizeof(msg_neg), 1, false, "negative content length", "byte offset 12");
	static const uint8_t stop[] = {'E'};
	expect_error(stop, 1, 1, false, "requires protocol version 2", "stream stop");
	static const uint8_t ins[] = {'I', 0, 0, 0, 1, 0, 0, 0, 1, 'N', 0, 0};
	expect_error(ins, sizeof(ins), 1, true, "streaming requires protocol version 2", "insert");
	pgo_msg m;
	lk_error err;
	cr_assert_not(pgo_decode_message(ins, sizeof(ins), 5, false, &arena, &m, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	cr_assert_not(pgo_decode_message(ins, sizeof(ins), 0, false, &arena, &m, &err));
}

/* ---------------------------------------------------------------- state */

TestSuite(decoder, .init = setup, .fini = teardown);

static bool
feed(pgo_decoder *d, lk_buf *b, pgo_msg *m, lk_error *err)
{
	bool ok = pgo_decode(d, b->data, b->len, &arena, m, err);
	lk_buf_reset(b);
	return ok;
}

Test(decoder, stream_state)
{
	pgo_decoder d;
	pgo_decoder_init(&d, 2);
	lk_buf b = LK_BUF_INIT;
	pgo_msg m;
	lk_error err;
	pgo_value v[3];

	/* outside a stream: no xid */
	pgo_write_insert(&b, &(pgo_insert){false, 0, 5, tuple3(v)});
	cr_assert(feed(&d, &b, &m, &err));
	cr_assert_not(m.insert.has_xid);

	pgo_write_stream_start(&b, &(pgo_stream_start){700, 1});
	cr_assert(feed(&d, &b, &m, &err));
	cr_assert(d.in_stream);
	cr_assert_eq(d.stream_xid, 700u);
	pgo_write_origin(&b, &(pgo_origin){1, "o"});
	cr_assert(feed(&d, &b, &m, &err), "origin right after stream start");
	pgo_write_insert(&b, &(pgo_insert){true, 701, 5, tuple3(v)}); /* subxact xid */
	cr_assert(feed(&d, &b, &m, &err));
	cr_assert(m.insert.has_xid);
	cr_assert_eq(m.insert.xid, 701u);
	cr_assert_eq(m.insert.relid, 5u);

	/* nested start, commit inside a stream: refused, state unchanged */
	pgo_write_stream_start(&b, &(pgo_stream_start){800, 1});
	cr_assert_not(feed(&d, &b, &m, &err));
	cr_assert(strstr(err.msg, "inside the stream of xid 700") != NULL, "msg=%s", err.msg);
	pgo_write_commit(&b, &(pgo_commit){0, 1, 2, 3});
	cr_assert_not(feed(&d, &b, &m, &err));
	cr_assert(strstr(err.msg, "transaction control message inside the stream") != NULL);
	cr_assert(strstr(err.where, "pgoutput commit message ('C')") != NULL, "where=%s", err.where);
	cr_assert(d.in_stream);

	pgo_write_stream_stop(&b);
	cr_assert(feed(&d, &b, &m, &err));
	cr_assert_not(d.in_stream);
	pgo_write_stream_stop(&b);
	cr_assert_not(feed(&d, &b, &m, &err));
	cr_assert(strstr(err.msg, "stream stop outside a stream") != NULL);
	pgo_write_stream_commit(&b, &(pgo_stream_commit){700, 0, 1, 2, 3});
	cr_assert(feed(&d, &b, &m, &err));
	cr_assert_eq(m.stream_commit.xid, 700u);
	lk_buf_free(&b);
}

Test(decoder, lsn_text)
{
	char buf[32];
	cr_assert_str_eq(pgo_lsn_format(UINT64_C(0x16B374D848), buf), "16/B374D848");
	cr_assert_str_eq(pgo_lsn_format(0, buf), "0/0");
	cr_assert_str_eq(pgo_lsn_format(UINT64_MAX, buf), "FFFFFFFF/FFFFFFFF");
	uint64_t l;
	cr_assert(pgo_lsn_parse("16/b374d848", &l));
	cr_assert_eq(l, UINT64_C(0x16B374D848));
	cr_assert_not(pgo_lsn_parse("16", &l));
	cr_assert_not(pgo_lsn_parse("/1", &l));
	cr_assert_not(pgo_lsn_parse("1/", &l));
	cr_assert_not(pgo_lsn_parse("1/123456789", &l));
	cr_assert_not(pgo_lsn_parse("1/x", &l));
	cr_assert_eq(pgo_time_to_unix_micros(0), PGO_EPOCH_OFFSET_MICROS);
	cr_assert_eq(pgo_time_from_unix_micros(PGO_EPOCH_OFFSET_MICROS), 0);
}

/* ---------------------------------------------------------------- real capture */
/*
 * LAKESYNC_PGOUTPUT_CAPTURE names a file written by
 * tests/integration/pgoutput_capture.sh: lines "<proto> <lsn> <hex>".
 */

TestSuite(capture, .init = setup, .fini = teardown);

typedef struct cap_msg {
	int proto;
	char lsn[32];
	uint8_t *data;
	size_t len;
} cap_msg;

static int
hexv(int ch)
{
	if (ch >= '0' && ch <= '9') return ch - '0';
	if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
	return -1;
}

static cap_msg *
load_capture(size_t *count)
{
	const char *path = getenv("LAKESYNC_PGOUTPUT_CAPTURE");
	if (!path || !*path)
		cr_skip_test("LAKESYNC_PGOUTPUT_CAPTURE not set (tests/integration/pgoutput_capture.sh sets it)");
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "could not open \"%s\"", path);
	cap_msg *v = NULL;
	size_t n = 0, cap = 0;
	char *line = NULL;
	size_t lcap = 0;
	ssize_t len;
	while ((len = getline(&line, &lcap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (!len)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			v = realloc(v, cap * sizeof(*v));
		}
		cap_msg *c = &v[n++];
		char *hex = NULL;
		int off = 0;
		cr_assert_eq(sscanf(line, "%d %31s %n", &c->proto, c->lsn, &off), 2, "line %zu", n);
		hex = line + off;
		size_t hl = strlen(hex);
		cr_assert_eq(hl % 2, 0u);
		c->len = hl / 2;
		c->data = malloc(c->len ? c->len : 1);
		for (size_t i = 0; i < c->len; i++) {
			int hi = hexv(hex[2 * i]), lo = hexv(hex[2 * i + 1]);
			cr_assert(hi >= 0 && lo >= 0, "bad hex on line %zu", n);
			c->data[i] = (uint8_t) (hi << 4 | lo);
		}
	}
	free(line);
	fclose(f);
	*count = n;
	return v;
}

static void
free_capture(cap_msg *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].data);
	free(v);
}

/* text of value i of a tuple as a C string in the arena (NULL for 'n') */
static const char *
val(const pgo_tuple *t, int i)
{
	cr_assert_lt(i, t->ncols);
	if (t->cols[i].kind == 'n')
		return NULL;
	if (t->cols[i].kind == 'u')
		return "<unchanged>";
	return lk_arena_strndup(&arena, (const char *) t->cols[i].data, t->cols[i].len);
}

#define assert_val(tup, i, want)                                                  \
	do {                                                                          \
		const char *got_ = val((tup), (i));                                       \
		const char *want_ = (want);                                               \
		if (!want_)                                                               \
			cr_assert_null(got_, "column %d: got \"%s\", want NULL", (i), got_);  \
		else                                                                      \
			cr_assert(got_ && strcmp(got_, want_) == 0,                           \
					  "column %d: got \"%s\", want \"%s\"", (i), got_ ? got_ : "NULL", want_); \
	} while (0)

Test(capture, every_message_decodes_and_reencodes)
{
	size_t n;
	cap_msg *v = load_capture(&n);
	cr_assert_gt(n, 100u, "only %zu messages captured", n);
	pgo_decoder dec[5];
	for (int p = 1; p <= 4; p++)
		pgo_decoder_init(&dec[p], p);
	int count[256] = {0};
	int streamed_inserts = 0, streams = 0;
	for (size_t i = 0; i < n; i++) {
		cr_assert(v[i].proto >= 1 && v[i].proto <= 4);
		pgo_msg m;
		lk_error err;
		lk_error_clear(&err);
		if (!pgo_decode(&dec[v[i].proto], v[i].data, v[i].len, &arena, &m, &err)) {
			char es[1200];
			lk_error_add_where(&err, "lsn %s", v[i].lsn);
			cr_assert_fail("message %zu does not decode: %s", i,
						   lk_error_str(&err, es, sizeof(es)));
		}
		count[(uint8_t) m.type]++;
		if (m.type == 'I' && m.insert.has_xid)
			streamed_inserts++;
		if (m.type == 'S')
			streams++;
		lk_buf b = LK_BUF_INIT;
		cr_assert(pgo_write_msg(&b, &m));
		cr_assert(b.len == v[i].len && memcmp(b.data, v[i].data, b.len) == 0,
				  "message %zu ('%c' at %s) re-encodes differently", i, m.type, v[i].lsn);
		lk_buf_free(&b);
		lk_arena_reset(&arena);
	}
	for (int p = 1; p <= 4; p++)
		cr_assert_not(dec[p].in_stream, "a stream left open");
	const char *want = "BCRIUDTMYOSEcAbPKr";
	for (const char *t = want; *t; t++)
		cr_assert_gt(count[(uint8_t) *t], 0, "no '%c' message captured", *t);
	cr_assert_gt(streams, 1, "the large transaction was not streamed");
	/* streamed: 3000 + 1000 (rolled back subxact) + 1000 in the committed
	 * transaction, 3000 in the aborted one, on both slots */
	cr_assert_geq(streamed_inserts, 5000, "only %d streamed inserts", streamed_inserts);
	free_capture(v, n);
}

Test(capture, values_are_what_was_written)
{
	size_t n;
	cap_msg *v = load_capture(&n);
	pgo_decoder dec;
	pgo_decoder_init(&dec, 2);
	pgo_relation rel = {0};
	bool have_rel = false;
	int inserts = 0, updates = 0, deletes = 0, full_updates = 0, full_deletes = 0;
	uint32_t types_relid = 0, full_relid = 0, mood_oid = 0, domain_oid = 0;
	lk_arena keep;
	lk_arena_init(&keep, 0);

	for (size_t i = 0; i < n; i++) {
		if (v[i].proto != 2)
			continue;
		pgo_msg m;
		lk_error err;
		cr_assert(pgo_decode(&dec, v[i].data, v[i].len, &keep, &m, &err));
		if (m.type == 'R' && strcmp(m.relation.relname, "lk_types") == 0 && !have_rel) {
			rel = m.relation;
			have_rel = true;
			types_relid = rel.relid;
			cr_assert_str_eq(rel.nspname, "public");
			cr_assert_eq(rel.replident, 'd');
			cr_assert_eq(rel.ncols, 25);
			cr_assert_str_eq(rel.cols[0].name, "id");
			cr_assert_eq(rel.cols[0].flags, PGO_COLUMN_KEY);
			cr_assert_eq(rel.cols[0].type_oid, 23u);
			cr_assert_str_eq(rel.cols[7].name, "n");
			cr_assert_eq(rel.cols[7].type_oid, 1700u);
			cr_assert_eq(rel.cols[7].typmod, (12 << 16 | 3) + 4);
			cr_assert_eq(rel.cols[8].typmod, -1);
			cr_assert_eq(rel.cols[11].typmod, 5 + 4); /* char(5) */
			cr_assert_eq(rel.cols[20].type_oid, 1007u);
			/* the Relation has the domain's and enum's own oids; the Type
			 * messages before it resolve them */
			cr_assert_gt(mood_oid, 16383u);
			cr_assert_gt(domain_oid, 16383u);
			cr_assert_eq(rel.cols[22].type_oid, mood_oid);
			cr_assert_eq(rel.cols[23].type_oid, domain_oid);
			for (int c = 1; c < rel.ncols; c++)
				cr_assert_eq(rel.cols[c].flags, 0);
		}
		if (m.type == 'R' && strcmp(m.relation.relname, "lk_full") == 0) {
			full_relid = m.relation.relid;
			cr_assert_eq(m.relation.replident, 'f');
			cr_assert_eq(m.relation.cols[0].flags, PGO_COLUMN_KEY, "full: every column is key");
			cr_assert_eq(m.relation.cols[1].flags, PGO_COLUMN_KEY);
		}
		if (m.type == 'Y') {
			/* a Type message names the base type of a domain */
			if (strcmp(m.typ.typname, "mood") == 0) {
				cr_assert_str_eq(m.typ.nspname, "public");
				mood_oid = m.typ.type_oid;
			} else {
				cr_assert_str_eq(m.typ.typname, "int4");
				cr_assert_str_eq(m.typ.nspname, "", "pg_catalog is sent as \"\"");
				domain_oid = m.typ.type_oid;
				cr_assert_eq(pgt_builtin_oid(m.typ.typname), 23u);
			}
		}
		if (m.type == 'I' && have_rel && m.insert.relid == types_relid) {
			const pgo_tuple *t = &m.insert.newtup;
			cr_assert_eq(t->ncols, 25);
			inserts++;
			if (inserts == 1) {
				assert_val(t, 0, "1");
				assert_val(t, 1, "t");
				assert_val(t, 2, "-32768");
				assert_val(t, 3, "2147483647");
				assert_val(t, 4, "-9223372036854775808");
				assert_val(t, 5, "1.5");
				assert_val(t, 6, "0.1");
				assert_val(t, 7, "123456789.123");
				assert_val(t, 8, "0.000000000000000000000000000001");
				assert_val(t, 9, "héllo ☃ \"q\" \\ end");
				assert_val(t, 10, "abc");
				assert_val(t, 11, "ab   ");
				assert_val(t, 12, "\\x00ff00");
				assert_val(t, 13, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
				assert_val(t, 14, "2024-02-29");
				assert_val(t, 15, "2024-01-01 12:34:56.789");
				assert_val(t, 16, "2024-06-30 21:59:59.999999+00");
				assert_val(t, 17, "12:34:56");
				assert_val(t, 18, "P1DT2H");
				assert_val(t, 19, "{\"a\": [1, 2]}");
				assert_val(t, 20, "{1,NULL,3}");
				assert_val(t, 21, "{\"a b\",NULL,\"x\\\"y\",\"\"}");
				assert_val(t, 22, "happy");
				assert_val(t, 23, "7");
				cr_assert_eq(t->cols[24].kind, 't');
				cr_assert_eq(t->cols[24].len, 4000u * 32);
			} else if (inserts == 2) {
				assert_val(t, 5, "-Infinity");
				assert_val(t, 6, "NaN");
				assert_val(t, 7, "-999999999.999");
				assert_val(t, 8, "NaN");
				assert_val(t, 9, "");
				assert_val(t, 10, NULL);
				assert_val(t, 12, "\\x");
				assert_val(t, 14, "infinity");
				assert_val(t, 15, "-infinity");
				assert_val(t, 16, "infinity");
				assert_val(t, 20, "{}");
			} else if (inserts == 3) {
				assert_val(t, 5, "Infinity");
				assert_val(t, 6, "-0");
				assert_val(t, 8, "-0.00001");
				assert_val(t, 14, "0044-03-15 BC");
				assert_val(t, 15, "0001-01-01 00:00:00");
				assert_val(t, 16, "0044-03-15 12:00:00+00 BC");
			}
			/* every value through the type mapping into a batch column */
			lk_arena ta;
			lk_arena_init(&ta, 0);
			for (int c = 0; c < t->ncols; c++) {
				if (t->cols[c].kind == 'u')
					continue;
				/* catalog facts as the pipeline would pass them */
				pgt_type_desc base = {.oid = 23, .typmod = -1};
				pgt_type_desc d = {.oid = rel.cols[c].type_oid, .typmod = rel.cols[c].typmod};
				if (d.oid == domain_oid) {
					d.typtype = 'd';
					d.base = &base;
				} else if (d.oid == mood_oid) {
					d.typtype = 'e';
					d.typcategory = 'E';
				}
				const pgt_conv *conv = pgt_map_type(&ta, &d);
				if (c == 22)
					cr_assert_eq(conv->type->id, LK_T_STRING);
				if (c == 23)
					cr_assert_eq(conv->type->id, LK_T_INT);
				lk_column col;
				lk_column_init(&col, conv->type);
				lk_error err2;
				bool ok = pgt_append_text(conv, &col, rel.cols[c].name,
										  t->cols[c].kind == 'n' ? NULL : (const char *) t->cols[c].data,
										  t->cols[c].len, &err2);
				bool out_of_range = inserts == 3 && (c == 14 || c == 16);
				char es[1200];
				if (out_of_range) {
					cr_assert_not(ok, "BC value of column %d accepted", c);
					cr_assert_eq(err2.code, LK_ERR_UNSUPPORTED);
					cr_assert(strstr(err2.where, rel.cols[c].name) != NULL);
				} else {
					cr_assert(ok, "insert %d column %d: %s", inserts, c,
							  lk_error_str(&err2, es, sizeof(es)));
					cr_assert_eq(col.length, 1);
				}
				if (inserts == 1 && c == 4)
					cr_assert_eq(LK_COL_VALUES(&col, int64_t)[0], INT64_MIN);
				if (inserts == 1 && c == 7)
					cr_assert(LK_COL_VALUES(&col, lk_int128)[0] == (lk_int128) 123456789123);
				if (inserts == 1 && c == 16) /* 2024-06-30 21:59:59.999999 UTC */
					cr_assert_eq(LK_COL_VALUES(&col, int64_t)[0], INT64_C(1719784799999999));
				if (inserts == 1 && c == 20) {
					cr_assert_eq(col.children[0].length, 3);
					cr_assert(lk_column_is_null(&col.children[0], 1));
					cr_assert_eq(LK_COL_VALUES(&col.children[0], int32_t)[2], 3);
				}
				if (inserts == 2 && c == 14)
					cr_assert_eq(LK_COL_VALUES(&col, int32_t)[0], PGT_DATE_MAX_DAYS);
				if (inserts == 3 && c == 15)
					cr_assert_eq(LK_COL_VALUES(&col, int64_t)[0], PGT_TS_MIN_MICROS);
				lk_column_destroy(&col);
			}
			lk_arena_free(&ta);
		}
		if (m.type == 'U' && m.update.relid == types_relid) {
			updates++;
			if (updates == 1) { /* SET i4 = 5: big is unchanged TOAST */
				cr_assert_eq(m.update.old_kind, 0);
				assert_val(&m.update.newtup, 3, "5");
				cr_assert_eq(m.update.newtup.cols[24].kind, 'u');
			} else { /* SET id = 10: key changed → 'K' with the old key */
				cr_assert_eq(m.update.old_kind, 'K');
				assert_val(&m.update.oldtup, 0, "2");
				assert_val(&m.update.oldtup, 1, NULL);
				assert_val(&m.update.newtup, 0, "10");
			}
		}
		if (m.type == 'D' && m.del.relid == types_relid) {
			deletes++;
			cr_assert_eq(m.del.old_kind, 'K');
			assert_val(&m.del.oldtup, 0, "3");
		}
		if (m.type == 'U' && m.update.relid == full_relid) {
			full_updates++;
			cr_assert_eq(m.update.old_kind, 'O');
			assert_val(&m.update.oldtup, 1, "one");
			assert_val(&m.update.newtup, 1, "uno");
		}
		if (m.type == 'D' && m.del.relid == full_relid) {
			full_deletes++;
			cr_assert_eq(m.del.old_kind, 'O');
			assert_val(&m.del.oldtup, 1, "two");
		}
		if (m.type == 'M') {
			cr_assert_str_eq(m.message.prefix, "lk");
			if (m.message.flags & PGO_MESSAGE_TRANSACTIONAL) {
				cr_assert_eq(m.message.content_len, 19u);
				cr_assert(memcmp(m.message.content, "transactional hello", 19) == 0);
			} else {
				cr_assert_eq(m.message.content_len, 2u);
				cr_assert_eq(m.message.content[1], 0xff);
			}
		}
		if (m.type == 'O') {
			cr_assert_str_eq(m.origin.name, "lk_origin");
			cr_assert_eq(m.origin.origin_lsn, UINT64_C(0xABCDEF));
		}
		if (m.type == 'T') {
			cr_assert_eq(m.truncate.nrelids, 2);
			cr_assert_eq(m.truncate.options,
						 PGO_TRUNCATE_CASCADE | PGO_TRUNCATE_RESTART_IDENTITY);
		}
	}
	cr_assert(have_rel);
	cr_assert_eq(inserts, 3);
	cr_assert_eq(updates, 2);
	cr_assert_eq(deletes, 1);
	cr_assert_eq(full_updates, 1);
	cr_assert_eq(full_deletes, 1);
	lk_arena_free(&keep);
	free_capture(v, n);
}

/* Field order checked against PostgreSQL itself: LSNs, xids, GIDs and times
 * that must agree across messages of one transaction. */
Test(capture, transaction_fields_are_consistent)
{
	size_t n;
	cap_msg *v = load_capture(&n);
	pgo_decoder dec[5];
	for (int p = 1; p <= 4; p++)
		pgo_decoder_init(&dec[p], p);
	int64_t now = pgo_time_from_unix_micros((int64_t) time(NULL) * 1000000);
	int64_t day = INT64_C(86400000000);
	pgo_begin begin = {0};
	bool in_txn = false;
	uint32_t streamed[16];
	int nstreamed = 0, commits = 0, stream_commits = 0, sub_aborts = 0, top_aborts = 0;
	int two_phase = 0;
	pgo_prepare bp = {0}, prep[2] = {{0}};
	char gid_bp[64] = "", gids[2][64] = {"", ""};
	for (size_t i = 0; i < n; i++) {
		pgo_msg m;
		lk_error err;
		cr_assert(pgo_decode(&dec[v[i].proto], v[i].data, v[i].len, &arena, &m, &err));
		uint64_t lsn;
		cr_assert(pgo_lsn_parse(v[i].lsn, &lsn));
		switch (m.type) {
		case 'B':
			cr_assert_not(in_txn);
			begin = m.begin;
			in_txn = true;
			/* now, or the time pg_replication_origin_xact_setup() gave
			 * the origin's transaction: 2024-01-01 00:00:00 UTC */
			cr_assert((begin.commit_time > now - day && begin.commit_time < now + day) ||
					  begin.commit_time == INT64_C(757382400000000),
					  "begin commit time %lld", (long long) begin.commit_time);
			cr_assert_gt(begin.xid, 0u);
			break;
		case 'C':
			cr_assert(in_txn);
			in_txn = false;
			commits++;
			cr_assert_eq(m.commit.flags, 0);
			cr_assert_eq(m.commit.commit_lsn, begin.final_lsn, "begin's final lsn is the commit lsn");
			cr_assert_gt(m.commit.end_lsn, m.commit.commit_lsn);
			cr_assert_eq(m.commit.commit_time, begin.commit_time);
			cr_assert_eq(lsn, m.commit.end_lsn, "the row lsn of a commit is its end lsn (%s)", v[i].lsn);
			break;
		case 'S':
			if (m.stream_start.first_segment) {
				cr_assert_lt(nstreamed, 16);
				streamed[nstreamed++] = m.stream_start.xid;
			}
			break;
		case 'c':
		case 'A': {
			uint32_t xid = m.type == 'c' ? m.stream_commit.xid : m.stream_abort.xid;
			bool known = false;
			for (int k = 0; k < nstreamed; k++)
				known |= streamed[k] == xid;
			cr_assert(known, "'%c' for xid %u that never started streaming", m.type, xid);
			if (m.type == 'c') {
				stream_commits++;
				cr_assert_gt(m.stream_commit.end_lsn, m.stream_commit.commit_lsn);
				cr_assert(m.stream_commit.commit_time > now - day &&
						  m.stream_commit.commit_time < now + day);
			} else if (m.stream_abort.subxid == xid) {
				top_aborts++;
			} else {
				sub_aborts++;
				cr_assert_gt(m.stream_abort.subxid, xid, "a subxact xid follows its parent's");
			}
			break;
		}
		case 'b':
			bp = m.prepare;
			snprintf(gid_bp, sizeof(gid_bp), "%s", m.prepare.gid);
			cr_assert(in_txn == false);
			break;
		case 'P': {
			cr_assert_str_eq(m.prepare.gid, gid_bp);
			cr_assert_eq(m.prepare.lsn, bp.lsn);
			cr_assert_eq(m.prepare.end_lsn, bp.end_lsn);
			cr_assert_eq(m.prepare.xid, bp.xid);
			cr_assert_eq(m.prepare.time, bp.time);
			cr_assert_gt(m.prepare.end_lsn, m.prepare.lsn);
			int k = strcmp(m.prepare.gid, "lk_gid_1") == 0 ? 0 : 1;
			cr_assert(k == 0 || strcmp(m.prepare.gid, "lk_gid_2") == 0);
			prep[k] = m.prepare;
			snprintf(gids[k], sizeof(gids[k]), "%s", m.prepare.gid);
			two_phase++;
			break;
		}
		case 'K':
			cr_assert_str_eq(m.prepare.gid, "lk_gid_1");
			cr_assert_eq(m.prepare.xid, prep[0].xid);
			/* the COMMIT PREPARED record starts at or after the PREPARE's end */
			cr_assert_geq(m.prepare.lsn, prep[0].end_lsn);
			cr_assert_gt(m.prepare.end_lsn, m.prepare.lsn);
			cr_assert_geq(m.prepare.time, prep[0].time);
			two_phase++;
			break;
		case 'r':
			cr_assert_str_eq(m.rollback.gid, "lk_gid_2");
			cr_assert_eq(m.rollback.xid, prep[1].xid);
			cr_assert_eq(m.rollback.prepare_end_lsn, prep[1].end_lsn);
			cr_assert_gt(m.rollback.rollback_end_lsn, m.rollback.prepare_end_lsn);
			cr_assert_eq(m.rollback.prepare_time, prep[1].time);
			cr_assert_geq(m.rollback.rollback_time, m.rollback.prepare_time);
			two_phase++;
			break;
		}
		lk_arena_reset(&arena);
	}
	cr_assert_not(in_txn);
	cr_assert_gt(commits, 10);
	cr_assert_geq(stream_commits, 2, "a streamed commit per slot at least, got %d (aborts %d/%d, streams %d)", stream_commits, top_aborts, sub_aborts, nstreamed);
	cr_assert_eq(top_aborts, 2, "one aborted streamed transaction per slot");
	cr_assert_geq(sub_aborts, 2, "the rolled back savepoint, on each slot");
	cr_assert_eq(two_phase, 4, "P, K, P, r on the two-phase slot");
	free_capture(v, n);
}
