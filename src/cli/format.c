/*
 * format.c — batch values as JSON lines and CSV.  The forms are listed in
 * format.h; this file only implements them.
 */
#include "cli/format.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- numbers ------------------------------------------------------------ */

/* Shortest "%.*g" that reads back as the same double.  For a normal double,
 * if some k ≤ 15 digit decimal reads back, it is the nearest 15-digit
 * decimal (half a 15-digit step exceeds half an ulp), so "%.15g" prints it
 * with its zeros stripped; otherwise 16 or 17 digits do. Subnormals try
 * every precision. */
char *
fmt_double(double v, char *buf)
{
	if (isnan(v))
		return strcpy(buf, "NaN");
	if (isinf(v))
		return strcpy(buf, v < 0 ? "-Infinity" : "Infinity");
	int from = fpclassify(v) == FP_SUBNORMAL ? 1 : 15;
	for (int p = from; p <= 17; p++) {
		snprintf(buf, 64, "%.*g", p, v);
		if (p == 17 || strtod(buf, NULL) == v)
			break;
	}
	return buf;
}

char *
fmt_float(float v, char *buf)
{
	if (isnan(v))
		return strcpy(buf, "NaN");
	if (isinf(v))
		return strcpy(buf, v < 0 ? "-Infinity" : "Infinity");
	for (int p = 1; p <= 9; p++) {
		snprintf(buf, 64, "%.*g", p, (double) v);
		if (p == 9 || strtof(buf, NULL) == v)
			break;
	}
	return buf;
}

/* ---- dates and times ---------------------------------------------------- */

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* Days since 1970-01-01 → proleptic Gregorian y/m/d (H. Hinnant's
 * civil_from_days), valid over the whole int64 range we feed it. */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;                                  /* [0, 146096] */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	int64_t yy = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);           /* [0, 365] */
	int64_t mp = (5 * doy + 2) / 153;                                /* [0, 11] */
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = yy + (*m <= 2);
}

static char *
put_date(int64_t days, char *p)
{
	int64_t y;
	int m, d;
	civil_from_days(days, &y, &m, &d);
	if (y < 0)
		return p + sprintf(p, "-%04lld-%02d-%02d", (long long) -y, m, d);
	return p + sprintf(p, "%04lld-%02d-%02d", (long long) y, m, d);
}

char *
fmt_date(int32_t days, char *buf)
{
	put_date(days, buf);
	return buf;
}

static int64_t
unit_per_second(int unit, int *digits)
{
	switch (unit) {
	case LK_UNIT_MILLIS: *digits = 3; return 1000;
	case LK_UNIT_NANOS: *digits = 9; return 1000000000;
	default: *digits = 6; return 1000000;
	}
}

char *
fmt_timestamp(int64_t v, int unit, bool utc, char *buf)
{
	int digits;
	int64_t per = unit_per_second(unit, &digits);
	int64_t secs = floor_div(v, per);
	int64_t frac = v - secs * per;
	int64_t days = floor_div(secs, 86400);
	int64_t sod = secs - days * 86400;
	char *p = put_date(days, buf);
	p += sprintf(p, "T%02d:%02d:%02d.%0*lld%s", (int) (sod / 3600),
				 (int) (sod / 60 % 60), (int) (sod % 60), digits,
				 (long long) frac, utc ? "Z" : "");
	return buf;
}

char *
fmt_time(int64_t v, int unit, char *buf)
{
	int digits;
	int64_t per = unit_per_second(unit, &digits);
	char *p = buf;
	/* A valid time is in [0, 24h]; anything else is printed as a signed
	 * duration rather than hidden. */
	uint64_t u = (uint64_t) v;
	if (v < 0) {
		*p++ = '-';
		u = (uint64_t) 0 - u;
	}
	uint64_t secs = u / (uint64_t) per, frac = u % (uint64_t) per;
	sprintf(p, "%02llu:%02d:%02d.%0*llu", (unsigned long long) (secs / 3600),
			(int) (secs / 60 % 60), (int) (secs % 60), digits,
			(unsigned long long) frac);
	return buf;
}

