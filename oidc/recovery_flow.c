/* Verified recovery after the provider has answered: the result becomes
 * `verified` (usable once), the evidence is checked against the policy, the
 * verified claims are matched to exactly one directory account, the
 * organisation's claim-validation webhook may veto, the attempt becomes
 * `matched`, and (policy mode enabled) a TAP is minted and shown once.
 *
 * Each refusal moves the attempt to rejected / failed / expired with its
 * reason (and the rule results for matching) and shows the neutral outcome. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/alloc.h"
#include "gateway/log.h"
#include "oidc/recovery_internal.h"

#define LOG(r, level, ...) gw_log_write((level), "recovery", (r)->id, __VA_ARGS__)

/* A verification time may be this far in the provider's future (clocks). */
#define CLOCK_SKEW_S 300

static void outcome(gw_req_t *r, const oidc_recovery_t *a)
{
    oidc_recovery_page_send(r, 200, oidc_page_recovery_outcome(&r->req->pool, a->evaluation));
}

/* Disposes the identity copy when the request ends, whatever path it took. */
static void identity_dispose(void *p)
{
    prov_identity_dispose(*(prov_identity_t **)p);
}

/* ---- moving the attempt ---------------------------------------------------- */

typedef struct {
    const char *from, *to, *reason;
    const char *detail;      /* JSON object text or NULL */
    const char *result_hash; /* bytea hex */
    const char *txn;
    const char *verified_at; /* epoch s */
    const char *claims;      /* JSON */
    const char *user;
    int rate_check;
    const char *provider_result; /* the provider's signed result, kept for aggregation */
} move_t;

static void move(gw_req_t *r, oidc_recovery_t *a, const move_t *m, gw_req_query_data_cb cb)
{
    char from[32], window[24], acct[24];
    snprintf(from, sizeof(from), "{%s}", m->from);
    snprintf(window, sizeof(window), "%lld", (long long)a->policy.rate_window_s);
    snprintf(acct, sizeof(acct), "%lld", (long long)a->policy.max_attempts_per_account);
    const char *params[16] = {a->id,
                              gw_req_strdup(r, from, strlen(from)).base,
                              m->to,
                              m->reason,
                              m->detail ? m->detail : "{}",
                              a->peer,
                              a->user_agent,
                              m->result_hash,
                              m->txn,
                              m->verified_at,
                              m->claims,
                              m->user,
                              NULL, /* p_tap: minting records it (recovery_issue_tap) */
                              m->rate_check ? gw_req_strdup(r, window, strlen(window)).base : NULL,
                              m->rate_check ? gw_req_strdup(r, acct, strlen(acct)).base : NULL,
                              m->provider_result};
    gw_req_query(r, &oidc_stmt_recovery_move, params, cb, a);
}

static const char *move_status(PGresult *res)
{
    return res != NULL && PQntuples(res) == 1 ? store_value(res, 0, 0) : NULL;
}

static void on_refused(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    oidc_recovery_t *a = data;
    if (res == NULL) {
        oidc_recovery_unavailable(r, err);
        return;
    }
    outcome(r, a);
}

void oidc_recovery_refuse(gw_req_t *r, oidc_recovery_t *a, const char *from, const char *to,
                          const char *reason)
{
    LOG(r, GW_LOG_INFO, "attempt %s: %s -> %s (%s)", a->id, from, to, reason);
    move_t m = {.from = from, .to = to, .reason = reason};
    move(r, a, &m, on_refused);
}

static void refuse_with_detail(gw_req_t *r, oidc_recovery_t *a, const char *from, const char *reason,
                               const char *detail, const char *user)
{
    LOG(r, GW_LOG_INFO, "attempt %s: %s -> rejected (%s)", a->id, from, reason);
    move_t m = {.from = from, .to = "rejected", .reason = reason, .detail = detail, .user = user};
    move(r, a, &m, on_refused);
}

