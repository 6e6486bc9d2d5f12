/* The authorization endpoint (OIDC Core §3.1.2, RFC 6749 §4.1): GET|POST
 * /authorize and GET /authorize/resume, where the sign-in page sends the
 * browser back once the user has signed in.
 *
 *   parameters ─▶ client + redirect URI verified ─▶ other errors redirected
 *     ─▶ session fits? ─yes─▶ code ─▶ response (query or form_post, with iss)
 *                      ─no──▶ prompt=none: login_required
 *                             else: store the request, show the sign-in page
 *
 * Until the client and its redirect URI are verified, nothing is redirected
 * (RFC 6749 §4.1.2.1, RFC 9700 §4.1): those errors are pages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/alloc.h"
#include "gateway/log.h"
#include "oidc/authorize_internal.h"

/* Identifies this file's per-request state (gw_req_state). */
static const char AZ_STATE_TAG = 0;

typedef struct {
    oidc_az_request_t a;
    char request_id[37]; /* resume: the pending request being finished */
    h2o_iovec_t sealed;  /* resume: its box when the browser carries it unstored (pending.c), or empty */
    int64_t created_at;  /* resume: when it was made (epoch seconds) */
    int unmet;           /* resume: the person gave up on the acr asked for */
    int need;            /* resume: the acr level the request needs */
    int have;            /* resume: the level the session reached */
    /* resume after a password sign-in: its session, so the browser's cookie
     * need not be looked up again */
    const oidc_session_t *signed_in;
    /* ... while that session is not stored yet (oidc_az_resume_opening) */
    oidc_session_opening_t *opening;
    char code[GW_SECRET_LEN + 1];
} az_ctx_t;

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static void page_db_error(gw_req_t *r, const gw_err_t *err)
{
    gw_log_write(GW_LOG_ERROR, __func__, r->id, "%s (%s)", err->public, err->detail);
    int status = err->kind == GW_E_UNAVAILABLE || err->kind == GW_E_TIMEOUT ? 503 : 500;
    if (status == 503) {
        gw_reply_header(r, "retry-after", H2O_STRLIT("1"));
        oidc_az_error_page(r, status, "Try again", "The service is busy. Please try again in a moment.");
    } else {
        oidc_az_error_page(r, status, "Something went wrong", "The request could not be completed.");
    }
}

/* ---- reading parameters -------------------------------------------------- */

int oidc_az_read_params_or_page(gw_req_t *r, gw_kvs_t *out)
{
    gw_err_t err;
    h2o_req_t *req = r->req;
    h2o_iovec_t src;
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        /* OIDC Core §3.1.2.1: POST uses form serialization. */
        h2o_iovec_t ct = gw_req_header(r, "content-type");
        static const char FORM[] = "application/x-www-form-urlencoded";
        size_t n = sizeof(FORM) - 1;
        if (req->entity.len > 0 && (ct.base == NULL || ct.len < n || !h2o_lcstris(ct.base, n, FORM, n) ||
                                    (ct.len > n && ct.base[n] != ';' && ct.base[n] != ' '))) {
            oidc_az_error_page(r, 415, "Invalid request", "The form must be sent as a URL-encoded form.");
            return -1;
        }
        src = req->entity;
    } else {
        src = gw_req_query_string(r);
    }
    if (gw_form_parse(&req->pool, src.base, src.len, GW_MAX_PARAMS, out, &err) != 0) {
        oidc_az_error_page(r, 400, "Invalid request", "The request parameters could not be read.");
        return -1;
    }
    return 0;
}

/* ---- issuing the code ------------------------------------------------------ */

static void log_code(gw_req_t *r, const az_ctx_t *c, const char *session_id)
{
    gw_log_write(GW_LOG_INFO, "issue", r->id, "code for client %s, session %s", c->a.client_id.base,
                 session_id);
}