/* ---- strings ------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, ≤ U+10FFFF), or 0 if the byte at p does not start one. */
static int
utf8_len(const uint8_t *p, int64_t left)
{
	uint8_t c = p[0];
	if (c < 0x80)
		return 1;
	int n;
	uint32_t min;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, min = 0x10000;
	else
		return 0;
	if (left < n)
		return 0;
	uint32_t cp = c & (0x7f >> n);
	for (int k = 1; k < n; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static void
json_string(lk_buf *out, const uint8_t *s, int64_t n)
{
	static const char hex[] = "0123456789abcdef";
	lk_buf_reserve(out, (size_t) n + 2);
	lk_buf_append_byte(out, '"');
	int64_t i = 0;
	while (i < n) {
		/* copy a run of plain ASCII at once */
		int64_t j = i;
		while (j < n && s[j] >= 0x20 && s[j] < 0x80 && s[j] != '"' && s[j] != '\\')
			j++;
		if (j > i) {
			lk_buf_append(out, s + i, (size_t) (j - i));
			i = j;
			continue;
		}
		uint8_t c = s[i];
		if (c >= 0x80) {
			int len = utf8_len(s + i, n - i);
			if (len) {
				lk_buf_append(out, s + i, (size_t) len);
				i += len;
			} else {
				lk_buf_append_str(out, "\\ufffd");
				i++;
			}
			continue;
		}
		switch (c) {
		case '"': lk_buf_append_str(out, "\\\""); break;
		case '\\': lk_buf_append_str(out, "\\\\"); break;
		case '\n': lk_buf_append_str(out, "\\n"); break;
		case '\r': lk_buf_append_str(out, "\\r"); break;
		case '\t': lk_buf_append_str(out, "\\t"); break;
		case '\b': lk_buf_append_str(out, "\\b"); break;
		case '\f': lk_buf_append_str(out, "\\f"); break;
		default: {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			lk_buf_append(out, e, 6);
		}
		}
		i++;
	}
	lk_buf_append_byte(out, '"');
}

static void
base64(lk_buf *out, const uint8_t *s, int64_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	lk_buf_reserve(out, (size_t) (n + 2) / 3 * 4);
	int64_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t) s[i] << 16 | (uint32_t) s[i + 1] << 8 | s[i + 2];
		char q[4] = {tab[v >> 18], tab[(v >> 12) & 63], tab[(v >> 6) & 63], tab[v & 63]};
		lk_buf_append(out, q, 4);
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t) s[i] << 16;
		char q[4] = {tab[v >> 18], tab[(v >> 12) & 63], '=', '='};
		lk_buf_append(out, q, 4);
	} else if (n - i == 2) {
		uint32_t v = (uint32_t) s[i] << 16 | (uint32_t) s[i + 1] << 8;
		char q[4] = {tab[v >> 18], tab[(v >> 12) & 63], tab[(v >> 6) & 63], '='};
		lk_buf_append(out, q, 4);
	}
}

static void
uuid_text(lk_buf *out, const uint8_t *s)
{
	static const char hex[] = "0123456789abcdef";
	char t[36];
	int o = 0;
	for (int k = 0; k < 16; k++) {
		if (k == 4 || k == 6 || k == 8 || k == 10)
			t[o++] = '-';
		t[o++] = hex[s[k] >> 4];
		t[o++] = hex[s[k] & 15];
	}
	lk_buf_append(out, t, 36);
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 |
		   (uint32_t) p[3] << 24;
}

/* ---- values ------------------------------------------------------------- */

/* Text of a scalar that is the same in JSON and CSV (numbers, booleans),
 * into buf; returns its length, or -1 if the type is not such a scalar. */
static int
plain_scalar(const lk_column *c, int64_t i, char *buf)
{
	const lk_type *t = c->type;
	switch (t->id) {
	case LK_T_BOOLEAN:
		return sprintf(buf, "%s", LK_COL_VALUES(c, uint8_t)[i] ? "true" : "false");
	case LK_T_BYTE:
		if (t->is_unsigned)
			return sprintf(buf, "%u", (unsigned) LK_COL_VALUES(c, uint8_t)[i]);
		return sprintf(buf, "%d", (int) LK_COL_VALUES(c, int8_t)[i]);
	case LK_T_SHORT:
		if (t->is_unsigned)
			return sprintf(buf, "%u", (unsigned) LK_COL_VALUES(c, uint16_t)[i]);
		return sprintf(buf, "%d", (int) LK_COL_VALUES(c, int16_t)[i]);
	case LK_T_INT:
		if (t->is_unsigned)
			return sprintf(buf, "%u", (unsigned) LK_COL_VALUES(c, uint32_t)[i]);
		return sprintf(buf, "%d", (int) LK_COL_VALUES(c, int32_t)[i]);
	case LK_T_LONG:
		if (t->is_unsigned)
			return sprintf(buf, "%llu",
						   (unsigned long long) LK_COL_VALUES(c, uint64_t)[i]);
		return sprintf(buf, "%lld", (long long) LK_COL_VALUES(c, int64_t)[i]);
	default:
		return -1;
	}
}

