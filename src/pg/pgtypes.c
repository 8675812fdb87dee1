/*
 * pgtypes.c — PostgreSQL → Delta type mapping and text value parsers.
 *
 * Text forms parsed (session: DateStyle=ISO, TimeZone=UTC,
 * IntervalStyle=iso_8601, extra_float_digits=3, bytea_output=hex):
 *
 *   bool         t | f
 *   int2/4/8     [-]digits                      (overflow is an error)
 *   float4/8     [-]digits[.digits][e±digits] | NaN | Infinity | -Infinity
 *   numeric      [-]digits[.digits] | NaN | Infinity | -Infinity
 *   bytea        \x<hex pairs>   (escape format also accepted: \\ and \ooo)
 *   uuid         xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx
 *   date         YYYY-MM-DD[ BC] | infinity | -infinity      (YYYY: ≥ 4 digits)
 *   timestamp    YYYY-MM-DD HH:MM:SS[.ffffff][ BC] | ±infinity
 *   timestamptz  YYYY-MM-DD HH:MM:SS[.ffffff]±HH[:MM[:SS]][ BC] | ±infinity
 *   arrays       {elem,elem,…}   elem: NULL | unquoted | "quoted with \" and \\"
 *                ("[lo:hi]={…}" decoration and nested {…} are refused:
 *                 Delta's array has neither bounds nor dimensions)
 *
 * Binary (send-function) forms read by pgt_append_binary, big-endian:
 *
 *   bool         1 byte, 0 or 1
 *   int2/4/8     2/4/8 bytes, two's complement
 *   float4/8     4/8 bytes IEEE 754 (any NaN becomes the text path's NaN)
 *   numeric      int16 ndigits, int16 weight, uint16 sign (0x0000 +,
 *                0x4000 -, 0xC000 NaN, 0xD000 Infinity, 0xF000 -Infinity),
 *                uint16 dscale, ndigits × int16 base-10000 digits (0–9999);
 *                value = Σ digit[i] × 10000^(weight − i)
 *   text-like    the bytes of the text output (text, varchar, bpchar,
 *                name, json; no escapes)
 *   jsonb        uint8 version (1), then the text output
 *   bytea        the bytes
 *   uuid         16 bytes
 *   date         int32 days since 2000-01-01; INT32_MIN/MAX = ∓infinity
 *   timestamp    int64 µs since 2000-01-01 00:00:00 (UTC for
 *   timestamptz  timestamptz); INT64_MIN/MAX = ∓infinity
 */
#include "pg/pgtypes.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

/* ---------------------------------------------------------------- mapping */

bool
pgt_numeric_typmod(int32_t typmod, int *precision, int *scale)
{
	if (typmod < 4) /* VARHDRSZ: -1 means no typmod */
		return false;
	int32_t tm = typmod - 4;
	*precision = (tm >> 16) & 0xffff;
	/* PostgreSQL 15: the scale is an 11-bit signed field */
	*scale = ((tm & 0x7ff) ^ 1024) - 1024;
	return true;
}

static pgt_conv *
new_conv(lk_arena *a, pgt_kind kind, lk_type_id id, uint32_t oid)
{
	pgt_conv *c = lk_arena_zalloc(a, sizeof(*c));
	c->kind = kind;
	c->type = lk_type_new(a, id);
	c->pg_oid = oid;
	return c;
}

/* Built-in scalar types; NULL when oid is not one this table knows. */
static pgt_conv *
map_builtin_scalar(lk_arena *a, uint32_t oid, int32_t typmod)
{
	switch (oid) {
	case PGT_OID_BOOL: return new_conv(a, PGT_K_BOOL, LK_T_BOOLEAN, oid);
	case PGT_OID_INT2: return new_conv(a, PGT_K_INT2, LK_T_SHORT, oid);
	case PGT_OID_INT4: return new_conv(a, PGT_K_INT4, LK_T_INT, oid);
	case PGT_OID_INT8: return new_conv(a, PGT_K_INT8, LK_T_LONG, oid);
	case PGT_OID_FLOAT4: return new_conv(a, PGT_K_FLOAT4, LK_T_FLOAT, oid);
	case PGT_OID_FLOAT8: return new_conv(a, PGT_K_FLOAT8, LK_T_DOUBLE, oid);
	case PGT_OID_NUMERIC: {
		int p, s;
		if (pgt_numeric_typmod(typmod, &p, &s) && p >= 1 && p <= 38 &&
			s >= 0 && s <= p) {
			pgt_conv *c = lk_arena_zalloc(a, sizeof(*c));
			c->kind = PGT_K_DECIMAL;
			c->type = lk_type_decimal(a, p, s);
			c->pg_oid = oid;
			return c;
		}
		/* unconstrained, p > 38, negative scale or scale > precision:
		 * exact text, never rounded */
		return new_conv(a, PGT_K_TEXT, LK_T_STRING, oid);
	}
	case PGT_OID_BYTEA: return new_conv(a, PGT_K_BYTEA, LK_T_BINARY, oid);
	case PGT_OID_UUID: return new_conv(a, PGT_K_UUID, LK_T_STRING, oid);
	case PGT_OID_DATE: return new_conv(a, PGT_K_DATE, LK_T_DATE, oid);
	case PGT_OID_TIMESTAMP:
		return new_conv(a, PGT_K_TIMESTAMP, LK_T_TIMESTAMP_NTZ, oid);
	case PGT_OID_TIMESTAMPTZ:
		return new_conv(a, PGT_K_TIMESTAMPTZ, LK_T_TIMESTAMP, oid);
	case PGT_OID_CHAR:
	case PGT_OID_NAME:
	case PGT_OID_TEXT:
	case PGT_OID_OID:
	case PGT_OID_JSON:
	case PGT_OID_XML:
	case PGT_OID_POINT:
	case PGT_OID_BOX:
	case PGT_OID_CIDR:
	case PGT_OID_MONEY:
	case PGT_OID_MACADDR:
	case PGT_OID_INET:
	case PGT_OID_BPCHAR:
	case PGT_OID_VARCHAR:
	case PGT_OID_TIME:
	case PGT_OID_INTERVAL:
	case PGT_OID_TIMETZ:
	case PGT_OID_BIT:
	case PGT_OID_VARBIT:
	case PGT_OID_TSVECTOR:
	case PGT_OID_JSONB:
		return new_conv(a, PGT_K_TEXT, LK_T_STRING, oid);
	}
	return NULL;
}

