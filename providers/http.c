/* Outbound HTTP for providers and webhooks (provider.h): h2o 2.2.5's own
 * HTTP/1.1 client on the calling thread's event loop, so a slow provider
 * never blocks a loop or ties up a worker.
 *
 * TLS: h2o's client checks the chain (SSL_get_verify_result) and the host
 * name (validate_hostname) when the SSL_CTX has SSL_VERIFY_PEER, which every
 * context made here has; the trust anchors are the system's or a configured
 * CA file (tests use their own CA). Host names resolve on h2o's resolver
 * threads (h2o_hostinfo), answered through a per-loop message queue. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <h2o/http1client.h>
#include <openssl/ssl.h>

#include "gateway/alloc.h"
#include "providers/provider.h"

/* ---- per-loop context ---------------------------------------------------- */

#define MAX_TIMEOUTS 8
#define MAX_LOOPS    64
#define MAX_CTXS     16

typedef struct {
    h2o_loop_t *loop;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t getaddr;
    struct {
        unsigned ms;
        h2o_timeout_t t;
    } timeouts[MAX_TIMEOUTS];
    size_t ntimeouts;
} loop_ctx_t;

/* Kept reachable from a global list: these live until the process ends. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static loop_ctx_t *g_loops[MAX_LOOPS];
static size_t g_nloops;
static struct {
    char *ca_file; /* NULL: system trust store */
    SSL_CTX *ctx;
} g_ssl[MAX_CTXS];
static size_t g_nssl;

static loop_ctx_t *loop_ctx(h2o_loop_t *loop)
{
    pthread_mutex_lock(&g_lock);
    for (size_t i = 0; i < g_nloops; i++) {
        if (g_loops[i]->loop == loop) {
            pthread_mutex_unlock(&g_lock);
            return g_loops[i];
        }
    }
    loop_ctx_t *c = NULL;
    if (g_nloops < MAX_LOOPS) {
        c = gw_calloc(1, sizeof(*c));
        c->loop = loop;
        c->queue = h2o_multithread_create_queue(loop);
        h2o_multithread_register_receiver(c->queue, &c->getaddr, h2o_hostinfo_getaddr_receiver);
        g_loops[g_nloops++] = c;
    }
    pthread_mutex_unlock(&g_lock);
    return c;
}

static h2o_timeout_t *loop_timeout(loop_ctx_t *c, unsigned ms)
{
    for (size_t i = 0; i < c->ntimeouts; i++)
        if (c->timeouts[i].ms == ms)
            return &c->timeouts[i].t;
    size_t i = c->ntimeouts < MAX_TIMEOUTS ? c->ntimeouts++ : MAX_TIMEOUTS - 1;
    if (c->timeouts[i].ms != 0)
        return &c->timeouts[i].t; /* table full: share the last one */
    c->timeouts[i].ms = ms;
    h2o_timeout_init(c->loop, &c->timeouts[i].t, ms);
    return &c->timeouts[i].t;
}

static SSL_CTX *ssl_ctx_for(const char *ca_file)
{
    pthread_mutex_lock(&g_lock);
    for (size_t i = 0; i < g_nssl; i++) {
        if ((ca_file == NULL && g_ssl[i].ca_file == NULL) ||
            (ca_file != NULL && g_ssl[i].ca_file != NULL && strcmp(ca_file, g_ssl[i].ca_file) == 0)) {
            pthread_mutex_unlock(&g_lock);
            return g_ssl[i].ctx;
        }
    }
    SSL_CTX *ctx = NULL;
    if (g_nssl < MAX_CTXS) {
        ctx = SSL_CTX_new(TLS_client_method());
        if (ctx != NULL) {
            SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
            int ok = ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                                     : SSL_CTX_set_default_verify_paths(ctx);
            if (ok != 1) {
                SSL_CTX_free(ctx);
                ctx = NULL;
            } else {
                g_ssl[g_nssl].ca_file = ca_file != NULL ? gw_strdup(ca_file) : NULL;
                g_ssl[g_nssl++].ctx = ctx;
            }
        }
    }
    pthread_mutex_unlock(&g_lock);
    return ctx;
}

int prov_http_preload(const char *ca_file)
{
    return ssl_ctx_for(ca_file) != NULL ? 0 : -1;
}

/* ---- one request ------------------------------------------------------------- */

struct prov_http_req {
    h2o_http1client_t *client;
    h2o_http1client_ctx_t ctx;
    h2o_iovec_t bufs[2];
    char *head;
    char *body_out;
    char *body_in;
    size_t body_len, body_cap;
    int status;
    char content_type[128];
    prov_http_cb cb;
    void *data;
    int connecting;          /* inside h2o_http1client_connect */
    const char *early_error; /* it failed inside that call */
    /* The whole call's deadline: h2o's io_timeout restarts at every read, so
     * a peer trickling bytes would hold the call (and the person's page)
     * for as long as it likes without this. */
    h2o_timeout_entry_t deadline;
};

