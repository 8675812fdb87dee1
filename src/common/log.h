/*
 * log.h — leveled logging to stderr.  Application code logs once, where a
 * failure is known (CONVENTIONS "Errors"); codecs never log.
 */
#ifndef LK_LOG_H
#define LK_LOG_H

#include "common/error.h"

typedef enum { LK_LOG_DEBUG, LK_LOG_INFO, LK_LOG_WARN, LK_LOG_ERROR } lk_log_level;

void lk_log_set_level(lk_log_level level);
lk_log_level lk_log_get_level(void);
void lk_log(lk_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "error: <msg>" plus "  where: <where>" on its own line */
void lk_log_error(const lk_error *err);

#define lk_debug(...) lk_log(LK_LOG_DEBUG, __VA_ARGS__)
#define lk_info(...) lk_log(LK_LOG_INFO, __VA_ARGS__)
#define lk_warn(...) lk_log(LK_LOG_WARN, __VA_ARGS__)
#define lk_err(...) lk_log(LK_LOG_ERROR, __VA_ARGS__)

#endif