/* Built-in array types: element oid, or 0. */
static uint32_t
builtin_array_elem(uint32_t oid)
{
	static const uint32_t map[][2] = {
		{1000, PGT_OID_BOOL},   {1001, PGT_OID_BYTEA},   {1002, PGT_OID_CHAR},
		{1003, PGT_OID_NAME},   {1005, PGT_OID_INT2},    {1007, PGT_OID_INT4},
		{1009, PGT_OID_TEXT},   {1014, PGT_OID_BPCHAR},  {1015, PGT_OID_VARCHAR},
		{1016, PGT_OID_INT8},   {1021, PGT_OID_FLOAT4},  {1022, PGT_OID_FLOAT8},
		{1028, PGT_OID_OID},    {1115, PGT_OID_TIMESTAMP}, {1182, PGT_OID_DATE},
		{1183, PGT_OID_TIME},   {1185, PGT_OID_TIMESTAMPTZ}, {1187, PGT_OID_INTERVAL},
		{1231, PGT_OID_NUMERIC}, {1270, PGT_OID_TIMETZ}, {2951, PGT_OID_UUID},
		{199, PGT_OID_JSON},    {3807, PGT_OID_JSONB},   {143, PGT_OID_XML},
		{651, PGT_OID_CIDR},    {1041, PGT_OID_INET},    {1040, PGT_OID_MACADDR},
		{791, PGT_OID_MONEY},   {1561, PGT_OID_BIT},     {1563, PGT_OID_VARBIT},
		{3643, PGT_OID_TSVECTOR}, {1017, PGT_OID_POINT}, {1020, PGT_OID_BOX},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i][0] == oid)
			return map[i][1];
	return 0;
}

bool
pgt_fixed_length_oid(uint32_t oid)
{
	switch (oid) {
	case PGT_OID_BOOL: case PGT_OID_CHAR: case PGT_OID_NAME: case PGT_OID_INT8:
	case PGT_OID_INT2: case PGT_OID_INT4: case PGT_OID_OID: case PGT_OID_POINT:
	case PGT_OID_BOX: case PGT_OID_FLOAT4: case PGT_OID_FLOAT8:
	case PGT_OID_MONEY: case PGT_OID_MACADDR: case PGT_OID_DATE:
	case PGT_OID_TIME: case PGT_OID_TIMESTAMP: case PGT_OID_TIMESTAMPTZ:
	case PGT_OID_INTERVAL: case PGT_OID_TIMETZ: case PGT_OID_UUID:
		return true;
	}
	return false;
}

uint32_t
pgt_builtin_oid(const char *typname)
{
	static const struct {
		const char *name;
		uint32_t oid;
	} names[] = {
		{"bool", PGT_OID_BOOL}, {"bytea", PGT_OID_BYTEA}, {"char", PGT_OID_CHAR},
		{"name", PGT_OID_NAME}, {"int8", PGT_OID_INT8}, {"int2", PGT_OID_INT2},
		{"int4", PGT_OID_INT4}, {"text", PGT_OID_TEXT}, {"oid", PGT_OID_OID},
		{"json", PGT_OID_JSON}, {"xml", PGT_OID_XML}, {"point", PGT_OID_POINT},
		{"box", PGT_OID_BOX}, {"cidr", PGT_OID_CIDR}, {"float4", PGT_OID_FLOAT4},
		{"float8", PGT_OID_FLOAT8}, {"money", PGT_OID_MONEY},
		{"macaddr", PGT_OID_MACADDR}, {"inet", PGT_OID_INET},
		{"bpchar", PGT_OID_BPCHAR}, {"varchar", PGT_OID_VARCHAR},
		{"date", PGT_OID_DATE}, {"time", PGT_OID_TIME},
		{"timestamp", PGT_OID_TIMESTAMP}, {"timestamptz", PGT_OID_TIMESTAMPTZ},
		{"interval", PGT_OID_INTERVAL}, {"timetz", PGT_OID_TIMETZ},
		{"bit", PGT_OID_BIT}, {"varbit", PGT_OID_VARBIT},
		{"numeric", PGT_OID_NUMERIC}, {"uuid", PGT_OID_UUID},
		{"tsvector", PGT_OID_TSVECTOR}, {"jsonb", PGT_OID_JSONB},
		{"_bool", 1000}, {"_bytea", 1001}, {"_char", 1002}, {"_name", 1003},
		{"_int2", 1005}, {"_int4", 1007}, {"_text", 1009}, {"_bpchar", 1014},
		{"_varchar", 1015}, {"_int8", 1016}, {"_point", 1017}, {"_box", 1020},
		{"_float4", 1021}, {"_float8", 1022}, {"_oid", 1028}, {"_macaddr", 1040},
		{"_inet", 1041}, {"_timestamp", 1115}, {"_date", 1182}, {"_time", 1183},
		{"_timestamptz", 1185}, {"_interval", 1187}, {"_numeric", 1231},
		{"_timetz", 1270}, {"_bit", 1561}, {"_varbit", 1563}, {"_uuid", 2951},
		{"_json", 199}, {"_jsonb", 3807}, {"_xml", 143}, {"_cidr", 651},
		{"_money", 791}, {"_tsvector", 3643},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i].name, typname) == 0)
			return names[i].oid;
	return 0;
}

static const pgt_conv *map_type(lk_arena *a, const pgt_type_desc *d,
								int32_t typmod, int ndims, int depth);

static const pgt_conv *
make_array(lk_arena *a, uint32_t oid, const pgt_conv *elem, char delim,
		   int ndims)
{
	if (ndims > 1) /* multi-dimensional → its text */
		return new_conv(a, PGT_K_TEXT, LK_T_STRING, oid);
	pgt_conv *c = lk_arena_zalloc(a, sizeof(*c));
	c->kind = PGT_K_ARRAY;
	c->type = lk_type_array(a, elem->type, true);
	c->pg_oid = oid;
	c->delim = delim ? delim : ',';
	c->elem = elem;
	return c;
}

static const pgt_conv *
map_type(lk_arena *a, const pgt_type_desc *d, int32_t typmod, int ndims,
		 int depth)
{
	if (depth > 16) /* a cycle in what the caller passed */
		return new_conv(a, PGT_K_TEXT, LK_T_STRING, d->oid);
	pgt_conv *c = map_builtin_scalar(a, d->oid, typmod);
	if (c)
		return c;
	uint32_t eoid = builtin_array_elem(d->oid);
	if (eoid) {
		const pgt_conv *e = map_builtin_scalar(a, eoid, typmod);
		return make_array(a, d->oid, e, eoid == PGT_OID_BOX ? ';' : ',', ndims);
	}
	if (d->typtype == 'd' && d->base)
		return map_type(a, d->base, d->base->typmod,
						d->base->ndims ? d->base->ndims : ndims, depth + 1);
	if (d->elem && (d->typcategory == 'A' || d->typcategory == 0)) {
		int32_t etm = typmod != -1 ? typmod : d->elem->typmod;
		const pgt_conv *e = map_type(a, d->elem, etm, d->elem->ndims, depth + 1);
		return make_array(a, d->oid, e, d->typdelim, ndims);
	}
	/* enum, range, composite, extension types (citext, …), anything else:
	 * PostgreSQL's text output */
	return new_conv(a, PGT_K_TEXT, LK_T_STRING, d->oid);
}