/* ---- TAP ------------------------------------------------------------------------ */

static void on_minted(gw_req_t *r, void *data, const oidc_tap_minted_t *tap, const gw_err_t *err)
{
    oidc_recovery_t *a = data;
    if (tap == NULL && err != NULL && err->kind == GW_E_CONFLICT) {
        /* Expired between the match and now: the statement recorded it and
         * minted nothing. */
        LOG(r, GW_LOG_INFO, "attempt %s: no TAP: %s", a->id, err->public);
        outcome(r, a);
        return;
    }
    if (tap == NULL && err != NULL && (err->kind == GW_E_UNAVAILABLE || err->kind == GW_E_TIMEOUT)) {
        oidc_recovery_unavailable(r, err);
        return;
    }
    if (tap == NULL) {
        LOG(r, GW_LOG_ERROR, "attempt %s: TAP not minted: %s", a->id, err ? err->public : "?");
        oidc_recovery_refuse(r, a, "matched", "failed", "tap_issue_failed");
        return;
    }
    /* Minting moved the attempt to tap_issued in the same statement. */
    LOG(r, GW_LOG_INFO, "attempt %s: TAP %s issued for user %s", a->id, tap->id, a->matched->id);
    oidc_recovery_notify(r, "recovery.tap_issued", a->id, a->matched->id, a->matched->user_name, tap->id);
    h2o_iovec_t cookie = oidc_csrf_cookie_get_or_set(r);
    char token[OIDC_CSRF_TOKEN_LEN + 1];
    oidc_csrf_token(cookie.base, cookie.len, a->request_id, token);
    /* The page (in the pool) holds the TAP until the response is sent; h2o
     * frees the pool right after. The minted text is wiped when this
     * callback returns. */
    h2o_iovec_t page = oidc_page_recovery_tap(&r->req->pool, tap->tap, tap->expires, a->request_id, token,
                                              a->matched->user_name);
    oidc_recovery_page_send(r, 200, page);
}

static void mint(gw_req_t *r, oidc_recovery_t *a)
{
    const rcv_policy_t *p = &a->policy;
    int lifetime = (int)(p->tap_lifetime_minutes < 10      ? 10
                         : p->tap_lifetime_minutes > 43200 ? 43200
                                                           : p->tap_lifetime_minutes);
    int length = (int)(p->tap_length < 8 ? 8 : p->tap_length > 48 ? 48 : p->tap_length);
    oidc_tap_mint_t m = {a->matched->id, lifetime,      p->tap_usable_once,         length, 0, "system",
                         a->peer,        a->user_agent, OIDC_ACR_VERIFIED_RECOVERY, a->id};
    oidc_tap_mint(r, &m, on_minted, a);
}

/* ---- matched ---------------------------------------------------------------------- */

static void on_matched(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    oidc_recovery_t *a = data;
    if (res == NULL) {
        oidc_recovery_unavailable(r, err);
        return;
    }
    const char *status = move_status(res);
    if (status == NULL || strcmp(status, "ok") != 0) {
        LOG(r, GW_LOG_INFO, "attempt %s: not matched: %s", a->id, status ? status : "?");
        outcome(r, a);
        return;
    }
    if (a->evaluation) {
        /* The whole flow ran and is audited; evaluation issues no TAP. */
        LOG(r, GW_LOG_INFO, "attempt %s: matched in evaluation mode: no TAP", a->id);
        outcome(r, a);
        return;
    }
    mint(r, a);
}

