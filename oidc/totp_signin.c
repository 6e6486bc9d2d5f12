/* Signing in with an authenticator app code (RFC 6238): POST /login/code.
 *
 * Two ways in, one form field `code`:
 *   - the second step after a right password (`step`: the token of the
 *     half-finished sign-in in signin_pending) -> amr pwd otp mfa, acr mfa;
 *   - a code alone (`username`), only for an account that has no password,
 *     so a code never replaces a password where one exists -> amr otp.
 * A code is accepted for the steps now-1, now and now+1 and only once: the
 * statement that creates the session moves the authenticator's last used
 * step forward only if nobody used this step first (methods_db.c).
 *
 * Every failure of the code-alone form (unknown user, a user with a
 * password, no app, a wrong or reused code, throttled) gives the same page,
 * like the password form (login.c), so it tells nothing about the account.
 * Every failure of the second step but an expired or spent one (a wrong or
 * reused code, throttled) gives the code page again with one message.
 *
 * Both ways count each code against the account and the client address
 * before it is checked, like a password (throttle_db.c), and a locked key
 * refuses the code unchecked: the second step's count is in the statement
 * that counts the half-finished sign-in's own attempts
 * (oidc_stmt_pending_totps), since a right password starts a new
 * half-finished sign-in each time (RFC 4226 §7.3: lockout "across login
 * sessions").
 *
 * Every refused code of an existing account is an audit event,
 * method.failed with a reason: throttled and too_many_attempts in the
 * statement that counted the attempt (attempts are counted before the check,
 * throttle_db.c); wrong_code, code_reused and no_code_sign_in by one
 * statement once the check has failed, before the page is sent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/alloc.h"
#include "gateway/log.h"
#include "oidc/methods_internal.h"

#define MSG_FAILED                                                                                           \
    "Sign-in failed. Check your username and code and try again. After too many failed attempts, sign-in "   \
    "is paused for a while."
#define MSG_WRONG_CODE                                                                                       \
    "That code did not work. Enter the code your authenticator app shows now. After too many failed "        \
    "attempts, sign-in is paused for a while."
#define MSG_EXPIRED "This sign-in has expired. Sign in again."

typedef struct {
    oidc_context_t context;
    char *step;     /* the pending sign-in token, or NULL */
    char *username; /* code alone, or NULL */
    char code[OIDC_CODE_MAX + 1];
    size_t code_len;
    char peer[64];
    const char *user_agent; /* may be NULL */
    char pending_hash[GW_SECRET_HASH_HEX_LEN + 1];
    h2o_iovec_t pending; /* the sign-in page's box of the request (pending.c), or empty */
    char user_id[OIDC_UUID_LEN + 1];
    oidc_session_params_t sp;
} code_t;

static void log_line(gw_req_t *r, const char *what)
{
    gw_log_write(GW_LOG_INFO, "signin", r->id, "code: %s", what);
}

static void unavailable(gw_req_t *r, const gw_err_t *err)
{
    gw_log_write(GW_LOG_ERROR, "signin", r->id, "database: %s (%s)", err ? err->public : "?",
                 err ? err->detail : "");
    gw_reply_header(r, "retry-after", H2O_STRLIT("5"));
    oidc_error_page(r, 503, "Sign-in unavailable",
                    "Sign-in is unavailable right now. Try again in a moment.");
}

static void fail_page(gw_req_t *r, code_t *c)
{
    if (c->step != NULL) {
        oidc_code_page(r, c->context, c->step, NULL, MSG_WRONG_CODE);
        return;
    }
    if (OIDC_CONTEXT_IS_REQUEST(c->context))
        oidc_signin_page_pending(r, c->context, c->pending, c->username, MSG_FAILED);
    else
        oidc_signin_page_account(r, c->username, MSG_FAILED);
}

static void fail(gw_req_t *r, code_t *c, const char *why)
{
    log_line(r, why);
    gw_wipe(c->code, sizeof(c->code));
    fail_page(r, c);
}

static void on_fail_audited(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    code_t *c = data;
    if (res == NULL)
        gw_log_write(GW_LOG_ERROR, "signin", r->id, "code: failure not audited: %s (%s)",
                     err ? err->public : "?", err ? err->detail : "");
    fail_page(r, c);
}

/* A checked code refused: audited (method.failed, `reason`) against
 * `user_id`, or the account of the name typed, then the failure page. */
static void fail_audited(gw_req_t *r, code_t *c, const char *reason, const char *user_id, const char *why)
{
    log_line(r, why);
    gw_wipe(c->code, sizeof(c->code));
    char window[16];
    snprintf(window, sizeof(window), "%u", oidc_cfg->oidc.throttle_window_s);
    const char *params[7] = {reason,
                             user_id ? gw_req_strdup(r, user_id, strlen(user_id)).base : NULL,
                             user_id ? NULL : c->username,
                             c->peer,
                             c->user_agent,
                             "totp",
                             window};
    gw_req_query(r, &oidc_stmt_method_failed, params, on_fail_audited, c);
}

/* ---- the second step, begun by login.c ------------------------------------------ */

