/* GET and POST /login: the password sign-in form of a pending authorization
 * request, and the static files the pages use.
 *
 * POST /login, in order: form and CSRF token (csrf.c) -> in one statement
 * (oidc_stmt_login_attempt, throttle_db.c), the authorization request is
 * still live, the attempt is counted against the account and the client
 * address, and the user is looked up -> Argon2id runs on the worker pool
 * (password.c) -> a session cookie, and the pending request finished at
 * once (authorize.c, oidc_az_resume_opening): the answer is the relying
 * party's redirect with its code, and one statement stores the session row
 * and the code. A sign-in for the account page opens the session alone and
 * goes there instead.
 *
 * A request the form carries in a box (pending.c) is live when the box
 * opens for the form's request id, and needs no row: the attempt statement
 * counts as for the account page, and the code statement takes no row. A
 * failure that shows the page again, and a second step, find the request by
 * id, so the box is stored as its row first.
 *
 * Every failure of the credentials (unknown user, wrong password, no password,
 * inactive user, throttled) gives the same page with the same status and the
 * same message, and all but the throttled one take one Argon2id check, so the
 * answer does not tell whether an account exists (OWASP Authentication Cheat
 * Sheet, "Authentication and Error Messages"). The status is 200, not 401: RFC
 * 9110 §15.5.2 requires a 401 to carry WWW-Authenticate, and a form has no
 * HTTP authentication scheme to name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/alloc.h"
#include "gateway/log.h"
#include "gateway/secrets.h"
#include "oidc/methods_internal.h"

#define MSG_FAILED                                                                                           \
    "Sign-in failed. Check your username and password and try again. After too many failed attempts, "       \
    "sign-in is paused for a while."
#define MSG_MISSING "Enter your username and password."

typedef struct {
    oidc_context_t request_id; /* a request id, or OIDC_CONTEXT_ACCOUNT */
    char *username;            /* NUL-terminated, request pool */
    size_t username_len;
    char *password; /* request pool; wiped once handed to the worker */
    size_t password_len;
    char peer[64];
    char *user_id; /* NULL: no such user */
    int active;
    int has_totp;               /* an authenticator app: the code is a second step */
    const char *request_params; /* the pending request's parameters (JSON) */
    int64_t request_created_at;
    h2o_iovec_t sealed; /* the form's box of the request (pending.c) once it opened, or
                           empty; while it is set, the request has no row */
} login_t;

static void log_line(gw_req_t *r, gw_log_level_t level, const char *what)
{
    gw_log_write(level, "signin", r->id, "%s", what);
}

static void signin_page(gw_req_t *r, login_t *l, const char *msg)
{
    if (OIDC_CONTEXT_IS_REQUEST(l->request_id))
        oidc_signin_page_pending(r, l->request_id, l->sealed, l->username, msg);
    else
        oidc_signin_page_account(r, l->username, msg);
}

static void page_expired(gw_req_t *r)
{
    oidc_error_page(r, 400, "Sign-in request expired",
                    "This sign-in request has expired or is not known. Go back to the application and start "
                    "again.");
}

static void page_unavailable(gw_req_t *r, const gw_err_t *err)
{
    gw_log_write(GW_LOG_ERROR, "signin", r->id, "database: %s (%s)", err ? err->public : "?",
                 err ? err->detail : "");
    gw_reply_header(r, "retry-after", H2O_STRLIT("5"));
    oidc_error_page(r, 503, "Sign-in unavailable",
                    "Sign-in is unavailable right now. Try again in a moment.");
}

/* The single answer to every credential failure (see the top of the file). */
static void answer_failed(gw_req_t *r, login_t *l)
{
    if (l->password != NULL)
        gw_wipe(l->password, l->password_len);
    signin_page(r, l, MSG_FAILED);
}

static void fail(gw_req_t *r, login_t *l, const char *why)
{
    log_line(r, GW_LOG_INFO, why);
    answer_failed(r, l);
}

