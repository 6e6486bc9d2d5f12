/* Signing in with a passkey (WebAuthn Level 3 §7.2), as JSON endpoints the
 * sign-in page's script (/static/passkey.js) calls:
 *   POST /login/passkey/options  a fresh challenge (stored, single use);
 *   POST /login/passkey          the assertion: checked, then a session.
 *
 * Username-less by design: the options never list credentials
 * (allowCredentials stays empty, so the browser offers the user's
 * discoverable passkeys), which means they tell an outsider nothing about
 * whether an account exists or has passkeys. A username typed on the page
 * is only a constraint: the passkey used must belong to that account.
 *
 * The credential is bound to its user: the assertion's userHandle must be
 * the stored owner's (§7.2 step 6). A counter that did not increase is
 * refused and audited as a possible cloned key (§6.1.1). A passkey with
 * user verification is two factors and phishing-resistant: amr hwk (a
 * device-bound key) or swk (a synced one, backup eligible), user, mfa
 * (RFC 8176), acr phishing-resistant.
 *
 * Only a refusal after the signature verified (a cloned key's counter) is
 * audited against the credential's owner. Everything before it (a
 * credential id, a userHandle, clientDataJSON, authenticator data, the
 * signature itself) is whatever the caller sends, and credential ids are
 * not secret: auditing those failures let anyone who knew one fill its
 * owner's audit trail. They are logged, and all get one answer, so it does
 * not tell whether the account typed, or the userHandle sent, owns a
 * credential id; a mismatch found at its step of §7.2 is answered only
 * after the remaining checks have run, so it also costs what a forged
 * signature costs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/alloc.h"
#include "gateway/log.h"
#include "oidc/methods_internal.h"

#define CDJ_MAX 4096
#define AD_MAX  4096
#define SIG_MAX 1024
#define UH_MAX  64

/* ---- shared with registration --------------------------------------------------- */

int oidc_uuid_bytes(const char *uuid, uint8_t out[16])
{
    size_t j = 0;
    for (size_t i = 0; uuid[i] != '\0' && j < 32; i++) {
        if (uuid[i] == '-')
            continue;
        char c = uuid[i];
        int v = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (v < 0)
            return -1;
        if (j % 2 == 0)
            out[j / 2] = (uint8_t)(v << 4);
        else
            out[j / 2] |= (uint8_t)v;
        j++;
    }
    return j == 32 ? 0 : -1;
}

/* ---- options --------------------------------------------------------------------- */

typedef struct {
    oidc_context_t context;
    uint8_t challenge[MTH_WA_CHALLENGE_LEN];
} options_t;

static int context_and_csrf_or_reply(gw_req_t *r, yajl_val body, oidc_context_t ctx)
{
    const char *request = gw_json_str(body, "request");
    const char *csrf = gw_json_str(body, OIDC_CSRF_FIELD);
    if (oidc_context_parse(request, request ? strlen(request) : 0, ctx) != 0) {
        oidc_json_fail(r, 400, "invalid_request", "request is not a sign-in request id");
        return -1;
    }
    h2o_iovec_t cookie;
    if (csrf == NULL || !gw_req_cookie(r, OIDC_CSRF_COOKIE, &cookie) ||
        !oidc_csrf_ok(cookie.base, cookie.len, ctx, csrf, strlen(csrf))) {
        oidc_json_fail(r, 403, "invalid_csrf", "the page has expired; reload it and try again");
        return -1;
    }
    return 0;
}

static void on_challenge_stored(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    options_t *o = data;
    if (oidc_challenge_stored_or_reply(r, res, err) != 0)
        return;
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_key(w, "publicKey");
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "challenge", oidc_b64url(r, o->challenge, sizeof(o->challenge)));
    gw_jw_kv_str(w, "rpId", oidc_rp_id());
    gw_jw_kv_int64(w, "timeout", OIDC_CHALLENGE_TTL_S * 1000);
    gw_jw_kv_str(w, "userVerification", "required");
    gw_jw_key(w, "allowCredentials");
    gw_jw_arr_open(w);
    gw_jw_arr_close(w);
    gw_jw_obj_close(w);
    gw_jw_obj_close(w);
    gw_reply_jw(r, 200, w);
}

