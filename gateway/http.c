/* Routing, the request wrapper, and the one reply path every response takes
 * (security headers, request id, metrics, access log). */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/alloc.h"
#include "gateway/internal.h"
#include "gateway/json.h"
#include "gateway/log.h"

static gw_route_t *g_routes[GW_METRICS_MAX_ROUTES - 1];
static size_t g_route_len[GW_METRICS_MAX_ROUTES - 1];
static unsigned g_route_count;

/* The page policy around its form-action. */
#define CSP_HEAD                                                                                             \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "    \
    "form-action 'self'"
#define CSP_TAIL "; frame-ancestors 'none'; base-uri 'none'"
/* A page that names no form target (gw_reply_form_action): any https
 * origin and the loopback ones, where a relying party may wait. There is
 * no [::1] here: CSP3 §2.3.1 host-char = ALPHA / DIGIT / "-", so no source
 * expression can spell an IPv6 literal, and browsers drop the attempt. */
static const char CSP_PAGE[] = CSP_HEAD " https: http://localhost:* http://127.0.0.1:*" CSP_TAIL;
static const char HSTS[] = "max-age=63072000; includeSubDomains";

uint64_t gw_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void gw_route_register(gw_route_t *route)
{
    if (g_route_count == sizeof(g_routes) / sizeof(g_routes[0])) {
        gw_log_error("too many routes");
        return;
    }
    if (route->name == NULL)
        route->name = route->path;
    route->_index = g_route_count;
    g_route_len[g_route_count] = strlen(route->path);
    g_routes[g_route_count++] = route;
}

unsigned gw_route_count(void)
{
    return g_route_count;
}

const gw_route_t *gw_route_at(unsigned index)
{
    return index < g_route_count ? g_routes[index] : NULL;
}

static const gw_route_t *route_find(const char *path, size_t len)
{
    for (unsigned i = 0; i < g_route_count; i++) {
        const gw_route_t *rt = g_routes[i];
        size_t n = g_route_len[i];
        if (len == n && memcmp(path, rt->path, n) == 0)
            return rt;
        if ((rt->flags & GW_ROUTE_PREFIX) && len > n && path[n] == '/' && memcmp(path, rt->path, n) == 0)
            return rt;
    }
    return NULL;
}

static unsigned method_bit(h2o_iovec_t m)
{
    if (h2o_memis(m.base, m.len, H2O_STRLIT("GET")) || h2o_memis(m.base, m.len, H2O_STRLIT("HEAD")))
        return GW_GET;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("POST")))
        return GW_POST;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("PUT")))
        return GW_PUT;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("PATCH")))
        return GW_PATCH;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("DELETE")))
        return GW_DELETE;
    return 0;
}

unsigned gw_req_method(gw_req_t *r)
{
    return method_bit(r->req->method);
}

void gw_reply_allow(gw_req_t *r, unsigned methods)
{
    static const struct {
        unsigned bit;
        const char *names;
    } M[] = {{GW_GET, "GET, HEAD"},
             {GW_POST, "POST"},
             {GW_PUT, "PUT"},
             {GW_PATCH, "PATCH"},
             {GW_DELETE, "DELETE"}};
    char buf[64] = "";
    for (size_t i = 0; i < sizeof(M) / sizeof(M[0]); i++) {
        if (methods & M[i].bit) {
            if (buf[0])
                strcat(buf, ", ");
            strcat(buf, M[i].names);
        }
    }
    gw_reply_header(r, "allow", buf, strlen(buf));
}

void gw_reply_method_not_allowed(gw_req_t *r, unsigned methods, const char *public_msg)
{
    gw_reply_allow(r, methods);
    gw_reply_fail(r, GW_E_METHOD_NOT_ALLOWED, public_msg);
}

/* A request id from the client is kept when it is short and plain (a proxy's
 * id ties logs together); anything else is replaced, never echoed. */
static void set_request_id(gw_req_t *r)
{
    h2o_iovec_t in = gw_req_header(r, GW_REQUEST_ID_HEADER);
    if (in.base != NULL && in.len >= 8 && in.len < sizeof(r->id)) {
        size_t i = 0;
        while (i < in.len && (isalnum((unsigned char)in.base[i]) || in.base[i] == '-' || in.base[i] == '_' ||
                              in.base[i] == '.'))
            i++;
        if (i == in.len) {
            memcpy(r->id, in.base, in.len);
            r->id[in.len] = '\0';
            return;
        }
    }
    gw_thread_t *t = r->thread;
    /* Unique, not secret: a per-thread salt mixed with a counter. */
    uint64_t x = t->request_salt ^ (++t->request_seq * 0x9E3779B97F4A7C15ull);
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 29;
    static const char HEX[] = "0123456789abcdef";
    r->id[0] = HEX[(t->index >> 4) & 15];
    r->id[1] = HEX[t->index & 15];
    for (int i = 0; i < 16; i++)
        r->id[2 + i] = HEX[(x >> (60 - 4 * i)) & 15];
    r->id[18] = '\0';
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        return "";
    }
}

