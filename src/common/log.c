#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static lk_log_level g_level = LK_LOG_INFO;
static int g_env_read;

static void
read_env(void)
{
	const char *e = getenv("LAKESYNC_LOG");
	g_env_read = 1;
	if (!e)
		return;
	if (!strcmp(e, "debug"))
		g_level = LK_LOG_DEBUG;
	else if (!strcmp(e, "info"))
		g_level = LK_LOG_INFO;
	else if (!strcmp(e, "warn"))
		g_level = LK_LOG_WARN;
	else if (!strcmp(e, "error"))
		g_level = LK_LOG_ERROR;
}

void
lk_log_set_level(lk_log_level level)
{
	g_env_read = 1;
	g_level = level;
}

lk_log_level
lk_log_get_level(void)
{
	if (!g_env_read)
		read_env();
	return g_level;
}

void
lk_log(lk_log_level level, const char *fmt, ...)
{
	static const char *names[] = {"debug", "info", "warning", "error"};
	char ts[32];
	struct timeval tv;
	struct tm tm;
	va_list ap;

	if (level < lk_log_get_level())
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03d %s: ", ts, (int) (tv.tv_usec / 1000), names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
lk_log_error(const lk_error *err)
{
	if (err->where[0])
		lk_log(LK_LOG_ERROR, "%s\n  where: %s", err->msg, err->where);
	else
		lk_log(LK_LOG_ERROR, "%s", err->msg);
}
