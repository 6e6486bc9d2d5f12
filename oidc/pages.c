/* Server-rendered pages of the sign-in area: the sign-in form and a plain
 * error page. No inline script or style anywhere: the page
 * Content-Security-Policy (gateway/http.c) allows only same-origin files, so
 * the look comes from /static/regain.css. */
#include <string.h>

#include "gateway/log.h"

#include "oidc/methods_internal.h"

static void alert(oidc_html_t *h, const char *error)
{
    if (error == NULL || error[0] == '\0')
        return;
    /* WAI-ARIA role=alert: screen readers announce the message when the
     * page loads; the fields point at it with aria-describedby. */
    oidc_html_raw(h, "<p class=\"error\" id=\"signin-error\" role=\"alert\">");
    oidc_html_str(h, error);
    oidc_html_raw(h, "</p>\n");
}

/* The username field: `webauthn` in autocomplete lets the browser offer
 * passkeys in its autofill list (WebAuthn §5.1.4.1 conditional mediation). */
static void username_field(oidc_html_t *h, const char *id, const char *username, const char *describe,
                           int focus, int required)
{
    oidc_html_raw(h, "<input id=\"");
    oidc_html_raw(h, id);
    oidc_html_raw(h, "\" name=\"username\" type=\"text\" autocomplete=\"username webauthn\" "
                     "autocapitalize=\"none\" spellcheck=\"false\" maxlength=\"256\"");
    if (required)
        oidc_html_raw(h, " required");
    oidc_html_raw(h, describe);
    if (username != NULL && username[0] != '\0') {
        oidc_html_raw(h, " value=\"");
        oidc_html_str(h, username);
        oidc_html_raw(h, "\"");
    } else if (focus) {
        oidc_html_raw(h, " autofocus");
    }
    oidc_html_raw(h, ">\n");
}

/* Every form of the page carries the request's box when it is not stored. */
static void pending_field(oidc_html_t *h, const oidc_signin_view_t *v)
{
    if (v->pending != NULL)
        oidc_html_hidden(h, OIDC_PENDING_FIELD, v->pending);
}

/* The password form; `folded` inside the phishing-resistant page's
 * "no passkey yet" section, where the username field has its own id. */
static void password_form(oidc_html_t *h, const oidc_signin_view_t *v, const char *request,
                          const char *describe, int has_user, int folded)
{
    oidc_html_raw(h, "<form method=\"post\" action=\"/login\">\n");
    oidc_html_hidden(h, "request", request);
    pending_field(h, v);
    oidc_html_hidden(h, OIDC_CSRF_FIELD, v->csrf);
    oidc_html_raw(h, folded ? "<label for=\"password-username\">Username</label>\n"
                            : "<label for=\"username\">Username</label>\n");
    username_field(h, folded ? "password-username" : "username", v->username, folded ? "" : describe, !folded,
                   1);
    oidc_html_raw(h, "<label for=\"password\">Password</label>\n"
                     "<input id=\"password\" name=\"password\" type=\"password\" "
                     "autocomplete=\"current-password\" required maxlength=\"1024\"");
    if (!folded) {
        oidc_html_raw(h, describe);
        if (has_user)
            oidc_html_raw(h, " autofocus");
    }
    oidc_html_raw(h, ">\n<button type=\"submit\">Sign in</button>\n</form>\n");
}