const pgt_conv *
pgt_map_type(lk_arena *a, const pgt_type_desc *d)
{
	return map_type(a, d, d->typmod, d->ndims, 0);
}

const pgt_conv *
pgt_map_oid(lk_arena *a, uint32_t oid, int32_t typmod, int ndims)
{
	pgt_type_desc d = {.oid = oid, .typmod = typmod, .ndims = ndims};
	return pgt_map_type(a, &d);
}

/* ---------------------------------------------------------------- errors */

/* Quote at most 64 bytes of the value for a message. */
static bool
value_error(lk_error *err, lk_error_code code, const char *what,
			const char *s, size_t n)
{
	int shown = n > 64 ? 64 : (int) n;
	return lk_error_set(err, code, "%s: \"%.*s\"%s", what, shown, s,
						n > 64 ? "..." : "");
}

static bool
invalid(lk_error *err, const char *type, const char *s, size_t n)
{
	char what[64];
	snprintf(what, sizeof(what), "invalid input syntax for type %s", type);
	return value_error(err, LK_ERR_CORRUPT, what, s, n);
}

static bool
text_is(const char *s, size_t n, const char *lit)
{
	size_t m = strlen(lit);
	return n == m && memcmp(s, lit, m) == 0;
}

static bool
is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* ---------------------------------------------------------------- scalars */

bool
pgt_parse_bool(const char *s, size_t n, bool *out, lk_error *err)
{
	if (text_is(s, n, "t")) {
		*out = true;
		return true;
	}
	if (text_is(s, n, "f")) {
		*out = false;
		return true;
	}
	return invalid(err, "boolean", s, n);
}

bool
pgt_parse_int(const char *s, size_t n, int64_t min, int64_t max, int64_t *out,
			  lk_error *err)
{
	size_t i = 0;
	bool neg = false;
	uint64_t acc = 0;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	if (i == n)
		return invalid(err, "integer", s, n);
	for (; i < n; i++) {
		if (!is_digit(s[i]))
			return invalid(err, "integer", s, n);
		unsigned d = (unsigned) (s[i] - '0');
		if (acc > (UINT64_MAX - d) / 10)
			return value_error(err, LK_ERR_CORRUPT, "integer out of range", s, n);
		acc = acc * 10 + d;
	}
	uint64_t limit = neg ? (uint64_t) (-(min + 1)) + 1 : (uint64_t) max;
	if (acc > limit)
		return value_error(err, LK_ERR_CORRUPT, "integer out of range", s, n);
	*out = neg ? (int64_t) (0 - acc) : (int64_t) acc;
	return true;
}

/* Checks the float syntax PostgreSQL prints and copies it NUL-terminated
 * into buf; 1 ok, 0 special (NaN/±Infinity set in *special), -1 invalid. */
static int
float_text(const char *s, size_t n, char *buf, size_t bufsize, double *special)
{
	if (text_is(s, n, "NaN")) {
		*special = NAN;
		return 0;
	}
	if (text_is(s, n, "Infinity")) {
		*special = INFINITY;
		return 0;
	}
	if (text_is(s, n, "-Infinity")) {
		*special = -INFINITY;
		return 0;
	}
	size_t i = 0, digits = 0;
	if (i < n && s[i] == '-')
		i++;
	for (; i < n && is_digit(s[i]); i++)
		digits++;
	if (i < n && s[i] == '.')
		for (i++; i < n && is_digit(s[i]); i++)
			digits++;
	if (!digits)
		return -1;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t ed = 0;
		for (; i < n && is_digit(s[i]); i++)
			ed++;
		if (!ed)
			return -1;
	}
	if (i != n || n >= bufsize)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 1;
}

bool
pgt_parse_float8(const char *s, size_t n, double *out, lk_error *err)
{
	char buf[128];
	double special;
	int r = float_text(s, n, buf, sizeof(buf), &special);
	if (r < 0)
		return invalid(err, "double precision", s, n);
	if (r == 0) {
		*out = special;
		return true;
	}
	errno = 0;
	double v = strtod(buf, NULL);
	/* ERANGE with a subnormal result is fine (PostgreSQL accepts it) */
	if (errno == ERANGE && (v == 0.0 || isinf(v)))
		return value_error(err, LK_ERR_CORRUPT,
						   "value out of range for type double precision", s, n);
	*out = v;
	return true;
}

bool
pgt_parse_float4(const char *s, size_t n, float *out, lk_error *err)
{
	char buf[128];
	double special;
	int r = float_text(s, n, buf, sizeof(buf), &special);
	if (r < 0)
		return invalid(err, "real", s, n);
	if (r == 0) {
		*out = (float) special;
		return true;
	}
	errno = 0;
	float v = strtof(buf, NULL); /* strtof, not (float) strtod: no double rounding */
	if (errno == ERANGE && (v == 0.0f || isinf(v)))
		return value_error(err, LK_ERR_CORRUPT, "value out of range for type real",
						   s, n);
	*out = v;
	return true;
}

/* ---------------------------------------------------------------- dates */