/* {"rules":[{"claim","attribute","passed"}...],"candidates":n,"disambiguated":b} */
static const char *decision_json(gw_req_t *r, const rcv_decision_t *d, const char *extra_key,
                                 const char *extra)
{
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_key(w, "rules");
    gw_jw_arr_open(w);
    for (size_t i = 0; i < d->rule_count; i++) {
        gw_jw_obj_open(w);
        gw_jw_kv_str(w, "claim", d->rules[i].claim);
        gw_jw_kv_str(w, "attribute", d->rules[i].attr);
        gw_jw_kv_bool(w, "passed", d->rules[i].passed);
        gw_jw_obj_close(w);
    }
    gw_jw_arr_close(w);
    gw_jw_kv_int64(w, "candidates", (int64_t)d->candidates_matching);
    gw_jw_kv_bool(w, "disambiguated", d->disambiguated);
    if (extra_key != NULL)
        gw_jw_kv_str(w, extra_key, extra);
    gw_jw_obj_close(w);
    size_t len = 0;
    const char *buf = gw_jw_buf(w, &len);
    const char *out = buf ? gw_req_strdup(r, buf, len).base : "{}";
    gw_jw_free(w);
    return out;
}

static void to_matched(gw_req_t *r, oidc_recovery_t *a, const char *extra_key, const char *extra)
{
    LOG(r, GW_LOG_INFO, "attempt %s: matched user %s", a->id, a->matched->id);
    move_t m = {.from = "verified",
                .to = "matched",
                .detail = decision_json(r, &a->decision, extra_key, extra),
                .user = a->matched->id,
                .rate_check = 1};
    move(r, a, &m, on_matched);
}

/* ---- claim-validation webhook --------------------------------------------------------- */

/* The policy's matching.webhook, else the config's claim_validation_webhook. */
static void webhook_of(const oidc_recovery_t *a, gw_webhook_config_t *out)
{
    *out = oidc_cfg->recovery.claim_validation;
    if (a->policy.webhook_url[0] != '\0') {
        out->url = (char *)a->policy.webhook_url;
        out->timeout_ms = (unsigned)(a->policy.webhook_timeout_ms > 0 ? a->policy.webhook_timeout_ms : 2000);
        out->pass_on_error = a->policy.webhook_accept_on_error;
    }
}

typedef struct {
    gw_req_t *r;
    oidc_recovery_t *a;
} webhook_t;

static void on_webhook(void *data, const prov_http_response_t *res)
{
    webhook_t *ctx = data;
    gw_req_t *r = ctx->r;
    oidc_recovery_t *a = ctx->a;
    gw_webhook_config_t whc;
    webhook_of(a, &whc);
    const gw_webhook_config_t *wh = &whc;
    int pass = -1; /* -1: the call failed */
    if (res->status >= 200 && res->status < 300) {
        gw_err_t err;
        yajl_val v = gw_json_parse(res->body, res->body_len, NULL, &err);
        const char *result = gw_json_str(v, "result");
        if (result != NULL)
            pass = strcmp(result, "pass") == 0 ? 1 : strcmp(result, "fail") == 0 ? 0 : -1;
        if (v != NULL)
            yajl_tree_free(v);
    }
    if (pass == -1) {
        LOG(r, GW_LOG_WARN, "attempt %s: claim validation webhook failed (status %d, %s): %s", a->id,
            res->status, res->error ? res->error : "bad answer",
            wh->pass_on_error ? "treated as pass" : "refusing");
        if (!wh->pass_on_error) {
            refuse_with_detail(r, a, "verified", "claim_validation_error",
                               decision_json(r, &a->decision, NULL, NULL), a->matched->id);
            return;
        }
        to_matched(r, a, "claimValidation", "error_passed");
        return;
    }
    if (!pass) {
        refuse_with_detail(r, a, "verified", "claim_validation_failed",
                           decision_json(r, &a->decision, "claimValidation", "fail"), a->matched->id);
        return;
    }
    to_matched(r, a, "claimValidation", "pass");
}

