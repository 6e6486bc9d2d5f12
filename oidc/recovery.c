/* Verified recovery, the way in: the routes, starting an attempt, and
 * handing the person to the identity-verification provider and back.
 *
 *   GET  /recover?request=ID     name the account, choose a provider
 *   POST /recover                start the attempt (recovery.started), let
 *                                the provider begin (recovery.verifying),
 *                                303 to where the provider says
 *   GET  /recover/dev            the dev provider's simulated check
 *   GET|POST /recover/callback   the provider's answer (state = the handle)
 *
 * The attempt is bound three ways: the handle (high entropy, sent to the
 * provider as `state`, stored only as a keyed hash and spent on use), a
 * cookie holding the same handle (the answer must come back to the browser
 * that started), and the nonce and PKCE verifier the provider must honour.
 * Every refusal after the attempt exists is recorded with its reason and
 * shown as the same neutral outcome. */
#include <stdio.h>
#include <string.h>

#include "gateway/alloc.h"
#include "gateway/log.h"
#include "gateway/secrets.h"
#include "oidc/recovery_internal.h"

#define LOG(r, level, ...) gw_log_write((level), "recovery", (r)->id, __VA_ARGS__)

void oidc_recovery_unavailable(gw_req_t *r, const gw_err_t *err)
{
    LOG(r, GW_LOG_ERROR, "database: %s (%s)", err ? err->public : "?", err ? err->detail : "");
    gw_reply_header(r, "retry-after", H2O_STRLIT("5"));
    oidc_error_page(r, 503, "Recovery unavailable",
                    "Account recovery is unavailable right now. Try again in a moment.");
}

int oidc_recovery_policy_read(gw_req_t *r, PGresult *res, rcv_policy_t *p)
{
    const char *doc = PQntuples(res) == 1 ? store_value(res, 0, 0) : NULL;
    char msg[200];
    if (doc == NULL) {
        rcv_policy_defaults(p); /* no policy: disabled */
        return 0;
    }
    if (rcv_policy_parse(doc, strlen(doc), p, msg, sizeof(msg)) != 0) {
        LOG(r, GW_LOG_ERROR, "recovery policy unusable: %s", msg);
        return -1;
    }
    return 0;
}

static void page_bad_link(gw_req_t *r)
{
    oidc_error_page(
        r, 400, "Recovery link not valid",
        "This recovery link is not valid or has expired. Go back to the application and start again.");
}

/* The providers the policy allows, in configuration order. */
static size_t allowed_providers(const rcv_policy_t *p, const char **ids, const char **names)
{
    size_t n = 0;
    for (size_t i = 0; i < prov_count(); i++) {
        prov_provider_t *pv = prov_at(i);
        if (rcv_policy_allows_provider(p, pv->cfg->id)) {
            ids[n] = pv->cfg->id;
            names[n] = pv->cfg->display_name;
            n++;
        }
    }
    return n;
}

/* ---- GET /recover ----------------------------------------------------------- */

typedef struct {
    char request_id[OIDC_UUID_LEN + 1];
    char *hint;
    /* POST */
    char *username;
    h2o_iovec_t provider;
    oidc_recovery_t *a;
    char handle[GW_SECRET_LEN + 1];
} start_t;

static void render_start(gw_req_t *r, start_t *s, const rcv_policy_t *p, const char *error)
{
    const char *ids[GW_CONFIG_MAX_PROVIDERS], *names[GW_CONFIG_MAX_PROVIDERS];
    size_t n = allowed_providers(p, ids, names);
    h2o_iovec_t cookie = oidc_csrf_cookie_get_or_set(r);
    char token[OIDC_CSRF_TOKEN_LEN + 1];
    oidc_csrf_token(cookie.base, cookie.len, s->request_id, token);
    oidc_recovery_start_view_t v = {s->request_id,
                                    token,
                                    s->username ? s->username : s->hint,
                                    p->mode == RCV_POLICY_EVALUATION,
                                    ids,
                                    names,
                                    n,
                                    error};
    oidc_recovery_page_send(r, 200, oidc_page_recovery_start(&r->req->pool, &v));
}

