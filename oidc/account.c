/* GET /account/security: the user's sign-in methods, with their names and
 * last use; POST .../remove and .../rename. Adding methods is in
 * totp_enrol.c and passkey_register.c.
 *
 * Every POST re-checks the gate (account_session.c) and the CSRF token,
 * then answers 303 back to the page with a message code (`m`), so a reload
 * never repeats a change (RFC 9110 §15.4.4). The last method is not removed
 * unless oidc.allow_remove_last_method says so: a user without any way to
 * sign in would need a recovery to get back (user_method_remove, schema). */
#include <stdio.h>
#include <string.h>

#include "gateway/alloc.h"
#include "gateway/log.h"
#include "oidc/methods_internal.h"

typedef struct {
    const char *code;
    const char *text;
    int error;
    int acr; /* sent by /authorize/resume: the request needs a method the account lacks */
} message_t;

static const message_t MESSAGES[] = {
    {"passkey-added", "Your passkey was added.", 0, 0},
    {"totp-added", "Your authenticator app was added.", 0, 0},
    {"removed", "The sign-in method was removed.", 0, 0},
    {"renamed", "The sign-in method was renamed.", 0, 0},
    {"last", "This is your last way to sign in, so it cannot be removed. Add another method first.", 1, 0},
    {"gone", "That sign-in method no longer exists.", 1, 0},
    {"expired", "That authenticator app set-up expired. Start again.", 1, 0},
    {"too-many-apps",
     "Your account has as many authenticator apps as it can hold. To add another, remove one first.", 1, 0},
    {"register-first",
     "Add a passkey or an authenticator app first. Then you can rename or remove the others.", 1, 0},
    {"stronger-first",
     "To add, rename or remove a sign-in method, sign in with your strongest one first: your passkey, or "
     "your password and authenticator app.",
     1, 0},
    {"acr-mfa",
     "The application you are signing in to asks for two-step sign-in, and your account has no second "
     "step yet. Add a passkey or an authenticator app; then sign in with it to continue.",
     0, 1},
    {"acr-pr",
     "The application you are signing in to asks you to sign in with a passkey, and your account has none "
     "yet. Add one; then sign in with it to continue.",
     0, 1},
};

typedef struct {
    const char *request; /* uuid or NULL */
    const char *message;
    const char *error;
    int offer_unmet; /* an acr message: offer to go back without it */
    /* POST */
    const char *kind;
    const char *id;
    const char *name;
    h2o_iovec_t csrf;
} account_req_t;

/* Valid UTF-8 (RFC 3629 §4: no overlong forms or surrogates), no controls
 * (C0, DEL and C1). */
int oidc_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 4 * OIDC_METHOD_NAME_MAX)
        return 0;
    size_t chars = 0;
    for (size_t i = 0; i < n; chars++) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80             ? 1
                     : (c & 0xe0) == 0xc0 ? 2
                     : (c & 0xf0) == 0xe0 ? 3
                     : (c & 0xf8) == 0xf0 ? 4
                                          : 0;
        if (len == 0 || i + len > n || c < 0x20 || c == 0x7f || c == 0xc0 || c == 0xc1 || c > 0xf4)
            return 0;
        for (size_t k = 1; k < len; k++)
            if (((unsigned char)s[i + k] & 0xc0) != 0x80)
                return 0;
        /* C1 controls (U+0080..U+009F: 0xc2 0x80..0x9f), then overlong and
         * surrogate forms */
        if ((c == 0xc2 && (unsigned char)s[i + 1] < 0xa0) || (c == 0xe0 && (unsigned char)s[i + 1] < 0xa0) ||
            (c == 0xed && (unsigned char)s[i + 1] > 0x9f) || (c == 0xf0 && (unsigned char)s[i + 1] < 0x90) ||
            (c == 0xf4 && (unsigned char)s[i + 1] > 0x8f))
            return 0;
        i += len;
    }
    return chars <= OIDC_METHOD_NAME_MAX;
}