typedef struct {
    oidc_context_t context;
    char token[GW_SECRET_LEN + 1];
} second_t;

static void on_pending_created(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    second_t *s = data;
    if (res == NULL) {
        gw_wipe(s->token, sizeof(s->token));
        unavailable(r, err);
        return;
    }
    oidc_code_page(r, s->context, s->token, NULL, NULL);
    gw_wipe(s->token, sizeof(s->token));
}

void oidc_totp_second_step(gw_req_t *r, const char *user_id, const char *context)
{
    second_t *s = gw_req_alloc(r, sizeof(*s));
    snprintf(s->context, sizeof(s->context), "%s", context);
    gw_secret_new(s->token);
    char hash[GW_SECRET_HASH_HEX_LEN + 1], ttl[16];
    gw_secret_hash_hex(s->token, GW_SECRET_LEN, hash);
    snprintf(ttl, sizeof(ttl), "%d", OIDC_PENDING_TTL_S);
    log_line(r, "password right, asking for the code");
    const char *params[5] = {hash, user_id, s->context, "{pwd}", ttl};
    gw_req_query(r, &oidc_stmt_pending_create, params, on_pending_created, s);
}

/* ---- the session ------------------------------------------------------------------- */

static void on_session(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    code_t *c = data;
    if (res == NULL) {
        unavailable(r, err);
        return;
    }
    if (PQntuples(res) != 1) {
        /* Another sign-in used this step first: the code was used already. */
        gw_wipe(c->sp.token, sizeof(c->sp.token));
        fail_audited(r, c, "code_reused", c->user_id, "failed: code already used");
        return;
    }
    gw_log_write(GW_LOG_INFO, "signin", r->id, "signed in with a code: user %s session %s", c->user_id,
                 store_value(res, 0, 0));
    oidc_session_params_commit(r, &c->sp);
    oidc_signin_finished(r, c->context, 0);
}

/* Rows: user id, authenticator id, sealed secret, last used step. */
static void on_totps(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    code_t *c = data;
    if (res == NULL) {
        unavailable(r, err);
        return;
    }
    if (c->step != NULL && (PQntuples(res) == 0 || store_value(res, 0, 0) == NULL)) {
        /* Spent (audited by the statement) or expired. */
        log_line(r, "failed: step expired or too many attempts");
        if (OIDC_CONTEXT_IS_REQUEST(c->context))
            oidc_signin_page(r, c->context, NULL, MSG_EXPIRED);
        else
            oidc_signin_page_account(r, NULL, MSG_EXPIRED);
        return;
    }
    time_t now = time(NULL);
    uint64_t step = 0;
    int row = -1, apps = 0;
    for (int i = 0; i < PQntuples(res) && step == 0; i++) {
        const char *id = store_value(res, i, 1);
        apps += id != NULL;
        uint8_t key[MTH_TOTP_SECRET_LEN];
        if (id == NULL || oidc_totp_open(id, store_value(res, i, 2), key) != 0)
            continue;
        uint64_t last = strtoull(store_value(res, i, 3), NULL, 10);
        step = mth_totp_verify(key, sizeof(key), c->code, c->code_len, now, last);
        gw_wipe(key, sizeof(key));
        if (step != 0)
            row = i;
    }
    if (step == 0) {
        const char *user = PQntuples(res) > 0 ? store_value(res, 0, 0) : NULL;
        if (apps > 0)
            fail_audited(r, c, "wrong_code", user, "failed: wrong code");
        else
            fail_audited(r, c, "no_code_sign_in", user, "failed: no app to check the code against");
        return;
    }
    gw_wipe(c->code, sizeof(c->code));
    snprintf(c->user_id, sizeof(c->user_id), "%s", store_value(res, row, 0));
    char step_text[24];
    snprintf(step_text, sizeof(step_text), "%llu", (unsigned long long)step);
    oidc_session_params_new(r, &c->sp);
    const int two = c->step != NULL;
    const char *params[10] = {c->sp.hash,
                              c->sp.ttl,
                              two ? OIDC_ACR_MFA : OIDC_ACR_PASSWORD,
                              two ? "{pwd,otp,mfa}" : "{otp}",
                              c->sp.has_old ? c->sp.old_hash : NULL,
                              c->sp.peer,
                              c->sp.user_agent,
                              gw_req_strdup(r, store_value(res, row, 1), OIDC_UUID_LEN).base,
                              gw_req_strdup(r, step_text, strlen(step_text)).base,
                              two ? c->pending_hash : NULL};
    gw_req_query(r, &oidc_stmt_totp_signin, params, on_session, c);
}

/* The second step's rows (oidc_stmt_pending_totps): a locked key first. */
static void on_pending_totps(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    code_t *c = data;
    if (res == NULL) {
        unavailable(r, err);
        return;
    }
    const char *locked = PQntuples(res) > 0 ? store_value(res, 0, 5) : NULL;
    if (locked != NULL && locked[0] == 't') {
        /* Audited by the statement that counted the attempt; the page is
         * the wrong code's. */
        fail(r, c, "refused: throttled");
        return;
    }
    const char *active = PQntuples(res) > 0 ? store_value(res, 0, 6) : NULL;
    if (active != NULL && active[0] != 't') {
        /* Deactivated between the password and the code: the second step
         * may take minutes, and a directory that turned the account off
         * meanwhile is the later word. No code was checked. */
        fail_audited(r, c, "account_inactive", store_value(res, 0, 0), "failed: inactive user");
        return;
    }
    on_totps(r, c, res, err);
}