static void on_get_policy(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    start_t *s = data;
    rcv_policy_t p;
    if (res == NULL) {
        oidc_recovery_unavailable(r, err);
        return;
    }
    if (oidc_recovery_policy_read(r, res, &p) != 0)
        rcv_policy_defaults(&p);
    render_start(r, s, &p, NULL);
}

/* The pending sign-in request's row: 0 with its login_hint in *hint (a copy,
 * or NULL when absent or longer than a username), or -1 after the page for an
 * outage or an unknown request. */
static int request_hint(gw_req_t *r, PGresult *res, const gw_err_t *err, char **hint)
{
    if (res == NULL) {
        oidc_recovery_unavailable(r, err);
        return -1;
    }
    if (PQntuples(res) != 1) {
        page_bad_link(r);
        return -1;
    }
    const char *v = store_value(res, 0, 0);
    *hint = v != NULL && strlen(v) <= OIDC_USERNAME_MAX_BYTES ? gw_req_strdup(r, v, strlen(v)).base : NULL;
    return 0;
}

static void on_get_request(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    start_t *s = data;
    if (request_hint(r, res, err, &s->hint) != 0)
        return;
    gw_req_query(r, &oidc_stmt_recovery_policy, NULL, on_get_policy, s);
}

static int request_param(gw_req_t *r, const gw_kvs_t *kv, char out[OIDC_UUID_LEN + 1])
{
    h2o_iovec_t v;
    gw_err_t err;
    if (gw_kvs_get_once(kv, "request", &v, &err) != 0 || v.base == NULL || !oidc_uuid_ok(v.base, v.len)) {
        page_bad_link(r);
        return -1;
    }
    memcpy(out, v.base, OIDC_UUID_LEN);
    out[OIDC_UUID_LEN] = '\0';
    return 0;
}

static void on_get(gw_req_t *r)
{
    gw_kvs_t q;
    if (gw_req_query_params_or_reply(r, &q) != 0)
        return;
    start_t *s = gw_req_alloc(r, sizeof(*s));
    memset(s, 0, sizeof(*s));
    if (request_param(r, &q, s->request_id) != 0)
        return;
    /* From the sign-in page, the request comes in its box (pending.c) and
     * is stored from it here: recovery comes back to it by id. */
    h2o_iovec_t pending;
    gw_err_t err;
    if (gw_kvs_get_once(&q, OIDC_PENDING_FIELD, &pending, &err) != 0) {
        page_bad_link(r);
        return;
    }
    oidc_pending_live_query(r, s->request_id, pending.base != NULL ? pending : h2o_iovec_init(NULL, 0),
                            on_get_request, s);
}

/* ---- POST /recover -------------------------------------------------------------- */

static void outcome(gw_req_t *r, int evaluation)
{
    oidc_recovery_page_send(r, 200, oidc_page_recovery_outcome(&r->req->pool, evaluation));
}

static void on_verifying(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    const char *location = data;
    if (res == NULL) {
        oidc_recovery_unavailable(r, err);
        return;
    }
    const char *status = PQntuples(res) == 1 ? store_value(res, 0, 0) : NULL;
    if (status == NULL || strcmp(status, "ok") != 0) {
        outcome(r, 0);
        return;
    }
    gw_reply_redirect(r, 303, location, strlen(location));
}

static void on_begun(gw_req_t *r, void *data, const char *location, const char *reason)
{
    start_t *s = data;
    if (location == NULL) {
        LOG(r, GW_LOG_WARN, "attempt %s: provider %s could not begin: %s", s->a->id, s->a->provider_id,
            reason);
        oidc_recovery_refuse(r, s->a, "started", "failed", reason ? reason : PROV_R_PROVIDER_ERROR);
        return;
    }
    char *loc = gw_req_strdup(r, location, strlen(location)).base;
    const char *params[16] = {s->a->id, "{started}", "verifying", NULL, "{}", s->a->peer, s->a->user_agent};
    gw_req_query(r, &oidc_stmt_recovery_move, params, on_verifying, loc);
}