h2o_iovec_t oidc_page_signin(h2o_mem_pool_t *pool, const oidc_signin_view_t *v)
{
    oidc_html_t h;
    oidc_html_init(&h, pool);
    const char *request = v->request_id ? v->request_id : "";
    const int passkey_only = v->need >= OIDC_ACR_LEVEL_PHISHING_RESISTANT;
    oidc_html_page_open(&h, "Sign in", OIDC_PAGE_SCRIPT);
    oidc_html_raw(&h, "<h1>Sign in</h1>\n");
    if (v->notice != NULL) {
        oidc_html_raw(&h, "<p class=\"notice\">");
        oidc_html_str(&h, v->notice);
        oidc_html_raw(&h, "</p>\n");
    }
    alert(&h, v->error);
    const int has_user = v->username != NULL && v->username[0] != '\0';
    const char *describe =
        v->error != NULL && v->error[0] != '\0' ? " aria-describedby=\"signin-error\"" : "";
    /* A request for phishing-resistant sign-in puts the passkey first; the
     * password and the code stay, folded, for someone who has no passkey
     * yet: signing in with them never answers that request (oidc/acr.c),
     * but leads to the account page to add one (authorize.c, on_acr_reach). */
    if (passkey_only) {
        oidc_html_raw(&h, "<label for=\"username\">Username (optional with a passkey)</label>\n");
        username_field(&h, "username", v->username, describe, 1, 0);
    } else {
        password_form(&h, v, request, describe, has_user, 0);
    }
    /* Shown by /static/passkey.js when the browser supports passkeys. */
    oidc_html_raw(&h, "<div id=\"passkey\" class=\"alt\" data-request=\"");
    oidc_html_str(&h, request);
    oidc_html_raw(&h, "\" data-csrf=\"");
    oidc_html_str(&h, v->csrf);
    if (v->pending != NULL) {
        oidc_html_raw(&h, "\" data-pending=\"");
        oidc_html_str(&h, v->pending);
    }
    oidc_html_raw(&h, "\" hidden>\n<button type=\"button\" id=\"passkey-signin\" class=\"secondary\">"
                      "Sign in with a passkey</button>\n"
                      "<p id=\"passkey-status\" class=\"status\" role=\"status\"></p>\n</div>\n");
    if (passkey_only)
        oidc_html_raw(&h,
                      "<noscript><p class=\"error\">Signing in with a passkey needs JavaScript.</p>"
                      "</noscript>\n"
                      "<details id=\"no-passkey\">\n<summary>No passkey yet? Sign in with your password to "
                      "add one</summary>\n");
    if (passkey_only)
        password_form(&h, v, request, describe, has_user, 1);
    oidc_html_raw(&h, "<details>\n<summary>Use a code from an authenticator app</summary>\n"
                      "<p>For accounts without a password.</p>\n"
                      "<form method=\"post\" action=\"/login/code\">\n");
    oidc_html_hidden(&h, "request", request);
    pending_field(&h, v);
    oidc_html_hidden(&h, OIDC_CSRF_FIELD, v->csrf);
    oidc_html_raw(&h, "<label for=\"code-username\">Username</label>\n");
    username_field(&h, "code-username", v->username, "", 0, 1);
    oidc_html_raw(&h, "<label for=\"code-only\">Code</label>\n"
                      "<input id=\"code-only\" name=\"code\" type=\"text\" inputmode=\"numeric\" "
                      "autocomplete=\"one-time-code\" pattern=\"[0-9 ]*\" maxlength=\"16\" required>\n"
                      "<button type=\"submit\">Sign in with a code</button>\n</form>\n</details>\n");
    if (passkey_only)
        oidc_html_raw(&h, "</details>\n");
    /* A Temporary Access Pass: its own form, handled by POST /login/tap. */
    oidc_html_raw(&h, "<details>\n<summary>Sign in with a temporary access pass</summary>\n"
                      "<form method=\"post\" action=\"/login/tap\">\n");
    oidc_html_hidden(&h, "request", request);
    pending_field(&h, v);
    oidc_html_hidden(&h, OIDC_CSRF_FIELD, v->tap_csrf ? v->tap_csrf : v->csrf);
    /* Whose pass it is: wrong passes are counted against that account, whose
     * pass locks after the policy's number (tap_redeem). Prefilled from
     * login_hint; optional, and the answer is the same for any name. */
    oidc_html_raw(&h, "<label for=\"tap-username\">Username</label>\n"
                      "<input id=\"tap-username\" name=\"username\" type=\"text\" autocomplete=\"username\" "
                      "autocapitalize=\"none\" spellcheck=\"false\" maxlength=\"256\"");
    if (has_user) {
        oidc_html_raw(&h, " value=\"");
        oidc_html_str(&h, v->username);
        oidc_html_raw(&h, "\"");
    }
    oidc_html_raw(&h, ">\n");
    oidc_html_raw(&h, "<label for=\"tap\">Temporary access pass</label>\n"
                      "<input id=\"tap\" name=\"tap\" type=\"text\" autocomplete=\"off\" "
                      "autocapitalize=\"characters\" spellcheck=\"false\" maxlength=\"128\" required>\n"
                      "<button type=\"submit\">Continue</button>\n</form>\n</details>\n");
    /* Verified self-service recovery (oidc/recovery.c) for this request. */
    if (request[0] != '\0') {
        oidc_html_raw(&h, "<p class=\"recover\"><a href=\"/recover?request=");
        oidc_html_str(&h, request);
        if (v->pending != NULL) { /* base64url: nothing to encode in a query */
            oidc_html_raw(&h, "&amp;" OIDC_PENDING_FIELD "=");
            oidc_html_str(&h, v->pending);
        }
        oidc_html_raw(&h, "\">Can\xe2\x80\x99t sign in? Recover your account</a></p>\n");
    }
    return oidc_html_page_close(&h);
}