static void access_log(gw_req_t *r, h2o_req_t *req, int status, size_t bytes)
{
    gw_thread_t *t = r->thread;
    uint64_t dur = gw_now_ns() - r->start_ns;
    gw_metrics_record(&t->metrics, r->route ? r->route->_index : GW_METRICS_MAX_ROUTES - 1, status, dur);
    if (gw_server_config(t)->log.access_log)
        gw_access_log_request(t, r, req, status, bytes, dur);
}

static void on_req_dispose(void *p)
{
    gw_req_t *r = p;
    if (!r->replied) {
        r->gone = 1;
        if (r->req != NULL)
            access_log(r, r->req, 499, 0); /* nginx's "client closed request" */
    }
    if (r->pending != NULL && r->detach != NULL)
        r->detach(r->pending);
    if (r->_release != NULL)
        r->_release(r->_release_arg);
    gw_server_request_done(r->thread);
}

int gw_http_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    gw_thread_t *t = (gw_thread_t *)req->conn->ctx;
    gw_req_t *r = h2o_mem_alloc_shared(&req->pool, sizeof(*r), on_req_dispose);
    memset(r, 0, sizeof(*r));
    r->req = req;
    r->thread = t;
    r->start_ns = gw_now_ns();
    t->inflight++;
    set_request_id(r);

    /* h2o 2.2.5 accepts HTTP/1.1 request heads up to ~400 KB; nothing we serve
     * needs more than a few KB, and big heads are a cheap way to burn memory. */
    if (req->path.len > GW_MAX_URL_BYTES) {
        gw_reply_fail(r, GW_E_URI_TOO_LONG, "request target too long");
        return 0;
    }
    size_t head = 0;
    for (size_t i = 0; i < req->headers.size; i++)
        head += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
    if (head > GW_MAX_HEADER_BYTES) {
        gw_reply_fail(r, GW_E_HEADERS_TOO_LARGE, "request header fields too large");
        return 0;
    }

    const gw_route_t *rt = route_find(req->path_normalized.base, req->path_normalized.len);
    r->route = rt;
    if (rt == NULL) {
        gw_reply_fail(r, GW_E_NOT_FOUND, "no such endpoint");
        return 0;
    }
    if (!(rt->flags & GW_ROUTE_OWN_METHODS) && (rt->methods & method_bit(req->method)) == 0) {
        gw_reply_method_not_allowed(r, rt->methods, "method not allowed here");
        return 0;
    }
    rt->handler(r);
    return 0;
}

void *gw_req_alloc(gw_req_t *r, size_t n)
{
    return h2o_mem_alloc_pool(&r->req->pool, n);
}

struct gw_req_state {
    struct gw_req_state *next;
    const void *tag;
    _Alignas(16) unsigned char data[];
};

void *gw_req_state(gw_req_t *r, const void *tag, size_t size)
{
    for (struct gw_req_state *s = r->_states; s != NULL; s = s->next)
        if (s->tag == tag)
            return s->data;
    struct gw_req_state *s = h2o_mem_alloc_pool(&r->req->pool, sizeof(*s) + size);
    memset(s, 0, sizeof(*s) + size);
    s->tag = tag;
    s->next = r->_states;
    r->_states = s;
    return s->data;
}

h2o_iovec_t gw_req_strdup(gw_req_t *r, const char *s, size_t n)
{
    return h2o_strdup(&r->req->pool, s, n);
}

h2o_iovec_t gw_req_header(gw_req_t *r, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&r->req->headers, name, strlen(name), -1);
    if (i < 0)
        return h2o_iovec_init(NULL, 0);
    return r->req->headers.entries[i].value;
}

h2o_iovec_t gw_req_query_string(gw_req_t *r)
{
    h2o_req_t *req = r->req;
    if (req->query_at == SIZE_MAX)
        return h2o_iovec_init("", 0);
    return h2o_iovec_init(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1);
}