static void on_started(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    start_t *s = data;
    oidc_recovery_t *a = s->a;
    if (res == NULL) {
        oidc_recovery_unavailable(r, err);
        return;
    }
    const char *status = PQntuples(res) == 1 ? store_value(res, 0, 0) : NULL;
    if (status == NULL || strcmp(status, "ok") != 0) {
        LOG(r, GW_LOG_INFO, "attempt refused at start: %s", status ? status : "?");
        outcome(r, a->policy.mode == RCV_POLICY_EVALUATION);
        return;
    }
    snprintf(a->id, sizeof(a->id), "%s", store_value(res, 0, 1));
    LOG(r, GW_LOG_INFO, "attempt %s started with provider %s", a->id, a->provider_id);
    /* The handle travels back in the provider's redirect to this browser. */
    h2o_iovec_t sc =
        gw_cookie_build(&r->req->pool, OIDC_RECOVERY_COOKIE, h2o_iovec_init(s->handle, GW_SECRET_LEN),
                        (long long)a->policy.attempt_lifetime_s, GW_COOKIE_DEFAULT);
    if (sc.base != NULL)
        gw_reply_header(r, "set-cookie", sc.base, sc.len);
    size_t n = strlen(oidc_cfg->issuer) + sizeof(OIDC_RECOVERY_CALLBACK_PATH);
    char *redirect_uri = gw_req_alloc(r, n);
    snprintf(redirect_uri, n, "%s" OIDC_RECOVERY_CALLBACK_PATH, oidc_cfg->issuer);
    const char **claims = gw_req_alloc(r, sizeof(char *) * (RCV_MAX_RULES + 1));
    size_t nclaims = 0;
    for (size_t i = 0; i < a->policy.rule_count; i++)
        claims[nclaims++] = a->policy.rules[i].claim;
    if (a->policy.disambiguation.attr != RCV_ATTR_NONE)
        claims[nclaims++] = a->policy.disambiguation.claim;
    prov_begin_t b = {a->id,        s->handle,         a->nonce, a->verifier,
                      redirect_uri, a->named_username, claims,   nclaims};
    a->provider->ops->begin(a->provider, r, &b, on_begun, s);
}

static void on_post_policy(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    start_t *s = data;
    oidc_recovery_t *a = s->a;
    if (res == NULL) {
        oidc_recovery_unavailable(r, err);
        return;
    }
    if (oidc_recovery_policy_read(r, res, &a->policy) != 0)
        rcv_policy_defaults(&a->policy); /* disabled */
    if (a->named_username == NULL) {
        render_start(r, s, &a->policy, "Enter your username.");
        return;
    }
    const char *refuse = NULL;
    a->provider = prov_find(s->provider.base ? s->provider.base : "", s->provider.len);
    if (a->provider == NULL || !rcv_policy_allows_provider(&a->policy, a->provider->cfg->id)) {
        refuse = "provider_not_allowed";
        snprintf(a->provider_id, sizeof(a->provider_id), "%s",
                 a->provider ? a->provider->cfg->id : "unknown");
    } else {
        snprintf(a->provider_id, sizeof(a->provider_id), "%s", a->provider->cfg->id);
    }
    gw_secret_new(s->handle);
    char hash[GW_SECRET_HASH_HEX_LEN + 1];
    gw_secret_hash_hex(s->handle, GW_SECRET_LEN, hash);
    a->nonce = gw_req_alloc(r, GW_SECRET_LEN + 1);
    a->verifier = gw_req_alloc(r, GW_SECRET_LEN + 1);
    gw_secret_new(a->nonce);
    gw_secret_new(a->verifier);
    const rcv_policy_t *p = &a->policy;
    const char *mode = p->mode == RCV_POLICY_ENABLED      ? "enabled"
                       : p->mode == RCV_POLICY_EVALUATION ? "evaluation"
                                                          : "disabled";
    a->evaluation = p->mode == RCV_POLICY_EVALUATION;
    char num[4][24];
    snprintf(num[0], sizeof(num[0]), "%lld", (long long)p->attempt_lifetime_s);
    snprintf(num[1], sizeof(num[1]), "%lld", (long long)p->rate_window_s);
    snprintf(num[2], sizeof(num[2]), "%lld", (long long)p->max_attempts_per_address);
    snprintf(num[3], sizeof(num[3]), "%lld", (long long)p->max_attempts_per_account);
    const char *params[16] = {s->request_id,
                              a->named_username,
                              a->provider_id,
                              hash,
                              a->nonce,
                              a->verifier,
                              mode,
                              num[0],
                              num[1],
                              num[2],
                              num[3],
                              p->end_sessions ? "true" : "false",
                              p->remove_methods ? "true" : "false",
                              a->peer,
                              a->user_agent,
                              refuse};
    gw_req_query(r, &oidc_stmt_recovery_start, params, on_started, s);
}