static void on_options(gw_req_t *r)
{
    yajl_val body;
    if (oidc_ceremony_body_or_reply(r, &body) != 0)
        return;
    options_t *o = gw_req_alloc(r, sizeof(*o));
    if (context_and_csrf_or_reply(r, body, o->context) != 0)
        return;
    char *browser = gw_req_alloc(r, GW_SECRET_HASH_HEX_LEN + 1);
    if (oidc_browser_binding(r, browser) != 0) {
        oidc_json_fail(r, 403, "invalid_csrf", "the page has expired; reload it and try again");
        return;
    }
    gw_random_bytes(o->challenge, sizeof(o->challenge));
    oidc_challenge_store(r, o->challenge, "get", NULL, NULL, o->context, browser, on_challenge_stored, o);
}

/* ---- the assertion ----------------------------------------------------------------- */

typedef struct {
    oidc_context_t context;
    const char *username; /* "" or the name typed */
    uint8_t *cred_id, *cdj, *ad, *sig, *uh;
    size_t cred_id_len, cdj_len, ad_len, sig_len, uh_len;
    uint8_t challenge[MTH_WA_CHALLENGE_LEN];
    char cred_row[OIDC_UUID_LEN + 1];
    char user_id[OIDC_UUID_LEN + 1];
    char old_count[24], new_count[24];
    oidc_session_params_t sp;
    h2o_iovec_t pending; /* the sign-in page's box of the request (pending.c), or empty */
} assertion_t;

/* The one answer to every refusal before a signature verified. */
#define MSG_REFUSED                                                                                          \
    "this passkey was not accepted; if you typed a username, the passkey must belong to that account"

/* 403, not 401: RFC 9110 §15.5.2 has a 401 carry a WWW-Authenticate
 * challenge, and no HTTP authentication scheme is a passkey's; 403 is a
 * refusal of the credentials given (§15.5.4). */
static void refused(gw_req_t *r, const char *why, const char *description)
{
    gw_log_write(GW_LOG_INFO, "passkey", r->id, "sign-in refused: %s", why);
    oidc_json_fail(r, 403, "passkey_refused", description);
}

/* A refusal of a known credential before its signature verified: logged
 * with the credential and its owner, not audited, the one answer. */
static void refused_unverified(gw_req_t *r, const assertion_t *a, const char *why)
{
    gw_log_write(GW_LOG_INFO, "passkey", r->id, "sign-in refused: credential %s of user %s: %s", a->cred_row,
                 a->user_id, why);
    oidc_json_fail(r, 403, "passkey_refused", MSG_REFUSED);
}

static void unavailable(gw_req_t *r, const gw_err_t *err)
{
    gw_log_write(GW_LOG_ERROR, "passkey", r->id, "database: %s (%s)", err ? err->public : "?",
                 err ? err->detail : "");
    oidc_json_fail(r, 503, "temporarily_unavailable", "try again in a moment");
}

/* Whether the request is still live is for the resume to find. */
static void on_request_stored(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    assertion_t *a = data;
    if (res == NULL) {
        unavailable(r, err);
        return;
    }
    oidc_signin_finished(r, a->context, 1);
}

static void on_session(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    assertion_t *a = data;
    if (res == NULL) {
        unavailable(r, err);
        return;
    }
    if (PQntuples(res) != 1) {
        /* The counter moved between our read and our write: another
         * assertion with the same counter won. */
        refused(r, "counter changed meanwhile", "this passkey was just used; try again");
        return;
    }
    gw_log_write(GW_LOG_INFO, "passkey", r->id, "signed in: user %s credential %s session %s", a->user_id,
                 a->cred_row, store_value(res, 0, 0));
    oidc_session_params_commit(r, &a->sp);
    /* The resume finds the request by id: a request the page carried in
     * its box is stored first. */
    if (OIDC_CONTEXT_IS_REQUEST(a->context) && a->pending.len > 0)
        oidc_pending_live_query(r, a->context, a->pending, on_request_stored, a);
    else
        oidc_signin_finished(r, a->context, 1);
}

static void on_audited(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    const char *description = data;
    if (res == NULL)
        gw_log_write(GW_LOG_ERROR, "passkey", r->id, "audit: %s (%s)", err ? err->public : "?",
                     err ? err->detail : "");
    oidc_json_fail(r, 403, "passkey_refused", description);
}