void oidc_account_back(gw_req_t *r, const char *request, const char *message)
{
    size_t cap = sizeof(OIDC_ACCOUNT_PATH "?m=&request=") + 32 + OIDC_UUID_LEN;
    char *loc = gw_req_alloc(r, cap);
    int n = snprintf(loc, cap, OIDC_ACCOUNT_PATH "?m=%s%s%s", message, request ? "&request=" : "",
                     request ? request : "");
    gw_reply_redirect(r, 303, loc, (size_t)n);
}

static void unavailable(gw_req_t *r, const gw_err_t *err)
{
    gw_log_write(GW_LOG_ERROR, "account", r->id, "database: %s (%s)", err ? err->public : "?",
                 err ? err->detail : "");
    gw_reply_header(r, "retry-after", H2O_STRLIT("5"));
    oidc_error_page(r, 503, "Unavailable", "This page is unavailable right now. Try again in a moment.");
}

/* ---- GET ------------------------------------------------------------------------ */

typedef struct {
    account_req_t *q;
    oidc_account_t *a;
} page_t;

static const char *pool_copy(gw_req_t *r, const char *s)
{
    return s == NULL ? NULL : gw_req_strdup(r, s, strlen(s)).base;
}

static void on_methods(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    page_t *p = data;
    if (res == NULL) {
        unavailable(r, err);
        return;
    }
    size_t n = (size_t)PQntuples(res);
    oidc_method_row_t *rows = gw_req_alloc(r, (n + 1) * sizeof(*rows));
    for (size_t i = 0; i < n; i++) {
        rows[i].kind = pool_copy(r, store_value(res, (int)i, 0));
        rows[i].id = pool_copy(r, store_value(res, (int)i, 1));
        rows[i].name = pool_copy(r, store_value(res, (int)i, 2));
        rows[i].created = pool_copy(r, store_value(res, (int)i, 3));
        rows[i].last_used = pool_copy(r, store_value(res, (int)i, 4));
        rows[i].synced = store_value(res, (int)i, 5)[0] == 't';
        rows[i].confirmed = store_value(res, (int)i, 6)[0] == 't';
    }
    oidc_account_view_t v = {
        p->a->user_name, p->a->csrf,  p->q->request,    p->a->register_only, p->a->has_password, rows, n,
        p->q->message,   p->q->error, p->q->offer_unmet};
    h2o_iovec_t page = oidc_page_account(&r->req->pool, &v);
    gw_reply_html(r, 200, page.base, page.len);
}

static void on_get_account(gw_req_t *r, oidc_account_t *a, void *data)
{
    page_t *p = gw_req_alloc(r, sizeof(*p));
    p->q = data;
    p->a = a;
    const char *params[1] = {a->user_id};
    gw_req_query(r, &oidc_stmt_account_methods, params, on_methods, p);
}

static void on_get(gw_req_t *r)
{
    gw_kvs_t q;
    gw_err_t err;
    h2o_iovec_t request, m;
    if (gw_req_query_params_or_reply(r, &q) != 0)
        return;
    if (gw_kvs_get_once(&q, "request", &request, &err) != 0 || gw_kvs_get_once(&q, "m", &m, &err) != 0 ||
        (request.base != NULL && !oidc_uuid_ok(request.base, request.len))) {
        oidc_error_page(r, 400, "Bad request", "This link is not valid.");
        return;
    }
    account_req_t *ar = gw_req_alloc(r, sizeof(*ar));
    memset(ar, 0, sizeof(*ar));
    if (request.base != NULL)
        ar->request = gw_req_strdup(r, request.base, request.len).base;
    for (size_t i = 0; m.base != NULL && i < sizeof(MESSAGES) / sizeof(MESSAGES[0]); i++)
        if (h2o_memis(m.base, m.len, MESSAGES[i].code, strlen(MESSAGES[i].code))) {
            if (MESSAGES[i].error)
                ar->error = MESSAGES[i].text;
            else
                ar->message = MESSAGES[i].text;
            ar->offer_unmet = MESSAGES[i].acr && ar->request != NULL;
        }
    oidc_account_require(r, 0, on_get_account, ar);
}

