/*
 * error.h — the error struct every codec fills (CONVENTIONS "Errors").
 *
 * A codec returns false (or NULL) and fills an lk_error: a code, a short
 * lowercase primary message, and `where`, naming the file / byte offset /
 * column / LSN.  Callers forward it unchanged with LK_FORWARD, or add
 * context with lk_error_prefix().
 */
#ifndef LK_ERROR_H
#define LK_ERROR_H

#include <stdbool.h>
#include <stddef.h>

typedef enum lk_error_code {
	LK_OK = 0,
	LK_ERR_IO,          /* read/write/open failed */
	LK_ERR_CORRUPT,     /* malformed input (bad bytes, bad lengths) */
	LK_ERR_UNSUPPORTED, /* valid input we do not handle (named feature) */
	LK_ERR_INVALID,     /* invalid argument / usage */
	LK_ERR_NOMEM,       /* allocation failed or a size limit was exceeded */
	LK_ERR_CONFLICT,    /* concurrent modification (Delta commit race) */
	LK_ERR_NOT_FOUND,   /* file / table / column missing */
	LK_ERR_PG,          /* error reported by PostgreSQL */
	LK_ERR_INTERNAL,    /* a bug: an invariant did not hold */
} lk_error_code;

typedef struct lk_error {
	lk_error_code code;
	char msg[512];
	char where[512];
} lk_error;

/* Reset to "no error". */
void lk_error_clear(lk_error *err);

/* Fill err (if not NULL) with code and a printf-style primary message.
 * `where` is left unchanged. Always returns false so a caller can write
 * `return lk_error_set(err, LK_ERR_CORRUPT, "bad page");`. */
bool lk_error_set(lk_error *err, lk_error_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Set the location (`file "x.parquet" at byte 1234`, `column "id"`, ...).
 * Overwrites any previous location. Returns false. */
bool lk_error_where(lk_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prepend context to an existing location: where = "<ctx>, <where>".
 * Used by outer layers that know the file while inner layers know the
 * offset. Returns false. */
bool lk_error_add_where(lk_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Human text "msg (where)" into buf; returns buf. */
const char *lk_error_str(const lk_error *err, char *buf, size_t len);

/* Name of a code ("corrupt", "io", ...). */
const char *lk_error_code_name(lk_error_code code);

/* Forward a failed call: `LK_FORWARD(pq_read_x(..., err));` */
#define LK_FORWARD(expr)      \
	do {                      \
		if (!(expr))          \
			return false;     \
	} while (0)

/* Same, for functions that return a pointer. */
#define LK_FORWARD_NULL(expr) \
	do {                      \
		if (!(expr))          \
			return NULL;      \
	} while (0)

#endif