static void on_post_request(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    start_t *s = data;
    char *hint;
    if (request_hint(r, res, err, &hint) != 0)
        return;
    if (s->a->named_username == NULL && hint != NULL && hint[0] != '\0')
        s->a->named_username = hint;
    gw_req_query(r, &oidc_stmt_recovery_policy, NULL, on_post_policy, s);
}

static void on_post(gw_req_t *r)
{
    gw_kvs_t form;
    gw_err_t err;
    if (gw_req_form_or_reply(r, &form) != 0)
        return;
    start_t *s = gw_req_alloc(r, sizeof(*s));
    memset(s, 0, sizeof(*s));
    if (request_param(r, &form, s->request_id) != 0)
        return;
    h2o_iovec_t csrf = {NULL, 0}, username = {NULL, 0};
    if (gw_kvs_get_once(&form, OIDC_CSRF_FIELD, &csrf, &err) != 0 ||
        gw_kvs_get_once(&form, "username", &username, &err) != 0 ||
        gw_kvs_get_once(&form, "provider", &s->provider, &err) != 0) {
        oidc_error_page(r, 400, "Bad request", "The recovery form was sent with a repeated field.");
        return;
    }
    h2o_iovec_t cookie;
    if (!gw_req_cookie(r, OIDC_CSRF_COOKIE, &cookie) || csrf.base == NULL ||
        !oidc_csrf_ok(cookie.base, cookie.len, s->request_id, csrf.base, csrf.len)) {
        LOG(r, GW_LOG_WARN, "refused: CSRF token missing or wrong");
        oidc_error_page(
            r, 403, "Recovery form expired",
            "This form has expired or did not come from this site. Go back to the application and "
            "start again.");
        return;
    }
    oidc_recovery_t *a = gw_req_alloc(r, sizeof(*a));
    memset(a, 0, sizeof(*a));
    s->a = a;
    memcpy(a->request_id, s->request_id, sizeof(a->request_id));
    if (username.base != NULL && username.len > 0 && username.len <= OIDC_USERNAME_MAX_BYTES)
        a->named_username = s->username = gw_req_strdup(r, username.base, username.len).base;
    gw_req_peer(r, a->peer);
    a->user_agent = oidc_req_user_agent(r);
    const char *params[1] = {s->request_id};
    gw_req_query(r, &oidc_stmt_authz_request_live, params, on_post_request, s);
}

static void on_recover(gw_req_t *r)
{
    if (h2o_memis(r->req->method.base, r->req->method.len, H2O_STRLIT("POST")))
        on_post(r);
    else
        on_get(r);
}

/* ---- GET /recover/dev ------------------------------------------------------------- */

/* 1 when the browser's recovery cookie holds `handle` (constant time). */
static int cookie_holds(gw_req_t *r, h2o_iovec_t handle)
{
    h2o_iovec_t c;
    return handle.base != NULL && handle.len == GW_SECRET_LEN && gw_req_cookie(r, OIDC_RECOVERY_COOKIE, &c) &&
           c.len == GW_SECRET_LEN && gw_ct_equal(c.base, handle.base, GW_SECRET_LEN);
}