/* ---- POST remove / rename -------------------------------------------------------- */

static int read_post(gw_req_t *r, account_req_t *ar, int want_name)
{
    gw_kvs_t form;
    gw_err_t err;
    h2o_iovec_t csrf, kind, id, name, request;
    if (gw_req_form_or_reply(r, &form) != 0)
        return -1;
    if (gw_kvs_get_once(&form, OIDC_CSRF_FIELD, &csrf, &err) || gw_kvs_get_once(&form, "kind", &kind, &err) ||
        gw_kvs_get_once(&form, "id", &id, &err) || gw_kvs_get_once(&form, "name", &name, &err) ||
        gw_kvs_get_once(&form, "request", &request, &err) ||
        (request.base != NULL && request.len > 0 && !oidc_uuid_ok(request.base, request.len)) ||
        !(h2o_memis(kind.base, kind.len, H2O_STRLIT("passkey")) ||
          h2o_memis(kind.base, kind.len, H2O_STRLIT("totp"))) ||
        !oidc_uuid_ok(id.base, id.len) || (want_name && !oidc_name_ok(name.base, name.len))) {
        oidc_error_page(r, 400, "Bad request",
                        "The form was not filled in correctly. Go back and try again.");
        return -1;
    }
    ar->csrf = csrf;
    ar->kind = gw_req_strdup(r, kind.base, kind.len).base;
    ar->id = gw_req_strdup(r, id.base, id.len).base;
    ar->name = want_name ? gw_req_strdup(r, name.base, name.len).base : NULL;
    ar->request = request.base && request.len ? gw_req_strdup(r, request.base, request.len).base : NULL;
    return 0;
}

static int csrf_or_page(gw_req_t *r, const oidc_account_t *a, const account_req_t *ar)
{
    if (oidc_account_csrf_ok(a, ar->csrf.base, ar->csrf.len))
        return 0;
    gw_log_write(GW_LOG_WARN, "account", r->id, "refused: CSRF token missing or wrong");
    oidc_error_page(r, 403, "Form expired",
                    "This form has expired or did not come from this site. Go back, reload and try again.");
    return -1;
}

/* A session from a Temporary Access Pass ('register_method') may register
 * a method and nothing else: removing or renaming the account's existing
 * methods with nothing but a TAP would let whoever obtained one (a help desk
 * fooled, a pass read over a shoulder) lock the owner out before adding a
 * method of their own, which at least is audited and ends the TAP session's
 * special status (schema/008_audit.sql). */
static int full_session_or_back(gw_req_t *r, const oidc_account_t *a, const account_req_t *ar,
                                const char *what)
{
    if (!a->register_only)
        return 0;
    gw_log_write(GW_LOG_WARN, "account", r->id, "refused: %s %s %s from a session that must register first",
                 what, ar->kind, ar->id);
    oidc_account_back(r, ar->request, "register-first");
    return -1;
}

static void on_removed(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    account_req_t *ar = data;
    if (res == NULL) {
        unavailable(r, err);
        return;
    }
    const char *outcome = PQntuples(res) == 1 ? store_value(res, 0, 0) : "not_found";
    gw_log_write(GW_LOG_INFO, "account", r->id, "remove %s %s: %s", ar->kind, ar->id, outcome);
    oidc_account_back(r, ar->request,
                      strcmp(outcome, "removed") == 0 ? "removed"
                      : strcmp(outcome, "last") == 0  ? "last"
                                                      : "gone");
}

/* Removing or renaming a method takes a sign-in as strong as the account's
 * methods allow (oidc_account_t.may_change), as adding one does. Renaming
 * too: a password alone (phished, or a session left open) must not relabel
 * the owner's passkey or app ("Old phone, remove me") to talk the owner
 * into removing their own strongest method. */
