/* Server-rendered pages of the sign-in area: the sign-in form and a plain
 * error page. No inline script or style anywhere: the page
 * Content-Security-Policy (gateway/http.c) allows only same-origin files, so
 * the look comes from /static/regain.css. */
#include <string.h>

#include "oidc/signin_internal.h"

static void head(oidc_html_t *h, const char *title)
{
    /* HTML Living Standard §4.2.5.4 (charset first, within 1024 bytes); the
     * viewport meta makes the form readable on a phone (CSS Device Adaptation). */
    oidc_html_raw(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                     "<meta name=\"referrer\" content=\"no-referrer\">\n<title>");
    oidc_html_str(h, title);
    oidc_html_raw(h, " \xe2\x80\x93 regain</title>\n<link rel=\"stylesheet\" href=\"/static/regain.css\">\n"
                     "</head>\n<body>\n<main class=\"card\">\n");
}

static h2o_iovec_t finish(oidc_html_t *h)
{
    oidc_html_raw(h, "</main>\n</body>\n</html>\n");
    return h2o_iovec_init(h->buf, h->len);
}

h2o_iovec_t oidc_page_signin(h2o_mem_pool_t *pool, const oidc_signin_view_t *v)
{
    oidc_html_t h;
    oidc_html_init(&h, pool);
    head(&h, "Sign in");
    oidc_html_raw(&h, "<h1>Sign in</h1>\n");
    if (v->error != NULL && v->error[0] != '\0') {
        /* WAI-ARIA role=alert: screen readers announce the message when the
         * page loads; the fields point at it with aria-describedby. */
        oidc_html_raw(&h, "<p class=\"error\" id=\"signin-error\" role=\"alert\">");
        oidc_html_str(&h, v->error);
        oidc_html_raw(&h, "</p>\n");
    }
    oidc_html_raw(&h, "<form method=\"post\" action=\"/login\">\n"
                      "<input type=\"hidden\" name=\"request\" value=\"");
    oidc_html_str(&h, v->request_id);
    oidc_html_raw(&h, "\">\n<input type=\"hidden\" name=\"" OIDC_CSRF_FIELD "\" value=\"");
    oidc_html_str(&h, v->csrf);
    oidc_html_raw(&h, "\">\n<label for=\"username\">Username</label>\n"
                      "<input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" "
                      "autocapitalize=\"none\" spellcheck=\"false\" required maxlength=\"256\"");
    const int has_user = v->username != NULL && v->username[0] != '\0';
    const char *describe =
        v->error != NULL && v->error[0] != '\0' ? " aria-describedby=\"signin-error\"" : "";
    oidc_html_raw(&h, describe);
    if (has_user) {
        oidc_html_raw(&h, " value=\"");
        oidc_html_str(&h, v->username);
        oidc_html_raw(&h, "\"");
    } else {
        oidc_html_raw(&h, " autofocus");
    }
    oidc_html_raw(&h, ">\n<label for=\"password\">Password</label>\n"
                      "<input id=\"password\" name=\"password\" type=\"password\" "
                      "autocomplete=\"current-password\" required maxlength=\"1024\"");
    oidc_html_raw(&h, describe);
    if (has_user)
        oidc_html_raw(&h, " autofocus");
    oidc_html_raw(&h, ">\n<button type=\"submit\">Sign in</button>\n</form>\n");
    return finish(&h);
}

h2o_iovec_t oidc_page_error(h2o_mem_pool_t *pool, const char *title, const char *message)
{
    oidc_html_t h;
    oidc_html_init(&h, pool);
    head(&h, title);
    oidc_html_raw(&h, "<h1>");
    oidc_html_str(&h, title);
    oidc_html_raw(&h, "</h1>\n<p role=\"alert\">");
    oidc_html_str(&h, message);
    oidc_html_raw(&h, "</p>\n");
    return finish(&h);
}

/* Pages carry a CSRF token or a one-off message: never cached (RFC 9111 §5.2.2.5). */
static void no_store(gw_req_t *r)
{
    if (r->route == NULL || !(r->route->flags & GW_ROUTE_NO_STORE))
        gw_reply_header(r, "cache-control", H2O_STRLIT("no-store"));
}

void oidc_error_page(gw_req_t *r, int status, const char *title, const char *message)
{
    if (r->req == NULL)
        return;
    h2o_iovec_t page = oidc_page_error(&r->req->pool, title, message);
    no_store(r);
    gw_reply_html(r, status, page.base, page.len);
}

void oidc_signin_page(gw_req_t *r, const char *request_id, const char *login_hint, const char *error)
{
    if (r->req == NULL)
        return;
    if (request_id == NULL || !oidc_uuid_ok(request_id, strlen(request_id))) {
        oidc_error_page(r, 400, "Sign-in request not found",
                        "This sign-in link is not valid. Go back to the application and start again.");
        return;
    }
    h2o_iovec_t cookie = oidc_csrf_cookie_get_or_set(r);
    char token[OIDC_CSRF_TOKEN_LEN + 1];
    oidc_csrf_token(cookie.base, cookie.len, request_id, token);
    /* A login_hint is a hint (OIDC Core §3.1.2.1): shown, never trusted. */
    const char *user = login_hint;
    if (user != NULL && strlen(user) > OIDC_USERNAME_MAX)
        user = NULL;
    oidc_signin_view_t v = {request_id, token, user, error};
    h2o_iovec_t page = oidc_page_signin(&r->req->pool, &v);
    no_store(r);
    gw_reply_html(r, 200, page.base, page.len);
}