static void on_dev(gw_req_t *r)
{
    gw_kvs_t q;
    gw_err_t err;
    if (gw_req_query_params_or_reply(r, &q) != 0)
        return;
    h2o_iovec_t pid = {NULL, 0}, handle = {NULL, 0};
    if (gw_kvs_get_once(&q, "provider", &pid, &err) != 0 ||
        gw_kvs_get_once(&q, "handle", &handle, &err) != 0 || pid.base == NULL) {
        page_bad_link(r);
        return;
    }
    prov_provider_t *p = prov_find(pid.base, pid.len);
    if (p == NULL || p->ops != &prov_dev_ops || !oidc_cfg->dev_mode || !cookie_holds(r, handle)) {
        page_bad_link(r);
        return;
    }
    oidc_recovery_page_send(r, 200,
                            oidc_page_recovery_dev(&r->req->pool, p->cfg->display_name,
                                                   gw_req_strdup(r, handle.base, handle.len).base));
}

/* ---- GET|POST /recover/callback ---------------------------------------------------- */

typedef struct {
    oidc_recovery_t *a;
    gw_kvs_t params;
    h2o_iovec_t state;
    int browser_ok;
} callback_t;

static void on_finished(gw_req_t *r, void *data, const prov_identity_t *id, const char *reason)
{
    callback_t *c = data;
    oidc_recovery_finished(r, c->a, id, reason);
}

static void on_callback_policy(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    callback_t *c = data;
    oidc_recovery_t *a = c->a;
    if (res == NULL) {
        oidc_recovery_unavailable(r, err);
        return;
    }
    if (oidc_recovery_policy_read(r, res, &a->policy) != 0) {
        oidc_recovery_refuse(r, a, "verifying", "failed", "policy_unusable");
        return;
    }
    /* The policy as it is now, not as it was when the attempt started: an
     * administrator who disables recovery or withdraws a provider (a
     * compromised one, say) must stop the attempts already at the
     * provider too. recovery_issue_tap checks the mode once more. */
    if (a->policy.mode == RCV_POLICY_DISABLED) {
        oidc_recovery_refuse(r, a, "verifying", "rejected", "recovery_disabled");
        return;
    }
    if (!rcv_policy_allows_provider(&a->policy, a->provider_id)) {
        oidc_recovery_refuse(r, a, "verifying", "rejected", "provider_not_allowed");
        return;
    }
    /* Switched to evaluation since: the flow runs on, audited, no TAP. */
    if (a->policy.mode == RCV_POLICY_EVALUATION)
        a->evaluation = 1;
    size_t n = strlen(oidc_cfg->issuer) + sizeof(OIDC_RECOVERY_CALLBACK_PATH);
    char *redirect_uri = gw_req_alloc(r, n);
    snprintf(redirect_uri, n, "%s" OIDC_RECOVERY_CALLBACK_PATH, oidc_cfg->issuer);
    const char **claims = gw_req_alloc(r, sizeof(char *) * (RCV_MAX_RULES + 1));
    for (size_t i = 0; i < a->policy.rule_count; i++)
        claims[i] = a->policy.rules[i].claim;
    prov_finish_t f = {&c->params, a->nonce, a->verifier, redirect_uri, claims, a->policy.rule_count};
    a->provider->ops->finish(a->provider, r, &f, on_finished, c);
}

static char *dup_or_null(gw_req_t *r, const char *s)
{
    return s == NULL ? NULL : gw_req_strdup(r, s, strlen(s)).base;
}

