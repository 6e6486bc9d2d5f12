/* The h2o server: one event loop per worker thread, SO_REUSEPORT listeners,
 * TLS (ALPN h2 + http/1.1) and cleartext (HTTP/1.1 + h2c) listeners, graceful
 * shutdown on SIGTERM/SIGINT. */
#ifndef REGAIN_GATEWAY_SERVER_H
#define REGAIN_GATEWAY_SERVER_H

#include <h2o.h>
#include <stdatomic.h>
#include <time.h>

#include "gateway/config.h"
#include "gateway/metrics.h"
#include "gateway/store.h"

#define GW_ACCESS_LOG_BUFFER (64 * 1024)

typedef struct gw_server gw_server_t;
typedef struct gw_thread gw_thread_t;

/* Per worker thread. Everything here belongs to that thread's loop, except
 * the metrics shard and store counters, which /metrics reads atomically. */
struct gw_thread {
    h2o_context_t ctx; /* first: handlers find their thread from req->conn->ctx */
    h2o_evloop_t *loop;
    unsigned index;
    gw_server_t *server;
    store_pool_t *store;
    gw_metrics_shard_t metrics;
    size_t inflight;   /* requests taken and not yet disposed */
    int shutting_down; /* listeners closed, draining */
    int exit;          /* leave the loop */
    uint64_t request_seq;
    uint64_t request_salt;
    /* Access log lines, written in batches so logging costs no syscall per request. */
    char access_buf[GW_ACCESS_LOG_BUFFER];
    size_t access_len;
    time_t log_second; /* the second log_second_text spells */
    char log_second_text[24];
    size_t log_second_len;
    h2o_timeout_t access_flush_timeout;
    h2o_timeout_entry_t access_flush_entry;
    h2o_timeout_t shutdown_timeout;
    h2o_timeout_entry_t shutdown_entry;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t shutdown_receiver;
    h2o_multithread_message_t shutdown_msg;
    h2o_multithread_receiver_t work_receiver; /* finished worker-pool jobs */
    h2o_socket_t *listeners[GW_CONFIG_MAX_LISTENERS];
    h2o_accept_ctx_t accept_ctx[GW_CONFIG_MAX_LISTENERS];
    pthread_t tid;
};

/* Hooks run on each worker thread after its loop and store exist, and before
 * they are torn down; subsystems start their timers here. */
typedef struct {
    void (*on_thread_start)(gw_thread_t *t);
    void (*on_thread_stop)(gw_thread_t *t);
} gw_server_hooks_t;

/* Runs until SIGTERM/SIGINT, then drains in-flight requests (at most
 * server.shutdown_timeout_ms) and returns 0. Returns -1 with `msg` filled when
 * it cannot start (a port held by another process, a bad certificate...). */
int gw_server_run(const gw_config_t *cfg, const gw_server_hooks_t *hooks, char *msg, size_t msgsize);

/* The running configuration (read-only) and the worker threads, for /metrics. */
const gw_config_t *gw_server_config(const gw_thread_t *t);
unsigned gw_server_thread_count(const gw_thread_t *t);
gw_thread_t *gw_server_thread_at(const gw_thread_t *t, unsigned i);

/* The access log: a line is written in place at gw_access_log_reserve's
 * answer (room for `max` bytes) and then committed with its length, so it is
 * formatted once and never copied (gateway/access_log.c). */
char *gw_access_log_reserve(gw_thread_t *t, size_t max);
void gw_access_log_commit(gw_thread_t *t, size_t len);

#endif