static void on_code_stored(gw_req_t *r, PGresult *res, const gw_err_t *err)
{
    az_ctx_t *c = gw_req_state(r, &AZ_STATE_TAG, sizeof(*c));
    /* 1 stored, 0 the request was gone, -1 failed */
    int issued = err != NULL          ? -1
                 : c->opening != NULL ? oidc_code_issued_opening(res, &c->opening->s)
                                      : oidc_code_issued(res);
    if (c->opening != NULL && issued >= 0) {
        oidc_session_log_signed_in(r, &c->opening->s);
        log_code(r, c, c->opening->s.id);
    }
    if (issued < 0) {
        gw_log_write(GW_LOG_ERROR, __func__, r->id, "code not stored: %s (%s)",
                     err ? err->public : "unexpected result", err ? err->detail : "");
        int busy = err != NULL && (err->kind == GW_E_UNAVAILABLE || err->kind == GW_E_TIMEOUT);
        oidc_az_respond_error(r, &c->a, busy ? OIDC_AZE_TEMPORARILY_UNAVAILABLE : OIDC_AZE_SERVER_ERROR,
                              "the authorization could not be completed");
    } else if (!issued) {
        /* The pending request was consumed by another resume meanwhile. */
        oidc_az_error_page(r, 400, "Sign-in request expired",
                           "This sign-in request was already completed or has expired. "
                           "Go back to the application and try again.");
    } else {
        oidc_param_t p[] = {{"code", c->code}};
        oidc_az_respond(r, &c->a, p, 1);
    }
    gw_wipe(c->code, sizeof(c->code));
}

/* 1 when the session's sign-in reaches the acr the request asks for
 * (oidc/acr.c); then *out is the session with the acr to assert. */
static int acr_fits(gw_req_t *r, const oidc_az_request_t *a, const oidc_session_t *s, oidc_session_t **out)
{
    const char *acr;
    if (!oidc_acr_satisfied(a->acr_values.base, a->acr_values.len, a->claims.base, a->claims.len, s->acr,
                            &acr))
        return 0;
    *out = gw_req_alloc(r, sizeof(**out));
    **out = *s;
    (*out)->acr = (char *)acr;
    return 1;
}

static void issue(gw_req_t *r, az_ctx_t *c, const oidc_session_t *s)
{
    if (c->opening != NULL) {
        /* Logged once stored, with the session's id. */
        oidc_code_issue_opening_or_reply(r, &c->a, s, c->sealed.len > 0 ? NULL : c->request_id, c->opening,
                                         c->code, on_code_stored);
        return;
    }
    log_code(r, c, s->id);
    oidc_code_issue_or_reply(r, &c->a, s, c->request_id[0] ? c->request_id : NULL, c->code, on_code_stored);
}

/* ---- sessions that must register a method first --------------------------- */

/* A session from a Temporary Access Pass serves the account security page
 * only until its holder registers a method (issue 6): the pending request
 * waits, and the page continues it at OIDC_RESUME_PATH afterwards. */
static void to_account_security(gw_req_t *r, const char *request_id)
{
    char location[sizeof(OIDC_ACCOUNT_SECURITY_PATH "?request=") + 36];
    int n = snprintf(location, sizeof(location), OIDC_ACCOUNT_SECURITY_PATH "?request=%s", request_id);
    gw_log_write(GW_LOG_INFO, __func__, r->id, "session must register a method first: request %s",
                 request_id);
    gw_reply_redirect(r, 303, location, (size_t)n);
}

static void on_stored_for_security(gw_req_t *r, PGresult *res, const gw_err_t *err)
{
    az_ctx_t *c = gw_req_state(r, &AZ_STATE_TAG, sizeof(*c));
    char id[37];
    int64_t created;
    if (err != NULL || oidc_az_request_stored(res, id, &created) != 0) {
        oidc_az_respond_error(r, &c->a, OIDC_AZE_TEMPORARILY_UNAVAILABLE, "the request could not be stored");
        return;
    }
    to_account_security(r, id);
}

/* ---- GET|POST /authorize ------------------------------------------------- */