static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int64_t y, int m)
{
	static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

/* exactly k digits at s[*i] */
static bool
get_digits(const char *s, size_t n, size_t *i, int k, int *out)
{
	int v = 0;
	for (int j = 0; j < k; j++) {
		if (*i >= n || !is_digit(s[*i]))
			return false;
		v = v * 10 + (s[(*i)++] - '0');
	}
	*out = v;
	return true;
}

/* "YYYY-MM-DD" (year: 4–9 digits, as printed, before any " BC"). */
static bool
get_date(const char *s, size_t n, size_t *i, int64_t *year, int *mon, int *day)
{
	int64_t y = 0;
	int nd = 0;
	while (*i < n && is_digit(s[*i]) && nd < 9) {
		y = y * 10 + (s[(*i)++] - '0');
		nd++;
	}
	if (nd < 4 || *i >= n || s[*i] != '-')
		return false;
	(*i)++;
	if (!get_digits(s, n, i, 2, mon) || *i >= n || s[*i] != '-')
		return false;
	(*i)++;
	if (!get_digits(s, n, i, 2, day))
		return false;
	*year = y;
	return true;
}

/* " BC" suffix at s[*i]: consumes it and returns true. */
static bool
get_bc(const char *s, size_t n, size_t *i)
{
	if (n - *i >= 3 && memcmp(s + *i, " BC", 3) == 0) {
		*i += 3;
		return true;
	}
	return false;
}

/* Validate month/day and return days since the epoch (astronomical
 * year: 1 BC is year 0). */
static bool
civil_days(int64_t year, bool bc, int mon, int day, int64_t *days)
{
	if (year == 0 || mon < 1 || mon > 12)
		return false;
	int64_t ay = bc ? 1 - year : year;
	if (day < 1 || day > days_in_month(ay, mon))
		return false;
	*days = days_from_civil(ay, mon, day);
	return true;
}

bool
pgt_parse_date(const char *s, size_t n, int32_t *days, lk_error *err)
{
	if (text_is(s, n, "infinity")) {
		*days = PGT_DATE_MAX_DAYS;
		return true;
	}
	if (text_is(s, n, "-infinity")) {
		*days = PGT_DATE_MIN_DAYS;
		return true;
	}
	size_t i = 0;
	int64_t y, d;
	int mon, day;
	if (!get_date(s, n, &i, &y, &mon, &day))
		return invalid(err, "date", s, n);
	bool bc = get_bc(s, n, &i);
	if (i != n || !civil_days(y, bc, mon, day, &d))
		return invalid(err, "date", s, n);
	if (d < PGT_DATE_MIN_DAYS || d > PGT_DATE_MAX_DAYS)
		return value_error(err, LK_ERR_UNSUPPORTED,
						   "cannot represent date outside 0001-01-01 to 9999-12-31",
						   s, n);
	*days = (int32_t) d;
	return true;
}

bool
pgt_parse_timestamp(const char *s, size_t n, bool with_tz, int64_t *micros,
					lk_error *err)
{
	const char *tname = with_tz ? "timestamp with time zone" : "timestamp";
	if (text_is(s, n, "infinity")) {
		*micros = PGT_TS_MAX_MICROS;
		return true;
	}
	if (text_is(s, n, "-infinity")) {
		*micros = PGT_TS_MIN_MICROS;
		return true;
	}
	size_t i = 0;
	int64_t y, days;
	int mon, day, hh, mi, ss;
	int64_t frac = 0;
	if (!get_date(s, n, &i, &y, &mon, &day) || i >= n || s[i++] != ' ' ||
		!get_digits(s, n, &i, 2, &hh) || i >= n || s[i++] != ':' ||
		!get_digits(s, n, &i, 2, &mi) || i >= n || s[i++] != ':' ||
		!get_digits(s, n, &i, 2, &ss))
		return invalid(err, tname, s, n);
	if (i < n && s[i] == '.') {
		int nd = 0;
		for (i++; i < n && is_digit(s[i]); i++, nd++) {
			if (nd == 6)
				return invalid(err, tname, s, n);
			frac = frac * 10 + (s[i] - '0');
		}
		if (nd == 0)
			return invalid(err, tname, s, n);
		for (; nd < 6; nd++)
			frac *= 10;
	}
	int64_t offset = 0; /* seconds east of UTC */
	if (i < n && (s[i] == '+' || s[i] == '-')) {
		if (!with_tz)
			return invalid(err, tname, s, n);
		int sign = s[i++] == '-' ? -1 : 1, oh, om = 0, os = 0;
		if (!get_digits(s, n, &i, 2, &oh))
			return invalid(err, tname, s, n);
		if (i < n && s[i] == ':') {
			i++;
			if (!get_digits(s, n, &i, 2, &om))
				return invalid(err, tname, s, n);
			if (i < n && s[i] == ':') {
				i++;
				if (!get_digits(s, n, &i, 2, &os))
					return invalid(err, tname, s, n);
			}
		}
		if (om > 59 || os > 59)
			return invalid(err, tname, s, n);
		offset = sign * ((int64_t) oh * 3600 + om * 60 + os);
	} else if (with_tz) {
		return invalid(err, tname, s, n); /* no offset: zone unknown */
	}
	bool bc = get_bc(s, n, &i);
	if (i != n || hh > 23 || mi > 59 || ss > 59 ||
		!civil_days(y, bc, mon, day, &days))
		return invalid(err, tname, s, n);
	/* offsets are below one day: a day of margin keeps the product small */
	if (days < PGT_DATE_MIN_DAYS - 1 || days > PGT_DATE_MAX_DAYS + 1)
		goto range;
	int64_t secs = days * 86400 + hh * 3600 + mi * 60 + ss - offset;
	int64_t v = secs * 1000000 + frac;
	if (v < PGT_TS_MIN_MICROS || v > PGT_TS_MAX_MICROS)
		goto range;
	*micros = v;
	return true;
range:
	return value_error(err, LK_ERR_UNSUPPORTED,
					   with_tz
					   ? "cannot represent timestamp outside 0001-01-01 to 9999-12-31 UTC"
					   : "cannot represent timestamp outside 0001-01-01 to 9999-12-31",
					   s, n);
}

/* ---------------------------------------------------------------- bytes */

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9') return ch - '0';
	if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
	return -1;
}

/* bytea text → bytes appended to out */
static bool
parse_bytea(const char *s, size_t n, lk_buf *out, lk_error *err)
{
	if (n >= 2 && s[0] == '\\' && s[1] == 'x') {
		if ((n - 2) % 2)
			return invalid(err, "bytea", s, n);
		lk_buf_reserve(out, (n - 2) / 2);
		for (size_t i = 2; i < n; i += 2) {
			int hi = hexval(s[i]), lo = hexval(s[i + 1]);
			if (hi < 0 || lo < 0)
				return invalid(err, "bytea", s, n);
			out->data[out->len++] = (uint8_t) (hi << 4 | lo);
		}
		return true;
	}
	/* escape format */
	for (size_t i = 0; i < n;) {
		if (s[i] != '\\') {
			lk_buf_append_byte(out, (uint8_t) s[i++]);
		} else if (i + 1 < n && s[i + 1] == '\\') {
			lk_buf_append_byte(out, '\\');
			i += 2;
		} else if (i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' &&
				   s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' &&
				   s[i + 3] <= '7') {
			lk_buf_append_byte(out, (uint8_t) ((s[i + 1] - '0') << 6 |
											   (s[i + 2] - '0') << 3 |
											   (s[i + 3] - '0')));
			i += 4;
		} else {
			return invalid(err, "bytea", s, n);
		}
	}
	return true;
}

/* canonical lowercase uuid into buf[36] */
static bool
parse_uuid(const char *s, size_t n, char *buf, lk_error *err)
{
	if (n != 36)
		return invalid(err, "uuid", s, n);
	for (size_t i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return invalid(err, "uuid", s, n);
			buf[i] = '-';
		} else {
			int v = hexval(s[i]);
			if (v < 0)
				return invalid(err, "uuid", s, n);
			buf[i] = "0123456789abcdef"[v];
		}
	}
	return true;
}

/* ---------------------------------------------------------------- columns */