static void on_fail_audited(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    if (res == NULL)
        gw_log_write(GW_LOG_ERROR, "signin", r->id, "password failure not audited: %s (%s)",
                     err ? err->public : "?", err ? err->detail : "");
    answer_failed(r, data);
}

/* A refusal of a named account's credentials is an audit event (so its
 * owner and the help desk see guessing, as for codes and passkeys); a name
 * that is nobody's records nothing. Both take the same statement, so the
 * answer's timing still does not say whether the account exists. */
static void fail_audited(gw_req_t *r, login_t *l, const char *reason, const char *why)
{
    log_line(r, GW_LOG_INFO, why);
    char window[16];
    snprintf(window, sizeof(window), "%u", oidc_cfg->oidc.throttle_window_s);
    const char *params[7] = {reason, l->user_id, NULL, l->peer, oidc_req_user_agent(r), "password", window};
    gw_req_query(r, &oidc_stmt_method_failed, params, on_fail_audited, l);
}

/* ---- step 5: session --------------------------------------------------------- */

static void on_session_created(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    login_t *l = data;
    if (res == NULL || PQntuples(res) != 1) {
        page_unavailable(r, err);
        return;
    }
    oidc_session_t s = {0};
    snprintf(s.user_id, sizeof(s.user_id), "%s", l->user_id);
    if (oidc_session_opened(res, &s) != 0)
        snprintf(s.id, sizeof(s.id), "?");
    oidc_session_log_signed_in(r, &s);
    /* RFC 9110 §15.4.4: 303 makes the browser follow with a GET, so a
     * reload of the next page never re-posts the password. */
    oidc_signin_finished(r, l->request_id, 0);
}

static void create_session(gw_req_t *r, login_t *l)
{
    oidc_session_params_t *p = gw_req_alloc(r, sizeof(*p));
    oidc_session_params_new(r, p);
    /* The cookie goes out with the answer; a fresh token at every sign-in
     * means a cookie planted before it is worthless (session fixation), and
     * the session of the cookie it replaces ends with the statement. */
    oidc_session_params_commit(r, p);
    oidc_session_opening_t *o = gw_req_alloc(r, sizeof(*o));
    memset(o, 0, sizeof(*o));
    const char *params[OIDC_SESSION_OPEN_NPARAMS] = {p->hash,
                                                     l->user_id,
                                                     OIDC_ACR_PASSWORD,
                                                     p->ttl,
                                                     l->username,
                                                     l->peer,
                                                     p->has_old ? p->old_hash : NULL,
                                                     p->user_agent};
    memcpy(o->params, params, sizeof(params));
    if (l->request_params == NULL) {
        gw_req_query(r, &oidc_stmt_session_create, o->params, on_session_created, l);
        return;
    }
    snprintf(o->s.user_id, sizeof(o->s.user_id), "%s", l->user_id);
    o->s.auth_time = (int64_t)time(NULL);
    o->s.amr_json = "[\"pwd\"]";
    o->s.acr = OIDC_ACR_PASSWORD;
    oidc_az_resume_opening(r, l->request_id, l->sealed, l->request_params, l->request_created_at, o);
}

/* ---- step 4: password ---------------------------------------------------------- */

/* 0 when the answer to oidc_pending_live_query says the request is live
 * (and stored now); otherwise the page that says why, and -1. */
static int request_live_or_page(gw_req_t *r, login_t *l, PGresult *res, const gw_err_t *err)
{
    if (res == NULL) {
        page_unavailable(r, err);
        return -1;
    }
    if (PQntuples(res) != 1) {
        page_expired(r);
        return -1;
    }
    l->sealed = h2o_iovec_init(NULL, 0);
    return 0;
}

/* The code page finds the request by id: its box is stored first. */
static void on_stored_for_second_step(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    login_t *l = data;
    if (request_live_or_page(r, l, res, err) == 0)
        oidc_totp_second_step(r, l->user_id, l->request_id);
}