static void on_stored(gw_req_t *r, PGresult *res, const gw_err_t *err)
{
    az_ctx_t *c = gw_req_state(r, &AZ_STATE_TAG, sizeof(*c));
    char id[37];
    int64_t created;
    if (err != NULL || oidc_az_request_stored(res, id, &created) != 0) {
        oidc_az_respond_error(r, &c->a, OIDC_AZE_TEMPORARILY_UNAVAILABLE, "the request could not be stored");
        return;
    }
    /* A relying party that asks for verified recovery (issue 7) sends the
     * person straight to it; the sign-in page links there too. */
    if (c->a.acr_values.base != NULL &&
        oidc_scope_has(c->a.acr_values.base, c->a.acr_values.len, OIDC_ACR_VERIFIED_RECOVERY)) {
        char location[sizeof("/recover?request=") + 36];
        int n = snprintf(location, sizeof(location), "/recover?request=%s", id);
        gw_reply_redirect(r, 303, location, (size_t)n);
        return;
    }
    oidc_signin_page_new(r, id, NULL, c->a.login_hint.base, c->a.acr_values.base, c->a.acr_values.len,
                         c->a.claims.base, c->a.claims.len, c->a.redirect_uri);
}

/* The sign-in page for a request the browser carries in a box (pending.c):
 * nothing is stored until the person uses the page. A request for verified
 * recovery goes to it at once, and one too large for a box, are stored. */
static void show_sign_in(gw_req_t *r, az_ctx_t *c)
{
    char id[OIDC_UUID_LEN + 1];
    const char *sealed = NULL;
    if (c->a.acr_values.base == NULL ||
        !oidc_scope_has(c->a.acr_values.base, c->a.acr_values.len, OIDC_ACR_VERIFIED_RECOVERY))
        sealed = oidc_pending_new(&r->req->pool, &c->a, id);
    if (sealed == NULL) {
        oidc_az_request_store_or_reply(r, &c->a, on_stored);
        return;
    }
    oidc_signin_page_new(r, id, sealed, c->a.login_hint.base, c->a.acr_values.base, c->a.acr_values.len,
                         c->a.claims.base, c->a.claims.len, c->a.redirect_uri);
}

static void on_session(gw_req_t *r, const oidc_session_t *s, const gw_err_t *err)
{
    az_ctx_t *c = gw_req_state(r, &AZ_STATE_TAG, sizeof(*c));
    if (err != NULL) {
        oidc_az_respond_error(r, &c->a, OIDC_AZE_TEMPORARILY_UNAVAILABLE, "please try again");
        return;
    }
    int fits = s != NULL && oidc_az_session_user_fits(&c->a, s->user_id) &&
               oidc_az_session_fits(&c->a, s->auth_time, now_s());
    if (fits && s->register_only) {
        if (c->a.prompt & OIDC_PROMPT_NONE)
            /* OIDC Core §3.1.2.6: the user must act (register a method). */
            oidc_az_respond_error(r, &c->a, OIDC_AZE_INTERACTION_REQUIRED,
                                  "the user must register a sign-in method first");
        else
            oidc_az_request_store_or_reply(r, &c->a, on_stored_for_security);
        return;
    }
    oidc_session_t *fit;
    if (fits && acr_fits(r, &c->a, s, &fit)) {
        issue(r, c, fit);
        return;
    }
    /* OIDC Core §3.1.2.1 prompt=none: "The Authorization Server MUST NOT
     * display any authentication or consent user interface pages." */
    if (c->a.prompt & OIDC_PROMPT_NONE) {
        oidc_az_respond_error(r, &c->a, OIDC_AZE_LOGIN_REQUIRED, "the user is not signed in");
        return;
    }
    if (s != NULL)
        c->a.stale_session = h2o_strdup(&r->req->pool, s->id, strlen(s->id));
    show_sign_in(r, c);
}

/* What is wrong with the request for the registered client, in the order
 * checked: the redirect URI (exact match), then, now that errors may be
 * redirected, the request's own error, the grant and the scopes. */