/* Shrink col back to len rows (an array append that failed half way). */
static void
column_truncate(lk_column *c, int64_t len)
{
	if (len >= c->length) /* nothing to undo (offsets may not exist yet) */
		return;
	for (int64_t i = len; i < c->length; i++)
		if (lk_column_is_null(c, i))
			c->null_count--;
	if (lk_type_is_varlen(c->type))
		c->data_len = c->offsets[len];
	if (c->type->id == LK_T_ARRAY || c->type->id == LK_T_MAP)
		for (int k = 0; k < c->nchildren; k++)
			column_truncate(&c->children[k], c->offsets[len]);
	else if (c->type->id == LK_T_STRUCT)
		for (int k = 0; k < c->nchildren; k++)
			column_truncate(&c->children[k], len);
	c->length = len;
}

static bool append_value(const pgt_conv *conv, lk_column *col, const char *s,
						 size_t n, lk_error *err);

static bool
ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' ||
		   ch == '\f';
}

/* One-dimensional array text → elements appended to col->children[0], then
 * the row.  On failure the child is shrunk back. */
static bool
parse_array(const pgt_conv *conv, lk_column *col, const char *s, size_t n,
			lk_error *err)
{
	lk_column *child = &col->children[0];
	int64_t child_len0 = child->length;
	lk_buf tok = LK_BUF_INIT;
	size_t i = 0;
	int nelem = 0;
	char delim = conv->delim;

	while (i < n && ws(s[i]))
		i++;
	if (i < n && s[i] == '[') {
		value_error(err, LK_ERR_UNSUPPORTED,
					"cannot represent an array with explicit bounds", s, n);
		goto fail;
	}
	if (i >= n || s[i] != '{')
		goto syntax;
	i++;
	while (i < n && ws(s[i]))
		i++;
	if (i < n && s[i] == '}') {
		i++;
		goto done;
	}
	for (;;) {
		while (i < n && ws(s[i]))
			i++;
		if (i >= n)
			goto syntax;
		lk_buf_reset(&tok);
		bool quoted = false, escaped = false;
		if (s[i] == '{') {
			value_error(err, LK_ERR_UNSUPPORTED,
						"cannot represent a multi-dimensional array value in "
						"a one-dimensional array column", s, n);
			goto fail;
		} else if (s[i] == '"') {
			quoted = true;
			for (i++;; i++) {
				if (i >= n)
					goto syntax;
				if (s[i] == '\\') {
					if (++i >= n)
						goto syntax;
					lk_buf_append_byte(&tok, (uint8_t) s[i]);
				} else if (s[i] == '"') {
					i++;
					break;
				} else {
					lk_buf_append_byte(&tok, (uint8_t) s[i]);
				}
			}
		} else {
			size_t keep = 0; /* length without trailing unescaped blanks */
			for (; i < n && s[i] != delim && s[i] != '}'; i++) {
				if (s[i] == '"' || s[i] == '{')
					goto syntax;
				if (s[i] == '\\') {
					if (++i >= n)
						goto syntax;
					escaped = true;
					lk_buf_append_byte(&tok, (uint8_t) s[i]);
					keep = tok.len;
				} else {
					lk_buf_append_byte(&tok, (uint8_t) s[i]);
					if (!ws(s[i]))
						keep = tok.len;
				}
			}
			tok.len = keep;
			if (tok.len == 0)
				goto syntax;
		}
		while (i < n && ws(s[i]))
			i++;
		nelem++;
		bool ok;
		if (!quoted && !escaped && tok.len == 4 &&
			strncasecmp((const char *) tok.data, "NULL", 4) == 0) {
			lk_column_append_null(child);
			ok = true;
		} else {
			ok = append_value(conv->elem, child,
							  tok.data ? (const char *) tok.data : "", tok.len,
							  err);
		}
		if (!ok) {
			lk_error_add_where(err, "array element %d", nelem);
			goto fail;
		}
		if (i < n && s[i] == delim) {
			i++;
			continue;
		}
		if (i < n && s[i] == '}') {
			i++;
			break;
		}
		goto syntax;
	}
done:
	while (i < n && ws(s[i]))
		i++;
	if (i != n)
		goto syntax;
	lk_buf_free(&tok);
	lk_column_append_list(col);
	return true;
syntax:
	invalid(err, "array", s, n);
fail:
	lk_buf_free(&tok);
	column_truncate(child, child_len0);
	return false;
}

static bool
append_value(const pgt_conv *conv, lk_column *col, const char *s, size_t n,
			 lk_error *err)
{
	switch (conv->kind) {
	case PGT_K_BOOL: {
		bool v;
		LK_FORWARD(pgt_parse_bool(s, n, &v, err));
		lk_column_append_bool(col, v);
		return true;
	}
	case PGT_K_INT2: {
		int64_t v;
		LK_FORWARD(pgt_parse_int(s, n, INT16_MIN, INT16_MAX, &v, err));
		int16_t x = (int16_t) v;
		lk_column_append_fixed(col, &x);
		return true;
	}
	case PGT_K_INT4: {
		int64_t v;
		LK_FORWARD(pgt_parse_int(s, n, INT32_MIN, INT32_MAX, &v, err));
		lk_column_append_i32(col, (int32_t) v);
		return true;
	}
	case PGT_K_INT8: {
		int64_t v;
		LK_FORWARD(pgt_parse_int(s, n, INT64_MIN, INT64_MAX, &v, err));
		lk_column_append_i64(col, v);
		return true;
	}
	case PGT_K_FLOAT4: {
		float v;
		LK_FORWARD(pgt_parse_float4(s, n, &v, err));
		lk_column_append_fixed(col, &v);
		return true;
	}
	case PGT_K_FLOAT8: {
		double v;
		LK_FORWARD(pgt_parse_float8(s, n, &v, err));
		lk_column_append_fixed(col, &v);
		return true;
	}
	case PGT_K_DECIMAL: {
		const lk_type *t = conv->type;
		if (text_is(s, n, "NaN") || text_is(s, n, "Infinity") ||
			text_is(s, n, "-Infinity")) {
			char what[64];
			snprintf(what, sizeof(what), "cannot represent numeric in decimal(%d,%d)",
					 t->precision, t->scale);
			return value_error(err, LK_ERR_UNSUPPORTED, what, s, n);
		}
		size_t i = 0, nd = 0;
		if (i < n && s[i] == '-')
			i++;
		for (; i < n && is_digit(s[i]); i++)
			nd++;
		if (i < n && s[i] == '.')
			for (i++; i < n && is_digit(s[i]); i++)
				;
		if (nd == 0 || i != n)
			return invalid(err, "numeric", s, n);
		lk_int128 v;
		if (!lk_decimal_parse(s, n, t->precision, t->scale, &v)) {
			char what[64];
			snprintf(what, sizeof(what), "cannot represent numeric in decimal(%d,%d)",
					 t->precision, t->scale);
			return value_error(err, LK_ERR_UNSUPPORTED, what, s, n);
		}
		lk_column_append_i128(col, v);
		return true;
	}
	case PGT_K_TEXT:
		lk_column_append_bytes(col, s, (int64_t) n);
		return true;
	case PGT_K_BYTEA: {
		lk_buf b = LK_BUF_INIT;
		if (!parse_bytea(s, n, &b, err)) {
			lk_buf_free(&b);
			return false;
		}
		lk_column_append_bytes(col, b.data, (int64_t) b.len);
		lk_buf_free(&b);
		return true;
	}
	case PGT_K_UUID: {
		char buf[36];
		LK_FORWARD(parse_uuid(s, n, buf, err));
		lk_column_append_bytes(col, buf, 36);
		return true;
	}
	case PGT_K_DATE: {
		int32_t d;
		LK_FORWARD(pgt_parse_date(s, n, &d, err));
		lk_column_append_i32(col, d);
		return true;
	}
	case PGT_K_TIMESTAMP:
	case PGT_K_TIMESTAMPTZ: {
		int64_t v;
		LK_FORWARD(pgt_parse_timestamp(s, n, conv->kind == PGT_K_TIMESTAMPTZ,
									   &v, err));
		lk_column_append_i64(col, v);
		return true;
	}
	case PGT_K_ARRAY:
		return parse_array(conv, col, s, n, err);
	}
	lk_error_set(err, LK_ERR_INTERNAL, "unknown conversion kind %d", (int) conv->kind);
	return false;
}

