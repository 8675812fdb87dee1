#include "common/batch.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/arena.h"

void
lk_column_init(lk_column *c, const lk_type *type)
{
	memset(c, 0, sizeof(*c));
	c->type = type;
	if (type->nchildren) {
		c->nchildren = type->nchildren;
		c->children = lk_xcalloc((size_t) type->nchildren, sizeof(lk_column));
		for (int i = 0; i < type->nchildren; i++)
			lk_column_init(&c->children[i], type->children[i].type);
	}
}

void
lk_column_destroy(lk_column *c)
{
	for (int i = 0; i < c->nchildren; i++)
		lk_column_destroy(&c->children[i]);
	free(c->children);
	free(c->validity);
	free(c->values);
	free(c->offsets);
	free(c->data);
	memset(c, 0, sizeof(*c));
}

void
lk_column_reset(lk_column *c)
{
	c->length = 0;
	c->null_count = 0;
	c->data_len = 0;
	if (c->validity) {
		free(c->validity);
		c->validity = NULL;
	}
	if (c->offsets)
		c->offsets[0] = 0;
	for (int i = 0; i < c->nchildren; i++)
		lk_column_reset(&c->children[i]);
}

static bool
has_offsets(const lk_type *t)
{
	return t->id == LK_T_STRING || t->id == LK_T_BINARY ||
		   t->id == LK_T_ARRAY || t->id == LK_T_MAP;
}

void
lk_column_reserve(lk_column *c, int64_t n)
{
	if (c->length + n <= c->cap)
		return;
	int64_t cap = c->cap ? c->cap : 64;
	while (cap < c->length + n)
		cap *= 2;
	size_t w = lk_type_width(c->type);
	if (w)
		c->values = lk_xrealloc(c->values, (size_t) cap * w);
	if (has_offsets(c->type)) {
		bool fresh = c->offsets == NULL;
		c->offsets = lk_xrealloc(c->offsets, (size_t) (cap + 1) * sizeof(int64_t));
		if (fresh)
			c->offsets[0] = 0;
	}
	if (c->validity) {
		size_t old = (size_t) (c->cap + 7) / 8, nw = (size_t) (cap + 7) / 8;
		c->validity = lk_xrealloc(c->validity, nw);
		memset(c->validity + old, 0xff, nw - old); /* valid by default */
	}
	c->cap = cap;
}

void
lk_column_reserve_data(lk_column *c, int64_t n)
{
	/* data is never left NULL once reserved, so callers may memcpy zero
	 * bytes to it */
	if (c->data_len + n <= c->data_cap && c->data)
		return;
	int64_t cap = c->data_cap ? c->data_cap : 256;
	while (cap < c->data_len + n)
		cap *= 2;
	c->data = lk_xrealloc(c->data, (size_t) cap);
	c->data_cap = cap;
}

void
lk_column_set_null(lk_column *c, int64_t i)
{
	if (!c->validity) {
		size_t nb = (size_t) (c->cap + 7) / 8;
		c->validity = lk_xmalloc(nb ? nb : 1);
		memset(c->validity, 0xff, nb ? nb : 1);
	}
	if (c->validity[i >> 3] & (1u << (i & 7))) {
		c->validity[i >> 3] &= (uint8_t) ~(1u << (i & 7));
		c->null_count++;
	}
}

/* The bitmap, when present, must have bit `length` set valid by default:
 * appenders write a valid bit explicitly. */
static inline void
mark_valid(lk_column *c, int64_t i)
{
	if (c->validity)
		c->validity[i >> 3] |= (uint8_t) (1u << (i & 7));
}

void
lk_column_append_null(lk_column *c)
{
	lk_column_reserve(c, 1);
	int64_t i = c->length;
	size_t w = lk_type_width(c->type);
	if (w)
		memset((char *) c->values + (size_t) i * w, 0, w);
	if (c->type->id == LK_T_STRING || c->type->id == LK_T_BINARY)
		c->offsets[i + 1] = c->data_len;
	else if (c->type->id == LK_T_ARRAY || c->type->id == LK_T_MAP)
		c->offsets[i + 1] = c->children[0].length;
	else if (c->type->id == LK_T_STRUCT)
		for (int k = 0; k < c->nchildren; k++)
			lk_column_append_null(&c->children[k]);
	c->length++;
	lk_column_set_null(c, i);
}

