/* log.h — leveled diagnostic log on stderr; the per-exchange terminal line is flow_print's job.
 *
 * The level is set once at start-up (before worker threads exist) and only read afterwards;
 * each message is one fprintf, which stdio locks, so lines from workers never interleave. */
#ifndef HTTPEEK_LOG_H
#define HTTPEEK_LOG_H

#include "attrib.h"

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Set the most verbose level printed (default LOG_INFO). Call before starting threads. */
void log_set_level(enum log_level level);

/* 1 when messages at level are printed: guards costly argument formatting. */
int log_enabled(enum log_level level);

/* Print one line "HH:MM:SS.mmm level message" to stderr when level is enabled. */
void log_msg(enum log_level level, const char *fmt, ...) HP_PRINTF(2, 3);

#endif