/* Text of a scalar that JSON quotes (dates, decimals, ...), into buf;
 * returns its length, or -1 for strings, binary and nested types. */
static int
quoted_scalar(const lk_column *c, int64_t i, char *buf)
{
	const lk_type *t = c->type;
	switch (t->id) {
	case LK_T_DECIMAL:
		lk_decimal_to_string(LK_COL_VALUES(c, lk_int128)[i], t->scale, buf);
		break;
	case LK_T_DATE:
		fmt_date(LK_COL_VALUES(c, int32_t)[i], buf);
		break;
	case LK_T_TIMESTAMP:
	case LK_T_TIMESTAMP_NTZ:
		fmt_timestamp(LK_COL_VALUES(c, int64_t)[i], t->unit,
					  t->id == LK_T_TIMESTAMP, buf);
		break;
	case LK_T_TIME:
		fmt_time(LK_COL_VALUES(c, int64_t)[i], t->unit, buf);
		break;
	default:
		return -1;
	}
	return (int) strlen(buf);
}

static bool
is_float(const lk_type *t)
{
	return t->id == LK_T_FLOAT || t->id == LK_T_DOUBLE;
}

static char *
float_text(const lk_column *c, int64_t i, char *buf)
{
	if (c->type->id == LK_T_FLOAT)
		return fmt_float(LK_COL_VALUES(c, float)[i], buf);
	return fmt_double(LK_COL_VALUES(c, double)[i], buf);
}

static void
binary_json(lk_buf *out, const lk_column *c, int64_t i)
{
	int64_t n;
	const uint8_t *p = lk_column_bytes(c, i, &n);
	if (c->type->ext == LK_EXT_UUID && n == 16) {
		lk_buf_append_byte(out, '"');
		uuid_text(out, p);
		lk_buf_append_byte(out, '"');
	} else if (c->type->ext == LK_EXT_INTERVAL && n == 12) {
		lk_buf_printf(out, "{\"months\":%u,\"days\":%u,\"millis\":%u}", le32(p),
					  le32(p + 4), le32(p + 8));
	} else {
		lk_buf_append_byte(out, '"');
		base64(out, p, n);
		lk_buf_append_byte(out, '"');
	}
}

void
fmt_json_value(lk_buf *out, const lk_column *c, int64_t i)
{
	char buf[128];
	const lk_type *t = c->type;
	int n;

	if (lk_column_is_null(c, i)) {
		lk_buf_append(out, "null", 4);
		return;
	}
	if ((n = plain_scalar(c, i, buf)) >= 0) {
		lk_buf_append(out, buf, (size_t) n);
		return;
	}
	if (is_float(t)) {
		float_text(c, i, buf);
		bool word = buf[0] == 'N' || buf[0] == 'I' || buf[1] == 'I';
		if (word)
			lk_buf_append_byte(out, '"');
		lk_buf_append_str(out, buf);
		if (word)
			lk_buf_append_byte(out, '"');
		return;
	}
	if ((n = quoted_scalar(c, i, buf)) >= 0) {
		lk_buf_append_byte(out, '"');
		lk_buf_append(out, buf, (size_t) n);
		lk_buf_append_byte(out, '"');
		return;
	}
	switch (t->id) {
	case LK_T_STRING: {
		int64_t len;
		const uint8_t *p = lk_column_bytes(c, i, &len);
		json_string(out, p, len);
		return;
	}
	case LK_T_BINARY:
		binary_json(out, c, i);
		return;
	case LK_T_STRUCT:
		lk_buf_append_byte(out, '{');
		for (int k = 0; k < c->nchildren; k++) {
			const char *name = t->children[k].name ? t->children[k].name : "";
			if (k)
				lk_buf_append_byte(out, ',');
			json_string(out, (const uint8_t *) name, (int64_t) strlen(name));
			lk_buf_append_byte(out, ':');
			fmt_json_value(out, &c->children[k], i);
		}
		lk_buf_append_byte(out, '}');
		return;
	case LK_T_ARRAY: {
		int64_t a = c->offsets[i], b = c->offsets[i + 1];
		lk_buf_append_byte(out, '[');
		for (int64_t e = a; e < b; e++) {
			if (e > a)
				lk_buf_append_byte(out, ',');
			fmt_json_value(out, &c->children[0], e);
		}
		lk_buf_append_byte(out, ']');
		return;
	}
	case LK_T_MAP: {
		int64_t a = c->offsets[i], b = c->offsets[i + 1];
		lk_buf_append_byte(out, '[');
		for (int64_t e = a; e < b; e++) {
			if (e > a)
				lk_buf_append_byte(out, ',');
			lk_buf_append_str(out, "{\"key\":");
			fmt_json_value(out, &c->children[0], e);
			lk_buf_append_str(out, ",\"value\":");
			fmt_json_value(out, &c->children[1], e);
			lk_buf_append_byte(out, '}');
		}
		lk_buf_append_byte(out, ']');
		return;
	}
	default:
		lk_buf_append(out, "null", 4);
		return;
	}
}