bool
pgt_append_text(const pgt_conv *conv, lk_column *col, const char *colname,
				const char *text, size_t len, lk_error *err)
{
	if (!text) {
		lk_column_append_null(col);
		return true;
	}
	lk_error_clear(err);
	if (!append_value(conv, col, text, len, err))
		return lk_error_add_where(err, "column \"%s\"", colname ? colname : "?");
	return true;
}

/* ---------------------------------------------------------------- binary */

/* Binary forms: see the top of the file. */

#define PG_EPOCH_DAYS 10957                          /* 2000-01-01 */
#define PG_EPOCH_MICROS (INT64_C(10957) * 86400 * 1000000)

static inline uint16_t
be16(const uint8_t *p)
{
	return (uint16_t) ((uint16_t) p[0] << 8 | p[1]);
}

static inline uint32_t
be32(const uint8_t *p)
{
	return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static inline uint64_t
be64(const uint8_t *p)
{
	return (uint64_t) be32(p) << 32 | be32(p + 4);
}

/* Appenders without the generic width lookup (same effect as
 * lk_column_append_fixed / _bytes). */
static inline void
push_fixed(lk_column *c, const void *v, size_t w)
{
	if (c->length >= c->cap)
		lk_column_reserve(c, 1);
	memcpy((char *) c->values + (size_t) c->length * w, v, w);
	if (c->validity)
		c->validity[c->length >> 3] |= (uint8_t) (1u << (c->length & 7));
	c->length++;
}

static inline void
push_bytes(lk_column *c, const void *p, size_t n)
{
	if (c->length >= c->cap)
		lk_column_reserve(c, 1);
	if (!c->data || (int64_t) n > c->data_cap - c->data_len)
		lk_column_reserve_data(c, (int64_t) n);
	if (n)
		memcpy(c->data + c->data_len, p, n);
	c->data_len += (int64_t) n;
	c->offsets[c->length + 1] = c->data_len;
	if (c->validity)
		c->validity[c->length >> 3] |= (uint8_t) (1u << (c->length & 7));
	c->length++;
}

/* civil date of a day number (see pgtypes.h; H. Hinnant's algorithm) */
void
pgt_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = era * 400 + yoe + (*m <= 2);
}

/* PostgreSQL's ISO text of a date / timestamp (for messages): year ≥ 4
 * digits, " BC" for years ≤ 0, fractional seconds without trailing
 * zeros, "+00" with a zone (TimeZone=UTC). */
static void
format_date(char *buf, size_t n, int64_t days)
{
	int64_t y;
	int m, d;
	pgt_civil_from_days(days, &y, &m, &d);
	snprintf(buf, n, "%04lld-%02d-%02d%s", (long long) (y > 0 ? y : 1 - y), m, d,
			 y > 0 ? "" : " BC");
}

static void
format_timestamp(char *buf, size_t n, int64_t pg_micros, bool with_tz)
{
	int64_t micros = pg_micros;    /* since 2000-01-01: never overflows */
	int64_t secs = micros / 1000000, frac = micros % 1000000;
	if (frac < 0) {
		frac += 1000000;
		secs--;
	}
	int64_t days = secs / 86400, sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	int64_t y;
	int m, d;
	pgt_civil_from_days(days + PG_EPOCH_DAYS, &y, &m, &d);
	char fs[16] = "";
	if (frac) {
		snprintf(fs, sizeof(fs), ".%06lld", (long long) frac);
		size_t k = strlen(fs);
		while (fs[k - 1] == '0')
			fs[--k] = '\0';
	}
	snprintf(buf, n, "%04lld-%02d-%02d %02d:%02d:%02d%s%s%s",
			 (long long) (y > 0 ? y : 1 - y), m, d, (int) (sod / 3600),
			 (int) (sod / 60 % 60), (int) (sod % 60), fs, with_tz ? "+00" : "",
			 y > 0 ? "" : " BC");
}

static bool
binary_error(lk_error *err, const char *type, const char *what)
{
	return lk_error_set(err, LK_ERR_CORRUPT, "invalid binary value for type %s: %s",
						type, what);
}

static bool
binary_len(lk_error *err, const char *type, size_t len, size_t want)
{
	if (len == want)
		return true;
	char what[64];
	snprintf(what, sizeof(what), "%zu bytes, expected %zu", len, want);
	return binary_error(err, type, what);
}

/* A binary numeric, checked as numeric_recv checks it. */
typedef struct bnum {
	int ndigits, weight, dscale;
	uint16_t sign;
	const uint8_t *digits;   /* ndigits big-endian int16 */
} bnum;

#define BNUM_POS 0x0000
#define BNUM_NEG 0x4000
#define BNUM_NAN 0xC000
#define BNUM_PINF 0xD000
#define BNUM_NINF 0xF000

static bool
bnum_read(const uint8_t *p, size_t len, bnum *v, lk_error *err)
{
	if (len < 8)
		return binary_error(err, "numeric", "shorter than its header");
	int16_t nd = (int16_t) be16(p), w = (int16_t) be16(p + 2);
	uint16_t sign = be16(p + 4), ds = be16(p + 6);
	if (nd < 0 || len != 8 + 2 * (size_t) nd)
		return binary_error(err, "numeric", "length does not match its digit count");
	if (sign != BNUM_POS && sign != BNUM_NEG && sign != BNUM_NAN &&
		sign != BNUM_PINF && sign != BNUM_NINF)
		return binary_error(err, "numeric", "bad sign");
	if (ds > 0x3FFF)
		return binary_error(err, "numeric", "bad display scale");
	if ((sign & 0xC000) == 0xC000 && nd != 0)
		return binary_error(err, "numeric", "digits in a special value");
	for (int i = 0; i < nd; i++)
		if (be16(p + 8 + 2 * i) > 9999)
			return binary_error(err, "numeric", "digit out of range");
	v->ndigits = nd;
	v->weight = w;
	v->sign = sign;
	v->dscale = ds;
	v->digits = p + 8;
	return true;
}

