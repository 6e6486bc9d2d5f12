/* POST /login/tap: sign-in with a Temporary Access Pass.
 *
 * In order: form and CSRF token (csrf.c; bound to the sign-in context: the
 * `request` field, or OIDC_CONTEXT_ACCOUNT without one) -> the pending authorization request, when named, is
 * still live (its login_hint names whom a wrong TAP counts against, unless the form has `username`) -> the
 * TAP is normalised and hashed -> one statement (OIDC_STMT_TAP_REDEEM: tap_redeem, schema/031) checks the
 * address lock, redeems the TAP atomically, creates the session, ends the browser's previous one (as every
 * sign-in does) and records the audit event -> cookie and 303 to the account security page.
 *
 * The session's purpose is 'register_method': it opens the account security
 * page only, and /authorize sends it back there until a method is
 * registered. It never outlives the TAP; from a one-time TAP it lasts at most
 * OIDC_TAP_ONCE_SESSION_S.
 *
 * The TAP is never logged; a log line names the outcome and, on success, the
 * user and session ids. Every failure shows the same message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/alloc.h"
#include "gateway/log.h"
#include "oidc/methods_internal.h"
#include "oidc/tap_internal.h"

#define MSG_FAILED                                                                                           \
    "That Temporary Access Pass is not valid: it may be mistyped, expired or already used. Check it and "    \
    "try "                                                                                                   \
    "again, or ask for a new one. After too many wrong attempts, sign-in with a pass is paused."
#define MSG_MISSING "Enter your Temporary Access Pass."

typedef struct {
    oidc_context_t context; /* the request id, or OIDC_CONTEXT_ACCOUNT */
    const char *username;   /* may be NULL */
    char hash[GW_SECRET_HASH_HEX_LEN + 1];
    /* The new session's cookie (wiped once set), the previous one's hash,
     * the address and user agent, as every sign-in by a method has them. */
    oidc_session_params_t sp;
    h2o_iovec_t pending; /* the sign-in page's box of the request (pending.c), or empty */
} tap_login_t;

static void log_line(gw_req_t *r, gw_log_level_t level, const char *what)
{
    gw_log_write(level, "signin_tap", r->id, "%s", what);
}

static void page_unavailable(gw_req_t *r, const gw_err_t *err)
{
    gw_log_write(GW_LOG_ERROR, "signin_tap", r->id, "database: %s (%s)", err ? err->public : "?",
                 err ? err->detail : "");
    gw_reply_header(r, "retry-after", H2O_STRLIT("5"));
    oidc_error_page(r, 503, "Sign-in unavailable",
                    "Sign-in is unavailable right now. Try again in a moment.");
}

/* The request's pool may be freed without a callback (the client went
 * away): the session token is wiped then too. */
static void tap_login_dispose(void *p)
{
    tap_login_t *t = p;
    gw_wipe(t->sp.token, sizeof(t->sp.token));
}

/* The sign-in page again with a message, for the request or the account page. */
static void page_failed(gw_req_t *r, tap_login_t *t, const char *msg)
{
    /* The name typed comes back as typed, whether it is an account or not. */
    if (OIDC_CONTEXT_IS_REQUEST(t->context))
        oidc_signin_page_pending(r, t->context, t->pending, t->username, msg);
    else
        oidc_signin_page_account(r, t->username, msg);
}

/* ---- step 3: redeemed ------------------------------------------------------------------------ */

static void on_redeemed(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    tap_login_t *t = data;
    if (res == NULL || PQntuples(res) != 1) {
        page_unavailable(r, err);
        return;
    }
    const char *status = store_value(res, 0, 0);
    if (status == NULL || strcmp(status, "ok") != 0) {
        gw_wipe(t->sp.token, sizeof(t->sp.token));
        gw_log_write(GW_LOG_INFO, "signin_tap", r->id, "refused: %s", status ? status : "no status");
        page_failed(r, t, MSG_FAILED);
        return;
    }
    /* The cookie lives as long as the row (at most the TAP). A fresh token
     * at every sign-in defeats session fixation. */
    const char *ttl = store_value(res, 0, 4);
    long long max_age = ttl ? strtoll(ttl, NULL, 10) : 0;
    oidc_session_cookie_set(r, t->sp.token, max_age > 0 ? max_age : 1);
    gw_wipe(t->sp.token, sizeof(t->sp.token));
    gw_log_write(GW_LOG_INFO, "signin_tap", r->id, "signed in with a TAP: user %s session %s tap %s",
                 store_value(res, 0, 2), store_value(res, 0, 1), store_value(res, 0, 3));
    char location[sizeof(OIDC_ACCOUNT_SECURITY_PATH "?request=") + OIDC_UUID_LEN];
    int n = OIDC_CONTEXT_IS_REQUEST(t->context)
                ? snprintf(location, sizeof(location), OIDC_ACCOUNT_SECURITY_PATH "?request=%s", t->context)
                : snprintf(location, sizeof(location), OIDC_ACCOUNT_SECURITY_PATH);
    /* 303: the next page is fetched with GET, so a reload never re-posts. */
    gw_reply_redirect(r, 303, location, (size_t)n);
}