int gw_req_is_tls(gw_req_t *r)
{
    /* The connection, never the request: over h2c, h2o 2.2.5 takes
     * req->scheme from the client's own :scheme pseudo-header, so a
     * cleartext request may claim https (and one over TLS may say http). */
    h2o_conn_t *conn = r->req->conn;
    h2o_socket_t *sock = conn->callbacks->get_socket != NULL ? conn->callbacks->get_socket(conn) : NULL;
    return sock != NULL && sock->ssl != NULL;
}

h2o_loop_t *gw_req_loop(gw_req_t *r)
{
    return r->thread->loop;
}

void gw_reply_form_action(gw_req_t *r, const char *source, size_t len)
{
    if (r->req == NULL || len == 0 || len > GW_FORM_ACTION_MAX)
        return;
    /* Nothing that could end the source list or start another directive. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)source[i];
        if (!isalnum(c) && c != ':' && c != '/' && c != '.' && c != '-' && c != '*')
            return;
    }
    r->_form_action = h2o_strdup(&r->req->pool, source, len);
}

void gw_reply_header(gw_req_t *r, const char *name, const char *value, size_t len)
{
    h2o_req_t *req = r->req;
    if (req == NULL)
        return;
    h2o_iovec_t v = h2o_strdup(&req->pool, value, len);
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 1, NULL, v.base, v.len);
}

#define ADD_TOKEN(req, tok, lit)                                                                             \
    h2o_add_header(&(req)->pool, &(req)->res.headers, (tok), NULL, H2O_STRLIT(lit))
#define ADD_STR(req, name, ...)                                                                              \
    h2o_add_header_by_str(&(req)->pool, &(req)->res.headers, H2O_STRLIT(name), 0, NULL, __VA_ARGS__)

/* Status, headers, metrics and access log of the reply; the caller sends the
 * body. Returns the request, which `r` no longer holds (the send may dispose
 * the request, and `r` with it, before it returns). */
static h2o_req_t *reply_start(gw_req_t *r, int status, const char *content_type, size_t len)
{
    h2o_req_t *req = r->req;
    unsigned flags = r->route ? r->route->flags : 0;
    req->res.status = status;
    req->res.reason = reason_phrase(status);
    /* h2o 2.2.5 closes HTTP/1.1 connections on non-200 replies without a
     * length (DEPENDENCIES.md §3), so always set it; but 204 and 304 have no
     * content, and RFC 9110 §8.6 forbids a Content-Length on a 204 and allows
     * on a 304 only the length the 200 would have had. h2o keeps the
     * connection for these two without one. */
    req->res.content_length = (status == 204 || status == 304) ? SIZE_MAX : len;
    /* One allocation for the headers below instead of a doubling series. */
    h2o_vector_reserve(&req->pool, &req->res.headers, req->res.headers.size + 10);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type,
                   strlen(content_type));
    ADD_STR(req, GW_REQUEST_ID_HEADER, r->id, strlen(r->id));
    ADD_STR(req, "x-content-type-options", H2O_STRLIT("nosniff"));
    ADD_STR(req, "referrer-policy", H2O_STRLIT("no-referrer"));
    /* Framing and script policies matter where something renders: pages.
     * JSON is never rendered (nosniff), so it skips two long headers that
     * every API response would otherwise carry. */
    if (flags & GW_ROUTE_HTML) {
        if (r->_form_action.base != NULL) {
            h2o_iovec_t csp = h2o_concat(&req->pool, h2o_iovec_init(H2O_STRLIT(CSP_HEAD " ")),
                                         r->_form_action, h2o_iovec_init(H2O_STRLIT(CSP_TAIL)));
            ADD_STR(req, "content-security-policy", csp.base, csp.len);
        } else {
            ADD_STR(req, "content-security-policy", CSP_PAGE, sizeof(CSP_PAGE) - 1);
        }
        ADD_STR(req, "x-frame-options", H2O_STRLIT("DENY"));
    }
    if (flags & GW_ROUTE_NO_STORE)
        ADD_TOKEN(req, H2O_TOKEN_CACHE_CONTROL, "no-store");
    /* RFC 6797 §7.2: "An HSTS Host MUST NOT include the STS header field in
     * HTTP responses conveyed over non-secure transport." */
    if (gw_req_is_tls(r))
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_STRICT_TRANSPORT_SECURITY, NULL, HSTS,
                       sizeof(HSTS) - 1);
    access_log(r, req, status, len);
    r->replied = 1;
    r->req = NULL;
    return req;
}