void
lk_column_append_fixed(lk_column *c, const void *value)
{
	size_t w = lk_type_width(c->type);
	lk_column_reserve(c, 1);
	memcpy((char *) c->values + (size_t) c->length * w, value, w);
	mark_valid(c, c->length);
	c->length++;
}

void
lk_column_append_bool(lk_column *c, bool v)
{
	uint8_t b = v ? 1 : 0;
	lk_column_append_fixed(c, &b);
}

void
lk_column_append_i32(lk_column *c, int32_t v)
{
	lk_column_append_fixed(c, &v);
}

void
lk_column_append_i64(lk_column *c, int64_t v)
{
	lk_column_append_fixed(c, &v);
}

void
lk_column_append_f64(lk_column *c, double v)
{
	if (c->type->id == LK_T_FLOAT) {
		float f = (float) v;
		lk_column_append_fixed(c, &f);
	} else {
		lk_column_append_fixed(c, &v);
	}
}

void
lk_column_append_i128(lk_column *c, lk_int128 v)
{
	lk_column_append_fixed(c, &v);
}

void
lk_column_append_bytes(lk_column *c, const void *p, int64_t n)
{
	lk_column_reserve(c, 1);
	lk_column_reserve_data(c, n);
	if (n)
		memcpy(c->data + c->data_len, p, (size_t) n);
	c->data_len += n;
	c->offsets[c->length + 1] = c->data_len;
	mark_valid(c, c->length);
	c->length++;
}

void
lk_column_append_struct(lk_column *c)
{
	lk_column_reserve(c, 1);
	mark_valid(c, c->length);
	c->length++;
}

void
lk_column_append_list(lk_column *c)
{
	lk_column_reserve(c, 1);
	c->offsets[c->length + 1] = c->children[0].length;
	mark_valid(c, c->length);
	c->length++;
}

void
lk_column_append_range(lk_column *dst, const lk_column *src, int64_t from,
					   int64_t n)
{
	const lk_type *t = src->type;
	size_t w = lk_type_width(t);

	if (n <= 0)
		return;
	lk_column_reserve(dst, n);
	int64_t d0 = dst->length;
	if (w) {
		memcpy((char *) dst->values + (size_t) d0 * w,
			   (char *) src->values + (size_t) from * w, (size_t) n * w);
	} else if (lk_type_is_varlen(t)) {
		int64_t b0 = src->offsets[from], b1 = src->offsets[from + n];
		lk_column_reserve_data(dst, b1 - b0);
		if (b1 > b0)
			memcpy(dst->data + dst->data_len, src->data + b0, (size_t) (b1 - b0));
		for (int64_t i = 0; i < n; i++)
			dst->offsets[d0 + i + 1] =
				dst->data_len + (src->offsets[from + i + 1] - b0);
		dst->data_len += b1 - b0;
	} else if (t->id == LK_T_ARRAY || t->id == LK_T_MAP) {
		int64_t e0 = src->offsets[from], e1 = src->offsets[from + n];
		int64_t base = dst->children[0].length;
		for (int k = 0; k < dst->nchildren; k++)
			lk_column_append_range(&dst->children[k], &src->children[k], e0,
								   e1 - e0);
		for (int64_t i = 0; i < n; i++)
			dst->offsets[d0 + i + 1] = base + (src->offsets[from + i + 1] - e0);
	} else if (t->id == LK_T_STRUCT) {
		for (int k = 0; k < dst->nchildren; k++)
			lk_column_append_range(&dst->children[k], &src->children[k], from, n);
	}
	dst->length += n;
	for (int64_t i = 0; i < n; i++) {
		if (lk_column_is_null(src, from + i))
			lk_column_set_null(dst, d0 + i);
		else
			mark_valid(dst, d0 + i);
	}
}