static void redeem(gw_req_t *r, tap_login_t *t)
{
    char num[4][16];
    /* Mints the token; the cookie the browser sent, if any, names the
     * session that the new one replaces. */
    oidc_session_params_new(r, &t->sp);
    snprintf(num[0], sizeof(num[0]), "%d", OIDC_TAP_ONCE_SESSION_S);
    snprintf(num[1], sizeof(num[1]), "%u", oidc_cfg->oidc.throttle_window_s);
    snprintf(num[2], sizeof(num[2]), "%u", oidc_cfg->oidc.throttle_addr_max_failures);
    snprintf(num[3], sizeof(num[3]), "%u", oidc_cfg->oidc.throttle_lockout_s);
    const char *params[11] = {t->hash,
                              t->username,
                              t->sp.peer,
                              t->sp.user_agent,
                              t->sp.hash,
                              t->sp.ttl,
                              num[0],
                              num[1],
                              num[2],
                              num[3],
                              t->sp.has_old ? t->sp.old_hash : NULL};
    gw_req_query(r, &OIDC_STMT_TAP_REDEEM, params, on_redeemed, t);
}

/* ---- step 2: the authorization request --------------------------------------------------- */

static void on_request_checked(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    tap_login_t *t = data;
    if (res == NULL) {
        page_unavailable(r, err);
        return;
    }
    if (PQntuples(res) != 1) {
        /* Checked before the TAP is spent, so an expired request costs no pass. */
        oidc_error_page(
            r, 400, "Sign-in request expired",
            "This sign-in request has expired or is not known. Go back to the application and start "
            "again.");
        return;
    }
    const char *hint = store_value(res, 0, 0);
    if (t->username == NULL && hint != NULL)
        t->username = gw_req_strdup(r, hint, strlen(hint)).base;
    redeem(r, t);
}

/* ---- step 1: the form ------------------------------------------------------------------------ */

static void on_post(gw_req_t *r)
{
    gw_kvs_t form;
    if (gw_req_form_or_reply(r, &form) != 0)
        return;
    h2o_iovec_t request, csrf, tap, username, pending;
    if (oidc_signin_field(r, &form, "request", &request) ||
        oidc_signin_field(r, &form, OIDC_CSRF_FIELD, &csrf) || oidc_signin_field(r, &form, "tap", &tap) ||
        oidc_signin_field(r, &form, "username", &username) ||
        oidc_signin_field(r, &form, OIDC_PENDING_FIELD, &pending))
        return;
    tap_login_t *t = h2o_mem_alloc_shared(&r->req->pool, sizeof(*t), tap_login_dispose);
    memset(t, 0, sizeof(*t));
    if (oidc_context_parse(request.base, request.len, t->context) != 0) {
        oidc_signin_link_invalid(r);
        return;
    }
    /* Without a request the token is bound to the account context, or (as
     * oidc/internal.h first described it) to "": both are HMACs of this
     * browser's cookie under the server key, equally unforgeable. */
    h2o_iovec_t cookie;
    int has_cookie = gw_req_cookie(r, OIDC_CSRF_COOKIE, &cookie);
    if (!has_cookie || !(oidc_csrf_ok(cookie.base, cookie.len, t->context, csrf.base, csrf.len) ||
                         (!OIDC_CONTEXT_IS_REQUEST(t->context) &&
                          oidc_csrf_ok(cookie.base, cookie.len, "", csrf.base, csrf.len)))) {
        if (tap.base != NULL)
            gw_wipe(tap.base, tap.len);
        log_line(r, GW_LOG_WARN, "refused: CSRF token missing or wrong");
        oidc_error_page(
            r, 403, "Sign-in form expired",
            "This sign-in form has expired or did not come from this site. Go back and start again.");
        return;
    }
    if (pending.base != NULL)
        t->pending = pending;
    if (tap.base == NULL) {
        page_failed(r, t, MSG_MISSING);
        return;
    }
    /* Whatever was typed is hashed: a malformed entry is a wrong TAP like
     * any other and is counted the same way; its hash matches nothing. */
    char norm[OIDC_TAP_LENGTH_MAX + 1];
    int n = oidc_tap_normalise(tap.base, tap.len, norm);
    if (n > 0)
        oidc_tap_hash_hex(norm, (size_t)n, t->hash);
    else
        gw_secret_hash_hex(tap.base, tap.len < OIDC_TAP_INPUT_MAX ? tap.len : OIDC_TAP_INPUT_MAX, t->hash);
    gw_wipe(norm, sizeof(norm));
    gw_wipe(tap.base, tap.len);
    /* An empty field names nobody (the request's login_hint may, below). */
    if (username.base != NULL && username.len > 0 && username.len <= OIDC_USERNAME_MAX_BYTES)
        t->username = gw_req_strdup(r, username.base, username.len).base;
    if (OIDC_CONTEXT_IS_REQUEST(t->context)) {
        /* The request is stored from the page's box, if it is not yet. */
        oidc_pending_live_query(r, t->context, t->pending, on_request_checked, t);
    } else {
        redeem(r, t);
    }
}

static gw_route_t ROUTE_TAP_SIGNIN = {
    OIDC_TAP_SIGNIN_PATH, GW_POST, GW_ROUTE_HTML | GW_ROUTE_NO_STORE, on_post, NULL, NULL, 0};

void oidc_tap_signin_register(void)
{
    gw_route_register(&ROUTE_TAP_SIGNIN);
}

void oidc_tap_register(const gw_config_t *cfg)
{
    (void)cfg;
    oidc_tap_db_register();
    oidc_tap_signin_register();
    oidc_admin_tap_register();
    oidc_admin_policy_register();
    oidc_admin_audit_register();
}
