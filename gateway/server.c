/* The h2o server: listeners, TLS, worker threads and their loops, shutdown. */
#include "gateway/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <h2o/http2.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/alloc.h"
#include "gateway/crypto.h"
#include "gateway/internal.h"
#include "gateway/log.h"
#include "gateway/workers.h"

#define ACCESS_FLUSH_MS 200
#define LISTEN_BACKLOG  1024
/* Log lines waiting for a slow stderr (gateway/log_sink.c): a few seconds
 * of access log at full speed. */
#define LOG_BUFFER_BYTES ((size_t)4 << 20)

struct gw_server {
    const gw_config_t *cfg;
    const gw_server_hooks_t *hooks;
    h2o_globalconf_t globalconf;
    SSL_CTX *ssl[GW_CONFIG_MAX_LISTENERS];
    gw_thread_t **threads;
    unsigned nthreads;
    int *fds; /* nthreads x listen_count listening sockets */
    pthread_barrier_t started;
};

const gw_config_t *gw_server_config(const gw_thread_t *t)
{
    return t->server->cfg;
}

unsigned gw_server_thread_count(const gw_thread_t *t)
{
    return t->server->nthreads;
}

gw_thread_t *gw_server_thread_at(const gw_thread_t *t, unsigned i)
{
    return i < t->server->nthreads ? t->server->threads[i] : NULL;
}

/* --- access log: batched per thread --- */

static void access_flush(gw_thread_t *t)
{
    gw_log_sink_write(t->access_buf, t->access_len);
    t->access_len = 0;
}

static void on_access_flush(h2o_timeout_entry_t *entry)
{
    gw_thread_t *t = H2O_STRUCT_FROM_MEMBER(gw_thread_t, access_flush_entry, entry);
    access_flush(t);
}

char *gw_access_log_reserve(gw_thread_t *t, size_t max)
{
    if (t->access_len + max > sizeof(t->access_buf))
        access_flush(t);
    return t->access_buf + t->access_len;
}

void gw_access_log_commit(gw_thread_t *t, size_t len)
{
    t->access_len += len;
    if (!h2o_timeout_is_linked(&t->access_flush_entry))
        h2o_timeout_link(t->loop, &t->access_flush_timeout, &t->access_flush_entry);
}

/* --- listeners --- */

static int parse_address(const gw_listen_config_t *l, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, l->address, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(l->port);
        *len = sizeof(*v4);
        return 0;
    }
    if (inet_pton(AF_INET6, l->address, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(l->port);
        *len = sizeof(*v6);
        return 0;
    }
    return -1;
}

/* SO_REUSEPORT lets a stale regain on the same port silently take half the
 * connections. A socket bound *without* it fails with EADDRINUSE while any
 * other process listens there, so probe first and refuse. */
static int probe_port_free(const gw_listen_config_t *l, char *msg, size_t msgsize)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (parse_address(l, &ss, &len) != 0) {
        snprintf(msg, msgsize, "listen: %s is not a numeric IPv4 or IPv6 address", l->address);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int on = 1;
    if (fd < 0)
        goto fail;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(fd, (struct sockaddr *)&ss, len) != 0)
        goto fail;
    close(fd);
    return 0;
fail:
    snprintf(msg, msgsize, "cannot listen on %s port %u: %s%s", l->address, l->port, strerror(errno),
             errno == EADDRINUSE ? " (another process holds the port; stop it first)" : "");
    if (fd >= 0)
        close(fd);
    return -1;
}

static int open_listener(const gw_listen_config_t *l, char *msg, size_t msgsize)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int on = 1, fd = -1;
    if (parse_address(l, &ss, &len) != 0)
        return -1;
    if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0 ||
        (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0) ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        snprintf(msg, msgsize, "cannot listen on %s port %u: %s", l->address, l->port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

#define TLS13_SUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

static SSL_CTX *tls_context(size_t i, const gw_listen_config_t *l, char *msg, size_t msgsize)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    unsigned long e;
    if (ctx == NULL)
        goto fail;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* The client picks among the allowed suites (no SSL_OP_CIPHER_SERVER_PREFERENCE):
     * every one of them is a forward-secret AEAD, so no choice is weak, and
     * the client knows which it computes fastest (AES-GCM with AES
     * instructions, ChaCha20 without). Mozilla's "intermediate" server-side
     * TLS profile says the same (server_preferred_order: false). The server's
     * own order would force AES-256 on clients that prefer AES-128, for no
     * security a 128-bit AEAD lacks here, at a cost on every record. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    /* TLS 1.2: forward-secret AEADs only (RFC 9325 §4.2). TLS 1.3: the three
     * general-purpose suites, named so that a library default cannot add
     * others (the CCM ones). */
    if (!SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") ||
        !SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES))
        goto fail;
    if (gw_tls_use_listener_files(ctx, i, l, msg, msgsize) != 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    h2o_ssl_register_alpn_protocols(ctx, h2o_http2_alpn_protocols);
    return ctx;
fail:
    e = ERR_get_error();
    snprintf(msg, msgsize, "listen %s:%u: TLS context: %s", l->address, l->port,
             e ? ERR_reason_error_string(e) : "cannot create");
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return NULL;
}