void
fmt_jsonl_row(lk_buf *out, const lk_batch *b, int64_t row)
{
	lk_buf_append_byte(out, '{');
	for (int k = 0; k < b->ncols; k++) {
		const char *name = b->schema->children[k].name;
		if (!name)
			name = "";
		if (k)
			lk_buf_append_byte(out, ',');
		json_string(out, (const uint8_t *) name, (int64_t) strlen(name));
		lk_buf_append_byte(out, ':');
		fmt_json_value(out, &b->cols[k], row);
	}
	lk_buf_append(out, "}\n", 2);
}

/* ---- CSV ---------------------------------------------------------------- */

static void
csv_field(lk_buf *out, const uint8_t *s, int64_t n)
{
	bool quote = n == 0;
	for (int64_t k = 0; k < n && !quote; k++)
		quote = s[k] == ',' || s[k] == '"' || s[k] == '\r' || s[k] == '\n';
	if (!quote) {
		lk_buf_append(out, s, (size_t) n);
		return;
	}
	lk_buf_append_byte(out, '"');
	int64_t from = 0;
	for (int64_t k = 0; k < n; k++)
		if (s[k] == '"') {
			lk_buf_append(out, s + from, (size_t) (k + 1 - from));
			lk_buf_append_byte(out, '"');
			from = k + 1;
		}
	lk_buf_append(out, s + from, (size_t) (n - from));
	lk_buf_append_byte(out, '"');
}

void
fmt_csv_header(lk_buf *out, const lk_type *schema)
{
	for (int k = 0; k < schema->nchildren; k++) {
		const char *name = schema->children[k].name ? schema->children[k].name : "";
		if (k)
			lk_buf_append_byte(out, ',');
		/* a lone empty name would read as an empty string: quote it too */
		csv_field(out, (const uint8_t *) name, (int64_t) strlen(name));
	}
	lk_buf_append(out, "\r\n", 2);
}

static void
csv_value(lk_buf *out, lk_buf *tmp, const lk_column *c, int64_t i)
{
	char buf[128];
	const lk_type *t = c->type;
	int n;

	if (lk_column_is_null(c, i))
		return;
	if ((n = plain_scalar(c, i, buf)) >= 0 || (n = quoted_scalar(c, i, buf)) >= 0) {
		lk_buf_append(out, buf, (size_t) n);
		return;
	}
	if (is_float(t)) {
		lk_buf_append_str(out, float_text(c, i, buf));
		return;
	}
	if (t->id == LK_T_STRING) {
		int64_t len;
		const uint8_t *p = lk_column_bytes(c, i, &len);
		csv_field(out, p, len);
		return;
	}
	/* binary and nested: the JSON text, unquoted from JSON's string quotes
	 * for binary (base64 / uuid), CSV-quoted as needed */
	lk_buf_reset(tmp);
	fmt_json_value(tmp, c, i);
	if (t->id == LK_T_BINARY && tmp->len >= 2 && tmp->data[0] == '"')
		csv_field(out, tmp->data + 1, (int64_t) tmp->len - 2);
	else
		csv_field(out, tmp->data, (int64_t) tmp->len);
}

void
fmt_csv_row(lk_buf *out, const lk_batch *b, int64_t row)
{
	lk_buf tmp = LK_BUF_INIT;
	for (int k = 0; k < b->ncols; k++) {
		if (k)
			lk_buf_append_byte(out, ',');
		csv_value(out, &tmp, &b->cols[k], row);
	}
	lk_buf_append(out, "\r\n", 2);
	lk_buf_free(&tmp);
}