typedef enum {
    CLIENT_FITS,
    CLIENT_UNKNOWN,
    CLIENT_REDIRECT_URI,
    CLIENT_REQUEST_ERROR,
    CLIENT_GRANT,
    CLIENT_SCOPE,
} client_fault_t;

static client_fault_t client_fault(const oidc_az_request_t *a, const oidc_client_t *client)
{
    if (client == NULL)
        return CLIENT_UNKNOWN;
    if (!oidc_client_redirect_uri_ok(client, a->redirect_uri.base, a->redirect_uri.len))
        return CLIENT_REDIRECT_URI;
    if (a->error != OIDC_AZE_NONE)
        return CLIENT_REQUEST_ERROR;
    if (!(client->grants & OIDC_GRANT_CODE))
        return CLIENT_GRANT;
    for (size_t i = 0; i < a->scope.len;) {
        size_t j = i;
        while (j < a->scope.len && a->scope.base[j] != ' ')
            j++;
        if (!oidc_client_scope_ok(client, a->scope.base + i, j - i))
            return CLIENT_SCOPE;
        i = j + 1;
    }
    return CLIENT_FITS;
}

/* Checks what needs the registered client (client_fault). Returns -1 after
 * replying. */
static int client_checks_or_reply(gw_req_t *r, oidc_az_request_t *a, const oidc_client_t *client,
                                  const gw_err_t *err)
{
    if (err != NULL) {
        page_db_error(r, err);
        return -1;
    }
    switch (client_fault(a, client)) {
    case CLIENT_FITS:
        return 0;
    case CLIENT_UNKNOWN:
        oidc_az_error_page(r, 400, "Unknown application",
                           "The application that sent you here is not registered with this service.");
        break;
    case CLIENT_REDIRECT_URI:
        oidc_az_error_page(r, 400, "Invalid redirect address",
                           "The application asked to return to an address it has not registered.");
        break;
    case CLIENT_REQUEST_ERROR:
        oidc_az_respond_error(r, a, a->error, a->error_description);
        break;
    case CLIENT_GRANT:
        oidc_az_respond_error(r, a, OIDC_AZE_UNAUTHORIZED_CLIENT,
                              "the client may not use the authorization code grant");
        break;
    case CLIENT_SCOPE:
        oidc_az_respond_error(r, a, OIDC_AZE_INVALID_SCOPE, "scope has a value the client may not request");
        break;
    }
    return -1;
}

static void on_client(gw_req_t *r, const oidc_client_t *client, const gw_err_t *err)
{
    az_ctx_t *c = gw_req_state(r, &AZ_STATE_TAG, sizeof(*c));
    if (client_checks_or_reply(r, &c->a, client, err) != 0)
        return;
    oidc_session_current(r, on_session);
}

static void on_authorize(gw_req_t *r)
{
    gw_kvs_t kvs;
    char fatal[160];
    if (oidc_az_read_params_or_page(r, &kvs) != 0)
        return;
    az_ctx_t *c = gw_req_state(r, &AZ_STATE_TAG, sizeof(*c));
    if (oidc_az_parse(&r->req->pool, &kvs, &c->a, fatal, sizeof(fatal)) != 0) {
        oidc_az_error_page(r, 400, "Invalid request", fatal);
        return;
    }
    oidc_client_find(r, c->a.client_id.base, c->a.client_id.len, on_client);
}

/* ---- GET /authorize/resume?request=<id> ------------------------------------ */

/* A sign-in that does not reach the acr asked for, from an account that has
 * no method able to reach it, would only ever loop through the sign-in page.
 * When the session is as strong as anything the account has (so it is the
 * person's best proof, and the account page would let it add a method anyway),
 * the person is sent to the account security page to add a passkey or an
 * authenticator app; with the request kept, registering carries on at
 * resume, where the sign-in page asks for the new method. The session itself
 * is never raised: the acr comes from signing in with the new method. Giving
 * up there answers the relying party unmet_authentication_requirements
 * (on_unmet). A session weaker than the account's best is stepped up as usual. */