h2o_iovec_t oidc_page_code(h2o_mem_pool_t *pool, const oidc_code_view_t *v)
{
    oidc_html_t h;
    oidc_html_init(&h, pool);
    oidc_html_page_open(&h, "Enter your code", 0);
    oidc_html_raw(&h, "<h1>Enter your code</h1>\n<p>Open your authenticator app and enter the 6-digit code "
                      "it shows for this account.</p>\n");
    alert(&h, v->error);
    oidc_html_raw(&h, "<form method=\"post\" action=\"/login/code\">\n");
    oidc_html_hidden(&h, "request", OIDC_CONTEXT_IS_REQUEST(v->context) ? v->context : "");
    oidc_html_hidden(&h, OIDC_CSRF_FIELD, v->csrf);
    if (v->step != NULL)
        oidc_html_hidden(&h, "step", v->step);
    if (v->username != NULL)
        oidc_html_hidden(&h, "username", v->username);
    oidc_html_raw(&h,
                  "<label for=\"code\">Code</label>\n"
                  "<input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" "
                  "autocomplete=\"one-time-code\" pattern=\"[0-9 ]*\" maxlength=\"16\" required autofocus");
    if (v->error != NULL && v->error[0] != '\0')
        oidc_html_raw(&h, " aria-describedby=\"signin-error\"");
    oidc_html_raw(&h, ">\n<button type=\"submit\">Continue</button>\n</form>\n");
    return oidc_html_page_close(&h);
}