static void on_throttle(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    code_t *c = data;
    if (res == NULL) {
        unavailable(r, err);
        return;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        const char *locked = store_value(res, i, 0);
        if (locked != NULL && locked[0] == 't') {
            /* Audited by the statement that counted the attempt. */
            fail(r, c, "refused: throttled");
            return;
        }
    }
    const char *params[1] = {c->username};
    gw_req_query(r, &oidc_stmt_code_only_totps, params, on_totps, c);
}

static void count_code_attempt(gw_req_t *r, code_t *c)
{
    /* Counted like a password attempt, before the check (throttle_db.c). */
    char num[4][16];
    oidc_throttle_limits(num);
    const char *params[7] = {c->username, c->peer, num[0], num[1], num[2], num[3], c->user_agent};
    gw_req_query(r, &oidc_stmt_throttle_attempt_code, params, on_throttle, c);
}

/* Whether the request is still live is for the resume to find, as when a
 * stored one expires while the person types. */
static void on_request_stored(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    if (res == NULL) {
        unavailable(r, err);
        return;
    }
    count_code_attempt(r, data);
}

/* ---- POST /login/code --------------------------------------------------------------- */

static void on_code(gw_req_t *r)
{
    gw_kvs_t form;
    if (gw_req_form_or_reply(r, &form) != 0)
        return;
    h2o_iovec_t request, csrf, step, username, code, pending;
    if (oidc_signin_field(r, &form, "request", &request) ||
        oidc_signin_field(r, &form, OIDC_CSRF_FIELD, &csrf) || oidc_signin_field(r, &form, "step", &step) ||
        oidc_signin_field(r, &form, "username", &username) || oidc_signin_field(r, &form, "code", &code) ||
        oidc_signin_field(r, &form, OIDC_PENDING_FIELD, &pending))
        return;
    code_t *c = gw_req_alloc(r, sizeof(*c));
    memset(c, 0, sizeof(*c));
    if (oidc_context_parse(request.base, request.len, c->context) != 0) {
        oidc_signin_link_invalid(r);
        return;
    }
    h2o_iovec_t cookie;
    if (!gw_req_cookie(r, OIDC_CSRF_COOKIE, &cookie) ||
        !oidc_csrf_ok(cookie.base, cookie.len, c->context, csrf.base, csrf.len)) {
        log_line(r, "refused: CSRF token missing or wrong");
        oidc_error_page(
            r, 403, "Sign-in form expired",
            "This sign-in form has expired or did not come from this site. Go back and start again.");
        return;
    }
    if (pending.base != NULL)
        c->pending = pending;
    if (code.base != NULL && code.len <= OIDC_CODE_MAX) {
        memcpy(c->code, code.base, code.len);
        c->code_len = code.len;
    }
    gw_req_peer(r, c->peer);
    c->user_agent = oidc_req_user_agent(r);
    if (step.base != NULL && step.len > 0) {
        if (!oidc_secret_format_ok(step.base, step.len)) {
            oidc_error_page(r, 400, "Bad request", "The sign-in form is not valid. Sign in again.");
            return;
        }
        c->step = gw_req_strdup(r, step.base, step.len).base;
        gw_secret_hash_hex(step.base, step.len, c->pending_hash);
        /* Counted against the account and the address, before the check. */
        char num[4][16];
        oidc_throttle_limits(num);
        const char *params[8] = {c->pending_hash, c->peer, num[0],        num[1],
                                 num[2],          num[3],  c->user_agent, c->context};
        gw_req_query(r, &oidc_stmt_pending_totps, params, on_pending_totps, c);
        return;
    }
    if (username.base == NULL || username.len == 0 || username.len > OIDC_USERNAME_MAX_BYTES ||
        c->code_len == 0) {
        c->username = username.base && username.len <= OIDC_USERNAME_MAX_BYTES
                          ? gw_req_strdup(r, username.base, username.len).base
                          : NULL;
        fail(r, c, "failed: empty or long field");
        return;
    }
    c->username = gw_req_strdup(r, username.base, username.len).base;
    /* The sign-in page's box of the request (pending.c): stored first, as
     * the sign-in comes back to the request by id. */
    if (OIDC_CONTEXT_IS_REQUEST(c->context) && c->pending.len > 0) {
        oidc_pending_live_query(r, c->context, c->pending, on_request_stored, c);
        return;
    }
    count_code_attempt(r, c);
}

static gw_route_t g_code = {"/login/code", GW_POST, GW_ROUTE_HTML | GW_ROUTE_NO_STORE, on_code, NULL,
                            NULL,          0};

void oidc_totp_register(void)
{
    gw_route_register(&g_code);
}
