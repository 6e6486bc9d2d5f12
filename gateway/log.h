/* Diagnostic logging: one JSON object per line on stderr.
 *
 * Never pass tokens, codes, TAPs, passwords, secrets, Authorization or Cookie
 * values, or verified identity attributes; log ids or a short hash. */
#ifndef REGAIN_GATEWAY_LOG_H
#define REGAIN_GATEWAY_LOG_H

#include <stddef.h>

typedef enum { GW_LOG_ERROR = 0, GW_LOG_WARN, GW_LOG_INFO, GW_LOG_DEBUG } gw_log_level_t;

/* Set once at start-up, before threads run. */
void gw_log_set_level(gw_log_level_t level);
int gw_log_level_parse(const char *name, gw_log_level_t *out);
int gw_log_enabled(gw_log_level_t level);

/* `request_id` may be NULL. The message is escaped as a JSON string. */
void gw_log_write(gw_log_level_t level, const char *func, const char *request_id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define gw_log_error(...) gw_log_write(GW_LOG_ERROR, __func__, NULL, __VA_ARGS__)
#define gw_log_warn(...)  gw_log_write(GW_LOG_WARN, __func__, NULL, __VA_ARGS__)
#define gw_log_info(...)  gw_log_write(GW_LOG_INFO, __func__, NULL, __VA_ARGS__)
#define gw_log_debug(...)                                                                                    \
    do {                                                                                                     \
        if (gw_log_enabled(GW_LOG_DEBUG))                                                                    \
            gw_log_write(GW_LOG_DEBUG, __func__, NULL, __VA_ARGS__);                                         \
    } while (0)

/* Append `s` (length n) to `out` as the inside of a JSON string; returns the
 * bytes written, never more than `cap - 1`, and keeps `out` NUL-terminated.
 * A byte that is not part of valid UTF-8 is written as the text \xHH. */
size_t gw_log_escape(char *out, size_t cap, const char *s, size_t n);

/* Where log lines go (gateway/log_sink.c): stderr, written by the caller;
 * between gw_log_sink_start and gw_log_sink_stop (while the server runs), a
 * buffer of `capacity` bytes that one writer thread drains, so that an event
 * loop never waits for a slow stderr reader. A line that does not fit is
 * dropped and counted (gw_log_sink_dropped). Stop writes out what is
 * buffered first. `line` holds whole lines. */
void gw_log_sink_write(const char *line, size_t len);
void gw_log_sink_start(size_t capacity);
void gw_log_sink_stop(void);
unsigned long gw_log_sink_dropped(void);

/* Current wall-clock time as RFC 3339 UTC with milliseconds ("2026-11-26T05:14:36.123Z"). */
void gw_log_timestamp(char out[32]);

#endif