static void on_acr_reach(gw_req_t *r, PGresult *res, const gw_err_t *err)
{
    az_ctx_t *c = gw_req_state(r, &AZ_STATE_TAG, sizeof(*c));
    if (err != NULL || res == NULL || PQntuples(res) != 1) {
        if (err != NULL)
            page_db_error(r, err);
        else
            oidc_signin_page(r, c->request_id, c->a.login_hint.base, NULL);
        return;
    }
    int reach = atoi(store_value(res, 0, 0));
    if (reach >= c->need || c->have < reach) {
        oidc_signin_page(r, c->request_id, c->a.login_hint.base, NULL);
        return;
    }
    char location[sizeof(OIDC_ACCOUNT_SECURITY_PATH "?m=acr-mfa&request=") + OIDC_UUID_LEN];
    int n = snprintf(location, sizeof(location), OIDC_ACCOUNT_SECURITY_PATH "?m=%s&request=%s",
                     c->need >= OIDC_ACR_LEVEL_PHISHING_RESISTANT ? "acr-pr" : "acr-mfa", c->request_id);
    gw_log_write(GW_LOG_INFO, __func__, r->id,
                 "no method reaches the acr asked for: to the account page, request %s", c->request_id);
    gw_reply_redirect(r, 303, location, (size_t)n);
}

static void on_unmet_dropped(gw_req_t *r, PGresult *res, const gw_err_t *err)
{
    az_ctx_t *c = gw_req_state(r, &AZ_STATE_TAG, sizeof(*c));
    if (err != NULL) {
        page_db_error(r, err);
        return;
    }
    if (res == NULL || PQntuples(res) != 1) {
        oidc_az_error_page(r, 400, "Sign-in request expired",
                           "This sign-in request was already completed or has expired. "
                           "Go back to the application and try again.");
        return;
    }
    gw_log_write(GW_LOG_INFO, __func__, r->id, "acr not met, the person gave up: request %s", c->request_id);
    /* OpenID Connect Core Error Code unmet_authentication_requirements 1.0 §1. */
    oidc_az_respond_error(r, &c->a, OIDC_AZE_UNMET_AUTHENTICATION_REQUIREMENTS,
                          "the user has no sign-in method that meets the requested acr");
}

/* What a resume answers for session `s` (NULL: none). */
typedef enum {
    RESUME_ISSUE,    /* the code; *fit is the session with the acr to assert */
    RESUME_SECURITY, /* the account security page: a method to register first */
    RESUME_SIGN_IN,  /* the sign-in page: no session that fits */
    RESUME_STEP_UP,  /* a session weaker than the acr asked for */
} resume_next_t;

/* A request that asked for a fresh sign-in (prompt=login, max_age=0,
 * select_account) needs a sign-in made after the request: a session other
 * than the one the browser had then, or one whose auth_time is surely later
 * (auth_time is whole seconds, possibly rounded up, and created_at is
 * rounded down: 2 s covers both). Otherwise the usual rules apply. A
 * sign-in weaker than the acr asked for is stepped up, never accepted. */
static resume_next_t resume_next(gw_req_t *r, const az_ctx_t *c, const oidc_session_t *s,
                                 oidc_session_t **fit)
{
    int fits = 0;
    if (s != NULL && oidc_az_session_user_fits(&c->a, s->user_id)) {
        int wants_fresh =
            (c->a.prompt & (OIDC_PROMPT_LOGIN | OIDC_PROMPT_SELECT_ACCOUNT)) || c->a.max_age == 0;
        if (wants_fresh) {
            int other = c->a.stale_session.base == NULL || strcmp(c->a.stale_session.base, s->id) != 0;
            fits = other || s->auth_time >= c->created_at + 2;
        } else {
            fits = oidc_az_session_fits(&c->a, s->auth_time, now_s());
        }
    }
    if (!fits)
        return RESUME_SIGN_IN;
    if (s->register_only)
        return RESUME_SECURITY;
    return acr_fits(r, &c->a, s, fit) ? RESUME_ISSUE : RESUME_STEP_UP;
}