/* --- worker threads --- */

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL)
        return;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock != NULL)
        h2o_accept(listener->data, sock);
}

static void close_listeners(gw_thread_t *t)
{
    for (size_t i = 0; i < GW_CONFIG_MAX_LISTENERS; i++) {
        if (t->listeners[i] != NULL) {
            h2o_socket_read_stop(t->listeners[i]);
            h2o_socket_close(t->listeners[i]);
            t->listeners[i] = NULL;
        }
    }
}

static void maybe_exit(gw_thread_t *t)
{
    if (t->shutting_down && t->inflight == 0)
        t->exit = 1;
}

void gw_server_request_done(gw_thread_t *t)
{
    t->inflight--;
    maybe_exit(t);
}

static void on_shutdown_deadline(h2o_timeout_entry_t *entry)
{
    gw_thread_t *t = H2O_STRUCT_FROM_MEMBER(gw_thread_t, shutdown_entry, entry);
    if (t->inflight > 0)
        gw_log_warn("shutdown deadline passed with %zu requests in flight", t->inflight);
    t->exit = 1;
}

/* On the loop: stop accepting, tell HTTP/2 peers (GOAWAY), let what is in
 * flight finish, then leave the loop. */
static void on_shutdown_message(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    gw_thread_t *t = H2O_STRUCT_FROM_MEMBER(gw_thread_t, shutdown_receiver, receiver);
    while (!h2o_linklist_is_empty(messages))
        h2o_linklist_unlink(messages->next);
    t->shutting_down = 1;
    close_listeners(t);
    h2o_context_request_shutdown(&t->ctx);
    h2o_timeout_link(t->loop, &t->shutdown_timeout, &t->shutdown_entry);
    maybe_exit(t);
}