bool
lk_column_row_equal(const lk_column *a, int64_t i, const lk_column *b, int64_t j)
{
	bool na = lk_column_is_null(a, i), nb = lk_column_is_null(b, j);
	if (na || nb)
		return na == nb;
	const lk_type *t = a->type;
	size_t w = lk_type_width(t);
	if (w)
		return memcmp((char *) a->values + (size_t) i * w,
					  (char *) b->values + (size_t) j * w, w) == 0;
	if (lk_type_is_varlen(t)) {
		int64_t la, lb;
		const uint8_t *pa = lk_column_bytes(a, i, &la);
		const uint8_t *pb = lk_column_bytes(b, j, &lb);
		return la == lb && (la == 0 || memcmp(pa, pb, (size_t) la) == 0);
	}
	if (t->id == LK_T_STRUCT) {
		for (int k = 0; k < a->nchildren; k++)
			if (!lk_column_row_equal(&a->children[k], i, &b->children[k], j))
				return false;
		return true;
	}
	/* array / map */
	int64_t a0 = a->offsets[i], a1 = a->offsets[i + 1];
	int64_t b0 = b->offsets[j], b1 = b->offsets[j + 1];
	if (a1 - a0 != b1 - b0)
		return false;
	for (int64_t e = 0; e < a1 - a0; e++)
		for (int k = 0; k < a->nchildren; k++)
			if (!lk_column_row_equal(&a->children[k], a0 + e, &b->children[k],
									 b0 + e))
				return false;
	return true;
}

lk_batch *
lk_batch_new(const lk_type *schema)
{
	lk_batch *b = lk_xcalloc(1, sizeof(*b));
	b->schema = schema;
	b->ncols = schema->nchildren;
	b->cols = lk_xcalloc((size_t) (b->ncols ? b->ncols : 1), sizeof(lk_column));
	for (int i = 0; i < b->ncols; i++)
		lk_column_init(&b->cols[i], schema->children[i].type);
	return b;
}

void
lk_batch_free(lk_batch *b)
{
	if (!b)
		return;
	for (int i = 0; i < b->ncols; i++)
		lk_column_destroy(&b->cols[i]);
	free(b->cols);
	free(b);
}

void
lk_batch_reset(lk_batch *b)
{
	for (int i = 0; i < b->ncols; i++)
		lk_column_reset(&b->cols[i]);
	b->nrows = 0;
}

bool
lk_batch_seal(lk_batch *b)
{
	if (b->ncols == 0)
		return true;
	b->nrows = b->cols[0].length;
	for (int i = 1; i < b->ncols; i++)
		if (b->cols[i].length != b->nrows)
			return false;
	return true;
}

char *
lk_decimal_to_string(lk_int128 v, int scale, char *buf)
{
	char tmp[64];
	int n = 0;
	bool neg = v < 0;
	unsigned __int128 u = neg ? (unsigned __int128) 0 - (unsigned __int128) v
							  : (unsigned __int128) v;
	do {
		tmp[n++] = (char) ('0' + (int) (u % 10));
		u /= 10;
	} while (u);
	while (n <= scale)
		tmp[n++] = '0';
	char *p = buf;
	if (neg)
		*p++ = '-';
	for (int i = n - 1; i >= 0; i--) {
		*p++ = tmp[i];
		if (i == scale && scale > 0)
			*p++ = '.';
	}
	*p = '\0';
	return buf;
}

bool
lk_decimal_parse(const char *s, size_t n, int precision, int scale,
				 lk_int128 *out)
{
	size_t i = 0;
	bool neg = false;
	int int_digits = 0, frac_digits = 0;
	unsigned __int128 u = 0;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	if (i == n)
		return false;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		if (int_digits || s[i] != '0')
			int_digits++;
		u = u * 10 + (unsigned) (s[i] - '0');
		if (int_digits > 38)
			return false;
	}
	if (i < n && s[i] == '.') {
		i++;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			if (frac_digits == scale) {
				if (s[i] != '0')
					return false; /* would need rounding */
				continue;
			}
			u = u * 10 + (unsigned) (s[i] - '0');
			frac_digits++;
		}
	}
	if (i != n)
		return false;
	for (; frac_digits < scale; frac_digits++)
		u *= 10;
	if (int_digits > precision - scale)
		return false;
	*out = neg ? -(lk_int128) u : (lk_int128) u;
	return true;
}
