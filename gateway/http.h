/* The HTTP surface every handler uses: routes, the request wrapper, replies.
 *
 * A handler receives a gw_req_t (allocated in the request's pool) and either
 * replies before returning or starts asynchronous work (gw_req_query, a
 * timer...) and replies from its callback. If the client goes away first, the
 * callback is never called: see gw_req_detach_fn. */
#ifndef REGAIN_GATEWAY_HTTP_H
#define REGAIN_GATEWAY_HTTP_H

#include <h2o.h>
#include <stdint.h>

#include "gateway/err.h"

/* Limits on the request head (RFC 9110 §15.5.15, RFC 6585 §5). */
#define GW_MAX_URL_BYTES    8192
#define GW_MAX_HEADER_BYTES 16384

typedef struct gw_thread gw_thread_t;
typedef struct gw_req gw_req_t;
typedef struct gw_route gw_route_t;

typedef void (*gw_handler_fn)(gw_req_t *r);

enum {
    GW_GET = 1 << 0, /* also answers HEAD */
    GW_POST = 1 << 1,
    GW_PUT = 1 << 2,
    GW_PATCH = 1 << 3,
    GW_DELETE = 1 << 4,
};

/* Route flags. */
enum {
    GW_ROUTE_PREFIX = 1 << 0,   /* also matches path + "/..." */
    GW_ROUTE_NO_STORE = 1 << 1, /* a secret may pass: Cache-Control: no-store */
    GW_ROUTE_HTML = 1 << 2,     /* a page: the page Content-Security-Policy */
    /* The handler checks the method against the resource its path names (a
     * prefix route whose resources take different methods) and answers a
     * wrong one with gw_reply_method_not_allowed; the router hands it every
     * method, unknown ones (gw_req_method 0) too. */
    GW_ROUTE_OWN_METHODS = 1 << 3,
};

struct gw_route {
    const char *path;
    unsigned methods;
    unsigned flags;
    gw_handler_fn handler;
    const char *name; /* metric label; defaults to path */
    void *data;       /* handler's own constant data */
    unsigned _index;
};

/* Registers a route; call before gw_server_run. `route` must stay valid for
 * the life of the process (use static storage). The first match wins. */
void gw_route_register(gw_route_t *route);

/* Number of registered routes (metrics sizes its tables from this). */
unsigned gw_route_count(void);
const gw_route_t *gw_route_at(unsigned index);

typedef void (*gw_req_detach_fn)(void *pending);

struct gw_req {
    h2o_req_t *req; /* valid until the reply is sent */
    gw_thread_t *thread;
    const gw_route_t *route;
    uint64_t start_ns;
    char id[33]; /* request id, echoed in X-Request-Id and the access log */
    uint8_t replied;
    uint8_t gone; /* the client went away before the reply */
    /* The handler's own state between its callbacks (pool memory, say). */
    void *data;
    struct gw_req_state *_states; /* gw_req_state: owning file only */
    /* The asynchronous operation in flight, detached if the request dies first. */
    void *pending;
    gw_req_detach_fn detach;
    /* gw_reply_form_action's source: owning file only. */
    h2o_iovec_t _form_action;
    /* gw_reply_borrowed's release and its argument: owning file only. */
    void (*_release)(void *arg);
    void *_release_arg;
};

/* The state a module keeps for this request between its callbacks: zeroed
 * pool memory of `size` bytes, created on first use. `tag` is the address of
 * a static object of the module, so modules nested in one request (an
 * endpoint and the bearer check it calls) never see each other's state. */
void *gw_req_state(gw_req_t *r, const void *tag, size_t size);

/* Memory that lives as long as the request. Never NULL. */
void *gw_req_alloc(gw_req_t *r, size_t n);
h2o_iovec_t gw_req_strdup(gw_req_t *r, const char *s, size_t n);

/* First value of a request header by lower-case name; base NULL if absent. */
h2o_iovec_t gw_req_header(gw_req_t *r, const char *lowercase_name);

/* The query string without '?', possibly empty. */
h2o_iovec_t gw_req_query_string(gw_req_t *r);

/* 1 when the request came over TLS: decided by its connection's socket,
 * not by the scheme the request names (an h2c client chooses its :scheme). */
int gw_req_is_tls(gw_req_t *r);

/* The request's method as one GW_* bit (HEAD is GW_GET); 0 for any other. */
unsigned gw_req_method(gw_req_t *r);

/* RFC 9110 §15.5.6: a 405 "MUST generate an Allow header field ...
 * containing a list of the target resource's currently supported methods":
 * `methods` (GW_* bits; GW_GET lists GET and HEAD). gw_reply_allow adds
 * the header alone, for replies with a body of their own format (SCIM). */
void gw_reply_allow(gw_req_t *r, unsigned methods);
void gw_reply_method_not_allowed(gw_req_t *r, unsigned methods, const char *public_msg);

/* Where the forms of the page being answered lead besides this origin,
 * directly or through the redirects that answer them (browsers check
 * form-action on those too): `source`, one CSP source expression, an
 * origin ("https://rp.example:8443") or a scheme ("http:"). The page's
 * form-action is then 'self' and `source` alone, instead of the default
 * list (any https origin, http://localhost and http://127.0.0.1). Ignored
 * unless it is URL characters only (letters, digits, ":/.-*"), at most
 * GW_FORM_ACTION_MAX bytes; copied. */
#define GW_FORM_ACTION_MAX 300
void gw_reply_form_action(gw_req_t *r, const char *source, size_t len);

/* Adds a response header (lower-case name). Values are copied. */
void gw_reply_header(gw_req_t *r, const char *name, const char *value, size_t len);