static int strong_enough_or_back(gw_req_t *r, const oidc_account_t *a, const account_req_t *ar,
                                 const char *what)
{
    if (a->may_change)
        return 0;
    gw_log_write(GW_LOG_WARN, "account", r->id, "refused: %s %s %s from a session weaker than the account",
                 what, ar->kind, ar->id);
    oidc_account_back(r, ar->request, "stronger-first");
    return -1;
}

static void on_remove_account(gw_req_t *r, oidc_account_t *a, void *data)
{
    account_req_t *ar = data;
    if (csrf_or_page(r, a, ar) != 0 || full_session_or_back(r, a, ar, "remove") != 0 ||
        strong_enough_or_back(r, a, ar, "remove") != 0)
        return;
    const char *params[7] = {a->user_id,
                             ar->kind,
                             ar->id,
                             oidc_cfg->oidc.allow_remove_last_method ? "true" : "false",
                             oidc_actor(r, a->user_id),
                             oidc_req_addr(r),
                             oidc_req_user_agent(r)};
    gw_req_query(r, &oidc_stmt_method_remove, params, on_removed, ar);
}

static void on_remove(gw_req_t *r)
{
    account_req_t *ar = gw_req_alloc(r, sizeof(*ar));
    memset(ar, 0, sizeof(*ar));
    if (read_post(r, ar, 0) != 0)
        return;
    oidc_account_require(r, 0, on_remove_account, ar);
}

static void on_renamed(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    account_req_t *ar = data;
    if (res == NULL) {
        unavailable(r, err);
        return;
    }
    const char *n = PQntuples(res) == 1 ? store_value(res, 0, 0) : "0";
    oidc_account_back(r, ar->request, strcmp(n, "0") == 0 ? "gone" : "renamed");
}

static void on_rename_account(gw_req_t *r, oidc_account_t *a, void *data)
{
    account_req_t *ar = data;
    if (csrf_or_page(r, a, ar) != 0 || full_session_or_back(r, a, ar, "rename") != 0 ||
        strong_enough_or_back(r, a, ar, "rename") != 0)
        return;
    const char *params[7] = {a->user_id,
                             ar->kind,
                             ar->id,
                             ar->name,
                             oidc_actor(r, a->user_id),
                             oidc_req_addr(r),
                             oidc_req_user_agent(r)};
    gw_req_query(r, &oidc_stmt_method_rename, params, on_renamed, ar);
}

static void on_rename(gw_req_t *r)
{
    account_req_t *ar = gw_req_alloc(r, sizeof(*ar));
    memset(ar, 0, sizeof(*ar));
    if (read_post(r, ar, 1) != 0)
        return;
    oidc_account_require(r, 0, on_rename_account, ar);
}

static gw_route_t g_page = {
    OIDC_ACCOUNT_PATH, GW_GET, GW_ROUTE_HTML | GW_ROUTE_NO_STORE, on_get, NULL, NULL, 0};
static gw_route_t g_remove = {
    OIDC_ACCOUNT_PATH "/remove", GW_POST, GW_ROUTE_HTML | GW_ROUTE_NO_STORE, on_remove, NULL, NULL, 0};
static gw_route_t g_rename = {
    OIDC_ACCOUNT_PATH "/rename", GW_POST, GW_ROUTE_HTML | GW_ROUTE_NO_STORE, on_rename, NULL, NULL, 0};

void oidc_account_register(void)
{
    gw_route_register(&g_page);
    gw_route_register(&g_remove);
    gw_route_register(&g_rename);
}

void oidc_methods_register(const gw_config_t *cfg)
{
    oidc_totp_keys_init(cfg->keys.encryption_key);
    oidc_rp_init(cfg->issuer);
    oidc_methods_db_register();
    oidc_account_register();
    oidc_totp_register();
    oidc_totp_enrol_register();
    oidc_passkey_signin_register();
    oidc_passkey_register_register();
    oidc_static_js_register();
}