static void on_handle(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    callback_t *c = data;
    if (res == NULL) {
        oidc_recovery_unavailable(r, err);
        return;
    }
    if (PQntuples(res) != 1) {
        LOG(r, GW_LOG_INFO, "callback for an unknown or spent handle");
        outcome(r, 0);
        return;
    }
    oidc_recovery_t *a = gw_req_alloc(r, sizeof(*a));
    memset(a, 0, sizeof(*a));
    c->a = a;
    snprintf(a->id, sizeof(a->id), "%s", store_value(res, 0, 0));
    snprintf(a->provider_id, sizeof(a->provider_id), "%s", store_value(res, 0, 1));
    const char *state = store_value(res, 0, 2);
    const char *expired = store_value(res, 0, 3);
    a->nonce = dup_or_null(r, store_value(res, 0, 4));
    a->verifier = dup_or_null(r, store_value(res, 0, 5));
    const char *req = store_value(res, 0, 6);
    snprintf(a->request_id, sizeof(a->request_id), "%s", req ? req : "");
    a->named_username = dup_or_null(r, store_value(res, 0, 7));
    a->named_user = dup_or_null(r, store_value(res, 0, 8));
    const char *ev = store_value(res, 0, 9);
    a->evaluation = ev != NULL && ev[0] == 't';
    gw_req_peer(r, a->peer);
    a->user_agent = oidc_req_user_agent(r);
    a->provider = prov_find(a->provider_id, strlen(a->provider_id));
    if (state == NULL || strcmp(state, "verifying") != 0) {
        outcome(r, a->evaluation);
        return;
    }
    if (!c->browser_ok) {
        /* Someone else's browser brought the answer back. */
        oidc_recovery_refuse(r, a, "verifying", "failed", "browser_mismatch");
        return;
    }
    if (expired != NULL && expired[0] == 't') {
        oidc_recovery_refuse(r, a, "verifying", "expired",
                             "expired"); /* recovery_move turns it into expired */
        return;
    }
    if (a->provider == NULL) {
        oidc_recovery_refuse(r, a, "verifying", "failed", "provider_gone");
        return;
    }
    gw_req_query(r, &oidc_stmt_recovery_policy, NULL, on_callback_policy, c);
}

static void on_callback(gw_req_t *r)
{
    callback_t *c = gw_req_alloc(r, sizeof(*c));
    memset(c, 0, sizeof(*c));
    gw_err_t err;
    if (h2o_memis(r->req->method.base, r->req->method.len, H2O_STRLIT("POST"))) {
        if (gw_req_form_or_reply(r, &c->params) != 0)
            return;
    } else if (gw_req_query_params_or_reply(r, &c->params) != 0) {
        return;
    }
    if (gw_kvs_get_once(&c->params, "state", &c->state, &err) != 0 || c->state.base == NULL ||
        c->state.len != GW_SECRET_LEN || !oidc_secret_format_ok(c->state.base, c->state.len)) {
        page_bad_link(r);
        return;
    }
    c->browser_ok = cookie_holds(r, c->state);
    /* The cookie has done its job whatever happens next. */
    h2o_iovec_t sc =
        gw_cookie_build(&r->req->pool, OIDC_RECOVERY_COOKIE, h2o_iovec_init("", 0), 0, GW_COOKIE_DEFAULT);
    if (sc.base != NULL)
        gw_reply_header(r, "set-cookie", sc.base, sc.len);
    char hash[GW_SECRET_HASH_HEX_LEN + 1];
    gw_secret_hash_hex(c->state.base, c->state.len, hash);
    const char *params[1] = {gw_req_strdup(r, hash, strlen(hash)).base};
    gw_req_query(r, &oidc_stmt_recovery_by_handle, params, on_handle, c);
}

/* ---- registration ---------------------------------------------------------------- */

static gw_route_t g_dev = {
    OIDC_RECOVERY_DEV_PATH, GW_GET, GW_ROUTE_HTML | GW_ROUTE_NO_STORE, on_dev, NULL, NULL, 0};
static gw_route_t g_callback = {OIDC_RECOVERY_CALLBACK_PATH,
                                GW_GET | GW_POST,
                                GW_ROUTE_HTML | GW_ROUTE_NO_STORE,
                                on_callback,
                                NULL,
                                NULL,
                                0};
static gw_route_t g_recover = {
    OIDC_RECOVERY_PATH, GW_GET | GW_POST, GW_ROUTE_HTML | GW_ROUTE_NO_STORE, on_recover, NULL, NULL, 0};

int oidc_recovery_register(const gw_config_t *cfg, char *msg, size_t msgsize)
{
    if (prov_registry_init(cfg, msg, msgsize) != 0)
        return -1;
    oidc_recovery_db_register();
    gw_route_register(&g_dev);
    gw_route_register(&g_callback);
    gw_route_register(&g_recover);
    oidc_recovery_admin_register();
    return 0;
}