/* Sends the response with the security headers, request id, metrics and
 * access log. The body is copied. After this `r->req` is invalid. */
void gw_reply(gw_req_t *r, int status, const char *content_type, const char *body, size_t len);
void gw_reply_json(gw_req_t *r, int status, const char *json, size_t len);

/* gw_reply without the copy: h2o sends `body` from where it is, so it must
 * stay valid until the request's memory is released (after the last byte is
 * sent, or the client is gone). For static data `release` is NULL; otherwise
 * `release(arg)` runs exactly once, then, to drop what keeps the body alive
 * (a reference count, say), also when no reply can be sent any more. */
void gw_reply_borrowed(gw_req_t *r, int status, const char *content_type, const char *body, size_t len,
                       void (*release)(void *arg), void *arg);

/* A body sent many times unchanged (the discovery document, the JWKS) and
 * its gzip form, made once (gateway/content_coding.c). `body` is borrowed;
 * `gzip` is owned, NULL when gzip would not make the body smaller. */
typedef struct {
    const char *body;
    size_t len;
    char *gzip;
    size_t gzip_len;
} gw_codings_t;

void gw_codings_init(gw_codings_t *c, const char *body, size_t len);
void gw_codings_dispose(gw_codings_t *c);

/* gw_reply_borrowed with the coding the client takes: the gzip form, with
 * Content-Encoding: gzip, when its Accept-Encoding allows gzip, else the
 * body as it is; Vary: Accept-Encoding either way when there is a gzip
 * form. Both forms must outlive the request as gw_reply_borrowed says. */
void gw_reply_codings(gw_req_t *r, int status, const char *content_type, const gw_codings_t *c,
                      void (*release)(void *arg), void *arg);

/* RFC 9110 §12.5.3: does this Accept-Encoding value (fields joined with
 * ",") accept gzip? 0 for an absent or empty one. */
int gw_accepts_gzip(const char *value, size_t len);

/* `in` compressed to gzip (RFC 1952) into a new buffer; -1 on failure or when
 * the result would not be smaller. */
int gw_gzip_encode(const char *in, size_t len, char **out, size_t *out_len);

/* A JSON error body {"error": ..., "error_description": ...} with the kind's
 * status (RFC 6749 §5.2 shape); 503s carry Retry-After. Logs the detail. */
void gw_reply_error(gw_req_t *r, const gw_err_t *err);

/* Shorthand for gw_reply_error with a fresh error. */
void gw_reply_fail(gw_req_t *r, gw_err_kind_t kind, const char *public_msg);

/* The JSON a writer built, as `status` (a 500 if the writer failed); frees
 * the writer either way. */
typedef struct gw_jw gw_jw_t;
void gw_reply_jw(gw_req_t *r, int status, gw_jw_t *w);

/* A page (text/html; the page Content-Security-Policy applies when the route
 * has GW_ROUTE_HTML). */
void gw_reply_html(gw_req_t *r, int status, const char *html, size_t len);

/* A redirect (302 or 303) to `location`, which the caller has built safely. */
void gw_reply_redirect(gw_req_t *r, int status, const char *location, size_t len);

/* The thread's loop, for timers and sockets of handlers. */
h2o_loop_t *gw_req_loop(gw_req_t *r);

/* Marks `pending` as the request's operation in flight; if the request dies
 * first, `detach(pending)` runs so the operation drops its reference. */
void gw_req_set_pending(gw_req_t *r, void *pending, gw_req_detach_fn detach);
void gw_req_clear_pending(gw_req_t *r);

#endif

#ifndef REGAIN_GATEWAY_HTTP_INPUT
#define REGAIN_GATEWAY_HTTP_INPUT
#include "gateway/parse.h"

#define GW_MAX_PARAMS 64

/* The query string's parameters; -1 after replying 400 when malformed. */
int gw_req_query_params_or_reply(gw_req_t *r, gw_kvs_t *out);

/* The body as application/x-www-form-urlencoded; -1 after replying 415 for
 * another media type or 400 when malformed. An empty body gives no params. */
int gw_req_form_or_reply(gw_req_t *r, gw_kvs_t *out);

/* A cookie by exact name from any Cookie header (HTTP/2 may split them);
 * returns 1 and sets `value`, or 0. */
int gw_req_cookie(gw_req_t *r, const char *name, h2o_iovec_t *value);

/* The client's address as text (no port). */
void gw_req_peer(gw_req_t *r, char out[64]);
#endif

#ifndef REGAIN_GATEWAY_HTTP_QUERY
#define REGAIN_GATEWAY_HTTP_QUERY
#include "gateway/store.h"

/* Result of a query made for a request; runs only while the request lives. */
typedef void (*gw_req_query_cb)(gw_req_t *r, PGresult *res, const gw_err_t *err);

/* Sends `stmt` on the thread's pool for `r`. Returns 0 when sent (the
 * callback will run, or the request died); -1 after replying with the error
 * (503 + Retry-After when the database is down). */
int gw_req_query_or_reply(gw_req_t *r, const store_stmt_t *stmt, const char *const *params,
                          gw_req_query_cb cb);

/* The same with the caller's `data`, for flows that answer in their own format
 * (pages, SCIM): the callback always runs — with `err` set and `res` NULL when
 * the query could not even be queued (then before this returns). */
typedef void (*gw_req_query_data_cb)(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err);
void gw_req_query(gw_req_t *r, const store_stmt_t *stmt, const char *const *params, gw_req_query_data_cb cb,
                  void *data);

/* gw_req_query for SQL built at run time (placeholders only, never values). */
void gw_req_query_sql(gw_req_t *r, const char *sql, int nparams, const char *const *params,
                      gw_req_query_data_cb cb, void *data);
#endif