static void req_free(prov_http_req_t *q)
{
    if (h2o_timeout_is_linked(&q->deadline))
        h2o_timeout_unlink(&q->deadline);
    free(q->head);
    free(q->body_out);
    free(q->body_in);
    free(q);
}

/* Calls back once and frees the request; h2o closes its client itself after
 * the callback that led here returns. */
static void deliver(prov_http_req_t *q, const char *error)
{
    q->client = NULL;
    if (q->connecting) {
        /* Reported by prov_http_request's return value instead. */
        q->early_error = error != NULL ? error : "connection failed";
        return;
    }
    prov_http_response_t res = {0};
    res.status = error != NULL ? 0 : q->status;
    res.error = error;
    res.content_type = q->content_type;
    if (q->body_in == NULL)
        q->body_in = gw_strdup("");
    res.body = q->body_in;
    res.body_len = q->body_len;
    q->cb(q->data, &res);
    req_free(q);
}

static void on_deadline(h2o_timeout_entry_t *entry)
{
    prov_http_req_t *q = H2O_STRUCT_FROM_MEMBER(prov_http_req_t, deadline, entry);
    if (q->client != NULL)
        h2o_http1client_cancel(q->client);
    deliver(q, "timed out");
}

static int on_body(h2o_http1client_t *client, const char *errstr)
{
    prov_http_req_t *q = client->data;
    if (errstr != NULL && errstr != h2o_http1client_error_is_eos) {
        deliver(q, errstr);
        return -1;
    }
    h2o_buffer_t *in = client->sock->input;
    if (in->size > 0) {
        if (q->body_len + in->size > PROV_HTTP_MAX_BODY) {
            deliver(q, "response too large");
            return -1;
        }
        if (q->body_len + in->size + 1 > q->body_cap) {
            q->body_cap = q->body_len + in->size + 1 + 4096;
            q->body_in = gw_realloc(q->body_in, q->body_cap);
        }
        memcpy(q->body_in + q->body_len, in->bytes, in->size);
        q->body_len += in->size;
        q->body_in[q->body_len] = '\0';
        h2o_buffer_consume(&client->sock->input, in->size);
    }
    if (errstr == h2o_http1client_error_is_eos) {
        deliver(q, NULL);
        return -1;
    }
    return 0;
}

static h2o_http1client_body_cb on_head(h2o_http1client_t *client, const char *errstr, int minor_version,
                                       int status, h2o_iovec_t msg, h2o_header_t *headers, size_t num_headers,
                                       int rlen)
{
    (void)minor_version;
    (void)msg;
    (void)rlen;
    prov_http_req_t *q = client->data;
    if (errstr != NULL && errstr != h2o_http1client_error_is_eos) {
        deliver(q, errstr);
        return NULL;
    }
    q->status = status;
    for (size_t i = 0; i < num_headers; i++) {
        if (headers[i].name == &H2O_TOKEN_CONTENT_TYPE->buf ||
            h2o_lcstris(headers[i].name->base, headers[i].name->len, H2O_STRLIT("content-type"))) {
            snprintf(q->content_type, sizeof(q->content_type), "%.*s", (int)headers[i].value.len,
                     headers[i].value.base);
        }
    }
    if (errstr == h2o_http1client_error_is_eos) {
        deliver(q, NULL);
        return NULL;
    }
    return on_body;
}

static h2o_http1client_head_cb on_connect(h2o_http1client_t *client, const char *errstr,
                                          h2o_iovec_t **reqbufs, size_t *reqbufcnt, int *method_is_head)
{
    prov_http_req_t *q = client->data;
    if (errstr != NULL) {
        deliver(q, errstr);
        return NULL;
    }
    *reqbufs = q->bufs;
    *reqbufcnt = q->body_out != NULL ? 2 : 1;
    *method_is_head = 0;
    return on_head;
}

/* Plain http (to a loopback address only) is for tests and local receivers
 * in dev mode; elsewhere every call is https, so a URL from a remote
 * document (an IDV provider's discovery) cannot aim us at a loopback service
 * in the clear. Set once at start (prov_registry_init), read on the loops. */
static int g_plain_loopback;

void prov_http_allow_plain_loopback(int allow)
{
    g_plain_loopback = allow != 0;
}

static int loopback_host(h2o_iovec_t host)
{
    return h2o_memis(host.base, host.len, H2O_STRLIT("127.0.0.1")) ||
           h2o_memis(host.base, host.len, H2O_STRLIT("localhost")) ||
           h2o_memis(host.base, host.len, H2O_STRLIT("[::1]"));
}