h2o_iovec_t oidc_page_error(h2o_mem_pool_t *pool, const char *title, const char *message)
{
    oidc_html_t h;
    oidc_html_init(&h, pool);
    oidc_html_page_open(&h, title, 0);
    oidc_html_raw(&h, "<h1>");
    oidc_html_str(&h, title);
    oidc_html_raw(&h, "</h1>\n<p role=\"alert\">");
    oidc_html_str(&h, message);
    oidc_html_raw(&h, "</p>\n");
    return oidc_html_page_close(&h);
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

/* `redirect_uri`: where the request's answer goes (base NULL: none, the
 * account page), for the page's form-action: the forms' answer may be a
 * 303 there (login.c, totp_signin.c). */
static void render_signin(gw_req_t *r, const char *context, const char *sealed, const char *login_hint,
                          const char *error, int need, const char *notice, h2o_iovec_t redirect_uri)
{
    h2o_iovec_t cookie = oidc_csrf_cookie_get_or_set(r);
    char token[OIDC_CSRF_TOKEN_LEN + 1];
    oidc_csrf_token(cookie.base, cookie.len, context, token);
    /* A login_hint is a hint (OIDC Core §3.1.2.1): shown, never trusted. */
    const char *user = login_hint;
    if (user != NULL && strlen(user) > OIDC_USERNAME_MAX_BYTES)
        user = NULL;
    /* POST /login/tap binds its token to the request, or to "" without one. */
    char tap_token[OIDC_CSRF_TOKEN_LEN + 1];
    oidc_csrf_token(cookie.base, cookie.len, OIDC_CONTEXT_IS_REQUEST(context) ? context : "", tap_token);
    oidc_signin_view_t v = {OIDC_CONTEXT_IS_REQUEST(context) ? context : NULL,
                            token,
                            user,
                            error,
                            need,
                            notice,
                            tap_token,
                            sealed};
    h2o_iovec_t page = oidc_page_signin(&r->req->pool, &v);
    no_store(r);
    oidc_reply_form_target(r, redirect_uri.base, redirect_uri.len);
    gw_reply_html(r, 200, page.base, page.len);
}

typedef struct {
    char request_id[OIDC_UUID_LEN + 1];
    const char *hint;
    const char *error;
} signin_page_t;

/* The page for a live request whose login_hint, acr_values and claims are
 * known: a step-up says why the user is asked again and what will do. */
static void render_for_request(gw_req_t *r, const char *request_id, const char *sealed, const char *hint,
                               const char *error, const char *acr, size_t acr_len, const char *claims,
                               size_t claims_len, h2o_iovec_t redirect_uri)
{
    int need = oidc_acr_needed(acr, acr_len, claims, claims_len);
    const char *notice = NULL;
    if (need >= OIDC_ACR_LEVEL_PHISHING_RESISTANT)
        notice = "This application asks you to sign in with a passkey.";
    else if (need == OIDC_ACR_LEVEL_MFA)
        notice = "This application asks for two-step sign-in: a passkey, or your password and a code from "
                 "your authenticator app.";
    render_signin(r, request_id, sealed, hint, error, need, notice, redirect_uri);
}

static void on_request_loaded(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    signin_page_t *p = data;
    if (res == NULL) {
        gw_log_write(GW_LOG_ERROR, "signin", r->id, "database: %s (%s)", err ? err->public : "?",
                     err ? err->detail : "");
        gw_reply_header(r, "retry-after", H2O_STRLIT("5"));
        oidc_error_page(r, 503, "Sign-in unavailable",
                        "Sign-in is unavailable right now. Try again in a moment.");
        return;
    }
    if (PQntuples(res) != 1) {
        oidc_error_page(
            r, 400, "Sign-in request expired",
            "This sign-in request has expired or is not known. Go back to the application and start "
            "again.");
        return;
    }
    const char *hint = p->hint;
    if (hint == NULL && store_value(res, 0, 0) != NULL)
        hint = gw_req_strdup(r, store_value(res, 0, 0), strlen(store_value(res, 0, 0))).base;
    const char *acr = store_value(res, 0, 1), *claims = store_value(res, 0, 2), *uri = store_value(res, 0, 3);
    render_for_request(r, p->request_id, NULL, hint, p->error, acr, acr ? strlen(acr) : 0, claims,
                       claims ? strlen(claims) : 0, h2o_iovec_init(uri, uri ? strlen(uri) : 0));
}

void oidc_signin_page_new(gw_req_t *r, const char *request_id, const char *sealed, const char *login_hint,
                          const char *acr_values, size_t acr_len, const char *claims, size_t claims_len,
                          h2o_iovec_t redirect_uri)
{
    if (r->req == NULL)
        return;
    if (request_id == NULL || !oidc_uuid_ok(request_id, strlen(request_id))) {
        oidc_signin_link_invalid(r);
        return;
    }
    oidc_context_t id;
    oidc_context_parse(request_id, OIDC_UUID_LEN, id);
    render_for_request(r, id, sealed, login_hint, NULL, acr_values, acr_values ? acr_len : 0, claims,
                       claims ? claims_len : 0, redirect_uri);
}

void oidc_signin_page(gw_req_t *r, const char *request_id, const char *login_hint, const char *error)
{
    oidc_signin_page_pending(r, request_id, h2o_iovec_init(NULL, 0), login_hint, error);
}

void oidc_signin_page_pending(gw_req_t *r, const char *request_id, h2o_iovec_t sealed, const char *login_hint,
                              const char *error)
{
    if (r->req == NULL)
        return;
    if (request_id == NULL || !oidc_uuid_ok(request_id, strlen(request_id))) {
        oidc_signin_link_invalid(r);
        return;
    }
    /* The pending request says what the relying party asks for (acr). */
    signin_page_t *p = gw_req_alloc(r, sizeof(*p));
    oidc_context_parse(request_id, OIDC_UUID_LEN, p->request_id);
    p->hint = login_hint ? gw_req_strdup(r, login_hint, strlen(login_hint)).base : NULL;
    p->error = error ? gw_req_strdup(r, error, strlen(error)).base : NULL;
    oidc_pending_live_query(r, p->request_id, sealed, on_request_loaded, p);
}

void oidc_signin_page_account(gw_req_t *r, const char *username, const char *error)
{
    if (r->req == NULL)
        return;
    render_signin(r, OIDC_CONTEXT_ACCOUNT, NULL, username, error, 0, "Sign in to manage how you sign in.",
                  h2o_iovec_init(NULL, 0));
}

void oidc_code_page(gw_req_t *r, const char *context, const char *step, const char *username,
                    const char *error)
{
    if (r->req == NULL)
        return;
    h2o_iovec_t cookie = oidc_csrf_cookie_get_or_set(r);
    char token[OIDC_CSRF_TOKEN_LEN + 1];
    oidc_csrf_token(cookie.base, cookie.len, context, token);
    oidc_code_view_t v = {context, token, step, username, error};
    oidc_page_reply_for_request(r, context, oidc_page_code(&r->req->pool, &v));
}

/* ---- pages whose forms may end at the relying party -------------------------------- */

typedef struct {
    h2o_iovec_t page;
} target_page_t;

static void on_target(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    target_page_t *t = data;
    const char *uri = res != NULL && PQntuples(res) == 1 ? store_value(res, 0, 3) : NULL;
    if (res == NULL) /* the page still goes out, with the default form-action */
        gw_log_write(GW_LOG_WARN, "signin", r->id, "request's redirect URI not read: %s (%s)",
                     err ? err->public : "?", err ? err->detail : "");
    oidc_reply_form_target(r, uri, uri ? strlen(uri) : 0);
    no_store(r);
    gw_reply_html(r, 200, t->page.base, t->page.len);
}

void oidc_page_reply_for_request(gw_req_t *r, const char *request_id, h2o_iovec_t page)
{
    if (r->req == NULL)
        return;
    if (request_id == NULL || !oidc_uuid_ok(request_id, strlen(request_id))) {
        no_store(r);
        gw_reply_html(r, 200, page.base, page.len);
        return;
    }
    target_page_t *t = gw_req_alloc(r, sizeof(*t));
    t->page = page;
    const char *params[1] = {request_id};
    gw_req_query(r, &oidc_stmt_authz_request_live, params, on_target, t);
}
