/* grant_type=authorization_code (RFC 6749 §4.1.3, OIDC Core §3.1.3.2,
 * RFC 7636 §4.5-4.6): one statement redeems the code atomically and, when
 * the grant has offline_access, stores the first refresh token; then the
 * access token and ID token are signed and returned. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/log.h"
#include "gateway/secrets.h"
#include "oidc/tokens_internal.h"

/* Identifies this file's per-request state (gw_req_state). */
static const char STATE_TAG = 0;

#define CODE_MAX 512

typedef struct {
    const oidc_client_t *client;
    h2o_iovec_t verifier;
    char refresh[GW_SECRET_LEN + 1];
} code_state_t;

static void on_redeemed(gw_req_t *r, PGresult *res, const gw_err_t *qerr)
{
    code_state_t *st = gw_req_state(r, &STATE_TAG, sizeof(*st));
    if (qerr != NULL) {
        gw_reply_error(r, qerr);
        return;
    }
    const char *status = store_value(res, 0, 0);
    if (status == NULL || strcmp(status, "ok") != 0) {
        /* One public message for "unknown", "expired", "replayed" and
         * "wrong_client": an attacker holding a code learns nothing. */
        const char *msg = "authorization code is invalid, expired or already used";
        if (status != NULL && strcmp(status, "wrong_redirect_uri") == 0)
            msg = "redirect_uri does not match the authorization request";
        else if (status != NULL && strcmp(status, "wrong_verifier") == 0)
            msg = "code_verifier does not match the code_challenge";
        gw_log_write(GW_LOG_INFO, __func__, r->id, "code refused for client %s: %s", st->client->id,
                     status ? status : "no row");
        gw_reply_fail(r, GW_E_INVALID_GRANT, msg);
        return;
    }
    /* RFC 7636 §4.6, again in constant time in C (the statement's equality
     * only decides whether to store the refresh token). */
    const char *challenge = store_value(res, 0, 18);
    if (challenge == NULL ||
        !oidc_pkce_verify(st->verifier.base, st->verifier.len, challenge, strlen(challenge))) {
        gw_reply_fail(r, GW_E_INVALID_GRANT, "code_verifier does not match the code_challenge");
        return;
    }
    oidc_grant_t g = {0};
    oidc_user_info_t u = {0};
    yajl_val claims = oidc_token_grant_load(r, res, st->client, &g, &u);
    const char *cap = store_value(res, 0, 19);
    g.exp_cap = cap ? strtoll(cap, NULL, 10) : 0;
    g.verified_claims_json = store_value(res, 0, 20);
    g.provider_result_jwt = store_value(res, 0, 21);
    const char *rt = store_value(res, 0, 17);
    int has_refresh = rt != NULL && rt[0] == 't';
    int with_id = oidc_scope_has(g.scope, strlen(g.scope), "openid");
    oidc_token_issue_reply(r, st->client, &g, &u, gw_json_get(claims, "id_token"), with_id,
                           has_refresh ? st->refresh : NULL);
    free((char *)g.uic_json); /* malloc'd by oidc_token_grant_load */
}

void oidc_token_code(gw_req_t *r, const oidc_client_t *c, const gw_kvs_t *form)
{
    h2o_iovec_t code, redirect_uri, verifier;
    gw_err_t err;
    if (!(c->grants & OIDC_GRANT_CODE)) {
        gw_reply_fail(r, GW_E_UNAUTHORIZED_CLIENT, "the client may not use the authorization_code grant");
        return;
    }
    if (gw_kvs_get_once(form, "code", &code, &err) != 0 ||
        gw_kvs_get_once(form, "redirect_uri", &redirect_uri, &err) != 0 ||
        gw_kvs_get_once(form, "code_verifier", &verifier, &err) != 0) {
        gw_reply_error(r, &err);
        return;
    }
    if (code.base == NULL || code.len > CODE_MAX) {
        gw_reply_fail(r, code.base == NULL ? GW_E_INVALID_REQUEST : GW_E_INVALID_GRANT,
                      code.base == NULL ? "code is required" : "authorization code is invalid");
        return;
    }
    /* OIDC Core §3.1.2.1 makes redirect_uri mandatory in the authorization
     * request, so RFC 6749 §4.1.3 makes it mandatory here. */
    if (redirect_uri.base == NULL) {
        gw_reply_fail(r, GW_E_INVALID_REQUEST, "redirect_uri is required");
        return;
    }
    /* PKCE is required for every client (DESIGN.md, RFC 9700 §2.1.1). */
    if (verifier.base == NULL) {
        gw_reply_fail(r, GW_E_INVALID_REQUEST, "code_verifier is required");
        return;
    }
    if (!oidc_pkce_verifier_valid(verifier.base, verifier.len)) {
        gw_reply_fail(r, GW_E_INVALID_REQUEST, "code_verifier must be 43 to 128 unreserved characters");
        return;
    }
    code_state_t *st = gw_req_state(r, &STATE_TAG, sizeof(*st));
    st->client = c;
    st->verifier = verifier;
    char code_hash[GW_SECRET_HASH_HEX_LEN + 1], refresh_hash[GW_SECRET_HASH_HEX_LEN + 1];
    char challenge[OIDC_PKCE_S256_LEN + 1], ttl[16];
    gw_secret_hash_hex(code.base, code.len, code_hash);
    oidc_pkce_s256(verifier.base, verifier.len, challenge);
    const char *refresh_param = NULL;
    /* A refresh token only for clients allowed the refresh_token grant; the
     * statement stores it only when offline_access was granted. */
    if (c->grants & OIDC_GRANT_REFRESH) {
        gw_secret_new(st->refresh);
        gw_secret_hash_hex(st->refresh, GW_SECRET_LEN, refresh_hash);
        refresh_param = refresh_hash;
    }
    snprintf(ttl, sizeof(ttl), "%u", oidc_cfg->oidc.refresh_token_ttl_s);
    const char *params[6] = {code_hash, c->id, redirect_uri.base, challenge, refresh_param, ttl};
    gw_req_query_or_reply(r, &OIDC_STMT_CODE_REDEEM, params, on_redeemed);
}