static void validate_or_match(gw_req_t *r, oidc_recovery_t *a)
{
    gw_webhook_config_t whc;
    webhook_of(a, &whc);
    const gw_webhook_config_t *wh = &whc;
    if (wh->url == NULL) {
        to_matched(r, a, NULL, NULL);
        return;
    }
    webhook_t *ctx = gw_req_alloc(r, sizeof(*ctx));
    ctx->r = r;
    ctx->a = a;
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "attemptId", a->id);
    gw_jw_kv_str(w, "userId", a->matched->id);
    gw_jw_kv_str(w, "userName", a->matched->user_name);
    gw_jw_kv_raw(w, "verified_claims", a->claims_json, strlen(a->claims_json));
    gw_jw_obj_close(w);
    size_t len = 0;
    const char *body = gw_jw_buf(w, &len);
    char *copy = body ? gw_req_strdup(r, body, len).base : NULL;
    gw_jw_free(w);
    if (copy == NULL) {
        oidc_recovery_refuse(r, a, "verified", "failed", "internal");
        return;
    }
    prov_http_for_request(r, wh->url, "application/json", copy, len, NULL, wh->ca_file, wh->timeout_ms,
                          on_webhook, ctx);
}

/* ---- matching ------------------------------------------------------------------------ */

static void on_candidates(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    oidc_recovery_t *a = data;
    if (res == NULL) {
        oidc_recovery_unavailable(r, err);
        return;
    }
    size_t n = (size_t)PQntuples(res);
    a->cands = gw_req_alloc(r, sizeof(rcv_candidate_t) * (n ? n : 1));
    memset(a->cands, 0, sizeof(rcv_candidate_t) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        rcv_candidate_t *c = &a->cands[i];
        c->id = store_value(res, (int)i, 0);
        c->user_name = store_value(res, (int)i, 1);
        c->active = store_value(res, (int)i, 2)[0] == 't';
        c->eligible = store_value(res, (int)i, 3)[0] == 't';
        c->attrs[RCV_ATTR_GIVEN_NAME] = store_value(res, (int)i, 4);
        c->attrs[RCV_ATTR_FAMILY_NAME] = store_value(res, (int)i, 5);
        c->attrs[RCV_ATTR_LEGAL_GIVEN_NAME] = store_value(res, (int)i, 6);
        c->attrs[RCV_ATTR_LEGAL_FAMILY_NAME] = store_value(res, (int)i, 7);
        c->attrs[RCV_ATTR_BIRTHDATE] = store_value(res, (int)i, 8);
        c->attrs[RCV_ATTR_EMPLOYEE_NUMBER] = store_value(res, (int)i, 9);
        /* Values point into `res`, which the store clears after this
         * callback: copy what the later steps need. */
        c->id = gw_req_strdup(r, c->id, strlen(c->id)).base;
        c->user_name = gw_req_strdup(r, c->user_name, strlen(c->user_name)).base;
        for (int k = 1; k < RCV_ATTR__COUNT; k++)
            if (c->attrs[k] != NULL)
                c->attrs[k] = gw_req_strdup(r, c->attrs[k], strlen(c->attrs[k])).base;
    }
    a->ncands = n;
    a->provider_ok = gw_req_alloc(r, n ? n : 1);
    for (size_t i = 0; i < n; i++)
        a->provider_ok[i] = store_value(res, (int)i, 10)[0] == 't';
    rcv_claim_t claims[PROV_MAX_CLAIMS];
    for (size_t i = 0; i < a->identity.claim_count; i++) {
        claims[i].name = a->identity.claims[i].name;
        claims[i].value = a->identity.claims[i].value;
    }
    /* A typed username or login_hint that names no account can match nobody. */
    const char *named = a->named_user != NULL ? a->named_user : a->named_username != NULL ? "-" : NULL;
    rcv_decide(&a->policy, claims, a->identity.claim_count, a->cands, n, named, &a->decision);
    if (n >= OIDC_RECOVERY_MAX_CANDIDATES && a->decision.status == RCV_OK)
        a->decision.status = RCV_AMBIGUOUS; /* the page was full: there may be more */
    if (a->decision.status != RCV_OK) {
        const char *user = a->decision.matched >= 0 ? a->cands[a->decision.matched].id : NULL;
        refuse_with_detail(r, a, "verified", rcv_status_reason(a->decision.status),
                           decision_json(r, &a->decision, NULL, NULL), user);
        return;
    }
    a->matched = &a->cands[a->decision.matched];
    if (!a->provider_ok[a->decision.matched]) {
        /* The policy allows this provider for other groups only. */
        refuse_with_detail(r, a, "verified", "provider_not_allowed",
                           decision_json(r, &a->decision, NULL, NULL), a->matched->id);
        return;
    }
    validate_or_match(r, a);
}

