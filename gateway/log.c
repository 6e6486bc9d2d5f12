#include "gateway/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static gw_log_level_t g_level = GW_LOG_INFO;
static const char *const LEVEL_NAMES[] = {"error", "warn", "info", "debug"};

void gw_log_set_level(gw_log_level_t level)
{
    g_level = level;
}

int gw_log_level_parse(const char *name, gw_log_level_t *out)
{
    for (int i = 0; i <= GW_LOG_DEBUG; i++) {
        if (strcmp(name, LEVEL_NAMES[i]) == 0) {
            *out = (gw_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

int gw_log_enabled(gw_log_level_t level)
{
    return level <= g_level;
}

size_t gw_log_escape(char *out, size_t cap, const char *s, size_t n)
{
    static const char HEX[] = "0123456789abcdef";
    size_t o = 0;
    if (cap == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char buf[6];
        size_t len = 0;
        if (c == '"' || c == '\\') {
            buf[len++] = '\\';
            buf[len++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            buf[len++] = '\\';
            buf[len++] = 'u';
            buf[len++] = '0';
            buf[len++] = '0';
            buf[len++] = HEX[c >> 4];
            buf[len++] = HEX[c & 15];
        } else {
            buf[len++] = (char)c;
        }
        if (o + len >= cap)
            break;
        memcpy(out + o, buf, len);
        o += len;
    }
    out[o] = '\0';
    return o;
}

void gw_log_timestamp(char out[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ts.tv_nsec / 1000000) % 1000);
}

void gw_log_write(gw_log_level_t level, const char *func, const char *request_id, const char *fmt, ...)
{
    if (!gw_log_enabled(level))
        return;
    char msg[1024], esc[2048], ts[32], line[2400];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    gw_log_escape(esc, sizeof(esc), msg, strlen(msg));
    gw_log_timestamp(ts);
    int len = snprintf(line, sizeof(line),
                       "{\"time\":\"%s\",\"level\":\"%s\",\"func\":\"%s\"%s%s%s,\"msg\":\"%s\"}\n", ts,
                       LEVEL_NAMES[level], func, request_id ? ",\"request_id\":\"" : "",
                       request_id ? request_id : "", request_id ? "\"" : "", esc);
    if (len > (int)sizeof(line) - 1)
        len = (int)sizeof(line) - 1;
    /* One write(2) per line keeps lines from different threads whole. */
    ssize_t w = write(STDERR_FILENO, line, (size_t)len);
    (void)w;
}