void gw_reply(gw_req_t *r, int status, const char *content_type, const char *body, size_t len)
{
    if (r->req == NULL || r->replied)
        return;
    h2o_send_inline(reply_start(r, status, content_type, len), body, len);
}

void gw_reply_borrowed(gw_req_t *r, int status, const char *content_type, const char *body, size_t len,
                       void (*release)(void *arg), void *arg)
{
    if (r->req == NULL || r->replied) {
        if (release != NULL)
            release(arg);
        return;
    }
    r->_release = release;
    r->_release_arg = arg;
    /* What h2o_send_inline does, minus its copy of the body. */
    static h2o_generator_t generator = {NULL, NULL};
    h2o_req_t *req = reply_start(r, status, content_type, len);
    h2o_start_response(req, &generator);
    if (h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD"))) {
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    } else {
        h2o_iovec_t buf = h2o_iovec_init(body, len);
        h2o_send(req, &buf, 1, H2O_SEND_STATE_FINAL);
    }
}

void gw_reply_json(gw_req_t *r, int status, const char *json, size_t len)
{
    gw_reply(r, status, "application/json", json, len);
}

void gw_reply_jw(gw_req_t *r, int status, gw_jw_t *w)
{
    size_t len = 0;
    const char *body = gw_jw_buf(w, &len);
    if (body == NULL) {
        gw_err_t err;
        gw_jw_error(w, &err);
        gw_reply_error(r, &err);
    } else {
        gw_reply_json(r, status, body, len);
    }
    gw_jw_free(w);
}

void gw_reply_html(gw_req_t *r, int status, const char *html, size_t len)
{
    gw_reply(r, status, "text/html; charset=utf-8", html, len);
}

void gw_reply_redirect(gw_req_t *r, int status, const char *location, size_t len)
{
    if (r->req == NULL)
        return;
    h2o_add_header(&r->req->pool, &r->req->res.headers, H2O_TOKEN_LOCATION, NULL,
                   h2o_strdup(&r->req->pool, location, len).base, len);
    gw_reply(r, status, "text/plain; charset=utf-8", "", 0);
}

void gw_reply_error(gw_req_t *r, const gw_err_t *err)
{
    if (r->req == NULL)
        return;
    int status = gw_err_status(err->kind);
    const char *code = gw_err_oauth_code(err->kind);
    char desc[400], body[600];
    gw_log_escape(desc, sizeof(desc), err->public, strlen(err->public));
    int n = snprintf(body, sizeof(body), "{\"error\":\"%s\",\"error_description\":\"%s\"}",
                     code ? code : "error", desc);
    if (status >= 500)
        gw_log_write(GW_LOG_ERROR, __func__, r->id, "%s (%s) at %s:%d", err->public, err->detail,
                     err->file ? err->file : "?", err->line);
    if (status == 503)
        ADD_TOKEN(r->req, H2O_TOKEN_RETRY_AFTER, "1");
    /* A failed answer is never worth caching. */
    if (r->route == NULL || !(r->route->flags & GW_ROUTE_NO_STORE))
        ADD_TOKEN(r->req, H2O_TOKEN_CACHE_CONTROL, "no-store");
    gw_reply_json(r, status, body, (size_t)n);
}

void gw_reply_fail(gw_req_t *r, gw_err_kind_t kind, const char *public_msg)
{
    gw_err_t err;
    GW_ERR(&err, kind, public_msg);
    gw_reply_error(r, &err);
}

void gw_req_set_pending(gw_req_t *r, void *pending, gw_req_detach_fn detach)
{
    r->pending = pending;
    r->detach = detach;
}

void gw_req_clear_pending(gw_req_t *r)
{
    r->pending = NULL;
    r->detach = NULL;
}

/* --- queries made on behalf of a request --- */

typedef struct {
    gw_req_t *r;
    gw_req_query_data_cb cb;
    void *data;
    store_query_t *q;
} req_query_t;

static void req_query_detach(void *pending)
{
    req_query_t *rq = pending;
    store_query_cancel(rq->q);
    free(rq);
}

static void req_query_done(void *p, PGresult *res, const gw_err_t *err)
{
    req_query_t *rq = p;
    gw_req_t *r = rq->r;
    gw_req_query_data_cb cb = rq->cb;
    void *data = rq->data;
    gw_req_clear_pending(r);
    free(rq);
    cb(r, data, res, err);
}