/* A refused assertion of a known credential whose signature verified (a
 * cloned key's) is an audit event against its owner. */
static void refuse_audited(gw_req_t *r, assertion_t *a, const char *type, const char *reason,
                           const char *description, uint32_t presented)
{
    char count[24];
    snprintf(count, sizeof(count), "%u", presented);
    gw_log_write(GW_LOG_WARN, "passkey", r->id, "refused: credential %s of user %s: %s", a->cred_row,
                 a->user_id, reason);
    const char *params[7] = {type,
                             a->user_id,
                             oidc_req_addr(r),
                             oidc_req_user_agent(r),
                             reason,
                             a->cred_row,
                             gw_req_strdup(r, count, strlen(count)).base};
    gw_req_query(r, &oidc_stmt_passkey_refused, params, on_audited, (void *)description);
}

/* Row: ok, credential row id, user id, public key, alg, counter, BE, the
 * owner is the account typed (or none was), active. */
static void on_consumed(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    assertion_t *a = data;
    if (res == NULL) {
        unavailable(r, err);
        return;
    }
    if (PQntuples(res) != 1 || strcmp(store_value(res, 0, 0), "1") != 0) {
        oidc_json_fail(r, 400, "invalid_challenge",
                       "the sign-in challenge is unknown, expired or already used; try again");
        return;
    }
    if (store_value(res, 0, 1) == NULL) {
        refused(r, "unknown credential", MSG_REFUSED);
        return;
    }
    snprintf(a->cred_row, sizeof(a->cred_row), "%s", store_value(res, 0, 1));
    snprintf(a->user_id, sizeof(a->user_id), "%s", store_value(res, 0, 2));
    /* §7.2 step 6, and the account typed: checked here, answered after the
     * signature (see the top of the file). */
    const char *mismatch = NULL;
    uint8_t owner[16];
    if (oidc_uuid_bytes(a->user_id, owner) != 0 || a->uh == NULL || a->uh_len != sizeof(owner) ||
        !gw_ct_equal(owner, a->uh, sizeof(owner)))
        mismatch = "userHandle is not the owner's";
    else if (store_value(res, 0, 7)[0] != 't')
        mismatch = "passkey of another account than the username typed";
    else if (store_value(res, 0, 8)[0] != 't')
        mismatch = "inactive user";
    mth_wa_stored_t stored = {0};
    uint8_t *pk;
    size_t pklen;
    if (oidc_bytea_decode(r, store_value(res, 0, 3), &pk, &pklen) != 0) {
        unavailable(r, NULL);
        return;
    }
    stored.alg = atoi(store_value(res, 0, 4));
    stored.public_key_der = pk;
    stored.public_key_der_len = pklen;
    stored.sign_count = (uint32_t)strtoul(store_value(res, 0, 5), NULL, 10);
    stored.backup_eligible = store_value(res, 0, 6)[0] == 't';
    mth_wa_expect_t e = {oidc_rp_id(),         oidc_rp_origin(), a->challenge,
                         sizeof(a->challenge), a->cdj,           a->cdj_len};
    mth_wa_assertion_t out = {0};
    mth_wa_status_t st = mth_wa_verify_assertion(&e, &stored, a->ad, a->ad_len, a->sig, a->sig_len, &out);
    if (mismatch != NULL) {
        refused_unverified(r, a, mismatch);
        return;
    }
    if (st != MTH_WA_OK && st != MTH_WA_COUNTER_ROLLBACK) {
        refused_unverified(r, a, mth_wa_reason(st));
        return;
    }
    if (st == MTH_WA_COUNTER_ROLLBACK) {
        refuse_audited(r, a, "method.counter_rollback", "counter_rollback",
                       "this passkey's signature counter went backwards; it may have been copied",
                       a->ad_len >= 37 ? (uint32_t)a->ad[33] << 24 | (uint32_t)a->ad[34] << 16 |
                                             (uint32_t)a->ad[35] << 8 | a->ad[36]
                                       : 0);
        return;
    }
    snprintf(a->old_count, sizeof(a->old_count), "%u", stored.sign_count);
    snprintf(a->new_count, sizeof(a->new_count), "%u", out.sign_count);
    oidc_session_params_new(r, &a->sp);
    const int synced = (out.flags & MTH_WA_FLAG_BE) != 0;
    const char *params[11] = {a->sp.hash,
                              a->sp.ttl,
                              OIDC_ACR_PHISHING_RESISTANT,
                              synced ? "{swk,user,mfa}" : "{hwk,user,mfa}",
                              a->sp.has_old ? a->sp.old_hash : NULL,
                              a->sp.peer,
                              a->sp.user_agent,
                              a->cred_row,
                              a->old_count,
                              a->new_count,
                              (out.flags & MTH_WA_FLAG_BS) ? "true" : "false"};
    gw_req_query(r, &oidc_stmt_passkey_signin, params, on_session, a);
}

