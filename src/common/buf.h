/*
 * buf.h — growable byte buffer, and a bounds-checked read cursor.
 *
 * lk_buf owns its bytes (malloc); lk_buf_free() releases them.
 * lk_cursor points into memory it does not own; every get checks bounds and
 * fails with LK_ERR_CORRUPT naming the offset (CONVENTIONS "Decoders").
 */
#ifndef LK_BUF_H
#define LK_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef struct lk_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
} lk_buf;

#define LK_BUF_INIT {NULL, 0, 0}

void lk_buf_init(lk_buf *b);
void lk_buf_free(lk_buf *b);
/* Ensure room for n more bytes (aborts on out-of-memory). */
void lk_buf_reserve(lk_buf *b, size_t n);
void lk_buf_reset(lk_buf *b);              /* len = 0, keep memory */
void lk_buf_append(lk_buf *b, const void *p, size_t n);
void lk_buf_append_byte(lk_buf *b, uint8_t v);
void lk_buf_append_str(lk_buf *b, const char *s);
void lk_buf_printf(lk_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void lk_buf_append_u32le(lk_buf *b, uint32_t v);
void lk_buf_append_u64le(lk_buf *b, uint64_t v);
/* Unsigned LEB128 varint / zigzag varint (thrift compact, parquet RLE). */
void lk_buf_append_uvarint(lk_buf *b, uint64_t v);
void lk_buf_append_zigzag(lk_buf *b, int64_t v);
/* NUL-terminate without counting the NUL in len; returns data as char*. */
char *lk_buf_cstr(lk_buf *b);
/* Take ownership of the bytes: returns data, leaves b empty. */
uint8_t *lk_buf_detach(lk_buf *b, size_t *len);

/* Read cursor over [data, data+len). `base` is the absolute offset of data
 * in its file (for messages). */
typedef struct lk_cursor {
	const uint8_t *data;
	size_t len;
	size_t pos;
	uint64_t base;
	lk_error *err;
} lk_cursor;

void lk_cursor_init(lk_cursor *c, const void *data, size_t len,
					uint64_t base, lk_error *err);
static inline size_t lk_cursor_left(const lk_cursor *c) { return c->len - c->pos; }
bool lk_cursor_need(lk_cursor *c, size_t n);   /* error if fewer than n left */
bool lk_cursor_get_u8(lk_cursor *c, uint8_t *v);
bool lk_cursor_get_u16be(lk_cursor *c, uint16_t *v);
bool lk_cursor_get_u32be(lk_cursor *c, uint32_t *v);
bool lk_cursor_get_u64be(lk_cursor *c, uint64_t *v);
bool lk_cursor_get_u32le(lk_cursor *c, uint32_t *v);
bool lk_cursor_get_u64le(lk_cursor *c, uint64_t *v);
bool lk_cursor_get_uvarint(lk_cursor *c, uint64_t *v);
bool lk_cursor_get_zigzag(lk_cursor *c, int64_t *v);
/* Points into the cursor's memory, not a copy. */
bool lk_cursor_get_bytes(lk_cursor *c, size_t n, const uint8_t **p);
/* NUL-terminated string (pgoutput); *s points into the data. */
bool lk_cursor_get_cstr(lk_cursor *c, const char **s, size_t *n);
bool lk_cursor_skip(lk_cursor *c, size_t n);
/* Error unless every byte was consumed. */
bool lk_cursor_expect_end(lk_cursor *c, const char *what);

#endif
