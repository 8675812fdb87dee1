#include "common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"

void
lk_buf_init(lk_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
lk_buf_free(lk_buf *b)
{
	free(b->data);
	lk_buf_init(b);
}

void
lk_buf_reserve(lk_buf *b, size_t n)
{
	if (b->cap - b->len >= n)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2) {
			cap = b->len + n;
			break;
		}
		cap *= 2;
	}
	b->data = lk_xrealloc(b->data, cap);
	b->cap = cap;
}

void
lk_buf_reset(lk_buf *b)
{
	b->len = 0;
}

void
lk_buf_append(lk_buf *b, const void *p, size_t n)
{
	if (!n)
		return;
	lk_buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void
lk_buf_append_byte(lk_buf *b, uint8_t v)
{
	lk_buf_reserve(b, 1);
	b->data[b->len++] = v;
}

void
lk_buf_append_str(lk_buf *b, const char *s)
{
	lk_buf_append(b, s, strlen(s));
}

void
lk_buf_printf(lk_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	lk_buf_reserve(b, (size_t) n + 1);
	va_start(ap, fmt);
	vsnprintf((char *) b->data + b->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t) n;
}

void
lk_buf_append_u32le(lk_buf *b, uint32_t v)
{
	uint8_t t[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24};
	lk_buf_append(b, t, 4);
}

void
lk_buf_append_u64le(lk_buf *b, uint64_t v)
{
	lk_buf_append_u32le(b, (uint32_t) v);
	lk_buf_append_u32le(b, (uint32_t) (v >> 32));
}

void
lk_buf_append_uvarint(lk_buf *b, uint64_t v)
{
	lk_buf_reserve(b, 10);
	while (v >= 0x80) {
		b->data[b->len++] = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	b->data[b->len++] = (uint8_t) v;
}

void
lk_buf_append_zigzag(lk_buf *b, int64_t v)
{
	lk_buf_append_uvarint(b, ((uint64_t) v << 1) ^ (uint64_t) (v >> 63));
}

char *
lk_buf_cstr(lk_buf *b)
{
	lk_buf_reserve(b, 1);
	b->data[b->len] = '\0';
	return (char *) b->data;
}

uint8_t *
lk_buf_detach(lk_buf *b, size_t *len)
{
	uint8_t *p = b->data;
	if (len)
		*len = b->len;
	lk_buf_init(b);
	return p;
}

void
lk_cursor_init(lk_cursor *c, const void *data, size_t len, uint64_t base,
			   lk_error *err)
{
	c->data = data;
	c->len = len;
	c->pos = 0;
	c->base = base;
	c->err = err;
}

bool
lk_cursor_need(lk_cursor *c, size_t n)
{
	if (c->len - c->pos < n) {
		lk_error_set(c->err, LK_ERR_CORRUPT,
					 "unexpected end of data: need %zu bytes, %zu left", n,
					 c->len - c->pos);
		lk_error_where(c->err, "byte offset %llu",
					   (unsigned long long) (c->base + c->pos));
		return false;
	}
	return true;
}

bool
lk_cursor_get_u8(lk_cursor *c, uint8_t *v)
{
	LK_FORWARD(lk_cursor_need(c, 1));
	*v = c->data[c->pos++];
	return true;
}

bool
lk_cursor_get_u16be(lk_cursor *c, uint16_t *v)
{
	LK_FORWARD(lk_cursor_need(c, 2));
	const uint8_t *p = c->data + c->pos;
	*v = (uint16_t) ((p[0] << 8) | p[1]);
	c->pos += 2;
	return true;
}

bool
lk_cursor_get_u32be(lk_cursor *c, uint32_t *v)
{
	LK_FORWARD(lk_cursor_need(c, 4));
	const uint8_t *p = c->data + c->pos;
	*v = ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		 ((uint32_t) p[2] << 8) | p[3];
	c->pos += 4;
	return true;
}

bool
lk_cursor_get_u64be(lk_cursor *c, uint64_t *v)
{
	uint32_t hi, lo;
	LK_FORWARD(lk_cursor_get_u32be(c, &hi));
	LK_FORWARD(lk_cursor_get_u32be(c, &lo));
	*v = ((uint64_t) hi << 32) | lo;
	return true;
}

bool
lk_cursor_get_u32le(lk_cursor *c, uint32_t *v)
{
	LK_FORWARD(lk_cursor_need(c, 4));
	const uint8_t *p = c->data + c->pos;
	*v = ((uint32_t) p[3] << 24) | ((uint32_t) p[2] << 16) |
		 ((uint32_t) p[1] << 8) | p[0];
	c->pos += 4;
	return true;
}

bool
lk_cursor_get_u64le(lk_cursor *c, uint64_t *v)
{
	uint32_t lo, hi;
	LK_FORWARD(lk_cursor_get_u32le(c, &lo));
	LK_FORWARD(lk_cursor_get_u32le(c, &hi));
	*v = ((uint64_t) hi << 32) | lo;
	return true;
}

bool
lk_cursor_get_uvarint(lk_cursor *c, uint64_t *v)
{
	uint64_t r = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		uint8_t byte;
		LK_FORWARD(lk_cursor_get_u8(c, &byte));
		r |= (uint64_t) (byte & 0x7f) << shift;
		if (!(byte & 0x80)) {
			*v = r;
			return true;
		}
	}
	lk_error_set(c->err, LK_ERR_CORRUPT, "varint longer than 10 bytes");
	return lk_error_where(c->err, "byte offset %llu",
						  (unsigned long long) (c->base + c->pos));
}

bool
lk_cursor_get_zigzag(lk_cursor *c, int64_t *v)
{
	uint64_t u;
	LK_FORWARD(lk_cursor_get_uvarint(c, &u));
	*v = (int64_t) (u >> 1) ^ -(int64_t) (u & 1);
	return true;
}

bool
lk_cursor_get_bytes(lk_cursor *c, size_t n, const uint8_t **p)
{
	LK_FORWARD(lk_cursor_need(c, n));
	*p = c->data + c->pos;
	c->pos += n;
	return true;
}

bool
lk_cursor_get_cstr(lk_cursor *c, const char **s, size_t *n)
{
	const uint8_t *start = c->data + c->pos;
	const uint8_t *nul = memchr(start, '\0', c->len - c->pos);
	if (!nul) {
		lk_error_set(c->err, LK_ERR_CORRUPT, "unterminated string");
		return lk_error_where(c->err, "byte offset %llu",
							  (unsigned long long) (c->base + c->pos));
	}
	*s = (const char *) start;
	if (n)
		*n = (size_t) (nul - start);
	c->pos += (size_t) (nul - start) + 1;
	return true;
}

bool
lk_cursor_skip(lk_cursor *c, size_t n)
{
	LK_FORWARD(lk_cursor_need(c, n));
	c->pos += n;
	return true;
}

bool
lk_cursor_expect_end(lk_cursor *c, const char *what)
{
	if (c->pos != c->len) {
		lk_error_set(c->err, LK_ERR_CORRUPT,
					 "%zu trailing bytes after %s", c->len - c->pos, what);
		return lk_error_where(c->err, "byte offset %llu",
							  (unsigned long long) (c->base + c->pos));
	}
	return true;
}
