#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
lk_error_clear(lk_error *err)
{
	if (!err)
		return;
	err->code = LK_OK;
	err->msg[0] = '\0';
	err->where[0] = '\0';
}

bool
lk_error_set(lk_error *err, lk_error_code code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return false;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return false;
}

bool
lk_error_where(lk_error *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return false;
	va_start(ap, fmt);
	vsnprintf(err->where, sizeof(err->where), fmt, ap);
	va_end(ap);
	return false;
}

bool
lk_error_add_where(lk_error *err, const char *fmt, ...)
{
	char ctx[256], old[sizeof(err->where)];
	va_list ap;

	if (!err)
		return false;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, err->where, sizeof(old));
	size_t n = strlen(ctx);
	if (n >= sizeof(err->where))
		n = sizeof(err->where) - 1;
	memcpy(err->where, ctx, n);
	if (old[0] && n + 2 < sizeof(err->where)) {
		memcpy(err->where + n, ", ", 2);
		n += 2;
		size_t m = strlen(old);
		if (m > sizeof(err->where) - 1 - n)
			m = sizeof(err->where) - 1 - n;
		memcpy(err->where + n, old, m);
		n += m;
	}
	err->where[n] = '\0';
	return false;
}

const char *
lk_error_str(const lk_error *err, char *buf, size_t len)
{
	if (!err || err->code == LK_OK)
		snprintf(buf, len, "no error");
	else if (err->where[0])
		snprintf(buf, len, "%s (%s)", err->msg, err->where);
	else
		snprintf(buf, len, "%s", err->msg);
	return buf;
}

const char *
lk_error_code_name(lk_error_code code)
{
	switch (code) {
	case LK_OK: return "ok";
	case LK_ERR_IO: return "io";
	case LK_ERR_CORRUPT: return "corrupt";
	case LK_ERR_UNSUPPORTED: return "unsupported";
	case LK_ERR_INVALID: return "invalid";
	case LK_ERR_NOMEM: return "nomem";
	case LK_ERR_CONFLICT: return "conflict";
	case LK_ERR_NOT_FOUND: return "not found";
	case LK_ERR_PG: return "postgres";
	case LK_ERR_INTERNAL: return "internal";
	}
	return "unknown";
}