prov_http_req_t *prov_http_request(h2o_loop_t *loop, const char *url, const char *content_type,
                                   const char *body, size_t body_len, const char *headers,
                                   const char *ca_file, unsigned timeout_ms, prov_http_cb cb, void *data,
                                   const char **error)
{
    h2o_url_t u;
    if (url == NULL || h2o_url_parse(url, strlen(url), &u) != 0 || u.host.len == 0 || u.host.len > 255) {
        *error = "bad URL";
        return NULL;
    }
    int is_ssl = u.scheme == &H2O_URL_SCHEME_HTTPS;
    if (!is_ssl && !(g_plain_loopback && loopback_host(u.host))) {
        *error = g_plain_loopback ? "plain http is only allowed to a loopback address"
                                  : "plain http is only allowed in dev mode";
        return NULL;
    }
    loop_ctx_t *lc = loop_ctx(loop);
    SSL_CTX *ssl = is_ssl ? ssl_ctx_for(ca_file) : NULL;
    if (lc == NULL || (is_ssl && ssl == NULL)) {
        *error = lc == NULL ? "too many loops" : "cannot load the CA file";
        return NULL;
    }
    prov_http_req_t *q = gw_calloc(1, sizeof(*q));
    q->cb = cb;
    q->data = data;
    q->ctx.loop = loop;
    q->ctx.getaddr_receiver = &lc->getaddr;
    q->ctx.io_timeout = loop_timeout(lc, timeout_ms ? timeout_ms : 5000);
    q->ctx.ssl_ctx = ssl;
    const char *method = body != NULL ? "POST" : "GET";
    size_t hl = strlen(method) + u.path.len + u.authority.len + (headers ? strlen(headers) : 0) +
                (content_type ? strlen(content_type) : 0) + 256;
    q->head = gw_malloc(hl);
    int n = snprintf(q->head, hl,
                     "%s %.*s HTTP/1.1\r\nHost: %.*s\r\nConnection: close\r\nUser-Agent: regain\r\n"
                     "Accept: application/json, application/jwt\r\n%s",
                     method, (int)u.path.len, u.path.base, (int)u.authority.len, u.authority.base,
                     headers ? headers : "");
    if (body != NULL)
        n += snprintf(q->head + n, hl - (size_t)n, "Content-Type: %s\r\nContent-Length: %zu\r\n",
                      content_type ? content_type : "application/x-www-form-urlencoded", body_len);
    n += snprintf(q->head + n, hl - (size_t)n, "\r\n");
    q->bufs[0] = h2o_iovec_init(q->head, (size_t)n);
    if (body != NULL) {
        q->body_out = gw_malloc(body_len + 1);
        memcpy(q->body_out, body, body_len);
        q->bufs[1] = h2o_iovec_init(q->body_out, body_len);
    }
    q->connecting = 1;
    h2o_http1client_connect(&q->client, q, &q->ctx, u.host, h2o_url_get_port(&u), is_ssl, on_connect);
    q->connecting = 0;
    if (q->early_error != NULL) {
        *error = q->early_error;
        req_free(q);
        return NULL;
    }
    /* Twice the I/O timeout for everything: connect, TLS, request, answer. */
    q->deadline.cb = on_deadline;
    h2o_timeout_link(loop, loop_timeout(lc, 2 * (timeout_ms ? timeout_ms : 5000)), &q->deadline);
    return q;
}

void prov_http_cancel(prov_http_req_t *q)
{
    if (q == NULL)
        return;
    if (q->client != NULL)
        h2o_http1client_cancel(q->client);
    req_free(q);
}

/* ---- tied to a request --------------------------------------------------------- */

typedef struct {
    gw_req_t *r;
    prov_http_req_t *q;
    prov_http_cb cb;
    void *data;
    int in_flight;
} for_req_t;

static void for_req_detach(void *pending)
{
    for_req_t *f = pending;
    prov_http_cancel(f->q);
    free(f);
}

static void for_req_done(void *data, const prov_http_response_t *res)
{
    for_req_t *f = data;
    if (f->in_flight)
        gw_req_clear_pending(f->r);
    prov_http_cb cb = f->cb;
    void *d = f->data;
    /* The request struct is freed by the client right after this returns. */
    f->q = NULL;
    free(f);
    cb(d, res);
}

void prov_http_for_request(gw_req_t *r, const char *url, const char *content_type, const char *body,
                           size_t body_len, const char *headers, const char *ca_file, unsigned timeout_ms,
                           prov_http_cb cb, void *data)
{
    for_req_t *f = gw_calloc(1, sizeof(*f));
    f->r = r;
    f->cb = cb;
    f->data = data;
    const char *error = NULL;
    f->q = prov_http_request(gw_req_loop(r), url, content_type, body, body_len, headers, ca_file, timeout_ms,
                             for_req_done, f, &error);
    if (f->q == NULL) {
        free(f);
        prov_http_response_t fail = {0};
        fail.error = error;
        fail.body = "";
        fail.content_type = "";
        cb(data, &fail);
        return;
    }
    f->in_flight = 1;
    gw_req_set_pending(r, f, for_req_detach);
}
