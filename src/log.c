/* log.c — see log.h. Sits beside every module; the conn layer logs once per failure with
 * flow id, host and stage (STYLE.md convention 10). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

/* Written once at start-up, before any worker thread; read-only afterwards. */
static enum log_level max_level = LOG_INFO;

void log_set_level(enum log_level level) { max_level = level; }

int log_enabled(enum log_level level) { return level <= max_level; }

void log_msg(enum log_level level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    if (!log_enabled(level))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    fprintf(stderr, "%02d:%02d:%02d.%03ld %s %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
            (long)(tv.tv_usec / 1000), names[level], msg);
}
