/* Where log lines go: straight to stderr, or, while the server runs, through
 * a buffer that one writer thread drains.
 *
 * stderr is often a pipe (docker, journald, a supervisor). When its reader
 * falls behind and the pipe fills, write(2) blocks, and an event loop that
 * writes its own log lines would stop serving every connection it holds
 * until the reader catches up. So the loops only copy lines into the buffer;
 * the writer thread is the one that waits. A line that does not fit is
 * dropped, never waited for, and the writer says how many went once it has
 * room again: losing a few log lines is better than a stalled gateway (the
 * audit trail is in PostgreSQL, not in the log). */
#include "gateway/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/alloc.h"

/* What one write(2) of the writer takes at most. */
#define CHUNK (64 * 1024)

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *ring;
    size_t cap, head, len; /* the bytes waiting are ring[head .. head + len), wrapping */
    int running, stopping;
    pthread_t thread;
    _Atomic unsigned long dropped; /* lines that did not fit */
} g_sink = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void write_all(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

static void ring_put(const char *s, size_t n)
{
    size_t tail = (g_sink.head + g_sink.len) % g_sink.cap;
    size_t first = n < g_sink.cap - tail ? n : g_sink.cap - tail;
    memcpy(g_sink.ring + tail, s, first);
    memcpy(g_sink.ring, s + first, n - first);
    g_sink.len += n;
}

/* Takes up to `max` waiting bytes out of the ring into `out`. */
static size_t ring_take(char *out, size_t max)
{
    size_t n = g_sink.len < max ? g_sink.len : max;
    size_t first = n < g_sink.cap - g_sink.head ? n : g_sink.cap - g_sink.head;
    memcpy(out, g_sink.ring + g_sink.head, first);
    memcpy(out + first, g_sink.ring, n - first);
    g_sink.head = (g_sink.head + n) % g_sink.cap;
    g_sink.len -= n;
    return n;
}

static void report_dropped(unsigned long *reported)
{
    unsigned long now = atomic_load_explicit(&g_sink.dropped, memory_order_relaxed);
    if (now == *reported)
        return;
    char ts[32], line[160];
    gw_log_timestamp(ts);
    int n = snprintf(line, sizeof(line),
                     "{\"time\":\"%s\",\"level\":\"warn\",\"func\":\"gw_log_sink\",\"msg\":\"%lu log lines "
                     "dropped: stderr was not read fast enough\"}\n",
                     ts, now - *reported);
    write_all(line, (size_t)n);
    *reported = now;
}

static void *writer_main(void *arg)
{
    (void)arg;
    char *chunk = gw_malloc(CHUNK);
    unsigned long reported = 0;
    pthread_mutex_lock(&g_sink.mu);
    for (;;) {
        while (g_sink.len == 0 && !g_sink.stopping)
            pthread_cond_wait(&g_sink.cv, &g_sink.mu);
        if (g_sink.len == 0)
            break; /* stopping, and everything written */
        size_t n = ring_take(chunk, CHUNK);
        pthread_mutex_unlock(&g_sink.mu);
        write_all(chunk, n);
        report_dropped(&reported);
        pthread_mutex_lock(&g_sink.mu);
    }
    pthread_mutex_unlock(&g_sink.mu);
    report_dropped(&reported);
    free(chunk);
    return NULL;
}

void gw_log_sink_write(const char *line, size_t len)
{
    pthread_mutex_lock(&g_sink.mu);
    if (!g_sink.running) {
        /* Start-up, shutdown and the command line: nothing to stall. Under
         * the lock, so lines from two threads stay whole. */
        write_all(line, len);
    } else if (len > g_sink.cap - g_sink.len) {
        unsigned long lines = 0;
        for (const char *p = line; (p = memchr(p, '\n', len - (size_t)(p - line))) != NULL; p++)
            lines++;
        atomic_fetch_add_explicit(&g_sink.dropped, lines ? lines : 1, memory_order_relaxed);
    } else {
        int was_empty = g_sink.len == 0;
        ring_put(line, len);
        if (was_empty)
            pthread_cond_signal(&g_sink.cv);
    }
    pthread_mutex_unlock(&g_sink.mu);
}

void gw_log_sink_start(size_t capacity)
{
    pthread_mutex_lock(&g_sink.mu);
    if (!g_sink.running) {
        g_sink.ring = gw_malloc(capacity);
        g_sink.cap = capacity;
        g_sink.head = g_sink.len = 0;
        g_sink.stopping = 0;
        g_sink.running = 1;
        pthread_create(&g_sink.thread, NULL, writer_main, NULL);
    }
    pthread_mutex_unlock(&g_sink.mu);
}

void gw_log_sink_stop(void)
{
    pthread_mutex_lock(&g_sink.mu);
    if (!g_sink.running) {
        pthread_mutex_unlock(&g_sink.mu);
        return;
    }
    g_sink.stopping = 1;
    pthread_cond_signal(&g_sink.cv);
    pthread_mutex_unlock(&g_sink.mu);
    pthread_join(g_sink.thread, NULL);
    pthread_mutex_lock(&g_sink.mu);
    g_sink.running = 0;
    free(g_sink.ring);
    g_sink.ring = NULL;
    pthread_mutex_unlock(&g_sink.mu);
}

unsigned long gw_log_sink_dropped(void)
{
    return atomic_load_explicit(&g_sink.dropped, memory_order_relaxed);
}