void gw_req_query(gw_req_t *r, const store_stmt_t *stmt, const char *const *params, gw_req_query_data_cb cb,
                  void *data)
{
    gw_err_t err;
    req_query_t *rq = gw_malloc(sizeof(*rq));
    rq->r = r;
    rq->cb = cb;
    rq->data = data;
    rq->q = store_query_send(r->thread->store, stmt, params, req_query_done, rq, &err);
    if (rq->q == NULL) {
        free(rq);
        cb(r, data, NULL, &err);
        return;
    }
    gw_req_set_pending(r, rq, req_query_detach);
}

void gw_req_query_sql(gw_req_t *r, const char *sql, int nparams, const char *const *params,
                      gw_req_query_data_cb cb, void *data)
{
    gw_err_t err;
    req_query_t *rq = gw_malloc(sizeof(*rq));
    rq->r = r;
    rq->cb = cb;
    rq->data = data;
    rq->q = store_query_send_sql(r->thread->store, sql, nparams, params, req_query_done, rq, &err);
    if (rq->q == NULL) {
        free(rq);
        cb(r, data, NULL, &err);
        return;
    }
    gw_req_set_pending(r, rq, req_query_detach);
}

/* gw_req_query_or_reply: the plain callback travels as `data`. */
typedef struct {
    gw_req_query_cb cb;
} plain_cb_t;

static void on_plain_result(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    gw_req_query_cb cb = ((plain_cb_t *)data)->cb;
    cb(r, res, err);
}

int gw_req_query_or_reply(gw_req_t *r, const store_stmt_t *stmt, const char *const *params,
                          gw_req_query_cb cb)
{
    gw_err_t err;
    plain_cb_t *pc = gw_req_alloc(r, sizeof(*pc));
    pc->cb = cb;
    req_query_t *rq = gw_malloc(sizeof(*rq));
    rq->r = r;
    rq->cb = on_plain_result;
    rq->data = pc;
    rq->q = store_query_send(r->thread->store, stmt, params, req_query_done, rq, &err);
    if (rq->q == NULL) {
        free(rq);
        gw_reply_error(r, &err);
        return -1;
    }
    gw_req_set_pending(r, rq, req_query_detach);
    return 0;
}

/* --- request input --- */

int gw_req_query_params_or_reply(gw_req_t *r, gw_kvs_t *out)
{
    gw_err_t err;
    h2o_iovec_t q = gw_req_query_string(r);
    if (gw_form_parse(&r->req->pool, q.base, q.len, GW_MAX_PARAMS, out, &err) != 0) {
        gw_reply_error(r, &err);
        return -1;
    }
    return 0;
}

int gw_req_form_or_reply(gw_req_t *r, gw_kvs_t *out)
{
    gw_err_t err;
    h2o_req_t *req = r->req;
    if (req->entity.base == NULL || req->entity.len == 0) {
        out->items = NULL;
        out->count = 0;
        return 0;
    }
    h2o_iovec_t ct = gw_req_header(r, "content-type");
    static const char FORM[] = "application/x-www-form-urlencoded";
    /* The media type may carry parameters (; charset=UTF-8). */
    if (ct.base == NULL || ct.len < sizeof(FORM) - 1 ||
        !h2o_lcstris(ct.base, sizeof(FORM) - 1, FORM, sizeof(FORM) - 1) ||
        (ct.len > sizeof(FORM) - 1 && ct.base[sizeof(FORM) - 1] != ';' && ct.base[sizeof(FORM) - 1] != ' ')) {
        gw_reply_fail(r, GW_E_UNSUPPORTED_MEDIA_TYPE, "the body must be application/x-www-form-urlencoded");
        return -1;
    }
    if (gw_form_parse(&req->pool, req->entity.base, req->entity.len, GW_MAX_PARAMS, out, &err) != 0) {
        gw_reply_error(r, &err);
        return -1;
    }
    return 0;
}

int gw_req_cookie(gw_req_t *r, const char *name, h2o_iovec_t *value)
{
    h2o_iovec_t headers[16];
    size_t n = 0;
    for (ssize_t i = -1; n < sizeof(headers) / sizeof(headers[0]);) {
        i = h2o_find_header(&r->req->headers, H2O_TOKEN_COOKIE, i);
        if (i < 0)
            break;
        headers[n++] = r->req->headers.entries[i].value;
    }
    return gw_cookie_find_multi(headers, n, name, value);
}

void gw_req_peer(gw_req_t *r, char out[64])
{
    struct sockaddr_storage ss;
    socklen_t len = r->req->conn->callbacks->get_peername(r->req->conn, (struct sockaddr *)&ss);
    out[0] = '\0';
    if (len == 0)
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, 64);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, 64);
}