static void *thread_main(void *arg)
{
    gw_thread_t *t = arg;
    gw_server_t *srv = t->server;
    const gw_config_t *cfg = srv->cfg;

    t->loop = h2o_evloop_create();
    h2o_context_init(&t->ctx, t->loop, &srv->globalconf);
    store_options_t opts = {cfg->database.url, cfg->database.pool_size, cfg->database.query_timeout_ms,
                            cfg->database.max_waiting, &t->ctx.receivers.hostinfo_getaddr};
    t->store = store_pool_new(t->loop, &opts);
    h2o_timeout_init(t->loop, &t->access_flush_timeout, ACCESS_FLUSH_MS);
    t->access_flush_entry.cb = on_access_flush;
    h2o_timeout_init(t->loop, &t->shutdown_timeout, cfg->server.shutdown_timeout_ms);
    t->shutdown_entry.cb = on_shutdown_deadline;
    t->queue = h2o_multithread_create_queue(t->loop);
    h2o_multithread_register_receiver(t->queue, &t->shutdown_receiver, on_shutdown_message);
    h2o_multithread_register_receiver(t->queue, &t->work_receiver, gw_workers_on_done);

    for (size_t i = 0; i < cfg->listen_count; i++) {
        h2o_accept_ctx_t *actx = &t->accept_ctx[i];
        memset(actx, 0, sizeof(*actx));
        actx->ctx = &t->ctx;
        actx->hosts = srv->globalconf.hosts;
        actx->ssl_ctx = srv->ssl[i];
        int fd = srv->fds[t->index * cfg->listen_count + i];
        t->listeners[i] = h2o_evloop_socket_create(t->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
        t->listeners[i]->data = actx;
        h2o_socket_read_start(t->listeners[i], on_accept);
    }
    if (srv->hooks && srv->hooks->on_thread_start)
        srv->hooks->on_thread_start(t);
    pthread_barrier_wait(&srv->started);

    while (!t->exit)
        h2o_evloop_run(t->loop, INT32_MAX);

    if (srv->hooks && srv->hooks->on_thread_stop)
        srv->hooks->on_thread_stop(t);
    close_listeners(t);
    access_flush(t);
    if (h2o_timeout_is_linked(&t->access_flush_entry))
        h2o_timeout_unlink(&t->access_flush_entry);
    if (h2o_timeout_is_linked(&t->shutdown_entry))
        h2o_timeout_unlink(&t->shutdown_entry);
    store_pool_free(t->store);
    t->store = NULL;
    /* Connections still open (idle keep-alive) die with the process; the loop
     * and context stay reachable from `t`, so leak checks see no leak. */
    return NULL;
}

static void configure_h2o(gw_server_t *srv)
{
    const gw_config_t *cfg = srv->cfg;
    h2o_globalconf_t *gc = &srv->globalconf;
    h2o_config_init(gc);
    /* No Server header (h2o leaves it out when the name is empty): it tells
     * a scanner what runs here and nothing to a client, and every HTTP/2
     * client decodes and checks it on every response. */
    gc->server_name = h2o_iovec_init(NULL, 0);
    gc->max_request_entity_size = cfg->server.max_request_body_bytes;
    gc->http1.req_timeout = cfg->server.idle_timeout_ms;
    gc->http1.upgrade_to_http2 = 1;
    gc->http2.idle_timeout = cfg->server.idle_timeout_ms;
    gc->http2.graceful_shutdown_timeout = cfg->server.shutdown_timeout_ms;
    /* h2o 2.2.5 predates the HTTP/2 rapid-reset fixes: keep streams per
     * connection low (README, security notes). */
    gc->http2.max_concurrent_requests_per_connection = cfg->server.max_streams_per_connection;
    gc->handshake_timeout = cfg->server.idle_timeout_ms;
    h2o_hostconf_t *host = h2o_config_register_host(gc, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    h2o_handler_t *h = h2o_create_handler(path, sizeof(*h));
    h->on_req = gw_http_on_req;
}

int gw_server_run(const gw_config_t *cfg, const gw_server_hooks_t *hooks, char *msg, size_t msgsize)
{
    gw_server_t *srv = gw_calloc(1, sizeof(*srv));
    int rc = -1;
    srv->cfg = cfg;
    srv->hooks = hooks;
    srv->nthreads = cfg->server.threads;
    if (srv->nthreads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        srv->nthreads = n > 0 ? (unsigned)n : 1;
    }
    size_t nfds = (size_t)srv->nthreads * cfg->listen_count;
    srv->fds = gw_malloc(nfds * sizeof(int));
    for (size_t i = 0; i < nfds; i++)
        srv->fds[i] = -1;

    for (size_t i = 0; i < cfg->listen_count; i++)
        if (probe_port_free(&cfg->listen[i], msg, msgsize) != 0)
            goto out;
    for (size_t i = 0; i < cfg->listen_count; i++)
        if (cfg->listen[i].certificate_file != NULL &&
            (srv->ssl[i] = tls_context(i, &cfg->listen[i], msg, msgsize)) == NULL)
            goto out;
    for (unsigned t = 0; t < srv->nthreads; t++)
        for (size_t i = 0; i < cfg->listen_count; i++)
            if ((srv->fds[t * cfg->listen_count + i] = open_listener(&cfg->listen[i], msg, msgsize)) < 0)
                goto out;
    if (gw_http1_framing_install(msg, msgsize) != 0)
        goto out;
    int hp = gw_hpack_unique_install(msg, msgsize);
    if (hp < 0)
        goto out;
    if (hp > 0)
        gw_log_warn("%s", msg);
    configure_h2o(srv);

    /* Signals go to the main thread only, which waits for them below. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    gw_log_sink_start(LOG_BUFFER_BYTES);
    gw_workers_start(cfg->server.worker_threads, cfg->server.worker_hold_ms);
    pthread_barrier_init(&srv->started, NULL, srv->nthreads + 1);
    srv->threads = gw_calloc(srv->nthreads, sizeof(gw_thread_t *));
    for (unsigned i = 0; i < srv->nthreads; i++) {
        gw_thread_t *t = gw_calloc(1, sizeof(*t));
        t->index = i;
        t->server = srv;
        gw_random_bytes((uint8_t *)&t->request_salt, sizeof(t->request_salt));
        srv->threads[i] = t;
        pthread_create(&t->tid, NULL, thread_main, t);
    }
    pthread_barrier_wait(&srv->started);
    for (size_t i = 0; i < cfg->listen_count; i++)
        gw_log_info("listening on %s%s%s:%u (%s)", strchr(cfg->listen[i].address, ':') ? "[" : "",
                    cfg->listen[i].address, strchr(cfg->listen[i].address, ':') ? "]" : "",
                    cfg->listen[i].port, srv->ssl[i] ? "TLS: h2, http/1.1" : "cleartext: http/1.1, h2c");
    gw_log_info("regain ready: issuer %s, %u worker threads", cfg->issuer, srv->nthreads);

    int sig = 0;
    sigwait(&sigs, &sig);
    gw_log_info("signal %d: finishing in-flight requests, then stopping", sig);
    for (unsigned i = 0; i < srv->nthreads; i++)
        h2o_multithread_send_message(&srv->threads[i]->shutdown_receiver, &srv->threads[i]->shutdown_msg);
    /* A second Ctrl-C or SIGTERM while draining stops at once. */
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
    for (unsigned i = 0; i < srv->nthreads; i++)
        pthread_join(srv->threads[i]->tid, NULL);
    gw_workers_stop();
    gw_log_sink_stop();
    gw_log_info("stopped");
    rc = 0;
out:
    if (rc != 0) {
        for (size_t i = 0; i < nfds; i++)
            if (srv->fds[i] >= 0)
                close(srv->fds[i]);
        for (size_t i = 0; i < GW_CONFIG_MAX_LISTENERS; i++)
            SSL_CTX_free(srv->ssl[i]);
        free(srv->fds);
        free(srv);
    }
    /* On a clean stop the server stays allocated: threads' h2o state refers to
     * it until the process exits a moment later. */
    return rc;
}
