#include "gateway/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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

/* Length of the well-formed UTF-8 sequence (RFC 3629 §4) that starts s[0],
 * a byte from 0x80 up; 0 when there is none. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80; /* no overlong forms */
        hi = c == 0xED ? 0x9F : 0xBF; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k < len; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    return len;
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
        if (c >= 0x80) {
            /* A log line must stay JSON, so UTF-8 (RFC 8259 §8.1): a client's
             * other bytes become the text \xHH instead of breaking the line
             * for every parser downstream. */
            size_t k = utf8_seq((const unsigned char *)s + i, n - i);
            if (k > 0) {
                if (o + k >= cap)
                    break;
                memcpy(out + o, s + i, k);
                o += k;
                i += k - 1;
                continue;
            }
            buf[len++] = '\\';
            buf[len++] = '\\';
            buf[len++] = 'x';
            buf[len++] = HEX[c >> 4];
            buf[len++] = HEX[c & 15];
        } else if (c == '"' || c == '\\') {
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
    gw_log_sink_write(line, (size_t)len);
}
