/* Authorization responses: a 303 to the redirect URI with the parameters in
 * its query (RFC 6749 §4.1.2), or the Form Post Response Mode page (OAuth 2.0
 * Form Post Response Mode §2); both carry `iss` (RFC 9207 §2). Also the
 * simple pages for errors that must not be redirected, and the tiny script
 * that submits the form (the page policy forbids inline script). */
#include <string.h>

#include "gateway/log.h"
#include "oidc/authorize_internal.h"
#include "oidc/clients_internal.h"

static size_t params_room(const oidc_param_t *params, size_t n)
{
    size_t room = 0;
    for (size_t i = 0; i < n; i++)
        if (params[i].value != NULL)
            room += strlen(params[i].name) + 6 * strlen(params[i].value) + 96;
    return room;
}

h2o_iovec_t oidc_az_redirect_url(h2o_mem_pool_t *pool, const char *uri, size_t len,
                                 const oidc_param_t *params, size_t n)
{
    /* RFC 6749 §3.1.2: the endpoint URI "MUST NOT include a fragment
     * component"; the clients area refuses one at registration, and we never
     * put parameters after one. */
    const char *hash = memchr(uri, '#', len);
    if (hash != NULL)
        len = (size_t)(hash - uri);
    char *out = h2o_mem_alloc_pool(pool, len + params_room(params, n) + 1);
    size_t o = 0;
    memcpy(out, uri, len);
    o = len;
    char sep = memchr(uri, '?', len) != NULL ? '&' : '?';
    if (len > 0 && (uri[len - 1] == '?' || uri[len - 1] == '&'))
        sep = 0;
    for (size_t i = 0; i < n; i++) {
        if (params[i].value == NULL)
            continue;
        if (sep)
            out[o++] = sep;
        sep = '&';
        h2o_iovec_t k = gw_url_encode(pool, params[i].name, strlen(params[i].name));
        h2o_iovec_t v = gw_url_encode(pool, params[i].value, strlen(params[i].value));
        memcpy(out + o, k.base, k.len);
        o += k.len;
        out[o++] = '=';
        memcpy(out + o, v.base, v.len);
        o += v.len;
    }
    out[o] = '\0';
    return h2o_iovec_init(out, o);
}

/* Appends NUL-terminated `s` to the buffer at *o (the caller sized it). */
static void put(char *buf, size_t *o, const char *s, size_t len)
{
    memcpy(buf + *o, s, len);
    *o += len;
}
#define PUTS(buf, o, lit) put((buf), (o), (lit), sizeof(lit) - 1)

static const char PAGE_HEAD[] = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                                "<meta name=\"referrer\" content=\"no-referrer\">"
                                "<link rel=\"stylesheet\" href=\"/static/regain.css\"><title>";

h2o_iovec_t oidc_az_form_post_html(h2o_mem_pool_t *pool, const char *uri, size_t len,
                                   const oidc_param_t *params, size_t n)
{
    h2o_iovec_t action = oidc_html_escape(pool, uri, len);
    size_t room = sizeof(PAGE_HEAD) + action.len + params_room(params, n) + 1024;
    char *buf = h2o_mem_alloc_pool(pool, room);
    size_t o = 0;
    PUTS(buf, &o, PAGE_HEAD);
    PUTS(buf, &o,
         "Continuing</title><script src=\"/static/form_post.js\" defer></script></head>"
         "<body><main class=\"card\"><form method=\"post\" id=\"form_post\" action=\"");
    put(buf, &o, action.base, action.len);
    PUTS(buf, &o, "\">\n");
    for (size_t i = 0; i < n; i++) {
        if (params[i].value == NULL)
            continue;
        h2o_iovec_t k = oidc_html_escape(pool, params[i].name, strlen(params[i].name));
        h2o_iovec_t v = oidc_html_escape(pool, params[i].value, strlen(params[i].value));
        PUTS(buf, &o, "<input type=\"hidden\" name=\"");
        put(buf, &o, k.base, k.len);
        PUTS(buf, &o, "\" value=\"");
        put(buf, &o, v.base, v.len);
        PUTS(buf, &o, "\">\n");
    }
    PUTS(buf, &o,
         "<p>Sign-in complete. Returning to the application&hellip;</p>"
         "<button type=\"submit\">Continue</button></form></main></body></html>\n");
    buf[o] = '\0';
    return h2o_iovec_init(buf, o);
}