static inline int
bnum_digit(const bnum *v, int i)
{
	return i >= 0 && i < v->ndigits ? be16(v->digits + 2 * i) : 0;
}

/* Bytes bnum_text() may write (with its NUL). */
static size_t
bnum_text_size(const bnum *v)
{
	size_t ip = v->weight >= 0 ? (size_t) (v->weight + 1) * 4 : 1;
	return ip + (size_t) v->dscale + 8;
}

/* numeric_out: the text PostgreSQL prints for v into buf (≥
 * bnum_text_size bytes); returns its length. */
static size_t
bnum_text(const bnum *v, char *buf)
{
	char *cp = buf;
	if (v->sign == BNUM_NAN)
		return (size_t) sprintf(buf, "NaN");
	if (v->sign == BNUM_PINF)
		return (size_t) sprintf(buf, "Infinity");
	if (v->sign == BNUM_NINF)
		return (size_t) sprintf(buf, "-Infinity");
	if (v->sign == BNUM_NEG)
		*cp++ = '-';
	int d;
	if (v->weight < 0) {
		d = v->weight + 1;
		*cp++ = '0';
	} else {
		for (d = 0; d <= v->weight; d++) {
			int dig = bnum_digit(v, d);
			bool put = d > 0;
			for (int div = 1000; div > 1; div /= 10) {
				int q = dig / div;
				dig -= q * div;
				put |= q > 0;
				if (put)
					*cp++ = (char) ('0' + q);
			}
			*cp++ = (char) ('0' + dig);
		}
	}
	if (v->dscale > 0) {
		*cp++ = '.';
		char *end = cp + v->dscale;
		for (int i = 0; i < v->dscale; d++, i += 4) {
			int dig = bnum_digit(v, d);
			for (int div = 1000; div >= 1; div /= 10) {
				*cp++ = (char) ('0' + dig / div);
				dig %= div;
			}
		}
		cp = end;
	}
	*cp = '\0';
	return (size_t) (cp - buf);
}

/* The value's text into a message ("cannot represent …: "<text>""). */
static bool
bnum_value_error(lk_error *err, lk_error_code code, const char *what,
				 const bnum *v)
{
	size_t need = bnum_text_size(v);
	char small[128];
	char *buf = need <= sizeof(small) ? small : lk_xmalloc(need);
	size_t n = bnum_text(v, buf);
	value_error(err, code, what, buf, n);
	if (buf != small)
		free(buf);
	return false;
}

static const uint64_t pow10_u64[20] = {
	UINT64_C(1), UINT64_C(10), UINT64_C(100), UINT64_C(1000), UINT64_C(10000),
	UINT64_C(100000), UINT64_C(1000000), UINT64_C(10000000), UINT64_C(100000000),
	UINT64_C(1000000000), UINT64_C(10000000000), UINT64_C(100000000000),
	UINT64_C(1000000000000), UINT64_C(10000000000000), UINT64_C(100000000000000),
	UINT64_C(1000000000000000), UINT64_C(10000000000000000),
	UINT64_C(100000000000000000), UINT64_C(1000000000000000000),
	UINT64_C(10000000000000000000),
};

/* 10^e, 0 ≤ e ≤ 38 */
static inline unsigned __int128
pow10_u128(int e)
{
	return e <= 19 ? pow10_u64[e] :
		   (unsigned __int128) pow10_u64[19] * pow10_u64[e - 19];
}

/* "cannot represent numeric in decimal(p,s): "<v>"" */
static bool
bnum_decimal_error(lk_error *err, const lk_type *t, const bnum *v)
{
	char what[64];
	snprintf(what, sizeof(what), "cannot represent numeric in decimal(%d,%d)",
			 t->precision, t->scale);
	return bnum_value_error(err, LK_ERR_UNSUPPORTED, what, v);
}

/* Exact unscaled value of v at t's scale, below 10^precision (no
 * rounding: digits below the scale must be zeros). */
static bool
bnum_decimal(const bnum *v, const lk_type *t, lk_int128 *out, lk_error *err)
{
	if ((v->sign & 0xC000) == 0xC000)
		return bnum_decimal_error(err, t, v);
	unsigned __int128 limit = pow10_u128(t->precision), u = 0;
	for (int i = 0; i < v->ndigits; i++) {
		unsigned dig = (unsigned) bnum_digit(v, i);
		if (!dig)
			continue;
		int e = 4 * (v->weight - i) + t->scale;
		if (e < 0) {
			if (e <= -4 || dig % (unsigned) pow10_u64[-e] != 0)
				return bnum_decimal_error(err, t, v);
			dig /= (unsigned) pow10_u64[-e];
			e = 0;
		}
		/* dig < 10^4: dig × 10^e < 10^38 unless e > 34 */
		if (e > 38 || (e > 34 && dig >= pow10_u64[38 - e]))
			return bnum_decimal_error(err, t, v);
		u += (unsigned __int128) dig * pow10_u128(e);
		if (u >= limit)
			return bnum_decimal_error(err, t, v);
	}
	*out = v->sign == BNUM_NEG ? -(lk_int128) u : (lk_int128) u;
	return true;
}

static const char *
native_text_type(uint32_t oid)
{
	switch (oid) {
	case PGT_OID_TEXT: return "text";
	case PGT_OID_VARCHAR: return "character varying";
	case PGT_OID_BPCHAR: return "character";
	case PGT_OID_NAME: return "name";
	case PGT_OID_JSON: return "json";
	case PGT_OID_JSONB: return "jsonb";
	case PGT_OID_NUMERIC: return "numeric";
	}
	return NULL;
}