static void find_candidates(gw_req_t *r, oidc_recovery_t *a)
{
    const char *birthdate = NULL, *employee = NULL;
    for (size_t i = 0; i < a->policy.rule_count; i++) {
        const rcv_rule_t *rule = &a->policy.rules[i];
        if (rule->attr == RCV_ATTR_BIRTHDATE)
            birthdate = prov_identity_claim(&a->identity, rule->claim);
        else if (rule->attr == RCV_ATTR_EMPLOYEE_NUMBER)
            employee = prov_identity_claim(&a->identity, rule->claim);
    }
    if (birthdate == NULL && employee == NULL) {
        /* Names alone cannot be looked up after Unicode normalisation in SQL,
         * and scanning the directory is no option: the policy must compare a
         * birthdate or an employee number (or the claim was not verified). */
        refuse_with_detail(r, a, "verified", "claim_missing", NULL, NULL);
        return;
    }
    /* {uuid,uuid}: group ids were checked to be 36 characters when read;
     * the cast in SQL rejects anything else. */
    size_t cap = 3 + a->policy.eligible_group_count * 38;
    char *groups = gw_req_alloc(r, cap);
    size_t o = 0;
    groups[o++] = '{';
    for (size_t i = 0; i < a->policy.eligible_group_count; i++)
        o += (size_t)snprintf(groups + o, cap - o, "%s%s", i ? "," : "", a->policy.eligible_groups[i]);
    groups[o++] = '}';
    groups[o] = '\0';
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", OIDC_RECOVERY_MAX_CANDIDATES);
    char *pgroups = gw_req_alloc(r, RCV_MAX_LIST * 37 + 3);
    rcv_policy_provider_groups(&a->policy, a->provider_id, pgroups, RCV_MAX_LIST * 37 + 3);
    const char *params[5] = {birthdate, employee, groups, gw_req_strdup(r, limit, strlen(limit)).base,
                             pgroups};
    gw_req_query(r, &oidc_stmt_recovery_candidates, params, on_candidates, a);
}

/* ---- verified: evidence ---------------------------------------------------------------- */

static void on_verified(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    oidc_recovery_t *a = data;
    if (res == NULL) {
        /* A unique violation here is a replay racing another attempt. */
        if (err != NULL && err->kind == GW_E_CONFLICT) {
            oidc_recovery_refuse(r, a, "verifying", "rejected", "replayed");
            return;
        }
        oidc_recovery_unavailable(r, err);
        return;
    }
    const char *status = move_status(res);
    if (status == NULL || strcmp(status, "ok") != 0) {
        LOG(r, GW_LOG_INFO, "attempt %s: not verified: %s", a->id, status ? status : "?");
        outcome(r, a);
        return;
    }
    const prov_identity_t *id = &a->identity;
    const rcv_policy_t *p = &a->policy;
    int64_t now = (int64_t)time(NULL);
    const char *reason = NULL;
    if (!rcv_policy_allows_framework(p, id->trust_framework))
        reason = "evidence_trust_framework";
    else if (!rcv_policy_allows_level(p, id->assurance_level))
        reason = "evidence_assurance_level";
    else if (id->verified_at <= 0)
        reason = "verification_time_missing";
    else if (id->verified_at > now + CLOCK_SKEW_S)
        reason = "verification_time_future";
    else if (now - id->verified_at > p->max_verification_age_s)
        reason = "verification_stale";
    if (reason != NULL) {
        oidc_recovery_refuse(r, a, "verified", "rejected", reason);
        return;
    }
    find_candidates(r, a);
}