static void on_resume_session(gw_req_t *r, const oidc_session_t *s, const gw_err_t *err)
{
    az_ctx_t *c = gw_req_state(r, &AZ_STATE_TAG, sizeof(*c));
    if (err != NULL) {
        oidc_az_respond_error(r, &c->a, OIDC_AZE_TEMPORARILY_UNAVAILABLE, "please try again");
        return;
    }
    oidc_session_t *fit = NULL;
    switch (resume_next(r, c, s, &fit)) {
    case RESUME_ISSUE:
        issue(r, c, fit);
        return;
    case RESUME_SECURITY:
        to_account_security(r, c->request_id);
        return;
    case RESUME_SIGN_IN:
        oidc_signin_page(r, c->request_id, c->a.login_hint.base, NULL);
        return;
    case RESUME_STEP_UP:
        c->need =
            oidc_acr_needed(c->a.acr_values.base, c->a.acr_values.len, c->a.claims.base, c->a.claims.len);
        c->have = oidc_acr_level(s->acr);
        if (c->need >= OIDC_ACR_LEVEL_MFA && c->have < c->need)
            oidc_az_acr_reach_or_reply(r, s->user_id, on_acr_reach);
        else
            oidc_signin_page(r, c->request_id, c->a.login_hint.base, NULL);
        return;
    }
}

static void on_resume_client(gw_req_t *r, const oidc_client_t *client, const gw_err_t *err);

/* The password sign-in's session is stored on its own after all: the resume
 * goes on as for a stored one (the client is looked up again, from the
 * cache, and the same checks give the same answer). */
static void on_opened_first(gw_req_t *r, PGresult *res, const gw_err_t *err)
{
    az_ctx_t *c = gw_req_state(r, &AZ_STATE_TAG, sizeof(*c));
    oidc_session_t *s = &c->opening->s;
    if (err != NULL) {
        page_db_error(r, err);
        return;
    }
    if (oidc_session_opened(res, s) != 0) {
        oidc_az_error_page(r, 500, "Something went wrong", "The sign-in could not be completed.");
        return;
    }
    oidc_session_log_signed_in(r, s);
    c->opening = NULL;
    oidc_client_find(r, c->a.client_id.base, c->a.client_id.len, on_resume_client);
}

/* Any answer but a code leads somewhere that finds the request by id (a
 * step-up, the account page, the sign-in page again): a request the browser
 * carried is stored first. Whether it still was live is for those steps to
 * find, as for a stored one. */
static void on_pending_stored(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    (void)data;
    (void)res;
    az_ctx_t *c = gw_req_state(r, &AZ_STATE_TAG, sizeof(*c));
    if (err != NULL) {
        page_db_error(r, err);
        return;
    }
    c->sealed = h2o_iovec_init(NULL, 0);
    oidc_session_open_or_reply(r, c->opening, on_opened_first);
}

static void on_resume_client(gw_req_t *r, const oidc_client_t *client, const gw_err_t *err)
{
    az_ctx_t *c = gw_req_state(r, &AZ_STATE_TAG, sizeof(*c));
    /* A password sign-in's session not stored yet goes with the code when
     * the answer is a code; any other answer stores it first. */
    if (c->opening != NULL) {
        oidc_session_t *fit = NULL;
        if (err == NULL && client_fault(&c->a, client) == CLIENT_FITS &&
            resume_next(r, c, c->signed_in, &fit) == RESUME_ISSUE)
            issue(r, c, fit);
        else if (c->sealed.len > 0)
            oidc_pending_live_query(r, c->request_id, c->sealed, on_pending_stored, NULL);
        else
            oidc_session_open_or_reply(r, c->opening, on_opened_first);
        return;
    }
    /* The registration may have changed while the user signed in. */
    if (client_checks_or_reply(r, &c->a, client, err) != 0)
        return;
    if (c->unmet) {
        oidc_az_request_drop_or_reply(r, c->request_id, on_unmet_dropped);
        return;
    }
    if (c->signed_in != NULL)
        on_resume_session(r, c->signed_in, NULL);
    else
        oidc_session_current(r, on_resume_session);
}

