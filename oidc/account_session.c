/* The account security page's gate: which session may open it.
 *
 * A normal session must be recent (oidc.account_reauth_s, a few minutes):
 * adding or removing a way to sign in is what an attacker with a stolen or
 * forgotten-open session would do first, so it asks for the sign-in again
 * (NIST SP 800-63B §4.2.3 / OWASP ASVS V2.2: re-authenticate before changing
 * authenticators). A session from a Temporary Access Pass (purpose
 * 'register_method') exists only to register a method and is bounded by its
 * TAP, so it may open this page, and nothing else, for its whole life.
 *
 * Adding, renaming or removing a method also needs a sign-in as strong as
 * the account's methods allow (oidc_account_t.may_change): otherwise a
 * phished password would add the phisher's passkey to an account that has
 * one, and with it pass any phishing-resistant request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/log.h"
#include "oidc/methods_internal.h"

#define MSG_AGAIN "To change how you sign in, sign in again first."

typedef struct {
    int json;
    oidc_account_cb cb;
    void *data;
} gate_t;

static void deny(gw_req_t *r, int json, const char *msg)
{
    if (json) {
        /* 403, not 401: a 401 owes a WWW-Authenticate challenge (RFC 9110
         * §15.5.2), and a session cookie is no HTTP authentication scheme. */
        oidc_json_fail(r, 403, "login_required", "sign in again to change your sign-in methods");
        return;
    }
    oidc_signin_page_account(r, NULL, msg);
}

static char *copy(gw_req_t *r, const char *s)
{
    return gw_req_strdup(r, s ? s : "", s ? strlen(s) : 0).base;
}

static void on_row(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    gate_t *g = data;
    if (res == NULL) {
        gw_log_write(GW_LOG_ERROR, "account", r->id, "database: %s (%s)", err ? err->public : "?",
                     err ? err->detail : "");
        if (g->json) {
            oidc_json_fail(r, 503, "temporarily_unavailable", "try again in a moment");
            return;
        }
        gw_reply_header(r, "retry-after", H2O_STRLIT("5"));
        oidc_error_page(r, 503, "Unavailable", "This page is unavailable right now. Try again in a moment.");
        return;
    }
    if (PQntuples(res) != 1) {
        deny(r, g->json, NULL);
        return;
    }
    oidc_account_t *a = gw_req_alloc(r, sizeof(*a));
    memset(a, 0, sizeof(*a));
    snprintf(a->id, sizeof(a->id), "%s", store_value(res, 0, 0));
    snprintf(a->user_id, sizeof(a->user_id), "%s", store_value(res, 0, 1));
    a->age_s = strtoll(store_value(res, 0, 2), NULL, 10);
    a->register_only = strcmp(store_value(res, 0, 3), "register_method") == 0;
    a->user_name = copy(r, store_value(res, 0, 4));
    a->display_name = copy(r, store_value(res, 0, 5));
    a->has_password = store_value(res, 0, 6)[0] == 't';
    /* A TAP's sessions (also once a method is registered, and also when the
     * TAP row is gone: its acr stays) may register whatever the account has. */
    const char *acr = store_value(res, 0, 7);
    const int from_tap =
        store_value(res, 0, 8)[0] == 't' ||
        (acr != NULL && (strcmp(acr, OIDC_ACR_TAP) == 0 || strcmp(acr, OIDC_ACR_VERIFIED_RECOVERY) == 0));
    a->may_change = a->register_only || from_tap || oidc_acr_level(acr) >= atoi(store_value(res, 0, 9));
    if (!a->register_only && a->age_s > (int64_t)oidc_cfg->oidc.account_reauth_s) {
        gw_log_write(GW_LOG_INFO, "account", r->id, "session %s signed in %llds ago: sign in again", a->id,
                     (long long)a->age_s);
        deny(r, g->json, MSG_AGAIN);
        return;
    }
    a->csrf_cookie = oidc_csrf_cookie_get_or_set(r);
    /* The account forms' token is bound to the session, so a form from
     * before a sign-in does not work after it. */
    oidc_csrf_token(a->csrf_cookie.base, a->csrf_cookie.len, a->id, a->csrf);
    g->cb(r, a, g->data);
}

void oidc_account_require(gw_req_t *r, int json, oidc_account_cb cb, void *data)
{
    h2o_iovec_t v;
    if (!gw_req_cookie(r, OIDC_SESSION_COOKIE, &v) || !oidc_secret_format_ok(v.base, v.len)) {
        deny(r, json, NULL);
        return;
    }
    gate_t *g = gw_req_alloc(r, sizeof(*g));
    g->json = json;
    g->cb = cb;
    g->data = data;
    char *hash = gw_req_alloc(r, GW_SECRET_HASH_HEX_LEN + 1);
    gw_secret_hash_hex(v.base, v.len, hash);
    const char *params[1] = {hash};
    gw_req_query(r, &oidc_stmt_account_session, params, on_row, g);
}

int oidc_account_csrf_ok(const oidc_account_t *a, const char *field, size_t len)
{
    return oidc_csrf_ok(a->csrf_cookie.base, a->csrf_cookie.len, a->id, field, len);
}
