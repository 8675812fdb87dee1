/*
 * load.c — lk_batch rows → PostgreSQL COPY text, DDL, COPY FROM STDIN (see
 * load.h for the type table).
 *
 * COPY text format (what the server's CopyReadAttributesText accepts):
 *
 *   row    := field ( '\t' field )* '\n'
 *   field  := '\N'                       (null)
 *           | escaped bytes              '\\' → \\\\, '\n' → \\n,
 *                                        '\r' → \\r,  '\t' → \\t
 *
 * A value goes through up to three layers, innermost first:
 *   JSON string escaping   (inside jsonb: struct/map values, strings)
 *   array element quoting  ("…" with \" and \\ when the element is empty,
 *                           NULL-like, or has {}",\ or white space)
 *   COPY escaping          (the whole field)
 * Scalars that can never contain a special byte (numbers, dates,
 * timestamps) skip the scratch buffers and go straight to the output.
 */
#include "pg/load.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pg/pgtypes.h"

/* ---- identifiers and literals --------------------------------------------- */

void
pgl_quote_ident(lk_buf *b, const char *s)
{
	lk_buf_append_byte(b, '"');
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			lk_buf_append_byte(b, '"');
		lk_buf_append_byte(b, (uint8_t) *p);
	}
	lk_buf_append_byte(b, '"');
}

void
pgl_quote_literal(lk_buf *b, const char *s)
{
	if (strchr(s, '\\'))
		lk_buf_append_byte(b, 'E');
	lk_buf_append_byte(b, '\'');
	for (const char *p = s; *p; p++) {
		if (*p == '\'' || *p == '\\')
			lk_buf_append_byte(b, (uint8_t) *p);
		lk_buf_append_byte(b, (uint8_t) *p);
	}
	lk_buf_append_byte(b, '\'');
}

void
pgl_quote_qualified(lk_buf *b, const char *schema, const char *name)
{
	pgl_quote_ident(b, schema);
	lk_buf_append_byte(b, '.');
	pgl_quote_ident(b, name);
}

/* ---- type mapping ------------------------------------------------------------ */

static bool
is_pg_array_element(const lk_type *t)
{
	return t->id != LK_T_ARRAY;
}

static const char *
scalar_sql_type(const lk_type *t, lk_arena *a)
{
	switch (t->id) {
	case LK_T_BOOLEAN: return "boolean";
	case LK_T_BYTE: return "smallint";
	case LK_T_SHORT: return t->is_unsigned ? "integer" : "smallint";
	case LK_T_INT: return t->is_unsigned ? "bigint" : "integer";
	case LK_T_LONG: return t->is_unsigned ? "numeric(20,0)" : "bigint";
	case LK_T_FLOAT: return "real";
	case LK_T_DOUBLE: return "double precision";
	case LK_T_DECIMAL: return lk_arena_sprintf(a, "numeric(%d,%d)", t->precision, t->scale);
	case LK_T_STRING: return t->ext == LK_EXT_JSON ? "jsonb" : "text";
	case LK_T_BINARY:
		return t->ext == LK_EXT_UUID && t->fixed_len == 16 ? "uuid" : "bytea";
	case LK_T_DATE: return "date";
	case LK_T_TIMESTAMP: return "timestamptz";
	case LK_T_TIMESTAMP_NTZ: return "timestamp";
	case LK_T_TIME: return "time";
	case LK_T_STRUCT:
	case LK_T_MAP:
	case LK_T_ARRAY:
		return "jsonb";
	}
	return "text";
}

const char *
pgl_sql_type(const lk_type *t, lk_arena *a)
{
	if (t->id == LK_T_ARRAY) {
		const lk_type *e = t->children[0].type;
		if (!is_pg_array_element(e))
			return "jsonb";
		return lk_arena_sprintf(a, "%s[]", scalar_sql_type(e, a));
	}
	return scalar_sql_type(t, a);
}

bool
pgl_create_table_sql(lk_buf *out, const char *schema, const char *name,
					 const pgl_column *cols, int ncols, bool unlogged,
					 lk_error *err)
{
	for (int i = 0; i < ncols; i++) {
		if (!cols[i].name || !cols[i].name[0])
			return lk_error_set(err, LK_ERR_INVALID, "column %d has an empty name", i + 1);
		for (int k = 0; k < i; k++)
			if (strcmp(cols[k].name, cols[i].name) == 0)
				return lk_error_set(err, LK_ERR_INVALID, "duplicate column name \"%s\"",
									cols[i].name);
	}
	lk_buf_append_str(out, unlogged ? "CREATE UNLOGGED TABLE " : "CREATE TABLE ");
	pgl_quote_qualified(out, schema, name);
	lk_buf_append_str(out, " (");
	for (int i = 0; i < ncols; i++) {
		if (i)
			lk_buf_append_str(out, ", ");
		pgl_quote_ident(out, cols[i].name);
		lk_buf_append_byte(out, ' ');
		lk_buf_append_str(out, cols[i].sql_type);
		if (cols[i].not_null)
			lk_buf_append_str(out, " NOT NULL");
	}
	lk_buf_append_str(out, ")");
	return true;
}

/* ---- numbers ---------------------------------------------------------------- */

/* %.{prec}g-style text of sign, digits d[0..n) (no trailing zeros) and
 * decimal exponent e (value = 0.d × 10^(e+1)) into buf; returns the length. */