static void on_password_checked(gw_req_t *r, void *data, int ok)
{
    login_t *l = data;
    if (l->user_id == NULL)
        fail_audited(r, l, "unknown_user", "failed: unknown user");
    else if (!ok)
        fail_audited(r, l, "wrong_password", "failed: wrong password");
    else if (!l->active)
        fail_audited(r, l, "account_inactive", "failed: inactive user");
    else if (l->has_totp && l->sealed.len > 0)
        oidc_pending_live_query(r, l->request_id, l->sealed, on_stored_for_second_step, l);
    else if (l->has_totp)
        oidc_totp_second_step(r, l->user_id, l->request_id);
    else
        create_session(r, l);
}

/* ---- step 3: the attempt: request, counters, account -------------------------- */

static void on_attempt(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    login_t *l = data;
    if (res == NULL || PQntuples(res) != 1) {
        page_unavailable(r, err);
        return;
    }
    const char *live = store_value(res, 0, 0), *locked = store_value(res, 0, 1);
    if (live == NULL || live[0] != 't') {
        page_expired(r); /* nothing was counted */
        return;
    }
    if (store_value(res, 0, 2) != NULL)
        l->user_id = gw_req_strdup(r, store_value(res, 0, 2), strlen(store_value(res, 0, 2))).base;
    if (locked != NULL && locked[0] == 't') {
        /* Over the limit: no password check at all (that is the point). */
        gw_wipe(l->password, l->password_len);
        fail_audited(r, l, "throttled", "refused: throttled");
        return;
    }
    const char *hash = NULL;
    if (l->user_id != NULL) {
        hash = store_value(res, 0, 3); /* NULL: no password set; verified against the dummy */
        const char *active = store_value(res, 0, 4);
        l->active = active != NULL && active[0] == 't';
        const char *totp = store_value(res, 0, 5);
        l->has_totp = totp != NULL && totp[0] == 't';
    }
    const char *params = store_value(res, 0, 6), *created = store_value(res, 0, 7);
    if (params != NULL && created != NULL) {
        l->request_params = gw_req_strdup(r, params, strlen(params)).base;
        l->request_created_at = strtoll(created, NULL, 10);
    }
    char *pwd = l->password;
    l->password = NULL; /* wiped by the call below; `l` may be gone after it */
    oidc_password_verify_async(r, hash, pwd, l->password_len, on_password_checked, l);
}

static void count_attempt(gw_req_t *r, login_t *l)
{
    char num[4][16];
    oidc_throttle_limits(num);
    const char *params[7] = {l->username,
                             l->peer,
                             num[0],
                             num[1],
                             num[2],
                             num[3],
                             OIDC_CONTEXT_IS_REQUEST(l->request_id) && l->sealed.len == 0 ? l->request_id
                                                                                          : NULL};
    gw_req_query(r, &oidc_stmt_login_attempt, params, on_attempt, l);
}

/* ---- step 2: fields nobody's account has --------------------------------------- */

static int fields_usable(const login_t *l)
{
    return l->username_len > 0 && l->password_len > 0 && l->username_len <= OIDC_USERNAME_MAX_BYTES &&
           l->password_len <= OIDC_PASSWORD_MAX;
}

static void refuse_fields(gw_req_t *r, login_t *l)
{
    if (l->username_len == 0 || l->password_len == 0) {
        log_line(r, GW_LOG_INFO, "failed: empty field");
        signin_page(r, l, MSG_MISSING);
        return;
    }
    /* No account has such a name or password; still the same answer. */
    l->username = NULL;
    fail(r, l, "failed: field too long");
}

/* An expired request still says so first, as for any other form. */
static void on_request_checked(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    login_t *l = data;
    if (request_live_or_page(r, l, res, err) == 0)
        refuse_fields(r, l);
}

/* ---- step 1: the form -------------------------------------------------------------- */

static int field(gw_req_t *r, const gw_kvs_t *form, const char *name, h2o_iovec_t *out)
{
    if (oidc_signin_field(r, form, name, out) != 0)
        return -1;
    if (out->base == NULL)
        *out = h2o_iovec_init("", 0);
    return 0;
}

