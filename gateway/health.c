#include "gateway/health.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/alloc.h"
#include "gateway/internal.h"
#include "gateway/workers.h"

static store_stmt_t STMT_PING = {"health_ping", "SELECT 1", 0, 0};

static void on_healthz(gw_req_t *r)
{
    static const char BODY[] = "{\"status\":\"ok\"}";
    gw_reply_json(r, 200, BODY, sizeof(BODY) - 1);
}

static void on_ping(gw_req_t *r, PGresult *res, const gw_err_t *err)
{
    static const char READY[] = "{\"status\":\"ready\"}";
    if (res == NULL) {
        gw_reply_error(r, err);
        return;
    }
    gw_reply_json(r, 200, READY, sizeof(READY) - 1);
}

/* Ready means a query really round-trips, not merely that a socket is open. */
static void on_readyz(gw_req_t *r)
{
    gw_req_query_or_reply(r, &STMT_PING, NULL, on_ping);
}

/* --- /metrics --- */

typedef struct {
    char *buf;
    size_t len, cap;
} text_t;

static void emit(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(text_t *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        t->cap = t->cap * 2 + (n > 0 ? (size_t)n : 0);
        t->buf = gw_realloc(t->buf, t->cap);
    }
}

static uint64_t load64(_Atomic uint64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

static const char *route_label(unsigned i)
{
    const gw_route_t *rt = gw_route_at(i);
    return rt ? rt->name : "unmatched";
}

static void emit_requests(text_t *t, gw_thread_t *self)
{
    unsigned nthreads = gw_server_thread_count(self), nroutes = gw_route_count();
    emit(t, "# HELP regain_http_requests_total HTTP requests answered, by route and status.\n"
            "# TYPE regain_http_requests_total counter\n");
    for (unsigned rt = 0; rt < GW_METRICS_MAX_ROUTES; rt++) {
        if (rt >= nroutes && rt != GW_METRICS_MAX_ROUTES - 1)
            continue;
        /* Status slots differ per thread, so sum by status value. */
        uint16_t statuses[GW_METRICS_STATUS_SLOTS * 8];
        uint64_t counts[GW_METRICS_STATUS_SLOTS * 8];
        size_t ns = 0;
        for (unsigned th = 0; th < nthreads; th++) {
            gw_metrics_shard_t *s = &gw_server_thread_at(self, th)->metrics;
            for (unsigned k = 0; k < GW_METRICS_STATUS_SLOTS; k++) {
                uint16_t st = atomic_load_explicit(&s->statuses[rt][k], memory_order_relaxed);
                if (st == 0)
                    break;
                size_t j = 0;
                while (j < ns && statuses[j] != st)
                    j++;
                if (j == ns) {
                    if (ns == sizeof(statuses) / sizeof(statuses[0]))
                        continue;
                    statuses[ns] = st;
                    counts[ns++] = 0;
                }
                counts[j] += load64(&s->requests[rt][k]);
            }
        }
        for (size_t j = 0; j < ns; j++)
            emit(t, "regain_http_requests_total{route=\"%s\",status=\"%u\"} %llu\n", route_label(rt),
                 statuses[j], (unsigned long long)counts[j]);
    }
}

static void emit_latency(text_t *t, gw_thread_t *self)
{
    unsigned nthreads = gw_server_thread_count(self), nroutes = gw_route_count();
    emit(t, "# HELP regain_http_request_duration_seconds Time from request to response, by route.\n"
            "# TYPE regain_http_request_duration_seconds histogram\n");
    for (unsigned rt = 0; rt < GW_METRICS_MAX_ROUTES; rt++) {
        if (rt >= nroutes && rt != GW_METRICS_MAX_ROUTES - 1)
            continue;
        uint64_t buckets[GW_METRICS_BUCKETS] = {0}, total_us = 0, count = 0;
        for (unsigned th = 0; th < nthreads; th++) {
            gw_metrics_shard_t *s = &gw_server_thread_at(self, th)->metrics;
            for (unsigned b = 0; b < GW_METRICS_BUCKETS; b++)
                buckets[b] += load64(&s->buckets[rt][b]);
            total_us += load64(&s->duration_us[rt]);
        }
        for (unsigned b = 0; b < GW_METRICS_BUCKETS; b++)
            count += buckets[b];
        if (count == 0)
            continue;
        uint64_t cumulative = 0;
        for (unsigned b = 0; b < GW_METRICS_BUCKETS; b++) {
            cumulative += buckets[b];
            if (b == GW_METRICS_BUCKETS - 1)
                emit(t, "regain_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                     route_label(rt), (unsigned long long)cumulative);
            else
                emit(t, "regain_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                     route_label(rt), GW_METRICS_BUCKET_BOUNDS[b], (unsigned long long)cumulative);
        }
        emit(t, "regain_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_label(rt),
             (double)total_us / 1e6);
        emit(t, "regain_http_request_duration_seconds_count{route=\"%s\"} %llu\n", route_label(rt),
             (unsigned long long)count);
    }
}

static void emit_pool(text_t *t, gw_thread_t *self)
{
    unsigned long size = 0, ready = 0, in_use = 0, waiting = 0, errors = 0;
    unsigned long sql_prepared = 0, sql_reused = 0, sql_evicted = 0, batch_queued = 0, batches = 0,
                  batched = 0;
    for (unsigned th = 0; th < gw_server_thread_count(self); th++) {
        gw_thread_t *w = gw_server_thread_at(self, th);
        if (w->store == NULL)
            continue;
        const store_stats_t *s = store_pool_stats(w->store);
        size += atomic_load_explicit(&s->size, memory_order_relaxed);
        ready += atomic_load_explicit(&s->ready, memory_order_relaxed);
        in_use += atomic_load_explicit(&s->in_use, memory_order_relaxed);
        waiting += atomic_load_explicit(&s->waiting, memory_order_relaxed);
        errors += atomic_load_explicit(&s->errors, memory_order_relaxed);
        sql_prepared += atomic_load_explicit(&s->sql_prepared, memory_order_relaxed);
        sql_reused += atomic_load_explicit(&s->sql_reused, memory_order_relaxed);
        sql_evicted += atomic_load_explicit(&s->sql_evicted, memory_order_relaxed);
        batch_queued += atomic_load_explicit(&s->batch_queued, memory_order_relaxed);
        batches += atomic_load_explicit(&s->batches, memory_order_relaxed);
        batched += atomic_load_explicit(&s->batched, memory_order_relaxed);
    }
    emit(t,
         "# HELP regain_db_pool_size PostgreSQL connections configured (all threads).\n"
         "# TYPE regain_db_pool_size gauge\nregain_db_pool_size %lu\n"
         "# HELP regain_db_pool_ready PostgreSQL connections ready for queries.\n"
         "# TYPE regain_db_pool_ready gauge\nregain_db_pool_ready %lu\n"
         "# HELP regain_db_pool_in_use PostgreSQL connections with queries in flight.\n"
         "# TYPE regain_db_pool_in_use gauge\nregain_db_pool_in_use %lu\n"
         "# HELP regain_db_pool_waiting Queries waiting for a connection.\n"
         "# TYPE regain_db_pool_waiting gauge\nregain_db_pool_waiting %lu\n"
         "# HELP regain_db_errors_total Failed database calls (connection loss, timeout, SQL error).\n"
         "# TYPE regain_db_errors_total counter\nregain_db_errors_total %lu\n",
         size, ready, in_use, waiting, errors);
    emit(t,
         "# HELP regain_db_sql_prepared_total Statements built at run time (SCIM queries) prepared on a "
         "connection.\n"
         "# TYPE regain_db_sql_prepared_total counter\nregain_db_sql_prepared_total %lu\n"
         "# HELP regain_db_sql_reused_total Statements built at run time that ran as prepared before.\n"
         "# TYPE regain_db_sql_reused_total counter\nregain_db_sql_reused_total %lu\n"
         "# HELP regain_db_sql_evicted_total Prepared statements deallocated to make room for others.\n"
         "# TYPE regain_db_sql_evicted_total counter\nregain_db_sql_evicted_total %lu\n",
         sql_prepared, sql_reused, sql_evicted);
    emit(t,
         "# HELP regain_db_batch_queued Queries waiting to go in their statement's next batch.\n"
         "# TYPE regain_db_batch_queued gauge\nregain_db_batch_queued %lu\n"
         "# HELP regain_db_batches_total Round trips that served two queries or more at once.\n"
         "# TYPE regain_db_batches_total counter\nregain_db_batches_total %lu\n"
         "# HELP regain_db_batched_total Queries served by those round trips.\n"
         "# TYPE regain_db_batched_total counter\nregain_db_batched_total %lu\n",
         batch_queued, batches, batched);
}

static void on_metrics(gw_req_t *r)
{
    text_t t = {gw_malloc(8192), 0, 8192};
    emit_requests(&t, r->thread);
    emit_latency(&t, r->thread);
    emit_pool(&t, r->thread);
    gw_workers_stats_t w;
    gw_workers_stats(&w);
    emit(&t,
         "# HELP regain_worker_backlog Jobs (password hashing) on the worker pool: queued, running, or "
         "finished and "
         "not handed back yet.\n"
         "# TYPE regain_worker_backlog gauge\nregain_worker_backlog %u\n"
         "# HELP regain_worker_jobs_total Jobs the worker pool finished.\n"
         "# TYPE regain_worker_jobs_total counter\nregain_worker_jobs_total %llu\n"
         "# HELP regain_worker_cpu_seconds_total CPU time the worker pool spent on jobs (each thread's CPU "
         "clock).\n"
         "# TYPE regain_worker_cpu_seconds_total counter\nregain_worker_cpu_seconds_total %.6f\n"
         "# HELP regain_worker_queue_seconds_total Time jobs waited for a worker after they were queued.\n"
         "# TYPE regain_worker_queue_seconds_total counter\nregain_worker_queue_seconds_total %.6f\n"
         "# HELP regain_worker_held_seconds_total Time finished jobs were held, while others waited, to go "
         "back "
         "to their loops together.\n"
         "# TYPE regain_worker_held_seconds_total counter\nregain_worker_held_seconds_total %.6f\n"
         "# HELP regain_worker_handbacks_total Groups of finished jobs handed back to their loops at once.\n"
         "# TYPE regain_worker_handbacks_total counter\nregain_worker_handbacks_total %llu\n",
         gw_workers_backlog(), w.jobs, (double)w.cpu_ns / 1e9, (double)w.queue_ns / 1e9,
         (double)w.held_ns / 1e9, w.handbacks);
    gw_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", t.buf, t.len);
    free(t.buf);
}

/* --- /__test/sleep: a slow request for shutdown tests (dev_mode only) ---
 *
 * It waits on the context's 100 ms timeout, re-linking until the deadline:
 * creating and disposing an h2o_timeout_t per request is unsafe, because h2o
 * walks its list of timeouts while running their callbacks. */

typedef struct {
    gw_req_t *r;
    uint64_t deadline;
    h2o_timeout_entry_t entry;
} sleeper_t;

static void on_sleeper_detach(void *pending)
{
    sleeper_t *s = pending;
    h2o_timeout_unlink(&s->entry);
    free(s);
}

static void on_sleeper_tick(h2o_timeout_entry_t *entry)
{
    static const char BODY[] = "{\"slept\":true}";
    sleeper_t *s = H2O_STRUCT_FROM_MEMBER(sleeper_t, entry, entry);
    gw_req_t *r = s->r;
    if (h2o_now(gw_req_loop(r)) < s->deadline) {
        h2o_timeout_link(gw_req_loop(r), &r->thread->ctx.hundred_ms_timeout, &s->entry);
        return;
    }
    gw_req_clear_pending(r);
    free(s);
    gw_reply_json(r, 200, BODY, sizeof(BODY) - 1);
}

static void on_sleep(gw_req_t *r)
{
    h2o_iovec_t q = gw_req_query_string(r);
    long ms = 0;
    if (q.len > 3 && q.len < 12 && memcmp(q.base, "ms=", 3) == 0) {
        char num[12];
        memcpy(num, q.base + 3, q.len - 3);
        num[q.len - 3] = '\0';
        ms = strtol(num, NULL, 10);
    }
    if (ms <= 0 || ms > 60000) {
        gw_reply_fail(r, GW_E_INVALID_REQUEST, "ms must be 1..60000");
        return;
    }
    sleeper_t *s = gw_calloc(1, sizeof(*s));
    s->r = r;
    s->deadline = h2o_now(gw_req_loop(r)) + (uint64_t)ms;
    s->entry.cb = on_sleeper_tick;
    h2o_timeout_link(gw_req_loop(r), &r->thread->ctx.hundred_ms_timeout, &s->entry);
    gw_req_set_pending(r, s, on_sleeper_detach);
}

static gw_route_t ROUTE_HEALTHZ = {"/healthz", GW_GET, 0, on_healthz, NULL, NULL, 0};
static gw_route_t ROUTE_READYZ = {"/readyz", GW_GET, GW_ROUTE_NO_STORE, on_readyz, NULL, NULL, 0};
static gw_route_t ROUTE_METRICS = {"/metrics", GW_GET, GW_ROUTE_NO_STORE, on_metrics, NULL, NULL, 0};
static gw_route_t ROUTE_SLEEP = {"/__test/sleep", GW_GET, GW_ROUTE_NO_STORE, on_sleep, NULL, NULL, 0};

void gw_health_register(const gw_config_t *cfg)
{
    store_stmt_register(&STMT_PING);
    gw_route_register(&ROUTE_HEALTHZ);
    gw_route_register(&ROUTE_READYZ);
    gw_route_register(&ROUTE_METRICS);
    if (cfg->dev_mode)
        gw_route_register(&ROUTE_SLEEP);
}