static int
format_g(char *buf, bool neg, const char *d, int n, int e, int prec)
{
	char *p = buf;
	if (neg)
		*p++ = '-';
	if (e < -4 || e >= prec) {
		*p++ = d[0];
		if (n > 1) {
			*p++ = '.';
			memcpy(p, d + 1, (size_t) (n - 1));
			p += n - 1;
		}
		p += sprintf(p, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
	} else if (e >= 0) {
		for (int i = 0; i <= e; i++)
			*p++ = i < n ? d[i] : '0';
		if (n > e + 1) {
			*p++ = '.';
			memcpy(p, d + e + 1, (size_t) (n - e - 1));
			p += n - e - 1;
		}
	} else {
		*p++ = '0';
		*p++ = '.';
		for (int i = 0; i < -e - 1; i++)
			*p++ = '0';
		memcpy(p, d, (size_t) n);
		p += n;
	}
	*p = '\0';
	return (int) (p - buf);
}

/* The correctly rounded k significant digits of v (k < 17) into out[k],
 * from its 17-digit form d17/e17; *e gets the exponent. Rounding d17 again
 * is exact unless its tail after k digits is exactly "5000…": every
 * rounding boundary of k digits lies on the 17-digit grid, and v is within
 * half a 17-digit unit of d17, so v and d17 are on the same side of it.
 * That tie case asks printf for the k digits. */
static void
round_digits(double v, const char *d17, int e17, int k, char *out, int *e)
{
	bool tie = d17[k] == '5';
	for (int i = k + 1; tie && i < 17; i++)
		tie = d17[i] == '0';
	if (tie) {
		char tmp[48];
		snprintf(tmp, sizeof(tmp), "%.*e", k - 1, fabs(v));
		out[0] = tmp[0];
		memcpy(out + 1, tmp + 2, (size_t) (k - 1));
		*e = atoi(strchr(tmp, 'e') + 1);
		return;
	}
	memcpy(out, d17, (size_t) k);
	*e = e17;
	if (d17[k] >= '5') {
		int i = k - 1;
		while (i >= 0 && out[i] == '9')
			out[i--] = '0';
		if (i >= 0) {
			out[i]++;
		} else {
			out[0] = '1';       /* 9.99… → 10.0… */
			(*e)++;
		}
	}
}

static int
strip_zeros(const char *d, int n)
{
	while (n > 1 && d[n - 1] == '0')
		n--;
	return n;
}

typedef unsigned __int128 u128;

static const uint64_t pow10_u64[20] = {
	1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
	100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
	10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
	100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull,
};

static u128
pow10_128(int p)
{
	return p <= 19 ? (u128) pow10_u64[p] : (u128) pow10_u64[19] * pow10_u64[p - 19];
}

/* Does the decimal c / 10^p read back to v = m·2^e?  Exactly: |c/10^p − v|
 * against half the gap between doubles, 2^(e−1); a tie reads back when m
 * is even (round half to even). All in 128-bit integers for the ranges
 * fast_double accepts. */
static bool
reads_back(uint64_t c, int p, uint64_t m, int e)
{
	u128 lhs, rhs, mine;
	if (p >= 0 && e < 0) {
		/* |2c·2^s − 2m·10^p| vs 10^p, s = −e */
		mine = (u128) m * pow10_128(p);
		lhs = (u128) c << -e;
		rhs = pow10_128(p);
	} else if (p >= 0) {
		/* |2c − 2m·2^e·10^p| vs 2^e·10^p */
		mine = ((u128) m << e) * pow10_128(p);
		lhs = c;
		rhs = pow10_128(p) << e;
	} else {
		/* |2c·10^q − 2m·2^e| vs 2^e, q = −p */
		mine = (u128) m << e;
		lhs = (u128) c * pow10_128(-p);
		rhs = (u128) 1 << e;
	}
	u128 diff = lhs > mine ? lhs - mine : mine - lhs;
	diff *= 2;
	return diff < rhs || (diff == rhs && (m & 1) == 0);
}

/* v rounded to k < 17 significant digits (half to even on the exact value),
 * from n = floor(v·10^p) (17 digits) and whether v·10^p is exactly n: a
 * tail of exactly half a unit is a tie only then; with a remainder beyond
 * n it is above half. */
static uint64_t
round_k(uint64_t n, int k, bool exact_tail)
{
	uint64_t unit = pow10_u64[17 - k];
	uint64_t q = n / unit, r = n % unit, half = unit / 2;
	if (r > half || (r == half && !exact_tail) || (r == half && exact_tail && (q & 1)))
		q++;
	return q;
}

/* Shortest text of a normal double with 1e-6 ≤ |v| < 1e37 (and not a
 * power of two): exact digits with 128-bit integers, no printf, no strtod.
 * Returns 0 when v is outside that range (the caller falls back). The
 * text is the same as the first of %.15g, %.16g, %.17g that reads back. */
static int
fast_double(double v, char *buf)
{
	uint64_t bits;
	memcpy(&bits, &v, 8);
	int be = (int) ((bits >> 52) & 0x7ff);
	uint64_t frac = bits & ((1ull << 52) - 1);
	double a = fabs(v);
	if (be == 0 || be == 0x7ff || frac == 0 || !(a >= 1e-6 && a < 1e37))
		return 0;
	uint64_t m = frac | (1ull << 52);
	int e = be - 1075;
	int d10 = (int) floor(log10(a));
	uint64_t n = 0;
	bool exact = false;
	int p = 0;
	for (int tries = 0; tries < 3; tries++) {
		p = 16 - d10;
		/* n = floor(v·10^p), exact: no remainder */
		if (p >= 0 && e < 0) {
			u128 x = (u128) m * pow10_128(p);
			n = (uint64_t) (x >> -e);
			exact = (x & (((u128) 1 << -e) - 1)) == 0;
		} else if (p >= 0) {
			n = (uint64_t) (((u128) m << e) * pow10_128(p));
			exact = true;
		} else {
			u128 x = (u128) m << e, d = pow10_128(-p);
			n = (uint64_t) (x / d);
			exact = x % d == 0;
		}
		if (n < pow10_u64[16])
			d10--;
		else if (n >= pow10_u64[17])
			d10++;
		else
			break;
	}
	if (n < pow10_u64[16] || n >= pow10_u64[17])
		return 0;
	bool neg = v < 0;
	char d[24];
	int best = 17;
	uint64_t digits = n;
	/* the 17 correctly rounded digits always read back; try 16, then 15 */
	for (int k = 16; k >= 15; k--) {
		uint64_t q = round_k(n, k, exact);
		if (!reads_back(q * pow10_u64[17 - k], p, m, e))
			break;
		best = k;
		digits = q;
	}
	if (best == 17) {
		/* the 17th digit itself, rounded half to even */
		/* n is the floor; the remainder is below, at or above half? */
		u128 num, den;
		if (p >= 0 && e < 0) {
			num = ((u128) m * pow10_128(p)) & (((u128) 1 << -e) - 1);
			den = (u128) 1 << -e;
		} else if (p >= 0) {
			num = 0;
			den = 1;
		} else {
			num = ((u128) m << e) % pow10_128(-p);
			den = pow10_128(-p);
		}
		if (num * 2 > den || (num * 2 == den && (n & 1)))
			digits = n + 1;
	}
	int exp10 = 16 - p;
	if (digits >= pow10_u64[best]) {      /* 9.99… rounded up */
		digits /= 10;
		exp10++;
	}
	for (int i = best - 1; i >= 0; i--) {
		d[i] = (char) ('0' + digits % 10);
		digits /= 10;
	}
	return format_g(buf, neg, d, strip_zeros(d, best), exp10, best);
}

int
pgl_format_double(double v, char *buf)
{
	if (isnan(v))
		return (int) strlen(strcpy(buf, "NaN"));
	if (isinf(v))
		return (int) strlen(strcpy(buf, v > 0 ? "Infinity" : "-Infinity"));
	if (v == 0)
		return (int) strlen(strcpy(buf, signbit(v) ? "-0" : "0"));
	/* exact integers print as such (fast path, same text as %g would give
	 * below 1e15) */
	if (fabs(v) < 1e15 && v == (double) (int64_t) v)
		return snprintf(buf, 32, "%" PRId64, (int64_t) v);
	int n = fast_double(v, buf);
	if (n > 0)
		return n;
	if (fabs(v) < DBL_MIN) {
		/* subnormals have fewer bits: search from 1 digit */
		for (int p = 1; p <= 17; p++) {
			n = snprintf(buf, 32, "%.*g", p, v);
			if (strtod(buf, NULL) == v)
				break;
		}
		return n;
	}
	/* Any decimal of at most 15 digits reads back exactly to a normal
	 * double, so the correctly rounded 15 digits are the shortest text when
	 * the shortest has ≤ 15 digits; otherwise 16 or 17 digits (17 always
	 * read back). One printf for the 17 digits, one or two strtod. */
	char t[48], d17[17], d[17];
	snprintf(t, sizeof(t), "%.16e", fabs(v));
	d17[0] = t[0];
	memcpy(d17 + 1, t + 2, 16);
	int e17 = atoi(t + 19), e;
	bool neg = v < 0;
	round_digits(v, d17, e17, 16, d, &e);
	n = format_g(buf, neg, d, strip_zeros(d, 16), e, 16);
	if (strtod(buf, NULL) != v)
		return format_g(buf, neg, d17, strip_zeros(d17, 17), e17, 17);
	char d15[17];
	int e15;
	round_digits(v, d17, e17, 15, d15, &e15);
	char b15[32];
	int n15 = format_g(b15, neg, d15, strip_zeros(d15, 15), e15, 15);
	if (strtod(b15, NULL) == v) {
		memcpy(buf, b15, (size_t) n15 + 1);
		return n15;
	}
	return n;
}

int
pgl_format_float(float v, char *buf)
{
	if (isnan(v))
		return (int) strlen(strcpy(buf, "NaN"));
	if (isinf(v))
		return (int) strlen(strcpy(buf, v > 0 ? "Infinity" : "-Infinity"));
	if (v == 0)
		return (int) strlen(strcpy(buf, signbit(v) ? "-0" : "0"));
	int n = 0;
	for (int p = fabsf(v) < FLT_MIN ? 1 : 6; p <= 9; p++) {
		n = snprintf(buf, 32, "%.*g", p, (double) v);
		if (strtof(buf, NULL) == v)
			break;
	}
	return n;
}

static void
put_i64(lk_buf *o, int64_t v)
{
	char tmp[24];
	char *e = tmp + sizeof(tmp), *p = e;
	uint64_t u = v < 0 ? (uint64_t) 0 - (uint64_t) v : (uint64_t) v;
	do {
		*--p = (char) ('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	lk_buf_append(o, p, (size_t) (e - p));
}

static void
put_u64(lk_buf *o, uint64_t u)
{
	char tmp[24];
	char *e = tmp + sizeof(tmp), *p = e;
	do {
		*--p = (char) ('0' + u % 10);
		u /= 10;
	} while (u);
	lk_buf_append(o, p, (size_t) (e - p));
}

/* Unscaled decimal v with `scale` digits after the point ("-0.05"): the
 * text lk_decimal_to_string gives, with 64-bit divisions only. */
static void
put_decimal(lk_buf *o, lk_int128 v, int scale)
{
	char tmp[48];
	char *e = tmp + sizeof(tmp), *p = e;
	unsigned __int128 u = v < 0 ? (unsigned __int128) 0 - (unsigned __int128) v
								: (unsigned __int128) v;
	uint64_t lo = (uint64_t) u, hi = 0;
	bool big = u > UINT64_MAX;
	if (big) {
		hi = (uint64_t) (u / 10000000000000000000ull);
		lo = (uint64_t) (u % 10000000000000000000ull);
	}
	int nd = 0;
	do {
		*--p = (char) ('0' + lo % 10);
		lo /= 10;
		nd++;
	} while (lo || (big && nd < 19));
	while (hi) {
		*--p = (char) ('0' + hi % 10);
		hi /= 10;
		nd++;
	}
	while (nd <= scale) {          /* at least one digit before the point */
		*--p = '0';
		nd++;
	}
	if (v < 0)
		lk_buf_append_byte(o, '-');
	lk_buf_append(o, p, (size_t) (nd - scale));
	if (scale > 0) {
		lk_buf_append_byte(o, '.');
		lk_buf_append(o, e - scale, (size_t) scale);
	}
}

/* ---- dates and times ---------------------------------------------------------- */

static int64_t
floordiv64(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static void
put2(lk_buf *o, int v)
{
	char t[2] = {(char) ('0' + v / 10), (char) ('0' + v % 10)};
	lk_buf_append(o, t, 2);
}

/* YYYY-MM-DD; *bc set for years ≤ 0 (written as 1 - y, "BC" added by the
 * caller at the end of the value). */
static void
put_date(lk_buf *o, int64_t days, bool *bc)
{
	int64_t y;
	int m, d;
	pgt_civil_from_days(days, &y, &m, &d);
	*bc = y <= 0;
	if (*bc)
		y = 1 - y;
	if (y < 1000) {
		char t[4] = {(char) ('0' + y / 1000), (char) ('0' + y / 100 % 10),
					 (char) ('0' + y / 10 % 10), (char) ('0' + y % 10)};
		lk_buf_append(o, t, 4);
	} else {
		put_i64(o, y);
	}
	lk_buf_append_byte(o, '-');
	put2(o, m);
	lk_buf_append_byte(o, '-');
	put2(o, d);
}

/* HH:MM:SS[.ffffff] of micros within a day. */
static void
put_time_of_day(lk_buf *o, int64_t us)
{
	int64_t s = us / 1000000, f = us % 1000000;
	put2(o, (int) (s / 3600));
	lk_buf_append_byte(o, ':');
	put2(o, (int) (s / 60 % 60));
	lk_buf_append_byte(o, ':');
	put2(o, (int) (s % 60));
	if (f) {
		char t[7];
		t[0] = '.';
		for (int k = 6; k >= 1; k--) {
			t[k] = (char) ('0' + f % 10);
			f /= 10;
		}
		int n = 7;
		while (t[n - 1] == '0')
			n--;
		lk_buf_append(o, t, (size_t) n);
	}
}

/* Value in micros of a time/timestamp column value, or false when it
 * cannot be represented (nanoseconds with a sub-microsecond part, or an
 * overflow of milliseconds). */
static bool
to_micros(const lk_type *t, int64_t v, int64_t *us)
{
	switch (t->unit) {
	case LK_UNIT_MILLIS:
		if (v > INT64_MAX / 1000 || v < INT64_MIN / 1000)
			return false;
		*us = v * 1000;
		return true;
	case LK_UNIT_NANOS:
		if (v % 1000)
			return false;
		*us = v / 1000;
		return true;
	default:
		*us = v;
		return true;
	}
}

/* Timestamp text: sep ' ' (Postgres input) or 'T' (JSON); zone "+00",
 * "+00:00" or NULL. */
static void
put_timestamp(lk_buf *o, int64_t us, char sep, const char *zone)
{
	int64_t days = floordiv64(us, 86400000000LL);
	int64_t rem = us - days * 86400000000LL;
	bool bc;
	put_date(o, days, &bc);
	lk_buf_append_byte(o, (uint8_t) sep);
	put_time_of_day(o, rem);
	if (zone)
		lk_buf_append_str(o, zone);
	if (bc)
		lk_buf_append_str(o, " BC");
}

/* ---- value text ------------------------------------------------------------------ */

static bool
col_error(lk_error *err, const lk_column *c, int64_t i, const char *what)
{
	(void) c;
	(void) i;
	return lk_error_set(err, LK_ERR_UNSUPPORTED, "%s", what);
}

static const char hexd[] = "0123456789abcdef";

static void
put_hex(lk_buf *o, const uint8_t *p, int64_t n)
{
	lk_buf_reserve(o, (size_t) n * 2 + 2);
	uint8_t *w = o->data + o->len;
	for (int64_t k = 0; k < n; k++) {
		*w++ = (uint8_t) hexd[p[k] >> 4];
		*w++ = (uint8_t) hexd[p[k] & 15];
	}
	o->len += (size_t) n * 2;
}

static void
put_uuid(lk_buf *o, const uint8_t *p)
{
	for (int k = 0; k < 16; k++) {
		if (k == 4 || k == 6 || k == 8 || k == 10)
			lk_buf_append_byte(o, '-');
		put_hex(o, p + k, 1);
	}
}

static bool
is_uuid_binary(const lk_type *t)
{
	return t->id == LK_T_BINARY && t->ext == LK_EXT_UUID && t->fixed_len == 16;
}

/* Scalar text that never holds a special byte, written straight to o:
 * boolean, integers, floats, decimal, date, timestamps, time. Returns 0 when
 * the type is not such a scalar, -1 on error, 1 when written. */
static int
put_plain_scalar(lk_buf *o, const lk_column *c, int64_t i, bool json, lk_error *err)
{
	const lk_type *t = c->type;
	char tmp[64];
	switch (t->id) {
	case LK_T_BOOLEAN: {
		bool v = LK_COL_VALUES(c, uint8_t)[i] != 0;
		if (json)
			lk_buf_append_str(o, v ? "true" : "false");
		else
			lk_buf_append_byte(o, v ? 't' : 'f');
		return 1;
	}
	case LK_T_BYTE:
		if (t->is_unsigned)
			put_u64(o, LK_COL_VALUES(c, uint8_t)[i]);
		else
			put_i64(o, LK_COL_VALUES(c, int8_t)[i]);
		return 1;
	case LK_T_SHORT:
		if (t->is_unsigned)
			put_u64(o, LK_COL_VALUES(c, uint16_t)[i]);
		else
			put_i64(o, LK_COL_VALUES(c, int16_t)[i]);
		return 1;
	case LK_T_INT:
		if (t->is_unsigned)
			put_u64(o, LK_COL_VALUES(c, uint32_t)[i]);
		else
			put_i64(o, LK_COL_VALUES(c, int32_t)[i]);
		return 1;
	case LK_T_LONG:
		if (t->is_unsigned)
			put_u64(o, LK_COL_VALUES(c, uint64_t)[i]);
		else
			put_i64(o, LK_COL_VALUES(c, int64_t)[i]);
		return 1;
	case LK_T_FLOAT:
	case LK_T_DOUBLE: {
		int n = t->id == LK_T_FLOAT ? pgl_format_float(LK_COL_VALUES(c, float)[i], tmp)
									: pgl_format_double(LK_COL_VALUES(c, double)[i], tmp);
		bool special = tmp[0] == 'N' || tmp[0] == 'I' || tmp[1] == 'I';
		if (json && special) {
			lk_buf_append_byte(o, '"');
			lk_buf_append(o, tmp, (size_t) n);
			lk_buf_append_byte(o, '"');
		} else {
			lk_buf_append(o, tmp, (size_t) n);
		}
		return 1;
	}
	case LK_T_DECIMAL:
		put_decimal(o, LK_COL_VALUES(c, lk_int128)[i], t->scale);
		return 1;
	case LK_T_DATE: {
		bool bc;
		if (json)
			lk_buf_append_byte(o, '"');
		put_date(o, LK_COL_VALUES(c, int32_t)[i], &bc);
		if (bc)
			lk_buf_append_str(o, " BC");
		if (json)
			lk_buf_append_byte(o, '"');
		return 1;
	}
	case LK_T_TIMESTAMP:
	case LK_T_TIMESTAMP_NTZ:
	case LK_T_TIME: {
		int64_t us;
		if (!to_micros(t, LK_COL_VALUES(c, int64_t)[i], &us)) {
			col_error(err, c, i, "timestamp with nanoseconds cannot be represented in "
								 "PostgreSQL (microseconds)");
			return -1;
		}
		if (json)
			lk_buf_append_byte(o, '"');
		if (t->id == LK_T_TIME) {
			if (us < 0 || us > 86400000000LL) {
				col_error(err, c, i, "time of day out of range");
				return -1;
			}
			put_time_of_day(o, us);
		} else if (t->id == LK_T_TIMESTAMP) {
			put_timestamp(o, us, json ? 'T' : ' ', json ? "+00:00" : "+00");
		} else {
			put_timestamp(o, us, json ? 'T' : ' ', NULL);
		}
		if (json)
			lk_buf_append_byte(o, '"');
		return 1;
	}
	default:
		return 0;
	}
}

static bool
nul_error(lk_error *err, const lk_column *c, int64_t i)
{
	return col_error(err, c, i, "string contains a NUL byte, which PostgreSQL text cannot hold");
}

/* JSON string of bytes p[0..n). */
static bool
put_json_string(lk_buf *o, const uint8_t *p, int64_t n, const lk_column *c, int64_t i,
				lk_error *err)
{
	lk_buf_reserve(o, (size_t) n + 2);
	lk_buf_append_byte(o, '"');
	int64_t run = 0;
	for (int64_t k = 0; k < n; k++) {
		uint8_t ch = p[k];
		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		lk_buf_append(o, p + run, (size_t) (k - run));
		run = k + 1;
		switch (ch) {
		case '"': lk_buf_append_str(o, "\\\""); break;
		case '\\': lk_buf_append_str(o, "\\\\"); break;
		case '\n': lk_buf_append_str(o, "\\n"); break;
		case '\r': lk_buf_append_str(o, "\\r"); break;
		case '\t': lk_buf_append_str(o, "\\t"); break;
		case '\b': lk_buf_append_str(o, "\\b"); break;
		case '\f': lk_buf_append_str(o, "\\f"); break;
		case 0: return nul_error(err, c, i);
		default: lk_buf_printf(o, "\\u%04x", ch); break;
		}
	}
	lk_buf_append(o, p + run, (size_t) (n - run));
	lk_buf_append_byte(o, '"');
	return true;
}

static bool put_json(pgl_scratch *s, lk_buf *o, const lk_column *c, int64_t i, lk_error *err);

/* Unescaped PostgreSQL input text of a non-null value (what a literal or
 * an array element holds before quoting). */
static bool
put_raw(pgl_scratch *s, lk_buf *o, const lk_column *c, int64_t i, lk_error *err)
{
	int r = put_plain_scalar(o, c, i, false, err);
	if (r)
		return r > 0;
	const lk_type *t = c->type;
	switch (t->id) {
	case LK_T_STRING: {
		int64_t n;
		const uint8_t *p = lk_column_bytes(c, i, &n);
		if (n && memchr(p, 0, (size_t) n))
			return nul_error(err, c, i);
		lk_buf_append(o, p, (size_t) n);
		return true;
	}
	case LK_T_BINARY: {
		int64_t n;
		const uint8_t *p = lk_column_bytes(c, i, &n);
		if (is_uuid_binary(t) && n == 16) {
			put_uuid(o, p);
		} else {
			lk_buf_append_str(o, "\\x");
			put_hex(o, p, n);
		}
		return true;
	}
	case LK_T_ARRAY: {
		const lk_column *e = &c->children[0];
		if (!is_pg_array_element(e->type))
			return put_json(s, o, c, i, err);
		lk_buf_append_byte(o, '{');
		for (int64_t k = c->offsets[i]; k < c->offsets[i + 1]; k++) {
			if (k > c->offsets[i])
				lk_buf_append_byte(o, ',');
			if (lk_column_is_null(e, k)) {
				lk_buf_append_str(o, "NULL");
				continue;
			}
			lk_buf *el = &s->elem;
			lk_buf_reset(el);
			/* struct/map elements are jsonb: their JSON text */
			bool ok = e->type->id == LK_T_STRUCT || e->type->id == LK_T_MAP
						  ? put_json(s, el, e, k, err)
						  : put_raw(s, el, e, k, err);
			if (!ok)
				return false;
			bool quote = el->len == 0 ||
						 (el->len == 4 && strncasecmp((const char *) el->data, "NULL", 4) == 0);
			for (size_t q = 0; q < el->len && !quote; q++) {
				uint8_t ch = el->data[q];
				quote = ch == '"' || ch == '\\' || ch == '{' || ch == '}' || ch == ',' ||
						ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' ||
						ch == '\f';
			}
			if (!quote) {
				lk_buf_append(o, el->data, el->len);
				continue;
			}
			lk_buf_append_byte(o, '"');
			for (size_t q = 0; q < el->len; q++) {
				uint8_t ch = el->data[q];
				if (ch == '"' || ch == '\\')
					lk_buf_append_byte(o, '\\');
				lk_buf_append_byte(o, ch);
			}
			lk_buf_append_byte(o, '"');
		}
		lk_buf_append_byte(o, '}');
		return true;
	}
	case LK_T_STRUCT:
	case LK_T_MAP:
		return put_json(s, o, c, i, err);
	default:
		return col_error(err, c, i, "unsupported type");
	}
}

/* JSON of a non-null value i of c. */
static bool
put_json_value(pgl_scratch *s, lk_buf *o, const lk_column *c, int64_t i, lk_error *err)
{
	if (lk_column_is_null(c, i)) {
		lk_buf_append_str(o, "null");
		return true;
	}
	int r = put_plain_scalar(o, c, i, true, err);
	if (r)
		return r > 0;
	const lk_type *t = c->type;
	int64_t n;
	switch (t->id) {
	case LK_T_STRING: {
		const uint8_t *p = lk_column_bytes(c, i, &n);
		return put_json_string(o, p, n, c, i, err);
	}
	case LK_T_BINARY: {
		const uint8_t *p = lk_column_bytes(c, i, &n);
		lk_buf_append_byte(o, '"');
		if (is_uuid_binary(t) && n == 16) {
			put_uuid(o, p);
		} else {
			lk_buf_append_str(o, "\\\\x");
			put_hex(o, p, n);
		}
		lk_buf_append_byte(o, '"');
		return true;
	}
	case LK_T_ARRAY:
		lk_buf_append_byte(o, '[');
		for (int64_t k = c->offsets[i]; k < c->offsets[i + 1]; k++) {
			if (k > c->offsets[i])
				lk_buf_append_str(o, ", ");
			if (!put_json_value(s, o, &c->children[0], k, err))
				return false;
		}
		lk_buf_append_byte(o, ']');
		return true;
	case LK_T_STRUCT:
		lk_buf_append_byte(o, '{');
		for (int f = 0; f < c->nchildren; f++) {
			if (f)
				lk_buf_append_str(o, ", ");
			const char *name = t->children[f].name ? t->children[f].name : "";
			if (!put_json_string(o, (const uint8_t *) name, (int64_t) strlen(name), c, i, err))
				return false;
			lk_buf_append_str(o, ": ");
			if (!put_json_value(s, o, &c->children[f], i, err))
				return false;
		}
		lk_buf_append_byte(o, '}');
		return true;
	case LK_T_MAP: {
		const lk_column *kc = &c->children[0], *vc = &c->children[1];
		lk_buf_append_byte(o, '{');
		for (int64_t k = c->offsets[i]; k < c->offsets[i + 1]; k++) {
			if (k > c->offsets[i])
				lk_buf_append_str(o, ", ");
			if (lk_column_is_null(kc, k)) {
				lk_buf_append_str(o, "\"null\"");
			} else if (kc->type->id == LK_T_STRING) {
				const uint8_t *p = lk_column_bytes(kc, k, &n);
				if (!put_json_string(o, p, n, kc, k, err))
					return false;
			} else {
				/* the key's text, as a JSON string (keys of a JSON object
				 * are strings) */
				lk_buf key = LK_BUF_INIT;
				bool ok = kc->type->id == LK_T_STRUCT || kc->type->id == LK_T_MAP ||
								  kc->type->id == LK_T_ARRAY
							  ? put_json_value(s, &key, kc, k, err)
							  : put_raw(s, &key, kc, k, err);
				if (ok)
					ok = put_json_string(o, key.data, (int64_t) key.len, kc, k, err);
				lk_buf_free(&key);
				if (!ok)
					return false;
			}
			lk_buf_append_str(o, ": ");
			if (!put_json_value(s, o, vc, k, err))
				return false;
		}
		lk_buf_append_byte(o, '}');
		return true;
	}
	default:
		return col_error(err, c, i, "unsupported type");
	}
}

static bool
put_json(pgl_scratch *s, lk_buf *o, const lk_column *c, int64_t i, lk_error *err)
{
	return put_json_value(s, o, c, i, err);
}

bool
pgl_value_text(pgl_scratch *s, lk_buf *out, const lk_column *c, int64_t i, lk_error *err)
{
	return put_raw(s, out, c, i, err);
}

/* ---- COPY escaping ---------------------------------------------------------------- */

/* 1 for the bytes COPY text must escape (and NUL, which is refused). */
static const uint8_t copy_special[256] = {
	[0] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1, ['\\'] = 1,
};

/* Append p[0..n) COPY-escaped; false when it holds a NUL byte. */
static bool
copy_escape(lk_buf *o, const uint8_t *p, int64_t n)
{
	lk_buf_reserve(o, (size_t) n + 8);
	int64_t run = 0;
	for (int64_t k = 0; k < n; k++) {
		uint8_t ch = p[k];
		if (!copy_special[ch])
			continue;
		lk_buf_append(o, p + run, (size_t) (k - run));
		run = k + 1;
		switch (ch) {
		case '\t': lk_buf_append(o, "\\t", 2); break;
		case '\n': lk_buf_append(o, "\\n", 2); break;
		case '\r': lk_buf_append(o, "\\r", 2); break;
		case '\\': lk_buf_append(o, "\\\\", 2); break;
		default: return false;
		}
	}
	lk_buf_append(o, p + run, (size_t) (n - run));
	return true;
}

static bool
put_field(pgl_scratch *s, lk_buf *o, const lk_column *c, int64_t i, lk_error *err)
{
	if (lk_column_is_null(c, i)) {
		lk_buf_append(o, "\\N", 2);
		return true;
	}
	int r = put_plain_scalar(o, c, i, false, err);
	if (r)
		return r > 0;
	if (c->type->id == LK_T_STRING) {
		int64_t n;
		const uint8_t *p = lk_column_bytes(c, i, &n);
		if (!copy_escape(o, p, n))
			return nul_error(err, c, i);
		return true;
	}
	if (c->type->id == LK_T_BINARY) {
		/* "\x" → COPY-escaped "\\x", hex digits need no escaping */
		int64_t n;
		const uint8_t *p = lk_column_bytes(c, i, &n);
		if (is_uuid_binary(c->type) && n == 16) {
			put_uuid(o, p);
		} else {
			lk_buf_append(o, "\\\\x", 3);
			put_hex(o, p, n);
		}
		return true;
	}
	lk_buf_reset(&s->text);
	if (!put_raw(s, &s->text, c, i, err))
		return false;
	if (!copy_escape(o, s->text.data, (int64_t) s->text.len))
		return nul_error(err, c, i);
	return true;
}

void
pgl_scratch_init(pgl_scratch *s)
{
	lk_buf_init(&s->text);
	lk_buf_init(&s->elem);
}

void
pgl_scratch_free(pgl_scratch *s)
{
	lk_buf_free(&s->text);
	lk_buf_free(&s->elem);
}

bool
pgl_format_rows(pgl_scratch *s, lk_buf *out, const lk_batch *b, int64_t from,
				int64_t n, lk_error *err)
{
	for (int64_t i = from; i < from + n; i++) {
		for (int j = 0; j < b->ncols; j++) {
			if (j)
				lk_buf_append_byte(out, '\t');
			if (!put_field(s, out, &b->cols[j], i, err)) {
				const char *name = b->schema->children[j].name;
				return lk_error_where(err, "column \"%s\", row %" PRId64, name ? name : "?", i);
			}
		}
		lk_buf_append_byte(out, '\n');
	}
	return true;
}

/* ---- COPY FROM STDIN ------------------------------------------------------------------ */

/* Synchronous mode: the caller formats into cp->buf and sends it itself
 * when it reaches flush_bytes.
 *
 * Asynchronous mode: a sender thread owns the connection until the end.
 *
 *   caller (format) ──▶ cur buffer ──full──▶ queue[] ──▶ sender thread
 *        ▲                                                PQputCopyData
 *        └────────────── free buffers ◀──────────────────────┘
 *
 * PGL_NBUF buffers of about flush_bytes each circulate, so formatting runs
 * while the previous chunks are written to the socket (a blocking send of
 * a large buffer would otherwise leave the server idle while the next one
 * is formatted) and at most PGL_NBUF chunks are in memory. */

static bool
send_bytes(pgl_copy *cp, const uint8_t *data, size_t n, lk_error *err)
{
	if (n == 0)
		return true;
	if (PQputCopyData(cp->conn->pg, (const char *) data, (int) n) != 1) {
		cp->conn->broken = PQstatus(cp->conn->pg) == CONNECTION_BAD;
		return lk_error_set(err, cp->conn->broken ? LK_ERR_IO : LK_ERR_PG,
							"could not send COPY data: %s", PQerrorMessage(cp->conn->pg));
	}
	return true;
}

static void *
sender_main(void *arg)
{
	pgl_copy *cp = arg;
	pthread_mutex_lock(&cp->mu);
	for (;;) {
		while (cp->nqueued == 0 && !cp->closing)
			pthread_cond_wait(&cp->cv, &cp->mu);
		if (cp->nqueued == 0)
			break;                  /* closing and drained */
		int k = cp->queue[cp->qhead];
		pthread_mutex_unlock(&cp->mu);
		lk_error e;
		bool ok = cp->send_failed || send_bytes(cp, cp->bufs[k].data, cp->bufs[k].len, &e);
		pthread_mutex_lock(&cp->mu);
		if (!ok && !cp->send_failed) {
			cp->send_failed = true;
			cp->send_err = e;
		}
		lk_buf_reset(&cp->bufs[k]);
		cp->qhead = (cp->qhead + 1) % PGL_NBUF;
		cp->nqueued--;
		cp->free_mask |= 1u << k;
		pthread_cond_broadcast(&cp->cv);
	}
	pthread_mutex_unlock(&cp->mu);
	return NULL;
}

/* Hand the current buffer to the sender and take a free one (waiting for
 * one when all are queued). */
static bool
async_flush(pgl_copy *cp, lk_error *err)
{
	if (cp->bufs[cp->cur].len == 0)
		return true;
	pthread_mutex_lock(&cp->mu);
	cp->queue[(cp->qhead + cp->nqueued) % PGL_NBUF] = cp->cur;
	cp->nqueued++;
	pthread_cond_broadcast(&cp->cv);
	while (cp->free_mask == 0 && !cp->send_failed)
		pthread_cond_wait(&cp->cv, &cp->mu);
	bool failed = cp->send_failed;
	if (failed) {
		*err = cp->send_err;
	} else {
		int k = __builtin_ctz(cp->free_mask);
		cp->free_mask &= ~(1u << k);
		cp->cur = k;
	}
	pthread_mutex_unlock(&cp->mu);
	return !failed;
}

static lk_buf *
cur_buf(pgl_copy *cp)
{
	return cp->async ? &cp->bufs[cp->cur] : &cp->buf;
}

static bool
maybe_flush(pgl_copy *cp, lk_error *err)
{
	lk_buf *b = cur_buf(cp);
	if (b->len < cp->flush_bytes)
		return true;
	if (cp->async)
		return async_flush(cp, err);
	bool ok = send_bytes(cp, b->data, b->len, err);
	lk_buf_reset(b);
	return ok;
}

bool
pgl_copy_begin(pgl_copy *cp, pgc_conn *c, const char *copy_sql, bool async, lk_error *err)
{
	memset(cp, 0, sizeof(*cp));
	cp->conn = c;
	cp->flush_bytes = async ? 256u << 10 : 1u << 20;
	PGresult *res = PQexec(c->pg, copy_sql);
	if (!res || PQresultStatus(res) != PGRES_COPY_IN) {
		pgc_error_from_result(c, res, "could not start COPY", err);
		PQclear(res);
		return false;
	}
	PQclear(res);
	pgl_scratch_init(&cp->scratch);
	lk_buf_init(&cp->buf);
	if (async) {
		for (int k = 0; k < PGL_NBUF; k++) {
			lk_buf_init(&cp->bufs[k]);
			lk_buf_reserve(&cp->bufs[k], cp->flush_bytes + 4096);
		}
		cp->cur = 0;
		cp->free_mask = ((1u << PGL_NBUF) - 1) & ~1u;
		pthread_mutex_init(&cp->mu, NULL);
		pthread_cond_init(&cp->cv, NULL);
		if (pthread_create(&cp->th, NULL, sender_main, cp) != 0) {
			pthread_mutex_destroy(&cp->mu);
			pthread_cond_destroy(&cp->cv);
			async = false;          /* fall back to sending inline */
		}
	}
	if (!async)
		lk_buf_reserve(&cp->buf, cp->flush_bytes + 4096);
	cp->async = async;
	cp->active = true;
	return true;
}

bool
pgl_copy_batch(pgl_copy *cp, const lk_batch *b, lk_error *err)
{
	/* format in slices so the buffer stays near flush_bytes */
	for (int64_t i = 0; i < b->nrows; i++) {
		LK_FORWARD(pgl_format_rows(&cp->scratch, cur_buf(cp), b, i, 1, err));
		LK_FORWARD(maybe_flush(cp, err));
	}
	cp->rows += b->nrows;
	return true;
}

bool
pgl_copy_put(pgl_copy *cp, const void *data, size_t n, lk_error *err)
{
	lk_buf_append(cur_buf(cp), data, n);
	return maybe_flush(cp, err);
}

/* Stop the sender after it sent what is queued; false (err filled) when a
 * send failed. */
static bool
stop_sender(pgl_copy *cp, lk_error *err)
{
	if (!cp->async)
		return true;
	pthread_mutex_lock(&cp->mu);
	cp->closing = true;
	pthread_cond_broadcast(&cp->cv);
	pthread_mutex_unlock(&cp->mu);
	pthread_join(cp->th, NULL);
	pthread_mutex_destroy(&cp->mu);
	pthread_cond_destroy(&cp->cv);
	cp->async = false;
	if (cp->send_failed && err)
		*err = cp->send_err;
	return !cp->send_failed;
}

static void
copy_release(pgl_copy *cp)
{
	pgl_scratch_free(&cp->scratch);
	lk_buf_free(&cp->buf);
	for (int k = 0; k < PGL_NBUF; k++)
		lk_buf_free(&cp->bufs[k]);
	cp->active = false;
}

bool
pgl_copy_end(pgl_copy *cp, int64_t *rows, lk_error *err)
{
	if (!cp->active)
		return lk_error_set(err, LK_ERR_INTERNAL, "no COPY in progress");
	bool ok = true;
	if (cp->async) {
		ok = async_flush(cp, err);
		ok = stop_sender(cp, ok ? err : NULL) && ok;
	} else {
		ok = send_bytes(cp, cp->buf.data, cp->buf.len, err);
		lk_buf_reset(&cp->buf);
	}
	PGconn *pg = cp->conn->pg;
	if (PQputCopyEnd(pg, ok ? NULL : "lakesync: could not send data") != 1 && ok)
		ok = lk_error_set(err, LK_ERR_IO, "could not end COPY: %s", PQerrorMessage(pg));
	PGresult *res;
	bool got_error = false;
	while ((res = PQgetResult(pg)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && !got_error) {
			got_error = true;
			if (ok)
				pgc_error_from_result(cp->conn, res, "COPY failed", err);
			ok = false;
		} else if (ok && rows) {
			*rows = strtoll(PQcmdTuples(res), NULL, 10);
		}
		PQclear(res);
	}
	copy_release(cp);
	return ok;
}

void
pgl_copy_abort(pgl_copy *cp, const char *why)
{
	if (!cp->active)
		return;
	if (cp->async) {
		/* drop what is queued: mark the sender failed, then join it */
		pthread_mutex_lock(&cp->mu);
		if (!cp->send_failed) {
			cp->send_failed = true;
			lk_error_set(&cp->send_err, LK_ERR_INTERNAL, "aborted");
		}
		pthread_mutex_unlock(&cp->mu);
		stop_sender(cp, NULL);
	}
	PGconn *pg = cp->conn->pg;
	PQputCopyEnd(pg, why ? why : "lakesync: aborted");
	PGresult *res;
	while ((res = PQgetResult(pg)) != NULL)
		PQclear(res);
	copy_release(cp);
}