bool
pgt_binary_native(const pgt_conv *conv)
{
	switch (conv->kind) {
	case PGT_K_BOOL: return conv->pg_oid == PGT_OID_BOOL;
	case PGT_K_INT2: return conv->pg_oid == PGT_OID_INT2;
	case PGT_K_INT4: return conv->pg_oid == PGT_OID_INT4;
	case PGT_K_INT8: return conv->pg_oid == PGT_OID_INT8;
	case PGT_K_FLOAT4: return conv->pg_oid == PGT_OID_FLOAT4;
	case PGT_K_FLOAT8: return conv->pg_oid == PGT_OID_FLOAT8;
	case PGT_K_DECIMAL: return conv->pg_oid == PGT_OID_NUMERIC;
	case PGT_K_TEXT: return native_text_type(conv->pg_oid) != NULL;
	case PGT_K_BYTEA: return conv->pg_oid == PGT_OID_BYTEA;
	case PGT_K_UUID: return conv->pg_oid == PGT_OID_UUID;
	case PGT_K_DATE: return conv->pg_oid == PGT_OID_DATE;
	case PGT_K_TIMESTAMP: return conv->pg_oid == PGT_OID_TIMESTAMP;
	case PGT_K_TIMESTAMPTZ: return conv->pg_oid == PGT_OID_TIMESTAMPTZ;
	case PGT_K_ARRAY: return false;
	}
	return false;
}

static bool
append_binary(const pgt_conv *conv, lk_column *col, const uint8_t *p, size_t len,
			  lk_error *err)
{
	switch (conv->kind) {
	case PGT_K_BOOL: {
		LK_FORWARD(binary_len(err, "boolean", len, 1));
		uint8_t b = p[0] != 0;
		push_fixed(col, &b, 1);
		return true;
	}
	case PGT_K_INT2: {
		LK_FORWARD(binary_len(err, "smallint", len, 2));
		int16_t v = (int16_t) be16(p);
		push_fixed(col, &v, 2);
		return true;
	}
	case PGT_K_INT4: {
		LK_FORWARD(binary_len(err, "integer", len, 4));
		int32_t v = (int32_t) be32(p);
		push_fixed(col, &v, 4);
		return true;
	}
	case PGT_K_INT8: {
		LK_FORWARD(binary_len(err, "bigint", len, 8));
		int64_t v = (int64_t) be64(p);
		push_fixed(col, &v, 8);
		return true;
	}
	case PGT_K_FLOAT4: {
		LK_FORWARD(binary_len(err, "real", len, 4));
		uint32_t bits = be32(p);
		float v;
		memcpy(&v, &bits, 4);
		if (isnan(v))
			v = (float) NAN;
		push_fixed(col, &v, 4);
		return true;
	}
	case PGT_K_FLOAT8: {
		LK_FORWARD(binary_len(err, "double precision", len, 8));
		uint64_t bits = be64(p);
		double v;
		memcpy(&v, &bits, 8);
		if (isnan(v))
			v = NAN;
		push_fixed(col, &v, 8);
		return true;
	}
	case PGT_K_DECIMAL: {
		bnum v;
		lk_int128 x = 0;
		LK_FORWARD(bnum_read(p, len, &v, err));
		LK_FORWARD(bnum_decimal(&v, conv->type, &x, err));
		push_fixed(col, &x, sizeof(x));
		return true;
	}
	case PGT_K_TEXT:
		if (!native_text_type(conv->pg_oid))
			break;
		if (conv->pg_oid == PGT_OID_NUMERIC) {
			bnum v;
			LK_FORWARD(bnum_read(p, len, &v, err));
			size_t need = bnum_text_size(&v);
			char small[256];
			char *buf = need <= sizeof(small) ? small : lk_xmalloc(need);
			size_t n = bnum_text(&v, buf);
			push_bytes(col, buf, n);
			if (buf != small)
				free(buf);
			return true;
		}
		if (conv->pg_oid == PGT_OID_JSONB) {
			if (len < 1 || p[0] != 1)
				return binary_error(err, "jsonb", len < 1 ? "empty" :
									"unsupported jsonb version");
			p++;
			len--;
		}
		push_bytes(col, p, len);
		return true;
	case PGT_K_BYTEA:
		push_bytes(col, p, len);
		return true;
	case PGT_K_UUID: {
		LK_FORWARD(binary_len(err, "uuid", len, 16));
		static const char hex[] = "0123456789abcdef";
		char buf[36];
		int k = 0;
		for (int i = 0; i < 16; i++) {
			if (i == 4 || i == 6 || i == 8 || i == 10)
				buf[k++] = '-';
			buf[k++] = hex[p[i] >> 4];
			buf[k++] = hex[p[i] & 15];
		}
		push_bytes(col, buf, 36);
		return true;
	}
	case PGT_K_DATE: {
		LK_FORWARD(binary_len(err, "date", len, 4));
		int32_t raw = (int32_t) be32(p), d;
		if (raw == INT32_MAX) {
			d = PGT_DATE_MAX_DAYS;
		} else if (raw == INT32_MIN) {
			d = PGT_DATE_MIN_DAYS;
		} else {
			int64_t days = (int64_t) raw + PG_EPOCH_DAYS;
			if (days < PGT_DATE_MIN_DAYS || days > PGT_DATE_MAX_DAYS) {
				char text[48];
				format_date(text, sizeof(text), days);
				return value_error(err, LK_ERR_UNSUPPORTED,
								   "cannot represent date outside 0001-01-01 to 9999-12-31",
								   text, strlen(text));
			}
			d = (int32_t) days;
		}
		push_fixed(col, &d, 4);
		return true;
	}
	case PGT_K_TIMESTAMP:
	case PGT_K_TIMESTAMPTZ: {
		bool tz = conv->kind == PGT_K_TIMESTAMPTZ;
		LK_FORWARD(binary_len(err, tz ? "timestamp with time zone" : "timestamp",
							  len, 8));
		int64_t raw = (int64_t) be64(p), v;
		if (raw == INT64_MAX) {
			v = PGT_TS_MAX_MICROS;
		} else if (raw == INT64_MIN) {
			v = PGT_TS_MIN_MICROS;
		} else {
			if (raw < PGT_TS_MIN_MICROS - PG_EPOCH_MICROS ||
				raw > PGT_TS_MAX_MICROS - PG_EPOCH_MICROS) {
				char text[64];
				format_timestamp(text, sizeof(text), raw, tz);
				return value_error(err, LK_ERR_UNSUPPORTED, tz ?
								   "cannot represent timestamp outside 0001-01-01 to 9999-12-31 UTC" :
								   "cannot represent timestamp outside 0001-01-01 to 9999-12-31",
								   text, strlen(text));
			}
			v = raw + PG_EPOCH_MICROS;
		}
		push_fixed(col, &v, 8);
		return true;
	}
	case PGT_K_ARRAY:
		break;
	}
	return lk_error_set(err, LK_ERR_INTERNAL, "no binary reader for type oid %u",
						(unsigned) conv->pg_oid);
}

bool
pgt_append_binary(const pgt_conv *conv, lk_column *col, const char *colname,
				  const uint8_t *p, size_t len, lk_error *err)
{
	if (!p) {
		lk_column_append_null(col);
		return true;
	}
	if (append_binary(conv, col, p, len, err))
		return true;
	err->where[0] = '\0';
	return lk_error_add_where(err, "column \"%s\"", colname ? colname : "?");
}