static void copy_identity(gw_req_t *r, oidc_recovery_t *a, const prov_identity_t *id)
{
    prov_identity_t *c = &a->identity;
    memset(c, 0, sizeof(*c));
    c->trust_framework = id->trust_framework ? gw_strdup(id->trust_framework) : NULL;
    c->assurance_level = id->assurance_level ? gw_strdup(id->assurance_level) : NULL;
    c->verified_at = id->verified_at;
    c->txn = id->txn ? gw_strdup(id->txn) : NULL;
    c->verification_process = id->verification_process ? gw_strdup(id->verification_process) : NULL;
    c->evidence_json = id->evidence_json ? gw_strdup(id->evidence_json) : NULL;
    c->aggregated_jwt = id->aggregated_jwt ? gw_strdup(id->aggregated_jwt) : NULL;
    for (size_t i = 0; i < id->claim_count; i++)
        prov_identity_add_claim(c, id->claims[i].name, id->claims[i].value);
    memcpy(c->result_hash, id->result_hash, sizeof(c->result_hash));
    prov_identity_t **slot = h2o_mem_alloc_shared(&r->req->pool, sizeof(*slot), identity_dispose);
    *slot = c;
    a->has_identity = 1;
}

void oidc_recovery_finished(gw_req_t *r, oidc_recovery_t *a, const prov_identity_t *id, const char *reason)
{
    if (id == NULL) {
        oidc_recovery_refuse(r, a, "verifying", "failed", reason ? reason : PROV_R_PROVIDER_ERROR);
        return;
    }
    if (id->trust_framework == NULL) {
        oidc_recovery_refuse(r, a, "verifying", "failed", PROV_R_NO_VERIFIED_CLAIMS);
        return;
    }
    copy_identity(r, a, id);
    /* Stored: only the claims the policy matches on (and the one that
     * disambiguates), in the IDA verified_claims shape. */
    const char *names[RCV_MAX_RULES + 1];
    size_t n = 0;
    for (size_t i = 0; i < a->policy.rule_count; i++)
        names[n++] = a->policy.rules[i].claim;
    if (a->policy.disambiguation.attr != RCV_ATTR_NONE)
        names[n++] = a->policy.disambiguation.claim;
    gw_jw_t *w = gw_jw_new();
    prov_identity_write_verified_claims(&a->identity, names, n, w);
    size_t len = 0;
    const char *buf = gw_jw_buf(w, &len);
    a->claims_json = buf ? gw_req_strdup(r, buf, len).base : NULL;
    gw_jw_free(w);
    if (a->claims_json == NULL) {
        oidc_recovery_refuse(r, a, "verifying", "failed", PROV_R_MALFORMED);
        return;
    }
    char hash[2 + 2 * PROV_RESULT_HASH_LEN + 1];
    hash[0] = '\\';
    hash[1] = 'x';
    for (size_t i = 0; i < PROV_RESULT_HASH_LEN; i++)
        snprintf(hash + 2 + 2 * i, 3, "%02x", a->identity.result_hash[i]);
    char at[24];
    snprintf(at, sizeof(at), "%lld", (long long)(a->identity.verified_at > 0 ? a->identity.verified_at : 0));
    move_t m = {.from = "verifying",
                .to = "verified",
                .detail = NULL,
                .result_hash = gw_req_strdup(r, hash, strlen(hash)).base,
                .txn = a->identity.txn,
                .verified_at = a->identity.verified_at > 0 ? gw_req_strdup(r, at, strlen(at)).base : NULL,
                .claims = a->claims_json,
                .provider_result = a->provider != NULL && a->provider->cfg->aggregate_result
                                       ? a->identity.aggregated_jwt
                                       : NULL};
    move(r, a, &m, on_verified);
}
