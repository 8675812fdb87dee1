/*
 * fuzz_pgoutput.c — libFuzzer target over the pgoutput decoder (and the
 * replication framing and the pgtypes text parsers).
 *
 * Input: byte 0 is a header, the rest the payload.
 *   bits 0-1  protocol version - 1
 *   bit 2     in_stream (stateless modes)
 *   bit 3     sequence mode: payload = { Int16 len, len bytes }*, fed to one
 *             stateful pgo_decoder
 *   bit 4     framing mode: payload is one CopyData message; an XLogData's
 *             data is then decoded as a pgoutput message
 *   bit 5     pgtypes mode: payload byte 0 picks a type, the rest is text
 *   otherwise one pgoutput message, stateless.
 *
 * Oracles besides the sanitizers: a message that decodes must re-encode to
 * exactly the input bytes; a failure must fill err's message and location.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/batch.h"
#include "common/buf.h"
#include "common/error.h"
#include "pg/pgoutput.h"
#include "pg/pgtypes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_error(const lk_error *err)
{
	if (err->code == LK_OK || !err->msg[0] || !err->where[0]) {
		fprintf(stderr, "failure without a complete error: code %d msg \"%s\" where \"%s\"\n",
				err->code, err->msg, err->where);
		abort();
	}
}

static void
check_reencode(const pgo_msg *m, const uint8_t *data, size_t len)
{
	lk_buf b = LK_BUF_INIT;
	if (!pgo_write_msg(&b, m) || b.len != len ||
		(len && memcmp(b.data, data, len) != 0)) {
		fprintf(stderr, "message '%c' (%zu bytes) re-encodes to %zu different bytes\n",
				m->type, len, b.len);
		abort();
	}
	lk_buf_free(&b);
}

static void
one_message(const uint8_t *data, size_t len, int proto, bool in_stream,
			lk_arena *a)
{
	pgo_msg m;
	lk_error err;
	lk_error_clear(&err);
	if (pgo_decode_message(data, len, proto, in_stream, a, &m, &err))
		check_reencode(&m, data, len);
	else
		check_error(&err);
}

static void
sequence(const uint8_t *data, size_t size, int proto, lk_arena *a)
{
	pgo_decoder d;
	pgo_decoder_init(&d, proto);
	size_t pos = 0;
	while (size - pos >= 2) {
		size_t n = (size_t) data[pos] << 8 | data[pos + 1];
		pos += 2;
		if (n > size - pos)
			n = size - pos;
		pgo_msg m;
		lk_error err;
		lk_error_clear(&err);
		bool was_in = d.in_stream;
		if (pgo_decode(&d, data + pos, n, a, &m, &err)) {
			check_reencode(&m, data + pos, n);
			if ((m.type == PGO_STREAM_START && (was_in || !d.in_stream)) ||
				(m.type == PGO_STREAM_STOP && (!was_in || d.in_stream))) {
				fprintf(stderr, "stream state not followed\n");
				abort();
			}
		} else {
			check_error(&err);
			if (d.in_stream != was_in) {
				fprintf(stderr, "stream state changed by a failed decode\n");
				abort();
			}
		}
		pos += n;
		lk_arena_reset(a);
	}
}

static void
framing(const uint8_t *data, size_t size, int proto, bool in_stream, lk_arena *a)
{
	pgo_copy_msg cm;
	lk_error err;
	lk_error_clear(&err);
	if (!pgo_decode_copy(data, size, &cm, &err)) {
		check_error(&err);
		return;
	}
	lk_buf b = LK_BUF_INIT;
	switch (cm.type) {
	case PGO_COPY_XLOGDATA: pgo_write_xlogdata(&b, &cm.xlogdata); break;
	case PGO_COPY_KEEPALIVE: pgo_write_keepalive(&b, &cm.keepalive); break;
	case PGO_COPY_STANDBY_STATUS: pgo_write_standby_status(&b, &cm.status); break;
	default: abort();
	}
	if (b.len != size || memcmp(b.data, data, size) != 0) {
		fprintf(stderr, "copy message '%c' re-encodes differently\n", cm.type);
		abort();
	}
	lk_buf_free(&b);
	if (cm.type == PGO_COPY_XLOGDATA)
		one_message(cm.xlogdata.data, cm.xlogdata.len, proto, in_stream, a);
}

static void
types(const uint8_t *data, size_t size, lk_arena *a)
{
	static const struct {
		uint32_t oid;
		int32_t typmod;
	} pick[] = {
		{PGT_OID_BOOL, -1}, {PGT_OID_INT2, -1}, {PGT_OID_INT4, -1},
		{PGT_OID_INT8, -1}, {PGT_OID_FLOAT4, -1}, {PGT_OID_FLOAT8, -1},
		{PGT_OID_NUMERIC, (38 << 16 | 10) + 4}, {PGT_OID_NUMERIC, (5 << 16 | 0) + 4},
		{PGT_OID_NUMERIC, -1}, {PGT_OID_BYTEA, -1}, {PGT_OID_UUID, -1},
		{PGT_OID_DATE, -1}, {PGT_OID_TIMESTAMP, -1}, {PGT_OID_TIMESTAMPTZ, -1},
		{PGT_OID_TEXT, -1}, {PGT_OID_INT4_ARRAY, -1}, {PGT_OID_TEXT_ARRAY, -1},
		{PGT_OID_TIMESTAMPTZ_ARRAY, -1}, {PGT_OID_NUMERIC_ARRAY, (10 << 16 | 2) + 4},
		{PGT_OID_BYTEA_ARRAY, -1}, {1020 /* box[]: ';' */, -1},
	};
	if (size < 1)
		return;
	size_t k = data[0] % (sizeof(pick) / sizeof(pick[0]));
	const pgt_conv *conv = pgt_map_oid(a, pick[k].oid, pick[k].typmod, 0);
	lk_column col;
	lk_column_init(&col, conv->type);
	lk_error err;
	/* twice: the second append must not see debris of the first */
	for (int i = 0; i < 2; i++) {
		int64_t before = col.length;
		int64_t child = col.nchildren ? col.children[0].length : 0;
		lk_error_clear(&err);
		bool ok = pgt_append_text(conv, &col, "c", (const char *) data + 1, size - 1, &err);
		if (ok != (col.length == before + 1) ||
			(!ok && col.nchildren && col.children[0].length != child)) {
			fprintf(stderr, "column changed by a failed append\n");
			abort();
		}
		if (!ok)
			check_error(&err);
	}
	lk_column_destroy(&col);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t h = data[0];
	int proto = (h & 3) + 1;
	bool in_stream = (h & 4) != 0;
	lk_arena a;
	lk_arena_init(&a, 4096);
	if (h & 0x20)
		types(data + 1, size - 1, &a);
	else if (h & 0x10)
		framing(data + 1, size - 1, proto, in_stream, &a);
	else if (h & 0x08)
		sequence(data + 1, size - 1, proto, &a);
	else
		one_message(data + 1, size - 1, proto, in_stream, &a);
	lk_arena_free(&a);
	return 0;
}
