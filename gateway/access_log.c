/* The access log: one JSON object per finished request, formatted straight
 * into the thread's batch buffer. It runs on every request, so it avoids
 * printf and formats the time once per second. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway/internal.h"
#include "gateway/log.h"

#define LINE_MAX_BYTES 1200 /* path and method are truncated to fit */

typedef struct {
    char *p, *end;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
    if ((size_t)(o->end - o->p) < n)
        n = (size_t)(o->end - o->p);
    memcpy(o->p, s, n);
    o->p += n;
}

#define PUT_LIT(o, lit) put((o), (lit), sizeof(lit) - 1)

static void put_uint(out_t *o, uint64_t v)
{
    char buf[24];
    size_t i = sizeof(buf);
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    put(o, buf + i, sizeof(buf) - i);
}

static void put_escaped(out_t *o, const char *s, size_t n)
{
    /* Paths and methods almost never need escaping: copy them as they are. */
    size_t i = 0;
    while (i < n && (unsigned char)s[i] >= 0x20 && s[i] != '"' && s[i] != '\\' && s[i] != 0x7f)
        i++;
    if (i == n) {
        put(o, s, n);
        return;
    }
    char buf[600];
    size_t len = gw_log_escape(buf, sizeof(buf), s, n);
    put(o, buf, len);
}

/* "2026-11-26T05:14:36.123Z": the part up to the seconds is cached. */
static void put_time(out_t *o, gw_thread_t *t)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != t->log_second) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        strftime(t->log_second_text, sizeof(t->log_second_text), "%Y-%m-%dT%H:%M:%S", &tm);
        t->log_second = ts.tv_sec;
    }
    put(o, t->log_second_text, strlen(t->log_second_text));
    unsigned ms = (unsigned)(ts.tv_nsec / 1000000);
    char frac[6] = {'.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10), 'Z'};
    put(o, frac, 5);
}

void gw_access_log_request(gw_thread_t *t, const gw_req_t *r, const h2o_req_t *req, int status, size_t bytes,
                           uint64_t duration_ns)
{
    char line[LINE_MAX_BYTES];
    out_t o = {line, line + sizeof(line) - 3};
    PUT_LIT(&o, "{\"time\":\"");
    put_time(&o, t);
    PUT_LIT(&o, "\",\"type\":\"access\",\"request_id\":\"");
    put(&o, r->id, strlen(r->id));
    PUT_LIT(&o, "\",\"method\":\"");
    put_escaped(&o, req->method.base, req->method.len < 16 ? req->method.len : 16);
    PUT_LIT(&o, "\",\"path\":\"");
    /* The query string can carry codes and tokens: log the path alone. */
    size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    put_escaped(&o, req->path.base, plen < 256 ? plen : 256);
    PUT_LIT(&o, "\",\"route\":\"");
    if (r->route != NULL)
        put(&o, r->route->name, strlen(r->route->name));
    PUT_LIT(&o, "\",\"status\":");
    put_uint(&o, (uint64_t)status);
    PUT_LIT(&o, ",\"duration_ms\":");
    uint64_t us = duration_ns / 1000;
    put_uint(&o, us / 1000);
    char frac[4] = {'.', (char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10), (char)('0' + us % 10)};
    put(&o, frac, 4);
    PUT_LIT(&o, ",\"bytes\":");
    put_uint(&o, bytes);
    PUT_LIT(&o, ",\"protocol\":\"");
    if (req->version >= 0x200)
        PUT_LIT(&o, "HTTP/2");
    else if (req->version == 0x101)
        PUT_LIT(&o, "HTTP/1.1");
    else
        PUT_LIT(&o, "HTTP/1.0");
    o.end += 3; /* the room kept for the closing quote, brace and newline */
    PUT_LIT(&o, "\"}\n");
    gw_access_log(t, line, (size_t)(o.p - line));
}