static void on_post(gw_req_t *r)
{
    gw_kvs_t form;
    if (gw_req_form_or_reply(r, &form) != 0)
        return;
    h2o_iovec_t request, csrf, username, password, pending;
    if (field(r, &form, "request", &request) || field(r, &form, OIDC_CSRF_FIELD, &csrf) ||
        field(r, &form, "username", &username) || field(r, &form, "password", &password) ||
        field(r, &form, OIDC_PENDING_FIELD, &pending))
        return;
    login_t *l = gw_req_alloc(r, sizeof(*l));
    memset(l, 0, sizeof(*l));
    /* No request: a sign-in for the account page itself. */
    if (oidc_context_parse(request.base, request.len, l->request_id) != 0) {
        oidc_signin_link_invalid(r);
        return;
    }
    h2o_iovec_t cookie;
    if (!gw_req_cookie(r, OIDC_CSRF_COOKIE, &cookie) ||
        !oidc_csrf_ok(cookie.base, cookie.len, l->request_id, csrf.base, csrf.len)) {
        gw_wipe(password.base, password.len);
        log_line(r, GW_LOG_WARN, "refused: CSRF token missing or wrong");
        oidc_error_page(r, 403, "Sign-in form expired",
                        "This sign-in form has expired or did not come from this site. Go back to the "
                        "application and start again.");
        return;
    }
    l->username = username.base;
    l->username_len = username.len;
    l->password = password.base;
    l->password_len = password.len;
    gw_req_peer(r, l->peer);
    if (!OIDC_CONTEXT_IS_REQUEST(l->request_id)) {
        if (fields_usable(l))
            count_attempt(r, l);
        else
            refuse_fields(r, l);
        return;
    }
    /* A box that does not open (altered, expired, another request's) leaves
     * the stored row, if any, to decide. */
    const char *json;
    if (pending.len > 0 && oidc_pending_open(&r->req->pool, l->request_id, pending.base, pending.len, &json,
                                             &l->request_created_at) == 0) {
        l->request_params = json;
        l->sealed = pending;
    }
    if (fields_usable(l))
        count_attempt(r, l);
    else
        oidc_pending_live_query(r, l->request_id, l->sealed, on_request_checked, l);
}

/* ---- GET /login?request=<id> ------------------------------------------------------ */

static void on_get(gw_req_t *r)
{
    gw_kvs_t q;
    gw_err_t err;
    h2o_iovec_t request;
    if (gw_req_query_params_or_reply(r, &q) != 0)
        return;
    if (gw_kvs_get_once(&q, "request", &request, &err) != 0 ||
        (request.base != NULL && !oidc_uuid_ok(request.base, request.len))) {
        oidc_signin_link_invalid(r);
        return;
    }
    if (request.base == NULL) {
        oidc_signin_page_account(r, NULL, NULL);
        return;
    }
    /* The page loads the request itself: its login_hint and acr. */
    oidc_signin_page(r, gw_req_strdup(r, request.base, request.len).base, NULL, NULL);
}

static void on_login(gw_req_t *r)
{
    if (h2o_memis(r->req->method.base, r->req->method.len, H2O_STRLIT("POST")))
        on_post(r);
    else
        on_get(r);
}

static gw_route_t g_login = {
    "/login", GW_GET | GW_POST, GW_ROUTE_HTML | GW_ROUTE_NO_STORE, on_login, NULL, NULL, 0};

void oidc_signin_register(const gw_config_t *cfg)
{
    oidc_argon2_params_t prm = {cfg->oidc.argon2_t, cfg->oidc.argon2_m_kib, cfg->oidc.argon2_p};
    oidc_password_set_params(&prm);
    oidc_session_db_register();
    oidc_throttle_db_register();
    oidc_login_db_register();
    gw_route_register(&g_login);
    oidc_static_register();
    oidc_methods_register(cfg);
}