void oidc_reply_form_target(gw_req_t *r, const char *uri, size_t len)
{
    char source[GW_FORM_ACTION_MAX + 1];
    size_t n = uri != NULL ? oidc_redirect_uri_csp_source(uri, len, source, sizeof(source)) : 0;
    if (n > 0)
        gw_reply_form_action(r, source, n);
}

void oidc_az_respond(gw_req_t *r, const oidc_az_request_t *a, const oidc_param_t *params, size_t n)
{
    /* At most 4 callers' parameters plus state and iss. */
    oidc_param_t all[8];
    size_t k = 0;
    for (size_t i = 0; i < n && k < 6; i++)
        all[k++] = params[i];
    all[k++] = (oidc_param_t){"state", a->state.base};
    all[k++] = (oidc_param_t){"iss", oidc_cfg->issuer};
    h2o_mem_pool_t *pool = &r->req->pool;
    if (a->response_mode == OIDC_RM_FORM_POST) {
        h2o_iovec_t page = oidc_az_form_post_html(pool, a->redirect_uri.base, a->redirect_uri.len, all, k);
        /* The form posts to the relying party itself. */
        oidc_reply_form_target(r, a->redirect_uri.base, a->redirect_uri.len);
        gw_reply_html(r, 200, page.base, page.len);
        return;
    }
    h2o_iovec_t url = oidc_az_redirect_url(pool, a->redirect_uri.base, a->redirect_uri.len, all, k);
    /* 303: a POSTed request must become a GET at the client (RFC 9110 §15.4.4). */
    gw_reply_redirect(r, 303, url.base, url.len);
}

void oidc_az_respond_error(gw_req_t *r, const oidc_az_request_t *a, oidc_az_error_t code,
                           const char *description)
{
    oidc_param_t p[2] = {{"error", oidc_az_error_code(code)}, {"error_description", description}};
    oidc_az_respond(r, a, p, 2);
}

void oidc_az_message_page(gw_req_t *r, int status, const char *title, const char *message)
{
    h2o_mem_pool_t *pool = &r->req->pool;
    h2o_iovec_t t = oidc_html_escape(pool, title, strlen(title));
    h2o_iovec_t m = oidc_html_escape(pool, message, strlen(message));
    size_t room = sizeof(PAGE_HEAD) + 2 * t.len + m.len + 256;
    char *buf = h2o_mem_alloc_pool(pool, room);
    size_t o = 0;
    PUTS(buf, &o, PAGE_HEAD);
    put(buf, &o, t.base, t.len);
    PUTS(buf, &o, "</title></head><body><main class=\"card\"><h1>");
    put(buf, &o, t.base, t.len);
    PUTS(buf, &o, "</h1><p>");
    put(buf, &o, m.base, m.len);
    PUTS(buf, &o, "</p></main></body></html>\n");
    gw_reply_html(r, status, buf, o);
}

void oidc_az_error_page(gw_req_t *r, int status, const char *title, const char *message)
{
    if (r->req == NULL)
        return;
    gw_log_write(GW_LOG_INFO, __func__, r->id, "%s: %s", title, message);
    oidc_error_page(r, status, title, message);
}

/* ---- /static/form_post.js --------------------------------------------------- */

static const char FORM_POST_JS[] = "\"use strict\";\n"
                                   "document.addEventListener(\"DOMContentLoaded\", function () {\n"
                                   "  var f = document.getElementById(\"form_post\");\n"
                                   "  if (f) { f.submit(); }\n"
                                   "});\n";

static void on_form_post_js(gw_req_t *r)
{
    gw_reply_header(r, "cache-control", H2O_STRLIT("public, max-age=86400"));
    gw_reply(r, 200, "text/javascript; charset=utf-8", FORM_POST_JS, sizeof(FORM_POST_JS) - 1);
}

static gw_route_t ROUTE_FORM_POST_JS = {"/static/form_post.js", GW_GET, 0, on_form_post_js, NULL, NULL, 0};

void oidc_az_static_register(void)
{
    gw_route_register(&ROUTE_FORM_POST_JS);
}