/* Reads the stored parameters, then goes on as on_loaded does. */
static void resume_from_json(gw_req_t *r, az_ctx_t *c, const char *json)
{
    if (oidc_az_from_json(&r->req->pool, json, strlen(json), &c->a) != 0) {
        oidc_az_error_page(r, 500, "Something went wrong", "The sign-in request could not be read.");
        return;
    }
    oidc_client_find(r, c->a.client_id.base, c->a.client_id.len, on_resume_client);
}

void oidc_az_resume_opening(gw_req_t *r, const char *request_id, h2o_iovec_t sealed, const char *params_json,
                            int64_t created_at, oidc_session_opening_t *o)
{
    az_ctx_t *c = gw_req_state(r, &AZ_STATE_TAG, sizeof(*c));
    snprintf(c->request_id, sizeof(c->request_id), "%s", request_id);
    c->sealed = sealed;
    c->created_at = created_at;
    c->opening = o;
    c->signed_in = &o->s;
    resume_from_json(r, c, params_json);
}

static void on_loaded(gw_req_t *r, PGresult *res, const gw_err_t *err)
{
    az_ctx_t *c = gw_req_state(r, &AZ_STATE_TAG, sizeof(*c));
    const char *json;
    if (err != NULL) {
        page_db_error(r, err);
        return;
    }
    if (oidc_az_request_loaded(res, &json, &c->created_at) != 0) {
        oidc_az_error_page(r, 400, "Sign-in request expired",
                           "This sign-in request was already completed or has expired. "
                           "Go back to the application and try again.");
        return;
    }
    resume_from_json(r, c, json);
}

static void on_resume(gw_req_t *r)
{
    gw_kvs_t kvs;
    gw_err_t err;
    h2o_iovec_t id, unmet;
    if (oidc_az_read_params_or_page(r, &kvs) != 0)
        return;
    if (gw_kvs_get_once(&kvs, "request", &id, &err) != 0 || !oidc_uuid_ok(id.base, id.len) ||
        gw_kvs_get_once(&kvs, "unmet", &unmet, &err) != 0) {
        oidc_az_error_page(r, 400, "Invalid request", "The sign-in request is missing or malformed.");
        return;
    }
    az_ctx_t *c = gw_req_state(r, &AZ_STATE_TAG, sizeof(*c));
    /* ?unmet=1: the account page's "go back without it" (on_acr_reach). */
    c->unmet = unmet.base != NULL && h2o_memis(unmet.base, unmet.len, H2O_STRLIT("1"));
    memcpy(c->request_id, id.base, 36);
    c->request_id[36] = '\0';
    oidc_az_request_load_or_reply(r, c->request_id, on_loaded);
}

/* ---- registration ----------------------------------------------------------- */

static gw_route_t ROUTE_AUTHORIZE = {
    "/authorize", GW_GET | GW_POST, GW_ROUTE_HTML | GW_ROUTE_NO_STORE, on_authorize, NULL, NULL, 0};
static gw_route_t ROUTE_RESUME = {
    OIDC_RESUME_PATH, GW_GET, GW_ROUTE_HTML | GW_ROUTE_NO_STORE, on_resume, NULL, NULL, 0};

void oidc_authorize_register(const gw_config_t *cfg)
{
    oidc_pending_keys_init(cfg->keys.encryption_key);
    oidc_pending_db_register();
    oidc_authorize_db_register();
    oidc_code_db_register();
    gw_route_register(&ROUTE_AUTHORIZE);
    gw_route_register(&ROUTE_RESUME);
    oidc_az_static_register();
    oidc_logout_register();
}