/* A base64url member of `obj` decoded, at most `max` bytes. */
static int member(gw_req_t *r, yajl_val obj, const char *key, size_t max, uint8_t **out, size_t *len)
{
    return oidc_b64url_decode_max(r, gw_json_str(obj, key), max, out, len);
}

static void on_assertion(gw_req_t *r)
{
    yajl_val body;
    if (oidc_ceremony_body_or_reply(r, &body) != 0)
        return;
    assertion_t *a = gw_req_alloc(r, sizeof(*a));
    memset(a, 0, sizeof(*a));
    if (context_and_csrf_or_reply(r, body, a->context) != 0)
        return;
    /* A name longer than any userName is nobody's: refused, not ignored. */
    const char *username = gw_json_str(body, "username");
    if (username != NULL && strlen(username) > OIDC_USERNAME_MAX_BYTES) {
        oidc_json_fail(r, 400, "invalid_request", "username is too long");
        return;
    }
    a->username = username ? username : "";
    const char *pending = gw_json_str(body, OIDC_PENDING_FIELD);
    if (pending != NULL)
        a->pending = h2o_iovec_init(pending, strlen(pending));
    yajl_val cred = gw_json_get(body, "credential");
    yajl_val resp = gw_json_get(cred, "response");
    const char *type = gw_json_str(cred, "type");
    if (type == NULL || strcmp(type, "public-key") != 0 ||
        member(r, cred, "rawId", MTH_WA_CRED_ID_MAX, &a->cred_id, &a->cred_id_len) != 0 ||
        member(r, resp, "clientDataJSON", CDJ_MAX, &a->cdj, &a->cdj_len) != 0 ||
        member(r, resp, "authenticatorData", AD_MAX, &a->ad, &a->ad_len) != 0 ||
        member(r, resp, "signature", SIG_MAX, &a->sig, &a->sig_len) != 0) {
        oidc_json_fail(r, 400, "invalid_request", "credential is missing or malformed");
        return;
    }
    if (gw_json_str(resp, "userHandle") != NULL &&
        member(r, resp, "userHandle", UH_MAX, &a->uh, &a->uh_len) != 0) {
        oidc_json_fail(r, 400, "invalid_request", "userHandle is malformed");
        return;
    }
    if (oidc_client_data_challenge(a->cdj, a->cdj_len, a->challenge) != 0) {
        oidc_json_fail(r, 400, "invalid_request", "clientDataJSON has no challenge of ours");
        return;
    }
    char *browser = gw_req_alloc(r, GW_SECRET_HASH_HEX_LEN + 1);
    if (oidc_browser_binding(r, browser) != 0) {
        oidc_json_fail(r, 403, "invalid_csrf", "the page has expired; reload it and try again");
        return;
    }
    const char *params[5] = {oidc_bytea_encode(r, a->challenge, sizeof(a->challenge)), a->context, browser,
                             oidc_bytea_encode(r, a->cred_id, a->cred_id_len), a->username};
    gw_req_query(r, &oidc_stmt_get_consume, params, on_consumed, a);
}

static gw_route_t g_options = {
    "/login/passkey/options", GW_POST, GW_ROUTE_NO_STORE, on_options, NULL, NULL, 0};
static gw_route_t g_assertion = {"/login/passkey", GW_POST, GW_ROUTE_NO_STORE, on_assertion, NULL, NULL, 0};

void oidc_passkey_signin_register(void)
{
    gw_route_register(&g_options);
    gw_route_register(&g_assertion);
}
