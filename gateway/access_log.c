/* The access log: one JSON object per finished request, formatted straight
 * into the thread's batch buffer. It runs on every request, so it avoids
 * printf, formats the time once per second, and makes room for a whole line
 * once, so that each piece is copied without a bounds check of its own. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway/internal.h"
#include "gateway/json.h"
#include "gateway/log.h"

/* What is logged of the method, path and route name, in bytes; an escaped
 * byte takes at most 6 (\u00XX). */
#define METHOD_LOGGED 16
#define PATH_LOGGED   256
#define ROUTE_LOGGED  128
#define LINE_MAX_BYTES                                                                                       \
    (256 /* names, punctuation, numbers, protocol */ + sizeof(((gw_req_t *)0)->id) + 6 * METHOD_LOGGED +     \
     6 * PATH_LOGGED + ROUTE_LOGGED)

#define PUT_LIT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), (p) + sizeof(lit) - 1)

static char *put_uint(char *p, uint64_t v)
{
    char buf[20];
    size_t i = sizeof(buf);
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    memcpy(p, buf + i, sizeof(buf) - i);
    return p + sizeof(buf) - i;
}

/* Copies `s` with JSON escapes; `p` has room for 6 * n bytes. Paths and
 * methods almost never need escaping, so the plain run is one copy;
 * gw_log_escape takes the rest (UTF-8 as it is, other high bytes as \xHH). */
static char *put_escaped(char *p, const char *s, size_t n)
{
    size_t i = gw_json_plain_prefix(s, n);
    memcpy(p, s, i);
    p += i;
    if (i < n)
        p += gw_log_escape(p, 6 * (n - i) + 1, s + i, n - i);
    return p;
}

/* `{"time":"2026-11-26T05:14:36.123Z"`: the text up to the second is made
 * once per second. */
static char *put_time(char *p, gw_thread_t *t)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != t->log_second) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        t->log_second_len =
            strftime(t->log_second_text, sizeof(t->log_second_text), "%Y-%m-%dT%H:%M:%S", &tm);
        t->log_second = ts.tv_sec;
    }
    p = PUT_LIT(p, "{\"time\":\"");
    memcpy(p, t->log_second_text, t->log_second_len);
    p += t->log_second_len;
    unsigned ms = (unsigned)(ts.tv_nsec / 1000000);
    *p++ = '.';
    *p++ = (char)('0' + ms / 100);
    *p++ = (char)('0' + ms / 10 % 10);
    *p++ = (char)('0' + ms % 10);
    *p++ = 'Z';
    return p;
}

void gw_access_log_request(gw_thread_t *t, const gw_req_t *r, const h2o_req_t *req, int status, size_t bytes,
                           uint64_t duration_ns)
{
    char *line = gw_access_log_reserve(t, LINE_MAX_BYTES), *p = line;
    p = put_time(p, t);
    p = PUT_LIT(p, "\",\"type\":\"access\",\"request_id\":\"");
    size_t n = strnlen(r->id, sizeof(r->id));
    memcpy(p, r->id, n);
    p += n;
    p = PUT_LIT(p, "\",\"method\":\"");
    p = put_escaped(p, req->method.base, req->method.len < METHOD_LOGGED ? req->method.len : METHOD_LOGGED);
    p = PUT_LIT(p, "\",\"path\":\"");
    /* The query string can carry codes and tokens: log the path alone. */
    n = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    p = put_escaped(p, req->path.base, n < PATH_LOGGED ? n : PATH_LOGGED);
    p = PUT_LIT(p, "\",\"route\":\"");
    if (r->route != NULL) {
        /* Route names are constants of the code: no escaping needed. */
        n = strnlen(r->route->name, ROUTE_LOGGED);
        memcpy(p, r->route->name, n);
        p += n;
    }
    p = PUT_LIT(p, "\",\"status\":");
    p = put_uint(p, (uint64_t)status);
    p = PUT_LIT(p, ",\"duration_ms\":");
    uint64_t us = duration_ns / 1000;
    p = put_uint(p, us / 1000);
    *p++ = '.';
    *p++ = (char)('0' + us / 100 % 10);
    *p++ = (char)('0' + us / 10 % 10);
    *p++ = (char)('0' + us % 10);
    p = PUT_LIT(p, ",\"bytes\":");
    p = put_uint(p, bytes);
    if (req->version >= 0x200)
        p = PUT_LIT(p, ",\"protocol\":\"HTTP/2\"}\n");
    else if (req->version == 0x101)
        p = PUT_LIT(p, ",\"protocol\":\"HTTP/1.1\"}\n");
    else
        p = PUT_LIT(p, ",\"protocol\":\"HTTP/1.0\"}\n");
    gw_access_log_commit(t, (size_t)(p - line));
}
